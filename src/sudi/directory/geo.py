"""Placing a point in its grid, community and town.

The grid layer changes rarely (an admin uploads GeoJSON) but is read on every intake, so each
process keeps an STRtree over the grids and rebuilds it only when the stored grid version moves.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import Point, mapping, shape
from shapely.strtree import STRtree
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from sudi.core.models import cached_setting
from sudi.directory.models import Grid, Unit

GRID_VERSION_KEY = "grids_version"


@dataclass(frozen=True, slots=True)
class Placement:
    grid_id: int
    town_unit_id: int
    community_unit_id: int | None


class _GridIndex:
    def __init__(self, rows: list[tuple[int, int, int | None, dict[str, Any]]]) -> None:
        self.placements = [Placement(gid, town, comm) for gid, town, comm, _ in rows]
        self.geoms = [shape(geom) for *_, geom in rows]
        for geom in self.geoms:
            shapely.prepare(geom)
        self.tree = STRtree(self.geoms) if self.geoms else None

    def locate(self, lat: float, lon: float) -> Placement | None:
        if self.tree is None:
            return None
        point = Point(lon, lat)
        for idx in self.tree.query(point, predicate="intersects"):
            return self.placements[int(idx)]
        return None


_lock = threading.Lock()
_cache: dict[str, tuple[Any, _GridIndex]] = {}


def locate_point(session: Session, lat: float, lon: float) -> Placement | None:
    bind = session.get_bind()
    key = str(bind.engine.url)
    version = cached_setting(session, GRID_VERSION_KEY, 0)
    cached = _cache.get(key)
    if cached is None or cached[0] != version:
        with _lock:
            rows = session.execute(
                select(Grid.id, Grid.town_unit_id, Grid.community_unit_id, Grid.geometry)
                .where(Grid.is_active.is_(True)).order_by(Grid.id)
            ).all()
            cached = (version, _GridIndex([tuple(r) for r in rows]))  # type: ignore[misc]
            _cache[key] = cached
    return cached[1].locate(lat, lon)


@dataclass(frozen=True, slots=True)
class PlaceNames:
    """The codes and names of an appeal's grid, town and community, as every view shows them."""

    grid: str | None = None
    grid_name: str | None = None
    town: str | None = None
    town_name: str | None = None
    community: str | None = None
    community_name: str | None = None


PLACE_NAMES_TTL_S = 30.0  # a renamed unit shows under its new name within this time in other processes
_place_names: dict[str, tuple[float, Any, dict[int, PlaceNames]]] = {}


def grid_place_names(session: Session, grid_id: int) -> PlaceNames | None:
    """What intake shows for the grid a point fell in, without loading the grid and its units."""
    key = str(session.get_bind().engine.url)
    version = cached_setting(session, GRID_VERSION_KEY, 0)
    cached = _place_names.get(key)
    if cached is None or cached[1] != version or cached[0] < time.monotonic():
        town, community = aliased(Unit), aliased(Unit)
        rows = session.execute(
            select(Grid.id, Grid.code, Grid.name, town.code, town.name, community.code, community.name)
            .join(town, town.id == Grid.town_unit_id).outerjoin(community, community.id == Grid.community_unit_id)
        ).all()
        cached = (time.monotonic() + PLACE_NAMES_TTL_S, version, {r[0]: PlaceNames(*r[1:]) for r in rows})
        _place_names[key] = cached
    return cached[2].get(grid_id)


def forget_place_names() -> None:
    _place_names.clear()


_TERRITORY_TOLERANCE = 0.0003  # degrees, about 30 m: plenty for a town outline on a phone screen
_territory: dict[str, tuple[Any, dict[str, Any]]] = {}


def territory_geojson(session: Session) -> dict[str, Any]:
    """The district and its towns as a GeoJSON FeatureCollection, drawn from the grids: a town is
    the union of its grids, the district the union of all. Features carry ``level`` ("district"
    or "town"), ``code`` and ``name``. Cached per process until the grids change.

    No map tiles are needed: this is the base map. Where the grids are drawn (as in the demo), the
    outlines are schematic and a map built on them must say so.
    """
    key = str(session.get_bind().engine.url)
    version = cached_setting(session, GRID_VERSION_KEY, 0)
    cached = _territory.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    rows = session.execute(select(Grid.town_unit_id, Grid.geometry).where(Grid.is_active.is_(True))).all()
    by_town: dict[int, list[Any]] = {}
    for town_id, geometry in rows:
        by_town.setdefault(town_id, []).append(shape(geometry))
    towns = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(list(by_town))))}
    features: list[dict[str, Any]] = []
    outlines = []
    for town_id in sorted(by_town, key=lambda t: (towns[t].sort_order, towns[t].code) if t in towns else (0, "")):
        outline = shapely.union_all(by_town[town_id]).buffer(0)
        outlines.append(outline)
        town = towns.get(town_id)
        features.append(_feature(outline, level="town", code=town.code if town else str(town_id),
                                 name=town.name if town else ""))
    if outlines:
        parents = {towns[t].parent_id for t in by_town if t in towns}
        parent = session.get(Unit, parents.pop()) if len(parents) == 1 and None not in parents else None
        features.insert(0, _feature(shapely.union_all(outlines).buffer(0), level="district",
                                    code=parent.code if parent else "district", name=parent.name if parent else ""))
    collection = {"type": "FeatureCollection", "features": features}
    with _lock:
        _territory[key] = (version, collection)
    return collection


def _feature(geom: Any, **properties: Any) -> dict[str, Any]:
    simple = shapely.set_precision(geom.simplify(_TERRITORY_TOLERANCE, preserve_topology=True), 1e-5)
    return {"type": "Feature", "properties": properties, "geometry": mapping(simple)}


def forget_grid_index() -> None:
    _cache.clear()
    _territory.clear()
    _place_names.clear()
