#!/usr/bin/env python3
"""Write the demo's continuity evidence: a month of backup runs, half a year of drills, the drill plan.

Deterministic (a fixed seed): run it again and the files come out the same. The contract (rules/contract.toml
[continuity]) lists four systems (警务综合平台 and 视频图像平台 critical: RPO 12 h, RTO 120 min, a restore drill
every 90 days and an emergency drill every 180; 人口信息库 and 案件管理系统 important: RPO 24 h, RTO 240 min, a
restore drill every 180 days) and makes every inventory resource marked 需备份 a system of class vm (a daily
backup, RPO 26 h, no drills). Drill obligations start 2026-05-18.

  examples/backup/备份作业_2026-10-17_11-16.csv   the backup console's export: the platforms twice a day
                                                  (00:30, 12:30), the resources daily (02:00)
  examples/backup/jzpt-files_snapshots.json       `restic snapshots --json` (restic 0.14) of 警务综合平台's file
                                                  server, a daily snapshot at 03:00, for the [[backups.restic]]
                                                  entry "jzpt-files" of config.example.toml
  examples/drill/演练记录_2026H2.xlsx              the contractor's drill records, 2026-05-18 to 11-15
  examples/drill_plan/演练计划_2026H2.xlsx         the drills the contractor announced

The story, judged as of 2026-11-16 09:00 +08:00 with rules/continuity.toml (tests/integration/
test_continuity_examples.py checks exactly this):

  backup_failed            JWY-VM-0007: failed 11-14 and 11-15, partial 11-16 (open since 11-14 02:00);
                           视频图像平台: failed twice on 11-10, recovered 11-11 00:30 (a streak that ended is
                           still a finding about its period, judged once or day by day)
  backup_missing           案件管理系统: must be backed up, no run ever recorded
  drill_overdue            人口信息库 restore: due 2026-11-14 (180 days after 05-18), none done
  drill_failed_unresolved  视频图像平台 emergency of 08-20 failed; passed again only on 10-09 (deadline 09-19)
  drill_rto_exceeded       警务综合平台 restore of 09-01: 150 minutes, target 120
  drill_rpo_exceeded       视频图像平台 restore of 07-15: 900 minutes of data lost, target 720 (12 h)
  drill_record_incomplete  人口信息库 emergency of 10-22: no evidence
  drill_plan_missed        警务综合平台 failover planned for 10-30: not done
  not flagged              every other system and drill is in order.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from datetime import date, datetime, time, timedelta
from pathlib import Path

import openpyxl
from openpyxl.styles import Font

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PLATFORMS = ["警务综合平台", "视频图像平台", "人口信息库"]  # 案件管理系统: never backed up
RESOURCES = [
    "JWY-VM-0001",
    "JWY-VM-0002",
    "JWY-VM-0004",
    "JWY-VM-0007",
    "JWY-VM-0009",
    "JWY-VM-0011",
    "JWY-HOST-01",
    "JWY-VOL-0001",
    "JWY-VOL-0002",
    "XYD-VM-0001",
    "XYD-VM-0005",
    "XYD-VM-0007",
    "XYD-VOL-0001",
]
FIRST, LAST = date(2026, 10, 17), date(2026, 11, 16)
rng = random.Random(20261116)


def runs() -> list[list[str]]:
    rows = []
    d = FIRST
    while d <= LAST:
        for system in PLATFORMS:
            for hh, mm, job in ((0, 30, "全量备份"), (12, 30, "增量备份")):
                start = datetime.combine(d, time(hh, mm)) + timedelta(seconds=rng.randint(0, 90))
                if start > datetime(2026, 11, 16, 8, 0):
                    continue
                status = "成功"
                if system == "视频图像平台" and d == date(2026, 11, 10):
                    status = "失败"  # two failed runs, then a success: an episode that resolved
                minutes = rng.randint(25, 70) if job == "全量备份" else rng.randint(5, 15)
                size = round(rng.uniform(380, 420) if job == "全量备份" else rng.uniform(8, 30), 1)
                end = start + timedelta(minutes=minutes)
                rows.append(
                    [system, job, f"{start:%Y-%m-%d %H:%M:%S}", f"{end:%Y-%m-%d %H:%M:%S}", status,
                     "" if status == "失败" else f"{size}"]
                )  # fmt: skip
        for rid in RESOURCES:
            start = datetime.combine(d, time(2, 0)) + timedelta(seconds=rng.randint(0, 600))
            status = "成功"
            if rid == "JWY-VM-0007" and d in (date(2026, 11, 14), date(2026, 11, 15)):
                status = "失败"
            if rid == "JWY-VM-0007" and d == date(2026, 11, 16):
                status = "部分成功"
            end = start + timedelta(minutes=rng.randint(8, 40))
            size = "" if status == "失败" else f"{round(rng.uniform(20, 120), 1)}"
            rows.append(
                [rid, "整机备份", f"{start:%Y-%m-%d %H:%M:%S}", f"{end:%Y-%m-%d %H:%M:%S}", status, size]
            )
        d += timedelta(days=1)
    rows.sort(key=lambda r: r[2])
    return rows


TEAM = "王建国、张伟、黄敏、市大数据中心李科长"
DRILLS = [
    # date, system, type, scenario, result, rto, rpo, participants, evidence
    ("2026-06-10", "警务综合平台", "备份恢复", "数据库误删，从全量+增量备份恢复", "成功", 85, 30, TEAM, "JZPT-2026-06-恢复演练报告.pdf"),
    ("2026-07-15", "视频图像平台", "备份恢复", "存储阵列故障，从异地备份恢复", "成功", 100, 900, TEAM, "SPTX-2026-07-恢复演练报告.pdf"),
    ("2026-08-20", "视频图像平台", "应急演练", "主备切换后校验数据不一致", "失败", 115, "", TEAM, "SPTX-2026-08-应急演练报告.pdf"),
    ("2026-09-01", "警务综合平台", "备份恢复", "应用服务器整机恢复", "成功", 150, 20, TEAM, "JZPT-2026-09-恢复演练报告.pdf"),
    ("2026-09-25", "案件管理系统", "备份恢复", "数据库时间点恢复", "成功", 160, 45, "张伟、吴婷、市大数据中心李科长", "AJGL-2026-09-恢复演练报告.pdf"),
    ("2026-10-09", "视频图像平台", "应急演练", "主备切换（重新演练）", "成功", 95, "", TEAM, "SPTX-2026-10-应急演练报告.pdf"),
    ("2026-10-10", "视频图像平台", "备份恢复", "单路视频库恢复", "成功", 90, 25, TEAM, "SPTX-2026-10-恢复演练报告.pdf"),
    ("2026-10-15", "警务综合平台", "应急演练", "机房断电，业务切换到备用链路", "成功", 60, "", TEAM, "JZPT-2026-10-应急演练报告.pdf"),
    ("2026-10-22", "人口信息库", "应急演练", "核心交换机故障", "成功", 70, "", "杨帆、周杰", ""),
]  # fmt: skip
PLANS = [
    ("2026-09-01", "警务综合平台", "备份恢复"),
    ("2026-09-25", "案件管理系统", "备份恢复"),
    ("2026-10-10", "视频图像平台", "备份恢复"),
    ("2026-10-15", "警务综合平台", "应急演练"),
    ("2026-10-20", "人口信息库", "应急演练"),
    ("2026-10-30", "警务综合平台", "切换演练"),
    ("2026-12-10", "人口信息库", "备份恢复"),
]


def sheet(path: Path, title: str, header: list[str], rows: list, widths: tuple[int, ...]) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    ws.append([f"安澜云运维服务有限公司 {title}（2026年下半年）"])
    ws["A1"].font = Font(bold=True)
    ws.append(header)
    for row in rows:
        ws.append([date.fromisoformat(row[0]), *row[1:]])
    for cell in ws["A"][2:]:
        cell.number_format = "yyyy-mm-dd"
    for i, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.iterdir():
        old.unlink()
    wb.save(path)


def restic_snapshots() -> list[dict]:
    """A daily snapshot of the file server, as restic 0.14 prints them (no summary before 0.17)."""
    rng = random.Random(3)  # its own: the runs above come out the same with or without this file
    out = []
    d = FIRST
    while d < LAST:
        when = datetime.combine(d, time(3, 0)) + timedelta(
            seconds=rng.randint(0, 40), microseconds=rng.randint(0, 999999)
        )
        sid = hashlib.sha256(f"snapshot {when}".encode()).hexdigest()
        out.append(
            {
                "time": when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+08:00",
                "tree": hashlib.sha256(f"tree {when}".encode()).hexdigest(),
                "paths": ["/srv/jzpt/files"],
                "hostname": "jzpt-file01",
                "username": "root",
                "tags": ["daily"],
                "id": sid,
                "short_id": sid[:8],
            }
        )
        d += timedelta(days=1)
    return out


def main() -> None:
    backup_dir = EXAMPLES / "backup"
    backup_dir.mkdir(parents=True, exist_ok=True)
    for old in backup_dir.iterdir():
        old.unlink()
    (backup_dir / "jzpt-files_snapshots.json").write_text(
        json.dumps(restic_snapshots(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    rows = runs()
    with open(backup_dir / "备份作业_2026-10-17_11-16.csv", "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["系统", "作业", "开始时间", "结束时间", "状态", "数据量(GB)"])
        w.writerows(rows)
    sheet(
        EXAMPLES / "drill" / "演练记录_2026H2.xlsx",
        "演练记录",
        ["日期", "系统", "类型", "场景", "结果", "恢复时间(分钟)", "数据丢失(分钟)", "参与人员", "佐证材料"],
        DRILLS,
        (12, 14, 10, 30, 8, 14, 14, 36, 32),
    )
    sheet(
        EXAMPLES / "drill_plan" / "演练计划_2026H2.xlsx",
        "演练计划",
        ["日期", "系统", "类型"],
        PLANS,
        (12, 14, 10),
    )
    print(f"{len(rows)} backup runs, {len(DRILLS)} drills, {len(PLANS)} planned drills")


if __name__ == "__main__":
    main()
