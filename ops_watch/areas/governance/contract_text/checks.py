"""Contract text checks (R9): the problems found when a contract was dropped (evidence kind `contract`).

The lint runs on ingest (ops_watch.areas.governance.contract_text.kind) and its problems are stored per document; these checks
turn them into findings: one per document and repealed law cited, one per document and required clause
absent. A finding has no period (a contract is not about a time), so its fingerprint is the document and the
law or clause: the same problem stays one finding, and a corrected version dropped under the same file name
resolves what it fixed. Only documents that had arrived by the evaluation time are judged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from ops_watch.findings.registry import CheckContext, FindingDraft, NoParams, check
from ops_watch.store.schema import ContractReview

MAX_LISTED = 20
SUBJECT_CHARS = 512  # Finding.subject's width


def _subject(document: str, about: str) -> str:
    """ "<document> · <law or clause>", the document's name shortened if the whole would not fit."""
    tail = f" · {about}"
    room = max(SUBJECT_CHARS - len(tail), 16)
    name = document if len(document) <= room else document[: room - 1] + "…"
    return (name + tail)[:SUBJECT_CHARS]


def _reviews(ctx: CheckContext) -> list[ContractReview]:
    # Chosen by arrived_at rather than ctx.arrived: every contract finding rests on the reviews (their seals).
    ctx.reads(ContractReview)
    return list(
        ctx.session.scalars(
            select(ContractReview)
            .where(ContractReview.arrived_at <= ctx.at)
            .order_by(ContractReview.document)
        )
    )


def _base_evidence(review: ContractReview) -> dict[str, Any]:
    return {
        "document": review.document,
        "sha256": review.sha256,
        "arrived_at": review.arrived_at.isoformat(),
        "paragraphs": review.paragraphs,
    }


@check(
    "contract_repealed_law",
    params=NoParams,
    area="governance",
    example="""
[[rule]]
id = "contract-repealed-law"
check = "contract_repealed_law"
severity = "warning"
title = "合同引用已废止的法律"
""",
)
def contract_repealed_law(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    """One finding per contract and repealed law it cites (all its citations in the evidence)."""
    for review in _reviews(ctx):
        by_law: dict[str, list[dict[str, Any]]] = {}
        for problem in review.problems or []:
            if problem.get("kind") == "repealed_law":
                by_law.setdefault(problem.get("law") or problem.get("quote", ""), []).append(problem)
        for law, cites in by_law.items():
            first = cites[0]
            numbers = sorted({c["paragraph"] for c in cites if c.get("paragraph") is not None})
            repealed_on = first.get("repealed_on", "")
            replacement = first.get("replacement", "")
            paras_zh = "、".join(map(str, numbers))
            paras_en = ", ".join(map(str, numbers))
            yield FindingDraft(
                subject=_subject(review.document, f"《{law}》"),
                summary=ctx.t(
                    f"{review.document} 第 {paras_zh} 段引用已废止的《{law}》（{repealed_on} 废止）："
                    f"“{first.get('quote', '')}”；应改为引用{replacement}",
                    f"{review.document} paragraph{'s' if len(numbers) > 1 else ''} {paras_en} cite"
                    f"{'' if len(numbers) > 1 else 's'} 《{law}》, repealed on {repealed_on}: "
                    f"“{first.get('quote', '')}”; cite {replacement} instead",
                ),
                evidence=_base_evidence(review)
                | {
                    "law": law,
                    "repealed_on": repealed_on,
                    "source": first.get("source", ""),
                    "replacement": replacement,
                    "citations": [
                        {"paragraph": c.get("paragraph"), "quote": c.get("quote", "")}
                        for c in cites[:MAX_LISTED]
                    ],
                    "citations_total": len(cites),
                },
            )


@check(
    "contract_clause_missing",
    params=NoParams,
    area="governance",
    example="""
[[rule]]
id = "contract-clause-missing"
check = "contract_clause_missing"
severity = "warning"
title = "合同缺少必备条款"
""",
)
def contract_clause_missing(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    """One finding per contract and required clause ([contract_text] as it was when the contract arrived)
    that no paragraph matches."""
    for review in _reviews(ctx):
        for problem in review.problems or []:
            if problem.get("kind") != "clause_missing":
                continue
            clause = problem.get("clause", "")
            patterns = list(problem.get("patterns", []))
            # The patterns tried are regular expressions: in the evidence for whoever checks the match, not in
            # the summary the center reads.
            yield FindingDraft(
                subject=_subject(review.document, clause),
                summary=ctx.t(
                    f"{review.document} 缺少“{clause}”条款：全文 {review.paragraphs} 段中没有找到相应约定"
                    f"（所用匹配规则见证据）",
                    f"{review.document} lacks the clause {clause!r}: none of its {review.paragraphs} paragraphs "
                    f"states it (the patterns tried are in the evidence)",
                ),
                evidence=_base_evidence(review) | {"clause": clause, "patterns": patterns},
            )
