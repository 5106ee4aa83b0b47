"""The days a resource check judges, and the roll-ups summed per resource and site day.

A windowed check judges each complete site day of its scope: the verdict of day d is over the `lookback`
whole days ending with d. The scope is the calendar month (site time) of the last complete day, up to that
day. Consecutive days with the same verdict form one episode, which is one finding whose period starts
with its first day. So "the month judged once" and "the month replayed day by day" give the same findings:
every evaluation judges every day of the month so far on a grid that does not depend on when it runs, and an
episode that ended (idle for the first two weeks, then busy) is still reported as what happened in its
period. A month boundary starts new episodes: a finding is about one month at most, so the scope of one
evaluation stays bounded (a month plus the look-back), and findings of past months are left as they are
(`ctx.scope_start`).

The sums per (resource, site day) are done by the database, one query a site day, once an evaluation
(`Daily`): every check of the evaluation reads them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session

from ops_watch.areas.resources.utilization import Window
from ops_watch.core.timeutil import local_day_bounds
from ops_watch.store.schema import InventoryResource, UtilizationHourly

_H = UtilizationHourly.__table__.c
_INVENTORY = InventoryResource.__table__
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Scope:
    """The site days judged at one evaluation, and how many days each verdict looks back over."""

    days: tuple[date, ...]  # the verdict days, in order: the month of the last complete day, up to it
    window_days: int
    zone: ZoneInfo

    def window(self, day: date) -> Window:
        """The whole days a verdict on `day` looks back over: `window_days` site days ending with it."""
        start = local_day_bounds(day - (self.window_days - 1) * DAY, self.zone)[0]
        return Window(start, local_day_bounds(day, self.zone)[1])

    @property
    def span(self) -> Window:
        """Every hour some verdict reads."""
        return Window(self.window(self.days[0]).start, self.window(self.days[-1]).end)

    @property
    def span_days(self) -> list[date]:
        """Every site day some verdict reads, in order."""
        first = self.days[0] - (self.window_days - 1) * DAY
        return [first + k * DAY for k in range((self.days[-1] - first).days + 1)]

    @property
    def start(self) -> datetime:
        """The start of the first verdict day (ctx.scope_start: earlier findings stay as they are)."""
        return local_day_bounds(self.days[0], self.zone)[0]

    def day_start(self, day: date) -> datetime:
        return local_day_bounds(day, self.zone)[0]

    def window_days_of(self, day: date) -> list[date]:
        return [day - k * DAY for k in range(self.window_days - 1, -1, -1)]


def scope_of(at: datetime, zone: ZoneInfo, lookback: timedelta) -> Scope:
    """The scope of an evaluation at `at`: the complete site days of the month of the last complete day."""
    last = at.astimezone(zone).date() - DAY  # the day before at's: complete (at midnight too)
    first = last.replace(day=1)
    days = tuple(first + k * DAY for k in range((last - first).days + 1))
    return Scope(days, max(1, round(lookback / DAY)), zone)


def _samples_with(column: Any) -> Any:
    """The samples of the hours that have `column` (what coverage and the inferred interval read)."""
    return func.sum(case((column.is_not(None), _H.samples), else_=0))


# What the checks read of a resource's site day, by name: aggregates of that day's hourly roll-ups. Every
# check takes its figures from this one row, so a day is read once an evaluation whatever the checks.
_AGGREGATES: dict[str, Any] = {
    "hours": func.count(),  # hours rolled up (stale_resource)
    "samples": func.sum(_H.samples),
    "cpu_hours": func.count(_H.cpu_p95),  # hours with CPU figures (idle_cpu, oversized_cpu)
    "cpu_samples": _samples_with(_H.cpu_p95),
    "cpu_p95_max": func.max(_H.cpu_p95),  # a day at or below a line has no hour above it (Daily.above)
    "cpu_mean_hours": func.count(_H.cpu_mean),  # hours with a CPU mean (platform_utilization)
    "cpu_mean_samples": _samples_with(_H.cpu_mean),
    "cpu_mean_sum": func.sum(_H.cpu_mean),
    "busiest": func.max(_H.cpu_mean),  # the busiest hour's mean
    "cpu_max": func.max(_H.cpu_max),  # the highest sample
    "mem_hours": func.count(_H.mem_mean),
    "mem_samples": _samples_with(_H.mem_mean),
    "mem_sum": func.sum(_H.mem_mean),
    "storage_hours": func.count(_H.storage_used_gb),
    "storage_samples": _samples_with(_H.storage_used_gb),
    "storage_sum": func.sum(_H.storage_used_gb),
    "storage_max": func.max(_H.storage_used_gb),
    "storage_total_max": func.max(_H.storage_total_gb),
}
COLUMN = {name: k for k, name in enumerate(_AGGREGATES)}  # name -> index in a day's row
# A metric's hours and samples (the indexes of its two counts): coverage and the inferred interval read them.
METRICS = {
    "any": (COLUMN["hours"], COLUMN["samples"]),
    "cpu": (COLUMN["cpu_hours"], COLUMN["cpu_samples"]),
    "cpu_mean": (COLUMN["cpu_mean_hours"], COLUMN["cpu_mean_samples"]),
    "mem": (COLUMN["mem_hours"], COLUMN["mem_samples"]),
    "storage": (COLUMN["storage_hours"], COLUMN["storage_samples"]),
}
DAY_BATCH = 2000  # resource ids per IN (…) list of a day's threshold query

Row = tuple[Any, ...]


class Daily:
    """The roll-ups summed per resource and site day, read once an evaluation and shared by its checks
    (`daily(ctx)`, kept in ctx.memo): the windowed checks and stale_resource read the same days.

    One query a site day for every inventoried resource, grouped by resource only: the database reads each
    resource's hours of the day through the (resource, hour) key in order and aggregates as it goes, with no
    sort (grouping by resource and day made SQLite sort every roll-up of the span: twice the time). The
    day's bounds come from the site's zone, so a day is a site day whatever the offset or DST."""

    def __init__(self, zone: ZoneInfo):
        self.zone = zone
        self._days: dict[date, dict[str, Row]] = {}
        self._above: dict[tuple[str, float, date], dict[str, int]] = {}
        self.shared: dict[Any, Any] = {}  # what checks derive from the sums alike (see checks._days_of)

    def day(self, session: Session, day: date) -> dict[str, Row]:
        """resource id -> its row (COLUMN) of `day`, for every inventoried resource with a roll-up that day."""
        rows = self._days.get(day)
        if rows is None:
            lo, hi = local_day_bounds(day, self.zone)
            stmt = (
                select(_H.resource_id, *_AGGREGATES.values())
                .where(
                    _H.resource_id.in_(select(_INVENTORY.c.resource_id)),
                    _H.hour >= lo,
                    _H.hour < hi,
                )
                .group_by(_H.resource_id)
            )
            rows = self._days[day] = {row[0]: tuple(row[1:]) for row in session.execute(stmt)}
        return rows

    def sums(
        self, session: Session, days: Iterable[date], resource_ids: Iterable[str]
    ) -> dict[str, dict[date, Row]]:
        """resource id -> site day -> its row (COLUMN), for each of `days` with a roll-up of the resource."""
        wanted = set(resource_ids)
        out: dict[str, dict[date, Row]] = defaultdict(dict)
        for day in days:
            for rid, row in self.day(session, day).items():
                if rid in wanted:
                    out[rid][day] = row
        return out

    def above(
        self, session: Session, days: Iterable[date], column: str, line: float, resource_ids: Iterable[str]
    ) -> dict[str, dict[date, int]]:
        """resource id -> site day -> its hours whose `column` (cpu_p95) is above `line`, for each of `days`
        with a roll-up. Counted in the database only for a day whose highest value is over the line (at or
        below it, none is above), and once an evaluation for each resource, day and line."""
        top = COLUMN[f"{column}_max"]
        ids = sorted(set(resource_ids))
        out: dict[str, dict[date, int]] = defaultdict(dict)
        col = getattr(_H, column)
        stmt = (
            select(_H.resource_id, func.sum(case((col > bindparam("line"), 1), else_=0)))
            .where(
                _H.resource_id.in_(bindparam("ids", expanding=True)),
                _H.hour >= bindparam("lo"),
                _H.hour < bindparam("hi"),
            )
            .group_by(_H.resource_id)
        )
        for day in days:
            rows = self.day(session, day)
            known = self._above.setdefault((column, line, day), {})
            over = []
            for rid in ids:
                row = rows.get(rid)
                if row is None:
                    continue
                if rid in known:
                    out[rid][day] = known[rid]
                elif row[top] is not None and row[top] > line:
                    over.append(rid)
                else:
                    out[rid][day] = 0
            if not over:
                continue
            lo, hi = local_day_bounds(day, self.zone)
            counted = {}
            for i in range(0, len(over), DAY_BATCH):
                params = {"ids": over[i : i + DAY_BATCH], "line": line, "lo": lo, "hi": hi}
                counted.update((rid, n) for rid, n in session.execute(stmt, params))
            for rid in over:
                out[rid][day] = known[rid] = counted.get(rid) or 0
        return out


def daily(ctx: Any) -> Daily:
    """The evaluation's Daily (ctx: a CheckContext; its memo lives for one evaluation)."""
    key = f"resources.daily.{ctx.zone.key}"
    found = ctx.memo.get(key)
    if found is None:
        found = ctx.memo[key] = Daily(ctx.zone)
    return found


def runs(days: Iterable[date]) -> list[list[date]]:
    """Consecutive days grouped into runs, in order."""
    out: list[list[date]] = []
    for day in sorted(days):
        if out and day - out[-1][-1] == DAY:
            out[-1].append(day)
        else:
            out.append([day])
    return out


__all__ = ["COLUMN", "DAY", "METRICS", "Daily", "Scope", "daily", "runs", "scope_of"]
