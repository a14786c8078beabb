"""Load the demo district's units and duty list, and suggest a matter for appeal text.

``load_directory`` writes ``sudi.demo.directory_data`` through the directory service and can run
any number of times. ``suggest_matter`` is the transparent keyword scorer the demo loader uses to
route demo appeals, and the dispatch hint until a trained classifier exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from sudi.demo.directory_data import DEPARTMENTS, MATTERS, TOWNS, UNITS, MatterSpec
from sudi.directory.models import Matter, Unit
from sudi.directory.service import SYSTEM, Actor, create_unit, upsert_matter
from sudi.intelligence.matching import MatterTerms, suggest_matters

__all__ = ["ROOT_UNIT", "load_directory", "suggest_matter"]

ROOT_UNIT = "district"


class _HasKeywords(Protocol):
    @property
    def code(self) -> str: ...

    @property
    def keywords(self) -> Sequence[str]: ...


def load_directory(session: Session, actor: Actor = SYSTEM) -> dict[str, int]:
    """Create the centre, departments, utilities and towns under the root unit ``district``
    (those that already exist are left alone) and upsert every matter of the duty list.

    A matter that already holds exactly the data given is not written again, so a second run
    changes nothing and writes no audit rows. The root unit must exist (``sudi.auth_bootstrap.
    bootstrap`` creates it). Returns counts of what was done.
    """
    existing_units = set(session.scalars(select(Unit.code)))
    units_created = 0
    for order, unit in enumerate(UNITS, start=1):
        if unit.code in existing_units:
            continue
        create_unit(session, actor, code=unit.code, name=unit.name, kind=unit.kind, parent_code=ROOT_UNIT,
                    short_name=unit.short_name, phone=unit.phone, sort_order=order)
        units_created += 1

    current = {m.code: m for m in session.scalars(select(Matter))}
    created = updated = unchanged = 0
    for spec in MATTERS:
        matter = current.get(spec.code)
        if matter is not None and _same(matter, spec):
            unchanged += 1
            continue
        upsert_matter(session, actor, code=spec.code, name=spec.name, responsible_unit=spec.responsible_unit,
                      assisting_units=spec.assisting_units, territorial_rule=spec.territorial_rule,
                      legal_basis=spec.legal_basis, keywords=spec.keywords, appeal_kind=spec.appeal_kind)
        if matter is None:
            created += 1
        else:
            updated += 1
    session.commit()
    return {
        "units_created": units_created,
        "units_existing": len(UNITS) - units_created,
        "departments": sum(1 for u in DEPARTMENTS if u.kind == "department"),
        "companies": sum(1 for u in DEPARTMENTS if u.kind == "company"),
        "towns": len(TOWNS),
        "matters_created": created,
        "matters_updated": updated,
        "matters_unchanged": unchanged,
    }


def _same(matter: Matter, spec: MatterSpec) -> bool:
    # The link table keeps no order, so assisting units compare as sets.
    assisting = {c for c in spec.assisting_units if c and c != spec.responsible_unit}
    return (matter.name == spec.name and matter.appeal_kind == spec.appeal_kind
            and matter.responsible_unit.code == spec.responsible_unit
            and {u.code for u in matter.assisting_units} == assisting
            and matter.territorial_rule == spec.territorial_rule
            and matter.legal_basis == spec.legal_basis.strip()
            and list(matter.keywords or []) == list(spec.keywords) and matter.is_active)


def suggest_matter(text: str, matters: Iterable[_HasKeywords | Any]
                   ) -> tuple[str, int, tuple[str, ...]] | None:
    """The best matter for ``text`` as ``(code, score, matched_keywords)``, or ``None``: the
    product's scorer (``sudi.intelligence.matching``) over ORM rows or ``MatterSpec`` tuples,
    skipping inactive matters."""
    terms = [MatterTerms(m.code, list(m.keywords or ())) for m in matters if getattr(m, "is_active", True)]
    best = suggest_matters("", text, terms, top=1)
    return (best[0].code, int(best[0].score), best[0].matched) if best else None
