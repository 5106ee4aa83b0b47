"""Hosts measured over SSH (paramiko), with nothing installed on them.

One command per poll prints the aggregate line of /proc/stat, the head of /proc/meminfo and
`df -P -k -T` between section markers, in one write (procfs.SNAPSHOT_FUNCTION); procfs parses it.
CPU % is the change of the jiffy counters since this host's previous poll, so the first poll of a host
has no CPU figure and nothing sleeps on the target.

The shape of a cycle:
- every host is polled by a bounded thread pool (collect.ssh.pool); a host has its own connect and
  command deadlines, so one that refuses, hangs or rejects the key costs its own worker that long and
  never delays the others;
- a host's connection is kept between cycles: its transport and a long-lived `sh` on one session
  channel, to which each poll writes the command and an end marker and reads up to that marker. A poll
  on a kept connection costs a round trip, not a handshake and a new channel (about 10 ms of server
  CPU each). A channel or connection found dead is reopened at once (once), else on the next cycle;
- host keys are checked against collect.ssh.known_hosts before logging in (OpenSSH format: hashed
  names, [host]:port, wildcards, @revoked). An unknown or changed key takes no data; "accept-new" trusts
  and records a host's first key, and still refuses a changed one;
- every paramiko and socket error becomes one TargetStatus naming the resource, host:port and reason.

One connection per host, used by one thread at a time (its lock). A watchdog closes the connection of a
poll that overran its deadlines (paramiko has a few waits without a timeout), which ends that wait.
"""

from __future__ import annotations

import base64
import binascii
import concurrent.futures
import fcntl
import functools
import hashlib
import hmac
import logging
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ops_watch.core.log import get_logger
from ops_watch.sources import CollectResult, Sample, Target, TargetStatus, source
from ops_watch.sources.procfs import (
    MARKER,
    SNAPSHOT_FUNCTION,
    CpuCounters,
    ParseError,
    cpu_percent,
    parse_snapshot,
)

if TYPE_CHECKING:
    import paramiko

    from ops_watch.config import Config, SshSourceConfig
else:

    class _Paramiko:
        """paramiko, imported on first use: with cryptography and invoke it adds 12 MiB to a process, which a
        daemon that never polls over SSH (collect.ssh off, no restic repository over SSH) would keep for good
        (issue 17: the daemon's steady RSS). tests/unit/test_lazy_imports.py keeps it out of the start."""

        def __getattr__(self, name: str) -> Any:
            import paramiko  # start-up: memory, see the docstring

            return getattr(paramiko, name)

    paramiko = _Paramiko()

log = get_logger(__name__)

# paramiko logs every failed connection at ERROR with a traceback; each failure is already one status and
# one warning of the collect job, so its own logger is quiet unless this one is lowered for debugging.
WIRE_LOGGER = "ops_watch.sources.ssh.wire"
logging.getLogger(WIRE_LOGGER).setLevel(logging.CRITICAL)

DEFAULT_KEY_NAMES = ("id_ed25519", "id_ecdsa", "id_rsa")
KEEPALIVE_SECONDS = 60  # keeps NAT and firewall state of idle kept connections
WATCHDOG_GRACE = 2.0
OUTPUT_LIMIT = 4 * 1024 * 1024  # a host printing more than this before the end marker is not our shell


class SshError(Exception):
    """One host's failure: kind is one of sources.ERROR_KINDS, reason what happened (without the host)."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class _Broken(Exception):
    """The kept channel or connection turned out dead before any output: worth one fresh attempt."""


# ---- hosts -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostSpec:
    resource_id: str
    host: str
    port: int
    user: str

    @property
    def label(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def known_hosts_name(self) -> str:
        """The name OpenSSH looks up in known_hosts: host for port 22, else [host]:port."""
        host = self.host.lower()
        return host if self.port == 22 else f"[{host}]:{self.port}"


def parse_address(address: str, default_port: int) -> tuple[str, int]:
    """host, host:port, [v6]:port or a bare IPv6 address -> (host, port)."""
    text = address.strip()
    port_text = ""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"address {address!r}: expected [host]:port")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host = text  # a name, an IPv4 address, or an IPv6 address without a port
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"address {address!r}: no host")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"address {address!r}: port {port_text!r} is not 1..65535")
    return host, int(port_text)


def parse_jump_host(text: str, default_user: str) -> tuple[str, str, int]:
    """user@host:port (user and port optional) -> (user, host, port)."""
    user, sep, rest = text.strip().rpartition("@")
    host, port = parse_address(rest, 22)
    return (user if sep and user else default_user), host, port


def fingerprint(blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a public key blob."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


# ---- known_hosts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownHostEntry:
    patterns: tuple[str, ...]
    key_type: str
    blob: bytes
    line: int
    revoked: bool = False

    def matches(self, name: str) -> bool:
        matched = False
        for pattern in self.patterns:
            negated = pattern.startswith("!")
            if _pattern_matches(pattern[1:] if negated else pattern, name):
                if negated:
                    return False
                matched = True
        return matched


def _pattern_matches(pattern: str, name: str) -> bool:
    if pattern.startswith("|1|"):
        parts = pattern.split("|")
        if len(parts) != 4:
            return False
        try:
            salt, digest = base64.b64decode(parts[2]), base64.b64decode(parts[3])
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(hmac.new(salt, name.encode(), hashlib.sha1).digest(), digest)
    pattern = pattern.lower()
    if "*" in pattern or "?" in pattern:
        regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
        return re.fullmatch(regex, name) is not None
    return pattern == name


def parse_known_hosts(text: str) -> tuple[list[KnownHostEntry], list[str]]:
    """Entries of an OpenSSH known_hosts file, and the lines that could not be read (as problems).

    @cert-authority lines are left out (host certificates are not used); @revoked keys are kept and refused.
    """
    entries: list[KnownHostEntry] = []
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        revoked = False
        if line.startswith("@"):
            marker, _, line = line.partition(" ")
            if marker == "@cert-authority":
                continue
            if marker != "@revoked":
                problems.append(f"line {number}: unknown marker {marker}")
                continue
            revoked = True
        fields = line.split()
        if len(fields) < 3:
            problems.append(f"line {number}: expected 'hosts key-type base64-key'")
            continue
        try:
            blob = base64.b64decode(fields[2], validate=True)
        except (binascii.Error, ValueError):
            problems.append(f"line {number}: the key is not base64")
            continue
        entries.append(KnownHostEntry(tuple(fields[0].split(",")), fields[1], blob, number, revoked))
    return entries, problems


# Host key algorithms paramiko may negotiate for a key type written in known_hosts.
_ALGORITHMS_FOR_TYPE = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256")}


class KnownHosts:
    """An OpenSSH known_hosts file, reread when it changes; thread-safe."""

    def __init__(self, path: Path, policy: str):
        self.path = path
        self.policy = policy
        self._lock = threading.RLock()
        self._entries: list[KnownHostEntry] = []
        self._stamp: tuple[int, int, int] | None = None
        self._loaded = False
        self._by_name: dict[str, list[KnownHostEntry]] = {}
        self.problems: list[str] = []

    def refresh(self) -> None:
        with self._lock:
            self._load(force=False)

    def _load(self, force: bool) -> None:
        try:
            st = os.stat(self.path)
            stamp: tuple[int, int, int] | None = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if self._loaded and not force and stamp == self._stamp:
            return
        text = ""
        if stamp is not None:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        self._entries, self.problems = parse_known_hosts(text)
        for problem in self.problems:
            log.warning("known_hosts line skipped", file=str(self.path), problem=problem)
        self._by_name.clear()
        self._stamp, self._loaded = stamp, True

    def entries_for(self, name: str) -> list[KnownHostEntry]:
        with self._lock:
            if not self._loaded:
                self._load(force=False)
            found = self._by_name.get(name)
            if found is None:
                found = [e for e in self._entries if e.matches(name)]
                self._by_name[name] = found
            return found

    def preferred_key_types(self, name: str, supported: Iterable[str]) -> list[str]:
        """paramiko's host key algorithms with the ones known for this host first, so that a host offering
        several keys shows the one we can check."""
        supported = list(supported)
        first: list[str] = []
        for entry in self.entries_for(name):
            if entry.revoked:
                continue
            for algorithm in _ALGORITHMS_FOR_TYPE.get(entry.key_type, (entry.key_type,)):
                if algorithm in supported and algorithm not in first:
                    first.append(algorithm)
        return first + [a for a in supported if a not in first]

    def _judge(self, name: str, key_type: str, blob: bytes) -> SshError | None | bool:
        """None: known and matching; an SshError (changed); True: unknown."""
        entries = self.entries_for(name)
        where = str(self.path)
        for e in entries:
            if e.revoked and e.blob == blob:
                return SshError(
                    "host_key_changed",
                    f"the host offered {key_type} key {fingerprint(blob)}, marked @revoked in {where} line {e.line}",
                )
        live = [e for e in entries if not e.revoked]
        same_type = [e for e in live if e.key_type == key_type]
        if any(e.blob == blob for e in same_type):
            return None
        if same_type:
            e = same_type[0]
            return SshError(
                "host_key_changed",
                f"host key CHANGED: {where} line {e.line} holds {key_type} {fingerprint(e.blob)}, the host "
                f"offered {fingerprint(blob)}; a reinstalled host or a man in the middle: check it, then "
                "replace that line",
            )
        if live:
            types = ", ".join(sorted({e.key_type for e in live}))
            return SshError(
                "host_key_changed",
                f"host key CHANGED: {where} line {live[0].line} holds a {types} key, the host offered only "
                f"{key_type} {fingerprint(blob)}; check it, then replace that line",
            )
        return True

    def verify(self, name: str, key_type: str, blob: bytes) -> None:
        """Raise SshError(host_key_unknown|host_key_changed) unless the key is the one known for `name`.

        With policy "accept-new" a host with no key in the file has this one written for it.
        """
        verdict = self._judge(name, key_type, blob)
        if verdict is None:
            return
        if isinstance(verdict, SshError):
            raise verdict
        if self.policy != "accept-new":
            raise SshError(
                "host_key_unknown",
                f"host key {key_type} {fingerprint(blob)} is not in {self.path}; check it and add it "
                f'(ssh-keyscan), or set collect.ssh.host_key_policy = "accept-new"',
            )
        self._accept(name, key_type, blob)

    def _accept(self, name: str, key_type: str, blob: bytes) -> None:
        """Append the key, atomically (a new file renamed over the old) under a thread lock and a file lock
        on the directory (another ops-watch process may be writing too)."""
        with self._lock:
            parent = self.path.parent
            parent.mkdir(parents=True, exist_ok=True)
            dir_fd = os.open(parent, os.O_RDONLY)
            try:
                fcntl.flock(dir_fd, fcntl.LOCK_EX)
                self._load(force=True)  # someone may have written it meanwhile
                verdict = self._judge(name, key_type, blob)
                if verdict is None:
                    return
                if isinstance(verdict, SshError):
                    raise verdict
                try:
                    old = self.path.read_bytes()
                    mode = os.stat(self.path).st_mode & 0o777
                except FileNotFoundError:
                    old, mode = b"", 0o644
                if old and not old.endswith(b"\n"):
                    old += b"\n"
                line = f"{name} {key_type} {base64.b64encode(blob).decode()}\n".encode()
                tmp = parent / f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
                try:
                    os.write(fd, old + line)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, self.path)
                os.fsync(dir_fd)
                self._load(force=True)
                log.warning(
                    "new host key accepted and written to known_hosts",
                    host=name,
                    key_type=key_type,
                    fingerprint=fingerprint(blob),
                    file=str(self.path),
                )
            finally:
                fcntl.flock(dir_fd, fcntl.LOCK_UN)
                os.close(dir_fd)


# ---- keys --------------------------------------------------------------------------------------------


def _describe_key(key: paramiko.PKey, origin: str) -> str:
    return f"{origin} ({key.get_name()} {fingerprint(key.asbytes())})"


class Credentials:
    """The keys to log in with: key_file (and its passphrase) only, or else the agent and ~/.ssh's keys.

    Loaded once per cycle at most, and again only when the file or passphrase changed: decrypting a key
    (bcrypt KDF) is slow, and 200 hosts must not pay it 200 times.
    """

    def __init__(self, key_file: Path | None, passphrase: Callable[[], str], home: Path | None = None):
        self.key_file = key_file
        self._passphrase = passphrase
        self._home = home
        self._cache: dict[Path, tuple[tuple[int, int, str], paramiko.PKey]] = {}
        self.keys: list[tuple[paramiko.PKey, str]] = []
        self.error = ""

    def _load(self, path: Path, passphrase: str) -> paramiko.PKey:
        st = os.stat(path)
        stamp = (st.st_mtime_ns, st.st_size, hashlib.sha256(passphrase.encode()).hexdigest())
        cached = self._cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        key = paramiko.PKey.from_path(path, passphrase.encode() if passphrase else None)
        self._cache[path] = (stamp, key)
        return key

    def refresh(self) -> None:
        self.keys, self.error = [], ""
        try:
            passphrase = self._passphrase()
        except ValueError as exc:
            self.error = f"cannot read the key's passphrase: {exc}"
            return
        if self.key_file is not None:
            try:
                key = self._load(self.key_file, passphrase)
            except paramiko.PasswordRequiredException:
                self.error = f"key file {self.key_file} is encrypted: set passphrase_file or passphrase_env"
            except (
                Exception
            ) as exc:  # a key file is outside input: any failure to read it is a reason, not a crash
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                self.error = f"cannot load key file {self.key_file}: {reason or type(exc).__name__}"
            else:
                self.keys = [(key, _describe_key(key, f"key file {self.key_file}"))]
            return
        ssh_dir = (self._home or Path.home()) / ".ssh"
        for name in DEFAULT_KEY_NAMES:
            path = ssh_dir / name
            if not path.exists():
                continue
            try:
                key = self._load(path, passphrase)
            except (
                Exception
            ) as exc:  # a key file is outside input: any failure to read it is a reason, not a crash
                log.debug("default key skipped", path=str(path), error=str(exc))
                continue
            self.keys.append((key, _describe_key(key, str(path))))

    def authenticate(self, transport: paramiko.Transport, user: str, deadline: float) -> None:
        if self.error:
            raise SshError("auth", self.error)
        keys = list(self.keys)
        agent: paramiko.Agent | None = None
        if self.key_file is None:
            try:
                agent = paramiko.Agent()
                keys = [(k, _describe_key(k, "agent key")) for k in agent.get_keys()] + keys
            except paramiko.SSHException as exc:
                log.debug("ssh agent unusable", error=str(exc))
        try:
            if not keys:
                raise SshError(
                    "auth",
                    "no key to log in with: set collect.ssh.key_file, or run an SSH agent, or put a key in ~/.ssh",
                )
            tried = []
            for key, described in keys:
                transport.auth_timeout = max(0.5, deadline - time.monotonic())
                try:
                    rest = transport.auth_publickey(user, key)
                except paramiko.BadAuthenticationType as exc:
                    raise SshError(
                        "auth",
                        f"user {user!r}: the server takes no public keys (it allows {', '.join(exc.allowed_types)})",
                    ) from None
                except paramiko.AuthenticationException as exc:
                    if "timeout" in str(exc).lower():
                        raise SshError(
                            "timeout", "logging in did not finish within the connect timeout"
                        ) from None
                    if not transport.is_active():
                        raise SshError(
                            "auth", f"user {user!r}: the server closed the connection ({exc})"
                        ) from None
                    tried.append(described)
                    continue
                if transport.is_authenticated():
                    return
                raise SshError(
                    "auth", f"user {user!r}: the server wants more than a key (then: {', '.join(rest)})"
                )
            raise SshError("auth", f"user {user!r}: the server refused {', '.join(tried)}")
        finally:
            if agent is not None:
                agent.close()


# ---- one connection ------------------------------------------------------------------------------


@dataclass
class CycleContext:
    cycle: int
    connect_timeout: float
    command_timeout: float
    known_hosts: KnownHosts
    credentials: Credentials
    jump: JumpHost | None = None


def _tcp_connect(spec: HostSpec, ctx: CycleContext, deadline: float) -> socket.socket:
    try:
        sock = socket.create_connection((spec.host, spec.port), timeout=max(0.1, deadline - time.monotonic()))
    except TimeoutError:
        raise SshError("unreachable", f"no answer within {ctx.connect_timeout:g}s") from None
    except ConnectionRefusedError:
        raise SshError("unreachable", "connection refused") from None
    except socket.gaierror as exc:
        raise SshError("unreachable", f"cannot resolve the name: {exc.strerror}") from None
    except OSError as exc:
        raise SshError("unreachable", exc.strerror or str(exc)) from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


@functools.cache
def _transport_class() -> type[paramiko.Transport]:
    """paramiko's Transport, made on first use (paramiko loads only when SSH is used)."""

    class _Transport(paramiko.Transport):
        # paramiko's transport thread wakes every 0.1 s to see whether it should stop: 2,000 wake-ups a second
        # for 200 kept connections (7 % of a core while idle). Once a second is enough; close() does not
        # wait for the thread, which then ends within that second.
        _active_check_timeout = 1.0

    return _Transport


def open_transport(
    spec: HostSpec, sock: socket.socket | paramiko.Channel, ctx: CycleContext, deadline: float
) -> paramiko.Transport:
    """Handshake, host key check, login. The transport is closed again on any failure."""
    transport = _transport_class()(sock)
    transport.set_log_channel(WIRE_LOGGER)
    try:
        remaining = max(0.1, deadline - time.monotonic())
        # paramiko's own banner and handshake timeouts fire after ours, so an overrun reads as a timeout.
        transport.banner_timeout = transport.handshake_timeout = remaining + 1
        options = transport.get_security_options()
        options.key_types = ctx.known_hosts.preferred_key_types(spec.known_hosts_name, options.key_types)
        done = threading.Event()
        transport.start_client(event=done)
        if not done.wait(remaining):
            raise SshError("timeout", f"the SSH handshake did not finish within {ctx.connect_timeout:g}s")
        if not transport.is_active():
            raise _handshake_error(transport.get_exception())
        key = transport.get_remote_server_key()
        ctx.known_hosts.verify(spec.known_hosts_name, key.get_name(), key.asbytes())
        ctx.credentials.authenticate(transport, spec.user, deadline)
        transport.set_keepalive(KEEPALIVE_SECONDS)
        return transport
    except BaseException:
        transport.close()
        raise


def _handshake_error(exc: BaseException | None) -> SshError:
    if isinstance(exc, EOFError) or exc is None:
        return SshError("unreachable", "the server closed the connection during the SSH handshake")
    if isinstance(exc, paramiko.IncompatiblePeer):
        return SshError("unreachable", f"no algorithm in common with the server: {exc}")
    if isinstance(exc, OSError):
        return SshError("unreachable", f"connection lost during the SSH handshake: {exc.strerror or exc}")
    return SshError("unreachable", f"SSH handshake failed: {exc}")


class JumpHost:
    """A bastion (collect.ssh.jump_host): one kept connection, a direct-tcpip channel per target host."""

    def __init__(self, user: str, host: str, port: int):
        self.spec = HostSpec("jump host", host, port, user)
        self._lock = threading.Lock()
        self._transport: paramiko.Transport | None = None
        self._failure: tuple[int, SshError] | None = None

    @property
    def label(self) -> str:
        return f"{self.spec.user}@{self.spec.label}"

    def _connected(self, ctx: CycleContext, deadline: float) -> paramiko.Transport:
        with self._lock:
            if self._transport is not None and self._transport.is_active():
                return self._transport
            if self._failure is not None and self._failure[0] == ctx.cycle:
                raise self._failure[1]  # the others of this cycle need not wait for it again
            try:
                sock = _tcp_connect(self.spec, ctx, deadline)
                self._transport = open_transport(self.spec, sock, ctx, deadline)
            except SshError as exc:
                err = SshError(exc.kind, f"jump host {self.label}: {exc.reason}")
                self._failure = (ctx.cycle, err)
                raise err from None
            self._failure = None
            return self._transport

    def channel_to(self, spec: HostSpec, ctx: CycleContext, deadline: float) -> paramiko.Channel:
        transport = self._connected(ctx, deadline)
        try:
            return transport.open_channel(
                "direct-tcpip",
                (spec.host, spec.port),
                ("127.0.0.1", 0),
                timeout=max(0.1, deadline - time.monotonic()),
            )
        except paramiko.ChannelException as exc:
            raise SshError(
                "unreachable", f"the jump host {self.label} could not connect: {exc.text}"
            ) from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            transport.close()
            raise SshError("unreachable", f"jump host {self.label}: {exc or type(exc).__name__}") from None

    def close(self) -> None:
        with self._lock:
            if self._transport is not None:
                self._transport.close()
                self._transport = None


class HostSession:
    """A host's kept connection: the transport, the long-lived shell channel, the previous CPU counters."""

    def __init__(self, spec: HostSpec):
        self.spec = spec
        self.lock = threading.Lock()
        self.transport: paramiko.Transport | None = None
        self.shell: paramiko.Channel | None = None
        self.pending = b""
        self.seq = 0
        self.nonce = secrets.token_hex(4)
        self.cpu: CpuCounters | None = None
        self.started: float | None = None  # monotonic start of the running poll (for the watchdog)
        self.budget = 0.0

    # -- connection

    def _connect(self, ctx: CycleContext) -> None:
        self.close()
        deadline = time.monotonic() + ctx.connect_timeout
        if ctx.jump is not None:
            sock: socket.socket | paramiko.Channel = ctx.jump.channel_to(self.spec, ctx, deadline)
        else:
            sock = _tcp_connect(self.spec, ctx, deadline)
        try:
            self.transport = open_transport(self.spec, sock, ctx, deadline)
        except BaseException:
            sock.close()
            raise

    def _open_shell(self, ctx: CycleContext, deadline: float) -> paramiko.Channel:
        assert self.transport is not None
        try:
            chan = self.transport.open_session(timeout=max(0.1, deadline - time.monotonic()))
            chan.set_combine_stderr(True)
            # POSIX sh whatever the user's login shell; it reads the polls from its stdin.
            chan.exec_command("sh")
            chan.settimeout(max(0.1, deadline - time.monotonic()))
            chan.sendall(SNAPSHOT_FUNCTION.encode())
        except paramiko.ChannelException as exc:
            raise SshError("unreachable", f"the server refused a session channel: {exc.text}") from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise _Broken(str(exc) or type(exc).__name__) from None
        self.shell, self.pending = chan, b""
        return chan

    def _shell_usable(self) -> bool:
        chan = self.shell
        return chan is not None and not chan.closed and not chan.eof_received and not chan.exit_status_ready()

    def close_shell(self) -> None:
        if self.shell is not None:
            self.shell.close()
        self.shell, self.pending = None, b""

    def close(self) -> None:
        self.close_shell()
        if self.transport is not None:
            self.transport.close()
        self.transport = None

    # -- one poll

    def _run(self, ctx: CycleContext) -> str:
        """Write the snapshot command to the shell and read its output up to the end marker."""
        deadline = time.monotonic() + ctx.command_timeout
        chan = self.shell if self._shell_usable() else self._open_shell(ctx, deadline)
        assert chan is not None
        self.seq += 1
        end = f"{MARKER} end {self.nonce} {self.seq}"
        buf = self.pending
        try:
            chan.settimeout(max(0.1, deadline - time.monotonic()))
            chan.sendall(f"ow_snapshot '{end}'\n".encode())
        except TimeoutError:
            self.close_shell()
            raise SshError(
                "timeout", f"the command could not be sent within {ctx.command_timeout:g}s"
            ) from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            self.close_shell()
            raise _Broken(str(exc) or type(exc).__name__) from None
        marker = end.encode()
        received = False
        while True:
            at = buf.find(marker)
            if at >= 0:
                newline = buf.find(b"\n", at)
                self.pending = buf[newline + 1 :] if newline >= 0 else b""
                return buf[:at].decode("utf-8", errors="replace")
            if len(buf) > OUTPUT_LIMIT:
                self.close_shell()
                raise SshError("parse", f"more than {OUTPUT_LIMIT} bytes of output without the end marker")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close_shell()  # the shell is busy with who knows what: a new one next time
                raise SshError("timeout", f"no complete output within {ctx.command_timeout:g}s")
            try:
                chan.settimeout(remaining)
                data = chan.recv(65536)
            except TimeoutError:
                continue
            except (paramiko.SSHException, EOFError, OSError) as exc:
                self.close_shell()
                if not received:
                    raise _Broken(str(exc) or type(exc).__name__) from None
                raise SshError("unreachable", f"connection lost while reading: {exc}") from None
            if not data:
                status = chan.exit_status if chan.exit_status_ready() else None
                self.close_shell()
                if not received:
                    raise _Broken("the shell channel ended")
                text = buf.decode("utf-8", errors="replace").strip()
                shown = repr(text[:200] + ("…" if len(text) > 200 else ""))
                raise SshError(
                    "parse",
                    f"the command ended before its output was complete (exit status {status}): {shown}",
                )
            received = True
            buf += data

    def poll(self, ctx: CycleContext) -> tuple[float | None, float, float, float]:
        """(cpu %, memory %, storage used GB, storage total GB); raises SshError."""
        kept = self.transport is not None and self.transport.is_active()
        if not kept:
            self._connect(ctx)
        try:
            text = self._run(ctx)
        except _Broken as exc:
            if not kept:
                self.close()
                raise SshError("unreachable", f"the new connection failed at once: {exc}") from None
            log.debug("kept ssh connection broken, reconnecting", host=self.spec.label, error=str(exc))
            self._connect(ctx)
            try:
                text = self._run(ctx)
            except _Broken as again:
                self.close()
                raise SshError("unreachable", f"the connection failed again at once: {again}") from None
        try:
            snapshot = parse_snapshot(text)
        except ParseError as exc:
            raise SshError("parse", str(exc)) from None
        cpu = cpu_percent(self.cpu, snapshot.cpu)
        self.cpu = snapshot.cpu
        return cpu, snapshot.memory.used_percent, snapshot.disk.used_gb, snapshot.disk.total_gb


# ---- the collector ---------------------------------------------------------------------------------


@dataclass
class SshSettings:
    """What the collector needs from collect.ssh, with paths resolved."""

    user: str = "opswatch"
    port: int = 22
    from_inventory: bool = True
    hosts: list[tuple[str, str, str]] = field(default_factory=list)  # (resource id, address, user)
    key_file: Path | None = None
    passphrase: Callable[[], str] = lambda: ""
    known_hosts: Path = Path("known_hosts")
    host_key_policy: str = "strict"
    jump_host: str = ""
    pool: int = 50
    connect_timeout: float = 10.0
    command_timeout: float = 20.0
    home: Path | None = None  # where ~/.ssh's default keys are; None: the service user's home

    @classmethod
    def from_config(cls, cfg: SshSourceConfig, config_dir: Path) -> SshSettings:
        def resolve(path: Path) -> Path:
            path = path.expanduser()
            return path if path.is_absolute() else config_dir / path

        return cls(
            user=cfg.user,
            port=cfg.port,
            from_inventory=cfg.from_inventory,
            hosts=[(h.resource_id, h.address, h.user) for h in cfg.hosts],
            key_file=resolve(cfg.key_file) if cfg.key_file is not None else None,
            passphrase=lambda: cfg.passphrase_value(config_dir),
            known_hosts=resolve(cfg.known_hosts),
            host_key_policy=cfg.host_key_policy,
            jump_host=cfg.jump_host,
            pool=cfg.pool,
            connect_timeout=cfg.connect_timeout.total_seconds(),
            command_timeout=cfg.command_timeout.total_seconds(),
        )


class SshCollector:
    name = "ssh"

    def __init__(self, settings: SshSettings):
        self.settings = settings
        self.known_hosts = KnownHosts(settings.known_hosts, settings.host_key_policy)
        self.credentials = Credentials(settings.key_file, settings.passphrase, settings.home)
        self.jump: JumpHost | None = None
        self._jump_error = ""
        if settings.jump_host:
            try:
                self.jump = JumpHost(*parse_jump_host(settings.jump_host, settings.user))
            except ValueError as exc:
                self._jump_error = f"collect.ssh.jump_host: {exc}"
        self._sessions: dict[str, HostSession] = {}
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=settings.pool, thread_name_prefix="ops-watch-ssh"
        )
        self._cycle_lock = threading.Lock()
        self._cycle = 0
        self._closed = False

    def host_specs(self, targets: list[Target]) -> tuple[list[HostSpec], list[TargetStatus]]:
        """Config hosts plus (from_inventory) every target with an address; a config entry wins."""
        wanted: dict[str, tuple[str, str]] = {}
        if self.settings.from_inventory:
            for t in targets:
                if t.address.strip():
                    wanted[t.resource_id] = (t.address, t.user)
        for resource_id, address, user in self.settings.hosts:
            wanted[resource_id] = (address, user)
        specs, bad = [], []
        for resource_id, (address, user) in wanted.items():
            try:
                host, port = parse_address(address, self.settings.port)
            except ValueError as exc:
                bad.append(TargetStatus(resource_id, False, "config", f"{resource_id}: {exc}"))
                continue
            specs.append(HostSpec(resource_id, host, port, user or self.settings.user))
        return specs, bad

    def collect(self, targets: list[Target], now: datetime) -> CollectResult:
        if self._closed:
            raise RuntimeError("the ssh collector is closed")
        with self._cycle_lock:
            self._cycle += 1
            specs, statuses = self.host_specs(targets)
            result = CollectResult(statuses=statuses)
            if self._jump_error:
                result.statuses += [
                    TargetStatus(
                        s.resource_id, False, "config", f"{s.resource_id} ({s.label}): {self._jump_error}"
                    )
                    for s in specs
                ]
                return result
            self._sync_sessions(specs)
            if not specs:
                return result
            try:
                self.known_hosts.refresh()
            except OSError as exc:  # unreadable: no host can be checked, so none is polled
                reason = f"cannot read known_hosts {self.known_hosts.path}: {exc.strerror or exc}"
                result.statuses += [
                    TargetStatus(s.resource_id, False, "config", f"{s.resource_id} ({s.label}): {reason}")
                    for s in specs
                ]
                return result
            self.credentials.refresh()
            ctx = CycleContext(
                cycle=self._cycle,
                connect_timeout=self.settings.connect_timeout,
                command_timeout=self.settings.command_timeout,
                known_hosts=self.known_hosts,
                credentials=self.credentials,
                jump=self.jump,
            )
            sessions = [self._sessions[s.resource_id] for s in specs]
            futures = {self._pool.submit(self._poll_one, session, ctx, now): session for session in sessions}
            self._wait(futures, ctx)
            for future, session in futures.items():
                outcome = future.result() if future.done() else self._overran(session, ctx)
                if isinstance(outcome, Sample):
                    result.samples.append(outcome)
                    result.statuses.append(TargetStatus(session.spec.resource_id, True))
                else:
                    result.statuses.append(outcome)
            return result

    def _sync_sessions(self, specs: list[HostSpec]) -> None:
        """Keep a session per wanted host; close those no longer wanted or whose address or user changed."""
        wanted = {s.resource_id: s for s in specs}
        for resource_id, session in list(self._sessions.items()):
            if wanted.get(resource_id) != session.spec and session.lock.acquire(blocking=False):
                try:
                    session.close()
                finally:
                    session.lock.release()
                del self._sessions[resource_id]
        for resource_id, spec in wanted.items():
            if resource_id not in self._sessions:
                self._sessions[resource_id] = HostSession(spec)

    def _poll_one(self, session: HostSession, ctx: CycleContext, now: datetime) -> Sample | TargetStatus:
        spec = session.spec

        def failed(kind: str, reason: str) -> TargetStatus:
            return TargetStatus(spec.resource_id, False, kind, f"{spec.resource_id} ({spec.label}): {reason}")

        if not session.lock.acquire(blocking=False):
            return failed("timeout", "its previous poll is still running")
        try:
            session.budget = 2 * (ctx.connect_timeout + ctx.command_timeout) + WATCHDOG_GRACE
            session.started = time.monotonic()
            try:
                cpu, mem, used, total = session.poll(ctx)
            except SshError as exc:
                if exc.kind not in ("parse", "timeout"):
                    session.close()
                return failed(exc.kind, exc.reason)
            except Exception as exc:  # a paramiko surprise: this host fails, the others go on
                session.close()
                log.warning("ssh poll failed unexpectedly", host=spec.label, error=repr(exc), exc_info=True)
                return failed("unreachable", f"{type(exc).__name__}: {exc}")
            return Sample(spec.resource_id, now, cpu, mem, used, total)
        finally:
            session.started = None
            session.lock.release()

    def _wait(
        self, futures: dict[concurrent.futures.Future[Sample | TargetStatus], HostSession], ctx: CycleContext
    ) -> None:
        """Wait for every poll; close the connection of one that overran its deadlines, which ends its
        wait (paramiko waits for some replies without a timeout)."""
        pending = set(futures)
        aborted_at: dict[concurrent.futures.Future[Sample | TargetStatus], float] = {}
        while pending:
            _done, pending = concurrent.futures.wait(pending, timeout=0.5)
            now = time.monotonic()
            for future in list(pending):
                session = futures[future]
                started = session.started
                if future in aborted_at:
                    if now - aborted_at[future] > WATCHDOG_GRACE:
                        pending.discard(future)  # give up on it; its thread ends when paramiko lets go
                    continue
                if started is not None and now - started > session.budget:
                    log.warning(
                        "ssh poll overran its deadlines, closing its connection", host=session.spec.label
                    )
                    aborted_at[future] = now
                    transport = session.transport
                    if transport is not None:
                        transport.close()

    def _overran(self, session: HostSession, ctx: CycleContext) -> TargetStatus:
        spec = session.spec
        return TargetStatus(
            spec.resource_id,
            False,
            "timeout",
            f"{spec.resource_id} ({spec.label}): no answer within "
            f"{ctx.connect_timeout:g}s to connect and {ctx.command_timeout:g}s for the command",
        )

    def close(self) -> None:
        """Close every connection and stop the pool."""
        self._closed = True
        for session in list(self._sessions.values()):
            transport = session.transport
            if transport is not None:
                transport.close()  # ends any poll still running
        self._pool.shutdown(wait=True, cancel_futures=True)
        for session in list(self._sessions.values()):
            session.close()
        self._sessions.clear()
        if self.jump is not None:
            self.jump.close()


@source("ssh")
def build(config: Config) -> SshCollector | None:
    cfg = config.collect.ssh
    return SshCollector(SshSettings.from_config(cfg, config.config_dir)) if cfg.enabled else None


# ---- one command on one host ---------------------------------------------------------------------


@dataclass(frozen=True)
class CommandResult:
    exit_status: int  # -1 when the server sent none (the command was killed by a signal)
    stdout: bytes
    stderr: bytes


def run_command(
    settings: SshSettings,
    address: str,
    user: str,
    command: str,
    stdin: bytes = b"",
    timeout: float | None = None,
    output_limit: int = OUTPUT_LIMIT,
) -> CommandResult:
    """Run one command on a host over a connection of its own, with collect.ssh's key, known_hosts policy
    and jump host, as the collector connects; for jobs that run a command now and then (the backups job
    runs restic), not every minute. `stdin` is written to the command and then closed (a secret given this
    way is on no command line); stdout and stderr are read separately, each up to `output_limit` bytes.

    `address` is host, host:port or [v6]:port (collect.ssh.port by default); `user` empty is
    collect.ssh.user; `timeout` (default collect.ssh.command_timeout) bounds the command after the login,
    which has collect.ssh.connect_timeout. Raises SshError (kind one of sources.ERROR_KINDS, the reason
    without the host) for every failure to connect, log in or finish in time; a command that ran and
    failed is a CommandResult with its exit status.
    """
    try:
        host, port = parse_address(address, settings.port)
    except ValueError as exc:
        raise SshError("config", str(exc)) from None
    spec = HostSpec(address, host, port, user or settings.user)
    known_hosts = KnownHosts(settings.known_hosts, settings.host_key_policy)
    try:
        known_hosts.refresh()
    except OSError as exc:
        raise SshError(
            "config", f"cannot read known_hosts {settings.known_hosts}: {exc.strerror or exc}"
        ) from None
    credentials = Credentials(settings.key_file, settings.passphrase, settings.home)
    credentials.refresh()
    jump: JumpHost | None = None
    if settings.jump_host:
        try:
            jump = JumpHost(*parse_jump_host(settings.jump_host, settings.user))
        except ValueError as exc:
            raise SshError("config", f"collect.ssh.jump_host: {exc}") from None
    command_timeout = settings.command_timeout if timeout is None else timeout
    ctx = CycleContext(
        cycle=0,
        connect_timeout=settings.connect_timeout,
        command_timeout=command_timeout,
        known_hosts=known_hosts,
        credentials=credentials,
        jump=jump,
    )
    session = HostSession(spec)
    # paramiko waits for some replies without a timeout (exec_command's answer): past every deadline, a
    # timer closes the connection, which ends such a wait.
    overran = threading.Event()

    def watchdog() -> None:
        overran.set()
        transport = session.transport
        if transport is not None:
            transport.close()

    timer = threading.Timer(settings.connect_timeout + command_timeout + WATCHDOG_GRACE, watchdog)
    timer.daemon = True
    timer.start()
    try:
        session._connect(ctx)
        assert session.transport is not None
        return _exec(session.transport, command, stdin, command_timeout, output_limit)
    except SshError as exc:
        if overran.is_set() and exc.kind != "timeout":
            raise SshError("timeout", f"no answer within {command_timeout:g}s for the command") from None
        raise
    except (paramiko.SSHException, EOFError, OSError) as exc:
        if overran.is_set():
            raise SshError("timeout", f"no answer within {command_timeout:g}s for the command") from None
        raise SshError("unreachable", f"connection lost: {exc or type(exc).__name__}") from None
    finally:
        timer.cancel()
        session.close()
        if jump is not None:
            jump.close()


def _exec(
    transport: paramiko.Transport, command: str, stdin: bytes, timeout: float, output_limit: int
) -> CommandResult:
    deadline = time.monotonic() + timeout

    def remaining() -> float:
        return deadline - time.monotonic()

    try:
        chan = transport.open_session(timeout=max(0.1, remaining()))
    except paramiko.ChannelException as exc:
        raise SshError("unreachable", f"the server refused a session channel: {exc.text}") from None
    try:
        chan.settimeout(max(0.1, remaining()))
        chan.exec_command(command)
        if stdin:
            chan.sendall(stdin)
        chan.shutdown_write()  # the command reads EOF after stdin
        out, err = bytearray(), bytearray()

        def drain_stderr() -> None:
            while chan.recv_stderr_ready():
                err.extend(chan.recv_stderr(65536))

        while True:
            if remaining() <= 0:
                raise SshError("timeout", f"the command did not finish within {timeout:g}s")
            drain_stderr()
            # A short wait on stdout, so that stderr is drained while the command runs.
            chan.settimeout(min(0.2, max(0.01, remaining())))
            try:
                data = chan.recv(65536)
            except TimeoutError:
                data = None
            if data == b"":
                break  # the channel's EOF: all of stdout and stderr has arrived
            if data:
                out.extend(data)
            if len(out) > output_limit or len(err) > output_limit:
                raise SshError("parse", f"the command printed more than {output_limit} bytes")
        if not chan.status_event.wait(max(0.1, remaining())):
            raise SshError("timeout", f"the command did not finish within {timeout:g}s")
        drain_stderr()
        return CommandResult(chan.recv_exit_status(), bytes(out), bytes(err))
    except TimeoutError:
        raise SshError("timeout", f"the command did not finish within {timeout:g}s") from None
    finally:
        chan.close()
