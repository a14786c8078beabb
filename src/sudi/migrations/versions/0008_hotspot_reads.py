"""Hotspot reads at volume: members by hotspot in appeal order, and a version for the stored vocabulary.

The board's map takes each hotspot's first members by appeal id: with an index on the hotspot alone,
PostgreSQL walked the members' primary key and filtered (250 ms for the board at 1,000,000 appeals);
SQLite's index already carried the appeal id (its row id). A join learns that the vocabulary is the
one it has parsed from ``version``, instead of reading (SQLite) or digesting (PostgreSQL) 5.5 MB.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index(op.f("ix_hotspot_members_hotspot_id"), table_name="hotspot_members")
    op.create_index("ix_hotspot_members_hotspot_appeal", "hotspot_members", ["hotspot_id", "appeal_id"],
                    unique=False)
    with op.batch_alter_table("hotspot_model") as batch:
        batch.add_column(sa.Column("version", sa.String(length=32), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("hotspot_model") as batch:
        batch.drop_column("version")
    op.drop_index("ix_hotspot_members_hotspot_appeal", table_name="hotspot_members")
    op.create_index(op.f("ix_hotspot_members_hotspot_id"), "hotspot_members", ["hotspot_id"], unique=False)
