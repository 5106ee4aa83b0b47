"""The evidence chain code (trail/heads.py): printed from the heads, read back as a person types it, refused with
a message naming what is wrong; a manifest's trail field checked; [trail] publish_at read as a time of day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from ops_watch.config import Config, ConfigError, load_config
from ops_watch.store.schema import TrailHead
from ops_watch.trail.chain import DECISIONS, EVIDENCE, Head
from ops_watch.trail.heads import (
    HeadsError,
    code,
    mail_text,
    manifest_field,
    manifest_heads,
    parse_code,
    typed_heads,
)

E = Head(EVIDENCE, 1234, "7f3a9c21" + "a" * 56)
D = Head(DECISIONS, 56, "0B1C2D3E" + "b" * 56)  # an upper-case hash still prints in lower case


def test_the_code_names_each_chain_by_letter_seq_and_eight_hex_digits() -> None:
    assert code([D, E]) == "E1234-7f3a9c21 D56-0b1c2d3e"  # evidence first, whatever the order given
    assert code([E]) == "E1234-7f3a9c21"
    assert code([]) == ""


def test_a_code_reads_back_as_typed() -> None:
    printed = code([E, D])
    assert parse_code(printed) == [(EVIDENCE, 1234, "7f3a9c21"), (DECISIONS, 56, "0b1c2d3e")]
    # Copied by hand: any case, several spaces, a comma, a longer prefix.
    typed = "  e1234-7F3A9C21aa ,  d56-0b1c2d3e\n"
    assert parse_code(typed) == [(EVIDENCE, 1234, "7f3a9c21aa"), (DECISIONS, 56, "0b1c2d3e")]
    assert parse_code("D56-0b1c2d3e") == [(DECISIONS, 56, "0b1c2d3e")]
    # As verify takes them: the typed prefix stands for the hash, and says where it came from.
    (typed,) = typed_heads("E1234-7F3A9C21")
    assert (typed.chain, typed.seq, typed.hash, typed.where) == (EVIDENCE, 1234, "7f3a9c21", "--code")
    assert E.hash.startswith(typed.hash)


@pytest.mark.parametrize(
    ("typed", "named"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("X12-7f3a9c21", "unknown chain letter 'X'"),
        ("E12-7f3a9c2", "8 hex digits after the dash (found 7)"),
        ("E12-7f3a9c2g", "'E12-7f3a9c2g' in the code is not a chain head"),
        ("E12 7f3a9c21", "'E12' in the code is not a chain head"),
        ("E-7f3a9c21", "is not a chain head"),
        ("E0-7f3a9c21", "seal numbers start at 1"),
        ("E12-7f3a9c21 e13-7f3a9c21", "the evidence chain is given twice"),
    ],
)
def test_a_code_that_cannot_be_read_is_refused_naming_what_is_wrong(typed: str, named: str) -> None:
    with pytest.raises(HeadsError) as err:
        parse_code(typed)
    assert named in str(err.value)
    assert "/" in str(err.value)  # Chinese first, then English


def test_a_manifest_field_reads_back_and_a_malformed_one_names_the_file() -> None:
    file = Path("reports/2026-W47/manifest.json")
    field = manifest_field([E, Head(DECISIONS, 56, "0b1c2d3e" + "b" * 56)])
    heads = manifest_heads(field, "reports/2026-W47/manifest.json", file)
    assert [(h.chain, h.seq, h.where) for h in heads] == [
        (EVIDENCE, 1234, "reports/2026-W47/manifest.json"),
        (DECISIONS, 56, "reports/2026-W47/manifest.json"),
    ]
    bad = [
        ([1, 2], "found list"),
        ({"ledger": {"seq": 1, "hash": "0" * 64}}, "unknown chain 'ledger'"),
        ({EVIDENCE: {"seq": 1}}, "trail.evidence must hold exactly seq and hash"),
        ({EVIDENCE: {"seq": "7", "hash": "0" * 64}}, "trail.evidence.seq '7' is not a seal number"),
        ({EVIDENCE: {"seq": True, "hash": "0" * 64}}, "trail.evidence.seq True is not a seal number"),
        ({EVIDENCE: {"seq": 7, "hash": "0" * 63}}, "is not 64 lower-case hex digits"),
        ({EVIDENCE: {"seq": 7, "hash": "A" * 64}}, "is not 64 lower-case hex digits"),
    ]
    for value, named in bad:
        with pytest.raises(HeadsError) as err:
            manifest_heads(value, "x", file)
        assert str(err.value).startswith(f"{file}: ") and named in str(err.value), value


def test_trail_settings_default_and_refuse_a_bad_time(tmp_path: Path) -> None:
    default = Config().trail
    assert default.archive_mailbox == [] and default.publish_time == time(0, 10)
    path = tmp_path / "config.toml"
    path.write_text('[trail]\npublish_at = "1:05"\narchive_mailbox = ["archive@center.example"]\n')
    loaded = load_config(path).trail
    assert (loaded.publish_at, loaded.publish_time) == ("01:05", time(1, 5))
    path.write_text("[trail]\npublish_at = 02:30:00\n")  # TOML's own local time
    assert load_config(path).trail.publish_time == time(2, 30)
    path.write_text('[trail]\npublish_at = "24:00"\narchive_mailbox = ["archive"]\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = "\n".join(err.value.problems)
    assert "trail.publish_at: " in text and "is not a time of day: write HH:MM" in text
    assert "trail.archive_mailbox" in text and "'archive' is not one email address" in text


def test_the_archive_mail_lists_each_days_code_and_full_hashes() -> None:
    at = datetime(2026, 11, 17, 16, 10, tzinfo=UTC)
    rows = [
        TrailHead(chain=h.chain, day=day, seq=h.seq, hash=h.hash.lower(), published_at=at)
        for day in (date(2026, 11, 15), date(2026, 11, 16))
        for h in (E, D)
    ]
    subject, text = mail_text(rows, "市大数据中心")
    assert subject == "【证据链链头】市大数据中心 2026-11-15—2026-11-16 / Evidence chain heads"
    assert "2026-11-16  E1234-7f3a9c21 D56-0b1c2d3e" in text
    assert f"  evidence #1234 {E.hash}" in text and "ops-watch verify" in text
    with pytest.raises(ValueError, match="no chain heads to mail"):
        mail_text([], "市大数据中心")
