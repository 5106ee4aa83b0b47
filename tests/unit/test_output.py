"""Rendering for people: CSV that Excel opens right and never runs, tables that line up with Chinese."""

from __future__ import annotations

import csv
import io
import json

from openpyxl import load_workbook

from ops_watch.core.labels import HEADER_ZH
from ops_watch.core.output import Style, display_width, excel_safe, render, render_xlsx


def test_csv_has_a_bom_and_cells_from_evidence_cannot_become_formulas():
    rows = [{"name": '=HYPERLINK("http://x")', "note": "+1", "who": "@me", "n": -3, "t": "-5", "s": "-x"}]
    out = render(rows, ["name", "note", "who", "n", "t", "s"], "csv")
    assert out.startswith("\ufeff")
    (row,) = list(csv.DictReader(io.StringIO(out.removeprefix("\ufeff"))))
    assert row == {
        "name": '\'=HYPERLINK("http://x")',
        "note": "'+1",
        "who": "'@me",
        "n": "-3",
        "t": "-5",
        "s": "'-x",
    }


def test_excel_safe_leaves_plain_text_and_numbers_alone():
    assert [excel_safe(v) for v in ("张伟", "2026-11-02", "-0.5", "")] == ["张伟", "2026-11-02", "-0.5", ""]


def test_table_aligns_double_width_characters():
    lines = render([{"a": "白班", "b": 1}, {"a": "x", "b": 22}], ["a", "b"], "table").splitlines()
    starts = [display_width(lines[2][: lines[2].index("1")]), display_width(lines[3][: lines[3].index("22")])]
    assert starts == [6, 6]  # "白班" is four columns wide, then two spaces


# --- the style of one command: language, terminal width, CSV/XLSX titles -------------------------------------

FINDINGS = [
    {
        "id": 7,
        "severity": "critical",
        "status": "open",
        "rule": "unknown-entry",
        "subject": "card:3005129999 2026-11-12",
        "summary": "未登记人员刷卡进入机房A区门，卡号 3005129999，当天共 3 次，均在夜间" * 2,
        "first_seen": "2026-11-15 22:00",
        "silenced": False,
    }
]
COLUMNS = ["id", "severity", "status", "rule", "subject", "summary", "first_seen", "silenced"]


def test_a_chinese_table_has_chinese_titles_and_status_words():
    out = render(FINDINGS, COLUMNS, "table", Style(lang="zh")).splitlines()
    assert out[0].split() == [HEADER_ZH[c] for c in COLUMNS]
    assert out[0].split()[:7] == ["编号", "级别", "状态", "规则", "对象", "摘要", "首次发现"]
    cells = out[2].split()
    assert cells[:3] == ["7", "严重", "未解决"]  # as the console says it
    assert cells[-1] == "否"  # a boolean reads as yes/no, never True/False
    assert "unknown-entry" in out[2]  # identifiers stay as typed on the command line


def test_an_english_table_keeps_the_keys_and_reads_booleans_as_yes_no():
    out = render(FINDINGS, COLUMNS, "table", Style(lang="en")).splitlines()
    assert out[0].split() == COLUMNS
    assert out[2].split()[:3] == ["7", "critical", "open"] and out[2].split()[-1] == "no"


def test_no_rows_says_so_in_the_language():
    assert render([], COLUMNS, "table", Style(lang="zh")) == "（无）"
    assert render([], COLUMNS, "table", Style(lang="en")) == "(none)"


def test_a_table_fits_the_terminal_folding_the_long_text_before_dropping_columns():
    full = render(FINDINGS, COLUMNS, "table", Style(lang="zh")).splitlines()
    assert max(display_width(line) for line in full) > 140  # the case: wider than a terminal
    out = render(FINDINGS, COLUMNS, "table", Style(lang="zh", width=100)).splitlines()
    assert all(display_width(line) <= 100 for line in out)
    assert out[0].split()[:7] == [
        "编号",
        "级别",
        "状态",
        "规则",
        "对象",
        "摘要",
        "首次发现",
    ]  # every column kept
    assert "unknown-entry" in out[2]  # the rule fits whole: the summary gave up the room
    assert "…" in out[2]
    narrow = render(FINDINGS, COLUMNS, "table", Style(lang="zh", width=60)).splitlines()
    assert all(display_width(line) <= 60 for line in narrow[:-1])
    assert narrow[2].startswith("7 ")  # the first column is never cut or dropped
    note = narrow[-1]
    assert note.startswith("（未显示") and "--wide" in note and "静默" in note  # the dropped ones are named


def test_csv_keeps_field_names_unless_chinese_titles_are_asked_for():
    plain = render(FINDINGS, COLUMNS, "csv", Style(lang="zh"))
    assert plain.removeprefix("\ufeff").splitlines()[0] == ",".join(COLUMNS)
    assert ",open," in plain  # values stay the stable codes scripts read
    titled = render(FINDINGS, COLUMNS, "csv", Style(lang="en", header="zh"))
    assert titled.removeprefix("\ufeff").splitlines()[0].startswith("编号,级别,状态,规则,对象,摘要,首次发现")
    assert ",open," in titled


def test_json_keeps_field_names_and_raw_values_in_any_language():
    out = json.loads(render(FINDINGS, COLUMNS, "json", Style(lang="zh", header="zh")))
    assert out == [{c: FINDINGS[0][c] for c in COLUMNS}]


def test_xlsx_holds_the_rows_with_numbers_as_numbers_and_formulas_defused():
    rows = [*FINDINGS, {**FINDINGS[0], "id": 8, "summary": "=1+1", "silenced": True}]
    data = render_xlsx(rows, COLUMNS, Style(header="zh"))
    sheet = load_workbook(io.BytesIO(data)).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0][:3] == ["编号", "级别", "状态"]
    assert values[1][0] == 7 and values[2][0] == 8  # numbers stay numbers
    assert values[2][5] == "'=1+1"  # a formula from evidence stays text
    assert values[2][-1] is True
    assert sheet.freeze_panes == "A2"


def test_a_table_may_name_a_column_its_own_way():
    out = render([{"subject": "周报"}], ["subject"], "table", Style(lang="zh"), titles={"subject": "主题"})
    assert out.splitlines()[0] == "主题"
