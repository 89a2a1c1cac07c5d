"""Speed of the ablation proxy models on real book text.

Prints, for growing training sizes, the Kneser-Ney n-gram model's training and scoring speed in
tokens/s, next to two baselines measured in the same run on the same tokens: a bare numpy count of
the highest-order n-grams (``np.unique``: the floor any counting model pays) and a pure-Python
``collections.Counter`` count (what a naive implementation pays). With ``--transformer`` (needs
torch) it also trains the small GPT on CPU (or GPU when present) for a few steps.

Text: the NLA Trove OCR books in ../shared/data/raw_ocr/trove_nla_books when present (as read,
pages joined), else the sample collection's clean pages (``finebooks sample``).

    python benchmarks/bench_proxy.py [--sizes 250000 1000000 4000000] [--order 4] [--transformer]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finebooks.ablation.config import default_shared_data
from finebooks.ablation.ngram import KneserNeyLM
from finebooks.ablation.tokenizer import train_or_load


def load_texts(max_mb: float) -> tuple[str, list[str]]:
    trove = default_shared_data() / "raw_ocr" / "trove_nla_books"
    if trove.is_dir():
        texts, size = [], 0
        for f in sorted(trove.glob("*.txt")):
            if size >= max_mb * 1e6:
                break
            texts.append(f.read_text(encoding="utf-8", errors="replace"))
            size += len(texts[-1])
        return f"{trove} (first {len(texts)} books)", texts
    from finebooks.sample import make_sample

    d = Path(tempfile.mkdtemp()) / "sample"
    make_sample(d, seed=0)
    rows = [json.loads(line) for line in (d / "books.jsonl").read_text().splitlines() if line.strip()]
    return "the sample collection (clean pages)", ["\n\n".join(r["clean_pages"]) for r in rows]


def python_count(tokens: np.ndarray, n: int) -> float:
    t0 = time.perf_counter()
    toks = tokens.tolist()
    collections.Counter(zip(*(toks[i:] for i in range(n))))
    return time.perf_counter() - t0


def numpy_count(tokens: np.ndarray, n: int, bits: int) -> float:
    t0 = time.perf_counter()
    key = tokens.astype(np.int64)
    for _ in range(1, n):
        key = (np.concatenate([[0], key[:-1]]) << bits) | tokens
    np.unique(key, return_counts=True)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[250_000, 1_000_000, 4_000_000])
    ap.add_argument("--order", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--transformer", action="store_true", help="also time the small GPT (needs torch)")
    ap.add_argument("--cache-dir", default="runs/ablation-cache")
    ap.add_argument("--max-mb", type=float, default=14.0, help="read at most this much text")
    args = ap.parse_args()

    where, texts = load_texts(args.max_mb)
    print(f"text: {where}; {sum(len(t) for t in texts) / 1e6:.1f} M characters; CPUs: {os.cpu_count()}")
    tk = train_or_load(texts, args.vocab, args.cache_dir, max_bytes=5_000_000)
    t0 = time.perf_counter()
    ids = tk.encode_batch(texts)
    stream = np.concatenate(ids).astype(np.int64)
    print(f"tokenized {len(stream):,} tokens in {time.perf_counter() - t0:.1f} s (vocab {tk.vocab_size})")
    held = stream[-100_000:]
    train_all = stream[:-100_000]
    print(f"\n{'tokens':>10} {'KN fit tok/s':>13} {'KN score tok/s':>15} {'np.unique x':>12} {'Counter x':>10} "
          f"{'entries':>10} {'held-out bpb':>12}")
    for size in args.sizes:
        if size > len(train_all):
            print(f"{size:>10,} (skipped: only {len(train_all):,} training tokens)")
            continue
        toks = train_all[:size]
        chunks = np.array_split(toks, max(1, size // 256))
        t0 = time.perf_counter()
        m = KneserNeyLM(tk.vocab_size, args.order).fit(chunks)
        fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        lp = m.logprobs([held])[0]
        score = time.perf_counter() - t0
        text_bytes = len(tk.decode(held).encode("utf-8"))
        bpb = -lp.sum() / np.log(2) / text_bytes
        base_np = numpy_count(toks, args.order, m.bits)
        base_py = python_count(toks, args.order) if size <= 1_000_000 else float("nan")
        print(f"{size:>10,} {size / fit:>13,.0f} {len(held) / score:>15,.0f} {fit / base_np:>11.1f}x "
              f"{base_py / fit:>9.1f}x {m.n_entries():>10,} {bpb:>12.3f}")
    print("np.unique x: KN fit time / a bare numpy count of the top-order n-grams (same tokens, same run)")
    print("Counter x: a pure-Python collections.Counter count of the top-order n-grams / KN fit time")
    if args.transformer:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("\ntransformer: skipped (torch not installed: pip install 'finebooks[torch]')")
            return 0
        from finebooks.ablation.transformer import TransformerBackend

        for threads in sorted({1, os.cpu_count() or 1}):
            b = TransformerBackend(tk.vocab_size, device="auto", threads=threads)
            n = 16 * 128 * 12
            chunks = np.array_split(train_all[:n], n // 256)
            info = b.train([np.asarray(c) for c in chunks], seed=0)
            print(f"\ntransformer {b.describe()}, {threads} thread(s): "
                  f"{info['train_tokens_per_s']:,.0f} training tokens/s over {info['steps']} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
