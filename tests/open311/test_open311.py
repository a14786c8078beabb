"""Open311 GeoReport v2 face: documents, intake, status mapping, privacy and malformed input."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from sudi.core import clock
from tests.factories import API_KEY, IN_G001, IN_G002, World

BASE = "/open311/v2"
SPEC_REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code",
                       "description", "agency_responsible", "service_notice", "requested_datetime",
                       "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
                       "long", "media_url"}
SPEC_SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}


# ---------------------------------------------------------------- helpers

def _xml_items(text: str, root: str, item: str) -> list[dict[str, str | None]]:
    tree = ET.fromstring(text.encode("utf-8"))
    assert tree.tag == root
    assert all(child.tag == item for child in tree)
    return [{field.tag: field.text for field in child} for child in tree]


def _services(client: TestClient) -> list[dict[str, Any]]:
    response = client.get(f"{BASE}/services.json")
    assert response.status_code == 200
    return response.json()


def _code(client: TestClient, name: str = "城管执法") -> str:
    return next(s["service_code"] for s in _services(client) if s["service_name"] == name)


def _post(client: TestClient, fmt: str = "json", **fields: Any) -> Any:
    form = {"api_key": API_KEY, "lat": str(IN_G001[0]), "long": str(IN_G001[1]),
            "description": "青檀小区3号楼前路灯坏了一个月，晚上很黑。", **fields}
    form = {k: v for k, v in form.items() if v is not None}
    return client.post(f"{BASE}/requests.{fmt}", data=form)


def _create(client: TestClient, **fields: Any) -> str:
    fields.setdefault("service_code", _code(client))
    response = _post(client, **fields)
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    return str(body[0]["service_request_id"])


def _one(client: TestClient, number: str) -> dict[str, Any]:
    response = client.get(f"{BASE}/requests/{number}.json")
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body) == 1
    return body[0]


def _ids(client: TestClient, **params: str) -> list[str]:
    response = client.get(f"{BASE}/requests.json", params=params)
    assert response.status_code == 200, response.text
    return [r["service_request_id"] for r in response.json()]


def _act(client: TestClient, world: World, who: str, number: str, **payload: Any) -> dict[str, Any]:
    response = client.post(f"/api/v1/appeals/{number}/actions", json=payload, headers=world.headers(who))
    assert response.status_code == 200, response.text
    return response.json()


def _assert_error(response: Any, status: int, fmt: str = "json") -> list[dict[str, Any]]:
    assert response.status_code == status, response.text
    if fmt == "xml":
        assert response.headers["content-type"].startswith("text/xml")
        errors = _xml_items(response.text, "errors", "error")
        assert all(e["code"] == str(status) and e["description"] for e in errors)
        return errors
    assert response.headers["content-type"].startswith("application/json")
    errors = response.json()
    assert isinstance(errors, list) and errors
    assert all(set(e) == {"code", "description"} and e["code"] == status and e["description"] for e in errors)
    return errors


# ---------------------------------------------------------------- documents

def test_discovery_lists_the_georeport_v2_endpoint(client: TestClient, world: World) -> None:
    body = client.get(f"{BASE}/discovery.json").json()
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(body)
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["type"] == "production"
    assert endpoint["url"].endswith("/open311/v2")
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    datetime.fromisoformat(body["changeset"])

    xml = client.get(f"{BASE}/discovery.xml")
    assert xml.headers["content-type"].startswith("text/xml")
    assert xml.text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(xml.content)
    assert root.tag == "discovery"
    assert root.findtext("endpoints/endpoint/specification") == "http://wiki.open311.org/GeoReport_v2"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == endpoint["formats"]


def test_services_are_the_leaf_categories_in_both_formats(client: TestClient, world: World) -> None:
    services = _services(client)
    assert {s["service_name"] for s in services} == {"城管执法", "物业管理", "噪音污染", "道路维修"}
    for s in services:
        assert set(s) == SPEC_SERVICE_FIELDS
        assert s["metadata"] is False and s["type"] == "realtime"
        assert s["description"].endswith("/" + s["service_name"])
        assert s["group"] == s["description"].split("/")[0]
    property_mgmt = next(s for s in services if s["service_name"] == "物业管理")
    assert property_mgmt["group"] == "城乡建设"
    assert property_mgmt["description"] == "城乡建设/房地产管理/物业管理"

    xml = client.get(f"{BASE}/services.xml")
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("text/xml")
    parsed = _xml_items(xml.text, "services", "service")
    assert [p["service_code"] for p in parsed] == [s["service_code"] for s in services]
    assert all(p["metadata"] == "false" for p in parsed)


def test_service_definition_and_unknown_codes(client: TestClient, world: World) -> None:
    code = _code(client)
    body = client.get(f"{BASE}/services/{code}.json").json()
    assert body == {"service_code": code, "attributes": []}
    root = ET.fromstring(client.get(f"{BASE}/services/{code}.xml").content)
    assert root.tag == "service_definition" and root.findtext("service_code") == code
    assert root.find("attributes") is not None and len(root.find("attributes")) == 0  # type: ignore[arg-type]

    _assert_error(client.get(f"{BASE}/services/NOPE.json"), 404)
    _assert_error(client.get(f"{BASE}/services/NOPE.xml"), 404, "xml")
    _assert_error(client.get(f"{BASE}/services/C0001.json"), 404)  # a parent: a group, not a service


def test_unknown_format_or_path_answers_in_spec_format(client: TestClient, world: World) -> None:
    for path in ("services.html", "requests.yaml", "discovery.", "requests/X.csv", "tokens/X.txt"):
        _assert_error(client.get(f"{BASE}/{path}"), 404)
    _assert_error(client.get(f"{BASE}/nothing-here.xml"), 404, "xml")
    _assert_error(client.put(f"{BASE}/requests.xml"), 405, "xml")
    _assert_error(client.post(f"{BASE}/requests.csv", data={"api_key": API_KEY}), 404)
    assert client.get(f"{BASE}/services.XML").status_code == 200


# ---------------------------------------------------------------- the life of a request

def test_posted_request_follows_the_appeal_through_dispatch_and_resolution(client: TestClient,
                                                                          world: World) -> None:
    code = _code(client)
    response = _post(client, service_code=code, first_name="小明", last_name="王", phone="139-1234-5678",
                     account_id="acct-42", media_url="https://img.example.com/lamp.jpg",
                     address_string="青檀路 8 号")
    assert response.status_code == 200, response.text
    [created] = response.json()
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    assert created["account_id"] == "acct-42"
    number = created["service_request_id"]
    assert number in created["service_notice"]

    staff = client.get(f"/api/v1/appeals/{number}", headers=world.headers("dispatcher")).json()
    assert staff["channel"] == "open311" and staff["category"]["code"] == code
    assert staff["content"] == "青檀小区3号楼前路灯坏了一个月，晚上很黑。"
    assert staff["title"] == "青檀小区3号楼前路灯坏了一个月，晚上很黑。"[:30]
    assert staff["citizen"]["name"] == "王小明" and staff["citizen"]["phone"] == "13912345678"
    assert staff["grid"] == "G001" and staff["address"] == "青檀路 8 号"
    create_event = staff["events"][0]
    assert create_event["data"]["open311"]["media_url"] == "https://img.example.com/lamp.jpg"

    item = _one(client, number)
    assert set(item) == SPEC_REQUEST_FIELDS
    assert item["service_code"] == code and item["service_name"] == "城管执法"
    assert item["status"] == "open" and item["expected_datetime"] is None
    assert item["agency_responsible"] is None
    assert item["lat"] == IN_G001[0] and item["long"] == IN_G001[1]
    assert item["address"] == "青檀路 8 号" and item["media_url"] == "https://img.example.com/lamp.jpg"
    assert item["requested_datetime"].endswith("+08:00")
    assert number in _ids(client)

    _act(client, world, "dispatcher", number, action="accept")
    dispatched = _act(client, world, "dispatcher", number, action="dispatch", unit="zjj")
    item = _one(client, number)
    assert item["status"] == "open"
    due = datetime.fromisoformat(dispatched["deadlines"]["resolve"]["due"]).replace(microsecond=0)
    assert item["expected_datetime"].endswith("+08:00")
    assert datetime.fromisoformat(item["expected_datetime"]) == due
    assert item["agency_responsible"] == "区住房和城乡建设局"
    assert item["status_notes"] == "已转交承办单位办理"
    updated, requested = item["updated_datetime"], item["requested_datetime"]
    assert datetime.fromisoformat(updated) >= datetime.fromisoformat(requested)

    _act(client, world, "zjj", number, action="acknowledge")
    assert _one(client, number)["status"] == "open"
    _act(client, world, "zjj", number, action="resolve",
         reply="经现场核查，已更换路灯，现已恢复照明，联系人王小明。")
    item = _one(client, number)
    assert item["status"] == "closed"
    assert item["status_notes"].startswith("经现场核查，已更换路灯")
    assert "王小明" not in item["status_notes"]
    assert number in _ids(client, status="closed") and number not in _ids(client, status="open")


def test_states_map_to_open_and_closed(client: TestClient, world: World) -> None:
    expected = {"received": "open", "accepted": "open", "triaged": "open", "dispatched": "open",
                "returned": "open", "acknowledged": "open", "merged": "open", "resolved": "closed",
                "followed_up": "closed", "archived": "closed", "rejected": "closed"}
    numbers = {state: world.appeal(state).number for state in expected}
    for state, status in expected.items():
        assert _one(client, numbers[state])["status"] == status, state
    rejected = _one(client, numbers["rejected"])
    assert rejected["status_notes"] == "不予受理：不属于受理范围"
    _act(client, world, "supervisor", numbers["rejected"], action="archive")
    assert _one(client, numbers["rejected"])["status_notes"] == "不予受理：不属于受理范围"

    # A merged follower closes when its master is resolved.
    follower = world.appeal("merged")
    master_number = client.get(f"/api/v1/appeals/{follower.number}",
                               headers=world.headers("dispatcher")).json()["master"]
    _act(client, world, "dispatcher", master_number, action="dispatch", unit="zjj")
    _act(client, world, "zjj", master_number, action="acknowledge")
    _act(client, world, "zjj", master_number, action="resolve", reply="已经统一处理完毕，路灯恢复正常。")
    assert _one(client, follower.number)["status"] == "closed"


def test_tokens_resolve_to_the_request_id(client: TestClient, world: World) -> None:
    number = _create(client)
    assert client.get(f"{BASE}/tokens/{number}.json").json() == [{"service_request_id": number,
                                                                  "token": number}]
    parsed = _xml_items(client.get(f"{BASE}/tokens/{number}.xml").text, "service_requests", "request")
    assert parsed == [{"service_request_id": number, "token": number}]
    _assert_error(client.get(f"{BASE}/tokens/YC00000000-99999.json"), 404)


# ---------------------------------------------------------------- POST validation

def test_api_key_is_required(client: TestClient, world: World) -> None:
    code = _code(client)
    errors = _assert_error(_post(client, service_code=code, api_key=None), 403)
    assert "api_key" in errors[0]["description"]
    _assert_error(_post(client, "xml", service_code=code, api_key="wrong"), 403, "xml")
    _assert_error(_post(client, service_code=code, api_key=""), 403)
    assert client.get(f"{BASE}/requests.json").json() == []


def test_service_code_must_be_a_listed_service(client: TestClient, world: World) -> None:
    for bad in ("NOPE", "C0001", "城乡建设/房地产管理/物业管理", ""):
        errors = _assert_error(_post(client, service_code=bad), 400)
        assert any("service_code" in e["description"] for e in errors)
    _assert_error(_post(client, "xml", service_code=None), 400, "xml")


def test_a_location_is_required_in_one_of_three_forms(client: TestClient, world: World) -> None:
    code = _code(client)
    errors = _assert_error(_post(client, service_code=code, lat=None, long=None), 400)
    assert any("location" in e["description"] for e in errors)
    _assert_error(_post(client, service_code=code, long=None), 400)
    for lat, lon in (("abc", "117.5"), ("nan", "117.5"), ("1e999", "117.5"), ("91", "117.5"),
                     ("34.7", "-181"), ("34,7", "117.5")):
        _assert_error(_post(client, service_code=code, lat=lat, long=lon), 400)

    by_address = _create(client, lat=None, long=None, address_string="吴林街道金寺社区")
    item = _one(client, by_address)
    assert item["address"] == "吴林街道金寺社区" and item["lat"] is None and item["long"] is None
    by_id = _create(client, lat=None, long=None, address_id="ADDR-0815")
    assert _one(client, by_id)["address_id"] == "ADDR-0815"


def test_description_is_required_and_bounded(client: TestClient, world: World) -> None:
    code = _code(client)
    _assert_error(_post(client, service_code=code, description=None), 400)
    _assert_error(_post(client, service_code=code, description="   \n "), 400)
    _assert_error(_post(client, service_code=code, description="长" * 20_001), 400)
    _assert_error(_post(client, service_code=code, description="x" * 1_100_000), 400)
    number = _create(client, description="长" * 20_000)
    assert len(_one(client, number)["description"]) == 20_000
    staff = client.get(f"/api/v1/appeals/{number}", headers=world.headers("dispatcher")).json()
    assert staff["title"] == "长" * 29 + "…"


def test_every_bad_field_is_reported_at_once(client: TestClient, world: World) -> None:
    errors = _assert_error(_post(client, service_code="NOPE", lat="x", long="y", description="",
                                 email="not-an-address", phone="12", media_url="javascript:alert(1)"), 400)
    text = " ".join(e["description"] for e in errors)
    for name in ("service_code", "lat", "long", "description", "email", "phone", "media_url"):
        assert name in text


def test_json_and_multipart_bodies_and_query_string_key(client: TestClient, world: World) -> None:
    code = _code(client)
    response = client.post(f"{BASE}/requests.json", json={
        "api_key": API_KEY, "service_code": code, "lat": IN_G002[0], "long": IN_G002[1],
        "description": "噪音扰民", "attribute": {"WHEN": "夜间"}})
    assert response.status_code == 200, response.text
    item = _one(client, response.json()[0]["service_request_id"])
    assert item["lat"] == IN_G002[0] and item["description"] == "噪音扰民"

    response = client.post(f"{BASE}/requests.json", files={"service_code": (None, code),
                                                          "api_key": (None, API_KEY),
                                                          "address_string": (None, "青檀路"),
                                                          "description": (None, "多部分表单")})
    assert response.status_code == 200, response.text

    response = client.post(f"{BASE}/requests.json?api_key={API_KEY}",
                           data={"service_code": code, "address_string": "青檀路",
                                 "description": "钥匙在查询串", "attribute[WHEN][]": "夜间"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("content_type, body", [
    ("application/json", b"["),
    ("application/json", b"[1, 2]"),
    ("application/json", b'{"description": {"nested": 1}}'),
    ("application/json", b"[" * 100_000 + b"]" * 100_000),
    ("application/json", b"\xff\xfe"),
    ("application/json", b""),
    ("application/x-www-form-urlencoded", b""),
    ("application/x-www-form-urlencoded", b"%ZZ=%ZZ&&&=="),
    ("application/x-www-form-urlencoded", "&".join(f"f{i}=1" for i in range(1000)).encode()),
    ("multipart/form-data; boundary=xyz", b"--xyz\r\nbroken"),
    ("multipart/form-data; boundary=xyz",
     b'--xyz\r\nContent-Disposition: form-data; name="media"; filename="a.jpg"\r\n\r\nJPEG\r\n--xyz--\r\n'),
    ("text/plain", b"\x00\x01\x02"),
    ("", b"api_key=" + API_KEY.encode()),
])
def test_malformed_posts_get_spec_errors_not_500(client: TestClient, world: World, content_type: str,
                                                 body: bytes) -> None:
    headers = {"content-type": content_type} if content_type else {}
    for fmt in ("json", "xml"):
        response = client.post(f"{BASE}/requests.{fmt}", content=body, headers=headers)
        assert 400 <= response.status_code < 500, response.text
        _assert_error(response, response.status_code, fmt)


def test_unsafe_characters_in_posts_are_dropped_not_fatal(client: TestClient, world: World) -> None:
    code = _code(client)
    raw = json.dumps({"api_key": API_KEY, "service_code": code, "address_string": "青檀路\x00",
                      "description": "路灯\ud800坏了\x07\x00"}).encode()
    response = client.post(f"{BASE}/requests.json", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    number = response.json()[0]["service_request_id"]
    assert _one(client, number)["description"] == "路灯坏了"
    ET.fromstring(client.get(f"{BASE}/requests/{number}.xml").content)


# ---------------------------------------------------------------- GET requests

def test_xml_escapes_markup_in_text(client: TestClient, world: World) -> None:
    text = "<script>alert('x')</script> & \"路灯\" ]]> <![CDATA[x]]>"
    number = _create(client, description=text)
    response = client.get(f"{BASE}/requests/{number}.xml")
    assert response.status_code == 200
    assert "<script>" not in response.text and "&lt;script&gt;" in response.text
    [item] = _xml_items(response.text, "service_requests", "request")
    assert item["description"] == text
    listed = _xml_items(client.get(f"{BASE}/requests.xml").text, "service_requests", "request")
    assert [i["description"] for i in listed if i["service_request_id"] == number] == [text]
    assert client.get(f"{BASE}/requests/{number}.json").json()[0]["description"] == text


def test_filters_by_status_service_code_ids_and_date_window(client: TestClient, world: World) -> None:
    lamp, noise = _code(client, "城管执法"), _code(client, "噪音污染")
    now = clock.now()
    fresh = world.appeal("received", category=lamp, received_at=now - timedelta(days=10)).number
    closed = world.appeal("resolved", category=noise, received_at=now - timedelta(days=20)).number
    old = world.appeal("received", category=lamp, received_at=now - timedelta(days=120)).number
    mine = _create(client, service_code=noise)

    default = _ids(client)
    assert set(default) == {fresh, closed, mine}
    assert default[0] == mine  # newest first
    assert set(_ids(client, status="open")) == {fresh, mine}
    assert set(_ids(client, status="closed")) == {closed}
    assert set(_ids(client, status="open,closed")) == {fresh, closed, mine}
    assert set(_ids(client, service_code=lamp)) == {fresh}
    assert set(_ids(client, service_code=f"{lamp},{noise}")) == {fresh, closed, mine}
    assert set(_ids(client, service_code=noise, status="open")) == {mine}
    assert _ids(client, service_code="NOPE") == []

    def w3c(moment: datetime) -> str:
        return clock.local(moment).isoformat(timespec="seconds")

    old_window = {"start_date": w3c(now - timedelta(days=130)), "end_date": w3c(now - timedelta(days=100))}
    assert _ids(client, **old_window) == [old]
    assert set(_ids(client, start_date=w3c(now - timedelta(days=15)))) == {fresh, mine}
    assert set(_ids(client, end_date=w3c(now - timedelta(days=15)))) == {closed}
    utc = (now - timedelta(days=125)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _ids(client, start_date=utc, end_date=w3c(now - timedelta(days=115))) == [old]
    day = clock.local(now - timedelta(days=120)).date().isoformat()
    assert _ids(client, start_date=day, end_date=day) == [old]
    # A '+' offset sent unencoded arrives as a space; read it as the client meant it.
    unencoded = w3c(now - timedelta(days=130)).replace("+", " ")
    assert _ids(client, start_date=unencoded, end_date=w3c(now - timedelta(days=100))) == [old]

    # An id list overrides every other argument, the old appeal included.
    assert set(_ids(client, service_request_id=f"{old},{fresh},NOPE", status="closed")) == {old, fresh}

    span = {"start_date": w3c(now - timedelta(days=200)), "end_date": w3c(now)}
    assert "90 days" in _assert_error(client.get(f"{BASE}/requests.json", params=span), 400)[0]["description"]
    backwards = {"start_date": w3c(now), "end_date": w3c(now - timedelta(days=1))}
    _assert_error(client.get(f"{BASE}/requests.xml", params=backwards), 400, "xml")


@pytest.mark.parametrize("query", [
    {"start_date": "yesterday"}, {"end_date": "2026-13-45"}, {"start_date": "0001-01-01T00:00:00+14:00"},
    {"end_date": "9999-12-31T23:59:59-12:00"}, {"start_date": "2026-11-01T25:00:00+08:00"},
    {"status": "pending"}, {"service_request_id": ",".join(str(i) for i in range(1001))},
    {"service_code": ",".join(f"C{i}" for i in range(101))},
])
def test_bad_query_parameters_are_400(client: TestClient, world: World, query: dict[str, str]) -> None:
    _assert_error(client.get(f"{BASE}/requests.json", params=query), 400)
    _assert_error(client.get(f"{BASE}/requests.xml", params=query), 400, "xml")


def test_odd_but_harmless_lookups(client: TestClient, world: World) -> None:
    _assert_error(client.get(f"{BASE}/requests/{'9' * 5000}.json"), 404)
    _assert_error(client.get(f"{BASE}/requests/%FF%00.xml"), 404, "xml")
    assert client.get(f"{BASE}/requests.json", params={"service_request_id": " , ,"}).status_code == 200
    assert client.get(f"{BASE}/requests.json?service_code=&status=&start_date=").status_code == 200


def test_no_personal_data_in_any_get_output(client: TestClient, world: World) -> None:
    staff_made = world.appeal("resolved", content="我叫张三，电话 13812345678，身份证 110101199003074514。")
    number = _create(client, first_name="小明", last_name="王", phone="13912345678", email="wxm@example.com",
                     account_id="acct-7", device_id="device-7",
                     description="我是王小明，手机13912345678，座机0632-1234567，请尽快处理。")
    secrets = ["13912345678", "13812345678", "王小明", "张三", "wxm@example.com", "0632-1234567",
               "110101199003074514", "acct-7", "device-7", "1234567"]
    outputs = []
    for fmt in ("json", "xml"):
        outputs += [client.get(f"{BASE}/requests.{fmt}").text,
                    client.get(f"{BASE}/requests/{number}.{fmt}").text,
                    client.get(f"{BASE}/requests/{staff_made.number}.{fmt}").text,
                    client.get(f"{BASE}/requests.{fmt}", params={"service_request_id": number}).text,
                    client.get(f"{BASE}/tokens/{number}.{fmt}").text]
    for text in outputs:
        for secret in secrets:
            assert secret not in text, (secret, text)
    item = _one(client, number)
    assert "139****5678" in item["description"] and "王**" in item["description"]


# ---------------------------------------------------------------- a generic client

class GenericGeoReportClient:
    """Behaves like an off-the-shelf Open311 client: discovers, then uses only the spec's fields."""

    def __init__(self, http: TestClient, discovery_url: str, fmt: str) -> None:
        self.http, self.fmt = http, fmt
        body = self._get(discovery_url)
        endpoint = next(e for e in body["endpoints"]
                        if e["specification"] == "http://wiki.open311.org/GeoReport_v2"
                        and e["type"] == "production")
        assert {"json": "application/json", "xml": "text/xml"}[fmt] in endpoint["formats"]
        self.url = endpoint["url"]

    def _parse(self, text: str) -> Any:
        if self.fmt == "json":
            return json.loads(text)
        root = ET.fromstring(text.encode("utf-8"))

        def value(element: ET.Element) -> Any:
            if len(element) == 0:
                return element.text
            if element.tag in ("endpoints", "formats", "attributes", "values"):
                return [value(c) for c in element]
            return {c.tag: value(c) for c in element}

        if root.tag in ("services", "service_requests", "errors"):
            return [value(c) for c in root]
        return value(root)

    def _get(self, url: str, **params: str) -> Any:
        response = self.http.get(url, params=params)
        assert response.status_code == 200, response.text
        return self._parse(response.text)

    def services(self) -> list[dict[str, Any]]:
        return self._get(f"{self.url}/services.{self.fmt}")

    def definition(self, code: str) -> dict[str, Any]:
        return self._get(f"{self.url}/services/{code}.{self.fmt}")

    def submit(self, **fields: str) -> dict[str, Any]:
        response = self.http.post(f"{self.url}/requests.{self.fmt}", content=urlencode(fields),
                                  headers={"content-type": "application/x-www-form-urlencoded"})
        assert response.status_code == 200, response.text
        return self._parse(response.text)[0]

    def request_id(self, token: str) -> str:
        return self._get(f"{self.url}/tokens/{token}.{self.fmt}")[0]["service_request_id"]

    def request(self, request_id: str) -> dict[str, Any]:
        return self._get(f"{self.url}/requests/{request_id}.{self.fmt}")[0]

    def requests(self, **params: str) -> list[dict[str, Any]]:
        return self._get(f"{self.url}/requests.{self.fmt}", **params)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_generic_client_walks_the_flow(client: TestClient, world: World, fmt: str) -> None:
    geo = GenericGeoReportClient(client, f"http://testserver{BASE}/discovery.{fmt}", fmt)
    service = next(s for s in geo.services() if s["service_name"] == "道路维修")
    assert set(service) >= SPEC_SERVICE_FIELDS
    if service["metadata"] in (True, "true"):
        geo.definition(service["service_code"])  # a client would render the attributes here
    assert geo.definition(service["service_code"])["service_code"] == service["service_code"]

    receipt = geo.submit(api_key=API_KEY, service_code=service["service_code"], lat=str(IN_G002[0]),
                         long=str(IN_G002[1]), address_string="吴林街道金寺路口",
                         description="金寺路口有个大坑，电动车容易摔倒。", email="someone@example.com",
                         first_name="Lei", last_name="Li", phone="13700000000", device_id="dev-1")
    request_id = receipt.get("service_request_id") or geo.request_id(receipt["token"])
    assert request_id

    request = geo.request(request_id)
    assert set(request) >= SPEC_REQUEST_FIELDS
    assert request["service_code"] == service["service_code"]
    assert request["status"] == "open"
    assert request["expected_datetime"] in (None, "")
    assert datetime.fromisoformat(request["requested_datetime"]).utcoffset() == timedelta(hours=8)
    assert float(request["lat"]) == IN_G002[0] and float(request["long"]) == IN_G002[1]
    listed = geo.requests(service_code=service["service_code"], status="open")
    assert [r["service_request_id"] for r in listed] == [request_id]

    _act(client, world, "dispatcher", request_id, action="accept")
    _act(client, world, "dispatcher", request_id, action="dispatch", unit="zjj")
    assert geo.request(request_id)["expected_datetime"]
    _act(client, world, "zjj", request_id, action="acknowledge")
    _act(client, world, "zjj", request_id, action="resolve", reply="已安排道路养护队修补坑槽，现已平整。")
    closed = geo.request(request_id)
    assert closed["status"] == "closed" and closed["status_notes"]
    assert [r["service_request_id"] for r in geo.requests(status="closed")] == [request_id]


def test_reports_of_wrongdoing_are_never_listed(client, world) -> None:  # type: ignore[no-untyped-def]
    report = world.appeal("accepted", appeal_type="report", title="举报某餐馆使用地沟油")
    listed = client.get("/open311/v2/requests.json").json()
    assert report.number not in {r["service_request_id"] for r in listed}
    assert client.get(f"/open311/v2/requests/{report.number}.json").status_code == 404
