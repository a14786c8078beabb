"""Towns, communities and grids of the demo district 峄城区, drawn inside its real outline.

Only the district outline is real (``data/yicheng_outline.json``, see ``data/SOURCES.md``), and so
are the names and rough positions of its seven towns and subdistricts. No town boundaries are
published, so everything below the district is drawn here:

* town regions are Voronoi cells of one seed point per town, clipped to the outline;
* 431 grids (the number the real district reports) are Voronoi cells of random points inside
  each town, relaxed a few times so they look like plausible patrol areas;
* communities and villages are contiguous groups of neighbouring grids with invented names.

Maps built from this must say the boundaries are illustrative.

Coordinates: the outline is lon/lat as distributed by Chinese web-map boundary sets, most likely
GCJ-02, which is offset from WGS84 by a few hundred metres. The demo treats it as WGS84 and does
not convert, so a real GPS fix may land a few hundred metres off on the demo map. Public functions
take and return ``(lat, lon)``; GeoJSON geometries are ``[lon, lat]`` as the format requires.

Everything is derived from ``seed`` with a private ``random.Random``, so the same seed gives the
same territory on every run and platform with the same GEOS version.
"""

from __future__ import annotations

import heapq
import json
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

import shapely
from shapely.geometry import MultiPoint, Point, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points
from shapely.strtree import STRtree

__all__ = [
    "Community",
    "Grid",
    "GridIndex",
    "Territory",
    "Town",
    "build_territory",
    "load_outline",
    "locate",
    "random_point_in",
]

TownKind = Literal["subdistrict", "town"]
CommunityKind = Literal["community", "village"]
GeoJSON = dict[str, Any]
LatLon = tuple[float, float]

DEFAULT_SEED = 370404  # adcode of 峄城区
TOTAL_GRIDS = 431  # the grid count the real district reports

# (code, name, kind, seed (lat, lon), grids or None = share of the rest by area).
# Seeds follow the real layout: 坛山 is the urban centre on the northern edge, 吴林 the other
# subdistrict to its east/north-east, 古邵 south-east, 阴平 south-west, 底阁 south, 榴园 west of
# the centre and 峨山 in the far west. Urban subdistricts get more, smaller grids.
_TOWN_SPECS: tuple[tuple[str, str, TownKind, LatLon, int | None], ...] = (
    ("tanshan", "坛山街道", "subdistrict", (34.768, 117.590), 110),
    ("wulin", "吴林街道", "subdistrict", (34.795, 117.690), 70),
    ("gushao", "古邵镇", "town", (34.712, 117.755), None),
    ("yinping", "阴平镇", "town", (34.615, 117.455), None),
    ("dige", "底阁镇", "town", (34.668, 117.570), None),
    ("liuyuan", "榴园镇", "town", (34.762, 117.495), None),
    ("eshan", "峨山镇", "town", (34.728, 117.430), None),
)

# Lloyd relaxation rounds: two or three already turn random Voronoi cells into even,
# grid-like areas; more only costs time.
_LLOYD_ROUNDS = 3
# Cells below this fraction of their town's mean grid area count as slivers.
_SLIVER_FRACTION = 0.25
# A seed outside the outline is moved this far (degrees, about 1 km) inside it.
_NUDGE = 0.01

# Syllables for invented names. They read like local place names but are combined at random, so
# any match with a real community or village is a coincidence.
_COMMUNITY_FIRST = "青金文兴和安福康永丰华民新翠锦顺泰祥瑞荣明德仁惠"
_COMMUNITY_SECOND = "檀华苑园兴和安康泰盛源城阳平宁乐馨晖"
_VILLAGE_PREFIX = ("", "", "", "前", "后", "东", "西", "南", "北", "大", "小")
_VILLAGE_SURNAMES = (
    "王李张刘孙杨赵周徐朱马胡郭何高罗郑梁宋唐许韩冯邓曹彭田董袁潘蒋蔡杜程苏魏吕丁任姜崔褚颜贾孟秦"
)
_VILLAGE_NATURE = "金石桃柳杏槐松榆泉"
_VILLAGE_SUFFIX = tuple("庄楼集屯营湖岭山洼寨桥店埠沟园寺")
# "X家庄" only reads naturally after a surname ("王家庄", not "松家庄").
_VILLAGE_FAMILY_SUFFIX = ("家庄", "家楼", "家湖", "官庄")


# --------------------------------------------------------------------------------------------
# Public data classes
# --------------------------------------------------------------------------------------------


# Geometry dicts are compared but not hashed: dicts are unhashable, and codes identify units.
@dataclass(frozen=True, slots=True)
class Town:
    code: str
    name: str
    kind: TownKind
    centre: LatLon  # the seed point, i.e. roughly the town seat
    geometry: GeoJSON = field(hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Community:
    code: str
    name: str
    kind: CommunityKind
    town_code: str
    geometry: GeoJSON = field(hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Grid:
    code: str
    name: str
    town_code: str
    community_code: str
    geometry: GeoJSON = field(hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Territory:
    towns: tuple[Town, ...]
    communities: tuple[Community, ...]
    grids: tuple[Grid, ...]
    outline_geometry: GeoJSON = field(hash=False, repr=False)
    # Built on first use; excluded from equality so two identical territories stay equal.
    _index: GridIndex | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    def grid_index(self) -> GridIndex:
        """The spatial index over this territory's grids, built once and then reused."""
        if self._index is None:
            # Frozen dataclass: caching needs the object-level setattr, as dataclasses do.
            object.__setattr__(self, "_index", GridIndex(self.grids))
        assert self._index is not None
        return self._index


class GridIndex:
    """Point-in-grid lookup: an STRtree for candidates, prepared polygons for the exact test."""

    __slots__ = ("_geoms", "_grids", "_tree")

    def __init__(self, grids: Iterable[Grid]) -> None:
        self._grids = tuple(grids)
        self._geoms = [shape(grid.geometry) for grid in self._grids]
        shapely.prepare(self._geoms)
        self._tree = STRtree(self._geoms)

    def __len__(self) -> int:
        return len(self._grids)

    @property
    def grids(self) -> tuple[Grid, ...]:
        return self._grids

    def locate(self, lat: float, lon: float) -> Grid | None:
        """The grid containing the point, or None outside the district.

        A point exactly on a shared border may be reported in either grid; the lowest grid index
        wins, so the answer is at least stable.
        """
        # A bounding-box query leaves one to three candidates; intersects_xy on a prepared
        # polygon then avoids building a Point per candidate and includes the boundary.
        for i in sorted(self._tree.query(Point(lon, lat))):
            if shapely.intersects_xy(self._geoms[i], lon, lat):
                return self._grids[i]
        return None


def locate(territory_or_index: Territory | GridIndex, lat: float, lon: float) -> Grid | None:
    """The grid at ``(lat, lon)``; a Territory reuses its cached index."""
    index = (
        territory_or_index.grid_index() if isinstance(territory_or_index, Territory) else territory_or_index
    )
    return index.locate(lat, lon)


def random_point_in(geometry: GeoJSON | BaseGeometry, rng: random.Random) -> LatLon:
    """A uniformly random ``(lat, lon)`` inside a GeoJSON geometry (or shapely geometry).

    Rejection sampling in the bounding box; pass a prepared shapely geometry when calling this
    many times for the same area.
    """
    geom = geometry if isinstance(geometry, BaseGeometry) else shape(geometry)
    if geom.is_empty:
        raise ValueError("cannot draw a point in an empty geometry")
    min_x, min_y, max_x, max_y = geom.bounds
    # Grids fill a decent part of their box, so this practically never runs out; the fallback
    # keeps the function total for odd shapes such as thin slivers.
    for _ in range(1000):
        x = rng.uniform(min_x, max_x)
        y = rng.uniform(min_y, max_y)
        if shapely.contains_xy(geom, x, y):
            return (y, x)
    inside = geom.representative_point()
    return (inside.y, inside.x)


def load_outline() -> GeoJSON:
    """The district outline shipped with the package, as a GeoJSON geometry dict."""
    text = resources.files("sudi.demo").joinpath("data", "yicheng_outline.json").read_text("utf-8")
    data = json.loads(text)
    # The file is a list of Features (as the source distributes it); accept bare forms too.
    if isinstance(data, list):
        data = data[0]
    if data.get("type") == "FeatureCollection":
        data = data["features"][0]
    return data["geometry"] if data.get("type") == "Feature" else data


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def build_territory(seed: int = DEFAULT_SEED) -> Territory:
    """Draw the demo district: 7 towns, 6–14 communities each, exactly 431 grids.

    The towns and their seats are fixed; ``seed`` only changes the grids, the grouping into
    communities and the invented names. Takes about 0.2 s.
    """
    rng = random.Random(seed)
    outline_geometry = load_outline()
    district = shape(outline_geometry)
    if not district.is_valid:
        district = shapely.make_valid(district)

    seeds = [_nudge_inside(district, Point(lon, lat)) for _, _, _, (lat, lon), _ in _TOWN_SPECS]
    regions = _absorb_fragments(_voronoi_cells(district, seeds), seeds)
    grid_counts = _grid_counts(regions)
    used_names = {name.removesuffix("街道").removesuffix("镇") for _, name, *_ in _TOWN_SPECS}

    towns: list[Town] = []
    communities: list[Community] = []
    grids: list[Grid] = []
    for (code, name, kind, _, _), seed_point, region, count in zip(
        _TOWN_SPECS, seeds, regions, grid_counts, strict=True
    ):
        cells = _draw_grids(region, count, rng)
        members = _group_into_communities(cells, kind, rng)
        seat = min(range(len(cells)), key=lambda i: cells[i].distance(seed_point))
        kinds = _community_kinds(kind, members, cells, seat)

        community_codes: dict[int, str] = {}
        for number, (grid_ids, community_kind) in enumerate(zip(members, kinds, strict=True), start=1):
            community_code = f"{code}-C{number:02d}"
            for i in grid_ids:
                community_codes[i] = community_code
            communities.append(
                Community(
                    code=community_code,
                    name=_invent_name(community_kind, rng, used_names),
                    kind=community_kind,
                    town_code=code,
                    geometry=_geojson(shapely.union_all([cells[i] for i in grid_ids])),
                )
            )
        for i, cell in enumerate(cells):
            grids.append(
                Grid(
                    code=f"G{len(grids) + 1:03d}",
                    name=f"{name}第{i + 1:03d}网格",
                    town_code=code,
                    community_code=community_codes[i],
                    geometry=_geojson(cell),
                )
            )
        towns.append(
            Town(
                code=code,
                name=name,
                kind=kind,
                centre=(seed_point.y, seed_point.x),
                geometry=_geojson(region),
            )
        )
    return Territory(tuple(towns), tuple(communities), tuple(grids), outline_geometry)


def _nudge_inside(area: BaseGeometry, point: Point) -> Point:
    """The point itself if it is inside ``area``, else the nearest point well inside it."""
    if area.contains(point):
        return point
    inner = area.buffer(-_NUDGE)
    target = inner if not inner.is_empty else area
    return nearest_points(target, point)[0]


def _grid_counts(regions: Sequence[BaseGeometry]) -> list[int]:
    """Fixed counts for the subdistricts; the towns share the rest in proportion to area."""
    fixed = [spec[4] for spec in _TOWN_SPECS]
    rest = TOTAL_GRIDS - sum(n for n in fixed if n)
    open_ids = [i for i, n in enumerate(fixed) if n is None]
    total_area = sum(regions[i].area for i in open_ids)
    exact = {i: rest * regions[i].area / total_area for i in open_ids}
    counts = {i: int(value) for i, value in exact.items()}
    # Largest remainder keeps the sum exactly at TOTAL_GRIDS.
    by_remainder = sorted(open_ids, key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: rest - sum(counts.values())]:
        counts[i] += 1
    return [n if n is not None else counts[i] for i, n in enumerate(fixed)]


def _polygons(geom: BaseGeometry) -> list[BaseGeometry]:
    """The polygon parts of any geometry; clipping can leave stray lines or points behind."""
    if geom.is_empty:
        return []
    if geom.geom_type == "Polygon":
        return [geom]
    if hasattr(geom, "geoms"):
        return [part for sub in geom.geoms for part in _polygons(sub)]
    return []


def _voronoi_cells(region: BaseGeometry, points: Sequence[Point]) -> list[BaseGeometry]:
    """Voronoi cells of ``points`` clipped to ``region``, in the order of ``points``."""
    diagram = shapely.voronoi_polygons(MultiPoint(points), extend_to=region.envelope.buffer(0.05))
    cells = list(diagram.geoms)
    # GEOS does not promise input order (``ordered=`` needs shapely 2.1), so match each point
    # to the cell that contains it.
    tree = STRtree(cells)
    point_ids, cell_ids = tree.query(list(points), predicate="within")
    owner = dict(zip(point_ids.tolist(), cell_ids.tolist(), strict=True))
    if len(owner) != len(points):
        raise ValueError("duplicate generator points")
    return [cells[owner[i]].intersection(region) for i in range(len(points))]


def _shared_length(a: BaseGeometry, b: BaseGeometry) -> float:
    return a.boundary.intersection(b.boundary).length


def _absorb_fragments(cells: list[BaseGeometry], anchors: Sequence[Point | None]) -> list[BaseGeometry]:
    """Make every cell one polygon by handing detached pieces to the neighbour they border most.

    Clipping a convex Voronoi cell to a concave outline can cut it into pieces; a town or grid in
    two places would look wrong on a map and break contiguity of communities. The piece holding
    the cell's anchor (or the largest piece) stays.
    """
    for _ in range(10):  # merges can touch only at points and need another round; rarely >1
        fragments: list[BaseGeometry] = []
        for i, cell in enumerate(cells):
            parts = _polygons(cell)
            if len(parts) <= 1:
                cells[i] = parts[0] if parts else cell
                continue
            anchor = anchors[i]
            keep = next((p for p in parts if anchor is not None and p.intersects(anchor)), None)
            keep = keep or max(parts, key=lambda p: p.area)
            cells[i] = keep
            fragments.extend(p for p in parts if p is not keep)
        if not fragments:
            return cells
        for piece in sorted(fragments, key=lambda p: -p.area):
            shared = [_shared_length(piece, cell) for cell in cells]
            best = max(range(len(cells)), key=lambda i: (shared[i], -piece.distance(cells[i])))
            cells[best] = cells[best].union(piece)
    return cells


def _draw_grids(region: BaseGeometry, count: int, rng: random.Random) -> list[BaseGeometry]:
    """``count`` single-polygon cells tiling ``region``, no slivers, in reading order."""
    shapely.prepare(region)  # rejection sampling tests many points against the same region
    points = [Point(*reversed(random_point_in(region, rng))) for _ in range(count)]
    for _ in range(_LLOYD_ROUNDS):
        cells = _voronoi_cells(region, points)
        # Lloyd step; a clipped cell can be concave, so fall back to a point surely inside it.
        points = [
            cell.centroid if cell.contains(cell.centroid) else cell.representative_point() for cell in cells
        ]
    cells = _absorb_fragments(_voronoi_cells(region, points), points)
    cells = _remove_slivers(cells, region.area / count)
    return _reading_order(cells, math.sqrt(region.area / count))


def _remove_slivers(cells: list[BaseGeometry], mean_area: float) -> list[BaseGeometry]:
    """Merge each too-small cell into a neighbour and split the largest cell to keep the count."""
    for _ in range(len(cells)):
        smallest = min(range(len(cells)), key=lambda i: cells[i].area)
        if cells[smallest].area >= _SLIVER_FRACTION * mean_area:
            break
        sliver = cells.pop(smallest)
        shared = [_shared_length(sliver, cell) for cell in cells]
        host = max(range(len(cells)), key=lambda i: shared[i])
        cells[host] = cells[host].union(sliver)
        largest = max(range(len(cells)), key=lambda i: cells[i].area)
        cells[largest : largest + 1] = _halve(cells[largest])
    return cells


def _halve(cell: BaseGeometry) -> list[BaseGeometry]:
    """Split a cell across its long axis (the Voronoi cells of two points on that axis)."""
    rect = cell.minimum_rotated_rectangle
    corners = list(rect.exterior.coords)[:4]
    # Midpoints of the two short sides span the long axis; quarter points split it evenly.
    sides = sorted(
        ((corners[k], corners[(k + 1) % 4]) for k in range(4)),
        key=lambda side: math.dist(*side),
    )
    (a0, a1), (b0, b1) = sides[0], sides[1]
    m1 = ((a0[0] + a1[0]) / 2, (a0[1] + a1[1]) / 2)
    m2 = ((b0[0] + b1[0]) / 2, (b0[1] + b1[1]) / 2)
    p1 = Point(m1[0] + (m2[0] - m1[0]) / 4, m1[1] + (m2[1] - m1[1]) / 4)
    p2 = Point(m1[0] + 3 * (m2[0] - m1[0]) / 4, m1[1] + 3 * (m2[1] - m1[1]) / 4)
    return _absorb_fragments(_voronoi_cells(cell, [p1, p2]), [None, None])


def _reading_order(cells: list[BaseGeometry], row_height: float) -> list[BaseGeometry]:
    """North to south in rows about one cell high, west to east within a row."""
    top = max(cell.bounds[3] for cell in cells)

    def key(cell: BaseGeometry) -> tuple[int, float, float]:
        c = cell.centroid
        return (int((top - c.y) // row_height), c.x, -c.y)

    return sorted(cells, key=key)


def _adjacency(cells: Sequence[BaseGeometry]) -> list[set[int]]:
    """Cells sharing a border of non-zero length (touching at a corner does not count)."""
    tree = STRtree(list(cells))
    left, right = tree.query(list(cells), predicate="intersects")
    neighbours: list[set[int]] = [set() for _ in cells]
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i < j and _shared_length(cells[i], cells[j]) > 0:
            neighbours[i].add(j)
            neighbours[j].add(i)
    return neighbours


def _community_count(kind: TownKind, grid_count: int) -> int:
    # Urban communities cover more grids than villages do; both stay within 6–14 per town.
    per_community = 8 if kind == "subdistrict" else 5
    return max(6, min(14, round(grid_count / per_community)))


def _group_into_communities(
    cells: Sequence[BaseGeometry], kind: TownKind, rng: random.Random
) -> list[list[int]]:
    """Partition grid indices into contiguous groups, ordered north-west to south-east.

    k-means on the centroids picks the group centres; the groups are then grown from the grid
    nearest each centre over the adjacency graph, nearest centre first, so every group is
    connected (plain k-means labels can split a group around a bend of the outline).
    """
    k = _community_count(kind, len(cells))
    scale = math.cos(math.radians(cells[0].centroid.y))  # make lon and lat distances comparable
    xy = [(c.centroid.x * scale, c.centroid.y) for c in cells]
    centres = _kmeans(xy, k, rng)
    neighbours = _adjacency(cells)

    owner: dict[int, int] = {}
    heap: list[tuple[float, int, int]] = []
    for g, centre in enumerate(centres):
        start = min((i for i in range(len(xy)) if i not in owner), key=lambda i: math.dist(xy[i], centre))
        owner[start] = g
        heapq.heappush(heap, (0.0, start, g))
    while heap:
        _, i, g = heapq.heappop(heap)
        for j in neighbours[i]:
            if j not in owner:
                owner[j] = g
                heapq.heappush(heap, (math.dist(xy[j], centres[g]), j, g))
    # Cells that no edge connects (impossible for a single-polygon town) join the nearest group.
    for i in range(len(xy)):
        if i not in owner:
            owner[i] = min(range(k), key=lambda g: math.dist(xy[i], centres[g]))

    groups = [[i for i in range(len(xy)) if owner[i] == g] for g in range(k)]
    # Grid indices are already in reading order, so the first grid orders the groups too.
    return sorted(groups, key=lambda group: group[0])


def _kmeans(points: Sequence[LatLon], k: int, rng: random.Random, rounds: int = 25) -> list[LatLon]:
    """Plain Lloyd k-means with k-means++ seeding from ``rng``; small inputs, so pure Python."""
    centres = [points[rng.randrange(len(points))]]
    while len(centres) < k:
        weights = [min(math.dist(p, c) for c in centres) ** 2 for p in points]
        centres.append(points[rng.choices(range(len(points)), weights=weights)[0]])
    for _ in range(rounds):
        clusters: list[list[LatLon]] = [[] for _ in centres]
        for p in points:
            clusters[min(range(k), key=lambda g: math.dist(p, centres[g]))].append(p)
        moved = [
            (sum(x for x, _ in c) / len(c), sum(y for _, y in c) / len(c)) if c else centres[g]
            for g, c in enumerate(clusters)
        ]
        if moved == centres:
            break
        centres = moved
    return centres


def _community_kinds(
    kind: TownKind, members: Sequence[Sequence[int]], cells: Sequence[BaseGeometry], seat: int
) -> list[CommunityKind]:
    """Subdistricts have only 社区; towns have villages plus one or two 社区 at the town seat."""
    if kind == "subdistrict":
        return ["community"] * len(members)
    seat_point = cells[seat].centroid

    # The group holding the seat grid is the town-seat 社区; larger towns get a second one next to it.
    def distance_to_seat(g: int) -> tuple[bool, float]:
        return (seat not in members[g], min(cells[i].distance(seat_point) for i in members[g]))

    by_distance = sorted(range(len(members)), key=distance_to_seat)
    urban = set(by_distance[: 2 if len(members) >= 9 else 1])
    return ["community" if g in urban else "village" for g in range(len(members))]


def _invent_name(kind: CommunityKind, rng: random.Random, used: set[str]) -> str:
    """A plausible, district-unique name; ``used`` is updated."""
    for _ in range(10_000):
        if kind == "community":
            stem = rng.choice(_COMMUNITY_FIRST) + rng.choice(_COMMUNITY_SECOND)
            suffix = "社区"
        else:
            core = rng.choice(_VILLAGE_SURNAMES + _VILLAGE_NATURE)
            suffixes = _VILLAGE_SUFFIX + (_VILLAGE_FAMILY_SUFFIX if core in _VILLAGE_SURNAMES else ())
            stem = rng.choice(_VILLAGE_PREFIX) + core + rng.choice(suffixes)
            suffix = "村"
        # Doubled syllables ("和和") read as typos; the stem must also not repeat a town's name.
        if len(set(stem)) < len(stem) or stem in used:
            continue
        used.add(stem)
        return stem + suffix
    raise RuntimeError("ran out of invented names")


def _geojson(geom: BaseGeometry) -> GeoJSON:
    """GeoJSON dict with lists (not tuples) and the exact float coordinates of ``geom``."""

    def listify(value: Any) -> Any:
        if isinstance(value, tuple | list):
            return [listify(v) for v in value]
        if isinstance(value, Mapping):
            return {k: listify(v) for k, v in value.items()}
        return value

    return listify(mapping(geom))
