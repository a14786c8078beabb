"""Deadline policy: which time limits apply to an appeal, computed on the working-day calendar.

The limits live in ``time_limit_policies`` and the calendar's exceptions in ``holidays``; both are
admin-editable, so each process caches the calendar and rebuilds it when the holiday table moves.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sudi.appeals.models import TimeLimitPolicy
from sudi.core.calendar import Deadline, WorkCalendar
from sudi.core.errors import InvalidInput
from sudi.core.models import Holiday, cached_setting

HOLIDAYS_VERSION_KEY = "holidays_version"
LIMIT_UNITS = ("hours", "working_days")

# (name, kind, urgency, type, acknowledge, ack unit, resolve, resolve unit): the defaults;
# development appeals (发展诉求) take the green channel with shorter limits.
DEFAULT_POLICIES = (
    ("默认", None, None, None, 2, "hours", 5, "working_days"),
    ("紧急", None, "urgent", None, 2, "hours", 1, "working_days"),
    ("特急", None, "critical", None, 1, "hours", 2, "hours"),
    ("咨询", None, "normal", "consultation", 2, "hours", 3, "working_days"),
    ("发展诉求·绿色通道", "development", None, None, 1, "hours", 3, "working_days"),
    ("发展诉求·绿色通道·紧急", "development", "urgent", None, 1, "hours", 1, "working_days"),
    ("发展诉求·绿色通道·特急", "development", "critical", None, 1, "hours", 2, "hours"),
)

_lock = threading.Lock()
_calendars: dict[str, tuple[object, WorkCalendar]] = {}


def work_calendar(session: Session) -> WorkCalendar:
    key = str(session.get_bind().engine.url)
    version = cached_setting(session, HOLIDAYS_VERSION_KEY, 0)
    cached = _calendars.get(key)
    if cached is None or cached[0] != version:
        with _lock:
            overrides = {h.day: h.is_workday for h in session.scalars(select(Holiday))}
            cached = (version, WorkCalendar(overrides))
            _calendars[key] = cached
    return cached[1]


def compute_due(calendar: WorkCalendar, start: datetime, amount: float, unit: str) -> Deadline:
    if unit == "hours":
        return calendar.add_hours(start, amount)
    if unit == "working_days":
        if amount != int(amount):
            raise InvalidInput("工作日数须为整数", "working days must be a whole number")
        return calendar.add_working_days(start, int(amount))
    raise InvalidInput(f"未知的时限单位 {unit}", f"unknown limit unit {unit!r}")


@dataclass(frozen=True, slots=True)
class Limits:
    policy_name: str
    acknowledge: Deadline
    resolve: Deadline

    @property
    def fallback(self) -> bool:
        return self.acknowledge.fallback or self.resolve.fallback


def choose_policy(session: Session, *, kind: str, urgency: str, appeal_type: str) -> TimeLimitPolicy:
    best: tuple[int, TimeLimitPolicy] | None = None
    for policy in session.scalars(select(TimeLimitPolicy).order_by(TimeLimitPolicy.id)):
        selectors = ((policy.appeal_kind, kind), (policy.urgency, urgency), (policy.appeal_type, appeal_type))
        if any(want is not None and want != have for want, have in selectors):
            continue
        # Kind outranks urgency outranks type, so the green channel beats a generic urgency row.
        score = sum(weight for (want, _), weight in zip(selectors, (4, 2, 1), strict=True) if want is not None)
        if best is None or score > best[0]:
            best = (score, policy)
    if best is None:
        raise InvalidInput("没有适用的办理时限，请管理员配置默认时限",
                           "no time-limit policy applies; an admin must configure a default row")
    return best[1]


def limits_for(session: Session, *, kind: str, urgency: str, appeal_type: str, start: datetime) -> Limits:
    policy = choose_policy(session, kind=kind, urgency=urgency, appeal_type=appeal_type)
    calendar = work_calendar(session)
    return Limits(policy.name,
                  compute_due(calendar, start, policy.acknowledge_amount, policy.acknowledge_unit),
                  compute_due(calendar, start, policy.resolve_amount, policy.resolve_unit))


def list_policies(session: Session) -> list[TimeLimitPolicy]:
    """Every time-limit row, the default first, then by how specific it is (kind, urgency, type)."""
    rows = list(session.scalars(select(TimeLimitPolicy).order_by(TimeLimitPolicy.id)))
    return sorted(rows, key=lambda p: (p.appeal_kind is not None, p.appeal_kind or "", p.urgency is not None,
                                       p.urgency or "", p.appeal_type or "", p.id))
