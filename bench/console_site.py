"""What the console benches share: a site in a temporary directory (its config) and `ops-watch serve` started
on it as a subprocess, as deployed (bench/web.py, bench/door_push.py)."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(workdir: Path, url: str, port: int, extra: str = "") -> Path:
    """config.toml in `workdir`: the store at `url`, the repo's rules, email to files, the console on `port`;
    `extra` TOML appended (a bench's own sections)."""
    cfg = workdir / "config.toml"
    cfg.write_text(
        f"""[site]
language = "zh"

[paths]
state_dir = "{workdir / "var"}"
rules_dir = "{ROOT / "rules"}"

[ingest]
drop_dir = "{workdir / "var" / "drop"}"

[store]
url = "{url}"

[notify.email]
transport = "file"
outbox_dir = "{workdir / "var" / "outbox"}"

[web]
listen = "127.0.0.1:{port}"
{extra}""",
        encoding="utf-8",
    )
    return cfg


def start_server(cfg: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """`ops-watch serve` on `cfg` (one uvicorn worker), its output in `log`; returns once it answers /login."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    argv = [sys.executable, "-m", "ops_watch", "--config", str(cfg), "serve"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(
                f"the console exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}"
            )
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/login")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"the console did not answer within 60 s:\n{log.read_text(errors='replace')[-3000:]}")
