"""Web face of the unit assessment: the ranking page, the drill-down behind each number, and the
admin's policy form (weights, satisfaction levels, adjustments, list sizes).

Templates live in this package (``templates/assessment/``) and extend the shared staff shell, so
the page environment is the shared one with this package's templates in front.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from sudi.assessment import service
from sudi.assessment.schemas import unit_out
from sudi.core.errors import SudiError
from sudi.deps import SessionDep
from sudi.directory.models import Role
from sudi.directory.service import Actor
from sudi.intelligence.pii import mask_text
from sudi.web.forms import Form
from sudi.web.security import require_roles
from sudi.web.templating import renderer_for

router = APIRouter(include_in_schema=False)

ViewerDep = Annotated[Actor, Depends(require_roles(*service.VIEW_ROLES))]
AdminDep = Annotated[Actor, Depends(require_roles(Role.admin))]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


_render = renderer_for("sudi.assessment", pct=_pct)


@router.get("/staff/assessment")
def assessment_page(request: Request, session: SessionDep, actor: ViewerDep) -> Response:
    params = request.query_params
    raw = {k: params.get(k, "").strip()[:32] for k in ("period", "from", "to")}
    error = ""
    try:
        period = service.parse_period(raw["period"] or None, raw["from"] or None, raw["to"] or None)
    except SudiError as exc:
        error = exc.message_zh
        period = service.parse_period()
    result = service.assessment_for(session, actor, period)
    rows = [unit_out(u) for u in result.units]
    chart = {"units": [r.unit_name for r in rows if r.composite is not None],
             "composite": [r.composite for r in rows if r.composite is not None],
             "red": [r.red for r in rows if r.composite is not None],
             "black": [r.black for r in rows if r.composite is not None],
             "ranked": [r.ranked for r in rows if r.composite is not None]}
    return _render(request, "assessment/page.html", status_code=422 if error else 200, result=result,
                   rows=rows, chart=chart, period=period, period_query=service.period_query(period), error=error,
                   raw=raw, months=service.recent_months(13), rate_labels=service.RATE_LABELS,
                   measure_labels=service.MEASURE_LABELS, policy=result.policy,
                   own_unit_only=not result.scope.everything)


@router.get("/staff/assessment/appeals")
def assessment_drill(request: Request, session: SessionDep, actor: ViewerDep) -> Response:
    """The appeals behind one number: the page names the unit, the period and the measure."""
    params = request.query_params
    raw = {k: params.get(k, "").strip()[:32] for k in ("period", "from", "to", "unit", "measure")}
    period = service.parse_period(raw["period"] or None, raw["from"] or None, raw["to"] or None)
    drill = service.appeals_behind(session, actor, period, raw["unit"], raw["measure"])
    shown = [{"number": a.number, "title": mask_text(a.title), "state": a.state, "received_at": a.received_at,
              "is_overdue": a.is_overdue, "is_supervised": a.is_supervised, "satisfaction": a.satisfaction}
             for a in drill.appeals]
    return _render(request, "assessment/appeals.html", items=shown, total=drill.total, rounds=drill.rounds,
                   period=period, period_query=service.period_query(period), unit=drill.unit.code,
                   unit_name=drill.unit.name,
                   measure=raw["measure"], measure_label=service.MEASURE_LABELS[raw["measure"]],
                   limit=service.DRILL_LIMIT)


# ---------------------------------------------------------------- the admin's policy form

POLICY_FIELDS = (*(f"weight_{k}" for k in service.RATE_KEYS), *(f"sat_{k}" for k in service.SATISFACTION_KEYS),
                 *service.POLICY_LABELS)


def _policy_values(policy: dict[str, Any]) -> dict[str, str]:
    values = {f"weight_{k}": f"{policy['weights'][k]:g}" for k in service.RATE_KEYS}
    values |= {f"sat_{k}": f"{policy['satisfaction_weights'][k]:g}" for k in service.SATISFACTION_KEYS}
    values |= {k: f"{policy[k]:g}" for k in service.POLICY_LABELS}
    return values


def _policy_page(request: Request, form: Form, *, status_code: int = 200, done: str = "") -> Response:
    return _render(request, "assessment/admin_policy.html", status_code=status_code, form=form, done=done,
                   rate_labels=service.RATE_LABELS, policy_labels=service.POLICY_LABELS)


@router.get("/staff/admin/assessment")
def policy_form(request: Request, session: SessionDep, actor: AdminDep, saved: str = "") -> Response:
    form = Form(values=_policy_values(service.get_policy(session)))
    return _policy_page(request, form, done="考核规则已保存。" if saved else "")


@router.post("/staff/admin/assessment")
async def policy_save(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    form = Form.read(await request.form(), POLICY_FIELDS)
    v = form.values
    changes: dict[str, Any] = {
        "weights": {k: v[f"weight_{k}"] for k in service.RATE_KEYS},
        "satisfaction_weights": {k: v[f"sat_{k}"] for k in service.SATISFACTION_KEYS},
        **{k: v[k] for k in service.POLICY_LABELS},
    }
    for name, value in v.items():
        if value == "":
            form.error(name, "请填写")
    if form.ok:
        try:
            service.set_policy(session, actor, changes)
        except SudiError as exc:
            form.service_error(exc)
        else:
            return RedirectResponse("/staff/admin/assessment?saved=1", status_code=303)
    return _policy_page(request, form, status_code=422)
