"""Linting contract text (R9): citations of repealed laws and required clauses that are absent.

Reads .txt/.md (UTF-8 with or without BOM, else GB18030) and .docx (standard library only: a .docx is a zip
whose word/document.xml holds the paragraphs). A paragraph is a line of a text file, or a w:p of a .docx
counted in document order (table cells included, empty paragraphs counted), so the number can be found
again in the editor.
"""

from __future__ import annotations

import re
import tomllib
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import re2
from pydantic import Field, field_validator

from ops_watch.core.contract import CONTRACT_SECTIONS
from ops_watch.core.models import Strict

TEXT_SUFFIXES = (".txt", ".md")
DOCX_SUFFIXES = (".docx",)
# A contract's document.xml is well under a megabyte; the cap keeps a zip bomb from filling memory.
MAX_DOCUMENT_XML = 64 * 1024 * 1024
QUOTE_CHARS = 120
KINDS = ("repealed_law", "clause_missing", "unreadable")
COLUMNS = ["file", "paragraph", "kind", "detail", "quote", "replacement"]

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


# --- configuration: [contract_text] in contract.toml ---------------------------------------------------------


# How a pattern with a backslash is written in contract.toml (the most common cause of an invalid one).
TOML_HINT = 'in TOML write a backslash twice ("\\\\d") or use single quotes'


class RequiredClause(Strict):
    """A clause the contract must contain: present when any paragraph matches any of the patterns."""

    name: str = Field(min_length=1)
    patterns: list[str] = Field(min_length=1)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for index, pattern in enumerate(patterns):
            try:
                clause_regex(pattern)
            except re2.error as exc:
                reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
                raise ValueError(
                    f"patterns[{index}] {pattern!r} is not a valid regular expression ({reason}); "
                    "lookarounds and backreferences are not supported (patterns run in linear time); "
                    + TOML_HINT
                ) from None
        return patterns


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # the error is ours to report, with the key path


def clause_regex(pattern: str) -> Any:
    """A clause pattern from the contract, compiled by RE2: its time is linear in the text, whatever the
    pattern (`^(a+)+$` cannot hang a job the way Python's backtracking `re` does on 33 bytes)."""
    return re2.compile(pattern, _RE2_OPTIONS)


DEFAULT_CLAUSES = (
    RequiredClause(
        name="驻场人员数量",
        patterns=[
            r"驻场.{0,10}[0-9０-９一二三四五六七八九十两]+\s*[人名]",
            r"现场.{0,6}人员.{0,10}不少于",
        ],
    ),
    RequiredClause(name="人员资质", patterns=["资质", "证书", "持证"]),
    RequiredClause(name="绩效考核", patterns=["绩效考核", "考核指标", "评价"]),
    RequiredClause(name="数据安全与保密", patterns=["数据安全", "保密"]),
)


class ContractTextSection(Strict):
    """The clauses every contract must contain. Absent: DEFAULT_CLAUSES."""

    required_clauses: list[RequiredClause] = Field(default_factory=lambda: list(DEFAULT_CLAUSES))


CONTRACT_SECTIONS.add("contract_text", ContractTextSection)


def contract_text_terms(contract: Mapping[str, Any]) -> ContractTextSection:
    section = contract.get("contract_text")
    if isinstance(section, ContractTextSection):
        return section
    if isinstance(section, Mapping):
        return ContractTextSection.model_validate(dict(section))
    return ContractTextSection()


# --- the repealed-law table (ops_watch/data/repealed_laws.toml) ----------------------------------------------


@dataclass(frozen=True)
class RepealedLaw:
    name: str
    aliases: tuple[str, ...]
    repealed_on: date
    replaced_by: str
    source: str
    look_alikes: tuple[str, ...] = ()


class LawTableError(ValueError):
    pass


def load_repealed_laws(path: Path | None = None) -> list[RepealedLaw]:
    """The packaged table, or `path`. Raises LawTableError naming the file and the entry."""
    if path is None:
        ref = resources.files("ops_watch") / "data" / "repealed_laws.toml"
        label, text = "repealed_laws.toml", ref.read_text(encoding="utf-8")
    else:
        label = path.name
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise LawTableError(f"{label}: cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LawTableError(f"{label}: not valid TOML: {exc}") from None
    laws = []
    for index, entry in enumerate(data.get("law", [])):
        where = f"{label}: law[{index}]"
        try:
            name = str(entry["name"]).strip("《》")
            repealed_on = entry["repealed_on"]
            if not isinstance(repealed_on, date):
                raise LawTableError(f"{where}.repealed_on: write a date, e.g. 2021-01-01")
            laws.append(
                RepealedLaw(
                    name=name,
                    aliases=tuple(str(a).strip("《》") for a in entry.get("aliases", [])),
                    repealed_on=repealed_on,
                    replaced_by=str(entry["replaced_by"]),
                    source=str(entry.get("source", "")),
                    look_alikes=tuple(str(a) for a in entry.get("look_alikes", [])),
                )
            )
        except KeyError as exc:
            raise LawTableError(f"{where}: {exc.args[0]} is required") from None
    return laws


# --- reading ---------------------------------------------------------------------------------------------------


class ContractReadError(Exception):
    """A contract file that cannot be read; the message names the file and says what to do."""


@dataclass(frozen=True)
class Paragraph:
    number: int  # 1-based
    text: str


@dataclass(frozen=True)
class ContractDocument:
    path: Path
    encoding: str  # "utf-8", "utf-8-sig" (with BOM), "gb18030" or "docx"
    paragraphs: tuple[Paragraph, ...]


def read_contract(path: Path) -> ContractDocument:
    suffix = path.suffix.lower()
    if suffix in DOCX_SUFFIXES:
        return ContractDocument(path, "docx", tuple(_docx_paragraphs(path)))
    if suffix in TEXT_SUFFIXES:
        encoding, text = _decode(path)
        lines = text.splitlines()
        return ContractDocument(path, encoding, tuple(Paragraph(i, s) for i, s in enumerate(lines, 1)))
    raise ContractReadError(
        f"{path}: unsupported file type {path.suffix or '(none)'!r}: give .docx, .txt or .md "
        "(save a .doc or .pdf as .docx from Word or WPS first)"
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ContractReadError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _decode(path: Path) -> tuple[str, str]:
    raw = _read_bytes(path)
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return "utf-8-sig", raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass  # a BOM followed by other bytes: try the rest as below
    try:
        return "utf-8", raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return "gb18030", raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ContractReadError(
            f"{path}: neither UTF-8 nor GB18030 (bad byte at offset {exc.start}); "
            "save it as UTF-8 text or as .docx"
        ) from None


def _docx_paragraphs(path: Path) -> list[Paragraph]:
    _read_bytes(path)  # a missing or unreadable file gets the plain message, not a zip error
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                info = archive.getinfo("word/document.xml")
            except KeyError:
                raise ContractReadError(
                    f"{path}: a zip without word/document.xml, so not a Word document; "
                    "open it in Word or WPS and save it as .docx again"
                ) from None
            if info.file_size > MAX_DOCUMENT_XML:
                raise ContractReadError(
                    f"{path}: word/document.xml is {info.file_size} bytes, more than a contract has"
                )
            xml = archive.read(info)
    except zipfile.BadZipFile as exc:
        raise ContractReadError(
            f"{path}: not a valid .docx ({exc}); it may be a .doc renamed to .docx or cut short in copying: "
            "open it in Word or WPS and save it as .docx again"
        ) from None
    except (OSError, EOFError, zipfile.LargeZipFile, NotImplementedError) as exc:
        raise ContractReadError(f"{path}: cannot read the .docx ({exc}); save it as .docx again") from None
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise ContractReadError(
            f"{path}: word/document.xml is damaged ({exc}); save it as .docx again"
        ) from None
    body = root.find(f"{_W}body")
    paragraphs: list[Paragraph] = []
    _walk(body if body is not None else root, paragraphs)
    return paragraphs


def _walk(element: ElementTree.Element, out: list[Paragraph]) -> None:
    for child in element:
        if child.tag == f"{_W}p":
            # Number the paragraph before the ones nested in it (text boxes) so numbers follow reading order.
            slot = len(out)
            out.append(Paragraph(0, ""))
            nested: list[Paragraph] = []
            text = _paragraph_text(child, nested)
            out[slot] = Paragraph(slot + 1, text)
            for p in nested:
                out.append(Paragraph(len(out) + 1, p.text))
        else:
            _walk(child, out)


def _paragraph_text(p: ElementTree.Element, nested: list[Paragraph]) -> str:
    parts: list[str] = []

    def visit(element: ElementTree.Element) -> None:
        for child in element:
            tag = child.tag
            if tag == f"{_W}t":
                parts.append(child.text or "")
            elif tag in (f"{_W}tab", f"{_W}br", f"{_W}cr"):
                parts.append(" ")
            elif tag == f"{_W}p":
                inner: list[Paragraph] = []
                nested.append(Paragraph(0, _paragraph_text(child, inner)))
                nested.extend(inner)
            else:
                visit(child)

    visit(p)
    return "".join(parts)


# --- linting ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    file: str
    paragraph: int | None
    kind: str  # one of KINDS
    detail: str
    quote: str
    replacement: str

    def as_row(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in COLUMNS}


# After a law's name, these make it a different word: 合同法律 (contract law in general), 合同法学, 合同法院,
# 合同法规 (regulations) — but 合同法规定 ("as the Contract Law provides") is a citation.
_NOT_AFTER = r"(?![律学院庭官制治]|规(?!定))"


def _law_pattern(law: RepealedLaw) -> re.Pattern[str]:
    names = sorted({law.name, *law.aliases}, key=len, reverse=True)
    return re.compile("(?:" + "|".join(re.escape(n) for n in names) + ")" + _NOT_AFTER)


def _spans(pattern: str, text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(re.escape(pattern), text)]


def _inside(span: tuple[int, int], others: Sequence[tuple[int, int]]) -> bool:
    return any(s <= span[0] and span[1] <= e and (s, e) != span for s, e in others)


def _citations(text: str, laws: Sequence[RepealedLaw]) -> list[tuple[int, int, RepealedLaw]]:
    found = [(m.start(), m.end(), law) for law in laws for m in _law_pattern(law).finditer(text)]
    spans = [(s, e) for s, e, _ in found]
    kept = []
    for start, end, law in found:
        if _inside((start, end), spans):  # 涉外经济合同法 is not also 合同法: the longest name wins
            continue
        if any(_inside((start, end), _spans(alike, text)) for alike in law.look_alikes):
            continue  # 劳动合同法 is in force and is not 合同法
        kept.append((start, end, law))
    return sorted(kept, key=lambda t: t[0])


def quote(text: str, start: int, end: int, width: int = QUOTE_CHARS) -> str:
    """The sentence around text[start:end], cut to about `width` characters around the match."""
    stops = "。！？；!?;\n"
    left = max((text.rfind(c, 0, start) for c in stops), default=-1) + 1
    rights = [i for i in (text.find(c, end) for c in stops) if i != -1]
    right = min(rights) + 1 if rights else len(text)
    sentence_start, sentence_end = left, right
    if sentence_end - sentence_start > width:
        room = max(width - (end - start), 0)
        sentence_start = max(left, start - room // 2)
        sentence_end = min(right, sentence_start + max(width, end - start))
        sentence_start = max(left, min(sentence_start, sentence_end - width))
    out = text[sentence_start:sentence_end].strip()
    if sentence_start > left:
        out = "…" + out
    if sentence_end < right:
        out = out + "…"
    return out


def _zh_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def find_repealed(doc: ContractDocument, laws: Sequence[RepealedLaw], language: str = "zh") -> list[Problem]:
    problems = []
    for paragraph in doc.paragraphs:
        seen: set[str] = set()
        for start, end, law in _citations(paragraph.text, laws):
            if law.name in seen:  # one row per law and paragraph
                continue
            seen.add(law.name)
            if language == "zh":
                detail = f"引用已废止的《{law.name}》（{_zh_date(law.repealed_on)}废止，{law.source}）"
            else:
                detail = f"cites 《{law.name}》, repealed on {law.repealed_on.isoformat()} ({law.source})"
            problems.append(
                Problem(
                    str(doc.path),
                    paragraph.number,
                    "repealed_law",
                    detail,
                    quote(paragraph.text, start, end),
                    _cite(law.replaced_by),
                )
            )
    return problems


def _cite(replaced_by: str) -> str:
    """中华人民共和国民法典（第三编 合同） -> 《中华人民共和国民法典》（第三编 合同）"""
    title, bracket, rest = replaced_by.partition("（")
    return f"《{title}》{bracket}{rest}"


def find_missing_clauses(
    doc: ContractDocument, clauses: Sequence[RequiredClause], language: str = "zh"
) -> list[Problem]:
    problems = []
    for clause in clauses:
        compiled = [clause_regex(p) for p in clause.patterns]
        if any(c.search(p.text) for p in doc.paragraphs for c in compiled):
            continue
        tried = " | ".join(clause.patterns)
        if language == "zh":
            detail = f"缺少条款“{clause.name}”：没有段落符合 {tried}"
        else:
            detail = f"clause {clause.name!r} missing: no paragraph matches {tried}"
        problems.append(Problem(str(doc.path), None, "clause_missing", detail, "", ""))
    return problems


def lint_document(
    doc: ContractDocument,
    terms: ContractTextSection,
    laws: Sequence[RepealedLaw],
    language: str = "zh",
) -> list[Problem]:
    return find_repealed(doc, laws, language) + find_missing_clauses(doc, terms.required_clauses, language)


def unreadable(path: Path, error: ContractReadError) -> Problem:
    return Problem(str(path), None, "unreadable", str(error), "", "")


ENCODING_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (BOM)", "gb18030": "GB18030", "docx": "Word .docx"}
