"""`ops-watch score`: the contractor score (R12) as of a time, every indicator with its formula, inputs and
evidence, so the contractor can check it line by line."""

from __future__ import annotations

import json

import click

from ops_watch.areas.money.score.model import contractor_score, indicator_rows, score_json, summary_lines
from ops_watch.cli.common import at_time, command, format_option, runtime
from ops_watch.core.output import render

TABLE_COLUMNS = ["indicator", "formula", "inputs", "value", "target", "weight", "points"]
CSV_COLUMNS = ["key", *TABLE_COLUMNS, "missing", "evidence"]


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
