"""The fast paths of ``remove_boilerplate`` (line-start pattern search, the line-notice and
HathiTrust pre-checks, the trailing-blank-lines test) give exactly what the plain regular
expressions give: on every pattern, on crafted books full of notices and near misses, and on
real books."""

from __future__ import annotations

import itertools
import random
import re

import pytest
from datatrove.data import Document

import finebooks.repair.boilerplate as bp
from finebooks.repair.boilerplate import DigitisationBoilerplateRemover
from tests.repair.test_boilerplate import BODY, GOOGLE_NOTICE, OLD_HEADER, PG_FOOTER, PG_HEADER

LINE_PATTERNS = [bp._WATERMARK, bp._IA_ANCHOR, bp._IA_MADE_AVAILABLE, bp._IA_URL_LINE, bp._HATHI, bp._NLA]

NOTICES = [
    "Digitized by Google", "Digitized by LjOOQlC", "  Digitized by GoOglc  ", "Digitised by Google.",
    "\u2022 Digitized by Microsoft\u00ae", "DIGITIZED BY GOOGLE", "Dig1t1zed by G00gle", "Digitized by ^oogle",
    ("Digitized by the Internet Archive\nin 2011 with funding from\nUniversity of Somewhere Libraries\n\n"
     "http://www.archive.org/details/drysummer00writ"),
    "Digitized 1\n\n\nby the Internet Archive\n\n\n\ni\n\n\nn 2015\n\n\n\n\nhttps://archive.org/details/b20000000",
    "This book made available by the Internet Archive.", "THIS VOLUME IS MADE AVAILABLE BY THE INTERNET ARCHIVE",
    "https://archive.org/details/b20000001", "Generated on 2015-03-01 / http://hdl.handle.net/2027/uc1.b0",
    "Public Domain, Google-digitized / http://www.hathitrust.org/access_use#pd-google",
    "Public Domain / HTTP://WWW.HATHITRUST.ORG/ACCESS_USE", "NATIONAL\nLIBRARY OF AUSTRALIA",
    "NA TIONAL LIBRARY OF AUSTRALIA", "N ATIONAL LIBRARY OF AUSTRALIA", "N A T I O N A L LIBRARY OF AUSTRALIA",
    "http://www.archive.org/details/abc", "- http : / / archive . org / details / b2",
    ("COMMONWEALTH NATIONAL LIBRARY\nBy returning this book on or before the latest date\n"
     "stamped below you make it available to other readers."), "NATIONAL LIBRARY",
    "The National Library of Australia holds a copy.", "This copy was digitized by Google in 2008.",
    "digital archive of the library", "See http://example.org/x_y for more.", "\u0130NTERNET ARCH\u0130VE",
    GOOGLE_NOTICE, PG_HEADER, PG_FOOTER, OLD_HEADER, "", "\n", " \t\n", "\r\n",
]


def _reference_from_line_starts(pattern, flat):
    return [(m.start(), m.end(), m) for m in pattern.finditer(flat)]


def _reference_trailing_blank_lines(text):
    m = bp._TRAILING_BLANK_LINES.search(text)
    return m.start() if m else None


def _run(pages):
    step = DigitisationBoilerplateRemover()
    doc = Document(text="\f".join(pages), id="x", metadata={})
    step.repair_book(doc)
    return doc.text, doc.metadata, {k: v.total for k, v in step.stats.stats.items() if k != "time"}


def _assert_same(pages, monkeypatch):
    fast = _run(pages)
    with monkeypatch.context() as m:
        m.setattr(bp, "_from_line_starts", _reference_from_line_starts)
        m.setattr(bp, "_trailing_blank_lines", _reference_trailing_blank_lines)
        m.setattr(bp, "_LINE_NOTICE", re.compile(""))  # the plain code had no pre-checks
        m.setattr(bp, "_LINE_NOTICE_AT_START", re.compile(""))
        m.setattr(bp, "_HATHI_ADDRESS", re.compile(""))
        ref = _run(pages)
    assert fast == ref, pages


def _book(rng: random.Random) -> list[str]:
    pages = []
    for _ in range(rng.randint(1, 14)):
        parts = [rng.choice(NOTICES) if rng.random() < 0.4 else BODY for _ in range(rng.randint(0, 4))]
        sep = rng.choice(["\n", "\n\n", "\n \n\n"])
        pages.append(sep.join(parts) + rng.choice(["", "\n", "\n\n", "\n \t\n"]))
    return pages


def test_line_start_search_equals_finditer():
    rng = random.Random(2)
    texts = ["\n".join(NOTICES), "\n\n".join(reversed(NOTICES))] + [
        "\n".join(rng.choice(NOTICES + [BODY]) for _ in range(12)) for _ in range(200)]
    for pattern in LINE_PATTERNS:
        for text in texts:
            got = [(s, e, m.groupdict()) for s, e, m in bp._from_line_starts(pattern, text)]
            want = [(m.start(), m.end(), m.groupdict()) for m in pattern.finditer(text)]
            assert got == want, (pattern.pattern[:30], text[:80])
    with pytest.raises(ValueError):
        bp._from_line_starts(re.compile("abc", re.MULTILINE), "abc")


def test_trailing_blank_lines_equals_the_regex():
    for n in range(7):
        for chars in itertools.product(["a", "\n", " ", "\t", "\r", "\u00a0", "\n\n"], repeat=n):
            text = "".join(chars)
            assert bp._trailing_blank_lines(text) == _reference_trailing_blank_lines(text), repr(text)


def test_pre_checks_see_every_notice_line():
    """A line that one of the line-start patterns matches is always seen by _LINE_NOTICE (at any
    line, and at the very start), and a HathiTrust match always by _HATHI_ADDRESS."""
    for notice in NOTICES:
        for text in (notice, "Some text.\n" + notice + "\nMore text."):
            if any(p.search(text) for p in LINE_PATTERNS if p is not bp._HATHI):
                assert bp._LINE_NOTICE_AT_START.match(text) or bp._LINE_NOTICE.search(text), notice
            if bp._HATHI.search(text):
                assert bp._HATHI_ADDRESS.search(text), notice
    assert not bp._LINE_NOTICE.search("\n".join([BODY] * 3))  # and it is a real filter


def test_crafted_books_match_the_plain_code(monkeypatch):
    for notice in NOTICES:
        _assert_same([notice], monkeypatch)
        _assert_same([BODY + notice, notice + "\n\n" + BODY, "\n\n" + notice + "\n\n"], monkeypatch)
    rng = random.Random(11)
    for _ in range(150):
        _assert_same(_book(rng), monkeypatch)


def test_real_books_match_the_plain_code(shared_data, monkeypatch):
    paths = sorted((shared_data / "gold" / "gutenberg_gitenberg").glob("*/*.txt"))[:3]
    paths += sorted((shared_data / "raw_ocr" / "wellcome_text_duplicates").glob("*.txt"))[:4]
    paths += sorted((shared_data / "raw_ocr" / "trove_nla_books").glob("*.txt"))[::40][:4]
    files = [p for p in paths if p.is_file()]
    if not files:
        pytest.skip("no real books in the shared data")
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        lines = text.split("\n")
        pages = text.split("\f") if "\f" in text else ["\n".join(lines[i:i + 60]) for i in range(0, len(lines), 60)]
        _assert_same(pages, monkeypatch)
        _assert_same([text.replace("\f", "\n")], monkeypatch)  # one long page (an e-text)
