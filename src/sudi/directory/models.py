"""Units (承办单位), territory (towns, communities, grids), staff users and the duty list (权责清单)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Float, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sudi.core.db import Base, UTCDateTime


class UnitKind(enum.StrEnum):
    district = "district"          # 区 itself (the command centre sits here)
    centre = "centre"              # 诉求办理中心 / command centre
    department = "department"      # 区直部门
    company = "company"            # 供电/供水/燃气 public utilities
    subdistrict = "subdistrict"    # 街道
    town = "town"                  # 镇
    community = "community"        # 社区
    village = "village"            # 村

    @property
    def is_territorial(self) -> bool:
        return self in (UnitKind.subdistrict, UnitKind.town, UnitKind.community, UnitKind.village)


class Role(enum.StrEnum):
    admin = "admin"
    intake_agent = "intake_agent"
    dispatcher = "dispatcher"
    unit_handler = "unit_handler"
    unit_leader = "unit_leader"
    grid_worker = "grid_worker"
    mediator = "mediator"
    supervisor = "supervisor"
    leader = "leader"


ROLE_LABELS = {
    Role.admin: "系统管理员", Role.intake_agent: "受理员", Role.dispatcher: "派单员",
    Role.unit_handler: "承办人", Role.unit_leader: "单位负责人", Role.grid_worker: "网格员",
    Role.mediator: "调解员", Role.supervisor: "督查员", Role.leader: "区领导",
}


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    short_name: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    # Materialised path ("/1/5/23/") so "this unit and everything under it" is one indexed LIKE.
    path: Mapped[str] = mapped_column(String(255), index=True, default="/")
    phone: Mapped[str] = mapped_column(String(32), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    parent: Mapped[Unit | None] = relationship(remote_side="Unit.id")


class Grid(Base):
    __tablename__ = "grids"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    town_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    community_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    # Deferred: a polygon is only needed for maps and placement, not when an appeal names its grid.
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    centre_lat: Mapped[float] = mapped_column(Float)
    centre_lon: Mapped[float] = mapped_column(Float)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    town: Mapped[Unit] = relationship(foreign_keys=[town_unit_id])
    community: Mapped[Unit | None] = relationship(foreign_keys=[community_unit_id])


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)
    phone: Mapped[str] = mapped_column(String(32), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    unit: Mapped[Unit | None] = relationship()
    grid: Mapped[Grid | None] = relationship()


class ApiToken(Base):
    """A bearer token; only its digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class ApiKey(Base):
    """A key for machine clients (Open311, channel adapters). Stored as a digest."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16), default="app")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


matter_assisting_units = Table(
    "matter_assisting_units", Base.metadata,
    Column("matter_id", ForeignKey("matters.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("units.id"), primary_key=True),
)


class Matter(Base):
    """One entry of the duty list (权责清单): a matter, who handles it, and on what legal basis."""

    __tablename__ = "matters"
    __table_args__ = (Index("ix_matters_unit", "responsible_unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    appeal_kind: Mapped[str] = mapped_column(String(16), default="livelihood")
    # Words that signal the matter in appeal text; used to suggest it and to explain why.
    keywords: Mapped[list[Any]] = mapped_column(JSON, default=list)
    responsible_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    # "functional": the department handles it district-wide; "territorial": the town/subdistrict
    # where it happens handles it (属地管理), with the department assisting.
    territorial_rule: Mapped[str] = mapped_column(String(16), default="functional")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    responsible_unit: Mapped[Unit] = relationship()
    assisting_units: Mapped[list[Unit]] = relationship(secondary=matter_assisting_units)
