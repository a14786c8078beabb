"""REST face of the case engine under /api/v1: thin routes over sudi.appeals.service."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Header, Path, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import ValidationError

from sudi.appeals import policy, service
from sudi.appeals.models import Attachment
from sudi.appeals.schemas import (
    AppealCreate,
    IntakeOut,
    PublicAppealCreate,
    PublicFollowUp,
    appeal_out,
    public_appeal_out,
)
from sudi.core import clock
from sudi.core.errors import InvalidInput, NotFound
from sudi.deps import ActorDep, SessionDep, SettingsDep
from sudi.directory.service import CITIZEN, channel_actor

router = APIRouter(prefix="/api/v1", tags=["appeals"])
public_router = APIRouter(prefix="/api/v1/public", tags=["public"])


def _date_bound(value: str | None, name: str, *, end: bool) -> datetime | None:
    if not value:
        return None
    try:
        if len(value) == 10 and not "1990-01-01" <= value <= "2199-12-31":
            raise ValueError(value)
        if len(value) == 10:
            day = date.fromisoformat(value) + (timedelta(days=1) if end else timedelta(0))
            return datetime.combine(day, time.min, tzinfo=clock.DISTRICT_TZ)
        moment = datetime.fromisoformat(value)
        if not 1990 <= moment.year <= 2199:
            raise ValueError(value)
    except ValueError:
        raise InvalidInput(f"{name} 日期应为 1990–2199 年间的 YYYY-MM-DD", f"{name} must be an ISO date "
                           "between 1990 and 2199", field=name) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=clock.DISTRICT_TZ)


def appeal_filter(state: list[str] | None = None, unit: str | None = None, grid: str | None = None,
                  town: str | None = None, category: str | None = None, kind: str | None = None,
                  channel: str | None = None, overdue: bool | None = None, supervised: bool | None = None,
                  date_from: str | None = None, date_to: str | None = None, phone: str | None = None,
                  q: str | None = None, sort: str = "-received_at") -> service.AppealFilter:
    states = [s for value in (state or []) for s in value.split(",") if s]
    return service.AppealFilter(states=states, unit=unit, grid=grid, town=town, category=category, kind=kind,
                                channel=channel, overdue=overdue, supervised=supervised,
                                received_from=_date_bound(date_from, "date_from", end=False),
                                received_to=_date_bound(date_to, "date_to", end=True),
                                citizen_phone=phone, text=q, sort=sort)


def _render(session: Any, actor: Any, appeal: Any, *, detail: bool = False) -> dict[str, Any]:
    if not detail:
        return appeal_out(appeal, actor=actor, full_phone=service.shows_full_phone(actor, appeal))
    events = list(service.events_of(session, appeal))
    return appeal_out(
        appeal, actor=actor, full_phone=service.shows_full_phone(actor, appeal),
        allowed_actions=service.allowed_actions(session, actor, appeal), events=events,
        followers=[f.number for f in service.followers_of(session, appeal)],
        loop=service.closed_loop(events))


@router.post("/appeals", status_code=201, summary="登记诉求 / register an appeal")
def create_appeal(body: AppealCreate, session: SessionDep, actor: ActorDep, response: Response,
                  idempotency_key: Annotated[str | None, Header(max_length=128)] = None) -> dict[str, Any]:
    draft = service.AppealDraft(**body.model_dump(), idempotency_key=idempotency_key)
    intake = service.create_appeal(session, actor, draft)
    if not intake.created:
        response.status_code = 200
    appeal = intake.appeal
    out = appeal_out(appeal, actor=actor, full_phone=service.shows_full_phone(actor, appeal), place=intake.place)
    return {**out, "query_code": intake.query_code}


@router.get("/appeals", summary="诉求列表 / list appeals")
def list_appeals(session: SessionDep, actor: ActorDep,
                 state: Annotated[list[str] | None, Query()] = None, unit: str | None = None,
                 grid: str | None = None, town: str | None = None, category: str | None = None,
                 kind: str | None = None, channel: str | None = None, overdue: bool | None = None,
                 supervised: bool | None = None, date_from: str | None = None, date_to: str | None = None,
                 phone: str | None = None, q: str | None = None, sort: str = "-received_at",
                 page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                 page_size: Annotated[int, Query(ge=1, le=500)] = 20) -> dict[str, Any]:
    flt = appeal_filter(state, unit, grid, town, category, kind, channel, overdue, supervised, date_from,
                        date_to, phone, q, sort)
    items, total = service.list_appeals(session, actor, flt, page=page, page_size=page_size)
    return {"items": [_render(session, actor, a) for a in items], "total": total, "page": page,
            "page_size": page_size}


@router.get("/appeals/export.xlsx", summary="导出 Excel / export the filtered list")
def export_appeals(session: SessionDep, actor: ActorDep,
                   state: Annotated[list[str] | None, Query()] = None, unit: str | None = None,
                   grid: str | None = None, town: str | None = None, category: str | None = None,
                   kind: str | None = None, channel: str | None = None, overdue: bool | None = None,
                   supervised: bool | None = None, date_from: str | None = None, date_to: str | None = None,
                   phone: str | None = None, q: str | None = None,
                   sort: str = "-received_at") -> StreamingResponse:
    from sudi.appeals.excel import export_xlsx

    flt = appeal_filter(state, unit, grid, town, category, kind, channel, overdue, supervised, date_from,
                        date_to, phone, q, sort)
    payload = export_xlsx(session, actor, flt)
    filename = f"appeals-{clock.local(clock.now()):%Y%m%d-%H%M}.xlsx"
    return StreamingResponse(iter([payload]), media_type=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/appeals/{number}", summary="诉求详情与办理轨迹 / one appeal with its events")
def get_appeal(number: str, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    appeal = service.access_appeal(session, actor, number)
    return _render(session, actor, appeal, detail=True)


@router.get("/appeals/{number}/suggestions", summary="派单建议 / routing suggested from the duty list")
def routing_suggestions(number: str, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    appeal = service.access_appeal(session, actor, number)
    return {"number": appeal.number, "suggestions": service.suggest_routing(session, appeal)}


@router.get("/appeals/{number}/smart-suggestions", summary="智能派单建议 / category, type, unit, urgency, duplicates")
def smart_suggestions(number: str, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    from dataclasses import asdict

    from sudi.appeals import smart_dispatch
    from sudi.directory.service import CENTRE_ROLES

    appeal = service.access_appeal(session, actor, number)
    out = asdict(smart_dispatch.suggest(session, appeal))
    if actor.role not in CENTRE_ROLES:  # duplicates may be appeals this user may not see
        out["duplicates"] = []
    return {"number": appeal.number, **out}


@router.post("/appeals/{number}/actions", summary="执行办理操作 / perform a workflow action")
def perform_action(number: str, session: SessionDep, actor: ActorDep,
                   body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    appeal = service.perform_action(session, actor, number, body)
    return _render(session, actor, appeal, detail=True)


@router.post("/appeals/{number}/reply-check", summary="答复质量检查 / score a draft reply, or the sent one")
def reply_check(number: str, session: SessionDep, actor: ActorDep,
                reply: Annotated[str | None, Body(embed=True, max_length=20_000)] = None) -> dict[str, Any]:
    from sudi.appeals import reply_review

    return reply_review.check_reply(session, actor, number, reply).as_dict()


@router.post("/appeals/{number}/attachments", status_code=201, summary="上传照片 / attach a photo")
async def upload_attachment(number: str, session: SessionDep, actor: ActorDep, settings: SettingsDep,
                            file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    data = await file.read(settings.max_upload_bytes + 1)
    appeal = service.access_appeal(session, actor, number)
    attachment = service.add_attachment(session, actor, appeal, filename=file.filename or "photo", data=data,
                                        media_dir=settings.media_dir, max_bytes=settings.max_upload_bytes,
                                        max_count=settings.max_attachments_per_appeal)
    return {"id": attachment.id, "filename": attachment.filename, "size": attachment.size,
            "content_type": attachment.content_type}


@router.get("/appeals/{number}/attachments/{attachment_id}", summary="下载照片 / fetch a photo")
def get_attachment(number: str, attachment_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                   session: SessionDep, actor: ActorDep,
                   settings: SettingsDep) -> FileResponse:
    appeal = service.access_appeal(session, actor, number)
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.appeal_id != appeal.id:
        raise NotFound("没有该附件", "no such attachment")
    return FileResponse(settings.media_dir / attachment.stored_path, media_type=attachment.content_type)


@router.get("/calendar/deadline", tags=["policy"], summary="计算办理期限 / what the deadline engine computes")
def calendar_deadline(session: SessionDep, start: str,
                      working_days: Annotated[int | None, Query(ge=1, le=3650)] = None,
                      hours: Annotated[float | None, Query(gt=0, le=87_600)] = None) -> dict[str, Any]:
    try:
        moment = datetime.fromisoformat(start)
    except ValueError:
        raise InvalidInput("start 须为 ISO 8601 时间", "start must be an ISO 8601 datetime", field="start") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.DISTRICT_TZ)
    if (working_days is None) == (hours is None):
        raise InvalidInput("须且只能给出 working_days 或 hours 之一", "give exactly one of working_days or hours")
    if not 1990 <= moment.year <= 2199:
        raise InvalidInput("start 须在 1990–2199 年之间", "start must lie between 1990 and 2199", field="start")
    calendar = policy.work_calendar(session)
    deadline = (calendar.add_working_days(moment, working_days) if working_days is not None
                else calendar.add_hours(moment, float(hours or 0)))
    body: dict[str, Any] = {"start": clock.local(moment).isoformat(), "due": clock.local(deadline.due).isoformat(),
                            "working_days": working_days, "hours": hours, "fallback": deadline.fallback,
                            "fallback_years": list(deadline.fallback_years)}
    if deadline.fallback:
        body["warning"] = ("所涉年份缺少法定节假日数据，仅按周末计算；请管理员补充节假日表"
                           " / holidays unknown for these years: weekends only")
    return body


# ---------------------------------------------------------------- citizens (一网通办)

@public_router.post("/appeals", status_code=201, response_model=IntakeOut,
                    summary="市民提交诉求 / a citizen submits an appeal")
def public_submit(body: PublicAppealCreate, session: SessionDep, response: Response,
                  idempotency_key: Annotated[str | None, Header(max_length=128)] = None) -> IntakeOut:
    draft = service.AppealDraft(**body.model_dump(), channel="web", idempotency_key=idempotency_key)
    intake = service.create_appeal(session, CITIZEN, draft)
    if not intake.created:
        response.status_code = 200
    return IntakeOut(number=intake.number, query_code=intake.query_code, state=intake.state,
                     created=intake.created)


@public_router.get("/appeals/{number}", summary="市民查询诉求 / a citizen follows an appeal")
def public_status(number: str, session: SessionDep,
                  query_code: Annotated[str, Query(max_length=32)] = "") -> dict[str, Any]:
    appeal = service.access_public_appeal(session, number, query_code)
    return public_appeal_out(appeal, list(service.events_of(session, appeal)))


@public_router.post("/appeals/{number}/follow-up", summary="市民评价 / a citizen rates the reply")
def public_follow_up(number: str, body: PublicFollowUp, session: SessionDep) -> dict[str, Any]:
    appeal = service.rate_as_citizen(session, number, body.query_code, solved=body.solved,
                                     satisfaction=body.satisfaction, comment=body.comment)
    return public_appeal_out(appeal, list(service.events_of(session, appeal)))


# ---------------------------------------------------------------- channel adapters (一网通办)

@router.post("/channels/wechat/appeals", status_code=201, tags=["channels"],
             summary="微信公众号接入 / intake from a WeChat official-account adapter")
def wechat_intake(request: Request, session: SessionDep, response: Response,
                  body: Annotated[dict[str, Any], Body()],
                  x_api_key: Annotated[str | None, Header(max_length=128)] = None) -> dict[str, Any]:
    from sudi.directory.service import api_key_for

    key = api_key_for(session, x_api_key or request.query_params.get("api_key"))
    openid = body.pop("openid", None)
    message_id = body.pop("msg_id", None)
    if not isinstance(openid, str) or not 1 <= len(openid) <= 128:
        raise InvalidInput("缺少发送者 openid", "openid (the sender's WeChat openid) is required", field="openid")
    try:
        parsed = PublicAppealCreate.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise InvalidInput(f"参数 {where} 无效：{first.get('msg', '')}", f"{where}: {first.get('msg', '')}",
                           field=where) from None
    draft = service.AppealDraft(**parsed.model_dump(), channel="wechat", citizen_key="wechat:" + openid,
                                external_ref=f"wechat:{message_id}" if message_id else None)
    intake = service.create_appeal(session, channel_actor(key.name), draft)
    if not intake.created:
        response.status_code = 200
    return {"number": intake.number, "query_code": intake.query_code, "state": intake.state,
            "created": intake.created}
