"""Smart dispatch (智能派单): classifiers trained on the district's own history, wired into intake and routing.

Three kinds of model, each a file under the media directory with a manifest and a row in
``dispatch_models``: ``category`` (the finest taxonomy level the history has enough examples of,
mapped up to its parents through the categories table), ``appeal_type`` and ``lead_unit``.

The lead unit is learnt by remit *and* by territory: when the history's lead unit was the town (or a
community under it) where the appeal happened, the label is the pseudo-unit ``@territorial`` ("the
town where it happened"), so the model learns *which matters go to the towns* rather than which
town; a suggestion maps it to the appeal's located town. The duty list
(``service.suggest_routing``) adds its keyword evidence, with the matter's own territorial rule.

Honest measurement: a fixed slice of the history (a seeded hash of the appeal number, 20 % by
default) is never trained on. Every model is measured on it, a new model replaces the one in use
only if it is not worse on that same slice (``force`` overrides, audited), and the lead-unit
model's held-out predictions give the precision-at-threshold curves per first-level category that
decide whether the admin may switch on automatic dispatch for that category.

Suggestions are computed lazily for display and cached per appeal id, appeal version and model
versions; intake only pays for :func:`after_intake`, a cached-setting lookup when automatic
dispatch is off.

Policy lives in settings (admin-editable; defaults in ``DEFAULTS``): ``smart_dispatch_auto_thresholds``
(per first-level category; empty = off), ``smart_dispatch_min_precision`` (0.95) and
``smart_dispatch_min_support`` (20 held-out appeals) for permitting a threshold,
``smart_dispatch_holdout_fraction`` (0.2), ``smart_dispatch_max_training_rows`` (20,000, the most recent),
``smart_dispatch_min_category_examples`` (5, the back-off to a parent category),
``smart_dispatch_urgency_rules`` (keyword groups → 紧急/特急) and ``smart_dispatch_urgency_prior`` (0.7,
the confidence of a rule without history),
``smart_dispatch_duplicate_days`` (30) and ``smart_dispatch_duplicate_similarity`` (0.3).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sudi.appeals import service
from sudi.appeals.models import (
    APPEAL_TYPE_LABELS,
    OPEN_STATES,
    URGENCY_LABELS,
    Appeal,
    AppealType,
    Category,
    State,
    Urgency,
)
from sudi.appeals.smart_dispatch_models import DispatchLabel, DispatchModel
from sudi.core import clock
from sudi.core.db import transaction
from sudi.core.errors import Forbidden, InvalidInput, NotFound, SudiError
from sudi.core.models import cached_setting, get_setting, put_setting, record_audit
from sudi.directory.models import Role, Unit, UnitKind
from sudi.directory.service import SYSTEM, Actor
from sudi.intelligence.pii import mask_text

if TYPE_CHECKING:
    from sudi.intelligence.classify import TextClassifier

log = logging.getLogger("sudi.smart_dispatch")
KINDS = ("category", "appeal_type", "lead_unit")
KIND_LABELS = {"category": "诉求分类", "appeal_type": "诉求类型", "lead_unit": "主办单位"}
TERRITORIAL = "@territorial"
UNCATEGORISED = "未分类"
CLOSED_STATES = (State.resolved.value, State.followed_up.value, State.archived.value)
# Appeals whose dispatch decision has been taken and stands: closed, or in the unit's hands (a return
# takes it out again). Their category, type and lead unit are what the centre decided.
DECIDED_STATES = (State.dispatched.value, State.acknowledged.value, *CLOSED_STATES)
CURVE_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98)

# Settings (admin policy, in the database).
ACTIVE_KEY = "smart_dispatch_active_models"          # {kind: {"version": n, "path": "..."}}
AUTO_THRESHOLDS_KEY = "smart_dispatch_auto_thresholds"  # {first-level category name: threshold}
MIN_PRECISION_KEY = "smart_dispatch_min_precision"
MIN_SUPPORT_KEY = "smart_dispatch_min_support"
HOLDOUT_KEY = "smart_dispatch_holdout_fraction"
MIN_EXAMPLES_KEY = "smart_dispatch_min_category_examples"
MAX_ROWS_KEY = "smart_dispatch_max_training_rows"
URGENCY_RULES_KEY = "smart_dispatch_urgency_rules"
URGENCY_STATS_KEY = "smart_dispatch_urgency_stats"
URGENCY_PRIOR_KEY = "smart_dispatch_urgency_prior"
DUPLICATE_DAYS_KEY = "smart_dispatch_duplicate_days"
DUPLICATE_MIN_KEY = "smart_dispatch_duplicate_similarity"

DEFAULTS: dict[str, Any] = {
    MIN_PRECISION_KEY: 0.95, MIN_SUPPORT_KEY: 20, HOLDOUT_KEY: 0.2, MIN_EXAMPLES_KEY: 5, MAX_ROWS_KEY: 20_000,
    URGENCY_PRIOR_KEY: 0.7, DUPLICATE_DAYS_KEY: 30, DUPLICATE_MIN_KEY: 0.3,
}
# Safety, gas, fire, flood, violence: what makes an appeal 紧急 or 特急 on its face. Admins edit it.
DEFAULT_URGENCY_RULES: list[dict[str, Any]] = [
    {"group": "燃气", "urgency": "critical",
     "words": ["燃气泄漏", "煤气泄漏", "天然气泄漏", "液化气泄漏", "煤气味", "燃气味", "漏气", "燃气爆炸"]},
    {"group": "火灾", "urgency": "critical", "words": ["着火", "起火", "失火", "火灾", "浓烟", "爆炸", "烧起来"]},
    {"group": "暴力", "urgency": "critical",
     "words": ["持刀", "砍人", "行凶", "打人", "殴打", "家暴", "家庭暴力", "斗殴", "扬言报复", "威胁要杀"]},
    {"group": "洪涝", "urgency": "urgent",
     "words": ["洪水", "决堤", "漫堤", "山洪", "内涝", "被淹", "淹水", "积水严重", "倒灌"]},
    {"group": "安全", "urgency": "urgent",
     "words": ["安全隐患", "塌陷", "坍塌", "倒塌", "危房", "触电", "漏电", "电线裸露", "井盖丢失", "井盖缺失",
               "被困", "坠落", "有人受伤"]},
]
_URGENCY_RANK = {Urgency.normal.value: 0, Urgency.urgent.value: 1, Urgency.critical.value: 2}


def setting(session: Session, key: str) -> Any:
    return cached_setting(session, key, DEFAULTS.get(key), ttl_s=30)


def model_dir_for(media_dir: Path | str) -> Path:
    """Where model files live: beside the uploaded photos, under the media directory."""
    return Path(media_dir) / "models"


def appeal_text(title: str, content: str) -> str:
    return f"{title}\n{content}"


# ================================================================ loaded models

@dataclass(frozen=True)
class LoadedModel:
    kind: str
    version: int
    classifier: TextClassifier

    @property
    def manifest(self) -> dict[str, Any]:
        return self.classifier.manifest


_loaded: dict[str, LoadedModel] = {}
_load_lock = threading.Lock()


def active_models(session: Session) -> dict[str, LoadedModel]:
    """The model in use for each kind, loaded once per process and version (a file of a few MB loads in
    well under a second). A kind whose file is missing is left out, so suggestions degrade to the duty
    list instead of failing the page."""
    from sudi.intelligence.classify import load_classifier

    active = cached_setting(session, ACTIVE_KEY, {}, ttl_s=5) or {}
    out: dict[str, LoadedModel] = {}
    for kind, entry in active.items():
        if kind not in KINDS or not isinstance(entry, dict):
            continue
        path, version = str(entry.get("path", "")), int(entry.get("version", 0))
        key = f"{path}#{kind}"
        hit = _loaded.get(key)
        if hit is None or hit.version != version:
            with _load_lock:
                hit = _loaded.get(key)
                if hit is None or hit.version != version:
                    if not Path(path).exists():
                        continue
                    try:
                        hit = LoadedModel(kind, version, load_classifier(path))
                    except SudiError:
                        continue
                    _loaded[key] = hit
        out[kind] = hit
    return out


def forget_loaded_models() -> None:
    _loaded.clear()
    _suggestion_cache.clear()
    _queue_cache.clear()


# ================================================================ suggestions

@dataclass(frozen=True)
class Choice:
    value: str           # what the dispatch form takes: category code, type value, unit code ("" if none)
    label: str           # what the dispatcher reads
    confidence: float | None  # calibrated probability, None when it comes from the duty list alone
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldSuggestion:
    kind: str
    best: Choice
    alternatives: tuple[Choice, ...]
    evidence: tuple[str, ...]   # the words that weighed most for ``best``
    model_version: int | None
    path: tuple[str, ...] = ()  # category levels, top first


@dataclass(frozen=True)
class UrgencyHint:
    urgency: str
    label: str
    groups: tuple[str, ...]
    words: tuple[str, ...]
    confidence: float
    basis: str  # "history": measured on closed appeals with these words; "rule": the admin's prior


@dataclass(frozen=True)
class DuplicateCandidate:
    number: str
    title: str
    state: str
    received_at: datetime
    similarity: float
    reasons: tuple[str, ...]


@dataclass
class Suggestions:
    category: FieldSuggestion | None = None
    appeal_type: FieldSuggestion | None = None
    lead_unit: FieldSuggestion | None = None
    urgency: UrgencyHint | None = None
    duplicates: list[DuplicateCandidate] = field(default_factory=list)
    routing: list[dict[str, Any]] = field(default_factory=list)  # duty-list matches (service.suggest_routing)
    category_l1: str = UNCATEGORISED
    models: dict[str, int] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        return bool(self.category or self.appeal_type or self.lead_unit or self.urgency or self.duplicates)


_suggestion_cache: OrderedDict[tuple[Any, ...], tuple[float, Suggestions]] = OrderedDict()
_CACHE_SIZE = 4096
_CACHE_TTL_S = 60.0  # duplicates depend on other appeals arriving; everything else on the key


def suggest(session: Session, appeal: Appeal, *, duplicates: bool = True,
            routing: list[dict[str, Any]] | None = None) -> Suggestions:
    """Everything smart dispatch suggests for one appeal, cached per appeal version and model versions.
    ``routing``: ``service.suggest_routing`` of this appeal when the caller has it already."""
    models = active_models(session)
    key = (str(session.get_bind().engine.url), appeal.id, appeal.version, duplicates,
           tuple(sorted((k, m.version) for k, m in models.items())))
    hit = _suggestion_cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    result = _compute(session, appeal, models, duplicates=duplicates, routing=routing)
    _suggestion_cache[key] = (time.monotonic() + _CACHE_TTL_S, result)
    while len(_suggestion_cache) > _CACHE_SIZE:
        _suggestion_cache.popitem(last=False)
    return result


_queue_cache: OrderedDict[tuple[Any, ...], tuple[float, dict[str, Any]]] = OrderedDict()


def annotate_queue(session: Session, appeals: Sequence[Appeal], rows: list[dict[str, Any]]) -> None:
    """The dispatch queue's column (``row["smart"]``), for a whole page at once: one prediction call per
    message and model, one query for the units and categories they name, one for the duplicates; kept per
    appeal version and model versions for a minute. The duty list's evidence and the word-level reasons are
    on the appeal's own page."""
    models = active_models(session)
    versions = tuple(sorted((k, m.version) for k, m in models.items()))
    url = str(session.get_bind().engine.url)
    now = time.monotonic()
    keys = [(url, a.id, a.version, versions) for a in appeals]
    cells: dict[int, dict[str, Any]] = {}
    for i, key in enumerate(keys):
        hit = _queue_cache.get(key)
        if hit is not None and hit[0] > now:
            cells[i] = hit[1]
    missing = [i for i in range(len(keys)) if i not in cells]
    if missing:
        todo = [appeals[i] for i in missing]
        texts = [appeal_text(a.title, a.content) for a in todo]
        # One call per message: at a page's size the single-message path beats the batch one several times.
        predicted: dict[str, list[Any]] = {kind: [m.classifier.predict(t, top_k=1, explain=0) for t in texts]
                                           for kind, m in models.items()}
        units = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(
            {p.label for p in predicted.get("lead_unit", [])})))}
        categories = {c.code: c for c in session.scalars(select(Category).where(Category.code.in_(
            {p.label for p in predicted.get("category", [])})))}
        duplicates = duplicates_for(session, todo)
        for j, (i, appeal) in enumerate(zip(missing, todo, strict=True)):
            lead = predicted["lead_unit"][j] if "lead_unit" in predicted else None
            unit = _unit_choice(lead.label, lead.confidence, appeal, units) if lead is not None else None
            category = categories.get(predicted["category"][j].label) if "category" in predicted else None
            kind = predicted["appeal_type"][j].label if "appeal_type" in predicted else ""
            urgency = urgency_hint(session, texts[j])
            cell = {
                "unit": unit.label if unit else "", "unit_confidence": unit.confidence if unit else None,
                "category": category.full_name.replace("/", " › ") if category else "",
                "category_confidence": predicted["category"][j].confidence if category else None,
                "type": APPEAL_TYPE_LABELS.get(kind, "") if kind else "",  # type: ignore[call-overload,arg-type]
                "urgency": urgency.label if urgency else "", "duplicates": len(duplicates[appeal.id]),
            }
            _queue_cache[keys[i]] = (now + _CACHE_TTL_S, cell)
            cells[i] = cell
        while len(_queue_cache) > _CACHE_SIZE:
            _queue_cache.popitem(last=False)
    for i, row in enumerate(rows):
        row["smart"] = dict(cells[i])


def _categories(session: Session) -> dict[str, Category]:
    return {c.code: c for c in session.scalars(select(Category))}


def _compute(session: Session, appeal: Appeal, models: dict[str, LoadedModel], *, duplicates: bool,
             routing: list[dict[str, Any]] | None = None) -> Suggestions:
    text = appeal_text(appeal.title, appeal.content)
    out = Suggestions(models={k: m.version for k, m in models.items()})
    if "category" in models:
        out.category = _category_suggestion(models["category"], text, session=session)
    if "appeal_type" in models:
        model = models["appeal_type"]
        p = model.classifier.predict(text, top_k=3, explain=5)
        choices = [Choice(s.label, APPEAL_TYPE_LABELS.get(s.label, s.label), s.probability)  # type: ignore[call-overload]
                   for s in p.top if s.label in set(AppealType)]
        if choices:
            out.appeal_type = FieldSuggestion("appeal_type", choices[0], tuple(choices[1:]),
                                              tuple(e.term for e in p.evidence), model.version)
    out.category_l1 = first_level(appeal, out.category)
    out.routing = routing if routing is not None else service.suggest_routing(session, appeal)
    out.lead_unit = _unit_suggestion(session, appeal, models.get("lead_unit"), text, out.routing)
    out.urgency = urgency_hint(session, text)
    if duplicates:
        out.duplicates = find_duplicates(session, appeal)
    return out


def _category_suggestion(model: LoadedModel, text: str, categories: dict[str, Category] | None = None, *,
                         session: Session | None = None) -> FieldSuggestion | None:
    p = model.classifier.predict(text, top_k=4, explain=5)
    if categories is None:  # one appeal: read only the nodes the model named
        assert session is not None
        categories = {c.code: c for c in session.scalars(select(Category).where(
            Category.code.in_([s.label for s in p.top])))}
    choices = []
    for s in p.top:
        node = categories.get(s.label)
        if node is not None and node.is_active:
            choices.append(Choice(node.code, node.full_name, s.probability))
    if not choices:
        return None
    best = categories[choices[0].value]
    return FieldSuggestion("category", choices[0], tuple(choices[1:3]), tuple(e.term for e in p.evidence),
                           model.version, tuple(best.full_name.split("/")))


def first_level(appeal: Appeal, category: FieldSuggestion | None) -> str:
    """The appeal's first-level category as recorded, else as suggested: the key of the auto-dispatch
    thresholds and of the precision curves."""
    if appeal.category_id is not None and appeal.category is not None:
        return appeal.category.full_name.split("/")[0]
    if category is not None and category.path:
        return category.path[0]
    return UNCATEGORISED


def _unit_choice(label: str, probability: float | None, appeal: Appeal, units: dict[str, Unit]) -> Choice | None:
    if label == TERRITORIAL:
        if appeal.town is not None:
            return Choice(appeal.town.code, appeal.town.name, probability,
                          (f"属地管理：事发地在{appeal.town.name}",))
        return Choice("", "属地镇街（事发地未定位）", probability, ("属地管理：须先确定事发地",))
    unit = units.get(label)
    if unit is None or not unit.is_active:
        return None
    return Choice(unit.code, unit.name, probability)


def _unit_suggestion(session: Session, appeal: Appeal, model: LoadedModel | None, text: str,
                     routing: list[dict[str, Any]]) -> FieldSuggestion | None:
    choices: list[Choice] = []
    evidence: tuple[str, ...] = ()
    probability_of: dict[str, float] = {}
    if model is not None:
        clf = model.classifier
        p = clf.predict(text, top_k=3, explain=5)
        evidence = tuple(e.term for e in p.evidence)
        units = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_([s.label for s in p.top])))}
        for s in p.top:
            choice = _unit_choice(s.label, s.probability, appeal, units)
            if choice is not None and all(c.value != choice.value or not c.value for c in choices):
                choices.append(choice)
        if routing:
            probs = clf.probabilities([text])[0]
            probability_of = {label: float(probs[k]) for k, label in enumerate(clf.labels)}
    # The duty list's evidence joins the unit it names; a unit only the duty list names is an alternative.
    for hit in routing:
        why = f"权责清单 {hit['matter']} {hit['matter_name']}：命中“{'、'.join(hit['matched_keywords'])}”"
        if hit["territorial"]:
            why += "（属地管理）"
        at = next((i for i, c in enumerate(choices) if c.value == hit["unit"]), None)
        if at is not None:
            c = choices[at]
            choices[at] = Choice(c.value, c.label, c.confidence, (*c.reasons, why))
            continue
        label = TERRITORIAL if hit["territorial"] and appeal.town is not None and hit["unit"] == appeal.town.code \
            else hit["unit"]
        confidence = probability_of.get(label) if model is not None else None
        choices.append(Choice(hit["unit"], hit["unit_name"], confidence, (why,)))
    if not choices:
        return None
    return FieldSuggestion("lead_unit", choices[0], tuple(choices[1:4]), evidence,
                           model.version if model is not None else None)


# ---------------------------------------------------------------- urgency

def urgency_rules(session: Session) -> list[dict[str, Any]]:
    rules = cached_setting(session, URGENCY_RULES_KEY, None, ttl_s=30)
    return rules if isinstance(rules, list) and rules else DEFAULT_URGENCY_RULES


def _rule_hits(rules: Sequence[dict[str, Any]], text: str) -> list[tuple[dict[str, Any], list[str]]]:
    from sudi.intelligence.matching import keyword_hits, normalise

    haystack = normalise(text)
    found = []
    for rule in rules:
        hits = keyword_hits(haystack, [str(w) for w in rule.get("words", [])])
        if hits:
            found.append((rule, list(hits)))
    return found


def urgency_hint(session: Session, text: str) -> UrgencyHint | None:
    """紧急 / 特急 when the text names a danger (safety, gas, fire, flood, violence). The confidence is
    measured where the district's history has enough appeals with those words (the share marked at
    least that urgent, Laplace-smoothed); elsewhere it is the admin's prior for a keyword rule."""
    hits = _rule_hits(urgency_rules(session), text)
    if not hits:
        return None
    level = max((str(r.get("urgency", "urgent")) for r, _ in hits), key=lambda u: _URGENCY_RANK.get(u, 1))
    if level not in (Urgency.urgent.value, Urgency.critical.value):
        level = Urgency.urgent.value
    groups = tuple(dict.fromkeys(str(r.get("group", "")) for r, _ in hits))
    words = tuple(dict.fromkeys(w for _, ws in hits for w in ws))
    stats = cached_setting(session, URGENCY_STATS_KEY, {}, ttl_s=60) or {}
    n = sum(int(stats.get(g, {}).get("n", 0)) for g in groups)
    k = sum(int(stats.get(g, {}).get("urgent", 0)) for g in groups)
    if n >= 10:
        confidence, basis = (k + 1) / (n + 2), "history"
    else:
        confidence, basis = float(setting(session, URGENCY_PRIOR_KEY)), "rule"
    return UrgencyHint(level, URGENCY_LABELS[Urgency(level)], groups, words, round(confidence, 3), basis)


# ---------------------------------------------------------------- duplicates

def find_duplicates(session: Session, appeal: Appeal, *, limit: int = 5) -> list[DuplicateCandidate]:
    return duplicates_for(session, [appeal], limit=limit)[appeal.id]


def _similarity(own_title: frozenset[str], own_all: frozenset[str], title: frozenset[str],
                everything: frozenset[str]) -> float:
    """The portal's measure (``service.similar_open_appeals``): the best of title against title, title plus
    the head of the content against the same, and half the share of a short title found in the other."""
    return max(service._jaccard(own_title, title), service._jaccard(own_all, everything),
               0.5 * len(own_title & title) / len(own_title) if len(own_title) >= 3 else 0.0)


_gram_cache: dict[tuple[str, str], tuple[frozenset[str], frozenset[str]]] = {}


def _grams_of(title: str, excerpt: str) -> tuple[frozenset[str], frozenset[str]]:
    """(title grams, title + excerpt grams), kept per process by the text itself: a queue page compares the
    same open appeals again and again."""
    key = (title, excerpt)
    hit = _gram_cache.get(key)
    if hit is None:
        if len(_gram_cache) > 20_000:
            _gram_cache.clear()
        hit = _gram_cache[key] = (service._grams(title), service._grams(f"{title} {excerpt}"))
    return hit


def duplicates_for(session: Session, appeals: Sequence[Appeal], *, limit: int = 5
                   ) -> dict[int, list[DuplicateCandidate]]:
    """Open appeals about the same matter as each of ``appeals``: the same caller (phone) or the same
    place (grid), received within the admin's window (30 days) of it, with similar text (at least the
    admin's minimum, 0.3; half of it for the same caller). One indexed query for a whole queue page.
    An appeal with neither phone nor place falls back to the portal's text search (with its 1 km rule)."""
    window = timedelta(days=int(setting(session, DUPLICATE_DAYS_KEY)))
    minimum = float(setting(session, DUPLICATE_MIN_KEY))
    out: dict[int, list[DuplicateCandidate]] = {a.id: [] for a in appeals}
    placed = [a for a in appeals if a.citizen_phone or a.grid_id is not None]
    for appeal in appeals:
        if appeal.citizen_phone or appeal.grid_id is not None:
            continue
        for hit in service.similar_open_appeals(session, appeal.title, appeal.content, appeal.lat, appeal.lon,
                                                limit=limit + 1):
            if hit.number != appeal.number and hit.score >= minimum:
                out[appeal.id].append(DuplicateCandidate(hit.number, hit.title, hit.state, hit.received_at,
                                                         hit.score, ("文本相似", *(("1公里内",) if hit.near else ()))))
        out[appeal.id] = out[appeal.id][:limit]
    if not placed:
        return out
    phones = {a.citizen_phone for a in placed if a.citizen_phone}
    grids = {a.grid_id for a in placed if a.grid_id is not None}
    clauses = []
    if phones:
        clauses.append(Appeal.citizen_phone.in_(sorted(phones)))
    if grids:
        clauses.append(Appeal.grid_id.in_(sorted(grids)))  # type: ignore[type-var]
    head = func.substr(Appeal.content, 1, 200)
    rows = session.execute(
        select(Appeal.id, Appeal.number, Appeal.title, head, Appeal.state, Appeal.received_at, Appeal.grid_id,
               Appeal.citizen_phone)
        .where(or_(*clauses), Appeal.state.in_([s.value for s in OPEN_STATES]), Appeal.master_id.is_(None),
               Appeal.received_at >= min(a.received_at for a in placed) - window,
               Appeal.received_at <= max(a.received_at for a in placed) + window)
        .order_by(Appeal.received_at.desc()).limit(5000)).all()
    for appeal in placed:
        own_title, own_all = _grams_of(appeal.title, appeal.content[:200])
        found = []
        for row_id, number, title, excerpt, state, received_at, grid_id, phone in rows:
            same_phone = bool(appeal.citizen_phone) and phone == appeal.citizen_phone
            same_grid = appeal.grid_id is not None and grid_id == appeal.grid_id
            if row_id == appeal.id or not (same_phone or same_grid) or abs(received_at - appeal.received_at) > window:
                continue
            score = _similarity(own_title, own_all, *_grams_of(title, excerpt or ""))
            if score >= minimum or (same_phone and score >= minimum / 2):
                reasons = ("同一来电号码",) * same_phone + ("同一网格",) * same_grid
                found.append(DuplicateCandidate(number, mask_text(title), state, received_at, round(score, 3),
                                                reasons))
        found.sort(key=lambda d: (-d.similarity, d.number))
        out[appeal.id] = found[:limit]
    return out


# ================================================================ the dispatcher's decision

@dataclass
class DispatchChoice:
    """What the dispatcher confirmed or corrected on the smart dispatch panel."""

    unit: str
    category: str | None = None
    appeal_type: str | None = None
    urgency: str | None = None
    assisting_units: list[str] = field(default_factory=list)
    matter: str | None = None
    comment: str = ""


def dispatch_with_suggestions(session: Session, actor: Actor, number: str, choice: DispatchChoice) -> Appeal:
    """Accept (if still received), set category, type and urgency, dispatch: one transaction. Where the
    dispatcher chose differently from the suggestion, the choice is stored as a label for training."""
    if actor.role not in service.DISPATCH_ROLES:
        raise Forbidden("只有派单员可以派单", "only a dispatcher may dispatch")
    appeal = service.access_appeal(session, actor, number)
    suggested = suggest(session, appeal, duplicates=False)
    with transaction(session):
        appeal = service.get_appeal(session, number)
        if appeal.state == State.received.value:
            service.perform_action(session, actor, number, {"action": "accept"})
        notes = []
        if choice.category:
            category = session.scalar(select(Category).where(Category.code == choice.category))
            if category is None or not category.is_active:
                raise InvalidInput(f"没有分类 {choice.category}", f"unknown category {choice.category!r}",
                                   field="category")
            if appeal.category_id != category.id:
                appeal.category_id = category.id
                notes.append(f"分类：{category.full_name}")
        if choice.appeal_type and choice.appeal_type != appeal.appeal_type:
            if choice.appeal_type not in set(AppealType):
                raise InvalidInput("诉求类型无效", "unknown appeal_type", field="appeal_type")
            appeal.appeal_type = choice.appeal_type
            notes.append(f"类型：{APPEAL_TYPE_LABELS[AppealType(choice.appeal_type)]}")
        if choice.urgency and choice.urgency != appeal.urgency:
            if choice.urgency not in set(Urgency):
                raise InvalidInput("紧急程度无效", "unknown urgency", field="urgency")
            appeal.urgency = choice.urgency
            notes.append(f"紧急程度：{URGENCY_LABELS[Urgency(choice.urgency)]}")
        unit = suggested.lead_unit.best if suggested.lead_unit else None
        why = ("按智能派单建议" if unit is not None and unit.value == choice.unit else "人工选定单位")
        if unit is not None and unit.confidence is not None and suggested.lead_unit is not None:
            why += f"（模型 v{suggested.lead_unit.model_version} 建议 {unit.label}，置信度 {unit.confidence:.2f}）"
        comment = "；".join(p for p in (choice.comment, why, *notes) if p)
        payload: dict[str, Any] = {"action": "dispatch", "unit": choice.unit, "comment": comment[:4000],
                                   "assisting_units": choice.assisting_units}
        if choice.matter:
            payload["matter"] = choice.matter
        service.perform_action(session, actor, number, payload)
        record_corrections(session, actor, appeal, suggested,
                           {"category": choice.category, "appeal_type": choice.appeal_type, "lead_unit": choice.unit})
    return appeal


def record_corrections(session: Session, actor: Actor, appeal: Appeal, suggested: Suggestions,
                       chosen: dict[str, str | None]) -> int:
    """Store a label for each kind where the dispatcher chose differently from the top suggestion."""
    count = 0
    with transaction(session):
        for kind, value in chosen.items():
            field_suggestion: FieldSuggestion | None = getattr(suggested, kind)
            if not value or field_suggestion is None or field_suggestion.best.value == value:
                continue
            session.add(DispatchLabel(appeal_id=appeal.id, kind=kind, suggested=field_suggestion.best.value or None,
                                      chosen=value, confidence=field_suggestion.best.confidence,
                                      model_version=field_suggestion.model_version, actor_id=actor.id,
                                      actor_name=actor.name, at=clock.now()))
            count += 1
    return count


def note_dispatch(session: Session, actor: Actor, number: str) -> int:
    """After a dispatch or ruling through the ordinary forms: a unit other than the suggestion is a
    correction. The dispatch has already happened, so a failure here is logged, never shown."""
    try:
        appeal = service.get_appeal(session, number)
        if appeal.lead_unit is None:
            return 0
        suggested = suggest(session, appeal, duplicates=False)
        return record_corrections(session, actor, appeal, suggested, {"lead_unit": appeal.lead_unit.code})
    except Exception:  # the label is a by-product; losing one must not turn a done dispatch into an error page
        log.warning("could not record the dispatch of %s as a label", number, exc_info=True)
        session.rollback()
        return 0


# ================================================================ automatic dispatch

def after_intake(session: Session, number: str, actor: Actor, *, channel: str = "") -> None:
    """Called by ``create_appeal`` just before it returns. Free when no category has a threshold (the
    default: one cached-setting lookup); otherwise dispatches as the system when the unit's confidence
    reaches the category's threshold. Never makes intake fail: any refusal leaves it to a dispatcher."""
    thresholds = cached_setting(session, AUTO_THRESHOLDS_KEY, None, ttl_s=10)
    if not thresholds or channel == "import":
        return
    try:
        appeal = service.get_appeal(session, number)
        if appeal.state == State.received.value:
            auto_dispatch(session, appeal, thresholds)
    except Exception:  # any failure leaves the appeal waiting for a dispatcher, as if the switch were off
        log.warning("auto-dispatch of %s failed; left to a dispatcher", number, exc_info=True)


def auto_dispatch(session: Session, appeal: Appeal, thresholds: dict[str, float]) -> bool:
    models = active_models(session)
    model = models.get("lead_unit")
    if model is None:
        return False
    category = _category_suggestion(models["category"], appeal_text(appeal.title, appeal.content),
                                    session=session) if "category" in models else None
    key = first_level(appeal, category)
    threshold = thresholds.get(key)
    if threshold is None:
        return False
    p = model.classifier.predict(appeal_text(appeal.title, appeal.content), top_k=1, explain=3)
    units = {u.code: u for u in session.scalars(select(Unit).where(Unit.code == p.label))}
    choice = _unit_choice(p.label, p.confidence, appeal, units)
    if choice is None or not choice.value or p.confidence < float(threshold):
        return False
    why = (f"智能派单：模型 lead_unit v{model.version} 建议{choice.label}，置信度 {p.confidence:.3f} ≥ "
           f"「{key}」的自动派单阈值 {float(threshold):.2f}；依据词：{'、'.join(e.term for e in p.evidence) or '—'}")
    with transaction(session):
        service.perform_action(session, SYSTEM, appeal.number, {"action": "accept", "comment": "智能派单自动受理"})
        service.perform_action(session, SYSTEM, appeal.number,
                               {"action": "dispatch", "unit": choice.value, "comment": why[:4000]})
        record_audit(session, actor_id=None, actor_name="system", action="auto_dispatch", object_type="appeal",
                     object_id=appeal.number, unit=choice.value, model_version=model.version,
                     confidence=round(p.confidence, 4), threshold=float(threshold), category=key)
    return True


def precision_at(manifest: dict[str, Any], category: str, threshold: float) -> tuple[float | None, int]:
    """(precision, n) of the lead-unit model on its held-out slice for one first-level category, over the
    appeals whose confidence reached ``threshold``."""
    points = manifest.get("held_out_points") or []
    chosen = [p for p in points if (category == "全部" or p[0] == category) and p[1] >= threshold]
    if not chosen:
        return None, 0
    return sum(p[2] for p in chosen) / len(chosen), len(chosen)


def precision_curves(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per first-level category (and 全部): n in the slice, and per threshold the precision and
    the share of appeals it would dispatch."""
    points = manifest.get("held_out_points") or []
    names = sorted({p[0] for p in points})
    rows = []
    for name in ["全部", *names]:
        members = [p for p in points if name == "全部" or p[0] == name]
        cells = []
        for t in CURVE_THRESHOLDS:
            precision, n = precision_at(manifest, name, t)
            cells.append({"threshold": t, "precision": precision, "n": n,
                          "coverage": n / len(members) if members else 0.0})
        rows.append({"category": name, "n": len(members), "cells": cells})
    return rows


def set_auto_threshold(session: Session, actor: Actor, category: str, threshold: float | None) -> None:
    """Switch automatic dispatch on (a threshold) or off (None) for one first-level category. Refused
    unless the lead-unit model in use measured a precision of at least the admin's minimum (0.95) at that
    threshold on at least the minimum number of the district's own held-out appeals of that category."""
    if actor.role not in (Role.admin, "system"):
        raise Forbidden("只有系统管理员可以设置自动派单", "only an admin may set automatic dispatch")
    category = (category or "").strip()
    if category not in first_level_categories(session) and category not in (
            get_setting(session, AUTO_THRESHOLDS_KEY, {}) or {}):
        raise InvalidInput("请选择一级分类", "category must be a first-level category", field="category")
    if threshold is not None:
        if not 0.5 <= threshold <= 1.0:
            raise InvalidInput("阈值须在 0.5–1 之间", "threshold must be within 0.5..1", field="threshold")
        row = _active_row(session, "lead_unit")
        if row is None:
            raise InvalidInput("尚无在用的主办单位模型，不能开启自动派单", "no lead-unit model in use",
                               field="threshold")
        precision, n = precision_at(row.manifest, category, threshold)
        minimum, support = float(setting(session, MIN_PRECISION_KEY)), int(setting(session, MIN_SUPPORT_KEY))
        if precision is None or n < support:
            raise InvalidInput(f"「{category}」在留出历史中置信度达到 {threshold:.2f} 的只有 {n} 件"
                               f"（至少需 {support} 件），无法证明准确率，不能开启",
                               f"only {n} held-out appeals of {category!r} reach {threshold}; {support} needed",
                               field="threshold")
        if precision < minimum:
            raise InvalidInput(f"「{category}」在阈值 {threshold:.2f} 的实测准确率为 {precision:.3f}（{n} 件），"
                               f"低于 {minimum:.2f}，不能开启",
                               f"measured precision {precision:.3f} at {threshold} is below {minimum}",
                               field="threshold")
    with transaction(session):
        before = dict(get_setting(session, AUTO_THRESHOLDS_KEY, {}) or {})
        after = dict(before)
        if threshold is None:
            after.pop(category, None)
        else:
            after[category] = round(float(threshold), 4)
        put_setting(session, AUTO_THRESHOLDS_KEY, after)
        record_audit(session, actor_id=actor.id, actor_name=actor.username, action="set_auto_dispatch_threshold",
                     object_type="setting", object_id=category, before=before.get(category),
                     after=after.get(category))


def _revalidate_thresholds(session: Session, manifest: dict[str, Any]) -> list[str]:
    """After a new lead-unit model takes over: thresholds its own measurement no longer supports are
    switched off (and audited), so auto-dispatch never runs on an unmeasured model."""
    current = dict(get_setting(session, AUTO_THRESHOLDS_KEY, {}) or {})
    minimum, support = float(setting(session, MIN_PRECISION_KEY)), int(setting(session, MIN_SUPPORT_KEY))
    dropped = []
    for category, threshold in list(current.items()):
        precision, n = precision_at(manifest, category, float(threshold))
        if precision is None or n < support or precision < minimum:
            current.pop(category)
            dropped.append(category)
    if dropped:
        put_setting(session, AUTO_THRESHOLDS_KEY, current)
        record_audit(session, actor_id=None, actor_name="system", action="auto_dispatch_thresholds_dropped",
                     object_type="setting", object_id=AUTO_THRESHOLDS_KEY, dropped=dropped)
    return dropped


# ================================================================ training from the archive

@dataclass(frozen=True)
class _Row:
    number: str
    text: str
    label: str
    category_l1: str | None
    when: datetime


@dataclass
class TrainingReport:
    kind: str
    status: str          # "active" | "rejected" | "skipped"
    version: int | None = None
    training_size: int = 0
    held_out_size: int = 0
    new_quality: dict[str, Any] | None = None
    old_version: int | None = None
    old_quality: dict[str, Any] | None = None
    forced: bool = False
    seconds: float = 0.0
    message: str = ""
    dropped_thresholds: list[str] = field(default_factory=list)


def held_out(number: str, fraction: float) -> bool:
    """The fixed held-out slice: a seeded hash of the appeal number, so every training run and every
    model is measured on the same appeals and none of them is ever trained on."""
    digest = hashlib.sha1(f"sudi-holdout:{number}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def _history(session: Session, kind: str) -> list[_Row]:
    """Labelled history of one kind: the decision on appeals dispatched and not returned (in hand or
    closed), and for the others the dispatchers' latest correction."""
    units = {u.id: u for u in session.scalars(select(Unit))}
    categories = {c.id: c for c in session.scalars(select(Category))}
    categories_by_code = {c.code: c for c in categories.values()}
    units_by_code = {u.code: u for u in units.values()}
    columns = (Appeal.id, Appeal.number, Appeal.title, Appeal.content, Appeal.category_id, Appeal.appeal_type,
               Appeal.lead_unit_id, Appeal.town_unit_id, Appeal.received_at)
    decided = session.execute(select(*columns).where(Appeal.state.in_(DECIDED_STATES), Appeal.master_id.is_(None))
                             .order_by(Appeal.id)).all()
    latest = {}
    for appeal_id, chosen in session.execute(select(DispatchLabel.appeal_id, DispatchLabel.chosen)
                                             .where(DispatchLabel.kind == kind).order_by(DispatchLabel.id)):
        latest[appeal_id] = chosen
    decided_ids = {r[0] for r in decided}
    corrected = session.execute(select(*columns).where(Appeal.id.in_([i for i in latest if i not in decided_ids]))
                                .order_by(Appeal.id)).all() if latest else []

    def territorial_label(unit: Unit | None, town_id: int | None) -> str | None:
        if unit is None:
            return None
        town = units.get(town_id) if town_id else None
        if (town is not None and UnitKind(unit.kind).is_territorial and unit.path.startswith(town.path)):
            return TERRITORIAL
        return unit.code

    rows = []
    for source, is_decided in ((decided, True), (corrected, False)):
        for appeal_id, number, title, content, category_id, appeal_type, lead_id, town_id, received in source:
            category = categories.get(category_id) if category_id else None
            label: str | None
            if kind == "category":
                label = latest[appeal_id] if not is_decided else category.code if category is not None else None
                if not is_decided and label in categories_by_code:
                    category = categories_by_code[label]
            elif kind == "appeal_type":
                label = latest[appeal_id] if not is_decided else appeal_type
            else:
                unit = units_by_code.get(latest[appeal_id]) if not is_decided else units.get(lead_id or -1)
                label = territorial_label(unit, town_id)
            if not label or not (title or content):
                continue
            rows.append(_Row(number, appeal_text(title, content), label,
                             category.full_name.split("/")[0] if category is not None else None, received))
    return rows


def _back_off_categories(session: Session, rows: list[_Row], minimum: int) -> list[_Row]:
    """The finest level the history has data for: a category with fewer than ``minimum`` examples is
    merged into its parent (repeatedly, up to the first level)."""
    by_code = {c.code: c for c in session.scalars(select(Category))}
    by_id = {c.id: c for c in by_code.values()}
    labels = [r.label for r in rows]
    for _ in range(3):
        counts: dict[str, int] = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        changed = False
        for i, label in enumerate(labels):
            node = by_code.get(label)
            if node is not None and counts[label] < minimum and node.parent_id is not None:
                parent = by_id.get(node.parent_id)
                if parent is not None:
                    labels[i] = parent.code
                    changed = True
        if not changed:
            break
    return [_Row(r.number, r.text, label, r.category_l1, r.when) for r, label in zip(rows, labels, strict=True)]


def _active_row(session: Session, kind: str) -> DispatchModel | None:
    return session.scalar(select(DispatchModel).where(DispatchModel.kind == kind, DispatchModel.status == "active")
                          .order_by(DispatchModel.version.desc()))


def _quality(metrics: dict[str, Any]) -> dict[str, Any]:
    return {"n": int(metrics["n"]), "accuracy": round(float(metrics["accuracy"]), 4),
            "macro_f1": round(float(metrics["macro_f1"]), 4),
            "top3_accuracy": round(float(metrics["top3_accuracy"]), 4)}


def train_from_db(session: Session, actor: Actor, *, model_dir: Path | str, kinds: Sequence[str] = KINDS,
                  force: bool = False, progress: Callable[[str], None] | None = None) -> list[TrainingReport]:
    """Retrain the chosen kinds on the archive; each new model replaces the one in use only when it is not
    worse (accuracy) on the same held-out slice, or when ``force`` (audited)."""
    if actor.role not in (Role.admin, "system"):
        raise Forbidden("只有系统管理员可以训练模型", "only an admin may train models")
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise InvalidInput(f"未知的模型类型 {bad[0]}", f"unknown model kind {bad[0]!r}; one of {', '.join(KINDS)}",
                           field="kind")
    folder = Path(model_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda _message: None)
    fraction = float(get_setting(session, HOLDOUT_KEY, DEFAULTS[HOLDOUT_KEY]))
    reports = []
    for kind in [k for k in KINDS if k in kinds]:  # category first: the unit curves are keyed by it
        say(f"训练 {KIND_LABELS[kind]} 模型 / training {kind}")
        reports.append(_train_one(session, actor, kind, folder, fraction, force))
    if "lead_unit" in kinds:
        _record_urgency_stats(session)
    forget_loaded_models()
    return reports


def _train_one(session: Session, actor: Actor, kind: str, folder: Path, fraction: float,
               force: bool) -> TrainingReport:
    from sudi.intelligence.classify import load_classifier, recency_weights, train_classifier

    started = time.perf_counter()
    rows = _history(session, kind)
    if kind == "category":
        rows = _back_off_categories(session, rows, int(get_setting(session, MIN_EXAMPLES_KEY,
                                                                   DEFAULTS[MIN_EXAMPLES_KEY])))
    train = [r for r in rows if not held_out(r.number, fraction)]
    test = [r for r in rows if held_out(r.number, fraction)]
    # A big archive trains on its most recent part (routing drifts anyway), so that retraining stays a
    # matter of a minute; the held-out slice is always measured whole.
    cap = int(get_setting(session, MAX_ROWS_KEY, DEFAULTS[MAX_ROWS_KEY]))
    if len(train) > cap:
        train = sorted(train, key=lambda r: r.when)[-cap:]
    report = TrainingReport(kind, "skipped", training_size=len(train), held_out_size=len(test))
    if len(train) < 10 or len({r.label for r in train}) < 2:
        report.message = (f"可用于训练的已办结诉求不足（{len(train)} 件，{len({r.label for r in train})} 类），"
                          "至少需 10 件、2 类")
        return report
    version = int(session.scalar(select(func.max(DispatchModel.version)).where(DispatchModel.kind == kind)) or 0) + 1
    trained_at = clock.now()
    label_counts: dict[str, int] = {}
    for r in train:
        label_counts[r.label] = label_counts.get(r.label, 0) + 1
    classifier = train_classifier(
        [r.text for r in train], [r.label for r in train], sample_weight=recency_weights([r.when for r in train]),
        order_keys=[r.when for r in train],  # calibrate on the newest appeals: the model predicts later ones
        extra_manifest={"sudi_model_kind": kind, "sudi_version": version,
                        "trained_at": trained_at.isoformat(timespec="seconds"), "source": {
                            "database": "appeals dispatched and not returned (in hand or closed) + dispatchers' labels",
                            "text_columns": ["title", "content"], "held_out_fraction": fraction,
                            "held_out_rule": "sha1('sudi-holdout:' + appeal number) < fraction, never trained on"}})
    new_quality = old_quality = None
    points: list[list[Any]] = []
    old_row = _active_row(session, kind)
    if test:
        texts, truth = [r.text for r in test], [r.label for r in test]
        new_quality = _quality(classifier.evaluate(texts, truth))
        if kind == "lead_unit":
            points = _held_out_points(session, classifier, test)
        if old_row is not None and Path(old_row.path).exists():
            try:
                old_quality = _quality(load_classifier(old_row.path).evaluate(texts, truth))
            except SudiError:
                old_quality = None
    better = (old_row is None or old_quality is None or new_quality is None
              or new_quality["accuracy"] >= old_quality["accuracy"])
    report.version, report.new_quality, report.old_quality, report.forced = version, new_quality, old_quality, False
    report.old_version = old_row.version if old_row is not None else None
    label_names = _label_names(session, kind, list(label_counts))
    classifier.manifest.update({
        "training_size": len(train), "held_out_size": len(test), "label_set": sorted(label_counts),
        "label_names": label_names, "held_out_slice_quality": new_quality, "held_out_points": points,
        "precision_thresholds": list(CURVE_THRESHOLDS),
        "precision_curves": precision_curves({"held_out_points": points}) if points else []})
    path = folder / f"{kind}-v{version:04d}.sudimodel"
    status = "active" if better or force else "rejected"
    if status == "active":
        classifier.save(path)
    report.status, report.forced = status, bool(force and not better)
    manifest = {k: v for k, v in classifier.manifest.items()}
    with transaction(session):
        if status == "active" and old_row is not None:
            old_row.status = "retired"
        session.add(DispatchModel(kind=kind, version=version, status=status, path=str(path), trained_at=trained_at,
                                  trained_by=actor.username, training_size=len(train), held_out_size=len(test),
                                  quality=new_quality, compared_with=(
                                      {"version": old_row.version, **(old_quality or {})} if old_row else None),
                                  forced=report.forced, manifest=manifest))
        if status == "active":
            active = dict(get_setting(session, ACTIVE_KEY, {}) or {})
            active[kind] = {"version": version, "path": str(path)}
            put_setting(session, ACTIVE_KEY, active)
            if kind == "lead_unit":
                report.dropped_thresholds = _revalidate_thresholds(session, manifest)
        record_audit(session, actor_id=actor.id, actor_name=actor.username,
                     action="force_model" if report.forced else "train_model", object_type="dispatch_model",
                     object_id=f"{kind}-v{version}", status=status, training_size=len(train),
                     held_out_size=len(test), new_quality=new_quality,
                     old_version=report.old_version, old_quality=old_quality)
    report.seconds = round(time.perf_counter() - started, 2)
    if status == "rejected":
        report.message = "新模型在同一留出集上不如在用模型，未替换"
    return report


def _held_out_points(session: Session, classifier: TextClassifier, test: list[_Row]) -> list[list[Any]]:
    """[first-level category, confidence, correct] per held-out appeal: the category as recorded, else as
    the category model in use suggests (what auto-dispatch will key on at intake)."""
    models = active_models(session)
    categories = _categories(session) if "category" in models else {}
    predictions = classifier.predict_many([r.text for r in test], top_k=1)
    points = []
    for row, p in zip(test, predictions, strict=True):
        key = row.category_l1
        if key is None and "category" in models:
            suggestion = _category_suggestion(models["category"], row.text, categories)
            key = suggestion.path[0] if suggestion is not None and suggestion.path else None
        points.append([key or UNCATEGORISED, round(p.confidence, 4), int(p.label == row.label)])
    return points


def _label_names(session: Session, kind: str, labels: list[str]) -> dict[str, str]:
    if kind == "category":
        names = {c.code: c.full_name for c in session.scalars(select(Category).where(Category.code.in_(labels)))}
    elif kind == "lead_unit":
        names = {u.code: u.name for u in session.scalars(select(Unit).where(Unit.code.in_(labels)))}
        names[TERRITORIAL] = "属地镇街（事发地）"
    else:
        names = {str(k.value): v for k, v in APPEAL_TYPE_LABELS.items()}
    return {label: names.get(label, label) for label in labels}


def _record_urgency_stats(session: Session) -> None:
    """Per urgency rule group: how many closed appeals carry its words and how many of those were marked
    at least as urgent as the rule says. This is what an urgency hint's confidence is measured on."""
    rules = urgency_rules(session)
    stats: dict[str, dict[str, int]] = {}
    rows = session.execute(select(Appeal.title, Appeal.content, Appeal.urgency)
                           .where(Appeal.state.in_(CLOSED_STATES))).all()
    for title, content, urgency in rows:
        for rule, _ in _rule_hits(rules, appeal_text(title, content)):
            group = stats.setdefault(str(rule.get("group", "")), {"n": 0, "urgent": 0})
            group["n"] += 1
            if _URGENCY_RANK.get(urgency, 0) >= _URGENCY_RANK.get(str(rule.get("urgency")), 1):
                group["urgent"] += 1
    with transaction(session):
        put_setting(session, URGENCY_STATS_KEY, stats)


def set_urgency_rules(session: Session, actor: Actor, rules: list[dict[str, Any]]) -> None:
    if actor.role not in (Role.admin, "system"):
        raise Forbidden("只有系统管理员可以修改紧急程度规则", "only an admin may change the urgency rules")
    for rule in rules:
        if rule.get("urgency") not in (Urgency.urgent.value, Urgency.critical.value) or not rule.get("words"):
            raise InvalidInput("每条规则须为：名称｜紧急或特急｜关键词（逗号分隔）",
                               "each rule needs a group, urgent|critical and words", field="rules")
    with transaction(session):
        before = get_setting(session, URGENCY_RULES_KEY)
        put_setting(session, URGENCY_RULES_KEY, rules)
        record_audit(session, actor_id=actor.id, actor_name=actor.username, action="set_urgency_rules",
                     object_type="setting", object_id=URGENCY_RULES_KEY, before=before, after=rules)


# ================================================================ status for the admin page

@dataclass
class KindStatus:
    kind: str
    label: str
    active: DispatchModel | None
    history: list[DispatchModel]
    loaded: bool


def model_status(session: Session) -> list[KindStatus]:
    loaded = active_models(session)
    out = []
    for kind in KINDS:
        history = list(session.scalars(select(DispatchModel).where(DispatchModel.kind == kind)
                                       .order_by(DispatchModel.version.desc()).limit(8)))
        active = next((m for m in history if m.status == "active"), None) or _active_row(session, kind)
        out.append(KindStatus(kind, KIND_LABELS[kind], active, history, kind in loaded))
    return out


def first_level_categories(session: Session) -> list[str]:
    names = list(session.scalars(select(Category.name).where(Category.level == 1, Category.is_active.is_(True))
                                 .order_by(Category.full_name)))
    return [*names, UNCATEGORISED]


def get_model(session: Session, kind: str, version: int) -> DispatchModel:
    row = session.scalar(select(DispatchModel).where(DispatchModel.kind == kind, DispatchModel.version == version))
    if row is None:
        raise NotFound(f"没有模型 {kind} v{version}", f"no model {kind} v{version}")
    return row
