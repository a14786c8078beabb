"""Malformed input on every endpoint: never a 500, and every 4xx is the bilingual JSON error.

Every route under /api/v1 and /healthz is found by walking ``app.routes`` (Open311 has its own
error format and its own tests) and gets a battery of bad input, as an authenticated admin and
as nobody: broken JSON, JSON of the wrong type, missing and extra fields, 100k-character strings,
nulls, negative/NaN/huge numbers, impossible dates, unknown enum values, odd path parameters and
garbage query parameters. Hypothesis then throws random JSON at the two busiest write endpoints.

The named tests after the battery pin down each distinct 500 the battery found, so a failure
says which input breaks which endpoint.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from sudi.app import create_app
from sudi.appeals import service
from sudi.core.config import Settings
from sudi.directory.service import login_throttle
from tests import module_world
from tests.factories import API_KEY, IN_G001, World
from tests.routes import walk_routes

# ---------------------------------------------------------------- the routes


def _routes() -> list[tuple[str, str, APIRoute]]:
    app = create_app(Settings(database_url="sqlite://"))
    found = []
    for path, route in walk_routes(list(app.routes)):
        if path.startswith("/open311"):
            continue
        if path.startswith("/api/v1/") or path == "/healthz":
            found.extend((method, path, route) for method in sorted(route.methods or ()) if method != "HEAD")
    app.state.engine.dispose()
    return sorted(found, key=lambda r: (r[1], r[0]))


ROUTES = _routes()
ROUTE_IDS = [f"{method} {path}" for method, path, _ in ROUTES]


def test_route_walk_finds_every_documented_operation() -> None:
    app = create_app(Settings(database_url="sqlite://"))
    documented = {(method.upper(), path) for path, ops in app.openapi()["paths"].items()
                  if not path.startswith("/open311") for method in ops}
    app.state.engine.dispose()
    assert documented <= {(method, path) for method, path, _ in ROUTES}
    assert len(ROUTES) >= 20


# ---------------------------------------------------------------- the battery

HUGE = "长" * 100_000
LONG_PATH = "x" * 10_000

# Each value goes in place of one JSON field.
BAD_VALUES: list[tuple[str, Any]] = [
    ("null", None), ("huge string", HUGE), ("negative", -1), ("huge int", 10**30), ("NaN", math.nan),
    ("Infinity", math.inf), ("bad date", "2026-02-30T25:61:00"),
    ("year 1", "0001-01-01T00:00:00+08:00"), ("year 9999", "9999-12-31T23:59:59+08:00"),
    ("unknown enum", "no_such_value"), ("list", [1, "a", None]), ("object", {"a": {"b": []}}),
    ("bool", True), ("NUL", "a\x00b"), ("emoji", "😀" * 50), ("empty", ""), ("blank", "   "),
]

# Raw bodies with a JSON content type.
RAW_BODIES: list[tuple[str, bytes]] = [
    ("broken JSON", b'{"title": "t",'), ("not JSON", b"title=t&content=c"), ("empty body", b""),
    ("binary", b"\xff\xfe\x00\x01\x80"), ("deep nesting", b"[" * 50_000 + b"]" * 50_000),
    ("BOM", b"\xef\xbb\xbf{}"), ("trailing garbage", b"{} {}"),
]

WRONG_TYPES: list[tuple[str, Any]] = [("list", []), ("string", "appeal"), ("number", 42), ("null", None),
                                      ("bool", False), ("float", 1.5)]

# Each value goes in place of one query parameter.
BAD_QUERY: list[tuple[str, str]] = [
    ("empty", ""), ("NUL", "\x00"), ("long", "q" * 10_000), ("emoji", "😀"), ("negative", "-1"),
    ("NaN", "NaN"), ("huge", "1e309"), ("huge int", "9" * 40), ("year 9999", "9999-12-31"),
    ("year 1", "0001-01-01"), ("bad date", "2026-13-45"), ("aware 9999", "9999-12-31T23:59:59+14:00"),
    ("brackets", "[]"), ("percent", "%_%"),
]

# Each value goes in place of one path parameter (already URL-encoded where it matters).
BAD_PATH: list[tuple[str, str]] = [
    ("NUL", "%00"), ("dot-dot", "..%2F..%2Fetc%2Fpasswd"), ("dot-dot raw", "../../etc"),
    ("long", LONG_PATH), ("emoji", quote("😀")), ("invalid UTF-8", "%FF%FE"), ("space", "%20"),
    ("SQL", quote("1' OR '1'='1", safe="")), ("negative", "-1"), ("huge int", "9" * 40),
    ("NaN", "NaN"), ("script", quote("<script>", safe="")), ("backslash", "%5C"),
]

HEADERS_GARBAGE: list[tuple[str, dict[str, str]]] = [
    ("bearer garbage", {"Authorization": "Bearer " + "x" * 500}), ("basic auth", {"Authorization": "Basic YTpi"}),
    ("empty bearer", {"Authorization": "Bearer "}), ("cookie garbage", {"Cookie": "sudi_token=%00%FF"}),
    ("long idempotency key", {"Idempotency-Key": "k" * 500}), ("bad api key", {"X-API-Key": "x" * 1000}),
]


@dataclass
class Case:
    label: str
    method: str
    url: str
    params: dict[str, str] | None = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    files: dict[str, Any] | None = None


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=True).encode()


def json_case(label: str, method: str, url: str, value: Any, **kw: Any) -> Case:
    return Case(label, method, url, content=dumps(value), headers={"Content-Type": "application/json"}, **kw)


@dataclass
class Fixtures:
    """The real things a request needs to get past the first check."""

    number: str           # an appeal in "received"
    resolved: str         # an appeal in "resolved"
    query_code: str       # of ``resolved``


def base_bodies(fx: Fixtures) -> dict[tuple[str, str], dict[str, Any]]:
    square = {"type": "Polygon", "coordinates": [[[117.0, 34.0], [117.01, 34.0], [117.01, 34.01],
                                                  [117.0, 34.01], [117.0, 34.0]]]}
    return {
        ("POST", "/api/v1/auth/token"): {"username": "nobody", "password": "wrong-password"},
        ("POST", "/api/v1/units"): {"code": "u-new", "name": "新单位", "kind": "department", "parent": "district",
                                    "short_name": "新", "phone": "0632-1234567"},
        ("POST", "/api/v1/users"): {"username": "newuser", "full_name": "新用户", "password": "long-enough-pw",
                                    "role": "unit_handler", "unit": "zjj", "phone": "13800000000"},
        ("PUT", "/api/v1/matters/{code}"): {"code": "M-NEW", "name": "新事项", "responsible_unit": "zjj",
                                            "assisting_units": ["cgj"], "territorial_rule": "functional",
                                            "legal_basis": "某条例", "keywords": ["新"], "appeal_kind": "livelihood"},
        ("POST", "/api/v1/grids/import"): {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": square,
             "properties": {"code": "G999", "name": "测试网格", "town": "wulin", "community": "wulin-c01"}}]},
        ("POST", "/api/v1/appeals"): {"title": "路灯不亮", "content": "青檀小区路灯坏了", "citizen_name": "张三",
                                      "citizen_phone": "13812345678", "lat": IN_G001[0], "lon": IN_G001[1],
                                      "received_at": "2026-01-05T09:00:00+08:00", "appeal_type": "complaint",
                                      "urgency": "normal", "appeal_kind": "livelihood", "channel": "hotline",
                                      "category": "C0001", "matter": "M-WYGL", "external_ref": "ext-1",
                                      "address": "青檀路1号", "is_anonymous": False},
        ("POST", "/api/v1/appeals/{number}/actions"): {"action": "note", "comment": "备注"},
        ("POST", "/api/v1/channels/wechat/appeals"): {"openid": "o-abc", "msg_id": "m-1", "title": "路灯不亮",
                                                      "content": "青檀小区路灯坏了", "citizen_phone": "13812345678",
                                                      "lat": IN_G001[0], "lon": IN_G001[1]},
        ("POST", "/api/v1/public/appeals"): {"title": "路灯不亮", "content": "青檀小区路灯坏了", "citizen_phone":
                                             "13812345678", "lat": IN_G001[0], "lon": IN_G001[1],
                                             "appeal_type": "咨询", "is_anonymous": False, "address": "青檀路"},
        ("POST", "/api/v1/public/appeals/{number}/follow-up"): {"query_code": fx.query_code, "solved": True,
                                                                 "satisfaction": "satisfied", "comment": "好"},
    }


BASE_QUERY: dict[str, dict[str, str]] = {
    "/api/v1/calendar/deadline": {"start": "2026-09-29T10:00:00+08:00", "working_days": "5"},
    "/api/v1/locate": {"lat": str(IN_G001[0]), "lon": str(IN_G001[1])},
}


def path_values(path: str, fx: Fixtures) -> dict[str, str]:
    values = {"number": fx.number, "code": "M-NEW", "attachment_id": "1"}
    if path.endswith("/follow-up"):
        values["number"] = fx.resolved
    return values


def fill(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def battery(method: str, path: str, route: APIRoute, fx: Fixtures) -> list[Case]:
    good_path = path_values(path, fx)
    url = fill(path, good_path)
    extra_headers = {"X-API-Key": API_KEY} if "/channels/" in path else {}
    cases: list[Case] = []

    def add(case: Case) -> None:
        case.headers = {**extra_headers, **case.headers}
        cases.append(case)

    # Path parameters.
    for name in [p.name for p in route.dependant.path_params]:
        for label, value in BAD_PATH:
            add(Case(f"path {name}={label}", method, fill(path, {**good_path, name: value})))
    # Query parameters, one at a time and all at once.
    base_query = BASE_QUERY.get(path, {})
    names = [p.name for p in route.dependant.query_params]
    for name in names:
        for label, value in BAD_QUERY:
            add(Case(f"query {name}={label}", method, url, params={**base_query, name: value}))
    if names:
        add(Case("every query param garbage", method, url, params={n: "\x00garbage😀" for n in names}))
    add(Case("unknown query param", method, url, params={**base_query, "zzz": "1", "page": "-5"}))
    # Headers.
    for label, extra in HEADERS_GARBAGE:
        add(Case(f"header {label}", method, url, params=base_query or None, headers=extra))
    # Methods the route does not have.
    for other in ("DELETE", "PATCH"):
        if other not in (route.methods or ()):
            add(Case(f"method {other}", other, url))
    if method not in ("POST", "PUT", "PATCH"):
        add(json_case("stray JSON body on a read", method, url, {"a": 1}, params=base_query or None))
        return cases

    # Bodies.
    for label, raw in RAW_BODIES:
        add(Case(f"body {label}", method, url, content=raw, headers={"Content-Type": "application/json"}))
    add(Case("body as form", method, url, content=b"a=1&b=2",
             headers={"Content-Type": "application/x-www-form-urlencoded"}))
    add(Case("body as text/plain JSON", method, url, content=b'{"a": 1}', headers={"Content-Type": "text/plain"}))
    for label, value in WRONG_TYPES:
        add(json_case(f"body of type {label}", method, url, value))
    add(json_case("empty object", method, url, {}))
    base = base_bodies(fx).get((method, path))
    if base is None:
        add(json_case("unexpected object", method, url, {"unexpected": HUGE}))
        return cases
    add(json_case("extra field", method, url, {**base, "unexpected": 1, "__proto__": {"x": 1}}))
    for key in base:
        add(json_case(f"missing {key}", method, url, {k: v for k, v in base.items() if k != key}))
        for label, value in BAD_VALUES:
            add(json_case(f"{key}={label}", method, url, {**base, key: value}))
    return cases


def check(response: Any, case: Case) -> str | None:
    """Why the answer is wrong, or None."""
    status = response.status_code
    if status >= 500:
        return f"{status} for {case.label}"
    if 400 <= status < 500:
        try:
            error = response.json()["error"]
            assert isinstance(error["message"], str) and error["message"]
            assert isinstance(error["message_en"], str) and error["message_en"]
        except Exception:
            return f"{status} without the JSON error body for {case.label}: {response.text[:120]!r}"
    return None


def send(client: TestClient, case: Case, auth: dict[str, str]) -> Any:
    return client.request(case.method, case.url, params=case.params, content=case.content,
                          headers={**auth, **case.headers}, files=case.files)


# ---------------------------------------------------------------- fixtures


# The battery only adds things of its own (appeals, a unit, a user, a matter, a grid), so the
# district is built once for the module; each test still gets fresh appeals (``fx``).

@pytest.fixture
def world(district: World) -> World:
    return module_world.quiet_session(district)


@pytest.fixture(scope="module")
def raw_client(database_url: str, factory: sessionmaker[Session], district: World,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """Answers 500s as responses (the default client re-raises them) so all can be collected."""
    with module_world.api_client(database_url, factory, tmp_path_factory.mktemp("media"),
                                 raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """scrypt per created user would dominate the battery's time; hashing is not under test here.
    Failed log-ins for the battery's made-up user are forgotten after each test."""
    monkeypatch.setattr("sudi.core.auth.hash_password", lambda password: "scrypt$16384$8$1$AA==$AA==")
    yield
    login_throttle.succeed("nobody")


@pytest.fixture
def fx(world: World) -> Fixtures:
    received = world.appeal("received").number
    resolved = world.appeal("resolved").number
    return Fixtures(received, resolved, service.query_code_for(world.session, resolved))


def auth_for(world: World, who: str) -> dict[str, str]:
    return {} if who == "anonymous" else module_world.headers(world, who)


# ---------------------------------------------------------------- every route, both identities


@pytest.mark.parametrize("who", ["admin", "anonymous"])
@pytest.mark.parametrize(("method", "path", "route"), ROUTES, ids=ROUTE_IDS)
def test_malformed_input_never_causes_a_server_error(
        raw_client: TestClient, world: World, request: pytest.FixtureRequest, method: str, path: str,
        route: APIRoute, who: str) -> None:
    # Real appeals only where the path names one (they cost a few writes each).
    fx = request.getfixturevalue("fx") if "{number}" in path else Fixtures("YC20990101-00001", "", "")
    auth = auth_for(world, who)
    cases = battery(method, path, route, fx)
    if who == "anonymous":
        probe = Case("probe", method, fill(path, path_values(path, fx)), params=BASE_QUERY.get(path))
        if send(raw_client, probe, auth).status_code == 401:
            # A route that wants a login: what matters anonymously is what is parsed before the
            # login is checked (the body, the path), not every field and parameter again.
            cases = [c for c in cases if c.label.startswith(("body", "path", "method", "header", "empty"))]
    problems = []
    for case in cases:
        if path == "/api/v1/auth/logout" and who == "admin":
            auth = auth_for(world, who) | {"Authorization": "Bearer " + fresh_token(world)}
        problem = check(send(raw_client, case, auth), case)
        if problem:
            problems.append(problem)
    assert not problems, f"{method} {path} as {who}: {len(problems)} bad answers\n" + "\n".join(problems[:40])


def fresh_token(world: World) -> str:
    """A new admin token, so that logging out in one case does not log the next case out."""
    from datetime import timedelta

    from sudi.core import auth, clock
    from sudi.directory.models import ApiToken

    token = auth.new_token()
    now = clock.now()
    world.session.add(ApiToken(token_digest=auth.digest(token), user_id=world.users["admin"].id,
                               created_at=now, expires_at=now + timedelta(hours=1)))
    world.session.commit()
    return token


# ---------------------------------------------------------------- actions, each in a state that allows it

ACTION_SETUP: dict[str, tuple[str, str, dict[str, Any]]] = {  # action: (state, user, minimal payload)
    "accept": ("received", "intake", {"category": "C0001", "appeal_kind": "livelihood"}),
    "reject": ("received", "intake", {"reason": "不属于受理范围"}),
    "triage": ("accepted", "dispatcher", {"in_scope": True, "complex": False, "reasons": "r", "matter": "M-WYGL",
                                          "urgency": "urgent", "appeal_kind": "enforcement", "factors": ["a"]}),
    "dispatch": ("accepted", "dispatcher", {"unit": "zjj", "assisting_units": ["cgj"], "matter": "M-WYGL",
                                            "coordinator": "dispatcher"}),
    "acknowledge": ("dispatched", "zjj", {}),
    "return": ("dispatched", "zjj", {"reason": "不属于本单位", "suggested_unit": "cgj", "basis": "清单"}),
    "rule": ("returned", "dispatcher", {"unit": "cgj", "matter": "M-WFJS", "reason": "依清单"}),
    "request_extension": ("acknowledged", "zjj", {"working_days": 3, "reason": "需协调"}),
    "approve_extension": ("acknowledged", "supervisor", {}),
    "refuse_extension": ("acknowledged", "supervisor", {"reason": "不同意"}),
    "remind": ("dispatched", "dispatcher", {}),
    "supervise": ("dispatched", "supervisor", {"reason": "督办"}),
    "contribute": ("dispatched", "cgj", {"text": "已配合"}),
    "resolve": ("acknowledged", "zjj", {"reply": "已经处理完毕，路灯恢复照明。", "without_assistants": True}),
    "follow_up": ("resolved", "intake", {"solved": True, "satisfaction": "satisfied"}),
    "reopen": ("followed_up", "supervisor", {"reason": "仍未解决"}),
    "archive": ("followed_up", "supervisor", {"reason": "r"}),
    "merge": ("received", "dispatcher", {"into": "MASTER"}),
    "note": ("received", "dispatcher", {"comment": "备注"}),
}


ACTION_VALUES = {"null", "huge string", "negative", "huge int", "NaN", "Infinity", "unknown enum", "list",
                 "object", "bool", "NUL", "empty"}


def test_action_setup_covers_every_action() -> None:
    assert set(ACTION_SETUP) == set(service.RULES)


@pytest.mark.parametrize("action", list(ACTION_SETUP))
def test_malformed_action_payloads_never_cause_a_server_error(
        raw_client: TestClient, world: World, action: str) -> None:
    state, user, minimal = ACTION_SETUP[action]
    master = world.appeal("accepted").number if action == "merge" else None

    def fresh() -> str:
        appeal = world.appeal(state, assisting_units=["cgj"], satisfaction="dissatisfied")
        if action in ("approve_extension", "refuse_extension"):
            service.perform_action(world.session, world.actor("zjj"), appeal.number,
                                   {"action": "request_extension", "working_days": 2, "reason": "r"})
        return appeal.number

    base = {"action": action, **{k: (master if v == "MASTER" else v) for k, v in minimal.items()}}
    # (A wrong-typed "action" itself is covered by the route battery and a named test below.)
    # The payload's own keys first (mostly refused, so the appeal stays put), the free comment last.
    bodies: list[tuple[str, Any]] = [(f"{key}={label}", {**base, key: value})
                                     for key in [*base, "comment"] if key != "action"
                                     for label, value in BAD_VALUES if label in ACTION_VALUES]
    number = fresh()
    auth = auth_for(world, user)
    problems = []
    refills = 3  # fresh appeals when a bad value was accepted after all and the appeal moved on
    for label, body in bodies:
        case = json_case(label, "POST", f"/api/v1/appeals/{number}/actions", body)
        response = send(raw_client, case, auth)
        problem = check(response, case)
        if problem:
            problems.append(problem)
        if response.status_code == 200 and response.json()["state"] != state and refills:
            refills -= 1
            number = fresh()
            auth = auth_for(world, user)
    assert not problems, f"{action}: {len(problems)} bad answers\n" + "\n".join(problems[:40])


def test_malformed_attachment_uploads(raw_client: TestClient, world: World, fx: Fixtures) -> None:
    url = f"/api/v1/appeals/{fx.number}/attachments"
    auth = auth_for(world, "admin")
    uploads: list[tuple[str, dict[str, Any]]] = [
        ("empty file", {"file": ("a.jpg", b"", "image/jpeg")}),
        ("not an image", {"file": ("a.jpg", b"MZ\x90\x00" * 100, "image/jpeg")}),
        ("svg", {"file": ("a.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml")}),
        ("odd file name", {"file": ("../../" + "名" * 1000 + "\x00.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64,
                                    "image/png")}),
        ("wrong field", {"photo": ("a.png", b"\x89PNG\r\n\x1a\n", "image/png")}),
    ]
    problems = []
    for label, files in uploads:
        case = Case(label, "POST", url, files=files)
        problem = check(send(raw_client, case, auth), case)
        if problem:
            problems.append(problem)
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- hypothesis

JSON_LEAVES = (st.none() | st.booleans() | st.integers(min_value=-(10**20), max_value=10**20)
               | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40))
JSON = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
APPEAL_FIELDS = ["title", "content", "channel", "appeal_type", "urgency", "appeal_kind", "category", "matter",
                 "citizen_name", "citizen_phone", "is_anonymous", "address", "lat", "lon", "received_at",
                 "external_ref"]
ACTION_KEYS = ["reason", "unit", "assisting_units", "matter", "coordinator", "working_days", "reply",
               "without_assistants", "solved", "satisfaction", "into", "text", "comment", "in_scope", "complex",
               "reasons", "urgency", "appeal_kind", "factors", "category", "suggested_unit", "basis"]
HYPOTHESIS = settings(max_examples=40, deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@HYPOTHESIS
@given(body=JSON | st.dictionaries(st.sampled_from(APPEAL_FIELDS) | st.text(max_size=8), JSON, max_size=8))
def test_random_json_for_appeal_intake(raw_client: TestClient, world: World, body: Any) -> None:
    case = json_case("random body", "POST", "/api/v1/appeals", body)
    response = send(raw_client, case, auth_for(world, "intake"))
    assert check(response, case) is None, (response.status_code, response.text[:300])


@HYPOTHESIS
@given(data=st.data())
def test_random_json_for_workflow_actions(raw_client: TestClient, world: World, fx: Fixtures,
                                          data: st.DataObject) -> None:
    number = data.draw(st.sampled_from([fx.number, fx.resolved]), label="appeal")
    who = data.draw(st.sampled_from(["admin", "dispatcher", "intake", "zjj", "cgj"]), label="user")
    action = data.draw(st.sampled_from(list(service.RULES)) | JSON, label="action")
    rest = data.draw(st.dictionaries(st.sampled_from(ACTION_KEYS) | st.text(max_size=8), JSON, max_size=6),
                     label="payload")
    case = json_case("random payload", "POST", f"/api/v1/appeals/{number}/actions", {**rest, "action": action})
    response = send(raw_client, case, auth_for(world, who))
    assert check(response, case) is None, (response.status_code, response.text[:300])


# ---------------------------------------------------------------- the 500s the battery found, one by one


def post_action(client: TestClient, world: World, who: str, number: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/appeals/{number}/actions", json=body, headers=auth_for(world, who))


@pytest.mark.parametrize("action", [[], ["note"], {"a": 1}])
def test_action_name_of_the_wrong_type_is_invalid_input(raw_client: TestClient, world: World, fx: Fixtures,
                                                        action: Any) -> None:
    response = post_action(raw_client, world, "admin", fx.number, {"action": action})
    assert response.status_code == 422, response.text[:200]
    assert response.json()["error"]["field"] == "action"


@pytest.mark.parametrize("satisfaction", [[], ["satisfied"], {"a": 1}])
def test_follow_up_satisfaction_of_the_wrong_type_is_invalid_input(
        raw_client: TestClient, world: World, fx: Fixtures, satisfaction: Any) -> None:
    response = post_action(raw_client, world, "intake", fx.resolved,
                           {"action": "follow_up", "solved": True, "satisfaction": satisfaction})
    assert response.status_code == 422, response.text[:200]
    assert response.json()["error"]["field"] == "satisfaction"


@pytest.mark.parametrize("params", [
    {"start": "9999-12-30T00:00:00+08:00", "working_days": "5"},
    {"start": "9999-12-31", "hours": "48"},
    {"start": "0001-01-01T00:00:00+14:00", "working_days": "1"},
])
def test_calendar_deadline_beyond_the_supported_years_is_invalid_input(raw_client: TestClient,
                                                                       params: dict[str, str]) -> None:
    response = raw_client.get("/api/v1/calendar/deadline", params=params)
    assert response.status_code == 422, response.text[:200]


@pytest.mark.parametrize("params", [{"date_to": "9999-12-31"}, {"date_from": "0001-01-01"}])
def test_list_date_bounds_at_the_ends_of_the_calendar_are_handled(
        raw_client: TestClient, world: World, params: dict[str, str]) -> None:
    response = raw_client.get("/api/v1/appeals", params=params, headers=auth_for(world, "admin"))
    assert response.status_code in (200, 422), response.text[:200]


def test_received_at_in_year_one_is_invalid_input(raw_client: TestClient, world: World) -> None:
    response = raw_client.post("/api/v1/appeals", headers=auth_for(world, "intake"), json={
        "title": "t", "content": "c", "received_at": "0001-01-01T00:00:00+08:00"})
    assert response.status_code == 422, response.text[:200]


@pytest.mark.parametrize("features", [[1], ["x"], [None], [{"properties": "x"}], [{"properties": [1]}]])
def test_grid_import_with_malformed_features_is_invalid_input(raw_client: TestClient, world: World,
                                                              features: list[Any]) -> None:
    response = raw_client.post("/api/v1/grids/import", headers=auth_for(world, "admin"),
                               json={"type": "FeatureCollection", "features": features})
    assert response.status_code == 422, response.text[:200]


def test_huge_attachment_id_is_not_found(raw_client: TestClient, world: World, fx: Fixtures) -> None:
    response = raw_client.get(f"/api/v1/appeals/{fx.number}/attachments/{'9' * 30}",
                              headers=auth_for(world, "admin"))
    assert response.status_code in (404, 422), response.text[:200]


@pytest.mark.parametrize("body", [{"openid": "o-1"}, {"openid": "o-1", "title": "t", "content": "c", "x": 1},
                                  {"openid": "o-1", "title": "t", "content": "c", "lat": 1000}])
def test_wechat_intake_with_an_invalid_body_is_invalid_input(raw_client: TestClient, body: dict[str, Any]) -> None:
    response = raw_client.post("/api/v1/channels/wechat/appeals", json=body, headers={"X-API-Key": API_KEY})
    assert response.status_code == 422, response.text[:200]


@pytest.mark.parametrize(("method", "url", "kind"), [
    ("GET", "/api/v1/appeals/%00", "path"),
    ("GET", "/api/v1/public/appeals/%00?query_code=ABC", "path"),
    ("GET", "/api/v1/grids?town=%00", "query"),
    ("GET", "/api/v1/appeals?q=%00", "query"),
    ("GET", "/api/v1/appeals?unit=%00", "query"),
    ("GET", "/api/v1/matters?unit=%00", "query"),
    ("GET", "/api/v1/users?q=%00", "query"),
    ("POST", "/api/v1/appeals", {"title": "t", "content": "c", "citizen_name": "张\x00三"}),
    ("POST", "/api/v1/appeals", {"title": "t", "content": "c", "category": "C\x00"}),
    ("POST", "/api/v1/auth/token", {"username": "ad\x00min", "password": "x"}),
])
def test_nul_characters_never_reach_the_database(raw_client: TestClient, world: World, method: str, url: str,
                                                 kind: Any) -> None:
    """PostgreSQL refuses NUL in text; the request must be refused (or cleaned) before that."""
    body = kind if isinstance(kind, dict) else None
    response = raw_client.request(method, url, headers=auth_for(world, "admin"),
                                  content=dumps(body) if body else None)
    assert response.status_code < 500, response.text[:200]


@pytest.mark.parametrize(("url", "body"), [
    ("/api/v1/units", {"code": "u-x", "name": "n", "kind": "department", "short_name": "s" * 100}),
    ("/api/v1/units", {"code": "u-y", "name": "n", "kind": "department", "phone": "1" * 100}),
    ("/api/v1/users", {"username": "longphone", "password": "long-enough-pw", "role": "admin",
                       "phone": "1" * 100}),
    ("/api/v1/grids/import", {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {
        "type": "Polygon", "coordinates": [[[117, 34], [117.01, 34], [117.01, 34.01], [117, 34]]]},
        "properties": {"code": "G" * 100, "name": "n", "town": "wulin"}}]}),
])
def test_overlong_values_for_unbounded_fields_are_invalid_input(raw_client: TestClient, world: World, url: str,
                                                                body: dict[str, Any]) -> None:
    """The schema lets these through, and the column is shorter: PostgreSQL then refuses the row."""
    response = raw_client.post(url, json=body, headers=auth_for(world, "admin"))
    assert response.status_code < 500, response.text[:200]


def test_wechat_message_id_longer_than_the_reference_column(raw_client: TestClient) -> None:
    response = raw_client.post("/api/v1/channels/wechat/appeals", headers={"X-API-Key": API_KEY}, json={
        "openid": "o-1", "msg_id": "m" * 500, "title": "t", "content": "c"})
    assert response.status_code < 500, response.text[:200]


@pytest.mark.parametrize("query_code", ["😀", "查询码", "ÄBCDEFGH"])
def test_non_ascii_query_code_is_not_found(raw_client: TestClient, fx: Fixtures, query_code: str) -> None:
    status = raw_client.get(f"/api/v1/public/appeals/{fx.resolved}", params={"query_code": query_code})
    assert status.status_code == 404, status.text[:200]
    rating = raw_client.post(f"/api/v1/public/appeals/{fx.resolved}/follow-up",
                             json={"query_code": query_code, "solved": True, "satisfaction": "satisfied"})
    assert rating.status_code == 404, rating.text[:200]


def test_an_empty_external_reference_is_no_reference(raw_client: TestClient, world: World) -> None:
    """Two intakes that both send "external_ref": "" (or a blank one) are two appeals, not a 500."""
    auth = auth_for(world, "intake")
    numbers = []
    for ref in ("", "   "):
        response = raw_client.post("/api/v1/appeals", headers=auth,
                                   json={"title": "t", "content": "c", "external_ref": ref})
        assert response.status_code == 201, response.text[:200]
        numbers.append(response.json()["number"])
    assert numbers[0] != numbers[1]


def test_an_empty_idempotency_key_is_no_key(raw_client: TestClient, world: World) -> None:
    auth = auth_for(world, "intake")
    numbers = []
    for _ in range(2):
        response = raw_client.post("/api/v1/appeals", headers={**auth, "Idempotency-Key": ""},
                                   json={"title": "t", "content": "c"})
        assert response.status_code == 201, response.text[:200]
        numbers.append(response.json()["number"])
    assert numbers[0] != numbers[1]
