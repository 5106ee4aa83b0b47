"""`ops-watch score`: the contractor score (R12) as of a time, every indicator with its formula, inputs and
evidence, so the contractor can check it line by line."""

from __future__ import annotations

import json
from typing import Any

import click

from ops_watch.areas.money.score.model import BAND_EN, Score, contractor_score, score_json, summary_lines
from ops_watch.cli.common import at_time, command, format_option, runtime
from ops_watch.core.output import render

TABLE_COLUMNS = ["indicator", "formula", "inputs", "value", "target", "weight", "points"]
CSV_COLUMNS = ["key", *TABLE_COLUMNS, "missing", "evidence"]


def _pct(value: Any) -> str:
    return "" if value is None else f"{value}%"


def indicator_rows(score: Score, fmt: str) -> list[dict[str, Any]]:
    """One row per indicator; for CSV a last row with the total. Decimals as text: exact, never a float."""
    zh = score.language == "zh"
    rows = []
    for r in score.indicators:
        formula = r.result.formula
        if r.contract_formula:
            formula += (
                ("（合同：" + r.contract_formula + "）") if zh else f" (contract: {r.contract_formula})"
            )
        missing = ("无证据：" if zh else "no evidence: ") + r.result.missing
        rows.append(
            {
                "key": r.key,
                "indicator": r.name,
                "formula": formula,
                "inputs": r.result.inputs_text or (missing if fmt == "table" else ""),
                "value": _pct(r.value) if fmt == "table" else r.value,
                "target": f"{r.target.normalize():f}%" if fmt == "table" else r.target,
                "weight": r.weight,
                "points": ("—" if fmt == "table" else None) if r.points is None else r.points,
                "missing": r.result.missing,
                "evidence": ("；" if zh else "; ").join(r.result.evidence),
            }
        )
    if fmt == "csv":
        sep = "；" if zh else "; "
        band = score.band if zh or score.band is None else BAND_EN.get(score.band, score.band)
        rows.append(
            {
                "key": "total",
                "indicator": "总分（折算百分制）" if zh else "score (rescaled to 100)",
                "formula": "已计量指标得分 ÷ 已计量权重 × 100"
                if zh
                else "points earned ÷ weight measured × 100",
                "inputs": f"得 {score.points} / {score.measured_weight} 分"
                if zh
                else f"{score.points} of {score.measured_weight} points",
                "value": score.score,
                "target": None,
                "weight": score.measured_weight,
                "points": score.points,
                "missing": score.incomplete,
                "evidence": sep.join(x for x in [band or "", *score.consequences] if x),
            }
        )
    return rows


@command
@click.command("score")
@click.option("--at", "at_text", help="As of this time (site time unless it has a zone); default now.")
@format_option
@click.pass_context
def score_cmd(ctx: click.Context, at_text: str | None, fmt: str) -> None:
    """The contractor score: each indicator's formula, inputs, value, target, weight and points; then the
    total, the band, the consequences and what has no evidence (counted as missing, never as zero)."""

    with runtime(ctx) as rt:
        zone = rt.config.site.zone
        at = at_time(at_text, rt.config)
        with rt.store.session() as session:
            score = contractor_score(session, rt.rules.contract, zone, at, rt.config.language)
        if fmt == "json":
            click.echo(json.dumps(score_json(score, zone), ensure_ascii=False, indent=2))
            return
        rows = indicator_rows(score, fmt)
        if fmt == "csv":
            click.echo(render(rows, CSV_COLUMNS, "csv"))
            return
        click.echo(render(rows, TABLE_COLUMNS, "table"))
        click.echo("")
        for line in summary_lines(score):
            click.echo(line)
        zh = score.language == "zh"
        for r in score.indicators:
            if r.result.evidence:
                click.echo("")
                click.echo(f"【{r.name}】依据：" if zh else f"[{r.name}] evidence:")
                for item in r.result.evidence:
                    click.echo(f"  {item}")
