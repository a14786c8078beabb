"""``sudi model train | predict | evaluate``: the contract of issue 3."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from sudi.cli import app
from tests.intelligence.synthetic import corpus

runner = CliRunner()


def _write(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _history(path: Path, n: int, seed: int, *, encoding: str = "utf-8", segmented: bool = False) -> Path:
    texts, labels = corpus(n, seed=seed, segmented=segmented)
    rows = [[f"标题{i}", t, lab, f"2018-{1 + i % 12}-{1 + i % 28} 10:00:00"]
            for i, (t, lab) in enumerate(zip(texts, labels, strict=True))]
    return _write(path, ["标题", "内容", "类别", "时间"], rows, encoding)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    history = _history(folder / "history.csv", 50, seed=1, encoding="gb18030")
    model = folder / "m.sudimodel"
    result = runner.invoke(app, ["model", "train", "--input", str(history), "--text", "标题,内容", "--label", "类别",
                                 "--output", str(model), "--time", "时间"])
    assert result.exit_code == 0, result.output
    return model


def test_evaluate_prints_json_last(trained: Path, tmp_path: Path) -> None:
    test = _history(tmp_path / "test.csv", 10, seed=9, segmented=True)
    result = runner.invoke(app, ["model", "evaluate", "--model", str(trained), "--input", str(test),
                                 "--text", "标题,内容", "--label", "类别"])
    assert result.exit_code == 0, result.output
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"n", "accuracy", "macro_f1", "top3_accuracy", "per_second", "per_second_wall",
            "batch_per_second"} <= set(last)
    assert last["n"] == 40 and last["accuracy"] >= 0.9 and last["per_second"] > 0 and last["per_second_wall"] > 0


def test_predict_writes_rows_plus_suggestions(trained: Path, tmp_path: Path) -> None:
    rows = [["1", "向阳区学校招生学位不够"], ["2", ""], ["3", "长安路工厂排放废水异味"]]
    source = _write(tmp_path / "new.csv", ["编号", "内容"], rows, "utf-8-sig")
    out = tmp_path / "out" / "pred.csv"
    result = runner.invoke(app, ["model", "predict", "--model", str(trained), "--input", str(source),
                                 "--text", "内容", "--output", str(out), "--explain"])
    assert result.exit_code == 0, result.output
    assert "empty text" in result.output  # reported, not fatal
    with open(out, encoding="utf-8", newline="") as handle:
        got = list(csv.DictReader(handle))
    assert [r["编号"] for r in got] == ["1", "2", "3"]
    assert got[0]["predicted_label"] == "教育文体" and got[2]["predicted_label"] == "环境保护"
    assert 0 <= float(got[0]["confidence"]) <= 1
    assert got[0]["top_labels"].split("|")[0] == "教育文体" and len(got[0]["top_labels"].split("|")) == 3
    assert got[1]["predicted_label"] == "" and got[1]["confidence"] == ""
    assert got[2]["evidence"]


def test_train_from_xlsx_and_default_text_columns(tmp_path: Path) -> None:
    texts, labels = corpus(12, seed=2)
    wb = Workbook()
    ws = wb.active
    ws.append(["内容", "部门"])
    for t, lab in zip(texts, labels, strict=True):
        ws.append([t, lab])
    ws.append(["", "教育文体"])  # empty text: skipped and reported
    xlsx = tmp_path / "h.xlsx"
    wb.save(xlsx)
    model = tmp_path / "x.sudimodel"
    result = runner.invoke(app, ["model", "train", "--input", str(xlsx), "--text", "内容", "--label", "部门",
                                 "--output", str(model)])
    assert result.exit_code == 0, result.output
    assert "skipped 1 rows" in result.output
    out = tmp_path / "p.csv"
    result = runner.invoke(app, ["model", "predict", "--model", str(model), "--input", str(xlsx), "--output", str(out)])
    assert result.exit_code == 0, result.output  # --text defaults to the columns the model was trained on


def test_single_class_is_exit_2(tmp_path: Path) -> None:
    source = _write(tmp_path / "one.csv", ["内容", "类别"], [["物业收费", "城乡建设"], ["电梯故障", "城乡建设"]])
    result = runner.invoke(app, ["model", "train", "--input", str(source), "--text", "内容", "--label", "类别",
                                 "--output", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "两个" in result.output and "at least two" in result.output


@pytest.mark.parametrize("case", ["missing_column", "missing_file", "binary_file", "bad_model"])
def test_bad_input_is_exit_2(trained: Path, tmp_path: Path, case: str) -> None:
    source = _history(tmp_path / "h.csv", 3, seed=4)
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\x00\xff\x00" * 100)
    model = str(trained)
    if case == "bad_model":
        model = str(binary)
    args = {
        "missing_column": ["model", "train", "--input", str(source), "--text", "正文", "--label", "类别"],
        "missing_file": ["model", "train", "--input", str(tmp_path / "nope.csv"), "--text", "内容", "--label", "类别"],
        "binary_file": ["model", "train", "--input", str(binary), "--text", "内容", "--label", "类别"],
        "bad_model": ["model", "evaluate", "--model", model, "--input", str(source), "--text", "内容", "--label",
                      "类别"],
    }[case]
    if args[1] == "train":
        args += ["--output", str(tmp_path / "m")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "错误 / error" in result.output
