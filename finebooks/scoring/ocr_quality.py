"""Cheap, reference-free OCR quality score per page and per book.

Each page (pages are split on ``\\f``) is tokenised on whitespace and scored from three signals:

* **lexicon** - share of alphabetic tokens (edge punctuation stripped, lower-cased) that are
  words of the book's language: ``wordfreq`` frequency above ``min_zipf`` (``zipf > 0`` is the
  plain "is a word" test; words of one or two letters need ``short_min_zipf`` because random
  OCR fragments such as ``l``/``tbe`` are in the lists with a low frequency). Lookups use the
  wordfreq frequency dictionary directly (the same data as ``zipf_frequency``, without its
  per-call tokenisation) plus a per-instance memo, so a token type is classified once.
* **garbage** - 1 - share of tokens flagged by rules in the style of Taghva et al. / Kulp:
  longer than ``max_token_len`` characters; three or more non-alphanumerics inside a word;
  a letter mixed with other symbols inside a word (``Ne$v``); a run of consonants or vowels
  longer than the language allows; the same character four or more times in a row; lower-case
  followed by upper-case inside a word (``tHe``); digits inside letters (``t0wn``, ordinals
  such as ``21st`` excepted).
* **chars** - letters / all non-space characters, mapped linearly from ``char_floor`` (0) to
  ``char_ceil`` (1).

Optionally **confidence**: ``metadata["page_ocr_confidence"][i]`` (or the book-level
``metadata["ocr_confidence"]``) when a reader found the engine confidence.

The page score is the weighted mean of the available signals (weights renormalised over the
signals present; defaults 0.1 / 1.0 / 0.0 (+0.2 confidence) were picked on the even-indexed half of
the calibration documents and checked on the odd half). Pages with fewer than ``min_tokens`` tokens get ``None``; the book score is
the token-weighted mean of the scored pages (a short book with no such page is scored as one
page). Writes ``metadata["ocr_quality"]`` (0-1, higher = cleaner, ``None`` for a book with no
token) and ``metadata["page_ocr_quality"]``.

Languages wordfreq lacks (``lexicon_fallback``): ``"union"`` (default) checks the union of the
lexicons listed in ``FALLBACK_LEXICONS`` for that language (Latin: it, es, fr, pt), ``"none"``
drops the lexicon signal and scores from the garbage and character signals only. Measured with
``python -m finebooks.scoring.calibrate`` (see that module) - union was better on Latin.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

PAGE_SEPARATOR = "\f"

# languages wordfreq does not have -> lexicons whose union stands in for it
FALLBACK_LEXICONS: dict[str, tuple[str, ...]] = {
    "la": ("it", "es", "fr", "pt"),
    "lat": ("it", "es", "fr", "pt"),
    "grc": ("el",),
    "enm": ("en",),
    "frm": ("fr",),
    "gmh": ("de",),
}
# longest run of consonants / vowels a real word of the language has (longer -> garbage)
MAX_CONSONANT_RUN = {"de": 7, "nl": 6, "en": 5, "cs": 6, "pl": 6}
MAX_VOWEL_RUN = {"fi": 5, "nl": 4, "fr": 4, "en": 4}
DEFAULT_CONSONANT_RUN = 5
DEFAULT_VOWEL_RUN = 3

_EDGE_PUNCT = "\"'`()[]{}<>.,;:!?«»„“”‘’‚‹›¿¡*-–—_/|\\~^°·•"
_LETTER = re.compile(r"[^\W\d_]")
_NOT_LETTER = re.compile(r"[\W\d_]+")
_SPACE = re.compile(r"\s+")
_DIGIT_IN_LETTERS = re.compile(r"[^\W\d_]\d|\d[^\W\d_]")
_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th|d|er|e|ème|o|a|te|ten|ter)\.?$", re.IGNORECASE)
_MIXED_CASE = re.compile(r"[^\W\d_A-ZÀ-ÞΑ-Ω][A-ZÀ-ÞΑ-Ω]")
_REPEAT = re.compile(r"([^\s])\1{3,}")
_VOWELS = "aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüÿœ"
_CONSONANT_RUN = re.compile(r"[bcdfghjklmnpqrstvwxzß]+", re.IGNORECASE)
_VOWEL_RUN = re.compile(f"[{_VOWELS}]+", re.IGNORECASE)
_NUMBER = re.compile(r"[\d.,:/\-–'’£$%½¼¾]+$")
_INNER_OK = set("-'’")

# token classes
_NEUTRAL, _WORD_HIT, _WORD_MISS, _GARBAGE, _SYMBOL = 0, 1, 2, 3, 4


class OcrQualityScorer(PipelineStep):
    """Reference-free OCR quality (0-1, higher = cleaner) per page and per book, as metadata.

    Args:
        default_language: language used when ``metadata["language"]`` is missing.
        min_tokens: pages with fewer whitespace tokens get ``None`` in ``page_ocr_quality``.
        min_zipf: a token is a word of the language when its wordfreq zipf frequency is above this.
        short_min_zipf: the same, for words of one or two letters.
        max_token_len: longer tokens are garbage.
        weight_lexicon / weight_garbage / weight_chars / weight_confidence: signal weights
            (renormalised over the signals present for a page).
        char_floor / char_ceil: letter ratio (letters / non-space characters) mapped to 0 / 1.
        lexicon_fallback: ``"union"`` or ``"none"``, for languages wordfreq lacks (see module doc).
        use_confidence: use the engine confidence when a reader stored one.
        memo_size: token types remembered per lexicon before the memo is cleared.
    """

    type = "📊 - SCORER"
    name = "🔍 OCR quality"

    def __init__(
        self,
        default_language: str = "en",
        min_tokens: int = 20,
        min_zipf: float = 0.0,
        short_min_zipf: float = 4.0,
        max_token_len: int = 25,
        weight_lexicon: float = 0.1,
        weight_garbage: float = 1.0,
        weight_chars: float = 0.0,
        weight_confidence: float = 0.2,
        char_floor: float = 0.75,
        char_ceil: float = 0.97,
        lexicon_fallback: str = "union",
        use_confidence: bool = True,
        memo_size: int = 2_000_000,
    ):
        super().__init__()
        if lexicon_fallback not in ("union", "none"):
            raise ValueError("lexicon_fallback must be 'union' or 'none'")
        self.default_language = default_language
        self.min_tokens = min_tokens
        self.min_zipf = min_zipf
        self.short_min_zipf = short_min_zipf
        self.max_token_len = max_token_len
        self.weight_lexicon = weight_lexicon
        self.weight_garbage = weight_garbage
        self.weight_chars = weight_chars
        self.weight_confidence = weight_confidence
        self.char_floor = char_floor
        self.char_ceil = char_ceil
        self.lexicon_fallback = lexicon_fallback
        self.use_confidence = use_confidence
        self.memo_size = memo_size
        self._lexicons: dict[str, dict[str, float] | None] = {}
        self._memos: dict[str, dict[str, int]] = {}

    def __getstate__(self):  # lexicons and memos are rebuilt lazily in each worker
        state = self.__dict__.copy()
        state["_lexicons"] = {}
        state["_memos"] = {}
        return state

    # ------------------------------------------------------------------ lexicon
    def lexicon(self, lang: str) -> dict[str, float] | None:
        """``{word: zipf}`` for ``lang`` (or its fallback union); ``None``: no lexicon signal."""
        lang = (lang or self.default_language).lower().split("-")[0].split("_")[0]
        if lang not in self._lexicons:
            import wordfreq

            available = wordfreq.available_languages("best")
            if lang in available:
                codes: tuple[str, ...] = (lang,)
            elif self.lexicon_fallback == "union":
                codes = tuple(c for c in FALLBACK_LEXICONS.get(lang, ()) if c in available)
            else:
                codes = ()
            lex: dict[str, float] | None = None
            if codes:
                lex = {}
                for code in codes:
                    for word, freq in wordfreq.get_frequency_dict(code).items():
                        z = math.log10(freq) + 9.0
                        if z > lex.get(word, -1.0):
                            lex[word] = z
            self._lexicons[lang] = lex
        return self._lexicons[lang]

    # ------------------------------------------------------------------ tokens
    def classify(self, token: str, lang: str, lex: dict[str, float] | None) -> int:
        """Class of one whitespace token (neutral, word hit, word miss, garbage, symbol)."""
        if len(token) > self.max_token_len:
            return _GARBAGE
        core = token.strip(_EDGE_PUNCT)
        if not core:
            return _SYMBOL if len(token) > 1 or token not in ".,;:-–—!?&\"'()" else _NEUTRAL
        has_letter = _LETTER.search(core) is not None
        if not has_letter:
            return _NEUTRAL if _NUMBER.match(core) else _SYMBOL
        if _REPEAT.search(core):
            return _GARBAGE
        inner = [c for c in core if not c.isalnum() and c not in _INNER_OK]
        if inner:  # symbols inside a word (Taghva: >= 3 punctuation marks; one already suspicious)
            return _GARBAGE
        if _DIGIT_IN_LETTERS.search(core) and not _ORDINAL.match(core):
            return _GARBAGE
        if _MIXED_CASE.search(core):
            return _GARBAGE
        if not core.isupper() or len(core) > 3:
            low = core.lower()
            cmax = MAX_CONSONANT_RUN.get(lang, DEFAULT_CONSONANT_RUN)
            vmax = MAX_VOWEL_RUN.get(lang, DEFAULT_VOWEL_RUN)
            if any(len(r) > cmax for r in _CONSONANT_RUN.findall(low)) or any(
                len(r) > vmax for r in _VOWEL_RUN.findall(low)
            ):
                return _GARBAGE
        if lex is None:
            return _NEUTRAL
        low = core.lower().replace("’", "'")
        return _WORD_HIT if self._in_lexicon(low, lex) else _WORD_MISS

    def _in_lexicon(self, low: str, lex: dict[str, float]) -> bool:
        z = lex.get(low)
        if z is not None:
            return z > (self.short_min_zipf if len(low) <= 2 else self.min_zipf)
        if "-" in low or "'" in low:
            parts = [p for p in re.split(r"[-']", low) if p]
            return bool(parts) and all(self._in_lexicon(p, lex) for p in parts if len(p) > 2 or p in lex)
        return False

    # ------------------------------------------------------------------ pages
    def page_signals(self, page: str, lang: str) -> tuple[int, dict[str, float]]:
        """Token count and signal values (0-1) of one page."""
        lex = self.lexicon(lang)
        memo = self._memos.setdefault(lang, {})
        if len(memo) > self.memo_size:
            memo.clear()
        counts = Counter(page.split())
        n_tok = sum(counts.values())
        tally = [0, 0, 0, 0, 0]
        classify = self.classify
        for tok, c in counts.items():
            cls = memo.get(tok)
            if cls is None:
                cls = memo[tok] = classify(tok, lang, lex)
            tally[cls] += c
        signals: dict[str, float] = {}
        words = tally[_WORD_HIT] + tally[_WORD_MISS]
        # garbage tokens count as lexicon misses too (they are alphabetic-ish tokens that failed)
        if lex is not None and words + tally[_GARBAGE] > 0:
            signals["lexicon"] = tally[_WORD_HIT] / (words + tally[_GARBAGE])
        scored = n_tok - tally[_NEUTRAL] + (tally[_NEUTRAL] if lex is None else 0)
        if scored > 0:
            signals["garbage"] = 1.0 - (tally[_GARBAGE] + 0.5 * tally[_SYMBOL]) / scored
        nonspace = len(_SPACE.sub("", page)) if self.weight_chars > 0 else 0
        if nonspace:
            ratio = len(_NOT_LETTER.sub("", page)) / nonspace
            span = max(self.char_ceil - self.char_floor, 1e-6)
            signals["chars"] = min(1.0, max(0.0, (ratio - self.char_floor) / span))
        return n_tok, signals

    def combine(self, signals: dict[str, float], confidence: float | None = None) -> float | None:
        weights = {"lexicon": self.weight_lexicon, "garbage": self.weight_garbage, "chars": self.weight_chars}
        total = value = 0.0
        for key, w in weights.items():
            if key in signals and w > 0:
                total += w
                value += w * signals[key]
        if self.use_confidence and confidence is not None and self.weight_confidence > 0:
            total += self.weight_confidence
            value += self.weight_confidence * min(1.0, max(0.0, float(confidence)))
        return value / total if total > 0 else None

    def score_text(
        self, text: str, lang: str | None = None, page_confidence: Sequence[float | None] | None = None
    ) -> tuple[float | None, list[float | None]]:
        """(book score, per-page scores) for a book text with pages joined by ``\\f``."""
        lang = (lang or self.default_language).lower().split("-")[0].split("_")[0]
        pages = text.split(PAGE_SEPARATOR)
        page_scores: list[float | None] = []
        num = den = 0.0
        for i, page in enumerate(pages):
            conf = page_confidence[i] if page_confidence is not None and i < len(page_confidence) else None
            n_tok, signals = self.page_signals(page, lang)
            if n_tok < self.min_tokens:
                page_scores.append(None)
                continue
            s = self.combine(signals, conf)
            page_scores.append(None if s is None else round(s, 4))
            if s is not None:
                num += s * n_tok
                den += n_tok
        if den == 0:  # no page long enough: score the book as a single page
            n_tok, signals = self.page_signals(text.replace(PAGE_SEPARATOR, "\n"), lang)
            book = self.combine(signals, None) if n_tok else None
        else:
            book = num / den
        return (None if book is None else round(book, 4)), page_scores

    def score(self, doc: Document) -> None:
        meta = doc.metadata
        conf = meta.get("page_ocr_confidence")
        if conf is None and meta.get("ocr_confidence") is not None:
            conf = [meta["ocr_confidence"]] * (doc.text.count(PAGE_SEPARATOR) + 1)
        book, pages = self.score_text(doc.text, meta.get("language"), conf)
        meta["ocr_quality"] = book
        meta["page_ocr_quality"] = pages
        if book is None:
            self.stat_update("no_tokens")

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            with self.track_time():
                self.score(doc)
            self.stat_update("books")
            yield doc
