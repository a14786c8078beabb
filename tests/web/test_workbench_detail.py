"""One appeal on the workbench: what each role sees, and every main action through its form."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from sudi.appeals import service
from sudi.appeals.models import Appeal
from tests.factories import World
from tests.web.helpers import post_form, use_session


def _forms(html: str) -> set[str]:
    return set(re.findall(r'action="/staff/appeals/[^/]+/actions/([a-z_]+)" class="action-form"', html))


def _state(world: World, number: str) -> str:
    world.session.rollback()
    appeal = world.session.query(Appeal).filter_by(number=number).one()
    return appeal.state


def test_a_unit_handler_on_a_dispatched_appeal_sees_acknowledge_and_return_only(client: TestClient,
                                                                                world: World) -> None:
    appeal = world.appeal("dispatched", unit="zjj")
    use_session(client, world, "zjj")
    page = client.get(f"/staff/appeals/{appeal.number}")
    assert page.status_code == 200
    assert _forms(page.text) == {"acknowledge", "return", "note"}
    assert "dispatch" not in _forms(page.text) and "派单建议" not in page.text


def test_the_dispatcher_sees_routing_forms_and_suggestions(client: TestClient, world: World) -> None:
    appeal = world.appeal("accepted", title="小区物业不作为", content="物业公司长期不打扫楼道，垃圾堆积。")
    use_session(client, world, "dispatcher")
    page = client.get(f"/staff/appeals/{appeal.number}").text
    assert {"triage", "dispatch", "reject", "merge", "note"} <= _forms(page)
    assert "acknowledge" not in _forms(page)
    assert "派单建议" in page and "M-WYGL" in page and "命中关键词：物业" in page and "《物业管理条例》第五条" in page
    assert "按此建议派单" in page
    assert re.search(r'<option value="zjj" selected>', page)  # the dispatch form is prefilled
    assert 'id="appeal-map"' in page and 'data-geojson="/api/v1/public/territory"' in page
    for label in ("受理", "研判", "分流", "督办", "反馈", "考评"):
        assert f"<strong>{label}</strong>" in page


def test_others_cannot_open_an_appeal_they_cannot_see(client: TestClient, world: World) -> None:
    appeal = world.appeal("dispatched", unit="zjj")
    use_session(client, world, "cgj")
    assert client.get(f"/staff/appeals/{appeal.number}").status_code == 403
    use_session(client, world, "mediator")
    assert client.get(f"/staff/appeals/{appeal.number}").status_code == 403
    use_session(client, world, "zjj")
    assert client.get("/staff/appeals/YC20990101-00001").status_code == 404


def test_the_phone_is_masked_for_those_who_do_not_call(client: TestClient, world: World) -> None:
    appeal = world.appeal("dispatched", unit="zjj", assisting_units=["cgj"])
    use_session(client, world, "cgj")  # assisting unit
    page = client.get(f"/staff/appeals/{appeal.number}").text
    assert "138****5678" in page and "13812345678" not in page
    assert "contribute" in _forms(page)
    use_session(client, world, "zjj")  # lead unit
    assert "13812345678" in client.get(f"/staff/appeals/{appeal.number}").text


def test_the_main_path_through_the_web(client: TestClient, world: World) -> None:
    number = world.appeal("received").number
    use_session(client, world, "dispatcher")
    response = post_form(client, f"/staff/appeals/{number}/actions/accept", {"comment": "受理"})
    assert response.status_code == 303 and response.headers["location"].startswith(f"/staff/appeals/{number}")
    assert _state(world, number) == "accepted"
    assert "已受理。" in client.get(response.headers["location"]).text
    response = post_form(client, f"/staff/appeals/{number}/actions/dispatch",
                         {"unit": "zjj", "assisting_units": ["cgj"], "matter": "M-WYGL"})
    assert response.status_code == 303, response.text
    assert _state(world, number) == "dispatched"
    use_session(client, world, "zjj")
    assert post_form(client, f"/staff/appeals/{number}/actions/acknowledge", {}).status_code == 303
    assert _state(world, number) == "acknowledged"
    page = client.get(f"/staff/appeals/{number}").text
    assert "resolve" in _forms(page) and "without_assistants" in page and 'data-insert-template' in page
    refused = post_form(client, f"/staff/appeals/{number}/actions/resolve",
                        {"reply": "经现场核查，已安排维修人员更换路灯，现已恢复照明。"})
    assert refused.status_code == 409 and "协办单位尚未反馈" in refused.text
    assert "经现场核查" in refused.text  # the typed reply is kept
    assert _state(world, number) == "acknowledged"
    response = post_form(client, f"/staff/appeals/{number}/actions/resolve",
                         {"reply": "经现场核查，已安排维修人员更换路灯，现已恢复照明。", "without_assistants": "on"})
    assert response.status_code == 303
    assert _state(world, number) == "resolved"
    use_session(client, world, "intake")
    response = post_form(client, f"/staff/appeals/{number}/actions/follow_up",
                         {"solved": "yes", "satisfaction": "satisfied", "comment": "很满意"})
    assert response.status_code == 303
    assert _state(world, number) == "followed_up"
    page = client.get(f"/staff/appeals/{number}").text
    assert "很满意" in page and "办理轨迹" in page


def test_a_refused_action_shows_the_chinese_message(client: TestClient, world: World) -> None:
    number = world.appeal("dispatched", unit="zjj").number
    use_session(client, world, "dispatcher")
    refused = post_form(client, f"/staff/appeals/{number}/actions/accept", {})
    assert refused.status_code == 409
    assert "诉求当前状态为「待签收」，不能执行此操作" in refused.text
    use_session(client, world, "zjj")
    empty = post_form(client, f"/staff/appeals/{number}/actions/return", {"reason": ""})
    assert empty.status_code == 422 and "请填写退单理由" in empty.text
    forbidden = post_form(client, f"/staff/appeals/{number}/actions/dispatch", {"unit": "cgj"})
    assert forbidden.status_code == 403 and "该操作须由派单员执行" in forbidden.text
    assert _state(world, number) == "dispatched"


def test_triage_extension_supervision_and_merge_forms(client: TestClient, world: World) -> None:
    number = world.appeal("accepted").number
    use_session(client, world, "dispatcher")
    response = post_form(client, f"/staff/appeals/{number}/actions/triage",
                         {"in_scope": "yes", "matter": "M-WYGL", "urgency": "urgent", "complex": "on",
                          "reasons": "涉及多个部门", "factors": ["涉及多个部门", "群体性诉求"]})
    assert response.status_code == 303, response.text
    world.session.rollback()
    appeal = service.get_appeal(world.session, number)
    assert appeal.state == "triaged" and appeal.urgency == "urgent" and appeal.triage["complex"] is True
    assert appeal.triage["factors"] == ["涉及多个部门", "群体性诉求"]
    other = world.appeal("acknowledged").number
    use_session(client, world, "zjj")
    response = post_form(client, f"/staff/appeals/{other}/actions/request_extension",
                         {"working_days": "3", "reason": "需要协调施工单位"})
    assert response.status_code == 303, response.text
    use_session(client, world, "supervisor")
    page = client.get(f"/staff/appeals/{other}").text
    assert {"approve_extension", "refuse_extension", "supervise", "remind"} <= _forms(page)
    assert post_form(client, f"/staff/appeals/{other}/actions/approve_extension", {}).status_code == 303
    assert post_form(client, f"/staff/appeals/{other}/actions/supervise", {"reason": "重点督办"}).status_code == 303
    world.session.rollback()
    assert service.get_appeal(world.session, other).is_supervised is True
    dup = world.appeal("received").number
    use_session(client, world, "dispatcher")
    assert post_form(client, f"/staff/appeals/{dup}/actions/merge", {"into": other}).status_code == 303
    assert _state(world, dup) == "merged"
    master_page = client.get(f"/staff/appeals/{other}").text
    assert dup in master_page and "已并入的诉求" in master_page


def test_script_in_a_title_shows_as_text(client: TestClient, world: World) -> None:
    appeal = world.appeal("received", title="<script>alert(1)</script>")
    use_session(client, world, "dispatcher")
    page = client.get(f"/staff/appeals/{appeal.number}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
