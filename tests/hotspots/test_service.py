"""Hotspots in the product: full recompute, incremental join, 主动治理 tasks, 每月一题, parameters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import undefer

from sudi.appeals.models import Appeal
from sudi.core import clock
from sudi.core.db import transaction
from sudi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from sudi.core.models import AuditEntry
from sudi.hotspots import service
from sudi.hotspots.models import GovernanceTask, Hotspot, HotspotKey, HotspotMember
from tests.factories import IN_G001, IN_G002, World

NOISE = ["丽发新城小区附近搅拌站噪音扰民", "丽发新城搅拌站夜间施工噪音扰民严重", "投诉丽发新城小区搅拌站噪音污染",
         "丽发新城搅拌站噪音扰民晚上睡不着"]
OTHER = ["咨询新生儿医保办理流程", "建议增加公交线路方便上班", "反映养老金发放延迟", "询问公积金提取条件",
         "投诉出租车拒载", "咨询居住证办理", "建议公园增设健身器材", "反映学校食堂饭菜质量差"]


def seed(world: World, texts: list[str], *, point: tuple[float, float] = IN_G001, phone_from: int = 0) -> list[int]:
    ids = []
    for i, text in enumerate(texts):
        appeal = world.appeal(title=text, content=text + "，请尽快处理。", point=point,
                              citizen_phone=f"138{phone_from + i:08d}")
        ids.append(appeal.id)
    return ids


def test_refresh_finds_the_hotspot_and_stores_its_members(world: World) -> None:
    session = world.session
    noisy = seed(world, NOISE)
    seed(world, OTHER, point=IN_G002, phone_from=100)
    summary = service.refresh_hotspots(session)
    assert summary["appeals"] == len(NOISE) + len(OTHER) and summary["hotspots"] >= 1
    top = service.list_hotspots(session, world.actor("leader"))[0]
    assert top.place.startswith("丽发新城") and "搅拌站" in top.title and top.size == len(NOISE)
    members = set(session.scalars(select(HotspotMember.appeal_id).where(HotspotMember.hotspot_id == top.id)))
    assert members == set(noisy)
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "hotspots.refresh")) is not None


def _stored(world: World) -> tuple[list[int], list[tuple[object, ...]], set[tuple[int, int]], set[tuple[str, int]]]:
    """The stored hotspots (ids apart), their members and keys by the hotspot's position."""
    session = world.session
    session.expire_all()
    rows = session.scalars(select(Hotspot).options(undefer(Hotspot.state), undefer(Hotspot.updated_at))
                           .order_by(Hotspot.id)).all()
    position = {row.id: n for n, row in enumerate(rows)}
    members = {(m.appeal_id, position[m.hotspot_id]) for m in session.scalars(select(HotspotMember))}
    keys = {(k.key, position[k.hotspot_id]) for k in session.scalars(select(HotspotKey))}
    fields = [(r.status, r.title, r.keywords, r.place, r.place_kind, r.size, r.citizens, r.first_time, r.last_time,
               r.growth, r.heat, r.state, r.updated_at) for r in rows]
    return [r.id for r in rows], fields, members, keys


def test_recompute_in_worker_processes_stores_the_same_under_new_ids(world: World) -> None:
    # The titles and states are made in forked processes and the rows written with ids given by the
    # recompute: the same rows, members and keys as in one process, under ids never used before, so
    # a link to a replaced hotspot finds nothing rather than another hotspot.
    session = world.session
    seed(world, NOISE)
    seed(world, OTHER, point=IN_G002, phone_from=100)
    with clock.frozen_at(clock.now()):
        service.refresh_hotspots(session)
        first_ids, *first = _stored(world)
        service.refresh_hotspots(session, workers=2)
        second_ids, *second = _stored(world)
    assert second == first and len(first_ids) == 1 + len(OTHER)
    assert min(second_ids) > max(first_ids)
    # Each member keeps its appeal's time (written by COPY on PostgreSQL, by INSERT on SQLite).
    received = {i: t for i, t in session.execute(select(Appeal.id, Appeal.received_at))}
    members = session.scalars(select(HotspotMember)).all()
    assert members and all(m.at == received[m.appeal_id] for m in members)
    with pytest.raises(NotFound):
        service.access_hotspot(session, world.actor("leader"), first_ids[0])


def test_hotspot_ids_after_a_recompute_follow_every_id_given_before(world: World) -> None:
    # A join after a recompute numbers its new hotspot after the recompute's rows; the id of a hotspot
    # a merge deleted is never given again, by a recompute or by a join.
    session = world.session
    seed(world, NOISE)
    service.refresh_hotspots(session)
    recomputed = max(_stored(world)[0])
    seed(world, ["青檀路路灯不亮晚上很黑", "青檀路路灯不亮晚上太黑了"], point=IN_G002, phone_from=600)
    assert service.join_new_appeals(session) == 2
    joined = max(_stored(world)[0])
    assert joined > recomputed
    with transaction(session):   # what a merge does to the hotspot merged away
        session.execute(delete(Hotspot).where(Hotspot.id == joined))
    seed(world, ["文化路井盖丢失很危险", "文化路井盖丢失，晚上太危险"], point=IN_G002, phone_from=700)
    assert service.join_new_appeals(session) == 2
    rejoined = max(_stored(world)[0])
    assert rejoined == joined + 1
    with transaction(session):
        session.execute(delete(Hotspot).where(Hotspot.id == rejoined))
    service.refresh_hotspots(session)
    assert min(_stored(world)[0]) == rejoined + 1


def test_new_appeals_join_incrementally(world: World) -> None:
    session = world.session
    seed(world, NOISE[:2] + OTHER)
    service.refresh_hotspots(session)
    before = service.list_hotspots(session, world.actor("leader"))[0]
    assert before.size == 2
    new = seed(world, ["丽发新城附近搅拌站噪音扰民太严重"], phone_from=500)
    assert service.join_new_appeals(session) == 1
    assert service.join_new_appeals(session) == 0   # the watermark moved
    after = session.get(Hotspot, before.id)
    assert after is not None and after.size == 3 and after.citizens == 3
    assert session.get(HotspotMember, new[0]).hotspot_id == before.id  # type: ignore[union-attr]
    # Two more appeals that only pair with each other become a new hotspot.
    seed(world, ["青檀路路灯不亮晚上很黑", "青檀路路灯不亮晚上太黑了"], point=IN_G002, phone_from=600)
    assert service.join_new_appeals(session) == 2
    assert service.rescore_hotspots(session) >= 1
    titles = [h.title for h in service.list_hotspots(session, world.actor("leader"))]
    assert any("青檀路" in t for t in titles)


def test_join_without_a_model_makes_the_first_full_recompute(world: World) -> None:
    seed(world, NOISE)
    assert service.join_new_appeals(world.session) == len(NOISE)
    assert service.model_status(world.session) is not None


def test_board_is_for_the_centre_only(world: World) -> None:
    with pytest.raises(Forbidden):
        service.list_hotspots(world.session, world.actor("zjj"))
    with pytest.raises(NotFound):
        service.access_hotspot(world.session, world.actor("leader"), 999999)


def _hotspot(world: World) -> Hotspot:
    seed(world, NOISE)
    service.refresh_hotspots(world.session)
    return service.list_hotspots(world.session, world.actor("leader"))[0]


def test_governance_task_is_assigned_completed_audited_and_counted(world: World) -> None:
    session = world.session
    hotspot = _hotspot(world)
    deadline = (clock.local(clock.now()) + timedelta(days=10)).date()
    with pytest.raises(Forbidden):
        service.create_governance_task(session, world.actor("zjj"), hotspot.id, unit="cgj", deadline=deadline)
    with pytest.raises(InvalidInput):
        service.create_governance_task(session, world.actor("dispatcher"), hotspot.id, unit="nope", deadline=deadline)
    with pytest.raises(InvalidInput):
        service.create_governance_task(session, world.actor("dispatcher"), hotspot.id, unit="cgj",
                                       deadline=(clock.local(clock.now()) - timedelta(days=1)).date())
    task = service.create_governance_task(session, world.actor("dispatcher"), hotspot.id, unit="cgj",
                                          deadline=deadline, instructions="查处搅拌站夜间违规施工")
    assert task.state == "open" and task.snapshot["size"] == hotspot.size and task.snapshot["appeal_ids"]
    assert [t.id for t in service.list_governance_tasks(session, world.actor("cgj"))] == [task.id]
    assert service.list_governance_tasks(session, world.actor("zjj")) == []
    with pytest.raises(NotFound):
        service.complete_governance_task(session, world.actor("zjj"), task.id, result="已处理完毕，搅拌站停工")
    with pytest.raises(InvalidInput):
        service.complete_governance_task(session, world.actor("cgj"), task.id, result="好")
    start = clock.now() - timedelta(minutes=1)
    done = service.complete_governance_task(session, world.actor("cgj"), task.id, result="已责令搅拌站夜间停工并罚款")
    assert done.state == "done" and done.done_at is not None
    with pytest.raises(Conflict):
        service.complete_governance_task(session, world.actor("cgj"), task.id, result="再次办结试试看")
    counts = service.governance_tasks_done_by_unit(session, start, clock.now() + timedelta(minutes=1))
    assert counts == {world.users["cgj"].unit_id: 1}
    assert service.governance_tasks_done_by_unit(session, start - timedelta(days=30), start) == {}
    actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "governance_task")))
    assert actions == {"governance.create", "governance.complete"}


def test_task_survives_a_full_recompute(world: World) -> None:
    session = world.session
    hotspot = _hotspot(world)
    task = service.create_governance_task(session, world.actor("supervisor"), hotspot.id, unit="cgj",
                                          deadline=(clock.local(clock.now()) + timedelta(days=3)).date())
    service.refresh_hotspots(session)
    session.expire_all()
    kept = session.get(GovernanceTask, task.id)
    assert kept is not None and kept.snapshot["title"] == hotspot.title


def test_monthly_theme_is_chosen_from_a_hotspot(world: World) -> None:
    session = world.session
    hotspot = _hotspot(world)
    with pytest.raises(Forbidden):
        service.choose_monthly_theme(session, world.actor("dispatcher"), hotspot.id, month="2026-11")
    with pytest.raises(InvalidInput):
        service.choose_monthly_theme(session, world.actor("leader"), hotspot.id, month="2026-13")
    theme = service.choose_monthly_theme(session, world.actor("leader"), hotspot.id, month="2026-11", note="重点治理")
    assert theme.title == hotspot.title
    again = service.choose_monthly_theme(session, world.actor("leader"), hotspot.id, month="2026-11")
    assert [t.month for t in service.monthly_themes(session)] == ["2026-11"] and again.note == ""


def test_parameters_are_an_admin_setting(world: World) -> None:
    session = world.session
    with pytest.raises(Forbidden):
        service.set_hotspot_params(session, world.actor("leader"), {"window_days": 30})
    with pytest.raises(InvalidInput):
        service.set_hotspot_params(session, world.actor("admin"), {"similarity": 2})
    with pytest.raises(InvalidInput):
        service.set_hotspot_params(session, world.actor("admin"), {"bogus": 1})
    params = service.set_hotspot_params(session, world.actor("admin"), {"window_days": 30, "half_life_days": 45})
    assert params.window_days == 30 and service.hotspot_params(session).half_life_days == 45
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "hotspots.set_params")) is not None


def test_rescoring_counts_supports_and_growth_with_a_fixed_number_of_parameters(world: World) -> None:
    """The server's rescoring selects members by the live hotspots' condition: at volume a list of member
    ids would pass the databases' parameter limits (SQLite refused 643,000 at 1,000,000 appeals)."""
    from sqlalchemy import event

    from sudi.appeals import service as appeals
    from sudi.appeals.models import Appeal

    session = world.session
    noisy = seed(world, NOISE * 3)
    service.refresh_hotspots(session)
    numbers = session.scalars(select(Appeal.number).where(Appeal.id.in_(noisy[:4]))).all()
    for i, number in enumerate(numbers):
        for j in range(i + 1):   # 1 + 2 + 3 + 4 supporters
            appeals.support_appeal(session, number, supporter=f"s{i}-{j}")
    widest: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        widest.append(len(parameters or ()))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert service.rescore_hotspots(session) == 1
    finally:
        event.remove(engine, "before_cursor_execute", count)
    top = service.list_hotspots(session, world.actor("leader"))[0]
    members = session.scalars(select(HotspotMember.appeal_id).where(HotspotMember.hotspot_id == top.id)).all()
    expected = sum(appeals.support_counts(session, members).values())
    assert len(members) >= 9 and expected >= 8 and top.supports == expected
    assert top.growth == min(5.0, float(len(members)))   # all this period, none the one before
    assert max(widest) <= 8
