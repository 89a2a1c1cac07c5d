"""The training stream of one (arm, seed): chunks of an arm's books up to the token budget.

Books are cut into chunks of ``chunk_tokens`` (contiguous spans of one book). The seed draws the
chunks:

* ``bootstrap`` (default) — chunks drawn with replacement until the budget is reached. Seeds
  then measure how much the result depends on *which* text of the arm a model saw, which is the
  noise a curation decision must beat, and they do so for a deterministic learner (an n-gram
  model) as well as for a network;
* ``epochs`` — shuffled passes over all chunks, repeated while the budget is not reached.

Either way, a corpus smaller than the budget is repeated, and :class:`Stream` says by how much.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Stream:
    chunks: list[np.ndarray]
    tokens: int
    corpus_tokens: int

    @property
    def repeat_factor(self) -> float:
        return self.tokens / self.corpus_tokens if self.corpus_tokens else float("inf")

    def note(self) -> str:
        if self.repeat_factor > 1:
            return (f"corpus of {self.corpus_tokens:,} tokens < budget of {self.tokens:,}: "
                    f"REPEATED {self.repeat_factor:.2f}x")
        return f"{self.tokens:,} tokens = {self.repeat_factor:.0%} of the corpus"


def make_chunks(books: list[np.ndarray], chunk_tokens: int) -> list[np.ndarray]:
    out = []
    for b in books:
        for s in range(0, len(b), chunk_tokens):
            piece = b[s: s + chunk_tokens]
            if len(piece) >= 2:
                out.append(piece)
    return out


def sample_stream(books: list[np.ndarray], budget: int, chunk_tokens: int, seed: int, bos_id: int,
                  mode: str = "bootstrap") -> Stream:
    """Chunks (each with ``bos_id`` in front) adding up to exactly ``budget`` tokens (BOS not counted)."""
    chunks = make_chunks(books, chunk_tokens)
    corpus = int(sum(len(c) for c in chunks))
    if not chunks:
        raise ValueError("the arm's corpus is empty: no book passed its stages")
    rng = np.random.default_rng(seed)
    picked, total = [], 0
    order: list[int] = []
    while total < budget:
        if mode == "bootstrap":
            i = int(rng.integers(len(chunks)))
        else:
            if not order:
                order = list(rng.permutation(len(chunks)))
            i = order.pop()
        c = chunks[i][: budget - total]
        picked.append(np.concatenate([[bos_id], c]).astype(np.int64))
        total += len(c)
    return Stream(picked, total, corpus)
