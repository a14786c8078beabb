"""The rollup equals direct counts over the appeals, for every dimension and any period."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sudi.analytics import service
from sudi.analytics.models import RollupRow
from sudi.appeals.models import OPEN_STATES, Appeal, Category, State
from sudi.core import clock
from tests.factories import IN_G002, World


def _small_world(world: World) -> None:
    session = world.session
    leaves = session.scalars(select(Category.code).where(Category.level == 3).order_by(Category.code)).all()
    now = clock.now()
    # Spread over several months (whole and partial), states, grids, units, channels, categories.
    for i, state in enumerate(["received", "accepted", "dispatched", "acknowledged", "resolved", "followed_up",
                               "archived", "rejected", "returned", "followed_up", "acknowledged", "archived"]):
        world.appeal(state, unit="zjj" if i % 3 else "cgj", point=IN_G002 if i % 2 else (34.77, 117.59),
                     category=leaves[i % len(leaves)], channel=("hotline", "web", "wechat")[i % 3],
                     received_at=now - timedelta(days=37 * i + (i % 4)),
                     satisfaction="dissatisfied" if i == 9 else "satisfied", solved=i != 9)


def _direct(session: Session, column, start, end) -> Counter[str]:  # type: ignore[no-untyped-def]
    rows = session.execute(select(column, func.count()).where(
        Appeal.received_at >= service.day_start(start), Appeal.received_at < service.day_start(end + timedelta(days=1)))
        .group_by(column)).all()
    return Counter({("" if k is None else str(k)): n for k, n in rows})


def test_rollup_equals_direct_counts_for_every_dimension_and_period(world: World) -> None:
    session = world.session
    _small_world(world)
    summary = service.rebuild_all(session)
    assert summary["rows"] > 0
    roots = service.category_roots(session)
    today = service.local_today()
    for start, end in [(today - timedelta(days=500), today), (today - timedelta(days=100), today - timedelta(days=3)),
                       (today.replace(day=1) - timedelta(days=75), today.replace(day=1) - timedelta(days=1)),
                       (today, today)]:
        for dimension, column in (("town", Appeal.town_unit_id), ("grid", Appeal.grid_id),
                                  ("unit", Appeal.lead_unit_id), ("channel", Appeal.channel),
                                  ("kind", Appeal.appeal_kind)):
            got = {k: v["received"] for k, v in service.totals_by_key(session, dimension, start, end).items()
                   if v["received"]}
            assert got == dict(_direct(session, column, start, end)), (dimension, start, end)
        by_category: Counter[str] = Counter()
        for key, n in _direct(session, Appeal.category_id, start, end).items():
            by_category["" if not key else str(roots[int(key)])] += n
        got = {k: v["received"] for k, v in service.totals_by_key(session, "category", start, end).items()
               if v["received"]}
        assert got == dict(by_category)
        total = service.totals_by_key(session, "all", start, end).get("", {})
        direct_total = sum(_direct(session, Appeal.channel, start, end).values())
        assert total.get("received", 0) == direct_total


def test_measures_match_the_appeals(world: World) -> None:
    session = world.session
    _small_world(world)
    service.rebuild_all(session)
    period = service.parse_period("365d")
    totals = service.totals_by_key(session, "all", period.start, period.end)[""]
    appeals = session.scalars(select(Appeal).where(Appeal.received_at >= service.day_start(period.start))).all()
    assert totals["received"] == len(appeals)
    assert totals["resolved"] == sum(a.state in ("resolved", "followed_up", "archived") for a in appeals)
    assert totals["rejected"] == sum(a.state == "rejected" for a in appeals)
    assert totals["open"] == sum(State(a.state) in OPEN_STATES for a in appeals)
    assert totals["overdue"] == sum(bool(a.is_overdue) for a in appeals)
    assert totals["supervised"] == sum(bool(a.is_supervised) for a in appeals)
    assert totals["reopened"] == sum(a.reopen_count > 0 for a in appeals)
    assert totals["returned"] == sum(a.return_count > 0 for a in appeals)
    # Three months' worth of day rows and the month rows agree.
    month_sum = session.scalar(select(func.sum(RollupRow.received)).where(
        RollupRow.grain == "month", RollupRow.dimension == "all"))
    day_sum = session.scalar(select(func.sum(RollupRow.received)).where(
        RollupRow.grain == "day", RollupRow.dimension == "all"))
    assert month_sum == day_sum == session.scalar(select(func.count(Appeal.id)))


def test_the_periodic_refresh_picks_up_new_appeals_and_changes(world: World) -> None:
    session = world.session
    service.update_policy(session, world.actor("admin"), {"rollup": {"full_rebuild_hour": -1}})
    service.rebuild_all(session)
    period = service.parse_period("7d")
    assert service.summary(session, period)["received"] == 0
    appeal = world.appeal("dispatched")
    done = service.run_periodic(session)
    assert "refreshed_rows" in done and "warnings" in done  # rebuilt once already: no full rebuild
    figures = service.summary(session, period)
    assert figures["received"] == 1 and figures["live"]["open"] == 1 and figures["live"]["today"] == 1
    world.appeal("resolved")
    service.refresh_recent(session, 2)
    figures = service.summary(session, period)
    assert figures["received"] == 2 and figures["resolved"] == 1
    assert appeal.number in [i["number"] for i in service.live_appeals(session)["items"]]


def test_the_nightly_tick_rebuilds_everything_once(world: World) -> None:
    session = world.session
    world.appeal("received", received_at=clock.now() - timedelta(days=200))
    night = datetime.combine(service.local_today(), time(3, 5), tzinfo=clock.DISTRICT_TZ)
    assert "full_rebuild" in service.run_periodic(session, now=night - timedelta(hours=22))  # first tick ever
    assert "full_rebuild" not in service.run_periodic(session, now=night - timedelta(hours=21))
    assert "full_rebuild" in service.run_periodic(session, now=night)
    assert "full_rebuild" not in service.run_periodic(session, now=night + timedelta(minutes=1))
    old = service.parse_period("365d", today=service.local_today())
    assert service.summary(session, old)["received"] == 1


def test_trend_mix_heat_and_hotspots_read_the_rollup(world: World) -> None:
    session = world.session
    _small_world(world)
    for _ in range(4):
        world.appeal("received", point=IN_G002)
    service.rebuild_all(session)
    period = service.parse_period("365d")
    months = service.trend(session, "month", period)
    assert sum(months["received"]) == service.totals_by_key(session, "all", period.start.replace(day=1),
                                                           period.end)[""]["received"]
    days = service.trend(session, "day", service.parse_period("30d"))
    assert len(days["labels"]) == 30 and sum(days["received"]) >= 4
    channels = service.mix(session, "channel", period)
    assert {i["name"] for i in channels["items"]} <= {"12345热线", "网站", "微信公众号"}
    heat = service.grid_heat(session, period)
    assert heat["max"] >= 4
    hot = service.hotspot_panel(session)["items"]
    assert hot and hot[0]["recent"] >= 4 and hot[0]["grid"] == "吴林街道第001网格"
