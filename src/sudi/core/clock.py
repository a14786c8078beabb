"""The one place that reads the wall clock.

Services ask :func:`now` instead of ``datetime.now`` so that tests, the demo loader (which replays
a year of history) and imports can move time deliberately.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

DISTRICT_TZ = ZoneInfo("Asia/Shanghai")

_frozen: ContextVar[datetime | None] = ContextVar("sudi_frozen_now", default=None)


def now() -> datetime:
    frozen = _frozen.get()
    return frozen if frozen is not None else datetime.now(UTC)


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    if moment.tzinfo is None:
        raise ValueError("frozen_at needs a timezone-aware datetime")
    token = _frozen.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _frozen.reset(token)


def local(moment: datetime) -> datetime:
    return moment.astimezone(DISTRICT_TZ)
