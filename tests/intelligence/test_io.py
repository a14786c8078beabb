"""Reading histories: encodings, XLSX, missing columns, unreadable files, dates."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from sudi.core.errors import InvalidInput
from sudi.intelligence.classify import parse_columns, read_table, time_key

ROWS = [["标题", "内容", "类别"], ["路灯不亮", "光复路路灯坏了", "城乡建设"], ["学校招生", "学位不够", "教育文体"]]


def _csv(path: Path, encoding: str) -> Path:
    path.write_bytes("\r\n".join(",".join(r) for r in ROWS).encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings(tmp_path: Path, encoding: str) -> None:
    table = read_table(_csv(tmp_path / "h.csv", encoding))
    assert table.columns == ["标题", "内容", "类别"]
    assert table.texts(["标题", "内容"]) == ["路灯不亮\n光复路路灯坏了", "学校招生\n学位不够"]
    assert table.column("类别") == ["城乡建设", "教育文体"]


def test_xlsx(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    for row in ROWS:
        ws.append(row)
    ws.append(["编号", 12.0, None])
    path = tmp_path / "h.xlsx"
    wb.save(path)
    table = read_table(path)
    assert table.encoding is None
    assert table.rows[-1] == ["编号", "12", ""]


def test_missing_column_is_bilingual(tmp_path: Path) -> None:
    table = read_table(_csv(tmp_path / "h.csv", "utf-8"))
    with pytest.raises(InvalidInput) as err:
        table.column("答复部门")
    assert "答复部门" in err.value.message_zh and "not found" in err.value.message_en


@pytest.mark.parametrize("content", [b"\x00\x01\x02binary\x00" * 50, b""])
def test_unreadable_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidInput):
        read_table(path)
    with pytest.raises(InvalidInput):
        read_table(tmp_path / "missing.csv")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(InvalidInput):
        read_table(broken)


def test_parse_columns_and_time_keys() -> None:
    assert parse_columns("信件标题，信件内容") == ["信件标题", "信件内容"]
    assert parse_columns(" a , b ") == ["a", "b"]
    with pytest.raises(InvalidInput):
        parse_columns(" , ")
    assert time_key("2013-11-5 12:19:30") == (2013, 11, 5, 12, 19, 30)
    assert time_key("2018年7月1日") == (2018, 7, 1, 0, 0, 0)
    assert time_key("2018/07/01 09:05") < time_key("2018/07/01 10:00")  # type: ignore[operator]
    assert time_key("昨天") is None
