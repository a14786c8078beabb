"""The dashboards' three rates by unit are the assessment's own figures for the same period, kept as
snapshots that the periodic job recounts after new events; the score follows the policy at once."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sudi.analytics import service
from sudi.assessment import service as assessment
from sudi.core import clock
from sudi.core.models import Setting, get_setting, put_setting
from tests.assessment import trail
from tests.factories import World

SRC = Path(__file__).resolve().parents[2] / "src" / "sudi"
# Noon: an hour either side stays in the same local day, so the rolling windows keep their keys.
NOON = datetime.combine(service.local_today(), time(12, 0), tzinfo=clock.DISTRICT_TZ)


@contextmanager
def minutes_later(minutes: float) -> Iterator[None]:
    with clock.frozen_at(NOON + timedelta(minutes=minutes)):
        yield


def _official(result: assessment.Assessment) -> dict[str, tuple[Any, ...]]:
    return {u.unit_code: (u.counts["dispatched"], u.rates["response"], u.rates["on_time"], u.rates["resolution"],
                          u.rates["satisfaction"], u.composite, u.rank, u.red, u.black, u.bonus, u.deduction)
            for u in result.units}


def _dashboard(panel: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {i["unit_code"]: (i["volume"], i["response_rate"], i["on_time_rate"], i["solved_rate"],
                             i["satisfaction_rate"], i["composite"], i["rank"], i["red"], i["black"], i["bonus"],
                             i["deduction"]) for i in panel["items"]}


def _volume(panel: dict[str, Any], code: str) -> int:
    return next(i["volume"] for i in panel["items"] if i["unit_code"] == code)


def test_the_panel_equals_the_assessment_for_the_same_month(world: World, session: Session) -> None:
    trail.build_september(world)
    trail.build_other_units(world)
    # Small lists, so that the red and black marks are compared too.
    assessment.set_policy(session, world.actor("admin"), {"min_volume": 1, "red_size": 1, "black_size": 1,
                                                          "satisfaction_weights": {"fairly_satisfied": 0.6}})
    service.unit_rates(session, service.parse_period(trail.PERIOD))   # counts and stores the snapshot
    session.expire_all()
    panel = service.unit_rates(session, service.parse_period(trail.PERIOD))   # read back from the setting row
    official = assessment.compute_assessment(session, assessment.parse_period(trail.PERIOD))
    assert _dashboard(panel) == _official(official)
    assert [i["unit_code"] for i in panel["items"]] == [u.unit_code for u in official.units]
    assert panel["source"] == "assessment" and panel["period"]["key"] == "2026-09"
    assert panel["period"]["query"] == "period=2026-09"
    assert panel["red_list"] == ["区综合行政执法局"] and panel["black_list"] == ["区住房和城乡建设局"]
    zjj = next(i for i in panel["items"] if i["unit_code"] == "zjj")
    assert zjj["satisfaction_rate"] == pytest.approx((1 + 0.6) / 3)  # the per-level weights apply


def test_the_headline_rates_add_up_every_units_counts(world: World, session: Session) -> None:
    trail.build_september(world)
    trail.build_other_units(world)
    assessment.set_policy(session, world.actor("admin"), {"satisfaction_weights": {"fairly_satisfied": 0.6}})
    district = service.unit_rates(session, service.parse_period(trail.PERIOD))["district"]
    units = assessment.compute_assessment(session, assessment.parse_period(trail.PERIOD)).units
    assert len(units) > 1
    total = {key: sum(u.counts[key] for u in units) for key in assessment.MEASURES}
    assert district["response_rate"] == pytest.approx(total["responded"] / total["response_base"])
    assert district["on_time_rate"] == pytest.approx(total["on_time"] / total["due"])
    assert district["solved_rate"] == pytest.approx(total["solved"] / total["followed_up"])
    rated = total["satisfied"] + total["fairly_satisfied"] + total["dissatisfied"]
    points = total["satisfied"] + 0.6 * total["fairly_satisfied"]
    assert district["satisfaction_rate"] == pytest.approx(points / rated)
    assert total["fairly_satisfied"] > 0   # the weight is exercised


def test_the_api_panel_and_the_assessment_api_agree(client: TestClient, world: World) -> None:
    trail.build_september(world)
    trail.build_other_units(world)
    panel = client.get("/api/v1/analytics/units", params={"period": trail.PERIOD}, headers=world.headers("leader"))
    official = client.get("/api/v1/assessment", params={"period": trail.PERIOD}, headers=world.headers("leader"))
    assert panel.status_code == official.status_code == 200
    items = {i["unit_code"]: i for i in panel.json()["items"]}
    assert official.json()["units"] and set(items) == {u["unit"] for u in official.json()["units"]}
    for unit in official.json()["units"]:
        shown = items[unit["unit"]]
        assert shown["composite"] == unit["composite"] and shown["rank"] == unit["rank"]
        assert shown["volume"] == unit["volume"] and shown["red"] == unit["red"]
        for key, rate in (("response", "response_rate"), ("on_time", "on_time_rate"),
                          ("resolution", "solved_rate"), ("satisfaction", "satisfaction_rate")):
            assert shown[rate] == pytest.approx(unit["rates"][key]["value"]), key


def test_the_dashboards_periods_map_to_assessment_periods() -> None:
    today = service.local_today()
    month = service.assessment_period(service.parse_period("month"))
    assert (month.kind, month.key) == ("month", f"{today:%Y-%m}")
    year = service.assessment_period(service.parse_period("year"))
    assert (year.kind, year.key) == ("year", f"{today.year}")
    assert service.assessment_period(service.parse_period("2026-09")).key == "2026-09"
    rolling = service.assessment_period(service.parse_period("30d"))
    assert rolling.kind == "custom" and rolling.last_day == today and (today - rolling.first_day).days == 29
    custom = service.assessment_period(service.parse_period(None, "2026-09-01", "2026-09-15"))
    assert custom.key == "2026-09-01~2026-09-15"


def test_a_rolling_window_equals_the_custom_assessment_period(world: World, session: Session) -> None:
    world.appeal("followed_up")
    world.appeal("followed_up", unit="cgj", satisfaction="dissatisfied", solved=False)
    world.appeal("acknowledged")
    period = service.parse_period("30d")
    official = assessment.compute_assessment(session, assessment.parse_period(
        None, period.start.isoformat(), period.end.isoformat()))
    assert official.units and _dashboard(service.unit_rates(session, period)) == _official(official)


def test_a_stale_snapshot_is_recounted_by_the_job_after_new_events(world: World, session: Session) -> None:
    period = service.parse_period("30d", today=NOON.date())
    with minutes_later(0):
        world.appeal("followed_up")
        assert service.refresh_unit_snapshots(session)["computed"] == len(service.DASHBOARD_CHOICES)
        before = service.unit_rates(session, period)
        assert before["stale"] is False and _volume(before, "zjj") == 1
    with minutes_later(1):
        world.appeal("followed_up", satisfaction="dissatisfied", solved=False)
        # Read again at once: the snapshot's figures, marked stale, answered without counting.
        stale = service.unit_rates(session, period)
        assert stale["stale"] is True and stale["computed_at"] == before["computed_at"]
        assert _volume(stale, "zjj") == 1
    with minutes_later(5):  # within the job's interval (10 minutes) nothing is recounted
        assert service.refresh_unit_snapshots(session)["computed"] == 0
    with minutes_later(11):
        assert service.refresh_unit_snapshots(session)["computed"] == len(service.DASHBOARD_CHOICES)
        after = service.unit_rates(session, period)
        assert after["stale"] is False and _volume(after, "zjj") == 2
        official = assessment.compute_assessment(session, service.assessment_period(period))
    assert _dashboard(after) == _official(official)


def test_a_quiet_snapshot_is_recounted_at_its_maximum_age(world: World, session: Session) -> None:
    with minutes_later(0):
        world.appeal("dispatched")
        service.refresh_unit_snapshots(session)
    with minutes_later(30):  # nothing new: kept
        assert service.refresh_unit_snapshots(session)["computed"] == 0
    with minutes_later(61):  # a deadline may have passed meanwhile: recounted at the maximum age
        assert service.refresh_unit_snapshots(session)["computed"] == len(service.DASHBOARD_CHOICES)


def test_a_new_policy_scores_the_snapshot_at_once(world: World, session: Session) -> None:
    trail.build_september(world)
    period = service.parse_period(trail.PERIOD)
    first = service.unit_rates(session, period)
    assessment.set_policy(session, world.actor("admin"), {"weights": {"response": 100, "resolution": 0,
                                                                      "satisfaction": 0}})
    again = service.unit_rates(session, period)
    assert again["computed_at"] == first["computed_at"]  # not recounted: only scored again
    zjj = next(i for i in again["items"] if i["unit_code"] == "zjj")
    assert zjj["composite"] == pytest.approx(100 * 4 / 5 - 2)
    assert _dashboard(again) == _official(assessment.compute_assessment(session, assessment.parse_period("2026-09")))


def test_the_periodic_job_keeps_the_dashboards_periods(world: World, session: Session) -> None:
    with minutes_later(0):
        world.appeal("followed_up")
        done = service.run_periodic(session)
        assert done["assessment"]["computed"] == len(service.DASHBOARD_CHOICES)
        for choice in service.DASHBOARD_CHOICES:
            key = service.UNITS_KEY_PREFIX + service.assessment_period(service.parse_period(choice)).key
            assert get_setting(session, key)["units"], choice
    with minutes_later(1):
        assert service.run_periodic(session)["assessment"]["computed"] == 0  # nothing to do


def test_other_periods_are_counted_on_request_and_dropped_after_a_day(world: World, session: Session) -> None:
    trail.build_september(world)
    period = service.parse_period(None, "2026-09-01", "2026-09-30")
    first = service.unit_rates(session, period)
    key = service.UNITS_KEY_PREFIX + "2026-09-01~2026-09-30"
    assert get_setting(session, key)["computed_at"] == first["computed_at"]
    # Outdated (an hour old): the next request counts again, since no job keeps this period.
    snapshot = get_setting(session, key)
    put_setting(session, key, {**snapshot, "computed_at": (clock.now() - timedelta(hours=2)).isoformat()})
    session.commit()
    assert service.unit_rates(session, period)["computed_at"] > first["computed_at"]
    service.refresh_unit_snapshots(session, now=clock.now() + timedelta(days=2))
    keys = set(session.scalars(select(Setting.key).where(Setting.key.startswith(service.UNITS_KEY_PREFIX))))
    assert key not in keys and len(keys) == len(service.DASHBOARD_CHOICES)


def test_the_panel_shows_its_as_of_time_on_the_dashboard(client: TestClient, world: World) -> None:
    world.appeal("followed_up")
    body = client.get("/api/v1/analytics/units?period=month", headers=world.headers("leader")).json()
    assert body["computed_at"] and body["period"]["kind"] == "month"
    assert body["items"][0]["unit"] == "区住房和城乡建设局"


def _imports(package: str) -> set[str]:
    names: set[str] = set()
    for path in (SRC / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
    return names


def test_dependencies_run_one_way() -> None:
    """analytics reads assessment and hotspots; neither reads analytics, and hotspots reads neither."""
    assert not any(m.startswith("sudi.analytics") for m in _imports("assessment") | _imports("hotspots"))
    assert not any(m.startswith("sudi.assessment") for m in _imports("hotspots"))
