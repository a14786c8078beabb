"""Who sees which appeal, and how much of the citizen's personal data each viewer gets.

The district: zjj leads one appeal; cgj leads one with zjj assisting and one alone; 坛山街道 leads
one and its community (青檀社区) another; grid worker grid1 filed one located in G002; one
appeal was never dispatched nor located. Grid G001 lies in 坛山街道, G002 in 吴林街道.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from sudi.appeals import service
from sudi.appeals.models import Appeal
from sudi.core.errors import Forbidden
from tests import module_world
from tests.factories import IN_G001, IN_G002, World
from tests.web.helpers import use_session

_ID_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]


headers = module_world.headers


def resident_id(first17: str) -> str:
    """An 18-character resident ID with its GB 11643 check character (ISO 7064 MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


ID_NUMBER = resident_id("37040219850612003")  # 枣庄市峄城区, born 1985-06-12
CONTENT_PHONE = "13900001111"
CITIZEN_PHONE = "13812345678"
CONTENT = f"本人身份证号{ID_NUMBER}，联系电话{CONTENT_PHONE}，青檀小区3号楼前路灯坏了一个月。"
MASKED_ID = ID_NUMBER[:6] + "********" + ID_NUMBER[-4:]
MASKED_CONTENT_PHONE = "139****1111"
MASKED_CITIZEN_PHONE = "138****5678"


def test_the_test_id_number_is_valid() -> None:
    assert ID_NUMBER == "37040219850612003X"
    from sudi.intelligence.pii import is_valid_id_number

    assert is_valid_id_number(ID_NUMBER)


@dataclass
class Scene:
    zjj: Appeal          # led by zjj, in G001
    cgj_zjj: Appeal      # led by cgj, zjj assisting, in G002
    cgj: Appeal          # led by cgj alone, in G002
    tanshan: Appeal      # led by 坛山街道, in G001
    community: Appeal    # led by 青檀社区 (under 坛山街道), in G001
    by_grid1: Appeal     # filed by grid1, located in G002, not dispatched
    unplaced: Appeal     # never dispatched, no location

    def numbers(self, *names: str) -> set[str]:
        return {getattr(self, n).number for n in names}


ALL = ("zjj", "cgj_zjj", "cgj", "tanshan", "community", "by_grid1", "unplaced")


# Every test here only adds its own appeals and looks at those or at the scene, so the district
# and the scene are built once for the module.

@pytest.fixture
def world(district: World) -> World:
    return module_world.quiet_session(district)


@pytest.fixture(scope="module")
def client(database_url: str, factory: sessionmaker[Session], district: World,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with module_world.api_client(database_url, factory, tmp_path_factory.mktemp("media")) as api:
        yield api


@pytest.fixture(scope="module")
def scene(district: World) -> Scene:
    world = district

    def make(state: str, **kw: object) -> Appeal:
        return world.appeal(state, content=CONTENT, citizen_phone=CITIZEN_PHONE, **kw)  # type: ignore[arg-type]

    community = make("accepted", point=IN_G001)
    service.perform_action(world.session, world.actor("dispatcher"), community.number,
                           {"action": "dispatch", "unit": "tanshan-c01"})
    by_grid1 = service.create_appeal(world.session, world.actor("grid1"), service.AppealDraft(
        title="井盖缺失", content=CONTENT, citizen_phone=CITIZEN_PHONE, lat=IN_G002[0], lon=IN_G002[1])).appeal
    return Scene(
        zjj=make("dispatched", unit="zjj", point=IN_G001),
        cgj_zjj=make("dispatched", unit="cgj", assisting_units=["zjj"], point=IN_G002),
        cgj=make("dispatched", unit="cgj", point=IN_G002),
        tanshan=make("dispatched", unit="tanshan", point=IN_G001),
        community=community, by_grid1=by_grid1, unplaced=make("received", point=None),
    )


VISIBLE: dict[str, tuple[str, ...]] = {
    "admin": ALL, "intake": ALL, "dispatcher": ALL, "supervisor": ALL, "leader": ALL,
    "zjj": ("zjj", "cgj_zjj"), "zjjlead": ("zjj", "cgj_zjj"),
    "cgj": ("cgj_zjj", "cgj"),
    "tanshan": ("tanshan", "community"),
    "community": ("community",),
    "grid1": ("zjj", "tanshan", "community", "by_grid1"),
    "grid2": ("cgj_zjj", "cgj", "by_grid1"),
    "mediator": (),
}

# Who reads the citizen's full phone number (and unmasked text) on which appeals.
FULL_PHONE: dict[str, tuple[str, ...]] = {
    "admin": ALL, "intake": ALL, "dispatcher": ALL, "supervisor": ALL,
    "leader": (),
    "zjj": ("zjj",), "zjjlead": ("zjj",),     # not on cgj_zjj, where zjj only assists
    "cgj": ("cgj_zjj", "cgj"),
    "tanshan": ("tanshan", "community"), "community": ("community",),
    "grid1": (), "grid2": (), "mediator": (),
}


@pytest.mark.parametrize("username", list(VISIBLE))
def test_list_and_detail_follow_visibility(world: World, client: TestClient, scene: Scene, username: str) -> None:
    auth = headers(world, username)
    expected = scene.numbers(*VISIBLE[username])
    response = client.get("/api/v1/appeals", params={"page_size": 500}, headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    listed = {item["number"] for item in body["items"]}
    # Other tests of this module add appeals of their own; the scene's are the ones that count.
    assert listed & scene.numbers(*ALL) == expected
    assert body["total"] == len(listed) >= len(expected)
    if username == "mediator":
        assert body == {"items": [], "total": 0, "page": 1, "page_size": 500}
    for name in ALL:
        number = getattr(scene, name).number
        detail = client.get(f"/api/v1/appeals/{number}", headers=auth)
        if number in expected:
            assert detail.status_code == 200, (name, detail.text)
            assert detail.json()["number"] == number
        else:
            assert detail.status_code == 403, (name, detail.text)
            error = detail.json()["error"]
            assert error["code"] == "forbidden" and error["message"] and error["message_en"]
            assert CONTENT_PHONE not in detail.text


def test_filters_never_widen_visibility(world: World, client: TestClient, scene: Scene) -> None:
    def listed(username: str, **params: str) -> set[str]:
        response = client.get("/api/v1/appeals", params={**params, "page_size": "500"},
                              headers=headers(world, username))
        return {i["number"] for i in response.json()["items"]} & scene.numbers(*ALL)

    assert listed("zjj", unit="cgj") == {scene.cgj_zjj.number}
    assert listed("grid1", grid="G002") == {scene.by_grid1.number}
    assert listed("cgj", q=scene.zjj.number) == set()
    assert listed("tanshan", town="wulin") == set()
    assert listed("admin", town="wulin") == scene.numbers("cgj_zjj", "cgj", "by_grid1")


def test_a_grid_workers_own_filing_is_a_patrol_finding_it_can_always_see(world: World, scene: Scene) -> None:
    assert scene.by_grid1.channel == "grid_patrol"
    assert scene.by_grid1.grid is not None and scene.by_grid1.grid.code == "G002"
    assert service.can_see(world.session, world.actor("grid1"), scene.by_grid1)


def test_a_user_who_cannot_see_an_appeal_cannot_act_on_it(world: World, client: TestClient, scene: Scene) -> None:
    response = client.post(f"/api/v1/appeals/{scene.zjj.number}/actions",
                           json={"action": "note", "comment": "看一眼"}, headers=headers(world, "mediator"))
    assert response.status_code == 403
    with pytest.raises(Forbidden):
        service.access_appeal(world.session, world.actor("cgj"), scene.zjj.number)


def _view_is_full(item: dict[str, object]) -> bool:
    citizen = item["citizen"]
    assert isinstance(citizen, dict)
    content = item["content"]
    assert isinstance(content, str)
    if citizen["phone"] == CITIZEN_PHONE:
        assert ID_NUMBER in content and CONTENT_PHONE in content, content
        return True
    assert citizen["phone"] == MASKED_CITIZEN_PHONE, citizen["phone"]
    assert ID_NUMBER not in content and CONTENT_PHONE not in content, content
    assert MASKED_ID in content and MASKED_CONTENT_PHONE in content, content
    return False


@pytest.mark.parametrize("username", [u for u in VISIBLE if VISIBLE[u]])
def test_phone_and_id_numbers_are_masked_by_role(world: World, client: TestClient, scene: Scene,
                                                 username: str) -> None:
    auth = headers(world, username)
    listing = {i["number"]: i for i in client.get("/api/v1/appeals", params={"page_size": 500},
                                                    headers=auth).json()["items"]}
    for name in VISIBLE[username]:
        number = getattr(scene, name).number
        full = name in FULL_PHONE[username]
        detail = client.get(f"/api/v1/appeals/{number}", headers=auth).json()
        assert _view_is_full(detail) is full, (username, name, "detail")
        assert _view_is_full(listing[number]) is full, (username, name, "list")
        assert service.shows_full_phone(world.actor(username), getattr(scene, name)) is full


def test_anonymous_staff_api_is_refused(client: TestClient, scene: Scene) -> None:
    for url in ("/api/v1/appeals", f"/api/v1/appeals/{scene.zjj.number}"):
        response = client.get(url)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"


# ---------------------------------------------------------------- citizens

SECRET_NOTE = "内部备注：该市民情绪激动-机密X7"
SECRET_RETURN = "内部退单理由-非本单位职责K9"
SECRET_SUPERVISE = "督办意见-领导批示Q3"


def test_public_status_shows_only_public_steps(world: World, client: TestClient) -> None:
    submitted = client.post("/api/v1/public/appeals", json={
        "title": "小区垃圾无人清运", "content": "青檀小区垃圾堆放多日无人清运。", "citizen_phone": CITIZEN_PHONE,
        "lat": IN_G001[0], "lon": IN_G001[1]})
    assert submitted.status_code == 201, submitted.text
    number, code = submitted.json()["number"], submitted.json()["query_code"]

    def act(who: str, **payload: object) -> None:
        response = client.post(f"/api/v1/appeals/{number}/actions", json=payload, headers=headers(world, who))
        assert response.status_code == 200, response.text

    act("intake", action="accept")
    act("dispatcher", action="note", comment=SECRET_NOTE)
    act("dispatcher", action="dispatch", unit="zjj")
    act("zjj", action="return", reason=SECRET_RETURN)
    act("dispatcher", action="dispatch", unit="cgj")
    act("supervisor", action="supervise", reason=SECRET_SUPERVISE)
    act("cgj", action="acknowledge")
    act("cgj", action="resolve", reply="已安排环卫人员清运，并加密清运频次。")

    response = client.get(f"/api/v1/public/appeals/{number}", params={"query_code": code})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["number"] == number and body["state"] == "resolved" and body["can_rate"] is True
    assert body["reply"] == "已安排环卫人员清运，并加密清运频次。"
    for secret in (SECRET_NOTE, SECRET_RETURN, SECRET_SUPERVISE, "dispatcher", "supervisor", "intake",
                   "unit_handler", "actor"):
        assert secret not in response.text, secret
    timeline = body["timeline"]
    assert timeline, body
    for step in timeline:
        assert set(step) == {"at", "action", "state", "state_label", "note"}
        assert step["note"]
    actions = [step["action"] for step in timeline]
    assert "note" not in actions and "supervise" not in actions
    assert actions[0] == "create" and actions[-1] == "resolve"
    # A lower-case code is the same code; surrounding blanks do not matter.
    again = client.get(f"/api/v1/public/appeals/{number}", params={"query_code": f" {code.lower()} "})
    assert again.status_code == 200


def test_wrong_query_code_answers_exactly_like_an_unknown_number(world: World, client: TestClient) -> None:
    appeal = world.appeal("dispatched")
    code = service.query_code_for(world.session, appeal.number)
    wrong = "A" * len(code) if code != "A" * len(code) else "B" * len(code)
    answers = [
        client.get(f"/api/v1/public/appeals/{appeal.number}", params={"query_code": wrong}),
        client.get(f"/api/v1/public/appeals/{appeal.number}"),
        client.get("/api/v1/public/appeals/YC20990101-00001", params={"query_code": code}),
        client.get("/api/v1/public/appeals/YC20990101-00001",
                   params={"query_code": service.query_code_for(world.session, "YC20990101-00001")}),
    ]
    assert {a.status_code for a in answers} == {404}
    assert len({a.content for a in answers}) == 1
    assert appeal.number not in answers[0].text
    follow_up = client.post(f"/api/v1/public/appeals/{appeal.number}/follow-up",
                            json={"query_code": wrong, "solved": True, "satisfaction": "satisfied"})
    assert follow_up.status_code == 404
    assert follow_up.content == answers[0].content


# ---------------------------------------------------------------- idempotency keys and visibility

def test_idempotency_replay_by_another_staff_user_does_not_disclose_the_appeal(
        world: World, client: TestClient) -> None:
    """An Idempotency-Key replayed by someone else must not hand them an appeal they cannot see
    (nor its citizen query code): the key is the submitter's own, so the replay is either a new
    appeal of the replayer's or refused."""
    first = client.post("/api/v1/appeals", json={"title": "噪音扰民", "content": f"电话{CONTENT_PHONE}",
                                                 "lat": IN_G001[0], "lon": IN_G001[1]},
                        headers={**headers(world, "intake"), "Idempotency-Key": "form-1"})
    assert first.status_code == 201
    number, code = first.json()["number"], first.json()["query_code"]
    appeal = service.get_appeal(world.session, number)
    assert not service.can_see(world.session, world.actor("grid2"), appeal)
    replay = client.post("/api/v1/appeals", json={"title": "别的事", "content": "别的内容"},
                         headers={**headers(world, "grid2"), "Idempotency-Key": "form-1"})
    assert replay.status_code in (201, 409), replay.text
    assert number not in replay.text and code not in replay.text
    if replay.status_code == 201:
        assert replay.json()["title"] == "别的事"
    # The submitter's own replay still finds the first appeal.
    again = client.post("/api/v1/appeals", json={"title": "噪音扰民", "content": f"电话{CONTENT_PHONE}"},
                        headers={**headers(world, "intake"), "Idempotency-Key": "form-1"})
    assert again.status_code == 200 and again.json()["number"] == number


def test_public_submit_replaying_a_staff_idempotency_key_does_not_reveal_the_query_code(
        world: World, client: TestClient) -> None:
    first = client.post("/api/v1/appeals", json={"title": "噪音扰民", "content": "夜间施工噪音"},
                        headers={**headers(world, "intake"), "Idempotency-Key": "form-2"})
    assert first.status_code == 201
    number, code = first.json()["number"], first.json()["query_code"]
    replay = client.post("/api/v1/public/appeals", json={"title": "x", "content": "y"},
                         headers={"Idempotency-Key": "form-2"})
    assert replay.status_code in (201, 409), replay.text
    assert number not in replay.text and code not in replay.text


def test_bank_cards_and_plates_are_recorded_at_intake_and_masked(world: World, client: TestClient) -> None:
    card = "6222020200001234562"  # passes the Luhn check
    text = f"我的银行卡{card}被物业乱扣费，他们的车鲁D·7K321天天堵在消防通道。"
    created = client.post("/api/v1/appeals", headers=world.headers("intake"), json={
        "title": "物业乱扣费", "content": text, "lat": IN_G001[0], "lon": IN_G001[1]})
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    assert created.json()["content"] == text  # the intake agent calls the citizen back: full text
    events = client.get(f"/api/v1/appeals/{number}", headers=world.headers("admin")).json()["events"]
    assert events[0]["data"]["personal_data"] == ["bank_card", "licence_plate"]
    shown = client.get(f"/api/v1/appeals/{number}", headers=world.headers("grid1")).json()["content"]
    assert card not in shown and "7K321" not in shown
    assert "6222 **** **** 4562" in shown and "鲁D" in shown
    use_session(client, world, "grid1")
    page = client.get(f"/staff/appeals/{number}")
    assert page.status_code == 200 and card not in page.text and "银行卡号" in page.text
