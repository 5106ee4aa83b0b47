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

The sums per (resource, site day) are done by the database, one query a site day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session

from ops_watch.areas.resources.utilization import Window
from ops_watch.core.timeutil import local_day_bounds
from ops_watch.store.schema import UtilizationHourly

_H = UtilizationHourly.__table__.c
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


DAY_BATCH = 2000  # resource ids per IN (…) list of a day's query


def day_sums(
    session: Session, scope: Scope, resource_ids: Iterable[str], columns: Sequence[Any]
) -> dict[str, dict[date, tuple[Any, ...]]]:
    """resource id -> site day -> the aggregate `columns` over that day's roll-ups, for every day of the
    scope's span with a roll-up.

    One query a site day (and batch of resources), grouped by resource only: the database reads each
    resource's hours of the day through the (resource, hour) key in order and aggregates as it goes, with
    no sort (grouping by resource and day made SQLite sort every roll-up of the span: twice the time). The
    day's bounds come from the site's zone, so a day is a site day whatever the offset or DST."""
    ids = sorted(set(resource_ids))
    out: dict[str, dict[date, tuple[Any, ...]]] = defaultdict(dict)
    if not ids:
        return out
    stmt = (
        select(_H.resource_id, *columns)
        .where(
            _H.resource_id.in_(bindparam("ids", expanding=True)),
            _H.hour >= bindparam("lo"),
            _H.hour < bindparam("hi"),
        )
        .group_by(_H.resource_id)
    )
    for day in scope.span_days:
        lo, hi = local_day_bounds(day, scope.zone)
        for i in range(0, len(ids), DAY_BATCH):
            rows = session.execute(stmt, {"ids": ids[i : i + DAY_BATCH], "lo": lo, "hi": hi}).all()
            for row in rows:
                out[row[0]][day] = row[1:]
    return out


def runs(days: Iterable[date]) -> list[list[date]]:
    """Consecutive days grouped into runs, in order."""
    out: list[list[date]] = []
    for day in sorted(days):
        if out and day - out[-1][-1] == DAY:
            out[-1].append(day)
        else:
            out.append([day])
    return out


def counts_of(column: Any) -> list[Any]:
    """Hours with `column` and their samples: what coverage and the inferred interval read."""
    return [func.count(column), func.sum(case((column.is_not(None), _H.samples), else_=0))]


__all__ = ["DAY", "Scope", "counts_of", "day_sums", "runs", "scope_of"]
