"""How the workflow behaves: the happy path over REST, returns and rulings on the duty list,
joint handling, deadlines on the working-day calendar, overdue marking, merging, concurrency,
idempotency and the citizen's own rating.

Expected deadlines are computed with ``WorkCalendar`` (the tests' holiday table is empty, so the
calendar is the library's official arrangement) or written out by hand where the point is the
date itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sudi.appeals import service
from sudi.appeals.models import Appeal, AppealEvent
from sudi.core import clock
from sudi.core.calendar import DISTRICT_TZ, WorkCalendar
from sudi.core.errors import Conflict, InvalidInput
from tests.factories import IN_G001, IN_G002, World

CALENDAR = WorkCalendar()
REPLY = "经现场核查，已安排维修人员更换路灯，现已恢复照明。"
WFJS_BASIS = "《中华人民共和国城乡规划法》第六十四条"
WYGL_BASIS = "《物业管理条例》第五条"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


class Api:
    """POST an action as a user and hand back the JSON, checking the status."""

    def __init__(self, client: TestClient, world: World) -> None:
        self.client, self.world = client, world

    def headers(self, who: str) -> dict[str, str]:
        # The world's session may hold a read snapshot from before the API's writes; SQLite refuses
        # to turn such a snapshot into a write (the token insert), so end it first.
        if self.world.session.in_transaction():
            self.world.session.rollback()
        return self.world.headers(who)

    def act(self, who: str, number: str, expect: int = 200, **payload: Any) -> dict[str, Any]:
        response = self.client.post(f"/api/v1/appeals/{number}/actions", json=payload, headers=self.headers(who))
        assert response.status_code == expect, response.text
        body: dict[str, Any] = response.json()
        if expect >= 400:
            error = body["error"]
            assert error["message"] and error["message_en"]
        return body

    def get(self, who: str, number: str) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/appeals/{number}", headers=self.headers(who))
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def api(client: TestClient, world: World) -> Api:
    return Api(client, world)


def event_count(session_factory: sessionmaker[Session], number: str) -> int:
    with session_factory() as s:
        appeal = s.scalar(select(Appeal).where(Appeal.number == number))
        assert appeal is not None
        return int(s.scalar(select(func.count()).select_from(AppealEvent)
                            .where(AppealEvent.appeal_id == appeal.id)) or 0)


# ---------------------------------------------------------------- the happy path

def test_full_happy_path_over_the_rest_api(api: Api, client: TestClient, world: World) -> None:
    created = client.post("/api/v1/appeals", headers=api.headers("intake"), json={
        "title": "物业不作为", "content": "青檀小区物业长期不处理楼道堆物，存在消防隐患。", "citizen_name": "李四",
        "citizen_phone": "13812345678", "lat": IN_G001[0], "lon": IN_G001[1], "appeal_type": "投诉"})
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    assert created.json()["state"] == "received" and created.json()["grid"] == "G001"
    assert created.json()["town"] == "tanshan" and created.json()["community"] == "tanshan-c01"

    api.act("intake", number, action="accept", comment="已核实来电")
    triaged = api.act("dispatcher", number, action="triage", in_scope=True, complex=True,
                      reasons="涉及物业与消防，需联动", matter="M-WYGL", factors=["消防"])
    assert triaged["triage"]["complex"] is True and triaged["triage"]["matter"] == "M-WYGL"
    dispatched = api.act("dispatcher", number, action="dispatch", unit="zjj", assisting_units=["cgj"])
    assert dispatched["is_joint"] is True and dispatched["lead_unit"] == "zjj"
    assert [a["unit"] for a in dispatched["assisting_units"]] == ["cgj"]

    start = at(dispatched["dispatched_at"])
    deadlines = dispatched["deadlines"]
    assert at(deadlines["acknowledge"]["due"]) == start + timedelta(hours=2)
    assert at(deadlines["resolve"]["due"]) == CALENDAR.add_working_days(start, 5).due
    assert deadlines["original_resolve_due"] == deadlines["resolve"]["due"]
    assert deadlines["calendar_fallback"] is CALENDAR.add_working_days(start, 5).fallback

    contributed = api.act("cgj", number, action="contribute", text="已对楼道堆物开展消防检查。")
    assert contributed["assisting_units"][0]["contribution"] == "已对楼道堆物开展消防检查。"
    acknowledged = api.act("zjjlead", number, action="acknowledge")
    assert acknowledged["deadlines"]["acknowledge"]["met"] is True
    resolved = api.act("zjj", number, action="resolve", reply=REPLY)  # everyone contributed: no override
    assert resolved["reply"] == REPLY and resolved["deadlines"]["resolve"]["met"] is True
    followed = api.act("intake", number, action="follow_up", solved=True, satisfaction="满意", comment="市民满意")
    assert followed["follow_up"]["satisfaction"] == "satisfied" and followed["follow_up"]["solved"] is True
    archived = api.act("supervisor", number, action="archive")
    assert archived["state"] == "archived" and archived["archived_at"]
    assert archived["allowed_actions"] == ["note"]

    trail = [(e["action"], e["from_state"], e["to_state"], e["actor"], e["actor_role"]) for e in archived["events"]]
    assert trail == [
        ("create", None, "received", "intake", "intake_agent"),
        ("accept", "received", "accepted", "intake", "intake_agent"),
        ("triage", "accepted", "triaged", "dispatcher", "dispatcher"),
        ("dispatch", "triaged", "dispatched", "dispatcher", "dispatcher"),
        ("contribute", "dispatched", "dispatched", "cgj", "unit_handler"),
        ("acknowledge", "dispatched", "acknowledged", "zjjlead", "unit_leader"),
        ("resolve", "acknowledged", "resolved", "zjj", "unit_handler"),
        ("follow_up", "resolved", "followed_up", "intake", "intake_agent"),
        ("archive", "followed_up", "archived", "supervisor", "supervisor"),
    ]
    events = {e["action"]: e for e in archived["events"]}
    assert events["accept"]["comment"] == "已核实来电"
    assert events["follow_up"]["comment"] == "市民满意"
    assert events["follow_up"]["data"] == {"solved": True, "satisfaction": "satisfied", "by": "staff"}
    assert events["dispatch"]["data"]["unit"] == "zjj"
    assert events["dispatch"]["data"]["assisting_units"] == ["cgj"]
    assert events["dispatch"]["data"]["policy"] == "默认"
    assert at(events["dispatch"]["data"]["resolve_due"]) == at(deadlines["resolve"]["due"])
    assert events["contribute"]["data"] == {"unit": "cgj"}
    assert events["acknowledge"]["data"] == {"on_time": True}
    assert events["resolve"]["data"] == {"on_time": True}
    # The closed loop read back from the trail: every step done.
    assert all(step["status"] == "done" for step in archived.get("closed_loop", [])), archived.get("closed_loop")


# ---------------------------------------------------------------- returns and rulings

def test_return_then_rule_upholding_the_return_sends_it_to_a_new_unit(api: Api, world: World) -> None:
    appeal = world.appeal("dispatched", unit="zjj")
    returned = api.act("zjj", appeal.number, action="return", reason="属违法建设，应由执法局查处",
                       suggested_unit="cgj", basis="权责清单 M-WFJS")
    assert returned["state"] == "returned" and returned["return_count"] == 1
    assert returned["events"][-1]["data"] == {"returned_by": "zjj", "suggested_unit": "cgj",
                                              "basis": "权责清单 M-WFJS"}
    ruled = api.act("dispatcher", appeal.number, action="rule", unit="cgj", matter="M-WFJS",
                    reason="依权责清单属执法局职责")
    assert ruled["state"] == "dispatched" and ruled["lead_unit"] == "cgj"
    event = ruled["events"][-1]
    assert (event["action"], event["from_state"], event["to_state"]) == ("rule", "returned", "dispatched")
    assert event["comment"] == "依权责清单属执法局职责"
    assert event["data"]["return_upheld"] is True and event["data"]["previous_unit"] == "zjj"
    assert event["data"]["matter"] == "M-WFJS" and event["data"]["legal_basis"] == WFJS_BASIS
    assert ruled["matter"]["code"] == "M-WFJS"


def test_rule_overruling_the_return_binds_the_same_unit_with_the_cited_matter(api: Api, world: World) -> None:
    # Filed under 违法建设 (cgj's matter), so zjj may return it; the dispatcher finds it is really
    # 物业服务监管 (zjj's own matter) and sends it back to zjj, citing that matter.
    appeal = world.appeal("dispatched", unit="zjj", matter="M-WFJS")
    api.act("zjj", appeal.number, action="return", reason="不属于本单位职责")
    ruled = api.act("dispatcher", appeal.number, action="rule", unit="zjj", matter="M-WYGL",
                    reason="属物业服务监管，退单不成立")
    event = ruled["events"][-1]
    assert event["data"]["return_upheld"] is False and event["data"]["previous_unit"] == "zjj"
    assert event["data"]["matter"] == "M-WYGL"
    assert event["data"]["legal_basis"] == WYGL_BASIS  # the basis of the matter cited, not the old one
    assert ruled["lead_unit"] == "zjj" and ruled["matter"]["code"] == "M-WYGL"
    # Bound now: the unit cannot return it again.
    refused = api.act("zjj", appeal.number, expect=409, action="return", reason="还是不归我们")
    assert refused["error"]["detail"]["matter"] == "M-WYGL"


def test_return_refused_when_the_matter_is_on_the_units_duty_list(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    appeal = world.appeal("accepted")
    api.act("dispatcher", appeal.number, action="triage", in_scope=True, matter="M-WYGL")
    api.act("dispatcher", appeal.number, action="dispatch", unit="zjj")
    before = api.get("dispatcher", appeal.number)
    refused = api.act("zjj", appeal.number, expect=409, action="return", reason="不属于本单位职责")
    error = refused["error"]
    assert error["code"] == "conflict" and "M-WYGL" in error["message"]
    assert error["detail"] == {"matter": "M-WYGL", "legal_basis": WYGL_BASIS}
    after = api.get("dispatcher", appeal.number)
    assert after["state"] == "dispatched" and after["return_count"] == 0
    assert len(after["events"]) == len(before["events"])


@pytest.mark.parametrize(("point", "unit", "handler", "status"), [
    (IN_G001, "tanshan", "tanshan", 409),        # the town where it happened
    (IN_G001, "tanshan-c01", "community", 409),  # a community of that town
    (IN_G001, "cgj", "cgj", 409),                # the matter's responsible department
    (IN_G001, "zjj", "zjj", 200),                # an unrelated department may return it
    (IN_G002, "tanshan", "tanshan", 200),        # happened in 吴林街道: not 坛山's territory
])
def test_territorial_matter_binds_the_town_where_it_happened(
        api: Api, world: World, point: tuple[float, float], unit: str, handler: str, status: int) -> None:
    appeal = world.appeal("accepted", point=point)
    api.act("dispatcher", appeal.number, action="triage", in_scope=True, matter="M-HJWS")
    api.act("dispatcher", appeal.number, action="dispatch", unit=unit)
    body = api.act(handler, appeal.number, expect=status, action="return", reason="不属于本单位职责")
    if status == 409:
        assert body["error"]["detail"]["matter"] == "M-HJWS"
    else:
        assert body["state"] == "returned"


def test_return_is_refused_in_the_service_even_within_one_long_session(world: World) -> None:
    """The duty-list check must not depend on how the caller's session was used: triage sets the
    matter, and a return in the same session must still see it."""
    appeal = world.appeal("accepted")
    dispatcher, zjj = world.actor("dispatcher"), world.actor("zjj")
    service.perform_action(world.session, dispatcher, appeal.number,
                           {"action": "triage", "in_scope": True, "matter": "M-WYGL"})
    service.perform_action(world.session, dispatcher, appeal.number, {"action": "dispatch", "unit": "zjj"})
    with pytest.raises(Conflict):
        service.perform_action(world.session, zjj, appeal.number, {"action": "return", "reason": "不归我们"})


@pytest.mark.parametrize(("filed_under", "unit", "cited", "basis"), [
    (None, "cgj", "M-WFJS", WFJS_BASIS),          # no matter before: the ruling cites one
    ("M-WFJS", "zjj", "M-WYGL", WYGL_BASIS),      # a different matter before: the cited one counts
], ids=["no-matter-before", "another-matter-before"])
def test_rule_in_the_same_session_as_the_return_cites_the_new_matter(
        world: World, filed_under: str | None, unit: str, cited: str, basis: str) -> None:
    """One session for several calls (the CLI, the demo loader, importers): the return reads the
    appeal's matter, and the ruling that follows must still see the matter it cites."""
    fields = {"matter": filed_under} if filed_under else {}
    appeal = world.appeal("dispatched", unit="zjj", **fields)
    session = world.session
    service.perform_action(session, world.actor("zjj"), appeal.number,
                           {"action": "return", "reason": "不属于本单位职责"})
    ruled = service.perform_action(session, world.actor("dispatcher"), appeal.number,
                                   {"action": "rule", "unit": unit, "matter": cited, "reason": "依权责清单审定"})
    event = service.events_of(session, ruled)[-1]
    assert event.data["matter"] == cited and event.data["legal_basis"] == basis
    assert ruled.matter is not None and ruled.matter.code == cited


def test_action_responses_show_the_matter_and_lead_unit_just_set(api: Api, world: World) -> None:
    appeal = world.appeal("accepted")
    triaged = api.act("dispatcher", appeal.number, action="triage", in_scope=True, matter="M-WYGL")
    assert triaged["matter"] is not None and triaged["matter"]["code"] == "M-WYGL"
    master = world.appeal("resolved")
    follower = world.appeal("received", point=None)
    merged = api.act("dispatcher", follower.number, action="merge", into=master.number)
    assert merged["state"] == "resolved"
    assert merged["lead_unit"] == "zjj"


# ---------------------------------------------------------------- joint handling

def test_complex_appeal_needs_assisting_units_and_gets_one_reply(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    appeal = world.appeal("accepted")
    api.act("dispatcher", appeal.number, action="triage", in_scope=True, complex=True, reasons="涉及多个部门")
    events = event_count(session_factory, appeal.number)
    refused = api.act("dispatcher", appeal.number, expect=422, action="dispatch", unit="zjj")
    assert refused["error"]["field"] == "assisting_units"
    assert api.get("dispatcher", appeal.number)["state"] == "triaged"
    assert event_count(session_factory, appeal.number) == events
    dispatched = api.act("dispatcher", appeal.number, action="dispatch", unit="zjj",
                         assisting_units=["cgj", "tanshan"])
    assert dispatched["is_joint"] is True
    assert {a["unit"] for a in dispatched["assisting_units"]} == {"cgj", "tanshan"}
    api.act("cgj", appeal.number, action="contribute", text="执法局已到场处置。")
    api.act("tanshan", appeal.number, action="contribute", text="街道已协调物业。")
    api.act("zjj", appeal.number, action="acknowledge")
    resolved = api.act("zjj", appeal.number, action="resolve", reply=REPLY)
    assert resolved["reply"] == REPLY
    assert [e["action"] for e in resolved["events"]].count("resolve") == 1
    assert all(a["contribution"] for a in resolved["assisting_units"])


def test_resolve_waits_for_assisting_units_unless_overridden(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    appeal = world.appeal("acknowledged", unit="zjj", assisting_units=["cgj"])
    events = event_count(session_factory, appeal.number)
    refused = api.act("zjj", appeal.number, expect=409, action="resolve", reply=REPLY)
    assert refused["error"]["detail"]["missing"] == ["区综合行政执法局"]
    assert event_count(session_factory, appeal.number) == events
    short = api.act("zjj", appeal.number, expect=422, action="resolve", reply="已处理", without_assistants=True)
    assert short["error"]["field"] == "reply"
    resolved = api.act("zjj", appeal.number, action="resolve", reply=REPLY, without_assistants=True)
    assert resolved["state"] == "resolved"


# ---------------------------------------------------------------- extensions, reminders, supervision

def test_approved_extension_moves_resolve_due_by_working_days(api: Api, world: World) -> None:
    appeal = world.appeal("acknowledged")
    before = api.get("dispatcher", appeal.number)["deadlines"]
    requested = api.act("zjj", appeal.number, action="request_extension", working_days=4, reason="需协调物业公司")
    assert requested["extension_pending"]["working_days"] == 4
    assert requested["extension_pending"]["requested_by"] == "zjj"
    assert "approve_extension" in api.get("supervisor", appeal.number)["allowed_actions"]
    approved = api.act("supervisor", appeal.number, action="approve_extension")
    old_due = at(before["resolve"]["due"])
    expected = CALENDAR.add_working_days(old_due, 4).due
    assert at(approved["deadlines"]["resolve"]["due"]) == expected
    assert approved["deadlines"]["original_resolve_due"] == before["resolve"]["due"]
    assert approved["extension_pending"] is None
    event = approved["events"][-1]
    assert event["action"] == "approve_extension" and at(event["data"]["resolve_due"]) == expected
    assert event["public_note"]


def test_refused_extension_keeps_the_deadline(api: Api, world: World) -> None:
    appeal = world.appeal("acknowledged")
    due = api.get("dispatcher", appeal.number)["deadlines"]["resolve"]["due"]
    api.act("zjj", appeal.number, action="request_extension", working_days=10, reason="工程量大")
    api.act("dispatcher", appeal.number, expect=422, action="refuse_extension")  # a reason is required
    refused = api.act("dispatcher", appeal.number, action="refuse_extension", reason="可先行处置")
    assert refused["deadlines"]["resolve"]["due"] == due
    assert refused["extension_pending"] is None
    assert refused["events"][-1]["comment"] == "可先行处置"
    assert refused["events"][-1]["data"]["working_days"] == 10


@pytest.mark.parametrize("working_days", [0, 61, -1, 2.5, "3", True, None])
def test_extension_request_needs_a_sensible_number_of_working_days(
        api: Api, world: World, working_days: Any) -> None:
    appeal = world.appeal("acknowledged")
    body = api.act("zjj", appeal.number, expect=422, action="request_extension", working_days=working_days,
                   reason="需要更多时间")
    assert body["error"]["field"] == "working_days"


def test_a_second_extension_request_while_one_is_pending_is_refused(api: Api, world: World) -> None:
    """allowed_actions withholds request_extension while a request is pending; perform_action
    must agree instead of silently replacing the pending request."""
    appeal = world.appeal("acknowledged")
    api.act("zjj", appeal.number, action="request_extension", working_days=2, reason="第一次申请")
    assert "request_extension" not in api.get("zjj", appeal.number)["allowed_actions"]
    api.act("zjj", appeal.number, expect=409, action="request_extension", working_days=30, reason="第二次申请")
    pending = api.get("supervisor", appeal.number)["extension_pending"]
    assert pending["working_days"] == 2 and pending["reason"] == "第一次申请"


def test_remind_counts_and_supervise_flags(api: Api, client: TestClient, world: World) -> None:
    appeal = world.appeal("dispatched")
    other = world.appeal("dispatched")
    first = api.act("dispatcher", appeal.number, action="remind", comment="请尽快签收")
    second = api.act("leader", appeal.number, action="remind")
    assert (first["reminder_count"], second["reminder_count"]) == (1, 2)
    assert second["events"][-1]["data"] == {"count": 2}
    assert second["state"] == "dispatched"
    api.act("supervisor", appeal.number, expect=422, action="supervise")  # needs a reason
    supervised = api.act("leader", appeal.number, action="supervise", reason="领导批示督办")
    assert supervised["is_supervised"] is True and supervised["events"][-1]["comment"] == "领导批示督办"
    listed = client.get("/api/v1/appeals", params={"supervised": "true"}, headers=api.headers("supervisor"))
    assert [i["number"] for i in listed.json()["items"]] == [appeal.number]
    unlisted = client.get("/api/v1/appeals", params={"supervised": "false"}, headers=api.headers("supervisor"))
    assert other.number in [i["number"] for i in unlisted.json()["items"]]


# ---------------------------------------------------------------- reopening

def test_reopen_after_a_dissatisfied_follow_up(api: Api, world: World) -> None:
    with clock.frozen_at(datetime(2026, 6, 1, 9, tzinfo=DISTRICT_TZ)):
        appeal = world.appeal("followed_up", solved=False, satisfaction="dissatisfied")
    first = api.get("dispatcher", appeal.number)
    moment = datetime(2026, 6, 10, 15, 30, tzinfo=DISTRICT_TZ)
    with clock.frozen_at(moment):
        reopened = api.act("supervisor", appeal.number, action="reopen", reason="市民反映路灯仍不亮")
    assert reopened["state"] == "dispatched" and reopened["reopen_count"] == 1
    assert reopened["reply"] is None and reopened["follow_up"] is None
    assert reopened["lead_unit"] == "zjj"
    assert at(reopened["dispatched_at"]) == moment
    assert at(reopened["deadlines"]["acknowledge"]["due"]) == moment + timedelta(hours=2)
    assert at(reopened["deadlines"]["resolve"]["due"]) == CALENDAR.add_working_days(moment, 5).due
    assert reopened["deadlines"]["resolve"]["due"] != first["deadlines"]["resolve"]["due"]
    event = reopened["events"][-1]
    assert event["data"]["round"] == 2 and event["comment"] == "市民反映路灯仍不亮"
    api.act("zjj", appeal.number, action="acknowledge")
    again = api.act("zjj", appeal.number, action="resolve", reply="已更换整条线路，路灯恢复正常。")
    assert again["state"] == "resolved" and again["reopen_count"] == 1


# ---------------------------------------------------------------- merging

def test_merged_follower_is_resolved_with_the_masters_reply(api: Api, client: TestClient, world: World) -> None:
    master = world.appeal("acknowledged")
    follower = world.appeal("received")
    merged = api.act("dispatcher", follower.number, action="merge", into=master.number)
    assert merged["state"] == "merged" and merged["master"] == master.number
    assert merged["allowed_actions"] == ["note"]
    assert api.get("dispatcher", master.number)["merged"] == [follower.number]
    api.act("zjj", master.number, action="resolve", reply=REPLY)
    after = api.get("dispatcher", follower.number)
    assert after["state"] == "resolved" and after["reply"] == REPLY
    assert after["lead_unit"] == "zjj" and after["resolved_at"]
    event = after["events"][-1]
    assert (event["action"], event["from_state"], event["to_state"]) == ("resolve", "merged", "resolved")
    assert master.number in event["comment"]
    # The follower's citizen can now rate the reply.
    code = service.query_code_for(world.session, follower.number)
    public = client.get(f"/api/v1/public/appeals/{follower.number}", params={"query_code": code}).json()
    assert public["reply"] == REPLY and public["can_rate"] is True


@pytest.mark.parametrize("master_state", ["resolved", "followed_up"])
def test_merge_into_a_resolved_master_resolves_at_once(api: Api, world: World, master_state: str) -> None:
    master = world.appeal(master_state)
    follower = world.appeal("accepted")
    api.act("dispatcher", follower.number, action="merge", into=master.number)
    after = api.get("dispatcher", follower.number)
    assert after["state"] == "resolved" and after["reply"] == REPLY and after["master"] == master.number
    assert after["lead_unit"] == "zjj"
    assert after["events"][-1]["action"] == "merge"


def test_merge_into_itself_or_an_unknown_appeal(api: Api, world: World) -> None:
    appeal = world.appeal("received")
    assert api.act("dispatcher", appeal.number, expect=422, action="merge", into=appeal.number)["error"]["field"] \
        == "into"
    api.act("dispatcher", appeal.number, expect=404, action="merge", into="YC20990101-00001")
    api.act("dispatcher", appeal.number, expect=422, action="merge")


# ---------------------------------------------------------------- deadlines and time-limit policies

def test_green_channel_development_appeal_gets_the_shorter_policy(api: Api, world: World) -> None:
    moment = datetime(2026, 5, 12, 10, tzinfo=DISTRICT_TZ)  # a Tuesday
    with clock.frozen_at(moment):
        green = world.appeal("dispatched", appeal_kind="development")
        plain = world.appeal("dispatched")
    green_body, plain_body = api.get("dispatcher", green.number), api.get("dispatcher", plain.number)
    assert green_body["appeal_kind"] == "development"
    assert at(green_body["deadlines"]["acknowledge"]["due"]) == moment + timedelta(hours=1)
    assert at(green_body["deadlines"]["resolve"]["due"]) == CALENDAR.add_working_days(moment, 3).due
    assert at(green_body["deadlines"]["resolve"]["due"]) == datetime(2026, 5, 15, 23, 59, 59, tzinfo=DISTRICT_TZ)
    assert at(plain_body["deadlines"]["acknowledge"]["due"]) == moment + timedelta(hours=2)
    assert at(plain_body["deadlines"]["resolve"]["due"]) == datetime(2026, 5, 19, 23, 59, 59, tzinfo=DISTRICT_TZ)
    green_dispatch = [e for e in green_body["events"] if e["action"] == "dispatch"][-1]
    plain_dispatch = [e for e in plain_body["events"] if e["action"] == "dispatch"][-1]
    assert green_dispatch["data"]["policy"] == "发展诉求·绿色通道"
    assert plain_dispatch["data"]["policy"] == "默认"


def test_kind_changed_at_acceptance_decides_the_policy(api: Api, world: World) -> None:
    appeal = world.appeal("received")
    api.act("intake", appeal.number, action="accept", appeal_kind="发展诉求")
    dispatched = api.act("dispatcher", appeal.number, action="dispatch", unit="zjj")
    assert dispatched["appeal_kind"] == "development"
    assert dispatched["events"][-1]["data"]["policy"] == "发展诉求·绿色通道"


def test_deadline_across_national_day_2026(api: Api, world: World) -> None:
    # Tue 29 Sep; Wed 30 Sep counts (1); 1-7 Oct are off; Thu 8 (2), Fri 9 (3), Sat 10 Oct is a
    # make-up working day (4); Sun 11 is off; Mon 12 Oct (5).
    moment = datetime(2026, 9, 29, 10, tzinfo=DISTRICT_TZ)
    with clock.frozen_at(moment):
        appeal = world.appeal("dispatched")
    body = api.get("dispatcher", appeal.number)
    expected = datetime(2026, 10, 12, 23, 59, 59, tzinfo=DISTRICT_TZ)
    assert CALENDAR.add_working_days(moment, 5).due == expected
    assert at(body["deadlines"]["resolve"]["due"]) == expected
    assert body["deadlines"]["resolve"]["due"] == "2026-10-12T23:59:59+08:00"
    assert at(body["deadlines"]["acknowledge"]["due"]) == datetime(2026, 9, 29, 12, tzinfo=DISTRICT_TZ)
    assert body["deadlines"]["calendar_fallback"] is False


def test_deadline_running_into_2027_is_flagged_as_a_calendar_fallback(api: Api, world: World) -> None:
    moment = datetime(2026, 12, 30, 10, tzinfo=DISTRICT_TZ)
    with clock.frozen_at(moment):
        appeal = world.appeal("dispatched")
    body = api.get("dispatcher", appeal.number)
    expected = CALENDAR.add_working_days(moment, 5)
    assert expected.fallback and expected.fallback_years == (2027,)
    assert at(body["deadlines"]["resolve"]["due"]) == expected.due
    # Weekends only for 2027: Thu 31 Dec, Fri 1 Jan, Mon 4, Tue 5, Wed 6 Jan.
    assert body["deadlines"]["resolve"]["due"] == "2027-01-06T23:59:59+08:00"
    assert body["deadlines"]["calendar_fallback"] is True
    dispatch = [e for e in body["events"] if e["action"] == "dispatch"][-1]
    assert dispatch["data"]["calendar_fallback"] is True


# ---------------------------------------------------------------- overdue

def test_mark_overdue_flags_once_with_one_event_and_the_filter_lists_it(
        client: TestClient, world: World, api: Api) -> None:
    start = datetime(2026, 3, 2, 9, tzinfo=DISTRICT_TZ)  # Monday
    with clock.frozen_at(start):
        late_resolve = world.appeal("acknowledged")
        late_ack = world.appeal("dispatched")
        resolved = world.appeal("resolved")
    with clock.frozen_at(start + timedelta(hours=1)):
        assert service.mark_overdue(world.session) == 0
    with clock.frozen_at(start + timedelta(hours=3)):
        assert service.mark_overdue(world.session) == 1  # late_ack: acknowledgement was due at 11:00
    with clock.frozen_at(start + timedelta(days=14)):
        assert service.mark_overdue(world.session) == 1  # late_resolve; late_ack is flagged already
        assert service.mark_overdue(world.session) == 0
    world.session.expire_all()
    for appeal, deadline in ((late_ack, "acknowledge"), (late_resolve, "resolve")):
        events = [e for e in service.events_of(world.session, appeal) if e.action == "overdue"]
        assert len(events) == 1 and events[0].data == {"deadline": deadline}
        assert events[0].from_state == events[0].to_state == appeal.state
        assert service.get_appeal(world.session, appeal.number).is_overdue
    assert not service.get_appeal(world.session, resolved.number).is_overdue
    listed = client.get("/api/v1/appeals", params={"overdue": "true"}, headers=api.headers("supervisor"))
    assert {i["number"] for i in listed.json()["items"]} == {late_ack.number, late_resolve.number}
    assert all(i["is_overdue"] for i in listed.json()["items"])
    on_time = client.get("/api/v1/appeals", params={"overdue": "false"}, headers=api.headers("supervisor"))
    assert {i["number"] for i in on_time.json()["items"]} == {resolved.number}


def test_resolving_clears_the_overdue_flag_on_the_next_run(world: World) -> None:
    start = datetime(2026, 3, 2, 9, tzinfo=DISTRICT_TZ)
    with clock.frozen_at(start):
        appeal = world.appeal("acknowledged")
    with clock.frozen_at(start + timedelta(days=14)):
        assert service.mark_overdue(world.session) == 1
        service.perform_action(world.session, world.actor("zjj"), appeal.number,
                               {"action": "resolve", "reply": REPLY})
        assert service.mark_overdue(world.session) == 0
    world.session.expire_all()
    after = service.get_appeal(world.session, appeal.number)
    assert after.state == "resolved" and not after.is_overdue
    assert after.resolved_at is not None and after.resolve_due is not None and after.resolved_at > after.resolve_due


# ---------------------------------------------------------------- concurrency

def test_optimistic_concurrency_the_second_writer_gets_conflict(
        world: World, session_factory: sessionmaker[Session]) -> None:
    number = world.appeal("received").number
    first, second = session_factory(), session_factory()
    try:
        # Both hold the loaded appeal (as two requests in flight would) before either writes.
        mine, theirs = service.get_appeal(first, number), service.get_appeal(second, number)
        assert mine.version == theirs.version and theirs.state == "received"
        service.perform_action(first, world.actor("intake"), number, {"action": "accept"})
        with pytest.raises(Conflict) as lost:
            service.perform_action(second, world.actor("dispatcher"), number,
                                   {"action": "reject", "reason": "重复来电"})
        assert "刷新" in lost.value.message_zh
        # After the conflict the loser sees the winner's write and can decide again.
        assert service.get_appeal(second, number).state == "accepted"
        service.perform_action(second, world.actor("dispatcher"), number, {"action": "reject", "reason": "重复来电"})
    finally:
        first.close()
        second.close()
    with session_factory() as check:
        appeal = service.get_appeal(check, number)
        events = [e.action for e in service.events_of(check, appeal)]
        assert appeal.state == "rejected" and events == ["create", "accept", "reject"]


# ---------------------------------------------------------------- idempotency

def test_idempotency_key_on_staff_intake(client: TestClient, world: World, api: Api,
                                         session_factory: sessionmaker[Session]) -> None:
    headers = {**api.headers("intake"), "Idempotency-Key": "call-2026-0001"}
    body = {"title": "噪音扰民", "content": "夜间施工噪音扰民", "citizen_phone": "13812345678"}
    first = client.post("/api/v1/appeals", json=body, headers=headers)
    second = client.post("/api/v1/appeals", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["number"] == second.json()["number"]
    assert first.json()["query_code"] == second.json()["query_code"]
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Appeal)) == 1
    other = client.post("/api/v1/appeals", json=body, headers={**api.headers("intake"), "Idempotency-Key": "x2"})
    assert other.status_code == 201 and other.json()["number"] != first.json()["number"]


def test_idempotency_key_on_public_submit(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    body = {"title": "路灯不亮", "content": "青檀小区路灯坏了", "citizen_phone": "13812345678"}
    first = client.post("/api/v1/public/appeals", json=body, headers={"Idempotency-Key": "web-form-abc"})
    second = client.post("/api/v1/public/appeals", json=body, headers={"Idempotency-Key": "web-form-abc"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["created"] is True and second.json()["created"] is False
    assert first.json()["number"] == second.json()["number"]
    assert first.json()["query_code"] == second.json()["query_code"]
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Appeal)) == 1
        appeal = s.scalar(select(Appeal))
        assert appeal is not None and appeal.channel == "web"
        assert [e.action for e in service.events_of(s, appeal)] == ["create"]


# ---------------------------------------------------------------- citizens

def test_citizen_rates_the_reply_with_number_and_query_code(client: TestClient, world: World,
                                                            session_factory: sessionmaker[Session]) -> None:
    appeal = world.appeal("resolved")
    code = service.query_code_for(world.session, appeal.number)
    url = f"/api/v1/public/appeals/{appeal.number}/follow-up"
    bad = client.post(url, json={"query_code": code, "solved": True, "satisfaction": "very happy"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "satisfaction"
    rated = client.post(url, json={"query_code": code, "solved": True, "satisfaction": "基本满意",
                                   "comment": "修好了，谢谢"})
    assert rated.status_code == 200, rated.text
    body = rated.json()
    assert body["state"] == "followed_up" and body["can_rate"] is False
    assert body["follow_up"] == {"solved": True, "satisfaction": "fairly_satisfied"}
    assert body["timeline"][-1]["action"] == "follow_up"
    again = client.post(url, json={"query_code": code, "solved": True, "satisfaction": "satisfied"})
    assert again.status_code == 409
    with session_factory() as s:
        stored = service.get_appeal(s, appeal.number)
        event = service.events_of(s, stored)[-1]
        assert event.actor_role == "citizen" and event.actor_id is None
        assert event.data == {"solved": True, "satisfaction": "fairly_satisfied", "by": "citizen"}
        assert stored.follow_up_comment == "修好了，谢谢" and stored.reopen_count == 0


def test_citizens_unhappy_rating_reopens_the_appeal_once(api: Api, client: TestClient, world: World,
                                                         session_factory: sessionmaker[Session]) -> None:
    """An unsolved or dissatisfied citizen rating reopens the appeal at once, as the system, while
    it has been reopened fewer times than ``auto_reopen_limit`` (1 by default); after that the
    centre decides."""
    appeal = world.appeal("resolved")
    code = service.query_code_for(world.session, appeal.number)
    url = f"/api/v1/public/appeals/{appeal.number}/follow-up"
    rated = client.post(url, json={"query_code": code, "solved": False, "satisfaction": "不满意",
                                   "comment": "灯还是不亮"})
    assert rated.status_code == 200, rated.text
    assert rated.json()["state"] == "dispatched"
    with session_factory() as s:
        stored = service.get_appeal(s, appeal.number)
        follow_up, reopen = service.events_of(s, stored)[-2:]
        assert (follow_up.action, follow_up.actor_role) == ("follow_up", "citizen")
        assert follow_up.data == {"solved": False, "satisfaction": "dissatisfied", "by": "citizen"}
        assert (reopen.action, reopen.from_state, reopen.to_state) == ("reopen", "followed_up", "dispatched")
        assert reopen.actor_role == "system" and reopen.comment
        assert stored.reopen_count == 1 and stored.lead_unit is not None and stored.lead_unit.code == "zjj"
    api.act("zjj", appeal.number, action="acknowledge")
    api.act("zjj", appeal.number, action="resolve", reply="已更换整条线路，路灯恢复正常。")
    second = client.post(url, json={"query_code": code, "solved": False, "satisfaction": "dissatisfied"})
    assert second.status_code == 200 and second.json()["state"] == "followed_up"
    # Past the limit the centre decides: it may still reopen by hand.
    reopened = api.act("supervisor", appeal.number, action="reopen", reason="市民再次评价不满意")
    assert reopened["state"] == "dispatched" and reopened["reopen_count"] == 2


def test_citizen_cannot_rate_before_the_reply(client: TestClient, world: World) -> None:
    appeal = world.appeal("acknowledged")
    code = service.query_code_for(world.session, appeal.number)
    response = client.post(f"/api/v1/public/appeals/{appeal.number}/follow-up",
                           json={"query_code": code, "solved": True, "satisfaction": "satisfied"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_rejection_tells_the_citizen_why(client: TestClient, world: World, api: Api) -> None:
    appeal = world.appeal("received")
    client.post(f"/api/v1/appeals/{appeal.number}/actions", headers=api.headers("intake"),
                json={"action": "reject", "reason": "属司法诉讼事项，请通过法院途径解决"})
    code = service.query_code_for(world.session, appeal.number)
    public = client.get(f"/api/v1/public/appeals/{appeal.number}", params={"query_code": code}).json()
    assert public["state"] == "rejected"
    assert public["timeline"][-1]["note"] == "不予受理：属司法诉讼事项，请通过法院途径解决"


def test_service_refuses_bad_input_without_changing_anything(
        world: World, session_factory: sessionmaker[Session]) -> None:
    appeal = world.appeal("received")
    before = event_count(session_factory, appeal.number)
    for payload in ({"action": "reject"}, {"action": "reject", "reason": "   "},
                    {"action": "reject", "reason": 42}, {"action": "accept", "comment": "x" * 4001},
                    {"action": "accept", "category": "不存在的分类"}, {"action": "accept", "appeal_kind": "外星诉求"}):
        with pytest.raises(InvalidInput):
            service.perform_action(world.session, world.actor("intake"), appeal.number, payload)
    assert event_count(session_factory, appeal.number) == before
    assert service.get_appeal(world.session, appeal.number).state == "received"
