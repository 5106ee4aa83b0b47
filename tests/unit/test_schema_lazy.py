"""Issue 21: `findings list` answers in a fraction of a second, so reading findings declares only the tables it
reads (store/schema.py); the others (store/tables.py) are declared the first time one is named, and whatever
walks every table (Base.metadata, Base.registry) declares them all first."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_modules import modules_after

from ops_watch.store import schema
from ops_watch.store.schema import Base, BatchRows

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_findings_list_declares_only_the_tables_it_reads(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "s.db"}"\n[paths]\nstate_dir = "{tmp_path}"\n')
    modules_after("--config", str(config), "status")  # creates the store (a migration declares every table)
    modules, out = modules_after("--config", str(config), "findings", "list", "--format", "json")
    assert json.loads(out) == []
    assert "ops_watch.store.tables" not in modules, (
        "`findings list` declared every table (store/tables.py: ~0.1 s of its start): name only the tables "
        "store/schema.py declares on this path, or move the one it needs there"
    )
    assert "alembic" not in modules  # a store at the newest schema opens with one plain SELECT


def test_the_other_tables_are_named_through_schema_as_before() -> None:
    tables = schema.declare_all()
    declared = [
        v for v in vars(tables).values() if isinstance(v, type) and issubclass(v, Base) and v is not Base
    ]
    assert len(declared) > 20
    for cls in declared:
        assert getattr(schema, cls.__name__) is cls
    from ops_watch.store.schema import DoorEvent, OutboxMessage  # the usual import

    assert DoorEvent.__tablename__ == "door_events" and OutboxMessage.__table__ is not None
    # Only tables: what tables.py merely imports is no name of schema's, and an unknown name stays unknown.
    with pytest.raises(AttributeError, match="date"):
        _ = schema.date
    with pytest.raises(ImportError):
        exec("from ops_watch.store.schema import NoSuchTable")  # noqa: S102 - a fixed statement


def test_every_table_is_in_the_metadata_once_all_are_declared() -> None:
    names = _python(
        "import json; from ops_watch.store.schema import Base, declare_all; declare_all(); "
        "print(json.dumps(sorted(Base.metadata.tables)))"
    )
    declared = set(json.loads(names))
    assert {"findings", "finding_events", "silences", "evidence_batches"} <= declared
    assert {"door_events", "outbox_messages", "users", "cluster_instances", "staff"} <= declared
    schema.declare_all()
    assert declared == set(Base.metadata.tables)


def test_dropping_a_batch_reaches_the_tables_no_one_named_yet() -> None:
    """store.loading.drop_batch deletes a batch's rows from every batch-backed table: in a process that has
    named none of store/tables.py's, it must still see them all (a half file must not stay as evidence)."""
    names = _python(
        "import json, sys; from ops_watch.store.loading import _batch_backed; "
        "assert 'ops_watch.store.tables' not in sys.modules; "
        "print(json.dumps(sorted(c.__name__ for c in _batch_backed())))"
    )
    schema.declare_all()
    expected = sorted(m.class_.__name__ for m in Base.registry.mappers if issubclass(m.class_, BatchRows))
    assert json.loads(names) == expected
    assert {"DoorEvent", "StaffMember", "RowError"} <= set(expected)
