"""Open311 GeoReport v2 at /open311/v2, so that existing Open311 clients work unchanged.

Every document comes in JSON and XML, chosen by the path's suffix. Errors are the spec's list of
{code, description} whatever went wrong, including errors raised below this face (the app's global
handlers call :func:`open311_error` for any /open311/ path).

Decisions worth knowing:
- Services are the taxonomy's active leaf categories; parents appear as ``group``.
- POST creates the appeal synchronously (type "realtime"), so the answer carries the
  service_request_id and no token. ``tokens/{token}`` still answers, treating the appeal number as
  the token, for clients that always poll it. POST answers 200, not 201: clients written against
  the spec's examples test for 200.
- GET is public, as the spec intends: no name or phone, free text masked.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.formparsers import MultiPartException, MultiPartParser

from sudi.core.models import get_setting
from sudi.deps import SessionDep
from sudi.open311 import service
from sudi.open311.schemas import FORMATS, MEDIA_TYPES, errors_response, render, xml_safe

# Far above any real report (20 000 characters of percent-encoded Chinese is ~180 kB), far below
# what would let one client tie up memory.
MAX_BODY_BYTES = 1_000_000
MAX_FIELDS = 200
MAX_ATTRIBUTES = 50
# Overridable per deployment through the settings table (keys open311_contact, open311_key_service).
DEFAULT_CONTACT = "区诉求办理中心 12345 热线"
DEFAULT_KEY_SERVICE = "向区诉求办理中心申请 api_key / ask the district appeals centre for an api_key"


def _format_of(request: Request) -> str:
    return "xml" if request.url.path.lower().endswith(".xml") else "json"


class _Open311Route(APIRoute):
    """Answers Open311Problem here, where several errors can be listed in one response."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except service.Open311Problem as problem:
                return errors_response(_format_of(request), problem.status, problem.errors)

        return route


router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=_Open311Route)


def open311_error(request: Request, status: int, description: str) -> Response:
    # The case engine says 422 for bad input; Open311 clients know 400.
    status = 400 if status == 422 else status
    return errors_response(_format_of(request), status, [(status, description)])


def _fmt(fmt: str) -> str:
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise service.Open311Problem(404, [(404, "unknown format; use .json or .xml")])
    return fmt


def _params(pairs: Any) -> dict[str, str]:
    """First value wins; text that could break XML or the database is dropped on the way in."""
    params: dict[str, str] = {}
    for key, value in pairs:
        params.setdefault(xml_safe(str(key)), xml_safe(str(value)))
    return params


# ---------------------------------------------------------------- discovery and services

@router.get("/discovery.{fmt}", summary="Open311 service discovery")
def discovery(fmt: str, request: Request, session: SessionDep) -> Response:
    fmt = _fmt(fmt)
    body = {
        "changeset": service.CHANGESET,
        "contact": str(get_setting(session, "open311_contact", DEFAULT_CONTACT)),
        "key_service": str(get_setting(session, "open311_key_service", DEFAULT_KEY_SERVICE)),
        "endpoints": [{
            "specification": service.SPECIFICATION,
            "url": str(request.base_url).rstrip("/") + router.prefix,
            "changeset": service.CHANGESET,
            "type": "production",
            "formats": [MEDIA_TYPES["xml"].split(";")[0], MEDIA_TYPES["json"].split(";")[0]],
        }],
    }
    return render(fmt, body, root="discovery")


@router.get("/services.{fmt}", summary="Open311 service list (one per leaf category)")
def services(fmt: str, session: SessionDep) -> Response:
    fmt = _fmt(fmt)
    body = [service.service_out(c) for c in service.list_services(session)]
    return render(fmt, body, root="services", item="service")


@router.get("/services/{service_code}.{fmt}", summary="Open311 service definition")
def service_definition(service_code: str, fmt: str, session: SessionDep) -> Response:
    fmt = _fmt(fmt)
    body = service.definition_out(service.get_service(session, service_code))
    return render(fmt, body, root="service_definition")


# ---------------------------------------------------------------- requests

@router.get("/requests.{fmt}", summary="Open311 service requests (last 90 days, at most 1000)")
def list_requests(fmt: str, request: Request, session: SessionDep) -> Response:
    fmt = _fmt(fmt)
    query = service.parse_query(_params(request.query_params.multi_items()))
    found = service.find_requests(session, query)
    return render(fmt, service.requests_out(session, found), root="service_requests", item="request")


@router.get("/requests/{service_request_id}.{fmt}", summary="Open311 one service request")
def get_request(service_request_id: str, fmt: str, session: SessionDep) -> Response:
    fmt = _fmt(fmt)
    appeal = service.get_request(session, service_request_id)
    return render(fmt, service.requests_out(session, [appeal]), root="service_requests", item="request")


@router.get("/tokens/{token}.{fmt}", summary="Open311 token to service_request_id")
def get_token(token: str, fmt: str, session: SessionDep) -> Response:
    fmt = _fmt(fmt)
    appeal = service.get_request(session, token)
    return render(fmt, [{"service_request_id": appeal.number, "token": appeal.number}],
                  root="service_requests", item="request")


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise service.Open311Problem(400, [(400, "the request body is too large")])
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise service.Open311Problem(400, [(400, "the request body is too large")])
        chunks.append(chunk)
    return b"".join(chunks)


def _bad_body(description: str) -> service.Open311Problem:
    return service.Open311Problem(400, [(400, description)])


def _scalar(key: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise _bad_body(f"{key[:40]} must be a single value")


async def _body_pairs(request: Request) -> list[tuple[str, Any]]:
    """The spec posts form-encoded fields; JSON and multipart (without files) are accepted too."""
    body = await _read_body(request)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        try:
            data = json.loads(body) if body.strip() else {}
        except (ValueError, RecursionError):
            raise _bad_body("the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise _bad_body("the JSON body must be an object of fields")
        if len(data) > MAX_FIELDS:
            raise _bad_body("too many fields")
        return list(data.items())
    if kind == "multipart/form-data":

        async def once() -> AsyncGenerator[bytes, None]:
            yield body

        try:
            form = await MultiPartParser(request.headers, once(), max_files=0, max_fields=MAX_FIELDS).parse()
        except MultiPartException:
            raise _bad_body("bad multipart body; file uploads are not supported, send media_url") from None
        return list(form.multi_items())
    try:
        return parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True,
                         max_num_fields=MAX_FIELDS)
    except ValueError:
        raise _bad_body("too many fields") from None


_ATTRIBUTE = re.compile(r"attribute\[([^\]]{1,64})\](\[\])?")


def _split_attributes(pairs: list[tuple[str, Any]]) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """attribute[code]=v (form) or {"attribute": {code: v}} (JSON) kept aside for the record."""
    fields: list[tuple[str, str]] = []
    attributes: dict[str, Any] = {}
    for key, value in pairs:
        if key == "attribute" and isinstance(value, dict):
            for code, item in list(value.items())[:MAX_ATTRIBUTES]:
                values = item if isinstance(item, list) else [item]
                attributes[xml_safe(str(code))[:64]] = [xml_safe(str(v))[:500] for v in values[:20]]
            continue
        match = _ATTRIBUTE.fullmatch(key)
        if match:
            if len(attributes) < MAX_ATTRIBUTES or match.group(1) in attributes:
                attributes.setdefault(xml_safe(match.group(1)), []).append(xml_safe(str(value))[:500])
            continue
        text = _scalar(key, value)
        if text is not None:
            fields.append((key, text))
    return fields, attributes


@router.post("/requests.{fmt}", summary="Open311 submit a service request (api_key required)")
async def post_request(fmt: str, request: Request, session: SessionDep) -> Response:
    fmt = _fmt(fmt)
    fields, attributes = _split_attributes(await _body_pairs(request))
    # Some clients put api_key (or everything) in the query string; the body wins when both do.
    params = _params(fields + request.query_params.multi_items())
    submitted = await run_in_threadpool(service.submit_request, session, params, attributes)
    notice = (f"诉求已提交，编号 {submitted.number}，查询码 {submitted.query_code}；"
              "可凭编号和查询码查询办理进度。")
    body = [{"service_request_id": submitted.number, "service_notice": notice,
             "account_id": submitted.account_id}]
    return render(fmt, body, root="service_requests", item="request")
