"""The fast paths of the repair stages give exactly the output of the code they replaced.

``remove_running_heads``, ``dehyphenate`` and ``unwrap_lines`` were sped up (issue 9) with
changes that must not change a single character: inlined helpers, page-level shortcuts (no
indent/blank-run work on pages without them), a per-book memo of dehyphenation decisions, a
cheaper ``line_key``. The code they replaced is kept, verbatim, as the ``_Reference*`` classes of
each stage's own fast-path tests (``test_running_heads_fast.py``, ``test_dehyphenate_fast.py``,
``test_unwrap_fast.py``) and the ``_reference_*`` functions below; the tests here run the three
stages chained, new and reference, on real Trove books (``shared_data``), the synthetic sample
collection and fuzzed books, and compare text, ``metadata`` (repair counts), stats and, for
dehyphenation, every decision.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from datatrove.data import Document

import finebooks.repair.running_heads as rh_module
from finebooks.repair.dehyphenate import Dehyphenator
from finebooks.repair.lexicon import words
from finebooks.repair.running_heads import _NON_LETTERS, RunningHeadRemover
from finebooks.repair.unwrap import LineUnwrapper
from tests.repair.test_dehyphenate_fast import _ReferenceDehyphenator
from tests.repair.test_running_heads_fast import _Reference as _ReferenceRunningHeadRemover
from tests.repair.test_unwrap_fast import _Reference as _ReferenceUnwrapper

TROVE_EVERY = 25  # every 25th Trove book (sorted by name): 9 books of various sizes and layouts


# ------------------------------------------------------------------------------ references
# The stage references (the code each stage had before its fast paths, verbatim) live beside the
# fast-path tests of each stage; this file runs the three stages chained on whole books.
# running heads: line_key and _grams as they were before the first fast path
def _reference_line_key(line: str) -> str:
    """The matching key of a line: lower case, no digits / roman numerals / punctuation."""
    # tokens of one or two letters are too weak to match on, and are often a page number that
    # OCR read as letters ("io" for 10); a token made of roman digits only is a number
    return " ".join(t for t in _NON_LETTERS.sub(" ", line.lower()).split() if len(t) > 2 and t.strip("ivxlcdm"))


def _reference_grams(key: str) -> frozenset[str]:
    s = f" {key} "
    return frozenset(s[i : i + 3] for i in range(len(s) - 2))


# ------------------------------------------------------------------------------ helpers
def _run(step, books: list[tuple[str, str, dict]]) -> tuple[list, dict]:
    """(text, metadata) of every book after ``step``, and the step's counters."""
    docs = [Document(text=text, id=book_id, metadata=dict(meta)) for text, book_id, meta in books]
    out = [(d.text, d.metadata) for d in step.run(iter(docs))]
    return out, {k: v.total for k, v in step.stats.stats.items() if k != "time"}


def _assert_same(new_step, ref_step, books) -> list[tuple[str, str, dict]]:
    """Run both steps on ``books``; assert identical output; return the output (for the next stage)."""
    new, new_stats = _run(new_step, books)
    ref, ref_stats = _run(ref_step, books)
    assert len(new) == len(ref) == len(books)
    for (text, meta), (ref_text, ref_meta), (_, book_id, _) in zip(new, ref, books):
        assert text == ref_text, f"{new_step.name}: text differs on {book_id}"
        assert meta == ref_meta, f"{new_step.name}: metadata differs on {book_id}"
    assert new_stats == ref_stats
    return [(text, book_id, meta) for (text, meta), (_, book_id, _) in zip(new, books)]


def _check_chain(books) -> None:
    """remove_running_heads -> dehyphenate -> unwrap_lines, each against its reference."""
    assert books
    # remove_running_heads
    new_out, new_stats = _run(RunningHeadRemover(), books)
    ref_out, ref_stats = _run(_ReferenceRunningHeadRemover(), books)
    assert new_out == ref_out and new_stats == ref_stats
    books = [(text, book_id, meta) for (text, meta), (_, book_id, _) in zip(new_out, books)]
    # dehyphenate: the same text and counts, and the same decision for every break
    new_dh, ref_dh = Dehyphenator(), _ReferenceDehyphenator()
    new_dh.trace, ref_dh.trace = [], []
    books = _assert_same(new_dh, ref_dh, books)
    assert new_dh.trace == ref_dh.trace
    assert any(d is not None for *_, d in new_dh.trace)  # the books had breaks to repair
    # unwrap_lines, with the default and with a non-default configuration
    _assert_same(LineUnwrapper(kept_line_separator="\n\n", quote_starts_paragraph=False, max_line_length=90),
                 _ReferenceUnwrapper(kept_line_separator="\n\n", quote_starts_paragraph=False, max_line_length=90),
                 books)
    _assert_same(LineUnwrapper(), _ReferenceUnwrapper(), books)


# ------------------------------------------------------------------------------ tests
def test_line_key_and_grams_match_the_reference():
    lines = ["THE HISTORY OF ENGLAND. 12", "  12  ", "Chap. IV. — Of the Ɵ ſtate", "l'été déjà", "x_y_z abc_def",
             "MDCCLXXVI", "über-all  Straße\tÆsop", "", "io 10 iv", "Ψυχή and ﬁsh", "a1b2c3 word3word",
             "ab abc abcd ab1cd_efg", "xiv xivx civic mix MIX Mix", "İstanbul ǅemal ΣΟΦΙΑ", "a\u0301bc de\u0301f"]
    for line in lines:
        assert rh_module.line_key(line) == _reference_line_key(line), line
        assert rh_module._grams(line) == _reference_grams(line), line


def test_lexicon_shares_one_word_list_with_normalise():
    import wordfreq

    from finebooks import wordlists
    from finebooks.repair import lexicon, normalise

    # one object per language for lexicon and normalise: loaded once per process, not twice
    assert lexicon._frequencies("en") is wordlists.frequencies("en")
    assert normalise._frequencies("en") is lexicon._frequencies("en")
    ref = wordfreq.get_frequency_dict("en", "best")
    assert len(lexicon._frequencies("en")) == len(ref)
    for word in ["the", "shoulder", "zymurgy", "ſhoulder", "notaword", "Straße", ""]:
        assert lexicon._frequencies("en").get(word) == ref.get(word), word


def test_fast_paths_match_reference_on_trove_books(shared_data):
    from finebooks.readers.text import TroveTextReader

    folder = shared_data / "raw_ocr" / "trove_nla_books"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    names = sorted(p.name for p in folder.glob("*.txt"))[::TROVE_EVERY]
    books = []
    for name in names:
        for doc in TroveTextReader(str(folder), glob_pattern=name, metadata_file=None).run():
            books.append((doc.text, doc.id, dict(doc.metadata)))
    assert len(books) >= 8
    # one book read as German, one as Latin (no lexicon): other lexicons and the book-only path
    books.append((books[0][0], "as-de", {"language": "de"}))
    books.append((books[1][0], "as-la", {"language": "la"}))
    _check_chain(books)


def test_fast_paths_match_reference_on_sample_collection(tmp_path):
    from finebooks.engine import build_readers
    from finebooks.recipe import load_recipe
    from finebooks.sample import make_sample

    make_sample(tmp_path / "sample")
    recipe = load_recipe(Path(__file__).parents[2] / "recipes" / "default.yaml")
    recipe.input_root = str(tmp_path / "sample")
    recipe.output_path = str(tmp_path / "run")
    books = []
    for reader in build_readers(recipe, tmp_path / "run"):
        books += [(d.text, d.id, dict(d.metadata)) for d in reader.run()]
        with contextlib.suppress(Exception):
            reader.exclusion_writer.close()
    assert len(books) >= 30
    _check_chain(books)


def _fuzz_books(n_books: int = 40, seed: int = 9) -> list[tuple[str, str, dict]]:
    """Synthetic books that hit the rare branches: indents of every width (spaces, tabs), runs of
    blanks, headings in capitals, verse, lists, contents lines, over-long lines, hyphens and dashes
    at line ends (before conjunctions too, the same break with and without text after it), soft
    hyphens, breaks across pages, running heads and page numbers, lines ending in a hyphen."""
    import random

    rng = random.Random(seed)
    vocab = sorted(words("the and of exam ple some thing well known sun dial Ein und oder Aus gang fall falling "
                         "Anglo Saxon Harrow dale un defined Mr. Smith said, “Yes.” — II. chapter 12 ſtate "
                         "l'exem où été Straße THE HISTORY OF ENGLAND (a) 1. • * word. end! why? to:"))
    heads = ["THE HISTORY OF ENGLAND.", "A VOYAGE ROUND THE WORLD", "Chap. IV. The Return",
             "A VOYAGE ROUND THE WOR\u00ac", "THE HISTORY OF ENG\u00ad", "OF THE KINGS AND QUEENS-"]
    ends = ["-", "-", "\u00ac", "\u00ad", "=", "\u2014", "", "", "", ".", ":", " 12", " . . . . 7"]
    books = []
    for b in range(n_books):
        lang = rng.choice([None, "en", "de", "fr", "la"])
        head = rng.choice(heads)
        pages = []
        for p in range(rng.randint(1, 12)):
            lines = []
            # pages indented with blanks and tabs, with tabs only, and not at all
            indents = rng.choice([["", "", "", " ", "  ", "   ", "    ", "\t", " \t", "\t\t", "\t  "],
                                  ["", "", "\t", "\t\t", "\t  "], [""]])
            if rng.random() < 0.7:
                lines.append(head if p % 2 else f"{p + 10}")
            for _ in range(rng.randint(0, 25)):
                r = rng.random()
                if r < 0.08:
                    lines.append("")
                    continue
                n_words = rng.choice([1, 2, 3, 8, 10, 12, 40] if r > 0.15 else [60])
                text = " ".join(rng.choice(vocab) for _ in range(n_words))
                if rng.random() < 0.2:
                    text = text.upper()
                if rng.random() < 0.15:
                    text = text.replace(" ", "  ", 1)
                if rng.random() < 0.1:
                    text += "\t" + rng.choice(vocab)
                indent = rng.choice(indents)
                lines.append(indent + text + rng.choice(ends))
            if rng.random() < 0.5:
                lines.append(rng.choice(["", "", "  "]) + str(p + 11))
            pages.append("\n".join(lines) + rng.choice(["", "\n", "\n\n", " \n"]))
        # the same break, with and without text after it on the next line
        pages.append("Ein-\nund Ausgang der Stadt.\nEin-\nund\nAusgang exam-\nple\nexam-\nple is here.")
        books.append(("\f".join(pages), f"fuzz{b}", {"language": lang} if lang else {}))
    return books


def test_fast_paths_match_reference_on_synthetic_edge_cases():
    _check_chain(_fuzz_books())
