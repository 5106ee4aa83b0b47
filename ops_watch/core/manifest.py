"""A folder of files with a manifest of their sha256 sums (the archived weekly report): read back only as the
bytes that were archived. The report writes such folders; the email transport reads them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


class ArchiveError(Exception):
    """An archived report is missing or does not match its manifest."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArchiveError(
            f"{folder}: no {MANIFEST} (not a report folder, or a build that did not finish)"
        ) from None
    except (OSError, ValueError) as exc:
        raise ArchiveError(f"{folder / MANIFEST}: cannot read it: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise ArchiveError(f"{folder / MANIFEST}: not a report manifest (no 'files')")
    return data


def read_verified(folder: Path, name: str, manifest: dict[str, Any]) -> bytes:
    """A file of the archive, refused when it is missing or differs from the manifest's sum."""
    entry = manifest["files"].get(name)
    if entry is None:
        raise ArchiveError(f"{folder}: {name} is not in the manifest")
    try:
        data = (folder / name).read_bytes()
    except OSError as exc:
        raise ArchiveError(f"{folder / name}: cannot read it: {exc.strerror}") from None
    if sha256(data) != entry.get("sha256"):
        raise ArchiveError(
            f"{folder / name}: changed since the report was built (sha256 differs from the manifest)"
        )
    return data


__all__ = ["MANIFEST", "ArchiveError", "read_manifest", "read_verified", "sha256"]
