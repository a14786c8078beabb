"""``sudi model train --from-db``: retrain the product's dispatch models on the archive from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sudi.appeals import smart_dispatch as sd
from sudi.cli import app
from tests.appeals.smart_history import build_archive
from tests.factories import World

runner = CliRunner()


@pytest.fixture(autouse=True)
def _fresh_models() -> None:
    sd.forget_loaded_models()


def _train(database_url: str, media: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["model", "train", "--from-db", "--db", database_url, *args],
                         env={"SUDI_MEDIA_DIR": str(media)})


def test_train_from_db_reports_both_numbers_and_replaces_only_if_not_worse(world: World, database_url: str,
                                                                           tmp_path: Path) -> None:
    build_archive(world)
    first = _train(database_url, tmp_path)
    assert first.exit_code == 0, first.output
    reports = json.loads(first.stdout.strip().splitlines()[-1])
    assert [(r["kind"], r["status"], r["version"]) for r in reports] == [
        ("category", "active", 1), ("appeal_type", "active", 1), ("lead_unit", "active", 1)]
    assert all(r["new"]["accuracy"] >= 0.9 and r["old"] is None for r in reports)
    assert (tmp_path / "models" / "lead_unit-v0001.sudimodel").exists()

    second = _train(database_url, tmp_path, "--kind", "lead_unit")
    assert second.exit_code == 0, second.output
    [report] = json.loads(second.stdout.strip().splitlines()[-1])
    assert report["version"] == 2 and report["old_version"] == 1 and report["status"] == "active"
    assert report["new"]["n"] == report["old"]["n"]  # measured on the same held-out slice
    assert "在用 v1" in second.output


def test_train_from_db_errors_exit_2(world: World, database_url: str, tmp_path: Path) -> None:
    bad_kind = _train(database_url, tmp_path, "--kind", "colour")
    assert bad_kind.exit_code == 2 and "unknown kind" in bad_kind.output
    empty = _train(database_url, tmp_path)  # nothing archived yet: nothing to learn from
    assert empty.exit_code == 2 and "skipped" in empty.output
    unmigrated = _train(f"sqlite:///{tmp_path / 'blank.db'}", tmp_path)
    assert unmigrated.exit_code == 2 and "sudi init" in unmigrated.output


def test_file_based_train_still_requires_its_options(tmp_path: Path) -> None:
    result = runner.invoke(app, ["model", "train", "--input", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and "--text" in result.output and "--output" in result.output
