"""Money and score (R11, R12) in the weekly report: the contractor score at the week's end against last
week's, the budget's execution rate and its year-end forecast, and the score's indicators (the XLSX sheet
"考核指标": formula, inputs, value, target, weight, points and the evidence of each)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ops_watch.areas.money.budget.model import budget_status, wan
from ops_watch.areas.money.score.model import Score, band_label, contractor_score
from ops_watch.findings.indicators import num
from ops_watch.report.model import Column, Figure, Table, Week
from ops_watch.report.sections import AreaContext, AreaData, report_area


def _score(ctx: AreaContext, week: Week) -> Score:
    return contractor_score(ctx.session, ctx.contract, ctx.zone, week.end, ctx.language)


def _float(value: Any) -> float | None:
    """Figures are floats in the report model; the score stays Decimal everywhere else."""
    return None if value is None else float(value)


def _score_figure(ctx: AreaContext, now: Score, before: Score) -> Figure:
    if now.score is None:
        note = now.incomplete
    else:
        span = ctx.t("年度至今" if now.period.kind == "year" else "季度至今", "to date")
        note = ctx.t(
            f"{band_label(now.band, 'zh')}；{now.period.label} {span}",
            f"{band_label(now.band, 'en')}; {now.period.label} {span}",
        )
        if now.missing_weight:
            note += ctx.t(
                f"；{num(now.missing_weight)} 分权重无证据，按 {num(now.measured_weight)} 分折算",
                f"; {num(now.missing_weight)} points of weight without evidence, rescaled from "
                f"{num(now.measured_weight)}",
            )
    return Figure(
        "contractor_score",
        ctx.t("承包商考核得分", "contractor score"),
        _float(now.score),
        _float(before.score) if before.period.label == now.period.label else None,
        ctx.t("分", "points"),
        "up",
        2,
        note=note,
    )


def _budget_figures(ctx: AreaContext) -> tuple[list[Figure], bool]:
    """The execution rate and the year-end forecast."""
    sunday = ctx.week.sunday
    now = budget_status(ctx.session, ctx.contract, sunday.year, sunday, language=ctx.language)
    last = ctx.previous.sunday
    before = (
        budget_status(ctx.session, ctx.contract, last.year, last, language=ctx.language)
        if last.year == sunday.year
        else None
    )
    if not now.events:
        return [], False
    figures = [
        Figure(
            "budget_execution_rate",
            ctx.t(f"{sunday.year} 年预算执行率", f"budget execution {sunday.year}"),
            _float(now.execution_rate),
            _float(before.execution_rate) if before else None,
            "%",
            "up",
            2,
            note=ctx.t(
                f"已支付 {wan(now.paid)} 万元 / 预算 {wan(now.final)} 万元",
                f"paid {wan(now.paid)} of {wan(now.final)} (10k CNY)",
            ),
        ),
        Figure(
            "budget_forecast_rate",
            ctx.t("预计年末执行率", "forecast year-end execution"),
            _float(now.forecast_rate),
            _float(before.forecast_rate) if before else None,
            "%",
            "up",
            2,
            note=ctx.t(
                f"预计结转 {wan(now.forecast_carry_over)} 万元（目标 {num(now.target_rate)}%）",
                f"forecast carry-over {wan(now.forecast_carry_over)} (10k CNY; target {num(now.target_rate)}%)",
            ),
        ),
    ]
    return figures, True


def indicators_table(ctx: AreaContext, score: Score) -> Table:
    zh = ctx.language == "zh"
    columns = [
        Column("indicator", "指标" if zh else "indicator"),
        Column("formula", "计算方法" if zh else "formula", mail=False),
        Column("inputs", "数据" if zh else "inputs"),
        Column("value", "实际值" if zh else "value", "pct"),
        Column("target", "目标值" if zh else "target", "pct"),
        # Weights and points have two decimals, as the score is computed: the "money" kind shows two.
        Column("weight", "权重（分）" if zh else "weight", "money"),
        Column("points", "得分" if zh else "points", "money"),
        Column("missing", "缺证据原因" if zh else "why no evidence", mail=False),
        Column("evidence", "依据" if zh else "evidence", mail=False),
    ]
    sep = "；" if zh else "; "
    rows = [
        {
            "indicator": r.name,
            "formula": r.result.formula + (sep + r.contract_formula if r.contract_formula else ""),
            "inputs": r.result.inputs_text or ("无证据" if zh else "no evidence"),
            "value": _float(r.value),
            "target": _float(r.target),
            "weight": r.weight,
            "points": r.points,
            "missing": r.result.missing,
            "evidence": sep.join(r.result.evidence),
        }
        for r in score.indicators
    ]
    rows.append(
        {
            "indicator": "总分（折算百分制）" if zh else "score (rescaled to 100)",
            "formula": "已计量指标得分 ÷ 已计量权重 × 100" if zh else "points earned ÷ weight measured × 100",
            "inputs": band_label(score.band, ctx.language),
            "value": None,
            "target": None,
            "weight": score.measured_weight,
            "points": score.score,
            "missing": score.incomplete,
            "evidence": sep.join(score.consequences),
        }
    )
    as_of = (score.as_of - timedelta(microseconds=1)).astimezone(ctx.zone).date()
    return Table(
        key="score_indicators",
        title=(
            f"承包商考核指标（{score.period.label}，截至 {as_of.isoformat()}）"
            if zh
            else f"Contractor score indicators ({score.period.label}, to {as_of.isoformat()})"
        ),
        sheet="考核指标" if zh else "Score indicators",
        columns=columns,
        rows=rows,
        note=ctx.t(
            "每项得分 = 权重 × min(1, 实际值 ÷ 目标值)；无证据的指标不计零分，列为缺证据。",
            "points = weight × min(1, value ÷ target); an indicator without evidence is listed as missing, "
            "never scored zero.",
        ),
    )


@report_area("money", 40, "经费与考核", "Money and score")
def money(ctx: AreaContext) -> AreaData:
    now = _score(ctx, ctx.week)
    before = _score(ctx, ctx.previous)
    budget, has_budget = _budget_figures(ctx)
    data = AreaData(
        has_evidence=any(r.measured for r in now.indicators) or has_budget,
        figures=[_score_figure(ctx, now, before), *budget],
    )
    data.tables.append(indicators_table(ctx, now))
    # The figure gives the score and the table every indicator: the notes say what is missing and what follows.
    if now.incomplete:
        data.notes.append(now.incomplete)
    if now.score is not None:
        then = ctx.t("；", "; ").join(now.consequences) or ctx.t("无", "none")
        data.notes.append(ctx.t("考核后果：", "consequences: ") + then)
    return data
