"""A hostile corpus through the real drop folder of a real daemon (issue 17, "Prove it").

The corpus (tests/integration/hostile.py, generated in tmp) holds one probe per trick an attacker or a clumsy
clerk plays on the drop folder: a file written in two steps with a pause longer than the settle time, mixed
encodings, an 82-character Chinese name and a name that is not UTF-8, a symlink, a FIFO and a hard link to a
secret file, rows dated 2099, formula cells, XLSX bombs (a row index of 200,000,000, a column XFD, a 5 MB
shared string) and a contract whose required clause is the ReDoS pattern ^(a+)+$.

`python -m ops_watch run` takes them all while the test watches from outside: the daemon stays alive and
keeps scanning; every entry ends in processed/ or rejected/ with a reason (a link or a FIFO never read); the
good rows of a mixed file are stored and its bad lines are row errors naming the line; stored rows + row
errors = rows in the file; the secret's marker is nowhere (store, processed/, rejected/, reports, logs);
every CSV ops-watch writes has its formula cells neutralised. The run is shared by the tests of this module
(one daemon, ~20 s); the last one prints the table of issue 17: class, probes, crashes, rows lost,
duplicates, leaks.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from e2e.test_daemon import TIMEOUT, Daemon, wait_for
from hostile import (
    REDOS_PATTERN,
    Placed,
    Probe,
    corpus,
    csv_formula_cells,
    files_holding,
    place,
    secret_csv,
)
from sqlalchemy import select

from ops_watch.store import open_store
from ops_watch.store.schema import EvidenceBatch, RowError

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SETTLE = 1.0


def judge(problems: dict[Probe, object]) -> None:
    """Fail naming every probe that went wrong and how."""
    assert not problems, {p.label: why for p, why in problems.items()}


CONTRACT = f"""\
[contract]
name = "hostile corpus"

[contract_text]
required_clauses = [{{ name = "ReDoS", patterns = ["{REDOS_PATTERN}"] }}]
"""

RULES = """\
[[rule]]
id = "evidence-refused"
check = "evidence_refused"
severity = "warning"
title = "证据文件被拒收或有行被拒"
[rule.params]
within = "3650d"
"""


def site_config(root: Path) -> Path:
    rules = root / "rules"
    rules.mkdir()
    (rules / "contract.toml").write_text(CONTRACT, encoding="utf-8")
    (rules / "evidence.toml").write_text(RULES, encoding="utf-8")
    if (REPO / "rules" / "contract_text.toml").is_file():  # the clause rule runs the pattern at evaluate too
        (rules / "contract_text.toml").write_bytes((REPO / "rules" / "contract_text.toml").read_bytes())
    off = "".join(
        f"\n[schedule.{job}]\nenabled = false\n"
        for job in ("collect", "doors", "backups", "notify", "report_weekly", "inspections", "purge")
    )
    config = root / "config.toml"
    config.write_text(
        f"""\
[site]
timezone = "Asia/Shanghai"

[paths]
state_dir = "var"
rules_dir = "rules"

[store]
url = "sqlite:///{root / "var" / "ops-watch.db"}"

[ingest]
drop_dir = "var/drop"
settle = "{SETTLE:g}s"

[log]
level = "info"
format = "json"

[schedule.ingest]
every = "1s"

[schedule.evaluate]
every = "2s"
{off}""",
        encoding="utf-8",
    )
    return config


@dataclass
class Outcome:
    probe: Probe
    batches: list[EvidenceBatch]
    row_errors: dict[int, list[RowError]]  # batch id -> its row errors

    @property
    def batch(self) -> EvidenceBatch | None:
        return self.batches[-1] if self.batches else None

    def rows_lost(self) -> int:
        batch, probe = self.batch, self.probe
        if probe.refused or probe.rows is None:
            return 0 if batch is not None else 1  # refused whole: told, not lost; never seen: lost
        if batch is None:
            return probe.rows
        errors = len([e for e in self.row_errors.get(batch.id, []) if e.row > 0])
        return max(0, probe.rows - (batch.rows_ok + batch.rows_duplicate + errors))


@dataclass
class Run:
    root: Path
    config: Path
    secret: Path
    marker: str
    daemon: Daemon
    placed: list[Placed]
    outcomes: list[Outcome] = field(default_factory=list)
    alive_after: bool = False
    canary: EvidenceBatch | None = None
    csv_texts: dict[str, str] = field(default_factory=dict)  # every CSV ops-watch wrote, by where

    @property
    def drop(self) -> Path:
        return self.root / "var" / "drop"

    def leaks(self) -> list[str]:
        marker = self.marker.encode()
        st = os.lstat(self.secret)
        found = files_holding(self.root / "var", marker, except_inode=(st.st_dev, st.st_ino))
        with closing(sqlite3.connect(self.root / "var" / "ops-watch.db")) as conn:
            dump = "\n".join(conn.iterdump())
        if self.marker in dump:
            found.append("store")
        if any(self.marker in line for line in self.daemon.lines):
            found.append("log")
        found += [where for where, text in self.csv_texts.items() if self.marker in text]
        return found

    def crashes_of(self, probe: Probe) -> int:
        """Failures the daemon logged for this probe's file as a crash (a file left for the next scan)."""
        name = probe.name if isinstance(probe.name, str) else "\ufffd"
        return len(
            self.daemon.find(
                lambda e: e["event"].startswith("evidence file not") and name in str(e.get("file", ""))
            )
        )


def _left_in_drop(run: Run) -> list[str]:
    left = []
    for kind_dir in run.drop.iterdir():
        if kind_dir.name in ("processed", "rejected") or not kind_dir.is_dir():
            continue
        for path in os.listdir(os.fsencode(kind_dir)):
            left.append(os.fsdecode(path))
    return left


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops_watch", "--config", str(config), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=TIMEOUT,
        cwd=config.parent,
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("hostile")
    config = site_config(root)
    marker = f"SECRET-{uuid.uuid4().hex}"
    secret = root / "shadow.csv"  # outside the drop folder, on the same file system (a hard link needs it)
    secret.write_bytes(secret_csv(marker))
    daemon = Daemon(config)
    try:
        daemon.wait_event("ready")
        daemon.wait_event("job done", job="ingest")
        drop = root / "var" / "drop"
        placed = [place(p, drop, secret) for p in corpus(SETTLE, xlsx=True)]
        writers = [threading.Thread(target=p.writer) for p in placed if p.writer is not None]
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        r = Run(root, config, secret, marker, daemon, placed)
        try:
            wait_for(lambda: not _left_in_drop(r), timeout=120, what="every probe out of the drop folder")
        except AssertionError:
            raise AssertionError(
                f"left in the drop folder: {_left_in_drop(r)}; the daemon wrote:\n{daemon.output()}"
            ) from None
        # Still scanning: a good file dropped after the corpus is taken too.
        mark = len(daemon.events())
        place(Probe("canary", "backup", "canary.csv", secret_csv("canary")), drop, secret)
        daemon.wait_event("evidence file ingested", after=mark, file="canary.csv")
        daemon.wait_event("job done", after=len(daemon.events()), job="evaluate")
        r.alive_after = daemon.alive()

        store = open_store(f"sqlite:///{root / 'var' / 'ops-watch.db'}")
        try:
            with store.session() as s:
                batches = list(s.scalars(select(EvidenceBatch).order_by(EvidenceBatch.id)))
                errors: dict[int, list[RowError]] = {}
                for e in s.scalars(select(RowError).order_by(RowError.batch_id, RowError.row)):
                    errors.setdefault(e.batch_id, []).append(e)
                s.expunge_all()
        finally:
            store.dispose()
        r.canary = next((b for b in batches if b.source == "canary.csv"), None)
        for p in placed:
            mine = [b for b in batches if p.probe.matches(b.source)]
            r.outcomes.append(Outcome(p.probe, mine, {b.id: errors.get(b.id, []) for b in mine}))

        for path in (root / "var").rglob("*.csv"):
            if path.name.endswith(".errors.csv") and path.is_file() and not path.is_symlink():
                r.csv_texts[str(path.relative_to(root))] = path.read_text(
                    encoding="utf-8-sig", errors="replace"
                )
        for args in (("findings", "list", "--format", "csv"), ("ingest", "--drop", "--format", "csv")):
            out = _cli(config, *args)
            assert out.returncode == 0, out.stderr
            r.csv_texts[" ".join(args)] = out.stdout
        yield r
    finally:
        daemon.kill()


def _by_class(run: Run) -> dict[str, list[Outcome]]:
    classes: dict[str, list[Outcome]] = {}
    for o in run.outcomes:
        classes.setdefault(o.probe.cls, []).append(o)
    return classes


def test_the_daemon_survives_the_corpus_and_keeps_scanning(run: Run) -> None:
    assert run.alive_after, run.daemon.output()
    assert run.canary is not None and run.canary.status == "accepted", run.daemon.output()
    assert not run.daemon.find(lambda e: e.get("level") == "critical"), run.daemon.output()
    judge({o.probe: run.crashes_of(o.probe) for o in run.outcomes if run.crashes_of(o.probe)})


def _placement_problem(o: Outcome) -> str:
    if len(o.batches) != 1:
        return f"{len(o.batches)} batches: {[(b.source, b.status) for b in o.batches]}"
    batch = o.batch
    assert batch is not None
    stored = Path(batch.stored_path or "")
    if not ({"processed", "rejected"} & set(stored.parts)) or not os.path.lexists(stored):
        return f"not archived in processed/ or rejected/: {batch.stored_path!r}"
    if o.probe.refused:
        detail = json.loads(batch.detail or "{}")
        reason = detail.get("reason", "") + " " + detail.get("reason_zh", "")
        if batch.status != "rejected" or "rejected" not in stored.parts:
            return f"{batch.status}, not rejected: {batch.detail}"
        if not reason.strip() or o.probe.reason not in reason:
            return f"reason {reason!r} lacks {o.probe.reason!r}"
    return ""


def test_every_entry_ends_in_processed_or_rejected_with_a_reason(run: Run) -> None:
    assert not _left_in_drop(run)
    judge({o.probe: why for o in run.outcomes if (why := _placement_problem(o))})


def test_links_and_fifos_are_refused_without_being_read(run: Run) -> None:
    problems: dict[Probe, object] = {}
    for o in run.outcomes:
        if o.probe.how not in ("symlink", "fifo", "hardlink"):
            continue
        batch = o.batch
        if batch is None or batch.status != "rejected" or batch.rows_total or batch.rows_ok:
            problems[o.probe] = batch and (batch.status, batch.rows_total, batch.detail)
            continue
        # Only the whole-file reason (row 0), never a line of the target.
        read = [
            (e.row, e.value) for e in o.row_errors.get(batch.id, []) if e.row > 0 or run.marker in e.value
        ]
        if read:
            problems[o.probe] = read
    judge(problems)


def _rows_problem(o: Outcome) -> object:
    p, batch = o.probe, o.batch
    assert batch is not None, p.label
    errors = [e for e in o.row_errors.get(batch.id, []) if e.row > 0]
    shown = [(e.row, e.reason[:80]) for e in errors]
    if batch.rows_ok + batch.rows_duplicate != p.rows - p.expected_bad:  # type: ignore[operator]
        return f"{batch.rows_ok} rows stored of {p.rows}, {p.expected_bad} bad expected: {shown}"
    if len(errors) != p.expected_bad:
        return shown
    if p.bad_lines is not None and sorted({e.row for e in errors}) != p.bad_lines:
        return f"bad lines {shown}, expected {p.bad_lines}"
    if any("鏈" in (e.value or "") for e in errors):
        return f"mojibake: {[e.value for e in errors]}"
    if p.cls == "mixed encodings" and not all(f"{e.row}" in e.reason for e in errors):
        return f"a reason does not name its line: {shown}"
    return ""


def test_good_rows_are_stored_and_bad_lines_are_row_errors_naming_the_line(run: Run) -> None:
    counted = [o for o in run.outcomes if not o.probe.refused and o.probe.rows is not None]
    judge({o.probe: why for o in counted if (why := _rows_problem(o))})


def test_no_row_is_lost_and_no_file_is_taken_twice(run: Run) -> None:
    judge({o.probe: o.rows_lost() for o in run.outcomes if o.rows_lost()})
    judge({o.probe: len(o.batches) for o in run.outcomes if len(o.batches) > 1})


def test_a_partial_write_is_taken_whole(run: Run) -> None:
    problems: dict[Probe, object] = {}
    for o in run.outcomes:
        if o.probe.how != "two_step":
            continue
        batch = o.batch
        if batch is None or batch.rows_ok != o.probe.rows:
            problems[o.probe] = batch and f"{batch.rows_ok} of {o.probe.rows} rows stored"
        elif (
            Path(batch.stored_path).read_bytes() != o.probe.data
        ):  # the bytes ingested are the bytes archived
            problems[o.probe] = "the archived copy is not the file"
    judge(problems)


def test_the_secret_marker_is_nowhere(run: Run) -> None:
    leaks = run.leaks()
    if not leaks:
        return
    # Which probe let it in: the only entries that lead to the secret are the symlink and the hard link.
    guilty = [
        o.probe
        for o in run.outcomes
        if o.probe.how in ("symlink", "hardlink") and (o.batch is None or o.batch.status != "rejected")
    ]
    assert guilty, leaks
    judge({p: leaks for p in guilty})


def test_every_csv_ops_watch_writes_is_formula_safe(run: Run) -> None:
    assert any(".errors.csv" in where for where in run.csv_texts)  # the formula file's report is there
    unsafe = {where: cells for where, text in run.csv_texts.items() if (cells := csv_formula_cells(text))}
    assert not unsafe, unsafe
    report = [t for w, t in run.csv_texts.items() if w.endswith(".errors.csv") and "=1+1 公式" in t]
    assert report and "'=cmd|" in report[0] and "'-2+3+cmd|" in report[0], report


def test_the_redos_clause_does_not_hang_ingest_or_evaluate(run: Run) -> None:
    (o,) = [o for o in run.outcomes if o.probe.cls == "ReDoS clause"]
    assert o.batch is not None and o.batch.status != "rejected", o.batch and o.batch.detail
    # Both jobs came back with the pattern loaded: a hang would have held the fixture until its deadline.
    done = run.daemon.find(lambda e: e["event"] == "job done" and e.get("job") in ("ingest", "evaluate"))
    assert {e["job"] for e in done} == {"ingest", "evaluate"}


def test_xlsx_bombs_are_refused_naming_the_limit(run: Run) -> None:
    bombs = [o for o in run.outcomes if o.probe.cls == "XLSX bombs"]
    assert len(bombs) == 3
    assert all(not _placement_problem(o) for o in bombs), {
        o.probe.label: _placement_problem(o) for o in bombs
    }


def test_zz_print_the_table(run: Run) -> None:
    """The table of issue 17's note: every class with its probes, and all the counts zero."""
    leaks = run.leaks()
    rows = []
    for cls, outcomes in _by_class(run).items():
        crashes = sum(run.crashes_of(o.probe) for o in outcomes) + (0 if run.alive_after else 1)
        lost = sum(o.rows_lost() for o in outcomes)
        dups = sum(max(0, len(o.batches) - 1) for o in outcomes)
        leaked = len(leaks) if cls == "symlink/hardlink/FIFO" else 0
        rows.append((cls, len(outcomes), crashes, lost, dups, leaked))
    width = max(len(r[0]) for r in rows)
    lines = [f"{'class':<{width}}  probes  crashes  rows lost  duplicates  leaks"]
    lines += [f"{c:<{width}}  {p:>6}  {cr:>7}  {lo:>9}  {d:>10}  {le:>5}" for c, p, cr, lo, d, le in rows]
    print("\n" + "\n".join(lines))
    if not run.alive_after:
        raise AssertionError("\n".join(lines))
    judge(
        {
            o.probe: "see the table"
            for o in run.outcomes
            if run.crashes_of(o.probe)
            or o.rows_lost()
            or len(o.batches) > 1
            or (leaks and o.probe.how in ("symlink", "hardlink") and o.batch and o.batch.status != "rejected")
        }
    )


def test_helpers_count_what_they_should() -> None:
    """The checks themselves: a formula cell is found, a number or a quoted one is not."""
    assert csv_formula_cells('a,=1+1,-3,\'=2,-2+3,"\r=x"\n') == ["=1+1", "-2+3", "\r=x"]
