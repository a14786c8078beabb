"""The application's routes, for tests that sweep every endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute


def walk_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every APIRoute, looking inside included routers (newer FastAPI keeps them as wrappers)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
            continue
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from walk_routes(list(included.routes), prefix + (getattr(context, "prefix", "") or ""))
