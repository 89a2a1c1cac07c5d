"""Smoke test of the benchmark harness (benchmarks/bench_suite.py): it runs and prints every row.

No timing is asserted (timings belong to the benchmark, not to CI); this only keeps the harness
working as stages, recipes and readers change.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _bench_suite():
    spec = importlib.util.spec_from_file_location("bench_suite", REPO / "benchmarks" / "bench_suite.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_suite"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(900)  # ~20 s of CPU; generous for a loaded machine
def test_suite_prints_every_row_on_a_small_sample(tmp_path):
    from finebooks.sample import make_sample

    bench = _bench_suite()
    sample = tmp_path / "sample"
    make_sample(sample, seed=0, n_books=16, n_duplicates=1)
    suite = bench.run_suite(tmp_path / "no-shared-data", quick=True, inputs=["sample"], sample=sample,
                            isolate=False, tmp=tmp_path / "work", max_books=5, progress=lambda _: None)

    assert not [(r.what, r.error) for r in suite.rows + suite.scaling + suite.minhash if r.error]
    what = [r.what for r in suite.rows]
    assert what[:5] == ["bare datatrove Jsonl->Jsonl", "  (same, uncompressed output)",
                        "bare FineBooks reader->Parquet", "stock datatrove web filters", "recipe default (whole)"]
    # every registry stage of kind "stage" has a row, unless it needs a parameter the recipe lacks
    measured = {w.split()[1] for w in what[5:]}
    skipped = {line.split()[1].rstrip(":") for line in suite.skipped}
    assert measured | skipped == set(bench.stage_names()) and not measured & skipped
    assert "score_language" in measured and "dehyphenate" in measured

    books = suite.rows[0].books_in
    assert books == 5 and all(r.books_in == books for r in suite.rows)  # the same books everywhere
    assert all(r.cpu_s > 0 and r.mb > 0 for r in suite.rows[:5])
    assert [r.what for r in suite.scaling] == ["1x", "2x"]
    assert suite.scaling[1].books_in == 2 * suite.scaling[0].books_in
    assert len(suite.minhash) == 2 and all(r.books_out == books for r in suite.minhash)

    table = bench.render(suite)
    for expected in ("MB/s/core", "x bare", "x stock", "scaling", "MinHash", "stage score_language"):
        assert expected in table
    assert bench.to_json(suite)["rows"][0]["mb_per_core"] > 0
