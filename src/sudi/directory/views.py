"""Web face of the directory: staff log-in and log-out, and the admin area (/staff/admin/…)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as StarletteUpload

from sudi.core import clock
from sudi.core.errors import NotAuthenticated, NotFound, SudiError, TooManyRequests
from sudi.core.models import Holiday, get_setting
from sudi.deps import SessionDep, SettingsDep
from sudi.directory import service
from sudi.directory.models import ROLE_LABELS, Grid, Matter, Role, Unit, UnitKind, User
from sudi.directory.service import Actor
from sudi.web.forms import Form
from sudi.web.navigation import home_for
from sudi.web.security import (
    SESSION_COOKIE,
    OptionalStaffDep,
    StaffDep,
    end_session,
    require_roles,
    start_session,
)
from sudi.web.templating import render

router = APIRouter(include_in_schema=False)


def safe_next(value: str | None) -> str | None:
    """A same-site path to return to after signing in, or None (no open redirects)."""
    if not value or len(value) > 500 or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if any(c in value for c in "\r\n\\") or value.startswith(("/login", "/logout")):
        return None
    return value


@router.get("/login")
def login_page(request: Request, actor: OptionalStaffDep, next: str = "", bye: str = "") -> Response:
    if actor is not None:
        return RedirectResponse(safe_next(next) or home_for(actor), status_code=303)
    return render(request, "auth/login.html", form=Form(values={"username": "", "next": safe_next(next) or ""}),
                  signed_out=bool(bye))


@router.post("/login")
async def login(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    form = Form.read(await request.form(), ("username", "password", "next"))
    username, password = form.values["username"], form.values["password"]
    if not username:
        form.error("username", "请输入用户名")
    if not password:
        form.error("password", "请输入密码")
    status = 422
    if form.ok:
        try:
            token, user = service.issue_token(session, username, password,
                                              lifetime_hours=settings.token_lifetime_hours)
        except NotAuthenticated:
            form.error("password", "用户名或密码错误")
            status = 401
        except TooManyRequests as exc:
            form.error("__all__", exc.message_zh)
            status = 429
        else:
            response = RedirectResponse(safe_next(form.values["next"]) or home_for(service.actor_for(user)),
                                        status_code=303)
            start_session(request, response, token, lifetime_hours=settings.token_lifetime_hours)
            return response
    form.values["password"] = ""
    return render(request, "auth/login.html", status_code=status, form=form, signed_out=False)


@router.get("/logout")
def logout_page(request: Request, actor: OptionalStaffDep) -> Response:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "auth/logout.html")


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.revoke_token(session, token)
    response = RedirectResponse("/login?bye=1", status_code=303)
    end_session(request, response)
    return response


# ================================================================ the admin area (/staff/admin/…)
#
# Admins only (``require_roles``: everyone else gets the 403 page). Every page is read with the
# services' list functions and every write calls one service function, which owns its transaction
# and writes the audit row; a refusal comes back next to its field, the values kept.

AdminDep = Annotated[Actor, Depends(require_roles(Role.admin))]
admin = APIRouter(prefix="/staff/admin", include_in_schema=False)

UPLOAD_LIMIT = 10 * 1024 * 1024
DONE = {
    "unit_created": "单位已创建。", "unit_updated": "单位已保存。", "user_created": "用户已创建。",
    "user_updated": "用户已保存。", "password_reset": "密码已重置，该用户需用新密码重新登录。",
    "category_added": "分类已保存。", "category_off": "分类已停用（含其下级分类）。",
    "category_on": "分类已启用。", "policy_saved": "办理时限已保存，此后派单的诉求按新时限计算。",
    "coordinator_saved": "绿色通道协调人已保存。", "holiday_saved": "节假日条目已保存。",
    "holiday_deleted": "节假日条目已删除。", "matter_saved": "权责清单事项已保存。",
    "key_revoked": "API 密钥已停用。", "setting_saved": "设置已保存。", "grids_imported": "网格已导入。",
}
UNIT_KIND_LABELS = {
    UnitKind.district: "区", UnitKind.centre: "诉求办理中心", UnitKind.department: "区直部门",
    UnitKind.company: "公共服务企业", UnitKind.subdistrict: "街道", UnitKind.town: "镇",
    UnitKind.community: "社区", UnitKind.village: "村",
}
LIMIT_UNIT_LABELS = {"hours": "小时", "working_days": "工作日"}
COVERAGE_LABELS = {"library": "已由节假日数据包覆盖", "table": "由本表覆盖", "none": "未覆盖"}
API_CHANNELS = (("app", "App"), ("wechat", "微信公众号"), ("open311", "Open311"), ("sensor", "监测告警"),
                ("hotline", "12345热线"), ("web", "网站"))


def _page(request: Request, template: str, *, status_code: int = 200, **context: Any) -> Response:
    done = request.query_params.get("done", "")
    message = DONE.get(done, "")
    count = request.query_params.get("n", "")
    if done == "grids_imported" and count.isdigit() and len(count) < 7:
        message = f"已导入 {int(count)} 个网格（新增或更新）。"
    return render(request, template, status_code=status_code, done=message,
                  UNIT_KIND_LABELS=UNIT_KIND_LABELS, **context)


def _back(path: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?done={done}", status_code=303)


def _unit_options(session: Session, *, blank: str | None = None) -> list[tuple[str, str]]:
    options = [("", blank)] if blank is not None else []
    for unit in service.list_units(session):
        depth = max(0, unit.path.count("/") - 2)
        options.append((unit.code, "\u3000" * depth + unit.name))
    return options


async def _upload(request: Request, name: str, form: Form, suffixes: tuple[str, ...]) -> bytes | None:
    """The bytes of an uploaded file field, or None with the error recorded next to the field."""
    data = await request.form(max_part_size=UPLOAD_LIMIT)
    upload = data.get(name)
    if not isinstance(upload, StarletteUpload) or not upload.filename:
        form.error(name, "请选择要上传的文件")
        return None
    if not upload.filename.lower().endswith(suffixes):
        form.error(name, "文件类型不对，须为 " + " 或 ".join(suffixes) + " 文件")
        return None
    content = await upload.read(UPLOAD_LIMIT + 1)
    if len(content) > UPLOAD_LIMIT:
        form.error(name, "文件过大（不超过 10 MB）")
        return None
    return content


@admin.get("")
def admin_home(request: Request, actor: AdminDep) -> Response:
    from sudi.web.navigation import nav_for

    items = [item for item in nav_for(actor) if item.group == "admin" and item.key != "admin"]
    return _page(request, "admin/home.html", items=items)


# ---------------------------------------------------------------- units

UNIT_FIELDS = ("code", "name", "kind", "parent_code", "phone")


def _unit_tree(units: Sequence[Unit]) -> list[tuple[Unit, int]]:
    """Units in tree order with their depth (district → departments/towns → communities)."""
    children: dict[int | None, list[Unit]] = {}
    ids = {u.id for u in units}
    for unit in units:
        children.setdefault(unit.parent_id if unit.parent_id in ids else None, []).append(unit)
    out: list[tuple[Unit, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for unit in sorted(children.get(parent, []), key=lambda u: (u.sort_order, u.code)):
            out.append((unit, depth))
            walk(unit.id, depth + 1)

    walk(None, 0)
    return out


def _units_page(request: Request, session: Session, form: Form, status_code: int = 200) -> Response:
    units = service.list_units(session, include_inactive=True)
    return _page(request, "admin/units.html", status_code=status_code, tree=_unit_tree(units), form=form,
                 kinds=list(UNIT_KIND_LABELS.items()), parents=_unit_options(session, blank="（无上级，顶级单位）"))


@admin.get("/units")
def units_page(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    return _units_page(request, session, Form(values={k: "" for k in UNIT_FIELDS} | {"kind": "department"}))


@admin.post("/units")
async def create_unit(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    form = Form.read(await request.form(), UNIT_FIELDS)
    v = form.values
    if not v["code"]:
        form.error("code", "请填写单位编码")
    if not v["name"]:
        form.error("name", "请填写单位名称")
    if v["kind"] not in set(UnitKind):
        form.error("kind", "请选择单位类型")
    if form.ok:
        try:
            service.create_unit(session, actor, code=v["code"], name=v["name"], kind=v["kind"],
                                parent_code=v["parent_code"] or None, phone=v["phone"])
        except SudiError as exc:
            form.service_error(exc, {"unit": "parent_code"})
        else:
            return _back("/staff/admin/units", "unit_created")
    return _units_page(request, session, form, status_code=422)


def _get_unit(session: Session, code: str) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise NotFound(f"没有编码为 {code} 的单位", f"no unit {code!r}")
    return unit


@admin.get("/units/{code}")
def unit_page(request: Request, code: str, session: SessionDep, actor: AdminDep) -> Response:
    unit = _get_unit(session, code)
    form = Form(values={"name": unit.name, "short_name": unit.short_name, "phone": unit.phone,
                        "is_active": "on" if unit.is_active else ""})
    return _page(request, "admin/unit_edit.html", unit=unit, form=form)


@admin.post("/units/{code}")
async def update_unit(request: Request, code: str, session: SessionDep, actor: AdminDep) -> Response:
    unit = _get_unit(session, code)
    form = Form.read(await request.form(), ("name", "short_name", "phone", "is_active"))
    v = form.values
    if not v["name"]:
        form.error("name", "请填写单位名称")
    elif len(v["name"]) > 128:
        form.error("name", "单位名称不超过 128 个字")
    if len(v["phone"]) > 32:
        form.error("phone", "电话不超过 32 个字符")
    if form.ok:
        try:
            service.update_unit(session, actor, code, name=v["name"], short_name=v["short_name"] or v["name"],
                                phone=v["phone"], is_active=bool(v["is_active"]))
        except SudiError as exc:
            form.service_error(exc)
        else:
            return _back("/staff/admin/units", "unit_updated")
    return _page(request, "admin/unit_edit.html", status_code=422, unit=unit, form=form)


# ---------------------------------------------------------------- users and roles

USER_FIELDS = ("username", "full_name", "role", "unit_code", "grid_code", "phone", "password")
ROLE_OPTIONS = [(role.value, label) for role, label in ROLE_LABELS.items()]


def _grid_options(session: Session) -> list[tuple[str, str]]:
    grids = session.scalars(select(Grid).where(Grid.is_active.is_(True)).order_by(Grid.code))
    return [("", "（无）")] + [(g.code, f"{g.code} {g.name}") for g in grids]


@admin.get("/users")
def users_page(request: Request, session: SessionDep, actor: AdminDep, q: str = "", role: str = "",
               unit: str = "") -> Response:
    unit_row = session.scalar(select(Unit).where(Unit.code == unit)) if unit else None
    users = service.find_users(session, role=role if role in set(Role) else None,
                               unit_id=unit_row.id if unit_row else None, search=q.strip()[:64] or None, limit=500)
    filters = Form(values={"q": q, "role": role, "unit": unit})
    return _page(request, "admin/users.html", users=users, filters=filters,
                 roles=[("", "全部角色"), *ROLE_OPTIONS], units=_unit_options(session, blank="全部单位"))


def _new_user_page(request: Request, session: Session, form: Form, status_code: int = 200) -> Response:
    return _page(request, "admin/user_new.html", status_code=status_code, form=form, roles=ROLE_OPTIONS,
                 units=_unit_options(session, blank="（无）"), grids=_grid_options(session))


@admin.get("/users/new")
def new_user_page(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    return _new_user_page(request, session, Form(values={k: "" for k in USER_FIELDS} | {"role": "unit_handler"}))


@admin.post("/users")
async def create_user(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    form = Form.read(await request.form(), USER_FIELDS)
    v = form.values
    if not v["username"]:
        form.error("username", "请填写用户名")
    if not v["full_name"]:
        form.error("full_name", "请填写姓名")
    if not v["password"]:
        form.error("password", "请设置初始密码")
    if form.ok:
        try:
            service.create_user(session, actor, username=v["username"], full_name=v["full_name"],
                                password=v["password"], role=v["role"], unit_code=v["unit_code"] or None,
                                grid_code=v["grid_code"] or None, phone=v["phone"])
        except SudiError as exc:
            form.service_error(exc, {"unit": "unit_code", "grid": "grid_code"})
        else:
            return RedirectResponse(f"/staff/admin/users/{v['username']}?done=user_created", status_code=303)
    v["password"] = ""
    return _new_user_page(request, session, form, status_code=422)


def _get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"没有用户 {username}", f"no user {username!r}")
    return user


def _user_page(request: Request, session: Session, user: User, form: Form, password_form: Form,
               status_code: int = 200) -> Response:
    return _page(request, "admin/user_edit.html", status_code=status_code, target=user, form=form,
                 password_form=password_form, roles=ROLE_OPTIONS, units=_unit_options(session, blank="（无）"))


@admin.get("/users/{username}")
def user_page(request: Request, username: str, session: SessionDep, actor: AdminDep) -> Response:
    user = _get_user(session, username)
    form = Form(values={"full_name": user.full_name, "role": user.role,
                        "unit_code": user.unit.code if user.unit else "", "is_active": "on" if user.is_active else ""})
    return _user_page(request, session, user, form, Form(values={"password": ""}))


@admin.post("/users/{username}")
async def update_user(request: Request, username: str, session: SessionDep, actor: AdminDep) -> Response:
    user = _get_user(session, username)
    form = Form.read(await request.form(), ("full_name", "role", "unit_code", "is_active"))
    v = form.values
    if not v["full_name"]:
        form.error("full_name", "请填写姓名")
    if v["role"] not in set(Role):
        form.error("role", "请选择角色")
    if v["role"] in service.UNIT_ROLES and not v["unit_code"]:
        form.error("unit_code", "承办人和单位负责人必须属于一个单位")
    if v["role"] == Role.grid_worker and user.grid_id is None:
        form.error("role", "该用户没有分配网格，不能设为网格员（请新建网格员账号）")
    if form.ok:
        try:
            service.update_user(session, actor, username, role=v["role"], unit_code=v["unit_code"] or None,
                                is_active=bool(v["is_active"]), full_name=v["full_name"])
        except SudiError as exc:
            form.service_error(exc, {"unit": "unit_code"})
        else:
            return _back(f"/staff/admin/users/{username}", "user_updated")
    return _user_page(request, session, user, form, Form(values={"password": ""}), status_code=422)


@admin.post("/users/{username}/password")
async def reset_password(request: Request, username: str, session: SessionDep, actor: AdminDep) -> Response:
    user = _get_user(session, username)
    password_form = Form.read(await request.form(), ("password",))
    if not password_form.values["password"]:
        password_form.error("password", "请输入新密码")
    if password_form.ok:
        try:
            service.set_user_password(session, actor, username, password_form.values["password"])
        except SudiError as exc:
            password_form.service_error(exc)
        else:
            return _back(f"/staff/admin/users/{username}", "password_reset")
    password_form.values["password"] = ""
    form = Form(values={"full_name": user.full_name, "role": user.role,
                        "unit_code": user.unit.code if user.unit else "", "is_active": "on" if user.is_active else ""})
    return _user_page(request, session, user, form, password_form, status_code=422)


# ---------------------------------------------------------------- time-limit policy and the green channel

POLICY_FIELDS = ("name", "appeal_kind", "urgency", "appeal_type", "acknowledge_amount", "acknowledge_unit",
                 "resolve_amount", "resolve_unit")


def _policies_page(request: Request, session: Session, form: Form, coordinator_form: Form,
                   status_code: int = 200) -> Response:
    from sudi.appeals.models import APPEAL_TYPE_LABELS, KIND_LABELS, URGENCY_LABELS
    from sudi.appeals.policy import list_policies

    coordinators = session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.username))
    return _page(request, "admin/policies.html", status_code=status_code, policies=list_policies(session),
                 form=form, coordinator_form=coordinator_form, units=list(LIMIT_UNIT_LABELS.items()),
                 kinds=[("", "不限"), *KIND_LABELS.items()], urgencies=[("", "不限"), *URGENCY_LABELS.items()],
                 types=[("", "不限"), *APPEAL_TYPE_LABELS.items()], LIMIT_UNIT_LABELS=LIMIT_UNIT_LABELS,
                 coordinators=[("", "（未指定）")] + [(u.username, f"{u.full_name}（{u.username}）")
                                                   for u in coordinators])


def _coordinator_form(session: Session) -> Form:
    from sudi.appeals.service import GREEN_CHANNEL_COORDINATOR_KEY

    return Form(values={"coordinator": str(get_setting(session, GREEN_CHANNEL_COORDINATOR_KEY) or "")})


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@admin.get("/policies")
def policies_page(request: Request, session: SessionDep, actor: AdminDep, edit: int | None = None) -> Response:
    from sudi.appeals.models import TimeLimitPolicy

    form = Form(values={k: "" for k in POLICY_FIELDS} | {"acknowledge_unit": "hours", "resolve_unit": "working_days"})
    row = session.get(TimeLimitPolicy, edit) if edit else None
    if row is not None:
        form.values.update(name=row.name, appeal_kind=row.appeal_kind or "", urgency=row.urgency or "",
                           appeal_type=row.appeal_type or "", acknowledge_unit=row.acknowledge_unit,
                           resolve_unit=row.resolve_unit, acknowledge_amount=f"{row.acknowledge_amount:g}",
                           resolve_amount=f"{row.resolve_amount:g}")
    return _policies_page(request, session, form, _coordinator_form(session))


@admin.post("/policies")
async def save_policy(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    from sudi.appeals.service import set_time_limit_policy

    form = Form.read(await request.form(), POLICY_FIELDS)
    v = form.values
    if not v["name"]:
        form.error("name", "请填写名称")
    amounts: dict[str, float] = {}
    for key in ("acknowledge_amount", "resolve_amount"):
        amount = _number(v[key])
        if amount is None:
            form.error(key, "请填写数字")
        else:
            amounts[key] = amount
    if form.ok:
        try:
            set_time_limit_policy(session, actor, name=v["name"][:64], appeal_kind=v["appeal_kind"] or None,
                                  urgency=v["urgency"] or None, appeal_type=v["appeal_type"] or None,
                                  acknowledge_amount=amounts["acknowledge_amount"],
                                  acknowledge_unit=v["acknowledge_unit"], resolve_amount=amounts["resolve_amount"],
                                  resolve_unit=v["resolve_unit"])
        except SudiError as exc:
            form.service_error(exc)
        else:
            return _back("/staff/admin/policies", "policy_saved")
    return _policies_page(request, session, form, _coordinator_form(session), status_code=422)


@admin.post("/policies/coordinator")
async def save_coordinator(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    from sudi.appeals.service import set_green_channel_coordinator

    coordinator_form = Form.read(await request.form(), ("coordinator",))
    try:
        set_green_channel_coordinator(session, actor, coordinator_form.values["coordinator"] or None)
    except SudiError as exc:
        coordinator_form.service_error(exc)
        form = Form(values={k: "" for k in POLICY_FIELDS} | {"acknowledge_unit": "hours",
                                                             "resolve_unit": "working_days"})
        return _policies_page(request, session, form, coordinator_form, status_code=422)
    return _back("/staff/admin/policies", "coordinator_saved")


# ---------------------------------------------------------------- the holiday table

HOLIDAY_FIELDS = ("day", "is_workday", "name")


def _holidays_page(request: Request, session: Session, year: int, form: Form, status_code: int = 200) -> Response:
    from sudi.appeals.policy import work_calendar

    this_year = clock.local(clock.now()).year
    calendar = work_calendar(session)
    coverage = [(y, calendar.year_coverage(y)) for y in range(this_year, this_year + 3)]
    entries = session.scalars(select(Holiday).where(Holiday.day >= date(year, 1, 1), Holiday.day <= date(year, 12, 31))
                              .order_by(Holiday.day)).all()
    years = sorted({this_year, this_year + 1, this_year + 2, year,
                    *(d.year for d in session.scalars(select(Holiday.day)))})
    return _page(request, "admin/holidays.html", status_code=status_code, year=year, years=years, entries=entries,
                 coverage=coverage, COVERAGE_LABELS=COVERAGE_LABELS, form=form)


def _year(value: int | None) -> int:
    return value if value is not None and 1990 <= value <= 2200 else clock.local(clock.now()).year


@admin.get("/holidays")
def holidays_page(request: Request, session: SessionDep, actor: AdminDep, year: int | None = None) -> Response:
    return _holidays_page(request, session, _year(year),
                          Form(values={"day": "", "is_workday": "holiday", "name": ""}))


@admin.post("/holidays")
async def save_holiday(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    from sudi.appeals.service import set_holiday

    form = Form.read(await request.form(), HOLIDAY_FIELDS)
    v = form.values
    day: date | None = None
    try:
        day = date.fromisoformat(v["day"])
    except ValueError:
        form.error("day", "请填写日期，格式如 2027-01-01")
    else:
        if not 1990 <= day.year <= 2200:
            form.error("day", "日期超出范围")
    if v["is_workday"] not in ("holiday", "workday"):
        form.error("is_workday", "请选择放假或调休上班")
    if len(v["name"]) > 64:
        form.error("name", "名称不超过 64 个字")
    if form.ok and day is not None:
        try:
            set_holiday(session, actor, day, is_workday=v["is_workday"] == "workday", name=v["name"])
        except SudiError as exc:
            form.service_error(exc)
        else:
            return RedirectResponse(f"/staff/admin/holidays?year={day.year}&done=holiday_saved", status_code=303)
    return _holidays_page(request, session, day.year if day else _year(None), form, status_code=422)


@admin.post("/holidays/{day}/delete")
def remove_holiday(request: Request, day: date, session: SessionDep, actor: AdminDep) -> Response:
    from sudi.appeals.service import delete_holiday

    delete_holiday(session, actor, day)
    return RedirectResponse(f"/staff/admin/holidays?year={day.year}&done=holiday_deleted", status_code=303)


# ---------------------------------------------------------------- taxonomy

def _categories_page(request: Request, session: Session, form: Form, status_code: int = 200) -> Response:
    from sudi.appeals.service import list_categories

    return _page(request, "admin/categories.html", status_code=status_code, categories=list_categories(session),
                 form=form)


@admin.get("/categories")
def categories_page(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    return _categories_page(request, session, Form(values={"level1": "", "level2": "", "level3": ""}))


@admin.post("/categories")
async def add_category(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    from sudi.appeals.service import upsert_category

    form = Form.read(await request.form(), ("level1", "level2", "level3"))
    v = form.values
    if not v["level1"]:
        form.error("level1", "请填写一级分类")
    if v["level3"] and not v["level2"]:
        form.error("level2", "填写三级分类前请先填写二级分类")
    for key in ("level1", "level2", "level3"):
        if len(v[key]) > 64:
            form.error(key, "分类名称不超过 64 个字")
        elif "/" in v[key]:
            form.error(key, "分类名称不能包含“/”")
    if form.ok:
        try:
            upsert_category(session, actor, path=[v["level1"], v["level2"], v["level3"]])
        except SudiError as exc:
            form.service_error(exc, {"path": "level1"})
        else:
            return _back("/staff/admin/categories", "category_added")
    return _categories_page(request, session, form, status_code=422)


@admin.post("/categories/{code}/active")
async def toggle_category(request: Request, code: str, session: SessionDep, actor: AdminDep) -> Response:
    from sudi.appeals.service import set_category_active

    active = (await request.form()).get("is_active") == "1"
    set_category_active(session, actor, code, is_active=active)
    return _back("/staff/admin/categories", "category_on" if active else "category_off")


# ---------------------------------------------------------------- API keys

def _keys_page(request: Request, session: Session, form: Form, *, new_key: str = "",
               status_code: int = 200) -> Response:
    return _page(request, "admin/api_keys.html", status_code=status_code, keys=service.list_api_keys(session),
                 form=form, channels=list(API_CHANNELS), CHANNELS=dict(API_CHANNELS), new_key=new_key)


@admin.get("/api-keys")
def api_keys_page(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    return _keys_page(request, session, Form(values={"name": "", "channel": "app"}))


@admin.post("/api-keys")
async def create_api_key(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    form = Form.read(await request.form(), ("name", "channel"))
    v = form.values
    if not v["name"]:
        form.error("name", "请填写名称（使用方）")
    elif len(v["name"]) > 64:
        form.error("name", "名称不超过 64 个字")
    if v["channel"] not in dict(API_CHANNELS):
        form.error("channel", "请选择渠道")
    if not form.ok:
        return _keys_page(request, session, form, status_code=422)
    key = service.create_api_key(session, actor, name=v["name"], channel=v["channel"])
    # Shown on this answer only (no-store); the database keeps only its digest.
    return _keys_page(request, session, Form(values={"name": "", "channel": "app"}), new_key=key)


@admin.post("/api-keys/{key_id}/revoke")
def revoke_api_key(request: Request, key_id: int, session: SessionDep, actor: AdminDep) -> Response:
    service.revoke_api_key(session, actor, key_id)
    return _back("/staff/admin/api-keys", "key_revoked")


# ---------------------------------------------------------------- settings

def _settings_values(session: Session) -> dict[str, str]:
    from sudi.appeals import service as appeals
    from sudi.open311.api import DEFAULT_CONTACT

    return {appeals.PUBLIC_RESOLVED_LIST_KEY: "on" if appeals.public_resolved_enabled(session) else "",
            appeals.AUTO_REOPEN_LIMIT_KEY: str(appeals.auto_reopen_limit(session)),
            appeals.NUMBER_PREFIX_KEY: str(get_setting(session, appeals.NUMBER_PREFIX_KEY, "YC")),
            appeals.OPEN311_CONTACT_KEY: str(get_setting(session, appeals.OPEN311_CONTACT_KEY, DEFAULT_CONTACT))}


@admin.get("/settings")
def settings_page(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    return _page(request, "admin/settings.html", form=Form(values=_settings_values(session)))


@admin.post("/settings/{key}")
async def save_setting(request: Request, key: str, session: SessionDep, actor: AdminDep) -> Response:
    from sudi.appeals import service as appeals

    values = _settings_values(session)
    if key not in values:
        raise NotFound("没有这项设置", f"no setting {key!r}")
    form = Form.read(await request.form(), (key,))
    raw = form.values[key]
    value: Any = raw
    if key == appeals.PUBLIC_RESOLVED_LIST_KEY:
        value = raw == "on"
    elif key == appeals.AUTO_REOPEN_LIMIT_KEY:
        value = int(raw) if raw.isdigit() and len(raw) < 4 else None
        if value is None:
            form.error(key, "须为 0–10 的整数")
    if form.ok:
        try:
            appeals.set_admin_setting(session, actor, key, value)
        except SudiError as exc:
            form.service_error(exc, {"value": key})
        else:
            return _back("/staff/admin/settings", "setting_saved")
    return _page(request, "admin/settings.html", status_code=422, form=Form(values=values | {key: raw},
                                                                            errors=form.errors))


# ---------------------------------------------------------------- duty list (权责清单)

MATTER_FIELDS = ("code", "name", "responsible_unit", "assisting_units", "territorial_rule", "appeal_kind",
                 "legal_basis", "keywords", "is_active")
TERRITORIAL_LABELS = {"functional": "职能部门办理", "territorial": "属地镇街办理"}


def _split_words(text: str) -> list[str]:
    return [w for w in (p.strip() for p in text.replace("，", ",").replace("、", ",").replace("；", ",")
                        .replace(";", ",").split(",")) if w]


def _matching_matters(session: Session, q: str, unit: str, *, active_only: bool) -> list[Matter]:
    unit_row = session.scalar(select(Unit).where(Unit.code == unit)) if unit else None
    matters = list(service.list_matters(session, unit_id=unit_row.id if unit_row else None, active_only=active_only))
    needle = q.strip().lower()
    if needle:
        matters = [m for m in matters if needle in m.code.lower() or needle in m.name.lower()
                   or any(needle in str(k).lower() for k in m.keywords or [])]
    return matters


@router.get("/staff/matters")
def staff_matters_page(request: Request, session: SessionDep, actor: StaffDep, q: str = "",
                       unit: str = "") -> Response:
    """The duty list as every staff member reads it: who leads which matter, on what legal basis."""
    return _page(request, "staff/matters.html", matters=_matching_matters(session, q, unit, active_only=True),
                 filters=Form(values={"q": q, "unit": unit}), units=_unit_options(session, blank="全部承办单位"),
                 TERRITORIAL_LABELS=TERRITORIAL_LABELS, is_admin=actor.role == Role.admin)


@admin.get("/matters")
def matters_page(request: Request, session: SessionDep, actor: AdminDep, q: str = "", unit: str = "") -> Response:
    matters = _matching_matters(session, q, unit, active_only=False)
    return _page(request, "admin/matters.html", matters=matters, filters=Form(values={"q": q, "unit": unit}),
                 units=_unit_options(session, blank="全部承办单位"), TERRITORIAL_LABELS=TERRITORIAL_LABELS,
                 import_form=Form(values={}), report=None)


def _matter_page(request: Request, session: Session, form: Form, *, existing: bool, status_code: int = 200
                 ) -> Response:
    from sudi.appeals.models import KIND_LABELS

    return _page(request, "admin/matter_edit.html", status_code=status_code, form=form, existing=existing,
                 units=_unit_options(session, blank="（请选择）"), rules=list(TERRITORIAL_LABELS.items()),
                 kinds=list(KIND_LABELS.items()))


@admin.get("/matters/new")
def new_matter_page(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    form = Form(values={k: "" for k in MATTER_FIELDS} | {"territorial_rule": "functional",
                                                         "appeal_kind": "livelihood", "is_active": "on"})
    return _matter_page(request, session, form, existing=False)


@admin.get("/matters/export.xlsx")
def export_matters(session: SessionDep, actor: AdminDep) -> Response:
    from sudi.directory.excel import export_matters_xlsx

    return Response(export_matters_xlsx(session),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename=\"matters.xlsx\"; "
                                                    "filename*=UTF-8''%E6%9D%83%E8%B4%A3%E6%B8%85%E5%8D%95.xlsx",
                             "Cache-Control": "no-store"})


@admin.post("/matters/import")
async def import_matters(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    from sudi.directory.excel import import_matters_xlsx

    import_form = Form(values={"file": ""})
    data = await _upload(request, "file", import_form, (".xlsx",))
    report = None
    if data is not None:
        try:
            report = import_matters_xlsx(session, actor, data)
        except SudiError as exc:
            import_form.error("file", exc.message_zh)
    matters = service.list_matters(session, active_only=False)
    return _page(request, "admin/matters.html", status_code=200 if import_form.ok else 422, matters=matters,
                 filters=Form(values={"q": "", "unit": ""}), units=_unit_options(session, blank="全部承办单位"),
                 TERRITORIAL_LABELS=TERRITORIAL_LABELS, import_form=import_form, report=report)


@admin.get("/matters/{code}")
def matter_page(request: Request, code: str, session: SessionDep, actor: AdminDep) -> Response:
    m = service.get_matter_by_code(session, code)
    form = Form(values={"code": m.code, "name": m.name, "responsible_unit": m.responsible_unit.code,
                        "assisting_units": ", ".join(u.code for u in m.assisting_units),
                        "territorial_rule": m.territorial_rule, "appeal_kind": m.appeal_kind,
                        "legal_basis": m.legal_basis, "keywords": "，".join(str(k) for k in m.keywords or []),
                        "is_active": "on" if m.is_active else ""})
    return _matter_page(request, session, form, existing=True)


@admin.post("/matters")
async def save_matter(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    data = await request.form()
    form = Form.read(data, MATTER_FIELDS)
    existing = data.get("existing") == "1"
    v = form.values
    if not v["code"]:
        form.error("code", "请填写事项编码")
    elif not existing and session.scalar(select(Matter.id).where(Matter.code == v["code"])) is not None:
        form.error("code", f"事项编码 {v['code']} 已存在")
    if not v["name"]:
        form.error("name", "请填写事项名称")
    if not v["responsible_unit"]:
        form.error("responsible_unit", "请选择牵头单位")
    if len(v["legal_basis"]) > 2000:
        form.error("legal_basis", "法律依据不超过 2000 个字")
    if form.ok:
        try:
            service.upsert_matter(session, actor, code=v["code"], name=v["name"][:128],
                                  responsible_unit=v["responsible_unit"],
                                  assisting_units=_split_words(v["assisting_units"]),
                                  territorial_rule=v["territorial_rule"], legal_basis=v["legal_basis"],
                                  keywords=_split_words(v["keywords"])[:50], appeal_kind=v["appeal_kind"],
                                  is_active=bool(v["is_active"]))
        except SudiError as exc:
            # An unknown unit is named in the message: the lead unit's or one of the assisting ones.
            lead = f"编码为 {v['responsible_unit']} " in exc.message_zh
            form.service_error(exc, {"unit": "responsible_unit" if lead else "assisting_units"})
        else:
            return RedirectResponse(f"/staff/admin/matters/{v['code']}?done=matter_saved", status_code=303)
    return _matter_page(request, session, form, existing=existing, status_code=422)


# ---------------------------------------------------------------- grids

def _grids_page(request: Request, session: Session, form: Form, status_code: int = 200) -> Response:
    grids = session.scalars(select(Grid).order_by(Grid.code)).all()
    workers: dict[int, list[User]] = {}
    for user in session.scalars(select(User).where(User.grid_id.is_not(None), User.is_active.is_(True))):
        workers.setdefault(user.grid_id or 0, []).append(user)
    return _page(request, "admin/grids.html", status_code=status_code, grids=grids, workers=workers, form=form)


@admin.get("/grids")
def grids_page(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    return _grids_page(request, session, Form(values={"file": ""}))


@admin.get("/grids.geojson")
def grids_geojson(session: SessionDep, actor: AdminDep) -> Response:
    """Every active grid as one FeatureCollection for the admin map: code, name, town; no tiles."""
    grids = session.scalars(select(Grid).where(Grid.is_active.is_(True)).order_by(Grid.code))
    features = [{"type": "Feature", "geometry": g.geometry,
                 "properties": {"code": g.code, "name": g.name, "town": g.town.name if g.town else ""}}
                for g in grids]
    return JSONResponse({"type": "FeatureCollection", "features": features}, headers={"Cache-Control": "no-store"})


@admin.post("/grids/import")
async def import_grids(request: Request, session: SessionDep, actor: AdminDep) -> Response:
    form = Form(values={"file": ""})
    data = await _upload(request, "file", form, (".geojson", ".json"))
    if data is not None:
        try:
            body = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError):
            form.error("file", "文件不是有效的 GeoJSON（JSON 格式错误）")
        else:
            if not isinstance(body, dict) or body.get("type") != "FeatureCollection" \
                    or not isinstance(body.get("features"), list):
                form.error("file", "文件须为 GeoJSON FeatureCollection")
            elif not body["features"]:
                form.error("file", "文件中没有网格要素")
            else:
                try:
                    count = service.import_grids(session, actor, body["features"])
                except SudiError as exc:
                    form.error("file", exc.message_zh)
                else:
                    return RedirectResponse(f"/staff/admin/grids?done=grids_imported&n={count}", status_code=303)
    return _grids_page(request, session, form, status_code=422)


# ---------------------------------------------------------------- audit log

AUDIT_PAGE_SIZE = 50


@admin.get("/audit")
def audit_page(request: Request, session: SessionDep, actor: AdminDep, type: str = "", page: int = 1) -> Response:
    page = max(1, min(page, 100_000))
    entries, total = service.list_audit_entries(session, object_type=type or None, page=page,
                                                page_size=AUDIT_PAGE_SIZE)
    pages = max(1, math.ceil(total / AUDIT_PAGE_SIZE))
    types = service.audit_object_types(session)
    return _page(request, "admin/audit.html", entries=entries, total=total, page=page, pages=pages,
                 filters=Form(values={"type": type}), types=[("", "全部对象"), *((t, t) for t in types)],
                 object_type=type)


router.include_router(admin)
