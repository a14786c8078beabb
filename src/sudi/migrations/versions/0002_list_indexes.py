"""Indexes for the appeal lists' default orders and the grid worker's own reports.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.create_index("ix_appeals_received", ["received_at", "id"], unique=False)
        batch_op.create_index("ix_appeals_updated", ["updated_at", "id"], unique=False)
        batch_op.create_index("ix_appeals_created_by", ["created_by_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_index("ix_appeals_created_by")
        batch_op.drop_index("ix_appeals_updated")
        batch_op.drop_index("ix_appeals_received")
