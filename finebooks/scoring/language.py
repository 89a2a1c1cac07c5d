"""Offline language identification for whole books, with the language mix over chunks.

A book is too long to classify in one go and often mixes languages (a Latin preface, a French
appendix). This stage samples up to ``max_chunks`` evenly spaced chunks of about
``chunk_chars`` characters (cut at whitespace), classifies each with py3langid - whose model
ships inside the package, so nothing is downloaded - and writes:

* ``metadata["language"]``: the language with the largest share of sampled characters,
* ``metadata["language_score"]``: that share (0-1; low values mean a mixed or noisy book),
* ``metadata["languages"]``: ``{language: share}`` for every language seen, shares summing to 1.

A language declared by the source (catalogue metadata) is kept as
``metadata["language_declared"]`` when it differs. Cost is bounded per book (the sample), so
long books are as cheap as short ones.

Speed: py3langid walks its byte n-gram automaton one byte at a time in Python. Here the walk
is vectorised with numpy (:class:`_FastNaiveBayes`): the automaton's state after a byte depends
only on the last few bytes (at most the longest n-gram), so all states of a chunk are computed
by a handful of array gathers. Features, their order and the arithmetic are py3langid's own, so
the result is the same language and probability, bit for bit (checked in the tests); the stage
is ~3x faster on raw OCR books (``benchmarks/bench_suite.py``, ``docs/benchmarks.md``).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep


class LanguageScorer(PipelineStep):
    """Per-book language and language mix with py3langid (offline), as metadata annotations.

    Args:
        languages: restrict the model to these ISO 639-1 codes (e.g. ``[en, fr, de, nl, it, es,
            la]``); restricting to the collection's plausible languages removes confusions with
            rare languages. ``None``: all 97 of the model's languages.
        chunk_chars: characters per classified chunk.
        max_chunks: chunks sampled per book (evenly spaced over the book).
        min_chunk_chars: shorter chunks (after whitespace collapsing) are not classified.
        keep_declared: keep a source-declared ``metadata["language"]`` instead of the detected
            one (the detected one then goes to ``language_detected``).
    """

    type = "📊 - SCORER"
    name = "🌐 Language (py3langid)"

    def __init__(
        self,
        languages: Sequence[str] | None = None,
        chunk_chars: int = 2000,
        max_chunks: int = 24,
        min_chunk_chars: int = 200,
        keep_declared: bool = False,
    ):
        super().__init__()
        self.languages = list(languages) if languages else None
        self.chunk_chars = chunk_chars
        self.max_chunks = max_chunks
        self.min_chunk_chars = min_chunk_chars
        self.keep_declared = keep_declared
        self._identifier = None
        self._fast = None

    def __getstate__(self):  # the model is loaded lazily in each worker, never pickled
        state = self.__dict__.copy()
        state["_identifier"] = None
        state["_fast"] = None
        return state

    @property
    def identifier(self):
        if self._identifier is None:
            self._identifier, self._fast = _load_identifier(tuple(self.languages) if self.languages else None)
        return self._identifier

    def chunks(self, text: str) -> list[str]:
        """Evenly spaced chunks of about ``chunk_chars``, cut at whitespace."""
        n = len(text)
        size = self.chunk_chars
        if n <= size:
            starts = [0]
        else:
            k = min(self.max_chunks, max(1, n // size))
            step = (n - size) / max(k - 1, 1)
            starts = [int(i * step) for i in range(k)]
        out = []
        for s in starts:
            piece = text[s : s + size]
            if s > 0:  # start at a word boundary
                cut = piece.find(" ")
                piece = piece[cut + 1 :] if 0 <= cut < 50 else piece
            piece = " ".join(piece.split())  # = re.sub(r"\s+", " ", piece).strip(): same whitespace set
            if len(piece) >= self.min_chunk_chars:
                out.append(piece)
        return out

    def classify(self, text: str) -> tuple[str, float]:
        """Language and confidence of one piece of text."""
        return self.classify_many([text])[0]

    def classify_many(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """Language and confidence of each piece of text (one vectorised pass)."""
        ident = self.identifier
        if self._fast is not None:
            return self._fast.classify_many(texts)
        return [(lang, float(prob)) for lang, prob in map(ident.classify, texts)]

    def score(self, doc: Document) -> None:
        chunks = self.chunks(doc.text)
        weights: dict[str, float] = {}
        for chunk, (lang, _) in zip(chunks, self.classify_many(chunks)):
            weights[lang] = weights.get(lang, 0.0) + len(chunk)
        meta = doc.metadata
        if not weights:
            self.stat_update("too_short")
            meta["language_score"] = 0.0
            meta["languages"] = {}
            return
        total = sum(weights.values())
        mix = {lang: round(w / total, 4) for lang, w in sorted(weights.items(), key=lambda kv: -kv[1])}
        best = next(iter(mix))
        declared = meta.get("language")
        if declared and self.keep_declared:
            meta["language_detected"] = best
        else:
            if declared and declared != best:
                meta["language_declared"] = declared
            meta["language"] = best
        meta["language_score"] = mix[best]
        meta["languages"] = mix
        self.stat_update(f"lang_{best}")

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            with self.track_time():
                self.score(doc)
            self.stat_update("books")
            yield doc


# one model per process and language set: unpacking py3langid's model takes ~0.5 s, and a
# datatrove worker runs many tasks (and a recipe may hold several scorers)
_IDENTIFIERS: dict[tuple[str, ...] | None, tuple] = {}


def _load_identifier(languages: tuple[str, ...] | None):
    if languages not in _IDENTIFIERS:
        from py3langid import langid

        ident = langid.LanguageIdentifier.from_modelpath(langid.MODEL_DIR / langid.MODEL_FILE, norm_probs=True)
        if languages:
            ident.set_languages(list(languages))
        _IDENTIFIERS[languages] = (ident, _FastNaiveBayes.wrap(ident))
    return _IDENTIFIERS[languages]


class _FastNaiveBayes:
    """py3langid's ``classify`` with the byte-automaton walk vectorised (same result, faster).

    py3langid scores a text by walking a deterministic automaton (Aho-Corasick over byte
    n-grams) byte by byte and counting the feature each visited state emits. The state after
    byte ``i`` is the longest suffix of the text read so far that is a prefix of some n-gram, so
    it depends only on the last ``L`` bytes (``L`` = longest n-gram). Running the automaton from
    the start state over the windows ``text[i-k+1 : i+1]`` for ``k = 1, 2, ...`` (one array
    gather per ``k`` over all positions at once) reaches the true states when ``k = L``; we stop
    at the fixpoint (two successive passes agree), so ``L`` need not be known. All chunks of a
    book go through one walk (each restarts from the start state). The features are then counted
    in first-seen order, as py3langid's ``Counter`` does, and scored with py3langid's own
    expression, so the floating-point result is identical.
    """

    def __init__(self, ident, nextmove: np.ndarray, rowbase: np.ndarray, output: np.ndarray):
        self.ident = ident
        self.nextmove = nextmove
        self.rowbase = rowbase
        self.output = output
        self.n_features = int(output.max()) + 1

    @classmethod
    def wrap(cls, ident) -> _FastNaiveBayes | None:
        """The fast path for a py3langid identifier, or ``None`` if its internals are unknown."""
        try:
            nextmove = np.frombuffer(ident.tk_nextmove, dtype=np.dtype(ident.tk_nextmove.typecode))
            rowbase = np.asarray(ident.tk_row, dtype=np.int64) << 8
            output = np.asarray(ident.tk_output, dtype=np.int64)
            for attr in ("nb_ptc", "nb_pc", "nb_classes", "_alias_pairs", "_norm_probs", "min_confidence"):
                getattr(ident, attr)
        except (AttributeError, TypeError, ValueError):
            return None  # another py3langid version: use its own classify
        if output.ndim != 1 or rowbase.shape != output.shape or not output.size:
            return None
        return cls(ident, nextmove, rowbase, output)

    @staticmethod
    def encode(text: str) -> bytes:
        """py3langid's text encoding: lower-case an all-caps text, NFC, UTF-8."""
        if text.isupper():
            text = text.lower()
        return unicodedata.normalize("NFC", text).encode("utf8", errors="surrogatepass")

    def states(self, data: bytes, starts: np.ndarray | None = None) -> np.ndarray:
        """Automaton state after each byte of ``data``, walking from state 0 at each of ``starts``."""
        b = np.frombuffer(data, dtype=np.uint8).astype(np.int64)
        cur = self.nextmove[self.rowbase[0] + b]  # k = 1: each byte read from the start state
        cont = np.ones(len(b), dtype=bool)  # positions that continue the previous byte's walk
        cont[0] = False
        if starts is not None:
            cont[starts] = False
        active = np.flatnonzero(cont)
        # pass k recomputes only positions whose predecessor changed in pass k - 1: elsewhere the
        # window grew without changing the state, and it never will again
        while active.size:
            new = self.nextmove[self.rowbase[cur[active - 1]] + b[active]]
            changed = active[new != cur[active]]
            cur[changed] = new[new != cur[active]]
            nxt = changed + 1
            nxt = nxt[nxt < len(b)]
            active = nxt[cont[nxt]]
        return cur

    def _features(self, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distinct features in first-seen order and their counts (py3langid's ``Counter``)."""
        factorize = _factorize()
        if factorize is not None:
            codes, uniq = factorize(feats)
            return uniq, np.bincount(codes)
        uniq, first_seen, counts = np.unique(feats, return_index=True, return_counts=True)
        order = np.argsort(first_seen, kind="stable")
        return uniq[order], counts[order]

    def classify_many(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """``(language, probability)`` of each text, as py3langid's ``classify`` gives them."""
        encoded = [self.encode(t) for t in texts]
        sizes = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
        total = int(sizes.sum())
        if not total:
            return [self._decide(None, 0) for _ in encoded]
        ends = np.cumsum(sizes)
        starts = ends - sizes
        feats = self.output[self.states(b"".join(encoded), starts[sizes > 0])]
        # one key per (text, feature): first-seen order within a text is first-seen order overall
        owner = np.repeat(np.arange(len(encoded), dtype=np.int64), sizes)
        keep = feats >= 0
        keys, counts = self._features(owner[keep] * self.n_features + feats[keep])
        key_owner = keys // self.n_features
        bounds = np.searchsorted(key_owner, np.arange(len(encoded) + 1))  # keys are grouped by text
        out = []
        for i, size in enumerate(sizes.tolist()):
            lo, hi = bounds[i], bounds[i + 1]
            if hi > lo:
                idx = (keys[lo:hi] - i * self.n_features).astype(np.intp)
                raw = np.log1p(counts[lo:hi].astype(np.float32)) @ self.ident.nb_ptc[idx] + self.ident.nb_pc
                out.append(self._decide(raw, size))
            else:
                out.append(self._decide(None, size))
        return out

    def _decide(self, scores: np.ndarray | None, n_bytes: int) -> tuple[str, float]:
        """py3langid's ``_decide`` + ``classify`` after the raw naive-Bayes scores."""
        from py3langid.langid import RAW_FLOOR

        ident = self.ident
        norm = ident._norm_probs
        if scores is None:  # no features: uniform under norm_probs (abstain), the floor otherwise
            scores = np.full(len(ident.nb_classes), 0.0 if norm else RAW_FLOOR, dtype=np.float32)
        if norm:
            scores *= 1.0 / math.sqrt(n_bytes or 1)
            np.exp(scores - scores.max(), out=scores)
            scores /= scores.sum()
        for i, j in ident._alias_pairs:
            if norm:
                scores[i] += scores[j]
                scores[j] = 0.0
            else:
                scores[i] = max(scores[i], scores[j])
                scores[j] = RAW_FLOOR
        i = int(scores.argmax())
        conf = float(scores[i])
        if ident.min_confidence is not None and conf < ident.min_confidence:
            return "und", conf
        return ident.nb_classes[i], conf


def _factorize():
    """``pandas.factorize`` (hash-based, first-seen order; pandas comes with ``datasets``, a
    FineBooks dependency), imported on first use; ``None`` without pandas (numpy fallback)."""
    try:
        from pandas import factorize
    except ImportError:  # pragma: no cover - the numpy fallback sorts; same result
        return None
    return factorize
