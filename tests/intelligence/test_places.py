"""Named places are found by general patterns, trimmed of administrative prefixes, keyed so mentions meet."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sudi.intelligence.places import admin_areas, extract_places, place_key


def names(text: str, title: str = "") -> dict[str, str]:
    return {p.name: p.kind for p in extract_places(text, title=title, use_pos=False)}


@pytest.mark.parametrize(("text", "name", "kind"), [
    ("A2区丽发新城小区附近搅拌站太吵了", "丽发新城小区", "estate"),
    ("峄城区坛山街道青檀路幸福小区3号楼楼道灯不亮", "青檀路", "road"),
    ("峄城区坛山街道青檀路幸福小区3号楼楼道灯不亮", "坛山街道", "town"),
    ("反映A7县春华镇金鼎村自来水到户的问题", "金鼎村", "village"),
    ("A市经济学院强制学生实习", "经济学院", "school"),
    ("投诉榴园镇卫生院医生态度差", "榴园镇卫生院", "hospital"),
    ("伊景园滨河苑捆绑销售车位", "伊景园滨河苑", "estate"),
    ("西城农贸市场门口占道经营", "西城农贸市场", "market"),
    ("枣庄宏达建材有限公司夜间偷排污水", "枣庄宏达建材有限公司", "company"),
])
def test_finds_places_of_every_kind(text: str, name: str, kind: str) -> None:
    assert names(text).get(name) == kind


def test_estate_without_suffix_is_found_by_what_follows_it() -> None:
    assert names("A市半山壹号业主五次延期交房了").get("半山壹号") == "estate"
    assert names("反映金毛湾3栋的配套入学问题").get("金毛湾") == "estate"


def test_administrative_areas_and_generic_words_are_not_places() -> None:
    found = names("请A市A3区有关部门解决小区路灯问题，我们村的道路也坏了")
    assert not any(n in found for n in ("A市", "A3区", "小区", "道路", "村"))
    assert set(admin_areas("A市A3区丽发新城")) >= {"A市", "A3区"}


def test_problem_words_do_not_become_places() -> None:
    assert "生产线" not in " ".join(names("工厂生产线噪音太大"))
    assert not any("政府" in n for n in names("受害者齐聚省政府门口"))


def test_key_lets_short_and_long_mentions_meet() -> None:
    assert place_key("丽发新城小区") == place_key("丽发新城") == "丽发新城"
    assert place_key("幸福小区") == "幸福小区"   # too short to drop the suffix: "幸福" is an ordinary word


def test_title_is_searched_with_parts_of_speech_when_patterns_find_nothing() -> None:
    places = extract_places("", title="万达广场周边交通拥堵", use_pos=True)
    assert places and places[0].name.startswith("万达")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_never_fails_and_names_are_substrings(text: str) -> None:
    for place in extract_places(text, title=text[:30], use_pos=False):
        assert place.name and place.name in text
        assert place.key and place.key in place.name
