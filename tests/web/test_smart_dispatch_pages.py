"""Smart dispatch on the workbench: the suggestion panel, one-click accept or correct, the dispatch queue's
column and the admin's model page (/staff/admin/models)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sudi.appeals import service as appeals
from sudi.appeals import smart_dispatch as sd
from sudi.appeals.smart_dispatch_models import DispatchLabel, DispatchModel
from sudi.core.models import put_setting
from tests.appeals.smart_history import build_archive, new_appeal
from tests.factories import World
from tests.web.helpers import post_form, use_session


@pytest.fixture(autouse=True)
def _fresh_models() -> None:
    sd.forget_loaded_models()


@pytest.fixture
def trained(world: World, tmp_path: Path) -> None:
    build_archive(world)
    sd.train_from_db(world.session, world.actor("admin"), model_dir=tmp_path / "models")


def test_the_appeal_page_shows_suggestions_with_confidence_and_reasons(client: TestClient, world: World,
                                                                       trained) -> None:
    appeal = new_appeal(world, "property")
    use_session(client, world, "dispatcher")
    page = client.get(f"/staff/appeals/{appeal.number}")
    assert page.status_code == 200
    html = page.text
    assert "智能派单建议" in html and 'id="smart-category"' in html and "物业管理" in html
    assert 'id="smart-unit"' in html and "区住房和城乡建设局" in html and "<meter" in html and "依据词" in html
    assert 'id="smart-type"' in html and 'id="smart-dispatch-form"' in html
    assert re.search(r'<option value="zjj" selected>', html)


def test_one_click_accept_dispatches_to_the_suggested_unit(client: TestClient, world: World, trained) -> None:
    appeal = new_appeal(world, "property")
    use_session(client, world, "dispatcher")
    response = post_form(client, f"/staff/appeals/{appeal.number}/smart/dispatch",
                         {"unit": "zjj", "appeal_type": "complaint", "urgency": "normal"})
    assert response.status_code == 303 and response.headers["location"].endswith("done=dispatch#result")
    world.session.expire_all()
    done = appeals.get_appeal(world.session, appeal.number)
    assert done.state == "dispatched" and done.lead_unit.code == "zjj"  # type: ignore[union-attr]
    assert world.session.scalar(select(func.count(DispatchLabel.id))) == 0


def test_a_correction_is_recorded_as_a_label(client: TestClient, world: World, trained) -> None:
    appeal = new_appeal(world, "property")
    use_session(client, world, "dispatcher")
    response = post_form(client, f"/staff/appeals/{appeal.number}/smart/dispatch",
                         {"unit": "cgj", "appeal_type": "complaint", "urgency": "normal"})
    assert response.status_code == 303
    world.session.expire_all()
    label = world.session.scalars(select(DispatchLabel)).one()
    assert (label.kind, label.suggested, label.chosen, label.model_version) == ("lead_unit", "zjj", "cgj", 1)


def test_a_refused_dispatch_comes_back_with_its_reason(client: TestClient, world: World, trained) -> None:
    appeal = new_appeal(world, "property")
    use_session(client, world, "dispatcher")
    response = post_form(client, f"/staff/appeals/{appeal.number}/smart/dispatch", {"unit": "no-such-unit"})
    assert response.status_code == 303 and "smart_error=" in response.headers["location"]
    page = client.get(response.headers["location"])
    assert "派单未完成" in page.text
    assert appeals.get_appeal(world.session, appeal.number).state == "accepted"


def test_other_roles_cannot_dispatch_from_the_panel(client: TestClient, world: World, trained) -> None:
    appeal = new_appeal(world, "property")
    use_session(client, world, "zjj")
    response = post_form(client, f"/staff/appeals/{appeal.number}/smart/dispatch", {"unit": "zjj"})
    assert response.status_code == 403


def test_the_dispatch_queue_shows_the_top_suggestion_per_row(client: TestClient, world: World, trained) -> None:
    new_appeal(world, "property")
    world.appeal("accepted", title="燃气泄漏", content="楼道里燃气泄漏，闻到很浓的煤气味。")
    world.appeal("accepted", title="燃气泄漏又发生了", content="楼道里燃气泄漏，闻到很浓的煤气味。")
    use_session(client, world, "dispatcher")
    page = client.get("/staff/appeals?queue=dispatch")
    assert page.status_code == 200
    assert "智能派单建议" in page.text and "区住房和城乡建设局" in page.text and "建议特急" in page.text
    assert "疑似重复 1" in page.text
    # The plain list has no such column.
    assert "智能派单建议" not in client.get("/staff/appeals").text


def test_the_model_page_is_for_admins_and_listed_under_admin(client: TestClient, world: World) -> None:
    use_session(client, world, "dispatcher")
    assert client.get("/staff/admin/models").status_code == 403
    use_session(client, world, "admin")
    page = client.get("/staff/admin/models")
    assert page.status_code == 200 and "尚未训练" in page.text
    assert 'href="/staff/admin/models"' in page.text


def test_retrain_from_the_archive_and_show_status_and_curves(client: TestClient, world: World) -> None:
    build_archive(world)
    use_session(client, world, "admin")
    page = post_form(client, "/staff/admin/models/train", {})
    assert page.status_code == 200, page.text
    assert 'id="train-report"' in page.text and "已启用" in page.text
    assert world.session.scalar(select(func.count(DispatchModel.id)).where(DispatchModel.status == "active")) == 3
    page = client.get("/staff/admin/models")
    assert 'id="precision-table"' in page.text and "城乡建设" in page.text and "v1" in page.text
    # A second run on the same archive is not worse, so it takes over.
    page = post_form(client, "/staff/admin/models/train", {})
    assert "v2" in page.text


def test_thresholds_form_refuses_an_unproven_threshold_and_accepts_a_proven_one(client: TestClient, world: World,
                                                                                 trained) -> None:
    use_session(client, world, "admin")
    refused = post_form(client, "/staff/admin/models/thresholds", {"category": "城乡建设", "threshold": "0.5"})
    assert refused.status_code == 422 and "无法证明准确率" in refused.text
    put_setting(world.session, sd.MIN_SUPPORT_KEY, 3)
    world.session.commit()
    ok = post_form(client, "/staff/admin/models/thresholds", {"category": "城乡建设", "threshold": "0.5"})
    assert ok.status_code == 303
    page = client.get(ok.headers["location"])
    assert "城乡建设：置信度 ≥ 0.5" in page.text
    bad = post_form(client, "/staff/admin/models/thresholds", {"category": "城乡建设", "threshold": "abc"})
    assert bad.status_code == 422 and "0.5–1" in bad.text


def test_urgency_rules_are_edited_on_the_model_page(client: TestClient, world: World) -> None:
    use_session(client, world, "admin")
    ok = post_form(client, "/staff/admin/models/urgency", {"rules": "动物|紧急|恶犬,野狗\n燃气|特急|燃气泄漏"})
    assert ok.status_code == 303
    assert sd.urgency_hint(world.session, "小区有野狗咬人").groups == ("动物",)  # type: ignore[union-attr]
    bad = post_form(client, "/staff/admin/models/urgency", {"rules": "动物|很急|恶犬"})
    assert bad.status_code == 422 and "第 1 行格式不对" in bad.text


def test_the_api_gives_the_same_suggestions(client: TestClient, world: World, trained) -> None:
    appeal = new_appeal(world, "property")
    body = client.get(f"/api/v1/appeals/{appeal.number}/smart-suggestions", headers=world.headers("dispatcher")).json()
    assert body["lead_unit"]["best"]["value"] == "zjj" and body["category"]["path"][-1] == "物业管理"
    assert body["models"] == {"category": 1, "appeal_type": 1, "lead_unit": 1}
    assert client.get(f"/api/v1/appeals/{appeal.number}/smart-suggestions",
                      headers=world.headers("cgj")).status_code == 403
