"""``sudi model …``: train, apply and measure dispatch classifiers on a district's own history (issue 3).

A face over :mod:`sudi.intelligence.classify`. Human-readable progress and problems go to stderr; the
machine-readable result (``evaluate``'s JSON) is the last line of stdout. Bad input exits 2 with a
Chinese + English message; nothing prompts.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from sudi.core.errors import SudiError

if TYPE_CHECKING:
    from sudi.intelligence.classify import Table

model_app = typer.Typer(help="分类模型 / dispatch classifiers: train, predict, evaluate", no_args_is_help=True,
                        add_completion=False)
console = Console(stderr=True)

InputOption = Annotated[Path, typer.Option("--input", help="CSV (UTF-8, UTF-8 BOM, GB18030) or XLSX file")]
TextOption = Annotated[str, typer.Option("--text", help="Text column(s), comma-separated; joined in that order")]
SheetOption = Annotated[str | None, typer.Option("--sheet", help="XLSX sheet (default: the first)")]
PREDICTION_COLUMNS = ("predicted_label", "confidence", "top_labels")


def _fail(message_zh: str, message_en: str, code: int = 2) -> NoReturn:
    console.print(f"[red]错误 / error:[/red] {message_zh} / {message_en}", highlight=False)
    raise typer.Exit(code)


def _read(path: Path, sheet: str | None) -> Table:
    from sudi.intelligence.classify import read_table

    return read_table(path, sheet=sheet)


def _report_skipped(what_zh: str, what_en: str, rows: list[int]) -> None:
    if rows:
        shown = ", ".join(str(r) for r in rows[:10]) + (" …" if len(rows) > 10 else "")
        console.print(f"[yellow]跳过 {len(rows)} 行（{what_zh}）/ skipped {len(rows)} rows ({what_en}):[/yellow] "
                      f"{shown}", highlight=False)


def _texts_and_labels(table: Table, text_columns: list[str], label: str | None
                      ) -> tuple[list[int], list[str], list[str]]:
    """Rows worth using: (file row numbers, texts, labels). Empty text or label rows are reported, not fatal."""
    texts = table.texts(text_columns)
    labels = [v.strip() for v in table.column(label)] if label else [""] * len(texts)
    keep, no_text, no_label = [], [], []
    for i, (text, lab) in enumerate(zip(texts, labels, strict=True)):
        row = i + 2  # 1-based, after the header: what a person sees in Excel
        if not text:
            no_text.append(row)
        elif label and not lab:
            no_label.append(row)
        else:
            keep.append(i)
    _report_skipped("文本为空", "empty text", no_text)
    _report_skipped("标签为空", "empty label", no_label)
    return keep, [texts[i] for i in keep], [labels[i] for i in keep]


@model_app.command("train")
def train(input_file: Annotated[Path | None, typer.Option("--input", help="CSV (UTF-8, UTF-8 BOM, GB18030) or "
                                                         "XLSX file")] = None,
          text: Annotated[str | None, typer.Option("--text", help="Text column(s), comma-separated; joined in "
                                                   "that order")] = None,
          label: Annotated[str | None, typer.Option("--label", help="Label column (category, unit, type …)")] = None,
          output: Annotated[Path | None, typer.Option("--output", help="Model file to write")] = None,
          sheet: SheetOption = None,
          time_column: Annotated[str | None, typer.Option("--time", help="Date column: weigh recent rows more "
                                                          "(routing drifts over time)")] = None,
          half_life: Annotated[float, typer.Option("--half-life", min=0.01, max=10.0,
                                                   help="With --time: weight halves every this fraction of "
                                                   "the history")] = 0.2,
          c: Annotated[float, typer.Option("--c", min=1e-4, max=100.0, help="SVM regularisation")] = 0.5,
          from_db: Annotated[bool, typer.Option("--from-db", help="Train the product's dispatch models on the "
                                                "database's archived appeals instead of a file")] = False,
          db: Annotated[str | None, typer.Option("--db", help="With --from-db: database URL (env "
                                                 "SUDI_DATABASE_URL)")] = None,
          kind: Annotated[str, typer.Option("--kind", help="With --from-db: category, appeal_type, lead_unit "
                                            "or all")] = "all",
          force: Annotated[bool, typer.Option("--force", help="With --from-db: put the new model in use even if "
                                              "it is worse on the held-out slice (audited)")] = False) -> None:
    """Train a classifier on a labelled history and save it as a model file; or, with --from-db, retrain the
    product's dispatch models on the archive (a new model replaces the one in use only if not worse)."""
    from sudi.intelligence.classify import TrainSettings, parse_columns, recency_weights, time_key, train_classifier

    if from_db:
        _train_from_db(db, kind, force)
        return
    if input_file is None or text is None or label is None or output is None:
        absent = [name for name, value in (("--input", input_file), ("--text", text), ("--label", label),
                                           ("--output", output)) if value is None]
        _fail(f"缺少参数 {'、'.join(absent)}（或使用 --from-db）", f"missing option(s) {', '.join(absent)} "
              "(or use --from-db)")
    try:
        columns = parse_columns(text)
        table = _read(input_file, sheet)
        keep, texts, labels = _texts_and_labels(table, columns, label)
        weights = None
        if time_column:
            keys = [time_key(v) for v in table.column(time_column)]
            kept_keys = [keys[i] for i in keep]
            missing = sum(k is None for k in kept_keys)
            if missing:
                console.print(f"[yellow]{missing} 行时间无法识别，按中位数处理 / {missing} rows without a usable "
                              f"time get the median weight[/yellow]")
            weights = recency_weights(kept_keys, half_life)
        if not texts:
            _fail("没有可用于训练的行", "no usable rows to train on")
        started = time.perf_counter()
        model = train_classifier(texts, labels, settings=TrainSettings(c=c), sample_weight=weights,
                                 order_keys=kept_keys if time_column else None,
                                 extra_manifest={"source": {"file": input_file.name, "text_columns": columns,
                                                            "label_column": label, "time_column": time_column,
                                                            "half_life": half_life if time_column else None,
                                                            "rows_in_file": len(table.rows),
                                                            "rows_skipped": len(table.rows) - len(texts)}})
        seconds = time.perf_counter() - started
        output.parent.mkdir(parents=True, exist_ok=True)
        model.save(output)
    except SudiError as exc:
        _fail(exc.message_zh, exc.message_en)
    except OSError as exc:
        _fail(f"无法写入 {output}：{exc}", f"cannot write {output}: {exc}")
    quality = model.manifest.get("held_out_quality")
    console.print(f"[green]已训练[/green] / trained: {len(texts)} 行 rows, {len(model.labels)} 类 labels, "
                  f"{model.extractor.n_features} features, {seconds:.1f} s → {output} "
                  f"({output.stat().st_size / 1e6:.1f} MB)", highlight=False)
    if quality:
        console.print(f"留出集 / held-out ({quality['n']}): accuracy {quality['accuracy']:.3f}, "
                      f"macro-F1 {quality['macro_f1']:.3f}, top-3 {quality['top3_accuracy']:.3f}", highlight=False)


def _train_from_db(db: str | None, kind: str, force: bool) -> None:
    """``sudi model train --from-db``: the last stdout line is JSON, one object per kind."""
    from sudi.appeals import smart_dispatch
    from sudi.core.config import Settings
    from sudi.core.db import make_engine, make_session_factory
    from sudi.directory.service import Actor
    from sudi.migrate import is_current

    kinds = list(smart_dispatch.KINDS) if kind == "all" else [k.strip() for k in kind.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in smart_dispatch.KINDS]
    if unknown or not kinds:
        _fail(f"未知的模型类型 {kind}（可选 category、appeal_type、lead_unit、all）",
              f"unknown kind {kind!r}: category, appeal_type, lead_unit or all")
    settings = Settings.from_env(db)
    try:
        current = is_current(settings.database_url)
    except Exception as exc:  # an unreachable database is the user's to fix: say which
        _fail(f"无法连接数据库 {settings.database_url}：{exc}", f"cannot open {settings.database_url}: {exc}")
    if not current:
        _fail("数据库未迁移到最新版本，请先运行 sudi init", "the schema is not current; run `sudi init` first")
    engine = make_engine(settings.database_url)
    session = make_session_factory(engine)()
    actor = Actor(id=None, username="cli", name="命令行训练", role="system")
    try:
        reports = smart_dispatch.train_from_db(
            session, actor, model_dir=smart_dispatch.model_dir_for(settings.media_dir), kinds=kinds, force=force,
            progress=lambda message: console.print(message, highlight=False))
    except SudiError as exc:
        _fail(exc.message_zh, exc.message_en)
    finally:
        session.close()
        engine.dispose()
    for r in reports:
        if r.status == "skipped":
            console.print(f"[yellow]{r.kind}: 跳过 / skipped[/yellow] {r.message}", highlight=False)
            continue
        new = r.new_quality or {}
        old = r.old_quality or {}
        line = (f"{r.kind} v{r.version}: 训练 {r.training_size} 件 / trained on {r.training_size}, 留出 "
                f"{r.held_out_size} 件 / held out; 新模型 accuracy {new.get('accuracy', '—')} macro-F1 "
                f"{new.get('macro_f1', '—')}")
        if r.old_version is not None:
            line += (f"; 在用 v{r.old_version} accuracy {old.get('accuracy', '—')} macro-F1 "
                     f"{old.get('macro_f1', '—')}")
        verdict = {"active": "[green]已启用 / now in use[/green]", "rejected": "[yellow]未替换（更差）/ kept "
                   "the model in use (new one is worse)[/yellow]"}[r.status]
        if r.forced:
            verdict += " [red](--force，已记入审计日志 / forced, audited)[/red]"
        console.print(f"{line} → {verdict}", highlight=False)
        if r.dropped_thresholds:
            console.print(f"[yellow]新模型不再支持以下分类的自动派单阈值，已关闭：{'、'.join(r.dropped_thresholds)}"
                          "[/yellow]", highlight=False)
    typer.echo(json.dumps([{"kind": r.kind, "status": r.status, "version": r.version,
                            "training_size": r.training_size, "held_out_size": r.held_out_size,
                            "new": r.new_quality, "old_version": r.old_version, "old": r.old_quality,
                            "forced": r.forced, "seconds": r.seconds, "message": r.message} for r in reports],
                          ensure_ascii=False))
    if all(r.status == "skipped" for r in reports):
        raise typer.Exit(2)


def _load(model: Path):  # type: ignore[no-untyped-def]
    from sudi.intelligence.classify import load_classifier

    if not model.exists():
        _fail(f"模型文件不存在：{model}", f"no such model file: {model}")
    return load_classifier(model)


@model_app.command("predict")
def predict(model: Annotated[Path, typer.Option("--model", help="Model file from `sudi model train`")],
            input_file: InputOption,
            output: Annotated[Path, typer.Option("--output", help="CSV to write: the input rows plus "
                                                 "predicted_label, confidence, top_labels")],
            text: Annotated[str | None, typer.Option("--text", help="Text column(s), comma-separated (default: "
                                                     "the model's training columns)")] = None,
            sheet: SheetOption = None,
            explain: Annotated[bool, typer.Option("--explain", help="Add an 'evidence' column: the words that "
                                                  "weighed most")] = False) -> None:
    """Suggest a label for each row; rows with empty text are kept with empty suggestion cells."""
    from sudi.intelligence.classify import parse_columns, write_csv

    try:
        clf = _load(model)
        columns = parse_columns(text) if text else list(clf.manifest.get("source", {}).get("text_columns") or [])
        if not columns:
            _fail("请用 --text 指定文本列", "give the text column(s) with --text")
        table = _read(input_file, sheet)
        keep, texts, _ = _texts_and_labels(table, columns, None)
        predictions = clf.predict_many(texts, top_k=3, explain=5 if explain else 0)
        extra = [*PREDICTION_COLUMNS, *(["evidence"] if explain else [])]
        # A re-run on its own output replaces the old suggestion columns instead of adding a second set.
        kept_cols = [k for k, name in enumerate(table.columns) if name not in extra]
        header = [table.columns[k] for k in kept_cols] + extra
        cells = {i: p for i, p in zip(keep, predictions, strict=True)}
        rows = []
        for i, row in enumerate(table.rows):
            base = [row[k] for k in kept_cols]
            p = cells.get(i)
            if p is None:
                rows.append(base + [""] * len(extra))
                continue
            out = [p.label, f"{p.confidence:.4f}", "|".join(s.label for s in p.top)]
            if explain:
                out.append("|".join(e.term for e in p.evidence))
            rows.append(base + out)
        output.parent.mkdir(parents=True, exist_ok=True)
        write_csv(output, header, rows)
    except SudiError as exc:
        _fail(exc.message_zh, exc.message_en)
    except OSError as exc:
        _fail(f"无法写入 {output}：{exc}", f"cannot write {output}: {exc}")
    console.print(f"[green]已预测[/green] / predicted {len(texts)} 行 rows → {output}", highlight=False)


def single_call_rates(clf, texts: list[str], *, rounds: int = 5, calls: int = 500,  # type: ignore[no-untyped-def]
                      budget_s: float = 1.0) -> tuple[float, float]:
    """(predictions per CPU second, per wall-clock second) when each message is one call with its explanation,
    on one core: the median of a few short rounds. CPU time is the throughput of one core; on a busy machine
    the wall clock also counts the time the neighbours held it."""
    from threadpoolctl import threadpool_limits

    if not texts:
        return 0.0, 0.0
    per_cpu, per_wall = [], []
    with threadpool_limits(limits=1):
        for t in texts[:20]:  # warm caches and lazy tables, as a running server has them
            clf.predict(t)
        done = 0
        for _ in range(rounds):
            calls_in_round, started, cpu = 0, time.perf_counter(), time.process_time()
            while calls_in_round < calls and time.perf_counter() - started < budget_s:
                clf.predict(texts[done % len(texts)])
                done += 1
                calls_in_round += 1
            per_cpu.append(calls_in_round / max(1e-9, time.process_time() - cpu))
            per_wall.append(calls_in_round / (time.perf_counter() - started))
    return statistics.median(per_cpu), statistics.median(per_wall)


@model_app.command("evaluate")
def evaluate(model: Annotated[Path, typer.Option("--model", help="Model file from `sudi model train`")],
             input_file: InputOption,
             label: Annotated[str, typer.Option("--label", help="Column with the true label")],
             text: Annotated[str | None, typer.Option("--text", help="Text column(s), comma-separated (default: "
                                                      "the model's training columns)")] = None,
             sheet: SheetOption = None) -> None:
    """Measure a model on labelled rows; the last stdout line is JSON: n, accuracy, macro_f1, top3_accuracy,
    per_second (single calls per CPU second of one core), per_second_wall, batch_per_second."""
    from sudi.intelligence.classify import parse_columns

    try:
        clf = _load(model)
        columns = parse_columns(text) if text else list(clf.manifest.get("source", {}).get("text_columns") or [])
        if not columns:
            _fail("请用 --text 指定文本列", "give the text column(s) with --text")
        table = _read(input_file, sheet)
        _, texts, labels = _texts_and_labels(table, columns, label)
        if not texts:
            _fail("没有可评估的行", "no usable rows to evaluate")
        started = time.perf_counter()
        metrics = clf.evaluate(texts, labels)
        batch_rate = len(texts) / (time.perf_counter() - started)
    except SudiError as exc:
        _fail(exc.message_zh, exc.message_en)
    unknown = sorted(set(labels) - set(clf.labels))
    if unknown:
        console.print(f"[yellow]{len(unknown)} 个标签模型未见过（计为错误）/ labels the model never saw (counted as "
                      f"errors):[/yellow] {'、'.join(unknown[:10])}", highlight=False)
    per_cpu_second, per_wall_second = single_call_rates(clf, texts)
    result = {"n": metrics["n"], "accuracy": round(float(metrics["accuracy"]), 4),
              "macro_f1": round(float(metrics["macro_f1"]), 4),
              "top3_accuracy": round(float(metrics["top3_accuracy"]), 4),
              "per_second": round(per_cpu_second, 1), "per_second_wall": round(per_wall_second, 1),
              "batch_per_second": round(batch_rate, 1),
              "skipped": len(table.rows) - len(texts), "unknown_labels": len(unknown)}
    console.print(f"n={result['n']} accuracy={result['accuracy']} macro_f1={result['macro_f1']} "
                  f"top3={result['top3_accuracy']} single-call/s={result['per_second']}", highlight=False)
    typer.echo(json.dumps(result, ensure_ascii=False))
