"""Evaluate book-level dedup on real data and on the sample collection; justify the parameters.

1. **Real data** - runs ``recipes/dedup-shared-data.yaml`` through the recipe engine (every
   book of ``../shared/data/raw_ocr`` and ``gold``: 258 books, 51 MB; OCR quality scored, exact
   and near-duplicate dedup) and checks the cluster records against the known pairs: the 8 Trove
   scan pairs (``dup_partner``), the Wellcome Google scan vs cleaned *Silent Friend*, the
   Gutenberg releases of *The Complete Angler* (x3) and *News from Nowhere* (x2). Every other
   merged pair is a false positive, except two pairs checked by hand (the same OCR text twice in
   the Wellcome folder, listed in ``HAND_CHECKED``). Also checks that the kept copy of each Trove
   pair is the one with the higher ``ocr_quality``.
2. **Sample** - ``finebooks sample`` + ``recipes/dedup-books.yaml``: every planted duplicate scan
   (``labels.jsonl``) found, nothing else merged.
3. **Curve** - exact Jaccard of the shingle sets of every pair of the real collection (a sparse
   product, no sampling), FineBooks shingles and datatrove's stock shingles side by side; the
   probability that LSH makes a pair a candidate, 1 - (1 - J**r)**b, for FineBooks' 32 x 4,
   datatrove's 14 x 8 and the default recipe's 20 x 4, at the true pairs' Jaccards and at the
   highest Jaccard of a non-pair.

    python benchmarks/eval_dedup.py                    # all three (a few minutes)
    python benchmarks/eval_dedup.py --skip-engine      # curve only
    python benchmarks/eval_dedup.py --json out.json    # also write the figures
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]

from finebooks.dedup.evaluation import HAND_CHECKED_PAIRS as HAND_CHECKED
from finebooks.dedup.evaluation import known_pairs, merged_pairs, read_collection

LSH_SETTINGS = {"FineBooks near_dedup 32x4": (32, 4), "datatrove default 14x8": (14, 8),
                "default recipe minhash 20x4": (20, 4)}


def read_rows(folder: Path) -> list[dict]:
    import pyarrow.parquet as pq

    files = sorted(folder.rglob("*.parquet"))
    return pq.read_table(files).to_pylist() if files else []


# ---------------------------------------------------------------- 1. real data
def eval_real(data: Path, run_dir: Path, reuse: bool) -> dict:
    from finebooks.engine import run_recipe, summarise
    from finebooks.recipe import load_recipe

    if not (reuse and (run_dir / "summary.json").is_file()):
        recipe = load_recipe(REPO / "recipes" / "dedup-shared-data.yaml", overrides={"__input__": str(data)})
        t = time.perf_counter()
        run_recipe(recipe, run_dir)
        print(f"  engine run: {time.perf_counter() - t:.0f} s -> {run_dir}", file=sys.stderr)
    summary = summarise(run_dir)
    near = read_rows(run_dir / "clusters" / "03_near_dedup")
    exact = read_rows(run_dir / "clusters" / "02_exact_dedup")
    ids = {r["id"] for r in read_rows(run_dir / "books")} | {r["id"] for r in read_rows(run_dir / "excluded")}
    known = known_pairs(data, ids)
    merged = merged_pairs(near) | merged_pairs(exact)
    found = known & merged
    false_pos = merged - known - HAND_CHECKED
    # kept copy of each Trove pair: the higher ocr_quality (scores from the cluster records)
    trove = [r for r in near if r["book_id"].startswith("trove/")]
    by_cluster: dict[int, list[dict]] = {}
    for r in trove:
        by_cluster.setdefault(r["cluster_id"], []).append(r)
    kept_best = [max(c, key=lambda r: r["score"] or -1)["book_id"] == next(r for r in c if r["is_kept"])["book_id"]
                 for c in by_cluster.values()]
    overlaps = read_rows(run_dir / "overlaps" / "03_near_dedup")
    return {
        "books": summary.books_in, "kept": summary.kept, "excluded": summary.excluded,
        "unaccounted": summary.unaccounted, "known_pairs": len(known), "found": len(found),
        "missed": sorted(sorted(p) for p in known - merged),
        "hand_checked_pairs_merged": len(HAND_CHECKED & merged),
        "false_positive_pairs": sorted(sorted(p) for p in false_pos),
        "precision": (len(found) + len(HAND_CHECKED & merged)) / max(1, len(merged)),
        "recall": len(found) / max(1, len(known)),
        "trove_pairs_kept_higher_ocr_quality": f"{sum(kept_best)}/{len(kept_best)}",
        "similarity_of_dropped_copies": sorted(round(r["similarity"], 3) for r in near if not r["is_kept"]),
        "overlaps_reported": [(r["book_id"], r["other_id"], r["containment"], r["jaccard"]) for r in overlaps],
    }


# ---------------------------------------------------------------- 2. sample
def eval_sample(workdir: Path) -> dict:
    from finebooks.engine import run_recipe, summarise
    from finebooks.recipe import load_recipe
    from finebooks.sample import make_sample

    sample = workdir / "sample"
    make_sample(sample, seed=0)
    recipe = load_recipe(REPO / "recipes" / "dedup-books.yaml", overrides={"__input__": str(sample)})
    run_recipe(recipe, workdir / "run")
    labels = [json.loads(x) for x in (sample / "labels.jsonl").read_text().splitlines()]
    planted = {frozenset((lab["book_id"], lab["detail"]["duplicate_of"])) for lab in labels
               if lab["defect"] == "duplicate_scan"}
    rows = [r for folder in (workdir / "run" / "clusters").iterdir() for r in read_rows(folder)]
    merged = {frozenset(i.split("/")[-1] for i in p) for p in merged_pairs(rows)}
    s = summarise(workdir / "run")
    return {"planted": len(planted), "found": len(planted & merged), "other_merged": len(merged - planted),
            "similarities": sorted(round(r["similarity"], 3) for r in rows if not r["is_kept"]),
            "books_in": s.books_in, "kept": s.kept, "excluded": s.excluded, "unaccounted": s.unaccounted}


# ---------------------------------------------------------------- 3. curve
def jaccard_matrix(sets: list) -> tuple:
    import numpy as np
    import scipy.sparse as sp

    allh = np.concatenate(sets)
    _, inv = np.unique(allh, return_inverse=True)
    rows = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    x = sp.csr_matrix((np.ones(len(allh), dtype=np.float32), (rows, inv)), shape=(len(sets), int(inv.max()) + 1))
    inter = (x @ x.T).toarray()
    size = np.array([len(s) for s in sets], dtype=float)
    union = size[:, None] + size[None, :] - inter
    return inter / np.maximum(union, 1), inter / np.maximum(np.minimum(size[:, None], size[None, :]), 1)


def datatrove_shingles(text: str):
    from datatrove.pipeline.dedup.minhash import MinhashDedupSignature

    global _DT
    try:
        step = _DT
    except NameError:
        step = _DT = MinhashDedupSignature(output_folder=tempfile.mkdtemp())
    import numpy as np

    return np.unique(step.get_shingles(text).ravel())


def eval_curve(data: Path, with_datatrove: bool) -> dict:
    import numpy as np

    from finebooks.dedup.near import ShingleConfig
    from finebooks.dedup.shingles import lsh_probability

    docs = read_collection(data)
    ids = [d.id for d in docs]
    known = known_pairs(data, set(ids))
    cfg = ShingleConfig()
    t = time.perf_counter()
    sets = [cfg.shingles(d.text)[0] for d in docs]
    print(f"  FineBooks shingles of {len(docs)} books: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    jac, cont = jaccard_matrix(sets)
    true, hand, others = [], [], []
    for i, j in itertools.combinations(range(len(ids)), 2):
        pair = frozenset((ids[i], ids[j]))
        entry = (float(jac[i, j]), float(cont[i, j]), ids[i], ids[j])
        (true if pair in known else hand if pair in HAND_CHECKED else others).append(entry)
    true.sort()
    others.sort(reverse=True)
    out = {"true_pairs": [(round(j, 3), a, b) for j, _, a, b in true],
           "hand_checked_pairs": [(round(j, 3), a, b) for j, _, a, b in hand],
           "top_non_pairs": [(round(j, 3), round(c, 3), a, b) for j, c, a, b in others[:5]],
           "non_pairs_above_0.2": sum(j > 0.2 for j, *_ in others), "n_non_pairs": len(others)}
    if with_datatrove:  # the same pairs with datatrove's stock shingles (simplify_text + spaCy tokens)
        need = sorted({i for p in known for i in p} | {others[0][2], others[0][3]})
        index = {d.id: d for d in docs}
        t = time.perf_counter()
        dsets = {i: datatrove_shingles(index[i].text) for i in need}
        print(f"  datatrove shingles of {len(need)} books: {time.perf_counter() - t:.1f} s", file=sys.stderr)

        def dj(a, b):
            x, y = dsets[a], dsets[b]
            inter = len(np.intersect1d(x, y, assume_unique=True))
            return inter / (len(x) + len(y) - inter)

        out["datatrove_shingles"] = {"true_pairs": sorted(round(dj(a, b), 3) for _, _, a, b in true),
                                     "top_non_pair": round(dj(others[0][2], others[0][3]), 3)}
    grid = [0.1, 0.2, 0.3, 0.36, 0.4, 0.5, 0.6, 0.7, 0.72, 0.8, 0.9]
    out["lsh_probability"] = {name: {str(j): round(float(lsh_probability(j, b, r)), 4) for j in grid}
                              for name, (b, r) in LSH_SETTINGS.items()}
    min_true = true[0][0]
    out["at_min_true_pair"] = {name: round(float(lsh_probability(min_true, b, r)), 4)
                               for name, (b, r) in LSH_SETTINGS.items()}
    out["at_top_non_pair"] = {name: round(float(lsh_probability(others[0][0], b, r)), 4)
                              for name, (b, r) in LSH_SETTINGS.items()}
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    p.add_argument("--run", default="runs/eval-dedup", help="run directory of the real-data recipe run")
    p.add_argument("--reuse", action="store_true", help="reuse an existing real-data run in --run")
    p.add_argument("--skip-engine", action="store_true", help="only the curve (no recipe runs)")
    p.add_argument("--no-datatrove", action="store_true", help="skip datatrove's (slow) shingles in the curve")
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args()
    data = Path(args.data)
    if not data.is_dir():
        print(f"no data at {data} (see ../shared/data/SOURCES.md)", file=sys.stderr)
        return 2
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if not args.skip_engine:
        print("real data (recipe run) ...", file=sys.stderr)
        result["real"] = eval_real(data, Path(args.run) / "shared-data", args.reuse)
        print("sample collection ...", file=sys.stderr)
        with tempfile.TemporaryDirectory() as tmp:
            result["sample"] = eval_sample(Path(tmp))
    print("Jaccard curve ...", file=sys.stderr)
    result["curve"] = eval_curve(data, not args.no_datatrove)
    print(json.dumps(result, indent=1, default=str))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))
    ok = True
    if "real" in result:
        r = result["real"]
        ok = r["found"] == r["known_pairs"] and not r["false_positive_pairs"] and r["unaccounted"] == 0
        s = result["sample"]
        ok = ok and s["found"] == s["planted"] and s["other_merged"] == 0
    print("PASS" if ok else "FAIL", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
