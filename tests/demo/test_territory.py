"""The demo territory: real outline, seven real towns, drawn communities and exactly 431 grids."""

from __future__ import annotations

import random
import re
from collections import Counter

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, shape

from sudi.demo.territory import (
    Community,
    Grid,
    GridIndex,
    Territory,
    Town,
    build_territory,
    load_outline,
    locate,
    random_point_in,
)

TOWNS = {
    "tanshan": ("坛山街道", "subdistrict"),
    "wulin": ("吴林街道", "subdistrict"),
    "gushao": ("古邵镇", "town"),
    "yinping": ("阴平镇", "town"),
    "dige": ("底阁镇", "town"),
    "liuyuan": ("榴园镇", "town"),
    "eshan": ("峨山镇", "town"),
}
# Relative to the outline's area; float noise from clipping and unions is far below this.
AREA_TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def territory() -> Territory:
    return build_territory()


@pytest.fixture(scope="module")
def outline() -> shapely.Geometry:
    return shape(load_outline())


def _geom(item: Town | Community | Grid) -> shapely.Geometry:
    return shape(item.geometry)


def test_seven_real_towns_in_order(territory: Territory) -> None:
    assert [(t.code, t.name, t.kind) for t in territory.towns] == [
        (code, name, kind) for code, (name, kind) in TOWNS.items()
    ]


def test_town_seats_are_inside_and_roughly_where_the_real_ones_are(
    territory: Territory, outline: shapely.Geometry
) -> None:
    centre = {t.code: t.centre for t in territory.towns}
    for town in territory.towns:
        lat, lon = town.centre
        assert outline.contains(Point(lon, lat)), town.code
        assert _geom(town).contains(Point(lon, lat)), town.code
    lat0, lon0 = centre["tanshan"]
    assert abs(lat0 - 34.768) < 0.01 and abs(lon0 - 117.590) < 0.01
    assert centre["wulin"][1] > lon0 and centre["wulin"][0] >= lat0  # east / north-east
    assert centre["gushao"][1] > lon0 and centre["gushao"][0] < lat0  # south-east
    assert centre["yinping"][1] < lon0 and centre["yinping"][0] < lat0  # south-west
    assert centre["dige"][0] < lat0 and abs(centre["dige"][1] - lon0) < 0.05  # south
    assert centre["liuyuan"][1] < lon0  # west / north-west
    assert centre["eshan"][1] < centre["liuyuan"][1]  # further west


def test_towns_partition_the_outline(territory: Territory, outline: shapely.Geometry) -> None:
    geoms = [_geom(t) for t in territory.towns]
    assert all(g.geom_type == "Polygon" and g.is_valid for g in geoms)
    assert sum(g.area for g in geoms) == pytest.approx(outline.area, rel=AREA_TOLERANCE)
    assert shapely.union_all(geoms).symmetric_difference(outline).area < AREA_TOLERANCE * outline.area


def test_exactly_431_grids_coded_in_town_order(territory: Territory) -> None:
    grids = territory.grids
    assert len(grids) == 431
    assert [g.code for g in grids] == [f"G{i:03d}" for i in range(1, 432)]
    town_rank = [list(TOWNS).index(g.town_code) for g in grids]
    assert town_rank == sorted(town_rank)
    per_town = Counter(g.town_code for g in grids)
    assert per_town["tanshan"] == 110 and per_town["wulin"] == 70
    assert all(per_town[code] > 0 for code in TOWNS)
    for code, (name, _) in TOWNS.items():
        names = [g.name for g in grids if g.town_code == code]
        assert names == [f"{name}第{i:03d}网格" for i in range(1, len(names) + 1)]


def test_grids_tile_their_town_without_slivers(territory: Territory) -> None:
    for town in territory.towns:
        town_geom = _geom(town)
        geoms = [_geom(g) for g in territory.grids if g.town_code == town.code]
        assert all(g.geom_type == "Polygon" and g.is_valid for g in geoms), town.code
        assert all(g.difference(town_geom).area < AREA_TOLERANCE * town_geom.area for g in geoms)
        # Equal sums and equal union mean no overlaps and no gaps.
        assert sum(g.area for g in geoms) == pytest.approx(town_geom.area, rel=AREA_TOLERANCE)
        assert shapely.union_all(geoms).area == pytest.approx(town_geom.area, rel=AREA_TOLERANCE)
        mean = town_geom.area / len(geoms)
        assert min(g.area for g in geoms) >= 0.2 * mean, town.code


def test_communities(territory: Territory) -> None:
    per_town = Counter(c.town_code for c in territory.communities)
    assert set(per_town) == set(TOWNS)
    assert all(6 <= n <= 14 for n in per_town.values()), per_town
    names = [c.name for c in territory.communities]
    assert len(set(names)) == len(names)
    by_code = {c.code: c for c in territory.communities}
    assert len(by_code) == len(territory.communities)
    for code, (_, kind) in TOWNS.items():
        mine = [c for c in territory.communities if c.town_code == code]
        assert [c.code for c in mine] == [f"{code}-C{i:02d}" for i in range(1, len(mine) + 1)]
        kinds = Counter(c.kind for c in mine)
        if kind == "subdistrict":
            assert kinds == {"community": len(mine)}
            assert all(c.name.endswith("社区") for c in mine)
        else:
            assert 1 <= kinds["community"] <= 2 and kinds["village"] == len(mine) - kinds["community"]
        for c in mine:
            assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}(村|社区)", c.name), c.name
            assert c.name.endswith("社区" if c.kind == "community" else "村")


def test_every_grid_in_one_community_of_its_own_town(territory: Territory) -> None:
    by_code = {c.code: c for c in territory.communities}
    members: dict[str, list[Grid]] = {code: [] for code in by_code}
    for grid in territory.grids:
        assert by_code[grid.community_code].town_code == grid.town_code
        members[grid.community_code].append(grid)
    for code, grids in members.items():
        assert grids, f"{code} has no grid"
        community = _geom(by_code[code])
        # A community is one connected area made of exactly its grids.
        assert community.geom_type == "Polygon" and community.is_valid, code
        assert sum(_geom(g).area for g in grids) == pytest.approx(community.area, rel=1e-9)


def _points_in(outline: shapely.Geometry, n: int, seed: int) -> list[tuple[float, float]]:
    shapely.prepare(outline)
    rng = random.Random(seed)
    return [random_point_in(outline, rng) for _ in range(n)]


def test_random_points_fall_in_exactly_one_grid(territory: Territory, outline: shapely.Geometry) -> None:
    points = _points_in(outline, 3000, seed=7)
    lats = np.array([lat for lat, _ in points])
    lons = np.array([lon for _, lon in points])
    hits = np.array([shapely.contains_xy(_geom(g), lons, lats) for g in territory.grids])
    # A point exactly on a border could legitimately hit two grids; random floats never do.
    assert (hits.sum(axis=0) == 1).all()
    index = GridIndex(territory.grids)
    for k, (lat, lon) in enumerate(points):
        assert index.locate(lat, lon) is territory.grids[int(hits[:, k].argmax())]


def test_locate_outside_and_via_territory(territory: Territory) -> None:
    assert locate(territory, 35.2, 117.0) is None  # north-west of the district
    assert locate(territory, 34.70, 117.70) is None  # the notch south of 吴林, outside the outline
    grid = locate(territory, 34.768, 117.590)
    assert grid is not None and grid.town_code == "tanshan"
    assert locate(territory.grid_index(), 34.768, 117.590) is grid
    assert territory.grid_index() is territory.grid_index()  # built once


def test_random_point_in_is_inside_and_reproducible(territory: Territory) -> None:
    grid = territory.grids[42]
    points = [random_point_in(grid.geometry, random.Random(5)) for _ in range(2)]
    assert points[0] == points[1]
    rng = random.Random(11)
    for _ in range(200):
        lat, lon = random_point_in(grid.geometry, rng)
        assert _geom(grid).contains(Point(lon, lat))
    # Shapely geometries are accepted too, which lets callers prepare them once.
    lat, lon = random_point_in(_geom(grid), rng)
    assert _geom(grid).contains(Point(lon, lat))


def test_same_seed_same_territory_other_seed_other_grids(territory: Territory) -> None:
    again = build_territory()
    assert again == territory
    other = build_territory(seed=1)
    assert [t.name for t in other.towns] == [t.name for t in territory.towns]
    assert len(other.grids) == 431
    assert [g.geometry for g in other.grids] != [g.geometry for g in territory.grids]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_invariants_hold_for_other_seeds(seed: int, outline: shapely.Geometry) -> None:
    # Different seeds exercise the rarer repair paths (detached pieces, sliver merges).
    t = build_territory(seed)
    assert len(t.grids) == 431
    geoms = [_geom(g) for g in t.grids]
    assert all(g.geom_type == "Polygon" and g.is_valid for g in geoms)
    assert sum(g.area for g in geoms) == pytest.approx(outline.area, rel=AREA_TOLERANCE)
    assert all(6 <= n <= 14 for n in Counter(c.town_code for c in t.communities).values())
    assert all(_geom(c).geom_type == "Polygon" for c in t.communities)
    assert len({c.name for c in t.communities}) == len(t.communities)


