"""``sudi report``: reports written to files (a face over ``sudi.assessment``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sudi.core.config import Settings
from sudi.core.errors import InvalidInput, SudiError

report_app = typer.Typer(help="报告 / reports", no_args_is_help=True)
console = Console(stderr=True)


@report_app.command("monthly")
def monthly(period: Annotated[str, typer.Option("--period", help="月份 YYYY-MM / the month")],
            output: Annotated[Path, typer.Option("--output", "-o", help="report.xlsx: writes report.xlsx AND "
                                                 "report.pdf next to each other")],
            db: Annotated[str | None, typer.Option("--db", help="Database URL (env SUDI_DATABASE_URL); "
                                                   "default sqlite:///var/sudi.db")] = None) -> None:
    """The monthly assessment report (月度考核报告): Excel with a chart, and PDF with charts and an
    embedded Chinese font (needs fonts-wqy-zenhei or SUDI_REPORT_FONT)."""
    from sudi.assessment import report, service
    from sudi.core.db import make_engine, make_session_factory

    try:
        parsed = service.parse_period(period)
        if parsed.kind != "month":
            raise InvalidInput("月度报告的周期须为 YYYY-MM", "the monthly report needs --period YYYY-MM",
                                       field="period")
        report.find_cjk_font()
    except SudiError as exc:
        console.print(f"[red]错误 / error:[/red] {exc.message_zh} / {exc.message_en}")
        raise typer.Exit(2) from None
    engine = make_engine(Settings.from_env(db).database_url)
    session = make_session_factory(engine)()
    try:
        with console.status("正在生成月度报告 / writing the monthly report"):
            files = report.write_monthly_report(session, parsed, output)
    except SudiError as exc:
        console.print(f"[red]错误 / error:[/red] {exc.message_zh} / {exc.message_en}")
        raise typer.Exit(2) from None
    except Exception as exc:  # an unreachable or unmigrated database: say so instead of a traceback
        console.print(f"[red]错误 / error:[/red] 无法生成报告 / cannot write the report: {exc}")
        raise typer.Exit(2) from None
    finally:
        session.close()
        engine.dispose()
    console.print(f"已写入 / written: {files.xlsx} , {files.pdf}")
