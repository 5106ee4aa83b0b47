"""contract: a contract text dropped in the folder (drop/contract/*.docx|.txt|.md), linted on arrival (R9).

A document kind: the file is one piece of evidence, read whole by contract_text.read_contract and linted
against the repealed-law table and the [contract_text] clauses of contract.toml. It becomes one
ContractReview row, upserted by file name: a corrected version dropped under the same name replaces the old
problems, so the findings it fixed resolve. The problems are stored with the text of both languages and the
facts behind them (law, paragraph, quote, replacement; clause and patterns), so a report in either language
can be rendered later without the file.

A file that cannot be read (not a zip, cut short, no word/document.xml, undecodable text, a .pdf or .doc) is
refused with the reason and what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ops_watch.areas.governance.contract_text.model import (
    ContractDocument,
    ContractReadError,
    ContractTextSection,
    LawTableError,
    Problem,
    RepealedLaw,
    contract_text_terms,
    find_missing_clauses,
    find_repealed,
    load_repealed_laws,
    read_contract,
)
from ops_watch.formats import KINDS
from ops_watch.formats.spec import CellError, Document, ParseContext, RecordKind, build_record
from ops_watch.store.schema import ContractReview


@dataclass(slots=True)
class ContractRecord:
    document: str
    sha256: str
    arrived_at: datetime
    encoding: str
    paragraphs: int
    problems: list[dict[str, Any]]


# ContractReadError says in English what is wrong; these give the reason in Chinese, by what the message says.
# A message matching none still refuses the file, with the generic hint and the English detail.
_ZH_REASONS = (
    (
        "unsupported file type",
        "不支持的文件类型：请提供 .docx、.txt 或 .md（.doc、.pdf 请先用 Word 或 WPS 另存为 .docx）",
    ),
    (
        "without word/document.xml",
        "是压缩包但没有 word/document.xml，不是 Word 文档：请用 Word 或 WPS 另存为 .docx",
    ),
    (
        "not a valid .docx",
        "不是有效的 .docx 文件（可能是改了扩展名的 .doc，或复制时被截断）：请用 Word 或 WPS 打开后另存为 .docx",
    ),
    ("cannot read the .docx", "无法读取该 .docx 文件：请用 Word 或 WPS 重新另存为 .docx"),
    ("document.xml is damaged", "文档内容（word/document.xml）已损坏：请用 Word 或 WPS 重新另存为 .docx"),
    ("more than a contract has", "word/document.xml 过大，不像一份合同：请检查文件"),
    ("neither UTF-8 nor GB18030", "文本既不是 UTF-8 也不是 GB18030 编码：请另存为 UTF-8 文本或 .docx"),
)


def _refusal(doc: Document, exc: ContractReadError) -> CellError:
    en = str(exc).removeprefix(f"{doc.readable}: ")
    zh = next((z for marker, z in _ZH_REASONS if marker in en), None)
    if zh is None:
        zh = f"无法读取合同文本，请另存为 .docx 后重新投递（{en}）"
    return CellError(zh, f"cannot read the contract: {en}")


def _terms(ctx: ParseContext) -> ContractTextSection:
    try:
        return contract_text_terms(ctx.contract)
    except ValidationError as exc:  # the rules loader validates the section; this is a second line
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
        raise CellError(
            f"contract.toml 的 [contract_text] 有错误（修正后重新投递）：{detail}",
            f"[contract_text] in contract.toml is invalid (fix it and drop the file again): {detail}",
        ) from None


def _laws() -> list[RepealedLaw]:
    try:
        return load_repealed_laws()
    except LawTableError as exc:
        raise CellError(
            f"已废止法律表无法读取，未能审查合同（修正后重新投递）：{exc}",
            f"the repealed-law table cannot be read, so the contract was not linted "
            f"(fix it and drop the file again): {exc}",
        ) from None


def _law_of(problem: Problem, laws: Sequence[RepealedLaw]) -> RepealedLaw | None:
    """The law a repealed_law problem is about: the one whose 《title》 its text names first."""
    found = [(problem.detail.find(f"《{law.name}》"), law) for law in laws]
    named = [(at, law) for at, law in found if at >= 0]
    return min(named, key=lambda t: t[0])[1] if named else None


def problem_rows(
    doc: ContractDocument, terms: ContractTextSection, laws: Sequence[RepealedLaw]
) -> list[dict[str, Any]]:
    """What lint_document finds, as stored: the facts plus the text in both languages (the lint is
    deterministic, so its zh and en runs list the same problems in the same order)."""
    rows = []
    for p_zh, p_en in zip(find_repealed(doc, laws, "zh"), find_repealed(doc, laws, "en"), strict=True):
        law = _law_of(p_zh, laws)
        rows.append(
            _row(p_zh, p_en)
            | {
                "law": law.name if law else "",
                "repealed_on": law.repealed_on.isoformat() if law else "",
                "source": law.source if law else "",
            }
        )
    for clause in terms.required_clauses:  # one at a time, so each problem is known to be about `clause`
        for p_zh, p_en in zip(
            find_missing_clauses(doc, [clause], "zh"), find_missing_clauses(doc, [clause], "en"), strict=True
        ):
            rows.append(_row(p_zh, p_en) | {"clause": clause.name, "patterns": list(clause.patterns)})
    return rows


def _row(p_zh: Problem, p_en: Problem) -> dict[str, Any]:
    return {
        "kind": p_zh.kind,
        "paragraph": p_zh.paragraph,
        "quote": p_zh.quote,
        "replacement": p_zh.replacement,
        "detail_zh": p_zh.detail,
        "detail_en": p_en.detail,
    }


def read_document(doc: Document, ctx: ParseContext) -> list[ContractRecord]:
    terms = _terms(ctx)
    laws = _laws()
    try:
        text = read_contract(doc.readable)
    except ContractReadError as exc:
        raise _refusal(doc, exc) from None
    return [
        ContractRecord(
            document=doc.path.name,
            sha256=doc.sha256,
            arrived_at=doc.arrived_at,
            encoding=text.encoding,
            paragraphs=len(text.paragraphs),
            problems=problem_rows(text, terms, laws),
        )
    ]


KIND = RecordKind(
    name="contract",
    title_zh="合同文本",
    title_en="contract text",
    columns=(),
    record_type=ContractRecord,
    build=build_record(ContractRecord),
    table=ContractReview,
    write_mode="upsert",
    key=("document",),
    time_column=None,
    read_document=read_document,
    needs_contract=True,
)

KINDS.add(KIND.name, KIND)
