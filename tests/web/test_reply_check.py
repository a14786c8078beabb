"""The "检查答复质量" button in the resolve form, the sent reply's panel, and the admin page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.factories import World
from tests.web.helpers import post_form, use_session

GOOD = ("您好！经核实，青檀小区3号楼前路灯因电缆老化损坏。我局已于11月20日安排维修人员更换电缆和灯具，"
        "现路灯已修复并恢复正常照明。依据《城市道路照明设施管理规定》第十二条，我局将每月巡查一次。"
        "如仍有问题，请拨打联系电话0632-7712345，联系人王工。")


def test_the_resolve_form_has_the_check_button_and_it_shows_weak_points(client: TestClient, world: World) -> None:
    appeal = world.appeal("acknowledged")
    use_session(client, world, "zjj")
    page = client.get(f"/staff/appeals/{appeal.number}").text
    button = re.search(r'<button[^>]*hx-post="/staff/appeals/([^/"]+)/reply-check"[^>]*hx-include="#a-resolve-reply"'
                       r'[^>]*>检查答复质量</button>', page)
    assert button and button.group(1) == appeal.number
    assert 'id="reply-check-draft"' in page
    url = f"/staff/appeals/{appeal.number}/reply-check"
    weak = post_form(client, url, {"reply": "您好，留言已收悉，我单位高度重视，将尽快处理。"})
    assert weak.status_code == 200
    assert "低于合格线" in weak.text and "答复无实质内容" in weak.text and "缺少办理依据" in weak.text
    assert "<html" not in weak.text  # a fragment for HTMX
    good = post_form(client, url, {"reply": GOOD})
    assert good.status_code == 200 and "达到合格线" in good.text
    empty = post_form(client, url, {"reply": ""})
    assert empty.status_code == 200 and "请先填写答复意见" in empty.text
    assert post_form(client, url, {"reply": GOOD}, token=False).status_code == 403  # CSRF still guards it


def test_a_sent_reply_can_be_judged_on_the_appeal_page(client: TestClient, world: World) -> None:
    appeal = world.appeal("resolved")
    use_session(client, world, "supervisor")
    page = client.get(f"/staff/appeals/{appeal.number}").text
    assert "评价答复质量" in page and 'id="reply-check-sent"' in page
    panel = post_form(client, f"/staff/appeals/{appeal.number}/reply-check", {})
    assert panel.status_code == 200 and "答复质量" in panel.text and "相关性" in panel.text
    use_session(client, world, "cgj")
    assert post_form(client, f"/staff/appeals/{appeal.number}/reply-check", {}).status_code == 403


def test_the_admin_edits_the_weights_and_sees_the_units(client: TestClient, world: World) -> None:
    appeal = world.appeal("resolved")
    use_session(client, world, "admin")
    page = client.get("/staff/admin/reply-quality")
    assert page.status_code == 200
    assert "区住房和城乡建设局" in page.text and 'name="w_relevance" value="35"' in page.text
    assert 'href="/staff/admin/reply-quality"' in page.text  # in the admin navigation
    fields = {"w_relevance": "50", "w_completeness": "30", "w_normativity": "20", "w_timeliness": "0",
              "pass_score": "65", "relevance_floor": "40", "expected_days": "21"}
    response = post_form(client, "/staff/admin/reply-quality", fields)
    assert response.status_code == 303, response.text
    saved = client.get(response.headers["location"]).text
    assert "已保存" in saved and 'name="w_relevance" value="50"' in saved and 'name="pass_score" value="65"' in saved
    bad = post_form(client, "/staff/admin/reply-quality", fields | {"w_relevance": "-1"})
    assert bad.status_code == 422 and "非负数" in bad.text
    bad = post_form(client, "/staff/admin/reply-quality", fields | {"pass_score": "abc"})
    assert bad.status_code == 422 and "须为数字" in bad.text
    use_session(client, world, "supervisor")
    assert client.get("/staff/admin/reply-quality").status_code == 403
    assert 'href="/staff/admin/reply-quality"' not in client.get(f"/staff/appeals/{appeal.number}").text
