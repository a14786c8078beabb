"""The baseline for bench/intake.py: bare FastAPI plus a one-row insert.

One route validates a small JSON body with Pydantic and inserts one row into a one-table schema
through SQLAlchemy, on an engine made by ``sudi.core.db.make_engine`` (so SQLite gets the same WAL,
pragmas and BEGIN IMMEDIATE write transactions as sudi). It is what any FastAPI + SQLAlchemy
service pays to accept a record; sudi's intake is measured against it.

Served by uvicorn as ``--factory _baseline_app:app_from_env`` with ``--app-dir bench``; the
database comes from ``BENCH_DATABASE_URL``. The table is created by the benchmark before the server starts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Float, Integer, MetaData, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from sudi.core.db import UTCDateTime, make_engine, make_session_factory, transaction


class BaselineBase(DeclarativeBase):
    metadata = MetaData()


class Row(BaselineBase):
    __tablename__ = "bench_baseline_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    appeal_type: Mapped[str | None] = mapped_column(String(32))
    citizen_name: Mapped[str] = mapped_column(String(64))
    citizen_phone: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(255))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RowIn(BaseModel):
    """The same fields, limits and strictness as sudi's public submission form."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=200)
    content: str = Field(min_length=1, max_length=20_000)
    appeal_type: str | None = None
    citizen_name: str = Field(default="", max_length=64)
    citizen_phone: str = Field(default="", max_length=32)
    address: str = Field(default="", max_length=255)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


def get_session(request: Request) -> Iterator[Session]:
    session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.close()


def create_app(database_url: str) -> FastAPI:
    engine = make_engine(database_url)
    app = FastAPI(title="baseline")
    app.state.session_factory = make_session_factory(engine)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.post("/rows", status_code=201)
    def create_row(body: RowIn, session: Annotated[Session, Depends(get_session)]) -> dict[str, int]:
        with transaction(session):
            row = Row(**body.model_dump(), created_at=datetime.now(UTC))
            session.add(row)
            session.flush()
            return {"id": row.id}

    return app


def app_from_env() -> FastAPI:
    """uvicorn's ``--factory`` entry point."""
    return create_app(os.environ["BENCH_DATABASE_URL"])
