"""Hotspot mining (热点问题挖掘): groups of appeals about the same problem at the same place in the same period.

The method (docs/hotspots.md explains it with the measured results):

1. **Place.** Named places in the text (:mod:`sudi.intelligence.places`: estates, roads, schools,
   companies …), the grid, and the point's cell on a ~500 m lattice are the appeal's *place keys*.
2. **Problem.** The text with its places and administrative prefixes removed becomes a sparse
   TF-IDF vector of character bigrams, cut to its ``vector_terms`` strongest terms. Character
   bigrams need no dictionary and survive typos and the segmenter's mistakes.
3. **Candidates, not all pairs.** An appeal is compared only with clusters that share a place key
   (or, failing that, one of its strongest terms: a *topic key*, for problems that name no place,
   such as a fraud case), that were active within ``window_days``, at most ``max_candidates``
   most recent per key. This is blocking: the work grows with the number of appeals, not its square.
4. **Join or start.** Appeals are taken in time order; an appeal joins the most similar candidate
   cluster (cosine to the cluster's centroid) when the similarity reaches ``similarity`` for a
   shared place or ``similarity_topic`` for a shared topic only; otherwise it starts a cluster.
   A candidate whose term signature (:func:`term_signature`) shares no bit with the appeal's shares
   no term, so its cosine is 0 and it is not scored: most candidates at a busy place are other problems.
   One that shares a bit is first bounded (at most that many of the appeal's heaviest weights,
   times the centroid's heaviest over its norm) and scored only if the bound reaches the threshold.
   A full recompute is exactly this, run over all appeals; adding one appeal later is one step of it,
   so the incremental result is the full result.
5. **Hotspots** are the clusters of at least ``min_size`` appeals, ranked by a heat score
   (:func:`heat`), with a title naming the place and the problem.

Everything tunable is in :class:`HotspotParams`; the product stores it as an admin setting.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import operator
import os
import re
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import accumulate, chain, islice, pairwise, repeat
from typing import TYPE_CHECKING, Any

import numpy as np

from sudi.core.errors import InvalidInput
from sudi.intelligence.places import Place, admin_areas, extract_places

if TYPE_CHECKING:
    from multiprocessing.pool import AsyncResult, Pool

# ----------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class HotspotParams:
    """Policy of the method. Defaults are general (checked on several public appeal sets), not fitted to one."""

    similarity: float = 0.22          # cosine to join a cluster that shares a place
    similarity_topic: float = 0.35    # cosine to join one that shares only a topic term
    merge_similarity: float = 0.35    # centroid cosine at which an appeal that fits two clusters merges them
    window_days: float = 60.0         # a cluster stays open this long after its last appeal
    min_size: int = 2                 # appeals a cluster needs to be a hotspot
    max_candidates: int = 48          # most recent clusters compared per key
    vector_terms: int = 48            # strongest terms kept per appeal
    centroid_terms: int = 96          # strongest terms kept per cluster
    text_chars: int = 300             # characters of title + content read
    topic_keys: int = 2               # strongest terms used as topic keys
    cell_degrees: float = 0.005       # point lattice (~500 m in latitude)
    cell_margin: float = 0.25         # search a neighbouring cell when the point is this close to it (share of a cell)
    area_by_topic: int = 0            # 1: a grid or cell leads to candidates only with one of the topic terms; 0: alone
    # heat = (citizens + repeat_weight·(appeals − citizens) + support_weight·ln(1+supports)
    #         − objection_weight·ln(1+objections)) · (1 + growth_weight·growth) · 0.5^(age/half_life_days)
    repeat_weight: float = 0.3
    support_weight: float = 1.0
    objection_weight: float = 0.5
    growth_weight: float = 0.5
    growth_days: float = 30.0
    half_life_days: float = 90.0

    @classmethod
    def from_mapping(cls, values: dict[str, Any] | None) -> HotspotParams:
        """Parameters from a stored or submitted mapping; unknown keys are ignored, bad values refused."""
        values = values or {}
        known = {f.name: f for f in fields(cls)}
        clean: dict[str, Any] = {}
        for name, value in values.items():
            if name not in known or value is None or value == "":
                continue
            kind = int if known[name].type in ("int", int) else float
            try:
                clean[name] = kind(value)
            except (TypeError, ValueError):
                raise InvalidInput(f"热点参数 {name} 应为数字", f"hotspot parameter {name} must be a number",
                                   field=name) from None
        params = cls(**clean)
        params.check()
        return params

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def check(self) -> None:
        def bad(name: str, zh: str, en: str) -> None:
            raise InvalidInput(f"热点参数 {name} {zh}", f"hotspot parameter {name} {en}", field=name)

        for name in ("similarity", "similarity_topic", "merge_similarity"):
            if not 0.0 < getattr(self, name) <= 1.0:
                bad(name, "应在 0 到 1 之间", "must be in (0, 1]")
        for name in ("window_days", "growth_days", "half_life_days", "cell_degrees"):
            if not getattr(self, name) > 0:
                bad(name, "应大于 0", "must be positive")
        if not 0.0 <= self.cell_margin <= 0.5:
            bad("cell_margin", "应在 0 到 0.5 之间", "must be between 0 and 0.5")
        for name in ("min_size", "max_candidates", "vector_terms", "centroid_terms", "text_chars"):
            if getattr(self, name) < 1:
                bad(name, "应至少为 1", "must be at least 1")
        if self.topic_keys < 0:
            bad("topic_keys", "不能为负", "must not be negative")
        if self.area_by_topic not in (0, 1):
            bad("area_by_topic", "应为 0 或 1", "must be 0 or 1")
        for name in ("repeat_weight", "support_weight", "objection_weight", "growth_weight"):
            if getattr(self, name) < 0:
                bad(name, "不能为负", "must not be negative")


# The parameters that only :func:`heat` reads: they weigh clusters without changing them.
HEAT_PARAMETERS = frozenset({"repeat_weight", "support_weight", "objection_weight", "growth_weight", "growth_days",
                             "half_life_days"})


# ----------------------------------------------------------------------------- inputs


@dataclass(slots=True)
class AppealText:
    """What hotspot mining needs of one appeal; the caller maps its own records onto it."""

    id: str
    title: str
    content: str
    time: datetime
    citizen: str = ""
    supports: int = 0
    objections: int = 0
    grid: str | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass(slots=True)
class Prepared:
    """An appeal reduced to what the clustering compares: its vector and its keys."""

    appeal: AppealText
    vector: dict[str, float]
    places: list[Place]
    place_keys: list[str]
    topic_keys: list[str]
    areas: list[str]
    signature: int                                        # term_signature(vector)
    near_cells: list[str] = field(default_factory=list)   # neighbouring cells the point lies close to


_WHERE_KINDS = frozenset({"estate", "road", "village", "town", "named", "facility"})
_NOISE = re.compile(r"[^\u4e00-\u9fffA-Za-z0-9]+")
_ADMIN_TEXT = re.compile(r"[A-Z]\d{0,2}(?:市|区|县)|[\u4e00-\u9fff]{1,3}(?:省|市)")


def problem_text(appeal: AppealText, places: Sequence[Place], text_chars: int) -> str:
    """Title and the start of the content without places and administrative names: the problem."""
    text = (appeal.title + "。" + appeal.title + "。" + appeal.content)[:text_chars]  # the title counts twice
    for place in places:
        if place.kind in _WHERE_KINDS:  # the "where"; a plant, shop or school is often the "what"
            text = text.replace(place.name, " ")
    text = _ADMIN_TEXT.sub(" ", text)
    return _NOISE.sub(" ", text)


def bigrams(text: str) -> Counter[str]:
    """Each character with the next, within the space-separated pieces, counted in first-seen order."""
    pieces = text.split(" ")
    # map(map, …) pairs each piece with itself shifted by one, all in C: no Python step per character.
    return Counter(chain.from_iterable(map(map, repeat(operator.add), pieces, [p[1:] for p in pieces])))


def _norm(weights: dict[str, float]) -> float:
    values = weights.values()
    return math.sqrt(sum(map(operator.mul, values, values)))


_SIGNATURE_BITS = 1 << 12   # 512 bytes: the candidates' signatures are read together (_OpenTable)
_ROUNDING = 1e-9   # the bound is compared with this much to spare, so float rounding never skips a fit


def term_signature(terms: Iterable[str]) -> int:
    """One bit per term, placed by the term's hash, in a 4,096-bit integer.

    Two vectors whose signatures share no bit share no term, so their cosine is 0 and their
    dictionaries need not be read: one AND of two integers stands in for the key-set intersection
    that was most of a full recompute's time (most candidates at a busy place are other problems).
    A shared bit proves nothing; the cosine decides. Python's string hash is salted per process,
    so a signature is only compared within the process that made it (forked workers share the
    salt) and is never stored."""
    bits = bytearray(_SIGNATURE_BITS // 8)
    mask = _SIGNATURE_BITS - 1
    for term in terms:
        position = hash(term) & mask
        bits[position >> 3] |= 1 << (position & 7)
    return int.from_bytes(bits, "little")


def _peak(weights: dict[str, float], norm: float) -> float:
    return max(weights.values()) / norm if weights and norm else 1.0


def _strongest(weights: dict[str, float], n: int) -> list[tuple[str, float]]:
    """The ``n`` heaviest terms: what ``heapq.nlargest`` gives, ties included, at a third of its cost here."""
    return sorted(weights.items(), key=operator.itemgetter(1), reverse=True)[:n]


@dataclass
class Vocabulary:
    """Inverse document frequencies of character bigrams, estimated on (a sample of) the appeals."""

    idf: dict[str, float]
    documents: int

    @property
    def unseen_idf(self) -> float:
        return math.log((self.documents + 1) / 1.0) + 1.0

    @classmethod
    def fit(cls, texts: Iterable[str], *, max_terms: int = 300_000) -> Vocabulary:
        df: Counter[str] = Counter()
        n = 0
        for text in texts:
            n += 1
            df.update(bigrams(text).keys())
        common = df.most_common(max_terms) if len(df) > max_terms else df.items()
        idf = {term: math.log((n + 1) / (count + 1)) + 1.0 for term, count in common if count >= 2}
        return cls(idf, n)

    def vector(self, text: str, terms: int) -> dict[str, float]:
        unseen, idf, log = self.unseen_idf, self.idf.get, math.log
        # Most bigrams occur once, and 1 + log(1) is exactly 1.0: no logarithm and no product for them.
        weights = {g: idf(g, unseen) if c == 1 else (1.0 + log(c)) * idf(g, unseen) for g, c in bigrams(text).items()}
        if len(weights) > terms:
            weights = dict(_strongest(weights, terms))
        norm = _norm(weights) or 1.0
        return {g: w / norm for g, w in weights.items()}

    def as_dict(self) -> dict[str, Any]:
        return {"documents": self.documents, "idf": self.idf}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocabulary:
        return cls(dict(data.get("idf") or {}), int(data.get("documents") or 0))


def prepare(appeal: AppealText, vocabulary: Vocabulary, params: HotspotParams, *, use_pos: bool = True) -> Prepared:
    places = extract_places(appeal.content[: params.text_chars], title=appeal.title, use_pos=use_pos)
    vector = vocabulary.vector(problem_text(appeal, places, params.text_chars), params.vector_terms)
    keys = ["p:" + p.key for p in places if p.kind != "town"] or ["p:" + p.key for p in places]
    # A developer's or district's prefix comes and goes ("万科魅力之城" / "魅力之城"): the name's last
    # four characters are a second key for long estate names.
    keys += ["p:" + p.key[-4:] for p in places if p.kind == "estate" and len(p.key) > 4]
    keys = list(dict.fromkeys(keys))
    # A term seen in one appeal only cannot lead to another: topic keys are the strongest shared terms.
    ranked = (term for term, _ in _strongest(vector, len(vector)))
    top = list(islice(filter(vocabulary.idf.__contains__, ranked), params.topic_keys))
    area_keys: list[str] = []
    if appeal.grid:
        area_keys.append("g:" + appeal.grid)
    near: list[str] = []
    if appeal.lat is not None and appeal.lon is not None:
        x, y = _cell(appeal.lat, appeal.lon, params.cell_degrees)
        area_keys.append(f"c:{x},{y}")
        near = near_cells(appeal.lat, appeal.lon, params.cell_degrees, params.cell_margin)
    if params.area_by_topic and top:
        # A grid or a cell holds every problem of its area: its most recent clusters are nearly all other
        # problems (a located appeal met 66 candidates in its window and fitted 0.54). Paired with a
        # topic term, the key leads to the area's clusters whose members had that term among their strongest.
        keys += [f"{area}|{term}" for area in area_keys for term in top]
        near = [f"{cell}|{term}" for cell in near for term in top]
    else:
        keys += area_keys
    return Prepared(appeal, vector, places, keys, ["t:" + term for term in top],
                    admin_areas(appeal.title + " " + appeal.content[:120]), term_signature(vector), near)


def _cell(lat: float, lon: float, size: float) -> tuple[int, int]:
    return math.floor(lat / size), math.floor(lon / size)


def near_cells(lat: float, lon: float, size: float, margin: float) -> list[str]:
    """The neighbouring cells within ``margin`` (a share of a cell) of the point: a problem straddling
    an edge is found across it, while a point in the middle of its cell looks at its own cell only."""
    x, y = _cell(lat, lon, size)
    fx, fy = lat / size - x, lon / size - y
    dx = -1 if fx < margin else 1 if fx > 1.0 - margin else 0
    dy = -1 if fy < margin else 1 if fy > 1.0 - margin else 0
    steps = {(dx, 0), (0, dy), (dx, dy)} - {(0, 0)}
    return [f"c:{x + a},{y + b}" for a, b in sorted(steps)]


# ----------------------------------------------------------------------------- clusters


# slots: a candidate's fields are read from the object itself, not from a separate dict; eq=False: a
# cluster is hashed and compared by identity, so candidate sets hold the clusters themselves.
@dataclass(slots=True, eq=False)
class Cluster:
    """A group of appeals being built; its centroid is the sum of its members' vectors, trimmed."""

    id: int
    centroid: dict[str, float] = field(default_factory=dict)
    norm: float = 0.0
    member_ids: list[str] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)   # the first few, for the title and keywords
    citizens: set[str] = field(default_factory=set)
    anonymous: int = 0
    supports: int = 0
    objections: int = 0
    places: Counter[str] = field(default_factory=Counter)      # key → mentions
    place_names: dict[str, tuple[str, str]] = field(default_factory=dict)  # key → (name, kind)
    areas: Counter[str] = field(default_factory=Counter)
    grids: Counter[str] = field(default_factory=Counter)
    points: list[tuple[float, float]] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    first_time: datetime | None = None
    last_time: datetime | None = None
    signature: int = 0     # always term_signature(centroid): kept by _accumulate
    key_kinds: set[str] = field(default_factory=set)   # always {key[:2] for key in keys}: "p:", "g:", "c:", "t:"
    peak: float = 1.0      # the centroid's heaviest weight over its norm (1.0 bounds any centroid): kept by _accumulate
    # Its row in the _OpenTable of the one index holding it; 0 when none, or once merged into another
    # or retired (the key lists drop it at the next retiring).
    slot: int = 0

    @property
    def size(self) -> int:
        return len(self.member_ids)

    def similarity(self, vector: dict[str, float]) -> float:
        if not self.norm:
            return 0.0
        centroid = self.centroid
        # Only shared terms add to the dot product; the key-set intersection finds them in C, and
        # map() keeps the products in C too (this is the inner loop of a full recompute).
        shared = vector.keys() & centroid.keys()
        return sum(map(operator.mul, map(vector.__getitem__, shared), map(centroid.__getitem__, shared))) / self.norm

    def _accumulate(self, vector: dict[str, float], signature: int, params: HotspotParams) -> None:
        """Add ``vector`` (whose terms ``signature`` holds) to the centroid, keep its strongest terms when
        it has grown too long, renorm."""
        centroid = self.centroid
        # centroid[g] += w for every term, as one C-level update (the terms are distinct, so each is
        # read before it is written).
        terms = vector.keys()
        centroid.update(zip(terms, map(operator.add, map(centroid.get, terms, repeat(0.0)), vector.values()),
                            strict=True))
        if len(centroid) > 2 * params.centroid_terms:
            self.centroid = centroid = dict(_strongest(centroid, params.centroid_terms))
            self.signature = term_signature(centroid)
        else:   # no term left the centroid: its terms are the old ones and the vector's
            self.signature |= signature
        self.norm = _norm(centroid)
        self.peak = _peak(centroid, self.norm)

    def add(self, item: Prepared, keys: Iterable[str], params: HotspotParams) -> None:
        appeal = item.appeal
        self._accumulate(item.vector, item.signature, params)
        self.member_ids.append(appeal.id)
        self.times.append(appeal.time)
        if len(self.titles) < 40:
            self.titles.append(appeal.title or appeal.content[:60])
        if appeal.citizen:
            self.citizens.add(appeal.citizen)
        else:
            self.anonymous += 1
        self.supports += max(0, appeal.supports)
        self.objections += max(0, appeal.objections)
        for place in item.places:
            self.places[place.key] += 1
            self.place_names.setdefault(place.key, (place.name, place.kind))
        self.areas.update(item.areas)
        if appeal.grid:
            self.grids[appeal.grid] += 1
        if appeal.lat is not None and appeal.lon is not None:
            self.points.append((appeal.lat, appeal.lon))
        self.keys.update(keys)
        self.key_kinds.update(key[:2] for key in keys)
        if self.first_time is None or appeal.time < self.first_time:
            self.first_time = appeal.time
        if self.last_time is None or appeal.time > self.last_time:
            self.last_time = appeal.time

    def centroid_similarity(self, other: Cluster) -> float:
        if not self.norm or not other.norm:
            return 0.0
        mine, theirs = self.centroid, other.centroid
        return sum(mine[g] * theirs[g] for g in mine.keys() & theirs.keys()) / (self.norm * other.norm)

    def absorb(self, other: Cluster, params: HotspotParams) -> None:
        self._accumulate(other.centroid, other.signature, params)
        self.member_ids.extend(other.member_ids)
        self.times.extend(other.times)
        self.titles.extend(other.titles[: max(0, 40 - len(self.titles))])
        self.citizens |= other.citizens
        self.anonymous += other.anonymous
        self.supports += other.supports
        self.objections += other.objections
        self.places.update(other.places)
        for key, value in other.place_names.items():
            self.place_names.setdefault(key, value)
        self.areas.update(other.areas)
        self.grids.update(other.grids)
        self.points.extend(other.points)
        self.keys |= other.keys
        self.key_kinds |= other.key_kinds
        assert other.first_time is not None and other.last_time is not None
        self.first_time = min(t for t in (self.first_time, other.first_time) if t is not None)
        self.last_time = max(t for t in (self.last_time, other.last_time) if t is not None)

    def to_state(self, *, max_points: int = 500) -> dict[str, Any]:
        """What must be kept between runs for later appeals to join (member ids and times are kept apart)."""
        return {"centroid": {g: round(w, 5) for g, w in self.centroid.items()}, "titles": self.titles[:40],
                "citizens": sorted(self.citizens), "anonymous": self.anonymous, "places": dict(self.places),
                "place_names": {k: list(v) for k, v in self.place_names.items()}, "areas": dict(self.areas),
                "grids": dict(self.grids), "points": [list(p) for p in self.points[-max_points:]],
                "keys": sorted(self.keys)}

    @classmethod
    def from_state(cls, cluster_id: int, state: dict[str, Any], *, member_ids: Sequence[str],
                   times: Sequence[datetime], supports: int, objections: int, first_time: datetime,
                   last_time: datetime) -> Cluster:
        centroid = {str(g): float(w) for g, w in (state.get("centroid") or {}).items()}
        keys = set(state.get("keys") or [])
        norm = _norm(centroid)
        return cls(cluster_id, centroid, norm, list(member_ids),
                   list(times), list(state.get("titles") or []), set(state.get("citizens") or []),
                   int(state.get("anonymous") or 0), supports, objections, Counter(state.get("places") or {}),
                   {k: (v[0], v[1]) for k, v in (state.get("place_names") or {}).items()},
                   Counter(state.get("areas") or {}), Counter(state.get("grids") or {}),
                   [(p[0], p[1]) for p in state.get("points") or []], keys,
                   first_time, last_time, term_signature(centroid), {key[:2] for key in keys},
                   peak=_peak(centroid, norm))


def _seconds(moment: datetime) -> float:
    """Seconds since the epoch of an aware datetime: ordered as the datetimes are, and distinct for
    distinct microseconds for millennia around now."""
    return moment.timestamp()


class _OpenTable:
    """What every candidate is tested on before it is scored, for the clusters an index holds, in
    arrays with one row per cluster (its ``slot``): its signature's words, its first and last times
    (:func:`_seconds`) and its peak.

    An appeal at a busy place meets some 66 candidates; testing them one by one read each cluster
    object and its signature from cold memory, 42 % of the clustering process. The arrays test them
    together in a few NumPy operations, and a narrower signature than the one-by-one test needed
    (4,096 bits instead of 16,384: more bits shared by chance, which the bound absorbs) keeps the
    rows they read small. Row 0 is never given: it is never in any window and shares
    no bit, so a cluster the index let go (its slot reset to 0) is never a candidate."""

    def __init__(self, bits: int) -> None:
        self.words = max(1, -(-bits // 64))
        self.mask = (1 << bits) - 1
        self.signatures = np.zeros((0, self.words), np.uint64)
        self.first = self.last = self.peak = np.zeros(0)
        self.free: list[int] = []
        self._grow(64)

    def _grow(self, rows: int) -> None:
        had = len(self.first)
        self.signatures = np.concatenate([self.signatures, np.zeros((rows - had, self.words), np.uint64)])
        self.first = np.concatenate([self.first, np.full(rows - had, np.inf)])
        self.last = np.concatenate([self.last, np.full(rows - had, -np.inf)])
        self.peak = np.concatenate([self.peak, np.zeros(rows - had)])
        self.free.extend(range(rows - 1, max(had, 1) - 1, -1))

    def words_of(self, signature: int) -> np.ndarray:
        """A signature as 64-bit words, lowest first (its bits past the width dropped: -1 sets them all)."""
        return np.frombuffer((signature & self.mask).to_bytes(8 * self.words, "little"), dtype="<u8")

    def store(self, cluster: Cluster) -> None:
        """Give the cluster a row if it has none, and write its tested fields into it."""
        if not cluster.slot:
            if not self.free:
                self._grow(2 * len(self.first))
            cluster.slot = self.free.pop()
        slot = cluster.slot
        self.signatures[slot] = self.words_of(cluster.signature)
        self.first[slot] = _seconds(cluster.first_time) if cluster.first_time else np.inf
        self.last[slot] = _seconds(cluster.last_time) if cluster.last_time else -np.inf
        self.peak[slot] = cluster.peak

    def release(self, cluster: Cluster) -> None:
        """The cluster is no candidate any more (merged or retired): its row waits for another."""
        if cluster.slot:
            self.free.append(cluster.slot)
            cluster.slot = 0


class HotspotIndex:
    """Clusters with their key index: the state that a new appeal is matched against.

    ``add`` is the incremental step; :func:`find_hotspots` runs it over a whole history."""

    def __init__(self, vocabulary: Vocabulary, params: HotspotParams | None = None, *, use_pos: bool = True) -> None:
        self.vocabulary = vocabulary
        self.params = params or HotspotParams()
        self.use_pos = use_pos
        self.clusters: dict[int, Cluster] = {}
        # key → the clusters that took it, oldest first; the clusters themselves rather than their ids,
        # so a candidate is not looked up again in ``clusters`` (a cold read per candidate).
        self.by_key: dict[str, list[Cluster]] = {}
        self.closed: list[Cluster] = []   # clusters past their window, kept when big enough
        self.merged: dict[int, int] = {}  # cluster id → the cluster it was folded into
        self.next_id = 1
        self._table = _OpenTable(_SIGNATURE_BITS)   # the clusters in ``clusters``, one row each

    def _candidates(self, keys: Sequence[str], cap: int | None = None, near: Sequence[str] = ()) -> set[Cluster]:
        found: set[Cluster] = set()
        cap = cap or self.params.max_candidates
        for key in keys:
            holders = self.by_key.get(key)
            if holders:
                found.update(holders[-cap:])
        # A neighbouring cell only catches a problem straddling the edge: a few of its clusters.
        for key in near:
            holders = self.by_key.get(key)
            if holders:
                found.update(holders[-max(1, cap // 8):])
        return found

    def match(self, item: Prepared) -> tuple[Cluster | None, float]:
        """The cluster ``item`` would join and the similarity, or (None, best similarity seen)."""
        fits = self.fitting(item)
        if fits:
            return fits[0]
        return None, 0.0

    def fitting(self, item: Prepared) -> list[tuple[Cluster, float]]:
        """Open candidate clusters ``item`` is similar enough to join, the best first."""
        window = timedelta(days=self.params.window_days)
        moment = item.appeal.time
        by_place = self._candidates(item.place_keys, near=item.near_cells)
        # A topic term is shared far more widely than a place: fewer of its clusters are worth a look.
        by_topic = self._candidates(item.topic_keys, cap=max(1, self.params.max_candidates // 3)) - by_place
        pool = [*by_place, *by_topic]
        if not pool:
            return []
        table = self._table
        slots = np.fromiter(map(operator.attrgetter("slot"), pool), np.intp, len(pool))
        # Open: the cluster's span, widened by the window, holds the moment (the window is applied to
        # the moment once rather than to every candidate's times).
        opened = (table.first[slots] <= _seconds(moment + window)) & (table.last[slots] >= _seconds(moment - window))
        # Signatures sharing no bit share no term: the cosine is 0. Otherwise an upper bound of the
        # cosine before computing it: every term the appeal shares with a cluster sets a bit of both
        # signatures, so the appeal shares at most (shared bits + the appeal's own bit collisions)
        # terms, and the cosine is at most that many of its heaviest weights summed, times the
        # cluster's heaviest weight over its norm (all weights are positive). Exact: a candidate it
        # skips could not reach the threshold. Most that share a bit share a term or two of a spread centroid.
        shared = np.bitwise_count(table.signatures[slots] & table.words_of(item.signature)).sum(axis=1)
        most = len(item.vector)
        collisions = max(0, most - item.signature.bit_count())
        heaviest = np.fromiter(accumulate(sorted(item.vector.values(), reverse=True), initial=0.0), float, most + 1)
        floors = np.full(len(pool), self.params.similarity - _ROUNDING)
        floors[len(by_place):] = self.params.similarity_topic - _ROUNDING
        bound = table.peak[slots] * heaviest[np.minimum(shared + collisions, most)]
        worth = np.flatnonzero(opened & (shared > 0) & (bound >= floors))
        fits: list[tuple[Cluster, float]] = []
        located = {k[:2] for k in item.place_keys}   # "p:" named place, "g:" grid, "c:" point cell
        for position in worth.tolist():
            cluster = pool[position]
            threshold = self.params.similarity
            if position >= len(by_place):
                if located and not located.isdisjoint(cluster.key_kinds):
                    continue  # the same words at two known, different places are two problems, not one
                threshold = self.params.similarity_topic
            score = cluster.similarity(item.vector)
            if score >= threshold:
                fits.append((cluster, score))
        # The candidates came as sets, in no particular order: the fits are sorted by score and id.
        fits.sort(key=lambda cs: (-cs[1], cs[0].id))
        return fits

    def add_prepared(self, item: Prepared) -> tuple[Cluster, bool]:
        fits = self.fitting(item)
        joined = bool(fits)
        if fits:
            cluster = fits[0][0]
            for other, _score in fits[1:]:
                if other.id in self.clusters and cluster.centroid_similarity(other) >= self.params.merge_similarity:
                    self._merge(cluster, other)
        else:
            cluster = Cluster(self.next_id)
            self.next_id += 1
            self.clusters[cluster.id] = cluster
        keys = [*item.place_keys, *item.topic_keys]
        new_keys = [k for k in keys if k not in cluster.keys]
        cluster.add(item, keys, self.params)
        self._table.store(cluster)
        for key in new_keys:
            self.by_key.setdefault(key, []).append(cluster)
        return cluster, joined

    def load(self, cluster: Cluster) -> None:
        """Put back a cluster kept between runs (the product keeps them in its database)."""
        self.clusters[cluster.id] = cluster
        self._table.store(cluster)
        for key in cluster.keys:
            holders = self.by_key.setdefault(key, [])
            if cluster not in holders:
                holders.append(cluster)
        self.next_id = max(self.next_id, cluster.id + 1)

    def _merge(self, into: Cluster, other: Cluster) -> None:
        """The appeal showed two clusters are one problem: fold ``other`` into ``into``."""
        into.absorb(other, self.params)
        self._table.store(into)
        del self.clusters[other.id]
        self._table.release(other)
        self.merged[other.id] = into.id
        for key in other.keys:
            holders = self.by_key.setdefault(key, [])
            if into not in holders:
                holders.append(into)

    def add(self, appeal: AppealText) -> tuple[Cluster, bool]:
        """Put one appeal into the index: (its cluster, whether it joined an existing one)."""
        return self.add_prepared(prepare(appeal, self.vocabulary, self.params, use_pos=self.use_pos))

    def close_before(self, moment: datetime) -> None:
        """Retire clusters that can no longer grow when appeals arrive in time order (bounded memory)."""
        limit = moment - timedelta(days=self.params.window_days)
        gone = [c for c in self.clusters.values() if c.last_time is not None and c.last_time < limit]
        for cluster in gone:
            del self.clusters[cluster.id]
            self._table.release(cluster)
            if cluster.size >= self.params.min_size:
                cluster.centroid, cluster.signature = {}, 0
                self.closed.append(cluster)
        if gone:
            for key, holders in list(self.by_key.items()):
                kept = [c for c in holders if c.slot]
                if kept:
                    self.by_key[key] = kept
                else:
                    del self.by_key[key]

    def all_clusters(self) -> list[Cluster]:
        return [*self.closed, *self.clusters.values()]


# ----------------------------------------------------------------------------- results


@dataclass
class Hotspot:
    """One hotspot as reported: the cluster summarised for people."""

    cluster_id: int
    title: str
    keywords: list[str]
    place: str
    place_kind: str
    size: int
    citizens: int
    supports: int
    objections: int
    first_time: datetime
    last_time: datetime
    growth: float
    heat: float
    member_ids: list[str]
    times: list[datetime]
    points: list[tuple[float, float]]
    grid: str | None
    rank: int = 0


def growth_of(times: Sequence[datetime], reference: datetime, days: float) -> float:
    """(appeals in the last ``days`` − appeals in the ``days`` before) / max(1, the latter), in [−1, 5]."""
    span = timedelta(days=days)
    recent = sum(1 for t in times if reference - span < t <= reference)
    before = sum(1 for t in times if reference - 2 * span < t <= reference - span)
    return max(-1.0, min(5.0, (recent - before) / max(1, before)))


def heat(*, appeals: int, citizens: int, supports: int, objections: int, growth: float, age_days: float,
         params: HotspotParams) -> float:
    """heat = (citizens + r·(appeals − citizens) + s·ln(1+supports) − o·ln(1+objections))
              · (1 + g·max(growth, 0)) · 0.5^(age_days / half_life_days)

    Distinct citizens count fully; repeat appeals by the same citizen count ``repeat_weight`` each;
    supports (点赞, "我也遇到了") and objections enter on a log scale so that one viral post does not
    outweigh many people; a growing hotspot is lifted; an old one fades with a half-life."""
    base = (citizens + params.repeat_weight * max(0, appeals - citizens)
            + params.support_weight * math.log1p(max(0, supports))
            - params.objection_weight * math.log1p(max(0, objections)))
    lift = 1.0 + params.growth_weight * max(0.0, growth)
    fade = 0.5 ** (max(0.0, age_days) / params.half_life_days)
    return max(0.0, base) * lift * fade


def _words(text: str) -> list[str]:
    return text.split()


_STOP_WORDS = frozenset(_words("""
问题 反映 投诉 举报 咨询 关于 建议 请求 要求 希望 领导 政府 部门 相关 有关 市民 业主
居民 村民 群众 严重 一下 我们 你们 他们 请问 什么 为什么 何时 能否 是否 可否 解决
处理 情况 尽快 现在 已经 没有 进行 存在 一直 还是 这个 那个 一些 这些 那些 如何 怎么
怎样 谁来 谁管 不管 无人 强烈 恳请 恳求 麻烦 感谢 谢谢 请求 帮助 帮忙 关注 重视 落实
何时 多久 长期 多次 经常 今年 去年 目前 最近 近期 附近 周边 旁边 对面 门口 小区 社区
区域 地方 地区 这里 那里 本人 自己 大家 他人 一个 两个 没人 不是 就是 可以 应该 需要
不能 不让 不予 不给 给予 予以 以及 并且 而且 但是 因为 所以 如果 虽然 然后 然而 还有
请求 申请 办理 相关 部门 有关 单位 工作 人员 问询 以西 以南 以东 以北 问问 才能 这些
紧挨 何年何月 为何 为啥 是不是 有没有 怎么办 到底 市长 书记 区长 县长 镇长 主任 留言
信箱 网友 您好 你好 尊敬 回复 答复 一直 依然 仍然 至今 继续 万分
"""))


@lru_cache(maxsize=1)
def _jieba():  # type: ignore[no-untyped-def]
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def warm_up() -> None:
    """Load the segmenter's dictionaries (most of a second) now, not in the first appeal's join."""
    _jieba().lcut("热点预热")
    extract_places("", title="热点预热")   # a title without a known place: the part-of-speech tagger runs


def _keywords(cluster: Cluster, vocabulary: Vocabulary, exclude: Sequence[str], n: int = 5) -> list[str]:
    """Words many members' titles share, weighted by how rare their bigrams are across all appeals."""
    jieba = _jieba()
    df: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for title in cluster.titles:
        clean = title
        for name in exclude:
            if name:
                clean = clean.replace(name, " ")
        clean = _ADMIN_TEXT.sub(" ", clean)
        tokens = jieba.lcut(clean, HMM=True)
        words = {w for w in tokens
                 if len(w) >= 2 and w not in _STOP_WORDS and re.search(r"[\u4e00-\u9fff]", w)
                 and not any(w in name for name in exclude if name)}
        for position, word in enumerate(tokens):
            if word in words:
                first_seen.setdefault(word, position)
        df.update(words)
    if not df:
        return []
    unseen = vocabulary.unseen_idf

    def rarity(word: str) -> float:
        grams = [word[i:i + 2] for i in range(len(word) - 1)]
        return sum(vocabulary.idf.get(g, unseen) for g in grams) / len(grams)

    scored = sorted(df, key=lambda w: (-(df[w] * rarity(w)), first_seen.get(w, 99)))
    # Words several titles share first (the new-word finder also invents one-off fragments).
    shared = [w for w in scored if df[w] >= 2]
    return (shared + [w for w in scored if df[w] < 2])[:n]


def _place_of(cluster: Cluster) -> tuple[str, str]:
    # Where people live or go first; a company is as often the problem ("搅拌站") as the place.
    order = ("estate", "school", "hospital", "market", "village", "facility", "road", "company", "named", "town")
    if cluster.places:
        top = max(cluster.places.values())
        keys = [k for k, c in cluster.places.items() if c >= max(1, top * 0.5)]
        keys.sort(key=lambda k: (order.index(cluster.place_names[k][1]), -cluster.places[k]))
        name, kind = cluster.place_names[keys[0]]
        return name, kind
    if cluster.grids:
        return cluster.grids.most_common(1)[0][0], "grid"
    if cluster.areas:
        return cluster.areas.most_common(1)[0][0], "area"
    return "", ""


def summarise(cluster: Cluster, vocabulary: Vocabulary, params: HotspotParams, reference: datetime) -> Hotspot:
    """Title, keywords, place, counts, growth and heat of one cluster, as of ``reference``."""
    place, kind = _place_of(cluster)
    exclude = [place, *(name for name, k in cluster.place_names.values() if k in _WHERE_KINDS), *cluster.areas]
    keywords = _keywords(cluster, vocabulary, exclude)
    others = [name for key, (name, k) in sorted(cluster.place_names.items(), key=lambda kv: -cluster.places[kv[0]])
              if name != place and cluster.places[key] >= max(2, cluster.size // 3) and name not in place][:1]
    problem = " ".join(keywords[:3])
    title = " ".join(part for part in (place, *others, problem) if part) or (cluster.titles[0][:30]
                                                                               if cluster.titles else "")
    assert cluster.first_time is not None and cluster.last_time is not None
    citizens = len(cluster.citizens) + cluster.anonymous
    growth = growth_of(cluster.times, reference, params.growth_days)
    age_days = (reference - cluster.last_time).total_seconds() / 86400.0
    score = heat(appeals=cluster.size, citizens=citizens, supports=cluster.supports, objections=cluster.objections,
                 growth=growth, age_days=age_days, params=params)
    order = sorted(range(cluster.size), key=lambda i: cluster.times[i])
    return Hotspot(cluster.id, title, keywords, place, kind, cluster.size, citizens, cluster.supports,
                   cluster.objections, cluster.first_time, cluster.last_time, round(growth, 3), round(score, 4),
                   [cluster.member_ids[i] for i in order], [cluster.times[i] for i in order], list(cluster.points),
                   cluster.grids.most_common(1)[0][0] if cluster.grids else None)


def fit_vocabulary(appeals: Sequence[AppealText], params: HotspotParams, *, sample: int = 60_000) -> Vocabulary:
    """IDF from an even sample of the appeals (a 60,000-appeal sample estimates it as well as all)."""
    step = max(1, len(appeals) // sample)
    texts = (_ADMIN_TEXT.sub(" ", _NOISE.sub(" ", (a.title + "。" + a.content)[: params.text_chars]))
             for a in appeals[::step])
    return Vocabulary.fit(texts)


_worker_state: dict[str, Any] = {}
_TERM = re.compile("..", re.S)


def _prepare_slice(bounds: tuple[int, int]) -> list[tuple[Any, ...]]:
    """Prepare ``ordered[start:end]`` in a worker, which inherited the appeals when it was forked.

    Only the parts the clustering process lacks travel back, as plain tuples: that process also
    unpickles every result, and it is the one on the critical path."""
    ordered, vocabulary = _worker_state["ordered"], _worker_state["vocabulary"]
    params, use_pos, term_numbers = _worker_state["params"], _worker_state["use_pos"], _worker_state["term_numbers"]
    out = []
    for appeal in ordered[bounds[0]:bounds[1]]:
        item = prepare(appeal, vocabulary, params, use_pos=use_pos)
        # The vector as one buffer of its terms and one of its weights: two objects to unpickle instead
        # of ninety-six. A term is sent as its number in the vocabulary, which the clustering process
        # turns back into its own copy of the term without hashing a new string; a vector holding a
        # term the vocabulary lacks goes as one string of its terms, character bigrams, split in pairs.
        numbers = array("i", map(term_numbers.get, item.vector, repeat(-1)))
        terms: bytes | str = numbers.tobytes()
        if -1 in numbers:
            terms = "".join(item.vector)
            if len(terms) != 2 * len(item.vector):
                raise ValueError("hotspot vector terms must be character bigrams")
        out.append((terms, array("d", item.vector.values()).tobytes(),
                    [(p.name, p.kind, p.key) for p in item.places], item.place_keys, item.topic_keys,
                    item.areas, item.signature, item.near_cells))
    return out


def _lower_priority() -> None:
    # The workers fill the core the clustering process leaves idle; they must not take turns with it.
    gc.enable()   # the clustering process pauses its collector; the workers keep theirs
    with contextlib.suppress(OSError):
        os.nice(5)


def _prepared_stream(ordered: Sequence[AppealText], vocabulary: Vocabulary, params: HotspotParams, use_pos: bool,
                     workers: int, *, slice_size: int = 20_000, parallel_from: int = 20_000,
                     first_slice: int = 2_000) -> Iterator[Prepared]:
    """Each appeal's places and vector, in order. Preparing is independent per appeal (most of the
    work), so ``workers`` processes do it while this one clusters; clustering itself is sequential.

    The appeals go out in slices, one prepared ahead of the one being clustered (bounded memory). The
    slices start at ``first_slice`` and double up to ``slice_size``: clustering starts as soon as a
    small slice is ready instead of waiting, idle, for a full one."""
    if workers <= 1 or not ordered or len(ordered) < parallel_from:
        for appeal in ordered:
            yield prepare(appeal, vocabulary, params, use_pos=use_pos)
        return
    import multiprocessing

    # One string object per term in this process: centroids then hold the same few hundred thousand
    # terms instead of a fresh copy per appeal, and most lookups compare identities in warm memory.
    term_list = list(vocabulary.idf)
    term_of = {term: term for term in term_list}
    # Inherited by the forked workers: the appeals need not be pickled to reach them. Forked, not
    # spawned, also because the workers must share this process's string-hash salt: the term
    # signatures they compute are compared here.
    _worker_state.update(ordered=ordered, vocabulary=vocabulary, params=params, use_pos=use_pos,
                         term_numbers={term: number for number, term in enumerate(term_list)})
    chunk = max(1, min(500, slice_size // (4 * workers)))

    cuts, size = [0], max(1, first_slice)
    while cuts[-1] < len(ordered):
        cuts.append(min(cuts[-1] + size, len(ordered)))
        size = min(2 * size, slice_size)
    slices = list(pairwise(cuts))

    def submit(pool: Pool, start: int, end: int) -> AsyncResult[list[list[tuple[Any, ...]]]]:
        return pool.map_async(_prepare_slice, [(s, min(s + chunk, end)) for s in range(start, end, chunk)],
                              chunksize=1)

    try:
        with multiprocessing.get_context("fork").Pool(workers, initializer=_lower_priority) as pool:
            pending = submit(pool, *slices[0])
            for number, (start, _end) in enumerate(slices):
                ready = pending.get()
                if number + 1 < len(slices):
                    pending = submit(pool, *slices[number + 1])
                position = start
                for part in ready:
                    for terms, weights, places, place_keys, topic_keys, areas, signature, near in part:
                        if type(terms) is bytes:
                            keys: Iterable[str] = map(term_list.__getitem__, array("i", terms))
                        else:
                            pairs = _TERM.findall(terms)
                            keys = map(term_of.setdefault, pairs, pairs)
                        vector = dict(zip(keys, array("d", weights), strict=True))
                        yield Prepared(ordered[position], vector, [Place(*p) for p in places], place_keys,
                                       topic_keys, areas, signature, near)
                        position += 1
    finally:
        _worker_state.clear()


def find_hotspots(appeals: Sequence[AppealText], params: HotspotParams | None = None, *,
                  reference: datetime | None = None, top: int | None = None, use_pos: bool = True,
                  vocabulary: Vocabulary | None = None, workers: int = 1,
                  progress: Callable[[int], None] | None = None) -> tuple[list[Hotspot], HotspotIndex]:
    """The full recompute: every appeal in time order through :class:`HotspotIndex`.

    Returns the hotspots ranked by heat (``top`` of them when given) and the index, whose open
    clusters are what later appeals join. ``reference`` is "now" for growth and fading (default:
    the latest appeal's time). ``workers`` > 1 prepares appeals in that many processes (large
    volumes). ``progress`` is called with the number of appeals done so far."""
    params = params or HotspotParams()
    vocabulary = vocabulary or fit_vocabulary(appeals, params)
    index = HotspotIndex(vocabulary, params, use_pos=use_pos)
    ordered = sorted(appeals, key=lambda a: a.time)
    reference = reference or (ordered[-1].time if ordered else None)
    # The loop builds millions of long-lived objects and frees almost none, so automatic collections
    # find nothing while each full one walks the whole heap: 16 % of the time at 300,000 appeals.
    # The ranking is inside the pause too: re-enabled before it, the collector's first full pass walks
    # everything the loop built (seconds at 1,000,000 appeals) and finds nothing to free.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for i, item in enumerate(_prepared_stream(ordered, vocabulary, params, use_pos, workers), 1):
            index.add_prepared(item)
            if i % 20000 == 0:   # retiring walks every open cluster and key: not too often
                index.close_before(item.appeal.time)
            if progress and i % 5000 == 0:
                progress(i)
        if progress:
            progress(len(ordered))
        if reference is None:
            return [], index
        hotspots = rank_hotspots(index.all_clusters(), vocabulary, params, reference, top=top)
    finally:
        if collecting:
            gc.enable()
    return hotspots, index


def rank_hotspots(clusters: Iterable[Cluster], vocabulary: Vocabulary, params: HotspotParams,
                  reference: datetime, *, top: int | None = None) -> list[Hotspot]:
    big = [c for c in clusters if c.size >= params.min_size]
    # Heat without titles first (cheap), then titles only for those reported.
    def quick(c: Cluster) -> float:
        assert c.last_time is not None
        return heat(appeals=c.size, citizens=len(c.citizens) + c.anonymous, supports=c.supports,
                    objections=c.objections, growth=growth_of(c.times, reference, params.growth_days),
                    age_days=(reference - c.last_time).total_seconds() / 86400.0, params=params)

    big.sort(key=quick, reverse=True)
    if top is not None:
        big = big[:top]
    hotspots = [summarise(c, vocabulary, params, reference) for c in big]
    hotspots.sort(key=lambda h: (-h.heat, -h.size, h.first_time))
    for rank, hotspot in enumerate(hotspots, 1):
        hotspot.rank = rank
    return hotspots
