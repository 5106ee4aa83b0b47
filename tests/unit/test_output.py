"""Rendering for people: CSV that Excel opens right and never runs, tables that line up with Chinese."""

from __future__ import annotations

import csv
import io

from ops_watch.core.output import display_width, excel_safe, render


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
