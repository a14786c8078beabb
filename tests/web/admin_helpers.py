"""Shared bits of the admin page tests."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sudi.core.models import AuditEntry
from tests.factories import World
from tests.web.helpers import use_session


def as_admin(client: TestClient, world: World) -> TestClient:
    use_session(client, world, "admin")
    return client


def audit_count(session: Session, action: str) -> int:
    session.rollback()
    session.expire_all()
    return int(session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == action)) or 0)


def field_error(html: str, field: str) -> str:
    """The text of the error shown next to ``field`` ("" when none)."""
    import re

    found = re.search(rf'id="f-{field}-error">(?:<span class="visually-hidden">错误：</span>)?([^<]*)<', html)
    return found.group(1) if found else ""

