"""A hostile corpus for the drop folder (issue 17, "Prove it"): generated in tmp, never committed.

Each `Probe` is one entry an attacker or a clumsy clerk puts in the drop folder: its bytes, how it is put
there (a plain write, a write in two steps with a pause, a symlink, a FIFO, a hard link to a secret), how many
data rows it holds and which lines must come back as row errors. `corpus(secret)` builds them all;
`place(probe, drop_dir, secret)` puts one in the folder; `csv_formula_cells(path)` finds cells of a CSV that
Excel or WPS would run as a formula (OWASP's CSV-injection rule).

pytest puts a test module's folder on sys.path, so the tests beside it import it as `hostile`.
"""

from __future__ import annotations

import csv
import io
import os
import re
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BACKUP_HEADER = ["system", "job", "started", "finished", "status", "size_gb"]

# A number stays a number in a formula-safe CSV: -3, -0.5, 1e3.
_PLAIN_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_FORMULA_START = tuple("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")


@dataclass(eq=False)  # one probe is one entry: hashed by identity
class Probe:
    cls: str  # the class of the issue it belongs to (a row of the final table)
    kind: str  # the drop folder's kind subfolder
    name: str | bytes  # the entry's name (bytes: not UTF-8)
    data: bytes = b""
    rows: int | None = None  # data rows under the header (None: a document, not counted by rows)
    bad_lines: list[int] | None = None  # the lines that must be row errors (None: not checked line by line)
    bad_count: int | None = None  # how many rows must be refused (None: len(bad_lines))
    refused: bool = False  # the whole file must be rejected
    reason: str = ""  # a word the rejected batch's reason must hold (English or Chinese), "" any reason
    how: str = "write"  # write | two_step | symlink | fifo | hardlink
    pause: float = 0.0  # two_step: seconds between the two halves
    split: int = 0  # two_step: bytes written before the pause

    @property
    def label(self) -> str:
        name = self.name if isinstance(self.name, str) else self.name.decode("utf-8", "replace")
        return f"{self.cls}:{name[:24]}"

    def matches(self, source: str) -> bool:
        """Whether a batch's `source` (the file's name as the store keeps it) is this probe's."""
        if isinstance(self.name, str):
            return source == self.name
        tail = self.name.decode("ascii", "ignore").lstrip("?")
        return "\ufffd" in source and source.endswith(tail)

    @property
    def expected_bad(self) -> int:
        if self.bad_count is not None:
            return self.bad_count
        return len(self.bad_lines or [])


def backup_rows(n: int, start: int = 0, *, system: str = "db", job: str = "nightly") -> list[list[str]]:
    """n valid, distinct backup runs (no two share system, job and start)."""
    out = []
    for i in range(start, start + n):
        day, minute = 1 + i // 600, i % 600
        started = f"2026-11-{day:02} {minute // 60:02}:{minute % 60:02}"
        out.append([f"{system}{i:03}", job, started, "", "success", str(i)])
    return out


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8", header: list[str] = BACKUP_HEADER) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def _line(row: list[str]) -> str:
    return ",".join(row) + "\n"


def mixed_gb18030_with_utf8() -> Probe:
    """A GB18030 file with two UTF-8 lines (lines 3 and 6): those two are row errors, never mojibake."""
    rows = backup_rows(6, system="数据库", job="夜间备份")
    data = _line(BACKUP_HEADER).encode("gb18030")
    for line, row in enumerate(rows, start=2):
        data += _line(row).encode("utf-8" if line in (3, 6) else "gb18030")
    return Probe("mixed encodings", "backup", "gb18030_含utf8.csv", data, rows=6, bad_lines=[3, 6])


def mixed_utf8_with_gb18030() -> Probe:
    """A UTF-8 file with two GB18030 lines (lines 4 and 7): they cost only their own rows."""
    rows = backup_rows(7, system="数据库", job="夜间备份")
    data = _line(BACKUP_HEADER).encode("utf-8")
    for line, row in enumerate(rows, start=2):
        data += _line(row).encode("gb18030" if line in (4, 7) else "utf-8")
    return Probe("mixed encodings", "backup", "utf8_含gb18030.csv", data, rows=7, bad_lines=[4, 7])


def formula_cells() -> Probe:
    """Cells that a spreadsheet would run: every CSV ops-watch writes must neutralise them."""
    good = backup_rows(2)
    good[0][0] = "@SUM(1+1)"  # a text column takes it: it is stored, and must be safe when written out
    good[1][0] = "-1+1"
    bad = backup_rows(5, start=10)
    bad[0][4] = "=cmd|' /C calc'!A0"
    bad[1][5] = "-2+3+cmd|' /C calc'!A0"
    bad[2][4] = "\t=1+1"
    bad[3][4] = '\r=HYPERLINK("http://x")'
    bad[4][2] = "+1+1"
    # The name starts a formula too: it is the first column of the .errors.csv.
    return Probe("formula cells", "backup", "=1+1 公式.csv", csv_bytes(good + bad), rows=7, bad_count=5)


def future_rows() -> Probe:
    rows = backup_rows(3, start=20)
    rows[1][2] = "2099-11-02 01:00"
    return Probe("future rows", "backup", "future.csv", csv_bytes(rows), rows=3, bad_lines=[3])


def long_name() -> Probe:
    name = "长" * 82 + ".csv"
    assert len(name.encode()) == 250
    rows = backup_rows(3, start=30) + [["db999", "nightly", "not a time", "", "success", "1"]]
    return Probe("long names", "backup", name, csv_bytes(rows), rows=4, bad_lines=[5])


def non_utf8_name() -> Probe:
    name = "备份记录".encode("gbk") + b"-gbk.csv"
    return Probe("long names", "backup", name, csv_bytes(backup_rows(2, start=40)), rows=2, bad_lines=[])


def partial_writes(settle: float) -> list[Probe]:
    """Header and 5 rows, a pause longer than the settle time, then 5 more rows through the same handle (a
    slow copy). Four files with pauses of 1.5 to 4 settle times, so some pause straddles a scan whatever the
    phase of the daemon's scans."""
    probes = []
    for i, factor in enumerate((1.5, 2.2, 3.0, 4.0)):
        first = csv_bytes(backup_rows(5, start=100 + 10 * i))
        rest = "".join(_line(r) for r in backup_rows(5, start=105 + 10 * i)).encode()
        probes.append(
            Probe(
                "partial writes",
                "backup",
                f"two_steps_{i}.csv",
                first + rest,
                rows=10,
                bad_lines=[],
                how="two_step",
                pause=settle * factor,
                split=len(first),
            )
        )
    return probes


def links_and_fifos() -> list[Probe]:
    return [
        Probe(
            "symlink/hardlink/FIFO", "backup", "link.csv", refused=True, reason="symbolic link", how="symlink"
        ),
        Probe("symlink/hardlink/FIFO", "backup", "pipe.csv", refused=True, reason="regular file", how="fifo"),
        Probe(
            "symlink/hardlink/FIFO", "backup", "hard.csv", refused=True, reason="hard link", how="hardlink"
        ),
    ]


def secret_csv(marker: str) -> bytes:
    """What stands in for /etc/shadow: a well-formed backup file, so only a refusal keeps its rows out."""
    return csv_bytes([[marker, "nightly", "2026-11-02 01:00", "", "success", "1"]])


# --- XLSX bombs ----------------------------------------------------------------------------------------

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/></Relationships>'
)
_COLS = "ABCDEF"


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def xlsx_bytes(rows_xml: str, shared: list[str] | None = None) -> bytes:
    """A minimal workbook, written part by part (the bombs state numbers no real writer would)."""
    header = "".join(_inline(f"{c}1", h) for c, h in zip(_COLS, BACKUP_HEADER, strict=True))
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        f'<row r="1">{header}</row>{rows_xml}</sheetData></worksheet>'
    )
    strings = "".join(f"<si><t>{s}</t></si>" for s in shared or [])
    sst = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="{len(shared or [])}" uniqueCount="{len(shared or [])}">{strings}</sst>'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _ROOT_RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        z.writestr("xl/sharedStrings.xml", sst)
    return buf.getvalue()


def _row_xml(r: int, cells: list[str], first_col: str = "A") -> str:
    start = ord(first_col)
    return (
        f'<row r="{r}">' + "".join(_inline(f"{chr(start + i)}{r}", v) for i, v in enumerate(cells)) + "</row>"
    )


def xlsx_bombs(cell_chars: int = 5_000_000) -> list[Probe]:
    good = backup_rows(1, start=60)[0]
    row_bomb = xlsx_bytes(_row_xml(2, good) + _row_xml(200_000_000, backup_rows(1, start=61)[0]))
    column_bomb = xlsx_bytes(
        _row_xml(2, good) + '<row r="3"><c r="XFD3" t="inlineStr"><is><t>x</t></is></c></row>'
    )
    string_bomb = xlsx_bytes(
        '<row r="2">'
        + "".join(_inline(f"{c}2", v) for c, v in zip(_COLS[1:], good[1:], strict=True))
        + '<c r="A2" t="s"><v>0</v></c></row>',
        shared=["x" * cell_chars],
    )
    return [
        Probe("XLSX bombs", "backup", "row_bomb.xlsx", row_bomb, refused=True, reason="xlsx_max_rows"),
        Probe(
            "XLSX bombs", "backup", "column_bomb.xlsx", column_bomb, refused=True, reason="xlsx_max_columns"
        ),
        Probe(
            "XLSX bombs",
            "backup",
            "string_bomb.xlsx",
            string_bomb,
            refused=True,
            reason="xlsx_max_cell_chars",
        ),
    ]


# --- ReDoS -----------------------------------------------------------------------------------------------

REDOS_PATTERN = "^(a+)+$"


def redos_contract() -> Probe:
    """A contract text whose paragraphs make a backtracking engine run for ever on REDOS_PATTERN."""
    text = "\n\n".join(["a" * 40 + "!"] * 20 + ["驻场人员 5 人，持证上岗，绩效考核，数据安全与保密。"])
    return Probe("ReDoS clause", "contract", "redos_contract.txt", text.encode(), rows=None)


def corpus(settle: float, *, xlsx: bool) -> list[Probe]:
    probes = [
        *partial_writes(settle),
        mixed_gb18030_with_utf8(),
        mixed_utf8_with_gb18030(),
        long_name(),
        non_utf8_name(),
        *links_and_fifos(),
        future_rows(),
        formula_cells(),
        redos_contract(),
    ]
    if xlsx:
        probes += xlsx_bombs()
    return probes


# --- putting a probe in the folder ------------------------------------------------------------------------


@dataclass
class Placed:
    probe: Probe
    path: bytes  # where it was put (bytes: the name may not be UTF-8)
    writer: Callable[[], None] | None = field(default=None, repr=False)  # two_step: the rest, run in a thread


def _age(path: bytes, seconds: float = 30) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


def place(probe: Probe, drop_dir: Path, secret: Path) -> Placed:
    folder = os.fsencode(drop_dir / probe.kind)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, probe.name if isinstance(probe.name, bytes) else probe.name.encode())
    if probe.how == "symlink":
        os.symlink(secret, path)
    elif probe.how == "fifo":
        os.mkfifo(path)
    elif probe.how == "hardlink":
        os.link(secret, path)
    elif probe.how == "two_step":
        f = open(path, "wb")  # noqa: SIM115 - kept open across the pause, as a slow copy does
        f.write(probe.data[: probe.split])
        f.flush()
        os.fsync(f.fileno())

        def rest() -> None:
            time.sleep(probe.pause)
            f.write(probe.data[probe.split :])
            f.close()

        return Placed(probe, path, rest)
    else:
        with open(path, "wb") as f:
            f.write(probe.data)
    if probe.how != "symlink":
        _age(path)
    return Placed(probe, path)


# --- checks ------------------------------------------------------------------------------------------------


def csv_formula_cells(text: str) -> list[str]:
    """The cells of a CSV text that a spreadsheet would take as a formula: a leading = + - @ tab CR LF (or
    a full-width sign) that is not a plain number. An apostrophe in front (OWASP) makes a cell safe."""
    found = []
    for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))):
        for cell in row:
            if cell.startswith(_FORMULA_START) and not (cell[:1] == "-" and _PLAIN_NUMBER.fullmatch(cell)):
                found.append(cell)
    return found


def files_holding(root: Path, marker: bytes, *, except_inode: tuple[int, int] | None = None) -> list[str]:
    """Regular files under root whose bytes hold `marker`; never following a link, never opening a FIFO.
    `except_inode` (device, inode): the secret itself, when a refused hard link to it is kept as it came."""
    hits = []
    for dirpath, _dirs, names in os.walk(os.fsencode(root), followlinks=False):
        for name in names:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if not os.path.isfile(path) or os.path.islink(path):
                continue
            if except_inode is not None and (st.st_dev, st.st_ino) == except_inode:
                continue
            with open(path, "rb") as f:
                if marker in f.read():
                    hits.append(os.fsdecode(path))
    return hits
