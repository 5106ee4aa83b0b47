"""Audit materials (R6), the pure parts: the [audit] section's validation, periods and deadlines (month ends,
quarter ends, the year end, leap years), names written by people, periods in file names, register rows
(unknown material, cadence mismatch, date-only and missing times) and the timeliness rate with unrecorded
submissions."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ops_watch.areas.governance.audit.kinds import (
    DOC_KIND,
    KIND,
    period_from_name,
    periods_in_name,
    read_document,
)
from ops_watch.areas.governance.audit.model import (
    AuditMaterial,
    AuditSection,
    Period,
    Timeliness,
    audit_terms,
    date_only_time,
    deadline,
    due_date,
    duration_text,
    is_date_only,
    materials_named_in,
    parse_period,
    period_for,
    periods_due,
    rate_of,
    resolve_material,
)
from ops_watch.core.contract import ContractMeta, parse_contract
from ops_watch.formats import KINDS
from ops_watch.formats.spec import CellError, Document, ParseContext, match_header, parse_row

ZONE = ZoneInfo("Asia/Shanghai")
MATERIALS = """
[[audit.materials]]
key = "security_audit_monthly"
name_zh = "月度安全审计报告"
name_en = "monthly security audit report"
aliases = ["安全审计报告"]
cadence = "monthly"
due_day = 5

[[audit.materials]]
key = "vuln_scan_quarterly"
name_zh = "季度漏洞扫描报告"
name_en = "quarterly vulnerability scan"
aliases = ["漏扫报告"]
cadence = "quarterly"
due_days = 10

[[audit.materials]]
key = "annual_assessment"
name_zh = "年度安全评估报告"
cadence = "yearly"
due_days = 31
"""


def section(text: str = MATERIALS, extra: str = "") -> dict[str, Any]:
    problems: list[str] = []
    contract = parse_contract(tomllib.loads(f"[audit]\n{extra}\n{text}"), "contract.toml", problems)
    assert problems == []
    return contract


def problems_of(text: str) -> list[str]:
    problems: list[str] = []
    parse_contract(tomllib.loads(text), "contract.toml", problems)
    return problems


TERMS = audit_terms(section())
MONTHLY, QUARTERLY, YEARLY = TERMS.materials


def material(**kw: Any) -> AuditMaterial:
    return AuditMaterial.model_validate({"key": "m", "name_zh": "材料", "cadence": "monthly"} | kw)


# --- the section ---------------------------------------------------------------------------------------


def test_no_section_means_no_materials() -> None:
    assert audit_terms({}).materials == () and audit_terms(parse_contract({}, "c", [])).grace == timedelta(0)


def test_grace_is_a_duration() -> None:
    assert audit_terms(section(extra='grace = "2h"')).grace == timedelta(hours=2)
    assert any("grace" in p and "not a duration" in p for p in problems_of('[audit]\ngrace = "soon"'))


@pytest.mark.parametrize(
    ("body", "wanted"),
    [
        # both deadlines, or none: the message names the material
        ('key = "x1"\nname_zh = "甲"\ncadence = "monthly"\ndue_day = 5\ndue_days = 10', "material x1"),
        ('key = "x2"\nname_zh = "乙"\ncadence = "monthly"', "material x2: give its deadline"),
        ('key = "x3"\nname_zh = "丙"\ncadence = "weekly"\ndue_day = 5', "cadence"),
        ('key = "x4"\nname_zh = "丁"\ncadence = "monthly"\ndue_day = 32', "due_day"),
        ('key = "有空格 x"\nname_zh = "戊"\ncadence = "monthly"\ndue_day = 5', "key"),
    ],
)
def test_bad_material_is_named(body: str, wanted: str) -> None:
    problems = problems_of(f"[[audit.materials]]\n{body}\n")
    assert problems and all(p.startswith("contract.toml: audit.materials") for p in problems), problems
    assert any(wanted in p for p in problems), problems


def test_keys_and_names_are_distinct() -> None:
    twice = MATERIALS + '\n[[audit.materials]]\nkey = "vuln_scan_quarterly"\nname_zh = "另一个"\n'
    twice += 'cadence = "yearly"\ndue_day = 5\n'
    assert any("listed twice" in p for p in problems_of(f"[audit]\n{twice}"))
    clash = '\n[[audit.materials]]\nkey = "other"\nname_zh = "其他"\naliases = ["ＳＥＣＵＲＩＴＹ AUDIT_monthly"]\n'
    clash += 'cadence = "monthly"\ndue_day = 5\n'
    found = problems_of(f"[audit]\n{MATERIALS}{clash}")
    assert any("security_audit_monthly and other" in p for p in found), found


# --- periods and deadlines -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cadence", "day", "key", "first", "last"),
    [
        ("monthly", date(2026, 2, 14), "2026-02", date(2026, 2, 1), date(2026, 2, 28)),
        ("monthly", date(2028, 2, 29), "2028-02", date(2028, 2, 1), date(2028, 2, 29)),
        ("quarterly", date(2026, 9, 30), "2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
        ("quarterly", date(2026, 10, 1), "2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
        ("yearly", date(2026, 6, 1), "2026", date(2026, 1, 1), date(2026, 12, 31)),
    ],
)
def test_periods(cadence: str, day: date, key: str, first: date, last: date) -> None:
    period = period_for(cadence, day)
    assert (period.key, period.first, period.last) == (key, first, last)
    assert parse_period(key) == period


@pytest.mark.parametrize("key", ["2026-13", "2026-Q5", "26-10", "2026年10月", ""])
def test_bad_period_keys(key: str) -> None:
    with pytest.raises(ValueError):
        parse_period(key)


@pytest.mark.parametrize(
    ("mat", "period", "due"),
    [
        (MONTHLY, "2026-10", date(2026, 11, 5)),
        (MONTHLY, "2026-12", date(2027, 1, 5)),  # the year end
        (material(due_day=31), "2027-01", date(2027, 2, 28)),  # past the month's end: its last day
        (material(due_day=31), "2028-01", date(2028, 2, 29)),  # a leap year
        (material(due_day=31), "2026-02", date(2026, 3, 31)),
        (material(due_day=30), "2026-03", date(2026, 4, 30)),
        (QUARTERLY, "2026-Q3", date(2026, 10, 10)),
        (QUARTERLY, "2026-Q4", date(2027, 1, 10)),  # the year end
        (QUARTERLY, "2026-Q1", date(2026, 4, 10)),
        (material(cadence="quarterly", due_day=15), "2026-Q2", date(2026, 7, 15)),
        (YEARLY, "2026", date(2027, 1, 31)),
        (material(cadence="yearly", due_day=20), "2026", date(2027, 1, 20)),
        (material(due_days=0), "2026-02", date(2026, 2, 28)),  # due the period's last day
    ],
)
def test_due_dates(mat: AuditMaterial, period: str, due: date) -> None:
    assert due_date(mat, parse_period(period)) == due


def test_deadline_is_the_end_of_the_due_day_at_the_site() -> None:
    # October's report due 2026-11-05: until 2026-11-06 00:00 Beijing time = 2026-11-05 16:00 UTC.
    limit = deadline(MONTHLY, parse_period("2026-10"), ZONE)
    assert limit == datetime(2026, 11, 5, 16, 0, tzinfo=UTC) and limit.tzinfo is not None
    assert deadline(MONTHLY, parse_period("2026-10"), ZoneInfo("UTC")) == datetime(2026, 11, 6, tzinfo=UTC)


def test_periods_due_in_a_range_respect_the_contract() -> None:
    contract = section() | {"contract": ContractMeta(start=date(2026, 3, 15), end=date(2026, 12, 31))}
    start = datetime(2026, 1, 1, tzinfo=ZONE)
    end = datetime(2027, 6, 30, tzinfo=ZONE)
    monthly = [p.key for p in periods_due(MONTHLY, contract, ZONE, start, end)]
    # From the month the contract starts in to the month it ends in: December is still owed in January.
    assert monthly == [f"2026-{m:02d}" for m in range(3, 13)]
    quarters = [p.key for p in periods_due(QUARTERLY, contract, ZONE, start, end)]
    assert quarters == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    # (start, end]: the period due on the end's day is in, the one due the day before the start is out.
    oct_ = datetime(2026, 11, 6, tzinfo=ZONE)
    assert [p.key for p in periods_due(MONTHLY, contract, ZONE, oct_ - timedelta(days=1), oct_)] == [
        "2026-10"
    ]
    assert periods_due(MONTHLY, contract, ZONE, oct_, oct_ + timedelta(days=1)) == []
    # A material's own start wins over the contract's.
    later = MONTHLY.model_copy(update={"start": date(2026, 9, 1)})
    assert [p.key for p in periods_due(later, contract, ZONE, start, end)][0] == "2026-09"
    # Grace moves the due instant.
    grace = [
        p.key
        for p in periods_due(MONTHLY, contract, ZONE, oct_, oct_ + timedelta(hours=3), timedelta(hours=2))
    ]
    assert grace == ["2026-10"]


# --- names -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("security_audit_monthly", "security_audit_monthly"),
        ("ＳＥＣＵＲＩＴＹ-Audit Monthly", "security_audit_monthly"),  # width, case, - and spaces folded
        (" 月度安全审计报告 ", "security_audit_monthly"),
        ("Monthly Security Audit Report", "security_audit_monthly"),
        ("安全审计报告", "security_audit_monthly"),
        ("漏扫报告", "vuln_scan_quarterly"),
        ("年度安全评估报告", "annual_assessment"),
        ("安全审计", None),
        ("", None),
    ],
)
def test_resolve_material(text: str, key: str | None) -> None:
    found = resolve_material(TERMS, text)
    assert (found.key if found else None) == key


def test_names_in_file_names_prefer_the_longer_name() -> None:
    assert materials_named_in(TERMS, "2026年10月月度安全审计报告.pdf") == [MONTHLY]
    assert materials_named_in(TERMS, "2026Q3漏扫报告(终版).docx") == [QUARTERLY]
    assert materials_named_in(TERMS, "安全审计报告及漏扫报告.zip") == [MONTHLY, QUARTERLY]
    assert materials_named_in(TERMS, "会议纪要.docx") == []


# --- periods in file names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "mat", "period"),
    [
        ("2026-10安全审计报告.pdf", MONTHLY, "2026-10"),
        ("安全审计报告_2026年10月.pdf", MONTHLY, "2026-10"),
        ("安全审计报告 2026年 3 月.pdf", MONTHLY, "2026-03"),
        ("安全审计报告202610.pdf", MONTHLY, "2026-10"),
        ("安全审计报告_2026.10.docx", MONTHLY, "2026-10"),
        ("漏扫报告2026Q3.pdf", QUARTERLY, "2026-Q3"),
        ("漏扫报告-2026-q4.pdf", QUARTERLY, "2026-Q4"),
        ("2026年第三季度漏洞扫描报告.pdf", QUARTERLY, "2026-Q3"),
        ("2026年度第四季度漏扫报告.pdf", QUARTERLY, "2026-Q4"),
        ("2026年3季度漏扫报告.pdf", QUARTERLY, "2026-Q3"),
        ("2026年度安全评估报告.pdf", YEARLY, "2026"),
        ("年度安全评估报告2025.pdf", YEARLY, "2025"),  # a bare year: only a yearly material takes it
        # A full date is when it was written, not its period: nothing left to go by.
        ("安全审计报告_20261105.pdf", MONTHLY, None),
        ("安全审计报告 2026-11-05.pdf", MONTHLY, None),
        ("安全审计报告2026年11月5日.pdf", MONTHLY, None),
        ("安全审计报告.pdf", MONTHLY, None),
        ("安全审计报告2026.pdf", MONTHLY, None),
        # the period beside a date stamp
        ("2026年10月安全审计报告_20261104.pdf", MONTHLY, "2026-10"),
    ],
)
def test_period_from_file_name(name: str, mat: AuditMaterial, period: str | None) -> None:
    assert period_from_name(name, mat) == period


def test_period_of_another_cadence_or_several_periods_refuse() -> None:
    with pytest.raises(CellError) as exc:
        period_from_name("安全审计报告2026Q3.pdf", MONTHLY)
    assert "2026-Q3" in exc.value.problem.zh and "monthly" in exc.value.problem.en
    with pytest.raises(CellError) as exc:
        period_from_name("漏扫报告2026-10.pdf", QUARTERLY)
    assert "季度" in exc.value.problem.zh
    with pytest.raises(CellError) as exc:
        period_from_name("安全审计报告2026-09至2026-10.pdf", MONTHLY)
    assert "2026-09、2026-10" in exc.value.problem.zh
    assert periods_in_name("x2026年10月y")["monthly"] == {"2026-10"}


# --- the dropped document ----------------------------------------------------------------------------


def doc(name: str, folders: tuple[str, ...], arrived: datetime) -> Document:
    return Document(Path("/drop/audit_doc", *folders, name), arrived.astimezone(UTC), "ab" * 32, folders)


CTX = ParseContext(zone=ZONE, contract=section())


def test_document_material_from_folder_else_name_and_period_else_the_last_ended() -> None:
    arrived = datetime(2026, 11, 3, 10, 0, tzinfo=ZONE)
    (rec,) = read_document(doc("报告.pdf", ("月度安全审计报告",), arrived), CTX)
    assert (rec.item, rec.period, rec.source, rec.submitted_at) == (
        "security_audit_monthly",
        "2026-10",  # the latest month ended before it arrived
        "drop",
        arrived.astimezone(UTC),
    )
    assert rec.document == "报告.pdf" and rec.sha256 == "ab" * 32 and rec.submitted_by == ""
    (rec,) = read_document(doc("漏扫报告.pdf", ("杂项",), arrived), CTX)  # a folder naming nothing: the name
    assert (rec.item, rec.period) == ("vuln_scan_quarterly", "2026-Q3")
    (rec,) = read_document(doc("2025年度安全评估报告.pdf", (), datetime(2026, 1, 20, tzinfo=ZONE)), CTX)
    assert (rec.item, rec.period) == ("annual_assessment", "2025")
    (rec,) = read_document(doc("x.pdf", ("vuln_scan_quarterly",), datetime(2026, 1, 2, tzinfo=ZONE)), CTX)
    assert rec.period == "2025-Q4"  # across the year end


def test_document_naming_no_material_or_two_is_refused_with_how_to_name_it() -> None:
    arrived = datetime(2026, 11, 3, 10, 0, tzinfo=ZONE)
    with pytest.raises(CellError) as exc:
        read_document(doc("会议纪要.pdf", ("其他",), arrived), CTX)
    zh, en = exc.value.problem.zh, exc.value.problem.en
    assert "月度安全审计报告（security_audit_monthly）" in zh and "drop/audit_doc/" in zh and "其他" in zh
    assert "security_audit_monthly" in en and "folder named after the material" in en
    with pytest.raises(CellError) as exc:
        read_document(doc("安全审计报告及漏扫报告.zip", (), arrived), CTX)
    assert "同时含多种材料" in exc.value.problem.zh
    with pytest.raises(CellError) as exc:
        read_document(doc("安全审计报告.pdf", (), arrived), ParseContext(zone=ZONE))
    assert "合同未列出审计材料" in exc.value.problem.zh


def test_kinds_are_registered() -> None:
    assert KINDS["audit"] is KIND and KINDS["audit_doc"] is DOC_KIND
    assert KIND.needs_contract and DOC_KIND.needs_contract and DOC_KIND.read_document is not None
    assert (KIND.write_mode, DOC_KIND.write_mode) == ("upsert", "append")


# --- register rows -----------------------------------------------------------------------------------

HEADER = ["报送事项", "所属期间", "提交时间", "报送人", "文件名"]


def row(*cells: object, ctx: ParseContext = CTX) -> tuple[Any, list[Any]]:
    header_map, matched = match_header(KIND, HEADER)
    assert matched == 5
    return parse_row(KIND, header_map, list(cells), ctx)


def test_register_row() -> None:
    rec, faults = row("安全审计报告", "2026年10月", "2026-11-04 16:30", "王工", "a.pdf")
    assert faults == []
    assert (rec.item, rec.period, rec.source, rec.document) == (
        "security_audit_monthly",
        "2026-10",
        "register",
        "a.pdf",
    )
    assert rec.submitted_at == datetime(2026, 11, 4, 8, 30, tzinfo=UTC)
    assert not is_date_only(rec.submitted_at, ZONE)
    rec, faults = row("漏扫报告", "2026年第三季度", "", "", "")
    assert faults == [] and rec.submitted_at is None and rec.period == "2026-Q3"


@pytest.mark.parametrize(
    "cell", ["2026-11-04", "2026/11/4", "20261104", "2026年11月4日", datetime(2026, 11, 4), date(2026, 11, 4)]
)
def test_a_date_alone_is_the_end_of_that_day_marked_date_only(cell: object) -> None:
    rec, faults = row("security_audit_monthly", "2026-10", cell)
    assert faults == []
    assert rec.submitted_at == date_only_time(date(2026, 11, 4), ZONE)
    assert rec.submitted_at.astimezone(ZONE).time() == time.max and is_date_only(rec.submitted_at, ZONE)


def test_register_row_errors_name_the_column() -> None:
    _, faults = row("安全审计", "2026-10", "2026-11-04 16:30")
    assert [f.column for f in faults] == ["item"] and faults[0].label == "报送事项"
    assert "月度安全审计报告（security_audit_monthly）" in faults[0].problem.zh
    assert "vuln_scan_quarterly" in faults[0].problem.en
    _, faults = row("漏扫报告", "2026-10", "2026-11-04 16:30")  # a month for a quarterly material
    assert [f.column for f in faults] == ["period"] and faults[0].value == "2026-10"
    assert "季度" in faults[0].problem.zh and "quarterly" in faults[0].problem.en
    _, faults = row("security_audit_monthly", "2026-13", "明天下午")
    assert {f.column for f in faults} == {"period", "submitted_at"}
    _, faults = row("安全审计报告", "2026-10", "", ctx=ParseContext(zone=ZONE))  # no [audit] at all
    assert "合同未列出审计材料" in faults[0].problem.zh


# --- timeliness --------------------------------------------------------------------------------------


def judged(status: str, *, date_only: bool = False) -> Timeliness:
    period = parse_period("2026-10")
    limit = deadline(MONTHLY, period, ZONE)
    first = {
        "on_time": limit - timedelta(days=1),
        "late": limit + timedelta(days=2, hours=3),
        "missing": None,
        "unrecorded": None,
        "not_due": None,
    }[status]
    if date_only and first is not None:
        first = date_only_time(first.astimezone(ZONE).date(), ZONE)
    return Timeliness(
        material=MONTHLY,
        period=period,
        due=due_date(MONTHLY, period),
        deadline=limit,
        grace=timedelta(0),
        status=status,  # type: ignore[arg-type]
        first_at=first,
        date_only=date_only,
        submitted_by="",
        document="",
        source="register",
        received=0 if status == "missing" else 1,
    )


def test_rate_counts_unrecorded_as_not_on_time() -> None:
    rows = [judged("on_time"), judged("on_time", date_only=True), judged("late"), judged("unrecorded")]
    rows += [judged("missing"), judged("not_due")]
    rate = rate_of(rows)
    assert (rate.due, rate.on_time, rate.late, rate.missing, rate.unrecorded, rate.date_only) == (
        5,
        2,
        1,
        1,
        1,
        1,
    )
    assert str(rate.value) == "40.00"
    assert "未记录报送时间的计为未按期" in rate.text("zh") and "NOT on time" in rate.text("en")
    assert rate_of([judged("unrecorded")]).value == 0
    assert rate_of([judged("not_due")]).value is None


def test_how_late() -> None:
    assert judged("late").late_by == timedelta(days=2, hours=3)
    assert judged("late").late_text("zh") == "2 天 3 小时" and judged("late").late_text("en") == "2 days 3 h"
    # A date-only submission on 11-08, due 11-05: three days late (whole days, not 2 days 23:59:59.999999).
    assert judged("late", date_only=True).late_by == timedelta(days=3)
    assert judged("on_time").late_by is None
    assert duration_text(timedelta(minutes=95), "zh") == "1 小时 35 分钟"
    assert duration_text(timedelta(seconds=20), "en") == "under a minute"


def test_submitted_text_shows_date_only_and_unrecorded() -> None:
    assert judged("late", date_only=True).submitted_text(ZONE, "zh") == "2026-11-08（仅日期）"
    assert judged("unrecorded").submitted_text(ZONE, "en") == "(no time recorded)"
    assert judged("late").submitted_text(ZONE, "zh") == "2026-11-08 03:00"


def test_period_is_ordered_by_days() -> None:
    assert sorted([parse_period("2026-11"), parse_period("2026-02")])[0] == Period(
        date(2026, 2, 1), date(2026, 2, 28), "2026-02", "monthly"
    )
    assert isinstance(AuditSection().materials, tuple)
