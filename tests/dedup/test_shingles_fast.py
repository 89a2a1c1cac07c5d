"""The fast word hashing and sketch code of :mod:`finebooks.dedup.shingles` equals simple references.

The fast path works on 8/16-bit code units with lookup tables per distinct character, expands
multi-unit mappings (``ß`` -> ``ss``) by run copies or masks, reuses work arrays between calls,
hashes words from in-place prefix sums, and sorts only the kept part of a shingle sample. The
references here are the plain versions: string normalisation (``str.lower``, folds, NFKD) with a
Horner hash per word, and the straightforward numpy n-gram / unique / sample / OPH code.
"""

from __future__ import annotations

import random
import re
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import xxhash

from finebooks.dedup import shingles as sh
from finebooks.dedup.exact import text_digest
from finebooks.dedup.pages import page_hashes

M = 1 << 64
BASE = 0x100000001B3
GOLDEN = 0x9E3779B97F4A7C15
HYPHEN = re.compile(r"[-¬\u2010\u2011][ \t\r\v]*[\n\f][ \t\r\v\n\f]*")


def mix(h: int) -> int:
    h ^= h >> 30
    h = h * 0xBF58476D1CE4E5B9 % M
    h ^= h >> 27
    h = h * 0x94D049BB133111EB % M
    return h ^ (h >> 31)


def ref_word_hashes(text: str, fold: bool, min_len: int, seed: int = 0) -> np.ndarray:
    """String normalisation, then one Horner hash per word (letters: a-z and non-ASCII letters;
    an ASCII capital can only come from a compatibility mapping such as ™ -> TM and is no letter)."""
    text = HYPHEN.sub("", text).lower()
    for src, dst in sh._FOLD:
        text = text.replace(src, dst)
    text = unicodedata.normalize("NFKD", text)
    if fold:
        text = text.replace("f", "s")
    text = "".join(c for c in text if not 0x300 <= ord(c) <= 0x36F)
    words = "".join(c if "a" <= c <= "z" or (ord(c) > 127 and c.isalpha()) else " " for c in text).split()
    out = []
    for w in words:
        if len(w) < min_len:
            continue
        h = 0
        for ch in reversed(w):
            h = (h * BASE + ord(ch)) % M
        out.append(mix(h ^ (seed * GOLDEN % M)))
    return np.array(out, dtype=np.uint64)


def ref_page_hashes(text: str) -> np.ndarray:
    out = []
    for page in text.split("\f"):
        wh = ref_word_hashes(page, False, 1)
        out.append(0 if len(wh) == 0 else xxhash.xxh3_64_intdigest(wh.tobytes()) | 1)
    return np.array(out, dtype=np.uint64)


def ref_seeded(x: np.ndarray, seed: int) -> np.ndarray:
    return np.array([mix(int(v) ^ (seed * GOLDEN % M)) for v in x], dtype=np.uint64)


def ref_ngrams(wh: np.ndarray, n: int) -> np.ndarray:
    if len(wh) == 0:
        return np.zeros(0, dtype=np.uint64)
    n = min(n, len(wh))
    out = []
    for i in range(len(wh) - n + 1):
        acc = 0
        for k in range(n):
            acc = (acc * 0x100000001B3 + int(wh[i + k])) % M
        out.append(mix(acc ^ n))
    return np.unique(np.array(out, dtype=np.uint64))


def ref_sample(shingles: np.ndarray, size: int, seed: int):
    g = np.sort(ref_seeded(shingles, seed))
    if len(g) <= size:
        return g, 0
    s = int(np.floor(np.log2(len(g) / size)))
    while s > 0:
        kept = g[g < np.uint64(1 << (64 - s))]
        if len(kept) >= size:
            return kept, s
        s -= 1
    return g, 0


def ref_oph(shingles: np.ndarray, k: int, seed: int) -> np.ndarray:
    sig = [1 << 32] * k
    for h in ref_seeded(shingles, seed).tolist():
        b = ((h >> 32) * k % M) >> 32
        sig[b] = min(sig[b], h & 0xFFFFFFFF)
    return np.array(sig, dtype=np.uint64)


# characters that take every path: ASCII case and f/F, one-unit maps (é, ſ, Σ-free Greek),
# expansions (ß, œ, ™ -> "tm" with capitals from NFKD, İ, ½, ﬃ), deletions (soft hyphen, lone
# accents), non-letters, hyphens of every kind, page and line breaks
PIECES = ["the", "Fish", "fuch", "CAFÉ", "naïve", "ſhip", "Straße", "œuvre", "Æsop", "Brand™", "İstanbul",
          "½", "ﬃce", "co\u00adop", "e\u0301", "λόγος", "№5", "℃", "x²", "exam-\nple", "line¬\n end",
          "a\u2010\nb", "12", "--", "\f", "\n", " ", "...", "I", "a"]


def crafted(seed: int, n: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(PIECES) for _ in range(n))


@pytest.mark.parametrize("fold,min_len", [(True, 2), (False, 1)])
def test_word_hashes_equal_the_string_reference_on_crafted_text(fold, min_len):
    for seed in range(40):
        t = crafted(seed, random.Random(seed).randint(0, 400))
        assert np.array_equal(sh.word_hashes_of_text(t, fold, min_len), ref_word_hashes(t, fold, min_len)), seed
    # ASCII only, empty, no letters, one long word
    for t in ["", "12 34 -- ...", "The FOX fled", "a" * 5000, "Ab-\ncd EF-\fgh"]:
        assert np.array_equal(sh.word_hashes_of_text(t, fold, min_len), ref_word_hashes(t, fold, min_len)), t


def test_dense_and_sparse_expansions_and_deletions_take_both_copy_paths():
    sparse = "plain words " * 4000 + "Straße œuvre co\u00adop ﬃce"      # few expansions: run copies
    dense = "ßœ\u00ad™ " * 3000 + "Fuß"                                   # many: boolean masks
    for t in (sparse, dense, dense + sparse):
        for fold, min_len in ((True, 2), (False, 1)):
            assert np.array_equal(sh.word_hashes_of_text(t, fold, min_len), ref_word_hashes(t, fold, min_len))


def test_text_outside_the_bmp_and_the_final_sigma_take_the_wide_paths():
    for t in ["\U0001d504\U0001d51e\U0001d52f Straße 😀 naïve Fish", "ΣΟΦΟΣ λόγος Straße", "𝔄ß" * 500]:
        for fold, min_len in ((True, 2), (False, 1)):
            assert np.array_equal(sh.word_hashes_of_text(t, fold, min_len), ref_word_hashes(t, fold, min_len)), t


def test_reused_work_arrays_leave_no_stale_values():
    long_text, short = crafted(1, 3000), crafted(2, 20)
    first = sh.word_hashes_of_text(long_text)
    assert np.array_equal(sh.word_hashes_of_text(short), ref_word_hashes(short, True, 2))
    assert np.array_equal(sh.word_hashes_of_text(long_text), first)
    assert np.array_equal(first, ref_word_hashes(long_text, True, 2))


def test_blocks_cut_between_words_give_the_same_hashes(monkeypatch):
    t = crafted(3, 3000)
    whole = sh.word_hashes_of_text(t)
    pages = page_hashes(t)
    monkeypatch.setattr(sh, "_CHUNK", 512)
    sh._POWERS.clear()
    try:
        assert np.array_equal(sh.word_hashes_of_text(t), whole)
        assert np.array_equal(page_hashes(t), pages)
    finally:
        sh._POWERS.clear()


def test_page_hashes_and_text_digest_equal_the_references():
    for seed in range(30):
        t = crafted(100 + seed, random.Random(seed).randint(0, 300))
        assert np.array_equal(page_hashes(t), ref_page_hashes(t)), seed
        wh = ref_word_hashes(t, False, 1)
        assert text_digest(t) == ((xxhash.xxh3_128_hexdigest(wh.tobytes()), len(wh)) if len(wh) else (None, 0))
    assert np.array_equal(page_hashes("\f\f"), np.zeros(3, dtype=np.uint64))


def test_shingles_sample_and_signature_equal_the_references():
    for seed, n in ((0, 0), (1, 3), (2, 60), (3, 3000)):
        t = crafted(200 + seed, n)
        shingles, n_words = sh.shingle_hashes(t, 5)
        ref = ref_ngrams(ref_word_hashes(t, True, 2), 5)
        assert np.array_equal(shingles, ref) and n_words == len(ref_word_hashes(t, True, 2))
        for size in (4, 64, 1024):
            got, bits = sh.shingle_sample(shingles, size, 7)
            want, want_bits = ref_sample(ref, size, 7)
            assert bits == want_bits and np.array_equal(got, want), (seed, size)
        if len(ref) >= 128:  # (fewer shingles than bins: densified, covered in test_shingles.py)
            assert np.array_equal(sh.oph_signature(shingles, 128, 1), ref_oph(ref, 128, 1))


def _real_books(data: Path, k: int) -> list[str]:
    files = sorted((data / "raw_ocr" / "trove_nla_books").glob("*.txt"))
    texts = [f.read_text(encoding="utf-8", errors="replace") for f in files[:40]]
    texts.sort(key=lambda t: -sum(t.count(c) for c in "ßœæ™"))  # books with expansions first
    return [t[:60000] for t in texts[:k]]


def test_real_books_equal_the_references(shared_data):
    for t in _real_books(shared_data, 3):
        assert np.array_equal(sh.word_hashes_of_text(t), ref_word_hashes(t, True, 2))
        assert np.array_equal(sh.word_hashes_of_text(t, False, 1), ref_word_hashes(t, False, 1))
        assert np.array_equal(page_hashes(t), ref_page_hashes(t))
