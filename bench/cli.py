"""How long the command line takes to answer, beside a bare interpreter (issue 21: a command that reads should
answer at once).

    python bench/cli.py            # the demo's store (make demo first); 10 runs of each, the median judged

Each command runs as a user runs it: a fresh `python -m ops_watch` process, output to a pipe, on the demo's
config and store (`config.example.toml`, var/). Printed: the median and the fastest of 10 runs, and the same for
`python -c pass` (what any Python command costs on this machine). Targets: `ops-watch --help` < 0.3 s and
`findings list` < 0.5 s; the other read commands are printed, not judged. On a loaded machine every figure
grows: compare with `python -c pass` printed beside them.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config.example.toml"
RUNS = 10
COMMANDS: list[tuple[str, list[str], float | None]] = [
    ("python -c pass", [sys.executable, "-c", "pass"], None),
    ("ops-watch --help", [sys.executable, "-m", "ops_watch", "--help"], 0.3),
    ("ops-watch --version", [sys.executable, "-m", "ops_watch", "--version"], None),
    (
        "ops-watch findings list",
        [sys.executable, "-m", "ops_watch", "--config", str(CONFIG), "findings", "list"],
        0.5,
    ),
    ("ops-watch status", [sys.executable, "-m", "ops_watch", "--config", str(CONFIG), "status"], None),
    ("ops-watch findings --help", [sys.executable, "-m", "ops_watch", "findings", "--help"], None),
    (
        "ops-watch rules list",
        [sys.executable, "-m", "ops_watch", "--config", str(CONFIG), "rules", "list"],
        None,
    ),
]


# As installed: pip compiles every module to bytecode, so a user's command reads .pyc files. A checkout under
# PYTHONDONTWRITEBYTECODE (this sandbox sets it) would compile ops_watch from source on every run instead; the
# first (warm-up) run writes the bytecode into a temporary cache that the timed runs read.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="ops-watch-bench-pyc-")


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, cwd=ROOT, env=ENV)
    took = time.perf_counter() - started
    if out.returncode != 0:
        sys.exit(
            f"{' '.join(argv)} failed ({out.returncode}):\n{out.stderr.decode(errors='replace')[-2000:]}"
        )
    return took


def main() -> None:
    if not (ROOT / "var" / "ops-watch.db").exists():
        sys.exit("no demo store: run `make demo` first")
    failed = False
    print(
        f"{RUNS} runs of each, fresh processes, output to a pipe, bytecode cached as installed; the demo's config "
        "and store"
    )
    for name, argv, target in COMMANDS:
        timed(argv)  # warm the file cache
        runs = sorted(timed(argv) for _ in range(RUNS))
        median = statistics.median(runs)
        line = f"{name:28} median {median * 1000:6.0f} ms   fastest {runs[0] * 1000:6.0f} ms"
        if target is not None:
            ok = median < target
            failed |= not ok
            line += f"   target < {target * 1000:.0f} ms: {'PASS' if ok else 'FAIL'}"
        print(line)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
