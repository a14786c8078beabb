"""The web face's guards: CSRF on every form, the staff session cookie, error pages, headers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sudi.appeals.models import Appeal
from sudi.directory.service import Actor
from sudi.web.security import CSRF_COOKIE, SESSION_COOKIE, require_roles
from tests.factories import World
from tests.routes import walk_routes
from tests.web.helpers import csrf, post_form, sign_in, submission_form, use_session


def _count(world: World) -> int:
    world.session.rollback()  # end the read snapshot: see what the app committed
    return int(world.session.scalar(select(func.count(Appeal.id))) or 0)


# ---------------------------------------------------------------- CSRF

def test_a_page_sets_the_csrf_cookie_httponly_and_renders_the_same_token(client: TestClient) -> None:
    page = client.get("/submit")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{CSRF_COOKIE}=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    token = client.cookies[CSRF_COOKIE]
    assert f'name="csrf_token" value="{token}"' in page.text
    assert f'"X-CSRF-Token": "{token}"' in page.text  # hx-headers on <body>, for HTMX requests


def test_a_form_without_the_token_is_refused_with_a_chinese_page(client: TestClient, world: World) -> None:
    form = submission_form(client)
    before = _count(world)
    response = post_form(client, "/submit", form, token=False)
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "提交未被接受" in response.text
    assert _count(world) == before


def test_a_wrong_token_or_no_cookie_is_refused(client: TestClient, world: World) -> None:
    form = submission_form(client)
    assert client.post("/submit", data={"csrf_token": "x" * 43, **form}).status_code == 403
    token = csrf(client)
    client.cookies.clear()
    assert client.post("/submit", data={"csrf_token": token, **form}).status_code == 403
    assert _count(world) == 0


def test_the_header_works_for_htmx_and_the_api_is_exempt(client: TestClient, world: World) -> None:
    appeal = world.appeal("received")
    assert client.post(f"/support/{appeal.number}").status_code == 403
    ok = client.post(f"/support/{appeal.number}", headers={"X-CSRF-Token": csrf(client)})
    assert ok.status_code == 200 and "已记录" in ok.text
    api = client.post("/api/v1/public/appeals", json={"title": "路灯不亮", "content": "青檀路路灯坏了一周。"})
    assert api.status_code == 201  # the REST API has its own authentication and no CSRF field


def test_the_token_is_found_in_multipart_and_after_other_fields(client: TestClient, world: World) -> None:
    form = submission_form(client)
    multipart = client.post("/submit", data={"csrf_token": csrf(client), **form},
                            files={"photos": ("a.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")})
    assert multipart.status_code == 200, multipart.text
    late_form = {**submission_form(client, title="另一件事：井盖缺失"), "csrf_token": csrf(client)}
    late = client.post("/submit", data=late_form)
    assert late.status_code == 200, late.text
    assert _count(world) == 2


def test_every_web_form_route_is_guarded(app, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    """Walks the routes: any state-changing route outside /api/ and /open311/ (including ones
    added later) refuses a request without the token."""
    checked = set()
    for path, route in walk_routes(list(app.routes)):
        if path.startswith(("/api/", "/open311/")):
            continue
        for method in sorted((route.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}):
            response = client.request(method, path.replace("{number}", "YC20260101-00001"), data={"x": "1"})
            assert response.status_code == 403, f"{method} {path} answered {response.status_code}"
            checked.add(f"{method} {path}")
    assert {"POST /submit", "POST /login", "POST /logout", "POST /track", "POST /support/{number}",
            "POST /track/{number}/rate"} <= checked


# ---------------------------------------------------------------- staff session

def test_staff_pages_send_anonymous_users_to_log_in(client: TestClient) -> None:
    response = client.get("/staff", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/staff"


def test_log_in_sets_an_httponly_lax_cookie_and_log_out_revokes_it(client: TestClient, world: World) -> None:
    sign_in(client, world, "dispatcher")
    cookies = [c for c in client.get("/login", follow_redirects=False).headers.get_list("set-cookie")]
    assert not cookies  # nothing new once signed in
    home = client.get("/staff")
    assert home.status_code == 200 and "dispatcher" in home.text
    token = client.cookies[SESSION_COOKIE]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    response = post_form(client, "/logout", {})
    assert response.status_code == 303 and response.headers["location"] == "/login?bye=1"
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/staff", follow_redirects=False).status_code == 303


def test_the_session_cookie_flags(client: TestClient, world: World) -> None:
    response = post_form(client, "/login", {"username": "zjj", "password": "sudi-demo"})
    session_cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in session_cookie and "samesite=lax" in session_cookie.lower()
    assert "Secure" not in session_cookie  # plain http here; Secure when the request is https
    # a new session gets a new CSRF token
    assert any(c.startswith(CSRF_COOKIE) for c in response.headers.get_list("set-cookie"))


def test_wrong_password_is_shown_next_to_the_field(client: TestClient, world: World) -> None:
    response = post_form(client, "/login", {"username": "zjj", "password": "wrong-password"})
    assert response.status_code == 401
    assert 'id="f-password-error"' in response.text and "用户名或密码错误" in response.text
    assert 'value="zjj"' in response.text and "wrong-password" not in response.text
    empty = post_form(client, "/login", {"username": "", "password": ""})
    assert empty.status_code == 422 and "请输入用户名" in empty.text and "请输入密码" in empty.text


def test_log_in_returns_to_a_local_page_only(client: TestClient, world: World) -> None:
    response = post_form(client, "/login", {"username": "zjj", "password": "sudi-demo", "next": "//evil.example/x"})
    assert response.headers["location"] == "/staff"
    client.cookies.clear()
    response = post_form(client, "/login", {"username": "zjj", "password": "sudi-demo", "next": "/staff?x=1"})
    assert response.headers["location"] == "/staff?x=1"


def test_logout_page_asks_first(client: TestClient, world: World) -> None:
    assert client.get("/logout", follow_redirects=False).status_code == 303
    use_session(client, world, "zjj")
    page = client.get("/logout")
    assert page.status_code == 200 and 'action="/logout"' in page.text


# ---------------------------------------------------------------- error pages and headers

def test_errors_are_chinese_pages_on_the_web_and_json_on_the_api(client: TestClient) -> None:
    page = client.get("/no-such-page")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "页面不存在" in page.text and '<html lang="zh-CN">' in page.text
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json()["error"]["code"] == "http_404"
    wants_json = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert wants_json.json()["error"]["message"] == "页面或接口不存在"


def test_a_role_without_access_gets_a_403_page(client: TestClient, world: World) -> None:
    """Pages narrowed with require_roles answer 403 pages (checked on a throwaway route)."""
    router = APIRouter()

    @router.get("/staff/_admin_only_for_test")
    def admin_only(actor: Annotated[Actor, Depends(require_roles("admin"))]) -> dict[str, str]:
        return {"ok": actor.username}

    app = client.app
    app.include_router(router)  # type: ignore[attr-defined]
    try:
        use_session(client, world, "zjj")
        page = client.get("/staff/_admin_only_for_test")
        assert page.status_code == 403 and "无权访问" in page.text and "您的角色无权访问此页面" in page.text
    finally:
        app.router.routes[:] = [r for r in app.router.routes  # type: ignore[attr-defined]
                                if getattr(r, "path", "") != "/staff/_admin_only_for_test"]


def test_web_pages_carry_security_headers_and_no_store(client: TestClient) -> None:
    page = client.get("/")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "content-security-policy" not in client.get("/healthz").headers


def test_vendored_assets_are_served_and_no_page_loads_another_origin(client: TestClient) -> None:
    for path in ("/static/vendor/htmx/htmx.min.js", "/static/vendor/leaflet/leaflet.js",
                 "/static/vendor/leaflet/leaflet.css", "/static/vendor/echarts/echarts.min.js",
                 "/static/vendor/leaflet/images/marker-icon.png", "/static/sudi.css", "/static/js/portal.js"):
        assert client.get(path).status_code == 200, path
    for path in ("/", "/submit", "/track", "/guide", "/login"):
        text = client.get(path).text
        assert "http://" not in text.replace("http://testserver", "") and "https://" not in text, path


def test_a_crash_is_a_calm_chinese_page_for_people_and_plain_for_the_api(client: TestClient) -> None:
    router = APIRouter()

    @router.get("/_crash_for_test")
    @router.get("/api/v1/_crash_for_test")
    def crash() -> None:
        raise RuntimeError("boom")

    app = client.app
    app.include_router(router)  # type: ignore[attr-defined]
    try:
        quiet = TestClient(app, raise_server_exceptions=False)
        page = quiet.get("/_crash_for_test")
        assert page.status_code == 500 and "系统出现故障" in page.text and "boom" not in page.text
        api = quiet.get("/api/v1/_crash_for_test")
        assert api.status_code == 500 and api.text == "Internal Server Error"
    finally:
        app.router.routes[:] = [r for r in app.router.routes  # type: ignore[attr-defined]
                                if "_crash_for_test" not in getattr(r, "path", "")]
