"""The fast paths of ``normalise_characters`` (per-page hints from one pass over the book, ftfy
only on the lines it can change) give the same pages, counts and count order as the plain
per-page scans, on crafted pages that hit every hint and on real books."""

from __future__ import annotations

import random
import unicodedata
from collections import Counter

import ftfy
import numpy as np
import pytest
from datatrove.data import Document

import finebooks.repair.normalise as norm_module
from finebooks.repair.normalise import CharacterNormaliser


class _Reference(CharacterNormaliser):
    """Every page scanned by the regular expressions, ftfy on whole pages (before the fast paths)."""

    def repair_pages(self, pages, doc):
        counts: Counter = Counter()
        out = [self.normalise(page, counts) for page in pages]
        if self.f_for_long_s:
            out = self.restore_long_s_book(out, counts, doc.metadata.get("language") if doc is not None else None)
        for key, value in counts.items():
            if value:
                self.note(doc, key, value)
        return out


def _whole_page_ftfy(text: str, fix_encoding: bool, unescape_html: bool) -> str:
    return ftfy.fix_text(text, norm_module._ftfy_config(fix_encoding, unescape_html))


def _run(step, pages):
    doc = Document(text="\f".join(pages), id="x", metadata={})
    step.repair_book(doc)
    repairs = doc.metadata.get("repairs", {}).get(step.name, {})
    return doc.text, list(repairs.items()), {k: v.total for k, v in step.stats.stats.items() if k != "time"}


def _assert_same(pages, monkeypatch, **params):
    fast = _run(CharacterNormaliser(**params), pages)
    with monkeypatch.context() as m:
        m.setattr(norm_module, "_ftfy_fix", _whole_page_ftfy)
        ref = _run(_Reference(**params), pages)
    assert fast == ref, (params, pages)


PIECES = [
    "plain ASCII prose, nothing to do.", "", "caf\u00e9 na\u00efve \u2014 \u201cquoted\u201d \u00a3 5",
    "Ã©tÃ© mojibake", "Itâ€™s broken", "\u00c2\u00a0nbsp", "\u00ef\u00bb\u00bfbom", "Ä, Î, Ï are letters",
    "c1 \x85 \x96 controls", "del\x7fete", "\x1b[31mred\x1b[0m", "\x1b alone", "\x07bell\x0bvt", "tab\tkept",
    "\ufb01sh \ufb05 \ufb00", "Meſſe \u017f", "\ufffd\ufffd\ufffd run \ufffd", "zero\u200bwidth \u2060 \ufeff",
    "\u0627\u200c\u0628 joiner", "odd\u2009thin\u3000ideographic\u202fnarrow", "e\u0301 combining",
    "a\u0364 no precomposed", "\u1100\u1161 jamo", "\u212b angstrom", "\u0344 non-starter", "\u00aa ordinal",
    "\U0001d400 math \U0001f600", "lone \ud800 surrogate", "cr\r\nlf\rlone", "&amp; &#233; &eacute;",
    "\u0915\u093c nukta", "\u0958 excluded", "x" * 300,
]


def _random_pages(rng: random.Random) -> list[str]:
    pages = []
    for _ in range(rng.randint(1, 6)):
        lines = [rng.choice(PIECES) for _ in range(rng.choice([0, 1, 3, 10]))]
        page = "\n".join(lines)
        if rng.random() < 0.3:
            page += "\n"
        pages.append(page)
    return pages


@pytest.mark.parametrize("params", [{}, {"unescape_html": True}, {"nfc": False, "mojibake": False},
                                    {"replacement_chars": "remove", "long_s": "keep", "ligatures": False}])
def test_random_pages_match_the_reference(params, monkeypatch):
    rng = random.Random(5)
    for piece in PIECES:
        _assert_same([piece, "ok", piece + "\n" + PIECES[0]], monkeypatch, **params)
    for _ in range(120):
        _assert_same(_random_pages(rng), monkeypatch, **params)


def test_a_page_holding_a_form_feed_falls_back_to_scanning(monkeypatch):
    step = CharacterNormaliser()
    assert norm_module._page_hints(["a\fb", "c"]) is None
    assert step.repair_pages(["Ã©t\fÃ©", "\u00a0"], None) == _Reference().repair_pages(["Ã©t\fÃ©", "\u00a0"], None)


def test_ftfy_on_changed_lines_equals_ftfy_on_the_page():
    texts = ["\n".join(PIECES), "\n".join(PIECES) + "\n", "Ã©\n\nplain\nâ€™\n", "\n", "", "only ascii\nlines\n"]
    for text in texts:
        for encoding, html in ((True, False), (True, True), (False, True)):
            assert norm_module._ftfy_fix(text, encoding, html) == _whole_page_ftfy(text, encoding, html)


def test_hint_table_is_exact_or_a_superset():
    norm_module._page_hints(["x"])
    table = norm_module._hint_table
    bmp = "".join(map(chr, range(0x10000)))
    unusual = np.zeros(0x10000, bool)
    unusual[[m.start() for m in norm_module._UNUSUAL_RE.finditer(bmp)]] = True
    assert np.array_equal((table & norm_module._H_UNUSUAL) != 0, unusual)
    c1 = np.zeros(0x10000, bool)
    c1[[m.start() for m in norm_module._C1_RE.finditer(bmp)]] = True
    assert np.array_equal((table & norm_module._H_C1) != 0, c1)
    # the fast pass only looks up non-ASCII, DEL and controls other than "\n": nothing else has a bit
    assert not table[32:127].any() and table[10] == 0
    # a character without the NFC bit never makes a text non-NFC, after any of these starters
    safe = [c for c, bits in zip(bmp, table.tolist()) if not bits & norm_module._H_NFC]
    for base in "AaEeOoUuCcNnSsZz\u00e9\u0391\u03b1\u0415\u0435\u05d0\u0627\u0915\u0995\u0b95\u0cc6\u1100\u3131\u304b\uac00":
        assert unicodedata.is_normalized("NFC", "".join(base + c for c in safe)), hex(ord(base))
    for c in "\u0301\u0308\u0364\u1161\u11a8\u09be\u0cd5\u212b\u0344\u0958":
        assert table[ord(c)] & norm_module._H_NFC, hex(ord(c))


def test_real_books_match_the_reference(shared_data, monkeypatch):
    paths = sorted((shared_data / "gold").glob("*/*.txt"))[::7][:6]
    paths += sorted((shared_data / "raw_ocr" / "trove_nla_books").glob("*.txt"))[::50][:4]
    if not paths:
        pytest.skip("no gold or Trove books in the shared data")
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")[:400_000]
        lines = text.split("\n")
        pages = text.split("\f") if "\f" in text else ["\n".join(lines[i:i + 50]) for i in range(0, len(lines), 50)]
        _assert_same(pages, monkeypatch)
