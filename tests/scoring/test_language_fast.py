"""The vectorised py3langid path of LanguageScorer (``_FastNaiveBayes``) against plain references.

The fast path walks py3langid's byte automaton with numpy gathers over transition *rows* (with
1- and 2-byte lookup tables and a fixpoint over growing windows), counts ``(text, feature)``
keys with one hash pass, gathers the ``nb_ptc`` rows for all texts at once, and runs the softmax
row-wise. Each step is compared here with a straightforward reference: a byte-by-byte walk of
the automaton written in this file, and py3langid's own ``classify`` (same language, same
probability, bit for bit), on crafted edge cases and on chunks of real books.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from finebooks.scoring.language import LanguageScorer, _FastNaiveBayes

LANGS = ["en", "fr", "de", "nl", "it", "es", "pt", "la"]
EDGE = [
    "",
    " ",
    "a",
    "ab",
    "abc",
    "é",
    "\x00",
    "\x00\x00\x00",
    "HELLO WORLD, ALL IN CAPITALS",
    "ſ ﬁ é \ud800 lone surrogate",
    "日本語のテキストです",
    "Ελληνικά κείμενα",
    "\U0001f600 emoji \U0001d400",
    "1234 5678 .... ----",
    "the the the the the",
    "a" * 5000,
    "ab " * 3000,
    "\xff\xfe",
    "Ǆ ǅ ǆ",
]


def _walk(fast: _FastNaiveBayes, data: bytes) -> list[int]:
    """Reference: py3langid's automaton walked one byte at a time from the start state."""
    nextmove = fast.ident.tk_nextmove
    rowbase = [r << 8 for r in fast.ident.tk_row]
    output = fast.ident.tk_output
    state, out = 0, []
    for byte in data:
        state = nextmove[rowbase[state] + byte]
        out.append(output[state])
    return out


def _mixed_texts(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    prose = (
        "The old man walked slowly along the river, thinking of the long winter that was coming. "
        "Le vieil homme marchait lentement le long de la rivière, en pensant au long hiver. "
        "Der alte Mann ging langsam den Fluß entlang und dachte an den langen Winter. "
        "Gallia est omnis divisa in partes tres. Ὁ ἄνθρωπος. Ñandú, ação, œuvre, ſeen. "
    ) * 10
    out = list(EDGE)
    for _ in range(n):
        start = rnd.randrange(len(prose))
        piece = prose[start : start + rnd.choice([1, 2, 3, 5, 40, 400, 2500])]
        if rnd.random() < 0.15:
            piece = piece.upper()
        if rnd.random() < 0.1:
            piece = "".join(chr(rnd.randrange(1, 0x3000)) for _ in range(rnd.randrange(1, 60)))
        out.append(piece)
    rnd.shuffle(out)
    return out


@pytest.fixture(scope="module")
def scorer():
    s = LanguageScorer(languages=LANGS)
    assert s.identifier is not None  # loads the model and its fast path
    assert isinstance(s._fast, _FastNaiveBayes)
    return s


def test_features_equal_the_byte_by_byte_walk(scorer):
    fast = scorer._fast
    texts = _mixed_texts(150, seed=2)
    encoded = [fast.encode(t) for t in texts]
    sizes = [len(e) for e in encoded]
    starts = np.cumsum([0] + sizes[:-1])
    data = b"".join(encoded)
    expected = [f for e in encoded for f in _walk(fast, e)]  # each text restarts from the start state
    assert fast.features(data, starts[np.asarray(sizes) > 0]).tolist() == expected
    # one text, no restarts; and texts of 1 and 2 bytes next to each other
    assert fast.features(data, np.array([0])).tolist() == _walk(fast, data)
    tiny = [b"a", b"b", b"cd", b"e", b"\xc3\xa9", b"x"]
    starts = np.cumsum([0] + [len(t) for t in tiny[:-1]])
    assert fast.features(b"".join(tiny), starts).tolist() == [f for t in tiny for f in _walk(fast, t)]
    assert fast.features(b"", np.array([], dtype=np.intp)).tolist() == []


@pytest.mark.parametrize("seed", [0, 1])
def test_classify_many_equals_py3langid_bit_for_bit(scorer, seed):
    ident = scorer.identifier
    texts = _mixed_texts(120, seed)
    expected = [(lang, float(prob)) for lang, prob in map(ident.classify, texts)]
    assert scorer.classify_many(texts) == expected
    # the same text gives the same result alone and in any batch
    assert [scorer.classify_many([t])[0] for t in texts[:25]] == expected[:25]
    assert scorer.classify_many(texts[::-1]) == expected[::-1]
    assert scorer.classify_many([]) == []


def test_counts_beyond_the_log1p_table(scorer):
    """A feature seen more often than the precomputed log1p table covers takes np.log1p itself."""
    fast = scorer._fast
    big = "e" * (len(fast.log1p_counts) + 10)
    assert scorer.classify_many([big, "a b"]) == [
        scorer.identifier.classify(big),
        scorer.identifier.classify("a b"),
    ]
    counts = np.arange(len(fast.log1p_counts))
    assert np.array_equal(fast.log1p_counts[counts], np.log1p(counts.astype(np.float32)))


@pytest.mark.parametrize("norm_probs, min_confidence", [(False, None), (True, 0.9)])
def test_other_identifier_settings(norm_probs, min_confidence):
    """Raw scores (no softmax) and a confidence floor ("und") follow py3langid too."""
    from py3langid import langid

    ident = langid.LanguageIdentifier.from_modelpath(
        langid.MODEL_DIR / langid.MODEL_FILE, norm_probs=norm_probs, min_confidence=min_confidence
    )
    ident.set_languages(["en", "fr", "de", "la"])
    fast = _FastNaiveBayes.wrap(ident)
    assert fast is not None
    texts = _mixed_texts(60, seed=3)
    got = fast.classify_many(texts)
    assert got == [(lang, float(prob)) for lang, prob in map(ident.classify, texts)]
    if min_confidence is not None:
        assert any(lang == "und" for lang, _ in got)


def test_rowwise_softmax_reductions_equal_per_row_calls():
    """The row-wise softmax relies on numpy's per-row sum and exp giving the bits of a per-text
    call; checked for the class counts in use (8 languages, all 97)."""
    rng = np.random.default_rng(0)
    for classes in (8, 97):
        x = (rng.standard_normal((500, classes)) * 30).astype(np.float32)
        x -= x.max(axis=1, keepdims=True)
        assert np.array_equal(np.exp(x), np.stack([np.exp(r.copy()) for r in x]))
        e = np.exp(x)
        assert np.array_equal(e.sum(axis=1), np.array([r.copy().sum() for r in e], dtype=np.float32))


@pytest.mark.realdata
def test_real_book_chunks_equal_py3langid(shared_data, scorer):
    files = sorted((shared_data / "raw_ocr" / "trove_nla_books").glob("*.txt"))[:6]
    if not files:
        pytest.skip("no trove books in the shared data")
    ident = scorer.identifier
    for path in files:
        chunks = scorer.chunks(path.read_text(encoding="utf-8", errors="replace"))
        assert chunks, path.name
        assert scorer.classify_many(chunks) == [
            (lang, float(p)) for lang, p in map(ident.classify, chunks)
        ], path.name


def test_large_batches_use_wide_keys(scorer):
    """Past ~21k texts in one call the (text, feature) keys no longer fit int32; results stay equal."""
    fast = scorer._fast
    n = 2**31 // (fast.n_features + 1) + 5
    texts = ["the cat", "le chat", "", "der Hund", "gallia est"] * (n // 5 + 1)
    got = scorer.classify_many(texts)
    ident = scorer.identifier
    expected = {t: ident.classify(t) for t in set(texts)}
    assert got == [expected[t] for t in texts]
