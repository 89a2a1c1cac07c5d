"""Fuzz short mode (CI): hypothesis-generated damage to real and sample files, through every reader
and every registered stage. Zero crashes, zero unaccounted books. The long mode is
``python benchmarks/fuzz.py --cases 10000`` (figures in docs/reliability.md)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from benchmarks import fuzz

SHORT_CASES = int(os.environ.get("FINEBOOKS_FUZZ_CASES", "200"))
_HARNESS: dict = {}


def harness():
    """Seeds (real files up to 20 kB + the sample collection) and the stage chain, built once."""
    if not _HARNESS:
        from datatrove.utils.logging import logger

        logger.disable("finebooks")  # one warning per exclusion otherwise
        logger.disable("datatrove")
        root = Path(tempfile.mkdtemp(prefix="finebooks_fuzz_ci_"))
        _HARNESS["seeds"] = fuzz.load_seeds(sample=root / "sample", per_kind=40, skip_above=20_000)
        _HARNESS["chain"] = fuzz.StageChain()
        _HARNESS["work"] = root / "work"
    return _HARNESS["seeds"], _HARNESS["chain"], _HARNESS["work"]


def teardown_module():
    from datatrove.utils.logging import logger

    logger.enable("finebooks")
    logger.enable("datatrove")


def test_every_reader_and_stage_is_fuzzed():
    seeds, chain, _ = harness()
    from finebooks.readers import READERS
    from finebooks.registry import REGISTRY

    readers = {"alto", "hocr", "abbyy", "formfeed", "djvu", "trove", "page_folder", "book_parquet", "book_jsonl",
               "page_rows", "hf"}
    assert readers == set(READERS), "a new reader: add a fuzz target for it in benchmarks/fuzz.py"
    stages = {n for n, s in REGISTRY.items() if s.kind in ("stage", "filter")}
    assert stages == set(chain.names) | set(chain.skipped)
    assert set(seeds.by_kind) == {"alto", "hocr", "abbyy", "text"}
    # multi-stage steps cannot run on documents directly: the long mode's engine cases rotate through them
    assert "minhash_dedup" in fuzz.multi_stages()
    assert set(fuzz.multi_stages()) == {n for n, s in REGISTRY.items() if s.kind == "multi"}


@settings(max_examples=SHORT_CASES, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(case=fuzz.strategies(engine_weight=0))
def test_fuzz_short_mode(case):
    seeds, chain, work = harness()
    if case["target"] == "hf":  # datasets' builder costs ~1 s a case: the long mode covers it
        case = dict(case, target="book_parquet")
    fuzz.run_case(case, seeds, chain, work)  # raises on a crash or an unaccounted book
