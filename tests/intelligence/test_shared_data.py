"""Train and evaluate on a slice of the real TipDM messages, when the shared data is next to the project."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sudi.cli import app

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "tipdm2020c" / "fujian2_labeled_segmented.csv"


@pytest.mark.skipif(not DATA.exists(), reason="shared data not present")
def test_tipdm_slice_trains_and_evaluates(tmp_path: Path) -> None:
    with open(DATA, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    # Rows are grouped by category in the file: every 5th row is test, the rest (a 1,200-row slice) train.
    sample = rows[::3][:1500]
    for name, part in (("train.csv", [r for i, r in enumerate(sample) if i % 5]),
                       ("test.csv", [r for i, r in enumerate(sample) if not i % 5])):
        with open(tmp_path / name, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, ["row_index", "tokens", "label"])
            writer.writeheader()
            writer.writerows(part)
    model = tmp_path / "tipdm.sudimodel"
    runner = CliRunner()
    result = runner.invoke(app, ["model", "train", "--input", str(tmp_path / "train.csv"), "--text", "tokens",
                                 "--label", "label", "--output", str(model)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["model", "evaluate", "--model", str(model), "--input", str(tmp_path / "test.csv"),
                                 "--label", "label"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert metrics["n"] == 300 and metrics["macro_f1"] > 0.75 and metrics["top3_accuracy"] > 0.9
