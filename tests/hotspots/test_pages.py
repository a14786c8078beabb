"""The hotspot board, a hotspot's page, the governance task list and the admin's parameters, over HTTP."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from fastapi.testclient import TestClient

from sudi.core import clock
from sudi.hotspots import service
from tests.factories import World
from tests.hotspots.factories import NOISE
from tests.hotspots.factories import hotspot_id as make_hotspot
from tests.web.helpers import post_form, use_session


def test_board_shows_ranked_hotspots_with_map_and_timeline_data(client: TestClient, world: World) -> None:
    hotspot_id = make_hotspot(world)
    use_session(client, world, "leader")
    page = client.get("/staff/hotspots")
    assert page.status_code == 200 and "丽发新城" in page.text and f"/staff/hotspots/{hotspot_id}" in page.text
    points = json.loads(re.search(r'id="hotspot-points">(.*?)</script>', page.text, re.S).group(1))  # type: ignore[union-attr]
    assert len(points) == len(NOISE) and points[0]["rank"] == 1
    assert "hotspot-timeline-data" in page.text and "js/hotspots.js" in page.text
    assert 'href="/staff/hotspots"' in page.text  # the navigation item


def test_board_is_refused_to_unit_staff(client: TestClient, world: World) -> None:
    use_session(client, world, "zjj")
    assert client.get("/staff/hotspots").status_code == 403


def test_hotspot_becomes_a_task_the_unit_completes(client: TestClient, world: World) -> None:
    hotspot_id = make_hotspot(world)
    unit_id = world.users["cgj"].unit_id
    world.headers("cgj")  # its token now: the test's session must not write after the app did
    use_session(client, world, "dispatcher")
    page = client.get(f"/staff/hotspots/{hotspot_id}")
    assert page.status_code == 200 and "转为主动治理任务" in page.text
    bad = post_form(client, f"/staff/hotspots/{hotspot_id}/task", {"unit": "", "deadline": "", "instructions": ""})
    assert bad.status_code == 422 and "请选择承办单位" in bad.text
    deadline = (clock.local(clock.now()) + timedelta(days=7)).date().isoformat()
    done = post_form(client, f"/staff/hotspots/{hotspot_id}/task",
                     {"unit": str(unit_id), "deadline": deadline, "instructions": "夜间停工"})
    assert done.status_code == 303
    client.cookies.clear()
    use_session(client, world, "cgj")
    tasks = client.get("/staff/governance")
    assert tasks.status_code == 200 and "夜间停工" in tasks.text
    task_id = int(re.search(r'/staff/governance/(\d+)/complete', tasks.text).group(1))  # type: ignore[union-attr]
    assert post_form(client, f"/staff/governance/{task_id}/complete", {"result": "短"}).status_code == 422
    ok = post_form(client, f"/staff/governance/{task_id}/complete", {"result": "已责令搅拌站夜间停工"})
    assert ok.status_code == 303
    assert "已完成" in client.get("/staff/governance").text


def test_api_lists_details_and_assigns(client: TestClient, world: World) -> None:
    hotspot_id = make_hotspot(world)
    headers = world.headers("supervisor")
    listed = client.get("/api/v1/hotspots?top=5", headers=headers)
    assert listed.status_code == 200 and listed.json()[0]["id"] == hotspot_id and listed.json()[0]["rank"] == 1
    detail = client.get(f"/api/v1/hotspots/{hotspot_id}", headers=headers).json()
    assert len(detail["members"]) == len(NOISE) and detail["timeline"]
    deadline = (clock.local(clock.now()) + timedelta(days=7)).date().isoformat()
    created = client.post(f"/api/v1/hotspots/{hotspot_id}/governance-tasks", headers=headers,
                          json={"unit": "cgj", "deadline": deadline, "instructions": "源头治理"})
    assert created.status_code == 201 and created.json()["state"] == "open"
    theme = client.post(f"/api/v1/hotspots/{hotspot_id}/monthly-theme", headers=headers, json={"month": "2026-11"})
    assert theme.status_code == 200 and theme.json()["hotspot_id"] == hotspot_id
    assert client.get("/api/v1/hotspots", headers=world.headers("zjj")).status_code == 403
    assert client.get("/api/v1/hotspots/424242", headers=headers).status_code == 404
    assert client.put("/api/v1/hotspots/params", headers=headers, json={"window_days": 3}).status_code == 403
    put = client.put("/api/v1/hotspots/params", headers=world.headers("admin"), json={"window_days": 45})
    assert put.status_code == 200 and put.json()["window_days"] == 45


def test_admin_edits_parameters_in_a_form(client: TestClient, world: World) -> None:
    use_session(client, world, "admin")
    page = client.get("/staff/admin/hotspots")
    assert page.status_code == 200 and "热度半衰期" in page.text
    bad = post_form(client, "/staff/admin/hotspots", {"similarity": "5"})
    assert bad.status_code == 422 and "0 到 1" in bad.text
    weighed = post_form(client, "/staff/admin/hotspots", {"half_life_days": "30"})
    assert weighed.status_code == 303 and weighed.headers["location"].endswith("saved=1")
    assert service.hotspot_params(world.session).half_life_days == 30
    reclustered = post_form(client, "/staff/admin/hotspots", {"window_days": "45"})
    assert reclustered.status_code == 303 and "saved=params-refresh" in reclustered.headers["location"]
    assert "已自动请求全量重算" in client.get(reclustered.headers["location"]).text
    assert "每晚全量重算" in page.text and "立即全量重算" in page.text and "尚未计算" in page.text
    late = post_form(client, "/staff/admin/hotspots", {"full_recompute_hour": "25"})
    assert late.status_code == 422 and "-1 到 23" in late.text
    assert post_form(client, "/staff/admin/hotspots", {"full_recompute_hour": "1"}).status_code == 303
    world.session.rollback()   # a new snapshot: the request wrote in another connection
    assert service.hotspot_schedule(world.session)["full_recompute_hour"] == 1
    asked = post_form(client, "/staff/admin/hotspots/refresh", {})
    assert asked.status_code == 303 and "saved=refresh" in asked.headers["location"]
    page = client.get(asked.headers["location"])
    assert "已请求全量重算" in page.text and "请求重算" in page.text
