"""OCR-tolerant shingles, one-permutation MinHash, band keys and shingle samples."""

from __future__ import annotations

import random

import numpy as np
import pytest

from finebooks.dedup import shingles as sh

WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "while", "seven", "wizards", "quietly", "judge", "boxing", "matches", "near", "old", "harbour", "walls", "and", "merchants", "count", "their", "silver", "coins", "before", "dawn", "breaks", "across", "grey", "northern", "hills", "where", "shepherds", "gather", "wandering", "sheep", "into", "stone", "folds"]


def text(n_words: int, seed: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n_words))


def test_normalisation_folds_ocr_variants_to_the_same_words():
    a = "The ſame Caſe: exam-\nple, 12 naïve Œuvres; ﬁne."
    b = "the same case example  naive oeuvres fine"
    assert sh.normalise_words(a) == sh.normalise_words(b) == [
        "the", "same", "case", "example", "naive", "oeuvres", "sine"]  # f/s folded
    assert sh.normalise_words("fuch a day", fold_confusions=True) == sh.normalise_words("such a day")[:1] + ["day"]
    assert sh.normalise_words("I a b cd", min_word_len=1) == ["i", "a", "b", "cd"]


def test_vectorised_word_hashes_equal_the_reference_on_mixed_scripts():
    sample = ("Ζεύς λόγος — naïve CAFÉ ½ x² 3rd line-\nend ſhip æsop\f" + text(3000, 1)) * 3
    ref = np.array([sh.word_hash(w) for w in sh.normalise_words(sample)], dtype=np.uint64)
    assert np.array_equal(sh.word_hashes_of_text(sample), ref)


def test_word_hashes_are_the_same_across_block_boundaries(monkeypatch):
    t = text(20000, 2)
    whole = sh.word_hashes_of_text(t)
    monkeypatch.setattr(sh, "_CHUNK", 4096)
    sh._POWERS.clear()
    assert np.array_equal(sh.word_hashes_of_text(t), whole)
    sh._POWERS.clear()


def test_shingles_ignore_layout_case_digits_and_punctuation():
    t = text(500, 3)
    words = t.split()
    messy = " ".join(f"{w.upper()}," if i % 7 == 0 else (f"\n{i} {w}" if i % 11 == 0 else w)
                     for i, w in enumerate(words)) + " 1234 ..."
    a, na = sh.shingle_hashes(t)
    b, nb = sh.shingle_hashes(messy)
    assert na == nb == 500 and len(a) > 100
    assert np.array_equal(a, b)
    c, _ = sh.shingle_hashes(t.replace("fox", "box"))
    assert not np.array_equal(a, c)


def test_oph_collision_rate_estimates_jaccard():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2**63, size=20000, dtype=np.int64).astype(np.uint64)
    other = base.copy()
    other[:8000] = rng.integers(0, 2**63, size=8000, dtype=np.int64).astype(np.uint64)
    a, b = np.unique(base), np.unique(other)
    true_j = len(np.intersect1d(a, b)) / len(np.union1d(a, b))
    sa, sb = sh.oph_signature(a, 512), sh.oph_signature(b, 512)
    assert abs(np.mean(sa == sb) - true_j) < 0.06
    assert np.all(sa < sh.EMPTY)


def test_densification_fills_empty_bins_consistently():
    few = np.unique(np.arange(1, 30, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    sig = sh.oph_signature(few, 128)
    assert np.all(sig < sh.EMPTY)
    assert np.array_equal(sig, sh.oph_signature(few.copy(), 128))
    assert np.all(sh.oph_signature(np.zeros(0, dtype=np.uint64), 16) == sh.EMPTY)


def test_band_keys_match_only_when_all_rows_match():
    sig = np.arange(32, dtype=np.uint64)
    other = sig.copy()
    other[5] += np.uint64(1)  # band 1 (rows 4..7) differs
    ka, kb = sh.band_keys(sig, 8, 4), sh.band_keys(other, 8, 4)
    assert [bool(x) for x in (ka == kb)] == [True, False, True, True, True, True, True, True]
    assert len(set(ka.tolist())) == 8  # equal values in different bands give different keys


def test_samples_nest_and_estimate_jaccard_and_containment():
    rng = np.random.default_rng(1)
    big = np.unique(rng.integers(0, 2**63, size=60000, dtype=np.int64).astype(np.uint64))
    part = big[: len(big) // 4]  # a quarter of the big book, e.g. one work of an anthology
    sb, bits_b = sh.shingle_sample(big, 1024)
    sp, bits_p = sh.shingle_sample(part, 1024)
    assert 1024 <= len(sb) < 2 * 1024 + 200 and bits_b > bits_p
    jac, cont, _ = sh.compare_samples(sb, bits_b, sp, bits_p)
    assert abs(jac - 0.25) < 0.05 and cont > 0.95
    same, _, _ = sh.compare_samples(sb, bits_b, sb, bits_b)
    assert same == 1.0
    small = np.unique(rng.integers(0, 2**63, size=300, dtype=np.int64).astype(np.uint64))
    s, bits = sh.shingle_sample(small, 1024)
    assert bits == 0 and len(s) == len(small)  # short books keep every shingle: exact comparison


@pytest.mark.parametrize("j,expected", [(0.0, 0.0), (1.0, 1.0)])
def test_lsh_probability_bounds(j, expected):
    assert sh.lsh_probability(j, 32, 4) == pytest.approx(expected)


def test_lsh_probability_of_the_default_bands():
    p = sh.lsh_probability([0.1, 0.36, 0.5, 0.72], 32, 4)
    assert p[0] < 0.01 and p[2] > 0.85 and p[3] > 0.999
