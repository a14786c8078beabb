"""A labelled archive for the smart dispatch tests: three kinds of matter, each with its own words,
category, appeal type and lead unit (the sanitation matter goes to the town where it happened)."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sudi.appeals import service as appeals
from sudi.appeals.models import Appeal, Category
from sudi.directory.models import Unit
from tests.factories import IN_G001, IN_G002, World

FILLER = ["希望", "尽快", "处理", "解决", "反映", "问题", "我们", "严重", "影响", "生活", "多次", "请求", "关注"]
MATTERS: dict[str, dict[str, Any]] = {
    "property": {"words": ["物业", "电梯", "漏水", "业主", "开发商", "维修基金", "房屋", "楼道"],
                 "category": "城乡建设/房地产管理/物业管理", "type": "complaint", "unit": "zjj"},
    "building": {"words": ["违建", "私搭乱建", "违章搭建", "占道经营", "摊贩", "楼顶加盖", "圈占", "拆除"],
                 "category": "城乡建设/城市建设和市政管理/城管执法", "type": "report", "unit": "cgj"},
    "sanitation": {"words": ["垃圾", "保洁", "清运", "背街小巷", "卫生", "堆放", "臭味", "垃圾桶"],
                   "category": "环境保护/环境污染/噪音污染", "type": "help", "unit": "@town"},
}


def text_for(rng: random.Random, matter: str) -> tuple[str, str]:
    words = MATTERS[matter]["words"]
    picked = rng.sample(words, 3)
    filler = rng.sample(FILLER, 4)
    body = [*picked, *filler]
    rng.shuffle(body)
    return f"{picked[0]}{picked[1]}问题", "，".join(body) + "。"


def build_archive(world: World, per_matter: int = 25, seed: int = 7) -> dict[str, list[str]]:
    """Archived appeals with their final category, type and lead unit, written through intake and then
    closed directly (training reads only the final columns; the workflow itself is tested elsewhere)."""
    session: Session = world.session
    rng = random.Random(seed)
    units = {u.code: u.id for u in session.scalars(select(Unit))}
    categories = {c.full_name: c.id for c in session.scalars(select(Category))}
    numbers: dict[str, list[str]] = {m: [] for m in MATTERS}
    for i in range(per_matter):
        for matter, spec in MATTERS.items():
            title, content = text_for(rng, matter)
            point = IN_G001 if i % 2 == 0 else IN_G002
            intake = appeals.create_appeal(session, world.actor("intake"), appeals.AppealDraft(
                title=title, content=content, citizen_name="李四", citizen_phone=f"139{rng.randrange(10**8):08d}",
                lat=point[0], lon=point[1]))
            unit = spec["unit"] if spec["unit"] != "@town" else ("tanshan" if point == IN_G001 else "wulin")
            session.execute(update(Appeal).where(Appeal.number == intake.number).values(
                state="archived", lead_unit_id=units[unit], category_id=categories[spec["category"]],
                appeal_type=spec["type"]))
            session.commit()
            numbers[matter].append(intake.number)
    return numbers


def new_appeal(world: World, matter: str, *, state: str = "accepted", seed: int = 99,
               point: tuple[float, float] | None = IN_G001, phone: str = "13700000001") -> Appeal:
    title, content = text_for(random.Random(seed), matter)
    return world.appeal(state, title=title, content=content, point=point, citizen_phone=phone)
