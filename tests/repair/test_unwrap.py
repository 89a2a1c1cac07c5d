"""LineUnwrapper: wrapped lines become paragraphs, verse/headings/lists stay, pages stay; on made-up
text, the sample collection's clean pages and (with ../shared/data) real paragraphed novels."""

from __future__ import annotations

import json
import pickle
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from datatrove.data import Document

from finebooks.repair.dehyphenate import Dehyphenator
from finebooks.repair.unwrap import LineUnwrapper
from tests.conftest import read_all

UNWRAP = LineUnwrapper()

PROSE = """\
Agnes seldom carried the white captain upon the winter, yet the
weather-beaten widow and the secret hesitated towards the crowded
law. Brackley wrote the abbey and returned. The gentle child was
sudden, and Dunmore followed the ordinary winter before the vicar.
Agnes quickly won the door-step behind the honest mother, but
of all the people of Harrowdale, Agnes alone approached
the honest cattle.
Catherine loved the market-place and waited, because of all the
people of Harrowdale, Elizabeth alone followed the foolish soldier!
Not long before, the little mind praised the crowded harbour.
"""


def paragraphs(text: str) -> list[str]:
    return text.split("\n\n")


def test_wrapped_prose_becomes_paragraphs():
    out = paragraphs(UNWRAP.format(PROSE))
    assert len(out) == 2  # a short line that ends a sentence ends the paragraph
    assert out[0].startswith("Agnes seldom") and out[0].endswith("the honest cattle.")
    assert out[1].startswith("Catherine loved") and "\n" not in out[1]
    assert "the weather-beaten widow" in out[0]
    # nothing but whitespace changes
    assert "".join(UNWRAP.format(PROSE).split()) == "".join(PROSE.split())


def test_blank_lines_are_paragraph_breaks():
    text = "First paragraph that goes on\nand on.\n\n\nSecond paragraph, also\nwrapped here.\n"
    assert UNWRAP.format(text) == "First paragraph that goes on and on.\n\nSecond paragraph, also wrapped here."


def test_title_page_and_headings_stay_apart():
    # a title page is short; the book's other pages tell how long a full line is
    title = "SKETCHES OF NORTHWICK\n\nBY\nSARAH PENNOCK\n\nYORK: PRINTED FOR ELLERY AND CO.\nMDCCLXXXIV.\n"
    assert paragraphs(UNWRAP.format(title + "\f" + PROSE).split("\f")[0]) == [
        "SKETCHES OF NORTHWICK", "BY", "SARAH PENNOCK", "YORK: PRINTED FOR ELLERY AND CO.", "MDCCLXXXIV."]
    heading = "CHAPTER II\nTREATS OF OLIVER TWIST'S GROWTH, EDUCATION, AND BOARD\n" + PROSE
    out = paragraphs(UNWRAP.format(heading))
    assert out[:2] == ["CHAPTER II", "TREATS OF OLIVER TWIST'S GROWTH, EDUCATION, AND BOARD"]
    assert out[2].startswith("Agnes seldom")


def test_verse_is_kept_line_by_line():
    verse = ("And hour on hour would thus unheeded fly,\nAnd find her still in trance-like ecstacy;\n"
             "Till one soft hour of sunny eventide\nHad seen her still amidst that forest wide;\n"
             "When a last sunbeam bathed with golden light\nA stately tree, young, vigorous, and upright;\n")
    out = UNWRAP.format(verse)
    assert out == verse.rstrip("\n")  # one stanza, its lines kept
    assert LineUnwrapper(kept_line_separator="\n\n").format(verse).count("\n\n") == 5


def test_lists_and_contents_stay_apart():
    items = ("The rules of the house, which every guest must keep, are these\n"
             "1. that the first rule, which is long enough to wrap, goes\n"
             "onto a second line where it ends quite properly as it should\n"
             "2. that the second rule is shorter than the first one was\n")
    assert paragraphs(UNWRAP.format(items)) == [
        "The rules of the house, which every guest must keep, are these",
        ("1. that the first rule, which is long enough to wrap, goes onto a second line where it ends "
         "quite properly as it should"),
        "2. that the second rule is shorter than the first one was"]
    contents = "Preface . . . . . . . 1\nThe first chapter . . . . 5\nThe second chapter . . . 17\n"
    assert paragraphs(UNWRAP.format(contents)) == [
        "Preface . . . . . . . 1", "The first chapter . . . . 5", "The second chapter . . . 17"]


def test_hyphen_and_dash_line_ends_join_without_a_space():
    text = ("the sun stood over the well-\nknown house of the merchant and his wife, who\n"
            "waited there for the coming of the Ein-\nund Ausgang of the king and his men\n")
    out = UNWRAP.format(text)
    assert "well-known house" in out
    assert "Ein- und Ausgang" in out  # before a conjunction the space stays


def test_dialogue_starts_paragraphs():
    text = ("He looked at the old man for a long while and then he said nothing at all to him.\n"
            "\u201cWill you go along with me?\u201d said Mr. Bumble, in a majestic voice that day.\n")
    assert len(paragraphs(UNWRAP.format(text))) == 2


def test_text_with_one_paragraph_per_line_is_left_as_paragraphs():
    # an e-text: every paragraph on one long line, each starting with a capital (no verse)
    long = "The rain fell on the town and the people stayed at home that day. " * 4
    text = f"{long}\n{long}\n“Yes,” said he.\n{long}\n{long}\n"
    out = UNWRAP.format(text)
    assert paragraphs(out) == [long.strip(), long.strip(), "“Yes,” said he.", long.strip(), long.strip()]


def test_pages_are_unwrapped_apart_and_kept():
    step = LineUnwrapper()
    doc = Document(text=PROSE + "\f\f" + "silently. No one questioned the\nold castle.\n", id="b")
    step.repair_book(doc)
    pages = doc.text.split("\f")
    assert len(pages) == 3 and pages[1] == ""
    assert pages[2] == "silently. No one questioned the old castle."
    assert doc.metadata["repairs"]["unwrap_lines"] == {"lines_joined": 9, "paragraphs": 3}
    assert pickle.loads(pickle.dumps(step)).format("a\nb") == "a b"


# --------------------------------------------------------------------------- sample collection
@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    from finebooks.sample import make_sample

    out = tmp_path_factory.mktemp("sample") / "s"
    make_sample(out, seed=0)
    return out


def _norm(p: str) -> str:
    return " ".join(p.replace("\u017f", "s").replace("f", "s").split())


def test_sample_clean_paragraphs_are_reproduced(sample):
    """Plain-text books with their labelled heads, feet and page numbers dropped, dehyphenated and
    unwrapped: >= 95 % of ``clean_pages`` paragraphs come out exactly (long s / f-for-s and
    whitespace normalised)."""
    from finebooks.readers.text import FormFeedTextReader, PageFolderReader, TroveTextReader

    labels = [json.loads(x) for x in (sample / "labels.jsonl").read_text().splitlines()]
    truth = {b["book_id"]: b for b in map(json.loads, (sample / "books.jsonl").read_text().splitlines())}
    drop = defaultdict(set)
    for lab in labels:
        if lab["defect"] in ("running_head", "running_foot", "page_number") and lab["line"] is not None:
            drop[(lab["book_id"], lab["page"])].add(lab["line"])
    docs = []
    for reader in (TroveTextReader(str(sample / "trove"), metadata_file=None), PageFolderReader(str(sample / "pages")),
                   FormFeedTextReader(str(sample / "formfeed"))):
        docs += read_all(reader)
    found = total = 0
    for doc in docs:
        bid = re.sub(r"\.txt$", "", doc.id.rsplit("/", 1)[-1])
        book = truth[bid]
        if book["duplicate_of"]:
            continue
        pages = ["\n".join(ln for i, ln in enumerate(p.split("\n")) if i not in drop[(bid, n)])
                 for n, p in enumerate(doc.text.split("\f"), 1)]
        out = UNWRAP.format(Dehyphenator().format("\f".join(pages))).split("\f")
        assert len(out) == len(pages)
        for clean, got in zip(book["clean_pages"], out):
            have = Counter(_norm(p) for p in got.split("\n\n"))
            for p in clean.split("\n\n"):
                if p.strip():
                    total += 1
                    found += have[_norm(p)] > 0
    assert total >= 500
    assert found / total >= 0.95


# --------------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_real_paragraph_breaks_are_found(shared_data):
    """Hardy's Tess with the blank lines between its paragraphs deleted: the breaks the stage
    puts back are right >= 95 % of the time, and it finds most of them."""
    text = (shared_data / "gold/100_english_novels/Hardy_Tess_1891.txt").read_text(encoding="utf-8-sig")
    text = text.replace("\r\n", "\n")
    gold = [b for b in re.split(r"\n[ \t]*\n", text) if b.strip()]
    squeezed = "\n".join(ln for ln in text.split("\n") if ln.strip())
    got = UNWRAP.format(squeezed).split("\n\n")

    def starts(pars):
        out, pos = set(), 0
        for p in pars:
            out.add(pos)
            pos += len("".join(p.split()))
        return out

    g, o = starts(gold), starts(got)
    assert len(g & o) / len(o) >= 0.95
    assert len(g & o) / len(g) >= 0.75
