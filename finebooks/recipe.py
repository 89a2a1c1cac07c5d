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

Recipes are data. They are loaded with ``yaml.safe_load`` (no Python tags), and a document whose
aliases would expand to more than :data:`MAX_YAML_NODES` nodes (a "billion laughs" made of YAML
anchors) is refused before it is built. Everything that would run code, or read or write outside
the paths a recipe names, is refused unless the recipe says ``allow_python: true`` or the caller
passes ``allow_python=True`` (``finebooks run --allow-python``):

* a stage given by class path (``- python: my_package.steps:MyStep`` with ``params:``);
* executor options that run shell commands or scripts (Slurm ``env_command``, ``condaenv``,
  ``venv_path``; Ray ``ray_remote_kwargs.runtime_env``), and - never allowed - any executor
  option text with a line break (it would become a line of the generated Slurm script);
* ``hf`` reader options that run a dataset's own code (``trust_remote_code``, a ``.py`` loading
  script).

File-name options that are relative to a named folder - reader ``glob_pattern`` and
``metadata_file``, writer ``output_filename`` - may not be absolute or contain ``..``: a recipe
reads below its input paths and writes below its run directory. See ``docs/reliability.md``.
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
#: largest recipe document, counting every node an alias repeats
MAX_YAML_NODES = 100_000
#: options that are file names relative to a folder the recipe names (no escaping it)
RELATIVE_PATH_OPTIONS = {"glob_pattern", "metadata_file", "output_filename"}
#: executor options that run shell commands or scripts: custom code, allowed with allow_python
CODE_EXECUTOR_OPTIONS = {"env_command", "condaenv", "venv_path"}


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
    description: str = ""
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
            "description": self.description,
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
    size = _expanded_size(node)
    if size > MAX_YAML_NODES:
        msg = f"the recipe expands to more than {MAX_YAML_NODES:,} YAML nodes through aliases (&anchor / *alias); refused"
        raise RecipeError(source, [(None, msg)])
    lines = _line_map(node)
    if overrides:
        data = _apply_overrides(data if isinstance(data, dict) else {}, overrides)
    return validate(data, lines, source, allow_python=allow_python)


def _expanded_size(node, limit: int = MAX_YAML_NODES) -> int:
    """Number of nodes of the document with every alias expanded (stops counting past ``limit``).

    PyYAML shares an aliased node instead of copying it, so the composed graph stays small even
    for an alias bomb; but validation, ``copy.deepcopy`` and the resolved recipe walk it as a tree.
    """
    memo: dict[int, int] = {}

    def count(n) -> int:
        if n is None:
            return 0
        key = id(n)
        if key in memo:
            return memo[key]
        memo[key] = limit + 1  # a cycle (self-referencing alias) counts as too big
        total = 1
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                total += count(k) + count(v)
                if total > limit:
                    break
        elif isinstance(n, yaml.SequenceNode):
            for v in n.value:
                total += count(v)
                if total > limit:
                    break
        memo[key] = min(total, limit + 1)
        return memo[key]

    return count(node)


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

    _check_safety(problems, data, allow_python)
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
        description=str(data.get("description") or ""),
    )


def _escapes(value) -> bool:
    """True for a relative file name that is absolute or climbs out of its folder (``..``)."""
    if not isinstance(value, str):
        return False
    v = value.replace("\\", "/")
    return v.startswith("/") or "://" in v or (len(v) > 1 and v[1] == ":") or ".." in v.split("/")


def _strings(value, path: tuple):
    """Every string inside ``value`` with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, path + (i,))


def _check_safety(problems: _Problems, data: dict, allow_python: bool) -> None:
    """Recipes are data: refuse code execution and paths outside the named folders (module doc)."""
    optin = "allow it explicitly with 'allow_python: true' in the recipe or --allow-python"
    raw_inputs = data.get("input")
    entries = [(("input",), raw_inputs)] if isinstance(raw_inputs, dict) else (
        [(("input", i), e) for i, e in enumerate(raw_inputs)] if isinstance(raw_inputs, list) else [])
    for path, inp in entries:
        if not isinstance(inp, dict) or not isinstance(inp.get("options"), dict):
            continue
        options = inp["options"]
        for key in RELATIVE_PATH_OPTIONS & set(options):
            if _escapes(options[key]):
                problems.add(path + ("options", key), f"{_where(path + ('options', key))}: {options[key]!r} is "
                             "absolute or climbs out of the input folder ('..'); a recipe reads only below the "
                             "paths it names")
        if inp.get("reader") == "hf" and not allow_python:
            ds_opts = options.get("dataset_options") if isinstance(options.get("dataset_options"), dict) else {}
            if ds_opts.get("trust_remote_code"):
                problems.add(path + ("options", "dataset_options", "trust_remote_code"),
                             f"{_where(path)}: trust_remote_code runs the dataset's own Python code; {optin}")
            if str(inp.get("path", "")).endswith(".py"):
                problems.add(path + ("path",), f"{_where(path)}.path: a .py dataset loading script is code; {optin}")
    out = data.get("output") if isinstance(data.get("output"), dict) else {}
    out_opts = out.get("options") if isinstance(out.get("options"), dict) else {}
    if _escapes(out_opts.get("output_filename")):
        problems.add(("output", "options", "output_filename"),
                     f"output.options.output_filename {out_opts['output_filename']!r} is absolute or climbs out of "
                     "the run directory ('..'); outputs are written only below it")
    for i, entry in enumerate(data.get("stages") or [] if isinstance(data.get("stages"), list) else []):
        params = next(iter(entry.values())) if isinstance(entry, dict) and len(entry) == 1 else None
        if isinstance(entry, dict) and "python" in entry:
            params = entry.get("params")
        if isinstance(params, dict) and _escapes(params.get("output_filename")):
            problems.add(("stages", i), f"stages[{i}]: output_filename {params['output_filename']!r} is absolute or "
                                        "climbs out of the run directory ('..')")
    ex = data.get("executor") if isinstance(data.get("executor"), dict) else {}
    ex_opts = ex.get("options") if isinstance(ex.get("options"), dict) else {}
    for key in CODE_EXECUTOR_OPTIONS & set(ex_opts):
        if not allow_python and ex_opts[key]:
            problems.add(("executor", "options", key), f"executor.options.{key} runs shell commands or a script on "
                                                       f"the cluster; {optin}")
    remote = ex_opts.get("ray_remote_kwargs")
    if isinstance(remote, dict) and remote.get("runtime_env") and not allow_python:
        problems.add(("executor", "options", "ray_remote_kwargs"),
                     f"executor.options.ray_remote_kwargs.runtime_env installs packages or runs setup code; {optin}")
    for p, text in _strings(ex_opts, ("executor", "options")):
        if "\n" in text or "\r" in text:
            problems.add(p, f"{_where(p)}: a line break in an executor option would inject a line into the "
                            "generated job script; refused")


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
