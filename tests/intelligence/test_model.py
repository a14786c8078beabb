"""Training, prediction, explanation, calibration and the model file."""

from __future__ import annotations

import io
import json
import time
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from sudi.core.errors import InvalidInput
from sudi.intelligence.classify import (
    FORMAT_VERSION,
    TextClassifier,
    TrainSettings,
    load_classifier,
    recency_weights,
    train_classifier,
)
from tests.intelligence.synthetic import TOPICS, corpus


@pytest.fixture(scope="module")
def model() -> TextClassifier:
    texts, labels = corpus(60, seed=1)
    return train_classifier(texts, labels)


def test_learns_raw_and_presegmented_text(model: TextClassifier) -> None:
    for segmented in (False, True):
        texts, labels = corpus(15, seed=7, segmented=segmented)
        metrics = model.evaluate(texts, labels)
        assert metrics["accuracy"] >= 0.95, (segmented, metrics)
        assert metrics["top3_accuracy"] == 1.0


def test_prediction_shape(model: TextClassifier) -> None:
    p = model.predict("向阳区学校招生不公平，学位不够，希望教育局尽快处理")
    assert p.label == "教育文体"
    assert 0.0 <= p.confidence <= 1.0
    assert p.top[0].label == p.label and p.top[0].probability == pytest.approx(p.confidence)
    assert len(p.top) == 3 and len({s.label for s in p.top}) == 3
    assert [s.probability for s in p.top] == sorted((s.probability for s in p.top), reverse=True)
    assert sum(model.probabilities(["向阳区学校招生"])[0]) == pytest.approx(1.0, abs=1e-5)


def test_explanation_names_the_deciding_words(model: TextClassifier) -> None:
    p = model.predict("长安路工厂排放废水，异味很大，严重影响生活")
    assert p.label == "环境保护"
    terms = [e.term for e in p.evidence]
    assert terms and all(e.weight > 0 for e in p.evidence)
    assert any(word in term or term in word for term in terms for word in TOPICS["环境保护"])
    assert all(len(t) >= 2 for t in terms)
    assert not any(a != b and a in b for a in terms for b in terms)  # no term repeated inside another


def test_unknown_or_empty_text_still_answers(model: TextClassifier) -> None:
    for text in ("", "zzzz", "１２３"):
        p = model.predict(text)
        assert p.label in model.labels and 0 <= p.confidence <= 1
        assert p.evidence == ()


def test_batch_and_single_predictions_agree(model: TextClassifier) -> None:
    texts, _ = corpus(5, seed=11)
    batch = model.predict_many(texts)
    for text, b in zip(texts, batch, strict=True):
        single = model.predict(text)
        assert single.label == b.label
        assert single.confidence == pytest.approx(b.confidence, abs=1e-5)


def test_confidence_is_calibrated_on_a_held_out_slice(model: TextClassifier) -> None:
    quality = model.manifest["held_out_quality"]
    assert quality["n"] >= 20 and quality["accuracy"] > 0.9
    assert 0.01 <= model.temperature <= 10


def test_model_file_round_trip(model: TextClassifier, tmp_path: Path) -> None:
    path = tmp_path / "m.sudimodel"
    model.save(path)
    started = time.perf_counter()
    loaded = load_classifier(path)
    assert time.perf_counter() - started < 1.0
    texts, _ = corpus(5, seed=5)
    for text in texts:
        a, b = model.predict(text), loaded.predict(text)
        assert (a.label, a.evidence) == (b.label, b.evidence)
        assert a.confidence == pytest.approx(b.confidence)
    manifest = loaded.manifest
    assert manifest["format_version"] == FORMAT_VERSION
    assert datetime.fromisoformat(manifest["created_at"]).tzinfo is not None
    assert manifest["labels"] == sorted(TOPICS)
    assert manifest["training_size"] == 240
    assert manifest["feature_settings"]["char_ngrams"] == [1, 3]
    assert {"numpy", "scikit-learn", "jieba", "python"} <= set(manifest["library_versions"])
    assert manifest["held_out_quality"]["accuracy"] > 0.9


def test_model_file_holds_no_pickle(model: TextClassifier, tmp_path: Path) -> None:
    path = tmp_path / "m.sudimodel"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["arrays.npz", "manifest.json", "vocabulary.json"]
        with np.load(io.BytesIO(zf.read("arrays.npz")), allow_pickle=False) as npz:
            assert all(npz[name].dtype != object for name in npz.files)


def test_foreign_or_newer_files_are_refused(model: TextClassifier, tmp_path: Path) -> None:
    path = tmp_path / "m.sudimodel"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    manifest = json.loads(parts["manifest.json"])
    manifest["format_version"] = FORMAT_VERSION + 1
    newer = tmp_path / "newer.sudimodel"
    with zipfile.ZipFile(newer, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, json.dumps(manifest) if name == "manifest.json" else data)
    with pytest.raises(InvalidInput):
        load_classifier(newer)
    junk = tmp_path / "junk.sudimodel"
    junk.write_bytes(b"not a zip")
    with pytest.raises(InvalidInput) as err:
        load_classifier(junk)
    assert err.value.message_zh and err.value.message_en


def test_a_single_class_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        train_classifier(["物业收费", "电梯故障"], ["城乡建设", "城乡建设"])
    assert "两个" in err.value.message_zh and "two" in err.value.message_en


def test_two_classes_and_tiny_histories_work() -> None:
    model = train_classifier(["物业收费太高", "学校招生", "小区物业乱收费", "学生补课"],
                             ["城乡建设", "教育文体", "城乡建设", "教育文体"])
    assert model.manifest["held_out_quality"] is None  # too small to hold anything out
    assert model.predict("物业收费").label == "城乡建设"
    assert len(model.predict("物业收费", top_k=3).top) == 2


def test_recency_weights() -> None:
    w = recency_weights([(2016, 1, 1), (2014, 5, 2), None, (2018, 3, 1), (2018, 3, 1)], half_life=0.2)
    assert w.mean() == pytest.approx(1.0)
    assert w[1] < w[0] < w[3] and w[3] == w[4]
    assert w[1] < w[2] < w[3]  # no time: the median weight
    assert recency_weights([]).size == 0
    n = 101
    ladder = recency_weights(list(range(n)), half_life=0.5)
    assert ladder[-1] / ladder[0] == pytest.approx(4.0)  # two half-lives across the history


def test_times_make_the_held_out_slice_the_newest_rows() -> None:
    from sudi.intelligence.classify.model import _calibration_split

    texts = [f"来信{chr(0x4E00 + i)}：物业收费问题" for i in range(100)] + ["重复的信", "重复的信"]
    keys: list[tuple[int, ...] | None] = [(2018, 1, 1, i) for i in range(100)] + [(2019, 1, 1), (2010, 1, 1)]
    keys[5] = None
    held = _calibration_split(texts, 0.2, 0, keys)
    # The newest 20 of the 101 dated rows are row 100 and rows 81–99; row 100 repeats an older text, so it
    # stays on the fitting side with its twin.
    assert set(np.flatnonzero(held).tolist()) == set(range(81, 100))
    assert not held[5]  # no time: never held out
    by_hash = _calibration_split(texts, 0.2, 0)
    assert by_hash[100] == by_hash[101]  # identical texts land together


def test_time_ordered_training_and_class_weights() -> None:
    texts, labels = corpus(40, seed=3)
    keys = [(2018, 1 + i % 12, 1) for i in range(len(texts))]
    model = train_classifier(texts, labels, order_keys=keys,
                             settings=TrainSettings(class_weight="balanced"))
    assert model.manifest["held_out_quality"]["how"].startswith("newest")
    assert model.manifest["classifier"]["class_weight"] == "balanced"
    assert model.manifest["classifier"]["held_out_by_time"] is True
    assert model.evaluate(*corpus(10, seed=4))["accuracy"] >= 0.9
    with pytest.raises(InvalidInput):
        train_classifier(texts, labels, order_keys=keys[:-1])
    with pytest.raises(InvalidInput):
        TrainSettings(class_weight="by-magic")


def test_alternatives_keep_the_first_suggestion_and_form_a_distribution() -> None:
    from sudi.intelligence.classify.model import _combine

    rng = np.random.default_rng(0)
    for k in (2, 3, 7, 40):
        sharp = rng.dirichlet(np.full(k, 0.3), size=200)
        smooth = rng.dirichlet(np.full(k, 0.3), size=200)
        out = _combine(sharp, smooth)
        rows = np.arange(200)
        top = sharp.argmax(axis=1)
        assert np.allclose(out.sum(axis=1), 1.0)
        assert (out.argmax(axis=1) == top).all()
        assert np.allclose(out[rows, top], sharp[rows, top])
        others = out.copy()
        others[rows, top] = -1.0
        assert (others.max(axis=1) < out[rows, top]).all()
        # Where nothing had to be capped, the others are ranked as the smooth model ranks them.
        plain = smooth.copy()
        plain[rows, top] = 0.0
        plain *= (1 - sharp[rows, top])[:, None] / plain.sum(axis=1, keepdims=True)
        uncapped = plain.max(axis=1) < sharp[rows, top]
        assert np.allclose(out[uncapped], np.where(np.arange(k) == top[uncapped, None], out[uncapped],
                                                   plain[uncapped]))


def test_files_without_the_alternatives_model_still_load(model: TextClassifier, tmp_path: Path) -> None:
    assert model.alternatives is not None
    assert model.manifest["classifier"]["alternatives"]["C"] == 0.1
    path = tmp_path / "m.sudimodel"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    manifest = json.loads(parts["manifest.json"])
    del manifest["alternatives_temperature"]
    with np.load(io.BytesIO(parts["arrays.npz"]), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files if not name.startswith("alternatives_")}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    older = tmp_path / "older.sudimodel"
    with zipfile.ZipFile(older, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("vocabulary.json", parts["vocabulary.json"])
        zf.writestr("arrays.npz", buffer.getvalue())
    loaded = load_classifier(older)
    assert loaded.alternatives is None
    text = "长安路工厂排放废水，异味很大"
    a, b = model.predict(text), loaded.predict(text)
    assert a.label == b.label and a.confidence == pytest.approx(b.confidence)
    assert sum(loaded.probabilities([text])[0]) == pytest.approx(1.0, abs=1e-5)
    without = train_classifier(*corpus(20, seed=2), settings=TrainSettings(alternatives_c=None))
    assert without.alternatives is None and without.manifest["classifier"]["alternatives"] is None
    # predict() gathers weight rows with take(), which would copy a weight matrix in any other order per call
    fortran = TextClassifier(without.extractor, np.asfortranarray(without.weights), without.bias, without.labels,
                             without.temperature, without.manifest)
    assert fortran._all_weights.flags.c_contiguous
    assert fortran.predict("长安路工厂排放废水") == without.predict("长安路工厂排放废水")
    texts, _ = corpus(3, seed=5)
    for single, batch in zip([without.predict(t) for t in texts], without.predict_many(texts), strict=True):
        assert single.label == batch.label and single.confidence == pytest.approx(batch.confidence, abs=1e-5)
