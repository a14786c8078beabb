"""``sudi hotspots …``: hotspot mining (热点问题挖掘) on a file, and the product's full recompute.

``sudi hotspots --input FILE --text COL[,COL] --time COL … --output OUT.csv`` runs the method of
:mod:`sudi.intelligence.hotspots` on any CSV/XLSX of appeals; ``sudi hotspots refresh --db URL``
recomputes the stored hotspots of a database. Bad input exits 2 with a Chinese + English message;
rows with an unreadable time are reported and skipped.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sudi.core.errors import SudiError

if TYPE_CHECKING:
    from sudi.intelligence.hotspots import AppealText

hotspots_app = typer.Typer(help="热点问题挖掘 / hotspot mining: on a file, or `refresh` the stored hotspots",
                           add_completion=False, invoke_without_command=True)
console = Console(stderr=True)

OUTPUT_COLUMNS = ("rank", "heat", "title", "keywords", "place", "size", "first_time", "last_time", "ids",
                  "citizens", "supports", "objections", "growth")


def _fail(message_zh: str, message_en: str, code: int = 2) -> NoReturn:
    console.print(f"[red]错误 / error:[/red] {message_zh} / {message_en}", highlight=False)
    raise typer.Exit(code)


def _count(value: str) -> int:
    value = (value or "").strip().replace(",", "")
    try:
        return max(0, int(float(value))) if value else 0
    except ValueError:
        return 0


def _parse_time(value: str) -> datetime | None:
    from sudi.core.clock import DISTRICT_TZ
    from sudi.intelligence.classify.io import time_key

    key = time_key(value)
    if key is None:
        return None
    try:
        # A file's times are the district's wall clock.
        return datetime(*key[:6], tzinfo=DISTRICT_TZ)  # type: ignore[arg-type, misc]
    except ValueError:  # 2019-02-30 and the like
        return None


def read_appeals(path: Path, text: str, time_column: str, *, id_column: str | None = None,
                 citizen: str | None = None, supports: str | None = None, objections: str | None = None,
                 sheet: str | None = None) -> tuple[list[AppealText], list[int]]:
    """The appeals of a file and the (1-based, Excel-style) row numbers skipped for a bad time."""
    from sudi.intelligence.classify.io import parse_columns, read_table
    from sudi.intelligence.hotspots import AppealText

    table = read_table(path, sheet=sheet)
    columns = parse_columns(text)
    for name in [*columns, time_column, *(c for c in (id_column, citizen, supports, objections) if c)]:
        table.index_of(name)
    first, rest = columns[0], columns[1:]
    titles = table.column(first) if rest else [""] * len(table.rows)
    contents = table.texts(rest) if rest else table.column(first)
    times = table.column(time_column)
    ids = table.column(id_column) if id_column else [str(i + 2) for i in range(len(table.rows))]
    citizens = table.column(citizen) if citizen else [""] * len(table.rows)
    ups = table.column(supports) if supports else [""] * len(table.rows)
    downs = table.column(objections) if objections else [""] * len(table.rows)
    appeals: list[AppealText] = []
    bad: list[int] = []
    for i in range(len(table.rows)):
        moment = _parse_time(times[i])
        if moment is None or not (titles[i].strip() or contents[i].strip()):
            bad.append(i + 2)
            continue
        appeals.append(AppealText(ids[i].strip() or str(i + 2), titles[i].strip(), contents[i].strip(), moment,
                                  citizens[i].strip(), _count(ups[i]), _count(downs[i])))
    return appeals, bad


@hotspots_app.callback()
def hotspots(ctx: typer.Context,
             input_file: Annotated[Path | None, typer.Option("--input", help="CSV (UTF-8, BOM, GB18030) or "
                                                             "XLSX")] = None,
             text: Annotated[str | None, typer.Option("--text", help="Text column(s), comma-separated; with two or "
                                                      "more, the first is the title")] = None,
             time_column: Annotated[str | None, typer.Option("--time", help="Time column")] = None,
             id_column: Annotated[str | None, typer.Option("--id", help="Id column (default: the row number)")] = None,
             citizen: Annotated[str | None, typer.Option("--citizen", help="Citizen/user column, for distinct "
                                                         "citizens")] = None,
             supports: Annotated[str | None, typer.Option("--supports", help="Supports (点赞) column")] = None,
             objections: Annotated[str | None, typer.Option("--objections", help="Objections (反对) column")] = None,
             top: Annotated[int, typer.Option("--top", min=1, max=100000, help="How many hotspots to write")] = 20,
             output: Annotated[Path | None, typer.Option("--output", help="CSV to write")] = None,
             sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX sheet")] = None,
             window_days: Annotated[float | None, typer.Option("--window-days", min=0.1,
                                                               help="Cluster time window")] = None,
             half_life_days: Annotated[float | None, typer.Option("--half-life-days", min=0.1,
                                                                  help="Heat fading half-life")] = None) -> None:
    """Find the hotspots of a file of appeals and write them ranked by heat."""
    if ctx.invoked_subcommand is not None:
        return
    missing = [flag for flag, value in (("--input", input_file), ("--text", text), ("--time", time_column),
                                        ("--output", output)) if not value]
    if missing:
        _fail(f"缺少参数 {'、'.join(missing)}", f"missing option(s) {', '.join(missing)}")
    assert input_file and text and time_column and output
    from sudi.intelligence.classify.io import write_csv
    from sudi.intelligence.hotspots import HotspotParams, find_hotspots

    try:
        appeals, bad = read_appeals(input_file, text, time_column, id_column=id_column, citizen=citizen,
                                    supports=supports, objections=objections, sheet=sheet)
        if half_life_days is None and appeals:
            # A file is a period under review: by default a hotspot at its start counts half as much as
            # one at its end, whatever the period's length (a live board uses its own setting).
            span = max(a.time for a in appeals) - min(a.time for a in appeals)
            half_life_days = max(30.0, span.total_seconds() / 86400.0)
        params = HotspotParams.from_mapping({"window_days": window_days, "half_life_days": half_life_days})
    except SudiError as exc:
        _fail(exc.message_zh, exc.message_en)
    if bad:
        shown = ", ".join(str(r) for r in bad[:10]) + (" …" if len(bad) > 10 else "")
        console.print(f"[yellow]跳过 {len(bad)} 行（时间无法识别或文本为空）/ skipped {len(bad)} rows (bad time or "
                      f"empty text):[/yellow] {shown}", highlight=False)
    if not appeals:
        _fail("没有可用的诉求行", "no usable appeal rows")
    started = time.perf_counter()
    with Progress(TextColumn("热点挖掘 / mining"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("mining", total=len(appeals))
        found, _index = find_hotspots(appeals, params, top=top, workers=min(2, os.cpu_count() or 1),
                                      progress=lambda done: progress.update(task, completed=done))
    rows = [[str(h.rank), f"{h.heat:.3f}", h.title, " ".join(h.keywords), h.place, str(h.size),
             h.first_time.strftime("%Y-%m-%d %H:%M:%S"), h.last_time.strftime("%Y-%m-%d %H:%M:%S"),
             "|".join(h.member_ids), str(h.citizens), str(h.supports), str(h.objections), f"{h.growth:.2f}"]
            for h in found]
    try:
        write_csv(output, OUTPUT_COLUMNS, rows)
    except OSError as exc:
        _fail(f"无法写入 {output}：{exc.strerror or exc}", f"cannot write {output}: {exc}")
    took = time.perf_counter() - started
    console.print(f"{len(appeals)} 条诉求，{len(found)} 个热点，用时 {took:.1f} 秒 → {output} / "
                  f"{len(appeals)} appeals, {len(found)} hotspots written", highlight=False)


@hotspots_app.command("refresh")
def refresh(db: Annotated[str | None, typer.Option("--db", help="Database URL (env SUDI_DATABASE_URL)")] = None,
            as_job: Annotated[bool, typer.Option("--as-job", hidden=True,
                                                 help="Run as the server's claimed nightly job")] = False,
            nice: Annotated[int, typer.Option(min=0, max=19, help="Lower this process's priority")] = 0) -> None:
    """Recompute every stored hotspot from the database's appeals (the server does it nightly, and joins
    new appeals as they arrive)."""
    from sudi.core.config import Settings
    from sudi.core.db import make_engine, make_session_factory
    from sudi.hotspots.service import finish_full_recompute, refresh_hotspots

    if nice:
        os.nice(nice)  # the server's requests come first; the recompute takes what is left
    settings = Settings.from_env(db)
    session = make_session_factory(make_engine(settings.database_url))()
    try:
        with Progress(TextColumn("热点重算 / recompute"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task("refresh", total=None)

            def report(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            summary = refresh_hotspots(session, progress=report, workers=min(2, os.cpu_count() or 1))
        if as_job:
            finish_full_recompute(session, ok=True, detail=_summary_line(summary))
    except Exception as exc:
        if as_job:
            session.rollback()
            finish_full_recompute(session, ok=False, detail=str(exc)[:500])
        if isinstance(exc, SudiError):
            _fail(exc.message_zh, exc.message_en)
        # An unreachable or unmigrated database: say so instead of a traceback.
        first = (str(getattr(exc, "orig", None) or exc).splitlines() or [""])[0][:300]
        _fail(f"无法重算热点（数据库不可用或未迁移，请先运行 sudi init）：{first}",
              f"cannot recompute hotspots (database unreachable or not migrated; run `sudi init`): {first}")
    finally:
        session.close()
    console.print(f"热点已重算 / hotspots recomputed: {summary}", highlight=False)


def _summary_line(summary: dict[str, object]) -> str:
    return (f"{summary['appeals']} 条诉求，{summary['hotspots']} 个热点；读取 {summary['read_s']} 秒，"
            f"聚类 {summary['cluster_s']} 秒，写入 {summary['write_s']} 秒")
