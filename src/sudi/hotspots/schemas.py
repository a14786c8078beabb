"""What the hotspot API accepts and returns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sudi.hotspots.models import GovernanceTask, Hotspot, MonthlyTheme


class HotspotOut(BaseModel):
    id: int
    title: str
    keywords: list[str]
    place: str
    place_kind: str
    size: int
    citizens: int
    supports: int
    objections: int
    first_time: datetime
    last_time: datetime
    growth: float
    heat: float
    rank: int | None = None


class MemberOut(BaseModel):
    number: str
    title: str
    received_at: datetime
    state: str


class HotspotDetailOut(HotspotOut):
    members: list[MemberOut]
    timeline: list[tuple[str, int]]


class GovernanceTaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: str = Field(min_length=1, max_length=64, description="unit code or id")
    deadline: date | datetime
    instructions: str = Field(default="", max_length=2000)
    title: str | None = Field(default=None, max_length=200)


class GovernanceCompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    result: str = Field(min_length=1, max_length=4000)


class GovernanceCancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


class GovernanceTaskOut(BaseModel):
    id: int
    hotspot_id: int | None
    unit_id: int
    title: str
    instructions: str
    deadline: datetime
    state: str
    overdue: bool
    created_at: datetime
    done_at: datetime | None
    result: str | None
    hotspot: dict[str, Any]


class MonthlyThemeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    note: str = Field(default="", max_length=2000)


class MonthlyThemeOut(BaseModel):
    month: str
    hotspot_id: int | None
    title: str
    note: str
    chosen_at: datetime


def hotspot_out(row: Hotspot, rank: int | None = None) -> HotspotOut:
    return HotspotOut(id=row.id, title=row.title, keywords=list(row.keywords or []), place=row.place,
                      place_kind=row.place_kind, size=row.size, citizens=row.citizens, supports=row.supports,
                      objections=row.objections, first_time=row.first_time, last_time=row.last_time,
                      growth=row.growth, heat=row.heat, rank=rank)


def task_out(task: GovernanceTask, now: datetime) -> GovernanceTaskOut:
    snapshot = dict(task.snapshot or {})
    snapshot.pop("appeal_ids", None)
    return GovernanceTaskOut(id=task.id, hotspot_id=task.hotspot_id, unit_id=task.unit_id, title=task.title,
                             instructions=task.instructions, deadline=task.deadline, state=task.state,
                             overdue=task.state == "open" and task.deadline < now, created_at=task.created_at,
                             done_at=task.done_at, result=task.result, hotspot=snapshot)


def theme_out(theme: MonthlyTheme) -> MonthlyThemeOut:
    return MonthlyThemeOut(month=theme.month, hotspot_id=theme.hotspot_id, title=theme.title, note=theme.note,
                           chosen_at=theme.chosen_at)
