"""A hand-built event trail for September 2026 with known answers for every figure of 区住建局 (zjj).

Times are local (Asia/Shanghai). Limits are the defaults: acknowledge within 2 hours, resolve
within 5 working days (September 2026: 1–4, 7–11, 14–18 are working days).

- A1, dispatched 1 Sep: acknowledged in 30 min, resolved 3 Sep, follow-up solved 满意.
- A2, dispatched 1 Sep: acknowledged after 3 h (late), resolved 10 Sep (due 8 Sep: late), follow-up
  unsolved 不满意, reopened 11 Sep; the reopened round: acknowledged in 30 min, resolved 14 Sep
  (due 18 Sep: on time), follow-up solved 基本满意.
- A3, dispatched 2 Sep: returned within the hour, never acknowledged (退单, outside 响应率).
- A4, dispatched 2 Sep: acknowledged in 30 min, supervised 10 Sep, never resolved (due 9 Sep):
  overdue and supervised.
- A5, dispatched 3 Sep: acknowledged, an extension of 5 working days approved (due 10 → 17 Sep),
  resolved 15 Sep: on time thanks to the extension.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sudi.appeals import service as appeals
from sudi.core import clock
from tests.factories import World

PERIOD = "2026-09"
REPLY = "经现场核查，已安排维修人员处理完毕，现已恢复正常。"

EXPECTED_ZJJ = {
    "dispatched": 6, "response_base": 5, "responded": 4, "not_responded": 1,
    "due": 5, "on_time": 3, "overdue": 2, "supervised_overdue": 1,
    "followed_up": 3, "solved": 2, "unsolved": 1, "satisfied": 1, "fairly_satisfied": 1, "dissatisfied": 1,
    "returned": 1, "resolved": 4, "reopened": 1,
}
EXPECTED_RATES = {"response": 4 / 5, "on_time": 3 / 5, "resolution": 2 / 3, "satisfaction": 2 / 3,
                  "return": 1 / 6, "reopen": 1 / 4}
# 100 × (10 × 0.8 + 45 × 2/3 + 45 × 2/3) / 100 = 68; one supervised overdue round: −2.
EXPECTED_BASE = 68.0
EXPECTED_COMPOSITE = 66.0


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 9, day, hour, minute, tzinfo=clock.DISTRICT_TZ)


def _act(world: World, when: datetime, who: str, number: str, **payload: Any) -> None:
    with clock.frozen_at(when):
        appeals.perform_action(world.session, world.actor(who), number, payload)


def _new(world: World, when: datetime, title: str, unit: str = "zjj") -> str:
    with clock.frozen_at(when):
        number = appeals.create_appeal(world.session, world.actor("intake"), appeals.AppealDraft(
            title=title, content=f"{title}，请尽快处理。", citizen_phone="13812345678", received_at=when)
        ).appeal.number
    _act(world, when.replace(minute=10), "dispatcher", number, action="accept")
    _act(world, when.replace(minute=20), "dispatcher", number, action="dispatch", unit=unit)
    return number


def build_september(world: World) -> dict[str, str]:
    """The trail of the table above; returns the appeal numbers by name."""
    a1 = _new(world, at(1, 9), "A1 楼道灯不亮")
    _act(world, at(1, 9, 50), "zjj", a1, action="acknowledge")
    _act(world, at(3, 15), "zjj", a1, action="resolve", reply=REPLY)
    _act(world, at(4, 10), "intake", a1, action="follow_up", solved=True, satisfaction="satisfied")

    a2 = _new(world, at(1, 9), "A2 小区积水")
    _act(world, at(1, 12, 30), "zjj", a2, action="acknowledge")  # 3 h 10 min after dispatch: late
    _act(world, at(10, 16), "zjj", a2, action="resolve", reply=REPLY)
    _act(world, at(11, 9), "intake", a2, action="follow_up", solved=False, satisfaction="dissatisfied")
    _act(world, at(11, 10), "supervisor", a2, action="reopen", reason="市民反映问题仍未解决")
    _act(world, at(11, 10, 30), "zjj", a2, action="acknowledge")
    _act(world, at(14, 15), "zjj", a2, action="resolve", reply="经再次核查整改：" + REPLY)
    _act(world, at(15, 10), "intake", a2, action="follow_up", solved=True, satisfaction="fairly_satisfied")

    a3 = _new(world, at(2, 9), "A3 违建")
    _act(world, at(2, 9, 50), "zjj", a3, action="return", reason="不属于本单位职责")

    a4 = _new(world, at(2, 9), "A4 电梯故障")
    _act(world, at(2, 9, 50), "zjj", a4, action="acknowledge")
    _act(world, at(10, 9), "supervisor", a4, action="supervise", reason="超期未办结，列入督办")

    a5 = _new(world, at(3, 9), "A5 路面塌陷")
    _act(world, at(3, 9, 50), "zjj", a5, action="acknowledge")
    _act(world, at(4, 9), "zjj", a5, action="request_extension", working_days=5, reason="需协调施工单位")
    _act(world, at(4, 10), "dispatcher", a5, action="approve_extension")
    _act(world, at(15, 16), "zjj", a5, action="resolve", reply=REPLY)
    return {"A1": a1, "A2": a2, "A3": a3, "A4": a4, "A5": a5}


def build_other_units(world: World) -> None:
    """cgj: two rounds in September, both answered on time and rated 满意 (a perfect score)."""
    for day in (7, 8):
        number = _new(world, at(day, 9), f"占道经营{day}", unit="cgj")
        _act(world, at(day, 9, 40), "cgj", number, action="acknowledge")
        _act(world, at(day + 1, 9), "cgj", number, action="resolve", reply=REPLY)
        _act(world, at(day + 2, 9), "intake", number, action="follow_up", solved=True, satisfaction="satisfied")
