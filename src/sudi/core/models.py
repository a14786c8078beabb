"""Tables that belong to no domain: the audit trail, settings and the holiday table."""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from sudi.core import clock
from sudi.core.db import Base, UTCDateTime


class AuditEntry(Base):
    """Append-only record of every change made outside an appeal's own event trail."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Holiday(Base):
    """Admin-entered working-day exceptions for years the calendar library does not know yet."""

    __tablename__ = "holidays"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(Text, default="")


def record_audit(session: Session, *, actor_id: int | None, actor_name: str, action: str,
                 object_type: str, object_id: str | int, **detail: Any) -> None:
    session.add(AuditEntry(at=clock.now(), actor_id=actor_id, actor_name=actor_name, action=action,
                           object_type=object_type, object_id=str(object_id), detail=detail))


def get_setting(session: Session, key: str, default: Any = None) -> Any:
    row = session.get(Setting, key)
    return default if row is None else row.value


_cache: dict[tuple[str, str], tuple[float, Any]] = {}


def cached_setting(session: Session, key: str, default: Any = None, *, ttl_s: float = 5.0) -> Any:
    """A setting read at most every ``ttl_s`` seconds per process: the hot path (every intake)
    reads settings that change a few times a year. A change made in this process is seen at
    once; one made by another process within ``ttl_s``."""
    cache_key = (str(session.get_bind().engine.url), key)
    hit = _cache.get(cache_key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    value = get_setting(session, key, default)
    _cache[cache_key] = (time.monotonic() + ttl_s, value)
    return value


def forget_cached_settings() -> None:
    _cache.clear()


def put_setting(session: Session, key: str, value: Any) -> None:
    for cache_key in [k for k in _cache if k[1] == key]:
        _cache.pop(cache_key, None)
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value, updated_at=clock.now()))
    else:
        row.value = value
        row.updated_at = clock.now()
