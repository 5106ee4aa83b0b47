"""`verify` on a store holding every kind of the examples and the findings judged from them, on SQLite and
PostgreSQL: intact, it finds nothing (the digests sealed at write time are the ones read back); each layer
tampered with outside ops-watch (a row, a batch, a file, a decision, the chain itself, its heads) is named."""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, func, insert, select, update

from ops_watch.areas.governance.inspections.kind import InspectionRow, save_record
from ops_watch.config import Config
from ops_watch.findings import engine
from ops_watch.findings.rules import load_rules
from ops_watch.ingest import ingest_drop_folder, ingest_file
from ops_watch.store import Store
from ops_watch.store.schema import (
    DoorEvent,
    EvidenceBatch,
    FindingEvent,
    HandoverShift,
    InspectionRecord,
    StaffMember,
    TrailSeal,
    UtilizationHourly,
)
from ops_watch.trail import chain, evidence, index
from ops_watch.trail import rows as trail_rows
from ops_watch.trail.breaks import PublishedHead
from ops_watch.trail.canonical import entries_digest
from ops_watch.trail.verify import Report, last_verified, remember, verify

ROOT = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2026, 11, 16, 9, 0, tzinfo=ZONE)


@pytest.fixture
def site(store: Store, tmp_path: Path) -> tuple[Store, Config]:
    """Every example dropped and ingested (moved to processed/), the rules judged, one finding acknowledged."""
    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    config = Config.model_validate(
        {
            "paths": {"state_dir": str(tmp_path / "var")},
            "ingest": {"drop_dir": str(tmp_path / "drop")},
            "doors": example["doors"],
            "backups": example["backups"],
        }
    )
    for kind in sorted(os.listdir(ROOT / "examples")):
        shutil.copytree(ROOT / "examples" / kind, config.drop_dir / kind)
    produced = datetime(2026, 11, 16, 8, 0, tzinfo=ZONE).timestamp()
    for path in config.drop_dir.rglob("*"):
        os.utime(path, (produced, produced))
    results = ingest_drop_folder(store, config)
    assert len(results) == len(list((ROOT / "examples").rglob("*.*")))
    assert {r.status for r in results} <= {"accepted", "partial"}
    engine.evaluate(store, load_rules(ROOT / "rules"), AS_OF, zone=ZONE)
    with store.session() as s:
        first = s.scalar(select(func.min(FindingEvent.finding_id)))
    engine.acknowledge(store, first, "李雷", "已通知服务商整改")
    with store.session() as s:  # as the trail job does: each batch's rows named in its index
        assert index.index_new(s) == (21, [])
    return store, config


def check(store: Store, **options: object) -> Report:
    with store.session(see_loading=True) as session:
        return verify(session, zone=ZONE, **options)  # type: ignore[arg-type]


def found(report: Report) -> list[tuple[str, str, str, str]]:
    return [(b.what, b.subject, b.table, b.key) for b in report.breaks]


def published(store: Store, name: str = chain.EVIDENCE) -> PublishedHead:
    with store.session() as s:
        head = chain.head(s, name)
    assert head is not None
    return PublishedHead(head.chain, head.seq, head.hash, "reports/2026-W46/manifest.json")


def seal_seq(store: Store, batch_id: int) -> int:
    with store.session() as s:
        subject = trail_rows.subject_of(batch_id)
        return s.scalar(
            select(TrailSeal.seq).where(TrailSeal.subject == subject, TrailSeal.kind != index.INDEX)
        )


def test_intact_finds_nothing_and_counts_what_it_read(site: tuple[Store, Config]) -> None:
    store, _ = site
    report = check(store)
    assert report.breaks == [] and report.ok and report.first is None
    with store.session() as s:
        batches = s.scalar(select(func.count()).select_from(EvidenceBatch))
        rows = sum(s.scalar(select(func.count()).select_from(t)) or 0 for t in trail_rows.batch_tables())
        events = s.scalar(select(func.count()).select_from(FindingEvent))
    assert report.batches == batches == 21
    assert report.files == 21  # every example file, hashed again in processed/
    assert report.rows == rows > 8000
    assert report.decisions >= events > 1
    assert set(report.verified) == {chain.EVIDENCE, chain.DECISIONS}


def test_a_door_events_time_changed_in_sql(site: tuple[Store, Config]) -> None:
    store, _ = site
    table = DoorEvent.__table__
    with store.engine.begin() as conn:
        row = conn.execute(
            select(table.c.id, table.c.at, table.c.dedupe_key, table.c.batch_id).limit(1)
        ).one()
        conn.execute(update(table).where(table.c.id == row.id).values(at=row.at + timedelta(minutes=20)))
    report = check(store)
    assert found(report) == [
        ("row_changed", trail_rows.subject_of(row.batch_id), "door_events", row.dedupe_key)
    ]
    first = report.first
    assert first is not None and first.seq == seal_seq(store, row.batch_id)
    assert f"id {row.id}" in first.detail
    assert "证据行被改动" in first.text("zh") and "door_events" in first.text("en")


def test_a_handover_row_deleted(site: tuple[Store, Config]) -> None:
    store, _ = site
    table = HandoverShift.__table__
    with store.engine.begin() as conn:
        row = conn.execute(select(table.c.id, table.c.date, table.c.shift, table.c.batch_id).limit(1)).one()
        conn.execute(delete(table).where(table.c.id == row.id))
    report = check(store)
    assert found(report) == [
        ("row_removed", trail_rows.subject_of(row.batch_id), "handover_shifts", f"{row.date}\t{row.shift}")
    ]


def test_rows_changed_before_their_batch_was_indexed_are_named_by_batch_table_count_and_file(
    site: tuple[Store, Config], tmp_path: Path
) -> None:
    """Between a batch's seal and the trail job's next run its rows have no index: a change is still caught by the
    batch digest and named as far as it can be (the batch, the table, sealed and current counts, the file), and
    the job leaves that batch unindexed rather than index what was changed."""
    store, config = site
    result = ingest_file(store, config, "staff", corrected_staff(tmp_path))
    staff = StaffMember.__table__
    with store.engine.begin() as conn:
        conn.execute(delete(staff).where(staff.c.person_id == "YW-002"))
    report = check(store)
    assert found(report) == [("row_removed", trail_rows.subject_of(result.batch_id), "staff", "")]
    first = report.first
    assert first is not None and first.file == str(result.stored_path)
    assert "sealed 12 rows, now 11" in first.detail and "封印时 12 行，现在 11 行" in first.detail
    with store.session() as s:
        assert index.index_new(s) == (0, [result.batch_id])
        assert not index.indexed(s, [result.batch_id])


def test_a_batch_inserted_out_of_order_then_a_seal_forged_for_it(site: tuple[Store, Config]) -> None:
    store, _ = site
    batches, doors = EvidenceBatch.__table__, DoorEvent.__table__
    old = datetime(2026, 10, 1, 8, 0, tzinfo=ZONE)
    with store.engine.begin() as conn:
        batch_id = conn.execute(
            insert(batches)
            .values(
                kind="door",
                source="补录门禁.csv",
                received_at=old,
                evidence_time=old,
                status="accepted",
                rows_total=1,
                rows_ok=1,
                detail="",
                stored_path="",
            )
            .returning(batches.c.id)
        ).scalar_one()
        conn.execute(
            insert(doors).values(
                at=old,
                person_id="YW-001",
                name="王建国",
                result="granted",
                dedupe_key="forged:1",
                batch_id=batch_id,
            )
        )
    report = check(store)
    assert found(report) == [
        ("unsealed_batch", trail_rows.subject_of(batch_id), "", ""),
        ("row_added", trail_rows.subject_of(batch_id), "door_events", "forged:1"),
    ]

    # The forger now seals the batch in the middle of the chain: later seals renumbered, the links recomputed for
    # the forged seal itself.
    forged_at = 5
    with store.session() as s:
        batch = s.get(EvidenceBatch, batch_id)
        read = trail_rows.read_batch(s, doors, batch_id, entries=False)
        body = {
            "batch": evidence.batch_record(batch),
            "file_sha256": "",
            "rows": {"door_events": {"count": read.count, "digest": read.digest}},
            "superseded": {},
        }
        prev = s.scalar(
            select(TrailSeal.hash).where(TrailSeal.chain == chain.EVIDENCE, TrailSeal.seq == forged_at - 1)
        )
    text = chain.body_text(
        chain.framed(chain.EVIDENCE, forged_at, "batch", trail_rows.subject_of(batch_id), old, body)
    )
    seals = TrailSeal.__table__
    later = (seals.c.chain == chain.EVIDENCE) & (seals.c.seq >= forged_at)
    with store.engine.begin() as conn:  # in two steps: (chain, seq) is unique at every row on PostgreSQL
        conn.execute(update(seals).where(later).values(seq=seals.c.seq + 100_000))
        conn.execute(
            update(seals)
            .where((seals.c.chain == chain.EVIDENCE) & (seals.c.seq >= 100_000))
            .values(seq=seals.c.seq - 100_000 + 1)
        )
        conn.execute(
            insert(seals).values(
                chain=chain.EVIDENCE,
                seq=forged_at,
                kind="batch",
                subject=trail_rows.subject_of(batch_id),
                sealed_at=old,
                body=text,
                prev=prev,
                hash=chain.seal_hash(prev, text),
            )
        )
    report = check(store)
    assert [(b.what, b.seq) for b in report.breaks] == [
        ("link_broken", forged_at + 1),
        (
            "seal_changed",
            forged_at + 1,
        ),  # its body says it is #5: moved; the seals after it are not listed again
    ]
    assert f"#{forged_at}" in report.breaks[1].detail


def test_an_archived_file_replaced_by_one_of_the_same_size(site: tuple[Store, Config]) -> None:
    store, config = site
    with store.session() as s:
        batch = s.scalars(select(EvidenceBatch).where(EvidenceBatch.kind == "handover")).one()
    path = Path(batch.stored_path)
    assert path.is_relative_to(config.drop_dir / "processed")
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    report = check(store)
    assert [(b.what, b.subject, b.file) for b in report.breaks] == [
        ("file_changed", trail_rows.subject_of(batch.id), str(path))
    ]
    assert batch.sha256 in report.breaks[0].detail
    assert check(store, files=False).ok  # --no-files: the rows alone are intact
    path.unlink()
    assert [b.what for b in check(store).breaks] == ["file_missing"]


def test_a_finding_events_reason_edited(site: tuple[Store, Config]) -> None:
    store, _ = site
    table = FindingEvent.__table__
    with store.engine.begin() as conn:
        event_id = conn.execute(select(func.max(table.c.id))).scalar_one()
        conn.execute(update(table).where(table.c.id == event_id).values(reason="服务商已整改"))
    report = check(store)
    assert found(report) == [
        ("decision_changed", f"finding_events:{event_id}", "finding_events", str(event_id))
    ]
    detail = report.breaks[0].detail
    assert detail.startswith("reason: sealed '已通知服务商整改', now '服务商已整改'") and ";" not in detail
    assert report.breaks[0].chain == chain.DECISIONS


def test_the_chain_table_truncated(site: tuple[Store, Config]) -> None:
    store, _ = site
    head = published(store)
    with store.session() as s:
        batch_ids = set(s.scalars(select(EvidenceBatch.id)))
    with store.engine.begin() as conn:
        conn.execute(delete(TrailSeal.__table__))
    report = check(store, heads=[head])
    unsealed = {b.subject for b in report.breaks if b.what == "unsealed_batch"}
    assert unsealed == {trail_rows.subject_of(i) for i in batch_ids}
    beyond = [b for b in report.breaks if b.what == "head_beyond"]
    assert [(b.chain, b.seq) for b in beyond] == [(chain.EVIDENCE, head.seq)]
    assert "reports/2026-W46/manifest.json" in beyond[0].detail
    assert {b.what for b in report.breaks} == {
        "unsealed_batch",
        "row_added",
        "head_beyond",
        "decision_added",
    }


def test_the_chain_rewritten_to_match_is_caught_by_a_head_published_before(
    site: tuple[Store, Config],
) -> None:
    store, _ = site
    before = published(store)
    with store.session() as s:  # a day's head published before the door batches came: still true after
        hash_2 = s.scalar(select(TrailSeal.hash).where(TrailSeal.chain == chain.EVIDENCE, TrailSeal.seq == 2))
    early = PublishedHead(chain.EVIDENCE, 2, hash_2, "trail_heads 2026-11-16")
    table = DoorEvent.__table__
    with store.engine.begin() as conn:
        row = conn.execute(select(table.c.id, table.c.batch_id).order_by(table.c.id).limit(1)).one()
        conn.execute(update(table).where(table.c.id == row.id).values(result="denied"))
    reseal(store, row.batch_id)
    assert check(store).ok  # consistent in itself: only what was published before can tell
    report = check(store, heads=[early, before])
    assert [(b.what, b.chain, b.seq) for b in report.breaks] == [
        ("head_mismatch", chain.EVIDENCE, before.seq)
    ]
    assert before.hash in report.breaks[0].detail and before.where in report.breaks[0].detail


def reseal(store: Store, batch_id: int) -> None:
    """What a forger with the database does: the batch's seal rewritten to its rows now, and every hash after."""
    seals = TrailSeal.__table__
    with store.session() as s:
        batch = s.get(EvidenceBatch, batch_id)
        rows = evidence.batch_rows(s, batch)
        start = seal_seq(store, batch_id)
        prev = s.scalar(select(seals.c.hash).where(seals.c.chain == chain.EVIDENCE, seals.c.seq == start - 1))
        later = s.execute(
            select(seals.c.id, seals.c.seq, seals.c.body, seals.c.entries)
            .where(seals.c.chain == chain.EVIDENCE, seals.c.seq >= start)
            .order_by(seals.c.seq)
        ).all()
    with store.engine.begin() as conn:
        for seal in later:
            body, entries = json.loads(seal.body), seal.entries
            if seal.seq == start:
                body["of"]["rows"] = {t: {"count": n, "digest": d} for t, (n, d) in rows.items()}
            text = chain.body_text(body)
            prev = chain.seal_hash(prev, text)
            conn.execute(
                update(seals).where(seals.c.id == seal.id).values(body=text, entries=entries, hash=prev)
            )
        # the prev of each seal after the first: the hash just written before it
        hashes = dict(
            conn.execute(select(seals.c.seq, seals.c.hash).where(seals.c.chain == chain.EVIDENCE)).all()
        )
        for seal in later:
            if seal.seq > start:
                conn.execute(update(seals).where(seals.c.id == seal.id).values(prev=hashes[seal.seq - 1]))


def test_an_upsert_kind_ingested_again_stays_intact(site: tuple[Store, Config], tmp_path: Path) -> None:
    store, config = site
    corrected = corrected_staff(tmp_path)
    result = ingest_file(store, config, "staff", corrected)
    assert result.status == "accepted"
    with store.session() as s:
        seal = s.scalars(
            select(TrailSeal).where(TrailSeal.subject == trail_rows.subject_of(result.batch_id))
        ).one()
        renamed = s.get(StaffMember, "YW-001")
    assert renamed.name == "王建华" and renamed.batch_id == result.batch_id
    assert json.loads(seal.body)["of"]["superseded"]["staff"]  # the earlier registry's rows, taken over
    assert check(store).ok


def test_rows_replaced_before_their_batch_was_indexed_are_indexed_first(store: Store, tmp_path: Path) -> None:
    """A registry corrected before the trail job ran: the first registry's batch is indexed on the spot, before
    the correction replaces its rows, so verify can still tell its other rows and expects the replaced ones gone;
    then a row of it changed is named."""
    config = Config.model_validate({"paths": {"state_dir": str(tmp_path / "var")}})
    first = ingest_file(store, config, "staff", ROOT / "examples" / "staff" / "staff.xlsx")
    with store.session() as s:
        assert not index.indexed(s, [first.batch_id])
    second = ingest_file(store, config, "staff", corrected_staff(tmp_path, only="YW-001"))
    with store.session() as s:
        seals = s.scalars(select(TrailSeal).where(TrailSeal.chain == chain.EVIDENCE).order_by(TrailSeal.seq))
        order = [(x.kind, trail_rows.batch_of(x.subject)) for x in seals]
    # The first batch's index comes before the seal of the batch that replaced its rows.
    assert order == [("batch", first.batch_id), (index.INDEX, first.batch_id), ("batch", second.batch_id)]
    assert check(store).ok
    staff = StaffMember.__table__
    with store.engine.begin() as conn:
        kept = (
            conn.execute(select(staff.c.person_id).where(staff.c.batch_id == first.batch_id)).scalars().all()
        )
        assert kept  # rows the correction did not replace stay the first batch's
        conn.execute(update(staff).where(staff.c.person_id == kept[0]).values(role="项目经理"))
    assert found(check(store)) == [("row_changed", trail_rows.subject_of(first.batch_id), "staff", kept[0])]


def test_inspection_records_entered_by_hand_are_sealed_and_replace_a_files_lawfully(
    site: tuple[Store, Config],
) -> None:
    """A record entered by `inspections record` or the console is a batch of its own, sealed; one that replaces
    the record a file brought takes it over lawfully; a hand-entered record changed in SQL is named."""
    store, _ = site
    fixed = InspectionRow(
        day=date(2026, 11, 4),
        area="records",
        inspector="李科长",
        result="problems",
        problems="交接班表无接班人签字",
        rectify_by=date(2026, 11, 12),
        rectified_on=date(2026, 11, 10),
        note="已补签",
    )
    assert save_record(store, fixed, "控制台 console: 李科长")  # the file's record of that day and area
    later = InspectionRow(date(2026, 11, 20), "site", "李科长", "pass", "", None, None, "")
    assert not save_record(store, later, "ops-watch inspections record (root)")
    assert check(store).ok
    with store.session() as s:
        entered = s.scalars(
            select(EvidenceBatch).where(EvidenceBatch.source.like("ops-watch inspections%"))
        ).one()
        assert (entered.kind, entered.rows_ok) == ("inspection", 1)
        assert index.index_new(s) == (2, [])
    table = InspectionRecord.__table__
    with store.engine.begin() as conn:
        conn.execute(update(table).where(table.c.day == date(2026, 11, 20)).values(inspector="某人"))
    assert found(check(store)) == [
        ("row_changed", trail_rows.subject_of(entered.id), "inspection_records", "2026-11-20\tsite")
    ]


def corrected_staff(tmp_path: Path, only: str = "") -> Path:
    """The staff registry with one name corrected (an upsert kind: the new file replaces the rows by key);
    `only`: the file holds that person's row alone."""
    book = load_workbook(ROOT / "examples" / "staff" / "staff.xlsx")
    sheet = book.active
    for row in sheet.iter_rows():
        if row[0].value == "YW-001":
            row[1].value = "王建华"
    if only:
        for i in range(sheet.max_row, 1, -1):
            if sheet.cell(i, 1).value not in (only, "工号"):  # the header kept
                sheet.delete_rows(i)
    path = tmp_path / "staff-corrected.xlsx"
    book.save(path)
    return path


def test_incremental_looks_at_the_new_seals_only(site: tuple[Store, Config], tmp_path: Path) -> None:
    store, config = site
    with store.session() as s:
        full = verify(s, zone=ZONE)
        assert remember(s, full)
    with store.session() as s:
        since = last_verified(s)
    assert since == {name: seq for name, (seq, _) in full.verified.items()}
    quiet = check(store, since=since)
    assert quiet.ok and (quiet.batches, quiet.rows, quiet.seals) == (0, 0, 2)

    result = ingest_file(store, config, "staff", corrected_staff(tmp_path))
    with store.session() as s:
        assert index.index_new(s) == (1, [])
    staff, doors = StaffMember.__table__, DoorEvent.__table__
    with store.engine.begin() as conn:  # one row of the new batch, and one of an old one already verified
        conn.execute(update(staff).where(staff.c.person_id == "YW-002").values(role="项目经理"))
        conn.execute(update(doors).where(doors.c.id == 1).values(result="denied"))
    report = check(store, since=since)
    assert found(report) == [("row_changed", trail_rows.subject_of(result.batch_id), "staff", "YW-002")]
    assert report.batches == 1 and report.rows == 12
    assert {b.table for b in check(store).breaks} == {"staff", "door_events"}  # a whole run sees both


def test_a_broken_run_is_not_remembered(site: tuple[Store, Config]) -> None:
    store, _ = site
    table = FindingEvent.__table__
    with store.engine.begin() as conn:
        conn.execute(update(table).where(table.c.id == 1).values(actor="someone"))
    with store.session() as s:
        assert not remember(s, verify(s, zone=ZONE))
    with store.session() as s:
        assert last_verified(s) == {}


def test_days_limit_rows_and_files_to_the_seals_of_those_days(site: tuple[Store, Config]) -> None:
    store, _ = site
    with store.session() as s:
        sealed = s.scalar(select(func.max(TrailSeal.sealed_at)))
    day = sealed.astimezone(ZONE).date()
    today = check(store, days=(day, day))
    assert today.ok and today.batches == 21 and today.files == 21
    before = check(store, days=(None, day - timedelta(days=1)))
    assert before.ok and (before.batches, before.rows, before.files, before.decisions) == (0, 0, 0, 0)
    assert before.seals == today.seals  # the links, always whole


def test_a_lawful_purge_against_a_deletion(site: tuple[Store, Config]) -> None:
    """A purge seal holding the removed rows' keys and digests makes their absence lawful; the same rows deleted
    without one are removed evidence."""
    store, _ = site
    table = DoorEvent.__table__
    with store.session() as s:
        gone = list(trail_rows.read_rows(s, table, table.c.id <= 3))
    with store.engine.begin() as conn:
        conn.execute(delete(table).where(table.c.id <= 5))
    with store.session() as s:
        entries = {"door_events": {k: d for _, k, d in gone}}
        batches = {str(b): sum(1 for g in gone if g[0] == b) for b in {g[0] for g in gone}}
        body = {
            "table": "door_events",
            "note": "older than 2026-10-20",
            "batches": batches,
            "rows": {"count": len(gone), "digest": entries_digest(entries["door_events"])},
        }
        chain.append(s, chain.EVIDENCE, "purge", "purge:door_events", body, chain.pack_entries(entries))
    report = check(store)
    assert [b.what for b in report.breaks] == [
        "row_removed",
        "row_removed",
    ]  # ids 4 and 5: no purge holds them
    assert {b.key for b in report.breaks}.isdisjoint({k for _, k, _ in gone})


def test_an_hourly_roll_up_changed_is_named_by_its_day_chunk(site: tuple[Store, Config]) -> None:
    """The hourly roll-ups are sealed by day (trail/rollups.py): verify runs their check with the rest."""
    store, _ = site
    table = UtilizationHourly.__table__
    with store.session() as s:
        sealed = s.scalar(select(func.count()).select_from(TrailSeal).where(TrailSeal.kind == "rollup"))
    assert sealed  # the days over when the rules were judged
    with store.engine.begin() as conn:
        row = conn.execute(select(table.c.resource_id, table.c.hour).order_by(table.c.hour).limit(1)).one()
        conn.execute(
            update(table)
            .where(table.c.resource_id == row.resource_id, table.c.hour == row.hour)
            .values(cpu_mean=99.5)
        )
    report = check(store)
    day = row.hour.astimezone(UTC).date().isoformat()
    assert found(report)[0][0] == "row_changed" and report.breaks[0].table == "utilization_hourly"
    assert report.breaks[0].key == f"{row.resource_id}\t{day}"
