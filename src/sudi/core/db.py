"""Database plumbing shared by every domain: the declarative base, engines and column types.

SQLite is the embedded default and PostgreSQL the production database; everything here keeps the
two behaving alike (UTC-aware datetimes, JSON, foreign keys, concurrency settings).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event, func
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back aware datetimes, so SQLite and PostgreSQL agree."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use sudi.core.clock")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class SerializedJSON(str):
    """A JSON column's value serialized already (by a worker process of a batch job): stored as it is."""


def dump_json(obj: Any) -> str:
    """The text a JSON column stores for ``obj``."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)


def _json_dumps(obj: Any) -> str:
    return obj if isinstance(obj, SerializedJSON) else dump_json(obj)


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, json_serializer=_json_dumps,
                               connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets readers proceed while one writer commits; foreign keys are off by default.
            # Python's sqlite3 opens implicit transactions itself; we take that over (see "begin")
            # so that BEGIN IMMEDIATE takes the write lock up front instead of failing on upgrade.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # A write transaction takes the lock at BEGIN: a deferred one that reads first and
            # writes later fails outright (SQLITE_BUSY_SNAPSHOT) when another writer got in between.
            immediate = conn.get_execution_options().get("sudi_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    return create_engine(url, json_serializer=_json_dumps, pool_pre_ping=True, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


_sqlite_writers: dict[str, threading.RLock] = {}


def _writer_lock(session: Session) -> threading.RLock | None:
    """SQLite admits one writer at a time; a waiting writer sleeps in SQLite's back-off (up to
    100 ms a try). Queueing this process's writers on a lock instead wakes the next one as soon
    as the last commits. Other processes still meet SQLite's own lock."""
    engine = session.get_bind().engine
    if engine.dialect.name != "sqlite":
        return None
    return _sqlite_writers.setdefault(str(engine.url), threading.RLock())


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """The unit of work of one service call: everything inside commits together or not at all.

    Inside another ``transaction`` (a loader batching many service calls) it becomes a savepoint,
    so a refused call undoes only itself and the batch commits once. Reads made earlier in the
    same request opened a transaction implicitly: PostgreSQL simply carries on in it; SQLite
    closes it first, because upgrading a read transaction to a write one fails outright when
    another writer got in between.
    """
    depth = session.info.get("sudi_transaction_depth", 0)
    if depth:
        with session.begin_nested():
            session.info["sudi_transaction_depth"] = depth + 1
            try:
                yield session
            finally:
                session.info["sudi_transaction_depth"] = depth
        return
    lock = _writer_lock(session)
    if session.in_transaction() and lock is None:
        session.info["sudi_transaction_depth"] = 1
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.info["sudi_transaction_depth"] = 0
        return
    if session.in_transaction():
        session.commit()
    with lock if lock is not None else nullcontext(), session.begin():
        session.connection(execution_options={"sudi_write": True})
        session.info["sudi_transaction_depth"] = 1
        try:
            yield session
        finally:
            session.info["sudi_transaction_depth"] = 0


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    session = factory()
    try:
        yield session
    finally:
        session.close()


def local_date(session: Session, moment: Any) -> ColumnElement[Any]:
    """The district's calendar day of a stored moment, computed by the database: PostgreSQL converts
    in the zone; SQLite, which stores naive UTC, adds the zone's one offset (no summer time since 1991)."""
    from sudi.core.clock import DISTRICT_TZ

    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone(str(DISTRICT_TZ), moment))
    offset = datetime(2000, 1, 1, tzinfo=DISTRICT_TZ).utcoffset()
    hours = int(offset.total_seconds() // 3600) if offset else 0
    return func.date(moment, f"{hours:+d} hours")
