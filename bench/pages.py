"""Page server time with 100,000 appeals in the database (issue 4).

1. Builds a scratch SQLite database: ``sudi demo-data --appeals 300`` (in-process, through
   ``sudi.demo.loader.load_demo``), then bulk-adds synthetic appeals up to ``--appeals`` in total with
   Core ``insert(...)`` executemany in batches. Each synthetic appeal is a copy of one of the demo
   appeals (texts, lead unit, grid, town, category, events) with all its timestamps shifted so that
   ``received_at`` falls somewhere in the last three years; old ones are copied from demo appeals
   that are already closed, so the state mix looks like a real archive (mostly closed, a recent
   tail still open). Numbers are ``YC<yyyymmdd>-9nnnn``, unique and outside the demo's range.
2. Starts the app in-process (``sudi.app.create_app``) behind a small ASGI timer and drives it with
   ``fastapi.testclient.TestClient``: the time recorded is from the app being called to its last
   ``send`` (routing, queries, rendering), without the test client's own overhead.
3. For each page: one warm-up, then ``--repeat`` (7) requests; median and max in ms; over 300 ms is
   flagged.

    .venv/bin/python bench/pages.py                              # build 100,000, measure
    .venv/bin/python bench/pages.py --reuse var/bench-pages.db   # measure an existing build
    .venv/bin/python bench/pages.py --json var/bench-pages.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, insert, select

from sudi.app import create_app
from sudi.appeals.models import Appeal, AppealEvent, State
from sudi.appeals.service import PUBLIC_RESOLVED_LIST_KEY, query_code_for
from sudi.core.config import Settings
from sudi.core.db import make_engine, make_session_factory, transaction
from sudi.core.models import put_setting
from sudi.directory.models import Unit

console = Console(width=None if sys.stdout.isatty() else 160)

LIMIT_MS = 300.0
PASSWORD = "sudi-demo"
BATCH = 5000
YEARS = 3
CLOSED = {State.resolved.value, State.followed_up.value, State.archived.value, State.rejected.value,
          State.merged.value}
DATETIME_COLUMNS = [c.name for c in Appeal.__table__.columns
                    if c.name in ("received_at", "accepted_at", "dispatched_at", "acknowledge_due",
                                  "acknowledged_at", "resolve_due", "original_resolve_due", "resolved_at",
                                  "followed_up_at", "archived_at", "updated_at")]


# ---------------------------------------------------------------- build

def build(url: str, total: int, seed: int) -> dict[str, Any]:
    from sudi.cli import _migrate  # the same migration step `sudi demo-data` runs
    from sudi.demo.loader import load_demo

    settings = Settings(database_url=url)
    began = time.perf_counter()
    _migrate(settings)
    engine = make_engine(url)
    session = make_session_factory(engine)()
    try:
        summary = load_demo(session, appeals_limit=300)
        with transaction(session):
            put_setting(session, PUBLIC_RESOLVED_LIST_KEY, True)
    finally:
        session.close()
    demo_s = time.perf_counter() - began

    rng = random.Random(seed)
    began = time.perf_counter()
    appeals_t, events_t = Appeal.__table__, AppealEvent.__table__
    with engine.begin() as conn:
        templates = [dict(r._mapping) for r in conn.execute(select(appeals_t))]
        events: dict[int, list[dict[str, Any]]] = {}
        for r in conn.execute(select(events_t).order_by(events_t.c.id)):
            events.setdefault(r.appeal_id, []).append(dict(r._mapping))
        existing = len(templates)
        next_id = (conn.scalar(select(func.max(appeals_t.c.id))) or 0) + 1
        next_event = (conn.scalar(select(func.max(events_t.c.id))) or 0) + 1
    closed = [t for t in templates if t["state"] in CLOSED] or templates
    now = datetime.now(UTC)
    per_day: dict[str, int] = {}
    added, added_events = 0, 0
    rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []

    def flush(conn: Any) -> None:
        if rows:
            conn.execute(insert(appeals_t), rows)
        if event_rows:
            conn.execute(insert(events_t), event_rows)
        rows.clear()
        event_rows.clear()

    with engine.begin() as conn:
        for _ in range(max(0, total - existing)):
            age_days = rng.random() * 365 * YEARS
            # Appeals older than a month are nearly all closed; the recent tail keeps the demo's mix.
            pool = closed if age_days > 30 and rng.random() < 0.97 else templates
            t = pool[rng.randrange(len(pool))]
            received = now - timedelta(days=age_days, seconds=rng.randrange(86400))
            delta = received - t["received_at"]
            row = {k: v for k, v in t.items()}
            row["id"] = next_id
            for column in DATETIME_COLUMNS:
                if row.get(column) is not None:
                    row[column] = row[column] + delta
            day = f"{received:%Y%m%d}"
            per_day[day] = per_day.get(day, 0) + 1
            row["number"] = f"YC{day}-9{per_day[day]:04d}"
            row["external_ref"] = row["idempotency_key"] = None
            row["master_id"] = None
            if row["state"] == State.merged.value:
                row["state"] = State.archived.value
            row["version"] = 1
            rows.append(row)
            source = events.get(t["id"], [])[:6]
            for e in source:
                copy = dict(e)
                copy.update(id=next_event, appeal_id=next_id, at=e["at"] + delta)
                event_rows.append(copy)
                next_event += 1
            added_events += len(source)
            next_id += 1
            added += 1
            if len(rows) >= BATCH:
                flush(conn)
        flush(conn)
    bulk_s = time.perf_counter() - began
    with engine.connect() as conn:
        states = dict(conn.execute(select(appeals_t.c.state, func.count()).group_by(appeals_t.c.state)).all())
        n_appeals = conn.scalar(select(func.count()).select_from(appeals_t))
        n_events = conn.scalar(select(func.count()).select_from(events_t))
    engine.dispose()
    return {"demo_summary": summary, "demo_s": round(demo_s, 1), "bulk_s": round(bulk_s, 1),
            "templates": existing, "added": added, "added_events": added_events,
            "appeals": n_appeals, "events": n_events, "states": states}


# ---------------------------------------------------------------- measure

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


@dataclass
class PageResult:
    name: str
    path: str
    user: str
    status: int
    median_ms: float
    max_ms: float
    over: bool
    note: str = ""


def measure(url: str, repeat: int) -> tuple[list[PageResult], list[str]]:
    app = create_app(Settings(database_url=url))
    timed = Timed(app)
    notes: list[str] = []
    engine = make_engine(url)
    with engine.connect() as conn:
        newest = conn.execute(select(Appeal.number).order_by(Appeal.received_at.desc()).limit(1)).scalar_one()
        oldest = conn.execute(select(Appeal.number).order_by(Appeal.received_at).limit(1)).scalar_one()
        title = conn.execute(select(Appeal.title).order_by(Appeal.id).limit(1)).scalar_one()
        town = conn.execute(select(Unit.code).where(Unit.kind.in_(("town", "subdistrict")))
                            .order_by(Unit.code).limit(1)).scalar_one()
    session = make_session_factory(engine)()
    code = query_code_for(session, newest)
    session.close()
    engine.dispose()
    search = title[:4]
    results: list[PageResult] = []

    with TestClient(timed, base_url="http://testserver") as client:
        tokens: dict[str, str] = {}

        def login(user: str) -> str:
            if user not in tokens:
                r = client.post("/api/v1/auth/token", json={"username": user, "password": PASSWORD})
                r.raise_for_status()
                tokens[user] = r.json()["access_token"]
            return tokens[user]

        def page(name: str, path: str, user: str = "", *, api: bool = False,
                 cookies: dict[str, str] | None = None) -> None:
            headers: dict[str, str] = {}
            jar = dict(cookies or {})
            if user:
                if api:
                    headers["authorization"] = f"Bearer {login(user)}"
                else:
                    jar["sudi_token"] = login(user)
            client.cookies.clear()
            for key, value in jar.items():
                client.cookies.set(key, value)
            times, status = [], 0
            for n in range(repeat + 1):
                r = client.get(path, headers=headers, follow_redirects=False)
                status = r.status_code
                if n:
                    times.append(timed.last_ms)
            client.cookies.clear()
            med = statistics.median(times)
            results.append(PageResult(name, path, user or "-", status, round(med, 1), round(max(times), 1),
                                      med > LIMIT_MS))
            mark = "[red]OVER[/red]" if med > LIMIT_MS else ""
            console.log(f"{name:<34} {status} {med:8.1f} ms {mark}")

        page("portal home", "/")
        page("guide", "/guide")
        page("resolved list", "/resolved")
        page("resolved list p50", "/resolved?page=50")
        page("track (query code cookie)", f"/track/{newest}", cookies={"sudi_query": code})
        for user in ("dispatcher", "zjj", "supervisor", "intake", "grid1", "admin", "leader"):
            page(f"/staff ({user})", "/staff", user)
        page("appeals p1", "/staff/appeals", "dispatcher")
        page("appeals p200", "/staff/appeals?page=200", "dispatcher")
        page("appeals p1 by 100", "/staff/appeals?page_size=100", "dispatcher")
        for preset, user in (("accept", "intake"), ("dispatch", "dispatcher"), ("inbox", "zjj"),
                             ("overdue", "supervisor"), ("supervised", "supervisor"), ("followup", "dispatcher")):
            page(f"appeals queue={preset}", f"/staff/appeals?queue={preset}", user)
        page("appeals text search", f"/staff/appeals?q={search}", "dispatcher")
        page("appeals town filter", f"/staff/appeals?town={town}", "dispatcher")
        page("appeals overdue=true", "/staff/appeals?overdue=true", "dispatcher")
        page("appeals sort=resolve_due", "/staff/appeals?sort=resolve_due", "dispatcher")
        page("appeal detail (newest)", f"/staff/appeals/{newest}", "dispatcher")
        page("appeal detail (oldest)", f"/staff/appeals/{oldest}", "dispatcher")
        page("intake", "/staff/intake", "intake")
        page("intake history", "/staff/intake/history", "intake")
        page("patrol", "/staff/patrol", "grid1")
        page("patrol appeals.json", "/staff/patrol/appeals.json", "grid1")
        page("duty list", "/staff/matters", "zjj")
        page("smart suggestions (API)", f"/api/v1/appeals/{newest}/smart-suggestions", "dispatcher", api=True)
        page("assessment (this month)", "/staff/assessment", "supervisor")
        page("assessment API (this month)", "/api/v1/assessment", "supervisor", api=True)
        page("hotspot board", "/staff/hotspots", "leader")
        page("governance tasks", "/staff/governance", "zjj")
        page("warnings queue", "/staff/warnings", "supervisor")
        page("dashboard", "/staff/dashboard", "leader")
        for sub in ("", "/units", "/grids", "/users", "/matters", "/policies", "/holidays", "/categories",
                    "/settings", "/api-keys", "/audit", "/models", "/reply-quality", "/assessment", "/hotspots"):
            page(f"admin{sub or ' home'}", f"/staff/admin{sub}", "admin")
        page("API appeals p1", "/api/v1/appeals", "dispatcher", api=True)
        page("API appeals filtered", f"/api/v1/appeals?state=acknowledged&town={town}", "dispatcher", api=True)
        page("API appeal detail", f"/api/v1/appeals/{newest}", "dispatcher", api=True)
        page("open311 requests.json", "/open311/v2/requests.json")
    bad = [r for r in results if r.status >= 400]
    if bad:
        notes.append("non-2xx/3xx answers: " + ", ".join(f"{r.name} {r.status}" for r in bad))
    return results, notes


# ---------------------------------------------------------------- main

def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    return {"cpu": cpu, "nproc": os.cpu_count(), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "loadavg_1m": os.getloadavg()[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--appeals", type=int, default=100_000, help="appeals in total (default 100000)")
    parser.add_argument("--reuse", metavar="DB", help="measure this SQLite file, skip the build")
    parser.add_argument("--db", default="var/bench-pages.db", help="where to build (replaced)")
    parser.add_argument("--repeat", type=int, default=7, help="measured requests per page, after 1 warm-up")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args()

    info = machine()
    if info["loadavg_1m"] > 0.5:
        console.print(f"[yellow]load average {info['loadavg_1m']:.2f}: something else is running[/yellow]")
    built: dict[str, Any] = {}
    if args.reuse:
        path = Path(args.reuse)
    else:
        path = Path(args.db)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        built = build(f"sqlite:///{path}", args.appeals, args.seed)
        console.print(f"built {built['appeals']} appeals / {built['events']} events in "
                      f"{built['demo_s'] + built['bulk_s']:.1f} s (demo {built['demo_s']} s, bulk "
                      f"{built['added']} appeals + {built['added_events']} events in {built['bulk_s']} s)")
        console.print(f"states: {built['states']}")
    url = f"sqlite:///{path}"
    results, notes = measure(url, args.repeat)

    table = Table(title=f"server time per page, {path} (median/max of {args.repeat}, 1 warm-up)")
    for col in ("page", "path", "user", "status", "median ms", "max ms", ""):
        table.add_column(col, justify="right" if "ms" in col or col == "status" else "left")
    for r in results:
        table.add_row(r.name, r.path[:60], r.user, str(r.status), f"{r.median_ms:.1f}", f"{r.max_ms:.1f}",
                      "[red]> 300[/red]" if r.over else "")
    console.print(table)
    for note in notes:
        console.print(f"[yellow]{note}[/yellow]")
    over = [r for r in results if r.over]
    console.print(f"{len(over)} of {len(results)} pages over {LIMIT_MS:.0f} ms (median)")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "options": vars(args), "build": built,
                                               "results": [asdict(r) for r in results], "notes": notes},
                                              ensure_ascii=False, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
