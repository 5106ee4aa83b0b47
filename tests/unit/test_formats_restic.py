"""restic snapshots as backup runs: the pure mapping (times, summary, filters, faults), detection, the
file name naming the repository, and the poll's pure parts (command line, restic's errors, its output).

Data-file cases: each tests/data/restic/<case>.json has a <case>.expected.json beside it (README.md there
says where each comes from), read as a file of the repository "jzpt-db" (system 警务综合平台, no
filters): the rows as [number, *cells], the faults as [number, words of the English reason], the ignored
snapshots by reason, or the whole-file error.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from ops_watch.areas.continuity.backups import (
    Ran,
    failure,
    parse_snapshots,
    restic_argv,
    restic_messages,
    shown_repository,
)
from ops_watch.config import Config
from ops_watch.formats.restic import (
    FORMAT_NAME,
    detect,
    repository_for_file,
    restic_time,
    snapshot_rows,
    snapshots_of,
)
from ops_watch.formats.tabular import TableError
from ops_watch.formats.vendor import BACKUP_HEADER, VendorContext, formats_for, open_vendor_json
from ops_watch.polled import PollError

DATA = Path(__file__).resolve().parent.parent / "data" / "restic"
CASES = sorted(p for p in DATA.glob("*.json") if not p.name.endswith(".expected.json"))
REPO = "jzpt-db"
SYSTEM = "警务综合平台"


def config(*repositories: dict[str, Any]) -> Config:
    return Config.model_validate({"backups": {"restic": list(repositories)}})


def repository(name: str = REPO, **over: Any) -> dict[str, Any]:
    return {"name": name, "system": SYSTEM, **over}


def snapshot(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "time": "2026-11-02T01:00:00.529418612+08:00",
        "tree": "5f2dc95b7b01e6e291cd789d6a4968108d94af5c59f1585d62e8465fa0acd2d6",
        "paths": ["/srv/jzpt/db"],
        "hostname": "jzpt-db01",
        "username": "backup",
        "tags": ["nightly"],
        "id": "74b6affe6a1d3eb51ef7504c38712d4b4e147ff4c2c64916580ffdba1f57ca94",
        "short_id": "74b6affe",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def mapped(items: list[Any], cfg: Config, first_number: int = 1) -> tuple[list[Any], VendorContext]:
    ctx = VendorContext(config=cfg)
    out = [
        (r.number, r.cells, r.fault.en if r.fault else "")
        for r in snapshot_rows(items, cfg.backups.restic[0], ctx, first_number=first_number)
    ]
    return out, ctx


# ---- data files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_data_file_cases(case: Path, tmp_path: Path) -> None:
    expected = json.loads(case.with_name(case.stem + ".expected.json").read_text(encoding="utf-8"))
    path = tmp_path / f"{REPO}_{case.name}"
    shutil.copy(case, path)
    cfg = config(repository())
    if "error" in expected:
        with pytest.raises(TableError) as caught:
            list(open_vendor_json(path, "backup", cfg).rows())
        assert expected["error"] in caught.value.problem.en
        return
    table = open_vendor_json(path, "backup", cfg)
    header, *rows = list(table.rows())
    assert header.number == 0 and tuple(header.cells) == BACKUP_HEADER
    assert [[r.number, *r.cells] for r in rows if r.fault is None] == expected["rows"]
    faults = [(r.number, r.fault.en) for r in rows if r.fault is not None]
    assert [n for n, _ in faults] == [n for n, _ in expected["faults"]]
    for (_, reason), (_, words) in zip(faults, expected["faults"], strict=True):
        assert words in reason and repr(REPO) in reason, reason
    assert table.detail.get("ignored_events", {}) == expected["ignored"]
    assert table.detail["format"] == FORMAT_NAME and table.detail["repository"] == REPO


def test_the_data_file_of_restic_014_is_what_restic_014_prints() -> None:
    """The 0.14 shape: no summary; time, tree, paths, hostname, username, tags, id, short_id (parent)."""
    snapshots = json.loads((DATA / "snapshots_0.14.json").read_text(encoding="utf-8"))
    assert all("summary" not in s for s in snapshots)
    assert {k for s in snapshots for k in s} == {
        "time",
        "parent",
        "tree",
        "paths",
        "hostname",
        "username",
        "tags",
        "id",
        "short_id",
    }


# ---- the mapping -----------------------------------------------------------------------------------


def test_a_snapshot_is_one_successful_run_started_at_its_time_to_the_second() -> None:
    out, _ = mapped([snapshot()], config(repository()))
    assert out == [(1, [SYSTEM, "restic:jzpt-db", "2026-11-02T01:00:00+08:00", "", "success", ""], "")]


def test_the_job_is_the_configured_one_else_restic_and_the_repository_name() -> None:
    out, _ = mapped([snapshot()], config(repository(job="每日全量")))
    assert out[0][1][:2] == [SYSTEM, "每日全量"]


def test_a_summary_gives_the_end_and_the_size_processed_in_gib() -> None:
    summary = {
        "backup_start": "2026-11-02T01:00:03.1+08:00",
        "backup_end": "2026-11-02T01:42:10.999999999+08:00",
        "data_added": 5 * 1024**3,
        "total_bytes_processed": 3 * 1024**3 // 2,
    }
    out, _ = mapped([snapshot(summary=summary)], config(repository()))
    # started stays the snapshot's time, not backup_start: the same run read by a restic without summary
    # support (which drops it) has the same key.
    assert out[0][1][2:] == ["2026-11-02T01:00:00+08:00", "2026-11-02T01:42:10+08:00", "success", "1.500000"]


@pytest.mark.parametrize(
    ("summary", "finished", "size"),
    [
        (
            {"backup_end": "2026-11-02T01:05:00Z", "data_added": 1024**3},
            "2026-11-02T01:05:00+00:00",
            "1.000000",
        ),
        ({"total_bytes_processed": -1, "data_added": 2 * 1024**3}, "", "2.000000"),
        ({"total_bytes_processed": True, "data_added": "12"}, "", ""),
        ({"backup_end": "not a time"}, "", ""),
        ({"backup_end": "2026-11-01T00:00:00Z"}, "", ""),  # before the start (a --time in the future)
        ("n/a", "", ""),
        (None, "", ""),
    ],
)
def test_summary_values_that_cannot_be_used_are_left_empty(summary: Any, finished: str, size: str) -> None:
    item = snapshot(time="2026-11-02T00:00:00Z", summary=summary)
    out, _ = mapped([item], config(repository()))
    assert out[0][1][3:] == [finished, "success", size] and out[0][2] == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-02T01:00:00.529418612+08:00", datetime(2026, 11, 1, 17, 0, tzinfo=UTC)),
        ("2026-11-02T01:00:00+08:00", datetime(2026, 11, 1, 17, 0, tzinfo=UTC)),
        ("2026-11-01T17:00:00.5Z", datetime(2026, 11, 1, 17, 0, tzinfo=UTC)),
        ("2026-11-01T12:00:00.123-05:00", datetime(2026, 11, 1, 17, 0, tzinfo=UTC)),
        (" 2026-11-01T17:00:00Z ", datetime(2026, 11, 1, 17, 0, tzinfo=UTC)),
    ],
)
def test_restic_times_are_read_with_their_offset_to_the_second(text: str, expected: datetime) -> None:
    when = restic_time(text)
    assert when == expected and when is not None and when.microsecond == 0


def test_the_offset_is_kept_in_the_cell() -> None:
    when = restic_time("2026-11-01T12:00:00.123-05:00")
    assert when is not None and when.utcoffset() == timedelta(hours=-5)
    assert when.tzinfo == timezone(timedelta(hours=-5))


@pytest.mark.parametrize(
    "value", ["2026-11-02T01:00:00", "2026-11-02", "yesterday", "", None, 1762045200, {}]
)
def test_what_is_not_a_restic_time_is_none(value: Any) -> None:
    assert restic_time(value) is None


def test_snapshots_of_another_host_or_without_the_tags_are_skipped_and_counted() -> None:
    cfg = config(repository(snapshot_host="jzpt-db01", tags=["nightly", "full"]))
    items = [
        snapshot(tags=["nightly", "full", "x"]),
        snapshot(hostname="jzpt-db02", tags=["nightly", "full"]),
        snapshot(tags=["nightly"]),
        snapshot(tags=None),
        snapshot(time="2026-11-03T01:00:00+08:00", tags=["full", "nightly"]),
    ]
    out, ctx = mapped(items, cfg, first_number=7)
    assert [(n, cells[2]) for n, cells, _ in out] == [
        (7, "2026-11-02T01:00:00+08:00"),
        (11, "2026-11-03T01:00:00+08:00"),  # numbered by position: the skipped ones keep theirs
    ]
    assert ctx.detail["ignored_events"] == {
        "hostname jzpt-db02 is not snapshot_host jzpt-db01": 1,
        "without tag full": 1,
        "without tag nightly, full": 1,
    }


def test_a_snapshot_that_is_not_an_object_or_has_no_time_is_a_row_error_naming_it() -> None:
    items = [["x"], snapshot(time=None), snapshot(time="2026-11-02 01:00:00", short_id=None)]
    out, _ = mapped(items, config(repository()))
    assert [n for n, _, _ in out] == [1, 2, 3]
    assert "must be a JSON object, got: ['x']" in out[0][2]
    assert "snapshot 74b6affe: no time" in out[1][2]
    # without short_id the id's first 8 digits name it, as restic does
    assert "snapshot 74b6affe: time '2026-11-02 01:00:00' is not an RFC 3339 time" in out[2][2]
    assert all(repr(REPO) in reason for _, _, reason in out)


# ---- detection and the file's repository ---------------------------------------------------------


def test_the_format_is_registered_for_backups_only() -> None:
    assert FORMAT_NAME in [f.name for f in formats_for("backup")]
    assert FORMAT_NAME not in [f.name for f in formats_for("door")]


@pytest.mark.parametrize(
    ("document", "found"),
    [
        ([snapshot()], True),
        ([{"time": "2026-11-02T01:00:00Z", "short_id": "74b6affe"}], True),
        (["garbage", snapshot()], True),  # the garbage becomes a row error
        ([], True),  # restic's answer for a repository without snapshots
        ([{"group_key": {"hostname": "h"}, "snapshots": [snapshot()]}], True),
        ([{"time": "2026-11-02T01:00:00Z"}], False),  # a time is not enough
        ([{"id": "74b6affe"}], False),
        ([1, 2], False),
        ({"AcsEvent": {"InfoList": []}}, False),
        (snapshot(), False),  # one snapshot object is `restic cat snapshot`, not a list
        ("[]", False),
    ],
)
def test_detection(document: Any, found: bool) -> None:
    assert detect(document) is found


def test_grouped_output_is_read_group_after_group() -> None:
    groups = [
        {"group_key": {"hostname": "b"}, "snapshots": [snapshot(short_id="2")]},
        {"group_key": {"hostname": "a"}, "snapshots": [snapshot(short_id="3"), snapshot(short_id="4")]},
    ]
    assert [s["short_id"] for s in snapshots_of(groups)] == ["2", "3", "4"]
    assert snapshots_of([]) == []


def test_the_file_name_names_the_repository_the_longest_name_winning_whatever_the_case() -> None:
    cfg = config(repository("jzpt"), repository("jzpt-db"), repository("JZPT-files"))
    assert repository_for_file(cfg, "jzpt-db_2026-11-02").name == "jzpt-db"
    assert repository_for_file(cfg, "jzpt_db").name == "jzpt"
    assert repository_for_file(cfg, "jzpt-files-export").name == "JZPT-files"
    assert repository_for_file(cfg, "Jzpt-DB").name == "jzpt-db"


def test_a_file_named_after_no_repository_is_refused_naming_its_stem_and_the_names() -> None:
    cfg = config(repository("jzpt-db"), repository("xzxt-files"))
    with pytest.raises(TableError) as caught:
        repository_for_file(cfg, "snapshots")
    problem = caught.value.problem
    assert "'snapshots'" in problem.en and "'jzpt-db', 'xzxt-files'" in problem.en
    assert "[[backups.restic]]" in problem.en
    assert "「snapshots」" in problem.zh and "「jzpt-db」、「xzxt-files」" in problem.zh
    with pytest.raises(TableError) as none:
        repository_for_file(config(), "jzpt-db")
    assert "(configured: (none))" in none.value.problem.en


def test_a_file_whose_snapshots_are_all_filtered_out_is_refused_saying_why(tmp_path: Path) -> None:
    path = tmp_path / f"{REPO}.json"
    shutil.copy(DATA / "snapshots_0.14.json", path)
    cfg = config(repository(snapshot_host="jzpt-db09"))
    with pytest.raises(TableError) as caught:
        list(open_vendor_json(path, "backup", cfg).rows())
    en = caught.value.problem.en
    assert "none of the file's 4 snapshots" in en and "4 hostname" not in en
    assert "3 hostname jzpt-db01 is not snapshot_host jzpt-db09" in en
    assert "1 hostname jzpt-db02 is not snapshot_host jzpt-db09" in en


def test_json_of_another_shape_is_refused_with_restics_shape(tmp_path: Path) -> None:
    path = tmp_path / f"{REPO}.json"
    path.write_text(json.dumps({"snapshots": []}), encoding="utf-8")
    with pytest.raises(TableError) as caught:
        open_vendor_json(path, "backup", config(repository()))
    assert "restic snapshots --json" in caught.value.problem.en


# ---- the poll's pure parts (ops_watch.areas.continuity.backups) ---------------------------------------------------


def test_the_command_line_reads_without_lock_or_cache_and_carries_the_filters_but_no_password() -> None:
    cfg = config(
        repository(
            repository="sftp:backup@10.12.1.11:/srv/restic/jzpt",
            command="sudo -n -u backup '/opt/restic bin/restic'",
            snapshot_host="jzpt-db01",
            tags=["nightly", "full"],
        )
    )
    assert restic_argv(cfg.backups.restic[0]) == [
        "sudo",
        "-n",
        "-u",
        "backup",
        "/opt/restic bin/restic",
        "-r",
        "sftp:backup@10.12.1.11:/srv/restic/jzpt",
        "--no-lock",
        "--no-cache",
        "--quiet",
        "--json",
        "snapshots",
        "--host",
        "jzpt-db01",
        "--tag",
        "nightly,full",  # one --tag with both: snapshots with all of them
    ]
    assert restic_argv(config(repository()).backups.restic[0]) == [
        "restic",
        "--no-lock",
        "--no-cache",
        "--quiet",
        "--json",
        "snapshots",
    ]


@pytest.mark.parametrize("command", ["", "  ", "restic 'unbalanced"])
def test_a_command_that_is_no_command_is_a_config_error(command: str) -> None:
    with pytest.raises(PollError) as caught:
        restic_argv(config(repository(command=command)).backups.restic[0])
    assert caught.value.kind == "config"


def ran(stderr: str, status: int = 1) -> Ran:
    return Ran(status, b"", stderr.encode())


@pytest.mark.parametrize(
    ("stderr", "status", "kind", "words"),
    [
        ("Fatal: wrong password or no key found\n", 1, "auth", "refused the password"),
        (  # restic >= 0.17 with --json: the error as a JSON line, exit code 12
            '{"message_type":"exit_error","code":12,"message":"Fatal: wrong password or no key found"}\n',
            12,
            "auth",
            "wrong password or no key found",
        ),
        ("Fatal: an empty password is not a password\n", 1, "config", "set password_file or password_env"),
        (
            "Fatal: unable to open config file: stat /srv/restic/none/config: no such file or directory\n"
            "Is there a repository at the following location?\n/srv/restic/none\n",
            1,
            "config",
            "there is no restic repository at /srv/restic/none",
        ),
        (
            '{"message_type":"exit_error","code":10,"message":"repository does not exist: unable to open '
            'config file"}\n',
            10,
            "config",
            "there is no restic repository",
        ),
        (
            "Fatal: Please specify repository location (-r or --repository-file)\n",
            1,
            "config",
            "RESTIC_REPOSITORY",
        ),
        (
            'Fatal: unable to open config file: Head "https://minio:9000/jzpt/config": dial tcp 10.0.0.5:9000: '
            "connect: connection refused\nIs there a repository at the following location?\n",
            1,
            "unreachable",
            "cannot reach repository",
        ),
        ("sh: 1: restic: not found\n", 127, "config", "not found on that host"),
        (
            "Fatal: unable to open config file: open /srv/restic/x/config: permission denied\n",
            1,
            "config",
            "owner",
        ),
        ("", 2, "config", "no message (exit status 2)"),
    ],
)
def test_restics_failures_get_the_kind_they_are(stderr: str, status: int, kind: str, words: str) -> None:
    repo = config(repository(repository="/srv/restic/none")).backups.restic[0]
    error = failure(ran(stderr, status), repo, "restic", remote=True)
    assert error.kind == kind and words in str(error), str(error)


def test_restic_messages_unwrap_json_lines_and_drop_fatal() -> None:
    stderr = b'Fatal: first\n\n{"message_type":"exit_error","code":1,"message":"second"}\n{not json\n'
    assert restic_messages(stderr) == ["first", "second", "{not json"]


def test_a_password_in_a_repository_url_is_masked() -> None:
    assert shown_repository("rest:https://backup:S3cret-pw@10.12.1.11:8000/jzpt") == (
        "rest:https://backup:***@10.12.1.11:8000/jzpt"
    )
    assert shown_repository("sftp:backup@10.12.1.11:/srv/restic") == "sftp:backup@10.12.1.11:/srv/restic"
    assert shown_repository("/srv/restic/jzpt") == "/srv/restic/jzpt"


def test_the_output_is_the_list_of_snapshots() -> None:
    raw = (DATA / "snapshots_0.14.json").read_bytes()
    assert len(parse_snapshots(raw)) == 4
    # restic 0.14 without --quiet prints this line on stdout before the JSON: it is passed over
    assert len(parse_snapshots(b"reading repository password from stdin\n" + raw)) == 4
    assert parse_snapshots(b"[]\n") == []
    grouped = (DATA / "grouped_0.14.json").read_bytes()
    assert len(parse_snapshots(grouped)) == 4


@pytest.mark.parametrize(
    ("stdout", "words"),
    [
        (b"", "printed nothing"),
        (b"  \n", "printed nothing"),
        (b"<html>", "not JSON"),
        (b"[{", "not JSON"),
        (b'{"time": 1}', "a JSON dict, not a list"),
    ],
)
def test_output_that_is_not_a_snapshot_list_is_a_parse_error(stdout: bytes, words: str) -> None:
    with pytest.raises(PollError) as caught:
        parse_snapshots(stdout)
    assert caught.value.kind == "parse" and words in str(caught.value)
