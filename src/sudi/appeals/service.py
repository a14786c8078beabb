"""The appeal case engine: intake, the workflow's actions, visibility and queries.

Every write is a verb-named function that owns its transaction and appends the appeal's event in
that same transaction, so the trail can never disagree with the state. Faces (API, web, CLI,
Open311, importers) call these functions and nothing below them.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached, selectinload
from sqlalchemy.orm.attributes import instance_dict, set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key

from sudi.appeals import policy, smart_dispatch
from sudi.appeals.models import (
    OPEN_STATES,
    STATE_LABELS,
    Appeal,
    AppealAssist,
    AppealEvent,
    AppealKind,
    AppealType,
    Category,
    Channel,
    NumberSequence,
    Satisfaction,
    State,
    Urgency,
)
from sudi.core import auth, clock, signals
from sudi.core.db import transaction
from sudi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from sudi.core.models import cached_setting, get_setting, put_setting
from sudi.directory.geo import PlaceNames, grid_place_names, locate_point
from sudi.directory.models import Grid, Matter, Role, Unit, User
from sudi.directory.service import CENTRE_ROLES, UNIT_ROLES, Actor, get_matter_by_code, get_unit_by_code
from sudi.intelligence.pii import mask_text, personal_data_kinds

# ---------------------------------------------------------------- roles

INTAKE_ROLES = frozenset({Role.admin, Role.intake_agent, Role.dispatcher})
DISPATCH_ROLES = frozenset({Role.admin, Role.dispatcher})
SUPERVISE_ROLES = frozenset({Role.admin, Role.supervisor, Role.leader})
REMIND_ROLES = frozenset({Role.admin, Role.dispatcher, Role.supervisor, Role.leader})
FOLLOW_UP_ROLES = frozenset({Role.admin, Role.intake_agent, Role.dispatcher, Role.supervisor})
CLOSE_ROLES = frozenset({Role.admin, Role.dispatcher, Role.supervisor})
CREATE_ROLES = frozenset({Role.admin, Role.intake_agent, Role.dispatcher, Role.grid_worker})
# Roles that may read a citizen's full phone number: they call the citizen.
PHONE_ROLES = frozenset({Role.admin, Role.intake_agent, Role.dispatcher, Role.supervisor})

GREEN_CHANNEL_COORDINATOR_KEY = "green_channel_coordinator"
EARLIEST_YEAR = 1990  # no appeal platform kept records before this; older dates are typing errors
NUMBER_PATTERN = re.compile(r"^[A-Z]{1,8}\d{8}-\d{5,7}$")
MAX_TITLE, MAX_CONTENT, MAX_REPLY, MAX_COMMENT = 200, 20_000, 20_000, 4_000
DISTRICT_BOUNDS = (-90.0, 90.0, -180.0, 180.0)

_LABEL_TO_TYPE = {"咨询": AppealType.consultation, "求助": AppealType.help, "投诉": AppealType.complaint,
                  "举报": AppealType.report, "建议": AppealType.suggestion, "表扬": AppealType.praise}
_LABEL_TO_URGENCY = {"一般": Urgency.normal, "紧急": Urgency.urgent, "特急": Urgency.critical}
_LABEL_TO_KIND = {"民生诉求": AppealKind.livelihood, "执法诉求": AppealKind.enforcement,
                  "发展诉求": AppealKind.development, "民生": AppealKind.livelihood,
                  "执法": AppealKind.enforcement, "发展": AppealKind.development}


def _enum_value(value: str | None, enum: Any, labels: dict[str, Any], field_name: str, zh: str,
                default: Any = None) -> str:
    if value in (None, ""):
        if default is None:
            raise InvalidInput(f"请填写{zh}", f"{field_name} is required", field=field_name)
        return str(default)
    if not isinstance(value, str):
        raise InvalidInput(f"{zh}须为文字", f"{field_name} must be a string", field=field_name)
    if value in labels:
        return str(labels[value])
    try:
        return str(enum(value))
    except ValueError:
        choices = ", ".join(e.value for e in enum)
        raise InvalidInput(f"{zh}无效：{value}", f"{field_name} must be one of {choices}",
                           field=field_name) from None


# ---------------------------------------------------------------- intake

@dataclass
class AppealDraft:
    """What an intake face collected; validated here, not in the faces."""

    title: str
    content: str
    channel: str = Channel.hotline.value
    appeal_type: str | None = None
    urgency: str | None = None
    appeal_kind: str | None = None
    category: str | None = None
    matter: str | None = None
    address: str = ""
    lat: float | None = None
    lon: float | None = None
    citizen_name: str = ""
    citizen_phone: str = ""
    citizen_key: str = ""
    is_anonymous: bool = False
    received_at: datetime | None = None
    external_ref: str | None = None
    idempotency_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Intake:
    """What intake answers: the number and query code at once, the full appeal only when asked for.

    Intake writes with two prepared Core inserts rather than the ORM's unit of work (it is the
    busiest write of the system); a face that renders the whole appeal loads it with ``appeal``.
    """

    __slots__ = ("_appeal", "_row", "_session", "appeal_id", "created", "number", "query_code", "state")

    def __init__(self, session: Session, appeal_id: int, number: str, state: str, query_code: str,
                 created: bool, *, appeal: Appeal | None = None, row: Any = None) -> None:
        self._session = session
        self.appeal_id = appeal_id
        self.number = number
        self.state = state
        self.query_code = query_code
        self.created = created  # False when an idempotency key or external reference matched an existing appeal
        self._appeal = appeal
        self._row = row

    @property
    def appeal(self) -> Appeal:
        if self._appeal is None:
            self._appeal = _appeal_from_row(self._session, self._row)
        return self._appeal

    @property
    def place(self) -> PlaceNames | None:
        """The grid, town and community names to show with the new appeal (cached, no read; intake
        takes town and community from the grid). None when it has no grid."""
        grid_id = self._appeal.grid_id if self._appeal is not None else self._row[Appeal.__table__.c.grid_id]
        return grid_place_names(self._session, grid_id) if grid_id is not None else None


def _appeal_from_row(session: Session, row: Any) -> Appeal:
    """The new appeal as a persistent object, built from the row its insert returned: no read.

    Its many-to-one relations load through the session's identity map (category and matter are
    already there) or by primary key; a new appeal has no helpers or photos, so those are empty.
    """
    appeal = Appeal()
    # Column values go straight into the instance's dict, as a query's loader puts them there;
    # make_transient_to_detached then treats them as loaded, not as changes.
    instance_dict(appeal).update({attribute: row[column] for attribute, column in _APPEAL_COLUMNS})
    make_transient_to_detached(appeal)
    session.add(appeal)
    set_committed_value(appeal, "assisting", [])
    set_committed_value(appeal, "attachments", [])
    return appeal


def _clean_text(value: str | None, field_name: str, zh: str, limit: int, *, required: bool = True) -> str:
    text = (value or "").replace("\x00", "").strip()
    if required and not text:
        raise InvalidInput(f"请填写{zh}", f"{field_name} is required", field=field_name)
    if len(text) > limit:
        raise InvalidInput(f"{zh}不能超过 {limit} 字", f"{field_name} is longer than {limit} characters",
                           field=field_name)
    return text


def _clean_phone(phone: str) -> str:
    phone = (phone or "").strip()
    if not phone:
        return ""
    digits = phone.replace("-", "").replace(" ", "").removeprefix("+86")
    if not digits.isdigit() or not 7 <= len(digits) <= 12:
        raise InvalidInput("联系电话格式不正确", "citizen_phone must be 7-12 digits", field="citizen_phone")
    return digits


def _secret(session: Session) -> str:
    secret = cached_setting(session, "secret_key", ttl_s=300)
    if not secret:
        raise Conflict("系统尚未初始化（缺少密钥），请先运行 sudi init", "run `sudi init` first: no secret key")
    return str(secret)


def query_code_for(session: Session, number: str) -> str:
    return auth.derived_code(_secret(session), "query:" + number)


def ensure_secret(session: Session) -> None:
    with transaction(session):
        if not get_setting(session, "secret_key"):
            put_setting(session, "secret_key", secrets.token_urlsafe(32))


_number_upserts: dict[str, Any] = {}


def _number_upsert(dialect: str) -> Any:
    """The day's counter as one upsert; built once per dialect because intake runs it every time."""
    statement = _number_upserts.get(dialect)
    if statement is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (insert(NumberSequence).values(day_key=bindparam("day_key"), last=1)
                     .on_conflict_do_update(index_elements=["day_key"], set_={"last": NumberSequence.last + 1})
                     .returning(NumberSequence.last))
        _number_upserts[dialect] = statement
    return statement


def _next_number(session: Session, received_at: datetime) -> str:
    prefix = str(cached_setting(session, "number_prefix", "YC", ttl_s=30))
    key = prefix + clock.local(received_at).strftime("%Y%m%d")
    connection = session.connection()
    last = connection.execute(_number_upsert(connection.dialect.name), {"day_key": key}).scalar_one()
    return f"{key}-{last:05d}"


def _resolve_category(session: Session, code: str | None) -> Category | None:
    if not code:
        return None
    category = session.scalar(select(Category).where(or_(Category.code == code, Category.full_name == code)))
    if category is None or not category.is_active:
        raise InvalidInput(f"没有分类 {code}", f"unknown category {code!r}", field="category")
    return category


def _check_point(lat: float | None, lon: float | None) -> None:
    if (lat is None) != (lon is None):
        raise InvalidInput("经纬度须同时填写", "lat and lon go together", field="lat")
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput("经纬度超出范围", "lat/lon out of range", field="lat")


def create_appeal(session: Session, actor: Actor, draft: AppealDraft) -> Intake:
    """Register an appeal. Staff, channels and citizens all come through here."""
    if actor.is_staff and actor.role not in CREATE_ROLES:
        raise Forbidden("您的角色不能登记诉求", "your role cannot register appeals")
    title = _clean_text(draft.title, "title", "标题", MAX_TITLE)
    content = _clean_text(draft.content, "content", "诉求内容", MAX_CONTENT)
    channel = _enum_value(draft.channel, Channel, {}, "channel", "渠道", Channel.hotline)
    if actor.role == Role.grid_worker:
        channel = Channel.grid_patrol.value  # what a grid worker files is a patrol finding (一网通治)
    appeal_type = _enum_value(draft.appeal_type, AppealType, _LABEL_TO_TYPE, "appeal_type", "诉求类型",
                              AppealType.complaint)
    urgency = _enum_value(draft.urgency, Urgency, _LABEL_TO_URGENCY, "urgency", "紧急程度", Urgency.normal)
    kind = _enum_value(draft.appeal_kind, AppealKind, _LABEL_TO_KIND, "appeal_kind", "诉求类别",
                       AppealKind.livelihood)
    phone = _clean_phone(draft.citizen_phone)
    _check_point(draft.lat, draft.lon)
    received_at = draft.received_at or clock.now()
    if received_at.tzinfo is None:
        raise InvalidInput("受理时间须带时区", "received_at must carry a time zone", field="received_at")
    if received_at > clock.now():
        raise InvalidInput("受理时间不能晚于当前时间", "received_at is in the future", field="received_at")
    if received_at.year < EARLIEST_YEAR:
        raise InvalidInput(f"受理时间不能早于 {EARLIEST_YEAR} 年", f"received_at before {EARLIEST_YEAR}",
                           field="received_at")
    address = _clean_text(draft.address, "address", "地址", 255, required=False)

    # An idempotency key is the submitter's own: scoped to the staff user, channel or the public
    # form, so replaying someone else's key cannot reveal their appeal.
    idempotency_key = f"{actor.username}:{draft.idempotency_key}"[:128] if draft.idempotency_key else None
    external_ref = (draft.external_ref or "").strip() or None
    try:
        with transaction(session):
            for key_column, key in ((Appeal.idempotency_key, idempotency_key), (Appeal.external_ref, external_ref)):
                if key:
                    replay = _replayed_intake(session, key_column, key, title, content)
                    if replay is not None:
                        return replay
            category = _resolve_category(session, draft.category)
            matter = get_matter_by_code(session, draft.matter) if draft.matter else None
            placement = (locate_point(session, draft.lat, draft.lon)
                         if draft.lat is not None and draft.lon is not None else None)
            grid_id = placement.grid_id if placement else None
            if grid_id is None and actor.role == Role.grid_worker:
                grid_id = actor.grid_id
            town_id = placement.town_unit_id if placement else None
            community_id = placement.community_unit_id if placement else None
            if placement is None and grid_id is not None:
                grid = session.get(Grid, grid_id)
                if grid is not None:
                    town_id, community_id = grid.town_unit_id, grid.community_unit_id
            number = _next_number(session, received_at)
            connection = session.connection()
            row = connection.execute(_INSERT_APPEAL, {
                "number": number, "state": State.received.value, "channel": channel,
                "appeal_type": appeal_type, "urgency": urgency, "appeal_kind": kind, "title": title,
                "content": content, "category_id": category.id if category else None,
                "matter_id": matter.id if matter else None, "address": address, "lat": draft.lat,
                "lon": draft.lon, "grid_id": grid_id, "town_unit_id": town_id, "community_unit_id": community_id,
                "citizen_name": "" if draft.is_anonymous else draft.citizen_name.strip()[:64],
                "citizen_phone": "" if draft.is_anonymous else phone, "citizen_key": draft.citizen_key[:128],
                "is_anonymous": draft.is_anonymous, "received_at": received_at, "external_ref": external_ref,
                "idempotency_key": idempotency_key, "created_by_id": actor.id, "updated_at": clock.now(),
            }).one()._mapping
            appeal_id = row[Appeal.__table__.c.id]
            connection.execute(_INSERT_EVENT, {
                "appeal_id": appeal_id, "at": received_at, "action": "create", "from_state": None,
                "to_state": State.received.value, "actor_id": actor.id, "actor_name": actor.name,
                "actor_role": actor.role, "actor_unit_id": actor.unit_id, "unit_id": None, "comment": "",
                "data": {"channel": channel, **draft.extra, **_personal_data_note(title, content, address)},
                "public_note": "诉求已提交",
            })
            smart_dispatch.after_intake(session, number, actor, channel=channel)  # free unless auto-dispatch is on
            # Auto-dispatch, when it ran, loaded and moved the appeal: that object is the answer.
            moved = session.identity_map.get(identity_key(Appeal, appeal_id))
            intake = Intake(session, appeal_id, number, moved.state if moved else State.received.value,
                            query_code_for(session, number), created=True, appeal=moved, row=row)
        # After the commit: the hotspot job takes the new appeal in now rather than at its next tick.
        signals.notify(signals.APPEAL_RECEIVED)
        return intake
    except IntegrityError:
        # The same key twice at the same moment (a double click; PostgreSQL lets both look before
        # either inserts): the loser's insert hits the unique index, and the winner's appeal is the answer.
        for key_column, key in ((Appeal.idempotency_key, idempotency_key), (Appeal.external_ref, external_ref)):
            replay = _replayed_intake(session, key_column, key, title, content) if key else None
            if replay is not None:
                return replay
        raise


# Intake's two writes, prepared once: Core inserts skip the ORM's unit of work (and its flush
# bookkeeping), which is most of what registering an appeal used to cost.
_APPEAL_COLUMNS = tuple((prop.key, prop.columns[0]) for prop in sa_inspect(Appeal).column_attrs)
_INSERT_APPEAL = insert(Appeal).returning(*(column for _, column in _APPEAL_COLUMNS))
_INSERT_EVENT = insert(AppealEvent)


def _personal_data_note(*texts: str) -> dict[str, list[str]]:
    """The kinds of personal data the citizen wrote into the appeal, kept on its create event."""
    kinds = personal_data_kinds("\n".join(texts))
    return {"personal_data": kinds} if kinds else {}


def _replayed_intake(session: Session, key_column: Any, key: str, title: str, content: str) -> Intake | None:
    """The appeal an idempotency key or external reference already registered, if any."""
    existing = session.scalar(select(Appeal).where(key_column == key))
    if existing is None:
        return None
    if (existing.title, existing.content) != (title, content):
        raise Conflict("该请求标识已用于另一件诉求", "this idempotency key or reference was used "
                       "for a different appeal", field="idempotency_key")
    return Intake(session, existing.id, existing.number, existing.state, query_code_for(session, existing.number),
                  created=False, appeal=existing)


# ---------------------------------------------------------------- visibility

def _unit_ids_under(session: Session, unit_path: str) -> Select[Any]:
    return select(Unit.id).where(Unit.path.startswith(unit_path))


def visibility_filter(session: Session, actor: Actor) -> Any:
    """The WHERE clause selecting the appeals ``actor`` may see; None means all."""
    if actor.role in CENTRE_ROLES:
        return None
    if actor.role in UNIT_ROLES and actor.unit_path:
        units = _unit_ids_under(session, actor.unit_path)
        assisted = exists().where(AppealAssist.appeal_id == Appeal.id, AppealAssist.unit_id.in_(units))
        return or_(Appeal.lead_unit_id.in_(units), assisted)
    if actor.role == Role.grid_worker:
        clauses = [Appeal.created_by_id == actor.id]
        if actor.grid_id is not None:
            clauses.append(Appeal.grid_id == actor.grid_id)
        return or_(*clauses)
    return Appeal.id.is_(None)  # sees nothing


def can_see(session: Session, actor: Actor, appeal: Appeal) -> bool:
    clause = visibility_filter(session, actor)
    if clause is None:
        return True
    return bool(session.scalar(select(exists().where(Appeal.id == appeal.id, clause))))


def get_appeal(session: Session, number: str) -> Appeal:
    # A string that cannot be a number never reaches the database (PostgreSQL refuses NUL bytes).
    appeal = session.scalar(select(Appeal).where(Appeal.number == number)) if NUMBER_PATTERN.match(number) else None
    if appeal is None:
        raise NotFound(f"没有编号为 {number} 的诉求", f"no appeal {number!r}")
    return appeal


def access_appeal(session: Session, actor: Actor, number: str) -> Appeal:
    """The only way a face loads one appeal for a staff user."""
    appeal = get_appeal(session, number)
    if not can_see(session, actor, appeal):
        raise Forbidden("您无权查看该诉求", "you may not see this appeal")
    return appeal


def access_public_appeal(session: Session, number: str, query_code: str) -> Appeal:
    """A citizen's view: a wrong code answers exactly like an unknown number."""
    not_found = NotFound("编号或查询码不正确", "unknown number or wrong query code")
    if not NUMBER_PATTERN.match(number):
        raise not_found
    appeal = session.scalar(select(Appeal).where(Appeal.number == number))
    expected = query_code_for(session, number).encode()
    if not secrets.compare_digest(expected, (query_code or "").strip().upper().encode()) or appeal is None:
        raise not_found
    return appeal


def shows_full_phone(actor: Actor, appeal: Appeal) -> bool:
    if actor.role in PHONE_ROLES:
        return True
    # The lead unit's staff call the citizen back; assisting units and grid workers do not.
    return actor.role in UNIT_ROLES and _holds_lead(actor, appeal)


# ---------------------------------------------------------------- queries

@dataclass
class AppealFilter:
    states: Sequence[str] = ()
    unit: str | None = None
    grid: str | None = None
    town: str | None = None
    category: str | None = None
    kind: str | None = None
    channel: str | None = None
    overdue: bool | None = None
    supervised: bool | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    citizen_phone: str | None = None
    text: str | None = None
    sort: str = "-received_at"


SORTS = {"received_at": Appeal.received_at, "resolve_due": Appeal.resolve_due, "number": Appeal.number,
         "updated_at": Appeal.updated_at, "urgency": Appeal.urgency}


def filtered_query(session: Session, actor: Actor, flt: AppealFilter) -> Select[Any]:
    query = select(Appeal)
    clause = visibility_filter(session, actor)
    if clause is not None:
        query = query.where(clause)
    if flt.states:
        bad = [s for s in flt.states if s not in set(State)]
        if bad:
            raise InvalidInput(f"未知的状态 {bad[0]}", f"unknown state {bad[0]!r}", field="state")
        query = query.where(Appeal.state.in_(list(flt.states)))
    if flt.unit:
        unit = get_unit_by_code(session, flt.unit)
        units = _unit_ids_under(session, unit.path)
        query = query.where(or_(Appeal.lead_unit_id.in_(units),
                                exists().where(AppealAssist.appeal_id == Appeal.id,
                                               AppealAssist.unit_id.in_(units))))
    if flt.grid:
        grid = session.scalar(select(Grid).where(Grid.code == flt.grid))
        if grid is None:
            raise InvalidInput(f"没有网格 {flt.grid}", f"unknown grid {flt.grid!r}", field="grid")
        query = query.where(Appeal.grid_id == grid.id)
    if flt.town:
        query = query.where(Appeal.town_unit_id == get_unit_by_code(session, flt.town).id)
    if flt.category:
        category = _resolve_category(session, flt.category)
        assert category is not None
        below = select(Category.id).where(or_(Category.id == category.id,
                                              Category.full_name.startswith(category.full_name + "/")))
        query = query.where(Appeal.category_id.in_(below))
    if flt.kind:
        query = query.where(Appeal.appeal_kind == _enum_value(flt.kind, AppealKind, _LABEL_TO_KIND,
                                                              "kind", "诉求类别"))
    if flt.channel:
        query = query.where(Appeal.channel == _enum_value(flt.channel, Channel, {}, "channel", "渠道"))
    if flt.overdue is not None:
        query = query.where(Appeal.is_overdue.is_(flt.overdue))
    if flt.supervised is not None:
        query = query.where(Appeal.is_supervised.is_(flt.supervised))
    if flt.received_from:
        query = query.where(Appeal.received_at >= flt.received_from)
    if flt.received_to:
        query = query.where(Appeal.received_at < flt.received_to)
    if flt.citizen_phone:
        query = query.where(Appeal.citizen_phone == _clean_phone(flt.citizen_phone))
    if flt.text:
        like = "%" + flt.text.replace("%", r"\%").replace("_", r"\_") + "%"
        query = query.where(or_(Appeal.title.like(like, escape="\\"), Appeal.number == flt.text))
    descending = flt.sort.startswith("-")
    column = SORTS.get(flt.sort.lstrip("-"))
    if column is None:
        raise InvalidInput(f"不能按 {flt.sort} 排序", f"cannot sort by {flt.sort!r}", field="sort")
    return query.order_by(column.desc() if descending else column.asc(), Appeal.id.desc())


def list_appeals(session: Session, actor: Actor, flt: AppealFilter, *, page: int = 1,
                 page_size: int = 20) -> tuple[Sequence[Appeal], int]:
    if page < 1 or not 1 <= page_size <= 500:
        raise InvalidInput("分页参数无效", "page must be >= 1 and page_size 1..500", field="page")
    query = filtered_query(session, actor, flt)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page_query = query.limit(page_size).offset((page - 1) * page_size).options(
        selectinload(Appeal.assisting), selectinload(Appeal.attachments))
    items: Sequence[Appeal] = session.scalars(page_query).all()
    return items, int(total)


def events_of(session: Session, appeal: Appeal) -> Sequence[AppealEvent]:
    return session.scalars(select(AppealEvent).where(AppealEvent.appeal_id == appeal.id)
                           .order_by(AppealEvent.id)).all()


def followers_of(session: Session, appeal: Appeal) -> Sequence[Appeal]:
    return session.scalars(select(Appeal).where(Appeal.master_id == appeal.id).order_by(Appeal.id)).all()


# ---------------------------------------------------------------- actions

def _append_event(session: Session, appeal: Appeal, actor: Actor, action: str, from_state: str | None,
                  to_state: str, *, comment: str = "", data: dict[str, Any] | None = None,
                  public_note: str | None = None, at: datetime | None = None) -> AppealEvent:
    event = AppealEvent(appeal_id=appeal.id, at=at or clock.now(), action=action, from_state=from_state,
                        to_state=to_state, actor_id=actor.id, actor_name=actor.name,
                        actor_role=actor.role, actor_unit_id=actor.unit_id, unit_id=appeal.lead_unit_id,
                        comment=comment, data=data or {}, public_note=public_note)
    session.add(event)
    return event


def _holds_lead(actor: Actor, appeal: Appeal) -> bool:
    lead = appeal.lead_unit
    return bool(lead is not None and actor.unit_path and lead.path.startswith(actor.unit_path))


def _holds_assist(actor: Actor, appeal: Appeal) -> bool:
    return bool(actor.unit_path and any(a.unit.path.startswith(actor.unit_path) for a in appeal.assisting))


@dataclass(frozen=True, slots=True)
class ActionRule:
    from_states: frozenset[State]
    may: Callable[[Actor, Appeal], bool]
    who_zh: str


def _roles(roles: frozenset[str]) -> Callable[[Actor, Appeal], bool]:
    return lambda actor, _appeal: actor.role in roles


def _lead_staff(actor: Actor, appeal: Appeal) -> bool:
    return actor.role in UNIT_ROLES and _holds_lead(actor, appeal)


def _assist_staff(actor: Actor, appeal: Appeal) -> bool:
    return actor.role in UNIT_ROLES and _holds_assist(actor, appeal)


_PRE_RESOLVE = frozenset({State.received, State.accepted, State.triaged, State.dispatched,
                          State.returned, State.acknowledged})
_ROUTABLE = frozenset({State.accepted, State.triaged, State.returned})
_IN_HAND = frozenset({State.dispatched, State.acknowledged})

RULES: dict[str, ActionRule] = {
    "accept": ActionRule(frozenset({State.received}), _roles(INTAKE_ROLES), "受理员、派单员"),
    "reject": ActionRule(frozenset({State.received, State.accepted, State.triaged}), _roles(INTAKE_ROLES),
                         "受理员、派单员"),
    "triage": ActionRule(frozenset({State.accepted, State.triaged, State.returned}), _roles(DISPATCH_ROLES),
                         "派单员"),
    "dispatch": ActionRule(_ROUTABLE, _roles(DISPATCH_ROLES), "派单员"),
    "acknowledge": ActionRule(frozenset({State.dispatched}), _lead_staff, "主办单位"),
    "return": ActionRule(_IN_HAND, _lead_staff, "主办单位"),
    "rule": ActionRule(frozenset({State.returned}), _roles(DISPATCH_ROLES), "派单员"),
    "request_extension": ActionRule(frozenset({State.acknowledged}), _lead_staff, "主办单位"),
    "approve_extension": ActionRule(frozenset({State.acknowledged}),
                                    _roles(frozenset({Role.admin, Role.dispatcher, Role.supervisor})),
                                    "派单员、督查员"),
    "refuse_extension": ActionRule(frozenset({State.acknowledged}),
                                   _roles(frozenset({Role.admin, Role.dispatcher, Role.supervisor})),
                                   "派单员、督查员"),
    "remind": ActionRule(_IN_HAND, _roles(REMIND_ROLES), "派单员、督查员、领导"),
    "supervise": ActionRule(_IN_HAND | {State.returned}, _roles(SUPERVISE_ROLES), "督查员、领导"),
    "contribute": ActionRule(_IN_HAND, _assist_staff, "协办单位"),
    "resolve": ActionRule(frozenset({State.acknowledged}), _lead_staff, "主办单位"),
    "follow_up": ActionRule(frozenset({State.resolved}), _roles(FOLLOW_UP_ROLES), "回访员、督查员"),
    "reopen": ActionRule(frozenset({State.followed_up}), _roles(CLOSE_ROLES), "派单员、督查员"),
    "archive": ActionRule(frozenset({State.followed_up, State.rejected, State.resolved}), _roles(CLOSE_ROLES),
                          "派单员、督查员"),
    "merge": ActionRule(_PRE_RESOLVE, _roles(DISPATCH_ROLES), "派单员"),
    "note": ActionRule(frozenset(State), lambda actor, _a: actor.is_staff, "工作人员"),
}
ACTIONS = tuple(RULES)


def allowed_actions(session: Session, actor: Actor, appeal: Appeal) -> list[str]:
    state = State(appeal.state)
    allowed = []
    for name, rule in RULES.items():
        if state not in rule.from_states or not rule.may(actor, appeal):
            continue
        if name in ("approve_extension", "refuse_extension") and not appeal.extension_pending:
            continue
        if name == "request_extension" and appeal.extension_pending:
            continue
        if name == "reopen" and appeal.follow_up_solved and appeal.satisfaction != Satisfaction.dissatisfied:
            continue
        allowed.append(name)
    return allowed


def _text(payload: dict[str, Any], key: str, zh: str, *, required: bool, limit: int = MAX_COMMENT) -> str:
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{zh}须为文字", f"{key} must be a string", field=key)
    return _clean_text(value, key, zh, limit, required=required)


def _set_limits(session: Session, appeal: Appeal, start: datetime) -> dict[str, Any]:
    limits = policy.limits_for(session, kind=appeal.appeal_kind, urgency=appeal.urgency,
                               appeal_type=appeal.appeal_type, start=start)
    appeal.dispatched_at = start
    appeal.acknowledge_due = limits.acknowledge.due
    appeal.resolve_due = appeal.original_resolve_due = limits.resolve.due
    appeal.calendar_fallback = limits.fallback
    appeal.acknowledged_at = appeal.resolved_at = None
    appeal.is_overdue = False
    appeal.extension_pending = None
    return {"policy": limits.policy_name, "acknowledge_due": limits.acknowledge.due.isoformat(),
            "resolve_due": limits.resolve.due.isoformat(), "calendar_fallback": limits.fallback}


def _route(session: Session, appeal: Appeal, payload: dict[str, Any], *, require_matter: bool = False
           ) -> dict[str, Any]:
    unit_code = payload.get("unit")
    if not isinstance(unit_code, str) or not unit_code:
        raise InvalidInput("请选择主办单位", "unit (the lead unit's code) is required", field="unit")
    lead = get_unit_by_code(session, unit_code)
    assisting_codes = payload.get("assisting_units") or []
    if not isinstance(assisting_codes, list) or not all(isinstance(c, str) for c in assisting_codes):
        raise InvalidInput("协办单位须为单位编码列表", "assisting_units must be a list of unit codes",
                           field="assisting_units")
    helpers = []
    for code in dict.fromkeys(assisting_codes):
        if code == lead.code:
            raise InvalidInput("主办单位不能同时是协办单位", "the lead unit cannot also assist",
                               field="assisting_units")
        helpers.append(get_unit_by_code(session, code))
    matter_code = payload.get("matter")
    if require_matter and not matter_code:
        raise InvalidInput("审定须引用权责清单事项", "a ruling must cite the duty-list matter that decides it",
                           field="matter")
    if matter_code:
        if not isinstance(matter_code, str):
            raise InvalidInput("事项编码无效", "matter must be a code", field="matter")
        appeal.matter = get_matter_by_code(session, matter_code)
    if appeal.triage and appeal.triage.get("complex") and not helpers:
        raise InvalidInput("研判为复杂诉求，须条块联动：请指定协办单位",
                           "triaged as complex: joint handling needs assisting units", field="assisting_units")
    coordinator_name = payload.get("coordinator")
    if not coordinator_name and appeal.appeal_kind == AppealKind.development and appeal.coordinator_id is None:
        # 绿色通道: every development appeal has a named coordinator; the admin names the default.
        coordinator_name = get_setting(session, GREEN_CHANNEL_COORDINATOR_KEY)
    if coordinator_name:
        coordinator = session.scalar(select(User).where(User.username == str(coordinator_name)))
        if coordinator is None or not coordinator.is_active:
            raise InvalidInput(f"没有用户 {coordinator_name}", f"unknown coordinator {coordinator_name!r}",
                               field="coordinator")
        appeal.coordinator_id = coordinator.id
    appeal.lead_unit_id = lead.id
    appeal.lead_unit = lead
    appeal.assisting = [AppealAssist(unit_id=u.id, unit=u) for u in helpers]
    appeal.is_joint = bool(helpers)
    return {"unit": lead.code, "assisting_units": [u.code for u in helpers],
            "matter": matter_code or None, "coordinator": coordinator_name or None}


def _matter_binds_unit(matter: Matter, appeal: Appeal, unit: Unit) -> bool:
    """Does the duty list put this appeal's matter on ``unit``? Territorial matters bind the town
    (or a community under it) where the appeal happened; functional ones the responsible unit."""
    if matter.territorial_rule == "territorial":
        town = appeal.town
        return bool(town is not None and unit.path.startswith(town.path)) or matter.responsible_unit_id == unit.id
    return matter.responsible_unit_id == unit.id


def _finish_followers(session: Session, master: Appeal, actor: Actor) -> None:
    for follower in followers_of(session, master):
        if follower.state != State.merged:
            continue
        follower.reply, follower.resolved_at = master.reply, master.resolved_at
        follower.lead_unit = master.lead_unit
        follower.state, follower.updated_at = State.resolved.value, clock.now()
        _append_event(session, follower, actor, "resolve", State.merged.value, State.resolved.value,
                      comment=f"随主件 {master.number} 办结", data={"master": master.number},
                      public_note="已办结（与同类诉求合并办理）")


def perform_action(session: Session, actor: Actor, number: str, payload: dict[str, Any]) -> Appeal:
    """Carry out one workflow action on one appeal, or refuse it and change nothing."""
    action = payload.get("action")
    if not isinstance(action, str) or action not in RULES:
        raise InvalidInput(f"未知的操作 {action}", f"unknown action {action!r}; one of {', '.join(ACTIONS)}",
                           field="action")
    try:
        with transaction(session):
            appeal = get_appeal(session, number)
            if actor.is_staff and not can_see(session, actor, appeal):
                raise Forbidden("您无权处理该诉求", "you may not act on this appeal")
            return _apply(session, actor, appeal, str(action), payload)
    except StaleDataError as exc:
        raise Conflict("该诉求刚被他人处理，请刷新后重试", "the appeal changed meanwhile; reload and retry") from exc


def _apply(session: Session, actor: Actor, appeal: Appeal, action: str, payload: dict[str, Any]) -> Appeal:
    rule = RULES[action]
    state = State(appeal.state)
    # Citizens (by number + query code) and the system are authorised by the caller, not by role.
    if actor.role not in ("citizen", "system") and not rule.may(actor, appeal):
        raise Forbidden(f"该操作须由{rule.who_zh}执行", f"{action}: your role or unit may not do this")
    if state not in rule.from_states:
        raise Conflict(f"诉求当前状态为「{STATE_LABELS[state]}」，不能执行此操作",
                       f"cannot {action} an appeal in state {state.value}", state=state.value)
    now = clock.now()
    to_state = state
    data: dict[str, Any] = {}
    public_note: str | None = None
    comment = _text(payload, "comment", "备注", required=False)

    if action == "accept":
        to_state, public_note = State.accepted, "已受理"
        appeal.accepted_at = now
        if payload.get("category"):
            category = _resolve_category(session, str(payload["category"]))
            appeal.category_id = category.id if category else None
        if payload.get("appeal_kind"):
            appeal.appeal_kind = _enum_value(str(payload["appeal_kind"]), AppealKind, _LABEL_TO_KIND,
                                             "appeal_kind", "诉求类别")
    elif action == "reject":
        comment = _text(payload, "reason", "不予受理理由", required=True)
        to_state, public_note = State.rejected, f"不予受理：{comment}"
    elif action == "triage":
        data = _triage(session, appeal, payload)
        if not data["in_scope"]:
            to_state, public_note = State.rejected, f"不予受理：{data['reasons']}"
        else:
            to_state = State.triaged if state != State.returned else State.returned
    elif action == "dispatch":
        data = _route(session, appeal, payload)
        data.update(_set_limits(session, appeal, now))
        to_state, public_note = State.dispatched, "已转交承办单位办理"
    elif action == "acknowledge":
        appeal.acknowledged_at = now
        to_state, public_note = State.acknowledged, "承办单位已签收，正在办理"
        data = {"on_time": bool(appeal.acknowledge_due and now <= appeal.acknowledge_due)}
    elif action == "return":
        comment = _text(payload, "reason", "退单理由", required=True)
        matter = appeal.matter
        if matter is not None and appeal.lead_unit is not None and _matter_binds_unit(matter, appeal,
                                                                                      appeal.lead_unit):
            raise Conflict(f"「{matter.name}」在本单位权责清单内（{matter.code}），不能退单",
                           f"matter {matter.code} is on the returning unit's duty list", field="reason",
                           matter=matter.code, legal_basis=matter.legal_basis)
        data = {"returned_by": appeal.lead_unit.code if appeal.lead_unit else None,
                "suggested_unit": payload.get("suggested_unit"), "basis": payload.get("basis")}
        appeal.return_count += 1
        to_state, public_note = State.returned, "正在重新确定承办单位"
    elif action == "rule":
        comment = _text(payload, "reason", "审定意见", required=True)
        previous = appeal.lead_unit.code if appeal.lead_unit else None
        data = _route(session, appeal, payload, require_matter=True)
        matter = appeal.matter
        assert matter is not None
        data["legal_basis"] = matter.legal_basis
        data["return_upheld"] = data["unit"] != previous
        data["previous_unit"] = previous
        data.update(_set_limits(session, appeal, now))
        to_state, public_note = State.dispatched, "已转交承办单位办理"
    elif action == "request_extension":
        if appeal.extension_pending:
            raise Conflict("已有待审批的延期申请", "an extension request is already pending")
        days = payload.get("working_days")
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 60:
            raise InvalidInput("延期工作日须为 1–60 的整数", "working_days must be an integer 1..60",
                               field="working_days")
        comment = _text(payload, "reason", "延期理由", required=True)
        appeal.extension_pending = data = {"working_days": days, "reason": comment, "requested_at": now.isoformat(),
                                           "requested_by": actor.username}
    elif action in ("approve_extension", "refuse_extension"):
        pending = appeal.extension_pending
        if not pending:
            raise Conflict("没有待审批的延期申请", "no extension request is pending")
        data = dict(pending)
        if action == "approve_extension":
            assert appeal.resolve_due is not None
            due = policy.work_calendar(session).add_working_days(appeal.resolve_due, int(pending["working_days"]))
            data["resolve_due"] = due.due.isoformat()
            appeal.resolve_due = due.due
            appeal.calendar_fallback = appeal.calendar_fallback or due.fallback
            appeal.is_overdue = bool(appeal.acknowledge_due and not appeal.acknowledged_at
                                     and appeal.acknowledge_due < now)
            public_note = "办理期限已延长"
        else:
            comment = _text(payload, "reason", "不同意延期的理由", required=True)
        appeal.extension_pending = None
    elif action == "remind":
        appeal.reminder_count += 1
        data = {"count": appeal.reminder_count}
    elif action == "supervise":
        comment = _text(payload, "reason", "督办意见", required=True)
        appeal.is_supervised = True
    elif action == "contribute":
        text = _text(payload, "text", "协办意见", required=True, limit=MAX_REPLY)
        for assist in appeal.assisting:
            if actor.unit_path and assist.unit.path.startswith(actor.unit_path):
                assist.contribution, assist.contributed_at = text, now
                data = {"unit": assist.unit.code}
                break
    elif action == "resolve":
        reply = _text(payload, "reply", "答复意见", required=True, limit=MAX_REPLY)
        if len(reply) < 10:
            raise InvalidInput("答复意见过短（至少 10 字）", "the reply must have at least 10 characters",
                               field="reply")
        missing = [a.unit.name for a in appeal.assisting if not a.contribution]
        if missing and not payload.get("without_assistants"):
            raise Conflict("协办单位尚未反馈：" + "、".join(missing),
                           "assisting units have not contributed yet; pass without_assistants to override",
                           field="reply", missing=missing)
        appeal.reply, appeal.resolved_at = reply, now
        data = {"on_time": bool(appeal.resolve_due and now <= appeal.resolve_due)}
        to_state, public_note = State.resolved, "已办结并答复"
    elif action == "follow_up":
        solved = payload.get("solved")
        if not isinstance(solved, bool):
            raise InvalidInput("请说明问题是否解决", "solved must be true or false", field="solved")
        satisfaction = _enum_value(payload.get("satisfaction"), Satisfaction,
                                   {"满意": Satisfaction.satisfied, "基本满意": Satisfaction.fairly_satisfied,
                                    "不满意": Satisfaction.dissatisfied}, "satisfaction", "满意度")
        appeal.follow_up_solved, appeal.satisfaction = solved, satisfaction
        appeal.follow_up_comment = comment or None
        appeal.followed_up_at = now
        data = {"solved": solved, "satisfaction": satisfaction, "by": "citizen" if actor.role == "citizen"
                else "staff"}
        to_state, public_note = State.followed_up, "已回访"
    elif action == "reopen":
        if appeal.follow_up_solved and appeal.satisfaction != Satisfaction.dissatisfied:
            raise Conflict("回访结果为已解决且满意，不能重办",
                           "only an unsolved or dissatisfied appeal can be reopened")
        comment = _text(payload, "reason", "重办理由", required=True)
        appeal.reopen_count += 1
        appeal.reply = None
        appeal.follow_up_solved = appeal.satisfaction = appeal.followed_up_at = None
        data = {"round": appeal.reopen_count + 1, **_set_limits(session, appeal, now)}
        to_state, public_note = State.dispatched, "已重新交办"
    elif action == "archive":
        if state == State.resolved:
            comment = _text(payload, "reason", "未回访即归档的理由", required=True)
        appeal.archived_at = now
        to_state, public_note = State.archived, "已归档"
    elif action == "merge":
        into = payload.get("into")
        if not isinstance(into, str) or not into:
            raise InvalidInput("请指定主件编号", "into (the master appeal's number) is required", field="into")
        if into == appeal.number:
            raise InvalidInput("不能并入自身", "an appeal cannot be merged into itself", field="into")
        master = get_appeal(session, into)
        if master.state in (State.merged, State.rejected, State.archived):
            raise Conflict("主件已合并、不予受理或已归档", "the master is merged, rejected or archived", field="into")
        if followers_of(session, appeal):
            raise Conflict("该诉求本身是主件，不能并入其他诉求", "this appeal is a master; merge its followers first")
        appeal.master_id = master.id
        data = {"master": master.number}
        to_state, public_note = State.merged, f"与同类诉求合并办理（主件 {master.number}）"
        if master.state in (State.resolved, State.followed_up):
            appeal.reply, appeal.resolved_at, appeal.lead_unit = master.reply, now, master.lead_unit
            to_state, public_note = State.resolved, "已办结（与同类诉求合并办理）"
    elif action == "note":
        comment = _text(payload, "comment", "备注", required=True)

    appeal.state = to_state.value
    appeal.updated_at = now
    _append_event(session, appeal, actor, action, state.value, to_state.value, comment=comment, data=data,
                  public_note=public_note)
    if action == "resolve":
        session.flush()
        _finish_followers(session, appeal, actor)
        from sudi.appeals.reply_review import record_sent_reply  # it imports this module

        record_sent_reply(session, appeal)
    return appeal


def _triage(session: Session, appeal: Appeal, payload: dict[str, Any]) -> dict[str, Any]:
    """研判: in scope? which matter? how urgent? complex (joint handling)? Kept on the appeal."""
    in_scope = payload.get("in_scope", True)
    complex_ = payload.get("complex", False)
    if not isinstance(in_scope, bool) or not isinstance(complex_, bool):
        raise InvalidInput("in_scope 与 complex 须为是/否", "in_scope and complex must be booleans")
    reasons = _text(payload, "reasons", "研判意见", required=not in_scope or complex_)
    result: dict[str, Any] = {"in_scope": in_scope, "complex": complex_, "reasons": reasons}
    if payload.get("matter"):
        matter = get_matter_by_code(session, str(payload["matter"]))
        appeal.matter, result["matter"] = matter, matter.code
    if payload.get("urgency"):
        appeal.urgency = result["urgency"] = _enum_value(str(payload["urgency"]), Urgency, _LABEL_TO_URGENCY,
                                                         "urgency", "紧急程度")
    if payload.get("appeal_kind"):
        appeal.appeal_kind = result["appeal_kind"] = _enum_value(
            str(payload["appeal_kind"]), AppealKind, _LABEL_TO_KIND, "appeal_kind", "诉求类别")
    factors = payload.get("factors") or []
    if not isinstance(factors, list):
        raise InvalidInput("复杂因素须为列表", "factors must be a list", field="factors")
    result["factors"] = [str(f) for f in factors][:10]
    appeal.triage = result
    return result


# ---------------------------------------------------------------- periodic jobs

def mark_overdue(session: Session, actor: Actor | None = None) -> int:
    """Flag appeals past a deadline (once each, with an event). Run periodically."""
    from sudi.directory.service import SYSTEM

    actor = actor or SYSTEM
    now = clock.now()
    late_ack = and_(Appeal.state == State.dispatched.value, Appeal.acknowledge_due < now)
    late_resolve = and_(Appeal.state.in_([State.dispatched.value, State.acknowledged.value]),
                        Appeal.resolve_due < now)
    with transaction(session):
        late = session.scalars(select(Appeal).where(Appeal.is_overdue.is_(False), or_(late_ack, late_resolve))
                               .order_by(Appeal.id)).all()
        for appeal in late:
            which = "resolve" if appeal.resolve_due and appeal.resolve_due < now else "acknowledge"
            appeal.is_overdue = True
            _append_event(session, appeal, actor, "overdue", appeal.state, appeal.state,
                          data={"deadline": which})
        # An appeal that left the open states (resolved, returned…) no longer counts as overdue now.
        session.execute(update(Appeal).where(Appeal.is_overdue.is_(True),
                                             Appeal.state.not_in([s.value for s in OPEN_STATES]))
                        .values(is_overdue=False))
    return len(late)


# ---------------------------------------------------------------- citizens

AUTO_REOPEN_LIMIT_KEY = "auto_reopen_limit"
AUTO_REOPEN_REASON = "市民回访不满意，自动重办"


def rate_as_citizen(session: Session, number: str, query_code: str, *, solved: Any, satisfaction: Any,
                    comment: str = "") -> Appeal:
    """回访 by the citizen themself, authorised by number + query code.

    An unsolved or dissatisfied answer reopens the appeal (重办) at once, as the system, while it
    has been reopened fewer times than the admin setting ``auto_reopen_limit`` (default 1); past
    that the centre decides, as after a staff follow-up.
    """
    from sudi.directory.service import CITIZEN, SYSTEM

    with transaction(session):
        appeal = access_public_appeal(session, number, query_code)
        _apply(session, CITIZEN, appeal, "follow_up",
               {"solved": solved, "satisfaction": satisfaction, "comment": comment})
        unhappy = appeal.follow_up_solved is False or appeal.satisfaction == Satisfaction.dissatisfied
        if unhappy and appeal.lead_unit_id is not None and appeal.reopen_count < auto_reopen_limit(session):
            _apply(session, SYSTEM, appeal, "reopen", {"reason": AUTO_REOPEN_REASON})
        return appeal


def auto_reopen_limit(session: Session) -> int:
    value = get_setting(session, AUTO_REOPEN_LIMIT_KEY, 1)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 1


# ---------------------------------------------------------------- the citizens' portal (一网通办)

SIMILAR_WINDOW_DAYS = 90
_SIMILAR_SCAN = 3000      # most recent open appeals compared, at most
_SIMILAR_EXCERPT = 200    # characters of content compared besides the title
_SIMILAR_THRESHOLD = 0.18
_SIMILAR_PROBES = 24     # words of the typed text looked for in SQL
_NEAR_METRES = 1000.0


@dataclass(frozen=True, slots=True)
class SimilarAppeal:
    """What the public may see of another citizen's open appeal: no names, phones or content."""

    number: str
    title: str          # masked (phone and ID numbers)
    state: str
    state_label: str
    received_at: datetime
    supporters: int
    score: float
    near: bool


def _gram_list(text: str) -> list[str]:
    """Character bigrams of CJK runs and whole words of Latin letters and digits, lower case, in
    order of first appearance."""
    import unicodedata

    grams: dict[str, None] = {}
    run: list[str] = []
    word: list[str] = []

    def flush() -> None:
        if len(run) == 1:
            grams[run[0]] = None
        grams.update(dict.fromkeys(a + b for a, b in pairwise(run)))
        run.clear()
        if word:
            grams["".join(word)] = None
            word.clear()

    for ch in unicodedata.normalize("NFKC", text or "").lower():
        if "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf":
            if word:
                grams["".join(word)] = None
                word.clear()
            run.append(ch)
        elif ch.isalnum():
            if run:
                flush()
            word.append(ch)
        else:
            flush()
    flush()
    return list(grams)


def _grams(text: str) -> frozenset[str]:
    return frozenset(_gram_list(text))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    import math

    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(h)))


def similar_open_appeals(session: Session, title: str, content: str = "", lat: float | None = None,
                         lon: float | None = None, *, limit: int = 5) -> list[SimilarAppeal]:
    """Open appeals of the last 90 days that look like the one a citizen is typing, so they can
    support one (我也遇到了) instead of filing a duplicate.

    Similarity is the overlap of character bigrams: the Jaccard index of title against title, or of
    title plus the first 200 characters of content against the same, or half the share of the typed
    title found in the other title, whichever is highest; an appeal within 1 km of the citizen's
    point scores a third more. 举报 (reports of wrongdoing) are never shown.
    """
    import math

    excerpt = (content or "")[:_SIMILAR_EXCERPT]
    query_title, query_all = _grams(title), _grams(f"{title} {excerpt}")
    if len(query_all) < 3:
        return []
    # Only rows sharing a word with what was typed are scored (in SQL, so a busy district stays fast).
    probes = [g for g in dict.fromkeys(_gram_list(title) + _gram_list(excerpt)) if len(g) >= 2][:_SIMILAR_PROBES]
    if not probes:
        return []
    has_point = lat is not None and lon is not None and math.isfinite(lat) and math.isfinite(lon)
    since = clock.now() - timedelta(days=SIMILAR_WINDOW_DAYS)
    head = func.substr(Appeal.content, 1, _SIMILAR_EXCERPT)
    rows = session.execute(
        select(Appeal.id, Appeal.number, Appeal.title, head, Appeal.state, Appeal.received_at, Appeal.lat, Appeal.lon)
        .where(Appeal.state.in_([s.value for s in OPEN_STATES]), Appeal.received_at >= since,
               Appeal.appeal_type != AppealType.report.value, Appeal.master_id.is_(None),
               or_(*(Appeal.title.contains(g, autoescape=True) for g in probes),
                   *(head.contains(g, autoescape=True) for g in probes)))
        .order_by(Appeal.received_at.desc()).limit(_SIMILAR_SCAN)).all()
    scored = []
    for appeal_id, number, cand_title, cand_excerpt, state, received_at, cand_lat, cand_lon in rows:
        cand_title_grams = _grams(cand_title)
        score = max(_jaccard(query_title, cand_title_grams),
                    _jaccard(query_all, _grams(f"{cand_title} {cand_excerpt or ''}")),
                    # a short title typed in full inside a longer one ("病死猪肉" in "…有人卖病死猪肉…")
                    0.5 * len(query_title & cand_title_grams) / len(query_title) if len(query_title) >= 3 else 0.0)
        near = bool(has_point and cand_lat is not None and cand_lon is not None
                    and _metres(lat, lon, cand_lat, cand_lon) <= _NEAR_METRES)  # type: ignore[arg-type]
        if near:
            score *= 4 / 3
        if score >= _SIMILAR_THRESHOLD:
            scored.append((score, appeal_id, number, cand_title, state, received_at, near))
    scored.sort(key=lambda r: (-r[0], r[2]))
    top = scored[:limit]
    counts = support_counts(session, [r[1] for r in top])
    return [SimilarAppeal(number=number, title=mask_text(cand_title), state=state,
                          state_label=STATE_LABELS.get(state, state),  # type: ignore[call-overload]
                          received_at=received_at, supporters=counts.get(appeal_id, 0), score=round(score, 3),
                          near=near)
            for score, appeal_id, number, cand_title, state, received_at, near in top]


def support_appeal(session: Session, number: str, *, supporter: str) -> int:
    """我也遇到了: a citizen says another citizen's open appeal is their problem too.

    Recorded as a ``support`` event on that appeal (internal: no public note, no state change).
    ``supporter`` is an opaque key the face derives for the person (a hash, never personal data);
    the same key counts once per appeal. Returns the number of supporters.
    """
    from sudi.directory.service import CITIZEN

    supporter = (supporter or "").strip()[:64]
    if not supporter:
        raise InvalidInput("缺少附议标识", "supporter is required", field="supporter")
    with transaction(session):
        appeal = get_appeal(session, number)
        if (appeal.state not in {s.value for s in OPEN_STATES} or appeal.appeal_type == AppealType.report
                or appeal.master_id is not None):
            raise Conflict("该诉求已不在办理中，不能附议", "only an open appeal can be supported")
        keys = {(data or {}).get("supporter") for data in session.scalars(
            select(AppealEvent.data).where(AppealEvent.appeal_id == appeal.id, AppealEvent.action == "support"))}
        if supporter not in keys:
            _append_event(session, appeal, CITIZEN, "support", appeal.state, appeal.state,
                          data={"supporter": supporter})
            keys.add(supporter)
        return len(keys - {None})


def support_counts(session: Session, appeal_ids: Sequence[int]) -> dict[int, int]:
    """How many citizens supported each appeal (我也遇到了)."""
    if not appeal_ids:
        return {}
    rows = session.execute(select(AppealEvent.appeal_id, func.count(AppealEvent.id))
                           .where(AppealEvent.appeal_id.in_(list(appeal_ids)), AppealEvent.action == "support")
                           .group_by(AppealEvent.appeal_id)).all()
    return {appeal_id: int(n) for appeal_id, n in rows}


PUBLIC_RESOLVED_LIST_KEY = "public_resolved_list"
_PUBLIC_DONE = (State.resolved.value, State.followed_up.value, State.archived.value)


@dataclass(frozen=True, slots=True)
class PublicCase:
    """A resolved appeal as the public list shows it: personal data removed (no number, name,
    phone or address; phone and ID numbers masked in the texts)."""

    appeal_type: str
    category: str | None
    town: str | None
    title: str
    content: str
    reply: str
    handling_unit: str | None
    received_at: datetime
    resolved_at: datetime | None


def public_resolved_enabled(session: Session) -> bool:
    return get_setting(session, PUBLIC_RESOLVED_LIST_KEY, False) is True


# The public list shows the newest cases only: nobody pages through a year of them, and counting
# every resolved appeal of a large district on each visit is what made the page slow.
PUBLIC_RESOLVED_LIMIT = 1000


def public_resolved_appeals(session: Session, *, page: int = 1, page_size: int = 20
                            ) -> tuple[list[PublicCase], int]:
    """已办结诉求公示, newest first; only when the admin enabled it. 举报 are never listed, nor
    duplicates merged into another appeal. The count stops at ``PUBLIC_RESOLVED_LIMIT`` + 1 (a
    count above the limit means "more than the limit"); pages end at the limit."""
    if not public_resolved_enabled(session):
        raise NotFound("未开放已办结诉求公示", "the public list of resolved appeals is not enabled")
    if page < 1 or not 1 <= page_size <= 100:
        raise InvalidInput("分页参数无效", "page must be >= 1 and page_size 1..100", field="page")
    query = select(Appeal).where(Appeal.state.in_(_PUBLIC_DONE), Appeal.reply.is_not(None),
                                 Appeal.appeal_type != AppealType.report.value, Appeal.master_id.is_(None))
    total = int(session.scalar(select(func.count()).select_from(
        query.with_only_columns(Appeal.id).limit(PUBLIC_RESOLVED_LIMIT + 1).subquery())) or 0)
    if (page - 1) * page_size >= PUBLIC_RESOLVED_LIMIT:
        return [], total
    rows = session.scalars(query.order_by(Appeal.resolved_at.desc(), Appeal.id.desc())
                           .limit(page_size).offset((page - 1) * page_size)
                           .options(selectinload(Appeal.category), selectinload(Appeal.town),
                                    selectinload(Appeal.lead_unit))).all()
    return [PublicCase(appeal_type=a.appeal_type, category=a.category.full_name if a.category else None,
                       town=a.town.name if a.town else None, title=mask_text(a.title),
                       content=mask_text(a.content), reply=mask_text(a.reply or ""),
                       handling_unit=a.lead_unit.name if a.lead_unit else None, received_at=a.received_at,
                       resolved_at=a.resolved_at) for a in rows], total


NUMBER_PREFIX_KEY = "number_prefix"
OPEN311_CONTACT_KEY = "open311_contact"
ADMIN_SETTINGS: dict[str, type] = {PUBLIC_RESOLVED_LIST_KEY: bool, AUTO_REOPEN_LIMIT_KEY: int,
                                   NUMBER_PREFIX_KEY: str, OPEN311_CONTACT_KEY: str}
_PREFIX_RE = re.compile(r"^[A-Z]{1,8}$")


def set_admin_setting(session: Session, actor: Actor, key: str, value: Any) -> None:
    """Change one of the admin-editable switches in ``ADMIN_SETTINGS``."""
    from sudi.core.models import record_audit

    _require_admin(actor)
    kind = ADMIN_SETTINGS.get(key)
    if kind is None:
        raise InvalidInput(f"没有可修改的设置 {key}", f"unknown setting {key!r}", field="key")
    if kind is int and (not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10):
        raise InvalidInput("须为 0–10 的整数", f"{key} must be an integer 0..10", field="value")
    if kind is bool and not isinstance(value, bool):
        raise InvalidInput("须为是或否", f"{key} must be true or false", field="value")
    if kind is str:
        if not isinstance(value, str):
            raise InvalidInput("须为文字", f"{key} must be a string", field="value")
        if key == NUMBER_PREFIX_KEY and not _PREFIX_RE.match(value):
            raise InvalidInput("编号前缀须为 1–8 个大写英文字母", "number_prefix: 1-8 capital letters A-Z",
                               field="value")
        if key == OPEN311_CONTACT_KEY and not 1 <= len(value.strip()) <= 200:
            raise InvalidInput("联系方式须为 1–200 个字", "open311_contact: 1-200 characters", field="value")
        value = value.strip()
    with transaction(session):
        before = get_setting(session, key)
        put_setting(session, key, value)
        record_audit(session, actor_id=actor.id, actor_name=actor.username, action="set_setting",
                     object_type="setting", object_id=key, before=before, after=value)


# ---------------------------------------------------------------- attachments

_MAGIC = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"GIF87a": "image/gif",
          b"GIF89a": "image/gif"}


def sniff_image_type(head: bytes) -> str | None:
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def add_attachment(session: Session, actor: Actor, appeal: Appeal, *, filename: str, data: bytes,
                   media_dir: Any, max_bytes: int, max_count: int) -> Any:
    """Store a photo under the media directory; the type is decided by its bytes, not its name."""
    import hashlib
    from pathlib import Path

    from sudi.appeals.models import Attachment
    from sudi.core.errors import TooLarge

    if not data:
        raise InvalidInput("文件为空", "the file is empty", field="file")
    if len(data) > max_bytes:
        raise TooLarge(f"照片不能超过 {max_bytes // (1024 * 1024)} MB", f"file larger than {max_bytes} bytes",
                       field="file")
    kind = sniff_image_type(data[:16])
    if kind is None:
        raise InvalidInput("只能上传 JPEG、PNG、WebP 或 GIF 照片", "only JPEG, PNG, WebP or GIF images",
                           field="file")
    if len(appeal.attachments) >= max_count:
        raise Conflict(f"每件诉求最多 {max_count} 张照片", f"at most {max_count} attachments per appeal")
    sha = hashlib.sha256(data).hexdigest()
    suffix = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}[kind]
    relative = Path(appeal.number[:10]) / f"{sha}{suffix}"
    target = Path(media_dir) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    safe_name = Path(filename or "photo").name[:200] or "photo"
    with transaction(session):
        attachment = Attachment(appeal_id=appeal.id, filename=safe_name, content_type=kind, size=len(data),
                                sha256=sha, stored_path=str(relative), uploaded_at=clock.now(),
                                uploaded_by_id=actor.id)
        session.add(attachment)
        session.flush()
        _append_event(session, appeal, actor, "attach", appeal.state, appeal.state,
                      data={"attachment": attachment.id, "filename": safe_name, "size": len(data)})
    return attachment


# ---------------------------------------------------------------- policy administration

def _require_admin(actor: Actor) -> None:
    if actor.role not in (Role.admin, "system"):
        raise Forbidden("只有系统管理员可以修改配置", "only an admin may change configuration")


def set_time_limit_policy(session: Session, actor: Actor, *, name: str, appeal_kind: str | None,
                          urgency: str | None, appeal_type: str | None, acknowledge_amount: float,
                          acknowledge_unit: str, resolve_amount: float, resolve_unit: str):  # type: ignore[no-untyped-def]
    """Create or replace the row for one selector combination."""
    from sudi.appeals.models import TimeLimitPolicy
    from sudi.core.models import record_audit

    _require_admin(actor)
    kind = _enum_value(appeal_kind, AppealKind, _LABEL_TO_KIND, "appeal_kind", "诉求类别") if appeal_kind else None
    urg = _enum_value(urgency, Urgency, _LABEL_TO_URGENCY, "urgency", "紧急程度") if urgency else None
    typ = _enum_value(appeal_type, AppealType, _LABEL_TO_TYPE, "appeal_type", "诉求类型") if appeal_type else None
    for amount, unit, key in ((acknowledge_amount, acknowledge_unit, "acknowledge"),
                              (resolve_amount, resolve_unit, "resolve")):
        if unit not in policy.LIMIT_UNITS:
            raise InvalidInput("时限单位须为 hours 或 working_days", "unit must be hours or working_days",
                               field=f"{key}_unit")
        if not 0 < amount <= 365 or (unit == "working_days" and amount != int(amount)):
            raise InvalidInput("时限须为正数（工作日须为整数）", f"{key}_amount must be positive",
                               field=f"{key}_amount")
    with transaction(session):
        row = session.scalar(select(TimeLimitPolicy).where(
            TimeLimitPolicy.appeal_kind.is_(None) if kind is None else TimeLimitPolicy.appeal_kind == kind,
            TimeLimitPolicy.urgency.is_(None) if urg is None else TimeLimitPolicy.urgency == urg,
            TimeLimitPolicy.appeal_type.is_(None) if typ is None else TimeLimitPolicy.appeal_type == typ))
        if row is None:
            row = TimeLimitPolicy(appeal_kind=kind, urgency=urg, appeal_type=typ)
            session.add(row)
        row.name = name or row.name or "未命名"
        row.acknowledge_amount, row.acknowledge_unit = acknowledge_amount, acknowledge_unit
        row.resolve_amount, row.resolve_unit = resolve_amount, resolve_unit
        record_audit(session, actor_id=actor.id, actor_name=actor.username, action="set_time_limit_policy",
                     object_type="time_limit_policy", object_id=f"{kind}/{urg}/{typ}",
                     acknowledge=[acknowledge_amount, acknowledge_unit], resolve=[resolve_amount, resolve_unit])
    return row


def set_holiday(session: Session, actor: Actor, day: Any, *, is_workday: bool, name: str = "") -> None:
    from sudi.core.models import Holiday, record_audit

    _require_admin(actor)
    with transaction(session):
        row = session.get(Holiday, day)
        if row is None:
            session.add(Holiday(day=day, is_workday=is_workday, name=name))
        else:
            row.is_workday, row.name = is_workday, name
        put_setting(session, policy.HOLIDAYS_VERSION_KEY,
                    int(get_setting(session, policy.HOLIDAYS_VERSION_KEY, 0)) + 1)
        record_audit(session, actor_id=actor.id, actor_name=actor.username, action="set_holiday",
                     object_type="holiday", object_id=str(day), is_workday=is_workday, name=name)


def delete_holiday(session: Session, actor: Actor, day: Any) -> None:
    from sudi.core.models import Holiday, record_audit

    _require_admin(actor)
    with transaction(session):
        row = session.get(Holiday, day)
        if row is None:
            raise NotFound(f"节假日表中没有 {day}", f"no holiday entry for {day}")
        session.delete(row)
        put_setting(session, policy.HOLIDAYS_VERSION_KEY,
                    int(get_setting(session, policy.HOLIDAYS_VERSION_KEY, 0)) + 1)
        record_audit(session, actor_id=actor.id, actor_name=actor.username, action="delete_holiday",
                     object_type="holiday", object_id=str(day))


def upsert_category(session: Session, actor: Actor, *, path: Sequence[str], is_active: bool = True) -> Category:
    """Create the category at ``path`` (1–3 names, top first) and any missing parents."""
    from sudi.core.models import record_audit

    _require_admin(actor)
    names = [p.strip() for p in path if p and p.strip()]
    if not 1 <= len(names) <= 3:
        raise InvalidInput("分类须为一至三级", "a category path has 1 to 3 levels", field="path")
    with transaction(session):
        category = _ensure_category_path(session, names)
        category.is_active = is_active
        record_audit(session, actor_id=actor.id, actor_name=actor.username, action="upsert_category",
                     object_type="category", object_id=category.code, path="/".join(names))
    return category


def set_category_active(session: Session, actor: Actor, code: str, *, is_active: bool) -> Category:
    """Switch a category on or off; switching off takes its sub-categories with it, switching on
    takes its parents with it (an active node under an inactive parent could not be chosen)."""
    from sudi.core.models import record_audit

    _require_admin(actor)
    with transaction(session):
        category = session.scalar(select(Category).where(Category.code == code))
        if category is None:
            raise NotFound(f"没有编码为 {code} 的分类", f"no category {code!r}", field="category")
        if is_active:
            names = category.full_name.split("/")
            affected = list(session.scalars(select(Category).where(
                Category.full_name.in_(["/".join(names[:n]) for n in range(1, len(names) + 1)]))))
        else:
            affected = list(session.scalars(select(Category).where(or_(
                Category.id == category.id, Category.full_name.startswith(category.full_name + "/")))))
        for node in affected:
            node.is_active = is_active
        record_audit(session, actor_id=actor.id, actor_name=actor.username,
                     action="activate_category" if is_active else "deactivate_category",
                     object_type="category", object_id=code, path=category.full_name,
                     affected=sorted(n.code for n in affected))
    return category


def list_categories(session: Session) -> Sequence[Category]:
    """Every category, inactive ones included, in tree order."""
    return session.scalars(select(Category).order_by(Category.full_name)).all()


def set_green_channel_coordinator(session: Session, actor: Actor, username: str | None) -> None:
    """Name the default coordinator of development appeals (绿色通道); None clears it."""
    from sudi.core.models import record_audit

    _require_admin(actor)
    with transaction(session):
        if username:
            user = session.scalar(select(User).where(User.username == username))
            if user is None or not user.is_active:
                raise InvalidInput(f"没有启用的用户 {username}", f"no active user {username!r}",
                                   field="coordinator")
        before = get_setting(session, GREEN_CHANNEL_COORDINATOR_KEY)
        put_setting(session, GREEN_CHANNEL_COORDINATOR_KEY, username or None)
        record_audit(session, actor_id=actor.id, actor_name=actor.username, action="set_setting",
                     object_type="setting", object_id=GREEN_CHANNEL_COORDINATOR_KEY, before=before,
                     after=username or None)


def _ensure_category_path(session: Session, names: Sequence[str]) -> Category:
    parent: Category | None = None
    for level, name in enumerate(names, start=1):
        full = "/".join(names[:level])
        node = session.scalar(select(Category).where(Category.full_name == full))
        if node is None:
            count = session.scalar(select(func.count(Category.id))) or 0
            node = Category(code=f"C{count + 1:04d}", name=name, level=level,
                            parent_id=parent.id if parent else None, full_name=full)
            session.add(node)
            session.flush()
        parent = node
    assert parent is not None
    return parent


def seed_defaults(session: Session, taxonomy_rows: Sequence[Sequence[str]] = ()) -> None:
    """Idempotent first-run content: the secret, default time limits and the taxonomy."""
    from sudi.appeals.models import TimeLimitPolicy

    ensure_secret(session)
    with transaction(session):
        if session.scalar(select(func.count(TimeLimitPolicy.id))) == 0:
            for name, kind, urgency, appeal_type, ack, ack_unit, res, res_unit in policy.DEFAULT_POLICIES:
                session.add(TimeLimitPolicy(name=name, appeal_kind=kind, urgency=urgency, appeal_type=appeal_type,
                                            acknowledge_amount=ack, acknowledge_unit=ack_unit,
                                            resolve_amount=res, resolve_unit=res_unit))
        if taxonomy_rows and session.scalar(select(func.count(Category.id))) == 0:
            for row in taxonomy_rows:
                _ensure_category_path(session, [c.strip() for c in row if c and c.strip()])


# ---------------------------------------------------------------- the closed loop (全程留痕)

@dataclass(frozen=True, slots=True)
class LoopStep:
    key: str
    label: str
    starts: frozenset[str]
    ends: frozenset[str]
    # Actions that complete the step in the same act when it was never opened (dispatch straight
    # after acceptance is triage and routing at once).
    instant: frozenset[str] = frozenset()


LOOP_STEPS = (
    LoopStep("intake", "受理", frozenset({"create"}), frozenset({"accept", "reject"})),
    LoopStep("triage", "研判", frozenset({"accept"}), frozenset({"triage", "dispatch", "reject"})),
    LoopStep("routing", "分流", frozenset({"triage", "return"}), frozenset({"dispatch", "rule", "reject"}),
             instant=frozenset({"dispatch"})),
    LoopStep("handling", "督办", frozenset({"dispatch", "rule", "reopen"}), frozenset({"resolve", "return"})),
    LoopStep("feedback", "反馈", frozenset({"resolve"}), frozenset({"follow_up", "archive"})),
    LoopStep("assessment", "考评", frozenset({"follow_up"}), frozenset({"archive", "reopen"})),
)


def closed_loop(events: Sequence[AppealEvent]) -> list[dict[str, Any]]:
    """受理 → 研判 → 分流 → 督办 → 反馈 → 考评, read back from the event trail: when each step
    started and ended, how long it took and who held it. Returns and reopens start a step again,
    so a step's time is the sum of its rounds."""
    now = clock.now()
    result: list[dict[str, Any]] = []
    for step in LOOP_STEPS:
        rounds: list[tuple[datetime, datetime | None]] = []
        holders: set[str] = set()
        opened: datetime | None = None
        for event in events:
            if opened is None and event.action in step.starts:
                opened = event.at
            elif opened is not None:
                holders.add(event.actor_name)
                if event.action in step.ends:
                    rounds.append((opened, event.at))
                    opened = None
            elif event.action in step.instant:
                rounds.append((event.at, event.at))
                holders.add(event.actor_name)
        if opened is not None:
            rounds.append((opened, None))
        if not rounds:
            result.append({"step": step.key, "label": step.label, "status": "pending"})
            continue
        done = rounds[-1][1] is not None
        result.append({
            "step": step.key, "label": step.label, "status": "done" if done else "current",
            "started_at": rounds[0][0], "ended_at": rounds[-1][1],
            "seconds": round(sum(((end or now) - start).total_seconds() for start, end in rounds)),
            "rounds": len(rounds), "held_by": sorted(holders),
        })
    return result


# ---------------------------------------------------------------- routing suggestions (派单建议)

def suggest_routing(session: Session, appeal: Appeal, *, top: int = 3) -> list[dict[str, Any]]:
    """Duty-list matters the appeal's text points to, with the unit each one puts it on: the
    department for functional matters, the town where it happened for territorial ones."""
    from sudi.directory.service import list_matters
    from sudi.intelligence.matching import MatterTerms, suggest_matters

    matters = {m.code: m for m in list_matters(session)}
    hits = suggest_matters(appeal.title, appeal.content,
                           (MatterTerms(m.code, m.keywords) for m in matters.values()), top=top)
    suggestions = []
    for hit in hits:
        matter = matters[hit.code]
        unit = appeal.town if matter.territorial_rule == "territorial" and appeal.town else matter.responsible_unit
        assisting = [u.code for u in matter.assisting_units if u.id != unit.id]
        if unit.id != matter.responsible_unit_id:
            assisting.insert(0, matter.responsible_unit.code)
        suggestions.append({
            "matter": matter.code, "matter_name": matter.name, "appeal_kind": matter.appeal_kind,
            "unit": unit.code, "unit_name": unit.name, "assisting_units": assisting,
            "territorial": matter.territorial_rule == "territorial", "legal_basis": matter.legal_basis,
            "score": hit.score, "matched_keywords": list(hit.matched),
        })
    return suggestions
