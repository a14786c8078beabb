"""Factories: a small district built through the services, and appeals driven to any state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from sudi.appeals import service as appeals
from sudi.appeals.models import Appeal
from sudi.core import auth, clock
from sudi.core.db import transaction
from sudi.directory import service as directory
from sudi.directory.models import ApiToken, User
from sudi.directory.service import SYSTEM, Actor, actor_for

PASSWORD = "sudi-demo"
API_KEY = "sudi-demo-key"
TAXONOMY = [["城乡建设", "城市建设和市政管理", "城管执法"], ["城乡建设", "房地产管理", "物业管理"],
            ["环境保护", "环境污染", "噪音污染"], ["交通运输", "道路交通", "道路维修"]]


@cache
def _password_hash() -> str:
    return auth.hash_password(PASSWORD)


def _square(lat: float, lon: float, half: float = 0.01) -> dict[str, Any]:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
            [lon - half, lat + half], [lon - half, lat - half]]
    return {"type": "Polygon", "coordinates": [ring]}


# Points inside the two test grids.
IN_G001 = (34.77, 117.59)
IN_G002 = (34.70, 117.66)

USERS = [  # username, role, unit, grid
    ("admin", "admin", "district", None), ("intake", "intake_agent", "centre", None),
    ("dispatcher", "dispatcher", "centre", None), ("supervisor", "supervisor", "centre", None),
    ("leader", "leader", "district", None), ("mediator", "mediator", "sfj", None),
    ("zjj", "unit_handler", "zjj", None), ("zjjlead", "unit_leader", "zjj", None),
    ("cgj", "unit_handler", "cgj", None), ("tanshan", "unit_handler", "tanshan", None),
    ("community", "unit_handler", "tanshan-c01", None),
    ("grid1", "grid_worker", None, "G001"), ("grid2", "grid_worker", None, "G002"),
]


@dataclass
class World:
    session: Session
    users: dict[str, User] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)

    def actor(self, username: str) -> Actor:
        return actor_for(self.users[username])

    def headers(self, username: str) -> dict[str, str]:
        """A bearer token, written directly: scrypt per test would dominate the suite's time."""
        if username not in self._tokens:
            token = auth.new_token()
            now = clock.now()
            # transaction() ends the session's read snapshot first: a page may have written since.
            with transaction(self.session):
                self.session.add(ApiToken(token_digest=auth.digest(token), user_id=self.users[username].id,
                                          created_at=now, expires_at=now + timedelta(hours=1)))
            self._tokens[username] = token
        return {"Authorization": f"Bearer {self._tokens[username]}"}

    def appeal(self, state: str = "received", **overrides: Any) -> Appeal:
        return make_appeal(self, state, **overrides)


def build_world(session: Session) -> World:
    """One commit for the whole world: each service call inside is a savepoint."""
    with transaction(session):
        world = _build_world(session)
    session.expire_all()
    return world


def _build_world(session: Session) -> World:
    appeals.seed_defaults(session, TAXONOMY)
    units = [("district", "区人民政府", "district", None), ("centre", "区诉求办理中心", "centre", "district"),
             ("zjj", "区住房和城乡建设局", "department", "district"),
             ("cgj", "区综合行政执法局", "department", "district"), ("sfj", "区司法局", "department", "district"),
             ("tanshan", "坛山街道", "subdistrict", "district"),
             ("tanshan-c01", "青檀社区", "community", "tanshan"),
             ("wulin", "吴林街道", "subdistrict", "district"), ("wulin-c01", "金寺社区", "community", "wulin")]
    for code, name, kind, parent in units:
        directory.create_unit(session, SYSTEM, code=code, name=name, kind=kind, parent_code=parent)
    directory.import_grids(session, SYSTEM, [
        {"type": "Feature", "geometry": _square(*IN_G001),
         "properties": {"code": "G001", "name": "坛山街道第001网格", "town": "tanshan", "community": "tanshan-c01"}},
        {"type": "Feature", "geometry": _square(*IN_G002),
         "properties": {"code": "G002", "name": "吴林街道第001网格", "town": "wulin", "community": "wulin-c01"}},
    ])
    world = World(session)
    for username, role, unit, grid in USERS:
        world.users[username] = directory.create_user(
            session, SYSTEM, username=username, full_name=username, password=PASSWORD, role=role,
            unit_code=unit, grid_code=grid, password_hash=_password_hash())
    directory.upsert_matter(session, SYSTEM, code="M-WFJS", name="违法建设查处", responsible_unit="cgj",
                            assisting_units=["zjj"], legal_basis="《中华人民共和国城乡规划法》第六十四条",
                            appeal_kind="enforcement", keywords=["违建", "私搭乱建"])
    directory.upsert_matter(session, SYSTEM, code="M-WYGL", name="物业服务监管", responsible_unit="zjj",
                            legal_basis="《物业管理条例》第五条", keywords=["物业"])
    directory.upsert_matter(session, SYSTEM, code="M-HJWS", name="背街小巷环境卫生", responsible_unit="cgj",
                            territorial_rule="territorial", legal_basis="《城市市容和环境卫生管理条例》第四条",
                            keywords=["垃圾", "卫生"])
    directory.create_api_key(session, SYSTEM, name="测试渠道", channel="app", key=API_KEY)
    return world


_PATH = ["received", "accepted", "dispatched", "acknowledged", "resolved", "followed_up", "archived"]


def make_appeal(world: World, state: str = "received", *, unit: str = "zjj",
                assisting_units: list[str] | None = None, point: tuple[float, float] | None = IN_G001,
                satisfaction: str = "satisfied", solved: bool = True, **fields: Any) -> Appeal:
    """Create an appeal through the services and walk it to ``state`` along the normal path."""
    session = world.session
    draft = appeals.AppealDraft(
        title=fields.pop("title", "小区路灯不亮"),
        content=fields.pop("content", "青檀小区3号楼前路灯坏了一个月，晚上很黑。"),
        citizen_name=fields.pop("citizen_name", "张三"), citizen_phone=fields.pop("citizen_phone", "13812345678"),
        lat=point[0] if point else None, lon=point[1] if point else None, **fields)
    number = appeals.create_appeal(session, world.actor("intake"), draft).appeal.number
    act = lambda who, **payload: appeals.perform_action(session, world.actor(who), number, payload)  # noqa: E731
    handler = {"zjj": "zjj", "cgj": "cgj", "tanshan": "tanshan"}[unit]
    special = {"rejected": ["received"], "returned": ["received", "accepted", "dispatched"],
               "triaged": ["received", "accepted"], "merged": ["received"]}
    steps = special.get(state) or _PATH[: _PATH.index(state) + 1]
    for current in steps[1:]:
        if current == "accepted":
            act("dispatcher", action="accept")
        elif current == "dispatched":
            act("dispatcher", action="dispatch", unit=unit, assisting_units=assisting_units or [])
        elif current == "acknowledged":
            act(handler, action="acknowledge")
        elif current == "resolved":
            act(handler, action="resolve", reply="经现场核查，已安排维修人员更换路灯，现已恢复照明。",
                without_assistants=True)
        elif current == "followed_up":
            act("intake", action="follow_up", solved=solved, satisfaction=satisfaction)
        elif current == "archived":
            act("supervisor", action="archive")
    if state == "rejected":
        act("intake", action="reject", reason="不属于受理范围")
    elif state == "returned":
        act(handler, action="return", reason="不属于本单位职责")
    elif state == "triaged":
        act("dispatcher", action="triage", in_scope=True)
    elif state == "merged":
        master = make_appeal(world, "accepted", unit=unit, point=point)
        act("dispatcher", action="merge", into=master.number)
    return appeals.get_appeal(session, number)
