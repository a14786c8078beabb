"""The ``sudi`` command: a face over the same services as the web and the API.

No command prompts when its options are given; errors print a bilingual message and exit non-zero.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sudi.analytics_cli import analytics_app
from sudi.core.config import Settings
from sudi.core.errors import SudiError
from sudi.hotspot_cli import hotspots_app
from sudi.model_cli import model_app
from sudi.report_cli import report_app

app = typer.Typer(help="sudi 诉递: 榴乡诉递 smart governance platform", no_args_is_help=True,
                  add_completion=False)
console = Console(stderr=True)

app.add_typer(model_app, name="model")
app.add_typer(hotspots_app, name="hotspots")
app.add_typer(analytics_app, name="analytics")
app.add_typer(report_app, name="report")

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (env SUDI_DATABASE_URL); "
                                              "default sqlite:///var/sudi.db")]


def _fail(message: str, code: int = 2) -> None:
    console.print(f"[red]错误 / error:[/red] {message}")
    raise typer.Exit(code)


def _settings(db: str | None) -> Settings:
    return Settings.from_env(db)


def _migrate(settings: Settings) -> None:
    from sudi.migrate import upgrade

    try:
        upgrade(settings.database_url)
    except Exception as exc:  # report any connection or migration failure as a CLI error
        _fail(f"无法迁移数据库 / cannot migrate {settings.database_url}: {exc}")


def _session(settings: Settings):  # type: ignore[no-untyped-def]
    from sudi.core.db import make_engine, make_session_factory

    return make_session_factory(make_engine(settings.database_url))()


@app.command()
def init(db: DbOption = None,
         admin_password: Annotated[str | None, typer.Option(help="First admin's password "
                                                            "(env SUDI_ADMIN_PASSWORD)")] = None,
         admin_username: Annotated[str, typer.Option(help="First admin's user name")] = "admin") -> None:
    """Migrate the database and create the first admin (strong password required)."""
    from sudi.auth_bootstrap import bootstrap_admin

    settings = _settings(db)
    password = admin_password or os.environ.get("SUDI_ADMIN_PASSWORD")
    _migrate(settings)
    session = _session(settings)
    try:
        created = bootstrap_admin(session, admin_username, password)
    except SudiError as exc:
        _fail(f"{exc.message_zh} / {exc.message_en}")
    finally:
        session.close()
    console.print("[green]数据库已就绪[/green] / database ready" +
                  (f"; 管理员 {admin_username} 已创建" if created else "; 管理员已存在 / admin exists"))


@app.command("demo-data")
def demo_data(db: DbOption = None,
              appeals: Annotated[int, typer.Option(min=0, max=5000, help="How many sample appeals to replay "
                                                   "on the first load")] = 3000) -> None:
    """Migrate if needed, then load the demo district 峄城区 (safe to re-run)."""
    from sudi.demo.loader import load_demo

    settings = _settings(db)
    _migrate(settings)
    session = _session(settings)
    try:
        summary = load_demo(session, console=console, appeals_limit=appeals,
                            model_dir=settings.media_dir / "models")  # smart dispatch's first models
    except SudiError as exc:
        _fail(f"{exc.message_zh} / {exc.message_en}")
    finally:
        session.close()
    console.print(f"[green]演示数据已就绪[/green] / demo ready: {summary}")


@app.command()
def serve(db: DbOption = None, host: Annotated[str, typer.Option()] = "127.0.0.1",
          port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
          workers: Annotated[int, typer.Option(min=1, max=32)] = 1) -> None:
    """Serve the web application and API."""
    import uvicorn

    from sudi.migrate import is_current

    settings = _settings(db)
    try:
        current = is_current(settings.database_url)
    except Exception as exc:  # unreachable database: say so instead of a traceback
        _fail(f"无法连接数据库 / cannot open {settings.database_url}: {exc}")
    if not current:
        _fail("数据库未迁移到最新版本，请先运行 sudi init / run `sudi init` first: schema is not current")
    os.environ["SUDI_DATABASE_URL"] = settings.database_url
    console.print(f"sudi 诉递 on http://{host}:{port}  ({settings.database_url})")
    uvicorn.run("sudi.asgi:app", host=host, port=port, workers=workers, log_level="info")


@app.command("import")
def import_appeals(file: Annotated[Path, typer.Argument(help="XLSX or CSV of historical appeals")],
                   db: DbOption = None,
                   sheet: Annotated[str | None, typer.Option(help="XLSX sheet name")] = None) -> None:
    """Import historical appeals (留言主题, 留言详情, 留言时间, 答复意见, 答复时间 …)."""
    from sudi.appeals.excel import import_file

    settings = _settings(db)
    if not file.exists():
        _fail(f"文件不存在 / no such file: {file}")
    _migrate(settings)
    session = _session(settings)
    try:
        report = import_file(session, file, sheet=sheet, console=console)
    except SudiError as exc:
        _fail(f"{exc.message_zh} / {exc.message_en}")
    finally:
        session.close()
    for problem in report.problems:
        console.print(f"[yellow]第 {problem.row} 行 / row {problem.row}:[/yellow] {problem.message}")
    console.print(f"已导入 {report.imported} 条，跳过 {report.skipped} 条（重复），出错 {len(report.problems)} 行"
                  f" / imported {report.imported}, skipped {report.skipped}, bad rows {len(report.problems)}")
    if report.imported == 0 and report.problems:
        raise typer.Exit(1)


matters_app = typer.Typer(help="权责清单 / the duty list", no_args_is_help=True)
app.add_typer(matters_app, name="matters")


@matters_app.command("export")
def matters_export(file: Annotated[Path, typer.Argument(help="XLSX to write")], db: DbOption = None) -> None:
    """Write the duty list to an Excel file."""
    from sudi.directory.excel import export_matters_xlsx

    session = _session(_settings(db))
    try:
        file.write_bytes(export_matters_xlsx(session))
    finally:
        session.close()
    console.print(f"已导出到 {file} / written to {file}")


@matters_app.command("import")
def matters_import(file: Annotated[Path, typer.Argument(help="XLSX in the export's layout")],
                   db: DbOption = None) -> None:
    """Create or update duty-list matters from an Excel file (bad rows are reported and skipped)."""
    from sudi.directory.excel import import_matters_xlsx
    from sudi.directory.service import SYSTEM

    if not file.exists():
        _fail(f"文件不存在 / no such file: {file}")
    session = _session(_settings(db))
    try:
        report = import_matters_xlsx(session, SYSTEM, file.read_bytes())
    except SudiError as exc:
        _fail(f"{exc.message_zh} / {exc.message_en}")
    finally:
        session.close()
    for row, message in report.problems:
        console.print(f"[yellow]第 {row} 行 / row {row}:[/yellow] {message}")
    bad = len(report.problems)
    console.print(f"新增 {report.created}，更新 {report.updated}，未变 {report.unchanged}，出错 {bad} 行 / "
                  f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}, bad rows {bad}")
    if report.problems and not (report.created or report.updated or report.unchanged):
        raise typer.Exit(1)


@app.command("mark-overdue")
def mark_overdue_command(db: DbOption = None) -> None:
    """Flag appeals past a deadline (the server also runs this every 5 minutes)."""
    from sudi.appeals.service import mark_overdue

    session = _session(_settings(db))
    try:
        flagged = mark_overdue(session)
    finally:
        session.close()
    console.print(f"新增超期 {flagged} 件 / newly overdue: {flagged}")


@app.command("score-replies")
def score_replies_command(db: DbOption = None) -> None:
    """Score the sent replies that have no reply-quality score yet (e.g. after upgrading)."""
    from sudi.appeals.reply_review import score_unscored_replies
    from sudi.directory.service import SYSTEM

    session = _session(_settings(db))
    try:
        count = score_unscored_replies(session, SYSTEM)
    finally:
        session.close()
    console.print(f"已补评 {count} 条答复 / replies scored: {count}")


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="sudi")


if __name__ == "__main__":  # pragma: no cover
    main()
