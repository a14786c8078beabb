"""A submitted form as the templates see it: the values to show again and an error per field.

Views read the body with ``await request.form()``, never with FastAPI ``Form()`` parameters: a
missing or malformed field must come back as a Chinese message next to that field, not as a 422
page. Services stay the judges: a ``SudiError`` they raise with a ``field`` lands next to it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sudi.core.errors import SudiError

GENERAL = "__all__"


@dataclass
class Form:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, data: Mapping[str, Any], names: Iterable[str]) -> Form:
        """Text values of ``names`` from submitted form data, stripped, NUL characters removed."""
        values = {}
        for name in names:
            value = data.get(name)
            values[name] = value.replace("\x00", "").strip() if isinstance(value, str) else ""
        return cls(values=values)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, name: str, message: str) -> None:
        """Record the first error of a field (later ones wait until it is fixed)."""
        self.errors.setdefault(name, message)

    def service_error(self, exc: SudiError, fields: Mapping[str, str] | None = None) -> None:
        """Place a service's refusal next to its field (``fields`` maps service field names to
        form names), or above the form when it names no field of this form."""
        name = (fields or {}).get(exc.field or "", exc.field or "")
        self.error(name if name in self.values else GENERAL, exc.message_zh)


def new_form_key() -> str:
    """An idempotency key for one rendering of a form: submitting it twice creates one thing."""
    return secrets.token_urlsafe(18)
