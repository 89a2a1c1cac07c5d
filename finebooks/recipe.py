"""Recipes: declarative YAML that names a reader, an ordered list of stages, an output, an executor.

```yaml
name: default
input:
  reader: trove                 # a reader format (finebooks formats)
  path: ../shared/data/raw_ocr/trove_nla_books
  options: {source: trove}      # reader parameters
stages:                         # in order; each a registered stage (finebooks stages)
  - metadata_filter: {key: n_pages, min: 4}
  - gopher_repetition           # no parameters: defaults
output:
  path: runs/default
  format: parquet               # or jsonl
executor:
  type: local                   # local | ray | slurm
  tasks: 4
  workers: 2
  options: {}                   # executor-specific (slurm: partition, time, ...)
```

Validation happens before any work: an unknown key, stage or reader, a misspelt parameter, a
wrong type or a missing required value each give a problem naming the recipe file and line,
with the valid choices; all problems are reported together in one :class:`RecipeError`.

Recipes are loaded with ``yaml.safe_load`` (no Python tags). A stage given by class path
(``- python: my_package.steps:MyStep`` with ``params:``) runs arbitrary code and is refused
unless the recipe says ``allow_python: true`` or the caller passes ``allow_python=True``
(``finebooks run --allow-python``).
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from finebooks.registry import READER_REGISTRY, REGISTRY, StageSpec, check_type, python_stage, stage_params

TOP_KEYS = {"name", "description", "allow_python", "input_root", "input", "stages", "output", "executor"}
INPUT_KEYS = {"reader", "path", "options"}
OUTPUT_KEYS = {"path", "format", "options", "keep_excluded_text"}
EXECUTOR_KEYS = {"type", "tasks", "workers", "options"}
OUTPUT_FORMATS = ("parquet", "jsonl")
EXECUTORS = {
    "local": "datatrove.executor:LocalPipelineExecutor",
    "ray": "datatrove.executor:RayPipelineExecutor",
    "slurm": "datatrove.executor:SlurmPipelineExecutor",
}
# executor parameters the engine sets
ENGINE_EXECUTOR_PARAMS = {"pipeline", "tasks", "workers", "depends", "logging_dir", "depends_job_id", "job_id_retriever"}


class RecipeError(ValueError):
    """One or more problems in a recipe; ``problems`` is a list of ``(line or None, message)``."""

    def __init__(self, source: str, problems: list[tuple[int | None, str]]):
        self.source = source
        self.problems = problems
        lines = [f"{source}:{line}: {msg}" if line else f"{source}: {msg}" for line, msg in problems]
        head = f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in recipe {source}:"
        super().__init__("\n".join([head, *("  " + line for line in lines)]))


def stage_label(index: int, name: str) -> str:
    """Unique, file-system-safe label of the ``index``-th stage: ``03_gopher_quality``, ``04_MyStep``."""
    short = str(name).rsplit(":", 1)[-1].rsplit(".", 1)[-1]
    return f"{index:02d}_{short}"


@dataclass
class StageConfig:
    """One resolved pipeline stage."""

    name: str
    spec: StageSpec
    params: dict[str, Any] = field(default_factory=dict)
    index: int = 0

    @property
    def label(self) -> str:
        return stage_label(self.index, self.name)


@dataclass
class InputConfig:
    """One input: a reader format, its path and its options."""

    reader: str
    path: str
    options: dict = field(default_factory=dict)


@dataclass
class Recipe:
    """A validated recipe; :meth:`resolved` gives it back as a mapping with defaults made explicit."""

    name: str
    inputs: list[InputConfig]
    stages: list[StageConfig]
    output_path: str
    output_format: str
    output_options: dict
    executor: str
    tasks: int
    workers: int
    executor_options: dict
    keep_excluded_text: bool = False
    source: str = "<recipe>"
    allow_python: bool = False
    input_root: str | None = None

    @property
    def reader(self) -> str:
        return ", ".join(i.reader for i in self.inputs)

    def input_paths(self) -> list[str]:
        """Input paths with ``input_root`` applied to relative ones."""
        out = []
        for i in self.inputs:
            if self.input_root and "://" not in i.path and not Path(i.path).is_absolute():
                out.append(str(Path(self.input_root) / i.path))
            else:
                out.append(i.path)
        return out

    def resolved(self) -> dict:
        """The recipe as a plain mapping with every default made explicit."""
        return {
            "name": self.name,
            "allow_python": self.allow_python,
            "input_root": self.input_root,
            "input": [{"reader": i.reader, "path": i.path, "options": copy.deepcopy(i.options)} for i in self.inputs],
            "stages": [
                ({"python": s.name, "params": copy.deepcopy(s.params)} if s.spec.kind == "python"
                 else {s.name: copy.deepcopy(s.params)})
                for s in self.stages
            ],
            "output": {"path": self.output_path, "format": self.output_format,
                       "options": copy.deepcopy(self.output_options), "keep_excluded_text": self.keep_excluded_text},
            "executor": {"type": self.executor, "tasks": self.tasks, "workers": self.workers,
                         "options": copy.deepcopy(self.executor_options)},
        }


# ---------------------------------------------------------------- loading with line numbers
def _line_map(node, path=(), out=None) -> dict[tuple, int]:
    out = {} if out is None else out
    if node is None:
        return out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else str(k.value)
            out[path + (key,)] = k.start_mark.line + 1
            _line_map(v, path + (key,), out)
            out[path + (key,)] = k.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _line_map(v, path + (i,), out)
    return out


def load_recipe(path_or_text: str | Path, *, allow_python: bool = False, overrides: dict | None = None) -> Recipe:
    """Load and validate a recipe file (or YAML text). Raises :class:`RecipeError`."""
    p = Path(path_or_text) if not (isinstance(path_or_text, str) and "\n" in path_or_text) else None
    if p is not None:
        if not p.is_file():
            raise RecipeError(str(p), [(None, "file not found")])
        text, source = p.read_text(encoding="utf-8"), str(p)
    else:
        text, source = str(path_or_text), "<string>"
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        raise RecipeError(source, [(line, f"not valid YAML (or a disallowed tag): {e.problem}")]) from None
    except yaml.YAMLError as e:
        raise RecipeError(source, [(None, f"not valid YAML: {e}")]) from None
    lines = _line_map(node)
    if overrides:
        data = _apply_overrides(data if isinstance(data, dict) else {}, overrides)
    return validate(data, lines, source, allow_python=allow_python)


def _apply_overrides(data: dict, overrides: dict) -> dict:
    data = copy.deepcopy(data)
    for dotted, value in overrides.items():
        if value is None:
            continue
        if dotted == "__input__":  # --input: the single input's path, or the root of several inputs
            if isinstance(data.get("input"), dict):
                data["input"]["path"] = value
            else:
                data["input_root"] = value
            continue
        cur = data
        *parents, last = dotted.split(".")
        for key in parents:
            cur = cur.setdefault(key, {})
        cur[last] = value
    return data


# ---------------------------------------------------------------- validation
class _Problems:
    def __init__(self, lines: dict[tuple, int]):
        self.lines = lines
        self.items: list[tuple[int | None, str]] = []

    def line(self, path: tuple) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def add(self, path: tuple, msg: str) -> None:
        self.items.append((self.line(path), msg))


def _where(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_params(problems: _Problems, path: tuple, what: str, cls: type, params, required_ok: set | None = None):
    if params is None:
        params = {}
    if not isinstance(params, dict):
        problems.add(path, f"{_where(path)}: parameters of {what} must be a mapping, not {type(params).__name__}")
        return {}
    accepted = stage_params(cls)
    for key, value in params.items():
        if key not in accepted:
            valid = ", ".join(sorted(accepted)) or "(none)"
            problems.add(path + (key,), f"{_where(path)}: unknown parameter {key!r} for {what}{_suggest(key, accepted)}"
                                        f"; valid parameters: {valid}")
            continue
        ann = accepted[key].annotation
        if not check_type(value, ann):
            problems.add(path + (key,), f"{_where(path + (key,))}: {what} expects {accepted[key].type_name()}, "
                                        f"got {value!r} ({type(value).__name__})")
    for name, p in accepted.items():
        if p.required and name not in params and name not in (required_ok or set()):
            problems.add(path, f"{_where(path)}: {what} needs parameter {name!r} ({p.type_name()})")
    return params


def _unknown_keys(problems: _Problems, path: tuple, data: dict, allowed: set) -> None:
    for key in data:
        if key not in allowed:
            problems.add(path + (key,), f"unknown key {_where(path + (key,))!r}{_suggest(key, allowed)};"
                                        f" valid keys: {', '.join(sorted(allowed))}")


def _mapping(problems: _Problems, path: tuple, value, required: bool) -> dict:
    if value is None:
        if required:
            problems.add(path, f"missing required section {_where(path)!r}")
        return {}
    if not isinstance(value, dict):
        problems.add(path, f"{_where(path)} must be a mapping, not {type(value).__name__}")
        return {}
    return value


def validate(data, lines: dict | None = None, source: str = "<recipe>", *, allow_python: bool = False) -> Recipe:
    """Validate a loaded recipe mapping; raise one :class:`RecipeError` listing every problem."""
    problems = _Problems(lines or {})
    if not isinstance(data, dict):
        raise RecipeError(source, [(1, "a recipe must be a YAML mapping with input, stages, output")])
    _unknown_keys(problems, (), data, TOP_KEYS)
    allow_python = allow_python or data.get("allow_python") is True

    # input: one mapping, or a list of them (several formats read into one collection)
    inputs: list[InputConfig] = []
    raw_inputs = data.get("input")
    if raw_inputs is None:
        problems.add((), "missing required section 'input' (reader, path, options)")
        raw_inputs = []
    entries = [(("input",), raw_inputs)] if isinstance(raw_inputs, dict) else (
        [(("input", i), e) for i, e in enumerate(raw_inputs)] if isinstance(raw_inputs, list) else None)
    if entries is None:
        problems.add(("input",), "input must be a mapping (reader, path, options) or a list of them")
        entries = []
    if isinstance(raw_inputs, list) and not raw_inputs:
        problems.add(("input",), "input is an empty list")
    for path, inp in entries:
        inp = _mapping(problems, path, inp, required=True)
        if not inp:
            continue
        _unknown_keys(problems, path, inp, INPUT_KEYS)
        reader = inp.get("reader")
        options = inp.get("options") or {}
        if reader is None:
            problems.add(path, f"{_where(path)}.reader is required; choose one of: {', '.join(sorted(READER_REGISTRY))}")
        elif reader not in READER_REGISTRY:
            problems.add(path + ("reader",), f"unknown reader {reader!r}{_suggest(reader, READER_REGISTRY)}; "
                                             f"valid readers: {', '.join(sorted(READER_REGISTRY))}")
        else:
            first = "dataset" if reader == "hf" else "data_folder"
            options = _check_params(problems, path + ("options",), f"reader {reader!r}",
                                    READER_REGISTRY[reader].load(), options, required_ok={first})
        if not isinstance(inp.get("path"), str):
            problems.add(path, f"{_where(path)}.path is required (a folder or a dataset name) and must be a string")
        if reader in READER_REGISTRY and isinstance(inp.get("path"), str):
            inputs.append(InputConfig(reader, inp["path"], dict(options)))
    input_root = data.get("input_root")
    if input_root is not None and not isinstance(input_root, str):
        problems.add(("input_root",), "input_root must be a string (a folder that relative input paths start from)")

    # stages
    stages_raw = data.get("stages") or []
    stages: list[StageConfig] = []
    if not isinstance(stages_raw, list):
        problems.add(("stages",), "stages must be a list")
        stages_raw = []
    for i, entry in enumerate(stages_raw):
        path = ("stages", i)
        if isinstance(entry, str):
            name, params = entry, {}
        elif isinstance(entry, dict) and "python" in entry:
            extra = set(entry) - {"python", "params"}
            if extra:
                problems.add(path, f"stages[{i}]: a python stage takes only 'python' and 'params', not {sorted(extra)}")
            if not allow_python:
                problems.add(path, f"stages[{i}]: 'python: {entry['python']}' runs arbitrary code; allow it "
                                   "explicitly with 'allow_python: true' in the recipe or --allow-python")
                continue
            spec = python_stage(str(entry["python"]))
            try:
                cls = spec.load()
            except (ImportError, AttributeError, ValueError) as e:
                problems.add(path, f"stages[{i}]: cannot import {entry['python']!r}: {e}")
                continue
            params = _check_params(problems, path + ("params",), f"stage {spec.name!r}", cls, entry.get("params"))
            stages.append(StageConfig(spec.name, spec, dict(params), index=len(stages) + 1))
            continue
        elif isinstance(entry, dict) and len(entry) == 1:
            name, params = next(iter(entry.items()))
        else:
            problems.add(path, f"stages[{i}] must be a stage name or a single 'name: {{params}}' mapping")
            continue
        if name not in REGISTRY or REGISTRY[name].kind == "reader":
            problems.add(path, f"stages[{i}]: unknown stage {name!r}{_suggest(name, REGISTRY)}; "
                               f"valid stages: {', '.join(sorted(REGISTRY))}")
            continue
        spec = REGISTRY[name]
        params = _check_params(problems, path + (name,), f"stage {name!r}", spec.load(), params if params is not None else {})
        stages.append(StageConfig(name, spec, dict(params), index=len(stages) + 1))

    # output
    out = _mapping(problems, ("output",), data.get("output"), required=True)
    _unknown_keys(problems, ("output",), out, OUTPUT_KEYS)
    fmt = out.get("format", "parquet")
    if fmt not in OUTPUT_FORMATS:
        problems.add(("output", "format"), f"output.format must be one of {', '.join(OUTPUT_FORMATS)}, not {fmt!r}")
    elif out.get("options"):
        _check_params(problems, ("output", "options"), f"{fmt} writer", REGISTRY[fmt].load(), out.get("options"))
    if out and not isinstance(out.get("path"), str):
        problems.add(("output",), "output.path is required and must be a string")
    if "keep_excluded_text" in out and not isinstance(out["keep_excluded_text"], bool):
        problems.add(("output", "keep_excluded_text"), "output.keep_excluded_text must be true or false")

    # executor
    ex = _mapping(problems, ("executor",), data.get("executor"), required=False)
    _unknown_keys(problems, ("executor",), ex, EXECUTOR_KEYS)
    ex_type = ex.get("type", "local")
    tasks, workers = ex.get("tasks", 1), ex.get("workers", 1)
    for key, value in (("tasks", tasks), ("workers", workers)):
        if not isinstance(value, int) or isinstance(value, bool) or (value < 1 and not (key == "workers" and value == -1)):
            problems.add(("executor", key), f"executor.{key} must be a positive integer, not {value!r}")
    if ex_type not in EXECUTORS:
        problems.add(("executor", "type"), f"unknown executor {ex_type!r}{_suggest(ex_type, EXECUTORS)}; "
                                           f"valid executors: {', '.join(EXECUTORS)}")
    else:
        ex_options = ex.get("options") or {}
        cls = _executor_class(ex_type)
        if cls is not None:
            accepted = {k: v for k, v in stage_params(cls).items() if k not in ENGINE_EXECUTOR_PARAMS}
            for key, value in (ex_options.items() if isinstance(ex_options, dict) else []):
                if key not in accepted:
                    problems.add(("executor", "options", key),
                                 f"unknown {ex_type} executor option {key!r}{_suggest(key, accepted)}; "
                                 f"valid options: {', '.join(sorted(accepted))}")
                elif not check_type(value, accepted[key].annotation):
                    problems.add(("executor", "options", key),
                                 f"executor option {key!r} expects {accepted[key].type_name()}, got {value!r}")
            if ex_type == "slurm":
                for req in ("time", "partition"):
                    if req not in (ex_options or {}):
                        problems.add(("executor", "options"), f"the slurm executor needs executor.options.{req}")

    if problems.items:
        raise RecipeError(source, problems.items)
    return Recipe(
        name=str(data.get("name") or Path(source).stem),
        inputs=inputs,
        input_root=input_root,
        stages=stages,
        output_path=out["path"],
        output_format=fmt,
        output_options=dict(out.get("options") or {}),
        executor=ex_type,
        tasks=tasks,
        workers=workers,
        executor_options=dict(ex.get("options") or {}),
        keep_excluded_text=bool(out.get("keep_excluded_text", False)),
        source=source,
        allow_python=allow_python,
    )


def _executor_class(kind: str):
    import importlib

    module, _, cls = EXECUTORS[kind].partition(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError):
        return None


def describe_params(cls: type) -> list[str]:
    """``name: type = default`` lines for ``finebooks stages``."""
    out = []
    for p in stage_params(cls).values():
        default = "" if p.required else f" = {p.default!r}"
        out.append(f"{p.name}: {p.type_name()}{default}")
    return out


__all__ = ["InputConfig", "Recipe", "RecipeError", "StageConfig", "describe_params", "load_recipe", "validate"]
