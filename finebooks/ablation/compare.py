"""Do two ablation runs rank the arms the same way? Kendall's tau over their common arms.

Used to check that the cheap n-gram proxy orders arms like the transformer proxy (or a run on
another machine, with another budget):

    python -m finebooks.ablation.compare RESULTS_A RESULTS_B [--metric bpb]

RESULTS_A/B are ablation output folders (or their ``results.json``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _summary(path: str | Path) -> tuple[dict, dict[str, float]]:
    p = Path(path)
    res = json.loads((p / "results.json" if p.is_dir() else p).read_text())
    return res, {s["arm"]: s for s in res["summary"]}


def kendall_tau(a: dict[str, float], b: dict[str, float]) -> tuple[float, float, int]:
    """(tau-b, two-sided p, number of common arms)."""
    from scipy.stats import kendalltau

    arms = sorted(set(a) & set(b))
    if len(arms) < 2:
        raise ValueError(f"need at least two common arms, got {arms}")
    res = kendalltau([a[x] for x in arms], [b[x] for x in arms])
    return float(res.statistic), float(res.pvalue), len(arms)


def compare_runs(path_a, path_b, metric: str = "bpb") -> dict:
    ra, sa = _summary(path_a)
    rb, sb = _summary(path_b)
    key = f"{metric}_mean"
    a = {k: v[key] for k, v in sa.items()}
    b = {k: v[key] for k, v in sb.items()}
    tau, p, n = kendall_tau(a, b)
    return {"metric": metric, "tau": tau, "p": p, "arms": n,
            "a": {"backend": ra["backend"]["description"], "ranking": sorted(a, key=a.get)},
            "b": {"backend": rb["backend"]["description"], "ranking": sorted(b, key=b.get)}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Kendall tau between the arm rankings of two ablation runs")
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--metric", default="bpb")
    args = ap.parse_args(argv)
    r = compare_runs(args.a, args.b, args.metric)
    print(f"A ({r['a']['backend']}): {' < '.join(r['a']['ranking'])}")
    print(f"B ({r['b']['backend']}): {' < '.join(r['b']['ranking'])}")
    print(f"Kendall tau on {r['metric']} over {r['arms']} arms: {r['tau']:+.3f} (p = {r['p']:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
