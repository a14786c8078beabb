"""Web face of the analytics domain: the leader's dashboard, the wall screen (大屏), the warning
queue and the admin's warning settings.

The dashboard and the wall are shells: their panels fetch the JSON of ``/api/v1/analytics/*``
(with the session cookie) and refresh themselves every few seconds (``static/js/dashboard.js``),
so a screen left open stays current without reloading.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from sudi.analytics import service
from sudi.analytics.models import WARNING_KIND_LABELS, WARNING_STATE_LABELS, WarningState
from sudi.core.errors import SudiError
from sudi.deps import SessionDep
from sudi.directory.models import Role
from sudi.directory.service import Actor
from sudi.web.forms import GENERAL, Form
from sudi.web.security import require_roles
from sudi.web.templating import renderer_for

# Templates live in this package (templates/analytics/) over the shared shell.
render = renderer_for("sudi.analytics")

router = APIRouter(include_in_schema=False)

DashboardDep = Annotated[Actor, Depends(require_roles(*service.DASHBOARD_ROLES))]
WarningViewDep = Annotated[Actor, Depends(require_roles(*service.WARNING_VIEW_ROLES))]
AdminDep = Annotated[Actor, Depends(require_roles(Role.admin))]

@router.get("/staff/dashboard")
def dashboard(request: Request, session: SessionDep, actor: DashboardDep) -> Response:
    refresh = service.get_policy(session)["display"]["dashboard_refresh_seconds"]
    return render(request, "analytics/dashboard.html", refresh=refresh, periods=service.PERIODS,
                  period=_period_choice(request))


@router.get("/staff/wall")
def wall(request: Request, session: SessionDep, actor: DashboardDep) -> Response:
    refresh = service.get_policy(session)["display"]["wall_refresh_seconds"]
    return render(request, "analytics/wall.html", refresh=refresh, period=_period_choice(request))


def _period_choice(request: Request) -> str:
    chosen = request.query_params.get("period", "30d")
    return chosen if chosen in (*service.PERIODS, "month", "year") else "30d"


# ---------------------------------------------------------------- the warning queue

@router.get("/staff/warnings")
def warnings_page(request: Request, session: SessionDep, actor: WarningViewDep) -> Response:
    state = request.query_params.get("state", "open")
    kind = request.query_params.get("kind") or None
    if state not in ("open", "new", "acknowledged", "closed", "all"):
        state = "open"
    if kind not in WARNING_KIND_LABELS:
        kind = None
    rows, total = service.list_warnings(session, actor, state=state, kind=kind, limit=200)
    return render(request, "analytics/warnings.html", warnings=rows, total=total, state=state, kind=kind,
                  kinds=WARNING_KIND_LABELS, states=WARNING_STATE_LABELS,
                  can_act=actor.role in service.WARNING_ACT_ROLES)


def _warning_page(request: Request, session: Any, actor: Actor, warning_id: int, form: Form | None = None,
                  status_code: int = 200) -> Response:
    warning = service.access_warning(session, actor, warning_id)
    return render(request, "analytics/warning.html", status_code=status_code, warning=warning,
                  appeals=service.warning_appeals(session, warning), kinds=WARNING_KIND_LABELS,
                  states=WARNING_STATE_LABELS, form=form or Form(values={"note": ""}),
                  can_act=actor.role in service.WARNING_ACT_ROLES and warning.state != WarningState.closed,
                  dimension_labels=service.DIMENSION_LABELS, topic_labels=service.SENSITIVE_GROUP_LABELS)


@router.get("/staff/warnings/{warning_id}")
def warning_page(request: Request, session: SessionDep, actor: WarningViewDep, warning_id: int) -> Response:
    return _warning_page(request, session, actor, warning_id)


@router.post("/staff/warnings/{warning_id}/{action}")
async def warning_action(request: Request, session: SessionDep, actor: WarningViewDep, warning_id: int,
                         action: str) -> Response:
    form = Form.read(await request.form(), ("note",))
    try:
        if action == "acknowledge":
            service.acknowledge_warning(session, actor, warning_id, form.values["note"])
        elif action == "close":
            service.close_warning(session, actor, warning_id, form.values["note"])
        else:
            form.error(GENERAL, "未知操作")
    except SudiError as exc:
        if exc.status in (403, 404):
            raise
        form.service_error(exc)
    if not form.ok:
        return _warning_page(request, session, actor, warning_id, form, status_code=422)
    return RedirectResponse(f"/staff/warnings/{warning_id}", status_code=303)


# ---------------------------------------------------------------- the admin's settings

_SETTINGS_FIELDS = {
    "spike.window_days": "统计窗口（天）", "spike.recent_weeks": "对比近几周（周）",
    "spike.years": "对比往年同期（年）",
    "spike.min_count": "最少件数", "spike.min_ratio": "最低倍数（相对基线）", "spike.min_z": "最低稳健 Z 值",
    "spike.max_p": "泊松尾概率上限", "spike.cooldown_days": "关闭后冷却期（天）",
    "repeat_caller.days": "重复诉求统计天数", "repeat_caller.min_appeals": "重复诉求最少件数",
    "reopened.min_reopens": "重办次数达到", "reopened.days": "重办统计天数（天）",
    "sensitive.first_scan_days": "首次扫描天数",
    "task_overdue.grace_days": "主动治理任务超过期限几天后预警（天，0 为到期即预警）",
    "task_overdue.high_after_days": "超期几天起列为高级别（天）",
    "rollup.recent_days": "每分钟重算最近几天", "rollup.refresh_days": "定期重算最近几天",
    "rollup.refresh_every_minutes": "定期重算间隔（分钟）", "rollup.grid_category_days": "网格×分类保留天数",
    "rollup.full_rebuild_hour": "每日全量重算时刻（0–23 点，-1 为不重算）",
    "jobs.warnings_every_minutes": "预警计算间隔（分钟）",
    "jobs.assessment_every_minutes": "各单位考核数字：有新办理记录时的重算间隔（分钟）",
    "jobs.assessment_max_age_minutes": "各单位考核数字：最长多久必重算（分钟）",
    "display.dashboard_refresh_seconds": "数据看板刷新间隔（秒）", "display.wall_refresh_seconds": "大屏刷新间隔（秒）",
}
_ENABLED = ("spike", "repeat_caller", "sensitive", "reopened", "task_overdue")


def _settings_form(policy: dict[str, Any]) -> Form:
    values: dict[str, Any] = {}
    for name in _SETTINGS_FIELDS:
        section, key = name.split(".")
        values[name] = str(policy[section][key])
    for section in _ENABLED:
        values[f"{section}.enabled"] = "on" if policy[section]["enabled"] else ""
    for group in service.SENSITIVE_GROUP_LABELS:
        values[f"sensitive.{group}"] = "\n".join(policy["sensitive"][group])
    for dim in service.SPIKE_DIMENSIONS:
        values[f"dim.{dim}"] = "on" if dim in policy["spike"]["dimensions"] else ""
    return Form(values=values)


def _settings_page(request: Request, form: Form, *, saved: bool = False, status_code: int = 200) -> Response:
    return render(request, "analytics/settings.html", status_code=status_code, form=form, fields=_SETTINGS_FIELDS,
                  enabled=_ENABLED, kinds=WARNING_KIND_LABELS, groups=service.SENSITIVE_GROUP_LABELS,
                  dimensions=service.SPIKE_DIMENSIONS, dimension_labels=service.DIMENSION_LABELS, saved=saved)


@router.get("/staff/analytics/settings")
def settings_page(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    return _settings_page(request, _settings_form(service.get_policy(session)),
                          saved=request.query_params.get("saved") == "1")


@router.post("/staff/analytics/settings")
async def save_settings(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    data = await request.form()
    names = [*_SETTINGS_FIELDS, *(f"{s}.enabled" for s in _ENABLED),
             *(f"sensitive.{g}" for g in service.SENSITIVE_GROUP_LABELS),
             *(f"dim.{d}" for d in service.SPIKE_DIMENSIONS)]
    form = Form.read(data, names)
    changes: dict[str, dict[str, Any]] = {}
    for name in _SETTINGS_FIELDS:
        section, key = name.split(".")
        if not form.values[name]:
            form.error(name, f"请填写{_SETTINGS_FIELDS[name]}")
        changes.setdefault(section, {})[key] = form.values[name]
    for section in _ENABLED:
        changes.setdefault(section, {})["enabled"] = bool(form.values[f"{section}.enabled"])
    for group in service.SENSITIVE_GROUP_LABELS:
        changes["sensitive"][group] = form.values[f"sensitive.{group}"].split()
    changes["spike"]["dimensions"] = [d for d in service.SPIKE_DIMENSIONS if form.values[f"dim.{d}"]]
    if form.ok:
        try:
            service.update_policy(session, actor, changes)
        except SudiError as exc:
            field = exc.field or ""
            if field == "spike.dimensions":
                field = "dim.grid"
            form.error(field if field in form.values else GENERAL, exc.message_zh)
    if not form.ok:
        return _settings_page(request, form, status_code=422)
    return RedirectResponse("/staff/analytics/settings?saved=1", status_code=303)
