"""The rounds projection: one row per round (a hand-out of an appeal to a lead unit), derived from
the event trail and nothing else, so that any period's figures are a few indexed range reads.

The table holds no fact of its own: ``service.refresh_rounds`` rebuilds the rows of every appeal
whose trail grew since the last refresh, with the same SQL that computes the figures straight from
the trail (``service.unit_counts(..., source="trail")``); the tests check that both agree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from sudi.core.db import Base, UTCDateTime


class AssessmentRound(Base):
    __tablename__ = "assessment_rounds"
    __table_args__ = (
        # One index per way a round enters a period: handed out, due, resolved, followed up in it.
        Index("ix_assessment_rounds_assigned", "assigned_at"),
        Index("ix_assessment_rounds_due", "final_due"),
        Index("ix_assessment_rounds_resolved", "resolved_at"),
        Index("ix_assessment_rounds_followed", "followed_at"),
        Index("ix_assessment_rounds_appeal", "appeal_id"),
    )

    # The id of the hand-out event (dispatch, rule, reopen) that starts the round.
    round_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"))
    unit_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Deadlines as the trail writes them: ISO 8601 in the district's zone (+08:00).
    ack_due: Mapped[str | None] = mapped_column(String(40))
    final_due: Mapped[str | None] = mapped_column(String(40))
    acked: Mapped[int] = mapped_column(SmallInteger)
    acked_on_time: Mapped[int] = mapped_column(SmallInteger)
    returned: Mapped[int] = mapped_column(SmallInteger)
    merged: Mapped[int] = mapped_column(SmallInteger)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_on_time: Mapped[int] = mapped_column(SmallInteger)
    followed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    solved: Mapped[int] = mapped_column(SmallInteger)
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    supervised: Mapped[int] = mapped_column(SmallInteger)
    next_kind: Mapped[str | None] = mapped_column(String(16))
