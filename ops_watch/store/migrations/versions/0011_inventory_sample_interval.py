"""inventory: sample_interval_s (how often the resource's source samples it, as the inventory states)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inventory_resources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sample_interval_s", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inventory_resources", schema=None) as batch_op:
        batch_op.drop_column("sample_interval_s")
