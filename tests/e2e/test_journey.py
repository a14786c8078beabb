"""Issue #4: one appeal's whole journey through the real UI, in Debian's headless Chromium.

A real uvicorn server (in a thread, on a free 127.0.0.1 port) serves the app against the test
database; Playwright drives ``/usr/bin/chromium`` (``bash scripts/ensure-chromium.sh`` installs it;
``playwright install`` is never needed). The citizen uses a phone-sized page, staff a desktop one.

``SUDI_SCREENSHOTS=1`` also writes the main screens to ``docs/screenshots/`` (the README shows
them); without it nothing is written, so test runs never change the repository.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from sudi.app import create_app
from sudi.core.config import Settings
from tests import module_world
from tests.factories import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
                         "locale": "zh-CN", "device_scale_factor": 1}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1366, "height": 900}, "locale": "zh-CN", "device_scale_factor": 1}
REPLY = "经现场核查，青檀小区3号楼前路灯已于今日更换并恢复照明，感谢您的反映。"

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="run `bash scripts/ensure-chromium.sh` first")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(database_url: str, factory: Any, media: Path) -> Iterator[str]:
    """The app served by a real uvicorn in a thread, on a free 127.0.0.1 port; its URL."""
    app = create_app(Settings(database_url=database_url, media_dir=media))
    app.state.session_factory = factory
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()
        shutil.rmtree(media, ignore_errors=True)


@pytest.fixture(scope="module")
def base_url(database_url: str, engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server on a freshly emptied database holding the small district of tests.factories."""
    factory = module_world.fresh_factory(engine)
    with module_world.district(factory):
        pass
    with live_server(database_url, factory, tmp_path_factory.mktemp("e2e-media")) as url:
        yield url


@pytest.fixture(scope="module")
def browser(base_url: str) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _context(browser: Any, base_url: str, device: dict[str, Any]) -> Any:
    context = browser.new_context(base_url=base_url, **device)
    context.set_default_timeout(10_000)
    # Everything the pages need is served by the app itself; anything else would be a bug (or a hang).
    context.route(re.compile(r"^(?!http://127\.0\.0\.1:).*"), lambda route: route.abort())
    return context


def _shot(page: Any, name: str) -> None:
    if os.environ.get("SUDI_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _text(page: Any) -> str:
    return str(page.locator("body").inner_text())


def _sign_in(browser: Any, base_url: str, username: str) -> Any:
    page = _context(browser, base_url, DESKTOP).new_page()
    page.goto("/login")
    page.fill("#f-username", username)
    page.fill("#f-password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(r"/staff"))
    return page


def _act(page: Any, action: str, **fields: str) -> None:
    """Fill and submit one action form on the detail page; the page comes back after a 303."""
    form = page.locator(f"#action-{action}")
    for name, value in fields.items():
        control = form.locator(f"[name={name}]")
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.locator(".field-error").count() == 0, _text(page)


def _assessment_rates(page: Any, unit: str) -> dict[str, str]:
    """The rates in ``unit``'s row of the assessment page (this month), as shown."""
    page.goto("/staff/assessment")
    row = page.locator(f"#unit-{unit}")
    return {key: row.locator(f"[data-rate={key}] strong").inner_text().strip()
            for key in ("response", "resolution", "satisfaction")}


def test_appeal_journey(browser: Any, base_url: str) -> None:
    # (1) A citizen on a phone reports a problem and keeps the number and the query code.
    citizen = _context(browser, base_url, PHONE).new_page()
    citizen.goto("/")
    _shot(citizen, "portal-home-mobile")
    citizen.goto("/submit")
    citizen.check("input[name=appeal_type][value=complaint]")
    citizen.fill("#f-title", "小区路灯不亮")
    citizen.fill("#f-content", "青檀小区3号楼前路灯坏了一个月，晚上很黑，老人出门不方便。")
    citizen.fill("#f-citizen_name", "张三")
    citizen.fill("#f-citizen_phone", "13812345678")
    _shot(citizen, "submit-form-mobile")
    with citizen.expect_navigation():
        citizen.click("#submit-button")
    assert "您的诉求已提交成功" in _text(citizen)
    number = citizen.inner_text("#appeal-number").strip()
    code = citizen.inner_text("#query-code").strip()
    assert re.fullmatch(r"[A-Z]+\d{8}-\d+", number), number
    assert code
    _shot(citizen, "submit-result-mobile")

    # (2) The dispatcher accepts it and dispatches it to 区住房和城乡建设局 (zjj).
    dispatcher = _sign_in(browser, base_url, "dispatcher")
    _shot(dispatcher, "staff-home-dispatcher")
    dispatcher.goto("/staff/appeals?queue=accept")
    assert number in _text(dispatcher)
    _shot(dispatcher, "staff-appeal-list")
    dispatcher.click(f"a:has-text('{number}')")
    dispatcher.wait_for_url(re.compile(f"/staff/appeals/{number}$"))
    assert "小区路灯不亮" in _text(dispatcher)
    _shot(dispatcher, "staff-appeal-detail")
    _act(dispatcher, "accept")
    _act(dispatcher, "dispatch", unit="zjj")
    assert "区住房和城乡建设局" in _text(dispatcher)

    # (3) The zjj handler finds it in the unit's inbox, acknowledges it and replies.
    handler = _sign_in(browser, base_url, "zjj")
    handler.goto("/staff/appeals?queue=inbox")
    assert number in _text(handler)
    _shot(handler, "staff-handler-inbox")
    handler.goto(f"/staff/appeals/{number}")
    _act(handler, "acknowledge")
    _act(handler, "resolve", reply=REPLY)
    assert REPLY in _text(handler)
    dispatcher.goto("/staff/appeals?queue=followup")
    assert number in _text(dispatcher)  # waiting for the follow-up call

    # (3b) Before the rating, the supervisor's assessment page has no follow-up for zjj yet.
    supervisor = _sign_in(browser, base_url, "supervisor")
    before = _assessment_rates(supervisor, "zjj")
    assert before["resolution"] == "—" and before["satisfaction"] == "—", before

    # (4) The citizen looks it up with the number and the code, reads the reply and rates it.
    citizen.goto("/track")
    citizen.fill("#f-number", number)
    citizen.fill("#f-query_code", code)
    with citizen.expect_navigation():
        citizen.click("form[action='/track'] button[type=submit]")
    citizen.wait_for_url(re.compile(f"/track/{number}"))
    assert REPLY in _text(citizen)
    _shot(citizen, "track-reply-mobile")
    citizen.check("input[name=solved][value=yes]")
    citizen.check("input[name=satisfaction][value=satisfied]")
    with citizen.expect_navigation():
        citizen.click(f"form[action='/track/{number}/rate'] button[type=submit]")
    page_text = _text(citizen)
    assert "感谢您的评价" in page_text and "已解决 · 满意" in page_text

    # (5) The supervisor sees the rating on the appeal, and it has left the follow-up queue.
    supervisor.goto(f"/staff/appeals/{number}")
    page_text = _text(supervisor)
    assert "回访结果" in page_text and "已解决 · 满意" in page_text
    supervisor.goto("/staff/appeals?queue=followup")
    assert number not in _text(supervisor)

    # (6) The supervisor sees the rates change: 区住建局's 解决率 and 满意率 now count the rating.
    after = _assessment_rates(supervisor, "zjj")
    assert after["resolution"] == "100.0%" and after["satisfaction"] == "100.0%", after
    assert after["response"] == before["response"] == "100.0%"
    assert supervisor.locator("#assessment-chart svg").count() == 1  # ECharts drew the ranking chart
    _shot(supervisor, "staff-assessment")

    admin = _sign_in(browser, base_url, "admin")
    admin.goto("/staff/admin")
    _shot(admin, "staff-admin-index")
