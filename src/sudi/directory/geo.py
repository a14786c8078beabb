"""Placing a point in its grid, community and town.

The grid layer changes rarely (an admin uploads GeoJSON) but is read on every intake, so each
process keeps an STRtree over the grids and rebuilds it only when the stored grid version moves.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import Point, shape
from shapely.strtree import STRtree
from sqlalchemy import select
from sqlalchemy.orm import Session

from sudi.core.models import get_setting
from sudi.directory.models import Grid

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
    key = str(bind.url)
    version = get_setting(session, GRID_VERSION_KEY, 0)
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


def forget_grid_index() -> None:
    _cache.clear()
