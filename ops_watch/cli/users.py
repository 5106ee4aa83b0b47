"""`ops-watch users` and `ops-watch tokens`: the web console's accounts and the JSON API's bearer tokens.

A password is read twice from the terminal (never echoed), from --password-file, or from standard input when
it is not a terminal (one line). Every change is recorded in the console's audit trail (`users events`) as
done by `cli:<login name>`.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ops_watch.cli.common import EXIT_CONFIG, command, fail, format_option, runtime, say, show
from ops_watch.cli.ranges import range_options, site_day_range
from ops_watch.core.timeutil import format_local
from ops_watch.runtime import Runtime

if TYPE_CHECKING:
    from ops_watch.web.accounts import AccountError, StoreBusy

ROLES = ("viewer", "operator", "admin")  # ops_watch.web.accounts.ROLES (not imported at start: see _accounts)

password_file_option = click.option(
    "--password-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="从此文件第一行读取密码（否则：输入两次，或读标准输入的一行） / Read the password from the first line of this file (else: asked twice, or one line of stdin).",
)


def _accounts() -> Any:
    # start-up: argon2 and the console's modules only for these commands, never in the daemon
    from ops_watch.web import accounts

    return accounts


def _sessions() -> Any:
    # start-up: as _accounts
    from ops_watch.web import sessions

    return sessions


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _read_password(password_file: Path | None) -> str:
    if password_file is not None:
        try:
            lines = password_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"--password-file: cannot read {password_file}: {exc}", EXIT_CONFIG)
        if not lines or not lines[0]:
            fail(f"--password-file: {password_file} is empty (the password is its first line)", EXIT_CONFIG)
        return lines[0]
    if sys.stdin.isatty():
        first = getpass.getpass("密码 / password: ")
        if getpass.getpass("再次输入 / again: ") != first:
            fail("两次输入的密码不一致 / the two passwords differ: nothing was changed", EXIT_CONFIG)
        return first
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        fail("no password on standard input (give one line, or --password-file)", EXIT_CONFIG)
    return line


def _new_password(rt: Runtime, name: str, password_file: Path | None) -> str:
    password = _read_password(password_file)
    problems = _accounts().password_problems(password, rt.config.web, name, rt.config.language)
    if problems:
        fail("\n".join(problems), EXIT_CONFIG)
    return password


def _refused(rt: Runtime, exc: AccountError | StoreBusy) -> None:
    fail(exc.text(rt.config.language))


def _times(rt: Runtime, fmt: str) -> Callable[[datetime | None], str | None]:
    if fmt == "table":
        return lambda value: format_local(value, rt.config.site.zone) if value else ""
    return lambda value: value.isoformat() if value else None


def _account_call(rt: Runtime, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    accounts = _accounts()
    try:
        return fn(*args, **kwargs)
    except (accounts.AccountError, accounts.StoreBusy) as exc:
        _refused(rt, exc)


@command
@click.group("users")
def users() -> None:
    """控制台账户 / The web console's accounts (roles: viewer reads; operator also acknowledges, silences, records
    inspections; admin also manages users and tokens)."""


@users.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    required=True,
    help="账户的角色（可做哪些操作） / What the account may do.",
)
@password_file_option
@click.pass_context
def users_add(ctx: click.Context, name: str, role: str, password_file: Path | None) -> None:
    """添加账户 / Add an account NAME with a password (policy: [web] password_min_length, password_classes)."""
    with runtime(ctx) as rt:
        accounts = _accounts()
        _account_call(rt, accounts.check_name, name)
        if any(u["name"] == name for u in accounts.list_users(rt.store)):
            fail(f"there is already a user {name!r}")
        password = _new_password(rt, name, password_file)
        _account_call(rt, accounts.add_user, rt.store, rt.config.web, name, password, role, by=_actor())
        say(f"已添加用户 {name}（{role}）", f"user {name} added ({role})")


@users.command("passwd")
@click.argument("name")
@password_file_option
@click.pass_context
def users_passwd(ctx: click.Context, name: str, password_file: Path | None) -> None:
    """修改账户密码 / Give NAME a new password; the user's open sessions end."""
    with runtime(ctx) as rt:
        accounts = _accounts()
        if not any(u["name"] == name for u in accounts.list_users(rt.store)):
            fail(f"there is no user {name!r} (ops-watch users list shows them all)")
        password = _new_password(rt, name, password_file)
        _account_call(rt, accounts.set_password, rt.store, rt.config.web, name, password, by=_actor())
        say(f"{name} 的密码已修改，其登录会话已结束", f"password of {name} changed; their sessions ended")


@users.command("disable")
@click.argument("name")
@click.pass_context
def users_disable(ctx: click.Context, name: str) -> None:
    """停用账户 / Disable NAME: their sessions end now and their logins are refused."""
    with runtime(ctx) as rt:
        _account_call(rt, _accounts().set_disabled, rt.store, name, True, by=_actor())
        say(f"用户 {name} 已停用", f"user {name} disabled")


@users.command("enable")
@click.argument("name")
@click.pass_context
def users_enable(ctx: click.Context, name: str) -> None:
    """重新启用账户 / Enable NAME again."""
    with runtime(ctx) as rt:
        _account_call(rt, _accounts().set_disabled, rt.store, name, False, by=_actor())
        say(f"用户 {name} 已启用", f"user {name} enabled")


@users.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
@click.pass_context
def users_role(ctx: click.Context, name: str, role: str) -> None:
    """更改账户角色 / Give NAME another ROLE (from their next page)."""
    with runtime(ctx) as rt:
        _account_call(rt, _accounts().set_role, rt.store, name, role, by=_actor())
        say(f"用户 {name} 的角色现为 {role}", f"user {name} is now {role}")


@users.command("list")
@format_option
@click.pass_context
def users_list(ctx: click.Context, fmt: str) -> None:
    """账户列表 / Every account: role, disabled, created, password changed, last login."""
    with runtime(ctx) as rt:
        local = _times(rt, fmt)
        rows = [
            {**u, **{k: local(u[k]) for k in ("created_at", "password_changed_at", "last_login")}}
            for u in _accounts().list_users(rt.store)
        ]
        columns = ["name", "role", "disabled", "created_at", "password_changed_at", "last_login"]
        show(rows, columns, fmt)


@users.command("events")
@click.option(
    "--limit", type=click.IntRange(1, 10_000), default=200, show_default=True, help="最新的 N 条 / Newest N."
)
@click.option(
    "--user",
    "user_name",
    help="只看此用户（或输入的登录名）的操作 / Only what this user (or a typed login name) did.",
)
@range_options("events")
@format_option
@click.pass_context
def users_events(
    ctx: click.Context,
    limit: int,
    user_name: str | None,
    from_text: str | None,
    to_text: str | None,
    fmt: str,
) -> None:
    """控制台审计记录（最新在前） / The console's audit trail, newest first: logins, logouts, failures, account changes and every write."""
    with runtime(ctx) as rt:
        local = _times(rt, fmt)
        start, end = site_day_range(from_text, to_text, rt.config.site.zone)
        events = _sessions().events(rt.store, limit, user_name, since=start, before=end)
        rows = [{**e, "at": local(e["at"])} for e in events]
        show(rows, ["at", "user", "action", "address", "ok", "detail"], fmt)


@command
@click.group("tokens")
def tokens() -> None:
    """API 令牌（只读 JSON 接口） / Bearer tokens of the console's read-only JSON API (/api/v1/)."""


@tokens.command("create")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="viewer",
    show_default=True,
    help="令牌的角色（随令牌记录；接口只读） / The token's role (kept with it; the API only reads).",
)
@click.pass_context
def tokens_create(ctx: click.Context, name: str, role: str) -> None:
    """创建令牌（密钥只显示一次） / Create a token NAME; its secret is printed once (only its hash is kept)."""
    with runtime(ctx) as rt:
        secret = _account_call(rt, _accounts().create_token, rt.store, name, role, by=_actor())
        click.echo(
            f"token {name} ({role}) created; its secret, shown only now (Authorization: Bearer …):", err=True
        )
        click.echo(secret)


@tokens.command("list")
@format_option
@click.pass_context
def tokens_list(ctx: click.Context, fmt: str) -> None:
    """令牌列表 / Every token: role, created, last used, revoked (never the secret)."""
    with runtime(ctx) as rt:
        local = _times(rt, fmt)
        rows = [
            {**t, "created_at": local(t["created_at"]), "last_used": local(t["last_used"])}
            for t in _accounts().list_tokens(rt.store)
        ]
        show(rows, ["name", "role", "created_at", "last_used", "revoked"], fmt)


@tokens.command("revoke")
@click.argument("name")
@click.pass_context
def tokens_revoke(ctx: click.Context, name: str) -> None:
    """吊销令牌 / Revoke the token NAME: refused from its next request."""
    with runtime(ctx) as rt:
        _account_call(rt, _accounts().revoke_token, rt.store, name, by=_actor())
        say(f"令牌 {name} 已吊销", f"token {name} revoked")
