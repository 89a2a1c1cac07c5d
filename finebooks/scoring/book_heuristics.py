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

Everything is regular expressions, ``str`` methods, ``collections.Counter`` and per-page counts
taken in one numpy pass over the book's code points (:class:`_PageCounts`; no tokenizer model),
so cost is linear: ~7.5 MB/s per core on raw OCR books (``docs/benchmarks.md``).
"""

from __future__ import annotations

import re
from collections import Counter

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

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
_SYMBOL_CHARS = "#{}[]<>|\\^~_@*=+%$\u2026"  # _SYMBOL's single characters (with the ellipsis sign)


class _PageCounts:
    """Per-page character counts of a book in one vectorised pass (numpy over code points).

    For every ``\\f``-separated page: ``nonspace`` (characters other than space, ``\\n``,
    ``\\t``, ``\\r``, ``\\v``), ``tokens`` (``len(page.split())``), ``hint`` (characters of
    ``_GARBAGE_HINT``) and ``no_letter`` (``len(_NO_LETTER_TOKEN.findall(page))``: whitespace
    tokens without a letter). The same numbers as the ``str`` / regex expressions they replace,
    which cost one Python call per page and character class; whitespace is ``str.isspace`` (what
    ``split`` and the regex ``\\s`` use) and a letter is what ``[^\\W\\d_]`` matches, both
    tabulated once per process for the Basic Multilingual Plane and looked up per character
    beyond it.
    """

    _space = _letter = _hint = None

    @classmethod
    def _tables(cls):
        if cls._space is None:
            import numpy as np

            chars = [chr(i) for i in range(0x10000)]
            cls._space = np.array([c.isspace() for c in chars], dtype=bool)
            cls._letter = np.array([_LETTER_WORD.match(c) is not None for c in chars], dtype=bool)
            hint = np.zeros(0x10000, dtype=bool)
            hint[[ord(c) for c in _GARBAGE_HINT]] = True
            cls._hint = hint
        return cls._space, cls._letter, cls._hint

    def __init__(self, text: str):
        import numpy as np

        space_t, letter_t, hint_t = self._tables()
        cp = np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32)
        n_pages = text.count("\f") + 1
        bmp = cp < 0x10000
        idx = np.where(bmp, cp, 0).astype(np.intp)
        space = space_t[idx]
        letter = letter_t[idx]
        if not bmp.all():  # astral characters: classify each distinct one
            far = np.flatnonzero(~bmp)
            for code in np.unique(cp[far]).tolist():
                at = far[cp[far] == code]
                ch = chr(code)
                space[at] = ch.isspace()
                letter[at] = _LETTER_WORD.match(ch) is not None
        page = np.cumsum(cp == 12, dtype=np.int32)  # the \f itself counts to the page after it; it is space
        ascii_ws = (cp == 32) | (cp == 10) | (cp == 9) | (cp == 13) | (cp == 11) | (cp == 12)
        self.nonspace = np.bincount(page[~ascii_ws], minlength=n_pages)
        self.hint = np.bincount(page[hint_t[idx]], minlength=n_pages)
        # a token starts at a non-space character after a space (or at the start)
        word = ~space
        start = word.copy()
        start[1:] &= space[:-1]
        self.tokens = np.bincount(page[start], minlength=n_pages)
        # tokens without a letter: number the tokens, count letters per token
        token_id = np.cumsum(start, dtype=np.int64) - 1
        has_letter = np.bincount(token_id[word & letter], minlength=int(start.sum())) > 0
        self.no_letter = np.bincount(page[start][~has_letter], minlength=n_pages)




def _count_symbols(text: str) -> int:
    """``len(_SYMBOL.findall(text))`` with C-level counts: each symbol character, each ``…``, and
    each non-overlapping ``...`` (``str.count`` counts them left to right, as ``findall`` does)."""
    return sum(text.count(c) for c in _SYMBOL_CHARS) + text.count("...")


def _dup_shares(chunks: list[str], min_chars: int) -> tuple[float, float]:
    """(share of chunks, share of their characters) that repeat an earlier chunk."""
    seen: set[str] = set()
    n = dup = chars = dup_chars = 0
    for chunk in chunks:
        if len(chunk) < min_chars:
            continue
        n += 1
        chars += len(chunk)
        if chunk in seen:
            dup += 1
            dup_chars += len(chunk)
        else:
            seen.add(chunk)
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


def _spaced_chunks(text: str, max_chars: int, windows: int = 5) -> list[str]:
    size = max_chars // windows
    step = (len(text) - size) / max(windows - 1, 1)
    return [text[int(i * step) : int(i * step) + size] for i in range(windows)]


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

    def stopword_rate(self, counts: Counter, n_words: int, language: str | None,
                      mix: dict | None = None) -> tuple[float, str]:
        """Stop words per 1,000 letter words, for the language (or the best-matching list).

        ``counts`` holds words as printed; a stop word counts in lower, Capitalised and UPPER
        case (cheaper than lower-casing the whole book).
        """
        lists = self._stop_lists()
        if not n_words:
            return 0.0, language or "none"
        lang = (language or "").lower()[:2]
        # a bilingual book (a Latin play with English notes) uses the stop words of each
        # language that holds at least a fifth of it, so its second language isn't counted as noise
        mixed = sorted(k[:2] for k, v in (mix or {}).items() if isinstance(v, (int, float)) and v >= 0.2
                       and k[:2] in lists)
        if lang in lists and len(mixed) > 1 and lang in mixed:
            candidates = {"+".join(mixed): frozenset().union(*(lists[m] for m in mixed))}
        elif lang in lists:
            candidates = {lang: lists[lang]}
        else:
            candidates = lists
        best_lang, best = "none", -1
        for name, words in candidates.items():
            hits = sum(counts[w] + counts[w.capitalize()] + counts[w.upper()] for w in words)
            if hits > best:
                best_lang, best = name, hits
        return 1000 * best / n_words, best_lang

    def score(self, doc: Document) -> None:
        text = doc.text
        p = self.prefix
        meta = doc.metadata
        pages = text.split("\f")
        pc = _PageCounts(text)
        page_tokens, page_no_letter = pc.tokens.tolist(), pc.no_letter.tolist()
        # page_is_garbage with the counts of one vectorised pass (same verdicts, no per-page scans)
        flags = [None if nonspace <= 0 or not tokens else self._page_verdict(page, nonspace, tokens, hint)
                 for page, nonspace, tokens, hint in zip(pages, pc.nonspace.tolist(), page_tokens, pc.hint.tolist())]
        kept = None  # pages the book-level signals count (None: all)
        n_empty = sum(f is None for f in flags)
        n_garbage = sum(f is True for f in flags)
        meta[p + "page_garbage"] = [f is True for f in flags]
        meta[p + "empty_page_share"] = round(n_empty / len(flags), 4)
        meta[p + "garbage_page_share"] = (
            round(n_garbage / (len(flags) - n_empty), 4) if len(flags) > n_empty else 0.0
        )
        if n_garbage:
            self.stat_update("garbage_pages", value=n_garbage)
            if n_garbage < len(flags) - n_empty:
                # the book-level signals describe the book without its garbage pages (a plate's
                # symbol soup is judged by garbage_page_share and removed by drop_pages)
                text = "\f".join(page for page, f in zip(pages, flags) if f is not True)
                kept = [f is not True for f in flags]
        n_tokens = sum(n for n, k in zip(page_tokens, kept) if k) if kept else sum(page_tokens)
        meta[p + "n_words"] = n_tokens
        meta[p + "mean_word_length"] = (
            round((len(text) - sum(text.count(c) for c in " \n\t\r\f\v")) / n_tokens, 3) if n_tokens else 0.0
        )
        meta[p + "alpha_words_ratio"] = (
            round(1 - (sum(n for n, k in zip(page_no_letter, kept) if k) if kept else sum(page_no_letter))
                    / n_tokens, 4) if n_tokens else 0.0
        )
        meta[p + "symbol_word_ratio"] = round(_count_symbols(text) / n_tokens, 4) if n_tokens else 0.0

        # stop words and n-grams are rates: a bounded, evenly spaced sample of the book is enough
        words = _spaced_sample(
            _LETTER_WORD.findall(
                text if len(text) <= self.sample_chars else "\n".join(_spaced_chunks(text, self.sample_chars))
            ),
            self.ngram_max_words * 100,
        )
        counts = Counter(words)
        rate, lang = self.stopword_rate(counts, len(words), meta.get("language"), meta.get("languages"))
        meta[p + "stopwords_per_1000"] = round(rate, 2)
        meta[p + "stopword_language"] = lang

        lines = [line.strip() for line in text.split("\n")]
        meta[p + "dup_line_share"], meta[p + "dup_line_char_share"] = (
            round(x, 4) for x in _dup_shares(lines, self.min_line_chars)
        )
        paras = [para.strip() for para in _PARA_SPLIT.split(text)]
        meta[p + "dup_para_share"], meta[p + "dup_para_char_share"] = (
            round(x, 4) for x in _dup_shares(paras, self.min_para_chars)
        )
        sample = [w.lower() for w in _spaced_sample(words, self.ngram_max_words)]
        for n in self.ngram_sizes:
            meta[f"{p}top_{n}gram_char_share"] = round(_top_ngram_char_share(sample, n), 4)


    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            with self.track_time():
                self.score(doc)
            self.stat_update("books")
            yield doc
