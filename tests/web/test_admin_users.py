"""Users and roles: list and filter, create, change role/unit/active, reset the password."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sudi.core import auth
from sudi.directory.models import ApiToken, User
from tests.factories import World
from tests.web.admin_helpers import as_admin, audit_count, field_error
from tests.web.helpers import post_form


def _user(world: World, username: str) -> User:
    world.session.rollback()
    world.session.expire_all()
    user = world.session.scalar(select(User).where(User.username == username))
    assert user is not None
    return user


def test_list_search_and_filter(client: TestClient, world: World) -> None:
    as_admin(client, world)
    link = "/staff/admin/users/{}".format
    page = client.get("/staff/admin/users").text
    assert link("dispatcher") in page and link("grid1") in page
    page = client.get("/staff/admin/users", params={"role": "grid_worker"}).text
    assert link("grid1") in page and link("dispatcher") not in page
    page = client.get("/staff/admin/users", params={"unit": "zjj"}).text
    assert link("zjjlead") in page and link("grid1") not in page
    page = client.get("/staff/admin/users", params={"q": "disp"}).text
    assert "/staff/admin/users/dispatcher" in page and "/staff/admin/users/grid1" not in page


def test_create_a_user(client: TestClient, world: World) -> None:
    as_admin(client, world)
    assert client.get("/staff/admin/users/new").status_code == 200
    response = post_form(client, "/staff/admin/users", {"username": "wang.wu", "full_name": "王五",
                                                        "role": "unit_handler", "unit_code": "cgj",
                                                        "grid_code": "", "password": "chushimima1"})
    assert response.status_code == 303
    user = _user(world, "wang.wu")
    assert user.role == "unit_handler" and user.unit is not None and user.unit.code == "cgj"
    assert auth.verify_password("chushimima1", user.password_hash)
    assert audit_count(world.session, "create_user") >= 1
    assert "用户已创建" in client.get(response.headers["location"]).text


def test_bad_users_are_refused_next_to_the_field(client: TestClient, world: World) -> None:
    as_admin(client, world)
    count = world.session.scalar(select(func.count(User.id)))
    cases = [({"username": "dispatcher"}, "username", "用户名 dispatcher 已存在"),
             ({"username": "Bad Name"}, "username", "用户名须为"),
             ({"password": "short"}, "password", "密码至少 8 位"),
             ({"role": "unit_handler", "unit_code": ""}, "unit_code", "必须属于一个单位"),
             ({"role": "grid_worker", "grid_code": ""}, "grid_code", "网格员必须分配网格")]
    for change, field, message in cases:
        data = {"username": "new.user", "full_name": "新用户", "role": "dispatcher", "unit_code": "centre",
                "grid_code": "", "password": "longenough1"} | change
        response = post_form(client, "/staff/admin/users", data)
        assert response.status_code == 422, change
        assert message in field_error(response.text, field), (change, response.text)
        assert "longenough1" not in response.text
    world.session.rollback()
    world.session.expire_all()
    assert world.session.scalar(select(func.count(User.id))) == count


def test_change_role_unit_and_active(client: TestClient, world: World) -> None:
    as_admin(client, world)
    world.headers("zjj")  # a live session that disabling must end
    response = post_form(client, "/staff/admin/users/zjj", {"full_name": "张工", "role": "unit_leader",
                                                            "unit_code": "cgj"})
    assert response.status_code == 303, response.text
    assert response.headers["location"].endswith("done=user_updated")
    user = _user(world, "zjj")
    assert (user.role, user.unit.code if user.unit else None, user.is_active) == ("unit_leader", "cgj", False)
    assert world.session.scalar(select(func.count(ApiToken.id)).where(ApiToken.user_id == user.id)) == 0
    assert audit_count(world.session, "update_user") == 1


def test_the_admin_cannot_demote_themself(client: TestClient, world: World) -> None:
    as_admin(client, world)
    response = post_form(client, "/staff/admin/users/admin", {"full_name": "admin", "role": "dispatcher",
                                                              "unit_code": "district", "is_active": "on"})
    assert response.status_code == 422 and "不能停用自己或修改自己的角色" in response.text
    assert _user(world, "admin").role == "admin"


def test_a_user_without_a_grid_cannot_become_a_grid_worker(client: TestClient, world: World) -> None:
    as_admin(client, world)
    response = post_form(client, "/staff/admin/users/zjj", {"full_name": "zjj", "role": "grid_worker",
                                                            "unit_code": "zjj", "is_active": "on"})
    assert response.status_code == 422 and "没有分配网格" in field_error(response.text, "role")
    assert _user(world, "zjj").role == "unit_handler"


def test_reset_a_password(client: TestClient, world: World) -> None:
    as_admin(client, world)
    response = post_form(client, "/staff/admin/users/dispatcher/password", {"password": "xinmima-2026"})
    assert response.status_code == 303
    assert auth.verify_password("xinmima-2026", _user(world, "dispatcher").password_hash)
    assert audit_count(world.session, "set_password") == 1
    response = post_form(client, "/staff/admin/users/dispatcher/password", {"password": "short"})
    assert response.status_code == 422 and field_error(response.text, "password") == "密码至少 8 位"
    assert auth.verify_password("xinmima-2026", _user(world, "dispatcher").password_hash)
