"""REST face of the dashboards and the early warnings under /api/v1/analytics (JSON for the
dashboard pages, which fetch these every few seconds)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from sudi.analytics import service
from sudi.analytics.schemas import PolicyUpdate, WarningAction, WarningList, WarningOut, warning_out
from sudi.deps import ActorDep, SessionDep

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

PeriodQ = Annotated[str | None, Query(description="7d、30d、90d、365d、month、year 或 YYYY-MM")]
FromQ = Annotated[str | None, Query(alias="from", description="开始日期 YYYY-MM-DD（含）")]
ToQ = Annotated[str | None, Query(alias="to", description="结束日期 YYYY-MM-DD（含）")]


def _period(period: str | None, date_from: str | None, date_to: str | None) -> service.Period:
    return service.parse_period(period, date_from, date_to)


@router.get("/summary", summary="期间诉求量与实时数字（三率见 /units）/ volumes and live figures (rates: /units)")
def summary(session: SessionDep, actor: ActorDep, period: PeriodQ = None, date_from: FromQ = None,
            date_to: ToQ = None) -> dict[str, Any]:
    service.require_dashboard(actor)
    return service.summary(session, _period(period, date_from, date_to))


@router.get("/trend", summary="按日或按月的诉求量 / volume per day or month")
def trend(session: SessionDep, actor: ActorDep, grain: str = "day", period: PeriodQ = None,
          date_from: FromQ = None, date_to: ToQ = None) -> dict[str, Any]:
    service.require_dashboard(actor)
    return service.trend(session, grain, _period(period or ("30d" if grain == "day" else "365d"), date_from, date_to))


@router.get("/mix/{dimension}", summary="分类、渠道、类别或镇街构成 / mix by a dimension")
def mix(session: SessionDep, actor: ActorDep, dimension: str, period: PeriodQ = None, date_from: FromQ = None,
        date_to: ToQ = None) -> dict[str, Any]:
    service.require_dashboard(actor)
    return service.mix(session, dimension, _period(period, date_from, date_to))


@router.get("/units", summary="各单位三率（考核口径，预先计算）/ the assessment's figures by unit, as of computed_at")
def units(session: SessionDep, actor: ActorDep, period: PeriodQ = None, date_from: FromQ = None,
          date_to: ToQ = None) -> dict[str, Any]:
    service.require_dashboard(actor)
    return service.unit_rates(session, _period(period, date_from, date_to))


@router.get("/grids", summary="各网格诉求量（热力图）/ volume per grid")
def grids(session: SessionDep, actor: ActorDep, period: PeriodQ = None, date_from: FromQ = None,
          date_to: ToQ = None) -> dict[str, Any]:
    service.require_dashboard(actor)
    return service.grid_heat(session, _period(period, date_from, date_to))


@router.get("/grids.geojson", summary="网格边界 / grid outlines")
def grids_geojson(session: SessionDep, actor: ActorDep) -> JSONResponse:
    service.require_dashboard(actor)
    return JSONResponse(service.grids_geojson(session), media_type="application/geo+json",
                        headers={"Cache-Control": "private, max-age=300"})


@router.get("/hotspots", summary="热点：热点问题榜，及增长最快的网格×分类 / top hotspots and growth")
def hotspots(session: SessionDep, actor: ActorDep, top: Annotated[int, Query(ge=1, le=50)] = 10) -> dict[str, Any]:
    service.require_dashboard(actor)
    return {**service.hotspot_panel(session, top=top), "board": service.board_hotspots(session, actor, top=top)}


@router.get("/items/{which}", summary="超期或督办中的诉求，及超期的主动治理任务 / overdue or supervised appeals, "
                                     "and governance tasks past their deadline")
def items(session: SessionDep, actor: ActorDep, which: str,
          limit: Annotated[int, Query(ge=1, le=100)] = 15) -> dict[str, Any]:
    service.require_dashboard(actor)
    return service.open_items(session, which, limit=limit)


@router.get("/live", summary="最新诉求 / the newest appeals")
def live(session: SessionDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=50)] = 12) -> dict[str, Any]:
    service.require_dashboard(actor)
    return service.live_appeals(session, limit=limit)


@router.get("/warnings", response_model=WarningList, summary="预警队列 / the warning queue")
def warnings(session: SessionDep, actor: ActorDep, state: str = "open", kind: str | None = None,
             limit: Annotated[int, Query(ge=1, le=200)] = 50,
             offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> WarningList:
    rows, total = service.list_warnings(session, actor, state=state, kind=kind, limit=limit, offset=offset)
    return WarningList(total=total, items=[warning_out(w) for w in rows])


@router.get("/warnings/{warning_id}", summary="一条预警及其诉求 / one warning and its appeals")
def warning(session: SessionDep, actor: ActorDep,
            warning_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> dict[str, Any]:
    found = service.access_warning(session, actor, warning_id)
    return {"warning": warning_out(found).model_dump(mode="json"),
            "appeals": service.warning_appeals(session, found)}


@router.post("/warnings/{warning_id}/acknowledge", response_model=WarningOut, summary="知悉预警 / acknowledge")
def acknowledge(session: SessionDep, actor: ActorDep, warning_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                body: WarningAction | None = None) -> WarningOut:
    return warning_out(service.acknowledge_warning(session, actor, warning_id, body.note if body else ""))


@router.post("/warnings/{warning_id}/close", response_model=WarningOut, summary="关闭预警 / close with a note")
def close(session: SessionDep, actor: ActorDep, warning_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
          body: WarningAction) -> WarningOut:
    return warning_out(service.close_warning(session, actor, warning_id, body.note))


@router.get("/policy", summary="预警阈值与关键词 / the warning policy")
def policy(session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    service.require_warning_view(actor)
    return service.get_policy(session)


@router.put("/policy", summary="修改预警阈值与关键词（管理员）/ change the warning policy")
def update_policy(session: SessionDep, actor: ActorDep, body: PolicyUpdate) -> dict[str, Any]:
    return service.update_policy(session, actor, body.changes)
