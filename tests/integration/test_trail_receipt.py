"""Receipts (issue 22): the demo's staffing evidence (examples/: the registry, the door exports, the handover
sheets) ingested and judged as of 2026-11-16 09:00; a finding's evidence names the seals of the batches it rests
on; its receipt, written by `ops-watch findings receipt`, checks offline with the store gone; and a receipt with a
row's text, a seal's body, a path's link or a decision altered fails, naming what. On SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select

from ops_watch.cli import main
from ops_watch.cli.receipts import cli_check_receipt
from ops_watch.config import Config, load_config
from ops_watch.core.timeutil import utcnow
from ops_watch.findings import engine, silences
from ops_watch.findings.rules import load_rules
from ops_watch.ingest import ingest_drop_folder
from ops_watch.store import Store, open_store
from ops_watch.store.schema import EvidenceBatch, Finding, TrailHead, TrailSeal
from ops_watch.trail import receipt
from tests.conftest import dump_toml
from tests.integration.test_staffing_examples import AS_OF, ROOT, ZONE, drop
from tests.integration.test_web_console import Console, make_console  # noqa: F401  (a fixture)

GHOST = ("ghost_on_duty", "2026-11-04 白班 YW-009")


@pytest.fixture
def judged(store_url: str, config_file: Callable[..., Path]) -> Iterator[tuple[Store, Config]]:
    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    config = load_config(config_file(dump_toml({"store": {"url": store_url}, "doors": example["doors"]})))
    drop(config, "staff", "door", "handover")
    store = open_store(store_url)
    assert {r.status for r in ingest_drop_folder(store, config)} == {"accepted"}
    result = engine.evaluate(store, load_rules(ROOT / "rules"), AS_OF, zone=ZONE)
    assert result.failed_rules == {}
    yield store, config
    store.dispose()


def _finding(store: Store, check: str, subject: str) -> Finding:
    with store.session() as s:
        found = s.scalars(select(Finding).where(Finding.check == check, Finding.subject == subject)).one()
        s.expunge(found)
        return found


def test_a_findings_evidence_names_the_seals_it_rests_on(judged: tuple[Store, Config]) -> None:
    store, _ = judged
    ghost = _finding(store, *GHOST)
    evidence = ghost.evidence
    # The sheet judged against the door events and the registry: the check declares all three.
    assert evidence["seals_tables"] == ["door_events", "handover_shifts", "staff"]
    # The shift's window, in site time: the rows of that day's sheet and doors, and the registry whole.
    assert evidence["seals_from"] == "2026-11-04T08:00:00+08:00"
    assert evidence["seals_to"] == "2026-11-04T20:00:00+08:00"
    with store.session() as s:
        batches = s.scalars(
            select(EvidenceBatch).where(EvidenceBatch.kind.in_(["door", "handover", "staff"]))
        )
        seals = [
            s.scalars(select(TrailSeal).where(TrailSeal.subject == f"evidence_batches:{b.id}")).one()
            for b in batches
        ]
    expected = [
        {"batch": int(seal.subject.split(":")[1]), "seq": seal.seq, "hash": seal.hash[:16]}
        for seal in sorted(seals, key=lambda seal: seal.seq)
    ]
    assert evidence["seals"] == expected
    assert evidence["seals_total"] == len(expected) == 4  # the sheet, both door exports, the registry

    # A second evaluation that changes nothing keeps them as they were (nothing looked up again).
    engine.evaluate(store, load_rules(ROOT / "rules"), AS_OF, zone=ZONE)
    assert _finding(store, *GHOST).evidence == evidence


def test_a_receipt_checks_offline_with_the_store_gone(
    judged: tuple[Store, Config], store_url: str, tmp_path: Path
) -> None:
    store, config = judged
    ghost = _finding(store, *GHOST)
    path = tmp_path / "receipt.json"
    args = ["--config", str(config.source_path), "findings", "receipt", str(ghost.id), "-o", str(path)]
    cli = CliRunner().invoke(main, args)
    assert cli.exit_code == 0, cli.output
    assert f"{path}" in cli.output  # where it went, and that the heads are not yet published
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["format"] == receipt.FORMAT
    assert written["finding"]["id"] == ghost.id and written["finding"]["subject"] == GHOST[1]
    batch = _sheet(written)
    rows = batch["tables"]["handover_shifts"]["rows"]
    assert sorted(key for key, _ in rows) == sorted(["2026-11-04\t白班", "2026-11-04\t夜班"])
    if not written["evidence"]["head"]["published"]:  # none yet: the chain's current head
        assert written["evidence"]["head"]["day"] is None
    (event,) = written["decisions"]["events"]
    assert event["row"].split("\t")[event["columns"].index("action")] == "opened"

    store.dispose()  # the store goes: nothing below may need it
    if store_url.startswith("sqlite:///"):
        Path(store_url.removeprefix("sqlite:///")).unlink()
    result = receipt.check(json.loads(path.read_text(encoding="utf-8")))
    assert result.ok, [p.text("en") for p in result.problems]
    rows_total = sum(len(t["rows"]) for b in written["evidence"]["batches"] for t in b["tables"].values())
    assert result.rows == rows_total and result.decisions == 1
    assert [(h["chain"], h["seq"]) for h in result.heads] == [
        ("evidence", written["evidence"]["head"]["seq"]),
        ("decisions", written["decisions"]["head"]["seq"]),
    ]
    assert cli_check_receipt(path) == 0


@pytest.fixture
def built(judged: tuple[Store, Config]) -> dict[str, Any]:
    store, _ = judged
    ghost = _finding(store, *GHOST)
    with store.session() as s:
        made = receipt.build(s, ghost.id)
    assert receipt.check(made).ok
    return made


def _sheet(made: dict[str, Any]) -> dict[str, Any]:
    """The receipt's batch of the handover sheet (beside the door exports and the registry)."""
    (batch,) = [b for b in made["evidence"]["batches"] if "handover_shifts" in b["tables"]]
    return batch


def _whats(made: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(p.what, p.subject, p.table, p.key) for p in receipt.check(made).problems]


def test_a_rows_text_altered_is_named(built: dict[str, Any], tmp_path: Path) -> None:
    bad = copy.deepcopy(built)
    batch = _sheet(bad)
    key, text = batch["tables"]["handover_shifts"]["rows"][0]
    batch["tables"]["handover_shifts"]["rows"][0][1] = text.replace("2026-11-04", "2026-11-05", 1)
    subject = f"evidence_batches:{batch['batch']}"
    assert _whats(bad) == [("row_changed", subject, "handover_shifts", key)]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    assert cli_check_receipt(path) == 1


def test_a_row_not_sealed_in_its_batch_is_named(built: dict[str, Any]) -> None:
    bad = copy.deepcopy(built)
    batch = _sheet(bad)
    rows = batch["tables"]["handover_shifts"]["rows"]
    rows.append(["2026-11-04\t中班", rows[0][1]])
    assert _whats(bad) == [
        ("row_added", f"evidence_batches:{batch['batch']}", "handover_shifts", "2026-11-04\t中班")
    ]


def test_a_seals_body_altered_is_named(built: dict[str, Any]) -> None:
    bad = copy.deepcopy(built)
    batch = _sheet(bad)
    seq = batch["seal"]["seq"]
    forged = batch["seal"]["body"].replace('"status":"accepted"', '"status":"partial"')
    assert forged != batch["seal"]["body"]
    batch["seal"]["body"] = forged
    for link in bad["evidence"]["path"]:
        if link["seq"] == seq:
            link["body"] = forged  # the forger changes both copies: the hash still gives it away
    problems = receipt.check(bad).problems
    assert [(p.what, p.chain, p.seq) for p in problems] == [("seal_changed", "evidence", seq)]


def test_a_path_link_removed_is_named(built: dict[str, Any]) -> None:
    bad = copy.deepcopy(built)
    path = bad["decisions"]["path"]  # from the finding's first event to the head: every decision since
    assert len(path) >= 3
    gone = path.pop(1)
    problems = receipt.check(bad).problems
    assert [(p.what, p.chain, p.seq) for p in problems] == [("seal_missing", "decisions", gone["seq"] + 1)]
    assert f"#{gone['seq']}" in problems[0].detail


def test_a_batch_seal_left_off_the_path_is_named(built: dict[str, Any]) -> None:
    bad = copy.deepcopy(built)
    first = bad["evidence"]["path"][0]["seq"]
    (batch,) = [b for b in bad["evidence"]["batches"] if b["seal"]["seq"] == first]  # the path starts at it
    del bad["evidence"]["path"][0]
    subject = f"evidence_batches:{batch['batch']}"
    assert [(p.what, p.subject) for p in receipt.check(bad).problems] == [("seal_missing", subject)]


def test_a_head_not_reached_is_named(built: dict[str, Any]) -> None:
    bad = copy.deepcopy(built)
    gone = bad["evidence"]["path"].pop()
    # The head is the last batch's index seal here (indexed as the receipt was built): taking it off the path
    # leaves that batch unproven too.
    unproven = [
        f"evidence_batches:{b['batch']}"
        for b in bad["evidence"]["batches"]
        if gone["seq"] in (b["seal"]["seq"], b["index"]["seq"])
    ]
    assert unproven
    assert [(p.what, p.subject) for p in receipt.check(bad).problems if p.what != "head_mismatch"] == [
        ("seal_missing", subject) for subject in unproven
    ]
    assert [p.what for p in receipt.check(bad).problems][0] == "head_mismatch"


def test_a_decision_altered_is_named(built: dict[str, Any]) -> None:
    bad = copy.deepcopy(built)
    (event,) = bad["decisions"]["events"]
    event["row"] = event["row"].replace("ops-watch", "someone")
    (problem,) = receipt.check(bad).problems
    assert (problem.what, problem.subject) == ("decision_changed", f"finding_events:{event['id']}")
    assert "决定记录被改动" in problem.text("zh")


def test_not_a_receipt_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"format": "something else"}', encoding="utf-8")
    assert cli_check_receipt(path) == 2
    with pytest.raises(receipt.ReceiptError, match="not a ops-watch-receipt/2 receipt"):
        receipt.check({"format": "x"})


def test_the_path_ends_at_the_first_head_published_after_the_seals(judged: tuple[Store, Config]) -> None:
    store, _ = judged
    ghost = _finding(store, *GHOST)
    with store.session() as s:
        made = receipt.build(s, ghost.id)
        seqs = sorted(b[k]["seq"] for b in made["evidence"]["batches"] for k in ("seal", "index"))
        used = seqs[
            -1
        ]  # the last seal the finding rests on (an index): a head before it pins not all of them
        last = made["evidence"]["path"][-1]
        assert last["seq"] >= used
        # A head published before the seal pins nothing of it; the first at or after it is the path's end.
        s.add(
            TrailHead(
                chain="evidence", day=date(2026, 11, 14), seq=used - 1, hash="0" * 64, published_at=AS_OF
            )
        )
        s.add(
            TrailHead(chain="evidence", day=date(2026, 11, 15), seq=used, hash="1" * 64, published_at=AS_OF)
        )
        if last["seq"] > used:  # a later head too (the registry's seal may be the chain's last)
            s.add(
                TrailHead(
                    chain="evidence",
                    day=date(2026, 11, 16),
                    seq=last["seq"],
                    hash=last["hash"],
                    published_at=AS_OF,
                )
            )
        s.commit()
    with store.session() as s:
        made = receipt.build(s, ghost.id)
    head = made["evidence"]["head"]
    assert (head["seq"], head["day"], head["published"]) == (used, "2026-11-15", True)
    assert [link["seq"] for link in made["evidence"]["path"]] == list(range(seqs[0], used + 1))
    # That head's recorded hash is not the chain's: the receipt says so.
    assert [(p.what, p.seq) for p in receipt.check(made).problems] == [("head_mismatch", used)]


def test_the_console_offers_the_receipt(
    judged: tuple[Store, Config],
    make_console: Callable[..., Console],  # noqa: F811
) -> None:
    """A finding's page links its receipt; the download is the receipt `findings receipt` writes, and it checks."""
    store, _ = judged
    ghost = _finding(store, *GHOST)
    web = make_console(store)
    http_ = web.session("viewer1")
    assert f'href="/findings/{ghost.id}/receipt"' in http_.get(web.url(f"/findings/{ghost.id}")).text
    got = http_.get(web.url(f"/findings/{ghost.id}/receipt"))
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/json")
    assert f'filename="receipt-{ghost.id}.json"' in got.headers["content-disposition"]
    made = got.json()
    checked = receipt.check(made)
    assert checked.ok and checked.rows > 0 and made["finding"]["id"] == ghost.id
    missing = http_.get(web.url("/findings/999999/receipt"))
    assert missing.status_code == 404 and "999999" in missing.text
    anonymous = requests.get(web.url(f"/findings/{ghost.id}/receipt"), allow_redirects=False, timeout=10)
    assert anonymous.status_code in (303, 401) and "evidence" not in anonymous.text


def test_a_silence_by_matcher_comes_with_the_receipt(judged: tuple[Store, Config]) -> None:
    """A finding silenced by a matcher: the receipt holds that silence (who, until when, why) with its seals, and
    a silence row altered in the receipt is named."""
    store, _ = judged
    ghost = _finding(store, *GHOST)
    silence, count = silences.create(
        store, silences.Matchers(check=GHOST[0]), utcnow() + timedelta(days=3), "王主任", "整改期内"
    )
    assert count >= 1
    with store.session() as s:
        made = receipt.build(s, ghost.id)
    (held,) = made["decisions"]["silences"]
    assert (held["table"], held["id"]) == ("silences", silence.id)
    assert "王主任" in held["row"] and "整改期内" in held["row"] and held["seals"]
    assert receipt.check(made).ok
    bad = copy.deepcopy(made)
    bad["decisions"]["silences"][0]["row"] = held["row"].replace("整改期内", "服务商自行静默")
    (problem,) = receipt.check(bad).problems
    assert (problem.what, problem.subject) == ("decision_changed", f"silences:{silence.id}")
