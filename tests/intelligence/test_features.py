"""The feature extractor: normalisation, hashing, lookup and TF-IDF equal their slow definitions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from sudi.intelligence.classify.features import (
    FeatureExtractor,
    FeatureSettings,
    HashIndex,
    hash_string,
    is_presegmented,
    normalise,
    normalise_reference,
)
from tests.intelligence.synthetic import corpus

# Characters that exercise every branch of the fast normaliser: CJK, ASCII, full-width forms, digits of
# several scripts, whitespace and controls, combining marks, Hangul jamo, Σ, ligatures, circled numbers.
ALPHABET = ("物业小区向阳区路灯ＡＢｃ１２３abcXYZ0９٣ 　\t\n\x00\x07，。！？()（）"
            "\u0301\u0308é\u1100\u1161\u11a8\u3131가ΣσςİﬁⅫ①㈠№¨\u00a0\ufeff\ue000")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=40), st.booleans())
def test_fast_normalisation_equals_the_reference(text: str, digits: bool) -> None:
    assert normalise(text, digits_to_zero=digits) == normalise_reference(text, digits_to_zero=digits)


def test_normalisation_examples() -> None:
    assert normalise("Ａ市 １２３号\n路灯，不亮") == "a市000号路灯,不亮"
    assert normalise("物业 收费 太高") == "物业收费太高"  # pre-segmented and raw text meet
    assert normalise("") == ""


def test_presegmented_detection() -> None:
    assert is_presegmented("市 西湖 建筑 集团 占 道 施工 安全隐患")
    assert not is_presegmented("A市西湖建筑集团占道施工有安全隐患，请 尽快处理")
    assert not is_presegmented("hello world")


def test_hash_index_finds_exactly_the_keys() -> None:
    rng = np.random.default_rng(1)
    keys = np.unique(rng.integers(0, 2**63, 5000, dtype=np.uint64))
    keys[0] = 0  # the empty-slot marker must still work as a key
    values = np.arange(len(keys), dtype=np.int32)
    index = HashIndex(keys, values)
    queries = np.concatenate([keys, rng.integers(1, 2**63, 5000, dtype=np.uint64)])
    found = index.lookup(queries)[:, 0]
    expected = {int(k): int(v) for k, v in zip(keys, values, strict=True)}
    assert [int(f) for f in found] == [expected.get(int(q), -1) for q in queries]


def test_grams_are_hashed_as_their_strings() -> None:
    extractor = FeatureExtractor.fit(["物业收费太高", "物业收费太高了"], FeatureSettings(min_df=1))
    for block in ("char", "lex"):
        for k, gram in enumerate(extractor.grams[block]):
            assert int(extractor.hashes[block][k]) == hash_string(gram)


@pytest.fixture(scope="module")
def fitted() -> tuple[FeatureExtractor, list[str], object]:
    raw, _ = corpus(20, seed=3)
    seg, _ = corpus(20, seed=4, segmented=True)
    texts = raw + seg + ["Ａ市１２号 路灯", "", "ｘ"]
    extractor, matrix = FeatureExtractor.fit_transform(texts)
    return extractor, texts, matrix


def test_matrix_equals_scikit_learn(fitted) -> None:  # type: ignore[no-untyped-def]
    extractor, texts, matrix = fitted
    for k, block in enumerate(("char", "lex")):
        vectorizer = TfidfVectorizer(analyzer=extractor.analyzer(block), sublinear_tf=True, min_df=2)
        reference = vectorizer.fit_transform(texts).toarray()
        assert sorted(vectorizer.vocabulary_) == extractor.grams[block]  # same grams, in the same column order
        ours = matrix[:, extractor.offsets[k]:extractor.offsets[k + 1]].toarray()
        np.testing.assert_allclose(ours, reference, atol=1e-6)


def test_single_batch_and_fit_paths_agree(fitted) -> None:  # type: ignore[no-untyped-def]
    extractor, texts, matrix = fitted
    batch = extractor.transform(texts).toarray()
    np.testing.assert_allclose(batch, matrix.toarray(), atol=1e-6)
    for i, text in enumerate(texts):
        cols, vals = extractor.transform_one(text)
        assert len(set(cols.tolist())) == len(cols)
        row = np.zeros(extractor.n_features, dtype=np.float32)
        row[cols] = vals
        np.testing.assert_allclose(row, batch[i], atol=1e-6)


def test_lexicon_words_of_presegmented_history_are_learnt() -> None:
    # "杏林湾" is not in jieba's dictionary; given as a token it becomes a word feature.
    extractor = FeatureExtractor.fit(["杏林湾 小区 漏水", "杏林湾 电梯 故障"], FeatureSettings(min_df=2))
    assert "杏林湾" in extractor.grams["lex"]
    assert "小区" not in extractor.grams["lex"]  # df 1 < min_df
