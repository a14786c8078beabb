"""The demo district loads through the services, completely, and re-running it adds nothing."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sudi.appeals.models import Appeal, AppealEvent
from sudi.core import auth
from sudi.demo.loader import load_demo
from sudi.directory.models import Grid, Matter, User


def test_demo_loads_once_and_reruns_safely(session: Session) -> None:
    load_demo(session, appeals_limit=80)
    count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
    assert count(Grid) == 431
    assert count(Matter) >= 150
    appeals = count(Appeal)
    assert appeals >= 75
    events = count(AppealEvent)
    users = {u.username: u for u in session.scalars(select(User))}
    for name in ("admin", "intake", "dispatcher", "zjj", "cgj", "grid1", "mediator", "supervisor", "leader",
                 "grid001", "grid431"):
        assert auth.verify_password("sudi-demo", users[name].password_hash), name
    assert users["zjj"].unit.code == "zjj" and users["cgj"].unit.code == "cgj"
    assert users["grid431"].grid.code == "G431"
    states = set(session.scalars(select(Appeal.state).distinct()))
    assert {"archived", "acknowledged", "resolved"} <= states
    # Every demo appeal sits in a grid of the district, with its town.
    assert session.scalar(select(func.count()).where(Appeal.grid_id.is_(None))) == 0

    load_demo(session, appeals_limit=80)
    assert count(Appeal) == appeals and count(AppealEvent) == events and count(Grid) == 431
