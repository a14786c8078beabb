"""Web face of the case engine: the citizens' portal (一网通办), the staff landing page and the
staff workbench (list, one appeal with its action forms, phone intake, grid patrol).

Citizens need no account. They submit an appeal and get its number and query code once; with
both they follow it and rate the reply. The query code never travels in a URL: ``POST /track``
checks it and keeps it in a cookie scoped to that appeal's page.

Staff pages show only what the user's role may do: the action forms on an appeal are exactly
``service.allowed_actions``; each posts as a plain form (303 back to the appeal, or the page again
with the service's Chinese refusal next to the form).
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from sudi.appeals import policy, service, smart_dispatch
from sudi.appeals.models import (
    APPEAL_TYPE_LABELS,
    CHANNEL_LABELS,
    KIND_LABELS,
    URGENCY_LABELS,
    AppealType,
    Satisfaction,
    State,
)
from sudi.appeals.schemas import public_appeal_out
from sudi.core.errors import Conflict, InvalidInput, NotFound, SudiError
from sudi.deps import SessionDep, SettingsDep
from sudi.directory.geo import locate_point, territory_geojson
from sudi.directory.models import Role
from sudi.directory.service import CITIZEN, Actor
from sudi.intelligence.pii import PERSONAL_DATA_LABELS, mask_phone, mask_text, personal_data_kinds
from sudi.web.forms import GENERAL, Form, new_form_key
from sudi.web.navigation import queues_for
from sudi.web.security import StaffDep, require_roles
from sudi.web.templating import render

router = APIRouter(include_in_schema=False)
staff_router = APIRouter(include_in_schema=False)

# What a citizen may choose, in the order the form lists it, with the hint shown under the choice.
PUBLIC_TYPES: tuple[tuple[str, str], ...] = (
    (AppealType.complaint.value, "投诉：对某个问题或某项服务不满，要求处理"),
    (AppealType.help.value, "求助：遇到困难，需要帮助"),
    (AppealType.consultation.value, "咨询：想了解政策或办事方法"),
    (AppealType.suggestion.value, "建议：对工作提出意见建议"),
    (AppealType.report.value, "举报：反映违法违规行为（不会公开）"),
    (AppealType.praise.value, "表扬：表扬好人好事、优质服务"),
)
SUBMIT_FIELDS = ("idempotency_key", "appeal_type", "title", "content", "address", "lat", "lon", "citizen_name",
                 "citizen_phone", "is_anonymous")
MIN_CONTENT = 10
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_NUMBER_RE = re.compile(r"^[A-Za-z0-9-]{1,32}$")
_PHONE_RE = re.compile(r"^\d{7,12}$")
QUERY_COOKIE = "sudi_query"
QUERY_COOKIE_MAX_AGE = 2 * 3600
SATISFACTION_CHOICES = ((Satisfaction.satisfied.value, "满意"), (Satisfaction.fairly_satisfied.value, "基本满意"),
                        (Satisfaction.dissatisfied.value, "不满意"))


# ---------------------------------------------------------------- home and guide

@router.get("/")
def home(request: Request, session: SessionDep) -> Response:
    return render(request, "portal/home.html", public_list=service.public_resolved_enabled(session))


@router.get("/guide")
def guide(request: Request, session: SessionDep) -> Response:
    return render(request, "portal/guide.html", policies=policy.list_policies(session), types=PUBLIC_TYPES,
                  kinds=KIND_LABELS, public_list=service.public_resolved_enabled(session),
                  auto_reopen_limit=service.auto_reopen_limit(session))


# ---------------------------------------------------------------- submit

def _submit_page(request: Request, settings: Any, form: Form, *, status_code: int = 200) -> Response:
    return render(request, "portal/submit.html", status_code=status_code, form=form, types=PUBLIC_TYPES,
                  max_photos=settings.max_attachments_per_appeal,
                  max_photo_mb=settings.max_upload_bytes // (1024 * 1024), max_title=service.MAX_TITLE,
                  max_content=service.MAX_CONTENT)


@router.get("/submit")
def submit_form(request: Request, settings: SettingsDep) -> Response:
    form = Form(values={"idempotency_key": new_form_key(), "appeal_type": AppealType.complaint.value})
    return _submit_page(request, settings, form)


def _float(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _form_point(form: Any, values: dict[str, Any]) -> tuple[float | None, float | None]:
    """The point picked on a form's map, or (None, None); a malformed one is a field error."""
    if not (values["lat"] or values["lon"]):
        return None, None
    lat, lon = _float(values["lat"]), _float(values["lon"])
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        form.error("location", "地图位置无效，请重新选择")
        return None, None
    return lat, lon


def _check_submission(session: Any, form: Form) -> tuple[float | None, float | None]:
    """Every portal rule at once, so each field shows its own message. The service checks again."""
    v = form.values
    if v["appeal_type"] not in dict(PUBLIC_TYPES):
        form.error("appeal_type", "请选择诉求类型")
    if not v["title"]:
        form.error("title", "请填写标题，用一句话概括您的诉求")
    elif len(v["title"]) > service.MAX_TITLE:
        form.error("title", f"标题不能超过 {service.MAX_TITLE} 字（现有 {len(v['title'])} 字）")
    if not v["content"]:
        form.error("content", "请填写诉求内容")
    elif len(v["content"]) < MIN_CONTENT:
        form.error("content", f"诉求内容至少 {MIN_CONTENT} 个字，请写明时间、地点和具体问题")
    elif len(v["content"]) > service.MAX_CONTENT:
        form.error("content", f"诉求内容不能超过 {service.MAX_CONTENT} 字")
    if len(v["address"]) > 255:
        form.error("address", "地址不能超过 255 字")
    lat, lon = _form_point(form, v)
    if lat is not None and lon is not None and locate_point(session, lat, lon) is None \
            and territory_geojson(session)["features"]:
        form.error("location", "所选位置不在本区范围内，请在地图上重新选择，或只填写地址")
        lat = lon = None
    if not v["is_anonymous"]:
        if not v["citizen_name"]:
            form.error("citizen_name", "请填写姓名或称呼，或选择匿名反映")
        elif len(v["citizen_name"]) > 64:
            form.error("citizen_name", "姓名不能超过 64 字")
        phone = v["citizen_phone"].replace("-", "").replace(" ", "").removeprefix("+86")
        if not phone:
            form.error("citizen_phone", "请填写联系电话，以便承办单位联系您；或选择匿名反映")
        elif not _PHONE_RE.match(phone):
            form.error("citizen_phone", "联系电话格式不正确，请填写 11 位手机号或带区号的固定电话")
    return lat, lon


async def _read_photos(files: list[Any], settings: Any, form: Form) -> list[tuple[str, bytes]]:
    photos: list[tuple[str, bytes]] = []
    for upload in files:
        if not isinstance(upload, UploadFile) or not upload.filename:
            continue  # an empty file input sends one nameless part
        data = await upload.read(settings.max_upload_bytes + 1)
        if not data:
            continue
        name, limit_mb = upload.filename[:100], settings.max_upload_bytes // (1024 * 1024)
        if len(data) > settings.max_upload_bytes:
            form.error("photos", f"照片「{name}」超过 {limit_mb} MB，请压缩后重新选择")
        elif service.sniff_image_type(data[:16]) is None:
            form.error("photos", f"「{name}」不是 JPEG、PNG、WebP 或 GIF 照片")
        photos.append((upload.filename, data))
    if len(photos) > settings.max_attachments_per_appeal:
        form.error("photos", f"最多上传 {settings.max_attachments_per_appeal} 张照片（您选了 {len(photos)} 张）")
    return photos


@router.post("/submit")
async def submit(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    data = await request.form(max_files=100, max_fields=100)
    form = Form.read(data, SUBMIT_FIELDS)
    if not _KEY_RE.match(form.values["idempotency_key"]):
        form.values["idempotency_key"] = new_form_key()
    lat, lon = _check_submission(session, form)
    photos = await _read_photos(list(data.getlist("photos")), settings, form)
    if form.ok:
        anonymous = bool(form.values["is_anonymous"])
        draft = service.AppealDraft(
            title=form.values["title"], content=form.values["content"], channel="web",
            appeal_type=form.values["appeal_type"], address=form.values["address"], lat=lat, lon=lon,
            citizen_name="" if anonymous else form.values["citizen_name"],
            citizen_phone="" if anonymous else form.values["citizen_phone"], is_anonymous=anonymous,
            idempotency_key=form.values["idempotency_key"])
        try:
            intake = service.create_appeal(session, CITIZEN, draft)
        except Conflict as exc:  # the key was used for a different text: treat this as a new form
            form.values["idempotency_key"] = new_form_key()
            form.error(GENERAL, exc.message_zh + "，请核对内容后再次提交")
        except InvalidInput as exc:
            form.service_error(exc, {"lat": "location", "lon": "location"})
        else:
            failed = []
            if intake.created:
                for filename, content in photos:
                    try:
                        service.add_attachment(session, CITIZEN, intake.appeal, filename=filename, data=content,
                                               media_dir=settings.media_dir, max_bytes=settings.max_upload_bytes,
                                               max_count=settings.max_attachments_per_appeal)
                    except SudiError as exc:
                        failed.append(f"{filename[:100]}：{exc.message_zh}")
            return render(request, "portal/submitted.html", number=intake.number,
                          query_code=intake.query_code, repeated=not intake.created, failed_photos=failed,
                          photos=len(photos) - len(failed) if intake.created else 0)
    if photos and not form.errors.get("photos"):
        form.error("photos", "出于安全原因，浏览器不会保留已选的照片，请重新选择")
    return _submit_page(request, settings, form, status_code=422)


@router.get("/submit/similar")
def similar(request: Request, session: SessionDep, title: str = "", content: str = "", lat: str = "",
            lon: str = "") -> Response:
    """HTMX panel under the form: similar open appeals the citizen may support instead."""
    point_lat, point_lon = _float(lat[:32]), _float(lon[:32])
    found = service.similar_open_appeals(session, title[:service.MAX_TITLE], content[:500], point_lat, point_lon)
    return render(request, "portal/_similar.html", items=found)


def supporter_key(request: Request) -> str:
    """Who supports, as the service needs it: an opaque hash of this browser's CSRF token, so one
    browser counts once per appeal and nothing personal is stored."""
    return hashlib.sha256(("support:" + request.state.csrf_token).encode()).hexdigest()[:32]


@router.post("/support/{number}")
def support(request: Request, number: str, session: SessionDep) -> Response:
    if not _NUMBER_RE.match(number):
        raise NotFound("没有该诉求", "no such appeal")
    try:
        count = service.support_appeal(session, number, supporter=supporter_key(request))
    except (Conflict, NotFound) as exc:
        return render(request, "portal/_supported.html", number=number, count=None, message=exc.message_zh)
    return render(request, "portal/_supported.html", number=number, count=count, message="")


# ---------------------------------------------------------------- track and rate

def _track_form(request: Request, form: Form, *, status_code: int = 200) -> Response:
    return render(request, "portal/track_form.html", status_code=status_code, form=form)


@router.get("/track")
def track_form(request: Request, number: str = "") -> Response:
    return _track_form(request, Form(values={"number": number.strip()[:32] if _NUMBER_RE.match(number.strip())
                                             else "", "query_code": ""}))


@router.post("/track")
async def track_lookup(request: Request, session: SessionDep) -> Response:
    form = Form.read(await request.form(), ("number", "query_code"))
    number, code = form.values["number"].upper(), form.values["query_code"].upper().replace(" ", "")
    form.values["number"] = number
    if not number:
        form.error("number", "请填写诉求编号")
    elif not _NUMBER_RE.match(number):
        form.error("number", "诉求编号格式不正确，例如 YC20261126-00042")
    if not code:
        form.error("query_code", "请填写查询码")
    if form.ok:
        try:
            service.access_public_appeal(session, number, code)
        except NotFound as exc:
            form.error(GENERAL, exc.message_zh + "，请核对后重试")
        else:
            response = RedirectResponse(f"/track/{number}", status_code=303)
            response.set_cookie(QUERY_COOKIE, code, max_age=QUERY_COOKIE_MAX_AGE, path=f"/track/{number}",
                                httponly=True, samesite="lax", secure=request.url.scheme == "https")
            return response
    form.values["query_code"] = ""
    return _track_form(request, form, status_code=422)


def _track_page(request: Request, session: Any, appeal: Any, form: Form, *, status_code: int = 200,
                rated: bool = False) -> Response:
    view = public_appeal_out(appeal, list(service.events_of(session, appeal)))
    supporters = service.support_counts(session, [appeal.id]).get(appeal.id, 0)
    return render(request, "portal/track.html", status_code=status_code, appeal=view, form=form,
                  supporters=supporters, rated=rated, satisfaction_choices=SATISFACTION_CHOICES,
                  type_label=APPEAL_TYPE_LABELS.get(appeal.appeal_type, ""),  # type: ignore[call-overload]
                  calendar=policy.work_calendar(session))


def _public_appeal(request: Request, session: Any, number: str) -> Any:
    code = request.cookies.get(QUERY_COOKIE, "")
    if not _NUMBER_RE.match(number) or not code:
        return None
    try:
        return service.access_public_appeal(session, number, code)
    except NotFound:
        return None


@router.get("/track/{number}")
def track(request: Request, number: str, session: SessionDep, rated: str = "") -> Response:
    appeal = _public_appeal(request, session, number)
    if appeal is None:
        return RedirectResponse(f"/track?number={number if _NUMBER_RE.match(number) else ''}", status_code=303)
    return _track_page(request, session, appeal, Form(), rated=bool(rated))


@router.post("/track/{number}/rate")
async def rate(request: Request, number: str, session: SessionDep) -> Response:
    appeal = _public_appeal(request, session, number)
    if appeal is None:
        return RedirectResponse(f"/track?number={number if _NUMBER_RE.match(number) else ''}", status_code=303)
    form = Form.read(await request.form(), ("solved", "satisfaction", "comment"))
    if form.values["solved"] not in ("yes", "no"):
        form.error("solved", "请选择问题是否已解决")
    if form.values["satisfaction"] not in dict(SATISFACTION_CHOICES):
        form.error("satisfaction", "请选择您对办理结果的满意程度")
    if len(form.values["comment"]) > 2000:
        form.error("comment", "意见不能超过 2000 字")
    if form.ok:
        try:
            service.rate_as_citizen(session, number, request.cookies.get(QUERY_COOKIE, ""),
                                    solved=form.values["solved"] == "yes",
                                    satisfaction=form.values["satisfaction"], comment=form.values["comment"])
        except (Conflict, InvalidInput) as exc:
            form.service_error(exc)
        else:
            return RedirectResponse(f"/track/{number}?rated=1", status_code=303)
    session.refresh(appeal)
    return _track_page(request, session, appeal, form, status_code=422)


# ---------------------------------------------------------------- resolved appeals, public

@router.get("/resolved")
def resolved(request: Request, session: SessionDep, page: str = "1") -> Response:
    number = int(page) if page.isdigit() and 0 < len(page) <= 6 else 1
    page_size = 20
    cases, total = service.public_resolved_appeals(session, page=max(number, 1), page_size=page_size)
    limit = service.PUBLIC_RESOLVED_LIMIT
    pages = max(1, math.ceil(min(total, limit) / page_size))
    return render(request, "portal/resolved.html", cases=cases, total=total, page=number, pages=pages,
                  more=total > limit, limit=limit, type_labels=APPEAL_TYPE_LABELS)


# ---------------------------------------------------------------- staff landing

@staff_router.get("/staff")
def staff_home(request: Request, session: SessionDep, actor: StaffDep) -> Response:
    """The signed-in user's counts (what waits for them), and what changed lately."""
    queues = []
    for queue in queues_for(actor):
        flt = service.AppealFilter(states=queue.states, overdue=queue.overdue, supervised=queue.supervised)
        _, count = service.list_appeals(session, actor, flt, page=1, page_size=1)
        queues.append((queue, count))
    recent: list[dict[str, Any]] = []
    if queues:
        items, _ = service.list_appeals(session, actor, service.AppealFilter(sort="-updated_at"), page=1,
                                        page_size=8)
        for appeal in items:
            full = service.shows_full_phone(actor, appeal)
            recent.append({"number": appeal.number, "title": appeal.title if full else mask_text(appeal.title),
                           "state": appeal.state, "updated_at": appeal.updated_at, "resolve_due": appeal.resolve_due,
                           "is_overdue": appeal.is_overdue,
                           "unit": appeal.lead_unit.name if appeal.lead_unit else None})
    return render(request, "staff/home.html", queues=queues, recent=recent, calendar=policy.work_calendar(session))


# ================================================================ the staff workbench (工作台)
#
# /staff/appeals           the list: filters, sort, pagination, role presets (?queue=…), Excel link
# /staff/appeals/{number}  one appeal: fields, map, closed loop, trail, routing suggestions and one
#                          small form per action the user may take (service.allowed_actions)
# POST /staff/appeals/{number}/actions/{action}   builds the payload, calls service.perform_action
# /staff/intake            the intake agent's phone form; /staff/intake/history the caller's appeals
# /staff/patrol            the grid worker's report form and map; /staff/patrol/appeals.json markers

WORKBENCH_ROLES = tuple(r.value for r in Role if r != Role.mediator)
PAGE_SIZES = (20, 50, 100)
_IN_HAND_STATES = (State.dispatched.value, State.acknowledged.value)
_FILTER_KEYS = ("kind", "unit", "town", "grid", "category", "channel", "overdue", "supervised", "date_from",
                "date_to", "q")


@dataclass(frozen=True, slots=True)
class ListPreset:
    """A named queue of the list page (``?queue=…``): a title and the filter it stands for."""

    key: str
    title: str
    roles: frozenset[str]
    states: tuple[str, ...] = ()
    overdue: bool | None = None
    supervised: bool | None = None
    own_unit: bool = False
    sort: str = "-received_at"
    show_phone: bool = False


LIST_PRESETS: dict[str, ListPreset] = {p.key: p for p in (
    ListPreset("accept", "待受理", frozenset(service.INTAKE_ROLES), (State.received.value,)),
    ListPreset("dispatch", "待派单", frozenset(service.DISPATCH_ROLES),
               (State.accepted.value, State.triaged.value, State.returned.value)),
    ListPreset("inbox", "本单位待办", frozenset({Role.unit_handler, Role.unit_leader}), _IN_HAND_STATES,
               own_unit=True, sort="resolve_due"),
    ListPreset("overdue", "已超期", frozenset(WORKBENCH_ROLES) - {Role.grid_worker, Role.intake_agent},
               _IN_HAND_STATES, overdue=True, sort="resolve_due"),
    ListPreset("supervised", "督办中", frozenset(WORKBENCH_ROLES) - {Role.grid_worker, Role.intake_agent},
               (*_IN_HAND_STATES, State.returned.value), supervised=True, sort="resolve_due"),
    ListPreset("followup", "待回访", frozenset(service.FOLLOW_UP_ROLES), (State.resolved.value,),
               sort="received_at", show_phone=True),
)}
SORT_CHOICES = (("-received_at", "受理时间（新→旧）"), ("received_at", "受理时间（旧→新）"),
                ("resolve_due", "办结时限（近→远）"), ("-updated_at", "最近更新"), ("number", "编号"))


def _bool_param(value: str) -> bool | None:
    return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(value.lower())


def _territory_options(session: Any) -> dict[str, Any]:
    """What the filter and routing selects offer: units grouped by kind, towns, grids, categories."""
    from sqlalchemy import select

    from sudi.appeals.models import Category
    from sudi.directory.models import Grid
    from sudi.directory.service import list_units

    units = list(list_units(session))
    towns = [u for u in units if u.kind in ("town", "subdistrict")]
    grids = list(session.scalars(select(Grid).where(Grid.is_active.is_(True)).order_by(Grid.code)))
    categories = list(session.scalars(select(Category).where(Category.is_active.is_(True))
                                      .order_by(Category.full_name)))
    groups: dict[str, list[Any]] = {}
    for unit in units:
        groups.setdefault(UNIT_KIND_LABELS.get(unit.kind, unit.kind), []).append(unit)
    return {"units": units, "unit_groups": groups, "towns": towns, "grids": grids, "categories": categories}


UNIT_KIND_LABELS = {"district": "区", "centre": "诉求办理中心", "department": "区直部门", "company": "公用企业",
                    "subdistrict": "街道", "town": "镇", "community": "社区", "village": "村"}


@staff_router.get("/staff/appeals")
def staff_appeals(request: Request, session: SessionDep,
                  actor: Annotated[Actor, Depends(require_roles(*WORKBENCH_ROLES))]) -> Response:
    """The list every appeal role works from; ``?queue=`` picks a role's preset."""
    params = request.query_params
    values = {key: params.get(key, "").strip()[:64] for key in _FILTER_KEYS}
    states = [s for raw in params.getlist("state") for s in raw.split(",") if s][:12]
    preset = LIST_PRESETS.get(params.get("queue", ""))
    if preset is not None and actor.role not in preset.roles:
        preset = None
    sort = params.get("sort", "") or (preset.sort if preset else "-received_at")
    page_size = int(params.get("page_size", "20")) if params.get("page_size", "") in ("20", "50", "100") else 20
    page_raw = params.get("page", "1")
    page = int(page_raw) if page_raw.isdigit() and 0 < len(page_raw) <= 6 and int(page_raw) > 0 else 1
    overdue, supervised = _bool_param(values["overdue"]), _bool_param(values["supervised"])
    unit = values["unit"] or None
    if preset is not None:
        states = states or list(preset.states)
        overdue = preset.overdue if overdue is None else overdue
        supervised = preset.supervised if supervised is None else supervised
        if preset.own_unit and not unit and actor.unit_id is not None:
            unit = _own_unit_code(session, actor)
    error = ""
    items: list[Any] = []
    total = 0
    try:
        flt = service.AppealFilter(
            states=states, unit=unit, grid=values["grid"] or None, town=values["town"] or None,
            category=values["category"] or None, kind=values["kind"] or None, channel=values["channel"] or None,
            overdue=overdue, supervised=supervised,
            received_from=_date_bound(values["date_from"], "date_from", end=False),
            received_to=_date_bound(values["date_to"], "date_to", end=True), text=values["q"] or None, sort=sort)
        found, total = service.list_appeals(session, actor, flt, page=page, page_size=page_size)
        items = [_row(actor, appeal) for appeal in found]
        if preset is not None and preset.key == "dispatch":
            smart_dispatch.annotate_queue(session, found, items)
    except SudiError as exc:
        error = exc.message_zh
    query: list[tuple[str, str]] = [("state", s) for s in states]
    query += [(k, v) for k, v in values.items() if v and k not in ("overdue", "supervised")]
    if unit and not values["unit"]:
        query.append(("unit", unit))
    if overdue is not None:
        query.append(("overdue", str(overdue).lower()))
    if supervised is not None:
        query.append(("supervised", str(supervised).lower()))
    query.append(("sort", sort))
    base = urlencode(query)
    pages = max(1, math.ceil(total / page_size))
    return render(request, "staff/appeals.html", status_code=422 if error else 200, items=items, total=total,
                  page=page, pages=pages, page_size=page_size, page_sizes=PAGE_SIZES, values=values,
                  states=states, unit=unit or "", overdue=overdue, supervised=supervised, sort=sort,
                  sort_choices=SORT_CHOICES, preset=preset, error=error,
                  presets=[p for p in LIST_PRESETS.values() if actor.role in p.roles],
                  list_query=urlencode([*query, ("page_size", str(page_size))]),
                  export_href="/api/v1/appeals/export.xlsx?" + base, kinds=KIND_LABELS,
                  channels=CHANNEL_LABELS, show_phone=bool(preset and preset.show_phone),
                  calendar=policy.work_calendar(session), **_territory_options(session))


def _own_unit_code(session: Any, actor: Actor) -> str | None:
    from sudi.directory.models import Unit

    unit = session.get(Unit, actor.unit_id)
    return unit.code if unit is not None else None


def _date_bound(value: str, name: str, *, end: bool) -> Any:
    from sudi.appeals.api import _date_bound as parse

    return parse(value or None, name, end=end)


def _row(actor: Actor, appeal: Any) -> dict[str, Any]:
    full = service.shows_full_phone(actor, appeal)
    due = appeal.acknowledge_due if appeal.state == State.dispatched.value else appeal.resolve_due
    return {"number": appeal.number, "title": appeal.title if full else mask_text(appeal.title),
            "state": appeal.state, "kind": appeal.appeal_kind, "urgency": appeal.urgency,
            "channel": appeal.channel, "received_at": appeal.received_at,
            "unit": appeal.lead_unit.name if appeal.lead_unit else "",
            "town": appeal.town.name if appeal.town else "",
            "due": due if appeal.state in _IN_HAND_STATES else None,
            "due_label": "签收" if appeal.state == State.dispatched.value else "办结",
            "is_overdue": appeal.is_overdue, "is_supervised": appeal.is_supervised,
            "citizen": appeal.citizen_name, "is_anonymous": appeal.is_anonymous,
            "phone": appeal.citizen_phone if full else mask_phone(appeal.citizen_phone)}


# ---------------------------------------------------------------- one appeal and its actions

ACTION_LABELS = {
    "accept": "受理", "reject": "不予受理", "triage": "研判", "dispatch": "分流派单", "acknowledge": "签收",
    "return": "退单", "rule": "审定（重新派单）", "request_extension": "申请延期", "approve_extension": "同意延期",
    "refuse_extension": "不同意延期", "remind": "催办", "supervise": "督办", "contribute": "协办反馈",
    "resolve": "办结答复", "follow_up": "回访", "reopen": "重办", "archive": "归档", "merge": "合并到主件",
    "note": "添加备注", "create": "登记", "attach": "上传照片", "overdue": "超期", "support": "市民附议",
}
# What each action's form sends; the service is the judge of every value.
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "accept": ("category", "appeal_kind", "comment"), "reject": ("reason",),
    "triage": ("in_scope", "matter", "urgency", "appeal_kind", "complex", "reasons", "factors"),
    "dispatch": ("unit", "matter", "coordinator", "comment"), "acknowledge": ("comment",),
    "return": ("reason", "basis", "suggested_unit"), "rule": ("unit", "matter", "reason"),
    "request_extension": ("working_days", "reason"), "approve_extension": ("comment",),
    "refuse_extension": ("reason",), "remind": ("comment",), "supervise": ("reason",), "contribute": ("text",),
    "resolve": ("reply", "without_assistants"), "follow_up": ("solved", "satisfaction", "comment"),
    "reopen": ("reason",), "archive": ("reason",), "merge": ("into",), "note": ("comment",),
}
REPLY_TEMPLATES = (
    ("已解决", "您好，您反映的问题我单位已于近日安排人员现场核查处理，现已解决。感谢您对我们工作的监督和支持。"),
    ("已安排处理", "您好，经核实，您反映的情况属实，我单位已制定整改方案并安排专人负责，预计于____前完成，"
                 "届时将再次与您联系。"),
    ("政策解释", "您好，关于您咨询的问题，根据《____》第__条规定，____。如有疑问，可拨打____咨询。"),
    ("不属实", "您好，经我单位工作人员现场核查，未发现您反映的情况。如问题仍然存在，请再次与我们联系并提供具体位置。"),
    ("已协调", "您好，您反映的问题涉及多个部门，我单位已会同____共同研究处理，处理结果如下：____。"),
)
ACTION_ORDER = ("accept", "dispatch", "triage", "rule", "acknowledge", "resolve", "contribute", "follow_up",
                "approve_extension", "refuse_extension", "request_extension", "supervise", "remind", "return",
                "reopen", "archive", "reject", "merge", "note")
TRIAGE_FACTORS = ("涉及多个部门", "群体性诉求", "重复投诉", "涉及安全隐患", "历史遗留问题", "舆情风险")


def _payload(action: str, data: Any) -> dict[str, Any]:
    """The service payload for ``action`` from a submitted form (strings in, typed values out)."""
    form = Form.read(data, ACTION_FIELDS[action])
    v = form.values
    payload: dict[str, Any] = {"action": action}
    for name, value in v.items():
        if value:
            payload[name] = value
    if action in ("dispatch", "rule"):
        payload["assisting_units"] = [u for u in data.getlist("assisting_units") if isinstance(u, str) and u][:20]
    if action == "triage":
        payload["in_scope"] = v["in_scope"] != "no"
        payload["complex"] = bool(v["complex"])
        payload["factors"] = [f for f in data.getlist("factors") if isinstance(f, str) and f][:10]
    if action == "request_extension":
        days = v["working_days"]
        payload["working_days"] = int(days) if days.isdigit() and len(days) <= 3 else days
    if action == "resolve":
        payload["without_assistants"] = bool(v["without_assistants"])
    if action == "follow_up":
        payload["solved"] = {"yes": True, "no": False}.get(v["solved"])
    return payload


def _detail_page(request: Request, session: Any, actor: Actor, appeal: Any, *, status_code: int = 200,
                 failed: str = "", form: Form | None = None, done: str = "") -> Response:
    events = list(service.events_of(session, appeal))
    full = service.shows_full_phone(actor, appeal)
    # The step that moves the appeal forward first; refusals, merges and notes after it.
    allowed = sorted(service.allowed_actions(session, actor, appeal), key=lambda a: ACTION_ORDER.index(a))
    routing = bool({"dispatch", "rule", "triage"} & set(allowed))
    suggestions = service.suggest_routing(session, appeal) if routing else []
    from sudi.directory.service import list_matters

    options = _territory_options(session) if routing or {"accept", "return"} & set(allowed) else {}
    forms: dict[str, Form] = {name: Form() for name in allowed}
    top = suggestions[0] if suggestions else None
    if "dispatch" in forms and top:
        forms["dispatch"].values.update({"unit": top["unit"], "matter": top["matter"]})
    if "rule" in forms and top:
        forms["rule"].values.update({"unit": top["unit"], "matter": top["matter"]})
    if failed and form is not None:
        forms[failed] = form
    assisting_default = top["assisting_units"] if top else []
    coordinators = []
    if "dispatch" in allowed and appeal.appeal_kind == "development":
        from sudi.directory.service import find_users

        coordinators = [u for u in find_users(session, role=Role.dispatcher) if u.is_active]
    missing = [a.unit.name for a in appeal.assisting if not a.contribution]
    context: dict[str, Any] = dict(
        appeal=appeal, full_phone=full, title=appeal.title if full else mask_text(appeal.title),
        content=appeal.content if full else mask_text(appeal.content),
        personal_data=[PERSONAL_DATA_LABELS[k] for k in personal_data_kinds(f"{appeal.title}\n{appeal.content}")],
        phone=appeal.citizen_phone if full else mask_phone(appeal.citizen_phone),
        events=events, loop=service.closed_loop(events), followers=service.followers_of(session, appeal),
        allowed=allowed, forms=forms, failed=failed, done=done, suggestions=suggestions,
        assisting_default=assisting_default if not failed else [], action_labels=ACTION_LABELS,
        matters=list(list_matters(session)) if routing or "return" in allowed else [],
        reply_templates=REPLY_TEMPLATES, triage_factors=TRIAGE_FACTORS, missing_assistants=missing,
        coordinators=coordinators, kinds=KIND_LABELS, urgencies=URGENCY_LABELS,
        satisfaction_choices=SATISFACTION_CHOICES, calendar=policy.work_calendar(session),
        units=[], unit_groups={}, towns=[], grids=[], categories=[])
    context.update(options)
    context["smart"] = (smart_dispatch.suggest(session, appeal, routing=suggestions if routing else None)
                        if routing or "accept" in allowed else None)
    context["unit_names"] = {u.code: u.name for u in context["units"]}
    return render(request, "staff/appeal.html", status_code=status_code, ctx=context, **context)


@staff_router.get("/staff/appeals/{number}")
def staff_appeal(request: Request, number: str, session: SessionDep,
                 actor: Annotated[Actor, Depends(require_roles(*WORKBENCH_ROLES))], done: str = "") -> Response:
    appeal = service.access_appeal(session, actor, number)
    return _detail_page(request, session, actor, appeal, done=done if done in ACTION_LABELS else "")


@staff_router.post("/staff/appeals/{number}/actions/{action}")
async def staff_action(request: Request, number: str, action: str, session: SessionDep,
                       actor: Annotated[Actor, Depends(require_roles(*WORKBENCH_ROLES))]) -> Response:
    """One workflow action from its form: 303 back to the appeal, or the page again with the
    service's Chinese refusal next to the form (status as the refusal says)."""
    appeal = service.access_appeal(session, actor, number)
    if action not in ACTION_FIELDS:
        raise NotFound("没有该操作", f"no action {action!r}")
    data = await request.form(max_files=0, max_fields=100)
    form = Form.read(data, ACTION_FIELDS[action])
    try:
        service.perform_action(session, actor, appeal.number, _payload(action, data))
    except SudiError as exc:
        session.rollback()
        form.service_error(exc)
        appeal = service.access_appeal(session, actor, number)
        return _detail_page(request, session, actor, appeal, status_code=exc.status, failed=action, form=form)
    if action in ("dispatch", "rule"):  # a unit other than the suggested one is a correction: a training label
        smart_dispatch.note_dispatch(session, actor, appeal.number)
    return RedirectResponse(f"/staff/appeals/{appeal.number}?done={action}#result", status_code=303)


# ---------------------------------------------------------------- intake agent (电话受理)

INTAKE_PAGE_ROLES = tuple(sorted(service.INTAKE_ROLES))
INTAKE_FIELDS = ("idempotency_key", "citizen_phone", "citizen_name", "title", "content", "appeal_type", "urgency",
                 "appeal_kind", "address", "channel")
INTAKE_CHANNELS = (("hotline", "12345热线"), ("visit", "来访"), ("letter", "来信"))
_DIGITS_RE = re.compile(r"\D")


def _intake_page(request: Request, form: Form, *, status_code: int = 200) -> Response:
    return render(request, "staff/intake.html", status_code=status_code, form=form,
                  types=list(APPEAL_TYPE_LABELS.items()), urgencies=list(URGENCY_LABELS.items()),
                  kinds=list(KIND_LABELS.items()), channels=INTAKE_CHANNELS, max_title=service.MAX_TITLE)


@staff_router.get("/staff/intake")
def intake_form(request: Request, actor: Annotated[Actor, Depends(require_roles(*INTAKE_PAGE_ROLES))]) -> Response:
    return _intake_page(request, Form(values={"idempotency_key": new_form_key(), "appeal_type": "complaint",
                                              "urgency": "normal", "appeal_kind": "livelihood",
                                              "channel": "hotline"}))


@staff_router.post("/staff/intake")
async def intake_submit(request: Request, session: SessionDep,
                        actor: Annotated[Actor, Depends(require_roles(*INTAKE_PAGE_ROLES))]) -> Response:
    form = Form.read(await request.form(max_files=0, max_fields=50), INTAKE_FIELDS)
    v = form.values
    if not _KEY_RE.match(v["idempotency_key"]):
        v["idempotency_key"] = new_form_key()
    if not v["title"]:
        form.error("title", "请填写标题")
    if not v["content"]:
        form.error("content", "请填写诉求内容")
    if v["channel"] not in dict(INTAKE_CHANNELS):
        v["channel"] = "hotline"
    if form.ok:
        draft = service.AppealDraft(
            title=v["title"], content=v["content"], channel=v["channel"], appeal_type=v["appeal_type"] or None,
            urgency=v["urgency"] or None, appeal_kind=v["appeal_kind"] or None, address=v["address"],
            citizen_name=v["citizen_name"], citizen_phone=v["citizen_phone"],
            is_anonymous=not (v["citizen_name"] or v["citizen_phone"]), idempotency_key=v["idempotency_key"])
        try:
            intake = service.create_appeal(session, actor, draft)
        except Conflict as exc:
            v["idempotency_key"] = new_form_key()
            form.error(GENERAL, exc.message_zh + "，请核对内容后再次提交")
        except SudiError as exc:
            form.service_error(exc)
        else:
            return render(request, "staff/intake_done.html", number=intake.number,
                          query_code=intake.query_code, repeated=not intake.created)
    return _intake_page(request, form, status_code=422)


@staff_router.get("/staff/intake/history")
def caller_history(request: Request, session: SessionDep,
                   actor: Annotated[Actor, Depends(require_roles(*INTAKE_PAGE_ROLES))],
                   citizen_phone: str = "") -> Response:
    """HTMX panel beside the intake form: the caller's earlier appeals, once the number is complete."""
    phone = _DIGITS_RE.sub("", citizen_phone[:32].removeprefix("+86"))
    items: list[Any] = []
    total = 0
    if len(phone) == 11:
        found, total = service.list_appeals(session, actor, service.AppealFilter(citizen_phone=phone),
                                            page=1, page_size=10)
        items = [_row(actor, appeal) for appeal in found]
    return render(request, "staff/_caller_history.html", phone=phone if len(phone) == 11 else "", items=items,
                  total=total, calendar=policy.work_calendar(session))


# ---------------------------------------------------------------- grid worker (巡查上报)

PATROL_FIELDS = ("idempotency_key", "title", "content", "address", "lat", "lon")
_MARKER_LIMIT = 500


def _patrol_page(request: Request, session: Any, actor: Actor, settings: Any, form: Form, *,
                 status_code: int = 200) -> Response:
    from sudi.appeals.models import OPEN_STATES

    found, total = service.list_appeals(session, actor, service.AppealFilter(states=[s.value for s in OPEN_STATES]),
                                        page=1, page_size=20)
    return render(request, "staff/patrol.html", status_code=status_code, form=form,
                  items=[_row(actor, a) for a in found], total=total, max_title=service.MAX_TITLE,
                  max_photos=settings.max_attachments_per_appeal, calendar=policy.work_calendar(session))


@staff_router.get("/staff/patrol")
def patrol_form(request: Request, session: SessionDep, settings: SettingsDep,
                actor: Annotated[Actor, Depends(require_roles(Role.grid_worker))]) -> Response:
    return _patrol_page(request, session, actor, settings, Form(values={"idempotency_key": new_form_key()}))


@staff_router.post("/staff/patrol")
async def patrol_submit(request: Request, session: SessionDep, settings: SettingsDep,
                        actor: Annotated[Actor, Depends(require_roles(Role.grid_worker))]) -> Response:
    data = await request.form(max_files=20, max_fields=50)
    form = Form.read(data, PATROL_FIELDS)
    v = form.values
    if not _KEY_RE.match(v["idempotency_key"]):
        v["idempotency_key"] = new_form_key()
    if not v["title"]:
        form.error("title", "请填写标题")
    if not v["content"]:
        form.error("content", "请填写发现的问题")
    lat, lon = _form_point(form, v)
    photos = await _read_photos(list(data.getlist("photos")), settings, form)
    if form.ok:
        draft = service.AppealDraft(title=v["title"], content=v["content"], channel="grid_patrol",
                                    address=v["address"], lat=lat, lon=lon, is_anonymous=True,
                                    idempotency_key=v["idempotency_key"])
        try:
            intake = service.create_appeal(session, actor, draft)
        except Conflict as exc:
            v["idempotency_key"] = new_form_key()
            form.error(GENERAL, exc.message_zh + "，请核对内容后再次提交")
        except SudiError as exc:
            form.service_error(exc, {"lat": "location", "lon": "location"})
        else:
            if intake.created:
                for filename, content in photos:
                    service.add_attachment(session, actor, intake.appeal, filename=filename, data=content,
                                           media_dir=settings.media_dir, max_bytes=settings.max_upload_bytes,
                                           max_count=settings.max_attachments_per_appeal)
            return RedirectResponse(f"/staff/appeals/{intake.number}?done=create#result", status_code=303)
    if photos and not form.errors.get("photos"):
        form.error("photos", "出于安全原因，浏览器不会保留已选的照片，请重新选择")
    return _patrol_page(request, session, actor, settings, form, status_code=422)


@staff_router.get("/staff/patrol/appeals.json")
def patrol_markers(session: SessionDep,
                   actor: Annotated[Actor, Depends(require_roles(Role.grid_worker))]) -> Response:
    """The map's markers: the open appeals this grid worker may see (their grid, their reports)
    that have a point; number, masked title, state, lat, lon, nothing else."""
    from fastapi.responses import JSONResponse

    from sudi.appeals.models import OPEN_STATES, STATE_LABELS

    found, _ = service.list_appeals(session, actor, service.AppealFilter(states=[s.value for s in OPEN_STATES]),
                                    page=1, page_size=_MARKER_LIMIT)
    items = [{"number": a.number, "title": mask_text(a.title), "state": a.state,
              "state_label": STATE_LABELS.get(a.state, a.state), "lat": a.lat, "lon": a.lon}  # type: ignore[call-overload]
             for a in found if a.lat is not None and a.lon is not None]
    return JSONResponse({"items": items}, headers={"Cache-Control": "no-store"})


from sudi.appeals.reply_review_views import router as reply_review_router  # noqa: E402  (reply quality)
from sudi.appeals.smart_dispatch_views import router as smart_dispatch_router  # noqa: E402  (its pages)

staff_router.include_router(smart_dispatch_router)
staff_router.include_router(reply_review_router)
