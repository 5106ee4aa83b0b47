"""The weekly report's charts, really drawn: PNG images 1200 px wide (shown at 600 px in the mail), the
same bytes for the same inputs, Chinese labels drawn with a CJK font (no missing-glyph boxes), English
labels when no CJK font exists, and no chart where there is nothing to draw.

The Chinese-font tests need a CJK font: scripts/install-test-deps.sh unpacks fonts-wqy-microhei under
.cache/tools/usr/share/fonts; without one they skip (and fail in CI).
"""

from __future__ import annotations

import io
import math
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import matplotlib
import pytest
from conftest import REPO, component_missing
from PIL import Image

from ops_watch.report import charts, fonts
from ops_watch.report.charts import (
    CJK_FONT_MISSING_EN,
    CJK_FONT_MISSING_ZH,
    coverage_heatmap,
    findings_trend_chart,
    missing_font_note,
    utilization_chart,
)
from ops_watch.report.fonts import clear_font_cache, find_cjk_font, font_face_index, has_cjk_glyphs
from ops_watch.report.model import Chart, Trend, Week

ZONE = ZoneInfo("Asia/Shanghai")
WEEK = Week(2026, 47, ZONE)
TEST_FONT_DIR = REPO / ".cache" / "tools" / "usr" / "share" / "fonts"
DEJAVU = Path(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")
AREAS = ["resources", "staffing", "continuity", "governance", "evidence"]
AREA_TITLES_ZH = {
    "resources": "资源",
    "staffing": "人员",
    "continuity": "连续性",
    "governance": "治理",
    "evidence": "证据",
}
SHIFTS_ZH = ["白班", "夜班", "值守"]


# --- inputs -------------------------------------------------------------------------------------------


def platform_series(platforms: int = 10) -> dict[str, list[tuple[datetime, float | None, float | None]]]:
    """A week of hourly samples (aware UTC, as the store gives them) per platform, some hours missing."""
    series = {}
    for p in range(platforms):
        points = []
        for hour in range(7 * 24):
            if p == 2 and 30 <= hour < 60:
                continue  # the collector was down: a gap
            cpu = 10 + 6 * p + 15 * math.sin(hour / 24 * 2 * math.pi)
            mem = None if p == 3 else 40 + 3 * p + 5 * math.cos(hour / 12 * math.pi)
            points.append((WEEK.start + timedelta(hours=hour), cpu, mem))
        series[f"警务云{p}" if p % 2 else f"platform-{p}"] = points
    return series


def coverage_inputs() -> tuple[dict, dict]:
    evidenced, required = {}, {}
    for i, day in enumerate(WEEK.days):
        for j, shift in enumerate(SHIFTS_ZH):
            required[day, shift] = None if (i, j) == (6, 2) else 3 - j
            evidenced[day, shift] = None if (i, j) == (4, 1) else (i + j) % 4
    return evidenced, required


def trend_input(zero: bool = False) -> Trend:
    weeks = [f"2026-W{n}" for n in range(40, 48)]
    opened = {a: [0 if zero else (i * 3 + k) % 5 for i in range(len(weeks))] for k, a in enumerate(AREAS)}
    resolved = {a: [0 if zero else (i + 2 * k) % 4 for i in range(len(weeks))] for k, a in enumerate(AREAS)}
    return Trend(weeks, AREAS, AREA_TITLES_ZH, opened, resolved)


def draw_all(language: str, font: Path | None) -> dict[str, Chart | None]:
    evidenced, required = coverage_inputs()
    return {
        "utilization": utilization_chart(platform_series(), WEEK, language, font),
        "coverage": coverage_heatmap(WEEK.days, SHIFTS_ZH, evidenced, required, language, font),
        "trend": findings_trend_chart(trend_input(), language, font),
    }


# --- checks -------------------------------------------------------------------------------------------


def decoded(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def assert_mail_image(chart: Chart | None) -> None:
    assert chart is not None
    image = decoded(chart.png)
    assert image.format == "PNG"
    assert 900 <= image.width <= 1300, image.size  # 6 in at 200 dpi, shown 600 px wide
    colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 2, "the image is blank"
    assert image.convert("RGB").getpixel((0, 0)) == (255, 255, 255)  # white background
    assert chart.title and chart.alt


def missing_glyphs(draw: Callable[[], object]) -> list[str]:
    """matplotlib's "Glyph N missing from font(s)" warnings (a box drawn instead of a character)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw()
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


@dataclass
class Drawn:
    charts: dict[str, Chart | None]
    missing: list[str]  # missing-glyph warnings while drawing them


def draw_recording(language: str, font: Path | None) -> Drawn:
    charts: dict[str, Chart | None] = {}
    missing = missing_glyphs(lambda: charts.update(draw_all(language, font)))
    return Drawn(charts, missing)


@pytest.fixture(scope="module")
def cjk_font() -> Path:
    font = find_cjk_font([TEST_FONT_DIR])
    if font is None:
        component_missing(
            f"no font with Chinese glyphs (looked in {TEST_FONT_DIR}, $OPS_WATCH_FONT_DIRS and the system fonts):"
            " run scripts/install-test-deps.sh (fonts-wqy-microhei) or install fonts-noto-cjk"
        )
    return font


# Each set is drawn once per module: drawing is the slow part.
@pytest.fixture(scope="module")
def english() -> Drawn:
    return draw_recording("en", None)


@pytest.fixture(scope="module")
def chinese_without_font() -> Drawn:
    return draw_recording("zh", None)


@pytest.fixture(scope="module")
def chinese(cjk_font: Path) -> Drawn:
    return draw_recording("zh", cjk_font)


# --- charts -------------------------------------------------------------------------------------------


def test_charts_decode_at_mail_width_without_a_cjk_font(english: Drawn, chinese_without_font: Drawn) -> None:
    for chart in [*english.charts.values(), *chinese_without_font.charts.values()]:
        assert_mail_image(chart)


def test_charts_decode_at_mail_width_with_a_cjk_font(chinese: Drawn) -> None:
    for chart in chinese.charts.values():
        assert_mail_image(chart)


def test_same_inputs_give_the_same_bytes(english: Drawn) -> None:
    again = draw_all("en", None)
    for name, chart in english.charts.items():
        assert chart.png == again[name].png, name
    # and the bytes do follow the data
    changed = trend_input()
    changed.opened["staffing"][-1] += 4
    assert findings_trend_chart(changed, "en", None).png != english.charts["trend"].png


def test_same_bytes_with_a_cjk_font(chinese: Drawn, cjk_font: Path) -> None:
    again = draw_all("zh", cjk_font)
    assert all(chart.png == again[name].png for name, chart in chinese.charts.items())


def test_threads_draw_the_same_bytes_as_one_thread() -> None:
    # The daemon draws from worker threads: figures must not share state (no pyplot, no rcParams).
    series = platform_series()
    expected = utilization_chart(series, WEEK, "en", None).png
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: utilization_chart(series, WEEK, "en", None).png, range(3)))
    assert results == [expected] * 3


def test_chinese_charts_draw_every_glyph_with_the_cjk_font(
    chinese: Drawn, chinese_without_font: Drawn
) -> None:
    assert chinese.missing == []
    for name, chart in chinese.charts.items():
        assert chart is not None
        assert chart.png != chinese_without_font.charts[name].png, (
            f"{name}: drawn in English despite the font"
        )
    assert chinese.charts["coverage"].title == "班次到位（到岗/最低人数）"


def test_the_glyph_check_sees_boxes() -> None:
    # Without this the test above could not fail: a font without CJK glyphs passed off as one gives boxes.
    evidenced, required = coverage_inputs()
    missing = missing_glyphs(
        lambda: coverage_heatmap(WEEK.days, SHIFTS_ZH, evidenced, required, "zh", DEJAVU)
    )
    assert missing and any("DejaVu" in m for m in missing)


def test_without_a_cjk_font_chinese_charts_are_labelled_in_english(
    chinese_without_font: Drawn, english: Drawn
) -> None:
    zh, en = chinese_without_font.charts, english.charts
    assert chinese_without_font.missing == []
    for name in zh:
        # the image is the English one (Chinese names from the data replaced by neutral ones) ...
        assert zh[name].png == en[name].png, name
        # ... while title and alt, shown as HTML text, stay in the report's language
        assert zh[name].title != en[name].title
    assert "周" in zh["coverage"].alt and "Shift coverage" in en["coverage"].alt
    assert missing_font_note("zh", None) == CJK_FONT_MISSING_ZH
    assert "fonts-noto-cjk" in CJK_FONT_MISSING_ZH and "fonts-noto-cjk" in CJK_FONT_MISSING_EN
    assert missing_font_note("zh", DEJAVU) == "" and missing_font_note("en", None) == ""


def test_an_unreadable_font_file_gives_english_labels(tmp_path: Path, english: Drawn) -> None:
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font at all")
    assert findings_trend_chart(trend_input(), "zh", broken).png == english.charts["trend"].png


def test_nothing_to_draw_gives_no_chart() -> None:
    assert utilization_chart({}, WEEK, "zh", None) is None
    no_values = {"a": [(WEEK.start + timedelta(hours=h), None, None) for h in range(48)]}
    assert utilization_chart(no_values, WEEK, "zh", None) is None
    last_week = {"a": [(WEEK.start - timedelta(hours=h + 1), 50.0, 50.0) for h in range(48)]}
    assert utilization_chart(last_week, WEEK, "zh", None) is None
    evidenced, required = coverage_inputs()
    assert coverage_heatmap(WEEK.days, [], evidenced, required, "zh", None) is None
    assert coverage_heatmap([], SHIFTS_ZH, evidenced, required, "zh", None) is None
    assert findings_trend_chart(Trend([], AREAS, AREA_TITLES_ZH, {}, {}), "zh", None) is None


def test_an_all_zero_trend_still_draws_and_says_so() -> None:
    for language, words in (("zh", "没有新增或解决的问题"), ("en", "No findings opened or resolved")):
        chart = findings_trend_chart(trend_input(zero=True), language, None)
        assert_mail_image(chart)
        assert words in chart.alt and "W40" in chart.alt and "W47" in chart.alt


def test_bad_values_do_not_break_a_chart() -> None:
    series = {"a": [(WEEK.start, "n/a", float("nan")), ("not a time", 1, 2), (WEEK.start, 40, 50)]}
    assert_mail_image(utilization_chart(series, WEEK, "en", None))
    trend = Trend(["2026-W46", "2026-W47"], ["resources", "odd"], {}, {"resources": [1]}, {"odd": [1, 2, 3]})
    assert_mail_image(findings_trend_chart(trend, "en", None))


# --- what the alt text says ---------------------------------------------------------------------------


def test_utilization_alt_names_the_busiest_platform(english: Drawn, chinese_without_font: Drawn) -> None:
    chart = english.charts["utilization"]
    # platform 9 has the highest CPU base (10 + 6*9), platform 0 the lowest
    assert "CPU: highest mean 警务云9" in chart.alt and "lowest platform-0" in chart.alt
    assert "10 platforms" in chart.alt and WEEK.iso in chart.alt
    zh = chinese_without_font.charts["utilization"]
    assert "CPU：平均最高的是 警务云9" in zh.alt


def test_coverage_alt_lists_the_shifts_under_the_minimum() -> None:
    day = WEEK.days[0]
    shifts = ["白班", "夜班"]
    evidenced = {(day, "白班"): 2, (day, "夜班"): 3}
    required = {(day, "白班"): 3, (day, "夜班"): 3}
    zh = coverage_heatmap([day], shifts, evidenced, required, "zh", None)
    assert "1 个低于最低人数" in zh.alt and "白班 2/3" in zh.alt and "1 个达到或高于最低人数" in zh.alt
    en = coverage_heatmap([day], shifts, evidenced, required, "en", None)
    assert "1 below the minimum" in en.alt and "Mon 16 Nov 白班 2/3" in en.alt
    # no evidence and no requirement are neither met nor missed
    unknown = coverage_heatmap([day], shifts, {(day, "白班"): None}, {(day, "夜班"): None}, "en", None)
    assert "none below the minimum" in unknown.alt and "2 without a requirement or evidence" in unknown.alt


def test_trend_alt_totals(english: Drawn) -> None:
    chart = english.charts["trend"]
    trend = trend_input()
    opened = sum(map(sum, trend.opened.values()))
    resolved = sum(map(sum, trend.resolved.values()))
    assert f"{opened:,} findings opened, {resolved:,} resolved" in chart.alt
    assert "W40–W47 (8 weeks)" in chart.alt


def test_hours_are_placed_in_the_site_zone_and_gaps_stay_gaps() -> None:
    monday_9_local = datetime(2026, 11, 16, 9)  # naive: already site-local
    points = [
        (monday_9_local, 10.0, None),
        (monday_9_local.replace(minute=30), 30.0, 70.0),
        (datetime(2026, 11, 16, 2, tzinfo=UTC), 50.0, 50.0),  # 10:00 in Shanghai
        (datetime(2026, 11, 15, 15, 59, tzinfo=UTC), 99.0, 99.0),  # Sunday 23:59 local: last week
    ]
    cpu, mem = charts._hourly_means(points, WEEK)
    assert cpu[9] == 20.0 and mem[9] == 70.0
    assert cpu[10] == 50.0
    assert math.isnan(cpu[11]) and math.isnan(cpu[0])  # no sample: a gap, not 0
    assert sum(not math.isnan(v) for v in cpu) == 2


# --- finding the font ---------------------------------------------------------------------------------


@pytest.fixture
def fresh_font_search(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(fonts.ENV_FONT_DIRS, raising=False)
    clear_font_cache()
    yield
    clear_font_cache()


def test_a_font_named_chinese_without_the_glyphs_is_not_taken(tmp_path: Path, fresh_font_search) -> None:
    impostor = tmp_path / "NotoSansCJK-Regular.ttc"
    shutil.copy(DEJAVU, impostor)
    (tmp_path / "broken.ttf").write_bytes(b"not a font at all")
    assert not has_cjk_glyphs(impostor)
    assert find_cjk_font([tmp_path]) != impostor  # whatever the system has, never the impostor


def test_extra_dirs_come_first_then_the_env_dirs(
    cjk_font: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_font_search
) -> None:
    extra, env = tmp_path / "extra" / "nested", tmp_path / "env"
    extra.mkdir(parents=True)
    env.mkdir()
    shutil.copy(cjk_font, extra / cjk_font.name)
    shutil.copy(cjk_font, env / cjk_font.name)
    monkeypatch.setenv(fonts.ENV_FONT_DIRS, f"{tmp_path / 'missing'}{os.pathsep}{env}")
    assert find_cjk_font([tmp_path / "extra"]) == extra / cjk_font.name
    assert find_cjk_font() == env / cjk_font.name
    assert find_cjk_font([tmp_path / "nothing-here"]) == env / cjk_font.name
    assert has_cjk_glyphs(cjk_font)


def test_a_font_collection_works(cjk_font: Path) -> None:
    if cjk_font.suffix.lower() not in (".ttc", ".otc"):
        pytest.skip(f"the CJK font found is not a collection: {cjk_font}")
    index = font_face_index(cjk_font)
    from matplotlib.ft2font import FT2Font

    face = FT2Font(str(cjk_font), face_index=index) if index else FT2Font(str(cjk_font))
    assert all(face.get_char_index(ord(ch)) for ch in "班次到位率")
    assert missing_glyphs(lambda: findings_trend_chart(trend_input(), "zh", cjk_font)) == []


def test_drawing_never_imports_pyplot() -> None:
    code = (
        "import sys; from ops_watch.report import charts; from ops_watch.report.model import Trend;"
        "charts.findings_trend_chart(Trend(['2026-W47'], ['resources'], {}, {'resources': [1]}, {}), 'en', None);"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_day_labels_follow_the_dates_not_the_locale() -> None:
    assert charts._day_label(date(2026, 11, 16), zh=True) == "周一 11月16日"
    assert charts._day_label(date(2026, 11, 22), zh=False, two_lines=True) == "Sun\n22 Nov"
