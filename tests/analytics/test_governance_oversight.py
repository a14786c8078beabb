"""主动治理 tasks past their deadline on the dashboards (the overdue and supervised lists) and in the
early warnings (one warning per task, the admin's grace days, not raised again once closed)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from sudi.analytics import service
from sudi.analytics.models import EarlyWarning, WarningKind
from sudi.core import clock
from tests.factories import World
from tests.hotspots.factories import ago, hotspot_id, task
from tests.web.helpers import use_session


def _warnings(world: World) -> list[EarlyWarning]:
    return list(world.session.scalars(select(EarlyWarning).where(EarlyWarning.kind == WarningKind.task_overdue)
                                      .order_by(EarlyWarning.id)))


def test_overdue_tasks_join_the_overdue_and_supervised_lists(client: TestClient, world: World) -> None:
    hotspot = hotspot_id(world)
    late = task(world, hotspot, created=ago(20), deadline=ago(3), title="整治搅拌站夜间施工")
    task(world, hotspot, created=ago(20), deadline=clock.now() + timedelta(days=3))  # not due yet
    task(world, hotspot, created=ago(20), deadline=ago(5), done=ago(4))               # done (late), not open
    world.appeal("acknowledged")
    for which in ("overdue", "supervised"):
        body = client.get(f"/api/v1/analytics/items/{which}", headers=world.headers("leader")).json()
        assert body["tasks_total"] == 1 and body["total"] == body["appeals_total"] + 1
        (item,) = body["tasks"]
        assert item["kind"] == "governance_task" and item["title"] == "整治搅拌站夜间施工"
        assert item["unit"] == "区综合行政执法局" and item["days_overdue"] == 3
        assert item["link"] == f"/staff/governance#task-{late.id}" and item["hotspot"]
    use_session(client, world, "cgj")
    assert f'id="task-{late.id}"' in client.get("/staff/governance").text  # the link's target


def test_an_overdue_task_raises_one_warning_with_its_evidence(world: World) -> None:
    hotspot = hotspot_id(world)
    late = task(world, hotspot, created=ago(20), deadline=ago(3), title="整治搅拌站夜间施工")
    counts = service.detect_warnings(world.session)
    (warning,) = _warnings(world)
    assert counts["created"] >= 1 and warning.severity == "medium" and warning.dimension == "unit"
    assert warning.title == "主动治理任务超期 3 天：区综合行政执法局「整治搅拌站夜间施工」"
    e = warning.evidence
    assert e["task_id"] == late.id and e["unit"] == "区综合行政执法局" and e["days_overdue"] == 3
    assert e["hotspot_id"] == hotspot and "搅拌站" in e["hotspot_title"]
    assert e["deadline"] == clock.local(late.deadline).isoformat() and e["deadline"].endswith("+08:00")
    assert len(warning.appeal_ids) == 3  # the hotspot's appeals
    # Found again: the open warning is brought up to date, not repeated.
    again = service.detect_warnings(world.session, now=clock.now() + timedelta(days=5))
    assert again["updated"] >= 1 and len(_warnings(world)) == 1
    world.session.refresh(warning)
    assert warning.evidence["days_overdue"] == 8 and warning.severity == "high"  # from 7 days on (policy)
    # Closed by a supervisor: the same task is not raised again, however long it stays open.
    service.close_warning(world.session, world.actor("supervisor"), warning.id, "已约谈承办单位，限期整改")
    service.detect_warnings(world.session, now=clock.now() + timedelta(days=20))
    assert len(_warnings(world)) == 1


def test_grace_days_and_the_switch_are_the_admins(world: World) -> None:
    hotspot = hotspot_id(world)
    task(world, hotspot, created=ago(20), deadline=ago(2))
    admin = world.actor("admin")
    service.update_policy(world.session, admin, {"task_overdue": {"grace_days": 3}})
    service.detect_warnings(world.session)
    assert _warnings(world) == []
    service.detect_warnings(world.session, now=clock.now() + timedelta(days=2))
    assert len(_warnings(world)) == 1
    service.update_policy(world.session, admin, {"task_overdue": {"enabled": False}})
    task(world, hotspot, created=ago(20), deadline=ago(10))
    service.detect_warnings(world.session, now=clock.now() + timedelta(days=3))
    assert len(_warnings(world)) == 1


def test_done_or_cancelled_tasks_are_not_warned(world: World) -> None:
    hotspot = hotspot_id(world)
    task(world, hotspot, created=ago(20), deadline=ago(5), done=ago(1))
    task(world, hotspot, created=ago(20), deadline=ago(5), cancelled=ago(1))
    task(world, hotspot, created=ago(20), deadline=clock.now() + timedelta(hours=2))
    service.detect_warnings(world.session)
    assert _warnings(world) == []


def test_the_warning_page_links_the_task(client: TestClient, world: World) -> None:
    hotspot = hotspot_id(world)
    late = task(world, hotspot, created=ago(20), deadline=ago(4), title="整治搅拌站夜间施工")
    service.detect_warnings(world.session)
    (warning,) = _warnings(world)
    use_session(client, world, "supervisor")
    page = client.get(f"/staff/warnings/{warning.id}")
    assert page.status_code == 200 and f'href="/staff/governance#task-{late.id}"' in page.text
    assert f'href="/staff/hotspots/{hotspot}"' in page.text and "区综合行政执法局" in page.text
    assert "主动治理任务超期" in client.get("/staff/warnings").text
    settings = client.get("/staff/analytics/settings")
    assert settings.status_code == 403
    use_session(client, world, "admin")
    assert 'name="task_overdue.grace_days"' in client.get("/staff/analytics/settings").text
