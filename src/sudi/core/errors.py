"""Errors every face (API, web, CLI) turns into a clear, bilingual answer.

A service raises one of these; it never returns an error value. Each carries the HTTP status it
maps to, a stable machine code, and the message in Chinese (for people) and English (for logs and
integrators).
"""

from __future__ import annotations

from typing import Any


class SudiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message_zh: str, message_en: str, *, field: str | None = None,
                 code: str | None = None, **detail: Any) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en
        self.field = field
        if code:
            self.code = code
        self.detail = detail

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message_zh, "message_en": self.message_en}
        if self.field:
            body["field"] = self.field
        if self.detail:
            body["detail"] = self.detail
        return body


class InvalidInput(SudiError):
    status = 422
    code = "invalid_input"


class NotAuthenticated(SudiError):
    status = 401
    code = "not_authenticated"


class Forbidden(SudiError):
    status = 403
    code = "forbidden"


class NotFound(SudiError):
    status = 404
    code = "not_found"


class Conflict(SudiError):
    status = 409
    code = "conflict"


class TooLarge(SudiError):
    status = 413
    code = "too_large"


class TooManyRequests(SudiError):
    status = 429
    code = "too_many_requests"
