"""The daemon's steady memory (issue 17 #17: steady RSS under 120 MB, bench/daemon_report_rss.py).

Heavy libraries that only a rare job or a one-off start-up step needs are imported by that job, not at start:
a module Python has imported stays in memory for the life of the process. A fresh interpreter does what
`ops-watch run` does at start (the CLI app, which loads every plug-in, and the daemon; then it opens its store,
new or already at the newest schema) and must hold none of them, so a later change that imports one eagerly
again fails here, naming the imports that pulled it in.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ops_watch.store import StoreError, open_store
from ops_watch.store.db import head_revision

# Library -> who needs it (and so imports it, inside the function that uses it), and what it added to the
# idle daemon's RSS (bench/daemon_report_rss.py).
LAZY = {
    "alembic": "store/db.py: only to create or migrate a store, in a child process for the daemon (11 MiB)",
    "mako": "Alembic's templates (with alembic)",
    "paramiko": "sources/ssh.py: only when collect.ssh is on or a restic repository is read over SSH (12 MiB)",
    "invoke": "paramiko's (with paramiko)",
    "requests": "notify/webhook.py, sources/prometheus.py, sources/doorpoll.py and the door pollers: only when "
    "a webhook, Prometheus or a door system is used (5 MiB)",
    "urllib3": "requests' (with requests)",
    "openpyxl": "formats/tabular.py when a workbook arrives (without numpy and Pillow); report/xlsx.py when one "
    "is written (the weekly report's child, the CLI's and the console's downloads)",
}

# The daemon's start: the console script's app (every plug-in), the daemon, the jobs, and its store opened as
# daemon.run_daemon opens it (runtime.open_runtime with the migration in a child process).
DAEMON_START = """
import json, sys
import ops_watch.cli.app, ops_watch.daemon, ops_watch.jobs
ops_watch.cli.app.load_plugins()  # `ops-watch run` loads every plug-in before the daemon starts
from ops_watch.store import open_store
store = open_store(sys.argv[1], migrate_in_child=True)
store.dispose()
print(json.dumps(sorted(sys.modules)))
"""

ROOT = Path(__file__).resolve().parents[2]


def _modules_at_start(url: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", DAEMON_START, url],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _importers(url: str, module: str) -> str:
    """The chain of imports that loaded `module` at start (for the failure message)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", DAEMON_START, url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    lines = [line.split("|")[-1] for line in out.stderr.splitlines() if line.startswith("import time:")]
    for i, line in enumerate(lines):
        if line.strip() == module:
            depth = len(line) - len(line.lstrip())
            chain = [module]
            for later in lines[i + 1 :]:  # importtime prints a module after the ones it imported
                d = len(later) - len(later.lstrip())
                if d < depth:
                    chain.append(later.strip())
                    depth = d
            return " <- ".join(chain)
    return module


@pytest.fixture(params=["new store", "store at head"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    if request.param == "store at head":
        open_store(url).dispose()  # created and migrated here, as a daemon's earlier start did
    return url


def test_the_daemon_starts_without_the_heavy_libraries(store_url: str) -> None:
    loaded = _modules_at_start(store_url)
    held = [name for name in LAZY if name in loaded]
    assert not held, "imported at the daemon's start, kept for its life:\n" + "\n".join(
        f"  {_importers(store_url, name)}  (should load only in: {LAZY[name]})" for name in held
    )
    store = open_store(store_url, upgrade=False)  # a new store was migrated all the same
    try:
        assert store.current_revision() == head_revision()
    finally:
        store.dispose()


def test_a_newer_store_is_refused_from_the_child_process_too(tmp_path: Path) -> None:
    """The migration's child process refuses a store written by a newer ops-watch, in the same words."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    open_store(url).dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match="schema revision 9999, which this ops-watch does not know"):
        open_store(url, migrate_in_child=True)


def test_the_daemon_migrates_a_new_store_in_a_child(tmp_path: Path) -> None:
    """daemon.run_daemon on a new store (what `ops-watch run` calls) leaves it at the newest schema, and
    Alembic out of the daemon's process."""
    config = tmp_path / "config.toml"
    config.write_text('[paths]\nstate_dir = "var"\n', encoding="utf-8")
    (tmp_path / "rules").mkdir()
    run = (
        "import json, sys\nfrom pathlib import Path\nfrom ops_watch import daemon, plugins\nplugins.load()\n"
        "rc = daemon.run_daemon(Path(sys.argv[1]), once=True)\nprint(json.dumps([rc, 'alembic' in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", run, str(config)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [0, False], out.stderr[-3000:]
    store = open_store(f"sqlite:///{tmp_path / 'var' / 'ops-watch.db'}", upgrade=False)
    try:
        assert store.current_revision() == head_revision()
    finally:
        store.dispose()


def test_head_revision_matches_the_migrations() -> None:
    """store.db.HEAD_REVISION (read from the file names) lets a store at the newest schema open without
    Alembic: it must be Alembic's head, and every migration `NNNN_what.py` must declare revision "NNNN"."""
    from alembic.script import ScriptDirectory

    from ops_watch.store.db import HEAD_REVISION, MIGRATIONS

    assert head_revision() == HEAD_REVISION
    for rev in ScriptDirectory(str(MIGRATIONS)).walk_revisions():
        assert Path(rev.path).name.split("_", 1)[0] == rev.revision, f"{rev.path}: revision {rev.revision!r}"


READ_A_WORKBOOK = """
import json, sys
from pathlib import Path
from ops_watch.formats.tabular import open_table
with open_table(Path(sys.argv[1])) as table:
    rows = [row.cells for row in table.rows()]
import openpyxl.compat.numbers as numbers
print(json.dumps({"rows": rows, "loaded": sorted(n for n in ("numpy", "PIL") if n in sys.modules),
                  "numeric": [t.__name__ for t in numbers.NUMERIC_TYPES]}))
"""


def test_reading_a_workbook_leaves_numpy_and_pillow_out_of_the_process(tmp_path: Path) -> None:
    """openpyxl imports numpy and Pillow whenever they are installed; reading evidence needs neither, and in the
    daemon they would stay for good after its first workbook (about 14 MiB)."""
    pytest.importorskip("numpy", reason="numpy is not installed here: nothing for openpyxl to pull in")
    from openpyxl import Workbook

    path = tmp_path / "inventory.xlsx"
    wb = Workbook()
    wb.active.append(["name", "cpu"])
    wb.active.append(["vm-01", 8])
    wb.save(path)
    out = subprocess.run(
        [sys.executable, "-c", READ_A_WORKBOOK, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["rows"] == [["name", "cpu"], ["vm-01", 8]]
    assert got["loaded"] == []
    assert "int" in got["numeric"] and not any("numpy" in t for t in got["numeric"])
