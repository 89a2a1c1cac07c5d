"""Corpora per arm, built once and cached.

An arm's corpus is (engine run of its engine part) -> (its threshold filters) -> (eval books
taken out). Engine runs go through the recipe engine (:func:`finebooks.engine.run_recipe`) into
``CACHE/runs/<recipe name>-<hash>/`` — the hash covers the inputs, the stages and their
parameters — so every arm, seed and later ablation with the same engine part reuses the run,
and an interrupted run resumes. Threshold filters are applied to the run's books (Parquet, with
all scores in ``metadata_json``) with the very same check as the ``metadata_filter`` stage
(:meth:`MetadataThresholdFilter.check`), so a threshold sweep re-scores nothing.

Books are tokenized once per (engine run, tokenizer) and cached as ``.npz`` beside the run.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from finebooks.ablation.arms import ArmPlan


@dataclass
class Pool:
    """The books of one engine run (after eval books are taken out)."""

    key: str
    run_dir: Path
    ids: list[str]
    texts: list[str]
    metas: list[dict]
    removed_for_eval: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    cached: bool = False
    tokens: list[np.ndarray] | None = None

    def text_bytes(self, idx=None) -> int:
        idx = range(len(self.texts)) if idx is None else idx
        return sum(len(self.texts[i].encode("utf-8")) for i in idx)


@dataclass
class ArmCorpus:
    name: str
    pool: Pool
    index: list[int]                  # indices into pool books
    dropped_by_threshold: dict[str, int] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return [self.pool.ids[i] for i in self.index]

    def docs(self):
        for i in self.index:
            yield self.pool.ids[i], self.pool.texts[i]

    def n_tokens(self) -> int:
        return int(sum(len(self.pool.tokens[i]) for i in self.index)) if self.pool.tokens is not None else 0

    def digest(self) -> str:
        h = hashlib.sha256(self.pool.key.encode())
        for i in self.index:
            h.update(self.pool.ids[i].encode())
            h.update(b"\0")
        return h.hexdigest()[:16]


def run_dir_for(plan: ArmPlan, cache_dir: str | Path) -> Path:
    name = str(plan.engine_data.get("name") or "recipe").replace("/", "_")
    return Path(cache_dir) / "runs" / f"{name}-{plan.engine_key}"


def is_cached(plan: ArmPlan, cache_dir: str | Path) -> bool:
    return (run_dir_for(plan, cache_dir) / "ablation_pool.json").is_file()


def ensure_engine_run(plan: ArmPlan, cache_dir: str | Path, executor: dict | None = None, log=print) -> tuple[Path, float, bool]:
    """Run the arm's engine part unless its cached run is complete; returns (run dir, seconds, cached)."""
    from finebooks.engine import run_recipe
    from finebooks.recipe import validate

    run_dir = run_dir_for(plan, cache_dir)
    marker = run_dir / "ablation_pool.json"
    if marker.is_file():
        return run_dir, float(json.loads(marker.read_text()).get("seconds", 0.0)), True
    data = copy.deepcopy(plan.engine_data)
    data.setdefault("output", {})
    data["output"] = dict(data["output"] or {})
    data["output"]["path"] = str(run_dir)
    data["output"]["format"] = "parquet"
    if executor:
        ex = dict(data.get("executor") or {})
        ex.update({k: v for k, v in executor.items() if k in ("type", "tasks", "workers", "options")})
        data["executor"] = ex
    recipe = validate(data, source=f"<engine part of arm {plan.name}>")
    log(f"engine run {run_dir.name}: {len(recipe.stages)} stage(s) "
        f"({', '.join(s.label for s in recipe.stages) or 'read only'}) ...")
    t0 = time.perf_counter()
    summary = run_recipe(recipe, run_dir)
    seconds = time.perf_counter() - t0
    if summary.unaccounted:
        raise RuntimeError(f"engine run {run_dir}: {summary.unaccounted} books unaccounted for; see its summary.json")
    marker.write_text(json.dumps({"key": plan.engine_key, "seconds": seconds, "kept": summary.kept,
                                  "books_in": summary.books_in, "recipe": data}, indent=2, default=str))
    log(f"engine run {run_dir.name}: {summary.kept} of {summary.books_in} books kept in {seconds:.1f} s")
    return run_dir, seconds, False


def load_books(run_dir: Path) -> tuple[list[str], list[str], list[dict]]:
    import pyarrow.parquet as pq

    files = sorted((run_dir / "books").rglob("*.parquet"))
    rows = []
    for f in files:
        t = pq.read_table(f, columns=["id", "text", "metadata_json"])
        for i, text, meta in zip(t.column("id").to_pylist(), t.column("text").to_pylist(),
                                 t.column("metadata_json").to_pylist()):
            rows.append((i, text or "", json.loads(meta) if meta else {}))
    rows.sort(key=lambda r: r[0])
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def apply_thresholds(pool: Pool, thresholds: list[dict]) -> tuple[list[int], dict[str, int]]:
    """Indices of the pool's books that pass every threshold (in recipe order), and drops per reason."""
    from finebooks.filters.metadata_threshold import MetadataThresholdFilter

    filters = [MetadataThresholdFilter(**t) for t in thresholds]
    keep, dropped = [], {}
    for i, meta in enumerate(pool.metas):
        for f in filters:
            verdict = f.check(meta.get(f.key))
            if verdict is not True:
                dropped[verdict[0]] = dropped.get(verdict[0], 0) + 1
                break
        else:
            keep.append(i)
    return keep, dropped


def tokenize_pool(pool: Pool, tokenizer, log=print, memo: dict | None = None) -> None:
    """Token ids of every book of the pool (cached beside the run, per tokenizer).

    ``memo`` (text hash -> ids) is shared by the pools of one ablation: a book whose text no stage
    changed (scorers, filters and dedup only annotate or drop) is encoded once for all pools."""
    tk_name = Path(tokenizer.path).stem if tokenizer.path else "tokenizer"
    h = hashlib.sha256("\0".join(pool.ids).encode()).hexdigest()[:12]
    cache = pool.run_dir / f"tokens-{tk_name}-{h}.npz"
    if cache.is_file():
        z = np.load(cache)
        flat, offsets = z["flat"], z["offsets"]
        pool.tokens = [flat[offsets[i]: offsets[i + 1]] for i in range(len(offsets) - 1)]
        return
    t0 = time.perf_counter()
    memo = {} if memo is None else memo
    keys = [hashlib.sha1(t.encode("utf-8", "surrogatepass")).digest() for t in pool.texts]
    todo = sorted({i for i, k in enumerate(keys) if k not in memo})
    for i, ids in zip(todo, tokenizer.encode_batch([pool.texts[i] for i in todo]) if todo else []):
        memo[keys[i]] = ids
    pool.tokens = [memo[k] for k in keys]
    lens = np.array([len(t) for t in pool.tokens], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lens)])
    flat = np.concatenate(pool.tokens) if pool.tokens else np.zeros(0, np.int32)
    np.savez(cache, flat=flat, offsets=offsets)
    log(f"tokenized {pool.run_dir.name}: {len(flat):,} tokens from {pool.text_bytes() / 1e6:.2f} MB "
        f"in {time.perf_counter() - t0:.1f} s ({len(todo)} of {len(keys)} books encoded, the rest shared)")
