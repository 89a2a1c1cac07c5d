"""Remove page furniture: running heads and feet, page numbers, signature marks and catchwords.

A printed book repeats on (nearly) every page things that are not its text: a running head
(the book's title over the left-hand page, the chapter's over the right, often with the page
number: ``12 THE HISTORY OF ROME`` / ``THE KINGS 13``), running feet (a series line, Google's
``Digitized by Google``), bare page numbers (``12``, ``- 12 -``, ``[12]``, ``xii`` in the front
matter), and in older books printers' signature marks (``B 2``, ``Ccc``, ``I. 3``) and
catchwords (the first word of the next page printed under the last line). OCR keeps all of them
in the middle of the book's text: they split sentences and paragraphs, defeat dehyphenation
across pages and teach a language model that ``THE HISTORY OF ROME 13`` follows every 40th line.

How lines are found, per book, looking at all of its pages at once:

* **Only page edges are candidates**: the first and last ``max_lines_from_edge`` non-blank
  lines of each page. A line inside a page is never touched, however often it repeats; and
  furniture must *touch* the edge: a line is removed only when every non-blank line between it
  and the edge is removed too (or is a speck of OCR noise), so a chapter title under a
  ``CHAPTER I.`` heading survives even when it is also the chapter's running head.
* **Running heads and feet** are edge lines whose *key* (lower case; digits, roman numerals,
  punctuation and one- or two-letter tokens removed) repeats. Keys are grouped fuzzily
  (character 3-gram Dice similarity ``>= similarity``) so that OCR noise (``SY IZZE.`` /
  ``SVIZZE.``) and changing page numbers do not split a head: groups grow from the keys seen
  twice or more, and every other key is compared only with groups that share a word, a key
  prefix or suffix with it and have a similar length (a 600-page book costs a few thousand
  comparisons, not millions). Verso and recto heads are two groups. A group is a running head
  when it covers ``min_repeats`` pages in a run without gaps over ``max_gap`` pages (or, in a
  short book, is in capitals), keeps to one edge, and is the outermost line of most of its
  pages. It is *text* when the same key also occurs inside pages (a refrain, a speaker in a
  play, a psalm heading), or when it is a heading word with a new number each time (``CHAPTER
  I.``, ``CHAPTER II.``, ``Kapitel 3``; ``LETTER XII.`` repeated over the pages of that letter is
  a head). Footnotes and numbered items (``1. Reisen auf ...``, ``* See ...``) and lines ending
  inside a hyphenated word are never heads. The title page and other front matter before the
  first numbered page keep the title they share with the running head.
* A head that does not repeat (a recto head naming a chapter of one or two pages) is still
  taken when it carries the page's own number, or when the book heads most pages and the line
  is short, in capitals and not a heading.
* **Page numbers** are edge lines holding only an arabic or roman number, with at most two
  specks of OCR noise on each side (``- 12 -``, ``12.``, ``[12]``, ``■( 32 )``) and OCR's digit
  confusions undone (``l2``, ``1O``). A number is taken when it fits the book's sequence:
  another printed number (bare, or on a running head) within ``page_number_window`` pages gives
  nearly (``page_number_tolerance``) the same offset between printed number and page index, or
  the line is one OCR slip away from the number the sequence expects (``IZ``, ``-4`` for 14). A
  number with no sequence around it is taken only at the very edge, when plausible for its
  page. Roman numbers are page numbers only in the front matter (before the arabic numbers
  begin) and never when a page edge holds several of them (a table of contents).
* **Signatures** (``B 2``, ``A3``, ``C``, ``Bb 2``, ``I. 6``) are taken at the foot of a page
  in a book that has at least ``min_repeats`` of them; bare gathering numbers (French and
  German books print ``2``, ``3``, ... on the first page of each gathering) when others lie a
  whole number of gatherings (4 to 32 pages) away.
* **Catchwords**: a page's last line that begins the next page's text (``The`` / ``The town
  of``, ``gran-`` / ``grande``, ``d' Er-`` / ``d' Ercole``), possibly after a signature
  (``D 2 that``, ``Leviath. Ggg quis``), compared after OCR noise with a fuzzy match. Books
  print catchwords on every page or on none, so they are removed only from a book where at
  least a fifth of the pages have one (a paragraph's short last line that happens to begin
  the next page stays).

Removed lines are counted per kind (``running_head``, ``running_foot``, ``page_number``,
``signature``, ``catchword``) in the step's stats and in ``metadata["repairs"]
["remove_running_heads"]``. The page count never changes; blank lines that separated removed
furniture from the text at a page edge go with it. A one-page book (a clean transcription
without page breaks) is returned unchanged. :meth:`RunningHeadRemover.find_furniture` returns
what would be removed without changing anything (used by the evaluation).
"""

from __future__ import annotations

import re
from collections import Counter
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import compress, pairwise

import numpy as np
from datatrove.data import Document

from finebooks.repair.base import PageRepairer

#: kinds of furniture, in the order they are reported
KINDS = ("running_head", "running_foot", "page_number", "signature", "catchword")

# ------------------------------------------------------------------------------- patterns
# punctuation / OCR specks allowed around a bare page number: "- 12 -", "[12]", "12.", "* 12 *"
# (at most two such characters on each side: more is an engraving's OCR noise, not a number)
_NOISE = r"\s*(?:[^\w\s]\s*){0,2}"
_BARE_NUMBER = re.compile(rf"{_NOISE}(?P<tok>[0-9OoIlSZ|]{{1,4}}|[ivxlcdmIVXLCDM]{{1,9}}){_NOISE}")
_ROMAN = re.compile(r"m{0,3}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})")
# OCR confusions of digits, applied only to tokens that are otherwise numeric
_DIGIT_FIX = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "|": "1", "S": "5", "Z": "2"})
# a printers' signature alone: 1-4 of the same letter (``B``, ``Bb``, ``Ccc``, OCR-spaced
# ``c c c``), optionally after a volume mark (``I.``), with an optional gathering number
# (digits, or roman i-v; OCR reads 2 as z)
_SIGNATURE = re.compile(
    r"[^\w\s]{0,2}\s*(?:(?P<vol>[IVX]{1,3})[.,]\s*)?(?P<let>[A-Za-z])(?:\s?(?P=let)){0,3}[.,]?\s?"
    r"(?P<num>[0-9zZlI]{1,2}|[ivIV]{1,4})?[^\w\s]{0,2}",
    re.IGNORECASE,
)
# a volume mark with a gathering number only (``I. 6``): German and French books
_SIGNATURE_NUM = re.compile(r"[^\w\s]{0,2}\s*[IVX]{1,3}[.,]\s*(?P<num>[0-9]{1,2})[^\w\s]{0,2}")
# gathering sizes (pages between two signatures): folio to 32mo
_GATHERINGS = (4, 8, 12, 16, 24, 32)
_NON_LETTERS = re.compile(r"[\W\d_]+", re.UNICODE)
_EDGE_NUMBER = re.compile(r"^\W*(?P<a>[0-9][0-9OoIlSZ]{0,3})\b|\b(?P<b>[0-9OoIlSZ]{0,3}[0-9])\W*$")
_DIGITS = re.compile(r"\d+")
_ASCII_DIGIT = re.compile(r"[0-9]")  # _EDGE_NUMBER needs one
_WORD_BREAK = re.compile(r"[^\W\d_][-\u00ad¬]$")  # a line ending inside a word: text, not a head
_BREAK_MARKS = "-\u00ad¬"  # the last character of every _WORD_BREAK match (a cheap test first)
_ITEM_MARK = re.compile(r"(?:\d{1,3}[.)]|\(\w{1,3}\)|[*†‡§¶])\s")
_ITEM_FIRST = "(*†‡§¶"  # the first character of an _ITEM_MARK match, besides a digit (\d)
_ALNUM = re.compile(r"[^\W_]", re.UNICODE)
_THREE_ALNUM = re.compile(r"[^\W_](?:[\W_]*[^\W_]){2}", re.UNICODE)  # more than a speck of noise
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_WORD3 = re.compile(r"[^\W\d_]{3,}", re.UNICODE)  # a run of 3+ letters (line_key)

# a line whose key is only one of these words is a heading (CHAPTER I., Kapitel 2, LIBER III),
# text that opens a chapter, never a running head
HEADING_WORDS = frozenset({
    # headings that open a part of the text, usually with a number
    "chapter", "chap", "chapt", "book", "part", "section", "sect", "canto", "act", "scene",
    "letter", "lecture", "lesson", "psalm", "hymn", "song", "sermon", "appendix", "no", "number",
    "vol", "volume", "table", "plate", "fig", "figure", "page", "tab", "taf", "tav",
    "chapitre", "livre", "partie", "acte", "scène", "lettre", "tome", "planche",
    "kapitel", "buch", "teil", "abschnitt", "abtheilung", "abteilung", "akt", "auftritt", "brief",
    "band", "tafel",
    "capitolo", "capo", "libro", "parte", "atto", "scena", "lettera", "tavola",
    "capitulo", "capítulo", "acto", "escena", "carta",
    "hoofdstuk", "boek", "deel", "afdeeling", "bedrijf", "tooneel",
    "caput", "cap", "liber", "pars", "sectio", "actus", "epistola", "tabula",
    # front and back matter
    "preface", "introduction", "contents", "index", "dedication", "advertisement", "errata",
    "postscript", "conclusion", "préface", "avertissement", "matières", "avant", "propos",
    "vorrede", "vorwort", "einleitung", "inhalt", "nachwort", "prefazione", "introduzione",
    "indice", "prefacio", "prólogo", "introducción", "índice", "voorrede", "inleiding", "inhoud",
    "bericht", "praefatio", "prooemium",
})


@lru_cache(maxsize=4096)
def _is_heading(key: str) -> bool:
    """A key that is only a heading word (``chapter``), allowing one OCR slip (``ssalm``)."""
    if key in HEADING_WORDS:
        return True
    if " " in key or len(key) < 4:
        return False
    # within one edit of a heading word of 4+ letters (``_edit_distance_le1``), by set look-ups:
    # the key is such a word less a letter, a letter of the key is one too many, or the two
    # differ in one letter (the same key with that letter as "\0"; keys hold no "\0")
    if key in _HEADING_DELETIONS:
        return True
    for i in range(len(key)):
        if key[:i] + key[i + 1 :] in _HEADING4 or key[:i] + "\0" + key[i + 1 :] in _HEADING_SUBSTITUTIONS:
            return True
    return False


_HEADING4 = frozenset(w for w in HEADING_WORDS if len(w) >= 4)
_HEADING_DELETIONS = frozenset(w[:i] + w[i + 1 :] for w in _HEADING4 for i in range(len(w)))
_HEADING_SUBSTITUTIONS = frozenset(w[:i] + "\0" + w[i + 1 :] for w in _HEADING4 for i in range(len(w)))


def _roman_value(token: str) -> int | None:
    t = token.lower()
    if not t or not _ROMAN.fullmatch(t):
        return None
    values = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
    total = 0
    for a, b in zip(t, t[1:] + " "):
        v = values[a]
        total += -v if b != " " and values[b] > v else v
    return total or None


def parse_page_number(line: str) -> tuple[int, str] | None:
    """``(value, "arabic" | "roman")`` when ``line`` holds only a page number, else ``None``.

    OCR noise around the number is allowed (``- 12 -``, ``[12]``, ``12.``) and common OCR
    confusions inside an arabic number are undone (``l2`` -> 12, ``1O`` -> 10) when at least one
    real digit is present. Roman numbers must be well formed and in one case (``xii``, ``XII``).
    """
    m = _BARE_NUMBER.fullmatch(line)
    return _token_number(m.group("tok")) if m else None


def _token_number(tok: str) -> tuple[int, str] | None:
    """The page number a ``_BARE_NUMBER`` token stands for (see :func:`parse_page_number`)."""
    if any(c.isdigit() for c in tok):
        digits = tok.translate(_DIGIT_FIX)
        return (int(digits), "arabic") if digits.isdigit() and int(digits) > 0 else None
    if tok.islower() or tok.isupper():
        value = _roman_value(tok)
        if value is not None and value <= 200:  # front matter, not a year (MDCCLXXXIV)
            return value, "roman"
    return None


def _noisy_number(line: str) -> str | None:
    """The digits an edge line may stand for when OCR garbled them (``IZ``, ``-4``), else None."""
    m = _BARE_NUMBER.fullmatch(line)
    if not m:
        return None
    digits = m.group("tok").translate(_DIGIT_FIX)
    return digits if digits.isdigit() else None


@lru_cache(maxsize=1 << 14)
def line_key(line: str) -> str:
    """The matching key of a line: lower case, no digits / roman numerals / punctuation."""
    # tokens of one or two letters are too weak to match on, and are often a page number that
    # OCR read as letters ("io" for 10); a token made of roman digits only is a number. The
    # tokens are the runs of 3+ letters (the same as splitting on _NON_LETTERS and dropping the
    # shorter ones: a run shorter than 3 has no 3-letter part); cached, as running heads repeat.
    return " ".join([t for t in _WORD3.findall(line.lower()) if t.strip("ivxlcdm")])


# ------------------------------------------------------------- edge lines, all at once
# ``line_key`` costs a few microseconds a line (a Unicode regex and a loop over its tokens), the
# number, item and word-break patterns about a microsecond each, and a book has thousands of
# edge lines. ``_edge_analysis`` computes the keys of all of a book's edge lines at once with
# numpy, over the UTF-16 code units of the lines joined by newlines (lower-case them, find the
# runs of letters, keep the runs of 3+ letters that are not all roman digits, join each line's
# runs by a space), and the cheap facts that tell which lines need a pattern at all. The
# per-character tables cover the Basic Multilingual Plane and are built on first use; lines
# with a character beyond it take the per-line functions.
_BMP_TABLES: tuple[np.ndarray, ...] | None = None
#: bit ``ord(c) - 97`` set for the roman digits ``ivxlcdm``
_ROMAN_BITS = np.uint32(sum(1 << (ord(c) - 97) for c in "ivxlcdm"))
# characters whose ``str.lower()`` is not a per-character table look-up: U+0130 lower-cases to
# two characters, capital sigma to final or medial sigma depending on its neighbours
_LOWER_CONTEXT = ("\u0130", "\u03a3")


def _bmp_tables() -> tuple[np.ndarray, ...]:
    """For each BMP code point: its lower case; whether it is a letter (``[^\\W\\d_]``, as
    ``_WORD3`` sees it); white space (``\\s``); the first character of an ``_ITEM_MARK`` (a
    decimal digit ``\\d``, or one of ``_ITEM_FIRST``). Built once, on first use."""
    global _BMP_TABLES
    if _BMP_TABLES is None:
        bmp = "".join(map(chr, range(0x10000)))
        no_context = bmp
        for ch in _LOWER_CONTEXT:
            no_context = no_context.replace(ch, "\0")  # never looked up (lines with them take line_key)
        lower = np.frombuffer(no_context.lower().encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
        tables = [lower]
        for pattern in (r"[^\W\d_]+", r"\s+", r"\d+"):
            table = np.zeros(0x10000, dtype=bool)
            for m in re.finditer(pattern, bmp):
                table[m.start() : m.end()] = True
            tables.append(table)
        tables[3][[ord(ch) for ch in _ITEM_FIRST]] = True
        _BMP_TABLES = tuple(tables)
    return _BMP_TABLES


class _EdgeAnalysis:
    """What ``_edge_analysis`` found about each of a list of lines."""

    __slots__ = ("keys", "length", "maybe_break", "maybe_item", "maybe_number")

    def __init__(self, keys, length, maybe_number, maybe_item, maybe_break):
        self.keys: list[str] = keys  # line_key of each line
        self.length: np.ndarray = length  # characters
        # indices of the lines that may match _BARE_NUMBER, _ITEM_MARK, _WORD_BREAK: the others
        # cannot (too many characters besides white space; wrong first or last character)
        self.maybe_number: list[int] = maybe_number
        self.maybe_item: list[int] = maybe_item
        self.maybe_break: list[int] = maybe_break


def _line_keys(texts: list[str]) -> list[str]:
    """``[line_key(t) for t in texts]`` (``texts`` hold no newline), computed at once."""
    return _edge_analysis(texts).keys


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenated ``range(s, s + n)`` of the given starts and lengths."""
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return offsets + np.arange(len(offsets))


def _edge_analysis(texts: list[str]) -> _EdgeAnalysis:
    """Keys and cheap facts of ``texts`` (lines: no newline in them), all at once."""
    n_lines = len(texts)
    if not n_lines:
        return _EdgeAnalysis([], np.zeros(0, dtype=np.int64), [], [], [])
    joined = "\n".join(texts + [""])  # each line ends with a newline
    code = np.frombuffer(joined.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    high = np.flatnonzero(code >= 128)
    high_code = code[high]
    if len(high) and np.any((high_code >= 0xD800) & (high_code < 0xE000)):  # beyond the BMP: rare
        every = list(range(n_lines))
        return _EdgeAnalysis([line_key(t) for t in texts], np.array([len(t) for t in texts]), every, every, every)
    lower_table, letter_table, space_table, item_first_table = _bmp_tables()
    ends = np.flatnonzero(code == 10)  # ends[i]: the newline after line i
    starts = np.empty(n_lines, dtype=np.int64)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    length = ends - starts
    # _BARE_NUMBER: at most 13 characters besides white space (2 + 9 + 2). White space is
    # mostly " ": count those per line, and take every line with another white space character
    spaces = np.zeros(len(code) + 1, dtype=np.int32)
    np.cumsum(code == 32, out=spaces[1:])
    number = length - (spaces[ends] - spaces[starts]) <= 13
    other = np.flatnonzero(code < 32)  # ASCII white space but " " is below 32 (\t \v \f \r \x1c-\x1f)
    other = other[code[other] != 10]
    if len(high):
        other = np.concatenate((other, high[space_table[high_code]]))
    number[np.searchsorted(ends, other)] = True
    # _ITEM_MARK: a first character that is a decimal digit, "(" or a footnote mark;
    # _WORD_BREAK: a last character that is a hyphen or "¬"
    nonempty = length > 0
    first = code[np.minimum(starts, len(code) - 1)]
    last = code[ends - 1]
    breaks = np.zeros(n_lines, dtype=bool)
    for mark in _BREAK_MARKS:
        breaks |= last == ord(mark)
    facts = (length, np.flatnonzero(number).tolist(), np.flatnonzero(item_first_table[first] & nonempty).tolist(),
             np.flatnonzero(breaks & nonempty).tolist())
    if any(ch in joined for ch in _LOWER_CONTEXT):
        return _EdgeAnalysis([line_key(t) for t in texts], *facts)
    # letters, lower-cased: an ASCII letter has (code | 32) - 97 < 26; the others from the tables
    low = code | 32
    rel = low - 97  # (wraps round below "a")
    letter = rel < 26
    roman = np.right_shift(_ROMAN_BITS, rel & 31) & 1  # (meaningful for ASCII letters only)
    if len(high):
        low_high = lower_table[high_code]
        low[high] = low_high
        letter[high] = letter_table[low_high]
        roman[high] = 0  # no ASCII letter (U+212A, Kelvin, lower-cases to "k": no roman digit)
    # runs of letters: [run_starts[i], run_ends[i]); every line ends with a newline, so every run ends
    n = len(code)
    edge = np.empty(n + 1, dtype=bool)
    edge[0] = letter[0]
    edge[n] = False
    np.not_equal(letter[1:], letter[:-1], out=edge[1:n])
    bounds = np.flatnonzero(edge)
    run_starts, run_ends = bounds[0::2], bounds[1::2]
    run_length = run_ends - run_starts
    # keep the runs of 3+ letters with a letter that is not a roman digit
    not_roman = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(letter > (roman == 1), out=not_roman[1:])
    keep = (run_length >= 3) & (not_roman[run_ends] > not_roman[run_starts])
    # the text of the keys: the kept runs, each followed by a space (on the character after it,
    # unless that is the newline), and the newlines; " \n" after a line's last run becomes "\n"
    take = letter  # (the letters are not needed any more)
    drop = ~keep
    take[_ranges(run_starts[drop], run_length[drop])] = False
    after = run_ends[keep]
    take[after] = True
    take[ends] = True
    low[after] = 32
    low[ends] = 10
    keys = low[take].tobytes().decode("utf-16-le").replace(" \n", "\n").split("\n")
    keys.pop()  # after the last newline
    return _EdgeAnalysis(keys, *facts)


def _grams(key: str) -> frozenset[str]:
    s = f" {key} "
    return frozenset([s[i : i + 3] for i in range(len(s) - 2)])


def _gram_codes(keys: list[str]) -> list[frozenset[int]]:
    """``_grams`` of each key, with each 3-gram coded as a number (its three code points, 21 bits
    each): the same sets up to that one-to-one coding, so the same sizes, intersections and Dice
    similarities. Computed for all the keys at once with numpy: building each key's 3-gram
    strings one by one costs several microseconds a key."""
    if not keys:
        return []
    padded = [f" {key} " for key in keys]
    code = np.frombuffer("".join(padded).encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    flat = ((code[:-2] << 42) | (code[1:-1] << 21) | code[2:]).tolist()  # 3-grams at every offset
    out = []
    pos = 0
    for s in padded:  # a key's 3-grams start at its first len(s) - 2 offsets
        out.append(frozenset(flat[pos : pos + len(s) - 2]))
        pos += len(s)
    return out


def _edit_distance_le1(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by at most one insertion, deletion or substitution."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        return sum(x != y for x, y in zip(a, b)) == 1
    if la > lb:
        a, b = b, a
    # b is one longer: deleting one character of b gives a
    return any(b[:i] + b[i + 1 :] == a for i in range(len(b)))


class _Cand:
    """A line at a page edge: where it is, and what it might be."""

    __slots__ = ("isolated", "key", "kind", "line", "noisy", "number", "page", "rank", "raw", "side", "text")

    def __init__(self, page: int, line: int, side: int, rank: int, raw: str):
        self.page = page  # 0-based page index
        self.line = line  # index in page.split("\n"); negative: from the end (foot lines)
        self.side = side  # 0: top of the page, 1: foot
        self.rank = rank  # 0 = outermost non-blank line on its side
        self.raw = raw
        self.text = raw.strip()
        self.key = ""
        self.number: tuple[int, str] | None = None
        self.noisy: str | None = None
        self.kind: str | None = None
        self.isolated = False  # a page number taken without a sequence around it


class RunningHeadRemover(PageRepairer):
    """Remove running heads/feet, page numbers, signature marks and catchwords from book pages.

    Page furniture repeated on every page is not the book's text, and left in place it cuts
    sentences at every page break. See the module docstring for how each kind is recognised;
    every decision is made per book from the lines at the page edges, and body lines are never
    candidates. Registry name: ``remove_running_heads``.

    Args:
        max_lines_from_edge: non-blank lines at the top and at the foot of each page that are
            candidates (furniture must also touch the edge: only specks of noise or other
            furniture may lie between it and the edge).
        min_repeats: pages a running head or foot must occur on (in one run, see ``max_gap``);
            also the number of signature-like foot lines a book needs before any is removed,
            and the least number of catchwords that make a catchword habit.
        similarity: character 3-gram Dice similarity (0-1) at or above which two edge lines'
            keys are the same running head despite OCR noise.
        max_gap: the largest distance in pages between two occurrences of a running head that
            still belong to one run (heads skip chapter openings, plates and blank pages).
        max_head_chars: edge lines longer than this (in characters) are never running heads
            or feet.
        page_number_window: pages on either side searched for printed numbers that confirm a
            candidate page number's place in the sequence.
        page_number_tolerance: how much the offset between printed number and page index may
            differ between two confirming numbers (unnumbered plates shift it).
        remove_page_numbers: remove bare page numbers.
        remove_signatures: remove printers' signature marks at the foot of pages.
        remove_catchwords: remove catchwords (a last line that begins the next page's text).
        record: keep per-book counts in ``metadata["repairs"]["remove_running_heads"]``.
    """

    name = "remove_running_heads"

    def __init__(
        self,
        max_lines_from_edge: int = 3,
        min_repeats: int = 3,
        similarity: float = 0.6,
        max_gap: int = 6,
        max_head_chars: int = 70,
        page_number_window: int = 10,
        page_number_tolerance: int = 2,
        remove_page_numbers: bool = True,
        remove_signatures: bool = True,
        remove_catchwords: bool = True,
        record: bool = True,
    ):
        super().__init__(record=record)
        self.max_lines_from_edge = max_lines_from_edge
        self.min_repeats = min_repeats
        self.similarity = similarity
        self.max_gap = max_gap
        self.max_head_chars = max_head_chars
        self.page_number_window = page_number_window
        self.page_number_tolerance = page_number_tolerance
        self.remove_page_numbers = remove_page_numbers
        self.remove_signatures = remove_signatures
        self.remove_catchwords = remove_catchwords

    # ================================================================== repair
    def repair_pages(self, pages: list[str], doc: Document | None) -> list[str]:
        found = self.find_furniture(pages)
        out = []
        counts: Counter = Counter()
        for page, marks in zip(pages, found):
            if marks:
                counts.update(marks.values())
                page = _remove_lines(page, marks)
            out.append(page)
        for kind in KINDS:
            if counts[kind]:
                self.note(doc, kind, counts[kind])
        return out

    # ================================================================== detection
    def find_furniture(self, pages: list[str]) -> list[dict[int, str]]:
        """For each page, ``{line index: kind}`` of the lines to remove (``page.split("\\n")``)."""
        result: list[dict[int, str]] = [{} for _ in pages]
        if sum(1 for p in pages if p.strip()) < 2:
            return result
        cands, by_page = self._candidates(pages)
        if not cands:
            return result
        self._running_lines(pages, cands, by_page)
        evidence = self._number_evidence(cands, by_page)
        if self.remove_page_numbers:
            self._page_numbers(cands, evidence, len(pages), by_page)
        self._numbered_heads(cands, evidence)
        if self.remove_signatures:
            self._signatures(cands)
        self._touch_edge(by_page)
        if self.remove_catchwords:
            self._catchwords(by_page)
        n_lines: dict[int, int] = {}  # foot lines are indexed from the end of their page
        for c in cands:
            if c.kind:
                line = c.line
                if line < 0:
                    if c.page not in n_lines:
                        n_lines[c.page] = pages[c.page].count("\n") + 1
                    line += n_lines[c.page]
                result[c.page][line] = c.kind
        return result

    # ------------------------------------------------------------------ candidates
    def _candidates(self, pages: list[str]) -> tuple[list[_Cand], list[tuple[list[_Cand], list[_Cand]]]]:
        """The edge lines of every page (``by_page[p] = (top, foot)``, each in rank order), with
        their page numbers and keys.

        Only the lines near the edges are looked at (found with ``str.find`` / ``rfind`` from
        each end, not by splitting the whole page; foot lines are indexed from the end of the
        page), and their keys, with the facts that tell which lines need the number, item and
        word-break patterns at all, are computed for all of them at once (:func:`_edge_analysis`).
        """
        k = self.max_lines_from_edge
        max_chars = self.max_head_chars
        bare = _BARE_NUMBER.fullmatch
        item = _ITEM_MARK.match
        cands: list[_Cand] = []
        by_page: list[tuple[list[_Cand], list[_Cand]]] = []
        for p, page in enumerate(pages):
            if not page.strip():
                by_page.append(([], []))
                continue
            top = _top_lines(page, k)
            bottom = _bottom_lines(page, k)
            # a line within reach of both edges belongs to the nearer one (ties: top)
            if top[-1][2] < bottom[-1][2]:  # the usual page: the two edges do not meet
                top_c = [_Cand(p, i, 0, r, raw) for r, (i, raw, _) in enumerate(top)]
                bot_c = [_Cand(p, i, 1, r, raw) for r, (i, raw, _) in enumerate(bottom)]
            else:  # a short page: the same lines, by their index from the top
                top_i = [i for i, _, _ in top]
                bot_i = [page.count("\n", 0, pos) for _, _, pos in bottom]
                top_c = [_Cand(p, i, 0, r, raw) for r, (i, raw, _) in enumerate(top)
                         if not (i in bot_i and bot_i.index(i) < r)]
                bot_c = [_Cand(p, i, 1, r, raw) for r, (i, (_, raw, _)) in enumerate(zip(bot_i, bottom))
                         if not (i in top_i and top_i.index(i) <= r)]
            by_page.append((top_c, bot_c))
            cands += top_c
            cands += bot_c
        texts = [c.text for c in cands]
        facts = _edge_analysis(texts)
        keyed = (facts.length <= max_chars).tolist()
        for i in facts.maybe_number:
            c = cands[i]
            m = bare(c.text)
            if m is not None:
                tok = m.group("tok")
                c.number = _token_number(tok)
                if c.number is not None:
                    keyed[i] = False
                    continue
                digits = tok.translate(_DIGIT_FIX)
                c.noisy = digits if digits.isdigit() else None  # _noisy_number
        # a footnote or a numbered item ("1. Reisen auf den ...", "* See ...") is text, however
        # often it cites the same source; so is a line broken by a hyphen
        for i in facts.maybe_item:
            if keyed[i] and item(texts[i]):
                keyed[i] = False
        for i in facts.maybe_break:
            if keyed[i] and _WORD_BREAK.search(texts[i]):
                keyed[i] = False
        for c, key in compress(zip(cands, facts.keys), keyed):
            c.key = key
        return cands, by_page

    # ------------------------------------------------------------------ running heads / feet
    def _running_lines(self, pages: list[str], cands: list[_Cand], by_page) -> None:
        heads = [c for c in cands if c.key and c.number is None]  # (a key is empty or has 3+ letters)
        if len(heads) < self.min_repeats:
            return
        clusters = self._cluster(heads)
        first_page = next(p for p, page in enumerate(pages) if page.strip())
        book = _BookText(pages)  # built lazily: most books never need it
        for members in clusters:
            # chapter openings (CHAPTER I., CHAPTER II., ...): a heading word with a new number
            # each time; a running head made of one (LETTER XII. over the pages of that letter)
            # repeats its number
            if _is_heading(members[0].key) and len({c.text for c in members}) > 0.5 * len(members):
                continue
            # the same for any one-word heading (a psalm's, OCR-garbled beyond the word list:
            # "Itealm xli."): a new roman number every time; a running head's changing number is
            # the page's (arabic), and without it the head repeats
            if " " not in members[0].key and len({_DIGITS.sub("", c.text) for c in members}) > 0.8 * len(members):
                continue
            # a running head is the outermost line of most of its pages, and it repeats exactly
            # at least now and then; similar body lines (a formula of the text) do neither
            if sum(c.rank == 0 for c in members) < 0.5 * len(members):
                continue
            if Counter(c.key for c in members).most_common(1)[0][1] < 2:
                continue
            # the same lines away from the page edges: body text that happens to repeat (a
            # speaker's name in a play, a psalm heading)
            if self._inside(book, members) >= max(2, 0.2 * len(members)):
                continue
            # in a run of pages, or (a short book, heads that skip many pages) in capitals
            if not self._in_runs(members) and sum(map(_looks_like_head, members)) < 0.8 * len(members):
                continue
            # a head (or foot) keeps to its edge: on the other edge only its exact words count
            top = sum(c.side == 0 for c in members)
            side = 0 if top >= 0.7 * len(members) else 1 if top <= 0.3 * len(members) else None
            if side is not None:
                seeds = {k for k, n in Counter(c.key for c in members).items() if n >= 2}
                members = [c for c in members if c.side == side or c.key in seeds]
            for c in self._near_others(members):
                c.kind = "running_head" if c.side == 0 else "running_foot"
        # the title page and other front matter before the first numbered page are not headed by
        # the running title they share (a foot, such as a library stamp, may be on every page)
        # (the first numbered page: cands are in page order)
        start = next((c.page for c in cands if (c.rank == 0 and c.number and c.number[0] <= c.page + 3)
                      or (c.kind and _edge_number(c.text))), None)
        if start is None:  # no page numbers at all: heads start with the first full page of text
            start = next((p for p in range(first_page + 1, len(pages)) if _n_lines(pages[p]) >= 10), first_page + 1)
        for c in cands:
            if c.page >= start:
                break
            if c.kind and c.side == 0:
                c.kind = None
        self._head_slots(by_page, start)

    def _inside(self, book: _BookText, members: list[_Cand]) -> int:
        """How many lines of the book away from the page edges have a member's key.

        The lines of the (lower-cased) book that contain the key's longest word, are no longer
        than ``longest`` and have one of the members' keys, less the members themselves.
        """
        keys = {c.key for c in members}
        word = max(Counter(c.key for c in members).most_common(1)[0][0].split(), key=len)
        longest = min(self.max_head_chars, max(len(c.raw) for c in members) + 10)
        at_edges = sum(1 for c in members if word in c.raw.lower())
        return book.count_lines(word, longest, keys) - at_edges

    def _cluster(self, heads: list[_Cand]) -> list[list[_Cand]]:
        """Group candidates whose keys are equal or similar (3-gram Dice).

        A running head repeats *exactly* at least now and then, so clusters grow from seeds, the
        keys seen on two pages or more (most frequent first); every other key joins the most
        similar seed cluster, found through blocking tokens (words of 4+ letters, the key's first
        and last three letters), or none. The comparisons are few: seeds are a handful of heads
        plus coincidences, and each distinct key is looked at once.
        """
        counts = Counter([c.key for c in heads])
        # most frequent first, ties in order of first occurrence (Counter.most_common's order)
        seeds = sorted([k for k, n in counts.items() if n >= 2], key=counts.__getitem__, reverse=True)
        if not seeds:
            return []
        similarity = self.similarity
        ratio = similarity / (2 - similarity)  # Dice >= s needs |A| / |B| >= s / (2 - s)
        # 3-grams as numbers (_gram_codes: the same sets, built at once for many keys)
        reps: list[frozenset[int]] = []  # 3-grams of each cluster's first seed
        # blocking tokens (``_block_tokens``) -> clusters: words, first and last three letters
        # (keys are runs of 3+ letters joined by spaces, so ``key[:3]`` is the first three letters)
        by_word: dict[str, list[int]] = {}
        by_prefix: dict[str, list[int]] = {}
        by_suffix: dict[str, list[int]] = {}
        cluster_of: dict[str, int] = {}

        def best_cluster(key: str, words: list[str], grams: frozenset[int]) -> int:
            near = set(by_prefix.get(key[:3], ()))
            near.update(by_suffix.get(key[-3:], ()))
            for w in words:
                if w in by_word:
                    near.update(by_word[w])
            if not near:
                return -1
            n = len(grams)
            best, best_sim = -1, similarity
            for j in sorted(near):
                rep = reps[j]
                m = len(rep)
                if min(n, m) < ratio * max(n, m):
                    continue
                sim = 2 * len(grams & rep) / (n + m)  # Dice similarity (both sets are non-empty)
                if sim > best_sim or (sim == best_sim and best < 0):
                    best, best_sim = j, sim
            return best

        for key, grams in zip(seeds, _gram_codes(seeds)):
            words = [w for w in key.split(" ") if len(w) >= 4]
            j = best_cluster(key, words, grams)
            if j < 0:
                j = len(reps)
                reps.append(grams)
                for w in set(words):
                    by_word.setdefault(w, []).append(j)
                by_prefix.setdefault(key[:3], []).append(j)
                by_suffix.setdefault(key[-3:], []).append(j)
            cluster_of[key] = j
        # every other key: most are body lines at the page edges. A key much longer or shorter
        # than every seed cannot reach the similarity (most body lines are longer than any
        # head); nor can one that shares no blocking token with a seed (three set look-ups).
        longest = max(map(len, seeds)) / ratio + 2
        shortest = min(map(len, seeds)) * ratio - 2
        word_keys = by_word.keys()
        others = [key for key, n in counts.items() if n == 1 and shortest <= len(key) <= longest
                  and (key[:3] in by_prefix or key[-3:] in by_suffix or not word_keys.isdisjoint(key.split(" ")))]
        for key, grams in zip(others, _gram_codes(others)):
            j = best_cluster(key, key.split(" "), grams)
            if j >= 0:
                cluster_of[key] = j
        # members in the order of ``heads`` (the first member's key and tie orders matter)
        members: list[list[_Cand]] = [[] for _ in reps]
        for c in [c for c in heads if c.key in cluster_of]:
            members[cluster_of[c.key]].append(c)
        return [m for m in members if len(m) >= self.min_repeats]

    @staticmethod
    def _block_tokens(key: str) -> set[str]:
        """The blocking tokens of a key: its words of 4+ letters, ``<`` + its first three
        letters, ``>`` + its last three (``_cluster`` keeps them in three tables instead)."""
        flat = key.replace(" ", "")
        tokens = {w for w in key.split(" ") if len(w) >= 4}
        tokens.add("<" + flat[:3])
        tokens.add(">" + flat[-3:])
        return tokens

    def _in_runs(self, members: list[_Cand]) -> list[_Cand]:
        """Members that lie in runs of >= min_repeats pages with gaps <= max_gap."""
        members = sorted(members, key=lambda c: (c.page, c.side, c.line))  # (foot lines: index < 0)
        out: list[_Cand] = []
        run: list[_Cand] = []
        pages_in_run: set[int] = set()
        last = None
        for c in members:
            if last is not None and c.page - last > self.max_gap:
                if len(pages_in_run) >= self.min_repeats:
                    out.extend(run)
                run, pages_in_run = [], set()
            run.append(c)
            pages_in_run.add(c.page)
            last = c.page
        if len(pages_in_run) >= self.min_repeats:
            out.extend(run)
        return out

    def _near_others(self, members: list[_Cand]) -> list[_Cand]:
        """Members of a confirmed cluster that have another member within ``2 * max_gap`` pages."""
        pages = sorted({c.page for c in members})
        reach = 2 * self.max_gap
        near = set()
        for a, b in pairwise(pages):
            if b - a <= reach:
                near.update((a, b))
        return [c for c in members if c.page in near]

    def _head_slots(self, by_page, start: int) -> None:
        """Heads too rare to repeat (a recto head naming a short chapter), in a book that heads
        (nearly) every page: the outermost line of a page in the span of the book's running
        heads, when it looks like one (short, in capitals, not a chapter heading)."""
        for side in (0, 1):
            kind = "running_head" if side == 0 else "running_foot"
            # page -> its outermost line on this side (sides are in rank order), in page order
            outer = {p: sides[side][0] for p, sides in enumerate(by_page) if sides[side] and sides[side][0].rank == 0}
            headed = [p for p, c in outer.items() if c.kind == kind]
            if len(headed) < self.min_repeats:
                continue
            # pages that could carry a head: chapter openings (CHAPTER II.) carry none
            span = [p for p, c in outer.items() if headed[0] <= p <= headed[-1] and not _is_heading(c.key)]
            if len(headed) < 0.5 * len(span):
                continue
            # outwards from the heads, as long as heads keep coming (the book may begin or end
            # with short chapters whose recto heads never repeat), not before ``start``
            for order in (list(outer), list(reversed(outer))):
                last = headed[0] if order[0] <= headed[0] else headed[-1]
                for p in order:
                    if p < start or abs(p - last) > self.max_gap:
                        continue
                    c = outer[p]
                    if not c.kind and c.number is None and _looks_like_head(c):
                        c.kind = kind
                    if c.kind == kind:
                        last = p

    # ------------------------------------------------------------------ page numbers
    def _number_evidence(self, cands: list[_Cand], by_page) -> dict[str, dict[int, list[int]]]:
        """page -> printed numbers there: outermost bare numbers and numbers on running heads."""
        ev: dict[str, dict[int, list[int]]] = {"arabic": {}, "roman": {}}
        for c in cands:
            if c.number is not None:
                if _outermost(c, by_page):
                    ev[c.number[1]].setdefault(c.page, []).append(c.number[0])
            elif c.kind:
                v = _edge_number(c.text)
                if v is not None:
                    ev["arabic"].setdefault(c.page, []).append(v)
        return ev

    def _expected(self, c: _Cand, value: int, evidence: dict[int, list[int]]) -> tuple[bool, list[int]]:
        """(consistent with a nearby printed number?, the values nearby numbers expect here)."""
        w, tol = self.page_number_window, self.page_number_tolerance
        offset = value - c.page
        expected = []
        for page in range(c.page - w, c.page + w + 1):
            if page == c.page or page not in evidence:
                continue
            for v in evidence[page]:
                if abs((v - page) - offset) <= tol:
                    return True, []
                expected.append(v - page + c.page)
        return False, expected

    def _supported(self, evidence: dict[int, list[int]]) -> dict[int, list[int]]:
        """The printed numbers that another number nearby agrees with (a year on the title page,
        a figure label or a stray digit agrees with none)."""
        out: dict[int, list[int]] = {}
        probe = _Cand(0, 0, 0, 0, "")
        for page, values in evidence.items():
            probe.page = page
            for v in values:
                if self._expected(probe, v, evidence)[0]:
                    out.setdefault(page, []).append(v)
        return out

    def _page_numbers(self, cands: list[_Cand], evidence: dict, n_pages: int, by_page) -> None:
        supported = {numeral: self._supported(ev) for numeral, ev in evidence.items()}
        # the front matter (roman numbers) ends where the arabic numbers begin
        front_end = min(supported["arabic"]) if supported["arabic"] else max(8, n_pages // 10)
        # a page edge holding several roman numbers is a list (a table of contents)
        crowded = Counter((c.page, c.side) for c in cands if c.number is not None and c.number[1] == "roman")
        # (a line with neither a number nor a noisy one is no page number: not looked at)
        for c in [c for c in cands if c.number is not None or c.noisy]:
            if c.kind or (crowded[(c.page, c.side)] > 1 and c.number and c.number[1] == "roman"):
                continue
            if c.number is not None:
                value, numeral = c.number
                if numeral == "roman" and c.page >= front_end:
                    continue  # a roman number in the body is a chapter's, not a page's
                ok, _ = self._expected(c, value, evidence[numeral])
                if not ok:
                    _, expected = self._expected(c, value, supported[numeral])
                    if expected:
                        # an OCR slip: one character away from what the sequence expects here
                        ok = numeral == "arabic" and any(
                            _edit_distance_le1(str(value), str(e)) for e in expected if e > 0)
                    elif _outermost(c, by_page):
                        # an isolated number: plausible for its page (roman only in front matter)
                        if numeral == "arabic":  # front matter and plates make up the difference
                            ok = c.page - 40 <= value <= c.page + 3 and value >= 1
                        else:
                            ok = c.page < front_end and value <= c.page + 5
                        c.isolated = ok
                if ok:
                    c.kind = "page_number"
            elif c.noisy and _outermost(c, by_page):
                _, expected = self._expected(c, -(10**6), supported["arabic"])
                if any(_edit_distance_le1(c.noisy, str(e)) for e in expected if e > 0):
                    c.kind = "page_number"

    def _numbered_heads(self, cands: list[_Cand], evidence: dict) -> None:
        """Short edge lines carrying the page's own number, in a book with numbered heads."""
        numbered = sum(1 for c in cands if c.kind in ("running_head", "running_foot") and _edge_number(c.text))
        for c in [c for c in cands if not (c.kind or c.rank or not c.key)]:
            v = _edge_number(c.text) if _ASCII_DIGIT.search(c.text) else None  # (a quick test first)
            if v is None or _is_heading(c.key) or len(c.key.split()) > 10:
                continue
            # in capitals like a head, or in a book whose repeated heads carry numbers
            if numbered < self.min_repeats and not _looks_like_head(c):
                continue
            ok, _ = self._expected(c, v, evidence["arabic"])
            if ok:
                c.kind = "running_head" if c.side == 0 else "running_foot"

    # ------------------------------------------------------------------ signatures
    def _signatures(self, cands: list[_Cand]) -> None:
        """Signature marks alone on a foot line, in a book that has several of them."""
        sigs = []
        numeric = []  # (candidate, gathering number)
        for c in cands:
            if c.side != 1 or c.rank > 1 or len(c.text) > 20:
                continue
            if c.number is not None:
                # a number the page sequence took ("3" on page 33) may be a signature too
                if c.number[1] == "arabic" and c.number[0] <= 60 and c.kind in (None, "page_number"):
                    numeric.append((c, c.number[0]))
                continue
            if c.kind:
                continue
            m = _SIGNATURE_NUM.fullmatch(c.text)
            if m:
                sigs.append(c)
                numeric.append((c, int(m.group("num"))))
                continue
            m = _SIGNATURE.fullmatch(c.text)
            # a lone lower-case letter or word ("a", "the") is text, not a signature
            if m and (m.group("num") or m.group("vol") or m.group("let").isupper()):
                sigs.append(c)
        if len(sigs) >= self.min_repeats:
            for c in sigs:
                c.kind = "signature"
        # numbered gatherings (French and German books print "2", "3", ... on the first page of
        # each gathering): small numbers at the foot, a whole gathering of pages apart per step;
        # one partner at exactly that distance, or two at about it (an unnumbered plate between)
        for c, v in numeric:
            if c.kind and not c.isolated:
                continue
            near: Counter = Counter()
            for o, w in numeric:
                if w == v:
                    continue
                for g in _GATHERINGS:
                    off = abs((o.page - c.page) - (w - v) * g)
                    if off == 0:
                        near[g] += 2
                    elif off == 1:
                        near[g] += 1
            if near and max(near.values()) >= 2:
                c.kind = "signature"

    # ------------------------------------------------------------------ edge contiguity
    @staticmethod
    def _touch_edge(by_page) -> None:
        """Unmark furniture that does not touch the page edge (text lies between it and the edge).

        Signatures are exempt next to the edge: OCR often reads a footnote after them.
        """
        for top, bottom in by_page:
            for side in (top, bottom):
                blocked = False
                for c in side:  # in rank order, as _candidates builds it
                    if blocked and not (c.kind == "signature" and c.rank <= 1):
                        c.kind = None
                    elif not c.kind and (c.key or _THREE_ALNUM.search(c.text)):  # (a key has 3+ letters)
                        blocked = True

    # ------------------------------------------------------------------ catchwords
    def _catchwords(self, by_page) -> None:
        """A page's last line that is the beginning of the next page's text (the catchword),
        possibly after a signature mark (``D 2 that``, ``Leviath. Ggg quis``)."""
        found: list[tuple[_Cand, str]] = []
        for p, (_, bottom) in enumerate(by_page):
            last = self._outer_text(bottom)
            if last is None or len(last.text) > 40:
                continue
            tokens = last.text.split()
            nxt = None
            for q in range(p + 1, min(p + 3, len(by_page))):
                nxt = self._outer_text(by_page[q][0])
                if nxt is not None:
                    break
            if nxt is None:
                continue
            next_tokens = nxt.text.split()[:4]
            next_alnum: dict[int, str] = {}  # _alnum of the first k next tokens, for every tail
            signed = 0  # tokens[:signed] are all signature tokens (checked once each)
            for j in range(len(tokens)):
                prefix, tail = tokens[:j], tokens[j:]
                if len(tail) > 2 or sum(len(t) for t in tail) > 20:
                    continue
                while signed < j and _signature_token(tokens[signed]):
                    signed += 1
                if signed < j:  # not all of the prefix is a signature mark
                    break
                if _continues(tail, next_tokens, next_alnum):
                    found.append((last, "signature" if any(_ALNUM.search(t) for t in prefix) else "catchword"))
                    break
        # a book prints catchwords on every page or on none: a few matches are a short last line
        # of a paragraph that happens to begin the next page too
        text_pages = sum(1 for top, bottom in by_page if top or bottom)
        if len(found) >= max(self.min_repeats, 0.2 * text_pages):
            for c, kind in found:
                c.kind = kind

    @staticmethod
    def _outer_text(side: list[_Cand]) -> _Cand | None:
        """The outermost candidate on a side that is neither furniture nor a number."""
        for c in side:  # in rank order, as _candidates builds it
            if not c.kind and c.number is None and c.noisy is None:
                return c
        return None


class _BookText:
    """The whole book as one text (pages joined by newlines), lower-cased, to search for a
    running head's words away from the page edges; built on first use, once per book.

    ``str.lower()`` of a whole book is slow: most books have some non-ASCII character, which
    sends CPython down its per-character Unicode path. A word of ASCII letters is searched for
    instead in the UTF-8 bytes of the book with only their ASCII letters lower-cased
    (``bytes.lower()``, several times faster). Both have the same lines holding the word, with
    the same lengths in characters: the only characters whose lower case holds an ASCII letter,
    or has another length, are the ASCII capitals, U+0130 (``İ`` -> ``i̇``) and U+212A (Kelvin
    sign -> ``k``), and a book with either of the last two takes the ``str.lower()`` path
    (``tests/repair/test_running_heads_fast.py`` checks this over all of Unicode); a newline
    byte is never part of another character's UTF-8 bytes.
    """

    __slots__ = ("_ascii", "_lower", "pages")

    def __init__(self, pages: list[str]):
        self.pages = pages
        self._lower: str | None = None
        self._ascii: bytes | None | bool = False  # False: not built yet; None: not usable

    def lower(self) -> str:
        """``str.lower()`` of the book."""
        if self._lower is None:
            self._lower = "\n".join(self.pages).lower()
        return self._lower

    def ascii_lower(self) -> bytes | None:
        """The book's UTF-8 with its ASCII letters lower-cased, or None when it holds U+0130 or
        U+212A."""
        if self._ascii is False:
            text = "\n".join(self.pages)
            if "\u0130" in text or "\u212a" in text:
                self._ascii = None
            else:
                self._ascii = text.encode("utf-8", "surrogatepass").lower()
        return self._ascii

    def count_lines(self, word: str, longest: int, keys: set[str]) -> int:
        """Lines holding ``word``, of at most ``longest`` characters, whose key is in ``keys``."""
        data = self.ascii_lower() if word.isascii() else None
        if data is None:
            return self._count_lines_lower(word, longest, keys)
        target = word.encode("ascii")
        find, rfind = data.find, data.rfind
        n = len(data)
        found = 0
        pos = find(target)
        while pos >= 0:
            end = find(b"\n", pos)
            if end < 0:
                end = n
            start = rfind(b"\n", 0, pos) + 1
            # a line of more bytes than ``longest`` is longer in characters too, unless some of
            # its characters take several bytes
            if end - start <= longest or not data[start:end].isascii():
                line = data[start:end].decode("utf-8", "surrogatepass")
                # ``.lower()``: the line may hold non-ASCII capitals (line_key lowers it again)
                if len(line) <= longest and line_key(line.lower()) in keys:
                    found += 1
            pos = find(target, end)  # the next line holding the word
        return found

    def _count_lines_lower(self, word: str, longest: int, keys: set[str]) -> int:
        """``count_lines`` in ``str.lower()`` of the book."""
        text = self.lower()
        find, rfind = text.find, text.rfind
        n = len(text)
        found = 0
        pos = find(word)
        while pos >= 0:
            end = find("\n", pos)
            if end < 0:
                end = n
            start = rfind("\n", 0, pos) + 1
            if end - start <= longest and line_key(text[start:end]) in keys:
                found += 1
            pos = find(word, end)
        return found


def _top_lines(page: str, k: int) -> list[tuple[int, str, int]]:
    """``(index, line, offset)`` of the first ``k`` non-blank lines of ``page``: the index in
    ``page.split("\\n")`` and where the line starts in ``page``."""
    out: list[tuple[int, str, int]] = []
    find = page.find
    pos = i = 0
    while True:
        end = find("\n", pos)
        line = page[pos:end] if end >= 0 else page[pos:]
        if line.strip():
            out.append((i, line, pos))
            if len(out) == k:
                return out
        if end < 0:
            return out
        pos = end + 1
        i += 1


def _bottom_lines(page: str, k: int) -> list[tuple[int, str, int]]:
    """``(index, line, offset)`` of the last ``k`` non-blank lines of ``page``, the last line
    first. The index counts from the end (-1: the last line of ``page.split("\\n")``): counting
    the page's lines would read the whole page."""
    out: list[tuple[int, str, int]] = []
    rfind = page.rfind
    end = len(page)
    i = -1
    while True:
        start = rfind("\n", 0, end) + 1
        line = page[start:end]
        if line.strip():
            out.append((i, line, start))
            if len(out) == k:
                return out
        if start == 0:
            return out
        end = start - 1
        i -= 1


def _remove_lines(page: str, marks: dict[int, str]) -> str:
    """``page`` without the marked lines and without blank lines their removal left at an edge."""
    lines = page.split("\n")
    n = len(lines)
    # the first and last kept lines with text (looked for from each end, not over the page)
    first = next((i for i in range(n) if i not in marks and lines[i].strip()), None)
    if first is None:
        return ""
    last = next(i for i in range(n - 1, -1, -1) if i not in marks and lines[i].strip())
    start = first if min(marks) < first else 0
    end = last + 1 if max(marks) > last else n
    new = "\n".join([lines[i] for i in range(start, end) if i not in marks])
    if end <= last + 1 and page.endswith("\n"):
        new += "\n"
    return new


def _n_lines(page: str) -> int:
    return sum(1 for ln in page.split("\n") if ln.strip())


def _outermost(c: _Cand, by_page) -> bool:
    """True when every candidate between ``c`` and its page edge is already furniture."""
    return all(o.kind for o in by_page[c.page][c.side] if o.rank < c.rank)


def _looks_like_head(c: _Cand) -> bool:
    """A short line in capitals that is not a chapter heading (``CHAPTER II.``)."""
    if len(c.text) > 60 or len(c.key) < 3:
        return False
    letters = "".join(_WORD.findall(c.text))
    upper = sum(1 for ch in letters if ch.isupper())
    return len(letters) >= 3 and upper >= 0.8 * len(letters) and not _is_heading(c.key)


def _edge_number(text: str) -> int | None:
    """An arabic number at the start or end of a line (``12 THE HISTORY``, ``THE KINGS 13``)."""
    m = _EDGE_NUMBER.search(text)
    if not m:
        return None
    tok = (m.group("a") or m.group("b")).translate(_DIGIT_FIX)
    return int(tok) if tok.isdigit() and int(tok) > 0 else None


def _alnum(tokens: list[str]) -> str:
    return "".join(_ALNUM.findall(" ".join(tokens))).lower()


def _signature_token(tok: str) -> bool:
    """A token that may belong to a signature mark: short (``B``, ``2``, ``Ccc``) or a title
    abbreviation printed with it (``Leviath.``, ``Vol.``)."""
    chars = _ALNUM.findall(tok)
    if len(chars) <= 2 or len({ch.lower() for ch in chars}) == 1 or any(ch.isdigit() for ch in chars):
        return len(chars) <= 4  # "B", "2", "Ccc", "c", "ii", "B2"
    if len(chars) <= 3 and tok.isupper():
        return True
    # an abbreviated title printed with the signature; not a word such as "the" or "wie"
    return len(chars) <= 8 and tok[0].isupper() and tok[-1] in ".*•’'"


def _continues(tail: list[str], next_tokens: list[str], next_alnum: dict[int, str] | None = None) -> bool:
    """True when ``tail`` (a catchword) is how the next page's first line begins.

    ``next_alnum`` caches ``_alnum(next_tokens[:k])`` by ``k`` across the tails tried."""
    a = _alnum(tail)
    if len(a) < 2 or not next_tokens:
        return False
    if next_alnum is None:
        next_alnum = {}
    if tail[-1].rstrip(".*,'’").endswith(("-", "\u00ad", "=", "\u2010")):  # a word broken over the page
        k = len(next_tokens)
        b = next_alnum[k] if k in next_alnum else next_alnum.setdefault(k, _alnum(next_tokens))
        return b.startswith(a) or (len(a) >= 3 and _similar(a, b[: len(a)]))
    for k in range(1, min(len(tail) + 1, len(next_tokens)) + 1):
        b = next_alnum[k] if k in next_alnum else next_alnum.setdefault(k, _alnum(next_tokens[:k]))
        if b == a or (len(a) >= 3 and (b.startswith(a) and k == 1 or _similar(a, b))):
            return True
    return False


def _similar(a: str, b: str) -> bool:
    """``SequenceMatcher(None, a, b).ratio() >= 0.7``, without building the matcher when the
    cheap bounds rule it out: the ratio is ``2 * matches / (len(a) + len(b))``, and there are at
    most ``min(len(a), len(b))`` matches (``real_quick_ratio``), nor more than the characters
    the two strings have in common (``quick_ratio``)."""
    total = len(a) + len(b)
    if not total:
        return True
    short, other = (a, b) if len(a) <= len(b) else (b, a)
    if 2.0 * len(short) / total < 0.7:
        return False
    # the characters the two have in common, with repeats (``quick_ratio``, a tighter bound)
    common = sum(min(short.count(ch), other.count(ch)) for ch in set(short))
    if 2.0 * common / total < 0.7:
        return False
    return SequenceMatcher(None, a, b).ratio() >= 0.7
