"""The words every part shares: severities and contract areas, their Chinese names and colours, and the
zh/en text helper. Emails, the report and the CLI take them from here, never from each other."""

from __future__ import annotations

SEVERITIES = ("info", "warning", "critical")
SEVERITY_ZH = {"info": "提示", "warning": "警告", "critical": "严重"}
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
SEVERITY_COLOUR = {"info": "#555555", "warning": "#b36b00", "critical": "#c0392b", "resolved": "#2e7d32"}

# The contract areas a check reports under; each is a package of ops_watch.areas.
AREAS = ("resources", "staffing", "continuity", "governance", "evidence", "money")
AREA_ZH = {
    "resources": "资源使用",
    "staffing": "人员与门禁",
    "continuity": "备份与演练",
    "governance": "管理资料",
    "evidence": "证据与送达",  # as the weekly report and the console title it
    "money": "经费与考核",
}


def text(language: str, zh: str, en: str) -> str:
    """The user's language: Chinese unless the site chose English."""
    return zh if language == "zh" else en


__all__ = ["AREAS", "AREA_ZH", "SEVERITIES", "SEVERITY_COLOUR", "SEVERITY_RANK", "SEVERITY_ZH", "text"]
