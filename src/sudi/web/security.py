"""Sessions and CSRF for the web face.

Staff session
    ``/login`` calls ``directory.service.issue_token`` and keeps the token in the ``sudi_token``
    cookie (HttpOnly, SameSite=Lax, Secure over https). ``deps.bearer_token`` reads the same
    cookie, so the REST API answers a signed-in browser too. Pages take the user with
    ``StaffDep`` (redirects to ``/login`` when nobody is signed in) or ``OptionalStaffDep``;
    ``require_roles(...)`` narrows a page to some roles (403 page otherwise).

CSRF
    A double-submit cookie: every web response carries a random ``sudi_csrf`` cookie (HttpOnly)
    and every page renders the same value, as the hidden ``csrf_token`` form field (the
    ``csrf_field()`` macro, put first in each form) and as ``hx-headers`` on ``<body>`` so that
    HTMX requests send ``X-CSRF-Token``. ``WebSecurityMiddleware`` refuses, with a Chinese 403
    page, every POST/PUT/PATCH/DELETE outside ``/api/`` and ``/open311/`` whose header or form
    field does not match the cookie. It reads only as much of a form body as it needs to find the
    field (at most 256 KiB) and hands the body on untouched, so uploads are not buffered.
    The REST API is exempt: it is called with bearer tokens and API keys; its cookie use relies on
    SameSite=Lax and on JSON bodies.

The middleware also sets the security headers of web pages (CSP: same-origin scripts only, no
inline script; no framing).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Annotated
from urllib.parse import unquote_plus

from fastapi import Depends, Request, Response
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sudi.core.errors import Forbidden, NotAuthenticated
from sudi.deps import SessionDep
from sudi.directory.models import User
from sudi.directory.service import Actor, actor_for, user_for_token

SESSION_COOKIE = "sudi_token"
CSRF_COOKIE = "sudi_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CSRF_MAX_AGE = 7 * 24 * 3600
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Paths that are not the web face: their own auth, their own error format, no CSRF cookie.
NON_WEB_PREFIXES = ("/api/", "/open311/", "/static/", "/healthz", "/docs", "/redoc", "/openapi.json")
_SCAN_LIMIT = 256 * 1024
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,128}$")

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
                           "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "geolocation=(self), camera=(), microphone=()",
}


def is_web_path(path: str) -> bool:
    return not path.startswith(NON_WEB_PREFIXES)


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def _valid_token(value: str | None) -> bool:
    return bool(value) and bool(_TOKEN_RE.match(value or ""))


def _cookie_header(name: str, value: str, *, max_age: int, secure: bool) -> str:
    return f"{name}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")


# ---------------------------------------------------------------- staff session

def start_session(request: Request, response: Response, token: str, *, lifetime_hours: int) -> None:
    """Keep a freshly issued token in the session cookie, and give the new session a new CSRF token."""
    response.set_cookie(SESSION_COOKIE, token, max_age=lifetime_hours * 3600, path="/", httponly=True,
                        samesite="lax", secure=is_https(request))
    rotate_csrf(request, response)


def end_session(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request))
    rotate_csrf(request, response)


def rotate_csrf(request: Request, response: Response) -> str:
    token = secrets.token_urlsafe(32)
    response.headers.append("set-cookie", _cookie_header(CSRF_COOKIE, token, max_age=CSRF_MAX_AGE,
                                                         secure=is_https(request)))
    request.state.csrf_token = token
    return token


def session_user(request: Request, session: SessionDep) -> User | None:
    """The staff user of the session cookie, or None; kept on ``request.state`` for the templates."""
    cached = getattr(request.state, "user", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        user = user_for_token(session, token)
    except NotAuthenticated:
        return None
    request.state.user = user
    request.state.actor = actor_for(user)
    return user


def optional_staff(request: Request, user: Annotated[User | None, Depends(session_user)]) -> Actor | None:
    return getattr(request.state, "actor", None) if user is not None else None


def require_staff(request: Request, user: Annotated[User | None, Depends(session_user)]) -> Actor:
    """A signed-in staff user; anyone else is sent to ``/login`` (see ``web.errors``)."""
    if user is None:
        raise NotAuthenticated("请先登录", "login required")
    actor: Actor = request.state.actor
    return actor


StaffDep = Annotated[Actor, Depends(require_staff)]
OptionalStaffDep = Annotated[Actor | None, Depends(optional_staff)]


def require_roles(*roles: str) -> Callable[[Actor], Actor]:
    """A dependency admitting only the given roles: ``Annotated[Actor, Depends(require_roles("admin"))]``."""
    allowed = frozenset(roles)

    def dependency(actor: StaffDep) -> Actor:
        if actor.role not in allowed:
            raise Forbidden("您的角色无权访问此页面", "your role may not open this page")
        return actor

    return dependency


# ---------------------------------------------------------------- CSRF middleware

class _MultipartFieldFinder:
    """Streams a multipart body just far enough to read one small text field."""

    def __init__(self, boundary: bytes, field: str) -> None:
        self.field = field.encode()
        self.value: str | None = None
        self.failed = False
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._name: bytes | None = None
        self._data = bytearray()
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._part_begin, "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value, "on_header_end": self._header_end,
            "on_part_data": self._part_data, "on_part_end": self._part_end,
        })

    def _part_begin(self) -> None:
        self._name, self._data = None, bytearray()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if bytes(self._header_field).lower() == b"content-disposition":
            _, options = parse_options_header(bytes(self._header_value))
            self._name = options.get(b"name")
        self._header_field, self._header_value = bytearray(), bytearray()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._name == self.field and len(self._data) < 256:
            self._data += data[start:end]

    def _part_end(self) -> None:
        if self._name == self.field and self.value is None:
            self.value = self._data.decode("ascii", "replace")

    def feed(self, chunk: bytes) -> None:
        if self.value is not None or self.failed:
            return
        try:
            self._parser.write(chunk)
        except Exception:  # a malformed body simply has no token; the view reports the rest
            self.failed = True


def _urlencoded_field(body: bytes, field: str, *, complete: bool) -> str | None:
    pairs = body.split(b"&")
    if not complete:
        pairs = pairs[:-1]  # the last pair may be cut off mid-value
    for pair in pairs:
        key, _, value = pair.partition(b"=")
        if unquote_plus(key.decode("latin-1")) == field:
            return unquote_plus(value.decode("latin-1"))
    return None


async def _form_token(headers: Headers, receive: Receive) -> tuple[str | None, Receive]:
    """Find the CSRF field at the start of a form body; return it and a ``receive`` that replays
    what was read, then continues with the rest of the body."""
    media_type, options = parse_options_header(headers.get("content-type", ""))
    finder = None
    if media_type == b"multipart/form-data" and options.get(b"boundary"):
        finder = _MultipartFieldFinder(options[b"boundary"], CSRF_FIELD)
    elif media_type != b"application/x-www-form-urlencoded":
        return None, receive
    messages: list[Message] = []
    buffered = bytearray()
    token: str | None = None
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        buffered += chunk
        complete = not message.get("more_body", False)
        if finder is not None:
            finder.feed(chunk)
            token = finder.value
        else:
            token = _urlencoded_field(bytes(buffered), CSRF_FIELD, complete=complete)
        if token is not None or complete or len(buffered) > _SCAN_LIMIT:
            break

    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return token, replay


class WebSecurityMiddleware:
    """CSRF check and security headers for every web (non-API) request. See the module doc."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_web_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        cookie = cookie_parser(headers.get("cookie", "")).get(CSRF_COOKIE)
        known = _valid_token(cookie)
        token = cookie if known and cookie else secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf_token"] = token
        if scope["method"] in UNSAFE_METHODS:
            supplied = headers.get(CSRF_HEADER)
            if supplied is None:
                supplied, receive = await _form_token(headers, receive)
            if not (known and supplied and secrets.compare_digest(token.encode(), supplied.encode())):
                await self._refuse(scope, receive, send)
                return
        secure = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in response_headers:
                        response_headers[name] = value
                already = any(v.startswith(CSRF_COOKIE + "=") for v in response_headers.getlist("set-cookie"))
                if not known and not already:
                    response_headers.append("set-cookie", _cookie_header(CSRF_COOKIE, token, max_age=CSRF_MAX_AGE,
                                                                         secure=secure))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        from sudi.web.templating import render

        request = Request(scope, receive)
        response = render(request, "errors/error.html", status_code=403, title="提交未被接受",
                          message="页面已过期或请求来源无法确认。为保护您的安全，本次提交没有被处理。"
                                  "请返回上一页，刷新后重新提交。", status=403)
        for name, value in SECURITY_HEADERS.items():
            response.headers[name] = value
        if not _valid_token(cookie_parser(request.headers.get("cookie", "")).get(CSRF_COOKIE)):
            response.headers.append("set-cookie", _cookie_header(CSRF_COOKIE, scope["state"]["csrf_token"],
                                                                 max_age=CSRF_MAX_AGE,
                                                                 secure=scope.get("scheme") == "https"))
        await response(scope, receive, send)

