"""trail: trail_seals (the evidence and decisions hash chains), trail_heads (heads as published); the evidence
and decisions already stored are sealed here, one genesis seal each in arrival order (docs/trail.md)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trail_seals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("chain", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("entries", sa.LargeBinary(), nullable=True),
        sa.Column("prev", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.UniqueConstraint("chain", "seq", name="uq_trail_seals_chain_seq"),
    )
    op.create_index("ix_trail_seals_subject", "trail_seals", ["subject"])
    op.create_table(
        "trail_heads",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("chain", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("chain", "day", name="uq_trail_heads_chain_day"),
    )
    # start-up: the sealing code, for this one-off (a migration runs once; Alembic loads it only to migrate)
    from ops_watch.trail.genesis import seal_existing

    with Session(bind=op.get_bind()) as session:
        seal_existing(session)
        session.flush()


def downgrade() -> None:
    op.drop_table("trail_heads")
    op.drop_index("ix_trail_seals_subject", table_name="trail_seals")
    op.drop_table("trail_seals")
