"""The fast dehyphenation (issue 9) gives exactly the output of the straightforward code it replaced.

What changed, and what each test pins down:

* breaks are found with one literal-prefix scan per hyphen character (``_candidates``) instead of
  one character-class scan, merged as ``finditer`` would: the same matches, in the same order;
* ``decide`` is split into a book-independent :meth:`Dehyphenator._plan` (cached per step, across
  books) and a per-book :func:`_resolve`; the lexicon is read through ``zipf_table``;
* ``BookVocabulary`` collects compounds with literal scans and answers ``has_word`` for ASCII
  forms on ASCII-lowered UTF-8 bytes instead of ``str.lower()``;
* the dehyphenator plans all breaks of a book first and answers their ``has_word`` questions
  together (``BookVocabulary.prefetch_words``: one hashed numpy pass over the book's 4-byte
  groups instead of one ``bytes.find`` per form).

The references below are the previous code, copied verbatim (``_ReferenceVocabulary``,
``_ReferenceDehyphenator``); the tests compare text, metadata, stats and every decision (the
``trace``) on crafted edge cases, random texts and real Trove books.
"""

from __future__ import annotations

import random
import re

import pytest
from datatrove.data import Document

from finebooks.repair import lexicon
from finebooks.repair.dehyphenate import (
    _AFFIXES,
    _ANY_SUSPENSION,
    _APOSTROPHES,
    _CANDIDATE,
    _FIRST_PART,
    _HYPHEN_OUT,
    _JOIN,
    _KEEP,
    _PART_SPLIT,
    _SECOND_PART,
    _SHORT_FRAGMENT_ZIPF,
    _WINDOW,
    OPEN_COMPOUND_LANGUAGES,
    SOFT_HYPHENS,
    SUSPENSION_WORDS,
    Dehyphenator,
    _candidates,
)
from finebooks.repair.lexicon import BookVocabulary, has_lexicon, words, zipf, zipf_table

# ------------------------------------------------------------------------------ references
_REF_HYPHEN_IN_WORD = re.compile(r"[-\u2010\u2011\u2e17](?=[^\W\d_])")
_TRAILING = ".,;:!?)]}'\"\u2019\u201d\u00bb*"
_LEADING = "([{'\"\u2018\u201c\u201e\u00ab*"


class _ReferenceVocabulary(BookVocabulary):
    """BookVocabulary before the fast paths (character-class scan, ``str.lower`` search)."""

    def prefetch_words(self, forms) -> None:
        pass  # every answer from _find_word below

    def _collect_compounds(self) -> set[str]:
        text = self._text
        found = set()
        last_end = -1
        for m in _REF_HYPHEN_IN_WORD.finditer(text):
            i = m.start()
            if i <= last_end or i == 0 or not text[i - 1].isalpha():
                continue
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
        low = self._text.lower()
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


class _ReferenceDehyphenator(Dehyphenator):
    """Dehyphenator before the fast paths: one decide() with a closure, a two-pass repair."""

    def decide(self, word, second, hyphen, lang, vocab, rest_of_line=True, strict=False):
        if hyphen in SOFT_HYPHENS:
            return _JOIN
        first = _PART_SPLIT.split(word)[-1]
        for ap in _APOSTROPHES:
            if ap in first:
                first = first.rsplit(ap, 1)[-1]
        if not first:
            return None
        joined_form, compound_form = word + second, word + "-" + second
        keep = _KEEP if self.keep_compound else _JOIN

        def book_says(need_word=True):
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
        stutter = len(first) >= 2 and lower_second.startswith(lower_first)
        if second[0].isupper() and not (second.isupper() and first.isupper()):
            if first[0].isupper() and not second.isupper() and not strict:
                return keep
            return keep if book_says(need_word=False) == keep else None
        lexicon_ = has_lexicon(lang)
        joined = first + second
        jz = zipf(joined, lang) if lexicon_ else 0.0
        affixes = _AFFIXES.get(lang)
        parts_words = (
            lexicon_ and lang in OPEN_COMPOUND_LANGUAGES and len(first) >= 2 and len(second) >= 2
            and (lower_first not in affixes[0] or first != word) and lower_second not in affixes[1]
            and zipf(first, lang) >= self.part_zipf and zipf(second, lang) >= self.part_zipf
        )
        if jz >= self.word_zipf and (not parts_words or jz >= self.compound_zipf):
            if min(len(first), len(second)) < self.min_fragment_len and jz < _SHORT_FRAGMENT_ZIPF:
                return None
            if parts_words and book_says(need_word=False) == keep:
                return keep
            return _JOIN
        if rest_of_line and lower_second in SUSPENSION_WORDS.get(lang, _ANY_SUSPENSION):
            return None
        if stutter and lexicon_ and zipf(second, lang) >= self.word_zipf:
            return keep
        shortest = max(self.min_fragment_len, 3) if strict else self.min_fragment_len
        fallback_join = not parts_words and len(first) >= shortest and len(second) >= shortest
        said = book_says(need_word=not fallback_join)
        if said is not None:
            return said
        if parts_words:
            return keep
        return _JOIN if fallback_join else None

    def repair_pages(self, pages, doc):
        text = "\f".join(pages)
        vocab = _ReferenceVocabulary(text) if self.use_book_vocabulary else None
        found = []
        pos = 0
        for m in _CANDIDATE.finditer(text):
            s = m.start()
            if s <= pos:
                continue
            c = text[s - 1]
            if not (c.isalpha() or "\u0300" <= c <= "\u036f"):
                continue
            window = text[max(pos, s - _WINDOW):s]
            parts = window.rsplit(None, 1)
            token = parts[-1] if parts else ""
            cut = s - len(window)
            if len(token) == len(window) and cut > pos and not text[cut - 1].isspace():
                continue
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
        out = []
        pos = 0
        decided = {}
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
                out.append("\n")
            pos = end
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


# ------------------------------------------------------------------------------ helpers
CONFIGS = [
    {},
    {"keep_compound": False},
    {"use_book_vocabulary": False},
    {"min_fragment_len": 3, "compound_zipf": 4.0},
    {"language": "de"},
    {"language": "la", "join_across_pages": False},
]


def _stats(step) -> dict:
    return {k: v.total for k, v in step.stats.stats.items() if k != "time"}


def _compare(books: list[tuple[str, dict]], **params) -> int:
    """Run the fast and the reference stage on ``books``; assert the same output; return the
    number of decisions taken (so that a test can check it exercised something)."""
    new, ref = Dehyphenator(**params), _ReferenceDehyphenator(**params)
    new.trace, ref.trace = [], []
    for k, (text, meta) in enumerate(books):
        a = Document(text=text, id=str(k), metadata=dict(meta))
        b = Document(text=text, id=str(k), metadata=dict(meta))
        new.repair_book(a)
        ref.repair_book(b)
        assert a.text == b.text, (params, text[:200])
        assert a.metadata == b.metadata, (params, text[:200])
    assert new.trace == ref.trace, params
    assert _stats(new) == _stats(ref)
    return sum(d is not None for *_, d in new.trace)


EDGE_CASES = [
    "This is an exam-\nple, of text.\nNext line.",
    "the exam-\nple.\nNext line. trailing spaces exam-  \n   ple of it; CRLF exam-\r\nple",
    "an exam-\nple of con-\nsequence here, he came a-\nbout noon",
    "my brother-in-\nlaw, a well-\nknown fact, the Anglo-\nSaxon kings, a fall-\nfalling leaf",
    "word -\ndash, in 1850-\n60, pre-\nor post-war, the greatest-\nPrinces, x-\nl.dg, a dash--\nthen",
    # mixed hyphen characters, chained so that the literal scans overlap (the merge must restart)
    "a=\nfoo-\nbar-\nbaz and more text here",
    "a-\nfoo=\nbar=\nbaz, Ge=\nschichte und Ge-\nschichte, Ge\u2e17\nschichte, Ge\u2010\nschichte",
    "zer\u00ac\nbrochen, Anglo\u00ad\nSaxon, Nord=\nAmerika, Nord\u2e17\nAmerika, x\u2011\ny\u2e40\nz",
    "ab=\ncd-\nef\u00ac\ngh\u00ad\nij=\nkl-\nmn and so on-\nwards",
    # the book decides: printed whole / printed with its hyphen, also next to non-ASCII letters
    "In Harrowdale and so on.\nthe road to Harrow-\ndale was long; the door-step, the door-\nstep",
    "\u00e9Harrowdale Harrowdale\u00e9 \u2014harrowdale\u2019s (HARROWDALE) the Harrow-\ndale road",
    "the Kelvin \u212aelvin ker-\nnel and \u0130stanbul is-\ntanbul; the sun-dial, the sun-\ndial",
    "caf\u00e9s and caf\u00e9-\ns, na\u00efve na-\n\u00efve, \u00e9t\u00e9-\nt\u00e9, stra\u00dfe Stra-\n\u00dfe",
    # pages: breaks across page ends, page numbers and signatures, catchwords, blank pages
    "the end of an exam-\f12\nple. And the next page\fGleich-\fGleichgewicht\f\f",
    "text of the page ex-\n  I. 5\f  17\n  ample and more-\fover the page\fend",
    # a token longer than the window, digits, underscores, combining marks, text edges
    "x" * 70 + "-\nword and " + "y" * 64 + "-\nword " + "a\u0301b-\ncd e_f-\ngh 12ab-\ncd",
    "-\nstart of text",
    "end of text ex-\n",
    "end of text ex-\nample",
]


# ------------------------------------------------------------------------------ tests
def test_candidates_match_the_character_class_scan():
    rng = random.Random(3)
    alphabet = ["a", "b", "X", " ", "\t", "\r", "\n", "\n", "\f", "-", "-", "=", "\u00ac", "\u00ad",
                "\u2010", "\u2e17", ".", "é"]
    texts = EDGE_CASES + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300))) for _ in range(400)]
    for text in texts:
        want = [(m.span(), m.groups()) for m in _CANDIDATE.finditer(text)]
        got = [(m.span(), m.groups()[:2]) for m in _candidates(text)]
        assert got == want, text
        for m in _candidates(text):  # group 3: the line goes on after the fragment
            nxt = text[m.end():m.end() + 1]
            assert (m.group(3) is not None) == (bool(nxt) and nxt not in "\n\f\r")


def test_book_vocabulary_matches_the_reference():
    rng = random.Random(5)
    pieces = ["harrow", "dale", "Harrow", "DALE", "sun", "dial", "-", "-", "\u2010", "\u00ad", "\u00ac", "=",
              "'", "\u2019", " ", " ", "\n", "\f", "\u00e9", "\u00c9", "\u212a", "\u0130", "i", "k", "2", "_",
              "(", ")", ",", "\u03a3", "\ud800", "\u0301", "\u00df"]
    forms = ["harrowdale", "harrow", "dale", "sun", "dial", "sun-dial", "k", "i", "ki", "\u00e9dale", "dale\u00e9",
             "\u00df", "2", "harrow-dale", "x", ""]
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        new, ref = BookVocabulary(text), _ReferenceVocabulary(text)
        assert new._collect_compounds() == ref._collect_compounds(), text
        for form in forms:
            assert new.has_word(form) == ref.has_word(form), (text, form)
            assert new.has_compound(form) == ref.has_compound(form), (text, form)


def test_prefetched_words_match_the_reference():
    """prefetch_words (one pass for many forms) answers as the plain search does."""
    rng = random.Random(11)
    pieces = ["harrow", "dale", "Harrow", "DALE", "sun", "dial", "sund", "ials", "-", "\u2010", "\u00ad",
              "\u00ac", "=", "'", "\u2019", " ", " ", " ", "\n", "\f", "\u00e9", "\u00c9", "\u212a", "i", "k",
              "2", "_", "(", ",", "\u03a3", "\u0301", "\u00df", "x", "\U0001f600"]
    forms = ["harrowdale", "harrow", "Harrow", "dale", "sundial", "sund", "dial", "sunddale", "dial2", "dale2",
             "ials", "dial_", "k2ix", "harrowdaleharrow", "daledale", "sunx", "xsun", "caf\u00e9", "dal", "xxxx",
             "\u00e9dale", "dale\u00e9", "harrow\u00e9dale", "\u00e9\u00e9dial", "sun\u03c3", "sun\u03c2", "\u03c3sun",
             "dial\u00e9\u00e9", "\u00dfdale", "2\u00e9\u00e9"]
    for case in range(400):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 60)))
        asked = rng.sample(forms, rng.randint(0, len(forms)))
        new, ref = BookVocabulary(text), _ReferenceVocabulary(text)
        new.prefetch_words(asked)
        for form in forms:
            assert new.has_word(form) == ref.has_word(form), (case, text, form)
    # the search of non-ASCII forms by their ASCII stretch, many hits of it, capital sigma
    for text in ("dale " * 70 + "DALE\u00c9,", "x\u03a3sun'a sun\u03a3'a \u03a3sun", "\u00c9\u00c9DIAL2 caf\u00c9"):
        new, ref = BookVocabulary(text), _ReferenceVocabulary(text)
        for form in forms:
            assert new.has_word(form) == ref.has_word(form), (text, form)
    # every alignment of a hit against the 4-byte groups, at the start and the end of the book
    for pad in range(9):
        for text in (" " * pad + "harrowdale", "harrowdale" + "," * pad, "x" * pad + " Harrowdale. sun"):
            new = BookVocabulary(text)
            new.prefetch_words(["harrowdale", "sunx", "dial"])
            assert new.has_word("harrowdale") and not new.has_word("sunx"), text


def test_lowercase_facts_behind_the_byte_search():
    """_ascii_lowered relies on these properties of str.lower() over all of Unicode."""
    hyphens = lexicon._NOT_AFTER_WORD
    to_ascii, longer = [], []
    for code in range(0x110000):
        ch = chr(code)
        low = ch.lower()
        if len(low) != 1:
            longer.append(ch)
            continue
        assert ch.isalnum() == low.isalnum(), hex(code)
        assert (ch in hyphens) == (low in hyphens), hex(code)
        if code >= 0x80 and low.isascii():
            to_ascii.append(ch)
    assert longer == ["\u0130"]
    assert sorted(to_ascii + longer) == sorted(lexicon._LOWER_TO_ASCII)


def test_zipf_table_equals_zipf():
    for lang in ("en", "de", "la", "xx"):
        table = zipf_table(lang)
        for word in ["the", "example", "Example", "ließ", "LIESS", "well-known", "", "zzqx", "caf\u00e9",
                     "cafe\u0301", "ſtate"]:
            assert table[word] == zipf(word, lang), (lang, word)


@pytest.mark.parametrize("params", CONFIGS)
def test_edge_cases_match_the_reference(params):
    books = [(text, {}) for text in EDGE_CASES]
    books += [(text, {"language": lang}) for text in EDGE_CASES[:6] for lang in ("fr", "nl", "la")]
    assert _compare(books, **params) > 0


def _random_books(n_books: int, seed: int) -> list[tuple[str, dict]]:
    rng = random.Random(seed)
    vocab = sorted(words("the and of exam ple some thing well known sun dial Ein und oder Aus gang fall falling "
                         "Anglo Saxon Harrow dale harrowdale sun-dial door-step doorstep un defined Gleich gewicht "
                         "Gleichgewicht grand mère l'exem où été Straße THE ENGLAND (a) 12 ſtate caf\u00e9 "
                         "\u212aelvin"))
    ends = ["-", "-", "-", "=", "\u00ac", "\u00ad", "\u2e17", "\u2010", "", "", ".", " 12"]
    books = []
    for _ in range(n_books):
        pages = []
        for _ in range(rng.randint(1, 6)):
            lines = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 8))) + rng.choice(ends)
                     for _ in range(rng.randint(0, 12))]
            pages.append("\n".join(lines) + rng.choice(["", "\n", " \n"]))
        books.append(("\f".join(pages), {"language": rng.choice(["en", "de", "fr", "la"])}))
    return books


@pytest.mark.parametrize("params", CONFIGS[:4])
def test_random_books_match_the_reference(params):
    assert _compare(_random_books(60, seed=len(params)), **params) > 50


def test_real_books_match_the_reference(shared_data):
    from finebooks.readers.text import TroveTextReader

    folder = shared_data / "raw_ocr" / "trove_nla_books"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    names = sorted(p.name for p in folder.glob("*.txt"))[3::40]
    books = []
    for name in names:
        for doc in TroveTextReader(str(folder), glob_pattern=name, metadata_file=None).run():
            books.append((doc.text, dict(doc.metadata)))
    assert len(books) >= 4
    books.append((books[0][0], {"language": "fr"}))  # another lexicon and the open-compound rules
    assert _compare(books) > 100
    assert _compare(books[:3], keep_compound=False, min_fragment_len=3) > 50
