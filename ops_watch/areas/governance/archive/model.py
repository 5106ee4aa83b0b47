"""The archive of the documents the center must keep (R10): contract.toml `[archive]` and the folder scan.

Each year's required documents (the resource demand list, the contract, performance targets, ...) must be in
the archive folder by `due_by` of the following year. The folder holds one sub-folder per year ("2026",
"2026年度资料"), matched by file-name patterns; or a `manifest.csv` at its root, which wins when present.
ops-watch only reads the folder: documents past their retention are listed for a disposal review, never
deleted.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, field_validator

from ops_watch.core.contract import CONTRACT_SECTIONS, ContractMeta
from ops_watch.core.models import Strict

MANIFEST = "manifest.csv"
YEAR_DIR = re.compile(r"^(\d{4})(?!\d)")
MANIFEST_COLUMNS = {
    "year": ("年度", "year"),
    "document": ("文件类型", "document"),
    "file": ("文件名", "file"),
}


class ArchiveDocument(Strict):
    """One required document. A pattern is a file-name glob ("*资源需求*清单*"), or a regex after "re:"."""

    key: str = Field(min_length=1)
    name: str = Field(min_length=1)
    patterns: tuple[str, ...] = Field(min_length=1)
    retention_years: int = Field(default=10, ge=1, le=100)
    years_from: int | None = Field(default=None, ge=1990, le=2100)

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            if not pattern.strip():
                raise ValueError('an empty pattern matches nothing: write e.g. "*合同*"')
            if pattern.startswith("re:"):
                try:
                    re.compile(pattern[3:])
                except re.error as exc:
                    raise ValueError(f"{pattern!r}: not a regular expression ({exc})") from None
        return value

    def matches(self, file_name: str) -> bool:
        name = file_name.casefold()
        for pattern in self.patterns:
            if pattern.startswith("re:"):
                if re.search(pattern[3:], file_name, re.IGNORECASE):
                    return True
            elif fnmatch.fnmatchcase(name, pattern.casefold()):
                return True
        return False


def _doc(key: str, name: str, patterns: tuple[str, ...], retention: int = 10) -> ArchiveDocument:
    return ArchiveDocument(key=key, name=name, patterns=patterns, retention_years=retention)


# The documents the evaluation asked for (issue 9, R10). Retention: 10 years, the contract 30 (an assumption
# following the usual archive terms for contracts and annual records; set the center's own in contract.toml).
DEFAULT_DOCUMENTS: tuple[ArchiveDocument, ...] = (
    _doc("resource_demand", "资源需求清单", ("*资源需求*清单*", "*资源使用*清单*")),
    _doc("contract", "合同", ("*合同*",), 30),
    _doc("performance_targets", "绩效目标", ("*绩效目标*",)),
    _doc("self_assessment", "绩效自评", ("*绩效自评*", "*自评报告*")),
    _doc("staff_list", "驻场人员名单", ("*驻场人员*名单*", "*人员名单*")),
    _doc("drill_records", "演练记录", ("*演练记录*", "*演练报告*")),
    _doc("inspection_records", "检查记录", ("*检查记录*",)),
    _doc("survey_results", "满意度调查", ("*满意度*",)),
)


class ArchiveSection(Strict):
    """`dir` is the archive folder; a relative path is taken from the rules directory (contract.toml's)."""

    dir: Path | None = None
    due_by: str = "03-31"
    first_year: int | None = Field(default=None, ge=1990, le=2100)
    documents: tuple[ArchiveDocument, ...] = DEFAULT_DOCUMENTS
    _base: Path | None = PrivateAttr(default=None)

    @field_validator("due_by")
    @classmethod
    def _due_by(cls, value: str) -> str:
        month_day = re.fullmatch(r"(\d{2})-(\d{2})", value.strip())
        try:
            if month_day is None:
                raise ValueError
            # 2001 is not a leap year: 02-29 is refused, it would not exist most years.
            date(2001, int(month_day[1]), int(month_day[2]))
        except ValueError:
            raise ValueError(f'{value!r}: write the month and day as MM-DD, e.g. "03-31"') from None
        return value.strip()

    @field_validator("documents")
    @classmethod
    def _unique(cls, value: tuple[ArchiveDocument, ...]) -> tuple[ArchiveDocument, ...]:
        keys = [d.key for d in value]
        for key in keys:
            if keys.count(key) > 1:
                raise ValueError(f"document key {key!r} is listed twice")
        return value

    def due(self, year: int) -> date:
        """The day by which year `year`'s documents must be in the archive."""
        month, day = (int(p) for p in self.due_by.split("-"))
        return date(year + 1, month, day)

    def with_base(self, rules_dir: Path) -> ArchiveSection:
        """A copy whose relative `dir` is taken from `rules_dir` (rules.load_rules calls this)."""
        bound = self.model_copy()
        bound._base = rules_dir
        return bound

    def folder(self) -> Path | None:
        if self.dir is None:
            return None
        if self.dir.is_absolute() or self._base is None:
            return self.dir
        return self._base / self.dir


CONTRACT_SECTIONS.add("archive", ArchiveSection)


def archive_terms(contract: Mapping[str, Any]) -> ArchiveSection:
    section = contract.get("archive")
    if isinstance(section, ArchiveSection):
        return section
    if isinstance(section, Mapping):
        return ArchiveSection.model_validate(dict(section))
    return ArchiveSection()


def bind_rules_dir(contract: dict[str, Any], rules_dir: Path) -> None:
    """Anchor a relative `[archive] dir` to the rules directory (call after loading the rules)."""
    contract["archive"] = archive_terms(contract).with_base(rules_dir)


# --- the scan ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchivedFile:
    name: str
    path: str  # relative to the archive folder, "/"-separated


@dataclass
class Scan:
    folder: Path
    error: str | None = None  # the folder could not be read: nothing else is meaningful
    by_year: dict[int, list[ArchivedFile]] = field(default_factory=dict)
    # With a manifest: (year, document key) -> files it lists that exist; and the rows that do not hold.
    manifest: dict[tuple[int, str], list[ArchivedFile]] | None = None
    listed_missing: dict[tuple[int, str], list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def files(self, year: int) -> list[ArchivedFile]:
        return self.by_year.get(year, [])

    def matching(self, year: int, doc: ArchiveDocument) -> list[ArchivedFile]:
        if self.manifest is not None:
            return self.manifest.get((year, doc.key), [])
        return [f for f in self.files(year) if doc.matches(f.name)]


def _ignored(name: str) -> bool:
    # Office lock files (~$合同.docx) and hidden files are not documents.
    return name.startswith(("~$", "."))


def _walk(root: Path, folder: Path) -> list[ArchivedFile]:
    out: list[ArchivedFile] = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(root)
        if any(_ignored(part) for part in rel.parts) or not path.is_file():
            continue
        out.append(ArchivedFile(name=path.name, path=rel.as_posix()))
    return out


def scan(folder: Path, documents: tuple[ArchiveDocument, ...] = DEFAULT_DOCUMENTS) -> Scan:
    """Read the archive folder. Never raises: an unreadable folder comes back as `error`."""
    result = Scan(folder=folder)
    if not folder.exists():
        result.error = f"{folder}: the archive folder does not exist: create it or fix [archive] dir"
        return result
    if not folder.is_dir():
        result.error = f"{folder}: not a folder: [archive] dir must name the archive folder"
        return result
    try:
        for child in sorted(folder.iterdir()):
            m = YEAR_DIR.match(child.name)
            if child.is_dir() and m and not _ignored(child.name):
                result.by_year.setdefault(int(m[1]), []).extend(_walk(folder, child))
        manifest = folder / MANIFEST
        if manifest.is_file():
            _read_manifest(result, manifest, documents)
    except OSError as exc:
        result.error = f"{folder}: cannot read the archive folder ({exc.strerror or exc})"
    return result


def _decode(raw: bytes) -> str:
    # Excel saves CSV as UTF-8 (with a BOM) or, on Chinese Windows, GB18030.
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")


def _read_manifest(result: Scan, path: Path, documents: tuple[ArchiveDocument, ...]) -> None:
    result.manifest = {}
    reader = csv.DictReader(io.StringIO(_decode(path.read_bytes())))
    header = [h.strip() for h in (reader.fieldnames or [])]
    columns: dict[str, str] = {}
    for key, names in MANIFEST_COLUMNS.items():
        found = next((h for h in header if h.casefold() in names), None)
        if found is None:
            result.problems.append(
                f"{path.name}: no column {names[0]} ({names[1]}): the header must be 年度,文件类型,文件名"
            )
        else:
            columns[key] = found
    if len(columns) < len(MANIFEST_COLUMNS):
        return
    by_name = {d.key.casefold(): d for d in documents} | {d.name.casefold(): d for d in documents}
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if isinstance(v, str)}
        year_text, doc_text, file_text = (row.get(columns[k], "") for k in ("year", "document", "file"))
        if not (year_text or doc_text or file_text):
            continue
        m = re.fullmatch(r"(\d{4})年?", year_text)
        if m is None:
            result.problems.append(f"{path.name} row {line}: 年度 {year_text!r} is not a year, e.g. 2026")
            continue
        doc = by_name.get(doc_text.casefold())
        if doc is None:
            known = "、".join(d.name for d in documents)
            result.problems.append(
                f"{path.name} row {line}: 文件类型 {doc_text!r} is not a required document ({known})"
            )
            continue
        if not file_text:
            result.problems.append(f"{path.name} row {line}: 文件名 is empty: name the archived file")
            continue
        year = int(m[1])
        found = _find_listed(result, year, file_text)
        if found is None:
            result.listed_missing.setdefault((year, doc.key), []).append(file_text)
        else:
            result.manifest.setdefault((year, doc.key), []).append(found)


def _find_listed(result: Scan, year: int, file_text: str) -> ArchivedFile | None:
    """A manifest's file is taken from the archive folder, or from that year's folder."""
    wanted = file_text.replace("\\", "/").strip("/")
    for f in result.files(year):
        if f.path == wanted or f.path.split("/", 1)[-1] == wanted:
            return f
    path = result.folder / wanted
    if ".." not in Path(wanted).parts and path.is_file():
        return ArchivedFile(name=path.name, path=wanted)
    return None


# --- status --------------------------------------------------------------------------------------------------

STATUS_ZH = {"present": "已归档", "missing": "缺失", "not_due": "未到期"}


@dataclass(frozen=True)
class DocumentStatus:
    year: int
    doc: ArchiveDocument
    status: str  # present | missing | not_due
    due: date
    files: tuple[ArchivedFile, ...]
    retention_until: date
    listed_missing: tuple[str, ...] = ()

    def retention_due(self, today: date) -> bool:
        return bool(self.files) and self.retention_until < today


def years(terms: ArchiveSection, contract: Mapping[str, Any], doc: ArchiveDocument, today: date) -> range:
    """Years whose documents are required: from the document's (or the section's, or the contract's) first
    year to the contract's end year, at most this year."""
    meta = contract.get("contract")
    start = meta.start if isinstance(meta, ContractMeta) and meta.start else None
    end = meta.end if isinstance(meta, ContractMeta) and meta.end else None
    first = doc.years_from or terms.first_year or (start.year if start else today.year)
    last = min(end.year, today.year) if end else today.year
    return range(first, last + 1)


def statuses(
    terms: ArchiveSection, contract: Mapping[str, Any], result: Scan, today: date, year: int | None = None
) -> list[DocumentStatus]:
    out: list[DocumentStatus] = []
    for doc in terms.documents:
        for y in years(terms, contract, doc, today):
            if year is not None and y != year:
                continue
            files = tuple(result.matching(y, doc))
            due = terms.due(y)
            status = "present" if files else ("missing" if due < today else "not_due")
            out.append(
                DocumentStatus(
                    year=y,
                    doc=doc,
                    status=status,
                    due=due,
                    files=files,
                    retention_until=date(y + doc.retention_years, 12, 31),
                    listed_missing=tuple(result.listed_missing.get((y, doc.key), ())),
                )
            )
    return sorted(out, key=lambda s: (s.year, [d.key for d in terms.documents].index(s.doc.key)))


STATUS_COLUMNS = ["year", "document", "status", "due", "files", "retention_until"]


def status_rows(items: list[DocumentStatus], language: str = "zh") -> list[dict[str, Any]]:
    zh = language == "zh"
    return [
        {
            "year": s.year,
            "document": s.doc.name,
            "key": s.doc.key,
            "status": STATUS_ZH[s.status] if zh else s.status.replace("_", " "),
            "due": s.due.isoformat(),
            "files": "; ".join(f.path for f in s.files),
            "retention_until": s.retention_until.isoformat(),
        }
        for s in items
    ]


def status_json(items: list[DocumentStatus], result: Scan) -> dict[str, Any]:
    return {
        "folder": str(result.folder),
        "error": result.error,
        "manifest": result.manifest is not None,
        "problems": list(result.problems),
        "documents": [
            {
                "year": s.year,
                "key": s.doc.key,
                "document": s.doc.name,
                "status": s.status,
                "due": s.due.isoformat(),
                "files": [f.path for f in s.files],
                "listed_but_missing": list(s.listed_missing),
                "retention_until": s.retention_until.isoformat(),
            }
            for s in items
        ],
    }
