"""The intake agent's phone form: roles, keyboard aids, idempotency, caller history."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sudi.appeals.models import Appeal
from tests.factories import World
from tests.web.helpers import post_form, use_session


def _form(client: TestClient, **fields: str) -> dict[str, str]:
    page = client.get("/staff/intake")
    assert page.status_code == 200
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
    assert key
    return {"idempotency_key": key.group(1), "citizen_phone": "13900001111", "citizen_name": "李四",
            "title": "楼上漏水", "content": "青檀小区5号楼楼上漏水，物业不管。", "appeal_type": "complaint",
            "urgency": "normal", "appeal_kind": "livelihood", "address": "青檀小区5号楼", "channel": "hotline",
            **fields}


def test_the_form_is_for_intake_roles_only(client: TestClient, world: World) -> None:
    for username in ("intake", "dispatcher", "admin"):
        use_session(client, world, username)
        page = client.get("/staff/intake")
        assert page.status_code == 200
        assert "autofocus" in page.text and "data-ctrl-enter" in page.text
        assert 'hx-get="/staff/intake/history"' in page.text
    for username in ("zjj", "grid1", "supervisor", "mediator"):
        use_session(client, world, username)
        assert client.get("/staff/intake").status_code == 403, username
        assert client.get("/staff/intake/history?citizen_phone=13812345678").status_code == 403


def test_a_double_submission_creates_one_appeal(client: TestClient, world: World) -> None:
    use_session(client, world, "intake")
    form = _form(client)
    first = post_form(client, "/staff/intake", form)
    second = post_form(client, "/staff/intake", form)
    assert first.status_code == second.status_code == 200
    number = re.search(r'id="appeal-number">([^<]+)<', first.text)
    code = re.search(r'id="query-code">([^<]+)<', first.text)
    assert number and code and number.group(1) in second.text and code.group(1) in second.text
    assert "重复提交" in second.text
    world.session.rollback()
    assert world.session.scalar(select(func.count(Appeal.id))) == 1
    appeal = world.session.scalar(select(Appeal))
    assert appeal is not None and appeal.citizen_phone == "13900001111" and appeal.channel == "hotline"


def test_errors_come_back_next_to_the_fields(client: TestClient, world: World) -> None:
    use_session(client, world, "intake")
    response = post_form(client, "/staff/intake", _form(client, title="", citizen_phone="12ab"))
    assert response.status_code == 422 and "请填写标题" in response.text
    response = post_form(client, "/staff/intake", _form(client, citizen_phone="12ab"))
    assert response.status_code == 422 and "联系电话格式不正确" in response.text


def test_caller_history_lists_earlier_appeals_of_that_phone(client: TestClient, world: World) -> None:
    earlier = world.appeal("dispatched", citizen_phone="13812345678", title="<b>噪音</b>")
    world.appeal("received", citizen_phone="13700000000")
    use_session(client, world, "intake")
    panel = client.get("/staff/intake/history?citizen_phone=138 1234 5678").text
    assert earlier.number in panel and "共有 <strong>1</strong> 件" in panel and "&lt;b&gt;" in panel
    assert "13700000000" not in panel
    assert "11 位" in client.get("/staff/intake/history?citizen_phone=1381234").text
    assert "暂无以往诉求" in client.get("/staff/intake/history?citizen_phone=13600000000").text
