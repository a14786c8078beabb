"""What the assessment and the supervision read from 主动治理 tasks: done by the deadline, overdue (counted
once, in the deadline's period), and the open tasks past their deadline."""

from __future__ import annotations

from datetime import timedelta

from sudi.core import clock
from sudi.hotspots import service
from tests.factories import World
from tests.hotspots.factories import ago, hotspot_id, task


def test_on_time_earns_the_bonus_and_late_or_open_counts_overdue_once(world: World) -> None:
    hotspot = hotspot_id(world)
    t0 = ago(30)
    due = t0 + timedelta(days=10)
    task(world, hotspot, created=t0, deadline=due, done=t0 + timedelta(days=5))       # on time
    task(world, hotspot, created=t0, deadline=due, done=t0 + timedelta(days=12))      # late
    task(world, hotspot, created=t0, deadline=due)                                    # still open
    task(world, hotspot, created=t0, deadline=clock.now() + timedelta(days=5))        # not due yet
    task(world, hotspot, created=t0, deadline=due, cancelled=t0 + timedelta(days=12))  # withdrawn
    task(world, hotspot, created=t0, deadline=t0 + timedelta(days=20), done=t0 + timedelta(days=19), unit="zjj")
    cgj, zjj = world.users["cgj"].unit_id, world.users["zjj"].unit_id
    session, now = world.session, clock.now() + timedelta(seconds=1)
    assert service.governance_tasks_done_by_unit(session, t0, now) == {cgj: 1, zjj: 1}
    assert service.governance_tasks_overdue_by_unit(session, t0, now) == {cgj: 2}
    # Split at the deadline's period: the late one is not counted again in the period it was done.
    split = t0 + timedelta(days=11)
    assert service.governance_tasks_overdue_by_unit(session, t0, split) == {cgj: 2}
    assert service.governance_tasks_overdue_by_unit(session, split, now) == {}
    assert service.governance_tasks_done_by_unit(session, split, now) == {zjj: 1}
    # Before the deadline passed, the open task was not overdue yet.
    assert service.governance_tasks_overdue_by_unit(session, t0, now, now=due - timedelta(hours=1)) == {}


def test_open_tasks_past_their_deadline_longest_first(world: World) -> None:
    hotspot = hotspot_id(world)
    t0 = ago(30)
    later = task(world, hotspot, created=t0, deadline=t0 + timedelta(days=20), title="后到期的任务")
    first = task(world, hotspot, created=t0, deadline=t0 + timedelta(days=10), title="先到期的任务")
    task(world, hotspot, created=t0, deadline=t0 + timedelta(days=5), done=t0 + timedelta(days=8))
    task(world, hotspot, created=t0, deadline=clock.now() + timedelta(days=3))
    session = world.session
    assert [t.id for t in service.overdue_governance_tasks(session)] == [first.id, later.id]
    assert service.count_overdue_governance_tasks(session) == 2
    # Overdue by more than 15 days: only the first (deadline 20 days ago).
    assert [t.id for t in service.overdue_governance_tasks(session, before=clock.now() - timedelta(days=15))] == [
        first.id]
    assert [t.id for t in service.overdue_governance_tasks(session, limit=1)] == [first.id]
