"""`ops-watch score`: the contractor score (R12) as of a time, every indicator with its formula, inputs and
evidence, so the contractor can check it line by line."""

from __future__ import annotations

import json

import click

from ops_watch.areas.money.score.model import contractor_score, indicator_rows, score_json, summary_lines
from ops_watch.cli.common import at_time, command, format_option, output_language, runtime, show

TABLE_COLUMNS = ["indicator", "formula", "inputs", "value", "target", "weight", "points"]
CSV_COLUMNS = ["key", *TABLE_COLUMNS, "missing", "evidence"]


@command
@click.command("score")
@click.option(
    "--at",
    "at_text",
    help="截至此时间（站点时间，除非带时区）；默认现在 / As of this time (site time unless it has a zone); default now.",
)
@format_option
@click.pass_context
def score_cmd(ctx: click.Context, at_text: str | None, fmt: str) -> None:
    """考核评分：各指标得分与总分 / The contractor score: each indicator's formula, inputs, value, target, weight and points; then the
    total, the band, the consequences and what has no evidence (counted as missing, never as zero)."""

    with runtime(ctx) as rt:
        zone = rt.config.site.zone
        at = at_time(at_text, rt.config)
        with rt.store.session() as session:
            score = contractor_score(session, rt.rules.contract, zone, at, output_language())
        if fmt == "json":
            click.echo(json.dumps(score_json(score, zone), ensure_ascii=False, indent=2))
            return
        rows = indicator_rows(score, "csv" if fmt == "xlsx" else fmt)  # xlsx: the CSV's rows, total included
        if fmt in ("csv", "xlsx"):
            show(rows, CSV_COLUMNS, fmt)
            return
        show(rows, TABLE_COLUMNS, fmt)
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
