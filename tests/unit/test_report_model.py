"""The weekly report's plumbing: ISO weeks at the site, the reader's number and date conventions, figures'
trends, the archive's manifest, tamper check and retention, and the [rectification] terms."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ops_watch.config import Config
from ops_watch.core.contract import parse_contract
from ops_watch.findings.rectification import RectificationSection, deadline, rectification_terms
from ops_watch.report.archive import ReportFiles, list_reports, purge_reports, verify, write_archive
from ops_watch.report.model import Figure, Week
from ops_watch.report.render import fmt_cell, fmt_change, fmt_change_en, fmt_date, fmt_number

ZONE = ZoneInfo("Asia/Shanghai")


def test_weeks_are_iso_weeks_in_the_site_zone() -> None:
    week = Week.parse("2026-W47", ZONE)
    assert (week.monday, week.sunday) == (date(2026, 11, 16), date(2026, 11, 22))
    assert week.start == datetime(2026, 11, 15, 16, 0, tzinfo=UTC)  # Monday 00:00 +08:00
    assert week.end - week.start == timedelta(days=7)
    assert Week.parse("2026w47", ZONE) == week and week.shifted(-1).iso == "2026-W46"
    assert Week.parse("2021-W01", ZONE).monday == date(2021, 1, 4)  # ISO year differs from the calendar's
    assert Week.parse("2026-W53", ZONE).iso == "2026-W53"  # 2026 has 53 ISO weeks
    with pytest.raises(ValueError, match="no ISO week 54"):
        Week.parse("2026-W54", ZONE)
    with pytest.raises(ValueError, match="like 2026-W47"):
        Week.parse("47", ZONE)
    # On Monday morning the last complete week is the one before.
    monday = datetime(2026, 11, 23, 8, 0, tzinfo=ZONE)
    assert Week.last_complete(monday, ZONE).iso == "2026-W47"
    # Sunday 23:30 at the site is still inside W47 although it is Sunday 15:30 UTC.
    assert Week.last_complete(datetime(2026, 11, 22, 23, 30, tzinfo=ZONE), ZONE).iso == "2026-W46"


def test_numbers_and_dates_in_the_readers_conventions() -> None:
    assert fmt_number(1234.5) == "1,234.5" and fmt_number(1234567, 0) == "1,234,567"
    assert fmt_number(None) == "—"
    assert fmt_date(date(2026, 11, 23), "zh") == "2026年11月23日"
    assert fmt_date(date(2026, 11, 23), "en") == "23 Nov 2026"
    assert fmt_date(datetime(2026, 11, 23, 8, 5), "zh", with_time=True) == "2026年11月23日 08:05"
    assert fmt_cell(93.25, "pct", "zh") == "93.2%" and fmt_cell(1500, "money", "zh") == "1,500.00"
    assert fmt_cell(None, "int", "zh") == "—" and fmt_cell("", "text", "zh") == ""
    assert fmt_cell(date(2026, 1, 2), "date", "en") == "2 Jan 2026"


def test_a_figures_trend_knows_which_way_is_better() -> None:
    rate = Figure("staffing_rate", "人员到位率", 96.0, 100.0, "%", "up", 1)
    assert rate.change == -4.0 and rate.trend == "worse"
    assert fmt_change(rate) == "▼ 4.0 个百分点" and fmt_change_en(rate) == "−4.0 pts"
    idle = Figure("idle_vcpu", "可回收 vCPU", 12, 20, "vCPU", "down", 0)
    assert idle.trend == "better" and fmt_change(idle) == "▼ 8"
    same = Figure("x", "x", 50.01, 50.0, "%", "up", 1)
    assert same.trend == "same"
    unknown = Figure("x", "x", None, 50.0, "%", "up", 1)
    assert unknown.change is None and unknown.trend == "" and fmt_change(unknown) == ""


def _files(week: str = "2026-W47", html: bytes = b"<html>\xe5\x91\xa8\xe6\x8a\xa5</html>") -> ReportFiles:
    return ReportFiles(
        week=week,
        language="zh",
        subject="周报",
        files={
            "report.html": html,
            "report.txt": "周报".encode(),
            "r.xlsx": b"PK\x03\x04",
            "charts/a.png": b"\x89PNG",
        },
        charts={"charts/a.png": "a.2026-W47@ops-watch"},
        xlsx="r.xlsx",
        status="green",
    )


def test_the_archive_keeps_a_manifest_and_notices_a_changed_file(tmp_path: Path) -> None:
    folder = write_archive(tmp_path, _files(), datetime(2026, 11, 23, tzinfo=UTC))
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["files"]) == {"report.html", "report.txt", "r.xlsx", "charts/a.png"}
    assert verify(folder) == []
    (folder / "charts" / "a.png").write_bytes(b"other")
    assert any("charts/a.png" in p and "sha256" in p for p in verify(folder))
    (folder / "r.xlsx").unlink()
    (row,) = list_reports(tmp_path)
    assert row["week"] == "2026-W47" and "r.xlsx" in row["check"]


def test_a_rebuild_replaces_the_week_whole(tmp_path: Path) -> None:
    write_archive(tmp_path, _files(), datetime(2026, 11, 23, tzinfo=UTC))
    folder = write_archive(tmp_path, _files(html=b"<html>v2</html>"), datetime(2026, 11, 24, tzinfo=UTC))
    assert (folder / "report.html").read_bytes() == b"<html>v2</html>" and verify(folder) == []
    assert [p.name for p in tmp_path.iterdir()] == ["2026-W47"]  # no temporary or old folder left


def test_retention_removes_old_weeks_only(tmp_path: Path) -> None:
    for week in ("2023-W10", "2023-W48", "2026-W47"):
        write_archive(tmp_path, _files(week), datetime(2026, 11, 23, tzinfo=UTC))
    (tmp_path / "notes").mkdir()  # not a week: never ours to delete
    removed = purge_reports(tmp_path, 3, date(2026, 11, 27))
    assert removed == ["2023-W10"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2023-W48", "2026-W47", "notes"]


def test_rectification_terms_and_deadlines() -> None:
    problems: list[str] = []
    contract = parse_contract(
        {"rectification": {"critical": "4h", "warning": "3d"}}, "contract.toml", problems
    )
    assert problems == []
    terms = rectification_terms(contract)
    assert terms.term("critical") == timedelta(hours=4) and terms.info == timedelta(days=30)
    seen = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert deadline(seen, "warning", terms) == seen + timedelta(days=3)
    assert rectification_terms({}) == RectificationSection()
    parse_contract({"rectification": {"critical": "soon", "fatal": "1d"}}, "contract.toml", problems)
    assert any("rectification.critical" in p for p in problems)
    assert any("rectification.fatal" in p for p in problems)
    problems.clear()
    parse_contract({"rectification": {"warning": "0s"}}, "contract.toml", problems)
    assert any("longer than zero" in p for p in problems)


def test_report_receivers_must_exist() -> None:
    with pytest.raises(ValueError, match="report.receivers: no receiver named 'boss'"):
        Config.model_validate({"report": {"receivers": ["boss"]}})
    cfg = Config.model_validate(
        {
            "notify": {"receivers": [{"name": "boss", "email": ["b@c.example"]}]},
            "report": {"receivers": ["boss"]},
        }
    )
    assert cfg.report.receivers == ["boss"] and cfg.report_language == "zh"
