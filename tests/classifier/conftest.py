"""Tiny labelled fixtures for the classifier tests: synthetic clean books and OCR-damaged ones."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from finebooks._sample_text import ProseGenerator, garbage_lines, ocr_noise


def clean_book(seed: int, n_par: int = 14) -> str:
    gen = ProseGenerator("en", random.Random(seed))
    return "\n\n".join(" ".join(gen.paragraph()) for _ in range(n_par))


def noisy_book(seed: int, n_par: int = 14, rate: float = 0.18) -> str:
    rng = random.Random(10_000 + seed)
    text = clean_book(10_000 + seed, n_par)
    words = [ocr_noise(w, rate, rng)[0] for w in text.split(" ")]
    pages = " ".join(words).split("\n\n")
    return "\f".join(p + "\n" + "\n".join(garbage_lines(rng, 1)) for p in pages)


def write_labelled(path: Path, n_per_class: int = 16, flip: bool = False) -> Path:
    """JSON Lines with ``n_per_class`` clean and noisy books (``flip``: labels swapped)."""
    rows = []
    for i in range(n_per_class):
        rows.append({"id": f"c{i}", "text": clean_book(i), "label": "noisy" if flip else "clean", "source": "gen_clean"})
        rows.append({"id": f"n{i}", "text": noisy_book(i), "label": "clean" if flip else "noisy", "source": "gen_noisy"})
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


TINY_FASTTEXT = {"dim": 8, "bucket": 20_000, "epoch": 60, "lr": 0.3, "minCount": 1}


@pytest.fixture(scope="session")
def labelled(tmp_path_factory) -> Path:
    return write_labelled(tmp_path_factory.mktemp("lab") / "labelled.jsonl")


@pytest.fixture(scope="session")
def tiny_model(labelled, tmp_path_factory):
    """A fastText model trained on the tiny fixtures (session-wide: trained once)."""
    from finebooks.classifier.train import TrainConfig, train

    cfg = TrainConfig(data=str(labelled), output=str(tmp_path_factory.mktemp("models")), chunk_chars=400,
                      min_chars=100, params=TINY_FASTTEXT, threads=1, heldout=0.25)
    return train(cfg, progress=None)
