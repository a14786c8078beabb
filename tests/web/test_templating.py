"""Template filters, and garbage input on the public pages (never a 500)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from sudi.core import clock
from sudi.web.templating import countdown, env, format_datetime, format_limit


def test_datetimes_are_shown_in_the_district_zone() -> None:
    assert format_datetime(datetime(2026, 3, 2, 1, 5, tzinfo=UTC)) == "2026-03-02 09:05"
    assert format_datetime("2026-03-02T09:05:00+08:00") == "2026-03-02 09:05"
    assert format_datetime(None) == "" and format_datetime("not a date") == ""


def test_limits_and_labels() -> None:
    assert format_limit(2, "hours") == "2 小时" and format_limit(5.0, "working_days") == "5 个工作日"
    template = env.from_string("{{ 'acknowledged'|state_label }} {{ 'report'|type_label }} "
                               "{{ 'critical'|urgency_label }} {{ 'dispatcher'|role_label }} {{ 'x'|state_label }}")
    assert template.render() == "办理中 举报 特急 派单员 x"


@pytest.mark.parametrize(("offset", "expected"), [
    (timedelta(hours=5, minutes=10), "剩余 6 小时"), (timedelta(hours=-3), "已超期 3 小时")])
def test_countdown_in_hours_within_a_day(offset: timedelta, expected: str) -> None:
    now = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)  # a Wednesday, 10:00 in the district
    with clock.frozen_at(now):
        assert countdown({}, now + offset) == expected


def test_countdown_in_working_days_skips_the_weekend() -> None:
    now = datetime(2026, 3, 6, 2, 0, tzinfo=UTC)  # Friday 10:00
    with clock.frozen_at(now):
        assert countdown({}, now + timedelta(days=3)) == "剩余 1 个工作日"   # Monday
        assert countdown({}, now - timedelta(days=4)) == "已超期 4 个工作日"  # Monday: Tue–Fri late


@pytest.mark.parametrize("params", [
    {"title": "长" * 1_000, "content": "内容" * 1_000}, {"title": "路灯", "lat": "nan", "lon": "inf"},
    {"title": "\x00%_'\"<>", "lat": "1e999", "lon": "-"}, {"title": "路灯不亮", "lat": "91", "lon": "200"}])
def test_the_similar_panel_takes_anything(client: TestClient, params: dict[str, str]) -> None:
    assert client.get("/submit/similar", params=params).status_code == 200


@pytest.mark.parametrize("path", ["/track?number=%00", "/track?number=" + "9" * 100, "/track/..%2F..",
                                  "/track/%3Cscript%3E", "/resolved?page=-1", "/resolved?page=99999999999",
                                  "/login?next=https://evil.example", "/guide?x=%FF"])
def test_public_pages_take_garbage(client: TestClient, path: str) -> None:
    assert client.get(path).status_code in (200, 303, 404)
