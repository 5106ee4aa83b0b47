"""Rows of a table -> records of a kind: find the header, then parse each data row. Pure: no I/O of its own."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ops_watch.formats.spec import (
    ColumnMap,
    Fault,
    HeaderError,
    HeaderMap,
    ParseContext,
    Problem,
    RecordKind,
    match_header,
    missing_columns,
    missing_fault,
    no_header_fault,
    row_parser,
    shown,
)
from ops_watch.formats.tabular import SourceRow, is_blank

# Title rows above the header (a banner, an export time, a unit line: common in Chinese Excel exports) are
# skipped: the header is looked for among this many non-blank rows.
HEADER_SEARCH_ROWS = 10


class FileRejected(Exception):
    """The whole file is refused; `faults` say why (one per missing column, or one for the file).
    `header_map`/`header_row`: the header as far as it was understood, when one was found."""

    def __init__(self, faults: list[Fault], header_map: HeaderMap | None = None, header_row: int = 0):
        super().__init__("; ".join(f.problem.en for f in faults))
        self.faults = faults
        self.header_map = header_map
        self.header_row = header_row


@dataclass(slots=True)
class ParsedRow:
    number: int  # as Excel shows it
    record: Any | None  # None when the row is bad
    faults: list[Fault]


@dataclass
class RecordStream:
    header_map: HeaderMap
    header_row: int
    rows: Iterator[ParsedRow]  # data rows, blank ones left out


def find_header(
    kind: RecordKind, rows: Iterator[SourceRow], columns: ColumnMap | None = None
) -> tuple[HeaderMap, int]:
    """The header is the first row, among the first HEADER_SEARCH_ROWS non-blank ones, that has every required
    column of the kind. A file without one is refused: by the row that came closest (the most columns), naming
    what it lacks, or as having no header when no row names any column."""
    first: SourceRow | None = None
    best: tuple[HeaderMap, int] | None = None
    best_filled = 0
    seen = 0
    for row in rows:
        if is_blank(row.cells):
            continue
        first = first or row
        try:
            header_map, matched = match_header(kind, row.cells, columns)
        except HeaderError as exc:
            raise FileRejected(exc.faults, exc.header_map, row.number) from None
        if matched and not missing_columns(kind, header_map):
            return header_map, row.number
        if matched > best_filled:
            best, best_filled = (header_map, row.number), matched
        seen += 1
        if seen >= HEADER_SEARCH_ROWS:
            break
    if best is not None:
        header_map, number = best
        faults = [missing_fault(kind, c, columns) for c in missing_columns(kind, header_map)]
        raise FileRejected(faults, header_map, number)
    if first is None:
        raise FileRejected(
            [Fault("", "", "", Problem("空文件：没有表头也没有数据", "empty file: no header and no data"))]
        )
    raise FileRejected([no_header_fault(kind, first.cells)])


def _read_fault(row: SourceRow, header_map: HeaderMap) -> Fault:
    """A row the reader could not read cleanly: name the damaged cell when it is known."""
    assert row.fault is not None
    if row.fault_cell is None:
        return Fault("", "", ", ".join(shown(c, 60) for c in row.cells)[:200], row.fault)
    column = next((name for name, pos in header_map.positions.items() if pos == row.fault_cell), "")
    label = header_map.label(column) if column else f"#{row.fault_cell + 1}"
    return Fault(column, label, shown(row.cells[row.fault_cell]), row.fault)


# A row with one filled cell that starts like this is a note of the export (注：…, 制表人：…, 合计), not a record:
# real exports put them under the table. Compared after NFKC and case folding.
NOTE_MARKS = (
    "注", "备注", "说明", "注意", "填表", "制表", "填报", "审核", "签字", "负责人", "导出", "打印", "数据来源",
    "合计", "总计", "小计", "共计", "note", "remark", "total", "exported", "generated", "printed", "*",
)  # fmt: skip


def is_note_row(cells: Iterable[object]) -> bool:
    """One filled cell, text starting with a note's mark: what a clerk writes under a table."""
    filled = [c for c in cells if not (c is None or (isinstance(c, str) and not c.strip()))]
    if len(filled) != 1 or not isinstance(filled[0], str):
        return False
    text = unicodedata.normalize("NFKC", filled[0]).strip().casefold()
    return text.startswith(NOTE_MARKS)


def _parsed(
    kind: RecordKind, header_map: HeaderMap, rows: Iterator[SourceRow], ctx: ParseContext
) -> Iterator[ParsedRow]:
    parse = row_parser(kind, header_map)  # prepared once for the file's header
    for row in rows:
        if row.fault is not None:
            yield ParsedRow(row.number, None, [_read_fault(row, header_map)])
        elif not is_blank(row.cells):
            record, faults = parse(row.cells, ctx)
            if faults and is_note_row(row.cells):  # only a refused row can be a note: no cost per good row
                continue
            yield ParsedRow(row.number, record, faults)


def read_records(
    kind: RecordKind, rows: Iterable[SourceRow], ctx: ParseContext, columns: ColumnMap | None = None
) -> RecordStream:
    """Start reading: raises FileRejected when the header is missing or incomplete. `columns`: the site's own
    header names of the kind (config [ingest.columns.<kind>]), besides the kind's aliases."""
    it = iter(rows)
    header_map, header_row = find_header(kind, it, columns)
    return RecordStream(header_map, header_row, _parsed(kind, header_map, it, ctx))
