"""Reply quality in the case engine: drafts checked, sent replies scored and kept, per-unit figures,
the admin's policy, and the REST endpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sudi.appeals import reply_review, service
from sudi.appeals.models import AppealEvent
from sudi.appeals.reply_review_models import ReplyReview
from sudi.core import clock
from sudi.core.errors import Forbidden, InvalidInput
from sudi.core.models import AuditEntry, get_setting
from tests.factories import World

GOOD = ("您好！经核实，青檀小区3号楼前路灯因电缆老化损坏。我局已于11月20日安排维修人员更换电缆和灯具，"
        "现路灯已修复并恢复正常照明。依据《城市道路照明设施管理规定》第十二条，我局将每月巡查一次。"
        "如仍有问题，请拨打联系电话0632-7712345，联系人王工。")
EMPTY = "您好，您的留言已收悉。我单位高度重视，将积极协调，尽快处理。感谢您的支持！"


def test_a_draft_is_checked_for_the_handler_without_changing_anything(world: World) -> None:
    appeal = world.appeal("acknowledged")
    good = reply_review.check_reply(world.session, world.actor("zjj"), appeal.number, GOOD)
    empty = reply_review.check_reply(world.session, world.actor("zjj"), appeal.number, EMPTY)
    assert good.overall > empty.overall and good.passed and not empty.passed
    assert good.score("timeliness") is not None  # dispatched with a deadline, checked now
    assert {"no_substance", "missing_basis"} <= {w.code for w in empty.weak_points}
    world.session.rollback()
    assert world.session.scalars(select(ReplyReview)).all() == []
    assert service.get_appeal(world.session, appeal.number).state == "acknowledged"


def test_only_those_who_see_the_appeal_may_check_it(world: World) -> None:
    appeal = world.appeal("acknowledged")
    with pytest.raises(Forbidden):
        reply_review.check_reply(world.session, world.actor("cgj"), appeal.number, GOOD)
    with pytest.raises(InvalidInput):
        reply_review.check_reply(world.session, world.actor("zjj"), appeal.number, "   ")
    with pytest.raises(InvalidInput):  # no sent reply yet
        reply_review.check_reply(world.session, world.actor("zjj"), appeal.number)


def test_the_sent_reply_is_scored_in_the_resolve_transaction(world: World) -> None:
    appeal = world.appeal("acknowledged")
    service.perform_action(world.session, world.actor("zjj"), appeal.number, {"action": "resolve", "reply": GOOD})
    reviews = world.session.scalars(select(ReplyReview).where(ReplyReview.appeal_id == appeal.id)).all()
    assert len(reviews) == 1
    review = reviews[0]
    event = world.session.scalar(select(AppealEvent).where(AppealEvent.appeal_id == appeal.id,
                                                           AppealEvent.action == "resolve"))
    assert event is not None and review.event_id == event.id
    assert review.unit_id == appeal.lead_unit_id and review.resolved_at == appeal.resolved_at
    assert review.passed and review.overall >= 60 and review.timeliness is not None
    assert review.method and isinstance(review.detail["weak_points"], list)
    again = reply_review.check_reply(world.session, world.actor("supervisor"), appeal.number)
    assert again.overall == review.overall  # the sent reply, timed when it was sent
    assert reply_review.latest_review(world.session, appeal) == review


def test_every_reply_of_a_reopened_appeal_is_kept(world: World) -> None:
    appeal = world.appeal("followed_up", solved=False, satisfaction="dissatisfied")
    service.perform_action(world.session, world.actor("dispatcher"), appeal.number,
                           {"action": "reopen", "reason": "市民反映仍未修好"})
    service.perform_action(world.session, world.actor("zjj"), appeal.number, {"action": "acknowledge"})
    service.perform_action(world.session, world.actor("zjj"), appeal.number, {"action": "resolve", "reply": GOOD})
    reviews = world.session.scalars(select(ReplyReview).where(ReplyReview.appeal_id == appeal.id)).all()
    assert len(reviews) == 2 and reviews[0].event_id != reviews[1].event_id


def test_reply_quality_by_unit_aggregates_the_period(world: World) -> None:
    before = clock.now() - timedelta(seconds=1)
    first = world.appeal("acknowledged")
    second = world.appeal("acknowledged")
    other = world.appeal("acknowledged", unit="cgj")
    for number, reply, who in ((first.number, GOOD, "zjj"), (second.number, EMPTY, "zjj"),
                               (other.number, GOOD, "cgj")):
        service.perform_action(world.session, world.actor(who), number, {"action": "resolve", "reply": reply})
    after = clock.now() + timedelta(seconds=1)
    figures = reply_review.reply_quality_by_unit(world.session, before, after)
    zjj, cgj = first.lead_unit_id, other.lead_unit_id
    assert set(figures) == {zjj, cgj}
    assert figures[zjj]["replies"] == 2 and figures[cgj]["replies"] == 1
    assert figures[zjj]["pass_rate"] == 0.5 and figures[cgj]["pass_rate"] == 1.0
    assert figures[cgj]["overall"] > figures[zjj]["overall"]
    assert figures[zjj]["weak_points"]["no_substance"] == 1
    for name in ("relevance", "completeness", "normativity", "timeliness"):
        assert figures[zjj][name] is not None
    assert reply_review.reply_quality_by_unit(world.session, after, after + timedelta(days=1)) == {}
    with pytest.raises(InvalidInput):
        reply_review.reply_quality_by_unit(world.session, after, before)


def test_the_admin_sets_the_weights_and_others_may_not(world: World) -> None:
    with pytest.raises(Forbidden):
        reply_review.set_reply_quality_config(world.session, world.actor("supervisor"),
                                              weights={"relevance": 1}, pass_score=60)
    with pytest.raises(InvalidInput):
        reply_review.set_reply_quality_config(world.session, world.actor("admin"),
                                              weights={"relevance": -1}, pass_score=60)
    config = reply_review.set_reply_quality_config(
        world.session, world.actor("admin"), weights={"relevance": 1, "completeness": 1, "normativity": 0,
                                                      "timeliness": 0}, pass_score=70)
    assert config.weights["relevance"] == 0.5 and config.pass_score == 70
    assert get_setting(world.session, reply_review.REPLY_QUALITY_KEY)["pass_score"] == 70
    assert world.session.scalar(select(AuditEntry).where(AuditEntry.action == "set_reply_quality")) is not None
    appeal = world.appeal("acknowledged")
    result = reply_review.check_reply(world.session, world.actor("zjj"), appeal.number, GOOD)
    assert set(result.weights) == {"relevance", "completeness"}
    expected = 0.5 * (result.score("relevance") or 0) + 0.5 * (result.score("completeness") or 0)
    assert abs(result.overall - round(expected, 1)) <= 0.1


def test_the_rest_endpoint_checks_a_draft_and_the_sent_reply(client: TestClient, world: World) -> None:
    appeal = world.appeal("acknowledged")
    url = f"/api/v1/appeals/{appeal.number}/reply-check"
    response = client.post(url, json={"reply": EMPTY}, headers=world.headers("zjj"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["passed"] is False and body["weak_points"][0]["severity"] == "high"
    assert set(body["dimensions"]) == {"relevance", "completeness", "normativity", "timeliness"}
    assert client.post(url, json={"reply": GOOD}, headers=world.headers("cgj")).status_code == 403
    assert client.post(url, json={}, headers=world.headers("zjj")).status_code == 422  # nothing sent yet
    assert client.post(url, json={"reply": "x" * 20_001}, headers=world.headers("zjj")).status_code == 422
    resolved = world.appeal("resolved")
    sent = client.post(f"/api/v1/appeals/{resolved.number}/reply-check", headers=world.headers("supervisor"))
    assert sent.status_code == 200 and sent.json()["overall"] > 0


def test_replies_sent_before_scoring_existed_are_scored_once(world: World, database_url: str) -> None:
    from typer.testing import CliRunner

    from sudi.cli import app

    old = world.appeal("followed_up")
    merged_master = world.appeal("resolved")
    world.session.execute(ReplyReview.__table__.delete())  # as if resolved before migration 0003_reply_quality
    world.session.commit()
    with pytest.raises(Forbidden):
        reply_review.score_unscored_replies(world.session, world.actor("supervisor"))
    result = CliRunner().invoke(app, ["score-replies", "--db", database_url])
    assert result.exit_code == 0, result.output
    assert "已补评 2 条答复" in result.output
    world.session.rollback()  # end the read transaction that began before the command wrote
    scored = {r.appeal_id for r in world.session.scalars(select(ReplyReview))}
    assert scored == {old.id, merged_master.id}
    assert reply_review.score_unscored_replies(world.session, world.actor("admin")) == 0
