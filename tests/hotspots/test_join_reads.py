"""What the hotspot join and the board read: the join reads whole only the clusters an appeal fits, and
must store exactly what reading every candidate whole stored; the board's chart and map are counted
and capped by the database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from sudi.appeals.models import Appeal
from sudi.core import clock
from sudi.core.db import transaction
from sudi.core.models import put_setting
from sudi.hotspots import service
from sudi.hotspots.models import Hotspot, HotspotKey, HotspotMember
from sudi.intelligence.hotspots import Cluster
from tests.factories import IN_G001, World

NOISE = ["丽发新城搅拌站噪音扰民", "丽发新城小区附近搅拌站噪音扰民", "丽发新城搅拌站夜间施工噪音扰民严重",
         "投诉丽发新城小区搅拌站噪音污染", "丽发新城搅拌站噪音扰民晚上睡不着", "丽发新城搅拌站半夜还在施工太吵了"]
NEAR = ["丽发新城小区垃圾清运不及时", "丽发新城小区垃圾堆放无人清理", "丽发新城垃圾桶满了没人清运",
        "丽发新城小区门口路灯不亮", "丽发新城路灯坏了晚上很黑", "丽发新城停车难乱停车严重"]


def seed(world: World, texts: list[str], *, phone_from: int, point: tuple[float, float] = IN_G001) -> list[int]:
    return [world.appeal(title=text, content=text + "，请尽快处理。", point=point,
                         citizen_phone=f"138{phone_from + i:08d}").id for i, text in enumerate(texts)]


def stored(session: Session) -> dict[str, Any]:
    """Everything the join writes, but the moment of writing."""
    session.expire_all()
    hotspots = {h.id: (h.status, h.title, h.keywords, h.place, h.place_kind, h.size, h.citizens, h.supports,
                       h.objections, h.first_time, h.last_time, h.growth, h.heat, h.state)
                for h in session.scalars(select(Hotspot).options(undefer(Hotspot.state)))}
    return {"hotspots": hotspots,
            "members": sorted(tuple(r) for r in session.execute(select(HotspotMember.appeal_id,
                                                                       HotspotMember.hotspot_id, HotspotMember.at))),
            "keys": sorted(tuple(r) for r in session.execute(select(HotspotKey.key, HotspotKey.hotspot_id)))}


def joined_then_undone(session: Session) -> dict[str, Any]:
    """Join the new appeals inside a savepoint, note what was stored, and undo it."""
    savepoint = session.begin_nested()
    session.info["sudi_transaction_depth"] = 1   # the join's own transaction becomes a savepoint inside it
    try:
        assert service.join_new_appeals(session) > 0
        return stored(session)
    finally:
        session.info["sudi_transaction_depth"] = 0
        savepoint.rollback()
        session.expire_all()


@pytest.fixture
def every_candidate_whole(session: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Turn the join back into what it was: every candidate read whole (members and all its state) and
    indexed under all its keys."""
    def whole(row: Any, lookup: set[str]) -> Cluster:
        hotspot = session.scalars(select(Hotspot).options(undefer(Hotspot.state)).where(Hotspot.id == row.id)).one()
        return service._load_cluster(session, hotspot)

    yield lambda: monkeypatch.setattr(service, "_candidate", whole)


def counting(monkeypatch: pytest.MonkeyPatch, name: str) -> Counter[str]:
    calls: Counter[str] = Counter()
    original = getattr(service, name)

    def counted(*args: Any) -> Any:
        calls[name] += 1
        return original(*args)

    monkeypatch.setattr(service, name, counted)
    return calls


def test_a_join_into_a_big_cluster_stores_what_reading_every_candidate_whole_stored(
        world: World, monkeypatch: pytest.MonkeyPatch, every_candidate_whole: Callable[[], None]) -> None:
    session = world.session
    seed(world, NOISE * 5, phone_from=0)   # thirty appeals (a few citizens twice): one big cluster
    seed(world, NEAR, phone_from=100)      # other problems at the same place: candidates it is not
    service.refresh_hotspots(session)
    big = max(session.scalars(select(Hotspot)), key=lambda h: h.size)
    assert big.size >= 25
    seed(world, ["丽发新城搅拌站噪音扰民又开始了", "丽发新城小区停车位不够", "青檀路口红绿灯坏了"], phone_from=500)
    candidates, filled = counting(monkeypatch, "_candidate"), counting(monkeypatch, "_fill")
    light = joined_then_undone(session)
    assert light["hotspots"][big.id][5] == big.size + 1   # the first joined the big cluster
    assert 0 < filled["_fill"] < candidates["_candidate"]   # the candidates it did not fit stayed light
    every_candidate_whole()
    assert joined_then_undone(session) == light


def test_a_merge_stores_what_reading_every_candidate_whole_stored(
        world: World, every_candidate_whole: Callable[[], None]) -> None:
    session = world.session
    seed(world, NOISE * 3, phone_from=0)
    seed(world, NEAR * 2, phone_from=100)
    service.refresh_hotspots(session)
    before = stored(session)
    # Loose thresholds: the next appeal fits several clusters at the place, which then merge.
    with transaction(session):
        put_setting(session, service.PARAMS_KEY, {"similarity": 0.05, "merge_similarity": 0.01})
    seed(world, ["丽发新城搅拌站噪音和垃圾清运问题", "丽发新城路灯和停车问题"], phone_from=500)
    light = joined_then_undone(session)
    assert len(light["hotspots"]) < len(before["hotspots"])   # clusters were merged
    every_candidate_whole()
    assert joined_then_undone(session) == light


def test_the_kinds_of_keys_are_those_of_every_key() -> None:
    keys = sorted(["c:1,2", "c:1,3", "g:坛山街道第001网格", "p:丽发新城", "p:新城", "t:噪音", "t:扰民", "x", "",
                   "\U0010ffff\U0010ffff", "\U0010ffff\U0010ffffz", "zz"])
    assert service._kinds(keys) == {key[:2] for key in keys}
    assert service._kinds(list(reversed(keys))) == {key[:2] for key in keys}   # not sorted: each one read
    assert service._kinds([]) == set()


def test_the_vocabulary_is_parsed_again_after_a_recompute_at_the_same_moment(world: World) -> None:
    session = world.session
    with clock.frozen_at(clock.now()):
        seed(world, NOISE, phone_from=0)
        service.refresh_hotspots(session)
        seed(world, NEAR[:1], phone_from=100)
        service.join_new_appeals(session)
        first = service._stored_vocabulary(session)
        assert service._stored_vocabulary(session) is first   # kept parsed
        seed(world, NEAR[1:], phone_from=200)
        service.refresh_hotspots(session)   # the same moment, other appeals: another vocabulary
        again = service._stored_vocabulary(session)
        assert again is not first and again.documents == len(NOISE) + len(NEAR)


def test_the_chart_counts_district_days_and_the_map_takes_the_first_members(world: World) -> None:
    session = world.session
    # From 15:30 UTC, 23:30 in the district: the appeals fall on two district days (one UTC day).
    evening = (clock.now() - timedelta(days=3)).replace(hour=15, minute=30, second=0, microsecond=0)
    ids = [world.appeal(title=text, content=text + "，请尽快处理。", citizen_phone=f"138{i:08d}",
                        received_at=evening + timedelta(minutes=20 * i)).id for i, text in enumerate([NOISE[0]] * 6)]
    service.refresh_hotspots(session)
    hotspot = session.scalars(select(Hotspot).where(Hotspot.size == 6)).one()
    expected = Counter(clock.local(evening + timedelta(minutes=20 * i)).date().isoformat() for i in range(6))
    assert len(expected) == 2
    assert service.timeline(session, [hotspot.id]) == {hotspot.id: sorted(expected.items())}
    # At most ``per_hotspot`` points a hotspot, its first members (a hotspot named twice counts once).
    points = service.map_points(session, [hotspot.id, hotspot.id], per_hotspot=4)
    first = session.scalars(select(Appeal.number).where(Appeal.id.in_(ids[:4])).order_by(Appeal.id)).all()
    assert [p["number"] for p in points] == first
    assert all(p["hotspot"] == hotspot.id and (p["lat"], p["lon"]) == IN_G001 for p in points)


def test_preparing_the_joins_loads_the_segmenter_and_the_stored_vocabulary(world: World) -> None:
    # What the server's hotspot job does when it starts, so that the first appeal after a start joins
    # as fast as the next ones: without a model it loads the segmenter only; with one, the vocabulary too.
    import jieba

    session = world.session
    jieba.dt.initialized = False   # as in a new process (another test may have loaded it in this one)
    service.prepare_joins(session)
    assert jieba.dt.initialized
    seed(world, NOISE, phone_from=0)
    service.refresh_hotspots(session)
    service.prepare_joins(session)
    parsed = service._parsed_vocabulary
    assert parsed is not None and parsed[1].documents == len(NOISE)
    assert service._stored_vocabulary(session) is parsed[1]
