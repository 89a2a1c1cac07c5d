"""The transformer proxy backend: trains on CPU in a tiny smoke test; clear error without torch."""

from __future__ import annotations

import sys

import numpy as np
import pytest


def test_missing_torch_gives_a_clear_message(monkeypatch):
    from finebooks.ablation import transformer

    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(ImportError, match=r"pip install 'finebooks\[torch\]'"):
        transformer.TransformerBackend(64)


def test_tiny_gpt_trains_on_cpu_and_scores_long_sequences():
    pytest.importorskip("torch", reason="torch is an optional extra (pip install 'finebooks[torch]')")
    from finebooks.ablation.transformer import TransformerBackend

    vocab = 32
    pattern = np.array([3, 7, 11, 5, 9, 13, 2, 8])
    chunks = [np.concatenate([[0], np.tile(pattern, 8)]) for _ in range(64)]   # 4,096 tokens
    b = TransformerBackend(vocab, n_layer=1, n_head=2, d_model=32, seq_len=32, batch_size=8, lr=1e-2,
                           device="cpu", threads=1)
    seen = []
    info = b.train(chunks, seed=0, checkpoints=[1024], on_checkpoint=seen.append)
    assert info["device"] == "cpu" and info["train_tokens"] > 3000 and seen[-1] == info["train_tokens"]
    assert len(seen) == 2
    # a 100-token sequence (longer than the 32-token context: sliding windows)
    seq = np.concatenate([[0], np.tile(pattern, 13)[:99]])
    lp = b.logprobs([seq])[0]
    assert lp.shape == (100,) and lp[0] == 0.0 and np.all(lp[1:] < 0)
    # the pattern is learned: far better than uniform (log 1/32 = -3.47 nats) after the first cycle (16 steps)
    assert lp[9:].mean() > -1.5, lp[9:].mean()
    shuffled = np.concatenate([[0], np.random.default_rng(0).permutation(seq[1:])])
    assert b.logprobs([shuffled])[0][9:].mean() < lp[9:].mean() - 1.0
    # a short sequence scored alone equals the same prefix inside the long one's first window
    short = b.logprobs([seq[:20]])[0]
    assert np.allclose(short[1:], lp[1:20], atol=1e-5)
    # same seed, same model
    b2 = TransformerBackend(vocab, n_layer=1, n_head=2, d_model=32, seq_len=32, batch_size=8, lr=1e-2,
                            device="cpu", threads=1)
    b2.train(chunks, seed=0)
    assert np.allclose(b2.logprobs([seq])[0], lp, atol=1e-6)
