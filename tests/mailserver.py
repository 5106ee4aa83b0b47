"""A real SMTP server (aiosmtpd) on loopback for the email tests: plain, STARTTLS or implicit TLS, with AUTH.

    tls = make_tls(tmp_path)                  # a throw-away CA and a server certificate for 127.0.0.1
    server = MailServer(security="starttls", tls=tls, users={"ops": "secret"})
    server.start()                            # port 0: the kernel picks the port; server.port tells it
    server.received                           # list[Received], in the order the server accepted them
    server.stop()

The server only accepts a message when the client did what the security setting asks: STARTTLS before
MAIL (require_starttls), AUTH before MAIL when users are given (auth_required), and AUTH only over TLS.
`hold_at=n` makes the n-th DATA (from 1) wait until `release` is set, after setting `holding`: the e2e test
kills the daemon in the middle of that message. `delay` makes every DATA wait that long: a slow server, so a
failover test always finds a message in flight.

tests/ is on sys.path (see conftest.py), so any test module can `from mailserver import ...`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from conftest import component_missing

AIOSMTPD_MISSING = "aiosmtpd is not installed: pip install -e '.[test]'"


def require_aiosmtpd() -> None:
    """Skip the test when aiosmtpd is missing (a failure in CI, like every missing component)."""
    try:
        import aiosmtpd.controller  # noqa: F401
    except ImportError:
        component_missing(AIOSMTPD_MISSING)


# ---- TLS material ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path  # the CA's certificate: what the client is told to trust (notify.email.ca_file)
    cert_file: Path  # the server's certificate (for 127.0.0.1 and localhost), signed by the CA
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_tls(directory: Path, common_name: str = "ops-watch test CA") -> TlsFiles:
    """A CA that lives only for this test, and a server certificate it signed (strict-X.509 clean)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    valid_from, valid_to = now - dt.timedelta(days=1), now + dt.timedelta(days=30)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_to)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_to)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files.key_file.chmod(0o600)
    return files


# ---- the server -----------------------------------------------------------------------------------


@dataclass
class Received:
    """One message the server accepted (answered 250 to)."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool  # the connection was encrypted when the message came
    login: str | None  # the user the client authenticated as, if any

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=email.policy.default)  # type: ignore[return-value]

    @property
    def headers_raw(self) -> bytes:
        """The header section as it went over the wire."""
        return self.content.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MailServer:
    security: str = "none"  # none | starttls | tls
    tls: TlsFiles | None = None
    users: dict[str, str] = field(default_factory=dict)  # user -> password; empty: no AUTH
    port: int = 0  # 0: any free port (read .port after start)
    hold_at: int | None = None  # hold the n-th DATA (from 1) until `release` is set
    delay: float = 0.0  # seconds each DATA waits before its answer: a slow server
    received: list[Received] = field(default_factory=list)
    data_calls: int = 0
    logins_refused: int = 0
    held_content: bytes = b""  # the held message, as it came (the server never answered it)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    _controller: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> MailServer:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        server = self

        class _Controller(Controller):  # type: ignore[misc]
            def _trigger_server(self) -> None:
                # Bound to port 0: learn the real port before aiosmtpd's own first connection to it.
                if self.port == 0 and self.server is not None:
                    self.port = self.server.sockets[0].getsockname()[1]
                super()._trigger_server()

        def authenticator(_server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any) -> Any:
            ok = isinstance(data, LoginPassword) and server.users.get(
                data.login.decode("utf-8", "replace")
            ) == data.password.decode("utf-8", "replace")
            if not ok:
                with server._lock:
                    server.logins_refused += 1
            return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

        class Handler:
            async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
                with server._lock:
                    server.data_calls += 1
                    number = server.data_calls
                if number == server.hold_at:
                    server.held_content = bytes(envelope.original_content or envelope.content)
                    server.holding.set()
                    # A dropped client cancels this coroutine here: the message is then never accepted.
                    while not server.release.is_set():
                        await asyncio.sleep(0.05)
                if server.delay:
                    await asyncio.sleep(server.delay)  # a dropped client cancels this too: not accepted
                transport = smtp.transport
                login = None
                if session.authenticated and isinstance(session.auth_data, LoginPassword):
                    login = session.auth_data.login.decode("utf-8", "replace")
                item = Received(
                    mail_from=envelope.mail_from,
                    rcpt_tos=list(envelope.rcpt_tos),
                    content=bytes(envelope.original_content or envelope.content),
                    tls=transport is not None and transport.get_extra_info("ssl_object") is not None,
                    login=login,
                )
                with server._lock:
                    server.received.append(item)
                return "250 OK"

        kwargs: dict[str, Any] = {}
        if self.security in ("starttls", "tls"):
            if self.tls is None:
                raise ValueError(f"security {self.security!r} needs tls files (make_tls)")
        if self.security == "starttls":
            kwargs.update(tls_context=self.tls.server_context(), require_starttls=True)  # type: ignore[union-attr]
        if self.users:
            kwargs["authenticator"] = authenticator
            if self.security == "tls":
                # The whole connection is encrypted, but aiosmtpd only counts STARTTLS as TLS: let it offer
                # AUTH (it warns when AUTH is also required without its idea of TLS, so the tests check
                # `Received.login` instead).
                kwargs["auth_require_tls"] = False
            else:
                kwargs["auth_required"] = True
        self._controller = _Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            ssl_context=self.tls.server_context() if self.security == "tls" else None,  # type: ignore[union-attr]
            ready_timeout=30,
            **kwargs,
        )
        self._controller.start()
        self.port = self._controller.port
        return self

    def stop(self) -> None:
        self.release.set()  # a held message must not keep the loop from stopping
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[Received]:
        with self._lock:
            return list(self.received)


__all__ = [
    "AIOSMTPD_MISSING",
    "MailServer",
    "Received",
    "TlsFiles",
    "free_port",
    "make_tls",
    "require_aiosmtpd",
]
