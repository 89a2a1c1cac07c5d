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
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

_SPACE = re.compile(r"\s+")


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

    def __getstate__(self):  # the model is loaded lazily in each worker, never pickled
        state = self.__dict__.copy()
        state["_identifier"] = None
        return state

    @property
    def identifier(self):
        if self._identifier is None:
            from py3langid import langid

            ident = langid.LanguageIdentifier.from_modelpath(langid.MODEL_DIR / langid.MODEL_FILE, norm_probs=True)
            if self.languages:
                ident.set_languages(self.languages)
            self._identifier = ident
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
            piece = _SPACE.sub(" ", piece).strip()
            if len(piece) >= self.min_chunk_chars:
                out.append(piece)
        return out

    def classify(self, text: str) -> tuple[str, float]:
        """Language and confidence of one piece of text."""
        lang, prob = self.identifier.classify(text)
        return lang, float(prob)

    def score(self, doc: Document) -> None:
        chunks = self.chunks(doc.text)
        weights: dict[str, float] = {}
        for chunk in chunks:
            lang, _ = self.classify(chunk)
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
