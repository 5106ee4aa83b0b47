"""What verify finds: a break in a chain, named exactly (which chain and seal, which batch or decision, which
table and row, which file; added, changed or removed), in Chinese and English. Every part of the trail that
checks something (trail/verify.py, the roll-ups, receipts) reports with this one type."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# What broke, the codes a report and a test name.
WHAT = {
    "link_broken": ("链断裂：封印的前一哈希不符", "chain broken: a seal's previous hash does not match"),
    "seal_changed": ("封印内容被改动", "a seal was altered: its hash does not match its content"),
    "seal_missing": ("封印缺失（序号不连续）", "seals are missing (a gap in the sequence)"),
    "unsealed_batch": (
        "证据批次没有封印（在 ops-watch 之外写入）",
        "an evidence batch has no seal (written outside ops-watch)",
    ),
    "batch_changed": ("证据批次记录被改动", "an evidence batch's record was changed"),
    "batch_removed": ("证据批次被删除", "an evidence batch was deleted"),
    "row_added": ("证据行被添加", "an evidence row was added"),
    "row_changed": ("证据行被改动", "an evidence row was changed"),
    "row_removed": ("证据行被删除", "an evidence row was deleted"),
    "file_changed": ("归档文件被替换或改动", "an archived file was replaced or changed"),
    "file_missing": ("归档文件缺失", "an archived file is missing"),
    "decision_added": (
        "决定记录未封印（在 ops-watch 之外写入）",
        "a decision has no seal (written outside ops-watch)",
    ),
    "decision_changed": ("决定记录被改动", "a decision was changed"),
    "decision_removed": ("决定记录被删除", "a decision was deleted"),
    "head_mismatch": ("已公布的链头与链不符", "a published chain head does not match the chain"),
    "head_beyond": (
        "已公布的链头超出现有链（链被截断）",
        "a published chain head is past the chain's end (truncated)",
    ),
}


@dataclass(frozen=True)
class Break:
    what: str  # a key of WHAT
    chain: str
    seq: int | None = None  # the seal where it shows
    subject: str = ""  # "evidence_batches:17", "finding_events:4", …
    table: str = ""
    key: str = ""  # the row's key (trail/canonical.py), or a decision's id
    file: str = ""
    detail: str = ""  # the specifics: the field, the two values or hashes, where a head was published

    def __post_init__(self) -> None:
        if self.what not in WHAT:
            raise ValueError(f"unknown break {self.what!r}; known: {', '.join(WHAT)}")

    def text(self, language: str = "zh") -> str:
        zh, en = WHAT[self.what]
        parts = [zh if language == "zh" else en]
        where = [
            f"{self.chain} #{self.seq}" if self.seq is not None else self.chain,
            self.subject,
            f"{self.table} {self.key}".strip(),
            self.file,
        ]
        parts.append(" · ".join(p for p in where if p))
        if self.detail:
            parts.append(self.detail)
        return ": ".join(p for p in parts if p)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PublishedHead:
    """A chain head as published somewhere verify can read: a trail_heads row, a weekly report's manifest."""

    chain: str
    seq: int
    hash: str
    where: str  # "trail_heads 2026-11-16", "reports/2026-W47/manifest.json", …
