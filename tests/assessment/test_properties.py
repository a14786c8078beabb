"""Properties on random trails: whatever the units do, in whatever order, every rate stays in [0, 1],
every numerator stays within its denominator, event counts add up across months, the projection
agrees with the trail read directly, and the counts agree with a plain Python reading of the trail."""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from sudi.appeals import service as appeals
from sudi.appeals.models import AppealEvent
from sudi.assessment import service
from sudi.core import clock
from sudi.core.errors import SudiError
from tests.factories import World

START = datetime(2026, 8, 3, 9, 0, tzinfo=clock.DISTRICT_TZ)
HANDLERS = {"zjj": "zjj", "cgj": "cgj"}
REPLY = "经现场核查，已按规定处理完毕，感谢您的反映。"

MOVES: list[tuple[str, dict[str, Any]]] = [
    ("dispatcher", {"action": "dispatch", "unit": "zjj"}),
    ("dispatcher", {"action": "dispatch", "unit": "cgj"}),
    ("@handler", {"action": "acknowledge"}),
    ("@handler", {"action": "return", "reason": "不属于本单位职责"}),
    ("@handler", {"action": "resolve", "reply": REPLY}),
    ("@handler", {"action": "request_extension", "working_days": 3, "reason": "需要协调"}),
    ("dispatcher", {"action": "approve_extension"}),
    ("supervisor", {"action": "supervise", "reason": "列入督办"}),
    ("intake", {"action": "follow_up", "solved": True, "satisfaction": "satisfied"}),
    ("intake", {"action": "follow_up", "solved": True, "satisfaction": "fairly_satisfied"}),
    ("intake", {"action": "follow_up", "solved": False, "satisfaction": "dissatisfied"}),
    ("supervisor", {"action": "reopen", "reason": "市民不满意"}),
]

steps = st.lists(st.tuples(st.integers(0, len(MOVES) - 1), st.floats(0.2, 150.0)), min_size=1, max_size=12)
scripts = st.lists(steps, min_size=1, max_size=3)


def _play(world: World, script: list[tuple[int, float]], start: datetime) -> None:
    session = world.session
    with clock.frozen_at(start):
        number = appeals.create_appeal(session, world.actor("intake"), appeals.AppealDraft(
            title="随机轨迹", content="随机生成的办理轨迹，用于检验考核口径。", received_at=start)).appeal.number
        appeals.perform_action(session, world.actor("dispatcher"), number, {"action": "accept"})
    moment = start
    for index, hours in script:
        moment += timedelta(hours=hours)
        who, payload = MOVES[index]
        if who == "@handler":
            lead = appeals.get_appeal(session, number).lead_unit
            who = HANDLERS.get(lead.code if lead else "", "zjj")
        # A move not allowed in this state is refused: the trail simply does not get that event.
        with clock.frozen_at(min(moment, clock.now())), contextlib.suppress(SudiError):
            appeals.perform_action(session, world.actor(who), number, dict(payload))


def _check_bounds(counts: dict[str, int]) -> None:
    assert all(v >= 0 for v in counts.values())
    assert counts["responded"] + counts["not_responded"] == counts["response_base"] <= counts["dispatched"]
    assert counts["on_time"] + counts["overdue"] == counts["due"]
    assert counts["supervised_overdue"] <= counts["overdue"]
    assert counts["solved"] + counts["unsolved"] == counts["followed_up"]
    assert counts["satisfied"] + counts["fairly_satisfied"] + counts["dissatisfied"] == counts["followed_up"]
    assert counts["returned"] <= counts["dispatched"]
    assert counts["reopened"] <= counts["resolved"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(scripts=scripts, offset_days=st.integers(0, 40))
def test_random_trails_keep_every_figure_in_bounds(world: World, session: Session, scripts: list[Any],
                                                   offset_days: int) -> None:
    for n, script in enumerate(scripts):
        _play(world, script, START + timedelta(days=offset_days, hours=n))
    months = ["2026-08", "2026-09", "2026-10", "2026-11"]
    per_month = {m: service.unit_counts(session, service.parse_period(m)) for m in months}
    for m in months:  # the projection says exactly what the trail says
        assert per_month[m] == service.unit_counts(session, service.parse_period(m), source="trail",
                                                   lookback_days=1000), m
    for counts in per_month.values():
        for unit_counts in counts.values():
            _check_bounds(unit_counts)
    result = service.compute_assessment(session, service.parse_period("2026-Q3"), governance_done={})
    cap_up, cap_down = result.policy["governance_bonus_cap"], result.policy["deduction_cap"]
    for unit in result.units:
        _check_bounds(unit.counts)
        assert all(rate is None or 0.0 <= rate <= 1.0 for rate in unit.rates.values())
        assert unit.composite is None or -cap_down <= unit.composite <= 100 + cap_up

    # Counts of events that happen once (hand-outs, returns, follow-ups, resolutions) add up over months.
    whole = service.unit_counts(session, service.parse_period(None, "2026-08-01", "2026-11-30"))
    for key in ("dispatched", "returned", "followed_up", "solved", "resolved", "satisfied", "dissatisfied"):
        for unit_id, counts in whole.items():
            assert counts[key] == sum(per_month[m].get(unit_id, {}).get(key, 0) for m in months), key

    # And they agree with a plain reading of the trail in Python.
    events = session.scalars(select(AppealEvent).order_by(AppealEvent.id)).all()
    handed: Counter[int] = Counter()
    followed: Counter[int] = Counter()
    merged_or_not_assigned: set[int] = set()
    current_unit: dict[int, int | None] = {}
    for event in events:
        if event.action in service.ASSIGN_ACTIONS:
            current_unit[event.appeal_id] = event.unit_id
            handed[event.unit_id or 0] += 1
        elif event.action == "follow_up":
            unit = current_unit.get(event.appeal_id)
            if unit is None:
                merged_or_not_assigned.add(event.appeal_id)
            else:
                followed[unit] += 1
    for unit_id, counts in whole.items():
        assert counts["dispatched"] == handed[unit_id]
        assert counts["followed_up"] == followed[unit_id]
