"""The command line as a user runs it: a subprocess on a config in a temp dir, with the sample evidence."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FINDING_KEYS = {
    "id",
    "rule",
    "check",
    "severity",
    "status",
    "subject",
    "period_start",
    "period_end",
    "summary",
    "evidence",
    "first_seen",
    "last_seen",
    "resolved_at",
}


def ops(config: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "ops_watch", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def example_doors() -> str:
    """config.example.toml's [doors] tables: the door device the example Hikvision export names."""
    text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    return text[text.index("\n[doors]\n") : text.index("\n[utilization]\n")]


@pytest.fixture
def demo_config(config_file, tmp_path) -> Path:
    cfg = config_file(example_doors())
    shutil.copytree(REPO / "examples", tmp_path / "var" / "drop")
    return cfg


def test_run_once_on_the_examples_prints_findings_and_writes_mail(demo_config, tmp_path):
    proc = ops(demo_config, "run", "--once")
    out = proc.stdout
    assert "== 未解决的问题 ==" in out and "evidence-refused" in out  # the site's language: zh
    assert "inventory" in out and "partial" in out
    emails = list((tmp_path / "var" / "outbox").glob("*.eml"))
    assert emails, out
    # The files were moved out of the drop folder, with a report beside the partly bad one.
    assert not list((tmp_path / "var" / "drop" / "inventory").glob("*.csv"))
    assert list((tmp_path / "var" / "drop" / "processed").rglob("*.errors.csv"))

    rows = json.loads(ops(demo_config, "findings", "list", "--format", "json").stdout)
    assert rows and all(FINDING_KEYS <= set(r) for r in rows)
    refused = next(r for r in rows if r["rule"] == "evidence-refused")
    assert refused["evidence"]["rows_bad"] >= 1 and refused["status"] == "open"

    # A second pass changes nothing: the same evidence, the same findings, no new mail.
    ops(demo_config, "run", "--once")
    assert len(json.loads(ops(demo_config, "findings", "list", "--format", "json").stdout)) == len(rows)
    assert len(list((tmp_path / "var" / "outbox").glob("*.eml"))) == len(emails)


def test_ack_silence_and_show_keep_who_and_why(demo_config):
    ops(demo_config, "run", "--once")
    rows = json.loads(ops(demo_config, "findings", "list", "--format", "json").stdout)
    first, second = rows[0]["id"], rows[-1]["id"]
    ops(demo_config, "findings", "ack", str(first), "--by", "张科长", "--why", "已要求运维单位重报")
    shown = json.loads(ops(demo_config, "findings", "show", str(first), "--format", "json").stdout)
    assert shown["status"] == "acknowledged"
    assert shown["history"][-1] | {"at": None} == {
        "at": None,
        "action": "acknowledged",
        "by": "张科长",
        "why": "已要求运维单位重报",
        "until": None,
    }
    if second != first:
        ops(
            demo_config,
            "findings",
            "silence",
            str(second),
            "--for",
            "2d",
            "--by",
            "张科长",
            "--why",
            "维护窗口",
        )
        assert (
            json.loads(ops(demo_config, "findings", "show", str(second), "--format", "json").stdout)["status"]
            == "silenced"
        )
    bad = ops(demo_config, "findings", "ack", "99999", "--by", "x", "--why", "y", check=False)
    assert bad.returncode == 1 and "no finding with id 99999" in bad.stderr
    empty = ops(demo_config, "findings", "ack", str(first), "--by", " ", "--why", "y", check=False)
    assert empty.returncode == 2


def test_findings_list_csv_and_table(demo_config):
    ops(demo_config, "run", "--once")
    table = ops(demo_config, "findings", "list").stdout
    assert table.splitlines()[0].split()[:3] == ["编号", "级别", "状态"]
    out = ops(demo_config, "findings", "list", "--format", "csv").stdout
    assert out.startswith("\ufeffid,")  # Excel reads UTF-8 Chinese right only with the BOM
    rows = list(csv.DictReader(io.StringIO(out.removeprefix("\ufeff"))))
    assert rows and FINDING_KEYS <= set(rows[0])
    # Excel users read the site's time, as in the table (JSON keeps ISO UTC for machines).
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", r["first_seen"]) for r in rows), rows[0][
        "first_seen"
    ]
    assert rows[0]["first_seen"] in table


def test_check_at_and_replay(demo_config):
    ops(
        demo_config,
        "ingest",
        "inventory",
        *map(str, (REPO / "examples" / "inventory").glob("*")),
        check=False,
    )
    out = json.loads(ops(demo_config, "check", "--at", "2026-11-20 09:00", "--format", "json").stdout)
    assert len(out) == 1 and out[0]["at"] == "2026-11-20 09:00"
    replay = json.loads(
        ops(demo_config, "check", "--since", "2026-11-01", "--until", "2026-11-07", "--format", "json").stdout
    )
    assert [r["at"][:10] for r in replay] == [f"2026-11-0{d}" for d in range(1, 8)]
    wrong = ops(demo_config, "check", "--since", "2026-11-07", check=False)
    assert wrong.returncode == 2 and "--from and --to (or --since and --until) go together" in wrong.stderr
    wrong = ops(demo_config, "check", "--at", "yesterday-ish", check=False)
    assert wrong.returncode == 2 and "--at:" in wrong.stderr


def test_broken_config_lists_every_problem_and_exits_2(config_file):
    cfg = config_file('[notify.email]\nport = "abc"\nsecurity = "ssl3"\n[site]\ntimezone = "Nowhere/City"\n')
    proc = ops(cfg, "config", "check", check=False)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert (
        "config.toml: notify.email.port: input should be a valid integer, unable to parse string as an integer"
        "（应为整数）" in lines
    )
    assert any(line.startswith("config.toml: notify.email.security: ") for line in lines)
    assert any(line.startswith("config.toml: site.timezone: unknown time zone") for line in lines)
    # The daemon refuses to start on it the same way.
    assert ops(cfg, "run", "--once", check=False).returncode == 2


def test_broken_rules_are_reported_by_config_check(config_file, tmp_path):
    cfg = config_file()
    (tmp_path / "rules" / "extra.toml").write_text('[[rule]]\nid = "x"\ncheck = "nope"\nseverity = "info"\n')
    proc = ops(cfg, "config", "check", check=False)
    assert proc.returncode == 2 and "extra.toml: rule x: check: unknown check 'nope'" in proc.stderr
    ok = ops(config_file(), "rules", "list", "--format", "json", check=False)
    assert ok.returncode == 2  # the broken file is still there


def test_config_check_ok_and_rules_list(config_file):
    cfg = config_file()
    assert "：正确；规则目录" in ops(cfg, "config", "check").stdout
    assert "ok; rules in" in ops(cfg, "config", "check", "--lang", "en").stdout
    rules = json.loads(ops(cfg, "rules", "list", "--format", "json").stdout)
    assert {r["id"] for r in rules} >= {"inventory-fresh", "evidence-refused"}
    assert next(r for r in rules if r["id"] == "inventory-fresh")["params"] == {
        "kind": "inventory",
        "max_age": "P35D",
        "lookback": "P35D",
    }
    judged = {r["id"]: r["judged"] for r in rules}
    assert judged["inventory-fresh"] == "yes"  # the example contract has every section its rules judge


def test_db_upgrade_creates_then_reports_current(config_file):
    from ops_watch.store.db import head_revision

    cfg = config_file()
    head = head_revision()
    assert f"（新数据库） -> {head}" in ops(cfg, "db", "upgrade").stdout
    assert f"{head} -> {head}" in ops(cfg, "db", "upgrade").stdout


def test_secret_never_in_output(config_file, tmp_path):
    (tmp_path / "pw").write_text("Zq9-very-secret")
    cfg = config_file(
        f'[notify.email]\ntransport = "smtp"\nport = 1\nhost = "127.0.0.1"\ntimeout = "2s"\n'
        f'username = "u"\npassword_file = "{tmp_path / "pw"}"\nallow_plaintext_login = true\n'
    )
    shutil.copytree(REPO / "examples", tmp_path / "var" / "drop")
    proc = ops(cfg, "--log-level", "debug", "run", "--once", check=False)
    assert "plaintext" in (proc.stdout + proc.stderr).lower()  # it ran, warned, and tried to log in
    assert "Zq9-very-secret" not in proc.stdout + proc.stderr


def _examples_as_sent_that_monday(tmp_path: Path) -> None:
    """The demo's set-up: the sample files were produced on Monday 2026-11-16 08:00 (site time)."""
    import os
    from datetime import datetime
    from zoneinfo import ZoneInfo

    produced = datetime(2026, 11, 16, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    for path in (tmp_path / "var" / "drop").rglob("*"):
        os.utime(path, (produced, produced))


def test_demo_as_of_shows_exactly_the_planted_reclaim_list(demo_config, tmp_path):
    _examples_as_sent_that_monday(tmp_path)
    out = ops(demo_config, "run", "--once", "--at", "2026-11-16 09:00").stdout
    assert "stale-resource" in out and "utilization-fresh" not in out and "inventory-fresh" not in out
    reclaim = json.loads(
        ops(demo_config, "resources", "idle", "--at", "2026-11-16 09:00", "--format", "json").stdout
    )
    assert {(i["check"], i["resource_id"]) for i in reclaim["items"]} == {
        ("idle_cpu", "JWY-VM-0003"),
        ("idle_cpu", "XYD-VM-0004"),
        ("oversized_cpu", "JWY-VM-0004"),
        ("oversized_cpu", "XYD-VM-0002"),
        ("idle_storage", "JWY-VOL-0002"),
        ("idle_storage", "XYD-VOL-0001"),
        ("stale_resource", "JWY-VM-0008"),
        ("stale_resource", "XYD-VM-0003"),
    }
    assert reclaim["totals"]["monthly_saving"] == pytest.approx(960 + 1600 + 4195.2)
    table = ops(demo_config, "resources", "idle", "--at", "2026-11-16 09:00").stdout
    assert "每月可节省（按合同单价）：6,755.20 CNY" in table
    usage = json.loads(
        ops(demo_config, "resources", "usage", "--at", "2026-11-16 09:00", "--format", "json").stdout
    )
    platforms = {r["platform"] for r in usage if r["tenant_unit"] is None}
    assert platforms == {"警务云", "新一代公安信息网云平台"}
    only = json.loads(
        ops(
            demo_config,
            "resources",
            "usage",
            "--platform",
            "警务云",
            "--at",
            "2026-11-16 09:00",
            "--format",
            "json",
        ).stdout
    )
    assert {r["platform"] for r in only} == {"警务云"}


def test_staffing_rate_and_shifts_on_the_demo(demo_config, tmp_path):
    _examples_as_sent_that_monday(tmp_path)
    out = ops(demo_config, "run", "--once", "--at", "2026-11-16 09:00").stdout
    for rule in ("ghost-on-duty", "unknown-entry", "access-denied-burst", "expired-qualification"):
        assert rule in out
    rate = json.loads(
        ops(
            demo_config,
            "staffing",
            "rate",
            "--month",
            "2026-11",
            "--at",
            "2026-11-16 09:00",
            "--format",
            "json",
        ).stdout
    )
    assert rate[-1] == {"period": "2026-11 合计", "required": 55, "evidenced": 54, "rate": 98.2}
    assert [r["period"] for r in rate[:-1]] == ["2026-W44", "2026-W45", "2026-W46"]
    table = ops(demo_config, "staffing", "rate", "--month", "2026-10", "--at", "2026-11-16 09:00").stdout
    assert "2026-10-19 之前的班次不评判" in table
    shifts = list(
        csv.DictReader(
            io.StringIO(
                ops(
                    demo_config,
                    "staffing",
                    "shifts",
                    "--from",
                    "2026-11-04",
                    "--to",
                    "2026-11-04",
                    "--at",
                    "2026-11-16 09:00",
                    "--format",
                    "csv",
                ).stdout.lstrip("\ufeff")
            )
        )
    )
    day = next(r for r in shifts if r["shift"] == "白班")
    assert (day["ghosts"], day["required"], day["evidenced"], day["handover"]) == ("周杰", "3", "3", "已核实")
    bad = ops(demo_config, "staffing", "rate", "--month", "2026-13", check=False)
    assert bad.returncode == 2 and "'2026-13' is not a month" in bad.stderr
    backwards = ops(
        demo_config, "staffing", "shifts", "--from", "2026-11-05", "--to", "2026-11-04", check=False
    )
    assert backwards.returncode == 2 and "before --from" in backwards.stderr


def test_continuity_status_on_the_demo(demo_config, tmp_path):
    _examples_as_sent_that_monday(tmp_path)
    out = ops(demo_config, "run", "--once", "--at", "2026-11-16 09:00").stdout
    for rule in ("backup-failed", "backup-missing", "drill-overdue", "drill-plan-missed"):
        assert rule in out
    rows = json.loads(
        ops(demo_config, "continuity", "status", "--at", "2026-11-16 09:00", "--format", "json").stdout
    )
    by = {r["system"]: r for r in rows}
    assert by["人口信息库"]["next_due"] == "备份恢复演练 逾期自 2026-11-14"
    assert by["JWY-VM-0007"]["last_backup"].endswith("partial") and by["JWY-VM-0007"]["open_findings"] == 1
    table = ops(demo_config, "continuity", "status", "--at", "2026-11-16 09:00").stdout
    assert "警务综合平台" in table.splitlines()[2] and "100.0%" in table


def test_staffing_commands_without_a_staffing_section_say_so(config_file, tmp_path):
    cfg = config_file()
    contract = tmp_path / "rules" / "contract.toml"
    text = contract.read_text(encoding="utf-8")
    contract.write_text(text[: text.index("# On-site staffing")], encoding="utf-8")
    for name in ("staffing.toml",):
        (tmp_path / "rules" / name).unlink()
    proc = ops(cfg, "staffing", "rate", "--month", "2026-11", check=False)
    assert proc.returncode == 2 and "no [staffing] section" in proc.stderr


def test_collect_command(config_file):
    cfg = config_file()
    rows = json.loads(ops(cfg, "collect", "--source", "local", "--format", "json").stdout)
    assert len(rows) == 1 and rows[0]["source"] == "local" and rows[0]["ok"] is True
    wrong = ops(cfg, "collect", "--source", "telnet", check=False)
    assert wrong.returncode == 2 and "unknown source 'telnet'" in wrong.stderr
    off = ops(cfg, "collect", "--source", "ssh", check=False)
    assert off.returncode == 2 and "no enabled source ssh" in off.stderr


def test_report_weekly_archives_copies_and_lists(demo_config, tmp_path):
    ops(demo_config, "run", "--once", "--at", "2026-11-15 22:00")
    out_dir = tmp_path / "copy"
    proc = ops(demo_config, "report", "weekly", "--week", "2026-W46", "--out", str(out_dir), "--lang", "en")
    assert "2026-W46" in proc.stdout and "Staffing and access:" in proc.stdout
    archived = tmp_path / "var" / "reports" / "2026-W46"
    manifest = json.loads((archived / "manifest.json").read_text(encoding="utf-8"))
    for name in manifest["files"]:
        assert (out_dir / name).read_bytes() == (archived / name).read_bytes()
    rows = json.loads(ops(demo_config, "report", "list", "--format", "json").stdout)
    assert [(r["week"], r["check"], r["language"]) for r in rows] == [("2026-W46", "ok", "en")]
    bad = ops(demo_config, "report", "weekly", "--week", "2026-W60", check=False)
    assert bad.returncode == 2 and "no ISO week 60" in bad.stderr
