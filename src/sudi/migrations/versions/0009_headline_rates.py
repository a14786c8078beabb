"""The dashboards' headline rates are the assessment's: the rollup stops counting its own.

The rollup counted, per day an appeal was received, how many were dispatched, acknowledged in time,
due, resolved in time, followed up, solved, rated and satisfied, for the dashboard's top tiles.
Those tiles now show the district's total of the official assessment (``sudi.assessment``: rounds
from the event trail), as the panel of rates by unit does, so the eight columns are dropped.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

DROPPED = ("dispatched", "acknowledged_on_time", "due", "resolved_on_time", "followed_up", "solved", "rated",
           "satisfied")


def upgrade() -> None:
    with op.batch_alter_table("analytics_rollup") as batch:
        for name in DROPPED:
            batch.drop_column(name)


def downgrade() -> None:
    # Zeros until the next full rebuild (`sudi analytics rebuild`, or the nightly one) counts them.
    with op.batch_alter_table("analytics_rollup") as batch:
        for name in DROPPED:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
