"""Issue 17 #15: the ingest's temporary report is written under the state dir (never /tmp), and one left by
a process killed with SIGKILL is removed when ops-watch next starts an ingest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from ops_watch.config import Config
from ops_watch.ingest import TEMP_DIR_NAME, clean_temp_files, ingest_file
from ops_watch.store import open_store

HEADER = "资源ID,云平台,租户单位,类型,vCPU,内存(GB),存储(GB),需备份\n"

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from ops_watch import plugins
    from ops_watch.config import Config
    from ops_watch.ingest import ingest_file
    from ops_watch.store import open_store

    plugins.load()
    state, path = Path(sys.argv[1]), Path(sys.argv[2])
    config = Config.model_validate({"paths": {"state_dir": str(state)}})
    store = open_store(f"sqlite:///{state / 'store.db'}")
    ingest_file(store, config, "inventory", path)
    """
)


def _config(tmp_path: Path) -> Config:
    return Config.model_validate({"paths": {"state_dir": str(tmp_path / "var")}})


def test_a_report_killed_mid_write_is_under_the_state_dir_and_cleaned_at_the_next_start(tmp_path: Path):
    config = _config(tmp_path)
    config.state_dir.mkdir(parents=True)
    bad = tmp_path / "bad.csv"
    with bad.open("w", encoding="utf-8") as f:  # every row a row error: a long report to be written
        f.write(HEADER)
        for i in range(400_000):
            f.write(f"r{i},警务云,刑侦支队,vm,x,8,100,是\n")
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(system_tmp)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(config.state_dir), str(bad)], env=env)
    temp_dir = config.state_dir / TEMP_DIR_NAME
    try:
        deadline = time.monotonic() + 60
        while not list(temp_dir.glob("ops-watch-report-*")):
            assert child.poll() is None, "the ingest ended before its report was seen being written"
            assert time.monotonic() < deadline, "no temporary report under the state dir"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert not list(system_tmp.iterdir()), "nothing may be written to the system's /tmp"
    assert list(temp_dir.glob("ops-watch-report-*"))  # what SIGKILL left behind

    assert clean_temp_files(config) >= 1
    assert not list(temp_dir.iterdir())


def test_a_live_ingest_keeps_its_own_temp_file_and_a_finished_one_leaves_none(tmp_path: Path):
    config = _config(tmp_path)
    config.state_dir.mkdir(parents=True)
    temp_dir = config.state_dir / TEMP_DIR_NAME
    temp_dir.mkdir()
    mine = temp_dir / f"ops-watch-report-{os.getpid()}-x.csv"  # this process is alive: not a leftover
    mine.write_text("in use")
    path = tmp_path / "inv.csv"
    path.write_text(HEADER + "r1,警务云,刑侦支队,vm,4,8,100,是\nr2,警务云,刑侦支队,vm,x,8,100,是\n")
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        result = ingest_file(store, config, "inventory", path)
    finally:
        store.dispose()
    assert result.report_path is not None and result.report_path.exists()
    assert list(temp_dir.iterdir()) == [mine]


def test_opening_the_runtime_cleans_what_a_killed_process_left(config_file) -> None:
    """The daemon (and every command) cleans the state dir's leftovers when it starts, not only at its first
    error report: a file of a dead process goes, a live process's file stays."""
    import os

    from ops_watch.config import load_config
    from ops_watch.ingest import TEMP_DIR_NAME, TEMP_PREFIX
    from ops_watch.runtime import open_runtime

    path = config_file()
    temp = load_config(path).state_dir / TEMP_DIR_NAME
    temp.mkdir(parents=True)
    dead = temp / f"{TEMP_PREFIX}{2**22 + 12345}-x.csv"  # above the kernel's pid_max default: never alive
    live = temp / f"{TEMP_PREFIX}{os.getpid()}-y.csv"
    dead.write_text("row\n", encoding="utf-8")
    live.write_text("row\n", encoding="utf-8")
    rt = open_runtime(path)
    rt.close()
    assert not dead.exists() and live.exists()
