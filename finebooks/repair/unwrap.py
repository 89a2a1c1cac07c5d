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

Pages are unwrapped independently (a paragraph that runs over a page end stays split there:
the page structure is kept), and the page count never changes. Leading indentation and runs of
spaces inside a line are collapsed. Records ``lines_joined`` (wraps removed) and ``paragraphs``
(paragraphs written).
"""

from __future__ import annotations

import re

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

    # ------------------------------------------------------------------ widths
    def _width(self, lengths: list[int]) -> int:
        lengths = sorted(lengths)
        return lengths[int(self.width_percentile * (len(lengths) - 1))]

    def repair_pages(self, pages: list[str], doc: Document | None) -> list[str]:
        split = []
        book_lengths: list[int] = []
        for page in pages:
            raws = page.split("\n")
            lines = [raw.strip() for raw in raws]
            if "  " in page or "\t" in page:  # collapse runs of blanks inside a line
                lines = [" ".join(ln.split()) if ("  " in ln or "\t" in ln) else ln for ln in lines]
            if page[:1] in (" ", "\t") or "\n " in page or "\n\t" in page:
                indents = [len(raw) - len(raw.lstrip()) if raw[:1] in (" ", "\t") else 0 for raw in raws]
            else:  # no line starts with a blank: no indents
                indents = [0] * len(raws)
            split.append((lines, indents))
            book_lengths.extend([n for n in map(len, lines) if n])
        book_width = self._width(book_lengths) if book_lengths else 0
        out = []
        joined = paragraphs = 0
        for lines, indents in split:
            text, j, p = self._unwrap_page(lines, indents, book_width)
            out.append(text)
            joined += j
            paragraphs += p
        if joined:
            self.note(doc, "lines_joined", joined)
        if paragraphs:
            self.note(doc, "paragraphs", paragraphs)
        return out

    # ------------------------------------------------------------------ one page
    def _unwrap_page(self, lines: list[str], indents: list[int], book_width: int) -> tuple[str, int, int]:
        lengths = [n for n in map(len, lines) if n]
        if not lengths:
            return "", 0, 0
        if max(lengths) > self.max_line_length:  # paragraphs on one line: not print lines
            lengths = [n for n in lengths if n <= self.max_line_length] or lengths
        width = self._width(lengths) if len(lengths) >= self.min_page_lines else max(book_width, max(lengths))
        short = self.short_line_ratio * width
        paragraphs: list[str] = []
        n_joined = 0
        if "" not in lines:  # one block (no blank line)
            n_joined = self._unwrap_block(lines, indents, short, paragraphs)
            return "\n\n".join(paragraphs), n_joined, len(paragraphs)
        start = None
        for i, line in enumerate(lines):
            if line:
                if start is None:
                    start = i
            elif start is not None:
                n_joined += self._unwrap_block(lines[start:i], indents[start:i], short, paragraphs)
                start = None
        if start is not None:
            n_joined += self._unwrap_block(lines[start:], indents[start:], short, paragraphs)
        return "\n\n".join(paragraphs), n_joined, len(paragraphs)

    def _kept_lines(self, block: list[str], short: float) -> str | None:
        """``"verse"`` or ``"lines"`` (title page, address, list, contents) for a block whose lines
        are no wrapped prose and are kept, else ``None``."""
        n = len(block)
        if n < 3:
            return None
        if sum(1 for ln in block if len(ln) > self.max_line_length) * 3 >= n:
            return "lines"  # one paragraph per line already (an e-text), not verse however capitalised
        if n >= self.verse_min_lines:
            capitals = len([1 for ln in block[1:]
                            if ln[0].isupper() or (not ln[0].isalpha() and _starts_capital(ln))])
            if capitals >= self.verse_capital_share * (n - 1):
                return "verse"
        very_short = short * _VERY_SHORT
        if len([1 for ln in block if len(ln) < very_short]) >= self.short_block_share * n:
            return "lines"
        numbered = [ln for ln in block if ln[-1] in _NUMBER_END]  # cheap test first
        if len(numbered) < 0.5 * n:
            return None
        numbered = sum(1 for ln in numbered if _ends_in_number(ln) or _is_contents_line(ln))
        return "lines" if numbered >= 0.5 * n else None

    def _unwrap_block(self, block: list[str], indents: list[int], short: float, paragraphs: list[str]) -> int:
        kept = self._kept_lines(block, short)
        if kept == "verse":
            paragraphs.append(self.kept_line_separator.join(block))
            return 0
        if kept == "lines":
            paragraphs.extend(block)
            return 0
        very_short = short * _VERY_SHORT
        long_line = self.max_line_length
        quotes = self.quote_starts_paragraph
        # the tests below are those of the docstring, inlined (one pass over the block's lines;
        # _is_upper, _ends_sentence, _starts_capital are pure, so only their cost is saved)
        parts = [block[0]]
        n_joined = 0
        prev = block[0]
        prev_len = len(prev)
        prev_upper = prev_len > 2 and prev.isupper()
        prev_indent = indents[0]
        for line, indent in zip(block[1:], indents[1:]):
            n = len(line)
            upper = n > 2 and line.isupper()
            c = line[0]
            last = prev[-1]
            if (
                prev_len > long_line or n > long_line  # already a paragraph per line
                or upper != prev_upper  # a heading in capitals starts or ends
                or (last in _DIGITS and _is_contents_line(prev))
                or ((c in _LIST_START or ")" in line[:6] or "." in line[:6]) and _is_list_item(line))
                or (prev_len < short and (
                    _ends_sentence(prev)
                    # a capital after a short line: a heading or title-page line ("BY", "THE
                    # MERCHANT"), not any short line (German capitalises nouns; a line that gave
                    # its last word to a dehyphenated break above is short too)
                    or ((prev_len < very_short or prev_upper) and _starts_capital(line))))
                or (indent > prev_indent + 1 and _ends_sentence(prev))
                or (quotes and c in _OPENING_QUOTES and _ends_sentence(prev))
            ):
                paragraphs.append("".join(parts))
                parts = [line]
            else:
                n_joined += 1
                if last in _HYPHEN_END and prev_len > 1 and prev[-2].isalpha() \
                        and line.split(None, 1)[0].lower() not in _SUSPENSION_WORDS:
                    parts.append(line)  # "well-" + "known", "word—" + "word"
                else:
                    parts.append(" ")
                    parts.append(line)
            prev, prev_len, prev_upper, prev_indent = line, n, upper, indent
        paragraphs.append("".join(parts))
        return n_joined
