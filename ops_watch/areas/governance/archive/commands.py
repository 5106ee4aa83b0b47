"""`ops-watch archive status`: each year's required documents in the archive folder (R10)."""

from __future__ import annotations

import json

import click

from ops_watch.areas.governance.archive.model import (
    STATUS_COLUMNS,
    archive_terms,
    bind_rules_dir,
    scan,
    status_json,
    status_rows,
    statuses,
)
from ops_watch.cli.common import (
    EXIT_CONFIG,
    at_time,
    command,
    fail,
    format_option,
    output_language,
    runtime,
    show,
)
from ops_watch.core.when import parse_year

FIRST_YEAR, LAST_YEAR = 1990, 2100


@command
@click.group("archive")
def archive_group() -> None:
    """档案归档：在档、缺失与保存期限 / The archive of the documents the center must keep (档案归档): present, missing, retention."""


@archive_group.command("status")
@click.option(
    "--year",
    "year_text",
    help="只看此年度的档案，如 2026；默认所有要求的年度 / Only this year's documents, e.g. 2026; default every year required.",
)
@click.option(
    "--at",
    "at_text",
    help="截至此日（站点时间，除非带时区）；默认现在 / As of this day (site time unless it has a zone); default now.",
)
@format_option
@click.pass_context
def archive_status_cmd(ctx: click.Context, year_text: str | None, at_text: str | None, fmt: str) -> None:
    """档案状态：按年度与文件 / Per year and document: present (已归档), missing (缺失) or not yet due (未到期), the matching files and
    the end of the retention period. The folder is `[archive] dir` in contract.toml, relative to the rules
    directory; it is only read."""

    with runtime(ctx) as rt:
        today = at_time(at_text, rt.config).astimezone(rt.config.site.zone).date()
        year = _year(year_text)
        contract = dict(rt.rules.contract)
        bind_rules_dir(contract, rt.config.rules_dir)
        terms = archive_terms(contract)
        folder = terms.folder()
        if folder is None:
            fail(
                "contract.toml: [archive] dir is not set: name the archive folder, e.g. "
                'dir = "../samples/archive" (relative to the rules directory)',
                EXIT_CONFIG,
            )
        result = scan(folder, terms.documents)
        if result.error:
            fail(result.error)
        items = statuses(terms, contract, result, today, year)
        if fmt == "json":
            click.echo(json.dumps(status_json(items, result), ensure_ascii=False, indent=2))
            return
        show(status_rows(items, output_language()), STATUS_COLUMNS, fmt)
        if fmt == "table":
            zh = output_language() == "zh"
            by = (
                "manifest.csv"
                if result.manifest is not None
                else ("文件名匹配" if zh else "file-name patterns")
            )
            click.echo(
                f"（归档目录：{folder}，依据：{by}）" if zh else f"(archive folder: {folder}, by {by})"
            )
            for problem in result.problems:
                click.echo(problem, err=True)


def _year(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        year = parse_year(text)
    except ValueError as exc:
        fail(f"--year: {exc}", EXIT_CONFIG)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        fail(f"--year: {year} is out of range ({FIRST_YEAR}–{LAST_YEAR}), e.g. --year 2026", EXIT_CONFIG)
    return year
