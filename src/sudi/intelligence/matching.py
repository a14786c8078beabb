"""Which duty-list matter an appeal is about, by transparent keyword evidence.

A dispatcher must see *why* a matter is suggested, so this scorer only counts keywords the admin
wrote into the duty list. Each distinct keyword found adds its length (a specific phrase such as
"夜间施工" outweighs "施工"); a keyword found only inside a longer hit of the same matter adds
nothing, so overlapping keywords give no unfair boost; title hits count double because a title
names the problem. Ties go to the lower matter code.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MatterTerms:
    code: str
    keywords: Sequence[str]


@dataclass(frozen=True, slots=True)
class MatterSuggestion:
    code: str
    score: float
    matched: tuple[str, ...]


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits become ASCII) and lower case."""
    return unicodedata.normalize("NFKC", text or "").lower()


def keyword_hits(haystack: str, keywords: Iterable[str]) -> tuple[str, ...]:
    """The keywords (as written) occurring in an already normalised ``haystack``, less those that
    lie inside a longer hit."""
    found: dict[str, str] = {}
    for keyword in keywords:
        key = normalise(keyword).strip()
        if key and key not in found and key in haystack:
            found[key] = keyword.strip()
    return tuple(word for key, word in found.items() if not any(key != other and key in other for other in found))


def suggest_matters(title: str, content: str, matters: Iterable[MatterTerms], *, top: int = 3
                    ) -> list[MatterSuggestion]:
    title_n, content_n = normalise(title), normalise(content)
    haystack = title_n + "\n" + content_n
    found = []
    for matter in matters:
        hits = keyword_hits(haystack, matter.keywords)
        if hits:
            score = sum(len(k) * (2 if normalise(k) in title_n else 1) for k in hits)
            found.append(MatterSuggestion(matter.code, float(score), hits))
    found.sort(key=lambda s: (-s.score, s.code))
    return found[:top]
