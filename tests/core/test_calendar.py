"""Working-day deadlines.

Expected dates below are written out by hand from the official arrangements, not recomputed from
the code under test, so a wrong calendar cannot agree with itself.

The installed chinesecalendar (1.11.0) holds data for 2004..2026 and raises NotImplementedError
for 2027, so 2027 is the "nobody knows yet" year used for fallback tests. If an upgrade adds 2027,
the coverage test below fails on purpose: move the fallback tests to the first uncovered year.

2026 arrangement as the library encodes it (State Council notice for 2026), checked in
chinese_calendar/constants.py:
  Mid-Autumn  Fri 25 Sep - Sun 27 Sep off
  National Day Thu 1 Oct - Wed 7 Oct off
  make-up working days: Sun 20 Sep and Sat 10 Oct
so 19 Sep (Sat) and 11 Oct (Sun) stay off, and 8 Oct (Thu) is the first day back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sudi.core import calendar as cal_mod
from sudi.core.calendar import (
    DISTRICT_TZ,
    MAX_WORKING_DAYS,
    Deadline,
    WorkCalendar,
    add_hours,
    add_working_days,
    is_workday,
    remaining,
    working_days_left,
    year_coverage,
)

NEW_YORK = ZoneInfo("America/New_York")


def sh(y: int, m: int, d: int, hh: int = 10, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=DISTRICT_TZ)


def eod(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, tzinfo=DISTRICT_TZ)


# --- coverage of the installed library -------------------------------------------------------------


def test_installed_library_covers_2004_to_2026_only() -> None:
    assert year_coverage(2003) == "none"
    assert year_coverage(2004) == "library"
    assert year_coverage(2026) == "library"
    assert year_coverage(2027) == "none"
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))


def test_year_out_of_datetime_range_rejected() -> None:
    with pytest.raises(ValueError):
        year_coverage(0)
    with pytest.raises(ValueError):
        year_coverage(10000)


# --- ordinary weeks ---------------------------------------------------------------------------------


def test_friday_to_monday() -> None:
    # March 2026 has no holidays or make-up days.
    assert add_working_days(sh(2026, 3, 6), 1) == Deadline(eod(2026, 3, 9), False, ())


def test_plain_week_counts() -> None:
    start = sh(2026, 3, 9, 9)  # Monday
    assert add_working_days(start, 1).due == eod(2026, 3, 10)
    assert add_working_days(start, 4).due == eod(2026, 3, 13)
    assert add_working_days(start, 5).due == eod(2026, 3, 16)
    assert add_working_days(start, 15).due == eod(2026, 3, 30)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (sh(2026, 3, 7), eod(2026, 3, 9)),  # Saturday
        (sh(2026, 3, 8), eod(2026, 3, 9)),  # Sunday
        (sh(2026, 10, 4), eod(2026, 10, 8)),  # inside National Day
        (sh(2026, 5, 1), eod(2026, 5, 6)),  # Labour Day 1-5 May 2026
        (sh(2026, 1, 1), eod(2026, 1, 4)),  # New Year 1-3 Jan; Sun 4 Jan is a make-up day
    ],
)
def test_start_on_day_off(start: datetime, expected: datetime) -> None:
    result = add_working_days(start, 1)
    assert result.due == expected
    assert not result.fallback


def test_start_date_never_counts_even_late_or_on_workday() -> None:
    assert add_working_days(sh(2026, 3, 10, 0, 0, 0), 1).due == eod(2026, 3, 11)
    assert add_working_days(sh(2026, 3, 10, 23, 59, 59), 1).due == eod(2026, 3, 11)


# --- 2026 Mid-Autumn / National Day -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 9, 18), True),
        (date(2026, 9, 19), False),
        (date(2026, 9, 20), True),  # Sunday make-up day
        (date(2026, 9, 24), True),
        (date(2026, 9, 25), False),  # Mid-Autumn, a Friday
        (date(2026, 9, 26), False),
        (date(2026, 9, 27), False),
        (date(2026, 9, 28), True),
        (date(2026, 9, 29), True),
        (date(2026, 9, 30), True),
        *[(date(2026, 10, d), False) for d in range(1, 8)],
        (date(2026, 10, 8), True),
        (date(2026, 10, 9), True),
        (date(2026, 10, 10), True),  # Saturday make-up day
        (date(2026, 10, 11), False),
        (date(2026, 10, 12), True),
    ],
)
def test_2026_autumn_holidays(day: date, working: bool) -> None:
    assert is_workday(day) is working


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (sh(2026, 9, 18), 1, eod(2026, 9, 20)),  # Friday -> Sunday make-up day, not Monday
        (sh(2026, 9, 19), 1, eod(2026, 9, 20)),
        (sh(2026, 9, 24), 1, eod(2026, 9, 28)),  # Mid-Autumn Fri-Sun skipped
        (sh(2026, 9, 29), 1, eod(2026, 9, 30)),
        (sh(2026, 9, 29), 2, eod(2026, 10, 8)),
        (sh(2026, 9, 29), 3, eod(2026, 10, 9)),
        (sh(2026, 9, 29), 4, eod(2026, 10, 10)),  # Saturday make-up day counts
        (sh(2026, 9, 29), 5, eod(2026, 10, 12)),
        (sh(2026, 9, 30, 17, 55), 1, eod(2026, 10, 8)),
        (sh(2026, 10, 1), 1, eod(2026, 10, 8)),
        (sh(2026, 10, 7), 1, eod(2026, 10, 8)),
        (sh(2026, 10, 8), 1, eod(2026, 10, 9)),
        (sh(2026, 10, 9), 1, eod(2026, 10, 10)),
        (sh(2026, 10, 9), 2, eod(2026, 10, 12)),
        (sh(2026, 10, 10), 1, eod(2026, 10, 12)),  # start on the make-up day: still not counted
        # 20, 21, 22, 23, 24, 28, 29, 30 Sep, 8, 9 Oct
        (sh(2026, 9, 18), 10, eod(2026, 10, 9)),
        (sh(2026, 9, 18), 11, eod(2026, 10, 10)),
        (sh(2026, 9, 18), 15, eod(2026, 10, 15)),
    ],
)
def test_2026_national_day_span(start: datetime, n: int, expected: datetime) -> None:
    assert add_working_days(start, n) == Deadline(expected, False, ())


def test_start_is_read_in_district_time() -> None:
    # 17:00 UTC on 29 Sep is already 01:00 on 30 Sep in the district.
    start = datetime(2026, 9, 29, 17, 0, tzinfo=UTC)
    result = add_working_days(start, 1)
    assert result.due == eod(2026, 10, 8)
    assert result.due.tzinfo is DISTRICT_TZ


# --- past the library's data: 2027 ----------------------------------------------------------------


def test_into_2027_falls_back_to_weekends() -> None:
    start = sh(2026, 12, 30)  # Wednesday
    assert add_working_days(start, 1) == Deadline(eod(2026, 12, 31), False, ())
    # Fri 1 Jan 2027 is surely New Year's Day, but nothing says so yet: hence the flag.
    assert add_working_days(start, 2) == Deadline(eod(2027, 1, 1), True, (2027,))
    assert add_working_days(start, 3) == Deadline(eod(2027, 1, 4), True, (2027,))  # weekend skipped


def test_start_on_new_years_eve_does_not_flag_its_own_year() -> None:
    assert add_working_days(sh(2026, 12, 31), 1) == Deadline(eod(2027, 1, 1), True, (2027,))


def test_within_2027_weekends_still_skip() -> None:
    assert add_working_days(sh(2027, 3, 5), 1) == Deadline(eod(2027, 3, 8), True, (2027,))  # Fri -> Mon
    assert add_working_days(sh(2027, 3, 6), 1) == Deadline(eod(2027, 3, 8), True, (2027,))  # Sat -> Mon


def test_fallback_lists_every_uncovered_year() -> None:
    start = sh(2026, 12, 30)
    # 2027 has 261 weekdays (it starts on a Friday); 31 Dec 2026 is the first counted day.
    assert add_working_days(start, 262) == Deadline(eod(2027, 12, 31), True, (2027,))
    assert add_working_days(start, 263) == Deadline(eod(2028, 1, 3), True, (2027, 2028))


def test_fallback_before_library_range() -> None:
    # 2003 predates the library; Fri 31 Jan 2003 (really Spring Festival eve) is a plain weekday here.
    assert add_working_days(sh(2003, 1, 30), 1) == Deadline(eod(2003, 1, 31), True, (2003,))
    assert add_working_days(sh(2003, 12, 31), 1) == Deadline(eod(2004, 1, 2), False, ())


# --- the admin holiday table ------------------------------------------------------------------------


def test_table_covers_2027() -> None:
    cal = WorkCalendar({date(2027, 1, 1): False, date(2027, 1, 2): True})  # Fri off, Sat on
    assert cal.year_coverage(2027) == "table"
    assert cal.year_coverage(2028) == "none"
    assert cal.is_workday(date(2027, 1, 1)) is False
    assert cal.is_workday(date(2027, 1, 2)) is True
    assert cal.is_workday(date(2027, 1, 3)) is False  # unlisted Sunday
    assert cal.is_workday(date(2027, 1, 4)) is True  # unlisted Monday
    start = sh(2026, 12, 30)
    assert cal.add_working_days(start, 2) == Deadline(eod(2027, 1, 2), False, ())
    assert cal.add_working_days(start, 3) == Deadline(eod(2027, 1, 4), False, ())
    # 2027 under this table: 261 weekdays - 1 + 1 = 261 working days.
    assert cal.add_working_days(start, 262) == Deadline(eod(2027, 12, 31), False, ())
    assert cal.add_working_days(start, 263) == Deadline(eod(2028, 1, 3), True, (2028,))


def test_overrides_win_over_library() -> None:
    cal = WorkCalendar({date(2026, 9, 30): False, date(2026, 10, 3): True})
    assert cal.year_coverage(2026) == "library"
    assert cal.add_working_days(sh(2026, 9, 29), 1) == Deadline(eod(2026, 10, 3), False, ())
    assert cal.add_working_days(sh(2026, 9, 29), 2) == Deadline(eod(2026, 10, 8), False, ())
    # Unlisted library dates keep the official answer.
    assert cal.is_workday(date(2026, 10, 10)) is True
    assert cal.is_workday(date(2026, 10, 2)) is False


def test_overrides_are_copied() -> None:
    table = {date(2027, 1, 1): False}
    cal = WorkCalendar(table)
    table[date(2027, 1, 4)] = False
    table[date(2028, 1, 3)] = False
    assert cal.is_workday(date(2027, 1, 4)) is True
    assert cal.year_coverage(2028) == "none"
    assert dict(cal.overrides) == {date(2027, 1, 1): False}


def test_bad_overrides_rejected() -> None:
    with pytest.raises(TypeError):
        WorkCalendar({datetime(2027, 1, 1, tzinfo=DISTRICT_TZ): False})
    with pytest.raises(TypeError):
        WorkCalendar({date(2027, 1, 1): 0})  # type: ignore[dict-item]


def test_module_functions_use_no_overrides() -> None:
    assert WorkCalendar().add_working_days(sh(2026, 9, 29), 2) == add_working_days(sh(2026, 9, 29), 2)
    assert year_coverage(2027) == "none"


# --- input validation -------------------------------------------------------------------------------


def test_naive_datetimes_rejected() -> None:
    naive = datetime(2026, 9, 29, 10)  # noqa: DTZ001 - the point of the test
    aware = sh(2026, 9, 29)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_days(naive, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_hours(naive, 4)
    with pytest.raises(ValueError, match="timezone-aware"):
        working_days_left(naive, aware)
    with pytest.raises(ValueError, match="timezone-aware"):
        working_days_left(aware, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        remaining(naive, aware)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_workday(naive)


@pytest.mark.parametrize("n", [0, -1, -3650, MAX_WORKING_DAYS + 1])
def test_n_out_of_range_rejected(n: int) -> None:
    with pytest.raises(ValueError):
        add_working_days(sh(2026, 9, 29), n)


@pytest.mark.parametrize("n", [1.0, True, "3"])
def test_n_must_be_int(n: object) -> None:
    with pytest.raises(TypeError):
        add_working_days(sh(2026, 9, 29), n)  # type: ignore[arg-type]


def test_largest_n_is_bounded_and_flags_years() -> None:
    result = add_working_days(sh(2026, 9, 29), MAX_WORKING_DAYS)
    assert result.fallback
    assert result.fallback_years[0] == 2027
    assert result.fallback_years == tuple(range(2027, result.due.year + 1))
    assert result.due.year in (2040, 2041)


def test_beyond_year_9999_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        add_working_days(sh(9999, 12, 30), 5)


# --- clock hours ------------------------------------------------------------------------------------


def test_add_hours() -> None:
    assert add_hours(sh(2026, 9, 30, 22), 4) == Deadline(sh(2026, 10, 1, 2), False, ())
    assert add_hours(sh(2026, 9, 30, 22), 1.5).due == sh(2026, 9, 30, 23, 30)
    # Hours ignore holidays and uncovered years alike.
    assert add_hours(sh(2027, 1, 1, 9), 72) == Deadline(sh(2027, 1, 4, 9), False, ())
    result = add_hours(datetime(2026, 9, 30, 0, 0, tzinfo=UTC), 2)
    assert result.due == sh(2026, 9, 30, 10)
    assert result.due.tzinfo is DISTRICT_TZ


@pytest.mark.parametrize("hours", [0, -1, float("nan"), float("inf")])
def test_add_hours_rejects_non_positive(hours: float) -> None:
    with pytest.raises(ValueError):
        add_hours(sh(2026, 9, 30), hours)


# --- time zones and DST -----------------------------------------------------------------------------


def test_dst_in_callers_zone_is_irrelevant() -> None:
    # US clocks jump from 02:00 to 03:00 on Sun 8 Mar 2026; Shanghai has no DST.
    before_jump = datetime(2026, 3, 8, 1, 30, tzinfo=NEW_YORK)  # 14:30 Sun 8 Mar in Shanghai
    same_instant = before_jump.astimezone(DISTRICT_TZ)
    assert add_working_days(before_jump, 1) == add_working_days(same_instant, 1)
    assert add_working_days(before_jump, 1).due == eod(2026, 3, 9)
    # One elapsed hour, not one wall-clock hour in New York.
    assert add_hours(before_jump, 1).due == sh(2026, 3, 8, 15, 30)
    assert add_hours(before_jump, 1).due - before_jump == timedelta(hours=1)


@pytest.mark.parametrize("day", [date(2026, 3, 8), date(2026, 3, 29), date(2026, 10, 25), date(2026, 11, 1)])
def test_district_days_are_always_24_hours(day: date) -> None:
    start = datetime(day.year, day.month, day.day, 9, tzinfo=DISTRICT_TZ)
    due = add_hours(start, 24).due
    assert (due.hour, due.minute) == (9, 0)
    assert due.utcoffset() == timedelta(hours=8)
    assert add_working_days(start, 3).due.utcoffset() == timedelta(hours=8)


# --- remaining / working_days_left ------------------------------------------------------------------


def test_remaining() -> None:
    due = eod(2026, 10, 8)
    assert remaining(due, sh(2026, 10, 8, 23, 0)) == timedelta(minutes=59, seconds=59)
    assert remaining(due, sh(2026, 10, 9, 0, 59, 59)) == timedelta(hours=-1)
    assert remaining(due, datetime(2026, 10, 8, 15, 59, 59, tzinfo=UTC)) == timedelta(0)


def test_working_days_left_positive() -> None:
    now = sh(2026, 9, 29)
    assert working_days_left(eod(2026, 10, 12), now) == 5  # 30 Sep, 8, 9, 10, 12 Oct
    assert working_days_left(eod(2026, 10, 11), now) == 4  # due on a day off
    assert working_days_left(eod(2026, 9, 30), now) == 1


def test_working_days_left_zero_on_same_day() -> None:
    assert working_days_left(eod(2026, 9, 29), sh(2026, 9, 29, 8)) == 0
    assert working_days_left(eod(2026, 9, 29), sh(2026, 9, 29, 23, 59, 59)) == 0
    # Due has passed by the clock but it is still the same district day.
    assert working_days_left(sh(2026, 9, 29, 9), sh(2026, 9, 29, 18)) == 0


def test_working_days_left_negative_when_overdue() -> None:
    due = eod(2026, 9, 30)
    assert working_days_left(due, sh(2026, 10, 1, 9)) == 0  # 1 Oct is a holiday: nothing lost yet
    assert working_days_left(due, sh(2026, 10, 8, 9)) == -1
    assert working_days_left(due, sh(2026, 10, 9, 9)) == -2
    assert working_days_left(due, sh(2026, 10, 11, 9)) == -3  # 8, 9, 10 Oct


def test_working_days_left_across_uncovered_year() -> None:
    assert working_days_left(eod(2027, 1, 4), sh(2026, 12, 30)) == 3  # 31 Dec, 1 Jan, 4 Jan


# --- properties -------------------------------------------------------------------------------------


@cache  # the library takes tens of µs per call; the properties ask about the same days often
def reference_library_or_weekday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def reference_is_workday(overrides: dict[date, bool], day: date) -> bool:
    """Deliberately naive restatement of the contract, one date at a time."""
    if day in overrides:
        return overrides[day]
    return reference_library_or_weekday(day)


def reference_uncovered(overrides: dict[date, bool], year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return not any(d.year == year for d in overrides)
    return False


starts = st.datetimes(
    min_value=datetime(2002, 6, 1),  # noqa: DTZ001 - hypothesis takes naive bounds
    max_value=datetime(2029, 12, 31),  # noqa: DTZ001
    timezones=st.sampled_from([DISTRICT_TZ, UTC, NEW_YORK, ZoneInfo("Pacific/Kiritimati")]),
    allow_imaginary=False,
)
override_tables = st.dictionaries(
    st.dates(min_value=date(2025, 6, 1), max_value=date(2028, 6, 30)), st.booleans(), max_size=30
)
counts = st.integers(min_value=1, max_value=300)

# One table per example would rebuild caches every time; a shared calendar also exercises reuse.
SHARED_TABLE = {
    date(2026, 10, 9): False,
    date(2026, 10, 11): True,
    date(2027, 2, 6): True,
    date(2027, 2, 8): False,
    date(2027, 10, 1): False,
}
SHARED = WorkCalendar(SHARED_TABLE)


@settings(max_examples=300, deadline=None)
@given(start=starts, n=counts, table=st.one_of(st.just(SHARED_TABLE), override_tables))
def test_property_exactly_n_working_days(start: datetime, n: int, table: dict[date, bool]) -> None:
    cal = SHARED if table is SHARED_TABLE else WorkCalendar(table)
    result = cal.add_working_days(start, n)
    start_day = start.astimezone(DISTRICT_TZ).date()
    due = result.due

    # (a) end of a working day, district time, strictly after the start date
    assert due.tzinfo is DISTRICT_TZ
    assert (due.hour, due.minute, due.second, due.microsecond) == (23, 59, 59, 0)
    assert due.date() > start_day
    assert reference_is_workday(table, due.date())

    # (c) exactly n working days in (start_date, due_date], and the flag names exactly the
    # uncovered years among them
    span = [start_day + timedelta(days=i) for i in range(1, (due.date() - start_day).days + 1)]
    assert sum(reference_is_workday(table, d) for d in span) == n
    expected_years = tuple(sorted(y for y in {d.year for d in span} if reference_uncovered(table, y)))
    assert result.fallback_years == expected_years
    assert result.fallback == bool(expected_years)

    assert cal.working_days_left(due, start) == n
    assert cal.working_days_left(start, due) == -n


@settings(max_examples=200, deadline=None)
@given(start=starts, a=counts, b=counts)
def test_property_monotonic_in_n(start: datetime, a: int, b: int) -> None:
    # (b) more working days never gives an earlier deadline; distinct counts give distinct days
    lo, hi = sorted((a, b))
    due_lo = SHARED.add_working_days(start, lo).due
    due_hi = SHARED.add_working_days(start, hi).due
    assert due_lo <= due_hi
    assert (due_lo == due_hi) == (lo == hi)


@settings(max_examples=200, deadline=None)
@given(x=starts, y=starts)
def test_property_working_days_left_antisymmetric(x: datetime, y: datetime) -> None:
    assert SHARED.working_days_left(x, y) == -SHARED.working_days_left(y, x)


def test_library_coverage_probe_is_cached() -> None:
    cal_mod._library_covers.cache_clear()
    year_coverage(2027)
    year_coverage(2027)
    info = cal_mod._library_covers.cache_info()
    assert (info.hits, info.misses) == (1, 1)
