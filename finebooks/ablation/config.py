"""Ablation configs: a base recipe, arms, a proxy model, a token budget, seeds, an eval suite and a
decision rule (YAML in ``ablations/``; reference in ``docs/ablation.md``).

Arms are recipes derived from the base one:

* ``mode: arms`` — the arms are listed (``arms:``), optionally with a ``sweep:`` of one stage
  parameter (a threshold) that adds one arm per value; each arm is compared with ``comparison``.
* ``mode: leave_one_out`` — the base recipe, and the base recipe minus each ``candidates`` stage.
* ``mode: greedy_forward`` — start from the base recipe minus every candidate, add the candidate
  that helps most while one helps by more than the margin.

A stage is referred to by its name when it is unique in the recipe (``dehyphenate``), a metadata
threshold by its key (``metadata_filter[bh_n_words]``), or any stage by its recipe label
(``12_metadata_filter``).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MODES = ("arms", "leave_one_out", "greedy_forward")
BACKENDS = ("ngram", "transformer")
EVAL_SOURCES = ("auto", "gold", "sample", "folder")
TASKS = ("next_sentence", "final_word")
TOP_KEYS = {"name", "description", "base_recipe", "input", "executor", "mode", "arms", "sweep", "candidates",
            "comparison", "proxy", "tokenizer", "tokens", "chunk_tokens", "sampling", "seeds", "eval", "decision",
            "cache_dir", "output", "sanity"}
PROXY_KEYS = {"backend", "order", "n_layer", "n_head", "d_model", "seq_len", "batch_size", "lr", "device",
              "eval_batch_size", "threads"}
EVAL_KEYS = {"source", "path", "n_books", "max_bytes_per_book", "tasks", "items_per_book", "seed",
             "near_duplicate_threshold", "exclude_from_training", "curve_points", "gold_subdir"}
DECISION_KEYS = {"margin_sigma", "margin", "secondary_alpha", "primary"}
ARM_KEYS = {"name", "recipe", "remove", "add", "set", "input", "description"}


class AblationConfigError(ValueError):
    """A problem in an ablation config (all problems are listed in the message)."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in ablation config {source}:\n" +
                         "\n".join(f"  {p}" for p in problems))


def default_shared_data() -> Path:
    """``$FINEBOOKS_SHARED_DATA`` or ``../shared/data`` beside the repository."""
    env = os.environ.get("FINEBOOKS_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


@dataclass
class ArmSpec:
    """One arm as written: a recipe (default: the base one) and changes to its stages."""

    name: str
    recipe: str | None = None
    remove: list[str] = field(default_factory=list)
    add: list[dict] = field(default_factory=list)      # {"stage": <recipe stage entry>, "after"/"before": ref}
    set: dict[str, dict] = field(default_factory=dict)  # ref -> parameter overrides
    input: Any = None                                   # a recipe ``input`` section replacing the recipe's
    description: str = ""


@dataclass
class ProxyConfig:
    backend: str = "ngram"
    order: int = 4
    n_layer: int = 2
    n_head: int = 4
    d_model: int = 128
    seq_len: int = 128
    batch_size: int = 16
    lr: float = 3e-3
    device: str = "auto"
    eval_batch_size: int = 64
    threads: int = 0             # torch CPU threads (0: torch's default)


@dataclass
class EvalConfig:
    source: str = "auto"
    path: str | None = None
    n_books: int = 6
    max_bytes_per_book: int = 40_000
    tasks: list[str] = field(default_factory=lambda: list(TASKS))
    items_per_book: int = 30
    seed: int = 1234
    near_duplicate_threshold: float = 0.5
    exclude_from_training: bool = True
    curve_points: int = 4
    gold_subdir: str = "100_english_novels"


@dataclass
class DecisionConfig:
    margin_sigma: float = 2.0
    margin: float | None = None          # absolute bpb margin; overrides margin_sigma
    secondary_alpha: float = 0.05
    primary: str = "bpb"


@dataclass
class AblationConfig:
    name: str
    base_recipe: str
    source: str = "<config>"
    description: str = ""
    input: str | None = None
    executor: dict = field(default_factory=dict)
    mode: str = "arms"
    arms: list[ArmSpec] = field(default_factory=list)
    sweep: dict | None = None
    candidates: list[str] | None = None
    comparison: str | None = None
    proxy: ProxyConfig = field(default_factory=ProxyConfig)
    vocab_size: int = 4096
    tokenizer_max_bytes: int = 20_000_000
    tokens: int = 200_000
    chunk_tokens: int = 256
    sampling: str = "bootstrap"
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    eval: EvalConfig = field(default_factory=EvalConfig)
    decision: DecisionConfig = field(default_factory=DecisionConfig)
    cache_dir: str = "runs/ablation-cache"
    output: str | None = None
    sanity: dict | None = None           # {noisy: arm, clean: arm, min_sigma: 3}: the report checks the gap
    raw: dict = field(default_factory=dict)

    def resolve_path(self, p: str) -> str:
        """A path of the config: absolute, or relative to the config's folder if it exists there,
        else to the working directory."""
        if "://" in p or Path(p).is_absolute():
            return p
        base = Path(self.source).parent if self.source not in ("<config>", "<string>") else Path(".")
        cand = base / p
        return str(cand) if cand.exists() else p


def _fill(dc, data: dict, keys: set, section: str, problems: list[str]):
    for k, v in (data or {}).items():
        if k not in keys:
            problems.append(f"{section}.{k}: unknown key; valid keys: {', '.join(sorted(keys))}")
            continue
        default = getattr(dc, k)
        if isinstance(default, bool) and not isinstance(v, bool):
            problems.append(f"{section}.{k}: expects true/false, got {v!r}")
        elif isinstance(default, int) and not isinstance(default, bool) and not (isinstance(v, int) and not isinstance(v, bool)):
            problems.append(f"{section}.{k}: expects an integer, got {v!r}")
        elif isinstance(default, float) and not isinstance(v, (int, float)):
            problems.append(f"{section}.{k}: expects a number, got {v!r}")
        else:
            setattr(dc, k, float(v) if isinstance(default, float) and v is not None else v)


def parse_config(data: dict, source: str = "<config>") -> AblationConfig:
    problems: list[str] = []
    if not isinstance(data, dict):
        raise AblationConfigError(source, ["the config must be a YAML mapping"])
    for k in data:
        if k not in TOP_KEYS:
            problems.append(f"{k}: unknown key; valid keys: {', '.join(sorted(TOP_KEYS))}")
    if not data.get("base_recipe"):
        problems.append("base_recipe: required (a recipe YAML path, e.g. recipes/default.yaml)")
    cfg = AblationConfig(name=str(data.get("name") or Path(source).stem), base_recipe=str(data.get("base_recipe") or ""),
                         source=source, raw=copy.deepcopy(data))
    cfg.description = str(data.get("description") or "")
    cfg.input = data.get("input")
    cfg.executor = dict(data.get("executor") or {})
    cfg.mode = data.get("mode", "arms")
    if cfg.mode not in MODES:
        problems.append(f"mode: {cfg.mode!r} is not one of {', '.join(MODES)}")
    for i, a in enumerate(data.get("arms") or []):
        if isinstance(a, str):
            a = {"name": a}
        if not isinstance(a, dict) or not a.get("name"):
            problems.append(f"arms[{i}]: each arm is a mapping with a name")
            continue
        bad = set(a) - ARM_KEYS
        if bad:
            problems.append(f"arms[{i}] ({a['name']}): unknown key(s) {sorted(bad)}; valid keys: {', '.join(sorted(ARM_KEYS))}")
        for j, add in enumerate(a.get("add") or []):
            if not isinstance(add, dict) or "stage" not in add:
                problems.append(f"arms[{i}].add[{j}]: write {{stage: <stage entry>, after: <stage ref>}}")
        cfg.arms.append(ArmSpec(name=str(a["name"]), recipe=a.get("recipe"), remove=list(a.get("remove") or []),
                                add=list(a.get("add") or []), set=dict(a.get("set") or {}), input=a.get("input"),
                                description=str(a.get("description") or "")))
    names = [a.name for a in cfg.arms]
    if len(set(names)) != len(names):
        problems.append(f"arms: names must be unique, got {names}")
    cfg.sweep = data.get("sweep")
    if cfg.sweep is not None and (not isinstance(cfg.sweep, dict) or not {"stage", "param", "values"} <= set(cfg.sweep)):
        problems.append("sweep: write {stage: <stage ref or new stage entry>, param: <name>, values: [...]}")
    cfg.candidates = data.get("candidates")
    cfg.comparison = data.get("comparison")
    if cfg.mode == "arms" and not cfg.arms and not cfg.sweep:
        problems.append("mode arms: list arms (or a sweep)")
    if cfg.mode != "arms" and (cfg.arms or cfg.sweep):
        problems.append(f"mode {cfg.mode}: arms and sweep are derived from candidates; remove arms/sweep")
    _fill(cfg.proxy, data.get("proxy") or {}, PROXY_KEYS, "proxy", problems)
    if cfg.proxy.backend not in BACKENDS:
        problems.append(f"proxy.backend: {cfg.proxy.backend!r} is not one of {', '.join(BACKENDS)}")
    tok = data.get("tokenizer") or {}
    for k, v in tok.items():
        if k == "vocab_size" and isinstance(v, int) and 260 <= v <= 65536:
            cfg.vocab_size = v
        elif k == "max_bytes" and isinstance(v, int) and v > 0:
            cfg.tokenizer_max_bytes = v
        else:
            problems.append(f"tokenizer.{k}: expected vocab_size (260..65536) or max_bytes (> 0), got {k}={v!r}")
    for key in ("tokens", "chunk_tokens"):
        if key in data:
            v = data[key]
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                problems.append(f"{key}: expects a positive integer, got {v!r}")
            else:
                setattr(cfg, key, v)
    cfg.sampling = data.get("sampling", "bootstrap")
    if cfg.sampling not in ("bootstrap", "epochs"):
        problems.append(f"sampling: {cfg.sampling!r} is not bootstrap or epochs")
    seeds = data.get("seeds", [0, 1, 2])
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = list(range(seeds))
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        problems.append(f"seeds: a list of integers (or a count), got {seeds!r}")
    else:
        cfg.seeds = seeds
    _fill(cfg.eval, data.get("eval") or {}, EVAL_KEYS, "eval", problems)
    if cfg.eval.source not in EVAL_SOURCES:
        problems.append(f"eval.source: {cfg.eval.source!r} is not one of {', '.join(EVAL_SOURCES)}")
    if cfg.eval.source == "folder" and not cfg.eval.path:
        problems.append("eval.path: required with eval.source folder (a folder of .txt files, one per book)")
    for t in cfg.eval.tasks:
        if t not in TASKS:
            problems.append(f"eval.tasks: unknown task {t!r}; valid tasks: {', '.join(TASKS)}")
    _fill(cfg.decision, data.get("decision") or {}, DECISION_KEYS, "decision", problems)
    cfg.cache_dir = str(data.get("cache_dir") or cfg.cache_dir)
    cfg.output = data.get("output")
    cfg.sanity = data.get("sanity")
    if cfg.sanity is not None and (not isinstance(cfg.sanity, dict) or not {"noisy", "clean"} <= set(cfg.sanity)):
        problems.append("sanity: write {noisy: <arm>, clean: <arm>, min_sigma: 3}")
    if problems:
        raise AblationConfigError(source, problems)
    return cfg


def load_config(path: str | Path) -> AblationConfig:
    """Load and check an ablation config file; raises :class:`AblationConfigError`."""
    p = Path(path)
    if not p.is_file():
        raise AblationConfigError(str(p), ["file not found"])
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise AblationConfigError(str(p), [f"not valid YAML: {e}"]) from None
    return parse_config(data, str(p))
