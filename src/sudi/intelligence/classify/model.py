"""Train, apply, explain, save and load a text classifier (a dispatch suggester).

Method: the two TF-IDF blocks of :mod:`.features` and a one-vs-rest linear SVM (liblinear). The SVM
scores are turned into probabilities by a softmax with one temperature, fitted by minimum
log-loss on a held-out slice of the training data (15 %, split by distinct text so repeats cannot
sit on both sides); the classifier is then refitted on everything. A single temperature keeps the
ranking of the SVM untouched (top-k is unchanged) and is cheap at inference; Platt or isotonic
per-class calibration would need five-fold refits (too slow for the one-minute training budget)
and does not produce a distribution over the classes by itself. The same held-out slice gives the
quality written into the manifest; given the rows' times (``order_keys``) the slice is the newest part of
the history instead, so that the stated quality is that of predicting later messages.

Linear SVM, logistic regression, complement naive Bayes, NB-SVM and their probability-averaged blends were
all within validation noise of each other on three public histories (docs/benchmarks.md, issue 3), whose
ceiling is set by their labels: the same letter sent twice often carries two different units or types.
The SVM stays because it is the fastest to train and folds into one weight matrix.

Runner-up suggestions come from a second, more regularised SVM (C 0.1). On every validation slice we tried
(seven, over three histories) a smaller C ranked the true label into the top three more often but made the
first suggestion worse, so the first suggestion is the sharp model's and the alternatives are the smooth
model's best other labels: top-3 rose by 0.1–3.4 points with top-1 unchanged by construction. Both weight
matrices sit side by side in one array, so a prediction still gathers each feature's row once.

Inference does not call scikit-learn: the weight matrix (features × classes, float32) is applied to
the extractor's sparse vector directly, which makes one message cost well under a millisecond.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from sudi.core.errors import InvalidInput
from sudi.intelligence.classify.features import BLOCKS, FeatureExtractor, FeatureSettings, _char_table, normalise

FORMAT = "sudi-text-classifier"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class LabelScore:
    label: str
    probability: float


@dataclass(frozen=True, slots=True)
class Evidence:
    """A word or character gram of the message and how much it pushed the score of the suggested label."""

    term: str
    weight: float


@dataclass(frozen=True, slots=True)
class Prediction:
    label: str
    confidence: float  # calibrated probability of ``label``, 0–1
    top: tuple[LabelScore, ...]  # best first, ``top[0].label == label``
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class TrainSettings:
    features: FeatureSettings = field(default_factory=FeatureSettings)
    c: float = 0.5  # SVM regularisation; 0.5–1 were equivalent in our validation, smaller fits faster
    calibration_fraction: float = 0.15
    seed: int = 0
    # None: every row counts alike (best accuracy); "balanced": rows weighted inversely to their label's
    # frequency, which trades accuracy for recall of rare labels (macro-F1). Neither won on all three
    # public histories' validation slices (docs/benchmarks.md), so it is the caller's objective to pick.
    class_weight: str | None = None
    # C of the model that ranks the alternatives (None: the main model ranks them, as in files written
    # before the alternatives model existed).
    alternatives_c: float | None = 0.1

    def __post_init__(self) -> None:
        if self.class_weight not in (None, "balanced"):
            raise InvalidInput(f"未知的类别权重方式“{self.class_weight}”（可选：balanced）",
                               f"unknown class weighting '{self.class_weight}' (use 'balanced' or none)",
                               field="class_weight")


def _softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _combine(sharp: np.ndarray, smooth: np.ndarray) -> np.ndarray:
    """One distribution per row from the main model's (``sharp``) and the alternatives model's (``smooth``)
    calibrated probabilities: the main model's best label keeps its probability, the rest of the mass is
    shared among the other labels as the smooth model shares it, and no other label may exceed the best one
    (an excess is passed on to the others in proportion; a solution exists because the best label's
    probability is at least 1 / number of labels)."""
    rows = np.arange(len(sharp))
    top = sharp.argmax(axis=1)
    p_top = sharp[rows, top][:, None]
    cap = p_top * (1.0 - 1e-6)  # strictly below, so that sorting never puts another label first
    out = smooth.astype(np.float64, copy=True)
    out[rows, top] = 0.0
    out *= (1.0 - p_top) / np.maximum(out.sum(axis=1, keepdims=True), 1e-300)
    for _ in range(sharp.shape[1]):
        over = out > cap
        if not over.any():
            break
        excess = np.where(over, out - cap, 0.0).sum(axis=1, keepdims=True)
        out = np.minimum(out, cap)
        free = np.where(out >= cap, 0.0, out)  # labels already at the cap take no more
        free[rows, top] = 0.0
        out += free * (excess / np.maximum(free.sum(axis=1, keepdims=True), 1e-300))
    out[rows, top] = p_top[:, 0]
    return out


def quality_metrics(probabilities: np.ndarray, truth: np.ndarray, n_labels: int) -> dict[str, float | int]:
    """Accuracy, macro-F1 (over labels present in truth or prediction) and top-3 accuracy.

    ``truth`` holds label indices, -1 for a label the model does not know (always wrong)."""
    pred = probabilities.argmax(axis=1)
    top3 = np.argsort(-probabilities, axis=1)[:, :3]
    f1s = []
    for k in range(n_labels):
        tp = int(np.sum((pred == k) & (truth == k)))
        fp = int(np.sum((pred == k) & (truth != k)))
        fn = int(np.sum((pred != k) & (truth == k)))
        if tp + fp + fn:
            f1s.append(2 * tp / (2 * tp + fp + fn))
    unknown = int(np.sum(truth < 0))
    if unknown:
        f1s.append(0.0)  # labels the model never saw count as one class it always misses
    return {"n": len(truth), "accuracy": float(np.mean(pred == truth)) if len(truth) else 0.0,
            "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
            "top3_accuracy": float(np.mean((top3 == truth[:, None]).any(axis=1))) if len(truth) else 0.0}


def _fit_svm(x: Any, y: np.ndarray, c: float, sample_weight: np.ndarray | None, seed: int,
             class_weight: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.svm import LinearSVC

    svm = LinearSVC(C=c, random_state=seed, class_weight=class_weight)
    svm.fit(x, y, sample_weight=sample_weight)
    coef, intercept = svm.coef_, svm.intercept_
    if coef.shape[0] == 1:  # binary: liblinear gives one score s for class 1; class 0 gets -s
        coef = np.vstack([-coef, coef])
        intercept = np.concatenate([-intercept, intercept])
    return np.ascontiguousarray(coef.T, dtype=np.float32), intercept.astype(np.float32)


def _fit_temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    from scipy.optimize import minimize_scalar

    rows = np.arange(len(truth))

    def nll(log_t: float) -> float:
        p = _softmax(scores, float(np.exp(log_t)))
        return float(-np.mean(np.log(p[rows, truth] + 1e-12)))

    best = minimize_scalar(nll, bounds=(np.log(0.01), np.log(10.0)), method="bounded")
    return float(np.exp(best.x))


def _calibration_split(texts: Sequence[str], fraction: float, seed: int,
                       order_keys: Sequence[Any | None] | None = None) -> np.ndarray:
    """Boolean mask of the held-out slice: whole groups of identical (normalised) texts.

    Without times, chosen by a seeded hash. With ``order_keys`` (a time per row, None if unknown), the newest
    ``fraction`` of the rows with a time: a model is used on messages that come after its history, and routing
    drifts, so a random slice overstates quality (Dalian appeal types: 0.64 from a random slice, 0.60 from the
    newest, 0.53 measured on later letters). A text that also occurs among the older rows stays on the fitting
    side, so a repeat never sits on both sides. Rows without a time are never held out."""
    norms = [normalise(text) for text in texts]
    held = np.zeros(len(texts), dtype=bool)
    known = [i for i, k in enumerate(order_keys) if k is not None] if order_keys is not None else []
    if order_keys is not None and len(known) >= 2:
        # Equal times keep the file's order (a later row counts as newer), so the slice has its intended size
        # even when times are only dates.
        ordered = sorted(known, key=lambda i: order_keys[i])  # type: ignore[arg-type,return-value]
        newest = set(ordered[len(ordered) - round(len(ordered) * fraction):])
        older = {norms[i] for i in range(len(texts)) if i not in newest}
        for i in newest:
            held[i] = norms[i] not in older
        return held
    for i, norm in enumerate(norms):
        digest = hashlib.sha1(f"{seed}:{norm}".encode()).digest()
        held[i] = int.from_bytes(digest[:8], "big") / 2**64 < fraction
    return held


def recency_weights(order_keys: Sequence[Any | None], half_life: float = 0.2) -> np.ndarray:
    """Sample weights that halve every ``half_life`` (a fraction of the history, by rank) going back in time.

    Who answers what drifts (a bureau is merged, a task moves to the districts), so recent routing is the
    better guide; on the older part of the Jiamusi letters this raised top-1 by about two points on a later
    slice (docs/benchmarks.md). Ranks, not dates, so gaps and units of time do not matter; rows without
    a usable time get the median rank. Weights average 1, keeping the SVM's C meaningful."""
    n = len(order_keys)
    if n == 0:
        return np.empty(0)
    known = [i for i, k in enumerate(order_keys) if k is not None]
    rank = np.full(n, (n - 1) / 2.0)
    if known:
        ordered = sorted(known, key=lambda i: order_keys[i])  # type: ignore[arg-type,return-value]
        # Rows with a time are spread over the whole rank range; equal times get equal ranks.
        positions = np.linspace(0.0, n - 1.0, num=len(ordered)) if len(ordered) > 1 else np.array([n - 1.0])
        previous, previous_rank = None, 0.0
        for i, r in zip(ordered, positions, strict=True):
            if previous is not None and order_keys[i] == previous:
                rank[i] = previous_rank
            else:
                rank[i] = previous_rank = float(r)
                previous = order_keys[i]
    age = (n - 1 - rank) / max(1.0, n - 1.0)
    weights = 0.5 ** (age / half_life)
    return weights / weights.mean()


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("sudi", "numpy", "scipy", "scikit-learn", "jieba"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "unknown"
    return out


class TextClassifier:
    """A trained classifier: text in, suggested label with probability, alternatives and evidence out."""

    def __init__(self, extractor: FeatureExtractor, weights: np.ndarray, bias: np.ndarray, labels: Sequence[str],
                 temperature: float, manifest: dict[str, Any],
                 alternatives: tuple[np.ndarray, np.ndarray, float] | None = None) -> None:
        """``alternatives``: (weights, bias, temperature) of the model that ranks the labels after the first."""
        self.extractor = extractor
        self.weights = weights
        self.bias = bias
        self.labels: tuple[str, ...] = tuple(labels)
        self.temperature = temperature
        self.manifest = manifest
        self.alternatives = alternatives
        self._readable_cache: np.ndarray | None = None
        # C order, which take() in predict needs: it would copy any other layout whole on every call.
        if alternatives is None:
            self._all_weights, self._all_bias = np.ascontiguousarray(weights, dtype=np.float32), bias
        else:
            self._all_weights = np.ascontiguousarray(np.hstack([weights, alternatives[0]]), dtype=np.float32)
            self._all_bias = np.concatenate([bias, alternatives[1]]).astype(np.float32)

    def _distribution(self, scores: np.ndarray) -> np.ndarray:
        """Rows of probabilities from rows of scores (the main model's, then the alternatives model's)."""
        k = len(self.labels)
        sharp = _softmax(scores[:, :k], self.temperature)
        if self.alternatives is None:
            return sharp
        return _combine(sharp, _softmax(scores[:, k:], self.alternatives[2]))

    # ---- inference -----------------------------------------------------------------------------------
    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated class probabilities, one row per text, columns in ``self.labels`` order."""
        x = self.extractor.transform(texts)
        return self._distribution(np.asarray(x @ self._all_weights) + self._all_bias)

    def predict(self, text: str, *, top_k: int = 3, explain: int = 5) -> Prediction:
        cols, vals = self.extractor.transform_one(text)
        rows = self._all_weights.take(cols, axis=0)  # for rows, 2-4x faster than indexing
        probs = self._distribution((vals @ rows + self._all_bias)[None, :])[0]
        best = np.argsort(-probs)[:max(1, top_k)]
        evidence = self._evidence(cols, vals * rows[:, best[0]], explain) if explain else ()
        return Prediction(self.labels[best[0]], float(probs[best[0]]),
                          tuple(LabelScore(self.labels[k], float(probs[k])) for k in best), evidence)

    def predict_many(self, texts: Sequence[str], *, top_k: int = 3, explain: int = 0) -> list[Prediction]:
        if explain:
            return [self.predict(t, top_k=top_k, explain=explain) for t in texts]
        probs = self.probabilities(texts)
        out = []
        for row in probs:
            best = np.argsort(-row)[:max(1, top_k)]
            out.append(Prediction(self.labels[best[0]], float(row[best[0]]),
                                  tuple(LabelScore(self.labels[k], float(row[k])) for k in best)))
        return out

    def _evidence(self, cols: np.ndarray, contribution: np.ndarray, limit: int) -> tuple[Evidence, ...]:
        """The grams that raised the suggested label's score most, readable ones only: single characters and
        digit/punctuation runs say nothing to a dispatcher, and a gram inside an already chosen one repeats it."""
        chosen: list[Evidence] = []
        readable = self._readable()
        candidates = np.flatnonzero((contribution > 0) & readable[cols])
        if not len(candidates):
            return ()
        # Only the strongest few can make the list: a partial sort of those spares sorting them all.
        pool = min(len(candidates), 3 * limit + 8)
        if len(candidates) > pool:
            candidates = candidates[np.argpartition(-contribution[candidates], pool - 1)[:pool]]
        for i in candidates[np.argsort(-contribution[candidates])]:
            term = self.extractor.gram(int(cols[i]))
            if any(term in e.term or e.term in term for e in chosen):
                continue
            chosen.append(Evidence(term, round(float(contribution[i]), 4)))
            if len(chosen) >= limit:
                break
        return tuple(chosen)

    def _readable(self) -> np.ndarray:
        """Per column: may this gram be shown as evidence? Single characters and runs of digits or punctuation
        say nothing to a dispatcher. Computed once, on first use, so loading stays fast."""
        if self._readable_cache is None:
            self._readable_cache = np.fromiter(
                (len(g) >= 2 and any(ch.isalpha() for ch in g)
                 for block in BLOCKS for g in self.extractor.grams[block]), dtype=bool,
                count=self.extractor.n_features)
        return self._readable_cache

    def evaluate(self, texts: Sequence[str], labels: Sequence[str]) -> dict[str, float | int]:
        index = {label: k for k, label in enumerate(self.labels)}
        truth = np.array([index.get(label, -1) for label in labels], dtype=np.int64)
        return quality_metrics(self.probabilities(texts), truth, len(self.labels))

    # ---- persistence ---------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """A zip of manifest.json, vocabulary.json and arrays.npz: plain data, so loading runs no code."""
        arrays = {"weights": self.weights, "bias": self.bias, "readable": self._readable(), **self.extractor.arrays()}
        if self.alternatives is not None:
            arrays["alternatives_weights"], arrays["alternatives_bias"] = self.alternatives[0], self.alternatives[1]
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)  # type: ignore[arg-type]
        manifest = {**self.manifest, "labels": list(self.labels), "temperature": self.temperature,
                    "alternatives_temperature": None if self.alternatives is None else self.alternatives[2],
                    "n_features": self.extractor.n_features,
                    "feature_settings": self.extractor.settings.as_dict()}
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
            zf.writestr("vocabulary.json", json.dumps(self.extractor.grams, ensure_ascii=False,
                                                      separators=(",", ":")))
            zf.writestr("arrays.npz", buffer.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> TextClassifier:
        try:
            with zipfile.ZipFile(path) as zf:
                manifest = json.loads(zf.read("manifest.json"))
                if manifest.get("format") != FORMAT:
                    raise ValueError("not a sudi text classifier")
                if manifest.get("format_version") != FORMAT_VERSION:
                    raise ValueError(f"model format version {manifest.get('format_version')} is not "
                                     f"{FORMAT_VERSION}")
                vocabulary = json.loads(zf.read("vocabulary.json"))
                with np.load(io.BytesIO(zf.read("arrays.npz")), allow_pickle=False) as npz:
                    arrays = {name: npz[name] for name in npz.files}
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise InvalidInput(f"无法读取模型文件 {path}：{exc}", f"cannot read model file {path}: {exc}",
                               field="model") from exc
        settings = FeatureSettings.from_dict(manifest["feature_settings"])
        extractor = FeatureExtractor.from_arrays(settings, arrays, vocabulary)
        # Built here, once per process, so that the first message answered is as fast as the others.
        _char_table(settings.digits_to_zero)
        alternatives = None
        # Files written before the alternatives model (same format version) simply lack these arrays.
        if "alternatives_weights" in arrays and manifest.get("alternatives_temperature"):
            alternatives = (np.ascontiguousarray(arrays["alternatives_weights"], dtype=np.float32),
                            np.asarray(arrays["alternatives_bias"], dtype=np.float32),
                            float(manifest["alternatives_temperature"]))
        model = cls(extractor, np.ascontiguousarray(arrays["weights"], dtype=np.float32),
                    np.asarray(arrays["bias"], dtype=np.float32), manifest["labels"], float(manifest["temperature"]),
                    manifest, alternatives)
        if "readable" in arrays and len(arrays["readable"]) == extractor.n_features:
            model._readable_cache = np.asarray(arrays["readable"], dtype=bool)
        return model


def train_classifier(texts: Sequence[str], labels: Sequence[str], *, settings: TrainSettings | None = None,
                     sample_weight: Sequence[float] | np.ndarray | None = None, calibrate: bool = True,
                     extra_manifest: dict[str, Any] | None = None,
                     order_keys: Sequence[Any | None] | None = None) -> TextClassifier:
    """Train on a labelled history. ``texts`` must be non-empty strings (callers skip empty rows).

    ``order_keys``: each row's time (any comparable value, e.g. :func:`time_key`; None where unknown). When
    given, the calibration and quality slice is the newest part of the history instead of a random one, so
    the stated probabilities and held-out quality are those of predicting later messages. It does not weight
    the rows; pass ``sample_weight=recency_weights(order_keys)`` for that.

    Raises :class:`InvalidInput` when there are fewer than two labels or the lengths disagree."""
    settings = settings or TrainSettings()
    if len(texts) != len(labels):
        raise InvalidInput("文本与标签数量不一致", "texts and labels differ in length")
    if order_keys is not None and len(order_keys) != len(texts):
        raise InvalidInput("时间与文本数量不一致", "order keys and texts differ in length", field="time")
    by_time = order_keys is not None and sum(k is not None for k in order_keys) >= 2
    label_set = sorted(set(labels))
    if len(label_set) < 2:
        raise InvalidInput(f"标签列只有 {len(label_set)} 个类别，至少需要两个",
                           f"the label column has {len(label_set)} class(es); at least two are needed",
                           field="label")
    index = {label: k for k, label in enumerate(label_set)}
    y = np.array([index[label] for label in labels], dtype=np.int64)
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    started = datetime.now(UTC)

    # The vocabulary and idf use no labels, so they are learnt once from all texts and the held-out slice
    # only withholds labels; this halves training time at no cost in honesty of the held-out estimate.
    extractor, x = FeatureExtractor.fit_transform(texts, settings.features)
    temperature, alt_temperature, held_out_quality = 1.0, 1.0, None
    held = (_calibration_split(texts, settings.calibration_fraction, settings.seed, order_keys)
            if calibrate else None)
    if held is not None:
        # A label whose every row fell into the slice could not be learnt by the calibration model: its rows
        # go back to the fitting side (rare labels then stay out of the slice, which is what we want anyway).
        absent = np.bincount(y[~held], minlength=len(label_set)) == 0
        held &= ~absent[y]
    # Calibrate only when the slice is big enough to say something.
    if held is not None and held.sum() >= 20 and (~held).sum() >= 2:
        fit_idx, held_idx = np.nonzero(~held)[0], np.nonzero(held)[0]
        w, b = _fit_svm(x[fit_idx], y[fit_idx], settings.c, None if weights is None else weights[fit_idx],
                        settings.seed, settings.class_weight)
        held_scores = np.asarray(x[held_idx] @ w) + b
        temperature = _fit_temperature(held_scores, y[held_idx])
        held_probabilities = _softmax(held_scores, temperature)
        if settings.alternatives_c is not None:
            aw, ab = _fit_svm(x[fit_idx], y[fit_idx], settings.alternatives_c,
                              None if weights is None else weights[fit_idx], settings.seed, settings.class_weight)
            alt_scores = np.asarray(x[held_idx] @ aw) + ab
            alt_temperature = _fit_temperature(alt_scores, y[held_idx])
            held_probabilities = _combine(held_probabilities, _softmax(alt_scores, alt_temperature))
        held_out_quality = {**quality_metrics(held_probabilities, y[held_idx], len(label_set)),
                            "how": (f"newest {settings.calibration_fraction:.0%} of the training rows by time "
                                    f"(texts not also among the older rows), model fitted on the older rows"
                                    if by_time else
                                    f"{settings.calibration_fraction:.0%} of the distinct training texts "
                                    f"(seeded hash of the normalised text), model fitted on the rest")}
    w, b = _fit_svm(x, y, settings.c, weights, settings.seed, settings.class_weight)
    alternatives = None
    if settings.alternatives_c is not None:
        aw, ab = _fit_svm(x, y, settings.alternatives_c, weights, settings.seed, settings.class_weight)
        alternatives = (aw, ab, alt_temperature)
    counts = np.bincount(y, minlength=len(label_set))
    manifest: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_seconds": round((datetime.now(UTC) - started).total_seconds(), 2),
        "training_size": len(texts),
        "label_counts": {label: int(counts[k]) for k, label in enumerate(label_set)},
        "classifier": {"kind": "linear-svm-ovr", "C": settings.c, "calibration": "softmax temperature",
                       "class_weight": settings.class_weight, "sample_weighted": weights is not None,
                       "held_out_by_time": by_time,
                       "alternatives": None if settings.alternatives_c is None else
                       {"kind": "linear-svm-ovr", "C": settings.alternatives_c,
                        "role": "ranks the labels after the first suggestion"}},
        "held_out_quality": held_out_quality,
        "library_versions": library_versions(),
        **(extra_manifest or {}),
    }
    return TextClassifier(extractor, w, b, label_set, temperature, manifest, alternatives)


def load_classifier(path: str | Path) -> TextClassifier:
    return TextClassifier.load(path)
