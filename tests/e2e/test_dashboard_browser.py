"""The leader's dashboard and the hotspot board in a real browser: the dashboard's panels refresh
without reloading the page (a new appeal appears in 最新诉求), its headline rates are the
assessment's, and the board draws its map markers (Leaflet, the district's own outlines) and its
timeline (ECharts)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete

from sudi.analytics import service as analytics
from sudi.assessment import service as assessment
from sudi.core.db import transaction
from sudi.core.models import Setting
from sudi.hotspots import service as hotspots
from tests import module_world
from tests.e2e.test_journey import _sign_in, browser, live_server  # noqa: F401
from tests.factories import World
from tests.hotspots.factories import NOISE, seed_noise


@pytest.fixture(scope="module")
def district(engine: Any) -> Iterator[World]:
    with module_world.district(module_world.fresh_factory(engine)) as world:
        yield world


@pytest.fixture(scope="module")
def base_url(database_url: str, district: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(database_url, module_world.make_session_factory(district.session.get_bind()),
                     tmp_path_factory.mktemp("e2e-dashboard-media")) as url:
        yield url


def test_the_dashboard_shows_a_new_appeal_without_reloading(browser: Any, base_url: str,  # noqa: F811
                                                            district: World) -> None:
    world = module_world.quiet_session(district)
    analytics.update_policy(world.session, world.actor("admin"), {"display": {"dashboard_refresh_seconds": 5}})
    leader = _sign_in(browser, base_url, "leader")
    leader.set_default_timeout(30_000)   # a loaded machine
    leader.goto("/staff/dashboard")
    leader.locator("[data-field=updated]:not(:empty)").wait_for()
    leader.evaluate("window.__sameDocument = true")
    module_world.quiet_session(world)
    world.appeal(title="青檀路井盖缺失很危险", content="青檀路口的井盖缺失，晚上很危险，请尽快处理。")
    leader.locator("[data-list=live] >> text=青檀路井盖缺失很危险").wait_for()
    assert leader.evaluate("window.__sameDocument === true")   # refreshed in place, not reloaded
    assert leader.url.endswith("/staff/dashboard")


def test_the_headline_rates_are_the_assessments(browser: Any, base_url: str, district: World) -> None:  # noqa: F811
    world = module_world.quiet_session(district)
    world.appeal("followed_up", solved=True, satisfaction="fairly_satisfied")
    world.appeal("followed_up", solved=False, satisfaction="dissatisfied")
    # 基本满意 weighs 0.6 here: the assessment's 满意率 is 30 %, a plain share of the satisfied 50 %.
    assessment.set_policy(world.session, world.actor("admin"), {"satisfaction_weights": {"fairly_satisfied": 0.6}})
    with transaction(world.session):   # counted afresh, not a snapshot an earlier test left
        world.session.execute(delete(Setting).where(Setting.key.startswith(analytics.UNITS_KEY_PREFIX)))
    expected = analytics.unit_rates(world.session, analytics.parse_period("30d"))["district"]["satisfaction_rate"]
    assert expected == pytest.approx(0.3)
    leader = _sign_in(browser, base_url, "leader")
    leader.set_default_timeout(30_000)
    leader.goto("/staff/dashboard")
    tile = leader.locator('[data-field="district.satisfaction_rate"]').first
    leader.wait_for_function("el => el.textContent.endsWith('%')", arg=tile.element_handle())
    assert tile.inner_text() == f"{expected * 100:.1f}%"


def test_the_hotspot_board_draws_its_map_and_timeline(browser: Any, base_url: str,  # noqa: F811
                                                      district: World) -> None:
    world = module_world.quiet_session(district)
    seed_noise(world)
    hotspots.refresh_hotspots(world.session)
    leader = _sign_in(browser, base_url, "leader")
    leader.set_default_timeout(30_000)
    leader.goto("/staff/hotspots")
    assert "丽发新城" in leader.locator("table").first.inner_text()
    leader.locator("#hotspot-map path.leaflet-interactive").first.wait_for()
    assert leader.locator("#hotspot-map path.leaflet-interactive").count() >= len(NOISE)
    leader.locator("#hotspot-timeline svg").first.wait_for()
