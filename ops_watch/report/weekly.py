"""Build, archive and send the weekly report: the CLI and the daemon's weekly job both come here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ops_watch.config import Config
from ops_watch.core.log import get_logger
from ops_watch.core.timeutil import utcnow
from ops_watch.report.archive import HTML, TEXT, ReportFiles, write_archive
from ops_watch.report.gather import build_report
from ops_watch.report.model import Week, WeeklyReport
from ops_watch.report.render import render
from ops_watch.report.trail import add_trail
from ops_watch.store import Store
from ops_watch.trail.heads import manifest_field

log = get_logger(__name__)


def build(
    store: Store,
    config: Config,
    contract: Mapping[str, Any],
    week: Week,
    language: str,
    at: datetime | None = None,
) -> WeeklyReport:
    """The week's report, with the evidence chains' heads as of the week's end (or `at`, the build, if that is
    earlier): a week rebuilt later prints the same code, so the archived copy keeps pinning what it pinned."""
    with store.session() as session:
        report = build_report(session, config, contract, week, language)
        add_trail(report, session, min(at or utcnow(), week.end))
    return report


def files_of(report: WeeklyReport, config: Config) -> ReportFiles:
    """The report's files: bodies, charts, workbook. Nothing in them depends on when they were built but the
    evidence chain code, which is the store's as of the build."""

    charts = report.all_charts()
    cids = {c.key: f"{c.key}.{report.week.iso}@ops-watch" for c in charts}
    subject, text, html = render(report, cids, config.report.max_rows)
    zh = report.language == "zh"
    xlsx_name = f"{'运维合规周报' if zh else 'ops-watch-weekly'}-{report.week.iso}.xlsx"
    title = f"{'运维合规周报' if zh else 'Weekly compliance summary'} {report.week.iso}"
    # start-up time: openpyxl (and numpy under it) load only when a workbook is written, not with every command
    from ops_watch.report.xlsx import write_workbook

    # The week's end as the workbook's own time: the same store gives the same bytes.
    workbook = write_workbook(report.all_tables(), title, report.week.iso, report.language, report.week.end)
    files = {HTML: html.encode("utf-8"), TEXT: text.encode("utf-8"), xlsx_name: workbook}
    names = {}
    for c in charts:
        name = f"charts/{c.key}.png"
        files[name] = c.png
        names[name] = cids[c.key]
    trail = manifest_field(report.trail)
    return ReportFiles(
        report.week.iso, report.language, subject, files, names, xlsx_name, report.status, trail
    )


@dataclass(frozen=True)
class Built:
    report: WeeklyReport
    files: ReportFiles
    folder: Path


def build_and_archive(
    store: Store, config: Config, contract: Mapping[str, Any], week: Week, language: str | None = None
) -> Built:
    built_at = utcnow()
    report = build(store, config, contract, week, language or config.report_language, built_at)
    files = files_of(report, config)
    folder = write_archive(config.reports_dir, files, built_at)
    log.info("weekly report built", week=week.iso, folder=str(folder), status=report.status)
    return Built(report, files, folder)
