"""Units: the tree, create, edit; refusals shown next to the field and nothing changed."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sudi.directory.models import Unit
from tests.factories import World
from tests.web.admin_helpers import as_admin, audit_count, field_error
from tests.web.helpers import post_form


def test_the_tree_shows_units_under_their_parents(client: TestClient, world: World) -> None:
    page = as_admin(client, world).get("/staff/admin/units").text
    assert page.index("区人民政府") < page.index("坛山街道") < page.index("青檀社区")
    assert 'class="depth-2">青檀社区' in page


def test_create_a_unit(client: TestClient, world: World) -> None:
    as_admin(client, world)
    response = post_form(client, "/staff/admin/units", {"code": "tanshan-c02", "name": "东湖社区",
                                                        "kind": "community", "parent_code": "tanshan",
                                                        "phone": "0632-1234567"})
    assert response.status_code == 303
    unit = world.session.scalar(select(Unit).where(Unit.code == "tanshan-c02"))
    assert unit is not None and unit.parent is not None and unit.parent.code == "tanshan"
    assert audit_count(world.session, "create_unit") >= 1
    assert "单位已创建" in client.get(response.headers["location"]).text


def test_a_duplicate_code_is_refused_next_to_the_field(client: TestClient, world: World) -> None:
    as_admin(client, world)
    before = world.session.scalar(select(func.count(Unit.id)))
    audits = audit_count(world.session, "create_unit")
    response = post_form(client, "/staff/admin/units", {"code": "zjj", "name": "另一个住建局",
                                                        "kind": "department", "parent_code": "district"})
    assert response.status_code == 422
    assert "单位编码 zjj 已存在" in field_error(response.text, "code")
    assert 'value="另一个住建局"' in response.text
    world.session.rollback()
    world.session.expire_all()
    assert world.session.scalar(select(func.count(Unit.id))) == before
    assert audit_count(world.session, "create_unit") == audits


def test_missing_fields_are_named(client: TestClient, world: World) -> None:
    as_admin(client, world)
    response = post_form(client, "/staff/admin/units", {"code": "", "name": "", "kind": "nonsense"})
    assert response.status_code == 422
    assert field_error(response.text, "code") == "请填写单位编码"
    assert field_error(response.text, "name") == "请填写单位名称"
    assert field_error(response.text, "kind") == "请选择单位类型"


def test_edit_name_phone_and_active(client: TestClient, world: World) -> None:
    as_admin(client, world)
    response = post_form(client, "/staff/admin/units/cgj", {"name": "区城市管理局", "phone": "12319"})
    assert response.status_code == 303
    world.session.rollback()
    world.session.expire_all()
    unit = world.session.scalar(select(Unit).where(Unit.code == "cgj"))
    assert unit is not None and unit.name == "区城市管理局" and unit.phone == "12319" and not unit.is_active
    assert audit_count(world.session, "update_unit") == 1
    response = post_form(client, "/staff/admin/units/cgj", {"name": "", "is_active": "on"})
    assert response.status_code == 422 and field_error(response.text, "name") == "请填写单位名称"


def test_an_unknown_unit_is_404(client: TestClient, world: World) -> None:
    assert as_admin(client, world).get("/staff/admin/units/nope").status_code == 404
