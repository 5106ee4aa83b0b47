"""The web console under 20 concurrent users, on a store with 100,000 findings and a year of door events.

    python bench/web.py                        # SQLite in a temporary directory, 30 s of load
    python bench/web.py --seconds 60 --clients 20 --findings 100000 --keep

Builds the store in this process (bulk inserts, as bench/alert_storm.py does): `--findings` findings spread
over the past year across the real rules of rules/ (2 % still active: `--active-share`; the rest resolved),
each with its "opened" event and the resolved ones with their "resolved" event; a staff registry of 50 people
and `--door-days` (default 365) of their door events, about 2,900 a day at six doors, two of them the
contract's on-site doors; one viewer account. Then starts the console as a
subprocess (`ops-watch serve`: one uvicorn worker, as deployed) and logs `--clients` requests.Sessions in one
after the other. Each client in turn asks for the findings list (a rotation of filters, sorts and deep
pages), a finding's page (a random id), the overview and the month's shift proof table (this month twice,
last month once), in two phases of `--seconds`:
- people: each client pauses `--think` seconds (default 1–3, drawn at random) after a page, as a person
  reading it does: 20 supervisors using the console at once. The targets are judged on this phase.
- flood: the same clients with no pause at all (`--no-flood` skips it): the most the console serves, each
  request waiting behind the other 19. Printed, not judged: no target is named for it.

Printed per page: requests, errors (any status but 200), p50 and p95 of the server's latency (its
Server-Timing header: from the request reaching the application, waiting for a page thread included, until
the response is ready) and of the client's (until the whole body is read over loopback, which adds the
client threads' own time on the same machine). "alone": each page with no other client, before the load.
"first": the first overview and proof tables, which compute what the console then shares for a minute
(store/shared.py). The server's peak RSS (VmHWM, /proc) and at the end. Targets (issue 18), each printed PASS
or MISS: server p95 < 200 ms for the list and the finding page, < 500 ms for the proof table; RSS < 150 MB.
The overview has no target: printed, not judged. On a shared machine the figures vary from run to run:
compare runs made back to back.
"""

from __future__ import annotations

import argparse
import html.parser
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from console_site import free_port, start_server, write_config  # noqa: E402
from sqlalchemy import insert, update  # noqa: E402

from ops_watch import plugins  # noqa: E402
from ops_watch.areas.staffing.kind_door import dedupe_key  # noqa: E402
from ops_watch.config import WebConfig  # noqa: E402
from ops_watch.findings.rules import load_rules  # noqa: E402
from ops_watch.store import open_store  # noqa: E402
from ops_watch.store.schema import (  # noqa: E402
    DoorEvent,
    EvidenceBatch,
    Finding,
    FindingEvent,
    StaffMember,
)
from ops_watch.web.accounts import add_user  # noqa: E402
from ops_watch.web.sessions import COOKIE  # noqa: E402

USER = "bench"
PASSWORD = "Watch-console-2026!"
TARGET_P95_MS = 200.0  # the findings list and a finding's page
TARGET_PROOF_P95_MS = 500.0  # the month's shift proof table
TARGET_RSS_MB = 150.0
CHUNK = 5000
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟 芳 娜 敏 静 强 磊 军 洋 勇 艳 杰 涛 明 超 秀英 建国".split()
# The contract's on-site doors (rules/contract.toml [staffing] onsite_doors) and others, which prove nothing.
DOORS = ("机房A区门", "运维值班室", "机房B门", "监控室", "配电室", "大厅门禁")
# The list page as people use it: the default (active), by area, severity, status, sorted, deep pages.
LIST_QUERIES = (
    "",
    "?area=resources",
    "?area=staffing&status=all",
    "?severity=critical",
    "?status=resolved",
    "?status=resolved&page=40",
    "?status=all&sort=severity",
    "?status=all&sort=last_seen&order=asc&page=3",
    "?subject=VM-01",
    "?status=all&from=2026-01-01&to=2026-06-30",
)


def build(url: str, findings: int, now: datetime, door_days: int, active_share: float) -> dict[str, int]:
    rng = random.Random(18)
    rules = [r for r in load_rules(ROOT / "rules").rules if r.enabled]
    store = open_store(url)
    year = timedelta(days=365)
    finding_rows: list[dict] = []
    event_rows: list[dict] = []
    active = 0
    for i in range(1, findings + 1):
        rule = rules[i % len(rules)]
        first = now - year + timedelta(seconds=rng.randrange(int(year.total_seconds())))
        # `active_share` still active (7/10 open, 2/10 acknowledged, 1/10 silenced), the rest resolved within
        # days: a year of findings of which the center left a backlog.
        roll = rng.random() / active_share
        status = (
            "open" if roll < 0.7 else "acknowledged" if roll < 0.9 else "silenced" if roll < 1 else "resolved"
        )
        resolved = None
        if status == "resolved":
            resolved = min(first + timedelta(hours=rng.randrange(1, 24 * 14)), now)
        else:
            active += 1
        last = resolved or now - timedelta(minutes=rng.randrange(1, 600))
        subject = f"VM-{i % 20000:05d}" if rule.check.area == "resources" else f"{rule.id}#{i}"
        finding_rows.append(
            {
                "id": i,
                "fingerprint": f"{i:040d}",
                "rule_id": rule.id,
                "check": rule.check.name,
                "area": rule.check.area,
                "severity": rule.severity,
                "status": status,
                "subject": subject,
                "period_start": first.replace(hour=0, minute=0, second=0, microsecond=0),
                "period_end": first.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1),
                "summary": f"{subject}（警务云／刑侦支队）{rule.title}：近 14 天 CPU 闲置，可回收 8 vCPU、16 GB 内存",
                "evidence": {
                    "resource_id": subject,
                    "cpu_p95": round(rng.uniform(0.5, 4.0), 2),
                    "samples": 336,
                    "rows": [
                        {"day": f"2026-11-{d:02d}", "cpu_p95": round(rng.uniform(0.5, 4.0), 2)}
                        for d in range(1, 8)
                    ],
                },
                "first_seen": first,
                "last_seen": last,
                "resolved_at": resolved,
                "silenced_until": now + timedelta(days=7) if status == "silenced" else None,
                "notified_status": status,
                "thread_message_id": "",
            }
        )
        event_rows.append(
            {
                "finding_id": i,
                "at": first,
                "action": "opened",
                "actor": "ops-watch",
                "reason": "",
                "until": None,
            }
        )
        if status == "acknowledged":
            event_rows.append(
                {
                    "finding_id": i,
                    "at": first + timedelta(hours=1),
                    "action": "acknowledged",
                    "actor": "张伟",
                    "reason": "已通知运维方处理",
                    "until": None,
                }
            )
        if resolved is not None:
            event_rows.append(
                {
                    "finding_id": i,
                    "at": resolved,
                    "action": "resolved",
                    "actor": "ops-watch",
                    "reason": "",
                    "until": None,
                }
            )
    with store.session() as s:
        for k in range(0, len(finding_rows), CHUNK):
            s.execute(insert(Finding), finding_rows[k : k + CHUNK])
        for k in range(0, len(event_rows), CHUNK):
            s.execute(insert(FindingEvent), event_rows[k : k + CHUNK])
    del finding_rows, event_rows

    doors = _door_events(store, rng, now, door_days)
    add_user(store, WebConfig(), USER, PASSWORD, "viewer")
    store.dispose()
    return {"findings": findings, "active": active, "door_events": doors}


def _batch(store, kind: str, source: str, at: datetime, rows: int) -> int:
    """An accepted batch of `rows` rows, received at `at`; its id."""
    with store.session() as s:
        return s.scalar(
            insert(EvidenceBatch)
            .values(
                kind=kind,
                source=source,
                sha256=f"{kind}:{source}".encode().hex()[:64].ljust(64, "0"),
                received_at=at,
                evidence_time=at,
                status="accepted",
                rows_total=rows,
                rows_ok=rows,
            )
            .returning(EvidenceBatch.id)
        )


def _door_events(store, rng: random.Random, now: datetime, days: int) -> int:
    """`days` of door events before `now`: 50 people, readers in and out at 6 doors, ~2,800 events a day."""
    if days <= 0:
        return 0
    people = [
        (f"YW-{i:04d}", rng.choice(SURNAMES) + rng.choice(GIVEN), f"30051{rng.randrange(10**5):05d}")
        for i in range(1, 51)
    ]
    start = now - timedelta(days=days)
    batch = _batch(store, "door_events", "门禁记录-bench.csv", now, 0)
    staff_batch = _batch(store, "staff", "人员名册-bench.xlsx", start, len(people))
    with store.session() as s:
        s.execute(
            insert(StaffMember),
            [
                {
                    "person_id": person_id,
                    "name": name,
                    "card_numbers": [card],
                    "role": "值班长" if k % 5 == 0 else "运维工程师",
                    "employer": "运维服务商",
                    "active_from": (now - timedelta(days=days + 30)).date(),
                    "active_to": None,
                    "certificates": [{"name": "CISP", "expires": "2030-12-31"}] if k % 3 == 0 else [],
                    "updated_at": now,
                    "batch_id": staff_batch,
                }
                for k, (person_id, name, card) in enumerate(people)
            ],
        )
    rows: list[dict] = []
    serial = 0
    step = 30.0  # seconds between events on average: ~2,880 a day
    at = start
    total = 0
    while at < now:
        at += timedelta(seconds=rng.expovariate(1 / step))
        person_id, name, card = rng.choice(people)
        door = rng.choice(DOORS)
        way = rng.randrange(2)
        device = f"DS-K1T671-{DOORS.index(door):02d}{'IO'[way]}"
        serial += 1
        rows.append(
            {
                "at": at,
                "person_id": person_id,
                "name": name,
                "card_no": card,
                "door": door,
                "direction": ("in", "out")[way],
                "result": "denied" if rng.random() < 0.01 else "granted",
                "device": device,
                "serial_no": str(serial),
                "dedupe_key": dedupe_key(at, person_id, card, door, device, str(serial)),
                "batch_id": batch,
            }
        )
        if len(rows) >= CHUNK:
            with store.session() as s:
                s.execute(insert(DoorEvent), rows)
            total += len(rows)
            rows = []
    with store.session() as s:
        if rows:
            s.execute(insert(DoorEvent), rows)
        total += len(rows)
        s.execute(
            update(EvidenceBatch).where(EvidenceBatch.id == batch).values(rows_total=total, rows_ok=total)
        )
    return total


# ---- the server -------------------------------------------------------------------------------------


def rss_mb(pid: int) -> tuple[float, float]:
    """(peak, current) resident set of process `pid`, MB (10^6 bytes), from /proc/<pid>/status."""
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0]) * 1024 / 1e6
    return values.get("VmHWM", 0.0), values.get("VmRSS", 0.0)


# ---- the clients ------------------------------------------------------------------------------------


class _Hidden(html.parser.HTMLParser):
    """The hidden fields of the login form (its CSRF token, where to go next)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and a.get("type") == "hidden" and a.get("name"):
            self.fields[a["name"] or ""] = a.get("value") or ""


def login(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=30)
    page.raise_for_status()
    parser = _Hidden()
    parser.feed(page.text)
    done = session.post(
        f"{base}/login",
        data={**parser.fields, "name": USER, "password": PASSWORD},
        timeout=30,
        allow_redirects=False,
    )
    if done.status_code != 303 or not session.cookies.get(COOKIE):
        raise SystemExit(f"login failed: {done.status_code}\n{done.text[:2000]}")
    return session


PAGES = ("list", "finding", "overview", "staffing")
NAMES = {
    "list": "findings list",
    "finding": "finding page",
    "overview": "overview",
    "staffing": "shift proof table",
}
TARGETS_MS = {"list": TARGET_P95_MS, "finding": TARGET_P95_MS, "staffing": TARGET_PROOF_P95_MS}


def _month(now: datetime, back: int) -> str:
    year, month = now.year, now.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return f"{year:04d}-{month:02d}"


def page_url(base: str, page: str, k: int, rng: random.Random, findings: int) -> str:
    if page == "list":
        return f"{base}/findings{LIST_QUERIES[k % len(LIST_QUERIES)]}"
    if page == "finding":
        return f"{base}/findings/{rng.randint(1, findings)}"
    if page == "staffing":
        # this month's proof most often, last month's (handed to the contractor early in a month) now and then
        back = (0, 0, 1)[k % 3]
        return f"{base}/staffing" + (f"?month={_month(datetime.now(UTC), back)}" if back else "")
    return f"{base}/"


def timed_get(session: requests.Session, url: str) -> tuple[float, float] | None:
    """(client ms, server ms): from sending the request until its whole body is read, and the time the
    server says it took (its Server-Timing header); None unless it was a 200."""
    started = time.perf_counter()
    try:
        response = session.get(url, timeout=120, allow_redirects=False)
        _ = response.content
    except requests.RequestException:
        return None
    took = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        return None
    timing = response.headers.get("server-timing", "")
    server = float(timing.partition("dur=")[2] or "nan")
    return took, server


def client(
    session: requests.Session,
    pages: tuple[str, ...],
    base: str,
    stop_at: float,
    seed: int,
    findings: int,
    think: tuple[float, float],
    out: dict[str, list[tuple[float, float]]],
    errors: dict[str, int],
) -> None:
    """Ask for the pages in turn until `stop_at`, pausing a random `think` (seconds) after each page."""
    rng = random.Random(seed)
    k = seed
    time.sleep(rng.uniform(*think))  # people do not all click at the same instant
    while time.monotonic() < stop_at:
        page = pages[k % len(pages)]
        took = timed_get(session, page_url(base, page, k // len(pages), rng, findings))
        k += 1
        if took is None:
            errors[page] += 1
        else:
            out[page].append(took)
        pause = rng.uniform(*think)
        if pause:
            time.sleep(min(pause, max(0.0, stop_at - time.monotonic())))


def load(
    clients: list[requests.Session],
    pages: tuple[str, ...],
    base: str,
    seconds: int,
    findings: int,
    think: tuple[float, float],
) -> tuple[dict[str, list[tuple[float, float]]], dict[str, int]]:
    """Every client in its own thread for `seconds`: the (client, server) ms of each page, and the errors."""
    out: dict[str, list[tuple[float, float]]] = {page: [] for page in PAGES}
    errors = dict.fromkeys(PAGES, 0)
    stop_at = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=client,
            args=(session, pages, base, stop_at, i, findings, think, out, errors),
            daemon=True,
        )
        for i, session in enumerate(clients)
    ]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(0.5)
    return out, errors


def table(
    pages: tuple[str, ...],
    out: dict[str, list[tuple[float, float]]],
    errors: dict[str, int],
    single: dict[str, list[tuple[float, float]]],
    judge: bool,
) -> bool:
    """Print one phase's figures; with `judge`, each named target's PASS or MISS (all passed: True)."""
    print(
        f"{'page':<20}{'requests':>9}{'errors':>7}{'server p50':>11}{'p95':>8}{'client p50':>11}{'p95':>8}"
        f"{'alone':>7}  " + ("target (server p95)" if judge else "(not judged)")
    )
    ok = True
    for page in [x for x in PAGES if x in pages]:
        server = [x[1] for x in out[page]]
        client_ms = [x[0] for x in out[page]]
        p50, p95 = percentile(server, 0.5), percentile(server, 0.95)
        target = TARGETS_MS.get(page)
        verdict = ""
        if judge and target is None:
            verdict = "(no target named)"
        elif judge and target is not None:
            good = p95 < target and errors[page] == 0 and bool(out[page])
            ok &= good
            verdict = f"< {target:.0f} ms: {'PASS' if good else 'MISS'}"
        solo = percentile([x[1] for x in single[page]], 0.5)
        print(
            f"{NAMES[page]:<20}{len(out[page]):>9}{errors[page]:>7}{p50:>11.1f}{p95:>8.1f}"
            f"{percentile(client_ms, 0.5):>11.1f}{percentile(client_ms, 0.95):>8.1f}{solo:>7.1f}  {verdict}"
        )
    return ok


def alone(
    session: requests.Session, base: str, findings: int, rounds: int
) -> dict[str, list[tuple[float, float]]]:
    """Each page `rounds` times with no other client: the server's own time plus loopback."""
    rng = random.Random(0)
    out: dict[str, list[tuple[float, float]]] = {page: [] for page in PAGES}
    for page in PAGES:
        for k in range(rounds):
            took = timed_get(session, page_url(base, page, k, rng, findings))
            if took is not None:
                out[page].append(took)
    return out


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def run(args: argparse.Namespace) -> bool:
    pages = tuple(p.strip() for p in args.pages.split(",") if p.strip())
    unknown = sorted(set(pages) - set(PAGES))
    if unknown or not pages:
        raise SystemExit(
            f"--pages: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(PAGES)}"
        )
    try:
        lo, _, hi = args.think.partition("-")
        think = (float(lo), float(hi or lo))
    except ValueError:
        raise SystemExit(f"--think {args.think!r}: give seconds or a range, e.g. 2 or 1-3") from None
    plugins.load()
    workdir = Path(tempfile.mkdtemp(prefix="ops-watch-bench-web-"))
    url = f"sqlite:///{workdir / 'ops-watch.db'}"
    now = datetime.now(UTC).replace(microsecond=0)
    proc = None
    first: dict[str, tuple[float, float] | None] = {}
    try:
        started = time.perf_counter()
        built = build(url, args.findings, now, args.door_days, args.active_share)
        print(
            f"store: {built['findings']:,} findings ({built['active']:,} active), {built['door_events']:,} door events "
            f"over {args.door_days} days (50 people in the registry), SQLite, built in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        port = free_port()
        cfg = write_config(workdir, url, port)
        proc = start_server(cfg, port, workdir / "server.log")
        how = "ops-watch serve (one uvicorn worker)"
        base = f"http://127.0.0.1:{port}"
        start_rss = rss_mb(proc.pid)[1]
        print(f"server: {how}, pid {proc.pid}, {base}, RSS at start {start_rss:.1f} MB", flush=True)
        # Warm-up: one of each page, so the first requests' imports are not in the figures. The first overview
        # and proof table compute what the console then shares for a minute (store/shared.py): their times are
        # printed as "first".
        warm = login(base)
        rng = random.Random(1)
        for page in PAGES:
            first[page] = timed_get(warm, page_url(base, page, 0, rng, args.findings))
        first["staffing, last month"] = timed_get(warm, page_url(base, "staffing", 2, rng, args.findings))
        # Each client logs in first, one after the other, as people arrive: a login hashes the password
        # (Argon2id, 19 MiB each), 20 of them at the same instant would be a different benchmark.
        clients = [login(base) for _ in range(args.clients)]
        login_peak = rss_mb(proc.pid)[0]
        single = alone(clients[0], base, args.findings, len(LIST_QUERIES))
        users = load(clients, pages, base, args.seconds, args.findings, think)
        users_rss = rss_mb(proc.pid)[0]
        flood = load(clients, pages, base, args.seconds, args.findings, (0.0, 0.0)) if args.flood else None
        peak, now_rss = rss_mb(proc.pid)
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if args.keep:
            print(f"kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print("first request of a page (computes what is then shared), client ms / server ms:")
    for page, took in first.items():
        print(f"  {NAMES.get(page, page):<28}" + (f"{took[0]:8.1f} / {took[1]:8.1f}" if took else "  failed"))
    print(
        f"{args.clients} people at once for {args.seconds} s, each pausing {think[0]:g}–{think[1]:g} s after a page "
        "(reading it). server: the time the console took (its Server-Timing: from the request reaching it, "
        "waiting for a page thread included, until the response was ready); client: until the whole body was "
        "read over loopback (adds the client threads' own time on the same 2 cores); alone: the same pages "
        "with no other client (server ms):"
    )
    ok = table(pages, *users, single, judge=True)
    print(f"throughput: {sum(len(v) for v in users[0].values()) / args.seconds:.1f} requests/s")
    if flood is not None:
        print(
            f"the same {args.clients} clients with no pause between pages for {args.seconds} s (the most the "
            "console serves: every request waits behind the others; no target is named for it):"
        )
        table(pages, *flood, single, judge=False)
        print(f"throughput: {sum(len(v) for v in flood[0].values()) / args.seconds:.1f} requests/s")
    rss_ok = peak < TARGET_RSS_MB
    ok &= rss_ok
    print(
        f"server RSS: peak {peak:.1f} MB (after the logins {login_peak:.1f} MB, after the people "
        f"{users_rss:.1f} MB), at the end {now_rss:.1f} MB  "
        f"target < {TARGET_RSS_MB:.0f} MB: {'PASS' if rss_ok else 'MISS'}"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument(
        "--door-days", type=int, default=365, help="days of door events before now (default a year; 0: none)"
    )
    parser.add_argument(
        "--active-share", type=float, default=0.02, help="share of the findings still active (default 0.02)"
    )
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument(
        "--pages",
        default=",".join(PAGES),
        help="the pages the clients ask for in turn (default list,finding,overview,staffing): "
        "e.g. list,finding to see them without the others' load",
    )
    parser.add_argument("--seconds", type=int, default=30, help="of each load phase (default 30)")
    parser.add_argument(
        "--think",
        default="1-3",
        help="seconds a person pauses after a page, drawn from this range (default 1-3; 0 for none)",
    )
    parser.add_argument(
        "--no-flood",
        dest="flood",
        action="store_false",
        help="skip the second phase (the same clients with no pause: the most the console serves)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory (store, config, log)"
    )
    args = parser.parse_args()
    if not run(args):
        sys.exit(1)


if __name__ == "__main__":
    main()
