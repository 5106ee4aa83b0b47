"""The daemon's memory through a weekly report: built in a child process, it leaves the daemon at its steady size.

    python bench/daemon_report_rss.py

One process plays the daemon on the demo's evidence (examples/ copied to a drop folder, config.example.toml's
settings under a temporary state dir): it runs the main jobs once (ingest, evaluate, notify) to reach its steady
size, then the weekly report job, then the main jobs again. Its resident memory (RSS) is read after each step.
Done twice, each in a fresh process: with the report built in a child process (what the daemon does) and, for
comparison, in-process (what it did before). Targets, for the child case: the RSS after the report within
5 MiB of the steady RSS, and under 120 MB.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_MB = 120
SLACK_MIB = 5


def _rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / (1024 * 1024)


def play(config_path: str, where: str) -> dict[str, float]:
    """In the measured process: the daemon's jobs, its RSS after each step."""
    from ops_watch import jobs, plugins
    from ops_watch.runtime import open_runtime

    plugins.load()
    rt = open_runtime(Path(config_path))
    if where == "here":
        rt.config_path = None  # the report job then runs in this process
    for name in ("ingest", "evaluate", "notify"):
        jobs.JOBS[name](rt)
    steady = _rss_mib()
    report = jobs.report_weekly(rt)
    after = _rss_mib()
    for name in ("ingest", "evaluate", "notify"):
        jobs.JOBS[name](rt)
    later = _rss_mib()
    rt.close()
    return {
        "steady": round(steady, 1),
        "after_report": round(after, 1),
        "later": round(later, 1),
        **{"report_status": report["status"]},
    }


def _config(tmp: Path) -> Path:
    """config.example.toml as it is, in a temporary folder: its relative paths (var/, rules/) land there."""
    shutil.copy(ROOT / "config.example.toml", tmp / "config.toml")
    shutil.copytree(ROOT / "rules", tmp / "rules")
    shutil.copytree(ROOT / "examples", tmp / "var" / "drop")
    (tmp / "samples").symlink_to(ROOT / "samples", target_is_directory=True)  # contract.toml's archive dir
    return tmp / "config.toml"


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--play":
        print(json.dumps(play(sys.argv[2], sys.argv[3])))
        return
    results = {}
    for where in ("child", "here"):
        with tempfile.TemporaryDirectory(prefix="ops-watch-rss-") as tmp:
            config = _config(Path(tmp))
            out = subprocess.run(
                [sys.executable, __file__, "--play", str(config), where],
                capture_output=True,
                text=True,
                check=True,
            )
            results[where] = json.loads(out.stdout.strip().splitlines()[-1])
    for where, label in (("child", "report in a child process"), ("here", "report in-process (before)")):
        r = results[where]
        print(
            f"{label:<28} steady {r['steady']:>6.1f} MiB  after the report {r['after_report']:>6.1f} MiB  "
            f"after the next jobs {r['later']:>6.1f} MiB  (report {r['report_status']})"
        )
    child = results["child"]
    grew = child["after_report"] - child["steady"]
    verdicts = {
        f"RSS after the report within {SLACK_MIB} MiB of steady ({grew:+.1f} MiB)": grew <= SLACK_MIB,
        f"RSS after the report under {TARGET_MB} MB ({child['after_report'] * 1.048576:.0f} MB)": child[
            "after_report"
        ]
        * 1.048576
        < TARGET_MB,
    }
    for what, ok in verdicts.items():
        print(f"target: {what}: {'PASS' if ok else 'MISS'}")
    if not all(verdicts.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
