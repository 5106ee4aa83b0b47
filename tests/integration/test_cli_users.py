"""`ops-watch users` and `ops-watch tokens` on a real store through the CLI app (issue 18)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ops_watch.cli.app import main
from ops_watch.config import load_config
from ops_watch.store import open_store
from ops_watch.web import accounts, sessions
from ops_watch.web.accounts import Account

PASSWORD = "Morning-Round-2026"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ops(config_file: Callable[..., Path]) -> Callable[..., Result]:
    config = config_file()

    def run(*args: str, stdin: str | None = None) -> Result:
        return CliRunner().invoke(main, ["--config", str(config), *args], input=stdin)

    run.config = config  # type: ignore[attr-defined]
    return run


def _login(config: Path, name: str, password: str) -> object:
    cfg = load_config(config, check_secrets=False)
    store = open_store(cfg.store_url)
    try:
        return accounts.login(store, cfg.web, name, password, address="127.0.0.1", at=datetime.now(UTC))
    finally:
        store.dispose()


def test_add_list_disable_enable_and_the_audit_trail(ops: Callable[..., Result]) -> None:
    added = ops("users", "add", "zhang.san", "--role", "operator", stdin=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert "已添加用户 zhang.san（operator）" in added.output
    assert isinstance(_login(ops.config, "zhang.san", PASSWORD), Account)  # type: ignore[attr-defined]

    listed = ops("users", "list", "--format", "json")
    [user] = json.loads(listed.output)
    assert user["name"] == "zhang.san" and user["role"] == "operator" and user["disabled"] is False
    assert user["last_login"] is None and user["created_at"].endswith("+00:00")
    table = ops("users", "list")
    assert table.exit_code == 0 and "zhang.san" in table.output and "操作员" in table.output
    csv = ops("users", "list", "--format", "csv")
    assert (
        csv.output.lstrip("\ufeff").splitlines()[0]
        == "name,role,disabled,created_at,password_changed_at,last_login"
    )

    assert ops("users", "disable", "zhang.san").exit_code == 0
    refused = _login(ops.config, "zhang.san", PASSWORD)  # type: ignore[attr-defined]
    assert isinstance(refused, accounts.LoginRefused) and "disabled" in refused.reason_en
    assert json.loads(ops("users", "list", "--format", "json").output)[0]["disabled"] is True
    assert ops("users", "enable", "zhang.san").exit_code == 0
    assert ops("users", "role", "zhang.san", "admin").exit_code == 0

    events = json.loads(ops("users", "events", "--format", "json").output)
    assert [e["action"] for e in events] == ["role", "enable", "login", "disable", "user_add"]
    assert all(e["user"].startswith("cli") for e in events if e["action"] != "login")
    assert [
        e["action"] for e in json.loads(ops("users", "events", "--limit", "1", "--format", "json").output)
    ] == ["role"]
    mine = json.loads(ops("users", "events", "--user", "zhang.san", "--format", "json").output)
    assert [(e["action"], e["ok"], e["detail"]) for e in mine] == [("login", False, "disabled")]


def test_a_weak_or_unreadable_password_changes_nothing(ops: Callable[..., Result], tmp_path: Path) -> None:
    weak = ops("users", "add", "li", "--role", "viewer", stdin="short\n")
    assert weak.exit_code == 2
    assert "密码太短" in weak.output  # the site's language: Chinese by default
    empty = ops("users", "add", "li", "--role", "viewer", stdin="")
    assert empty.exit_code == 2 and "no password on standard input" in empty.output
    missing = ops("users", "add", "li", "--role", "viewer", "--password-file", str(tmp_path / "nope"))
    assert missing.exit_code == 2 and "cannot read" in missing.output
    bad_name = ops("users", "add", "<li>", "--role", "viewer", stdin=PASSWORD + "\n")
    assert bad_name.exit_code == 1 and "用户名" in bad_name.output
    bad_role = ops("users", "add", "li", "--role", "root", stdin=PASSWORD + "\n")
    assert bad_role.exit_code == 2 and "root" in bad_role.output
    assert json.loads(ops("users", "list", "--format", "json").output) == []


def test_passwd_from_a_file_ends_the_sessions(ops: Callable[..., Result], tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    assert ops("users", "add", "wang", "--role", "viewer", "--password-file", str(secret)).exit_code == 0
    account = _login(ops.config, "wang", PASSWORD)  # type: ignore[attr-defined]
    assert isinstance(account, Account)
    cfg = load_config(ops.config, check_secrets=False)  # type: ignore[attr-defined]
    store = open_store(cfg.store_url)
    try:
        now = datetime.now(UTC)
        cookie, _ = sessions.open_session(store, account, address="a", user_agent="", at=now)
        same = ops("users", "passwd", "wang", stdin=PASSWORD + "\n")
        assert same.exit_code == 1 and "当前密码" in same.output
        changed = ops("users", "passwd", "wang", stdin="Evening-Round-2026\n")
        assert changed.exit_code == 0, changed.output
        assert sessions.session_of(store, cfg.web, cookie, now) is None
    finally:
        store.dispose()
    assert isinstance(_login(ops.config, "wang", "Evening-Round-2026"), Account)  # type: ignore[attr-defined]
    unknown = ops("users", "passwd", "nobody", stdin="Evening-Round-2026\n")
    assert unknown.exit_code == 1 and "no user 'nobody'" in unknown.output
    again = ops("users", "add", "wang", "--role", "viewer", stdin="Another-Pass-2026\n")
    assert again.exit_code == 1 and "already a user 'wang'" in again.output


def test_tokens_create_list_revoke(ops: Callable[..., Result]) -> None:
    created = CliRunner().invoke(
        main,
        ["--config", str(ops.config), "tokens", "create", "zabbix"],  # type: ignore[attr-defined]
    )
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("ow_") and "\n" not in secret, "stdout is the secret alone (for a script)"
    assert "shown only now" in created.stderr
    cfg = load_config(ops.config, check_secrets=False)  # type: ignore[attr-defined]
    store = open_store(cfg.store_url)
    try:
        assert accounts.token_account(store, secret, datetime.now(UTC)) == Account(
            1, "token:zabbix", "viewer"
        )
        [token] = json.loads(ops("tokens", "list", "--format", "json").output)
        assert token["name"] == "zabbix" and token["role"] == "viewer" and token["last_used"] is not None
        assert secret not in ops("tokens", "list", "--format", "json").output
        assert ops("tokens", "revoke", "zabbix").exit_code == 0
        assert accounts.token_account(store, secret, datetime.now(UTC)) is None
    finally:
        store.dispose()
    unknown = ops("tokens", "revoke", "grafana")
    assert unknown.exit_code == 1 and "grafana" in unknown.output
    taken = ops("tokens", "create", "zabbix", "--role", "admin")
    assert taken.exit_code == 1 and "zabbix" in taken.output


def test_the_password_is_asked_twice_on_a_terminal(config_file: Callable[..., Path]) -> None:
    """A real terminal (a pty): getpass asks twice without echo; two different answers change nothing."""
    import pty

    config = config_file()

    def run(*answers: str) -> tuple[int, str]:
        pid, fd = pty.fork()
        if pid == 0:  # the child: ops-watch on the pty
            os.execv(
                sys.executable,
                [
                    sys.executable,
                    "-m",
                    "ops_watch",
                    "--config",
                    str(config),
                    "users",
                    "add",
                    "zhao",
                    "--role",
                    "admin",
                ],
            )
        output, pending = b"", list(zip((b"password: ", b"again: "), answers, strict=True))
        while True:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
            if pending and output.endswith(pending[0][0]):  # answer each prompt once it is shown
                os.write(fd, pending.pop(0)[1].encode() + b"\n")
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        return os.waitstatus_to_exitcode(status), output.decode(errors="replace")

    code, output = run(PASSWORD, "Something-Else-2026")
    assert code == 2 and "the two passwords differ" in output
    code, output = run(PASSWORD, PASSWORD)
    assert code == 0 and "已添加用户 zhao（admin）" in output
    assert PASSWORD not in output, "nothing typed is echoed"
    out = subprocess.run(
        [sys.executable, "-m", "ops_watch", "--config", str(config), "users", "list", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert [u["name"] for u in json.loads(out.stdout)] == ["zhao"]
