"""Write ops_watch/cli/commands_index.py again from the commands as registered (cli/index.py says why).

.venv/bin/python scripts/cli_index.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ops_watch.cli.app import generate_index  # noqa: E402

target = ROOT / "ops_watch" / "cli" / "commands_index.py"
text = generate_index()  # read before the file is written: the app imports the old index
target.write_text(text, encoding="utf-8")
subprocess.run([str(Path(sys.executable).parent / "ruff"), "format", "-q", str(target)], check=False)
print(f"wrote {target.relative_to(ROOT)}")
