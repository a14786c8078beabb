"""``sudi analytics``: rebuild the dashboards' rollup and run the early-warning detectors."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sudi.core.config import Settings
from sudi.core.errors import SudiError

analytics_app = typer.Typer(help="数据看板与预警 / dashboards and early warning", no_args_is_help=True)
console = Console(stderr=True)

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (env SUDI_DATABASE_URL); "
                                              "default sqlite:///var/sudi.db")]


def _session(db: str | None):  # type: ignore[no-untyped-def]
    from sudi.core.db import make_engine, make_session_factory
    from sudi.migrate import is_current

    settings = Settings.from_env(db)
    try:
        current = is_current(settings.database_url)
    except Exception as exc:  # unreachable database: say so instead of a traceback
        console.print(f"[red]错误 / error:[/red] 无法连接数据库 / cannot open {settings.database_url}: {exc}")
        raise typer.Exit(2) from None
    if not current:
        console.print("[red]错误 / error:[/red] 数据库未迁移到最新版本，请先运行 sudi init / run `sudi init` first")
        raise typer.Exit(2)
    return make_session_factory(make_engine(settings.database_url))()


@analytics_app.command("rebuild")
def rebuild(db: DbOption = None,
            days: Annotated[int | None, typer.Option(min=1, max=4000, help="Only the last N days "
                                                     "(default: everything)")] = None) -> None:
    """Rebuild the dashboards' rollup from the appeals (everything, or the last N days)."""
    from sudi.analytics import service

    session = _session(db)
    began = time.perf_counter()
    try:
        if days:
            rows = service.refresh_recent(session, days)
            summary = {"rows": rows, "days": days}
        else:
            with Progress(TextColumn("汇总 / rollup"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console) as progress:
                task = progress.add_task("months", total=None)

                def step(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                summary = service.rebuild_all(session, progress=step)
    except SudiError as exc:
        console.print(f"[red]错误 / error:[/red] {exc.message_zh} / {exc.message_en}")
        raise typer.Exit(2) from None
    finally:
        session.close()
    console.print(f"[green]汇总已重建[/green] / rollup rebuilt: {summary} in {time.perf_counter() - began:.1f} s")


@analytics_app.command("warnings")
def warnings(db: DbOption = None) -> None:
    """Run the early-warning detectors now and file what they find in the supervisors' queue."""
    from sudi.analytics import service

    session = _session(db)
    try:
        counts = service.detect_warnings(session)
    except SudiError as exc:
        console.print(f"[red]错误 / error:[/red] {exc.message_zh} / {exc.message_en}")
        raise typer.Exit(2) from None
    finally:
        session.close()
    console.print(f"新增预警 {counts['created']} 条，更新 {counts['updated']} 条，跳过 {counts['skipped']} 条 / "
                  f"created {counts['created']}, updated {counts['updated']}, skipped {counts['skipped']}")
