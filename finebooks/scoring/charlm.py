"""Character trigram language models built offline from wordfreq word lists, scored with numpy.

Why: a reference-free OCR error detector must notice misread *characters* ("tbe", "fcience",
"w!sd0m"), not only whole tokens that fail a lexicon lookup. A character trigram model of the
book's language gives every character a log-probability; OCR errors create trigrams the language
hardly has, so the share of improbable characters tracks the character error rate.

Training data: the ``wordfreq`` frequency list of the language (installed with the package, no
network), every word weighted by its frequency (so counts follow running text), padded with a word
boundary on both sides, plus a small share of digit runs (page numbers, years) so numbers are
normal and digits *inside* words are not. Languages wordfreq lacks use ``FALLBACK_LEXICONS`` (the
model of their union; Latin: it, es, pt, fr - see docs/ocr_quality.md for how well that works).
Building a model takes about 0.2-0.8 s per language (the word list load dominates); models are
kept per process (``get_model``), so a worker builds each language once.

Alphabet: lower-cased letters covering 99.99 % of the language's letter mass, a word-boundary
class (whitespace and ordinary punctuation ``.,;:!?'"()-`` and the like), one class for digits and
one for everything else (symbols, letters foreign to the language). Smoothing: interpolated
absolute-free Dirichlet back-off trigram -> bigram -> add-one unigram.

User models: historic languages and scripts (polytonic Greek, early-modern spelling) are not in
the modern wordfreq lists. ``python -m finebooks.scoring.charlm train --lang L --text DIR --out
PATH`` (or ``finebooks ocr-model train``) trains a model on the user's own clean text, accents
kept, mixed by default half and half with the wordfreq list (:func:`train_user_model`); the
scorer's ``user_models`` parameter maps a language to such a file. Held-out figures:
docs/ocr_quality.md ("Your own character model").

Scoring (:meth:`CharTrigramModel.page_stats`, :meth:`CharTrigramModel.code_stats`) is
vectorised: the text's UTF-16 code units become class codes through a 64 K lookup table (one
that reads each character as lower-cased, so the text needs no ``str.lower``), and one lookup per
character in a log-probability table with the boundary rules folded in (a context before a
boundary is forgotten, a boundary after a boundary is not scored) gives its log-probability;
per-page sums come from ``np.add.reduceat``, and the rare events (improbable characters, symbols)
are counted from their positions. Passes write into reused scratch arrays (:class:`_Scratch`).
No Python loop runs per character or per token.
"""

from __future__ import annotations

import json
import math
import os
import threading
import unicodedata
import zipfile
from pathlib import Path

import numpy as np

# languages wordfreq does not have -> lexicons whose union stands in for it
FALLBACK_LEXICONS: dict[str, tuple[str, ...]] = {
    "la": ("it", "es", "pt", "fr"),
    "lat": ("it", "es", "pt", "fr"),
    "grc": ("el",),
    "enm": ("en",),
    "frm": ("fr",),
    "gmh": ("de",),
}

BOUNDARY, DIGIT, OTHER = 0, 1, 2
_FIRST_LETTER = 3
# characters that separate words like whitespace does (never OCR evidence on their own)
BOUNDARY_CHARS = " \t\n\r\f\v\u00a0\u2028\u2029.,;:!?'\"()-\u2010\u2011\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e\u00ab\u00bb\u2039\u203a\u00bf\u00a1"
# typographic variants read as their modern letter before lookup (both in training and scoring)
_FOLD = {"ſ": "s", "ς": "σ", "ĳ": "ij", "ﬁ": "fi", "ﬂ": "fl", "ﬀ": "ff"}
_LEXICON_CACHE: dict[str, dict[str, float]] = {}
_MODELS: dict[str, CharTrigramModel] = {}
_LOCK = threading.Lock()


class _Scratch(threading.local):
    """Scratch arrays reused from book to book (one set per thread).

    Why: a new numpy array of a book's length is fresh memory from the operating system, and
    faulting its pages in cost more than the arithmetic on it (measured on trove's 31 M code
    units: ``a & 255`` 0.056 s into a new array, 0.008 s into a reused one). The scorer's passes
    write into these instead (``out=``). They keep about 14 bytes per code unit of the longest
    text scored so far (at most ~60 MB: longer books are scored in blocks, ocr_quality.BLOCK_CHARS).
    Names in use: classes, rule_classes, index, logp, mask, mask2 (one role at a time each).
    """

    def __init__(self):
        self.pool: dict[str, np.ndarray] = {}

    def array(self, name: str, n: int, dtype) -> np.ndarray:
        """An uninitialised array of ``n`` items of ``dtype``; the same memory for each ``name``
        (so two arrays in use at once need two names)."""
        dtype = np.dtype(dtype)
        nbytes = n * dtype.itemsize
        buf = self.pool.get(name)
        if buf is None or len(buf) < nbytes:
            buf = np.empty(max(nbytes + nbytes // 4, 1 << 16), dtype=np.uint8)
            self.pool[name] = buf
        return buf[:nbytes].view(dtype)


SCRATCH = _Scratch()


def page_starts(codes: np.ndarray) -> np.ndarray:
    """Start index of every page of a UTF-16 code array (pages split on ``\\f``)."""
    is_ff = np.equal(codes, 12, out=SCRATCH.array("mask2", len(codes), bool))
    return np.concatenate(([0], np.flatnonzero(is_ff) + 1)).astype(np.intp)


def page_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per-page sum of ``values`` (booleans count 1), pages starting at ``starts``.

    Each page but the last includes its closing ``\\f``, so starts are strictly increasing; only
    a text ending in ``\\f`` has a last start equal to the length (an empty page: 0).
    """
    out = np.zeros(len(starts))
    ok = starts < len(values)
    if ok.any():
        v = values.view(np.uint8) if values.dtype == bool else values
        out[ok] = np.add.reduceat(v, starts[ok], dtype=np.float64 if v.dtype.kind == "f" else np.int64)
    return out


def utf16_codes(text: str) -> np.ndarray:
    """``text`` as a numpy array of UTF-16 code units (characters outside the BMP take two)."""
    return np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)


_LOWER_MAP: np.ndarray | None = None
# the only character whose ``str.lower()`` is not one character (U+0130 -> "i" + U+0307); checked
# over all of Unicode by tests/scoring/test_ocr_quality_fast.py
LENGTH_CHANGING_LOWER = "\u0130"


def lower_map() -> np.ndarray:
    """UTF-16 code unit -> the code unit of its ``str.lower()`` (built once per process, ~30 ms).

    Lets the scorer look up the class of a lower-cased character without lower-casing the text
    (``str.lower`` of a whole book cost as much as all the numpy work). Exact except for
    :data:`LENGTH_CHANGING_LOWER` (mapped to itself here; callers check for it) and the capital
    sigma, which ``str.lower`` turns into final or medial sigma by context (mapped to the medial
    one; :meth:`CharTrigramModel.lower_is_exact` says when the model cannot tell them apart).
    Surrogates map to themselves: a character outside the BMP lower-cases to one outside the BMP
    with the same high surrogate, and every surrogate is one class (``OTHER``) in the models.
    """
    global _LOWER_MAP
    if _LOWER_MAP is None:
        m = np.arange(0x10000, dtype=np.uint16)
        for cp in range(0x10000):
            lo = chr(cp).lower()
            if len(lo) == 1 and lo != chr(cp) and ord(lo) < 0x10000:
                m[cp] = ord(lo)
        _LOWER_MAP = m
    return _LOWER_MAP


def page_lengths(starts: np.ndarray, n: int) -> np.ndarray:
    """Code units per page (closing ``\\f`` included) of a text of ``n`` code units."""
    return np.diff(starts, append=n).astype(np.float64)


def sparse_page_sums(positions: np.ndarray, flags: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per-page counts (pages x k) of ``flags`` (positions x k, 0/1) at the sorted ``positions``.

    The same numbers as :func:`page_sums` over full-length masks that are 0 everywhere but at
    ``positions``; for masks that are rarely set (OCR errors: a few per cent of the characters)
    one ``np.flatnonzero`` and a few short arrays beat one full pass per mask.
    """
    out = np.zeros((len(starts), flags.shape[1]))
    if len(positions):
        lo = np.searchsorted(positions, starts)  # first position at or after each page start
        hi = np.append(lo[1:], len(positions))
        cs = np.zeros((len(positions) + 1, flags.shape[1]), dtype=np.int64)
        np.cumsum(flags, axis=0, out=cs[1:])
        out[:] = cs[hi] - cs[lo]
    return out


def _strip_marks(ch: str) -> str:
    decomposed = unicodedata.normalize("NFD", ch)
    return "".join(c for c in decomposed if not unicodedata.combining(c)) or ch


def lexicon_codes(lang: str) -> tuple[str, ...]:
    """wordfreq languages that stand for ``lang`` (itself, its fallback union, or none)."""
    from finebooks.wordlists import available_languages

    available = available_languages()  # wordfreq's "best" languages, without importing wordfreq
    if lang in available:
        return (lang,)
    return tuple(c for c in FALLBACK_LEXICONS.get(lang, ()) if c in available)


def frequency_dict(code: str) -> dict[str, float]:
    """wordfreq ``{word: frequency}`` of one wordfreq language (cached per process)."""
    with _LOCK:
        if code not in _LEXICON_CACHE:
            import wordfreq

            _LEXICON_CACHE[code] = wordfreq.get_frequency_dict(code, "best")
        return _LEXICON_CACHE[code]


class CharTrigramModel:
    """Interpolated character trigram model over a small per-language alphabet.

    Args:
        lang: the language this model stands for (label only).
        words: ``[({word: frequency}, scale), ...]`` training word lists, each frequency times
            its scale (a word in several lists counts in each).
        strip_accents: drop combining marks before lookup (Greek: polytonic print vs the
            monotonic modern lexicon).
        digit_share: share of training mass given to digit runs (numbers are normal in books).
        bad_logp: natural-log probability under which a character counts as improbable.
        coverage: the alphabet is the most frequent letters covering this share of letter mass.
        order: n-gram order (3: trigrams; tables grow as alphabet size ** order).
        beta: Dirichlet back-off strength.
        max_letters: alphabet cap (the rest counts as "other"; keeps tables small, so scripts
            with thousands of signs - Chinese, Japanese - get no useful model).
    """

    def __init__(
        self,
        lang: str,
        words: list[tuple[dict[str, float], float]],
        strip_accents: bool = False,
        digit_share: float = 0.01,
        bad_logp: float = math.log(0.002),
        coverage: float = 0.9999,
        order: int = 3,
        beta: float = 50.0,
        max_letters: int = 100,
    ):
        self.lang = lang
        self.order = order
        self.strip_accents = strip_accents
        self.bad_logp = bad_logp
        # ---- training text: " w1 w2 ... " (one boundary between words), one weight per word
        vocab: list[str] = []
        parts = []
        for freq, scale in words:
            v = [w for w in freq if w.isalpha()]
            parts.append(np.fromiter(map(freq.__getitem__, v), dtype=np.float64, count=len(v)) * scale)
            vocab += v
        wts = np.concatenate(parts) if parts else np.zeros(0)
        big = self.fold(" " + " ".join(vocab).lower() + " ")
        raw = np.frombuffer(big.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
        lens = np.fromiter(map(len, vocab), dtype=np.int64, count=len(vocab)) + 1
        if len(raw) != 1 + int(lens.sum()):  # lower() or folding changed a length: slow path
            vocab = [self.fold(w.lower()) for w in vocab]
            big = " " + " ".join(vocab) + " "
            raw = np.frombuffer(big.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
            lens = np.fromiter(
                (len(w.encode("utf-16-le")) // 2 + 1 for w in vocab), dtype=np.int64, count=len(vocab)
            )
        wt = np.concatenate(([0.0], np.repeat(wts, lens)))  # weight of each position of `big`
        # ---- alphabet: letters covering `coverage` of the letter mass
        mass = np.bincount(raw, weights=wt, minlength=0x10000)
        mass[ord(" ")] = 0.0
        order = np.argsort(-mass)
        cum = np.cumsum(mass[order]) / max(mass.sum(), 1e-300)
        n_keep = int(np.searchsorted(cum, coverage) + 1)
        letters = [chr(int(cp)) for cp in order[:n_keep] if mass[cp] > 0 and chr(int(cp)).isalpha()]
        letters = letters[:max_letters]  # scripts with thousands of signs (zh, ja) are not modelled
        self.letters = "".join(sorted(letters))
        self.K = _FIRST_LETTER + len(self.letters)
        table = np.full(0x10000, OTHER, dtype=np.uint16)
        for ch in BOUNDARY_CHARS:
            table[ord(ch)] = BOUNDARY
        for ch in "0123456789":
            table[ord(ch)] = DIGIT
        for i, ch in enumerate(self.letters):
            table[ord(ch)] = _FIRST_LETTER + i
        if strip_accents:  # accented (polytonic) variants of alphabet letters -> the bare letter
            for cp in range(0x00C0, 0x2000):
                ch = chr(cp)
                if ch.isalpha() and table[cp] == OTHER:
                    base = _strip_marks(ch).lower()
                    if len(base) == 1 and base in self.letters:
                        table[cp] = table[ord(base)]
        for src, dst in _FOLD.items():
            if len(dst) == 1 and ord(src) < 0x10000:
                table[ord(src)] = table[ord(dst)]
        self.table = table
        K = self.K
        c = table[raw].astype(np.int64)
        # digit runs (page numbers, years) as extra training sequences
        wsum = float(wts.sum()) or 1.0
        extra_c, extra_w = [], []
        for n_digits, share in ((1, 0.2), (2, 0.3), (3, 0.25), (4, 0.25)):
            extra_c.append([DIGIT] * n_digits + [BOUNDARY])
            extra_w += [wsum * digit_share * share] * (n_digits + 1)
        c = np.concatenate((c, np.concatenate(extra_c)))
        wt = np.concatenate((wt, extra_w))
        n = self.order
        counts = np.bincount(self._ngram_index(c), weights=wt, minlength=K**n).reshape((K,) * n)
        counts *= 1e7 / max(counts.sum(), 1e-300)
        # interpolated back-off: p_k(c | h) = (n(h c) + beta * p_{k-1}(c | h')) / (n(h) + beta)
        levels = [counts]
        for _ in range(n - 1):
            levels.append(levels[-1].sum(axis=0))
        uni = levels[-1]
        p = (uni + 1.0) / (uni.sum() + K)
        for k in range(2, n + 1):
            ck = levels[n - k]
            p = (ck + beta * p[None, ...]) / (ck.sum(axis=-1, keepdims=True) + beta)
        logp = np.log(p)
        # OTHER (symbols, foreign letters) is never in training: a fixed, low probability
        logp[..., OTHER] = math.log(1e-4)
        self.logp = logp.reshape(-1).astype(np.float32)
        # expected log-prob and improbable share of the model's own training text (normalisers)
        w = counts.reshape(-1)
        self.self_logp = float((w * self.logp).sum() / w.sum())
        self.self_bad = float(w[self.logp < bad_logp].sum() / w.sum())

    def _ngram_index(self, c: np.ndarray) -> np.ndarray:
        """n-gram index of every position of ``c`` (boundaries padded in front).

        After a boundary the context forgets what came before it (a word starts fresh), which
        matches training on isolated words.
        """
        K, n = self.K, self.order
        c = np.concatenate((np.full(n - 1, BOUNDARY, dtype=c.dtype), c))
        L = len(c) - (n - 1)
        ctx = [c[j : j + L] for j in range(n)]  # ctx[n-1] is the predicted character
        # a context position before the last boundary is reset to boundary
        for j in range(n - 3, -1, -1):
            ctx[j] = np.where(ctx[j + 1] == BOUNDARY, BOUNDARY, ctx[j])
        idx = ctx[0].astype(np.int32 if K**n < 2**31 else np.int64)
        for j in range(1, n):
            idx = idx * K + ctx[j]
        return idx

    _SAVED = ("lang", "order", "strip_accents", "bad_logp", "letters", "K", "self_logp", "self_bad", "source")
    source: dict | None = None  # how a user model was trained (None: built from wordfreq)

    def save(self, path) -> None:
        meta = {k: getattr(self, k) for k in self._SAVED}
        np.savez_compressed(path, table=self.table, logp=self.logp, meta=np.array(json.dumps(meta)))

    @classmethod
    def load(cls, path) -> CharTrigramModel:
        with np.load(path, allow_pickle=False) as z:
            model = cls.__new__(cls)
            for k, v in json.loads(str(z["meta"])).items():
                setattr(model, k, v)
            model.table = z["table"]
            model.logp = z["logp"]
        return model

    def fold(self, text: str) -> str:
        for src, dst in _FOLD.items():
            if src in text:
                text = text.replace(src, dst)
        return text

    def codes(self, text: str) -> np.ndarray:
        """Class code per character of ``text`` (lower-cased by the caller)."""
        return self.table[utf16_codes(text)]

    # ------------------------------------------------------------------ fast scoring tables
    # Built lazily per model object (never pickled: see __getstate__), so a model loaded from a
    # file or unpickled in a worker builds them on first use (a few ms).
    _fast: dict | None = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_fast", None)
        return state

    def fast_tables(self) -> dict | None:
        """Lookup tables for :meth:`code_stats` (``None`` when the model is not a trigram model).

        * ``lower_table``: class of the lower-cased character, per UTF-16 code unit
          (``table[lower_map()]``), so scoring needs no ``str.lower`` of the text;
        * ``lp``: log-probability per trigram index with the two rules of :meth:`page_stats`
          folded in: a context position before a boundary reads as a boundary (the reset of
          :meth:`_ngram_index`: ``lp[a, B, c] = logp[B, B, c]``) and a boundary after a boundary
          is not scored (``lp[a, B, B] = 0``); so the index needs no ``np.where`` and the
          per-character mask is ``lp != 0`` (checked here: no scored trigram has log-prob 0);
        * ``dtype``: the narrowest unsigned integer that holds a trigram index.
        """
        if self._fast is None:
            if self.order != 3:
                self._fast = {}
            else:
                K = self.K
                lp = self.logp.reshape(K, K, K).copy()
                lp[:, BOUNDARY, :] = lp[BOUNDARY, BOUNDARY, :]
                lp[:, BOUNDARY, BOUNDARY] = 0.0
                scored = np.ones((K, K, K), dtype=bool)
                scored[:, BOUNDARY, BOUNDARY] = False
                table = self.table
                surrogates = table[0xD800:0xE000]
                self._fast = {
                    "lower_table": table[lower_map()],
                    "lp": lp.reshape(-1),
                    "lp_marks_scored": bool(np.all(lp[scored] != 0)),
                    "dtype": np.uint16 if K**3 <= 0x10000 else np.uint32,
                    # every OTHER character is improbable too (log(1e-4) < bad_logp), so the
                    # rare-event positions (improbable or unscored) include all OTHER ones
                    "other_is_bad": bool(np.all(lp[:, :, OTHER] < self.bad_logp)),
                    # str.lower() picks final or medial sigma by context; same class: no matter
                    "sigma_ok": bool(table[ord("ς")] == table[ord("σ")]),
                    "surrogates_ok": bool(np.all(surrogates == surrogates[0])),
                }
        return self._fast or None

    def lower_is_exact(self, text: str) -> bool:
        """Whether ``lower_table[code]`` gives, for every code unit of ``text``, the class that
        ``table`` gives for the same position of ``text.lower()``."""
        fast = self.fast_tables()
        return (
            fast is not None
            and fast["surrogates_ok"]
            and LENGTH_CHANGING_LOWER not in text
            and (fast["sigma_ok"] or "Σ" not in text)
        )

    def code_stats(
        self, raw: np.ndarray, starts: np.ndarray, lower: bool, classes: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """:meth:`page_stats` of the UTF-16 code units ``raw`` (pages starting at ``starts``).

        ``lower``: look the codes up as if the text were lower-cased (the caller checked
        :meth:`lower_is_exact`). ``classes``: the caller looked them up already (uint16, two
        ``BOUNDARY`` in front, then ``lower_table[raw]`` or ``table[raw]``). Same numbers as the
        original per-character expressions: the log-probability of each scored character is the
        same float32 and the per-page sums are the same ``np.add.reduceat`` calls, in the same order.
        """
        fast = self.fast_tables()
        if fast is None:
            raise ValueError("code_stats needs a trigram model (order 3)")
        K, dt = self.K, fast["dtype"]
        n = len(raw)
        # classes with two boundaries in front (the padding of _ngram_index); every pass below
        # writes into a reused scratch array (see _Scratch)
        if classes is not None:
            c = classes
        else:
            c = SCRATCH.array("classes", n + 2, np.uint16)
            c[:2] = BOUNDARY
            np.take(fast["lower_table"] if lower else self.table, raw, out=c[2:], mode="clip")  # in range
        # trigram index (c[i-2] * K + c[i-1]) * K + c[i], via the bigram index, in place
        idx = SCRATCH.array("index", n + 1, dt)
        np.multiply(c[:-1], K, out=idx, dtype=dt)
        idx += c[1:]
        idx = idx[:-1]
        idx *= K
        idx += c[2:]
        lp = np.take(fast["lp"], idx, out=SCRATCH.array("logp", n, np.float32), mode="clip")
        # lp is 0 where a character is not scored (boundary after boundary)
        logp = page_sums(lp, starts)
        rare = SCRATCH.array("mask", n, bool)
        if not (fast["lp_marks_scored"] and fast["other_is_bad"]):  # an unusual user model
            scored = np.not_equal(c[1:-1], BOUNDARY, out=rare)
            scored |= c[2:] != BOUNDARY
            return {
                "n": page_sums(scored, starts),
                "logp": logp,
                "bad": page_sums(lp < self.bad_logp, starts),
                "other": page_sums(c[2:] == OTHER, starts),
            }
        # unscored (lp == 0), improbable and OTHER characters are a few per cent of a book:
        # count them per page from their positions (n = page length - unscored)
        np.less(lp, self.bad_logp, out=rare)  # float32 compare, as `lp < self.bad_logp`
        rare |= np.equal(lp, 0, out=SCRATCH.array("mask2", n, bool))
        pos = np.flatnonzero(rare)
        lp_rare = lp[pos]
        flags = np.column_stack((lp_rare == 0, lp_rare < self.bad_logp, c[pos + 2] == OTHER))
        unscored, bad, other = sparse_page_sums(pos, flags, starts).T
        return {"n": page_lengths(starts, n) - unscored, "logp": logp, "bad": bad, "other": other}

    def page_stats(
        self, text: str, n_pages: int | None = None, lowered: bool = False
    ) -> dict[str, np.ndarray]:
        """Per-page arrays for a book whose pages are joined by ``\\f``.

        Returns ``n`` (scored characters), ``logp`` (sum of log-probabilities), ``bad`` (characters
        under ``bad_logp``) and ``other`` (symbol / foreign characters). A character is scored
        when it is not a boundary, or when it is the boundary that ends a word (so a word that
        stops where the language never stops costs too); runs of boundaries count once.
        ``lowered``: the caller lower-cased ``text`` already.
        """
        lower = not lowered and self.lower_is_exact(text)
        if not lowered and not lower:
            text = text.lower()
        raw = utf16_codes(text)
        starts = page_starts(raw)
        if n_pages is not None and len(starts) != n_pages:
            raise ValueError(f"{len(starts)} pages found, {n_pages} expected")
        if len(raw) == 0:
            z = np.zeros(len(starts))
            return {"n": z, "logp": z.copy(), "bad": z.copy(), "other": z.copy()}
        if self.fast_tables() is not None:
            return self.code_stats(raw, starts, lower=lower)
        return self.reference_stats(raw, starts)

    def reference_stats(self, raw: np.ndarray, starts: np.ndarray) -> dict[str, np.ndarray]:
        """:meth:`page_stats` of lower-cased code units by the plain per-character expressions:
        any n-gram order (models of another order than 3 have no :meth:`fast_tables`)."""
        c = self.table[raw].astype(np.int32)
        lp = self.logp[self._ngram_index(c)]
        isb = c == BOUNDARY
        scored = ~isb
        scored[1:] |= ~isb[:-1]
        lp = np.where(scored, lp, np.float32(0.0))
        return {
            "n": page_sums(scored, starts),
            "logp": page_sums(lp, starts),
            "bad": page_sums(lp < self.bad_logp, starts),
            "other": page_sums(c == OTHER, starts),
        }


STRIP_ACCENTS = ("el", "grc")
MODEL_VERSION = 1  # bump when training changes: cached models of another version are rebuilt


def cache_dir() -> Path | None:
    """Where built models are kept: ``$FINEBOOKS_CACHE/charlm`` or ``~/.cache/finebooks/charlm``."""
    from finebooks.cache import cache_dir as finebooks_cache_dir

    return finebooks_cache_dir("charlm")


def build_model(lang: str, order: int = 3) -> CharTrigramModel | None:
    """Train the model of ``lang`` from its wordfreq list (or fallback union); ``None`` if none."""
    codes = lexicon_codes(lang)
    if not codes:
        return None
    words = [(frequency_dict(code), 1.0 / len(codes)) for code in codes]
    return CharTrigramModel(lang, words, strip_accents=lang in STRIP_ACCENTS, order=order)


def _cache_path(lang: str, order: int) -> Path | None:
    from importlib.metadata import version

    d = cache_dir()
    codes = "+".join(lexicon_codes(lang)) or "none"
    return (
        None
        if d is None
        else d / f"{lang}-{codes}-o{order}-v{MODEL_VERSION}-wordfreq{version('wordfreq')}.npz"
    )


def load_or_build(lang: str, order: int = 3, use_cache: bool = True) -> CharTrigramModel | None:
    """The model of ``lang`` from the cache dir, or trained now (and cached when writable)."""
    path = _cache_path(lang, order) if use_cache else None
    if path is not None and path.is_file():
        try:
            return CharTrigramModel.load(path)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:  # corrupt or foreign: rebuild
            import logging

            logging.getLogger(__name__).warning("rebuilding character model %s: %s", path, err)
    model = build_model(lang, order)
    if model is not None and path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            model.save(tmp)
            os.replace(tmp, path)
        except OSError:
            pass  # read-only home: keep the model in memory only
    return model


def get_model(lang: str) -> CharTrigramModel | None:
    """The per-process model of ``lang`` (from the cache dir or built on first use)."""
    if lang not in _MODELS:
        model = load_or_build(lang)
        with _LOCK:
            _MODELS[lang] = model
    return _MODELS[lang]


# ---------------------------------------------------------------------------------- user models
_WORD_RE = None
USER_MODEL_VERSION = 1
USER_BAD_P = 0.0005  # see train_user_model
TEXT_SUFFIXES = (".txt",)


def text_word_counts(texts) -> dict[str, int]:
    """``{word: count}`` of the letter runs of ``texts`` (NFC, lower-cased, accents kept).

    Words are maximal runs of letters (combining marks stay with their letter); digits,
    punctuation and whitespace separate them, as they do in the model (which forgets its context
    at a word boundary, so counting words loses nothing a trigram model over running text keeps).
    """
    import re
    from collections import Counter

    global _WORD_RE
    if _WORD_RE is None:
        _WORD_RE = re.compile(r"[^\W\d_]+")
    counts: Counter = Counter()
    for text in texts:
        counts.update(_WORD_RE.findall(unicodedata.normalize("NFC", text).lower()))
    return dict(counts)


def read_text_folder(folder, suffixes: tuple[str, ...] = TEXT_SUFFIXES) -> tuple[list[str], list[Path]]:
    """The texts of every file under ``folder`` (recursively) whose name ends in ``suffixes``."""
    folder = Path(folder)
    if folder.is_file():
        files = [folder]
    elif folder.is_dir():
        files = sorted(f for f in folder.rglob("*") if f.is_file() and f.name.endswith(suffixes))
    else:
        raise FileNotFoundError(f"no such file or folder: {folder}")
    if not files:
        raise ValueError(f"no {'/'.join(suffixes)} files under {folder}")
    return [f.read_text(encoding="utf-8", errors="replace") for f in files], files


def train_user_model(
    lang: str,
    texts,
    wordfreq_share: float = 0.5,
    wordfreq_lang: str | None = None,
    strip_accents: bool = False,
    max_letters: int = 100,
    bad_p: float = USER_BAD_P,
) -> CharTrigramModel:
    """A character model of ``lang`` trained on the user's own clean ``texts`` (accents kept).

    Why: historic spelling and scripts (polytonic Greek, 1700s Spanish accentuation) are not in
    the modern ``wordfreq`` lists, so the default model cannot see errors in them. A few pages of
    clean transcription are too little to estimate a trigram model alone (measured on Zonaras:
    worse than the wordfreq model), so by default the user's word counts are mixed with the
    wordfreq list of the language (``wordfreq_share`` of the training mass; ``wordfreq_lang``:
    the wordfreq language, default ``lang`` or its :data:`FALLBACK_LEXICONS`, e.g. grc -> el).
    ``wordfreq_share=0`` trains on the user's text alone. Long s is folded to s as elsewhere.
    ``bad_p``: probability under which a character counts as improbable (the ``bad`` feature);
    lower than the wordfreq models' 0.002 because a model of a small text with many accented
    letters gives valid but rare letter sequences low probabilities (measured: 0.0005 ranked the
    held-out pages better than 0.002 on an inner split of the training half, docs/ocr_quality.md).
    """
    if not 0.0 < bad_p < 1.0:
        raise ValueError("bad_p must be in (0, 1)")
    if not 0.0 <= wordfreq_share < 1.0:
        raise ValueError("wordfreq_share must be in [0, 1)")
    counts = text_word_counts(texts)
    total = float(sum(counts.values()))
    if total == 0:
        raise ValueError("the training text has no words")
    words: list[tuple[dict[str, float], float]] = [(counts, (1.0 - wordfreq_share) / total)]
    if wordfreq_share > 0:
        codes = (wordfreq_lang,) if wordfreq_lang else lexicon_codes(lang)
        if not codes:
            raise ValueError(f"no wordfreq list for {lang!r}: pass wordfreq_lang or wordfreq_share=0")
        for code in codes:
            freq = frequency_dict(code)
            words.append((freq, wordfreq_share / len(codes) / max(sum(freq.values()), 1e-300)))
    model = CharTrigramModel(
        lang, words, strip_accents=strip_accents, max_letters=max_letters, bad_logp=math.log(bad_p)
    )
    model.source = {
        "kind": "user",
        "version": USER_MODEL_VERSION,
        "tokens": int(total),
        "types": len(counts),
        "wordfreq_share": wordfreq_share,
        "bad_p": bad_p,
        "wordfreq": list(codes) if wordfreq_share > 0 else [],
    }
    return model


_USER_MODELS: dict[str, CharTrigramModel] = {}


def load_user_model(path) -> CharTrigramModel:
    """A model file written by ``train`` (cached per process by its resolved path)."""
    key = str(Path(path).resolve())
    if key not in _USER_MODELS:
        if not Path(key).is_file():
            raise FileNotFoundError(
                f"character model {path} not found (train one: python -m finebooks.scoring.charlm "
                "train --lang LANG --text DIR --out PATH)"
            )
        model = CharTrigramModel.load(key)
        with _LOCK:
            _USER_MODELS[key] = model
    return _USER_MODELS[key]


def train_main(argv: list[str] | None = None) -> int:
    """``python -m finebooks.scoring.charlm train --lang L --text DIR --out PATH``."""
    import argparse

    ap = argparse.ArgumentParser(
        prog="python -m finebooks.scoring.charlm train",
        description="Train a character model of the OCR quality scorer on your own clean text "
        "(accents kept). Use it with score_ocr_quality's user_models: {LANG: PATH}.",
    )
    add_train_arguments(ap)
    return run_train(ap.parse_args(argv))


def add_train_arguments(ap) -> None:
    ap.add_argument("--lang", required=True, help="language the model stands for (e.g. el, grc, es)")
    ap.add_argument(
        "--text", required=True, help="a folder of clean UTF-8 .txt files (searched recursively) or one file"
    )
    ap.add_argument("--out", required=True, help="model file to write (.npz)")
    ap.add_argument(
        "--wordfreq-share",
        type=float,
        default=0.5,
        help="share of the training mass taken from the wordfreq list of the language (default 0.5; 0: your text only)",
    )
    ap.add_argument(
        "--wordfreq-lang", default=None, help="wordfreq language to mix in (default: --lang or its fallback)"
    )
    ap.add_argument(
        "--strip-accents", action="store_true", help="drop accents and breathings (default: keep them)"
    )
    ap.add_argument(
        "--bad-p",
        type=float,
        default=USER_BAD_P,
        help=f"probability under which a character counts as improbable (default {USER_BAD_P})",
    )


def run_train(args) -> int:
    import time

    t = time.time()
    texts, files = read_text_folder(args.text)
    print(f"read {len(files)} files ({sum(map(len, texts)):,} characters) from {args.text}", flush=True)
    model = train_user_model(
        args.lang,
        texts,
        args.wordfreq_share,
        args.wordfreq_lang,
        strip_accents=args.strip_accents,
        bad_p=args.bad_p,
    )
    out = Path(args.out)
    if not out.name.endswith(".npz"):  # numpy would append it silently
        out = out.with_name(out.name + ".npz")
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    print(
        f"{args.lang}: {model.source['tokens']:,} words ({model.source['types']:,} distinct), "
        f"{len(model.letters)} letters, wordfreq share {args.wordfreq_share} {model.source['wordfreq']}, "
        f"self log-prob {model.self_logp:.3f} -> {out} ({time.time() - t:.1f}s)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m finebooks.scoring.charlm [LANG ...]``: build (and cache) the models now;
    ``python -m finebooks.scoring.charlm train ...``: train a model on your own text."""
    import argparse
    import sys
    import time

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "train":
        return train_main(argv[1:])
    ap = argparse.ArgumentParser(description="Build the character trigram models of the OCR quality scorer.")
    ap.add_argument("languages", nargs="*", default=["en", "fr", "de", "nl", "it", "es", "pt", "la", "el"])
    ap.add_argument("--rebuild", action="store_true", help="ignore cached models")
    args = ap.parse_args(argv)
    for lang in args.languages:
        t = time.time()
        if args.rebuild and (path := _cache_path(lang, 3)) is not None and path.is_file():
            path.unlink()
        model = load_or_build(lang)
        if model is None:
            print(f"{lang}: no wordfreq list and no fallback - no model")
        else:
            print(
                f"{lang}: {len(model.letters)} letters, self log-prob {model.self_logp:.3f} ({time.time() - t:.1f}s)"
            )
    print(f"cache: {cache_dir()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
