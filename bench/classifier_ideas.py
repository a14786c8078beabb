"""Dispatch classifiers (issue 3), third round of ideas: each measured on validation slices of the training
portions only, against sudi's main model fitted on the same rows.

The slices are those of the first two rounds (docs/benchmarks.md, "Splits"): TipDM, message groups in hash
bucket 1 of 5 as validation and buckets 2–4 as training (bucket 0 is the test set and is never read); Jiamusi
and Dalian, the newest 20 % of the time-split training portion, de-duplicated against its older 80 %. The
test rows of ``bench/classifiers.py`` are not touched.

The reference is the main model alone: sudi's features (``FeatureExtractor``) and a one-vs-rest linear SVM
with C 0.5, as ``train_classifier`` fits it (the runner-up model only re-ranks suggestions two and three).
The ideas:

1. **Per-label score offsets** chosen on 5-fold grouped cross-validation of the training part to maximise the
   task's own target metric (macro-F1 for TipDM, accuracy otherwise): coordinate ascent, three sweeps over
   offsets in [-0.5, 0.5].
2. **Cleaning the history** (confident learning): drop the training rows whose cross-validated score for
   their own label trails the best label by more than 0.3 / 0.6 / 1.0, and refit.
3. **A dense block**: 300 dimensions of truncated SVD of the TF-IDF matrix (latent semantic analysis),
   L2-normalised and appended with weight 0.5 or 1.
4. **Unlabelled messages of the same platform** (TipDM only: the 7,142 messages of ``fujian3`` and
   ``fujian4``, no labels read): (a) vocabulary and idf learnt from labelled + unlabelled text; (b)
   self-training: the unlabelled messages whose predicted label leads by the top 30 / 60 / 100 % of margins
   are added with that label, and the model refitted.

    .venv/bin/python bench/classifier_ideas.py --json var/bench-classifier-ideas.json
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from classifiers import ROOT, Task, dedupe_key, read_rows, time_task, tipdm_task, write_json
from rich.console import Console
from rich.table import Table

from sudi.intelligence.classify import quality_metrics
from sudi.intelligence.classify.features import FeatureExtractor, FeatureSettings

console = Console(stderr=True, width=150)
C = 0.5  # the main model's, TrainSettings.c


@dataclass
class Slice:
    name: str
    metric: str  # the target metric: "macro_f1" or "accuracy"
    train_texts: list[str]
    train_labels: np.ndarray
    train_groups: np.ndarray  # rows of one message (or one normalised text) stay in one fold
    val_texts: list[str]
    val_labels: np.ndarray
    labels: list[str]


def _slice(name: str, metric: str, texts: Sequence[str], labels: Sequence[str], groups: Sequence[int],
           is_val: Sequence[bool]) -> Slice:
    label_set = sorted(set(labels))
    index = {label: k for k, label in enumerate(label_set)}
    y = np.array([index.get(label, -1) for label in labels])
    val = np.array(is_val)
    return Slice(name, metric, [t for t, v in zip(texts, val, strict=True) if not v], y[~val],
                 np.asarray(groups)[~val], [t for t, v in zip(texts, val, strict=True) if v], y[val], label_set)


def tipdm_slice(data: Path) -> Slice:
    task = tipdm_task(data)
    assert task.train_groups is not None
    bucket = [int(hashlib.sha1(str(g).encode()).hexdigest(), 16) % 5 for g in task.train_groups]
    return _slice("TipDM category", "macro_f1", task.train_texts, task.train_labels, task.train_groups,
                  [b == 1 for b in bucket])


def newest_slice(task: Task, metric: str) -> Slice:
    """The newest 20 % of the (time-ordered) training portion, minus texts also among its older rows."""
    cut = int(len(task.train_texts) * 0.8)
    seen = {dedupe_key(t) for t in task.train_texts[:cut]}
    keep, is_val, groups = [], [], []
    for i, text in enumerate(task.train_texts):
        key = dedupe_key(text)
        if i >= cut:
            if key in seen:
                continue
            seen.add(key)
        keep.append(i)
        is_val.append(i >= cut)
        groups.append(int(hashlib.sha1(key.encode()).hexdigest()[:12], 16))
    return _slice(task.name, metric, [task.train_texts[i] for i in keep], [task.train_labels[i] for i in keep],
                  groups, is_val)


def measured(decision: np.ndarray, truth: np.ndarray) -> dict[str, float | int]:
    """The product's quality measures (``quality_metrics``): they read only the ranking of the labels, so SVM
    decisions serve as well as probabilities."""
    return quality_metrics(decision, truth, decision.shape[1])


def fit(x: Any, y: np.ndarray, n_labels: int) -> Callable[[Any], np.ndarray]:
    """The main model's SVM; the decision has a column for every label, also those absent from ``y``."""
    from sklearn.svm import LinearSVC

    svm = LinearSVC(C=C, random_state=0).fit(x, y)

    def decide(z: Any) -> np.ndarray:
        out = np.full((z.shape[0], n_labels), -1e9)
        out[:, svm.classes_] = svm.decision_function(z) if len(svm.classes_) > 2 else np.column_stack(
            [-svm.decision_function(z), svm.decision_function(z)])
        return out
    return decide


def cross_validated(x: Any, s: Slice) -> np.ndarray:
    from sklearn.model_selection import GroupKFold

    out = np.zeros((x.shape[0], len(s.labels)))
    for a, b in GroupKFold(5).split(x, s.train_labels, s.train_groups):
        out[b] = fit(x[a], s.train_labels[a], len(s.labels))(x[b])
    return out


def tuned_offsets(cv: np.ndarray, truth: np.ndarray, metric: str) -> np.ndarray:
    def objective(offsets: np.ndarray) -> float:
        return measured(cv + offsets, truth)[metric]

    offsets = np.zeros(cv.shape[1])
    for _ in range(3):
        for k in range(cv.shape[1]):
            best, best_value = objective(offsets), offsets[k]
            for value in np.linspace(-0.5, 0.5, 41):
                trial = offsets.copy()
                trial[k] = value
                if (result := objective(trial)) > best:
                    best, best_value = result, value
            offsets[k] = best_value
    return offsets


def run(s: Slice, unlabelled: Sequence[str] | None) -> dict[str, dict[str, float]]:
    from sklearn.decomposition import TruncatedSVD

    results: dict[str, dict[str, float]] = {}
    n = len(s.labels)
    started = time.perf_counter()
    extractor, x = FeatureExtractor.fit_transform(s.train_texts, FeatureSettings())
    xv = extractor.transform(s.val_texts)
    decide = fit(x, s.train_labels, n)
    reference = decide(xv)
    results["sudi main model (reference)"] = measured(reference, s.val_labels)

    cv = cross_validated(x, s)
    offsets = tuned_offsets(cv, s.train_labels, s.metric)
    results[f"1. per-label offsets tuned for {s.metric} on CV"] = measured(reference + offsets, s.val_labels)

    lag = cv.max(axis=1) - cv[np.arange(len(s.train_labels)), s.train_labels]
    for limit in (0.3, 0.6, 1.0):
        keep = lag <= limit
        results[f"2. history cleaned: lag > {limit} dropped ({int((~keep).sum())} rows)"] = measured(
            fit(x[keep], s.train_labels[keep], n)(xv), s.val_labels)

    svd = TruncatedSVD(300, random_state=0).fit(x)

    def dense(z: Any) -> sp.csr_matrix:
        d = svd.transform(z)
        return sp.csr_matrix(d / (np.linalg.norm(d, axis=1, keepdims=True) + 1e-9))

    for weight in (0.5, 1.0):
        x3, xv3 = (sp.hstack([z, weight * dense(z)]).tocsr() for z in (x, xv))
        results[f"3. + LSA 300 block, weight {weight}"] = measured(fit(x3, s.train_labels, n)(xv3), s.val_labels)

    if unlabelled:
        wide, both = FeatureExtractor.fit_transform([*s.train_texts, *unlabelled], FeatureSettings())
        xl, xu = both[: len(s.train_texts)], both[len(s.train_texts):]
        xvl = wide.transform(s.val_texts)
        decide_wide = fit(xl, s.train_labels, n)
        results["4a. vocabulary and idf from labelled + unlabelled text"] = measured(decide_wide(xvl), s.val_labels)
        su = decide_wide(xu)
        ranked = np.sort(su, axis=1)
        margin = ranked[:, -1] - ranked[:, -2]
        for share in (0.3, 0.6, 1.0):
            chosen = margin >= np.quantile(margin, 1 - share)
            results[f"4b. self-training: top {share:.0%} of unlabelled by margin ({int(chosen.sum())})"] = measured(
                fit(sp.vstack([xl, xu[chosen]]).tocsr(), np.concatenate([s.train_labels, su[chosen].argmax(1)]),
                    n)(xvl), s.val_labels)
    console.print(f"  {s.name}: {time.perf_counter() - started:.0f} s")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--json", type=Path, help="write all results here")
    args = parser.parse_args(argv)
    if not (args.data / "tipdm2020c").is_dir():
        console.print(f"[red]no shared data at {args.data}[/red]")
        return 2
    unlabelled = [r["留言主题"] + "\n" + r["留言详情"]
                  for name in ("fujian3_hotspot_messages.csv", "fujian4_replies.csv")
                  for r in read_rows(args.data / "tipdm2020c" / name)]
    slices = [
        (tipdm_slice(args.data), unlabelled),
        (newest_slice(time_task("Jiamusi responsible unit", args.data / "jiamusi" / "jiamusi_appeals_train.csv",
                                "咨询时间", ("信件标题", "信件内容"), "答复部门", {}), "accuracy"), None),
        (newest_slice(time_task("Dalian appeal type", args.data / "dalian" / "dalian_appeals_train.csv", "反映时间",
                                ("反映标题", "反映内容"), "类型", {}), "accuracy"), None),
    ]
    results: dict[str, Any] = {}
    table = Table(title="Third round of ideas, validation slices (not the test sets)")
    for column in ("slice", "idea", "accuracy", "macro-F1", "top-3"):
        table.add_column(column, justify="left" if column in ("slice", "idea") else "right")
    for s, extra in slices:
        console.print(f"{s.name}: {len(s.train_texts)} training rows, {len(s.val_texts)} validation rows")
        results[s.name] = {"n_train": len(s.train_texts), "n_validation": len(s.val_texts), "metric": s.metric,
                           "ideas": run(s, extra)}
        reference = results[s.name]["ideas"]["sudi main model (reference)"]
        for idea, r in results[s.name]["ideas"].items():
            delta = "" if idea.startswith("sudi") else f" ({100 * (r[s.metric] - reference[s.metric]):+.1f})"
            table.add_row(s.name, idea, f"{r['accuracy']:.4f}" + (delta if s.metric == "accuracy" else ""),
                          f"{r['macro_f1']:.4f}" + (delta if s.metric == "macro_f1" else ""),
                          f"{r['top3_accuracy']:.4f}")
    console.print(table)
    if args.json:
        write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
