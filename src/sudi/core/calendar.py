"""Working-day arithmetic for deadlines, in the district's own time zone.

Why this exists: the appeals policy states its handling periods in *working days*, and in China a
working day is not simply Monday to Friday. Statutory holidays close offices on weekdays, and the
State Council's 调休 arrangement turns some Saturdays and Sundays into make-up working days. A
deadline that ignored either would be wrong by days around Spring Festival or National Day.

Where the answer comes from, per date: an admin-maintained override table wins; otherwise the
``chinese_calendar`` package, which encodes each year's official arrangement; otherwise, for a year
nobody has data for yet (the arrangement is usually published only late in the previous year),
plain Monday-to-Friday. That last case still yields a usable deadline, because refusing to compute
one would stall intake, but it is only provisional: the result is flagged as a *fallback* and names
the years involved, so the caller can warn staff and ask an admin to fill in the holiday table.

Deadlines run to the end of the N-th working day after the start date (23:59:59 local), never
counting the start date itself: an appeal lodged at 17:55 must not lose a day to the clock.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, time, timedelta
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo

import chinese_calendar

__all__ = [
    "DISTRICT_TZ",
    "MAX_WORKING_DAYS",
    "Coverage",
    "Deadline",
    "WorkCalendar",
    "add_hours",
    "add_working_days",
    "is_workday",
    "remaining",
    "working_days_left",
    "year_coverage",
]

DISTRICT_TZ = ZoneInfo("Asia/Shanghai")

# Ten years of working days is far beyond any statutory period; a larger value is a bug upstream
# (e.g. hours passed as days), and refusing it keeps every computation bounded.
MAX_WORKING_DAYS = 3650

_END_OF_DAY = time(23, 59, 59)

Coverage = Literal["library", "table", "none"]


@dataclass(frozen=True, slots=True)
class Deadline:
    """A computed due time.

    ``fallback`` is True when some day counted towards it lay in a year for which neither the
    library nor the override table had data, so weekends were the only days off assumed;
    ``fallback_years`` names those years (ascending) so the warning can be specific.
    """

    due: datetime
    fallback: bool = False
    fallback_years: tuple[int, ...] = ()


@cache
def _library_covers(year: int) -> bool:
    # Asking the library is the only reliable way to learn its range: each release extends it,
    # and a hard-coded bound would silently go stale after an upgrade.
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@cache
def _library_year(year: int) -> tuple[bool, ...]:
    # The library re-derives its supported range on every call (tens of µs each), and its data
    # never changes within a process, so every calendar shares one answer per day of a covered year.
    first = date(year, 1, 1).toordinal()
    last = date(year, 12, 31).toordinal()
    return tuple(bool(chinese_calendar.is_workday(date.fromordinal(o))) for o in range(first, last + 1))


def _require_aware(moment: datetime, name: str) -> None:
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"{name} must be a timezone-aware datetime (got naive {moment.isoformat()}); "
            "attach a tzinfo such as sudi.core.calendar.DISTRICT_TZ"
        )


def _local_date(moment: datetime, name: str) -> date:
    _require_aware(moment, name)
    try:
        return moment.astimezone(DISTRICT_TZ).date()
    except OverflowError as exc:
        raise ValueError(f"{name} {moment.isoformat()} is outside the supported date range") from exc


def _check_year(year: int) -> None:
    if not MINYEAR <= year <= MAXYEAR:
        raise ValueError(f"year {year} is outside the supported range {MINYEAR}..{MAXYEAR}")


class WorkCalendar:
    """Decides working days and computes deadlines; meant to be built once and reused.

    Decisions are memoised per date and, for counting, per year as a sorted list of working-day
    ordinals, so a typical deadline is a couple of binary searches rather than a day-by-day walk.
    The overrides are copied at construction: the caches would be wrong if the caller's mapping
    changed underneath them. Build a new calendar when the holiday table is edited.
    """

    __slots__ = ("_day_cache", "_overrides", "_table_years", "_year_index")

    def __init__(self, overrides: Mapping[date, bool] | None = None) -> None:
        copied: dict[date, bool] = {}
        for day, working in (overrides or {}).items():
            # A datetime key would never match the date lookups below, silently ignoring the row.
            if isinstance(day, datetime) or not isinstance(day, date):
                raise TypeError(f"override keys must be datetime.date, got {type(day).__name__}")
            if not isinstance(working, bool):
                raise TypeError(
                    f"override for {day.isoformat()} must be a bool, got {type(working).__name__}"
                )
            copied[day] = working
        self._overrides: dict[date, bool] = copied
        self._table_years: frozenset[int] = frozenset(day.year for day in copied)
        self._day_cache: dict[date, bool] = {}
        self._year_index: dict[int, list[int]] = {}

    @property
    def overrides(self) -> Mapping[date, bool]:
        return dict(self._overrides)

    def year_coverage(self, year: int) -> Coverage:
        """Which source decides the unlisted days of ``year``.

        "library" wins over "table" when both apply because the library then still decides every
        date the table does not list; overrides win per date either way.
        """
        _check_year(year)
        if _library_covers(year):
            return "library"
        if year in self._table_years:
            return "table"
        return "none"

    def is_workday(self, day: date) -> bool:
        if isinstance(day, datetime):
            # A datetime's calendar date depends on the zone; only the district's date is meaningful.
            day = _local_date(day, "day")
        cached = self._day_cache.get(day)
        if cached is not None:
            return cached
        decided = self._decide(day)
        self._day_cache[day] = decided
        return decided

    def _decide(self, day: date) -> bool:
        listed = self._overrides.get(day)
        if listed is not None:
            return listed
        if _library_covers(day.year):
            return _library_year(day.year)[day.timetuple().tm_yday - 1]
        return day.weekday() < 5

    def _workdays_of(self, year: int) -> list[int]:
        index = self._year_index.get(year)
        if index is None:
            first = date(year, 1, 1).toordinal()
            last = date(year, 12, 31).toordinal()
            index = [o for o in range(first, last + 1) if self.is_workday(date.fromordinal(o))]
            self._year_index[year] = index
        return index

    def add_working_days(self, start: datetime, n: int) -> Deadline:
        """End (23:59:59 local) of the ``n``-th working day after ``start``'s local date."""
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"n must be an int, got {type(n).__name__}")
        if n < 1:
            raise ValueError(f"n must be at least 1 working day, got {n}")
        if n > MAX_WORKING_DAYS:
            raise ValueError(f"n must be at most {MAX_WORKING_DAYS} working days, got {n}")
        start_day = _local_date(start, "start")

        cursor = start_day.toordinal()  # last ordinal already passed over; never itself counted
        year = start_day.year
        left = n
        fallback_years: list[int] = []
        while True:
            if year > MAXYEAR:
                raise ValueError(f"{n} working days after {start_day.isoformat()} is beyond year {MAXYEAR}")
            year_end = date(year, 12, 31).toordinal()
            # Only years that contribute at least one day to (start, due] were "examined"; a start
            # on 31 December must not flag its own year.
            if cursor < year_end and self.year_coverage(year) == "none":
                fallback_years.append(year)
            days = self._workdays_of(year)
            pos = bisect_right(days, cursor)
            available = len(days) - pos
            if left <= available:
                due_day = date.fromordinal(days[pos + left - 1])
                break
            left -= available
            cursor = year_end
            year += 1

        due = datetime.combine(due_day, _END_OF_DAY, tzinfo=DISTRICT_TZ)
        return Deadline(due=due, fallback=bool(fallback_years), fallback_years=tuple(fallback_years))

    def add_hours(self, start: datetime, hours: float) -> Deadline:
        """``start`` plus elapsed clock hours; calendars play no part, so never a fallback."""
        _require_aware(start, "start")
        if isinstance(hours, bool) or not isinstance(hours, int | float):
            raise TypeError(f"hours must be a number, got {type(hours).__name__}")
        if not math.isfinite(hours) or hours <= 0:
            raise ValueError(f"hours must be a finite number greater than 0, got {hours}")
        try:
            # Adding in UTC measures elapsed time; adding to a wall clock in a DST zone would not.
            due = (start.astimezone(UTC) + timedelta(hours=hours)).astimezone(DISTRICT_TZ)
        except OverflowError as exc:
            raise ValueError(
                f"{hours} hours after {start.isoformat()} is outside the supported range"
            ) from exc
        return Deadline(due=due)

    def working_days_left(self, due: datetime, now: datetime) -> int:
        """Working days in (now's date, due's date]; negated count of (due's date, now's date] if overdue."""
        due_day = _local_date(due, "due")
        now_day = _local_date(now, "now")
        if due_day == now_day:
            return 0
        if due_day > now_day:
            return self._count_between(now_day, due_day)
        return -self._count_between(due_day, now_day)

    def _count_between(self, after: date, upto: date) -> int:
        lo = after.toordinal()
        hi = upto.toordinal()
        total = 0
        for year in range(after.year, upto.year + 1):
            days = self._workdays_of(year)
            total += bisect_right(days, hi) - bisect_right(days, lo)
        return total


def remaining(due: datetime, now: datetime) -> timedelta:
    """Time until ``due``; negative once it has passed."""
    _require_aware(due, "due")
    _require_aware(now, "now")
    return due - now


_DEFAULT = WorkCalendar()


def is_workday(day: date) -> bool:
    return _DEFAULT.is_workday(day)


def year_coverage(year: int) -> Coverage:
    return _DEFAULT.year_coverage(year)


def add_working_days(start: datetime, n: int) -> Deadline:
    return _DEFAULT.add_working_days(start, n)


def add_hours(start: datetime, hours: float) -> Deadline:
    return _DEFAULT.add_hours(start, hours)


def working_days_left(due: datetime, now: datetime) -> int:
    return _DEFAULT.working_days_left(due, now)
