"""The console's accounts, roles, logins and API tokens: the security core, without HTTP.

Passwords are hashed with Argon2id (argon2-cffi) and re-hashed at the next login when the parameters change.
A login is throttled per account name and per client address: `login_failures` failures within `lockout`
refuse that name or address for `lockout`, even with the right password. An unknown name goes the same way
as a known one (a dummy hash is verified), and no answer says whether a user exists. Every attempt is a row of
`auth_events`. API tokens are random 32-byte secrets of which only the sha256 is kept.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ops_watch.config import WebConfig
from ops_watch.core.log import get_logger
from ops_watch.core.timeutil import from_store, utcnow
from ops_watch.core.vocabulary import text
from ops_watch.store import Store, store_locked
from ops_watch.store.schema import ApiToken, AuthEvent, LoginSession, UserAccount

log = get_logger(__name__)

ROLES = ("viewer", "operator", "admin")  # each includes the rights of those before it
ROLE_ZH = {"viewer": "只读", "operator": "操作员", "admin": "管理员"}

# Argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): a login costs tens of milliseconds and
# 19 MiB while it runs, so a burst of logins does not blow the console's memory.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
PASSWORD_MAX = 1024  # longer is refused outright: no one types it, and hashing it is work for an attacker
NAME_RE = re.compile(r"[\w.@-]{1,64}")  # letters (Chinese too), digits, . _ @ -
TOKEN_PREFIX = "ow_"
TOUCH_EVERY = timedelta(minutes=1)  # last_used / last_seen written at most this often

# auth_events.detail of a failed login that counts towards a lockout (a refusal while locked does not).
WRONG_PASSWORD, UNKNOWN_USER, DISABLED, LOCKED = "wrong password", "unknown user", "disabled", "locked"
COUNTED = (WRONG_PASSWORD, UNKNOWN_USER, DISABLED)


class AccountError(Exception):
    """A refused account operation; `.zh` and `.en` say what is wrong and what to do."""

    def __init__(self, zh: str, en: str):
        self.zh, self.en = zh, en
        super().__init__(f"{zh} / {en}")

    def text(self, language: str) -> str:
        return text(language, self.zh, self.en)


class StoreBusy(Exception):
    """The store stayed locked (SQLite: another process writing) for all of store.busy_timeout_ms: nothing was
    written; try again in a moment."""

    zh = "存储正忙（守护进程正在写入），请稍后重试"
    en = "the store is busy (the daemon is writing): nothing was changed, try again in a moment"

    def __init__(self) -> None:
        super().__init__(f"{self.zh} / {self.en}")

    def text(self, language: str) -> str:
        return text(language, self.zh, self.en)


@contextmanager
def writing(store: Store) -> Iterator[Session]:
    """A session that writes: a store still locked after its busy timeout raises StoreBusy (not a traceback)."""
    try:
        with store.session() as s:
            yield s
    except Exception as exc:
        if store_locked(exc):
            raise StoreBusy() from None
        raise


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: str


@dataclass(frozen=True)
class LoginRefused:
    reason_zh: str
    reason_en: str
    locked_until: datetime | None

    def text(self, language: str) -> str:
        return text(language, self.reason_zh, self.reason_en)


BAD_CREDENTIALS = LoginRefused(
    "用户名或密码错误", "wrong user name or password (names and passwords are case-sensitive)", None
)


def role_allows(role: str, needed: str) -> bool:
    """Does `role` include the rights of `needed`? (admin ⊇ operator ⊇ viewer; an unknown role allows nothing)"""
    if role not in ROLES or needed not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(needed)


# --- passwords -------------------------------------------------------------------------------------------------


def _classes(password: str) -> int:
    kinds = {
        "lower" if ch.islower() else "upper" if ch.isupper() else "digit" if ch.isdigit() else "other"
        for ch in password
    }
    return len(kinds)


def password_problems(
    password: str, config: WebConfig, name: str = "", language: str | None = None
) -> list[str]:
    """What is wrong with a new password (empty: it is good). Each problem in `language`, or "zh / en"."""

    def say(zh: str, en: str) -> str:
        return text(language, zh, en) if language else f"{zh} / {en}"

    problems = []
    if len(password) < config.password_min_length:
        problems.append(
            say(
                f"密码太短：至少 {config.password_min_length} 个字符",
                f"the password is too short: use at least {config.password_min_length} characters",
            )
        )
    if len(password) > PASSWORD_MAX:
        problems.append(
            say(f"密码太长：最多 {PASSWORD_MAX} 个字符", f"the password is longer than {PASSWORD_MAX}")
        )
    if _classes(password) < config.password_classes:
        problems.append(
            say(
                f"密码需包含小写字母、大写字母、数字、其他字符中的至少 {config.password_classes} 类",
                f"the password needs characters of at least {config.password_classes} of these kinds: "
                "lower case, upper case, digits, others",
            )
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in password):
        problems.append(say("密码不能包含控制字符", "the password must not contain control characters"))
    if len(name) >= 2 and name.casefold() in password.casefold():
        problems.append(say("密码不能包含用户名", "the password must not contain the user name"))
    return problems


def _hash(password: str) -> str:
    return HASHER.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    """A hash of nothing anyone knows, verified for an unknown name so that it costs what a known one does."""
    if not _DUMMY:
        _DUMMY.append(_hash(secrets.token_urlsafe(16)))
    return _DUMMY[0]


# --- users -----------------------------------------------------------------------------------------------------


def check_name(name: str, what_zh: str = "用户名", what_en: str = "user name") -> None:
    if not NAME_RE.fullmatch(name):
        raise AccountError(
            f"{what_zh} {name!r} 不可用：1–64 个字母、汉字、数字或 . _ @ -",
            f"{what_en} {name!r} is not allowed: use 1–64 letters, digits or . _ @ -",
        )


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(
            f"没有角色 {role!r}：可用 {', '.join(ROLES)}",
            f"there is no role {role!r}: use one of {', '.join(ROLES)}",
        )


def _policy(password: str, config: WebConfig, name: str) -> None:
    problems = password_problems(password, config, name)
    if problems:
        raise AccountError(
            "；".join(p.split(" / ", 1)[0] for p in problems),
            "; ".join(p.split(" / ", 1)[1] for p in problems),
        )


def _user(s: Session, name: str) -> UserAccount:
    user = s.scalar(select(UserAccount).where(UserAccount.name == name))
    if user is None:
        raise AccountError(
            f"没有用户 {name!r}（ops-watch users list 列出全部）",
            f"there is no user {name!r} (ops-watch users list shows them all)",
        )
    return user


def add_event(
    s: Session, action: str, *, user: str, address: str, ok: bool, detail: str = "", at: datetime
) -> None:
    """One row of the audit trail, inside the caller's transaction (sessions.record writes one on its own)."""
    s.add(
        AuthEvent(at=at, user_name=user[:128], action=action[:32], address=address[:64], detail=detail, ok=ok)
    )


def end_sessions(s: Session, user_id: int) -> int:
    """Delete every console session of a user (disabled, or the password changed); how many there were."""
    return s.execute(delete(LoginSession).where(LoginSession.user_id == user_id)).rowcount or 0


def add_user(
    store: Store,
    config: WebConfig,
    name: str,
    password: str,
    role: str,
    *,
    by: str = "cli",
    address: str = "local",
    at: datetime | None = None,
) -> int:
    """A new account; its id. Refused (AccountError): a bad name or role, a weak password, a name taken."""
    check_name(name)
    _check_role(role)
    _policy(password, config, name)
    at = at or utcnow()
    password_hash = _hash(password)
    try:
        with writing(store) as s:
            user = UserAccount(
                name=name,
                password_hash=password_hash,
                role=role,
                disabled=False,
                created_at=at,
                password_changed_at=at,
            )
            s.add(user)
            s.flush()
            add_event(s, "user_add", user=by, address=address, ok=True, detail=f"{name} ({role})", at=at)
            return user.id
    except IntegrityError:
        raise AccountError(f"用户 {name!r} 已存在", f"there is already a user {name!r}") from None


def set_password(
    store: Store,
    config: WebConfig,
    name: str,
    password: str,
    *,
    by: str = "cli",
    address: str = "local",
    at: datetime | None = None,
) -> None:
    """A new password (policy checked, not the current one); the user's sessions end."""
    _policy(password, config, name)
    at = at or utcnow()
    with store.session() as s:
        current = _user(s, name).password_hash
    if _verify(current, password):
        raise AccountError("新密码不能与当前密码相同", "the new password is the current one: choose another")
    password_hash = _hash(password)
    with writing(store) as s:
        user = _user(s, name)
        user.password_hash, user.password_changed_at = password_hash, at
        ended = end_sessions(s, user.id)
        add_event(
            s, "passwd", user=by, address=address, ok=True, detail=f"{name}; {ended} session(s) ended", at=at
        )


def set_role(
    store: Store, name: str, role: str, *, by: str = "cli", address: str = "local", at: datetime | None = None
) -> None:
    """Give a user another role (it applies at the user's next page: a session reads the role each time)."""
    _check_role(role)
    at = at or utcnow()
    with writing(store) as s:
        user = _user(s, name)
        before, user.role = user.role, role
        add_event(s, "role", user=by, address=address, ok=True, detail=f"{name}: {before} -> {role}", at=at)


def set_disabled(
    store: Store,
    name: str,
    disabled: bool,
    *,
    by: str = "cli",
    address: str = "local",
    at: datetime | None = None,
) -> None:
    """Disable (its sessions end at once, its logins are refused) or enable an account."""
    at = at or utcnow()
    with writing(store) as s:
        user = _user(s, name)
        user.disabled = disabled
        detail = name
        if disabled:
            detail += f"; {end_sessions(s, user.id)} session(s) ended"
        add_event(
            s, "disable" if disabled else "enable", user=by, address=address, ok=True, detail=detail, at=at
        )


def list_users(store: Store) -> list[dict[str, Any]]:
    """Every account: name, role, disabled, created_at, password_changed_at, last_login (None: never)."""
    last_login = (
        select(AuthEvent.user_name, func.max(AuthEvent.at).label("at"))
        .where(AuthEvent.action == "login", AuthEvent.ok.is_(True))
        .group_by(AuthEvent.user_name)
        .subquery()
    )
    with store.session() as s:
        rows = s.execute(
            select(UserAccount, last_login.c.at)
            .outerjoin(last_login, last_login.c.user_name == UserAccount.name)
            .order_by(UserAccount.name)
        ).all()
        return [
            {
                "name": u.name,
                "role": u.role,
                "disabled": u.disabled,
                "created_at": u.created_at,
                "password_changed_at": u.password_changed_at,
                "last_login": _aware(last),
            }
            for u, last in rows
        ]


def _aware(value: Any) -> datetime | None:
    """A max() over a UTCDateTime column comes back raw from SQLite (text or naive): make it aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return from_store(value)


def account_named(store: Store, name: str) -> Account | None:
    """The enabled account of this name, or None: for a user a trusted proxy's header names (single sign-on)."""
    if not NAME_RE.fullmatch(name):
        return None
    with store.session() as s:
        user = s.scalar(select(UserAccount).where(UserAccount.name == name))
        if user is None or user.disabled:
            return None
        return Account(user.id, user.name, user.role)


# --- logins ----------------------------------------------------------------------------------------------------


def _locked_until(s: Session, config: WebConfig, name: str, address: str, at: datetime) -> datetime | None:
    """When the name or the address may try again, if `login_failures` counted failures fell within `lockout`
    and the last of them is less than `lockout` ago. For the name, only failures since its last login count."""
    n, span = config.login_failures, config.lockout

    def until(*where: Any) -> datetime | None:
        times = s.scalars(
            select(AuthEvent.at)
            .where(
                AuthEvent.action == "login",
                AuthEvent.ok.is_(False),
                AuthEvent.detail.in_(COUNTED),
                AuthEvent.at > at - 2 * span,
                AuthEvent.at <= at,
                *where,
            )
            .order_by(AuthEvent.at.desc())
            .limit(n)
        ).all()
        if len(times) < n or times[0] - times[-1] > span or at >= times[0] + span:
            return None
        return times[0] + span

    last_ok = s.scalar(
        select(func.max(AuthEvent.id)).where(
            AuthEvent.action == "login", AuthEvent.ok.is_(True), AuthEvent.user_name == name
        )
    )
    by_name = until(AuthEvent.user_name == name, AuthEvent.id > (last_ok or 0))
    by_address = until(AuthEvent.address == address) if address else None
    found = [t for t in (by_name, by_address) if t is not None]
    return max(found) if found else None


def _locked(until: datetime, at: datetime) -> LoginRefused:
    minutes = max(1, -(-int((until - at).total_seconds()) // 60))
    return LoginRefused(
        f"登录失败次数过多，已暂时锁定：请 {minutes} 分钟后再试，或联系管理员",
        f"too many failed logins: locked for now, try again in {minutes} minute(s) or ask an admin",
        until,
    )


def login(
    store: Store, config: WebConfig, name: str, password: str, *, address: str, at: datetime
) -> Account | LoginRefused:
    """Check a name and password. Every attempt is recorded (auth_events: action "login", ok, the reason);
    a success is recorded by sessions.open_session. Raises StoreBusy when the attempt cannot be recorded."""
    name, address = name[:128], address[:64]
    with store.session() as s:
        locked = _locked_until(s, config, name, address, at)
        user = (
            s.scalar(select(UserAccount).where(UserAccount.name == name)) if NAME_RE.fullmatch(name) else None
        )
        found = (user.id, user.name, user.role, user.disabled, user.password_hash) if user else None

    def refuse(reason: str, answer: LoginRefused) -> LoginRefused:
        with writing(store) as s:
            add_event(s, "login", user=name, address=address, ok=False, detail=reason, at=at)
            if reason in COUNTED:
                s.flush()
                now_locked = _locked_until(s, config, name, address, at)
                if now_locked is not None:
                    answer = _locked(now_locked, at)
        return answer

    if locked is not None:
        return refuse(LOCKED, _locked(locked, at))
    if found is None or len(password) > PASSWORD_MAX:
        _verify(_dummy_hash(), password[:PASSWORD_MAX])
        return refuse(UNKNOWN_USER if found is None else WRONG_PASSWORD, BAD_CREDENTIALS)
    user_id, user_name, role, disabled, password_hash = found
    if not _verify(password_hash, password):
        return refuse(WRONG_PASSWORD, BAD_CREDENTIALS)
    if disabled:  # said only to whoever knows the password
        return refuse(
            DISABLED,
            LoginRefused(
                "该账号已停用：请联系管理员", "this account is disabled: ask an admin to enable it", None
            ),
        )
    if HASHER.check_needs_rehash(password_hash):
        try:
            with writing(store) as s:
                s.execute(
                    update(UserAccount).where(UserAccount.id == user_id).values(password_hash=_hash(password))
                )
        except StoreBusy:
            log.warning("password not re-hashed: the store is busy; next login", user=user_name)
    return Account(user_id, user_name, role)


# --- API tokens ------------------------------------------------------------------------------------------------


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(
    store: Store, name: str, role: str, *, by: str = "cli", address: str = "local", at: datetime | None = None
) -> str:
    """A new bearer token for the JSON API; returns its secret, which is shown once and never kept."""
    check_name(name, "令牌名", "token name")
    _check_role(role)
    at = at or utcnow()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        with writing(store) as s:
            s.add(ApiToken(name=name, token_sha256=_sha256(secret), role=role, created_at=at, revoked=False))
            add_event(s, "token_create", user=by, address=address, ok=True, detail=f"{name} ({role})", at=at)
    except IntegrityError:
        raise AccountError(
            f"令牌名 {name!r} 已被使用（包括已吊销的令牌）：换一个名字",
            f"there is already a token named {name!r} (revoked ones keep their names): choose another name",
        ) from None
    return secret


def token_account(store: Store, secret: str, at: datetime) -> Account | None:
    """The account of a valid, unrevoked token ("token:NAME", its role), or None. last_used is updated (at most
    once a minute, and skipped when the store is busy: the API only reads)."""
    if not secret or len(secret) > 200:
        return None
    with store.session() as s:
        token = s.scalar(select(ApiToken).where(ApiToken.token_sha256 == _sha256(secret)))
        if token is None or token.revoked:
            return None
        account = Account(token.id, f"token:{token.name}", token.role)
        stale = token.last_used is None or at - token.last_used >= TOUCH_EVERY
    if stale:
        try:
            with writing(store) as s:
                s.execute(update(ApiToken).where(ApiToken.id == account.id).values(last_used=at))
        except StoreBusy:
            log.info("token last_used not updated: the store is busy", token=account.name)
    return account


def revoke_token(
    store: Store, name: str, *, by: str = "cli", address: str = "local", at: datetime | None = None
) -> None:
    """Revoke a token: it is refused from its next request. Its name stays taken (the audit trail names it)."""
    at = at or utcnow()
    with writing(store) as s:
        token = s.scalar(select(ApiToken).where(ApiToken.name == name))
        if token is None:
            raise AccountError(
                f"没有令牌 {name!r}（ops-watch tokens list 列出全部）",
                f"there is no token {name!r} (ops-watch tokens list shows them all)",
            )
        token.revoked = True
        add_event(s, "token_revoke", user=by, address=address, ok=True, detail=name, at=at)


def list_tokens(store: Store) -> list[dict[str, Any]]:
    """Every token: name, role, created_at, last_used, revoked (never the secret, which is not kept)."""
    with store.session() as s:
        return [
            {
                "name": t.name,
                "role": t.role,
                "created_at": t.created_at,
                "last_used": t.last_used,
                "revoked": t.revoked,
            }
            for t in s.scalars(select(ApiToken).order_by(ApiToken.name))
        ]
