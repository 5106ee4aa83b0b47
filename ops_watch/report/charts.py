"""The weekly report's charts: PNG images for an HTML mail read at 600 px, with an alt text that says the
chart's message in words (shown when the reader's client blocks images).

Drawn on `matplotlib.figure.Figure` with the Agg canvas, never pyplot: the daemon is threaded and pyplot
keeps global state. Every text gets its font explicitly (no rcParams changes, which are global too).

Fonts: with a CJK font every label is drawn with it. Without one, a Chinese report's charts are labelled
in English rather than drawn as boxes, and the report says why (`CJK_FONT_MISSING_ZH`). Names from the
data (platforms, shifts, areas) that the font cannot draw are replaced by neutral ones ("Platform 2").

Size: 6 in wide at 200 dpi, i.e. a 1200 px image the HTML shows 600 px wide; no text under 9 pt.
The same inputs give the same PNG bytes (no software or date in the metadata).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import NullFormatter
from PIL import Image

from ops_watch.report.fonts import font_face_index
from ops_watch.report.model import Chart, Trend, Week

CJK_FONT_MISSING_ZH = "图表未找到中文字体，标签以英文显示：请安装 fonts-noto-cjk（见 docs/report-fonts.md）"
CJK_FONT_MISSING_EN = (
    "No Chinese font was found for the charts, so their labels are in English: "
    "install fonts-noto-cjk (see docs/report-fonts.md)"
)

WIDTH_IN = 6.0
DPI = 200
TEXT_PT = 9.0  # the smallest text: 12.5 px on screen once the image is shown at half its size
TITLE_PT = 10.0
_HOURS = 7 * 24
_WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Not strftime("%b"): that follows the process locale, and the bytes must not.
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Colour-blind-safe lines (Okabe-Ito, then Tableau): beyond them the colours repeat with another dash.
_LINE_COLOURS = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#000000",
    "#8C564B",
    "#7F7F7F",
    "#BCBD22",
)
_LINE_STYLES = ("-", "--", ":", "-.")
# An area keeps its colour from chart to chart and week to week; red is left out (it reads as "bad").
_AREA_COLOURS = {
    "resources": "#0072B2",
    "staffing": "#E69F00",
    "continuity": "#009E73",
    "governance": "#CC79A7",
    "evidence": "#56B4E9",
}
_OTHER_AREA_COLOURS = ("#8C564B", "#7F7F7F", "#BCBD22", "#000000", "#17BECF")
_AREA_EN = {
    "resources": "Resources",
    "staffing": "Staffing",
    "continuity": "Continuity",
    "governance": "Governance",
    "evidence": "Evidence",
}
_GRID = "#DDDDDD"
_ISO_WEEK = re.compile(r"^\s*\d{4}-?W(\d{1,2})\s*$", re.IGNORECASE)


def missing_font_note(language: str, font: Path | None) -> str:
    """The note the report shows when its Chinese charts had to be labelled in English; "" otherwise."""
    return CJK_FONT_MISSING_ZH if language == "zh" and font is None else ""


# --- utilization --------------------------------------------------------------------------------------


def utilization_chart(
    series: Mapping[str, Sequence[tuple[datetime, float | None, float | None]]],
    week: Week,
    language: str,
    font: Path | None,
) -> Chart | None:
    """Hourly mean CPU % and memory % per platform over `week`, two panels, a line per platform.

    Times may be naive (taken as site-local) or aware; they are placed in `week.zone`. Hours without a
    value are gaps in the line. None when no platform has a value in the week."""
    hourly = {str(name): _hourly_means(points, week) for name, points in series.items()}
    hourly = {
        name: means for name, means in sorted(hourly.items()) if not all(map(math.isnan, means[0] + means[1]))
    }
    if not hourly:
        return None
    text = _lettering(language, font)
    names = {name: text.name(name, f"Platform {i}") for i, name in enumerate(hourly, 1)}
    legend_rows = math.ceil(len(hourly) / 4)
    fig = Figure(
        figsize=(WIDTH_IN, 4.2 + 0.25 * legend_rows), dpi=DPI, facecolor="white", layout="constrained"
    )
    cpu_ax, mem_ax = fig.subplots(2, 1)
    x = np.arange(_HOURS) + 0.5
    handles = []
    for i, (cpu, mem) in enumerate(hourly.values()):
        style = {"color": _LINE_COLOURS[i % 10], "linestyle": _LINE_STYLES[(i // 10) % 4], "linewidth": 1.0}
        for ax, values in ((cpu_ax, cpu), (mem_ax, mem)):
            y = np.array(values)
            (line,) = ax.plot(x, y, **style)
            # A lone hour between gaps draws no line: mark it so it is not lost.
            alone = _isolated(y)
            if alone.any():
                ax.plot(
                    x[alone], y[alone], marker="o", markersize=2.5, linestyle="none", color=style["color"]
                )
        handles.append(line)
    day_labels = [_day_label(d, text.zh, two_lines=True) for d in week.days]
    for ax, title in ((cpu_ax, "CPU"), (mem_ax, text.pick("内存", "Memory"))):
        ax.set_xlim(0, _HOURS)
        ax.set_ylim(0, 100)
        ax.set_yticks(
            [0, 25, 50, 75, 100], [f"{v}%" for v in (0, 25, 50, 75, 100)], fontproperties=text.font()
        )
        ax.set_xticks(range(0, _HOURS + 1, 24))  # day boundaries: grid lines, no labels
        ax.xaxis.set_major_formatter(NullFormatter())
        ax.set_xticks([24 * i + 12 for i in range(7)], day_labels, minor=True, fontproperties=text.font())
        ax.tick_params(axis="x", which="both", length=0)
        ax.grid(True, which="major", color=_GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        ax.set_title(title, loc="left", fontproperties=text.font(TITLE_PT))
        _plain_spines(ax)
    cpu_ax.tick_params(axis="x", which="minor", labelbottom=False)
    fig.legend(
        handles,
        list(names.values()),
        loc="outside lower center",
        ncol=min(len(handles), 4),
        prop=text.font(),
        frameon=False,
    )
    title = (
        f"各平台每小时平均利用率（{week.iso}）"
        if language == "zh"
        else f"Hourly mean utilization per platform ({week.iso})"
    )
    return Chart("utilization", title, _png(fig), _utilization_alt(hourly, week, language))


def _hourly_means(
    points: Sequence[tuple[datetime, float | None, float | None]], week: Week
) -> tuple[list[float], list[float]]:
    sums = [[0.0] * _HOURS, [0.0] * _HOURS]
    counts = [[0] * _HOURS, [0] * _HOURS]
    monday = week.monday
    for point in points:
        try:
            when, *values = point
        except (TypeError, ValueError):
            continue  # not a (time, cpu, memory) triple: nothing to place
        if not isinstance(when, datetime):
            continue
        local = when.astimezone(week.zone) if when.tzinfo is not None else when
        hour = (local.date() - monday).days * 24 + local.hour
        if not 0 <= hour < _HOURS:
            continue
        for k, value in enumerate(values[:2]):
            number = _number(value)
            if number is not None:
                sums[k][hour] += number
                counts[k][hour] += 1
    cpu, mem = ([s / c if c else math.nan for s, c in zip(sums[k], counts[k], strict=True)] for k in (0, 1))
    return cpu, mem


def _isolated(y: np.ndarray) -> np.ndarray:
    present = ~np.isnan(y)
    before = np.concatenate(([False], present[:-1]))
    after = np.concatenate((present[1:], [False]))
    return present & ~before & ~after


def _utilization_alt(hourly: dict[str, tuple[list[float], list[float]]], week: Week, language: str) -> str:
    zh = language == "zh"
    parts = []
    for k, metric in enumerate(("CPU", "内存" if zh else "memory")):
        stats = []
        for name, means in hourly.items():
            values = [v for v in means[k] if not math.isnan(v)]
            if values:
                peak_hour = max(
                    range(_HOURS), key=lambda h, m=means[k]: -math.inf if math.isnan(m[h]) else m[h]
                )
                stats.append((sum(values) / len(values), name, means[k][peak_hour], peak_hour))
        if not stats:
            parts.append(f"{metric}：无数据" if zh else f"{metric}: no data")
            continue
        mean, name, peak, hour = max(stats)
        when = f"{_day_label(week.days[hour // 24], zh)} {hour % 24:02d}:00"
        low_mean, low_name = min(stats)[:2]
        if zh:
            text = f"{metric}：平均最高的是 {name}（{_pct(mean)}，峰值 {_pct(peak)}，{when}）"
            if len(stats) > 1:
                text += f"，最低的是 {low_name}（{_pct(low_mean)}）"
        else:
            text = f"{metric}: highest mean {name} ({_pct(mean)}, peak {_pct(peak)} on {when})"
            if len(stats) > 1:
                text += f", lowest {low_name} ({_pct(low_mean)})"
        parts.append(text)
    if zh:
        return f"{week.iso} 各平台每小时平均利用率（{len(hourly)} 个平台）。" + "；".join(parts) + "。"
    return f"Hourly mean utilization of {len(hourly)} platforms in {week.iso}. " + "; ".join(parts) + "."


# --- shift coverage -----------------------------------------------------------------------------------

_UNDER, _AT, _ABOVE, _UNKNOWN = "under", "at", "above", "unknown"
# (face colour, text colour): each text colour keeps at least 4.5:1 contrast on its face.
_COVERAGE_COLOURS = {
    _UNDER: ("#B2182B", "white"),
    _AT: ("#B8E186", "black"),
    _ABOVE: ("#1B7837", "white"),
    _UNKNOWN: ("#E6E6E6", "black"),
}
_COVERAGE_WORDS = {
    _UNDER: ("低于最低人数", "Below the minimum"),
    _AT: ("恰好达到最低人数", "At the minimum"),
    _ABOVE: ("高于最低人数", "Above the minimum"),
    _UNKNOWN: ("无要求或无证据", "No requirement or no evidence"),
}
_UNKNOWN_HATCH = "///"
_HATCH_GREY = "#A0A0A0"


def coverage_heatmap(
    days: Sequence[date],
    shifts: Sequence[str],
    evidenced: Mapping[tuple[date, str], int | None],
    required: Mapping[tuple[date, str], int | None],
    language: str,
    font: Path | None,
) -> Chart | None:
    """Shifts (rows) by days (columns), each cell "evidenced/required" on a colour that says whether the
    minimum was met; hatched grey with "—" where there is no requirement or no evidence."""
    if not days or not shifts:
        return None
    text = _lettering(language, font)
    dash = "—" if text.fits("—") else "-"
    shift_names = [text.name(str(s), f"Shift {i}") for i, s in enumerate(shifts, 1)]
    cells = {
        (day, shift): (_count(evidenced.get((day, shift))), _count(required.get((day, shift))))
        for day in days
        for shift in shifts
    }
    fig = Figure(
        figsize=(WIDTH_IN, 1.5 + 0.42 * len(shifts)), dpi=DPI, facecolor="white", layout="constrained"
    )
    ax = fig.add_subplot()
    for row, shift in enumerate(shifts):
        for col, day in enumerate(days):
            got, need = cells[day, shift]
            kind = _coverage_kind(got, need)
            face, ink = _COVERAGE_COLOURS[kind]
            hatched = kind == _UNKNOWN
            ax.add_patch(
                Rectangle(
                    (col, row),
                    1,
                    1,
                    facecolor=face,
                    edgecolor=_HATCH_GREY if hatched else face,
                    hatch=_UNKNOWN_HATCH if hatched else None,
                    linewidth=0,
                )
            )
            ax.add_patch(Rectangle((col, row), 1, 1, fill=False, edgecolor="white", linewidth=2))
            label = f"{dash if got is None else got}/{dash if need is None else need}"
            ax.text(
                col + 0.5,
                row + 0.5,
                label,
                ha="center",
                va="center",
                color=ink,
                fontproperties=text.font(),
                # the hatch must not cross the numbers
                bbox={"facecolor": face, "edgecolor": "none", "pad": 1.5} if hatched else None,
            )
    ax.set_xlim(0, len(days))
    ax.set_ylim(len(shifts), 0)  # first shift on top
    ax.xaxis.tick_top()
    ax.set_xticks(
        [c + 0.5 for c in range(len(days))],
        [_day_label(d, text.zh, two_lines=True) for d in days],
        fontproperties=text.font(),
    )
    ax.set_yticks([r + 0.5 for r in range(len(shifts))], shift_names, fontproperties=text.font())
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    handles = [
        Patch(
            facecolor=_COVERAGE_COLOURS[kind][0],
            edgecolor=_HATCH_GREY if kind == _UNKNOWN else _COVERAGE_COLOURS[kind][0],
            hatch=_UNKNOWN_HATCH if kind == _UNKNOWN else None,
            label=text.pick(*_COVERAGE_WORDS[kind]),
        )
        for kind in (_UNDER, _AT, _ABOVE, _UNKNOWN)
    ]
    legend = fig.legend(
        handles=handles,
        loc="outside lower center",
        ncol=2,
        prop=text.font(),
        frameon=False,
        title=text.pick("格内：到岗人数/最低人数", "In each cell: people evidenced/required"),
    )
    legend.get_title().set_fontproperties(text.font())
    title = "班次到位（到岗/最低人数）" if language == "zh" else "Shift coverage (evidenced/required)"
    return Chart("coverage", title, _png(fig), _coverage_alt(days, shifts, cells, language))


def _coverage_kind(got: int | None, need: int | None) -> str:
    if got is None or not need:
        return _UNKNOWN
    if got < need:
        return _UNDER
    return _AT if got == need else _ABOVE


def _coverage_alt(
    days: Sequence[date],
    shifts: Sequence[str],
    cells: dict[tuple[date, str], tuple[int | None, int | None]],
    language: str,
) -> str:
    zh = language == "zh"
    under = []
    met = unknown = 0
    for day in days:
        for shift in shifts:
            got, need = cells[day, shift]
            kind = _coverage_kind(got, need)
            if kind == _UNDER:
                where = f"{_day_label(day, zh)} {shift}"
                under.append(f"{where} {got}/{need}")
            elif kind == _UNKNOWN:
                unknown += 1
            else:
                met += 1
    total = len(days) * len(shifts)
    shown, more = under[:8], len(under) - 8
    if zh:
        text = f"班次到位（到岗/最低人数），共 {total} 个班次："
        if under:
            text += f"{len(under)} 个低于最低人数（{'、'.join(shown)}{f' 等，另有 {more} 个' if more > 0 else ''}）；"
        else:
            text += "没有低于最低人数的班次；"
        text += f"{met} 个达到或高于最低人数；{unknown} 个无要求或无证据。"
        return text
    text = f"Shift coverage (evidenced/required), {total} shifts: "
    if under:
        text += (
            f"{len(under)} below the minimum ({', '.join(shown)}{f' and {more} more' if more > 0 else ''}); "
        )
    else:
        text += "none below the minimum; "
    text += f"{met} at or above the minimum; {unknown} without a requirement or evidence."
    return text


# --- findings trend -----------------------------------------------------------------------------------


def findings_trend_chart(trend: Trend, language: str, font: Path | None) -> Chart | None:
    """Findings opened (solid) and resolved (hatched) per week, stacked by area in the area's colour.

    Weeks without any finding still draw (the chart then says "no findings"); None only without weeks."""
    if not trend.weeks:
        return None
    text = _lettering(language, font)
    n = len(trend.weeks)
    weeks = [_week_label(w) for w in trend.weeks]
    areas = list(dict.fromkeys(trend.areas))
    opened = {a: _counts(trend.opened.get(a), n) for a in areas}
    resolved = {a: _counts(trend.resolved.get(a), n) for a in areas}
    colours = _area_colours(areas)
    titles = {a: _area_title(a, trend.area_titles, text) for a in areas}
    empty = not any(any(opened[a]) or any(resolved[a]) for a in areas)
    legend_rows = 0 if empty else math.ceil((len(areas) + 2) / 4)  # nothing drawn: no legend to read
    fig = Figure(
        figsize=(WIDTH_IN, (2.0 if empty else 3.0) + 0.25 * legend_rows),
        dpi=DPI,
        facecolor="white",
        layout="constrained",
    )
    ax = fig.add_subplot()
    x = np.arange(n, dtype=float)
    width = 0.38
    opened_total = np.zeros(n)
    resolved_total = np.zeros(n)
    for area in areas:
        for counts, bottom, offset, hatched in (
            (opened[area], opened_total, -width / 2, False),
            (resolved[area], resolved_total, width / 2, True),
        ):
            heights = np.array(counts, dtype=float)
            drawn = heights > 0  # a zero-height bar would still draw its edge as a stray line
            if drawn.any():
                ax.bar(
                    x[drawn] + offset,
                    heights[drawn],
                    width,
                    bottom=bottom[drawn],
                    facecolor="white" if hatched else colours[area],
                    edgecolor=colours[area] if hatched else "white",
                    hatch="////" if hatched else None,
                    linewidth=0.8 if hatched else 0.5,
                )
            bottom += heights
    top = max(opened_total.max(), resolved_total.max())
    if empty:
        ax.set_ylim(0, 1)
        ax.set_yticks([0], ["0"], fontproperties=text.font())
        ax.text(
            0.5,
            0.55,
            text.pick("这几周没有新增或解决的问题", "No findings opened or resolved in these weeks"),
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="#444444",
            fontproperties=text.font(TITLE_PT),
        )
    else:
        ticks = _integer_ticks(top)
        ax.set_ylim(0, ticks[-1] * 1.08)
        ax.set_yticks(ticks, [f"{t:,}" for t in ticks], fontproperties=text.font())
        if n <= 12:  # beyond that the bars get too narrow for their totals
            for i in range(n):
                for total, offset in ((opened_total[i], -width / 2), (resolved_total[i], width / 2)):
                    if total > 0:
                        ax.text(
                            x[i] + offset,
                            total,
                            f"{int(total):,}",
                            ha="center",
                            va="bottom",
                            fontproperties=text.font(),
                        )
    step = max(1, math.ceil(n / 13))  # at most ~13 week labels fit across 6 in at 9 pt
    ax.set_xticks(x[::step], weeks[::step], fontproperties=text.font())
    ax.set_xlim(-0.6, n - 0.4)
    ax.tick_params(axis="x", length=0)
    ax.set_ylabel(text.pick("问题数", "Findings"), fontproperties=text.font())
    ax.grid(True, axis="y", color=_GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    _plain_spines(ax)
    handles = [Patch(facecolor=colours[a], edgecolor="white", label=titles[a]) for a in areas]
    handles += [
        Patch(facecolor="#666666", edgecolor="white", label=text.pick("新增（实心）", "Opened (solid)")),
        Patch(
            facecolor="white",
            edgecolor="#666666",
            hatch="////",
            label=text.pick("已解决（斜线）", "Resolved (hatched)"),
        ),
    ]
    if not empty:
        fig.legend(handles=handles, loc="outside lower center", ncol=4, prop=text.font(), frameon=False)
    title = (
        f"近 {n} 周问题新增与解决" if language == "zh" else f"Findings opened and resolved, last {n} weeks"
    )
    return Chart("findings_trend", title, _png(fig), _trend_alt(trend, weeks, opened, resolved, language))


def _trend_alt(
    trend: Trend,
    weeks: list[str],
    opened: dict[str, list[int]],
    resolved: dict[str, list[int]],
    language: str,
) -> str:
    zh = language == "zh"
    n = len(weeks)
    span = weeks[0] if n == 1 else f"{weeks[0]}–{weeks[-1]}"
    total_opened = sum(sum(v) for v in opened.values())
    total_resolved = sum(sum(v) for v in resolved.values())
    if total_opened == 0 and total_resolved == 0:
        return (
            f"{span}（{n} 周）没有新增或解决的问题。"
            if zh
            else f"No findings opened or resolved in {span} ({n} weeks)."
        )
    last_opened = sum(v[-1] for v in opened.values())
    last_resolved = sum(v[-1] for v in resolved.values())
    most = max(opened, key=lambda a: sum(opened[a]), default=None)

    def title(area: str) -> str:
        return (
            trend.area_titles.get(area, area)
            if zh
            else trend.area_titles.get(area) or _AREA_EN.get(area, area)
        )

    if zh:
        text = (
            f"{span}（{n} 周）共新增问题 {total_opened:,} 个，解决 {total_resolved:,} 个；"
            f"最近一周（{weeks[-1]}）新增 {last_opened:,} 个、解决 {last_resolved:,} 个。"
        )
        if most is not None and sum(opened[most]) > 0:
            text += f"新增最多的领域：{title(most)}（{sum(opened[most]):,} 个）。"
        return text
    text = (
        f"{span} ({n} weeks): {total_opened:,} findings opened, {total_resolved:,} resolved; "
        f"last week ({weeks[-1]}): {last_opened:,} opened, {last_resolved:,} resolved."
    )
    if most is not None and sum(opened[most]) > 0:
        text += f" Most opened: {title(most)} ({sum(opened[most]):,})."
    return text


def _week_label(week: str) -> str:
    m = _ISO_WEEK.match(str(week))
    return f"W{int(m.group(1)):02d}" if m else str(week)


def _counts(values: Sequence[int] | None, n: int) -> list[int]:
    """`values` as n counts: missing weeks count 0, extra ones are dropped, bad values count 0."""
    counts = [_count(v) or 0 for v in list(values or [])[:n]]
    return counts + [0] * (n - len(counts))


def _area_colours(areas: list[str]) -> dict[str, str]:
    others = iter(_OTHER_AREA_COLOURS * (1 + len(areas) // len(_OTHER_AREA_COLOURS)))
    return {a: _AREA_COLOURS.get(a) or next(others) for a in areas}


def _area_title(area: str, titles: Mapping[str, str], text: _Lettering) -> str:
    title = titles.get(area, "")
    if title and text.fits(title):
        return title
    return _AREA_EN.get(area) or text.name(area, "Area")


def _integer_ticks(top: float) -> list[int]:
    """0 up to at least `top` in at most 6 round steps (1, 2, 5, 10, 20, 50, ...)."""
    step = 1
    while math.ceil(top / step) > 5:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2
    return list(range(0, step * math.ceil(top / step) + 1, step))


# --- shared -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Lettering:
    """How a chart writes: in Chinese or English, and with which font file (a collection face included)."""

    zh: bool
    file: str

    def font(self, size: float = TEXT_PT) -> FontProperties:
        return FontProperties(fname=self.file, size=size)

    def pick(self, zh: str, en: str) -> str:
        return zh if self.zh else en

    def fits(self, text: str) -> bool:
        charset = _charset(str(self.file), getattr(self.file, "face_index", 0)) or frozenset()
        return all(ord(ch) in charset for ch in text if not ch.isspace())

    def name(self, text: str, fallback: str) -> str:
        """`text`, or `fallback` when the font cannot draw it (a Chinese name without a Chinese font)."""
        return text if text.strip() and self.fits(text) else fallback


def _lettering(language: str, font: Path | None) -> _Lettering:
    path = str(font) if font is not None else ""
    index = font_face_index(Path(path)) if path else 0
    if not path or _charset(path, index) is None:
        # No font, or one that cannot be read (it would fail the drawing): matplotlib's bundled DejaVu Sans,
        # named by file so that no rcParams or system font can change the bytes, and English labels.
        return _Lettering(False, str(Path(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")))
    font_path = getattr(font_manager, "FontPath", None)  # matplotlib >= 3.11 draws with a collection's face
    file = font_path(path, index) if index and font_path is not None else path
    return _Lettering(language == "zh", file)


@lru_cache(maxsize=8)
def _charset(path: str, face_index: int) -> frozenset[int] | None:
    """The characters the face has glyphs for; None when the file is not a readable font."""
    from matplotlib.ft2font import FT2Font

    try:
        face = FT2Font(path, face_index=face_index) if face_index else FT2Font(path)
        return frozenset(face.get_charmap())
    except (OSError, RuntimeError, TypeError, ValueError):
        return None


def _day_label(day: date, zh: bool, two_lines: bool = False) -> str:
    sep = "\n" if two_lines else " "
    if zh:
        return f"{_WEEKDAYS_ZH[day.weekday()]}{sep}{day.month}月{day.day}日"
    return f"{_WEEKDAYS_EN[day.weekday()]}{sep}{day.day} {_MONTHS_EN[day.month - 1]}"


def _plain_spines(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#999999")


def _pct(value: float) -> str:
    return f"{value:,.1f}%"


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _count(value: object) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def _png(fig: Figure) -> bytes:
    """The figure as PNG bytes: drawn once at its own size (constrained layout already fits every label,
    so there is no tight-bbox second pass and the image is exactly 1200 px wide), then stored as a
    256-colour palette image: a third of the size of RGBA and quicker to compress, with no visible loss
    on flat chart colours. Pillow writes no software, date or other metadata, so the bytes depend only on
    the drawing."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgb = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3])
    palette = rgb.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    # The quantizer averages colours, so the background comes out 254-grey: a faint box on a white mail.
    colours = palette.getpalette() or []
    for i in range(0, len(colours) - 2, 3):
        if min(colours[i : i + 3]) >= 250:
            colours[i : i + 3] = [255, 255, 255]
    palette.putpalette(colours)
    out = BytesIO()
    palette.save(out, format="png", compress_level=6)
    return out.getvalue()
