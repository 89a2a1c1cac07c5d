"""PageRepairer: page count invariant, stats and per-book records."""

from __future__ import annotations

import pytest
from datatrove.data import Document

from finebooks.repair.base import PageRepairer


class Upper(PageRepairer):
    name = "upper"

    def repair_page(self, page, index, doc):
        if page != page.upper():
            self.note(doc, "pages_upper")
        return page.upper()


class DropsPage(PageRepairer):
    name = "drops"

    def repair_pages(self, pages, doc):
        return pages[1:]


def test_pages_are_repaired_and_changes_recorded():
    step = Upper()
    doc = Document(text="a\fB\fc", id="x")
    (out,) = list(step.run([doc]))
    assert out.text == "A\fB\fC"
    assert out.metadata["repairs"] == {"upper": {"pages_upper": 2}}
    assert step.stats["pages_upper"].total == 2 and step.stats["books_changed"].total == 1


def test_plain_text_format():
    assert Upper().format("x\fy") == "X\fY"


def test_page_count_is_an_invariant():
    with pytest.raises(AssertionError, match="page count"):
        list(DropsPage().run([Document(text="a\fb", id="x")]))


def test_record_can_be_switched_off():
    (out,) = list(Upper(record=False).run([Document(text="a", id="x")]))
    assert "repairs" not in out.metadata


class EditsInPlace(PageRepairer):
    """Edits the list it is given and hands the same list back (allowed by the API)."""

    name = "in_place"

    def repair_pages(self, pages, doc):
        pages[1] = pages[1].upper()
        return pages


def test_pages_edited_in_place_are_kept():
    step = EditsInPlace()
    (out,) = list(step.run([Document(text="a\fb\fc", id="x")]))
    assert out.text == "a\fB\fc"
    assert step.stats["books_changed"].total == 1


class NoOp(PageRepairer):
    name = "noop"  # the base repair_page hands every page back as it is


def test_untouched_book_keeps_its_text_object():
    doc = Document(text="A\fB", id="x")
    text = doc.text
    step = NoOp()
    (out,) = list(step.run([doc]))
    assert out.text is text  # every page handed back: no re-join
    assert step.stats["books_changed"].total == 0
