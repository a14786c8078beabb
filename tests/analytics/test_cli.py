"""``sudi analytics rebuild`` and ``sudi analytics warnings``."""

from __future__ import annotations

from sqlalchemy import func, select
from typer.testing import CliRunner

from sudi.analytics.models import EarlyWarning, RollupRow
from sudi.cli import app
from tests.factories import World

runner = CliRunner()


def test_rebuild_and_warnings_commands(world: World, database_url: str) -> None:
    for _ in range(3):
        world.appeal("received", citizen_phone="13900005555")
    world.session.commit()
    full = runner.invoke(app, ["analytics", "rebuild", "--db", database_url])
    assert full.exit_code == 0, full.output
    assert "rollup rebuilt" in full.output
    recent = runner.invoke(app, ["analytics", "rebuild", "--db", database_url, "--days", "3"])
    assert recent.exit_code == 0, recent.output
    world.session.rollback()
    assert world.session.scalar(select(func.sum(RollupRow.received)).where(
        RollupRow.grain == "day", RollupRow.dimension == "all")) == 3
    found = runner.invoke(app, ["analytics", "warnings", "--db", database_url])
    assert found.exit_code == 0, found.output
    assert "created 1" in found.output
    world.session.rollback()
    assert world.session.scalar(select(func.count(EarlyWarning.id))) == 1


def test_an_unmigrated_database_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["analytics", "rebuild", "--db", f"sqlite:///{tmp_path / 'empty.db'}"])
    assert result.exit_code == 2
    assert "sudi init" in result.output
