"""Reference-free OCR quality per page and per book, calibrated against ground-truth CER.

The score estimates how much of the text is right: ``ocr_quality = 1 - estimated CER`` (clipped
to 0-1, higher = cleaner), where the estimated character error rate comes from cheap signals of
the page text combined by weights fitted on OCR/ground-truth pairs
(``python -m finebooks.scoring.calibrate``; method, figures and weaknesses in
``docs/ocr_quality.md``). Signals per page, each normalised for the language:

* ``lm`` - mean log-probability per character under a character trigram model of the book's
  language (:mod:`finebooks.scoring.charlm`, trained offline from the ``wordfreq`` list),
  minus the model's mean on its own training text (so languages with more or less predictable
  spelling are on one scale);
* ``bad`` - log of the share of characters the model finds improbable (p < 0.002): a misread
  letter makes two or three unlikely trigrams ("tbe", "fcience", "w!sd0m");
* ``other`` - log of the share of characters outside the language's alphabet, digits and
  ordinary punctuation (``$ # @ ^ © ■ |`` ... and letters of other scripts);
* token rules in the style of Taghva et al. / Kulp (:func:`rule_counts`), each the log of a count
  per token: ``single`` (lone letters that are not one-letter words: split words),
  ``digit_in_word``, ``punct_in_word`` (symbols inside words), ``mixed_case`` ("tHe") and
  ``punct_run`` (",;", "»;/;").

A lexicon signal (share of words of four or more letters found in the wordfreq list) was
measured too and left out: beside the character model, which is trained on that same list,
dropping it moved the cross-validated rho by -0.011 to +0.015 per language (+0.007 overall),
and it was the slowest part of the scorer (a regular expression and a set lookup per word;
docs/ocr_quality.md). Languages without a wordfreq list use a model trained on the union in
:data:`charlm.FALLBACK_LEXICONS` (Latin: it, es, pt, fr); languages without any fall back to
the ``default_language`` model.

Each page with at least ``min_tokens`` words gets ``page_ocr_quality[i]``; the book score is the
character-weighted mean of the scored pages (a book with no such page is scored as one page).
When a reader stored the OCR engine's confidence (``metadata["page_ocr_confidence"]`` or the
book-level ``metadata["ocr_confidence"]``), it is blended in with ``weight_confidence``.

Cost: everything is vectorised over numpy arrays of UTF-16 code units; no Python code runs per
character or per token. Per code unit there is one lookup in a per-model table that gives both
the model class of the lower-cased character and the token-rule class (no ``str.lower`` of the
book), one lookup of the trigram log-probability (the index reset after a word boundary folded
into the table), and one lookup of the token rules in a table over (previous, this, next) class
triples; the rare events (OCR errors: improbable characters, rule hits, a few per cent of the
text) are counted per page from their positions, and every pass writes into reused scratch
arrays (fresh ones cost more in page faults than the arithmetic). About 90 MB/s per core on
raw_ocr/trove_nla_books (0.35 s CPU for 31 MB against 0.97 s for the plain version on the same
shared machine, with the same numbers to the last bit: tests/scoring/test_ocr_quality_fast.py
keeps the plain versions and compares).
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Sequence

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from finebooks.scoring import charlm

PAGE_SEPARATOR = "\f"
FEATURES = ("lm", "bad", "other", "single", "digit_in_word", "punct_in_word", "mixed_case", "punct_run")
# fitted by `python -m finebooks.scoring.calibrate --fit` on the licence-clean calibration
# subsets only (CIS, GT4HistOCR DE4-DE7, NL1, overProof, Kant; see calibrate.FIT_SUBSETS):
# log(CER + 0.005) = intercept + sum(weight * feature)
DEFAULT_WEIGHTS: dict[str, float] = {
    "intercept": -0.0538,
    "lm": -0.4241,
    "bad": 0.5127,
    "other": -0.1076,
    "single": 0.0762,
    "digit_in_word": 0.0162,
    "punct_in_word": 0.0582,
    "mixed_case": 0.0947,
    "punct_run": 0.086,
}
_CER_EPS = 0.005
_FEATURE_EPS = {"bad": 0.003, "other": 0.002}
_RULE_EPS = 0.003
# character classes for the token rules (one uint8 per UTF-16 code unit)
_SPACE, _LOWER, _UPPER, _DIGIT, _JOINER, _SYMBOL = 0, 1, 2, 3, 4, 5
_ONE_LETTER_WORDS = "aAiIoOyYeEàÀ"  # one-letter words common in the supported languages


def _class_table() -> tuple[np.ndarray, np.ndarray]:
    table = np.full(0x10000, _SYMBOL, dtype=np.uint8)
    for cp in range(0x10000):
        ch = chr(cp)
        if ch.isspace():
            table[cp] = _SPACE
        elif ch.isdigit():
            table[cp] = _DIGIT
        elif ch.isalpha():
            table[cp] = _UPPER if ch.isupper() else _LOWER
        elif unicodedata.category(ch).startswith("M"):  # combining marks belong to their letter
            table[cp] = _LOWER
    for ch in "-'’\u00ad\u2010\u2011":  # hyphens and apostrophes are normal inside words
        table[ord(ch)] = _JOINER
    lone_ok = np.zeros(0x10000, dtype=bool)
    for ch in _ONE_LETTER_WORDS:
        lone_ok[ord(ch)] = True
    return table, lone_ok


_CLASSES: tuple[np.ndarray, np.ndarray] | None = None

# Fast path of rule_counts: every rule is a function of the classes of three neighbouring code
# units (previous, this, next), so one lookup in a 4096-entry table of rule bits per code unit
# replaces a dozen boolean arrays. Classes here add what the rules look at beyond _class_table:
# the full stop (".." is not a punctuation run), the letters that may stand alone, and the page
# separator (a space to the rules, flagged so that the same pass finds the page starts).
_R_SPACE, _R_LOWER, _R_UPPER, _R_DIGIT, _R_JOINER, _R_SYMBOL, _R_PERIOD, _R_LOWER_OK, _R_UPPER_OK, _R_PAGE = (
    range(10)
)
_PAGE_BIT = 1 << 6
_RULE_TABLES: tuple[np.ndarray, np.ndarray] | None = None


def _rule_tables() -> tuple[np.ndarray, np.ndarray]:
    """(class per UTF-16 code unit, rule bits per ``prev << 8 | this << 4 | next`` class triple);
    bit 0: a token starts here, bits 1-5: the five rules of :func:`rule_counts` in order, bit 6:
    this is a page separator."""
    global _CLASSES, _RULE_TABLES
    if _RULE_TABLES is None:
        if _CLASSES is None:
            _CLASSES = _class_table()
        table, lone_ok = _CLASSES
        cls = np.array([_R_SPACE, _R_LOWER, _R_UPPER, _R_DIGIT, _R_JOINER, _R_SYMBOL], dtype=np.uint16)[table]
        cls[lone_ok & (table == _LOWER)] = _R_LOWER_OK
        cls[lone_ok & (table == _UPPER)] = _R_UPPER_OK
        cls[ord(".")] = _R_PERIOD
        assert table[ord(PAGE_SEPARATOR)] == _SPACE
        cls[ord(PAGE_SEPARATOR)] = _R_PAGE
        space = {_R_SPACE, _R_PAGE}
        letter = {_R_LOWER, _R_UPPER, _R_LOWER_OK, _R_UPPER_OK}
        symbol = {_R_SYMBOL, _R_PERIOD}
        bits = np.zeros(1 << 12, dtype=np.uint8)
        for a, b, c in itertools.product(range(10), repeat=3):
            rules = (
                b not in space and a in space,  # token start
                a in space and b in (_R_LOWER, _R_UPPER) and c in space,  # single
                (a in letter and b == _R_DIGIT) or (a == _R_DIGIT and b in letter),  # digit_in_word
                a in letter and b in symbol and c in letter,  # punct_in_word
                a in (_R_LOWER, _R_LOWER_OK) and b in (_R_UPPER, _R_UPPER_OK),  # mixed_case
                a in symbol and b in symbol and not (a == b == _R_PERIOD),  # punct_run
                b == _R_PAGE,  # page separator
            )
            bits[a << 8 | b << 4 | c] = sum(1 << j for j, hit in enumerate(rules) if hit)
        _RULE_TABLES = cls, bits
    return _RULE_TABLES


def _rule_counts_codes(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`rule_counts` of the UTF-16 code units ``raw`` (at least 3)."""
    cls, _ = _rule_tables()
    # classes with a space on either side (the text's edges count as spaces)
    r = charlm.SCRATCH.array("rule_classes", len(raw) + 2, np.uint16)
    r[0] = r[-1] = _R_SPACE
    np.take(cls, raw, out=r[1:-1], mode="clip")  # clip: indices are in range, no checks
    return _rule_counts_classes(r)[1:]


def _combined_table(model: charlm.CharTrigramModel) -> np.ndarray | None:
    """Per code unit: the model's class of the lower-cased character (low byte) and the rule
    class (high byte), so one lookup per character serves both halves of the scorer."""
    fast = model.fast_tables()
    if fast is None or model.K > 256:
        return None
    if "ocr_quality_combined" not in fast:
        cls, _ = _rule_tables()
        fast["ocr_quality_combined"] = fast["lower_table"] | (cls << 8)
    return fast["ocr_quality_combined"]


def _rule_counts_classes(r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(page starts, token counts, rule counts) of :func:`rule_counts` from the rule classes
    ``r`` (uint16, a space class on either side)."""
    _, bits = _rule_tables()
    n = len(r) - 2
    scratch = charlm.SCRATCH  # reused arrays: fresh ones cost more than the arithmetic
    triple = np.left_shift(r[:-2], 8, out=scratch.array("index", n, np.uint16))
    triple |= np.left_shift(r[1:-1], 4, out=scratch.array("logp", n, np.uint16))  # free by now
    triple |= r[2:]
    hits = np.take(bits, triple, out=scratch.array("mask", n, np.uint8), mode="clip")
    # rule hits and page separators are rare (0.5 % of the code units on trove): count them from
    # their positions; tokens are not, but sum(hits) per page = tokens + sum(2**j * bit j), all
    # integers
    pos = np.flatnonzero(np.greater(hits, 1, out=scratch.array("mask2", n, bool)))
    hit_bits = hits[pos]
    starts = np.concatenate(([0], pos[(hit_bits & _PAGE_BIT) != 0] + 1)).astype(np.intp)
    # bits 1-6 of each hit as six 0/1 columns: the five rules, then the page separator
    flags = np.unpackbits((hit_bits >> 1)[:, None], axis=1, count=6, bitorder="little")
    counts = charlm.sparse_page_sums(pos, flags, starts)
    tokens = charlm.page_sums(hits, starts) - counts @ (2.0 ** np.arange(1, 7))
    return starts, tokens, counts[:, :5]


def rule_counts(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Per page of ``text``: token counts and the counts of the token rules (pages x 5).

    Rules (Taghva / Kulp style, vectorised over the character classes):

    * ``single`` - a lone letter other than the common one-letter words (split words such as
      "M E D" or "ex tremos");
    * ``digit_in_word`` - a digit touching a letter ("t0wn", "Ρ1596κλ"; "21st" counts too);
    * ``punct_in_word`` - punctuation or a symbol between two letters ("w;a$", "ei>plena");
    * ``mixed_case`` - a lower-case letter followed by an upper-case one ("tHe", "vnD");
    * ``punct_run`` - two punctuation marks or symbols in a row, ".." excepted (",;", "»;/;").

    Each rule depends only on the classes of a code unit and its two neighbours, so one lookup
    per code unit in a table over class triples (:func:`_rule_tables`) gives all of them.
    """
    raw = charlm.utf16_codes(text)
    if len(raw) < 3:
        n_pages = len(charlm.page_starts(raw))
        return np.zeros(n_pages) + (1 if text.strip() else 0), np.zeros((n_pages, 5))
    return _rule_counts_codes(raw)


def _page_counts(
    model: charlm.CharTrigramModel, text: str, raw: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Per page of ``text`` (code units ``raw``): the page starts, the character model's
    :meth:`~charlm.CharTrigramModel.page_stats` of the lower-cased text (long s read as s), the
    token counts and the rule counts of :func:`rule_counts`."""
    # the model's class of each lower-cased character straight from the code units, unless
    # lower-casing changes a length or the model tells long s or final sigma apart (never
    # for the shipped models): then lower-case the text as the plain version does
    exact = model.lower_is_exact(text) and (model.table[ord("ſ")] == model.table[ord("s")] or "ſ" not in text)
    combined = _combined_table(model) if exact and len(raw) >= 3 else None
    if combined is not None:
        # one lookup per code unit gives both the model class (low byte) and the rule class
        # (high byte); each goes to its padded array
        m = len(raw)
        both = charlm.SCRATCH.array("logp", m, np.uint16)  # free until code_stats
        np.take(combined, raw, out=both, mode="clip")
        c = charlm.SCRATCH.array("classes", m + 2, np.uint16)
        c[:2] = charlm.BOUNDARY
        np.bitwise_and(both, 0xFF, out=c[2:])
        r = charlm.SCRATCH.array("rule_classes", m + 2, np.uint16)
        r[0] = r[-1] = _R_SPACE
        np.right_shift(both, 8, out=r[1:-1])
        starts, tokens, rules = _rule_counts_classes(r)  # the page starts come from this pass
        return starts, model.code_stats(raw, starts, lower=True, classes=c), tokens, rules
    starts = charlm.page_starts(raw)
    if exact and len(raw):
        st = model.code_stats(raw, starts, lower=True)
    else:
        low = text.lower()
        if "ſ" in low:
            low = low.replace("ſ", "s")
        st = model.page_stats(low, len(starts), lowered=True)
    tokens, rules = rule_counts(text) if len(raw) < 3 else _rule_counts_codes(raw)
    return starts, st, tokens, rules


FALLBACK_LEXICONS = charlm.FALLBACK_LEXICONS  # re-exported: documented here before charlm existed


BLOCK_CHARS = 4_000_000  # longer books are scored in blocks of whole pages (peak memory ~ 30 B/char)


def _page_blocks(text: str) -> list[str]:
    """``text`` cut into runs of whole pages of about ``BLOCK_CHARS`` (a longer page stays whole)."""
    blocks, cur, size = [], [], 0
    for page in text.split(PAGE_SEPARATOR):
        if cur and size + len(page) > BLOCK_CHARS:
            blocks.append(PAGE_SEPARATOR.join(cur))
            cur, size = [], 0
        cur.append(page)
        size += len(page) + 1
    blocks.append(PAGE_SEPARATOR.join(cur))
    return blocks


class OcrQualityScorer(PipelineStep):
    """Reference-free OCR quality (0-1 = 1 - estimated CER, higher = cleaner) per page and book.

    Args:
        default_language: language used when ``metadata["language"]`` is missing, and whose
            character model stands in for a language that has none.
        min_tokens: pages with fewer whitespace tokens get ``None`` in ``page_ocr_quality``
            (and do not count towards the book score).
        weights: ``{"intercept", *FEATURES}`` of the log-CER model; ``None``: the calibrated
            :data:`DEFAULT_WEIGHTS`.
        weight_confidence: weight of the engine confidence when a reader stored one (the page
            score is ``(1 - w) * text score + w * confidence``).
        use_confidence: use the engine confidence when present.
        user_models: ``{language: model file}`` - character models trained on your own clean
            text (``python -m finebooks.scoring.charlm train`` or ``finebooks ocr-model train``)
            used instead of the wordfreq model for those languages, e.g. ``{"el": "grc.npz"}``
            for polytonic Greek. Other languages keep the default models.
    """

    type = "📊 - SCORER"
    name = "🔍 OCR quality"

    def __init__(
        self,
        default_language: str = "en",
        min_tokens: int = 20,
        weights: dict[str, float] | None = None,
        weight_confidence: float = 0.2,
        use_confidence: bool = True,
        user_models: dict[str, str] | None = None,
    ):
        super().__init__()
        self.default_language = self.norm_lang(default_language)
        self.min_tokens = min_tokens
        self.weights = dict(weights or DEFAULT_WEIGHTS)
        missing = {"intercept", *FEATURES} - set(self.weights)
        if missing:
            raise ValueError(f"weights lack {sorted(missing)}")
        self.weight_confidence = weight_confidence
        self.use_confidence = use_confidence
        self.user_models = {self.norm_lang(k): str(v) for k, v in (user_models or {}).items()}
        for path in self.user_models.values():  # fail at construction, not on the first book
            charlm.load_user_model(path)

    @staticmethod
    def norm_lang(lang: str | None, default: str = "en") -> str:
        """``"en-GB"`` / ``"EN_us"`` -> ``"en"``; ``None`` -> ``default``."""
        return (lang or default).lower().split("-")[0].split("_")[0]

    def model(self, lang: str) -> charlm.CharTrigramModel | None:
        lang = self.norm_lang(lang, self.default_language)
        if lang in self.user_models:
            return charlm.load_user_model(self.user_models[lang])
        model = charlm.get_model(lang)
        if model is None and lang != self.default_language:
            model = self.model(self.default_language)
        return model

    # ------------------------------------------------------------------ features
    def page_features(self, text: str, lang: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per page of ``text`` (pages joined by ``\\f``): token counts, scored character counts
        and the feature matrix (pages x :data:`FEATURES`; NaN where a page has no character)."""
        lang = self.norm_lang(lang, self.default_language)
        if len(text) > BLOCK_CHARS and PAGE_SEPARATOR in text:  # bound the numpy arrays' memory
            parts = [self.page_features(block, lang) for block in _page_blocks(text)]
            return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))  # type: ignore[return-value]
        model = self.model(lang)
        if model is None:
            raise ValueError(
                f"no character model for language {lang!r} nor the default {self.default_language!r}"
            )
        starts, st, tokens, rules = _page_counts(model, text, charlm.utf16_codes(text))
        n = st["n"]
        feats = np.full((len(starts), len(FEATURES)), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            feats[:, 0] = st["logp"] / n - model.self_logp
            feats[:, 1] = np.log(st["bad"] / n + _FEATURE_EPS["bad"])
            feats[:, 2] = np.log(st["other"] / n + _FEATURE_EPS["other"])
            feats[:, 3:] = np.log(rules / np.maximum(tokens, 1)[:, None] + _RULE_EPS)
        feats[n == 0] = np.nan
        return tokens, n, feats

    def book_features(self, text: str, lang: str | None) -> np.ndarray | None:
        """Features of ``text`` taken as a single page (the calibration unit)."""
        _, n, feats = self.page_features(text.replace(PAGE_SEPARATOR, "\n"), lang)
        return None if n[0] == 0 else feats[0]

    @staticmethod
    def quality_from_features(feats: np.ndarray, weights: dict[str, float]) -> np.ndarray:
        """``1 - estimated CER`` (clipped to 0-1) for one feature vector or a pages x features matrix."""
        w = np.array([weights[f] for f in FEATURES])
        log_cer = weights["intercept"] + np.asarray(feats) @ w
        cer = np.exp(np.clip(log_cer, -20.0, 5.0)) - _CER_EPS
        return np.clip(1.0 - cer, 0.0, 1.0)

    # ------------------------------------------------------------------ scores
    def score_text(
        self, text: str, lang: str | None = None, page_confidence: Sequence[float | None] | None = None
    ) -> tuple[float | None, list[float | None]]:
        """(book score, per-page scores) for a book text with pages joined by ``\\f``."""
        tokens, n, feats = self.page_features(text, lang)
        q = self.quality_from_features(np.nan_to_num(feats), self.weights)
        conf_w = self.weight_confidence if self.use_confidence else 0.0
        keep = ~((tokens < self.min_tokens) | (n == 0))  # pages long enough to score
        kept = np.flatnonzero(keep)
        if page_confidence is not None and conf_w > 0:
            scores = q.tolist()
            for i in kept.tolist():
                conf = page_confidence[i] if i < len(page_confidence) else None
                if conf is not None:
                    scores[i] = (1.0 - conf_w) * scores[i] + conf_w * min(1.0, max(0.0, float(conf)))
            q = np.array(scores)
        # Python's round per page (not np.round: they differ in the last digit now and then)
        page_scores: list[float | None] = [
            round(s, 4) if k else None for k, s in zip(keep.tolist(), q.tolist())
        ]
        if len(kept) == 0:  # no page long enough: score the book as a single page
            x = self.book_features(text, lang) if text.strip() else None
            book = None if x is None else float(self.quality_from_features(x, self.weights))
            return (None if book is None else round(book, 4)), page_scores
        # character-weighted mean; cumsum adds left to right like the loop it replaces, and the
        # result stays a numpy float64, rounded by numpy as before
        weights = n[kept]
        book = np.cumsum(q[kept] * weights)[-1] / np.cumsum(weights)[-1]
        return round(book, 4), page_scores

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
