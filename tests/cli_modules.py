"""Which modules a command of `ops-watch` imports: the start-up tests hold commands to what they need."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MODULES_AFTER = """
import json, sys
from ops_watch.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def modules_after(*args: str) -> tuple[set[str], str]:
    """Run `ops-watch ARGS` in a fresh interpreter: (the modules it imported, its stdout)."""
    out = subprocess.run(
        [sys.executable, "-c", MODULES_AFTER, *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    return set(json.loads(out.stderr.strip().splitlines()[-1])), out.stdout
