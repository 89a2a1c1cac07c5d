"""The default recipe's filters keep clean books and remove planted garbage pages (issue 5's check).

The measuring code is ``benchmarks/eval_default_recipe.py`` (one implementation, used here
and there); these tests hold the recipe to its targets.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from eval_default_recipe import RecipeStages, keep_rate, read, sample_garbage  # noqa: E402


@pytest.fixture(scope="module")
def stages():
    return RecipeStages(REPO / "recipes" / "default.yaml")


def test_default_recipe_removes_the_planted_garbage_pages_and_nothing_else(stages):
    g = sample_garbage(stages, verbose=False)
    assert g["labelled"] >= 10
    assert g["removed"] / g["labelled"] >= 0.95, g["missed"]
    assert g["clean_pages_blanked"] == 0 and g["clean_pages_in_dropped_books"] == 0


@pytest.mark.realdata
@pytest.mark.timeout(600)
def test_default_recipe_keeps_clean_books(stages, shared_data):
    kept = total = 0
    for name in ("100_english_novels", "eltec_fra", "gutenberg_gitenberg"):
        k, n, reasons = keep_rate(read("formfeed", shared_data / "gold" / name), stages, verbose=False)
        kept, total = kept + k, total + n
        assert reasons["pages blanked"] == 0, name
    assert total >= 40 and kept / total >= 0.97
