"""Intake throughput: appeals accepted per second over HTTP, against a bare-framework baseline.

For each backend (SQLite, PostgreSQL) the script

1. makes a scratch database (a temporary SQLite file, or ``sudi_bench`` on the local PostgreSQL,
   dropped at the end), prepares it with ``sudi init`` and then, through sudi's own services, the
   demo district's towns, communities and 431 grids plus one ``intake_agent`` account;
2. starts two uvicorn processes with the same settings (1 worker, 127.0.0.1, a free port): the
   baseline (bench/_baseline_app.py: FastAPI, one Pydantic-validated route, one-row insert, an
   engine from ``sudi.core.db.make_engine``) and sudi (``sudi.asgi:app``, what ``sudi serve`` runs);
3. logs in through ``POST /api/v1/auth/token`` and, in each round, drives the baseline, then
   ``POST /api/v1/appeals`` (staff, bearer token), then ``POST /api/v1/public/appeals`` (citizens);
4. checks that the database gained exactly as many rows as the servers answered 201, and that
   every sudi appeal was placed in a grid (so the grid lookup ran).

This process is the client: ``--concurrency`` threads, each with its own keep-alive
``httpx.Client``, first a warm-up, then a fixed duration (``--seconds``) or a fixed number of
requests (``--requests``). Bodies are realistic Chinese appeals (the TipDM 2020 messages when
available) with a point inside a random grid. Every loop is bounded in time and count, and all
traffic stays on loopback.

    .venv/bin/python bench/intake.py --backend both --seconds 15 --json var/bench-intake.json
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, create_engine, func, select, text

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from _baseline_app import BaselineBase, Row  # noqa: E402

from sudi.appeals.models import Appeal  # noqa: E402
from sudi.core.db import make_engine, make_session_factory  # noqa: E402
from sudi.demo.territory import Territory, build_territory, random_point_in  # noqa: E402
from sudi.directory import service as directory  # noqa: E402
from sudi.directory.service import SYSTEM  # noqa: E402

console = Console(width=None if sys.stdout.isatty() else 150)

HOST = "127.0.0.1"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "sudi_bench"
CORPUS = Path(os.environ.get("SUDI_BENCH_CORPUS", "/work/shared/data/tipdm2020c/fujian2_labeled_raw.csv"))
# Scratch credentials: the database they live in is dropped at the end of the run.
ADMIN_PASSWORD = "Scratch-Root-2026!"
INTAKE_USER, INTAKE_PASSWORD = "bench-intake", "Bench-Intake-2026!"
# Same for both servers; h11 and asyncio are what a plain `pip install sudi` gets.
UVICORN_OPTIONS = ["--host", HOST, "--workers", "1", "--loop", "asyncio", "--http", "h11",
                   "--log-level", "warning", "--no-access-log"]
MAX_RUN_SECONDS = 600  # the hard bound of one measured phase, whatever --requests asks for
TARGET_RATIO = 0.5
BUSY_LOAD = 0.5  # a 1-minute load average above this before the run means another job is running

FALLBACK_TEXTS = [
    ("小区路灯不亮",
     "青檀小区3号楼前的路灯已经坏了一个多月，晚上出行很不方便，老人孩子容易摔倒，请尽快维修。"),
    ("建筑工地夜间施工噪音扰民",
     "榴园路与文化路交叉口的工地每天夜里十一点以后还在打桩，噪音很大，周边居民无法休息。"),
    ("物业违规收取停车费",
     "我们小区物业未经业主大会同意，在公共道路上划车位收取停车费，且收费后车辆受损不负责。"),
    ("道路坑洼积水严重",
     "承水路中段路面坑洼很多，一下雨就积水，电动车经过时经常溅到行人，希望有关部门修补路面。"),
    ("背街小巷垃圾无人清理",
     "坛山街道青檀北路背后的小巷垃圾堆放多日无人清运，气味难闻，夏天蚊蝇很多。"),
    ("咨询新生入学划片",
     "请问今年峄城区小学一年级的入学划片范围什么时候公布？我家住在吴林街道，孩子该去哪所学校？"),
    ("农民工工资被拖欠",
     "我在某建筑工地干了四个月，老板一直拖欠工资共计两万三千元，多次讨要无果，请求帮助。"),
    ("自来水水压不足",
     "金寺社区六楼以上住户最近一周自来水水压很低，早晚高峰基本没水，影响正常生活。"),
    ("占道经营影响通行",
     "学校门口每天放学时段有大量流动摊贩占用人行道和机动车道，存在安全隐患。"),
    ("违章搭建",
     "小区一楼住户私自在公共绿地上搭建彩钢棚，占用公共空间，请执法部门依法处理。"),
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡"
APPEAL_TYPES = ["投诉", "求助", "咨询", "建议", "举报", None]


# ---------------------------------------------------------------- request bodies

def corpus_texts(limit: int, rng: random.Random) -> tuple[list[tuple[str, str]], str]:
    """(title, content) pairs: the labelled TipDM messages when present, else a built-in list.

    The TipDM ``text`` column is the message's subject followed by its body; its first clause
    (to the first comma or full stop, at most 40 characters) serves as the title.
    """
    if not CORPUS.exists():
        return FALLBACK_TEXTS, "built-in list"
    pairs = []
    with CORPUS.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            content = " ".join((row.get("text") or "").split())[:20_000]
            title = re.split(r"[，。！？；,.!?;]", content, maxsplit=1)[0][:40].strip()
            if title and content:
                pairs.append((title, content))
    rng.shuffle(pairs)
    return pairs[:limit], f"{CORPUS.name} ({min(limit, len(pairs))} of {len(pairs)} messages)"


def make_bodies(count: int, territory: Territory, rng: random.Random) -> tuple[list[bytes], str]:
    """JSON bodies accepted by all three routes, each with a point inside a random grid."""
    texts, source = corpus_texts(count, rng)
    bodies = []
    for n in range(count):
        title, content = texts[n % len(texts)]
        grid = rng.choice(territory.grids)
        lat, lon = random_point_in(grid.geometry, rng)
        body = {"title": title, "content": content, "appeal_type": rng.choice(APPEAL_TYPES),
                "citizen_name": rng.choice(SURNAMES) + rng.choice(["先生", "女士"]),
                "citizen_phone": f"1{rng.choice('3578')}{rng.randrange(10**9):09d}",
                "address": f"{grid.name}附近", "lat": round(lat, 6), "lon": round(lon, 6)}
        bodies.append(json.dumps({k: v for k, v in body.items() if v is not None},
                                 ensure_ascii=False).encode())
    return bodies, source


# ---------------------------------------------------------------- databases

@dataclass
class Database:
    backend: str
    url: str
    server_version: str


@contextmanager
def scratch_database(backend: str, workdir: Path) -> Iterator[Database]:
    if backend == "sqlite":
        yield Database("sqlite", f"sqlite:///{workdir / 'sudi-bench.db'}", sqlite3.sqlite_version)
        return
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            version = str(conn.execute(text("SHOW server_version")).scalar_one())
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
        yield Database("postgresql", PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_DATABASE, version)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
        admin.dispose()


def prepare(db: Database, territory: Territory, workdir: Path) -> None:
    """``sudi init``, then the district's territory and an intake agent, then the baseline table."""
    sudi = Path(sys.executable).with_name("sudi")
    init = subprocess.run([str(sudi), "init", "--db", db.url, "--admin-password", ADMIN_PASSWORD],
                          cwd=workdir, capture_output=True, text=True)
    if init.returncode != 0:
        raise RuntimeError(f"sudi init failed ({init.returncode}): {init.stderr.strip()}")
    engine = make_engine(db.url)
    session = make_session_factory(engine)()
    try:
        directory.create_unit(session, SYSTEM, code="centre", name="区诉求办理中心", kind="centre",
                              parent_code="district")
        for town in territory.towns:
            directory.create_unit(session, SYSTEM, code=town.code, name=town.name, kind=town.kind,
                                  parent_code="district")
        for community in territory.communities:
            directory.create_unit(session, SYSTEM, code=community.code, name=community.name,
                                  kind=community.kind, parent_code=community.town_code)
        directory.import_grids(session, SYSTEM, [
            {"type": "Feature", "geometry": g.geometry,
             "properties": {"code": g.code, "name": g.name, "town": g.town_code,
                            "community": g.community_code}}
            for g in territory.grids])
        directory.create_user(session, SYSTEM, username=INTAKE_USER, full_name="压测受理员",
                              password=INTAKE_PASSWORD, role="intake_agent", unit_code="centre")
    finally:
        session.close()
    BaselineBase.metadata.create_all(engine)
    engine.dispose()


# ---------------------------------------------------------------- servers

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    url: str
    pid: int

    def cpu_seconds(self) -> float | None:
        """User + system CPU the server process has used so far (Linux), else None."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def uvicorn_server(name: str, target: list[str], env: dict[str, str], workdir: Path) -> Iterator[Server]:
    """A uvicorn process on a free loopback port, stopped on exit."""
    port = free_port()
    log_path = workdir / f"{name}.log"
    command = [sys.executable, "-m", "uvicorn", *target, *UVICORN_OPTIONS, "--port", str(port)]
    with log_path.open("w") as log:
        proc = subprocess.Popen(command, cwd=workdir, env={**os.environ, **env}, stdout=log,
                                stderr=subprocess.STDOUT)
    base_url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log_path.read_text()[-2000:]}")
            try:
                if httpx.get(base_url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer /healthz within 60 s")
            time.sleep(0.2)
        yield Server(base_url, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------- load

@dataclass
class Phase:
    measure_from: float
    deadline: float
    quota: int  # measured requests per thread


@dataclass
class ThreadStats:
    ok: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    last_done: float = 0.0
    first_error: str | None = None


@dataclass
class Load:
    ok: int  # 201 responses, warm-up included: what the database must have gained
    errors: int
    measured: int
    elapsed_s: float
    latencies_ms: list[float]
    first_error: str | None


def drive(base_url: str, path: str, headers: dict[str, str], bodies: list[bytes], *, concurrency: int,
          warmup_s: float, seconds: float, requests: int | None) -> Load:
    """POST ``bodies`` round-robin from ``concurrency`` keep-alive clients; warm-up, then measure."""
    stats = [ThreadStats() for _ in range(concurrency)]
    ready = threading.Barrier(concurrency + 1)
    phase = Phase(0.0, 0.0, 0)

    def worker(index: int) -> None:
        mine = stats[index]
        with httpx.Client(base_url=base_url, timeout=30.0,
                          headers={**headers, "content-type": "application/json"}) as client:
            ready.wait()
            n, measured = index, 0
            while measured < phase.quota:
                began = time.perf_counter()
                if began >= phase.deadline:
                    break
                try:
                    response = client.post(path, content=bodies[n % len(bodies)])
                    good = response.status_code == 201
                    problem = None if good else f"HTTP {response.status_code}: {response.text[:300]}"
                except httpx.HTTPError as exc:
                    good, problem = False, f"{type(exc).__name__}: {exc}"
                done = time.perf_counter()
                n += concurrency
                mine.ok += good
                mine.errors += not good
                if problem and mine.first_error is None:
                    mine.first_error = problem
                if began >= phase.measure_from:
                    measured += 1
                    if good:
                        mine.latencies_ms.append((done - began) * 1000)
                    mine.last_done = max(mine.last_done, done)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    phase.measure_from = start + warmup_s
    phase.deadline = phase.measure_from + (MAX_RUN_SECONDS if requests else seconds)
    phase.quota = math.ceil(requests / concurrency) if requests else sys.maxsize
    ready.wait()
    for thread in threads:
        thread.join()
    latencies = sorted(ms for s in stats for ms in s.latencies_ms)
    elapsed = max((s.last_done for s in stats), default=phase.measure_from) - phase.measure_from
    return Load(ok=sum(s.ok for s in stats), errors=sum(s.errors for s in stats), measured=len(latencies),
                elapsed_s=elapsed, latencies_ms=latencies,
                first_error=next((s.first_error for s in stats if s.first_error), None))


# ---------------------------------------------------------------- scenarios and results

RowCounter = Callable[[Engine], tuple[int, int | None]]


def baseline_rows(engine: Engine) -> tuple[int, int | None]:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count(Row.id))) or 0), None


def appeal_rows(channel: str) -> RowCounter:
    """Appeals of one channel, and how many of them the grid lookup placed."""
    def count(engine: Engine) -> tuple[int, int | None]:
        query = select(func.count(Appeal.id), func.count(Appeal.grid_id)).where(Appeal.channel == channel)
        with engine.connect() as conn:
            total, placed = conn.execute(query).one()
        return int(total), int(placed)
    return count


@dataclass
class Scenario:
    name: str
    server: Server
    path: str
    headers: dict[str, str]
    count_rows: RowCounter


@dataclass
class Round:
    load: Load
    created: int
    placed: int | None
    server_cpu_s: float | None


@dataclass
class Result:
    backend: str
    scenario: str
    endpoint: str
    requests_per_s: float  # the median over rounds
    rounds_per_s: list[float]
    p50_ms: float  # latencies of all rounds pooled
    p95_ms: float
    p99_ms: float
    server_cpu_ms: float | None  # server process CPU per request, warm-ups included
    measured: int
    responses_201: int  # warm-ups included, like the row counts
    errors: int
    rows_created: int
    rows_placed: int | None
    verified: bool
    ratio: float | None = None
    first_error: str | None = None


def run_round(scenario: Scenario, bodies: list[bytes], engine: Engine, args: argparse.Namespace) -> Round:
    before, placed_before = scenario.count_rows(engine)
    cpu_before = scenario.server.cpu_seconds()
    load = drive(scenario.server.url, scenario.path, scenario.headers, bodies, concurrency=args.concurrency,
                 warmup_s=args.warmup, seconds=args.seconds, requests=args.requests)
    cpu_after = scenario.server.cpu_seconds()
    after, placed_after = scenario.count_rows(engine)
    placed = None if placed_after is None or placed_before is None else placed_after - placed_before
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Round(load, after - before, placed, cpu)


def summarise(backend: str, scenario: Scenario, rounds: list[Round]) -> Result:
    latencies = sorted(ms for r in rounds for ms in r.load.latencies_ms)
    cuts = (statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1
            else [math.nan] * 99)
    per_round = [r.load.measured / r.load.elapsed_s if r.load.elapsed_s > 0 else 0.0 for r in rounds]
    ok = sum(r.load.ok for r in rounds)
    errors = sum(r.load.errors for r in rounds)
    created = sum(r.created for r in rounds)
    placed = None if rounds[0].placed is None else sum(r.placed or 0 for r in rounds)
    cpu = (None if any(r.server_cpu_s is None for r in rounds)
           else 1000 * sum(r.server_cpu_s or 0.0 for r in rounds) / max(1, ok + errors))
    return Result(backend=backend, scenario=scenario.name, endpoint=f"POST {scenario.path}",
                  requests_per_s=statistics.median(per_round), rounds_per_s=[round(x, 1) for x in per_round],
                  p50_ms=cuts[49], p95_ms=cuts[94], p99_ms=cuts[98], server_cpu_ms=cpu,
                  measured=len(latencies),
                  responses_201=ok, errors=errors, rows_created=created, rows_placed=placed,
                  verified=errors == 0 and created == ok and placed in (None, created),
                  first_error=next((r.load.first_error for r in rounds if r.load.first_error), None))


def log_in(server: Server) -> dict[str, str]:
    response = httpx.post(server.url + "/api/v1/auth/token", timeout=30,
                          json={"username": INTAKE_USER, "password": INTAKE_PASSWORD})
    response.raise_for_status()
    return {"authorization": "Bearer " + response.json()["access_token"]}


def run_backend(backend: str, args: argparse.Namespace, territory: Territory,
                bodies: list[bytes]) -> tuple[Database, list[Result]]:
    """Both servers run side by side (the idle one costs nothing); each round drives the
    baseline, then sudi's staff route, then its public route, so slow drifts hit all three."""
    workdir = Path(tempfile.mkdtemp(prefix=f"sudi-bench-{backend}-"))
    try:
        with scratch_database(backend, workdir) as db:
            console.print(f"[bold]{backend}[/bold]: preparing {db.backend} {db.server_version} …")
            prepare(db, territory, workdir)
            engine = make_engine(db.url)
            baseline_target = ["--factory", "_baseline_app:app_from_env", "--app-dir", str(BENCH_DIR)]
            sudi_env = {"SUDI_DATABASE_URL": db.url, "SUDI_MEDIA_DIR": str(workdir / "media")}
            try:
                with uvicorn_server("baseline", baseline_target, {"BENCH_DATABASE_URL": db.url},
                                    workdir) as baseline, \
                        uvicorn_server("sudi", ["sudi.asgi:app"], sudi_env, workdir) as sudi:
                    console.print(f"  baseline at {baseline.url}, sudi at {sudi.url}")
                    scenarios = [
                        Scenario("baseline", baseline, "/rows", {}, baseline_rows),
                        Scenario("sudi staff", sudi, "/api/v1/appeals", log_in(sudi), appeal_rows("hotline")),
                        Scenario("sudi public", sudi, "/api/v1/public/appeals", {}, appeal_rows("web")),
                    ]
                    rounds: dict[str, list[Round]] = {s.name: [] for s in scenarios}
                    for n in range(args.rounds):
                        for scenario in scenarios:
                            console.print(f"  round {n + 1}/{args.rounds}: {scenario.name} …")
                            rounds[scenario.name].append(run_round(scenario, bodies, engine, args))
            finally:
                engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results = [summarise(backend, s, rounds[s.name]) for s in scenarios]
    base_rps = results[0].requests_per_s
    for result in results[1:]:
        result.ratio = result.requests_per_s / base_rps if base_rps else None
    return db, results


# ---------------------------------------------------------------- reporting

def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() \
        else platform.processor()
    packages = ("fastapi", "starlette", "pydantic", "sqlalchemy", "uvicorn", "h11", "psycopg", "httpx")
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "nproc": os.cpu_count(), "cpu": cpu,
            "python": platform.python_version(), "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "packages": {p: metadata.version(p) for p in packages}}


def report(results: list[Result]) -> None:
    table = Table(title="Intake throughput (higher req/s is better; ratio = sudi / baseline, target ≥ "
                        f"{TARGET_RATIO})")
    for column in ("backend", "scenario", "req/s", "p50 ms", "p95 ms", "p99 ms", "server CPU ms/req", "201s",
                   "errors", "rows created", "in a grid", "ratio"):
        table.add_column(column, justify="left" if column in ("backend", "scenario") else "right")
    for r in results:
        ratio = "" if r.ratio is None else (f"[green]{r.ratio:.2f}[/green]" if r.ratio >= TARGET_RATIO
                                            else f"[red]{r.ratio:.2f}[/red]")
        rows = f"{r.rows_created}" if r.verified else f"[red]{r.rows_created} ≠ {r.responses_201}[/red]"
        table.add_row(r.backend, r.scenario, f"{r.requests_per_s:.0f}", f"{r.p50_ms:.1f}", f"{r.p95_ms:.1f}",
                      f"{r.p99_ms:.1f}", "" if r.server_cpu_ms is None else f"{r.server_cpu_ms:.2f}",
                      str(r.responses_201), str(r.errors), rows,
                      "" if r.rows_placed is None else str(r.rows_placed), ratio)
    console.print(table)
    for r in results:
        if r.first_error:
            console.print(f"[red]{r.backend} {r.scenario}: first error: {r.first_error}[/red]")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured duration per scenario")
    parser.add_argument("--requests", type=int, default=None,
                        help="measure this many requests per scenario instead of a duration")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds before measuring")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure every scenario this many times, interleaved; req/s is the median")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (one connection each)")
    parser.add_argument("--bodies", type=int, default=2000, help="distinct request bodies to cycle through")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--json", type=Path, default=None, metavar="OUT", help="save the results as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= 64:
        parser.error("--concurrency must be between 1 and 64")
    if not 0 < args.seconds <= MAX_RUN_SECONDS or not 0 <= args.warmup <= 60:
        parser.error(f"--seconds must be in (0, {MAX_RUN_SECONDS}] and --warmup in [0, 60]")
    if not 1 <= args.rounds <= 10:
        parser.error("--rounds must be between 1 and 10")
    if args.requests is not None and args.requests < 1:
        parser.error("--requests must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    territory = build_territory()
    bodies, source = make_bodies(args.bodies, territory, rng)
    info = machine()
    console.print(f"{info['date']}  {info['cpu']}  nproc={info['nproc']}  Python {info['python']}  "
                  f"concurrency={args.concurrency}  "
                  + (f"requests={args.requests}" if args.requests else f"seconds={args.seconds:g}")
                  + f"  warm-up={args.warmup:g}s  rounds={args.rounds}  bodies: {source}")
    if info["load_average_at_start"][0] > BUSY_LOAD:
        console.print(f"[yellow]warning: load average {info['load_average_at_start'][0]} before the run: "
                      "something else is using the CPU, so the numbers will be noisy[/yellow]")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results: list[Result] = []
    databases: dict[str, str] = {}
    for backend in backends:
        db, backend_results = run_backend(backend, args, territory, bodies)
        databases[backend] = db.server_version
        results.extend(backend_results)
    report(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        payload = {"machine": info, "databases": databases, "command": " ".join(sys.argv),
                   "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                   "bodies": source, "uvicorn": UVICORN_OPTIONS, "results": [asdict(r) for r in results]}
        args.json.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        console.print(f"results saved to {args.json}")
    return 0 if all(r.verified for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
