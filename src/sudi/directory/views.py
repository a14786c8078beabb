"""Web face of the directory: staff log-in and log-out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from sudi.core.errors import NotAuthenticated, TooManyRequests
from sudi.deps import SessionDep, SettingsDep
from sudi.directory import service
from sudi.web.forms import Form
from sudi.web.navigation import home_for
from sudi.web.security import SESSION_COOKIE, OptionalStaffDep, end_session, start_session
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
