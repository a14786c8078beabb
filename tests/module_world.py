"""One small district per test module, for suites with many cases that each only add appeals.

``conftest``'s ``world``/``app``/``client`` rebuild the district for every test, which is right for
tests that count or sweep the whole database. A module whose tests only create their own appeals
and look at those can build the district once instead, with these helpers, and save a database
rebuild per case (it matters on PostgreSQL). Such a module must not also use the function-scoped
``session_factory``/``world``/``app``/``client`` fixtures: those empty the database under it.

Pytest finalises module-scoped fixtures whenever the next test comes from another module, so a
module that is interleaved with others (xdist) simply rebuilds its district.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from sudi.app import create_app
from sudi.appeals import policy
from sudi.core.config import Settings
from sudi.core.db import make_session_factory
from sudi.core.models import forget_cached_settings
from sudi.directory import geo
from sudi.models import Base
from tests.factories import World, build_world


def empty_database(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


def fresh_factory(engine: Engine) -> sessionmaker[Session]:
    """An emptied database, process caches keyed by its URL forgotten, and a session factory."""
    empty_database(engine)
    geo.forget_grid_index()
    policy._calendars.clear()
    forget_cached_settings()
    return make_session_factory(engine)


@contextmanager
def district(factory: sessionmaker[Session]) -> Iterator[World]:
    session = factory()
    try:
        yield build_world(session)
    finally:
        session.close()


@contextmanager
def api_client(database_url: str, factory: sessionmaker[Session], media: Path, *,
               raise_server_exceptions: bool = True) -> Iterator[TestClient]:
    application = create_app(Settings(database_url=database_url, media_dir=media))
    application.state.session_factory = factory
    try:
        with TestClient(application, raise_server_exceptions=raise_server_exceptions) as client:
            yield client
    finally:
        shutil.rmtree(media, ignore_errors=True)
        application.state.engine.dispose()


def quiet_session(world: World) -> World:
    """Before each case: nothing left over from the last one in the district's session.

    A read snapshot older than other connections' writes would also make SQLite refuse the
    session's next write (a token for ``world.headers``), so it is ended here."""
    world.session.rollback()
    world.session.expire_all()
    return world


def headers(world: World, username: str) -> dict[str, str]:
    """``world.headers`` after ending any read snapshot the session holds (see ``quiet_session``)."""
    if world.session.in_transaction():
        world.session.rollback()
    return world.headers(username)
