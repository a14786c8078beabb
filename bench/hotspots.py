"""Hotspot mining at volume: full recompute on synthetic appeals built from real texts, and the incremental join.

Synthetic volume: the real messages of the public sets (TipDM 附件3 + 附件2 + 佳木斯 + 大连 + 商洛 when
present) are replayed with their place names swapped for generated ones (so places vary as in a real
district, ~n/40 distinct estates, roads …), spread over 365 days, with a point for half of them.

    .venv/bin/python bench/hotspots.py --sizes 100000,1000000

Prints one JSON line per size: seconds for the full recompute (appeals/s), hotspots found, and the
incremental join latency (median and p99 of adding one new appeal to the resulting index).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import resource
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sudi.intelligence.hotspots import AppealText, HotspotParams, find_hotspots

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SOURCES = [("tipdm2020c/fujian3_hotspot_messages.csv", "留言主题", "留言详情"),
           ("tipdm2020c/fujian2_labeled_raw.csv", None, "text"),
           ("jiamusi/jiamusi_appeals_train.csv", None, None),
           ("dalian/dalian_appeals_train.csv", None, None),
           ("shangluo/shangluo_mayor_mailbox.csv", None, None)]
SUFFIXES = ["小区", "花园", "家园", "路", "大道", "小学", "中学", "公司", "市场", "医院", "村", "社区"]
SYLLABLES = "青檀榴园坛山阴平峨山吴林古邵底阁金河银湖明光东西南北新华幸福和平振兴文化建设长安永安泰安"


def real_texts() -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    for name, title_col, body_col in SOURCES:
        path = DATA / name
        if not path.exists():
            continue
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            cols = reader.fieldnames or []
            t = title_col if title_col in cols else next(
                (c for c in cols if "主题" in c or "标题" in c or c == "title"), None)
            b = body_col if body_col in cols else next(
                (c for c in cols if "详情" in c or "内容" in c or c in ("content", "text")), None)
            for row in reader:
                title = (row.get(t) or "") if t else ""
                body = (row.get(b) or "") if b else ""
                if title or body:
                    texts.append((title, body))
    if not texts:
        sys.exit("no shared data found under " + str(DATA))
    return texts


def place_names(rng: random.Random, n: int) -> list[str]:
    """About one generated estate, road, school … per 40 appeals."""
    return ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))) + rng.choice(SUFFIXES)
            for _ in range(max(50, n // 40))]


def synthetic_text(rng: random.Random, texts: list[tuple[str, str]], places: list[str]) -> tuple[str, str]:
    """A real message with a generated place name in front of its title and its body."""
    title, body = texts[rng.randrange(len(texts))]
    place = places[rng.randrange(len(places))]
    return place + title[:40], place + body[:400]


def synthetic(n: int, texts: list[tuple[str, str]], seed: int = 7) -> list[AppealText]:
    rng = random.Random(seed)
    places = place_names(rng, n)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        title, content = synthetic_text(rng, texts, places)
        out.append(AppealText(str(i), title, content, start + timedelta(seconds=rng.randrange(365 * 86400)),
                              citizen=f"c{rng.randrange(n // 2 + 1)}", supports=rng.choice((0, 0, 0, 1, 2, 5)),
                              lat=(34.7 + rng.random() * 0.2) if i % 2 else None,
                              lon=(117.5 + rng.random() * 0.3) if i % 2 else None))
    return out


def _cpu() -> tuple[float, float]:
    """CPU seconds of this process (the clustering one, the critical path) and of its finished workers:
    on a shared machine, the honest measure; with two cores, the wall time is about the first."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--joins", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    texts = real_texts()
    print(json.dumps({"machine": platform.platform(), "python": platform.python_version(), "real_texts": len(texts),
                      "date": datetime.now(UTC).isoformat(timespec="seconds")}), flush=True)
    for n in (int(s) for s in args.sizes.split(",")):
        appeals = synthetic(n + args.joins, texts)
        appeals.sort(key=lambda a: a.time)
        history, later = appeals[:n], appeals[n:]
        started, (own0, workers0) = time.perf_counter(), _cpu()
        hotspots, index = find_hotspots(history, HotspotParams(), top=100, workers=args.workers)
        own1, workers1 = _cpu()
        full_s, own_cpu, workers_cpu = time.perf_counter() - started, own1 - own0, workers1 - workers0
        full_cpu = own_cpu + workers_cpu
        latencies = []
        for appeal in later:
            t0 = time.perf_counter()
            index.add(appeal)
            latencies.append((time.perf_counter() - t0) * 1000)
        latencies.sort()
        print(json.dumps({"appeals": n, "workers": args.workers, "full_recompute_s": round(full_s, 1),
                          "appeals_per_s": round(n / full_s), "cpu_s": round(full_cpu, 1),
                          "cpu_ms_per_appeal": round(1000 * full_cpu / n, 3),
                          "clustering_process_cpu_s": round(own_cpu, 1), "workers_cpu_s": round(workers_cpu, 1),
                          "load_avg_1m": os.getloadavg()[0],
                          "hotspots_top": len(hotspots), "largest": hotspots[0].size if hotspots else 0,
                          "join_ms_median": round(statistics.median(latencies), 3),
                          "join_ms_p99": round(latencies[int(len(latencies) * 0.99) - 1], 3)}), flush=True)


if __name__ == "__main__":
    main()
