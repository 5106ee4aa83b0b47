"""Email alerts reach a real SMTP server (aiosmtpd on loopback): stored first, sent, retried, never lost.

Grouping and pacing have their own tests (test_alert_routing.py); here the route sends at once
(group_wait "0s") and the tests look at what the server receives: envelope, headers, bodies, TLS, AUTH,
and what the outbox row says when the server is down or refuses.
"""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alert_helpers import T0, add_finding, add_findings, outbox, set_status
from mailserver import MailServer, TlsFiles, make_tls, require_aiosmtpd

from ops_watch.config import Config, load_config
from ops_watch.notify.outbox import backoff, deliver_due, queue_finding_messages

RECIPIENTS = ["a@center.example", "b@center.example"]
SUMMARY = "「资源清单」已 25.0 小时没有新证据 <script>alert(1)</script>"


@pytest.fixture
def mail_server() -> Iterator[Callable[..., MailServer]]:
    """Factory: mail_server(security=..., tls=..., users=..., port=...) -> a started MailServer."""
    require_aiosmtpd()
    started: list[MailServer] = []

    def start(**kw: object) -> MailServer:
        server = MailServer(**kw).start()  # type: ignore[arg-type]
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def tls(tmp_path: Path) -> TlsFiles:
    return make_tls(tmp_path / "tls")


def smtp_config(
    config_file: Callable[..., Path],
    port: int,
    extra: str = "",
    name: str = "config.toml",
    max_attempts: int = 10,
    route: str = "",
) -> Config:
    """Email over SMTP to receiver "center" (not notify.email.recipients), told at once."""
    return load_config(
        config_file(
            f"""
[notify]
max_attempts = {max_attempts}
retry_base = "1m"
retry_cap = "4m"

[notify.email]
transport = "smtp"
host = "127.0.0.1"
port = {port}
timeout = "10s"
sender = "ops-watch@center.example"
recipients = ["fallback@center.example"]
{extra}

[[notify.receivers]]
name = "center"
email = {RECIPIENTS!r}

[notify.route]
receiver = "center"
group_wait = "0s"
group_interval = "1m"
{route}
""".replace("'", '"'),
            name=name,
        )
    )


def write_secret(tmp_path: Path, name: str, value: str) -> Path:
    path = tmp_path / name
    path.write_text(value + "\n", encoding="utf-8")  # an editor's trailing newline is not part of it
    path.chmod(0o600)
    return path


def reserved_port() -> socket.socket:
    """A port bound but not listening: connections to it are refused until the socket is closed."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    return s


# ---- what arrives ---------------------------------------------------------------------------------


def test_plain_smtp_delivers_the_group_to_its_receiver_and_it_parses_back_intact(
    store, config_file, mail_server
):
    server = mail_server()
    cfg = smtp_config(config_file, server.port)
    add_finding(store, summary=SUMMARY)
    assert queue_finding_messages(store, cfg, T0).queued == 1
    assert deliver_due(store, cfg, T0).sent == 1

    [got] = server.messages()
    [row] = outbox(store)
    assert got.mail_from == "ops-watch@center.example"
    assert got.rcpt_tos == RECIPIENTS  # the receiver's addresses, not notify.email.recipients
    assert not got.tls and got.login is None
    mail = got.message
    assert mail["To"] == ", ".join(RECIPIENTS)
    assert mail["Subject"] == f"[ops-watch][警告] {SUMMARY}"  # the Chinese subject decodes intact
    got.headers_raw.decode("ascii")  # encoded (RFC 2047) on the wire: any server takes it
    assert mail["Message-ID"] == row.message_id and row.message_id.startswith("<")
    assert mail["Date"].datetime == T0  # dated when it was written to the outbox
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert SUMMARY in text and "ops-watch findings ack" in text and "inventory-fresh" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert "资源清单" in html
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1
    assert deliver_due(store, cfg, T0 + timedelta(days=1)).sent == 0  # sent once, never again
    assert len(server.messages()) == 1


def test_a_groups_later_messages_thread_under_its_first(store, config_file, mail_server):
    server = mail_server()
    cfg = smtp_config(config_file, server.port)
    first = add_finding(store, summary="第一项")
    queue_finding_messages(store, cfg, T0)
    add_finding(store, summary="第二项", at=T0 + timedelta(minutes=1))
    assert queue_finding_messages(store, cfg, T0 + timedelta(minutes=1)).queued == 1  # group_interval 1m
    set_status(store, first, "resolved", T0 + timedelta(minutes=2))
    assert queue_finding_messages(store, cfg, T0 + timedelta(minutes=2)).queued == 1  # send_resolved
    assert deliver_due(store, cfg, T0 + timedelta(minutes=2)).sent == 3

    opened, added, resolved = (m.message for m in server.messages())
    assert opened["In-Reply-To"] is None and opened["References"] is None
    for later in (added, resolved):
        assert later["In-Reply-To"] == opened["Message-ID"]
        assert later["References"] == opened["Message-ID"]
    assert len({opened["Message-ID"], added["Message-ID"], resolved["Message-ID"]}) == 3
    assert "新增 1 项" in added["Subject"]
    assert "第二项" in added.get_body(("plain",)).get_content()
    assert "已解决 1 项" in resolved["Subject"] or "已解决：第一项" in resolved["Subject"]


# ---- TLS and AUTH ---------------------------------------------------------------------------------


def test_starttls_with_auth_from_a_password_file(store, config_file, mail_server, tls, tmp_path):
    password = "s3cret-pass-42"
    server = mail_server(security="starttls", tls=tls, users={"ops-watch": password})
    write_secret(tmp_path, "smtp.pass", password)
    cfg = smtp_config(
        config_file,
        server.port,
        f'security = "starttls"\nusername = "ops-watch"\npassword_file = "smtp.pass"\n'
        f'ca_file = "{tls.ca_file}"\n',
    )
    add_finding(store, summary=SUMMARY)
    queue_finding_messages(store, cfg, T0)
    result = deliver_due(store, cfg, T0)
    assert result.sent == 1, result.errors
    [got] = server.messages()
    assert got.tls and got.login == "ops-watch"
    assert got.rcpt_tos == RECIPIENTS
    assert got.message["Subject"] == f"[ops-watch][警告] {SUMMARY}"


def test_implicit_tls_with_auth(store, config_file, mail_server, tls, tmp_path):
    server = mail_server(security="tls", tls=tls, users={"ops-watch": "tls-pass-9"})
    write_secret(tmp_path, "smtp.pass", "tls-pass-9")
    # A relative ca_file is read next to the config file.
    (tmp_path / "center-ca.pem").write_bytes(tls.ca_file.read_bytes())
    cfg = smtp_config(
        config_file,
        server.port,
        'security = "tls"\nusername = "ops-watch"\npassword_file = "smtp.pass"\nca_file = "center-ca.pem"\n',
    )
    add_finding(store)
    queue_finding_messages(store, cfg, T0)
    result = deliver_due(store, cfg, T0)
    assert result.sent == 1, result.errors
    [got] = server.messages()
    assert got.tls and got.login == "ops-watch"


def test_a_wrong_password_keeps_the_message_pending_and_never_shows_the_password(
    store, config_file, mail_server, tls, tmp_path, capfd
):
    wrong = "wrong-pass-7731"
    server = mail_server(security="starttls", tls=tls, users={"ops-watch": "right-password"})
    write_secret(tmp_path, "smtp.pass", wrong)
    cfg = smtp_config(
        config_file,
        server.port,
        f'security = "starttls"\nusername = "ops-watch"\npassword_file = "smtp.pass"\n'
        f'ca_file = "{tls.ca_file}"\n',
    )
    add_finding(store)
    queue_finding_messages(store, cfg, T0)
    result = deliver_due(store, cfg, T0)
    assert (result.sent, result.failed) == (0, 1)
    assert server.logins_refused >= 1 and server.messages() == []
    [row] = outbox(store)
    assert row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at == T0 + timedelta(minutes=1)
    assert "login refused" in row.last_error and f"127.0.0.1:{server.port}" in row.last_error
    out, err = capfd.readouterr()
    for text in (row.last_error, *result.errors.values(), out, err):
        assert wrong not in text


def test_a_password_smtp_cannot_send_is_a_clear_error(store, config_file, mail_server, tls, tmp_path):
    # smtplib sends AUTH as ASCII only: a Chinese password can never log in, and the operator must be told
    # why (not a UnicodeEncodeError from deep inside smtplib), without the password itself.
    password = "口令-s3cret"
    server = mail_server(security="starttls", tls=tls, users={"ops-watch": password})
    write_secret(tmp_path, "smtp.pass", password)
    cfg = smtp_config(
        config_file,
        server.port,
        f'security = "starttls"\nusername = "ops-watch"\npassword_file = "smtp.pass"\n'
        f'ca_file = "{tls.ca_file}"\n',
    )
    add_finding(store)
    queue_finding_messages(store, cfg, T0)
    assert deliver_due(store, cfg, T0).failed == 1
    [row] = outbox(store)
    assert row.status == "pending" and password not in row.last_error
    assert "ASCII" in row.last_error and "UnicodeEncodeError" not in row.last_error, row.last_error


def test_an_untrusted_certificate_is_refused_unless_verify_tls_is_off(store, config_file, mail_server, tls):
    server = mail_server(security="tls", tls=tls)
    # No ca_file: the system's CAs do not know the test CA, so the server is not trusted.
    strict = smtp_config(config_file, server.port, 'security = "tls"\n')
    add_finding(store)
    queue_finding_messages(store, strict, T0)
    assert deliver_due(store, strict, T0).failed == 1
    [row] = outbox(store)
    assert row.status == "pending" and "CERTIFICATE_VERIFY_FAILED" in row.last_error
    assert server.messages() == []

    # The one place verification is turned off: the setting for a test server must work.
    lax = smtp_config(config_file, server.port, 'security = "tls"\nverify_tls = false\n', name="lax.toml")
    assert deliver_due(store, lax, T0 + timedelta(minutes=1)).sent == 1
    assert len(server.messages()) == 1


def test_a_ca_file_that_cannot_be_read_is_named_in_the_error(store, config_file, mail_server, tls, tmp_path):
    server = mail_server(security="tls", tls=tls)
    missing = tmp_path / "no-such-ca.pem"
    cfg = smtp_config(config_file, server.port, f'security = "tls"\nca_file = "{missing}"\n')
    add_finding(store)
    queue_finding_messages(store, cfg, T0)
    assert deliver_due(store, cfg, T0).failed == 1
    [row] = outbox(store)
    assert row.status == "pending"
    assert str(missing) in row.last_error, row.last_error  # the operator must learn which file to fix


# ---- a server that is down ------------------------------------------------------------------------


def test_smtp_down_then_up_backs_off_then_delivers_every_message_exactly_once(
    store, config_file, mail_server
):
    reserve = reserved_port()
    port = reserve.getsockname()[1]
    cfg = smtp_config(config_file, port)
    for area in ("evidence", "staffing", "resources"):  # three groups: three messages
        add_finding(store, area=area)
    assert queue_finding_messages(store, cfg, T0).queued == 3
    first, second, third = (r.id for r in outbox(store))

    def row(mid: int):
        return next(r for r in outbox(store) if r.id == mid)

    # Down: the first due message fails and the others of that receiver wait for the next pass.
    r = deliver_due(store, cfg, T0)
    assert (r.sent, r.failed) == (0, 1)
    assert "Connection refused" in row(first).last_error and f"127.0.0.1:{port}" in row(first).last_error
    assert row(second).attempts == 0 and row(third).attempts == 0
    retries = [row(first).next_attempt_at]
    for minutes in (1, 3, 7, 11):  # each pass exactly when the first message is due again
        if minutes == 3:
            # In between, the first is not due: it is not tried; the second (due since T0) is.
            deliver_due(store, cfg, T0 + timedelta(minutes=2))
            assert row(first).attempts == 2 and row(second).attempts == 1
        assert deliver_due(store, cfg, T0 + timedelta(minutes=minutes)).failed == 1
        retries.append(row(first).next_attempt_at)
    assert row(first).attempts == 5 and row(first).status == "pending"
    steps = [(b - a) / timedelta(minutes=1) for a, b in zip([T0, *retries], retries, strict=False)]
    assert steps == [1, 2, 4, 4, 4]  # 1m doubling, capped at 4m
    assert all(m.status == "pending" for m in outbox(store))

    # Up again on the same port: everything due goes, once.
    reserve.close()
    server = mail_server(port=port)
    r = deliver_due(store, cfg, T0 + timedelta(minutes=15))
    assert (r.sent, r.failed) == (3, 0)
    assert deliver_due(store, cfg, T0 + timedelta(days=1)).sent == 0
    received = [m.message["Message-ID"] for m in server.messages()]
    assert sorted(received) == sorted(m.message_id for m in outbox(store))
    assert len(received) == len(set(received)) == 3
    assert all(m.status == "sent" and m.sent_at is not None for m in outbox(store))


def test_a_message_failing_max_attempts_times_is_dead_and_kept(store, config_file, mail_server):
    reserve = reserved_port()
    port = reserve.getsockname()[1]
    cfg = smtp_config(config_file, port, max_attempts=3)
    add_finding(store, area="evidence")
    add_finding(store, area="staffing")
    queue_finding_messages(store, cfg, T0)
    doomed, other = outbox(store)
    results = [deliver_due(store, cfg, T0 + timedelta(minutes=m)) for m in (0, 1, 3)]
    assert [(r.failed, r.dead) for r in results] == [(1, 0), (1, 0), (0, 1)]
    kept = next(m for m in outbox(store) if m.id == doomed.id)
    assert kept.status == "dead" and kept.attempts == 3 and "Connection refused" in kept.last_error

    reserve.close()
    server = mail_server(port=port)
    r = deliver_due(store, cfg, T0 + timedelta(days=1))
    assert (r.sent, r.dead) == (1, 0)  # the other message goes; the dead one is not tried again
    assert [m.message["Message-ID"] for m in server.messages()] == [other.message_id]
    statuses = {m.id: (m.status, m.attempts) for m in outbox(store)}
    assert statuses[doomed.id] == ("dead", 3) and statuses[other.id][0] == "sent"


# ---- header injection from finding text -----------------------------------------------------------

INJECTIONS = {
    "crlf-bcc": "磁盘将满\r\nBcc: evil@x.example",
    "lf-bcc": "磁盘将满\nBcc: evil@x.example\nX-Evil: 1",
    "nel-bcc": "磁盘将满\x85Bcc: evil@x.example",  # U+0085: what a cp1252 "…" becomes when read as Latin-1
    "ls-bcc": "磁盘将满\u2028Bcc: evil@x.example",
    "smtp-smuggling": "磁盘将满\r\n.\r\nMAIL FROM:<evil@x.example>\r\nRCPT TO:<evil@x.example>\r\nDATA\r\n"
    "Subject: smuggled\r\n\r\nhi\r\n.\r\n",
    "bare-lf-dot": "磁盘将满\n.\nRCPT TO:<evil@x.example>\n",
}


@pytest.mark.parametrize("where", ["summary", "subject"])
@pytest.mark.parametrize("payload", list(INJECTIONS.values()), ids=list(INJECTIONS))
def test_finding_text_cannot_add_headers_or_recipients(store, config_file, mail_server, where, payload):
    server = mail_server()
    cfg = smtp_config(config_file, server.port, route='group_by = ["area", "subject"]')
    if where == "summary":
        add_finding(store, summary=payload)  # one finding: its summary is the mail's subject
    else:
        # Two findings about one subject (a host name, a person from a sheet): the group's title is the
        # mail's subject.
        add_findings(store, 2, subject=payload)
    queue_finding_messages(store, cfg, T0)
    result = deliver_due(store, cfg, T0)
    assert result.sent == 1, result.errors

    [got] = server.messages()  # one message: nothing smuggled a second one in
    assert got.rcpt_tos == RECIPIENTS
    mail = got.message
    assert mail["Bcc"] is None and mail["X-Evil"] is None
    assert mail["To"] == ", ".join(RECIPIENTS)
    subject = mail["Subject"]
    assert "\r" not in subject and "\n" not in subject and "evil@x.example" in subject  # kept, as text
    assert len(subject.splitlines()) == 1
    assert b"\nBcc:" not in got.headers_raw and b"\nX-Evil:" not in got.headers_raw


# ---- the file transport and the rest --------------------------------------------------------------


def test_the_file_transport_writes_threaded_eml_files(store, config_file):
    cfg = load_config(
        config_file('[notify.route]\nreceiver = "default"\ngroup_wait = "0s"\ngroup_interval = "1m"\n')
    )
    fid = add_finding(store, summary=SUMMARY)
    assert queue_finding_messages(store, cfg, T0).queued == 1
    set_status(store, fid, "resolved", T0 + timedelta(hours=2))
    assert queue_finding_messages(store, cfg, T0 + timedelta(hours=2)).queued == 1
    assert deliver_due(store, cfg, T0 + timedelta(hours=2)).sent == 2
    files = sorted(cfg.outbox_dir.glob("*.eml"))
    assert len(files) == 2 and not list(cfg.outbox_dir.glob("*.tmp"))
    opened, resolved = (email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in files)
    assert opened["Subject"] == f"[ops-watch][警告] {SUMMARY}"
    assert opened["To"] == "supervision@example.org"  # the default receiver: notify.email.recipients
    assert resolved["Subject"] == f"[ops-watch][已解决] 已解决：{SUMMARY}"
    assert resolved["In-Reply-To"] == opened["Message-ID"] == resolved["References"]


def test_english_by_setting(store, config_file):
    cfg = load_config(
        config_file('[site]\nlanguage = "en"\n[notify.route]\nreceiver = "default"\ngroup_wait = "0s"\n')
    )
    fid = add_finding(store, summary="inventory is 25.0 hours old")
    queue_finding_messages(store, cfg, T0)
    set_status(store, fid, "resolved", T0 + timedelta(hours=1))
    queue_finding_messages(store, cfg, T0 + timedelta(hours=1))
    assert [m.subject for m in outbox(store)] == [
        "[ops-watch][WARNING] inventory is 25.0 hours old",
        "[ops-watch][RESOLVED] Resolved: inventory is 25.0 hours old",
    ]
    assert "Details: ops-watch findings show" in outbox(store)[0].body_text


def test_backoff_is_exponential_and_capped(config_file):
    cfg = load_config(config_file('[notify]\nretry_base = "30s"\nretry_cap = "5m"\n'))
    assert [backoff(cfg, n).total_seconds() for n in (1, 2, 3, 4, 5, 6)] == [30, 60, 120, 240, 300, 300]


def test_an_unwritable_outbox_dir_is_a_retry_not_a_crash(store, config_file, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    cfg = load_config(
        config_file(
            f'[notify.email]\noutbox_dir = "{blocker / "sub"}"\n[notify.route]\nreceiver = "default"\ngroup_wait = "0s"\n'
        )
    )
    add_finding(store)
    queue_finding_messages(store, cfg, T0)
    assert deliver_due(store, cfg, T0).failed == 1
    [row] = outbox(store)
    assert row.status == "pending" and "cannot write" in row.last_error and str(blocker) in row.last_error
