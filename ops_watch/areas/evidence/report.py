"""Evidence and delivery in the weekly report: what arrived, what was refused, which sources went silent, and
which alerts never reached anyone. Numbers the center needs before it trusts any other number."""

from __future__ import annotations

from sqlalchemy import func, select

from ops_watch.report.model import Figure, Week
from ops_watch.report.sections import AreaContext, AreaData, report_area
from ops_watch.store.schema import EvidenceBatch, OutboxMessage


def _counts(ctx: AreaContext, week: Week) -> dict[str, int]:
    s = ctx.session
    in_week = (EvidenceBatch.received_at >= week.start, EvidenceBatch.received_at < week.end)
    files = s.scalar(select(func.count()).select_from(EvidenceBatch).where(*in_week)) or 0
    rejected = (
        s.scalar(
            select(func.count())
            .select_from(EvidenceBatch)
            .where(*in_week, EvidenceBatch.status == "rejected")
        )
        or 0
    )
    refused = s.scalar(select(func.coalesce(func.sum(EvidenceBatch.rows_bad), 0)).where(*in_week)) or 0
    dead = (
        s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.status == "dead",
                OutboxMessage.created_at >= week.start,
                OutboxMessage.created_at < week.end,
            )
        )
        or 0
    )
    return {"files": files, "rejected": rejected, "refused": int(refused), "dead": dead}


@report_area("evidence", 90, "证据与送达", "Evidence and delivery")
def evidence(ctx: AreaContext) -> AreaData:
    now = _counts(ctx, ctx.week)
    before = _counts(ctx, ctx.previous)
    silent = sum(1 for g in ctx.gaps if g.kind == "silent_source")
    figures = [
        Figure(
            "files_received",
            ctx.t("收到的证据批次", "evidence batches received"),
            now["files"],
            before["files"],
            "",
            "",
            0,
        ),
        Figure(
            "files_rejected",
            ctx.t("被拒收的文件", "files refused"),
            now["rejected"],
            before["rejected"],
            "",
            "down",
            0,
        ),
        Figure(
            "rows_refused",
            ctx.t("被拒的行", "rows refused"),
            now["refused"],
            before["refused"],
            "",
            "down",
            0,
        ),
        Figure("sources_silent", ctx.t("中断的数据源", "silent sources"), silent, None, "", "down", 0),
        Figure(
            "dead_messages",
            ctx.t("未送达的告警", "alerts never delivered"),
            now["dead"],
            before["dead"],
            "",
            "down",
            0,
            note=ctx.t(
                "见“证据缺口”表，可用 ops-watch notify retry 重发",
                "see the gaps table; resend with ops-watch notify retry",
            )
            if now["dead"]
            else "",
        ),
    ]
    return AreaData(has_evidence=bool(now["files"] or ctx.gaps), figures=figures)
