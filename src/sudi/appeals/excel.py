"""Spreadsheet faces of the case engine: import historical appeals, export the filtered list.

Both sides go through :mod:`sudi.appeals.service` only. An import replays each row through the
ordinary intake and workflow actions, so an imported appeal has the same shape and event trail as
one handled in the platform; an export is the same visibility-filtered query the list view uses.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import time as _time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import islice
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import ScalarResult, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, defer, joinedload, selectinload

from sudi.appeals import service
from sudi.appeals.models import (
    APPEAL_TYPE_LABELS,
    CHANNEL_LABELS,
    KIND_LABELS,
    SATISFACTION_LABELS,
    STATE_LABELS,
    URGENCY_LABELS,
    Appeal,
    AppealAssist,
    Category,
    Channel,
)
from sudi.core import clock
from sudi.core.db import transaction
from sudi.core.errors import InvalidInput, SudiError
from sudi.directory.models import Grid, Role, Unit
from sudi.directory.service import Actor
from sudi.intelligence.pii import mask_phone, mask_text

# ================================================================ import

# Header aliases per field, most specific first: when a sheet has both 留言主题 and 标题, the
# first alias found wins. Chinese names are the ones real 12345/留言板 exports use.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("留言主题", "信件标题", "反映标题", "标题", "title"),
    "content": ("留言详情", "信件内容", "反映内容", "内容", "content"),
    "received_at": ("留言时间", "咨询时间", "反映时间", "来信时间", "received_at"),
    "reply": ("答复意见", "处理结果", "答复内容", "reply"),
    "replied_at": ("答复时间", "处理时间", "反馈时间", "replied_at"),
    "external_id": ("留言编号", "受理编号", "信件编号", "编号", "id"),
    "citizen_name": ("留言用户", "来信人", "姓名", "citizen_name"),
    "citizen_phone": ("电话", "联系电话", "citizen_phone", "phone"),
    "appeal_type": ("类型", "诉求类型", "appeal_type"),
    "unit": ("答复部门", "受理单位", "承办单位", "unit"),
    "category": ("一级分类", "分类", "category"),
}
FIELD_LABELS = {"title": "标题", "content": "内容", "received_at": "留言时间", "reply": "答复意见",
                "replied_at": "答复时间", "external_id": "编号", "citizen_name": "姓名",
                "citizen_phone": "电话", "appeal_type": "类型", "unit": "承办单位", "category": "分类"}

ARCHIVE_REASON = "历史导入"
IMPORT_COMMENT = "历史数据导入：时间取自原始记录"
MIN_REPLY = 10  # the service refuses a shorter reply when resolving
TITLE_FROM_CONTENT = 30
MAX_REF = 128   # appeals.external_ref is String(128)
ROWS_PER_COMMIT = 50

# Historical rows are replayed through the ordinary workflow, whose rules authorise by role. The
# import therefore acts as the centre's dispatcher (accept, dispatch, archive) and as a desk of the
# handling unit (acknowledge, resolve). These actors have no user id: no person did the work, the
# events say "历史数据导入", and the service skips the per-user visibility check for id-less
# actors, as it does for the demo loader's unit desks.
IMPORT_NAME = "历史数据导入"
IMPORT_INTAKE = Actor(id=None, username="import", name=IMPORT_NAME, role="channel")
IMPORT_DISPATCHER = Actor(id=None, username="import", name=IMPORT_NAME, role=Role.dispatcher.value)


def _unit_desk(unit: Unit) -> Actor:
    return Actor(id=None, username=f"import:{unit.code}", name=IMPORT_NAME, role=Role.unit_handler.value,
                 unit_id=unit.id, unit_path=unit.path)


@dataclass(frozen=True, slots=True)
class ImportProblem:
    row: int        # 1-based spreadsheet row; the header is row 1
    message: str


@dataclass
class ImportReport:
    imported: int = 0
    skipped: int = 0   # already imported (same external reference)
    problems: list[ImportProblem] = field(default_factory=list)
    # Rows imported but not as complete as the file asked (e.g. a reply the service cannot accept).
    notes: list[ImportProblem] = field(default_factory=list)
    encoding: str | None = None  # what a CSV was read as; None for XLSX
    seconds: float = 0.0


class _RowError(Exception):
    pass


def _norm_header(value: Any) -> str:
    return re.sub(r"\s+", "", str(value or "")).replace("\ufeff", "").lower()


def map_columns(header: Sequence[Any]) -> dict[str, int]:
    """Field name -> column index for a header row."""
    index: dict[str, int] = {}
    for col, name in enumerate(header):
        index.setdefault(_norm_header(name), col)
    mapping: dict[str, int] = {}
    for name, aliases in FIELD_ALIASES.items():
        for alias in aliases:
            found = index.get(_norm_header(alias))
            if found is not None:
                mapping[name] = found
                break
    if "title" not in mapping and "content" not in mapping:
        columns = "、".join(str(h).strip() for h in header if str(h or "").strip()) or "（无）"
        raise InvalidInput(
            f"第 1 行须为表头，且至少包含标题列（留言主题/标题）或内容列（留言详情/内容）；找到的列：{columns}",
            f"row 1 must be a header with a title column (留言主题/标题/title) or a content column "
            f"(留言详情/内容/content); columns found: {columns}", field="file")
    return mapping


# ---------------------------------------------------------------- reading files

@dataclass
class _Table:
    header: list[Any]
    rows: Iterator[tuple[int, Sequence[Any]]]   # (spreadsheet row number, cells)
    total: int | None
    excel: bool
    encoding: str | None = None


def decode_csv_bytes(raw: bytes) -> tuple[str, str]:
    """Text and encoding of a CSV: UTF-8 (with or without BOM), then GB18030, then a guess.

    Strict decoding first: GB18030 accepts most byte soup, so UTF-8 must be ruled out before it,
    and a statistical guess is only worth having when both strict decodings fail.
    """
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None:
        raise InvalidInput("无法识别文件编码，请另存为 UTF-8 的 CSV",
                           "cannot detect the file's encoding; save it as UTF-8 CSV", field="file")
    return str(best), best.encoding


def _csv_table(path: Path) -> _Table:
    text, encoding = decode_csv_bytes(path.read_bytes())
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = list(reader)
    except csv.Error as exc:
        raise InvalidInput(f"CSV 格式错误（第 {reader.line_num} 行附近）：{exc}",
                           f"malformed CSV near line {reader.line_num}: {exc}", field="file") from exc
    if not records:
        raise InvalidInput("文件为空", "the file is empty", field="file")
    # Record numbers, not physical lines: a quoted cell may span lines, and a spreadsheet program
    # shows the record as one row.
    rows = ((n, cells) for n, cells in enumerate(records[1:], start=2))
    return _Table(records[0], rows, len(records) - 1, excel=False, encoding=encoding)


@contextmanager
def _open_table(path: Path, sheet: str | None) -> Iterator[_Table]:
    with path.open("rb") as fh:
        magic = fh.read(8)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise InvalidInput("不支持旧版 .xls 文件，请另存为 .xlsx 或 CSV",
                           "legacy .xls is not supported; save as .xlsx or CSV", field="file")
    if not magic.startswith(b"PK\x03\x04"):
        yield _csv_table(path)
        return
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and key errors alike for a damaged file
        raise InvalidInput(f"无法读取 Excel 文件：{exc}", f"cannot read the XLSX file: {exc}",
                           field="file") from exc
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            names = "、".join(workbook.sheetnames)
            raise InvalidInput(f"没有工作表「{sheet}」；可选：{names}",
                               f"no sheet {sheet!r}; sheets: {names}", field="sheet")
        ws = workbook[sheet] if sheet is not None else (workbook.active or workbook.worksheets[0])
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise InvalidInput("工作表为空", "the sheet is empty", field="file")
        total = ws.max_row - 1 if isinstance(ws.max_row, int) and ws.max_row > 1 else None
        yield _Table(list(header), ((n, cells) for n, cells in enumerate(rows, start=2)), total, excel=True)
    finally:
        workbook.close()  # read-only mode keeps the zip open until closed


# ---------------------------------------------------------------- cell values

_DATE_RE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:(?:\s+|T|\s*日\s*)(\d{1,2})\s*[:：时]\s*(\d{1,2})\s*(?:[:：分]\s*(\d{1,2})(?:\.\d+)?\s*秒?)?)?$")


def parse_time(value: Any, *, excel: bool = False) -> datetime | None:
    """A cell as an aware datetime; naive values are district (Asia/Shanghai) time."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time.min)
    elif excel and isinstance(value, int | float) and not isinstance(value, bool) and 20_000 < value < 80_000:
        moment = from_excel(value)  # a date cell stored as a bare serial number
    else:
        text = str(value).strip()
        match = _DATE_RE.match(text)
        try:
            if match:
                y, mo, d, h, mi, s = (int(g) if g else 0 for g in match.groups())
                moment = datetime(y, mo, d, h, mi, s)  # noqa: DTZ001 - zone attached below
            else:
                moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(text) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=clock.DISTRICT_TZ)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel hands back ids and phone numbers as floats
    return str(value).strip()


# ---------------------------------------------------------------- the importer

class _Importer:
    def __init__(self, session: Session, path: Path, table: _Table, mapping: dict[str, int]) -> None:
        self.session, self.path, self.table, self.mapping = session, path, table, mapping
        self.report = ImportReport(encoding=table.encoding)
        self._units: dict[str, Unit | None] = {}
        self._categories: dict[str, str | None] = {}

    def cell(self, cells: Sequence[Any], name: str) -> Any:
        col = self.mapping.get(name)
        return cells[col] if col is not None and col < len(cells) else None

    def unit(self, key: str) -> Unit | None:
        if key not in self._units:
            candidates = self.session.scalars(select(Unit).where(
                Unit.is_active.is_(True), or_(Unit.code == key, Unit.name == key)).order_by(Unit.id)).all()
            by_code = [u for u in candidates if u.code == key]
            matches = by_code or list(candidates)
            self._units[key] = matches[0] if matches else None
        return self._units[key]

    def category(self, name: str) -> str | None:
        if name not in self._categories:
            found = self.session.scalar(select(Category.code).where(
                Category.is_active.is_(True), or_(Category.code == name, Category.full_name == name)))
            self._categories[name] = found
        return self._categories[name]

    def external_ref(self, external_id: str, values: dict[str, str]) -> str:
        stem = self.path.stem
        if external_id:
            ref = f"import:{stem}:{external_id}"
        else:
            # No id column: the row's own content identifies it, so re-importing the file matches.
            blob = "\x1f".join(values.get(name, "") for name in FIELD_ALIASES)
            ref = f"import:{stem}:h{hashlib.sha256(blob.encode()).hexdigest()[:24]}"
        if len(ref) > MAX_REF:
            ref = "import:" + hashlib.sha256(ref.encode()).hexdigest()
        return ref

    def run(self, console: Console | None) -> ImportReport:
        started = _time.perf_counter()
        progress = (Progress(TextColumn("导入 / importing"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), console=console, transient=False)
                    if console is not None else None)
        rows = iter(self.table.rows)
        with progress or nullcontext():
            task = progress.add_task("import", total=self.table.total) if progress is not None else None
            while batch := list(islice(rows, ROWS_PER_COMMIT)):
                # One commit per batch keeps a large file fast; each row inside is a savepoint, so
                # a bad row is undone whole (no half-closed appeal) and its neighbours stay.
                with transaction(self.session):
                    for rownum, cells in batch:
                        if progress is not None and task is not None:
                            progress.advance(task)
                        self.guarded_row(rownum, cells)
        if console is not None:
            for note in self.report.notes:
                console.print(f"[cyan]第 {note.row} 行 / row {note.row}:[/cyan] {note.message}")
        self.report.seconds = _time.perf_counter() - started
        return self.report

    def guarded_row(self, rownum: int, cells: Sequence[Any]) -> None:
        if all(_text(c) == "" for c in cells):
            return
        try:
            with transaction(self.session):
                outcome, notes = self.import_row(rownum, cells)
        except _RowError as exc:
            self.report.problems.append(ImportProblem(rownum, str(exc)))
            return
        except SudiError as exc:
            self.report.problems.append(ImportProblem(rownum, f"{exc.message_zh} / {exc.message_en}"))
            return
        except SQLAlchemyError as exc:  # e.g. a concurrent import of the same file won the external_ref
            self.report.problems.append(ImportProblem(rownum, f"数据库错误 / database error: {exc}"))
            return
        if outcome == "skipped":
            self.report.skipped += 1
        else:
            self.report.imported += 1
            self.report.notes.extend(ImportProblem(rownum, note) for note in notes)

    def import_row(self, rownum: int, cells: Sequence[Any]) -> tuple[str, list[str]]:
        values = {name: _text(self.cell(cells, name)) for name in FIELD_ALIASES}
        title, content, reply = values["title"], values["content"], values["reply"]
        if not title and not content:
            raise _RowError("标题和内容均为空 / both title and content are empty")
        if not title:
            title = " ".join(content.split())[:TITLE_FROM_CONTENT]
        content = content or title
        if len(reply) > service.MAX_REPLY:
            raise _RowError(f"答复意见超过 {service.MAX_REPLY} 字 / "
                            f"reply longer than {service.MAX_REPLY} characters")
        received_at = self.time_of(cells, "received_at")
        replied_at = self.time_of(cells, "replied_at")
        now = clock.now()
        if "received_at" in self.mapping and received_at is None:
            raise _RowError("缺少留言时间 / received_at is empty")
        received_at = received_at or now
        if replied_at is not None and replied_at < received_at:
            raise _RowError(f"答复时间早于留言时间 / replied_at ({clock.local(replied_at):%Y-%m-%d %H:%M}) "
                            f"is before received_at ({clock.local(received_at):%Y-%m-%d %H:%M})")
        if replied_at is not None and replied_at > now:
            raise _RowError("答复时间晚于当前时间 / replied_at is in the future")

        source: dict[str, Any] = {"file": self.path.name, "row": rownum}
        if values["external_id"]:
            source["id"] = values["external_id"]
        unit = self.unit(values["unit"]) if values["unit"] else None
        if values["unit"] and unit is None:
            source["unit"] = values["unit"]   # no such unit here: keep what the file said
        category = self.category(values["category"]) if values["category"] else None
        if values["category"] and category is None:
            source["category"] = values["category"]
        holder = unit or self.unit("centre")
        closable = bool(reply) and holder is not None and len(reply) >= MIN_REPLY
        notes: list[str] = []
        if reply and not closable:
            source["reply"] = reply  # kept on the trail since the appeal cannot carry it as resolved
            if replied_at is not None:
                source["replied_at"] = replied_at.isoformat()
            why = (f"答复意见不足 {MIN_REPLY} 字 / reply shorter than {MIN_REPLY} characters"
                   if holder is not None else "没有可承办的单位 / no unit can hold it")
            notes.append(f"已导入但未办结（{why}），答复记入办理轨迹，状态为已受理 / imported as accepted")
        elif reply and replied_at is None:
            notes.append("缺少答复时间，办结按留言时间记录 / no replied_at: closed at received_at")

        draft = service.AppealDraft(
            title=title, content=content, channel=Channel.import_.value,
            appeal_type=values["appeal_type"] or None, category=category,
            citizen_name=values["citizen_name"], citizen_phone=values["citizen_phone"],
            received_at=received_at, external_ref=self.external_ref(values["external_id"], values),
            extra={"import": source})
        intake = service.create_appeal(self.session, IMPORT_INTAKE, draft)
        if not intake.created:
            return "skipped", []
        number = intake.number
        step = "accept"
        try:
            with clock.frozen_at(received_at):
                self.act(IMPORT_DISPATCHER, number, action="accept")
                if not closable:
                    return "imported", notes
                assert holder is not None
                step = "dispatch"
                self.act(IMPORT_DISPATCHER, number, action="dispatch", unit=holder.code)
            with clock.frozen_at(replied_at or received_at):
                desk = _unit_desk(holder)
                for step, payload in (("acknowledge", {}), ("resolve", {"reply": reply}),
                                      ("archive", {"reason": ARCHIVE_REASON})):
                    self.act(desk if step != "archive" else IMPORT_DISPATCHER, number, action=step, **payload)
        except SudiError as exc:
            raise _RowError(f"办理步骤「{step}」被拒绝，该行未导入：{exc.message_zh}"
                            f" / the {step} step was refused, row not imported: {exc.message_en}") from exc
        return "imported", notes

    def act(self, actor: Actor, number: str, **payload: Any) -> None:
        service.perform_action(self.session, actor, number, {"comment": IMPORT_COMMENT, **payload})

    def time_of(self, cells: Sequence[Any], name: str) -> datetime | None:
        value = self.cell(cells, name)
        try:
            return parse_time(value, excel=self.table.excel)
        except ValueError:
            raise _RowError(f"{FIELD_LABELS[name]}无法识别：{_text(value)!r}（应如 2019/2/28 11:25:05）"
                            f" / cannot parse {name} {_text(value)!r}") from None


def import_file(session: Session, path: str | Path, *, sheet: str | None = None,
                console: Console | None = None) -> ImportReport:
    """Import historical appeals from an XLSX or CSV file; see :data:`FIELD_ALIASES` for columns.

    Each row is its own savepoint (committed 50 rows at a time), so a bad row is reported and
    left out whole while the rest import, and re-importing a file skips the rows already in
    (matched by ``external_ref``).
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"文件不存在：{path}", f"no such file: {path}", field="file")
    with _open_table(path, sheet) as table:
        mapping = map_columns(table.header)
        return _Importer(session, path, table, mapping).run(console)


# ================================================================ export

MAX_EXPORT_ROWS = 100_000
EXPORT_BATCH = 1_000
DATE_FORMAT = "yyyy-mm-dd hh:mm"
# (header, column width); 联系人/联系电话 sit by the address because that is where a caller looks.
EXPORT_COLUMNS: tuple[tuple[str, int], ...] = (
    ("编号", 18), ("状态", 8), ("渠道", 10), ("类型", 6), ("紧急程度", 8), ("诉求类别", 10),
    ("标题", 30), ("内容", 60), ("分类", 24), ("地址", 24), ("联系人", 10), ("联系电话", 14),
    ("网格", 18), ("镇街", 12), ("主办单位", 20), ("协办单位", 24), ("受理时间", 17), ("派单时间", 17),
    ("签收时间", 17), ("办结期限", 17), ("办结时间", 17), ("答复", 60), ("是否解决", 8), ("满意度", 8),
    ("超期", 6), ("督办", 6),
)
EXPORT_HEADERS = tuple(name for name, _ in EXPORT_COLUMNS)
# A cell starting with one of these is taken as a formula by Excel, LibreOffice or WPS.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MAX_CELL = 32_767  # Excel's limit on the characters in one cell


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


class _Writer:
    def __init__(self, ws: WriteOnlyWorksheet) -> None:
        self.ws = ws

    def text(self, value: str | None) -> Any:
        if not value:
            return None
        value = ILLEGAL_CHARACTERS_RE.sub("", value)[:_MAX_CELL]
        if value.startswith(FORMULA_START):
            # Stored as a string with Excel's own quote prefix (what typing '=… produces): the text
            # is kept exactly, shown as typed, and stays text if someone edits the cell.
            cell = WriteOnlyCell(self.ws, value=value)
            cell.data_type = "s"
            cell.quotePrefix = True
            return cell
        return value

    def moment(self, value: datetime | None) -> Any:
        if value is None:
            return None
        # Excel has no time zones: district wall-clock time, as the people reading it expect.
        cell = WriteOnlyCell(self.ws, value=clock.local(value).replace(tzinfo=None))
        cell.number_format = DATE_FORMAT
        return cell


def _export_row(w: _Writer, actor: Actor, appeal: Appeal) -> list[Any]:
    full = service.shows_full_phone(actor, appeal)
    shown = (lambda s: s) if full else mask_text
    phone = appeal.citizen_phone if full or not appeal.citizen_phone else mask_phone(appeal.citizen_phone)
    return [
        w.text(appeal.number), STATE_LABELS.get(appeal.state, appeal.state),  # type: ignore[call-overload]
        CHANNEL_LABELS.get(appeal.channel, appeal.channel),  # type: ignore[call-overload]
        APPEAL_TYPE_LABELS.get(appeal.appeal_type, appeal.appeal_type),  # type: ignore[call-overload]
        URGENCY_LABELS.get(appeal.urgency, appeal.urgency),  # type: ignore[call-overload]
        KIND_LABELS.get(appeal.appeal_kind, appeal.appeal_kind),  # type: ignore[call-overload]
        w.text(shown(appeal.title)), w.text(shown(appeal.content)),
        w.text(appeal.category.full_name if appeal.category else None), w.text(appeal.address),
        w.text(appeal.citizen_name), w.text(phone),
        w.text(appeal.grid.name if appeal.grid else None), w.text(appeal.town.name if appeal.town else None),
        w.text(appeal.lead_unit.name if appeal.lead_unit else None),
        w.text("、".join(a.unit.name for a in appeal.assisting)),
        w.moment(appeal.received_at), w.moment(appeal.dispatched_at), w.moment(appeal.acknowledged_at),
        w.moment(appeal.resolve_due), w.moment(appeal.resolved_at), w.text(appeal.reply),
        _yes_no(appeal.follow_up_solved),
        SATISFACTION_LABELS.get(appeal.satisfaction, "") if appeal.satisfaction else "",  # type: ignore[call-overload]
        _yes_no(appeal.is_overdue), _yes_no(appeal.is_supervised),
    ]


def export_xlsx(session: Session, actor: Actor, flt: service.AppealFilter) -> bytes:
    """The filtered list ``actor`` may see, as an XLSX workbook (at most 100,000 rows)."""
    # One row past the cap tells a full export from a truncated one without a COUNT query.
    # Every related row a line shows is loaded per batch, never per appeal; JSON the sheet does not
    # show (grid polygons, triage notes) is not decoded at all.
    query = (service.filtered_query(session, actor, flt).limit(MAX_EXPORT_ROWS + 1)
             .options(joinedload(Appeal.category), joinedload(Appeal.grid).load_only(Grid.name),
                      joinedload(Appeal.town), joinedload(Appeal.lead_unit),
                      selectinload(Appeal.assisting).joinedload(AppealAssist.unit),
                      defer(Appeal.triage), defer(Appeal.extension_pending))
             .execution_options(yield_per=EXPORT_BATCH))
    # The query runs before the workbook exists: a value the database refuses (PostgreSQL: a NUL byte
    # in the search) must not leave a write-only sheet open, to be finalised later against a closed file.
    result = session.scalars(query)
    try:
        return _write_export(result, actor)
    finally:
        result.close()  # a break at the cap leaves the server-side cursor open otherwise


def _write_export(result: ScalarResult[Appeal], actor: Actor) -> bytes:
    """The two sheets of the export, written from rows the database is already returning."""
    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet("诉求列表")
    ws.freeze_panes = "A2"
    for col, (_, width) in enumerate(EXPORT_COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    header = []
    for name in EXPORT_HEADERS:
        cell = WriteOnlyCell(ws, value=name)
        cell.font, cell.fill, cell.alignment = bold, fill, Alignment(horizontal="center")
        header.append(cell)
    ws.append(header)

    writer = _Writer(ws)
    written, truncated = 0, False
    for appeal in result:
        if written == MAX_EXPORT_ROWS:
            truncated = True
            break
        ws.append(_export_row(writer, actor, appeal))
        written += 1
    ws.auto_filter.ref = f"A1:{get_column_letter(len(EXPORT_COLUMNS))}{written + 1}"

    about = workbook.create_sheet("说明")
    about.column_dimensions["A"].width, about.column_dimensions["B"].width = 12, 60
    about_writer = _Writer(about)
    for key, value in (("导出时间", clock.local(clock.now()).strftime("%Y-%m-%d %H:%M:%S")),
                       ("导出人", f"{actor.name}（{actor.username}）"), ("行数", written),
                       ("说明", f"已达上限，仅导出前 {MAX_EXPORT_ROWS} 行，请缩小筛选范围" if truncated
                              else "已导出全部符合筛选条件且有权查看的诉求")):
        about.append([key, about_writer.text(value) if isinstance(value, str) else value])

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
