"""Role-aware navigation and the staff landing page: what a role cannot use is absent."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from sudi.directory.models import Role
from sudi.web.navigation import NAV_ITEMS, nav_for, queues_for
from tests.factories import World
from tests.web.helpers import use_session

ADMIN_ITEMS = [item for item in NAV_ITEMS if item.group == "admin"]


def _nav_html(html: str) -> str:
    match = re.search(r'<nav class="staff-nav".*?</nav>', html, re.S)
    assert match, "no staff navigation"
    return match.group(0)


def _counts(html: str) -> dict[str, str]:
    pattern = r'<span class="n">(\d+)</span>\s*<span class="name">([^<]+)</span>'
    return {name: n for n, name in re.findall(pattern, html)}


def test_a_unit_handler_sees_no_admin_items_at_all(client: TestClient, world: World) -> None:
    use_session(client, world, "zjj")
    page = client.get("/staff")
    assert page.status_code == 200
    for item in ADMIN_ITEMS:
        assert item.href not in page.text, item.key
        assert item.label not in page.text, item.key
    assert "系统管理" not in page.text
    nav = _nav_html(page.text)
    assert 'href="/staff"' in nav and 'aria-current="page"' in nav


def test_an_admin_sees_the_admin_items(client: TestClient, world: World) -> None:
    use_session(client, world, "admin")
    nav = _nav_html(client.get("/staff").text)
    assert "系统管理" in nav
    for item in ADMIN_ITEMS:
        assert f'href="{item.href}"' in nav


def test_nav_for_filters_by_role(world: World) -> None:
    for role in Role:
        actor = world.actor(next(u for u, user in world.users.items() if user.role == role))
        keys = {item.key for item in nav_for(actor)}
        assert "home" in keys
        assert ("users" in keys) == (role == Role.admin)
        assert ("appeals" in keys) == (role != Role.mediator)


def test_the_dispatcher_landing_counts_what_waits(client: TestClient, world: World) -> None:
    for _ in range(2):
        world.appeal("received")
    world.appeal("accepted")
    world.appeal("returned")
    use_session(client, world, "dispatcher")
    page = client.get("/staff").text
    counts = _counts(page)
    assert counts["待受理"] == "2"
    assert counts["待派单"] == "1"
    assert counts["退单待审定"] == "1"
    assert "/staff/appeals?state=accepted&amp;state=triaged" in page
    assert "最近更新" in page


def test_a_unit_landing_counts_only_its_own_inbox(client: TestClient, world: World) -> None:
    world.appeal("dispatched", unit="zjj")
    world.appeal("dispatched", unit="cgj")
    world.appeal("acknowledged", unit="zjj")
    use_session(client, world, "zjj")
    page = client.get("/staff").text
    assert _counts(page) == {"待签收": "1", "办理中": "1", "已超期": "0"}
    assert "待受理" not in page


def test_a_mediator_gets_an_honest_landing(client: TestClient, world: World) -> None:
    use_session(client, world, "mediator")
    page = client.get("/staff")
    assert page.status_code == 200 and "暂无诉求办理权限" in page.text
    assert queues_for(world.actor("mediator")) == []


def test_titles_on_the_landing_are_escaped_and_masked_for_units(client: TestClient, world: World) -> None:
    world.appeal("dispatched", unit="cgj", title="<b>电话13812345678</b>")
    use_session(client, world, "cgj")
    page = client.get("/staff").text
    assert "&lt;b&gt;" in page and "<b>电话" not in page
    assert "13812345678" in page  # the lead unit calls the citizen back: it may see the number
    use_session(client, world, "leader")
    assert "138****5678" in client.get("/staff").text
