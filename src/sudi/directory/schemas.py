"""What the API accepts and returns for the directory."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sudi.directory.models import ROLE_LABELS, Grid, Matter, Role, Unit, User


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=128)
    kind: str
    parent: str | None = None
    short_name: str = ""
    phone: str = ""


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: str = Field(min_length=2, max_length=64)
    full_name: str = Field(default="", max_length=64)
    password: str = Field(min_length=8, max_length=256)
    role: str
    unit: str | None = None
    grid: str | None = None
    phone: str = ""


class MatterIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=128)
    responsible_unit: str
    assisting_units: list[str] = []
    territorial_rule: str = "functional"
    legal_basis: str = ""
    keywords: list[str] = []
    appeal_kind: str = "livelihood"
    is_active: bool = True


def unit_out(unit: Unit) -> dict[str, Any]:
    return {"code": unit.code, "name": unit.name, "short_name": unit.short_name, "kind": unit.kind,
            "parent": unit.parent.code if unit.parent else None, "phone": unit.phone, "is_active": unit.is_active}


def user_out(user: User) -> dict[str, Any]:
    return {"username": user.username, "full_name": user.full_name, "role": user.role,
            "role_label": ROLE_LABELS.get(Role(user.role), user.role),
            "unit": user.unit.code if user.unit else None, "unit_name": user.unit.name if user.unit else None,
            "grid": user.grid.code if user.grid else None, "is_active": user.is_active}


def grid_out(grid: Grid, *, geometry: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"code": grid.code, "name": grid.name, "town": grid.town.code,
                            "town_name": grid.town.name,
                            "community": grid.community.code if grid.community else None,
                            "community_name": grid.community.name if grid.community else None,
                            "centre": [grid.centre_lat, grid.centre_lon]}
    if geometry:
        body["geometry"] = grid.geometry
    return body


def matter_out(matter: Matter) -> dict[str, Any]:
    return {"code": matter.code, "name": matter.name, "appeal_kind": matter.appeal_kind,
            "responsible_unit": matter.responsible_unit.code,
            "responsible_unit_name": matter.responsible_unit.name,
            "assisting_units": [u.code for u in matter.assisting_units],
            "territorial_rule": matter.territorial_rule, "legal_basis": matter.legal_basis,
            "keywords": matter.keywords, "is_active": matter.is_active}
