"""The weekly report is built in a child process (issue 17 #17): the daemon's memory stays at its steady size."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ops_watch import jobs, plugins
from ops_watch.runtime import open_runtime

plugins.load()

# Opens a runtime as the daemon does, runs the report job, and says which heavy modules this process holds.
SCRIPT = """
import json, sys
from pathlib import Path
from ops_watch import jobs, plugins
from ops_watch.runtime import open_runtime
plugins.load()
rt = open_runtime(Path(sys.argv[1]))
if sys.argv[2] == "here":
    rt.config_path = None
result = jobs.report_weekly(rt)
rt.close()
print(json.dumps({"result": result, "held": sorted(m for m in ("matplotlib", "openpyxl") if m in sys.modules)}))
"""


def _run(config: Path, where: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(config), where], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_report_is_built_in_a_child_and_its_libraries_never_load_in_the_daemon(
    config_file: Callable[..., Path],
) -> None:
    config = config_file()
    child = _run(config, "child")
    folder = Path(child["result"]["folder"])
    assert (folder / "report.html").is_file() and child["result"]["week"].startswith("20")
    assert child["held"] == []  # charts and the workbook were made in the child, and left with it
    here = _run(config_file(name="again.toml"), "here")  # the same job in-process keeps them
    assert here["held"] == ["matplotlib", "openpyxl"]


def test_a_child_that_cannot_load_the_settings_is_a_job_failure_saying_why(
    config_file: Callable[..., Path],
) -> None:
    config = config_file()
    rt = open_runtime(config)
    try:
        config.write_text("[site\n", encoding="utf-8")  # broken after the daemon loaded it
        with pytest.raises(RuntimeError, match=r"report_weekly \(child process\): cannot load .*config.toml"):
            jobs.report_weekly(rt)
    finally:
        rt.close()
