"""周报: the archived weekly reports, each checked against its manifest; a week's HTML body with its charts
(the email's `cid:` references rewritten to this console's URLs), shown in a sandboxed frame; its files (charts,
XLSX) to download. Every file is read through the manifest (`read_verified`): a name not in the manifest is
404, a file whose sha256 differs is refused with a page saying so, never served."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ops_watch.core.manifest import ArchiveError, read_manifest, read_verified
from ops_watch.report.archive import list_reports
from ops_watch.web.frame import Refused, Viewer, console, render

router = APIRouter()
WEEK = re.compile(r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$")

# The archived body is our own generated HTML (autoescaped, inline CSS, no script); served on its own URL for
# an <iframe sandbox>, it still gets a policy of its own: no script, no form, images from here only.
BODY_CSP = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'; sandbox allow-same-origin"
)
MEDIA = {
    ".png": "image/png",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


def reports_dir(request: Request) -> Path:
    return console(request).runtime.config.reports_dir


def week_folder(request: Request, week: str) -> Path:
    """The week's folder; the name must be YYYY-Www (nothing else reaches the file system)."""
    if not WEEK.fullmatch(week):
        raise Refused(
            404,
            f"没有周报 {week!r}：周的写法是 2026-W47。",
            f"No report {week!r}: a week is written like 2026-W47.",
        )
    folder = reports_dir(request) / week
    if not folder.is_dir():
        raise Refused(404, f"没有 {week} 的周报存档。", f"No archived report for {week}.")
    return folder


def _manifest(request: Request, folder: Path) -> dict[str, Any]:
    try:
        return read_manifest(folder)
    except ArchiveError as exc:
        raise Refused(
            409,
            f"{folder.name} 的周报存档不完整，无法显示：{exc}",
            f"The archived report {folder.name} is not complete and cannot be shown: {exc}",
        ) from None


def _read(request: Request, folder: Path, name: str, manifest: dict[str, Any]) -> bytes:
    """A file named in the manifest, with its sum checked; anything else is 404, a changed file 409."""
    if name not in manifest["files"] or name.startswith("/") or "\\" in name or ".." in name.split("/"):
        raise Refused(
            404,
            f"{folder.name} 的周报中没有文件 {name!r}。",
            f"The report {folder.name} has no file {name!r}.",
        )
    try:
        return read_verified(folder, name, manifest)
    except ArchiveError as exc:
        raise Refused(
            409,
            f"文件已被改动或无法读取，拒绝提供（与清单的 sha256 不符）：{exc}",
            f"Refused: the file was changed or cannot be read (it does not match the manifest's sha256): {exc}",
        ) from None


def file_url(week: str, name: str) -> str:
    return f"/reports/{week}/files/{quote(name)}"


@router.get("/reports")
def reports_page(request: Request, session: Viewer) -> Response:
    rows = list_reports(reports_dir(request))
    return render(request, "reports.html", {"rows": rows})


@router.get("/reports/{week}")
def report_page(request: Request, week: str, session: Viewer) -> Response:
    folder = week_folder(request, week)
    manifest = _manifest(request, folder)
    problems = []
    for name in manifest["files"]:
        try:
            read_verified(folder, name, manifest)
        except ArchiveError as exc:
            problems.append(str(exc))
    files = [
        {"name": name, "url": file_url(week, name), "bytes": int(entry.get("bytes", 0))}
        for name, entry in sorted(manifest["files"].items())
    ]
    return render(
        request,
        "report.html",
        {
            "week": week,
            "manifest": manifest,
            "problems": problems,
            "files": files,
            "xlsx": manifest.get("xlsx") if manifest.get("xlsx") in manifest["files"] else None,
            "xlsx_url": file_url(week, str(manifest.get("xlsx", ""))),
        },
    )


def body_html(week: str, html: str, charts: dict[str, str]) -> str:
    """The archived HTML with each `cid:` reference pointing at its chart's URL in this console."""
    for name, cid in charts.items():
        html = html.replace(f"cid:{cid}", file_url(week, name))
    return html


@router.get("/reports/{week}/body")
def report_body(request: Request, week: str, session: Viewer) -> Response:
    folder = week_folder(request, week)
    manifest = _manifest(request, folder)
    name = str(manifest.get("html", "report.html"))
    data = _read(request, folder, name, manifest)
    charts = {str(k): str(v) for k, v in (manifest.get("charts") or {}).items() if k in manifest["files"]}
    html = body_html(week, data.decode("utf-8", errors="replace"), charts)
    return Response(
        html.encode("utf-8"),
        media_type="text/html; charset=utf-8",
        headers={"content-security-policy": BODY_CSP},
    )


@router.get("/reports/{week}/files/{name:path}")
def report_file(request: Request, week: str, name: str, session: Viewer) -> Response:
    folder = week_folder(request, week)
    manifest = _manifest(request, folder)
    data = _read(request, folder, name, manifest)
    suffix = Path(name).suffix.lower()
    media = MEDIA.get(suffix, "application/octet-stream")
    headers = {}
    if suffix == ".html":
        headers["content-security-policy"] = BODY_CSP
    if suffix not in (".png",):
        base = Path(name).name
        headers["content-disposition"] = f"attachment; filename*=UTF-8''{quote(base)}"
    return Response(data, media_type=media, headers=headers)
