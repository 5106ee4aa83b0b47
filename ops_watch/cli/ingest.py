"""`ops-watch ingest`: take evidence files in by hand, ingest the drop folder once, or explain a file."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from ops_watch.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILURE,
    at_time,
    command,
    fail,
    format_option,
    output_language,
    runtime,
    say,
    show,
)
from ops_watch.core.timeutil import format_local
from ops_watch.formats import KINDS
from ops_watch.formats.spec import shown
from ops_watch.ingest import (
    Explanation,
    IngestError,
    IngestResult,
    explain_file,
    header_text,
    ingest_drop_folder,
    ingest_file,
)

RESULT_COLUMNS = ["file", "kind", "status", "total", "ok", "bad", "duplicate", "reason", "report"]


@command
@click.command("ingest")
@click.argument("kind", required=False)
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--drop",
    is_flag=True,
    help="像导入任务一样读取一次投递目录（不评估），并显示结果 / Ingest the drop folder once, as the ingest job does (no evaluation), and print.",
)
@click.option(
    "--at",
    "at_text",
    help="与 --drop 同用：文件到达不晚于此时间（站点时间，除非带时区） / With --drop: the files came in no later than this time (site time unless it has a zone).",
)
@click.option(
    "--explain",
    "explain",
    type=click.Path(path_type=Path),
    help="显示导入会如何解读此文件（证据类型、表头、前几行）；不保存、不移动 / Show what the ingest would make of this file (kind, header, first rows); store and move nothing.",
)
@click.option(
    "--kind",
    "kind_option",
    help="与 --explain 同用：按此证据类型读取 / With --explain: read the file as this kind.",
)
@click.option(
    "--rows",
    "sample",
    type=click.IntRange(0),
    default=5,
    show_default=True,
    help="与 --explain 同用：显示的行数 / With --explain: rows shown.",
)
@format_option
@click.pass_context
def ingest_cmd(
    ctx: click.Context,
    kind: str | None,
    files: tuple[Path, ...],
    drop: bool,
    at_text: str | None,
    explain: Path | None,
    kind_option: str | None,
    sample: int,
    fmt: str,
) -> None:
    """手工导入证据文件 / Ingest evidence files of KIND by hand (they are not moved) and print the counts.

    \b
    ops-watch ingest KIND FILE...          these files, as KIND
    ops-watch ingest --drop                every settled file of the drop folder, once
    ops-watch ingest --explain FILE [--kind K] [--rows N]
                                           what the ingest would make of FILE; exit 1 if it would refuse it
    """
    modes = sum((bool(kind or files), drop, explain is not None))
    if modes != 1:
        fail("give KIND FILE..., --drop or --explain FILE (one of them)", EXIT_CONFIG)
    if kind_option is not None and explain is None:
        fail("--kind goes with --explain (by hand, KIND is the first argument)", EXIT_CONFIG)
    if at_text is not None and not drop:
        fail("--at goes with --drop", EXIT_CONFIG)
    if explain is not None:
        _explain(ctx, explain, kind_option, sample, fmt)
    elif drop:
        _drop(ctx, at_text, fmt)
    else:
        assert kind is not None
        if not files:
            fail("give the files to ingest after KIND", EXIT_CONFIG)
        _by_hand(ctx, kind, files, fmt)


def _result_row(r: IngestResult) -> dict[str, Any]:
    return {
        "file": str(r.path),
        "kind": r.kind,
        "status": r.status,
        "total": r.rows_total,
        "ok": r.rows_ok,
        "bad": r.rows_bad,
        "duplicate": r.rows_duplicate,
        "reason": r.reason,
        "report": str(r.report_path) if r.report_path else "",
    }


def _by_hand(ctx: click.Context, kind: str, files: tuple[Path, ...], fmt: str) -> None:
    if kind not in KINDS:
        fail(f"unknown evidence kind {kind!r} (known: {', '.join(sorted(KINDS))})", EXIT_CONFIG)
    with runtime(ctx) as rt:
        rows, errors = [], []
        for path in files:
            if not path.is_file():
                rows.append({"file": str(path), "kind": kind, "status": "rejected", "reason": "no such file"})
                continue
            try:
                r = ingest_file(rt.store, rt.config, kind, path, move=False, contract=rt.rules.contract)
            except IngestError as exc:
                rows.append({"file": str(path), "kind": kind, "status": "rejected", "reason": str(exc)})
                continue
            rows.append(_result_row(r))
            errors += [f"{path}: row {e.row}: {e.column}: {e.value!r}: {e.reason}" for e in r.errors[:20]]
        show(rows, RESULT_COLUMNS, fmt)
        for line in errors:
            click.echo(line, err=True)
        if any(r["status"] == "rejected" for r in rows):
            sys.exit(EXIT_FAILURE)


def _drop(ctx: click.Context, at_text: str | None, fmt: str) -> None:
    with runtime(ctx) as rt:
        at = at_time(at_text, rt.config) if at_text else None
        results = ingest_drop_folder(rt.store, rt.config, at, rt.rules.contract)
        if not results and fmt == "table":
            say(f"{rt.config.drop_dir}：没有待处理的文件", f"{rt.config.drop_dir}: no file waiting")
            return
        show([_result_row(r) for r in results], RESULT_COLUMNS, fmt)
        if any(r.status == "rejected" for r in results):
            sys.exit(EXIT_FAILURE)


# --- --explain ---------------------------------------------------------------------------------------


def _explain(ctx: click.Context, path: Path, kind: str | None, sample: int, fmt: str) -> None:
    if kind is not None and kind not in KINDS:
        fail(f"unknown evidence kind {kind!r} (known: {', '.join(sorted(KINDS))})", EXIT_CONFIG)
    if not path.is_file():
        fail(f"{path}: no such file", EXIT_FAILURE)
    with runtime(ctx) as rt:
        out = explain_file(rt.config, path, kind, sample=sample, contract=rt.rules.contract)
        language, zone = output_language(), rt.config.site.zone
        if fmt == "json":
            click.echo(json.dumps(_as_data(out, language, zone), ensure_ascii=False, indent=2, default=str))
        elif fmt in ("csv", "xlsx"):
            show(
                _as_lines(out, language, zone), ["section", "row", "column", "field", "value", "reason"], fmt
            )
        else:
            click.echo(_as_text(out, language, zone))
    if out.verdict == "rejected":
        sys.exit(EXIT_FAILURE)


def _parsed(out: Explanation, record: Any, zone: ZoneInfo) -> dict[str, str]:
    """A row as ops-watch read it: each field it filled, as the store will keep it (times in site time)."""
    kind = KINDS.get(out.kind or "")
    if kind is None or record is None:
        return {}
    values: dict[str, str] = {}
    for name, value in kind.to_row(record).items():
        if name in ("batch_id", "updated_at") or value in (None, "", [], {}):
            continue
        if isinstance(value, datetime):
            values[name] = format_local(value, zone) if value.tzinfo else value.isoformat(sep=" ")
        elif isinstance(value, (list, dict)):
            values[name] = json.dumps(value, ensure_ascii=False, default=str)
        else:
            values[name] = str(value)
    return values


def _shown_parsed(values: dict[str, str], limit: int = 200) -> str:
    text = ", ".join(f"{k}={v}" for k, v in values.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _as_data(out: Explanation, language: str, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "file": str(out.path),
        "kind": out.kind,
        "kind_chosen_by": out.why_kind.text(language),
        "document": out.document,
        "verdict": out.verdict,
        "read_as": out.read_as,
        "header_row": out.header_row,
        "header": [
            {"column": c.label, "field": c.column or None, "how": header_text(c, language)}
            for c in out.header
        ],
        "missing": [{"field": f.column, "reason": f.problem.text(language)} for f in out.missing],
        "refusal": [f.problem.text(language) for f in out.refusal],
        "rows_total": out.rows_total,
        "rows_ok": out.rows_ok,
        "rows_bad": out.rows_bad,
        "rows": [
            {
                "row": r.number,
                "ok": r.record is not None,
                "parsed": _parsed(out, r.record, zone),
                "faults": [
                    {"column": f.label or f.column, "value": f.value, "reason": f.problem.text(language)}
                    for f in r.faults
                ],
            }
            for r in out.rows
        ],
    }


def _as_lines(out: Explanation, language: str, zone: ZoneInfo) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = [
        {"section": "kind", "field": out.kind or "", "reason": out.why_kind.text(language)},
        {"section": "verdict", "value": out.verdict},
    ]
    lines += [
        {
            "section": "header",
            "row": out.header_row,
            "column": c.label,
            "field": c.column,
            "reason": header_text(c, language),
        }
        for c in out.header
    ]
    lines += [
        {"section": "missing", "field": f.column, "reason": f.problem.text(language)} for f in out.missing
    ]
    lines += [
        {"section": "refusal", "reason": f.problem.text(language)}
        for f in out.refusal
        if f not in out.missing
    ]
    for r in out.rows:
        if r.record is not None:
            parsed = _shown_parsed(_parsed(out, r.record, zone), 1000)
            lines.append({"section": "row", "row": r.number, "value": "ok", "reason": parsed})
        lines += [
            {
                "section": "row",
                "row": r.number,
                "column": f.label,
                "field": f.column,
                "value": f.value,
                "reason": f.problem.text(language),
            }
            for f in r.faults
        ]
    return lines


def _as_text(out: Explanation, language: str, zone: ZoneInfo) -> str:
    zh = language == "zh"
    words = {
        "accepted": ("会被接收", "would be accepted"),
        "partial": ("会被部分接收（有错误行）", "would be accepted in part (some rows are bad)"),
        "rejected": ("会被拒收", "would be refused"),
    }
    lines = [f"{'文件' if zh else 'file'}: {out.path}"]
    if out.kind is None:
        lines.append(f"{'证据类型' if zh else 'kind'}: ? ({out.why_kind.text(language)})")
    else:
        kind = KINDS.get(out.kind)
        title = (kind.title_zh if zh else kind.title_en) if kind is not None else ""
        lines.append(f"{'证据类型' if zh else 'kind'}: {out.kind} {title} ({out.why_kind.text(language)})")
    if out.document:
        lines.append(
            "文档类证据：整个文件作为一份证据，不按列读取"
            if zh
            else "a document kind: the file is taken whole, not read by columns"
        )
    if out.read_as:
        lines.append(
            f"{'读取方式' if zh else 'read as'}: " + ", ".join(f"{k}={v}" for k, v in out.read_as.items())
        )
    if out.header:
        lines.append(f"{'表头（第' if zh else 'header (row '}{out.header_row}{'行）' if zh else ')'}:")
        lines += [f"  {c.label} {header_text(c, language)}" for c in out.header]
    if out.missing:
        lines.append("缺少的必需列：" if zh else "required columns missing:")
        lines += [f"  {f.column}: {f.problem.text(language)}" for f in out.missing]
    others = [f for f in out.refusal if f not in out.missing]
    if others:
        lines.append("拒收原因：" if zh else "refused because:")
        lines += [f"  {f.problem.text(language)}" + (f" [{f.value}]" if f.value else "") for f in others]
    if out.rows:
        lines.append(f"前 {len(out.rows)} 行：" if zh else f"first {len(out.rows)} rows:")
        for r in out.rows:
            if r.record is not None:
                parsed = _shown_parsed(_parsed(out, r.record, zone))
                lines.append(f"  {'第' if zh else 'row '}{r.number}{'行' if zh else ''}: ok  {parsed}")
            for f in r.faults:
                where = f.label or f.column or ("整行" if zh else "row")
                lines.append(
                    f"  {'第' if zh else 'row '}{r.number}{'行' if zh else ''}: {where} "
                    f"{shown(f.value, 60)!r}: {f.problem.text(language)}"
                )
    if out.rows_total:
        lines.append(
            f"共 {out.rows_total} 行：有效 {out.rows_ok}，错误 {out.rows_bad}"
            if zh
            else f"{out.rows_total} rows: {out.rows_ok} ok, {out.rows_bad} bad"
        )
    lines.append(f"{'结论' if zh else 'verdict'}: {words[out.verdict][0 if zh else 1]}")
    return "\n".join(lines)
