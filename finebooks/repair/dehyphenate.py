"""Dehyphenation: rejoin words that the printer broke across a line end or a page end.

Hard-wrapped OCR text is full of ``exam-`` / ``ple`` pairs. Left alone they become two junk
tokens for every broken word (a language model learns the hyphenation, word counts and
quality scores are skewed, dedup shingles differ between editions). But not every hyphen at a
line end is a break: ``brother-in-`` / ``law`` and ``well-`` / ``known`` are compounds whose
own hyphen happened to fall there, and ``Ein-`` / ``und Ausgang`` is a German suspended
compound. :class:`Dehyphenator` decides, for each line that ends in a hyphen after a letter,
between

* **join**: ``exam-\\nple is`` -> ``example\\nis`` (the joined word goes to the first line, with
  whatever punctuation clings to it; the rest of the second line stays on its line; a line that
  held only the fragment disappears),
* **keep**: ``well-\\nknown fact`` -> ``well-known\\nfact`` (the same move, hyphen kept),
* **leave**: no change (not enough evidence, or a suspended compound).

The evidence, in order (see :mod:`finebooks.repair.lexicon` for the lookups):

1. marks that only ever mean a line-break hyphenation (``¬`` written by ABBYY, the soft hyphen
   U+00AD) always join;
2. a second part that starts with a capital after a capitalised first part is a compound
   (``Anglo-``/``Saxon``, ``Nord-``/``Amerika``): keep; after a lower-case one (``anti-`` /
   ``Christian``, or OCR noise such as ``greatest-`` / ``Princes``), in capitals (a heading) or
   across a page, keep only if the book prints that compound elsewhere, else leave;
3. the general lexicon (wordfreq) knows the joined form (Zipf >= ``word_zipf``) and the two
   fragments are not two free words (``exam`` + ``ple``, ``un`` + ``defined``): join. Two free
   words (``sun`` + ``dial``) join only into a common word (Zipf >= ``compound_zipf``:
   ``some`` + ``thing``, ``for`` + ``gets``), and not when the book prints the compound and
   never the word (``door-step``);
4. a suspended compound (``Ein-`` + ``und``, ``pre-`` + ``or``: a conjunction of the book's
   language, and the line goes on after it): leave;
5. a stutter (``fall-`` + ``falling``): keep;
6. the book itself: if it prints the hyphenated compound (``sun-dial``) and not the joined word,
   or the joined word (``Harrowdale``) and not the compound, elsewhere in the same book, that
   form wins;
7. otherwise, in languages that print many compounds with a hyphen (English, French), two free
   words whose joined form is rare or unknown are a compound (``well`` + ``known``, ``grand`` +
   ``mère``): keep. Everywhere else the break is joined (German and Dutch write compounds
   closed; Italian, Spanish and Portuguese rarely hyphenate them; Latin has no lexicon), when
   both fragments have at least ``min_fragment_len`` letters.

"Free word" means a lexicon word (Zipf >= ``part_zipf``) of two letters or more that is not a
common affix (``un``, ``con``, ``dis``... as first parts; ``ness``, ``ment``, ``ing``... as
second parts, in English and French), since wordfreq lists those as tokens. On the hand-checked
real line ends in ``tests/data/real_labels/hyphenation.jsonl`` these rules join with precision
0.986 (``benchmarks/eval_dehyphenate.py``).

Breaks across pages (the last line of page *i* ends in a hyphen, page *i+1* starts with the rest)
are repaired by moving the fragment onto page *i*, so that the whole word is on one page and
the page count is unchanged. A page number on top of page *i+1*, or a page number or printer's
signature (``I. 5``) under the text of page *i*, is stepped over and stays where it is. Because
a wrong move across pages is worse than none, the bare fallback join of step 7 needs fragments
of 3+ letters there, and a catchword (a last line that holds only ``Gleich-`` above a page that
starts with ``Gleichgewicht``) is left for the running-head stage. Run this stage *after*
running heads/feet are removed: a running head between the fragments blocks the join (a
capitalised head is never joined: step 2).

Hyphen characters: ``-``, ``‐`` (U+2010), ``‑`` (U+2011), ``¬``, the soft hyphen, and the
Fraktur double hyphen printed as ``⸗`` (U+2E17), ``⹀`` (U+2E40) or read by OCR as ``=``. A kept
compound keeps its printed hyphen, except that ``=``, ``¬`` and the soft hyphen become ``-``.

Text from the ALTO and hOCR/ABBYY readers already has marked hyphenation resolved (``HYP`` /
``SUBS_CONTENT``, ``¬``), so it has no such line ends and passes through unchanged.
"""

from __future__ import annotations

import operator
import re

from datatrove.data import Document

from finebooks.repair.base import PageRepairer
from finebooks.repair.lexicon import (
    BookVocabulary,
    guess_language,
    has_lexicon,
    normalize_language,
    words,
    zipf_table,
)
from finebooks.runtime import ProcessLocal

#: characters that end a line in a hyphenated word
HYPHENS = "-\u2010\u2011\u00ac\u00ad=\u2e17\u2e40"
#: marks that only ever mean a line-break hyphenation (ABBYY's ¬, the soft hyphen)
SOFT_HYPHENS = "\u00ac\u00ad"
#: printed as a kept compound's hyphen instead of the mark itself
_HYPHEN_OUT = {"=": "-", "\u00ac": "-", "\u00ad": "-"}

# a hyphen at a line end, then the first token of the next line and the blanks after it. The
# pattern starts on a fixed character class (~170 MB/s); repair_pages scans with one pattern per
# hyphen character instead (_candidates: a literal first character, ~1 GB/s). The word before
# the hyphen is found in Python for the few hundred candidates per book.
_AFTER_HYPHEN = r"[ \t\r]*\n[ \t]*(\S+)([ \t]*)"
_CANDIDATE = re.compile(rf"[{HYPHENS}]{_AFTER_HYPHEN}")
_LETTERS = r"(?:[^\W\d_]|[\u0300-\u036f])+"
# the token before the hyphen: leading punctuation, then a word (with inner hyphens/apostrophes)
_FIRST_PART = re.compile(
    rf"(?P<punct>[^\w\u0300-\u036f]*)(?P<word>{_LETTERS}(?:[-\u2010\u2011\u2e17'\u2019]{_LETTERS})*)"
)
_SECOND_PART = re.compile(_LETTERS)
# the start of a page: blank lines and page-number-only lines, then the first token
_PAGE_START = re.compile(
    r"(?:[ \t]*\n|[ \t]*[\[(]?(?:\d{1,4}|[ivxlcdm]{1,8}|[IVXLCDM]{1,8})[.\])]?[ \t]*\n)*[ \t]*(\S+)([ \t]*)"
)
# the foot of a page under the text: a page number or a printer's signature ("I. 5", "B 2", "2 *")
_PAGE_FOOT = re.compile(
    r"[ \t]*\*?(?:[\[(]?(?:\d{1,4}|[ivxlcdm]{1,8}|[IVXLCDM]{1,8})[.\])]?(?:[ \t]*\d{1,3})?|[A-Z]{1,2}[ \t]?\d{1,2})"
    r"[ \t]*\*?[ \t]*"
)
_PART_SPLIT = re.compile(r"[-\u2010\u2011\u2e17]")
_APOSTROPHES = "'\u2019"

#: languages that print many compounds with a hyphen (``well-known``, ``grand-mère``): two free
#: words at a line end whose joined form is rare are taken for a compound there. Elsewhere
#: (German and Dutch write compounds closed; Italian, Spanish, Portuguese rarely hyphenate) a
#: hyphen at a line end is a break unless the book itself prints the compound.
OPEN_COMPOUND_LANGUAGES = ("en", "fr")
#: fragments that are affixes, not free words, though the lexicon lists them ("un", "con" as
#: first parts; "ness", "ment" as second parts): "un-" + "defined" is a break
_AFFIXES = {
    "en": (
        words("un in im il ir dis con com col cor pre pro re de ex sub inter trans mis per sup sur tri bi "
              "en em ac ad ap ab ob op oc af as at"),
        words("ness ment ments ing ings ed er ers est ly ful tion tions able ible dom ward wards ous ance "
              "ence ity al age ery ate ive ism ist ant ent ure ish"),
    ),
    "fr": (
        words("dé de re ré pré con com in im en em"),
        words("ment ments tion tions ble bles eur eurs euse ais ait aient ons ez"),
    ),
}
#: conjunctions after which a first part with a hyphen is a suspended compound (``Ein- und
#: Ausgang``, ``pre- or post-war``, ``land- en tuinbouw``), per language
SUSPENSION_WORDS = {
    "de": words("und oder bis sowie noch"),
    "nl": words("en of tot"),
    "en": words("and or nor"),
    "fr": words("et ou ni"),
    "it": words("e o"),
    "es": words("y o u ni"),
    "pt": words("e ou"),
}
_ANY_SUSPENSION = frozenset().union(*SUSPENSION_WORDS.values())

_JOIN, _KEEP = "join", "keep"
_MISSING = object()
#: language -> lexicon.zipf_table(language), or None where has_lexicon() is False
_LANG_TABLES: dict[str, dict | None] = {}
_MAX_CACHED = 50_000  # cached plans, and cached candidates, per step (cleared when full)
_SHORT_FRAGMENT_ZIPF = 4.0  # a fragment under min_fragment_len joins only into a word this common
_WINDOW = 64  # longest token before a line-end hyphen that is looked at


def _is_letter(ch: str) -> bool:
    return ch.isalpha() or "\u0300" <= ch <= "\u036f"


#: _CANDIDATE for one hyphen character: a pattern that starts with a literal character is scanned
#: ~6x faster by `re` than one that starts with a character class. The look-ahead group 3 (it
#: consumes nothing) holds the character after the match when the line goes on after the fragment.
_CANDIDATE_BY_HYPHEN = {h: re.compile(re.escape(h) + _AFTER_HYPHEN + r"(?=([^\n\f\r])?)") for h in HYPHENS}


def _candidates(text: str):
    """The matches of ``_CANDIDATE.finditer(text)`` (with group 3), found with the literal patterns.

    A book usually holds one hyphen character (``-``): one scan. With several (``-`` and ``=``),
    the scans are merged as ``finditer`` would find them: the next match is the leftmost one that
    starts at or after the end of the previous match; a scan whose next match starts inside the
    previous match (a different hyphen character's) is restarted at that match's end, since it
    may have stepped over a match that starts there.
    """
    patterns = [_CANDIDATE_BY_HYPHEN[h] for h in HYPHENS if h in text]
    if len(patterns) <= 1:
        return patterns[0].finditer(text) if patterns else ()
    # all scans, in order: the answer when no match overlaps another (the usual case: each scan
    # then starts its next match exactly where finditer of the class pattern would look)
    found = sorted((m for p in patterns for m in p.finditer(text)), key=_START)
    pos = 0
    for m in found:
        if m.start() < pos:
            return _merge_scans(text, patterns)
        pos = m.end()
    return found


_START = operator.methodcaller("start")


def _merge_scans(text: str, patterns: list[re.Pattern]) -> list[re.Match]:
    """:func:`_candidates` where matches of different hyphen characters overlap (``a=`` /
    ``foo-`` / ``bar``): the next match is the leftmost one at or after the end of the last."""
    scans = [p.finditer(text) for p in patterns]
    heads = [next(scan, None) for scan in scans]
    found = []
    pos = 0
    while True:
        best, best_start = -1, -1
        for k, m in enumerate(heads):
            if m is None:
                continue
            start = m.start()
            if start < pos:  # inside the previous match: search again from its end
                scans[k] = patterns[k].finditer(text, pos)
                m = heads[k] = next(scans[k], None)
                if m is None:
                    continue
                start = m.start()
            if best < 0 or start < best_start:
                best, best_start = k, start
        if best < 0:
            return found
        m = heads[best]
        found.append(m)
        pos = m.end()
        heads[best] = next(scans[best], None)


def _ask(word: str, second: str, hyphen: str, need_word: bool, said_keep, said_join, said_none):
    """A plan that asks the book (``book_says``): the decision when it says keep / join / nothing.

    The book says keep when it prints the compound and not the joined word; join when it prints
    the joined word and not the compound, asked only when ``need_word`` (else the caller joins
    anyway unless the compound is printed); else nothing. Returns the decision itself when the
    book's answer cannot change it.
    """
    # (has compound, has word) -> says: (T, T) nothing, (T, F) keep, (F, T) join, (F, F) nothing
    with_compound = (said_none, said_keep)
    without = (said_join, said_none) if need_word else (said_none, said_none)
    if said_none == said_keep and without[0] == said_none:
        return said_none  # the book cannot change the decision: do not look
    other = word + hyphen + second if hyphen not in "-=\u00ac\u00ad" else None
    return (word + "-" + second, other, word + second, with_compound, without, said_none)


def _word_question(plan: tuple, vocab: BookVocabulary) -> tuple:
    """``(if the book prints the joined word, if not, joined word)`` for a plan of :func:`_ask`:
    :func:`_resolve` up to its word search (the compound question answered)."""
    compound, other, joined, with_compound, without, _ = plan
    if vocab.has_compound(compound) or (other is not None and vocab.has_compound(other)):
        return with_compound + (joined,)
    return without + (joined,)


def _resolve(plan, vocab: BookVocabulary | None) -> str | None:
    """The decision of a :meth:`Dehyphenator._plan` given the book's vocabulary."""
    if plan.__class__ is not tuple:
        return plan
    compound, other, joined, with_compound, without, nothing = plan
    if vocab is None:
        return nothing
    if vocab.has_compound(compound) or (other is not None and vocab.has_compound(other)):
        if_word, if_not = with_compound
    else:
        if_word, if_not = without
    if if_word == if_not:
        return if_word  # the word search cannot change it: skip it
    return if_word if vocab.has_word(joined) else if_not


class Dehyphenator(PageRepairer):
    """Join words hyphenated across line and page ends; keep compounds' own hyphens.

    Registered as ``dehyphenate``. Records ``joined`` (hyphen removed), ``kept_hyphen``
    (compound rejoined with its hyphen) and ``page_joins`` (of either, those across a page end)
    in the stats and in ``metadata["repairs"]["dehyphenate"]``.

    Args:
        language: ISO 639 code of the book's language, or ``"auto"``: ``metadata["language"]``
            when present, else a stop-word guess over en/fr/de/nl/it/es/pt/la
            (:func:`~finebooks.repair.lexicon.guess_language`), else ``"en"``. The language picks
            the wordfreq lexicon, the affixes and conjunctions, and whether two free words at a
            line end are taken for a compound (en, fr) or not. A language without a wordfreq
            list (Latin) relies on the book's own vocabulary.
        min_fragment_len: both fragments need at least this many letters for a join that only
            the fallback supports; a shorter fragment joins only into a common word (Zipf >= 4:
            ``a-`` + ``bout``). Single letters at line ends are mostly OCR noise.
        keep_compound: keep the hyphen of compounds broken at their own hyphen (``well-known``).
            ``False`` joins every break it accepts (``wellknown``), like naive dehyphenation.
        word_zipf: Zipf frequency from which a joined form counts as a word of the lexicon.
        part_zipf: Zipf frequency from which a fragment counts as a free word by itself.
        compound_zipf: a joined form of two free words must be at least this frequent to be
            joined without other evidence (``something``: join; ``sundial``, ``wellknown``: keep).
            3.0 is right on the hand-checked Trove labels; 4.0 would also keep the compounds of
            19th-century print that are closed today (``door-step``, ``fire-place``) but keeps
            more true breaks (``for-gets``, ``ser-mons``) with them.
        use_book_vocabulary: look forms up in the book itself (``Harrowdale`` printed whole on
            other pages; ``sun-dial`` printed mid-line).
        join_across_pages: also repair breaks from the last line of a page to the next page.
        record: record counts in ``metadata["repairs"]`` (stats are always kept).
    """

    name = "dehyphenate"
    #: for evaluation only (not a parameter): when a list, every decision is appended to it as
    #: ``(page, line, first part, second part, "join" | "keep" | None)``: 0-based page and line
    #: of the first part's line in the input; line ``-1`` for a break across a page end
    trace: list | None = None

    def __init__(
        self,
        language: str = "auto",
        min_fragment_len: int = 2,
        keep_compound: bool = True,
        word_zipf: float = 1.5,
        part_zipf: float = 3.0,
        compound_zipf: float = 3.0,
        use_book_vocabulary: bool = True,
        join_across_pages: bool = True,
        record: bool = True,
    ):
        super().__init__(record=record)
        self.language = language
        self.min_fragment_len = min_fragment_len
        self.keep_compound = keep_compound
        self.word_zipf = word_zipf
        self.part_zipf = part_zipf
        self.compound_zipf = compound_zipf
        self.use_book_vocabulary = use_book_vocabulary
        self.join_across_pages = join_across_pages

    # ------------------------------------------------------------------ language
    def book_language(self, doc: Document | None, text: str) -> str:
        """The language used for ``doc`` (see the ``language`` parameter)."""
        if self.language and self.language != "auto":
            return normalize_language(self.language) or "en"
        meta = normalize_language(doc.metadata.get("language")) if doc is not None else None
        return meta or guess_language(text) or "en"

    # ------------------------------------------------------------------ decision
    def decide(self, word: str, second: str, hyphen: str, lang: str, vocab: BookVocabulary | None,
               rest_of_line: bool = True, strict: bool = False) -> str | None:
        """``"join"``, ``"keep"`` or ``None`` (leave) for ``word`` + hyphen + line break + ``second``.

        ``word`` is the whole first part as printed without its final hyphen (it may hold inner
        hyphens: ``brother-in``); ``second`` the letters that start the next line.
        ``rest_of_line``: the next line goes on after ``second`` (needed to spot ``Ein- und``).
        ``strict``: across a page end: a capitalised second part needs the book's evidence, and
        a fallback join needs fragments of 3+ letters.

        The evidence of the lexicon is weighed once per distinct break (:meth:`_plan`, cached
        across books); what is left to the book's own vocabulary is looked up per book
        (:func:`_resolve`).
        """
        plans = self._caches()[0]
        key = (lang, word, second, hyphen, rest_of_line, strict)
        plan = plans.get(key, _MISSING)
        if plan is _MISSING:
            plan = plans[key] = self._plan(word, second, hyphen, lang, rest_of_line, strict)
        return _resolve(plan, vocab)

    def _params(self) -> tuple:
        return (self.min_fragment_len, self.keep_compound, self.word_zipf, self.part_zipf,
                self.compound_zipf)

    def _caches(self) -> tuple[dict, dict]:
        """This step's caches for its current parameters: ``(plans, candidates)``.

        ``plans``: ``(lang, word, second, hyphen, rest_of_line, strict) -> plan`` for
        :meth:`decide`; ``candidates``: ``lang -> {(token, second token, hyphen, rest) -> parsed}``
        for :meth:`repair_pages`. Keyed by the parameters, so that changing an attribute after
        construction is safe; each is emptied when it reaches ``_MAX_CACHED`` entries (~20 MB),
        so memory stays flat over a long run.
        """
        params = self._params()
        slot = self.__dict__.get("_cache")
        if slot is None:  # a ProcessLocal: kept out of executor.json (tuple keys) and out of pickles
            slot = self.__dict__["_cache"] = ProcessLocal()
        cache = slot.value
        if cache is None or cache[0] != params:
            cache = slot.value = (params, {}, {})
        _, plans, candidates = cache
        if len(plans) >= _MAX_CACHED:
            plans.clear()
        return plans, candidates

    def _plan(self, word: str, second: str, hyphen: str, lang: str, rest_of_line: bool,
              strict: bool) -> str | None | tuple:
        """The decision for a break, as far as it does not depend on the book.

        Returns the decision itself (``"join"``, ``"keep"`` or ``None``) when the book cannot
        change it, else a tuple for :func:`_resolve`: the compound form(s) and joined form to look
        up in the book, and the decision for each answer. The rules are those of the module
        docstring; each place that asks the book is marked "book:".
        """
        if hyphen in SOFT_HYPHENS:
            return _JOIN
        if word.isalpha():  # no inner hyphen or apostrophe (the common case): no split needed
            first = word
        else:
            first = _PART_SPLIT.split(word)[-1]  # the last component: "in" of "brother-in"
            for ap in _APOSTROPHES:  # "l'exem" -> "exem"
                if ap in first:
                    first = first.rsplit(ap, 1)[-1]
            if not first:
                return None
        keep = _KEEP if self.keep_compound else _JOIN
        # "book:" marks where the book's vocabulary decides (see _ask): it says keep when it
        # prints the compound and not the joined word, join when it prints the joined word and
        # not the compound (only asked when need_word), else None

        # capitals: Anglo-Saxon, Nord-Amerika are compounds; "anti-" + "Christian", OCR noise
        # ("greatest-" + "Princes"), a head in capitals, or anything across a page only when the
        # book prints the compound
        if second[0].isupper() and not (second.isupper() and first.isupper()):
            if first[0].isupper() and not second.isupper() and not strict:
                return keep
            # book: keep if it says keep, else leave
            return _ask(word, second, hyphen, need_word=False, said_keep=keep, said_join=None, said_none=None)

        lower_first, lower_second = first.lower(), second.lower()
        table = _LANG_TABLES.get(lang, _MISSING)
        if table is _MISSING:  # first break in this language: zipf_table() when it has a lexicon
            table = _LANG_TABLES[lang] = zipf_table(lang) if has_lexicon(lang) else None
        lexicon = table is not None
        jz = table[first + second] if lexicon else 0.0
        # two free words (not a prefix such as "un", "con" or a suffix such as "ness"; "in" is
        # free inside "brother-in-"), in a language that hyphenates compounds: "well" + "known"
        parts_words = False
        if lexicon and lang in OPEN_COMPOUND_LANGUAGES and len(first) >= 2 and len(second) >= 2:
            affixes = _AFFIXES[lang]
            parts_words = ((lower_first not in affixes[0] or first != word) and lower_second not in affixes[1]
                           and table[first] >= self.part_zipf and table[second] >= self.part_zipf)
        if jz >= self.word_zipf and (not parts_words or jz >= self.compound_zipf):
            if min(len(first), len(second)) < self.min_fragment_len and jz < _SHORT_FRAGMENT_ZIPF:
                return None  # a single letter joins only into a common word: "a-" + "bout"
            if parts_words:  # book: "door-step" printed in this book, "doorstep" not: keep
                return _ask(word, second, hyphen, need_word=False, said_keep=keep, said_join=_JOIN,
                            said_none=_JOIN)
            return _JOIN
        if rest_of_line and lower_second in SUSPENSION_WORDS.get(lang, _ANY_SUSPENSION):
            return None  # "Ein- und Ausgang", "pre- or post-war": a suspended compound
        # a stutter: "fall-" + "falling"
        if (len(first) >= 2 and lower_second.startswith(lower_first) and lexicon
                and table[second] >= self.word_zipf):
            return keep
        shortest = max(self.min_fragment_len, 3) if strict else self.min_fragment_len
        fallback_join = not parts_words and len(first) >= shortest and len(second) >= shortest
        # book: what it says wins; else two free words are a compound; else the fallback join
        otherwise = keep if parts_words else (_JOIN if fallback_join else None)
        return _ask(word, second, hyphen, need_word=not fallback_join, said_keep=keep, said_join=_JOIN,
                    said_none=otherwise)

    # ------------------------------------------------------------------ repair
    def repair_pages(self, pages: list[str], doc: Document | None) -> list[str]:
        """Repair the breaks within pages in one pass over the book, then those across pages.

        Each candidate (a hyphen after a letter at a line end) is planned as it is found; a
        break seen before (in this book or an earlier one: ``exam-`` / ``ple`` recurs) reuses the
        first part, second part and :meth:`_plan` found then. The joined words whose printing in
        this book decides a break are then looked up together
        (:meth:`~finebooks.repair.lexicon.BookVocabulary.prefetch_words`: one pass over the book
        instead of one search per word), and the breaks are repaired in a second loop.
        """
        text = "\f".join(pages)
        vocab = BookVocabulary(text) if self.use_book_vocabulary else None
        trace = self.trace
        counts = {_JOIN: 0, _KEEP: 0, "page": 0}
        lang = None
        seen = None  # lang's cache of candidates: (token, second token, hyphen, rest) -> parsed
        candidates = self._caches()[1]
        if sum(map(len, candidates.values())) >= _MAX_CACHED:
            candidates.clear()

        # --- within pages (page breaks are \f, never matched): plan each break, then repair
        found = []  # (start, end, second token, rest, hyphen, word, second, decision or question)
        questions: list[str] = []  # joined words whose printing in the book decides a break
        for m in _candidates(text):
            s = m.start()
            if s == 0:
                continue
            c = text[s - 1]
            if not (c.isalpha() or "\u0300" <= c <= "\u036f"):  # _is_letter, inlined
                continue
            cut = s - _WINDOW if s > _WINDOW else 0
            window = text[cut:s]
            parts = window.rsplit(None, 1)
            token = parts[-1] if parts else ""
            if len(token) == len(window) and cut > 0 and not text[cut - 1].isspace():
                continue  # a "word" longer than the window: not text
            second_token, _, after = m.groups()
            rest = after is not None
            hyphen = text[s]
            if lang is None:
                lang = self.book_language(doc, text)
                seen = candidates.setdefault(lang, {})
            key = (token, second_token, hyphen, rest)
            parsed = seen.get(key, _MISSING)
            if parsed is _MISSING:
                # a token of letters only is its own word (what _FIRST_PART / _SECOND_PART give)
                if token.isalpha():
                    word = token
                else:
                    first = _FIRST_PART.fullmatch(token)
                    word = first["word"] if first is not None else None
                if second_token.isalpha():
                    second = second_token
                else:
                    second = _SECOND_PART.match(second_token)
                    second = second.group() if second is not None else None
                if word is None or second is None:
                    parsed = None
                else:
                    parsed = (word, second, self._plan(word, second, hyphen, lang, rest, False))
                seen[key] = parsed
            if parsed is None:
                continue
            word, second, plan = parsed
            if plan.__class__ is tuple:
                if vocab is None:
                    plan = plan[5]  # what _resolve decides without a vocabulary
                else:  # (if word, if not, joined): the word is searched after this loop
                    plan = _word_question(plan, vocab)
                    if plan[0] == plan[1]:
                        plan = plan[0]  # the word search cannot change it
                    else:
                        questions.append(plan[2])
            if plan is None and trace is None:
                continue  # left as it is
            found.append((s, m.end(), second_token, rest, hyphen, word, second, plan))
        page_ends = self._page_ends(pages) if self.join_across_pages and len(pages) > 1 else []
        if page_ends and lang is None:
            lang = self.book_language(doc, text)
        if vocab is not None:
            if page_ends:  # the breaks across pages ask their words later: ask them here too
                self._page_end_questions(pages, page_ends, lang, vocab, questions)
            if len(questions) > 1:
                vocab.prefetch_words(questions)
        out: list[str] = []
        pos = 0
        for s, end, second_token, rest, hyphen, word, second, plan in found:
            if plan.__class__ is tuple:
                decision = plan[0] if vocab.has_word(plan[2]) else plan[1]
            else:
                decision = plan
            if trace is not None:
                page_start = text.rfind("\f", 0, s) + 1
                trace.append((text.count("\f", 0, s), text.count("\n", page_start, s), word, second, decision))
            if decision is None:
                continue
            counts[decision] += 1
            out.append(text[pos:s])
            if decision == _KEEP:
                out.append(_HYPHEN_OUT.get(hyphen, hyphen))
            out.append(second_token)
            if rest:
                out.append("\n")  # the rest of the second line stays on its line
            pos = end

        # --- across pages (found on the pages as they came in, repaired on the changed ones)
        if out:
            out.append(text[pos:])
            pages = "".join(out).split("\f")
        for i, _, _ in page_ends:
            decision = self._join_page_end(pages, i, lang, vocab)
            if decision is not None:
                counts[decision] += 1
                counts["page"] += 1

        if counts[_JOIN]:
            self.note(doc, "joined", counts[_JOIN])
        if counts[_KEEP]:
            self.note(doc, "kept_hyphen", counts[_KEEP])
        if counts["page"]:
            self.note(doc, "page_joins", counts["page"])
        return pages

    @staticmethod
    def _page_end(page: str, next_page: str):
        """(body, first part match, start-of-next-page match, second part) of a break, or None.

        ``body`` is the page up to the hyphen: a page number or printer's signature (``I. 5``)
        under the text is stepped over, as a page number on top of the next page is.
        """
        body = page.rstrip()
        cut = body.rfind("\n")
        if cut >= 0 and len(body) - cut <= 12 and _PAGE_FOOT.fullmatch(body, cut + 1):
            body = body[:cut].rstrip()
        if len(body) < 2 or body[-1] not in HYPHENS or not _is_letter(body[-2]):
            return None
        start = max(body.rfind(" "), body.rfind("\n"), body.rfind("\t")) + 1
        first = _FIRST_PART.fullmatch(body[start:-1])
        m = _PAGE_START.match(next_page)
        if first is None or m is None:
            return None
        second = _SECOND_PART.match(m.group(1))
        if second is None:
            return None
        return body, first, m, second.group()

    def _page_ends(self, pages: list[str]) -> list[tuple[int, str, str]]:
        res = []
        for i in range(len(pages) - 1):
            found = self._page_end(pages[i], pages[i + 1])
            if found is not None:
                res.append((i, found[1]["word"], found[3]))
        return res

    def _page_end_questions(self, pages: list[str], page_ends: list, lang: str, vocab: BookVocabulary,
                            questions: list[str]) -> None:
        """Add to ``questions`` the joined words that :meth:`_join_page_end` will probably look up
        in the book (those of the breaks as found on the unrepaired ``pages``), so that
        :meth:`~finebooks.repair.lexicon.BookVocabulary.prefetch_words` answers them with the
        rest. Only the cost depends on this: every answer is exact, asked or not."""
        plans = self._caches()[0]
        for i, word, second in page_ends:
            found = self._page_end(pages[i], pages[i + 1])
            body, m, nxt_page = found[0], found[2], pages[i + 1]
            end = m.end()
            rest = end < len(nxt_page) and nxt_page[end] not in "\n\r"
            key = (lang, word, second, body[-1], rest, True)  # as decide() caches it
            plan = plans.get(key, _MISSING)
            if plan is _MISSING:
                plan = plans[key] = self._plan(word, second, body[-1], lang, rest, True)
            if plan.__class__ is tuple:
                if_word, if_not, joined = _word_question(plan, vocab)
                if if_word != if_not:
                    questions.append(joined)

    def _join_page_end(self, pages: list[str], i: int, lang: str, vocab) -> str | None:
        found = self._page_end(pages[i], pages[i + 1])  # again: the pages may have changed
        if found is None:
            return None
        body, first, m, second = found
        last_line = body[body.rfind("\n") + 1:].strip()
        if " " not in last_line and second.lower().startswith(first["word"].lower()):
            return None  # a catchword: "Gleich-" alone under the text, "Gleichgewicht" overleaf
        page, nxt_page = pages[i], pages[i + 1]
        end = m.end()
        rest = end < len(nxt_page) and nxt_page[end] not in "\n\r"
        hyphen = body[-1]
        decision = self.decide(first["word"], second, hyphen, lang, vocab, rest_of_line=rest, strict=True)
        if self.trace is not None:
            self.trace.append((i, -1, first["word"], second, decision))
        if decision is None:
            return None
        glue = _HYPHEN_OUT.get(hyphen, hyphen) if decision == _KEEP else ""
        pages[i] = body[:-1] + glue + m.group(1) + page[len(body):]
        line_start = nxt_page.rfind("\n", 0, m.start(1)) + 1
        if rest:
            pages[i + 1] = nxt_page[:line_start] + nxt_page[end:]
        else:  # the line held only the fragment: drop it with its newline
            pages[i + 1] = nxt_page[:line_start] + nxt_page[end + 1:]
        return decision
