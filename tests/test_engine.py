"""The recipe engine: pipelines, exclusion tables, the accounting invariant, explain, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from finebooks.cli import main
from finebooks.engine import run_recipe, summarise
from finebooks.explain import explain, find_book
from finebooks.recipe import load_recipe

REPO = Path(__file__).resolve().parents[1]


def rows(folder: Path) -> list[dict]:
    files = sorted(folder.rglob("*.parquet"))
    return pq.read_table(files).to_pylist() if files else []


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    from finebooks.sample import make_sample

    path = tmp_path_factory.mktemp("s") / "sample"
    make_sample(path, seed=0)
    return path


@pytest.fixture(scope="module")
def default_run(sample, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("r") / "run"
    recipe = load_recipe(REPO / "recipes" / "default.yaml", overrides={"__input__": str(sample)})
    summary = run_recipe(recipe, run_dir)
    assert summary.unaccounted == 0
    return run_dir


def dedup_labels() -> list[str]:
    """Labels of the default recipe's duplicate steps (its multi-stage entries)."""
    recipe = load_recipe(REPO / "recipes" / "default.yaml")
    return [s.label for s in recipe.stages if s.spec.kind == "multi"]


def dedup_exclusions(run_dir: Path) -> list[dict]:
    return [r for label in dedup_labels() if (run_dir / "excluded" / label).exists()
            for r in rows(run_dir / "excluded" / label)]


def test_default_recipe_on_the_sample_matches_the_labels(sample, default_run):
    """Known answer: planted bad inputs are excluded at read time, planted duplicate scans by MinHash."""
    labels = [json.loads(x) for x in (sample / "labels.jsonl").read_text().splitlines()]
    books = [json.loads(x) for x in (sample / "books.jsonl").read_text().splitlines()]
    bad = {lab["book_id"]: lab["detail"]["expected_reason"] for lab in labels if lab["defect"] == "bad_input"}
    dup_pairs = {frozenset((lab["book_id"], lab["detail"]["duplicate_of"])) for lab in labels
                 if lab["defect"] == "duplicate_scan"}
    s = summarise(default_run)
    assert s.books_in == len(books) + len(bad) == s.kept + s.excluded
    read_excl = {r["id"].split("/")[-1]: r["exclusion_reason"].split(":")[0]
                 for r in rows(default_run / "excluded" / "00_read")}
    assert read_excl == bad
    dups = [r["id"].split("/")[-1] for r in dedup_exclusions(default_run)]
    # exactly one book of each planted pair is removed, and nothing else
    assert len(dups) == len(dup_pairs)
    assert {frozenset(p) for p in dup_pairs} == {p for p in dup_pairs if len(p & set(dups)) == 1}
    kept = {r["id"].split("/")[-1] for r in rows(default_run / "books")}
    assert kept | set(dups) == {b["book_id"] for b in books}


def test_run_directory_keeps_recipe_versions_logs_and_summary(default_run):
    resolved = yaml.safe_load((default_run / "recipe.yaml").read_text())
    assert resolved["provenance"]["finebooks_version"]
    assert resolved["provenance"]["datatrove_version"]
    written = yaml.safe_load((REPO / "recipes" / "default.yaml").read_text())["stages"]
    assert [next(iter(s)) for s in resolved["stages"]] == [s if isinstance(s, str) else next(iter(s)) for s in written]
    assert {"metadata_filter": {"key": "bh_n_words", "min": 200}} in resolved["stages"]
    assert [next(iter(s)) for s in resolved["stages"][:6]] == ["remove_boilerplate", "normalise_characters",
                                                              "score_language", "remove_running_heads",
                                                              "dehyphenate", "unwrap_lines"]
    logs = default_run / "logs"
    completions = sorted(p.name for p in logs.rglob("completions/*"))
    assert completions, "datatrove's completion markers are kept"
    last = sorted(p.name for p in logs.iterdir() if p.name.startswith("part") and p.name.endswith("_output"))
    assert last and (logs / last[-1] / "stats.json").exists()
    summary = json.loads((default_run / "summary.json").read_text())
    assert summary["total"] == summary["books_in"] and summary["unaccounted"] == 0


def test_explain_tells_each_books_story(default_run):
    dup = dedup_exclusions(default_run)[0]
    text = explain(default_run, dup["id"])
    assert f"EXCLUDED by {dup['exclusion_stage']}" in text and "00_read                      passed" in text
    kept = rows(default_run / "books")[0]["id"]
    assert "KEPT" in explain(default_run, kept)
    assert find_book(default_run, kept.split("/")[-1])["status"] == "kept"  # a suffix is enough
    bad = explain(default_run, "empty")
    assert "EXCLUDED by 00_read (read_trove_text): empty_file" in bad and "not reached" in bad
    assert "not found" in explain(default_run, "no-such-book")


def test_explain_cli(default_run, capsys):
    assert main(["explain", str(default_run), "binary"]) == 0
    assert "binary_content" in capsys.readouterr().out
    assert main(["explain", str(default_run / "nope"), "x"]) == 2


@pytest.fixture
def text_collection(tmp_path) -> Path:
    src = tmp_path / "books"
    src.mkdir()
    prose = "The quick brown fox jumps over the lazy dog, and the dog sleeps on in the warm sun. " * 40
    for i in range(6):
        (src / f"good{i}.txt").write_text(f"Chapter {i}.\n\n{prose}\n\n{prose}\f{prose}")
    for i in range(3):
        (src / f"short{i}.txt").write_text("Too short.")
    (src / "empty.txt").write_bytes(b"")
    return src


def recipe_text(src: Path, out: Path, stages: str, extra: str = "") -> str:
    return f"""{extra}name: test
input: {{reader: formfeed, path: {src}, options: {{source: lib}}}}
stages:
{stages}
output: {{path: {out}}}
executor: {{type: local, tasks: 3, workers: 1}}
"""


def test_datatrove_filters_write_their_reasons(text_collection, tmp_path):
    out = tmp_path / "run"
    recipe = load_recipe(recipe_text(text_collection, out, "  - gopher_quality: {min_doc_words: 50}\n"
                                                         "  - metadata_filter: {key: n_pages, min: 2}"))
    s = run_recipe(recipe)
    assert (s.books_in, s.kept, s.excluded, s.unaccounted) == (10, 6, 4, 0)
    gopher = rows(out / "excluded" / "01_gopher_quality")
    assert sorted(r["exclusion_reason"] for r in gopher) == ["gopher_short_doc"] * 3
    assert all(r["text"] == "" for r in gopher)  # text is not kept by default
    assert s.excluded_by_reason == {"00_read: empty_file": 1, "01_gopher_quality: gopher_short_doc": 3}


def test_metadata_filter_reason_names_the_value(text_collection, tmp_path):
    out = tmp_path / "run"
    run_recipe(load_recipe(recipe_text(text_collection, out, "  - metadata_filter: {key: n_pages, min: 2}")))
    reasons = {r["exclusion_reason"] for r in rows(out / "excluded" / "01_metadata_filter")}
    assert reasons == {"n_pages_below_min: n_pages=1 < 2"}
    meta = json.loads(rows(out / "excluded" / "01_metadata_filter")[0]["metadata_json"])
    assert meta["n_pages"] == 1 and meta["exclusion_stage"] == "01_metadata_filter"


def test_silent_drops_are_caught_by_the_accounting_check(text_collection, tmp_path, capsys):
    out = tmp_path / "run"
    f = tmp_path / "r.yaml"
    f.write_text(recipe_text(text_collection, out, "  - python: tests.helpers.steps:SilentDropper", "allow_python: true\n"))
    assert main(["run", str(f)]) == 1
    assert "UNACCOUNTED" in capsys.readouterr().out
    s = summarise(out)
    assert s.unaccounted > 0


def test_jsonl_output(text_collection, tmp_path):
    out = tmp_path / "run"
    text = recipe_text(text_collection, out, "  []").replace("stages:\n  []", "stages: []")
    text = text.replace(f"output: {{path: {out}}}", f"output: {{path: {out}, format: jsonl}}")
    s = run_recipe(load_recipe(text))
    assert list((out / "books").glob("*.jsonl.gz")) and s.kept == 9 and s.unaccounted == 0


def test_cli_overrides(text_collection, tmp_path, capsys):
    f = tmp_path / "r.yaml"
    f.write_text(recipe_text(tmp_path / "elsewhere", tmp_path / "unused", "  []").replace("stages:\n  []", "stages: []"))
    out = tmp_path / "run"
    assert main(["run", str(f), "--input", str(text_collection), "--output", str(out), "--tasks", "2"]) == 0
    assert "books in: 10  kept: 9  excluded: 1" in capsys.readouterr().out
    assert yaml.safe_load((out / "recipe.yaml").read_text())["executor"]["tasks"] == 2
    assert not (tmp_path / "unused").exists()


def test_validate_cli(tmp_path, capsys):
    assert main(["validate", str(REPO / "recipes" / "fineweb-stock.yaml")]) == 0
    assert "OK" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: {reader: trove, path: x}\nstages: [nope]\noutput: {path: y}\n")
    assert main(["validate", str(bad)]) == 2
    assert f"{bad}:2: stages[0]: unknown stage 'nope'" in capsys.readouterr().err


def test_stages_cli_lists_everything(capsys):
    assert main(["stages"]) == 0
    out = capsys.readouterr().out
    for name in ("metadata_filter", "gopher_quality", "fineweb_quality", "minhash_dedup", "parquet", "trove", "alto"):
        assert name in out
    assert main(["stages", "minhash_dedup"]) == 0
    assert "hashes_per_bucket: int = 8" in capsys.readouterr().out
    assert main(["stages", "nope"]) == 2


# ---------------------------------------------------------------- resume after a kill
def _outputs(run_dir: Path) -> tuple[set, set]:
    kept = {(r["id"], r["text"]) for r in rows(run_dir / "books")}
    excl = {(r["id"], r["exclusion_stage"]) for r in rows(run_dir / "excluded")}
    return kept, excl


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_output(text_collection, tmp_path):
    for i in range(20):
        (text_collection / f"more{i:02d}.txt").write_text(f"Book {i}. " * 200 + "\fend")
    stages = "  - python: tests.helpers.steps:SlowStep\n    params: {seconds: 0.15}\n  - metadata_filter: {key: n_pages, min: 2}"
    text = recipe_text(text_collection, "{OUT}", stages, "allow_python: true\n").replace("tasks: 3", "tasks: 5")

    def command(out: Path) -> list[str]:
        f = out.parent / f"{out.name}.yaml"
        f.write_text(text.replace("{OUT}", str(out)))
        return [sys.executable, "-m", "finebooks.cli", "run", str(f)]

    env = dict(os.environ, PYTHONPATH=str(REPO))
    whole = tmp_path / "whole"
    subprocess.run(command(whole), cwd=REPO, env=env, check=True, capture_output=True)

    killed = tmp_path / "killed"
    # own process group: the kill must take datatrove's helper processes with it
    proc = subprocess.Popen(command(killed), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    completions = killed / "logs" / "main" / "completions"
    deadline = time.time() + 60
    while time.time() < deadline and len(list(completions.glob("*"))) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list(completions.glob("*")))
    assert 2 <= done_before < 5, "the run was killed mid-way"
    assert not (killed / "summary.json").exists()

    subprocess.run(command(killed), cwd=REPO, env=env, check=True, capture_output=True)
    assert _outputs(killed) == _outputs(whole)
    s = summarise(killed)
    assert s.unaccounted == 0 and s.books_in == 30


# ---------------------------------------------------------------- real data
@pytest.mark.realdata
def test_minimal_recipe_on_trove(shared_data, tmp_path):
    recipe = load_recipe(REPO / "recipes" / "minimal.yaml",
                         overrides={"__input__": str(shared_data / "raw_ocr" / "trove_nla_books")})
    s = run_recipe(recipe, tmp_path / "run")
    assert (s.books_in, s.kept, s.excluded, s.unaccounted) == (202, 202, 0, 0)
    assert s.pages == 17921


def test_stage_reference_doc_is_current():
    from finebooks.cli import stages_markdown

    assert (REPO / "docs" / "stages.md").read_text() == stages_markdown(), \
        "docs/stages.md is stale: regenerate with `finebooks stages --markdown > docs/stages.md`"
