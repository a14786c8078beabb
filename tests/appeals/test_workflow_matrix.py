"""Every workflow action in every state, allowed and refused, and every role that may not act.

The expectations are written out here from the workflow's specification (who does what, from
which state) rather than read back from ``service.RULES``; one test checks that the two agree, so
a change to either is a deliberate act.

Speed: the matrix has ~200 cases, so this module builds the small district once (module scope)
and each case drives fresh appeals inside it; each case only looks at its own appeals.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sudi.appeals import service
from sudi.appeals.models import Appeal, AppealEvent, State
from sudi.core.errors import Conflict, Forbidden, SudiError
from tests import module_world
from tests.factories import World

ALL_STATES = [s.value for s in State]
USERS = ["admin", "intake", "dispatcher", "supervisor", "leader", "mediator", "zjj", "zjjlead", "cgj",
         "tanshan", "community", "grid1", "grid2"]

# ---------------------------------------------------------------- the specification

# The states each action may be taken from.
SPEC_FROM: dict[str, set[str]] = {
    "accept": {"received"},
    "reject": {"received", "accepted", "triaged"},
    "triage": {"accepted", "triaged", "returned"},
    "dispatch": {"accepted", "triaged", "returned"},
    "acknowledge": {"dispatched"},
    "return": {"dispatched", "acknowledged"},
    "rule": {"returned"},
    "request_extension": {"acknowledged"},
    "approve_extension": {"acknowledged"},
    "refuse_extension": {"acknowledged"},
    "remind": {"dispatched", "acknowledged"},
    "supervise": {"dispatched", "acknowledged", "returned"},
    "contribute": {"dispatched", "acknowledged"},
    "resolve": {"acknowledged"},
    "follow_up": {"resolved"},
    "reopen": {"followed_up"},
    "archive": {"followed_up", "rejected", "resolved"},
    "merge": {"received", "accepted", "triaged", "dispatched", "returned", "acknowledged"},
    "note": set(ALL_STATES),
}

# Who may do it, on an appeal led by zjj with cgj assisting, located in grid G001 (坛山街道).
CENTRE_INTAKE = {"admin", "intake", "dispatcher"}
CENTRE_DISPATCH = {"admin", "dispatcher"}
LEAD = {"zjj", "zjjlead"}
SPEC_WHO: dict[str, set[str]] = {
    "accept": CENTRE_INTAKE,
    "reject": CENTRE_INTAKE,
    "triage": CENTRE_DISPATCH,
    "dispatch": CENTRE_DISPATCH,
    "acknowledge": LEAD,
    "return": LEAD,
    "rule": CENTRE_DISPATCH,
    "request_extension": LEAD,
    "approve_extension": {"admin", "dispatcher", "supervisor"},
    "refuse_extension": {"admin", "dispatcher", "supervisor"},
    "remind": {"admin", "dispatcher", "supervisor", "leader"},
    "supervise": {"admin", "supervisor", "leader"},
    "contribute": {"cgj"},
    "resolve": LEAD,
    "follow_up": {"admin", "intake", "dispatcher", "supervisor"},
    "reopen": {"admin", "dispatcher", "supervisor"},
    "archive": {"admin", "dispatcher", "supervisor"},
    "merge": CENTRE_DISPATCH,
    # Any staff member who can see the appeal: the lead and assisting units, the centre and the
    # grid worker of G001; not the mediator, not 坛山街道 (it neither leads nor assists), not G002.
    "note": {"admin", "intake", "dispatcher", "supervisor", "leader", "zjj", "zjjlead", "cgj", "grid1"},
}

# The user making the allowed call in the state matrix.
ACTOR = {
    "accept": "intake", "reject": "intake", "triage": "dispatcher", "dispatch": "dispatcher",
    "acknowledge": "zjj", "return": "zjj", "rule": "dispatcher", "request_extension": "zjj",
    "approve_extension": "supervisor", "refuse_extension": "supervisor", "remind": "dispatcher",
    "supervise": "supervisor", "contribute": "cgj", "resolve": "zjj", "follow_up": "intake",
    "reopen": "supervisor", "archive": "supervisor", "merge": "dispatcher", "note": "dispatcher",
}

# Minimal valid payloads ("merge" gets its "into" filled in per case).
PAYLOADS: dict[str, dict[str, Any]] = {
    "accept": {},
    "reject": {"reason": "不属于本平台受理范围"},
    "triage": {"in_scope": True, "reasons": "属于物业服务范围"},
    "dispatch": {"unit": "zjj", "assisting_units": ["cgj"]},
    "acknowledge": {},
    "return": {"reason": "不属于本单位职责"},
    "rule": {"unit": "zjj", "matter": "M-WYGL", "reason": "依权责清单由住建局办理"},
    "request_extension": {"working_days": 3, "reason": "需协调物业公司到场"},
    "approve_extension": {"reason": "同意延期"},
    "refuse_extension": {"reason": "理由不充分"},
    "remind": {"comment": "请尽快办理"},
    "supervise": {"reason": "群众多次来电反映"},
    "contribute": {"text": "已配合现场核查，情况属实。"},
    "resolve": {"reply": "经现场核查，已安排维修人员更换路灯，现已恢复照明。", "without_assistants": True},
    "follow_up": {"solved": True, "satisfaction": "satisfied"},
    "reopen": {"reason": "群众反映问题仍未解决"},
    "archive": {"reason": "回访电话无人接听"},
    "merge": {},
    "note": {"comment": "内部备注：已电话联系"},
}

# Where a successful action leaves the appeal (None: where it was).
TO_STATE: dict[str, str | None] = {
    "accept": "accepted", "reject": "rejected", "triage": "triaged", "dispatch": "dispatched",
    "acknowledge": "acknowledged", "return": "returned", "rule": "dispatched", "resolve": "resolved",
    "follow_up": "followed_up", "reopen": "dispatched", "archive": "archived", "merge": "merged",
}

# Appeals in these states have never been dispatched (the factory's paths), so no unit holds them:
# a unit-only action there is refused because nobody in a unit may act on it (403), not by state.
UNROUTED = {"received", "accepted", "triaged", "rejected", "merged"}
UNIT_ACTIONS = {"acknowledge", "return", "request_extension", "resolve", "contribute"}


def expected_to_state(action: str, state: str) -> str:
    if action == "triage" and state == "returned":
        return "returned"  # a returned appeal is re-triaged in place, then ruled or dispatched
    return TO_STATE.get(action) or state


def test_rules_table_matches_the_specification() -> None:
    assert set(service.RULES) == set(SPEC_FROM)
    actual = {name: {s.value for s in rule.from_states} for name, rule in service.RULES.items()}
    assert actual == SPEC_FROM


# ---------------------------------------------------------------- one district per module

@pytest.fixture
def w(district: World) -> World:
    """The module's district, with nothing left over in the session from the previous case."""
    return module_world.quiet_session(district)


@pytest.fixture(scope="module")
def refusal_appeals(district: World) -> dict[str, str]:
    """state -> number of an appeal kept in that state for refused calls, which change nothing."""
    return {}


@pytest.fixture(scope="module")
def api(database_url: str, factory: sessionmaker[Session], district: World,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with module_world.api_client(database_url, factory, tmp_path_factory.mktemp("media")) as client:
        yield client


# ---------------------------------------------------------------- helpers

def snapshot(factory: sessionmaker[Session], number: str) -> dict[str, Any]:
    """What a refused call must not change, read in a session of its own."""
    with factory() as s:
        appeal = s.scalar(select(Appeal).where(Appeal.number == number))
        assert appeal is not None
        events = s.scalar(select(func.count()).select_from(AppealEvent).where(AppealEvent.appeal_id == appeal.id))
        return {"state": appeal.state, "version": appeal.version, "events": events,
                "lead_unit_id": appeal.lead_unit_id, "master_id": appeal.master_id, "reply": appeal.reply,
                "extension_pending": appeal.extension_pending, "resolve_due": appeal.resolve_due,
                "reminder_count": appeal.reminder_count, "is_supervised": appeal.is_supervised,
                "contributions": sorted((a.unit_id, a.contribution) for a in appeal.assisting),
                "updated_at": appeal.updated_at}


def make_in_state(w: World, state: str, action: str) -> Appeal:
    """An appeal led by zjj with cgj assisting, in ``state``, with the action's precondition met."""
    satisfaction = "dissatisfied" if action == "reopen" else "satisfied"
    appeal = w.appeal(state, unit="zjj", assisting_units=["cgj"], satisfaction=satisfaction)
    if state == "acknowledged" and action in ("approve_extension", "refuse_extension"):
        service.perform_action(w.session, w.actor("zjj"), appeal.number,
                               {"action": "request_extension", "working_days": 3, "reason": "需协调"})
    w.session.expire_all()
    return service.get_appeal(w.session, appeal.number)


def payload_for(w: World, action: str, cache: dict[str, str] | None = None) -> dict[str, Any]:
    payload = {"action": action, **PAYLOADS[action]}
    if action == "merge":
        if cache is None:
            payload["into"] = w.appeal("received").number
        else:  # a merge target may take any number of followers
            if "merge-target" not in cache:
                cache["merge-target"] = w.appeal("received").number
            payload["into"] = cache["merge-target"]
    return payload


# ---------------------------------------------------------------- every action in every state

def shared_in_state(w: World, cache: dict[str, str], state: str) -> Appeal:
    """A refused call changes nothing (each case asserts so), so the refused cases of one state
    share one appeal; a case that changed it drops it from the cache."""
    if state not in cache:
        cache[state] = w.appeal(state, unit="zjj", assisting_units=["cgj"]).number
    w.session.expire_all()
    return service.get_appeal(w.session, cache[state])


@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("action", list(SPEC_FROM))
def test_action_in_state(w: World, factory: sessionmaker[Session], refusal_appeals: dict[str, str],
                         action: str, state: str) -> None:
    allowed = state in SPEC_FROM[action]
    appeal = make_in_state(w, state, action) if allowed else shared_in_state(w, refusal_appeals, state)
    actor = w.actor(ACTOR[action])
    payload = payload_for(w, action, refusal_appeals)
    before = snapshot(factory, appeal.number)

    offered = action in service.allowed_actions(w.session, actor, appeal)
    assert offered == allowed, f"allowed_actions offers {action} in {state}: {offered}"

    if allowed:
        result = service.perform_action(w.session, actor, appeal.number, payload)
        after = snapshot(factory, appeal.number)
        assert result.state == after["state"] == expected_to_state(action, state)
        assert after["version"] > before["version"]
        assert after["events"] == before["events"] + 1
        last = service.events_of(w.session, result)[-1]
        assert (last.action, last.from_state, last.to_state) == (action, state, after["state"])
        assert last.actor_name == actor.name
        return

    expected = Forbidden if action in UNIT_ACTIONS and state in UNROUTED else Conflict
    try:
        with pytest.raises(SudiError) as refused:
            service.perform_action(w.session, actor, appeal.number, payload)
        assert type(refused.value) is expected, refused.value.message_en
        assert refused.value.message_zh and refused.value.message_en
        assert snapshot(factory, appeal.number) == before
    except BaseException:
        refusal_appeals.pop(state, None)
        raise


# ---------------------------------------------------------------- preconditions, both sides

@pytest.mark.parametrize("action", ["approve_extension", "refuse_extension"])
def test_extension_decisions_need_a_pending_request(w: World, factory: sessionmaker[Session], action: str) -> None:
    appeal = make_in_state(w, "acknowledged", "remind")  # no request made
    supervisor = w.actor("supervisor")
    assert action not in service.allowed_actions(w.session, supervisor, appeal)
    before = snapshot(factory, appeal.number)
    with pytest.raises(Conflict):
        service.perform_action(w.session, supervisor, appeal.number, payload_for(w, action))
    assert snapshot(factory, appeal.number) == before


@pytest.mark.parametrize(("solved", "satisfaction", "may_reopen"), [
    (True, "satisfied", False),
    (True, "fairly_satisfied", False),
    (True, "dissatisfied", True),
    (False, "satisfied", True),
    (False, "dissatisfied", True),
])
def test_reopen_needs_an_unsolved_or_dissatisfied_follow_up(
        w: World, factory: sessionmaker[Session], solved: bool, satisfaction: str, may_reopen: bool) -> None:
    appeal = w.appeal("followed_up", solved=solved, satisfaction=satisfaction)
    supervisor = w.actor("supervisor")
    assert ("reopen" in service.allowed_actions(w.session, supervisor, appeal)) == may_reopen
    before = snapshot(factory, appeal.number)
    payload = payload_for(w, "reopen")
    if may_reopen:
        result = service.perform_action(w.session, supervisor, appeal.number, payload)
        assert result.state == "dispatched"
        assert result.reopen_count == 1
        return
    with pytest.raises(Conflict):
        service.perform_action(w.session, supervisor, appeal.number, payload)
    assert snapshot(factory, appeal.number) == before


@pytest.mark.parametrize("master_state", ["merged", "rejected", "archived"])
def test_merge_into_a_closed_or_merged_master_is_refused(
        w: World, factory: sessionmaker[Session], master_state: str) -> None:
    master = w.appeal(master_state)
    appeal = w.appeal("received")
    before = snapshot(factory, appeal.number)
    with pytest.raises(Conflict):
        service.perform_action(w.session, w.actor("dispatcher"), appeal.number,
                               {"action": "merge", "into": master.number})
    assert snapshot(factory, appeal.number) == before


def test_a_master_cannot_itself_be_merged(w: World, factory: sessionmaker[Session]) -> None:
    master = w.appeal("accepted")
    follower = w.appeal("received")
    other = w.appeal("received")
    dispatcher = w.actor("dispatcher")
    service.perform_action(w.session, dispatcher, follower.number, {"action": "merge", "into": master.number})
    before = snapshot(factory, master.number)
    with pytest.raises(Conflict):
        service.perform_action(w.session, dispatcher, master.number, {"action": "merge", "into": other.number})
    assert snapshot(factory, master.number) == before


# ---------------------------------------------------------------- the role side

# A state in which each action is allowed, for the role checks.
ROLE_STATE = {
    "accept": "received", "reject": "received", "triage": "accepted", "dispatch": "accepted",
    "acknowledge": "dispatched", "return": "dispatched", "rule": "returned",
    "request_extension": "acknowledged", "approve_extension": "acknowledged",
    "refuse_extension": "acknowledged", "remind": "dispatched", "supervise": "dispatched",
    "contribute": "dispatched", "resolve": "acknowledged", "follow_up": "resolved", "reopen": "followed_up",
    "archive": "followed_up", "merge": "received", "note": "dispatched",
}


@pytest.mark.parametrize("action", list(SPEC_FROM))
def test_roles_that_may_not_act_are_forbidden(w: World, factory: sessionmaker[Session], action: str) -> None:
    assert ROLE_STATE[action] in SPEC_FROM[action]
    appeal = make_in_state(w, ROLE_STATE[action], action)
    payload = payload_for(w, action)
    before = snapshot(factory, appeal.number)
    wrong = []
    for username in USERS:
        actor = w.actor(username)
        offered = action in service.allowed_actions(w.session, actor, appeal)
        if username in SPEC_WHO[action]:
            if not offered:
                wrong.append(f"{username}: may {action} but allowed_actions does not offer it")
            continue
        # allowed_actions is only ever shown to someone who can see the appeal.
        if offered and service.can_see(w.session, actor, appeal):
            wrong.append(f"{username}: allowed_actions offers {action}")
        try:
            service.perform_action(w.session, actor, appeal.number, payload)
        except Forbidden:
            pass
        except SudiError as exc:
            wrong.append(f"{username}: {type(exc).__name__} ({exc.message_en}) instead of Forbidden")
        else:
            wrong.append(f"{username}: was allowed to {action}")
            return
        if snapshot(factory, appeal.number) != before:
            wrong.append(f"{username}: a refused {action} changed the appeal")
    assert not wrong, "\n".join(wrong)
    # And the right role does succeed on the same appeal.
    service.perform_action(w.session, w.actor(ACTOR[action]), appeal.number, payload)


def test_unit_staff_of_a_parent_unit_hold_the_lead_of_its_subunits(w: World) -> None:
    """坛山街道 staff act on what its community leads; the community's staff not on the town's."""
    appeal = w.appeal("accepted")
    service.perform_action(w.session, w.actor("dispatcher"), appeal.number,
                           {"action": "dispatch", "unit": "tanshan-c01"})
    assert "acknowledge" in service.allowed_actions(w.session, w.actor("tanshan"), appeal)
    town_led = w.appeal("dispatched", unit="tanshan")
    with pytest.raises(Forbidden):
        service.perform_action(w.session, w.actor("community"), town_led.number, {"action": "acknowledge"})
    result = service.perform_action(w.session, w.actor("tanshan"), appeal.number, {"action": "acknowledge"})
    assert result.state == "acknowledged"


# ---------------------------------------------------------------- a sample over HTTP

HTTP_SAMPLE = [  # state, action, user, status
    ("dispatched", "accept", "intake", 409),
    ("received", "dispatch", "dispatcher", 409),
    ("resolved", "resolve", "zjj", 409),
    ("acknowledged", "follow_up", "intake", 409),
    ("dispatched", "archive", "supervisor", 409),
    ("archived", "reopen", "dispatcher", 409),
    ("merged", "merge", "dispatcher", 409),
    ("returned", "acknowledge", "zjj", 409),
    ("received", "acknowledge", "zjj", 403),
    ("acknowledged", "resolve", "cgj", 403),
    ("accepted", "dispatch", "leader", 403),
    ("dispatched", "supervise", "dispatcher", 403),
    ("resolved", "follow_up", "zjj", 403),
    ("dispatched", "note", "mediator", 403),
    ("dispatched", "note", "grid2", 403),
    ("acknowledged", "contribute", "zjjlead", 403),
    ("received", "accept", "intake", 200),
    ("dispatched", "acknowledge", "zjjlead", 200),
    ("dispatched", "contribute", "cgj", 200),
]


@pytest.mark.parametrize(("state", "action", "user", "status"), HTTP_SAMPLE)
def test_actions_over_http(w: World, api: TestClient, factory: sessionmaker[Session], state: str, action: str,
                           user: str, status: int) -> None:
    appeal = make_in_state(w, state, action)
    before = snapshot(factory, appeal.number)
    response = api.post(f"/api/v1/appeals/{appeal.number}/actions", json=payload_for(w, action),
                        headers=module_world.headers(w, user))
    assert response.status_code == status, response.text
    body = response.json()
    if status == 200:
        assert body["state"] == expected_to_state(action, state)
        assert body["events"][-1]["action"] == action
        return
    error = body["error"]
    assert error["code"] == {403: "forbidden", 409: "conflict"}[status]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"]), error["message"]
    assert error["message_en"] and error["message_en"] != error["message"]
    assert snapshot(factory, appeal.number) == before


def test_unknown_action_is_invalid_input_over_http(w: World, api: TestClient) -> None:
    appeal = w.appeal("received")
    response = api.post(f"/api/v1/appeals/{appeal.number}/actions", json={"action": "teleport"},
                        headers=module_world.headers(w, "admin"))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "action"
