"""A group's message, in the reader's language: email (subject, plain text, HTML), chat markdown, webhook JSON.

Finding text comes from evidence written by others. Subjects are one line (CR, LF and other controls become
spaces: no header injection) and cut to a length mail clients show; HTML is autoescaped by Jinja2; markdown for
the chat robots has its markup characters escaped, so a name in a sheet cannot add a link or an @all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from jinja2 import Environment, PackageLoader

from ops_watch.config import Config
from ops_watch.core.timeutil import format_local
from ops_watch.core.vocabulary import AREA_ZH, SEVERITY_COLOUR, SEVERITY_RANK, SEVERITY_ZH
from ops_watch.store.schema import Finding

MAX_SUBJECT = 150
MAX_LISTED = 50  # a message lists at most this many findings of each kind, then says how many more
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<@])")


def one_line(text: str, limit: int = MAX_SUBJECT) -> str:
    """Text fit for a header or a title: control characters (CR, LF, tab) become a space, then cut."""
    flat = _CONTROL.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def md_escape(text: str) -> str:
    """Text shown literally in DingTalk/WeCom markdown (no links, headings, emphasis or @ from evidence)."""
    return _MARKDOWN.sub(r"\\\1", one_line(text, 500))


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    markdown: str
    payload: dict[str, Any]


def _env(autoescape: bool) -> Environment:
    return Environment(
        loader=PackageLoader("ops_watch.notify", "templates"),
        autoescape=autoescape,
        keep_trailing_newline=True,
    )


def group_title(labels: dict[str, str], language: str) -> str:
    """What the group is about: its area and severity (and rule or subject when grouped by them)."""
    zh = language == "zh"
    parts = []
    if labels.get("area"):
        parts.append(AREA_ZH.get(labels["area"], labels["area"]) if zh else labels["area"])
    for name in ("rule", "check", "subject"):
        if labels.get(name):
            parts.append(labels[name])
    return " / ".join(parts) or ("全部问题" if zh else "all findings")


def render_group(
    config: Config,
    labels: dict[str, str],
    new: list[Finding],
    still: list[Finding],
    resolved: list[Finding],
    *,
    repeat: bool,
) -> Rendered:
    language = config.language
    zh = language == "zh"

    def t(a: str, b: str) -> str:
        return a if zh else b

    firing = new + still
    worst = max((f.severity for f in firing), key=lambda s: SEVERITY_RANK.get(s, 0), default=None)
    head = (SEVERITY_ZH.get(worst, worst) if zh else worst.upper()) if worst else t("已解决", "RESOLVED")
    title = group_title(labels, language)
    counts = []
    if new:
        counts.append(t(f"新增 {len(new)} 项", f"{len(new)} new"))
    if still and (repeat or not new):
        counts.append(t(f"仍有 {len(still)} 项未解决", f"{len(still)} still open"))
    elif still:
        counts.append(t(f"另有 {len(still)} 项未解决", f"{len(still)} more open"))
    if resolved:
        counts.append(t(f"已解决 {len(resolved)} 项", f"{len(resolved)} resolved"))
    summary = "，".join(counts) if zh else ", ".join(counts)
    only = (new or resolved) if len(new + resolved) == 1 and not still else []
    if only:  # one finding: its own summary says more than a count
        f = only[0]
        subject = f"[ops-watch][{head}] {t('已解决：', 'Resolved: ') if resolved else ''}{f.summary}"
    else:
        subject = (
            f"[ops-watch][{head}] {title}：{summary}" if zh else f"[ops-watch][{head}] {title}: {summary}"
        )
    subject = one_line(subject)
    local = partial(format_local, site_zone=config.site.zone)
    values = dict(
        t=t,
        lang=language,
        subject=subject,
        title=title,
        summary=summary,
        repeat=repeat,
        new=new[:MAX_LISTED],
        still=still[:MAX_LISTED],
        resolved=resolved[:MAX_LISTED],
        more_new=max(0, len(new) - MAX_LISTED),
        more_still=max(0, len(still) - MAX_LISTED),
        more_resolved=max(0, len(resolved) - MAX_LISTED),
        severity=lambda s: SEVERITY_ZH.get(s, s) if zh else s,
        colour=SEVERITY_COLOUR,
        local=local,
        one_line=one_line,
        site=config.site.name,
    )
    text = _env(False).get_template("group.txt.j2").render(values)
    html = _env(True).get_template("group.html.j2").render(values)
    markdown = _markdown(subject, new, still, resolved, t, local, zh)
    payload = {
        "source": "ops-watch",
        "site": config.site.name,
        "group": labels,
        "status": "firing" if firing else "resolved",
        "repeat": repeat,
        "subject": subject,
        "findings": [_item(f, "new") for f in new]
        + [_item(f, "open") for f in still]
        + [_item(f, "resolved") for f in resolved],
    }
    return Rendered(subject, text, html, markdown, payload)


def _item(f: Finding, state: str) -> dict[str, Any]:
    return {
        "id": f.id,
        "state": state,
        "rule": f.rule_id,
        "check": f.check,
        "area": f.area,
        "severity": f.severity,
        "subject": f.subject,
        "summary": f.summary,
        "first_seen": f.first_seen.isoformat() if isinstance(f.first_seen, datetime) else None,
        "resolved_at": f.resolved_at.isoformat() if isinstance(f.resolved_at, datetime) else None,
    }


def _markdown(
    subject: str,
    new: list[Finding],
    still: list[Finding],
    resolved: list[Finding],
    t: Any,
    local: Any,
    zh: bool,
) -> str:
    lines = [f"### {md_escape(subject)}", ""]
    for label, items in (
        (t("新增", "New"), new),
        (t("仍未解决", "Still open"), still),
        (t("已解决", "Resolved"), resolved),
    ):
        if not items:
            continue
        lines.append(f"**{label}**")
        lines.append("")
        for f in items[:20]:
            sev = SEVERITY_ZH.get(f.severity, f.severity) if zh else f.severity
            lines.append(f"- [{sev}] {md_escape(f.summary)} (#{f.id})")
        if len(items) > 20:
            lines.append(t(f"- …另有 {len(items) - 20} 项", f"- … and {len(items) - 20} more"))
        lines.append("")
    lines.append(t("详情：ops-watch findings show <编号>", "Details: ops-watch findings show <id>"))
    return "\n".join(lines)


__all__ = ["Rendered", "group_title", "md_escape", "one_line", "render_group"]
