"""Early warning: seasonal spikes, repeated callers, sensitive topics, appeals reopened twice; the
queue's deduplication, acknowledgement and closing (audited); the admin's thresholds."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, insert, select

from sudi.analytics import service
from sudi.analytics.models import MEASURES, EarlyWarning, RollupRow
from sudi.appeals import service as appeals
from sudi.core import clock
from sudi.core.errors import Forbidden, InvalidInput
from sudi.core.models import AuditEntry
from tests.factories import World

NOVEMBER = datetime(2026, 11, 20, 10, 0, tzinfo=clock.DISTRICT_TZ)


def _series(session, key: str, counts: dict[date, int]) -> None:  # type: ignore[no-untyped-def]
    rows = []
    for day, n in counts.items():
        for dimension, k in (("category", key), ("all", "")):
            rows.append({"grain": "day", "dimension": dimension, "day": day, "key": k,
                         **dict.fromkeys(MEASURES, 0), "received": n})
    session.execute(insert(RollupRow), rows)
    session.commit()


def _heating(day: date) -> int:
    """A heating-like category: 2 a day most of the year, 12 a day from November to February."""
    return 12 if day.month in (11, 12, 1, 2) else 2


def _history(today: date, rule, years: int = 3) -> dict[date, int]:  # type: ignore[no-untyped-def]
    start = today - timedelta(days=365 * years)
    return {start + timedelta(days=i): rule(start + timedelta(days=i)) for i in range((today - start).days + 1)}


def test_poisson_tail() -> None:
    assert service.poisson_tail(0, 3.0) == 1.0
    assert math.isclose(service.poisson_tail(1, 2.0), 1 - math.exp(-2.0))
    assert service.poisson_tail(40, 5.0) < 1e-15
    assert 0.3 < service.poisson_tail(5, 5.0) < 0.6


def test_a_normally_high_november_raises_no_warning(world: World) -> None:
    session = world.session
    today = NOVEMBER.date()
    _series(session, "77", _history(today, _heating))
    found = service.detect_spikes(session, now=NOVEMBER)
    assert found == []
    # Without the seasonal baseline (years = 0) the same November would look like a spike:
    # that is what the seasonal comparison prevents.
    service.update_policy(session, world.actor("admin"), {"spike": {"years": 0}})
    found = service.detect_spikes(session, now=NOVEMBER)
    assert [f["key"] for f in found] == ["77"] and found[0]["test"].basis == "recent"


def test_a_real_spike_on_top_of_the_season_raises_one(world: World) -> None:
    session = world.session
    today = NOVEMBER.date()
    spiked = lambda d: _heating(d) * (4 if (today - d).days < 7 else 1)  # noqa: E731
    _series(session, "77", _history(today, spiked))
    found = service.detect_spikes(session, now=NOVEMBER)
    assert [f["key"] for f in found] == ["77"]
    test = found[0]["test"]
    assert test.basis == "seasonal" and test.observed == 7 * 48 and 70 <= test.expected <= 100
    assert test.p < 1e-6 and test.z > 3


def test_spike_warnings_are_filed_once_with_their_evidence(world: World) -> None:
    session = world.session
    today = NOVEMBER.date()
    _series(session, "77", _history(today, lambda d: 2 + (30 if (today - d).days < 7 else 0)))
    first = service.detect_warnings(session, now=NOVEMBER)
    again = service.detect_warnings(session, now=NOVEMBER + timedelta(minutes=10))
    assert first["created"] >= 1 and again["created"] == 0 and again["updated"] >= 1
    warning = session.scalars(select(EarlyWarning).where(EarlyWarning.kind == "spike")).one()
    assert warning.evidence["observed"] == 7 * 32 and warning.evidence["basis"] == "seasonal"
    assert "诉求量异常上升" in warning.title


def test_a_repeated_caller_is_warned_once(world: World) -> None:
    session = world.session
    for _ in range(3):
        world.appeal("received", citizen_phone="13900001111")
    world.appeal("received", citizen_phone="13900002222")
    counts = service.detect_warnings(session)
    rows = session.scalars(select(EarlyWarning).where(EarlyWarning.kind == "repeat_caller")).all()
    assert len(rows) == 1 and counts["created"] >= 1
    assert rows[0].evidence["count"] == 3 and "13900001111" not in rows[0].title
    assert len(rows[0].appeal_ids) == 3
    service.detect_warnings(session)
    assert len(session.scalars(select(EarlyWarning).where(EarlyWarning.kind == "repeat_caller")).all()) == 1


def test_a_sensitive_topic_is_warned_and_the_words_are_the_admins(world: World) -> None:
    session = world.session
    world.appeal("received", title="小区燃气泄漏", content="幸福小区5号楼楼道里燃气泄漏，燃气味很重。")
    world.appeal("received", title="路灯不亮", content="门前路灯坏了，晚上很黑，请尽快维修。")
    service.detect_warnings(session)
    rows = session.scalars(select(EarlyWarning).where(EarlyWarning.kind == "sensitive")).all()
    assert len(rows) == 1 and "安全隐患" in rows[0].title
    assert rows[0].evidence["topics"]["safety"] == ["燃气泄漏", "燃气味"]
    service.update_policy(session, world.actor("admin"), {"sensitive": {"group": ["路灯"]}})
    world.appeal("received", title="路灯又坏了", content="同一处路灯又不亮了，多户居民反映。")
    service.detect_warnings(session)
    titles = sorted(w.title for w in session.scalars(select(EarlyWarning).where(EarlyWarning.kind == "sensitive")))
    # The new word applies from the next scan, which re-reads the last ten minutes (the overlap
    # that catches late commits): both street-lamp appeals, each once.
    assert titles == ["敏感事项（安全隐患）：小区燃气泄漏", "敏感事项（群体性事件）：路灯不亮",
                      "敏感事项（群体性事件）：路灯又坏了"]
    service.detect_warnings(session)
    assert session.scalar(select(func.count(EarlyWarning.id)).where(EarlyWarning.kind == "sensitive")) == 3


def _reopen(world: World, number: str) -> None:
    act = lambda who, **p: appeals.perform_action(world.session, world.actor(who), number, p)  # noqa: E731
    act("supervisor", action="reopen", reason="市民不满意")
    act("zjj", action="acknowledge")
    act("zjj", action="resolve", reply="再次核查并已处理完毕，已恢复正常。", without_assistants=True)
    act("intake", action="follow_up", solved=False, satisfaction="dissatisfied")


def test_an_appeal_reopened_twice_is_warned(world: World) -> None:
    session = world.session
    appeal = world.appeal("followed_up", satisfaction="dissatisfied", solved=False)
    _reopen(world, appeal.number)
    service.detect_warnings(session)
    assert not session.scalars(select(EarlyWarning).where(EarlyWarning.kind == "reopened")).all()
    _reopen(world, appeal.number)
    service.detect_warnings(session)
    rows = session.scalars(select(EarlyWarning).where(EarlyWarning.kind == "reopened")).all()
    assert len(rows) == 1 and rows[0].evidence["reopen_count"] == 2 and rows[0].appeal_ids == [appeal.id]


def test_acknowledge_and_close_are_audited_and_checked(world: World) -> None:
    session = world.session
    for _ in range(3):
        world.appeal("received", citizen_phone="13900003333")
    service.detect_warnings(session)
    warning = session.scalars(select(EarlyWarning)).first()
    assert warning is not None
    with pytest.raises(Forbidden):
        service.acknowledge_warning(session, world.actor("leader"), warning.id)
    service.acknowledge_warning(session, world.actor("supervisor"), warning.id, "已转街道核实")
    with pytest.raises(InvalidInput):
        service.close_warning(session, world.actor("supervisor"), warning.id, "  ")
    service.close_warning(session, world.actor("supervisor"), warning.id, "已联系诉求人，问题已解决")
    session.refresh(warning)
    assert warning.state == "closed" and warning.closed_by == "supervisor" and "已联系诉求人" in warning.note
    actions = [a.action for a in session.scalars(select(AuditEntry).where(AuditEntry.object_type == "warning"))]
    assert actions.count("acknowledge_warning") == 1 and actions.count("close_warning") == 1
    # Closed: the same caller is not raised again until they call once more.
    service.detect_warnings(session)
    assert session.scalars(select(EarlyWarning)).all() == [warning]
    world.appeal("received", citizen_phone="13900003333")
    service.detect_warnings(session)
    assert len(session.scalars(select(EarlyWarning)).all()) == 2


def test_thresholds_are_checked_and_only_admins_change_them(world: World) -> None:
    session = world.session
    with pytest.raises(Forbidden):
        service.update_policy(session, world.actor("supervisor"), {"spike": {"min_ratio": 2}})
    with pytest.raises(InvalidInput) as bad:
        service.update_policy(session, world.actor("admin"), {"spike": {"min_ratio": "abc"}})
    assert bad.value.field == "spike.min_ratio"
    with pytest.raises(InvalidInput):
        service.update_policy(session, world.actor("admin"), {"repeat_caller": {"min_appeals": 1}})
    policy = service.update_policy(session, world.actor("admin"), {"repeat_caller": {"min_appeals": "4"}})
    assert policy["repeat_caller"]["min_appeals"] == 4 and service.get_policy(session)["repeat_caller"]["days"] == 30


def test_dates_are_local(world: World) -> None:
    late = datetime.combine(date(2026, 11, 19), time(23, 30), tzinfo=clock.DISTRICT_TZ)
    world.appeal("received", received_at=late)
    service.rebuild_rollup(world.session, date(2026, 11, 19), date(2026, 11, 20))
    days = service.daily_series(world.session, "all", date(2026, 11, 19), date(2026, 11, 20))
    assert days[""] == {date(2026, 11, 19): 1}
