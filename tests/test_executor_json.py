"""Every stage of the default recipe stays encodable, and small, in datatrove's executor.json.

datatrove writes each executor's configuration by JSON-encoding every step's ``__dict__``, and each
dependent executor embeds the ones it depends on. A stage that keeps run-time data (a lexicon
cache, a catalogue, a dict with tuple keys) in a plain attribute either crashes that dump
(``TypeError: keys must be str...``: the run fails after its first part) or has the data
re-encoded into every later executor's JSON (0.75 s of CPU on the trove benchmark before
:class:`finebooks.runtime.ProcessLocal`). Run-time state belongs in a ``ProcessLocal``.
"""

from __future__ import annotations

import json
from pathlib import Path

from datatrove.data import Document
from datatrove.executor.base import ExecutorJSONEncoder

from finebooks.engine import _instantiate, build_readers
from finebooks.recipe import InputConfig, load_recipe

ROOT = Path(__file__).resolve().parents[1]
MAX_STEP_JSON = 20_000  # characters: parameters, not data


def _books(shared_data: Path, n: int, run_dir: Path) -> tuple[list[Document], list]:
    recipe = load_recipe(ROOT / "recipes" / "default.yaml")
    recipe.inputs = [InputConfig("trove", str(shared_data / "raw_ocr" / "trove_nla_books"), {"source": "trove"})]
    recipe.input_root = None
    books = []
    readers = build_readers(recipe, run_dir)
    for reader in readers:
        for doc in reader.run():
            books.append(doc)
            if len(books) >= n:
                return books, readers
    return books, readers


def test_default_recipe_steps_encode_small_after_running(shared_data, tmp_path):
    recipe = load_recipe(ROOT / "recipes" / "default.yaml")
    books, readers = _books(shared_data, 40, tmp_path)
    assert len(books) == 40
    for reader in readers:  # the Trove reader has loaded its catalogue of 202 records by now
        encoded = json.dumps(reader, cls=ExecutorJSONEncoder)
        assert len(encoded) < MAX_STEP_JSON, (reader.name, len(encoded), encoded[:300])
    for stage in recipe.stages:
        if stage.spec.kind != "stage":
            continue
        step = _instantiate(stage, tmp_path, False)
        books = list(step.run(iter(books), 0, 1))
        encoded = json.dumps(step, cls=ExecutorJSONEncoder)  # raises on e.g. a dict with tuple keys
        assert len(encoded) < MAX_STEP_JSON, (stage.label, len(encoded), encoded[:300])
    assert books, "the recipe dropped every book"
