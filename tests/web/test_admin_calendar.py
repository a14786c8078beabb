"""Time limits, the green-channel coordinator and the holiday table with its coverage warning."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sudi.appeals.models import TimeLimitPolicy
from sudi.appeals.service import GREEN_CHANNEL_COORDINATOR_KEY
from sudi.core import clock
from sudi.core.models import Holiday, get_setting
from tests.factories import World
from tests.web.admin_helpers import as_admin, audit_count, field_error
from tests.web.helpers import post_form

POLICY = {"name": "投诉·紧急", "appeal_kind": "", "urgency": "urgent", "appeal_type": "complaint",
          "acknowledge_amount": "1", "acknowledge_unit": "hours", "resolve_amount": "2",
          "resolve_unit": "working_days"}


def _policy_rows(world: World) -> list[tuple]:  # type: ignore[type-arg]
    world.session.rollback()
    world.session.expire_all()
    return [(p.name, p.appeal_kind, p.urgency, p.appeal_type, p.acknowledge_amount, p.acknowledge_unit,
             p.resolve_amount, p.resolve_unit) for p in world.session.scalars(select(TimeLimitPolicy))]


def test_the_policy_table_lists_every_row(client: TestClient, world: World) -> None:
    page = as_admin(client, world).get("/staff/admin/policies").text
    assert "发展诉求·绿色通道" in page and "2 小时" in page and "5 个工作日" in page


def test_create_and_edit_a_policy(client: TestClient, world: World) -> None:
    as_admin(client, world)
    response = post_form(client, "/staff/admin/policies", POLICY)
    assert response.status_code == 303
    assert ("投诉·紧急", None, "urgent", "complaint", 1, "hours", 2, "working_days") in _policy_rows(world)
    assert audit_count(world.session, "set_time_limit_policy") == 1
    row = world.session.scalar(select(TimeLimitPolicy).where(TimeLimitPolicy.appeal_type == "complaint"))
    assert row is not None
    edit = client.get(f"/staff/admin/policies?edit={row.id}").text
    assert 'value="投诉·紧急"' in edit
    post_form(client, "/staff/admin/policies", POLICY | {"resolve_amount": "3"})
    assert ("投诉·紧急", None, "urgent", "complaint", 1, "hours", 3, "working_days") in _policy_rows(world)


def test_bad_policy_values_change_nothing(client: TestClient, world: World) -> None:
    as_admin(client, world)
    before = _policy_rows(world)
    cases = [({"acknowledge_amount": "abc"}, "acknowledge_amount", "请填写数字"),
             ({"resolve_amount": "0"}, "resolve_amount", "时限须为正数"),
             ({"resolve_amount": "1.5"}, "resolve_amount", "工作日须为整数"),
             ({"resolve_amount": "nan"}, "resolve_amount", "请填写数字"),
             ({"acknowledge_unit": "weeks"}, "acknowledge_unit", "时限单位须为"),
             ({"urgency": "whenever"}, "urgency", "紧急程度"),
             ({"name": ""}, "name", "请填写名称")]
    for change, field, message in cases:
        response = post_form(client, "/staff/admin/policies", POLICY | change)
        assert response.status_code == 422, change
        assert message in field_error(response.text, field), (change, field_error(response.text, field))
    assert _policy_rows(world) == before
    assert audit_count(world.session, "set_time_limit_policy") == 0


def test_the_green_channel_coordinator(client: TestClient, world: World) -> None:
    as_admin(client, world)
    assert post_form(client, "/staff/admin/policies/coordinator", {"coordinator": "dispatcher"}).status_code == 303
    assert get_setting(world.session, GREEN_CHANNEL_COORDINATOR_KEY) == "dispatcher"
    assert 'value="dispatcher" selected' in client.get("/staff/admin/policies").text
    response = post_form(client, "/staff/admin/policies/coordinator", {"coordinator": "nobody"})
    assert response.status_code == 422 and "没有启用的用户 nobody" in field_error(response.text, "coordinator")
    world.session.rollback()
    world.session.expire_all()
    assert get_setting(world.session, GREEN_CHANNEL_COORDINATOR_KEY) == "dispatcher"
    assert audit_count(world.session, "set_setting") == 1


def test_coverage_warning_for_an_uncovered_year_goes_once_it_has_entries(client: TestClient, world: World) -> None:
    this_year = clock.local(clock.now()).year
    assert this_year <= 2027 <= this_year + 2
    as_admin(client, world)
    page = client.get("/staff/admin/holidays").text
    assert 'id="coverage-warning-2027"' in page
    assert "2027 年的法定节假日和调休安排尚未录入" in page
    response = post_form(client, "/staff/admin/holidays", {"day": "2027-01-01", "is_workday": "holiday",
                                                           "name": "元旦"})
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert 'id="coverage-warning-2027"' not in page
    assert "2027 年</strong>：由本表覆盖" in page and "元旦" in page
    assert audit_count(world.session, "set_holiday") == 1


def test_add_and_remove_entries(client: TestClient, world: World) -> None:
    as_admin(client, world)
    post_form(client, "/staff/admin/holidays", {"day": "2027-02-06", "is_workday": "workday", "name": "春节调休"})
    world.session.rollback()
    world.session.expire_all()
    row = world.session.get(Holiday, date(2027, 2, 6))
    assert row is not None and row.is_workday
    page = client.get("/staff/admin/holidays?year=2027").text
    assert "调休上班" in page
    response = post_form(client, "/staff/admin/holidays/2027-02-06/delete", {})
    assert response.status_code == 303
    world.session.rollback()
    world.session.expire_all()
    assert world.session.get(Holiday, date(2027, 2, 6)) is None
    assert audit_count(world.session, "delete_holiday") == 1


def test_bad_holiday_input_changes_nothing(client: TestClient, world: World) -> None:
    as_admin(client, world)
    for data, field, message in [({"day": "2027-13-01"}, "day", "请填写日期"),
                                 ({"day": "1800-01-01"}, "day", "日期超出范围"),
                                 ({"day": "2027-01-01", "is_workday": "maybe"}, "is_workday", "请选择")]:
        response = post_form(client, "/staff/admin/holidays", {"is_workday": "holiday", "name": ""} | data)
        assert response.status_code == 422
        assert message in field_error(response.text, field)
    world.session.rollback()
    world.session.expire_all()
    assert world.session.scalar(select(func.count()).select_from(Holiday)) == 0
