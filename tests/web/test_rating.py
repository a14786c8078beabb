"""The citizen's rating (回访 by the citizen) and the engine's automatic reopen (重办)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sudi.appeals import service
from sudi.appeals.models import AppealEvent
from sudi.core.errors import Conflict
from tests.factories import World
from tests.web.helpers import post_form, track


def _code(world: World, number: str) -> str:
    return service.query_code_for(world.session, number)


def _reopens(world: World, number: str) -> list[AppealEvent]:
    appeal = service.get_appeal(world.session, number)
    return [e for e in service.events_of(world.session, appeal) if e.action == "reopen"]


def _resolve_again(world: World, number: str) -> None:
    service.perform_action(world.session, world.actor("zjj"), number, {"action": "acknowledge"})
    service.perform_action(world.session, world.actor("zjj"), number,
                           {"action": "resolve", "reply": "已再次现场处理，路灯已更换并复查正常。"})


@pytest.mark.parametrize(("solved", "satisfaction"), [(False, "satisfied"), (True, "dissatisfied"),
                                                      (False, "dissatisfied")])
def test_unsolved_or_dissatisfied_reopens_once_automatically(world: World, solved: bool, satisfaction: str) -> None:
    number = world.appeal("resolved").number
    appeal = service.rate_as_citizen(world.session, number, _code(world, number), solved=solved,
                                     satisfaction=satisfaction, comment="灯还是不亮")
    assert appeal.state == "dispatched" and appeal.reopen_count == 1
    assert appeal.follow_up_solved is None and appeal.reply is None  # a fresh round
    (reopen,) = _reopens(world, number)
    assert reopen.actor_role == "system" and reopen.comment == service.AUTO_REOPEN_REASON
    follow_up = next(e for e in service.events_of(world.session, appeal) if e.action == "follow_up")
    assert follow_up.data == {"solved": solved, "satisfaction": satisfaction, "by": "citizen"}

    _resolve_again(world, number)
    again = service.rate_as_citizen(world.session, number, _code(world, number), solved=False,
                                    satisfaction="dissatisfied")
    assert again.state == "followed_up" and again.reopen_count == 1  # past the limit: the centre decides
    assert len(_reopens(world, number)) == 1


def test_satisfied_and_solved_does_not_reopen(world: World) -> None:
    number = world.appeal("resolved").number
    appeal = service.rate_as_citizen(world.session, number, _code(world, number), solved=True,
                                     satisfaction="fairly_satisfied")
    assert appeal.state == "followed_up" and _reopens(world, number) == []


def test_the_limit_is_the_admin_setting(world: World) -> None:
    service.set_admin_setting(world.session, world.actor("admin"), service.AUTO_REOPEN_LIMIT_KEY, 0)
    number = world.appeal("resolved").number
    appeal = service.rate_as_citizen(world.session, number, _code(world, number), solved=False,
                                     satisfaction="dissatisfied")
    assert appeal.state == "followed_up" and appeal.reopen_count == 0


def test_a_rating_needs_the_right_code_and_a_resolved_appeal(world: World) -> None:
    from sudi.core.errors import NotFound

    number = world.appeal("resolved").number
    with pytest.raises(NotFound):
        service.rate_as_citizen(world.session, number, "WRONG123", solved=True, satisfaction="satisfied")
    service.rate_as_citizen(world.session, number, _code(world, number), solved=True, satisfaction="satisfied")
    with pytest.raises(Conflict):
        service.rate_as_citizen(world.session, number, _code(world, number), solved=True, satisfaction="satisfied")


def test_the_track_page_rates_and_a_dissatisfied_citizen_gets_the_appeal_reopened(
        client: TestClient, world: World) -> None:
    number = world.appeal("resolved").number
    page = track(client, number, _code(world, number))
    assert "评价办理结果" in page.text and "经现场核查" in page.text  # the reply
    assert 'action="/track/' + number + '/rate"' in page.text

    missing = post_form(client, f"/track/{number}/rate", {"comment": "x"})
    assert missing.status_code == 422
    assert "请选择问题是否已解决" in missing.text and "请选择您对办理结果的满意程度" in missing.text
    assert 'id="f-solved-error"' in missing.text and ">x</textarea>" in missing.text

    done = post_form(client, f"/track/{number}/rate", {"solved": "no", "satisfaction": "dissatisfied",
                                                       "comment": "<b>还是不亮</b>"})
    assert done.status_code == 303 and done.headers["location"] == f"/track/{number}?rated=1"
    after = client.get(done.headers["location"])
    assert "感谢您的评价" in after.text and "已重新交办" in after.text
    assert "评价办理结果" not in after.text  # no rating form once it is back with the unit
    world.session.rollback()
    appeal = service.get_appeal(world.session, number)
    assert appeal.state == "dispatched" and appeal.reopen_count == 1
    comment = next(e for e in service.events_of(world.session, appeal) if e.action == "follow_up").comment
    assert comment == "<b>还是不亮</b>"


def test_rating_without_the_code_cookie_goes_back_to_the_form(client: TestClient, world: World) -> None:
    number = world.appeal("resolved").number
    response = post_form(client, f"/track/{number}/rate", {"solved": "yes", "satisfaction": "satisfied"})
    assert response.status_code == 303 and response.headers["location"] == f"/track?number={number}"
    world.session.rollback()
    assert world.session.scalars(select(AppealEvent).where(AppealEvent.action == "follow_up")).all() == []
