"""`around` finds a person's stays that overlap a span by bisection; it must find exactly what a walk through
all of them finds (the staffing view calls it for every shift and every person)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from ops_watch.areas.staffing.presence import Stay, around

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _stays(rng: random.Random, n: int) -> list[Stay]:
    """`n` stays in time order that never overlap (a gap of zero allowed), some of them moments."""
    out, at = [], T0
    for _ in range(n):
        at += timedelta(minutes=rng.choice([0, 0, 5, 30, 600]))
        length = timedelta(minutes=rng.choice([0, 1, 45, 240, 720]))
        out.append(Stay(at, at + length, "moment" if not length else "paired", ()))
        at += length
    return out


@pytest.mark.parametrize("seed", range(20))
def test_around_finds_what_a_walk_finds(seed: int) -> None:
    rng = random.Random(seed)
    stays = _stays(rng, rng.choice([0, 1, 2, 50, 400]))
    span = (stays[-1].end - T0) if stays else timedelta(hours=1)
    for _ in range(200):
        start = T0 - timedelta(hours=2) + timedelta(seconds=rng.uniform(0, span.total_seconds() + 4 * 3600))
        end = start + timedelta(minutes=rng.choice([0, 1, 15, 720, 2000]))
        assert around(stays, start, end) == [s for s in stays if s.overlaps(start, end)]


def test_touching_ends_count_as_overlap() -> None:
    a = Stay(T0, T0 + timedelta(hours=1), "paired", ())
    b = Stay(T0 + timedelta(hours=1), T0 + timedelta(hours=2), "paired", ())
    assert around([a, b], T0 + timedelta(hours=1), T0 + timedelta(hours=1)) == [a, b]
    assert around([a, b], T0 + timedelta(hours=2), T0 + timedelta(hours=3)) == [b]
    assert around([a, b], T0 - timedelta(hours=1), T0 - timedelta(seconds=1)) == []
