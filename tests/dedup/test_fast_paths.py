"""The fast paths of the dedup hashing equal their string references (so dedup decisions are unchanged).

* :func:`~finebooks.dedup.shingles.word_hashes_of_text` maps case, folds and NFKD per distinct
  non-ASCII character instead of over the whole string;
* :func:`~finebooks.dedup.pages.page_hashes` hashes all pages of a book in one pass;
* :class:`~finebooks.dedup.pages.RepeatedPageRemover` reuses the page hashes that
  :class:`~finebooks.dedup.pages.PageHashRecorder` wrote instead of hashing every page again.
"""

from __future__ import annotations

import random

import numpy as np
import xxhash
from datatrove.data import Document

from finebooks.dedup import shingles as sh
from finebooks.dedup.pages import PageHashRecorder, RepeatedPageFinder, RepeatedPageRemover, page_hashes

# OCR-ish characters: case, long-s, ligatures, accents (precomposed and combining), final sigma,
# soft and other hyphens, a dotted capital I (two characters in lower case), fractions, marks that
# NFKD reorders, page breaks and line ends around hyphens
ALPHABET = list("abcfFXYZ  \n\n\f\f-\t.,1@[`{") + list(
    "ſﬁﬃæÆÉéΣσςΟΔ\u0301\u0327İ\u00adßẞＦK½\u0344\u05b0ǅ¬\u2010\u2011’")


def reference_words(text: str, fold_confusions: bool, min_word_len: int) -> np.ndarray:
    return np.array([sh.word_hash(w) for w in sh.normalise_words(text, fold_confusions, min_word_len)],
                    dtype=np.uint64)


def reference_page_hashes(text: str) -> np.ndarray:
    out = []
    for page in text.split("\f"):
        wh = reference_words(page, False, 1)
        out.append(0 if len(wh) == 0 else xxhash.xxh3_64_intdigest(wh.tobytes()) | 1)
    return np.array(out, dtype=np.uint64)


def random_texts(n: int, seed: int):
    rng = random.Random(seed)
    for i in range(n):
        pool = ALPHABET if i % 2 else [c for c in ALPHABET if c != "Σ"]  # with and without the string path
        yield "".join(rng.choice(pool) for _ in range(rng.randint(0, 40)))


def test_word_hashes_equal_the_string_reference_on_random_ocr_text():
    for t in random_texts(3000, 5):
        for fold, min_len in ((True, 2), (False, 1)):
            assert np.array_equal(sh.word_hashes_of_text(t, fold, min_len), reference_words(t, fold, min_len)), \
                (repr(t), fold, min_len)


def test_page_hashes_equal_hashing_each_page_alone():
    for t in random_texts(3000, 6):
        assert np.array_equal(page_hashes(t), reference_page_hashes(t)), repr(t)
    # a hyphen at a page end is not joined to the next page's first word
    assert page_hashes("exam-\n\fple")[0] == page_hashes("exam")[0]
    assert page_hashes("exam-\fple")[1] == page_hashes("ple")[0]


def test_page_hashes_are_the_same_across_block_boundaries(monkeypatch):
    rng = random.Random(3)
    words = ["the", "Caſe", "naïve", "ﬁne", "œuvre", "exam-\nple", "12", "Straße"]
    text = "\f".join(" ".join(rng.choice(words) for _ in range(rng.randint(0, 300))) for _ in range(60))
    whole = page_hashes(text)
    monkeypatch.setattr(sh, "_CHUNK", 1024)
    sh._POWERS.clear()
    assert np.array_equal(page_hashes(text), whole)
    assert np.array_equal(whole, reference_page_hashes(text))


def test_the_remover_reuses_recorded_page_hashes_and_falls_back_when_they_do_not_match(tmp_path):
    notice = "Digitised by the Library. Not for resale."
    docs = [Document(text="\f".join([notice, f"the {name} story " * 30, ""]), id=f"b/{i}")
            for i, name in enumerate(["first", "second", "third", "fourth"])]
    work = tmp_path / "work"
    list(PageHashRecorder(str(work)).run(iter(docs), 0, 1))
    list(RepeatedPageFinder(str(work), str(tmp_path / "rep"), "r", min_books=3).run(None, 0, 1))

    def remove(rank, books):
        step = RepeatedPageRemover(str(work))
        out = list(step.run(iter([Document(text=d.text, id=d.id) for d in books]), rank, 1))
        return [(d.text, d.metadata) for d in out], step.stats.stats

    fast, fast_stats = remove(0, docs)
    slow, slow_stats = remove(1, docs)  # no page_hashes file for rank 1: pages are hashed again
    assert fast == slow
    assert "pages_rehashed" not in fast_stats and slow_stats["pages_rehashed"].total == 12
    assert fast[0][0] == "\f" + docs[0].text.split("\f")[1] + "\f"
    assert fast[0][1]["repeated_pages"] == [0, 2]
    shuffled, stats = remove(0, docs[::-1])  # other books at those positions: hashed again, same result
    assert shuffled == slow[::-1] and stats["pages_rehashed"].total == 12
