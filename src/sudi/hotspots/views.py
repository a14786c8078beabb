"""Web face of hotspots: the board (ranked, map, timeline), one hotspot (turn it into a 主动治理 task,
choose it as 每月一题), the governance task list (the unit completes its tasks), and the admin's
parameter form. Templates live in this package (``templates/hotspots/``) over the shared shell."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sudi.core import clock
from sudi.core.errors import SudiError
from sudi.deps import RowId, SessionDep
from sudi.directory.models import Role
from sudi.directory.service import Actor
from sudi.hotspots import service
from sudi.hotspots.models import TASK_STATE_LABELS
from sudi.intelligence.hotspots import HotspotParams
from sudi.web.forms import Form
from sudi.web.security import require_roles
from sudi.web.templating import renderer_for

router = APIRouter(include_in_schema=False)

_render = renderer_for("sudi.hotspots")

BoardDep = Annotated[Actor, Depends(require_roles(*service.VIEW_ROLES))]
TasksDep = Annotated[Actor, Depends(require_roles(*service.VIEW_ROLES, *service.UNIT_ROLES))]
AdminDep = Annotated[Actor, Depends(require_roles(Role.admin))]

PARAM_LABELS = {
    "similarity": "同一地点归并的相似度阈值（0–1）", "similarity_topic": "无共同地点时归并的相似度阈值（0–1）",
    "merge_similarity": "两个簇合并的质心相似度（0–1）", "window_days": "时间窗口（天）",
    "min_size": "成为热点的最少诉求数", "max_candidates": "每个键比较的最近簇数",
    "vector_terms": "每条诉求保留的特征数",
    "centroid_terms": "每个簇保留的特征数", "text_chars": "读取的文本长度（字）", "topic_keys": "主题键个数",
    "cell_degrees": "位置格网大小（度）", "cell_margin": "靠近格网边缘多少（格网的比例，0–0.5）时也查相邻格网",
    "area_by_topic": "网格/位置格只与主题词一起查找候选（1 是，0 否）",
    "repeat_weight": "同一市民重复诉求的权重",
    "support_weight": "点赞/附议权重（取对数）",
    "objection_weight": "反对权重（取对数）", "growth_weight": "增长加成权重", "growth_days": "增长比较周期（天）",
    "half_life_days": "热度半衰期（天）",
}
SCHEDULE_LABELS = {
    "full_recompute_hour": "每晚全量重算的时刻（当地时间 0–23 时；-1 为不自动重算）",
    "rescore_every_minutes": "热度与增长刷新间隔（分钟）",
}



@router.get("/staff/hotspots")
def board(request: Request, session: SessionDep, actor: BoardDep) -> Response:
    q = request.query_params.get("q", "").strip()[:50]
    rows = service.list_hotspots(session, actor, top=30, q=q or None)
    top_ids = [r.id for r in rows[:10]]
    series = service.timeline(session, top_ids[:5])
    chart = {"series": [{"name": f"{i + 1}. {r.title[:18]}", "data": series.get(r.id, [])}
                        for i, r in enumerate(rows[:5])]}
    points = service.map_points(session, top_ids)
    rank_of = {r.id: i + 1 for i, r in enumerate(rows)}
    for p in points:
        p["rank"] = rank_of.get(p["hotspot"], 0)
    themes = service.monthly_themes(session, limit=3)
    return _render(request, "hotspots/board.html", rows=rows, chart=chart, points=points, q=q, themes=themes,
                   model=service.model_status(session), month=service.current_month())


def _detail(request: Request, session: Any, actor: Actor, hotspot_id: int, *, task_form: Form | None = None,
            theme_form: Form | None = None, status_code: int = 200, notice: str = "") -> HTMLResponse:
    row = service.access_hotspot(session, actor, hotspot_id)
    members = service.hotspot_members(session, row)
    points = [{**p, "rank": 1} for p in service.map_points(session, [row.id], per_hotspot=500)]
    chart = {"series": [{"name": row.title[:18], "data": service.timeline(session, [row.id]).get(row.id, [])}]}
    tasks = [t for t in service.list_governance_tasks(session, actor) if t.hotspot_id == row.id]
    return _render(request, "hotspots/detail.html", status_code=status_code, hotspot=row, members=members,
                   points=points, chart=chart, tasks=tasks, units=service.units_for_tasks(session),
                   task_form=task_form or Form(values={"unit": "", "deadline": "", "instructions": ""}),
                   theme_form=theme_form or Form(values={"month": service.current_month(), "note": ""}),
                   can_assign=actor.role in service.ASSIGN_ROLES, can_theme=actor.role in service.THEME_ROLES,
                   notice=notice, state_labels=TASK_STATE_LABELS, now=clock.now())


@router.get("/staff/hotspots/{hotspot_id}")
def detail(hotspot_id: RowId, request: Request, session: SessionDep, actor: BoardDep) -> Response:
    return _detail(request, session, actor, hotspot_id, notice=request.query_params.get("done", "")[:20])


@router.post("/staff/hotspots/{hotspot_id}/task")
async def create_task(hotspot_id: RowId, request: Request, session: SessionDep, actor: BoardDep) -> Response:
    form = Form.read(await request.form(), ("unit", "deadline", "instructions"))
    if not form.values["unit"]:
        form.error("unit", "请选择承办单位")
    if not form.values["deadline"]:
        form.error("deadline", "请填写完成期限")
    if form.ok:
        try:
            service.create_governance_task(session, actor, hotspot_id, unit=form.values["unit"],
                                           deadline=form.values["deadline"], instructions=form.values["instructions"])
            return RedirectResponse(f"/staff/hotspots/{hotspot_id}?done=task", status_code=303)
        except SudiError as exc:
            if exc.status in (403, 404):
                raise
            form.service_error(exc)
    return _detail(request, session, actor, hotspot_id, task_form=form, status_code=422)


@router.post("/staff/hotspots/{hotspot_id}/theme")
async def choose_theme(hotspot_id: RowId, request: Request, session: SessionDep, actor: BoardDep) -> Response:
    form = Form.read(await request.form(), ("month", "note"))
    try:
        service.choose_monthly_theme(session, actor, hotspot_id, month=form.values["month"], note=form.values["note"])
        return RedirectResponse(f"/staff/hotspots/{hotspot_id}?done=theme", status_code=303)
    except SudiError as exc:
        if exc.status in (403, 404):
            raise
        form.service_error(exc)
    return _detail(request, session, actor, hotspot_id, theme_form=form, status_code=422)


@router.get("/staff/governance")
def tasks_page(request: Request, session: SessionDep, actor: TasksDep) -> Response:
    return _tasks(request, session, actor)


def _tasks(request: Request, session: Any, actor: Actor, *, form: Form | None = None, form_task: int | None = None,
           status_code: int = 200) -> HTMLResponse:
    tasks = service.list_governance_tasks(session, actor)
    return _render(request, "hotspots/tasks.html", status_code=status_code, tasks=tasks,
                   state_labels=TASK_STATE_LABELS, now=clock.now(), form=form or Form(values={"result": ""}),
                   form_task=form_task, can_complete=actor.role in service.UNIT_ROLES | {Role.admin},
                   unit_names={u.id: u.name for u in service.units_for_tasks(session)})


@router.post("/staff/governance/{task_id}/complete")
async def complete_task(task_id: RowId, request: Request, session: SessionDep, actor: TasksDep) -> Response:
    form = Form.read(await request.form(), ("result",))
    try:
        service.complete_governance_task(session, actor, task_id, result=form.values["result"])
        return RedirectResponse("/staff/governance", status_code=303)
    except SudiError as exc:
        if exc.status in (403, 404):
            raise
        form.service_error(exc)
    return _tasks(request, session, actor, form=form, form_task=task_id, status_code=422)


def _params_page(request: Request, session: Any, form: Form, *, status_code: int = 200, notice: str = "") -> Response:
    return _render(request, "hotspots/admin_params.html", status_code=status_code, form=form, labels=PARAM_LABELS,
                   schedule_labels=SCHEDULE_LABELS, notice=notice, status=service.recompute_status(session))


@router.get("/staff/admin/hotspots")
def params_page(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    values = {k: str(v) for k, v in service.hotspot_settings(session).items()}
    notice = {"1": "已保存。", "refresh": "已请求全量重算，后台任务即将开始。",
              "params-refresh": "已保存。聚类参数有变，已自动请求全量重算，后台任务即将开始。"}.get(
        request.query_params.get("saved", ""), "")
    return _params_page(request, session, Form(values=values), notice=notice)


@router.post("/staff/admin/hotspots")
async def save_params(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    names = [*HotspotParams().as_dict(), *service.DEFAULT_SCHEDULE]
    form = Form.read(await request.form(), names)
    try:
        before = service.hotspot_params(session)
        after = service.set_hotspot_params(session, actor, {k: v for k, v in form.values.items() if v != ""})
        saved = "params-refresh" if service.clustering_changes(before, after) else "1"
        return RedirectResponse(f"/staff/admin/hotspots?saved={saved}", status_code=303)
    except SudiError as exc:
        if exc.status in (403, 404):
            raise
        form.service_error(exc)
    return _params_page(request, session, form, status_code=422)


@router.post("/staff/admin/hotspots/refresh")
def request_refresh(session: SessionDep, actor: AdminDep) -> Response:
    service.request_full_recompute(session, actor)
    return RedirectResponse("/staff/admin/hotspots?saved=refresh", status_code=303)
