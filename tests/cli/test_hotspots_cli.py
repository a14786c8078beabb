"""`sudi hotspots` on a file: ranked rows, clear errors (exit 2), bad times reported and skipped."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sudi.cli import app

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "tipdm2020c" / "fujian3_hotspot_messages.csv"
HEADER = ["编号", "用户", "主题", "详情", "时间", "点赞", "反对"]
COLUMNS = ["rank", "heat", "title", "keywords", "place", "size", "first_time", "last_time", "ids"]


def write(path: Path, rows: list[list[str]], *, encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def sample() -> list[list[str]]:
    rows = []
    for i, text in enumerate(["丽发新城小区附近搅拌站噪音扰民", "丽发新城搅拌站夜间施工噪音扰民严重",
                              "投诉丽发新城小区搅拌站噪音污染", "丽发新城搅拌站噪音扰民睡不着"]):
        rows.append([f"A{i}", f"u{i}", text, text + "，请尽快处理。", f"2019/11/{i + 2} 10:00:00", str(i * 10), "0"])
    for i, text in enumerate(["咨询医保办理", "建议增加公交线路", "反映养老金发放延迟", "询问公积金提取"]):
        rows.append([f"B{i}", f"v{i}", text, text, f"2019-11-{i + 3} 08:00", "0", "0"])
    return rows


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["hotspots", *args])


def test_writes_ranked_hotspots(tmp_path: Path) -> None:
    source = write(tmp_path / "in.csv", sample(), encoding="gb18030")
    out = tmp_path / "out.csv"
    result = run("--input", str(source), "--text", "主题,详情", "--time", "时间", "--id", "编号", "--citizen", "用户",
                 "--supports", "点赞", "--objections", "反对", "--top", "5", "--output", str(out))
    assert result.exit_code == 0, result.output
    with open(out, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[: len(COLUMNS)] == COLUMNS
    assert rows[0]["rank"] == "1" and rows[0]["ids"].split("|") == ["A0", "A1", "A2", "A3"]
    assert rows[0]["place"].startswith("丽发新城") and "搅拌站" in rows[0]["title"] and rows[0]["size"] == "4"
    assert rows[0]["first_time"].startswith("2019-11-02") and rows[0]["supports"] == "60"


def test_missing_column_exits_2(tmp_path: Path) -> None:
    source = write(tmp_path / "in.csv", sample())
    result = run("--input", str(source), "--text", "标题", "--time", "时间", "--output", str(tmp_path / "o.csv"))
    assert result.exit_code == 2 and "标题" in result.output


def test_unreadable_file_and_missing_options_exit_2(tmp_path: Path) -> None:
    result = run("--input", str(tmp_path / "nope.csv"), "--text", "主题", "--time", "时间", "--output",
                 str(tmp_path / "o.csv"))
    assert result.exit_code == 2
    assert run("--input", str(tmp_path / "nope.csv")).exit_code == 2


def test_bad_times_are_reported_and_skipped(tmp_path: Path) -> None:
    rows = [*sample(), ["C1", "w", "丽发新城搅拌站噪音", "", "昨天", "0", "0"]]
    source = write(tmp_path / "in.csv", rows)
    out = tmp_path / "out.csv"
    result = run("--input", str(source), "--text", "主题,详情", "--time", "时间", "--id", "编号", "--output", str(out))
    assert result.exit_code == 0 and "跳过 1 行" in result.output and "10" in result.output
    assert "C1" not in out.read_text(encoding="utf-8")


@pytest.mark.skipif(not SHARED.exists(), reason="shared data not present")
def test_on_the_tipdm_hotspot_set(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = run("--input", str(SHARED), "--text", "留言主题,留言详情", "--time", "留言时间", "--id", "留言编号",
                 "--citizen", "留言用户", "--supports", "点赞数", "--objections", "反对数", "--top", "10",
                 "--output", str(out))
    assert result.exit_code == 0, result.output
    with open(out, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 10
    # The set's two large, well-known problems lead: the mixing plant by 丽发新城, the parking bundling at 伊景园.
    assert rows[0]["place"].startswith("丽发新城") and int(rows[0]["size"]) >= 30
    assert rows[1]["place"].startswith("伊景园") and int(rows[1]["size"]) >= 25


def test_refresh_recomputes_a_database_and_refuses_an_unmigrated_one(tmp_path: Path) -> None:
    from sudi.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'h.db'}"
    upgrade(url)
    result = run("refresh", "--db", url)
    assert result.exit_code == 0, result.output
    assert "'appeals': 0" in result.output
    bad = run("refresh", "--db", f"sqlite:///{tmp_path / 'empty.db'}")
    assert bad.exit_code == 2 and "sudi init" in bad.output
