"""受理 → 研判 → 分流 → 督办 → 反馈 → 考评: each step's timing and holders, from the event trail."""

from __future__ import annotations

from datetime import datetime, timedelta

from sudi.appeals import service
from sudi.core import clock
from tests.factories import World

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=clock.DISTRICT_TZ)


def _at(minutes: int):  # type: ignore[no-untyped-def]
    return clock.frozen_at(T0 + timedelta(minutes=minutes))


def test_step_timing_and_holders(world: World) -> None:
    with _at(0):
        number = service.create_appeal(world.session, world.actor("intake"), service.AppealDraft(
            title="楼道灯坏了", content="青檀小区3号楼楼道灯坏了两周")).appeal.number
    act = lambda who, minutes, **payload: service.perform_action(  # noqa: E731
        world.session, world.actor(who), number, payload)
    with _at(10):
        act("intake", 10, action="accept")
    with _at(30):
        act("dispatcher", 30, action="triage", in_scope=True, matter="M-WYGL")
    with _at(40):
        act("dispatcher", 40, action="dispatch", unit="cgj")
    with _at(100):
        act("cgj", 100, action="return", reason="物业服务监管不属于本局职责")
    with _at(130):
        act("dispatcher", 130, action="rule", unit="zjj", matter="M-WYGL", reason="按权责清单由住建局办理")
    with _at(190):
        act("zjj", 190, action="acknowledge")
    with _at(190 + 24 * 60):
        act("zjj", 0, action="resolve", reply="已约谈物业公司并更换楼道灯，现已恢复照明。")
    with _at(190 + 48 * 60):
        act("intake", 0, action="follow_up", solved=True, satisfaction="satisfied")
    with _at(190 + 72 * 60):
        act("supervisor", 0, action="archive")
        appeal = service.get_appeal(world.session, number)
        loop = {s["step"]: s for s in service.closed_loop(service.events_of(world.session, appeal))}

    assert [s for s in loop] == ["intake", "triage", "routing", "handling", "feedback", "assessment"]
    assert all(s["status"] == "done" for s in loop.values())
    assert loop["intake"]["seconds"] == 10 * 60
    assert loop["triage"]["seconds"] == 20 * 60
    # Routing twice: triage → dispatch (10 min), then return → ruling (30 min).
    assert (loop["routing"]["rounds"], loop["routing"]["seconds"]) == (2, 40 * 60)
    # Handling twice: at cgj until its return (60 min), then at zjj until resolved (1 day + 60 min).
    assert (loop["handling"]["rounds"], loop["handling"]["seconds"]) == (2, (60 + 24 * 60 + 60) * 60)
    assert loop["feedback"]["seconds"] == 24 * 3600
    assert loop["assessment"]["seconds"] == 24 * 3600
    assert {"cgj", "zjj"} <= set(loop["handling"]["held_by"])


def test_a_step_in_progress_counts_up_to_now(world: World) -> None:
    with _at(0):
        appeal = world.appeal("dispatched")
    with _at(45):
        loop = {s["step"]: s for s in service.closed_loop(service.events_of(world.session, appeal))}
    assert loop["handling"]["status"] == "current" and loop["handling"]["seconds"] == 45 * 60
    assert loop["feedback"]["status"] == "pending"


def test_the_loop_is_part_of_the_appeal_detail(client, world: World) -> None:  # type: ignore[no-untyped-def]
    appeal = world.appeal("resolved")
    body = client.get(f"/api/v1/appeals/{appeal.number}", headers=world.headers("supervisor")).json()
    assert [s["label"] for s in body["closed_loop"]] == ["受理", "研判", "分流", "督办", "反馈", "考评"]
    assert body["closed_loop"][4]["status"] == "current"
