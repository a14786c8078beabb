"""Unit assessment (差异化考核, 三率): figures per unit and period, read back from the event trail.

Every figure is a count over *rounds*. A round starts with each event that hands an appeal to a
lead unit (``dispatch``, ``rule`` after a return, ``reopen`` after an unhappy follow-up) and runs
until the next such event on the same appeal; its unit is the unit the event handed it to. What
happened in the round is read from the round's own events: ``acknowledge`` (with the engine's
``on_time`` verdict against the acknowledgement limit), ``return``, ``merge``, ``approve_extension``
(the new resolve deadline), ``resolve`` (``on_time`` against the extended deadline), ``follow_up``
(``solved``, ``satisfaction``) and ``supervise``. Nothing is taken from the appeal row, so a number
can be recomputed from ``appeal_events`` alone at any time (see docs/assessment.md).

The whole computation is one SQL statement with window functions and conditional aggregation;
Python only turns the per-unit counts into rates and scores.
"""

from __future__ import annotations

import calendar as month_calendar
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, and_, case, delete, func, insert, not_, or_, select, text
from sqlalchemy.orm import Session

from sudi.appeals.models import Appeal, AppealEvent
from sudi.assessment.models import AssessmentRound
from sudi.core import clock
from sudi.core.db import transaction
from sudi.core.errors import Forbidden, InvalidInput, NotFound
from sudi.core.models import get_setting, put_setting, record_audit
from sudi.directory.models import Role, Unit
from sudi.directory.service import Actor
from sudi.hotspots import service as hotspots

# ---------------------------------------------------------------- who may see it

CENTRE_VIEWERS = frozenset({Role.admin, Role.dispatcher, Role.supervisor, Role.leader})
OWN_UNIT_VIEWERS = frozenset({Role.unit_leader})
VIEW_ROLES = CENTRE_VIEWERS | OWN_UNIT_VIEWERS
SYSTEM_ROLES = frozenset({"system"})


@dataclass(frozen=True, slots=True)
class Scope:
    """What one viewer may see: every unit, or only the row (and rank) of one unit."""

    unit_id: int | None  # None: all units

    @property
    def everything(self) -> bool:
        return self.unit_id is None


def access_assessment(actor: Actor) -> Scope:
    """Centre roles see every unit; a unit leader sees their own unit's row and rank."""
    if actor.role in CENTRE_VIEWERS or actor.role in SYSTEM_ROLES:
        return Scope(None)
    if actor.role in OWN_UNIT_VIEWERS and actor.unit_id is not None:
        return Scope(actor.unit_id)
    raise Forbidden("您的角色无权查看考核排名", "your role may not see the unit assessment")


# ---------------------------------------------------------------- periods

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MIN_YEAR, MAX_YEAR = 2000, 2199
MAX_CUSTOM_DAYS = 3 * 366


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) in the district's time zone (Asia/Shanghai)."""

    key: str         # "2026-11", "2026-Q4", "2026", "2026-11-01~2026-11-15"
    kind: str        # month | quarter | year | custom
    label: str       # 2026年11月
    start: datetime
    end: datetime

    @property
    def first_day(self) -> date:
        return clock.local(self.start).date()

    @property
    def last_day(self) -> date:
        return clock.local(self.end - timedelta(seconds=1)).date()


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clock.DISTRICT_TZ)


def _bad_period(value: str) -> InvalidInput:
    return InvalidInput(f"考核周期「{value}」无效：应为 YYYY-MM（月）、YYYY-Qn（季度）、YYYY（年），"
                        f"或起止日期 YYYY-MM-DD",
                        f"invalid period {value!r}: use YYYY-MM, YYYY-Qn, YYYY, or from/to as YYYY-MM-DD",
                        field="period")


def _check_year(year: int, value: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(f"考核周期「{value}」的年份须在 {MIN_YEAR}–{MAX_YEAR} 之间",
                           f"period {value!r}: year must be {MIN_YEAR}..{MAX_YEAR}", field="period")


def _day(value: str, name: str, zh: str) -> date:
    try:
        if not _DAY.match(value):
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{zh}「{value}」应为 YYYY-MM-DD 格式的日期", f"{name} must be a date YYYY-MM-DD",
                           field=name) from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise InvalidInput(f"{zh}的年份须在 {MIN_YEAR}–{MAX_YEAR} 之间", f"{name}: year must be "
                           f"{MIN_YEAR}..{MAX_YEAR}", field=name)
    return day


def parse_period(period: str | None = None, date_from: str | None = None, date_to: str | None = None,
                 *, default_now: datetime | None = None) -> Period:
    """A month ``YYYY-MM``, quarter ``YYYY-Qn``, year ``YYYY``, or ``from``/``to`` (inclusive days).
    With none of them: the current month."""
    period = (period or "").strip()
    date_from, date_to = (date_from or "").strip(), (date_to or "").strip()
    if period and (date_from or date_to):
        raise InvalidInput("请只填写考核周期，或只填写起止日期", "give either period or from/to, not both",
                           field="period")
    if date_from or date_to:
        if not (date_from and date_to):
            raise InvalidInput("自定义周期须同时填写起止日期", "a custom period needs both from and to",
                               field="from" if not date_from else "to")
        first, last = _day(date_from, "from", "开始日期"), _day(date_to, "to", "结束日期")
        if last < first:
            raise InvalidInput("结束日期不能早于开始日期", "to is before from", field="to")
        if (last - first).days >= MAX_CUSTOM_DAYS:
            raise InvalidInput("自定义周期不能超过三年", "a custom period may span at most three years", field="to")
        return Period(f"{first.isoformat()}~{last.isoformat()}", "custom", f"{first:%Y年%m月%d日}至{last:%Y年%m月%d日}",
                      _local_midnight(first), _local_midnight(last + timedelta(days=1)))
    if not period:
        today = clock.local(default_now or clock.now()).date()
        period = f"{today.year:04d}-{today.month:02d}"
    if len(period) > 16:
        raise _bad_period(period[:16])
    if match := _MONTH.match(period):
        year, month = int(match.group(1)), int(match.group(2))
        _check_year(year, period)
        if not 1 <= month <= 12:
            raise _bad_period(period)
        days = month_calendar.monthrange(year, month)[1]
        first = date(year, month, 1)
        return Period(period, "month", f"{year}年{month}月", _local_midnight(first),
                      _local_midnight(first + timedelta(days=days)))
    if match := _QUARTER.match(period):
        year, quarter = int(match.group(1)), int(match.group(2))
        _check_year(year, period)
        first = date(year, 3 * quarter - 2, 1)
        after = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
        return Period(f"{year}-Q{quarter}", "quarter", f"{year}年第{'一二三四'[quarter - 1]}季度",
                      _local_midnight(first), _local_midnight(after))
    if match := _YEAR.match(period):
        year = int(match.group(1))
        _check_year(year, period)
        return Period(period, "year", f"{year}年", _local_midnight(date(year, 1, 1)),
                      _local_midnight(date(year + 1, 1, 1)))
    raise _bad_period(period)


def period_query(period: Period) -> str:
    """The query string that names ``period`` on the assessment's pages and API."""
    if period.kind == "custom":
        return urlencode({"from": period.first_day.isoformat(), "to": period.last_day.isoformat()})
    return urlencode({"period": period.key})


def recent_months(count: int = 12, *, now: datetime | None = None) -> list[str]:
    """The last ``count`` months, newest first (for the period picker)."""
    today = clock.local(now or clock.now()).date()
    year, month = today.year, today.month
    months = []
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months


# ---------------------------------------------------------------- policy (admin-editable)

POLICY_KEY = "assessment_policy"
RATE_KEYS = ("response", "on_time", "resolution", "satisfaction")
RATE_LABELS = {"response": "响应率", "on_time": "按时办结率", "resolution": "解决率", "satisfaction": "满意率"}
SATISFACTION_KEYS = ("satisfied", "fairly_satisfied", "dissatisfied")

DEFAULT_POLICY: dict[str, Any] = {
    # Composite weights in percent; rates without data in the period are left out and the rest
    # re-weighted, so a unit is never scored on a rate it had no chance to earn.
    "weights": {"response": 10.0, "on_time": 0.0, "resolution": 45.0, "satisfaction": 45.0},
    # What one rating of each level counts towards 满意率 (满意 and 基本满意 count fully by default).
    "satisfaction_weights": {"satisfied": 1.0, "fairly_satisfied": 1.0, "dissatisfied": 0.0},
    "governance_bonus_per_task": 1.0,   # points per proactive-governance task done by its deadline (主动治理)
    "governance_bonus_cap": 5.0,
    "supervised_overdue_deduction": 2.0,  # points per overdue round that was under 督办
    # A governance task is handed out under the centre's supervision like a 督办 appeal: one left
    # past its deadline costs points too (under the same cap).
    "governance_overdue_deduction": 1.0,
    "deduction_cap": 20.0,
    "red_size": 3,
    "black_size": 3,
    "red_min_score": 0.0,     # only units at or above this score may enter the red list
    "black_max_score": 100.0,  # only units below this score may enter the black list
    "min_volume": 5,          # fewer dispatched appeals than this: shown, but not ranked
}

_NUMBER_LIMITS: dict[str, tuple[float, float, bool]] = {  # key: (min, max, integer)
    "governance_bonus_per_task": (0, 100, False), "governance_bonus_cap": (0, 100, False),
    "supervised_overdue_deduction": (0, 100, False), "governance_overdue_deduction": (0, 100, False),
    "deduction_cap": (0, 100, False),
    "red_size": (0, 50, True), "black_size": (0, 50, True), "red_min_score": (0, 200, False),
    "black_max_score": (0, 200, False), "min_volume": (0, 100_000, True),
}
POLICY_LABELS = {
    "governance_bonus_per_task": "每按期完成一项主动治理任务加分", "governance_bonus_cap": "加分上限",
    "supervised_overdue_deduction": "每件督办超期件扣分", "governance_overdue_deduction": "每项超期主动治理任务扣分",
    "deduction_cap": "扣分上限（督办超期与治理超期合计）",
    "red_size": "红榜单位数", "black_size": "黑榜单位数", "red_min_score": "红榜最低综合得分",
    "black_max_score": "黑榜得分上限（低于此分才列入）", "min_volume": "参与排名的最少派单量（件）",
}


def get_policy(session: Session) -> dict[str, Any]:
    """The admin's policy over the defaults (a key the admin never set keeps its default)."""
    stored = get_setting(session, POLICY_KEY) or {}
    policy = {**DEFAULT_POLICY, **{k: v for k, v in stored.items() if k in DEFAULT_POLICY}}
    for nested in ("weights", "satisfaction_weights"):
        policy[nested] = {**DEFAULT_POLICY[nested], **(stored.get(nested) or {})}
    return policy


def _number(raw: Any, key: str, zh: str, lo: float, hi: float, integer: bool) -> float | int:
    if isinstance(raw, bool):
        raise InvalidInput(f"{zh}须为数字", f"{key} must be a number", field=key)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InvalidInput(f"{zh}须为数字", f"{key} must be a number", field=key) from None
    if value != value or not lo <= value <= hi:  # NaN or out of range
        raise InvalidInput(f"{zh}须在 {lo:g}–{hi:g} 之间", f"{key} must be between {lo:g} and {hi:g}", field=key)
    if integer:
        if value != int(value):
            raise InvalidInput(f"{zh}须为整数", f"{key} must be a whole number", field=key)
        return int(value)
    return round(value, 4)


def set_policy(session: Session, actor: Actor, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Change the assessment policy (admins only, audited). ``changes`` may hold any of the
    top-level keys of ``DEFAULT_POLICY``; ``weights`` and ``satisfaction_weights`` as mappings."""
    if actor.role not in (Role.admin, "system"):
        raise Forbidden("只有系统管理员可以修改考核规则", "only an admin may change the assessment policy")
    unknown = set(changes) - set(DEFAULT_POLICY)
    if unknown:
        key = sorted(unknown)[0]
        raise InvalidInput(f"没有考核设置 {key}", f"unknown assessment setting {key!r}", field=key)
    before = get_policy(session)
    after = {**before, "weights": dict(before["weights"]),
             "satisfaction_weights": dict(before["satisfaction_weights"])}
    if "weights" in changes:
        weights = changes["weights"]
        if not isinstance(weights, Mapping) or set(weights) - set(RATE_KEYS):
            raise InvalidInput("权重须按响应率、按时办结率、解决率、满意率填写",
                               f"weights takes {', '.join(RATE_KEYS)}", field="weights")
        for key, raw in weights.items():
            after["weights"][key] = _number(raw, f"weight_{key}", f"{RATE_LABELS[key]}权重", 0, 100, False)
        if sum(after["weights"].values()) <= 0:
            raise InvalidInput("各项权重不能全为 0", "at least one weight must be above 0", field="weight_response")
    if "satisfaction_weights" in changes:
        levels = changes["satisfaction_weights"]
        if not isinstance(levels, Mapping) or set(levels) - set(SATISFACTION_KEYS):
            raise InvalidInput("满意度折算须按满意、基本满意、不满意填写",
                               f"satisfaction_weights takes {', '.join(SATISFACTION_KEYS)}",
                               field="satisfaction_weights")
        names = {"satisfied": "满意", "fairly_satisfied": "基本满意", "dissatisfied": "不满意"}
        for key, raw in levels.items():
            after["satisfaction_weights"][key] = _number(raw, f"sat_{key}", f"「{names[key]}」折算系数", 0, 1, False)
    for key, (lo, hi, integer) in _NUMBER_LIMITS.items():
        if key in changes:
            after[key] = _number(changes[key], key, POLICY_LABELS[key], lo, hi, integer)
    with transaction(session):
        put_setting(session, POLICY_KEY, after)
        record_audit(session, actor_id=actor.id, actor_name=actor.username, action="set_assessment_policy",
                     object_type="setting", object_id=POLICY_KEY, before=before, after=after)
    return after


# ---------------------------------------------------------------- the rounds, in SQL

ASSIGN_ACTIONS = ("dispatch", "rule", "reopen")
TRAIL_ACTIONS = (*ASSIGN_ACTIONS, "acknowledge", "return", "merge", "approve_extension", "resolve", "follow_up",
                 "supervise")
ROUNDS_MARK_KEY = "assessment_rounds_mark"
# Event ids are handed out when a transaction inserts, not when it commits: on PostgreSQL an event
# with a smaller id can become visible after a larger one. Each refresh therefore looks again at
# the appeals of the last REFRESH_SLACK events before its mark.
REFRESH_SLACK = 500
REBUILD_CHUNK = 20_000  # appeals per statement when (re)building from scratch
# Reading the trail directly (the reference for the projection) takes the rounds handed out up to
# this long before the period: long enough for any deadline, extension and follow-up in practice.
TRAIL_LOOKBACK_DAYS = 365


def _local_iso(moment: datetime) -> str:
    # Deadlines in the trail are ISO strings in the district's zone (+08:00, no daylight saving),
    # so comparing them with bounds written the same way compares the instants.
    return clock.local(moment).isoformat()


def _round_rows(appeals: Any) -> Select[Any]:
    """One row per round of the appeals selected by ``appeals`` (a WHERE clause on the events
    table ``e``), with what happened in it: the projection's rows, straight from the trail."""
    e = AppealEvent.__table__.alias("e")
    ev = select(
        e.c.id, e.c.appeal_id, e.c.action, e.c.unit_id, e.c.at,
        # Each JSON field is read only from the events that carry it (CASE stops at the first
        # match), which keeps the per-event cost down on long trails.
        case((e.c.action.not_in(("acknowledge", "resolve")), 0),
             (e.c.data["on_time"].as_boolean(), 1), else_=0).label("on_time"),
        case((e.c.action != "follow_up", 0), (e.c.data["solved"].as_boolean(), 1), else_=0).label("solved"),
        case((e.c.action == "follow_up", e.c.data["satisfaction"].as_string())).label("satisfaction"),
        case((e.c.action.in_((*ASSIGN_ACTIONS, "approve_extension")), e.c.data["resolve_due"].as_string()))
        .label("due"),
        case((e.c.action.in_(ASSIGN_ACTIONS), e.c.data["acknowledge_due"].as_string())).label("ack_due"),
        func.max(case((e.c.action.in_(ASSIGN_ACTIONS), e.c.id)))
        .over(partition_by=e.c.appeal_id, order_by=e.c.id).label("round_id"),
    ).where(appeals(e), e.c.action.in_(TRAIL_ACTIONS)).subquery("ev")

    a = ev.c
    starts = a.id == a.round_id

    def flag(condition: ColumnElement[bool]) -> Any:
        return func.max(case((condition, 1), else_=0))

    grouped = select(
        a.round_id.label("round_id"),
        func.max(a.appeal_id).label("appeal_id"),
        func.max(case((starts, a.unit_id))).label("unit_id"),
        func.max(case((starts, a.action))).label("kind"),
        func.max(case((starts, a.at))).label("assigned_at"),
        func.max(case((starts, a.ack_due))).label("ack_due"),
        # Each approved extension moves the deadline later, so the latest one is the deadline.
        func.coalesce(func.max(case((a.action == "approve_extension", a.due))),
                      func.max(case((starts, a.due)))).label("final_due"),
        flag(a.action == "acknowledge").label("acked"),
        flag(and_(a.action == "acknowledge", a.on_time == 1)).label("acked_on_time"),
        flag(a.action == "return").label("returned"),
        flag(a.action == "merge").label("merged"),
        func.min(case((a.action == "resolve", a.at))).label("resolved_at"),
        flag(and_(a.action == "resolve", a.on_time == 1)).label("resolved_on_time"),
        func.min(case((a.action == "follow_up", a.at))).label("followed_at"),
        flag(and_(a.action == "follow_up", a.solved == 1)).label("solved"),
        func.max(case((a.action == "follow_up", a.satisfaction))).label("satisfaction"),
        flag(a.action == "supervise").label("supervised"),
    ).where(a.round_id.is_not(None)).group_by(a.round_id).subquery("grouped")
    g = grouped.c
    return select(*grouped.c, func.lead(g.kind).over(partition_by=g.appeal_id, order_by=g.round_id)
                  .label("next_kind"))


ROUND_COLUMNS = tuple(c.name for c in AssessmentRound.__table__.columns)


def _trail_rounds(period: Period, lookback_days: int) -> Any:
    """The rounds of every appeal handed out in [start - lookback, end), read from the trail."""
    lo = period.start - timedelta(days=lookback_days)

    def handed_out(e: Any) -> ColumnElement[bool]:
        inner = AppealEvent.__table__.alias("h")
        return e.c.appeal_id.in_(select(inner.c.appeal_id).where(
            inner.c.action.in_(ASSIGN_ACTIONS), inner.c.at >= lo, inner.c.at < period.end))

    return _round_rows(handed_out).subquery("rounds")


def refresh_rounds(session: Session) -> int:
    """Bring ``assessment_rounds`` up to date with the trail: rebuild the rounds of every appeal
    with events after the last refresh. Returns how many appeals were rebuilt."""
    postgres = session.get_bind().dialect.name == "postgresql"
    top = session.scalar(select(func.max(AppealEvent.id))) or 0
    mark = int(get_setting(session, ROUNDS_MARK_KEY, 0) or 0)
    if top == mark and not postgres:
        return 0
    rebuilt = 0
    with transaction(session):
        if postgres:
            session.execute(text("SELECT pg_advisory_xact_lock(73110003)"))  # one refresher at a time
        mark = int(get_setting(session, ROUNDS_MARK_KEY, 0) or 0)
        top = session.scalar(select(func.max(AppealEvent.id))) or 0
        since = mark - REFRESH_SLACK if postgres and mark else mark
        if top <= since:
            return 0
        if mark == 0:  # first build: in chunks of appeals, so no statement grows with the whole history
            session.execute(delete(AssessmentRound))
            highest = session.scalar(select(func.max(Appeal.id))) or 0
            for low in range(0, highest + 1, REBUILD_CHUNK):
                def chunk(e: Any, low: int = low) -> ColumnElement[bool]:
                    return and_(e.c.appeal_id >= low, e.c.appeal_id < low + REBUILD_CHUNK, e.c.id <= top)

                session.execute(insert(AssessmentRound).from_select(ROUND_COLUMNS, _round_rows(chunk)))
            rebuilt = int(session.scalar(select(func.count(func.distinct(AppealEvent.appeal_id)))) or 0)
        else:
            touched = select(AppealEvent.appeal_id).where(AppealEvent.id > since, AppealEvent.id <= top).distinct()
            ids = list(session.scalars(touched))
            for start in range(0, len(ids), 5000):
                part = ids[start:start + 5000]
                session.execute(delete(AssessmentRound).where(AssessmentRound.appeal_id.in_(part)))

                def these(e: Any, part: list[int] = part) -> ColumnElement[bool]:
                    return and_(e.c.appeal_id.in_(part), e.c.id <= top)

                session.execute(insert(AssessmentRound).from_select(ROUND_COLUMNS, _round_rows(these)))
            rebuilt = len(ids)
        put_setting(session, ROUNDS_MARK_KEY, max(top, mark))
    return rebuilt


def _projected_rounds(period: Period) -> Any:
    """The projection's rounds that can count for ``period``: handed out, due, resolved or
    followed up in it (each an indexed range)."""
    r = AssessmentRound.__table__
    return select(r).where(or_(
        and_(r.c.assigned_at >= period.start, r.c.assigned_at < period.end),
        and_(r.c.final_due >= _local_iso(period.start), r.c.final_due < _local_iso(period.end)),
        and_(r.c.resolved_at >= period.start, r.c.resolved_at < period.end),
        and_(r.c.followed_at >= period.start, r.c.followed_at < period.end),
    )).subquery("rounds")


@dataclass(frozen=True, slots=True)
class Bounds:
    start: datetime
    end: datetime
    start_s: str
    end_s: str
    now_s: str

    @classmethod
    def of(cls, period: Period) -> Bounds:
        return cls(period.start, period.end, _local_iso(period.start), _local_iso(period.end),
                   _local_iso(clock.now()))


def _in(column: Any, b: Bounds) -> ColumnElement[bool]:
    return and_(column >= b.start, column < b.end)


# What each number counts, as a condition on a round. Kept in one table so the per-unit counts,
# the drill-down lists and the documentation cannot drift apart.
Condition = Callable[[Any, Bounds], ColumnElement[bool]]


def _response_base(r: Any, b: Bounds) -> ColumnElement[bool]:
    pending = and_(r.acked == 0, r.returned == 0, r.merged == 0, r.ack_due > b.now_s)
    left_unacknowledged = and_(r.acked == 0, or_(r.returned == 1, r.merged == 1))
    return and_(_in(r.assigned_at, b), not_(pending), not_(left_unacknowledged))


def _due(r: Any, b: Bounds) -> ColumnElement[bool]:
    pending = and_(r.resolved_at.is_(None), r.final_due > b.now_s)
    return and_(r.final_due >= b.start_s, r.final_due < b.end_s, r.returned == 0, r.merged == 0, not_(pending))


def _followed(r: Any, b: Bounds) -> ColumnElement[bool]:
    # A duplicate merged into another appeal is answered (and counted) with its master.
    return and_(_in(r.followed_at, b), r.merged == 0)


def _resolved(r: Any, b: Bounds) -> ColumnElement[bool]:
    return and_(_in(r.resolved_at, b), r.merged == 0)


MEASURES: dict[str, tuple[str, Condition]] = {
    "dispatched": ("派单量", lambda r, b: _in(r.assigned_at, b)),
    "response_base": ("应签收", _response_base),
    "responded": ("按时签收", lambda r, b: and_(_response_base(r, b), r.acked_on_time == 1)),
    "not_responded": ("未按时签收", lambda r, b: and_(_response_base(r, b), r.acked_on_time == 0)),
    "due": ("应办结", _due),
    "on_time": ("按时办结", lambda r, b: and_(_due(r, b), r.resolved_on_time == 1)),
    "overdue": ("超期", lambda r, b: and_(_due(r, b), r.resolved_on_time == 0)),
    "supervised_overdue": ("督办超期", lambda r, b: and_(_due(r, b), r.resolved_on_time == 0, r.supervised == 1)),
    "followed_up": ("已回访", _followed),
    "solved": ("已解决", lambda r, b: and_(_followed(r, b), r.solved == 1)),
    "unsolved": ("未解决", lambda r, b: and_(_followed(r, b), r.solved == 0)),
    "satisfied": ("满意", lambda r, b: and_(_followed(r, b), r.satisfaction == "satisfied")),
    "fairly_satisfied": ("基本满意", lambda r, b: and_(_followed(r, b), r.satisfaction == "fairly_satisfied")),
    "dissatisfied": ("不满意", lambda r, b: and_(_followed(r, b), r.satisfaction == "dissatisfied")),
    "returned": ("退单", lambda r, b: and_(_in(r.assigned_at, b), r.returned == 1)),
    "resolved": ("办结", _resolved),
    "reopened": ("重办", lambda r, b: and_(_resolved(r, b), r.next_kind == "reopen")),
}
MEASURE_LABELS = {key: label for key, (label, _) in MEASURES.items()}
SOURCES = ("projection", "trail")


def _rounds_for(session: Session, period: Period, source: str, lookback_days: int) -> Any:
    if source == "projection":
        refresh_rounds(session)
        return _projected_rounds(period)
    if source == "trail":
        return _trail_rounds(period, lookback_days)
    raise ValueError(f"source must be one of {SOURCES}")


def _counts_query(rounds: Any, period: Period) -> Select[Any]:
    bounds = Bounds.of(period)
    columns = [func.sum(case((condition(rounds.c, bounds), 1), else_=0)).label(key)
               for key, (_, condition) in MEASURES.items()]
    return select(rounds.c.unit_id, *columns).where(rounds.c.unit_id.is_not(None)).group_by(rounds.c.unit_id)


def unit_counts(session: Session, period: Period, *, source: str = "projection",
                lookback_days: int = TRAIL_LOOKBACK_DAYS,
                unit_id: int | None = None) -> dict[int, dict[str, int]]:
    """Per unit: every count of ``MEASURES`` for ``period`` (units with nothing to count are absent).

    ``source="projection"`` (the default) refreshes and reads ``assessment_rounds``;
    ``source="trail"`` reads ``appeal_events`` directly, taking the rounds handed out from
    ``lookback_days`` before the period (the reference the projection is tested against)."""
    rounds = _rounds_for(session, period, source, lookback_days)
    query = _counts_query(rounds, period)
    if unit_id is not None:
        query = query.where(rounds.c.unit_id == unit_id)
    result: dict[int, dict[str, int]] = {}
    for row in session.execute(query).mappings():
        counts = {key: int(row[key] or 0) for key in MEASURES}
        if any(counts.values()):
            result[int(row["unit_id"])] = counts
    return result


def counts_sql(session: Session, period: Period, *, source: str = "projection",
               lookback_days: int = TRAIL_LOOKBACK_DAYS) -> str:
    """The per-unit statement as the database receives it (for ``EXPLAIN`` and the docs)."""
    rounds = _projected_rounds(period) if source == "projection" else _trail_rounds(period, lookback_days)
    query = _counts_query(rounds, period)
    return str(query.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))


# ---------------------------------------------------------------- adjustments

def governance_tasks_done(session: Session, period: Period) -> dict[int, int]:
    """主动治理 tasks done by their deadline per unit in the period (the hotspots domain's tasks)."""
    done = hotspots.governance_tasks_done_by_unit(session, period.start, period.end)
    return {int(k): int(v) for k, v in done.items()}


def governance_tasks_overdue(session: Session, period: Period) -> dict[int, int]:
    """主动治理 tasks per unit whose deadline fell in the period and passed without them done."""
    overdue = hotspots.governance_tasks_overdue_by_unit(session, period.start, period.end)
    return {int(k): int(v) for k, v in overdue.items()}


# ---------------------------------------------------------------- figures, scores, ranks

def _rate(numerator: float, denominator: int) -> float | None:
    return None if denominator <= 0 else numerator / denominator


def _rated(counts: Mapping[str, int]) -> int:
    return sum(counts[level] for level in SATISFACTION_KEYS)


@dataclass
class UnitFigures:
    unit_id: int
    unit_code: str
    unit_name: str
    counts: dict[str, int]
    governance_done: int = 0
    governance_overdue: int = 0
    rates: dict[str, float | None] = field(default_factory=dict)
    satisfaction_points: float = 0.0
    base_score: float | None = None
    bonus: float = 0.0
    deduction: float = 0.0
    composite: float | None = None
    ranked: bool = False
    rank: int | None = None
    red: bool = False
    black: bool = False

    @property
    def rated(self) -> int:
        return _rated(self.counts)


@dataclass
class Assessment:
    period: Period
    policy: dict[str, Any]
    units: list[UnitFigures]
    ranked_count: int
    computed_at: datetime
    scope: Scope

    @property
    def red_list(self) -> list[UnitFigures]:
        return sorted((u for u in self.units if u.red), key=lambda u: u.rank or 0)

    @property
    def black_list(self) -> list[UnitFigures]:
        return sorted((u for u in self.units if u.black), key=lambda u: -(u.rank or 0))


def _rates(counts: Mapping[str, int], levels: Mapping[str, Any]) -> tuple[dict[str, float | None], float]:
    """The rates of one set of counts, and its satisfaction points (the per-level weights applied)."""
    c = counts
    points = sum(c[level] * float(levels[level]) for level in SATISFACTION_KEYS)
    return {
        "response": _rate(c["responded"], c["response_base"]),
        "on_time": _rate(c["on_time"], c["due"]),
        "resolution": _rate(c["solved"], c["followed_up"]),
        "satisfaction": _rate(points, _rated(c)),
        "return": _rate(c["returned"], c["dispatched"]),
        "reopen": _rate(c["reopened"], c["resolved"]),
    }, points


def district_rates(units: Sequence[UnitFigures], policy: Mapping[str, Any]) -> dict[str, float | None]:
    """The whole district's rates for the period: every unit's counts added up, so each hand-out
    counts once, with the unit it went to (the dashboards' headline figures)."""
    total = {key: sum(u.counts[key] for u in units) for key in MEASURES}
    return _rates(total, policy["satisfaction_weights"])[0]


def score_units(units: Sequence[UnitFigures], policy: Mapping[str, Any]) -> int:
    """Rates, composite, rank, red and black list for ``units`` (in place); returns how many ranked."""
    weights = policy["weights"]
    for u in units:
        c = u.counts
        u.rates, u.satisfaction_points = _rates(c, policy["satisfaction_weights"])
        used = {k: float(weights[k]) for k in RATE_KEYS if float(weights[k]) > 0 and u.rates[k] is not None}
        total = sum(used.values())
        u.base_score = (100 * sum(w * (u.rates[k] or 0.0) for k, w in used.items()) / total) if total else None
        u.bonus = min(float(policy["governance_bonus_cap"]),
                      u.governance_done * float(policy["governance_bonus_per_task"]))
        u.deduction = min(float(policy["deduction_cap"]),
                          c["supervised_overdue"] * float(policy["supervised_overdue_deduction"])
                          + u.governance_overdue * float(policy["governance_overdue_deduction"]))
        u.composite = None if u.base_score is None else round(u.base_score + u.bonus - u.deduction, 2)
        u.ranked = u.composite is not None and c["dispatched"] >= int(policy["min_volume"])
        u.rank, u.red, u.black = None, False, False
    # Equal scores: the unit that handled more comes first (on the lists too).
    ranked = sorted((u for u in units if u.ranked), key=lambda u: (-(u.composite or 0.0), -u.counts["dispatched"],
                                                                     u.unit_code))
    previous: tuple[float | None, int] = (None, 0)
    for position, u in enumerate(ranked, start=1):
        # Equal scores share a rank (1, 2, 2, 4).
        u.rank = previous[1] if u.composite == previous[0] else position
        previous = (u.composite, u.rank)
    red = [u for u in ranked[: int(policy["red_size"])] if (u.composite or 0) >= float(policy["red_min_score"])]
    for u in red:
        u.red = True
    bottom = [u for u in reversed(ranked) if not u.red][: int(policy["black_size"])]
    for u in bottom:
        if (u.composite or 0) < float(policy["black_max_score"]):
            u.black = True
    return len(ranked)


def unit_figures(session: Session, period: Period, *, governance_done: Mapping[int, int] | None = None,
                 governance_overdue: Mapping[int, int] | None = None,
                 source: str = "projection") -> list[UnitFigures]:
    """The unscored figures of every unit with work in ``period``: the counts and the governance
    tasks, i.e. everything that reads the database. ``governance_done`` and ``governance_overdue``
    override the hotspots domain's counts."""
    counts = unit_counts(session, period, source=source)
    done = dict(governance_done) if governance_done is not None else governance_tasks_done(session, period)
    late = dict(governance_overdue) if governance_overdue is not None else governance_tasks_overdue(session, period)
    ids = set(counts) | {k for k, v in done.items() if v} | {k for k, v in late.items() if v}
    units = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(ids)))} if ids else {}
    empty = dict.fromkeys(MEASURES, 0)
    return [UnitFigures(unit_id=i, unit_code=units[i].code, unit_name=units[i].name,
                        counts=counts.get(i, dict(empty)), governance_done=int(done.get(i, 0)),
                        governance_overdue=int(late.get(i, 0)))
            for i in ids if i in units]


def assess(period: Period, figures: list[UnitFigures], policy: dict[str, Any], *, scope: Scope | None = None,
           computed_at: datetime | None = None) -> Assessment:
    """Score, rank and order ``figures`` under ``policy`` (no database): the same figures always
    give the same result, whoever stored them (the dashboards keep them pre-computed)."""
    scope = scope or Scope(None)
    ranked = score_units(figures, policy)
    figures.sort(key=lambda u: (u.rank is None, u.rank or 0, -(u.counts["dispatched"]), u.unit_code))
    if not scope.everything:
        figures = [u for u in figures if u.unit_id == scope.unit_id]
    return Assessment(period=period, policy=policy, units=figures, ranked_count=ranked,
                      computed_at=computed_at or clock.now(), scope=scope)


def compute_assessment(session: Session, period: Period, *, scope: Scope | None = None,
                       governance_done: Mapping[int, int] | None = None,
                       governance_overdue: Mapping[int, int] | None = None, source: str = "projection") -> Assessment:
    """Figures for every unit with work in ``period``, ranked; a unit scope keeps only its row
    (its rank is still among all units). ``governance_done`` and ``governance_overdue`` override the
    hotspots domain's counts."""
    policy = get_policy(session)
    figures = unit_figures(session, period, governance_done=governance_done, governance_overdue=governance_overdue,
                           source=source)
    return assess(period, figures, policy, scope=scope)


def assessment_for(session: Session, actor: Actor, period: Period) -> Assessment:
    """The assessment as ``actor`` may see it."""
    return compute_assessment(session, period, scope=access_assessment(actor))


# ---------------------------------------------------------------- drill-down

DRILL_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Drill:
    unit: Unit
    appeals: list[Appeal]  # newest round first, at most the limit
    total: int             # appeals behind the number
    rounds: int            # the number itself (an appeal reopened in the period counts once per round)


def appeals_behind(session: Session, actor: Actor, period: Period, unit_code: str, measure: str,
                   *, limit: int = DRILL_LIMIT) -> Drill:
    """The appeals behind one number of one unit."""
    scope = access_assessment(actor)
    if measure not in MEASURES:
        raise InvalidInput(f"没有考核指标 {measure}", f"unknown measure {measure!r}; one of {', '.join(MEASURES)}",
                           field="measure")
    unit = session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None:
        raise NotFound(f"没有编码为 {unit_code} 的单位", f"no unit with code {unit_code!r}", field="unit")
    if not scope.everything and unit.id != scope.unit_id:
        raise Forbidden("您只能查看本单位的考核明细", "you may only see your own unit's figures")
    rounds = _rounds_for(session, period, "projection", 0)
    condition = MEASURES[measure][1](rounds.c, Bounds.of(period))
    matching: Select[Any] = (select(rounds.c.appeal_id, func.max(rounds.c.round_id).label("last_round"),
                                    func.count().label("rounds"))
                             .where(rounds.c.unit_id == unit.id, condition).group_by(rounds.c.appeal_id))
    found = matching.subquery("found")
    appeals_n, rounds_n = session.execute(select(func.count(), func.sum(found.c.rounds)).select_from(found)).one()
    rows = session.execute(select(Appeal).join(found, found.c.appeal_id == Appeal.id)
                           .order_by(found.c.last_round.desc()).limit(limit)).scalars().all()
    return Drill(unit, list(rows), int(appeals_n or 0), int(rounds_n or 0))
