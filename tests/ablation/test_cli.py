"""The smoke ablation end to end through the command line, on a sample collection made in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from finebooks.cli import main

REPO = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, sample_dir: Path, **extra) -> Path:
    cfg = yaml.safe_load((REPO / "ablations" / "smoke.yaml").read_text())
    cfg.update({"base_recipe": str(REPO / "ablations" / "smoke-recipe.yaml"), "input": str(sample_dir),
                "cache_dir": str(tmp_path / "cache"), "output": str(tmp_path / "out")})
    cfg["eval"]["path"] = str(sample_dir)
    for k, v in extra.items():
        if isinstance(v, dict):
            cfg.setdefault(k, {}).update(v)
        else:
            cfg[k] = v
    path = tmp_path / "ablation.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, sample_dir):
    tmp = tmp_path_factory.mktemp("ablate")
    cfg = _config(tmp, sample_dir)
    assert main(["ablate", str(cfg)]) == 0
    return tmp, cfg


def test_smoke_ablation_writes_every_output(smoke_run):
    tmp, _ = smoke_run
    out = tmp / "out"
    for name in ("results.parquet", "curves.parquet", "results.json", "report.md", "report.html",
                 "pruned-recipe.yaml", "bpb_per_arm.png", "learning_curves.png"):
        assert (out / name).is_file(), name
    res = json.loads((out / "results.json").read_text())
    rows = pq.read_table(out / "results.parquet").to_pylist()
    assert len(rows) == 3 * 3 and {r["arm"] for r in rows} == {"base", "no_running_heads", "strict_garbage"}
    assert all(0.5 < r["bpb"] < 8 and 0 <= r["next_sentence"] <= 1 for r in rows)
    # two engine runs for three arms: the threshold arm reuses the base arm's scored books
    arms = {a["arm"]: a for a in res["arms"]}
    assert arms["strict_garbage"]["engine_run"] == arms["base"]["engine_run"]
    assert arms["no_running_heads"]["engine_run"] != arms["base"]["engine_run"]
    assert arms["strict_garbage"]["books"] < arms["base"]["books"]
    # eval books of the sample were in the pool: taken out, and the check passed on every arm
    removed = [o for v in res["eval"]["removed_from_training"].values() for o in v]
    assert removed and {o["eval_book"] for o in removed} <= set(res["eval"]["books"])
    assert res["decisions"]["margin"] > 0 and len(res["decisions"]["comparisons"]) == 2
    pruned = yaml.safe_load((out / "pruned-recipe.yaml").read_text())
    assert pruned["stages"] and pruned["name"].endswith("pruned-by-smoke")
    md = (out / "report.md").read_text()
    assert "| arm | delta bpb |" in md and "data:image/png;base64" in (out / "report.html").read_text()


def test_same_config_and_seeds_give_identical_numbers(smoke_run, tmp_path):
    tmp, cfg = smoke_run
    assert main(["ablate", str(cfg), "--output", str(tmp_path / "again")]) == 0
    a = pq.read_table(tmp / "out" / "results.parquet").to_pylist()
    b = pq.read_table(tmp_path / "again" / "results.parquet").to_pylist()
    keys = ("arm", "seed", "bpb", "next_sentence", "final_word", "train_tokens", "corpus_tokens")
    assert [tuple(r[k] for k in keys) for r in a] == [tuple(r[k] for k in keys) for r in b]
    res = json.loads((tmp_path / "again" / "results.json").read_text())
    assert all(arm["engine_run_cached"] for arm in res["arms"])  # second time: nothing re-run


def test_dry_run_prints_plan_and_estimate(smoke_run, capsys):
    _, cfg = smoke_run
    assert main(["ablate", str(cfg), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "arms (3)" in out and "engine runs: 2 distinct (0 to run, 2 cached)" in out
    assert "3 arms x 3 seeds = 9" in out and "tokens/s" in out and "estimated model time" in out


def test_an_eval_book_left_in_the_pool_fails_loudly(smoke_run, sample_dir, tmp_path, capsys):
    tmp, _ = smoke_run
    cfg = _config(tmp_path, sample_dir, cache_dir=str(tmp / "cache"), eval={"exclude_from_training": False})
    assert main(["ablate", str(cfg)]) == 3
    assert "eval-book leak" in capsys.readouterr().err


def test_bad_config_is_a_clear_error(tmp_path, capsys):
    p = tmp_path / "bad.yaml"
    p.write_text("base_recipe: nope.yaml\nmode: arms\narms: [base]\nproxy: {backend: lstm}\n")
    assert main(["ablate", str(p)]) == 2
    assert "proxy.backend: 'lstm'" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["leave_one_out", "greedy_forward"])
def test_stage_selection_modes_write_a_consistent_pruned_recipe(smoke_run, sample_dir, tmp_path, mode):
    tmp, _ = smoke_run
    # a threshold candidate: every arm reuses the cached engine run of the smoke recipe
    cfg = _config(tmp_path, sample_dir, cache_dir=str(tmp / "cache"), mode=mode, arms=None, comparison=None,
                  candidates=["metadata_filter[bh_garbage_page_share]"], decision={"margin": 0.0})
    data = yaml.safe_load(cfg.read_text())
    del data["arms"], data["comparison"]
    cfg.write_text(yaml.safe_dump(data))
    assert main(["ablate", str(cfg)]) == 0
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    assert len({a["engine_run"] for a in res["arms"]}) == 1
    pruned = [next(iter(s)) if isinstance(s, dict) else s
              for s in yaml.safe_load((tmp_path / "out" / "pruned-recipe.yaml").read_text())["stages"]]
    if mode == "leave_one_out":
        assert {a["arm"] for a in res["arms"]} == {"base", "-metadata_filter"}
        kept = res["decisions"]["stages"][0]["keep"]
    else:
        assert res["arms"][0]["arm"] == "floor" and res["decisions"]["rounds"]
        kept = res["decisions"]["chosen"] == ["metadata_filter"]
    assert ("metadata_filter" in pruned) == kept
    assert pruned[:4] == ["remove_boilerplate", "remove_running_heads", "dehyphenate", "score_book_heuristics"]
