"""Text → sparse TF-IDF vectors, with one code path for training and for single-message inference.

Two feature blocks, each sublinear TF-IDF and L2-normalised on its own (so neither drowns the other):

* ``char``: every character 1–3-gram of the normalised text. Character grams need no segmenter, are
  immune to segmentation errors, and work the same on raw text and on pre-segmented text once the
  spaces are removed; place names (向阳区, 光复路) are captured as they are written.
* ``lex``: the dictionary words (2–8 characters) found in the text. The lexicon is jieba's
  dictionary plus every multi-character token of pre-segmented training text. We do not run the
  jieba segmenter itself: it costs 2–5 ms per message on this hardware (measured), which alone
  would break the 2,000 predictions/s budget; finding known words as substrings is vectorised and
  gives the same quality in our measurements (docs/benchmarks.md), and it treats raw and
  pre-segmented input alike.

Normalisation: NFKC (full-width → half-width), lower case, all whitespace removed (so the spaces of
pre-segmented input vanish), every digit → ``0`` (phone numbers, dates and house numbers are noise
as exact digits, but "a number was here" still tells something).

Grams are identified by a 64-bit polynomial hash of their code points, computed with numpy for all
positions at once; the vocabulary is a sorted array of those hashes, so a lookup is one
``searchsorted`` rather than one dict probe per gram. Distinct vocabulary grams are checked to have
distinct hashes at fit time; a text gram outside the vocabulary colliding with a vocabulary hash has
probability about |vocab| / 2^64 per gram and would only add one spurious feature.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.sparse as sp

_MASK = (1 << 64) - 1
_PRIME = 0x100000001B3  # FNV-64 prime: odd and large, so the polynomial spreads short grams well
_SEEDS = {"char": 0x9E3779B97F4A7C15, "lex": 0xC2B2AE3D27D4EB4F}  # distinct per block: same gram, two features
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SEGMENTED_SPACE = re.compile(rf"(?<=[{_CJK}]) +(?=[{_CJK}])")
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_SPACE = re.compile(r"\s+")
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class FeatureSettings:
    char_ngrams: tuple[int, int] = (1, 3)
    lex_lengths: tuple[int, int] = (2, 8)
    min_df: int = 2
    digits_to_zero: bool = True
    # Caps keep a big history's model file and memory bounded; the rarest grams go first.
    max_char_features: int = 400_000
    max_lex_features: int = 100_000
    blocks: tuple[str, ...] = field(default=("char", "lex"))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSettings:
        return cls(char_ngrams=tuple(data["char_ngrams"]), lex_lengths=tuple(data["lex_lengths"]),  # type: ignore[arg-type]
                   min_df=int(data["min_df"]), digits_to_zero=bool(data["digits_to_zero"]),
                   max_char_features=int(data["max_char_features"]), max_lex_features=int(data["max_lex_features"]),
                   blocks=tuple(data["blocks"]))


def is_presegmented(text: str) -> bool:
    """True when Chinese characters are mostly separated by spaces (jieba-style tokenised text)."""
    han = len(_CJK_CHAR.findall(text))
    return han > 0 and len(_SEGMENTED_SPACE.findall(text)) / han > 0.12


def normalise(text: str, *, digits_to_zero: bool = True) -> str:
    out = _SPACE.sub("", unicodedata.normalize("NFKC", text or "").lower())
    return _DIGIT.sub("0", out) if digits_to_zero else out


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def gram_hashes(codes: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Hash of every n-gram of ``codes`` (length len-n+1): h = (…((seed·P + c0)·P + c1)…) mod 2^64."""
    if len(codes) < n:
        return np.empty(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = np.full(len(codes) - n + 1, seed, dtype=np.uint64)
        prime = np.uint64(_PRIME)
        for k in range(n):
            h = h * prime + codes[k:len(codes) - n + 1 + k]
    return h


def hash_string(text: str, seed: int) -> int:
    h = seed
    for ch in text:
        h = (h * _PRIME + ord(ch)) & _MASK
    return h


@lru_cache(maxsize=1)
def jieba_lexicon() -> frozenset[str]:
    """The words (two characters or more) of jieba's dictionary, read from its file: building jieba's
    prefix dictionary would take four times as long and write a cache file."""
    import jieba

    words = set()
    with jieba.get_dict_file() as handle:
        for line in handle:
            word = line.decode("utf-8").split(" ", 1)[0].strip()
            if len(word) >= 2:
                words.add(word)
    return frozenset(words)


@dataclass
class _Block:
    name: str
    hashes: np.ndarray  # sorted uint64
    columns: np.ndarray  # int32: feature column (within the whole vector) of hashes[i]
    idf: np.ndarray  # float32, by column offset within the block
    offset: int
    grams: list[str]  # by column offset within the block, for explanations


class FeatureExtractor:
    """Fitted vocabulary and idf; ``transform_one`` is the single-message hot path."""

    def __init__(self, settings: FeatureSettings, blocks: list[_Block], lexicon_hashes: np.ndarray) -> None:
        self.settings = settings
        self.blocks = blocks
        # Only needed while matching 'lex' grams: the hashes of the lexicon words present in the vocabulary
        # are exactly the block's hashes, so inference never needs jieba or the full lexicon.
        self._lexicon_hashes = lexicon_hashes
        self.n_features = sum(len(b.idf) for b in blocks)

    # ---- gram enumeration -------------------------------------------------------------------------
    def _block_grams(self, block: str, codes: np.ndarray, *, with_positions: bool = False,
                     candidates: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Hashes of the block's grams in one text (with start positions and lengths when asked).

        For 'lex', only grams whose hash is in ``candidates`` (the lexicon) are kept."""
        s = self.settings
        lo, hi = s.char_ngrams if block == "char" else s.lex_lengths
        seed = _SEEDS[block]
        parts, pos, lens = [], [], []
        for n in range(lo, hi + 1):
            h = gram_hashes(codes, n, seed)
            if not len(h):
                break
            if candidates is not None:
                keep = _member(h, candidates)
                idx = np.nonzero(keep)[0]
                h = h[idx]
            else:
                idx = np.arange(len(h))
            parts.append(h)
            if with_positions:
                pos.append(idx)
                lens.append(np.full(len(idx), n, dtype=np.int64))
        if not parts:
            empty = np.empty(0, dtype=np.int64)
            return np.empty(0, dtype=np.uint64), empty, empty
        hashes = np.concatenate(parts)
        if with_positions:
            return hashes, np.concatenate(pos), np.concatenate(lens)
        return hashes, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)

    # ---- transform --------------------------------------------------------------------------------
    def transform_one(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(columns, values) of the TF-IDF vector of one text; columns are unique and ascending."""
        codes = _codes(normalise(text, digits_to_zero=self.settings.digits_to_zero))
        cols_out, vals_out = [], []
        for block in self.blocks:
            # 'lex' grams are matched straight against the block vocabulary (a subset of the lexicon).
            hashes, _, _ = self._block_grams(block.name, codes, candidates=block.hashes if block.name == "lex" else None)
            if not len(hashes):
                continue
            where = np.searchsorted(block.hashes, hashes)
            where[where == len(block.hashes)] = 0
            found = block.hashes[where] == hashes
            if not found.any():
                continue
            cols, tf = np.unique(block.columns[where[found]], return_counts=True)
            vals = (1.0 + np.log(tf)) * block.idf[cols - block.offset]
            vals /= np.sqrt(np.dot(vals, vals))
            cols_out.append(cols)
            vals_out.append(vals.astype(np.float32))
        if not cols_out:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float32)
        return np.concatenate(cols_out).astype(np.int32), np.concatenate(vals_out)

    def transform(self, texts: Iterable[str]) -> sp.csr_matrix:
        indptr, indices, data = [0], [], []
        for text in texts:
            cols, vals = self.transform_one(text)
            indices.append(cols)
            data.append(vals)
            indptr.append(indptr[-1] + len(cols))
        matrix = sp.csr_matrix((np.concatenate(data) if data else np.empty(0, np.float32),
                                np.concatenate(indices) if indices else np.empty(0, np.int32), np.array(indptr)),
                               shape=(len(indptr) - 1, self.n_features), dtype=np.float32)
        # liblinear (through scikit-learn) refuses 64-bit indices, which scipy may pick on its own.
        matrix.indices = matrix.indices.astype(np.int32, copy=False)
        matrix.indptr = matrix.indptr.astype(np.int32, copy=False)
        return matrix

    def gram(self, column: int) -> str:
        for block in self.blocks:
            if block.offset <= column < block.offset + len(block.grams):
                return block.grams[column - block.offset]
        raise IndexError(column)

    def block_of(self, column: int) -> str:
        for block in self.blocks:
            if block.offset <= column < block.offset + len(block.idf):
                return block.name
        raise IndexError(column)

    # ---- fitting ----------------------------------------------------------------------------------
    @classmethod
    def fit(cls, texts: Sequence[str], settings: FeatureSettings | None = None) -> FeatureExtractor:
        settings = settings or FeatureSettings()
        normalised = [normalise(t, digits_to_zero=settings.digits_to_zero) for t in texts]
        lexicon_hashes = np.empty(0, dtype=np.uint64)
        if "lex" in settings.blocks:
            words = set(jieba_lexicon())
            # Given tokens of pre-segmented history are the district's own words (place and unit names).
            for text in texts:
                if is_presegmented(text):
                    words.update(w for w in text.split() if len(w) >= 2)
            lo, hi = settings.lex_lengths
            lexicon_hashes = np.unique(np.fromiter(
                (hash_string(normalise(w, digits_to_zero=settings.digits_to_zero), _SEEDS["lex"]) for w in words
                 if lo <= len(w) <= hi), dtype=np.uint64))
        shell = cls(settings, [], lexicon_hashes)
        blocks: list[_Block] = []
        offset = 0
        n_docs = len(normalised)
        for name in settings.blocks:
            all_hashes, all_docs, all_pos, all_len = [], [], [], []
            for doc, text in enumerate(normalised):
                codes = _codes(text)
                h, pos, lens = shell._block_grams(name, codes, with_positions=True,
                                                  candidates=lexicon_hashes if name == "lex" else None)
                h, first = np.unique(h, return_index=True)  # document frequency counts a gram once per text
                all_hashes.append(h)
                all_docs.append(np.full(len(h), doc, dtype=np.int64))
                all_pos.append(pos[first])
                all_len.append(lens[first])
            if not all_hashes:
                raise ValueError("no texts to fit")
            hashes = np.concatenate(all_hashes)
            docs, positions, lengths = np.concatenate(all_docs), np.concatenate(all_pos), np.concatenate(all_len)
            uniq, first, df = np.unique(hashes, return_index=True, return_counts=True)
            keep = df >= settings.min_df
            cap = settings.max_char_features if name == "char" else settings.max_lex_features
            if keep.sum() > cap:
                # Most frequent first; the hash breaks ties so the choice does not depend on input order.
                order = np.lexsort((uniq, -df))
                chosen = np.zeros(len(uniq), dtype=bool)
                chosen[order[:cap]] = True
                keep &= chosen
            uniq, first, df = uniq[keep], first[keep], df[keep]
            grams = [normalised[d][p:p + n] for d, p, n in zip(docs[first], positions[first], lengths[first],
                                                                strict=True)]
            if len(set(grams)) != len(grams):  # two grams with one hash: keep lookups unambiguous
                raise RuntimeError("hash collision in vocabulary")
            # Columns in gram order make the model file and explanations stable across runs.
            order = np.argsort(np.array(grams, dtype=object), kind="stable")
            columns = np.empty(len(uniq), dtype=np.int32)
            columns[order] = np.arange(len(uniq), dtype=np.int32) + offset
            idf = np.empty(len(uniq), dtype=np.float32)
            idf[columns - offset] = (np.log((1.0 + n_docs) / (1.0 + df)) + 1.0).astype(np.float32)  # sklearn's smooth idf
            sorted_grams = [grams[i] for i in order]
            blocks.append(_Block(name, uniq, columns, idf, offset, sorted_grams))
            offset += len(uniq)
        return cls(settings, blocks, lexicon_hashes)

    # ---- persistence ------------------------------------------------------------------------------
    def arrays(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for block in self.blocks:
            out[f"{block.name}_hashes"] = block.hashes
            out[f"{block.name}_columns"] = block.columns
            out[f"{block.name}_idf"] = block.idf
        return out

    def vocabulary(self) -> dict[str, list[str]]:
        return {block.name: block.grams for block in self.blocks}

    @classmethod
    def from_arrays(cls, settings: FeatureSettings, arrays: dict[str, np.ndarray],
                    vocabulary: dict[str, list[str]]) -> FeatureExtractor:
        blocks, offset = [], 0
        for name in settings.blocks:
            idf = np.asarray(arrays[f"{name}_idf"], dtype=np.float32)
            blocks.append(_Block(name, np.asarray(arrays[f"{name}_hashes"], dtype=np.uint64),
                                 np.asarray(arrays[f"{name}_columns"], dtype=np.int32), idf, offset,
                                 vocabulary.get(name, [])))
            offset += len(idf)
        return cls(settings, blocks, np.empty(0, dtype=np.uint64))

    def analyzer(self, block: str):  # type: ignore[no-untyped-def]
        """The block's grams as strings, for checking this extractor against scikit-learn's TfidfVectorizer."""
        s = self.settings
        lexicon = self._lexicon_hashes

        def grams(text: str) -> list[str]:
            norm = normalise(text, digits_to_zero=s.digits_to_zero)
            lo, hi = s.char_ngrams if block == "char" else s.lex_lengths
            out = []
            for n in range(lo, hi + 1):
                for i in range(len(norm) - n + 1):
                    g = norm[i:i + n]
                    if block == "char" or _member(np.array([hash_string(g, _SEEDS["lex"])], dtype=np.uint64),
                                                  lexicon)[0]:
                        out.append(g)
            return out

        return grams


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    if not len(sorted_set):
        return np.zeros(len(values), dtype=bool)
    where = np.searchsorted(sorted_set, values)
    where[where == len(sorted_set)] = 0
    return sorted_set[where] == values
