"""The `backups` job: read the snapshots of every polled restic repository and store them as backup runs.

For each `[[backups.restic]]` entry with `poll = true`, restic runs once, locally (a child process, no
shell) or over SSH when `host` is set (one command on a connection of its own, with the [collect.ssh] key,
known_hosts policy and jump host):

    <command> [-r <repository>] --no-lock --no-cache --quiet --json snapshots [--host <snapshot_host>] [--tag a,b]

--no-lock: a read never waits for, nor blocks, a backup or prune holding the repository's lock.
--no-cache: nothing is written to the cache of the user restic runs as (the snapshot list is small).
--quiet: restic 0.14 otherwise prints "reading repository password from stdin" on stdout, before the JSON.
--tag a,b: only snapshots with all of `tags`, as the file format filters them.

The repository password (password_file / password_env) is written to restic's stdin, never put on a command
line or in an environment visible to other users, and never logged: restic reads it from stdin when stdin is
not a terminal, which it never is here. Without a configured password stdin is empty, and restic must find
one in its own environment (RESTIC_PASSWORD_FILE, RESTIC_PASSWORD_COMMAND) where it runs. Locally, the
child does not inherit ops-watch's RESTIC_PASSWORD* variables when a password is configured (they would win
over stdin), nor RESTIC_REPOSITORY* when `repository` is set.

The JSON goes through the same `snapshot_rows` as a dropped file (ops_watch.formats.restic), and the rows
are stored as one batch of kind backup (source "restic:<name>"). Every poll reads every snapshot; runs
already stored (by an earlier poll or a dropped file) are counted as duplicates by their dedupe key, so no
poll state is kept. Each repository's outcome is recorded in collection_status (source "restic", target
the repository's name); one failing never stops the others.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ops_watch.areas.continuity import kind_backup as backup
from ops_watch.collect import record_statuses
from ops_watch.config import Config, ResticRepository
from ops_watch.core.log import get_logger, redact_text
from ops_watch.core.timeutil import utcnow
from ops_watch.formats.restic import FORMAT_NAME, snapshot_rows, snapshots_of
from ops_watch.formats.tabular import SourceRow
from ops_watch.formats.vendor import BACKUP_HEADER, VendorContext
from ops_watch.polled import PollError, store_rows
from ops_watch.sources import TargetStatus
from ops_watch.sources.ssh import SshError, SshSettings, run_command
from ops_watch.store import Store

log = get_logger(__name__)

SOURCE = "restic"
MAX_OUTPUT = 256 * 1024 * 1024  # the JSON of ~500,000 snapshots; more is not a snapshot list
PASSWORD_ENV = ("RESTIC_PASSWORD", "RESTIC_PASSWORD_FILE", "RESTIC_PASSWORD_COMMAND")
REPOSITORY_ENV = ("RESTIC_REPOSITORY", "RESTIC_REPOSITORY_FILE")
REPOSITORIES_KEY = "backups.restic"
_URL_PASSWORD = re.compile(r"(://[^/@:\s]*:)[^/@\s]+@")  # rest:https://user:pass@host/ and the like
_NETWORK_WORDS = (
    "connection refused",
    "dial tcp",
    "no such host",
    "i/o timeout",
    "network is unreachable",
    "no route to host",
    "connection reset",
    "tls handshake timeout",
    "ssh: connect to host",
    "ssh command exited",
)


@dataclass(frozen=True)
class Ran:
    """What restic did: its exit status and output."""

    exit_status: int
    stdout: bytes
    stderr: bytes


def shown_repository(text: str) -> str:
    """A repository location fit for messages: a password in a URL (rest:https://u:p@h/) masked."""
    return _URL_PASSWORD.sub(r"\1***@", text)


def _scrub(text: str, password: str) -> str:
    if password:
        text = text.replace(password, "***")
    return redact_text(shown_repository(text))


def restic_argv(repo: ResticRepository) -> list[str]:
    """The command line (no password on it). `command` is split as a shell would split it, so it may be
    a path with arguments ("sudo -n -u backup /usr/bin/restic"); no shell runs it locally."""
    try:
        argv = shlex.split(repo.command)
    except ValueError as exc:
        raise PollError("config", f"command {repo.command!r} cannot be split into words: {exc}") from None
    if not argv:
        raise PollError("config", "command is empty: set it to restic's path")
    if repo.repository:
        argv += ["-r", repo.repository]
    argv += ["--no-lock", "--no-cache", "--quiet", "--json", "snapshots"]
    if repo.snapshot_host:
        argv += ["--host", repo.snapshot_host]
    if repo.tags:
        argv += ["--tag", ",".join(repo.tags)]
    return argv


def where(repo: ResticRepository, config: Config) -> str:
    """Where restic runs, as messages name it: "local", or user@host."""
    if not repo.host:
        return "local"
    return f"{repo.user or config.collect.ssh.user}@{repo.host}"


# ---- running restic ------------------------------------------------------------------------------


def run_local(repo: ResticRepository, argv: list[str], password: str) -> Ran:
    env = dict(os.environ)
    if password:  # the configured password, on stdin, must be the one restic uses
        for name in PASSWORD_ENV:
            env.pop(name, None)
    if repo.repository:  # -r with RESTIC_REPOSITORY_FILE set is an error to restic
        for name in REPOSITORY_ENV:
            env.pop(name, None)
    timeout = repo.timeout.total_seconds()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,  # its own process group: a timeout ends restic and any ssh/rclone it ran
        )
    except FileNotFoundError:
        raise PollError(
            "config",
            f"{argv[0]} not found: install restic on this host, or set command to restic's absolute path",
        ) from None
    except OSError as exc:
        raise PollError("config", f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    try:
        out, err = proc.communicate(input=(password + "\n").encode() if password else b"", timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        raise PollError("timeout", f"restic did not finish within {timeout:g}s (timeout)") from None
    return Ran(proc.returncode, out, err)


def run_remote(repo: ResticRepository, argv: list[str], password: str, config: Config) -> Ran:
    settings = SshSettings.from_config(config.collect.ssh, config.config_dir)
    try:
        done = run_command(
            settings,
            repo.host,
            repo.user,
            shlex.join(argv),
            stdin=(password + "\n").encode() if password else b"",
            timeout=repo.timeout.total_seconds(),
            output_limit=MAX_OUTPUT,
        )
    except SshError as exc:
        raise PollError(exc.kind, exc.reason) from None
    return Ran(done.exit_status, done.stdout, done.stderr)


# ---- what restic said ---------------------------------------------------------------------------


def restic_messages(stderr: bytes) -> list[str]:
    """restic's error lines, "Fatal: " dropped; restic ≥ 0.17 with --json writes them as
    {"message_type": "exit_error", "message": …} lines, which are unwrapped."""
    lines = []
    for raw in stderr.decode("utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                message = json.loads(line)
            except ValueError:
                message = None
            if isinstance(message, dict) and isinstance(message.get("message"), str):
                line = message["message"].strip()
        lines.append(line.removeprefix("Fatal: "))
    return lines


def failure(ran: Ran, repo: ResticRepository, argv0: str, remote: bool) -> PollError:
    """A PollError for restic's non-zero exit, of the kind its message says."""
    lines = restic_messages(ran.stderr)
    said = " / ".join(lines)[-600:] or f"no message (exit status {ran.exit_status})"
    text = said.lower()
    location = shown_repository(repo.repository) or "RESTIC_REPOSITORY"
    if ran.exit_status == 127 or "command not found" in text or text.endswith(": not found"):
        on = "on that host (an SSH command gets a short PATH)" if remote else "on this host"
        return PollError(
            "config", f"{argv0} not found {on}: install restic, or set command to its absolute path ({said})"
        )
    if ran.exit_status == 126:
        return PollError("config", f"{argv0} cannot be run: {said}")
    if "wrong password" in text or ran.exit_status == 12:
        return PollError(
            "auth",
            f"restic refused the password of repository {location} ({said}): check password_file / "
            f"password_env of this [[{REPOSITORIES_KEY}]] entry",
        )
    if "empty password" in text or "resolving password failed" in text:
        return PollError(
            "config",
            f"restic has no password for repository {location} ({said}): set password_file or password_env "
            f"of this [[{REPOSITORIES_KEY}]] entry",
        )
    if "specify repository location" in text:
        return PollError(
            "config",
            f"no repository given ({said}): set repository of this [[{REPOSITORIES_KEY}]] entry, or "
            "RESTIC_REPOSITORY where restic runs",
        )
    if any(word in text for word in _NETWORK_WORDS):
        return PollError("unreachable", f"restic cannot reach repository {location}: {said}")
    if "is there a repository" in text or "repository does not exist" in text or ran.exit_status == 10:
        return PollError(
            "config",
            f"there is no restic repository at {location} ({said}): check repository of this "
            f"[[{REPOSITORIES_KEY}]] entry",
        )
    if "permission denied" in text:
        return PollError(
            "config", f"restic may not read repository {location} as this user ({said}): check its owner"
        )
    return PollError("config", f"restic failed (exit status {ran.exit_status}): {said}")


def parse_snapshots(stdout: bytes) -> list[Any]:
    """The snapshots of `restic snapshots --json` output; PollError("parse") when it is not that."""
    text = stdout.decode("utf-8", errors="replace").strip()
    if not text:
        raise PollError("parse", "restic printed nothing on stdout (expected the JSON list of snapshots)")
    try:
        document = json.loads(text)
    except ValueError:
        # A restic or wrapper that printed a line before the JSON: read from the first line that starts it.
        lines = text.splitlines()
        start = next((n for n, line in enumerate(lines) if line.lstrip().startswith("[")), None)
        document = None
        if start is not None:
            try:
                document = json.loads("\n".join(lines[start:]))
            except ValueError:
                document = None
        if document is None:
            shown = text[:200] + ("…" if len(text) > 200 else "")
            raise PollError("parse", f"restic's output is not JSON: {shown!r}") from None
    if not isinstance(document, list):
        raise PollError(
            "parse", f"restic's output is a JSON {type(document).__name__}, not a list of snapshots"
        )
    return snapshots_of(document)


def read_snapshots(repo: ResticRepository, config: Config) -> list[Any]:
    """The repository's snapshots; raises PollError, whose message never holds the password."""
    try:
        password = repo.secret(config.config_dir).get_secret_value()
    except ValueError as exc:
        raise PollError("config", f"cannot read the repository password: {exc}") from None
    if "\n" in password or "\r" in password:
        raise PollError("config", "the repository password holds a line break: restic reads one line")
    argv = restic_argv(repo)
    try:
        ran = run_remote(repo, argv, password, config) if repo.host else run_local(repo, argv, password)
        if ran.exit_status != 0:
            raise failure(ran, repo, argv[0], remote=bool(repo.host))
        return parse_snapshots(ran.stdout)
    except PollError as exc:
        raise PollError(exc.kind, _scrub(str(exc), password)) from None


# ---- the job --------------------------------------------------------------------------------------


def poll_backups(store: Store, config: Config, now: datetime | None = None) -> dict[str, Any]:
    """Read every polled restic repository once. A failing repository is recorded; the others still run."""
    now = now or utcnow()
    counts: dict[str, Any] = {"repositories": 0, "runs": 0, "duplicate": 0, "bad": 0, "failed": 0}
    for repo in config.backups.restic:
        if not repo.poll:
            continue
        counts["repositories"] += 1
        label = f"restic repository {repo.name!r} ({where(repo, config)})"
        ctx = VendorContext(
            config=config,
            detail={
                "format": FORMAT_NAME,
                "repository": repo.name,
                "location": shown_repository(repo.repository),
                "where": where(repo, config),
            },
        )
        rows: list[SourceRow] | None = None
        try:
            snapshots = read_snapshots(repo, config)
            ctx.detail["snapshots"] = len(snapshots)
            rows = list(snapshot_rows(snapshots, repo, ctx))
        except PollError as exc:
            status = TargetStatus(repo.name, False, exc.kind, f"{label}: {exc}")
        except Exception as exc:  # a surprise must not stop the other repositories
            log.error("backup poll failed unexpectedly", repository=repo.name, error=str(exc), exc_info=True)
            status = TargetStatus(repo.name, False, "config", f"{label}: {type(exc).__name__}: {exc}")
        else:
            status = TargetStatus(repo.name, True)
        with store.session() as session:
            if rows is not None:
                _, stored = store_rows(
                    session,
                    config,
                    backup.KIND,
                    BACKUP_HEADER,
                    f"{SOURCE}:{repo.name}",
                    rows,
                    now,
                    ctx.detail,
                )
                counts["runs"] += stored.ok
                counts["duplicate"] += stored.duplicate
                counts["bad"] += stored.bad
            else:
                counts["failed"] += 1
                log.warning(
                    "backup poll failed", repository=repo.name, kind=status.error_kind, error=status.error
                )
            record_statuses(session, SOURCE, [status], now)
    return counts


__all__ = [
    "SOURCE",
    "failure",
    "parse_snapshots",
    "poll_backups",
    "read_snapshots",
    "restic_argv",
    "restic_messages",
    "shown_repository",
]
