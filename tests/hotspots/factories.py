"""Hotspot test data made through the services: a hotspot of three appeals about one batching plant,
and 主动治理 tasks at chosen moments (the clock frozen at each step), for the tests of the board, the
server's jobs, the bonus, the deduction, the dashboard lists and the warning."""

from __future__ import annotations

from datetime import datetime, timedelta

from sudi.core import clock
from sudi.hotspots import service
from sudi.hotspots.models import GovernanceTask
from tests.factories import IN_G001, World

NOISE = ["丽发新城小区附近搅拌站噪音扰民", "丽发新城搅拌站夜间施工噪音扰民严重", "投诉丽发新城小区搅拌站噪音污染"]


def seed_noise(world: World) -> None:
    """Three appeals by three citizens about the same batching plant, at one point."""
    for i, text in enumerate(NOISE):
        world.appeal(title=text, content=text + "，请尽快处理。", point=IN_G001, citizen_phone=f"1390000010{i}")


def hotspot_id(world: World) -> int:
    """One hotspot (``seed_noise`` and a full recompute)."""
    seed_noise(world)
    service.refresh_hotspots(world.session)
    return service.list_hotspots(world.session, world.actor("leader"))[0].id


def task(world: World, hotspot: int, *, created: datetime, deadline: datetime, unit: str = "cgj",
         done: datetime | None = None, cancelled: datetime | None = None, title: str = "") -> GovernanceTask:
    """A task handed to ``unit`` at ``created`` with ``deadline``; done or cancelled at the given moment."""
    session = world.session
    with clock.frozen_at(created):
        made = service.create_governance_task(session, world.actor("dispatcher"), hotspot, unit=unit,
                                              deadline=deadline, title=title or None,
                                              instructions="查处搅拌站夜间违规施工")
    if done is not None:
        with clock.frozen_at(done):
            service.complete_governance_task(session, world.actor(unit), made.id, result="已责令搅拌站夜间停工")
    if cancelled is not None:
        with clock.frozen_at(cancelled):
            service.cancel_governance_task(session, world.actor("dispatcher"), made.id, reason="并入其他任务")
    return made


def ago(days: float) -> datetime:
    return clock.now() - timedelta(days=days)
