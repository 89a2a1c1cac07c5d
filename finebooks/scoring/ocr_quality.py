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

Cost: everything is vectorised over numpy arrays of UTF-16 code units (table lookups, adjacent-
character masks, per-page sums with ``np.add.reduceat``); no Python code runs per character or
per token (about 25-30 MB/s per core on raw_ocr/trove_nla_books, benchmarks/eval_ocr_quality.py).
"""

from __future__ import annotations

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


def rule_counts(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Per page of ``text``: token counts and the counts of the token rules (pages x 5).

    Rules (Taghva / Kulp style, vectorised over the character classes):

    * ``single`` - a lone letter other than the common one-letter words (split words such as
      "M E D" or "ex tremos");
    * ``digit_in_word`` - a digit touching a letter ("t0wn", "Ρ1596κλ"; "21st" counts too);
    * ``punct_in_word`` - punctuation or a symbol between two letters ("w;a$", "ei>plena");
    * ``mixed_case`` - a lower-case letter followed by an upper-case one ("tHe", "vnD");
    * ``punct_run`` - two punctuation marks or symbols in a row, ".." excepted (",;", "»;/;").
    """
    global _CLASSES
    if _CLASSES is None:
        _CLASSES = _class_table()
    table, lone_ok = _CLASSES
    raw = np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    starts = charlm.page_starts(raw)
    n = len(raw)
    counts = np.zeros((len(starts), 5))
    if n < 3:
        return np.zeros(len(starts)) + (1 if text.strip() else 0), counts
    cls = table[raw]
    space = cls == _SPACE
    letter = (cls == _LOWER) | (cls == _UPPER)
    digit = cls == _DIGIT
    tok_start = ~space
    tok_start[1:] &= space[:-1]
    tokens = charlm.page_sums(tok_start, starts)
    space_before = np.concatenate(([True], space[:-1]))  # the text's edges count as spaces
    space_after = np.concatenate((space[1:], [True]))
    lone = space_before & letter & ~lone_ok[raw] & space_after
    dw = np.zeros(n, dtype=bool)
    dw[1:] = (letter[:-1] & digit[1:]) | (digit[:-1] & letter[1:])
    pw = np.zeros(n, dtype=bool)
    pw[1:-1] = letter[:-2] & (cls[1:-1] == _SYMBOL) & letter[2:]
    mc = np.zeros(n, dtype=bool)
    mc[1:] = (cls[:-1] == _LOWER) & (cls[1:] == _UPPER)
    symbol = cls == _SYMBOL
    pr = np.zeros(n, dtype=bool)
    pr[1:] = symbol[:-1] & symbol[1:] & ~((raw[:-1] == 46) & (raw[1:] == 46))
    for j, mask in enumerate((lone, dw, pw, mc, pr)):
        counts[:, j] = charlm.page_sums(mask, starts)
    return tokens, counts


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
        n_pages = text.count(PAGE_SEPARATOR) + 1
        model = self.model(lang)
        feats = np.full((n_pages, len(FEATURES)), np.nan)
        if model is None:
            raise ValueError(
                f"no character model for language {lang!r} nor the default {self.default_language!r}"
            )
        low = text.lower()
        if "ſ" in low:
            low = low.replace("ſ", "s")
        st = model.page_stats(low, n_pages, lowered=True)
        n = st["n"]
        with np.errstate(divide="ignore", invalid="ignore"):
            feats[:, 0] = st["logp"] / n - model.self_logp
            feats[:, 1] = np.log(st["bad"] / n + _FEATURE_EPS["bad"])
            feats[:, 2] = np.log(st["other"] / n + _FEATURE_EPS["other"])
        tokens, rules = rule_counts(text)
        with np.errstate(divide="ignore", invalid="ignore"):
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
        page_scores: list[float | None] = []
        num = den = 0.0
        for i in range(len(tokens)):
            if tokens[i] < self.min_tokens or n[i] == 0:
                page_scores.append(None)
                continue
            s = float(q[i])
            conf = page_confidence[i] if page_confidence is not None and i < len(page_confidence) else None
            if conf is not None and conf_w > 0:
                s = (1.0 - conf_w) * s + conf_w * min(1.0, max(0.0, float(conf)))
            page_scores.append(round(s, 4))
            num += s * n[i]
            den += n[i]
        if den == 0:  # no page long enough: score the book as a single page
            x = self.book_features(text, lang) if text.strip() else None
            book = None if x is None else float(self.quality_from_features(x, self.weights))
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
