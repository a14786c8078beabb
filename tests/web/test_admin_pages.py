"""Every admin page: 200 for the admin, the 403 page for other roles, absent from their navigation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from sudi.web.navigation import NAV_ITEMS
from tests.factories import World
from tests.web.helpers import use_session

PAGES = ["/staff/admin", "/staff/admin/units", "/staff/admin/units/zjj", "/staff/admin/users",
         "/staff/admin/users/new", "/staff/admin/users/zjj", "/staff/admin/policies",
         "/staff/admin/holidays", "/staff/admin/holidays?year=2027", "/staff/admin/categories",
         "/staff/admin/api-keys", "/staff/admin/settings", "/staff/admin/matters",
         "/staff/admin/matters/new", "/staff/admin/matters/M-WFJS", "/staff/admin/matters/export.xlsx",
         "/staff/admin/grids", "/staff/admin/grids.geojson", "/staff/admin/audit",
         "/staff/admin/audit?type=unit&page=2"]


@pytest.mark.parametrize("path", PAGES)
def test_the_admin_opens_every_admin_page(client: TestClient, world: World, path: str) -> None:
    use_session(client, world, "admin")
    page = client.get(path)
    assert page.status_code == 200, page.text
    if page.headers["content-type"].startswith("text/html"):
        assert "系统管理" in page.text


@pytest.mark.parametrize("username", ["dispatcher", "zjj", "grid1", "supervisor"])
def test_other_roles_get_the_403_page(client: TestClient, world: World, username: str) -> None:
    use_session(client, world, username)
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 403, path
        assert "无权访问" in page.text


def test_nobody_signed_in_is_sent_to_log_in(client: TestClient, world: World) -> None:
    page = client.get("/staff/admin/units", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_admin_pages_are_absent_from_the_dispatchers_navigation(client: TestClient, world: World) -> None:
    use_session(client, world, "dispatcher")
    home = client.get("/staff").text
    assert "/staff/admin" not in home
    assert "系统管理" not in home
    use_session(client, world, "admin")
    home = client.get("/staff").text
    for item in NAV_ITEMS:
        if item.group == "admin":
            assert f'href="{item.href}"' in home
