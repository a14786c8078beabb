"""The appeals sample shipped in the package (built by scripts/build_demo_sample.py)."""

from __future__ import annotations

import csv
import gzip
import importlib.util
import io
import json
import re
import sys
from collections import Counter
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

DATA = resources.files("sudi.demo").joinpath("data")
SAMPLE = DATA.joinpath("appeals_sample.jsonl.gz")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED = PROJECT_ROOT.parent / "shared" / "data"

KEYS = {
    "source",
    "source_id",
    "title",
    "content",
    "received_at",
    "reply",
    "replied_at",
    "category_l1",
    "appeal_type",
    "unit_hint",
    "satisfaction_hint",
}
SOURCES = {
    "tipdm2020c/fujian4_replies.csv",
    "tipdm2020c/fujian2_labeled_raw.csv",
    "jiamusi/jiamusi_appeals_train.csv",
    "dalian/dalian_appeals_train.csv",
    "shangluo/shangluo_mayor_mailbox.csv",
}
CATEGORIES = {"城乡建设", "劳动和社会保障", "教育文体", "商贸旅游", "环境保护", "卫生计生", "交通运输"}
APPEAL_TYPES = {"咨询", "求助", "投诉", "举报", "建议", "表扬"}
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    with gzip.open(io.BytesIO(SAMPLE.read_bytes()), "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def test_sample_is_shipped_and_small() -> None:
    data = SAMPLE.read_bytes()
    assert 0 < len(data) < 5 * 1024 * 1024
    # gzip header: magic, then a zero mtime, which keeps rebuilds byte-identical.
    assert data[:2] == b"\x1f\x8b" and data[4:8] == b"\0\0\0\0"


def test_every_record_is_well_formed(records: list[dict[str, Any]]) -> None:
    assert 3000 <= len(records) <= 5000
    for r in records:
        assert set(r) == KEYS, r
        assert r["source"] in SOURCES
        assert isinstance(r["source_id"], str) and r["source_id"]
        for key in ("title", "content"):
            assert isinstance(r[key], str) and r[key] and r[key] == r[key].strip(), (key, r["source_id"])
        assert "\n" not in r["title"]
        assert len(r["content"]) <= 1500
        assert r["reply"] is None or (isinstance(r["reply"], str) and r["reply"] and len(r["reply"]) <= 1500)
        for key in ("received_at", "replied_at"):
            value = r[key]
            if value is not None:
                assert TIMESTAMP.fullmatch(value), value
                assert datetime.fromisoformat(value).tzinfo is None
        if r["reply"] is None:
            assert r["replied_at"] is None
        assert r["category_l1"] is None or r["category_l1"] in CATEGORIES
        assert r["appeal_type"] is None or r["appeal_type"] in APPEAL_TYPES
        for key in ("unit_hint", "satisfaction_hint"):
            assert r[key] is None or (isinstance(r[key], str) and r[key].strip() == r[key] != "")


def test_ids_unique_and_output_sorted(records: list[dict[str, Any]]) -> None:
    keys = [(r["source"], r["source_id"]) for r in records]
    assert len(set(keys)) == len(keys)
    sources = [r["source"] for r in records]
    assert sources == sorted(sources)


def test_mix_of_sources_and_labels(records: list[dict[str, Any]]) -> None:
    per_source = Counter(r["source"] for r in records)
    assert set(per_source) == SOURCES
    assert all(n >= 100 for n in per_source.values()), per_source
    assert sum(1 for r in records if r["reply"]) >= 2000
    assert {r["appeal_type"] for r in records} - {None} == APPEAL_TYPES
    assert {r["category_l1"] for r in records} - {None} == CATEGORIES
    assert sum(1 for r in records if r["unit_hint"]) >= 1000
    # Categories are TipDM labels only; the raw labelled TipDM set always has one.
    for r in records:
        if r["category_l1"] is not None:
            assert r["source"].startswith("tipdm2020c/")
        if r["source"] == "tipdm2020c/fujian2_labeled_raw.csv":
            assert r["category_l1"] in CATEGORIES


def test_reference_files_and_credits_are_shipped() -> None:
    taxonomy = DATA.joinpath("taxonomy.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(taxonomy)))
    assert {row["一级分类"] for row in rows} >= CATEGORIES
    outline = json.loads(DATA.joinpath("yicheng_outline.json").read_text(encoding="utf-8"))
    assert "370404" in json.dumps(outline)
    credits = DATA.joinpath("SOURCES.md").read_text(encoding="utf-8")
    for name in [*SOURCES, "fujian1_taxonomy.csv", "370404_yicheng_district.json"]:
        assert name in credits, name
    assert "licen" in credits.lower()


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared data not available on this machine")
def test_script_rebuilds_the_shipped_files_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = PROJECT_ROOT / "scripts" / "build_demo_sample.py"
    spec = importlib.util.spec_from_file_location("build_demo_sample", path)
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the script is being executed.
    monkeypatch.setitem(sys.modules, spec.name, script)
    spec.loader.exec_module(script)
    assert script.main(["--shared", str(SHARED), "--out", str(tmp_path)]) == 0
    for name in ("appeals_sample.jsonl.gz", "SOURCES.md", "taxonomy.csv", "yicheng_outline.json"):
        assert (tmp_path / name).read_bytes() == DATA.joinpath(name).read_bytes(), name
