"""Web face of reply quality (答复意见评价): the "检查答复质量" panel in the resolve form and beside a
sent reply (HTMX), and the admin page with the weights and the per-unit figures
(/staff/admin/reply-quality).

Included into ``appeals.views.staff_router``; templates ``staff/_reply_check.html`` and
``admin/reply_quality.html``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from sudi.appeals import reply_review
from sudi.core import clock
from sudi.core.errors import SudiError
from sudi.deps import SessionDep
from sudi.directory.models import Role
from sudi.directory.service import Actor, list_units
from sudi.intelligence.reply_quality import DIMENSION_LABELS, DIMENSIONS
from sudi.web.forms import Form
from sudi.web.security import StaffDep, require_roles
from sudi.web.templating import render

router = APIRouter(include_in_schema=False)
AdminDep = Annotated[Actor, Depends(require_roles(Role.admin))]
POLICY_FIELDS = (*(f"w_{name}" for name in DIMENSIONS), "pass_score", "relevance_floor", "expected_days")
WEAK_LABELS = {"other_object": "答非所问（其他对象）", "low_relevance": "关联度低", "place_missing": "未提及地点/对象",
               "no_substance": "无实质内容", "empty_phrases": "套话", "vague_promise": "承诺无时限",
               "no_referral": "未告知应向何处反映", "too_long": "过长", "personal_data": "含个人信息",
               "missing_facts": "缺核查情况", "missing_action": "缺处理措施", "missing_result": "缺办理结果",
               "missing_basis": "缺办理依据", "missing_contact": "缺联系方式", "late": "超期答复"}


@router.post("/staff/appeals/{number}/reply-check")
async def reply_check(request: Request, number: str, session: SessionDep, actor: StaffDep) -> Response:
    """HTMX panel: the draft in the resolve form (field ``reply``) or, without it, the sent reply."""
    data = await request.form(max_files=0, max_fields=20)
    draft = data.get("reply")
    try:
        result = reply_review.check_reply(session, actor, number, draft if isinstance(draft, str) else None)
    except SudiError as exc:
        if exc.status in (403, 404):
            raise
        return render(request, "staff/_reply_check.html", result=None, message=exc.message_zh, draft=True)
    return render(request, "staff/_reply_check.html", result=result, message="", draft=isinstance(draft, str),
                  dimensions=DIMENSIONS)


def _policy_form(session: Any) -> Form:
    config = reply_review.reply_quality_config(session)
    values = {f"w_{name}": f"{config.weights.get(name, 0) * 100:g}" for name in DIMENSIONS}
    values.update(pass_score=f"{config.pass_score:g}", relevance_floor=f"{config.relevance_floor:g}",
                  expected_days=f"{config.expected_days:g}")
    return Form(values=values)


def _period(start: str, end: str) -> tuple[date, date]:
    today = clock.local(clock.now()).date()
    try:
        first = date.fromisoformat(start) if start else today - timedelta(days=29)
        last = date.fromisoformat(end) if end else today
    except ValueError:
        first, last = today - timedelta(days=29), today
    if last < first or (last - first).days > 3660:
        first, last = today - timedelta(days=29), today
    return first, last


def _admin_page(request: Request, session: Any, form: Form, *, start: str = "", end: str = "", done: str = "",
                status_code: int = 200) -> Response:
    first, last = _period(start, end)
    lower = datetime.combine(first, time.min, tzinfo=clock.DISTRICT_TZ)
    upper = datetime.combine(last + timedelta(days=1), time.min, tzinfo=clock.DISTRICT_TZ)
    figures = reply_review.reply_quality_by_unit(session, lower, upper)
    names = {u.id: u.name for u in list_units(session, include_inactive=True)}
    rows = sorted(({"unit": names.get(unit_id, "（未记录单位）") if unit_id is not None else "（未记录单位）", **f}
                   for unit_id, f in figures.items()), key=lambda r: (-(r["overall"] or 0), r["unit"]))
    return render(request, "admin/reply_quality.html", status_code=status_code, form=form, rows=rows,
                  start=first.isoformat(), end=last.isoformat(), done=done, dimensions=DIMENSIONS,
                  dimension_labels=DIMENSION_LABELS, weak_labels=WEAK_LABELS)


@router.get("/staff/admin/reply-quality")
def reply_quality_page(request: Request, session: SessionDep, actor: AdminDep, start: str = "", end: str = "",
                       done: str = "") -> Response:
    return _admin_page(request, session, _policy_form(session), start=start[:10], end=end[:10],
                       done="答复质量评价规则已保存。" if done == "saved" else "")


@router.post("/staff/admin/reply-quality")
async def save_reply_quality(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    form = Form.read(await request.form(max_files=0, max_fields=30), POLICY_FIELDS)
    numbers: dict[str, float] = {}
    for name in POLICY_FIELDS:
        try:
            numbers[name] = float(form.values[name])
        except ValueError:
            form.error(name, "须为数字")
    if form.ok:
        try:
            reply_review.set_reply_quality_config(
                session, actor, weights={name: numbers[f"w_{name}"] for name in DIMENSIONS},
                pass_score=numbers["pass_score"], relevance_floor=numbers["relevance_floor"],
                expected_days=numbers["expected_days"])
        except SudiError as exc:
            form.service_error(exc, {**{name: f"w_{name}" for name in DIMENSIONS}, "weights": "w_relevance"})
        else:
            return RedirectResponse("/staff/admin/reply-quality?done=saved", status_code=303)
    return _admin_page(request, session, form, status_code=422)
