"""Hotspots in the product at volume: the full recompute from the database, the join of new appeals,
and the board's queries, with 1,000,000 appeals stored.

``bench/hotspots.py`` times the method on appeals held in memory. This times what the server runs:
``refresh_hotspots`` (read every appeal and the supports from the database, the same method with two
worker processes, then replace the stored hotspots, their members and keys in one transaction), then
new appeals registered through ``create_appeal`` and joined one at a time by ``join_new_appeals``
(what the server's job does when an intake wakes it), then the hotspot endpoints behind an ASGI timer
(server time, median of ``--repeat`` after a warm-up), with ``/healthz`` as the baseline.

Volume: the dashboards' builder (``_volume.py``: the demo district, 1,000,000 appeals over two years,
bulk-inserted) with the texts of ``bench/hotspots.py`` (the public sets' real messages with generated
place names, about one place per 40 appeals) instead of the 4,000 demo texts repeated.

    .venv/bin/python bench/hotspots_db.py --backend sqlite --json var/bench-hotspots-db-sqlite.json
    .venv/bin/python bench/hotspots_db.py --backend postgresql --json var/bench-hotspots-db-pg.json
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _volume
from dashboard import PASSWORD, PG_ADMIN, Timed, machine
from hotspots import place_names, real_texts, synthetic_text

from sudi.analytics.service import rebuild_all
from sudi.app import create_app
from sudi.appeals import service as appeals
from sudi.core import clock
from sudi.core.config import Settings
from sudi.core.db import make_engine, make_session_factory
from sudi.directory.models import User
from sudi.directory.service import actor_for
from sudi.hotspots import service
from sudi.hotspots.models import Hotspot, HotspotKey, HotspotMember

console = Console(width=None if sys.stdout.isatty() else 160)
LIMIT_S = 600.0
LIMIT_MS = 300.0
PG_NAME = "sudi_bench_hotspots"


def _pg_database(create: bool) -> str:
    """The scratch PostgreSQL database's URL; ``create`` replaces it, otherwise an earlier one is reused."""
    from sqlalchemy import create_engine, text

    if create:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_NAME}"'))
        admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_NAME


def _drop_pg() -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)'))
    admin.dispose()


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def text_source(total: int, seed: int) -> _volume.TextSource:
    texts = real_texts()
    places = place_names(random.Random(seed), total)
    return lambda rng: synthetic_text(rng, texts, places)


def recompute(url: str, workers: int) -> dict[str, Any]:
    engine = make_engine(url)
    session = make_session_factory(engine)()
    try:
        began, (own0, children0) = time.perf_counter(), _cpu()
        summary = service.refresh_hotspots(session, workers=workers)
        own1, children1 = _cpu()
        out = {"wall_s": round(time.perf_counter() - began, 1), "main_process_cpu_s": round(own1 - own0, 1),
               "workers_cpu_s": round(children1 - children0, 1), **summary}
        out["stored_hotspot_rows"] = session.scalar(select(func.count(Hotspot.id)))
        out["stored_members"] = session.scalar(select(func.count()).select_from(HotspotMember))
        out["stored_keys"] = session.scalar(select(func.count()).select_from(HotspotKey))
        out["largest"] = session.scalar(select(func.max(Hotspot.size)))
        return out
    finally:
        session.close()
        engine.dispose()


def joins(url: str, count: int, seed: int, source: _volume.TextSource) -> dict[str, Any]:
    """``count`` new appeals, each registered and then joined alone: the server's path per intake."""
    engine = make_engine(url)
    session = make_session_factory(engine)()
    rng = random.Random(seed)
    try:
        intake = actor_for(session.scalars(select(User).where(User.username == "intake")).one())
        service.prepare_joins(session)   # as the server's hotspot job does when it starts
        latencies, joined = [], 0
        for n in range(count):
            title, content = source(rng)
            appeals.create_appeal(session, intake, appeals.AppealDraft(
                title=title[:200], content=content, citizen_name="测试", citizen_phone=f"139{n:08d}",
                received_at=clock.now() - timedelta(seconds=count - n)))
            began = time.perf_counter()
            joined += service.join_new_appeals(session, limit=1)
            latencies.append((time.perf_counter() - began) * 1000)
        latencies.sort()
        return {"appeals": count, "joined": joined, "median_ms": round(statistics.median(latencies), 1),
                "p95_ms": round(latencies[int(0.95 * len(latencies)) - 1], 1), "max_ms": round(latencies[-1], 1)}
    finally:
        session.close()
        engine.dispose()


def endpoints(url: str, repeat: int) -> list[dict[str, Any]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        top = conn.scalar(select(Hotspot.id).where(Hotspot.status == "active").order_by(Hotspot.heat.desc()).limit(1))
        largest = conn.scalar(select(Hotspot.id).order_by(Hotspot.size.desc()).limit(1))
    engine.dispose()
    paths = [("baseline /healthz", "/healthz"),
             ("board API top 30", "/api/v1/hotspots?top=30"),
             ("board API search", "/api/v1/hotspots?q=小区"),
             ("hotspot API, the hottest", f"/api/v1/hotspots/{top}"),
             ("hotspot API, the largest", f"/api/v1/hotspots/{largest}"),
             ("dashboard hotspots panel", "/api/v1/analytics/hotspots"),
             ("page /staff/hotspots", "/staff/hotspots"),
             ("page the hottest", f"/staff/hotspots/{top}"),
             ("page the largest", f"/staff/hotspots/{largest}")]
    timed = Timed(create_app(Settings(database_url=url)))
    results = []
    with TestClient(timed, base_url="http://testserver") as client:
        token = client.post("/api/v1/auth/token", json={"username": "leader", "password": PASSWORD}).json()
        headers = {"authorization": f"Bearer {token['access_token']}"}
        for name, path in paths:
            client.cookies.clear()
            if path.startswith("/staff/"):
                client.cookies.set("sudi_token", token["access_token"])
            times, status = [], 0
            for n in range(repeat + 1):
                status = client.get(path, headers=headers if path.startswith("/api/") else {}).status_code
                if n:
                    times.append(timed.last_ms)
            median = statistics.median(times)
            results.append({"name": name, "path": path, "status": status, "median_ms": round(median, 1),
                            "max_ms": round(max(times), 1), "over": median > LIMIT_MS})
            console.log(f"{name:<28} {status} {median:8.1f} ms (max {max(times):.1f})")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--years", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--joins", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--sqlite-path", default="var/bench-hotspots.db")
    parser.add_argument("--reuse", action="store_true", help="keep the built database of an earlier run")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database at the end")
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args()
    source = text_source(args.appeals, args.seed)
    if args.backend == "sqlite":
        path = Path(args.sqlite_path)
        url = f"sqlite:///{path}"
        if not args.reuse:
            path.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        url = _pg_database(create=not args.reuse)
    out: dict[str, Any] = {"backend": args.backend, "machine_before": machine(), "options": vars(args)}
    try:
        if not args.reuse:
            console.rule(f"{args.backend}: building {args.appeals:,} appeals")
            out["build"] = _volume.build(url, args.appeals, years=args.years, seed=args.seed, texts=source,
                                         progress=lambda n: console.log(f"inserted {n:,}"))
            console.log(f"built: {out['build']}")
            engine = make_engine(url)
            session = make_session_factory(engine)()
            began = time.perf_counter()
            rebuild_all(session)   # the dashboard panel reads the rollup beside the hotspots
            out["rollup_s"] = round(time.perf_counter() - began, 1)
            session.close()
            engine.dispose()
        console.rule("full recompute")
        out["recompute"] = recompute(url, args.workers)
        console.log(out["recompute"])
        console.rule("joins")
        out["joins"] = joins(url, args.joins, args.seed + 1, source)
        console.log(out["joins"])
        console.rule("endpoints")
        out["endpoints"] = endpoints(url, args.repeat)
        out["machine_after"] = machine()
    finally:
        if args.backend == "postgresql" and not args.keep:
            _drop_pg()
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    print(json.dumps({k: out.get(k) for k in ("recompute", "joins")}, ensure_ascii=False, default=str))
    over = out["recompute"]["wall_s"] > LIMIT_S or any(r["over"] for r in out["endpoints"])
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
