"""Web face of the case engine: the citizens' portal (一网通办) and the staff landing page.

Citizens need no account. They submit an appeal and get its number and query code once; with
both they follow it and rate the reply. The query code never travels in a URL: ``POST /track``
checks it and keeps it in a cookie scoped to that appeal's page.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from sudi.appeals import policy, service
from sudi.appeals.models import APPEAL_TYPE_LABELS, KIND_LABELS, AppealType, Satisfaction
from sudi.appeals.schemas import public_appeal_out
from sudi.core.errors import Conflict, InvalidInput, NotFound, SudiError
from sudi.deps import SessionDep, SettingsDep
from sudi.directory.geo import locate_point, territory_geojson
from sudi.directory.service import CITIZEN
from sudi.intelligence.pii import mask_text
from sudi.web.forms import GENERAL, Form, new_form_key
from sudi.web.navigation import queues_for
from sudi.web.security import StaffDep
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
    lat = lon = None
    if v["lat"] or v["lon"]:
        lat, lon = _float(v["lat"]), _float(v["lon"])
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            form.error("location", "地图位置无效，请重新选择")
            lat = lon = None
        elif locate_point(session, lat, lon) is None and territory_geojson(session)["features"]:
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
            return render(request, "portal/submitted.html", number=intake.appeal.number,
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
    pages = max(1, math.ceil(total / page_size))
    return render(request, "portal/resolved.html", cases=cases, total=total, page=number, pages=pages,
                  type_labels=APPEAL_TYPE_LABELS)


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
