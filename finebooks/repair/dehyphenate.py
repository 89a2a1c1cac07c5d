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

import re

from datatrove.data import Document

from finebooks.repair.base import PageRepairer
from finebooks.repair.lexicon import (
    BookVocabulary,
    guess_language,
    has_lexicon,
    normalize_language,
    words,
    zipf,
)

#: characters that end a line in a hyphenated word
HYPHENS = "-\u2010\u2011\u00ac\u00ad=\u2e17\u2e40"
#: marks that only ever mean a line-break hyphenation (ABBYY's ¬, the soft hyphen)
SOFT_HYPHENS = "\u00ac\u00ad"
#: printed as a kept compound's hyphen instead of the mark itself
_HYPHEN_OUT = {"=": "-", "\u00ac": "-", "\u00ad": "-"}

# a hyphen at a line end, then the first token of the next line and the blanks after it. The
# pattern starts on a fixed character class, so scanning a book runs at C speed (~170 MB/s);
# the word before the hyphen is found in Python for the few hundred candidates per book.
_CANDIDATE = re.compile(rf"[{HYPHENS}][ \t\r]*\n[ \t]*(\S+)([ \t]*)")
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
_SHORT_FRAGMENT_ZIPF = 4.0  # a fragment under min_fragment_len joins only into a word this common
_WINDOW = 64  # longest token before a line-end hyphen that is looked at


def _is_letter(ch: str) -> bool:
    return ch.isalpha() or "\u0300" <= ch <= "\u036f"


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
        """
        if hyphen in SOFT_HYPHENS:
            return _JOIN
        first = _PART_SPLIT.split(word)[-1]  # the last component: "in" of "brother-in"
        for ap in _APOSTROPHES:  # "l'exem" -> "exem"
            if ap in first:
                first = first.rsplit(ap, 1)[-1]
        if not first:
            return None
        joined_form, compound_form = word + second, word + "-" + second
        keep = _KEEP if self.keep_compound else _JOIN

        def book_says(need_word: bool = True) -> str | None:
            """keep/join when the book prints only the compound / only the joined word.

            ``need_word=False``: the caller joins anyway unless the compound is printed, so the
            (dearer) word search is done only when it is.
            """
            if vocab is None:
                return None
            has_compound = vocab.has_compound(compound_form) or (
                hyphen not in "-=\u00ac\u00ad" and vocab.has_compound(word + hyphen + second))
            if not has_compound and not need_word:
                return None
            has_joined = vocab.has_word(joined_form)
            if has_compound != has_joined:
                return keep if has_compound else _JOIN
            return None

        lower_first, lower_second = first.lower(), second.lower()
        stutter = len(first) >= 2 and lower_second.startswith(lower_first)  # "fall-" + "falling"

        # capitals: Anglo-Saxon, Nord-Amerika are compounds; "anti-" + "Christian", OCR noise
        # ("greatest-" + "Princes"), a head in capitals, or anything across a page only when the
        # book prints the compound
        if second[0].isupper() and not (second.isupper() and first.isupper()):
            if first[0].isupper() and not second.isupper() and not strict:
                return keep
            return keep if book_says(need_word=False) == keep else None

        lexicon = has_lexicon(lang)
        joined = first + second
        jz = zipf(joined, lang) if lexicon else 0.0
        # two free words (not a prefix such as "un", "con" or a suffix such as "ness"; "in" is
        # free inside "brother-in-"), in a language that hyphenates compounds: "well" + "known"
        affixes = _AFFIXES.get(lang)
        parts_words = (
            lexicon and lang in OPEN_COMPOUND_LANGUAGES and len(first) >= 2 and len(second) >= 2
            and (lower_first not in affixes[0] or first != word) and lower_second not in affixes[1]
            and zipf(first, lang) >= self.part_zipf and zipf(second, lang) >= self.part_zipf
        )
        if jz >= self.word_zipf and (not parts_words or jz >= self.compound_zipf):
            if min(len(first), len(second)) < self.min_fragment_len and jz < _SHORT_FRAGMENT_ZIPF:
                return None  # a single letter joins only into a common word: "a-" + "bout"
            if parts_words and book_says(need_word=False) == keep:
                return keep  # "door-step" printed in this book, "doorstep" not
            return _JOIN
        if rest_of_line and lower_second in SUSPENSION_WORDS.get(lang, _ANY_SUSPENSION):
            return None  # "Ein- und Ausgang", "pre- or post-war": a suspended compound
        if stutter and lexicon and zipf(second, lang) >= self.word_zipf:
            return keep
        shortest = max(self.min_fragment_len, 3) if strict else self.min_fragment_len
        fallback_join = not parts_words and len(first) >= shortest and len(second) >= shortest
        said = book_says(need_word=not fallback_join)
        if said is not None:
            return said
        if parts_words:
            return keep
        return _JOIN if fallback_join else None

    # ------------------------------------------------------------------ repair
    def repair_pages(self, pages: list[str], doc: Document | None) -> list[str]:
        text = "\f".join(pages)
        vocab = BookVocabulary(text) if self.use_book_vocabulary else None

        # --- find the breaks within pages (page breaks are \f, never matched) and at page ends
        found = []
        pos = 0
        for m in _CANDIDATE.finditer(text):
            s = m.start()
            if s <= pos:
                continue
            c = text[s - 1]
            if not (c.isalpha() or "\u0300" <= c <= "\u036f"):  # _is_letter, inlined
                continue
            window = text[max(pos, s - _WINDOW):s]
            parts = window.rsplit(None, 1)
            token = parts[-1] if parts else ""
            cut = s - len(window)
            if len(token) == len(window) and cut > pos and not text[cut - 1].isspace():
                continue  # a "word" longer than the window: not text
            first = _FIRST_PART.fullmatch(token)
            second = _SECOND_PART.match(m.group(1))
            if first is None or second is None:
                continue
            found.append((m, first["word"], second.group()))
        page_ends = self._page_ends(pages) if self.join_across_pages and len(pages) > 1 else []
        if not found and not page_ends:
            return pages
        lang = self.book_language(doc, text)
        counts = {_JOIN: 0, _KEEP: 0, "page": 0}

        # --- within pages
        out: list[str] = []
        pos = 0
        # decide() is a pure function of its arguments within a book (the vocabulary only
        # caches), and a book repeats some breaks: ask it once per distinct break
        decided: dict[tuple, str | None] = {}
        for m, word, second in found:
            s, end = m.start(), m.end()
            nxt = text[end:end + 1]
            hyphen = text[s]
            rest = bool(nxt) and nxt not in "\n\f\r"
            key = (word, second, hyphen, rest)
            if key in decided:
                decision = decided[key]
            else:
                decision = decided[key] = self.decide(word, second, hyphen, lang, vocab, rest_of_line=rest)
            if self.trace is not None:
                page_start = text.rfind("\f", 0, s) + 1
                self.trace.append(
                    (text.count("\f", 0, s), text.count("\n", page_start, s), word, second, decision))
            if decision is None:
                continue
            counts[decision] += 1
            out.append(text[pos:s])
            if decision == _KEEP:
                out.append(_HYPHEN_OUT.get(hyphen, hyphen))
            out.append(m.group(1))
            if rest:
                out.append("\n")  # the rest of the second line stays on its line
            pos = end
        if out:
            out.append(text[pos:])
            pages = "".join(out).split("\f")

        # --- across pages
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
