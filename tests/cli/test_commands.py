"""The ``sudi`` command: options instead of prompts, clear errors, non-zero exits."""

from __future__ import annotations

from typer.testing import CliRunner

from sudi.cli import app

runner = CliRunner()


def test_init_creates_the_admin_once(session_factory, database_url: str) -> None:  # type: ignore[no-untyped-def]
    first = runner.invoke(app, ["init", "--db", database_url, "--admin-password", "Gr8!Secret-Pass"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["init", "--db", database_url, "--admin-password", "Gr8!Secret-Pass"])
    assert again.exit_code == 0
    assert "exists" in again.output


def test_init_takes_the_password_from_the_environment(session_factory, database_url: str) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["init", "--db", database_url], env={"SUDI_ADMIN_PASSWORD": "Env!Secret-Pass1"})
    assert result.exit_code == 0, result.output


def test_init_refuses_a_weak_or_missing_password(session_factory, database_url: str) -> None:  # type: ignore[no-untyped-def]
    weak = runner.invoke(app, ["init", "--db", database_url, "--admin-password", "sudi-demo"])
    assert weak.exit_code == 2
    assert "too weak" in weak.output
    missing = runner.invoke(app, ["init", "--db", database_url], env={"SUDI_ADMIN_PASSWORD": ""})
    assert missing.exit_code == 2
    assert "--admin-password" in missing.output


def test_serve_refuses_an_unmigrated_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["serve", "--db", f"sqlite:///{tmp_path / 'empty.db'}"])
    assert result.exit_code == 2
    assert "sudi init" in result.output


def test_bad_database_url_is_a_clear_error() -> None:
    result = runner.invoke(app, ["init", "--db", "nosuchdb://x", "--admin-password", "Gr8!Secret-Pass"])
    assert result.exit_code == 2
    assert "cannot migrate" in result.output


def test_mark_overdue_runs(world, database_url: str) -> None:  # type: ignore[no-untyped-def]
    world.appeal("dispatched")
    result = runner.invoke(app, ["mark-overdue", "--db", database_url])
    assert result.exit_code == 0, result.output
    assert "overdue: 0" in result.output


def test_duty_list_round_trips_through_excel(world, database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "duty.xlsx"
    exported = runner.invoke(app, ["matters", "export", str(path), "--db", database_url])
    assert exported.exit_code == 0, exported.output
    again = runner.invoke(app, ["matters", "import", str(path), "--db", database_url])
    assert again.exit_code == 0, again.output
    assert "unchanged 3" in again.output
    missing = runner.invoke(app, ["matters", "import", str(tmp_path / "nope.xlsx"), "--db", database_url])
    assert missing.exit_code == 2


def test_duty_list_excel_over_the_api(client, world) -> None:  # type: ignore[no-untyped-def]
    got = client.get("/api/v1/matters/export.xlsx", headers=world.headers("admin"))
    assert got.status_code == 200 and got.content[:2] == b"PK"
    files = {"file": ("duty.xlsx", got.content, "application/octet-stream")}
    result = client.post("/api/v1/matters/import", files=files, headers=world.headers("admin"))
    assert result.status_code == 200 and result.json()["unchanged"] == 3
    refused = client.post("/api/v1/matters/import", files=files, headers=world.headers("dispatcher"))
    assert refused.status_code == 403
