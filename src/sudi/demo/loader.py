"""Loads the demo district 峄城区: directory, territory, accounts and a year of real appeals.

The appeals are real public messages (see data/SOURCES.md) replayed through the case engine's own
services with the clock moved back, so every event, deadline and figure is what the engine itself
would have produced. Re-running is safe: every step skips what is already there.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sudi.appeals import service as appeals
from sudi.appeals.models import Appeal
from sudi.auth_bootstrap import bootstrap
from sudi.core import auth, clock
from sudi.core.db import transaction
from sudi.core.errors import SudiError
from sudi.core.models import get_setting, put_setting
from sudi.demo import directory_data, duty_list
from sudi.demo.territory import Territory, build_territory, random_point_in
from sudi.directory import service as directory
from sudi.directory.models import Grid, Matter, Role, Unit, User
from sudi.directory.service import SYSTEM, Actor, actor_for

DEMO_PASSWORD = "sudi-demo"
DEMO_API_KEY = "sudi-demo-key"
DEMO_WECHAT_KEY = "sudi-demo-wechat-key"
APPEALS_DONE_KEY = "demo_appeals_loaded"
SEED = 370404

# Named demo accounts (username, full name, role, unit code); grid workers are added per grid.
ACCOUNTS = [
    ("admin", "系统管理员", Role.admin, "district"),
    ("intake", "受理员 王敏", Role.intake_agent, "centre"),
    ("dispatcher", "派单员 李强", Role.dispatcher, "centre"),
    ("supervisor", "督查员 赵静", Role.supervisor, "centre"),
    ("leader", "区领导 孙伟", Role.leader, "district"),
    ("mediator", "调解员 周红", Role.mediator, "sfj"),
    ("zjj", "区住建局 承办人 刘洋", Role.unit_handler, "zjj"),
    ("zjjlead", "区住建局 负责人 陈刚", Role.unit_leader, "zjj"),
    ("cgj", "区综合行政执法局 承办人 杨帆", Role.unit_handler, "cgj"),
    ("cgjlead", "区综合行政执法局 负责人 黄磊", Role.unit_leader, "cgj"),
]

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"


@dataclass(frozen=True, slots=True)
class SampleAppeal:
    source: str
    source_id: str
    title: str
    content: str
    reply: str | None
    category_l1: str | None
    appeal_type: str | None


def read_sample() -> Iterator[SampleAppeal]:
    raw = resources.files("sudi.demo").joinpath("data/appeals_sample.jsonl.gz").read_bytes()
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            yield SampleAppeal(r["source"], str(r["source_id"]), r["title"], r["content"], r.get("reply"),
                               r.get("category_l1"), r.get("appeal_type"))


def load_demo(session: Session, *, console: Console | None = None, appeals_limit: int = 3000,
              now: datetime | None = None, model_dir: Path | None = None) -> str:
    bootstrap(session)
    duty_list.load_directory(session, SYSTEM)
    territory = build_territory(SEED)
    _load_territory(session, territory)
    password_hash = auth.hash_password(DEMO_PASSWORD)
    _load_accounts(session, territory, password_hash)
    for name, channel, key in (("Open311 演示", "open311", DEMO_API_KEY),
                               ("微信公众号演示适配器", "wechat", DEMO_WECHAT_KEY)):
        directory.create_api_key(session, SYSTEM, name=name, channel=channel, key=key)
    loaded = 0
    if not get_setting(session, APPEALS_DONE_KEY):
        loaded = _load_appeals(session, territory, console, appeals_limit, now or clock.now())
        with transaction(session):
            put_setting(session, APPEALS_DONE_KEY, True)
    if model_dir is not None:
        _train_models(session, model_dir, console, force_retrain=loaded > 0)
    total = session.scalar(select(func.count(Appeal.id))) or 0
    return (f"{len(territory.grids)} 个网格, {session.scalar(select(func.count(User.id)))} 个账号, "
            f"{session.scalar(select(func.count(Matter.id)))} 项权责清单事项, "
            f"本次载入 {loaded} 件诉求, 共 {total} 件")


def _train_models(session: Session, model_dir: Path, console: Console | None, *, force_retrain: bool) -> None:
    """Smart dispatch's first models, from the demo's own archive, so suggestions show at once."""
    from sudi.appeals import smart_dispatch

    if not force_retrain and smart_dispatch.active_models(session):
        return
    out = console or Console(stderr=True)
    for report in smart_dispatch.train_from_db(session, SYSTEM, model_dir=model_dir,
                                               progress=lambda message: out.print(message, highlight=False)):
        quality = report.new_quality or {}
        out.print(f"智能派单模型 {report.kind}: {report.status}, 训练 {report.training_size} 件, "
                  f"留出准确率 {quality.get('accuracy', '—')}, {report.seconds} 秒", highlight=False)


def _load_territory(session: Session, territory: Territory) -> None:
    existing = set(session.scalars(select(Unit.code)))
    for community in territory.communities:
        if community.code not in existing:
            directory.create_unit(session, SYSTEM, code=community.code, name=community.name, kind=community.kind,
                                  parent_code=community.town_code)
    if session.scalar(select(func.count(Grid.id))) != len(territory.grids):
        directory.import_grids(session, SYSTEM, [
            {"type": "Feature", "geometry": g.geometry,
             "properties": {"code": g.code, "name": g.name, "town": g.town_code, "community": g.community_code}}
            for g in territory.grids])


def _load_accounts(session: Session, territory: Territory, password_hash: str) -> None:
    existing = set(session.scalars(select(User.username)))
    wanted: list[tuple[str, str, str, str | None, str | None]] = [
        (u, n, r, unit, None) for u, n, r, unit in ACCOUNTS]
    wanted.append(("grid1", "网格员 坛山001", Role.grid_worker, None, territory.grids[0].code))
    named = {u for u, *_ in ACCOUNTS}
    # Every department, company and town has a handler account named by its unit code.
    for spec in directory_data.DEPARTMENTS:
        if spec.code not in named:
            wanted.append((spec.code, f"{spec.short_name} 承办人", Role.unit_handler, spec.code, None))
    for town in territory.towns:
        wanted.append((town.code, f"{town.name} 承办人", Role.unit_handler, town.code, None))
    for n, cell in enumerate(territory.grids, start=1):
        wanted.append((f"grid{n:03d}", f"网格员 {cell.name}", Role.grid_worker, None, cell.code))
    for username, full_name, role, unit, grid_code in wanted:
        if username not in existing:
            directory.create_user(session, SYSTEM, username=username, full_name=full_name, password=DEMO_PASSWORD,
                                  role=role, unit_code=unit, grid_code=grid_code, password_hash=password_hash)


# ---------------------------------------------------------------- appeals

@dataclass
class _Routing:
    unit: str
    matter: str | None
    kind: str


class _Replay:
    """Drives one sample appeal through the workflow at historical times."""

    def __init__(self, session: Session, territory: Territory, now: datetime) -> None:
        self.session, self.now = session, now
        self.rng = random.Random(SEED)
        self.matters = list(directory.list_matters(session))
        self.matter_by_code = {m.code: m for m in self.matters}
        self.grids = territory.grids
        self.town_of_grid = {g.code: g.town_code for g in territory.grids}
        # Urban subdistricts get more appeals, as in any district.
        self.grid_weights = [3.0 if g.town_code in ("tanshan", "wulin") else 1.0 for g in self.grids]
        users = {u.username: u for u in session.scalars(select(User))}
        self.actors = {name: actor_for(user) for name, user in users.items()}
        self.unit_paths = {u.code: (u.id, u.path) for u in session.scalars(select(Unit))}

    def diligence(self, unit_code: str) -> float:
        """How well a demo unit works, 0 (struggling) to 1 (exemplary), fixed per unit: without
        differences between units the assessment's ranking and its red and black lists say nothing."""
        return random.Random(f"{SEED}:{unit_code}").random()

    def unit_actor(self, unit_code: str) -> Actor:
        """A handler acting for the unit; named accounts where they exist, else the unit's desk."""
        for name in (unit_code, f"{unit_code}lead"):
            actor = self.actors.get(name)
            if actor and actor.unit_id == self.unit_paths[unit_code][0]:
                return actor
        unit_id, path = self.unit_paths[unit_code]
        return Actor(id=None, username=f"desk:{unit_code}", name=f"{unit_code} 承办席", role=Role.unit_handler,
                     unit_id=unit_id, unit_path=path)

    def route(self, sample: SampleAppeal, grid_code: str) -> _Routing:
        text = sample.title + " " + sample.content
        hit = duty_list.suggest_matter(text, self.matters)
        if hit is not None:
            matter = self.matter_by_code[hit[0]]
            unit = (self.town_of_grid[grid_code] if matter.territorial_rule == "territorial"
                    else matter.responsible_unit.code)
            return _Routing(unit, matter.code, matter.appeal_kind)
        unit = directory_data.MATTER_FOR_CATEGORY.get(sample.category_l1 or "", "")
        return _Routing(unit if unit in self.unit_paths else self.town_of_grid[grid_code], None, "livelihood")

    def duplicate(self, draft: appeals.AppealDraft, master: str, after: datetime) -> None:
        """A second citizen reports the same matter; the dispatcher merges it into the first."""
        at = min(after + timedelta(hours=self.rng.uniform(1, 20)), self.now - timedelta(minutes=1))
        copy = appeals.AppealDraft(**{**draft.__dict__, "external_ref": f"{draft.external_ref}:dup",
                                      "received_at": at, "citizen_name": self.rng.choice(SURNAMES) + "女士",
                                      "citizen_phone": f"13{self.rng.randrange(10**9):09d}"})
        with clock.frozen_at(at):
            number = appeals.create_appeal(self.session, self.actors["intake"], copy).number
        self.act(at + timedelta(minutes=20), self.actors["intake"], number, action="accept")
        self.act(at + timedelta(minutes=40), self.actors["dispatcher"], number, action="merge", into=master)

    def pressure(self, t: datetime, handler: Actor, number: str) -> datetime:
        """Some appeals in hand get a reminder, formal supervision or an extension, as in life."""
        roll = self.rng.random()
        later = t + timedelta(hours=self.rng.uniform(2, 30))
        if roll < 0.12:
            self.act(later, self.actors["dispatcher"], number, action="remind", comment="请抓紧办理并及时反馈")
        elif roll < 0.18:
            self.act(later, self.actors["supervisor"], number, action="supervise",
                     reason="群众多次反映，列入督办事项，请限期办结")
        elif roll < 0.26:
            self.act(later, handler, number, action="request_extension", working_days=self.rng.choice([3, 5, 10]),
                     reason="需协调相关单位现场会商，申请延期办理")
            if self.rng.random() < 0.7:
                later += timedelta(hours=self.rng.uniform(1, 6))
                self.act(later, self.actors["dispatcher"], number, action="approve_extension")
        else:
            return t
        return later

    def received_time(self, days_ago_max: int) -> datetime:
        day = self.now - timedelta(days=self.rng.uniform(0, days_ago_max))
        local = clock.local(day).replace(hour=self.rng.choice([8, 9, 9, 10, 10, 11, 14, 15, 15, 16, 17, 19, 21]),
                                         minute=self.rng.randrange(60), second=self.rng.randrange(60))
        return min(local, self.now - timedelta(minutes=5))

    def act(self, at: datetime, actor: Actor, number: str, **payload: Any) -> None:
        with clock.frozen_at(min(at, self.now)):
            appeals.perform_action(self.session, actor, number, payload)

    def replay(self, sample: SampleAppeal, target: str, received: datetime) -> None:
        grid = self.rng.choices(self.grids, weights=self.grid_weights)[0]
        lat, lon = random_point_in(grid.geometry, self.rng)
        routing = self.route(sample, grid.code)
        anonymous = self.rng.random() < 0.08
        draft = appeals.AppealDraft(
            title=sample.title[:200], content=sample.content, channel=self.rng.choice(
                ["hotline"] * 6 + ["web", "wechat", "wechat", "app", "grid_patrol", "letter", "visit"]),
            appeal_type=sample.appeal_type, appeal_kind=routing.kind, lat=lat, lon=lon,
            address=f"{grid.name}附近", is_anonymous=anonymous,
            citizen_name="" if anonymous else self.rng.choice(SURNAMES) + self.rng.choice(["先生", "女士"]),
            citizen_phone="" if anonymous else f"1{self.rng.choice('3578')}{self.rng.randrange(10**9):09d}",
            received_at=received, external_ref=f"demo:{sample.source}:{sample.source_id}",
            category=sample.category_l1)
        with clock.frozen_at(received):
            intake = appeals.create_appeal(self.session, self.actors["intake"], draft)
        if not intake.created:
            return
        number = intake.number
        t = received
        step = lambda hours: t + timedelta(hours=self.rng.uniform(0.05, hours))  # noqa: E731
        if target == "received":
            return
        t = step(2)
        if target == "rejected":
            self.act(t, self.actors["intake"], number, action="reject",
                     reason="反映事项已通过司法途径处理，不属于受理范围")
            return
        self.act(t, self.actors["intake"], number, action="accept")
        if target == "accepted":
            return
        t = step(1)
        self.act(t, self.actors["dispatcher"], number, action="triage", in_scope=True,
                 **({"matter": routing.matter} if routing.matter else {}))
        if target == "triaged":
            return
        t = step(1)
        self.act(t, self.actors["dispatcher"], number, action="dispatch", unit=routing.unit)
        if target == "dispatched":
            return
        handler = self.unit_actor(routing.unit)
        if target == "returned":
            matter = self.matter_by_code.get(routing.matter or "")
            if matter is None:
                self.act(step(3), handler, number, action="return", reason="经核实该事项不属于本单位职责范围")
                return
            target = "acknowledged"  # a unit cannot return a matter on its own duty list
        diligence = self.diligence(routing.unit)
        t = step(1.8 + 6 * (1 - diligence) ** 2)
        self.act(t, handler, number, action="acknowledge")
        t = self.pressure(t, handler, number)
        if target == "acknowledged":
            if self.rng.random() < 0.1:
                self.duplicate(draft, number, t)
            return
        t = step(24 * self.rng.choice([1, 2, 3, 4, 6, 8] if diligence > 0.4 else [2, 4, 6, 8, 10, 14]))
        reply = sample.reply or "经核查，已按规定处理，感谢您对我区工作的监督与支持。"
        if len(reply) < 10:  # some published replies are a bare "已办理"
            reply = f"您反映的问题已转相关部门办理，答复如下：{reply}"
        self.act(t, handler, number, action="resolve", reply=reply)
        if target == "resolved":
            return
        roll = self.rng.random()
        satisfied, fairly = 0.66 + 0.28 * diligence, 0.90 + 0.08 * diligence
        satisfaction = "satisfied" if roll < satisfied else "fairly_satisfied" if roll < fairly else "dissatisfied"
        t = step(48)
        self.act(t, self.actors["intake"], number, action="follow_up", solved=satisfaction != "dissatisfied",
                 satisfaction=satisfaction)
        if satisfaction == "dissatisfied" and target == "archived":
            # 重办: the centre sends it back; the unit handles it again and the citizen is asked again.
            t = step(24)
            self.act(t, self.actors["supervisor"], number, action="reopen", reason="市民反映问题仍未解决，重新交办")
            t = step(2)
            self.act(t, handler, number, action="acknowledge")
            t = step(72)
            self.act(t, handler, number, action="resolve", reply="经再次现场核查并整改到位：" + reply)
            t = step(48)
            self.act(t, self.actors["intake"], number, action="follow_up", solved=True,
                     satisfaction="fairly_satisfied")
        if target == "followed_up":
            return
        self.act(step(72), self.actors["supervisor"], number, action="archive")


def _plan(samples: list[SampleAppeal], rng: random.Random, now: datetime) -> list[tuple[SampleAppeal, str, int]]:
    """Which sample becomes which state, and how far back it arrived (days)."""
    with_reply = [s for s in samples if s.reply]
    without = [s for s in samples if not s.reply]
    plan: list[tuple[SampleAppeal, str, int]] = []
    for s in with_reply:
        roll = rng.random()
        target, back = (("archived", 365) if roll < 0.80 else ("followed_up", 60) if roll < 0.90
                        else ("resolved", 10))
        plan.append((s, target, back))
    open_targets = ["received"] * 2 + ["accepted"] * 2 + ["triaged"] + ["dispatched"] * 4 + \
        ["acknowledged"] * 6 + ["returned", "rejected"]
    for s in without:
        target = rng.choice(open_targets)
        plan.append((s, target, 25 if target in ("dispatched", "acknowledged") else 6))
    rng.shuffle(plan)
    return plan


def _load_appeals(session: Session, territory: Territory, console: Console | None, limit: int,
                  now: datetime) -> int:
    replay = _Replay(session, territory, now)
    samples = list(read_sample())
    rng = random.Random(SEED + 1)
    rng.shuffle(samples)
    plan = _plan(samples[:limit], rng, now)
    # Oldest first, so numbers and sequences grow with time as they would have.
    timed = sorted(((replay.received_time(back), sample, target) for sample, target, back in plan),
                   key=lambda item: item[0])
    loaded = 0
    batch = 50  # one commit per batch; each service call inside is its own savepoint
    with Progress(console=console or Console(stderr=True), transient=False) as progress:
        task = progress.add_task("载入演示诉求 / loading demo appeals", total=len(timed))
        for start in range(0, len(timed), batch):
            with transaction(session):
                for received, sample, target in timed[start:start + batch]:
                    try:
                        replay.replay(sample, target, received)
                        loaded += 1
                    except SudiError as exc:  # one odd record must not stop the demo; say which
                        progress.console.print(f"跳过 {sample.source}:{sample.source_id}: {exc.message_zh}")
                    progress.advance(task)
    with clock.frozen_at(now):
        appeals.mark_overdue(session)
    return loaded
