"""Run an ablation: plan the arms, build their corpora once, train a proxy per (arm, seed), evaluate,
decide, and write the results, the report and the pruned recipe.

``finebooks ablate CONFIG`` calls :func:`run_ablation`; ``--dry-run`` calls :func:`plan_ablation`
and prints the plan with a cost estimate from a quick measured tokens/s of the chosen backend.
"""

from __future__ import annotations

import copy
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from finebooks.ablation import arms as armlib
from finebooks.ablation.config import AblationConfig, default_shared_data
from finebooks.ablation.corpora import (
    ArmCorpus,
    Pool,
    apply_thresholds,
    ensure_engine_run,
    is_cached,
    load_books,
    tokenize_pool,
)
from finebooks.ablation.decision import arm_stats, compare, leave_one_out, margin_of, pick_forward
from finebooks.ablation.evalsuite import EvalSuite, build_eval_suite, wilson
from finebooks.ablation.leakage import EvalFingerprints, check_no_leakage, find_overlaps
from finebooks.ablation.sampling import sample_stream
from finebooks.ablation.tokenizer import train_or_load

LN2 = float(np.log(2))


def make_backend(cfg: AblationConfig, vocab_size: int):
    p = cfg.proxy
    if p.backend == "ngram":
        from finebooks.ablation.ngram import NgramBackend

        return NgramBackend(vocab_size, order=p.order)
    from finebooks.ablation.transformer import TransformerBackend

    return TransformerBackend(vocab_size, n_layer=p.n_layer, n_head=p.n_head, d_model=p.d_model, seq_len=p.seq_len,
                              batch_size=p.batch_size, lr=p.lr, device=p.device, eval_batch_size=p.eval_batch_size,
                              threads=p.threads)


# ---------------------------------------------------------------- eval data as tokens
@dataclass
class EvalTokens:
    bpb_seqs: list[np.ndarray]
    bpb_bytes: int
    curve_seqs: list[np.ndarray]
    curve_bytes: int
    items: list[tuple[str, list[np.ndarray], list[int], list[int], int]]  # task, seqs, score-from, bytes, answer

    @classmethod
    def build(cls, suite: EvalSuite, tokenizer, curve_fraction: float = 0.25) -> EvalTokens:
        bos = tokenizer.bos_id
        from finebooks.ablation.tokenizer import prepare_text

        bpb_seqs, nbytes, curve, cbytes = [], 0, [], 0
        for b in suite.books:
            text = prepare_text(b.eval_text)
            ids = tokenizer.encode(text)
            bpb_seqs.append(np.concatenate([[bos], ids]).astype(np.int64))
            nbytes += len(text.encode("utf-8"))
            # the learning curve uses the first part of each book's eval text (cheaper, same text each point)
            cut = text[: max(1, int(len(text) * curve_fraction))]
            cids = tokenizer.encode(cut)
            curve.append(np.concatenate([[bos], cids]).astype(np.int64))
            cbytes += len(cut.encode("utf-8"))
        items = []
        for it in suite.items:
            ctx = tokenizer.encode(it.context)
            seqs, starts, lens = [], [], []
            for c in it.candidates:
                cont = " " + c
                cids = tokenizer.encode(cont)
                seqs.append(np.concatenate([[bos], ctx, cids]).astype(np.int64))
                starts.append(1 + len(ctx))
                lens.append(len(cont.encode("utf-8")))
            items.append((it.task, seqs, starts, lens, it.answer))
        return cls(bpb_seqs, nbytes, curve, cbytes, items)


def bits_per_byte(backend, seqs: list[np.ndarray], nbytes: int) -> float:
    lps = backend.logprobs(seqs)
    nll = -sum(float(lp[1:].sum()) for lp in lps)  # position 0 is BOS: never predicted
    return nll / LN2 / nbytes


def task_scores(backend, ev: EvalTokens) -> dict[str, tuple[int, int]]:
    """Per task: (correct, items) with length-normalised (per byte) log-likelihood."""
    flat = [s for _, seqs, _, _, _ in ev.items for s in seqs]
    lps = backend.logprobs(flat) if flat else []
    out: dict[str, list[int]] = {}
    k = 0
    for task, seqs, starts, lens, answer in ev.items:
        scores = []
        for s, st, nb in zip(seqs, starts, lens):
            scores.append(float(lps[k][st:].sum()) / nb)
            k += 1
        out.setdefault(task, [0, 0])
        out[task][0] += int(int(np.argmax(scores)) == answer)
        out[task][1] += 1
    return {t: (c, n) for t, (c, n) in out.items()}


# ---------------------------------------------------------------- the run
@dataclass
class Ablation:
    cfg: AblationConfig
    output: Path
    log: callable = print
    base: dict = field(default_factory=dict)
    suite: EvalSuite | None = None
    fingerprints: EvalFingerprints | None = None
    pools: dict[str, Pool] = field(default_factory=dict)
    plans: dict[str, armlib.ArmPlan] = field(default_factory=dict)
    corpora: dict[str, ArmCorpus] = field(default_factory=dict)
    tokenizer: object = None
    eval_tokens: EvalTokens | None = None
    rows: list[dict] = field(default_factory=list)
    curves: list[dict] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    _memo: dict[tuple[str, int], tuple[dict, list[dict]]] = field(default_factory=dict)
    _token_memo: dict = field(default_factory=dict)
    backend_info: str = ""

    # ---- planning
    def load_base(self):
        self.base = armlib.load_recipe_data(self.cfg.resolve_path(self.cfg.base_recipe), self.cfg.input)

    def initial_plans(self) -> list[armlib.ArmPlan]:
        cfg = self.cfg
        if cfg.mode == "arms":
            return armlib.explicit_arms(cfg, self.base)
        cands = armlib.candidate_refs(cfg, self.base)
        if cfg.mode == "leave_one_out":
            plans = [armlib.make_plan("base", self.base, "the base recipe")]
            for c in cands:
                data, changes = armlib.apply_changes(self.base, remove=[c])
                plans.append(armlib.make_plan(f"-{c}", data, f"base without {c}", changes))
            return plans
        floor = armlib.subset_plan(self.base, set(), cands, "floor", "base without any candidate")
        return [floor] + [armlib.subset_plan(self.base, {c}, cands, f"floor+{c}", f"floor with {c}") for c in cands]

    def sample_hint(self) -> str | None:
        return self.cfg.input or self.base.get("input_root") or (
            self.base.get("input", {}).get("path") if isinstance(self.base.get("input"), dict) else None)

    def build_suite(self):
        t0 = time.perf_counter()
        self.suite = build_eval_suite(self.cfg.eval, default_shared_data(), self.sample_hint())
        self.fingerprints = EvalFingerprints([(b.id, b.full_text) for b in self.suite.books],
                                             threshold=self.cfg.eval.near_duplicate_threshold)
        self.timings["eval_suite"] = time.perf_counter() - t0
        self.log(f"eval: {self.suite.describe()}")

    # ---- corpora
    def pool_for(self, plan: armlib.ArmPlan) -> Pool:
        key = plan.engine_key
        if key in self.pools:
            return self.pools[key]
        run_dir, seconds, cached = ensure_engine_run(plan, self.cfg.cache_dir, self.cfg.executor, log=self.log)
        self.timings["engine_runs"] = self.timings.get("engine_runs", 0.0) + (0.0 if cached else seconds)
        ids, texts, metas = load_books(run_dir)
        pool = Pool(key, run_dir, ids, texts, metas, seconds=seconds, cached=cached)
        if self.cfg.eval.exclude_from_training:
            overlaps = find_overlaps(zip(ids, texts), self.fingerprints)
            bad = {o.doc_id for o in overlaps}
            if bad:
                keep = [i for i, x in enumerate(ids) if x not in bad]
                pool.ids = [ids[i] for i in keep]
                pool.texts = [texts[i] for i in keep]
                pool.metas = [metas[i] for i in keep]
                pool.removed_for_eval = [{"id": o.doc_id, "eval_book": o.eval_id, "by_id": o.by_id,
                                          "overlap": round(o.overlap, 3)} for o in overlaps]
                self.log(f"  {len(bad)} book(s) of {run_dir.name} are eval books or near-duplicates of one: "
                         "taken out of training")
        self.pools[key] = pool
        if self.tokenizer is not None:
            tokenize_pool(pool, self.tokenizer, log=self.log, memo=self._token_memo)
        return pool

    def corpus_for(self, plan: armlib.ArmPlan) -> ArmCorpus:
        if plan.name in self.corpora:
            return self.corpora[plan.name]
        pool = self.pool_for(plan)
        idx, dropped = apply_thresholds(pool, plan.thresholds)
        corpus = ArmCorpus(plan.name, pool, idx, dropped)
        # the guard: the exact documents this arm trains on, against every eval book
        check_no_leakage(plan.name, corpus.docs(), self.fingerprints)
        self.corpora[plan.name] = corpus
        self.plans[plan.name] = plan
        return corpus

    def ensure_tokenizer(self):
        if self.tokenizer is not None:
            return
        t0 = time.perf_counter()
        pools = list(self.pools.values())
        # round-robin over the pools so each contributes when max_bytes cuts the text
        texts, n = [], max((len(p.texts) for p in pools), default=0)
        for i in range(n):
            for p in pools:
                if i < len(p.texts):
                    texts.append(p.texts[i])
        self.tokenizer = train_or_load(texts, self.cfg.vocab_size, self.cfg.cache_dir, self.cfg.tokenizer_max_bytes,
                                       log=self.log)
        for p in pools:
            tokenize_pool(p, self.tokenizer, log=self.log, memo=self._token_memo)
        self.eval_tokens = EvalTokens.build(self.suite, self.tokenizer)
        self.timings["tokenizer"] = time.perf_counter() - t0

    # ---- training and evaluation
    def train_eval(self, arm: str, seed: int) -> None:
        corpus = self.corpora[arm]
        key = (corpus.digest(), seed)
        if key in self._memo:  # same corpus and seed (e.g. a greedy round repeating an arm): same numbers
            row, curve = self._memo[key]
            self.rows.append({**row, "arm": arm})
            self.curves.extend({**c, "arm": arm} for c in curve)
            return
        cfg = self.cfg
        books = [corpus.pool.tokens[i] for i in corpus.index]
        stream = sample_stream(books, cfg.tokens, cfg.chunk_tokens, seed, self.tokenizer.bos_id, cfg.sampling)
        backend = make_backend(cfg, self.tokenizer.vocab_size)
        ev = self.eval_tokens
        curve: list[dict] = []
        n_points = max(0, cfg.eval.curve_points)
        checkpoints = [int(cfg.tokens * (2 ** -k)) for k in range(n_points - 1, 0, -1)] if n_points > 1 else []

        nominal = checkpoints + [cfg.tokens]

        def on_checkpoint(tokens_seen: int):
            # chunks end where they end: report the checkpoint asked for (and the tokens actually seen)
            target = min(nominal, key=lambda x: abs(x - tokens_seen))
            curve.append({"arm": arm, "seed": seed, "tokens": target, "tokens_seen": tokens_seen,
                          "bpb": bits_per_byte(backend, ev.curve_seqs, ev.curve_bytes)})

        t0 = time.perf_counter()
        info = backend.train(stream.chunks, seed, checkpoints=checkpoints, on_checkpoint=on_checkpoint,
                             log=self.log if cfg.proxy.backend == "transformer" else None)
        t1 = time.perf_counter()
        bpb = bits_per_byte(backend, ev.bpb_seqs, ev.bpb_bytes)
        tasks = task_scores(backend, ev)
        t2 = time.perf_counter()
        self.backend_info = backend.describe()
        row = {"arm": arm, "seed": seed, "bpb": bpb, "train_tokens": stream.tokens,
               "corpus_tokens": stream.corpus_tokens, "repeat_factor": stream.repeat_factor,
               "train_seconds": info["train_seconds"], "train_tokens_per_s": info["train_tokens_per_s"],
               "train_wall_seconds": t1 - t0, "eval_seconds": t2 - t1}
        for k in ("device", "parameters", "ngram_entries"):
            if k in info:
                row[k] = info[k]
        for t, (c, n) in tasks.items():
            row[t] = c / n if n else float("nan")
            row[f"{t}_correct"] = c
            row[f"{t}_n"] = n
        self.rows.append(row)
        self.curves.extend(curve)
        self._memo[key] = (row, curve)
        acc = "  ".join(f"{t} {row[t]:.3f}" for t in tasks)
        self.log(f"  {arm:<32} seed {seed}: bpb {bpb:.4f}  {acc}  "
                 f"({stream.note()}; train {info['train_seconds']:.1f} s, "
                 f"{info['train_tokens_per_s']:,.0f} tok/s; eval {t2 - t1:.1f} s)")

    def run_arms(self, plans: list[armlib.ArmPlan]) -> None:
        for p in plans:
            self.pool_for(p)
        self.ensure_tokenizer()
        for p in plans:
            c = self.corpus_for(p)
            if not c.index:
                raise ValueError(f"arm {p.name!r}: no book passes its stages (thresholds dropped {c.dropped_by_threshold})")
        t0 = time.perf_counter()
        for p in plans:
            if any(r["arm"] == p.name for r in self.rows):
                continue
            for seed in self.cfg.seeds:
                self.train_eval(p.name, seed)
        self.timings["models"] = self.timings.get("models", 0.0) + time.perf_counter() - t0


def _metrics(ab: Ablation) -> tuple[list[str], list[str]]:
    tasks = sorted({t for t, *_ in ab.eval_tokens.items}) if ab.eval_tokens else []
    return ["bpb"] + tasks, tasks


def run_ablation(cfg: AblationConfig, output: str | Path | None = None, log=print, argv: list[str] | None = None) -> dict:
    """Run the whole ablation; returns the results mapping (also written to OUTPUT/results.json)."""
    from finebooks.ablation.report import write_outputs

    start = time.perf_counter()
    out = Path(output or cfg.output or Path("runs") / "ablations" / cfg.name)
    out.mkdir(parents=True, exist_ok=True)
    ab = Ablation(cfg, out, log)
    ab.load_base()
    ab.build_suite()
    plans = ab.initial_plans()
    log(f"ablation {cfg.name}: mode {cfg.mode}, {len(plans)} arm(s) x {len(cfg.seeds)} seed(s), "
        f"{cfg.tokens:,} tokens each, backend {cfg.proxy.backend}")
    ab.run_arms(plans)
    metrics, tasks = _metrics(ab)
    dc = cfg.decision
    stats = arm_stats(ab.rows, metrics)
    margin, sigma = margin_of(stats, dc.margin_sigma, dc.margin, dc.primary)
    decisions: dict = {"mode": cfg.mode, "margin": margin, "sigma": sigma, "margin_sigma": dc.margin_sigma,
                       "absolute_margin": dc.margin}
    if cfg.mode == "arms":
        comp = cfg.comparison or plans[0].name
        if comp not in stats:
            raise ValueError(f"comparison arm {comp!r} is not an arm; arms: {', '.join(stats)}")
        comps = [compare(stats, p.name, comp, margin, tasks, dc.secondary_alpha, dc.primary)
                 for p in plans if p.name != comp]
        decisions["comparison"] = comp
        decisions["comparisons"] = [asdict(c) | {"verdict": c.verdict()} for c in comps]
        # the sanity arms are references (e.g. clean gold text), never a recipe to choose
        reference = {cfg.sanity["noisy"], cfg.sanity["clean"]} - {comp} if cfg.sanity else set()
        kept = [c for c in comps if c.keep and c.arm not in reference]
        best = max(kept, key=lambda c: c.delta).arm if kept else comp
        decisions["reference_arms"] = sorted(reference)
        decisions["chosen_arm"] = best
        pruned = ab.plans[best].recipe_data
    elif cfg.mode == "leave_one_out":
        cands = armlib.candidate_refs(cfg, ab.base)
        sd = leave_one_out(stats, "base", {c: f"-{c}" for c in cands}, margin, tasks, dc.secondary_alpha)
        decisions["stages"] = [{"stage": d.stage, "keep": d.keep, "reason": d.reason,
                                **({"delta": d.comparison.delta, "verdict": d.comparison.verdict(),
                                    "secondary_losses": d.comparison.secondary_losses} if d.comparison else {})}
                               for d in sd]
        keep = {d.stage for d in sd if d.keep}
        pruned_plan = armlib.subset_plan(ab.base, keep, cands, "pruned")
        pruned = pruned_plan.recipe_data
    else:  # greedy forward
        cands = armlib.candidate_refs(cfg, ab.base)
        chosen: list[str] = []
        current = "floor"
        rounds = []
        while True:
            remaining = [c for c in cands if c not in chosen]
            if not remaining:
                break
            options = {}
            new_plans = []
            for c in remaining:
                name = "floor+" + "+".join(chosen + [c])
                if name not in ab.plans:
                    new_plans.append(armlib.subset_plan(ab.base, set(chosen + [c]), cands, name,
                                                        f"{current} with {c}"))
                options[c] = name
            if new_plans:
                log(f"greedy round {len(rounds) + 1}: {len(new_plans)} new arm(s) over {current}")
                ab.run_arms(new_plans)
            stats = arm_stats(ab.rows, metrics)
            margin, sigma = margin_of(stats, dc.margin_sigma, dc.margin, dc.primary)
            best, comps = pick_forward(stats, current, options, margin, tasks, dc.secondary_alpha)
            rounds.append({"current": current, "added": best, "margin": margin,
                           "comparisons": [asdict(c) | {"verdict": c.verdict()} for c in comps]})
            if best is None:
                break
            chosen.append(best)
            current = options[best]
        decisions.update({"rounds": rounds, "chosen": chosen, "margin": margin, "sigma": sigma})
        pruned = armlib.subset_plan(ab.base, set(chosen), cands, "pruned").recipe_data
    stats = arm_stats(ab.rows, metrics)
    if cfg.sanity:
        decisions["sanity"] = sanity_check(stats, cfg.sanity)
    pruned = copy.deepcopy(pruned)
    pruned["name"] = f"{ab.base.get('name', 'recipe')}-pruned-by-{cfg.name}"
    pruned.pop("_source", None)
    ab.timings["total"] = time.perf_counter() - start
    results = collect_results(ab, stats, decisions, metrics, tasks, argv)
    write_outputs(out, results, ab.rows, ab.curves, pruned, log=log)
    return results


def sanity_check(stats, sanity: dict) -> dict:
    """Does clean text beat noisy text by more than ``min_sigma`` pooled seed sigmas on bpb?"""
    noisy, clean = sanity["noisy"], sanity["clean"]
    for a in (noisy, clean):
        if a not in stats:
            raise ValueError(f"sanity: {a!r} is not an arm; arms: {', '.join(stats)}")
    from finebooks.ablation.decision import pooled_sigma

    sigma = pooled_sigma(stats)
    gap = stats[noisy].mean["bpb"] - stats[clean].mean["bpb"]
    need = float(sanity.get("min_sigma", 3))
    in_sigma = gap / sigma if sigma > 0 else float("inf")
    return {"noisy": noisy, "clean": clean, "gap_bpb": gap, "sigma": sigma, "gap_in_sigma": in_sigma,
            "min_sigma": need, "passed": bool(in_sigma > need)}


def collect_results(ab: Ablation, stats, decisions, metrics, tasks, argv) -> dict:
    cfg = ab.cfg
    arms_info = []
    for name, c in ab.corpora.items():
        p = ab.plans[name]
        arms_info.append({
            "arm": name, "description": p.description, "changes": p.changes, "stages": p.stages,
            "thresholds": p.thresholds, "engine_run": str(c.pool.run_dir), "engine_run_cached": c.pool.cached,
            "engine_seconds": c.pool.seconds, "books": len(c.index), "text_bytes": c.pool.text_bytes(c.index),
            "tokens": c.n_tokens(), "dropped_by_threshold": c.dropped_by_threshold,
            "removed_for_eval": len(c.pool.removed_for_eval)})
    summary = []
    for a, s in stats.items():
        row = {"arm": a, "seeds": s.n, "bpb_mean": s.mean["bpb"], "bpb_std": s.std["bpb"]}
        for t in tasks:
            row[f"{t}_mean"] = s.mean[t]
            row[f"{t}_std"] = s.std[t]
            lo, hi = wilson(s.correct.get(t, 0), s.items.get(t, 0))
            row[f"{t}_ci95"] = [lo, hi]
        summary.append(row)
    removed = {p.run_dir.name: p.removed_for_eval for p in ab.pools.values() if p.removed_for_eval}
    return {
        "name": cfg.name, "description": cfg.description, "config_file": cfg.source, "config": cfg.raw,
        "command": " ".join(argv) if argv else None, "mode": cfg.mode,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": __import__("os").cpu_count()},
        "backend": {"name": cfg.proxy.backend, "description": ab.backend_info, "config": asdict(cfg.proxy)},
        "tokenizer": {"path": str(ab.tokenizer.path), "vocab_size": ab.tokenizer.vocab_size},
        "budget": {"tokens": cfg.tokens, "chunk_tokens": cfg.chunk_tokens, "sampling": cfg.sampling,
                   "seeds": cfg.seeds},
        "eval": {"source": ab.suite.source, "location": ab.suite.location, "books": [b.id for b in ab.suite.books],
                 "eval_bytes": ab.suite.eval_bytes, "description": ab.suite.describe(),
                 "items": {t: sum(1 for i in ab.suite.items if i.task == t) for t in tasks},
                 "removed_from_training": removed,
                 "leakage_check": f"passed for {len(ab.corpora)} arm(s): no eval book id and no near-duplicate "
                                  f"(sampled 5-gram overlap >= {cfg.eval.near_duplicate_threshold}) in training data"},
        "arms": arms_info, "summary": summary, "decisions": decisions, "metrics": metrics,
        "timings": ab.timings, "models": len(ab.rows),
        "approximations": _approximations(ab),
    }


def _is_collection_stage(name: str) -> bool:
    """A stage that looks at the whole collection (multi-stage dedup), not one book at a time."""
    from finebooks.registry import REGISTRY

    spec = REGISTRY.get(name)
    return (spec is not None and spec.kind == "multi") or name.endswith("dedup")


def _approximations(ab: Ablation) -> list[str]:
    notes = []
    approx = []
    for name, p in ab.plans.items():
        stages = p.recipe_data.get("stages") or []
        names = [armlib.entry_name_params(e)[0] for e in stages]
        first_thr = next((i for i, n in enumerate(names) if n == armlib.THRESHOLD_STAGE), None)
        if first_thr is not None and any(_is_collection_stage(n) for n in names[first_thr:]):
            approx.append(name)
    if approx:
        notes.append(f"{len(approx)} arm(s) ({', '.join(approx[:4])}{', ...' if len(approx) > 4 else ''}) have "
                     "thresholds before a collection-wide stage (dedup); thresholds are applied after the whole "
                     "engine part, so that stage also saw the books they drop (a different canonical copy may "
                     "have been kept)")
    same: dict[str, list[str]] = {}
    for name, c in ab.corpora.items():
        same.setdefault(c.digest(), []).append(name)
    for group in same.values():
        if len(group) > 1:
            notes.append(f"identical training corpora (same books after all stages, so the same numbers): "
                         f"{', '.join(group)}")
    reps = [r["repeat_factor"] for r in ab.rows]
    if reps and max(reps) > 1:
        worst = max(ab.rows, key=lambda r: r["repeat_factor"])
        notes.append(f"some arms are smaller than the token budget: text repeated up to {worst['repeat_factor']:.2f}x "
                     f"(arm {worst['arm']})")
    return notes


# ---------------------------------------------------------------- dry run
def measure_backend_speed(cfg: AblationConfig, vocab_size: int, n_tokens: int = 100_000) -> dict:
    """Quick measured training/eval speed of the backend on a synthetic Zipf token stream."""
    rng = np.random.default_rng(0)
    toks = (rng.zipf(1.2, size=n_tokens) % (vocab_size - 1) + 1).astype(np.int64)
    chunks = [np.concatenate([[0], c]) for c in np.array_split(toks, max(1, n_tokens // cfg.chunk_tokens))]
    if cfg.proxy.backend == "transformer":  # a few steps only
        chunks = chunks[: max(1, (cfg.proxy.batch_size * cfg.proxy.seq_len * 3) // cfg.chunk_tokens + 1)]
    backend = make_backend(cfg, vocab_size)
    info = backend.train(chunks, 0)
    t0 = time.perf_counter()
    ev = chunks[: max(1, len(chunks) // 4)]
    backend.logprobs(ev)
    n_eval = sum(len(c) for c in ev)
    return {"train_tokens_per_s": info["train_tokens_per_s"],
            "eval_tokens_per_s": n_eval / max(time.perf_counter() - t0, 1e-9), "probe_tokens": info["train_tokens"]}


def plan_ablation(cfg: AblationConfig, log=print) -> dict:
    """The dry run: arms, engine runs (cached or not), models and an estimated time."""
    ab = Ablation(cfg, Path(cfg.output or "."), log)
    ab.load_base()
    plans = ab.initial_plans()
    lines = [f"ablation {cfg.name} ({cfg.source}): mode {cfg.mode}, base recipe {cfg.base_recipe}"
             + (f", input {cfg.input}" if cfg.input else "")]
    keys: dict[str, list[str]] = {}
    for p in plans:
        keys.setdefault(p.engine_key, []).append(p.name)
    lines.append(f"arms ({len(plans)}):")
    for p in plans:
        thr = "; ".join(f"{t.get('key')} in [{t.get('min')}, {t.get('max')}]" for t in p.thresholds) or "none"
        lines.append(f"  {p.name:<36} engine run {p.engine_key} "
                     f"({'cached' if is_cached(p, cfg.cache_dir) else 'to run'}); thresholds: {thr}")
        if p.changes:
            lines.append(f"  {'':<36} changes: {'; '.join(p.changes)}")
    to_run = [k for k, names in keys.items() if not is_cached(next(p for p in plans if p.engine_key == k), cfg.cache_dir)]
    lines.append(f"engine runs: {len(keys)} distinct ({len(to_run)} to run, {len(keys) - len(to_run)} cached) "
                 f"under {Path(cfg.cache_dir) / 'runs'}")
    if cfg.mode == "greedy_forward":
        k = len(plans) - 1
        lines.append(f"greedy forward: up to {k * (k + 1) // 2 + 1} arms over all rounds (round 1 shown)")
    try:
        suite = build_eval_suite(cfg.eval, default_shared_data(), ab.sample_hint())
        lines.append(f"eval: {suite.describe()}")
        eval_bytes, n_items = suite.eval_bytes, len(suite.items)
    except (OSError, ValueError) as e:
        lines.append(f"eval: NOT AVAILABLE: {e}")
        eval_bytes, n_items = 0, 0
    n_models = len(plans) * len(cfg.seeds)
    speed = measure_backend_speed(cfg, cfg.vocab_size)
    # eval cost: ~ bytes/4 tokens of text, each MC item 4 candidates of ~60 tokens, plus the curve points
    eval_tokens = eval_bytes / 4 * (1 + 0.25 * max(0, cfg.eval.curve_points - 1)) + n_items * 4 * 80
    curve_train = sum(2 ** -k for k in range(1, max(1, cfg.eval.curve_points))) if cfg.proxy.backend == "ngram" else 0
    per_model = cfg.tokens * (1 + curve_train) / speed["train_tokens_per_s"] + eval_tokens / speed["eval_tokens_per_s"]
    lines.append(f"models: {len(plans)} arms x {len(cfg.seeds)} seeds = {n_models}, {cfg.tokens:,} tokens each "
                 f"({n_models * cfg.tokens:,} training tokens), backend {cfg.proxy.backend}")
    lines.append(f"measured now on this machine: training {speed['train_tokens_per_s']:,.0f} tokens/s, "
                 f"eval {speed['eval_tokens_per_s']:,.0f} tokens/s (synthetic Zipf stream)")
    lines.append(f"estimated model time: {n_models * per_model:,.1f} s ({per_model:.2f} s per model) "
                 f"+ {len(to_run)} engine run(s) (not estimated: they depend on the recipe's stages and input size)")
    for line in lines:
        log(line)
    return {"arms": [p.name for p in plans], "engine_runs": len(keys), "engine_runs_to_run": len(to_run),
            "models": n_models, "estimated_model_seconds": n_models * per_model, "speed": speed}


__all__ = ["plan_ablation", "run_ablation"]
