"""Synthetic volume for benchmarks: a migrated database with the demo district and N appeals.

``build(url, total)``: migrate, load the demo district without its appeal replay (directory,
territory of 431 grids, accounts, taxonomy), then bulk-insert ``total`` synthetic appeals spread
over ``years`` years: SQLAlchemy Core ``insert`` executemany in batches on SQLite, ``COPY … FROM
STDIN`` on PostgreSQL. Texts are the demo sample's real appeals (``appeals_sample.jsonl.gz``);
each appeal gets a random grid (and its town and community), a category leaf, a lead unit that
goes with its first-level category, a channel, a kind, and timestamps consistent with its state.

Volume has a shape, so that the dashboards and the spike detector see something real: a weekly
rhythm (fewer on weekends), slow growth, and one first-level category that triples from November
to February (heating, 供暖-like); older appeals are nearly all closed, the last weeks keep a tail
of open, overdue and supervised ones. No appeal events are written (the dashboards do not read
them), so the reopened-twice detector has nothing to find here.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from sudi.appeals.models import Appeal, Category
from sudi.core import clock
from sudi.core.db import make_engine, make_session_factory
from sudi.demo.loader import read_sample
from sudi.directory.models import Grid, Unit

BATCH = 5000
CHANNELS = (("hotline", 0.62), ("web", 0.12), ("wechat", 0.16), ("app", 0.04), ("grid_patrol", 0.05),
            ("letter", 0.01))
KINDS = (("livelihood", 0.86), ("enforcement", 0.11), ("development", 0.03))
TYPES = (("complaint", 0.45), ("help", 0.25), ("consultation", 0.18), ("suggestion", 0.07), ("report", 0.04),
         ("praise", 0.01))
SATISFACTION = (("satisfied", 0.72), ("fairly_satisfied", 0.18), ("dissatisfied", 0.10))


def _choice(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    x, acc = rng.random(), 0.0
    for value, weight in table:
        acc += weight
        if x < acc:
            return value
    return table[-1][0]


def prepare(url: str) -> dict[str, Any]:
    """Migrate and load the demo district without appeals."""
    from sudi.demo.loader import load_demo
    from sudi.migrate import upgrade

    began = time.perf_counter()
    upgrade(url)
    engine = make_engine(url)
    session = make_session_factory(engine)()
    try:
        summary = load_demo(session, appeals_limit=0)
    finally:
        session.close()
        engine.dispose()
    return {"demo_summary": summary, "demo_s": round(time.perf_counter() - began, 1)}


def _world(conn: Any) -> dict[str, Any]:
    grids = [tuple(r) for r in conn.execute(select(Grid.id, Grid.town_unit_id, Grid.community_unit_id,
                                                   Grid.centre_lat, Grid.centre_lon))]
    cats = [tuple(r) for r in conn.execute(select(Category.id, Category.parent_id, Category.level))]
    parent = {c: p for c, p, _ in cats}

    def root(c: int) -> int:
        while parent.get(c) is not None:
            c = parent[c]  # type: ignore[assignment]
        return c

    leaves: dict[int, list[int]] = {}
    for c, _p, level in cats:
        if level == 3 or (level == 2 and not any(p == c for _, p, _ in cats)):
            leaves.setdefault(root(c), []).append(c)
    departments = [u for (u,) in conn.execute(select(Unit.id).where(Unit.kind.in_(("department", "company"))))]
    return {"grids": grids, "leaves": leaves, "departments": departments}


TextSource = Callable[[random.Random], tuple[str, str]]


def rows(total: int, years: float, seed: int, world: dict[str, Any], now: datetime,
         texts: TextSource | None = None) -> Iterator[dict[str, Any]]:
    """``total`` appeal rows, oldest first. ``texts`` draws each (title, content); by default one of the
    demo sample's real appeals."""
    rng = random.Random(seed)
    sample = [(s.title[:200] or s.content[:30], s.content[:2000] or s.title) for s in read_sample()]
    roots = sorted(world["leaves"])
    heating = roots[0] if roots else None
    unit_of_root = {r: [world["departments"][(i * 7 + k) % len(world["departments"])] for k in range(2)]
                    for i, r in enumerate(roots)} if world["departments"] else {}
    days = int(years * 365)
    start = (now - timedelta(days=days)).astimezone(clock.DISTRICT_TZ).replace(hour=0, minute=0, second=0,
                                                                            microsecond=0)
    # Daily weights: weekday rhythm, slow growth; the heating category's winter is handled per row.
    weights = []
    for d in range(days + 1):
        day = start + timedelta(days=d)
        w = (0.65 if day.weekday() >= 5 else 1.0) * (0.8 + 0.4 * d / max(1, days))
        weights.append(w)
    scale = total / sum(weights)
    seq = 0
    phones = [f"13{rng.randrange(10**9):09d}" for _ in range(200_000)]
    for d, w in enumerate(weights):
        day = start + timedelta(days=d)
        n = int(w * scale) + (1 if rng.random() < (w * scale) % 1 else 0)
        n = total - seq if d == len(weights) - 1 else min(n, total - seq)
        winter = day.month in (11, 12, 1, 2)
        age_days = (now - day).total_seconds() / 86400
        for per_day in range(1, n + 1):
            seq += 1
            received = day + timedelta(seconds=rng.randrange(7 * 3600, 22 * 3600))
            if received > now:
                received = now - timedelta(seconds=rng.randrange(1, 3600))
            title, content = texts(rng) if texts else sample[rng.randrange(len(sample))]
            grid_id, town_id, community_id, lat, lon = world["grids"][rng.randrange(len(world["grids"]))]
            if heating is not None and winter and rng.random() < 0.12:
                cat_root = heating
            else:
                cat_root = roots[rng.randrange(len(roots))] if roots else None
            category = rng.choice(world["leaves"][cat_root]) if cat_root is not None else None
            territorial = rng.random() < 0.45
            lead = town_id if territorial or not unit_of_root else rng.choice(unit_of_root[cat_root])
            closed = age_days > 30 and rng.random() < 0.985
            state = _state(rng, closed, age_days)
            row = _timestamps(rng, state, received, now)
            row.update(
                number=f"YC{day:%Y%m%d}-8{per_day:05d}", state=state,
                channel=_choice(rng, CHANNELS), appeal_type=_choice(rng, TYPES), urgency="normal",
                appeal_kind=_choice(rng, KINDS), title=title, content=content, category_id=category,
                address="", lat=lat + rng.uniform(-0.003, 0.003), lon=lon + rng.uniform(-0.003, 0.003),
                grid_id=grid_id, town_unit_id=town_id, community_unit_id=community_id, citizen_name="",
                citizen_phone=phones[rng.randrange(len(phones))], citizen_key="", is_anonymous=False,
                lead_unit_id=lead if state not in ("received", "accepted", "rejected") else None,
                is_joint=False, calendar_fallback=False, return_count=0, reopen_count=0, reminder_count=0,
                received_at=received, version=1)
            yield row
        if seq >= total:
            return


def _state(rng: random.Random, closed: bool, age_days: float) -> str:
    if closed:
        x = rng.random()
        return "archived" if x < 0.78 else "followed_up" if x < 0.90 else "resolved" if x < 0.97 else "rejected"
    if age_days < 1:
        return ("received", "accepted", "dispatched", "acknowledged", "resolved")[rng.randrange(5)]
    return ("dispatched", "acknowledged", "acknowledged", "acknowledged", "returned", "resolved",
            "followed_up")[rng.randrange(7)]


def _timestamps(rng: random.Random, state: str, received: datetime, now: datetime) -> dict[str, Any]:
    order = ["received", "accepted", "dispatched", "acknowledged", "resolved", "followed_up", "archived"]
    reached = order.index(state) if state in order else (2 if state == "returned" else 0)
    t = received
    out: dict[str, Any] = dict.fromkeys(("accepted_at", "dispatched_at", "acknowledge_due", "acknowledged_at",
                                         "resolve_due", "original_resolve_due", "resolved_at", "followed_up_at",
                                         "archived_at", "satisfaction", "follow_up_solved"))

    def step(minutes: float) -> datetime:
        nonlocal t
        t = min(now, t + timedelta(minutes=minutes))
        return t

    if reached >= 1:
        out["accepted_at"] = step(rng.expovariate(1 / 20))
    if reached >= 2:
        out["dispatched_at"] = step(rng.expovariate(1 / 40))
        out["acknowledge_due"] = t + timedelta(hours=2)
        out["resolve_due"] = out["original_resolve_due"] = t + timedelta(days=7)
    if reached >= 3:
        out["acknowledged_at"] = step(rng.expovariate(1 / 70))
    if reached >= 4:
        out["resolved_at"] = step(rng.expovariate(1 / (60 * 24 * 4)))
    if reached >= 5:
        out["followed_up_at"] = step(rng.expovariate(1 / (60 * 24)))
        out["satisfaction"] = _choice(rng, SATISFACTION)
        out["follow_up_solved"] = out["satisfaction"] != "dissatisfied" or rng.random() < 0.3
    if reached >= 6:
        out["archived_at"] = step(rng.expovariate(1 / (60 * 24 * 2)))
    overdue = bool(out["resolve_due"] and ((out["resolved_at"] or now) > out["resolve_due"]))
    out["is_overdue"] = overdue
    out["is_supervised"] = overdue and rng.random() < 0.4
    out["updated_at"] = t
    return out


def insert_appeals(url: str, total: int, *, years: float = 2.0, seed: int = 5,
                   progress: Any = None, texts: TextSource | None = None) -> dict[str, Any]:
    engine = make_engine(url)
    began = time.perf_counter()
    now = clock.now()
    with engine.connect() as conn:
        world = _world(conn)
    columns = [c.name for c in Appeal.__table__.columns if c.name != "id"]
    done = 0
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            with cur.copy(f"COPY appeals ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows(total, years, seed, world, now, texts):
                    copy.write_row([row.get(c) for c in columns])
                    done += 1
                    if progress and done % 50_000 == 0:
                        progress(done)
            raw.commit()
        finally:
            raw.close()
        # The steady state autovacuum keeps: statistics and a visibility map for index-only scans.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE appeals"))
    else:
        table = Appeal.__table__
        batch: list[dict[str, Any]] = []
        with engine.begin() as conn:
            for row in rows(total, years, seed, world, now, texts):
                batch.append({c: row.get(c) for c in columns})
                if len(batch) >= BATCH:
                    conn.execute(insert(table), batch)
                    done += len(batch)
                    batch.clear()
                    if progress and done % 50_000 == 0:
                        progress(done)
            if batch:
                conn.execute(insert(table), batch)
                done += len(batch)
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    with engine.connect() as conn:
        states = dict(conn.execute(select(Appeal.state, func.count()).group_by(Appeal.state)).all())
        count = conn.scalar(select(func.count(Appeal.id)))
    engine.dispose()
    return {"inserted": done, "appeals": count, "states": states, "insert_s": round(time.perf_counter() - began, 1)}


def build(url: str, total: int, *, years: float = 2.0, seed: int = 5, progress: Any = None,
          texts: TextSource | None = None) -> dict[str, Any]:
    info = prepare(url)
    info.update(insert_appeals(url, total, years=years, seed=seed, progress=progress, texts=texts))
    return info


__all__ = ["build", "insert_appeals", "prepare", "rows"]
