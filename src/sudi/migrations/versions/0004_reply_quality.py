"""Reply quality: the score of every reply sent to a citizen.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

import sudi.core.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reply_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sudi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("overall", sa.Float(), nullable=False),
        sa.Column("relevance", sa.Float(), nullable=False),
        sa.Column("completeness", sa.Float(), nullable=False),
        sa.Column("normativity", sa.Float(), nullable=False),
        sa.Column("timeliness", sa.Float(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("weak_codes", sa.String(length=255), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["appeal_id"], ["appeals.id"], name=op.f("fk_reply_reviews_appeal_id_appeals"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_id"], ["appeal_events.id"],
                                name=op.f("fk_reply_reviews_event_id_appeal_events"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_reply_reviews_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_reviews")),
    )
    with op.batch_alter_table("reply_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reply_reviews_appeal_id"), ["appeal_id"], unique=False)
        batch_op.create_index("ix_reply_reviews_unit_resolved", ["unit_id", "resolved_at"], unique=False)
        batch_op.create_index("ix_reply_reviews_resolved", ["resolved_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reply_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_reply_reviews_resolved")
        batch_op.drop_index("ix_reply_reviews_unit_resolved")
        batch_op.drop_index(batch_op.f("ix_reply_reviews_appeal_id"))
    op.drop_table("reply_reviews")
