"""The workbench list (/staff/appeals): roles, filters, presets, pagination, export link, escaping."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.factories import IN_G002, World
from tests.web.helpers import use_session


def _numbers(html: str) -> list[str]:
    return re.findall(r'<a class="mono" href="/staff/appeals/([^"]+)">', html)


def test_the_list_renders_for_appeal_roles_and_refuses_the_mediator(client: TestClient, world: World) -> None:
    world.appeal("received")
    for username in ("admin", "intake", "dispatcher", "supervisor", "leader", "zjj", "grid1"):
        use_session(client, world, username)
        page = client.get("/staff/appeals")
        assert page.status_code == 200, username
        assert "诉求列表" in page.text and 'id="export-link"' in page.text
    use_session(client, world, "mediator")
    assert client.get("/staff/appeals").status_code == 403


def test_anonymous_users_are_sent_to_log_in(client: TestClient) -> None:
    response = client.get("/staff/appeals?queue=dispatch", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=/staff/appeals")


def test_filters_narrow_the_list_and_the_export_link_keeps_them(client: TestClient, world: World) -> None:
    received = world.appeal("received", title="路灯不亮")
    accepted = world.appeal("accepted", title="噪音扰民")
    other_grid = world.appeal("received", title="井盖缺失", point=IN_G002)
    use_session(client, world, "dispatcher")
    page = client.get("/staff/appeals?state=received").text
    assert set(_numbers(page)) == {received.number, other_grid.number}
    assert "/api/v1/appeals/export.xlsx?state=received" in page
    assert _numbers(client.get("/staff/appeals?q=噪音").text) == [accepted.number]
    assert _numbers(client.get("/staff/appeals?grid=G002").text) == [other_grid.number]
    assert _numbers(client.get("/staff/appeals?town=wulin").text) == [other_grid.number]
    assert _numbers(client.get("/staff/appeals?kind=development").text) == []
    dated = client.get("/staff/appeals?date_from=2000-01-01&date_to=2199-12-31&channel=hotline").text
    assert len(_numbers(dated)) == 3
    bad = client.get("/staff/appeals?unit=nosuchunit")
    assert bad.status_code == 422 and "nosuchunit" in bad.text


def test_presets_and_pagination(client: TestClient, world: World) -> None:
    for _ in range(3):
        world.appeal("accepted")
    world.appeal("returned")
    world.appeal("received")
    use_session(client, world, "dispatcher")
    page = client.get("/staff/appeals?queue=dispatch&page_size=20").text
    assert len(_numbers(page)) == 4 and "待派单" in page
    many = [world.appeal("received").number for _ in range(21)]
    first = client.get("/staff/appeals?state=received").text
    assert len(_numbers(first)) == 20 and "第 1 / 2 页" in first and 'rel="next"' in first
    second = client.get("/staff/appeals?state=received&page=2").text
    assert len(_numbers(second)) == 2 and 'rel="prev"' in second
    assert set(_numbers(first) + _numbers(second)) >= set(many)
    assert len(_numbers(client.get("/staff/appeals?state=received&page_size=50").text)) == 22


def test_the_unit_inbox_lists_only_its_own_appeals_with_a_countdown(client: TestClient, world: World) -> None:
    mine = world.appeal("dispatched", unit="zjj")
    world.appeal("dispatched", unit="cgj")
    use_session(client, world, "zjj")
    page = client.get("/staff/appeals?queue=inbox").text
    assert _numbers(page) == [mine.number]
    assert "签收 剩余" in page


def test_the_follow_up_queue_shows_the_phone_to_call(client: TestClient, world: World) -> None:
    done = world.appeal("resolved")
    world.appeal("acknowledged")
    use_session(client, world, "supervisor")
    page = client.get("/staff/appeals?queue=followup").text
    assert _numbers(page) == [done.number]
    assert "13812345678" in page and "市民电话" in page


def test_overdue_and_supervised_queues(client: TestClient, world: World) -> None:
    from sudi.appeals import service

    late = world.appeal("acknowledged")
    late.is_overdue = True
    world.session.commit()
    watched = world.appeal("acknowledged")
    service.perform_action(world.session, world.actor("supervisor"), watched.number,
                           {"action": "supervise", "reason": "群众反映强烈"})
    use_session(client, world, "supervisor")
    assert _numbers(client.get("/staff/appeals?queue=overdue").text) == [late.number]
    assert _numbers(client.get("/staff/appeals?queue=supervised").text) == [watched.number]


def test_titles_show_as_text(client: TestClient, world: World) -> None:
    world.appeal("received", title="<script>alert(1)</script>")
    use_session(client, world, "dispatcher")
    page = client.get("/staff/appeals").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page


def test_every_landing_queue_and_nav_item_opens_a_workbench_page(client: TestClient, world: World) -> None:
    from sudi.web.navigation import nav_for, queues_for

    world.appeal("resolved")
    for username in ("admin", "intake", "dispatcher", "supervisor", "leader", "zjj", "zjjlead", "grid1"):
        use_session(client, world, username)
        actor = world.actor(username)
        hrefs = [q.href() for q in queues_for(actor)]
        hrefs += [item.href for item in nav_for(actor)
                  if item.href.startswith("/staff") and not item.href.startswith("/staff/admin")]
        for href in hrefs:
            assert href.startswith("/staff"), href
            assert client.get(href).status_code == 200, (username, href)
        assert 'href="/staff/appeals"' in client.get("/staff").text


def test_every_staff_member_reads_the_duty_list(client: TestClient, world: World) -> None:
    from sudi.directory.service import upsert_matter

    upsert_matter(world.session, world.actor("admin"), code="M-TEST-1", name="占道经营", responsible_unit="cgj",
                  keywords=["占道", "摆摊"], legal_basis="《城市市容和环境卫生管理条例》第十四条")
    use_session(client, world, "zjj")
    home = client.get("/staff").text
    assert 'href="/staff/matters"' in home and "/api/v1/matters" not in home
    page = client.get("/staff/matters", params={"q": "摆摊"})
    assert page.status_code == 200
    assert "占道经营" in page.text and "第十四条" in page.text and "在系统管理中编辑" not in page.text
