"""The web face's shared parts: templates, sessions and CSRF, navigation, static assets, error pages.

Pages themselves live with their domain, as ``views.py`` (``sudi.appeals.views``: the citizens'
portal and the staff landing; ``sudi.directory.views``: log-in and log-out). They are thin: parse
the form, call the service, ``render`` a template. A new page:

1. write the route in the domain's ``views.py`` on an ``APIRouter(include_in_schema=False)``; take
   the user with ``StaffDep`` (or ``Depends(require_roles(...))``) from ``sudi.web.security``;
2. write the template under ``sudi/web/templates/`` extending ``base.html`` (public) or
   ``staff_base.html`` (staff); put ``{{ csrf_field() }}`` first in every form (see
   ``_forms.html`` for labelled fields with their error messages);
3. add it to the staff navigation in ``sudi.web.navigation`` with the roles that may use it;
4. register the router in ``install`` below.

Everything under ``static/vendor`` is copied by ``scripts/vendor_assets.sh``; nothing is loaded
from another origin at run time.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope


class _StaticFiles(StaticFiles):
    """Static files; a URL carrying its content hash (``static()`` in templates) is cached for good."""

    def file_response(self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        if b"v=" in scope.get("query_string", b""):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            response.headers["Cache-Control"] = "public, max-age=3600"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def install(app: FastAPI) -> None:
    """Mount the static files, the CSRF/security-header middleware, the 500 page and the web routes.
    Called by ``sudi.app.create_app`` after the API routers."""
    from sudi.appeals.views import router as portal_router
    from sudi.appeals.views import staff_router as appeals_staff_router
    from sudi.directory.views import router as directory_views
    from sudi.web.errors import server_error
    from sudi.web.security import WebSecurityMiddleware

    app.mount("/static", _StaticFiles(packages=[("sudi.web", "static")]), name="static")
    app.add_middleware(WebSecurityMiddleware)
    handler: Any = server_error
    app.add_exception_handler(Exception, handler)
    app.include_router(directory_views)
    app.include_router(appeals_staff_router)
    app.include_router(portal_router)
