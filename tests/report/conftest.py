"""Runs for the report tests: one real run over the sample collection, and hand-made runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

#: the sample run's thresholds: bh_garbage_page_share > 0.15 drops the sample's books with
#: planted garbage pages (fb018, fb023, fb026 with seed 0); drop_pages blanks flagged pages;
#: near_dedup removes planted duplicate scans and records the clusters
GARBAGE_MAX = 0.15


def sample_recipe(sample: Path, out: Path) -> dict:
    """The default recipe's inputs with quick scoring stages and a threshold (one task, in-process)."""
    data = yaml.safe_load((REPO / "recipes" / "default.yaml").read_text())
    data.update(
        name="report-test",
        description="The sample collection, scored and thresholded, for the report tests.",
        input_root=str(sample),
        stages=["remove_boilerplate", "normalise_characters",
                {"score_language": {"languages": ["en", "fr", "de", "nl", "la"]}},
                "score_book_heuristics",
                {"metadata_filter": {"key": "bh_garbage_page_share", "max": GARBAGE_MAX}},
                "drop_pages",
                "near_dedup"],  # the sample's planted duplicate scans: RUN/clusters/07_near_dedup
        output={"path": str(out), "keep_excluded_text": True},
        executor={"type": "local", "tasks": 1, "workers": 1},
    )
    return data


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> Path:
    """A real FineBooks run over the sample collection (about 5 s)."""
    from finebooks.engine import run_recipe
    from finebooks.recipe import validate
    from finebooks.sample import make_sample

    root = tmp_path_factory.mktemp("report_run")
    make_sample(root / "sample", seed=0)
    summary = run_recipe(validate(sample_recipe(root / "sample", root / "run"), source="tests/report"))
    assert summary.unaccounted == 0 and summary.excluded > 0
    return root / "run"


@pytest.fixture(scope="session")
def trove_run(shared_data, tmp_path_factory) -> Path:
    """A real run over the Trove books of the 1700s in French and a few others (a few seconds).

    A strict stop-word threshold drops most of them, so the librarian's question has answers.
    """
    from finebooks.engine import run_recipe
    from finebooks.recipe import validate

    src = shared_data / "raw_ocr" / "trove_nla_books"
    catalogue = [json.loads(line) for line in (src / "metadata.jsonl").read_text().splitlines() if line.strip()]
    fr18 = [c for c in catalogue if c["lang_guess"] == "fr" and 1700 <= (c["year"] or 0) <= 1799]
    others = [c for c in catalogue if c["lang_guess"] in ("en", "fr") and c not in fr18
              and 1780 <= (c["year"] or 0) <= 1820][:4]
    assert fr18, "the Trove sample has 18th-century French books"
    root = tmp_path_factory.mktemp("trove_run")
    books = root / "trove"
    books.mkdir()
    for c in fr18 + others:  # links: the data stays in ../shared/data
        (books / c["file"]).symlink_to(src / c["file"])
    (books / "metadata.jsonl").write_text("\n".join(json.dumps(c) for c in fr18 + others) + "\n")
    recipe = {"name": "trove-librarian",
              "input": {"reader": "trove", "path": str(books), "options": {"source": "trove"}},
              "stages": [{"score_language": {"languages": ["en", "fr", "de", "nl", "it", "la"]}},
                         "score_book_heuristics",
                         {"metadata_filter": {"key": "bh_stopwords_per_1000", "min": 450}}],
              "output": {"path": str(root / "run"), "keep_excluded_text": True},
              "executor": {"tasks": 1, "workers": 1}}
    summary = run_recipe(validate(recipe, source="tests/report"))
    assert summary.unaccounted == 0 and summary.kept and summary.excluded
    return root / "run"


def write_run(run_dir: Path, kept: list[dict], excluded: list[dict], recipe: dict | None = None,
              keep_text: bool = True) -> Path:
    """A run directory written with FineBooks' own writers from plain dicts (id, text, metadata...).

    Excluded dicts carry ``stage`` and ``reason``. Used where the sample collection cannot
    provide the case (18th-century books, rights statements, clusters).
    """
    from datatrove.data import Document

    from finebooks.engine import ExclusionWriter
    from finebooks.writers import BookParquetWriter

    run_dir.mkdir(parents=True, exist_ok=True)
    with BookParquetWriter(str(run_dir / "books")) as w:
        for b in kept:
            w.write(Document(text=b.get("text", "some text"), id=b["id"], metadata=dict(b.get("metadata", {}))))
    by_stage: dict[str, list[dict]] = {}
    for b in excluded:
        by_stage.setdefault(b["stage"], []).append(b)
    for stage, books in by_stage.items():
        with ExclusionWriter(str(run_dir / "excluded" / stage), stage, keep_text=keep_text) as w:
            for b in books:
                meta = dict(b.get("metadata", {}))
                meta["filter_reason"] = b["reason"]
                w.write(Document(text=b.get("text", "dropped text"), id=b["id"], metadata=meta))
    recipe = recipe or {"name": "hand-made", "stages": [{"metadata_filter": {"key": "ocr_quality", "min": 0.5}}]}
    (run_dir / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    n_in = len(kept) + len(excluded)
    (run_dir / "summary.json").write_text(json.dumps({
        "recipe": recipe["name"], "books_in": n_in, "kept": len(kept), "excluded": len(excluded),
        "unaccounted": 0, "pages": 0, "text_bytes": 0, "seconds": 0.0}))
    return run_dir
