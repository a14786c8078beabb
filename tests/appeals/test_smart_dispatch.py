"""Smart dispatch (智能派单): training on the district's archive, the not-worse replacement rule, the
dispatchers' corrections as labels, territorial routing, urgency hints, duplicates and auto-dispatch."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sudi.appeals import service as appeals
from sudi.appeals import smart_dispatch as sd
from sudi.appeals.models import Appeal, AppealEvent
from sudi.appeals.smart_dispatch_models import DispatchLabel, DispatchModel
from sudi.core.errors import Forbidden, InvalidInput
from sudi.core.models import AuditEntry, put_setting
from sudi.directory.models import Unit
from sudi.directory.service import SYSTEM
from tests.appeals.smart_history import build_archive, new_appeal
from tests.factories import IN_G002, World


@pytest.fixture(autouse=True)
def _fresh_models() -> None:
    sd.forget_loaded_models()


@pytest.fixture
def trained(world: World, tmp_path: Path) -> dict[str, list[str]]:
    numbers = build_archive(world)
    reports = sd.train_from_db(world.session, world.actor("admin"), model_dir=tmp_path / "models")
    assert [r.status for r in reports] == ["active", "active", "active"], reports
    return numbers


def test_training_from_the_archive_writes_versioned_models_with_manifests(world: World, tmp_path: Path) -> None:
    build_archive(world)
    started = time.perf_counter()
    reports = sd.train_from_db(world.session, world.actor("admin"), model_dir=tmp_path / "models")
    assert time.perf_counter() - started < 30
    by_kind = {r.kind: r for r in reports}
    assert set(by_kind) == {"category", "appeal_type", "lead_unit"}
    for report in reports:
        assert report.status == "active" and report.version == 1
        assert report.training_size + report.held_out_size == 75
        assert report.held_out_size > 0 and report.new_quality is not None
        assert report.new_quality["accuracy"] >= 0.9
    rows = world.session.scalars(select(DispatchModel)).all()
    assert {(r.kind, r.version, r.status) for r in rows} == {(k, 1, "active") for k in sd.KINDS}
    for row in rows:
        assert Path(row.path).exists() and row.path.endswith(f"{row.kind}-v0001.sudimodel")
        manifest = row.manifest
        assert manifest["sudi_model_kind"] == row.kind and manifest["sudi_version"] == 1
        assert manifest["training_size"] == row.training_size and manifest["label_set"]
        assert manifest["held_out_slice_quality"] == row.quality and manifest["trained_at"]
    lead = next(r for r in rows if r.kind == "lead_unit")
    # The towns are learnt as "the town where it happened", not as two unrelated units.
    assert sorted(lead.manifest["label_set"]) == ["@territorial", "cgj", "zjj"]
    assert lead.manifest["held_out_points"] and lead.manifest["precision_curves"][0]["category"] == "全部"
    assert lead.manifest["precision_curves"] == sd.precision_curves(lead.manifest)
    # Loading a model file takes well under a second.
    from sudi.intelligence.classify import load_classifier

    started = time.perf_counter()
    load_classifier(lead.path)
    assert time.perf_counter() - started < 1.0
    assert world.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "train_model")) == 3


def test_suggestions_name_category_levels_type_unit_with_confidence_and_words(world: World, trained) -> None:
    appeal = new_appeal(world, "property")
    s = sd.suggest(world.session, appeal)
    assert s.category is not None and s.category.path == ("城乡建设", "房地产管理", "物业管理")
    assert s.appeal_type is not None and s.appeal_type.best.value == "complaint"
    assert s.lead_unit is not None and s.lead_unit.best.value == "zjj"
    for field in (s.category, s.appeal_type, s.lead_unit):
        assert field.best.confidence is not None and 0.0 < field.best.confidence <= 1.0
        assert field.alternatives and field.evidence
        assert field.model_version == 1
    # The words that weighed most come from the appeal's own text.
    assert any(word in appeal.title + appeal.content for word in s.lead_unit.evidence)
    assert s.category_l1 == "城乡建设"
    assert sd.suggest(world.session, appeal) is s  # cached per appeal version and model versions


def test_an_appeal_about_a_place_in_a_town_goes_to_that_town(world: World, trained) -> None:
    in_wulin = new_appeal(world, "sanitation", point=IN_G002)
    s = sd.suggest(world.session, in_wulin)
    assert s.lead_unit is not None and s.lead_unit.best.value == "wulin"
    assert any("属地" in r for r in s.lead_unit.best.reasons)
    in_tanshan = new_appeal(world, "sanitation", seed=5)
    assert sd.suggest(world.session, in_tanshan).lead_unit.best.value == "tanshan"  # type: ignore[union-attr]
    nowhere = new_appeal(world, "sanitation", seed=6, point=None)
    best = sd.suggest(world.session, nowhere).lead_unit.best  # type: ignore[union-attr]
    assert best.value == "" and "属地" in best.label  # a town cannot be named before the place is known


def test_the_duty_list_adds_its_evidence_and_its_territorial_rule(world: World) -> None:
    # No model yet: the duty list alone (M-HJWS 背街小巷环境卫生 is territorial, so the located town).
    appeal = world.appeal("accepted", title="背街小巷垃圾堆放", content="巷子里垃圾很多，卫生很差。", point=IN_G002)
    s = sd.suggest(world.session, appeal)
    assert s.models == {} and s.lead_unit is not None
    assert s.lead_unit.best.value == "wulin" and s.lead_unit.best.confidence is None
    assert any("M-HJWS" in r and "属地" in r for r in s.lead_unit.best.reasons)


def test_a_new_model_replaces_the_old_only_if_not_worse_on_the_same_slice(world: World, trained,
                                                                          tmp_path: Path) -> None:
    session = world.session
    fraction = sd.DEFAULTS[sd.HOLDOUT_KEY]
    # Spoil the training part of the archive (not the held-out slice): every unit label becomes one unit.
    training = [n for ns in trained.values() for n in ns if not sd.held_out(n, fraction)]
    cgj = session.scalar(select(Unit.id).where(Unit.code == "cgj"))
    zjj = session.scalar(select(Unit.id).where(Unit.code == "zjj"))
    for i, number in enumerate(training):
        session.execute(update(Appeal).where(Appeal.number == number).values(lead_unit_id=cgj if i % 3 else zjj))
    session.commit()
    [report] = sd.train_from_db(session, world.actor("admin"), model_dir=tmp_path / "models", kinds=["lead_unit"])
    assert report.status == "rejected" and report.version == 2 and report.old_version == 1
    assert report.new_quality is not None and report.old_quality is not None
    assert report.new_quality["accuracy"] < report.old_quality["accuracy"]
    assert report.old_quality["n"] == report.new_quality["n"] == report.held_out_size  # the same slice
    rows = {r.version: r for r in session.scalars(select(DispatchModel).where(DispatchModel.kind == "lead_unit"))}
    assert rows[1].status == "active" and rows[2].status == "rejected" and not Path(rows[2].path).exists()
    assert rows[2].compared_with is not None and rows[2].compared_with["version"] == 1
    assert sd.active_models(session)["lead_unit"].version == 1

    [forced] = sd.train_from_db(session, world.actor("admin"), model_dir=tmp_path / "models", kinds=["lead_unit"],
                                force=True)
    assert forced.status == "active" and forced.forced and forced.version == 3
    assert session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "force_model")) == 1
    session.expire_all()
    assert session.get(DispatchModel, rows[1].id).status == "retired"  # type: ignore[union-attr]
    assert sd.active_models(session)["lead_unit"].version == 3


def test_only_an_admin_trains_and_an_empty_archive_is_skipped(world: World, tmp_path: Path) -> None:
    with pytest.raises(Forbidden):
        sd.train_from_db(world.session, world.actor("dispatcher"), model_dir=tmp_path)
    reports = sd.train_from_db(world.session, world.actor("admin"), model_dir=tmp_path)
    assert [r.status for r in reports] == ["skipped"] * 3 and "不足" in reports[0].message


def test_a_dispatchers_correction_is_stored_and_used_for_training(world: World, trained) -> None:
    session = world.session
    appeal = new_appeal(world, "property")
    assert sd.suggest(session, appeal).lead_unit.best.value == "zjj"  # type: ignore[union-attr]
    sd.dispatch_with_suggestions(session, world.actor("dispatcher"), appeal.number,
                                 sd.DispatchChoice(unit="cgj", appeal_type="report", urgency="urgent"))
    session.expire_all()
    appeal = appeals.get_appeal(session, appeal.number)
    assert appeal.state == "dispatched" and appeal.lead_unit.code == "cgj"  # type: ignore[union-attr]
    assert appeal.appeal_type == "report" and appeal.urgency == "urgent"
    labels = {(lab.kind, lab.suggested, lab.chosen) for lab in session.scalars(select(DispatchLabel))}
    assert labels == {("lead_unit", "zjj", "cgj"), ("appeal_type", "complaint", "report")}
    event = session.scalars(select(AppealEvent).where(AppealEvent.appeal_id == appeal.id,
                                                      AppealEvent.action == "dispatch")).one()
    assert "人工选定单位" in event.comment and "v1" in event.comment
    # The open appeal's corrected unit is a training label now.
    history = {r.number: r.label for r in sd._history(session, "lead_unit")}
    assert history[appeal.number] == "cgj"

    # Accepting the suggestion as it is records nothing.
    other = new_appeal(world, "property", seed=11)
    sd.dispatch_with_suggestions(session, world.actor("dispatcher"), other.number, sd.DispatchChoice(unit="zjj"))
    assert session.scalar(select(func.count(DispatchLabel.id))) == 2
    # A dispatch through the ordinary form to another unit is a correction too.
    third = new_appeal(world, "property", seed=12)
    appeals.perform_action(session, world.actor("dispatcher"), third.number, {"action": "dispatch", "unit": "cgj"})
    assert sd.note_dispatch(session, world.actor("dispatcher"), third.number) == 1


def test_only_dispatchers_dispatch_from_the_panel(world: World, trained) -> None:
    appeal = new_appeal(world, "property")
    with pytest.raises(Forbidden):
        sd.dispatch_with_suggestions(world.session, world.actor("intake"), appeal.number,
                                     sd.DispatchChoice(unit="zjj"))


def test_urgency_hints_for_danger_words(world: World) -> None:
    session = world.session
    gas = sd.urgency_hint(session, "小区楼道里燃气泄漏，闻到很浓的煤气味")
    assert gas is not None and gas.urgency == "critical" and gas.label == "特急"
    assert "燃气" in gas.groups and "燃气泄漏" in gas.words and gas.basis == "rule"
    assert gas.confidence == pytest.approx(sd.DEFAULTS[sd.URGENCY_PRIOR_KEY])
    flood = sd.urgency_hint(session, "暴雨后小区地下车库积水严重")
    assert flood is not None and flood.urgency == "urgent" and flood.label == "紧急"
    assert sd.urgency_hint(session, "小区路灯不亮") is None
    # The keyword lists are the admin's: a new rule takes effect.
    sd.set_urgency_rules(session, world.actor("admin"), [{"group": "动物", "urgency": "urgent", "words": ["恶犬"]}])
    hint = sd.urgency_hint(session, "楼下有恶犬伤人")
    assert hint is not None and hint.groups == ("动物",)
    with pytest.raises(Forbidden):
        sd.set_urgency_rules(session, world.actor("dispatcher"), [])


def test_urgency_confidence_is_measured_on_history_when_there_is_enough(world: World, trained,
                                                                        tmp_path: Path) -> None:
    session = world.session
    for i in range(12):
        a = world.appeal("received", title=f"燃气泄漏{i}", content="楼道燃气泄漏，煤气味很重。")
        session.execute(update(Appeal).where(Appeal.id == a.id).values(
            state="archived", urgency="critical" if i < 9 else "normal"))
    session.commit()
    sd.train_from_db(session, world.actor("admin"), model_dir=tmp_path / "m2", kinds=["lead_unit"])
    hint = sd.urgency_hint(session, "家里燃气泄漏")
    assert hint is not None and hint.basis == "history"
    assert hint.confidence == pytest.approx((9 + 1) / (12 + 2), abs=1e-3)


def test_duplicates_are_flagged_with_candidates_and_similarity(world: World) -> None:
    first = world.appeal("accepted", title="幸福小区电梯故障", content="幸福小区3号楼电梯经常停运，困人。",
                         citizen_phone="13911112222")
    second = world.appeal("received", title="幸福小区电梯又坏了", content="幸福小区3号楼电梯经常停运，困人。",
                          citizen_phone="13911112222")
    unrelated = world.appeal("received", title="公交站台破损", content="长安路公交站台顶棚破损。",
                             citizen_phone="13800000000")
    found = sd.find_duplicates(world.session, second)
    assert [d.number for d in found] == [first.number]
    assert found[0].similarity >= 0.3 and "同一来电号码" in found[0].reasons and "同一网格" in found[0].reasons
    assert sd.find_duplicates(world.session, unrelated) == []
    # Neither phone nor place: the portal's text search decides.
    anonymous = world.appeal("received", title="幸福小区电梯故障", content="幸福小区3号楼电梯经常停运，困人。",
                             citizen_phone="", point=None)
    assert first.number in [d.number for d in sd.find_duplicates(world.session, anonymous)]
    # A merged duplicate is no candidate any more.
    appeals.perform_action(world.session, world.actor("dispatcher"), second.number,
                           {"action": "merge", "into": first.number})
    third = world.appeal("received", title="幸福小区电梯故障", content="电梯停运")
    assert second.number not in [d.number for d in sd.find_duplicates(world.session, third)]


def _permit(session: Session, support: int) -> None:
    put_setting(session, sd.MIN_SUPPORT_KEY, support)
    session.commit()


def test_auto_dispatch_is_off_by_default_and_only_above_a_permitted_threshold(world: World, trained) -> None:
    session = world.session
    admin = world.actor("admin")
    appeal = new_appeal(world, "building", state="received", seed=21)
    assert session.get(Appeal, appeal.id).state == "received"  # type: ignore[union-attr]
    lead = session.scalars(select(DispatchModel).where(DispatchModel.kind == "lead_unit")).one()
    precision, n = sd.precision_at(lead.manifest, "城乡建设", 0.5)
    assert precision == 1.0 and n > 0
    # Too few held-out appeals to prove a precision: refused.
    with pytest.raises(InvalidInput, match="held-out"):
        sd.set_auto_threshold(session, admin, "城乡建设", 0.5)
    _permit(session, 3)
    with pytest.raises(Forbidden):
        sd.set_auto_threshold(session, world.actor("dispatcher"), "城乡建设", 0.5)
    with pytest.raises(InvalidInput):
        sd.set_auto_threshold(session, admin, "城乡建设", 0.2)
    with pytest.raises(InvalidInput, match="first-level"):
        sd.set_auto_threshold(session, admin, "全部", 0.9)
    sd.set_auto_threshold(session, admin, "城乡建设", 0.5)

    intake = appeals.create_appeal(session, world.actor("intake"), appeals.AppealDraft(
        title="楼顶加盖违建", content="邻居楼顶加盖违章搭建，私搭乱建严重，请求拆除。", citizen_phone="13700000009"))
    session.expire_all()
    done = appeals.get_appeal(session, intake.number)
    assert done.state == "dispatched" and done.lead_unit.code == "cgj"  # type: ignore[union-attr]
    event = session.scalars(select(AppealEvent).where(AppealEvent.appeal_id == done.id,
                                                      AppealEvent.action == "dispatch")).one()
    assert event.actor_role == "system" and "lead_unit v1" in event.comment and "置信度" in event.comment
    assert session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "auto_dispatch")) == 1

    # Another category has no threshold: it waits for a dispatcher.
    other = appeals.create_appeal(session, world.actor("intake"), appeals.AppealDraft(
        title="垃圾清运不及时", content="背街小巷垃圾堆放，保洁清运不及时，臭味很大。", lat=IN_G002[0], lon=IN_G002[1]))
    assert appeals.get_appeal(session, other.number).state == "received"

    # A measured precision below 0.95 is refused.
    lead.manifest = {**lead.manifest, "held_out_points": [["环境保护", 0.9, 1]] * 9 + [["环境保护", 0.9, 0]] * 2}
    session.commit()
    with pytest.raises(InvalidInput, match="below"):
        sd.set_auto_threshold(session, admin, "环境保护", 0.8)
    sd.set_auto_threshold(session, admin, "城乡建设", None)
    assert sd.setting(session, sd.AUTO_THRESHOLDS_KEY) == {}


def test_intake_never_fails_because_of_auto_dispatch(world: World, trained, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    session = world.session
    _permit(session, 3)
    sd.set_auto_threshold(session, world.actor("admin"), "城乡建设", 0.5)

    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("model exploded")

    monkeypatch.setattr(sd, "auto_dispatch", broken)
    intake = appeals.create_appeal(session, world.actor("intake"), appeals.AppealDraft(
        title="楼顶加盖违建", content="邻居楼顶加盖违章搭建，私搭乱建严重。"))
    assert appeals.get_appeal(session, intake.number).state == "received"


def test_after_intake_costs_one_cached_lookup_when_off(world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls = []
    monkeypatch.setattr(sd, "auto_dispatch", lambda *a, **k: calls.append(a))
    appeals.create_appeal(world.session, world.actor("intake"),
                          appeals.AppealDraft(title="路灯不亮", content="路灯坏了"))
    assert calls == []
    started = time.perf_counter()
    for _ in range(1000):
        sd.after_intake(world.session, "YC20260101-00001", SYSTEM)
    assert (time.perf_counter() - started) / 1000 < 0.001


def test_a_new_lead_unit_model_drops_thresholds_it_cannot_support(world: World, trained, tmp_path: Path) -> None:
    session = world.session
    _permit(session, 3)
    sd.set_auto_threshold(session, world.actor("admin"), "城乡建设", 0.5)
    _permit(session, 10_000)  # the admin raised the bar: the next model cannot meet it
    [report] = sd.train_from_db(session, world.actor("admin"), model_dir=tmp_path / "again", kinds=["lead_unit"])
    assert report.status == "active" and report.dropped_thresholds == ["城乡建设"]
    assert sd.setting(session, sd.AUTO_THRESHOLDS_KEY) == {}


def test_a_big_archive_trains_on_its_most_recent_part(world: World, tmp_path: Path) -> None:
    build_archive(world)
    put_setting(world.session, sd.MAX_ROWS_KEY, 30)
    world.session.commit()
    [report] = sd.train_from_db(world.session, world.actor("admin"), model_dir=tmp_path, kinds=["lead_unit"])
    assert report.training_size == 30 and report.held_out_size + 30 < 75  # the held-out slice stays whole
    assert report.status == "active"
