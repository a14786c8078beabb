"""Hotspot mining: same problem + same place + same period groups; different places or periods do not;
the incremental step is the full method; the heat formula is the documented one."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sudi.core.errors import InvalidInput
from sudi.intelligence import hotspots
from sudi.intelligence.hotspots import (
    HEAT_PARAMETERS,
    AppealText,
    Cluster,
    HotspotIndex,
    HotspotParams,
    Prepared,
    _prepared_stream,
    find_hotspots,
    fit_vocabulary,
    growth_of,
    heat,
    near_cells,
    prepare,
    term_signature,
)

T0 = datetime(2025, 5, 1, 9, tzinfo=UTC)

NOISE = ["{p}小区3号楼楼道灯坏了一个月", "{p}附近搅拌站夜间施工噪音扰民", "{p}门口垃圾堆放无人清理臭气熏天",
         "{p}物业乱收停车费", "{p}小区漏水严重墙面发霉", "{p}路段下水道堵塞雨天积水"]
OTHER = ["咨询新生儿医保办理流程", "建议增加公交线路方便上班", "反映养老金发放延迟", "询问公积金提取条件",
         "投诉出租车拒载", "咨询居住证办理", "建议公园增设健身器材", "反映学校食堂饭菜质量差", "咨询老旧小区改造政策"]


def appeal(i: int, title: str, content: str = "", *, days: float = 0, citizen: str | None = None,
           supports: int = 0, lat: float | None = None, lon: float | None = None) -> AppealText:
    return AppealText(str(i), title, content or title + "，希望有关部门尽快处理。", T0 + timedelta(days=days),
                      citizen if citizen is not None else f"c{i}", supports, 0, None, lat, lon)


def history() -> list[AppealText]:
    items: list[AppealText] = []
    i = 0
    # Five citizens: the mixing plant next to 丽发新城 makes noise at night.
    for k, text in enumerate(["丽发新城小区附近搅拌站噪音扰民", "丽发新城旁边搅拌站噪音扰民，夜间施工太吵",
                              "投诉丽发新城小区搅拌站噪音污染严重", "丽发新城搅拌站噪音扰民晚上睡不着",
                              "丽发新城小区附近的搅拌站天天噪音扰民"]):
        i += 1
        items.append(appeal(i, text, days=k * 2))
    # Same words, another estate: a different hotspot.
    for k, text in enumerate(["阳光花园附近搅拌站噪音扰民", "阳光花园旁搅拌站夜间噪音扰民严重",
                              "阳光花园搅拌站噪音扰民"]):
        i += 1
        items.append(appeal(i, text, days=1 + k))
    # Same estate, another problem.
    for k, text in enumerate(["丽发新城小区物业乱收停车费", "丽发新城物业违规收取停车费", "丽发新城小区停车费乱收"]):
        i += 1
        items.append(appeal(i, text, days=3 + k))
    # Background: one-off problems across many places.
    for k in range(60):
        i += 1
        place = f"{'东西南北中'[k % 5]}{'青檀榴园阴平峨山金银'[k // 5 % 10]}家园"
        items.append(appeal(i, NOISE[k % len(NOISE)].format(p=place), days=k % 30))
    for k, text in enumerate(OTHER):
        i += 1
        items.append(appeal(i, text, days=k))
    return items


def groups(hotspots: list) -> list[set[str]]:  # type: ignore[type-arg]
    return [set(h.member_ids) for h in hotspots]


def test_same_problem_same_place_is_one_hotspot_and_places_keep_them_apart() -> None:
    found, _ = find_hotspots(history())
    by_members = groups(found)
    assert {"1", "2", "3", "4", "5"} in by_members
    assert {"6", "7", "8"} in by_members
    assert {"9", "10", "11"} in by_members
    top = found[0]
    assert top.place.startswith("丽发新城") and "搅拌站" in top.title and top.size == 5 and top.citizens == 5
    assert top.first_time == T0 and top.last_time == T0 + timedelta(days=8)
    assert {"噪音", "扰民"} & set(top.keywords)


def test_the_time_window_separates_periods() -> None:
    items = [appeal(1, "丽发新城小区附近搅拌站噪音扰民"), appeal(2, "丽发新城搅拌站噪音扰民严重", days=1),
             appeal(3, "丽发新城小区附近搅拌站噪音扰民", days=200), appeal(4, "丽发新城搅拌站噪音扰民严重", days=201),
             *history()[20:]]
    found, _ = find_hotspots(items, HotspotParams(window_days=30))
    assert {"1", "2"} in groups(found) and {"3", "4"} in groups(found)


def test_problem_without_a_place_groups_by_topic() -> None:
    items = [appeal(1, "58车贷案件立案半年没有进展", "58车贷恶性退出，受害者要求公布案情进展"),
             appeal(2, "请关注58车贷案件进展", "58车贷恶性退出立案已久，受害者希望公布案件进展", days=3),
             appeal(3, "58车贷案件为何不公布进展", "58车贷受害者多次询问案件进展无果", days=6), *history()[20:]]
    found, _ = find_hotspots(items)
    assert {"1", "2", "3"} in groups(found)


def test_points_on_the_map_are_a_place_too() -> None:
    lat, lon = 34.77, 117.59
    items = [appeal(1, "路灯不亮晚上很黑", lat=lat, lon=lon),
             appeal(2, "路灯不亮，晚上太黑了", lat=lat + 0.001, lon=lon, days=1),
             appeal(3, "路灯不亮", lat=lat + 0.2, lon=lon + 0.2, days=1), *history()[20:]]
    found, _ = find_hotspots(items)
    assert {"1", "2"} in groups(found) and not any("3" in g for g in groups(found))


def test_a_problem_straddling_a_cell_edge_is_found_across_it() -> None:
    size = HotspotParams().cell_degrees
    edge_lat, lon = 6954 * size, 23518.5 * size          # a cell edge running east-west; lon mid-cell
    items = [appeal(1, "路灯不亮晚上很黑", lat=edge_lat - 0.0002, lon=lon),
             appeal(2, "路灯不亮，晚上太黑了", lat=edge_lat + 0.0002, lon=lon, days=1), *history()[20:]]
    found, _ = find_hotspots(items)
    assert {"1", "2"} in groups(found)


def test_only_the_neighbouring_cells_a_point_is_close_to_are_searched() -> None:
    size, margin = 0.005, 0.25
    assert near_cells(10.5 * size, 20.5 * size, size, margin) == []            # the middle of its cell
    assert near_cells(10.1 * size, 20.5 * size, size, margin) == ["c:9,20"]    # close to one edge
    assert near_cells(10.9 * size, 20.9 * size, size, margin) == ["c:10,21", "c:11,20", "c:11,21"]  # a corner
    assert near_cells(10.4 * size, 20.6 * size, size, 0.5) == ["c:9,20", "c:9,21", "c:10,21"]  # widest margin
    with pytest.raises(InvalidInput):
        HotspotParams.from_mapping({"cell_margin": 0.6})


def test_a_grid_or_cell_leads_to_candidates_with_a_topic_term() -> None:
    # With area_by_topic 1 the area's clusters about other problems are not candidates; the same problem
    # in the area is. With 0 (the default) or for an appeal without a topic term the area alone leads.
    lat, lon = 34.77, 117.59
    params, plain = HotspotParams(area_by_topic=1), HotspotParams()
    items = [AppealText("1", "路灯不亮晚上很黑", "路灯不亮晚上很黑", T0, grid="G1", lat=lat, lon=lon),
             AppealText("2", "垃圾桶满了没人清运", "垃圾桶满了没人清运", T0, grid="G1", lat=lat, lon=lon),
             AppealText("3", "路灯不亮，晚上太黑了", "路灯不亮，晚上太黑了", T0, grid="G1", lat=lat, lon=lon),
             *history()[20:]]
    vocabulary = fit_vocabulary(items, params)

    def candidates(chosen: HotspotParams) -> set[str]:
        index = HotspotIndex(vocabulary, chosen)
        for a in items[:2]:
            index.add(a)
        item = prepare(items[2], vocabulary, chosen)
        return {m for c in index._candidates(item.place_keys, near=item.near_cells) for m in c.member_ids}

    item = prepare(items[2], vocabulary, params)
    terms = [key[2:] for key in item.topic_keys]
    assert terms and {f"g:G1|{t}" for t in terms} <= set(item.place_keys)
    assert "g:G1" not in item.place_keys and not any(k.startswith("c:") and "|" not in k for k in item.place_keys)
    assert candidates(params) == {"1"} and candidates(plain) == {"1", "2"}
    assert "g:G1" in prepare(items[2], vocabulary, plain).place_keys
    unseen = prepare(AppealText("4", "", "", T0, grid="G1"), vocabulary, params)   # no term: the area alone
    assert unseen.topic_keys == [] and unseen.place_keys == ["g:G1"]
    found, _ = find_hotspots(items, params)
    assert {"1", "3"} in groups(found)
    with pytest.raises(InvalidInput):
        HotspotParams.from_mapping({"area_by_topic": 2})


def test_adding_one_appeal_joins_the_existing_hotspot() -> None:
    items = history()
    found, index = find_hotspots(items)
    target = next(h for h in found if "1" in h.member_ids)
    cluster, joined = index.add(appeal(999, "丽发新城附近搅拌站噪音扰民，夜里无法休息", days=10))
    assert joined and "1" in cluster.member_ids and cluster.size == target.size + 1
    lonely, joined = index.add(appeal(1000, "咨询护照办理需要哪些材料", days=10))
    assert not joined and lonely.size == 1


def test_incremental_equals_full_recompute() -> None:
    items = history()
    full, _ = find_hotspots(items)
    vocabulary = fit_vocabulary(items, HotspotParams())
    index = HotspotIndex(vocabulary)
    for item in sorted(items, key=lambda a: a.time):
        index.add(item)
    step = {frozenset(c.member_ids) for c in index.all_clusters() if c.size >= 2}
    again, _ = find_hotspots(items, vocabulary=vocabulary)
    assert step == {frozenset(h.member_ids) for h in again}
    assert {frozenset(h.member_ids) for h in full} == step


def test_preparing_in_worker_processes_gives_what_one_process_gives() -> None:
    # The workers send vectors packed and the places as tuples: nothing may change on the way, and
    # the growing slices (10, 20, 40, then 50) must fit together with nothing lost or repeated.
    items = sorted(history() * 3, key=lambda a: a.time)
    params = HotspotParams()
    # Fitted without the mixing-plant appeals, so that their vectors hold terms the vocabulary lacks:
    # those travel as text, the others as term numbers.
    vocabulary = fit_vocabulary([a for a in items if "搅拌站" not in a.title], params)
    alone = list(_prepared_stream(items, vocabulary, params, True, 1))
    shared = list(_prepared_stream(items, vocabulary, params, True, 2, slice_size=50, parallel_from=0,
                                  first_slice=10))
    unknown = [any(term not in vocabulary.idf for term in p.vector) for p in alone]
    assert any(unknown) and not all(unknown)
    assert all(p.appeal is a for p, a in zip(shared, items, strict=True))   # each in its own place
    own_copy = {term: term for term in vocabulary.idf}
    for one, other in zip(alone, shared, strict=True):
        assert other.vector == one.vector and list(other.vector) == list(one.vector)
        assert all(own_copy[term] is term for term in other.vector if term in own_copy)
        assert (other.places, other.place_keys, other.topic_keys, other.areas, other.near_cells,
                other.signature) == (one.places, one.place_keys, one.topic_keys, one.areas, one.near_cells,
                                     one.signature)


def test_a_cluster_keeps_its_signature_and_key_kinds_in_step() -> None:
    # A candidate is skipped when its signature shares no bit with the appeal's, so a cluster's
    # signature must be its centroid's: after adds, after a trim, after a merge and after a reload.
    # Likewise its key kinds must be those of its keys.
    params = HotspotParams(centroid_terms=8)   # a centroid is trimmed once it passes 16 terms
    items = sorted(history(), key=lambda a: a.time)
    vocabulary = fit_vocabulary(items, params)
    prepared = [prepare(a, vocabulary, params) for a in items]
    first, second = Cluster(1), Cluster(2)
    for item in prepared[:5]:
        first.add(item, [*item.place_keys, *item.topic_keys], params)
    for item in prepared[5:8]:
        second.add(item, [*item.place_keys, *item.topic_keys, "g:2"], params)   # a kind the first lacks
    assert {"p:", "t:"} <= first.key_kinds and "g:" not in first.key_kinds
    assert len(first.centroid) < len(set().union(*(p.vector for p in prepared[:5])))   # it was trimmed
    first.absorb(second, params)
    reloaded = Cluster.from_state(3, first.to_state(), member_ids=first.member_ids, times=first.times,
                                  supports=0, objections=0, first_time=items[0].time, last_time=items[7].time)
    for cluster in (first, second, reloaded):
        assert cluster.centroid
        assert cluster.signature == term_signature(cluster.centroid)
        # The cosine bound scales by the cluster's heaviest weight: it must be the centroid's.
        assert cluster.peak == max(cluster.centroid.values()) / cluster.norm
        # A topic candidate is tested against the kinds of key the cluster has, kept beside its keys.
        assert cluster.key_kinds == {key[:2] for key in cluster.keys}
    assert second.keys <= first.keys


def test_a_merged_cluster_is_no_longer_a_candidate() -> None:
    # A merged cluster stays in the key lists until the next retiring: meanwhile no appeal may join it,
    # or the appeal would land in a cluster that no longer exists.
    first, second = history()[:2]   # the same mixing plant at the same estate
    params = HotspotParams()
    vocabulary = fit_vocabulary(history(), params)
    index = HotspotIndex(vocabulary, params)
    kept, _ = index.add(first)
    twin, item = Cluster(99), prepare(first, vocabulary, params)
    twin.add(item, [*item.place_keys, *item.topic_keys], params)
    index.load(twin)
    later = prepare(second, vocabulary, params)
    assert {c.id for c, _ in index.fitting(later)} == {kept.id, twin.id}
    index._merge(kept, twin)
    assert [c.id for c, _ in index.fitting(later)] == [kept.id]
    assert index.add(second) == (kept, True)
    assert twin not in index.all_clusters() and index.merged == {twin.id: kept.id}


def test_the_signature_filter_changes_no_result(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every signature -1 (all bits set, whatever the width): no candidate is ever skipped, so the
    # clusters must be the same as with the filter. Candidates by place, by point and by topic only.
    lat, lon = 34.77, 117.59
    items = [*history(), appeal(101, "58车贷案件立案半年没有进展", "58车贷恶性退出，受害者要求公布案情进展"),
             appeal(102, "请关注58车贷案件进展", "58车贷恶性退出立案已久，受害者希望公布案件进展", days=3),
             appeal(103, "路灯不亮晚上很黑", lat=lat, lon=lon),
             appeal(104, "路灯不亮，晚上太黑了", lat=lat, lon=lon, days=1)]
    filtered, _ = find_hotspots(items)
    monkeypatch.setattr(hotspots, "term_signature", lambda terms: -1)
    everything, _ = find_hotspots(items)
    assert [h.member_ids for h in filtered] == [h.member_ids for h in everything]
    assert len(filtered) >= 3


_TERMS = [a + b for a in "噪音扰民搅拌" for b in "站夜间施工停车"]   # few terms: vectors share some


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_the_cosine_bound_skips_no_cluster_that_fits(data: st.DataObject) -> None:
    # A candidate is skipped unscored when (shared signature bits + the appeal's own collisions) of its
    # heaviest weights, times the cluster's peak, stay under the threshold. With 8 signature bits
    # terms collide all the time; the fits must be those found with the bound switched off.
    weights = st.floats(0.01, 5.0, allow_nan=False)
    vectors = st.dictionaries(st.sampled_from(_TERMS), weights, min_size=1, max_size=12)

    def unit(raw: dict[str, float]) -> dict[str, float]:
        norm = math.sqrt(sum(w * w for w in raw.values()))
        return {term: w / norm for term, w in raw.items()}

    params = HotspotParams(similarity=data.draw(st.floats(0.05, 0.95)), centroid_terms=data.draw(st.integers(2, 8)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hotspots, "_SIGNATURE_BITS", 8)

        def item(raw: dict[str, float], i: int) -> Prepared:
            vector = unit(raw)
            return Prepared(appeal(i, "x"), vector, [], ["p:x"], [], [], term_signature(vector))

        index = HotspotIndex(fit_vocabulary([appeal(0, "x")], params), params)
        for number, members in enumerate(data.draw(st.lists(st.lists(vectors, min_size=1, max_size=4),
                                                            min_size=1, max_size=6)), 1):
            cluster = Cluster(number)
            for i, raw in enumerate(members):
                cluster.add(item(raw, i), ["p:x"], params)
            index.load(cluster)
        probe = item(data.draw(vectors), 99)
        bounded = index.fitting(probe)
        patch.setattr(hotspots, "_ROUNDING", 10.0)   # every floor below zero: nothing skipped
        assert bounded == index.fitting(probe)


def test_candidates_tested_together_are_those_read_one_by_one() -> None:
    # The window, the shared bits and the bound are tested on the index's arrays, one row per open
    # cluster: rows are added past the first allocation, freed when a cluster merges or retires and
    # given again. Whatever the rows' history, the fits must be those a plain reading of every open
    # cluster gives: in its window, cosine at the threshold or above.
    params = HotspotParams(similarity=0.45, max_candidates=10_000, window_days=3, centroid_terms=4)
    rng = random.Random(5)
    index = HotspotIndex(fit_vocabulary([appeal(0, "x")], params), params)
    window = timedelta(days=params.window_days)
    terms = [a + b for a in "噪音扰民搅拌站夜间施工停车收费物业漏水路灯积水垃圾堆放油烟"
             for b in "问题严重处理小区道路"]
    rows_seen: list[int] = []
    checked = 0
    for i in range(600):
        raw = {term: rng.uniform(0.1, 1.0) for term in rng.sample(terms, rng.randint(1, 4))}
        norm = math.sqrt(sum(w * w for w in raw.values()))
        vector = {term: w / norm for term, w in raw.items()}
        item = Prepared(appeal(i, "x", days=i / 50), vector, [], ["p:x"], [], [], term_signature(vector))
        moment = item.appeal.time
        expected = sorted(((c, c.similarity(vector)) for c in index.clusters.values()
                           if c.first_time - window <= moment <= c.last_time + window),  # type: ignore[operator]
                          key=lambda cs: (-cs[1], cs[0].id))
        assert index.fitting(item) == [(c, s) for c, s in expected if s >= params.similarity]
        checked += len(expected)
        cluster, _ = index.add_prepared(item)
        rows_seen.append(cluster.slot)
        if i % 100 == 99:
            index.close_before(moment)
    assert len(index._table.first) > 64 and checked > 1000           # grown past its first rows
    assert len(set(rows_seen)) < len({c.id for c in index.all_clusters()})   # rows given again
    assert index.merged and all(c.slot == 0 for c in index.closed)


def test_the_cosine_bound_skips_candidates() -> None:
    # Not only harmless: on the example history it spares most scores of candidates sharing a bit.
    scored: list[int] = []
    original = Cluster.similarity

    def counted(cluster: Cluster, vector: dict[str, float]) -> float:
        scored.append(1)
        return original(cluster, vector)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Cluster, "similarity", counted)
        # Other problems at the same estate, each sharing a term or two ("问题") with the rest.
        items = [*history(), *(appeal(200 + k, f"丽发新城{text}的问题", f"丽发新城{text}的问题", days=k)
                               for k, text in enumerate(OTHER))]
        bounded, _ = find_hotspots(items)
        with_bound = len(scored)
        scored.clear()
        patch.setattr(hotspots, "_ROUNDING", 10.0)
        unbounded, _ = find_hotspots(items)
    assert [h.member_ids for h in bounded] == [h.member_ids for h in unbounded]
    assert with_bound < len(scored)


def test_cluster_state_round_trips() -> None:
    _, index = find_hotspots(history())
    cluster = next(c for c in index.all_clusters() if "1" in c.member_ids)
    cluster_state = cluster.to_state()
    back = Cluster.from_state(cluster.id, cluster_state, member_ids=cluster.member_ids, times=cluster.times,
                              supports=cluster.supports, objections=0, first_time=cluster.first_time,  # type: ignore[arg-type]
                              last_time=cluster.last_time)  # type: ignore[arg-type]
    probe = index.vocabulary.vector("搅拌站噪音扰民", 48)
    assert back.similarity(probe) == pytest.approx(cluster.similarity(probe), abs=1e-4)
    assert back.citizens == cluster.citizens and back.keys == cluster.keys


def test_the_heat_parameters_weigh_the_clusters_without_changing_them() -> None:
    # A change of these alone is applied by rescoring, without a full recompute: it must not move an appeal.
    assert set(HotspotParams().as_dict()) > HEAT_PARAMETERS
    changed = HotspotParams(repeat_weight=0.9, support_weight=3.0, objection_weight=2.0, growth_weight=2.0,
                            growth_days=7.0, half_life_days=5.0)
    assert {n for n, v in changed.as_dict().items() if v != getattr(HotspotParams(), n)} == HEAT_PARAMETERS
    default, _ = find_hotspots(history())
    weighed, _ = find_hotspots(history(), changed)
    assert sorted(sorted(h.member_ids) for h in default) == sorted(sorted(h.member_ids) for h in weighed)
    assert [h.heat for h in default] != [h.heat for h in weighed]


def test_heat_formula_is_the_documented_one() -> None:
    params = HotspotParams(repeat_weight=0.3, support_weight=1.0, objection_weight=0.5, growth_weight=0.5,
                           half_life_days=10)
    value = heat(appeals=5, citizens=3, supports=20, objections=2, growth=1.0, age_days=10, params=params)
    expected = (3 + 0.3 * 2 + math.log1p(20) - 0.5 * math.log1p(2)) * 1.5 * 0.5
    assert value == pytest.approx(expected)
    assert heat(appeals=1, citizens=1, supports=0, objections=1000, growth=0, age_days=0, params=params) == 0.0


def test_growth_compares_the_last_period_with_the_one_before() -> None:
    now = T0 + timedelta(days=60)
    times = [now - timedelta(days=d) for d in (1, 2, 3, 40)]
    assert growth_of(times, now, 30) == pytest.approx(2.0)
    assert growth_of([now - timedelta(days=45)], now, 30) == -1.0


def test_supports_and_repeat_callers_shape_the_ranking() -> None:
    items = history()
    items += [appeal(500, "阳光花园附近搅拌站噪音扰民", days=4, supports=300)]
    found, _ = find_hotspots(items)
    assert found[0].place.startswith("阳光花园")


def test_parameters_are_checked() -> None:
    with pytest.raises(InvalidInput):
        HotspotParams.from_mapping({"similarity": 1.5})
    with pytest.raises(InvalidInput):
        HotspotParams.from_mapping({"window_days": "x"})
    assert HotspotParams.from_mapping({"window_days": "30", "unknown": 1}).window_days == 30.0


def test_top_and_progress() -> None:
    seen: list[int] = []
    found, _ = find_hotspots(history(), top=2, progress=seen.append)
    assert len(found) == 2 and [h.rank for h in found] == [1, 2] and seen[-1] == len(history())
