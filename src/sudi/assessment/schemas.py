"""What the assessment API returns: per unit, every count (numerators and denominators), the rates,
the composite score with its adjustments, the rank and the red/black flags."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from sudi.assessment.service import Assessment, UnitFigures


class RateOut(BaseModel):
    value: float | None  # None when the denominator is 0
    numerator: int | float  # a count; 满意率's is the weighted sum of the ratings
    denominator: int


class UnitOut(BaseModel):
    unit: str
    unit_name: str
    volume: int
    counts: dict[str, int]
    rates: dict[str, RateOut]
    overdue: int
    supervised_overdue: int
    governance_tasks_done: int
    governance_tasks_overdue: int
    base_score: float | None
    bonus: float
    deduction: float
    composite: float | None
    ranked: bool
    rank: int | None
    red: bool
    black: bool


class PeriodOut(BaseModel):
    key: str
    kind: str
    label: str
    first_day: date
    last_day: date
    start: datetime
    end: datetime


class AssessmentOut(BaseModel):
    period: PeriodOut
    computed_at: datetime
    ranked_units: int
    policy: dict[str, Any]
    units: list[UnitOut]
    red_list: list[str]
    black_list: list[str]


RATE_PARTS = {  # rate: (numerator count, denominator count)
    "response": ("responded", "response_base"),
    "on_time": ("on_time", "due"),
    "resolution": ("solved", "followed_up"),
    "satisfaction": (None, "rated"),
    "return": ("returned", "dispatched"),
    "reopen": ("reopened", "resolved"),
}


def unit_out(u: UnitFigures) -> UnitOut:
    rates = {}
    for key, (num, den) in RATE_PARTS.items():
        denominator = u.rated if den == "rated" else u.counts[den]
        numerator: int | float = round(u.satisfaction_points, 4) if num is None else u.counts[num]
        rates[key] = RateOut(value=None if u.rates[key] is None else round(u.rates[key] or 0.0, 6),
                             numerator=numerator, denominator=denominator)
    return UnitOut(unit=u.unit_code, unit_name=u.unit_name, volume=u.counts["dispatched"],
                   counts={**u.counts, "rated": u.rated}, rates=rates, overdue=u.counts["overdue"],
                   supervised_overdue=u.counts["supervised_overdue"], governance_tasks_done=u.governance_done,
                   governance_tasks_overdue=u.governance_overdue,
                   base_score=None if u.base_score is None else round(u.base_score, 2), bonus=u.bonus,
                   deduction=u.deduction, composite=u.composite, ranked=u.ranked, rank=u.rank, red=u.red,
                   black=u.black)


def assessment_out(result: Assessment) -> AssessmentOut:
    p = result.period
    return AssessmentOut(
        period=PeriodOut(key=p.key, kind=p.kind, label=p.label, first_day=p.first_day, last_day=p.last_day,
                         start=p.start, end=p.end),
        computed_at=result.computed_at, ranked_units=result.ranked_count,
        policy=result.policy,
        units=[unit_out(u) for u in result.units], red_list=[u.unit_code for u in result.red_list],
        black_list=[u.unit_code for u in result.black_list])
