"""One byte-level BPE tokenizer for every arm of an ablation, trained once on the pool and cached.

Bits per byte (the primary metric) does not depend on the tokenizer, but model quality at a
fixed token budget does: all arms must see the same tokenizer, so it is trained once on the
text pool of the ablation (every distinct corpus the arms draw from, after the eval books are
taken out) and cached under ``CACHE/tokenizers/<hash>.json``. Byte level: any text is encodable,
so eval text never meets an unknown symbol. Token id 0 is ``<|bos|>``, put before every
training chunk and eval sequence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

BOS = "<|bos|>"


def prepare_text(text: str) -> str:
    """Book text as the models see it: page breaks (``\\f``) become paragraph breaks."""
    return text.replace("\f", "\n\n")


class BookTokenizer:
    """A trained ``tokenizers`` byte-level BPE with helpers returning numpy id arrays."""

    def __init__(self, tokenizer, path: Path | None = None):
        self.tk = tokenizer
        self.path = path
        self.bos_id = tokenizer.token_to_id(BOS)
        if self.bos_id is None:
            raise ValueError(f"tokenizer {path} has no {BOS} token")

    @property
    def vocab_size(self) -> int:
        return self.tk.get_vocab_size()

    def encode(self, text: str) -> np.ndarray:
        return np.asarray(self.tk.encode(prepare_text(text)).ids, dtype=np.int32)

    def encode_batch(self, texts: list[str]) -> list[np.ndarray]:
        encs = self.tk.encode_batch([prepare_text(t) for t in texts])
        return [np.asarray(e.ids, dtype=np.int32) for e in encs]

    def decode(self, ids) -> str:
        return self.tk.decode([int(i) for i in ids])

    @classmethod
    def load(cls, path: str | Path) -> BookTokenizer:
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_file(str(path)), Path(path))


def _new_bpe(vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[BOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), min_frequency=2)
    return tk, trainer


def tokenizer_key(texts: list[str], vocab_size: int) -> str:
    h = hashlib.sha256(f"bpe-v1|{vocab_size}|".encode())
    for t in texts:
        h.update(hashlib.sha256(t.encode("utf-8", "surrogatepass")).digest())
    return h.hexdigest()[:16]


def train_or_load(texts: Iterable[str], vocab_size: int, cache_dir: str | Path, max_bytes: int = 20_000_000,
                  log=print) -> BookTokenizer:
    """Train a byte-level BPE on ``texts`` (at most ``max_bytes`` of them), or load it from the cache."""
    picked, size = [], 0
    for t in texts:
        if size >= max_bytes:
            break
        t = prepare_text(t)[: max_bytes - size]
        picked.append(t)
        size += len(t.encode("utf-8", "surrogatepass"))
    key = tokenizer_key(picked, vocab_size)
    path = Path(cache_dir) / "tokenizers" / f"bpe-{vocab_size}-{key}.json"
    if path.is_file():
        log(f"tokenizer: cached {path}")
        return BookTokenizer.load(path)
    if not picked:
        raise ValueError("no text to train the tokenizer on: every arm's corpus is empty")
    tk, trainer = _new_bpe(vocab_size)
    tk.train_from_iterator(picked, trainer=trainer)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tk.save(str(tmp))
    tmp.replace(path)
    log(f"tokenizer: trained byte-level BPE ({tk.get_vocab_size()} tokens) on {size / 1e6:.2f} MB -> {path}")
    return BookTokenizer(tk, path)
