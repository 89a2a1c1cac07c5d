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

Speed: py3langid walks its byte n-gram automaton one byte at a time in Python and scores one
text per call. Here all chunks of a book go through one vectorised pass (:class:`_FastNaiveBayes`):
the walk is a few numpy gathers over all bytes (on the automaton's shared transition rows, with
1- and 2-byte lookup tables and a fixpoint over growing windows), the per-chunk feature counts
are one hash pass, and the softmax is row-wise. Features, their order and the arithmetic are
py3langid's own, so the result is the same language and probability, bit for bit (checked in
``tests/scoring/test_language_fast.py`` and ``tests/scoring/test_fast_paths.py``). On raw OCR books
(trove) the chunk classification is ~8x faster than py3langid's own ``classify``, and the stage
~2x faster than the previous vectorised walk. The lookup tables cost ~60 MB and ~0.06 s, once
per process and language set.
"""

from __future__ import annotations

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
        from finebooks.scoring.langid_model import load_identifier

        # py3langid's own model, decompressed once per machine into the FineBooks cache (0.6 s -> 0.1 s)
        ident = load_identifier(norm_probs=True)
        if languages:
            ident.set_languages(list(languages))
        _IDENTIFIERS[languages] = (ident, _FastNaiveBayes.wrap(ident))
    return _IDENTIFIERS[languages]


class _FastNaiveBayes:
    """py3langid's ``classify`` over many texts at once, vectorised with numpy (same result, faster).

    py3langid scores a text by walking a deterministic automaton (Aho-Corasick over byte
    n-grams) byte by byte, counting the feature each visited state emits, and taking
    ``log1p(counts) @ nb_ptc[features] + nb_pc`` (features in first-seen order) followed by a
    softmax. Here, for all texts of a call together:

    * **The walk.** The state after byte ``i`` is the longest suffix of the text read so far that
      is a prefix of some n-gram, so it depends only on the last few bytes. The next state depends
      only on the current state's transition *row* (py3langid shares one 256-entry row between
      states with equal transitions), so the walk is run on rows: with ``next_row[row * 256 +
      byte]`` (built once), pass ``k`` gives every position the row reached from the start state
      over the window of its last ``k`` bytes, one array gather for all positions at once. Windows
      of 1 and 2 bytes come from small precomputed tables (256 and 65536 entries); the passes stop
      at the fixpoint (a pass that changes nothing), which is reached at the latest when ``k`` is
      the longest n-gram, where the window's row is the true row. The feature emitted after each
      byte is then one gather from the previous byte's row (``next_feature[row * 256 + byte]``,
      built once). Each text restarts from the start state. Cost: ~5 gathers per byte.
    * **The counts.** One hash pass (``pandas.factorize``) over ``(text, feature)`` keys gives the
      distinct features of every text in first-seen order, as py3langid's ``Counter`` has them,
      and their counts.
    * **The scores.** ``log1p`` and the ``nb_ptc`` rows are taken for all texts at once; the
      product stays one BLAS ``gemv`` per text on the same operands (so the float32 summation
      order, hence every bit of the result, is py3langid's); the softmax and the decision are
      row-wise numpy over all texts (element-wise operations and per-row reductions that give the
      same bits as py3langid's per-text calls; ``tests/scoring/test_language_fast.py``).
    """

    def __init__(self, ident, nextmove: np.ndarray, row_of_state: np.ndarray, output: np.ndarray):
        self.ident = ident
        self.nextmove = nextmove  # row * 256 + byte -> next state
        self.output = output  # state -> feature it emits (-1: none)
        self.n_features = int(output.max()) + 1
        self.n_classes = len(ident.nb_classes)
        # row * 256 + byte -> row of the next state (uint16 for py3langid's ~38k rows: 20 MB)
        self.next_row = row_of_state[nextmove]
        root = int(row_of_state[0]) << 8
        byte = np.arange(256, dtype=np.intp)
        self.row1 = self.next_row[root + byte]  # byte -> row after reading it from the start state
        # (b1 << 8 | b2) -> row after reading b1 b2 from the start state
        self.row2 = self.next_row[((self.row1.astype(np.intp) << 8)[:, None] + byte).ravel()]
        self.feat1 = output[nextmove[root + byte]]  # byte -> feature of a text's first byte
        # row * 256 + byte -> feature emitted by the next state (int32, 39 MB): one gather per byte
        self.next_feature = output[nextmove]
        # nb_ptc widened to float32 (exact; matmul widens the float16 rows the same way), row-major,
        # each row one item: a row gather is then one fast np.take (set_languages leaves a
        # column-major float16 array, whose row gathers and widening cost ~20x more). 3 MB for 8
        # languages, 39 MB for all 97.
        self.ptc32 = np.ascontiguousarray(ident.nb_ptc, dtype=np.float32)
        self.ptc_rows = self.ptc32.view(np.dtype((np.void, self.n_classes * 4))).ravel()
        # log1p of small float32 counts, computed by the same numpy function py3langid calls
        self.log1p_counts = np.log1p(np.arange(4096, dtype=np.float32))

    @classmethod
    def wrap(cls, ident) -> _FastNaiveBayes | None:
        """The fast path for a py3langid identifier, or ``None`` if its internals are unknown."""
        try:
            nextmove = np.frombuffer(ident.tk_nextmove, dtype=np.dtype(ident.tk_nextmove.typecode))
            row_of_state = np.frombuffer(ident.tk_row, dtype=np.dtype(ident.tk_row.typecode))
            output = np.asarray(ident.tk_output, dtype=np.int32)
            for attr in ("nb_ptc", "nb_pc", "nb_classes", "_alias_pairs", "_norm_probs", "min_confidence"):
                getattr(ident, attr)
        except (AttributeError, TypeError, ValueError):
            return None  # another py3langid version: use its own classify
        if output.ndim != 1 or row_of_state.shape != output.shape or not output.size:
            return None
        if len(nextmove) != (int(row_of_state.max()) + 1) * 256 or int(nextmove.max()) >= len(output):
            return None
        # the bit-exact score path assumes py3langid's float16 / float32 model arrays
        if ident.nb_ptc.dtype not in (np.float16, np.float32) or ident.nb_pc.dtype != np.float32:
            return None
        return cls(ident, nextmove, row_of_state, output)

    @staticmethod
    def encode(text: str) -> bytes:
        """py3langid's text encoding: lower-case an all-caps text, NFC, UTF-8."""
        if text.isupper():
            text = text.lower()
        return unicodedata.normalize("NFC", text).encode("utf8", errors="surrogatepass")

    def features(self, data: bytes, starts: np.ndarray) -> np.ndarray:
        """Feature emitted after each byte of ``data`` (-1: none), the walk restarting from the
        start state at byte 0 and at each of ``starts``."""
        n = len(data)
        feats = np.empty(n, dtype=np.int32)
        if not n:
            return feats
        b = np.frombuffer(data, dtype=np.uint8)
        starts = np.union1d(starts, [0]).astype(np.intp)
        later = starts[1:]  # text starts after byte 0: their predecessor is another text's byte
        # row[i]: the row reached from the start state over the window of the last k bytes up to
        # byte i (never reaching back before its text's start), for k = 2, 3, ...
        # (np.take: mode="clip" skips the buffered copy that mode="raise" makes for out=; every
        # index is in range by construction: pairs < 65536, row * 256 + byte < len(next_row))
        row = np.empty(n, dtype=self.row1.dtype)
        if n > 1:  # k = 2: the byte pairs (b[i - 1] << 8 | b[i]) read as big-endian uint16 in place
            pairs = np.ndarray(shape=(n - 1,), dtype=">u2", buffer=data, strides=(1,))
            np.take(self.row2, pairs, out=row[1:], mode="clip")
        row[starts] = self.row1[b[starts]]  # a text's first byte: its window is that byte alone
        idx = np.empty(n - 1, dtype=np.intp)  # idx[i - 1]: transition of byte i from row[i - 1]
        new = np.empty(n - 1, dtype=row.dtype)
        while True:  # k -> k + 1, until a pass changes nothing: then every row is the true one
            np.left_shift(row[:-1], 8, out=idx, dtype=np.intp)
            idx |= b[1:]
            np.take(self.next_row, idx, out=new, mode="clip")
            new[later - 1] = row[later]
            if np.array_equal(new, row[1:]):
                break
            row[1:] = new
        # the state after byte i is the transition from the true row at i - 1 (idx is up to date)
        np.take(self.next_feature, idx, out=feats[1:], mode="clip")
        feats[starts] = self.feat1[b[starts]]
        return feats

    def _counts(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distinct keys in first-seen order and their counts (py3langid's ``Counter``)."""
        factorize = _factorize()
        if factorize is not None:
            codes, uniq = factorize(keys)
            return uniq, np.bincount(codes)
        uniq, first_seen, counts = np.unique(keys, return_index=True, return_counts=True)
        order = np.argsort(first_seen, kind="stable")
        return uniq[order], counts[order]

    def raw_scores(self, encoded: Sequence[bytes]) -> np.ndarray:
        """py3langid's ``_raw_score`` of each encoded text, one row per text (float32)."""
        ident = self.ident
        n = len(encoded)
        sizes = np.fromiter(map(len, encoded), dtype=np.int64, count=n)
        raw = np.empty((n, self.n_classes), dtype=np.float32)
        # no features: 0.0 under norm_probs (uniform: abstain), the floor otherwise
        from py3langid.langid import RAW_FLOOR

        raw[:] = 0.0 if ident._norm_probs else RAW_FLOOR
        if not sizes.sum():
            return raw
        starts = (np.cumsum(sizes) - sizes)[sizes > 0]
        feats = self.features(b"".join(encoded), starts)
        # one key per (text, feature); positions without a feature (-1) get text * width, dropped
        # below. Keys come in text order, so first-seen order within a text is kept.
        width = self.n_features + 1
        key_type = np.int32 if n * width < 2**31 else np.int64  # int32 hashes ~10% faster
        keys = np.repeat(np.arange(n, dtype=key_type) * width + 1, sizes)
        keys += feats
        keys, counts = self._counts(keys)
        text_of, feat = np.divmod(keys, width)
        real = feat > 0
        text_of, feat, counts = text_of[real], feat[real] - 1, counts[real]
        bounds = np.searchsorted(text_of, np.arange(n + 1)).tolist()
        # py3langid: np.log1p(float32 counts) @ nb_ptc[features] + nb_pc. The float16 table rows
        # are widened to float32 as matmul does; each product is one gemv on equal operands.
        if counts.size and counts.max() < len(self.log1p_counts):
            weights = self.log1p_counts[counts]
        else:
            weights = np.log1p(counts.astype(np.float32))
        table = np.take(self.ptc_rows, feat).view(np.float32).reshape(len(feat), self.n_classes)
        for i in np.flatnonzero(np.diff(bounds)).tolist():
            lo, hi = bounds[i], bounds[i + 1]
            raw[i] = weights[lo:hi].copy() @ table[lo:hi]
        has = np.diff(bounds) > 0
        raw[has] += ident.nb_pc
        return raw

    def classify_many(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """``(language, probability)`` of each text, as py3langid's ``classify`` gives them."""
        if not len(texts):
            return []
        encoded = [self.encode(t) for t in texts]
        scores = self.raw_scores(encoded)
        ident = self.ident
        norm = ident._norm_probs
        if norm:  # py3langid's _decide, row-wise: softmax at temperature sqrt(bytes)
            sizes = np.fromiter(map(len, encoded), dtype=np.float64, count=len(encoded))
            scores *= (1.0 / np.sqrt(np.maximum(sizes, 1.0))).astype(np.float32)[:, None]
            scores -= scores.max(axis=1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=1, keepdims=True)
        from py3langid.langid import RAW_FLOOR

        for i, j in ident._alias_pairs:
            if norm:
                scores[:, i] += scores[:, j]
                scores[:, j] = 0.0
            else:
                scores[:, i] = np.maximum(scores[:, i], scores[:, j])
                scores[:, j] = RAW_FLOOR
        best = scores.argmax(axis=1)
        conf = scores[np.arange(len(best)), best].tolist()
        classes = ident.nb_classes
        floor = ident.min_confidence
        return [
            ("und", c) if floor is not None and c < floor else (classes[i], c)
            for i, c in zip(best.tolist(), conf)
        ]


def _factorize():
    """``pandas.factorize`` (hash-based, first-seen order; pandas comes with ``datasets``, a
    FineBooks dependency), imported on first use; ``None`` without pandas (numpy fallback)."""
    try:
        from pandas import factorize
    except ImportError:  # pragma: no cover - the numpy fallback sorts; same result
        return None
    return factorize
