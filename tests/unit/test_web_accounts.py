"""The console's accounts: password policy, Argon2id hashes, logins with their throttling, tokens (issue 18)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from ops_watch.config import WebConfig
from ops_watch.store import Store
from ops_watch.store.schema import ApiToken, AuthEvent, UserAccount
from ops_watch.web import accounts
from ops_watch.web.accounts import Account, AccountError, LoginRefused

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
GOOD = "Morning-Round-2026"
CONFIG = WebConfig()


def _hash_of(store: Store, name: str) -> str:
    with store.session() as s:
        return s.scalar(select(UserAccount.password_hash).where(UserAccount.name == name)) or ""


def _logins(store: Store) -> list[tuple[str, str, bool, str]]:
    with store.session() as s:
        rows = s.scalars(select(AuthEvent).where(AuthEvent.action == "login").order_by(AuthEvent.id)).all()
        return [(e.user_name, e.address, e.ok, e.detail) for e in rows]


# --- roles and policy ------------------------------------------------------------------------------------------


def test_each_role_includes_the_ones_before_it() -> None:
    assert accounts.ROLES == ("viewer", "operator", "admin")
    allowed = {(r, n) for r in accounts.ROLES for n in accounts.ROLES if accounts.role_allows(r, n)}
    assert allowed == {
        ("viewer", "viewer"),
        ("operator", "viewer"),
        ("operator", "operator"),
        ("admin", "viewer"),
        ("admin", "operator"),
        ("admin", "admin"),
    }
    assert not accounts.role_allows("root", "viewer")
    assert not accounts.role_allows("admin", "superuser")


def test_the_cli_offers_the_same_roles() -> None:
    from ops_watch.cli import users

    assert users.ROLES == accounts.ROLES


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("Morning-Round-2026", []),
        ("Sh0rt!", ["at least 12 characters"]),
        ("alllowercaseletters", ["at least 3 of these kinds"]),
        ("lowercase-and-digits-1", []),  # lower, other, digit: three classes
        ("Zhang.San-2026x", ["must not contain the user name"]),
        ("ZHANG.SAN-2026x", ["must not contain the user name"]),
        ("Tab\there-Is-1234", ["control characters"]),
        ("密码很长的中文口令Ab1", []),  # Chinese characters are a class of their own ("others")
    ],
)
def test_password_policy(password: str, expected: list[str]) -> None:
    problems = accounts.password_problems(password, CONFIG, "zhang.san", language="en")
    assert len(problems) == len(expected)
    for problem, words in zip(problems, expected, strict=True):
        assert words in problem


def test_policy_follows_the_config_and_speaks_both_languages() -> None:
    strict = WebConfig(password_min_length=20, password_classes=4)
    assert accounts.password_problems(GOOD, CONFIG) == []
    both = accounts.password_problems("morning-round-2026", strict)
    assert len(both) == 2
    assert "至少 20 个字符" in both[0] and "at least 20 characters" in both[0]
    assert "至少 4 类" in both[1] and "at least 4 of these kinds" in both[1]
    assert accounts.password_problems(GOOD, strict, language="zh") == ["密码太短：至少 20 个字符"]


def test_web_config_refuses_what_cannot_work() -> None:
    with pytest.raises(ValueError, match="both tls_cert and tls_key"):
        WebConfig(tls_cert="/etc/c.pem")
    with pytest.raises(ValueError, match="trusted_proxies is empty"):
        WebConfig(proxy_user_header="X-Remote-User")
    with pytest.raises(ValueError, match="not an IP address"):
        WebConfig(trusted_proxies=["proxy.example.org"])
    with pytest.raises(ValueError, match="host:port"):
        WebConfig(listen="8080")
    with pytest.raises(ValueError, match="idle_timeout is longer"):
        WebConfig(idle_timeout="2h", session_lifetime="1h")
    web = WebConfig(trusted_proxies=["10.0.0.0/24", "::1"], proxy_user_header="X-Remote-User")
    assert web.proxy_trusted("10.0.0.7") and web.proxy_trusted("::1")
    assert not web.proxy_trusted("10.0.1.7") and not web.proxy_trusted("not an address")


# --- users and hashes ------------------------------------------------------------------------------------------


def test_a_password_is_kept_as_an_argon2id_hash(store: Store) -> None:
    accounts.add_user(store, CONFIG, "zhang.san", GOOD, "operator", at=T0)
    stored = _hash_of(store, "zhang.san")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert GOOD not in stored
    assert accounts.login(store, CONFIG, "zhang.san", GOOD, address="10.0.0.1", at=T0) == Account(
        1, "zhang.san", "operator"
    )
    [user] = accounts.list_users(store)
    assert user["role"] == "operator" and user["disabled"] is False and user["created_at"] == T0


@pytest.mark.parametrize(
    ("name", "role", "password", "words"),
    [
        ("li si", "viewer", GOOD, "not allowed"),
        ("<script>", "viewer", GOOD, "not allowed"),
        ("lisi", "root", GOOD, "no role 'root'"),
        ("lisi", "viewer", "short", "too short"),
        ("lisi", "viewer", "lisi-Password-1", "user name"),
    ],
)
def test_bad_accounts_are_refused_in_both_languages(
    store: Store, name: str, role: str, password: str, words: str
) -> None:
    with pytest.raises(AccountError) as refused:
        accounts.add_user(store, CONFIG, name, password, role)
    assert words in refused.value.en
    assert refused.value.zh and refused.value.zh != refused.value.en
    assert accounts.list_users(store) == []


def test_a_name_is_taken_once(store: Store) -> None:
    accounts.add_user(store, CONFIG, "wang", GOOD, "viewer")
    with pytest.raises(AccountError, match="already a user 'wang'"):
        accounts.add_user(store, CONFIG, "wang", "Another-Good-Pass-1", "admin")


def test_an_old_hash_is_rehashed_at_the_next_login(store: Store) -> None:
    accounts.add_user(store, CONFIG, "zhao", GOOD, "viewer")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(GOOD)
    with store.session() as s:
        s.execute(update(UserAccount).where(UserAccount.name == "zhao").values(password_hash=weak))
    assert isinstance(accounts.login(store, CONFIG, "zhao", GOOD, address="10.0.0.1", at=T0), Account)
    rehashed = _hash_of(store, "zhao")
    assert rehashed != weak and rehashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert isinstance(accounts.login(store, CONFIG, "zhao", GOOD, address="10.0.0.1", at=T0), Account)


def test_a_new_password_replaces_the_old_one(store: Store) -> None:
    accounts.add_user(store, CONFIG, "qian", GOOD, "viewer", at=T0)
    with pytest.raises(AccountError, match="is the current one"):
        accounts.set_password(store, CONFIG, "qian", GOOD)
    with pytest.raises(AccountError, match="too short"):
        accounts.set_password(store, CONFIG, "qian", "Sh0rt!")
    with pytest.raises(AccountError, match="no user 'nobody'"):
        accounts.set_password(store, CONFIG, "nobody", "Evening-Round-2026")
    accounts.set_password(store, CONFIG, "qian", "Evening-Round-2026", at=T0 + timedelta(days=1))
    assert accounts.login(store, CONFIG, "qian", GOOD, address="a", at=T0) == accounts.BAD_CREDENTIALS
    assert isinstance(
        accounts.login(store, CONFIG, "qian", "Evening-Round-2026", address="a", at=T0), Account
    )
    assert accounts.list_users(store)[0]["password_changed_at"] == T0 + timedelta(days=1)


# --- logins ----------------------------------------------------------------------------------------------------


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(store: Store) -> None:
    accounts.add_user(store, CONFIG, "sun", GOOD, "viewer")
    accounts._DUMMY.clear()
    wrong = accounts.login(store, CONFIG, "sun", "Not-The-Password-1", address="10.0.0.1", at=T0)
    unknown = accounts.login(store, CONFIG, "nobody", GOOD, address="10.0.0.2", at=T0)
    assert wrong == unknown == accounts.BAD_CREDENTIALS
    assert accounts._DUMMY, "an unknown name verified the dummy hash, as a known one verifies its own"
    assert _logins(store) == [
        ("sun", "10.0.0.1", False, "wrong password"),
        ("nobody", "10.0.0.2", False, "unknown user"),
    ]


def test_failures_per_account_lock_it_for_the_lockout_even_with_the_right_password(store: Store) -> None:
    accounts.add_user(store, CONFIG, "zhou", GOOD, "operator")
    answers = [
        accounts.login(
            store, CONFIG, "zhou", f"Wrong-Guess-{i}", address=f"10.0.0.{i}", at=T0 + timedelta(minutes=i)
        )
        for i in range(5)
    ]
    assert answers[:4] == [accounts.BAD_CREDENTIALS] * 4
    last = T0 + timedelta(minutes=4)
    assert isinstance(answers[4], LoginRefused) and answers[4].locked_until == last + CONFIG.lockout
    during = accounts.login(store, CONFIG, "zhou", GOOD, address="10.9.9.9", at=last + timedelta(minutes=14))
    assert isinstance(during, LoginRefused) and during.locked_until == last + CONFIG.lockout
    assert "try again in 1 minute" in during.reason_en and "1 分钟后再试" in during.reason_zh
    # A refusal while locked does not count: the lock ends when it said it would.
    assert accounts.login(
        store, CONFIG, "zhou", GOOD, address="10.9.9.9", at=last + CONFIG.lockout
    ) == Account(1, "zhou", "operator")
    assert [e[3] for e in _logins(store)] == ["wrong password"] * 5 + ["locked"]


def test_failures_further_apart_than_the_lockout_do_not_lock(store: Store) -> None:
    accounts.add_user(store, CONFIG, "wu", GOOD, "viewer")
    for i in range(6):
        refused = accounts.login(
            store, CONFIG, "wu", "Wrong-Guess-1", address="a", at=T0 + i * timedelta(minutes=4)
        )
        assert refused == accounts.BAD_CREDENTIALS
    # Five failures within 15 minutes would lock; these are 4 minutes apart, so 4 fall in any 15 minutes.
    assert isinstance(
        accounts.login(store, CONFIG, "wu", GOOD, address="a", at=T0 + timedelta(minutes=21)), Account
    )


def test_a_login_clears_the_account_count_but_not_the_address_count(store: Store) -> None:
    accounts.add_user(store, CONFIG, "zheng", GOOD, "viewer")
    for i in range(4):
        accounts.login(
            store, CONFIG, "zheng", "Wrong-Guess-1", address=f"10.1.0.{i}", at=T0 + timedelta(seconds=i)
        )
    ok = accounts.login(store, CONFIG, "zheng", GOOD, address="10.2.0.1", at=T0 + timedelta(seconds=10))
    assert isinstance(ok, Account)
    with store.session() as s:  # what sessions.open_session records for a login
        accounts.add_event(
            s, "login", user="zheng", address="10.2.0.1", ok=True, at=T0 + timedelta(seconds=10)
        )
    for i in range(4):
        answer = accounts.login(
            store, CONFIG, "zheng", "Wrong-Guess-2", address=f"10.3.0.{i}", at=T0 + timedelta(seconds=20 + i)
        )
        assert answer == accounts.BAD_CREDENTIALS, "4 failures since the last login: not locked"
    assert isinstance(
        accounts.login(store, CONFIG, "zheng", GOOD, address="10.4.0.1", at=T0 + timedelta(seconds=30)),
        Account,
    )


def test_failures_from_one_address_lock_that_address_for_every_name(store: Store) -> None:
    for name in ("feng", "chen"):
        accounts.add_user(store, CONFIG, name, GOOD, "viewer")
    for i, name in enumerate(["feng", "x1", "x2", "x3", "x4"]):  # a spray: one guess per name
        accounts.login(
            store, CONFIG, name, "Wrong-Guess-1", address="203.0.113.9", at=T0 + timedelta(seconds=i)
        )
    refused = accounts.login(store, CONFIG, "chen", GOOD, address="203.0.113.9", at=T0 + timedelta(minutes=1))
    assert isinstance(refused, LoginRefused)
    assert refused.locked_until == T0 + timedelta(seconds=4) + CONFIG.lockout
    assert isinstance(
        accounts.login(store, CONFIG, "chen", GOOD, address="198.51.100.1", at=T0 + timedelta(minutes=1)),
        Account,
    )


def test_an_unknown_name_is_locked_like_a_known_one(store: Store) -> None:
    """The lock does not tell who exists: a name no one has is locked after the same failures."""
    for i in range(5):
        last = accounts.login(
            store, CONFIG, "ghost", "Wrong-Guess-1", address=f"a{i}", at=T0 + timedelta(seconds=i)
        )
    assert isinstance(last, LoginRefused) and last.locked_until is not None


def test_a_disabled_account_is_refused_and_says_so_only_to_who_knows_the_password(store: Store) -> None:
    accounts.add_user(store, CONFIG, "he", GOOD, "admin")
    accounts.set_disabled(store, "he", True)
    assert (
        accounts.login(store, CONFIG, "he", "Wrong-Guess-1", address="a", at=T0) == accounts.BAD_CREDENTIALS
    )
    refused = accounts.login(store, CONFIG, "he", GOOD, address="a", at=T0)
    assert (
        isinstance(refused, LoginRefused) and "disabled" in refused.reason_en and "停用" in refused.reason_zh
    )
    assert accounts.account_named(store, "he") is None
    accounts.set_disabled(store, "he", False)
    assert isinstance(accounts.login(store, CONFIG, "he", GOOD, address="a", at=T0), Account)
    assert accounts.account_named(store, "he") == Account(1, "he", "admin")
    assert [e[3] for e in _logins(store)] == ["wrong password", "disabled"]


def test_a_role_change_is_recorded(store: Store) -> None:
    accounts.add_user(store, CONFIG, "lin", GOOD, "viewer")
    accounts.set_role(store, "lin", "operator", by="cli:root")
    assert accounts.account_named(store, "lin") == Account(1, "lin", "operator")
    with pytest.raises(AccountError, match="no role"):
        accounts.set_role(store, "lin", "boss")
    with store.session() as s:
        actions = [
            (e.user_name, e.action, e.detail) for e in s.scalars(select(AuthEvent).order_by(AuthEvent.id))
        ]
    assert actions == [("cli", "user_add", "lin (viewer)"), ("cli:root", "role", "lin: viewer -> operator")]


# --- tokens ----------------------------------------------------------------------------------------------------


def test_tokens_are_kept_hashed_work_until_revoked_and_record_their_use(store: Store) -> None:
    secret = accounts.create_token(store, "zabbix", "viewer", at=T0)
    assert secret.startswith("ow_") and len(secret) > 40
    with store.session() as s:
        row = s.scalar(select(ApiToken))
        assert row is not None and secret not in (row.token_sha256, row.name)
    account = accounts.token_account(store, secret, T0 + timedelta(hours=1))
    assert account == Account(1, "token:zabbix", "viewer")
    assert accounts.token_account(store, secret + "x", T0) is None
    assert accounts.token_account(store, "", T0) is None
    [listed] = accounts.list_tokens(store)
    assert listed == {
        "name": "zabbix",
        "role": "viewer",
        "created_at": T0,
        "last_used": T0 + timedelta(hours=1),
        "revoked": False,
    }
    accounts.token_account(store, secret, T0 + timedelta(hours=1, seconds=30))  # within a minute: not written
    assert accounts.list_tokens(store)[0]["last_used"] == T0 + timedelta(hours=1)
    accounts.revoke_token(store, "zabbix")
    assert accounts.token_account(store, secret, T0 + timedelta(hours=2)) is None
    assert accounts.list_tokens(store)[0]["revoked"] is True
    with pytest.raises(AccountError, match="already a token named 'zabbix'"):
        accounts.create_token(store, "zabbix", "viewer")
    with pytest.raises(AccountError, match="no token 'grafana'"):
        accounts.revoke_token(store, "grafana")
    with pytest.raises(AccountError, match="no role"):
        accounts.create_token(store, "grafana", "god")
    other = accounts.create_token(store, "grafana", "operator")
    assert other != secret
    grafana = accounts.token_account(store, other, T0)
    assert grafana is not None and (grafana.name, grafana.role) == ("token:grafana", "operator")
