"""Web face of smart dispatch (智能派单): the dispatcher's one-click accept or correct, and the admin's
model page (/staff/admin/models: status, held-out quality, precision-at-threshold curves, the
auto-dispatch thresholds, the urgency keyword rules and "retrain from the archive").

Included into ``appeals.views.staff_router``; the suggestion panels themselves are rendered by the
appeal page and the dispatch queue (templates ``staff/_smart_dispatch.html`` and ``admin/models.html``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from sudi.appeals import smart_dispatch
from sudi.core.errors import SudiError
from sudi.deps import SessionDep, SettingsDep
from sudi.directory.models import Role
from sudi.directory.service import Actor
from sudi.web.forms import GENERAL, Form
from sudi.web.security import require_roles
from sudi.web.templating import render

router = APIRouter(include_in_schema=False)
AdminDep = Annotated[Actor, Depends(require_roles(Role.admin))]
DispatcherDep = Annotated[Actor, Depends(require_roles(Role.admin, Role.dispatcher))]
SMART_FIELDS = ("unit", "category", "appeal_type", "urgency", "matter", "comment")
DONE = {"trained": "已从档案重新训练。", "threshold": "自动派单阈值已保存。", "urgency": "紧急程度规则已保存。"}


@router.post("/staff/appeals/{number}/smart/dispatch")
async def smart_dispatch_submit(request: Request, number: str, session: SessionDep, actor: DispatcherDep) -> Response:
    """The panel's form: the suggestion as it is (one click) or as the dispatcher corrected it."""
    data = await request.form(max_files=0, max_fields=50)
    form = Form.read(data, SMART_FIELDS)
    v = form.values
    choice = smart_dispatch.DispatchChoice(
        unit=v["unit"], category=v["category"] or None, appeal_type=v["appeal_type"] or None,
        urgency=v["urgency"] or None, matter=v["matter"] or None, comment=v["comment"],
        assisting_units=[u for u in data.getlist("assisting_units") if isinstance(u, str) and u][:20])
    if not choice.unit:
        form.error("unit", "请选择主办单位")
    else:
        try:
            smart_dispatch.dispatch_with_suggestions(session, actor, number, choice)
        except SudiError as exc:
            session.rollback()
            form.service_error(exc)
        else:
            return RedirectResponse(f"/staff/appeals/{number}?done=dispatch#result", status_code=303)
    message = next(iter(form.errors.values()))
    return RedirectResponse(f"/staff/appeals/{number}?smart_error={_short(message)}#smart-h", status_code=303)


def _short(message: str) -> str:
    from urllib.parse import quote

    return quote(message[:200])


# ---------------------------------------------------------------- admin: /staff/admin/models

def _models_page(request: Request, session: Any, *, status_code: int = 200, threshold_form: Form | None = None,
                 urgency_form: Form | None = None, reports: list[Any] | None = None, train_error: str = "") -> Response:
    status = smart_dispatch.model_status(session)
    lead = next((s.active for s in status if s.kind == "lead_unit"), None)
    curves = smart_dispatch.precision_curves(lead.manifest) if lead is not None else []
    thresholds = smart_dispatch.setting(session, smart_dispatch.AUTO_THRESHOLDS_KEY) or {}
    rules = smart_dispatch.urgency_rules(session)
    rule_text = "\n".join(f"{r.get('group', '')}|{'特急' if r.get('urgency') == 'critical' else '紧急'}|"
                          f"{','.join(str(w) for w in r.get('words', []))}" for r in rules)
    done = DONE.get(request.query_params.get("done", ""), "")
    return render(request, "admin/models.html", status_code=status_code, done=done, status=status, curves=curves,
                  thresholds=thresholds, categories=smart_dispatch.first_level_categories(session),
                  threshold_form=threshold_form or Form(values={"category": "", "threshold": ""}),
                  urgency_form=urgency_form or Form(values={"rules": rule_text}), reports=reports or [],
                  train_error=train_error, kind_labels=smart_dispatch.KIND_LABELS,
                  min_precision=float(smart_dispatch.setting(session, smart_dispatch.MIN_PRECISION_KEY)),
                  min_support=int(smart_dispatch.setting(session, smart_dispatch.MIN_SUPPORT_KEY)),
                  urgency_stats=smart_dispatch.setting(session, smart_dispatch.URGENCY_STATS_KEY) or {})


@router.get("/staff/admin/models")
def models_page(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    return _models_page(request, session)


@router.post("/staff/admin/models/train")
async def retrain(request: Request, session: SessionDep, settings: SettingsDep, actor: AdminDep) -> Response:
    """Synchronous: on a district's archive (thousands of appeals) training takes seconds."""
    form = Form.read(await request.form(max_files=0, max_fields=10), ("force",))
    try:
        reports = smart_dispatch.train_from_db(session, actor, model_dir=smart_dispatch.model_dir_for(
            settings.media_dir), force=form.values["force"] == "on")
    except SudiError as exc:
        session.rollback()
        return _models_page(request, session, status_code=exc.status, train_error=exc.message_zh)
    return _models_page(request, session, reports=reports)


@router.post("/staff/admin/models/thresholds")
async def save_threshold(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    form = Form.read(await request.form(max_files=0, max_fields=10), ("category", "threshold"))
    raw = form.values["threshold"]
    threshold: float | None = None
    if raw:
        try:
            threshold = float(raw)
        except ValueError:
            form.error("threshold", "阈值须为 0.5–1 之间的小数，例如 0.9；留空表示关闭")
    if not form.values["category"]:
        form.error("category", "请选择一级分类")
    if form.ok:
        try:
            smart_dispatch.set_auto_threshold(session, actor, form.values["category"], threshold)
        except SudiError as exc:
            session.rollback()
            form.service_error(exc)
        else:
            return RedirectResponse("/staff/admin/models?done=threshold", status_code=303)
    return _models_page(request, session, status_code=422, threshold_form=form)


def parse_rules(text: str, form: Form) -> list[dict[str, Any]]:
    """One rule a line: 名称|紧急或特急|关键词,关键词 … (full-width separators accepted)."""
    rules = []
    for n, line in enumerate(text.replace("｜", "|").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        level = {"紧急": "urgent", "特急": "critical", "urgent": "urgent", "critical": "critical"}.get(
            parts[1] if len(parts) > 1 else "")
        words = [w.strip() for w in (parts[2] if len(parts) > 2 else "").replace("，", ",").replace("、", ",")
                 .split(",") if w.strip()]
        if len(parts) != 3 or not parts[0] or level is None or not words:
            form.error("rules", f"第 {n} 行格式不对，应为：名称|紧急或特急|关键词1,关键词2")
            continue
        rules.append({"group": parts[0][:20], "urgency": level, "words": [w[:20] for w in words][:100]})
    if not rules and "rules" not in form.errors:
        form.error("rules", "至少保留一条规则")
    return rules


@router.post("/staff/admin/models/urgency")
async def save_urgency(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    form = Form.read(await request.form(max_files=0, max_fields=10), ("rules",))
    rules = parse_rules(form.values["rules"], form)
    if form.ok:
        try:
            smart_dispatch.set_urgency_rules(session, actor, rules)
        except SudiError as exc:
            session.rollback()
            form.error(GENERAL, exc.message_zh)
        else:
            return RedirectResponse("/staff/admin/models?done=urgency", status_code=303)
    return _models_page(request, session, status_code=422, urgency_form=form)
