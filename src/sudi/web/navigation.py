"""What a staff user's navigation and landing page hold, decided by role in one place.

Items a role cannot use are absent from its pages, not shown disabled. To add a page to the
staff navigation, add a ``NavItem`` to ``NAV_ITEMS`` with the roles that may use it (and make the
page itself refuse other roles: navigation is convenience, the page and the service are the
guard). To give a role a landing queue, add a ``Queue`` to ``QUEUES``.

Until the workbench has its own list pages, ``interim`` items and queue links point at the REST
API (``/api/v1/...``), which a signed-in browser may call with its session cookie; the templates
mark them "接口数据". Replace ``href``/``list_path`` when the pages exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from sudi.appeals.models import OPEN_STATES, State
from sudi.directory.models import Role
from sudi.directory.service import Actor

ALL_STAFF = frozenset(Role)
# Roles that work on appeals (mediators have their own module, to come).
APPEAL_ROLES = ALL_STAFF - {Role.mediator}
CENTRE = frozenset({Role.admin, Role.intake_agent, Role.dispatcher, Role.supervisor, Role.leader})
UNIT = frozenset({Role.unit_handler, Role.unit_leader})
ADMIN = frozenset({Role.admin})
OVERSIGHT = frozenset({Role.admin, Role.dispatcher, Role.supervisor, Role.leader})


@dataclass(frozen=True, slots=True)
class NavItem:
    key: str
    label: str
    href: str
    roles: frozenset[str]
    group: str = "main"   # "main": the work; "admin": configuration (shown under 系统管理)
    interim: bool = False  # points at the REST API until a page exists


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("home", "工作台", "/staff", ALL_STAFF),
    NavItem("appeals", "诉求列表", "/staff/appeals", APPEAL_ROLES),
    NavItem("intake", "电话受理", "/staff/intake", frozenset({Role.admin, Role.intake_agent, Role.dispatcher})),
    NavItem("patrol", "巡查上报", "/staff/patrol", frozenset({Role.grid_worker})),
    NavItem("overdue", "超期督办", "/staff/appeals?queue=overdue",
            frozenset({Role.admin, Role.dispatcher, Role.supervisor, Role.leader})),
    NavItem("follow_up", "回访", "/staff/appeals?queue=followup",
            frozenset({Role.admin, Role.intake_agent, Role.dispatcher, Role.supervisor})),
    NavItem("dashboard", "数据看板", "/staff/dashboard", OVERSIGHT),
    NavItem("warnings", "预警", "/staff/warnings", OVERSIGHT),
    NavItem("hotspots", "热点问题", "/staff/hotspots", OVERSIGHT),
    NavItem("governance", "主动治理", "/staff/governance", OVERSIGHT | UNIT),
    NavItem("export", "导出 Excel", "/api/v1/appeals/export.xlsx", APPEAL_ROLES),
    NavItem("matters", "权责清单", "/staff/matters", ALL_STAFF),
    NavItem("assessment", "考核排名", "/staff/assessment",
            frozenset({Role.admin, Role.dispatcher, Role.supervisor, Role.leader, Role.unit_leader})),
    NavItem("admin", "管理首页", "/staff/admin", ADMIN, group="admin"),
    NavItem("units", "单位管理", "/staff/admin/units", ADMIN, group="admin"),
    NavItem("grids", "网格管理", "/staff/admin/grids", ADMIN, group="admin"),
    NavItem("users", "用户管理", "/staff/admin/users", ADMIN, group="admin"),
    NavItem("policies", "办理时限", "/staff/admin/policies", ADMIN, group="admin"),
    NavItem("holidays", "节假日表", "/staff/admin/holidays", ADMIN, group="admin"),
    NavItem("categories", "诉求分类", "/staff/admin/categories", ADMIN, group="admin"),
    NavItem("api_keys", "API 密钥", "/staff/admin/api-keys", ADMIN, group="admin"),
    NavItem("duty_list", "权责清单维护", "/staff/admin/matters", ADMIN, group="admin"),
    NavItem("settings", "系统设置", "/staff/admin/settings", ADMIN, group="admin"),
    NavItem("reply_quality", "答复质量评价", "/staff/admin/reply-quality", ADMIN, group="admin"),
    NavItem("models", "智能派单模型", "/staff/admin/models", ADMIN, group="admin"),
    NavItem("warning_settings", "预警设置", "/staff/analytics/settings", ADMIN, group="admin"),
    NavItem("assessment_policy", "考核规则", "/staff/admin/assessment", ADMIN, group="admin"),
    NavItem("hotspot_params", "热点参数", "/staff/admin/hotspots", ADMIN, group="admin"),
    NavItem("audit", "审计日志", "/staff/admin/audit", ADMIN, group="admin"),
    NavItem("api_docs", "接口文档", "/docs", ADMIN, group="admin"),
)


def nav_for(actor: Actor) -> list[NavItem]:
    """The navigation of ``actor``'s role, in display order."""
    return [item for item in NAV_ITEMS if actor.role in item.roles]


def home_for(actor: Actor) -> str:
    """Where a user lands after signing in."""
    return "/staff"


@dataclass(frozen=True, slots=True)
class Queue:
    """One count on a role's landing page: the appeals the user can see matching a filter."""

    key: str
    label: str
    hint: str
    roles: frozenset[str]
    states: Sequence[str] = ()
    overdue: bool | None = None
    supervised: bool | None = None
    tone: str = "normal"  # "normal" | "attention" (shown in the warning colour when not zero)
    list_path: str = "/staff/appeals"
    extra: Mapping[str, str] = field(default_factory=dict)

    def href(self) -> str:
        params: list[tuple[str, str]] = [("state", s) for s in self.states]
        if self.overdue is not None:
            params.append(("overdue", str(self.overdue).lower()))
        if self.supervised is not None:
            params.append(("supervised", str(self.supervised).lower()))
        params.extend(self.extra.items())
        return self.list_path + ("?" + urlencode(params) if params else "")


_OPEN = tuple(s.value for s in OPEN_STATES)
_IN_HAND = (State.dispatched.value, State.acknowledged.value)
_ROUTABLE = (State.accepted.value, State.triaged.value)

QUEUES: tuple[Queue, ...] = (
    Queue("to_accept", "待受理", "新提交、等待受理的诉求", frozenset({Role.admin, Role.intake_agent, Role.dispatcher}),
          states=(State.received.value,), tone="attention"),
    Queue("to_dispatch", "待派单", "已受理或已研判、等待分流派单", frozenset({Role.admin, Role.dispatcher}),
          states=_ROUTABLE, tone="attention"),
    Queue("returned", "退单待审定", "承办单位退回、等待重新派单或审定", frozenset({Role.admin, Role.dispatcher}),
          states=(State.returned.value,), tone="attention"),
    Queue("to_acknowledge", "待签收", "已派至本单位、等待签收", UNIT, states=(State.dispatched.value,),
          tone="attention"),
    Queue("in_hand", "办理中", "已签收、正在办理", UNIT, states=(State.acknowledged.value,)),
    Queue("unit_overdue", "已超期", "超过签收或办结时限", UNIT, states=_IN_HAND, overdue=True, tone="attention"),
    Queue("in_progress", "在办", "已派单、尚未办结", OVERSIGHT, states=_IN_HAND),
    Queue("overdue", "已超期", "在办诉求中超过时限的", OVERSIGHT, states=_IN_HAND, overdue=True, tone="attention"),
    Queue("supervised", "督办中", "列入督办、尚未办结", frozenset({Role.admin, Role.supervisor, Role.leader}),
          states=(*_IN_HAND, State.returned.value), supervised=True),
    Queue("to_follow_up", "待回访", "已办结、等待回访市民", frozenset({Role.admin, Role.intake_agent, Role.supervisor}),
          states=(State.resolved.value,), tone="attention"),
    Queue("to_archive", "待归档", "已回访、可以归档或重办", frozenset({Role.admin, Role.dispatcher, Role.supervisor}),
          states=(State.followed_up.value,)),
    Queue("grid_open", "本网格在办", "本网格内及本人上报、尚未办结", frozenset({Role.grid_worker}), states=_OPEN),
    Queue("grid_done", "本网格已办结", "本网格内及本人上报、已办结", frozenset({Role.grid_worker}),
          states=(State.resolved.value, State.followed_up.value, State.archived.value)),
)


def queues_for(actor: Actor) -> list[Queue]:
    """The landing counts of ``actor``'s role, in display order."""
    return [queue for queue in QUEUES if actor.role in queue.roles]
