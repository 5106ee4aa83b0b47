"""findings: indexes for the console's lists and overview (status+first_seen, first_seen, last_seen,
resolved_at, severity); finding_events by action (the score's reopened findings)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_findings_status_first_seen": ["status", "first_seen"],
    "ix_findings_first_seen": ["first_seen"],
    "ix_findings_last_seen": ["last_seen"],
    "ix_findings_resolved_at": ["resolved_at"],
    "ix_findings_severity": ["severity"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "findings", columns)
    op.create_index("ix_finding_events_action", "finding_events", ["action", "finding_id"])


def downgrade() -> None:
    op.drop_index("ix_finding_events_action", table_name="finding_events")
    for name in INDEXES:
        op.drop_index(name, table_name="findings")
