"""Smart dispatch: the registry of trained model files and the dispatchers' correction labels.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

import sudi.core.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dispatch_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("trained_at", sudi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("trained_by", sa.String(length=64), nullable=False),
        sa.Column("training_size", sa.Integer(), nullable=False),
        sa.Column("held_out_size", sa.Integer(), nullable=False),
        sa.Column("quality", sa.JSON(), nullable=True),
        sa.Column("compared_with", sa.JSON(), nullable=True),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_models")),
        sa.UniqueConstraint("kind", "version", name="uq_dispatch_models_kind_version"),
    )
    with op.batch_alter_table("dispatch_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispatch_models_kind"), ["kind"], unique=False)
    op.create_table(
        "dispatch_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("suggested", sa.String(length=64), nullable=True),
        sa.Column("chosen", sa.String(length=64), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=64), nullable=False),
        sa.Column("at", sudi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["appeal_id"], ["appeals.id"], name=op.f("fk_dispatch_labels_appeal_id_appeals"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_labels")),
    )
    with op.batch_alter_table("dispatch_labels", schema=None) as batch_op:
        batch_op.create_index("ix_dispatch_labels_kind_appeal", ["kind", "appeal_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dispatch_labels", schema=None) as batch_op:
        batch_op.drop_index("ix_dispatch_labels_kind_appeal")
    op.drop_table("dispatch_labels")
    with op.batch_alter_table("dispatch_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispatch_models_kind"))
    op.drop_table("dispatch_models")
