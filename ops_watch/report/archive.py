"""Reports kept by ISO week under the state directory: `reports/2026-W47/` holds the HTML and text bodies, the
XLSX, the charts and `manifest.json` with each file's sha256. The email is built from these files, so the
emailed report and the archived one are the same bytes; `report list` re-checks the sums.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ops_watch.core.manifest import MANIFEST, ArchiveError, read_manifest, read_verified, sha256
from ops_watch.core.process import pid_alive

HTML = "report.html"
TEXT = "report.txt"


@dataclass(frozen=True)
class ReportFiles:
    """One built report, ready to archive: name in the folder -> bytes."""

    week: str
    language: str
    subject: str
    files: dict[str, bytes]
    charts: dict[str, str]  # file name -> Content-ID (without <>) the HTML refers to
    xlsx: str  # the workbook's file name
    status: str
    # The manifest's "trail" field: both chains' heads as of the build, {chain: {"seq", "hash"}} (report/trail.py)
    trail: dict[str, dict[str, Any]] = field(default_factory=dict)


def write_archive(reports_dir: Path, report: ReportFiles, built_at: datetime) -> Path:
    """Write the report's folder for its week, replacing an earlier build of the same week all at once."""
    final = reports_dir / report.week
    reports_dir.mkdir(parents=True, exist_ok=True)
    recover_interrupted(reports_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".{report.week}{_BUILDING}{os.getpid()}-", dir=reports_dir))
    try:
        for name, data in report.files.items():
            path = tmp / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        manifest = {
            "week": report.week,
            "language": report.language,
            "subject": report.subject,
            "status": report.status,
            "built_at": built_at.astimezone(UTC).isoformat(timespec="seconds"),
            "html": HTML,
            "text": TEXT,
            "xlsx": report.xlsx,
            "charts": report.charts,
            "files": {
                name: {"sha256": sha256(data), "bytes": len(data)}
                for name, data in sorted(report.files.items())
            },
        }
        if report.trail:
            manifest["trail"] = report.trail
        (tmp / MANIFEST).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; the center's staff read the archive
        old = None
        if final.exists():
            old = final.with_name(f".{report.week}{_REPLACED}{os.getpid()}")
            final.rename(old)
        tmp.rename(final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


# A week's folder is built as .<week>-building-<pid>-<random> and swapped in; the one it replaces waits as
# .<week>-replaced-<pid> for the moment of the swap. A process killed in between leaves them behind.
_BUILDING = "-building-"
_REPLACED = "-replaced-"


def recover_interrupted(reports_dir: Path) -> list[str]:
    """Put right what a build killed half way left (SIGKILL, power loss), for builds of processes that are gone:
    a week whose folder was moved aside and not replaced gets it back; a half-built folder, or one replaced
    already, is removed. Returns what was done, one line each (logged by the caller)."""
    done: list[str] = []
    try:
        leftovers = sorted(p for p in reports_dir.glob(".*") if p.is_dir() and not p.is_symlink())
    except OSError:
        return done
    for path in leftovers:
        for marker in (_BUILDING, _REPLACED):
            week, found, rest = path.name[1:].partition(marker)
            if found:
                break
        else:
            continue
        pid = rest.split("-", 1)[0]
        if not pid.isdigit() or pid_alive(int(pid)):
            continue
        final = reports_dir / week
        if marker == _REPLACED and not final.exists():
            path.rename(final)  # the killed build had moved the week aside: it comes back as it was
            done.append(f"restored {final.name} from {path.name}")
        else:
            shutil.rmtree(path, ignore_errors=True)
            done.append(f"removed {path.name}")
    return done


def verify(folder: Path) -> list[str]:
    """The problems of one archived report ([] when every file matches its sum)."""
    try:
        manifest = read_manifest(folder)
    except ArchiveError as exc:
        return [str(exc)]
    problems = []
    for name in manifest["files"]:
        try:
            read_verified(folder, name, manifest)
        except ArchiveError as exc:
            problems.append(str(exc))
    return problems


def list_reports(reports_dir: Path) -> list[dict[str, Any]]:
    """Every archived week, newest first, with its manifest's facts and whether the files still match."""
    rows = []
    if not reports_dir.is_dir():
        return rows
    for folder in sorted(reports_dir.iterdir(), reverse=True):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        problems = verify(folder)
        try:
            manifest = read_manifest(folder)
        except ArchiveError:
            manifest = {"files": {}}
        rows.append(
            {
                "week": folder.name,
                "status": manifest.get("status", ""),
                "language": manifest.get("language", ""),
                "built_at": manifest.get("built_at", ""),
                "files": len(manifest["files"]),
                "bytes": sum(int(f.get("bytes", 0)) for f in manifest["files"].values()),
                "check": "ok" if not problems else "; ".join(problems),
                "path": str(folder),
            }
        )
    return rows


def purge_reports(reports_dir: Path, years: int, today: date) -> list[str]:
    """Remove the weeks that ended more than `years` years before `today`; returns the weeks removed."""
    removed = []
    if not reports_dir.is_dir():
        return removed
    cutoff = today - timedelta(days=round(365.25 * years))
    for folder in sorted(reports_dir.iterdir()):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        try:
            year, week = folder.name.split("-W")
            sunday = date.fromisocalendar(int(year), int(week), 7)
        except ValueError:
            continue  # not a week's folder: not ours to delete
        if sunday < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed
