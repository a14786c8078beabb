"""Named places in an appeal's text: estates, roads, schools, companies, markets, hospitals, villages …

General patterns, not a gazetteer: a run of name characters ending in a kind's suffix (小区, 路, 小学,
搅拌站 …) or followed by an estate's tell-tale (3栋, 业主, 物业, 开发商 …), trimmed on the left at the
administrative prefix (A市A3区, 峄城区, 坛山街道) and at function words. jieba's part-of-speech tags
(``ns`` place, ``nt`` organisation) add names the patterns miss, on the short title only (cost).
Nothing here knows the names of one district, so the same code works on any district's appeals.

A place's ``key`` is what two mentions of the same place share: "丽发新城小区" and "丽发新城" both key
to "丽发新城", so hotspot blocking treats them as one place.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache

# Kinds, from the most to the least specific, each with the suffixes that end its names.
KIND_SUFFIXES: dict[str, tuple[str, ...]] = {
    "estate": ("小区", "花园", "家园", "嘉园", "佳园", "名苑", "苑", "公寓", "庭院", "新城", "新村", "山庄", "华府",
               "公馆", "雅居", "华庭", "府邸", "大厦", "名邸", "广场", "城", "湾", "府", "郡", "园"),
    "school": ("幼儿园", "小学", "中学", "大学", "学院", "学校", "职校", "技校", "驾校", "一中", "二中", "三中", "四中",
               "五中", "六中", "七中", "八中", "九中", "十中", "附中",
               "培训中心", "培训学校"),
    "hospital": ("人民医院", "医院", "卫生院", "卫生室", "诊所", "卫生服务中心", "妇幼保健院"),
    "market": ("农贸市场", "菜市场", "市场", "商城", "商业街", "步行街", "购物中心", "商业中心", "超市", "商场"),
    "company": ("有限公司", "公司", "集团", "搅拌站", "搅拌厂", "工厂", "厂", "酒店", "宾馆", "饭店", "餐厅", "物业",
                "4S店", "银行", "加油站", "网吧", "KTV", "养殖场", "砖厂", "化工厂"),
    "road": ("大道", "大街", "路", "街", "巷", "高速", "高架", "大桥", "桥", "隧道", "立交", "线", "地铁站", "车站",
             "站", "路口"),
    "village": ("村委会", "居委会", "村", "社区", "组"),
    "town": ("街道", "镇", "乡"),
    "facility": ("公园", "景区", "水库", "广场", "体育馆", "图书馆", "派出所", "法院", "政务中心", "垃圾站",
                 "中转站", "变电站", "基站", "河", "湖", "山"),
}

def _words(text: str) -> list[str]:
    return text.split()


# Administrative areas above a town: context, not a place a hotspot is "at".
_ADMIN_PREFIX = re.compile(r"^.*?(?:[\u4e00-\u9fffA-Z0-9]{1,8}?(?:自治区|自治州|特别行政区|省|市|地区|盟|州|县|旗)"
                           r"|[\u4e00-\u9fffA-Z0-9]{1,6}?"
                           r"(?<!小)(?<!社)(?<!园)(?<!校)(?<!城)(?<!景)(?<!片)(?<!新)(?<!开发)(?<!学)(?<!湖)区)"
                           r"(?=[\u4e00-\u9fffA-Za-z0-9]{2,})")
_ADMIN_ONLY = re.compile(r"^[\u4e00-\u9fffA-Z0-9]{1,8}"
                         r"(?:省|市|县|州|(?<!小)(?<!社)(?<!园)(?<!校)(?<!景)(?<!片)(?<!厂)区)$")
# Words that cannot be inside a place name: where a name starts, the text before them is dropped.
_CUT_WORDS = tuple(_words("""
开展 城镇 打造 其中 即 如 包括 加快 以上 目前 整个 本 此 该
进一步 规范 敬请 大部分 部分 所有 各个 全部 全市 全区 全县 高中 初中 中小 民办 公办
私立 公立 正规 其他 其它 沿线 至 以及 重点 反映 投诉 举报 关于 咨询 建议 请求 要求
希望 强烈 严重 位于 居住 我们 我是 我家 本人 附近 旁边 对面 门口 周边 周围 楼下 导致
业主 居民 市民 村民 学生 家长 领导 政府 部门 相关 有关 问题 解决 还是 一个 这个 那个
什么 怎么 为什么 是否 能否 可以 已经 没有 不能 进行 存在 出现 发生 整治 处理 查处
治理 尽快 无人 长期 多次 经常 每天 晚上 夜间 凌晨 施工 噪音 扰民 污染 收费 违规 违法
非法 私自 擅自 强行 拖欠 延期 欠薪 管理 建设 规划 安装 修建 改造 拆除
"""))
_CUT_CHARS = ("的在于是与及到从对给把被让向为而就也都将了着过说不没很太还又再已要会能想请问吗呢吧啊呀"
              "、，。！？；：,.;:!?（）()《》“”\"' 　")
_NAME_CHARS = r"[\u4e00-\u9fffA-Za-z0-9]"
_GENERIC = frozenset(_words("""
小区 社区 学校 医院 公司 市场 村 路 街 我村 本村 该村 我们村 我小区 本小区 该小区
该公司 本公司 此路 该路 道路 马路 公路 高速 城 线 站 组 厂 水泥路 小路 土路 村路
主路 辅路 该街 大街 街道 步行街 商业街 我镇 本镇 该镇 乡镇 城乡 农村 新农村 园 府 湾
郡 山 河 湖 桥 巷 新城 老城 主城 全城 县城 城区 市区 城市 进城 入城 出城 大学 中学
小学 物业 银行 超市 商场 酒店 公园 广场 花园
"""))
_GENERIC_STEMS = frozenset(_words("""
集团 有限 股份 科技 中心 这个 那个 这些 我们 他们 一个 某 某某 相关 有关 当地 本地
周边 附近 新 老 大 小
"""))
# Suffixes that end too many ordinary words to be trusted without at least this many name characters.
_WEAK = {"城": 3, "湾": 2, "府": 3, "郡": 2, "园": 3, "线": 3, "站": 3, "组": 3, "厂": 2,
         "桥": 2, "街": 2, "山": 2, "河": 2, "湖": 2, "巷": 2, "村": 2, "镇": 2, "乡": 2, "物业": 2, "广场": 2,
         "大厦": 2, "路口": 2, "车站": 2, "高速": 2}
# After a name, these show it is an estate even without an estate suffix ("金毛湾3栋", "半山壹号业主").
_ESTATE_TELL = re.compile(r"\d+(?:栋|幢|号楼|单元|期)|业主|楼盘|开发商|交房|物业费")
# Words that end a road's or an estate's name but are really the problem ("施工线", "经济圈").
_NOT_NAME = re.compile(r"(?:政府|跑路|走路|出路|思路|网路|套路|退路|门路|一路|上路|马路|生产线|流水线|热线|专线|"
                       r"路线|线路|电线|网线|光纤线|底线|红线|一线|在线|上线|下线|直线|"
                       r"沿线|航线|主线|支线|界线|防线|战线|视线|站在|网站|车站站|开户站|工作站|加班|水费|电费|"
                       r"城管|城建|城乡|进城|城市|城区|城镇|园林|家园里|公园里|村里|组织|小组|班组|组长|工厂里)$")
_SUFFIX_RE: list[tuple[str, re.Pattern[str]]] = []


@dataclass(frozen=True, slots=True)
class Place:
    name: str   # as written, without the administrative prefix: "丽发新城小区"
    kind: str   # estate, school, hospital, market, company, road, village, town, facility, named
    key: str    # what mentions of the same place share: "丽发新城"


def _compile() -> list[tuple[str, re.Pattern[str]]]:
    """One pattern finding every suffix (longest first), and each suffix's kind (the first kind listing it)."""
    if not _SUFFIX_RE:
        kinds: dict[str, str] = {}
        for kind, suffixes in KIND_SUFFIXES.items():
            for suffix in suffixes:
                kinds.setdefault(suffix, kind)
        _SUFFIX_KIND.update(kinds)
        alternatives = "|".join(sorted((re.escape(s) for s in kinds), key=len, reverse=True))
        _SUFFIX_RE.append(("", re.compile(r"(?:" + alternatives + r")(?![道灯面边段况管建乡区市镇内民委务线])")))
        cut = "|".join(sorted((re.escape(w) for w in _CUT_WORDS), key=len, reverse=True))
        _TRIM.append(re.compile(r"(?:" + cut + "|[" + re.escape(_CUT_CHARS) + "])"))
        bounds = "|".join(sorted((re.escape(w) for w in _BOUNDARIES), key=len, reverse=True))
        _TRIM.append(re.compile(r"(?:" + bounds + r")(?=.{2})"))
    return _SUFFIX_RE


_SUFFIX_KIND: dict[str, str] = {}
_BY_FIRST: dict[str, list[str]] = {}
_FIRST: list[re.Pattern[str]] = []
_NOT_AFTER = frozenset("道灯面边段况管建乡区市镇内民委务线")


def _hits(source: str) -> list[tuple[int, int, str]]:
    """(start, end, suffix) of every suffix that follows a name character, longest suffix first, no overlap.
    A character class finds the few candidate positions; plain string tests do the rest (fast)."""
    if not _FIRST:
        for suffix in sorted(_SUFFIX_KIND, key=len, reverse=True):
            _BY_FIRST.setdefault(suffix[0], []).append(suffix)
        _FIRST.append(re.compile("[" + re.escape("".join(_BY_FIRST)) + "]"))
    out: list[tuple[int, int, str]] = []
    taken = 0
    for m in _FIRST[0].finditer(source):
        i = m.start()
        if i < taken or not i or not _NAME_CHAR.match(source, i - 1):
            continue
        for suffix in _BY_FIRST[source[i]]:
            if source.startswith(suffix, i):
                j = i + len(suffix)
                if j < len(source) and source[j] in _NOT_AFTER:
                    continue
                out.append((i, j, suffix))
                taken = j
                break
    return out
_TRIM: list[re.Pattern[str]] = []
_RUN = re.compile(_NAME_CHARS + r"{1,10}$")
_NAME_CHAR = re.compile(_NAME_CHARS)


def _trim_left(name: str) -> str:
    """Drop the administrative prefix and anything before a word that cannot be inside a name."""
    _compile()
    for pattern in _TRIM:
        end = 0
        for m in pattern.finditer(name):
            end = m.end()
        name = name[end:]
    prefix = _ADMIN_PREFIX.match(name)
    if prefix:
        name = name[prefix.end():]
    return name


# Another place's end inside a longer run: "丽发新城小区旁搅拌站" names the plant "搅拌站", not the estate.
_BOUNDARIES = tuple(_words("""
小区 社区 街道 大道 公司 物业 区 学校 医院 市场 附近 旁边 边上 隔壁 后面 对面 里面
旁 路 街 镇 乡 村 县 市
"""))


def place_key(name: str) -> str:
    """"丽发新城小区" → "丽发新城"; "坛山街道" → "坛山"? No: only the estate/community words that people
    drop in speech are removed, so "XX小区" and "XX" meet."""
    for tail in ("小区", "社区", "村委会", "居委会"):
        if name.endswith(tail) and len(name) - len(tail) >= 3:
            name = name[: -len(tail)]
            break
    phase = _PHASE.search(name)   # "绿地海外滩二期" is part of "绿地海外滩"
    if phase and phase.start() >= 3:
        name = name[: phase.start()]
    return name


_PHASE = re.compile(r"(?:[一二三四五六七八九十\d]+期|[东西南北]区)$")


def _accept(stem: str, suffix: str) -> bool:
    name = stem + suffix
    if name in _GENERIC or stem in _GENERIC or len(stem) < 1:
        return False
    if len(stem) < _WEAK.get(suffix, 1) or stem in _GENERIC_STEMS:
        return False
    if suffix in _WEAK and len(stem) > 5:   # "毛警官查案办案山": a clause, not a name
        return False
    if _ADMIN_ONLY.match(name) or _NOT_NAME.search(name):
        return False
    if _ADMIN_INSIDE.search(name):
        return False
    if _UNIT_NUMBER.search(stem) and suffix != "线":   # "3号楼" no, "地铁3号线" yes
        return False
    if stem.isdigit() and suffix not in ("路", "线", "中", "号"):  # "3栋" is not a place; "7路" (a bus) may be
        return False
    return not _MASKED_CODE.fullmatch(stem)  # "A3" + 区 … masked admin codes


_ADMIN_INSIDE = re.compile(r"[A-Z]\d*[市区县]|(?:[市县](?![场民])|(?<![小社园校景片厂])区).")
_UNIT_NUMBER = re.compile(r"\d(?:栋|幢|号|楼|单元|期)")
_MASKED_CODE = re.compile(r"[A-Za-z]\d*")


def extract_places(text: str, *, title: str = "", use_pos: bool = True) -> list[Place]:
    """Named places in ``text`` (and ``title``), most specific first, each key once.

    ``use_pos``: also ask jieba for place/organisation words in the title when the patterns found
    nothing specific there (about 70 µs a title)."""
    found: dict[str, Place] = {}
    sources = (title, text) if title else (text,)
    _compile()
    for source in sources:
        if not source:
            continue
        by_kind: dict[str, list[tuple[int, int, str]]] = {}
        for hit in _hits(source):
            by_kind.setdefault(_SUFFIX_KIND[hit[2]], []).append(hit)
        for kind in KIND_SUFFIXES:
            hits = by_kind.get(kind)
            if not hits:
                continue
            floor = 0
            for i, (start, end, suffix) in enumerate(hits):
                if i + 1 < len(hits):  # greedy: a run of name characters ends at its last suffix ("伊景园滨河苑")
                    following = hits[i + 1][0]
                    run = _RUN.search(source, max(floor, following - 10), following)
                    if run is not None and run.start() < start:
                        continue
                run = _RUN.search(source, max(floor, start - 10), start)
                if run is None:
                    continue
                stem = _trim_left(run.group(0))
                if not _accept(stem, suffix):
                    continue
                floor = end
                name = stem + suffix
                key = place_key(name)
                if not any(key in other.key or other.key in key for other in found.values()):
                    found[key] = Place(name, kind, key)
        for m in _ESTATE_TELL.finditer(source):
            run = _RUN.search(source, max(0, m.start() - 10), m.start())
            if run is None:
                continue
            stem = _trim_left(run.group(0))
            if len(stem) >= 2 and _accept(stem, "") and stem not in _GENERIC and not _ADMIN_ONLY.match(stem):
                key = place_key(stem)
                if not any(key in other.key or other.key in key for other in found.values()):
                    found[key] = Place(stem, "estate", key)
    if use_pos and title and not any(p.kind not in ("town", "road", "facility") for p in found.values()):
        for word in _pos_places(title):
            key = place_key(word)
            if not any(key in other.key or other.key in key for other in found.values()):
                found[key] = Place(word, "named", key)
    # "上周地铁3号线" and "地铁3号线": keep the shorter, the longer carries words of the sentence.
    for key in [k for k, p in found.items() if any(o.name != p.name and p.name.endswith(o.name)
                                                   for o in found.values())]:
        del found[key]
    return sorted(found.values(), key=lambda p: _KIND_ORDER[p.kind])


_KIND_ORDER = {kind: i for i, kind in enumerate([*KIND_SUFFIXES, "named"])}


def admin_areas(text: str) -> list[str]:
    """County-level and higher areas named in the text ("A市", "A7县", "峄城区"): context for a title."""
    return list(dict.fromkeys(m.group(0) for m in _ADMIN_AREA.finditer(text or "")))


_ADMIN_AREA = re.compile(r"[A-Z][0-9]{0,2}(?:市|区|县)|[\u4e00-\u9fff]{2,3}(?:市|县)(?=[\u4e00-\u9fffA-Z])|"
                         r"[\u4e00-\u9fff]{2}(?<!小)(?<!社)区(?=[\u4e00-\u9fffA-Z])")


@lru_cache(maxsize=1)
def _posseg():  # type: ignore[no-untyped-def]
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg


_ALL_SUFFIXES = frozenset(s for suffixes in KIND_SUFFIXES.values() for s in suffixes)


def _pos_places(title: str) -> list[str]:
    """ns/nt words of three or more characters, joined with a following kind suffix word if any."""
    words = [(w.word, w.flag) for w in _posseg().cut(title, HMM=False)]
    words = [(_trim_left(w), f) for w, f in words]
    out: list[str] = []
    for i, (word, flag) in enumerate(words):
        if flag not in ("ns", "nt") or _ADMIN_ONLY.match(word):
            continue
        name = word
        if i + 1 < len(words) and words[i + 1][0] in _ALL_SUFFIXES:
            name += words[i + 1][0]
        if len(name) >= 3 and name not in _GENERIC and not any(w in name for w in ("政府", "部门", "局", "委")):
            out.append(name)
    return out
