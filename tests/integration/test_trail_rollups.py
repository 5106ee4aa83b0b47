"""Issue 22: the hourly utilization roll-ups are sealed by day, in chunks of one resource's rows of one UTC day,
so a changed, removed or added hourly row is found by verify; late samples re-rolled into a sealed day and a
retention purge are lawful. On SQLite and PostgreSQL (`store`), and the fast SQLite reading of the chunks gives
the canonical texts to the byte."""

from __future__ import annotations

import hashlib
import json
import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text

from ops_watch.areas.resources import utilization
from ops_watch.areas.resources.utilization import rollup
from ops_watch.collect import hourly_sink
from ops_watch.config import Config
from ops_watch.sources.prometheus import HourlyRow
from ops_watch.store import Store
from ops_watch.store.schema import TrailSeal, UtilizationHourly, UtilizationSample
from ops_watch.trail import chain, rollups
from ops_watch.trail.canonical import row_text
from ops_watch.trail.genesis import seal_existing

DAY1 = datetime(2026, 11, 1, tzinfo=UTC)  # well in the past of any test run
DAY2 = DAY1 + timedelta(days=1)
HOUR = timedelta(hours=1)
MIN10 = timedelta(minutes=10)
NAME = "utilization_hourly"


def add(store: Store, *samples: tuple[str, datetime, float]) -> None:
    rows = [
        {"resource_id": rid, "at": at, "cpu_pct": cpu, "mem_pct": cpu / 2, "source": "test"}
        for rid, at, cpu in samples
    ]
    with store.session() as s:
        s.execute(insert(UtilizationSample), rows)


def two_days(store: Store) -> None:
    """vm-1 and vm-2, three hours on DAY1 and two on DAY2, two samples an hour."""
    add(
        store,
        *(
            (rid, day + h * HOUR + k * MIN10, 10.0 * h + k + (rid == "vm-2"))
            for rid in ("vm-1", "vm-2")
            for day, hours in ((DAY1, (0, 5, 23)), (DAY2, (1, 2)))
            for h in hours
            for k in range(2)
        ),
    )


def rollup_seals(store: Store) -> list[TrailSeal]:
    with store.session() as s:
        return list(
            s.scalars(
                select(TrailSeal)
                .where(TrailSeal.chain == chain.EVIDENCE, TrailSeal.kind.in_(("rollup", "purge")))
                .order_by(TrailSeal.seq)
            )
        )


def entries(seal: TrailSeal) -> dict[str, bytes]:
    return chain.unpack_entries(seal.entries).get(NAME, {})


def of(seal: TrailSeal) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(seal.body)["of"]
    return body


def stored_chunks(store: Store) -> dict[str, bytes]:
    """The chunks recomputed the plain way: the ORM's values through canonical.row_text."""
    by_chunk: dict[str, list[str]] = {}
    with store.session() as s:
        table = UtilizationHourly.__table__
        for row in s.execute(select(table).order_by(table.c.resource_id, table.c.hour)):
            key = rollups.chunk_key(row.resource_id, row.hour.date())
            by_chunk.setdefault(key, []).append(row_text(row))
    return {k: hashlib.sha256("\n".join(v).encode()).digest()[:16] for k, v in by_chunk.items()}


def verify(store: Store, since: int | None = None) -> list[Any]:
    with store.session() as s:
        seals = s.scalars(
            select(TrailSeal).where(TrailSeal.chain == chain.EVIDENCE).order_by(TrailSeal.seq)
        ).all()
        if since is not None:
            return rollups.verify_rollups_since(s, seals, since)
        return rollups.verify_rollups(s, seals)


def test_a_rollup_pass_seals_the_days_that_are_over_and_not_the_current_one(store: Store) -> None:
    two_days(store)
    rollup(store, DAY2 + 2 * HOUR - timedelta(seconds=1))  # DAY1 ended less than two hours ago
    assert rollup_seals(store) == []

    rollup(store, DAY2 + 10 * HOUR)
    (seal,) = rollup_seals(store)
    assert (seal.kind, seal.subject) == ("rollup", "rollup:2026-11-01..2026-11-01")
    sealed = entries(seal)
    assert sealed == {k: d for k, d in stored_chunks(store).items() if k.endswith("2026-11-01")}
    assert set(sealed) == {"vm-1\t2026-11-01", "vm-2\t2026-11-01"}
    assert of(seal)["days"] == ["2026-11-01"] and of(seal)["hours"] == 6
    assert verify(store) == []

    rollup(store, DAY2 + 10 * HOUR)  # nothing new: nothing sealed again
    assert len(rollup_seals(store)) == 1
    rollup(store, DAY2 + 26 * HOUR)  # DAY2 is over now, without a new sample
    assert [s.subject for s in rollup_seals(store)][-1] == "rollup:2026-11-02..2026-11-02"
    assert verify(store) == []


def test_a_changed_hourly_value_of_a_sealed_day_is_found_naming_the_chunk(store: Store) -> None:
    two_days(store)
    rollup(store, DAY2 + 10 * HOUR)
    with store.session() as s:
        s.execute(
            text("UPDATE utilization_hourly SET cpu_mean = 99.5 WHERE resource_id = 'vm-2' AND cpu_max < 10")
        )
        s.execute(text("UPDATE utilization_hourly SET cpu_mean = 1.0 WHERE hour >= :d"), {"d": DAY2})
    (found,) = verify(store)  # DAY2 is not sealed: its change is not looked at
    assert (found.what, found.table, found.key) == ("row_changed", NAME, "vm-2\t2026-11-01")
    assert "2026-11-01" in found.detail and "3 小时" in found.detail
    assert found.subject == "rollup:2026-11-01..2026-11-01"


def test_rows_added_to_or_deleted_from_a_sealed_day_are_found(store: Store) -> None:
    two_days(store)
    rollup(store, DAY2 + 10 * HOUR)
    with store.session() as s:
        s.execute(
            insert(UtilizationHourly),
            [{"resource_id": "vm-9", "hour": DAY1 + 4 * HOUR, "samples": 1, "cpu_mean": 5.0}],
        )
        s.execute(text("DELETE FROM utilization_hourly WHERE resource_id = 'vm-1' AND cpu_max < 10"))
    found = {(b.what, b.key) for b in verify(store)}
    assert found == {("row_added", "vm-9\t2026-11-01"), ("row_changed", "vm-1\t2026-11-01")}
    with store.session() as s:
        s.execute(text("DELETE FROM utilization_hourly WHERE resource_id = 'vm-1'"))
    found = {(b.what, b.key) for b in verify(store)}
    assert ("row_removed", "vm-1\t2026-11-01") in found


def test_a_late_sample_re_rolled_into_a_sealed_day_re_seals_that_chunk(store: Store) -> None:
    two_days(store)
    rollup(store, DAY2 + 10 * HOUR)
    (first,) = rollup_seals(store)
    add(store, ("vm-1", DAY1 + 5 * HOUR + 30 * timedelta(minutes=1), 77.0))
    rollup(store, DAY2 + 11 * HOUR)
    again = rollup_seals(store)[-1]
    assert again.seq > first.seq and again.kind == "rollup"
    assert set(entries(again)) == {"vm-1\t2026-11-01"}  # vm-2's chunk did not change
    assert entries(again)["vm-1\t2026-11-01"] == stored_chunks(store)["vm-1\t2026-11-01"]
    assert of(again)["superseded"] == {NAME: {"vm-1\t2026-11-01": first.seq}}
    assert verify(store) == []
    assert verify(store, since=again.seq) == []
    # A rewrite that leaves the rows as they were seals nothing.
    add(store, ("vm-3", DAY2 + 3 * HOUR, 1.0))
    rollup(store, DAY2 + 12 * HOUR)
    assert rollup_seals(store)[-1].seq == again.seq


def test_the_prometheus_back_fill_seals_what_it_writes(store: Store) -> None:
    counts: dict[str, int] = {}
    write = hourly_sink(store, counts)
    write([HourlyRow("pm-1", DAY1 + h * HOUR, 12, cpu_mean=1.5 * h) for h in range(24)])
    seal, *later = rollup_seals(store)  # DAY1 and every day after it that is over: one seal each
    assert seal.subject == "rollup:2026-11-01..2026-11-01"
    assert entries(seal) == stored_chunks(store) and not any(s.entries for s in later)
    sealed_days = [of(s)["days"][0] for s in rollup_seals(store)]
    assert sealed_days[0] == "2026-11-01" and len(sealed_days) >= 30  # today is 2026-12 or later
    # A back-fill of a sealed day (another resource) is sealed again for that chunk.
    write([HourlyRow("pm-2", DAY1 + 3 * HOUR, 12, cpu_mean=3.0)])
    last = rollup_seals(store)[-1]
    assert set(entries(last)) == {"pm-2\t2026-11-01"} and of(last)["superseded"] == {}
    assert verify(store) == []


def test_a_purge_of_old_roll_ups_is_lawful_a_delete_in_sql_is_not(store: Store) -> None:
    config = Config.model_validate({"utilization": {"raw_days": 7, "rollup_days": 30}})
    old = DAY1 - timedelta(days=40)
    add(store, *((rid, old + h * HOUR, float(h)) for rid in ("vm-1", "vm-2") for h in (1, 30, 50)))
    two_days(store)
    rollup(store, DAY2 + 10 * HOUR)
    before = stored_chunks(store)
    purged = {k: d for k, d in before.items() if k.rpartition("\t")[2] < "2026-10-02"}
    assert len(purged) == 6  # two resources, three days

    counts = utilization.purge(store, config, DAY2 + 10 * HOUR)
    assert counts["hourly"] == 6 and counts["hourly_before"] == "2026-10-03T00:00:00+00:00"
    purges = [s for s in rollup_seals(store) if s.kind == "purge" and s.subject == f"purge:{NAME}"]
    assert {k: d for s in purges for k, d in entries(s).items()} == purged
    assert "older than" in of(purges[0])["note"]
    assert verify(store) == []

    with store.session() as s:
        s.execute(
            text("DELETE FROM utilization_hourly WHERE resource_id = 'vm-2' AND hour < :d"), {"d": DAY2}
        )
    (found,) = verify(store)
    assert (found.what, found.key) == ("row_removed", "vm-2\t2026-11-01")


def test_the_fast_reading_equals_canonical_row_text(store: Store) -> None:
    """On SQLite the chunks are printed from the driver's values by orjson: the same text, byte for byte, as
    canonical.row_text over the values written (on PostgreSQL the canonical way is the only one)."""
    rnd = random.Random(22)
    awkward = [
        1e-5, 1.5e-7, 0.0001, 0.00012, 1e15, 1e16, 1.2345e17, 1e22, 0.1 + 0.2, 100.0, 5e-324,
        1.7976931348623157e308, math.inf, -math.inf, -3.25, None,
    ]  # fmt: skip
    values = awkward + [rnd.uniform(-1, 1) * 10 ** rnd.randint(-8, 20) for _ in range(400)]
    ids = ["vm-1", "tab\there", "back\\slash", "None-7", "null", "a,b", 'say "hi"', "云主机-01", "e1e5", "x"]
    ordinary = [rnd.uniform(0, 100) for _ in range(240)]  # printed a resource at once, the common case
    ids += ["plain-1", "plain-2", "one-odd"]
    rows = []
    for i, rid in enumerate(ids):
        for h in range(30):  # two days each, one of them partial
            if rid.startswith("plain") or rid == "one-odd":
                pick = [ordinary[(h * 8 + k) % len(ordinary)] for k in range(8)]
                if rid == "one-odd" and h == 20:
                    pick[3] = 3.5e-05  # this day only is printed the careful way
            else:
                pick = [values[(i * 31 + h * 9 + k) % len(values)] for k in range(8)]
            rows.append(
                {
                    "resource_id": rid,
                    "hour": DAY1 + (i + h) * HOUR,
                    "samples": h * 1000,
                    **dict(
                        zip(
                            [c for c in rollups.COLUMNS if c not in ("resource_id", "hour", "samples")],
                            pick,
                            strict=True,
                        )
                    ),
                }
            )
    with store.session() as s:
        s.execute(insert(UtilizationHourly), rows)
    expected: dict[str, list[str]] = {}
    for r in rows:
        key = rollups.chunk_key(r["resource_id"], r["hour"].date())
        expected.setdefault(key, []).append(row_text(r[c] for c in rollups.COLUMNS))
    want = {k: (len(v), hashlib.sha256("\n".join(v).encode()).digest()[:16]) for k, v in expected.items()}
    with store.session() as s:
        got = {c.key: (c.hours, c.digest) for c in rollups.chunks(s)}
        assert got == want
        some = {rollups.chunk_key(rid, DAY2.date()) for rid in ("tab\there", "x")}
        got = {
            c.key: (c.hours, c.digest) for c in rollups.chunks(s, DAY2, DAY2 + 24 * HOUR, ["tab\there", "x"])
        }
    assert got == {k: w for k, w in want.items() if k in some}
    assert {k: d for k, (_, d) in want.items()} == stored_chunks(store)  # and as the ORM reads them back


def test_genesis_seals_the_stored_roll_ups_of_every_day_over(store: Store) -> None:
    two_days(store)
    rollup(store, DAY2 + 10 * HOUR)
    with store.session() as s:
        s.execute(text("DELETE FROM trail_seals"))
    with store.session() as s:
        seal_existing(s)
    seals = rollup_seals(store)
    assert [s.subject for s in seals][:2] == [
        "rollup:2026-11-01..2026-11-01",
        "rollup:2026-11-02..2026-11-02",
    ]
    assert {k: d for s in seals for k, d in entries(s).items()} == stored_chunks(store)
    assert verify(store) == []
