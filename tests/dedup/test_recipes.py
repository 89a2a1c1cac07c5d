"""Dedup stages in recipes, through the engine's dependent executors: local and Ray."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from finebooks.engine import plan, run_recipe, summarise
from finebooks.recipe import load_recipe, validate
from finebooks.sample import make_sample

REPO = Path(__file__).resolve().parents[2]
CLUSTER_COLUMNS = {"cluster_id", "book_id", "kept_id", "is_kept", "similarity"}
pytestmark = pytest.mark.filterwarnings("ignore:placement_group.* parameter is deprecated:DeprecationWarning")


def rows(folder: Path) -> list[dict]:
    files = sorted(folder.rglob("*.parquet"))
    return pq.read_table(files).to_pylist() if files else []


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dedup") / "sample"
    make_sample(root, seed=0)
    # an exact copy in another layout: Trove pages (blank-line pairs) re-saved as a form-feed file
    shutil.copy(root / "trove" / "fb004.txt", root / "formfeed" / "fb004-copy.txt")
    return root


def sample_recipe(sample: Path, stages: list, inputs: list[str] | None = None, executor: dict | None = None) -> dict:
    data = yaml.safe_load((REPO / "recipes" / "dedup-books.yaml").read_text())
    data["input_root"] = str(sample)
    if inputs is not None:
        data["input"] = [i for i in data["input"] if i["reader"] in inputs]
    data["stages"] = stages
    data["executor"] = executor or {"type": "local", "tasks": 2, "workers": 1}
    return data


def labels(sample: Path) -> list[dict]:
    return [json.loads(x) for x in (sample / "labels.jsonl").read_text().splitlines()]


def test_shipped_dedup_recipes_validate():
    for name in ("dedup-books.yaml", "dedup-shared-data.yaml"):
        recipe = load_recipe(REPO / "recipes" / name)
        assert {"near_dedup"} <= {s.name for s in recipe.stages}


def test_plan_names_the_dependent_executors(sample, tmp_path):
    recipe = validate(sample_recipe(sample, ["exact_dedup", "near_dedup", "repeated_pages"]))
    names = [(p.name, p.tasks) for p in plan(recipe, tmp_path)]
    assert names == [("part1_01_exact_dedup_hashes", 2), ("01_exact_dedup_clusters", 1),
                     ("part2_02_near_dedup_sketches", 2), ("02_near_dedup_buckets", 2),
                     ("02_near_dedup_clusters", 1), ("part3_03_repeated_pages_page_hashes", 2),
                     ("03_repeated_pages_find", 1), ("part4_output", 2)]


@pytest.fixture(scope="module")
def local_run(sample, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("run") / "local"
    data = sample_recipe(sample, ["score_ocr_quality", "exact_dedup", "near_dedup", "repeated_pages"])
    summary = run_recipe(validate(data), run_dir)
    assert summary.unaccounted == 0
    return run_dir


def test_recipe_run_accounts_for_every_book_and_records_clusters(sample, local_run):
    s = summarise(local_run)
    books = [json.loads(x) for x in (sample / "books.jsonl").read_text().splitlines()]
    n_books = sum(not b["path"].startswith("bad/") for b in books) + 1  # + the exact copy
    assert s.books_in == n_books == s.kept + s.excluded
    assert s.excluded_by_reason == {"02_exact_dedup: exact_duplicate": 1, "03_near_dedup: near_duplicate": 3}
    # exact: the copy and its original, one kept
    exact = rows(local_run / "clusters" / "02_exact_dedup")
    assert CLUSTER_COLUMNS <= set(exact[0])
    assert sorted(r["book_id"].split("/")[-1] for r in exact) == ["fb004", "fb004-copy"]
    assert sum(r["is_kept"] for r in exact) == 1 and all(r["similarity"] == 1.0 for r in exact)
    # near: every planted duplicate scan pair is one cluster; the kept copy has the best OCR score
    near = rows(local_run / "clusters" / "03_near_dedup")
    planted = {frozenset((lab["book_id"], lab["detail"]["duplicate_of"])) for lab in labels(sample)
               if lab["defect"] == "duplicate_scan"}
    clusters: dict[int, list[dict]] = {}
    for r in near:
        clusters.setdefault(r["cluster_id"], []).append(r)
    assert {frozenset(r["book_id"].split("/")[-1] for r in c) for c in clusters.values()} == planted
    for members in clusters.values():
        kept = [r for r in members if r["is_kept"]]
        assert len(kept) == 1 and all(r["kept_id"] == kept[0]["book_id"] for r in members)
        assert kept[0]["score"] == max(r["score"] for r in members)
        assert all(0.5 <= r["similarity"] <= 1.0 for r in members)
    # exclusions name the kept copy and the similarity; the output holds each kept copy once
    excluded = rows(local_run / "excluded" / "03_near_dedup")
    by_id = {r["book_id"]: r for r in near}
    for e in excluded:
        r = by_id[e["id"]]
        assert e["exclusion_reason"] == (f"near_duplicate: duplicate_of={r['kept_id']} "
                                         f"similarity={r['similarity']:.3f} cluster={r['cluster_id']}")
    kept_ids = {r["id"] for r in rows(local_run / "books")}
    assert {r["book_id"] for r in near if r["is_kept"]} <= kept_ids
    assert not kept_ids & {e["id"] for e in excluded}
    # repeated pages: the audit table exists; emptied pages keep the page count
    report = rows(local_run / "repeated_pages" / "04_repeated_pages")
    assert report and all(r["n_books"] >= 3 for r in report)
    books = rows(local_run / "books")
    touched = [b for b in books if "repeated_pages" in json.loads(b["metadata_json"])]
    assert touched and all(b["n_pages"] == b["text"].count("\f") + 1 for b in touched)


@pytest.mark.slow
def test_ray_run_finds_the_same_clusters(sample, local_run, tmp_path):
    ray = pytest.importorskip("ray", reason="ray is an optional extra: Ray executor test skipped")
    data = sample_recipe(sample, ["near_dedup"], inputs=["formfeed", "alto"],
                         executor={"type": "ray", "tasks": 1, "workers": 1, "options": {"mem_per_cpu_gb": 0.25}})
    started = not ray.is_initialized()
    summary = run_recipe(validate(data), tmp_path / "ray")
    assert started and not ray.is_initialized()
    assert summary.unaccounted == 0 and summary.books_in == summary.kept + summary.excluded
    assert summary.excluded_by_reason == {"01_near_dedup: near_duplicate": 1}
    got = rows(tmp_path / "ray" / "clusters" / "01_near_dedup")
    # the planted alto/formfeed pair, as the local run found it (without OCR scores here, the
    # kept copy may differ; the pair and its similarity may not)
    local = [r for r in rows(local_run / "clusters" / "03_near_dedup")
             if r["book_id"].startswith(("sample-alto/", "sample-formfeed/"))]
    assert len(got) == 2 and sum(r["is_kept"] for r in got) == 1
    assert {r["book_id"] for r in got} == {r["book_id"] for r in local}
    assert min(r["similarity"] for r in got) == min(r["similarity"] for r in local)
    for name in ("part1_01_near_dedup_sketches", "01_near_dedup_buckets", "01_near_dedup_clusters", "part2_output"):
        assert (tmp_path / "ray" / "logs" / name / "stats.json").is_file()
