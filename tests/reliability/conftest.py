"""Helpers for the reliability tests: a text collection with near-duplicates, recipes, outputs."""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[2]

WORDS = ["river", "mountain", "letter", "garden", "winter", "house", "candle", "window", "morning", "sailor", "doctor", "village", "journey", "silver", "anchor", "meadow", "harbour", "lantern", "orchard", "thunder"]


def prose(rng: random.Random, n_words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n_words)) + "."


def make_collection(folder: Path, n_books: int = 40, seed: int = 0) -> Path:
    """``n_books`` form-feed text books, every 5th a near-copy of the one before, plus bad files."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    previous = None
    for i in range(n_books):
        if i % 5 == 4 and previous is not None:  # a near-duplicate scan: one word changed per page
            pages = [p.replace("river", "rivers", 1) for p in previous]
        else:
            pages = [prose(rng, 120) for _ in range(3)]
        previous = pages
        (folder / f"book{i:03d}.txt").write_text("\f".join(pages))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 4)
    return folder


def recipe_yaml(src: Path, out: Path, stages: str, tasks: int = 4, workers: int = 1) -> str:
    return f"""name: reliability
allow_python: true
input: {{reader: formfeed, path: {src}, options: {{source: lib}}}}
stages:
{stages}
output: {{path: {out}}}
executor: {{type: local, tasks: {tasks}, workers: {workers}}}
"""


def run_command(recipe_file: Path) -> list[str]:
    return [sys.executable, "-m", "finebooks.cli", "run", str(recipe_file)]


def subprocess_env() -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")


def rows(folder: Path) -> list[dict]:
    files = sorted(folder.rglob("*.parquet"))
    return pq.read_table(files).to_pylist() if files else []


def outputs(run_dir: Path) -> tuple[dict, set]:
    """Kept books ``{id: text}`` and exclusions ``{(id, stage, reason)}`` of a run."""
    kept = {}
    for r in rows(run_dir / "books"):
        assert r["id"] not in kept, f"book {r['id']} written twice"
        kept[r["id"]] = r["text"]
    excluded = {(r["id"], r["exclusion_stage"], r["exclusion_reason"]) for r in rows(run_dir / "excluded")}
    return kept, excluded


@pytest.fixture
def collection(tmp_path) -> Path:
    return make_collection(tmp_path / "books")
