"""Alembic environment: the engine comes from ops_watch.store.db, never from an alembic.ini."""

from alembic import context

from ops_watch.store.schema import Base, declare_all

declare_all()  # Base.metadata: every table, for Alembic's comparisons (store/schema.py)
engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
