"""The unit assessment (三率) computed from the event trail at volume.

1. Builds a scratch database (SQLite file, or PostgreSQL with ``--db``): migrated, 30 units, and
   ``--appeals`` synthetic appeals spread evenly over the last ``--days`` days, each with the event
   trail the case engine writes (create, accept, dispatch with its deadlines, acknowledge with
   ``on_time``, sometimes a return and re-dispatch, an approved extension or a supervision,
   resolve with ``on_time``, follow-up with ``solved`` and ``satisfaction``, and for unhappy
   follow-ups a reopen and a second round). Rows go in with Core ``insert`` executemany in batches.
2. Builds the rounds projection from the whole trail (``refresh_rounds`` from scratch), then times a
   steady-state refresh after the last 2,000 events.
3. Times ``sudi.assessment.service.unit_counts`` (every figure of every unit) for the last full
   month, the last quarter and a 365-day custom period, from the projection (the default; includes
   its refresh check) and straight from the trail (``source="trail"``, 90 days' lookback): one
   warm-up, then ``--repeat`` runs, median; and checks that both give the same counts.
4. Baseline, in the same run: an indexed count of the period's hand-out events (``action in
   (dispatch, rule, reopen) and at in period``), the least any per-period figure must touch.
5. The dashboards' side: the analytics job counting the snapshots of every dashboard period from
   nothing (``refresh_unit_snapshots``, what runs in the background), then the dashboard's read of
   each period's official figures from its snapshot (``unit_rates``), median of ``--repeat``.

    .venv/bin/python bench/assessment.py --appeals 100000
    .venv/bin/python bench/assessment.py --appeals 100000 --db postgresql+psycopg://postgres@127.0.0.1:5432/bench_assessment
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, delete, func, insert, select, text

from sudi.appeals.models import Appeal, AppealEvent
from sudi.assessment import service
from sudi.assessment.models import AssessmentRound
from sudi.core import clock
from sudi.core.calendar import WorkCalendar
from sudi.core.db import make_engine, make_session_factory
from sudi.core.models import Setting, put_setting
from sudi.directory.models import Unit

BATCH = 5000


def _reset_pg(url: str) -> None:
    base, name = url.rsplit("/", 1)
    admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def build(url: str, appeals: int, days: int, seed: int) -> dict[str, Any]:
    from sudi.migrate import upgrade

    began = time.perf_counter()
    upgrade(url)
    engine = make_engine(url)
    rng = random.Random(seed)
    cal = WorkCalendar({})
    now = clock.now()
    with engine.begin() as conn:
        conn.execute(delete(AssessmentRound))
        conn.execute(delete(AppealEvent))
        conn.execute(delete(Appeal))
        conn.execute(delete(Unit))
        conn.execute(insert(Unit), [{"id": i, "code": f"u{i:02d}", "name": f"单位{i:02d}", "kind": "department",
                                     "path": f"/{i}/"} for i in range(1, 31)])
    # Each unit has its own quality, so the ranking has something to rank.
    quality = {u: (rng.uniform(0.80, 0.99), rng.uniform(0.75, 0.98), rng.uniform(0.70, 0.97)) for u in range(1, 31)}
    appeal_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    event_id = 0

    def event(appeal_id: int, at: datetime, action: str, unit: int | None, **data: Any) -> None:
        nonlocal event_id
        event_id += 1
        event_rows.append({"id": event_id, "appeal_id": appeal_id, "at": at, "action": action,
                           "from_state": None, "to_state": "x", "actor_name": "bench", "actor_role": "system",
                           "unit_id": unit, "comment": "", "data": data})

    def flush(force: bool = False) -> None:
        if len(appeal_rows) >= BATCH or (force and appeal_rows):
            with engine.begin() as conn:
                conn.execute(insert(Appeal), appeal_rows)
                conn.execute(insert(AppealEvent), event_rows)
            appeal_rows.clear()
            event_rows.clear()

    day_cache: dict[date, datetime] = {}

    def due_after(start: datetime, working_days: int) -> datetime:
        key = clock.local(start).date()
        if (key, working_days) not in day_cache:  # type: ignore[comparison-overlap]
            day_cache[(key, working_days)] = cal.add_working_days(start, working_days).due  # type: ignore[index]
        return day_cache[(key, working_days)]  # type: ignore[index]

    for appeal_id in range(1, appeals + 1):
        received = now - timedelta(days=days * (1 - appeal_id / appeals) + 0.01, hours=rng.uniform(0, 2))
        unit = rng.randint(1, 30)
        q_ack, q_time, q_happy = quality[unit]
        appeal_rows.append({"id": appeal_id, "number": f"BA{appeal_id:09d}", "state": "followed_up",
                            "channel": "hotline", "appeal_type": "complaint", "urgency": "normal",
                            "appeal_kind": "livelihood", "title": "合成诉求", "content": "用于考核基准的合成诉求。",
                            "received_at": received, "updated_at": received, "lead_unit_id": unit})
        event(appeal_id, received, "create", None)
        t = received + timedelta(minutes=rng.uniform(5, 60))
        event(appeal_id, t, "accept", None)
        for round_no in range(2):
            t += timedelta(minutes=rng.uniform(5, 90))
            if t > now:
                break
            kind = "dispatch" if round_no == 0 else "reopen"
            ack_due = t + timedelta(hours=2)
            resolve_due = due_after(t, 5)
            event(appeal_id, t, kind, unit, acknowledge_due=ack_due.astimezone(clock.DISTRICT_TZ).isoformat(),
                  resolve_due=resolve_due.isoformat())
            if round_no == 0 and rng.random() < 0.03:  # misrouted: returned, then dispatched elsewhere
                t += timedelta(minutes=rng.uniform(10, 100))
                event(appeal_id, t, "return", unit)
                unit = rng.randint(1, 30)
                t += timedelta(minutes=rng.uniform(10, 100))
                resolve_due = due_after(t, 5)
                event(appeal_id, t, "dispatch", unit,
                      acknowledge_due=(t + timedelta(hours=2)).astimezone(clock.DISTRICT_TZ).isoformat(),
                      resolve_due=resolve_due.isoformat())
            on_time_ack = rng.random() < q_ack
            t += timedelta(minutes=rng.uniform(5, 110) if on_time_ack else rng.uniform(125, 600))
            event(appeal_id, t, "acknowledge", unit, on_time=on_time_ack)
            if rng.random() < 0.05:
                resolve_due = due_after(resolve_due, 5)
                event(appeal_id, t + timedelta(hours=20), "approve_extension", unit,
                      resolve_due=resolve_due.isoformat(), working_days=5)
            late = rng.random() > q_time
            if late and rng.random() < 0.3:
                event(appeal_id, resolve_due + timedelta(hours=3), "supervise", unit)
            t = resolve_due + timedelta(hours=rng.uniform(2, 72)) if late else \
                t + (resolve_due - t) * rng.uniform(0.1, 0.95)
            if t > now:
                break
            event(appeal_id, t, "resolve", unit, on_time=not late)
            t += timedelta(hours=rng.uniform(2, 72))
            if t > now:
                break
            happy = rng.random() < q_happy
            satisfaction = rng.choice(["satisfied", "satisfied", "fairly_satisfied"]) if happy else "dissatisfied"
            event(appeal_id, t, "follow_up", unit, solved=happy, satisfaction=satisfaction)
            if happy:
                break
        flush()
        if appeal_id % 20000 == 0:
            print(f"  {appeal_id} appeals, {event_id} events, {time.perf_counter() - began:.0f} s", file=sys.stderr)
    flush(force=True)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return {"appeals": appeals, "events": event_id, "build_s": round(time.perf_counter() - began, 1)}


def _median_ms(fn: Any, repeat: int) -> float:
    fn()
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    return round(statistics.median(samples), 1)


def measure(url: str, repeat: int) -> dict[str, Any]:
    engine = make_engine(url)
    session = make_session_factory(engine)()
    # The projection: built once from the whole trail, then kept up to date per read.
    session.execute(delete(AssessmentRound))
    put_setting(session, service.ROUNDS_MARK_KEY, 0)
    session.commit()
    began = time.perf_counter()
    service.refresh_rounds(session)
    first_build_s = round(time.perf_counter() - began, 2)
    rounds = session.scalar(select(func.count()).select_from(AssessmentRound)) or 0
    # A steady-state refresh: the trail grew by a day's events of 300 appeals since the last read.
    top = session.scalar(select(func.max(AppealEvent.id))) or 0
    put_setting(session, service.ROUNDS_MARK_KEY, max(0, top - 2000))
    session.commit()
    began = time.perf_counter()
    touched = service.refresh_rounds(session)
    refresh_ms = round((time.perf_counter() - began) * 1000, 1)

    today = clock.local(clock.now()).date()
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    quarter = (today.month - 1) // 3  # the last full quarter
    q_key = f"{today.year}-Q{quarter}" if quarter else f"{today.year - 1}-Q4"
    periods = [service.parse_period(last_month), service.parse_period(q_key),
               service.parse_period(None, (today - timedelta(days=365)).isoformat(), today.isoformat())]
    results = []
    for period in periods:
        def projected(p: service.Period = period) -> Any:
            return service.unit_counts(session, p)

        def from_trail(p: service.Period = period) -> Any:
            return service.unit_counts(session, p, source="trail", lookback_days=90)

        def baseline(p: service.Period = period) -> Any:
            return session.scalar(select(func.count()).select_from(AppealEvent).where(
                AppealEvent.action.in_(service.ASSIGN_ACTIONS), AppealEvent.at >= p.start, AppealEvent.at < p.end))

        hand_outs = baseline()
        t_proj = _median_ms(projected, repeat)
        t_trail = _median_ms(from_trail, max(1, repeat // 2))
        t_base = _median_ms(baseline, repeat)
        same = projected() == from_trail()
        results.append({"period": period.key, "hand_outs": hand_outs, "units": len(projected()),
                        "projection_ms": t_proj, "trail_ms": t_trail, "baseline_ms": t_base,
                        "projection_over_baseline": round(t_proj / t_base, 1) if t_base else None,
                        "trail_over_projection": round(t_trail / t_proj, 1) if t_proj else None,
                        "projection_equals_trail_90d": same})
    dashboard = _dashboard(session, repeat)
    session.close()
    engine.dispose()
    return {"dashboard": dashboard, "rounds": rounds, "first_build_s": first_build_s, "refresh_ms": refresh_ms,
            "refresh_appeals": touched, "periods": results}


def _dashboard(session: Any, repeat: int) -> dict[str, Any]:
    """The snapshot job from nothing, then the dashboard's reads of every period it offers."""
    from sudi.analytics import service as analytics

    session.execute(delete(Setting).where(Setting.key.startswith(analytics.UNITS_KEY_PREFIX, autoescape=True)))
    session.commit()
    began = time.perf_counter()
    job = analytics.refresh_unit_snapshots(session)
    job_s = round(time.perf_counter() - began, 2)
    reads = {}
    for choice in analytics.DASHBOARD_CHOICES:
        period = analytics.parse_period(choice)
        reads[choice] = _median_ms(lambda p=period: analytics.unit_rates(session, p), repeat)
    return {"snapshot_job_s": job_s, "snapshots_counted": job["computed"], "unit_rates_read_ms": reads}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--db", default="sqlite:///var/bench-assessment.db")
    parser.add_argument("--reuse", action="store_true", help="measure an existing build")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    info: dict[str, Any] = {"db": args.db.split("@")[-1], "machine": f"{platform.machine()}, "
                            f"{platform.python_implementation()} {platform.python_version()}",
                            "date": datetime.now().astimezone().isoformat(timespec="seconds")}
    if args.reuse:
        from sudi.migrate import upgrade

        upgrade(args.db)
    else:
        if args.db.startswith("postgresql"):
            _reset_pg(args.db)
        elif args.db.startswith("sqlite:///"):
            path = Path(args.db.removeprefix("sqlite:///"))
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        info["build"] = build(args.db, args.appeals, args.days, args.seed)
    info["results"] = measure(args.db, args.repeat)
    print(json.dumps(info, ensure_ascii=False, indent=2))
    if args.json:
        args.json.write_text(json.dumps(info, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
