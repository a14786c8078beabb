"""The demo district's units and duty list, its loader and the keyword scorer."""

from __future__ import annotations

import csv
from collections import Counter
from importlib import resources

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sudi.auth_bootstrap import bootstrap
from sudi.core.models import AuditEntry
from sudi.demo import territory
from sudi.demo.directory_data import (
    CENTRE,
    COMPANIES,
    DEPARTMENTS,
    MATTER_FOR_CATEGORY,
    MATTERS,
    TOWNS,
    UNITS,
    department_for_category,
)
from sudi.demo.duty_list import load_directory, suggest_matter
from sudi.directory import service as directory
from sudi.directory.models import Matter, Unit, UnitKind

UNIT_CODES = {u.code for u in UNITS}


# ---------------------------------------------------------------- the data

def test_counts() -> None:
    kinds = Counter(m.appeal_kind for m in MATTERS)
    rules = Counter(m.territorial_rule for m in MATTERS)
    assert len(MATTERS) >= 160
    assert kinds["development"] >= 20
    assert rules["territorial"] >= 30
    assert set(kinds) <= {"livelihood", "enforcement", "development"}
    assert set(rules) <= {"functional", "territorial"}
    assert 20 <= len(DEPARTMENTS) - len(COMPANIES) <= 26


def test_units_are_unique_and_well_formed() -> None:
    codes = [u.code for u in UNITS]
    names = [u.name for u in UNITS]
    assert len(codes) == len(set(codes))
    assert len(names) == len(set(names))
    assert CENTRE[:3] == ("centre", "区诉求办理中心", "centre")
    for unit in UNITS:
        assert unit.kind in set(UnitKind) and unit.kind != "district"
        assert unit.short_name and unit.phone
    for unit in DEPARTMENTS:
        assert unit.kind in ("department", "company")
        assert unit.phone.startswith("0632-77") and len(unit.phone) == 12
    by_code = {u.code: u for u in DEPARTMENTS}
    assert by_code["zjj"].name == "区住房和城乡建设局" and by_code["zjj"].short_name == "区住建局"
    assert by_code["cgj"].name == "区综合行政执法局"
    assert by_code["sthj"].name == "枣庄市生态环境局峄城分局"
    for code in ("jtj", "rsj", "wjj", "scjg", "jtysj", "nyncj", "gaj", "mzj", "sfj", "zrzyj", "swj", "yjj",
                 "fgj", "gxj", "swuj", "xzsp", "ybj", "tyjr", "xfj"):
        assert by_code[code].kind == "department"
    assert {u.code for u in COMPANIES} == {"gdgs", "gsgs", "rqgs"}


def test_towns_match_the_territory() -> None:
    expected = [(code, name, kind) for code, name, kind, _seed, _grids in territory._TOWN_SPECS]
    assert [(t.code, t.name, t.kind) for t in TOWNS] == expected


def test_every_referenced_unit_exists() -> None:
    for matter in MATTERS:
        assert matter.responsible_unit in UNIT_CODES, matter.code
        assert matter.responsible_unit != "TOWN"
        assert len(matter.assisting_units) <= 3, matter.code
        for code in matter.assisting_units:
            assert code in UNIT_CODES and code != matter.responsible_unit, matter.code
        assert len(set(matter.assisting_units)) == len(matter.assisting_units)
    assert set(MATTER_FOR_CATEGORY.values()) <= UNIT_CODES


def test_matters_are_unique_and_complete() -> None:
    codes = [m.code for m in MATTERS]
    names = [m.name for m in MATTERS]
    assert len(codes) == len(set(codes))
    assert len(names) == len(set(names))
    prefixes: dict[str, set[str]] = {}
    for matter in MATTERS:
        prefixes.setdefault(matter.responsible_unit, set()).add(matter.code.split("-")[0])
        assert 3 <= len(matter.keywords) <= 8, matter.code
        assert len(set(matter.keywords)) == len(matter.keywords), matter.code
        assert all(len(k) >= 2 and "、" not in k for k in matter.keywords), matter.code
        assert matter.legal_basis.startswith("《"), matter.code
    # One code prefix per unit, and no two units share a prefix.
    assert all(len(p) == 1 for p in prefixes.values())
    flat = [next(iter(p)) for p in prefixes.values()]
    assert len(flat) == len(set(flat))
    # Development matters belong to the bodies that serve enterprises.
    dev_units = {m.responsible_unit for m in MATTERS if m.appeal_kind == "development"}
    assert {"xzsp", "fgj", "gxj", "zrzyj", "gdgs", "gsgs", "rqgs", "swuj"} <= dev_units
    # Territorial matters name the owning department, never a town.
    town_codes = {t.code for t in TOWNS}
    assert not any(m.responsible_unit in town_codes for m in MATTERS if m.territorial_rule == "territorial")


def test_category_mapping_follows_the_taxonomy() -> None:
    text = resources.files("sudi.demo").joinpath("data/taxonomy.csv").read_text(encoding="utf-8-sig")
    paths = set()
    for row in list(csv.reader(text.splitlines()))[1:]:
        for depth in range(1, len(row) + 1):
            paths.add("/".join(row[:depth]))
    assert set(MATTER_FOR_CATEGORY) <= paths
    for first in ("城乡建设", "劳动和社会保障", "教育文体", "商贸旅游", "环境保护", "卫生计生", "交通运输"):
        assert first in MATTER_FOR_CATEGORY
    assert department_for_category("城乡建设/城市建设和市政管理/燃气供应") == "rqgs"
    assert department_for_category("城乡建设/城市建设和市政管理/小区管理") == "zjj"
    assert department_for_category("城乡建设/城乡规划/违章建筑") == "cgj"
    assert department_for_category("卫生计生/食品药品监管/其他") == "scjg"
    assert department_for_category("环境保护") == "sthj"
    assert department_for_category("纪检监察/其他") is None
    assert department_for_category(None) is None


# ---------------------------------------------------------------- the scorer

@pytest.mark.parametrize(("text", "code"), [
    ("楼下工地每天半夜施工，打桩声音特别大，根本睡不着", "ZJ-010"),
    ("我们小区门口有人占道经营，流动摊贩一大早就摆摊卖菜", "CG-002"),
    ("公司拖欠工资三个月了，老板一直不发工资", "RS-001"),
    ("村北地里有人焚烧秸秆，浓烟滚滚", "HB-004"),
    ("小区物业乱收费，物业费一年涨了两次", "ZJ-001"),
    ("我们新办的厂子想申请用电报装，增容一直没人受理", "GD-002"),
    ("家里暖气不热，室温只有十五度", "ZJ-016"),
    ("在超市买到过期食品，孩子吃坏肚子", "SJ-001"),
    ("想咨询一下孩子上一年级入学需要哪些材料，学区怎么划片", "JY-001"),
    ("闻到楼道里有很重的煤气味，怀疑燃气泄漏", "ZJ-018"),
    ("我们企业的惠企政策奖补资金迟迟没有兑现", "FG-002"),
    ("路边饭店油烟扰民，排烟管道直接对着居民窗户", "CG-003"),
])
def test_suggest_matter_on_realistic_appeals(text: str, code: str) -> None:
    suggestion = suggest_matter(text, MATTERS)
    assert suggestion is not None
    assert suggestion[0] == code, suggestion


def test_suggest_matter_explains_and_scores_by_length() -> None:
    code, score, matched = suggest_matter("半夜施工，施工噪音太大", MATTERS) or ("", 0, ())
    assert code == "ZJ-010"
    assert set(matched) == {"半夜施工", "施工噪音"} and score == 8


def test_suggest_matter_ties_go_to_the_lower_code_and_nesting_counts_once() -> None:
    from sudi.demo.directory_data import MatterSpec

    a = MatterSpec("B-1", "甲", "livelihood", "zjj", (), "functional", ("路灯", "路灯不亮"), "")
    b = MatterSpec("A-1", "乙", "livelihood", "zjj", (), "functional", ("不亮了",), "")
    c = MatterSpec("C-1", "丙", "livelihood", "zjj", (), "functional", ("亮了", "ktv"), "")
    # "路灯" inside the matched "路灯不亮" adds nothing: B-1 scores 4, not 6.
    assert suggest_matter("路灯不亮", [a, b]) == ("B-1", 4, ("路灯不亮",))
    # 3 vs 3: the lower code wins.
    assert suggest_matter("路灯不亮了", [a, b, c])[:2] == ("B-1", 4)
    assert suggest_matter("灯不亮了", [a, b, c]) == ("A-1", 3, ("不亮了",))
    # Full-width letters and case are normalised.
    assert suggest_matter("楼下ＫＴＶ太吵", [c]) == ("C-1", 3, ("ktv",))
    assert suggest_matter("今天天气很好", MATTERS) is None
    assert suggest_matter("", MATTERS) is None


def test_suggest_matter_skips_inactive_rows(session: Session) -> None:
    bootstrap(session)
    load_directory(session)
    directory.upsert_matter(session, directory.SYSTEM, code="ZJ-010", name="建筑施工噪声夜间扰民的查处",
                            responsible_unit="zjj", keywords=["夜间施工"], is_active=False)
    rows = directory.list_matters(session, active_only=False)
    suggestion = suggest_matter("夜间施工太吵", rows)
    assert suggestion is None or suggestion[0] != "ZJ-010"


# ---------------------------------------------------------------- the loader

def _audit_count(session: Session) -> int:
    return int(session.scalar(select(func.count(AuditEntry.id))) or 0)


def test_load_directory_is_idempotent(session: Session) -> None:
    bootstrap(session)
    first = load_directory(session)
    assert first["units_created"] == len(UNITS)
    assert first["matters_created"] == len(MATTERS)
    assert first["matters_updated"] == first["matters_unchanged"] == 0
    audits = _audit_count(session)

    second = load_directory(session)
    assert second["units_created"] == 0 and second["units_existing"] == len(UNITS)
    assert second["matters_created"] == second["matters_updated"] == 0
    assert second["matters_unchanged"] == len(MATTERS)
    assert _audit_count(session) == audits

    district = directory.get_unit_by_code(session, "district")
    units = {u.code: u for u in session.scalars(select(Unit))}
    assert len(units) == len(UNITS) + 1
    for spec in UNITS:
        unit = units[spec.code]
        assert (unit.name, unit.kind, unit.short_name, unit.phone) == (spec.name, spec.kind, spec.short_name,
                                                                      spec.phone)
        assert unit.parent_id == district.id and unit.path.startswith(district.path)

    matters = {m.code: m for m in directory.list_matters(session)}
    assert len(matters) == len(MATTERS)
    for spec in MATTERS:
        matter = matters[spec.code]
        assert matter.name == spec.name and matter.appeal_kind == spec.appeal_kind
        assert matter.responsible_unit.code == spec.responsible_unit
        assert {u.code for u in matter.assisting_units} == set(spec.assisting_units)
        assert matter.territorial_rule == spec.territorial_rule
        assert matter.keywords == list(spec.keywords) and matter.legal_basis == spec.legal_basis


def test_load_directory_keeps_existing_units_and_repairs_changed_matters(session: Session) -> None:
    bootstrap(session)
    directory.create_unit(session, directory.SYSTEM, code="zjj", name="住建局（已有）", kind="department",
                          parent_code="district")
    directory.upsert_matter(session, directory.SYSTEM, code="CG-001", name="违法建设的查处",
                            responsible_unit="zjj", keywords=["违建"])
    result = load_directory(session)
    assert result["units_created"] == len(UNITS) - 1
    assert result["matters_created"] == len(MATTERS) - 1 and result["matters_updated"] == 1
    assert directory.get_unit_by_code(session, "zjj").name == "住建局（已有）"
    cg = directory.get_matter_by_code(session, "CG-001")
    assert cg.responsible_unit.code == "cgj" and {u.code for u in cg.assisting_units} == {"zjj", "zrzyj"}
    assert session.scalar(select(func.count(Matter.id))) == len(MATTERS)


def test_suggest_matter_accepts_orm_rows(session: Session) -> None:
    bootstrap(session)
    load_directory(session)
    rows = directory.list_matters(session)
    assert suggest_matter("小区门口占道经营", rows)[0] == "CG-002"
