"""Hotspots in the running server: joins as appeals arrive, the scheduled and the requested full
recompute (claimed once, run in a child process), and the schedule as an admin setting."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sudi.app import create_app
from sudi.appeals.models import Appeal
from sudi.core import clock, signals
from sudi.core.config import Settings
from sudi.core.errors import Forbidden, InvalidInput
from sudi.core.models import AuditEntry
from sudi.hotspots import service
from sudi.hotspots.models import HotspotMember, HotspotModel
from tests.factories import IN_G001, World
from tests.hotspots.factories import seed_noise


def _at_local_hour(hour: int, days_ahead: int = 2) -> datetime:
    day = clock.local(clock.now()) + timedelta(days=days_ahead)
    return day.replace(hour=hour, minute=10, second=0, microsecond=0)


def _until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_the_first_recompute_is_claimed_once_and_recorded(world: World) -> None:
    session = world.session
    seed_noise(world)
    assert service.claim_full_recompute(session) == "first"
    assert service.claim_full_recompute(session) is None          # running: nobody else starts one
    assert service.recompute_status(session)["running"] is True
    service.refresh_hotspots(session)
    service.finish_full_recompute(session, ok=True, detail="3 条诉求")
    status = service.recompute_status(session)
    assert status["running"] is False and status["ok"] is True and status["computed_at"] is not None
    assert service.claim_full_recompute(session) is None          # done; not the scheduled hour yet
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("hotspots.refresh%"))).all()
    assert actions == ["hotspots.refresh_started", "hotspots.refresh", "hotspots.refresh_finished"]


def test_the_nightly_recompute_runs_at_the_admins_hour_once_a_night(world: World) -> None:
    session = world.session
    seed_noise(world)
    service.refresh_hotspots(session)
    hour = service.hotspot_schedule(session)["full_recompute_hour"]
    night = _at_local_hour(hour)
    assert service.claim_full_recompute(session, now=night - timedelta(hours=1)) is None
    assert service.claim_full_recompute(session, now=night) == "nightly"
    service.finish_full_recompute(session, ok=True)
    session.execute(update(HotspotModel).values(computed_at=night))
    session.commit()
    assert service.claim_full_recompute(session, now=night + timedelta(minutes=30)) is None
    assert service.claim_full_recompute(session, now=night + timedelta(days=1)) == "nightly"
    service.finish_full_recompute(session, ok=True)
    service.set_hotspot_params(session, world.actor("admin"), {"full_recompute_hour": -1})
    assert service.claim_full_recompute(session, now=night + timedelta(days=2)) is None


def test_a_failed_recompute_is_retried_later_and_a_request_at_once(world: World) -> None:
    session = world.session
    seed_noise(world)
    assert service.claim_full_recompute(session) == "first"
    service.finish_full_recompute(session, ok=False, detail="数据库不可用")
    assert service.claim_full_recompute(session) is None
    with clock.frozen_at(clock.now() + service.RECOMPUTE_RETRY_AFTER):
        assert service.claim_full_recompute(session) == "first"
        service.finish_full_recompute(session, ok=False)
    with pytest.raises(Forbidden):
        service.request_full_recompute(session, world.actor("leader"))
    with clock.frozen_at(clock.now() + service.RECOMPUTE_RETRY_AFTER + timedelta(minutes=1)):
        status = service.request_full_recompute(session, world.actor("admin"))
        assert status["requested_by"] == "admin" and status["running"] is False and status["waiting"] is True
        assert service.claim_full_recompute(session) == "requested"
        assert service.recompute_status(session)["waiting"] is False
        assert service.claim_full_recompute(session) is None


def test_a_change_of_the_clustering_asks_for_a_recompute_and_a_heat_weight_does_not(world: World) -> None:
    session = world.session
    seed_noise(world)
    assert service.claim_full_recompute(session) == "first"
    service.finish_full_recompute(session, ok=True)
    service.refresh_hotspots(session)
    admin = world.actor("admin")
    heard: list[int] = []
    unsubscribe = signals.subscribe(signals.HOTSPOT_RECOMPUTE_REQUESTED, lambda: heard.append(1))
    try:
        service.set_hotspot_params(session, admin, {"half_life_days": 30, "growth_weight": 0.8})  # rescoring's
        assert service.recompute_status(session)["waiting"] is False and not heard
        service.set_hotspot_params(session, admin, {"area_by_topic": 1, "similarity": 0.3, "half_life_days": 20})
        assert service.recompute_status(session)["waiting"] is True and heard == [1]
    finally:
        unsubscribe()
    request = session.scalars(select(AuditEntry).where(AuditEntry.action == "hotspots.request_refresh")).one()
    assert request.actor_name == admin.name and request.detail == {"parameters": ["area_by_topic", "similarity"]}
    assert service.claim_full_recompute(session) == "requested"


def test_a_recompute_that_never_ended_is_presumed_dead(world: World) -> None:
    session = world.session
    seed_noise(world)
    assert service.claim_full_recompute(session) == "first"     # and then nothing more is heard of it
    assert service.claim_full_recompute(session, now=clock.now() + timedelta(hours=1)) is None
    later = clock.now() + service.RECOMPUTE_PRESUMED_DEAD + timedelta(minutes=1)
    assert service.recompute_status(session, now=later)["running"] is False
    assert service.claim_full_recompute(session, now=later) == "first"   # claimed again


def test_the_schedule_is_an_admin_setting_checked_on_save(world: World) -> None:
    session = world.session
    admin = world.actor("admin")
    with pytest.raises(InvalidInput) as bad:
        service.set_hotspot_params(session, admin, {"full_recompute_hour": 24})
    assert bad.value.field == "full_recompute_hour" and "-1 到 23" in bad.value.message_zh
    with pytest.raises(InvalidInput):
        service.set_hotspot_params(session, admin, {"rescore_every_minutes": "often"})
    before = service.hotspot_settings(session)
    with pytest.raises(InvalidInput):   # one bad value refuses the whole change
        service.set_hotspot_params(session, admin, {"half_life_days": 9, "rescore_every_minutes": 0})
    assert service.hotspot_settings(session) == before
    service.set_hotspot_params(session, admin, {"full_recompute_hour": 1, "half_life_days": 9})
    assert service.hotspot_schedule(session)["full_recompute_hour"] == 1
    assert service.hotspot_params(session).half_life_days == 9


def test_registering_an_appeal_notifies_after_it_is_stored(world: World) -> None:
    heard: list[int] = []
    unsubscribe = signals.subscribe(signals.APPEAL_RECEIVED, lambda: heard.append(1))
    try:
        world.appeal(title="青檀路路灯不亮", content="青檀路路灯不亮，晚上很黑。")
        assert heard == [1]
        with pytest.raises(InvalidInput):
            world.appeal(title="", content="")
        assert heard == [1]
    finally:
        unsubscribe()
    world.appeal(title="青檀路路灯不亮", content="青檀路路灯不亮，晚上太黑。")
    assert heard == [1]


def test_the_server_refresh_api_asks_the_job_and_reports_its_state(world: World, client: TestClient) -> None:
    assert client.post("/api/v1/hotspots/refresh", headers=world.headers("leader")).status_code == 403
    asked = client.post("/api/v1/hotspots/refresh", headers=world.headers("admin"))
    assert asked.status_code == 202 and asked.json()["requested_at"] and asked.json()["running"] is False
    state = client.get("/api/v1/hotspots/refresh", headers=world.headers("admin")).json()
    assert state["schedule"] == service.DEFAULT_SCHEDULE
    params = client.get("/api/v1/hotspots/params", headers=world.headers("admin")).json()
    assert params["full_recompute_hour"] == 3 and "similarity" in params


@pytest.fixture
def server(world: World, settings: Settings) -> Iterator[TestClient]:
    """The application with its background jobs running, as `sudi serve` runs it."""
    application = create_app(settings, run_jobs=True)
    with TestClient(application) as running:
        # No periodic tick within the test: a join can only come from the intake's notice.
        application.state.hotspot_jobs.tick_s = 3600.0
        yield running


def test_in_the_server_a_new_appeal_joins_at_once_and_a_requested_recompute_runs_in_a_child(
        world: World, server: TestClient, session: Session) -> None:
    seed_noise(world)
    # The server's first tick finds no hotspots yet: its first full recompute runs in a child process.
    assert _until(lambda: _ended(service.recompute_status(_fresh(session)), "first"), 90)
    first = _fresh(session).get(HotspotModel, 1)
    assert first is not None
    first_at = first.computed_at
    noise = server.post("/api/v1/appeals", headers=world.headers("intake"), json={
        "title": "丽发新城附近搅拌站噪音扰民太严重", "content": "丽发新城附近搅拌站噪音扰民太严重，晚上睡不着。",
        "lat": IN_G001[0], "lon": IN_G001[1], "citizen_phone": "13900000099"})
    assert noise.status_code == 201, noise.text
    appeal_id = _fresh(session).scalar(select(Appeal.id).where(Appeal.number == noise.json()["number"]))
    # Woken by the intake's notice (the tick is an hour here); the wait allows for a loaded machine.
    assert _until(lambda: _fresh(session).get(HotspotMember, appeal_id) is not None, 30)
    assert server.post("/api/v1/hotspots/refresh", headers=world.headers("admin")).status_code == 202
    # The child records its end in a transaction after the recompute's own: wait for that record.
    assert _until(lambda: _ended(service.recompute_status(_fresh(session)), "requested"), 60)
    status = service.recompute_status(_fresh(session))
    assert status["ok"] is True and "4 条诉求" in status["detail"]
    assert (_fresh(session).get(HotspotModel, 1) or first).computed_at > first_at


def _ended(status: dict[str, object], reason: str) -> bool:
    started, ended = status["started_at"], status["ended_at"]
    return status["reason"] == reason and isinstance(started, datetime) and isinstance(ended, datetime) \
        and ended >= started


def _fresh(session: Session) -> Session:
    session.rollback()   # a new snapshot: the server's threads and its child write in other connections
    session.expire_all()
    return session


def test_a_recompute_that_cannot_start_is_recorded_as_failed(world: World, settings: Settings,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from sudi import app as app_module

    def refuse(self: object) -> None:
        raise OSError("no such interpreter")

    monkeypatch.setattr(app_module._HotspotJobs, "_start_recompute", refuse)
    application = create_app(settings)
    jobs = app_module._HotspotJobs(application, threading.Event())
    jobs.tick()   # claims the first recompute, cannot start it
    status = service.recompute_status(_fresh(world.session))
    assert status["running"] is False and status["ok"] is False and "no such interpreter" in status["detail"]
    assert jobs.child is None
