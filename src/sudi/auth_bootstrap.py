"""First-run set-up shared by ``sudi init`` and the demo loader."""

from __future__ import annotations

import csv
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from sudi.appeals.service import seed_defaults
from sudi.core.auth import password_weakness
from sudi.core.errors import InvalidInput
from sudi.directory.models import Role, Unit, User
from sudi.directory.service import SYSTEM, create_unit, create_user


def taxonomy_rows() -> list[list[str]]:
    text = resources.files("sudi.demo").joinpath("data/taxonomy.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(text.splitlines()))
    return [r for r in rows[1:] if any(c.strip() for c in r)]


def bootstrap(session: Session) -> None:
    """Defaults every installation needs: secret, time limits, taxonomy, the root unit."""
    seed_defaults(session, taxonomy_rows())
    if session.scalar(select(Unit.id).where(Unit.code == "district")) is None:
        create_unit(session, SYSTEM, code="district", name="区人民政府", kind="district")
    session.commit()


def bootstrap_admin(session: Session, username: str, password: str | None) -> bool:
    bootstrap(session)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        return False
    if not password:
        raise InvalidInput("请用 --admin-password 或 SUDI_ADMIN_PASSWORD 提供管理员密码",
                           "give the admin password with --admin-password or SUDI_ADMIN_PASSWORD")
    weakness = password_weakness(password, username)
    if weakness:
        raise InvalidInput(f"管理员密码太弱：{weakness}", f"the admin password is too weak: {weakness}")
    create_user(session, SYSTEM, username=username, full_name="系统管理员", password=password,
                role=Role.admin, unit_code="district")
    session.commit()
    return True
