"""Request plumbing shared by the HTTP faces: the database session and who is calling."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from sudi.core.config import Settings
from sudi.core.errors import Forbidden, NotAuthenticated
from sudi.directory.service import Actor, actor_for_token


def get_session(request: Request) -> Iterator[Session]:
    session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.close()


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session)]
# A row id in a path: bounded, so a huge number is a 422 on every database, not an overflow.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    token = request.cookies.get("sudi_token")
    if token and request.method not in SAFE_METHODS:
        # A browser sends the session cookie on its own, so a cookie-authenticated API write must
        # also prove it came from our pages: the double-submit CSRF token of sudi.web.security.
        expected = request.cookies.get("sudi_csrf", "")
        sent = request.headers.get("x-csrf-token", "")
        if not expected or not secrets.compare_digest(expected.encode(), sent.encode()):
            raise Forbidden("请求缺少有效的 CSRF 令牌，请刷新页面后重试",
                            "a cookie-authenticated write needs the X-CSRF-Token header")
    return token


def current_actor(request: Request, session: SessionDep) -> Actor:
    token = bearer_token(request)
    if not token:
        raise NotAuthenticated("请先登录", "authentication required: send Authorization: Bearer <token>")
    return actor_for_token(session, token)


ActorDep = Annotated[Actor, Depends(current_actor)]
