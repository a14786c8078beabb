"""What the API accepts and returns for appeals. Output is shaped per viewer (masking, notes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sudi.appeals.models import (
    APPEAL_TYPE_LABELS,
    CHANNEL_LABELS,
    KIND_LABELS,
    SATISFACTION_LABELS,
    STATE_LABELS,
    URGENCY_LABELS,
    Appeal,
    AppealEvent,
)
from sudi.core import clock
from sudi.directory.geo import PlaceNames
from sudi.directory.service import Actor
from sudi.intelligence.pii import mask_phone, mask_text


def iso(moment: datetime | None) -> str | None:
    return clock.local(moment).isoformat() if moment else None


class AppealCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=200)
    content: str = Field(min_length=1, max_length=20_000)
    channel: str = "hotline"
    appeal_type: str | None = None
    urgency: str | None = None
    appeal_kind: str | None = None
    category: str | None = None
    matter: str | None = None
    citizen_name: str = Field(default="", max_length=64)
    citizen_phone: str = Field(default="", max_length=32)
    is_anonymous: bool = False
    address: str = Field(default="", max_length=255)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    received_at: datetime | None = None
    external_ref: str | None = Field(default=None, max_length=128)


class PublicAppealCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=200)
    content: str = Field(min_length=1, max_length=20_000)
    appeal_type: str | None = None
    citizen_name: str = Field(default="", max_length=64)
    citizen_phone: str = Field(default="", max_length=32)
    is_anonymous: bool = False
    address: str = Field(default="", max_length=255)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class PublicFollowUp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query_code: str = Field(min_length=1, max_length=32)
    solved: bool
    satisfaction: str
    comment: str = Field(default="", max_length=2000)


class IntakeOut(BaseModel):
    number: str
    query_code: str
    state: str
    created: bool


def event_out(event: AppealEvent, *, public: bool = False) -> dict[str, Any]:
    if public:
        return {"at": iso(event.at), "action": event.action, "state": event.to_state,
                "state_label": STATE_LABELS.get(event.to_state, event.to_state), "note": event.public_note}  # type: ignore[call-overload]
    return {"id": event.id, "at": iso(event.at), "action": event.action, "from_state": event.from_state,
            "to_state": event.to_state, "actor": event.actor_name, "actor_role": event.actor_role,
            "comment": event.comment, "data": event.data, "public_note": event.public_note}


def _deadline(due: datetime | None, done: datetime | None, now: datetime) -> dict[str, Any] | None:
    if due is None:
        return None
    return {"due": iso(due), "done_at": iso(done),
            "met": None if done is None else done <= due,
            "overdue": (done or now) > due}


def deadlines_out(appeal: Appeal) -> dict[str, Any]:
    now = clock.now()
    return {"acknowledge": _deadline(appeal.acknowledge_due, appeal.acknowledged_at, now),
            "resolve": _deadline(appeal.resolve_due, appeal.resolved_at, now),
            "original_resolve_due": iso(appeal.original_resolve_due),
            "calendar_fallback": appeal.calendar_fallback}


def appeal_out(appeal: Appeal, *, actor: Actor, full_phone: bool, allowed_actions: list[str] | None = None,
               events: list[AppealEvent] | None = None, followers: list[str] | None = None,
               loop: list[dict[str, Any]] | None = None, place: PlaceNames | None = None) -> dict[str, Any]:
    """``place``: the grid, town and community names when the caller has them at hand (intake)."""
    privileged = full_phone
    if place is None:
        place = PlaceNames(
            grid=appeal.grid.code if appeal.grid else None, grid_name=appeal.grid.name if appeal.grid else None,
            town=appeal.town.code if appeal.town else None, town_name=appeal.town.name if appeal.town else None,
            community=appeal.community.code if appeal.community else None,
            community_name=appeal.community.name if appeal.community else None)
    text = (lambda s: s) if privileged else mask_text
    body: dict[str, Any] = {
        "number": appeal.number,
        "state": appeal.state, "state_label": STATE_LABELS.get(appeal.state, appeal.state),  # type: ignore[call-overload]
        "channel": appeal.channel, "channel_label": CHANNEL_LABELS.get(appeal.channel, appeal.channel),  # type: ignore[call-overload]
        "appeal_type": appeal.appeal_type,
        "appeal_type_label": APPEAL_TYPE_LABELS.get(appeal.appeal_type, appeal.appeal_type),  # type: ignore[call-overload]
        "urgency": appeal.urgency, "urgency_label": URGENCY_LABELS.get(appeal.urgency, appeal.urgency),  # type: ignore[call-overload]
        "appeal_kind": appeal.appeal_kind,
        "appeal_kind_label": KIND_LABELS.get(appeal.appeal_kind, appeal.appeal_kind),  # type: ignore[call-overload]
        "title": text(appeal.title), "content": text(appeal.content),
        "category": ({"code": appeal.category.code, "name": appeal.category.name,
                      "full_name": appeal.category.full_name} if appeal.category else None),
        "matter": ({"code": appeal.matter.code, "name": appeal.matter.name} if appeal.matter else None),
        "address": appeal.address, "lat": appeal.lat, "lon": appeal.lon,
        "grid": place.grid, "grid_name": place.grid_name, "town": place.town, "town_name": place.town_name,
        "community": place.community, "community_name": place.community_name,
        "citizen": {"name": appeal.citizen_name,
                    "phone": appeal.citizen_phone if privileged else mask_phone(appeal.citizen_phone),
                    "anonymous": appeal.is_anonymous},
        "lead_unit": appeal.lead_unit.code if appeal.lead_unit else None,
        "lead_unit_name": appeal.lead_unit.name if appeal.lead_unit else None,
        "assisting_units": [{"unit": a.unit.code, "name": a.unit.name, "contribution": a.contribution,
                             "contributed_at": iso(a.contributed_at)} for a in appeal.assisting],
        "is_joint": appeal.is_joint,
        "coordinator": appeal.coordinator.full_name if appeal.coordinator else None,
        "triage": appeal.triage,
        "deadlines": deadlines_out(appeal),
        "extension_pending": appeal.extension_pending,
        "reply": appeal.reply,
        "follow_up": ({"solved": appeal.follow_up_solved, "satisfaction": appeal.satisfaction,
                       "satisfaction_label": SATISFACTION_LABELS.get(appeal.satisfaction),  # type: ignore[call-overload]
                       "comment": appeal.follow_up_comment, "at": iso(appeal.followed_up_at)}
                      if appeal.followed_up_at else None),
        "master": appeal.master.number if appeal.master_id and appeal.master else None,
        "return_count": appeal.return_count, "reopen_count": appeal.reopen_count,
        "reminder_count": appeal.reminder_count, "is_supervised": appeal.is_supervised,
        "is_overdue": appeal.is_overdue,
        "received_at": iso(appeal.received_at), "accepted_at": iso(appeal.accepted_at),
        "dispatched_at": iso(appeal.dispatched_at), "acknowledged_at": iso(appeal.acknowledged_at),
        "resolved_at": iso(appeal.resolved_at), "followed_up_at": iso(appeal.followed_up_at),
        "archived_at": iso(appeal.archived_at), "updated_at": iso(appeal.updated_at),
        "attachments": [{"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size,
                         "url": f"/api/v1/appeals/{appeal.number}/attachments/{a.id}"}
                        for a in appeal.attachments],
    }
    if allowed_actions is not None:
        body["allowed_actions"] = allowed_actions
    if followers is not None:
        body["merged"] = followers
    if events is not None:
        body["events"] = [event_out(e) for e in events]
    if loop is not None:
        body["closed_loop"] = [{**step, "started_at": iso(step.get("started_at")),
                                "ended_at": iso(step.get("ended_at"))} for step in loop]
    return body


def public_appeal_out(appeal: Appeal, events: list[AppealEvent]) -> dict[str, Any]:
    """A citizen's view: public steps only; no staff names, no internal notes."""
    return {
        "number": appeal.number, "state": appeal.state,
        "state_label": STATE_LABELS.get(appeal.state, appeal.state),  # type: ignore[call-overload]
        "title": appeal.title, "content": appeal.content,
        "appeal_type": appeal.appeal_type, "received_at": iso(appeal.received_at),
        "handling_unit": appeal.lead_unit.name if appeal.lead_unit else None,
        "resolve_due": iso(appeal.resolve_due),
        "reply": appeal.reply, "resolved_at": iso(appeal.resolved_at),
        "follow_up": ({"solved": appeal.follow_up_solved, "satisfaction": appeal.satisfaction}
                      if appeal.followed_up_at else None),
        "can_rate": appeal.state == "resolved",
        "timeline": [event_out(e, public=True) for e in events if e.public_note],
    }
