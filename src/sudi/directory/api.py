"""REST face of the directory: log-in, units, grids, users, the duty list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from sqlalchemy import select

from sudi.core.errors import Forbidden, InvalidInput
from sudi.deps import ActorDep, SessionDep, bearer_token
from sudi.directory import service
from sudi.directory.geo import locate_point, territory_geojson
from sudi.directory.models import Grid, Role, Unit
from sudi.directory.schemas import (
    MatterIn,
    TokenRequest,
    UnitCreate,
    UserCreate,
    grid_out,
    matter_out,
    unit_out,
    user_out,
)

router = APIRouter(prefix="/api/v1", tags=["directory"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_MATTER_FILE = 10 * 1024 * 1024


def _admin(actor: service.Actor) -> None:
    if actor.role != Role.admin:
        raise Forbidden("只有系统管理员可以执行此操作", "admin only")


@router.post("/auth/token", summary="登录取得令牌 / log in for a bearer token")
def token(body: TokenRequest, session: SessionDep, request: Request) -> dict[str, Any]:
    lifetime = request.app.state.settings.token_lifetime_hours
    value, user = service.issue_token(session, body.username, body.password, lifetime_hours=lifetime)
    return {"access_token": value, "token_type": "bearer", "expires_in": lifetime * 3600, "user": user_out(user)}


@router.post("/auth/logout", status_code=204, summary="注销 / revoke this token")
def logout(request: Request, session: SessionDep, actor: ActorDep) -> None:
    value = bearer_token(request)
    if value:
        service.revoke_token(session, value)


@router.get("/me", summary="当前用户 / who am I")
def me(session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    user = service.find_users(session, search=actor.username, limit=1)
    return user_out(user[0]) if user else {"username": actor.username}


@router.get("/units", summary="单位 / units")
def units(session: SessionDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [unit_out(u) for u in service.list_units(session)]


@router.post("/units", status_code=201, summary="新建单位 / create a unit")
def create_unit(body: UnitCreate, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    _admin(actor)
    unit = service.create_unit(session, actor, code=body.code, name=body.name, kind=body.kind,
                               parent_code=body.parent, short_name=body.short_name, phone=body.phone)
    return unit_out(unit)


@router.get("/users", summary="用户 / users")
def users(session: SessionDep, actor: ActorDep, role: str | None = None, q: str | None = None) -> list[dict[str, Any]]:
    _admin(actor)
    return [user_out(u) for u in service.find_users(session, role=role, search=q)]


@router.post("/users", status_code=201, summary="新建用户 / create a user")
def create_user(body: UserCreate, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    _admin(actor)
    user = service.create_user(session, actor, username=body.username, full_name=body.full_name,
                               password=body.password, role=body.role, unit_code=body.unit,
                               grid_code=body.grid, phone=body.phone)
    return user_out(user)


@router.get("/grids", summary="网格 / grids")
def grids(session: SessionDep, actor: ActorDep, town: str | None = None,
          geometry: bool = False) -> dict[str, Any]:
    query = select(Grid).where(Grid.is_active.is_(True)).order_by(Grid.code)
    if town:
        query = query.where(Grid.town_unit_id == service.get_unit_by_code(session, town).id)
    rows = session.scalars(query).all()
    return {"items": [grid_out(g, geometry=geometry) for g in rows], "total": len(rows)}


@router.post("/grids/import", summary="导入网格 GeoJSON / upload grids as GeoJSON")
def import_grids(session: SessionDep, actor: ActorDep, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    _admin(actor)
    if body.get("type") != "FeatureCollection" or not isinstance(body.get("features"), list):
        raise InvalidInput("须为 GeoJSON FeatureCollection", "body must be a GeoJSON FeatureCollection")
    return {"imported": service.import_grids(session, actor, body["features"])}


@router.get("/locate", summary="坐标定位网格 / place a point in its grid, community and town")
def locate(session: SessionDep, actor: ActorDep, lat: Annotated[float, Query(ge=-90, le=90)],
           lon: Annotated[float, Query(ge=-180, le=180)]) -> dict[str, Any]:
    placement = locate_point(session, lat, lon)
    if placement is None:
        return {"grid": None, "community": None, "town": None}
    grid = session.get(Grid, placement.grid_id)
    assert grid is not None
    community = session.get(Unit, placement.community_unit_id) if placement.community_unit_id else None
    return {"grid": grid.code, "grid_name": grid.name, "town": grid.town.code, "town_name": grid.town.name,
            "community": community.code if community else None,
            "community_name": community.name if community else None}


@router.get("/public/territory", tags=["public"],
            summary="辖区示意图（公开）/ the district and its towns as GeoJSON, drawn from the grids")
def territory(session: SessionDep) -> JSONResponse:
    return JSONResponse(territory_geojson(session), media_type="application/geo+json",
                        headers={"Cache-Control": "public, max-age=300"})


@router.get("/matters", summary="权责清单 / the duty list")
def matters(session: SessionDep, actor: ActorDep, unit: str | None = None) -> list[dict[str, Any]]:
    unit_id = service.get_unit_by_code(session, unit).id if unit else None
    return [matter_out(m) for m in service.list_matters(session, unit_id=unit_id)]


@router.get("/matters/export.xlsx", summary="导出权责清单 / the duty list as Excel")
def export_matters(session: SessionDep, actor: ActorDep) -> Response:
    from sudi.directory.excel import export_matters_xlsx

    return Response(export_matters_xlsx(session), media_type=XLSX,
                    headers={"Content-Disposition": 'attachment; filename="duty-list.xlsx"'})


@router.post("/matters/import", summary="导入权责清单 / create or update matters from Excel")
async def import_matters(request: Request, session: SessionDep, actor: ActorDep,
                         file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    from sudi.directory.excel import import_matters_xlsx

    _admin(actor)
    data = await file.read(MAX_MATTER_FILE + 1)
    if len(data) > MAX_MATTER_FILE:
        raise InvalidInput("文件过大（上限 10 MB）", "file larger than 10 MB", field="file")
    report = import_matters_xlsx(session, actor, data)
    return {"created": report.created, "updated": report.updated, "unchanged": report.unchanged,
            "problems": [{"row": row, "message": message} for row, message in report.problems]}


@router.put("/matters/{code}", summary="新增或修改事项 / create or update a matter")
def put_matter(code: str, body: MatterIn, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    _admin(actor)
    if body.code != code:
        raise InvalidInput("路径与正文中的事项编码不一致", "code in path and body differ", field="code")
    matter = service.upsert_matter(session, actor, **body.model_dump(exclude={"code"}), code=code)
    return matter_out(matter)
