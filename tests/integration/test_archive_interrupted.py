"""A weekly report's build killed half way leaves the archive as it was (issue 17: nothing lost under faults).

The week's folder is built beside the archive and swapped in: the old one moved aside, the new one renamed in.
A process killed between the two once left the week without a folder; one killed while building left a hidden
half-built folder for ever. The next start (runtime.open_runtime) or the next build puts that right, for builds
of processes that are gone: a live build's folders are left alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from ops_watch.report.archive import ReportFiles, recover_interrupted, write_archive
from ops_watch.runtime import open_runtime


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _report(week: str, body: str) -> ReportFiles:
    return ReportFiles(
        week=week,
        language="zh",
        subject=f"周报 {week}",
        files={"report.html": body.encode(), "report.txt": body.encode()},
        charts={},
        xlsx="report.xlsx",
        status="ok",
    )


def test_a_week_moved_aside_by_a_killed_build_comes_back(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    week = write_archive(reports, _report("2026-W47", "第一版"), datetime(2026, 11, 23, tzinfo=UTC))
    # Killed between moving the week aside and renaming the new one in:
    aside = reports / f".2026-W47-replaced-{_dead_pid()}"
    week.rename(aside)
    half = reports / f".2026-W47-building-{_dead_pid()}-x1y2"
    half.mkdir()
    (half / "report.html").write_text("半成品")

    done = recover_interrupted(reports)

    assert sorted(done) == sorted([f"restored 2026-W47 from {aside.name}", f"removed {half.name}"])
    assert (reports / "2026-W47" / "report.html").read_text(encoding="utf-8") == "第一版"
    assert sorted(p.name for p in reports.iterdir()) == ["2026-W47"]


def test_a_replaced_week_already_swapped_is_removed_and_a_live_builds_folders_stay(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    write_archive(reports, _report("2026-W48", "新版"), datetime(2026, 11, 30, tzinfo=UTC))
    stale = (
        reports / f".2026-W48-replaced-{_dead_pid()}"
    )  # killed after the swap, before removing the old one
    stale.mkdir()
    live = reports / f".2026-W49-building-{os.getpid()}-abcd"  # this process is building it now
    live.mkdir()

    assert recover_interrupted(reports) == [f"removed {stale.name}"]
    assert live.is_dir()
    assert (reports / "2026-W48" / "report.html").read_text(encoding="utf-8") == "新版"


def test_the_next_start_puts_the_archive_right(tmp_path: Path, config_file) -> None:
    config_path = config_file()
    with_runtime = open_runtime(config_path)
    reports = with_runtime.config.reports_dir
    with_runtime.store.dispose()
    write_archive(reports, _report("2026-W47", "第一版"), datetime(2026, 11, 23, tzinfo=UTC))
    (reports / "2026-W47").rename(reports / f".2026-W47-replaced-{_dead_pid()}")

    rt = open_runtime(config_path)
    rt.store.dispose()

    assert (reports / "2026-W47" / "report.html").read_text(encoding="utf-8") == "第一版"
