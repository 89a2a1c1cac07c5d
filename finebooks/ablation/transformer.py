"""The ``transformer`` proxy backend: a small GPT-style language model in torch.

Pre-LayerNorm decoder blocks (causal self-attention through
``torch.nn.functional.scaled_dot_product_attention``, GELU MLP), learned positions, tied input and
output embeddings; AdamW with linear warm-up and cosine decay. It trains for exactly one pass over
the (arm, seed) stream, i.e. on the token budget, and uses a GPU when one is present
(``proxy.device: auto``). torch is an optional extra: ``pip install 'finebooks[torch]'``.

Log-likelihoods of sequences longer than the context are computed with a sliding window (stride
half the context): every token is predicted with at least half a context of history.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np


def require_torch():
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("the transformer proxy backend needs torch, an optional extra: "
                          "pip install 'finebooks[torch]' (torch==2.13.0; the CPU wheel is enough for small runs)") from e
    return torch


def _build_model(torch, vocab_size: int, d_model: int, n_layer: int, n_head: int, seq_len: int):
    nn = torch.nn
    F = torch.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(d_model)
            self.qkv = nn.Linear(d_model, 3 * d_model)
            self.proj = nn.Linear(d_model, d_model)
            self.ln2 = nn.LayerNorm(d_model)
            self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
            q, k, v = (z.view(b, t, n_head, c // n_head).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(vocab_size, d_model)
            self.pos = nn.Embedding(seq_len, d_model)
            self.blocks = nn.ModuleList(Block() for _ in range(n_layer))
            self.ln = nn.LayerNorm(d_model)
            self.head = nn.Linear(d_model, vocab_size, bias=False)
            self.head.weight = self.tok.weight
            self.apply(self._init)

        @staticmethod
        def _init(m):
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

        def forward(self, idx):
            t = idx.shape[1]
            x = self.tok(idx) + self.pos(torch.arange(t, device=idx.device))
            for blk in self.blocks:
                x = blk(x)
            return self.head(self.ln(x))

    return GPT()


class TransformerBackend:
    """Small GPT trained on an arm's token stream; same interface as the n-gram backend."""

    name = "transformer"

    def __init__(self, vocab_size: int, n_layer: int = 2, n_head: int = 4, d_model: int = 128, seq_len: int = 128,
                 batch_size: int = 16, lr: float = 3e-3, device: str = "auto", eval_batch_size: int = 64,
                 threads: int = 0, **_unused):
        self.torch = require_torch()
        if threads > 0:  # on a shared or small CPU, fewer threads than cores is often faster
            self.torch.set_num_threads(threads)
        if d_model % n_head:
            raise ValueError(f"d_model ({d_model}) must be a multiple of n_head ({n_head})")
        self.vocab_size, self.n_layer, self.n_head, self.d_model = vocab_size, n_layer, n_head, d_model
        self.seq_len, self.batch_size, self.lr, self.eval_batch_size = seq_len, batch_size, lr, eval_batch_size
        if device == "auto":
            device = "cuda" if self.torch.cuda.is_available() else "cpu"
        self.device = device
        self.model = None

    def describe(self) -> str:
        n = sum(p.numel() for p in self.model.parameters()) if self.model is not None else None
        size = f", {n / 1e6:.2f}M parameters" if n else ""
        return (f"GPT {self.n_layer} layers x {self.d_model} dims, {self.n_head} heads, context {self.seq_len}"
                f"{size} (torch, {self.device})")

    def train(self, chunks: list[np.ndarray], seed: int, checkpoints: Sequence[int] = (),
              on_checkpoint: Callable[[int], None] | None = None, log: Callable[[str], None] | None = None) -> dict:
        torch = self.torch
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        self.model = _build_model(torch, self.vocab_size, self.d_model, self.n_layer, self.n_head,
                                  self.seq_len).to(self.device)
        stream = np.concatenate(chunks).astype(np.int64)
        n_seq = max(1, (len(stream) - 1) // self.seq_len)
        starts = np.arange(n_seq) * self.seq_len
        rng.shuffle(starts)
        steps = max(1, math.ceil(n_seq / self.batch_size))
        opt = torch.optim.AdamW(self.model.parameters(), lr=self.lr, weight_decay=0.1, betas=(0.9, 0.95))
        warm = max(1, steps // 10)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, steps - warm))))
        data = torch.from_numpy(stream)
        cps = sorted({int(c) for c in checkpoints})
        seen, t0, train_time = 0, time.perf_counter(), 0.0
        self.model.train()
        for step in range(steps):
            ts = time.perf_counter()
            batch_starts = starts[step * self.batch_size: (step + 1) * self.batch_size]
            xb = torch.stack([data[s: s + self.seq_len + 1] for s in batch_starts])
            if xb.shape[1] < 2:
                continue
            xb = xb.to(self.device)
            logits = self.model(xb[:, :-1])
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, self.vocab_size), xb[:, 1:].reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            opt.step()
            sched.step()
            train_time += time.perf_counter() - ts
            seen += int(xb[:, 1:].numel())
            if log and (step % max(1, steps // 5) == 0 or step == steps - 1):
                log(f"    step {step + 1}/{steps} loss {loss.item():.3f}")
            while cps and seen >= cps[0] and step < steps - 1:
                cps.pop(0)
                if on_checkpoint:
                    self.model.eval()
                    on_checkpoint(seen)
                    self.model.train()
        self.model.eval()
        if on_checkpoint:
            on_checkpoint(seen)
        return {"train_tokens": seen, "train_seconds": train_time,
                "train_tokens_per_s": seen / train_time if train_time else float("inf"),
                "wall_seconds": time.perf_counter() - t0, "steps": steps, "device": self.device,
                "parameters": int(sum(p.numel() for p in self.model.parameters()))}

    def logprobs(self, sequences: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Natural-log probability of each token given the tokens before it (position 0: 0.0)."""
        torch = self.torch
        if self.model is None:
            raise RuntimeError("train the backend first")
        L, half = self.seq_len, max(1, self.seq_len // 2)
        windows = []  # (sequence index, window start, first position scored, end)
        out = [np.zeros(len(s)) for s in sequences]
        for si, s in enumerate(sequences):
            n, pos = len(s), 1
            while pos < n:
                # the window ends where it can score `half` new positions with L - half of history
                st = 0 if pos == 1 else max(0, min(pos - (L - half), n - L))
                end = min(st + L, n)
                windows.append((si, st, pos, end))
                pos = end
        with torch.no_grad():
            for b in range(0, len(windows), self.eval_batch_size):
                batch = windows[b: b + self.eval_batch_size]
                seqs = [np.asarray(sequences[si][st:end], dtype=np.int64) for si, st, _, end in batch]
                width = max(len(x) for x in seqs)
                xb = np.zeros((len(seqs), width), dtype=np.int64)
                for i, x in enumerate(seqs):
                    xb[i, : len(x)] = x
                x = torch.from_numpy(xb).to(self.device)
                logp = torch.log_softmax(self.model(x).float(), dim=-1)
                tgt = logp[:, :-1].gather(2, x[:, 1:, None])[..., 0].cpu().numpy()
                for i, (si, st, first, end) in enumerate(batch):
                    out[si][first:end] = tgt[i, first - st - 1: end - st - 1]
        return out

