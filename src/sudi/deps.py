"""Request plumbing shared by the HTTP faces: the database session and who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from sudi.core.config import Settings
from sudi.core.errors import NotAuthenticated
from sudi.directory.models import User
from sudi.directory.service import Actor, actor_for, user_for_token


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
SettingsDep = Annotated[Settings, Depends(get_settings)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get("sudi_token")


def current_user(request: Request, session: SessionDep) -> User:
    token = bearer_token(request)
    if not token:
        raise NotAuthenticated("请先登录", "authentication required: send Authorization: Bearer <token>")
    return user_for_token(session, token)


def current_actor(user: Annotated[User, Depends(current_user)]) -> Actor:
    return actor_for(user)


ActorDep = Annotated[Actor, Depends(current_actor)]
