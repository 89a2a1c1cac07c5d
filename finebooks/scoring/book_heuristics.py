"""Gopher / C4 / FineWeb style quality signals recomputed for whole books, as annotations.

datatrove's web filters judge a *web page*: they expect short documents, lines that end in
terminal punctuation, no curly brackets, few repeated lines. A digitised book breaks every one
of those on purpose (hard-wrapped lines, running heads, OCR noise from plates, 100,000+ words),
so the stock filters drop most real books. This stage recomputes the same kinds of signal over
the whole book, with book layout in mind, and writes them to ``metadata`` with the prefix
``bh_`` (drop with :class:`~finebooks.filters.metadata_threshold.MetadataThresholdFilter`):

* ``bh_n_words``, ``bh_mean_word_length``: whitespace words and their mean length;
* ``bh_alpha_words_ratio``: share of words with at least one letter (Gopher's alpha ratio);
* ``bh_stopwords_per_1000``: stop words of the book's language (``metadata["language"]``; when
  absent or not one of en/fr/de/nl/it/es/pt/la, the best-matching list) per 1,000 word tokens;
  ``bh_stopword_language`` names the list used;
* ``bh_symbol_word_ratio``: symbol characters (``# { } [ ] < > | \\ ^ ~ _ @ * = + % $``) and
  ellipses per word;
* ``bh_dup_line_share`` / ``bh_dup_line_char_share``: share of lines (and of their characters)
  that repeat an earlier line, counted only over lines of at least ``min_line_chars`` - short
  lines in a book are layout (running heads, page numbers, verse), not spam;
* ``bh_dup_para_share`` / ``bh_dup_para_char_share``: the same for paragraphs (blank-line or
  page separated blocks of at least ``min_para_chars``);
* ``bh_top_2gram_char_share``, ``bh_top_3gram_char_share``: share of word characters covered
  by the most frequent word 2- / 3-gram (Gopher's top n-gram fraction);
* ``bh_page_garbage``: per page (``\\f``-separated), whether it looks like OCR noise (plates,
  scan artefacts): mostly symbols, or mostly words without letters; ``bh_garbage_page_share``
  its share among non-empty pages and ``bh_empty_page_share`` the share of empty pages. The
  other signals are computed without the garbage pages (unless every page is garbage): a plate's
  symbol soup is judged once, by ``bh_garbage_page_share``, and ``drop_pages`` removes it.

Everything is ``str`` methods, ``collections.Counter`` and numpy over the book's code points
(no tokenizer model), so cost is linear. Each character's classes (space, letter, symbol, ...)
come from one table lookup (:func:`_flag_table`, built from the very regular expressions and
``str`` predicates the signals are defined by); per-page counts are sums over page ranges
(:class:`_PageCounts`); letter words are cut by ``str.split`` after numpy blanks every
non-letter (:func:`_letter_runs`); n-grams are counted as integers (:func:`_top_ngram_char_shares`).
Words of the stop-word / n-gram sample are letter runs located by numpy (:func:`_word_bounds`):
stop words are counted from exact integer keys of the short words (:class:`_StopWordKeys`), so
only the n-gram sample's few thousand words become strings (:func:`_lower_words`).
Each fast path gives exactly what the plain expression in its docstring gives
(``tests/scoring/test_book_heuristics_fast.py``, ``tests/scoring/test_fast_paths.py``).
"""

from __future__ import annotations

import re
from collections import Counter

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from finebooks.runtime import ProcessLocal

# Small, high-frequency function-word lists (closed-class words only), lower case.
STOP_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "the",
            "of",
            "and",
            "to",
            "a",
            "in",
            "that",
            "is",
            "was",
            "he",
            "for",
            "it",
            "with",
            "as",
            "his",
            "on",
            "be",
            "at",
            "by",
            "i",
            "had",
            "this",
            "not",
            "are",
            "but",
            "from",
            "or",
            "have",
            "an",
            "they",
            "which",
            "one",
            "you",
            "were",
            "her",
            "all",
            "she",
            "there",
            "would",
            "their",
            "we",
            "him",
            "been",
            "has",
            "when",
            "who",
            "will",
            "more",
            "no",
            "if",
            "out",
            "so",
            "said",
            "what",
            "up",
            "its",
            "about",
            "into",
            "than",
            "them",
            "can",
            "only",
            "other",
            "then",
            "my",
            "me",
            "our",
            "these",
            "some",
            "could",
            "any",
            "do",
            "did",
            "shall",
            "may",
            "should",
            "must",
            "upon",
            "your",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "de",
            "des",
            "du",
            "un",
            "une",
            "et",
            "à",
            "en",
            "au",
            "aux",
            "que",
            "qui",
            "ne",
            "pas",
            "ce",
            "cette",
            "ces",
            "il",
            "elle",
            "ils",
            "elles",
            "je",
            "tu",
            "nous",
            "vous",
            "on",
            "se",
            "sa",
            "son",
            "ses",
            "leur",
            "leurs",
            "est",
            "était",
            "sont",
            "dans",
            "par",
            "pour",
            "sur",
            "avec",
            "plus",
            "mais",
            "ou",
            "comme",
            "tout",
            "lui",
            "y",
            "me",
            "te",
            "mon",
            "ma",
            "mes",
            "dont",
            "été",
            "avait",
            "fait",
            "si",
            "bien",
            "même",
            "aussi",
            "être",
            "avoir",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "und",
            "in",
            "zu",
            "den",
            "von",
            "mit",
            "sich",
            "des",
            "auf",
            "für",
            "ist",
            "im",
            "dem",
            "nicht",
            "ein",
            "eine",
            "als",
            "auch",
            "es",
            "an",
            "er",
            "hat",
            "aus",
            "bei",
            "wir",
            "sie",
            "ich",
            "war",
            "wird",
            "sind",
            "noch",
            "wie",
            "einem",
            "einen",
            "einer",
            "über",
            "so",
            "zum",
            "zur",
            "nach",
            "oder",
            "aber",
            "vor",
            "durch",
            "wenn",
            "nur",
            "um",
            "daß",
            "dass",
            "ihm",
            "ihr",
            "ihn",
            "man",
            "was",
            "wo",
        ]
    ),
    "nl": frozenset(
        [
            "de",
            "het",
            "een",
            "en",
            "van",
            "in",
            "is",
            "dat",
            "op",
            "te",
            "zijn",
            "met",
            "voor",
            "niet",
            "aan",
            "er",
            "die",
            "als",
            "ook",
            "maar",
            "om",
            "hij",
            "zij",
            "ze",
            "ik",
            "was",
            "bij",
            "nog",
            "wel",
            "of",
            "dan",
            "door",
            "naar",
            "uit",
            "over",
            "tot",
            "al",
            "zo",
            "wat",
            "hem",
            "haar",
            "hun",
            "men",
            "worden",
            "werd",
            "had",
            "heeft",
            "deze",
            "dit",
            "wordt",
            "zich",
        ]
    ),
    "it": frozenset(
        [
            "il",
            "lo",
            "la",
            "i",
            "gli",
            "le",
            "di",
            "a",
            "da",
            "in",
            "con",
            "su",
            "per",
            "tra",
            "fra",
            "e",
            "che",
            "non",
            "un",
            "una",
            "uno",
            "è",
            "si",
            "del",
            "della",
            "dei",
            "delle",
            "al",
            "alla",
            "ai",
            "alle",
            "nel",
            "nella",
            "come",
            "ma",
            "più",
            "se",
            "anche",
            "sono",
            "era",
            "questo",
            "quella",
            "quello",
            "suo",
            "sua",
            "ha",
            "ed",
            "o",
            "ne",
            "mi",
            "ci",
            "vi",
            "gli",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "la",
            "los",
            "las",
            "de",
            "del",
            "y",
            "a",
            "en",
            "que",
            "un",
            "una",
            "es",
            "por",
            "con",
            "no",
            "se",
            "su",
            "sus",
            "al",
            "lo",
            "como",
            "más",
            "pero",
            "para",
            "le",
            "ya",
            "o",
            "este",
            "esta",
            "fue",
            "ha",
            "sin",
            "sobre",
            "era",
            "muy",
            "también",
            "me",
            "mi",
            "entre",
            "cuando",
            "todo",
            "hasta",
            "desde",
            "nos",
            "porque",
            "qué",
            "ser",
        ]
    ),
    "pt": frozenset(
        [
            "o",
            "a",
            "os",
            "as",
            "de",
            "do",
            "da",
            "dos",
            "das",
            "e",
            "em",
            "no",
            "na",
            "nos",
            "nas",
            "um",
            "uma",
            "que",
            "não",
            "se",
            "por",
            "para",
            "com",
            "é",
            "foi",
            "ao",
            "aos",
            "mais",
            "mas",
            "como",
            "seu",
            "sua",
            "seus",
            "suas",
            "ele",
            "ela",
            "eles",
            "já",
            "ou",
            "quando",
            "muito",
            "também",
            "só",
            "pelo",
            "pela",
            "isso",
            "este",
            "esta",
            "me",
            "lhe",
            "era",
        ]
    ),
    "la": frozenset(
        [
            "et",
            "in",
            "est",
            "non",
            "ad",
            "cum",
            "ut",
            "quod",
            "qui",
            "quae",
            "sed",
            "de",
            "ex",
            "a",
            "ab",
            "per",
            "si",
            "enim",
            "esse",
            "sunt",
            "se",
            "sic",
            "nec",
            "aut",
            "etiam",
            "quam",
            "hoc",
            "tamen",
            "ab",
            "atque",
            "ac",
            "vel",
            "autem",
            "eius",
            "neque",
            "iam",
            "nam",
            "inter",
            "pro",
            "sub",
            "super",
            "quid",
            "ego",
            "tu",
            "nos",
            "vos",
            "ille",
            "ipse",
            "hic",
            "haec",
        ]
    ),
}

_LETTER_WORD = re.compile(r"[^\W\d_]+")  # runs of letters, any script
_NO_LETTER_TOKEN = re.compile(r"(?<!\S)(?:[\d_]|[^\w\s])+(?!\S)")  # a whitespace token without any letter
_GARBAGE_HINT = ".,;:'`\"-~_^|/\\()!*"  # punctuation that OCR noise from plates is made of
_SYMBOL = re.compile(r"[#{}\[\]<>|\\^~_@*=+%$]|\.\.\.|…")
_NON_WORD_CHAR = re.compile(r"[^\w\s]|_")  # punctuation and symbols
_PARA_SPLIT = re.compile(r"\n[ \t]*\n|\f")
_SPACED_BLANK_LINE = re.compile(r"\n[ \t]+\n")  # a blank line that str.split("\n\n") would miss
_SYMBOL_CHARS = "#{}[]<>|\\^~_@*=+%$\u2026"  # _SYMBOL's single characters (with the ellipsis sign)

# Character classes of _PageCounts, one bit each in a per-code-point uint8 table.
_SPACE = 1  # str.isspace (what str.split and the regex \s use)
_LETTER = 2  # what [^\W\d_] matches (_LETTER_WORD)
_HINT = 4  # a character of _GARBAGE_HINT
_NONWS = 8  # not one of " \n\t\r\v\f" (what the nonspace counts count)
_SYM = 16  # a single-character _SYMBOL match (one of _SYMBOL_CHARS)
_NONWORD = 32  # what _NON_WORD_CHAR matches


def _char_flags(ch: str) -> int:
    """The class bits of one character, from the very expressions the counts stand for."""
    return (
        (_SPACE if ch.isspace() else 0)
        | (_LETTER if _LETTER_WORD.match(ch) else 0)
        | (_HINT if ch in _GARBAGE_HINT else 0)
        | (_NONWS if ch not in " \n\t\r\v\f" else 0)
        | (_SYM if ch in _SYMBOL_CHARS else 0)
        | (_NONWORD if _NON_WORD_CHAR.match(ch) else 0)
    )


_FLAG_TABLE = None  # uint8 class bits of every Basic Multilingual Plane code point (built on first use)


def _flag_table():
    """``_char_flags`` of every BMP code point, as a uint8 array (the same bits, built by columns)."""
    global _FLAG_TABLE
    if _FLAG_TABLE is None:
        import numpy as np

        chars = [chr(i) for i in range(0x10000)]
        table = np.zeros(0x10000, dtype=np.uint8)
        table[[c.isspace() for c in chars]] |= _SPACE
        table[[_LETTER_WORD.match(c) is not None for c in chars]] |= _LETTER
        table[[_NON_WORD_CHAR.match(c) is not None for c in chars]] |= _NONWORD
        table[[ord(c) for c in _GARBAGE_HINT]] |= _HINT
        table[[ord(c) for c in _SYMBOL_CHARS]] |= _SYM
        table |= _NONWS
        table[[ord(c) for c in " \n\t\r\v\f"]] &= ~np.uint8(_NONWS)
        _FLAG_TABLE = table
    return _FLAG_TABLE


def _encode(text: str):
    """``text`` as a numpy array of one code unit per character, in the narrowest width that holds
    it: bytes for ASCII, UTF-16 units when there is no character beyond the BMP (lone surrogates
    are single units there too), else UTF-32. Indices into the array are indices into ``text``."""
    import numpy as np

    if text.isascii():  # O(1) in CPython; encoding is then a copy
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    raw = text.encode("utf-16-le", "surrogatepass")
    if len(raw) == 2 * len(text):  # no surrogate pairs were made: one unit per character
        return np.frombuffer(raw, dtype=np.uint16)
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _classify(codes):
    """Class bits (``_SPACE`` | ``_LETTER`` | ...) of every code unit of :func:`_encode`'s array."""
    import numpy as np

    table = _flag_table()
    if codes.dtype != np.uint32:
        return table.take(codes)
    flags = table.take(np.minimum(codes, 0xFFFF))
    far = np.flatnonzero(codes > 0xFFFF)
    for code in np.unique(codes[far]).tolist():  # astral characters: classify each distinct one
        flags[far[codes[far] == code]] = _char_flags(chr(code))
    return flags


def _letter_runs(codes, flags) -> list[str]:
    """``_LETTER_WORD.findall`` of the text behind ``codes``: every non-letter becomes a space in
    one numpy pass, then ``str.split`` cuts the runs of letters (no letter is whitespace)."""
    import numpy as np

    kept = np.where(flags & _LETTER, codes, 32).astype(codes.dtype, copy=False)
    encoding = {1: "latin-1", 2: "utf-16-le", 4: "utf-32-le"}[codes.itemsize]
    return kept.tobytes().decode(encoding).split()


def _word_bounds(flags):
    """(starts, ends) of the runs of letters (``_LETTER`` bits): the spans of
    ``_LETTER_WORD.finditer`` over the text behind ``flags``, as numpy index arrays."""
    import numpy as np

    step = np.diff((flags & _LETTER).astype(bool).view(np.int8), prepend=np.int8(0), append=np.int8(0))
    return np.flatnonzero(step == 1), np.flatnonzero(step == -1)


def _window_ranges(m: int, max_words: int, windows: int = 5) -> list[tuple[int, int]]:
    """(start, stop) of the runs :func:`_spaced_sample` takes from a list of ``m`` words."""
    if m <= max_words:
        return [(0, m)]
    size = max_words // windows
    step = (m - size) / max(windows - 1, 1)
    return [(int(i * step), min(int(i * step) + size, m)) for i in range(windows)]


def _lower_words(codes, flags, starts, ends, picked) -> tuple[list[str], int]:
    """``[w.lower() for w in words]`` for the letter words numbered ``picked`` (bounds
    ``starts`` / ``ends``): each run of consecutive words is cut out as one span, its non-letters
    blanked, and all spans joined by a space are decoded, lower-cased and split once. One
    ``str.lower`` of the joined text equals lower-casing word by word: the only context-dependent
    mapping (final sigma) looks past case-ignorable characters to the nearest other one, and
    words are whole letter runs with a space, never case-ignorable nor cased, on both sides.
    Also returns ``sum(map(len, words))``: the joined text's characters other than its spaces
    (no lower-case form holds whitespace)."""
    import numpy as np

    if not len(picked):
        return [], 0
    cut = np.flatnonzero(np.diff(picked) != 1) + 1
    first = picked[np.concatenate(([0], cut))]
    last = picked[np.append(cut - 1, len(picked) - 1)]
    space = np.array([32], dtype=codes.dtype)
    parts = []
    for a, b in zip(starts[first].tolist(), ends[last].tolist()):
        parts += [np.where(flags[a:b] & _LETTER, codes[a:b], space), space]
    encoding = {1: "latin-1", 2: "utf-16-le", 4: "utf-32-le"}[codes.itemsize]
    text = np.concatenate(parts).tobytes().decode(encoding).lower()
    return text.split(), len(text) - text.count(" ")


# _StopWordKeys' hash table has 2**17 slots: ~1,100 keys there make a multiplier without collisions
# quick to find (a few dozen tries), and the table (512 KiB) stays in cache
_SLOT_BITS = 17


def _slot_of(keys, multiplier: int):
    """Slot of each int64 key in a table of 2**_SLOT_BITS slots: the top bits of key * multiplier
    (mod 2**64)."""
    import numpy as np

    return ((keys.view(np.uint64) * np.uint64(multiplier)) >> np.uint64(64 - _SLOT_BITS)).astype(np.intp)


class _StopWordKeys:
    """Stop-word counting over numpy word bounds, without making a ``str`` per word.

    Every form a stop word counts in (lower, Capitalised, UPPER) is made of a few dozen distinct
    characters and at most ``max_len`` of them: numbering those characters 1..K (``bits`` bits
    each), a form or any word of at most ``max_len`` letters becomes one int64 key: its length in
    the top byte, the numbers of its characters side by side below (0 for a character that is in
    no form). Equal keys mean the same length and the same characters, none of them 0 for a
    form, so a word has the key of a form exactly when it is that form. A perfect hash (a
    multiplier for which no two forms share a slot) finds each word's form in O(1).
    :meth:`hits` then equals ``sum(counts[w] + counts[w.capitalize()] + counts[w.upper()])`` of
    :meth:`BookHeuristicsScorer.stopword_rate` (a form listed twice, as ``A`` for ``a``, counts
    twice there and here). ``usable`` is False when the lists do not fit (the scorer then counts
    with ``Counter``).
    """

    def __init__(self, lists: dict[str, frozenset[str]]):
        import numpy as np

        forms = {f for words in lists.values() for w in words for f in (w, w.capitalize(), w.upper())}
        forms.discard("")  # never a word
        chars = sorted(set("".join(forms)))
        self.max_len = max(map(len, forms), default=0)
        self.bits = max(1, len(chars).bit_length())
        self.usable = (  # numbers fit a uint8 table of the BMP, keys fit below the length byte
            bool(chars) and len(chars) < 255 and ord(chars[-1]) < 0xFFFF and self.bits * self.max_len <= 56
        )
        if not self.usable:
            return
        self.table = np.zeros(0x10000, dtype=np.uint8)
        self.table[[ord(c) for c in chars]] = np.arange(1, len(chars) + 1)
        # union of every form's key, then a sentinel (-1, no word's key) for the empty slots
        self.union = np.append(np.unique(np.array([self.key(f) for f in forms], dtype=np.int64)), -1)
        n = len(self.union) - 1
        multiplier, self.slot = 0x9E3779B97F4A7C15, None
        for _ in range(5000):  # a few dozen tries at most for the built-in lists
            where = _slot_of(self.union[:n], multiplier)
            if len(np.unique(where)) == n:
                self.slot = np.full(2**_SLOT_BITS, n, dtype=np.int32)
                self.slot[where] = np.arange(n)
                break
            multiplier = (multiplier * 6364136223846793005 + 1442695040888963407) % 2**64 | 1
        self.multiplier = multiplier
        self.usable = self.slot is not None
        self._where: dict[frozenset[str], object] = {}  # per stop list: its forms' indices in union

    def key(self, form: str) -> int:
        return (len(form) << 56) | sum(int(self.table[ord(c)]) << (self.bits * j) for j, c in enumerate(form))

    def union_counts(self, codes, starts, lengths):
        """How often each key of ``self.union`` occurs among the words (letter runs) of ``codes``
        at ``starts`` / ``lengths``."""
        import numpy as np

        if codes.dtype == np.uint32:
            codes = np.minimum(codes, 0xFFFF)  # beyond the table: never a form character (0xFFFF is none)
        number = np.append(self.table.take(codes), np.zeros(self.max_len, dtype=np.uint8))
        short = lengths <= self.max_len
        s, ln = starts[short], lengths[short].astype(np.int64)
        key = number.take(s).astype(np.int64)
        for j in range(1, self.max_len):
            key |= number.take(s + j).astype(np.int64) << (self.bits * j)
        key &= (np.int64(1) << (self.bits * ln)) - 1  # drop what follows the word
        key |= ln << 56
        at = self.slot.take(_slot_of(key, self.multiplier))
        at[self.union.take(at) != key] = len(self.union) - 1  # not a form: counted on the sentinel
        return np.bincount(at, minlength=len(self.union))

    def hits(self, union_counts, words: frozenset[str]) -> int:
        """Stop-word hits of the list ``words`` from :meth:`union_counts`."""
        import numpy as np

        where = self._where.get(words)
        if where is None:
            keys = [self.key(f) for w in words for f in (w, w.capitalize(), w.upper()) if f]
            where = self._where[words] = np.searchsorted(self.union[:-1], np.array(keys, dtype=np.int64))
        return int(union_counts[where].sum())


class _PageCounts:
    """Per-page character counts of a book in one vectorised pass (numpy over code points).

    For every ``\\f``-separated page: ``nonspace`` (characters other than space, ``\\n``,
    ``\\t``, ``\\r``, ``\\v``), ``tokens`` (``len(page.split())``), ``hint`` (characters of
    ``_GARBAGE_HINT``), ``no_letter`` (``len(_NO_LETTER_TOKEN.findall(page))``: whitespace
    tokens without a letter), ``nonword`` (``len(_NON_WORD_CHAR.findall(page))``) and
    ``symbols`` (single-character matches of ``_SYMBOL``; ``...`` is counted with ``str.count``).
    The same numbers as the ``str`` / regex expressions they replace, which cost one Python call
    per page and character class. Each character's classes are looked up in one table
    (:func:`_flag_table`, built from those very expressions for the Basic Multilingual Plane;
    characters beyond it are classified one by one); per-page sums are ``np.add.reduceat`` over
    the page starts. ``codes`` / ``flags`` (the text's code units and class bits) stay available
    for the word split of :func:`_letter_runs`.
    """

    def __init__(self, text: str):
        import numpy as np

        self.codes = codes = _encode(text)
        self.flags = flags = _classify(codes)
        n = len(codes)
        # page k spans [starts[k], starts[k + 1]); the \f itself goes to the page after it (it is
        # whitespace and counts nowhere). Only page 0 can be empty, and reduceat would then give
        # the first element instead of 0, so it is zeroed.
        breaks = np.flatnonzero(codes == 12)
        starts = np.concatenate(([0], breaks))
        n_pages = len(starts)
        sum_dtype = np.int32 if n < 2**31 else np.int64
        first_empty = n == 0 or (len(breaks) > 0 and breaks[0] == 0)

        def per_page(bits, bit: int = 1):
            if n == 0:
                return np.zeros(n_pages, dtype=np.int64)
            out = np.add.reduceat(bits, starts, dtype=sum_dtype).astype(np.int64)
            if first_empty:
                out[0] = 0
            return out // bit if bit != 1 else out

        self.nonspace = per_page(flags & _NONWS, _NONWS)
        self.hint = per_page(flags & _HINT, _HINT)
        self.nonword = per_page(flags & _NONWORD, _NONWORD)
        self.symbols = per_page(flags & _SYM, _SYM)
        # a token starts at a non-space character after a space (or at the start)
        space = flags & _SPACE  # 0/1
        start = space ^ 1
        start[1:] &= space[:-1]
        self.tokens = per_page(start)
        # A token without a letter is exactly a maximal run of "other" characters (neither space
        # nor letter) with a space (or the text's edge) on both sides. Such runs are sparse
        # (punctuation, digits): find where runs of other / not-other characters change, pair
        # each other-run's first character with the one after its end, and test their neighbours.
        other = (flags & (_SPACE | _LETTER)) == 0
        edges = np.flatnonzero(other[1:] != other[:-1]) + 1
        if n and other[0]:
            edges = np.concatenate(([0], edges))
        if n and other[-1]:
            edges = np.append(edges, n)
        first, end = edges[0::2], edges[1::2]  # other-runs are [first, end)
        space_before = (first == 0) | space[np.maximum(first - 1, 0)].astype(bool)
        space_after = (end == n) | space[np.minimum(end, max(n - 1, 0))].astype(bool)
        token_starts = first[space_before & space_after]
        self.no_letter = np.diff(np.searchsorted(token_starts, np.append(starts, n))) if n else np.zeros(1, np.int64)


def _count_symbols(text: str) -> int:
    """``len(_SYMBOL.findall(text))`` with C-level counts: each symbol character, each ``…``, and
    each non-overlapping ``...`` (``str.count`` counts them left to right, as ``findall`` does)."""
    return sum(text.count(c) for c in _SYMBOL_CHARS) + text.count("...")


def _dup_shares(chunks: list[str], min_chars: int) -> tuple[float, float]:
    """(share of chunks, share of their characters) that repeat an earlier chunk.

    Counted over the chunks of at least ``min_chars``: every occurrence after a chunk's first is
    a repeat, so the repeats are the counted chunks minus the distinct ones (C-level ``set``)."""
    counted = [chunk for chunk in chunks if len(chunk) >= min_chars]
    distinct = set(counted)
    n, chars = len(counted), sum(map(len, counted))
    dup, dup_chars = n - len(distinct), chars - sum(map(len, distinct))
    return (dup / n if n else 0.0), (dup_chars / chars if chars else 0.0)


def _top_ngram_char_share(words: list[str], n: int) -> float:
    """Share of word characters covered by the most frequent word n-gram (Gopher)."""
    total_chars = sum(map(len, words))
    if len(words) < n or not total_chars:
        return 0.0
    gram, count = Counter(zip(*(words[i:] for i in range(n)))).most_common(1)[0]
    if count < 2:
        return 0.0
    return min(1.0, count * sum(map(len, gram)) / total_chars)


def _top_ngram_char_shares(
    words: list[str], sizes: tuple[int, ...], total_chars: int | None = None
) -> dict[int, float]:
    """``{n: _top_ngram_char_share(words, n) for n in sizes}``, counting n-grams as integers.

    Each word is numbered by its first position (one C-level ``dict.setdefault`` pass), an
    n-gram is the base-``len(words)`` number of its word numbers, and one ``np.sort`` finds the
    largest count. ``Counter.most_common(1)`` breaks ties by first insertion, i.e. takes the
    earliest-starting n-gram: so does this. Falls back to the ``Counter`` version when the
    numbers would not fit in 63 bits. ``total_chars``: ``sum(map(len, words))`` when known.
    """
    import numpy as np

    m = len(words)
    if total_chars is None:
        total_chars = sum(map(len, words))
    out = {}
    ids = None
    for n in sizes:
        if m < n or not total_chars:
            out[n] = 0.0
            continue
        if n < 1 or m**n >= 2**63:
            out[n] = _top_ngram_char_share(words, n)
            continue
        if ids is None:
            first: dict[str, int] = {}
            ids = np.fromiter(map(first.setdefault, words, range(m)), dtype=np.int64, count=m)
        k = m - n + 1
        keys = ids[:k].copy()
        for j in range(1, n):
            keys *= m
            keys += ids[j : j + k]
        ranked = np.sort(keys)
        edges = np.concatenate(([0], np.flatnonzero(ranked[1:] != ranked[:-1]) + 1, [k]))
        counts = np.diff(edges)
        count = int(counts.max())
        if count < 2:
            out[n] = 0.0
            continue
        most = ranked[edges[:-1][counts == count]]  # the n-grams with the largest count
        is_most = keys == most[0] if len(most) == 1 else np.isin(keys, most)
        at = int(np.argmax(is_most))  # the earliest-starting of them
        out[n] = min(1.0, count * sum(map(len, words[at : at + n])) / total_chars)
    return out


def _spaced_chunks(text: str, max_chars: int, windows: int = 5) -> list[str]:
    """``windows`` evenly spaced pieces of ``text``, ``max_chars`` in all."""
    return [text[a:b] for a, b in _spaced_bounds(len(text), max_chars, windows)]


def _spaced_bounds(length: int, max_chars: int, windows: int = 5) -> list[tuple[int, int]]:
    """(start, end) of :func:`_spaced_chunks`' windows, clipped to ``length`` as slicing clips."""
    size = max_chars // windows
    step = (length - size) / max(windows - 1, 1)
    return [(min(int(i * step), length), min(int(i * step) + size, length)) for i in range(windows)]


def _spaced_sample(words: list[str], max_words: int, windows: int = 5) -> list[str]:
    """Up to ``max_words`` words from ``windows`` evenly spaced runs (bounded cost per book)."""
    if len(words) <= max_words:
        return words
    size = max_words // windows
    step = (len(words) - size) / max(windows - 1, 1)
    out: list[str] = []
    for i in range(windows):
        start = int(i * step)
        out.extend(words[start : start + size])
    return out


def _paragraphs(text: str) -> list[str]:
    """``_PARA_SPLIT.split(text)``. Fast path, page by page: ``str.split("\\n\\n")`` equals the
    blank-line split when no blank line holds spaces or tabs, and a blank line never spans a
    page break, so splitting pages first gives the same pieces in the same order."""
    if _SPACED_BLANK_LINE.search(text):
        return _PARA_SPLIT.split(text)
    return [para for page in text.split("\f") for para in page.split("\n\n")]


class BookHeuristicsScorer(PipelineStep):
    """Book-level Gopher / C4 / FineWeb heuristics as ``bh_`` metadata annotations (no dropping).

    Args:
        min_line_chars: lines shorter than this (after stripping) are layout and are ignored by
            the duplicated-line shares.
        min_para_chars: paragraphs shorter than this are ignored by the duplicated-paragraph
            shares.
        ngram_sizes: word n-gram sizes for ``bh_top_{n}gram_char_share``.
        ngram_max_words: n-gram shares are computed on at most this many (lower-cased) words,
            taken from 5 evenly spaced runs of the book: repetition that matters shows in a
            sample, and counting every n-gram of a long book is the slowest part of the stage.
        sample_chars: stop-word rates and n-grams are computed on at most this many characters,
            in 5 evenly spaced windows (a window edge may cut one word).
        page_min_chars: pages with fewer non-space characters are too short to call garbage
            (a page number, a caption) and are never flagged; pages with none are empty.
        page_max_symbol_share: a page whose non-space characters are more than this share of
            punctuation / symbols is garbage.
        page_min_alpha_words: a page whose share of words with a letter is below this is garbage.
        stop_words: override or extend the built-in ``{language: words}`` lists.
        prefix: metadata key prefix.
    """

    type = "📊 - SCORER"
    name = "📚 Book heuristics (Gopher/C4 for books)"

    def __init__(
        self,
        min_line_chars: int = 30,
        min_para_chars: int = 60,
        ngram_sizes: tuple[int, ...] = (2, 3),
        ngram_max_words: int = 6000,
        sample_chars: int = 100_000,
        page_min_chars: int = 40,
        page_max_symbol_share: float = 0.3,
        page_min_alpha_words: float = 0.5,
        stop_words: dict[str, list[str]] | None = None,
        prefix: str = "bh_",
    ):
        super().__init__()
        self.min_line_chars = min_line_chars
        self.min_para_chars = min_para_chars
        self.ngram_sizes = tuple(ngram_sizes)
        self.ngram_max_words = ngram_max_words
        self.sample_chars = sample_chars
        self.page_min_chars = page_min_chars
        self.page_max_symbol_share = page_max_symbol_share
        self.page_min_alpha_words = page_min_alpha_words
        self.stop_words = {k: frozenset(w.lower() for w in v) for k, v in (stop_words or {}).items()}
        self.prefix = prefix
        self._keys = ProcessLocal()  # _StopWordKeys of the stop lists, built on first use

    def _stop_lists(self) -> dict[str, frozenset[str]]:
        return {**STOP_WORDS, **self.stop_words}

    def page_is_garbage(self, page: str) -> bool | None:
        """True/False for a page; ``None`` for an empty page."""
        nonspace = len(page) - sum(page.count(c) for c in " \n\t\r\v")
        if nonspace <= 0 or not page.strip():
            return None
        return self._page_verdict(page, nonspace, len(page.split()), None)

    def _page_verdict(self, page: str, nonspace: int, n_tokens: int, hint: int | None) -> bool:
        """:meth:`page_is_garbage` of a non-empty page, its counts known (``hint``: when counted)."""
        if nonspace < self.page_min_chars:
            return False
        # cheap screen first (C-level str.count): ordinary prose has few of these marks and
        # words of 4+ characters on average; only suspicious pages get the regex checks
        if hint is None:
            hint = sum(page.count(c) for c in _GARBAGE_HINT)
        if hint / nonspace < 0.1 and nonspace / n_tokens >= 3.5:
            return False
        if len(_NON_WORD_CHAR.findall(page)) / nonspace > self.page_max_symbol_share:
            return True
        return 1 - len(_NO_LETTER_TOKEN.findall(page)) / n_tokens < self.page_min_alpha_words

    def _page_flags(self, pc: _PageCounts) -> list[bool | None]:
        """:meth:`page_is_garbage` of every page from its counts (same tests, same order)."""
        flags = []
        for nonspace, tokens, hint, nonword, no_letter in zip(
            pc.nonspace.tolist(), pc.tokens.tolist(), pc.hint.tolist(), pc.nonword.tolist(), pc.no_letter.tolist()
        ):
            if nonspace <= 0 or not tokens:
                flags.append(None)
            elif nonspace < self.page_min_chars or (hint / nonspace < 0.1 and nonspace / tokens >= 3.5):
                flags.append(False)
            elif nonword / nonspace > self.page_max_symbol_share:
                flags.append(True)
            else:
                flags.append(1 - no_letter / tokens < self.page_min_alpha_words)
        return flags

    def _candidates(self, language: str | None, mix: dict | None) -> dict[str, frozenset[str]]:
        """The stop lists :meth:`stopword_rate` tries, in order: the language's (joined with the
        other language of a bilingual book), else every list."""
        lists = self._stop_lists()
        lang = (language or "").lower()[:2]
        # a bilingual book (a Latin play with English notes) uses the stop words of each
        # language that holds at least a fifth of it, so its second language isn't counted as noise
        mixed = sorted(k[:2] for k, v in (mix or {}).items() if isinstance(v, (int, float)) and v >= 0.2
                       and k[:2] in lists)
        if lang in lists and len(mixed) > 1 and lang in mixed:
            return {"+".join(mixed): frozenset().union(*(lists[m] for m in mixed))}
        if lang in lists:
            return {lang: lists[lang]}
        return lists

    def stopword_rate(self, counts: Counter, n_words: int, language: str | None,
                      mix: dict | None = None) -> tuple[float, str]:
        """Stop words per 1,000 letter words, for the language (or the best-matching list).

        ``counts`` holds words as printed; a stop word counts in lower, Capitalised and UPPER
        case (cheaper than lower-casing the whole book).
        """
        if not n_words:
            return 0.0, language or "none"
        best_lang, best = "none", -1
        for name, words in self._candidates(language, mix).items():
            hits = sum(counts[w] + counts[w.capitalize()] + counts[w.upper()] for w in words)
            if hits > best:
                best_lang, best = name, hits
        return 1000 * best / n_words, best_lang

    def score(self, doc: Document) -> None:
        import numpy as np

        text = doc.text
        p = self.prefix
        meta = doc.metadata
        pc = _PageCounts(text)
        flags = self._page_flags(pc)
        n_empty = flags.count(None)
        n_garbage = flags.count(True)
        meta[p + "page_garbage"] = [f is True for f in flags]
        meta[p + "empty_page_share"] = round(n_empty / len(flags), 4)
        meta[p + "garbage_page_share"] = (
            round(n_garbage / (len(flags) - n_empty), 4) if len(flags) > n_empty else 0.0
        )
        # book-level counts: sums of the per-page counts over the pages kept (all, or all but garbage)
        keep = slice(None)
        text_changed = False
        if n_garbage:
            self.stat_update("garbage_pages", value=n_garbage)
            if n_garbage < len(flags) - n_empty:
                # the book-level signals describe the book without its garbage pages (a plate's
                # symbol soup is judged by garbage_page_share and removed by drop_pages)
                text = "\f".join(page for page, f in zip(text.split("\f"), flags) if f is not True)
                keep = np.array([f is not True for f in flags])
                text_changed = True
        n_tokens = int(pc.tokens[keep].sum())
        meta[p + "n_words"] = n_tokens
        # nonspace summed over the kept pages = len(text) minus its " \n\t\r\f\v" characters
        meta[p + "mean_word_length"] = round(int(pc.nonspace[keep].sum()) / n_tokens, 3) if n_tokens else 0.0
        meta[p + "alpha_words_ratio"] = (
            round(1 - int(pc.no_letter[keep].sum()) / n_tokens, 4) if n_tokens else 0.0
        )
        # _count_symbols(text): "..." runs never cross a page break, so one str.count suffices
        n_symbols = int(pc.symbols[keep].sum()) + text.count("...")
        meta[p + "symbol_word_ratio"] = round(n_symbols / n_tokens, 4) if n_tokens else 0.0

        # stop words and n-grams are rates: a bounded, evenly spaced sample of the book is enough.
        # The sample's words are _LETTER_WORD.findall of its windows (joined by "\n", a non-letter);
        # they are handled as numpy bounds into the sample's code points, and only the n-gram
        # sample becomes strings.
        if text_changed:  # the code points of the full text no longer match: classify the sample anew
            sample_text = (
                text if len(text) <= self.sample_chars else "\n".join(_spaced_chunks(text, self.sample_chars))
            )
            codes = _encode(sample_text)
            flags = _classify(codes)
        elif len(text) <= self.sample_chars:
            codes, flags = pc.codes, pc.flags
        else:  # the windows joined by a space (any non-letter would do)
            bounds = _spaced_bounds(len(text), self.sample_chars)
            space = np.array([32], dtype=pc.codes.dtype)
            space_flags = _classify(space)
            codes = np.concatenate([x for a, b in bounds for x in (pc.codes[a:b], space)])
            flags = np.concatenate([x for a, b in bounds for x in (pc.flags[a:b], space_flags)])
        starts, ends = _word_bounds(flags)
        # words = _spaced_sample(found, ngram_max_words * 100), as word numbers
        picked = np.concatenate(
            [np.arange(a, b) for a, b in _window_ranges(len(starts), self.ngram_max_words * 100)]
        )
        keys = self._keys.value
        if keys is None:
            keys = self._keys.value = _StopWordKeys(self._stop_lists())
        language, mix = meta.get("language"), meta.get("languages")
        if keys.usable:
            n_words = len(picked)
            best_lang, best = "none", -1
            if n_words:
                union_counts = keys.union_counts(codes, starts[picked], ends[picked] - starts[picked])
                for name, stop in self._candidates(language, mix).items():
                    hits = keys.hits(union_counts, stop)
                    if hits > best:
                        best_lang, best = name, hits
                rate, lang = 1000 * best / n_words, best_lang
            else:
                rate, lang = 0.0, language or "none"
        else:
            words = _spaced_sample(_letter_runs(codes, flags), self.ngram_max_words * 100)
            rate, lang = self.stopword_rate(Counter(words), len(words), language, mix)
        meta[p + "stopwords_per_1000"] = round(rate, 2)
        meta[p + "stopword_language"] = lang

        # a line (paragraph) shorter than the minimum before stripping is shorter after it: skip it
        lines = [line.strip() for line in text.split("\n") if len(line) >= self.min_line_chars]
        meta[p + "dup_line_share"], meta[p + "dup_line_char_share"] = (
            round(x, 4) for x in _dup_shares(lines, self.min_line_chars)
        )
        paras = [para.strip() for para in _paragraphs(text) if len(para) >= self.min_para_chars]
        meta[p + "dup_para_share"], meta[p + "dup_para_char_share"] = (
            round(x, 4) for x in _dup_shares(paras, self.min_para_chars)
        )
        # the n-gram sample, [w.lower() for w in _spaced_sample(words, self.ngram_max_words)]: the only
        # words made into strings
        ngram_picked = np.concatenate(
            [picked[a:b] for a, b in _window_ranges(len(picked), self.ngram_max_words)]
        )
        sample, sample_chars = _lower_words(codes, flags, starts, ends, ngram_picked)
        for n, share in _top_ngram_char_shares(sample, self.ngram_sizes, sample_chars).items():
            meta[f"{p}top_{n}gram_char_share"] = round(share, 4)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            with self.track_time():
                self.score(doc)
            self.stat_update("books")
            yield doc
