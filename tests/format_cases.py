"""Data-file cases of the evidence kinds: what the parser makes of a file, in the shape of its .expected.json.

Each tests/data/formats/<kind>/<case>.csv has a <case>.expected.json beside it: the records, the faults as
[row, column as the file names it, value], or the columns a rejected file is missing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ops_watch.formats import get_kind
from ops_watch.formats.records import FileRejected, read_records
from ops_watch.formats.spec import ParseContext
from ops_watch.formats.tabular import open_table

DATA = Path(__file__).resolve().parent / "data" / "formats"


def run_case(kind: str, path: Path, ctx: ParseContext | None = None) -> dict[str, Any]:
    spec = get_kind(kind)
    with open_table(path) as table:
        try:
            stream = read_records(spec, table.rows(), ctx or ParseContext())
        except FileRejected as exc:
            return {"rejected": [f.column for f in exc.faults]}
        rows = list(stream.rows)
        out: dict[str, Any] = {"encoding": table.detail.get("encoding"), "header_row": stream.header_row}
    if stream.header_map.ignored:
        out["ignored_columns"] = list(stream.header_map.ignored)
    records = [spec.to_row(r.record) for r in rows if r.record is not None]
    out["records"] = json.loads(json.dumps(records, default=str))
    out["faults"] = [[r.number, f.label, f.value] for r in rows for f in r.faults]
    return out


def cases(kind: str) -> list[Path]:
    return sorted((DATA / kind).glob("*.csv"))


def expected(case: Path) -> dict[str, Any]:
    return json.loads(case.with_suffix(".expected.json").read_text(encoding="utf-8"))
