"""Shared fixtures. Real-data tests use ``shared_data`` and skip with a reason when it is absent."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

SHARED_DATA = Path(os.environ.get("FINEBOOKS_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (or ``$FINEBOOKS_SHARED_DATA``); skips the test when it is not there."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder not found at {SHARED_DATA} (set FINEBOOKS_SHARED_DATA); real-data test skipped")
    return SHARED_DATA


def read_all(reader, world_size: int = 1):
    """Run a reader step over every rank and return the documents (helper for tests)."""
    docs = []
    for rank in range(world_size):
        docs.extend(reader.run(None, rank=rank, world_size=world_size))
    return docs


def exclusions(folder: Path) -> list[dict]:
    """Exclusion records written by a JsonlWriter(compression=None) into ``folder``."""
    rows = []
    for f in sorted(folder.glob("*.jsonl")):
        rows += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return rows
