"""Character normalisation of digitised books: the cheap, character-level repairs.

OCR text and old digital texts carry characters that are noise for a language model but that
web pipelines never see, or see rarely: mojibake from a wrong decoding, typographic ligatures
(``ﬁ``), decomposed accents, control and zero-width characters, runs of U+FFFD replacement
characters, no-break and other odd spaces, and the long s (``ſ``) of books printed before about
1800 -- which OCR engines usually read as ``f`` ("fome", "moft", "paftime"). This stage fixes
those, each part switchable, and counts every change by kind (in the step's stats and under
``metadata["repairs"]["normalise_characters"]``).

What it deliberately does **not** change, because it is legitimate book text:

* curly quotes, dashes and ellipses (ftfy's ``uncurl_quotes`` is off);
* ``æ``, ``œ``, ``ĳ`` and ``ß``: letters of their languages, not typographic ligatures;
* combining characters that have no precomposed form (e.g. ``a`` + U+0364 COMBINING LATIN
  SMALL LETTER E, the Fraktur superscript-e umlaut of German ground truth): Unicode NFC only
  *composes* where a precomposed character exists, so these stay as they are;
* the form feed ``\\f`` (the page separator), ``\\n`` and ``\\t``;
* HTML entities (``&amp;``) unless ``unescape_html`` is set: a book may mention them;
* bidirectional marks (U+200E/F, U+202A-E, U+2066-9), and ZWJ/ZWNJ next to scripts that need
  them (Arabic, Indic, emoji);
* a real word spelt with f: the f-for-long-s restoration (off by default) only touches a word
  that is *not* a word of the language while its s-variant is a common one.

Order of the parts (each is skipped when switched off): mojibake (ftfy, only where a cheap
regular expression sees its signature, and before anything that would destroy the evidence,
such as C1 controls or U+00A0) -> control characters -> zero-width characters -> odd spaces ->
ligatures -> U+FFFD runs -> long s -> NFC -> f-for-long-s restoration (over the whole book).

The f-for-long-s restoration. In English (and French, German, ...) printing up to c. 1800, a
lower-case s that is not word-final is printed ``ſ``; the sample collection's rule is "when the
next character is a letter other than f, b or k". Real books also print ``ſſ`` ("poſſible",
read "poffible"), ``ſs`` ("bufinefs") and often ``ſb``/``ſk`` ("huſband", "aſk"), so here an
``f`` is a long-s *candidate* wherever it is lower-case and followed by a lower-case letter
(never word-final, never a capital F, never in a mixed-case token). A word is changed to the
most frequent variant with some candidate f's turned into s when

1. the variant is a common word (wordfreq Zipf frequency >= ``s_min_zipf``), and
2. the printed word is unknown to the lexicon ("moft", "paftime"), or rare (Zipf <
   ``f_max_zipf``) *and* the variant is at least ``min_zipf_gain`` more frequent ("fhe" 2.1 ->
   "she" 6.3, "fo" 3.7 -> "so" 6.5). wordfreq's lists, built partly from OCR'd books, hold
   some long-s forms themselves, which is why a known word is not simply kept.

Real-word confusions ("fame"/"same", "fee"/"see", "fat"/"sat") are left alone: without context
they cannot be decided and a real f-word must not be broken. A word broken by a line-end hyphen
("ne-\\nceffary") is decided on the joined form; a fragment is never decided on its own.
Then a book-level check: a book printed with long s has restorations all over its vocabulary,
one without it has a few repeated ones (OCR reading "the" as "fhe", a rare word such as
"ruffian"), so the restorations of a book are kept only when it has at least
``long_s_book_min_rate`` distinct restored words per 1,000 words. The lexicon is a small
private lookup of wordfreq's Zipf frequencies (cached, loaded on first use), so the stage does
not depend on other repair modules.

Measured precision and recall of the restoration, and the share of characters changed on
clean text, are printed by ``benchmarks/eval_normalise.py``.

Speed: one numpy pass over a book's UTF-16 code units tells which pages can change at all
(``_page_hints``); the others (most pages of most books) are not scanned again, and ftfy is run
only on the lines of a suspicious page that it can change. Same output as scanning every page.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from functools import lru_cache
from itertools import combinations
from typing import Literal

import numpy as np
from datatrove.data import Document

from finebooks.repair.base import PageRepairer

# ---------------------------------------------------------------------------- character classes
# C0 controls except \t \n \f (\r is handled first: \r\n and lone \r become \n), DEL and C1.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]+")
_CR_RE = re.compile(r"\r\n?")

# zero-width characters. ZWNJ/ZWJ are kept next to scripts that use them (Arabic, Indic, emoji).
_ZW_ALWAYS = "\u200b\u2060\ufeff\u180e"
_ZW_JOINERS = "\u200c\u200d"
_JOINER_SCRIPTS = (
    "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\u0900-\u0dff\u2600-\u27bf\ufe0f\U0001f000-\U0001faff"
)
_ZERO_WIDTH_RE = re.compile(f"[{_ZW_ALWAYS}]|(?<![{_JOINER_SCRIPTS}])[{_ZW_JOINERS}](?![{_JOINER_SCRIPTS}])")
_ZERO_WIDTH_ANY_RE = re.compile(f"[{_ZW_ALWAYS}{_ZW_JOINERS}]")

# spaces other than U+0020 that OCR and e-texts use (no-break, en/em/thin/hair, narrow no-break,
# ideographic, ...). U+200B is zero-width, handled above.
_ODD_SPACE_RE = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")

# typographic ligatures of the Latin alphabet (Alphabetic Presentation Forms). æ/œ/ĳ are letters.
LIGATURES = {
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "\u017ft",  # long s + t; the long-s part then follows the long_s setting
    "\ufb06": "st",
}
_LIGATURE_RE = re.compile("[\ufb00-\ufb06]")
_LIGATURE_TABLE = str.maketrans(LIGATURES)

LONG_S = "\u017f"
_FFFD_RUN_RE = re.compile("\ufffd{2,}")
_FFFD_RE = re.compile("\ufffd+")

# the signature of mojibake: a UTF-8 lead byte decoded as Latin-1/cp1252 followed by a
# continuation byte decoded the same way (Ã©, â€™, Â ...), C1 controls (cp1252 text decoded as
# Latin-1) and terminal escapes. Only pages that match are handed to ftfy (slow by comparison).
_CP1252_CONT = (
    "\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
)
_MOJIBAKE_MARKERS = ("Ã", "Â", "â€", "Å", "Ä", "Ð", "Ñ", "Î", "Ï", "ï»", "\x1b")
_C1_RE = re.compile("[\x80-\x9f]")
_MOJIBAKE_RE = re.compile(f"[\xc2-\xf4][{_CP1252_CONT}]|[\x80-\x9f]|\x1b\\[")
_HTML_ENTITY_RE = re.compile(r"&(?:[a-zA-Z][a-zA-Z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")

# every character that one of the single-character steps handles: one scan finds pages with work
_UNUSUAL_RE = re.compile(
    "[\x00-\x08\x0b\x0d-\x1f\x7f-\xa0\u1680\u180e\u2000-\u200d\u202f\u205f\u2060\u3000"
    "\ufb00-\ufb06\ufeff\ufffd\u017f]"
)

# per-page hints from one pass over a book's UTF-16 code units (see _page_hints): which of the
# per-page tests can succeed. Each bit is exact or a superset; a page without any is unchanged.
_H_UNUSUAL = 1  # exactly _UNUSUAL_RE
_H_MARKER = 2  # the first character of a _MOJIBAKE_MARKERS entry (superset of the marker test)
_H_C1 = 4  # exactly _C1_RE
_H_NFC = 8  # a character that can make a text not NFC (superset of not is_normalized)
_hint_table: np.ndarray | None = None


def _nfc_risky(bmp: str) -> np.ndarray:
    """BMP code units that can make a text not NFC: combining class > 0, NFC quick check "No"
    (changed by NFC on their own) or "Maybe" (second character of a canonical two-character
    decomposition, conjoining Hangul jamo), and surrogates (UTF-16 halves of other planes).
    Without any of these, ``unicodedata.is_normalized("NFC", text)`` is true (the quick check
    answers YES)."""
    risky = np.fromiter(map(unicodedata.combining, bmp), np.int32, len(bmp)) != 0
    for code, decomposition in enumerate(map(unicodedata.decomposition, bmp)):
        if decomposition and not decomposition.startswith("<"):
            parts = decomposition.split()
            if len(parts) == 2:
                risky[int(parts[1], 16)] = True
            if unicodedata.normalize("NFC", bmp[code]) != bmp[code]:
                risky[code] = True
    risky[0x1100:0x1200] = True  # conjoining jamo (composed algorithmically)
    risky[0xD800:0xE000] = True
    return risky


def _page_hints(pages: list[str]) -> list[int] | None:
    """The hint bits of every page, from one pass over the book: encode to UTF-16, look up the
    code units that can carry a bit (non-ASCII, DEL, controls) in a table (built on first use,
    ~60 ms) and OR them per page. ``None`` when a page holds a ``\\f`` itself (pages could then
    not be told apart)."""
    global _hint_table
    if _hint_table is None:
        bmp = "".join(map(chr, range(0x10000)))
        table = np.zeros(0x10000, np.uint8)
        table[[m.start() for m in _UNUSUAL_RE.finditer(bmp)]] |= _H_UNUSUAL
        table[[ord(marker[0]) for marker in _MOJIBAKE_MARKERS]] |= _H_MARKER
        table[[m.start() for m in _C1_RE.finditer(bmp)]] |= _H_C1
        table[_nfc_risky(bmp)] |= _H_NFC
        _hint_table = table
    units = np.frombuffer(("\f".join(pages) + "\f").encode("utf-16-le", "surrogatepass"), np.uint16)
    ends = np.flatnonzero(units == 12)  # the "\f" after every page
    if len(ends) != len(pages):
        return None
    # only non-ASCII, DEL and control code units can carry a bit: look those up (a few per cent)
    at = np.flatnonzero((units > 126) | ((units < 32) & (units != 10)))
    bits = _hint_table[units[at]]
    hit = np.flatnonzero(bits)
    hints = np.zeros(len(pages), np.uint8)
    np.bitwise_or.at(hints, np.searchsorted(ends, at[hit]), bits[hit])  # page i ends at ends[i]
    return hints.tolist()


# ---------------------------------------------------------------------------- long s
# Candidates are found from their f (a literal search, fast), then widened to the whole word:
# letters, with apostrophes inside ("fhou'd"). A word touching a digit or "_" is not a word.
_F_CANDIDATE_RE = re.compile(r"f(?=[^\W\d_])")
_WORD_TAIL_RE = re.compile(r"(?:[^\W\d_]|['\u2019](?=[^\W\d_]))*")
_APOSTROPHES = "'\u2019"
# a line-end hyphen between two fragments of one word
_HYPHEN_BREAK_RE = re.compile(r"-[ \t]*\n[ \t]*(?=[^\W\d_])")
_HYPHEN_LINE_END_RE = re.compile(r"-[ \t]*(?:\n|\Z)")

# ISO 639-2/3 codes that book metadata uses -> wordfreq's codes
_LANG_ALIASES = {
    "eng": "en",
    "fre": "fr",
    "fra": "fr",
    "ger": "de",
    "deu": "de",
    "dut": "nl",
    "nld": "nl",
    "ita": "it",
    "spa": "es",
    "por": "pt",
    "swe": "sv",
    "dan": "da",
    "nor": "nb",
    "nob": "nb",
    "pol": "pl",
    "cze": "cs",
    "ces": "cs",
    "fin": "fi",
    "hun": "hu",
    "cat": "ca",
    "rus": "ru",
    "english": "en",
    "french": "fr",
    "german": "de",
    "dutch": "nl",
    "italian": "it",
    "spanish": "es",
    "portuguese": "pt",
    "swedish": "sv",
    "danish": "da",
}

MAX_F_POSITIONS = 6  # all subsets up to here; beyond, only "every f" and single f's are tried


def wordfreq_language(language: str | None) -> str | None:
    """The wordfreq code for a metadata language (``en``, ``eng``, ``en-GB``), or ``None``."""
    if not language or not isinstance(language, str):
        return None
    code = language.strip().lower().replace("_", "-").split("-")[0]
    code = _LANG_ALIASES.get(code, code)
    return code if code in _wordfreq_languages() else None


def _wordfreq_languages() -> frozenset[str]:
    from finebooks.wordlists import available_languages

    return available_languages()


def _frequencies(lang: str):
    """wordfreq's "best" frequencies (:mod:`finebooks.wordlists`: cached arrays, the same values as
    ``wordfreq.get_frequency_dict``; the object :mod:`finebooks.repair.lexicon` uses too)."""
    from finebooks.repair.lexicon import _frequencies as shared

    return shared(lang)


@lru_cache(maxsize=1 << 20)
def zipf(word: str, lang: str) -> float:
    """Zipf frequency of ``word`` in ``lang`` (wordfreq's best list; 0 for an unknown word).

    The private lexicon of this stage, loaded on first use (not at import or construction, so
    the stage stays cheap to build and to pickle) and cached. It gives the value of
    ``wordfreq.zipf_frequency``; a plain word is looked up in wordfreq's frequency table
    directly (50x faster than going through its tokenizer, which matters for the many unique
    OCR tokens of a book), anything else goes through ``zipf_frequency`` itself.
    """
    key = word.casefold()
    if key.isalpha():
        freq = _frequencies(lang).get(key)
        if not freq:
            return 0.0
        freq = round(freq, math.floor(-math.log10(freq)) + 3)  # wordfreq's 3 significant digits
        return round(math.log10(freq) + 9, 2)
    import wordfreq

    return wordfreq.zipf_frequency(word, lang)


def f_positions(word: str) -> list[int]:
    """Positions of the f's in ``word`` that may be a long s read as f (see the module doc)."""
    return [i for i in range(len(word) - 1) if word[i] == "f" and word[i + 1].islower()]


@lru_cache(maxsize=1 << 18)
def long_s_variant(
    word: str, lang: str, f_max_zipf: float, s_min_zipf: float, min_zipf_gain: float
) -> str | None:
    """The word with some f's turned into s when ``word`` is an OCR reading of a long s, else None.

    ``word`` counts as such when it is rare in the lexicon (Zipf < ``f_max_zipf``), while its
    best variant with s in some of the candidate positions is common (Zipf >= ``s_min_zipf``)
    and at least ``min_zipf_gain`` more frequent. Returns the variant spelt with ``s``.
    """
    if not (word.islower() or (word[0].isupper() and word[1:].islower())):
        return None  # mixed case ("fanD") is OCR garbage, all capitals have no long s
    pos = f_positions(word)
    if not pos:
        return None
    zf = zipf(word, lang)
    if zf >= f_max_zipf:
        return None
    if len(pos) <= MAX_F_POSITIONS:
        subsets = (s for r in range(1, len(pos) + 1) for s in combinations(pos, r))
    else:
        subsets = [tuple(pos), *((p,) for p in pos)]
    best, best_z = None, 0.0
    chars = list(word)
    for subset in subsets:
        v = chars.copy()
        for i in subset:
            v[i] = "s"
        variant = "".join(v)
        z = zipf(variant, lang)
        if z > best_z:
            best, best_z = variant, z
    if best is None or best_z < s_min_zipf:
        return None
    # a printed form that the lexicon knows at all needs a clear margin ("fhe" 2.1 -> "she" 6.3);
    # one it does not know ("moft", "paftime") only needs a common variant
    if zf > 0 and best_z - zf < min_zipf_gain:
        return None
    return best


# ---------------------------------------------------------------------------- the stage
class CharacterNormaliser(PageRepairer):
    """Fix character-level noise in digitised books: mojibake, ligatures, NFC, controls,
    zero-width and odd spaces, U+FFFD runs, long s, and (optionally) OCR's f for long s.

    Every part is switchable; each change is counted by kind (stats and
    ``metadata["repairs"]["normalise_characters"]``): ``mojibake_lines``, ``control_chars``,
    ``zero_width``, ``odd_spaces``, ``ligatures``, ``nfc``, ``replacement_chars``, ``long_s``
    (characters, except lines for mojibake), ``f_for_long_s`` (words), and
    ``f_for_long_s_book_rejected`` (restorations dropped by the book check) and
    ``f_for_long_s_no_lexicon`` (books whose language has no lexicon). Line and page structure is kept (only ``\\r`` becomes ``\\n``), so
    the positions in labels stay valid. See the module docstring for what is kept on purpose.

    Args:
        mojibake: repair mis-decoded text (UTF-8 read as cp1252/Latin-1, C1 controls) with ftfy,
            on pages where a cheap regular expression sees mojibake. Only ftfy's encoding fixes
            run: no quote uncurling, no ligature, width or line-break changes, no NFC.
        unescape_html: also decode HTML entities (``&amp;`` -> ``&``), on any page containing
            one. Off by default: a book may legitimately print an entity.
        ligatures: expand the Latin typographic ligatures ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ (æ, œ, ĳ are letters
            and stay).
        nfc: Unicode NFC (composes base + combining accent where a precomposed character
            exists; combining marks without one, e.g. U+0364, stay).
        control_chars: remove C0/C1 control characters and DEL, except ``\\t``, ``\\n`` and the
            page separator ``\\f``; ``\\r\\n`` and a lone ``\\r`` become ``\\n``.
        zero_width: remove zero-width space, word joiner, BOM/ZWNBSP and U+180E, and ZWJ/ZWNJ
            except next to scripts that need them.
        odd_spaces: turn no-break, en/em/thin/hair/narrow and ideographic spaces into ``" "``.
        replacement_chars: U+FFFD (the OCR/decoder's "unknown character"): ``"collapse"`` a run
            to one (default), ``"remove"`` every one, or ``"keep"``.
        long_s: ``"to_s"`` (default) turns ``ſ`` into ``s`` (always right in modern spelling);
            ``"keep"`` keeps it (diplomatic text).
        f_for_long_s: restore OCR's ``f`` for a long s ("fome" -> "some", "moft" -> "most")
            where the lexicon says so (see the module docstring). Off by default: only for
            books printed before c. 1820. With ``long_s="keep"`` the restored letter is ``ſ``.
            Also records up to 5 of the book's most frequent restored words
            (``f_for_long_s_words``) so that a reader can see what was done.
        language: lexicon language (wordfreq code, ISO 639-2/3 or English name) for books
            without ``metadata["language"]``; books in a language wordfreq lacks (e.g. Latin)
            are not touched by the restoration (counted as ``f_for_long_s_no_lexicon``).
        f_max_zipf: a printed word at or above this Zipf frequency is a real word: kept.
        s_min_zipf: the s-variant must be at least this frequent.
        min_zipf_gain: when the printed word is in the lexicon, the variant must be at least
            this much more frequent (Zipf is log10: 2.0 = 100 times).
        long_s_book_min_rate: distinct restored words per 1,000 words a book needs before its
            restorations are kept; 0 keeps them always.
        record: write per-book counts to ``metadata["repairs"]`` (stats are always kept).
    """

    name = "normalise_characters"

    REPLACEMENT_CHOICES = ("collapse", "remove", "keep")
    LONG_S_CHOICES = ("to_s", "keep")

    def __init__(
        self,
        mojibake: bool = True,
        unescape_html: bool = False,
        ligatures: bool = True,
        nfc: bool = True,
        control_chars: bool = True,
        zero_width: bool = True,
        odd_spaces: bool = True,
        replacement_chars: Literal["collapse", "remove", "keep"] = "collapse",
        long_s: Literal["to_s", "keep"] = "to_s",
        f_for_long_s: bool = False,
        language: str = "en",
        f_max_zipf: float = 4.0,
        s_min_zipf: float = 3.0,
        min_zipf_gain: float = 2.0,
        long_s_book_min_rate: float = 1.5,
        record: bool = True,
    ):
        super().__init__(record=record)
        if replacement_chars not in self.REPLACEMENT_CHOICES:
            raise ValueError(
                f"replacement_chars must be one of {self.REPLACEMENT_CHOICES}, not {replacement_chars!r}"
            )
        if long_s not in self.LONG_S_CHOICES:
            raise ValueError(f"long_s must be one of {self.LONG_S_CHOICES}, not {long_s!r}")
        self.mojibake = mojibake
        self.unescape_html = unescape_html
        self.ligatures = ligatures
        self.nfc = nfc
        self.control_chars = control_chars
        self.zero_width = zero_width
        self.odd_spaces = odd_spaces
        self.replacement_chars = replacement_chars
        self.long_s = long_s
        self.f_for_long_s = f_for_long_s
        self.language = language
        self.f_max_zipf = f_max_zipf
        self.s_min_zipf = s_min_zipf
        self.min_zipf_gain = min_zipf_gain
        self.long_s_book_min_rate = long_s_book_min_rate

    # ------------------------------------------------------------------ book
    def repair_pages(self, pages: list[str], doc: Document | None) -> list[str]:
        counts: Counter = Counter()
        # one pass over the book tells which pages can change at all (most cannot)
        hints = _page_hints(pages) if not self.unescape_html else None
        if hints is None:
            out = [self.normalise(page, counts) for page in pages]
        else:
            out = [self.normalise(page, counts, hint) if hint else page for page, hint in zip(pages, hints)]
        if self.f_for_long_s:
            out = self.restore_long_s_book(
                out, counts, doc.metadata.get("language") if doc is not None else None
            )
        for key, value in counts.items():
            if value:
                self.note(doc, key, value)  # counters go to the stats too; the word list only to the book
        return out

    def restore_long_s_book(
        self, pages: list[str], counts: Counter, language: str | None = None
    ) -> list[str]:
        """The f-for-long-s restoration over a book's pages, kept only if the book shows long s.

        In a book printed with long s the restorations spread over its whole vocabulary: Trove's
        pre-1800 English books give 1.8-40 *distinct* restored words per 1,000 words. Without
        long s, OCR noise (f read for t: "fhe" for "the") or rare words give the same few words
        again and again: at most 0.3 per 1,000 words in every later Trove book and in clean
        novels. Below ``long_s_book_min_rate`` the restorations are dropped (counted as
        ``f_for_long_s_book_rejected``).
        """
        lang = wordfreq_language(language or self.language)
        if lang is None:
            counts["f_for_long_s_no_lexicon"] += 1
            return pages
        words_fixed: Counter = Counter()
        restored = [self._restore_long_s(page, words_fixed, lang) if "f" in page else page for page in pages]
        n = sum(words_fixed.values())
        if not n:
            return pages
        words = sum(len(page.split()) for page in pages)
        if len(words_fixed) * 1000 < self.long_s_book_min_rate * words:
            counts["f_for_long_s_book_rejected"] += n
            return pages
        counts["f_for_long_s"] += n
        counts["f_for_long_s_words"] = [w for w, _ in words_fixed.most_common(5)]
        return restored

    # ------------------------------------------------------------------ page
    def normalise(self, text: str, counts: Counter | None = None, hint: int | None = None) -> str:
        """Normalise one page (or any text without page separators); add changes to ``counts``.

        Every part but the f-for-long-s restoration, which needs the whole book (see
        :meth:`restore_long_s_book`). ``hint``: the page's bits from :func:`_page_hints` (they
        replace the scans below), ``None`` to scan.
        """
        if counts is None:
            counts = Counter()
        # one cheap scan decides whether any single-character step has work on this page
        unusual = _UNUSUAL_RE.search(text) is not None if hint is None else bool(hint & _H_UNUSUAL)
        if self.unescape_html or (self.mojibake and (unusual or not text.isascii())):
            new = self._fix_mojibake(text, counts, unusual, hint)
            if new is not text:
                text, unusual, hint = new, _UNUSUAL_RE.search(new) is not None, None
        if unusual:
            hint = None  # the steps below may change the text: the hint no longer holds
            if self.control_chars:
                if "\r" in text:
                    text, n = _CR_RE.subn("\n", text)
                    counts["control_chars"] += n
                text = self._sub_counted(_CONTROL_RE, "", text, counts, "control_chars")
            if self.zero_width and _ZERO_WIDTH_ANY_RE.search(text):
                text = self._sub_counted(_ZERO_WIDTH_RE, "", text, counts, "zero_width")
            if self.odd_spaces:
                text, n = _ODD_SPACE_RE.subn(" ", text)
                counts["odd_spaces"] += n
            if self.ligatures and _LIGATURE_RE.search(text):
                counts["ligatures"] += len(_LIGATURE_RE.findall(text))
                text = text.translate(_LIGATURE_TABLE)
            if self.replacement_chars != "keep" and "\ufffd" in text:
                regex, repl = (
                    (_FFFD_RUN_RE, "\ufffd") if self.replacement_chars == "collapse" else (_FFFD_RE, "")
                )
                text = self._sub_counted(regex, repl, text, counts, "replacement_chars")
            if self.long_s == "to_s" and LONG_S in text:
                counts["long_s"] += text.count(LONG_S)
                text = text.replace(LONG_S, "s")
        if self.nfc and not text.isascii() and (hint is None or hint & _H_NFC) \
                and not unicodedata.is_normalized("NFC", text):
            new = unicodedata.normalize("NFC", text)
            counts["nfc"] += max(len(text) - len(new), 1)
            text = new
        return text

    @staticmethod
    def _sub_counted(regex: re.Pattern, repl: str, text: str, counts: Counter, key: str) -> str:
        """Substitute and count the characters removed (a run counts each character)."""
        new = regex.sub(repl, text)
        if len(new) != len(text):
            counts[key] += len(text) - len(new)
        return new

    # ------------------------------------------------------------------ mojibake
    def _fix_mojibake(self, text: str, counts: Counter, unusual: bool, hint: int | None = None) -> str:
        """ftfy on a page that shows mojibake (or HTML entities, when asked); else ``text`` itself.
        ``hint`` (see :func:`_page_hints`) skips the marker and C1 scans where they cannot match."""
        markers = (hint is None or hint & _H_MARKER) and any(marker in text for marker in _MOJIBAKE_MARKERS)
        c1 = unusual and (_C1_RE.search(text) if hint is None else hint & _H_C1)
        suspicious = self.mojibake and (markers or c1) and _MOJIBAKE_RE.search(text)
        entities = self.unescape_html and "&" in text and _HTML_ENTITY_RE.search(text)
        if not (suspicious or entities):
            return text
        new = _ftfy_fix(text, bool(self.mojibake), bool(entities))
        if new == text:
            return text
        old_lines, new_lines = text.split("\n"), new.split("\n")
        if len(old_lines) == len(new_lines):
            counts["mojibake_lines"] += sum(a != b for a, b in zip(old_lines, new_lines))
        else:
            counts["mojibake_lines"] += 1
        return new

    # ------------------------------------------------------------------ long s
    def _restore_long_s(self, text: str, words_fixed: Counter, lang: str) -> str:
        """Turn OCR's f back into s in the words the lexicon decides (see the module doc).

        Counts each restored word (lower-cased, with s) in ``words_fixed``.
        """
        restore = LONG_S if self.long_s == "keep" else "s"
        params = (lang, self.f_max_zipf, self.s_min_zipf, self.min_zipf_gain)
        # line-end hyphens between two word fragments: where the first ends, where the second starts
        breaks = {m.start(): m for m in _HYPHEN_BREAK_RE.finditer(text)} if "-" in text else {}
        second_starts = {m.end(): m for m in breaks.values()}
        pieces: list[str] = []
        done = 0  # text[:done] is in pieces
        size = len(text)
        for m in _F_CANDIDATE_RE.finditer(text):
            i = m.start()
            if i < done:
                continue  # inside a word already decided
            start, end = _word_start(text, i), _WORD_TAIL_RE.match(text, i).end()
            if start < done:
                continue
            if start > 0 and ((c := text[start - 1]).isalnum() or c == "_"):
                continue  # glued to digits or "_": not a word
            if end < size and ((c := text[end]).isalnum() or c == "_" or c == "-"):
                if c != "-":
                    continue
                if end not in breaks and _HYPHEN_LINE_END_RE.match(text, end):
                    continue  # a fragment whose other half is not on this page
                # otherwise a line-end break (below) or an in-line hyphen ("felf-love": one word)
            # a word broken by a line-end hyphen is decided on the joined form, never a fragment
            if end in breaks:
                brk = breaks[end]
                first, second = text[start:end], text[brk.end() : _WORD_TAIL_RE.match(text, brk.end()).end()]
                region_end = brk.end() + len(second)
            elif start in second_starts:
                brk = second_starts[start]
                first_start = _word_start(text, brk.start())
                if first_start < done:
                    continue
                first, second = text[first_start : brk.start()], text[start:end]
                start, region_end = first_start, end
            else:
                variant = long_s_variant(text[start:end], *params)
                if variant is None:
                    continue
                pieces.append(text[done:start])
                pieces.append(variant if restore == "s" else _apply(text[start:end], variant, restore))
                words_fixed[variant.lower()] += 1
                done = end
                continue
            variant = long_s_variant(first + second, *params)
            if variant is None:
                continue
            fixed = _apply(first + second, variant, restore)
            words_fixed[variant.lower()] += 1
            pieces.append(text[done:start])
            pieces.append(fixed[: len(first)] + brk.group() + fixed[len(first) :])
            done = region_end
        if not pieces:
            return text
        pieces.append(text[done:])
        return "".join(pieces)


def _word_start(text: str, i: int) -> int:
    """Start of the word that holds position ``i`` (letters, apostrophes between letters)."""
    while i > 0:
        c = text[i - 1]
        if c.isalpha() or (c in _APOSTROPHES and i >= 2 and text[i - 2].isalpha()):
            i -= 1
        else:
            break
    return i


def _apply(word: str, variant: str, restore: str) -> str:
    """``word`` with the f's that ``variant`` turns into s replaced by ``restore`` (s or ſ)."""
    if restore == "s":
        return variant
    return "".join(restore if a != b else a for a, b in zip(word, variant))


@lru_cache(maxsize=4)
def _ftfy_config(fix_encoding: bool, unescape_html: bool):
    from ftfy import TextFixerConfig

    return TextFixerConfig(
        unescape_html=unescape_html,
        remove_terminal_escapes=fix_encoding,
        fix_encoding=fix_encoding,
        restore_byte_a0=fix_encoding,
        replace_lossy_sequences=fix_encoding,
        decode_inconsistent_utf8=fix_encoding,
        fix_c1_controls=fix_encoding,
        fix_latin_ligatures=False,  # our own ligature step counts them and can be switched off
        fix_character_width=False,  # fullwidth forms are legitimate in CJK text
        uncurl_quotes=False,  # curly quotes are the book's typography, not an error
        fix_line_breaks=False,  # \r is handled by control_chars; U+2028/9 are left alone
        fix_surrogates=True,
        remove_control_chars=False,  # our own control step counts them
        normalization=None,  # our own NFC step
        explain=False,
    )


def _ftfy_fix(text: str, fix_encoding: bool, unescape_html: bool) -> str:
    """``ftfy.fix_text`` with our configuration, called only on the lines it can change.

    ftfy fixes a text line by line (segments ending in ``"\\n"``, each fixed on its own), and with
    this configuration a pure-ASCII line without an escape character (or ``&``, when unescaping
    HTML) comes back unchanged: its encoding fix returns ASCII as it is, and the other fixes need
    C1 controls, surrogates, ``\\x1b[`` or an entity. Skipping those lines gives the same text
    (a page of a clean novel is mostly ASCII lines) at a fraction of the cost."""
    import ftfy

    config = _ftfy_config(fix_encoding, unescape_html)
    segments = text.split("\n")
    last = len(segments) - 1
    for i, segment in enumerate(segments):
        if not segment.isascii() or "\x1b" in segment or (unescape_html and "&" in segment):
            fixed = ftfy.fix_text(segment + "\n" if i < last else segment, config)
            segments[i] = fixed[:-1] if i < last and fixed.endswith("\n") else fixed
            if i < last and not fixed.endswith("\n"):  # ftfy touched the line end: whole text
                return ftfy.fix_text(text, config)
    return "\n".join(segments)
