"""The `httpHosts` settings that make a Hikvision device push its events to the console (docs/doors.md,
"Pushed events"): `ops-watch doors push-config <device>` prints them."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape

from ops_watch.config import DoorDevice

HTTP_HOSTS = "/ISAPI/Event/notification/httpHosts"
SECRET_PLACEHOLDER = "<push-secret>"


@dataclass(frozen=True)
class PushSettings:
    url: str  # the whole URL the device posts to
    protocol: str  # HTTP or HTTPS
    host: str
    port: int
    path: str  # what the device's `url` field takes: the path alone
    xml: str  # the HttpHostNotificationList body to PUT to HTTP_HOSTS


def device_path(device: DoorDevice, secret: str) -> str:
    """/ingest/hikvision/<device>/<secret>, percent-encoded (a device name is often Chinese)."""
    shown = secret if secret == SECRET_PLACEHOLDER else quote(secret, safe="")
    return f"/ingest/hikvision/{quote(device.name, safe='')}/{shown}"


def push_settings(device: DoorDevice, base_url: str, secret: str = SECRET_PLACEHOLDER) -> PushSettings:
    """The settings for `device` pushing to the console at `base_url` (http(s)://host[:port])."""
    parts = urlsplit(base_url.rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{base_url!r} is not an http(s)://host[:port] URL")
    protocol = parts.scheme.upper()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname
    path = parts.path + device_path(device, secret)
    try:
        ipaddress.ip_address(host)
        address = f"<addressingFormatType>ipaddress</addressingFormatType>\n    <ipAddress>{escape(host)}</ipAddress>"
    except ValueError:
        address = (
            f"<addressingFormatType>hostname</addressingFormatType>\n    <hostName>{escape(host)}</hostName>"
        )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<HttpHostNotificationList version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">\n'
        "  <HttpHostNotification>\n"
        "    <id>1</id>\n"
        f"    <url>{escape(path)}</url>\n"
        f"    <protocolType>{protocol}</protocolType>\n"
        "    <parameterFormatType>JSON</parameterFormatType>\n"
        f"    {address}\n"
        f"    <portNo>{port}</portNo>\n"
        "    <httpAuthenticationMethod>none</httpAuthenticationMethod>\n"
        "  </HttpHostNotification>\n"
        "</HttpHostNotificationList>\n"
    )
    netloc = f"[{host}]" if ":" in host else host
    url = f"{parts.scheme}://{netloc}:{port}{path}"
    return PushSettings(url=url, protocol=protocol, host=host, port=port, path=path, xml=xml)


__all__ = ["HTTP_HOSTS", "SECRET_PLACEHOLDER", "PushSettings", "device_path", "push_settings"]
