"""One Jinja2 environment for every page, and ``render``: the only way a view answers with HTML.

Autoescaping is always on (an appeal titled ``<script>`` shows as text) and undefined names are
errors, so a template cannot silently print nothing. ``render`` adds what every page needs: the
request, the CSRF token, the signed-in user and their navigation.

Filters (all Chinese, all in the district's time zone):

=================  =============================================================================
``datetime``       aware datetime or ISO string → ``2026-11-26 14:03``
``date``           → ``2026-11-26``
``state_label``    ``acknowledged`` → ``办理中`` (likewise ``type_label``, ``urgency_label``,
                   ``kind_label``, ``channel_label``, ``satisfaction_label``, ``role_label``)
``limit``          a time-limit amount and unit → ``2 小时`` / ``5 个工作日``
``countdown``      a due datetime → ``剩余 3 个工作日`` / ``剩余 5 小时`` / ``已超期 2 个工作日``
                   (working days on the calendar passed to the page as ``calendar``, else the
                   national one)
=================  =============================================================================
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any, Protocol

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, pass_context
from markupsafe import Markup, escape

from sudi.appeals.models import (
    APPEAL_TYPE_LABELS,
    CHANNEL_LABELS,
    KIND_LABELS,
    SATISFACTION_LABELS,
    STATE_LABELS,
    URGENCY_LABELS,
)
from sudi.core import calendar as work_calendar
from sudi.core import clock
from sudi.directory.models import ROLE_LABELS

STATIC_PACKAGE = "sudi.web"


def _as_datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=clock.DISTRICT_TZ)
    return clock.local(value)


def format_datetime(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    moment = _as_datetime(value)
    return moment.strftime(fmt) if moment else ""


def format_date(value: Any) -> str:
    return format_datetime(value, "%Y-%m-%d")


def _labeller(labels: Mapping[Any, str]) -> Any:
    def label(value: Any) -> str:
        if value in (None, ""):
            return ""
        return labels.get(value, str(value))

    return label


def format_limit(amount: float, unit: str) -> str:
    number = int(amount) if float(amount).is_integer() else amount
    return f"{number} 个工作日" if unit == "working_days" else f"{number} 小时"


@pass_context
def countdown(context: Any, due: Any) -> str:
    """Time left until ``due``: hours within a day, otherwise working days."""
    moment = _as_datetime(due)
    if moment is None:
        return ""
    now = clock.now()
    calendar = context.get("calendar")
    left = moment - now
    if abs(left.total_seconds()) < 24 * 3600:
        hours = max(1, math.ceil(abs(left.total_seconds()) / 3600))
        return f"剩余 {hours} 小时" if left.total_seconds() >= 0 else f"已超期 {hours} 小时"
    days = (calendar.working_days_left(moment, now) if calendar is not None
            else work_calendar.working_days_left(moment, now))
    if left.total_seconds() >= 0:
        return f"剩余 {days} 个工作日" if days > 0 else "今日到期"
    return f"已超期 {-days} 个工作日" if days < 0 else "已超期"


@pass_context
def csrf_field(context: Any) -> Markup:
    """The hidden CSRF field; put it first in every form (the middleware reads only the start)."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(escape(context["csrf_token"]))


@cache
def _static_version(path: str) -> str:
    try:
        data = resources.files(STATIC_PACKAGE).joinpath("static", path).read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return "0"
    return hashlib.sha256(data).hexdigest()[:10]


def static_url(path: str) -> str:
    """``/static/<path>?v=<content hash>``: browsers may cache it for as long as it is unchanged."""
    return f"/static/{path}?v={_static_version(path)}"


def _build_environment() -> Environment:
    env = Environment(loader=PackageLoader(STATIC_PACKAGE, "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update({
        "datetime": format_datetime, "date": format_date, "countdown": countdown, "limit": format_limit,
        "state_label": _labeller(STATE_LABELS), "type_label": _labeller(APPEAL_TYPE_LABELS),
        "urgency_label": _labeller(URGENCY_LABELS), "kind_label": _labeller(KIND_LABELS),
        "channel_label": _labeller(CHANNEL_LABELS), "satisfaction_label": _labeller(SATISFACTION_LABELS),
        "role_label": _labeller(ROLE_LABELS),
    })
    env.globals.update({"static": static_url, "csrf_field": csrf_field, "STATE_LABELS": STATE_LABELS,
                        "APPEAL_TYPE_LABELS": APPEAL_TYPE_LABELS, "SATISFACTION_LABELS": SATISFACTION_LABELS})
    return env


env = _build_environment()


def page_context(request: Request) -> dict[str, Any]:
    """What every template may use: ``request``, ``csrf_token``, ``user`` (the signed-in staff
    user or None), ``actor`` and ``nav`` (their navigation), ``path``."""
    from sudi.web.navigation import nav_for

    state = request.state
    actor = getattr(state, "actor", None)
    return {"request": request, "csrf_token": getattr(state, "csrf_token", ""),
            "user": getattr(state, "user", None), "actor": actor,
            "nav": nav_for(actor) if actor is not None else [], "path": request.url.path}


def render(request: Request, template: str, *, status_code: int = 200, headers: Mapping[str, str] | None = None,
           **context: Any) -> HTMLResponse:
    """Render ``template`` with the page context plus ``context``.

    Pages are never stored by caches by default (they carry a CSRF token and often personal
    data); pass ``headers={"Cache-Control": ...}`` to override.
    """
    return _respond(env, request, template, status_code, headers, context)


def _respond(environment: Environment, request: Request, template: str, status_code: int,
             headers: Mapping[str, str] | None, context: dict[str, Any]) -> HTMLResponse:
    html = environment.get_template(template).render({**page_context(request), **context})
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


class Renderer(Protocol):
    def __call__(self, request: Request, template: str, *, status_code: int = 200,
                 headers: Mapping[str, str] | None = None, **context: Any) -> HTMLResponse: ...


def renderer_for(package: str, **filters: Any) -> Renderer:
    """``render`` for a domain that keeps its templates in its own package (``<package>/templates``):
    they extend the shared shell (``staff_base.html``, ``_forms.html``), found behind them."""
    overlay = env.overlay(loader=ChoiceLoader([PackageLoader(package, "templates"), env.loader]))  # type: ignore[list-item]
    overlay.filters = {**env.filters, **filters}

    def render_page(request: Request, template: str, *, status_code: int = 200,
                    headers: Mapping[str, str] | None = None, **context: Any) -> HTMLResponse:
        return _respond(overlay, request, template, status_code, headers, context)

    return render_page

