"""`sudi import FILE --db URL`: historical appeals through the command line."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from sudi.appeals.models import Appeal
from sudi.cli import app
from tests.factories import World

HEADER = ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情", "答复意见", "答复时间"]
REPLY = "网友您好，经核查，已安排维修人员更换路灯，现已恢复照明。感谢您的监督。"


def _csv(path: Path, rows: list[list[str]], header: list[str] = HEADER, encoding: str = "gb18030") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    return path


def _imported(session: Session) -> list[Appeal]:
    session.rollback()  # the command wrote through its own connection; read a fresh snapshot
    session.expire_all()
    return list(session.scalars(select(Appeal).where(Appeal.channel == "import").order_by(Appeal.id)))


def test_import_succeeds_and_reports_counts(database_url: str, world: World, session: Session,
                                            tmp_path: Path) -> None:
    path = _csv(tmp_path / "history.csv", [
        ["1", "A1", "路灯不亮", "2019/2/28 11:25:05", "青檀小区路灯坏了。", REPLY, "2019/3/1 9:00:00"],
        ["2", "A2", "噪音扰民", "2019/2/28 12:00:00", "工地夜间施工。", "", ""],
    ])
    result = CliRunner().invoke(app, ["import", str(path), "--db", database_url])

    assert result.exit_code == 0, result.output
    assert "已导入 2 条" in result.output and "imported 2" in result.output
    states = [(a.title, a.state) for a in _imported(session)]
    assert states == [("路灯不亮", "archived"), ("噪音扰民", "accepted")]

    again = CliRunner().invoke(app, ["import", str(path), "--db", database_url])
    assert again.exit_code == 0, again.output
    assert "跳过 2 条" in again.output
    assert len(_imported(session)) == 2


def test_bad_rows_are_printed_with_their_row_numbers(database_url: str, world: World, session: Session,
                                                     tmp_path: Path) -> None:
    path = _csv(tmp_path / "mixed.csv", [
        ["1", "A1", "好的一行", "2019/2/28 11:25:05", "内容", "", ""],
        ["2", "A2", "坏的一行", "不是日期", "内容", "", ""],
    ])
    result = CliRunner().invoke(app, ["import", str(path), "--db", database_url])

    assert result.exit_code == 0, result.output
    assert "第 3 行" in result.output and "留言时间无法识别" in result.output
    assert "出错 1 行" in result.output
    assert [a.title for a in _imported(session)] == ["好的一行"]


def test_missing_columns_exit_2_with_the_columns_found(database_url: str, world: World, session: Session,
                                                       tmp_path: Path) -> None:
    path = _csv(tmp_path / "wrong.csv", [["1", "x"]], header=["编号", "备注"])
    result = CliRunner().invoke(app, ["import", str(path), "--db", database_url])

    assert result.exit_code == 2
    assert "留言主题" in result.output and "编号、备注" in result.output
    assert _imported(session) == []


def test_missing_file_exits_2(database_url: str, world: World, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["import", str(tmp_path / "nope.csv"), "--db", database_url])
    assert result.exit_code == 2
    assert "文件不存在" in result.output and "nope.csv" in result.output


def test_xlsx_sheet_option(database_url: str, world: World, session: Session, tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "封面"
    ws = wb.create_sheet("数据")
    ws.append(HEADER)
    ws.append([7, "A7", "表格里的留言", "2019/2/28 11:25:05", "内容", REPLY, "2019/3/1 9:00:00"])
    path = tmp_path / "book.xlsx"
    wb.save(path)

    result = CliRunner().invoke(app, ["import", str(path), "--db", database_url, "--sheet", "数据"])
    assert result.exit_code == 0, result.output
    assert [(a.title, a.state) for a in _imported(session)] == [("表格里的留言", "archived")]

    missing = CliRunner().invoke(app, ["import", str(path), "--db", database_url, "--sheet", "无此表"])
    assert missing.exit_code == 2 and "没有工作表" in missing.output
