"""The paperwork (issue 9) at a large site's scale, through the same paths the daemon takes.

    python bench/paperwork.py                 # SQLite in a temporary directory
    python bench/paperwork.py --keep DIR      # keep the directory (database, files, config)

What it builds: 60 audit materials (40 monthly, 20 quarterly) over five years — a register of ~3,600 rows;
300 tenant units in the inventory and a survey of 30,000 answers (100 a unit); 24 months of inspection plans
with 10 inspections each and their records; a 6,000-paragraph .docx contract.

What it prints, each step measured in a fresh process (so the set-up's memory does not count): wall seconds
and peak RSS of
- ingest of the audit register, of the survey answers, of the contract (linted on arrival);
- one evaluation of the paperwork rules (audit, inspections, survey, contract text) with a 2,000-day look-back;
- `audit status` of a year and `survey coverage` of a year (the CLI's functions);
- the weekly report's build (every area, on this store).

The issue names no speed or memory target; the budget printed beside each figure is ours: what the daemon can
spend on it without delaying its five-minute cycle (5 s, 300 MiB).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ZONE = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 16, 9, 0, tzinfo=ZONE)
YEARS = range(2022, 2027)
UNITS = [f"单位{i:03d}" for i in range(300)]
BUDGET_SECONDS, BUDGET_MIB = 5.0, 300.0
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def contract_toml() -> str:
    lines = ['[contract]\nname = "bench"\nstart = 2022-01-01\nend = 2027-12-31\n', '[audit]\ngrace = "0h"\n']
    for i in range(60):
        monthly = i < 40
        lines.append(
            f'[[audit.materials]]\nkey = "m{i:02d}"\nname_zh = "材料{i:02d}"\nname_en = "material {i:02d}"\n'
            f'cadence = "{"monthly" if monthly else "quarterly"}"\n'
            + ("due_day = 5\n" if monthly else "due_days = 10\n")
        )
    lines.append("[inspections]\nper_month = 10\n")
    lines.append("[survey]\nscale_max = 100\nmin_respondents = 10\n")
    return "\n".join(lines)


def write_files(work: Path) -> dict[str, Path]:
    rng = random.Random(2026)
    rules = work / "rules"
    rules.mkdir(parents=True)
    (rules / "contract.toml").write_text(contract_toml(), encoding="utf-8")
    for name in ("audit.toml", "inspections.toml", "survey.toml", "contract_text.toml"):
        text = (ROOT / "rules" / name).read_text(encoding="utf-8")
        (rules / name).write_text(
            text.replace("lookback_days = 400", "lookback_days = 2000"), encoding="utf-8"
        )
    config = work / "config.toml"
    config.write_text(
        f'[paths]\nstate_dir = "{work / "var"}"\nrules_dir = "{rules}"\n'
        f'[store]\nurl = "sqlite:///{work / "bench.db"}"\n'
        f'[ingest]\ndrop_dir = "{work / "var" / "drop"}"\n'
        f'[notify.email]\ntransport = "file"\noutbox_dir = "{work / "var" / "outbox"}"\n',
        encoding="utf-8",
    )
    register = work / "审计材料报送登记.csv"
    with register.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(["材料", "期间", "报送时间", "报送人", "文件"])
        for i in range(60):
            periods = (
                [f"{y}-{m:02d}" for y in YEARS for m in range(1, 13)]
                if i < 40
                else [f"{y}-Q{q}" for y in YEARS for q in range(1, 5)]
            )
            for p in periods:
                if (p[:4] == "2026" and p[5:] >= "10") or rng.random() < 0.02:
                    continue  # not yet handed in / never handed in
                year, rest = int(p[:4]), p[5:]
                end = date(year, 12, 31) if rest == "Q4" or rest == "12" else None
                if end is None:
                    month = int(rest) if not rest.startswith("Q") else int(rest[1]) * 3
                    end = date(year, month + 1, 1) - timedelta(days=1)
                late = rng.random() < 0.05  # most on time, some days late
                when = datetime.combine(
                    end + timedelta(days=rng.randint(1, 4) + (8 if late else 0)), datetime.min.time()
                )
                stamp = (
                    "" if rng.random() < 0.01 else (when + timedelta(hours=rng.randint(8, 18))).isoformat(" ")
                )
                out.writerow([f"材料{i:02d}", p, stamp, "王工", f"材料{i:02d}-{p}.pdf"])
    inventory = work / "inventory.csv"
    with inventory.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(
            [
                "资源ID",
                "云平台",
                "租户单位",
                "资源类型",
                "CPU核数",
                "内存(GB)",
                "存储(GB)",
                "需备份",
                "分配日期",
            ]
        )
        for n, unit in enumerate(UNITS):
            out.writerow([f"VM-{n:04d}", "警务云", unit, "虚拟机", 4, 8, 100, "否", "2024-01-01"])
    survey = work / "满意度调查.csv"
    with survey.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(["单位", "填表人", "填写日期", "得分", "意见"])
        for unit in UNITS[:240]:  # 80 % of the units answered
            for r in range(100):
                out.writerow(
                    [unit, f"答卷人{r:03d}", f"2026-10-{rng.randint(10, 28):02d}", rng.randint(60, 100), ""]
                )
    inspection = work / "检查记录.csv"
    with inspection.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(["检查日期", "检查区域", "检查人", "检查结果", "发现问题", "整改期限", "整改完成日期"])
        day = date(2024, 12, 2)
        while day < date(2026, 11, 13):
            if day.weekday() < 5:
                problems = rng.random() < 0.2
                out.writerow(
                    [
                        day.isoformat(),
                        rng.choice(["机房现场", "运维记录", "备份与演练证据"]),
                        "李科长",
                        "发现问题" if problems else "合格",
                        "交接班表无签字" if problems else "",
                        (day + timedelta(days=7)).isoformat() if problems else "",
                        (day + timedelta(days=5)).isoformat() if problems and rng.random() < 0.9 else "",
                    ]
                )
            day += timedelta(days=2)
    paragraphs = ["第一条 本合同依据《中华人民共和国合同法》订立。"] + [
        f"第{i}条 乙方应按照服务等级协议提供运维服务，并对数据安全和保密负责（条款 {i}）。"
        for i in range(2, 6000)
    ]
    body = "".join(f'<w:p><w:r><w:t xml:space="preserve">{escape(t)}</w:t></w:r></w:p>' for t in paragraphs)
    docx = work / "运维服务合同.docx"
    with zipfile.ZipFile(docx, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(
            "word/document.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>',
        )
    return {
        "config": config,
        "audit": register,
        "inventory": inventory,
        "survey": survey,
        "inspection": inspection,
        "contract": docx,
    }


def _runtime(config_path: Path):  # type: ignore[no-untyped-def]
    from ops_watch import plugins
    from ops_watch.config import load_config
    from ops_watch.findings.rules import load_rules
    from ops_watch.store import open_store

    plugins.load()  # every area, as the CLI loads them

    config = load_config(config_path)
    return config, load_rules(config.rules_dir), open_store(config.store_url)


def measure(config_path: Path, what: str, arg: str) -> dict[str, object]:
    config, rules, store = _runtime(config_path)
    started = time.perf_counter()
    detail: object = ""
    if what == "ingest":
        from ops_watch.ingest import ingest_file

        kind, path = arg.split("=", 1)
        r = ingest_file(store, config, kind, Path(path), at=AT.astimezone(UTC))
        assert r.status in ("accepted", "partial"), (r.status, r.reason, r.errors[:3])
        detail = f"{r.rows_ok:,} rows"
    elif what == "plans":
        from ops_watch.areas.governance.inspections.model import plan_month

        months = [f"{y}-{m:02d}" for y in (2024, 2025, 2026) for m in range(1, 13)]
        months = [m for m in months if "2024-12" <= m <= "2026-11"]
        for month in months:
            first = datetime.strptime(month + "-01", "%Y-%m-%d").replace(tzinfo=ZONE)
            plan_month(store, rules.contract, ZONE, month, "bench", now=first, seed=f"seed-{month}")
        detail = f"{len(months)} months"
    elif what == "evaluate":
        from ops_watch.findings import engine

        paperwork = [r for r in rules.rules if r.check.area == "governance"]
        result = engine.evaluate(store, type(rules)(rules=paperwork, contract=rules.contract), AT, zone=ZONE)
        assert result.failed_rules == {}, result.failed_rules
        detail = f"{len(result.opened)} findings opened, {len(result.resolved)} resolved"
    elif what == "audit_status":
        from ops_watch.areas.governance.audit.model import rate_of, timeliness

        with store.session() as s:
            rows = timeliness(s, rules.contract, ZONE, datetime(2026, 1, 1, tzinfo=ZONE), AT)
        detail = f"{len(rows)} periods, rate {rate_of(rows).value}%"
    elif what == "survey_coverage":
        from ops_watch.areas.governance.survey.model import coverage

        with store.session() as s:
            cov = coverage(s, rules.contract, ZONE, datetime(2026, 1, 1, tzinfo=ZONE), AT)
        detail = f"{len(cov.answered)}/{len(cov.expected)} units, {cov.respondents:,} respondents"
    elif what == "weekly_report":
        from ops_watch.report.model import Week
        from ops_watch.report.weekly import build, files_of

        report = build(store, config, rules.contract, Week(2026, 46, ZONE), "zh")
        files = files_of(report, config)
        detail = f"{sum(len(b) for b in files.files.values()) // 1024} KiB of files"
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "detail": detail,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", type=Path, help="Build in this directory and keep it.")
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        config, what, arg = args.measure
        print(json.dumps(measure(Path(config), what, arg)))
        return
    work = args.keep or Path(tempfile.mkdtemp(prefix="ops-watch-paperwork-"))
    if args.keep:
        shutil.rmtree(work, ignore_errors=True)
    files = write_files(work)

    def child(what: str, arg: str = "") -> dict[str, object]:
        out = subprocess.run(
            [sys.executable, __file__, "--measure", str(files["config"]), what, arg],
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            sys.exit(f"{what} failed:\n{out.stderr[-3000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    steps = [
        ("ingest inventory (300 tenant units)", child("ingest", f"inventory={files['inventory']}")),
        ("ingest audit register", child("ingest", f"audit={files['audit']}")),
        ("ingest survey answers", child("ingest", f"survey={files['survey']}")),
        ("ingest inspection records", child("ingest", f"inspection={files['inspection']}")),
        ("ingest + lint a 6,000-paragraph contract", child("ingest", f"contract={files['contract']}")),
        ("draw 24 monthly inspection plans", child("plans")),
        ("evaluate the paperwork rules (first)", child("evaluate")),
        ("evaluate the paperwork rules (again)", child("evaluate")),
        ("audit timeliness of 2026", child("audit_status")),
        ("survey coverage of 2026", child("survey_coverage")),
        ("weekly report 2026-W46 (build + files)", child("weekly_report")),
    ]
    print(f"{'step':<44} {'seconds':>8} {'peak RSS MiB':>13}  detail")
    worst_s = worst_m = 0.0
    for label, r in steps:
        print(f"{label:<44} {r['seconds']:>8} {r['peak_rss_mib']:>13}  {r['detail']}")
        worst_s, worst_m = max(worst_s, float(r["seconds"])), max(worst_m, float(r["peak_rss_mib"]))
    ok = worst_s < BUDGET_SECONDS and worst_m < BUDGET_MIB
    print(
        f"\nour budget (the issue names none): each step under {BUDGET_SECONDS:.0f} s and {BUDGET_MIB:.0f} MiB: "
        f"{'PASS' if ok else 'MISS'} (slowest {worst_s} s, largest {worst_m} MiB)"
    )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
