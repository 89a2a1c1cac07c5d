"""MinHash signature + bucket throughput: FineBooks ``near_dedup`` vs datatrove's stock stages.

Both run on the same books in the same invocation, each implementation in its own child process
(so that its peak memory is its own), one after the other, single-threaded (MB/s per core):

* **datatrove**: ``MinhashDedupSignature`` (spaCy word tokenizer, xxhash per 5-gram, 112 or 128
  hash permutations, signature files sorted per bucket) then ``MinhashDedupBuckets`` for every
  bucket (heap merge of the signature files);
* **FineBooks**: ``BookSketcher`` (OCR-tolerant normalisation, vectorised word hashes, one-permutation
  MinHash with densification, band keys, verification sample) then ``LshBuckets`` (numpy sort).

Throughput = MB of book text / seconds of the step (reading the books is not timed). Peak memory
is the child's maximum RSS (``ru_maxrss``), which includes the books held in memory (the same for
both). Absolute MB/s depends on the machine and its load; the ratio of the two, measured in the
same run, is the figure that matters.

    python benchmarks/bench_minhash.py                      # Trove books, 10 MB
    python benchmarks/bench_minhash.py --mb 30 --rounds 2   # more text, best of 2 rounds
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "raw_ocr" / "trove_nla_books"


def load_books(path: str, mb: float) -> list:
    from finebooks.readers.text import TroveTextReader

    docs, total = [], 0
    for doc in TroveTextReader(path, source="trove").run(None, 0, 1):
        docs.append(doc)
        total += len(doc.text.encode("utf-8"))
        if total >= mb * 1e6:
            break
    return docs


def run_datatrove(docs, work: Path, bands: int, rows: int) -> dict:
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets, MinhashDedupSignature

    cfg = MinhashConfig(n_grams=5, num_buckets=bands, hashes_per_bucket=rows)
    sig = MinhashDedupSignature(output_folder=str(work / "sigs"), config=cfg, language="en")
    t0 = time.perf_counter()
    sig.run(iter(docs), 0, 1)
    t1 = time.perf_counter()
    for b in range(bands):
        MinhashDedupBuckets(input_folder=str(work / "sigs"), output_folder=str(work / "buckets"),
                            config=cfg).run(None, b, bands)
    t2 = time.perf_counter()
    n_pairs = sum(f.stat().st_size // 16 for f in (work / "buckets").glob("*.dups"))
    return {"signature_s": t1 - t0, "buckets_s": t2 - t1, "bucket_matches": n_pairs}


def run_finebooks(docs, work: Path, bands: int, rows: int) -> dict:
    from finebooks.dedup.near import LshBuckets, NearDuplicateDedup

    dedup = NearDuplicateDedup(num_bands=bands, rows_per_band=rows)
    t0 = time.perf_counter()
    for _ in dedup.sketcher(str(work)).run(iter(docs), 0, 1):
        pass
    t1 = time.perf_counter()
    for _ in LshBuckets(str(work / "bands"), str(work / "pairs"), bands).run(None, 0, 1):
        pass
    t2 = time.perf_counter()
    n_pairs = sum(f.stat().st_size // 16 for f in (work / "pairs").glob("*.bin"))
    return {"signature_s": t1 - t0, "buckets_s": t2 - t1, "bucket_matches": n_pairs}


def worker(args) -> None:
    """Child process: load the books, run one implementation, print a JSON line."""
    docs = load_books(args.data, args.mb)
    mb = sum(len(d.text.encode("utf-8")) for d in docs) / 1e6
    rss_books = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory() as tmp:
        fn = run_datatrove if args.worker == "datatrove" else run_finebooks
        res = fn(docs, Path(tmp), args.bands, args.rows)
    res.update(impl=args.worker, books=len(docs), mb=mb, bands=args.bands, rows=args.rows,
               peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, rss_after_load_mb=rss_books)
    print("RESULT " + json.dumps(res))


def child(impl: str, args, bands: int, rows: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", impl, "--data", args.data, "--mb", str(args.mb),
           "--bands", str(bands), "--rows", str(rows)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not line:
        raise RuntimeError(f"{impl} failed:\n{proc.stderr[-3000:]}")
    return json.loads(line[-1][7:])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(DEFAULT_DATA), help="a folder of Trove .txt books")
    p.add_argument("--mb", type=float, default=10.0, help="MB of book text to use")
    p.add_argument("--rounds", type=int, default=1, help="repeat and keep the best time of each")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--worker", choices=["datatrove", "finebooks"], help=argparse.SUPPRESS)
    p.add_argument("--bands", type=int, default=32, help=argparse.SUPPRESS)
    p.add_argument("--rows", type=int, default=4, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return 0
    if not Path(args.data).is_dir():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    # datatrove at its own default (14 x 8) and at FineBooks' default (32 x 4); FineBooks at its default
    configs = [("datatrove", 14, 8), ("datatrove", 32, 4), ("finebooks", 32, 4)]
    best: dict[tuple, dict] = {}
    for r in range(args.rounds):
        for impl, b, rows in configs:
            print(f"round {r + 1}: {impl} {b}x{rows} ...", file=sys.stderr, flush=True)
            res = child(impl, args, b, rows)
            key = (impl, b, rows)
            if key not in best:
                best[key] = res
            else:
                for k in ("signature_s", "buckets_s"):
                    best[key][k] = min(best[key][k], res[k])
                best[key]["peak_rss_mb"] = max(best[key]["peak_rss_mb"], res["peak_rss_mb"])
    rows_out = []
    for (impl, b, r), res in best.items():
        mb = res["mb"]
        total = res["signature_s"] + res["buckets_s"]
        res.update(signature_mb_s=mb / res["signature_s"], buckets_mb_s=mb / res["buckets_s"], total_mb_s=mb / total)
        rows_out.append(res)
    fb = best[("finebooks", 32, 4)]
    print(f"\n{fb['books']} Trove books, {fb['mb']:.1f} MB, one core each, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"{'implementation':<22}{'signature MB/s':>15}{'buckets MB/s':>14}{'sig+buckets MB/s':>18}"
          f"{'peak RSS MB':>13}{'bucket matches':>16}")
    for res in rows_out:
        name = f"{res['impl']} {res['bands']}x{res['rows']}"
        print(f"{name:<22}{res['signature_mb_s']:>15.2f}{res['buckets_mb_s']:>14.1f}{res['total_mb_s']:>18.2f}"
              f"{res['peak_rss_mb']:>13.0f}{res['bucket_matches']:>16}")
    for key in (("datatrove", 14, 8), ("datatrove", 32, 4)):
        dt = best[key]
        print(f"FineBooks / datatrove {key[1]}x{key[2]}: signature x{fb['signature_mb_s'] / dt['signature_mb_s']:.1f}, "
              f"buckets x{fb['buckets_mb_s'] / dt['buckets_mb_s']:.1f}, "
              f"signature+buckets x{fb['total_mb_s'] / dt['total_mb_s']:.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows_out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
