"""The monthly assessment report (月度考核报告) as Excel (with a native bar chart) and PDF (charts
drawn with reportlab.graphics, a Chinese TrueType font embedded).

The figures are exactly those of the page and the API (``service.compute_assessment``); the report
only lays them out. The PDF needs a CJK font with TrueType outlines (reportlab cannot embed the
CFF outlines of Noto CJK): WenQuanYi Zen Hei (Debian ``fonts-wqy-zenhei``) or Micro Hei, or Droid
Sans Fallback, or any ``.ttf``/``.ttc`` named by ``SUDI_REPORT_FONT``.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sudi.assessment import service
from sudi.assessment.schemas import unit_out
from sudi.core import clock
from sudi.core.errors import Conflict

FONT_ENV = "SUDI_REPORT_FONT"
FONT_PACKAGE = "fonts-wqy-zenhei"
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
)
FONT_NAME = "SudiCJK"

RATE_COLUMNS = (("response", "响应率"), ("on_time", "按时办结率"), ("resolution", "解决率"), ("satisfaction", "满意率"),
                ("return", "退单率"), ("reopen", "重办率"))
HEADERS = ("名次", "单位", "派单量", *(label for _, label in RATE_COLUMNS), "超期数", "督办超期", "主动治理",
           "治理超期", "基础分", "加分", "扣分", "综合得分", "榜单")


@dataclass(frozen=True, slots=True)
class ReportFiles:
    xlsx: Path
    pdf: Path


def report_paths(output: Path) -> ReportFiles:
    """``report.xlsx`` (or ``report.pdf``, or ``report``) → ``report.xlsx`` and ``report.pdf``."""
    base = output.with_suffix("") if output.suffix.lower() in (".xlsx", ".pdf") else output
    return ReportFiles(xlsx=base.with_name(base.name + ".xlsx"), pdf=base.with_name(base.name + ".pdf"))


def find_cjk_font() -> tuple[str, int]:
    """A Chinese TrueType font to embed, or a clear refusal naming the package to install."""
    named = os.environ.get(FONT_ENV, "").strip()
    if named:
        if not Path(named).is_file():
            raise Conflict(f"{FONT_ENV} 指定的字体文件不存在：{named}", f"{FONT_ENV} names a missing file: {named}",
                           code="font_missing")
        return named, 0
    for path, index in FONT_CANDIDATES:
        if Path(path).is_file():
            return path, index
    raise Conflict(f"未找到可嵌入 PDF 的中文 TrueType 字体：请安装 {FONT_PACKAGE}（apt-get install {FONT_PACKAGE}），"
                   f"或用环境变量 {FONT_ENV} 指定 .ttf/.ttc 字体文件",
                   f"no CJK TrueType font to embed in the PDF: install {FONT_PACKAGE} "
                   f"(apt-get install {FONT_PACKAGE}) or point {FONT_ENV} at a .ttf/.ttc file", code="font_missing")


def _rows(result: service.Assessment) -> list[list[Any]]:
    rows = []
    for u in result.units:
        out = unit_out(u)
        lists = "红榜" if u.red else "黑榜" if u.black else ""
        rows.append([u.rank if u.rank is not None else "—", u.unit_name, out.volume,
                     *(out.rates[key].value for key, _ in RATE_COLUMNS), out.overdue, out.supervised_overdue,
                     u.governance_done, u.governance_overdue,
                     None if u.base_score is None else round(u.base_score, 2), u.bonus,
                     u.deduction, u.composite, lists])
    return rows


def formula_lines(policy: dict[str, Any]) -> list[str]:
    w, s = policy["weights"], policy["satisfaction_weights"]
    return [
        "以“办理轮次”计数：每次派单（分流派单、审定重新派单、重办）开始一轮，归属被派往的主办单位。",
        "响应率 = 按时签收 ÷ 应签收（本期派出、不含未签收即退单或被合并、不含签收时限未到的轮次）。",
        "按时办结率 = 按时办结 ÷ 应办结（延期后的办结时限落在本期内的轮次）；超期数 = 应办结 − 按时办结。",
        "解决率 = 回访“已解决” ÷ 本期回访数。",
        f"满意率 = Σ(评价数 × 折算系数) ÷ 评价数；折算系数：满意 {s['satisfied']:g}，"
        f"基本满意 {s['fairly_satisfied']:g}，不满意 {s['dissatisfied']:g}。",
        "退单率 = 本期派出轮次中被退回的 ÷ 派单量；重办率 = 本期办结轮次中之后被重办的 ÷ 本期办结数。",
        f"基础分 = 100 × Σ(权重 × 比率) ÷ Σ权重；权重：响应率 {w['response']:g}%，按时办结率 {w['on_time']:g}%，"
        f"解决率 {w['resolution']:g}%，满意率 {w['satisfaction']:g}%（分母为 0 的比率不参与）。",
        f"综合得分 = 基础分 + 主动治理加分（本期按期完成的任务每项 {policy['governance_bonus_per_task']:g} 分，上限 "
        f"{policy['governance_bonus_cap']:g}）− 扣分（督办超期每件 {policy['supervised_overdue_deduction']:g} 分；"
        f"期限在本期、未按期完成的主动治理任务每项 {policy['governance_overdue_deduction']:g} 分；"
        f"合计上限 {policy['deduction_cap']:g}）。",
        f"派单量不少于 {policy['min_volume']} 件的单位参与排名；红榜前 {policy['red_size']} 名（不低于 "
        f"{policy['red_min_score']:g} 分），黑榜末 {policy['black_size']} 名"
        f"（低于 {policy['black_max_score']:g} 分）。",
    ]


# ---------------------------------------------------------------- Excel

def build_xlsx(result: service.Assessment) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Alignment, Font, PatternFill

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "考核排名"
    sheet.append([f"诉求办理考核月度报告（{result.period.label}）"])
    sheet["A1"].font = Font(size=14, bold=True)
    sheet.append([f"统计区间 {result.period.first_day} 至 {result.period.last_day}（北京时间），"
                  f"生成于 {clock.local(result.computed_at):%Y-%m-%d %H:%M}"])
    sheet.append(list(HEADERS))
    header_row = 3
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    red, black = PatternFill("solid", fgColor="F6D5D8"), PatternFill("solid", fgColor="D9D9D9")
    for row in _rows(result):
        sheet.append(row)
        current = sheet[sheet.max_row]
        for offset in range(len(RATE_COLUMNS)):
            current[3 + offset].number_format = "0.0%"
        if row[-1]:
            for cell in current:
                cell.fill = red if row[-1] == "红榜" else black
    widths = [6, 22, 8, *([11] * len(RATE_COLUMNS)), 8, 9, 9, 9, 8, 6, 6, 10, 6]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = width
    sheet.freeze_panes = "C4"
    last = sheet.max_row
    if last > header_row:
        chart = BarChart()
        chart.type = "col"
        chart.title = "各单位综合得分"
        chart.y_axis.title = "综合得分"
        chart.height, chart.width = 9, 24
        score_col = HEADERS.index("综合得分") + 1
        chart.add_data(Reference(sheet, min_col=score_col, min_row=header_row, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=2, min_row=header_row + 1, max_row=last))
        sheet.add_chart(chart, f"A{last + 3}")
        rates = BarChart()
        rates.type = "col"
        rates.title = "三率（响应率、解决率、满意率）"
        rates.height, rates.width = 9, 24
        for key in ("响应率", "解决率", "满意率"):
            col = HEADERS.index(key) + 1
            rates.add_data(Reference(sheet, min_col=col, min_row=header_row, max_row=last), titles_from_data=True)
        rates.set_categories(Reference(sheet, min_col=2, min_row=header_row + 1, max_row=last))
        sheet.add_chart(rates, f"A{last + 23}")

    lists = book.create_sheet("红黑榜")
    lists.append(["榜单", "名次", "单位", "综合得分"])
    for u in result.red_list:
        lists.append(["红榜", u.rank, u.unit_name, u.composite])
    for u in result.black_list:
        lists.append(["黑榜", u.rank, u.unit_name, u.composite])
    lists.column_dimensions["C"].width = 24

    counts = book.create_sheet("分子分母")
    keys = list(service.MEASURES)
    counts.append(["单位", *(service.MEASURE_LABELS[k] for k in keys), "评价数"])
    for u in result.units:
        counts.append([u.unit_name, *(u.counts[k] for k in keys), u.rated])
    counts.column_dimensions["A"].width = 24

    notes = book.create_sheet("公式说明")
    for line in formula_lines(result.policy):
        notes.append([line])
    notes.column_dimensions["A"].width = 120
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------- PDF

def _register_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        path, index = find_cjk_font()
        pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=index))
    return FONT_NAME


def _bar_chart(names: list[str], series: list[list[float]], legend: list[str], colors_: list[Any], font: str,
               *, value_max: float, width: float, height: float, percent: bool,
               bar_colors: list[Any] | None = None) -> Any:
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.shapes import Drawing

    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 40, 70
    chart.width, chart.height = width - 60, height - 100
    chart.data = series
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = value_max
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    if percent:
        chart.valueAxis.labelTextFormat = lambda v: f"{v:.0f}%"
    chart.categoryAxis.categoryNames = names
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.angle = 35
    chart.categoryAxis.labels.boxAnchor = "ne"
    chart.barSpacing = 1
    for index, color in enumerate(colors_):
        chart.bars[index].fillColor = color
        chart.bars[index].strokeColor = None
    for index, color in enumerate(bar_colors or []):  # one series coloured per bar (the lists)
        chart.bars[(0, index)].fillColor = color
    drawing.add(chart)
    if len(series) > 1:
        key = Legend()
        key.x, key.y = 45, height - 12
        key.fontName, key.fontSize = font, 8
        key.alignment = "right"
        key.columnMaximum = 1
        key.colorNamePairs = list(zip(colors_, legend, strict=True))
        drawing.add(key)
    return drawing


def build_pdf(result: service.Assessment) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _register_font()
    title = ParagraphStyle("title", fontName=font, fontSize=18, leading=24, spaceAfter=6)
    heading = ParagraphStyle("heading", fontName=font, fontSize=13, leading=18, spaceBefore=8, spaceAfter=4)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=13)
    small = ParagraphStyle("small", fontName=font, fontSize=7.5, leading=10)
    buffer = io.BytesIO()
    page = landscape(A4)
    doc = SimpleDocTemplate(buffer, pagesize=page, leftMargin=14 * mm, rightMargin=14 * mm, topMargin=12 * mm,
                            bottomMargin=12 * mm, title=f"诉求办理考核月度报告 {result.period.label}",
                            author="sudi 诉递", initialFontName=font)
    story: list[Any] = [
        Paragraph(f"诉求办理考核月度报告（{result.period.label}）", title),
        Paragraph(f"统计区间 {result.period.first_day} 至 {result.period.last_day}（北京时间）；生成于 "
                  f"{clock.local(result.computed_at):%Y-%m-%d %H:%M}；参评单位 {result.ranked_count} 个，"
                  f"有数据的单位 {len(result.units)} 个。所有数字由办理轨迹计算，可复算。", body),
    ]
    red = "、".join(f"{u.unit_name}（{u.composite:.2f}）" for u in result.red_list) or "暂无"
    black = "、".join(f"{u.unit_name}（{u.composite:.2f}）" for u in result.black_list) or "暂无"
    story += [Paragraph("红黑榜", heading), Paragraph(f"红榜：{red}", body), Paragraph(f"黑榜：{black}", body)]

    scored = [u for u in result.units if u.composite is not None][:30]
    width = page[0] - 28 * mm
    if scored:
        names = [u.unit_name for u in scored]
        top = max(100.0, max(u.composite or 0 for u in scored))
        shades = [colors.HexColor("#a61b29") if u.red else colors.HexColor("#333333") if u.black
                  else colors.HexColor("#5b8db8") if u.ranked else colors.HexColor("#b8c4cf") for u in scored]
        story.append(KeepTogether([
            Paragraph("各单位综合得分（红：红榜，黑：黑榜，浅灰：派单量不足未参与排名）", heading),
            _bar_chart(names, [[u.composite or 0.0 for u in scored]], ["综合得分"], [colors.HexColor("#5b8db8")],
                       font, value_max=top, width=width, height=190, percent=False, bar_colors=shades)]))
        series = [[100 * (u.rates[key] or 0.0) for u in scored] for key in ("response", "resolution", "satisfaction")]
        story.append(KeepTogether([
            Paragraph("三率（%）", heading),
            _bar_chart(names, series, ["响应率", "解决率", "满意率"],
                       [colors.HexColor("#5b8db8"), colors.HexColor("#e0a030"), colors.HexColor("#3c9a5f")],
                       font, value_max=100, width=width, height=190, percent=True)]))
    story.append(PageBreak())
    story.append(Paragraph("各单位考核数字", heading))

    def cell(value: Any, is_rate: bool) -> str:
        if value is None:
            return "—"
        if is_rate:
            return f"{100 * value:.1f}%"
        return f"{value:g}" if isinstance(value, float) else str(value)

    rate_positions = set(range(3, 3 + len(RATE_COLUMNS)))
    data: list[list[Any]] = [[Paragraph(h, small) for h in HEADERS]]
    for row in _rows(result):
        data.append([Paragraph(cell(v, i in rate_positions), small) for i, v in enumerate(row)])
    widths = [10, 38, 14, *([16] * len(RATE_COLUMNS)), 13, 14, 14, 14, 14, 10, 10, 16, 12]
    table = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
    style = [("FONTNAME", (0, 0), (-1, -1), font),  # the table's own default would be Helvetica, not embedded
             ("GRID", (0, 0), (-1, -1), 0.3, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
             ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
    for index, u in enumerate(result.units, start=1):
        if u.red:
            style.append(("BACKGROUND", (0, index), (-1, index), colors.HexColor("#f6d5d8")))
        elif u.black:
            style.append(("BACKGROUND", (0, index), (-1, index), colors.HexColor("#d9d9d9")))
    table.setStyle(TableStyle(style))
    story += [table, Spacer(1, 6 * mm), Paragraph("公式说明", heading)]
    story += [Paragraph(line, body) for line in formula_lines(result.policy)]
    from reportlab import rl_config

    # Drawings start from reportlab's base font (Helvetica, not embedded); start them from ours.
    base = rl_config.defaultGraphicsFontName
    rl_config.defaultGraphicsFontName = font
    try:
        doc.build(story)
    finally:
        rl_config.defaultGraphicsFontName = base
    return buffer.getvalue()


def write_monthly_report(session: Any, period: service.Period, output: Path) -> ReportFiles:
    """Write ``output``'s ``.xlsx`` and ``.pdf`` for ``period`` (all units, as the centre sees them).
    The font is checked first, so a missing font leaves no half-written report behind."""
    find_cjk_font()
    result = service.compute_assessment(session, period)
    paths = report_paths(output)
    pdf = build_pdf(result)
    xlsx = build_xlsx(result)
    paths.xlsx.parent.mkdir(parents=True, exist_ok=True)
    paths.xlsx.write_bytes(xlsx)
    paths.pdf.write_bytes(pdf)
    return paths
