"""The archive scan (R10): documents found by file-name pattern or by manifest, due days, retention, temp files
ignored, a missing folder and bad contract terms reported clearly."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest

from ops_watch.areas.governance.archive.model import (
    ArchiveSection,
    archive_terms,
    bind_rules_dir,
    scan,
    statuses,
)
from ops_watch.core.contract import parse_contract

CONTRACT = """
[contract]
start = 2024-01-01

[archive]
dir = "archive"
"""


def contract(text: str = CONTRACT) -> dict:
    problems: list[str] = []
    out = parse_contract(tomllib.loads(text), "contract.toml", problems)
    assert problems == [], problems
    return out


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("placeholder", encoding="utf-8")


def by(items, year: int, key: str):
    return next(s for s in items if s.year == year and s.doc.key == key)


def test_patterns_find_documents_in_year_folders(tmp_path):
    root = tmp_path / "archive"
    touch(root, "2024/2024年资源需求清单.XLSX", "2025年度资料/sub/运维合同.pdf", "2025/~$资源需求清单.xlsx")
    touch(root, "2025/.资源使用清单.xlsx", "notayear/资源需求清单.xlsx")
    c = contract()
    bind_rules_dir(c, tmp_path)
    terms = archive_terms(c)
    result = scan(terms.folder(), terms.documents)
    assert result.error is None and result.manifest is None
    items = statuses(terms, c, result, date(2026, 4, 1))
    assert by(items, 2024, "resource_demand").status == "present"
    assert [f.path for f in by(items, 2024, "resource_demand").files] == ["2024/2024年资源需求清单.XLSX"]
    # Lock files and hidden files are not documents; a folder not named by a year is not read.
    assert by(items, 2025, "resource_demand").status == "missing"
    assert by(items, 2025, "contract").status == "present"
    assert by(items, 2025, "contract").files[0].path == "2025年度资料/sub/运维合同.pdf"
    assert by(items, 2024, "contract").retention_until == date(2054, 12, 31)
    assert by(items, 2024, "drill_records").retention_until == date(2034, 12, 31)


def test_not_yet_due_until_the_day_after_due_by(tmp_path):
    c = contract(CONTRACT + 'due_by = "04-30"\n')
    bind_rules_dir(c, tmp_path)
    terms = archive_terms(c)
    (tmp_path / "archive").mkdir()
    result = scan(terms.folder(), terms.documents)
    on_due = statuses(terms, c, result, date(2026, 4, 30))
    assert by(on_due, 2025, "contract").status == "not_due"
    assert by(on_due, 2024, "contract").status == "missing"
    assert by(on_due, 2026, "contract").status == "not_due"
    after = statuses(terms, c, result, date(2026, 5, 1), year=2025)
    assert {s.year for s in after} == {2025} and by(after, 2025, "contract").status == "missing"


def test_manifest_wins_over_patterns(tmp_path):
    root = tmp_path / "archive"
    touch(root, "2025/2025年资源需求清单.xlsx", "2025/scan001.pdf", "docs/contract-2025.pdf")
    (root / "manifest.csv").write_text(
        "年度,文件类型,文件名\n"
        "2025,合同,docs/contract-2025.pdf\n"
        "2025年,performance_targets,scan001.pdf\n"
        "2025,绩效自评,gone.pdf\n"
        "20x5,合同,a.pdf\n"
        "2025,会议纪要,b.pdf\n",
        encoding="gb18030",
    )
    terms = ArchiveSection(dir=root)
    result = scan(root, terms.documents)
    c = contract("[contract]\nstart = 2025-01-01\n")
    items = statuses(terms, c, result, date(2026, 6, 1), year=2025)
    assert by(items, 2025, "contract").status == "present"
    assert by(items, 2025, "performance_targets").files[0].path == "2025/scan001.pdf"
    # The manifest decides: a file that matches a pattern but is not listed does not count.
    assert by(items, 2025, "resource_demand").status == "missing"
    assert by(items, 2025, "self_assessment").listed_missing == ("gone.pdf",)
    assert len(result.problems) == 2
    assert "row 5" in result.problems[0] and "not a year" in result.problems[0]
    assert "会议纪要" in result.problems[1]


def test_manifest_without_the_columns_is_a_problem(tmp_path):
    (tmp_path / "manifest.csv").write_text("year,kind\n2025,合同\n", encoding="utf-8")
    result = scan(tmp_path)
    assert result.problems and "文件类型" in result.problems[0]


def test_missing_folder_and_a_file_are_errors_not_crashes(tmp_path):
    assert "does not exist" in (scan(tmp_path / "nope").error or "")
    (tmp_path / "f").write_text("x")
    assert "not a folder" in (scan(tmp_path / "f").error or "")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('due_by = "3-31"', "MM-DD"),
        ('due_by = "02-29"', "MM-DD"),
        ('documents = [{ key = "a", name = "甲", patterns = ["re:("] }]', "not a regular expression"),
        ('documents = [{ key = "a", name = "甲", patterns = [] }]', "patterns"),
        (
            'documents = [{ key = "a", name = "甲", patterns = ["*"] }, { key = "a", name = "乙", patterns = ["*"] }]',
            "listed twice",
        ),
        ("colour = 1", "colour"),
    ],
)
def test_bad_terms_name_the_key(body, message):
    problems: list[str] = []
    parse_contract(tomllib.loads(f"[archive]\n{body}\n"), "contract.toml", problems)
    assert problems and any(message in p and "archive" in p for p in problems), problems


def test_regex_patterns_and_years_from(tmp_path):
    c = contract(
        CONTRACT
        + '[[archive.documents]]\nkey = "minutes"\nname = "会议纪要"\npatterns = ["re:^纪要-\\\\d+"]\n'
        "years_from = 2025\nretention_years = 3\n"
    )
    bind_rules_dir(c, tmp_path)
    terms = archive_terms(c)
    touch(tmp_path / "archive", "2025/纪要-01.docx", "2025/旧纪要-01.docx")
    items = statuses(terms, c, scan(terms.folder(), terms.documents), date(2026, 12, 1))
    assert [(s.year, s.status) for s in items] == [(2025, "present"), (2026, "not_due")]
    assert [f.name for f in items[0].files] == ["纪要-01.docx"]
