"""Ingest a large inventory-shaped CSV and print rows/s, wall seconds and peak RSS.

    python bench/bench_ingest.py                  # ~200 MB, SQLite in a temporary directory
    python bench/bench_ingest.py --size-mb 50 --store-url postgresql+psycopg://user@127.0.0.1:5432/bench

Peak RSS staying near the baseline (imports + store) whatever the file size shows the file is streamed,
not loaded whole. The file is GB18030 with Chinese headers, one bad row in every 1000 and a repeated key in
every 5000, so the whole path runs: decoding, header aliases, parsing, row errors, upsert, the report.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ops_watch import plugins  # noqa: E402
from ops_watch.config import Config  # noqa: E402
from ops_watch.ingest import ingest_file  # noqa: E402
from ops_watch.store import open_store  # noqa: E402

plugins.load()  # every area, as the CLI loads them

HEADER = "资源ID,云平台,租户单位,资源类型,CPU核数,内存(GB),存储(GB),需备份,IP地址,分配日期,回收日期\r\n"
PLATFORMS = ("警务云", "新一代公安信息网云平台")
UNITS = ("刑侦支队", "交警支队", "治安支队", "网安支队", "指挥中心", "经侦支队", "禁毒支队", "法制支队")
TYPES = ("虚拟机", "虚拟机", "虚拟机", "云硬盘", "物理机")


def _peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def write_inventory(path: Path, size_bytes: int, seed: int = 1) -> int:
    """Write rows until the file reaches size_bytes; returns the number of data rows."""
    rng = random.Random(seed)
    rows = 0
    written = 0
    with open(path, "w", encoding="gb18030", newline="") as f:
        f.write(HEADER)
        block: list[str] = []
        while written < size_bytes:
            rows += 1
            n = rows - 1 if rows % 5000 == 2500 else rows  # a repeated key now and then: the later row wins
            vcpu = "-4" if rows % 1000 == 0 else str(rng.choice((2, 4, 8, 16, 32)))  # a bad row now and then
            line = (
                f"RES-{n:09d},{rng.choice(PLATFORMS)},{rng.choice(UNITS)},{rng.choice(TYPES)},{vcpu},"
                f"{rng.choice((4, 8, 16, 32, 64))},{rng.choice((100, 200, 500, 1024, 2048))},"
                f"{rng.choice('是否')},10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)},"
                f"2024-0{rng.randrange(1, 10)}-1{rng.randrange(10)},\r\n"
            )
            block.append(line)
            written += len(line.encode("gb18030"))
            if len(block) >= 10_000:
                f.write("".join(block))
                block.clear()
        f.write("".join(block))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=float, default=200.0)
    parser.add_argument("--store-url", default="", help="default: SQLite in the temporary directory")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ops-watch-bench-") as tmp:
        tmp_path = Path(tmp)
        csv_path = tmp_path / "inventory-big.csv"
        t0 = time.perf_counter()
        rows = write_inventory(csv_path, int(args.size_mb * 1024 * 1024))
        size_mib = csv_path.stat().st_size / (1024 * 1024)
        print(f"generated   {size_mib:.1f} MiB, {rows:,} data rows in {time.perf_counter() - t0:.1f} s")

        store = open_store(args.store_url or f"sqlite:///{tmp_path / 'bench.db'}")
        config = Config.model_validate({"paths": {"state_dir": str(tmp_path / "var")}})
        baseline = _peak_rss_mib()
        t0 = time.perf_counter()
        result = ingest_file(store, config, "inventory", csv_path)
        wall = time.perf_counter() - t0
        peak = _peak_rss_mib()
        store.dispose()

        print(
            f"status      {result.status}: {result.rows_total:,} rows, {result.rows_ok:,} stored, "
            f"{result.rows_bad:,} bad, {result.rows_duplicate:,} duplicate"
        )
        print(f"wall        {wall:.1f} s")
        print(f"throughput  {result.rows_total / wall:,.0f} rows/s, {size_mib / wall:.1f} MiB/s")
        print(f"peak RSS    {peak:.0f} MiB (before the ingest: {baseline:.0f} MiB, file: {size_mib:.0f} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
