"""What a Hikvision device pushes (ISAPI "HTTP listening", `httpHosts`): the body of one POST as AcsEvent items.

A device POSTs each event (and a heartbeat now and then) in one of three shapes:
- `multipart/form-data`: a JSON part (named `event_log`, some firmware `AccessControllerEvent`) and, for face
  terminals, picture parts (image/jpeg). Pictures are skipped where they lie: never decoded, kept or written.
- `application/json`: the same JSON alone.
- XML `EventNotificationAlert` (older firmware; also as a multipart part).
Each document says `eventType` ("AccessControllerEvent", "heartBeat", …) and, for an access event, carries an
`AccessControllerEvent` object (majorEventType, subEventType, serialNo, doorNo, cardReaderNo, employeeNoString,
cardNo, name, attendanceStatus) with the time in the document's `dateTime`. `access_items` turns those into the
items of an AcsEvent search answer, so they go through formats.hikvision.acs_rows like a polled or exported
event: the same door, direction, result and dedupe key (`dev:<device>#<serialNo>`).

Guards: a body holds at most MAX_DATA bytes besides pictures (413 beyond); XML with a DOCTYPE or ENTITY
declaration is refused (no entity expansion; defusedxml is not a dependency).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

# The non-picture data of one POST: an event is a few kB; far more is not a device talking.
MAX_DATA = 2 * 1024 * 1024
# The whole body, pictures included (a face terminal sends one or two JPEGs of 50-300 kB).
MAX_BODY = 16 * 1024 * 1024
ACCESS_EVENT = "AccessControllerEvent"
_XML_DECLARATIONS = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


class PushRefused(Exception):
    """A body that cannot be read: its HTTP status and the reason, in Chinese and English."""

    def __init__(self, status: int, zh: str, en: str) -> None:
        super().__init__(en)
        self.status, self.zh, self.en = status, zh, en


def too_big(limit: int) -> PushRefused:
    return PushRefused(
        413,
        f"推送内容超过 {limit // 1024} KB（图片除外），已拒绝",
        f"the pushed body holds more than {limit // 1024} kB besides pictures: refused",
    )


def _tag(element: ET.Element) -> str:
    return element.tag.rpartition("}")[2]  # {http://www.isapi.org/ver20/XMLSchema}eventType -> eventType


def _xml_value(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        return (element.text or "").strip()
    return {_tag(c): _xml_value(c) for c in children}


def parse_xml(data: bytes) -> dict[str, Any]:
    if _XML_DECLARATIONS.search(data):
        raise PushRefused(
            400,
            "XML 中含 DOCTYPE 或 ENTITY 声明，已拒绝",
            "the XML holds a DOCTYPE or ENTITY declaration: refused",
        )
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise PushRefused(400, f"XML 无法解析：{exc}", f"the XML does not parse: {exc}") from None
    value = _xml_value(root)
    return value if isinstance(value, dict) else {}


def parse_document(data: bytes) -> dict[str, Any]:
    """One JSON or XML document (told apart by its first character), as a dict."""
    text = data.strip()
    if text.startswith(b"<"):
        return parse_xml(text)
    try:
        value = json.loads(text.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise PushRefused(
            400, f"推送内容不是 JSON 或 XML：{exc}", f"the body is not JSON or XML: {exc}"
        ) from None
    if not isinstance(value, dict):
        raise PushRefused(400, "推送的 JSON 不是对象", "the pushed JSON is not an object")
    return value


def _part_headers(head: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def _is_picture(headers: dict[str, str]) -> bool:
    kind = headers.get("content-type", "").lower()
    disposition = headers.get("content-disposition", "").lower()
    return kind.startswith("image/") or bool(re.search(r'filename="?[^"]*\.(jpe?g|png|bmp)', disposition))


def multipart_documents(body: bytes, content_type: str) -> list[dict[str, Any]]:
    """The JSON / XML parts of a multipart body; picture parts skipped unread."""
    found = _BOUNDARY.search(content_type)
    if not found:
        raise PushRefused(400, "multipart 缺少 boundary", "multipart/form-data without a boundary")
    delimiter = b"--" + found.group(1).encode("latin-1")
    documents: list[dict[str, Any]] = []
    data = 0
    # Devices write CRLF, some firmware LF alone; a missing closing delimiter is forgiven.
    for raw in body.split(delimiter)[1:]:
        if raw.startswith(b"--"):
            break
        part = raw[2:] if raw.startswith(b"\r\n") else raw.lstrip(b"\n")
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            head, sep, content = part.partition(b"\n\n")
        headers = _part_headers(head)
        if _is_picture(headers):
            continue
        data += len(content)
        if data > MAX_DATA:
            raise too_big(MAX_DATA)
        if content.strip():
            documents.append(parse_document(content))
    return documents


def documents(body: bytes, content_type: str) -> list[dict[str, Any]]:
    """Every event document of one POST body."""
    if content_type.lower().startswith("multipart/"):
        return multipart_documents(body, content_type)
    if len(body) > MAX_DATA:
        raise too_big(MAX_DATA)
    if not body.strip():
        return []
    return [parse_document(body)]


def _unwrap(document: dict[str, Any]) -> dict[str, Any]:
    inner = document.get("EventNotificationAlert")
    return inner if isinstance(inner, dict) else document


def access_items(docs: list[dict[str, Any]], major: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The access events of the documents as AcsEvent InfoList items, and what was ignored, by reason
    ("heartBeat", "major 3": not a door event; a granted/denied check of the minor code is acs_rows')."""
    items: list[dict[str, Any]] = []
    ignored: dict[str, int] = {}
    for document in map(_unwrap, docs):
        event_type = str(document.get("eventType") or "").strip() or "(no eventType)"
        event = document.get(ACCESS_EVENT)
        if event_type != ACCESS_EVENT or not isinstance(event, dict):
            ignored[event_type] = ignored.get(event_type, 0) + 1
            continue
        event_major = event.get("majorEventType")
        if str(event_major).strip() != str(major):
            reason = f"major {event_major}"
            ignored[reason] = ignored.get(reason, 0) + 1
            continue
        items.append(
            {
                "major": event_major,
                "minor": event.get("subEventType"),
                "time": event.get("time") or document.get("dateTime"),
                "doorNo": event.get("doorNo"),
                "cardReaderNo": event.get("cardReaderNo"),
                "serialNo": event.get("serialNo"),
                "employeeNoString": event.get("employeeNoString") or event.get("employeeNo"),
                "name": event.get("name"),
                "cardNo": event.get("cardNo"),
                "attendanceStatus": event.get("attendanceStatus"),
            }
        )
    return items, ignored


__all__ = [
    "ACCESS_EVENT",
    "MAX_BODY",
    "MAX_DATA",
    "PushRefused",
    "access_items",
    "documents",
    "multipart_documents",
    "parse_document",
    "parse_xml",
    "too_big",
]
