"""Interpolated modified Kneser-Ney n-gram language model over token ids, in numpy.

The CPU proxy model of the ablation module. Training is counting: every n-gram of every order
is packed into one ``int64`` key (``bits`` bits per token, context in the high bits, the
predicted token in the low bits), counted with ``np.unique`` and kept as sorted arrays, so a
model over millions of tokens trains in seconds and a look-up is a ``np.searchsorted``.

Smoothing is interpolated Kneser-Ney with three discounts per order (Chen & Goodman's
"modified" KN)::

    P_k(w | h) = max(c(hw) - D(c(hw)), 0) / c(h)  +  gamma(h) * P_{k-1}(w | h')
    gamma(h)   = (D1 N1(h.) + D2 N2(h.) + D3 N3+(h.)) / c(h)

with raw counts at the highest order, continuation counts ``N1+(. hw)`` (the number of distinct
tokens seen before ``hw``) at lower orders, and a uniform distribution over the vocabulary below
the unigrams, so every token of the vocabulary has a probability and the probabilities of a
context sum to one (``tests/ablation/test_ngram.py`` checks it over the whole vocabulary). A
history never seen backs off entirely to the next lower order. n-grams never cross the boundary
of a training chunk: a chunk is a contiguous span of one book.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class _Order:
    """Counts of one order: sorted n-gram keys with their (continuation) counts, and per context
    (the key without its last token) the total count and the number of types seen 1, 2, 3+ times."""

    keys: np.ndarray
    counts: np.ndarray
    ctx: np.ndarray
    ctx_total: np.ndarray
    ctx_gamma_num: np.ndarray   # D1 N1(h.) + D2 N2(h.) + D3 N3+(h.)
    discounts: tuple[float, float, float]


def _discounts(counts: np.ndarray) -> tuple[float, float, float]:
    """Chen & Goodman's modified KN discounts from the count-of-counts n1..n4."""
    n = [int(np.count_nonzero(counts == i)) for i in (1, 2, 3, 4)]
    if n[0] == 0 or n[1] == 0:  # tiny or degenerate data: plain absolute discounting
        return 0.5, 0.75, 0.9
    y = n[0] / (n[0] + 2 * n[1])
    d1 = 1 - 2 * y * n[1] / n[0]
    d2 = 2 - 3 * y * n[2] / n[1] if n[1] else 1.0
    d3 = 3 - 4 * y * n[3] / n[2] if n[2] else 1.5
    # keep each discount in (0, c]: the formulas can leave that range on small or odd data
    return float(np.clip(d1, 0.05, 1.0)), float(np.clip(d2, 0.05, 2.0)), float(np.clip(d3, 0.05, 3.0))


def _unique_sorted(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unique values, counts, group index of each element) of an already sorted array."""
    if len(a) == 0:
        return a, np.zeros(0, np.int64), np.zeros(0, np.int64)
    start = np.empty(len(a), dtype=bool)
    start[0] = True
    np.not_equal(a[1:], a[:-1], out=start[1:])
    idx = np.flatnonzero(start)
    counts = np.diff(np.append(idx, len(a)))
    return a[idx], counts, np.cumsum(start) - 1


def _discount_of(counts: np.ndarray, d: tuple[float, float, float]) -> np.ndarray:
    out = np.zeros(counts.shape, dtype=np.float64)
    out[counts == 1] = d[0]
    out[counts == 2] = d[1]
    out[counts >= 3] = d[2]
    return out


class KneserNeyLM:
    """Interpolated modified Kneser-Ney language model of a given order over ``vocab_size`` ids.

    ``fit(chunks)`` counts; ``logprobs(sequences)`` returns the natural-log probability of every
    token of each sequence given the tokens before it in that sequence (the first token of a
    sequence is predicted from no history: the callers put a BOS token there and skip it).
    """

    name = "ngram"

    def __init__(self, vocab_size: int, order: int = 4):
        if order < 1:
            raise ValueError("order must be >= 1")
        self.vocab_size = int(vocab_size)
        self.order = int(order)
        self.bits = max(1, math.ceil(math.log2(max(2, self.vocab_size))))
        if self.bits * self.order > 63:
            raise ValueError(f"a {self.order}-gram over a vocabulary of {self.vocab_size} does not fit in 63 bits "
                             f"({self.bits} bits per token): lower the order or the vocabulary size")
        self.orders: list[_Order] = []
        self.n_train_tokens = 0

    # ------------------------------------------------------------------ keys
    def _keys(self, tokens: np.ndarray, pos: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """For k = 1..order: (key of the k-gram ending at each position, validity mask)."""
        b = np.int64(self.bits)
        out = []
        key = tokens.astype(np.int64)
        out.append((key, np.ones(len(tokens), dtype=bool)))
        for k in range(2, self.order + 1):
            prev = np.empty_like(key)
            prev[0] = 0
            prev[1:] = key[:-1]
            key = (prev << b) | tokens
            out.append((key, pos >= k - 1))
        return out

    @staticmethod
    def _flatten(chunks: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        chunks = [np.asarray(c, dtype=np.int64) for c in chunks if len(c)]
        if not chunks:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        tokens = np.concatenate(chunks)
        lens = np.array([len(c) for c in chunks])
        starts = np.repeat(np.cumsum(lens) - lens, lens)
        pos = np.arange(len(tokens)) - starts
        return tokens, pos

    # ------------------------------------------------------------------ training
    def fit(self, chunks: Sequence[np.ndarray]) -> KneserNeyLM:
        """Count all n-grams of the chunks (each a 1-d array of token ids; no n-gram crosses two)."""
        tokens, pos = self._flatten(chunks)
        if len(tokens) and (tokens.min() < 0 or tokens.max() >= self.vocab_size):
            raise ValueError(f"token ids must lie in [0, {self.vocab_size})")
        self.n_train_tokens = len(tokens)
        b = np.int64(self.bits)
        keys = self._keys(tokens, pos)
        uniq: list[np.ndarray] = []
        raw_counts: list[np.ndarray] = []
        for key, valid in keys:
            k = np.sort(key[valid])
            u, c, _ = _unique_sorted(k)
            uniq.append(u)
            raw_counts.append(c)
        self.orders = []
        for k in range(1, self.order + 1):
            if k == self.order:
                kkeys, kcounts = uniq[k - 1], raw_counts[k - 1]
            else:
                # continuation count: distinct left extensions of the k-gram among the (k+1)-grams
                mask = (np.int64(1) << (b * np.int64(k))) - 1
                suffixes = np.sort(uniq[k] & mask)
                kkeys, kcounts, _ = _unique_sorted(suffixes)
            kcounts = kcounts.astype(np.int64)
            d = _discounts(kcounts)
            if k == 1:
                ctx = np.zeros(1, dtype=np.int64)
                groups = np.zeros(len(kkeys), dtype=np.int64)
            else:
                ctx, _, groups = _unique_sorted(kkeys >> b)  # keys are sorted, so are their contexts
            n_ctx = len(ctx)
            total = np.bincount(groups, weights=kcounts, minlength=n_ctx)
            gamma_num = np.bincount(groups, weights=_discount_of(kcounts, d), minlength=n_ctx)
            self.orders.append(_Order(kkeys, kcounts.astype(np.float64), ctx, total, gamma_num, d))
        return self

    # ------------------------------------------------------------------ scoring
    def _probs(self, tokens: np.ndarray, pos: np.ndarray) -> np.ndarray:
        if not self.orders:
            raise RuntimeError("the model is not trained: call fit() first")
        b = np.int64(self.bits)
        keys = self._keys(tokens, pos)
        p = np.full(len(tokens), 1.0 / self.vocab_size)
        for k, (order, (key, valid)) in enumerate(zip(self.orders, keys), start=1):
            cnt = np.zeros(len(tokens))
            if len(order.keys):
                i = np.minimum(np.searchsorted(order.keys, key), len(order.keys) - 1)
                hit = order.keys[i] == key
                cnt[hit] = order.counts[i[hit]]
            if k == 1:
                total = order.ctx_total[0]
                if total <= 0:
                    continue
                disc = _discount_of(cnt, order.discounts)
                p = np.maximum(cnt - disc, 0) / total + order.ctx_gamma_num[0] / total * p
                continue
            ctx_key = key >> b
            ci = np.minimum(np.searchsorted(order.ctx, ctx_key), len(order.ctx) - 1)
            seen = valid & (order.ctx[ci] == ctx_key) if len(order.ctx) else np.zeros(len(tokens), bool)
            if not seen.any():
                continue
            total = order.ctx_total[ci[seen]]
            c = cnt[seen]
            disc = _discount_of(c, order.discounts)
            p[seen] = np.maximum(c - disc, 0) / total + order.ctx_gamma_num[ci[seen]] / total * p[seen]
        return p

    def logprobs(self, sequences: Sequence[np.ndarray], batch_tokens: int = 2_000_000) -> list[np.ndarray]:
        """Natural-log probability of each token of each sequence given its prefix in that sequence."""
        out: list[np.ndarray] = []
        batch: list[np.ndarray] = []
        size = 0

        def flush():
            nonlocal batch, size
            if not batch:
                return
            tokens, pos = self._flatten(batch)
            lp = np.log(self._probs(tokens, pos))
            lens = [len(s) for s in batch]
            out.extend(np.split(lp, np.cumsum(lens)[:-1]))
            batch, size = [], 0

        for s in sequences:
            s = np.asarray(s, dtype=np.int64)
            if len(s) == 0:
                flush()
                out.append(np.zeros(0))
                continue
            batch.append(s)
            size += len(s)
            if size >= batch_tokens:
                flush()
        flush()
        return out

    def next_token_distribution(self, history: Sequence[int]) -> np.ndarray:
        """P(w | history) for every w of the vocabulary (for checks; one vectorised call)."""
        h = np.asarray(list(history), dtype=np.int64)
        v = np.arange(self.vocab_size, dtype=np.int64)
        seqs = np.concatenate([np.tile(h, (self.vocab_size, 1)), v[:, None]], axis=1)
        tokens = seqs.reshape(-1)
        pos = np.tile(np.arange(len(h) + 1), self.vocab_size)
        return self._probs(tokens, pos).reshape(self.vocab_size, len(h) + 1)[:, -1]

    def n_entries(self) -> int:
        return int(sum(len(o.keys) for o in self.orders))


class NgramBackend:
    """The ``ngram`` proxy backend: a :class:`KneserNeyLM` trained on a token stream.

    ``train`` fits on the stream; at each checkpoint (a token count) it fits on the prefix of
    the stream up to there and calls ``on_checkpoint`` (learning curves cost one count each).
    """

    name = "ngram"

    def __init__(self, vocab_size: int, order: int = 4, **_unused):
        self.vocab_size = vocab_size
        self.order = order
        self.model: KneserNeyLM | None = None

    def describe(self) -> str:
        return f"interpolated modified Kneser-Ney {self.order}-gram (numpy)"

    def train(self, chunks: list[np.ndarray], seed: int, checkpoints: Sequence[int] = (),
              on_checkpoint: Callable[[int], None] | None = None, log: Callable[[str], None] | None = None) -> dict:
        del seed  # counting is deterministic; the seed acts through the sampled stream
        lens = np.cumsum([len(c) for c in chunks])
        total = int(lens[-1]) if len(lens) else 0
        t0 = time.perf_counter()
        for cp in sorted({int(c) for c in checkpoints if 0 < c < total}):
            n = int(np.searchsorted(lens, cp)) + 1
            self.model = KneserNeyLM(self.vocab_size, self.order).fit(chunks[:n])
            if on_checkpoint:
                on_checkpoint(int(lens[n - 1]))
        t1 = time.perf_counter()
        self.model = KneserNeyLM(self.vocab_size, self.order).fit(chunks)
        seconds = time.perf_counter() - t1
        if on_checkpoint:
            on_checkpoint(total)
        return {"train_tokens": total, "train_seconds": seconds,
                "train_tokens_per_s": total / seconds if seconds > 0 else float("inf"),
                "curve_seconds": t1 - t0, "ngram_entries": self.model.n_entries()}

    def logprobs(self, sequences: Sequence[np.ndarray]) -> list[np.ndarray]:
        if self.model is None:
            raise RuntimeError("train the backend first")
        return self.model.logprobs(sequences)
