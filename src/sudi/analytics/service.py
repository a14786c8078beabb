"""Dashboards and early warning (预警) over the case engine's appeals.

Pre-aggregation
    ``rebuild_rollup(start, end)`` recomputes the rollup (``models.RollupRow``) for a range of local
    days from the appeals: one ``GROUP BY`` over the appeals received in the range, folded in Python
    into every dimension, then the month rows of the touched months are re-summed from the day rows.
    Counts are by the day an appeal was *received* (a cohort): "of the appeals received in
    November, how many are resolved, overdue, reopened". The server's periodic job
    (``run_periodic``) rebuilds the last ``recent_days`` days every minute and the last
    ``refresh_days`` every hour, so that late changes to older appeals (resolved, reopened, overdue)
    reach the figures; ``sudi analytics rebuild`` rebuilds everything. Live figures (open now,
    overdue now, the newest appeals) read the appeals table through its indexes.

The official three rates by unit
    The dashboards' "三率 by unit" panel and the district's rates in the headline tiles (every
    unit's counts summed) show the assessment's own figures (``sudi.assessment``: the
    rounds from the event trail, the per-level satisfaction weights, the composite score, rank and
    red/black lists), never a second definition. Counting them for a year takes seconds at volume,
    so each period's per-unit counts are kept as a snapshot (a setting row per assessment period,
    ``analytics_units:<period key>``) with the moment they were computed; the periodic job keeps the
    dashboard's own periods current, and the score, rank and lists are applied on every read with
    the admin's current assessment policy (see ``unit_rates``).

Early warning
    ``detect_warnings`` runs five detectors and files their findings in the supervisor's queue
    (``models.EarlyWarning``), one open warning per subject:

    * spike: per grid, town, first-level category and lead unit, the appeals of the last
      ``window_days`` against a baseline. When the rollup reaches back a year or more, the baseline
      is the same window in earlier years (364 days back, so weekdays align; that week and the weeks
      either side), each scaled by how this year's recent weeks compare with that year's
      (``level``, clipped to 0.5–2); otherwise the ``recent_weeks`` windows before this one. The
      expected count is the baseline's median; a warning needs all of: at least ``min_count``
      appeals, at least ``min_ratio`` × expected, a robust z-score
      ``(observed − median) / max(1.4826·MAD, √median, 1)`` of at least ``min_z``, and a Poisson
      tail ``P(X ≥ observed | λ = expected)`` of at most ``max_p`` divided by the number of keys
      of the dimension (Bonferroni: ``max_p`` is the false-alarm rate of a whole dimension per
      run). Heating complaints in November are then normal when last November was as high.
    * repeat_caller: one phone number with ``min_appeals`` or more appeals within ``days``.
    * sensitive: an appeal whose title or text holds a word of the admin's lists (群体事件,
      安全隐患, 越级上访).
    * reopened: an appeal reopened ``min_reopens`` times or more.
    * task_overdue: a proactive-governance task (主动治理, ``sudi.hotspots``) still open more than
      ``grace_days`` after its deadline.

Every threshold and keyword list is the admin setting ``analytics_warning_policy``
(``get_policy`` / ``update_policy``).
"""

from __future__ import annotations

import copy
import math
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, and_, case, delete, func, insert, literal, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from sudi.analytics.models import (
    MEASURES,
    OPEN_WARNING_STATES,
    WARNING_KIND_LABELS,
    EarlyWarning,
    RollupRow,
    WarningKind,
    WarningState,
)
from sudi.appeals.models import (
    CHANNEL_LABELS,
    KIND_LABELS,
    OPEN_STATES,
    Appeal,
    AppealEvent,
    Category,
    State,
)
from sudi.assessment import service as assessment
from sudi.core import clock
from sudi.core.db import local_date, transaction
from sudi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from sudi.core.models import Setting, get_setting, put_setting, record_audit
from sudi.directory.models import Grid, Role, Unit
from sudi.directory.service import SYSTEM, Actor
from sudi.hotspots import service as hotspots
from sudi.hotspots.models import GovernanceTask, TaskState
from sudi.intelligence.pii import mask_phone

DASHBOARD_ROLES = frozenset({Role.admin, Role.dispatcher, Role.supervisor, Role.leader})
WARNING_VIEW_ROLES = DASHBOARD_ROLES
WARNING_ACT_ROLES = frozenset({Role.admin, Role.supervisor})
POLICY_ROLES = frozenset({Role.admin})

POLICY_KEY = "analytics_warning_policy"
JOBS_KEY = "analytics_jobs_state"
SENSITIVE_WATERMARK_KEY = "analytics_sensitive_scanned_to"

DIMENSIONS = ("all", "town", "grid", "category", "unit", "channel", "kind", "grid_category")
SPIKE_DIMENSIONS = ("grid", "town", "category", "unit")
DIMENSION_LABELS = {"grid": "网格", "town": "镇街", "category": "分类", "unit": "承办单位", "channel": "渠道",
                    "kind": "诉求类别", "all": "全区", "grid_category": "网格×分类"}
SENSITIVE_GROUP_LABELS = {"group": "群体性事件", "safety": "安全隐患", "petition": "越级上访"}
_RESOLVED_LIKE = (State.resolved.value, State.followed_up.value, State.archived.value)
_OPEN = tuple(s.value for s in OPEN_STATES)
_IN_HAND = (State.dispatched.value, State.acknowledged.value, State.returned.value)
_SEASON_DAYS = 364  # 52 weeks: the same weekdays a year earlier

DEFAULT_POLICY: dict[str, Any] = {
    "spike": {"enabled": True, "dimensions": list(SPIKE_DIMENSIONS), "window_days": 7, "recent_weeks": 8,
              "years": 2, "min_count": 5, "min_ratio": 1.5, "min_z": 3.0, "max_p": 0.01, "cooldown_days": 7},
    "repeat_caller": {"enabled": True, "days": 30, "min_appeals": 3},
    "sensitive": {"enabled": True, "first_scan_days": 7,
                  "group": ["群体性", "群体事件", "集体上访", "聚集闹事", "堵路", "堵门", "围堵", "拉横幅", "静坐",
                            "讨薪", "讨要工资", "拖欠工资", "欠薪", "农民工工资"],
                  "safety": ["燃气泄漏", "煤气泄漏", "天然气泄漏", "漏气", "燃气味", "煤气味", "火灾", "起火", "着火",
                             "爆炸", "坍塌", "塌陷", "触电", "漏电"],
                  "petition": ["上访", "进京", "赴京", "去北京反映", "到省里", "去省里", "到省上", "越级", "省信访",
                               "国家信访"]},
    "reopened": {"enabled": True, "min_reopens": 2, "days": 30},
    "task_overdue": {"enabled": True, "grace_days": 0, "high_after_days": 7},
    "rollup": {"recent_days": 2, "refresh_days": 45, "refresh_every_minutes": 60, "grid_category_days": 63,
               "full_rebuild_hour": 3},
    # The official 三率 snapshots: recomputed when new events or task changes arrived and the
    # last computation is this old, and in any case at the maximum age (deadlines pass silently).
    "jobs": {"warnings_every_minutes": 10, "assessment_every_minutes": 10, "assessment_max_age_minutes": 60},
    "display": {"dashboard_refresh_seconds": 30, "wall_refresh_seconds": 15},
}


# ---------------------------------------------------------------- access

def require_dashboard(actor: Actor) -> None:
    if actor.role not in DASHBOARD_ROLES:
        raise Forbidden("仅区领导、督查、派单和管理员可查看数据看板", "the dashboards are for leaders, supervisors, "
                        "dispatchers and admins")


def require_warning_view(actor: Actor) -> None:
    if actor.role not in WARNING_VIEW_ROLES:
        raise Forbidden("无权查看预警", "you may not see the early warnings")


# ---------------------------------------------------------------- days and periods

def local_today(now: datetime | None = None) -> date:
    return clock.local(now or clock.now()).date()


def day_start(day: date) -> datetime:
    """The UTC moment a local day begins."""
    return datetime.combine(day, time.min, tzinfo=clock.DISTRICT_TZ).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # inclusive
    label: str
    choice: str = ""  # what was asked: "30d", "month", "year", "2026-11"; "" for from/to

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


PERIODS = {"7d": ("近7天", 7), "30d": ("近30天", 30), "90d": ("近90天", 90), "365d": ("近一年", 365)}


def parse_period(period: str | None = None, date_from: str | None = None, date_to: str | None = None,
                 *, today: date | None = None) -> Period:
    """``7d`` ``30d`` ``90d`` ``365d``, ``month`` (this month), ``year`` (this year), ``YYYY-MM``, or
    ``from``/``to`` (YYYY-MM-DD, inclusive)."""
    today = today or local_today()
    if date_from or date_to:
        try:
            start = date.fromisoformat(date_from) if date_from else today - timedelta(days=29)
            end = date.fromisoformat(date_to) if date_to else today
        except ValueError:
            raise InvalidInput("日期应为 YYYY-MM-DD", "dates must be YYYY-MM-DD", field="from") from None
        if start > end:
            raise InvalidInput("开始日期不能晚于结束日期", "from must not be after to", field="from")
        if (end - start).days > 3660 or start.year < 1990:
            raise InvalidInput("时间范围过大", "the period is too long (at most ten years)", field="from")
        return Period(start, end, f"{start:%Y-%m-%d} 至 {end:%Y-%m-%d}")
    period = period or "30d"
    if period in PERIODS:
        label, days = PERIODS[period]
        return Period(today - timedelta(days=days - 1), today, label, period)
    if period == "month":
        return Period(today.replace(day=1), today, "本月", period)
    if period == "year":
        return Period(today.replace(month=1, day=1), today, "本年", period)
    if len(period) == 7 and period[4] == "-":
        try:
            first = date(int(period[:4]), int(period[5:]), 1)
        except ValueError:
            first = None
        if first is not None and 1990 <= first.year <= 2199:
            return Period(first, min(_month_end(first), max(today, first)), f"{first:%Y年%m月}", period)
    raise InvalidInput("时间范围应为 7d、30d、90d、365d、month、year 或 YYYY-MM",
                       "period must be 7d, 30d, 90d, 365d, month, year or YYYY-MM", field="period")


def _month_end(first: date) -> date:
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _months_between(start: date, end: date) -> list[date]:
    first, months = start.replace(day=1), []
    while first <= end:
        months.append(first)
        first = _month_end(first) + timedelta(days=1)
    return months


def _spans(start: date, end: date) -> tuple[list[date], list[tuple[date, date]]]:
    """Whole months inside [start, end] (read from month rows) and the day ranges at the edges."""
    months, ranges = [], []
    for first in _months_between(start, end):
        last = _month_end(first)
        if first >= start and last <= end:
            months.append(first)
        else:
            ranges.append((max(first, start), min(last, end)))
    return months, ranges


# ---------------------------------------------------------------- the rollup

def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _measure_columns() -> list[ColumnElement[Any]]:
    return [
        func.count(Appeal.id),
        _count_if(Appeal.state.in_(_OPEN)),
        _count_if(Appeal.state.in_(_RESOLVED_LIKE)),
        _count_if(Appeal.state == State.rejected.value),
        _count_if(Appeal.is_overdue.is_(True)),
        _count_if(Appeal.is_supervised.is_(True)),
        _count_if(Appeal.reopen_count > 0),
        _count_if(Appeal.return_count > 0),
    ]


def category_roots(session: Session) -> dict[int, int]:
    """Each category's first-level ancestor."""
    parents: dict[int, int | None] = {i: p for i, p in session.execute(select(Category.id, Category.parent_id))}
    roots: dict[int, int] = {}
    for cid in parents:
        node, seen = cid, 0
        while parents.get(node) is not None and seen < 10:
            node, seen = parents[node] or node, seen + 1
        roots[cid] = node
    return roots


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def compute_rollup(session: Session, start: date, end: date, *,
                   grid_category_from: date | None = None) -> dict[tuple[str, date, str], list[int]]:
    """The day cells of [start, end] from the appeals: {(dimension, day, key): measures}."""
    day_col = local_date(session, Appeal.received_at).label("day")
    dims = (Appeal.town_unit_id, Appeal.grid_id, Appeal.category_id, Appeal.lead_unit_id, Appeal.channel,
            Appeal.appeal_kind)
    query = (select(day_col, *dims, *_measure_columns())
             .where(Appeal.received_at >= day_start(start), Appeal.received_at < day_start(end + timedelta(days=1)))
             .group_by(day_col, *dims))
    roots = category_roots(session)
    cells: dict[tuple[str, date, str], list[int]] = {}
    width = len(MEASURES)

    def add(dimension: str, day: date, key: str, values: Sequence[int]) -> None:
        cell = cells.get((dimension, day, key))
        if cell is None:
            cells[(dimension, day, key)] = list(values)
        else:
            for i in range(width):
                cell[i] += values[i]

    for row in session.execute(query):
        day = _as_date(row[0])
        town, grid, category, unit, channel, kind = row[1:7]
        values = [int(v or 0) for v in row[7:]]
        root = roots.get(category) if category is not None else None
        add("all", day, "", values)
        add("town", day, _key(town), values)
        add("grid", day, _key(grid), values)
        add("category", day, _key(root), values)
        add("unit", day, _key(unit), values)
        add("channel", day, channel or "", values)
        add("kind", day, kind or "", values)
        if grid_category_from is not None and day >= grid_category_from and grid is not None:
            add("grid_category", day, f"{grid}:{_key(root)}", values)
    return cells


def _key(value: Any) -> str:
    return "" if value is None else str(value)


def rebuild_rollup(session: Session, start: date, end: date, *, now: datetime | None = None,
                   progress: Callable[[int], None] | None = None) -> int:
    """Recompute the rollup for the local days [start, end], a month at a time (one transaction
    each, so a long rebuild never holds SQLite's write lock for long). Returns the rows written."""
    now = now or clock.now()
    policy = get_policy(session)
    grid_category_from = local_today(now) - timedelta(days=int(policy["rollup"]["grid_category_days"]))
    written = 0
    for first in _months_between(start, end):
        lo, hi = max(first, start), min(_month_end(first), end)
        cells = compute_rollup(session, lo, hi, grid_category_from=grid_category_from)
        rows = [{"grain": "day", "dimension": dim, "day": day, "key": key, **dict(zip(MEASURES, values, strict=True))}
                for (dim, day, key), values in cells.items()]
        with transaction(session):
            session.execute(delete(RollupRow).where(RollupRow.grain == "day", RollupRow.day >= lo,
                                                    RollupRow.day <= hi))
            # grid × category cells are kept only for the recent weeks the hotspot panel reads.
            session.execute(delete(RollupRow).where(RollupRow.grain == "day", RollupRow.dimension == "grid_category",
                                                    RollupRow.day < grid_category_from))
            for chunk in range(0, len(rows), 5000):
                session.execute(insert(RollupRow), rows[chunk:chunk + 5000])
            written += len(rows) + _resum_month(session, first)
        if progress:
            progress(len(rows))
    return written


def _resum_month(session: Session, first: date) -> int:
    last = _month_end(first)
    session.execute(delete(RollupRow).where(RollupRow.grain == "month", RollupRow.day == first))
    sums = [func.sum(getattr(RollupRow, m)) for m in MEASURES]
    source = (select(literal("month"), RollupRow.dimension, literal(first, Date), RollupRow.key, *sums)
              .where(RollupRow.grain == "day", RollupRow.day >= first, RollupRow.day <= last,
                     RollupRow.dimension != "grid_category")
              .group_by(RollupRow.dimension, RollupRow.key))
    result = session.execute(insert(RollupRow).from_select(["grain", "dimension", "day", "key", *MEASURES], source))
    return int(getattr(result, "rowcount", 0) or 0)


def rebuild_all(session: Session, actor: Actor = SYSTEM, *, now: datetime | None = None,
                progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Throw the rollup away and rebuild it from every appeal (``sudi analytics rebuild``)."""
    now = now or clock.now()
    lo, hi = session.execute(select(func.min(Appeal.received_at), func.max(Appeal.received_at))).one()
    if lo is None:
        with transaction(session):
            session.execute(delete(RollupRow))
        summary = {"rows": 0, "days": 0, "from": None, "to": None}
    else:
        start, end = clock.local(lo).date(), max(clock.local(hi).date(), local_today(now))
        # Each month is swapped in its own transaction, so the dashboards never see an empty
        # rollup while it is rebuilt; only cells outside the appeals' range go first.
        with transaction(session):
            session.execute(delete(RollupRow).where(or_(RollupRow.day < start.replace(day=1), RollupRow.day > end)))
        months = len(_months_between(start, end))
        done = [0]

        def step(_rows: int) -> None:
            done[0] += 1
            if progress:
                progress(done[0], months)

        rows = rebuild_rollup(session, start, end, now=now, progress=step)
        summary = {"rows": rows, "days": (end - start).days + 1, "from": start.isoformat(), "to": end.isoformat()}
        _vacuum_rollup(session)
    with transaction(session):
        record_audit(session, actor_id=actor.id, actor_name=actor.name, action="rebuild_rollup",
                     object_type="analytics_rollup", object_id="all", **summary)
        _set_job_state(session, "full_rebuild_at", now)
    return summary


def _vacuum_rollup(session: Session) -> None:
    """PostgreSQL: fresh statistics and visibility map after a full rebuild, so that the planner
    aggregates by hash from the covering index alone (4× faster at 1,000,000 appeals)."""
    engine = session.get_bind().engine
    if engine.dialect.name == "postgresql":
        session.commit()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE analytics_rollup")


def refresh_recent(session: Session, days: int, *, now: datetime | None = None) -> int:
    today = local_today(now)
    return rebuild_rollup(session, today - timedelta(days=max(1, days) - 1), today, now=now)


# ---------------------------------------------------------------- reading the rollup

def _rollup_where(dimension: str, start: date, end: date) -> ColumnElement[bool]:
    months, ranges = _spans(start, end)
    parts: list[ColumnElement[bool]] = []
    if months and dimension != "grid_category":
        parts.append(and_(RollupRow.grain == "month", RollupRow.day.in_(months)))
    else:
        ranges = [(start, end)]
    for lo, hi in ranges:
        parts.append(and_(RollupRow.grain == "day", RollupRow.day >= lo, RollupRow.day <= hi))
    return and_(RollupRow.dimension == dimension, or_(*parts))


def totals_by_key(session: Session, dimension: str, start: date, end: date,
                  measures: Sequence[str] = MEASURES) -> dict[str, dict[str, int]]:
    """Each key's measures summed over [start, end]."""
    columns = [func.sum(getattr(RollupRow, m)) for m in measures]
    query = select(RollupRow.key, *columns).where(_rollup_where(dimension, start, end)).group_by(RollupRow.key)
    return {row[0]: {m: int(v or 0) for m, v in zip(measures, row[1:], strict=True)}
            for row in session.execute(query)}


def daily_series(session: Session, dimension: str, start: date, end: date, measure: str = "received"
                 ) -> dict[str, dict[date, int]]:
    query = (select(RollupRow.key, RollupRow.day, getattr(RollupRow, measure))
             .where(RollupRow.grain == "day", RollupRow.dimension == dimension, RollupRow.day >= start,
                    RollupRow.day <= end))
    series: dict[str, dict[date, int]] = {}
    for key, day, value in session.execute(query):
        series.setdefault(key, {})[_as_date(day)] = int(value or 0)
    return series


def _names(session: Session, model: Any, ids: Iterable[str], attr: str = "name") -> dict[str, str]:
    wanted = [int(k) for k in ids if k and k.isdigit()]
    if not wanted:
        return {}
    return {str(i): n for i, n in session.execute(select(model.id, getattr(model, attr)).where(model.id.in_(wanted)))}


def summary(session: Session, period: Period, *, now: datetime | None = None) -> dict[str, Any]:
    """The headline figures of a period, plus the live state of the open appeals."""
    now = now or clock.now()
    total = totals_by_key(session, "all", period.start, period.end).get("", dict.fromkeys(MEASURES, 0))
    today = local_today(now)
    open_now = overdue_now = supervised_now = 0
    for _state, n, overdue, supervised in session.execute(
            select(Appeal.state, func.count(), _count_if(Appeal.is_overdue.is_(True)),
                   _count_if(Appeal.is_supervised.is_(True))).where(Appeal.state.in_(_OPEN)).group_by(Appeal.state)):
        open_now += int(n)
        overdue_now += int(overdue or 0)
        supervised_now += int(supervised or 0)
    today_count = session.scalar(select(func.count(Appeal.id)).where(Appeal.received_at >= day_start(today))) or 0
    hour_count = session.scalar(select(func.count(Appeal.id))
                                .where(Appeal.received_at >= now - timedelta(hours=1))) or 0
    warnings_open = session.scalar(select(func.count(EarlyWarning.id))
                                   .where(EarlyWarning.state.in_(OPEN_WARNING_STATES))) or 0
    return {
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat(), "label": period.label},
        "received": total["received"], "resolved": total["resolved"], "rejected": total["rejected"],
        "open_of_period": total["open"], "overdue_of_period": total["overdue"],
        "live": {"today": int(today_count), "last_hour": int(hour_count), "open": open_now,
                 "overdue": overdue_now, "supervised": supervised_now, "warnings": int(warnings_open)},
        "rollup_as_of": _job_state(session).get("recent_at"),
    }


def trend(session: Session, grain: str, period: Period) -> dict[str, Any]:
    """Appeals received (and resolved of them) per day or per month."""
    if grain not in ("day", "month"):
        raise InvalidInput("粒度应为 day 或 month", "grain must be day or month", field="grain")
    start = period.start if grain == "day" else period.start.replace(day=1)
    query = (select(RollupRow.day, RollupRow.received, RollupRow.resolved, RollupRow.overdue)
             .where(RollupRow.grain == grain, RollupRow.dimension == "all", RollupRow.day >= start,
                    RollupRow.day <= period.end).order_by(RollupRow.day))
    found = {_as_date(d): (int(r), int(s), int(o)) for d, r, s, o in session.execute(query)}
    labels: list[str] = []
    if grain == "day":
        days = [period.start + timedelta(days=i) for i in range(period.days)]
        labels = [f"{d:%m-%d}" for d in days]
    else:
        days = _months_between(start, period.end)
        labels = [f"{d:%Y-%m}" for d in days]
    return {"grain": grain, "labels": labels,
            "received": [found.get(d, (0, 0, 0))[0] for d in days],
            "resolved": [found.get(d, (0, 0, 0))[1] for d in days],
            "overdue": [found.get(d, (0, 0, 0))[2] for d in days]}


def mix(session: Session, dimension: str, period: Period, *, top: int = 12) -> dict[str, Any]:
    """How a period's appeals divide by category (first level), channel, kind or town."""
    if dimension not in ("category", "channel", "kind", "town"):
        raise InvalidInput("维度应为 category、channel、kind 或 town", "dimension must be category, channel, kind "
                           "or town", field="dimension")
    totals = totals_by_key(session, dimension, period.start, period.end, ("received",))
    if dimension == "category":
        names = _names(session, Category, totals)
    elif dimension == "town":
        names = _names(session, Unit, totals)
    elif dimension == "channel":
        names = {str(k): v for k, v in CHANNEL_LABELS.items()}
    else:
        names = {str(k): v for k, v in KIND_LABELS.items()}
    items = sorted(((names.get(k, k or "未分类"), v["received"]) for k, v in totals.items()
                    if v["received"]), key=lambda kv: -kv[1])
    if len(items) > top:
        items = [*items[:top - 1], ("其他", sum(v for _, v in items[top - 1:]))]
    return {"dimension": dimension, "items": [{"name": n, "value": v} for n, v in items]}


# ---------------------------------------------------------------- the official 三率 by unit

UNITS_KEY_PREFIX = "analytics_units:"
# The dashboard's own choices (the page offers nothing else): the job keeps these current.
DASHBOARD_CHOICES = (*PERIODS, "month", "year")


def assessment_period(period: Period) -> assessment.Period:
    """The assessment period a dashboard period stands for, so that the panel and
    ``/staff/assessment`` count the same thing. "本月" and ``YYYY-MM`` are the assessment's calendar
    month and "本年" its calendar year (the days still ahead hold no events, so the whole month is
    the month to date); the rolling windows (近7天 … 近一年) and from/to have no calendar
    equivalent and become the assessment's custom period over the same days."""
    if period.choice == "month" or (len(period.choice) == 7 and period.choice[4] == "-"):
        return assessment.parse_period(f"{period.start:%Y-%m}")
    if period.choice == "year":
        return assessment.parse_period(f"{period.start.year:04d}")
    return assessment.parse_period(None, period.start.isoformat(), period.end.isoformat())


def _snapshot_key(period: assessment.Period) -> str:
    return UNITS_KEY_PREFIX + period.key


def _assessment_inputs(session: Session) -> dict[str, Any]:
    """What the per-unit counts depend on besides the clock: the event trail (its highest id) and
    the governance tasks (created, done, cancelled). Cheap enough to check on every read."""
    events = session.scalar(select(func.max(AppealEvent.id))) or 0
    tasks = session.execute(select(func.count(GovernanceTask.id), func.max(GovernanceTask.id),
                                   _count_if(GovernanceTask.state == TaskState.done.value),
                                   _count_if(GovernanceTask.state == TaskState.cancelled.value))).one()
    return {"events": int(events), "tasks": [int(v or 0) for v in tasks]}


def compute_unit_snapshot(session: Session, period: assessment.Period,
                          inputs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Count the assessment's figures for ``period`` and keep them (the expensive part: every round
    of the period; seconds for a year at volume). Returns the stored snapshot. ``inputs``: what the
    caller read of ``_assessment_inputs`` before deciding to count."""
    # Read before counting: an event that lands meanwhile leaves the snapshot stale, never fresh.
    inputs = inputs if inputs is not None else _assessment_inputs(session)
    figures = assessment.unit_figures(session, period)
    snapshot = {"period": period.key, "computed_at": clock.now().isoformat(), "inputs": inputs,
                "measures": list(assessment.MEASURES),
                "units": [{"id": u.unit_id, "code": u.unit_code, "name": u.unit_name, "counts": u.counts,
                           "governance_done": u.governance_done, "governance_overdue": u.governance_overdue}
                          for u in figures]}
    try:
        with transaction(session):
            put_setting(session, _snapshot_key(period), snapshot)
    except IntegrityError:
        pass  # another process stored the same period at the same moment: its figures are as good
    return snapshot


def _usable(snapshot: Any, period: assessment.Period) -> bool:
    return (isinstance(snapshot, dict) and snapshot.get("period") == period.key
            and snapshot.get("measures") == list(assessment.MEASURES))


def _outdated(snapshot: dict[str, Any], inputs: dict[str, Any], now: datetime, jobs: dict[str, Any]) -> bool:
    age = now - datetime.fromisoformat(snapshot["computed_at"])
    if age >= timedelta(minutes=int(jobs["assessment_max_age_minutes"])):
        return True
    return snapshot["inputs"] != inputs and age >= timedelta(minutes=int(jobs["assessment_every_minutes"]))


def unit_rates(session: Session, period: Period, *, now: datetime | None = None) -> dict[str, Any]:
    """The three rates by unit for the dashboards, and the district's (every unit's counts summed, for
    the headline tiles): the assessment's figures for the same period (``assessment_period``), read
    from the snapshot, with their computed-at time.

    The counts come from the snapshot; rates, composite score, rank and red/black lists are
    applied here with the current assessment policy, so an admin's new weights show at once and
    the numbers are those of ``/staff/assessment`` as of ``computed_at``. A period without a
    snapshot is counted now (a miss: the dashboard's own periods only in the minute after
    midnight, before the job has run); a period the job does not keep is counted again once it
    is outdated."""
    now = now or clock.now()
    target = assessment_period(period)
    snapshot = get_setting(session, _snapshot_key(target))
    inputs = _assessment_inputs(session)
    kept_by_job = period.choice in DASHBOARD_CHOICES
    if not _usable(snapshot, target) or (not kept_by_job
                                         and _outdated(snapshot, inputs, now, get_policy(session)["jobs"])):
        snapshot = compute_unit_snapshot(session, target, inputs)
    # ``_usable`` vouches that the stored counts have every measure.
    figures = [assessment.UnitFigures(unit_id=int(u["id"]), unit_code=u["code"], unit_name=u["name"],
                                      counts=dict(u["counts"]), governance_done=int(u["governance_done"]),
                                      governance_overdue=int(u["governance_overdue"]))
               for u in snapshot["units"]]
    policy = assessment.get_policy(session)
    computed_at = datetime.fromisoformat(snapshot["computed_at"])
    district = assessment.district_rates(figures, policy)
    result = assessment.assess(target, figures, policy, computed_at=computed_at)
    query = assessment.period_query(target)
    return {
        "source": "assessment",
        "period": {"key": target.key, "kind": target.kind, "label": target.label,
                   "from": target.first_day.isoformat(), "to": target.last_day.isoformat(), "query": query},
        "computed_at": computed_at.isoformat(),
        # New events or task changes since: the job counts them again within its interval.
        "stale": snapshot["inputs"] != inputs,
        "ranked_units": result.ranked_count,
        # The headline tiles: the same counts summed over the units (every hand-out once).
        "district": _api_rates(district),
        "weights": policy["weights"], "satisfaction_weights": policy["satisfaction_weights"],
        "items": [_unit_item(u) for u in result.units],
        "red_list": [u.unit_name for u in result.red_list],
        "black_list": [u.unit_name for u in result.black_list],
    }


def _api_rates(rates: dict[str, float | None]) -> dict[str, float | None]:
    return {"response_rate": rates["response"], "on_time_rate": rates["on_time"], "solved_rate": rates["resolution"],
            "satisfaction_rate": rates["satisfaction"]}


def _unit_item(u: assessment.UnitFigures) -> dict[str, Any]:
    c = u.counts
    return {"unit_id": u.unit_id, "unit_code": u.unit_code, "unit": u.unit_name, "volume": c["dispatched"],
            **_api_rates(u.rates), "base_score": None if u.base_score is None else round(u.base_score, 2),
            "bonus": u.bonus,
            "deduction": u.deduction, "composite": u.composite, "ranked": u.ranked, "rank": u.rank, "red": u.red,
            "black": u.black, "overdue": c["overdue"], "supervised_overdue": c["supervised_overdue"],
            "returned": c["returned"], "reopened": c["reopened"], "governance_done": u.governance_done,
            "governance_overdue": u.governance_overdue}


def refresh_unit_snapshots(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """The job's part: count the dashboard's own periods that have no snapshot yet (a new day moves
    the rolling windows) or an outdated one (``_outdated``); drop snapshots of periods nobody asked
    about for a day."""
    now = now or clock.now()
    jobs = get_policy(session)["jobs"]
    inputs = _assessment_inputs(session)
    today = local_today(now)
    targets = [assessment_period(parse_period(choice, today=today)) for choice in DASHBOARD_CHOICES]
    keys = [_snapshot_key(target) for target in targets]   # all different: four ranges, a month, a year
    computed = 0
    for target, key in zip(targets, keys, strict=True):
        snapshot = get_setting(session, key)
        if not _usable(snapshot, target) or _outdated(snapshot, inputs, now, jobs):
            compute_unit_snapshot(session, target, inputs)
            computed += 1
    with transaction(session):
        gone = session.execute(delete(Setting).where(Setting.key.startswith(UNITS_KEY_PREFIX, autoescape=True),
                                                     Setting.key.not_in(keys),
                                                     Setting.updated_at < now - timedelta(days=1)))
    return {"computed": computed, "dropped": int(getattr(gone, "rowcount", 0) or 0)}


_grid_cache: dict[str, tuple[Any, dict[str, Any]]] = {}


def grids_geojson(session: Session) -> dict[str, Any]:
    """Every active grid's outline with its id, code, name and town, cached until the grids change."""
    from sudi.core.models import cached_setting
    from sudi.directory.geo import GRID_VERSION_KEY

    key = str(session.get_bind().engine.url)
    version = cached_setting(session, GRID_VERSION_KEY, 0)
    hit = _grid_cache.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]
    towns = {i: n for i, n in session.execute(select(Unit.id, Unit.name))}
    features = [{"type": "Feature", "geometry": geometry,
                 "properties": {"id": gid, "code": code, "name": name, "town": towns.get(town, "")}}
                for gid, code, name, town, geometry in session.execute(
                    select(Grid.id, Grid.code, Grid.name, Grid.town_unit_id, Grid.geometry)
                    .where(Grid.is_active.is_(True)).order_by(Grid.code))]
    collection = {"type": "FeatureCollection", "features": features}
    _grid_cache[key] = (version, collection)
    return collection


def grid_heat(session: Session, period: Period) -> dict[str, Any]:
    """Appeals per grid in the period, keyed by grid id (the map colours the outlines)."""
    totals = totals_by_key(session, "grid", period.start, period.end, ("received", "open", "overdue"))
    counts = {k: v for k, v in totals.items() if k}
    values = sorted(v["received"] for v in counts.values())
    return {"grids": {k: v["received"] for k, v in counts.items()},
            "open": {k: v["open"] for k, v in counts.items() if v["open"]},
            "max": values[-1] if values else 0, "unplaced": totals.get("", {}).get("received", 0),
            "quantiles": [values[int(len(values) * q)] for q in (0.5, 0.75, 0.9, 0.97)] if values else []}


def board_hotspots(session: Session, actor: Actor, *, top: int = 10) -> list[dict[str, Any]] | None:
    """The hotspot board's top hotspots (``sudi.hotspots``, text + place + time clusters), or None
    when the viewer may not see the board or none has been found yet."""
    try:
        rows = hotspots.list_hotspots(session, actor, top=top)
    except Forbidden:
        return None
    return [{"id": h.id, "title": h.title, "place": h.place, "size": h.size, "citizens": h.citizens,
             "heat": round(float(h.heat), 2), "growth": round(float(h.growth), 2),
             "last_time": h.last_time.isoformat()} for h in rows] or None


def hotspot_panel(session: Session, *, now: datetime | None = None, top: int = 10) -> dict[str, Any]:
    """Grids × categories whose appeals grew most: the last 7 days against the 28 before, per week
    (shown when the hotspot board has nothing, and always available as "growth")."""
    today = local_today(now)
    recent_from, base_from = today - timedelta(days=6), today - timedelta(days=34)
    in_recent = RollupRow.day >= recent_from
    query = (select(RollupRow.key, func.sum(case((in_recent, RollupRow.received), else_=0)),
                    func.sum(case((in_recent, 0), else_=RollupRow.received)))
             .where(RollupRow.grain == "day", RollupRow.dimension == "grid_category", RollupRow.day >= base_from,
                    RollupRow.day <= today)
             .group_by(RollupRow.key))
    items: list[dict[str, Any]] = []
    for key, recent_n, base_n in session.execute(query):
        now_n = int(recent_n or 0)
        before = int(base_n or 0) / 4.0
        if now_n < 3 or now_n <= before:
            continue
        score = (now_n - before) / math.sqrt(before + 1.0)
        grid_id, _, cat_id = key.partition(":")
        items.append({"key": key, "grid_id": grid_id, "category_id": cat_id, "recent": now_n,
                      "weekly_before": round(before, 1), "growth": round(score, 2)})
    items.sort(key=lambda i: -i["growth"])
    items = items[:top]
    grids = {str(g): (c, n) for g, c, n in session.execute(
        select(Grid.id, Grid.code, Grid.name).where(Grid.id.in_([int(i["grid_id"]) for i in items] or [0])))}
    cats = _names(session, Category, [i["category_id"] for i in items])
    for item in items:
        code, name = grids.get(item["grid_id"], ("", ""))
        item.update(grid_code=code, grid=name, category=cats.get(item["category_id"], "未分类"))
    return {"source": "rollup", "window": {"recent_from": recent_from.isoformat(), "to": today.isoformat()},
            "items": items}


def _appeal_items(session: Session, query: Any) -> list[dict[str, Any]]:
    rows = session.execute(query).all()
    units = _names(session, Unit, [str(r.lead_unit_id) for r in rows if r.lead_unit_id])
    return [{"number": r.number, "title": r.title, "state": r.state, "unit": units.get(str(r.lead_unit_id), ""),
             "received_at": r.received_at.isoformat(),
             "resolve_due": r.resolve_due.isoformat() if r.resolve_due else None,
             "is_overdue": bool(r.is_overdue), "is_supervised": bool(r.is_supervised)} for r in rows]


_ITEM_COLUMNS = (Appeal.number, Appeal.title, Appeal.state, Appeal.lead_unit_id, Appeal.received_at,
                 Appeal.resolve_due, Appeal.is_overdue, Appeal.is_supervised)


def _task_items(session: Session, tasks: Sequence[GovernanceTask], now: datetime) -> list[dict[str, Any]]:
    units = _names(session, Unit, [str(t.unit_id) for t in tasks])
    return [{"kind": "governance_task", "id": t.id, "title": t.title, "unit": units.get(str(t.unit_id), ""),
             "hotspot": (t.snapshot or {}).get("title", ""), "deadline": clock.local(t.deadline).isoformat(),
             "days_overdue": _days_past(t.deadline, now), "link": f"/staff/governance#task-{t.id}"} for t in tasks]


def _days_past(deadline: datetime, now: datetime) -> int:
    """Days overdue as a calendar counts them in the district (逾期 N 天); the deadline's own
    evening is the first."""
    return max(1, (local_today(now) - local_today(deadline)).days)


def open_items(session: Session, which: str, *, limit: int = 15, now: datetime | None = None) -> dict[str, Any]:
    """Overdue or supervised appeals still in hand, the longest overdue first; with them the
    主动治理 tasks past their deadline (``tasks``), which are under the centre's supervision from
    the day they are handed out, so they belong in both lists. ``total`` counts both."""
    # "= true", not "IS TRUE": PostgreSQL can search an index only with the former.
    if which == "overdue":
        flag = Appeal.is_overdue == true()
    elif which == "supervised":
        flag = Appeal.is_supervised == true()
    else:
        raise InvalidInput("应为 overdue 或 supervised", "which must be overdue or supervised", field="which")
    where = (Appeal.state.in_(_IN_HAND), flag)
    total = session.scalar(select(func.count()).select_from(Appeal).where(*where)) or 0
    query = select(*_ITEM_COLUMNS).where(*where).order_by(Appeal.resolve_due.asc().nulls_last()).limit(limit)
    now = now or clock.now()
    tasks = hotspots.overdue_governance_tasks(session, before=now, limit=limit)
    # Counted apart only when the list is cut: a dashboard refreshes this every few seconds.
    tasks_total = len(tasks) if len(tasks) < limit else hotspots.count_overdue_governance_tasks(session, before=now)
    return {"which": which, "total": int(total) + tasks_total, "appeals_total": int(total),
            "tasks_total": tasks_total, "items": _appeal_items(session, query),
            "tasks": _task_items(session, tasks, now)}


def live_appeals(session: Session, *, limit: int = 12) -> dict[str, Any]:
    """The newest appeals (the wall's ticker)."""
    query = select(*_ITEM_COLUMNS).order_by(Appeal.received_at.desc(), Appeal.id.desc()).limit(limit)
    return {"items": _appeal_items(session, query)}


# ---------------------------------------------------------------- the policy

def get_policy(session: Session) -> dict[str, Any]:
    """The admin's thresholds merged over the defaults (a key the admin never set has its default)."""
    stored = get_setting(session, POLICY_KEY, {}) or {}
    policy = copy.deepcopy(DEFAULT_POLICY)
    for section, values in stored.items():
        if section in policy and isinstance(values, dict):
            policy[section].update({k: v for k, v in values.items() if k in policy[section]})
    return policy


_NUMBER_LIMITS: dict[tuple[str, str], tuple[float, float, type]] = {
    ("spike", "window_days"): (1, 31, int), ("spike", "recent_weeks"): (2, 26, int), ("spike", "years"): (0, 5, int),
    ("spike", "min_count"): (1, 10000, int), ("spike", "min_ratio"): (1.0, 100.0, float),
    ("spike", "min_z"): (0.0, 50.0, float), ("spike", "max_p"): (1e-12, 0.5, float),
    ("spike", "cooldown_days"): (0, 365, int),
    ("repeat_caller", "days"): (1, 365, int), ("repeat_caller", "min_appeals"): (2, 1000, int),
    ("sensitive", "first_scan_days"): (0, 365, int),
    ("reopened", "min_reopens"): (1, 20, int), ("reopened", "days"): (1, 365, int),
    ("task_overdue", "grace_days"): (0, 365, int), ("task_overdue", "high_after_days"): (1, 365, int),
    ("rollup", "recent_days"): (1, 31, int), ("rollup", "refresh_days"): (2, 400, int),
    ("rollup", "refresh_every_minutes"): (5, 1440, int), ("rollup", "grid_category_days"): (35, 400, int),
    ("rollup", "full_rebuild_hour"): (-1, 23, int),
    ("jobs", "warnings_every_minutes"): (1, 1440, int), ("jobs", "assessment_every_minutes"): (1, 1440, int),
    ("jobs", "assessment_max_age_minutes"): (5, 1440, int),
    ("display", "dashboard_refresh_seconds"): (5, 3600, int), ("display", "wall_refresh_seconds"): (5, 3600, int),
}


def update_policy(session: Session, actor: Actor, changes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Change thresholds and keyword lists (admins). Every value is checked; nothing is saved
    when one is wrong."""
    if actor.role not in POLICY_ROLES:
        raise Forbidden("仅系统管理员可修改预警设置", "only admins may change the warning policy")
    policy = get_policy(session)
    for section, values in changes.items():
        if section not in policy:
            raise InvalidInput(f"未知设置项 {section}", f"unknown section {section}", field=section)
        for name, value in values.items():
            field = f"{section}.{name}"
            if name not in policy[section]:
                raise InvalidInput(f"未知设置项 {field}", f"unknown setting {field}", field=field)
            policy[section][name] = _checked(section, name, value, field)
    if policy["rollup"]["refresh_days"] < policy["rollup"]["recent_days"]:
        raise InvalidInput("定期重算天数不能少于实时重算天数", "refresh_days must be at least recent_days",
                           field="rollup.refresh_days")
    with transaction(session):
        before = get_setting(session, POLICY_KEY, {})
        put_setting(session, POLICY_KEY, policy)
        record_audit(session, actor_id=actor.id, actor_name=actor.name, action="update_warning_policy",
                     object_type="setting", object_id=POLICY_KEY, before=before, after=policy)
    return policy


def _checked(section: str, name: str, value: Any, field: str) -> Any:
    if name == "enabled":
        if not isinstance(value, bool):
            raise InvalidInput(f"{field} 应为是或否", f"{field} must be true or false", field=field)
        return value
    if name == "dimensions":
        values = list(value) if isinstance(value, list | tuple) else []
        if not values or any(v not in SPIKE_DIMENSIONS for v in values):
            raise InvalidInput("请至少选择一个维度（网格、镇街、分类、承办单位）",
                               "dimensions must be a non-empty subset of grid, town, category, unit", field=field)
        return [d for d in SPIKE_DIMENSIONS if d in values]
    if section == "sensitive" and name in SENSITIVE_GROUP_LABELS:
        words = [str(w).strip() for w in (value if isinstance(value, list | tuple) else str(value).split())]
        words = list(dict.fromkeys(w for w in words if w))
        if any(len(w) > 20 for w in words) or len(words) > 200:
            raise InvalidInput(f"{field}：每个关键词不超过 20 字，最多 200 个", f"{field}: at most 200 words of at "
                               "most 20 characters", field=field)
        return words
    lo, hi, kind = _NUMBER_LIMITS[(section, name)]
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} 应为数字", f"{field} must be a number", field=field) from None
    if (isinstance(number, float) and not math.isfinite(number)) or not lo <= number <= hi:
        raise InvalidInput(f"{field} 应在 {lo:g} 到 {hi:g} 之间", f"{field} must be between {lo:g} and {hi:g}",
                           field=field)
    return number


# ---------------------------------------------------------------- spike statistics

def poisson_tail(k: int, lam: float) -> float:
    """P(X ≥ k) for X ~ Poisson(lam)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    log_lam = math.log(lam)

    def pmf(i: int) -> float:
        return math.exp(-lam + i * log_lam - math.lgamma(i + 1))

    if k <= lam:
        return max(0.0, 1.0 - math.fsum(pmf(i) for i in range(k)))
    total, i = 0.0, k
    while True:
        term = pmf(i)
        total += term
        if term < 1e-17 * total or i > k + 10000:
            return min(1.0, total)
        i += 1


@dataclass(frozen=True, slots=True)
class SpikeTest:
    observed: int
    expected: float
    baseline: list[float]
    basis: str           # "seasonal" | "recent"
    z: float
    p: float
    ratio: float
    is_spike: bool


def spike_test(observed: int, recent: Sequence[int], seasonal: Sequence[float], settings: dict[str, Any]
               ) -> SpikeTest:
    """Is ``observed`` a spike against its baseline? ``seasonal`` (same windows in earlier years,
    level-adjusted) wins over ``recent`` (the windows just before) when there is any."""
    basis = "seasonal" if seasonal else "recent"
    baseline = [float(v) for v in (seasonal or recent)] or [0.0]
    median = statistics.median(baseline)
    mad = statistics.median(abs(v - median) for v in baseline)
    expected = max(median, 0.5)
    spread = max(1.4826 * mad, math.sqrt(expected), 1.0)
    z = (observed - median) / spread
    p = poisson_tail(observed, expected)
    ratio = observed / expected
    is_spike = (observed >= settings["min_count"] and ratio >= settings["min_ratio"] and z >= settings["min_z"]
                and p <= settings["max_p"])
    return SpikeTest(observed, round(expected, 2), [round(v, 2) for v in baseline], basis, round(z, 2), p,
                     round(ratio, 2), is_spike)


def _window_sum(series: dict[date, int], end: date, days: int) -> int:
    return sum(series.get(end - timedelta(days=i), 0) for i in range(days))


def detect_spikes(session: Session, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per dimension and key: the spike test of the last ``window_days``. Returns the findings."""
    policy = get_policy(session)["spike"]
    if not policy["enabled"]:
        return []
    today = local_today(now)
    w, weeks, years = int(policy["window_days"]), int(policy["recent_weeks"]), int(policy["years"])
    first_day = session.scalar(select(func.min(RollupRow.day)).where(RollupRow.grain == "day",
                                                                     RollupRow.dimension == "all"))
    first_day = _as_date(first_day) if first_day is not None else today
    history_years = [y for y in range(1, years + 1)
                     if first_day <= today - timedelta(days=_SEASON_DAYS * y + 7 * weeks + w)]
    findings = []
    for dimension in policy["dimensions"]:
        series = daily_series(session, dimension, today - timedelta(days=7 * weeks + w), today)
        for y in history_years:
            shift = _SEASON_DAYS * y
            older = daily_series(session, dimension, today - timedelta(days=shift + 7 * weeks + w),
                                 today - timedelta(days=shift - 7))
            for key, days in older.items():
                series.setdefault(key, {}).update(days)
        # max_p is the false-alarm rate of a whole dimension per run: with 431 grids tested at
        # once, each grid must pass max_p / 431 (Bonferroni), or chance alone would raise some.
        keys = [k for k in series if k]
        settings = {**policy, "max_p": policy["max_p"] / max(1, len(keys))}
        for key in keys:
            days = series[key]
            observed = _window_sum(days, today, w)
            if observed < policy["min_count"]:
                continue
            recent = [_window_sum(days, today - timedelta(days=7 * i), w) for i in range(1, weeks + 1)]
            seasonal: list[float] = []
            for y in history_years:
                shift = _SEASON_DAYS * y
                then = today - timedelta(days=shift)
                then_recent = [_window_sum(days, then - timedelta(days=7 * i), w) for i in range(1, weeks + 1)]
                level = min(2.0, max(0.5, (sum(recent) + 1.0) / (sum(then_recent) + 1.0)))
                seasonal.extend(_window_sum(days, then + timedelta(days=off), w) * level for off in (-7, 0, 7))
            test = spike_test(observed, recent, seasonal, settings)
            if test.is_spike:
                findings.append({"dimension": dimension, "key": key, "test": test, "recent": recent,
                                 "p_threshold": settings["max_p"],
                                 "window": {"from": (today - timedelta(days=w - 1)).isoformat(),
                                            "to": today.isoformat()}})
    return findings


# ---------------------------------------------------------------- warnings

@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    subject: str
    title: str
    severity: str
    level: float
    evidence: dict[str, Any]
    appeal_ids: list[int]
    dimension: str = ""


def _dimension_names(session: Session, dimension: str, keys: Iterable[str]) -> dict[str, str]:
    if dimension == "grid":
        return {str(i): f"{n}（{c}）" for i, c, n in session.execute(
            select(Grid.id, Grid.code, Grid.name).where(Grid.id.in_([int(k) for k in keys if k.isdigit()])))}
    model = Category if dimension == "category" else Unit
    return _names(session, model, keys)


def _spike_appeals(session: Session, dimension: str, key: str, start: date, limit: int = 200) -> list[int]:
    column = {"grid": Appeal.grid_id, "town": Appeal.town_unit_id, "unit": Appeal.lead_unit_id}.get(dimension)
    where: list[Any] = [Appeal.received_at >= day_start(start)]
    if column is not None:
        where.append(column == int(key))
    else:
        roots = category_roots(session)
        where.append(Appeal.category_id.in_([c for c, r in roots.items() if str(r) == key] or [0]))
    return list(session.scalars(select(Appeal.id).where(*where).order_by(Appeal.received_at.desc()).limit(limit)))


def _spike_findings(session: Session, now: datetime) -> list[Finding]:
    found = detect_spikes(session, now=now)
    names: dict[str, dict[str, str]] = {}
    for dim in {f["dimension"] for f in found}:
        names[dim] = _dimension_names(session, dim, [f["key"] for f in found if f["dimension"] == dim])
    findings = []
    for f in found:
        test: SpikeTest = f["test"]
        dim, key = f["dimension"], f["key"]
        label = names[dim].get(key, key)
        basis = "往年同期" if test.basis == "seasonal" else "前几周"
        title = (f"{DIMENSION_LABELS[dim]}「{label}」诉求量异常上升：{f['window']['from'][5:]}至"
                 f"{f['window']['to'][5:]} {test.observed} 件，{basis}基线 {test.expected:g} 件")
        evidence = {"dimension": dim, "key": key, "label": label, "window": f["window"], "observed": test.observed,
                    "expected": test.expected, "baseline": test.baseline, "basis": test.basis, "z": test.z,
                    "p": test.p, "p_threshold": f["p_threshold"], "ratio": test.ratio, "recent_windows": f["recent"],
                    "level": test.observed}
        start = date.fromisoformat(f["window"]["from"])
        severity = "high" if test.ratio >= 3 else "medium"
        findings.append(Finding(WarningKind.spike, f"spike:{dim}:{key}", title, severity, test.observed, evidence,
                                _spike_appeals(session, dim, key, start), dimension=dim))
    return findings


def _repeat_caller_findings(session: Session, now: datetime) -> list[Finding]:
    policy = get_policy(session)["repeat_caller"]
    if not policy["enabled"]:
        return []
    since = now - timedelta(days=int(policy["days"]))
    # Counted here rather than by GROUP BY: the planner would walk the whole phone index
    # (every appeal ever) instead of the few weeks of the received-time index.
    counts = Counter(session.scalars(select(Appeal.citizen_phone).where(Appeal.received_at >= since,
                                                                        Appeal.citizen_phone != "")))
    repeated = {phone: n for phone, n in counts.items() if n >= int(policy["min_appeals"])}
    by_phone: dict[str, list[Any]] = {}
    phones = sorted(repeated)
    for chunk in range(0, len(phones), 500):
        for a in session.execute(select(Appeal.id, Appeal.number, Appeal.title, Appeal.citizen_phone)
                                 .where(Appeal.citizen_phone.in_(phones[chunk:chunk + 500]),
                                        Appeal.received_at >= since)
                                 .order_by(Appeal.received_at.desc())):
            by_phone.setdefault(a.citizen_phone, []).append(a)
    findings = []
    for phone in phones:
        n, appeals = repeated[phone], by_phone.get(phone, [])[:200]
        masked = mask_phone(phone)
        severity = "high" if n >= 2 * policy["min_appeals"] else "medium"
        evidence = {"phone_masked": masked, "days": policy["days"], "count": int(n),
                    "threshold": policy["min_appeals"], "titles": [a.title for a in appeals[:10]], "level": int(n)}
        findings.append(Finding(WarningKind.repeat_caller, f"repeat_caller:{phone}",
                                f"诉求人 {masked} 近 {policy['days']} 天内反映 {n} 次", severity, int(n), evidence,
                                [a.id for a in appeals]))
    return findings


def sensitive_topics(text: str, policy: dict[str, Any]) -> dict[str, list[str]]:
    """The admin's words found in ``text``, by group."""
    hits = {}
    for group in SENSITIVE_GROUP_LABELS:
        words = [w for w in policy.get(group, []) if w and w in text]
        if words:
            hits[group] = words
    return hits


def _sensitive_findings(session: Session, now: datetime) -> tuple[list[Finding], datetime]:
    policy = get_policy(session)["sensitive"]
    if not policy["enabled"]:
        return [], now
    mark = get_setting(session, SENSITIVE_WATERMARK_KEY)
    # Ten minutes of overlap: an appeal received just before the last scan but committed after it
    # is still read; one read twice updates its open warning or is skipped once closed.
    since = (datetime.fromisoformat(mark) - timedelta(minutes=10) if mark
             else now - timedelta(days=int(policy["first_scan_days"])))
    findings = []
    rows = session.execute(select(Appeal.id, Appeal.number, Appeal.title, Appeal.content)
                           .where(Appeal.received_at >= since, Appeal.received_at < now)
                           .order_by(Appeal.received_at))
    for row in rows:
        hits = sensitive_topics(f"{row.title}\n{row.content}", policy)
        if not hits:
            continue
        groups = "、".join(SENSITIVE_GROUP_LABELS[g] for g in hits)
        severity = "high" if {"group", "petition"} & set(hits) else "medium"
        findings.append(Finding(WarningKind.sensitive, f"sensitive:{row.id}", f"敏感事项（{groups}）：{row.title}",
                                severity, 1, {"number": row.number, "topics": hits, "level": 1}, [row.id]))
    return findings, now


def _reopened_findings(session: Session, now: datetime) -> list[Finding]:
    policy = get_policy(session)["reopened"]
    if not policy["enabled"]:
        return []
    since = now - timedelta(days=int(policy["days"]))
    ids = session.scalars(select(AppealEvent.appeal_id).where(AppealEvent.action == "reopen", AppealEvent.at >= since)
                          .distinct()).all()
    findings = []
    for chunk in range(0, len(ids), 500):
        for row in session.execute(select(Appeal.id, Appeal.number, Appeal.title, Appeal.reopen_count)
                                   .where(Appeal.id.in_(ids[chunk:chunk + 500]),
                                          Appeal.reopen_count >= int(policy["min_reopens"]))):
            findings.append(Finding(WarningKind.reopened, f"reopened:{row.id}",
                                    f"诉求已重办 {row.reopen_count} 次：{row.title}",
                                    "high" if row.reopen_count > policy["min_reopens"] else "medium",
                                    row.reopen_count, {"number": row.number, "reopen_count": row.reopen_count,
                                                       "threshold": policy["min_reopens"], "level": row.reopen_count},
                                    [row.id]))
    return findings


def _task_overdue_findings(session: Session, now: datetime) -> list[Finding]:
    """主动治理 tasks still open ``grace_days`` after their deadline. The level stays 1 whatever the
    days: a supervisor who closed the warning is not asked again about the same task."""
    policy = get_policy(session)["task_overdue"]
    if not policy["enabled"]:
        return []
    tasks = hotspots.overdue_governance_tasks(session, before=now - timedelta(days=int(policy["grace_days"])))
    findings = []
    for t, item in zip(tasks, _task_items(session, tasks, now), strict=True):
        days, unit = item["days_overdue"], item["unit"]
        evidence = {"task_id": t.id, "task_title": t.title, "unit_id": t.unit_id, "unit": unit,
                    "hotspot_id": t.hotspot_id, "hotspot_title": item["hotspot"], "deadline": item["deadline"],
                    "days_overdue": days, "grace_days": policy["grace_days"], "link": item["link"], "level": 1}
        severity = "high" if days >= int(policy["high_after_days"]) else "medium"
        findings.append(Finding(WarningKind.task_overdue, f"task_overdue:{t.id}",
                                f"主动治理任务超期 {days} 天：{unit}「{t.title}」", severity, 1, evidence,
                                [int(i) for i in (t.snapshot or {}).get("appeal_ids", [])][:200], dimension="unit"))
    return findings


def file_finding(session: Session, finding: Finding, *, now: datetime | None = None) -> str:
    """Put a finding in the queue: "created", "updated" (an open warning on the subject got the new
    evidence) or "skipped" (closed recently, or closed and nothing grew since)."""
    now = now or clock.now()
    latest = session.scalars(select(EarlyWarning).where(EarlyWarning.subject == finding.subject)
                             .order_by(EarlyWarning.id.desc()).limit(1)).first()
    if latest is not None and latest.state in OPEN_WARNING_STATES:
        latest.evidence = finding.evidence
        latest.appeal_ids = finding.appeal_ids
        latest.title = finding.title
        if finding.severity == "high":
            latest.severity = "high"
        latest.last_detected_at = now
        return "updated"
    if latest is not None:
        closed_level = float((latest.evidence or {}).get("level", 0))
        cooldown = int(get_policy(session)["spike"]["cooldown_days"])
        recently = latest.closed_at is not None and latest.closed_at > now - timedelta(days=cooldown)
        if finding.kind == WarningKind.spike and recently:
            return "skipped"
        if finding.kind != WarningKind.spike and finding.level <= closed_level:
            return "skipped"
    dedup = f"{finding.subject}@{local_today(now).isoformat()}"
    if session.scalar(select(EarlyWarning.id).where(EarlyWarning.dedup_key == dedup)) is not None:
        dedup = f"{dedup}#{finding.level:g}"
        if session.scalar(select(EarlyWarning.id).where(EarlyWarning.dedup_key == dedup)) is not None:
            return "skipped"
    warning = EarlyWarning(kind=finding.kind, dimension=finding.dimension, subject=finding.subject, dedup_key=dedup,
                           title=finding.title[:255], severity=finding.severity, state=WarningState.new,
                           evidence=finding.evidence, appeal_ids=finding.appeal_ids, first_detected_at=now,
                           last_detected_at=now, note="")
    session.add(warning)
    session.flush()
    record_audit(session, actor_id=None, actor_name=SYSTEM.name, action="raise_warning", object_type="warning",
                 object_id=warning.id, kind=finding.kind, subject=finding.subject, title=warning.title)
    return "created"


def detect_warnings(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Run every detector and file what they find (the periodic job and ``sudi analytics warnings``)."""
    now = now or clock.now()
    counts = {"created": 0, "updated": 0, "skipped": 0}
    findings = _spike_findings(session, now) + _repeat_caller_findings(session, now)
    sensitive, scanned_to = _sensitive_findings(session, now)
    findings += sensitive + _reopened_findings(session, now) + _task_overdue_findings(session, now)
    with transaction(session):
        for finding in findings:
            counts[file_finding(session, finding, now=now)] += 1
        put_setting(session, SENSITIVE_WATERMARK_KEY, scanned_to.isoformat())
        _set_job_state(session, "warnings_at", now)
    return counts


# ---------------------------------------------------------------- the queue

def list_warnings(session: Session, actor: Actor, *, state: str | None = "open", kind: str | None = None,
                  limit: int = 100, offset: int = 0) -> tuple[list[EarlyWarning], int]:
    require_warning_view(actor)
    where: list[Any] = []
    if state == "open":
        where.append(EarlyWarning.state.in_(OPEN_WARNING_STATES))
    elif state in (WarningState.new, WarningState.acknowledged, WarningState.closed):
        where.append(EarlyWarning.state == state)
    elif state not in (None, "", "all"):
        raise InvalidInput("状态应为 open、new、acknowledged、closed 或 all", "state must be open, new, acknowledged, "
                           "closed or all", field="state")
    if kind:
        if kind not in WARNING_KIND_LABELS:
            raise InvalidInput("预警类型无效", "unknown warning kind", field="kind")
        where.append(EarlyWarning.kind == kind)
    total = session.scalar(select(func.count(EarlyWarning.id)).where(*where)) or 0
    rows = session.scalars(select(EarlyWarning).where(*where)
                           .order_by(case((EarlyWarning.severity == "high", 0), else_=1),
                                     EarlyWarning.last_detected_at.desc(), EarlyWarning.id.desc())
                           .limit(limit).offset(offset)).all()
    return list(rows), int(total)


def access_warning(session: Session, actor: Actor, warning_id: int) -> EarlyWarning:
    require_warning_view(actor)
    warning = session.get(EarlyWarning, warning_id)
    if warning is None:
        raise NotFound("预警不存在", "no such warning")
    return warning


def warning_appeals(session: Session, warning: EarlyWarning, *, limit: int = 50) -> list[dict[str, Any]]:
    ids = [int(i) for i in (warning.appeal_ids or [])][:limit]
    if not ids:
        return []
    query = select(*_ITEM_COLUMNS).where(Appeal.id.in_(ids)).order_by(Appeal.received_at.desc())
    return _appeal_items(session, query)


def _act(session: Session, actor: Actor, warning_id: int, note: str, *, to: str) -> EarlyWarning:
    if actor.role not in WARNING_ACT_ROLES:
        raise Forbidden("仅督查员和管理员可处理预警", "only supervisors and admins may act on warnings")
    note = (note or "").strip()
    if len(note) > 2000:
        raise InvalidInput("说明不能超过 2000 字", "the note must be at most 2000 characters", field="note")
    if to == WarningState.closed and not note:
        raise InvalidInput("关闭预警须填写处理说明", "closing a warning needs a note", field="note")
    with transaction(session):
        warning = access_warning(session, actor, warning_id)
        if warning.state == WarningState.closed or (to == WarningState.acknowledged
                                                    and warning.state != WarningState.new):
            raise Conflict(f"预警当前为「{warning.state}」，不能执行该操作",
                           f"the warning is {warning.state}; cannot move it to {to}")
        before = warning.state
        now = clock.now()
        warning.state = to
        if to == WarningState.acknowledged:
            warning.acknowledged_at, warning.acknowledged_by = now, actor.name
        else:
            warning.closed_at, warning.closed_by = now, actor.name
        if note:
            warning.note = (warning.note + "\n" if warning.note else "") + f"{actor.name}：{note}"
        record_audit(session, actor_id=actor.id, actor_name=actor.name,
                     action="acknowledge_warning" if to == WarningState.acknowledged else "close_warning",
                     object_type="warning", object_id=warning.id, before=before, after=to, note=note)
    return warning


def acknowledge_warning(session: Session, actor: Actor, warning_id: int, note: str = "") -> EarlyWarning:
    return _act(session, actor, warning_id, note, to=WarningState.acknowledged)


def close_warning(session: Session, actor: Actor, warning_id: int, note: str) -> EarlyWarning:
    return _act(session, actor, warning_id, note, to=WarningState.closed)


# ---------------------------------------------------------------- the periodic job

def _job_state(session: Session) -> dict[str, Any]:
    return dict(get_setting(session, JOBS_KEY, {}) or {})


def _set_job_state(session: Session, name: str, moment: datetime) -> None:
    state = _job_state(session)
    state[name] = moment.isoformat()
    put_setting(session, JOBS_KEY, state)


def _older_than(state: dict[str, Any], name: str, now: datetime, minutes: float) -> bool:
    last = state.get(name)
    return last is None or datetime.fromisoformat(last) <= now - timedelta(minutes=minutes)


def run_periodic(session: Session, *, now: datetime | None = None) -> dict[str, Any]:
    """One tick of the server's analytics job (every minute): the recent days of the rollup; the
    wider refresh window when it is due; the whole rollup on the first tick ever and once a night
    (at the local hour ``full_rebuild_hour``, -1 for never), so that imported history and late
    changes to old appeals reach it too; the official 三率 snapshots of the dashboard's periods
    (``refresh_unit_snapshots``: a missing one at once, an outdated one when it is outdated); the
    warnings when they are due."""
    now = now or clock.now()
    policy = get_policy(session)
    state = _job_state(session)
    done: dict[str, Any] = {}
    nightly = clock.local(now).hour == policy["rollup"]["full_rebuild_hour"]
    if "full_rebuild_at" not in state or (nightly and _older_than(state, "full_rebuild_at", now, 20 * 60)):
        done["full_rebuild"] = rebuild_all(session, now=now)
        with transaction(session):
            _set_job_state(session, "refresh_at", now)
    elif _older_than(state, "refresh_at", now, policy["rollup"]["refresh_every_minutes"]):
        done["refreshed_rows"] = refresh_recent(session, policy["rollup"]["refresh_days"], now=now)
        with transaction(session):
            _set_job_state(session, "refresh_at", now)
    else:
        done["recent_rows"] = refresh_recent(session, policy["rollup"]["recent_days"], now=now)
    with transaction(session):
        _set_job_state(session, "recent_at", now)
    done["assessment"] = refresh_unit_snapshots(session, now=now)
    if _older_than(state, "warnings_at", now, policy["jobs"]["warnings_every_minutes"]):
        done["warnings"] = detect_warnings(session, now=now)
    return done
