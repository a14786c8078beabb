"""Spreadsheet import of historical appeals and XLSX export of the filtered list."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from sudi.appeals import excel, service
from sudi.appeals.models import Appeal, AppealEvent
from sudi.core import clock
from sudi.core.errors import InvalidInput
from tests.conftest import BACKEND
from tests.factories import World

HEADER = ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情", "答复意见", "答复时间"]
REPLY = "网友您好，经核查，已安排维修人员更换路灯，现已恢复照明。感谢您的监督。"
ROWS = [
    ["1001", "A00001", "青檀小区路灯不亮", "2019/2/28 11:25:05", "青檀小区3号楼前路灯坏了一个月，晚上很黑。",
     REPLY, "2019/3/5 9:10:00"],
    ["1002", "A00002", "", "2019-02-28 12:00:00",
     "某工地夜间施工噪音扰民，凌晨两点还在打桩，严重影响附近居民休息，请有关部门查处。", "", ""],
    ["1003", "A00003", "文化路路面破损", "2019-03-01", "文化路与光明路交叉口路面坑洼，雨天积水。", "", ""],
]
FUJIAN4 = Path("/work/shared/data/tipdm2020c/fujian4_replies.csv")
SHANGHAI = clock.DISTRICT_TZ


def write_csv(path: Path, rows: list[list[Any]], *, encoding: str = "utf-8",
              header: list[str] = HEADER) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def imported(session: Session) -> dict[str, Appeal]:
    """Imported appeals by their source id (the 留言编号 column)."""
    session.expire_all()
    found = session.scalars(select(Appeal).where(Appeal.channel == "import")).all()
    return {a.external_ref.rsplit(":", 1)[1]: a for a in found if a.external_ref}


def events(session: Session, appeal: Appeal) -> list[AppealEvent]:
    return list(service.events_of(session, appeal))


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=SHANGHAI)


# ================================================================ import

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_each_encoding_imports_every_row(session: Session, world: World, tmp_path: Path,
                                                encoding: str) -> None:
    path = write_csv(tmp_path / "replies.csv", ROWS, encoding=encoding)
    detected = excel.decode_csv_bytes(path.read_bytes())[1]
    assert detected == ("gb18030" if encoding == "gb18030" else "utf-8-sig")

    report = excel.import_file(session, path)

    assert (report.imported, report.skipped, report.problems) == (3, 0, [])
    assert report.encoding == detected
    appeals = imported(session)
    assert appeals["1001"].title == "青檀小区路灯不亮"
    assert appeals["1001"].citizen_name == "A00001"
    assert appeals["1001"].external_ref == "import:replies:1001"
    # No title: the first 30 characters of the content stand in.
    assert appeals["1002"].title == ROWS[1][4][:30]
    assert appeals["1002"].content == ROWS[1][4]
    states = {n: a.state for n, a in appeals.items()}
    assert states == {"1001": "archived", "1002": "accepted", "1003": "accepted"}
    assert appeals["1003"].received_at == local(2019, 3, 1)


def test_other_encodings_fall_back_to_detection(session: Session, world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "utf16.csv", ROWS, encoding="utf-16")
    assert excel.decode_csv_bytes(path.read_bytes())[1].replace("-", "_").startswith("utf_16")
    assert excel.import_file(session, path).imported == 3
    assert imported(session)["1001"].title == "青檀小区路灯不亮"


def test_replied_row_is_archived_with_reply_and_a_trail_at_historical_times(
        session: Session, world: World, tmp_path: Path) -> None:
    excel.import_file(session, write_csv(tmp_path / "replies.csv", ROWS))
    appeal = imported(session)["1001"]

    assert appeal.state == "archived"
    assert appeal.reply == REPLY
    assert appeal.number.startswith("YC20190228-")
    assert appeal.lead_unit is not None and appeal.lead_unit.code == "centre"  # no unit column
    received, replied = local(2019, 2, 28, 11, 25, 5), local(2019, 3, 5, 9, 10)
    assert (appeal.received_at, appeal.accepted_at, appeal.dispatched_at) == (received, received, received)
    assert (appeal.acknowledged_at, appeal.resolved_at, appeal.archived_at) == (replied, replied, replied)
    trail = [(e.action, e.to_state, e.at) for e in events(session, appeal)]
    assert trail == [("create", "received", received), ("accept", "accepted", received),
                     ("dispatch", "dispatched", received), ("acknowledge", "acknowledged", replied),
                     ("resolve", "resolved", replied), ("archive", "archived", replied)]
    every = events(session, appeal)
    assert {e.actor_name for e in every} == {excel.IMPORT_NAME}
    assert all(e.actor_id is None for e in every)
    assert every[-1].comment == "历史导入"
    assert every[0].data["import"] == {"file": "replies.csv", "row": 2, "id": "1001"}
    # Finished history must not be flagged overdue by the periodic job.
    service.mark_overdue(session)
    session.refresh(appeal)
    assert appeal.is_overdue is False


def test_unreplied_row_stays_accepted_with_its_received_time(session: Session, world: World,
                                                             tmp_path: Path) -> None:
    excel.import_file(session, write_csv(tmp_path / "replies.csv", ROWS))
    appeal = imported(session)["1002"]
    assert appeal.state == "accepted"
    assert [(e.action, e.at) for e in events(session, appeal)] == [
        ("create", local(2019, 2, 28, 12)), ("accept", local(2019, 2, 28, 12))]


def test_xlsx_with_date_cells_units_types_categories_and_a_blank_row(session: Session, world: World,
                                                                     tmp_path: Path) -> None:
    wb = Workbook()
    wb.active.title = "说明"
    wb.active.append(["这一页不是数据"])
    ws = wb.create_sheet("留言")
    ws.append(["信件编号", "来信人", "联系电话", "信件标题", "来信时间", "信件内容", "类型", "一级分类",
               "承办单位", "处理结果", "处理时间"])
    # Excel date cells carry no zone: naive on purpose.
    ws.append([501, "李四", 13912345678, "物业不作为", datetime(2020, 5, 6, 8, 30),  # noqa: DTZ001
               "小区物业长期不清运垃圾。", "投诉", "城乡建设", "区住房和城乡建设局", REPLY,
               datetime(2020, 5, 9, 16, 0)])  # noqa: DTZ001
    ws.append([None] * 11)
    ws.append([503, "王五", None, "夜市占道", "2020/5/7 19:00", "夜市摊贩占用人行道。", "举报",
               "不存在的分类", "某某管理处", REPLY, "2020-05-08 10:00:00"])
    path = tmp_path / "letters.xlsx"
    wb.save(path)

    report = excel.import_file(session, path, sheet="留言")

    assert (report.imported, report.problems) == (2, [])
    appeals = imported(session)
    first, second = appeals["501"], appeals["503"]
    assert first.citizen_phone == "13912345678"
    assert first.appeal_type == "complaint" and second.appeal_type == "report"
    assert first.category is not None and first.category.full_name == "城乡建设"
    assert first.received_at == local(2020, 5, 6, 8, 30)
    assert first.lead_unit is not None and first.lead_unit.code == "zjj"
    assert first.resolved_at == local(2020, 5, 9, 16)
    assert first.state == second.state == "archived"
    # Unknown unit and category: handled by the centre, and the file's words kept on the trail.
    assert second.lead_unit is not None and second.lead_unit.code == "centre"
    assert events(session, second)[0].data["import"] == {"file": "letters.xlsx", "row": 4, "id": "503",
                                                         "unit": "某某管理处", "category": "不存在的分类"}
    with pytest.raises(InvalidInput, match="no sheet"):
        excel.import_file(session, path, sheet="Sheet9")


def test_unit_matched_by_code_too(session: Session, world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "u.csv",
                     [["7", "标题一", "2019/1/2 3:04:05", "内容一", REPLY, "2019/1/3", "cgj"]],
                     header=["编号", "标题", "留言时间", "内容", "答复意见", "答复时间", "答复部门"])
    excel.import_file(session, path)
    appeal = imported(session)["7"]
    assert appeal.lead_unit is not None and appeal.lead_unit.code == "cgj"
    assert appeal.state == "archived"


def test_bad_rows_are_reported_by_row_number_and_the_others_import(
        session: Session, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(excel, "ROWS_PER_COMMIT", 3)  # bad rows on both sides of a commit
    header = [*HEADER, "类型"]
    rows = [
        ["1", "u", "好的第一行", "2019/2/28 11:25:05", "内容", REPLY, "2019/3/1 10:00:00", ""],
        ["2", "u", "日期错误", "2019/13/45 10:00", "内容", "", "", ""],
        ["3", "u", "", "2019/2/28", "", "", "", ""],
        ["4", "u", "类型错误", "2019/2/28", "内容", "", "", "骚扰"],
        ["5", "u", "长" * 201, "2019/2/28", "内容", "", "", ""],
        ["6", "u", "答复早于留言", "2019/2/28", "内容", REPLY, "2019/2/1", ""],
        ["7", "u", "明天的留言", "2999/1/1", "内容", "", "", ""],
        ["8", "u", "好的最后一行", "2019/3/1 8:00", "内容", "", "", "咨询"],
    ]
    report = excel.import_file(session, write_csv(tmp_path / "mixed.csv", rows, header=header))

    assert report.imported == 2
    problems = {p.row: p.message for p in report.problems}
    assert sorted(problems) == [3, 4, 5, 6, 7, 8]
    assert "留言时间无法识别" in problems[3] and "2019/13/45" in problems[3]
    assert "标题和内容均为空" in problems[4]
    assert "诉求类型无效" in problems[5] and "骚扰" in problems[5]
    assert "标题不能超过 200 字" in problems[6]
    assert "答复时间早于留言时间" in problems[7]
    assert "受理时间不能晚于当前时间" in problems[8]
    appeals = imported(session)
    assert set(appeals) == {"1", "8"}
    assert appeals["1"].state == "archived" and appeals["8"].appeal_type == "consultation"


def test_a_step_refused_after_intake_leaves_no_half_imported_appeal(session: Session, world: World,
                                                                    tmp_path: Path) -> None:
    from sqlalchemy import delete

    from sudi.appeals.models import TimeLimitPolicy

    session.execute(delete(TimeLimitPolicy))  # dispatch now has no deadline policy and refuses
    session.commit()
    report = excel.import_file(session, write_csv(tmp_path / "replies.csv", ROWS))

    assert report.imported == 2
    assert [p.row for p in report.problems] == [2]
    assert "dispatch" in report.problems[0].message and "没有适用的办理时限" in report.problems[0].message
    assert set(imported(session)) == {"1002", "1003"}  # row 2's appeal was undone with its steps


def test_reimporting_the_same_file_skips_every_row(session: Session, world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "replies.csv", ROWS)
    excel.import_file(session, path)
    again = excel.import_file(session, path)
    assert (again.imported, again.skipped, again.problems) == (0, 3, [])
    assert len(imported(session)) == 3


def test_without_an_id_column_rows_are_matched_by_content(session: Session, world: World,
                                                          tmp_path: Path) -> None:
    rows = [[r[2], r[3], r[4]] for r in ROWS]
    path = write_csv(tmp_path / "noid.csv", rows, header=["标题", "留言时间", "内容"])
    first = excel.import_file(session, path)
    second = excel.import_file(session, path)
    assert (first.imported, second.imported, second.skipped) == (3, 0, 3)


def test_header_without_title_or_content_is_refused_listing_the_columns(session: Session, world: World,
                                                                        tmp_path: Path) -> None:
    path = write_csv(tmp_path / "wrong.csv", [["1", "x"]], header=["编号", "备注"])
    with pytest.raises(InvalidInput) as caught:
        excel.import_file(session, path)
    assert "编号、备注" in caught.value.message_zh and "编号、备注" in caught.value.message_en
    assert "留言主题" in caught.value.message_zh
    assert imported(session) == {}


def test_short_reply_is_kept_on_the_trail_and_the_appeal_stays_accepted(session: Session, world: World,
                                                                        tmp_path: Path) -> None:
    rows = [["9", "u", "已收悉的留言", "2019/2/28 11:25:05", "内容", "已收悉", "2019/3/1 10:00:00"]]
    report = excel.import_file(session, write_csv(tmp_path / "short.csv", rows))
    assert report.imported == 1 and report.problems == []
    assert [n.row for n in report.notes] == [2]
    appeal = imported(session)["9"]
    assert appeal.state == "accepted" and appeal.reply is None
    assert events(session, appeal)[0].data["import"]["reply"] == "已收悉"


@pytest.mark.parametrize(("text", "expected"), [
    ("2019/2/28 11:25:05", (2019, 2, 28, 11, 25, 5)),
    ("2019-02-28 11:25:05", (2019, 2, 28, 11, 25, 5)),
    ("2019-02-28", (2019, 2, 28)),
    ("2019/2/8 9:05", (2019, 2, 8, 9, 5)),
    ("2019年2月28日 11:25", (2019, 2, 28, 11, 25)),
    ("2019-02-28T11:25:05", (2019, 2, 28, 11, 25, 5)),
])
def test_parse_time_reads_district_time(text: str, expected: tuple[int, ...]) -> None:
    assert excel.parse_time(text) == local(*expected)


def test_parse_time_keeps_an_explicit_zone_and_refuses_nonsense() -> None:
    assert excel.parse_time("2019-02-28T03:25:05+00:00") == local(2019, 2, 28, 11, 25, 5)
    assert excel.parse_time(datetime(2019, 2, 28, 11, 25, 5)) == local(2019, 2, 28, 11, 25, 5)  # noqa: DTZ001
    assert excel.parse_time(43524.0, excel=True) == local(2019, 2, 28)
    for bad in ("2019/2/30", "昨天", "2019-02-28 25:00"):
        with pytest.raises(ValueError):
            excel.parse_time(bad)


def test_progress_is_drawn_on_the_given_console(session: Session, world: World, tmp_path: Path) -> None:
    out = io.StringIO()
    rows = [*ROWS, ["9", "u", "已收悉的留言", "2019/2/28 11:25:05", "内容", "已收悉", "2019/3/1 10:00:00"]]
    excel.import_file(session, write_csv(tmp_path / "p.csv", rows), console=Console(file=out, width=100))
    text = out.getvalue()
    assert "4/4" in text and "第 5 行" in text


@pytest.mark.skipif(not FUJIAN4.exists(), reason="shared TipDM data not present")
def test_first_200_rows_of_the_tipdm_replies_file(session: Session, world: World, tmp_path: Path) -> None:
    lines = FUJIAN4.read_bytes().decode("utf-8-sig")
    records = list(csv.reader(io.StringIO(lines, newline="")))[:201]
    path = tmp_path / "fujian4_replies.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(records)

    report = excel.import_file(session, path)

    assert report.problems == []
    assert report.imported == 200
    appeals = imported(session)
    assert sum(a.state == "archived" for a in appeals.values()) + len(report.notes) == 200
    first = appeals[records[1][0]]
    assert first.title == records[1][2].strip()
    assert first.reply is not None and first.reply.startswith(records[1][5].strip()[:20])


# ================================================================ export

EXPORT_URL = "/api/v1/appeals/export.xlsx"


def _open(content: bytes) -> Any:
    return load_workbook(io.BytesIO(content))


def _rows(content: bytes) -> list[dict[str, Any]]:
    ws = _open(content)["诉求列表"]
    values = list(ws.iter_rows(values_only=True))
    assert list(values[0]) == list(excel.EXPORT_HEADERS)
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def test_dispatcher_exports_everything_with_full_phones_and_local_datetimes(client: Any,
                                                                            world: World) -> None:
    dispatched = world.appeal("dispatched", unit="zjj", content="路灯坏了，请回电 13900001111。")
    world.appeal("received")
    world.appeal("resolved", unit="cgj")

    response = client.get(EXPORT_URL, headers=world.headers("dispatcher"))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in response.headers["content-disposition"]
    rows = {r["编号"]: r for r in _rows(response.content)}
    assert len(rows) == 3
    row = rows[dispatched.number]
    assert (row["状态"], row["渠道"], row["类型"]) == ("待签收", "12345热线", "投诉")
    assert row["主办单位"] == "区住房和城乡建设局"
    assert row["联系电话"] == "13812345678" and "13900001111" in row["内容"]
    assert row["网格"] == "坛山街道第001网格" and row["镇街"] == "坛山街道"
    # District wall-clock time in a naive cell (Excel keeps about a millisecond of it).
    wall_clock = clock.local(dispatched.received_at).replace(tzinfo=None)
    assert abs(row["受理时间"] - wall_clock).total_seconds() < 0.01
    assert isinstance(row["办结期限"], datetime)
    assert (row["超期"], row["督办"]) == ("否", "否")

    ws = _open(response.content)["诉求列表"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:Z4"
    assert ws.column_dimensions["H"].width == 60
    assert "yy" in ws["Q2"].number_format
    assert _open(response.content)["说明"]["B3"].value == 3


def test_unit_handler_gets_only_their_appeals(client: Any, world: World) -> None:
    mine = world.appeal("acknowledged", unit="zjj")
    world.appeal("dispatched", unit="cgj")
    world.appeal("received")
    rows = _rows(client.get(EXPORT_URL, headers=world.headers("zjj")).content)
    assert [r["编号"] for r in rows] == [mine.number]
    assert rows[0]["联系电话"] == "13812345678"  # the lead unit calls the citizen back


def test_leader_sees_masked_phones_in_the_column_and_in_the_text(client: Any, world: World) -> None:
    world.appeal("dispatched", content="噪音扰民，联系 13900001111 。")
    rows = _rows(client.get(EXPORT_URL, headers=world.headers("leader")).content)
    assert rows[0]["联系电话"] == "138****5678"
    assert "13900001111" not in rows[0]["内容"] and "139****1111" in rows[0]["内容"]


def test_export_applies_the_list_filter(client: Any, world: World) -> None:
    world.appeal("received")
    dispatched = world.appeal("dispatched")
    response = client.get(EXPORT_URL, params={"state": "dispatched"}, headers=world.headers("dispatcher"))
    rows = _rows(response.content)
    assert [r["编号"] for r in rows] == [dispatched.number]


def test_formula_like_text_is_stored_as_plain_text(client: Any, world: World) -> None:
    world.appeal("received", title='=HYPERLINK("http://evil.example","点我")', content="+1+cmd|' /C calc'!A0",
                 citizen_name="@SUM(A1)", address="-2+3")
    response = client.get(EXPORT_URL, headers=world.headers("dispatcher"))

    ws = _open(response.content)["诉求列表"]
    header = [c.value for c in ws[1]]
    cells = {name: ws.cell(row=2, column=header.index(name) + 1)
             for name in ("标题", "内容", "联系人", "地址")}
    assert cells["标题"].value == '=HYPERLINK("http://evil.example","点我")'
    assert cells["内容"].value == "+1+cmd|' /C calc'!A0"
    assert cells["联系人"].value == "@SUM(A1)" and cells["地址"].value == "-2+3"
    for cell in cells.values():
        assert cell.data_type == "s" and cell.quotePrefix
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml


def test_export_stops_at_the_cap_and_says_so(session: Session, world: World,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(3):
        world.appeal("received")
    monkeypatch.setattr(excel, "MAX_EXPORT_ROWS", 2)
    monkeypatch.setattr(excel, "EXPORT_BATCH", 1)
    workbook = _open(excel.export_xlsx(session, world.actor("dispatcher"), service.AppealFilter()))
    assert workbook["诉求列表"].max_row == 3
    assert "仅导出前 2 行" in workbook["说明"]["B4"].value


def test_exported_file_imports_nowhere_near_a_formula_even_with_control_characters(
        session: Session, world: World) -> None:
    world.appeal("received", content="含控制字符\x07的内容")
    workbook = _open(excel.export_xlsx(session, world.actor("dispatcher"), service.AppealFilter()))
    assert workbook["诉求列表"]["H2"].value == "含控制字符的内容"


def test_export_does_not_query_per_row(session: Session, world: World) -> None:
    from sqlalchemy import event

    handler = world.actor("zjj")

    def statements_for_export() -> int:
        session.expunge_all()  # nothing cached from building the appeals: what a fresh request sees
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", listener)
        try:
            excel.export_xlsx(session, handler, service.AppealFilter())
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return sum(1 for sql in seen if sql.lstrip().upper().startswith("SELECT"))

    world.appeal("dispatched", assisting_units=["cgj"])
    few = statements_for_export()
    for point in ((34.77, 117.59), (34.70, 117.66), None):
        world.appeal("dispatched", assisting_units=["cgj"], point=point)
        world.appeal("resolved", assisting_units=["cgj", "tanshan"], point=point)
    assert statements_for_export() == few


def test_a_search_the_database_refuses_makes_no_workbook(client: Any, world: World,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # PostgreSQL refuses a NUL byte in the search (SQLite takes it). The export must fail before it
    # makes a workbook: a write-only sheet left open is finalised later against a closed file.
    world.appeal("received")
    made: list[Workbook] = []
    real = excel.Workbook

    def workbook(**options: Any) -> Workbook:
        made.append(real(**options))
        return made[-1]

    monkeypatch.setattr(excel, "Workbook", workbook)
    response = client.get(EXPORT_URL, params={"q": "a\x00b"}, headers=world.headers("dispatcher"))
    if BACKEND == "postgresql":
        assert response.status_code == 422 and made == []
    else:
        assert response.status_code == 200 and len(made) == 1
