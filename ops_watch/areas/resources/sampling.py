"""How often a resource is sampled: stated by the inventory (采样间隔) or inferred from its own samples.

Coverage and every windowed statistic follow the resource's own interval, not the hour: a volume a console
samples every 6 hours has 4 samples a day, all of them present, and is judged; counted in hours it would look
5/6 missing and never be judged.

- Stated: the inventory's `sample_interval` column ("5m", "1h", "6h", "1d", 5分钟, 6小时, 每天 …).
- Inferred: from the resource's daily counts in the span a check reads — the median over its days with data
  of samples per sampled hour (12 → 5 minutes) and, for one sample an hour or fewer, of sampled hours per day
  (4 → 6 hours); a median, so a few missing or duplicate samples do not move it. Snapped to the usual
  intervals (LADDER).
- Assumed: no sample at all to infer from: one hour (what a missing resource is measured against).

Coverage = samples present ÷ samples expected at that interval over the window, at most 1. Present: the
samples themselves below an hour, the sampled hours from an hour up (two samples of a 6-hourly source in one
hour are one).
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

HOUR_S = 3600
DAY_S = 86400
# The intervals sources use; an inferred one is snapped to the nearest (on a log scale).
LADDER = (60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 14400, 21600, 43200, 86400)

_UNITS = {
    "s": 1,
    "sec": 1,
    "秒": 1,
    "m": 60,
    "min": 60,
    "分": 60,
    "分钟": 60,
    "h": HOUR_S,
    "hr": HOUR_S,
    "小时": HOUR_S,
    "时": HOUR_S,
    "d": DAY_S,
    "day": DAY_S,
    "天": DAY_S,
    "日": DAY_S,
}
_WORDS = {"hourly": HOUR_S, "每小时": HOUR_S, "daily": DAY_S, "每天": DAY_S, "每日": DAY_S}
_PATTERN = re.compile(r"^(?:每)?\s*(\d+(?:\.\d+)?)?\s*([a-z\u4e00-\u9fff]+)$")

How = Literal["stated", "inferred", "assumed"]


def parse_interval(value: str) -> int:
    """'5m', '1h', '6h', '1d', '5分钟', '6小时', '每天', 'hourly' -> seconds (1 minute to 7 days)."""
    text = unicodedata.normalize("NFKC", str(value)).strip().lower().replace(" ", "")
    if text in _WORDS:
        return _WORDS[text]
    m = _PATTERN.match(text)
    unit = _UNITS.get(m.group(2)) if m else None
    if m is None or unit is None:
        raise ValueError(
            f"{value!r} is not a sampling interval: write e.g. 5m, 1h, 6h, 1d (5分钟, 6小时, 1天)"
        )
    seconds = round(float(m.group(1) or 1) * unit)
    if not 60 <= seconds <= 7 * DAY_S:
        raise ValueError(f"{value!r}: a sampling interval is between 1 minute and 7 days")
    return seconds


def interval_text(seconds: int) -> str:
    """6 h as '6h', a day as '1d', 5 minutes as '5m'."""
    for unit, size in (("d", DAY_S), ("h", HOUR_S), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@functools.lru_cache(maxsize=4096)  # a few values recur for every resource (12 samples an hour: 5 minutes)
def snap(seconds: float) -> int:
    """The usual interval nearest to `seconds` (on a log scale)."""
    return min(LADDER, key=lambda s: abs(math.log(s / max(seconds, 1.0))))


def infer(day_counts: Iterable[tuple[int, int]]) -> int | None:
    """An interval from (sampled hours, samples) of each day; None without a sampled day."""
    days = [(h, s) for h, s in day_counts if h]
    if not days:
        return None
    per_hour = _median([s / h for h, s in days])
    if per_hour >= 1.5:
        return snap(HOUR_S / per_hour)
    return max(HOUR_S, snap(DAY_S / _median([h for h, _ in days])))


def _median(values: list[float]) -> float:
    values.sort()
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


@dataclass(frozen=True)
class Sampling:
    """A resource's sampling interval and where it comes from."""

    seconds: int
    how: How

    def present(self, hours: int, samples: int) -> int:
        """Samples present: the samples below an hour, the sampled hours from an hour up."""
        return samples if self.seconds < HOUR_S else hours

    def expected(self, window_seconds: float) -> float:
        return window_seconds / self.seconds

    def coverage(self, window_seconds: float, hours: int, samples: int) -> float:
        """Samples present ÷ samples expected over the window, at most 1."""
        expected = self.expected(window_seconds)
        return min(1.0, self.present(hours, samples) / expected) if expected else 0.0

    def evidence(self, window_seconds: float, hours: int, samples: int) -> dict[str, Any]:
        """What a finding says about the sampling it judged by."""
        return {
            "sample_interval": interval_text(self.seconds),
            "sample_interval_source": self.how,
            "samples_present": self.present(hours, samples),
            "samples_expected": round(self.expected(window_seconds), 1),
        }

    def text(self, language: str) -> str:
        how_zh = {"stated": "清单所列", "inferred": "按样本推断", "assumed": "默认"}[self.how]
        if language == "zh":
            return f"采样间隔 {interval_text(self.seconds)}（{how_zh}）"
        return f"sampled every {interval_text(self.seconds)} ({self.how})"


def sampling_of(stated: int | None, day_counts: Iterable[tuple[int, int]]) -> Sampling:
    """The stated interval, else the inferred one, else an hour (assumed)."""
    if stated:
        return Sampling(stated, "stated")
    inferred = infer(day_counts)
    return Sampling(inferred, "inferred") if inferred else Sampling(HOUR_S, "assumed")
