"""Runtime settings, read once from the environment.

Every command takes ``--db``; the environment is the fallback so that a service manager can
configure the server without a command line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///var/sudi.db"


def normalise_database_url(url: str) -> str:
    """Accept the URL forms people paste (``postgres://``, ``postgresql://``) and pick psycopg 3."""
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    media_dir: Path = Path("var/media")
    max_upload_bytes: int = 10 * 1024 * 1024
    max_attachments_per_appeal: int = 9
    token_lifetime_hours: int = 12
    login_attempt_window_s: int = 300
    login_attempt_limit: int = 10
    allowed_upload_types: tuple[str, ...] = field(
        default=("image/jpeg", "image/png", "image/webp", "image/gif")
    )

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        url = database_url or os.environ.get("SUDI_DATABASE_URL") or DEFAULT_DATABASE_URL
        media = Path(os.environ.get("SUDI_MEDIA_DIR", "var/media"))
        return cls(database_url=normalise_database_url(url), media_dir=media)
