"""BookHeuristicsScorer's fast paths give exactly what the plain definitions give.

The scorer classifies characters with one numpy table lookup, sums per-page counts over page
ranges, cuts letter words with ``str.split`` after blanking non-letters, splits paragraphs with
``str.split`` when it can, and counts n-grams as integers. Here a plain reference scorer, written
with the regular expressions and ``str`` / ``Counter`` expressions the signals are defined by (the
stage as it was before those fast paths), must give the very same metadata (exact equality, not a
tolerance) on awkward crafted text, on random text and on real books from ``../shared/data``.
"""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest
from datatrove.data import Document

from finebooks.scoring import book_heuristics as bh
from finebooks.scoring.book_heuristics import BookHeuristicsScorer

LETTER_WORD = re.compile(r"[^\W\d_]+")
NO_LETTER_TOKEN = re.compile(r"(?<!\S)(?:[\d_]|[^\w\s])+(?!\S)")
NON_WORD_CHAR = re.compile(r"[^\w\s]|_")
SYMBOL = re.compile(r"[#{}\[\]<>|\\^~_@*=+%$]|\.\.\.|…")
PARA_SPLIT = re.compile(r"\n[ \t]*\n|\f")
GARBAGE_HINT = ".,;:'`\"-~_^|/\\()!*"


# ---------------------------------------------------------------------------- plain reference
def ref_page_flag(s: BookHeuristicsScorer, page: str) -> bool | None:
    nonspace = len(page) - sum(page.count(c) for c in " \n\t\r\v")
    if nonspace <= 0 or not page.strip():
        return None
    if nonspace < s.page_min_chars:
        return False
    n_tokens = len(page.split())
    hint = sum(page.count(c) for c in GARBAGE_HINT)
    if hint / nonspace < 0.1 and nonspace / n_tokens >= 3.5:
        return False
    if len(NON_WORD_CHAR.findall(page)) / nonspace > s.page_max_symbol_share:
        return True
    return 1 - len(NO_LETTER_TOKEN.findall(page)) / n_tokens < s.page_min_alpha_words


def ref_dup_shares(chunks: list[str], min_chars: int) -> tuple[float, float]:
    seen: set[str] = set()
    n = dup = chars = dup_chars = 0
    for chunk in chunks:
        if len(chunk) < min_chars:
            continue
        n += 1
        chars += len(chunk)
        if chunk in seen:
            dup += 1
            dup_chars += len(chunk)
        else:
            seen.add(chunk)
    return (dup / n if n else 0.0), (dup_chars / chars if chars else 0.0)


def ref_top_ngram(words: list[str], n: int) -> float:
    total_chars = sum(len(w) for w in words)
    if len(words) < n or not total_chars:
        return 0.0
    gram, count = Counter(zip(*(words[i:] for i in range(n)))).most_common(1)[0]
    if count < 2:
        return 0.0
    return min(1.0, count * sum(len(w) for w in gram) / total_chars)


def ref_spaced(items: list, max_items: int, windows: int = 5) -> list:
    if len(items) <= max_items:
        return items
    size = max_items // windows
    step = (len(items) - size) / max(windows - 1, 1)
    return [x for i in range(windows) for x in items[int(i * step) : int(i * step) + size]]


def reference_metadata(s: BookHeuristicsScorer, text: str, meta: dict) -> dict:
    """The bh_ signals computed the plain way (one regex / str expression per signal)."""
    p, out = s.prefix, dict(meta)
    pages = text.split("\f")
    flags = [ref_page_flag(s, page) for page in pages]
    n_empty, n_garbage = flags.count(None), flags.count(True)
    out[p + "page_garbage"] = [f is True for f in flags]
    out[p + "empty_page_share"] = round(n_empty / len(flags), 4)
    out[p + "garbage_page_share"] = round(n_garbage / (len(flags) - n_empty), 4) if len(flags) > n_empty else 0.0
    if n_garbage and n_garbage < len(flags) - n_empty:
        text = "\f".join(page for page, f in zip(pages, flags) if f is not True)
    n_tokens = len(text.split())
    out[p + "n_words"] = n_tokens
    nonspace = len(text) - sum(text.count(c) for c in " \n\t\r\f\v")
    out[p + "mean_word_length"] = round(nonspace / n_tokens, 3) if n_tokens else 0.0
    out[p + "alpha_words_ratio"] = round(1 - len(NO_LETTER_TOKEN.findall(text)) / n_tokens, 4) if n_tokens else 0.0
    out[p + "symbol_word_ratio"] = round(len(SYMBOL.findall(text)) / n_tokens, 4) if n_tokens else 0.0
    if len(text) > s.sample_chars:
        size = s.sample_chars // 5
        step = (len(text) - size) / 4
        sample_text = "\n".join(text[int(i * step) : int(i * step) + size] for i in range(5))
    else:
        sample_text = text
    words = ref_spaced(LETTER_WORD.findall(sample_text), s.ngram_max_words * 100)
    rate, lang = s.stopword_rate(Counter(words), len(words), meta.get("language"), meta.get("languages"))
    out[p + "stopwords_per_1000"] = round(rate, 2)
    out[p + "stopword_language"] = lang
    lines = [line.strip() for line in text.split("\n")]
    out[p + "dup_line_share"], out[p + "dup_line_char_share"] = (
        round(x, 4) for x in ref_dup_shares(lines, s.min_line_chars)
    )
    paras = [para.strip() for para in PARA_SPLIT.split(text)]
    out[p + "dup_para_share"], out[p + "dup_para_char_share"] = (
        round(x, 4) for x in ref_dup_shares(paras, s.min_para_chars)
    )
    sample = [w.lower() for w in ref_spaced(words, s.ngram_max_words)]
    for n in s.ngram_sizes:
        out[f"{p}top_{n}gram_char_share"] = round(ref_top_ngram(sample, n), 4)
    return out


def assert_same_as_reference(s: BookHeuristicsScorer, text: str, meta: dict | None = None) -> None:
    meta = meta or {}
    doc = Document(text=text, id="b", metadata=dict(meta))
    s.score(doc)
    expected = reference_metadata(s, text, meta)
    assert doc.metadata.keys() == expected.keys(), repr(text[:200])
    diff = {k: (doc.metadata[k], expected[k]) for k in expected if doc.metadata[k] != expected[k]}
    assert not diff, (diff, repr(text[:200]))


# ------------------------------------------------------------------------------- text makers
PROSE = (
    "The old man walked slowly along the river, thinking of the long winter that was coming. "
    "Le vieil homme marchait lentement le long de la rivière, en pensant au long hiver. "
    "Der alte Mann ging langsam den Fluss entlang und dachte an den langen Winter, daß es kalt war. "
    "ΟΔΟΣ ΚΑΙ ΛΟΓΟΣ. Ἀρχὴ σοφίας. İSTANBUL İstanbul STRASSE Straße ǅemal ﬁne ﬂoor. "
)
ALPHABET = list("abcXYZ019_-.,;:'|/\\()!*#@ \n\n\n\t\r\v\u00a0\u2003\u3000éßſ…²½ΣσςİI") + [
    "\U0001F600", "\U0001D400", "\U00020000", "\ud800", "\udfff", "\f", "...", "\n \n", "\n\t\n", "\n\n", "\x1c",
]
MASH = ".,;:'-~_^|/\\()!*il1"


def random_text(rng: random.Random, n: int) -> str:
    out = []
    while sum(map(len, out)) < n:
        r = rng.random()
        if r < 0.45:
            start = rng.randrange(len(PROSE))
            piece = PROSE[start : start + rng.randrange(1, 200)]
            out.append(piece.upper() if rng.random() < 0.2 else piece)
        elif r < 0.7:
            out.append("".join(rng.choice(ALPHABET) for _ in range(rng.randrange(1, 30))))
        elif r < 0.85:
            out.append(" ".join("".join(rng.choice(MASH) for _ in range(rng.randint(1, 4))) for _ in range(12)))
        else:
            out.append(rng.choice(["\f", "\n\n", "\f\f", "\n \n", "\n", " ... ", "…", "1234 5678 "]))
    return "".join(out)


def prose_pages(n_pages: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    sentences = [s.strip() + "." for s in PROSE.split(".") if s.strip()]
    return ["\n\n".join(" ".join(rng.choice(sentences) for _ in range(6)) for _ in range(3)) for _ in range(n_pages)]


SCORERS = [
    BookHeuristicsScorer(),
    # small windows and samples: every text below takes the windowed and the spaced-sample paths
    BookHeuristicsScorer(sample_chars=400, ngram_max_words=40, ngram_sizes=(1, 2, 3, 5), min_line_chars=5,
                         min_para_chars=10, page_min_chars=10),
    # more sample words than ngram_max_words * 100: the stop-word sample is itself 5 runs of words,
    # and the n-gram sample's runs come from inside them (word numbers that are not consecutive)
    BookHeuristicsScorer(sample_chars=8000, ngram_max_words=10, ngram_sizes=(1, 2)),
]


# ------------------------------------------------------------------------------------- tests
EDGE = [
    "", " ", "\f", "\f\f", " \f\u00a0", "a", "\n\n", "\n \n", "word\fword word\f\f123 ...",
    "\U0001F600 emoji \U0001D400 math \U00020000 far", "lone \ud800 surrogate \udfff pair \ud83d\ude00 made",
    "ΟΔΟΣ ΟΔΟΣ ΟΔΟΣ λόγος ΛΟΓΟΣ", "İstanbul İSTANBUL istanbul Straße STRASSE", "\x00\x01\x1c\x1d\x1e\x1f",
    "1234 5678 .... ---- ....... … … ___", "line one\r\nline two\r\n\r\nline three", "\n\f\n" * 5, "DASS daß Dass dass DAß A a I i",
    "a\n \f \nb\n\t\nc", ".....\f.....\f.", "THE THE THE the The tHe",
]


@pytest.mark.parametrize("scorer", SCORERS, ids=["default", "small-windows", "word-windows"])
def test_crafted_edge_cases_equal_the_reference(scorer):
    for text in EDGE:
        for meta in ({}, {"language": "en"}, {"language": "la", "languages": {"la": 0.6, "en": 0.4}}):
            assert_same_as_reference(scorer, text, meta)


@pytest.mark.parametrize("scorer", SCORERS, ids=["default", "small-windows", "word-windows"])
def test_random_books_equal_the_reference(scorer):
    rng = random.Random(7)
    for i in range(60):
        text = random_text(rng, rng.choice([50, 500, 3000]))
        assert_same_as_reference(scorer, text, {"language": rng.choice(["en", "fr", "xx", None])})


def test_books_with_garbage_pages_and_long_text_equal_the_reference():
    """Garbage pages are removed before the book-level signals, which re-encodes the sample."""
    rng = random.Random(3)
    for seed in range(6):
        pages = prose_pages(40, seed)
        for at in rng.sample(range(40), 5):
            pages[at] = " ".join("".join(rng.choice(MASH) for _ in range(rng.randint(1, 4))) for _ in range(60))
        text = "\f".join(pages)
        assert any(BookHeuristicsScorer().page_is_garbage(p) for p in pages)
        for scorer in SCORERS:
            assert_same_as_reference(scorer, text, {"language": "en"})
            assert_same_as_reference(scorer, text.upper(), {})


def test_letter_runs_equal_findall_in_every_encoding_width():
    rng = random.Random(11)
    texts = EDGE + [random_text(rng, 400) for _ in range(80)]
    texts += ["plain ascii only, 123 words_here", "latin-1 café naïve", "bmp ΣΟΦΙΑ ∑ 中文", "astral \U0001D400bc"]
    widths = set()
    for text in texts:
        codes = bh._encode(text)
        widths.add(codes.itemsize)
        assert bh._letter_runs(codes, bh._classify(codes)) == LETTER_WORD.findall(text), repr(text)
    assert widths == {1, 2, 4}


def test_paragraph_split_equals_the_regex():
    rng = random.Random(5)
    pieces = ["a", "bc d", "\n", "\n\n", "\n \n", "\n\t \n", "\f", " ", "\t", "\n\f\n", "\r\n"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randrange(1, 40))) for _ in range(300)]
    for text in texts:
        assert bh._paragraphs(text) == PARA_SPLIT.split(text), repr(text)


def test_dup_shares_equal_the_loop():
    rng = random.Random(2)
    for _ in range(100):
        chunks = [rng.choice(["", "x" * 5, "y" * 40, "z" * 40 + "!", "w" * 70]) for _ in range(rng.randrange(0, 30))]
        for min_chars in (0, 30, 60):
            assert bh._dup_shares(chunks, min_chars) == ref_dup_shares(chunks, min_chars)


def test_top_ngram_ties_take_the_earliest_ngram_as_counter_does():
    # (a, bb) and (ccc, dddd) both occur twice; Counter.most_common keeps the first inserted
    words = ["a", "bb", "x", "ccc", "dddd", "a", "bb", "y", "ccc", "dddd", "z"]
    first = bh._top_ngram_char_shares(words, (2,))[2]
    assert first == ref_top_ngram(words, 2) == 2 * 3 / sum(map(len, words))
    swapped = ["ccc", "dddd", "x", "a", "bb", "ccc", "dddd", "y", "a", "bb", "z"]
    assert bh._top_ngram_char_shares(swapped, (2,))[2] == ref_top_ngram(swapped, 2) == 2 * 7 / sum(map(len, words))
    rng = random.Random(9)
    for _ in range(200):
        words = [rng.choice(["a", "bb", "ccc", "dddd", "ee", "f"]) for _ in range(rng.randrange(0, 40))]
        # sizes up to 12 overflow 63 bits for long lists: that path counts with Counter
        sizes = (1, 2, 3, 12)
        assert bh._top_ngram_char_shares(words, sizes) == {n: ref_top_ngram(words, n) for n in sizes}


def test_real_books_equal_the_reference(shared_data):
    """Trove OCR (UTF-16 path, garbage pages, books longer than the sample) and clean gold text."""
    from finebooks.readers.text import split_trove_pages

    trove = sorted((shared_data / "raw_ocr" / "trove_nla_books").glob("*.txt"))[:6]
    gold = sorted((shared_data / "gold" / "100_english_novels").glob("*.txt"))[:1]
    gold += sorted((shared_data / "gold" / "eltec_fra").glob("*.txt"))[:1]
    if not trove or len(gold) < 2:
        pytest.skip("trove_nla_books / gold books not found under shared data")
    texts = ["\f".join(split_trove_pages(f.read_text(encoding="utf-8"))) for f in trove]
    texts += [f.read_text(encoding="utf-8") for f in gold]
    scorer = BookHeuristicsScorer()
    assert any(len(t) > scorer.sample_chars for t in texts) and any(len(t) <= scorer.sample_chars for t in texts)
    assert any(any(scorer.page_is_garbage(p) for p in t.split("\f")) for t in texts)
    for text in texts:
        assert_same_as_reference(scorer, text, {"language": "en"})


def test_class_table_matches_the_per_character_definitions():
    import numpy as np

    table = bh._flag_table()
    sample = list(range(0, 0x10000, 7)) + [ord(c) for c in " \n\t\r\v\f\x1c\u00a0\u2003_…#.'5²½aΣ\ud800"]
    assert [int(table[i]) for i in sample] == [bh._char_flags(chr(i)) for i in sample]
    # the bits stand for the expressions the signals are defined by
    for i in sample:
        c = chr(i)
        assert bool(table[i] & bh._SPACE) == c.isspace()
        assert bool(table[i] & bh._LETTER) == bool(LETTER_WORD.fullmatch(c))
        assert bool(table[i] & bh._NONWORD) == bool(NON_WORD_CHAR.fullmatch(c))
        assert bool(table[i] & bh._NONWS) == (c not in " \n\t\r\v\f")
    assert np.count_nonzero(table & bh._SYM) == len(set("#{}[]<>|\\^~_@*=+%$…"))


def test_word_windows_scorer_takes_runs_of_runs():
    scorer = SCORERS[2]
    text = "\f".join(prose_pages(20, 1))
    n_found = len(LETTER_WORD.findall(text[: scorer.sample_chars]))
    assert len(text) > scorer.sample_chars and n_found > scorer.ngram_max_words * 100
    for meta in ({"language": "en"}, {}, {"language": "de", "languages": {"de": 0.5, "fr": 0.5}}):
        assert_same_as_reference(scorer, text, meta)
        assert_same_as_reference(scorer, text.upper(), meta)


def test_stop_word_keys_count_as_the_counter_formula():
    """Every form of every list, case variants that are no form, words one letter too long or
    with a letter in no form, in every encoding width; ``hits`` equals the ``Counter`` sum."""
    import numpy as np

    rng = random.Random(4)
    lists = bh.STOP_WORDS
    keys = bh._StopWordKeys(lists)
    assert keys.usable
    forms = sorted({f for ws in lists.values() for w in ws for f in (w, w.capitalize(), w.upper())})
    near = [f + "x" for f in forms[:50]] + [f[:-1] + "\u00f1" for f in forms if len(f) > 1][:50]
    near += ["tHE", "The", "THE", "daß", "DASS", "Dass", "ΟΔΟΣ", "é", "\U0001D400", "étéété"]
    for width_char in ("", "\u0100", "\U0001F600"):
        words = [rng.choice(forms + near) for _ in range(3000)]
        text = " ".join(words) + " " + width_char
        codes = bh._encode(text)
        starts, ends = bh._word_bounds(bh._classify(codes))
        found = LETTER_WORD.findall(text)
        assert [text[a:b] for a, b in zip(starts.tolist(), ends.tolist())] == found
        union_counts = keys.union_counts(codes, starts, ends - starts)
        counts = Counter(found)
        for name, stop in lists.items():
            expected = sum(counts[w] + counts[w.capitalize()] + counts[w.upper()] for w in stop)
            assert keys.hits(union_counts, stop) == expected, (name, width_char)
        assert int(np.sum(union_counts[:-1])) > 0


def test_stop_lists_that_do_not_fit_the_keys_fall_back_to_counter():
    assert not bh._StopWordKeys({"xx": frozenset(["a" * 40])}).usable  # too long for 56 bits
    assert not bh._StopWordKeys({"xx": frozenset(["\U0001D400"])}).usable  # beyond the table
    for stop_words in ({"xx": ["supercalifragilistic", "the"]}, {"xx": ["\U0001D400", "and"]},
                       {"en": ["", "l'", "o'", "the"], "yy": ["é", "ÉTÉ"]}):
        scorer = BookHeuristicsScorer(stop_words=stop_words)
        for text in EDGE + ["the l' o' été ÉTÉ Été and supercalifragilistic \U0001D400 " * 20]:
            for meta in ({}, {"language": "xx"}, {"language": "en"}):
                assert_same_as_reference(scorer, text, meta)


def test_lower_words_equal_lowering_word_by_word():
    """Final sigma and İ (whose lower case is two characters) included, in every width."""
    import numpy as np

    rng = random.Random(12)
    texts = EDGE + [random_text(rng, 600) for _ in range(60)]
    texts += ["ΟΔΟΣ ΣΑΣ Σ ΑΣ. ΣΑ", "İİ İSTANBUL Iİ", "ǅemal ǄEMAL", "ΟΔΟΣ\U0001D400ΟΔΟΣ 𝐀Σ"]
    for text in texts:
        codes = bh._encode(text)
        flags = bh._classify(codes)
        starts, ends = bh._word_bounds(flags)
        found = LETTER_WORD.findall(text)
        m = len(found)
        for picked in (np.arange(m), np.arange(m)[::2], np.arange(m)[m // 3 :]):
            words, chars = bh._lower_words(codes, flags, starts, ends, picked)
            expected = [found[i].lower() for i in picked.tolist()]
            assert words == expected and chars == sum(map(len, expected)), repr(text)
