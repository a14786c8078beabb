#!/usr/bin/env python3
"""Build the compact demo sample that ships inside the ``sudi`` package.

The full public data sets live outside the repository (``../shared/data``) and are not present on
every machine, so the demo runs on a few thousand records drawn from them by this script::

    .venv/bin/python scripts/build_demo_sample.py [--shared ../shared/data] [--out src/sudi/demo/data]

Outputs (all deterministic, so re-running on the same inputs gives byte-identical files):

* ``appeals_sample.jsonl.gz``: one JSON object per line, see ``RECORD_KEYS``;
* ``taxonomy.csv`` and ``yicheng_outline.json``: byte copies of small reference files;
* ``SOURCES.md``: credits (repositories, commits, licences as stated upstream) and how the sample
  was drawn.

Standard library only, so it runs before the project's dependencies are installed.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import os
import random
import re
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SHARED = PROJECT_ROOT.parent / "shared" / "data"
DEFAULT_OUT = PROJECT_ROOT / "src" / "sudi" / "demo" / "data"
DEFAULT_SEED = 370404  # adcode of 峄城区; any fixed value would do

SAMPLE_NAME = "appeals_sample.jsonl.gz"
MAX_CONTENT = 1500
MAX_REPLY = 1500
MAX_DERIVED_TITLE = 30

RECORD_KEYS = (
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
)
CATEGORIES_L1 = ("城乡建设", "劳动和社会保障", "教育文体", "商贸旅游", "环境保护", "卫生计生", "交通运输")
APPEAL_TYPES = ("咨询", "求助", "投诉", "举报", "建议", "表扬")

# Reference files copied verbatim next to the sample: (path under --shared, name in --out).
COPIED_FILES = (
    ("tipdm2020c/fujian1_taxonomy.csv", "taxonomy.csv"),
    ("geo/370404_yicheng_district.json", "yicheng_outline.json"),
)

Record = dict[str, str | None]


# --------------------------------------------------------------------------------------------
# Text and time helpers
# --------------------------------------------------------------------------------------------

# Scraped pages are full of NBSPs, ideographic spaces and zero-width characters; they carry no
# meaning but break de-duplication and make lengths misleading.
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff]")
_HSPACE = re.compile(r"[ \t\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_NEWLINES = re.compile(r" *\n[ \n]*")
_SENTENCE_END = "。！？!?；;\n"


def normalise_ws(text: str | None, *, keep_newlines: bool = True) -> str:
    """Collapse whitespace; single line breaks survive in bodies because replies use paragraphs."""
    if not text:
        return ""
    text = _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _HSPACE.sub(" ", text)
    text = _NEWLINES.sub("\n", text)
    if not keep_newlines:
        text = text.replace("\n", " ")
    return text.strip()


def truncate(text: str, limit: int) -> str:
    """Cut at the last sentence end before ``limit``; hard-cut with an ellipsis if there is none."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    cut = max(head.rfind(ch) for ch in _SENTENCE_END)
    # A sentence end very early would throw most of the text away; prefer a hard cut then.
    if cut >= limit * 0.6:
        return head[: cut + 1].rstrip()
    return head[: limit - 1].rstrip() + "…"


def leading_clause(text: str, limit: int = MAX_DERIVED_TITLE) -> str:
    """A title stand-in: the text up to its first clause break, at most ``limit`` characters."""
    match = re.search(r"[，,。！？!?；;：:\n]", text)
    clause = text[: match.start()] if match and match.start() >= 4 else text
    return clause if len(clause) <= limit else clause[: limit - 1] + "…"


_TIME = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?\s*$")


def parse_time(value: str | None) -> str | None:
    """Return ``YYYY-MM-DDTHH:MM:SS`` (naive local time as published) or None if unparsable.

    Parsed by hand rather than with ``datetime.strptime`` because the sources mix padded and
    unpadded fields and because the values are deliberately naive: the sites publish local time
    without a zone. A date without a time becomes midnight.
    """
    match = _TIME.match(value or "")
    if not match:
        return None
    year, month, day = (int(g) for g in match.group(1, 2, 3))
    hour, minute, second = (int(g or 0) for g in match.group(4, 5, 6))
    try:
        date(year, month, day)
    except ValueError:
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"


def natural_key(value: str) -> tuple[int, int | str]:
    """Sort numeric ids numerically so the output order looks like the source order."""
    return (0, int(value)) if value.isdigit() else (1, value)


def make_record(
    source: str,
    source_id: str,
    title: str | None,
    content: str | None,
    *,
    received: str | None = None,
    reply: str | None = None,
    replied: str | None = None,
    category_l1: str | None = None,
    appeal_type: str | None = None,
    unit_hint: str | None = None,
    satisfaction_hint: str | None = None,
) -> Record | None:
    """Clean one row into the sample schema; None when it has neither title nor content."""
    title = normalise_ws(title, keep_newlines=False)
    content = normalise_ws(content)
    if not title and not content:
        return None
    # Downstream code (lists, classifiers) may rely on both fields being non-empty, and a letter
    # that is only a title or only a body is still a valid appeal.
    if not title:
        title = leading_clause(content)
    if not content:
        content = title
    reply_text = truncate(normalise_ws(reply), MAX_REPLY) or None
    return {
        "source": source,
        "source_id": source_id,
        "title": title,
        "content": truncate(content, MAX_CONTENT),
        "received_at": parse_time(received),
        "reply": reply_text,
        # A reply time without a reply would suggest an answer the sample does not contain.
        "replied_at": parse_time(replied) if reply_text else None,
        "category_l1": category_l1 if category_l1 in CATEGORIES_L1 else None,
        "appeal_type": appeal_type if appeal_type in APPEAL_TYPES else None,
        "unit_hint": normalise_ws(unit_hint, keep_newlines=False) or None,
        "satisfaction_hint": normalise_ws(satisfaction_hint, keep_newlines=False) or None,
    }


def read_csv(path: Path) -> list[dict[str, str]]:
    # utf-8-sig tolerates a BOM; the shared files are documented as UTF-8, so anything else is an
    # error worth seeing rather than guessing around.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _id_from_url(url: str, pattern: str) -> str | None:
    match = re.search(pattern, url or "")
    return match.group(1) if match else None


# --------------------------------------------------------------------------------------------
# Sources: each reader yields cleaned records (not yet sampled)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    path: str  # relative to --shared; also the record's "source" value
    quota: int
    read: Callable[[Path, str], Iterator[Record]]
    # Stratify the draw on this record field so small classes are not lost by chance.
    stratify: str | None = None
    how: str = ""  # one line for SOURCES.md: which columns became what


def read_tipdm_replies(path: Path, source: str) -> Iterator[Record]:
    for row in read_csv(path):
        record = make_record(
            source,
            row["留言编号"].strip(),
            row["留言主题"],
            row["留言详情"],
            received=row["留言时间"],
            reply=row["答复意见"],
            replied=row["答复时间"],
        )
        if record:
            yield record


# Common surnames, so that "戴局长：" splits before 戴 but "问题书记您好" does not split before 题.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
    "邵万钱严覃武戴莫孔向汤盛"
)
# The raw 附件2 text is 留言主题 and 留言详情 glued together without a separator. These are the
# usual openings of a letter body (salutation, "I am ...", addressing an official with a colon);
# seeing one shortly after the start is strong evidence that the title ended right before it.
_BODY_START = re.compile(
    r"尊敬的|您好|你好|你们好|大家好|各位领导|领导[：:，,！!]|领导[您你]好|我是|我叫|本人"
    rf"|[{_SURNAMES}]?(?:书记|厅长|局长|县长|市长|省长|主任|部长|处长|所长|总理)(?:[：:，,！!]|您好|你好)"
)


def split_tipdm_raw(text: str) -> tuple[str, str]:
    """Split a glued 主题+详情 text into (title, content) as well as can be done safely.

    Confident splits: a typical letter opening within the first 50 characters, or a title-ending
    question/exclamation mark in the first clause. Otherwise the title is only the leading clause
    and the content keeps the whole text, so nothing is ever lost, merely repeated.

    Checked on the 7,142 messages of 附件3/附件4, which have separate fields, glued together: 39%
    split exactly, 6% split elsewhere (nearly always a few characters late: the title carries the
    body's first words; title+content still equals the text), 55% fall back.
    """
    candidates = []
    opening = _BODY_START.search(text, 5)
    if opening and opening.start() <= 50:
        candidates.append(opening.start())
    mark = re.search(r"[？?！!]", text[:50])
    # Titles are one clause: a comma or full stop before the mark means it is already the body.
    if mark and mark.start() >= 5 and not re.search(r"[。，,]", text[: mark.start()]):
        candidates.append(mark.end())
    if candidates:
        cut = min(candidates)
        title, content = text[:cut].strip(), text[cut:].strip()
        if title and content:
            return title, content
    return leading_clause(text), text


def read_tipdm_raw(path: Path, source: str) -> Iterator[Record]:
    for row in read_csv(path):
        text = normalise_ws(row["text"])
        if not text:
            continue
        title, content = split_tipdm_raw(text)
        record = make_record(
            source, row["row_index"].strip(), title, content, category_l1=row["label"].strip()
        )
        if record:
            yield record


# 反映问题 ("reporting a problem") does not say whether it is a complaint, a request for help or
# a report, so only the unambiguous consultation type is carried over.
JIAMUSI_TYPES = {"咨询问题": "咨询"}
# Every row in the shared file says "no rating yet"; passing that on would look like a rating.
NO_RATING = {"用户暂无评价", "暂无评价", "未评价"}


def read_jiamusi(path: Path, source: str) -> Iterator[Record]:
    for index, row in enumerate(read_csv(path), start=1):
        satisfaction = row["回复满意度"].strip()
        record = make_record(
            source,
            _id_from_url(row["链接"], r"/(\d+)\.html") or f"row{index}",
            row["信件标题"],
            row["信件内容"],
            received=row["咨询时间"],
            reply=row["处理结果"],
            replied=row["处理时间"],
            appeal_type=JIAMUSI_TYPES.get(row["所属类型"].strip()),
            unit_hint=row["答复部门"],
            satisfaction_hint=None if satisfaction in NO_RATING else satisfaction,
        )
        if record:
            yield record


def read_dalian(path: Path, source: str) -> Iterator[Record]:
    for index, row in enumerate(read_csv(path), start=1):
        record = make_record(
            source,
            # 信件编号 repeats for a few different letters; the site's gdId does not.
            _id_from_url(row["链接"], r"gdId=(\w+)") or f"row{index}",
            row["反映标题"],
            row["反映内容"],
            received=row["反映时间"],
            reply=row["答复内容"],
            replied=row["反馈时间"],
            appeal_type=row["类型"].strip(),
            unit_hint=row["受理单位"],
        )
        if record:
            yield record


def read_shangluo(path: Path, source: str) -> Iterator[Record]:
    for index, row in enumerate(read_csv(path), start=1):
        record = make_record(
            source,
            # mail_id repeats for different letters; the site's leadermailid does not.
            _id_from_url(row["url"], r"leadermailid=(\d+)") or f"row{index}",
            row["title"],
            row["query"],
            received=row["query_date"],
            reply=row["reply"],
            replied=row["reply_date"],
            unit_hint=row["reply_agency"],
        )
        if record:
            yield record


# Order matters only for de-duplication: earlier sources win, and the richer reply set goes first.
SOURCES = (
    Source(
        "tipdm2020c/fujian4_replies.csv",
        1500,
        read_tipdm_replies,
        how="留言主题→title, 留言详情→content, 留言时间→received_at, 答复意见→reply, 答复时间→replied_at",
    ),
    Source(
        "tipdm2020c/fujian2_labeled_raw.csv",
        800,
        read_tipdm_raw,
        stratify="category_l1",
        how="text split heuristically into title/content (see below), label→category_l1; no time, no reply",
    ),
    Source(
        "jiamusi/jiamusi_appeals_train.csv",
        700,
        read_jiamusi,
        how="信件标题→title, 信件内容→content, 咨询时间→received_at, 处理结果→reply, "
        "处理时间→replied_at, 所属类型 咨询问题→appeal_type 咨询 (反映问题→null), 答复部门→unit_hint, "
        "回复满意度→satisfaction_hint",
    ),
    Source(
        "dalian/dalian_appeals_train.csv",
        700,
        read_dalian,
        stratify="appeal_type",
        how="反映标题→title, 反映内容→content, 反映时间→received_at, 答复内容→reply, 反馈时间→replied_at, "
        "类型→appeal_type, 受理单位→unit_hint",
    ),
    Source(
        "shangluo/shangluo_mayor_mailbox.csv",
        300,
        read_shangluo,
        how="title, query→content, query_date→received_at (date only: midnight), reply, "
        "reply_date→replied_at (midnight), reply_agency→unit_hint",
    ),
)


# --------------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------------


def dedup_keys(record: Record) -> list[str]:
    """Keys under which a record counts as already seen.

    The body tail catches the same message stored with a differently split title (the raw TipDM
    text vs. 附件4); the full text catches short template letters that share a tail.
    """
    title = re.sub(r"\s", "", record["title"] or "")
    content = re.sub(r"\s", "", record["content"] or "")
    keys = ["full:" + title + content]
    if len(content) >= 40:
        keys.append("tail:" + content[-60:])
    return keys


def allocate(total: int, weights: dict[str, int]) -> dict[str, int]:
    """Largest-remainder apportionment: integer shares of ``total`` proportional to ``weights``."""
    whole = sum(weights.values())
    exact = {key: total * weight / whole for key, weight in weights.items()}
    shares = {key: int(value) for key, value in exact.items()}
    leftovers = sorted(weights, key=lambda key: (-(exact[key] - shares[key]), key))
    for key in leftovers[: total - sum(shares.values())]:
        shares[key] += 1
    return shares


def draw(records: list[Record], quota: int, rng: random.Random, stratify: str | None) -> list[Record]:
    if len(records) <= quota:
        return list(records)
    if not stratify:
        return rng.sample(records, quota)
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(str(record[stratify]), []).append(record)
    shares = allocate(quota, {key: len(group) for key, group in groups.items()})
    picked: list[Record] = []
    for key in sorted(groups):
        picked.extend(rng.sample(groups[key], shares[key]))
    return picked


@dataclass
class SourceStats:
    rows_read: int = 0
    usable: int = 0
    sampled: int = 0
    with_reply: int = 0
    sha256: str = ""


def build_sample(shared: Path, seed: int) -> tuple[list[Record], dict[str, SourceStats]]:
    seen: set[str] = set()
    sample: list[Record] = []
    stats: dict[str, SourceStats] = {}
    for source in SOURCES:
        path = shared / source.path
        stat = stats[source.path] = SourceStats(sha256=sha256_of(path))
        stat.rows_read = count_csv_rows(path)
        usable: list[Record] = []
        for record in source.read(path, source.path):
            keys = dedup_keys(record)
            if any(key in seen for key in keys):
                continue
            seen.update(keys)
            usable.append(record)
        # Sorting before drawing makes the draw independent of the file's row order.
        usable.sort(key=lambda r: natural_key(r["source_id"] or ""))
        stat.usable = len(usable)
        # A per-source RNG keeps each source's draw stable when another source's quota changes.
        rng = random.Random(f"{seed}:{source.path}")
        picked = draw(usable, source.quota, rng, source.stratify)
        stat.sampled = len(picked)
        stat.with_reply = sum(1 for r in picked if r["reply"])
        sample.extend(picked)
    sample.sort(key=lambda r: (r["source"] or "", natural_key(r["source_id"] or "")))
    return sample, stats


def count_csv_rows(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return sum(1 for _ in csv.DictReader(handle))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def write_atomically(target: Path, data: bytes) -> None:
    # A half-written sample inside the package would break the demo in confusing ways.
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def encode_sample(records: Iterable[Record]) -> bytes:
    lines = "".join(
        json.dumps({key: record[key] for key in RECORD_KEYS}, ensure_ascii=False, separators=(",", ":"))
        + "\n"
        for record in records
    )
    buffer = io.BytesIO()
    # mtime=0 and a fixed inner name keep the gzip header, and thus the file, reproducible.
    with gzip.GzipFile(filename=SAMPLE_NAME[:-3], mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(lines.encode("utf-8"))
    return buffer.getvalue()


def render_sources_md(
    shared: Path, seed: int, records: list[Record], stats: dict[str, SourceStats], sample_bytes: int
) -> str:
    by_source = Counter(r["source"] for r in records)
    rated = sum(1 for r in records if r["satisfaction_hint"])
    out = [
        "# Sources of the demo data",
        "",
        "Generated by `scripts/build_demo_sample.py`; do not edit by hand, re-run the script instead.",
        "The full data sets are not part of this repository; these files are a small, credited",
        "extract so that the demo runs without them.",
        "",
        "## Files",
        "",
        "| file | what |",
        "|---|---|",
        f"| `{SAMPLE_NAME}` | {len(records):,} citizen appeals ({sample_bytes:,} bytes, gzip, JSON lines) |",
        "| `taxonomy.csv` | byte copy of `tipdm2020c/fujian1_taxonomy.csv`: the 2020 TipDM Cup C "
        "three-level category taxonomy (一级/二级/三级分类) |",
        "| `yicheng_outline.json` | byte copy of `geo/370404_yicheng_district.json`: the outline of "
        "峄城区 (adcode 370404), GeoJSON, lon/lat, most likely GCJ-02 |",
        "",
        "Towns, communities and grids of the demo district are **not** real boundaries: no town "
        "(镇/街道) boundaries are available, so `sudi.demo.territory` draws them inside the real "
        "outline, and the community and village names it uses are invented.",
        "",
        "## How the sample was drawn",
        "",
        "| source file | rows | usable | sampled | with reply | columns used | sha256 of input |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for source in SOURCES:
        stat = stats[source.path]
        out.append(
            f"| `{source.path}` | {stat.rows_read:,} | {stat.usable:,} | {by_source[source.path]:,} "
            f"| {stat.with_reply:,} | {source.how} | `{stat.sha256[:16]}…` |"
        )
    out += [
        "",
        f"* Random draw without replacement per source, seed `{seed}` (one `random.Random` per "
        "source), from rows sorted by id. The TipDM labelled rows are stratified by `label` and the "
        "Dalian rows by `类型`, proportionally (largest remainder).",
        "* Rows with neither title nor content are dropped. Exact duplicates (same title+content, or "
        "the same last 60 characters of a body of 40+ characters) are dropped, earlier sources first "
        "in the table order.",
        "* Whitespace normalised (NBSP, ideographic and zero-width spaces; runs collapsed; line "
        "breaks kept only as single paragraph breaks in bodies and replies).",
        f"* Content and replies longer than {MAX_CONTENT:,} characters are cut at the last sentence "
        "end before that limit, or hard-cut with `…` when there is none in the last 40%.",
        "* A missing title becomes the body's leading clause; a missing body repeats the title.",
        "* Times are the original local times as published, naive, `YYYY-MM-DDTHH:MM:SS`; the "
        "Shangluo mailbox only publishes dates, which become midnight. `replied_at` is null when "
        "there is no reply text.",
        "* `fujian2_labeled_raw.csv` joins 留言主题 and 留言详情 without a separator. The script "
        "splits at a typical letter opening (尊敬的…, 您好, 我是…, `X局长：`) or after a `？`/`！` "
        "in the first clause; otherwise the title is the leading clause and the content keeps the "
        "whole text. Tried on the 附件3/附件4 messages glued together (they have separate fields): "
        "39% split exactly, 6% a few characters off, 55% fall back.",
        "* `category_l1` is set only for the TipDM labelled rows (first-level classes of "
        "`taxonomy.csv`). `appeal_type` comes from Dalian `类型` and from Jiamusi `所属类型` "
        "咨询问题 → 咨询 (反映问题 is not specific enough and becomes null). `satisfaction_hint` "
        "comes from Jiamusi `回复满意度`, where 用户暂无评价 (not rated) becomes null; "
        f"{rated:,} records in this sample carry a rating.",
        "* Personal fields (留言用户, 来信人, URLs) are not carried over. Message texts are as "
        "published and may contain names the writers chose to give.",
        "",
        "## Upstream provenance and licences",
        "",
        "Quoted from the `SOURCES.md` files of the shared data folders. No licence is stated for "
        "the TipDM, Jiamusi, Dalian and geo data; the Shangluo repository is MIT-licensed (which "
        "covers its scraper; the letters are from shangluo.gov.cn).",
    ]
    folders = sorted({source.path.split("/")[0] for source in SOURCES} | {"geo"})
    for folder in folders:
        sources_md = shared / folder / "SOURCES.md"
        text = sources_md.read_text(encoding="utf-8").strip() if sources_md.exists() else "(missing)"
        out += ["", f"### `{folder}/`", ""]
        out += [("> " + line).rstrip() for line in text.splitlines()]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="shared data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="package data folder to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed of the draw")
    args = parser.parse_args(argv)

    shared: Path = args.shared.resolve()
    out: Path = args.out.resolve()
    missing = [s.path for s in SOURCES if not (shared / s.path).is_file()]
    missing += [src for src, _ in COPIED_FILES if not (shared / src).is_file()]
    if missing:
        print(f"error: not found under {shared}: {', '.join(missing)}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)

    records, stats = build_sample(shared, args.seed)
    data = encode_sample(records)
    write_atomically(out / SAMPLE_NAME, data)
    for src, name in COPIED_FILES:
        shutil.copyfile(shared / src, out / name)
    sources_md = render_sources_md(shared, args.seed, records, stats, len(data))
    write_atomically(out / "SOURCES.md", sources_md.encode("utf-8"))

    for source in SOURCES:
        stat = stats[source.path]
        print(
            f"{source.path:40} rows {stat.rows_read:5}  usable {stat.usable:5}  "
            f"sampled {stat.sampled:5}  with reply {stat.with_reply:5}"
        )
    print(f"total {len(records)} records -> {out / SAMPLE_NAME} ({len(data):,} bytes)")
    for _, name in COPIED_FILES:
        print(f"copied {name} ({(out / name).stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
