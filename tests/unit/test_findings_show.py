"""`findings show` prints a finding's evidence for a reader, not as Python's repr of lists and dicts."""

from __future__ import annotations

from ops_watch.cli.findings import evidence_lines
from ops_watch.core.labels import EVIDENCE_ZH, HEADER_ZH, evidence_label, header_label
from ops_watch.core.output import begin_command, use_style


def test_values_lists_records_and_nesting_each_read_as_a_person_would() -> None:
    lines = evidence_lines(
        {
            "month": "2026-11",
            "missing": ["指挥中心", "网安支队"],
            "none": [],
            "events": [
                {"time": "2026-11-02 08:01", "door": "机房A"},
                {"time": "2026-11-02 20:03", "person": "张三"},
            ],
            "shift": {"name": "夜班", "staff": 2},
            "note": None,
        }
    )
    text = "\n".join(lines)
    assert "[" not in text and "{" not in text and "'" not in text
    assert lines[0] == "  month: 2026-11"
    assert lines[1:4] == ["  missing (2):", "    - 指挥中心", "    - 网安支队"]
    assert "  none: (none)" in lines
    table = lines[lines.index("  events (2):") + 1 :][:4]
    assert table[0].split() == ["time", "door", "person"]  # every record's keys, in the order first seen
    assert table[2].split() == ["2026-11-02", "08:01", "机房A"]
    assert table[3].split() == ["2026-11-02", "20:03", "张三"]
    assert lines[-4:] == ["  shift:", "    name: 夜班", "    staff: 2", "  note: "]


EVIDENCE = {
    "system": "视频图像平台",
    "rpo_hours": 12.0,
    "late_seconds": 3600,
    "deadline_from_contract": True,
    "status": "failed",
    "busy_days": [],
    "first_failed_run": {"id": 487, "started": "2026-11-10 00:30", "status": "failed"},
    "failed_runs": [{"id": 487, "size_gb": None, "status": "failed"}],
    "by_month": {"2026-10": "6000.00"},  # data keys: a month stays a month
    "note": None,
}


def test_chinese_evidence_names_keys_and_words_in_chinese_and_leaves_data_keys_as_they_are() -> None:
    lines = evidence_lines(EVIDENCE, lang="zh")
    assert lines[:6] == [
        "  系统: 视频图像平台",
        "  RPO（小时）: 12.0",
        "  迟到秒数: 3600",
        "  期限按合同计算: 是",
        "  状态: 失败",
        "  繁忙日: （无）",
    ]
    assert lines[6:10] == [
        "  首次失败作业:",
        "    编号: 487",
        "    开始时间: 2026-11-10 00:30",
        "    状态: 失败",
    ]
    assert lines[10] == "  失败作业 (1):"
    assert lines[11].split() == ["编号", "大小", "GB", "状态"]
    assert lines[13].split() == ["487", "失败"]
    assert lines[-3:] == ["  按月:", "    2026-10: 6000.00", "  备注: "]


def test_english_evidence_keeps_the_keys_and_values_as_stored() -> None:
    lines = evidence_lines(EVIDENCE, lang="en")
    assert lines[:6] == [
        "  system: 视频图像平台",
        "  rpo_hours: 12.0",
        "  late_seconds: 3600",
        "  deadline_from_contract: True",
        "  status: failed",
        "  busy_days: (none)",
    ]
    assert lines[11].split() == ["id", "size_gb", "status"]
    assert lines[13].split() == ["487", "failed"]
    assert lines[-3:] == ["  by_month:", "    2026-10: 6000.00", "  note: "]
    assert evidence_lines(EVIDENCE) == lines  # English unless asked: the stored keys, as before


def test_the_tables_follow_the_language_asked_not_the_commands_style() -> None:
    restore = begin_command()
    try:
        use_style(lang="en")
        zh = evidence_lines({"events": [{"time": "08:01", "door": "机房A"}]}, lang="zh")
        use_style(lang="zh")
        en = evidence_lines({"events": [{"time": "08:01", "door": "机房A"}]}, lang="en")
    finally:
        restore()
    assert zh[0] == "  事件记录 (1):" and zh[1].split() == ["时间", "门禁点"]
    assert en[0] == "  events (1):" and en[1].split() == ["time", "door"]


def test_evidence_titles_come_after_the_table_titles_and_never_repeat_them() -> None:
    # An EVIDENCE_ZH entry for a key HEADER_ZH has would never be read: the table's title wins.
    assert sorted(set(EVIDENCE_ZH) & set(HEADER_ZH)) == []
    assert header_label("files_seen", "zh") == "已见文件"
    assert header_label("status", "zh") == HEADER_ZH["status"]
    assert header_label("files_seen", "en") == "files_seen"
    assert header_label("2026-10", "zh") == "2026-10"
    # A key whose evidence meaning differs from the table column's takes its own title in evidence.
    assert header_label("by", "zh") == "操作人" and evidence_label("by", "zh") == "依据"
    assert evidence_label("files_seen", "zh") == "已见文件" and evidence_label("by", "en") == "by"
