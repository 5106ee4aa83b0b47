"""evidence batches: known_from (when a check may first see the batch)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evidence_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("known_from", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evidence_batches", schema=None) as batch_op:
        batch_op.drop_column("known_from")
