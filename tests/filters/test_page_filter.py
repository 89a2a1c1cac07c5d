"""drop_pages: single garbage pages go, the book and its page alignment stay."""

from __future__ import annotations

import pytest
from datatrove.data import Document

from finebooks.filters.page_filter import PageFilter
from finebooks.scoring.book_heuristics import BookHeuristicsScorer

GOOD = "It was a fine morning and the travellers set out along the river towards the old mill. " * 8
PLATE = "#@! ~|~ *** %% ^^ }{ ][ <> =+= ## @@ ~~ || ^^ ** -- == ++ %% $$ " * 6


def book(pages, **meta):
    return Document(text="\f".join(pages), id="t/1", metadata={"n_pages": len(pages), **meta})


def test_flagged_pages_are_blanked_and_recorded():
    doc = book([GOOD, PLATE, GOOD], bh_page_garbage=[False, True, False])
    assert PageFilter().filter_pages(doc) == 1
    assert doc.text.split("\f") == [GOOD, "", GOOD]  # page numbers stay aligned
    assert doc.metadata["dropped_pages"] == [2]
    assert doc.metadata["dropped_page_chars"] == len(PLATE)


def test_remove_mode_shortens_the_book_and_its_per_page_annotations():
    doc = book([GOOD, PLATE, GOOD + "x"], page_ocr_quality=[0.9, 0.1, 0.8], other=[1, 2])
    PageFilter(flag_key=None, score_key="page_ocr_quality", min_score=0.5, mode="remove").filter_pages(doc)
    assert doc.text.split("\f") == [GOOD, GOOD + "x"]
    assert doc.metadata["page_ocr_quality"] == [0.9, 0.8] and doc.metadata["n_pages"] == 2
    assert doc.metadata["other"] == [1, 2]  # not a per-page list of this book: untouched


def test_annotations_of_the_wrong_length_and_missing_scores_drop_nothing():
    doc = book([GOOD, PLATE], bh_page_garbage=[True], page_ocr_quality=[None, 0.9])
    f = PageFilter(score_key="page_ocr_quality", min_score=0.5)
    assert f.filter_pages(doc) == 0 and "dropped_pages" not in doc.metadata


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="mode"):
        PageFilter(mode="delete")
    with pytest.raises(ValueError, match="go together"):
        PageFilter(score_key="page_ocr_quality")


def test_heuristics_then_page_filter_remove_a_plate_and_keep_the_book_signals_clean():
    """Book-level signals are computed without the garbage pages, so a plate doesn't sink a book."""
    clean = book([GOOD] * 8)
    plated = book([GOOD] * 4 + [PLATE, PLATE] + [GOOD] * 4)
    scorer = BookHeuristicsScorer()
    scorer.score(clean)
    scorer.score(plated)
    assert plated.metadata["bh_page_garbage"] == [False] * 4 + [True, True] + [False] * 4
    assert plated.metadata["bh_garbage_page_share"] == 0.2
    assert plated.metadata["bh_symbol_word_ratio"] == clean.metadata["bh_symbol_word_ratio"]
    assert plated.metadata["bh_alpha_words_ratio"] == clean.metadata["bh_alpha_words_ratio"]
    out = list(PageFilter().run(iter([plated])))
    assert out[0].text.split("\f")[4:6] == ["", ""]
