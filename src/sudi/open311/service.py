"""Open311 GeoReport v2 over the case engine: services are categories, requests are appeals.

Reads here are a public feed (the spec lets anyone GET requests), so they bypass staff visibility
and instead expose only what a citizen could be shown: no name, no phone, masked free text.
Writes go through ``sudi.appeals.service.create_appeal`` like every other intake face.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from sudi.appeals import service as appeals
from sudi.appeals.models import STATE_LABELS, Appeal, AppealEvent, Category, Channel, State
from sudi.core import clock
from sudi.core.errors import Forbidden, NotFound
from sudi.directory.service import api_key_for, channel_actor
from sudi.intelligence.pii import mask_text
from sudi.open311.schemas import w3c, xml_safe

# Spec: GET requests defaults to the last 90 days, may not span more, and should cap at 1000.
WINDOW = timedelta(days=90)
MAX_RESULTS = 1000
MAX_IDS = 1000
MAX_CODES = 100
MAX_DESCRIPTION = appeals.MAX_CONTENT
TITLE_CHARS = 30
NOTES_CHARS = 200

# The citizen's case is over in these states (a merged appeal turns resolved with its master).
CLOSED_STATES = (State.resolved.value, State.followed_up.value, State.archived.value, State.rejected.value)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-26T00:00:00+08:00"  # bump when this face's documents change shape


class Open311Problem(Exception):
    """One or more spec errors answered together, so a client can fix all its fields at once."""

    def __init__(self, status: int, errors: list[tuple[int, str]]) -> None:
        super().__init__("; ".join(d for _, d in errors))
        self.status = status
        self.errors = errors


def _bad(description: str) -> Open311Problem:
    return Open311Problem(400, [(400, description)])


# ---------------------------------------------------------------- services

def list_services(session: Session) -> Sequence[Category]:
    """Leaf categories only: parents are groups, and an appeal filed under a leaf routes best."""
    child = aliased(Category)
    has_child = exists().where(child.parent_id == Category.id, child.is_active.is_(True))
    return session.scalars(select(Category).where(Category.is_active.is_(True), ~has_child)
                           .order_by(Category.code)).all()


def get_service(session: Session, code: str) -> Category:
    for category in list_services(session):
        if category.code == code:
            return category
    raise NotFound(f"没有服务 {code}", f"service_code {code!r} not found")


def service_out(category: Category) -> dict[str, Any]:
    path = category.full_name.split("/")
    return {"service_code": category.code, "service_name": category.name, "description": category.full_name,
            "metadata": False, "type": "realtime", "keywords": ",".join(path), "group": path[0]}


def definition_out(category: Category) -> dict[str, Any]:
    # metadata is false for every service, so the definition honestly lists no attributes.
    return {"service_code": category.code, "attributes": []}


# ---------------------------------------------------------------- reading requests

def parse_w3c(value: str, name: str, *, end: bool = False) -> datetime:
    """A W3C datetime; also a bare date, and a '+' offset that arrived unencoded as a space."""
    text = value.strip()
    spaced = re.fullmatch(r"(\S+T[\d:.]+) (\d\d(?::?\d\d)?)", text)
    if spaced:
        text = f"{spaced.group(1)}+{spaced.group(2)}"
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            moment = datetime.fromisoformat(text + "T00:00:00")
            if end:  # a bare end date means through the end of that day
                moment += timedelta(days=1) - timedelta(microseconds=1)
        else:
            moment = datetime.fromisoformat(text)
        if not 1970 <= moment.year <= 9000:
            raise ValueError(name)
        return moment if moment.tzinfo else moment.replace(tzinfo=clock.DISTRICT_TZ)
    except (ValueError, OverflowError):
        raise _bad(f"{name} must be a W3C datetime such as 2026-11-05T08:15:30+08:00") from None


@dataclass
class RequestQuery:
    ids: list[str] = field(default_factory=list)
    service_codes: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None


def parse_query(params: dict[str, str]) -> RequestQuery:
    query = RequestQuery()
    raw_ids = params.get("service_request_id", "")
    query.ids = list(dict.fromkeys(i.strip() for i in raw_ids.split(",") if i.strip()))
    if len(query.ids) > MAX_IDS:
        raise _bad(f"at most {MAX_IDS} service_request_id values at once")
    query.service_codes = [c.strip() for c in params.get("service_code", "").split(",") if c.strip()]
    if len(query.service_codes) > MAX_CODES:
        raise _bad(f"at most {MAX_CODES} service_code values at once")
    query.statuses = [s.strip().lower() for s in params.get("status", "").split(",") if s.strip()]
    bad = [s for s in query.statuses if s not in ("open", "closed")]
    if bad:
        raise _bad(f"status must be open or closed, not {bad[0][:40]!r}")
    errors: list[tuple[int, str]] = []
    for name in ("start_date", "end_date"):
        if not params.get(name, "").strip():
            continue
        try:
            moment = parse_w3c(params[name], name, end=name == "end_date")
        except Open311Problem as problem:
            errors.extend(problem.errors)
            continue
        if name == "start_date":
            query.start = moment
        else:
            query.end = moment
    if errors:
        raise Open311Problem(400, errors)
    return query


def _window(query: RequestQuery) -> tuple[datetime, datetime]:
    start, end = query.start, query.end
    try:
        if start is None and end is None:
            end = clock.now()
            start = end - WINDOW
        elif start is None:
            assert end is not None
            start = end - WINDOW
        elif end is None:
            end = start + WINDOW
    except OverflowError:
        raise _bad("start_date or end_date is out of range") from None
    if end < start:
        raise _bad("end_date is before start_date")
    if end - start > WINDOW:
        raise _bad("start_date and end_date may not span more than 90 days")
    return start, end


# Reports of wrongdoing (举报) are never listed publicly: publishing them could expose the
# whistleblower or warn the reported party. Their submitter follows them by number + query code.
PUBLIC_LISTING = Appeal.appeal_type != "report"


def find_requests(session: Session, query: RequestQuery) -> Sequence[Appeal]:
    stmt = select(Appeal).where(PUBLIC_LISTING)
    if query.ids:
        # The spec: a list of ids overrides every other argument.
        stmt = stmt.where(Appeal.number.in_(query.ids))
    else:
        start, end = _window(query)
        stmt = stmt.where(Appeal.received_at >= start, Appeal.received_at <= end)
        if query.service_codes:
            stmt = stmt.where(Appeal.category_id.in_(
                select(Category.id).where(Category.code.in_(query.service_codes))))
        if set(query.statuses) == {"open"}:
            stmt = stmt.where(Appeal.state.not_in(CLOSED_STATES))
        elif set(query.statuses) == {"closed"}:
            stmt = stmt.where(Appeal.state.in_(CLOSED_STATES))
    stmt = stmt.order_by(Appeal.received_at.desc(), Appeal.id.desc()).limit(MAX_RESULTS)
    return session.scalars(stmt).unique().all()


def get_request(session: Session, number: str) -> Appeal:
    # No number is that long or holds such characters, and PostgreSQL refuses NUL in a query.
    plausible = len(number) <= 64 and xml_safe(number) == number
    appeal = session.scalar(select(Appeal).where(Appeal.number == number, PUBLIC_LISTING)) if plausible else None
    if appeal is None:
        shown = xml_safe(number)[:64]
        raise NotFound(f"没有编号为 {shown} 的诉求", f"service_request_id {shown!r} not found")
    return appeal


def _public_text(text: str | None, appeal: Appeal) -> str | None:
    if text is None:
        return None
    masked = mask_text(text)
    name = appeal.citizen_name.strip()
    # A single character would blank out ordinary words; a real name is two or more.
    if len(name) >= 2:
        masked = masked.replace(name, name[0] + "*" * (len(name) - 1))
    return masked


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= NOTES_CHARS else text[: NOTES_CHARS - 1] + "…"


def _latest_public_notes(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    # Archiving says nothing new to the citizen and would hide why a rejected appeal was rejected.
    latest = (select(func.max(AppealEvent.id)).where(AppealEvent.appeal_id.in_(ids),
                                                     AppealEvent.public_note.is_not(None),
                                                     AppealEvent.action != "archive")
              .group_by(AppealEvent.appeal_id))
    rows = session.execute(select(AppealEvent.appeal_id, AppealEvent.public_note)
                           .where(AppealEvent.id.in_(latest))).all()
    return {appeal_id: note for appeal_id, note in rows if note}


def _open311_intake(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """What an Open311 client sent that the appeal has no column for (media_url, address_id)."""
    if not ids:
        return {}
    rows = session.execute(select(AppealEvent.appeal_id, AppealEvent.data).where(
        and_(AppealEvent.appeal_id.in_(ids), AppealEvent.action == "create"))).all()
    return {appeal_id: (data or {}).get("open311") or {} for appeal_id, data in rows}


def requests_out(session: Session, found: Sequence[Appeal]) -> list[dict[str, Any]]:
    ids = [a.id for a in found]
    notes = _latest_public_notes(session, ids)
    intake = _open311_intake(session, [a.id for a in found if a.channel == Channel.open311.value])
    return [request_out(a, notes.get(a.id), intake.get(a.id, {})) for a in found]


def request_out(appeal: Appeal, public_note: str | None, intake: dict[str, Any]) -> dict[str, Any]:
    closed = appeal.state in CLOSED_STATES
    notes = appeal.reply if appeal.reply and closed else public_note
    category = appeal.category
    return {
        "service_request_id": appeal.number,
        "status": "closed" if closed else "open",
        "status_notes": _excerpt(_public_text(notes, appeal) or "") or None,
        "service_name": category.name if category else None,
        "service_code": category.code if category else None,
        "description": _public_text(appeal.content, appeal),
        "agency_responsible": appeal.lead_unit.name if appeal.lead_unit else None,
        "service_notice": STATE_LABELS.get(appeal.state),  # type: ignore[call-overload]
        "requested_datetime": w3c(appeal.received_at),
        "updated_datetime": w3c(appeal.updated_at),
        "expected_datetime": w3c(appeal.resolve_due),
        "address": appeal.address or None,
        "address_id": intake.get("address_id"),
        "zipcode": None,
        "lat": appeal.lat,
        "long": appeal.lon,
        "media_url": intake.get("media_url"),
    }


# ---------------------------------------------------------------- submitting a request

_PHONE_JUNK = re.compile(r"[\s\-().]")


def _optional(params: dict[str, str], name: str, limit: int, errors: list[tuple[int, str]]) -> str:
    value = params.get(name, "").strip()
    if len(value) > limit:
        errors.append((400, f"{name} is longer than {limit} characters"))
        return ""
    return value


def _coordinate(raw: str, name: str, bound: float, errors: list[tuple[int, str]]) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        errors.append((400, f"{name} must be a decimal number (WGS84 degrees)"))
        return None
    if not math.isfinite(value) or not -bound <= value <= bound:
        errors.append((400, f"{name} must be between -{bound:g} and {bound:g}"))
        return None
    return value


def _full_name(first: str, last: str) -> str:
    if not (first and last):
        return first or last
    # Chinese names are written surname first with no space; Latin-script names the other way.
    if re.search(r"[A-Za-z]", first + last):
        return f"{first} {last}"
    return last + first


def _title(description: str) -> str:
    flat = " ".join(description.split())
    return flat if len(flat) <= TITLE_CHARS else flat[: TITLE_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class Submitted:
    number: str
    query_code: str
    account_id: str | None


def submit_request(session: Session, params: dict[str, str], attributes: dict[str, Any]) -> Submitted:
    """Validate a POST the spec's way (403 for the key first, then every 400 at once) and file it."""
    try:
        key = api_key_for(session, params.get("api_key", "").strip() or None)
    except Forbidden as exc:
        raise Open311Problem(403, [(403, "api_key is missing or invalid")]) from exc

    errors: list[tuple[int, str]] = []
    code = params.get("service_code", "").strip()
    category = None
    if not code:
        errors.append((400, "service_code is required"))
    else:
        category = next((c for c in list_services(session) if c.code == code), None)
        if category is None:
            errors.append((400, f"service_code {code[:64]!r} not found; see services.json"))

    lat_raw, lon_raw = params.get("lat", "").strip(), params.get("long", "").strip()
    lat = lon = None
    if lat_raw or lon_raw:
        if not (lat_raw and lon_raw):
            errors.append((400, "lat and long must be given together"))
        else:
            lat = _coordinate(lat_raw, "lat", 90, errors)
            lon = _coordinate(lon_raw, "long", 180, errors)
    address = _optional(params, "address_string", 255, errors)
    address_id = _optional(params, "address_id", 128, errors)
    if not (lat_raw or lon_raw or address or address_id):
        errors.append((400, "a location is required: lat and long, address_string or address_id"))

    description = params.get("description", "").replace("\x00", "").strip()
    if not description:
        errors.append((400, "description is required"))
    elif len(description) > MAX_DESCRIPTION:
        errors.append((400, f"description is longer than {MAX_DESCRIPTION} characters"))

    first = _optional(params, "first_name", 32, errors)
    last = _optional(params, "last_name", 32, errors)
    email = _optional(params, "email", 254, errors)
    if email and ("@" not in email or any(c.isspace() for c in email)):
        errors.append((400, "email is not a valid e-mail address"))
    device_id = _optional(params, "device_id", 128, errors)
    account_id = _optional(params, "account_id", 100, errors)
    phone = _PHONE_JUNK.sub("", _optional(params, "phone", 32, errors)).removeprefix("+86")
    if phone and not (phone.isdigit() and 7 <= len(phone) <= 12):
        errors.append((400, "phone must be a telephone number of 7 to 12 digits"))
    media_url = _optional(params, "media_url", 2000, errors)
    if media_url and not re.match(r"https?://[^\s/]+", media_url, re.IGNORECASE):
        errors.append((400, "media_url must be an http or https URL"))
    if errors:
        raise Open311Problem(400, errors)
    assert category is not None

    submitted = {k: v for k, v in {"api_key": key.name, "address_id": address_id, "media_url": media_url,
                                    "email": email, "device_id": device_id, "account_id": account_id,
                                    "jurisdiction_id": params.get("jurisdiction_id", "").strip()[:64],
                                    "attributes": attributes}.items() if v}
    sender = (f"account:{account_id}" if account_id else f"email:{email}" if email
              else f"device:{device_id}" if device_id else "")
    draft = appeals.AppealDraft(
        title=_title(description), content=description, channel=Channel.open311.value,
        category=category.code, address=address, lat=lat, lon=lon,
        citizen_name=_full_name(first, last), citizen_phone=phone,
        citizen_key=f"open311:{key.id}:{sender}" if sender else "", extra={"open311": submitted})
    intake = appeals.create_appeal(session, channel_actor(key.name), draft)
    return Submitted(intake.number, intake.query_code, account_id or None)
