"""Email: build MIME messages from outbox rows, and the transports that hand them over (file, SMTP)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from ops_watch.config import EmailConfig
from ops_watch.core.manifest import ArchiveError, read_manifest, read_verified
from ops_watch.store.schema import OutboxMessage


class DeliveryError(Exception):
    """The transport could not hand the message over; the outbox retries it later."""


def build_message(msg: OutboxMessage, sender: str, state_dir: Path | None = None) -> EmailMessage:
    """The MIME message of an outbox row. A weekly report's row names its archive folder: the bodies, charts
    and workbook are read from there (and checked against its manifest), so the mail is the archived bytes."""
    mail = EmailMessage()
    mail["Subject"] = msg.subject  # EmailMessage encodes non-ASCII headers (RFC 2047)
    mail["From"] = sender
    mail["To"] = ", ".join(msg.recipients)
    mail["Date"] = format_datetime(msg.created_at)
    mail["Message-ID"] = msg.message_id
    if msg.references:
        mail["In-Reply-To"] = msg.references
        mail["References"] = msg.references
    mail["X-Mailer"] = "ops-watch"
    report_dir = (msg.payload or {}).get("report_dir") if isinstance(msg.payload, dict) else None
    if report_dir:
        folder = Path(report_dir)
        if not folder.is_absolute() and state_dir is not None:
            folder = state_dir / folder
        _report_parts(mail, folder)
        return mail
    mail.set_content(msg.body_text, charset="utf-8")
    if msg.body_html:
        mail.add_alternative(msg.body_html, subtype="html", charset="utf-8")
    return mail


XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _report_parts(mail: EmailMessage, folder: Path) -> None:
    """multipart/mixed: (multipart/alternative: text, multipart/related: HTML + charts by Content-ID), XLSX."""

    try:
        manifest = read_manifest(folder)
        text = read_verified(folder, manifest["text"], manifest).decode("utf-8")
        html = read_verified(folder, manifest["html"], manifest).decode("utf-8")
        charts = [
            (name, cid, read_verified(folder, name, manifest)) for name, cid in manifest["charts"].items()
        ]
        xlsx = read_verified(folder, manifest["xlsx"], manifest)
    except (ArchiveError, KeyError, UnicodeDecodeError) as exc:
        raise DeliveryError(f"weekly report {folder}: {exc}") from None
    # base64: the parts decode to the archived bytes exactly (SMTP would turn the line ends of 8bit or
    # quoted-printable text into CRLF).
    mail.set_content(text, charset="utf-8", cte="base64")
    mail.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    html_part = mail.get_payload()[1]  # type: ignore[index]
    for name, cid, png in charts:
        html_part.add_related(
            png, "image", "png", cid=f"<{cid}>", filename=Path(name).name, disposition="inline"
        )
    mail.add_attachment(xlsx, *XLSX_TYPE, filename=manifest["xlsx"])


def _file_transport(
    cfg: EmailConfig, outbox_dir: Path, state_dir: Path | None = None
) -> Callable[[OutboxMessage], str]:
    def send(msg: OutboxMessage) -> str:
        stamp = msg.created_at.strftime("%Y%m%dT%H%M%SZ")
        final = outbox_dir / f"{stamp}-{msg.id:06d}.eml"
        tmp = final.with_suffix(".eml.tmp")
        try:
            outbox_dir.mkdir(parents=True, exist_ok=True)
            data = bytes(build_message(msg, cfg.sender, state_dir))
            tmp.write_bytes(data)
            tmp.replace(final)  # a reader never sees half a message
        except OSError as exc:
            raise DeliveryError(f"cannot write {final}: {exc.strerror}") from None
        return ""

    return send


def tls_context(cfg: EmailConfig, base: Path | None = None) -> ssl.SSLContext:
    """The TLS settings for the SMTP server: the system's CAs, or `ca_file`; no checks with verify_tls off."""
    cafile = None
    if cfg.ca_file is not None:
        cafile = str(cfg.ca_file if cfg.ca_file.is_absolute() or base is None else base / cfg.ca_file)
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise DeliveryError(
            f"notify.email.ca_file {cafile}: cannot use it ({reason}); give the PEM certificate of the CA "
            "that signed the SMTP server's certificate"
        ) from None
    if not cfg.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _smtp_transport(
    cfg: EmailConfig, password: str, base: Path | None = None, state_dir: Path | None = None
) -> Callable[[OutboxMessage], str]:
    timeout = cfg.timeout.total_seconds()

    def send(msg: OutboxMessage) -> str:
        where = f"{cfg.host}:{cfg.port}"
        try:
            if cfg.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    cfg.host, cfg.port, timeout=timeout, context=tls_context(cfg, base)
                )
            else:
                client = smtplib.SMTP(cfg.host, cfg.port, timeout=timeout)
            with client:
                if cfg.security == "starttls":
                    client.starttls(context=tls_context(cfg, base))
                if cfg.username:
                    if not (cfg.username + password).isascii():
                        raise DeliveryError(
                            f"SMTP {where}: the username or password has characters other than ASCII, which "
                            "SMTP login (smtplib) cannot send; set an ASCII password for notify.email"
                        )
                    client.login(cfg.username, password)
                refused = client.send_message(
                    build_message(msg, cfg.sender, state_dir), cfg.sender, msg.recipients
                )
        except DeliveryError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP {where}: login refused ({exc.smtp_code})") from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(
                f"SMTP {where}: every recipient refused: {', '.join(exc.recipients)}"
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP {where}: {exc.smtp_code} {exc.smtp_error!r}") from None
        except (TimeoutError, smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise DeliveryError(f"SMTP {where}: {type(exc).__name__}: {exc}") from None
        if refused:
            # The server took the message for the others: resending would duplicate it for them.
            return f"SMTP {where}: accepted, but refused {', '.join(refused)}"
        return ""

    return send


def email_transport(
    cfg: EmailConfig,
    outbox_dir: Path,
    password: str = "",
    base: Path | None = None,
    state_dir: Path | None = None,
) -> Callable[[OutboxMessage], str]:
    """`base`: the config's directory, against which a relative ca_file is read; `state_dir`: where a weekly
    report's archive folder is (its outbox row names it relative to the state directory)."""
    if cfg.transport == "file":
        return _file_transport(cfg, outbox_dir, state_dir)
    return _smtp_transport(cfg, password, base, state_dir)


def message_id(kind: str, key: str, at: datetime, domain: str = "ops-watch.local") -> str:
    return f"<{kind}.{key}.{at.strftime('%Y%m%d%H%M%S%f')}@{domain}>"
