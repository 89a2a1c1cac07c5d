"""Decision logic on synthetic seed results."""

from __future__ import annotations

import math

import numpy as np
import pytest

from finebooks.ablation.decision import (
    arm_stats,
    compare,
    leave_one_out,
    margin_of,
    pick_forward,
    pooled_sigma,
    significant_loss,
)


def _rows(arm, bpbs, acc=None, n=200):
    rows = []
    for s, b in enumerate(bpbs):
        r = {"arm": arm, "seed": s, "bpb": b}
        if acc is not None:
            r.update({"final_word": acc, "final_word_correct": round(acc * n), "final_word_n": n})
        rows.append(r)
    return rows


def test_pooled_sigma_and_margin():
    rows = _rows("a", [1.50, 1.52, 1.48]) + _rows("b", [1.40, 1.43, 1.37])
    st = arm_stats(rows, ["bpb"])
    sa, sb = np.std([1.50, 1.52, 1.48], ddof=1), np.std([1.40, 1.43, 1.37], ddof=1)
    assert math.isclose(pooled_sigma(st), math.sqrt((2 * sa**2 + 2 * sb**2) / 4))
    margin, sigma = margin_of(st, 2.0, None)
    assert math.isclose(margin, 2 * sigma)
    assert margin_of(st, 2.0, 0.5)[0] == 0.5


def test_better_within_noise_and_worse():
    rows = (_rows("base", [1.500, 1.510, 1.490], 0.5) + _rows("good", [1.400, 1.410, 1.390], 0.5)
            + _rows("same", [1.495, 1.505, 1.485], 0.5) + _rows("bad", [1.600, 1.610, 1.590], 0.5))
    st = arm_stats(rows, ["bpb", "final_word"])
    margin, _ = margin_of(st, 2.0, None)
    assert math.isclose(margin, 0.02)
    good = compare(st, "good", "base", margin, ["final_word"])
    assert good.keep and good.verdict() == "better" and math.isclose(good.delta, 0.1)
    assert compare(st, "same", "base", margin, ["final_word"]).verdict() == "within noise"
    assert compare(st, "bad", "base", margin, ["final_word"]).verdict() == "worse"


def test_a_significant_secondary_loss_vetoes_a_bpb_gain():
    rows = _rows("base", [1.50, 1.51, 1.49], acc=0.60) + _rows("trade", [1.40, 1.41, 1.39], acc=0.45)
    st = arm_stats(rows, ["bpb", "final_word"])
    flag, p = significant_loss(st["trade"], st["base"], "final_word", 0.05)
    assert flag and p < 1e-4
    c = compare(st, "trade", "base", 0.02, ["final_word"])
    assert c.beats and not c.keep and c.secondary_losses == ["final_word"]
    assert "worse on final_word" in c.verdict()
    # a small accuracy difference is not significant
    rows2 = _rows("base", [1.50, 1.51, 1.49], acc=0.60) + _rows("ok", [1.40, 1.41, 1.39], acc=0.58)
    st2 = arm_stats(rows2, ["bpb", "final_word"])
    assert compare(st2, "ok", "base", 0.02, ["final_word"]).keep


def test_leave_one_out_keeps_only_stages_whose_removal_hurts():
    rows = (_rows("base", [1.50, 1.51, 1.49]) + _rows("-dedup", [1.60, 1.61, 1.59])
            + _rows("-unwrap", [1.505, 1.495, 1.50]) + _rows("-noisy", [1.45, 1.46, 1.44]))
    st = arm_stats(rows, ["bpb"])
    margin, _ = margin_of(st, 2.0, None)
    dec = {d.stage: d for d in leave_one_out(st, "base", {"dedup": "-dedup", "unwrap": "-unwrap", "noisy": "-noisy"},
                                              margin, [])}
    assert dec["dedup"].keep
    assert not dec["unwrap"].keep and "no evidence" in dec["unwrap"].reason
    assert not dec["noisy"].keep and dec["noisy"].comparison.verdict() == "worse"


def test_greedy_forward_picks_the_largest_significant_gain():
    rows = (_rows("floor", [2.00, 2.01, 1.99]) + _rows("floor+a", [1.90, 1.91, 1.89])
            + _rows("floor+b", [1.80, 1.81, 1.79]) + _rows("floor+c", [2.005, 1.995, 2.0]))
    st = arm_stats(rows, ["bpb"])
    best, comps = pick_forward(st, "floor", {"a": "floor+a", "b": "floor+b", "c": "floor+c"}, 0.02, [])
    assert best == "b" and len(comps) == 3
    best, _ = pick_forward(st, "floor", {"c": "floor+c"}, 0.02, [])
    assert best is None


@pytest.mark.parametrize("seeds", [1])
def test_single_seed_has_zero_noise(seeds):
    st = arm_stats(_rows("a", [1.5]) + _rows("b", [1.4]), ["bpb"])
    assert pooled_sigma(st) == 0.0
