"""Recipe stage: score each book with a trained quality classifier, chunk by chunk, in batches.

A book is cut into chunks the way the model was trained (the model card's ``chunk_chars`` and
``min_chars``; up to ``max_chunks`` evenly spaced chunks per book, so cost per book is bounded),
chunks of several books are scored together in batches of ``batch_size`` (one model call per
batch), and each book gets annotations - never dropped here; drop with ``metadata_filter``:

* ``metadata["quality_score"]``: the mean chunk score (probability of the good class, or the
  expected/regressed score for a score model); ``None`` for a book with no text;
* ``metadata["quality_score_p10"]``, ``..._p50``, ``..._p90``: chunk-score quantiles (``p10``
  catches a book whose good pages hide bad ones);
* ``metadata["quality_chunks"]``: chunks scored; ``metadata["quality_model"]``: the model file
  name, which carries its content hash (what scored this book, for audits and resumed runs).

``key`` renames all of these (``edu_score``, ``edu_score_p10``, ...), so two classifiers can
annotate the same books.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep


class QualityClassifierScorer(PipelineStep):
    """Score books with a trained quality classifier (fastText or scikit-learn) into metadata.

    Args:
        model: a model file written by ``finebooks classifier train`` (``quality-<hash>.bin`` or
            ``.joblib``) or its folder (the model its ``LATEST`` names, resolved when the stage is
            built so that every worker uses the same file).
        key: metadata key of the book score; quantiles and counts use it as a prefix.
        max_chunks: chunks scored per book (evenly spaced); ``None``: the model card's value,
            ``0``: every chunk.
        batch_size: chunks per model call; chunks of several books are batched together.
        quantiles: chunk-score quantiles to write, in percent (``[10, 50, 90]``).
        verify: check the model file's SHA-256 against its name when loading.
    """

    type = "📊 - SCORER"
    name = "🧪 Quality classifier"

    def __init__(
        self,
        model: str,
        key: str = "quality_score",
        max_chunks: int | None = None,
        batch_size: int = 512,
        quantiles: Sequence[int] = (10, 50, 90),
        verify: bool = True,
    ):
        super().__init__()
        from finebooks.classifier.model import resolve_model_path

        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        if any(not 0 <= q <= 100 for q in quantiles):
            raise ValueError(f"quantiles are percentages between 0 and 100, not {list(quantiles)}")
        # resolve a folder's LATEST now: a retrain during a run must not change the model mid-way
        self.model_path = str(resolve_model_path(model))
        self.key = key
        self.max_chunks = max_chunks
        self.batch_size = batch_size
        self.quantiles = list(quantiles)
        self.verify = verify
        self._model = None

    def __getstate__(self):  # the model is loaded lazily in each worker, never pickled
        state = self.__dict__.copy()
        state["_model"] = None
        return state

    @property
    def model(self):
        if self._model is None:
            from finebooks.classifier.model import load_model

            self._model = load_model(self.model_path, verify=self.verify)
        return self._model

    def _annotate(self, doc: Document, scores: np.ndarray) -> None:
        meta = doc.metadata
        k = self.key
        prefix = k.removesuffix("_score")  # quality_score -> quality_model, quality_chunks
        meta[f"{prefix}_model"] = self.model.name
        meta[f"{prefix}_chunks"] = len(scores)
        if len(scores) == 0:
            meta[k] = None
            for q in self.quantiles:
                meta[f"{k}_p{q}"] = None
            self.stat_update("no_text")
            return
        meta[k] = round(float(scores.mean()), 5)
        for q, v in zip(self.quantiles, np.percentile(scores, self.quantiles)):
            meta[f"{k}_p{q}"] = round(float(v), 5)
        self.stat_update("chunks", value=len(scores))

    def _flush(self, pending: list[tuple[Document, list[str]]]):
        texts = [c for _, chunks in pending for c in chunks]
        with self.track_time(unit="batch"):
            scores = self.model.score(texts) if texts else np.zeros(0)
        pos = 0
        for doc, chunks in pending:
            self._annotate(doc, scores[pos:pos + len(chunks)])
            pos += len(chunks)
            self.stat_update("books")
            yield doc

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        pending: list[tuple[Document, list[str]]] = []
        n_chunks = 0
        for doc in data:
            chunks = self.model.chunks(doc.text, self.max_chunks) if doc.text.strip() else []
            pending.append((doc, chunks))
            n_chunks += len(chunks)
            if n_chunks >= self.batch_size:
                yield from self._flush(pending)
                pending, n_chunks = [], 0
        if pending:
            yield from self._flush(pending)


__all__ = ["QualityClassifierScorer"]
