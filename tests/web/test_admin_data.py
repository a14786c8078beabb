"""Duty list (with Excel export/import), grids (list, map data, GeoJSON upload) and the audit log."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from sudi.appeals.service import set_holiday
from sudi.core.models import AuditEntry
from sudi.directory.models import Grid, Matter
from tests.factories import World
from tests.web.admin_helpers import as_admin, audit_count, field_error
from tests.web.helpers import post_form

MATTER = {"existing": "0", "code": "M-LDGZ", "name": "路灯故障维修", "responsible_unit": "zjj",
          "assisting_units": "cgj", "territorial_rule": "functional", "appeal_kind": "livelihood",
          "legal_basis": "《城市照明管理规定》第二十条", "keywords": "路灯，照明", "is_active": "on"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _matters(world: World) -> dict[str, tuple[Any, ...]]:
    world.session.rollback()
    world.session.expire_all()
    return {m.code: (m.name, m.responsible_unit.code, sorted(u.code for u in m.assisting_units), m.is_active)
            for m in world.session.scalars(select(Matter))}


def test_list_search_and_unit_filter(client: TestClient, world: World) -> None:
    as_admin(client, world)
    page = client.get("/staff/admin/matters").text
    assert "违法建设查处" in page and "物业服务监管" in page
    page = client.get("/staff/admin/matters", params={"q": "物业"}).text
    assert "物业服务监管" in page and "违法建设查处" not in page
    page = client.get("/staff/admin/matters", params={"unit": "cgj"}).text
    assert "违法建设查处" in page and "物业服务监管" not in page


def test_create_and_edit_a_matter(client: TestClient, world: World) -> None:
    as_admin(client, world)
    assert client.get("/staff/admin/matters/new").status_code == 200
    response = post_form(client, "/staff/admin/matters", MATTER)
    assert response.status_code == 303
    assert _matters(world)["M-LDGZ"] == ("路灯故障维修", "zjj", ["cgj"], True)
    assert audit_count(world.session, "create_matter") >= 1
    edit = client.get("/staff/admin/matters/M-LDGZ").text
    assert 'value="路灯故障维修"' in edit
    response = post_form(client, "/staff/admin/matters", MATTER | {"existing": "1", "responsible_unit": "cgj",
                                                                   "assisting_units": "", "is_active": ""})
    assert response.status_code == 303
    assert _matters(world)["M-LDGZ"] == ("路灯故障维修", "cgj", [], False)
    assert audit_count(world.session, "update_matter") >= 1


def test_bad_matters_are_refused_next_to_the_field(client: TestClient, world: World) -> None:
    as_admin(client, world)
    before = _matters(world)
    for change, field, message in [({"code": "M-WFJS"}, "code", "事项编码 M-WFJS 已存在"),
                                   ({"code": "坏 编码"}, "code", "事项编码只能包含"),
                                   ({"name": ""}, "name", "请填写事项名称"),
                                   ({"responsible_unit": "nowhere"}, "responsible_unit", "没有编码为 nowhere 的单位"),
                                   ({"assisting_units": "zjj、ghost"}, "assisting_units", "没有编码为 ghost 的单位"),
                                   ({"territorial_rule": "x"}, "territorial_rule", "属地规则须为")]:
        response = post_form(client, "/staff/admin/matters", MATTER | change)
        assert response.status_code == 422, change
        assert message in field_error(response.text, field), (change, response.text[-2000:])
    assert _matters(world) == before


def test_excel_export_then_import_with_a_problem_report(client: TestClient, world: World) -> None:
    as_admin(client, world)
    export = client.get("/staff/admin/matters/export.xlsx")
    assert export.status_code == 200 and export.headers["content-type"] == XLSX
    wb = load_workbook(io.BytesIO(export.content))
    ws = wb["权责清单"]
    assert ws.max_row == 4
    ws.append(["M-NEW", "新增事项", "民生", "zjj", "", "", "职能", "", "新增", "是"])
    ws.append(["M-BAD", "坏事项", "民生", "nowhere", "", "", "职能", "", "", "是"])
    buf = io.BytesIO()
    wb.save(buf)
    audits = audit_count(world.session, "create_matter")
    response = post_form(client, "/staff/admin/matters/import", {},
                         files={"file": ("权责清单.xlsx", buf.getvalue(), XLSX)})
    assert response.status_code == 200, response.text[-2000:]
    assert "新增 1 条" in response.text and "未变 3 条" in response.text and "1 行未导入" in response.text
    assert "第 6 行" in response.text and "nowhere" in response.text
    matters = _matters(world)
    assert "M-NEW" in matters and "M-BAD" not in matters
    assert audit_count(world.session, "create_matter") == audits + 1


def test_a_file_that_is_not_excel_changes_nothing(client: TestClient, world: World) -> None:
    as_admin(client, world)
    before = _matters(world)
    response = post_form(client, "/staff/admin/matters/import", {},
                         files={"file": ("清单.xlsx", b"this is not a workbook", XLSX)})
    assert response.status_code == 422
    assert "无法读取该文件，请上传 .xlsx 格式的 Excel 文件" in field_error(response.text, "file")
    response = post_form(client, "/staff/admin/matters/import", {},
                         files={"file": ("清单.csv", b"a,b", "text/csv")})
    assert response.status_code == 422 and "文件类型不对" in field_error(response.text, "file")
    response = post_form(client, "/staff/admin/matters/import", {})
    assert response.status_code == 422 and field_error(response.text, "file") == "请选择要上传的文件"
    assert _matters(world) == before


def _square(lat: float, lon: float, half: float = 0.01) -> dict[str, Any]:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
            [lon - half, lat + half], [lon - half, lat - half]]
    return {"type": "Polygon", "coordinates": [ring]}


def _upload_grids(client: TestClient, body: Any, name: str = "grids.geojson") -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return post_form(client, "/staff/admin/grids/import", {}, files={"file": (name, data, "application/geo+json")})


def _grid_count(world: World) -> int:
    world.session.rollback()
    world.session.expire_all()
    return int(world.session.scalar(select(func.count(Grid.id))) or 0)


def test_the_grid_list_and_map_data(client: TestClient, world: World) -> None:
    as_admin(client, world)
    page = client.get("/staff/admin/grids").text
    assert "坛山街道第001网格" in page and "青檀社区" in page and "/staff/admin/users/grid1" in page
    assert 'data-geojson="/staff/admin/grids.geojson"' in page and "leaflet.js" in page
    data = client.get("/staff/admin/grids.geojson").json()
    assert data["type"] == "FeatureCollection"
    assert {f["properties"]["code"] for f in data["features"]} == {"G001", "G002"}
    assert data["features"][0]["geometry"]["type"] == "Polygon"


def test_upload_grids(client: TestClient, world: World) -> None:
    as_admin(client, world)
    body = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": _square(34.74, 117.62),
         "properties": {"code": "G003", "name": "坛山街道第002网格", "town": "tanshan", "community": "tanshan-c01"}}]}
    response = _upload_grids(client, body)
    assert response.status_code == 303
    assert _grid_count(world) == 3
    assert audit_count(world.session, "import_grids") >= 1
    assert "已导入 1 个网格" in client.get(response.headers["location"]).text


def test_invalid_geojson_is_refused_and_changes_nothing(client: TestClient, world: World) -> None:
    as_admin(client, world)
    audits = audit_count(world.session, "import_grids")
    good = {"type": "Feature", "geometry": _square(34.74, 117.62),
            "properties": {"code": "G003", "name": "新网格", "town": "tanshan"}}
    cases = [(b"{not json", "JSON 格式错误"),
             ({"type": "Feature"}, "须为 GeoJSON FeatureCollection"),
             ({"type": "FeatureCollection", "features": []}, "没有网格要素"),
             ({"type": "FeatureCollection", "features": [good, {**good, "properties": {"code": "G004"}}]},
              "第 2 个网格缺少 code、name 或 town 属性"),
             ({"type": "FeatureCollection", "features": [{**good, "geometry": {"type": "Point",
                                                                              "coordinates": [117.6, 34.7]}}]},
              "第 1 个网格须为有效的多边形"),
             ({"type": "FeatureCollection", "features": [{**good, "properties": {**good["properties"],
                                                                                "town": "atlantis"}}]},
              "没有编码为 atlantis 的单位")]
    for body, message in cases:
        response = _upload_grids(client, body)
        assert response.status_code == 422, body
        assert message in field_error(response.text, "file"), (body, field_error(response.text, "file"))
    assert _upload_grids(client, b"{}", name="grids.kml").status_code == 422
    assert _grid_count(world) == 2
    assert audit_count(world.session, "import_grids") == audits


def test_the_audit_log_pages_and_filters(client: TestClient, world: World) -> None:
    as_admin(client, world)
    for n in range(3):
        post_form(client, "/staff/admin/holidays", {"day": f"2027-05-0{n + 1}", "is_workday": "holiday",
                                                   "name": "劳动节"})
    page = client.get("/staff/admin/audit").text
    assert "set_holiday" in page and "create_unit" in page
    page = client.get("/staff/admin/audit", params={"type": "holiday"}).text
    assert "set_holiday" in page and "create_unit" not in page and "共 3 条" in page
    for n in range(1, 29):
        set_holiday(world.session, world.actor("admin"), date(2027, 8, n), is_workday=False, name="测试")
    world.session.rollback()
    world.session.expire_all()
    total = world.session.scalar(select(func.count(AuditEntry.id)))
    assert total and total > 50
    first = client.get("/staff/admin/audit").text
    assert "下一页" in first and f"共 {total} 条，第 1 / " in first
    second = client.get("/staff/admin/audit", params={"page": 2}).text
    assert "第 2 / " in second and "上一页" in second
