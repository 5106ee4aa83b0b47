"""`ops-watch staffing`: shift by shift, the staffing rate, and the monthly attendance sheet."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from ops_watch.areas.staffing.attendance import (
    DETAIL_COLUMNS,
    SUMMARY_COLUMNS,
    attendance,
    attendance_workbook,
    detail_rows,
    exempt_roles,
    shifts_workbook,
    summary_rows,
)
from ops_watch.areas.staffing.presence import (
    SHIFT_COLUMNS,
    build_view,
    month_bounds,
    rate_rows,
    shift_rows,
    staffing_terms,
)
from ops_watch.areas.staffing.push_config import HTTP_HOSTS, SECRET_PLACEHOLDER, push_settings
from ops_watch.cli.common import (
    EXIT_CONFIG,
    at_time,
    command,
    config_problems,
    emit,
    fail,
    format_option,
    output_language,
    runtime,
    show,
)
from ops_watch.config import ConfigError, load_config
from ops_watch.core.when import parse_date
from ops_watch.runtime import Runtime


@command
@click.group("staffing")
def staffing_group() -> None:
    """现场人员：班次、门禁与到位率 / On-site staffing: shifts, door evidence and the staffing rate (人员到位率)."""


def _staffing_view(rt: Runtime, first: Any, last: Any, at: datetime) -> Any:
    if not staffing_terms(rt.rules.contract).shifts:
        fail("contract.toml has no [staffing] section: no shifts to show (docs/staffing.md)", EXIT_CONFIG)
    with rt.store.session() as session:
        return build_view(session, rt.rules.contract, rt.config.site.zone, at, first, last)


@staffing_group.command("shifts")
@click.option(
    "--from",
    "from_text",
    required=True,
    help="起始日（站点日期），如 2026-11-01 / First day (site date), e.g. 2026-11-01.",
)
@click.option("--to", "to_text", required=True, help="最后一天 / Last day.")
@click.option(
    "--at",
    "at_text",
    help="截至此时间（站点时间，除非带时区）；默认现在 / As of this time (site time unless it has a zone); default now.",
)
@format_option
@click.pass_context
def staffing_shifts(ctx: click.Context, from_text: str, to_text: str, at_text: str | None, fmt: str) -> None:
    """逐班次：应到、到岗、迟到、交接 / Shift by shift: required, on the sheet, evidenced on site, late, ghosts, handover verified."""

    try:
        first, last = parse_date(from_text), parse_date(to_text)
    except ValueError as exc:
        fail(f"--from/--to: {exc}", EXIT_CONFIG)
    if last < first:
        fail(f"--to {last} is before --from {first}", EXIT_CONFIG)
    with runtime(ctx) as rt:
        view = _staffing_view(rt, first, last, at_time(at_text, rt.config))
        if fmt == "xlsx":
            emit(shifts_workbook(view, rt.config.site.name, output_language()), binary=True)
            return
        rows = shift_rows(view, output_language())
        show(rows, SHIFT_COLUMNS if fmt == "table" else list(rows[0]) if rows else SHIFT_COLUMNS, fmt)


@staffing_group.command("attendance")
@click.option("--month", required=True, help="月份，如 2026-11 / The month, e.g. 2026-11.")
@click.option("--at", "at_text", help="截至此时间；默认现在 / As of this time; default now.")
@click.option(
    "--detail",
    is_flag=True,
    help="每人每天一行，而非月合计 / One row per person and day instead of the month's totals.",
)
@format_option
@click.pass_context
def staffing_attendance(ctx: click.Context, month: str, at_text: str | None, detail: bool, fmt: str) -> None:
    """考勤月报 / The monthly attendance sheet (考勤月报): each person's on-site hours, shifts, late/absent/unlisted marks.

    xlsx: the person × day grid, the legend, per-day totals and the detail (docs/staffing.md)."""

    try:
        first, last = month_bounds(month)
    except ValueError as exc:
        fail(f"--month: {exc}", EXIT_CONFIG)
    with runtime(ctx) as rt:
        view = _staffing_view(rt, first, last, at_time(at_text, rt.config))
        sheet = attendance(view, first, last, exempt_roles(rt.rules))
        language = output_language()
        if fmt == "xlsx":
            grace = view.terms.grace_minutes
            emit(attendance_workbook(sheet, rt.config.site.name, language, grace), binary=True)
            return
        rows, columns = (
            (detail_rows(sheet), DETAIL_COLUMNS) if detail else (summary_rows(sheet), SUMMARY_COLUMNS)
        )
        if fmt != "json":
            sep = "、" if language == "zh" else ", "
            rows = [{k: sep.join(v) if isinstance(v, list) else v for k, v in r.items()} for r in rows]
        show(rows, columns, fmt)


@staffing_group.command("rate")
@click.option("--month", required=True, help="月份，如 2026-11 / The month, e.g. 2026-11.")
@click.option(
    "--by",
    type=click.Choice(["month", "week", "day", "shift", "shift_name"]),
    default="week",
    show_default=True,
    help="按周、日、每个班次或班次名称分组；末行总为全月合计 / Group the rate by week, day, each shift, or shift name; the month's total is always the last row.",
)
@click.option(
    "--at",
    "at_text",
    help="截至此时间；默认现在（未结束的班次不计） / As of this time; default now (shifts not yet ended are not counted).",
)
@format_option
@click.pass_context
def staffing_rate(ctx: click.Context, month: str, by: str, at_text: str | None, fmt: str) -> None:
    """人员到位率 / The staffing rate: evidenced person-shifts ÷ contracted person-shifts (each shift capped at its minimum)."""

    try:
        first, last = month_bounds(month)
    except ValueError as exc:
        fail(f"--month: {exc}", EXIT_CONFIG)
    with runtime(ctx) as rt:
        view = _staffing_view(rt, first, last, at_time(at_text, rt.config))
        rows = rate_rows(view, by, month, output_language())
        zh = output_language() == "zh"
        if fmt == "table":
            for row in rows:
                row["rate"] = "-" if row["rate"] is None else f"{row['rate']:.1f}%"
        show(rows, ["period", "required", "evidenced", "rate"], fmt)
        if fmt == "table" and view.first_day > first:
            click.echo(
                ("（" + f"{view.first_day} 之前的班次不评判：contract.toml staffing.judge_from" + "）")
                if zh
                else f"(shifts before {view.first_day} are not judged: contract.toml staffing.judge_from)"
            )


@command
@click.group("doors")
def doors_group() -> None:
    """门禁设备：推送设置 / Door devices (门禁设备): the settings that make a device push its events (docs/doors.md)."""


@doors_group.command("push-config")
@click.argument("device_name", metavar="DEVICE")
@click.option(
    "--url",
    "base_url",
    default=None,
    help="设备访问控制台所用的地址 / The console's address as the device reaches it, e.g. https://ops.example:8443 "
    "[default: http(s)://<web.listen>].",
)
@click.option(
    "--show-secret",
    is_flag=True,
    help="在 URL 中写出推送密钥，而非 <push-secret> / Put the push secret in the URL instead of <push-secret>.",
)
@click.pass_context
def doors_push_config(ctx: click.Context, device_name: str, base_url: str | None, show_secret: bool) -> None:
    """输出门禁设备的推送设置 / Print the httpHosts settings for DEVICE to push its events to the console."""
    try:
        config = load_config(ctx.obj["config_path"], check_secrets=False)
    except ConfigError as exc:
        config_problems(exc)
    device = config.doors.device(device_name)
    if device is None or device.vendor != "hikvision":
        names = ", ".join(d.name for d in config.doors.devices if d.vendor == "hikvision") or "(none)"
        fail(f"no Hikvision device {device_name!r} in [[doors.devices]] (configured: {names})", EXIT_CONFIG)
    if not device.pushes:
        fail(
            f"device {device_name!r} does not push: set push_secret_file or push_secret_env in its "
            "[[doors.devices]] entry (docs/doors.md, Pushed events)",
            EXIT_CONFIG,
        )
    secret = SECRET_PLACEHOLDER
    if show_secret:
        try:
            secret = device.push_key(config.config_dir).get_secret_value()
        except ValueError as exc:
            fail(f"device {device_name!r}: the push secret cannot be read: {exc}", EXIT_CONFIG)
    if base_url is None:
        scheme = "https" if config.web.tls_cert else "http"
        base_url = f"{scheme}://{config.web.listen}"
    try:
        settings = push_settings(device, base_url, secret)
    except ValueError as exc:
        fail(f"--url: {exc}", EXIT_CONFIG)
    zh = config.language == "zh"
    target = device.url or "http://<device>"
    lines = [
        ("设备推送地址" if zh else "URL the device posts to") + f": {settings.url}",
        ("协议" if zh else "protocol")
        + f": {settings.protocol}  host: {settings.host}  port: {settings.port}",
        ("路径（设备的 url 字段）" if zh else "path (the device's url field)") + f": {settings.path}",
        (
            "参数格式 JSON，认证 none（密钥在路径中）"
            if zh
            else "parameter format JSON, authentication none (the secret is in the path)"
        ),
        "",
        (
            f"# 以 PUT 方式写入设备 {HTTP_HOSTS}（摘要认证）："
            if zh
            else f"# PUT this to the device's {HTTP_HOSTS} (digest authentication):"
        ),
        f"# curl --digest -u admin -X PUT -H 'Content-Type: application/xml' --data-binary @httphosts.xml {target}{HTTP_HOSTS}",
    ]
    if secret == SECRET_PLACEHOLDER:
        lines.append(
            "# 将 <push-secret> 替换为推送密钥，或加 --show-secret"
            if zh
            else "# replace <push-secret> with the push secret, or add --show-secret"
        )
    click.echo("\n".join(lines))
    click.echo(settings.xml, nl=False)
