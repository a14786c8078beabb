"""Reply quality scoring on hand-written replies: each rule does what the docs say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sudi.core.errors import InvalidInput
from sudi.intelligence.reply_quality import (
    DEFAULT_WEIGHTS,
    ReplyAssessment,
    ReplyQualityConfig,
    find_elements,
    infer_appeal_type,
    key_terms,
    normalise_weights,
    score_reply,
    strip_echo,
    substance,
)

TITLE = "青檀小区3号楼前路灯不亮"
CONTENT = "青檀小区3号楼前的路灯坏了一个多月，晚上一片漆黑，老人孩子出行很不安全，希望尽快维修路灯。"
GOOD = ("您好！经核实，青檀小区3号楼前路灯因电缆老化损坏。我局已于11月20日安排维修人员更换电缆和灯具，"
        "现路灯已修复并恢复正常照明。依据《城市道路照明设施管理规定》第十二条，我局将每月巡查一次。"
        "如仍有问题，请拨打区住建局联系电话0632-7712345，联系人王工。")
EMPTY = "您好，您的留言已收悉。我单位高度重视，将积极协调，尽快处理。感谢您对我们工作的关心、监督与支持！"
OTHER_OBJECT = ("您好！经核实，金寺社区幸福花园小区南门路灯因线路故障不亮。我局已于11月20日安排人员更换线路，"
                "现幸福花园小区路灯已修复并恢复正常照明。联系电话0632-7712345。")
NOISE_TITLE = "丽发新城小区旁搅拌站夜间施工噪音扰民"
NOISE_CONTENT = "丽发新城小区旁边的搅拌站每天晚上施工到凌晨，噪音很大，居民无法休息，请求有关部门查处。"


def _s(result: ReplyAssessment, name: str) -> float:
    value = result.score(name)
    assert value is not None, name
    return value


def test_a_full_reply_scores_higher_than_an_empty_phrase_reply() -> None:
    good = score_reply(TITLE, CONTENT, GOOD, appeal_type="complaint")
    empty = score_reply(TITLE, CONTENT, EMPTY, appeal_type="complaint")
    assert good.overall > empty.overall + 30
    for name in ("relevance", "completeness", "normativity"):
        assert _s(good, name) > _s(empty, name), name
    assert good.passed and not empty.passed
    assert all(good.elements.values())
    codes = {w.code for w in empty.weak_points}
    assert "no_substance" in codes and "missing_basis" in codes and "missing_contact" in codes


def test_the_weak_points_are_concrete_chinese_messages() -> None:
    reply = "经核实，路灯已修复。我局已安排人员维修青檀小区3号楼前路灯。"
    result = score_reply(TITLE, CONTENT, reply, appeal_type="complaint")
    messages = [w.message for w in result.weak_points]
    assert "缺少办理依据（法规、政策条款）" in messages
    assert "未给出联系方式（联系电话、联系人）" in messages
    assert all(w.severity in ("high", "medium", "low") for w in result.weak_points)
    assert result.weak_points == tuple(sorted(result.weak_points, key=lambda w: ("high", "medium", "low")
                                              .index(w.severity)))


def test_a_reply_about_another_object_scores_low_on_relevance() -> None:
    right = score_reply(TITLE, CONTENT, GOOD)
    wrong = score_reply(TITLE, CONTENT, OTHER_OBJECT)
    assert _s(right, "relevance") >= 70
    assert _s(wrong, "relevance") <= 40
    assert any(w.code in ("other_object", "low_relevance", "place_missing") for w in wrong.weak_points)
    assert wrong.overall < right.overall


def test_a_reply_to_a_different_appeal_is_not_relevant() -> None:
    result = score_reply(NOISE_TITLE, NOISE_CONTENT, GOOD)
    assert _s(result, "relevance") < 30
    assert result.weak_points[0].severity == "high"
    assert any("答复" in w.message and ("关联度低" in w.message or "诉求反映的是" in w.message)
               for w in result.weak_points if w.dimension == "relevance")
    # A relevance below the floor scales the overall score down, however well-formed the reply.
    assert result.overall < score_reply(TITLE, CONTENT, GOOD).overall / 2


def test_echoing_the_appeal_does_not_make_a_reply_relevant() -> None:
    echo = f"您好！您反映的“{TITLE}”的问题已收悉，感谢您的监督。"
    assert TITLE not in strip_echo(echo, TITLE + CONTENT)
    result = score_reply(TITLE, CONTENT, echo)
    assert _s(result, "relevance") < 50
    assert _s(result, "normativity") <= 20


def test_key_terms_favour_the_title_and_skip_boilerplate() -> None:
    terms = key_terms(TITLE, CONTENT)
    assert "路灯" in list(terms)[:3]
    assert not {"希望", "问题", "尽快", "反映"} & set(terms)


def test_completeness_elements_are_found_by_their_wording() -> None:
    found = find_elements(GOOD)
    assert found == {"facts": True, "action": True, "result": True, "basis": True, "contact": True}
    assert find_elements("感谢您的来信。") == {k: False for k in found}
    assert find_elements("根据《山东省物业管理条例》第三十条规定，业主大会可以决定。")["basis"]


def test_consultations_weigh_the_basis_more_than_a_site_visit() -> None:
    answer = ("您好，根据《枣庄市人才购房补贴实施办法》第七条规定，首次购买商品住房的可以申请购房补贴，"
              "公寓不属于商品住房。")
    title, content = "买公寓能享受购房补贴吗？", "我是硕士毕业生，想在峄城买公寓，请问能享受人才购房补贴吗？"
    assert infer_appeal_type(title, content) == "consultation"
    as_consultation = score_reply(title, content, answer, appeal_type="consultation")
    as_complaint = score_reply(title, content, answer, appeal_type="complaint")
    assert _s(as_consultation, "completeness") > _s(as_complaint, "completeness")


def test_personal_data_in_a_reply_is_flagged() -> None:
    leaking = GOOD + "已与反映人张三（13812345678，身份证370404199001011234）联系。"
    result = score_reply(TITLE, CONTENT, leaking, citizen_name="张三", citizen_phone="138-1234-5678")
    leak = [w for w in result.weak_points if w.code == "personal_data"]
    assert leak and leak[0].severity == "high"
    assert "市民电话" in leak[0].message and "市民姓名" in leak[0].message
    clean = score_reply(TITLE, CONTENT, GOOD, citizen_name="张三", citizen_phone="13812345678")
    assert not any(w.code == "personal_data" for w in clean.weak_points)
    assert _s(clean, "normativity") > _s(result, "normativity")


def test_empty_phrases_without_substance_are_named() -> None:
    reply = "您好，对于您反映的青檀小区路灯问题，我单位高度重视，将认真研究，妥善处理，切实加强管理。"
    result = score_reply(TITLE, CONTENT, reply)
    empty = [w for w in result.weak_points if w.code == "empty_phrases"]
    assert empty and "高度重视" in empty[0].message
    assert len(substance(reply, TITLE + CONTENT)) < len(reply) / 2


def test_timeliness_against_the_deadline_and_without_times() -> None:
    received = datetime(2026, 11, 2, 9, tzinfo=UTC)
    deadline = received + timedelta(days=10)
    fast = score_reply(TITLE, CONTENT, GOOD, appeal_time=received, reply_time=received + timedelta(days=1),
                       deadline=deadline)
    on_time = score_reply(TITLE, CONTENT, GOOD, appeal_time=received, reply_time=deadline, deadline=deadline)
    late = score_reply(TITLE, CONTENT, GOOD, appeal_time=received, reply_time=deadline + timedelta(days=10),
                       deadline=deadline)
    very_late = score_reply(TITLE, CONTENT, GOOD, appeal_time=received, reply_time=received + timedelta(days=40),
                            deadline=deadline)
    assert fast.score("timeliness") == 98.0 and on_time.score("timeliness") == 80.0
    assert late.score("timeliness") == 30.0 and very_late.score("timeliness") == 0.0
    assert any(w.code == "late" for w in late.weak_points)
    untimed = score_reply(TITLE, CONTENT, GOOD)
    assert untimed.score("timeliness") is None and "timeliness" not in untimed.weights
    assert abs(sum(untimed.weights.values()) - 1) < 1e-3
    with pytest.raises(InvalidInput):
        score_reply(TITLE, CONTENT, GOOD, appeal_time=datetime(2026, 11, 2), reply_time=datetime(2026, 11, 3))  # noqa: DTZ001


def test_weights_are_the_callers() -> None:
    relevance_only = ReplyQualityConfig(weights={"relevance": 1, "completeness": 0, "normativity": 0, "timeliness": 0})
    result = score_reply(TITLE, CONTENT, GOOD, config=relevance_only)
    assert result.overall == result.score("relevance")
    assert normalise_weights({"relevance": 2, "completeness": 2}) == {
        "relevance": 0.5, "completeness": 0.5, "normativity": 0.0, "timeliness": 0.0}
    assert abs(sum(DEFAULT_WEIGHTS.values()) - 1) < 1e-9
    for bad in ({"relevance": -1}, {"relevance": 0}, {"speed": 1}, {"relevance": "x"}, {"relevance": True}):
        with pytest.raises(InvalidInput):
            ReplyQualityConfig(weights=bad)
    with pytest.raises(InvalidInput):
        ReplyQualityConfig(pass_score=120)
    config = ReplyQualityConfig(weights={"relevance": 3, "completeness": 1}, pass_score=70)
    assert ReplyQualityConfig.from_dict(config.as_dict()) == config


def test_the_assessment_serialises_for_the_api() -> None:
    data = score_reply(TITLE, CONTENT, GOOD).as_dict()
    assert set(data["dimensions"]) == {"relevance", "completeness", "normativity", "timeliness"}
    assert data["dimensions"]["relevance"]["label"] == "相关性" and data["dimensions"]["relevance"]["reasons"]
    assert isinstance(data["weak_points"], list) and data["method"]


@settings(max_examples=60, deadline=None)
@given(title=st.text(max_size=40), content=st.text(max_size=300), reply=st.text(max_size=600))
def test_any_text_scores_within_bounds(title: str, content: str, reply: str) -> None:
    result = score_reply(title, content, reply)
    assert 0 <= result.overall <= 100
    for name in ("relevance", "completeness", "normativity"):
        assert 0 <= _s(result, name) <= 100
    assert all(w.message for w in result.weak_points)
