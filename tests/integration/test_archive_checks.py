"""The archive checks (R10) through the engine on a real store (SQLite and PostgreSQL, `store`): a missing
document opened and resolved when it is filed, retention due, a missing folder as one finding; the demo archive
in examples/; `ops-watch archive status` in table, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import shutil
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from sqlalchemy import select

from ops_watch import plugins  # noqa: E402
from ops_watch.areas.governance.archive.model import bind_rules_dir
from ops_watch.cli import main
from ops_watch.core.contract import parse_contract
from ops_watch.findings import engine
from ops_watch.findings.rules import RuleSet, load_rules, parse_rules
from ops_watch.store.schema import Finding

REPO = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Shanghai")
plugins.load()

RULES = tomllib.loads((REPO / "rules" / "archive.toml").read_text(encoding="utf-8"))
# The [archive] terms proposed for rules/contract.toml (the demo's rules dir is rules/).
DEMO_ARCHIVE = """
dir = "../samples/archive"
first_year = 2025
"""


def ruleset(rules_dir: Path, archive: str, start: str = "2025-01-01") -> RuleSet:
    problems: list[str] = []
    contract = parse_contract(
        tomllib.loads(f"[contract]\nstart = {start}\n[archive]\n{archive}"), "contract.toml", problems
    )
    rules = parse_rules(RULES, "archive.toml", problems)
    assert problems == [], problems
    bind_rules_dir(contract, rules_dir)
    return RuleSet(rules=rules, contract=contract)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def active(store: Any) -> dict[str, Finding]:
    with store.session() as s:
        found = s.scalars(select(Finding).where(Finding.status == "open")).all()
        for f in found:
            s.expunge(f)
    return {f.subject: f for f in found}


def touch(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("placeholder", encoding="utf-8")


def test_missing_document_opens_then_resolves_when_filed(store, tmp_path):
    archive = tmp_path / "archive"
    touch(archive, "2025/合同.pdf", "2025/~$资源需求清单.xlsx")
    rules = ruleset(
        tmp_path,
        'dir = "archive"\ndocuments = [{ key = "rd", name = "资源需求清单", patterns = ["*资源需求*清单*"] }, { key = "c", name = "合同", patterns = ["*合同*"] }]\n',
    )
    # Before the due day nothing is missing.
    result = engine.evaluate(store, rules, local("2026-03-31 18:00"), zone=ZONE)
    assert result.failed_rules == {} and active(store) == {}

    engine.evaluate(store, rules, local("2026-04-01 09:00"), zone=ZONE)
    found = active(store)
    assert list(found) == ["2025 资源需求清单"]
    f = found["2025 资源需求清单"]
    assert f.severity == "warning" and f.area == "governance" and f.rule_id == "archive-document-missing"
    # Dated from the end of its due day (2026-03-31), not from the year it is about: the weekly report of a
    # week in 2025 must not list it as open.
    assert f.period_start == local("2026-04-01 00:00") and f.period_end is None
    assert f.evidence["patterns"] == ["*资源需求*清单*"]
    assert f.evidence["files_seen"] == ["2025/合同.pdf"]  # the lock file is not a document
    assert f.evidence["folder"] == str(archive)

    # Same finding on the next evaluation (stable subject and period), resolved once the file is filed.
    again = engine.evaluate(store, rules, local("2026-04-02 09:00"), zone=ZONE)
    assert again.opened == [] and again.still_open == 1
    touch(archive, "2025/2025年资源需求清单.xlsx")
    done = engine.evaluate(store, rules, local("2026-04-03 09:00"), zone=ZONE)
    assert len(done.resolved) == 1 and active(store) == {}


def test_retention_due_lists_files_and_deletes_nothing(store, tmp_path):
    archive = tmp_path / "archive"
    touch(archive, "2014/2014年演练记录.pdf", "2016/2016年演练记录.pdf", "2014/运维合同.pdf")
    rules = ruleset(tmp_path, 'dir = "archive"\n', start="2026-01-01")
    engine.evaluate(store, rules, local("2026-05-01 09:00"), zone=ZONE)
    found = active(store)
    # 2014 + 10 < 2026; 2016 + 10 is not; the contract keeps 30 years.
    assert list(found) == ["2014 演练记录"]
    f = found["2014 演练记录"]
    assert f.severity == "info" and f.evidence["files"] == ["2014/2014年演练记录.pdf"]
    assert "ops-watch 不会删除" in f.summary
    assert (archive / "2014" / "2014年演练记录.pdf").exists()


def test_missing_folder_is_one_finding(store, tmp_path):
    rules = ruleset(tmp_path, 'dir = "no-such-archive"\n')
    result = engine.evaluate(store, rules, local("2026-05-01 09:00"), zone=ZONE)
    assert result.failed_rules == {}
    found = active(store)
    assert list(found) == ["归档目录"] and "no-such-archive" in found["归档目录"].summary


def test_demo_archive_misses_the_2025_resource_demand_list(store):
    rules = ruleset(REPO / "rules", DEMO_ARCHIVE, start="2026-01-01")
    result = engine.evaluate(store, rules, local("2026-11-23 09:00"), zone=ZONE)
    assert result.failed_rules == {}
    assert list(active(store)) == ["2025 资源需求清单"]


def test_repo_rules_load_with_the_archive_rules():
    rules = load_rules(REPO / "rules")
    assert rules.get("archive-document-missing").check.name == "archive_document_missing"
    assert rules.get("archive-retention-due").severity == "info"


def test_archive_status_command(config_file, tmp_path, store_url):
    config = config_file(f'[store]\nurl = "{store_url}"\n')
    shutil.copytree(REPO / "samples" / "archive", tmp_path / "archive")
    contract = tmp_path / "rules" / "contract.toml"
    contract.write_text(
        '[contract]\nstart = 2026-01-01\n\n[archive]\ndir = "../archive"\nfirst_year = 2025\n',
        encoding="utf-8",
    )

    def cli(*args: str):
        return CliRunner().invoke(
            main, ["--config", str(config), "archive", "status", "--at", "2026-11-23", *args]
        )

    table = cli()
    assert table.exit_code == 0, table.output
    line = next(x for x in table.output.splitlines() if x.startswith("2025") and "资源需求清单" in x)
    assert "缺失" in line and "2026-03-31" in line
    line = next(x for x in table.output.splitlines() if x.startswith("2026") and "资源需求清单" in x)
    assert "已归档" in line and "2026年资源需求清单.xlsx" in line
    line = next(x for x in table.output.splitlines() if x.startswith("2026") and "演练记录" in x)
    assert "未到期" in line

    data = json.loads(cli("--format", "json", "--year", "2025").output)
    by_key = {d["key"]: d for d in data["documents"]}
    assert {d["year"] for d in data["documents"]} == {2025}
    assert by_key["resource_demand"]["status"] == "missing"
    assert by_key["contract"]["status"] == "present" and by_key["contract"]["retention_until"] == "2055-12-31"
    assert by_key["contract"]["files"] == ["2025/警务云平台运维服务合同.pdf"]

    rows = list(csv.DictReader(io.StringIO(cli("--format", "csv").output.lstrip("\ufeff"))))
    assert len(rows) == 16

    bad = cli("--year", "20x6")
    assert bad.exit_code == 2 and "not a year" in bad.output
    contract.write_text('[archive]\ndir = "../gone"\n', encoding="utf-8")
    gone = cli()
    assert gone.exit_code != 0 and "does not exist" in gone.output
