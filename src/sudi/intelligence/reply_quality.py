"""Reply quality (答复意见评价): how well a reply answers its appeal, before it is sent and after.

Text in, scores out. Four dimensions, each 0–100 with the reasons that produced it, an overall
score, and the weak points a handler can fix before sending ("缺少办理依据", "未给出联系方式" …).
Every rule is a transparent pattern or count, so each point lost can be shown and argued with; no
model is trained on anyone's labels. The method and its parameters are explained in
``docs/reply-quality.md``.

* **relevance** (相关性): does the reply talk about what the appeal asks? The appeal's key terms
  (jieba words weighted by jieba's bundled IDF; title and request-sentence words count more, the
  governance boilerplate "反映 问题 情况 …" not at all) and its named places (``places``) are looked
  for in the reply *after* removing the reply's echo of the appeal (a quoted or restated title says
  nothing about whether the request was handled). A reply that names other places of the same kind
  and none of the appeal's is flagged as being about another object.
* **completeness** (完整性): the elements of a full answer — facts found (经核实/经调查), action
  taken (已…/将…), result, legal or policy basis (依据《…》第X条), contact (联系电话/联系人) —
  weighted by what the appeal type needs (a consultation needs a basis and an answer more than a
  site visit).
* **normativity** (规范性/可解释性): substance rather than empty phrases (套话 such as "高度重视"
  without a concrete measure), concrete details (dates, quantities, places), rules cited, length
  sanity, vague promises, buck-passing, and no personal data of the citizen (ID numbers, their
  phone, their name).
* **timeliness** (及时性): the reply time against the deadline (or against ``expected_days`` after
  the appeal when no deadline is known); not applicable when no times are given.

Overall = the weighted mean of the applicable dimensions (weights renormalised over them), scaled
down by ``relevance / relevance_floor`` when relevance is below the floor: a well-formed reply to
another matter is not a good reply.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sudi.core.errors import InvalidInput
from sudi.intelligence.places import KIND_SUFFIXES, Place, extract_places

METHOD_VERSION = "rq-1"
DIMENSIONS = ("relevance", "completeness", "normativity", "timeliness")
DIMENSION_LABELS = {"relevance": "相关性", "completeness": "完整性", "normativity": "规范性",
                    "timeliness": "及时性"}
DEFAULT_WEIGHTS: dict[str, float] = {"relevance": 0.35, "completeness": 0.30, "normativity": 0.20,
                                     "timeliness": 0.15}


@dataclass(frozen=True)
class ReplyQualityConfig:
    """The method's policy: what the product stores as admin settings."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    relevance_floor: float = 40.0   # below this relevance the overall score is scaled down
    # The reply period assumed when no deadline is given: 21 calendar days ≈ 15 working days.
    expected_days: float = 21.0
    pass_score: float = 60.0        # below this overall score the handler is told to revise

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", normalise_weights(self.weights))
        if not 0 <= self.relevance_floor <= 100:
            raise InvalidInput("相关性下限须在 0–100 之间", "relevance_floor must be within 0..100",
                               field="relevance_floor")
        if not 0 < self.expected_days <= 365:
            raise InvalidInput("答复期限须为 1–365 天", "expected_days must be within (0, 365]", field="expected_days")
        if not 0 <= self.pass_score <= 100:
            raise InvalidInput("合格分须在 0–100 之间", "pass_score must be within 0..100", field="pass_score")

    def as_dict(self) -> dict[str, Any]:
        return {"weights": dict(self.weights), "relevance_floor": self.relevance_floor,
                "expected_days": self.expected_days, "pass_score": self.pass_score}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ReplyQualityConfig:
        data = data or {}
        default = cls()
        return cls(weights=data.get("weights") or default.weights,
                   relevance_floor=float(data.get("relevance_floor", default.relevance_floor)),
                   expected_days=float(data.get("expected_days", default.expected_days)),
                   pass_score=float(data.get("pass_score", default.pass_score)))


def normalise_weights(weights: Mapping[str, Any]) -> dict[str, float]:
    """The four dimension weights as fractions summing to 1; refuses unknown names, negatives and
    an all-zero set."""
    unknown = set(weights) - set(DIMENSIONS)
    if unknown:
        raise InvalidInput(f"未知的评价维度：{'、'.join(sorted(unknown))}",
                           f"unknown dimensions {sorted(unknown)}; use {', '.join(DIMENSIONS)}", field="weights")
    values: dict[str, float] = {}
    for name in DIMENSIONS:
        raw = weights.get(name, 0)
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw) or raw < 0:
            raise InvalidInput(f"「{DIMENSION_LABELS[name]}」的权重须为非负数",
                               f"weight of {name} must be a non-negative number", field=name)
        values[name] = float(raw)
    total = sum(values.values())
    if total <= 0:
        raise InvalidInput("权重不能全为 0", "at least one weight must be positive", field="weights")
    return {name: value / total for name, value in values.items()}


@dataclass(frozen=True, slots=True)
class DimensionScore:
    name: str
    label: str
    score: float | None          # None: not applicable (no times given)
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WeakPoint:
    code: str
    dimension: str
    message: str                 # Chinese, for the handler
    severity: str                # "high" | "medium" | "low"


@dataclass(frozen=True)
class ReplyAssessment:
    overall: float
    passed: bool
    dimensions: dict[str, DimensionScore]
    weak_points: tuple[WeakPoint, ...]
    weights: dict[str, float]    # as applied (renormalised over the applicable dimensions)
    key_terms: tuple[str, ...]
    missing_terms: tuple[str, ...]
    elements: dict[str, bool]
    method: str = METHOD_VERSION

    def score(self, name: str) -> float | None:
        return self.dimensions[name].score

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["dimensions"] = {k: asdict(v) for k, v in self.dimensions.items()}
        out["weak_points"] = [asdict(w) for w in self.weak_points]
        return out


# ---------------------------------------------------------------- text helpers

_CJK = re.compile(r"[\u4e00-\u9fff]")
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
_CLAUSE_END = re.compile(r"[，,。！？!?；;：:\n]")
_QUOTE = re.compile(r"[“\"「『《]([^”\"」』》]{4,120})[”\"」』》]")


def _clean(text: str | None) -> str:
    return _SPACE.sub("", (text or "").replace("\u3000", " "))


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


def _containment(part: str, whole_grams: set[str]) -> float:
    grams = _bigrams(part)
    return len(grams & whole_grams) / len(grams) if grams else 0.0


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@lru_cache(maxsize=1)
def _idf() -> tuple[dict[str, float], float]:
    """jieba's bundled IDF table (general Chinese text): rare words weigh more than common ones."""
    import jieba.analyse

    _jieba()
    table = jieba.analyse.default_tfidf
    return table.idf_freq, float(table.median_idf)


def _words(text: str) -> list[str]:
    return text.split()


# Words of every appeal and every reply: they say nothing about which matter is meant.
STOP_TERMS = frozenset(_words("""
您好 你好 网友 留言 来信 来电 反映 反应 问题 情况 有关 相关 部门 单位 工作 进行 我们 你们 他们 自己 现在 目前 已经
没有 一个 什么 怎么 为什么 这个 那个 这样 那样 如何 希望 请求 要求 恳请 领导 政府 市民 群众 谢谢 感谢 回复 答复
收悉 处理 解决 支持 关心 监督 理解 请问 能否 是否 可以 今年 去年 时间 时候 很多 非常 特别 严重 影响 导致 存在 出现
发现 得到 需要 应该 一直 还是 但是 因为 所以 如果 并且 以及 或者 通过 对于 关于 本人 大家 这里 那里 一下 一些 有些
以上 以下 其中 之后 之前 以后 以前 不是 就是 还有 而且 然后 只是 已经 多次 长期 经常 每天 现将 如下 特此 平台 栏目
信任 尊敬 书记 市长 区长 县长 同志 先生 女士 时间 地方 东西 事情 事件 一样 不能 不会 不要 不用 知道 觉得 认为
表示 告知 了解 查看 联系 电话 咨询 投诉 举报 建议 询问 提出 有限 公司
"""))
# A sentence that carries the citizen's request: its words are the core of the appeal.
_REQUEST = re.compile(r"希望|请求|要求|恳请|建议|呼吁|请.{0,12}(?:解决|处理|调查|查处|答复|整改|落实|协调|帮助)|"
                      r"能否|可否|是否|为什么|为何|怎么|如何|何时|什么时候|多久|吗[？?]|呢[？?]")


# Parts of speech that name what a matter is about: nouns, places, organisations, verbs and verbal
# nouns (安装 电梯, 停工), abbreviations; not adverbs, pronouns, time words, idioms or person names.
_KEY_FLAGS = frozenset({"n", "ns", "nt", "nz", "nl", "ng", "v", "vn", "an", "j", "eng"})
_LATIN = re.compile(r"^[A-Za-z]{3,}$")
_ADMIN_CHARS = frozenset("省市县区镇乡村")
_KIND_WORDS = frozenset(suffix for suffixes in KIND_SUFFIXES.values() for suffix in suffixes if len(suffix) >= 2)
# Wishes and urgings in a request: they say how much the citizen wants it, not what.
_WISH_TERMS = frozenset(_words("盼望 期待 期盼 渴望 强烈 加快 尽快 早日 恳请 呼吁 恳求 急需 迫切 麻烦 帮忙 "
                               "帮助 不能 不会 得到 给予 做到 没人 无人 不管 到底 还要 还是 一下 真的 实在"))


def _terms(text: str) -> list[str]:
    """Content words of ``text``, boilerplate removed. Words are segmented by jieba (with its HMM,
    so unseen names such as 景蓉华苑 stay whole) and tagged from jieba's dictionary; a word the
    dictionary lacks is nearly always a proper name, and kept. (Tagging with ``jieba.posseg`` costs
    about 30 times as much for the same words.)"""
    tags = _word_tags()
    out = []
    for word in _jieba().lcut(text):
        if word in STOP_TERMS or word in _WISH_TERMS:
            continue
        if _LATIN.match(word):
            out.append(word)
            continue
        if len(word) < 2 or not _CJK.search(word):
            continue
        flag = tags.get(word)
        if flag is None and word[0] in _ADMIN_CHARS:
            continue  # "市发" of "G市发…": the segmenter's fragment after a (masked) place name
        if flag is None or flag in _KEY_FLAGS:
            out.append(word)
    return out


@lru_cache(maxsize=1)
def _word_tags() -> dict[str, str]:
    _jieba()
    import jieba.posseg

    return jieba.posseg.dt.word_tag_tab  # type: ignore[no-any-return]


@lru_cache(maxsize=4096)
def key_terms(title: str, content: str, *, top: int = 15) -> dict[str, float]:
    """The appeal's key terms and their weights: sublinear tf × IDF, title words ×2 and words of the
    request sentences ×1.5 (the core request), the top ``top`` kept. Cached: a draft is checked
    several times against the same appeal."""
    idf, median = _idf()
    title, content = _clean(title), _clean(content)
    title_list = _terms(title)
    counts = Counter(title_list + _terms(content))
    title_terms = set(title_list)
    request_terms = {t for s in _SENTENCE_END.split(content) if _REQUEST.search(s) for t in _terms(s)}
    weights: dict[str, float] = {}
    for term, count in counts.items():
        weight = (1 + math.log(count)) * idf.get(term, median)
        if term in _KIND_WORDS:  # 小区, 公司, 路 …: which one matters, not the kind
            weight *= 0.3
        elif term in title_terms:
            weight *= 2.0
        elif term in request_terms:
            weight *= 1.5
        weights[term] = weight
    # The places the title names are the object of the appeal: they weigh as much as its top word.
    top_weight = max(weights.values(), default=median * 2.0)
    for place in _title_places(title, content):
        weights[place.key] = max(weights.get(place.key, 0.0), top_weight)
    ranked = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return dict(ranked)


_ECHO_CUE = re.compile(r"反映|留言|来信|所述|所诉|诉求|咨询|投诉|举报")


def strip_echo(reply: str, appeal: str) -> str:
    """The reply without its restatement of the appeal: quoted passages and cue clauses
    ("您反映的…问题") made mostly of the appeal's own wording."""
    grams = _bigrams(appeal)

    def _quote(m: re.Match[str]) -> str:
        return "" if _containment(m.group(1), grams) >= 0.6 else m.group(0)

    reply = _QUOTE.sub(_quote, reply)
    kept = []
    for clause in re.split(r"(?<=[，,。！？!?；;：:\n])", reply):
        if _ECHO_CUE.search(clause) and len(clause) >= 8 and _containment(clause, grams) >= 0.75:
            continue
        kept.append(clause)
    return "".join(kept)


# ---------------------------------------------------------------- relevance

@lru_cache(maxsize=65536)
def _sub_words(term: str) -> tuple[str, ...]:
    """The shorter dictionary words inside a compound term (人行天桥 → 人行, 天桥)."""
    return tuple(w for w in _jieba().cut_for_search(term) if 2 <= len(w) < len(term) and w not in _KIND_WORDS)


def _term_match(term: str, reply: str, reply_grams: set[str]) -> float:
    """1 when the term is in the reply; partial credit when parts of a compound are (the reply
    says 天桥 for 人行天桥) or, failing that, for its shared character pairs."""
    if term in reply:
        return 1.0
    if len(term) < 3:
        return 0.0
    parts = _sub_words(term)
    by_parts = 0.7 * sum(p in reply for p in parts) / len(parts) if parts else 0.0
    return max(by_parts, 0.5 * _containment(term, reply_grams))


_NOT_NAME_START = frozenset("该其待由现我本此这那您各等与和及在对从把被向占读避逐含按经为将已")


@lru_cache(maxsize=4096)
def _title_places(title: str, content: str) -> tuple[Place, ...]:
    found = extract_places(content, title=title)
    return tuple(p for p in found if p.key in title and len(p.key) >= 2)


def _place_mentioned(place: Place, reply: str, reply_grams: set[str]) -> bool:
    return place.key in reply or place.name in reply or _containment(place.key, reply_grams) >= 0.67


OVERLAP_FULL = 0.15  # share of a reply's character pairs found in the appeal that counts as full


@dataclass(frozen=True, slots=True)
class _Relevance:
    score: float
    reasons: tuple[str, ...]
    weak: tuple[WeakPoint, ...]
    terms: tuple[str, ...]
    missing: tuple[str, ...]


def _relevance(title: str, content: str, body: str) -> _Relevance:
    terms = key_terms(title, content)
    grams = _bigrams(body)
    reasons: list[str] = []
    weak: list[WeakPoint] = []
    total = sum(terms.values()) or 1.0
    matched = {t: _term_match(t, body, grams) for t in terms}
    coverage = sum(terms[t] * m for t, m in matched.items()) / total
    title_terms = [t for t in terms if t in _clean(title)]
    title_total = sum(terms[t] for t in title_terms)
    title_cov = (sum(terms[t] * matched[t] for t in title_terms) / title_total) if title_total else coverage
    # Half of the weighted key terms (a reply rarely repeats every detail) is full coverage.
    by_terms = 0.5 * min(1.0, coverage / 0.5) + 0.5 * min(1.0, title_cov / 0.6)
    # The second view: how much of what the reply says is in the appeal's own words (the share of
    # the reply's character pairs found in the appeal). OVERLAP_FULL gets the full mark: about the
    # upper quartile of real replies (docs/reply-quality.md).
    overlap = len(grams & _bigrams(_clean(title) + _clean(content))) / len(grams) if grams else 0.0
    score = 100 * (0.5 * by_terms + 0.5 * min(1.0, overlap / OVERLAP_FULL))
    missing = tuple(t for t, m in sorted(matched.items(), key=lambda kv: -terms[kv[0]]) if m < 0.5)
    reasons.append(f"诉求关键词覆盖 {coverage:.0%}，标题关键词覆盖 {title_cov:.0%}，答复用语与诉求重合 {overlap:.0%}")

    # The object of the appeal is what its title names; places only in the details are context.
    title_places = _title_places(title, content)
    if title_places:
        named = [p for p in title_places if _place_mentioned(p, body, grams)]
        wanted = "、".join(p.name for p in title_places[:3])
        if named:
            reasons.append("答复提到了诉求所涉地点/对象：" + "、".join(p.name for p in named[:3]))
        else:
            kinds = {p.kind for p in title_places}
            others = [p for p in extract_places(body, use_pos=False) if p.kind in kinds and len(p.key) >= 3
                      and p.key[0] not in _NOT_NAME_START
                      and not any(p.key in a.key or a.key in p.key for a in title_places)]
            # Pattern-found names are noisy: only a reply that also misses most key terms is
            # called one about another object.
            if others and coverage < 0.35:
                score = min(score, 25.0)
                weak.append(WeakPoint("other_object", "relevance",
                                      f"答复谈及「{'、'.join(p.name for p in others[:3])}」，"
                                      f"而诉求反映的是「{wanted}」，请核对是否答非所问", "high"))
                reasons.append("答复所说的对象与诉求不同")
            else:
                score *= 0.85
                weak.append(WeakPoint("place_missing", "relevance",
                                      f"答复未提及诉求所涉地点/对象「{wanted}」", "medium"))
    if score < 50 and missing and not any(w.code == "other_object" for w in weak):
        weak.append(WeakPoint("low_relevance", "relevance",
                              f"答复内容与诉求关联度低：诉求关注「{'、'.join(missing[:4])}」，答复未提及", "high"))
    return _Relevance(round(score, 1), tuple(reasons), tuple(weak), tuple(terms), missing)


# ---------------------------------------------------------------- completeness

ELEMENTS: dict[str, tuple[str, re.Pattern[str]]] = {
    "facts": ("核查情况", re.compile(
        r"经(?:核实|核查|查|调查|了解|现场|实地|排查|走访|询问|研究|审核|复核|检测|监测|测量|比对)|现场(?:查看|核查|勘查|勘察|检查)|"
        r"调查(?:发现|了解|核实)|核查发现|据了解|据查|据核实|查明|截至|现状|目前(?:正在|已|该|尚|仍|还|为|是)|"
        r"该(?:项目|路段|小区|处|企业|公司|单位|工程|地块|区域)(?:位于|于|属于|由|为|是|已|目前|现)|实地查看|走访了解|检查发现|核实情况|情况属实|情况不属实|不属实")),
    "action": ("处理措施", re.compile(
        r"(?:已|已经|立即|随即|当即|及时|现已|将|正在|下一步|责令|督促|要求|组织|安排|协调|联系)(?:.{0,6})?"
        r"(?:整改|拆除|清理|清运|维修|修复|更换|处理|处罚|立案|约谈|下达|告知|制定|落实|开展|疏通|安装|查处|取缔|关停|"
        r"停工|恢复|核发|办理|发放|补发|退还|调解|协商|调整|增设|纳入|规划|督查|执法|回访|跟踪|监管|巡查|处置|解决|施工|"
        r"建设|推进|实施|研究|论证|采纳|考虑|改造|检查|核查|调查|排查|整治|宣传|指导|培训|通知)"
        r"|责令|下达.{0,8}(?:通知书|决定书)|立案(?:调查|查处)|已(?:安排|派|组织|督促|要求|协调|联系|通知|责成)")),
    "result": ("办理结果", re.compile(
        r"(?:已|现已|目前已|均已|已经|基本)(?:全部|基本|按期|按时)?(?:解决|完成|修复|恢复|拆除|清理|整改到位|整改完毕|办结|落实|"
        r"发放|退还|到位|开通|安装|疏通|停止|取缔|关停|消除|处理完毕)|恢复正常|整改完毕|处理完毕|不存在|符合|不符合|"
        r"可以(?:申请|办理|享受|领取)|不能(?:享受|办理|申请)|不予|予以|应当|应按|可按|可到|可向|需(?:要)?(?:提供|携带|办理|到)|"
        r"不宜|暂不|暂无|无法|不具备|具备|已(?:纳入|列入)|列入|计划于|属实|不属于|属于|已于|"
        r"预计.{0,12}(?:完成|竣工|通车|开通|到位)|于\d{1,2}月(?:\d{1,2}日|底|中旬|上旬|下旬)前|\d{4}年\d{1,2}月(?:底|前)")),
    "basis": ("办理依据", re.compile(
        r"《[^》]{2,60}》|第[一二三四五六七八九十百零〇\d]+条|(?:依据|根据|按照|依照|遵照)[^，。；]{0,30}(?:规定|政策|文件|办法|"
        r"条例|标准|要求|精神|意见|通知|法)|[\u4e00-\u9fff]{1,8}〔\d{4}〕\d+号|[\u4e00-\u9fff]{1,8}\[\d{4}\]\d+号")),
    "contact": ("联系方式", re.compile(
        r"联系电话|咨询电话|服务电话|办公电话|联系人|联系方式|热线|12345|电话[:：]?\s*[\d（(]|(?<!\d)0\d{2,3}[-—－]?\d{7,8}(?!\d)|"
        r"(?<!\d)1[3-9]\d{9}(?!\d)|办公地址|地址[:：]|邮箱|可(?:来电|拨打|直接联系|到.{2,20}咨询)|与.{2,20}联系")),
}
# How much each element counts, by what the appeal asks for (the row sums to 100).
ELEMENT_WEIGHTS: dict[str, dict[str, float]] = {
    "complaint": {"facts": 25, "action": 25, "result": 25, "basis": 10, "contact": 15},
    "report": {"facts": 30, "action": 25, "result": 25, "basis": 10, "contact": 10},
    "help": {"facts": 20, "action": 30, "result": 25, "basis": 10, "contact": 15},
    "consultation": {"facts": 10, "action": 10, "result": 30, "basis": 35, "contact": 15},
    "suggestion": {"facts": 15, "action": 30, "result": 20, "basis": 20, "contact": 15},
    "praise": {"facts": 20, "action": 30, "result": 20, "basis": 0, "contact": 30},
}
APPEAL_TYPE_LABELS = {"complaint": "投诉", "report": "举报", "help": "求助", "consultation": "咨询",
                      "suggestion": "建议", "praise": "表扬"}
ELEMENT_WEAK = {"facts": "缺少核查情况（经核实/经调查…）", "action": "未说明采取的处理措施（已…/将…）",
                "result": "未给出办理结果或明确答复", "basis": "缺少办理依据（法规、政策条款）",
                "contact": "未给出联系方式（联系电话、联系人）"}

_TYPE_CUES = (("report", re.compile(r"举报")),
              ("consultation", re.compile(r"咨询|请问|能否|可否|是否|吗[？?]|怎么办|如何办理")),
              ("suggestion", re.compile(r"建议|呼吁|希望.{0,10}(?:增设|开通|设置|规划|建设)")),
              ("praise", re.compile(r"表扬|感谢信|点赞")), ("help", re.compile(r"求助|帮助|救助")))


def infer_appeal_type(title: str, content: str) -> str:
    """A coarse appeal type from cue words, for callers that do not know it (title first)."""
    for text in (title, content[:200]):
        for kind, cue in _TYPE_CUES:
            if cue.search(text or ""):
                return kind
    return "complaint"


def find_elements(reply: str) -> dict[str, bool]:
    return {name: bool(pattern.search(reply)) for name, (_label, pattern) in ELEMENTS.items()}


# ---------------------------------------------------------------- normativity

EMPTY_PHRASES = ("高度重视", "非常重视", "十分重视", "极为重视", "认真研究", "积极协调", "妥善处理", "进一步加强",
                 "切实加强", "加大力度", "加大.{0,4}力度", "持续关注", "予以关注", "引起重视", "全力以赴", "尽快解决",
                 "尽快处理", "努力解决", "逐步解决", "统筹考虑", "综合考虑", "研究解决", "适时", "择机",
                 "积极推进", "认真对待")
BOILERPLATE = ("您好", "你好", "网友", "您的留言已收悉", "留言已收悉", "已收悉", "收悉", "现将有关情况回复如下",
               "现将相关情况回复如下", "现将调查处理情况答复如下", "现回复如下", "现答复如下", "回复如下", "答复如下",
               "感谢您对我们工作的支持、理解与监督", "感谢您对我们工作的关心、监督与支持", "感谢您对我们工作的支持",
               "感谢您的监督", "感谢您的关注", "感谢您的理解", "感谢您对", "特此回复", "特此答复", "此复", "谢谢")
_EMPTY_RE = re.compile("|".join(EMPTY_PHRASES))
# Formulas with variable middles: thanks for any mix of support and trust, "the problem you raised".
BOILERPLATE_PATTERNS = (r"(?:感谢|谢谢)(?:您|你)[^。！!]{0,24}(?:支持|关心|监督|理解|关注|信任|来信)",
                        r"(?:关于)?(?:您|你)(?:所)?(?:反映|咨询|提出|留言|来信)(?:的)?(?:问题|情况|事项|建议|内容)?")
_BOILER_RE = re.compile("|".join([*BOILERPLATE_PATTERNS,
                                  *sorted((re.escape(b) for b in BOILERPLATE), key=len, reverse=True)]))
_PUNCT = re.compile(r"[\W_]+")
_SPECIFIC = re.compile(r"\d{4}年|\d{1,2}月\d{1,2}日|"
                       r"\d+(?:\.\d+)?(?:万元|万|元|米|平方米|亩|户|人|家|处|辆|台|个|次|天|日|小时|吨|公里|千米|"
                       r"栋|号|盏|棵|条|件|份|%)|[\u4e00-\u9fff]{2,10}(?:通知书|决定书|协议|方案|合同)")
_VAGUE = re.compile(r"尽快|适时|择机|逐步|研究解决|统筹考虑|下一步将|争取")
_DEADLINE = re.compile(r"\d{1,2}月|\d{4}年|\d+(?:个)?(?:工作日|日|天|周|月)内|年底|月底|前完成")
_NOT_OURS = re.compile(r"不属于(?:我|本)(?:单位|局|部门|镇|街道|委|办)?(?:的)?(?:职责|管辖|职能|受理)|"
                       r"不在.{0,6}职责范围")
_REFER = re.compile(r"向.{2,20}(?:反映|咨询|投诉|申请|举报)|由.{2,20}(?:负责|管理|办理|处理)|"
                    r"(?:属于|归).{2,20}(?:管辖|职责)|请.{0,6}(?:联系|咨询|到|向).{2,20}")
_ID18 = re.compile(r"(?<![\dA-Za-z])(\d{17}[\dXx])(?![\dA-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _valid_id(candidate: str) -> bool:
    total = sum(int(d) * w for d, w in zip(candidate[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == candidate[17].upper()


def substance(reply: str, appeal: str = "") -> str:
    """What remains of the reply without greetings, thanks, closing formulas, empty phrases, the
    echo of the appeal and punctuation: the part that can carry an answer."""
    body = strip_echo(reply, appeal) if appeal else reply
    body = _HANDLE.sub("", _URL.sub("", _signed_off(body)))
    body = _FORWARDED.sub("", _EMPTY_RE.sub("", _BOILER_RE.sub("", body)))
    return _PUNCT.sub("", body)


def _signed_off(reply: str) -> str:
    """The reply without its closing date (a signature, not a detail of the answer)."""
    return _SIGNATURE_DATE.sub("", reply)


# "已转相关部门办理": telling the citizen the letter was passed on is not an answer to it.
_FORWARDED = re.compile(r"(?:已|现已|已经|正在|将)(?:将[^。！!；;]{0,20}?)?"
                        r"(?:转|转交|转至|转到|转给|转送|交由|交办|移交|转办)[^。！!；;]{0,30}?"
                        r"(?:办理|处理|调查|核处|核实|答复|回复|部门|单位|中)")
_HANDLE = re.compile(r"[“\"][A-Za-z0-9_]{3,}[”\"]")  # the citizen's platform handle
_URL = re.compile(r"(?:https?://|www\.)[\x21-\x7e]+")
_SIGNATURE_DATE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日\W*$")


@dataclass(frozen=True, slots=True)
class _Normativity:
    score: float
    reasons: tuple[str, ...]
    weak: tuple[WeakPoint, ...]


def _normativity(reply: str, appeal: str, elements: dict[str, bool], *, citizen_name: str | None,
                 citizen_phone: str | None) -> _Normativity:
    reasons: list[str] = []
    weak: list[WeakPoint] = []
    core = substance(reply, appeal)
    n_sub = len(core)
    specifics = len(_SPECIFIC.findall(_signed_off(reply)))
    empties = list(dict.fromkeys(_EMPTY_RE.findall(reply)))
    # Substance (0–40): 150 characters of answer is a full explanation for most appeals.
    part_sub = 40 * min(1.0, n_sub / 150)
    part_spec = 20 * min(1.0, specifics / 4)
    part_basis = 20.0 if elements["basis"] else 0.0
    length = len(reply)
    part_len = 20.0 if 60 <= length <= 3000 else (20 * length / 60 if length < 60 else 10.0)
    score = part_sub + part_spec + part_basis + part_len
    cited = "引用了" if elements["basis"] else "未引用"
    reasons.append(f"实质内容 {n_sub} 字，具体信息 {specifics} 处，{cited}法规政策，全文 {length} 字")
    if n_sub < 15:
        score = min(score, 20.0)
        weak.append(WeakPoint("no_substance", "normativity", "答复无实质内容，仅有客套话或“已收悉”", "high"))
    elif _FORWARDED.search(reply) and not (elements["facts"] or elements["result"]):
        score = min(score, 40.0)
        weak.append(WeakPoint("forwarded_only", "normativity", "仅告知已转交其他部门，未答复核查和办理情况", "high"))
    if empties and specifics == 0 and not (elements["action"] and elements["result"]):
        score -= 15
        weak.append(WeakPoint("empty_phrases", "normativity",
                              f"使用“{'”“'.join(empties[:3])}”等套话，但没有具体措施、时间或结果", "medium"))
    if _VAGUE.search(reply) and not _DEADLINE.search(reply):
        score -= 10
        weak.append(WeakPoint("vague_promise", "normativity", "承诺“尽快/适时”处理但未给出时限", "low"))
    if _NOT_OURS.search(reply) and not _REFER.search(reply):
        score -= 10
        weak.append(WeakPoint("no_referral", "normativity", "称不属本单位职责，但未告知应向哪个单位反映", "medium"))
    if length > 3000:
        weak.append(WeakPoint("too_long", "normativity", f"答复过长（{length} 字），建议精简要点", "low"))
    leaks = []
    if any(_valid_id(m.group(1)) for m in _ID18.finditer(reply)):
        leaks.append("身份证号")
    phone_digits = re.sub(r"\D", "", citizen_phone or "")
    if len(phone_digits) >= 7 and phone_digits in re.sub(r"[\s-]", "", reply):
        leaks.append("市民电话")
    if citizen_name and len(citizen_name.strip()) >= 2 and citizen_name.strip() in reply:
        leaks.append("市民姓名")
    if leaks:
        score -= 30
        weak.append(WeakPoint("personal_data", "normativity",
                              f"答复含有个人信息（{'、'.join(leaks)}），发送前请删除或打码", "high"))
    return _Normativity(round(max(0.0, min(100.0, score)), 1), tuple(reasons), tuple(weak))


# ---------------------------------------------------------------- timeliness

def _timeliness(appeal_time: datetime | None, reply_time: datetime | None, deadline: datetime | None,
                expected_days: float) -> tuple[float | None, tuple[str, ...], tuple[WeakPoint, ...]]:
    """Within the limit: 100 for an instant reply down to 80 at the deadline; past it: 60 just
    after, falling to 0 when the elapsed time is three times the limit."""
    if reply_time is None or (appeal_time is None and deadline is None):
        return None, ("未提供诉求或答复时间，不评价及时性",), ()
    for moment in (appeal_time, reply_time, deadline):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInput("时间须带时区", "datetimes must be timezone-aware", field="reply_time")
    if appeal_time is not None and deadline is not None and deadline > appeal_time:
        allowed = (deadline - appeal_time).total_seconds()
        elapsed = (reply_time - appeal_time).total_seconds()
        basis = "办理时限"
    elif deadline is not None:
        late = (reply_time - deadline).total_seconds()
        allowed = expected_days * 86400
        elapsed = allowed + late
        basis = "办理时限"
    else:
        assert appeal_time is not None
        allowed = expected_days * 86400
        elapsed = (reply_time - appeal_time).total_seconds()
        basis = f"{expected_days:g} 天答复期"
    ratio = max(0.0, elapsed) / allowed
    score = 100 - 20 * ratio if ratio <= 1 else max(0.0, 60 - 30 * (ratio - 1))
    days = max(0.0, elapsed) / 86400
    reasons = (f"用时 {days:.1f} 天，为{basis}的 {ratio:.0%}",)
    weak: tuple[WeakPoint, ...] = ()
    if ratio > 1:
        weak = (WeakPoint("late", "timeliness", f"答复已超过{basis}（用时 {days:.1f} 天）", "high"),)
    return round(score, 1), reasons, weak


# ---------------------------------------------------------------- the score

def score_reply(title: str, content: str, reply: str, *, appeal_type: str | None = None,
                appeal_time: datetime | None = None, reply_time: datetime | None = None,
                deadline: datetime | None = None, citizen_name: str | None = None,
                citizen_phone: str | None = None, config: ReplyQualityConfig | None = None) -> ReplyAssessment:
    """Score ``reply`` as the answer to the appeal ``title`` + ``content``.

    ``appeal_type``: complaint, report, help, consultation, suggestion, praise (inferred from cue
    words when None). Times are timezone-aware; timeliness is not applicable without them.
    ``citizen_name``/``citizen_phone``: the appeal's citizen, to catch their data in the reply."""
    config = config or ReplyQualityConfig()
    title, content, reply = _clean(title), _clean(content), _clean(reply)
    appeal = title + "。" + content
    kind = appeal_type if appeal_type in ELEMENT_WEIGHTS else infer_appeal_type(title, content)
    body = strip_echo(reply, appeal)

    rel = _relevance(title, content, body)
    elements = find_elements(reply)
    element_weights = ELEMENT_WEIGHTS[kind]
    completeness = sum(w for name, w in element_weights.items() if elements[name])
    comp_reasons = ("具备：" + ("、".join(ELEMENTS[n][0] for n, ok in elements.items() if ok) or "无"),
                    f"按「{APPEAL_TYPE_LABELS[kind]}」类诉求计分")
    comp_weak = [WeakPoint(f"missing_{name}", "completeness", ELEMENT_WEAK[name],
                           "medium" if element_weights[name] >= 20 else "low")
                 for name, ok in elements.items() if not ok and element_weights[name] > 0]
    norm = _normativity(reply, appeal, elements, citizen_name=citizen_name, citizen_phone=citizen_phone)
    if any(w.code == "no_substance" for w in norm.weak):
        completeness = min(completeness, 20)
    timely, time_reasons, time_weak = _timeliness(appeal_time, reply_time, deadline, config.expected_days)

    dims = {
        "relevance": DimensionScore("relevance", DIMENSION_LABELS["relevance"], rel.score, rel.reasons),
        "completeness": DimensionScore("completeness", DIMENSION_LABELS["completeness"], float(completeness),
                                       comp_reasons),
        "normativity": DimensionScore("normativity", DIMENSION_LABELS["normativity"], norm.score, norm.reasons),
        "timeliness": DimensionScore("timeliness", DIMENSION_LABELS["timeliness"], timely, time_reasons),
    }
    applicable = {k: w for k, w in config.weights.items() if dims[k].score is not None and w > 0}
    if not applicable:  # only timeliness weighted and no times: fall back to the text dimensions equally
        applicable = {k: 1.0 for k in ("relevance", "completeness", "normativity")}
    total = sum(applicable.values())
    used = {k: w / total for k, w in applicable.items()}
    overall = sum((dims[k].score or 0.0) * w for k, w in used.items())
    if config.relevance_floor > 0 and rel.score < config.relevance_floor:
        overall *= rel.score / config.relevance_floor
    overall = round(overall, 1)
    severity = {"high": 0, "medium": 1, "low": 2}
    weak = sorted((*rel.weak, *norm.weak, *comp_weak, *time_weak), key=lambda w: severity[w.severity])
    return ReplyAssessment(overall=overall, passed=overall >= config.pass_score, dimensions=dims,
                           weak_points=tuple(weak), weights={k: round(v, 4) for k, v in used.items()},
                           key_terms=rel.terms, missing_terms=rel.missing, elements=elements)


def score_many(rows: Sequence[Mapping[str, Any]], *, config: ReplyQualityConfig | None = None
               ) -> list[ReplyAssessment]:
    """Score a batch: each row holds ``title``, ``content``, ``reply`` and optionally the keyword
    arguments of ``score_reply``."""
    out = []
    for row in rows:
        extra = {k: row[k] for k in ("appeal_type", "appeal_time", "reply_time", "deadline", "citizen_name",
                                     "citizen_phone") if k in row}
        out.append(score_reply(row.get("title", ""), row.get("content", ""), row.get("reply", ""), config=config,
                               **extra))
    return out
