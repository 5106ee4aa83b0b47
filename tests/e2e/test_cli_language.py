"""Every table the command line prints, read by someone who reads no English (issue 21): Chinese titles and
status words in the site's language, English keys with --lang en, tables that fit the terminal, CSV titles on
demand, XLSX on every command that prints rows, and nothing but the rows on stdout."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from ops_watch.cli.app import load_every_command, main
from ops_watch.cli.common import COMMANDS
from ops_watch.core.labels import header_label
from ops_watch.core.output import display_width

REPO = Path(__file__).resolve().parents[2]
AT = ["--at", "2026-11-16 09:00"]

# The arguments each command that prints rows needs on the demo's store. A new command with --format must be
# added here: the test of the whole list fails until it is.
ARGS: dict[str, list[str]] = {
    "archive status": ["--year", "2026", *AT],
    "audit status": ["--from", "2026-10-01", "--to", "2026-11-30", *AT],
    "billing reconcile": ["--month", "2026-10", *AT],
    "budget status": ["--year", "2026", *AT],
    "check": ["--dry-run", *AT],
    "collect": [],
    "config check": [],
    "continuity status": AT,
    "contract lint": [str(REPO / "examples" / "contract" / "运维服务合同.docx")],
    "findings list": ["--status", "all"],
    "findings show": ["1"],
    "findings silences": ["--all"],
    "ingest": ["--explain", str(REPO / "examples" / "budget" / "预算执行_2026.csv")],
    "inspections plan": ["--month", "2026-12", *AT],
    "inspections show": ["--month", "2026-11", *AT],
    "notify outbox": [],
    "report list": [],
    "report weekly": ["--week", "2026-W46"],
    "resources idle": AT,
    "resources usage": AT,
    "rules list": [],
    "rules plugins": [],
    "score": AT,
    "staffing attendance": ["--month", "2026-11", *AT],
    "staffing rate": ["--month", "2026-11", *AT],
    "staffing shifts": ["--from", "2026-11-02", "--to", "2026-11-08", *AT],
    "status": [],
    "survey coverage": AT,
    "tokens list": [],
    "users events": [],
    "users list": [],
    "verify": [],
}
STATUS_TITLES = {"状态", "级别", "领域", "启用", "参与评判", "已停用", "已吊销", "成功", "操作"}
KEY = re.compile(r"^[a-z][a-z0-9_]*$")


def _commands_with_format() -> list[str]:
    load_every_command()
    found: list[str] = []

    def walk(cmd: click.Command, path: str) -> None:
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, f"{path} {name}")
        elif any(isinstance(p, click.Option) and "--format" in p.opts for p in cmd.params):
            found.append(path)

    for name, cmd in COMMANDS.items():
        walk(cmd, name)
    return sorted(found)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's site: the examples ingested and judged as of Monday 2026-11-16 09:00."""
    import os
    from datetime import datetime
    from zoneinfo import ZoneInfo

    root = tmp_path_factory.mktemp("demo")
    shutil.copytree(REPO / "rules", root / "rules")
    (root / "samples").symlink_to(REPO / "samples", target_is_directory=True)
    shutil.copytree(REPO / "examples", root / "var" / "drop")
    produced = datetime(2026, 11, 16, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    for path in (root / "var" / "drop").rglob("*"):
        os.utime(path, (produced, produced))
    text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    doors = text[text.index("\n[doors]\n") : text.index("\n[utilization]\n")]
    config = root / "config.toml"
    config.write_text(
        f'[paths]\nstate_dir = "{root / "var"}"\nrules_dir = "{root / "rules"}"\n'
        f'[ingest]\ndrop_dir = "{root / "var" / "drop"}"\n'
        f'[notify.email]\ntransport = "file"\noutbox_dir = "{root / "var" / "outbox"}"\n{doors}',
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "ops_watch", "--config", str(config), "run", "--once", *AT],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return config


def _run(config: Path, argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--config", str(config), *argv], env=env or {"COLUMNS": ""})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _tables(out: str) -> list[tuple[list[str], list[str]]]:
    """Each table of the output: its titles and its rows' lines (a title line is followed by a line of dashes)."""
    lines = out.splitlines()
    found = []
    for i in range(1, len(lines)):
        if lines[i].strip() and set(lines[i].strip()) <= {"-", " "} and "--" in lines[i]:
            titles = re.split(r"\s{2,}", lines[i - 1].strip())
            body = []
            for line in lines[i + 1 :]:
                if not line.strip():
                    break
                body.append(line)
            found.append((titles, body))
    return found


def test_every_command_that_prints_rows_is_in_the_list():
    assert _commands_with_format() == sorted(ARGS)


@pytest.mark.parametrize("command", sorted(ARGS))
def test_every_table_reads_in_chinese(demo: Path, command: str):
    code, out, err = _run(demo, [*command.split(), *ARGS[command]])
    assert code in (0, 1), f"{command}: exit {code}\n{out}\n{err}"
    tables = _tables(out)
    if not tables:
        assert re.search(r"[\u4e00-\u9fff]", out) or not out.strip(), (
            f"{command}: no table and no Chinese:\n{out}"
        )
        return
    for titles, body in tables:
        english = [t for t in titles if KEY.match(t)]
        assert english == [], f"{command}: column titles left in English: {english}\n{out[:2000]}"
        # The status words: a table's status columns hold no English word.
        spans = _spans(titles, out)
        for title, (start, end) in spans.items():
            if title not in STATUS_TITLES:
                continue
            for line in body:
                cell = _cut(line, start, end).strip()
                assert not re.fullmatch(r"[A-Za-z_ ]+", cell) or cell in ("OK",), (
                    f"{command}: {title} shows {cell!r} in English"
                )


def _spans(titles: list[str], out: str) -> dict[str, tuple[int, int]]:
    """Where each column lies, in display columns, from the dashes line under the titles."""
    lines = out.splitlines()
    for i in range(1, len(lines)):
        if re.split(r"\s{2,}", lines[i - 1].strip()) == titles and set(lines[i].strip()) <= {"-", " "}:
            dashes = re.finditer(r"-+", lines[i])
            return {title: (d.start(), d.end()) for title, d in zip(titles, dashes, strict=False)}
    return {}


def _cut(line: str, start: int, end: int) -> str:
    """The characters of `line` between display columns start and end."""
    out, col = "", 0
    for ch in line:
        w = display_width(ch)
        if start <= col < end:
            out += ch
        col += w
    return out


def test_lang_en_gives_the_field_names_and_english_words(demo: Path):
    _, out, _ = _run(demo, ["findings", "list", "--status", "all", "--lang", "en"])
    titles, body = _tables(out)[0]
    assert titles == ["id", "severity", "status", "rule", "subject", "summary", "first_seen"]
    assert any(" open " in line or " resolved " in line for line in body)
    _, out, _ = _run(demo, ["findings", "list", "--status", "all"])
    titles, body = _tables(out)[0]
    assert titles == ["编号", "级别", "状态", "规则", "对象", "摘要", "首次发现"]
    assert any("未解决" in line for line in body) and not any(" open " in line for line in body)


def _on_a_terminal(config: Path, *argv: str, columns: int, expect: int = 0) -> str:
    """The command's output as a terminal of `columns` shows it: stdout is a real pseudo-terminal."""
    import os
    import pty

    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": str(columns)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ops_watch", "--config", str(config), *argv],
        stdout=follower,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=120)
    os.close(leader)
    err = proc.stderr.read().decode()
    assert proc.returncode == expect, err
    return b"".join(chunks).decode().replace("\r\n", "\n") + err


def test_a_table_fits_the_terminal_and_wide_shows_all(demo: Path):
    out = _on_a_terminal(demo, "resources", "idle", *AT, columns=80)
    table = [line for line in out.splitlines() if "未显示" not in line]
    assert all(display_width(line) <= 80 for line in table), out
    assert "--wide" in out  # says what was left out and how to see it
    wide = _on_a_terminal(demo, "resources", "idle", *AT, "--wide", columns=80)
    assert max(display_width(line) for line in wide.splitlines()) > 80
    assert "未显示" not in wide and "费用依据" in wide
    # Piped, nothing is fitted, whatever COLUMNS says: a file keeps every column.
    _, piped, _ = _run(demo, ["resources", "idle", *AT], env={"COLUMNS": "80"})
    assert "未显示" not in piped and "费用依据" in piped


def test_csv_header_zh_and_xlsx_on_the_same_rows(demo: Path, tmp_path: Path):
    _, csv_en, _ = _run(demo, ["score", *AT, "--format", "csv"])
    _, csv_zh, _ = _run(demo, ["score", *AT, "--format", "csv", "--header", "zh"])
    en_lines, zh_lines = csv_en.lstrip("\ufeff").splitlines(), csv_zh.lstrip("\ufeff").splitlines()
    assert en_lines[0].startswith("key,indicator,formula")
    assert zh_lines[0].startswith("指标代码,指标,计算方法")
    assert en_lines[1:] == zh_lines[1:]  # only the titles change
    target = tmp_path / "score.xlsx"
    code, _, err = _run(demo, ["score", *AT, "--format", "xlsx", "--output", str(target)])
    assert code == 0 and str(target) in err
    rows = list(load_workbook(target).active.iter_rows(values_only=True))
    assert list(rows[0]) == en_lines[0].split(",")
    assert len(rows) == len(en_lines)


def test_xlsx_is_never_written_to_a_terminal_but_may_be_redirected(demo: Path, tmp_path: Path):
    said = _on_a_terminal(demo, "findings", "list", "--format", "xlsx", columns=100, expect=2)
    assert "--output" in said and "PK" not in said  # no binary on a screen
    target = tmp_path / "findings.xlsx"
    with target.open("wb") as fh:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "ops_watch",
                "--config",
                str(demo),
                "findings",
                "list",
                "--format",
                "xlsx",
            ],
            stdout=fh,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr
    rows = list(load_workbook(target).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("id", "rule", "check") and len(rows) > 10


def test_piped_output_holds_the_rows_only(demo: Path):
    """Logs go to stderr: a table piped into a file or another program carries no log line."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ops_watch",
            "--config",
            str(demo),
            "--log-level",
            "debug",
            "check",
            "--dry-run",
            *AT,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["时间", "新增", "重新打开", "已解决", "仍未解决", "失败规则"]
    assert len(lines) == 3, proc.stdout  # the titles, the dashes, the one row
    assert proc.stderr.strip()  # the debug log went somewhere: stderr


def _every_finding(demo: Path) -> list[dict]:
    code, out, err = _run(demo, ["findings", "list", "--status", "all", "--format", "json"])
    assert code == 0, err
    return json.loads(out)


def _keys(value: object) -> set[str]:
    """Every key of a finding's evidence, at any depth (records in lists too)."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_every_evidence_key_the_checks_wrote_has_a_chinese_title(demo: Path):
    """A key shaped like a field name (snake_case) is one a check wrote; data keys (a month, a name) are not."""
    findings = _every_finding(demo)
    assert len({f["rule"] for f in findings}) > 30  # the demo judges most checks: the test sees their keys
    keys = {k for f in findings for k in _keys(f["evidence"]) if KEY.match(k)}
    untitled = sorted(k for k in keys if header_label(k, "zh") == k)
    assert untitled == [], f"evidence keys without a Chinese title (add them to EVIDENCE_ZH): {untitled}"


EVIDENCE_KEY_LINE = re.compile(r"^\s*[a-z][a-z0-9_]*( \(\d+\))?: ")


def test_findings_show_reads_in_chinese_for_every_finding(demo: Path):
    for finding in _every_finding(demo):
        code, out, err = _run(demo, ["findings", "show", str(finding["id"])])
        assert code == 0, f"finding {finding['id']}: exit {code}\n{err}"
        english = [line for line in out.splitlines() if EVIDENCE_KEY_LINE.match(line)]
        assert english == [], f"finding {finding['id']} ({finding['rule']}): keys in English: {english}"
        for titles, _ in _tables(out):
            left = [t for t in titles if KEY.match(t)]
            assert left == [], f"finding {finding['id']} ({finding['rule']}): table titles in English: {left}"
        assert "(none)" not in out
    _, out, _ = _run(demo, ["findings", "show", str(finding["id"]), "--lang", "en"])
    assert any(EVIDENCE_KEY_LINE.match(line) for line in out.splitlines())  # --lang en: the stored keys


def test_output_takes_everything_the_command_prints(demo: Path, tmp_path: Path):
    """--output holds what the screen would have shown, the lines around a table included; stdout stays empty."""
    target = tmp_path / "status.txt"
    code, out, err = _run(demo, ["status", "--output", str(target)])
    assert code == 0 and out == "" and str(target) in err
    text = target.read_text(encoding="utf-8")
    assert text.startswith("主节点：") and text.count("（无）") == 2  # the summary, then both (empty) tables
    shown = tmp_path / "finding.txt"
    code, out, _ = _run(demo, ["findings", "show", "1", "--output", str(shown)])
    assert code == 0 and out == "" and "证据：" in shown.read_text(encoding="utf-8")
    csv_file = tmp_path / "findings.csv"
    _run(demo, ["findings", "list", "--format", "csv", "--output", str(csv_file)])
    assert csv_file.read_bytes().startswith(b"\xef\xbb\xbfid,")


def test_output_that_cannot_be_written_or_a_failed_command_leaves_nothing(demo: Path, tmp_path: Path):
    code, _, err = _run(demo, ["findings", "list", "--output", str(tmp_path / "no-such-dir" / "x.csv")])
    assert code == 2 and "cannot write" in err and "no-such-dir" in err
    target = tmp_path / "missing.txt"
    code, _, err = _run(demo, ["findings", "show", "999999", "--output", str(target)])
    assert code == 1 and "999999" in err
    assert not target.exists()  # nothing was written: no empty file left behind
