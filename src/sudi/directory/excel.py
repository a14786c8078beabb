"""Import and export the duty list (权责清单) as an Excel workbook.

The sheet "权责清单" has one row per matter under a header row:

    事项编码 | 事项名称 | 诉求类别 | 主办单位编码 | 主办单位 | 协办单位编码(以、分隔) |
    属地规则(职能/属地) | 法律依据 | 关键词(以、分隔) | 是否启用

诉求类别 is 民生 / 执法 / 发展, 属地规则 is 职能 / 属地 and 是否启用 is 是 / 否; the English values
(livelihood, functional, true …) are accepted too. 主办单位 (the name) is there for people and is
ignored on import. A second sheet "单位" lists the unit codes to choose from.

Export then import changes nothing. Import checks each row on its own: a bad row is reported
with its Excel row number and skipped, and every good row is written through
``directory.service.upsert_matter``.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from sqlalchemy.orm import Session

from sudi.core.errors import InvalidInput, SudiError
from sudi.directory.models import Matter, Unit
from sudi.directory.service import Actor, list_matters, upsert_matter

__all__ = ["COLUMNS", "MatterImportReport", "export_matters_xlsx", "import_matters_xlsx"]

SHEET = "权责清单"
UNITS_SHEET = "单位"
COLUMNS = ("事项编码", "事项名称", "诉求类别", "主办单位编码", "主办单位", "协办单位编码(以、分隔)",
           "属地规则(职能/属地)", "法律依据", "关键词(以、分隔)", "是否启用")
_WIDTHS = (10, 36, 8, 12, 26, 22, 12, 48, 48, 8)
# Column keys, matched against the header by the text before any "(" so that a header typed
# without its hint ("协办单位编码") still works.
_KEYS = ("code", "name", "appeal_kind", "responsible_unit", "responsible_name", "assisting_units",
         "territorial_rule", "legal_basis", "keywords", "is_active")
_REQUIRED = ("code", "name", "responsible_unit")

KIND_LABELS = {"livelihood": "民生", "enforcement": "执法", "development": "发展"}
RULE_LABELS = {"functional": "职能", "territorial": "属地"}
_KINDS = {**{v: k for k, v in KIND_LABELS.items()}, **{k: k for k in KIND_LABELS},
          "民生类": "livelihood", "执法类": "enforcement", "发展类": "development"}
_RULES = {**{v: k for k, v in RULE_LABELS.items()}, **{k: k for k in RULE_LABELS},
          "职能部门": "functional", "属地管理": "territorial", "属地镇街": "territorial"}
_YES = {"是", "启用", "y", "yes", "true", "1", "√"}
_NO = {"否", "停用", "n", "no", "false", "0", "×"}
_LIST_SPLIT = re.compile(r"[、,，;；\n]+")
_MAX_BYTES = 20 * 1024 * 1024
_MAX_ROWS = 20_000


@dataclass
class MatterImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def applied(self) -> int:
        return self.created + self.updated + self.unchanged


# ---------------------------------------------------------------- export

def export_matters_xlsx(session: Session) -> bytes:
    """The whole duty list, inactive matters included, as .xlsx bytes."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(COLUMNS)
    for matter in list_matters(session, active_only=False):
        ws.append(_row(matter))
    _style(ws, len(COLUMNS))
    _validations(ws)

    units = wb.create_sheet(UNITS_SHEET)
    units.append(("单位编码", "单位名称", "简称", "类型", "是否启用"))
    for unit in session.scalars(select(Unit).order_by(Unit.path, Unit.sort_order)):
        units.append((unit.code, unit.name, unit.short_name, unit.kind, "是" if unit.is_active else "否"))
    _style(units, 5, widths=(14, 32, 20, 12, 8))

    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _row(matter: Matter) -> list[str]:
    return [matter.code, matter.name, KIND_LABELS.get(matter.appeal_kind, matter.appeal_kind),
            matter.responsible_unit.code, matter.responsible_unit.name,
            "、".join(sorted(u.code for u in matter.assisting_units)),
            RULE_LABELS.get(matter.territorial_rule, matter.territorial_rule), matter.legal_basis or "",
            "、".join(str(k) for k in matter.keywords or []), "是" if matter.is_active else "否"]


def _style(ws: Any, ncols: int, widths: Sequence[int] = _WIDTHS) -> None:
    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor="1F4E79")
    for col in range(1, ncols + 1):
        cell = ws.cell(row=1, column=col)
        cell.font, cell.fill = header_font, header_fill
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(col)].width = widths[col - 1]
    ws.freeze_panes = "B2"
    if ws.max_row > 1:
        ws.auto_filter.ref = f"A1:{get_column_letter(ncols)}{ws.max_row}"
    # openpyxl stores a string starting with "=" as a formula; keep every value plain text.
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"


def _validations(ws: Any) -> None:
    last = max(ws.max_row, 2) + 500
    for column, options in (("C", KIND_LABELS.values()), ("G", RULE_LABELS.values()), ("J", ("是", "否"))):
        dv = DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=True,
                            showErrorMessage=True)
        dv.add(f"{column}2:{column}{last}")
        ws.add_data_validation(dv)


# ---------------------------------------------------------------- import

def import_matters_xlsx(session: Session, actor: Actor, data: bytes) -> MatterImportReport:
    """Create or update matters from a workbook laid out as ``export_matters_xlsx`` writes it.

    Raises ``InvalidInput`` when the file is not a readable workbook or lacks a required column;
    otherwise every row is checked on its own and bad rows are listed in ``problems`` as
    ``(excel_row_number, message)`` while the good rows are applied.
    """
    rows = _read_rows(data)
    header = rows[0] if rows else ()
    columns = _columns(header)
    units = {u.code: u for u in session.scalars(select(Unit))}
    current = {m.code: m for m in session.scalars(select(Matter))}
    report = MatterImportReport()
    seen: dict[str, int] = {}
    for number, raw in enumerate(rows[1:], start=2):
        values = {key: _cell(raw, index) for key, index in columns.items()}
        if not any(values.values()):
            continue
        try:
            fields = _parse(values, units)
        except InvalidInput as exc:
            report.problems.append((number, exc.message_zh))
            continue
        code = fields["code"]
        if code in seen:
            report.problems.append((number, f"事项编码 {code} 与第 {seen[code]} 行重复，本行未导入"))
            continue
        seen[code] = number
        existing = current.get(code)
        if existing is not None and _same(existing, fields):
            report.unchanged += 1
            continue
        try:
            upsert_matter(session, actor, **fields)
        except SudiError as exc:
            session.rollback()
            report.problems.append((number, exc.message_zh))
            continue
        if existing is None:
            report.created += 1
        else:
            report.updated += 1
    session.commit()
    return report


def _read_rows(data: bytes) -> list[tuple[Any, ...]]:
    if not data:
        raise InvalidInput("上传的文件是空的", "the uploaded file is empty", field="file")
    if len(data) > _MAX_BYTES:
        raise InvalidInput("文件太大，请分批导入", "the workbook is too large", field="file")
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError, TypeError) as exc:
        raise InvalidInput("无法读取该文件，请上传 .xlsx 格式的 Excel 文件",
                           f"not a readable .xlsx workbook ({exc.__class__.__name__})", field="file") from exc
    try:
        ws = wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]
        rows = []
        for row in ws.iter_rows(values_only=True):
            rows.append(tuple(row))
            if len(rows) > _MAX_ROWS + 1:
                raise InvalidInput(f"一次最多导入 {_MAX_ROWS} 行", f"at most {_MAX_ROWS} rows per import",
                                   field="file")
    finally:
        wb.close()
    return rows


def _columns(header: Sequence[Any]) -> dict[str, int]:
    wanted = {_header_key(title): key for title, key in zip(COLUMNS, _KEYS, strict=True)}
    found: dict[str, int] = {}
    for index, title in enumerate(header):
        key = wanted.get(_header_key(title))
        if key and key not in found:
            found[key] = index
    missing = [COLUMNS[_KEYS.index(k)] for k in _REQUIRED if k not in found]
    if missing:
        raise InvalidInput("表头缺少必需的列：" + "、".join(missing) + "（请使用导出的模板）",
                           f"the header row lacks required columns: {missing}", field="file")
    return found


def _header_key(title: Any) -> str:
    text = str(title or "").strip()
    return re.split(r"[（(]", text, maxsplit=1)[0].strip()


def _cell(row: Sequence[Any], index: int) -> str:
    value = row[index] if index < len(row) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _split(text: str) -> list[str]:
    return [part.strip() for part in _LIST_SPLIT.split(text) if part.strip()]


def _parse(values: dict[str, str], units: dict[str, Unit]) -> dict[str, Any]:
    code, name = values.get("code", ""), values.get("name", "")
    if not code:
        raise InvalidInput("缺少事项编码", "code is required")
    if not name:
        raise InvalidInput(f"事项 {code} 缺少事项名称", "name is required")
    kind_text = values.get("appeal_kind", "")
    kind = _KINDS.get(kind_text.lower() if kind_text.isascii() else kind_text) if kind_text else "livelihood"
    if kind is None:
        raise InvalidInput(f"诉求类别“{kind_text}”无效，应为 民生、执法 或 发展", "bad appeal_kind")
    rule_text = values.get("territorial_rule", "")
    rule = _RULES.get(rule_text.lower() if rule_text.isascii() else rule_text) if rule_text else "functional"
    if rule is None:
        raise InvalidInput(f"属地规则“{rule_text}”无效，应为 职能 或 属地", "bad territorial_rule")
    active_text = values.get("is_active", "")
    if not active_text or active_text.lower() in _YES:
        active = True
    elif active_text.lower() in _NO:
        active = False
    else:
        raise InvalidInput(f"是否启用“{active_text}”无效，应为 是 或 否", "bad is_active")
    responsible = values.get("responsible_unit", "")
    if not responsible:
        raise InvalidInput(f"事项 {code} 缺少主办单位编码", "responsible unit is required")
    _check_unit(responsible, units, "主办单位")
    assisting = list(dict.fromkeys(_split(values.get("assisting_units", ""))))
    for unit_code in assisting:
        _check_unit(unit_code, units, "协办单位")
    return {"code": code, "name": name, "appeal_kind": kind, "responsible_unit": responsible,
            "assisting_units": assisting, "territorial_rule": rule,
            "legal_basis": values.get("legal_basis", ""), "keywords": _split(values.get("keywords", "")),
            "is_active": active}


def _check_unit(code: str, units: dict[str, Unit], role: str) -> None:
    unit = units.get(code)
    if unit is None:
        raise InvalidInput(f"{role}编码 {code} 不存在", f"unknown unit code {code!r}")
    if not unit.is_active:
        raise InvalidInput(f"{role} {code}（{unit.name}）已停用", f"unit {code!r} is inactive")


def _same(matter: Matter, fields: dict[str, Any]) -> bool:
    # The link table keeps no order, so assisting units compare as sets.
    assisting = {c for c in fields["assisting_units"] if c != fields["responsible_unit"]}
    return (matter.name == fields["name"] and matter.appeal_kind == fields["appeal_kind"]
            and matter.responsible_unit.code == fields["responsible_unit"]
            and {u.code for u in matter.assisting_units} == assisting
            and matter.territorial_rule == fields["territorial_rule"]
            and matter.legal_basis == fields["legal_basis"].strip()
            and list(matter.keywords or []) == fields["keywords"] and matter.is_active == fields["is_active"])
