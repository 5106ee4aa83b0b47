"""Archive checks (R10): each year's required documents in the archive folder, and those past retention.

The terms come from `[archive]` in contract.toml (ops_watch.areas.governance.archive.model). A finding is about one document
of one year (its period is that year), so it stays the same finding from one evaluation to the next. The
folder is only read: documents past retention are reported for a disposal review, never deleted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from ops_watch.areas.governance.archive.model import DocumentStatus, Scan, archive_terms, scan, statuses
from ops_watch.core.timeutil import local_day_bounds
from ops_watch.findings.registry import CheckContext, FindingDraft, NoParams, check

MAX_LISTED = 20


def _today(ctx: CheckContext) -> date:
    return ctx.at.astimezone(ctx.zone).date()


def _scan(ctx: CheckContext) -> Scan | None:
    terms = archive_terms(ctx.contract)
    folder = terms.folder()
    return None if folder is None else scan(folder, terms.documents)


def _folder_finding(ctx: CheckContext, result: Scan) -> FindingDraft:
    return FindingDraft(
        subject=ctx.t("归档目录", "archive folder"),
        summary=ctx.t(f"无法读取归档目录：{result.error}", f"cannot read the archive folder: {result.error}"),
        evidence={"folder": str(result.folder), "error": result.error},
    )


@check(
    "archive_document_missing",
    params=NoParams,
    area="governance",
    terms="archive",
    example="""
[[rule]]
id = "archive-document-missing"
check = "archive_document_missing"
severity = "warning"
title = "年度应归档文件缺失"
""",
)
def archive_document_missing(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    """One finding per required document and year whose due day has passed with no matching file."""
    result = _scan(ctx)
    if result is None:
        return  # no [archive] dir: the archive is not watched
    if result.error:
        yield _folder_finding(ctx, result)
        return
    if result.problems:
        yield FindingDraft(
            subject=ctx.t("归档清单 manifest.csv", "archive manifest.csv"),
            summary=ctx.t(
                f"归档清单有 {len(result.problems)} 行无法识别：{result.problems[0]}",
                f"{len(result.problems)} manifest row(s) not understood: {result.problems[0]}",
            ),
            evidence={"folder": str(result.folder), "problems": result.problems[:MAX_LISTED]},
        )
    for s in statuses(archive_terms(ctx.contract), ctx.contract, result, _today(ctx)):
        if s.status != "missing":
            continue
        yield FindingDraft(
            subject=f"{s.year} {s.doc.name}",
            summary=ctx.t(
                f"{s.year} 年度的{s.doc.name}未归档（应于 {s.due.isoformat()} 前归档）",
                f"the {s.year} {s.doc.name} ({s.doc.key}) is not in the archive (due by {s.due.isoformat()})",
            ),
            evidence=_evidence(result, s),
            # The problem begins when the due day ends, not with the year it is about (the weekly report
            # dates a finding by its period's start).
            period_start=local_day_bounds(s.due, ctx.zone)[1],
        )


def _evidence(result: Scan, s: DocumentStatus) -> dict[str, object]:
    seen = result.files(s.year)
    evidence: dict[str, object] = {
        "folder": str(result.folder),
        "year": s.year,
        "document": s.doc.key,
        "due": s.due.isoformat(),
        "by": "manifest.csv" if result.manifest is not None else "file-name patterns",
        "patterns": list(s.doc.patterns),
        "files_seen": [f.path for f in seen[:MAX_LISTED]],
        "files_seen_total": len(seen),
    }
    if s.listed_missing:
        evidence["listed_but_missing"] = list(s.listed_missing)
    return evidence


@check(
    "archive_retention_due",
    params=NoParams,
    area="governance",
    terms="archive",
    example="""
[[rule]]
id = "archive-retention-due"
check = "archive_retention_due"
severity = "info"
title = "归档文件已过保管期限，待鉴定处置"
""",
)
def archive_retention_due(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    """Archived documents whose retention has run out (year + retention years before this year): listed for a
    disposal review. ops-watch never deletes them."""
    result = _scan(ctx)
    if result is None or result.error:
        return  # archive_document_missing reports the folder
    terms = archive_terms(ctx.contract)
    today = _today(ctx)
    years = sorted(set(result.by_year) | {y for y, _ in (result.manifest or {})})
    for year in years:
        for doc in terms.documents:
            files = result.matching(year, doc)
            until = date(year + doc.retention_years, 12, 31)
            if not files or until >= today:
                continue
            yield FindingDraft(
                subject=f"{year} {doc.name}",
                summary=ctx.t(
                    f"{year} 年度的{doc.name}已过 {doc.retention_years} 年保管期限（至 {until.isoformat()}），"
                    f"请鉴定处置 — ops-watch 不会删除",
                    f"the {year} {doc.name} ({doc.key}) is past its {doc.retention_years}-year retention "
                    f"(until {until.isoformat()}): for a disposal review — ops-watch never deletes",
                ),
                evidence={
                    "folder": str(result.folder),
                    "year": year,
                    "document": doc.key,
                    "retention_years": doc.retention_years,
                    "retention_until": until.isoformat(),
                    "files": [f.path for f in files[:MAX_LISTED]],
                    "files_total": len(files),
                },
                period_start=local_day_bounds(until + timedelta(days=1), ctx.zone)[0],
            )
