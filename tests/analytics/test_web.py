"""Who may see the dashboards and the warning queue, over the API and the web; the pages render."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sudi.analytics import service
from sudi.analytics.models import EarlyWarning
from sudi.core.models import AuditEntry
from tests.factories import World
from tests.web.helpers import post_form, use_session

ENDPOINTS = ["summary?period=30d", "trend?grain=day", "trend?grain=month&period=365d", "mix/category",
             "mix/channel", "units?period=month", "grids?period=90d", "grids.geojson", "hotspots", "items/overdue",
             "items/supervised", "live", "warnings", "policy"]


def _warned(world: World) -> EarlyWarning:
    for _ in range(3):
        world.appeal("received", citizen_phone="13900004444")
    service.detect_warnings(world.session)
    return world.session.scalars(select(EarlyWarning)).one()


@pytest.mark.parametrize("username", ["leader", "supervisor", "admin", "dispatcher"])
def test_centre_roles_read_every_dashboard_endpoint(client: TestClient, world: World, username: str) -> None:
    world.appeal("dispatched")
    service.rebuild_all(world.session)
    for path in ENDPOINTS:
        response = client.get(f"/api/v1/analytics/{path}", headers=world.headers(username))
        assert response.status_code == 200, (path, response.text)
    body = client.get("/api/v1/analytics/summary?period=7d", headers=world.headers(username)).json()
    assert body["received"] == 1 and body["live"]["open"] == 1
    hot = client.get("/api/v1/analytics/hotspots", headers=world.headers(username)).json()
    assert hot["source"] == "rollup" and "board" in hot  # the board is None until hotspots are found
    geo = client.get("/api/v1/analytics/grids.geojson", headers=world.headers(username)).json()
    assert {f["properties"]["code"] for f in geo["features"]} == {"G001", "G002"}


@pytest.mark.parametrize("username", ["zjj", "grid1", "intake", "mediator"])
def test_other_roles_are_refused(client: TestClient, world: World, username: str) -> None:
    for path in ("summary", "grids.geojson", "warnings", "live"):
        assert client.get(f"/api/v1/analytics/{path}", headers=world.headers(username)).status_code == 403
    use_session(client, world, username)
    for page in ("/staff/dashboard", "/staff/wall", "/staff/warnings"):
        assert client.get(page).status_code == 403, page


def test_bad_parameters_are_bilingual_422s(client: TestClient, world: World) -> None:
    headers = world.headers("leader")
    for path in ("summary?period=abc", "trend?grain=week", "mix/colour", "summary?from=2026-13-01",
                 "items/everything"):
        response = client.get(f"/api/v1/analytics/{path}", headers=headers)
        assert response.status_code == 422, path
        assert response.json()["error"]["message"] and response.json()["error"]["message_en"]


def test_the_dashboard_and_the_wall_render(client: TestClient, world: World) -> None:
    use_session(client, world, "leader")
    page = client.get("/staff/dashboard?period=90d")
    assert page.status_code == 200
    assert 'data-chart="trend"' in page.text and 'id="heat-map"' in page.text and "/static/js/dashboard.js" in page.text
    assert 'href="/staff/dashboard"' in page.text  # in the leader's navigation
    wall = client.get("/staff/wall")
    assert wall.status_code == 200
    assert '<body class="wall">' in wall.text and 'data-theme="dark"' in wall.text
    assert 'data-refresh="15"' in wall.text  # the admin's refresh interval (display.wall_refresh_seconds)
    assert "http://" not in wall.text.replace("http://testserver", "") and "https://" not in wall.text
    for asset in ("/static/js/dashboard.js", "/static/dashboard.css", "/static/vendor/echarts/echarts.min.js"):
        assert client.get(asset).status_code == 200


def test_the_warning_queue_shows_evidence_and_a_supervisor_closes_with_a_note(client: TestClient,
                                                                               world: World) -> None:
    warning = _warned(world)
    use_session(client, world, "supervisor")
    queue = client.get("/staff/warnings")
    assert queue.status_code == 200 and warning.title in queue.text and "13900004444" not in queue.text
    detail = client.get(f"/staff/warnings/{warning.id}")
    assert detail.status_code == 200 and "139****4444" in detail.text and "关闭预警" in detail.text
    refused = post_form(client, f"/staff/warnings/{warning.id}/close", {"note": ""})
    assert refused.status_code == 422 and "关闭预警须填写处理说明" in refused.text
    done = post_form(client, f"/staff/warnings/{warning.id}/close", {"note": "已核实，系同一问题多次反映"})
    assert done.status_code == 303
    world.session.refresh(warning)
    assert warning.state == "closed"
    assert world.session.scalars(select(AuditEntry).where(AuditEntry.action == "close_warning")).one()


def test_a_leader_sees_the_queue_but_cannot_act(client: TestClient, world: World) -> None:
    warning = _warned(world)
    use_session(client, world, "leader")
    detail = client.get(f"/staff/warnings/{warning.id}")
    assert detail.status_code == 200 and "关闭预警" not in detail.text
    assert post_form(client, f"/staff/warnings/{warning.id}/acknowledge", {"note": ""}).status_code == 403
    api = client.post(f"/api/v1/analytics/warnings/{warning.id}/acknowledge", headers=world.headers("leader"))
    assert api.status_code == 403
    ok = client.post(f"/api/v1/analytics/warnings/{warning.id}/acknowledge", headers=world.headers("supervisor"),
                     json={"note": "收到"})
    assert ok.status_code == 200 and ok.json()["state"] == "acknowledged"


def test_the_admin_edits_thresholds_and_keywords_through_the_form(client: TestClient, world: World) -> None:
    use_session(client, world, "admin")
    page = client.get("/staff/analytics/settings")
    assert page.status_code == 200 and "预警设置" in page.text
    form = {name: value for name, value in _form_values(world).items()}
    form["spike.min_ratio"] = "abc"
    bad = post_form(client, "/staff/analytics/settings", form)
    assert bad.status_code == 422 and "spike.min_ratio 应为数字" in bad.text
    form["spike.min_ratio"] = "2.5"
    form["sensitive.petition"] = "上访\n进京  到省\n赴省"
    assert post_form(client, "/staff/analytics/settings", form).status_code == 303
    world.session.rollback()  # end the test's read snapshot (SQLite WAL) to see the page's write
    policy = service.get_policy(world.session)
    assert policy["spike"]["min_ratio"] == 2.5 and policy["sensitive"]["petition"] == ["上访", "进京", "到省", "赴省"]
    use_session(client, world, "supervisor")
    assert client.get("/staff/analytics/settings").status_code == 403


def _form_values(world: World) -> dict[str, str]:
    from sudi.analytics.views import _settings_form

    values = _settings_form(service.get_policy(world.session)).values
    return {k: v for k, v in values.items() if v != ""}
