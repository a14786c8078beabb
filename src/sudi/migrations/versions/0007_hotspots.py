"""Hotspots (热点), proactive governance tasks (主动治理) and the monthly theme (每月一题).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

import sudi.core.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hotspots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("place", sa.String(length=128), nullable=False),
        sa.Column("place_kind", sa.String(length=16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("citizens", sa.Integer(), nullable=False),
        sa.Column("supports", sa.Integer(), nullable=False),
        sa.Column("objections", sa.Integer(), nullable=False),
        sa.Column("first_time", sudi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_time", sudi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("growth", sa.Float(), nullable=False),
        sa.Column("heat", sa.Float(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", sudi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotspots")),
    )
    op.create_index("ix_hotspots_status_heat", "hotspots", ["status", "heat"], unique=False)
    op.create_index(op.f("ix_hotspots_last_time"), "hotspots", ["last_time"], unique=False)
    op.create_table(
        "hotspot_members",
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("hotspot_id", sa.Integer(), nullable=False),
        sa.Column("at", sudi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["appeal_id"], ["appeals.id"], name=op.f("fk_hotspot_members_appeal_id_appeals"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["hotspot_id"], ["hotspots.id"],
                                name=op.f("fk_hotspot_members_hotspot_id_hotspots"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("appeal_id", name=op.f("pk_hotspot_members")),
    )
    op.create_index(op.f("ix_hotspot_members_hotspot_id"), "hotspot_members", ["hotspot_id"], unique=False)
    op.create_table(
        "hotspot_keys",
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("hotspot_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["hotspot_id"], ["hotspots.id"], name=op.f("fk_hotspot_keys_hotspot_id_hotspots"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key", "hotspot_id", name=op.f("pk_hotspot_keys")),
    )
    op.create_index(op.f("ix_hotspot_keys_hotspot_id"), "hotspot_keys", ["hotspot_id"], unique=False)
    op.create_table(
        "hotspot_model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vocabulary", sa.JSON(), nullable=False),
        sa.Column("watermark", sa.Integer(), nullable=False),
        sa.Column("computed_at", sudi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("joined_at", sudi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotspot_model")),
    )
    op.create_table(
        "governance_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hotspot_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("deadline", sudi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sudi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("done_at", sudi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_governance_tasks_created_by_id_users")),
        sa.ForeignKeyConstraint(["done_by_id"], ["users.id"], name=op.f("fk_governance_tasks_done_by_id_users")),
        sa.ForeignKeyConstraint(["hotspot_id"], ["hotspots.id"], name=op.f("fk_governance_tasks_hotspot_id_hotspots"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_governance_tasks_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_tasks")),
    )
    op.create_index(op.f("ix_governance_tasks_hotspot_id"), "governance_tasks", ["hotspot_id"], unique=False)
    op.create_index(op.f("ix_governance_tasks_unit_id"), "governance_tasks", ["unit_id"], unique=False)
    op.create_index(op.f("ix_governance_tasks_state"), "governance_tasks", ["state"], unique=False)
    op.create_index(op.f("ix_governance_tasks_done_at"), "governance_tasks", ["done_at"], unique=False)
    op.create_table(
        "monthly_themes",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("hotspot_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("chosen_by_id", sa.Integer(), nullable=True),
        sa.Column("chosen_at", sudi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["chosen_by_id"], ["users.id"], name=op.f("fk_monthly_themes_chosen_by_id_users")),
        sa.ForeignKeyConstraint(["hotspot_id"], ["hotspots.id"], name=op.f("fk_monthly_themes_hotspot_id_hotspots"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_monthly_themes")),
    )


def downgrade() -> None:
    op.drop_table("monthly_themes")
    op.drop_index(op.f("ix_governance_tasks_done_at"), table_name="governance_tasks")
    op.drop_index(op.f("ix_governance_tasks_state"), table_name="governance_tasks")
    op.drop_index(op.f("ix_governance_tasks_unit_id"), table_name="governance_tasks")
    op.drop_index(op.f("ix_governance_tasks_hotspot_id"), table_name="governance_tasks")
    op.drop_table("governance_tasks")
    op.drop_table("hotspot_model")
    op.drop_index(op.f("ix_hotspot_keys_hotspot_id"), table_name="hotspot_keys")
    op.drop_table("hotspot_keys")
    op.drop_index(op.f("ix_hotspot_members_hotspot_id"), table_name="hotspot_members")
    op.drop_table("hotspot_members")
    op.drop_index(op.f("ix_hotspots_last_time"), table_name="hotspots")
    op.drop_index("ix_hotspots_status_heat", table_name="hotspots")
    op.drop_table("hotspots")
