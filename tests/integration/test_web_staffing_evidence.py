"""The 人员 and 证据 pages of the console, served for real on loopback: the staffing rate, shift table and
attendance sheet are the CLI's (the same functions), XLSX downloads with a UTF-8 file name; evidence batches
with filters and pages, a batch's refused rows escaped, its .errors.csv report (never a file outside the drop
folder or the ingest reports), each kind's newest evidence as evidence_freshness sees it."""

from __future__ import annotations

import io
import json
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import openpyxl
import pytest
import requests
import test_web_console
from sqlalchemy import select

from ops_watch.areas.evidence.checks import latest_evidence_time
from ops_watch.areas.staffing.attendance import attendance, exempt_roles, summary_rows
from ops_watch.areas.staffing.presence import build_view, month_bounds, rates, shift_rows
from ops_watch.core.timeutil import format_local, from_store, utcnow
from ops_watch.findings.registry import CheckContext
from ops_watch.ingest import ingest_drop_folder
from ops_watch.store.schema import EvidenceBatch, RowError
from tests.integration.test_staffing_examples import ZONE, drop, example_config

Console = test_web_console.Console
XSS = test_web_console.XSS
XSS_IMG = test_web_console.XSS_IMG
make_console = test_web_console.make_console  # the fixture, shared


@pytest.fixture
def web(store: Any, make_console: Callable[..., Console]) -> Console:  # noqa: F811
    return make_console(store)


@pytest.fixture
def staffed(store: Any, tmp_path: Path, make_console: Callable[..., Console]) -> Console:  # noqa: F811
    """The demo's staffing evidence (examples/: registry, doors, sheets of 2026-10-19 to 11-15)."""
    config = example_config(tmp_path / "examples")
    drop(config, "staff", "door", "handover")
    assert {r.status for r in ingest_drop_folder(store, config)} == {"accepted"}
    return make_console(store)


def _no_raw(text: str) -> None:
    assert XSS not in text and XSS_IMG not in text
    assert "<script>alert" not in text and "<img" not in text


def _cells(html: str, table_class: str) -> list[list[str]]:
    body = re.search(rf'<table class="list {table_class}">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert body, html
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)
    ]


# ---- 人员 -------------------------------------------------------------------------------------------------


def test_staffing_page_shows_the_clis_figures(staffed: Console) -> None:
    http_ = staffed.session("viewer1")
    page = http_.get(staffed.url("/staffing?month=2026-11"))
    assert page.status_code == 200, page.text
    rt = staffed.rt
    at = utcnow()
    first, last = month_bounds("2026-11")
    with rt.store.session() as s:
        view = build_view(s, rt.rules.contract, rt.config.site.zone, at, first, last)
        before = build_view(s, rt.rules.contract, rt.config.site.zone, at, *month_bounds("2026-10"))
    (month,) = rates(view, "all")
    (october,) = rates(before, "all")
    rate_rows = _cells(page.text, "rate")
    assert rate_rows[0][:3] == ["2026-11", str(month.required), str(month.evidenced)]
    assert rate_rows[0][3] == f"{month.rate * 100:.1f}%"
    assert rate_rows[1][:3] == ["2026-10", str(october.required), str(october.evidenced)]

    shifts = _cells(page.text, "shifts")
    expected = shift_rows(view, "zh")
    assert len(shifts) == len(expected) == len(view.shifts)
    assert [r[:2] for r in shifts] == [[r["day"], r["shift"]] for r in expected]
    assert [r[-1] for r in shifts] == [r["status"] for r in expected]

    people = _cells(page.text, "attendance")
    sheet = summary_rows(attendance(view, first, last, exempt_roles(rt.rules)))
    assert [r[0] for r in people] == [r["person_id"] for r in sheet]
    assert [r[3] for r in people] == [str(r["hours"]) for r in sheet]


def test_staffing_default_month_and_bad_month(staffed: Console) -> None:
    http_ = staffed.session("viewer1")
    page = http_.get(staffed.url("/staffing"))
    assert page.status_code == 200
    assert utcnow().astimezone(ZONE).strftime("%Y-%m") in page.text
    for bad in ("2026-13", "november", "2026-11-01", XSS):
        answer = http_.get(staffed.url("/staffing"), params={"month": bad})
        assert answer.status_code == 400, bad
        assert "2026-11" in answer.text
        _no_raw(answer.text)
        assert http_.get(staffed.url("/staffing/shifts.xlsx"), params={"month": bad}).status_code == 400


@pytest.mark.parametrize(
    ("path", "name", "title"),
    [
        ("/staffing/shifts.xlsx", "班次到岗证明-2026-11.xlsx", "班次"),
        ("/staffing/attendance.xlsx", "考勤月报-2026-11.xlsx", "考勤月报"),
    ],
)
def test_staffing_xlsx_downloads(staffed: Console, path: str, name: str, title: str) -> None:
    http_ = staffed.session("viewer1")
    answer = http_.get(staffed.url(path + "?month=2026-11"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    star = re.search(r"filename\*=UTF-8''(\S+)", disposition)
    assert star and unquote(star.group(1)) == name
    assert disposition.encode("latin-1")  # the header itself is plain ASCII
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert book.worksheets[0].title == title
    assert requests.get(staffed.url(path), allow_redirects=False).status_code == 303  # a session first


def test_staffing_without_terms_is_a_note(web: Console) -> None:
    contract = dict(web.rt.rules.contract)
    contract.pop("staffing", None)
    web.rt.rules.contract = contract
    http_ = web.session("viewer1")
    page = http_.get(web.url("/staffing?month=2026-11"))
    assert page.status_code == 200
    assert "[staffing]" in page.text
    assert http_.get(web.url("/staffing/attendance.xlsx?month=2026-11")).status_code == 404


# ---- 证据 -------------------------------------------------------------------------------------------------

INVENTORY_HEADER = (
    "资源ID,云平台,租户单位,资源类型,CPU核数,内存(GB),存储(GB),需备份,IP地址,分配日期,回收日期\n"
)


def _drop(web: Console, name: str, text: str, kind: str = "inventory") -> None:
    folder = web.rt.config.drop_dir / kind
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    settled = time.time() - 3600  # written an hour ago: settled, the scan takes it
    os.utime(folder / name, (settled, settled))


def _ingest(web: Console) -> dict[str, Any]:
    results = ingest_drop_folder(web.store, web.rt.config)
    return {r.path.name: r for r in results}


def test_evidence_batches_list_filter_pages_and_the_batch_page(web: Console) -> None:
    good = "JWY-VM-0001,警务云,刑侦支队,虚拟机,16,64,2048,是,10.12.1.11,2024-03-01,\n"
    bad = f"JWY-VM-0002,警务云,{XSS},虚拟机,{XSS},32,1024,是,10.12.1.12,2024-03-01,\n"
    _drop(web, "inventory-2026-11.csv", INVENTORY_HEADER + good + bad)
    _drop(web, f"{XSS_IMG}.csv", "nothing,here\n1,2\n")
    results = _ingest(web)
    assert {r.status for r in results.values()} >= {"rejected"}
    with web.store.session() as s:
        batches = {b.source: b for b in s.scalars(select(EvidenceBatch))}
        errors = list(s.scalars(select(RowError)))
        s.expunge_all()
    partial = batches["inventory-2026-11.csv"]
    errors = [e for e in errors if e.batch_id == partial.id]
    assert partial.rows_bad == 1 and errors
    refused = next(b for b in batches.values() if b.status == "rejected")

    http_ = web.session("viewer1")
    page = http_.get(web.url("/evidence"))
    assert page.status_code == 200
    _no_raw(page.text)
    assert f'/evidence/batches/{partial.id}"' in page.text and f'/evidence/batches/{refused.id}"' in page.text
    only = http_.get(web.url("/evidence?status=rejected"))
    assert f'/evidence/batches/{refused.id}"' in only.text
    assert f'/evidence/batches/{partial.id}"' not in only.text
    assert f'/evidence/batches/{partial.id}"' not in http_.get(web.url("/evidence?kind=door")).text
    assert http_.get(web.url("/evidence?status=nope")).status_code == 400
    assert http_.get(web.url("/evidence?page=0")).status_code == 400

    one = http_.get(web.url(f"/evidence/batches/{partial.id}"))
    assert one.status_code == 200
    _no_raw(one.text)
    assert "&lt;script&gt;" in one.text
    assert len(_cells(one.text, "row-errors")) == len(errors)
    assert http_.get(web.url("/evidence/batches/999999")).status_code == 404
    assert http_.get(web.url("/evidence/batches/99999999999999999999999")).status_code in (400, 404)

    # The refused file's report: downloaded from rejected/, as written beside the file.
    page = http_.get(web.url(f"/evidence/batches/{refused.id}"))
    assert f"/evidence/batches/{refused.id}/errors.csv" in page.text
    report = http_.get(web.url(f"/evidence/batches/{refused.id}/errors.csv"))
    assert report.status_code == 200
    assert report.content == Path(refused.stored_path + ".errors.csv").read_bytes()
    assert "filename*=UTF-8''" in report.headers["content-disposition"]


def test_errors_csv_never_outside_the_drop_folder(web: Console, tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    (tmp_path / "secret.txt.errors.csv").write_text("secret", encoding="utf-8")
    inside_link = web.rt.config.drop_dir / "rejected" / "link.csv"
    inside_link.parent.mkdir(parents=True, exist_ok=True)
    (inside_link.parent / "link.csv.errors.csv").symlink_to(tmp_path / "secret.txt.errors.csv")
    with web.store.session() as s:
        ids = []
        for stored in (
            str(outside),
            str(web.rt.config.drop_dir / "rejected" / ".." / ".." / "secret.txt"),
            str(inside_link),
            str(web.rt.config.drop_dir / "rejected" / "gone.csv"),
        ):
            b = EvidenceBatch(
                kind="inventory",
                source="x.csv",
                received_at=datetime(2026, 11, 2, tzinfo=UTC),
                status="rejected",
                stored_path=stored,
            )
            s.add(b)
            s.flush()
            ids.append(b.id)
    http_ = web.session("viewer1")
    for batch_id in ids:
        answer = http_.get(web.url(f"/evidence/batches/{batch_id}/errors.csv"))
        assert answer.status_code == 404, batch_id
        assert "secret" not in answer.text
    assert (
        requests.get(web.url(f"/evidence/batches/{ids[0]}/errors.csv"), allow_redirects=False).status_code
        == 303
    )


def test_freshness_is_the_checks_view(web: Console) -> None:
    _drop(
        web,
        "inventory-2026-11.csv",
        INVENTORY_HEADER + "JWY-VM-0001,警务云,刑侦支队,虚拟机,16,64,2048,是,10.12.1.11,2024-03-01,\n",
    )
    _ingest(web)
    http_ = web.session("viewer1")
    page = http_.get(web.url("/evidence"))
    rows = {r[0].split()[-1]: r for r in _cells(page.text, "freshness")}
    watched = {r.params.kind: r.id for r in web.rt.rules.enabled if r.check.name == "evidence_freshness"}
    assert "inventory" in watched and set(watched) <= set(rows)
    with web.store.session() as s:
        ctx = CheckContext(session=s, at=utcnow(), zone=ZONE, contract=web.rt.rules.contract)
        latest = from_store(latest_evidence_time(ctx, "inventory"))
    assert latest is not None
    assert rows["inventory"][1] == format_local(latest, ZONE)
    assert rows["inventory"][4] == watched["inventory"]
    # A kind a freshness rule watches but never received is listed as such.
    never = [k for k in watched if k != "inventory"]
    assert never and all(rows[k][1] == "—" for k in never)


def test_a_file_ingested_by_hand_has_its_errors_csv_downloadable(web: Console, tmp_path: Path) -> None:
    """`ops-watch ingest FILE` leaves the file where it is and writes its report under the state directory:
    the batch records where, and the console serves that report (never a path the detail was forged to)."""
    from ops_watch.ingest import ingest_file

    bad = f"JWY-VM-0002,警务云,{XSS},虚拟机,{XSS},32,1024,是,10.12.1.12,2024-03-01,\n"
    mine = tmp_path / "我的导出" / "inventory-by-hand.csv"
    mine.parent.mkdir()
    mine.write_text(INVENTORY_HEADER + bad, encoding="utf-8")
    result = ingest_file(web.store, web.rt.config, "inventory", mine)
    assert result.report_path is not None and result.report_path.is_file()
    assert not Path(str(mine) + ".errors.csv").exists()  # never beside the user's file
    http_ = web.session("viewer1")
    page = http_.get(web.url(f"/evidence/batches/{result.batch_id}"))
    assert f"/evidence/batches/{result.batch_id}/errors.csv" in page.text
    report = http_.get(web.url(f"/evidence/batches/{result.batch_id}/errors.csv"))
    assert report.status_code == 200 and report.content == result.report_path.read_bytes()

    (tmp_path / "secret.errors.csv").write_text("secret", encoding="utf-8")
    with web.store.session() as s:
        batch = s.get(EvidenceBatch, result.batch_id)
        assert batch is not None
        batch.detail = json.dumps({"report_path": str(tmp_path / "secret.errors.csv")})
    forged = http_.get(web.url(f"/evidence/batches/{result.batch_id}/errors.csv"))
    assert forged.status_code == 404 and "secret" not in forged.text
