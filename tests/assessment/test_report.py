"""The monthly report: ``sudi report monthly`` writes an Excel file with a native chart and a PDF with
charts and an embedded Chinese font."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from sudi.assessment import report
from sudi.cli import app
from tests.assessment import trail
from tests.factories import World

runner = CliRunner()
needs_font = pytest.mark.skipif(not any(Path(p).is_file() for p, _ in report.FONT_CANDIDATES),
                                reason="no CJK TrueType font (bash scripts/ensure-chromium.sh installs one)")


def test_output_names() -> None:
    for given in ("out/report.xlsx", "out/report.pdf", "out/report"):
        files = report.report_paths(Path(given))
        assert (files.xlsx, files.pdf) == (Path("out/report.xlsx"), Path("out/report.pdf"))


@needs_font
def test_monthly_report_writes_excel_and_pdf(world: World, database_url: str, tmp_path: Path) -> None:
    trail.build_september(world)
    trail.build_other_units(world)
    output = tmp_path / "report.xlsx"
    result = runner.invoke(app, ["report", "monthly", "--period", trail.PERIOD, "--output", str(output),
                                 "--db", database_url])
    assert result.exit_code == 0, result.output
    pdf = tmp_path / "report.pdf"
    assert output.is_file() and pdf.is_file()

    book = load_workbook(output)
    sheet = book["考核排名"]
    assert "2026年9月" in str(sheet["A1"].value)
    header = [c.value for c in sheet[3]]
    rows = {r[1]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=4, values_only=True)}
    zjj = rows["区住房和城乡建设局"]
    assert zjj["派单量"] == 6 and zjj["响应率"] == pytest.approx(0.8) and zjj["综合得分"] == pytest.approx(66.0)
    assert len(sheet._charts) == 2  # native Excel charts, not pictures
    assert {"红黑榜", "分子分母", "公式说明"} <= set(book.sheetnames)

    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and b"/FontFile2" in data  # an embedded TrueType font program
    if shutil.which("pdffonts"):
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
        cjk = [line for line in fonts.splitlines() if "SudiCJK" in line or "WenQuanYi" in line or "Zen" in line]
        assert cjk and all(" yes " in line for line in cjk), fonts
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "考核月度报告" in text and "区住房和城乡建设局" in text


def test_a_missing_font_names_the_package(world: World, database_url: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "FONT_CANDIDATES", (("/nonexistent/font.ttc", 0),))
    monkeypatch.delenv(report.FONT_ENV, raising=False)
    result = runner.invoke(app, ["report", "monthly", "--period", trail.PERIOD, "--output",
                                 str(tmp_path / "r.xlsx"), "--db", database_url])
    assert result.exit_code == 2
    assert "fonts-wqy-zenhei" in result.output
    assert not (tmp_path / "r.xlsx").exists()


def test_the_period_must_be_a_month(world: World, database_url: str, tmp_path: Path) -> None:
    for bad in ("2026-Q3", "2026-13", "next"):
        result = runner.invoke(app, ["report", "monthly", "--period", bad, "--output", str(tmp_path / "r.xlsx"),
                                     "--db", database_url])
        assert result.exit_code == 2, bad
        assert "YYYY-MM" in result.output
