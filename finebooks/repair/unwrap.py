"""Line unwrapping: turn hard-wrapped printed lines back into paragraphs.

OCR text keeps the printed line breaks: a paragraph of prose arrives as ten lines of ~60
characters. For training text (and for every line-based heuristic: FineWeb's "lines ending in
punctuation", C4's line filters, duplicate-line ratios) a wrapped line is not a unit of meaning,
a paragraph is. :class:`LineUnwrapper` rebuilds paragraphs within each page and writes them one
per line, separated by a blank line (``"\\n\\n"``): the layout of ``books.jsonl``'s
``clean_pages`` in the sample collection and of most clean e-texts.

How a page is read:

* blank lines always end a block (paragraph breaks, head/foot separation, stanza breaks);
* inside a block, the break after line ``L`` (before line ``N``) is a **paragraph break** when

  - ``L`` is short for the page (shorter than ``short_line_ratio`` x the page's typical full
    line length: a high percentile of its line lengths, or of the book's when the page has
    fewer than ``min_page_lines`` lines) **and** it ends a sentence (``.``, ``!``, ``?``, ``:``,
    possibly inside closing quotes) - the last line of a paragraph, ``CHAPTER I.``;
  - one of ``L`` and ``N`` is in capitals and the other is not (a heading: ``CHAPTER II`` /
    ``TREATS OF OLIVER TWIST'S GROWTH`` / ``For the next eight...``);
  - ``L`` is short and very short (under 2/3 of a short line) or in capitals, and ``N`` starts
    with a capital, digit or opening quote - a title-page line (``BY``). A capital alone is
    not enough after a merely short line: German capitalises nouns, and the line after a
    dehyphenated break is short because it gave its first word to the line above;
  - ``N`` is indented more than ``L`` after a sentence end (a paragraph indent);
  - ``N`` opens a quotation or a dialogue dash after a sentence end (``quote_starts_paragraph``:
    in novels every speech starts a paragraph);
  - ``N`` starts a list item (``•``, ``*``, ``–``, ``(a)``, ``12.``) or ``L`` is a contents line
    ending in dot leaders and a number;
  - ``L`` or ``N`` is longer than ``max_line_length``: text that is not hard-wrapped (one
    paragraph per line) is left as it is;

  otherwise it is a wrap and the lines are joined with one space; a line ending in a hyphen or
  a dash after a letter is joined without a space (``well-`` + ``known``: run ``dehyphenate``
  first so that only real hyphens are left), except before a conjunction (``Ein-`` + ``und``);
* a block whose lines are not prose is **kept line by line**: verse (at least ``verse_min_lines``
  lines and at least ``verse_capital_share`` of them, after the first, starting with a capital
  - prose starts 10-40 % of its lines with one, German with its capitalised nouns included)
  keeps its lines joined with ``kept_line_separator`` (default ``"\\n"``: a stanza stays one
  block of lines); in a block of mostly short lines (``short_block_share``: title pages,
  addresses, tables), a contents list (most lines end in a page number) or a block of long
  paragraph lines, every line becomes a paragraph of its own.

The defaults are set on real text with the blank lines between its paragraphs deleted
(``benchmarks/eval_dehyphenate.py``, section 5b): five hard-wrapped gold novels get their
paragraph breaks back with precision 0.97 and recall 0.85-0.94; the dehyphenated Goethe ground
truth (justified Fraktur print, no indents, much dialogue without quotes) with precision 0.90
and recall 0.78. A paragraph whose last line happens to be full is out of reach without the
page image.

The whole book is processed at once with numpy (see :func:`_unwrap_book`): same output as the
page -> block -> line reading above, ~2.5x faster.

Pages are unwrapped independently (a paragraph that runs over a page end stays split there:
the page structure is kept), and the page count never changes. Leading indentation and runs of
spaces inside a line are collapsed. Records ``lines_joined`` (wraps removed) and ``paragraphs``
(paragraphs written).
"""

from __future__ import annotations

import re
from itertools import chain, repeat
from operator import itemgetter

import numpy as np
from datatrove.data import Document

from finebooks.repair.base import PageRepairer
from finebooks.repair.lexicon import words

_CLOSERS = "\"'\u201d\u2019\u00bb)]*"
_OPENERS = "\"'\u201c\u2018\u201e\u00ab(["
_SENTENCE_END = ".!?:"
_HYPHEN_END = "-\u2010\u2011\u2e17=\u2014\u2013"
# a list item: bullet, dash, "(a)", "a)", "12.", "iv." at the start of a line
_LIST_ITEM = re.compile(
    r"(?:[\u2022\u25cf\u25aa*\u2013\u2014-]\s|\(?[0-9]{1,3}[.)]\s|\(?[a-z]\)\s|\([a-z]{1,4}\)\s"
    r"|(?:i{1,3}|iv|vi{0,3}|ix|xi{0,3})\.\s)"
)
_LIST_START = "\u2022\u25cf\u25aa*\u2013\u2014-(0123456789"
# a contents line: dot leaders (". . ." or "....") or a wide gap, then a page number
_CONTENTS_LINE = re.compile(r"(?:\.\s?){3,}\s*\d{1,4}$|\s{3,}\d{1,4}$")
_ENDS_IN_NUMBER = re.compile(r"\s[\dIVXLCivxlc]{1,5}\.?$")
_NUMBER_END = "0123456789IVXLCivxlc."
_DIGITS = "0123456789"
_OPENING_QUOTES = "\"\u201c\u201e\u00ab\u2018'\u2014"
_VERY_SHORT = 2 / 3  # of a short line: 0.5 of the full width with the default ratio
_SUSPENSION_WORDS = words("und oder bis sowie noch en of tot and or nor et ou ni e o y u")


def _is_upper(line: str) -> bool:
    return len(line) > 2 and line.isupper()


def _starts_capital(line: str) -> bool:
    c = line[0]
    if c.isalpha():
        return c.isupper()
    s = line.lstrip(_OPENERS)
    return bool(s) and (s[0].isupper() or s[0].isdigit())


def _ends_sentence(line: str) -> bool:
    c = line[-1]
    if c in _SENTENCE_END:
        return True
    if c not in _CLOSERS:
        return False
    s = line.rstrip(_CLOSERS)
    return bool(s) and s[-1] in _SENTENCE_END


def _is_list_item(line: str) -> bool:
    c = line[0]
    if c in _LIST_START:
        return _LIST_ITEM.match(line) is not None
    if "a" <= c <= "z":
        sp = line.find(" ", 0, 6)
        return sp > 0 and line[sp - 1] in ")." and _LIST_ITEM.match(line) is not None
    return False


def _is_contents_line(line: str) -> bool:
    return line[-1].isdigit() and _CONTENTS_LINE.search(line[-40:]) is not None


def _ends_in_number(line: str) -> bool:
    return line[-1] in _NUMBER_END and _ENDS_IN_NUMBER.search(line[-8:]) is not None


class LineUnwrapper(PageRepairer):
    """Join hard-wrapped lines into paragraphs (one per line, blank line between); keep verse.

    Registered as ``unwrap_lines``. Records ``lines_joined`` and ``paragraphs`` in the stats
    and in ``metadata["repairs"]["unwrap_lines"]``.

    Args:
        short_line_ratio: a line shorter than this fraction of the page's full line length may
            end a paragraph (with a sentence end, or a capital after it). 0.75 gains ~1 point
            of precision and loses ~4 of recall on the real text above.
        width_percentile: which percentile of a page's line lengths is its full line length
            (0.8: robust to a few over-long OCR lines and to the many short lines of dialogue).
        min_page_lines: pages with fewer non-blank lines use the book's full line length.
        verse_min_lines: smallest block that can be recognised as verse.
        verse_capital_share: share of a block's lines (after the first) that start with a
            capital from which it is verse and kept line by line.
        short_block_share: share of very short lines (under 2/3 of a short line) from which a block
            of 3+ lines is kept line by line (title pages, addresses, tables).
        kept_line_separator: separator of the lines of a verse block (``"\\n"`` keeps a stanza as
            one block; ``"\\n\\n"`` makes every verse line a paragraph of its own).
        max_line_length: a line longer than this is no printed line but a paragraph already
            (text that is not hard-wrapped, such as e-texts with one paragraph per line): it is
            never joined to its neighbours.
        quote_starts_paragraph: a line that opens with a quotation mark or a dash after a line
            that ends a sentence starts a paragraph (+10 points of recall, -1.5 of precision on
            the gold novels; no effect on the German ground truth).
        record: record counts in ``metadata["repairs"]`` (stats are always kept).
    """

    name = "unwrap_lines"

    def __init__(
        self,
        short_line_ratio: float = 0.8,
        width_percentile: float = 0.8,
        min_page_lines: int = 6,
        verse_min_lines: int = 4,
        verse_capital_share: float = 0.75,
        short_block_share: float = 0.6,
        kept_line_separator: str = "\n",
        max_line_length: int = 160,
        quote_starts_paragraph: bool = True,
        record: bool = True,
    ):
        super().__init__(record=record)
        self.short_line_ratio = short_line_ratio
        self.width_percentile = width_percentile
        self.min_page_lines = min_page_lines
        self.verse_min_lines = verse_min_lines
        self.verse_capital_share = verse_capital_share
        self.short_block_share = short_block_share
        self.kept_line_separator = kept_line_separator
        self.max_line_length = max_line_length
        self.quote_starts_paragraph = quote_starts_paragraph

    def repair_pages(self, pages: list[str], doc: Document | None) -> list[str]:
        """Unwrap every page of a book at once (see :func:`_unwrap_book`); record the counts."""
        out, joined, paragraphs = _unwrap_book(self, pages)
        if joined:
            self.note(doc, "lines_joined", joined)
        if paragraphs:
            self.note(doc, "paragraphs", paragraphs)
        return out


# ---------------------------------------------------------------------------- the fast path
# :func:`_unwrap_book` takes, for a whole book at once, the decisions that the module docstring
# states per page, block and pair of lines (the straightforward page -> block -> line loop is the
# reference in tests/repair/test_unwrap_fast.py and test_fast_paths_repair.py; output and counts
# are identical). Every line feature is computed for all lines together: C-level ``map`` over
# the line strings, numpy over the UTF-32 code points of the lines (first and last characters,
# a few places after the start or before the end), every break test is a numpy expression over
# all pairs of neighbouring lines, and the block rule (verse / kept lines) counts with reduceat. Only
# the few lines that a cheap pre-check on code points cannot settle go through the helpers above
# (regular expressions, run through ``map``). The per-line loop cost ~2 us a line, this ~0.8 us.

# bits of the character-class table (one uint16 per BMP code point)
_C_ALPHA, _C_UPPER, _C_ISDIGIT, _C_LIST_START, _C_OPENING_QUOTE, _C_OPENER = 1, 2, 4, 8, 16, 32
_C_AZ, _C_SENTENCE_END, _C_CLOSER, _C_DIGIT, _C_NUMBER_END, _C_HYPHEN = 64, 128, 256, 512, 1024, 2048
_C_BULLET, _C_ROMAN, _C_LOWER, _C_SPACE = 4096, 8192, 16384, 32768  # bullet/dash; i v x; islower; isspace
_CLASS_SETS = (
    (_C_LIST_START, _LIST_START), (_C_OPENING_QUOTE, _OPENING_QUOTES), (_C_OPENER, _OPENERS),
    (_C_AZ, "abcdefghijklmnopqrstuvwxyz"), (_C_SENTENCE_END, _SENTENCE_END), (_C_CLOSER, _CLOSERS),
    (_C_DIGIT, _DIGITS), (_C_NUMBER_END, _NUMBER_END), (_C_HYPHEN, _HYPHEN_END),
    (_C_BULLET, "\u2022\u25cf\u25aa*\u2013\u2014-"), (_C_ROMAN, "ivx"),
)
_class_table: np.ndarray | None = None
_TAIL_40 = itemgetter(slice(-40, None))  # line[-40:], as _is_contents_line looks at it
_TAIL_8 = itemgetter(slice(-8, None))  # line[-8:], as _ends_in_number


def _char_class(c: str) -> int:
    """The class bits of one character (any code point)."""
    bits = (c.isalpha() and _C_ALPHA) | (c.isupper() and _C_UPPER) | (c.isdigit() and _C_ISDIGIT) \
        | (c.islower() and _C_LOWER) | (c.isspace() and _C_SPACE)
    for bit, chars in _CLASS_SETS:
        if c in chars:
            bits |= bit
    return bits


def _char_classes(codes: np.ndarray) -> np.ndarray:
    """Class bits of an array of code points: a table for the BMP (built on first use, ~10 ms),
    :func:`_char_class` for the rare code points above it."""
    global _class_table
    if _class_table is None:
        bmp = "".join(map(chr, range(0x10000)))
        table = np.fromiter(map(str.isalpha, bmp), bool, 0x10000) * np.uint16(_C_ALPHA)
        table |= np.fromiter(map(str.isupper, bmp), bool, 0x10000) * np.uint16(_C_UPPER)
        table |= np.fromiter(map(str.isdigit, bmp), bool, 0x10000) * np.uint16(_C_ISDIGIT)
        table |= np.fromiter(map(str.islower, bmp), bool, 0x10000) * np.uint16(_C_LOWER)
        table |= np.fromiter(map(str.isspace, bmp), bool, 0x10000) * np.uint16(_C_SPACE)
        for bit, chars in _CLASS_SETS:
            table[[ord(c) for c in chars]] |= np.uint16(bit)
        _class_table = table
    if codes.size and codes.max() >= 0x10000:
        out = _class_table[np.minimum(codes, 0xFFFF)]
        for k in np.flatnonzero(codes >= 0x10000).tolist():
            out[k] = _char_class(chr(codes[k]))
        return out
    return _class_table[codes]


def _blankish(c: np.ndarray) -> np.ndarray:
    """Code points that may be a blank (``\\s``): ASCII up to the space, or any non-ASCII."""
    return (c <= 32) | (c >= 128)


def _maybe_list_items(codes: np.ndarray, starts: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The lines that may be list items (a superset of those :func:`_is_list_item` accepts).

    A list marker first (digit, bullet, dash, ``(``): then a possible blank after a bullet or dash
    in first place, or after ``)`` or ``.`` in places 1-5 (every alternative of ``_LIST_ITEM`` has
    one of these). A lowercase letter first: ``a)`` or a roman number ``i``-``xiii`` then ``.`` in
    places 1-4. Code points past a line's end belong to the next line: that only adds candidates.
    """
    top = len(codes) - 1
    rows = np.flatnonzero(first & _C_LIST_START)
    window = codes[np.minimum(starts[rows, None] + np.arange(7), top)]  # places 0-6
    blank = _blankish(window[:, 1:])
    mark = (window[:, :-1] == 41) | (window[:, :-1] == 46)  # ")" or "."
    mark[:, 0] = (first[rows] & _C_BULLET) != 0
    maybe = (mark & blank).any(axis=1)
    lower = np.flatnonzero(first & _C_AZ)
    lower_maybe = codes[np.minimum(starts[lower] + 1, top)] == 41  # "a) "
    roman = (first[lower] & _C_ROMAN) != 0
    window = codes[np.minimum(starts[lower[roman], None] + np.arange(1, 5), top)]  # places 1-4
    lower_maybe[roman] |= (window == 46).any(axis=1)
    out = np.zeros(len(first), bool)
    out[rows[maybe]] = True
    out[lower[lower_maybe]] = True
    return np.flatnonzero(out)


def _maybe_contents_lines(codes: np.ndarray, ends: np.ndarray, last: np.ndarray) -> np.ndarray:
    """The lines that may be contents lines (a superset of :func:`_is_contents_line`): they end in
    at most four ASCII digits, and the three characters before those may be dot leaders or blanks
    (``.``, a possible blank) - unless the first of them is non-ASCII (a digit of another script
    may lengthen the number). A line too short to look back that far cannot match anyway."""
    rows = np.flatnonzero(last & _C_DIGIT)
    if not len(rows):
        return rows
    e = ends[rows]

    def back(j):  # the code points j places before the last character
        return codes[np.maximum(e - j, 0)]

    def digit(c):
        return (c >= 48) & (c <= 57)

    run = np.ones(len(rows), np.int64)  # trailing ASCII digits, at most 5
    going = np.ones(len(rows), bool)
    for j in range(1, 5):
        going &= digit(back(j))
        run += going

    def leader(c):
        return (c == 46) | _blankish(c)

    c1 = codes[np.maximum(e - run, 0)]
    c2 = codes[np.maximum(e - run - 1, 0)]
    c3 = codes[np.maximum(e - run - 2, 0)]
    maybe = (run < 5) & leader(c1) & ((c1 >= 128) | (leader(c2) & leader(c3)))
    return rows[maybe]


def _plain_lines(pages: list[str], n_lines: int):
    """The line arrays of a book whose lines need neither ``strip()`` nor the collapsing of runs of
    blanks (OCR text usually), straight from the code points of ``"\\f".join(pages)``: no
    stripped copy of every line, no lengths by ``map``, no second join. ``None`` when some line
    needs either (or a page holds a ``"\\f"``): the caller then takes the general way.

    Returns the flat index of each non-blank line among the ``n_lines`` lines, their lengths,
    pages, start offsets in the code points, the code points, and the classes of the lines'
    first and last characters."""
    text = "\f".join(pages)
    if "\t" in text or "\r" in text:  # (cheap) a tab to collapse or strip, a CR to strip
        return None
    head = text[:20_000]  # indented or padded lines show early: do not encode a book in vain
    if head[:1] == " " or "\n " in head or " \n" in head or "\f " in head:
        return None
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)
    stops = np.flatnonzero(codes < 13)  # (one pass) "\n", "\f" and rare controls
    low = codes[stops]
    page_ends = stops[low == 12]
    stops = stops[(low == 10) | (low == 12)]  # the end of every line but the last
    if len(stops) != n_lines - 1 or len(page_ends) != len(pages) - 1:
        return None
    line_start = np.concatenate(([0], stops + 1))
    line_len = np.append(stops, len(codes)) - line_start
    where = np.flatnonzero(line_len)
    if not len(where):
        return None
    starts, n = line_start[where], line_len[where]
    first = _char_classes(codes[starts])
    last = _char_classes(codes[starts + n - 1])
    if ((first | last) & _C_SPACE).any():  # strip() would change a line
        return None
    blank = codes == 32
    if (blank[1:] & blank[:-1]).any():  # a run of blanks to collapse
        return None
    return where, n, np.searchsorted(page_ends, starts), starts, codes, first, last


def _unwrap_book(step: LineUnwrapper, pages: list[str]) -> tuple[list[str], int, int]:
    """Unwrap all pages of a book; return the pages, the number of joins and of paragraphs.

    Works on the book's non-blank lines as flat arrays (index ``k``); the pair ``(k, k + 1)`` is a
    *boundary*, and its separator in the output is ``"\\n\\n"`` between blocks (blank lines
    between) and at paragraph breaks, the kept-line separator inside verse, ``" "`` or ``""``
    (hyphen) at wraps, nothing at a page end. The output is the lines and separators joined, page
    by page.
    """
    n_pages = len(pages)
    split = list(map(str.split, pages, repeat("\n")))
    page_lines = np.fromiter(map(len, split), np.int64, n_pages)
    raws = list(chain.from_iterable(split))  # every page's lines, one page after the other
    plain = _plain_lines(pages, len(raws))
    if plain is not None:  # the usual OCR text: no line to strip or to collapse
        where, n, page, starts, codes, first, last = plain
        m = len(where)
        ne = list(filter(None, raws))  # the non-blank lines
        indent = None
    else:
        lines = list(map(str.strip, raws))
        flat_len = np.fromiter(map(len, lines), np.int64, len(lines))
        where = np.flatnonzero(flat_len)  # flat index of each non-blank line
        m = len(where)
        if m == 0:
            return [""] * n_pages, 0, 0
        ne = list(filter(None, lines))  # the non-blank lines
        page = np.repeat(np.arange(n_pages), page_lines)[where]
        # indents (leading blanks of a line that starts with " " or "\t"): only lines that lost
        # something to strip() can have one
        stripped = sum(map(len, pages)) - (len(raws) - n_pages) - int(flat_len.sum())
        indent = None
        if stripped:
            raw_len = np.fromiter(map(len, raws), np.int64, len(raws))
            flat_indent = np.zeros(len(raws), np.int64)
            for k in np.flatnonzero(raw_len != flat_len).tolist():
                raw = raws[k]
                if raw[:1] in (" ", "\t"):
                    flat_indent[k] = len(raw) - len(raw.lstrip())
            if flat_indent.any():
                indent = flat_indent[where]
        # the lines' code points (numpy), for their first and last characters
        n = flat_len[where]
        starts = np.empty(m, np.int64)
        starts[0] = 0
        np.cumsum(n[:-1] + 1, out=starts[1:])
        joined = "\n".join(ne)
        codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), np.uint32)
        # collapse runs of blanks inside a line: the lines with "  " or "\t"
        blank = codes == 32
        at = np.flatnonzero(blank[1:] & blank[:-1])
        if "\t" in joined:
            at = np.concatenate((at, np.flatnonzero(codes == 9)))
        if len(at):
            rows = np.unique(np.searchsorted(starts, at, side="right") - 1)
            collapsed = [" ".join(line.split()) for line in map(ne.__getitem__, rows.tolist())]
            for k, line in zip(rows.tolist(), collapsed):
                ne[k] = line
            n[rows] = np.fromiter(map(len, collapsed), np.int64, len(rows))
            np.cumsum(n[:-1] + 1, out=starts[1:])
            joined = "\n".join(ne)
            codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), np.uint32)
        ends = starts + n - 1
        first = _char_classes(codes[starts])
        last = _char_classes(codes[ends])
    long_line = step.max_line_length

    # ---- full line width per page: the width_percentile of its line lengths
    pct = step.width_percentile
    book_width = np.sort(n)[int(pct * (m - 1))]
    per_page = np.bincount(page, minlength=n_pages)
    first_of_page = np.concatenate(([0], np.cumsum(per_page)))
    has = np.flatnonzero(per_page)
    page_max = np.zeros(n_pages, np.int64)
    page_max[has] = np.maximum.reduceat(n, first_of_page[has])
    not_long = n <= long_line
    page_not_long = np.bincount(page, weights=not_long, minlength=n_pages)
    # a page with lines over max_line_length measures its width on the others (if any)
    drop = (page_max > long_line) & (page_not_long > 0)
    kept = ~drop[page] | not_long
    keys = np.sort((page[kept] << 32) | n[kept])
    count = np.bincount(page[kept], minlength=n_pages)
    start = np.concatenate(([0], np.cumsum(count)[:-1]))
    safe = np.maximum(count, 1)
    pick = start + (pct * (safe - 1)).astype(np.int64)
    widest = (keys[np.minimum(start + safe - 1, len(keys) - 1)] & 0xFFFFFFFF)
    width = np.where(count >= step.min_page_lines, keys[np.minimum(pick, len(keys) - 1)] & 0xFFFFFFFF,
                     np.maximum(book_width, widest))
    short_page = step.short_line_ratio * width
    short = short_page[page]  # per line: the short-line threshold of its page
    very_short = short * _VERY_SHORT

    # ---- line features (first and last characters classified above)
    ends = starts + n - 1

    # _is_upper (str.isupper on 3+ characters): not with a lowercase letter first or last
    upper = np.zeros(m, bool)
    rows = np.flatnonzero((n > 2) & ((first | last) & _C_LOWER == 0))
    upper[rows] = np.fromiter(map(str.isupper, map(ne.__getitem__, rows.tolist())), bool, len(rows))
    top = len(codes) - 1
    # _ends_sentence: a sentence end, possibly inside closing quotes or brackets: look at the
    # character before a closer (a second closer: ask _ends_sentence)
    ends_sentence = (last & _C_SENTENCE_END) != 0
    rows = np.flatnonzero(last & _C_CLOSER)
    if len(rows):
        before = _char_classes(codes[np.maximum(ends[rows] - 1, 0)])
        two = n[rows] >= 2  # a lone closer ends no sentence
        ends_sentence[rows] = two & ((before & _C_SENTENCE_END) != 0)
        for k in rows[two & ((before & _C_CLOSER) != 0)].tolist():
            ends_sentence[k] = _ends_sentence(ne[k])
    # _starts_capital: a capital letter; else, after opening quotes, a capital or a digit
    capital = np.where(first & _C_ALPHA, first & _C_UPPER, first & (_C_UPPER | _C_ISDIGIT)) != 0
    rows = np.flatnonzero(first & _C_OPENER)
    if len(rows):
        after = _char_classes(codes[np.minimum(starts[rows] + 1, top)])
        two = n[rows] >= 2
        capital[rows] = two & ((after & (_C_UPPER | _C_ISDIGIT)) != 0)
        for k in rows[two & ((after & _C_OPENER) != 0)].tolist():
            capital[k] = _starts_capital(ne[k])
    # _is_list_item: a list marker or a lowercase letter first, then within the first seven
    # characters a blank after ")" or "." (or after a bullet); the lines that pass this pre-check
    # on the code points are matched (map: no Python loop); lowercase ones are checked in full
    list_item = np.zeros(m, bool)
    rows = _maybe_list_items(codes, starts, first)
    if len(rows):
        hit = np.fromiter(map(bool, map(_LIST_ITEM.match, map(ne.__getitem__, rows.tolist()))), bool, len(rows))
        list_item[rows[hit]] = True
        for k in rows[hit & ((first[rows] & _C_AZ) != 0)].tolist():
            list_item[k] = _is_list_item(ne[k])
    # _is_contents_line: ends in a number after dot leaders or blanks; pre-checked likewise
    contents = np.zeros(m, bool)
    rows = _maybe_contents_lines(codes, ends, last)
    if len(rows):
        tails = map(_TAIL_40, map(ne.__getitem__, rows.tolist()))
        contents[rows] = np.fromiter(map(bool, map(_CONTENTS_LINE.search, tails)), bool, len(rows))

    # ---- boundaries (k, k + 1) and blocks
    same_page = page[1:] == page[:-1]
    same_block = same_page & (where[1:] == where[:-1] + 1)
    block_first = np.concatenate(([0], np.flatnonzero(~same_block) + 1))
    size = np.diff(np.append(block_first, m))
    # the block rule for every block (the reference's _ref_kept): 0 wrapped prose, 1 verse, 2 kept line by line
    kind = np.zeros(len(size), np.int8)
    candidate = size >= 3
    n_long = np.add.reduceat((~not_long).astype(np.int64), block_first)
    lines_kind = candidate & (n_long * 3 >= size)
    kind[lines_kind] = 2
    candidate &= ~lines_kind
    capitals = np.add.reduceat(capital.astype(np.int64), block_first) - capital[block_first]
    verse = candidate & (size >= step.verse_min_lines) & (capitals >= step.verse_capital_share * (size - 1))
    kind[verse] = 1
    candidate &= ~verse
    n_very_short = np.add.reduceat((n < very_short).astype(np.int64), block_first)
    lines_kind = candidate & (n_very_short >= step.short_block_share * size)
    kind[lines_kind] = 2
    candidate &= ~lines_kind
    number_end = (last & _C_NUMBER_END) != 0
    candidate &= ~(np.add.reduceat(number_end.astype(np.int64), block_first) < 0.5 * size)
    if candidate.any():  # contents lists: most lines end in a number
        numbered = np.repeat(candidate, size) & number_end
        ends_in_number = np.zeros(m, bool)
        rows = np.flatnonzero(numbered & ~contents)
        tails = map(_TAIL_8, map(ne.__getitem__, rows.tolist()))
        ends_in_number[rows] = np.fromiter(map(bool, map(_ENDS_IN_NUMBER.search, tails)), bool, len(rows))
        numbered &= ends_in_number | contents
        kind[candidate & (np.add.reduceat(numbered.astype(np.int64), block_first) >= 0.5 * size)] = 2
    block_kind = np.repeat(kind, size)[:-1]  # kind of the block of the boundary's first line

    # ---- break tests of step._unwrap_block on every boundary (l = line k, r = line k + 1)
    nl, nr = n[:-1], n[1:]
    es = ends_sentence[:-1]
    short_l = short[:-1]
    brk = (
        (nl > long_line) | (nr > long_line)
        | (upper[:-1] != upper[1:])
        | contents[:-1]
        | list_item[1:]
        | ((nl < short_l) & (es | (((nl < very_short[:-1]) | upper[:-1]) & capital[1:])))
    )
    if indent is not None:
        brk |= (indent[1:] > indent[:-1] + 1) & es
    if step.quote_starts_paragraph:
        brk |= ((first[1:] & _C_OPENING_QUOTE) != 0) & es
    # separators: 0 nothing (page end), 1 " ", 2 "" (hyphen), 3 "\n\n", 4 the kept-line separator
    sep = np.full(m, 3, np.int8)
    sep[-1] = 0
    sep[:-1][~same_page] = 0
    wrap = same_block & (block_kind == 0) & ~brk
    sep[:-1][wrap] = 1
    sep[:-1][same_block & (block_kind == 1)] = 4
    for k in np.flatnonzero(wrap & ((last[:-1] & _C_HYPHEN) != 0)).tolist():
        prev = ne[k]
        if len(prev) > 1 and prev[-2].isalpha() and ne[k + 1].split(None, 1)[0].lower() not in _SUSPENSION_WORDS:
            sep[k] = 2  # "well-" + "known", "word—" + "word"
    n_joined = int(np.count_nonzero(wrap))
    n_paragraphs = m - n_joined - int(np.count_nonzero(sep == 4))

    # ---- output: lines and separators interleaved, one slice per page
    table = np.array(["", " ", "", "\n\n", step.kept_line_separator], dtype=object)
    tokens = [None] * (2 * m)
    tokens[::2] = ne
    tokens[1::2] = table[sep].tolist()
    bounds = (2 * first_of_page).tolist()
    out = ["".join(tokens[bounds[p]:bounds[p + 1]]) if per_page[p] else "" for p in range(n_pages)]
    return out, n_joined, n_paragraphs
