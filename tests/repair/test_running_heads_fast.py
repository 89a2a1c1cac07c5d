"""remove_running_heads' fast paths give exactly what the straightforward code gave.

``remove_running_heads`` was made faster (issue 9) without changing a character of its output:
the keys and cheap facts of all edge lines of a book computed at once with numpy
(``_edge_analysis``); edge lines found from the page ends instead of splitting whole pages; the
clustering of keys looking at each distinct key once, rejecting most with set look-ups, with
3-grams coded as numbers computed at once (``_gram_codes``); the search for a head's words
inside pages done on the book with only its ASCII letters lower-cased (``_BookText``);
``SequenceMatcher`` built only when cheap bounds allow the ratio. The code they replaced is kept
below, verbatim, as ``_Reference`` (its methods) and the module functions it used; the tests run
both on crafted edge cases, synthetic books and real Trove books, and check the Unicode facts
the fast paths rely on over all of Unicode.
"""

from __future__ import annotations

import itertools
import random
import re
from collections import Counter
from difflib import SequenceMatcher

import pytest
from datatrove.data import Document

from finebooks.repair.running_heads import (
    _ALNUM,
    _BARE_NUMBER,
    _BREAK_MARKS,
    _DIGITS,
    _ITEM_MARK,
    _THREE_ALNUM,
    _WORD3,
    _WORD_BREAK,
    HEADING_WORDS,
    KINDS,
    RunningHeadRemover,
    _alnum,
    _BookText,
    _bottom_lines,
    _Cand,
    _edge_analysis,
    _edge_number,
    _edit_distance_le1,
    _gram_codes,
    _line_keys,
    _looks_like_head,
    _noisy_number,
    _signature_token,
    _similar,
    _top_lines,
    parse_page_number,
)

TROVE_EVERY = 20  # every 20th Trove book (sorted by name): 11 books


# ------------------------------------------------------------------------------ reference
# the module functions and RunningHeadRemover methods before the fast paths, verbatim (the
# methods find these functions here, in this module's namespace)
def _is_heading(key: str) -> bool:
    """A key that is only a heading word (``chapter``), allowing one OCR slip (``ssalm``)."""
    if key in HEADING_WORDS:
        return True
    if " " in key or len(key) < 4:
        return False
    return any(_edit_distance_le1(key, w) for n in (len(key) - 1, len(key), len(key) + 1)
               for w in _HEADING_BY_LENGTH.get(n, ()))


_HEADING_BY_LENGTH: dict[int, list[str]] = {}
for _w in sorted(HEADING_WORDS):
    if len(_w) >= 4:
        _HEADING_BY_LENGTH.setdefault(len(_w), []).append(_w)


def line_key(line: str) -> str:
    """The matching key of a line: lower case, no digits / roman numerals / punctuation."""
    # tokens of one or two letters are too weak to match on, and are often a page number that
    # OCR read as letters ("io" for 10); a token made of roman digits only is a number. The
    # tokens are the runs of 3+ letters (the same as splitting on _NON_LETTERS and dropping the
    # shorter ones: a run shorter than 3 has no 3-letter part); cached, as running heads repeat.
    return " ".join([t for t in _WORD3.findall(line.lower()) if t.strip("ivxlcdm")])


def _grams(key: str) -> frozenset[str]:
    s = f" {key} "
    return frozenset([s[i : i + 3] for i in range(len(s) - 2)])


def _dice(a: frozenset[str], b: frozenset[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def _n_lines(page: str) -> int:
    return sum(1 for ln in page.split("\n") if ln.strip())


def _continues(tail: list[str], next_tokens: list[str]) -> bool:
    """True when ``tail`` (a catchword) is how the next page's first line begins."""
    a = _alnum(tail)
    if len(a) < 2 or not next_tokens:
        return False
    if tail[-1].rstrip(".*,'’").endswith(("-", "\u00ad", "=", "\u2010")):  # a word broken over the page
        b = _alnum(next_tokens)
        return b.startswith(a) or (len(a) >= 3 and SequenceMatcher(None, a, b[: len(a)]).ratio() >= 0.7)
    for k in range(1, min(len(tail) + 1, len(next_tokens)) + 1):
        b = _alnum(next_tokens[:k])
        if b == a or (len(a) >= 3 and (b.startswith(a) and k == 1 or SequenceMatcher(None, a, b).ratio() >= 0.7)):
            return True
    return False


def _remove_lines(page: str, marks: dict[int, str]) -> str:
    """``page`` without the marked lines and without blank lines their removal left at an edge."""
    lines = page.split("\n")
    kept = [i for i in range(len(lines)) if i not in marks]
    text_lines = [i for i in kept if lines[i].strip()]
    if not text_lines:
        return ""
    first, last = text_lines[0], text_lines[-1]
    start = first if min(marks) < first else 0
    end = last + 1 if max(marks) > last else len(lines)
    new = "\n".join(lines[i] for i in kept if start <= i < end)
    if end <= last + 1 and page.endswith("\n"):
        new += "\n"
    return new


class _Reference(RunningHeadRemover):
    """remove_running_heads before the fast paths."""

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
        for c in cands:
            if c.kind:
                result[c.page][c.line] = c.kind
        return result

    def _candidates(self, pages: list[str]) -> tuple[list[_Cand], list[tuple[list[_Cand], list[_Cand]]]]:
        k = self.max_lines_from_edge
        cands: list[_Cand] = []
        by_page: list[tuple[list[_Cand], list[_Cand]]] = []
        for p, page in enumerate(pages):
            if not page.strip():
                by_page.append(([], []))
                continue
            lines = page.split("\n")
            top: list[int] = []
            for i, ln in enumerate(lines):
                if ln.strip():
                    top.append(i)
                    if len(top) == k:
                        break
            bottom: list[int] = []
            for i in range(len(lines) - 1, -1, -1):
                if lines[i].strip():
                    bottom.append(i)
                    if len(bottom) == k:
                        break
            # a line within reach of both edges belongs to the nearer one (ties: top)
            top_c, bot_c = [], []
            for r, i in enumerate(top):
                if i in bottom and bottom.index(i) < r:
                    continue
                top_c.append(_Cand(p, i, 0, r, lines[i]))
            for r, i in enumerate(bottom):
                if i in top and top.index(i) <= r:
                    continue
                bot_c.append(_Cand(p, i, 1, r, lines[i]))
            by_page.append((top_c, bot_c))
            cands.extend(top_c)
            cands.extend(bot_c)
        for c in cands:
            c.number = parse_page_number(c.text)
            if c.number is None:
                c.noisy = _noisy_number(c.text)
                # a footnote or a numbered item ("1. Reisen auf den ...", "* See ...") is text,
                # however often it cites the same source; so is a line broken by a hyphen
                if (len(c.text) <= self.max_head_chars and not _ITEM_MARK.match(c.text)
                        and not (c.text[-1:] in _BREAK_MARKS and _WORD_BREAK.search(c.text))):
                    c.key = line_key(c.text)
        return cands, by_page

    def _running_lines(self, pages: list[str], cands: list[_Cand], by_page) -> None:
        heads = [c for c in cands if c.number is None and len(c.key.replace(" ", "")) >= 3]
        if len(heads) < self.min_repeats:
            return
        clusters = self._cluster(heads)
        first_page = next(p for p, page in enumerate(pages) if page.strip())
        text_lower: str | None = None
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
            if text_lower is None:
                text_lower = "\n".join(pages).lower()
            if self._inside(text_lower, members) >= max(2, 0.2 * len(members)):
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
        numbered = [c.page for c in cands if c.rank == 0 and c.number and c.number[0] <= c.page + 3]
        numbered += [c.page for c in cands if c.kind and _edge_number(c.text)]
        if numbered:
            start = min(numbered)
        else:  # no page numbers at all: heads start with the first full page of text
            full = [p for p, (top, bottom) in enumerate(by_page) if p > first_page and _n_lines(pages[p]) >= 10]
            start = full[0] if full else first_page + 1
        for c in cands:
            if c.kind and c.side == 0 and c.page < start:
                c.kind = None
        self._head_slots(cands, start)

    def _inside(self, text_lower: str, members: list[_Cand]) -> int:
        """How many lines of the book away from the page edges have a member's key."""
        keys = {c.key for c in members}
        word = max(Counter(c.key for c in members).most_common(1)[0][0].split(), key=len)
        longest = min(self.max_head_chars, max(len(c.raw) for c in members) + 10)
        found = 0
        pos = text_lower.find(word)
        while pos >= 0:
            start = text_lower.rfind("\n", 0, pos) + 1
            end = text_lower.find("\n", pos)
            end = len(text_lower) if end < 0 else end
            if end - start <= longest and line_key(text_lower[start:end]) in keys:
                found += 1
            pos = text_lower.find(word, end)
        at_edges = sum(1 for c in members if word in c.raw.lower())
        return found - at_edges

    def _cluster(self, heads: list[_Cand]) -> list[list[_Cand]]:
        """Group candidates whose keys are equal or similar (3-gram Dice).

        A running head repeats *exactly* at least now and then, so clusters grow from seeds, the
        keys seen on two pages or more (most frequent first); every other key joins the most
        similar seed cluster, found through blocking tokens (words, key prefix and suffix), or
        none. The comparisons are few: seeds are a handful of heads plus coincidences.
        """
        counts = Counter(c.key for c in heads)
        seeds = [k for k, n in counts.most_common() if n >= 2]
        if not seeds:
            return []
        reps: list[frozenset[str]] = []  # 3-grams of each cluster's first seed
        blocks: dict[str, list[int]] = {}
        cluster_of: dict[str, int] = {}
        ratio = self.similarity / (2 - self.similarity)  # Dice >= s needs |A| / |B| >= s / (2 - s)

        def best_cluster(key: str) -> tuple[int, frozenset[str] | None, set[str]]:
            tokens = self._block_tokens(key)
            near = {j for t in tokens for j in blocks.get(t, ())}
            if not near:
                return -1, None, tokens
            grams = _grams(key)
            n = len(grams)
            best, best_sim = -1, self.similarity
            for j in sorted(near):
                m = len(reps[j])
                if min(n, m) < ratio * max(n, m):
                    continue
                sim = _dice(grams, reps[j])
                if sim > best_sim or (sim == best_sim and best < 0):
                    best, best_sim = j, sim
            return best, grams, tokens

        for key in seeds:
            j, grams, tokens = best_cluster(key)
            if j < 0:
                j = len(reps)
                reps.append(grams or _grams(key))
                for t in tokens:
                    blocks.setdefault(t, []).append(j)
            cluster_of[key] = j
        members: list[list[_Cand]] = [[] for _ in reps]
        # a key much longer or shorter than every seed cannot reach the similarity (most body
        # lines at the page edges are longer than any head): skip it without building its tokens
        longest = max(map(len, seeds)) / ratio + 2
        shortest = min(map(len, seeds)) * ratio - 2
        for c in heads:
            j = cluster_of.get(c.key)
            if j is None:
                n = len(c.key)
                j = cluster_of[c.key] = best_cluster(c.key)[0] if shortest <= n <= longest else -1
            if j >= 0:
                members[j].append(c)
        return [m for m in members if len(m) >= self.min_repeats]

    @staticmethod
    def _block_tokens(key: str) -> set[str]:
        flat = key.replace(" ", "")
        tokens = {w for w in key.split(" ") if len(w) >= 4}
        tokens.add("<" + flat[:3])
        tokens.add(">" + flat[-3:])
        return tokens

    def _in_runs(self, members: list[_Cand]) -> list[_Cand]:
        """Members that lie in runs of >= min_repeats pages with gaps <= max_gap."""
        members = sorted(members, key=lambda c: (c.page, c.line))
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

    def _head_slots(self, cands: list[_Cand], start: int) -> None:
        """Heads too rare to repeat (a recto head naming a short chapter), in a book that heads
        (nearly) every page: the outermost line of a page in the span of the book's running
        heads, when it looks like one (short, in capitals, not a chapter heading)."""
        for side in (0, 1):
            kind = "running_head" if side == 0 else "running_foot"
            outer = {c.page: c for c in cands if c.side == side and c.rank == 0}
            headed = sorted(p for p, c in outer.items() if c.kind == kind)
            if len(headed) < self.min_repeats:
                continue
            # pages that could carry a head: chapter openings (CHAPTER II.) carry none
            span = [p for p, c in outer.items() if headed[0] <= p <= headed[-1] and not _is_heading(c.key)]
            if len(headed) < 0.5 * len(span):
                continue
            # outwards from the heads, as long as heads keep coming (the book may begin or end
            # with short chapters whose recto heads never repeat), not before ``start``
            for order in (sorted(outer), sorted(outer, reverse=True)):
                last = headed[0] if order[0] <= headed[0] else headed[-1]
                for p in order:
                    if p < start or abs(p - last) > self.max_gap:
                        continue
                    c = outer[p]
                    if not c.kind and c.number is None and _looks_like_head(c):
                        c.kind = kind
                    if c.kind == kind:
                        last = p

    def _numbered_heads(self, cands: list[_Cand], evidence: dict) -> None:
        """Short edge lines carrying the page's own number, in a book with numbered heads."""
        numbered = sum(1 for c in cands if c.kind in ("running_head", "running_foot") and _edge_number(c.text))
        for c in cands:
            if c.kind or c.rank or not c.key:
                continue
            v = _edge_number(c.text)
            if v is None or _is_heading(c.key) or len(c.key.split()) > 10:
                continue
            # in capitals like a head, or in a book whose repeated heads carry numbers
            if numbered < self.min_repeats and not _looks_like_head(c):
                continue
            ok, _ = self._expected(c, v, evidence["arabic"])
            if ok:
                c.kind = "running_head" if c.side == 0 else "running_foot"

    @staticmethod
    def _touch_edge(by_page) -> None:
        """Unmark furniture that does not touch the page edge (text lies between it and the edge).

        Signatures are exempt next to the edge: OCR often reads a footnote after them.
        """
        for top, bottom in by_page:
            for side in (top, bottom):
                blocked = False
                for c in sorted(side, key=lambda c: c.rank):
                    if blocked and not (c.kind == "signature" and c.rank <= 1):
                        c.kind = None
                    elif not c.kind and _THREE_ALNUM.search(c.text):
                        blocked = True

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
            for j in range(len(tokens)):
                prefix, tail = tokens[:j], tokens[j:]
                if len(tail) > 2 or sum(len(t) for t in tail) > 20:
                    continue
                if not all(_signature_token(t) for t in prefix):
                    break
                if _continues(tail, next_tokens):
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
        for c in sorted(side, key=lambda c: c.rank):
            if not c.kind and c.number is None and c.noisy is None:
                return c
        return None


# ------------------------------------------------------------------------------ helpers
# characters that take every path: ASCII, Latin-1 and other BMP letters, digits of other
# scripts, superscripts, combining marks, white space of every kind, roman digits, and the
# characters that send the fast paths to the per-line functions (U+0130, capital sigma, Kelvin
# sign, a character beyond the BMP, a lone surrogate)
_ALPHABET = (
    list("abcdefghijklmnopqrstuvwxyz") * 3 + list("ABCDEFGHIJKLMNOPQRSTUVWXYZ") * 2 + list("ivxlcdmIVXLCDM") * 3
    + list("0123456789") + list(" " * 12) + list(".,;:-'’\"()[]*†§¶|_¬=") + ["\u00ad", "\u2010", "—"]
    + list("éèêàäöüßçñøæœÉÀÖÜÆ") + list("ψυχήαβγδ") + ["\u0301", "\u00b2", "\u0663", "\u2160", "\u217b"]
    + ["\t", "\r", "\x0b", "\x1c", "\u00a0", "\u2003", "\u3000", "\x00", "\x85"]
)
_CONTEXT = ["\u0130", "\u03a3", "\u212a", "\U0001d400", "\ud800"]


def _random_lines(rng: random.Random, n: int, alphabet: list[str], max_len: int = 40) -> list[str]:
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, max_len))) for _ in range(n)]


_CRAFTED = [
    "", "a", "ab", "abc", "ab cd", "civil war", "THE HISTORY OF ROME 12", "xii. The End", "mdcclxxxiv",
    "Did he mill it? vivid dim", "über straße", "a_b_c_defg", "x\u00b2yz", "abc\u0301def", "12 34", "A-B-C",
    "KELVIN \u212aIV", "ΑΒΣ.ΓΔΕ ΟΔΟΣ", "İSTANBUL", "abc\U0001d400def", "\ud800abc", "\x00abc\x00", "abc ",
    "- 12 -", "[12]", "l2", "IZ", "  xii  ", "1. Reisen auf den", "(a) item", "* See the note", "§ 3 text",
    "\u0663. Arabic-Indic item", "gran-", "the town of", "WOR\u00ac", "ENG\u00ad", "a\tb\tc 1 2 3 4 5 6 7 8 9",
    "1\u00a02\u00a03\u00a04\u00a05\u00a06\u00a07\u00a08\u00a09\u00a010\u00a011\u00a012\u00a013\u00a014",
]


def _books_equal(pages_list: list[list[str]]) -> None:
    """find_furniture and the repaired book of the fast code equal the reference's."""
    fast, ref = RunningHeadRemover(), _Reference()
    for pages in pages_list:
        assert fast.find_furniture(pages) == ref.find_furniture(pages)
        text = "\f".join(pages)
        docs = [Document(text=text, id="b", metadata={}) for _ in range(2)]
        fast.repair_book(docs[0])
        ref.repair_book(docs[1])
        assert docs[0].text == docs[1].text
        assert docs[0].metadata == docs[1].metadata


def _synthetic_books(n_books: int = 30, seed: int = 3) -> list[list[str]]:
    """Books with running heads (recto and verso, numbered, noisy, Greek, Turkish, beyond the
    BMP), page numbers (arabic, roman, garbled), signatures, catchwords, blank and short pages,
    blank lines at the page edges, chapter headings and body lines that repeat."""
    rng = random.Random(seed)
    heads = ["THE HISTORY OF ROME", "THE KINGS", "A VOYAGE ROUND THE WORLD", "ΙΣΤΟΡΙΑ ΤΗΣ ΕΛΛΑΔΟΣ",
             "İSTANBUL TARİHİ", "𝔗𝔥𝔢 𝔊𝔬𝔱𝔥𝔦𝔠 𝔅𝔬𝔬𝔨", "HISTOIRE DE FRANCE", "LETTER XII.", "CHAPTER"]
    words = ["the", "and", "of", "town", "river", "mill", "harvest", "village", "church", "meadow", "evening", "quiet", "walked", "über", "straße", "été", "déjà", "Ψυχή", "civil", "did", "vivid", "mix"]
    books = []
    for _ in range(n_books):
        verso, recto = rng.sample(heads, 2)
        pages = []
        n_pages = rng.randint(2, 40)
        first_words = [rng.choice(words) for _ in range(n_pages + 1)]
        for p in range(n_pages):
            lines = []
            if rng.random() < 0.2:
                lines.append(rng.choice(["", "   ", "\t"]))
            r = rng.random()
            number = str(p + 5) if rng.random() < 0.9 else rng.choice(["l2", "IZ", "-4", "xii", "[7]"])
            if r < 0.5:
                head = verso if p % 2 else recto
                if rng.random() < 0.2:  # OCR noise
                    i = rng.randrange(len(head))
                    head = head[:i] + rng.choice("IlS1Z.") + head[i + 1 :]
                lines.append(f"{number} {head}" if p % 2 else f"{head} {number}")
            elif r < 0.7:
                lines.append(number)
            elif r < 0.75:
                lines.append(f"CHAPTER {['I', 'II', 'III', 'IV'][p % 4]}.")
            n_body = rng.choice([0, 1, 2, 3, 5, 12, 20])
            lines.append(first_words[p] + " " + " ".join(rng.choice(words) for _ in range(rng.randint(3, 12))))
            for _ in range(n_body):
                lines.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 14)))
                             + rng.choice(["", ".", ",", "-", "\u00ac"]))
            r = rng.random()
            if r < 0.3:
                lines.append(first_words[p + 1])  # a catchword
            elif r < 0.45:
                lines.append(rng.choice(["B 2", "C", "Bb 2", "I. 6", "D 2 that", str(p // 8 + 1)]))
            elif r < 0.6:
                lines.append(f"- {p + 5} -")
            if rng.random() < 0.3:
                lines.append(rng.choice(["", " ", "\n"]))
            pages.append("\n".join(lines) + rng.choice(["", "\n", "\n\n"]))
        if rng.random() < 0.2:
            pages.insert(rng.randrange(len(pages)), rng.choice(["", "  \n", "\n\n"]))
        books.append(pages)
    return books


# ------------------------------------------------------------------------------ unit tests
def test_line_keys_match_line_key():
    rng = random.Random(1)
    batches = [_CRAFTED, [t for t in _CRAFTED if not any(ch in t for ch in _CONTEXT)], ["", ""], ["abc"]]
    batches += [_random_lines(rng, 300, _ALPHABET) for _ in range(10)]  # the numpy path
    batches += [_random_lines(rng, 100, _ALPHABET + _CONTEXT) for _ in range(5)]  # the per-line paths
    for texts in batches:
        assert _line_keys(texts) == [line_key(t) for t in texts]
    assert _line_keys([]) == []


def test_edge_analysis_flags_every_line_a_pattern_matches():
    rng = random.Random(2)
    batches = [_CRAFTED] + [_random_lines(rng, 300, _ALPHABET, 20) for _ in range(10)]
    batches += [_random_lines(rng, 100, _ALPHABET + _CONTEXT, 20) for _ in range(3)]
    hits = Counter()
    for texts in batches:
        facts = _edge_analysis(texts)
        assert facts.length.tolist() == [len(t) for t in texts]
        for name, pattern, flagged in (("number", _BARE_NUMBER.fullmatch, facts.maybe_number),
                                       ("item", _ITEM_MARK.match, facts.maybe_item),
                                       ("break", _WORD_BREAK.search, facts.maybe_break)):
            matching = {i for i, t in enumerate(texts) if pattern(t)}
            assert matching <= set(flagged), name
            hits[name] += len(matching)
    assert min(hits.values()) > 5  # the patterns did match


def test_edge_lines_match_splitting_the_page():
    pieces = ["a line", "b c", "", " ", "\t", "12", "x\r"]
    for n in range(7):
        for combo in itertools.product(pieces[:4] if n > 4 else pieces, repeat=n):
            for end in ("", "\n"):
                page = "\n".join(combo) + end
                lines = page.split("\n")
                non_blank = [i for i, ln in enumerate(lines) if ln.strip()]
                for k in (1, 2, 3, 4):
                    top = _top_lines(page, k)
                    bottom = _bottom_lines(page, k)
                    assert [(i, ln) for i, ln, _ in top] == [(i, lines[i]) for i in non_blank[:k]]
                    assert [(i + len(lines), ln) for i, ln, _ in bottom] == [(i, lines[i]) for i in non_blank[::-1][:k]]
                    assert all(page[pos : pos + len(ln)] == ln for _, ln, pos in top + bottom)


def test_gram_codes_match_grams():
    rng = random.Random(5)
    keys = _CRAFTED + _random_lines(rng, 400, _ALPHABET + _CONTEXT, 12)
    codes = _gram_codes(keys)
    assert [len(c) for c in codes] == [len(_grams(k)) for k in keys]
    for _ in range(3000):  # the same intersections, so the same Dice similarities
        i, j = rng.randrange(len(keys)), rng.randrange(len(keys))
        assert len(codes[i] & codes[j]) == len(_grams(keys[i]) & _grams(keys[j]))
    assert _gram_codes([]) == []


def test_is_heading_matches_edit_distance():
    from finebooks.repair.running_heads import _is_heading as fast

    rng = random.Random(6)
    keys = set(HEADING_WORDS)
    for w in HEADING_WORDS:  # every deletion, insertion, substitution and some double slips
        for i in range(len(w) + 1):
            for ch in "aeixzé":
                keys |= {w[:i] + ch + w[i:], w[:i] + ch + w[i + 1 :], w[:i] + w[i + 1 :], w[:i] + ch + ch + w[i + 2 :]}
    keys |= {"".join(rng.choice("abcdehilmnoprstuv ") for _ in range(rng.randint(0, 12))) for _ in range(5000)}
    hits = 0
    for key in keys:
        assert fast.__wrapped__(key) == _is_heading(key), key
        hits += _is_heading(key)
    assert hits > 1000


def test_remove_lines_matches_reference():
    from finebooks.repair.running_heads import _remove_lines as fast

    rng = random.Random(7)
    for _ in range(3000):
        lines = [rng.choice(["text", "", " ", "HEAD", "12"]) for _ in range(rng.randint(1, 8))]
        page = "\n".join(lines) + rng.choice(["", "\n"])
        n = len(page.split("\n"))
        marks = {i: "page_number" for i in rng.sample(range(n), rng.randint(1, n))}
        assert fast(page, marks) == _remove_lines(page, marks), (page, marks)


def test_similar_matches_sequence_matcher():
    rng = random.Random(4)
    pairs = [("", ""), ("a", ""), ("the", "tbe"), ("fallen", "falcmtbe"), ("abc", "abcabcabc")]
    for _ in range(3000):
        a = "".join(rng.choice("abcdeth") for _ in range(rng.randint(0, 8)))
        b = "".join(rng.choice("abcdeth") for _ in range(rng.randint(0, 14)))
        pairs.append((a, b))
    for a, b in pairs:
        assert _similar(a, b) == (SequenceMatcher(None, a, b).ratio() >= 0.7), (a, b)


def test_book_text_count_lines_matches_lower_case_search():
    def reference(pages, word, longest, keys):
        text_lower = "\n".join(pages).lower()
        found, pos = 0, text_lower.find(word)
        while pos >= 0:
            start = text_lower.rfind("\n", 0, pos) + 1
            end = text_lower.find("\n", pos)
            end = len(text_lower) if end < 0 else end
            if end - start <= longest and line_key(text_lower[start:end]) in keys:
                found += 1
            pos = text_lower.find(word, end)
        return found

    books = [
        ["THE HISTORY OF ROME\nbody text\nThe History of Rome", "the history of rome 12\nTHE HISTORY OF ROMÉ"],
        ["ÉTUDES SUR ROME\nétudes sur rome\nÉtudes sur Rome, a very long line that goes on and on"],
        ["\u212aELVIN HOUSE\nkelvin house\nKELVIN HOUSE"],  # Kelvin sign: the str.lower() path
        ["İSTANBUL TARİHİ\nistanbul tarihi\nİstanbul"],  # U+0130: the str.lower() path
        ["ΟΔΟΣ ΡΩΜΗΣ\nοδος ρωμης", "ΟΔΟΣ ΡΩΜΗΣ 12"],
        ["\ud800 history of rome\nHISTORY OF ROME"],
    ]
    for pages in books:
        keys = {line_key(ln) for page in pages for ln in page.split("\n")} - {""}
        words = {w for k in keys for w in k.split()}
        for word in words:
            for longest in (10, 20, 30, 70):
                book = _BookText(pages)
                assert book.count_lines(word, longest, keys) == reference(pages, word, longest, keys), (pages, word)


def test_unicode_facts_the_fast_paths_rely_on():
    """Over all of Unicode: lower-casing changes a character's length only for U+0130; gives an
    ASCII letter from a non-ASCII character only for U+0130 and U+212A; is idempotent; the only
    printable white space is " "; ``\\s`` is ``str.isspace``."""
    changes_length, gives_ascii, not_idempotent, printable_space, space_mismatch = [], [], [], [], []
    is_space = re.compile(r"\s").fullmatch
    for cp in range(0x110000):
        ch = chr(cp)
        low = ch.lower()
        if len(low) != 1:
            changes_length.append(cp)
        if cp >= 128 and any(c.isascii() and c.isalpha() for c in low):
            gives_ascii.append(cp)
        if low.lower() != low:
            not_idempotent.append(cp)
        if ch.isspace() != bool(is_space(ch)):
            space_mismatch.append(cp)
        if ch.isspace() and ch.isprintable() and ch != " ":
            printable_space.append(cp)
    assert changes_length == [0x130]
    assert gives_ascii == [0x130, 0x212A]
    assert not_idempotent == [] and printable_space == [] and space_mismatch == []


# ------------------------------------------------------------------------------ whole books
def test_fast_matches_reference_on_crafted_pages():
    _books_equal([
        [""], ["one page only"], ["", ""], ["a", "b"], ["\n\n", "x\n\n"],
        ["THE HEAD\nbody\n1", "THE HEAD\nbody\n2", "THE HEAD\nbody\n3", "THE HEAD\nbody\n4"],
        ["HEAD\nx"] * 6, ["  \n\nTHE HEAD 3\n\ntext of the page\n\n 3 \n"] * 5,
    ])


def test_fast_matches_reference_on_synthetic_books():
    books = _synthetic_books()
    _books_equal(books)
    found = Counter(kind for pages in books for marks in RunningHeadRemover().find_furniture(pages)
                    for kind in marks.values())
    assert set(found) >= {"running_head", "page_number", "signature", "catchword"}  # every path ran


def test_fast_matches_reference_on_trove_books(shared_data):
    folder = shared_data / "raw_ocr" / "trove_nla_books"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    from finebooks.readers.text import TroveTextReader

    names = sorted(p.name for p in folder.glob("*.txt"))[::TROVE_EVERY]
    books = [doc.text.split("\f") for name in names
             for doc in TroveTextReader(str(folder), glob_pattern=name, metadata_file=None).run()]
    assert len(books) >= 8 and sum(len(pages) for pages in books) > 500
    _books_equal(books)
