"""The store: SQLAlchemy 2 tables, the engine, Alembic migrations. Imports nothing of ours above it."""

from ops_watch.store.db import Store, StoreError, open_store, store_locked

__all__ = ["Store", "StoreError", "open_store", "store_locked"]
