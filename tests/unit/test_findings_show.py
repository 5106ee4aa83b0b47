"""`findings show` prints a finding's evidence for a reader, not as Python's repr of lists and dicts."""

from __future__ import annotations

from ops_watch.cli.findings import evidence_lines


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
