"""The unit assessment's rounds projection (derived from appeal_events; rebuilt on demand).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

import sudi.core.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assessment_rounds",
        sa.Column("round_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("assigned_at", sudi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ack_due", sa.String(length=40), nullable=True),
        sa.Column("final_due", sa.String(length=40), nullable=True),
        sa.Column("acked", sa.SmallInteger(), nullable=False),
        sa.Column("acked_on_time", sa.SmallInteger(), nullable=False),
        sa.Column("returned", sa.SmallInteger(), nullable=False),
        sa.Column("merged", sa.SmallInteger(), nullable=False),
        sa.Column("resolved_at", sudi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_on_time", sa.SmallInteger(), nullable=False),
        sa.Column("followed_at", sudi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("solved", sa.SmallInteger(), nullable=False),
        sa.Column("satisfaction", sa.String(length=20), nullable=True),
        sa.Column("supervised", sa.SmallInteger(), nullable=False),
        sa.Column("next_kind", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["appeal_id"], ["appeals.id"], name=op.f("fk_assessment_rounds_appeal_id_appeals"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("round_id", name=op.f("pk_assessment_rounds")),
    )
    op.create_index("ix_assessment_rounds_assigned", "assessment_rounds", ["assigned_at"], unique=False)
    op.create_index("ix_assessment_rounds_due", "assessment_rounds", ["final_due"], unique=False)
    op.create_index("ix_assessment_rounds_resolved", "assessment_rounds", ["resolved_at"], unique=False)
    op.create_index("ix_assessment_rounds_followed", "assessment_rounds", ["followed_at"], unique=False)
    op.create_index("ix_assessment_rounds_appeal", "assessment_rounds", ["appeal_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_assessment_rounds_appeal", table_name="assessment_rounds")
    op.drop_index("ix_assessment_rounds_followed", table_name="assessment_rounds")
    op.drop_index("ix_assessment_rounds_resolved", table_name="assessment_rounds")
    op.drop_index("ix_assessment_rounds_due", table_name="assessment_rounds")
    op.drop_index("ix_assessment_rounds_assigned", table_name="assessment_rounds")
    op.drop_table("assessment_rounds")
