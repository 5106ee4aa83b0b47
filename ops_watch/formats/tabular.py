"""Streaming rows out of CSV and XLSX files, numbered as Excel shows them (the first row is 1).

CSV is read line by line in UTF-8, UTF-8 with BOM or GB18030 (what Chinese Excel saves), detected from
the first bytes; XLSX with openpyxl in read-only mode. Neither is ever loaded whole. Whole-file problems
raise TableError; a row that cannot be read comes out with `fault` set and the reading goes on.

This module reads files but knows nothing of kinds, headers or the store.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from xml.etree import ElementTree
from xml.parsers import expat

from ops_watch.formats.spec import Problem

if TYPE_CHECKING:
    from ops_watch.config import IngestConfig

DETECT_CHUNK = 64 * 1024
DETECT_LIMIT = 1024 * 1024  # an all-ASCII start is read this far looking for the first non-ASCII byte
MAX_LINE = 1024 * 1024
BLOCK = 256 * 1024  # read and decoded at once; no longer than MAX_LINE, so no line in a block is too long
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (Excel 97-2003) and other old Office files


class TableError(Exception):
    """The file as a whole cannot be read as a table."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.problem = Problem(zh, en)


@dataclass(slots=True)
class SourceRow:
    number: int  # as Excel shows it: the first row of the file is 1
    cells: list[Any]
    fault: Problem | None = None  # the row could not be read properly (bad bytes, a broken line)
    fault_cell: int | None = None  # which cell holds the damage, when known


@dataclass
class Table:
    """An open file: `rows()` yields every row (blank ones too, so numbers stay right)."""

    path: Path
    detail: dict[str, str] = field(default_factory=dict)  # encoding, delimiter, sheet: for the batch record
    _rows: Iterator[SourceRow] | None = None
    _close: Any = None

    def rows(self) -> Iterator[SourceRow]:
        assert self._rows is not None
        return self._rows

    def close(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def is_blank(cells: list[Any]) -> bool:
    for c in cells:  # a plain loop: this runs for every row
        if c is not None and (not isinstance(c, str) or c.strip()):
            return False
    return True


def open_table(path: Path, sheet: str | None = None, limits: XlsxLimits | None = None) -> Table:
    """Open a CSV or XLSX file for streaming. The content decides, the name only breaks ties. `limits`: what
    a workbook may hold (default: XlsxLimits())."""
    try:
        with open(path, "rb") as f:
            magic = f.read(8)
    except OSError as exc:
        raise TableError(f"无法读取文件：{exc.strerror}", f"cannot read the file: {exc.strerror}") from None
    suffix = path.suffix.lower()
    if magic.startswith(_OLE_MAGIC):
        raise TableError(
            "这是旧版 Excel 97-2003（.xls）文件，请另存为 .xlsx 或 CSV 后重新放入",
            "this is an old Excel 97-2003 (.xls) file: save it as .xlsx or CSV and drop it again",
        )
    if magic.startswith(_ZIP_MAGIC):
        return _open_xlsx(path, sheet, limits)
    if suffix in XLSX_SUFFIXES:
        if not magic:
            raise TableError("空文件", "empty file")
        raise TableError(
            "不是有效的 XLSX 工作簿（文件已损坏或不是 Excel 文件）",
            "not a valid XLSX workbook (damaged or not an Excel file)",
        )
    if suffix in CSV_SUFFIXES:
        return _open_csv(path)
    raise TableError(
        f"不支持的文件类型「{path.suffix or '(无扩展名)'}」：请提交 CSV 或 XLSX 文件",
        f"unsupported file type {path.suffix or '(no extension)'!r}: drop CSV or XLSX files",
    )


# --- CSV ---------------------------------------------------------------------------------------------


def _decodes(data: bytes, encoding: str, final: bool = True) -> str | None:
    try:
        return codecs.getincrementaldecoder(encoding)().decode(data, final=final)
    except UnicodeDecodeError:
        return None


# Which encoding a line is in, when the file holds lines of both. UTF-8 is self-checking: its multi-byte
# characters follow a strict pattern that GB18030 text seldom fits, while most UTF-8 Chinese happens to
# decode as GB18030 too, as mojibake of Chinese characters (涓枃 for 中文). So a non-ASCII line that is valid
# UTF-8 is UTF-8, unless it reads as Chinese only in GB18030: 平台 in GB18030 is valid UTF-8 too, but reads
# "ƽ̨" (a Latin letter and a combining mark); the reading with the larger share of Chinese characters wins,
# UTF-8 on a tie. A line is GB18030 when it decodes as GB18030 and not (plausibly) as UTF-8. The same rule
# picks the file's encoding (that of most of its non-ASCII lines) and judges every line after.
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"  # CJK characters, punctuation, full-width forms
_CJK_CHAR = re.compile(f"[{_CJK}]")


def _chinese_share(text: str) -> float:
    foreign = sum(1 for ch in text if ord(ch) > 127)
    return len(_CJK_CHAR.findall(text)) / foreign if foreign else 0.0


def _line_encoding(raw: bytes) -> str | None:
    """ "utf-8" or "gb18030" for a non-ASCII line by the rule above; None when it is neither."""
    as_utf8 = _decodes(raw, "utf-8")
    as_gb = _decodes(raw, "gb18030")
    if as_utf8 is None:
        return None if as_gb is None else "gb18030"
    if as_gb is None or _chinese_share(as_utf8) >= _chinese_share(as_gb):
        return "utf-8"
    return "gb18030"


def _best_by_lines(sample: bytes, eof: bool) -> str | None:
    """The encoding most non-ASCII lines of the start are in (see `_line_encoding`), if that is most lines."""
    lines = sample.split(b"\n")
    if not eof:
        lines = lines[:-1]  # may be cut short
    foreign = [line for line in lines if not line.isascii()]
    if not foreign:
        return None
    scores = {"utf-8": 0, "gb18030": 0}
    for line in foreign:
        encoding = _line_encoding(line)
        if encoding is not None:
            scores[encoding] += 1
    best = max(scores, key=lambda enc: scores[enc])  # utf-8 first on a tie
    return best if scores[best] * 2 > len(foreign) else None


def _detect_encoding(f: IO[bytes]) -> tuple[str, int, bool]:
    """(encoding, bytes to skip for a BOM, sure?) from the start of the file; TableError when it is not text.

    An all-ASCII start is read further (up to DETECT_LIMIT) for the first non-ASCII byte. A start that
    neither encoding decodes whole (a few lines saved in another encoding) takes the encoding most of its
    lines decode in; the other lines become bad rows. Less than that is a file in a wrong encoding.
    """
    head = f.read(DETECT_CHUNK)
    if not head.strip():
        raise TableError("空文件：没有表头也没有数据", "empty file: no header and no data")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", len(codecs.BOM_UTF8), True
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or head[:200].count(b"\x00") > 20:
        raise TableError(
            "这是 UTF-16（Excel「Unicode 文本」）文件：请另存为「CSV UTF-8（逗号分隔）」",
            "this is UTF-16 text (Excel 'Unicode Text'): save it as 'CSV UTF-8 (comma delimited)'",
        )
    sample = head
    while sample.isascii() and len(sample) < DETECT_LIMIT:
        more = f.read(DETECT_CHUNK)
        if not more:
            break
        sample += more
    if sample.count(b"\x00") > len(sample) // 1000:
        raise TableError("文件含有二进制数据，不是 CSV 文本", "the file holds binary data, not CSV text")
    if sample.isascii():
        return "utf-8", 0, False
    eof = not f.read(1)
    by_lines = None
    for encoding in ("utf-8", "gb18030"):
        if encoding == "gb18030":
            # UTF-8 with a few GB18030 lines often decodes whole as GB18030 mojibake: most lines decide.
            by_lines = _best_by_lines(sample, eof)
            if by_lines == "utf-8":
                return "utf-8", 0, True
        decoded = _decodes(sample, encoding, final=eof)
        if decoded is not None:
            controls = sum(1 for ch in decoded if ord(ch) < 32 and ch not in "\t\r\n")
            if controls > max(2, len(decoded) // 100):
                raise TableError(
                    "文件含有乱码或二进制数据，不是 CSV 文本",
                    "the file holds garbage or binary data, not CSV text",
                )
            return encoding, 0, True
    if by_lines is not None:
        return by_lines, 0, True
    raise TableError(
        "无法识别文件编码（应为 UTF-8 或 GB18030/GBK）：请用 Excel 另存为「CSV UTF-8（逗号分隔）」",
        "cannot decode the file as UTF-8 or GB18030/GBK: save it from Excel as 'CSV UTF-8 (comma delimited)'",
    )


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


# The bytes of a UTF-8 character from U+0800 to U+FFFF (Chinese among them) are a lead byte E0-EF and two
# continuation bytes 80-BF: mapped to "L" and "C" (others to "x"), such a character is "LCC", which bytes.find
# seeks far faster than a regular expression. GB18030 text holds them now and then by chance, so they only
# point at lines worth judging with `_line_encoding`.
_UTF8_CLASSES = bytes(
    ord("L") if 0xE0 <= b <= 0xEF else ord("C") if 0x80 <= b <= 0xBF else ord("x") for b in range(256)
)


def _has_utf8_line(block: bytes) -> bool:
    """Whether a block of whole lines that decodes as GB18030 holds a line that is UTF-8 (`_line_encoding`)."""
    classes = block.translate(_UTF8_CLASSES)
    pos = 0
    while (found := classes.find(b"LCC", pos)) >= 0:
        start = block.rfind(b"\n", 0, found) + 1
        end = block.find(b"\n", found + 3)
        if end < 0:
            end = len(block)
        if _line_encoding(block[start:end]) == "utf-8":
            return True
        pos = end
    return False


_OTHER = {"utf-8": "gb18030", "gb18030": "utf-8"}


class _CsvLines:
    """Decoded lines for csv.reader, one at a time; remembers what went wrong in the current record.

    The file is read in blocks of whole lines, each decoded at once (a line at a time costs more than the
    CSV parsing): the lines, and the faults of bad ones, are the same as line by line, because neither
    encoding has a newline byte inside a character. A block that does not decode cleanly, a GB18030 block
    holding a UTF-8 line (see `_line_encoding`), and a line longer than a block, go line by line.
    """

    def __init__(self, f: IO[bytes], encoding: str, sure: bool):
        self.f = f
        self.encoding = encoding
        self.sure = sure
        self.fault: Problem | None = None
        self.line = 0  # the file's line (not row: a quoted cell may span lines) last decoded
        self._lines = self._read()

    def __iter__(self) -> Iterator[str]:
        return self._lines

    def __next__(self) -> str:
        return next(self._lines)

    def _read(self) -> Iterator[str]:
        f = self.f
        while block := f.read(min(BLOCK, MAX_LINE)):
            end = block.rfind(b"\n") + 1
            if end == 0:  # no line ends in this block: a long line (or the last one), read as before
                f.seek(-len(block), io.SEEK_CUR)
                line = self._long_line()
                if line is None:
                    return
                yield line
                continue
            if end < len(block):
                f.seek(end - len(block), io.SEEK_CUR)  # the cut line is read with the next block
                block = block[:end]
            try:
                text = block.decode(self.encoding)
            except UnicodeDecodeError:
                text = None
            if text is not None and self.encoding == "gb18030" and _has_utf8_line(block):
                text = None  # a UTF-8 line decodes as GB18030 mojibake: find it line by line
            if text is None:
                for raw in _byte_lines(block):
                    yield self._decode(raw)
                continue
            if not self.sure and not block.isascii():
                self.sure = True  # UTF-8 text after a plain ASCII start settles the guess
            self.line += block.count(b"\n")
            # Split at "\n" only, keeping it, as readline() does (str.splitlines would split at more).
            yield from io.StringIO(text, newline="\n")

    def _long_line(self) -> str | None:
        raw = self.f.readline(MAX_LINE)
        if not raw:
            return None
        if len(raw) == MAX_LINE and not raw.endswith(b"\n"):
            while (more := self.f.readline(MAX_LINE)) and not more.endswith(b"\n"):
                pass
            self.line += 1
            self.fault = Problem(
                f"此行超过 {MAX_LINE // 1024} KB，已跳过（文件可能已损坏）",
                f"line longer than {MAX_LINE // 1024} KB, skipped (is the file damaged?)",
            )
            return "\ufffd\n"
        return self._decode(raw)

    def _decode(self, raw: bytes) -> str:
        self.line += 1
        if self.encoding == "gb18030" and not raw.isascii() and _line_encoding(raw) == "utf-8":
            return self._foreign(raw, "utf-8")
        try:
            line = raw.decode(self.encoding)
        except UnicodeDecodeError as exc:
            if not self.sure:
                # The start was plain ASCII, so UTF-8 was a guess: a GBK line now settles it.
                try:
                    line = raw.decode("gb18030")
                except UnicodeDecodeError:
                    pass
                else:
                    self.encoding, self.sure = "gb18030", True
                    return line
            other = _OTHER[self.encoding]
            if _line_encoding(raw) == other:
                return self._foreign(raw, other)
            bad = raw[exc.start : exc.start + 4].hex(" ")
            self.fault = Problem(
                f"第 {self.line} 行含有无法按 {self.encoding} 解码的字节（{bad}），此行可能混入了其他编码或乱码",
                f"line {self.line} has bytes that are not valid {self.encoding} ({bad}): "
                "the row mixes encodings or holds garbage",
            )
            return raw.decode(self.encoding, errors="replace")
        if not self.sure and not raw.isascii():
            self.sure = True  # UTF-8 text after a plain ASCII start settles the guess
        return line

    def _foreign(self, raw: bytes, other: str) -> str:
        """A line saved in the other encoding: a bad row, shown as its sender wrote it, never stored."""
        self.fault = Problem(
            f"第 {self.line} 行是 {other} 编码，而文件是 {self.encoding} 编码：此行未导入，"
            "请把整个文件另存为同一种编码后重新放入",
            f"line {self.line} is saved as {other} in a {self.encoding} file: the row is not imported; "
            "save the whole file in one encoding and drop it again",
        )
        return raw.decode(other)


def _byte_lines(block: bytes) -> Iterator[bytes]:
    """The lines of a block that ends with a newline, each with its newline (bytes.splitlines splits at \\r)."""
    start = 0
    while start < len(block):
        end = block.index(b"\n", start) + 1
        yield block[start:end]
        start = end


def _open_csv(path: Path) -> Table:
    f = open(path, "rb")  # noqa: SIM115 - closed by Table.close
    try:
        encoding, skip, sure = _detect_encoding(f)
        f.seek(skip)
        first = f.readline(MAX_LINE)
        f.seek(skip)
    except BaseException:
        f.close()
        raise
    delimiter = _delimiter(first.decode(encoding, errors="replace"))
    lines = _CsvLines(f, encoding, sure)
    table = Table(
        path, {"format": "csv", "encoding": "utf-8-sig" if skip else encoding, "delimiter": delimiter}
    )
    table._rows = _csv_rows(lines, delimiter, table)
    table._close = f.close
    return table


def _csv_rows(lines: _CsvLines, delimiter: str, table: Table) -> Iterator[SourceRow]:
    reader = csv.reader(lines, delimiter=delimiter)
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            number += 1
            lines.fault = None
            yield SourceRow(
                number,
                [],
                Problem(f"CSV 格式错误：{exc}（引号不成对？）", f"broken CSV: {exc} (unbalanced quotes?)"),
            )
            continue
        number += 1
        fault, lines.fault = lines.fault, None
        if fault is None:
            yield SourceRow(number, cells)
        else:
            damaged = next((i for i, c in enumerate(cells) if "\ufffd" in c), None)
            if damaged is None:  # a line in the other encoding, decoded as such: its first non-ASCII cell
                damaged = next((i for i, c in enumerate(cells) if not c.isascii()), None)
            yield SourceRow(number, cells, fault, damaged)
    if lines.encoding != table.detail["encoding"] and table.detail["encoding"] != "utf-8-sig":
        table.detail["encoding"] = lines.encoding


# --- XLSX --------------------------------------------------------------------------------------------
#
# A workbook is a zip of XML parts, and nothing in it may make the reader work beyond its caps
# (XlsxLimits: the [ingest] keys xlsx_*), whatever the file states. Before openpyxl opens it, the zip
# directory is judged (how many parts, each part's inflation, their total size once unpacked: zipfile never
# inflates a part past the size the directory states) and the shared strings are streamed once to bound each
# string (openpyxl loads them all at once). The sheet itself is read here, not by openpyxl's read-only
# reader, which pads every row missing up to the one a `<row r="…">` states and builds a whole row before
# yielding it: rows and cells are checked as the XML comes, and openpyxl only turns each cell into a value.

MIB = 1024 * 1024
XLSX_MAX_MEMBERS = 10_000  # parts of one workbook (Excel writes a few dozen)
ZIP_MAX_RATIO = 200  # a part inflating to more than this many times its packed size...
ZIP_RATIO_FLOOR = 10 * MIB  # ...and to more than this is a zip bomb
XML_CHUNK = 64 * 1024  # XML fed to the parsers at once
_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _CELL, _SHEET_DATA = f"{_SHEET_NS}row", f"{_SHEET_NS}c", f"{_SHEET_NS}sheetData"
_SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


@dataclass(frozen=True, slots=True)
class XlsxLimits:
    """What one workbook may hold; beyond it the file is refused, naming the limit. Set by [ingest] xlsx_*."""

    max_rows: int = 1_048_576  # Excel's own limit
    max_columns: int = 1024
    max_cell_chars: int = 32_767  # Excel's own limit
    max_unzipped_mb: int = 512  # the parts' total size once unpacked

    @classmethod
    def of(cls, ingest: IngestConfig) -> XlsxLimits:
        return cls(
            ingest.xlsx_max_rows,
            ingest.xlsx_max_columns,
            ingest.xlsx_max_cell_chars,
            ingest.xlsx_max_unzipped_mb,
        )

    @property
    def max_cell_bytes(self) -> int:
        """The most XML one cell may take: each character a 10-byte reference (&#x10FFFF;), and markup."""
        return self.max_cell_chars * 10 + MIB


def _over(zh: str, en: str, key: str) -> TableError:
    return TableError(
        f"{zh}：文件未导入（可在配置 [ingest] {key} 中调高上限）",
        f"{en}: the file is refused (raise [ingest] {key} to allow more)",
    )


def _column_name(column: int) -> str:
    """The column's letters as Excel names it: 1 is A, 27 is AA."""
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _check_workbook(f: IO[bytes], limits: XlsxLimits) -> None:
    """Refuse a workbook whose zip directory or shared strings break the limits, before openpyxl reads it.
    A file that is no zip at all is left to openpyxl, which says what is wrong with it."""
    try:
        archive = zipfile.ZipFile(f)
    except Exception:  # not a zip openpyxl can read either: it says what is wrong
        return
    with archive:  # closes the archive, not f
        infos = archive.infolist()
        if len(infos) > XLSX_MAX_MEMBERS:
            raise TableError(
                f"工作簿含有 {len(infos)} 个部件，超过上限 {XLSX_MAX_MEMBERS} 个（Excel 只写几十个）：文件未导入",
                f"the workbook holds {len(infos)} parts, more than {XLSX_MAX_MEMBERS} "
                "(Excel writes a few dozen): the file is refused",
            )
        total = 0
        for info in infos:
            name = info.filename
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise TableError(
                    f"工作簿部件 {name} 使用了 Excel 不用的压缩方式：请用 Excel 打开后另存为 .xlsx",
                    f"part {name} of the workbook is compressed in a way Excel never uses: "
                    "open it in Excel and save as .xlsx",
                )
            if info.file_size > ZIP_RATIO_FLOOR and info.file_size > ZIP_MAX_RATIO * max(
                info.compress_size, 1
            ):
                ratio = info.file_size // max(info.compress_size, 1)
                raise TableError(
                    f"工作簿部件 {name} 解压后 {info.file_size / MIB:.0f} MB，是压缩大小的 {ratio} 倍"
                    f"（超过 {ZIP_RATIO_FLOOR // MIB} MB 的部件至多 {ZIP_MAX_RATIO} 倍）：疑似压缩炸弹，文件未导入",
                    f"part {name} of the workbook unpacks to {info.file_size / MIB:.0f} MB, {ratio} times its "
                    f"packed size (at most {ZIP_MAX_RATIO} times for a part over {ZIP_RATIO_FLOOR // MIB} MB): "
                    "a zip bomb, the file is refused",
                )
            total += info.file_size
        if total > limits.max_unzipped_mb * MIB:
            raise _over(
                f"工作簿解压后共 {total / MIB:.0f} MB，超过上限 {limits.max_unzipped_mb} MB",
                f"the workbook unpacks to {total / MIB:.0f} MB, over the limit of {limits.max_unzipped_mb} MB",
                "xlsx_max_unzipped_mb",
            )
        for part in _shared_string_parts(archive):
            _check_shared_strings(archive, part, limits)


def _shared_string_parts(archive: zipfile.ZipFile) -> list[str]:
    """The shared strings parts, named as openpyxl finds them (the content types), and by the usual name."""
    parts = []
    try:
        types = ElementTree.fromstring(archive.read("[Content_Types].xml"))
    except (KeyError, ElementTree.ParseError, OSError, zipfile.BadZipFile, ValueError):
        types = None
    if types is not None:
        for override in types:
            if override.tag.endswith("Override") and override.get("ContentType") == _SHARED_STRINGS_TYPE:
                parts.append((override.get("PartName") or "").lstrip("/"))
    names = set(archive.namelist())
    if "xl/sharedStrings.xml" not in parts:
        parts.append("xl/sharedStrings.xml")
    return [part for part in dict.fromkeys(parts) if part in names]


class _LongString(Exception):
    pass


def _check_shared_strings(archive: zipfile.ZipFile, part: str, limits: XlsxLimits) -> None:
    """Stream the shared strings once, refusing a string longer than a cell may be before openpyxl loads it
    whole. Only the text of a string counts, as openpyxl reads it (`<t>`, not the phonetic `<rPh>`)."""
    cap = limits.max_cell_chars
    index = -1  # the string's index, as cells refer to it
    length = 0
    in_text = False
    phonetic = 0

    def start(name: str, _attrs: object) -> None:
        nonlocal index, length, in_text, phonetic
        local = name.rpartition(":")[2]
        if local == "si":
            index += 1
            length = 0
        elif local == "t":
            in_text = phonetic == 0
        elif local == "rPh":
            phonetic += 1

    def end(name: str) -> None:
        nonlocal in_text, phonetic
        local = name.rpartition(":")[2]
        if local == "t":
            in_text = False
        elif local == "rPh":
            phonetic -= 1

    def text(data: str) -> None:
        nonlocal length
        if in_text:
            length += len(data)
            if length > cap:
                raise _LongString

    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = XML_CHUNK
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        with archive.open(part) as src:
            while chunk := src.read(XML_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except _LongString:
        raise _over(
            f"共享字符串表 {part} 的第 {index + 1} 项（索引 {index}）超过 {cap} 个字符，超出单元格字数上限",
            f"shared string #{index + 1} (index {index}) in {part} is longer than the limit of {cap} "
            "characters per cell",
            "xlsx_max_cell_chars",
        ) from None
    except Exception:  # damaged, encrypted…: openpyxl says so when it loads the workbook
        return


def _import_openpyxl() -> Any:
    """openpyxl without numpy and Pillow, which it imports whenever they are installed: it needs them only to
    write numpy values and images, which reading evidence never does, and once in the daemon they would stay in
    its memory for good after its first workbook (about 14 MiB: bench/daemon_report_rss.py). A name set to None
    in sys.modules makes its import fail, so openpyxl takes them as absent; the entries go right after."""
    blocked = [name for name in ("numpy", "PIL") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import openpyxl  # start-up: only when a workbook arrives, it is not small
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
    return openpyxl


def _open_xlsx(path: Path, sheet: str | None, limits: XlsxLimits | None = None) -> Table:
    openpyxl = _import_openpyxl()

    limits = limits or XlsxLimits()
    f = open(path, "rb")  # noqa: SIM115 - a file object, so openpyxl does not judge the file by its name
    try:
        _check_workbook(f, limits)
        f.seek(0)
    except BaseException:
        f.close()
        raise
    try:
        wb = openpyxl.load_workbook(f, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        f.close()
        raise TableError(
            f"不是有效的 XLSX 工作簿（{type(exc).__name__}）：请用 Excel 打开后另存为 .xlsx",
            f"not a readable XLSX workbook ({type(exc).__name__}: {exc}): open it in Excel and save as .xlsx",
        ) from None
    except Exception as exc:  # openpyxl raises many kinds of errors on damaged parts
        f.close()
        raise TableError(
            f"XLSX 工作簿已损坏（{type(exc).__name__}）",
            f"damaged XLSX workbook ({type(exc).__name__}: {exc})",
        ) from None
    try:
        if sheet is not None:
            if sheet not in wb.sheetnames:
                raise TableError(
                    f"工作簿中没有名为「{sheet}」的工作表（现有：{'、'.join(wb.sheetnames)}）",
                    f"the workbook has no sheet named {sheet!r} (it has: {', '.join(wb.sheetnames)})",
                )
            ws = wb[sheet]
        else:
            if not wb.worksheets:
                raise TableError("工作簿中没有工作表", "the workbook has no worksheet")
            ws = wb.worksheets[0]
    except BaseException:
        wb.close()
        f.close()
        raise

    def close() -> None:
        wb.close()
        f.close()

    table = Table(path, {"format": "xlsx", "sheet": ws.title})
    table._rows = _xlsx_rows(ws, limits)
    table._close = close
    return table


def _row_number(stated: str | None, previous: int) -> int:
    """A `<row>`'s number as openpyxl reads it: its `r`, else the one after the previous row."""
    if stated is None:
        return previous + 1
    try:
        return int(stated)
    except ValueError:
        value = float(stated)
        if not value.is_integer():
            raise ValueError(f"{stated} is not a valid row number") from None
        return int(value)


def _sheet_rows(ws: Any, limits: XlsxLimits) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """The rows the sheet writes, in rising order (a row numbered at or before the last one is skipped, as
    openpyxl does), each as openpyxl's cells (column, value, style_id, …), with no row padded in between.
    Refuses a row or column beyond the caps as soon as its tag is read, a cell longer than the cap, and
    anything holding more bytes of XML than a cell may: the reading never waits for a whole huge element."""
    from openpyxl.worksheet._reader import WorkSheetParser  # start-up: only when a workbook arrives

    wb = ws.parent
    cells_parser = WorkSheetParser(
        None,
        ws._shared_strings,
        data_only=wb.data_only,
        epoch=wb.epoch,
        date_formats=wb._date_formats,
        timedelta_formats=wb._timedelta_formats,
    )
    sheet = ws.title
    max_rows, max_columns, max_chars = limits.max_rows, limits.max_columns, limits.max_cell_chars
    pull = ElementTree.XMLPullParser(events=("start", "end"))
    number = last = quiet = 0
    cells: list[dict[str, Any]] = []
    sheet_data = None
    with ws._get_source() as src:
        while chunk := src.read(XML_CHUNK):
            pull.feed(chunk)
            events = 0
            for event, elem in pull.read_events():
                events += 1
                tag = elem.tag
                if event == "start":
                    if tag == _ROW:
                        number = _row_number(elem.get("r"), number)
                        if number > max_rows:
                            raise _over(
                                f"工作表「{sheet}」第 {number} 行超出行数上限 {max_rows} 行",
                                f"sheet {sheet!r}: row {number} is beyond the limit of {max_rows} rows",
                                "xlsx_max_rows",
                            )
                        cells = []
                        cells_parser.row_counter = number
                        cells_parser.col_counter = 0
                    elif tag == _SHEET_DATA:
                        sheet_data = elem
                elif tag == _CELL:
                    cell = cells_parser.parse_cell(elem)
                    elem.clear()
                    column = cell["column"]
                    if column > max_columns:
                        where = f"{_column_name(column)}{number}"
                        raise _over(
                            f"工作表「{sheet}」单元格 {where}（第 {number} 行第 {column} 列）超出列数上限 {max_columns} 列",
                            f"sheet {sheet!r}: cell {where} (row {number}, column {column}) is beyond the limit "
                            f"of {max_columns} columns",
                            "xlsx_max_columns",
                        )
                    if len(cells) >= max_columns:
                        raise _over(
                            f"工作表「{sheet}」第 {number} 行的单元格超过 {max_columns} 个（列数上限）",
                            f"sheet {sheet!r}: row {number} holds more than {max_columns} cells "
                            "(the limit of columns)",
                            "xlsx_max_columns",
                        )
                    value = cell["value"]
                    if isinstance(value, str) and len(value) > max_chars:
                        where = f"{_column_name(column)}{number}"
                        raise _over(
                            f"工作表「{sheet}」单元格 {where} 有 {len(value)} 个字符，超出单元格字数上限 {max_chars}",
                            f"sheet {sheet!r}: cell {where} holds {len(value)} characters, over the limit of "
                            f"{max_chars} per cell",
                            "xlsx_max_cell_chars",
                        )
                    cells.append(cell)
                elif tag == _ROW:
                    elem.clear()
                    if sheet_data is not None:
                        del sheet_data[:]  # the rows read are dropped, not kept as empty elements
                    if number > last:
                        last = number
                        yield number, cells
                elif tag == _SHEET_DATA:
                    return  # what follows the rows (merged cells, formatting…) is not read
            quiet = 0 if events else quiet + len(chunk)
            if quiet > limits.max_cell_bytes:
                raise _over(
                    f"工作表「{sheet}」第 {max(number, 1)} 行附近有一个单元格（或元素）超过 {max_chars} 个字符，"
                    "超出单元格字数上限",
                    f"sheet {sheet!r}: a cell (or element) near row {max(number, 1)} is longer than the limit of "
                    f"{max_chars} characters per cell",
                    "xlsx_max_cell_chars",
                )


# The rows looked at for percent-formatted columns (formats are per cell; reading them costs, so only these).
PERCENT_PROBE_ROWS = 50


def _percent_columns(ws: Any, limits: XlsxLimits) -> frozenset[int]:
    """Columns whose numbers Excel shows as percents: a cell showing 35% holds 0.35, which a percent column of
    ops-watch would read as 0.35 %. Judged from the first rows' number formats."""
    from openpyxl.cell.read_only import ReadOnlyCell  # start-up: only when a workbook arrives

    found: set[int] = set()
    for number, cells in _sheet_rows(ws, limits):
        if number > PERCENT_PROBE_ROWS:
            break
        for cell in cells:
            value = cell["value"]
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if "%" in str(ReadOnlyCell(ws, **cell).number_format or ""):
                    found.add(cell["column"] - 1)
    return frozenset(found)


def _as_shown_percent(value: object) -> object:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{round(value * 100, 9):g}%"  # what the cell shows: 0.35 -> "35%"
    return value


def _xlsx_rows(ws: Any, limits: XlsxLimits) -> Iterator[SourceRow]:
    try:
        percent = _percent_columns(ws, limits)
        done = 0
        for number, cells in _sheet_rows(ws, limits):
            for blank in range(done + 1, number):  # rows the sheet leaves out: blank, so numbers stay right
                yield SourceRow(blank, [])
            done = number
            values: list[Any] = [None] * max((c["column"] for c in cells), default=0)
            for cell in cells:
                values[cell["column"] - 1] = cell["value"]
            for index in percent:
                if index < len(values):
                    values[index] = _as_shown_percent(values[index])
            yield SourceRow(number, values)
    except TableError:
        raise
    except Exception as exc:  # a damaged part shows only when it is reached
        raise TableError(
            f"XLSX 工作簿读到中途出错，文件可能已损坏（{type(exc).__name__}）",
            f"the XLSX workbook broke off while reading (damaged?): {type(exc).__name__}: {exc}",
        ) from None
