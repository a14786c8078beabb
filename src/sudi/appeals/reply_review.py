"""Reply quality in the case engine (答复意见评价): check a draft before it is sent, keep the score
of every reply that is sent, and aggregate per unit and period.

The scoring itself is ``sudi.intelligence.reply_quality`` (text in, scores out); this module feeds
it the appeal's facts (texts, type, times, deadline, the citizen's name and phone for the personal
data check) and the admin's policy (weights, pass score, relevance floor, reply period), stored
as the setting ``reply_quality``.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from sudi.appeals.models import Appeal, AppealEvent
from sudi.appeals.reply_review_models import ReplyReview
from sudi.core import clock
from sudi.core.db import transaction
from sudi.core.errors import Forbidden, InvalidInput
from sudi.core.models import cached_setting, get_setting, put_setting, record_audit
from sudi.directory.models import Role
from sudi.directory.service import Actor
from sudi.intelligence.reply_quality import (
    DIMENSIONS,
    ReplyAssessment,
    ReplyQualityConfig,
    score_reply,
)

REPLY_QUALITY_KEY = "reply_quality"
MAX_DRAFT = 20_000


def reply_quality_config(session: Session) -> ReplyQualityConfig:
    """The admin's policy, or the documented defaults when none is stored (or it is unreadable)."""
    stored = cached_setting(session, REPLY_QUALITY_KEY)
    if not isinstance(stored, dict):
        return ReplyQualityConfig()
    try:
        return ReplyQualityConfig.from_dict(stored)
    except (InvalidInput, TypeError, ValueError):
        return ReplyQualityConfig()


def set_reply_quality_config(session: Session, actor: Actor, *, weights: dict[str, Any], pass_score: Any,
                             relevance_floor: Any = None, expected_days: Any = None) -> ReplyQualityConfig:
    """Change the weights and thresholds (admin only); the weights are stored as fractions."""
    if actor.role not in (Role.admin, "system"):
        raise Forbidden("只有系统管理员可以修改答复质量评价规则", "only an admin may change the reply-quality policy")
    current = reply_quality_config(session)

    def number(value: Any, name: str, default: float) -> float:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput("须为数字", f"{name} must be a number", field=name)
        return float(value)

    config = ReplyQualityConfig(weights=weights, pass_score=number(pass_score, "pass_score", current.pass_score),
                                relevance_floor=number(relevance_floor, "relevance_floor", current.relevance_floor),
                                expected_days=number(expected_days, "expected_days", current.expected_days))
    with transaction(session):
        before = get_setting(session, REPLY_QUALITY_KEY)
        put_setting(session, REPLY_QUALITY_KEY, config.as_dict())
        record_audit(session, actor_id=actor.id, actor_name=actor.username, action="set_reply_quality",
                     object_type="setting", object_id=REPLY_QUALITY_KEY, before=before, after=config.as_dict())
    return config


def assess(session: Session, appeal: Appeal, reply: str, *, reply_time: datetime | None = None) -> ReplyAssessment:
    """Score ``reply`` as the answer to ``appeal``. The handling round starts at dispatch (a
    reopened appeal's deadline counts from its new dispatch), so that is the appeal time."""
    return score_reply(appeal.title, appeal.content, reply, appeal_type=appeal.appeal_type,
                       appeal_time=appeal.dispatched_at or appeal.received_at, reply_time=reply_time,
                       deadline=appeal.resolve_due, citizen_name=appeal.citizen_name or None,
                       citizen_phone=appeal.citizen_phone or None, config=reply_quality_config(session))


def check_reply(session: Session, actor: Actor, number: str, reply: str | None = None) -> ReplyAssessment:
    """The handler's check before sending (``reply`` is the draft, timed now), or, without
    ``reply``, the sent reply as it was scored when sent. Anyone who may see the appeal may ask."""
    from sudi.appeals import service

    appeal = service.access_appeal(session, actor, number)
    if reply is not None:
        text = reply.strip()
        if not text:
            raise InvalidInput("请先填写答复意见", "the reply to check is empty", field="reply")
        if len(text) > MAX_DRAFT:
            raise InvalidInput(f"答复意见不超过 {MAX_DRAFT} 字", f"the reply exceeds {MAX_DRAFT} characters",
                               field="reply")
        return assess(session, appeal, text, reply_time=clock.now())
    if not appeal.reply:
        raise InvalidInput("该诉求尚无答复意见", "the appeal has no reply yet", field="reply")
    return assess(session, appeal, appeal.reply, reply_time=appeal.resolved_at)


def record_sent_reply(session: Session, appeal: Appeal) -> ReplyReview:
    """Keep the score of the reply just sent. Called by the resolve action inside its transaction
    (after its event is flushed), so a resolved appeal always has its score."""
    assert appeal.reply is not None and appeal.resolved_at is not None
    result = assess(session, appeal, appeal.reply, reply_time=appeal.resolved_at)
    event_id = session.scalar(select(func.max(AppealEvent.id)).where(AppealEvent.appeal_id == appeal.id,
                                                                     AppealEvent.action == "resolve"))
    codes = ",".join(dict.fromkeys(w.code for w in result.weak_points))
    review = ReplyReview(
        appeal_id=appeal.id, event_id=event_id, unit_id=appeal.lead_unit_id, resolved_at=appeal.resolved_at,
        overall=result.overall, relevance=result.score("relevance") or 0.0,
        completeness=result.score("completeness") or 0.0, normativity=result.score("normativity") or 0.0,
        timeliness=result.score("timeliness"), passed=result.passed, weak_codes=codes[:255],
        detail={"weak_points": [{"code": w.code, "message": w.message, "severity": w.severity}
                                for w in result.weak_points],
                "weights": result.weights, "missing_terms": list(result.missing_terms[:8])},
        method=result.method)
    session.add(review)
    return review


def score_unscored_replies(session: Session, actor: Actor, *, batch: int = 500) -> int:
    """Score the sent replies that have no score yet (appeals resolved before reply scoring
    existed, e.g. an older demo database), each as it was when sent. Returns how many."""
    from sudi.appeals.models import State

    if actor.role not in (Role.admin, "system"):
        raise Forbidden("只有系统管理员可以补评答复", "only an admin may score old replies")
    done_states = (State.resolved.value, State.followed_up.value, State.archived.value)
    unscored = (select(Appeal.id).where(Appeal.state.in_(done_states), Appeal.reply.is_not(None),
                                        Appeal.resolved_at.is_not(None), Appeal.master_id.is_(None),
                                        ~select(ReplyReview.id).where(ReplyReview.appeal_id == Appeal.id).exists())
                .order_by(Appeal.id))
    total = 0
    while True:
        with transaction(session):
            ids = session.scalars(unscored.limit(batch)).all()
            for appeal in session.scalars(select(Appeal).where(Appeal.id.in_(ids))):
                record_sent_reply(session, appeal)
            if ids:
                record_audit(session, actor_id=actor.id, actor_name=actor.username, action="score_replies",
                             object_type="reply_reviews", object_id=f"{ids[0]}-{ids[-1]}", count=len(ids))
        total += len(ids)
        if len(ids) < batch:
            return total


def latest_review(session: Session, appeal: Appeal) -> ReplyReview | None:
    return session.scalar(select(ReplyReview).where(ReplyReview.appeal_id == appeal.id)
                          .order_by(ReplyReview.id.desc()).limit(1))


def reply_quality_by_unit(session: Session, start: datetime, end: datetime) -> dict[int | None, dict[str, Any]]:
    """Per lead unit, the replies sent in ``[start, end)``: how many, the mean of the overall score
    and of each dimension (timeliness over the replies it applied to), the share that passed, and
    the most frequent weak points. Keys are unit ids (None: no lead unit recorded)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("时间须带时区", "start and end must be timezone-aware", field="start")
    if end <= start:
        raise InvalidInput("结束时间须晚于开始时间", "end must be after start", field="end")
    in_period = (ReplyReview.resolved_at >= start, ReplyReview.resolved_at < end)
    rows = session.execute(
        select(ReplyReview.unit_id, func.count(), func.avg(ReplyReview.overall), func.avg(ReplyReview.relevance),
               func.avg(ReplyReview.completeness), func.avg(ReplyReview.normativity),
               func.avg(ReplyReview.timeliness), func.sum(case((ReplyReview.passed, 1), else_=0)))
        .where(*in_period).group_by(ReplyReview.unit_id)).all()
    out: dict[int | None, dict[str, Any]] = {}
    for unit_id, count, overall, *dims, passed in rows:
        out[unit_id] = {"replies": int(count), "overall": _round(overall),
                        "pass_rate": round(int(passed or 0) / count, 4),
                        **{name: _round(value) for name, value in zip(DIMENSIONS, dims, strict=True)},
                        "weak_points": {}}
    weak: dict[int | None, Counter[str]] = {}
    for unit_id, codes in session.execute(select(ReplyReview.unit_id, ReplyReview.weak_codes)
                                          .where(*in_period, ReplyReview.weak_codes != "")):
        weak.setdefault(unit_id, Counter()).update(codes.split(","))
    for unit_id, counter in weak.items():
        out[unit_id]["weak_points"] = dict(counter.most_common(5))
    return out


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)
