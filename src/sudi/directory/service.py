"""Writes and lookups for units, grids, users, credentials and the duty list.

Every write is a verb-named function that owns its transaction and writes the audit row.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shapely.geometry import shape
from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from sudi.core import auth, clock
from sudi.core.db import transaction
from sudi.core.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound, TooManyRequests
from sudi.core.models import AuditEntry, get_setting, put_setting, record_audit
from sudi.directory import geo
from sudi.directory.geo import GRID_VERSION_KEY
from sudi.directory.models import ApiKey, ApiToken, Grid, Matter, Role, Unit, UnitKind, User

CENTRE_ROLES = frozenset({Role.admin, Role.dispatcher, Role.supervisor, Role.leader, Role.intake_agent})
UNIT_ROLES = frozenset({Role.unit_handler, Role.unit_leader})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a staff user, a citizen (by number + query code), a channel or the system."""

    id: int | None
    username: str
    name: str
    role: str
    unit_id: int | None = None
    unit_path: str | None = None
    grid_id: int | None = None

    @property
    def is_staff(self) -> bool:
        return self.id is not None and self.role in set(Role)


SYSTEM = Actor(id=None, username="system", name="系统", role="system")
CITIZEN = Actor(id=None, username="citizen", name="市民", role="citizen")


def actor_for(user: User) -> Actor:
    return Actor(id=user.id, username=user.username, name=user.full_name, role=user.role,
                 unit_id=user.unit_id, unit_path=user.unit.path if user.unit else None,
                 grid_id=user.grid_id)


def channel_actor(name: str) -> Actor:
    return Actor(id=None, username=f"channel:{name}", name=name, role="channel")


# ---------------------------------------------------------------- units

def get_unit_by_code(session: Session, code: str) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None or not unit.is_active:
        raise NotFound(f"没有编码为 {code} 的单位", f"no unit with code {code!r}", field="unit")
    return unit


def subtree_unit_ids(session: Session, unit: Unit) -> list[int]:
    return list(session.scalars(select(Unit.id).where(Unit.path.startswith(unit.path))))


_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _check_code(code: str, what: str) -> None:
    if not _CODE_RE.match(code):
        raise InvalidInput(f"{what}编码只能包含字母、数字、下划线、点和横线", f"invalid {what} code {code!r}",
                           field="code")


def create_unit(session: Session, actor: Actor, *, code: str, name: str, kind: str,
                parent_code: str | None = None, short_name: str = "", phone: str = "",
                sort_order: int = 0) -> Unit:
    _check_code(code, "单位")
    if kind not in set(UnitKind):
        raise InvalidInput(f"未知的单位类型 {kind}", f"unknown unit kind {kind!r}", field="kind")
    if not name.strip():
        raise InvalidInput("单位名称不能为空", "unit name is required", field="name")
    with transaction(session):
        if session.scalar(select(Unit.id).where(Unit.code == code)) is not None:
            raise Conflict(f"单位编码 {code} 已存在", f"unit code {code!r} exists", field="code")
        parent = get_unit_by_code(session, parent_code) if parent_code else None
        unit = Unit(code=code, name=name.strip(), short_name=short_name or name.strip(), kind=kind,
                    parent_id=parent.id if parent else None, phone=phone, sort_order=sort_order)
        session.add(unit)
        session.flush()
        unit.path = f"{parent.path if parent else '/'}{unit.id}/"
        record_audit(session, actor_id=actor.id, actor_name=actor.username, action="create_unit",
                     object_type="unit", object_id=code, name=name, kind=kind, parent=parent_code)
    return unit


def update_unit(session: Session, actor: Actor, code: str, **changes: Any) -> Unit:
    allowed = {"name", "short_name", "phone", "is_active", "sort_order"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput("不能修改这些字段: " + ", ".join(sorted(unknown)),
                           f"cannot change {sorted(unknown)}")
    with transaction(session):
        unit = session.scalar(select(Unit).where(Unit.code == code))
        if unit is None:
            raise NotFound(f"没有编码为 {code} 的单位", f"no unit with code {code!r}")
        before = {k: getattr(unit, k) for k in changes}
        for key, value in changes.items():
            setattr(unit, key, value)
        geo.forget_place_names()
        record_audit(session, actor_id=actor.id, actor_name=actor.username, action="update_unit",
                     object_type="unit", object_id=code, before=before, after=changes)
    return unit


def list_units(session: Session, *, include_inactive: bool = False) -> Sequence[Unit]:
    query = select(Unit).order_by(Unit.path, Unit.sort_order)
    if not include_inactive:
        query = query.where(Unit.is_active.is_(True))
    return session.scalars(query).all()


# ---------------------------------------------------------------- grids

def import_grids(session: Session, actor: Actor, features: Iterable[dict[str, Any]]) -> int:
    """Create or update grids from GeoJSON features carrying ``code``, ``name``, ``town``
    (unit code) and optionally ``community`` (unit code) in their properties."""
    prepared = []
    for n, feature in enumerate(features, start=1):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            raise InvalidInput(f"第 {n} 个要素不是带 properties 的 GeoJSON Feature",
                               f"feature {n}: not a GeoJSON Feature with properties")
        code, name, town = (props.get(k) for k in ("code", "name", "town"))
        community = props.get("community")
        if not all(isinstance(v, str) and v.strip() for v in (code, name, town)) or \
                not (community is None or isinstance(community, str)):
            raise InvalidInput(f"第 {n} 个网格缺少 code、name 或 town 属性（须为文字）",
                               f"feature {n}: properties code, name and town must be non-empty strings")
        _check_code(str(code), "网格")
        try:
            geom = shape(feature["geometry"])
            valid = geom.geom_type in ("Polygon", "MultiPolygon") and geom.is_valid and not geom.is_empty
        except Exception as exc:  # shapely raises many kinds of error on malformed coordinates
            raise InvalidInput(f"第 {n} 个网格的几何图形无效", f"feature {n}: bad geometry ({exc})") from exc
        if not valid:
            raise InvalidInput(f"第 {n} 个网格须为有效的多边形", f"feature {n}: must be a valid polygon")
        prepared.append((str(code), str(name), str(town), community, feature["geometry"], geom))
    with transaction(session):
        for code, name, town_code, community_code, geometry, geom in prepared:
            town = get_unit_by_code(session, town_code)
            community = get_unit_by_code(session, community_code) if community_code else None
            centre = geom.representative_point()
            grid = session.scalar(select(Grid).where(Grid.code == code))
            if grid is None:
                grid = Grid(code=code)
                session.add(grid)
            grid.name, grid.town_unit_id = name, town.id
            grid.community_unit_id = community.id if community else None
            grid.geometry, grid.centre_lat, grid.centre_lon = geometry, centre.y, centre.x
            grid.is_active = True
        put_setting(session, GRID_VERSION_KEY, int(get_setting(session, GRID_VERSION_KEY, 0)) + 1)
        record_audit(session, actor_id=actor.id, actor_name=actor.username, action="import_grids",
                     object_type="grid", object_id="*", count=len(prepared))
    return len(prepared)


def get_grid_by_code(session: Session, code: str) -> Grid:
    grid = session.scalar(select(Grid).where(Grid.code == code))
    if grid is None:
        raise NotFound(f"没有编码为 {code} 的网格", f"no grid with code {code!r}", field="grid")
    return grid


# ---------------------------------------------------------------- users and credentials

_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")


def create_user(session: Session, actor: Actor, *, username: str, full_name: str, password: str,
                role: str, unit_code: str | None = None, grid_code: str | None = None,
                phone: str = "", password_hash: str | None = None) -> User:
    """``password_hash`` lets a bulk loader hash one shared demo password once instead of per user."""
    if not _USERNAME_RE.match(username):
        raise InvalidInput("用户名须为 2–64 位小写字母、数字、点、横线或下划线",
                           "username: 2-64 lowercase letters, digits, . _ -", field="username")
    if role not in set(Role):
        raise InvalidInput(f"未知的角色 {role}", f"unknown role {role!r}", field="role")
    if len(password) < 8:
        raise InvalidInput("密码至少 8 位", "password must have at least 8 characters", field="password")
    if role in UNIT_ROLES and not unit_code:
        raise InvalidInput("承办人和单位负责人必须属于一个单位", "unit staff need a unit", field="unit")
    if role == Role.grid_worker and not grid_code:
        raise InvalidInput("网格员必须分配网格", "a grid worker needs a grid", field="grid")
    password_hash = password_hash or auth.hash_password(password)
    with transaction(session):
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise Conflict(f"用户名 {username} 已存在", f"username {username!r} exists", field="username")
        unit = get_unit_by_code(session, unit_code) if unit_code else None
        grid = get_grid_by_code(session, grid_code) if grid_code else None
        if grid is not None and unit is None:
            unit = session.get(Unit, grid.community_unit_id or grid.town_unit_id)
        user = User(username=username, full_name=full_name.strip() or username, password_hash=password_hash,
                    role=role, unit_id=unit.id if unit else None, grid_id=grid.id if grid else None,
                    phone=phone, created_at=clock.now())
        session.add(user)
        session.flush()
        record_audit(session, actor_id=actor.id, actor_name=actor.username, action="create_user",
                     object_type="user", object_id=username, role=role, unit=unit_code, grid=grid_code)
    return user


def set_user_password(session: Session, actor: Actor, username: str, password: str) -> None:
    if len(password) < 8:
        raise InvalidInput("密码至少 8 位", "password must have at least 8 characters", field="password")
    with transaction(session):
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"没有用户 {username}", f"no user {username!r}")
        user.password_hash = auth.hash_password(password)
        session.query(ApiToken).filter(ApiToken.user_id == user.id).delete()
        forget_cached_actors()
        record_audit(session, actor_id=actor.id, actor_name=actor.username, action="set_password",
                     object_type="user", object_id=username)


def update_user(session: Session, actor: Actor, username: str, *, role: str | None = None,
                unit_code: str | None = None, is_active: bool | None = None,
                full_name: str | None = None) -> User:
    with transaction(session):
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"没有用户 {username}", f"no user {username!r}")
        forget_cached_actors()
        if actor.id == user.id and (is_active is False or (role and role != user.role)):
            raise Forbidden("不能停用自己或修改自己的角色", "you cannot disable yourself or change your own role")
        changes: dict[str, Any] = {}
        if role is not None:
            if role not in set(Role):
                raise InvalidInput(f"未知的角色 {role}", f"unknown role {role!r}", field="role")
            changes["role"] = user.role = role
        if unit_code is not None:
            user.unit_id = get_unit_by_code(session, unit_code).id
            changes["unit"] = unit_code
        if is_active is not None:
            changes["is_active"] = user.is_active = is_active
            if not is_active:
                session.query(ApiToken).filter(ApiToken.user_id == user.id).delete()
        if full_name is not None:
            changes["full_name"] = user.full_name = full_name
        record_audit(session, actor_id=actor.id, actor_name=actor.username, action="update_user",
                     object_type="user", object_id=username, **changes)
    return user


class _LoginThrottle:
    """Slows password guessing per user name within one process."""

    def __init__(self, window_s: int = 300, limit: int = 10) -> None:
        self.window_s, self.limit = window_s, limit
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def check(self, username: str) -> None:
        with self._lock:
            recent = [t for t in self._failures.get(username, []) if time.monotonic() - t < self.window_s]
            self._failures[username] = recent
            if len(recent) >= self.limit:
                raise TooManyRequests("登录失败次数过多，请 5 分钟后再试",
                                      "too many failed log-ins; try again in 5 minutes")

    def fail(self, username: str) -> None:
        with self._lock:
            self._failures.setdefault(username, []).append(time.monotonic())

    def succeed(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username, None)


login_throttle = _LoginThrottle()


def authenticate(session: Session, username: str, password: str) -> User:
    login_throttle.check(username)
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active or not auth.verify_password(password, user.password_hash):
        login_throttle.fail(username)
        raise NotAuthenticated("用户名或密码错误", "wrong username or password")
    login_throttle.succeed(username)
    return user


def issue_token(session: Session, username: str, password: str, *, lifetime_hours: int = 12) -> tuple[str, User]:
    user = authenticate(session, username, password)
    token = auth.new_token()
    with transaction(session):
        now = clock.now()
        session.query(ApiToken).filter(ApiToken.user_id == user.id, ApiToken.expires_at < now).delete()
        session.add(ApiToken(token_digest=auth.digest(token), user_id=user.id, created_at=now,
                             expires_at=now + timedelta(hours=lifetime_hours)))
        record_audit(session, actor_id=user.id, actor_name=user.username, action="log_in",
                     object_type="user", object_id=user.username)
    return token, user


def revoke_token(session: Session, token: str) -> None:
    forget_cached_actors()
    with transaction(session):
        session.query(ApiToken).filter(ApiToken.token_digest == auth.digest(token)).delete()


def user_for_token(session: Session, token: str) -> User:
    row = session.scalar(select(ApiToken).where(ApiToken.token_digest == auth.digest(token))
                         .options(joinedload(ApiToken.user).joinedload(User.unit)))
    if row is None or row.expires_at < clock.now() or not row.user.is_active:
        raise NotAuthenticated("登录已失效，请重新登录", "invalid or expired token")
    return row.user


_TOKEN_ACTOR = (
    select(User.id, User.username, User.full_name, User.role, User.unit_id, Unit.path, User.grid_id,
           User.is_active, ApiToken.expires_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .outerjoin(Unit, Unit.id == User.unit_id)
    .where(ApiToken.token_digest == bindparam("digest"))
)


# Every API call starts by finding its actor; a client sends the same token many times a second.
# Like cached settings, an entry lives a few seconds: a change made in this process (log-out, a
# user switched off, a new role or password) empties the cache at once, one made by another
# process is seen within the TTL.
ACTOR_CACHE_TTL_S = 5.0
_actor_cache: dict[tuple[str, str], tuple[float, datetime, Actor]] = {}


def forget_cached_actors() -> None:
    _actor_cache.clear()


def actor_for_token(session: Session, token: str) -> Actor:
    """The actor behind a bearer token (one row, or the cache)."""
    digest = auth.digest(token)
    key = (str(session.get_bind().engine.url), digest)
    hit = _actor_cache.get(key)
    if hit is not None and hit[0] > time.monotonic() and hit[1] > clock.now():
        return hit[2]
    row = session.execute(_TOKEN_ACTOR, {"digest": digest}).one_or_none()
    if row is None or row.expires_at < clock.now() or not row.is_active:
        _actor_cache.pop(key, None)
        raise NotAuthenticated("登录已失效，请重新登录", "invalid or expired token")
    actor = Actor(id=row.id, username=row.username, name=row.full_name, role=row.role, unit_id=row.unit_id,
                  unit_path=row.path, grid_id=row.grid_id)
    _actor_cache[key] = (time.monotonic() + ACTOR_CACHE_TTL_S, row.expires_at, actor)
    return actor


def create_api_key(session: Session, actor: Actor, *, name: str, channel: str = "app",
                   key: str | None = None) -> str:
    key = key or auth.new_token()
    with transaction(session):
        digest = auth.digest(key)
        if session.scalar(select(ApiKey.id).where(ApiKey.key_digest == digest)) is None:
            session.add(ApiKey(key_digest=digest, name=name, channel=channel, created_at=clock.now()))
        record_audit(session, actor_id=actor.id, actor_name=actor.username, action="create_api_key",
                     object_type="api_key", object_id=name, channel=channel)
    return key


def list_api_keys(session: Session) -> Sequence[ApiKey]:
    return session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())).all()


def revoke_api_key(session: Session, actor: Actor, key_id: int) -> ApiKey:
    """Switch a machine client's key off for good (its digest stays, so the key cannot come back)."""
    with transaction(session):
        row = session.get(ApiKey, key_id)
        if row is None:
            raise NotFound("没有这个 API 密钥", f"no api key {key_id}")
        if not row.is_active:
            raise Conflict("该密钥已停用", "the key is already revoked")
        row.is_active = False
        record_audit(session, actor_id=actor.id, actor_name=actor.username, action="revoke_api_key",
                     object_type="api_key", object_id=row.name, key_id=row.id, channel=row.channel)
    return row


def api_key_for(session: Session, key: str | None) -> ApiKey:
    row = session.scalar(select(ApiKey).where(ApiKey.key_digest == auth.digest(key or "")))
    if not key or row is None or not row.is_active:
        raise Forbidden("API 密钥无效", "invalid api_key", field="api_key")
    return row


def find_users(session: Session, *, role: str | None = None, unit_id: int | None = None,
               search: str | None = None, limit: int = 200) -> Sequence[User]:
    query = (select(User).order_by(User.username).limit(limit)
             .options(selectinload(User.unit), selectinload(User.grid)))  # every user list shows both
    if role:
        query = query.where(User.role == role)
    if unit_id:
        query = query.where(User.unit_id == unit_id)
    if search:
        like = f"%{search}%"
        query = query.where(or_(User.username.like(like), User.full_name.like(like)))
    return session.scalars(query).all()


# ---------------------------------------------------------------- duty list (权责清单)

def upsert_matter(session: Session, actor: Actor, *, code: str, name: str, responsible_unit: str,
                  assisting_units: Sequence[str] = (), territorial_rule: str = "functional",
                  legal_basis: str = "", keywords: Sequence[str] = (), appeal_kind: str = "livelihood",
                  is_active: bool = True) -> Matter:
    _check_code(code, "事项")
    if territorial_rule not in ("functional", "territorial"):
        raise InvalidInput("属地规则须为 functional（职能部门）或 territorial（属地镇街）",
                           "territorial_rule must be functional or territorial", field="territorial_rule")
    if appeal_kind not in ("livelihood", "enforcement", "development"):
        raise InvalidInput("诉求类别须为 民生/执法/发展", "appeal_kind must be livelihood, enforcement or development",
                           field="appeal_kind")
    if not name.strip():
        raise InvalidInput("事项名称不能为空", "matter name is required", field="name")
    with transaction(session):
        unit = get_unit_by_code(session, responsible_unit)
        helpers = [get_unit_by_code(session, c) for c in assisting_units if c and c != responsible_unit]
        matter = session.scalar(select(Matter).where(Matter.code == code))
        created = matter is None
        if matter is None:
            matter = Matter(code=code)
            session.add(matter)
        matter.name, matter.responsible_unit_id = name.strip(), unit.id
        matter.territorial_rule, matter.legal_basis = territorial_rule, legal_basis.strip()
        matter.keywords, matter.appeal_kind, matter.is_active = list(keywords), appeal_kind, is_active
        matter.assisting_units = helpers
        record_audit(session, actor_id=actor.id, actor_name=actor.username,
                     action="create_matter" if created else "update_matter", object_type="matter",
                     object_id=code, responsible_unit=responsible_unit,
                     assisting_units=[u.code for u in helpers], territorial_rule=territorial_rule)
    return matter


def get_matter_by_code(session: Session, code: str) -> Matter:
    matter = session.scalar(select(Matter).where(Matter.code == code))
    if matter is None:
        raise NotFound(f"权责清单中没有事项 {code}", f"no matter {code!r} in the duty list", field="matter")
    return matter


def list_matters(session: Session, *, unit_id: int | None = None, active_only: bool = True) -> Sequence[Matter]:
    # Every list of matters shows their units: load them with the matters, not one by one.
    query = (select(Matter).order_by(Matter.code)
             .options(selectinload(Matter.responsible_unit), selectinload(Matter.assisting_units)))
    if unit_id is not None:
        query = query.where(Matter.responsible_unit_id == unit_id)
    if active_only:
        query = query.where(Matter.is_active.is_(True))
    return session.scalars(query).all()


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count(User.id))) or 0)


# ---------------------------------------------------------------- audit trail (read only)

def list_audit_entries(session: Session, *, object_type: str | None = None, page: int = 1,
                       page_size: int = 50) -> tuple[Sequence[AuditEntry], int]:
    """The latest audit entries, newest first, one page of them, and how many there are in all."""
    query = select(AuditEntry)
    count = select(func.count(AuditEntry.id))
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
        count = count.where(AuditEntry.object_type == object_type)
    page = max(1, page)
    rows = session.scalars(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                           .offset((page - 1) * page_size).limit(page_size)).all()
    return rows, int(session.scalar(count) or 0)


def audit_object_types(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEntry.object_type).distinct().order_by(AuditEntry.object_type)))
