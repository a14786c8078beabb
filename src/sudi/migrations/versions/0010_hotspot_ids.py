"""Hotspot ids are never given twice: the mining state records the highest id given.

SQLite numbers a new row the highest stored id + 1, so when a join's merge deleted the newest
hotspot, the next new one took its id and an old link to the merged hotspot opened another.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hotspot_model") as batch:
        batch.add_column(sa.Column("last_hotspot_id", sa.Integer(), nullable=False, server_default="0"))
    # An id deleted before now is not known any more; the highest stored is the best start.
    op.execute("UPDATE hotspot_model SET last_hotspot_id = (SELECT COALESCE(MAX(id), 0) FROM hotspots)")


def downgrade() -> None:
    with op.batch_alter_table("hotspot_model") as batch:
        batch.drop_column("last_hotspot_id")
