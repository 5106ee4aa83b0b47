#!/usr/bin/env bash
# One pass of ops-watch on the embedded default: SQLite under ./var, the sample evidence of examples/
# copied into the drop folder, the local host measured with psutil, email written as .eml files.
# ./var is the demo's own state and is started afresh each time, so the demo always shows the same story.
#
# The examples are a site's evidence up to Monday 2026-11-16: two weeks of utilization exports, four weeks of
# door events (a Hikvision export and the duty room's CSV) and handover sheets, a month of backup runs, half
# a year of drills and the drill plan, the October statement and the year's budget events, the audit-material
# register and one dropped report, the center's inspection records, the satisfaction survey and the contract
# text (samples/archive/ is the archive folder contract.toml points at). The demo judges them as the daemon, running all along, would have
# on Sunday evening (SUNDAY: what it found then belongs to that week's report) and on Monday morning (AS_OF),
# so it finds the same things whatever today's date is. Then it writes and emails the weekly report of
# 2026-W46 (var/reports/2026-W46/).
set -euo pipefail
cd "$(dirname "$0")/.."
OPS_WATCH=${OPS_WATCH:-.venv/bin/ops-watch}
SUNDAY="2026-11-15 22:00"
AS_OF="2026-11-16 09:00"
LATER="2026-11-16 09:30"

rm -rf var
mkdir -p var/drop
cp -r examples/. var/drop/
# A file's modification time is when its evidence was produced: the contractor sent these files that
# Monday at 08:00 (site time). (The drop folder also leaves alone files modified in the last seconds.)
find var/drop -type f -exec touch -d '2026-11-16 08:00 +0800' {} +
# November's unannounced inspections as the daemon drew them on the 1st (a fixed seed here, so the demo tells
# the same story; a real plan's seed is random and kept in the store).
"$OPS_WATCH" --config config.example.toml inspections plan --month 2026-11 --count 3 \
    --seed 0123456789abcdef --at "2026-11-01 00:00" >/dev/null
echo "ops-watch demo: evidence from examples/ copied to var/drop/; running the main job as of $SUNDAY,"
echo "then once more as of $AS_OF"
echo
"$OPS_WATCH" --config config.example.toml --log-level warning run --once --at "$SUNDAY" >/dev/null
"$OPS_WATCH" --config config.example.toml --log-level warning run --once --at "$AS_OF"
echo
echo "== Reclaim list as of $AS_OF =="
"$OPS_WATCH" --config config.example.toml resources idle --at "$AS_OF"
echo
echo "== Staffing rate (人员到位率), November as of $AS_OF =="
"$OPS_WATCH" --config config.example.toml staffing rate --month 2026-11 --at "$AS_OF"
echo
echo "== Backups and drills (continuity) as of $AS_OF =="
"$OPS_WATCH" --config config.example.toml continuity status --at "$AS_OF"
echo
echo "== Unannounced inspections (不定期检查), November as of $AS_OF =="
"$OPS_WATCH" --config config.example.toml inspections show --month 2026-11 --at "$AS_OF"
echo
echo "== Audit materials (审计材料报送) as of $AS_OF: deadlines, submission times, the timeliness rate =="
"$OPS_WATCH" --config config.example.toml audit status --at "$AS_OF"
echo
echo "== Satisfaction survey coverage (满意度调查) of 2026 as of $AS_OF =="
"$OPS_WATCH" --config config.example.toml survey coverage --period 2026 --at "$AS_OF"
echo
echo "== Archive (档案归档): each year's required documents in samples/archive/ as of $AS_OF =="
"$OPS_WATCH" --config config.example.toml archive status --at "$AS_OF" || true
echo
echo "== Billing reconciliation (对账), October 2026: the statement beside what the inventory and prices give =="
"$OPS_WATCH" --config config.example.toml billing reconcile --month 2026-10
echo
echo "== Budget execution (预算执行) and the year-end forecast as of $AS_OF =="
"$OPS_WATCH" --config config.example.toml budget status --year 2026 --at "$AS_OF"
echo
echo "== Contractor score (考核) as of $AS_OF: each indicator's formula, inputs and points =="
"$OPS_WATCH" --config config.example.toml score --at "$AS_OF"
echo
echo "== Contract text (R9): the example contract, linted when it was dropped, cites a repealed law and names no"
echo "   on-site headcount (the same lint by hand: ops-watch contract lint FILE) =="
"$OPS_WATCH" --config config.example.toml contract lint examples/contract/运维服务合同.docx 2>/dev/null || true
echo
echo "== Alert emails written (grouped by area and severity; .eml files in var/outbox/) =="
"$OPS_WATCH" --config config.example.toml notify outbox --status sent

# A second pass half an hour later: the contractor hands in the missing night-shift row of 2026-11-07, so
# that finding resolves, and the center gets a resolved notice threaded under the group's first email.
echo
echo "== Second pass, as of $LATER: a late handover row for the night of 2026-11-07 arrives =="
cp -r scripts/demo-later/. var/drop/
find var/drop -maxdepth 2 -type f -newer var/ops-watch.db -exec touch -d '2026-11-16 09:20 +0800' {} +
"$OPS_WATCH" --config config.example.toml --log-level warning run --once --at "$LATER" >/dev/null
"$OPS_WATCH" --config config.example.toml notify outbox --limit 1
echo
echo "== Weekly compliance summary of 2026-W46, archived in var/reports/2026-W46/ and emailed (var/outbox/) =="
"$OPS_WATCH" --config config.example.toml report weekly --week 2026-W46 --send
"$OPS_WATCH" --config config.example.toml report list
echo
# The web console on the demo's store: an operator account with a fresh password, printed this once.
DEMO_PW="$(python3 -c 'import secrets; print("Ow-" + secrets.token_hex(6) + "Q7!")')"
printf '%s\n' "$DEMO_PW" | "$OPS_WATCH" --config config.example.toml users add demo --role operator >/dev/null
echo "== Web console (控制台): .venv/bin/ops-watch --config config.example.toml serve"
echo "   then open http://127.0.0.1:8080/ and log in as demo / $DEMO_PW (shown once; ops-watch users passwd demo)"
echo
echo "Next: .venv/bin/ops-watch --config config.example.toml findings list --status all"
echo "      .venv/bin/ops-watch --config config.example.toml staffing shifts --from 2026-11-02 --to 2026-11-08 --at \"$AS_OF\""
echo "      .venv/bin/ops-watch --config config.example.toml resources usage --at \"$AS_OF\""
echo "      .venv/bin/ops-watch --config config.example.toml findings show 1"
