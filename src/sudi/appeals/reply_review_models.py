"""The score of each reply sent to a citizen (答复意见评价), kept for the per-unit aggregates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sudi.core.db import Base, UTCDateTime


class ReplyReview(Base):
    """One sent reply's quality, written in the resolve action's own transaction. A reopened appeal
    that is resolved again gets a second row: each reply the citizen received is judged."""

    __tablename__ = "reply_reviews"
    __table_args__ = (Index("ix_reply_reviews_unit_resolved", "unit_id", "resolved_at"),
                      Index("ix_reply_reviews_resolved", "resolved_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("appeal_events.id", ondelete="CASCADE"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))  # the lead unit that replied
    resolved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    overall: Mapped[float] = mapped_column(Float)
    relevance: Mapped[float] = mapped_column(Float)
    completeness: Mapped[float] = mapped_column(Float)
    normativity: Mapped[float] = mapped_column(Float)
    timeliness: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    # Comma-joined weak-point codes: the aggregate counts them without parsing JSON.
    weak_codes: Mapped[str] = mapped_column(String(255), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # weak points, weights, key terms
    method: Mapped[str] = mapped_column(String(16))
