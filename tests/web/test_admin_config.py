"""Taxonomy, API keys and the settings."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from sudi.appeals.models import Category
from sudi.core.models import get_setting
from sudi.directory.models import ApiKey
from sudi.directory.service import api_key_for
from tests.factories import World
from tests.web.admin_helpers import as_admin, audit_count, field_error
from tests.web.helpers import post_form


def _category(world: World, full_name: str) -> Category | None:
    world.session.rollback()
    world.session.expire_all()
    return world.session.scalar(select(Category).where(Category.full_name == full_name))


def test_the_category_tree_add_and_deactivate(client: TestClient, world: World) -> None:
    as_admin(client, world)
    page = client.get("/staff/admin/categories").text
    assert page.index("城乡建设") < page.index("房地产管理") < page.index("物业管理")
    response = post_form(client, "/staff/admin/categories", {"level1": "城乡建设", "level2": "房地产管理",
                                                             "level3": "电梯维修"})
    assert response.status_code == 303
    node = _category(world, "城乡建设/房地产管理/电梯维修")
    assert node is not None and node.level == 3 and node.is_active
    assert audit_count(world.session, "upsert_category") == 1
    parent = _category(world, "城乡建设/房地产管理")
    assert parent is not None
    response = post_form(client, f"/staff/admin/categories/{parent.code}/active", {"is_active": "0"})
    assert response.status_code == 303
    assert not _category(world, "城乡建设/房地产管理").is_active  # type: ignore[union-attr]
    assert not _category(world, "城乡建设/房地产管理/电梯维修").is_active  # type: ignore[union-attr]
    assert _category(world, "城乡建设").is_active  # type: ignore[union-attr]
    assert audit_count(world.session, "deactivate_category") == 1
    post_form(client, f"/staff/admin/categories/{node.code}/active", {"is_active": "1"})
    assert _category(world, "城乡建设/房地产管理").is_active  # type: ignore[union-attr]


def test_a_bad_category_path_is_refused(client: TestClient, world: World) -> None:
    as_admin(client, world)
    response = post_form(client, "/staff/admin/categories", {"level1": "", "level2": "", "level3": "孤儿"})
    assert response.status_code == 422
    assert field_error(response.text, "level1") == "请填写一级分类"
    assert field_error(response.text, "level2") == "填写三级分类前请先填写二级分类"
    assert audit_count(world.session, "upsert_category") == 0


def test_an_api_key_is_shown_once_and_can_be_revoked(client: TestClient, world: World) -> None:
    as_admin(client, world)
    response = post_form(client, "/staff/admin/api-keys", {"name": "融媒体App", "channel": "app"})
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    key = re.search(r'<p class="secret" id="new-key">([^<]+)</p>', response.text)
    assert key
    row = api_key_for(world.session, key.group(1))
    assert row.name == "融媒体App"
    assert audit_count(world.session, "create_api_key") >= 1
    listing = client.get("/staff/admin/api-keys").text
    assert "融媒体App" in listing and key.group(1) not in listing
    response = post_form(client, f"/staff/admin/api-keys/{row.id}/revoke", {})
    assert response.status_code == 303
    world.session.rollback()
    world.session.expire_all()
    assert not world.session.get(ApiKey, row.id).is_active  # type: ignore[union-attr]
    assert audit_count(world.session, "revoke_api_key") == 1
    response = post_form(client, "/staff/admin/api-keys", {"name": "", "channel": "carrier-pigeon"})
    assert response.status_code == 422 and field_error(response.text, "name") and field_error(response.text, "channel")


def test_settings_are_saved_and_bad_values_refused(client: TestClient, world: World) -> None:
    as_admin(client, world)
    page = client.get("/staff/admin/settings").text
    assert 'value="YC"' in page and 'value="1"' in page
    assert post_form(client, "/staff/admin/settings/public_resolved_list",
                     {"public_resolved_list": "on"}).status_code == 303
    assert post_form(client, "/staff/admin/settings/auto_reopen_limit", {"auto_reopen_limit": "2"}).status_code == 303
    assert post_form(client, "/staff/admin/settings/number_prefix", {"number_prefix": "TS"}).status_code == 303
    assert post_form(client, "/staff/admin/settings/open311_contact",
                     {"open311_contact": "坛山区 12345"}).status_code == 303
    world.session.rollback()
    world.session.expire_all()
    assert [get_setting(world.session, k) for k in ("public_resolved_list", "auto_reopen_limit", "number_prefix",
                                                    "open311_contact")] == [True, 2, "TS", "坛山区 12345"]
    assert audit_count(world.session, "set_setting") == 4
    for key, value, message in [("auto_reopen_limit", "11", "须为 0–10 的整数"), ("auto_reopen_limit", "x", "须为"),
                                ("number_prefix", "ts1", "编号前缀须为 1–8 个大写英文字母"),
                                ("open311_contact", "", "联系方式须为")]:
        response = post_form(client, f"/staff/admin/settings/{key}", {key: value})
        assert response.status_code == 422, key
        assert message in field_error(response.text, key), (key, response.text[-3000:])
    world.session.rollback()
    world.session.expire_all()
    assert get_setting(world.session, "number_prefix") == "TS" and get_setting(world.session, "auto_reopen_limit") == 2
    assert audit_count(world.session, "set_setting") == 4
    assert post_form(client, "/staff/admin/settings/public_resolved_list", {}).status_code == 303
    world.session.rollback()
    world.session.expire_all()
    assert get_setting(world.session, "public_resolved_list") is False
