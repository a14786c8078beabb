"""Import and export of the duty list (权责清单) as Excel."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy.orm import Session

from sudi.core.errors import InvalidInput
from sudi.directory import service as directory
from sudi.directory.excel import COLUMNS, export_matters_xlsx, import_matters_xlsx
from sudi.directory.service import SYSTEM
from tests.factories import World


def _rows(data: bytes, sheet: str = "权责清单") -> list[tuple]:
    wb = load_workbook(io.BytesIO(data), read_only=True)
    try:
        return [tuple(row) for row in wb[sheet].iter_rows(values_only=True)]
    finally:
        wb.close()


def _workbook(header: tuple[str, ...], *rows: tuple) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "权责清单"
    ws.append(header)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _add_awkward_matters(session: Session) -> None:
    """Values that could be lost on the way: inactive, formula-like text, no keywords, three helpers."""
    directory.upsert_matter(session, SYSTEM, code="M-OLD", name="已撤销的事项", responsible_unit="sfj",
                            legal_basis="", keywords=[], is_active=False)
    directory.upsert_matter(session, SYSTEM, code="M-EQ", name="=SUM(A1:A3) 不是公式", responsible_unit="zjj",
                            assisting_units=["cgj", "sfj", "tanshan"], appeal_kind="development",
                            legal_basis="=HYPERLINK(\"x\")\n第二行", keywords=["=1+1", "报装", "KTV"])


def test_export_has_the_documented_columns(world: World) -> None:
    rows = _rows(export_matters_xlsx(world.session))
    assert rows[0] == COLUMNS
    by_code = {r[0]: r for r in rows[1:]}
    assert by_code["M-WFJS"] == ("M-WFJS", "违法建设查处", "执法", "cgj", "区综合行政执法局", "zjj", "职能",
                                 "《中华人民共和国城乡规划法》第六十四条", "违建、私搭乱建", "是")
    assert by_code["M-HJWS"][6] == "属地"
    units = _rows(export_matters_xlsx(world.session), "单位")
    assert units[0][0] == "单位编码" and ("zjj", "区住房和城乡建设局") in {r[:2] for r in units}


def test_round_trip_is_lossless(world: World) -> None:
    session = world.session
    _add_awkward_matters(session)
    original = export_matters_xlsx(session)

    # Importing the export unchanged changes nothing.
    report = import_matters_xlsx(session, SYSTEM, original)
    assert report.problems == []
    assert (report.created, report.updated, report.unchanged) == (0, 0, 5)

    # Scramble the list, then import the original export: everything is back as it was.
    directory.upsert_matter(session, SYSTEM, code="M-WFJS", name="改过的名字", responsible_unit="zjj",
                            territorial_rule="territorial", keywords=["别的"], appeal_kind="livelihood")
    directory.upsert_matter(session, SYSTEM, code="M-OLD", name="已撤销的事项", responsible_unit="sfj",
                            is_active=True)
    directory.upsert_matter(session, SYSTEM, code="M-EQ", name="x", responsible_unit="cgj", legal_basis="y")
    report = import_matters_xlsx(session, SYSTEM, original)
    assert report.problems == []
    assert (report.created, report.updated, report.unchanged) == (0, 3, 2)
    assert _rows(export_matters_xlsx(session)) == _rows(original)

    eq = directory.get_matter_by_code(session, "M-EQ")
    assert eq.name == "=SUM(A1:A3) 不是公式" and eq.legal_basis == "=HYPERLINK(\"x\")\n第二行"
    assert eq.keywords == ["=1+1", "报装", "KTV"] and eq.appeal_kind == "development"
    assert {u.code for u in eq.assisting_units} == {"cgj", "sfj", "tanshan"}
    old = directory.get_matter_by_code(session, "M-OLD")
    assert old.is_active is False and old.keywords == [] and old.legal_basis == ""


def test_round_trip_into_an_empty_list(world: World, session: Session) -> None:
    _add_awkward_matters(session)
    data = export_matters_xlsx(session)
    for matter in directory.list_matters(session, active_only=False):
        session.delete(matter)
    session.commit()
    report = import_matters_xlsx(session, SYSTEM, data)
    assert report.problems == [] and report.created == 5
    assert _rows(export_matters_xlsx(session)) == _rows(data)


def test_bad_rows_are_reported_and_good_rows_applied(world: World) -> None:
    session = world.session
    data = _workbook(
        COLUMNS,
        ("N-001", "占道经营的查处", "执法", "cgj", "", "zjj、sfj", "职能", "《城市道路管理条例》第二十七条",
         "占道经营、摆摊", "是"),                                                  # row 2: created
        ("N-002", "某事项", "民生", "nosuch", "", "", "职能", "", "", "是"),        # row 3: unknown unit
        ("N-003", "某事项", "民生", "zjj", "", "", "就近", "", "", "是"),           # row 4: bad rule
        ("N-004", None, "民生", "zjj", "", "", "职能", "", "", "是"),               # row 5: no name
        ("N-005", "某事项", "民生", "zjj", "", "cgj、ghost", "职能", "", "", "是"),  # row 6: unknown helper
        ("N-006", "某事项", "其他", "zjj", "", "", "职能", "", "", "是"),           # row 7: bad kind
        (None, None, None, None, None, None, None, None, None, None),              # row 8: blank, skipped
        ("N-001", "重复", "民生", "zjj", "", "", "职能", "", "", "是"),             # row 9: duplicate code
        ("M-WYGL", "物业服务监管", "民生", "zjj", "", "", "属地", "《物业管理条例》第五条",
         "物业、物业费", "否"),                                                    # row 10: updated
        ("bad code!", "某事项", "民生", "zjj", "", "", "职能", "", "", "是"),       # row 11: service rejects
        ("N-007", "某事项", "民生", "zjj", "", "", "职能", "", "", "也许"),         # row 12: bad flag
    )
    report = import_matters_xlsx(session, SYSTEM, data)
    assert (report.created, report.updated) == (1, 1)
    rows = [n for n, _ in report.problems]
    assert rows == [3, 4, 5, 6, 7, 9, 11, 12]
    messages = dict(report.problems)
    assert "nosuch" in messages[3] and "就近" in messages[4] and "名称" in messages[5]
    assert "ghost" in messages[6] and "其他" in messages[7] and "第 2 行" in messages[9]
    assert "编码" in messages[11] and "也许" in messages[12]

    created = directory.get_matter_by_code(session, "N-001")
    assert created.appeal_kind == "enforcement" and created.keywords == ["占道经营", "摆摊"]
    assert {u.code for u in created.assisting_units} == {"zjj", "sfj"}
    updated = directory.get_matter_by_code(session, "M-WYGL")
    assert updated.territorial_rule == "territorial" and updated.is_active is False
    assert updated.keywords == ["物业", "物业费"]
    for code in ("N-002", "N-003", "N-005"):
        with pytest.raises(Exception, match="no matter"):
            directory.get_matter_by_code(session, code)


def test_plain_headers_and_english_values_are_accepted(world: World) -> None:
    header = ("事项编码", "事项名称", "诉求类别", "主办单位编码", "协办单位编码", "属地规则", "关键词")
    data = _workbook(header, (1001, "数字编码的事项", "development", "zjj", "cgj,sfj", "territorial",
                              "报装，接电; 增容"))
    report = import_matters_xlsx(world.session, SYSTEM, data)
    assert report.problems == [] and report.created == 1
    matter = directory.get_matter_by_code(world.session, "1001")
    assert matter.appeal_kind == "development" and matter.territorial_rule == "territorial"
    assert matter.keywords == ["报装", "接电", "增容"] and matter.is_active is True


def test_unreadable_files_and_missing_columns_are_refused(world: World) -> None:
    with pytest.raises(InvalidInput):
        import_matters_xlsx(world.session, SYSTEM, b"")
    with pytest.raises(InvalidInput):
        import_matters_xlsx(world.session, SYSTEM, b"not a workbook at all")
    with pytest.raises(InvalidInput, match="columns") as info:
        import_matters_xlsx(world.session, SYSTEM, _workbook(("事项编码", "事项名称"), ("X-1", "x")))
    assert "主办单位编码" in info.value.message_zh
