"""Write the command × flag table into docs/cli.md and docs/zh/命令.md from the commands as registered
(ops_watch/cli/flags_table.py says how; tests/unit/test_flags_table.py checks the docs are current).

.venv/bin/python scripts/flags_table.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ops_watch.cli.flags_table import write  # noqa: E402

for path in write(ROOT / "docs"):
    print(f"wrote {path.relative_to(ROOT)}")
