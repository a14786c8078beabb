"""Helpers for the web tests: a browser-like client that keeps cookies and sends the CSRF token."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from sudi.web.security import CSRF_COOKIE, SESSION_COOKIE
from tests.factories import IN_G001, PASSWORD, World

VALID_SUBMISSION = {"appeal_type": "complaint", "title": "小区路灯不亮",
                    "content": "青檀小区3号楼前路灯坏了一个月，晚上很黑。", "address": "青檀路幸福小区3号楼",
                    "citizen_name": "张三", "citizen_phone": "13812345678"}


def csrf(client: TestClient) -> str:
    """The CSRF token of this client's browser session (fetches a page first when there is none)."""
    if CSRF_COOKIE not in client.cookies:
        assert client.get("/").status_code == 200
    return str(client.cookies[CSRF_COOKIE])


def post_form(client: TestClient, url: str, data: dict[str, Any], *, files: Any = None, token: bool = True,
              **kwargs: Any) -> Any:
    """A form post as a browser sends it: the CSRF field first, then the fields."""
    body = {"csrf_token": csrf(client), **data} if token else dict(data)
    return client.post(url, data=body, files=files, follow_redirects=False, **kwargs)


def submission_form(client: TestClient, **overrides: Any) -> dict[str, Any]:
    """The fields of a fresh /submit form (with its idempotency key), filled in validly."""
    page = client.get("/submit")
    assert page.status_code == 200
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
    assert key
    return {"idempotency_key": key.group(1), **VALID_SUBMISSION, **overrides}


def sign_in(client: TestClient, world: World, username: str) -> None:
    """Sign in through the log-in form (the real flow, scrypt included)."""
    assert world.users[username]
    response = post_form(client, "/login", {"username": username, "password": PASSWORD})
    assert response.status_code == 303, response.text
    assert SESSION_COOKIE in client.cookies


def use_session(client: TestClient, world: World, username: str) -> None:
    """Sign in without the form: put a token straight into the session cookie (fast)."""
    token = world.headers(username)["Authorization"].removeprefix("Bearer ")
    client.cookies.set(SESSION_COOKIE, token)


def track(client: TestClient, number: str, code: str) -> Any:
    """Open an appeal's page as a citizen: the form, then the page it redirects to."""
    response = post_form(client, "/track", {"number": number, "query_code": code})
    assert response.status_code == 303, response.text
    return client.get(response.headers["location"])


POINT_IN_DISTRICT = IN_G001
