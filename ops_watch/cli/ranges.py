"""The range flags of the listings: `--from DAY --to DAY`, site days, both inclusive, either one open.
(The commands that need a whole range, such as `check` and `staffing shifts`, declare their own.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

import click

from ops_watch.cli.common import EXIT_CONFIG, fail
from ops_watch.core.timeutil import local_day_bounds
from ops_watch.core.when import parse_date

F = TypeVar("F", bound=Callable[..., object])


def range_options(what: str) -> Callable[[F], F]:
    """`--from` and `--to` (into from_text, to_text): only rows whose `what` falls on these site days."""

    def decorate(func: F) -> F:
        func = click.option(
            "--to",
            "to_text",
            help=f"截止日（站点日期，含当天） / Only {what} on or before this day (site date).",
        )(func)
        return click.option(
            "--from",
            "from_text",
            help=f"起始日（站点日期，含当天），如 2026-11-01 / Only {what} on or after this day (site date), e.g. 2026-11-01.",
        )(func)

    return decorate


def site_day_range(
    from_text: str | None, to_text: str | None, zone: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """The UTC start of day --from and the UTC end of day --to (the start of the next), None when not given;
    a wrong date or a range that ends before it starts stops the command naming the flag."""
    first: date | None = None
    last: date | None = None
    try:
        if from_text:
            first = parse_date(from_text)
    except ValueError as exc:
        fail(f"--from: {exc}", EXIT_CONFIG)
    try:
        if to_text:
            last = parse_date(to_text)
    except ValueError as exc:
        fail(f"--to: {exc}", EXIT_CONFIG)
    if first and last and last < first:
        fail(f"--to {last} is before --from {first}", EXIT_CONFIG)
    start = local_day_bounds(first, zone)[0] if first else None
    end = local_day_bounds(last, zone)[1] if last else None
    return start, end
