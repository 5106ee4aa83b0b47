"""Chain heads published (trail/heads.py) on a real store, SQLite and PostgreSQL (`store`): seals made by real
writes (an example file ingested, finding events written through the store's session), each site day's heads
recorded at the day's end in site time, a daemon that was down catching up, and the heads every weekly report
prints and keeps in its manifest read back by `published` for verify.

The seals take their time from the clock trail/chain.py reads; the tests set that clock to put a write at 23:59
or 00:01 site time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import func, select

from ops_watch import plugins
from ops_watch.config import Config
from ops_watch.findings.rules import load_rules
from ops_watch.ingest import ingest_file
from ops_watch.report.model import Week
from ops_watch.report.weekly import build_and_archive
from ops_watch.store import Store
from ops_watch.store.schema import Finding, FindingEvent, TrailHead
from ops_watch.trail import chain
from ops_watch.trail.heads import (
    HeadsError,
    code,
    head_at,
    parse_code,
    publish_day,
    publish_due,
    published,
)

REPO = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Shanghai")
INVENTORY = REPO / "examples" / "inventory" / "inventory-2026-11.csv"
plugins.load()


def site(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[datetime]]:
    """The time seals are stamped with: set `clock[0]`; None means the real clock."""
    now: list[datetime] = []
    real = chain.utcnow
    monkeypatch.setattr(chain, "utcnow", lambda: now[0].astimezone(UTC) if now else real())
    yield now


def make_config(tmp_path: Path) -> Config:
    return Config.model_validate(
        {
            "paths": {"state_dir": str(tmp_path / "var"), "rules_dir": str(REPO / "rules")},
            "ingest": {"drop_dir": str(tmp_path / "drop")},
            "trail": {"publish_at": "00:10"},
        }
    )


def ingest(store: Store, config: Config) -> None:
    result = ingest_file(store, config, "inventory", INVENTORY)
    assert result.status in ("accepted", "partial"), result.reason


def decide(store: Store, subject: str, action: str, at: datetime) -> None:
    """A finding event written through the store's session (the hooks seal it at commit)."""
    with store.session() as s:
        finding = s.scalar(select(Finding).where(Finding.subject == subject))
        if finding is None:
            finding = Finding(
                fingerprint=f"fp-{subject}",
                rule_id="r",
                check="idle_cpu",
                area="resources",
                severity="warning",
                status="open",
                subject=subject,
                summary="",
                evidence={},
                first_seen=at,
                last_seen=at,
            )
            s.add(finding)
            s.flush()
        s.add(FindingEvent(finding_id=finding.id, at=at, action=action, actor="张三", reason="核实中"))


def heads_now(store: Store) -> dict[str, tuple[int, str]]:
    with store.session() as s:
        return {c: (h.seq, h.hash) for c in chain.CHAINS if (h := chain.head(s, c)) is not None}


def test_a_days_heads_are_the_last_seals_before_its_end_in_site_time(
    store: Store, tmp_path: Path, clock
) -> None:
    config = make_config(tmp_path)
    with store.session() as s:  # nothing sealed yet: nothing to publish
        assert publish_day(s, date(2026, 11, 16), ZONE, site("2026-11-17 00:10")) == []
    clock.append(site("2026-11-16 23:59"))
    ingest(store, config)
    decide(store, "vm-1", "opened", site("2026-11-16 23:59"))
    end_of_16 = heads_now(store)
    assert set(end_of_16) == {chain.EVIDENCE, chain.DECISIONS}
    clock[0] = site("2026-11-17 00:01")
    decide(store, "vm-1", "acknowledged", site("2026-11-17 00:01"))
    after = heads_now(store)
    assert after[chain.DECISIONS][0] == end_of_16[chain.DECISIONS][0] + 1
    assert after[chain.EVIDENCE] == end_of_16[chain.EVIDENCE]

    publish_at = site("2026-11-18 00:10")
    with store.session() as s:
        day16 = publish_day(s, date(2026, 11, 16), ZONE, publish_at)
        day17 = publish_day(s, date(2026, 11, 17), ZONE, publish_at)
        assert publish_day(s, date(2026, 11, 15), ZONE, publish_at) == []  # before the first seal
        got16 = {r.chain: (r.seq, r.hash) for r in day16}
        got17 = {r.chain: (r.seq, r.hash) for r in day17}
    # 23:59 belongs to the 16th, 00:01 to the 17th; the evidence chain did not move on the 17th: still recorded.
    assert got16 == end_of_16
    assert got17 == after
    assert [r.chain for r in day17] == [chain.EVIDENCE, chain.DECISIONS]
    with store.session() as s:
        again = publish_day(s, date(2026, 11, 16), ZONE, site("2026-11-20 09:00"))  # kept, not redone
        assert {r.chain: (r.seq, r.hash) for r in again} == got16
        assert {r.published_at for r in again} == {publish_at.astimezone(UTC)}
        assert s.scalar(select(func.count()).select_from(TrailHead)) == 4
        assert head_at(s, chain.DECISIONS, site("2026-11-17 00:00")) == chain.Head(
            chain.DECISIONS, *end_of_16[chain.DECISIONS]
        )
        with pytest.raises(ValueError, match="has not ended"):
            publish_day(s, date(2026, 11, 18), ZONE, site("2026-11-18 23:00"))


def test_a_daemon_that_was_down_publishes_every_day_it_missed(store: Store, tmp_path: Path, clock) -> None:
    config = make_config(tmp_path)
    with store.session() as s:
        assert publish_due(s, config, site("2026-11-17 09:00")) == []  # no seal: nothing due
    clock.append(site("2026-11-14 10:00"))
    ingest(store, config)
    clock[0] = site("2026-11-15 12:00")
    decide(store, "vm-2", "opened", site("2026-11-15 12:00"))
    with store.session() as s:
        # 00:05 on the 17th: the 16th is published at 00:10, so the 14th and the 15th are due.
        first = publish_due(s, config, site("2026-11-17 00:05"))
        assert [(r.day, r.chain) for r in first] == [
            (date(2026, 11, 14), chain.EVIDENCE),
            (date(2026, 11, 15), chain.EVIDENCE),
            (date(2026, 11, 15), chain.DECISIONS),
        ]
    with store.session() as s:
        later = publish_due(s, config, site("2026-11-17 00:20"))
        assert [(r.day, r.chain) for r in later] == [
            (date(2026, 11, 16), chain.EVIDENCE),
            (date(2026, 11, 16), chain.DECISIONS),
        ]
        assert publish_due(s, config, site("2026-11-17 23:00")) == []
        heads = published(s, tmp_path / "no-reports")
    assert [h.where for h in heads] == [
        "trail_heads 2026-11-14",
        "trail_heads 2026-11-15",
        "trail_heads 2026-11-15",
        "trail_heads 2026-11-16",
        "trail_heads 2026-11-16",
    ]


def test_the_weekly_report_prints_the_code_and_keeps_the_heads_in_its_manifest(
    store: Store, tmp_path: Path, clock
) -> None:
    config = make_config(tmp_path)
    contract = load_rules(config.rules_dir).contract
    week = Week(2026, 47, ZONE)  # 2026-11-16 .. 22: the seals below fall inside it
    # A store without seals: no code, the report says so, the manifest has no trail field.
    empty = build_and_archive(store, config, contract, week, "zh")
    assert empty.report.trail_code == ""
    assert "（尚无封印）" in empty.files.files["report.txt"].decode()
    assert "（尚无封印）" in empty.files.files["report.html"].decode()
    assert "trail" not in json.loads((empty.folder / "manifest.json").read_text(encoding="utf-8"))

    clock.append(site("2026-11-16 10:00"))
    ingest(store, config)
    decide(store, "vm-3", "opened", datetime(2026, 11, 12, tzinfo=UTC))
    clock.clear()  # the report is built now, after the seals
    heads = heads_now(store)
    built = build_and_archive(store, config, contract, week, "zh")
    printed = code([chain.Head(c, *heads[c]) for c in chain.CHAINS])
    assert built.report.trail_code == printed and printed.startswith("E") and " D" in printed
    text = (built.folder / "report.txt").read_text(encoding="utf-8")
    html = (built.folder / "report.html").read_text(encoding="utf-8")
    for body in (text, html):
        assert "证据链校验码 / Evidence chain code" in body and printed in body
        assert "核对方法：" in body and "ops-watch verify --code" in body
    workbook = openpyxl.load_workbook(built.folder / built.files.xlsx, read_only=True)
    cells = [v for row in workbook["证据链校验码"].iter_rows(values_only=True) for v in row if v]
    assert f"证据链校验码 / Evidence chain code：{printed}" in cells
    assert heads[chain.EVIDENCE][1] in cells and heads[chain.DECISIONS][1] in cells
    english = build_and_archive(store, config, contract, week, "en")
    assert printed in english.files.files["report.txt"].decode() and "To check: " in english.files.files[
        "report.txt"
    ].decode("utf-8")

    # The heads are the week's end's: a decision after it, and the week rebuilt later, print the same code.
    decide(store, "vm-3", "acknowledged", datetime(2026, 12, 1, tzinfo=UTC))
    assert build_and_archive(store, config, contract, week, "zh").report.trail_code == printed
    manifest = json.loads((built.folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["trail"] == {c: {"seq": seq, "hash": h} for c, (seq, h) in heads.items()}
    # What a person types back from the printed report names the same seals.
    assert [(c, s, p) for c, s, p in parse_code(printed)] == [
        (c, heads[c][0], heads[c][1][:8]) for c in chain.CHAINS
    ]

    # verify reads every published head: the day's rows and each archived report's manifest.
    with store.session() as s:
        publish_day(s, date(2026, 11, 16), ZONE, site("2026-11-17 00:10"))
    reports = config.reports_dir
    (reports / "2026-W40").mkdir()
    (reports / "2026-W40" / "manifest.json").write_text("{not json", encoding="utf-8")  # skipped, logged
    with store.session() as s:
        found = published(s, reports)
    where = {(h.where, h.chain): (h.seq, h.hash) for h in found}
    assert where[("reports/2026-W47/manifest.json", chain.EVIDENCE)] == heads[chain.EVIDENCE]
    assert where[("reports/2026-W47/manifest.json", chain.DECISIONS)] == heads[chain.DECISIONS]
    assert {w for w, _ in where} == {"trail_heads 2026-11-16", "reports/2026-W47/manifest.json"}

    # A manifest whose trail field was tampered with into nonsense is an error naming the file.
    target = built.folder / "manifest.json"
    manifest["trail"]["evidence"]["hash"] = "not a hash"
    target.write_text(json.dumps(manifest), encoding="utf-8")
    with store.session() as s, pytest.raises(HeadsError) as err:
        published(s, reports)
    assert str(target) in str(err.value) and "trail.evidence.hash" in str(err.value)
