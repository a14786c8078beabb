"""Pre-aggregated appeal counts for the dashboards, and the early warnings (预警) they raise.

``analytics_rollup`` is a long table: one row per grain (day or month), local date, dimension
(``all``, ``town``, ``grid``, ``category`` (first level), ``unit`` (lead unit), ``channel``,
``kind``, ``grid_category``) and key, with the counts of the appeals *received* that day. A
dashboard question ("category mix this quarter") reads a few hundred rows of one dimension
instead of scanning the appeals. It is derived data: ``service.rebuild_rollup`` deletes and
recomputes any range of days from the appeals, so it can always be thrown away and rebuilt.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sudi.core.db import Base, UTCDateTime

# The counts kept per row, in the order the rollup query produces them.
MEASURES = ("received", "open", "resolved", "rejected", "overdue", "supervised", "reopened", "returned")


class RollupRow(Base):
    __tablename__ = "analytics_rollup"
    __table_args__ = (
        UniqueConstraint("grain", "dimension", "day", "key", name="uq_analytics_rollup_cell"),
        # Most reads want only the number received: answered from the index without the rows.
        Index("ix_analytics_rollup_received", "grain", "dimension", "day", "key", "received"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grain: Mapped[str] = mapped_column(String(8))        # "day" | "month" (day = first of the month)
    dimension: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date)
    key: Mapped[str] = mapped_column(String(64))         # the id (as text) or value; "" when none
    received: Mapped[int] = mapped_column(Integer, default=0)
    open: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    overdue: Mapped[int] = mapped_column(Integer, default=0)
    supervised: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    returned: Mapped[int] = mapped_column(Integer, default=0)


class WarningKind:
    spike = "spike"                  # 数量异常上升
    repeat_caller = "repeat_caller"  # 重复来电
    sensitive = "sensitive"          # 敏感事项
    reopened = "reopened"            # 多次重办
    task_overdue = "task_overdue"    # 主动治理任务超期


WARNING_KIND_LABELS = {WarningKind.spike: "数量异常上升", WarningKind.repeat_caller: "重复诉求人",
                       WarningKind.sensitive: "敏感事项", WarningKind.reopened: "多次重办",
                       WarningKind.task_overdue: "主动治理任务超期"}


class WarningState:
    new = "new"                    # 待处理
    acknowledged = "acknowledged"  # 已知悉, being looked into
    closed = "closed"              # 已关闭


WARNING_STATE_LABELS = {WarningState.new: "待处理", WarningState.acknowledged: "已知悉",
                        WarningState.closed: "已关闭"}
OPEN_WARNING_STATES = (WarningState.new, WarningState.acknowledged)


class EarlyWarning(Base):
    """One warning in the supervisor's queue. ``subject`` names what it is about (``spike:grid:12``,
    ``repeat_caller:<phone>``, ``sensitive:<appeal id>``, ``reopened:<appeal id>``,
    ``task_overdue:<governance task id>``); while a
    warning on a subject is open, new detections update it instead of adding another."""

    __tablename__ = "analytics_warnings"
    __table_args__ = (
        Index("ix_analytics_warnings_subject", "subject", "id"),
        Index("ix_analytics_warnings_state", "state", "last_detected_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    dimension: Mapped[str] = mapped_column(String(16), default="")
    subject: Mapped[str] = mapped_column(String(128))
    # subject + first detection day: a second job run on the same day cannot add a twin.
    dedup_key: Mapped[str] = mapped_column(String(160), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    severity: Mapped[str] = mapped_column(String(8), default="medium")  # "high" | "medium"
    state: Mapped[str] = mapped_column(String(16), default=WarningState.new)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    appeal_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    first_detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
