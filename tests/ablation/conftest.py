"""Fixtures of the ablation tests: one sample collection and one small tokenizer per session."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory):
    from finebooks.sample import make_sample

    d = tmp_path_factory.mktemp("ablation_sample") / "sample"
    make_sample(d, seed=0)
    return d


@pytest.fixture(scope="session")
def sample_books(sample_dir) -> list[tuple[str, str]]:
    """(book id, clean text) of the sample's books, from its ground truth."""
    rows = [json.loads(line) for line in (sample_dir / "books.jsonl").read_text().splitlines() if line.strip()]
    return [(r["book_id"], "\n\n".join(p for p in r["clean_pages"] if p.strip())) for r in rows]


@pytest.fixture(scope="session")
def tokenizer(sample_books, tmp_path_factory):
    from finebooks.ablation.tokenizer import train_or_load

    return train_or_load([t for _, t in sample_books], 512, tmp_path_factory.mktemp("tok"), log=lambda m: None)
