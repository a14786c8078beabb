"""The appeal (诉求), its event trail, attachments, categories and the time-limit policy."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sudi.core.db import Base, UTCDateTime
from sudi.directory.models import Grid, Matter, Unit, User


class State(enum.StrEnum):
    received = "received"          # 待受理
    accepted = "accepted"          # 已受理, awaiting triage/dispatch
    triaged = "triaged"            # 已研判, awaiting dispatch
    rejected = "rejected"          # 不予受理
    dispatched = "dispatched"      # 已派单, awaiting acknowledgement
    returned = "returned"          # 已退单, back with the dispatcher
    acknowledged = "acknowledged"  # 已签收, in hand
    resolved = "resolved"          # 已办结, awaiting follow-up
    followed_up = "followed_up"    # 已回访
    merged = "merged"              # 已并入主件; follows its master
    archived = "archived"          # 已归档


STATE_LABELS = {
    State.received: "待受理", State.accepted: "已受理", State.triaged: "已研判", State.rejected: "不予受理",
    State.dispatched: "待签收", State.returned: "已退单", State.acknowledged: "办理中",
    State.resolved: "已办结", State.followed_up: "已回访", State.merged: "已合并", State.archived: "已归档",
}
OPEN_STATES = (State.received, State.accepted, State.triaged, State.dispatched, State.returned,
               State.acknowledged)


class Channel(enum.StrEnum):
    hotline = "hotline"
    web = "web"
    wechat = "wechat"
    app = "app"
    letter = "letter"
    visit = "visit"
    grid_patrol = "grid_patrol"
    sensor = "sensor"
    open311 = "open311"
    import_ = "import"


CHANNEL_LABELS = {
    Channel.hotline: "12345热线", Channel.web: "网站", Channel.wechat: "微信公众号", Channel.app: "App",
    Channel.letter: "来信", Channel.visit: "来访", Channel.grid_patrol: "网格员上报",
    Channel.sensor: "监测告警", Channel.open311: "Open311", Channel.import_: "导入",
}


class AppealType(enum.StrEnum):
    consultation = "consultation"
    help = "help"
    complaint = "complaint"
    report = "report"
    suggestion = "suggestion"
    praise = "praise"


APPEAL_TYPE_LABELS = {
    AppealType.consultation: "咨询", AppealType.help: "求助", AppealType.complaint: "投诉",
    AppealType.report: "举报", AppealType.suggestion: "建议", AppealType.praise: "表扬",
}


class Urgency(enum.StrEnum):
    normal = "normal"
    urgent = "urgent"
    critical = "critical"


URGENCY_LABELS = {Urgency.normal: "一般", Urgency.urgent: "紧急", Urgency.critical: "特急"}


class AppealKind(enum.StrEnum):
    """三类诉求: every appeal is one of these; development appeals take the green channel."""

    livelihood = "livelihood"    # 民生诉求
    enforcement = "enforcement"  # 执法诉求
    development = "development"  # 发展诉求 (绿色通道)


KIND_LABELS = {AppealKind.livelihood: "民生诉求", AppealKind.enforcement: "执法诉求",
               AppealKind.development: "发展诉求"}


class Satisfaction(enum.StrEnum):
    satisfied = "satisfied"
    fairly_satisfied = "fairly_satisfied"
    dissatisfied = "dissatisfied"


SATISFACTION_LABELS = {Satisfaction.satisfied: "满意", Satisfaction.fairly_satisfied: "基本满意",
                       Satisfaction.dissatisfied: "不满意"}


class Category(Base):
    """A node of the three-level taxonomy (一级/二级/三级分类); admins edit it."""

    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("parent_id", "name", name="uq_categories_parent_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class TimeLimitPolicy(Base):
    """How long a unit has to acknowledge and to resolve. The most specific matching row wins;
    a row with every selector empty is the default."""

    __tablename__ = "time_limit_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    appeal_kind: Mapped[str | None] = mapped_column(String(16))
    urgency: Mapped[str | None] = mapped_column(String(16))
    appeal_type: Mapped[str | None] = mapped_column(String(16))
    acknowledge_amount: Mapped[float] = mapped_column(Float)
    acknowledge_unit: Mapped[str] = mapped_column(String(16))  # "hours" | "working_days"
    resolve_amount: Mapped[float] = mapped_column(Float)
    resolve_unit: Mapped[str] = mapped_column(String(16))


class NumberSequence(Base):
    """Per-day counter behind appeal numbers (YC20261126-00042)."""

    __tablename__ = "number_sequences"

    day_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Appeal(Base):
    __tablename__ = "appeals"
    __table_args__ = (
        Index("ix_appeals_state_received", "state", "received_at"),
        Index("ix_appeals_lead_state", "lead_unit_id", "state"),
        Index("ix_appeals_grid_received", "grid_id", "received_at"),
        Index("ix_appeals_resolve_due", "resolve_due"),
        Index("ix_appeals_citizen_phone", "citizen_phone"),
        # The default list orders (newest received, recently changed) and the grid worker's
        # "what I reported" need their own indexes at 100,000 appeals (bench/pages.py).
        Index("ix_appeals_received", "received_at", "id"),
        Index("ix_appeals_updated", "updated_at", "id"),
        Index("ix_appeals_created_by", "created_by_id"),
        # The dashboards' live figures (open, overdue, supervised now) and their lists (the longest
        # overdue first) read this index alone: at 1,000,000 appeals, visiting the open ones' rows
        # to read their flags takes about half a second on SQLite (bench/dashboard.py).
        Index("ix_appeals_live_flags", "state", "is_overdue", "is_supervised", "resolve_due"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    appeal_type: Mapped[str] = mapped_column(String(16))
    urgency: Mapped[str] = mapped_column(String(16))
    appeal_kind: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("matters.id"), index=True)

    address: Mapped[str] = mapped_column(String(255), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    town_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    community_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))

    citizen_name: Mapped[str] = mapped_column(String(64), default="")
    citizen_phone: Mapped[str] = mapped_column(String(32), default="")
    # A channel's stable key for the sender (WeChat openid, app account) when there is no phone.
    citizen_key: Mapped[str] = mapped_column(String(128), default="", index=True)
    is_anonymous: Mapped[bool] = mapped_column(Boolean, default=False)

    lead_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    is_joint: Mapped[bool] = mapped_column(Boolean, default=False)
    triage: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledge_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    original_resolve_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    calendar_fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    followed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    extension_pending: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reply: Mapped[str | None] = mapped_column(Text)
    follow_up_solved: Mapped[bool | None] = mapped_column(Boolean)
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    follow_up_comment: Mapped[str | None] = mapped_column(Text)

    master_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"), index=True)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    reminder_count: Mapped[int] = mapped_column(Integer, default=0)
    is_supervised: Mapped[bool] = mapped_column(Boolean, default=False)
    is_overdue: Mapped[bool] = mapped_column(Boolean, default=False, index=True)

    external_ref: Mapped[str | None] = mapped_column(String(128), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Optimistic lock: two people acting on one appeal at once cannot both win.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it as declared

    category: Mapped[Category | None] = relationship()
    matter: Mapped[Matter | None] = relationship()
    lead_unit: Mapped[Unit | None] = relationship(foreign_keys=[lead_unit_id])
    town: Mapped[Unit | None] = relationship(foreign_keys=[town_unit_id])
    community: Mapped[Unit | None] = relationship(foreign_keys=[community_unit_id])
    grid: Mapped[Grid | None] = relationship()
    coordinator: Mapped[User | None] = relationship(foreign_keys=[coordinator_id])
    master: Mapped[Appeal | None] = relationship(remote_side="Appeal.id", foreign_keys=[master_id])
    assisting: Mapped[list[AppealAssist]] = relationship(back_populates="appeal", cascade="all, delete-orphan")
    events: Mapped[list[AppealEvent]] = relationship(
        back_populates="appeal", order_by="AppealEvent.id", lazy="select")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="appeal", order_by="Attachment.id")


class AppealAssist(Base):
    """An assisting unit (协办单位) on an appeal, and its contribution to the joint reply."""

    __tablename__ = "appeal_assists"

    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)
    contribution: Mapped[str | None] = mapped_column(Text)
    contributed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    appeal: Mapped[Appeal] = relationship(back_populates="assisting")
    unit: Mapped[Unit] = relationship()


class AppealEvent(Base):
    """Append-only trail: one row per action, written in the action's own transaction."""

    __tablename__ = "appeal_events"
    __table_args__ = (Index("ix_appeal_events_appeal", "appeal_id", "id"),
                      Index("ix_appeal_events_action_at", "action", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(16))
    actor_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))  # the unit holding it after
    comment: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What a citizen may see of this step (None: internal only).
    public_note: Mapped[str | None] = mapped_column(Text)

    appeal: Mapped[Appeal] = relationship(back_populates="events")


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_path: Mapped[str] = mapped_column(String(255))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    appeal: Mapped[Appeal] = relationship(back_populates="attachments")
