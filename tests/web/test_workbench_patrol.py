"""The grid worker's patrol page: report with photo and point; the map lists only the grid's appeals."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from sudi.appeals.models import Appeal, Attachment
from tests.factories import IN_G001, IN_G002, World
from tests.web.helpers import post_form, use_session

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def test_the_patrol_page_is_for_grid_workers_only(client: TestClient, world: World) -> None:
    use_session(client, world, "grid1")
    page = client.get("/staff/patrol")
    assert page.status_code == 200 and 'data-markers="/staff/patrol/appeals.json"' in page.text
    for username in ("dispatcher", "zjj", "intake"):
        use_session(client, world, username)
        assert client.get("/staff/patrol").status_code == 403
        assert client.get("/staff/patrol/appeals.json").status_code == 403


def test_the_map_json_lists_only_the_grid_workers_appeals(client: TestClient, world: World) -> None:
    mine = world.appeal("dispatched", point=IN_G001, title="电话13812345678")
    other = world.appeal("received", point=IN_G002)
    use_session(client, world, "grid1")
    data = client.get("/staff/patrol/appeals.json").json()
    assert [i["number"] for i in data["items"]] == [mine.number]
    assert set(data["items"][0]) == {"number", "title", "state", "state_label", "lat", "lon"}
    assert "13812345678" not in data["items"][0]["title"]
    use_session(client, world, "grid2")
    assert [i["number"] for i in client.get("/staff/patrol/appeals.json").json()["items"]] == [other.number]


def test_a_report_with_photo_and_point(client: TestClient, world: World) -> None:
    use_session(client, world, "grid1")
    key = re.search(r'name="idempotency_key" value="([^"]+)"', client.get("/staff/patrol").text)
    assert key
    form = {"idempotency_key": key.group(1), "title": "井盖破损", "content": "青檀路口井盖破损，有安全隐患。",
            "lat": str(IN_G001[0]), "lon": str(IN_G001[1])}
    response = post_form(client, "/staff/patrol", form, files=[("photos", ("现场.png", PNG, "image/png"))])
    assert response.status_code == 303, response.text
    again = post_form(client, "/staff/patrol", form, files=[("photos", ("现场.png", PNG, "image/png"))])
    assert again.headers["location"] == response.headers["location"]
    world.session.rollback()
    (appeal,) = world.session.scalars(select(Appeal)).all()
    assert appeal.channel == "grid_patrol" and appeal.grid is not None and appeal.grid.code == "G001"
    assert len(world.session.scalars(select(Attachment)).all()) == 1
    page = client.get(response.headers["location"]).text
    assert "井盖破损" in page and f"/api/v1/appeals/{appeal.number}/attachments/" in page
    bad = post_form(client, "/staff/patrol", {**form, "title": ""})
    assert bad.status_code == 422 and "请填写标题" in bad.text
