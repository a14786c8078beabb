"""Read a labelled or unlabelled history (CSV or XLSX) into text columns, whatever the office saved it as.

CSV encodings: UTF-8 (with or without BOM), then GB18030 (what Excel and WPS save on a Chinese
Windows, a superset of GBK and GB2312), then charset-normalizer's guess. Every cell comes back as a
string, so callers never meet Excel's floats or dates.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sudi.core.errors import InvalidInput


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]  # each as long as ``columns``
    encoding: str | None = None  # what a CSV was read as; None for XLSX
    source: str = ""
    notes: list[str] = field(default_factory=list)

    def index_of(self, name: str) -> int:
        try:
            return self.columns.index(name)
        except ValueError:
            shown_zh, shown_en = "、".join(self.columns[:30]), ", ".join(self.columns[:30])
            raise InvalidInput(f"文件 {self.source} 中没有列“{name}”；现有列：{shown_zh}",
                               f"column '{name}' not found in {self.source}; columns are: {shown_en}",
                               field=name, code="missing_column") from None

    def column(self, name: str) -> list[str]:
        k = self.index_of(name)
        return [row[k] for row in self.rows]

    def texts(self, names: Sequence[str], sep: str = "\n") -> list[str]:
        """The named columns of each row joined by ``sep`` (empty cells left out), stripped."""
        idx = [self.index_of(n) for n in names]
        return [sep.join(c for c in (row[k].strip() for k in idx) if c) for row in self.rows]


def parse_columns(spec: str) -> list[str]:
    """'标题,内容' or '标题，内容' → ['标题', '内容'] (a full-width comma is what a Chinese keyboard types)."""
    names = [n.strip() for n in re.split(r"[,，]", spec or "") if n.strip()]
    if not names:
        raise InvalidInput("未指定列名", "no column name given", field="columns")
    return names


def decode_bytes(raw: bytes, source: str = "") -> tuple[str, str]:
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidInput(f"{source} 不是文本 CSV 文件", f"{source} is not a text CSV file", field="input",
                           code="unreadable_file")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding), "utf-8" if encoding == "utf-8-sig" else encoding
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None:
        raise InvalidInput(f"无法识别 {source} 的编码，请另存为 UTF-8 CSV",
                           f"cannot detect the encoding of {source}; save it as UTF-8 CSV", field="input",
                           code="unreadable_file")
    return str(best), str(best.encoding)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 12 as 12.0; an id or a count should read as typed
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return str(value)


def _rectangular(header: list[str], body: list[list[str]]) -> list[list[str]]:
    width = len(header)
    return [(row + [""] * (width - len(row)))[:width] for row in body if any(c.strip() for c in row)]


def read_table(path: str | Path, *, sheet: str | None = None) -> Table:
    """Read a CSV or XLSX file; the first row is the header. Raises :class:`InvalidInput` (bilingual) on a
    missing, unreadable or empty file."""
    path = Path(path)
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"无法读取文件 {source}：{exc.strerror or exc}", f"cannot read {source}: {exc}",
                           field="input", code="unreadable_file") from exc
    if raw.startswith(b"PK\x03\x04"):
        return _read_xlsx(raw, source, sheet)
    text, encoding = decode_bytes(raw, source)
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InvalidInput(f"{source} 不是有效的 CSV：{exc}", f"{source} is not valid CSV: {exc}", field="input",
                           code="unreadable_file") from exc
    if not records:
        raise InvalidInput(f"文件 {source} 是空的", f"{source} is empty", field="input", code="unreadable_file")
    header = [h.strip().lstrip("\ufeff") for h in records[0]]
    return Table(header, _rectangular(header, records[1:]), encoding, source)


def _read_xlsx(raw: bytes, source: str, sheet: str | None) -> Table:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook; all mean "unreadable"
        raise InvalidInput(f"无法读取 Excel 文件 {source}：{exc}", f"cannot read Excel file {source}: {exc}",
                           field="input", code="unreadable_file") from exc
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise InvalidInput(f"{source} 中没有工作表“{sheet}”", f"no sheet '{sheet}' in {source}", field="sheet")
        ws = wb[sheet] if sheet is not None else wb.worksheets[0]
        rows = [[_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    if not rows:
        raise InvalidInput(f"文件 {source} 是空的", f"{source} is empty", field="input", code="unreadable_file")
    header = [h.strip() for h in rows[0]]
    return Table(header, _rectangular(header, rows[1:]), None, source)


def write_csv(path: str | Path, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """UTF-8 without BOM: what programs expect; Excel users can import it as UTF-8."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)


_TIME = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})日?"
                   r"(?:[\sT]*(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?")


def time_key(value: str) -> tuple[int, ...] | None:
    """A sortable key for a date or date-time cell (2013-11-5 12:19:30, 2018/7/1, 2018年7月1日), None if
    there is none. Only the order matters here, so no time zone is involved."""
    m = _TIME.search(value or "")
    if not m:
        return None
    return tuple(int(g) if g else 0 for g in m.groups())
