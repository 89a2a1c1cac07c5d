"""Arms: stage references, threshold split, shared engine runs, config errors."""

from __future__ import annotations

import pytest

from finebooks.ablation.arms import ArmError, apply_changes, find_stage, make_plan, stage_refs
from finebooks.ablation.config import AblationConfigError, parse_config

BASE = {
    "name": "t",
    "input": {"reader": "formfeed", "path": "books"},
    "stages": [
        "remove_boilerplate",
        "score_book_heuristics",
        {"metadata_filter": {"key": "bh_n_words", "min": 200}},
        {"metadata_filter": {"key": "bh_garbage_page_share", "max": 0.2}},
        {"metadata_filter": {"key": "bh_garbage_page_share", "min": 0.0}},
    ],
    "output": {"path": "runs/t"},
}


def test_stage_refs_are_unique_and_resolvable():
    refs = stage_refs(BASE["stages"])
    assert refs == ["remove_boilerplate", "score_book_heuristics", "metadata_filter[bh_n_words]",
                    "04_metadata_filter", "05_metadata_filter"]
    for i, r in enumerate(refs):
        assert find_stage(BASE["stages"], r) == i
    with pytest.raises(ArmError, match="no stage 'dehyphenate'.*stages: remove_boilerplate"):
        find_stage(BASE["stages"], "dehyphenate")


def test_threshold_changes_share_the_engine_run():
    base = make_plan("base", BASE)
    strict, changes = apply_changes(BASE, set_={"metadata_filter[bh_n_words]": {"min": 1000}})
    strict_plan = make_plan("strict", strict, changes=changes)
    assert strict_plan.engine_key == base.engine_key
    assert strict_plan.thresholds[0] == {"key": "bh_n_words", "min": 1000}
    assert [e for e in base.engine_data["stages"]] == ["remove_boilerplate", "score_book_heuristics"]
    removed, _ = apply_changes(BASE, remove=["remove_boilerplate"])
    assert make_plan("-rb", removed).engine_key != base.engine_key
    added, ch = apply_changes(BASE, add=[{"stage": "dehyphenate", "after": "remove_boilerplate"}])
    assert stage_refs(added["stages"])[1] == "dehyphenate" and ch == ['add "dehyphenate"']


def test_an_arm_with_an_invalid_recipe_is_refused():
    bad, _ = apply_changes(BASE, set_={"remove_boilerplate": {"no_such_param": 1}})
    with pytest.raises(ArmError, match="no_such_param"):
        make_plan("bad", bad)


def test_config_errors_are_reported_together():
    with pytest.raises(AblationConfigError) as e:
        parse_config({"base_recipe": "r.yaml", "mode": "sideways", "proxy": {"backend": "lstm", "ordr": 3},
                      "seeds": "three", "eval": {"source": "folder"}, "arms": [{"name": "a"}]})
    msg = str(e.value)
    for part in ("mode: 'sideways'", "proxy.ordr: unknown key", "proxy.backend: 'lstm'", "seeds:", "eval.path: required"):
        assert part in msg
    cfg = parse_config({"base_recipe": "r.yaml", "arms": ["base"], "seeds": 2})
    assert cfg.seeds == [0, 1] and cfg.proxy.backend == "ngram" and cfg.decision.margin_sigma == 2.0
