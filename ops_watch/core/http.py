"""What every HTTP source shares: how a URL and a requests error are shown to the operator."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit


def shown_url(url: str) -> str:
    """The url as errors show it: never a user:password@ written into it, no query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        port = None
    return urlunsplit((parts.scheme, f"{host}:{port}" if port else host, parts.path.rstrip("/"), "", ""))


def error_reason(exc: Exception) -> str:
    """The innermost useful words of a requests/urllib3 error, without the pool's boilerplate."""
    text = str(exc)
    m = re.search(r"Caused by \w+\((.*)\)\)?$", text)
    if m:
        text = m.group(1)
    text = re.sub(r"<urllib3[^>]*>:?\s*", "", text).strip(" '\"()")
    return text[:300] or type(exc).__name__
