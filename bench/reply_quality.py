"""Reply quality (issue 5): validity checks of ``sudi.intelligence.reply_quality`` on public replies.

Data: ``tipdm2020c/fujian4_replies.csv`` (2,816 messages with the government's reply and reply
time; ``../shared/data`` from the project root, or ``--data``). Nothing here fits or tunes anything:
every number below is the fixed method scoring the file.

1. **Relevance against shuffled replies (the main validity measure).** For every message, its
   true reply and a reply of another message are scored for relevance; the AUC is the chance
   that the true reply scores higher than the other one (ties count half). Two kinds of "other":
   *random* (a seeded random other message) and *neighbouring* (the message whose title shares
   the most character bigrams with this one's, different text: a reply about a similar matter,
   the hard case "answers a neighbouring request"). Reported on all rows and on the rows whose
   true reply has substance (normativity did not flag "no substance"). Baseline in the same run:
   the character-pair Jaccard similarity of the whole appeal and the whole reply.
2. **Agreement with another team's annotation** (``可解释性_other_team_annotation``, 0/1; not
   truth). AUC of our normativity and overall scores against it; accuracy and Cohen's kappa at
   the product's pass score (``ReplyQualityConfig.pass_score``, 60, fixed before looking at the
   column) applied to normativity and to overall.
3. Dimension means and the most frequent weak points; speed (replies scored per second).

    .venv/bin/python bench/reply_quality.py [--data ../shared/data] [--limit N] [--json OUT]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rich.console import Console  # noqa: E402
from rich.progress import track  # noqa: E402
from rich.table import Table  # noqa: E402

from sudi.core.clock import DISTRICT_TZ  # noqa: E402
from sudi.intelligence import reply_quality as rq  # noqa: E402

LABEL = "可解释性_other_team_annotation"


def parse_time(value: str) -> datetime | None:
    value = (value or "").strip()
    for fmt in ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=DISTRICT_TZ)
        except ValueError:
            continue
    return None


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """Mann–Whitney AUC, ties half."""
    ranked = sorted([(v, 1) for v in positives] + [(v, 0) for v in negatives])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid = (i + j + 1) / 2  # average 1-based rank of the tie group
        rank_sum += mid * sum(1 for k in range(i, j) if ranked[k][1] == 1)
        i = j
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def paired_auc(true: Sequence[float], other: Sequence[float]) -> float:
    """The share of messages whose true reply beats the other reply (ties half)."""
    wins = sum(1.0 if t > o else 0.5 if t == o else 0.0 for t, o in zip(true, other, strict=True))
    return wins / len(true)


def kappa(pred: Sequence[int], gold: Sequence[int]) -> float:
    n = len(gold)
    agree = sum(p == g for p, g in zip(pred, gold, strict=True)) / n
    p1, g1 = sum(pred) / n, sum(gold) / n
    expected = p1 * g1 + (1 - p1) * (1 - g1)
    return (agree - expected) / (1 - expected) if expected < 1 else 0.0


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


def neighbours(titles: Sequence[str], texts: Sequence[str]) -> list[int]:
    """For each message, the other message whose title shares the most bigrams (Jaccard), with a
    different text; an inverted index keeps this near-linear."""
    grams = [_bigrams(t) for t in titles]
    index: dict[str, list[int]] = {}
    for i, g in enumerate(grams):
        for b in g:
            index.setdefault(b, []).append(i)
    out = []
    for i, g in enumerate(grams):
        shared: Counter[int] = Counter()
        for b in g:
            postings = index[b]
            if len(postings) > 300:  # a bigram in 10 % of titles ("小区") says little about the matter
                continue
            shared.update(postings)
        best, best_score = -1, -1.0
        for j, n in shared.items():
            if j == i or texts[j] == texts[i]:
                continue
            score = n / (len(g) + len(grams[j]) - n)
            if score > best_score:
                best, best_score = j, score
        out.append(best if best >= 0 else (i + 1) % len(titles))
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--json", default="")
    args = parser.parse_args(argv)
    console = Console()
    path = Path(args.data) / "tipdm2020c" / "fujian4_replies.csv"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if (r.get("答复意见") or "").strip()]
    if args.limit:
        rows = rows[: args.limit]
    n = len(rows)
    titles = [r["留言主题"] for r in rows]
    contents = [r["留言详情"] for r in rows]
    replies = [r["答复意见"] for r in rows]
    rng = random.Random(args.seed)
    shuffled = []
    for i in range(n):
        j = rng.randrange(n - 1)
        shuffled.append(j if j < i else j + 1)
    near = neighbours(titles, contents)
    config = rq.ReplyQualityConfig()

    rq.score_reply("预热", "预热", "预热")  # jieba's dictionary load, outside the timing
    true_scores: list[rq.ReplyAssessment] = []
    started, cpu0 = time.perf_counter(), time.process_time()
    for i in track(range(n), description="真实答复", console=console):
        true_scores.append(rq.score_reply(titles[i], contents[i], replies[i], config=config,
                                          appeal_time=parse_time(rows[i]["留言时间"]),
                                          reply_time=parse_time(rows[i]["答复时间"])))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
    random_rel = [rq.score_reply(titles[i], contents[i], replies[shuffled[i]], config=config).score("relevance") or 0.0
                  for i in track(range(n), description="随机他件答复", console=console)]
    near_rel = [rq.score_reply(titles[i], contents[i], replies[near[i]], config=config).score("relevance") or 0.0
                for i in track(range(n), description="相近他件答复", console=console)]
    true_rel = [a.score("relevance") or 0.0 for a in true_scores]
    # Baseline in the same run: character-pair Jaccard of the whole appeal and the whole reply.
    appeal_grams = [_bigrams(titles[i] + contents[i]) for i in range(n)]
    reply_grams = [_bigrams(r) for r in replies]

    def jaccard(i: int, j: int) -> float:
        union = len(appeal_grams[i] | reply_grams[j])
        return len(appeal_grams[i] & reply_grams[j]) / union if union else 0.0

    base_true = [jaccard(i, i) for i in range(n)]
    base_random = [jaccard(i, shuffled[i]) for i in range(n)]
    base_near = [jaccard(i, near[i]) for i in range(n)]
    substantive = [i for i, a in enumerate(true_scores) if not any(w.code == "no_substance" for w in a.weak_points)]

    result: dict[str, Any] = {
        "rows": n, "substantive_rows": len(substantive),
        "relevance": {
            "auc_random_all": paired_auc(true_rel, random_rel),
            "auc_neighbour_all": paired_auc(true_rel, near_rel),
            "auc_random_substantive": paired_auc([true_rel[i] for i in substantive],
                                                 [random_rel[i] for i in substantive]),
            "auc_neighbour_substantive": paired_auc([true_rel[i] for i in substantive],
                                                    [near_rel[i] for i in substantive]),
            "baseline_auc_random_all": paired_auc(base_true, base_random),
            "baseline_auc_neighbour_all": paired_auc(base_true, base_near),
            "baseline_auc_random_substantive": paired_auc([base_true[i] for i in substantive],
                                                          [base_random[i] for i in substantive]),
            "baseline_auc_neighbour_substantive": paired_auc([base_true[i] for i in substantive],
                                                             [base_near[i] for i in substantive]),
            "mean_true": sum(true_rel) / n, "mean_random": sum(random_rel) / n, "mean_neighbour": sum(near_rel) / n,
            "true_below_50": sum(v < 50 for v in true_rel) / n,
            "random_below_50": sum(v < 50 for v in random_rel) / n,
            "neighbour_below_50": sum(v < 50 for v in near_rel) / n,
        },
        "dimension_means": {d: (sum(a.score(d) or 0 for a in true_scores if a.score(d) is not None)
                                / max(1, sum(1 for a in true_scores if a.score(d) is not None)))
                            for d in rq.DIMENSIONS} | {"overall": sum(a.overall for a in true_scores) / n},
        "weak_points": Counter(w.code for a in true_scores for w in a.weak_points).most_common(),
        "speed": {"replies_per_s_wall": n / wall, "replies_per_s_cpu": n / cpu, "ms_per_reply": 1000 * wall / n},
    }
    labelled = [(i, int(r[LABEL])) for i, r in enumerate(rows) if r.get(LABEL, "").strip() in ("0", "1")]
    if labelled:
        gold = [g for _, g in labelled]
        pos = [i for i, g in labelled if g == 1]
        neg = [i for i, g in labelled if g == 0]
        agreement: dict[str, Any] = {"rows": len(labelled), "positives": len(pos), "negatives": len(neg),
                                     "threshold": config.pass_score}
        for name in ("normativity", "overall"):
            values = {i: (true_scores[i].overall if name == "overall" else true_scores[i].score(name) or 0.0)
                      for i, _ in labelled}
            pred = [int(values[i] >= config.pass_score) for i, _ in labelled]
            agreement[name] = {
                "auc": auc([values[i] for i in pos], [values[i] for i in neg]) if pos and neg else None,
                "accuracy": sum(p == g for p, g in zip(pred, gold, strict=True)) / len(gold),
                "kappa": kappa(pred, gold),
                "predicted_pass_rate": sum(pred) / len(pred),
            }
        result["agreement"] = agreement
    result["machine"] = {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                         "platform": platform.platform(), "date": datetime.now(UTC).isoformat(timespec="seconds"),
                         "load_average": os.getloadavg()}

    table = Table(title=f"答复质量 · {n} 条")
    table.add_column("指标")
    table.add_column("值", justify="right")
    for key, value in result["relevance"].items():
        table.add_row(f"relevance.{key}", f"{value:.3f}")
    for key, value in result["dimension_means"].items():
        table.add_row(f"mean.{key}", f"{value:.1f}")
    for name in ("normativity", "overall"):
        if "agreement" in result:
            for key, value in result["agreement"][name].items():
                table.add_row(f"agreement.{name}.{key}", "-" if value is None else f"{value:.3f}")
    for key, value in result["speed"].items():
        table.add_row(f"speed.{key}", f"{value:.1f}")
    console.print(table)
    console.print("weak points:", result["weak_points"][:12])
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
