"""OpenSSH's sshd on loopback, for the SSH source's tests and bench/ssh_fanout.py.

    server = Sshd(workdir, [("127.0.0.1", port)], authorized_keys=["ssh-ed25519 AAAA..."])
    server.start()          # waits until every address accepts connections
    server.known_hosts_line()
    server.stop()           # the listener and every connection's process

Needs root (sshd switches to the logged-in user, and its privilege separation directory /run/sshd is
created here when missing). Keys are generated with `cryptography` (no ssh-keygen needed).
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = Path("/run/sshd")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def generate_key(path: Path, passphrase: str = "", comment: str = "ops-watch-test") -> str:
    """Write an ed25519 private key (OpenSSH format, mode 0600) and path.pub; returns the public line."""
    key = ed25519.Ed25519PrivateKey.generate()
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    line = f"{public.decode()} {comment}"
    path.with_name(path.name + ".pub").write_text(line + "\n", encoding="ascii")
    return line


def public_blob(public_line: str) -> tuple[str, bytes]:
    """(key type, blob) of a public key line."""
    key_type, b64 = public_line.split()[:2]
    return key_type, base64.b64decode(b64)


def known_hosts_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


@dataclass
class Sshd:
    """One sshd process listening on up to 16 loopback addresses."""

    workdir: Path
    listen: list[tuple[str, int]]
    authorized_keys: list[str]
    extra_config: str = ""  # appended last (Match blocks go here)
    options: dict[str, str] = field(default_factory=dict)  # replace or add top-level options
    host_key: Path | None = None  # generated in workdir when None
    proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        if len(self.listen) > 16:
            raise ValueError("one sshd listens on at most 16 addresses")
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.host_key is None:
            self.host_key = self.workdir / "ssh_host_ed25519_key"
            if not self.host_key.exists():
                generate_key(self.host_key, comment="host")
        self.config_path = self.workdir / "sshd_config"
        self.log_path = self.workdir / "sshd.log"
        self.authorized_path = self.workdir / "authorized_keys"

    @property
    def host_public_line(self) -> str:
        assert self.host_key is not None
        return self.host_key.with_name(self.host_key.name + ".pub").read_text(encoding="ascii").strip()

    def known_hosts_line(self, host: str | None = None, port: int | None = None) -> str:
        """The known_hosts line for one of the addresses (default: the first)."""
        h, p = self.listen[0]
        key_type, b64 = self.host_public_line.split()[:2]
        return f"{known_hosts_name(host or h, port or p)} {key_type} {b64}"

    def write_config(self) -> None:
        self.authorized_path.write_text("".join(k + "\n" for k in self.authorized_keys), encoding="ascii")
        # sshd reads authorized_keys as the user logging in: let a non-root test user read it.
        os.chmod(self.authorized_path, 0o644)
        options = {
            "HostKey": str(self.host_key),
            "PidFile": str(self.workdir / "sshd.pid"),
            "AuthorizedKeysFile": str(self.authorized_path),
            "StrictModes": "no",
            "UsePAM": "no",
            "PasswordAuthentication": "no",
            "KbdInteractiveAuthentication": "no",
            "PubkeyAuthentication": "yes",
            "PermitRootLogin": "prohibit-password",
            "AllowTcpForwarding": "yes",
            "LogLevel": "ERROR",
            "MaxStartups": "1000:100:1000",
            "MaxSessions": "1000",
            "MaxAuthTries": "10",
            "UseDNS": "no",
            "PrintMotd": "no",
            "PrintLastLog": "no",
        }
        options.update(self.options)
        lines = [f"ListenAddress {h}:{p}" for h, p in self.listen]
        lines += [f"{k} {v}" for k, v in options.items()]
        self.config_path.write_text("\n".join(lines) + "\n" + self.extra_config + "\n", encoding="ascii")

    def start(self, timeout: float = 10.0) -> None:
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        self.write_config()
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        try:
            self.proc = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        waiting = list(self.listen)
        while waiting:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited with {self.proc.returncode}: {self.log_text()}")
            host, port = waiting[0]
            try:
                with socket.create_connection((host, port), timeout=1):
                    waiting.pop(0)
                    continue
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"sshd did not listen on {host}:{port} within {timeout}s: {self.log_text()}"
                )
            time.sleep(0.02)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the listener and every connection's process (they are in sessions of their own)."""
        if self.proc is None:
            return
        with contextlib.suppress(psutil.Error):
            children = psutil.Process(self.proc.pid).children(recursive=True)
            for child in children:
                with contextlib.suppress(psutil.Error):
                    child.kill()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def restart(self, timeout: float = 10.0) -> None:
        self.stop()
        self.start(timeout)
