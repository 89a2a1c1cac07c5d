"""Arms: recipes derived from the base recipe, split into an engine part and threshold filters.

Each arm's recipe is validated like any recipe (:func:`finebooks.recipe.validate`). Its stages
are then split in two: ``metadata_filter`` stages (thresholds on annotations) and everything
else (readers, repairs, scorers, datatrove filters, dedup) — the *engine part*. Arms whose engine
parts are equal share one engine run (cached by a hash of that part), and each arm's thresholds
are applied to the run's books afterwards (:mod:`finebooks.ablation.corpora`), so a threshold
sweep scores the pool once. Applying thresholds after the engine part is exact for per-book
stages; with a dedup stage after a threshold it is an approximation (dedup sees the books the
threshold would have dropped first), stated in the report.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from finebooks.recipe import RecipeError, validate

THRESHOLD_STAGE = "metadata_filter"


class ArmError(ValueError):
    """An arm cannot be built (unknown stage reference, invalid resulting recipe)."""


def entry_name_params(entry) -> tuple[str, dict]:
    """(stage name, params) of a raw recipe stage entry (``name``, ``{name: params}``, ``{python: ..}``)."""
    if isinstance(entry, str):
        return entry, {}
    if isinstance(entry, dict):
        if "python" in entry:
            return str(entry["python"]), dict(entry.get("params") or {})
        if len(entry) == 1:
            (name, params), = entry.items()
            return str(name), dict(params or {})
    raise ArmError(f"cannot read recipe stage entry {entry!r}")


def stage_refs(stages: list) -> list[str]:
    """A short, unique reference for each stage entry: its name when unique, ``metadata_filter[key]``
    for a unique threshold key, else its recipe label ``NN_name``."""
    names = [entry_name_params(e) for e in stages]
    counts: dict[str, int] = {}
    for n, p in names:
        counts[n] = counts.get(n, 0) + 1
    key_counts: dict[str, int] = {}
    for n, p in names:
        if n == THRESHOLD_STAGE:
            key_counts[str(p.get("key"))] = key_counts.get(str(p.get("key")), 0) + 1
    refs = []
    for i, (n, p) in enumerate(names, start=1):
        short = n.rsplit(":", 1)[-1].rsplit(".", 1)[-1]
        if counts[n] == 1:
            refs.append(n)
        elif n == THRESHOLD_STAGE and key_counts[str(p.get("key"))] == 1:
            refs.append(f"{n}[{p.get('key')}]")
        else:
            refs.append(f"{i:02d}_{short}")
    return refs


def find_stage(stages: list, ref: str) -> int:
    """Index of the stage that ``ref`` names (name, ``metadata_filter[key]`` or ``NN_name`` label)."""
    refs = stage_refs(stages)
    if ref in refs:
        return refs.index(ref)
    keyed = []
    for i, e in enumerate(stages):
        n, p = entry_name_params(e)
        short = n.rsplit(":", 1)[-1].rsplit(".", 1)[-1]
        if ref == f"{i + 1:02d}_{short}":
            return i
        if n == THRESHOLD_STAGE and ref == f"{n}[{p.get('key')}]":
            keyed.append(i)
    if len(keyed) == 1:
        return keyed[0]
    raise ArmError(f"no stage {ref!r} in the recipe; stages: {', '.join(refs) or '(none)'}")


def load_recipe_data(path: str, input_override: str | None) -> dict:
    p = Path(path)
    if not p.is_file():
        raise ArmError(f"recipe {path} not found")
    data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    if input_override:
        if isinstance(data.get("input"), dict):
            data["input"]["path"] = input_override
        else:
            data["input_root"] = input_override
    data["_source"] = str(p)
    return data


@dataclass
class ArmPlan:
    """One arm, ready to materialise."""

    name: str
    recipe_data: dict                 # the arm's full recipe (for the pruned recipe and the report)
    engine_data: dict                 # the recipe without threshold stages
    thresholds: list[dict]            # metadata_filter parameters, in recipe order
    stages: list[str]                 # stage references, in order
    engine_key: str = ""
    description: str = ""
    changes: list[str] = field(default_factory=list)


def engine_key(engine_data: dict) -> str:
    """Hash of what decides an engine run's output: inputs (absolute paths), stages, output format."""
    from finebooks import __version__

    d = copy.deepcopy(engine_data)
    root = d.get("input_root")
    inputs = d.get("input")
    inputs = inputs if isinstance(inputs, list) else [inputs]
    norm_inputs = []
    for i in inputs:
        i = dict(i or {})
        path = str(i.get("path", ""))
        if "://" not in path:
            path = str((Path(root) / path) if root and not Path(path).is_absolute() else Path(path))
            path = str(Path(path).resolve())
        i["path"] = path
        norm_inputs.append(i)
    blob = {"v": 1, "finebooks": __version__, "input": norm_inputs, "stages": d.get("stages") or [],
            "format": (d.get("output") or {}).get("format", "parquet"),
            "output_options": (d.get("output") or {}).get("options") or {}}
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:16]


def make_plan(name: str, data: dict, description: str = "", changes: list[str] | None = None) -> ArmPlan:
    data = copy.deepcopy(data)
    source = data.pop("_source", f"<arm {name}>")
    stages = list(data.get("stages") or [])
    try:
        validate(copy.deepcopy(data), source=f"{source} (arm {name})")
    except RecipeError as e:
        raise ArmError(f"arm {name!r}: the resulting recipe is not valid:\n{e}") from None
    engine_stages, thresholds = [], []
    for e in stages:
        n, p = entry_name_params(e)
        if n == THRESHOLD_STAGE:
            thresholds.append(p)
        else:
            engine_stages.append(e)
    engine_data = copy.deepcopy(data)
    engine_data["stages"] = engine_stages
    plan = ArmPlan(name, data, engine_data, thresholds, stage_refs(stages), description=description,
                   changes=list(changes or []))
    plan.engine_key = engine_key(engine_data)
    return plan


def apply_changes(data: dict, remove=(), set_=None, add=(), input_=None) -> tuple[dict, list[str]]:
    """A copy of recipe ``data`` with stages removed, parameters set and stages added."""
    data = copy.deepcopy(data)
    stages = list(data.get("stages") or [])
    changes = []
    for ref, params in (set_ or {}).items():
        i = find_stage(stages, ref)
        n, p = entry_name_params(stages[i])
        p.update(params or {})
        stages[i] = {n: p} if not (isinstance(stages[i], dict) and "python" in stages[i]) else \
            {"python": n, "params": p}
        changes.append(f"set {ref} {json.dumps(params, sort_keys=True)}")
    drop = sorted({find_stage(stages, ref) for ref in remove}, reverse=True)
    refs = stage_refs(stages)
    for i in drop:
        changes.append(f"remove {refs[i]}")
        del stages[i]
    for a in add:
        entry = a["stage"]
        entry_name_params(entry)
        if "after" in a:
            pos = find_stage(stages, a["after"]) + 1
        elif "before" in a:
            pos = find_stage(stages, a["before"])
        else:
            pos = len(stages)
        stages.insert(pos, entry)
        changes.append(f"add {json.dumps(entry, sort_keys=True)}")
    data["stages"] = stages
    if input_ is not None:
        data["input"] = input_
        data.pop("input_root", None)
        changes.append("input replaced")
    return data, changes


def explicit_arms(cfg, base: dict) -> list[ArmPlan]:
    """``mode: arms``: the listed arms plus one per value of the sweep."""
    plans = []
    for arm in cfg.arms:
        data = load_recipe_data(cfg.resolve_path(arm.recipe), cfg.input) if arm.recipe else base
        changed, changes = apply_changes(data, arm.remove, arm.set, arm.add, arm.input)
        if arm.recipe:
            changes.insert(0, f"recipe {arm.recipe}")
        plans.append(make_plan(arm.name, changed, arm.description, changes))
    if cfg.sweep:
        sw = cfg.sweep
        stage, param = sw["stage"], sw["param"]
        for v in sw["values"]:
            if isinstance(stage, str):  # an existing stage of the base recipe
                changed, changes = apply_changes(base, set_={stage: {param: v}})
                name = f"{stage}.{param}={v}"
            else:  # a new stage appended (or placed with after/before)
                n, p = entry_name_params(stage)
                p = dict(p)
                p[param] = v
                add = {"stage": {n: p}}
                for k in ("after", "before"):
                    if k in sw:
                        add[k] = sw[k]
                changed, changes = apply_changes(base, add=[add])
                label = f"{n}[{p.get('key')}]" if n == THRESHOLD_STAGE else n
                name = f"{label}.{param}={v}"
            plans.append(make_plan(name, changed, f"sweep {param}={v}", changes))
    names = [p.name for p in plans]
    if len(set(names)) != len(names):
        raise ArmError(f"arm names must be unique: {names}")
    return plans


def candidate_refs(cfg, base: dict) -> list[str]:
    stages = list(base.get("stages") or [])
    refs = stage_refs(stages)
    if cfg.candidates is None:
        return refs
    out = []
    for c in cfg.candidates:
        out.append(refs[find_stage(stages, c)])
    return out


def subset_plan(base: dict, keep_refs: set[str], candidates: list[str], name: str, description: str = "") -> ArmPlan:
    """The base recipe with the candidate stages outside ``keep_refs`` removed."""
    drop = [c for c in candidates if c not in keep_refs]
    data, changes = apply_changes(base, remove=drop)
    return make_plan(name, data, description, changes)
