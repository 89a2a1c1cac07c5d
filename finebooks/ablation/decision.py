"""Decisions from seed results: is an arm better than its comparison by more than the noise?

For every arm: mean and standard deviation over seeds of each metric. The seed noise is
pooled over all arms (``sigma = sqrt(sum_a (n_a - 1) s_a^2 / sum_a (n_a - 1))``) and the margin is
``margin_sigma * sigma`` (default 2 sigma) unless an absolute ``margin`` is set. An arm *beats*
its comparison when its mean bits per byte is lower by more than the margin, and keeps that
verdict only without a significant loss on a secondary metric (a task accuracy lower with a
one-sided two-proportion z-test p < ``secondary_alpha``, counts pooled over seeds).

Modes: ``arms`` compares each arm with the comparison arm; ``leave_one_out`` keeps a candidate
stage when the base recipe beats the base recipe without it; ``greedy_forward`` adds, round by
round, the candidate whose arm beats the current recipe by the most, until none does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

LOWER_IS_BETTER = {"bpb": True}


@dataclass
class ArmStats:
    arm: str
    n: int
    mean: dict[str, float]
    std: dict[str, float]
    correct: dict[str, float] = field(default_factory=dict)   # summed over seeds
    items: dict[str, int] = field(default_factory=dict)       # summed over seeds


def arm_stats(rows: list[dict], metrics: list[str]) -> dict[str, ArmStats]:
    """Per arm: mean/std over seeds of each metric; ``rows`` have ``arm``, the metrics and, for
    tasks, ``<task>_correct`` / ``<task>_n``."""
    out: dict[str, ArmStats] = {}
    arms = list(dict.fromkeys(r["arm"] for r in rows))
    for a in arms:
        rs = [r for r in rows if r["arm"] == a]
        mean, std, correct, items = {}, {}, {}, {}
        for m in metrics:
            v = np.array([r[m] for r in rs if r.get(m) is not None], dtype=float)
            mean[m] = float(v.mean()) if len(v) else float("nan")
            std[m] = float(v.std(ddof=1)) if len(v) > 1 else 0.0
            if f"{m}_correct" in rs[0]:
                correct[m] = float(sum(r[f"{m}_correct"] for r in rs))
                items[m] = int(sum(r[f"{m}_n"] for r in rs))
        out[a] = ArmStats(a, len(rs), mean, std, correct, items)
    return out


def pooled_sigma(stats: dict[str, ArmStats], metric: str = "bpb") -> float:
    num = sum((s.n - 1) * s.std[metric] ** 2 for s in stats.values() if s.n > 1)
    den = sum(s.n - 1 for s in stats.values() if s.n > 1)
    return math.sqrt(num / den) if den else 0.0


def _norm_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def significant_loss(a: ArmStats, b: ArmStats, task: str, alpha: float) -> tuple[bool, float]:
    """Is ``a``'s accuracy on ``task`` lower than ``b``'s (one-sided two-proportion z-test)? (flag, p)"""
    na, nb = a.items.get(task, 0), b.items.get(task, 0)
    if not na or not nb:
        return False, 1.0
    pa, pb = a.correct[task] / na, b.correct[task] / nb
    p = (a.correct[task] + b.correct[task]) / (na + nb)
    se = math.sqrt(max(p * (1 - p) * (1 / na + 1 / nb), 1e-12))
    pval = _norm_sf((pb - pa) / se)
    return pval < alpha, pval


@dataclass
class Comparison:
    arm: str
    against: str
    delta: float               # improvement of arm over `against` on the primary metric (> 0: better)
    margin: float
    beats: bool
    secondary_losses: list[str]
    keep: bool
    note: str = ""

    def verdict(self) -> str:
        if self.keep:
            return "better"
        if self.beats and self.secondary_losses:
            return "better on bpb, worse on " + ", ".join(self.secondary_losses)
        if self.delta < -self.margin:
            return "worse"
        return "within noise"


def compare(stats: dict[str, ArmStats], arm: str, against: str, margin: float, tasks: list[str],
            alpha: float = 0.05, primary: str = "bpb") -> Comparison:
    a, b = stats[arm], stats[against]
    sign = -1.0 if LOWER_IS_BETTER.get(primary, False) else 1.0
    delta = sign * (a.mean[primary] - b.mean[primary])
    beats = delta > margin
    losses = [t for t in tasks if significant_loss(a, b, t, alpha)[0]]
    return Comparison(arm, against, delta, margin, beats, losses, beats and not losses)


def margin_of(stats: dict[str, ArmStats], margin_sigma: float, margin: float | None, primary: str = "bpb") -> tuple[float, float]:
    """(margin, pooled sigma)."""
    sigma = pooled_sigma(stats, primary)
    return (float(margin) if margin is not None else margin_sigma * sigma), sigma


@dataclass
class StageDecision:
    stage: str
    keep: bool
    comparison: Comparison | None
    reason: str


def leave_one_out(stats: dict[str, ArmStats], base: str, without: dict[str, str], margin: float,
                  tasks: list[str], alpha: float = 0.05) -> list[StageDecision]:
    """``without``: candidate stage -> name of the arm without it. Keep a stage iff the base arm
    beats the arm without it by more than the margin, with no significant secondary loss."""
    out = []
    for stage, arm in without.items():
        c = compare(stats, base, arm, margin, tasks, alpha)
        reason = (f"base beats base-without-{stage} by {c.delta:+.4f} bpb (margin {margin:.4f})" if c.keep else
                  f"no evidence it helps: base - without = {c.delta:+.4f} bpb (margin {margin:.4f})"
                  + (f"; secondary loss on {', '.join(c.secondary_losses)}" if c.secondary_losses else ""))
        out.append(StageDecision(stage, c.keep, c, reason))
    return out


def pick_forward(stats: dict[str, ArmStats], current: str, options: dict[str, str], margin: float,
                 tasks: list[str], alpha: float = 0.05) -> tuple[str | None, list[Comparison]]:
    """One greedy-forward round: ``options`` maps candidate stage -> arm (current + that stage).
    Returns the candidate whose arm beats ``current`` by the most (None if none beats it)."""
    comps = {s: compare(stats, arm, current, margin, tasks, alpha) for s, arm in options.items()}
    winners = [(c.delta, s) for s, c in comps.items() if c.keep]
    best = max(winners)[1] if winners else None
    return best, list(comps.values())
