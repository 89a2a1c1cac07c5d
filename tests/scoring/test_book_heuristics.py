"""BookHeuristicsScorer: book-level Gopher/C4 signals as bh_ annotations."""

from __future__ import annotations

import pickle
import random
import sys
from pathlib import Path

from datatrove.data import Document

from finebooks.scoring.book_heuristics import BookHeuristicsScorer

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.eval_book_filters import drop_reasons

PROSE = [
    "The old man walked slowly along the river, thinking of the long winter that was coming to the valley.",
    "She had never seen the sea before, and when at last the coach came over the hill she cried out with joy.",
    "It was a house of many rooms, and in each of them there was something that the children were told not to touch.",
    "Nobody in the village could remember when the mill had stopped, but everyone knew the story of the miller's son.",
]


def prose_book(pages: int = 12, seed: int = 0) -> str:
    rng = random.Random(seed)
    out = []
    for _ in range(pages):
        paras = [
            " ".join(rng.choice(PROSE) for _ in range(4)) + f" Page {rng.random():.6f}." for _ in range(3)
        ]
        out.append("\n\n".join(paras))
    return "\f".join(out)


def mash(n: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    return "\n".join(
        " ".join(
            "".join(rng.choice(".,;:'-~_^|/\\()!*il1") for _ in range(rng.randint(1, 4))) for _ in range(8)
        )
        for _ in range(n)
    )


def score(text: str, **meta) -> Document:
    (doc,) = BookHeuristicsScorer().run([Document(text=text, id="b", metadata=meta)])
    return doc


def test_clean_prose_passes_recommended_thresholds():
    doc = score(prose_book(), language="en")
    assert drop_reasons(doc) == [], doc.metadata
    assert doc.metadata["bh_alpha_words_ratio"] > 0.95 and doc.metadata["bh_stopword_language"] == "en"


def test_keyboard_mash_fails_and_pages_are_flagged():
    doc = score(mash(30) + "\f" + mash(30, seed=2))
    assert drop_reasons(doc)
    assert doc.metadata["bh_page_garbage"] == [True, True] and doc.metadata["bh_garbage_page_share"] == 1.0


def test_repeated_paragraphs_get_a_high_duplicate_share():
    para = " ".join(PROSE)
    doc = score("\n\n".join([para] * 20))
    assert doc.metadata["bh_dup_para_share"] >= 0.9 and doc.metadata["bh_dup_line_char_share"] >= 0.9
    assert any("dup_para" in r for r in drop_reasons(doc))


def test_page_flags_have_one_entry_per_page():
    text = prose_book(3) + "\f\f" + mash(20) + "\f" + prose_book(2)
    doc = score(text)
    flags = doc.metadata["bh_page_garbage"]
    assert len(flags) == text.count("\f") + 1 == 7
    assert flags == [False, False, False, False, True, False, False]
    assert doc.metadata["bh_empty_page_share"] == round(1 / 7, 4)


def test_short_layout_lines_are_not_duplicates():
    heads = "\f".join(f"THE HISTORY\n\n{PROSE[i % 4]} {i}\n\n{i}" for i in range(40))
    assert score(heads).metadata["bh_dup_line_share"] == 0.0


def test_scorer_is_picklable():
    scorer = pickle.loads(pickle.dumps(BookHeuristicsScorer(min_line_chars=20)))
    assert scorer.min_line_chars == 20
    (doc,) = scorer.run([Document(text=prose_book(2), id="b")])
    assert doc.metadata["bh_n_words"] > 0


def test_gold_novels_keep_rate(shared_data):
    from datatrove.utils.logging import logger

    from finebooks.readers.text import FormFeedTextReader

    logger.remove()
    docs = list(
        BookHeuristicsScorer().run(FormFeedTextReader(str(shared_data / "gold" / "100_english_novels")).run())
    )
    assert len(docs) >= 10
    kept = sum(not drop_reasons(d) for d in docs)
    assert kept / len(docs) >= 0.97, [(d.id, drop_reasons(d)) for d in docs if drop_reasons(d)]


def test_bilingual_book_counts_the_stop_words_of_both_languages():
    """A Latin play with English notes: its English half is not counted as noise."""
    from collections import Counter

    from finebooks.scoring.book_heuristics import BookHeuristicsScorer

    latin = "arma virumque cano troiae qui primus ab oris italiam fato profugus laviniaque venit litora".split()
    english = "the play was written for the students and it is one of the best of the old plays".split()
    words = latin * 3 + english * 2
    scorer = BookHeuristicsScorer()
    only_la, _ = scorer.stopword_rate(Counter(words), len(words), "la")
    both, lists = scorer.stopword_rate(Counter(words), len(words), "la", {"la": 0.6, "en": 0.4})
    assert lists == "en+la" and both > only_la + 100
    # a minor language below a fifth of the book does not widen the list
    assert scorer.stopword_rate(Counter(words), len(words), "la", {"la": 0.9, "en": 0.1})[0] == only_la
