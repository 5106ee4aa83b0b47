"""The weekly report's evidence chain code (issue 22, "Chain heads"): both chains' heads as of the report's build,
printed as a short code in every format (the HTML and text bodies, a sheet of the workbook) and kept in the
archived manifest. A code seen in last week's report pins every record sealed before it: `ops-watch verify
--code` checks the store's chains against it. A store without seals gives no code and says so.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ops_watch.report.model import Column, Table, WeeklyReport
from ops_watch.trail import heads
from ops_watch.trail.chain import EVIDENCE

LABEL = "证据链校验码 / Evidence chain code"  # Chinese first in both languages: an auditor may read either
CHAIN_ZH = {EVIDENCE: "证据链", "decisions": "决定链"}


def check_command(code: str) -> str:
    return f'ops-watch verify --code "{code}"'


def add_trail(report: WeeklyReport, session: Session, at: datetime) -> None:
    """Both chains' heads as of `at` into the report: its code, the manifest's field and the workbook's sheet."""
    report.trail = heads.heads_at(session, at)
    report.trail_code = heads.code(report.trail)
    report.tables.append(trail_table(report))


def trail_table(report: WeeklyReport) -> Table:
    zh = report.language == "zh"
    columns = [
        Column("chain", "链" if zh else "chain"),
        Column("seq", "封印序号" if zh else "seal", "int"),
        Column("hash", "哈希" if zh else "hash", width=66),
        Column("code", "校验码" if zh else "code"),
    ]
    rows = [
        {
            "chain": f"{CHAIN_ZH[h.chain]} {h.chain}" if zh else h.chain,
            "seq": h.seq,
            "hash": h.hash,
            "code": heads.code([h]),
        }
        for h in report.trail
    ]
    if report.trail_code:
        title = f"{LABEL}：{report.trail_code}"
        note = ("核对方法：" if zh else "To check: ") + check_command(report.trail_code)
    else:
        title = LABEL
        note = "（尚无封印）" if zh else "(nothing sealed yet)"
    return Table(
        key="trail",
        title=title,
        sheet="证据链校验码" if zh else "Evidence chain code",
        columns=columns,
        rows=rows,
        note=note,
    )
