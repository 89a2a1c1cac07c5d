"""Word lookup shared by the repair stages: "is this string a word of language X?".

Two sources of evidence, because neither is enough on its own for old books:

* **A general lexicon**: the word-frequency lists of `wordfreq <https://github.com/rspeer/wordfreq>`_
  (installed with FineBooks, offline). :func:`is_word` and :func:`zipf` look a word up in the
  list of a language; the lists cover modern usage of ``en``, ``fr``, ``de``, ``nl``, ``it``,
  ``es`` and ``pt`` (the languages FineBooks tests; any other language wordfreq ships a list for
  works too). Words are compared the way wordfreq stores them: NFC, case-folded (``ß`` -> ``ss``,
  long ``ſ`` -> ``s``).
* **The book itself** (:class:`BookVocabulary`): whether a form is printed, whole, elsewhere in the
  same book. This is the fallback for languages wordfreq lacks (Latin, for which wordfreq would
  silently answer with the *Italian* list: :func:`has_lexicon` refuses such nearest-language
  matches), and the better judge of proper names, archaic spellings and OCR readings (``fecret``
  for *secret*) that no modern lexicon holds: if ``Harrowdale`` occurs unbroken on other pages,
  ``Harrow-`` + ``dale`` is that word; if ``sun-dial`` is printed with its hyphen mid-line, the
  hyphen at a line end is the compound's own.

Loading a language's list takes 0.1-0.4 s and 35-70 MB; it happens once per process, on the
first lookup in that language (never at import or in a stage's ``__init__``).

:func:`guess_language` is a cheap stop-word vote for books whose metadata has no language.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from functools import cache, lru_cache

#: languages FineBooks tests with a wordfreq list (others that wordfreq has also work)
LEXICON_LANGUAGES = ("en", "fr", "de", "nl", "it", "es", "pt")

#: default threshold of :func:`is_word`, in Zipf units (log10 of frequency per billion words):
#: 1.5 = about 3 occurrences per hundred million words; wordfreq's lists stop near 1.0.
DEFAULT_MIN_ZIPF = 1.5

# ISO 639-2/3 codes (bibliographic and terminological) and English names -> ISO 639-1
_LANGUAGE_ALIASES = {
    "eng": "en", "english": "en",
    "fre": "fr", "fra": "fr", "french": "fr", "français": "fr",
    "ger": "de", "deu": "de", "german": "de", "deutsch": "de",
    "dut": "nl", "nld": "nl", "dutch": "nl", "nederlands": "nl",
    "ita": "it", "italian": "it",
    "spa": "es", "spanish": "es",
    "por": "pt", "portuguese": "pt",
    "lat": "la", "latin": "la",
    "dan": "da", "swe": "sv", "nor": "nb", "nob": "nb", "fin": "fi", "pol": "pl", "cze": "cs",
    "ces": "cs", "hun": "hu", "rus": "ru", "gre": "el", "ell": "el", "cat": "ca", "ice": "is",
    "isl": "is",
}


def normalize_language(code: str | None) -> str | None:
    """``"en-GB"``, ``"eng"``, ``"English"`` -> ``"en"``; ``None``/empty -> ``None``."""
    if not code or not isinstance(code, str):
        return None
    code = code.strip().lower().replace("_", "-").split("-")[0]
    if not code:
        return None
    return _LANGUAGE_ALIASES.get(code, code)


@cache
def has_lexicon(lang: str | None) -> bool:
    """Whether wordfreq has a list for exactly this language (no nearest-language fallback)."""
    if not lang:
        return False
    from finebooks.wordlists import available_languages

    return lang in available_languages()


@cache
def _frequencies(lang: str):
    """wordfreq's "best" frequencies of ``lang``, read-only, with the dict's ``get``.

    From :mod:`finebooks.wordlists`: flat arrays cached on disk instead of the 300,000-entry dict
    that ``wordfreq.get_frequency_dict`` builds in every process (0.15-0.4 s per language); the
    same values, shared with :mod:`finebooks.repair.normalise`.
    """
    from finebooks.wordlists import frequencies

    return frequencies(lang)


def lookup_form(word: str) -> str:
    """The form wordfreq stores: NFC and case-folded (long s and ß fold to s / ss)."""
    if not word.isascii():
        word = unicodedata.normalize("NFC", word)
    return word.casefold()


@lru_cache(maxsize=1 << 18)
def zipf(word: str, lang: str) -> float:
    """Zipf frequency of a single word (0.0 when unknown, not a single word, or no lexicon).

    Unlike ``wordfreq.zipf_frequency`` this never tokenizes: ``"well-known"`` is not a word
    here (wordfreq would combine ``well`` and ``known``), and a lookup costs a dict access
    instead of ~200 µs.
    """
    if not word or not has_lexicon(lang):
        return 0.0
    freq = _frequencies(lang).get(lookup_form(word))
    if not freq:
        return 0.0
    return round(math.log10(freq) + 9, 2)


class _ZipfTable(dict):
    """word -> :func:`zipf` ``(word, lang)`` for one language, filled on first lookup of a word."""

    __slots__ = ("_freqs",)

    def __init__(self, lang: str):
        super().__init__()
        self._freqs = _frequencies(lang) if has_lexicon(lang) else None

    def __missing__(self, word: str) -> float:
        # the computation of zipf(), inlined: a hit then costs one dict lookup in C
        if len(self) >= _ZIPF_TABLE_MAX:
            self.clear()
        freq = None
        if word and self._freqs is not None:
            key = word if word.isascii() else unicodedata.normalize("NFC", word)  # lookup_form, inlined
            freq = self._freqs.get(key.casefold())
        value = self[word] = round(math.log10(freq) + 9, 2) if freq else 0.0
        return value


_ZIPF_TABLE_MAX = 1 << 16  # words per language table (~8 MB), then emptied
_ZIPF_TABLES: dict[str, _ZipfTable] = {}


def zipf_table(lang: str) -> dict[str, float]:
    """A dict whose ``[word]`` is :func:`zipf` ``(word, lang)``, for hot loops.

    The same values as :func:`zipf`, several times cheaper per lookup: a plain dict lookup
    instead of a call through ``lru_cache``. Built on the first call for a language (which loads
    that language's list, as the first :func:`zipf` lookup does) and kept for the process
    (emptied when it reaches 2^16 words, ~8 MB). Read only: do not store into it.
    """
    table = _ZIPF_TABLES.get(lang)
    if table is None:
        table = _ZIPF_TABLES[lang] = _ZipfTable(lang)
    return table


def is_word(word: str, lang: str, min_zipf: float = DEFAULT_MIN_ZIPF) -> bool:
    """Whether ``word`` is in the ``lang`` lexicon with Zipf frequency >= ``min_zipf``.

    Always ``False`` for a language without a lexicon (see :func:`has_lexicon`); callers then
    fall back on :class:`BookVocabulary`.
    """
    return zipf(word, lang) >= min_zipf


# ------------------------------------------------------------------------- book vocabulary
_HYPHEN_IN_WORD = re.compile(r"[-\u2010\u2011\u2e17](?=[^\W\d_])")
# the same, one pattern per hyphen character: a pattern that starts with a literal character is
# scanned ~8x faster by `re` than one that starts with a character class (~1.4 GB/s vs 170 MB/s)
_HYPHEN_IN_WORD_BY_CHAR = tuple(
    (h, re.compile(re.escape(h) + r"(?=[^\W\d_])")) for h in "-\u2010\u2011\u2e17")
# characters that end a word for BookVocabulary.has_word (before / after the form)
_NOT_BEFORE_WORD = "-\u2010\u2011\u2e17\u00ad"
_NOT_AFTER_WORD = "-\u2010\u2011\u2e17\u00ad\u00ac="
# the only characters outside ASCII whose lower case holds an ASCII letter (İ -> "i̇", Kelvin
# sign -> "k"); İ is also the only character whose lower case is longer than one character
_LOWER_TO_ASCII = "\u0130\u212a"
_ASCII_STRETCH = re.compile(r"[\x00-\x7f]+")
_TRAILING = ".,;:!?)]}'\"\u2019\u201d\u00bb*"
_LEADING = "([{'\"\u2018\u201c\u201e\u00ab*"


class BookVocabulary:
    """Whether a form is printed whole somewhere in one book (the lexicon of last resort).

    Two questions, answered at different costs:

    * :meth:`has_compound`: is this hyphenated compound (``sun-dial``, ``brother-in-law``)
      printed mid-line? The book's hyphenated tokens are collected once, on the first question,
      by scanning for a hyphen between letters (a few hundred per book: one literal scan per
      hyphen character that occurs, ~1 GB/s);
    * :meth:`has_word`: is this word (``Harrowdale``) printed as a whole token? Answered by
      searching the lower-cased book for the form and checking the characters around each hit,
      and cached per form (an ASCII form is searched in the book's UTF-8 bytes with ASCII
      letters lowered, ~5x cheaper to make than ``str.lower()``: see :func:`_ascii_lowered`).
      Building the set of all of a book's tokens instead would cost more
      than the rest of dehyphenation together (~35 MB/s), and the dehyphenator asks this only
      about the few breaks whose outcome it can change. :meth:`prefetch_words` answers many
      such questions of one book in one pass (the dehyphenator collects a book's questions
      first): on trove's ~10 questions per book, half the cost of one search per form. A
      form with non-ASCII letters is searched by its longest ASCII stretch in the same bytes
      (:func:`_find_anchored_word`), which spares most books a ``str.lower()``.

    Case-insensitive; a token may carry leading and trailing punctuation (``(word``,
    ``word,``), a word must not touch a letter, digit or hyphen on either side.
    """

    __slots__ = ("_ascii_lower", "_compounds", "_lower", "_text", "_words")

    def __init__(self, text: str):
        self._text = text
        self._lower: str | None = None
        self._ascii_lower: bytes | None = None
        self._compounds: set[str] | None = None
        self._words: dict[str, bool] = {}

    def has_compound(self, form: str) -> bool:
        """Whether the hyphenated ``form`` is printed as a whole token (case-insensitive)."""
        if self._compounds is None:
            self._compounds = self._collect_compounds()
        return form.lower() in self._compounds

    def has_word(self, form: str) -> bool:
        """Whether ``form`` (no spaces) is printed as a whole word (case-insensitive)."""
        form = form.lower()
        known = self._words.get(form)
        if known is None:
            known = self._words[form] = self._find_word(form)
        return known

    def prefetch_words(self, forms) -> None:
        """Answer :meth:`has_word` for many ``forms`` at once (the same answers, cached).

        Forms of 4+ ASCII letters or digits are searched together when there are at least
        ``_MIN_BATCH`` of them (:func:`_find_ascii_words`: one hashed pass over the book's
        4-byte groups instead of one search per form); the rest are left to :meth:`has_word`.
        """
        known = self._words
        batch = {form.lower() for form in forms if len(form) >= 4 and form.isascii() and form.isalnum()}
        batch = [form for form in batch if form not in known]
        if len(batch) < _MIN_BATCH:
            return
        low_bytes = self._ascii_lower
        if low_bytes is None:
            low_bytes = self._ascii_lower = _ascii_lowered(self._text)
        if not low_bytes:
            return  # not exact on these bytes: has_word searches the lowered str, form by form
        found = _find_ascii_words(low_bytes, [form.encode("ascii") for form in batch])
        for form in batch:
            known[form] = form.encode("ascii") in found

    def has(self, form: str) -> bool:
        """:meth:`has_compound` for a form with a hyphen, else :meth:`has_word`."""
        if _HYPHEN_IN_WORD.search(form):
            return self.has_compound(form)
        return self.has_word(form)

    # ------------------------------------------------------------------ internals
    def _collect_compounds(self) -> set[str]:
        text = self._text
        found = set()
        last_end = -1
        for i in _hyphens_in_words(text):
            if i <= last_end or i == 0 or not text[i - 1].isalpha():
                continue  # a second hyphen of a token already taken, or not between letters
            left = text[max(0, i - 64):i].rsplit(None, 1)
            right = text[i + 1:i + 65].split(None, 1)
            if not left or not right:
                continue
            token = (left[-1] + text[i] + right[0]).strip(_LEADING).rstrip(_TRAILING)
            found.add(token.lower())
            last_end = i + len(right[0])
        return found

    def _find_word(self, form: str) -> bool:
        if not form:
            return False
        if form.isascii():
            low_bytes = self._ascii_lower
            if low_bytes is None:
                low_bytes = self._ascii_lower = _ascii_lowered(self._text)
            if low_bytes:
                return _find_ascii_word(low_bytes, form.encode("ascii"))
        # a form with non-ASCII letters: searched by its longest ASCII stretch in the ASCII-lowered
        # bytes (see _find_anchored_word), which spares the book's str.lower()
        low_bytes = self._ascii_lower
        if low_bytes is None:
            low_bytes = self._ascii_lower = _ascii_lowered(self._text)
        if low_bytes:
            known = _find_anchored_word(low_bytes, form)
            if known is not None:
                return known
        low = self._lower
        if low is None:
            low = self._lower = self._text.lower()
        n = len(form)
        i = low.find(form)
        while i >= 0:
            before = low[i - 1] if i else " "
            after = low[i + n] if i + n < len(low) else " "
            if not (before.isalnum() or before in "-\u2010\u2011\u2e17\u00ad") and not (
                    after.isalnum() or after in "-\u2010\u2011\u2e17\u00ad\u00ac="):
                return True
            i = low.find(form, i + 1)
        return False


def _hyphens_in_words(text: str) -> list[int]:
    """Positions of ``_HYPHEN_IN_WORD`` matches in ``text``, in order (one literal scan per hyphen
    character that occurs: a single-character match with a look-ahead, so the union of the scans
    is exactly the matches of the character-class pattern)."""
    found = [pattern for h, pattern in _HYPHEN_IN_WORD_BY_CHAR if h in text]
    if len(found) == 1:
        return [m.start() for m in found[0].finditer(text)]
    return sorted(m.start() for pattern in found for m in pattern.finditer(text))


def _ascii_lowered(text: str) -> bytes:
    """``text`` as UTF-8 with ASCII letters lowered, for :func:`_find_ascii_word`; ``b""`` when
    that would not be exact (the text holds a character whose lower case is an ASCII letter).

    ``bytes.lower`` runs ~5x faster than ``str.lower`` on a book with non-ASCII characters, and an
    ASCII form occurs in ``text.lower()`` exactly where it occurs in these bytes: only ASCII
    characters lower to ASCII ones here, every character lowers to one character (so the
    neighbours of a hit are the neighbours in ``text``), and no character changes its being
    alphanumeric or a hyphen when lowered.
    """
    if not text or any(c in text for c in _LOWER_TO_ASCII):
        return b""
    return text.encode("utf-8", "surrogatepass").lower()


def _utf8_char_before(data: bytes, i: int) -> str:
    """The character whose UTF-8 encoding ends just before byte ``i`` (``i > 0``)."""
    j = i - 1
    while data[j] & 0xC0 == 0x80:  # continuation bytes
        j -= 1
    return data[j:i].decode("utf-8", "surrogatepass")


def _utf8_char_at(data: bytes, i: int) -> str:
    """The character whose UTF-8 encoding starts at byte ``i``."""
    lead = data[i]
    size = 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
    return data[i:i + size].decode("utf-8", "surrogatepass")


def _find_ascii_word(low: bytes, form: bytes) -> bool:
    """:meth:`BookVocabulary._find_word` for an ASCII (lower-case) ``form`` on :func:`_ascii_lowered` bytes."""
    n = len(form)
    size = len(low)
    i = low.find(form)
    while i >= 0:
        before = _utf8_char_before(low, i) if i else " "
        after = _utf8_char_at(low, i + n) if i + n < size else " "
        if not (before.isalnum() or before in _NOT_BEFORE_WORD) and not (
                after.isalnum() or after in _NOT_AFTER_WORD):
            return True
        i = low.find(form, i + 1)
    return False


_MAX_ANCHOR_HITS = 400  # hits of a form's ASCII stretch checked one by one, else str.lower()


def _find_anchored_word(low: bytes, form: str) -> bool | None:
    """:meth:`BookVocabulary._find_word` for a lower-case ``form`` that is not all ASCII, on
    :func:`_ascii_lowered` bytes; ``None`` when this search would cost too much (no ASCII stretch
    of 2+ characters in ``form``, or more than ``_MAX_ANCHOR_HITS`` hits of it).

    Characters lower one to one here, and those that lower to ASCII are ASCII (and lowered in
    ``low``), so every occurrence of ``form`` in ``text.lower()`` holds the bytes of the form's
    longest ASCII stretch where the stretch falls. Each hit of those bytes is widened by the
    characters of ``form`` before and after the stretch, decoded, lowered and compared; the
    characters around it are checked as :meth:`~BookVocabulary._find_word` checks them
    (lowering does not change whether a character is alphanumeric or a hyphen). The one
    character that ``str.lower`` lowers by its neighbours, the capital sigma, sends the search
    back to the lowered book.
    """
    stretches = _ASCII_STRETCH.findall(form)
    anchor = max(stretches, key=len, default="")
    if len(anchor) < 2:
        return None
    j = form.find(anchor)  # where it falls in form
    after_chars = len(form) - j - len(anchor)
    key = anchor.encode("ascii")
    size = len(low)
    q = low.find(key)
    hits = 0
    while q >= 0:
        hits += 1
        if hits > _MAX_ANCHOR_HITS:
            return None
        start = q
        for _ in range(j):  # back over the j characters before the stretch
            if start == 0:
                break
            start -= 1
            while low[start] & 0xC0 == 0x80:  # UTF-8 continuation bytes
                start -= 1
        else:
            end = q + len(key)
            for _ in range(after_chars):  # on over the characters after it
                if end >= size:
                    break
                lead = low[end]
                end += 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
            else:
                window = low[start:end].decode("utf-8", "surrogatepass")
                if "\u03a3" in window:
                    return None  # capital sigma lowers by its context (final sigma): lower the book
                if end <= size and window.lower() == form:
                    before = _utf8_char_before(low, start) if start else " "
                    after = _utf8_char_at(low, end) if end < size else " "
                    if not (before.isalnum() or before in _NOT_BEFORE_WORD) and not (
                            after.isalnum() or after in _NOT_AFTER_WORD):
                        return True
        q = low.find(key, q + 1)
    return False


_MIN_BATCH = 3  # forms from which one pass over the book beats one bytes.find per form
_HASH_MULT = 2654435761  # Knuth's multiplicative hash: 4-byte group -> 16-bit table slot


@cache
def _not_ascii_alnum_bytes():
    """A numpy table: byte -> whether it is not an ASCII letter or digit (built on first use)."""
    import numpy as np

    table = np.ones(256, dtype=bool)
    table[np.frombuffer(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)] = False
    return table


def _find_ascii_words(low: bytes, forms: list[bytes]) -> set[bytes]:
    """The distinct ``forms`` (lower-case ASCII letters/digits, 4+ bytes each) for which
    :func:`_find_ascii_word` is true, found in one pass over ``low`` (:func:`_ascii_lowered`).

    Every printed occurrence of a form starts with the form's first 4 bytes, at a position
    ``p`` whose byte before (if any) is not an ASCII letter or digit, and ends before such a
    byte (or at the end). The book is read as little-endian 32-bit groups at each of the 4 byte
    offsets (numpy views, no copy), so every position ``p`` with ``p + 4 <= len(low)`` starts
    exactly one group; the groups that hash to a slot of the forms' first 4 bytes are kept,
    then those equal to a form's first 4 bytes with a word boundary byte before and after
    (numpy filters over the few candidates), and each survivor is checked exactly as
    :func:`_find_ascii_word` checks a hit (the whole form; the characters before and after).
    So the answers are those of :func:`_find_ascii_word`; the cost is about that of two
    ``bytes.find`` that find nothing, whatever the number of forms.
    """
    import numpy as np

    size = len(low)
    if size < 4:
        return set()  # no room for a form
    by_head: dict[int, list[bytes]] = {}
    for form in forms:
        by_head.setdefault(int.from_bytes(form[:4], "little"), []).append(form)
    heads = np.fromiter(by_head, np.uint32, len(by_head))
    mult = np.uint32(_HASH_MULT)
    table = np.zeros(1 << 16, dtype=bool)
    table[(heads * mult) >> np.uint32(16)] = True
    starts, values = [], []
    for off in range(4):
        groups = np.frombuffer(low, dtype="<u4", count=(size - off) // 4, offset=off)
        slots = groups * mult
        slots >>= np.uint32(16)
        at = np.flatnonzero(table[slots])
        values.append(groups[at])
        starts.append(at * 4 + off)
    pos, head_at = np.concatenate(starts), np.concatenate(values)
    data = np.frombuffer(low, dtype=np.uint8)
    boundary = _not_ascii_alnum_bytes()
    word_start = boundary[data[pos - 1]]  # (pos - 1 == -1 reads the last byte: fixed below)
    word_start[pos == 0] = True
    pos, head_at = pos[word_start], head_at[word_start]
    found: set[bytes] = set()
    for head, same_head in by_head.items():
        at = pos[head_at == head]
        for form in same_head:
            n = len(form)
            cand = at[at + n <= size]
            ends = cand + n
            inside = ends < size
            word_end = np.ones(len(cand), dtype=bool)
            word_end[inside] = boundary[data[ends[inside]]]
            for p in cand[word_end].tolist():
                if not low.startswith(form, p):
                    continue
                before = _utf8_char_before(low, p) if p else " "
                after = _utf8_char_at(low, p + n) if p + n < size else " "
                if not (before.isalnum() or before in _NOT_BEFORE_WORD) and not (
                        after.isalnum() or after in _NOT_AFTER_WORD):
                    found.add(form)
                    break
    return found


# ------------------------------------------------------------------------- language guess
def words(spaced: str) -> frozenset[str]:
    """A word set written as one space-separated string (lists of short words stay readable)."""
    return frozenset(spaced.split())


_STOPWORDS = {
    "en": words("the and of to in that is was he for it with as his on be at by had which not but"),
    "fr": words("le la les des et est une que qui dans pour pas sur au aux ce il elle du ne se sont"),
    "de": words("der die und den das ist nicht mit sich des auf ein eine dem zu von sie er auch"),
    "nl": words("de het een en van dat niet zijn op te met voor hij zij ook door aan bij maar"),
    "it": words("il di che la non per una con sono del della gli le alla questo nel più"),
    "es": words("el la los las que y en del por con una para como su se lo más pero"),
    "pt": words("o os as que e do da dos das em um uma para com não se por mais ao"),
    "la": words("et in est non ad cum quod ut sed qui quae enim etiam atque ab ex esse sunt"),
}
_STOP_INDEX: dict[str, tuple[str, ...]] = {}
for _lang, _stop in _STOPWORDS.items():
    for _w in sorted(_stop):
        _STOP_INDEX[_w] = _STOP_INDEX.get(_w, ()) + (_lang,)


def guess_language(text: str, sample_chars: int = 10_000, min_hits: int = 20) -> str | None:
    """Cheap stop-word vote among en/fr/de/nl/it/es/pt/la on a sample from the middle of ``text``.

    Returns ``None`` when fewer than ``min_hits`` stop words are found (too little text, or a
    language outside the list). Words shared by several languages (``de``, ``la``, ``in``) vote
    for each; the distinctive ones decide. ~1 ms per book.
    """
    if len(text) > sample_chars:
        start = (len(text) - sample_chars) // 2
        text = text[start:start + sample_chars]
    votes: Counter = Counter()
    index = _STOP_INDEX
    for token, n in Counter(text.lower().split()).items():
        langs = index.get(token)
        if langs:
            for lang in langs:
                votes[lang] += n
    if not votes or sum(votes.values()) < min_hits:
        return None
    return votes.most_common(1)[0][0]
