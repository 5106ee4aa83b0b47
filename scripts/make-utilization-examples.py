#!/usr/bin/env python3
"""Write examples/utilization/*.csv: two weeks of hourly utilization exports for the demo's inventory.

Deterministic (a fixed seed): run it again and the files come out the same. The story it plants, judged as
of 2026-11-16 09:00 +08:00 with rules/resources.toml (tests/integration/test_resources_examples.py checks
exactly this):

  idle_cpu        JWY-VM-0003 (警务云), XYD-VM-0004 (新一代, notional prices)
  oversized_cpu   JWY-VM-0004 32 → 12 vCPU, XYD-VM-0002 32 → 8 vCPU
  idle_storage    JWY-VOL-0002 (peak 920 GB of 8192), XYD-VOL-0001 (peak 1500 GB of 10240)
  stale_resource  JWY-VM-0008 (silent since 2026-11-11 10:00), XYD-VM-0003 (since 2026-11-09 18:00)
  platform_utilization  新一代公安信息网云平台 (CPU and memory below target)
  not flagged     JWY-VM-0001 (busy), JWY-VM-0002 (idle all day, 90 % CPU 01:00–03:00: a nightly batch),
                  every other resource (normal), JWY-VM-0006 (reclaimed 2026-10-31, no samples).

The 警务云 console exports UTF-8 with BOM and a storage total column; the new-generation platform's console
exports GB18030 (Excel on a Chinese Windows) with other header names and no total.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "examples" / "utilization"
START = datetime(2026, 11, 2)  # site time, Monday
DAYS = 14

# resource id -> (profile, storage allocated GB, storage used share or fixed GB)
JWY = {
    "JWY-VM-0001": ("busy", 2048, 0.72),
    "JWY-VM-0002": ("batch", 1024, 0.55),
    "JWY-VM-0003": ("idle", 500, 0.62),
    "JWY-VM-0004": ("oversized_jwy", 4096, 0.58),
    "JWY-VM-0005": ("normal", 1024, 0.66),
    "JWY-VM-0007": ("normal", 800, 0.71),
    "JWY-VM-0008": ("normal", 300, 0.52),  # stale: stops 2026-11-11 10:00
    "JWY-VM-0009": ("normal", 2048, 0.63),  # a 6-hour gap in the console's data on 2026-11-12
    "JWY-VM-0011": ("normal", 2048, 0.69),
    "JWY-VM-0012": ("normal", 1024, 0.57),
    "JWY-HOST-01": ("host_busy", 7680, 0.61),
    "JWY-VOL-0001": ("volume", 4096, 0.70),
    "JWY-VOL-0002": ("volume_idle", 8192, 920.0),
}
XYD = {
    "XYD-VM-0001": ("office", 1024, 0.48),
    "XYD-VM-0002": ("oversized_xyd", 2048, 0.44),
    "XYD-VM-0003": ("office", 1024, 0.51),  # stale: stops 2026-11-09 18:00
    "XYD-VM-0004": ("idle", 500, 0.55),
    "XYD-VM-0005": ("office", 4096, 0.41),
    "XYD-VM-0007": ("office", 2048, 0.46),
    "XYD-VM-0008": ("office", 8192, 0.40),
    "XYD-HOST-01": ("host_quiet", 15360, 0.45),
    "XYD-VOL-0001": ("volume_idle", 10240, 1500.0),
    "XYD-VOL-0002": ("volume", 2048, 0.60),
}
STOPS = {"JWY-VM-0008": datetime(2026, 11, 11, 10), "XYD-VM-0003": datetime(2026, 11, 9, 18)}
GAPS = {"JWY-VM-0009": (datetime(2026, 11, 12, 3), datetime(2026, 11, 12, 9))}


def cpu_mem(profile: str, t: datetime, rnd: random.Random, level: float) -> tuple[float | None, float | None]:
    h, weekend = t.hour, t.weekday() >= 5
    day = 9 <= h < 18
    u = rnd.uniform
    if profile == "busy":
        return (u(72, 90) if day else u(58, 72)), u(76, 86)
    if profile == "batch":
        return (u(88, 92) if h in (1, 2) else u(1.0, 2.5)), u(30, 36)
    if profile == "idle":
        return u(0.3, 1.8), u(12, 18)
    if profile == "oversized_jwy":  # p95 about 20 % of 32 vCPU: 12 are enough
        return (u(12, 21) if day else u(5, 9)), u(48, 58)
    if profile == "oversized_xyd":  # p95 about 13 % of 32 vCPU: 8 are enough
        return (u(7, 14) if 9 <= h < 17 and not weekend else u(3, 6)), u(18, 24)
    if profile == "normal":  # 24/7 police systems, busier by day
        return (u(level + 5, level + 30) if day else u(level - 12, level)), u(52, 74)
    if profile == "office":  # office hours on weekdays, quiet otherwise: the platform's low use
        if 9 <= h < 17 and not weekend:
            return u(25, 58), u(24, 34)
        return u(2, 5), u(18, 24)
    if profile == "host_busy":
        return (u(45, 62) if day else u(32, 45)), u(58, 66)
    if profile == "host_quiet":
        return (u(12, 24) if 9 <= h < 17 and not weekend else u(4, 8)), u(20, 26)
    return None, None  # volumes: storage only


def rows(resources: dict[str, tuple[str, float, float]], first: datetime, last: datetime, seed: int):
    rnd = random.Random(seed)
    levels = {rid: rnd.uniform(28, 42) for rid in resources}
    t = first
    while t < last:
        for rid, (profile, allocated, used) in resources.items():
            if rid in STOPS and t >= STOPS[rid]:
                continue
            gap = GAPS.get(rid)
            if gap and gap[0] <= t < gap[1]:
                continue
            cpu, mem = cpu_mem(profile, t, rnd, levels[rid])
            days_in = (t - START) / timedelta(days=1)
            if profile == "volume_idle":
                # Flat, with the window's peak exactly `used` GB once (the figure the test computes from).
                peak = t == datetime(2026, 11, 10, 14)
                used_gb = used if peak else round(used - rnd.uniform(8, 30), 1)
            else:
                used_gb = round(allocated * used * (1 + 0.004 * days_in) + rnd.uniform(-2, 2), 1)
            yield t, rid, cpu, mem, used_gb, allocated
        t += timedelta(hours=1)


def fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.1f}"


def write(path: Path, header: str, lines: list[str], encoding: str) -> None:
    path.write_text(header + "\n" + "\n".join(lines) + "\n", encoding=encoding, newline="")
    print(f"{path.relative_to(OUT.parent.parent)}: {len(lines)} rows, {path.stat().st_size} bytes")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for week in range(2):
        first = START + timedelta(days=7 * week)
        # The second export runs up to the hour before the demo's morning (2026-11-16 09:00), as a console
        # export made at 08:00 that Monday would.
        last = first + timedelta(days=7, hours=9 if week == 1 else 0)
        jwy = [
            f"{t:%Y-%m-%d %H:%M:%S},{rid},{fmt(cpu)},{fmt(mem)},{used:.1f},{total:g}"
            for t, rid, cpu, mem, used, total in rows(JWY, first, last, seed=11 + week)
        ]
        write(
            OUT / f"utilization-jwy-{first:%Y-%m-%d}.csv",
            "时间,资源ID,CPU使用率(%),内存使用率(%),存储已用(GB),存储总量(GB)",
            jwy,
            "utf-8-sig",
        )
        xyd = [
            f"{t:%Y/%m/%d %H:%M},{rid},{fmt(cpu)},{fmt(mem)},{used:.1f}"
            for t, rid, cpu, mem, used, _total in rows(XYD, first, last, seed=21 + week)
        ]
        write(
            OUT / f"utilization-xyd-{first:%Y-%m-%d}.csv",
            "采集时间,实例ID,CPU利用率(%),内存利用率(%),磁盘已用(GB)",
            xyd,
            "gb18030",
        )


if __name__ == "__main__":
    main()
