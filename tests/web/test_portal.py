"""The citizens' portal: submitting, similar appeals and support, following, the guide, the
public list of resolved appeals, and the district map's GeoJSON."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sudi.appeals import service
from sudi.appeals.models import Appeal, AppealEvent, Attachment
from sudi.core.models import put_setting
from sudi.directory.service import SYSTEM
from tests.factories import World
from tests.web.helpers import POINT_IN_DISTRICT, csrf, post_form, submission_form, track

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def _appeals(world: World) -> list[Appeal]:
    world.session.rollback()  # end the read snapshot: see what the app committed
    return list(world.session.scalars(select(Appeal).order_by(Appeal.id)))


def _credentials(html: str) -> tuple[str, str]:
    number = re.search(r'id="appeal-number">([^<]+)<', html)
    code = re.search(r'id="query-code">([^<]+)<', html)
    assert number and code, html
    return number.group(1), code.group(1)


# ---------------------------------------------------------------- pages

def test_the_home_page_offers_submit_follow_and_guide(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    for href in ('href="/submit"', 'href="/track"', 'href="/guide"'):
        assert href in page.text
    assert 'class="skip-link" href="#main"' in page.text and '<main id="main"' in page.text
    assert 'href="/resolved"' not in page.text  # the public list is off by default


def test_the_submit_form_is_labelled_and_has_the_map(client: TestClient) -> None:
    page = client.get("/submit").text
    for name in ("title", "content", "address", "citizen_name", "citizen_phone", "photos", "is_anonymous"):
        assert f'for="f-{name}"' in page and f'id="f-{name}"' in page, name
    assert 'data-geojson="/api/v1/public/territory"' in page and "示意" in page
    assert 'id="use-location"' in page and 'type="file"' in page and "multiple" in page
    assert 'hx-get="/submit/similar"' in page


# ---------------------------------------------------------------- submitting

def test_submit_creates_the_appeal_and_shows_number_and_code_once(client: TestClient, world: World) -> None:
    form = submission_form(client, lat=str(POINT_IN_DISTRICT[0]), lon=str(POINT_IN_DISTRICT[1]))
    response = post_form(client, "/submit", form, files=[("photos", ("现场.png", PNG, "image/png")),
                                                         ("photos", ("b.png", PNG + b"1", "image/png"))])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    number, code = _credentials(response.text)
    assert "只在这里显示一次" in response.text
    (appeal,) = _appeals(world)
    assert appeal.number == number and appeal.channel == "web" and appeal.grid is not None
    assert appeal.citizen_phone == "13812345678" and appeal.address == "青檀路幸福小区3号楼"
    assert code == service.query_code_for(world.session, number)
    assert world.session.scalar(select(func.count(Attachment.id))) == 2
    assert "已上传照片 2 张" in response.text


def test_double_submission_creates_one_appeal(client: TestClient, world: World) -> None:
    form = submission_form(client)
    first = post_form(client, "/submit", form, files=[("photos", ("a.png", PNG, "image/png"))])
    second = post_form(client, "/submit", form, files=[("photos", ("a.png", PNG, "image/png"))])
    assert first.status_code == second.status_code == 200
    assert _credentials(first.text) == _credentials(second.text)
    assert len(_appeals(world)) == 1
    assert world.session.scalar(select(func.count(Attachment.id))) == 1
    assert "已经提交过" in second.text
    # a new rendering of the form is a new key: a second, different appeal is fine
    post_form(client, "/submit", submission_form(client, title="井盖缺失"))
    assert len(_appeals(world)) == 2


def test_missing_fields_get_messages_next_to_them_and_values_are_kept(client: TestClient, world: World) -> None:
    form = submission_form(client, title="", content="太短", citizen_name="", citizen_phone="123")
    response = post_form(client, "/submit", form)
    assert response.status_code == 422
    text = response.text
    assert 'id="f-title-error"' in text and "请填写标题" in text
    assert 'id="f-content-error"' in text and "至少 10 个字" in text
    assert 'id="f-citizen_name-error"' in text and "请填写姓名" in text
    assert 'id="f-citizen_phone-error"' in text and "联系电话格式不正确" in text
    assert 'aria-invalid="true"' in text and 'id="error-summary"' in text and "请修改以下 4 处" in text
    assert ">太短</textarea>" in text and 'value="青檀路幸福小区3号楼"' in text
    assert f'name="idempotency_key" value="{form["idempotency_key"]}"' in text  # same form, same key
    assert _appeals(world) == []


def test_anonymous_needs_no_contact_and_stores_none(client: TestClient, world: World) -> None:
    response = post_form(client, "/submit", submission_form(client, citizen_name="张三", citizen_phone="x",
                                                            is_anonymous="on"))
    assert response.status_code == 200, response.text
    (appeal,) = _appeals(world)
    assert appeal.is_anonymous and appeal.citizen_name == "" and appeal.citizen_phone == ""


def test_a_point_outside_the_district_or_a_bad_photo_is_refused(client: TestClient, world: World) -> None:
    response = post_form(client, "/submit", submission_form(client, lat="39.9", lon="116.4"),
                         files=[("photos", ("x.png", b"not an image at all", "image/png"))])
    assert response.status_code == 422
    assert 'id="f-location-error"' in response.text and "不在本区范围内" in response.text
    assert 'id="f-photos-error"' in response.text and "不是 JPEG" in response.text
    assert _appeals(world) == []
    half = post_form(client, "/submit", submission_form(client, lat="34.7", lon=""))
    assert half.status_code == 422 and "地图位置无效" in half.text


def test_too_many_photos_are_refused_before_anything_is_created(client: TestClient, world: World, settings) -> None:  # type: ignore[no-untyped-def]
    files = [("photos", (f"{n}.png", PNG + bytes([n]), "image/png"))
             for n in range(settings.max_attachments_per_appeal + 1)]
    response = post_form(client, "/submit", submission_form(client), files=files)
    assert response.status_code == 422 and "最多上传" in response.text
    assert _appeals(world) == []


# ---------------------------------------------------------------- following

def test_track_shows_the_public_timeline_and_escapes_the_text(client: TestClient, world: World) -> None:
    evil = "<script>alert('x')</script>"
    created = client.post("/api/v1/public/appeals", json={"title": evil, "content": evil + " 楼道灯坏了很久"}).json()
    page = track(client, created["number"], created["query_code"].lower())
    assert page.status_code == 200
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text
    assert "<script>alert(" not in page.text
    assert "诉求已提交" in page.text and created["number"] in page.text
    assert created["query_code"] not in page.text and created["query_code"] not in str(page.url)


def test_track_refuses_a_wrong_code_like_an_unknown_number(client: TestClient, world: World) -> None:
    appeal = world.appeal("received")
    wrong = post_form(client, "/track", {"number": appeal.number, "query_code": "WRONG123"})
    unknown = post_form(client, "/track", {"number": "YC20000101-99999", "query_code": "WRONG123"})
    assert wrong.status_code == unknown.status_code == 422
    assert "编号或查询码不正确" in wrong.text and "编号或查询码不正确" in unknown.text
    # without the code cookie the page sends the citizen to the form
    bare = client.get(f"/track/{appeal.number}", follow_redirects=False)
    assert bare.status_code == 303 and bare.headers["location"] == f"/track?number={appeal.number}"


def test_the_query_code_cookie_is_scoped_to_the_appeal(client: TestClient, world: World) -> None:
    appeal = world.appeal("received")
    code = service.query_code_for(world.session, appeal.number)
    response = post_form(client, "/track", {"number": appeal.number, "query_code": code})
    cookie = response.headers["set-cookie"]
    assert f"Path=/track/{appeal.number}" in cookie and "HttpOnly" in cookie


# ---------------------------------------------------------------- similar appeals and support

def test_similar_open_appeals_are_offered_without_personal_data(client: TestClient, world: World) -> None:
    same = world.appeal("dispatched", title="青檀小区路灯不亮 电话13812345678")
    world.appeal("received", title="青檀小区路灯不亮", appeal_type="report")  # 举报: never shown
    done = world.appeal("resolved", title="青檀小区路灯不亮了")               # closed: not offered
    world.appeal("received", title="学校门口交通拥堵")                        # unrelated
    panel = client.get("/submit/similar", params={"title": "青檀小区的路灯不亮", "content": ""})
    assert panel.status_code == 200
    assert same.number in panel.text and done.number not in panel.text
    assert "138****5678" in panel.text and "13812345678" not in panel.text and "张三" not in panel.text
    assert panel.text.count('hx-post="/support/') == 1
    assert client.get("/submit/similar", params={"title": "交"}).text.strip() == ""


def test_similar_prefers_a_nearby_appeal(world: World) -> None:
    near = world.appeal("received", title="路面塌陷有坑", point=POINT_IN_DISTRICT)
    far = world.appeal("received", title="路面塌陷有坑", point=(34.70, 117.66))
    found = service.similar_open_appeals(world.session, "路面塌陷", "", *POINT_IN_DISTRICT)
    assert [f.number for f in found][:2] == [near.number, far.number]
    assert found[0].near and not found[1].near


def test_support_counts_once_per_browser_and_stores_nothing_personal(client: TestClient, world: World) -> None:
    appeal = world.appeal("dispatched")
    headers = {"X-CSRF-Token": csrf(client)}
    assert "共 1 位" in client.post(f"/support/{appeal.number}", headers=headers).text
    assert "共 1 位" in client.post(f"/support/{appeal.number}", headers=headers).text
    other = TestClient(client.app)
    assert "共 2 位" in other.post(f"/support/{appeal.number}", headers={"X-CSRF-Token": csrf(other)}).text
    world.session.rollback()
    events = world.session.scalars(select(AppealEvent).where(AppealEvent.action == "support")).all()
    assert len(events) == 2 and all(set(e.data) == {"supporter"} and e.public_note is None for e in events)
    closed = world.appeal("resolved")
    refused = client.post(f"/support/{closed.number}", headers=headers)
    assert refused.status_code == 200 and "不能附议" in refused.text


# ---------------------------------------------------------------- guide, public list, map

def test_the_guide_reads_the_time_limits_from_the_policy_table(client: TestClient, world: World) -> None:
    service.set_time_limit_policy(world.session, SYSTEM, name="默认", appeal_kind=None, urgency=None,
                                  appeal_type=None, acknowledge_amount=3, acknowledge_unit="hours",
                                  resolve_amount=7, resolve_unit="working_days")
    page = client.get("/guide").text
    assert "3 小时" in page and "7 个工作日" in page
    assert "发展诉求·绿色通道" in page and 'id="privacy"' in page


def test_the_public_resolved_list_follows_the_admin_setting(client: TestClient, world: World) -> None:
    assert client.get("/resolved").status_code == 404
    shown = world.appeal("followed_up", title="路灯维修", content="电话 13812345678，身份证号见附件",
                         citizen_name="李四")
    world.appeal("resolved", title="举报黑作坊", appeal_type="report")
    world.appeal("received", title="尚未办结")
    service.set_admin_setting(world.session, world.actor("admin"), "public_resolved_list", True)
    page = client.get("/resolved")
    assert page.status_code == 200
    assert "路灯维修" in page.text and "138****5678" in page.text and "13812345678" not in page.text
    assert "举报黑作坊" not in page.text and "尚未办结" not in page.text
    assert "李四" not in page.text and shown.number not in page.text
    assert "共 1 件" in page.text
    assert 'href="/resolved"' in client.get("/").text
    assert client.get("/resolved?page=abc").status_code == 200


def test_the_public_list_paginates(client: TestClient, world: World) -> None:
    with world.session.begin():
        put_setting(world.session, "public_resolved_list", True)
    for n in range(21):
        world.appeal("resolved", title=f"第{n}件已办结")
    first, second = client.get("/resolved").text, client.get("/resolved?page=2").text
    assert "第 1 / 2 页" in first and 'href="/resolved?page=2"' in first
    assert second.count('class="case"') == 1


def test_the_public_list_shows_the_newest_cases_up_to_its_limit(client: TestClient, world: World,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "PUBLIC_RESOLVED_LIMIT", 20)
    with world.session.begin():
        put_setting(world.session, "public_resolved_list", True)
    for n in range(23):
        world.appeal("resolved", title=f"第{n}件已办结")
    first = client.get("/resolved").text
    assert "公示最近办结的 20 件" in first and "第 1 / 1 页" not in first and 'rel="next"' not in first
    assert client.get("/resolved?page=2").status_code == 200
    assert 'class="case"' not in client.get("/resolved?page=2").text


def test_only_the_admin_may_change_portal_settings(world: World) -> None:
    from sudi.core.errors import Forbidden, InvalidInput

    with pytest.raises(Forbidden):
        service.set_admin_setting(world.session, world.actor("dispatcher"), "public_resolved_list", True)
    with pytest.raises(InvalidInput):
        service.set_admin_setting(world.session, world.actor("admin"), "public_resolved_list", "yes")
    with pytest.raises(InvalidInput):
        service.set_admin_setting(world.session, world.actor("admin"), "secret_key", "x")


def test_the_territory_geojson_is_public_and_drawn_from_the_grids(client: TestClient) -> None:
    response = client.get("/api/v1/public/territory")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/geo+json")
    features = response.json()["features"]
    levels = [(f["properties"]["level"], f["properties"]["name"]) for f in features]
    assert levels[0] == ("district", "区人民政府")
    assert {name for level, name in levels if level == "town"} == {"坛山街道", "吴林街道"}
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in features)
