"""The assessment's figures on a hand-built trail with known answers, periods, policy and ranking."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from sudi.assessment import service
from sudi.core import clock
from sudi.core.errors import Forbidden, InvalidInput
from sudi.core.models import AuditEntry
from tests.assessment import trail
from tests.factories import World


def _zjj(result: service.Assessment) -> service.UnitFigures:
    return next(u for u in result.units if u.unit_code == "zjj")


def test_every_count_of_the_hand_built_trail(world: World, session: Session) -> None:
    trail.build_september(world)
    period = service.parse_period(trail.PERIOD)
    counts = service.unit_counts(session, period)
    zjj = world.users["zjj"].unit_id
    assert counts[zjj] == trail.EXPECTED_ZJJ


def test_rates_and_composite(world: World, session: Session) -> None:
    trail.build_september(world)
    result = service.compute_assessment(session, service.parse_period(trail.PERIOD), governance_done={})
    unit = _zjj(result)
    for key, expected in trail.EXPECTED_RATES.items():
        assert unit.rates[key] == pytest.approx(expected), key
    assert unit.base_score == pytest.approx(trail.EXPECTED_BASE)
    assert unit.deduction == 2.0
    assert unit.composite == pytest.approx(trail.EXPECTED_COMPOSITE)


def test_governance_bonus_and_caps(world: World, session: Session) -> None:
    trail.build_september(world)
    zjj = world.users["zjj"].unit_id
    period = service.parse_period(trail.PERIOD)
    assert _zjj(service.compute_assessment(session, period, governance_done={zjj: 3})).composite == 69.0
    assert _zjj(service.compute_assessment(session, period, governance_done={zjj: 50})).bonus == 5.0  # the cap


def test_satisfaction_weights_are_policy(world: World, session: Session) -> None:
    trail.build_september(world)
    service.set_policy(session, world.actor("admin"), {"satisfaction_weights": {"fairly_satisfied": 0.8}})
    unit = _zjj(service.compute_assessment(session, service.parse_period(trail.PERIOD)))
    assert unit.rates["satisfaction"] == pytest.approx((1 + 0.8) / 3)


def test_weights_leave_out_rates_without_data(world: World, session: Session) -> None:
    trail.build_other_units(world)
    service.set_policy(session, world.actor("admin"), {"weights": {"on_time": 50, "response": 50,
                                                                   "resolution": 0, "satisfaction": 0}})
    result = service.compute_assessment(session, service.parse_period(trail.PERIOD), governance_done={})
    cgj = next(u for u in result.units if u.unit_code == "cgj")
    assert cgj.rates["response"] == 1.0 and cgj.rates["on_time"] == 1.0
    assert cgj.composite == 100.0


def test_periods_split_the_trail(world: World, session: Session) -> None:
    trail.build_september(world)
    october = service.compute_assessment(session, service.parse_period("2026-10"))
    assert october.units == []
    quarter = _zjj(service.compute_assessment(session, service.parse_period("2026-Q3")))
    assert quarter.counts == trail.EXPECTED_ZJJ
    # A custom window of the first week: only A1–A5's first rounds were handed out then.
    first_week = service.unit_counts(session, service.parse_period(None, "2026-09-01", "2026-09-07"))
    zjj = first_week[world.users["zjj"].unit_id]
    assert zjj["dispatched"] == 5 and zjj["followed_up"] == 1 and zjj["due"] == 0


def test_ranking_red_and_black(world: World, session: Session) -> None:
    trail.build_september(world)
    trail.build_other_units(world)
    service.set_policy(session, world.actor("admin"), {"min_volume": 1, "red_size": 1, "black_size": 1})
    result = service.compute_assessment(session, service.parse_period(trail.PERIOD), governance_done={})
    assert [(u.unit_code, u.rank) for u in result.units] == [("cgj", 1), ("zjj", 2)]
    assert [u.unit_code for u in result.red_list] == ["cgj"]
    assert [u.unit_code for u in result.black_list] == ["zjj"]
    service.set_policy(session, world.actor("admin"), {"black_max_score": 60})
    result = service.compute_assessment(session, service.parse_period(trail.PERIOD), governance_done={})
    assert result.black_list == []  # 66 is not below the threshold


def test_min_volume_keeps_small_units_out_of_the_ranking(world: World, session: Session) -> None:
    trail.build_other_units(world)  # cgj: 2 rounds, below the default minimum of 5
    result = service.compute_assessment(session, service.parse_period(trail.PERIOD), governance_done={})
    (cgj,) = result.units
    assert cgj.composite == 100.0 and not cgj.ranked and cgj.rank is None and not cgj.red


def test_equal_scores_share_a_rank() -> None:
    counts = dict.fromkeys(service.MEASURES, 0) | {"dispatched": 5, "response_base": 5, "responded": 5}
    units = [service.UnitFigures(unit_id=i, unit_code=f"u{i}", unit_name=f"u{i}", counts=dict(counts))
             for i in range(3)]
    units[2].counts["responded"] = 4
    policy = service.DEFAULT_POLICY
    assert service.score_units(units, policy) == 3
    assert [u.rank for u in units] == [1, 1, 3]


def test_drill_down_lists_the_appeals_behind_a_number(world: World, session: Session) -> None:
    numbers = trail.build_september(world)
    period = service.parse_period(trail.PERIOD)
    admin = world.actor("admin")
    expectations = {"overdue": {"A2", "A4"}, "supervised_overdue": {"A4"}, "returned": {"A3"},
                    "not_responded": {"A2"}, "reopened": {"A2"}, "dissatisfied": {"A2"},
                    "on_time": {"A1", "A2", "A5"}, "dispatched": {"A1", "A2", "A3", "A4", "A5"}}
    for measure, names in expectations.items():
        drill = service.appeals_behind(session, admin, period, "zjj", measure)
        assert drill.unit.code == "zjj"
        assert {a.number for a in drill.appeals} == {numbers[n] for n in names}, measure
        assert drill.total == len(names)
        assert drill.rounds == trail.EXPECTED_ZJJ[measure]  # the page's number, round by round
    with pytest.raises(InvalidInput):
        service.appeals_behind(session, admin, period, "zjj", "bogus")


def test_access(world: World, session: Session) -> None:
    trail.build_september(world)
    trail.build_other_units(world)
    period = service.parse_period(trail.PERIOD)
    for role_user in ("admin", "dispatcher", "supervisor", "leader"):
        assert service.access_assessment(world.actor(role_user)).everything
    for refused in ("intake", "zjj", "grid1", "mediator"):
        with pytest.raises(Forbidden):
            service.access_assessment(world.actor(refused))
    own = service.assessment_for(session, world.actor("zjjlead"), period)
    assert [u.unit_code for u in own.units] == ["zjj"]
    with pytest.raises(Forbidden):
        service.appeals_behind(session, world.actor("zjjlead"), period, "cgj", "dispatched")


@pytest.mark.parametrize(("value", "start", "end"), [
    ("2026-09", (2026, 9, 1), (2026, 10, 1)),
    ("2026-12", (2026, 12, 1), (2027, 1, 1)),
    ("2026-Q4", (2026, 10, 1), (2027, 1, 1)),
    ("2026-q1", (2026, 1, 1), (2026, 4, 1)),
    ("2026", (2026, 1, 1), (2027, 1, 1)),
])
def test_periods_are_local(value: str, start: tuple[int, int, int], end: tuple[int, int, int]) -> None:
    period = service.parse_period(value)
    assert period.start == datetime(*start, tzinfo=clock.DISTRICT_TZ)
    assert period.end == datetime(*end, tzinfo=clock.DISTRICT_TZ)
    assert period.start.utcoffset() == timedelta(hours=8)


def test_custom_period_includes_its_last_day() -> None:
    period = service.parse_period(None, "2026-09-01", "2026-09-15")
    assert period.kind == "custom" and period.last_day.day == 15
    assert period.end == datetime(2026, 9, 16, tzinfo=clock.DISTRICT_TZ)


@pytest.mark.parametrize(("period", "date_from", "date_to"), [
    ("2026-13", None, None), ("2026-00", None, None), ("26-09", None, None), ("2026-Q5", None, None),
    ("1999", None, None), ("abc", None, None), ("2026-09", "2026-09-01", "2026-09-02"),
    (None, "2026-09-01", None), (None, "2026-09-10", "2026-09-01"), (None, "2026-02-30", "2026-03-01"),
    (None, "2020-01-01", "2026-01-01"), ("x" * 40, None, None),
])
def test_bad_periods_are_refused_in_both_languages(period: str | None, date_from: str | None,
                                                   date_to: str | None) -> None:
    with pytest.raises(InvalidInput) as caught:
        service.parse_period(period, date_from, date_to)
    assert caught.value.message_zh and caught.value.message_en


def test_policy_is_admin_only_validated_and_audited(world: World, session: Session) -> None:
    with pytest.raises(Forbidden):
        service.set_policy(session, world.actor("supervisor"), {"red_size": 5})
    for bad in ({"red_size": 2.5}, {"red_size": -1}, {"weights": {"response": "x"}},
                {"weights": dict.fromkeys(service.RATE_KEYS, 0)}, {"satisfaction_weights": {"satisfied": 2}},
                {"nonsense": 1}, {"weights": {"speed": 5}}):
        with pytest.raises(InvalidInput):
            service.set_policy(session, world.actor("admin"), bad)
    service.set_policy(session, world.actor("admin"), {"red_size": 5, "weights": {"response": 20}})
    policy = service.get_policy(session)
    assert policy["red_size"] == 5 and policy["weights"]["response"] == 20 and policy["weights"]["resolution"] == 45
    audit = session.query(AuditEntry).filter_by(action="set_assessment_policy").one()
    assert audit.detail["after"]["red_size"] == 5 and audit.detail["before"]["red_size"] == 3


def test_the_trail_statement_uses_the_event_indexes(world: World, session: Session) -> None:
    """Read straight from the trail, the plan starts from the (action, at) index and reaches each
    appeal's events by (appeal_id, id)."""
    trail.build_september(world)
    plan = _plan(session, service.counts_sql(session, service.parse_period(trail.PERIOD), source="trail"))
    assert "ix_appeal_events_action_at" in plan
    if session.get_bind().dialect.name == "sqlite":
        assert "ix_appeal_events_appeal" in plan


def test_the_projection_statement_uses_its_range_indexes(world: World, session: Session) -> None:
    trail.build_september(world)
    service.refresh_rounds(session)
    plan = _plan(session, service.counts_sql(session, service.parse_period(trail.PERIOD)))
    for index in ("ix_assessment_rounds_assigned", "ix_assessment_rounds_due", "ix_assessment_rounds_resolved",
                  "ix_assessment_rounds_followed"):
        assert index in plan, plan


def _plan(session: Session, sql: str) -> str:
    from sqlalchemy import text

    if session.get_bind().dialect.name == "sqlite":
        plan = " ".join(str(row[-1]) for row in session.execute(text("EXPLAIN QUERY PLAN " + sql)))
    else:
        session.execute(text("SET enable_seqscan = off"))  # a tiny table would be scanned anyway
        plan = " ".join(str(row[0]) for row in session.execute(text("EXPLAIN " + sql)))
        session.execute(text("RESET enable_seqscan"))
    session.rollback()
    return plan


def test_projection_and_trail_agree_and_follow_new_events(world: World, session: Session) -> None:
    numbers = trail.build_september(world)
    trail.build_other_units(world)
    for key in ("2026-09", "2026-Q3", "2026"):
        period = service.parse_period(key)
        assert service.unit_counts(session, period) == service.unit_counts(session, period, source="trail"), key
    # A later event on an appeal already in the projection: the next read sees it.
    with clock.frozen_at(trail.at(18, 10)):
        from sudi.appeals import service as appeals

        appeals.perform_action(session, world.actor("zjj"), numbers["A4"], {"action": "resolve",
                                                                           "reply": trail.REPLY})
    period = service.parse_period(trail.PERIOD)
    projected = service.unit_counts(session, period)
    assert projected == service.unit_counts(session, period, source="trail")
    assert projected[world.users["zjj"].unit_id]["resolved"] == 5
    # Rebuilding from scratch gives the same rows.
    from sudi.core.models import put_setting

    put_setting(session, service.ROUNDS_MARK_KEY, 0)
    session.commit()
    assert service.unit_counts(session, period) == projected


def test_governance_tasks_done_in_the_period_earn_the_bonus(world: World, session: Session) -> None:
    from sudi.hotspots.models import GovernanceTask, TaskState

    period = service.parse_period(trail.PERIOD)
    trail.build_other_units(world)
    cgj = world.users["cgj"].unit_id
    inside, outside = period.start + timedelta(days=3), period.end + timedelta(days=1)
    for done_at, state in ((inside, TaskState.done), (inside, TaskState.done), (outside, TaskState.done),
                           (inside, TaskState.cancelled)):
        session.add(GovernanceTask(unit_id=cgj, title="整治青檀路夜市噪音", deadline=done_at, state=state.value,
                                   created_at=period.start, done_at=done_at))
    session.commit()
    assert service.governance_tasks_done(session, period) == {cgj: 2}
    unit = next(u for u in service.compute_assessment(session, period).units if u.unit_code == "cgj")
    assert unit.governance_done == 2 and unit.bonus == 2.0


def test_overdue_governance_tasks_are_deducted_under_the_common_cap(world: World, session: Session) -> None:
    trail.build_september(world)  # zjj: one supervised overdue round, −2
    zjj = world.users["zjj"].unit_id
    period = service.parse_period(trail.PERIOD)
    unit = _zjj(service.compute_assessment(session, period, governance_done={}, governance_overdue={zjj: 3}))
    assert unit.governance_overdue == 3 and unit.deduction == 2.0 + 3 * 1.0
    assert unit.composite == pytest.approx(trail.EXPECTED_BASE - 5.0)
    service.set_policy(session, world.actor("admin"), {"governance_overdue_deduction": 7})
    unit = _zjj(service.compute_assessment(session, period, governance_done={}, governance_overdue={zjj: 3}))
    assert unit.deduction == 20.0  # 2 + 21, held at the cap
    with pytest.raises(InvalidInput):
        service.set_policy(session, world.actor("admin"), {"governance_overdue_deduction": -1})


def test_tasks_done_late_earn_no_bonus_and_cost_points_in_their_deadlines_month(world: World,
                                                                                 session: Session) -> None:
    from tests.hotspots.factories import hotspot_id, task

    trail.build_other_units(world)
    hotspot = hotspot_id(world)
    on_time = dict(created=trail.at(1, 9), deadline=trail.at(20, 18))
    task(world, hotspot, **on_time, done=trail.at(10, 9))
    task(world, hotspot, **on_time, done=trail.at(12, 9))
    # Late, and finished in October: no bonus there either (it counts once, as overdue in September).
    task(world, hotspot, created=trail.at(1, 9), deadline=trail.at(10, 18), done=trail.at(25, 9) + timedelta(days=30))
    task(world, hotspot, created=trail.at(1, 9), deadline=trail.at(15, 18))                         # never done
    september = next(u for u in service.compute_assessment(session, service.parse_period(trail.PERIOD)).units
                     if u.unit_code == "cgj")
    assert (september.governance_done, september.governance_overdue) == (2, 2)
    assert september.bonus == 2.0 and september.deduction == 2.0
    assert september.composite == pytest.approx(100.0)  # a perfect base score, +2 −2
    october = service.parse_period("2026-10")
    assert service.governance_tasks_done(session, october) == {}
    assert service.compute_assessment(session, october).units == []
