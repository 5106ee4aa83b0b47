"""What a finding rests on (trail/grounds.py): every table with batch rows has its time declared (or is declared a
state), the declared columns exist with the declared kind, and a window selects the period keys and days it
overlaps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ops_watch.trail.grounds import TIME_COLUMNS, WINDOW_DAYS, period_keys, window_of
from ops_watch.trail.rows import batch_tables

ZONE = ZoneInfo("Asia/Shanghai")


def test_every_batch_table_has_its_time_declared() -> None:
    names = {t.name for t in batch_tables()}
    assert set(TIME_COLUMNS) == names, (
        f"declare these in trail/grounds.py TIME_COLUMNS: {sorted(names - set(TIME_COLUMNS))}; "
        f"no longer batch tables: {sorted(set(TIME_COLUMNS) - names)}"
    )
    kinds = {"time": datetime, "date": date, "period": str}
    for table in batch_tables():
        spec = TIME_COLUMNS[table.name]
        if spec is None:
            continue
        column, kind = spec
        assert column in table.c, f"{table.name}.{column}: no such column"
        python = getattr(
            table.c[column].type, "impl", table.c[column].type
        ).python_type  # a TypeDecorator: its impl
        assert python is kinds[kind], f"{table.name}.{column} holds {python.__name__}, not a {kind}"


def test_period_keys_cover_months_quarters_and_years() -> None:
    assert period_keys(date(2026, 10, 19), date(2026, 11, 16)) == [
        "2026",
        "2026-10",
        "2026-11",
        "2026-Q4",
    ]
    assert period_keys(date(2025, 12, 31), date(2026, 1, 1)) == [
        "2025",
        "2025-12",
        "2025-Q4",
        "2026",
        "2026-01",
        "2026-Q1",
    ]


def test_a_window_is_the_period_or_the_days_before_the_evaluation() -> None:
    at = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)
    start = datetime(2026, 11, 4, 0, 0, tzinfo=UTC)
    end = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
    shift = window_of(start, end, at, ZONE)
    assert (shift.start.isoformat(), shift.end.isoformat()) == (
        "2026-11-04T08:00:00+08:00",
        "2026-11-04T20:00:00+08:00",
    )
    state = window_of(None, None, at, ZONE)
    assert state.end == at and state.end - state.start == timedelta(days=WINDOW_DAYS)
    still_open = window_of(start, None, at, ZONE)
    assert (still_open.start, still_open.end) == (start, at)
