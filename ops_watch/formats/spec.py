"""What an evidence kind is: its columns, how one row becomes a record, and where records go.

Pure: no I/O, no sessions. A kind module declares one RecordKind; `ops_watch.formats` registers it.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Problem:
    """A reason shown to people, in both languages; `text(language)` picks one."""

    zh: str
    en: str

    def text(self, language: str) -> str:
        return self.zh if language == "zh" else self.en


class CellError(ValueError):
    """A value a parser refuses. `column` is set when a whole-row check blames a particular column."""

    def __init__(self, zh: str, en: str, column: str | None = None):
        super().__init__(en)
        self.problem = Problem(zh, en)
        self.column = column


@dataclass(frozen=True)
class ParseContext:
    """What a parser may need besides the cell: the site's zone for times without one; the contract's sections
    for a kind with `needs_contract` (e.g. an audit register's items must be materials the contract lists);
    the site's config (ops_watch.config.Config, None when parsing without one) and the file's `folders` (as
    Document.folders) for rows tied to configured things, e.g. a door export to its [[doors.devices]] entry."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    contract: Mapping[str, Any] = field(default_factory=dict)
    config: Any = None
    folders: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    """A file taken whole as evidence (a contract, an audit report): what a document kind's reader gets.

    `arrived_at` is when the file landed where ops-watch found it (its inode change time, never later than
    the scan): unlike the modification time, a copy that keeps the original's times cannot set it back.
    `folders` are the subfolders between the kind's folder and the file (drop/audit_doc/月度安全审计报告/x.pdf
    -> ("月度安全审计报告",)); a file ingested by hand has its parent folder's name there.
    """

    path: Path
    arrived_at: datetime
    sha256: str
    folders: tuple[str, ...]
    # Where its bytes are read from: the ingest's private copy of the file (what was hashed), else `path`.
    # `path` names the file to the user.
    read_from: Path | None = None

    @property
    def readable(self) -> Path:
        return self.read_from or self.path


CellParser = Callable[[Any, ParseContext], Any]


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


@dataclass(frozen=True)
class Column:
    """One column of a kind.

    `required`: the header must have it. `default`: the value of an empty cell (and of an absent optional
    column); NO_DEFAULT means an empty cell makes the row bad.
    """

    name: str
    aliases: tuple[str, ...]
    parse: CellParser
    required: bool = True
    default: Any = NO_DEFAULT
    type_doc: str = "text"
    example: str = ""

    def __post_init__(self) -> None:
        if not self.required and self.default is NO_DEFAULT:
            object.__setattr__(self, "default", None)

    @property
    def accepted_names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


WriteMode = Literal["upsert", "append"]


@dataclass(frozen=True)
class RecordKind:
    """An evidence kind: columns in, records out, and how they are written.

    - `build(values, ctx)` turns the parsed column values into a record (a dataclass whose fields are
      columns of `table`); it may raise CellError for checks across columns.
    - `write_mode` "upsert": a record replaces the stored one with the same `key` (the primary key),
      latest file wins. "append": a record whose `key` (a unique key) is already stored is a duplicate
      and is ignored.
    - `table` must have a `batch_id` column: every record remembers the file it came from, and the
      ingest counts what a file added by it.
    - `time_column`: the column holding the time the evidence is about (door events, backups), used by
      evidence_freshness; None when the kind has no such time.
    - `read_document`: set for a kind whose file is one document, not rows (contracts, audit reports): it
      returns the file's records (usually one) or raises CellError saying why the file is refused; `columns`
      is then empty.
    - `needs_contract`: the ingest passes the contract's sections in ParseContext.contract.
    """

    name: str
    title_zh: str
    title_en: str
    columns: tuple[Column, ...] = field(repr=False)
    record_type: type = field(repr=False)
    build: Callable[[dict[str, Any], ParseContext], Any] = field(repr=False)
    table: type
    write_mode: WriteMode
    key: tuple[str, ...]
    time_column: str | None = None
    read_document: Callable[[Document, ParseContext], list[Any]] | None = field(default=None, repr=False)
    needs_contract: bool = False
    # An upsert kind whose file may give one key several rows that add up (a staff registry listing a person
    # once per certificate): merge(earlier, later) -> the record stored. None: the later row replaces it.
    merge: Callable[[Any, Any], Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        table_columns = set(self.table.__table__.columns.keys())
        problems = []
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            problems.append("column names repeat")
        seen: dict[str, str] = {}
        for col in self.columns:
            for alias in col.accepted_names:
                norm = normalize_header(alias)
                if seen.setdefault(norm, col.name) != col.name:
                    problems.append(f"alias {alias!r} of {col.name} also names {seen[norm]}")
        fields = {f.name for f in dataclasses.fields(self.record_type)}
        for name in sorted(fields - table_columns):
            problems.append(f"record field {name} is not a column of {self.table.__name__}")
        for name in self.key:
            if name not in fields:
                problems.append(f"key column {name} is not a record field")
        if "batch_id" not in table_columns:
            problems.append(f"{self.table.__name__} has no batch_id column")
        if self.time_column is not None and self.time_column not in table_columns:
            problems.append(f"time_column {self.time_column} is not a column of {self.table.__name__}")
        if self.write_mode not in ("upsert", "append"):
            problems.append(f"write_mode {self.write_mode!r} is not upsert or append")
        if self.merge is not None and self.write_mode != "upsert":
            problems.append("merge is for upsert kinds")
        if problems:
            raise TypeError(f"evidence kind {self.name}: " + "; ".join(problems))
        object.__setattr__(self, "_field_names", tuple(sorted(fields)))

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(self.record_type))

    def to_row(self, record: Any) -> dict[str, Any]:
        """A record as a row of `table` (shallow, unlike dataclasses.asdict: it runs once per row)."""
        return {name: getattr(record, name) for name in self._field_names}


# Header cells are compared after folding: width (（GB） = (GB)), case, spaces, _ and -, the brackets around a
# unit (内存(GB) = 内存GB = 内存【GB】: the unit stays, so 内存(MB) never becomes 内存(GB)), a byte-order mark or
# zero-width space an export left in the cell, the "*" a template puts on required columns, a trailing colon,
# and a bracketed note that is not part of the name (入场日期（必填）, 备注(选填)).
_INVISIBLE = str.maketrans("", "", "\ufeff\u200b\u200c\u200d\u2060 \t\r\n\u3000_-")
_BRACKETS = str.maketrans("", "", "()[]{}【】〔〕〖〗<>《》")
_NOTE = re.compile(
    r"[(\[【〔]\s*(必填|必填项|必须|必需|选填|选填项|可选|非必填|可空|必输|选输|required|optional)\s*[)\]】〕]$"
)


def normalize_header(text: object) -> str:
    """How header cells are compared (see above): `normalize_header("入场日期（必填）") == "入场日期"`."""
    folded = unicodedata.normalize("NFKC", "" if text is None else str(text)).casefold()
    folded = "".join(ch for ch in folded.translate(_INVISIBLE) if not ch.isspace())
    folded = _NOTE.sub("", folded).strip("*:")
    return folded.translate(_BRACKETS)


def is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def shown(value: object, limit: int = 200) -> str:
    """A cell as a person would recognise it in a report."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.date().isoformat() if value.time() == time() and value.tzinfo is None else str(value)
    elif isinstance(value, date | time):
        text = value.isoformat()
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Fault:
    """One refused cell (or row, when `column` is ""): which column, the value, why."""

    column: str  # the kind's column name, "" for the row as a whole
    label: str  # the column as the file's header names it
    value: str
    problem: Problem


@dataclass(frozen=True)
class HeaderCell:
    """One header cell and what became of it: the column it fills ("" when unused), how its name was recognised
    ("name", "alias", or "config": the site's [ingest.columns.<kind>]), and why an unused cell is unused."""

    position: int
    label: str  # as written in the file
    column: str
    via: str  # "name" | "alias" | "config" | "" (unused)
    note: Problem | None = None  # why a cell that names a column does not fill it


@dataclass(frozen=True)
class HeaderMap:
    positions: dict[str, int]  # column name -> index in the row
    labels: dict[str, str]  # column name -> header text as written in the file
    ignored: tuple[str, ...]  # header cells that fill no column of the kind
    cells: tuple[HeaderCell, ...] = ()  # every non-empty header cell, in the file's order

    def label(self, column: str) -> str:
        return self.labels.get(column, column)


class HeaderError(Exception):
    """The header cannot be used; `faults` name each missing or doubled column. `header_map`: the header as
    far as it was understood (for the refused file's report and `ingest --explain`)."""

    def __init__(self, faults: list[Fault], header_map: HeaderMap | None = None):
        super().__init__("; ".join(f.problem.en for f in faults))
        self.faults = faults
        self.header_map = header_map


ColumnMap = Mapping[str, str]  # a site's header -> column name of a kind ([ingest.columns.<kind>] in config)


def _aliases_text(col: Column, sep: str, columns: ColumnMap | None = None) -> str:
    mapped = [h for h, name in (columns or {}).items() if name == col.name]
    return sep.join((*col.accepted_names, *mapped))


def header_names(kind: RecordKind, columns: ColumnMap | None = None) -> dict[str, tuple[Column, int, str]]:
    """Normalised header -> (column, rank, how). A lower rank wins when two cells of a file name one column:
    the site's mapping (negative, in its order), then the column's own name (0), then its aliases in the order the kind lists them
    (most specific first)."""
    names: dict[str, tuple[Column, int, str]] = {}
    for col in kind.columns:
        for rank, alias in enumerate(col.accepted_names):
            names.setdefault(normalize_header(alias), (col, rank, "name" if rank == 0 else "alias"))
    by_name = {c.name: c for c in kind.columns}
    for order, (header, name) in enumerate((columns or {}).items()):
        if name in by_name:
            names[normalize_header(header)] = (by_name[name], order - len(columns or {}), "config")
    return names


def column_map_problems(kind: RecordKind, columns: ColumnMap) -> list[tuple[str, str]]:
    """(header, reason) for each entry of a site's header mapping that cannot be used: an unknown column, a
    header that already names another column of the kind, two headers that read the same."""
    problems: list[tuple[str, str]] = []
    if kind.read_document is not None:
        return [("", f"{kind.name} is a document kind (the file is taken whole): it has no columns to map")]
    by_name = {c.name: c for c in kind.columns}
    builtin = {normalize_header(a): c.name for c in kind.columns for a in c.accepted_names}
    seen: dict[str, str] = {}
    for header, name in columns.items():
        norm = normalize_header(header)
        if not norm:
            problems.append((header, "an empty header cannot be mapped"))
        elif name not in by_name:
            problems.append(
                (header, f"{name!r} is not a column of {kind.name} (columns: {', '.join(by_name)})")
            )
        elif builtin.get(norm, name) != name:
            problems.append(
                (
                    header,
                    f"{header!r} already names the column {builtin[norm]} of {kind.name}: it cannot mean {name}",
                )
            )
        elif norm in seen:
            problems.append(
                (header, f"reads the same as {seen[norm]!r} (case, width and spaces do not count)")
            )
        seen.setdefault(norm, header)
    return problems


def match_header(
    kind: RecordKind, header: Sequence[object], columns: ColumnMap | None = None
) -> tuple[HeaderMap, int]:
    """Map header cells to the kind's columns (and the site's `columns` mapping). Returns the map and how many
    columns are filled (0: not a header).

    When two cells name one column, the better name fills it (see header_names) and the other is unused, with a
    note saying so; the same name twice is refused (HeaderError): nothing says which of the two is meant.
    """
    names = header_names(kind, columns)
    chosen: dict[str, tuple[int, int, str, str]] = {}  # column -> (rank, position, label, via)
    labels_at: dict[int, str] = {}
    doubled: list[Fault] = []
    for i, cell in enumerate(header):
        if is_empty(cell):
            continue
        label = str(cell).strip()
        labels_at[i] = label
        hit = names.get(normalize_header(cell))
        if hit is None:
            continue
        col, rank, via = hit
        held = chosen.get(col.name)
        if held is not None and held[0] == rank:
            doubled.append(
                Fault(
                    col.name,
                    label,
                    label,
                    Problem(
                        f"列「{held[2]}」和「{label}」同名（都表示 {col.name}），无法判断用哪一列：请删除或改名其中一列",
                        f"columns {held[2]!r} and {label!r} have the same name (both mean {col.name}): "
                        f"remove or rename one",
                    ),
                )
            )
        elif held is None or rank < held[0]:
            chosen[col.name] = (rank, i, label, via)
    filled = {pos: name for name, (_rank, pos, _label, _via) in chosen.items()}
    cells = []
    for i, label in labels_at.items():
        if i in filled:
            name = filled[i]
            cells.append(HeaderCell(i, label, name, chosen[name][3]))
            continue
        hit = names.get(normalize_header(label))
        note = None
        if hit is not None:
            other = chosen[hit[0].name][2]
            note = Problem(
                f"未使用：{hit[0].name} 已由列「{other}」提供",
                f"unused: {hit[0].name} is filled by the column {other!r}",
            )
        cells.append(HeaderCell(i, label, "", "", note))
    header_map = HeaderMap(
        positions={name: pos for name, (_r, pos, _l, _v) in chosen.items()},
        labels={name: label for name, (_r, _p, label, _v) in chosen.items()},
        ignored=tuple(c.label for c in cells if not c.column),
        cells=tuple(cells),
    )
    if doubled:
        raise HeaderError(doubled, header_map)
    return header_map, len(chosen)


def missing_columns(kind: RecordKind, header_map: HeaderMap) -> list[Column]:
    return [c for c in kind.columns if c.required and c.name not in header_map.positions]


def missing_fault(kind: RecordKind, col: Column, columns: ColumnMap | None = None) -> Fault:
    """A required column the header lacks: the names that would fill it, and how to map the file's own."""
    return Fault(
        col.name,
        col.name,
        "",
        Problem(
            f"缺少必需的列 {col.name}（可用列名：{_aliases_text(col, '、', columns)}）。"
            f"若文件用的是别的列名，可在 config.toml 中映射：[ingest.columns.{kind.name}] "
            f'"文件中的列名" = "{col.name}"',
            f"required column {col.name} is missing (accepted names: {_aliases_text(col, ', ', columns)}). "
            f"If the file names it otherwise, map that header in config.toml: [ingest.columns.{kind.name}] "
            f'"<header in the file>" = "{col.name}"',
        ),
    )


def require_columns(kind: RecordKind, header_map: HeaderMap, columns: ColumnMap | None = None) -> None:
    """Raise HeaderError naming every missing required column with the names it may have."""
    missing = missing_columns(kind, header_map)
    if missing:
        raise HeaderError([missing_fault(kind, c, columns) for c in missing], header_map)


def no_header_fault(kind: RecordKind, first_row: Sequence[object]) -> Fault:
    required = [c for c in kind.columns if c.required]
    sample_zh = "、".join(c.aliases[0] if c.aliases else c.name for c in required)
    sample_en = ", ".join(c.name for c in required)
    first = ", ".join(shown(v, 40) for v in first_row if not is_empty(v))[:200]
    return Fault(
        "",
        "",
        first,
        Problem(
            f"找不到表头：开头几行都不含{kind.title_zh}的列名。表头应含列名，例如：{sample_zh}。"
            f"文件用的是别的列名时，可在 config.toml 的 [ingest.columns.{kind.name}] 中映射",
            f"no header row: none of the first rows names a column of {kind.name}. "
            f"The header must hold the column names, e.g. {sample_en}; map the file's own names in "
            f"config.toml under [ingest.columns.{kind.name}]",
        ),
    )


# How a cell parser can be skipped for a plain text cell (`fast_path` marks a parser with one). The row parser
# handles these inline; any other cell, and a cell the shortcut does not settle, goes to the parser itself.
FAST_TEXT = "text"  # argument: the maximum length; the value is the stripped text when it is not longer
FAST_CHOICE = "choice"  # argument: {exact spelling: stored value}; a miss goes to the parser
_FAST = "_ops_watch_fast_path"


def fast_path(parser: CellParser, how: str, argument: Any) -> CellParser:
    """Mark `parser` with a shortcut for str cells that gives exactly what the parser gives (or defers to it)."""
    setattr(parser, _FAST, (how, argument))
    return parser


_EMPTY = Problem("必填，不能为空", "required: the cell is empty")
# What exports write where they have no value ("--" of a console, "N/A", "无"): an empty cell to any column that
# is not plain text (a number, a date, a choice). Plain text keeps what was written.
NO_VALUE = frozenset({"-", "--", "---", "—", "——", "/", "n/a", "na", "null", "none", "无", "暂无", "空"})

RowParser = Callable[[Sequence[object], ParseContext], tuple[Any | None, list[Fault]]]


def row_parser(kind: RecordKind, header_map: HeaderMap) -> RowParser:
    """`parse_row` for one header, prepared once: which cell each column reads, its parser, its shortcut.

    Rows of a file all share the header, so the lookups parse_row would repeat per cell are done here, and
    plain text cells of text and choice columns are settled without a call (this runs for every row).
    """
    plan = []
    for col in kind.columns:
        pos = header_map.positions.get(col.name)
        how, argument = getattr(col.parse, _FAST, (None, None))
        empty = Fault(col.name, header_map.label(col.name), "", _EMPTY) if col.default is NO_DEFAULT else None
        longest = argument if how == FAST_TEXT else -1  # -1: no text shortcut
        spellings = argument if how == FAST_CHOICE else None
        # An absent column reads past the end of every row: its cell is None.
        at = sys.maxsize if pos is None else pos
        plan.append((col.name, at, col.parse, col.default, empty, longest, spellings))
    build = kind.build

    def parse(cells: Sequence[object], ctx: ParseContext) -> tuple[Any | None, list[Fault]]:
        values: dict[str, Any] = {}
        faults: list[Fault] = []
        n = len(cells)
        for name, pos, parser, default, empty, longest, spellings in plan:
            raw = cells[pos] if pos < n else None
            if raw.__class__ is str:
                text = raw.strip()  # type: ignore[union-attr]
                if text:
                    if len(text) <= longest:
                        values[name] = text
                        continue
                    if spellings is not None:
                        out = spellings.get(raw)
                        if out is not None:
                            values[name] = out
                            continue
                elif empty is None:
                    values[name] = default
                    continue
                else:
                    faults.append(empty)
                    continue
            elif raw is None or (isinstance(raw, str) and not raw.strip()):
                if empty is None:
                    values[name] = default
                else:
                    faults.append(empty)
                continue
            if longest < 0 and raw.__class__ is str and text.casefold() in NO_VALUE:
                if empty is None:
                    values[name] = default
                else:
                    faults.append(Fault(name, header_map.label(name), text, _EMPTY))
                continue
            try:
                values[name] = parser(raw, ctx)
            except CellError as exc:
                faults.append(Fault(name, header_map.label(name), shown(raw), exc.problem))
            except (ValueError, TypeError, ArithmeticError) as exc:
                faults.append(Fault(name, header_map.label(name), shown(raw), Problem(str(exc), str(exc))))
        if faults:
            return None, faults
        try:
            return build(values, ctx), []
        except CellError as exc:
            column = exc.column or ""
            # The cell as the file writes it: a parsed time is UTC, not what the person typed.
            pos = header_map.positions.get(column, -1) if column else -1
            value = shown(cells[pos]) if 0 <= pos < n else ""
            return None, [Fault(column, header_map.label(column) if column else "", value, exc.problem)]

    return parse


def parse_row(
    kind: RecordKind, header_map: HeaderMap, cells: Sequence[object], ctx: ParseContext
) -> tuple[Any | None, list[Fault]]:
    """One data row -> (record, []) or (None, every fault found in the row).

    A file's rows go through `row_parser`, made once for its header; this is the same for a single row.
    """
    return row_parser(kind, header_map)(cells, ctx)


def build_record(record_type: type) -> Callable[[Mapping[str, Any], ParseContext], Any]:
    """The plain build: the parsed values are the record's fields."""

    def build(values: Mapping[str, Any], _ctx: ParseContext) -> Any:
        return record_type(**values)

    return build
