"""`check --dry-run` judges every rule (issue 17 #10), and a locked store is a one-line error (issue 17 #9)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from ops_watch.config import Config
from ops_watch.findings import engine
from ops_watch.findings.rules import RuleSet
from ops_watch.store import Store
from ops_watch.store.schema import Finding
from tests.integration.test_staffing_examples import AS_OF, PLANTED, ZONE, loaded  # noqa: F401


def test_dry_run_judges_every_rule_and_changes_nothing(loaded: tuple[Store, Config, RuleSet]) -> None:  # noqa: F811
    store, _, rules = loaded
    result = engine.evaluate(store, rules, AS_OF, zone=ZONE, dry_run=True)
    assert result.failed_rules == {}  # handover-unverified, understaffed-shift, unregistered-signer too
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Finding)) == 0
    assert len(result.opened) >= len(PLANTED)
    # The same evaluation for real after the dry run: nothing the dry run left cached is stale.
    real = engine.evaluate(store, rules, AS_OF, zone=ZONE)
    assert real.failed_rules == {}
    with store.session() as s:
        found = {(f.check, f.subject) for f in s.scalars(select(Finding).where(Finding.area == "staffing"))}
    assert PLANTED <= found


def _ops(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops_watch", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


HOLD = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_a_locked_store_is_a_one_line_error_after_the_busy_timeout(config_file, tmp_path: Path) -> None:
    cfg = config_file("[store]\nbusy_timeout_ms = 1500\n")
    first = _ops(cfg, "check")  # creates the store and its first findings (evidence missing)
    assert first.returncode in (0, 1), first.stderr
    listed = _ops(cfg, "findings", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    finding_id = __import__("json").loads(listed.stdout)[0]["id"]
    db = tmp_path / "var" / "ops-watch.db"
    script = tmp_path / "hold_the_store.py"
    script.write_text(HOLD, encoding="utf-8")
    holder = subprocess.Popen([sys.executable, str(script), str(db), "60"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        for args in (["findings", "ack", str(finding_id), "--by", "张科长", "--why", "核查中"], ["check"]):
            started = time.monotonic()
            done = _ops(cfg, *args)
            waited = time.monotonic() - started
            assert done.returncode == 1, (args, done.stdout, done.stderr)
            assert "Traceback" not in done.stderr and "OperationalError" not in done.stderr, done.stderr
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1, done.stderr
            assert "locked" in lines[0] and "锁" in lines[0] and str(db) in lines[0], lines[0]
            assert f"pid {holder.pid} (" in lines[0] and script.name in lines[0], lines[0]  # who holds it
            assert waited >= 1.5, waited  # it waited busy_timeout_ms before giving up
    finally:
        holder.kill()
        holder.wait()
    again = _ops(cfg, "findings", "ack", str(finding_id), "--by", "张科长", "--why", "核查中")
    assert again.returncode == 0, again.stderr
