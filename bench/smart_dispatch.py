"""Smart dispatch inside the product (issue 3 wired into issue 4): training from the archive, model load,
suggestion latency per appeal, the dispatch queue page, and what intake pays when auto-dispatch is off.

Runs against a database that already holds the demo district (``sudi demo-data``), on a copy, so the
original is untouched:

    .venv/bin/python bench/smart_dispatch.py --db var/sudi.db
    .venv/bin/python bench/smart_dispatch.py --db var/sudi.db --json var/bench-smart.json

Measured, in this order, on one process (a shared, loaded machine: prefer the ratios):
1. ``train_from_db`` of all three kinds (seconds, training and held-out sizes, held-out accuracy);
2. loading each model file (median of 5, ms);
3. ``suggest`` on the open appeals with the cache bypassed: the model part alone, and with the
   duplicate search (median and p95 ms per appeal);
4. the dispatch queue page ``/staff/appeals?queue=dispatch`` (20 rows), cold (models not yet loaded) and
   warm, against the same states listed without the column (ratio); an appeal's page, first view (suggestions
   computed) and second (cached);
5. ``create_appeal`` with the ``after_intake`` hook as shipped (auto-dispatch off) against the same call
   with the hook replaced by a no-op (ratio of medians over interleaved rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sqlalchemy import select

from sudi.appeals import service, smart_dispatch
from sudi.appeals.models import Appeal, State
from sudi.core.db import make_engine, make_session_factory
from sudi.directory.models import User
from sudi.directory.service import SYSTEM, actor_for


def _median_p95(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median_ms": round(statistics.median(ordered) * 1000, 3),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 3), "n": len(ordered)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="var/sudi.db", help="SQLite file holding the demo district")
    parser.add_argument("--json", default=None)
    parser.add_argument("--rounds", type=int, default=200, help="intake calls per variant")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sudi-bench-smart-"))
    db = work / "bench.db"
    shutil.copy(args.db, db)
    url = f"sqlite:///{db}"
    engine = make_engine(url)
    session = make_session_factory(engine)()
    result: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
                              "machine": f"{platform.machine()} {os.cpu_count()} cpu, Python "
                                         f"{platform.python_version()}", "db": args.db}

    # 1. training
    started = time.perf_counter()
    reports = smart_dispatch.train_from_db(session, SYSTEM, model_dir=work / "models", force=True)
    result["training"] = {"seconds": round(time.perf_counter() - started, 2), "kinds": [
        {"kind": r.kind, "status": r.status, "training_size": r.training_size, "held_out_size": r.held_out_size,
         "held_out": r.new_quality, "seconds": r.seconds} for r in reports]}

    # 2. model load
    from sudi.intelligence.classify import load_classifier

    loads = {}
    for kind, entry in (smart_dispatch.setting(session, smart_dispatch.ACTIVE_KEY) or {}).items():
        times = []
        for _ in range(5):
            t = time.perf_counter()
            load_classifier(entry["path"])
            times.append(time.perf_counter() - t)
        loads[kind] = {"median_ms": round(statistics.median(times) * 1000, 1),
                       "file_mb": round(Path(entry["path"]).stat().st_size / 1e6, 2)}
    result["load"] = loads

    # 3. suggestion latency (cache bypassed)
    models = smart_dispatch.active_models(session)
    appeals = list(session.scalars(select(Appeal).where(Appeal.state.in_(
        [State.accepted.value, State.triaged.value, State.returned.value, State.received.value,
         State.dispatched.value])).limit(300)))
    for label, dup in (("models_only", False), ("with_duplicates", True)):
        times = []
        for appeal in appeals:
            t = time.perf_counter()
            smart_dispatch._compute(session, appeal, models, duplicates=dup)
            times.append(time.perf_counter() - t)
        result[f"suggest_{label}"] = _median_p95(times)

    # 4. the queue page
    from fastapi.testclient import TestClient

    from sudi.app import create_app
    from sudi.core.config import Settings
    from sudi.web.security import SESSION_COOKIE

    app = create_app(Settings(database_url=url, media_dir=work / "media"))
    dispatcher = session.scalar(select(User).where(User.username == "dispatcher"))
    from sudi.directory.service import issue_token

    token, _ = issue_token(session, "dispatcher", "sudi-demo")
    with TestClient(app) as client:
        client.cookies.set(SESSION_COOKIE, token)
        smart_dispatch.forget_loaded_models()
        t = time.perf_counter()
        assert client.get("/staff/appeals?queue=dispatch").status_code == 200
        cold = time.perf_counter() - t
        warm, plain = [], []
        for _ in range(7):
            t = time.perf_counter()
            client.get("/staff/appeals?queue=dispatch")
            warm.append(time.perf_counter() - t)
            t = time.perf_counter()
            client.get("/staff/appeals?state=accepted&state=triaged&state=returned")
            plain.append(time.perf_counter() - t)
        numbers = [a.number for a in appeals if a.state == State.accepted.value][:10]
        detail_cold, detail_warm = [], []
        for number in numbers:
            t = time.perf_counter()
            client.get(f"/staff/appeals/{number}")
            detail_cold.append(time.perf_counter() - t)
            t = time.perf_counter()
            client.get(f"/staff/appeals/{number}")
            detail_warm.append(time.perf_counter() - t)
    result["detail_page"] = {"cold": _median_p95(detail_cold), "warm": _median_p95(detail_warm)}
    result["queue_page"] = {"cold_ms": round(cold * 1000, 1),
                            "warm_median_ms": round(statistics.median(warm) * 1000, 1),
                            "plain_list_median_ms": round(statistics.median(plain) * 1000, 1),
                            "warm_over_plain": round(statistics.median(warm) / statistics.median(plain), 2)}

    # 5. intake with the hook (auto-dispatch off) vs a no-op hook
    assert dispatcher is not None
    intake_actor = actor_for(session.scalar(select(User).where(User.username == "intake")))  # type: ignore[arg-type]
    shipped = smart_dispatch.after_intake
    timings: dict[str, list[float]] = {"hook": [], "no_hook": []}
    for i in range(args.rounds):
        for variant in ("hook", "no_hook"):
            smart_dispatch.after_intake = shipped if variant == "hook" else (lambda *a, **k: None)  # type: ignore[assignment]
            draft = service.AppealDraft(title=f"路灯不亮{i}", content="小区门口路灯坏了一周。",
                                        citizen_phone="13700000000")
            t = time.perf_counter()
            service.create_appeal(session, intake_actor, draft)
            timings[variant].append(time.perf_counter() - t)
    smart_dispatch.after_intake = shipped  # type: ignore[assignment]
    hook, none = statistics.median(timings["hook"]), statistics.median(timings["no_hook"])
    t = time.perf_counter()
    for _ in range(10_000):
        shipped(session, "YC20260101-00001", SYSTEM)
    result["intake"] = {"with_hook_median_ms": round(hook * 1000, 3), "no_hook_median_ms": round(none * 1000, 3),
                        "ratio": round(hook / none, 3),
                        "hook_alone_us": round((time.perf_counter() - t) / 10_000 * 1e6, 2)}

    session.close()
    engine.dispose()
    shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
