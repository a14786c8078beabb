"""Dashboard and early-warning endpoints with 1,000,000 appeals, on SQLite and PostgreSQL (issue 5).

1. Builds a scratch database per backend (``bench/_volume.py``): the demo district without its
   replay, then ``--appeals`` synthetic appeals over two years (Core executemany on SQLite, COPY on
   PostgreSQL). SQLite: ``var/bench-dashboard.db`` (replaced); PostgreSQL: the database
   ``sudi_bench_dashboard`` at 127.0.0.1:5432, created and dropped at the end (``--keep`` keeps it).
2. Times the full rollup build (``service.rebuild_all``), the periodic job's pieces (the last 2
   days, the 45-day refresh) and the early-warning run (``detect_warnings``).
3. Times every dashboard and warning JSON endpoint and the three pages in-process: the server time
   from the app being called to its last ``send`` (as ``bench/pages.py``), one warm-up, then
   ``--repeat`` requests; median and max. Over 300 ms (median) is flagged. The baseline is
   ``/healthz`` (one ``SELECT 1``), measured the same way in the same run.

    .venv/bin/python bench/dashboard.py                         # both backends, 1,000,000 appeals
    .venv/bin/python bench/dashboard.py --backend sqlite --appeals 200000
    .venv/bin/python bench/dashboard.py --reuse-sqlite var/bench-dashboard.db --backend sqlite
    .venv/bin/python bench/dashboard.py --json var/bench-dashboard.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _volume

from sudi.analytics import service
from sudi.analytics.models import RollupRow
from sudi.app import create_app
from sudi.core.config import Settings
from sudi.core.db import make_engine, make_session_factory

console = Console(width=None if sys.stdout.isatty() else 160)
LIMIT_MS = 300.0
PASSWORD = "sudi-demo"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_NAME = "sudi_bench_dashboard"

ENDPOINTS = [
    ("summary 30d", "/api/v1/analytics/summary?period=30d"),
    ("summary 365d", "/api/v1/analytics/summary?period=365d"),
    ("summary from/to 2y", "/api/v1/analytics/summary?from={two_years_ago}&to={today}"),
    ("trend day 30d", "/api/v1/analytics/trend?grain=day&period=30d"),
    ("trend day 365d", "/api/v1/analytics/trend?grain=day&period=365d"),
    ("trend month 2y", "/api/v1/analytics/trend?grain=month&from={two_years_ago}&to={today}"),
    ("mix category 30d", "/api/v1/analytics/mix/category?period=30d"),
    ("mix category 365d", "/api/v1/analytics/mix/category?period=365d"),
    ("mix channel 365d", "/api/v1/analytics/mix/channel?period=365d"),
    ("mix town 90d", "/api/v1/analytics/mix/town?period=90d"),
    ("units 30d", "/api/v1/analytics/units?period=30d"),
    ("units 365d", "/api/v1/analytics/units?period=365d"),
    ("grids heat 30d", "/api/v1/analytics/grids?period=30d"),
    ("grids heat 365d", "/api/v1/analytics/grids?period=365d"),
    ("grids heat 2y", "/api/v1/analytics/grids?from={two_years_ago}&to={today}"),
    ("grids.geojson", "/api/v1/analytics/grids.geojson"),
    ("hotspots", "/api/v1/analytics/hotspots"),
    ("items overdue", "/api/v1/analytics/items/overdue"),
    ("items supervised", "/api/v1/analytics/items/supervised"),
    ("live", "/api/v1/analytics/live"),
    ("warnings open", "/api/v1/analytics/warnings"),
    ("warnings all", "/api/v1/analytics/warnings?state=all"),
    ("warning detail", "/api/v1/analytics/warnings/{warning_id}"),
    ("policy", "/api/v1/analytics/policy"),
    ("page /staff/dashboard", "/staff/dashboard"),
    ("page /staff/wall", "/staff/wall"),
    ("page /staff/warnings", "/staff/warnings"),
]


class Timed:
    """ASGI wrapper: how long the app takes for one request, from call to its last send."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last_ms = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.last_ms = (time.perf_counter() - began) * 1000


def _timed(fn: Any) -> tuple[Any, float]:
    began = time.perf_counter()
    result = fn()
    return result, round(time.perf_counter() - began, 2)


def jobs(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    session = make_session_factory(engine)()
    out: dict[str, Any] = {}
    try:
        done = [0]

        def step(n: int, total: int) -> None:
            done[0] = n
            if n % 6 == 0 or n == total:
                console.log(f"rollup: month {n}/{total}")

        summary, out["rollup_full_s"] = _timed(lambda: service.rebuild_all(session, progress=step))
        out["rollup_rows"] = session.scalar(select(func.count(RollupRow.id)))
        out["rollup_summary"] = summary
        _, out["refresh_2d_s"] = _timed(lambda: service.refresh_recent(session, 2))
        _, out["refresh_45d_s"] = _timed(lambda: service.refresh_recent(session, 45))
        counts, out["warnings_first_s"] = _timed(lambda: service.detect_warnings(session))
        out["warnings_first"] = counts
        counts, out["warnings_again_s"] = _timed(lambda: service.detect_warnings(session))
        out["warnings_again"] = counts
        _, out["periodic_tick_s"] = _timed(lambda: service.run_periodic(session))
    finally:
        session.close()
        engine.dispose()
    return out


def measure(url: str, repeat: int) -> list[dict[str, Any]]:
    app = create_app(Settings(database_url=url))
    timed = Timed(app)
    engine = make_engine(url)
    with engine.connect() as conn:
        from sudi.analytics.models import EarlyWarning

        warning_id = conn.scalar(select(func.min(EarlyWarning.id))) or 1
    engine.dispose()
    today = service.local_today()
    values = {"today": today.isoformat(), "two_years_ago": today.replace(year=today.year - 2).isoformat(),
              "warning_id": warning_id}
    results: list[dict[str, Any]] = []
    with TestClient(timed, base_url="http://testserver") as client:
        r = client.post("/api/v1/auth/token", json={"username": "leader", "password": PASSWORD})
        r.raise_for_status()
        token = r.json()["access_token"]

        def run(name: str, path: str, *, auth: bool = True) -> None:
            path = path.format(**values)
            headers = {"authorization": f"Bearer {token}"} if auth and path.startswith("/api/") else {}
            client.cookies.clear()
            if auth and not path.startswith("/api/"):
                client.cookies.set("sudi_token", token)
            times, status = [], 0
            for n in range(repeat + 1):
                response = client.get(path, headers=headers)
                status = response.status_code
                if n:
                    times.append(timed.last_ms)
            med = statistics.median(times)
            results.append({"name": name, "path": path, "status": status, "median_ms": round(med, 1),
                            "max_ms": round(max(times), 1), "over": med > LIMIT_MS})
            console.log(f"{name:<26} {status} {med:8.1f} ms (max {max(times):.1f})"
                        + ("  [red]OVER[/red]" if med > LIMIT_MS else ""))

        run("baseline /healthz", "/healthz", auth=False)
        for name, path in ENDPOINTS:
            run(name, path)
    return results


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    return {"cpu": cpu, "nproc": os.cpu_count(), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "loadavg_1m": round(os.getloadavg()[0], 2)}


def _pg_database(create: bool) -> str:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)'))
        if create:
            conn.execute(text(f'CREATE DATABASE "{PG_NAME}"'))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_NAME


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"backend": backend, "machine_before": machine()}
    if backend == "sqlite":
        if args.reuse_sqlite:
            url = f"sqlite:///{args.reuse_sqlite}"
        else:
            path = Path(args.sqlite_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            url = f"sqlite:///{path}"
    else:
        url = _pg_database(create=not args.reuse_pg) if not args.reuse_pg else \
            PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_NAME
    try:
        if not (args.reuse_sqlite if backend == "sqlite" else args.reuse_pg):
            console.rule(f"{backend}: building {args.appeals:,} appeals")
            out["build"] = _volume.build(url, args.appeals, years=args.years, seed=args.seed,
                                         progress=lambda n: console.log(f"inserted {n:,}"))
            console.log(f"built: {out['build']}")
        if not args.skip_jobs:
            out["jobs"] = jobs(url)
            console.log(f"jobs: {out['jobs']}")
        out["endpoints"] = measure(url, args.repeat)
        out["machine_after"] = machine()
    finally:
        if backend == "postgresql" and not args.keep:
            _pg_database(create=False)
    return out


def report(outs: list[dict[str, Any]]) -> None:
    for out in outs:
        table = Table(title=f"{out['backend']}: server time per request (median/max of runs after 1 warm-up)")
        for col in ("endpoint", "status", "median ms", "max ms", "× baseline", ""):
            table.add_column(col, justify="left" if col in ("endpoint", "") else "right")
        base = out["endpoints"][0]["median_ms"] or 0.1
        for r in out["endpoints"]:
            table.add_row(r["name"], str(r["status"]), f"{r['median_ms']:.1f}", f"{r['max_ms']:.1f}",
                          f"{r['median_ms'] / base:.1f}", "[red]> 300[/red]" if r["over"] else "")
        console.print(table)
        over = [r for r in out["endpoints"] if r["over"]]
        console.print(f"{len(over)} of {len(out['endpoints'])} over {LIMIT_MS:.0f} ms; jobs: {out.get('jobs')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--years", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--sqlite-path", default="var/bench-dashboard.db")
    parser.add_argument("--reuse-sqlite", metavar="DB", help="measure this SQLite file, skip the build")
    parser.add_argument("--reuse-pg", action="store_true", help=f"reuse the kept {PG_NAME}, skip the build")
    parser.add_argument("--keep", action="store_true", help=f"keep {PG_NAME} at the end")
    parser.add_argument("--skip-jobs", action="store_true", help="measure the endpoints only (rollup built)")
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    outs = [run_backend(b, args) for b in backends]
    report(outs)
    if args.json:
        Path(args.json).write_text(json.dumps({"options": vars(args), "runs": outs}, ensure_ascii=False, indent=2,
                                              default=str))
    return 1 if any(r["over"] for o in outs for r in o["endpoints"]) else 0


if __name__ == "__main__":
    sys.exit(main())
