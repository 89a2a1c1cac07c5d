"""The vectorised fast paths of the scorers give exactly what the plain Python they replace gives.

LanguageScorer walks py3langid's byte automaton with numpy instead of byte by byte;
BookHeuristicsScorer counts per-page characters and tokens in one numpy pass instead of
``str.count`` / ``split`` / regex calls per page. Both must be exact (same language, same
probability, same counts), so they are compared here with the slow originals on awkward text.
"""

from __future__ import annotations

import random
import re

import pytest

from finebooks.scoring import book_heuristics as bh
from finebooks.scoring.language import LanguageScorer, _FastNaiveBayes

LANGS = ["en", "fr", "de", "nl", "it", "es", "pt", "la"]
EDGE = [
    "", " ", "a", "HELLO WORLD, ALL IN CAPITALS", "ſ ﬁ é \ud800 lone surrogate", "\x00\x01\x02",
    "日本語のテキストです", "Ελληνικά κείμενα", "\U0001F600 emoji \U0001D400 math", "1234 5678 .... ----",
]


def _texts(n: int = 200) -> list[str]:
    rnd = random.Random(0)
    prose = (
        "The old man walked slowly along the river, thinking of the long winter that was coming. "
        "Le vieil homme marchait lentement le long de la rivière, en pensant au long hiver. "
        "Der alte Mann ging langsam den Fluss entlang und dachte an den langen Winter. "
        "De oude man liep langzaam langs de rivier. Gallia est omnis divisa in partes tres. "
    ) * 20
    out = list(EDGE)
    for _ in range(n):
        start = rnd.randrange(len(prose))
        piece = prose[start:start + rnd.choice([3, 30, 300, 2000])]
        if rnd.random() < 0.2:
            piece = piece.upper()
        out.append(piece)
    return out


@pytest.mark.parametrize("languages", [None, LANGS])
def test_language_fast_path_equals_py3langid(languages):
    scorer = LanguageScorer(languages=languages)
    ident = scorer.identifier
    assert isinstance(scorer._fast, _FastNaiveBayes)
    texts = _texts()
    expected = [(lang, float(prob)) for lang, prob in map(ident.classify, texts)]
    assert scorer.classify_many(texts) == expected  # one batch: texts restart the automaton
    assert [scorer.classify(t) for t in texts[:40]] == expected[:40]


def test_chunk_whitespace_is_collapsed_as_before():
    scorer = LanguageScorer(chunk_chars=300, min_chunk_chars=1)
    text = "word\u00a0\u2003 word\t\n\x1c  word\u3000end " * 200
    old = re.compile(r"\s+")
    for chunk in scorer.chunks(text):
        assert chunk == old.sub(" ", chunk).strip()


def _old_page_counts(page: str) -> tuple[int, int, int, int]:
    nonspace = len(page) - sum(page.count(c) for c in " \n\t\r\v")
    return (nonspace, len(page.split()), sum(page.count(c) for c in bh._GARBAGE_HINT),
            len(bh._NO_LETTER_TOKEN.findall(page)))


def test_page_counts_equal_the_per_page_expressions():
    rnd = random.Random(1)
    alphabet = list("abcXYZ019_-.,;:'|/\\()!*#@ \n\t\r\v\u00a0\u2003\u3000éßſ…²½") + ["\U0001F600", "\U0001D400",
                                                                                   "\ud800", "\f"]
    texts = ["", "\f", "\f\f", " \f\u00a0", "word\fword word\f\f123 ..."]
    texts += ["".join(rnd.choice(alphabet) for _ in range(rnd.randrange(1, 400))) for _ in range(200)]
    for text in texts:
        counts = bh._PageCounts(text)
        got = list(zip(counts.nonspace.tolist(), counts.tokens.tolist(), counts.hint.tolist(),
                       counts.no_letter.tolist()))
        assert got == [_old_page_counts(p) for p in text.split("\f")], repr(text)
        assert bh._count_symbols(text) == len(bh._SYMBOL.findall(text)), repr(text)


def test_page_flags_equal_page_is_garbage():
    scorer = bh.BookHeuristicsScorer()
    pages = ["", "   ", "A page of ordinary prose, long enough to be judged by the scorer at all. " * 3,
             ".,;:'`\"-~_^|/\\()!*" * 10, "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22",
             "short", "#### {{}} [[]] <<>> ~~~ @@@ *** === +++ %%% $$$ ....", "\u00a0\u00a0\u00a0"]
    from datatrove.data import Document

    doc = Document(text="\f".join(pages), id="b", metadata={"language": "en"})
    scorer.score(doc)
    assert doc.metadata["bh_page_garbage"] == [scorer.page_is_garbage(p) is True for p in pages]
