"""Analytics: the dashboards' rollup and the early warnings.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

import sudi.core.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MEASURES = ("received", "open", "resolved", "rejected", "overdue", "supervised", "reopened", "returned",
            "dispatched", "acknowledged_on_time", "due", "resolved_on_time", "followed_up", "solved", "rated",
            "satisfied")


def upgrade() -> None:
    op.create_table(
        "analytics_rollup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grain", sa.String(length=8), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        *[sa.Column(m, sa.Integer(), nullable=False) for m in MEASURES],
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_rollup")),
        sa.UniqueConstraint("grain", "dimension", "day", "key", name="uq_analytics_rollup_cell"),
    )
    op.create_table(
        "analytics_warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("dedup_key", sa.String(length=160), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("appeal_ids", sa.JSON(), nullable=False),
        sa.Column("first_detected_at", sudi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_detected_at", sudi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sudi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("closed_at", sudi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_warnings")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_analytics_warnings_dedup_key")),
    )
    with op.batch_alter_table("analytics_rollup", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_rollup_received", ["grain", "dimension", "day", "key", "received"],
                              unique=False)
    with op.batch_alter_table("analytics_warnings", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_warnings_subject", ["subject", "id"], unique=False)
        batch_op.create_index("ix_analytics_warnings_state", ["state", "last_detected_at"], unique=False)
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.create_index("ix_appeals_live_flags", ["state", "is_overdue", "is_supervised", "resolve_due"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_index("ix_appeals_live_flags")
    with op.batch_alter_table("analytics_warnings", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_warnings_state")
        batch_op.drop_index("ix_analytics_warnings_subject")
    op.drop_table("analytics_warnings")
    op.drop_table("analytics_rollup")
