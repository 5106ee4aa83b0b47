"""Evidence files into the store: one file by hand (`ingest_file`) or every settled file of the drop folder.

A file is read as a stream (formats.tabular), each row parsed by its kind (formats.<kind>) and written in
chunks, with one EvidenceBatch row saying what happened. A bulk kind's chunks are committed one at a time under
a batch whose status stays "loading" until the end (store.loading: no reader sees a loading batch), so the
store's write lock is never held for a whole file; a file that fails half way has its rows removed, and a
batch left loading by a process that died is removed before the next ingest. The same bytes twice are a
duplicate and change nothing. Bad rows are kept: in RowError (up to ingest.max_bad_rows_reported) and, all
of them, in a `<name>.errors.csv` report beside the file. The drop folder scan moves each file to
processed/ or rejected/ and never stops because of one file.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import json
import os
import pwd
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ops_watch.config import Config, ConfigError
from ops_watch.core.contract import load_contract
from ops_watch.core.log import get_logger
from ops_watch.core.output import excel_safe
from ops_watch.core.process import owner_gone, pid_alive, this_process, writers_of
from ops_watch.core.timeutil import format_local, utcnow
from ops_watch.formats import KINDS, RecordKind
from ops_watch.formats.fields import stated_start
from ops_watch.formats.records import FileRejected, read_records
from ops_watch.formats.spec import (
    CellError,
    ColumnMap,
    Document,
    Fault,
    HeaderMap,
    ParseContext,
    Problem,
    column_map_problems,
)
from ops_watch.formats.tabular import TableError
from ops_watch.formats.vendor import open_evidence
from ops_watch.store import Store, cluster
from ops_watch.store.bulk import RowsWriter, rows_writer
from ops_watch.store.loading import LOADING, drop_batch
from ops_watch.store.schema import EvidenceBatch, RowError
from ops_watch.trail.evidence import expect_no_rows, expect_rows, note_columns

log = get_logger(__name__)

Status = Literal["accepted", "partial", "rejected", "duplicate"]
CHUNK_ROWS = 5000
SETTLE_SECONDS = 2.0
REPORT_SUFFIX = ".errors.csv"
REPORT_COLUMNS = ("file", "row", "column", "value", "reason")
UNSORTED = "unsorted"  # the kind recorded for a file dropped at the top of the drop folder
_OUTCOME_DIRS = ("processed", "rejected")


class IngestError(Exception):
    """The file cannot be ingested at all (it cannot be read): nothing was written."""


class FileChanged(IngestError):
    """The file changed while it was read (a writer still at it): nothing was written; try again later."""


class FileRefused(Exception):
    """The file is refused without being read (a link, another user's file): `problem` says why."""

    def __init__(self, problem: Problem):
        super().__init__(problem.en)
        self.problem = problem


@dataclass(frozen=True)
class RowIssue:
    """One line of the report: row 0 (shown blank) is the file as a whole."""

    file: str
    row: int
    column: str
    value: str
    reason: str


@dataclass
class IngestResult:
    path: Path
    kind: str
    status: Status
    rows_total: int = 0
    rows_ok: int = 0
    rows_bad: int = 0
    rows_duplicate: int = 0
    batch_id: int | None = None
    report_path: Path | None = None
    stored_path: Path | None = None
    reason: str = ""  # the whole-file reason of a rejected or duplicate file
    errors: list[RowIssue] = field(default_factory=list)  # the first ingest.max_bad_rows_reported
    problem: Problem | None = field(default=None, repr=False)  # `reason` in both languages

    def summary(self, language: str = "zh") -> str:
        """One line for people: what became of the file."""
        if language == "zh":
            words = {
                "accepted": "已接收",
                "partial": "部分接收",
                "rejected": "已拒收",
                "duplicate": "重复文件",
            }
            parts = [
                f"{self.path.name}：{words[self.status]}，共 {self.rows_total} 行，有效 {self.rows_ok}，"
                f"错误 {self.rows_bad}，重复 {self.rows_duplicate}"
            ]
            parts += [f"原因：{self.reason}"] if self.reason else []
            parts += [f"错误报告：{self.report_path}"] if self.report_path else []
            return "；".join(parts)
        parts = [
            f"{self.path.name}: {self.status}, {self.rows_total} rows, {self.rows_ok} ok, "
            f"{self.rows_bad} bad, {self.rows_duplicate} duplicate"
        ]
        parts += [f"reason: {self.reason}"] if self.reason else []
        parts += [f"report: {self.report_path}"] if self.report_path else []
        return "; ".join(parts)


# --- pieces ------------------------------------------------------------------------------------------


def display_name(name: str) -> str:
    """A file name as stored and reported: bytes that are not UTF-8 (a name from a GBK share) become U+FFFD."""
    return os.fsencode(name).decode("utf-8", "replace")


def file_sha256(path: Path) -> str:
    """The digest of a file, read in chunks (never the whole file in memory)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# The ingest's temporary files live under <state_dir>/tmp (never the system's /tmp), named with the writer's
# pid: a process killed by SIGKILL leaves its file there, and the next ingest of another process removes it.
TEMP_DIR_NAME = "tmp"
TEMP_PREFIX = "ops-watch-report-"
READ_PREFIX = "ops-watch-read-"  # a folder holding the private copy of a file being read (_pin)
_cleaned: set[Path] = set()


def clean_temp_files(config: Config) -> int:
    """Remove the temporary reports left under the state dir by processes that died (SIGKILL, power loss);
    the files of a live ingest (the daemon's, a concurrent CLI's) stay. Returns how many were removed."""
    return _clean_temp_dir(config.state_dir / TEMP_DIR_NAME)


def _clean_temp_dir(temp_dir: Path) -> int:
    removed = 0
    try:
        leftovers = [*temp_dir.glob(f"{TEMP_PREFIX}*"), *temp_dir.glob(f"{READ_PREFIX}*")]
    except OSError:
        return 0
    for path in leftovers:
        prefix = READ_PREFIX if path.name.startswith(READ_PREFIX) else TEMP_PREFIX
        pid = path.name.removeprefix(prefix).split("-", 1)[0]
        if pid.isdigit() and pid_alive(int(pid)):
            continue
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed += 1
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning(
                "cannot remove a stale temporary file / 无法删除遗留的临时文件",
                path=str(path),
                error=str(exc),
            )
    if removed:
        log.info("removed stale temporary files / 已删除遗留的临时文件", folder=str(temp_dir), count=removed)
    return removed


def _temp_dir(state_dir: Path) -> Path:
    """<state_dir>/tmp, private; swept of dead processes' leftovers the first time this process uses it."""
    temp_dir = state_dir / TEMP_DIR_NAME
    temp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if temp_dir not in _cleaned:
        _cleaned.add(temp_dir)
        _clean_temp_dir(temp_dir)
    return temp_dir


@dataclass
class _Pinned:
    """A private copy of the bytes of a file being ingested, and their digest."""

    path: Path
    sha256: str

    def discard(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


def _pin(config: Config, path: Path, before: Look | None, *, strict: bool) -> _Pinned:
    """Open the file once, check what was opened, and copy its bytes to a private folder under the state dir,
    hashing them: every reader then reads that copy, so what is parsed, hashed and checked is one inode's bytes,
    whatever happens to the name meanwhile (a swap for a link once made the ingest read a system file).

    strict (the drop folder): a symbolic link is never followed (O_NOFOLLOW), and the file opened must be the
    one scanned (device and inode), have a single link (a hard link to a system file has two) and belong to
    ops-watch's user, the drop folder's owner or one of [ingest] owners. By hand, the path given is read.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (os.O_NOFOLLOW if strict else 0)
    try:
        fd = os.open(path, flags)  # O_NONBLOCK: a FIFO put in place of the file must not hang the scan
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise FileRefused(_LINK_REFUSED) from None
        raise
    with open(fd, "rb") as f:
        st = os.fstat(fd)
        problem = _opened_problem(config, st, before, strict)
        if problem is not None:
            raise FileRefused(problem)
        if strict and time.time() - st.st_mtime < QUIET_SECONDS:
            # A sender pausing longer than the settle time between two writes once had half its file taken.
            # Untouched for QUIET_SECONDS, a handle still open is a leak, not a writer.
            writers = writers_of(st.st_dev, st.st_ino)
            if writers:
                raise FileChanged(
                    f"{display_name(path.name)} is still open for writing (pid {', '.join(map(str, writers))})"
                )
        folder = Path(
            tempfile.mkdtemp(prefix=f"{READ_PREFIX}{os.getpid()}-", dir=_temp_dir(config.state_dir))
        )
        copy = folder / path.name
        digest = hashlib.sha256()
        try:
            with open(os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), "wb") as out:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    return _Pinned(copy, digest.hexdigest())


_LINK_REFUSED = Problem(
    "是符号链接：不会读取它指向的文件（请投递文件本身，而不是链接）",
    "is a symbolic link: its target is never read (drop the file itself, not a link)",
)
_NOT_REGULAR = Problem(
    "不是普通文件（管道、套接字或设备），无法导入",
    "not a regular file (a pipe, socket or device): it cannot be ingested",
)


def _opened_problem(config: Config, st: os.stat_result, before: Look | None, strict: bool) -> Problem | None:
    """Why the file just opened must not be read, or None."""
    if not stat.S_ISREG(st.st_mode):
        return _NOT_REGULAR
    if not strict:
        return None
    if before is not None and (st.st_dev, st.st_ino) != before[:2]:
        return Problem(
            "文件在检查后被替换成了另一个文件：未读取，请重新投递",
            "the file was replaced by another one after it was checked: not read; drop it again",
        )
    if st.st_nlink != 1:
        return Problem(
            f"文件有 {st.st_nlink} 个硬链接：可能指向系统文件，未读取（请投递文件的副本）",
            f"the file has {st.st_nlink} hard links: it may be a system file, so it was not read "
            "(drop a copy of the file)",
        )
    allowed = _allowed_owners(config)
    if st.st_uid not in allowed:
        owner = _user_name(st.st_uid)
        return Problem(
            f"文件属于用户 {owner}（uid {st.st_uid}），不是 ops-watch 的运行用户或投递目录的属主：未读取。"
            f"若这是投递账号，请在 [ingest] owners 中登记",
            f"the file belongs to user {owner} (uid {st.st_uid}), neither ops-watch's user nor the drop "
            f"folder's owner: not read. If this is a sender's account, list it in [ingest] owners",
        )
    return None


def _allowed_owners(config: Config) -> set[int]:
    allowed = {os.geteuid()}
    try:
        allowed.add(config.drop_dir.stat().st_uid)
    except OSError:
        pass
    for name in config.ingest.owners:
        if name.isdigit():
            allowed.add(int(name))
            continue
        try:
            allowed.add(pwd.getpwnam(name).pw_uid)
        except KeyError:
            log.warning("[ingest] owners names a user this system does not have", user=name)
    return allowed


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


class _Report:
    """Every fault of a file, streamed to a temporary CSV (UTF-8 with BOM, so Excel opens it right)."""

    def __init__(self, file: str, state_dir: Path):
        self.file = file
        self.state_dir = state_dir
        self.lines = 0
        self._tmp: Path | None = None
        self._f: IO[str] | None = None
        self._writer: Any = None

    def add(self, issue: RowIssue) -> None:
        if self._writer is None:
            temp_dir = _temp_dir(self.state_dir)
            fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=".csv", dir=temp_dir)
            self._tmp = Path(name)
            self._f = os.fdopen(fd, "w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._f)
            self._writer.writerow(REPORT_COLUMNS)
        row = str(issue.row) if issue.row else ""
        cells = (issue.file, row, issue.column, issue.value, issue.reason)
        self._writer.writerow(
            [excel_safe(cell or "") for cell in cells]
        )  # a file's name may start a formula too
        self.lines += 1

    def place(self, target: Path, mode: int = 0o644) -> Path | None:
        """Move the report to `target` (readable as `mode`); None when there was nothing to report."""
        self.close()
        if self._tmp is None:
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self._tmp, mode)  # mkstemp made it private
        shutil.move(str(self._tmp), target)
        self._tmp = None
        return target

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    def discard(self) -> None:
        self.close()
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None


class RecordWriter:
    """Rows of one batch, written CHUNK_ROWS at a time; within a chunk a repeated key keeps the row the mode wants.

    `add_record` takes a record of the kind (what the ingest has); `add` a row as kind.to_row makes it.
    """

    def __init__(self, session: Session, kind: RecordKind, batch_id: int, now: datetime):
        self.session = session
        # A bulk kind (rows kept first-come, nothing merged) commits each chunk: its batch is loading, so
        # readers see none of it until the end. An upsert or merged kind overwrites stored rows, which a
        # reader must not lose sight of half way: its file (a registry, small) stays one transaction.
        self.commit_chunks = kind.write_mode != "upsert" and kind.merge is None and kind.read_document is None
        self.kind = kind
        self.batch_id = batch_id
        columns = kind.table.__table__.columns
        self.extra: dict[str, Any] = {"batch_id": batch_id}
        if "updated_at" in columns:
            self.extra["updated_at"] = now
        fields = sorted(kind.field_names)  # the order of kind.to_row
        self.columns: tuple[str, ...] = (*fields, *self.extra)
        # Rows wait as tuples in `columns` order: a record's fields in one C call, then the batch's own.
        self._fields = attrgetter(*fields) if len(fields) > 1 else (lambda r: (getattr(r, fields[0]),))
        self._extra = tuple(self.extra.values())
        key = [self.columns.index(c) for c in kind.key]
        self._key = itemgetter(*key)
        self._upsert = kind.write_mode == "upsert"
        self.pending: dict[Any, tuple[Any, ...]] = {}
        self._write: RowsWriter | None = None
        # A kind with `merge` keeps its file's records until the end (its files are registries, small): a
        # key's rows add up wherever they are in the file, never split across chunks already written.
        self._merge = kind.merge
        self._merged: dict[Any, Any] = {}
        # The batch's seal takes its rows' digests from here (trail/evidence.py), none read back.
        expect_rows(session, batch_id, kind.table.__table__, "upsert" if self._upsert else "ignore")

    def add(self, row: dict[str, Any]) -> None:
        if self._merge is not None:
            self.add_record(self.kind.record_type(**{f: row[f] for f in self.kind.field_names}))
            return
        row.update(self.extra)
        self._add(tuple(row[c] for c in self.columns))

    def add_record(self, record: Any) -> None:
        if self._merge is not None:
            key = tuple(getattr(record, c) for c in self.kind.key)
            earlier = self._merged.get(key)
            self._merged[key] = record if earlier is None else self._merge(earlier, record)
            return
        self._add(self._fields(record) + self._extra)

    def _add(self, values: tuple[Any, ...]) -> None:
        key = self._key(values)
        if self._upsert:
            self.pending.pop(key, None)  # the later row of the file wins
            self.pending[key] = values
        else:
            self.pending.setdefault(key, values)
        if len(self.pending) >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        if self._merged:
            merged, self._merged = self._merged, {}
            for record in merged.values():
                self._add(self._fields(record) + self._extra)
        if not self.pending:
            return
        if self._write is None:
            mode = "upsert" if self._upsert else "ignore"
            table = self.kind.table.__table__

            def seal(by_name: dict[str, Sequence[Any]], count: int, given: dict[str, Sequence[str]]) -> None:
                # The batch's seal takes these rows' digests (trail/evidence.py), the writer's text of times too.
                note_columns(self.session, self.batch_id, table, by_name, count, mode, given)

            self._write = rows_writer(self.session, table, self.kind.key, self.columns, mode, observe=seal)
        self._write(list(self.pending.values()))
        self.pending.clear()
        if self.commit_chunks:
            self.session.commit()

    def stored(self) -> int:
        """How many distinct records this batch holds in the store now."""
        self.flush()
        table = self.kind.table.__table__
        return (
            self.session.scalar(
                select(func.count()).select_from(table).where(table.c.batch_id == self.batch_id)
            )
            or 0
        )


# --- the site's header names ------------------------------------------------------------------------


def site_columns(config: Config, kind: str) -> ColumnMap:
    """The site's own header names of a kind ([ingest.columns.<kind>]): header -> column."""
    return config.ingest.columns.get(kind, {})


def column_map_problems_of(config: Config) -> list[str]:
    """Every problem of [ingest.columns], as 'file: ingest.columns.<kind>."<header>": reason'. Checked where the
    kinds are loaded (runtime.load_settings: config check, start, reload), since config.py cannot know them."""
    file = config.source_path.name if config.source_path else "config.toml"
    problems = []
    for kind_name, mapping in config.ingest.columns.items():
        kind = KINDS.get(kind_name)
        if kind is None:
            known = ", ".join(sorted(KINDS))
            problems.append(f"{file}: ingest.columns.{kind_name}: unknown evidence kind (known: {known})")
            continue
        for header, why in column_map_problems(kind, mapping):
            where = f'ingest.columns.{kind_name}."{header}"' if header else f"ingest.columns.{kind_name}"
            problems.append(f"{file}: {where}: {why}")
    return problems


def header_text(cell: Any, language: str) -> str:
    """One header cell (spec.HeaderCell) as read: '→ column (how)', or 'unused (why)'."""
    if cell.column:
        how = {"config": ("config 映射", "config mapping"), "name": ("列名", "column name")}.get(
            cell.via, ("别名", "alias")
        )
        return Problem(f"→ {cell.column}（{how[0]}）", f"→ {cell.column} ({how[1]})").text(language)
    if cell.note is not None:
        return cell.note.text(language)
    return Problem("未使用（不是本类证据的列）", "unused (not a column of this kind)").text(language)


# --- one file ----------------------------------------------------------------------------------------


@dataclass
class _Counts:
    total: int = 0
    ok: int = 0
    bad: int = 0
    duplicate: int = 0


class _FileIngest:
    """The state of ingesting one file: counts, the faults kept, the report being written."""

    def __init__(
        self,
        config: Config,
        kind_name: str,
        path: Path,
        at: datetime | None = None,
        contract: Mapping[str, Any] | None = None,
    ):
        self.config = config
        # The contract the caller runs with (the daemon's loaded rules); None: read from the rules directory.
        self.given_contract = contract
        # A run judged as of a past time (the demo's --at) took the file in no later than that time.
        self.as_of = at
        self.language = config.language
        self.kind_name = kind_name
        self.path = path
        self.read_path = path  # what is read: the private copy ingest_file pins (_pin), else the file itself
        self.now = utcnow()
        self.counts = _Counts()
        # As stored and reported (a name that is not UTF-8, made readable).
        self.name = display_name(path.name)
        self.report = _Report(self.name, config.state_dir)
        self.limit = config.ingest.max_bad_rows_reported
        self.issues: list[RowIssue] = []  # the first `limit`, for RowError and the result
        self.issues_stored = 0  # how many of `issues` are in RowError already
        self.detail: dict[str, Any] = {}
        self.sha256 = ""
        self.header_lines: list[RowIssue] = []  # how a refused file's header was read, for its report

    def fault(self, row: int, fault: Fault) -> None:
        issue = RowIssue(
            self.name, row, fault.label or fault.column, fault.value, fault.problem.text(self.language)
        )
        self.report.add(issue)
        if len(self.issues) < self.limit or row == 0:  # a whole-file reason is always kept
            self.issues.append(issue)

    def load(self, session: Session, kind: RecordKind, batch_id: int) -> None:
        """Stream the file's rows into the store; raise FileRejected or TableError for a whole-file problem."""
        folders = self._folders(kind)  # a door export in drop/door/<device>/ is that device's
        ctx = ParseContext(
            zone=self.config.site.zone,
            contract=self._contract() if kind.needs_contract else {},
            config=self.config,
            folders=folders,
        )
        writer = RecordWriter(session, kind, batch_id, self.now)
        if kind.read_document is not None:
            self.load_document(kind, ctx, writer)
            return
        with open_evidence(self.read_path, kind.name, self.config, folders) as table:
            try:
                stream = read_records(kind, table.rows(), ctx, site_columns(self.config, kind.name))
            except FileRejected as exc:
                self.detail.update(table.detail)
                if exc.header_map is not None:
                    self.explain_header(exc.header_map, exc.header_row)
                raise
            self.detail.update(table.detail, header_row=stream.header_row)
            self.explain_header(stream.header_map, stream.header_row)  # reported if the rows refuse the file
            if stream.header_map.ignored:
                self.detail["ignored_columns"] = list(stream.header_map.ignored)
            # Counted in locals (this loop runs per row), into self.counts however the loop ends: a file
            # that breaks off half way is reported with the rows read until then.
            total = bad = good = 0
            add = writer.add_record
            too_late = self._future_check(kind, stream.header_map)
            try:
                for row in stream.rows:
                    total += 1
                    if row.record is not None and too_late is not None:
                        future = too_late(row.record)
                        if future is not None:
                            row = replace(row, record=None, faults=[future])
                    if row.record is None:
                        bad += 1
                        for f in row.faults:
                            self.fault(row.number, f)
                        if len(self.issues) - self.issues_stored >= 1000:
                            self.store_issues(session, batch_id)
                    else:
                        good += 1
                        add(row.record)
            finally:
                self.counts.total += total
                self.counts.bad += bad
            self.detail.update(table.detail)  # the CSV reader may have settled its encoding late
        self.counts.ok = writer.stored()
        self.counts.duplicate = good - self.counts.ok

    def _future_check(self, kind: RecordKind, header_map: HeaderMap) -> Any:
        """For a kind with a time_column: a function giving the Fault of a record dated more than
        ingest.future_tolerance after the file's arrival (the batch's received time), else None."""
        column = kind.time_column
        if column is None:
            return None
        label = next((c.label for c in header_map.cells if c.column == column), column)
        tolerance = self.config.ingest.future_tolerance
        latest = self.now + tolerance
        zone = self.config.site.zone
        hours = tolerance.total_seconds() / 3600

        def check(record: Any) -> Fault | None:
            value = getattr(record, column, None)
            if not isinstance(value, datetime):
                return None
            aware = value if value.tzinfo is not None else value.replace(tzinfo=zone)
            if aware <= latest:
                return None
            shown = format_local(aware, zone)
            arrived = format_local(self.now, zone)
            return Fault(
                column,
                label,
                shown,
                Problem(
                    f"时间 {shown} 晚于文件到达时间 {arrived} 超过 {hours:g} 小时（未来的时间，"
                    f"请核对设备时钟或填写错误；容差见 ingest.future_tolerance）",
                    f"time {shown} is in the future: more than {hours:g} h after the file arrived at "
                    f"{arrived} (check the device clock or the entry; tolerance: ingest.future_tolerance)",
                ),
            )

        return check

    def explain_header(self, header_map: HeaderMap, header_row: int) -> None:
        """A refused file's report also says how its header was read: each cell -> column, or unused (what
        `ingest --explain` shows). These lines are not problems: they go to the report only, after the reasons."""
        prefix = "表头：" if self.language == "zh" else "header: "
        self.header_lines = [
            RowIssue(self.name, header_row, cell.label, cell.label, prefix + header_text(cell, self.language))
            for cell in header_map.cells
        ]

    def load_document(self, kind: RecordKind, ctx: ParseContext, writer: RecordWriter) -> None:
        """A document kind: the file is one piece of evidence, read whole; a CellError refuses the file."""
        assert kind.read_document is not None
        latest = self.now if self.as_of is None else min(self.now, self.as_of)
        doc = Document(
            self.path, _arrival_time(self.path, latest), self.sha256, self._folders(kind), self.read_path
        )
        self.detail["arrived_at"] = doc.arrived_at.isoformat()
        try:
            records = kind.read_document(doc, ctx)
        except CellError as exc:
            raise FileRejected([Fault("", "", "", exc.problem)]) from None
        for record in records:
            writer.add_record(record)
        self.counts.total = len(records)
        self.counts.ok = writer.stored()
        self.counts.duplicate = len(records) - self.counts.ok

    def _folders(self, kind: RecordKind) -> tuple[str, ...]:
        """The subfolders between the drop folder's kind folder and the file; by hand, the parent's name."""
        try:
            inner = self.path.resolve().relative_to(self.config.drop_dir.resolve())
        except (OSError, ValueError):
            return (self.path.parent.name,)
        parts = inner.parts[:-1]
        return parts[1:] if parts and parts[0].lower() == kind.name else parts

    def _contract(self) -> Mapping[str, Any]:
        """The contract's sections (for a kind that checks its rows against them): the caller's, else read from
        the rules directory, where an error refuses the file saying the rules are what to fix (the file is kept
        and can be dropped again)."""
        if self.given_contract is not None:
            return self.given_contract
        try:
            return load_contract(self.config.rules_dir)
        except ConfigError as exc:
            problems = "; ".join(exc.problems[:3])
            raise FileRejected(
                [
                    Fault(
                        "",
                        "",
                        "",
                        Problem(
                            f"规则目录有错误，无法按合同核对本文件（修正后重新投递）：{problems}",
                            f"the rules have errors, so this file cannot be checked against the contract "
                            f"(fix them and drop the file again): {problems}",
                        ),
                    )
                ]
            ) from None

    def store_issues(self, session: Session, batch_id: int) -> None:
        """Write the issues kept so far and not yet written to RowError."""
        issues = self.issues[self.issues_stored :]
        if issues:
            session.execute(
                insert(RowError),
                [
                    {
                        "batch_id": batch_id,
                        "row": i.row,
                        "column": i.column[:256],
                        "value": i.value,
                        "reason": i.reason,
                    }
                    for i in issues
                ],
            )
        self.issues_stored = len(self.issues)

    def status(self) -> tuple[Status, Problem | None]:
        c = self.counts
        return _status(c.total, c.ok + c.duplicate, c.bad)


def _status(total: int, usable: int, bad: int) -> tuple[Status, Problem | None]:
    """What a file whose header was fine becomes, by its rows."""
    if total == 0:
        return "rejected", Problem("表头下没有数据行", "no data rows under the header")
    if usable == 0:
        return "rejected", Problem(
            f"没有可用的行：全部 {total} 行都有错误（见错误报告）",
            f"no usable row: all {total} rows are bad (see the report)",
        )
    return ("partial" if bad else "accepted"), None


def _arrival_time(path: Path, now: datetime) -> datetime:
    """When the file landed here: its inode change time (set by the copy or move that put it here, which a
    copy keeping the sender's modification time does not undo), never later than now."""
    try:
        landed = datetime.fromtimestamp(path.stat().st_ctime, tz=UTC)
    except OSError:
        return now
    return min(landed, now)


def _file_time(path: Path, now: datetime) -> datetime:
    """When the file was produced (its modification time), never later than its arrival."""
    try:
        produced = datetime.fromtimestamp(path.lstat().st_mtime, tz=UTC)  # a link's own, never its target's
    except OSError:
        return now
    return min(produced, now)


def known_from(path: Path, zone: ZoneInfo, evidence_time: datetime) -> datetime | None:
    """When a check may first see the file ("arrived"): the start, in site time, of the day or period its name
    states (inventory-2026-11.csv: 2026-11-01 00:00), so a month exported at its end counts for the whole
    month in a replay. Never later than the file itself (evidence_time): None then, and when the name states
    no period (evidence_time is used)."""
    day = stated_start(path.name)
    if day is None:
        return None
    start = datetime.combine(day, time_of_day(), zone).astimezone(UTC)
    return start if start < evidence_time else None


def _batch(
    kind: str, path: Path, now: datetime, sha256: str | None, status: str, zone: ZoneInfo
) -> EvidenceBatch:
    evidence_time = _file_time(path, now)
    return EvidenceBatch(
        kind=kind[:64],
        source=display_name(path.name)[:1024],
        sha256=sha256,
        received_at=now,
        evidence_time=evidence_time,
        known_from=known_from(path, zone, evidence_time),
        status=status,
        rows_total=0,
        rows_ok=0,
        rows_bad=0,
        rows_duplicate=0,
        detail="",
        stored_path="",
    )


def _duplicate_of(store: Store, digest: str) -> EvidenceBatch | None:
    with store.session() as session:
        return session.scalars(select(EvidenceBatch).where(EvidenceBatch.sha256 == digest)).first()


def _open_batch(store: Store, state: _FileIngest) -> int:
    """Commit the file's batch as loading, naming this process (so a batch it leaves behind when killed is known
    as abandoned), and return its id."""
    with store.session(see_loading=True) as session:
        batch = _batch(state.kind_name, state.path, state.now, None, LOADING, state.config.site.zone)
        batch.detail = json.dumps({"loading_by": this_process()})
        session.add(batch)
        session.flush()
        return batch.id


def _abandon(store: Store, batch_id: int) -> None:
    """Remove a batch that did not finish, with the rows it committed; a failure here is logged, and the batch
    is removed by the next ingest (clean_abandoned_loads) since no process then owns it."""
    try:
        with store.session(see_loading=True) as session:
            drop_batch(session, batch_id)
    except Exception as exc:
        log.error(
            "cannot remove an unfinished batch; the next ingest will", batch_id=batch_id, error=str(exc)
        )


def clean_abandoned_loads(store: Store) -> int:
    """Remove the batches left loading by a process of this host that is gone (killed, power loss): their rows
    were never visible, and the file they came from is still where it was (a drop-folder file moves only once
    its batch is complete), so it is read again. A batch of a live process, or of another host, is left alone.
    Returns how many were removed."""
    with store.session(see_loading=True) as session:
        loading = session.execute(
            select(EvidenceBatch.id, EvidenceBatch.source, EvidenceBatch.detail).where(
                EvidenceBatch.status == LOADING
            )
        ).all()
    removed = 0
    for batch_id, source, detail in loading:
        try:
            owner = str(json.loads(detail or "{}").get("loading_by", ""))
        except ValueError:
            owner = ""
        if owner and owner_gone(owner) is not True:
            continue  # a live process's, or another host's (HA): that node cleans its own
        with store.session(see_loading=True) as session:
            drop_batch(session, batch_id)
        removed += 1
        log.warning(
            "removed a batch left half loaded by a process that died; its file is read again / "
            "已删除进程中断后遗留的未完成批次，文件将重新导入",
            batch_id=batch_id,
            file=source,
        )
    return removed


def _duplicate_problem(config: Config, earlier: EvidenceBatch) -> Problem:
    when = format_local(earlier.received_at, config.site.zone)
    return Problem(
        f"与 {when} 已导入的「{earlier.source}」（批次 {earlier.id}）内容完全相同，未重复导入",
        f"same content as {earlier.source!r} ingested at {when} (batch {earlier.id}); nothing changed",
    )


def ingest_file(
    store: Store,
    config: Config,
    kind: str,
    path: Path,
    *,
    move: bool = False,
    at: datetime | None = None,
    contract: Mapping[str, Any] | None = None,
) -> IngestResult:
    """Ingest one file as `kind`. With move=True (the drop folder) the file then goes to processed/ or rejected/
    under config.drop_dir, with its report beside it; otherwise it stays where it is and the report goes to
    <state_dir>/ingest-reports/<day>/<name>.errors.csv.

    `contract`: the contract a kind with needs_contract checks rows against (the caller's loaded rules, so a scan
    reads them once and a contract.toml edited but not yet reloaded is not used); None reads the rules directory.

    Raises IngestError only when the file cannot be read at all; every other problem is in the result.
    """
    path = Path(path)
    before = _look(path)
    state = _FileIngest(config, kind, path, at, contract)
    try:
        pinned = _pin(config, path, before, strict=move)
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from None
    except FileRefused as exc:
        return _reject(store, state, [Fault("", "", "", exc.problem)], move=move)
    try:
        state.read_path = pinned.path
        return _ingest_pinned(store, config, state, pinned.sha256, before, move=move)
    finally:
        pinned.discard()


def _ingest_pinned(
    store: Store, config: Config, state: _FileIngest, digest: str, before: Look | None, *, move: bool
) -> IngestResult:
    """ingest_file, once the file's bytes are pinned in a private copy (state.read_path)."""
    path, kind = state.path, state.kind_name
    state.detail["sha256"] = state.sha256 = digest
    spec = KINDS.get(kind)
    if spec is None:
        return _reject(store, state, [_unknown_kind_fault(kind)], move=move)
    earlier = _duplicate_of(store, digest)
    if earlier is not None:
        return _duplicate(config, state, earlier, move=move)
    clean_abandoned_loads(store)
    batch_id = _open_batch(store, state)
    try:
        with store.session(see_loading=True) as session:
            state.load(session, spec, batch_id)
            if _look(path) != before:  # a writer still at it: what was read is not the file; roll back
                state.report.discard()
                raise FileChanged(f"{display_name(str(path))} changed while it was read")
            status, reason = state.status()
            if reason is not None:
                state.detail["reason"], state.detail["reason_zh"] = reason.en, reason.zh
                state.fault(0, Fault("", "", "", reason))
                for line in state.header_lines:
                    state.report.add(line)
            state.store_issues(session, batch_id)
            target = _target(config, state, status, move)
            batch = session.get(EvidenceBatch, batch_id)
            assert batch is not None, f"batch {batch_id} vanished while loading"
            _fill(batch, state, status, target)  # the status flips from loading: the rows become visible
            # A refused file may come again once fixed, or dropped into the right folder.
            batch.sha256 = None if status == "rejected" else digest
    except FileRejected as exc:
        _abandon(store, batch_id)
        return _reject(store, state, exc.faults, move=move)
    except TableError as exc:
        _abandon(store, batch_id)
        return _reject(store, state, [Fault("", "", "", exc.problem)], move=move)
    except IntegrityError:
        # Another ingest of the same bytes committed first.
        _abandon(store, batch_id)
        earlier = _duplicate_of(store, digest)
        if earlier is None:
            raise
        state.report.discard()
        state.report, state.issues = _Report(state.name, config.state_dir), []
        return _duplicate(config, state, earlier, move=move)
    except BaseException:
        _abandon(store, batch_id)
        raise
    result = _result(state, status, batch_id, reason)
    result = _place(store, state, result, target, move=move)
    if move:
        _check_archived(store, state, result)
    return result


def _check_archived(store: Store, state: _FileIngest, result: IngestResult) -> None:
    """The bytes ingested must be the bytes archived: hash the copy in processed/ (or rejected/) and compare with
    the digest of what was read. A difference (a writer kept writing into the file after it was read) is logged
    as an error and kept in the batch's detail, naming both digests."""
    stored = result.stored_path
    if stored is None or stored == state.path or result.batch_id is None or result.status == "duplicate":
        return  # a duplicate's batch is the earlier file's
    try:
        archived = file_sha256(stored)
    except OSError as exc:
        log.error("cannot hash the archived evidence file", file=str(stored), error=str(exc))
        return
    if archived == state.sha256:
        return
    log.error(
        "archived evidence file differs from the bytes ingested (written to after it was read) / "
        "归档的证据文件与已导入的内容不一致（读取后仍被写入）",
        file=state.name,
        stored_path=str(stored),
        sha256_ingested=state.sha256,
        sha256_archived=archived,
    )
    with store.session() as session:
        batch = session.get(EvidenceBatch, result.batch_id)
        if batch is not None:
            detail = json.loads(batch.detail or "{}")
            detail["archived_sha256"] = archived
            detail["archived_differs"] = True
            batch.detail = json.dumps(detail, ensure_ascii=False, default=str)


def _fill(batch: EvidenceBatch, state: _FileIngest, status: str, target: Path) -> None:
    c = state.counts
    batch.status = status
    batch.rows_total, batch.rows_ok, batch.rows_bad, batch.rows_duplicate = c.total, c.ok, c.bad, c.duplicate
    batch.detail = json.dumps(state.detail, ensure_ascii=False, default=str)
    batch.stored_path = str(target)


def _result(state: _FileIngest, status: Status, batch_id: int | None, reason: Problem | None) -> IngestResult:
    c = state.counts
    return IngestResult(
        path=state.path,
        kind=state.kind_name,
        status=status,
        rows_total=c.total,
        rows_ok=c.ok,
        rows_bad=c.bad,
        rows_duplicate=c.duplicate,
        batch_id=batch_id,
        reason=reason.text(state.language) if reason else "",
        errors=list(state.issues),
        problem=reason,
    )


def _unknown_kind_fault(kind: str) -> Fault:
    known = ", ".join(sorted(KINDS))
    if kind == UNSORTED:
        return Fault(
            "",
            "",
            "",
            Problem(
                f"文件应放在以证据类型命名的子目录中（{known}）",
                f"put the file in the subfolder named after its kind ({known})",
            ),
        )
    return Fault(
        "",
        "",
        kind,
        Problem(
            f"未知的证据类型「{kind}」（子目录名应为：{known}）",
            f"unknown evidence kind {kind!r} (the subfolder must be one of: {known})",
        ),
    )


def _reject(store: Store, state: _FileIngest, faults: list[Fault], *, move: bool) -> IngestResult:
    """Record a whole-file refusal: a batch without sha256 (so a fixed or re-sorted copy is taken), its reasons."""
    # Whatever was read and written before the refusal was rolled back.
    state.counts.ok = state.counts.duplicate = state.issues_stored = 0
    for f in faults:
        state.fault(0, f)
    for line in state.header_lines:
        state.report.add(line)
    reason = Problem("；".join(f.problem.zh for f in faults), "; ".join(f.problem.en for f in faults))
    state.detail["reason"], state.detail["reason_zh"] = reason.en, reason.zh
    target = _target(state.config, state, "rejected", move)
    with store.session() as session:
        batch = _batch(state.kind_name, state.path, state.now, None, "rejected", state.config.site.zone)
        session.add(batch)
        session.flush()
        expect_no_rows(session, batch.id)
        _fill(batch, state, "rejected", target)
        state.store_issues(session, batch.id)
        batch_id = batch.id
    return _place(store, state, _result(state, "rejected", batch_id, reason), target, move=move)


def _duplicate(config: Config, state: _FileIngest, earlier: EvidenceBatch, *, move: bool) -> IngestResult:
    """The same bytes were ingested before: nothing is written; a dropped copy goes to rejected/ with a note."""
    problem = _duplicate_problem(config, earlier)
    result = IngestResult(
        path=state.path,
        kind=state.kind_name,
        status="duplicate",
        batch_id=earlier.id,
        reason=problem.text(state.language),
        problem=problem,
    )
    if move:
        state.fault(0, Fault("", "", "", problem))
        target = _target(config, state, "rejected", True)
        result.errors = list(state.issues)
        return _place(None, state, result, target, move=True)
    return result


# --- where files go ----------------------------------------------------------------------------------


def _kind_dir(kind: str) -> str:
    return kind.replace("/", "_").replace("\\", "_") or UNSORTED


def _target(config: Config, state: _FileIngest, status: str, move: bool) -> Path:
    """Where the file will be: a free name in processed/ or rejected/ (nothing is ever overwritten)."""
    if not move:
        return state.path.resolve()
    day = state.now.astimezone(config.site.zone).date()
    folder = config.drop_dir / ("rejected" if status in ("rejected", "duplicate") else "processed")
    return _free_name(folder / _kind_dir(state.kind_name) / day.isoformat(), state.path.name)


NAME_MAX = 255  # bytes in one file name (ext4, xfs, btrfs)
_SUFFIX_MAX = 16  # a longer "suffix" is part of the name


def _name_bytes(name: str) -> int:
    return len(os.fsencode(name))


def _derived_name(name: str, n: int) -> str:
    """The n-th free-name candidate for `name` (n=0: the name itself), short enough that it and its report
    (`<name>.errors.csv`) fit NAME_MAX: a long stem is cut at a character boundary and marked with a digest of
    the whole name, so two long names sharing a beginning stay apart. A name that is not UTF-8 is made readable
    (display_name), so the path can be stored. The original is kept in the store."""
    original, name = name, display_name(name)
    stem, dot, suffix = name.rpartition(".")
    if not stem or _name_bytes(dot + suffix) > _SUFFIX_MAX:
        stem, dot, suffix = name, "", ""
    tail = "" if n == 0 else f"-{n}"
    budget = NAME_MAX - _name_bytes(REPORT_SUFFIX)
    if _name_bytes(stem + tail + dot + suffix) <= budget:
        return stem + tail + dot + suffix
    mark = "~" + hashlib.sha256(os.fsencode(original)).hexdigest()[:8]
    room = budget - _name_bytes(mark + tail + dot + suffix)
    while _name_bytes(stem) > room:
        stem = stem[:-1]
    return stem + mark + tail + dot + suffix


def _free_name(folder: Path, name: str) -> Path:
    n = 0
    while True:
        candidate = folder / _derived_name(name, n)
        report = candidate.with_name(candidate.name + REPORT_SUFFIX)
        if not (candidate.exists() or candidate.is_symlink() or report.exists()):
            return candidate
        n += 1


def _move_no_clobber(src: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            # Fails if the name was taken meanwhile (never overwrites); a symlink is moved as the link itself.
            os.link(src, target, follow_symlinks=False)
        except FileExistsError:
            target = _free_name(target.parent, src.name)
            continue
        except OSError:
            # No hard links here (another file system, or a share): check, then move.
            if target.exists():
                target = _free_name(target.parent, src.name)
            shutil.move(str(src), target)
            return target
        src.unlink()
        return target


def _report_target(config: Config, state: _FileIngest, target: Path, move: bool) -> Path:
    """Beside the moved file; for a file ingested by hand, under state_dir (never beside the user's file)."""
    if move:
        return target.with_name(target.name + REPORT_SUFFIX)
    day = state.now.astimezone(config.site.zone).date().isoformat()
    free = _free_name(config.state_dir / "ingest-reports" / day, state.path.name)
    return free.with_name(free.name + REPORT_SUFFIX)


def _mode(target: Path, move: bool) -> int:
    """A report is as readable as the file it reports on (the contractor reads both in the drop folder)."""
    try:
        if not move or target.is_symlink():
            return 0o644
        return target.stat().st_mode & 0o666
    except OSError:
        return 0o644


def _place(
    store: Store | None, state: _FileIngest, result: IngestResult, target: Path, *, move: bool
) -> IngestResult:
    """After the commit: move the file (drop folder) and put the report beside it."""
    if move:
        try:
            moved = _move_no_clobber(state.path, target)
        except OSError as exc:
            log.error("cannot move evidence file", file=str(state.path), to=str(target), error=str(exc))
            moved = state.path
        if (
            moved != target
            and store is not None
            and result.batch_id is not None
            and result.status != "duplicate"
        ):
            with store.session() as session:
                session.execute(
                    update(EvidenceBatch)
                    .where(EvidenceBatch.id == result.batch_id)
                    .values(stored_path=str(moved))
                )
        target = moved
    result.stored_path = target
    try:
        result.report_path = state.report.place(
            _report_target(state.config, state, target, move), _mode(target, move)
        )
    except OSError as exc:
        log.error("cannot write the ingest report", file=str(state.path), error=str(exc))
        state.report.discard()
    if (
        not move
        and result.report_path is not None
        and store is not None
        and result.batch_id is not None
        and result.status != "duplicate"
    ):
        # A file ingested by hand stays where it is and its report goes under state_dir: the batch says where,
        # so the console can offer it (beside a moved file it is found by its name).
        with store.session() as session:
            batch = session.get(EvidenceBatch, result.batch_id)
            if batch is not None:
                detail = json.loads(batch.detail or "{}")
                detail["report_path"] = str(result.report_path)
                batch.detail = json.dumps(detail, ensure_ascii=False, default=str)
    return result


# --- the drop folder ---------------------------------------------------------------------------------


def _skipped_name(name: str) -> bool:
    lower = name.lower()
    return name.startswith((".", "~$")) or lower.endswith((".tmp", ".part", ".crdownload", REPORT_SUFFIX))


def pending_files(
    drop_dir: Path, *, now: float | None = None, settle: float = SETTLE_SECONDS
) -> list[tuple[str, Path]]:
    """(kind, file) for every settled file in the drop folder, oldest first (so the newest file wins an upsert).

    The kind is the first subfolder's name; a file at the top gets UNSORTED. Files still being written (changed
    in the last `settle` seconds, or named like a temporary file) are left for the next scan. Entries that are
    not regular files (symlinks, pipes, sockets, devices) are listed too, so that the scan refuses them with a
    reason (`refusal_of`) instead of leaving them unexplained; directories are walked, never listed.
    """
    now = time.time() if now is None else now
    found: list[tuple[float, str, str, Path]] = []
    for top in drop_dir.iterdir():
        if top.name in _OUTCOME_DIRS or _skipped_name(top.name):
            continue
        if top.is_dir() and not top.is_symlink():
            kind = top.name.lower() if top.name.lower() in KINDS else top.name
            candidates: Iterator[Path] = (
                p
                for p in top.rglob("*")
                if not any(part.startswith(".") for part in p.relative_to(top).parts)
            )
        else:
            kind, candidates = UNSORTED, iter([top])
        for path in candidates:
            try:
                st = path.lstat()
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode) or _skipped_name(path.name) or now - st.st_mtime < settle:
                continue
            found.append((st.st_mtime, kind, str(path), path))
    found.sort(key=lambda item: (item[0], item[2]))
    return [(kind, path) for _, kind, _, path in found]


# What a file itself can cause (a name too long for a derived file, a name or bytes that cannot be stored, a
# file that cannot be read): refused, told once. Anything else (the store away) leaves it for the next scan.
_FILE_FAULTS = (OSError, UnicodeError, ValueError, IngestError)


Look = tuple[int, int, int, int]  # device, inode, size, mtime in ns: what a writer changes
_last_looks: dict[Path, dict[Path, Look]] = {}  # per drop folder, the looks of this process's previous scan


def _look(path: Path) -> Look | None:
    try:
        st = path.lstat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


# A file nobody has written to for this long is finished: one look is enough (a daemon restarted on a full drop
# folder, a month of files copied in with their times kept). Younger files need the second look.
QUIET_SECONDS = 600


def _stable(drop_dir: Path, files: list[tuple[str, Path]], settle: float) -> list[tuple[str, Path]]:
    """The files whose size and modification time stayed the same across two looks: the previous scan's (the
    daemon's), else a second look `settle` seconds after this one — unless untouched for QUIET_SECONDS. A sender
    that pauses half way (a copy over a slow share) is caught when it resumes between the looks; the sure way is
    to write under an in-flight name (`.part`, `.tmp`, a dot-file) and rename when done (docs/formats.md)."""
    looks = {path: _look(path) for _, path in files}
    previous = _last_looks.get(drop_dir, {})
    quiet_before = (time.time() - QUIET_SECONDS) * 1e9  # st_mtime_ns
    settled = {
        path
        for path, look in looks.items()
        if look is not None and (previous.get(path) == look or look[3] < quiet_before)
    }
    if len(settled) < len(looks) and settle > 0:
        time.sleep(settle)
    stable = []
    for kind, path in files:
        look = looks[path]
        if look is not None and (path in settled or _look(path) == look):
            stable.append((kind, path))
    _last_looks[drop_dir] = {path: look for path, look in looks.items() if look is not None}
    return stable


def refusal_of(path: Path) -> Problem | None:
    """Why the drop folder cannot take this entry without reading it (never following a link), or None."""
    try:
        mode = path.lstat().st_mode
    except OSError as exc:
        why = exc.strerror or str(exc)
        return Problem(f"无法读取文件信息：{why}", f"cannot stat the file: {why}")
    if stat.S_ISLNK(mode):
        return _LINK_REFUSED
    if not stat.S_ISREG(mode):
        return _NOT_REGULAR
    return None


def refuse_file(
    store: Store, config: Config, kind: str, path: Path, problem: Problem, at: datetime | None = None
) -> IngestResult:
    """Refuse a dropped file without reading it: a rejected batch with the reason (an evidence_refused finding),
    the entry moved to rejected/ (a link as the link itself) with its report, so it is told once."""
    state = _FileIngest(config, kind, path, at, {})
    return _reject(store, state, [Fault("", "", "", problem)], move=True)


# How long a node's claim on a drop-folder file stands if that node goes silent (a large file takes minutes).
DROP_CLAIM_LEASE = timedelta(hours=1)


def _drop_key(drop_dir: Path, path: Path) -> str:
    """The claim's key: the same on every node whatever the shared folder's mount point (the path inside it),
    for any name the file system allows (bytes that are not UTF-8 escaped), within the key column's size."""
    inside = path.relative_to(drop_dir) if path.is_relative_to(drop_dir) else Path(path.name)
    raw = os.fsencode(inside)
    text = raw.decode("utf-8", "backslashreplace")
    if len(text) > 400:
        text = f"{text[:300]}…{hashlib.sha256(raw).hexdigest()}"
    return f"drop:{text}"


def ingest_drop_folder(
    store: Store,
    config: Config,
    at: datetime | None = None,
    contract: Mapping[str, Any] | None = None,
    go_on: Callable[[], bool] | None = None,
) -> list[IngestResult]:
    """Ingest every settled file of config.drop_dir. A file it cannot take (a link, a pipe, a name or content
    that fails with _FILE_FAULTS) is refused with the reason; any other failure (the store) leaves it for the
    next scan.

    A drop folder on shared storage may be scanned by two nodes: each file is claimed in the store before it is
    read (store/cluster.py), so one node takes it and the other passes it by. `go_on` (the daemon's leadership)
    is asked before each file: a node that no longer leads leaves the rest to the leader."""
    drop_dir = config.drop_dir
    try:
        drop_dir.mkdir(parents=True, exist_ok=True)
        for name in KINDS:
            (drop_dir / name).mkdir(exist_ok=True)
        files = pending_files(drop_dir, settle=config.ingest.settle.total_seconds())
    except OSError as exc:
        log.error("cannot scan the drop folder", drop_dir=str(drop_dir), error=str(exc))
        return []
    files = _stable(drop_dir, files, config.ingest.settle.total_seconds())
    results: list[IngestResult] = []
    me = this_process()
    for kind, path in files:
        if go_on is not None and not go_on():
            log.warning(
                "no longer leading: the other files are left to the leader / 已非主节点，其余文件由主节点导入"
            )
            break
        key = _drop_key(drop_dir, path)
        try:
            if not cluster.claim(store, key, me, DROP_CLAIM_LEASE):
                log.info("evidence file taken by another node", file=display_name(str(path)), kind=kind)
                continue
        except Exception as exc:
            log.error(
                "cannot claim the evidence file; it waits for the next scan",
                file=display_name(str(path)),
                error=f"{type(exc).__name__}: {exc}",
            )
            continue
        try:
            result = _ingest_claimed(store, config, kind, path, at, contract)
        finally:
            with contextlib.suppress(Exception):  # a claim left behind is taken over after its lease
                cluster.release(store, key, me)
        if result is not None:
            results.append(result)
    return results


def _ingest_claimed(
    store: Store,
    config: Config,
    kind: str,
    path: Path,
    at: datetime | None,
    contract: Mapping[str, Any] | None,
) -> IngestResult | None:
    """One drop-folder file this node has claimed; None when it stays for the next scan."""
    try:
        refusal = refusal_of(path)
        if refusal is not None:
            result = refuse_file(store, config, kind, path, refusal, at)
        else:
            result = ingest_file(store, config, kind, path, move=True, at=at, contract=contract)
    except FileChanged as exc:
        log.warning(
            "evidence file changed while it was read; it waits for the next scan",
            file=display_name(str(path)),
            kind=kind,
            error=str(exc),
        )
        return None
    except _FILE_FAULTS as exc:
        failed = _refuse_failed(store, config, kind, path, exc, at)
        if failed is None:
            return None
        result = failed
    except Exception as exc:
        log.error(
            "evidence file not ingested; it stays for the next scan",
            file=display_name(str(path)),
            kind=kind,
            error=f"{type(exc).__name__}: {exc}",
            exc_info=True,
        )
        return None
    event = log.info if result.status in ("accepted", "duplicate") else log.warning
    event(
        "evidence file ingested",
        file=display_name(path.name),
        kind=kind,
        status=result.status,
        rows_total=result.rows_total,
        rows_ok=result.rows_ok,
        rows_bad=result.rows_bad,
        rows_duplicate=result.rows_duplicate,
        batch_id=result.batch_id,
        reason=result.problem.en if result.problem else "",
        stored_path=str(result.stored_path or ""),
        report=str(result.report_path or ""),
    )
    return result


def _refuse_failed(
    store: Store, config: Config, kind: str, path: Path, exc: Exception, at: datetime | None
) -> IngestResult | None:
    """A file whose ingest raised (not the store): refused with the error as the reason, so it is reported
    once as an evidence_refused finding instead of failing at every scan; None if even that fails."""
    log.error(
        "evidence file not ingested; refused",
        file=display_name(str(path)),
        kind=kind,
        error=f"{type(exc).__name__}: {exc}",
        exc_info=True,
    )
    why = display_name(f"{type(exc).__name__}: {exc}")[:500]
    problem = Problem(f"文件无法导入：{why}", f"the file cannot be ingested: {why}")
    try:
        return refuse_file(store, config, kind, path, problem, at)
    except Exception as again:
        log.error(
            "evidence file not refused either; it stays for the next scan",
            file=display_name(str(path)),
            error=f"{type(again).__name__}: {again}",
        )
        return None


# --- explain: what the ingest would make of a file, storing nothing ---------------------------------


@dataclass
class Explanation:
    """What `ingest_file` would make of a file, found without a store: the kind and why, how the header reads,
    what is missing, and the first rows as parsed. `verdict` is the status the file would get."""

    path: Path
    kind: str | None
    why_kind: Problem
    verdict: Status = "rejected"
    document: bool = False
    read_as: dict[str, Any] = field(default_factory=dict)  # format, encoding, sheet...
    header_row: int = 0
    header: list[Any] = field(default_factory=list)  # spec.HeaderCell, in the file's order
    missing: list[Fault] = field(default_factory=list)  # required columns the header lacks, with their names
    refusal: list[Fault] = field(default_factory=list)  # whole-file reasons
    rows: list[Any] = field(default_factory=list)  # records.ParsedRow: the first few
    rows_total: int = 0
    rows_ok: int = 0
    rows_bad: int = 0


def _kind_from_folders(config: Config, path: Path) -> tuple[str, Problem] | None:
    """The kind the drop folder would give the file (its first subfolder, also under processed/ or rejected/),
    else the nearest folder above it named after a kind."""
    try:
        inner = path.resolve().relative_to(config.drop_dir.resolve()).parts[:-1]
    except (OSError, ValueError):
        inner = ()
    if inner and inner[0] in _OUTCOME_DIRS:
        inner = inner[1:]
    if inner and inner[0].lower() in KINDS:
        name = inner[0].lower()
        return name, Problem(f"投递目录的子目录「{inner[0]}」", f"the drop folder's subfolder {inner[0]!r}")
    for folder in path.resolve().parents:
        if folder.name.lower() in KINDS:
            name = folder.name.lower()
            return name, Problem(f"所在目录「{folder.name}」", f"the folder {folder.name!r} it is in")
    return None


def _context(
    config: Config, kind: RecordKind, path: Path, contract: Mapping[str, Any] | None
) -> ParseContext:
    """The ParseContext the ingest would give the file (_FileIngest.load): zone, contract, config, folders."""
    state = _FileIngest(config, kind.name, path, None, contract)
    return ParseContext(
        zone=config.site.zone,
        contract=state._contract() if kind.needs_contract else {},
        config=config,
        folders=state._folders(kind),
    )


def _read(
    config: Config, kind: RecordKind, path: Path, ctx: ParseContext, sample: int, out: Explanation
) -> None:
    """Parse the whole file as `kind` into `out` (counts, the first `sample` rows); raise for a whole-file refusal."""
    with open_evidence(path, kind.name, config, ctx.folders) as table:
        out.read_as = dict(table.detail)
        try:
            stream = read_records(kind, table.rows(), ctx, site_columns(config, kind.name))
        except FileRejected as exc:
            if exc.header_map is not None:
                out.header, out.header_row = list(exc.header_map.cells), exc.header_row
            raise
        out.header, out.header_row = list(stream.header_map.cells), stream.header_row
        for row in stream.rows:
            out.rows_total += 1
            if row.record is None:
                out.rows_bad += 1
            else:
                out.rows_ok += 1
            if len(out.rows) < sample:
                out.rows.append(row)
        out.read_as.update(table.detail)


def _guess_kind(config: Config, path: Path, contract: Mapping[str, Any] | None) -> tuple[str, Problem] | None:
    """The tabular kind whose columns the file's header fills best (a complete header first)."""
    best: tuple[tuple[bool, int], str] | None = None
    for name, kind in KINDS.items():
        if kind.read_document is not None:
            continue
        probe = Explanation(path, name, Problem("", ""))
        try:
            _read(config, kind, path, _context(config, kind, path, contract), 0, probe)
            score = (True, sum(1 for c in probe.header if c.column))
        except FileRejected:
            score = (False, sum(1 for c in probe.header if c.column))
        except TableError:
            continue
        if score[1] and (best is None or score > best[0]):
            best = (score, name)
    if best is None:
        return None
    (complete, filled), name = best
    return name, Problem(
        f"按表头推断（{filled} 列对得上{'' if complete else '，但表头不完整'}）",
        f"guessed from the header ({filled} columns match{'' if complete else ', but the header is incomplete'})",
    )


def explain_file(
    config: Config,
    path: Path,
    kind: str | None = None,
    *,
    sample: int = 5,
    contract: Mapping[str, Any] | None = None,
) -> Explanation:
    """What the ingest would make of `path` as `kind` (None: as the drop folder would sort it, else guessed from
    the header). Stores nothing, moves nothing, writes no report. `contract`: as for ingest_file."""
    path = Path(path)
    if kind is not None:
        chosen: tuple[str, Problem] | None = (kind, Problem("--kind 指定", "given with --kind"))
    else:
        chosen = _kind_from_folders(config, path) or _guess_kind(config, path, contract)
    if chosen is None:
        out = Explanation(path, None, Problem("无法确定", "cannot tell"))
        out.refusal = [_unknown_kind_fault(UNSORTED)]
        return out
    out = Explanation(path, chosen[0], chosen[1])
    spec = KINDS.get(chosen[0])
    if spec is None:
        out.refusal = [_unknown_kind_fault(chosen[0])]
        return out
    try:
        ctx = _context(config, spec, path, contract)
        if spec.read_document is not None:
            out.document = True
            doc = Document(path, _arrival_time(path, utcnow()), file_sha256(path), ctx.folders)
            out.rows_total = out.rows_ok = len(spec.read_document(doc, ctx))
        else:
            _read(config, spec, path, ctx, sample, out)
    except FileRejected as exc:
        out.refusal = exc.faults
        out.missing = [f for f in exc.faults if f.column and not f.value]  # doubled columns carry their label
        return out
    except (CellError, TableError) as exc:
        out.refusal = [Fault("", "", "", exc.problem)]
        return out
    except OSError as exc:
        why = exc.strerror or str(exc)
        out.refusal = [Fault("", "", "", Problem(f"无法读取文件：{why}", f"cannot read the file: {why}"))]
        return out
    out.verdict, reason = _status(out.rows_total, out.rows_ok, out.rows_bad)
    if reason is not None:
        out.refusal = [Fault("", "", "", reason)]
    return out
