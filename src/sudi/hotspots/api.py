"""REST face of hotspots under /api/v1/hotspots: the board, 主动治理 tasks, 每月一题, parameters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from sudi.core import clock
from sudi.core.errors import Forbidden
from sudi.deps import ActorDep, RowId, SessionDep
from sudi.directory.models import Role
from sudi.hotspots import service
from sudi.hotspots.schemas import (
    GovernanceCancelIn,
    GovernanceCompleteIn,
    GovernanceTaskIn,
    GovernanceTaskOut,
    HotspotDetailOut,
    HotspotOut,
    MemberOut,
    MonthlyThemeIn,
    MonthlyThemeOut,
    hotspot_out,
    task_out,
    theme_out,
)

router = APIRouter(prefix="/api/v1/hotspots", tags=["hotspots"])


@router.get("", summary="热点排行 / hotspots ranked by heat", response_model=list[HotspotOut])
def list_hotspots(session: SessionDep, actor: ActorDep, top: Annotated[int, Query(ge=1, le=200)] = 30,
                  q: Annotated[str | None, Query(max_length=50)] = None) -> list[HotspotOut]:
    return [hotspot_out(row, rank) for rank, row in enumerate(service.list_hotspots(session, actor, top=top, q=q), 1)]


@router.get("/governance-tasks", summary="主动治理任务 / governance tasks", response_model=list[GovernanceTaskOut])
def list_tasks(session: SessionDep, actor: ActorDep,
               state: Annotated[str | None, Query(max_length=16)] = None) -> list[GovernanceTaskOut]:
    now = clock.now()
    return [task_out(t, now) for t in service.list_governance_tasks(session, actor, state=state)]


@router.post("/governance-tasks/{task_id}/complete", summary="办结主动治理任务 / the unit completes its task",
             response_model=GovernanceTaskOut)
def complete_task(task_id: RowId, body: GovernanceCompleteIn, session: SessionDep,
                  actor: ActorDep) -> GovernanceTaskOut:
    return task_out(service.complete_governance_task(session, actor, task_id, result=body.result), clock.now())


@router.post("/governance-tasks/{task_id}/cancel", summary="撤销主动治理任务 / cancel a task",
             response_model=GovernanceTaskOut)
def cancel_task(task_id: RowId, body: GovernanceCancelIn, session: SessionDep, actor: ActorDep) -> GovernanceTaskOut:
    return task_out(service.cancel_governance_task(session, actor, task_id, reason=body.reason), clock.now())


@router.get("/monthly-themes", summary="每月一题 / the monthly themes", response_model=list[MonthlyThemeOut])
def list_themes(session: SessionDep, actor: ActorDep) -> list[MonthlyThemeOut]:
    if actor.role not in service.VIEW_ROLES:
        raise Forbidden("您的角色无权查看每月一题", "your role may not view monthly themes")
    return [theme_out(t) for t in service.monthly_themes(session)]


@router.get("/params", summary="热点参数与重算计划 / the method's parameters and the schedule (admin)")
def get_params(session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    if actor.role != Role.admin:
        raise Forbidden("只有管理员可以查看热点参数", "only an admin may view hotspot parameters")
    return service.hotspot_settings(session)


@router.put("/params", summary="修改热点参数 / change the parameters or the schedule (admin)")
def put_params(session: SessionDep, actor: ActorDep, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    service.set_hotspot_params(session, actor, body)
    return service.hotspot_settings(session)


@router.get("/refresh", summary="全量重算状态 / the full recompute's state (admin)")
def refresh_status(session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    if actor.role != Role.admin:
        raise Forbidden("只有管理员可以查看热点重算", "only an admin may view the hotspot recompute")
    return service.recompute_status(session)


@router.post("/refresh", status_code=202,
             summary="请求全量重算 / ask for a full recompute, run by the server's job (admin)")
def refresh(session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return service.request_full_recompute(session, actor)


@router.get("/{hotspot_id}", summary="热点详情 / one hotspot with its appeals", response_model=HotspotDetailOut)
def get_hotspot(hotspot_id: RowId, session: SessionDep, actor: ActorDep) -> HotspotDetailOut:
    row = service.access_hotspot(session, actor, hotspot_id)
    members = service.hotspot_members(session, row)
    base = hotspot_out(row).model_dump()
    return HotspotDetailOut(**base, members=[MemberOut(number=m.number, title=m.title, received_at=m.received_at,
                                                       state=m.state) for m in members],
                            timeline=service.timeline(session, [row.id]).get(row.id, []))


@router.post("/{hotspot_id}/governance-tasks", status_code=201, summary="转为主动治理任务 / hand to a unit",
             response_model=GovernanceTaskOut)
def create_task(hotspot_id: RowId, body: GovernanceTaskIn, session: SessionDep, actor: ActorDep) -> GovernanceTaskOut:
    task = service.create_governance_task(session, actor, hotspot_id, unit=body.unit, deadline=body.deadline,
                                          instructions=body.instructions, title=body.title)
    return task_out(task, clock.now())


@router.post("/{hotspot_id}/monthly-theme", summary="设为每月一题 / choose as the month's theme",
             response_model=MonthlyThemeOut)
def choose_theme(hotspot_id: RowId, body: MonthlyThemeIn, session: SessionDep, actor: ActorDep) -> MonthlyThemeOut:
    return theme_out(service.choose_monthly_theme(session, actor, hotspot_id, month=body.month, note=body.note))
