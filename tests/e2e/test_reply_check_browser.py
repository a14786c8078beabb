"""The "检查答复质量" button in a real browser: HTMX posts the draft (CSRF header included) and shows
the weak points under the reply box, before anything is sent."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.test_journey import _act, _context, _shot, _sign_in, _text, base_url, browser  # noqa: F401
from tests.factories import PASSWORD  # noqa: F401  (the accounts' password, used by _sign_in)

GOOD = ("您好！经核实，青檀小区3号楼前路灯因电缆老化损坏。我局已于11月20日安排维修人员更换电缆和灯具，"
        "现路灯已修复并恢复正常照明。依据《城市道路照明设施管理规定》第十二条，我局将每月巡查一次。"
        "如仍有问题，请拨打联系电话0632-7712345，联系人王工。")


def test_the_handler_checks_a_draft_before_sending(browser: Any, base_url: str) -> None:  # noqa: F811
    citizen = _context(browser, base_url, {"viewport": {"width": 1200, "height": 900}, "locale": "zh-CN"}).new_page()
    citizen.goto("/submit")
    citizen.check("input[name=appeal_type][value=complaint]")
    citizen.fill("#f-title", "青檀小区路灯不亮")
    citizen.fill("#f-content", "青檀小区3号楼前路灯坏了一个月，晚上很黑，希望尽快维修路灯。")
    citizen.fill("#f-citizen_name", "张三")
    citizen.fill("#f-citizen_phone", "13812345678")
    with citizen.expect_navigation():
        citizen.click("#submit-button")
    assert "您的诉求已提交成功" in _text(citizen), _text(citizen)
    number = citizen.inner_text("#appeal-number").strip()

    dispatcher = _sign_in(browser, base_url, "dispatcher")
    dispatcher.set_default_timeout(30_000)  # the shared machine is loaded
    dispatcher.goto(f"/staff/appeals/{number}")
    for action, fields in (("accept", {}), ("dispatch", {"unit": "zjj"})):
        if dispatcher.locator(f"#action-{action}").count():  # smart dispatch may have done it already
            _act(dispatcher, action, **fields)
    handler = _sign_in(browser, base_url, "zjj")
    handler.set_default_timeout(30_000)
    handler.goto(f"/staff/appeals/{number}")
    _act(handler, "acknowledge")

    handler.fill("#a-resolve-reply", "您好，留言已收悉，我单位高度重视，将尽快处理。")
    handler.click("button:has-text('检查答复质量')")
    panel = handler.locator("#reply-check-draft")
    panel.locator(".reply-check").wait_for()
    weak = panel.inner_text()
    assert "低于合格线" in weak and "答复无实质内容" in weak and "缺少办理依据" in weak, weak
    assert re.search(r"/staff/appeals/[^/]+$", handler.url)  # nothing was submitted

    handler.fill("#a-resolve-reply", GOOD)
    handler.click("button:has-text('检查答复质量')")
    handler.locator("#reply-check-draft .reply-check:has-text('达到合格线')").wait_for()
    _shot(handler, "staff-reply-check")
    _act(handler, "resolve", reply=GOOD)
    assert "青檀小区3号楼前路灯因电缆老化损坏" in _text(handler)
    handler.click("button:has-text('评价答复质量')")
    handler.locator("#reply-check-sent .reply-check").wait_for()
    assert "答复质量" in handler.locator("#reply-check-sent").inner_text()
