"""Tables of hotspot mining (热点), proactive governance tasks (主动治理) and the monthly theme (每月一题).

A hotspot row is one cluster of :mod:`sudi.intelligence.hotspots`, stored with what a later appeal
needs to join it (centroid, keys) and what the board shows (title, counts, heat). Clusters below
the hotspot size are stored too while they can still grow (``status = "candidate"``). A full
recompute replaces the hotspot rows; a governance task or a monthly theme keeps a snapshot of its
hotspot so it survives that.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sudi.core.db import Base, UTCDateTime


class HotspotStatus(enum.StrEnum):
    candidate = "candidate"   # fewer appeals than the hotspot size, still open
    active = "active"         # a hotspot


class TaskState(enum.StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"


TASK_STATE_LABELS = {TaskState.open: "办理中", TaskState.done: "已完成", TaskState.cancelled: "已撤销"}


class Hotspot(Base):
    __tablename__ = "hotspots"
    __table_args__ = (Index("ix_hotspots_status_heat", "status", "heat"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    keywords: Mapped[list[Any]] = mapped_column(JSON, default=list)
    place: Mapped[str] = mapped_column(String(128), default="")
    place_kind: Mapped[str] = mapped_column(String(16), default="")
    size: Mapped[int] = mapped_column(Integer)
    citizens: Mapped[int] = mapped_column(Integer)
    supports: Mapped[int] = mapped_column(Integer, default=0)
    objections: Mapped[int] = mapped_column(Integer, default=0)
    first_time: Mapped[datetime] = mapped_column(UTCDateTime)
    last_time: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    growth: Mapped[float] = mapped_column(Float, default=0.0)
    heat: Mapped[float] = mapped_column(Float, default=0.0)
    # What a later appeal is compared with (see sudi.intelligence.hotspots.Cluster). Deferred: a big
    # cluster's state is hundreds of kilobytes that only the join reads (and it asks for it).
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, deferred=True)
    # Deferred too: stored after the state, so SQLite reads all of a big state's pages to reach it.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, deferred=True)


class HotspotMember(Base):
    """An appeal in a hotspot (each appeal in at most one)."""

    __tablename__ = "hotspot_members"
    # A hotspot's members in appeal order (the board's map takes the first ones) without a sort.
    __table_args__ = (Index("ix_hotspot_members_hotspot_appeal", "hotspot_id", "appeal_id"),)

    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), primary_key=True)
    hotspot_id: Mapped[int] = mapped_column(ForeignKey("hotspots.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class HotspotKey(Base):
    """Blocking keys (place, grid, cell, topic term) → hotspots: the candidates of a new appeal."""

    __tablename__ = "hotspot_keys"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    hotspot_id: Mapped[int] = mapped_column(ForeignKey("hotspots.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)


class HotspotModel(Base):
    """The mining state: the term statistics of the last full recompute and the appeals seen since."""

    __tablename__ = "hotspot_model"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Megabytes of term statistics: deferred, read (and kept parsed) by the join only.
    vocabulary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, deferred=True)
    # New at every full recompute: a join knows the vocabulary it parsed is current by this alone.
    version: Mapped[str] = mapped_column(String(32), default="", server_default="")
    watermark: Mapped[int] = mapped_column(Integer, default=0)   # the highest appeal id taken in
    # The highest hotspot id a recompute gave, or on SQLite a join (PostgreSQL's joins take theirs from
    # the sequence, which never goes back). SQLite would otherwise give a deleted row's id again (highest
    # stored + 1): a link to a hotspot merged away would then open another.
    last_hotspot_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GovernanceTask(Base):
    """主动治理: a hotspot handed to a unit to fix at the source, with a deadline, supervised."""

    __tablename__ = "governance_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hotspot_id: Mapped[int | None] = mapped_column(ForeignKey("hotspots.id", ondelete="SET NULL"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), index=True)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    result: Mapped[str | None] = mapped_column(Text)


class MonthlyTheme(Base):
    """每月一题: the month's problem for focused treatment, chosen from a hotspot."""

    __tablename__ = "monthly_themes"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)   # YYYY-MM
    hotspot_id: Mapped[int | None] = mapped_column(ForeignKey("hotspots.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    chosen_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    chosen_at: Mapped[datetime] = mapped_column(UTCDateTime)
