"""The HTTP application: routers from each domain's face, bilingual errors, health, jobs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from sudi.core.config import Settings
from sudi.core.db import make_engine, make_session_factory
from sudi.core.errors import SudiError

log = logging.getLogger("sudi")

_HTTP_MESSAGES = {
    404: ("页面或接口不存在", "not found"),
    405: ("不支持该请求方法", "method not allowed"),
    401: ("请先登录", "authentication required"),
    403: ("无权访问", "forbidden"),
}


def _error_response(request: Request, status: int, body: dict[str, Any]) -> Response:
    if request.url.path.startswith("/open311/"):
        from sudi.open311.api import open311_error

        return open311_error(request, status, body["message_en"])
    from sudi.web.errors import html_error, wants_html

    if wants_html(request):  # a page outside /api/ and /open311/: a Chinese error page
        return html_error(request, status, body)
    return JSONResponse({"error": body}, status_code=status)


def _validation_message(errors: list[Any]) -> tuple[str, str, str | None]:
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    where = ".".join(loc) or "请求"
    if first.get("type") == "json_invalid":
        return "请求正文不是有效的 JSON", "the request body is not valid JSON", None
    return (f"参数 {where} 无效：{first.get('msg', '')}", f"{where}: {first.get('msg', 'invalid')}",
            loc[-1] if loc else None)


def create_app(settings: Settings | None = None, *, run_jobs: bool = False) -> FastAPI:
    settings = settings or Settings.from_env()
    engine = make_engine(settings.database_url)
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = None
        if run_jobs:
            worker = threading.Thread(target=_periodic_jobs, args=(app, stop), daemon=True, name="sudi-jobs")
            worker.start()
            threading.Thread(target=_analytics_jobs, args=(app, stop), daemon=True, name="sudi-analytics").start()
            app.state.hotspot_jobs = _HotspotJobs(app, stop)
            threading.Thread(target=app.state.hotspot_jobs.run, daemon=True, name="sudi-hotspots").start()
        yield
        stop.set()
        if run_jobs:
            app.state.hotspot_jobs.wake.set()
        if worker:
            worker.join(timeout=5)
        engine.dispose()

    app = FastAPI(title="sudi 诉递", version="0.1.0", lifespan=lifespan,
                  description="榴乡诉递: one pipeline for every citizen appeal (一网通办 + 一网通治).")
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)

    @app.exception_handler(SudiError)
    async def _sudi_error(request: Request, exc: SudiError) -> Response:
        return _error_response(request, exc.status, exc.as_dict())

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        zh, en, field = _validation_message(list(exc.errors()))
        body: dict[str, Any] = {"code": "invalid_input", "message": zh, "message_en": en}
        if field:
            body["field"] = field
        return _error_response(request, 422, body)

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> Response:
        # Defence in depth: input that slipped past validation and that the database refused
        # (an out-of-range number, a NUL byte) is the caller's error, not the server's.
        log.warning("database refused input on %s: %s", request.url.path, exc.orig)
        return _error_response(request, 422, {"code": "invalid_input", "message": "输入数据超出允许范围",
                                              "message_en": "the database refused a value as out of range"})

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        zh, en = _HTTP_MESSAGES.get(exc.status_code, ("请求无法处理", str(exc.detail)))
        return _error_response(request, exc.status_code, {"code": f"http_{exc.status_code}", "message": zh,
                                                          "message_en": en})

    @app.get("/healthz", tags=["health"], summary="健康检查 / health and database check")
    def healthz() -> Response:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # the point of the check is to report any failure
            return JSONResponse({"status": "error", "database": str(exc)[:200]}, status_code=503)
        return JSONResponse({"status": "ok", "database": engine.dialect.name})

    from sudi.appeals.api import public_router
    from sudi.appeals.api import router as appeals_router
    from sudi.directory.api import router as directory_router
    from sudi.open311.api import router as open311_router

    app.include_router(directory_router)
    app.include_router(appeals_router)
    app.include_router(public_router)
    app.include_router(open311_router)
    from sudi.assessment.api import router as assessment_router
    from sudi.assessment.views import router as assessment_views

    app.include_router(assessment_router)
    app.include_router(assessment_views)  # the assessment pages (web face)
    from sudi.analytics.api import router as analytics_router
    from sudi.analytics.views import router as analytics_views

    app.include_router(analytics_router)
    app.include_router(analytics_views)

    from sudi.hotspots.api import router as hotspots_router
    from sudi.hotspots.views import router as hotspots_views

    app.include_router(hotspots_router)
    app.include_router(hotspots_views)  # the hotspot board, 主动治理 tasks, hotspot parameters

    from sudi.web import install as install_web

    install_web(app)  # the web face (portal, staff pages, static files, CSRF) after the API routes
    return app


def _periodic_jobs(app: FastAPI, stop: threading.Event, every_s: float = 300.0) -> None:
    from sudi.appeals.service import mark_overdue

    while not stop.wait(5 if not getattr(app.state, "jobs_ran", False) else every_s):
        app.state.jobs_ran = True
        session = app.state.session_factory()
        try:
            flagged = mark_overdue(session)
            if flagged:
                log.info("overdue job flagged %d appeals", flagged)
        except Exception:  # a failed run must not kill the loop; the next run retries
            log.exception("overdue job failed")
        finally:
            session.close()


def _analytics_jobs(app: FastAPI, stop: threading.Event, every_s: float = 60.0) -> None:
    """The dashboards' rollup (recent days every minute, a wider window hourly) and the warnings."""
    from sudi.analytics.service import run_periodic

    while not stop.wait(every_s):
        session = app.state.session_factory()
        try:
            run_periodic(session)
        except Exception:  # a failed run must not kill the loop; the next run retries
            log.exception("analytics job failed")
        finally:
            session.close()


class _HotspotJobs:
    """Hotspots in the server: a new appeal joins at once (the intake's notice wakes this thread;
    a tick every ``tick_s`` catches appeals that came another way), heat and growth are rescored every
    few minutes, and the full recompute (the first one, the nightly one, one an admin asked for)
    runs in a child process (`sudi hotspots refresh --as-job`), during which joins wait."""

    def __init__(self, app: FastAPI, stop: threading.Event, tick_s: float = 30.0) -> None:
        self.app, self.stop, self.tick_s = app, stop, tick_s
        self.wake = threading.Event()
        self.wake.set()   # the first tick at once: a database without hotspots starts its first recompute
        self.child: subprocess.Popen[bytes] | None = None
        self.rescored_at = float("-inf")

    def run(self) -> None:
        from sudi.core import signals

        unsubscribe = [signals.subscribe(topic, self.wake.set)
                       for topic in (signals.APPEAL_RECEIVED, signals.HOTSPOT_RECOMPUTE_REQUESTED)]
        self.prepare()
        try:
            while not self.stop.is_set():
                # While a recompute runs, look every second for its end: joins wait for it.
                self.wake.wait(1.0 if self.child is not None else self.tick_s)
                self.wake.clear()
                if not self.stop.is_set():
                    self.tick()
        finally:
            for undo in unsubscribe:
                undo()

    def prepare(self) -> None:
        from sudi.hotspots import service

        session = self.app.state.session_factory()
        try:
            service.prepare_joins(session)
        except Exception:  # only a head start: the first join loads the same
            log.exception("hotspot job could not prepare its joins")
        finally:
            session.close()

    def tick(self) -> None:
        from sudi.hotspots import service

        session = self.app.state.session_factory()
        try:
            if self.child is not None:
                code = self.child.poll()
                if code is None:
                    return
                self.child = None
                if code != 0 and service.recompute_status(session)["running"]:
                    service.finish_full_recompute(session, ok=False, detail=f"子进程退出码 / exit code {code}")
            reason = service.claim_full_recompute(session)
            if reason is not None:
                log.info("hotspot full recompute starts (%s)", reason)
                try:
                    self.child = self._start_recompute()
                except OSError as exc:   # claimed but never started: say so, or it reads "running" for hours
                    service.finish_full_recompute(session, ok=False, detail=f"无法启动重算进程 / cannot start: {exc}")
                    raise
                return
            joined = service.join_new_appeals(session, first_recompute=False)
            if joined:
                log.info("hotspot job took in %d appeals", joined)
            every_s = 60.0 * service.hotspot_schedule(session)["rescore_every_minutes"]
            if time.monotonic() - self.rescored_at >= every_s:
                service.rescore_hotspots(session)
                self.rescored_at = time.monotonic()
        except Exception:  # a failed run must not kill the loop; the next run retries
            log.exception("hotspot job failed")
        finally:
            session.close()

    def _start_recompute(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, "SUDI_DATABASE_URL": self.app.state.settings.database_url}
        return subprocess.Popen([sys.executable, "-m", "sudi", "hotspots", "refresh", "--as-job", "--nice", "10"],
                                env=env, stdin=subprocess.DEVNULL)
