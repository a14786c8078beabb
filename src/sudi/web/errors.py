"""Error pages for people: the web face answers errors in Chinese HTML, the API keeps its JSON.

``app._error_response`` asks ``wants_html``: a request outside ``/api/``, ``/open311/`` and the
other machine paths gets a page unless it asks for JSON only (``Accept: application/json``).
Services raise the same ``SudiError``s for every face; only the rendering differs here. A 401 on a
page is a redirect to ``/login?next=…``.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from sudi.web.security import is_web_path

log = logging.getLogger("sudi.web")

TITLES = {
    400: "请求无效", 403: "无权访问", 404: "页面不存在", 405: "不支持该操作", 409: "操作未完成",
    413: "文件过大", 422: "填写的内容有误", 429: "操作过于频繁", 500: "系统出现故障",
}
HINTS = {
    403: "如果您是工作人员，请确认已用有权限的账号登录。",
    404: "请检查网址是否正确，或从首页重新进入。",
    500: "这不是您的问题，我们已记录此故障，请稍后再试。如情况紧急，请拨打 12345 热线。",
}


def wants_html(request: Request) -> bool:
    if not is_web_path(request.url.path):
        return False
    accept = request.headers.get("accept", "")
    return not ("application/json" in accept and "text/html" not in accept)


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":  # after signing in, go back to the page the form was on
        target = urlsplit(request.headers.get("referer", "")).path or "/staff"
    return RedirectResponse("/login?next=" + quote(target, safe="/"), status_code=303)


def html_error(request: Request, status: int, body: dict[str, Any]) -> Response:
    """The Chinese page for an error the services or the framework raised."""
    from sudi.web.templating import render

    if status == 401:
        return login_redirect(request)
    return render(request, "errors/error.html", status_code=status, status=status,
                  title=TITLES.get(status, "请求无法处理"), message=body.get("message") or "",
                  hint=HINTS.get(status, ""))


async def server_error(request: Request, exc: Exception) -> Response:
    """500: a calm page for people, the plain default for machines. (The server logs the exception:
    Starlette re-raises it after this answer is sent.)"""
    if wants_html(request):
        try:
            return html_error(request, 500, {"message": "服务器暂时无法完成您的请求。"})
        except Exception:  # the error page itself failed: fall back to text
            log.exception("error page failed")
    return PlainTextResponse("Internal Server Error", status_code=500)
