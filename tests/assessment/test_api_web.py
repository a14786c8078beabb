"""GET /api/v1/assessment, the assessment page, its drill-down, and the admin's policy form."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from sudi.assessment import service
from sudi.core.models import AuditEntry
from tests.assessment import trail
from tests.factories import World
from tests.web.helpers import post_form, use_session


@pytest.fixture
def september(world: World) -> dict[str, str]:
    numbers = trail.build_september(world)
    trail.build_other_units(world)
    return numbers


def test_api_returns_figures_numerators_and_ranks(client: TestClient, world: World,
                                                  september: dict[str, str]) -> None:
    response = client.get("/api/v1/assessment", params={"period": trail.PERIOD}, headers=world.headers("leader"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["period"]["key"] == "2026-09" and body["period"]["first_day"] == "2026-09-01"
    zjj = next(u for u in body["units"] if u["unit"] == "zjj")
    assert zjj["volume"] == 6 and zjj["overdue"] == 2 and zjj["supervised_overdue"] == 1
    assert zjj["rates"]["response"] == {"value": 0.8, "numerator": 4, "denominator": 5}
    assert zjj["rates"]["resolution"]["numerator"] == 2 and zjj["rates"]["resolution"]["denominator"] == 3
    assert zjj["rates"]["satisfaction"]["denominator"] == 3
    assert zjj["composite"] == pytest.approx(trail.EXPECTED_COMPOSITE)
    assert zjj["ranked"] and zjj["rank"] == 1  # cgj has 2 rounds, under the minimum volume of 5
    assert body["policy"]["weights"]["resolution"] == 45


@pytest.mark.parametrize("params", [{"period": "2026-13"}, {"period": "2026-Q9"}, {"period": "soon"},
                                    {"from": "2026-09-01"}, {"from": "2026-09-30", "to": "2026-09-01"},
                                    {"period": "2026-09", "from": "2026-09-01", "to": "2026-09-02"}])
def test_api_bad_periods_are_bilingual_422(client: TestClient, world: World, params: dict[str, str]) -> None:
    response = client.get("/api/v1/assessment", params=params, headers=world.headers("supervisor"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["message"] and error["message_en"] and error["message"] != error["message_en"]


def test_api_quarter_year_and_custom(client: TestClient, world: World, september: dict[str, str]) -> None:
    headers = world.headers("dispatcher")
    for params in ({"period": "2026-Q3"}, {"period": "2026"}, {"from": "2026-09-01", "to": "2026-09-30"}):
        body = client.get("/api/v1/assessment", params=params, headers=headers).json()
        zjj = next(u for u in body["units"] if u["unit"] == "zjj")
        assert zjj["counts"]["dispatched"] == 6, params


def test_api_access(client: TestClient, world: World, september: dict[str, str]) -> None:
    assert client.get("/api/v1/assessment").status_code == 401
    for refused in ("intake", "zjj", "grid1"):
        assert client.get("/api/v1/assessment", headers=world.headers(refused)).status_code == 403
    own = client.get("/api/v1/assessment", params={"period": trail.PERIOD}, headers=world.headers("zjjlead"))
    assert own.status_code == 200
    assert [u["unit"] for u in own.json()["units"]] == ["zjj"]


def test_page_shows_rates_chart_data_and_formulas(client: TestClient, world: World,
                                                  september: dict[str, str]) -> None:
    use_session(client, world, "supervisor")
    page = client.get("/staff/assessment", params={"period": trail.PERIOD})
    assert page.status_code == 200
    html = page.text
    assert "考核排名" in html and "2026年9月" in html and "公式说明" in html
    row = re.search(r'<tr id="unit-zjj".*?</tr>', html, re.S)
    assert row is not None
    assert "80.0%" in row.group(0) and "66.67%" not in row.group(0) and "66.7%" in row.group(0)
    assert 'id="assessment-chart-data"' in html and "js/assessment.js" in html
    assert "measure=overdue" in html and "unit=zjj" in html
    assert 'href="/staff/assessment"' in html  # the navigation item


def test_page_with_a_bad_period_says_so(client: TestClient, world: World) -> None:
    use_session(client, world, "leader")
    page = client.get("/staff/assessment", params={"period": "2026-13"})
    assert page.status_code == 422 and "考核周期" in page.text


def test_page_is_refused_to_other_roles_and_trimmed_for_unit_leaders(client: TestClient, world: World,
                                                                     september: dict[str, str]) -> None:
    use_session(client, world, "zjj")
    assert client.get("/staff/assessment").status_code == 403
    use_session(client, world, "zjjlead")
    page = client.get("/staff/assessment", params={"period": trail.PERIOD})
    assert page.status_code == 200 and 'id="unit-zjj"' in page.text and 'id="unit-cgj"' not in page.text


def test_drill_down(client: TestClient, world: World, september: dict[str, str]) -> None:
    use_session(client, world, "supervisor")
    page = client.get("/staff/assessment/appeals", params={"period": trail.PERIOD, "unit": "zjj",
                                                           "measure": "overdue"})
    assert page.status_code == 200
    assert september["A2"] in page.text and september["A4"] in page.text and september["A1"] not in page.text
    assert "共 2 件" in page.text
    bad = client.get("/staff/assessment/appeals", params={"period": trail.PERIOD, "unit": "zjj", "measure": "x"})
    assert bad.status_code == 422
    use_session(client, world, "zjjlead")
    other = client.get("/staff/assessment/appeals", params={"period": trail.PERIOD, "unit": "cgj",
                                                            "measure": "dispatched"})
    assert other.status_code == 403


def test_admin_policy_form(client: TestClient, world: World, session: Session) -> None:
    use_session(client, world, "admin")
    form = client.get("/staff/admin/assessment")
    assert form.status_code == 200 and 'name="weight_resolution"' in form.text
    values = dict(re.findall(r'name="((?:weight|sat)_[a-z_]+|[a-z_]+)" value="([^"]*)"', form.text))
    values.pop("csrf_token", None)
    bad = post_form(client, "/staff/admin/assessment", {**values, "red_size": "abc"})
    assert bad.status_code == 422 and "红榜单位数须为数字" in bad.text
    saved = post_form(client, "/staff/admin/assessment", {**values, "weight_response": "20",
                                                          "sat_fairly_satisfied": "0.8"})
    assert saved.status_code == 303
    session.expire_all()
    policy = service.get_policy(session)
    assert policy["weights"]["response"] == 20 and policy["satisfaction_weights"]["fairly_satisfied"] == 0.8
    assert session.query(AuditEntry).filter_by(action="set_assessment_policy").count() == 1
    use_session(client, world, "supervisor")
    assert client.get("/staff/admin/assessment").status_code == 403


def test_the_page_and_the_api_show_overdue_governance_tasks(client: TestClient, world: World,
                                                           september: dict[str, str]) -> None:
    from tests.hotspots.factories import hotspot_id, task

    hotspot = hotspot_id(world)
    task(world, hotspot, unit="zjj", created=trail.at(1, 9), deadline=trail.at(15, 18))
    body = client.get("/api/v1/assessment", params={"period": trail.PERIOD}, headers=world.headers("leader")).json()
    zjj = next(u for u in body["units"] if u["unit"] == "zjj")
    assert zjj["governance_tasks_overdue"] == 1 and zjj["deduction"] == 3.0
    assert body["policy"]["governance_overdue_deduction"] == 1.0
    use_session(client, world, "leader")
    page = client.get("/staff/assessment", params={"period": trail.PERIOD})
    assert page.status_code == 200 and "治理超期" in page.text
    assert re.search(r'<tr id="unit-zjj".*?data-count="governance_overdue">1</td>', page.text, re.S)
    assert "按期（不晚于期限）完成的主动治理任务" in page.text and "未按期完成" in page.text
