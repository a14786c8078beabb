"""Test set-up: every test runs against a freshly emptied, migrated database.

``SUDI_TEST_DB=sqlite`` (default) or ``postgresql`` picks the backend; ``make test`` runs the
suite once per backend. PostgreSQL gets one database per xdist worker.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from sudi.app import create_app
from sudi.appeals import policy
from sudi.core.config import Settings
from sudi.core.db import make_engine, make_session_factory
from sudi.core.models import forget_cached_settings
from sudi.directory import geo
from sudi.directory.service import forget_cached_actors
from sudi.migrate import upgrade
from sudi.models import Base
from tests.factories import World, build_world

BACKEND = os.environ.get("SUDI_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get("SUDI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if BACKEND == "postgresql":
        # The process id keeps concurrent runs on one machine (a developer's and CI's) apart.
        name = f"sudi_test_{_worker()}_{os.getpid()}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        upgrade(url)
        yield url
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("db") / "sudi-test.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _empty(engine) -> None:  # type: ignore[no-untyped-def]
    tables = [t for t in Base.metadata.sorted_tables]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(table.delete())


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(database_url=database_url, media_dir=tmp_path_factory.mktemp("media"))


@pytest.fixture
def session_factory(engine):  # type: ignore[no-untyped-def]
    _empty(engine)
    geo.forget_grid_index()
    policy._calendars.clear()
    forget_cached_settings()
    forget_cached_actors()
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory) -> Iterator[Session]:  # type: ignore[no-untyped-def]
    s = session_factory()
    yield s
    s.close()


@pytest.fixture
def world(session: Session) -> World:
    """A small district: centre, two departments, one town with two grids, a user per role."""
    return build_world(session)


@pytest.fixture(scope="session")
def _application(settings: Settings, engine):  # type: ignore[no-untyped-def]
    # Built once: route set-up is the same for every test; each test gets an emptied database.
    application = create_app(settings)
    application.state.session_factory = make_session_factory(engine)
    return application


@pytest.fixture
def app(_application, session_factory, world: World):  # type: ignore[no-untyped-def]
    return _application


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield c
    shutil.rmtree(app.state.settings.media_dir, ignore_errors=True)
    app.state.settings.media_dir.mkdir(exist_ok=True)


# ---------------------------------------------------------------- one district per module
# For modules whose tests only add their own appeals: the district is built once per module
# (``district``); such modules must not also use ``session_factory``/``world``/``app``/``client``
# above, which empty the database for every test.

@pytest.fixture(scope="module")
def factory(engine):  # type: ignore[no-untyped-def]
    from tests import module_world

    return module_world.fresh_factory(engine)


@pytest.fixture(scope="module")
def district(factory) -> Iterator[World]:  # type: ignore[no-untyped-def]
    from tests import module_world

    with module_world.district(factory) as world:
        yield world
