"""The recipe engine: the one place that turns a recipe into datatrove executors.

A run directory holds everything needed to audit, resume and reproduce a run::

    RUN/recipe.yaml              the resolved recipe + FineBooks/datatrove versions
    RUN/books/                   kept books (Parquet: BookParquetWriter schema, or JSONL)
    RUN/excluded/<NN_stage>/     exclusion records per stage (Parquet): id, exclusion_stage,
                                 exclusion_reason, metadata_json (the scores that decided)
    RUN/logs/<executor>/         datatrove logs, per-task completion markers, stats.json
    RUN/work/<NN_stage>/         intermediate data of multi-stage steps (MinHash)
    RUN/summary.json             books in / kept / excluded by stage and reason, bytes, time

Every filter gets an exclusion writer, so each input book ends in exactly one place: the
output or an exclusion table. :func:`summarise` checks ``in = kept + excluded``.

Running the same recipe into the same run directory again resumes: datatrove skips tasks whose
completion marker exists, and a task that died mid-way is re-run from scratch, overwriting its
own partial files (output file names depend only on the task rank).
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from finebooks import __version__
from finebooks.readers import get_reader_class
from finebooks.recipe import EXECUTORS, Recipe, StageConfig
from finebooks.writers import BookParquetWriter

EXCLUSION_COLUMNS = {"exclusion_stage": "string", "exclusion_reason": "string"}
READ_LABEL = "00_read"


# ---------------------------------------------------------------- exclusion writer
class ExclusionWriter(BookParquetWriter):
    """Writes exclusion records for one stage: id, stage, reason, the book's metadata (scores).

    Accepts what datatrove filters write (the dropped document with ``metadata["filter_reason"]``)
    and FineBooks readers' records alike. The book text is dropped unless ``keep_text``.
    """

    name = "🗑 Exclusions"

    def __init__(self, output_folder, stage: str, keep_text: bool = False, default_reason: str = "dropped", **kwargs):
        super().__init__(output_folder, extra_columns=EXCLUSION_COLUMNS, **kwargs)
        self.stage = stage
        self.keep_text = keep_text
        self.default_reason = default_reason

    def write(self, document, rank: int = 0, **kwargs):
        meta = document.metadata
        step = meta.get("exclusion_stage")
        if step and step != self.stage:  # a reader names itself (read_alto): keep it next to the recipe label
            meta["exclusion_step"] = step
        meta["exclusion_stage"] = self.stage
        reason = meta.pop("filter_reason", None)
        detail = meta.pop("filter_detail", None)
        if reason and detail:
            reason = f"{reason}: {detail}"
        meta.setdefault("exclusion_reason", reason or self.default_reason)
        if not self.keep_text:  # the size stays on record (reports count excluded bytes)
            meta.setdefault("text_chars", len(document.text))
            meta.setdefault("text_bytes", len(document.text.encode("utf-8", "surrogatepass")))
            document.text = ""
        super().write(document, rank, **kwargs)


# ---------------------------------------------------------------- building pipelines
def _instantiate(stage: StageConfig, run_dir: Path, keep_excluded_text: bool):
    cls = stage.spec.load()
    params = dict(stage.params)
    if stage.spec.kind == "filter" or _accepts(cls, "exclusion_writer"):
        params["exclusion_writer"] = ExclusionWriter(str(run_dir / "excluded" / stage.label), stage.label,
                                                     keep_text=keep_excluded_text)
    if stage.spec.kind == "writer":
        return cls(str(run_dir / "work" / stage.label), **params)
    return cls(**params)


def _accepts(cls, name: str) -> bool:
    import inspect

    try:
        return name in inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return False


def build_readers(recipe: Recipe, run_dir: Path) -> list:
    """One reader per input; datatrove chains them (each yields the previous one's books first)."""
    readers = []
    for i, (inp, path) in enumerate(zip(recipe.inputs, recipe.input_paths())):
        options = dict(inp.options)
        # one exclusion file name per input, so that two readers of the same task don't overwrite each other
        options["exclusion_writer"] = ExclusionWriter(
            str(run_dir / "excluded" / READ_LABEL), READ_LABEL, output_filename=f"input{i:02d}_${{rank}}.parquet")
        readers.append(get_reader_class(inp.reader)(path, **options))
    return readers


def build_output_writer(recipe: Recipe, run_dir: Path):
    out = run_dir / "books"
    if recipe.output_format == "jsonl":
        from finebooks.writers import BookJsonlWriter  # atomic, like the Parquet writer

        return BookJsonlWriter(str(out), **recipe.output_options)
    return BookParquetWriter(str(out), **recipe.output_options)


@dataclass
class PlannedExecutor:
    """One datatrove executor of a run: a name, its pipeline and its task count."""

    name: str
    pipeline: list
    tasks: int


@dataclass
class MultiStageContext:
    """What a multi-stage step needs to plan its executors (see :class:`MultiStageSplit`)."""

    run_dir: Path
    label: str            # the stage's recipe label, e.g. ``07_minhash_dedup``
    tasks: int            # the recipe's task count (the pipeline parts before and after use it)
    part: int             # number of the pipeline part that this step ends
    keep_excluded_text: bool = False

    @property
    def work_dir(self) -> Path:
        """Intermediate data of this step: ``RUN/work/<label>``."""
        return self.run_dir / "work" / self.label

    def exclusion_writer(self, default_reason: str = "dropped", **kwargs) -> ExclusionWriter:
        """The exclusion writer of this stage: ``RUN/excluded/<label>``."""
        return ExclusionWriter(str(self.run_dir / "excluded" / self.label), self.label,
                               keep_text=self.keep_excluded_text, default_reason=default_reason, **kwargs)


@dataclass
class MultiStageSplit:
    """How a multi-stage step cuts the pipeline.

    ``finish`` ends the current part (appended after the earlier stages, e.g. an intermediate
    copy + signatures); the part's executor is named ``part<N>_<label>_<first_name>``;
    ``middle`` are whole executors run in between (buckets, clusters); ``resume`` starts the next
    part (re-read the intermediate copy, drop what the middle decided); later stages follow it.
    A stage of kind ``multi`` is a class whose instances have ``plan(ctx) -> MultiStageSplit``.
    """

    finish: list
    middle: list[PlannedExecutor]
    resume: list
    first_name: str = "signatures"


def plan(recipe: Recipe, run_dir: str | Path) -> list[PlannedExecutor]:
    """Split the recipe into executors; multi-stage steps (MinHash) cut the pipeline into parts."""
    run_dir = Path(run_dir)
    keep_text = recipe.keep_excluded_text
    executors: list[PlannedExecutor] = []
    current = build_readers(recipe, run_dir)
    part = 1
    for stage in recipe.stages:
        if stage.spec.kind != "multi":
            current.append(_instantiate(stage, run_dir, keep_text))
            continue
        ctx = MultiStageContext(run_dir=run_dir, label=stage.label, tasks=recipe.tasks, part=part,
                                keep_excluded_text=keep_text)
        split = stage.spec.load()(**stage.params).plan(ctx)
        current.extend(split.finish)
        executors.append(PlannedExecutor(f"part{part}_{stage.label}_{split.first_name}", current, recipe.tasks))
        executors.extend(split.middle)
        part += 1
        current = list(split.resume)
    current.append(build_output_writer(recipe, run_dir))
    executors.append(PlannedExecutor(f"part{part}_output" if part > 1 else "main", current, recipe.tasks))
    return executors


def make_executors(recipe: Recipe, run_dir: str | Path, planned: list[PlannedExecutor] | None = None):
    """datatrove executors for the plan, chained with ``depends``; run the last one to run all."""
    import importlib

    run_dir = Path(run_dir)
    planned = planned if planned is not None else plan(recipe, run_dir)
    module, _, cls_name = EXECUTORS[recipe.executor].partition(":")
    cls = getattr(importlib.import_module(module), cls_name)
    executors = []
    for p in planned:
        kwargs = dict(recipe.executor_options)
        if recipe.executor == "slurm":
            import os
            import sys

            kwargs.setdefault("job_name", f"finebooks_{recipe.name}_{p.name}")
            # absolute: sbatch resolves relative --output paths against the job's working directory
            kwargs.setdefault("slurm_logs_folder", os.path.abspath(run_dir / "logs" / p.name / "slurm_logs"))
            # the job runs `launch_pickled_pipeline` and unpickles FineBooks stages: it needs this
            # environment. Without an explicit one, activate the venv we run from (shared file system).
            activate = Path(sys.prefix) / "bin" / "activate"
            if (not any(kwargs.get(k) for k in ("env_command", "condaenv", "venv_path"))
                    and sys.prefix != sys.base_prefix and activate.is_file()):
                kwargs["venv_path"] = str(activate)
        executors.append(cls(
            pipeline=p.pipeline, tasks=p.tasks, workers=recipe.workers,
            logging_dir=str(run_dir / "logs" / p.name), depends=executors[-1] if executors else None, **kwargs,
        ))
    return executors


# ---------------------------------------------------------------- running
def write_resolved_recipe(recipe: Recipe, run_dir: Path) -> None:
    import datatrove

    try:
        from importlib.metadata import version

        dt_version = version("datatrove")
    except Exception:  # noqa: BLE001 - version metadata is informative only
        dt_version = getattr(datatrove, "__version__", "unknown")
    resolved = recipe.resolved()
    resolved["provenance"] = {
        "finebooks_version": __version__, "datatrove_version": dt_version,
        "python": platform.python_version(), "recipe_file": recipe.source,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "recipe.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True))


def run_recipe(recipe: Recipe, run_dir: str | Path | None = None) -> RunSummary:
    """Run a validated recipe; returns (and saves) the run summary.

    ``run_dir`` defaults to the recipe's ``output.path``; books go to ``RUN/books``. The run holds
    an exclusive lock on ``RUN/.lock`` (:mod:`finebooks.runlock`): a second run into the same
    directory at the same time raises :class:`~finebooks.runlock.RunDirectoryBusy`. A local input
    path that does not exist raises :class:`~finebooks.recipe.RecipeError` before any work.
    """
    run_dir = Path(run_dir or recipe.output_path)
    recipe.output_path = str(run_dir)
    # a wrong input path is a clear error up front, not a run that reads nothing
    from finebooks.recipe import RecipeError

    missing = [f"input path {path!r} (reader {inp.reader!r}) does not exist"
               for inp, path in zip(recipe.inputs, recipe.input_paths())
               if inp.reader != "hf" and "://" not in path and not Path(path).exists()]
    if missing:
        raise RecipeError(recipe.source, [(None, m) for m in missing])
    # one run at a time per run directory (released on exit; a kill -9 leaves no stale lock)
    from finebooks.runlock import RunLock

    with RunLock(run_dir):
        write_resolved_recipe(recipe, run_dir)
        start = time.perf_counter()
        if recipe.executor == "slurm":
            import os

            if "SLURM_ARRAY_TASK_ID" in os.environ:  # datatrove would run one rank here instead of submitting
                raise RuntimeError("finebooks run with the slurm executor submits jobs: run it from a login node "
                                   "or a plain allocation, not from inside a Slurm array job")
        executors = make_executors(recipe, run_dir)
        if recipe.executor == "ray":
            import os

            from datatrove.utils.logging import logger

            try:
                import ray
            except ImportError as e:
                raise ImportError("the ray executor needs Ray, an optional extra: pip install 'finebooks[ray]' "
                                  "(or pip install 'ray[default]>=2.9')") from e

            started_here = not ray.is_initialized()
            private = started_here and not os.environ.get("RAY_ADDRESS")
            if private:  # a local instance sized for this run (address="local": never a stray `ray start`)
                cpus = max(e.cpus_per_task for e in executors)
                num_cpus = max(os.cpu_count() or 1, cpus) if recipe.workers == -1 else recipe.workers * cpus
                ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                         object_store_memory=256 * 1024**2)  # only the pickled executors go there
            elif started_here:  # an existing cluster: it has its own resources
                ray.init(address=os.environ["RAY_ADDRESS"], log_to_driver=False)
            try:
                # a task that asks for more than the whole cluster has waits for ever (an autoscaling
                # cluster may still grow: only warn there)
                have = ray.cluster_resources()
                for e in executors:
                    need = {"CPU": e.cpus_per_task, "GPU": e.gpus_per_task,
                            "memory": e.mem_per_cpu_gb * e.cpus_per_task * 1024**3}
                    remote = e.ray_remote_kwargs or {}
                    for key, res in (("num_cpus", "CPU"), ("num_gpus", "GPU"), ("memory", "memory")):
                        need[res] = remote.get(key, need[res])
                    need.update(remote.get("resources") or {})
                    short = [f"{k}: needs {v:g}, cluster has {have.get(k, 0):g}" for k, v in need.items()
                             if isinstance(v, (int, float)) and v > have.get(k, 0)]
                    if short:
                        msg = (f"ray executor {e.logging_dir.path}: a task cannot be scheduled now "
                               f"({'; '.join(short)}); lower executor.options (cpus_per_task, mem_per_cpu_gb, "
                               "gpus_per_task)")
                        if private:
                            raise RuntimeError(msg)
                        logger.warning(msg)
                # one executor at a time: datatrove's Ray executor only warns when tasks fail, and a
                # dependent executor then polls its dependency's completions for ever (every 2 min)
                for e in executors:
                    e.run()
                    failed = e.get_incomplete_ranks(skip_completed=True)
                    if failed:
                        where = e.logging_dir.path
                        raise RuntimeError(f"ray executor {where}: {len(failed)}/{e.world_size} tasks failed "
                                           f"(ranks {failed[:10]}); see {where}/logs/task_*.log. Run the recipe "
                                           "again to resume: completed tasks are skipped.")
            finally:
                if started_here:
                    ray.shutdown()
        else:
            executors[-1].run()  # runs its dependencies first
        job_ids = {Path(e.logging_dir.path).name: e.job_id for e in executors} if recipe.executor == "slurm" else {}
        if job_ids:  # job id -1: every task was already complete, nothing submitted
            (run_dir / "logs").mkdir(parents=True, exist_ok=True)
            (run_dir / "logs" / "slurm_jobs.json").write_text(json.dumps(job_ids, indent=2))
        if any(job_id != -1 for job_id in job_ids.values()):  # jobs were submitted; nothing to count yet
            summary = RunSummary(output=str(run_dir), recipe=recipe.name, submitted=True)
        else:  # local, ray, or a slurm run whose jobs have all finished
            summary = summarise(run_dir)
            # readers exclude duplicate ids within a task; rows of two files read by different tasks
            # are never compared, so say so loudly when the output has any
            parquet = [str(p) for p in (run_dir / "books").rglob("*.parquet")] if summary.kept else []
            if parquet:
                import duckdb
                from datatrove.utils.logging import logger

                dup = duckdb.connect().execute("SELECT count(*) - count(DISTINCT id) FROM read_parquet(?)",
                                               [parquet]).fetchone()[0]
                if dup:
                    logger.warning(f"{dup} kept books repeat an id already used by another kept book (rows with "
                                   "the same id in files read by different tasks); see docs/reliability.md")
        summary.seconds = time.perf_counter() - start
        save_summary(summary, run_dir / "summary.json")
        return summary


def read_recipe(fmt: str, input_path: str, output: str, tasks: int = 1, workers: int = 1,
                reader_options: dict | None = None) -> Recipe:
    """A read-only recipe (input -> Parquet in ``output/books``), validated like any other."""
    from finebooks.recipe import validate

    data = {
        "name": f"read_{fmt}",
        "input": {"reader": fmt, "path": input_path, "options": dict(reader_options or {})},
        "stages": [],
        "output": {"path": str(output)},
        "executor": {"type": "local", "tasks": tasks, "workers": workers},
    }
    return validate(data, source=f"<read {fmt}>")


def run_read(fmt: str, input_path: str, output: str, tasks: int = 1, workers: int = 1,
             reader_options: dict | None = None) -> RunSummary:
    """Read ``input_path`` with the ``fmt`` reader into the run directory ``output``."""
    recipe = read_recipe(fmt, input_path, output, tasks, workers, reader_options)
    return run_recipe(recipe, output)


# ---------------------------------------------------------------- accounting
@dataclass
class RunSummary:
    output: str
    recipe: str = ""
    books_in: int = 0
    kept: int = 0
    excluded: int = 0
    excluded_by_reason: dict[str, int] = field(default_factory=dict)
    pages: int = 0
    text_bytes: int = 0
    seconds: float = 0.0
    submitted: bool = False

    @property
    def total(self) -> int:
        return self.kept + self.excluded

    @property
    def unaccounted(self) -> int:
        return self.books_in - self.kept - self.excluded

    def render(self) -> str:
        if self.submitted:
            return f"submitted to the cluster; outputs and summary will be in {self.output}"
        lines = [
            f"books in: {self.books_in}  kept: {self.kept}  excluded: {self.excluded}"
            + (f"  UNACCOUNTED: {self.unaccounted}" if self.unaccounted else ""),
            f"pages kept: {self.pages}  text kept: {self.text_bytes / 1e6:.2f} MB  time: {self.seconds:.1f} s",
        ]
        for reason, n in sorted(self.excluded_by_reason.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  excluded {n:>7}  {reason}")
        lines.append(f"run directory: {self.output}")
        return "\n".join(lines)


def input_reader_stats(run_dir: str | Path):
    """The stats of every input reader of every task in a run (datatrove per-task stats files).

    Per-task files, not the merged stats.json: after a resumed run datatrove merges only the
    tasks that ran in the last invocation. The intermediate re-read of a multi-stage step is not
    new input and is left out.
    """
    for stats_file in (Path(run_dir) / "logs").glob("*/stats/*.json"):
        try:
            steps = json.loads(stats_file.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        for step in steps:
            if "READER" in step.get("name", "") and "read_rank_shard" not in step.get("name", ""):
                yield step.get("stats", {})


def _reader_counts(run_dir: Path) -> int:
    """Books that entered the run: what the readers emitted plus what they excluded."""
    total = 0
    for stats in input_reader_stats(run_dir):
        for key in ("books", "excluded"):
            v = stats.get(key, 0)
            total += v.get("total", 0) if isinstance(v, dict) else int(v)
    return total


def summarise(run_dir: str | Path) -> RunSummary:
    """Count books in, kept and excluded (by stage and reason) from a finished run directory."""
    import duckdb

    run_dir = Path(run_dir)
    summary = RunSummary(output=str(run_dir))
    recipe_file = run_dir / "recipe.yaml"
    if recipe_file.exists():
        summary.recipe = (yaml.safe_load(recipe_file.read_text()) or {}).get("name", "")
    con = duckdb.connect()
    books_dir = run_dir / "books"
    parquet = [str(p) for p in books_dir.rglob("*.parquet")] if books_dir.exists() else []
    jsonl = [str(p) for p in books_dir.rglob("*.jsonl*")] if books_dir.exists() else []
    if parquet:
        kept, pages, nbytes = con.execute(
            "SELECT count(*), coalesce(sum(n_pages), 0), coalesce(sum(strlen(text)), 0) FROM read_parquet(?)",
            [parquet]).fetchone()
        summary.kept, summary.pages, summary.text_bytes = int(kept), int(pages), int(nbytes)
    elif jsonl:
        kept, nbytes = con.execute("SELECT count(*), coalesce(sum(strlen(text)), 0) FROM read_json(?, "
                                   "format='newline_delimited')", [jsonl]).fetchone()
        summary.kept, summary.text_bytes = int(kept), int(nbytes)
    excluded = [str(p) for p in (run_dir / "excluded").rglob("*.parquet")] if (run_dir / "excluded").exists() else []
    if excluded:
        rows = con.execute(
            "SELECT exclusion_stage || ': ' || split_part(exclusion_reason, ':', 1) AS r, count(*) "
            "FROM read_parquet(?) GROUP BY r", [excluded]).fetchall()
        summary.excluded_by_reason = {r: int(n) for r, n in rows}
        summary.excluded = sum(summary.excluded_by_reason.values())
    summary.books_in = _reader_counts(run_dir)
    return summary


def save_summary(summary: RunSummary, path: str | Path) -> None:
    data = asdict(summary)
    data["total"] = summary.total
    data["unaccounted"] = summary.unaccounted
    Path(path).write_text(json.dumps(data, indent=2))


__all__ = [
    "ExclusionWriter",
    "MultiStageContext",
    "MultiStageSplit",
    "PlannedExecutor",
    "RunSummary",
    "make_executors",
    "plan",
    "run_read",
    "run_recipe",
    "summarise",
]
