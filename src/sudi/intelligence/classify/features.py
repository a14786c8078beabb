"""Text → sparse TF-IDF vectors, with one definition for training and for single-message inference.

Two feature blocks, each sublinear TF-IDF and L2-normalised on its own (so neither drowns the other):

* ``char``: every character 1–3-gram of the normalised text. Character grams need no segmenter, are
  immune to segmentation errors, and behave the same on raw text and on pre-segmented text once the
  spaces are removed; place and unit names (向阳区, 光复路) are captured as written.
* ``lex``: the dictionary words (2–3 characters) occurring in the text. The lexicon is jieba's
  dictionary plus every multi-character token of pre-segmented training text. We do not run the
  jieba segmenter itself: it costs 2–5 ms per message on this hardware (measured), which alone
  would break the 2,000 predictions/s budget, while finding known words as substrings is vectorised
  and matched the quality of jieba word features in our validation (docs/benchmarks.md). It also
  treats raw and pre-segmented input alike. In effect the block gives the character grams that are
  real words a second, word-level weight. Words of 4–8 characters changed nothing measurable on our
  validation slices (their 3-grams carry them) and cost a quarter more lookups.

Normalisation: NFKC (full-width → half-width), lower case, whitespace and control characters
removed (so the spaces of pre-segmented input vanish), every digit → ``0`` (phone numbers, dates and
house numbers are noise as exact digits, but "a number was here" still says something).

A gram is identified by a 64-bit polynomial hash of its code points, computed with numpy for all
positions at once and looked up in an open-addressing hash table whose value is the gram's column in
each block (a 2- or 3-character word is both a character gram and a word): no Python loop over grams
anywhere. Distinct vocabulary grams are checked to have distinct hashes at fit time; a text gram
outside the vocabulary colliding with a vocabulary hash has a probability of about
|vocabulary| / 2^64 per gram.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.sparse as sp

_MASK = (1 << 64) - 1
_PRIME = 0x100000001B3  # FNV-64 prime: odd, so h ↦ h·P + c is a bijection for each c
_SEED = 0xCBF29CE484222325
_MIX = np.uint64(0x9E3779B97F4A7C15)
BLOCKS = ("char", "lex")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SEGMENTED_SPACE = re.compile(rf"(?<=[{_CJK}]) +(?=[{_CJK}])")
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_DROP = re.compile(r"[\s\x00-\x1f\x7f]+")
_DIGIT = re.compile(r"\d")
_DROP_CODE = np.uint32(0xFFFFFFFF)
_LOG_TF = np.concatenate([[0.0], 1.0 + np.log(np.arange(1, 4096))]).astype(np.float32)  # sublinear tf by count
_SLOW_CODE = np.uint32(0xFFFFFFFE)


@dataclass(frozen=True)
class FeatureSettings:
    char_ngrams: tuple[int, int] = (1, 3)
    lex_lengths: tuple[int, int] = (2, 3)
    min_df: int = 2
    digits_to_zero: bool = True
    # Caps bound a big history's model file and memory; the rarest grams go first.
    max_char_features: int = 400_000
    max_lex_features: int = 100_000

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSettings:
        lo, hi = data["char_ngrams"]
        wlo, whi = data["lex_lengths"]
        return cls(char_ngrams=(int(lo), int(hi)), lex_lengths=(int(wlo), int(whi)), min_df=int(data["min_df"]),
                   digits_to_zero=bool(data["digits_to_zero"]), max_char_features=int(data["max_char_features"]),
                   max_lex_features=int(data["max_lex_features"]))


def is_presegmented(text: str) -> bool:
    """True when Chinese characters are mostly separated by spaces (jieba-style tokenised text)."""
    han = len(_CJK_CHAR.findall(text))
    return han > 0 and len(_SEGMENTED_SPACE.findall(text)) / han > 0.12


def normalise_reference(text: str, *, digits_to_zero: bool = True) -> str:
    """The definition of the normalisation (slow: NFKC alone is ~0.1 µs a character)."""
    out = _DROP.sub("", unicodedata.normalize("NFKC", text or "").lower())
    return _DIGIT.sub("0", out) if digits_to_zero else out


@lru_cache(maxsize=2)
def _char_table(digits_to_zero: bool) -> np.ndarray:
    """Per-character result of the normalisation for the Basic Multilingual Plane, or a marker.

    The normalisation of a text is the concatenation of its characters' normalisations except where
    characters interact: canonical composition (combining marks, the second member of any two-character
    canonical decomposition, Hangul jamo) and context-dependent lower-casing (Σ); those characters, and any
    mapping to several characters, are marked 'slow' and send the whole text down the reference path."""
    composes = set()
    for cp in range(0x10000):
        parts = unicodedata.decomposition(chr(cp)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            composes.add(int(parts[1], 16))
    table = np.empty(0x10000, dtype=np.uint32)
    for cp in range(0x10000):
        ch = chr(cp)
        if (0xD800 <= cp <= 0xDFFF or cp in composes or unicodedata.combining(ch) or cp == 0x03A3
                or 0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F or 0xA960 <= cp <= 0xA97F
                or 0xD7B0 <= cp <= 0xD7FF):
            table[cp] = _SLOW_CODE
            continue
        out = normalise_reference(ch, digits_to_zero=digits_to_zero)
        nfkc = unicodedata.normalize("NFKC", ch)
        if len(out) > 1 or len(nfkc) > 1 or any(unicodedata.combining(c) for c in nfkc):
            table[cp] = _SLOW_CODE
        else:
            table[cp] = ord(out) if out else _DROP_CODE
    return table


def normalise_codes(text: str, *, digits_to_zero: bool = True) -> np.ndarray:
    """Code points (uint32) of the normalised text: a table lookup per character for ordinary text, the
    reference path otherwise; both give the same result (tested)."""
    raw = np.frombuffer((text or "").encode("utf-32-le"), dtype=np.uint32)
    if len(raw) and int(raw.max()) < 0x10000:
        mapped = _char_table(digits_to_zero)[raw]
        if not (mapped == _SLOW_CODE).any():
            return mapped[mapped != _DROP_CODE]
    return np.frombuffer(normalise_reference(text, digits_to_zero=digits_to_zero).encode("utf-32-le"),
                         dtype=np.uint32)


def normalise(text: str, *, digits_to_zero: bool = True) -> str:
    return normalise_codes(text, digits_to_zero=digits_to_zero).tobytes().decode("utf-32-le")


def hash_string(gram: str) -> int:
    """The hash of one (already normalised) gram, as the vectorised code computes it."""
    h = _SEED
    for ch in gram:
        h = (h * _PRIME + ord(ch)) & _MASK
    return h


def _level_hashes(codes: np.ndarray, max_n: int) -> list[np.ndarray]:
    """[hashes of all 1-grams, of all 2-grams, …]: h_n[i] = h_{n-1}[i]·P + codes[i+n-1] (mod 2^64)."""
    codes = codes.astype(np.uint64)
    out = []
    h = np.full(len(codes), _SEED, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for n in range(1, min(max_n, len(codes)) + 1):
            h = h[:len(codes) - n + 1] * np.uint64(_PRIME) + codes[n - 1:]
            out.append(h)
    return out


class HashIndex:
    """uint64 key → row of one or two int32 values, with vectorised lookups.

    Each key may live only in its home slot (load ≤ 1/4), where its key and its values sit side by side, so a
    lookup costs one memory access per key. The keys that found their home slot taken (about a tenth) are
    kept in a small sorted overflow and found by binary search; only a key whose home slot holds another key
    is searched there. Each step costs a handful of numpy calls whatever its size, and for one message that
    overhead and the cache misses, not the arithmetic, are the cost."""

    def __init__(self, keys: np.ndarray, values: np.ndarray) -> None:
        keys = np.asarray(keys, dtype=np.uint64)
        values = np.asarray(values, dtype=np.int32).reshape(len(keys), -1)
        self._width = values.shape[1]
        if self._width > 2:
            raise ValueError("a HashIndex holds one or two values per key")
        self._size = len(keys)
        # Both values of a key in one uint64, so a slot is one (key, values) pair of 16 bytes.
        packed = np.zeros((len(keys), 2), dtype=np.int32)
        packed[:, :self._width] = values
        packed_values = packed.view(np.uint64).ravel()
        bits = max(4, int(np.ceil(np.log2(max(1, len(keys)) * 4))))
        self._shift = np.uint64(64 - bits)
        table = np.zeros((1 << bits, 2), dtype=np.uint64)  # (key, values); key 0 marks an empty slot
        self._keys, self._packed = table[:, 0], table[:, 1]  # views into the one table
        nonzero = keys != 0
        self._zero_row = packed_values[~nonzero][:1]  # key 0 cannot live in the table
        keys, packed_values = keys[nonzero], packed_values[nonzero]
        home = self._slot(keys)
        homes, first = np.unique(home, return_index=True)  # per taken slot, the first key that wants it
        table[homes, 0], table[homes, 1] = keys[first], packed_values[first]
        displaced = np.ones(len(keys), dtype=bool)
        displaced[first] = False
        order = np.argsort(keys[displaced])
        self._overflow_keys = keys[displaced][order]
        self._overflow_packed = packed_values[displaced][order]

    def __len__(self) -> int:
        return self._size

    def _slot(self, h: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return (((h ^ (h >> np.uint64(31))) * _MIX) >> self._shift).astype(np.intp)

    def lookup(self, h: np.ndarray) -> np.ndarray:
        """Values of each key in ``h`` (shape len(h) × width), -1 where the key is unknown."""
        out = np.full((len(h), self._width), -1, dtype=np.int32)
        where, values = self.find(h)
        out[where] = values.T
        return out

    def find(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``h`` of the known keys, their values as width × found): the hot path's form, with no
        output the size of ``h`` and few numpy calls, since their overhead dominates at this size."""
        slot = self._slot(h)
        found = self._keys[slot]
        hit = found == h
        positions = np.flatnonzero(hit)
        packed = self._packed[slot[positions]]
        elsewhere = np.flatnonzero((found != 0) & ~hit)  # home taken by another key: maybe in the overflow
        if len(elsewhere) and len(self._overflow_keys):
            at = np.searchsorted(self._overflow_keys, h[elsewhere])
            at[at == len(self._overflow_keys)] = 0
            known = self._overflow_keys[at] == h[elsewhere]
            positions = np.concatenate([positions, elsewhere[known]])
            packed = np.concatenate([packed, self._overflow_packed[at[known]]])
        if len(self._zero_row) and (h == 0).any():
            zero = np.flatnonzero(h == 0)
            positions = np.concatenate([positions, zero])
            packed = np.concatenate([packed, np.repeat(self._zero_row, len(zero))])
        return positions, packed.view(np.int32).reshape(-1, 2)[:, :self._width].T


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


def _word_hashes(words: Sequence[str], lengths: tuple[int, int], digits_to_zero: bool) -> np.ndarray:
    """Hashes of the (normalised) words whose length is within ``lengths``, vectorised.

    The words are normalised as one text joined by a private-use character, which the normalisation keeps
    and nothing composes with, so each word comes out as if normalised alone at a fraction of the cost."""
    sep = 0xE000
    codes = normalise_codes(chr(sep).join(w.replace(chr(sep), "") for w in words), digits_to_zero=digits_to_zero)
    bounds = np.flatnonzero(codes == sep)
    starts = np.concatenate([[0], bounds + 1])
    sizes = np.concatenate([bounds, [len(codes)]]) - starts
    codes = codes.copy()
    codes[bounds] = 0  # grams are read only within a word, so the separator's value never matters
    out = []
    for n, h in enumerate(_level_hashes(codes, lengths[1]), start=1):
        these = (sizes == n) & (n >= lengths[0])
        out.append(h[starts[these]])
    return np.unique(np.concatenate(out)) if out else np.empty(0, dtype=np.uint64)


@lru_cache(maxsize=4)
def _jieba_lexicon_hashes(lengths: tuple[int, int], digits_to_zero: bool) -> np.ndarray:
    return _word_hashes(sorted(jieba_lexicon()), lengths, digits_to_zero)


@dataclass
class _Grams:
    """Grams of a batch of texts: hash, text index, start and length of each occurrence."""

    hashes: np.ndarray
    docs: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray


def _batch_grams(codes_by_doc: Sequence[np.ndarray], lengths: tuple[int, int], keep: HashIndex | None) -> _Grams:
    """Every n-gram (n in ``lengths``) of every normalised text, none crossing from one text to the next;
    with ``keep``, only grams whose hash it knows."""
    sizes = np.fromiter((len(c) for c in codes_by_doc), dtype=np.int64, count=len(codes_by_doc))
    codes = np.concatenate(codes_by_doc) if len(codes_by_doc) else np.empty(0, dtype=np.uint32)
    doc_of = np.repeat(np.arange(len(codes_by_doc), dtype=np.int64), sizes)
    start_of_doc = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    parts: list[_Grams] = []
    for n, h in enumerate(_level_hashes(codes, lengths[1]), start=1):
        if n < lengths[0]:
            continue
        idx = np.nonzero(doc_of[:len(h)] == doc_of[n - 1:])[0]  # gram inside one text
        hn = h[idx]
        if keep is not None:
            known = keep.lookup(hn)[:, 0] >= 0
            idx, hn = idx[known], hn[known]
        docs = doc_of[idx]
        parts.append(_Grams(hn, docs, idx - start_of_doc[docs], np.full(len(idx), n, dtype=np.int64)))
    if not parts:
        empty = np.empty(0, dtype=np.int64)
        return _Grams(np.empty(0, dtype=np.uint64), empty, empty, empty)
    return _Grams(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("hashes", "docs", "starts", "lengths")))


def _tfidf_rows(docs: np.ndarray, cols: np.ndarray, tf: np.ndarray, idf: np.ndarray, block_of_col: np.ndarray,
                n_docs: int, n_features: int) -> sp.csr_matrix:
    """CSR of sublinear TF-IDF from (text, column, count) triples, each (text, block) part scaled to unit length."""
    vals = (1.0 + np.log(tf.astype(np.float64))) * idf[cols]
    part = docs * len(BLOCKS) + block_of_col[cols]
    norms = np.sqrt(np.bincount(part, weights=vals * vals, minlength=n_docs * len(BLOCKS)))
    vals = vals / norms[part]
    matrix = sp.csr_matrix((vals.astype(np.float32), (docs, cols)), shape=(n_docs, n_features), dtype=np.float32)
    matrix.sum_duplicates()
    matrix.sort_indices()
    # liblinear (through scikit-learn) refuses 64-bit indices, which scipy may pick on its own.
    matrix.indices = matrix.indices.astype(np.int32, copy=False)
    matrix.indptr = matrix.indptr.astype(np.int32, copy=False)
    return matrix


def _unique_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(values, return_counts=True) without its generality, which costs half the hot path."""
    if not len(values):
        return values, np.empty(0, dtype=np.int64)
    s = np.sort(values)
    starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    return s[starts], np.diff(np.append(starts, len(s)))


class FeatureExtractor:
    """Fitted vocabulary and idf. ``transform_one`` is the single-message hot path, ``transform`` the batch
    path; both give the same vectors as scikit-learn's TfidfVectorizer on the same grams (tested)."""

    def __init__(self, settings: FeatureSettings, hashes: dict[str, np.ndarray], idf: dict[str, np.ndarray],
                 grams: dict[str, list[str]]) -> None:
        self.settings = settings
        self.hashes = hashes  # per block, by column within the block
        self.idf_by_block = idf
        self.grams = grams  # per block, by column within the block (for explanations)
        sizes = [len(hashes[b]) for b in BLOCKS]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.n_features = int(self.offsets[-1])
        self.idf = np.concatenate([idf[b] for b in BLOCKS]).astype(np.float64)
        self.idf32 = self.idf.astype(np.float32)
        self.block_of_col = np.repeat(np.arange(len(BLOCKS), dtype=np.intp), sizes)
        keys = np.concatenate([hashes[b] for b in BLOCKS])
        columns = np.full((len(keys), len(BLOCKS)), -1, dtype=np.int64)
        for k in range(len(BLOCKS)):
            columns[self.offsets[k]:self.offsets[k + 1], k] = np.arange(self.offsets[k], self.offsets[k + 1])
        # A gram in both blocks has one key and both columns.
        keys, inverse = np.unique(keys, return_inverse=True)
        merged = np.full((len(keys), len(BLOCKS)), -1, dtype=np.int64)
        for k in range(len(BLOCKS)):
            mine = columns[:, k] >= 0
            merged[inverse[mine], k] = columns[mine, k]
        self.index = HashIndex(keys, merged.astype(np.int32))
        self._max_n = max(settings.char_ngrams[1], settings.lex_lengths[1])

    def codes(self, text: str) -> np.ndarray:
        return normalise_codes(text, digits_to_zero=self.settings.digits_to_zero)

    def normalise(self, text: str) -> str:
        return normalise(text, digits_to_zero=self.settings.digits_to_zero)

    def transform_one(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(columns, values) of one text's vector; columns unique, in no particular order."""
        levels = _level_hashes(self.codes(text), self._max_n)
        if not levels:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float32)
        # Counting distinct hashes before the lookup both gives tf and spares the lookup of repeats;
        # distinct hashes have distinct columns, so no second de-duplication is needed.
        hashes, tf = _unique_counts(np.concatenate(levels))
        where, columns = self.index.find(hashes)
        # Both blocks at once (fewer numpy calls, which dominate at this size): char columns, then lex columns.
        cols = columns.ravel()
        counts = np.tile(tf[where], len(columns))
        known = cols >= 0
        n_first = int(np.count_nonzero(known[:len(where)]))
        cols, counts = cols[known], counts[known]
        if not len(cols):
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float32)
        logs = _LOG_TF[counts] if counts.max() < len(_LOG_TF) else (1.0 + np.log(counts)).astype(np.float32)
        vals = logs * self.idf32[cols]
        for part in (vals[:n_first], vals[n_first:]):  # views: each block scaled to unit length in place
            if len(part):
                part /= np.sqrt(np.dot(part, part))
        return cols, vals

    def transform(self, texts: Sequence[str], *, chunk: int = 2000) -> sp.csr_matrix:
        """Vectors of many texts at once (vectorised over the whole batch, in chunks to bound memory)."""
        parts = []
        for at in range(0, len(texts), chunk):
            codes = [self.codes(t) for t in texts[at:at + chunk]]
            grams = _batch_grams(codes, (1, self._max_n), None)
            found = self.index.lookup(grams.hashes)
            docs = np.concatenate([grams.docs[found[:, k] >= 0] for k in range(len(BLOCKS))])
            cols = np.concatenate([found[found[:, k] >= 0, k] for k in range(len(BLOCKS))]).astype(np.int64)
            key, tf = _unique_counts(docs * self.n_features + cols)
            parts.append(_tfidf_rows(key // self.n_features, key % self.n_features, tf, self.idf, self.block_of_col,
                                     len(codes), self.n_features))
        if not parts:
            return sp.csr_matrix((0, self.n_features), dtype=np.float32)
        matrix = sp.vstack(parts, format="csr")
        matrix.indices = matrix.indices.astype(np.int32, copy=False)
        matrix.indptr = matrix.indptr.astype(np.int32, copy=False)
        return matrix

    def gram(self, column: int) -> str:
        block = int(self.block_of_col[column])
        return self.grams[BLOCKS[block]][column - int(self.offsets[block])]

    # ---- fitting ----------------------------------------------------------------------------------
    @classmethod
    def fit_transform(cls, texts: Sequence[str], settings: FeatureSettings | None = None
                      ) -> tuple[FeatureExtractor, sp.csr_matrix]:
        """Learn vocabulary and idf from ``texts`` and return them with the texts' matrix, in one pass."""
        settings = settings or FeatureSettings()
        if not texts:
            raise ValueError("no texts to fit")
        codes = [normalise_codes(t, digits_to_zero=settings.digits_to_zero) for t in texts]
        lexicon = _jieba_lexicon_hashes(settings.lex_lengths, settings.digits_to_zero)
        # Tokens of pre-segmented history are the district's own words (place and unit names).
        own = {w for text in texts if is_presegmented(text) for w in text.split() if len(w) >= 2}
        if own:
            lexicon = np.union1d(lexicon, _word_hashes(sorted(own), settings.lex_lengths, settings.digits_to_zero))
        lexicon_index = HashIndex(lexicon, np.zeros(len(lexicon), dtype=np.int32))

        n_docs = len(codes)
        hashes: dict[str, np.ndarray] = {}
        idf: dict[str, np.ndarray] = {}
        grams_by_block: dict[str, list[str]] = {}
        pairs = []  # per block: (text, column within block or -1, count)
        for block, lengths, cap in (("char", settings.char_ngrams, settings.max_char_features),
                                    ("lex", settings.lex_lengths, settings.max_lex_features)):
            g = _batch_grams(codes, lengths, lexicon_index if block == "lex" else None)
            uniq, first, inverse = np.unique(g.hashes, return_index=True, return_inverse=True)
            width = max(1, len(uniq))
            key, tf = _unique_counts(g.docs * width + inverse)  # (text, gram) pairs
            pair_doc, pair_gram = key // width, key % width
            df = np.bincount(pair_gram, minlength=len(uniq))
            keep = df >= settings.min_df
            if keep.sum() > cap:  # most frequent first; the hash breaks ties so input order does not matter
                chosen = np.zeros(len(uniq), dtype=bool)
                chosen[np.lexsort((uniq, -df))[:cap]] = True
                keep &= chosen
            kept = np.nonzero(keep)[0]
            grams = [codes[d][s:s + n].tobytes().decode("utf-32-le")
                     for d, s, n in zip(g.docs[first[kept]].tolist(), g.starts[first[kept]].tolist(),
                                        g.lengths[first[kept]].tolist(), strict=True)]
            if len(set(grams)) != len(grams):
                raise RuntimeError("hash collision in the vocabulary")  # ~2^-40 for a large vocabulary
            order = sorted(range(len(kept)), key=grams.__getitem__)  # columns in gram order: stable, readable files
            column_of = np.full(len(uniq), -1, dtype=np.int64)
            column_of[kept[order]] = np.arange(len(kept))
            hashes[block] = uniq[kept[order]]
            idf[block] = (np.log((1.0 + n_docs) / (1.0 + df[kept[order]])) + 1.0).astype(np.float32)  # sklearn smooth
            grams_by_block[block] = [grams[i] for i in order]
            pairs.append((pair_doc, column_of[pair_gram], tf))
        extractor = cls(settings, hashes, idf, grams_by_block)
        docs_all, cols_all, tf_all = [], [], []
        for (pair_doc, col, tf), offset in zip(pairs, extractor.offsets[:-1], strict=True):
            ok = col >= 0
            docs_all.append(pair_doc[ok])
            cols_all.append(col[ok] + offset)
            tf_all.append(tf[ok])
        matrix = _tfidf_rows(np.concatenate(docs_all), np.concatenate(cols_all), np.concatenate(tf_all),
                             extractor.idf, extractor.block_of_col, n_docs, extractor.n_features)
        return extractor, matrix

    @classmethod
    def fit(cls, texts: Sequence[str], settings: FeatureSettings | None = None) -> FeatureExtractor:
        return cls.fit_transform(texts, settings)[0]

    # ---- persistence ------------------------------------------------------------------------------
    def arrays(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for block in BLOCKS:
            out[f"{block}_hashes"] = self.hashes[block]
            out[f"{block}_idf"] = self.idf_by_block[block]
        return out

    @classmethod
    def from_arrays(cls, settings: FeatureSettings, arrays: dict[str, np.ndarray],
                    grams: dict[str, list[str]]) -> FeatureExtractor:
        return cls(settings, {b: np.asarray(arrays[f"{b}_hashes"], dtype=np.uint64) for b in BLOCKS},
                   {b: np.asarray(arrays[f"{b}_idf"], dtype=np.float32) for b in BLOCKS},
                   {b: list(grams.get(b, [])) for b in BLOCKS})

    def analyzer(self, block: str):  # type: ignore[no-untyped-def]
        """The block's grams of a text as strings, one per occurrence, for scikit-learn's TfidfVectorizer:
        the tests check this extractor against it. Slow (Python loops); never used in production."""
        lo, hi = self.settings.char_ngrams if block == "char" else self.settings.lex_lengths
        known = set(self.grams["lex"]) if block == "lex" else None

        def grams(text: str) -> list[str]:
            norm = self.normalise(text)
            out = [norm[i:i + n] for n in range(lo, hi + 1) for i in range(len(norm) - n + 1)]
            return out if known is None else [g for g in out if g in known]

        return grams
