"""FineBooks speed against stock datatrove: one command, one table, ratios measured in the same run.

For each input collection (raw_ocr/trove_nla_books, gold/, the synthetic sample collection) it
measures, on the same books:

* ``bare datatrove``   datatrove JsonlReader -> JsonlWriter (the books as JSONL), datatrove's
                       defaults (gzip output): the reference of the ratios; also shown with
                       uncompressed output (orjson alone: an upper bound, not a target);
* ``bare FineBooks``   the FineBooks reader(s) of the input -> BookParquetWriter (no stages);
* ``stock filters``    JsonlReader -> GopherRepetition + GopherQuality + C4Quality +
                       FineWebQuality (datatrove defaults) -> JsonlWriter: the web baseline;
* ``recipe <name>``    the FineBooks default recipe as a whole (``recipes/default.yaml``, loaded
                       fresh each run: its stages as they are today, its inputs swapped for the
                       benchmark input, one task, one worker; every executor of the run, MinHash
                       included);
* ``stage <name>``     each registry entry of kind ``stage`` alone (new stages appear by
                       themselves), with the recipe's parameters where the recipe uses it, over
                       the books held in memory (no reading, no writing). Stages read the
                       annotations of the recipe's scorers (a lexicon needs
                       ``metadata["language"]``, ``drop_pages`` needs ``bh_page_garbage``), so
                       their input is the books after one untimed pass of the recipe's
                       ``score_*`` stages (``score_language`` at least).

Columns: books in -> out, input MB (UTF-8 text), CPU seconds and wall seconds of the measured
work, **MB/s per core = MB / CPU seconds** of the worker process (user + system, children
included: one task, one worker, so CPU time is the time one core spends), wall MB/s, books per
CPU second, peak RSS of the worker process (a fresh process per measurement), and the ratios of
the per-core speed to ``bare datatrove`` and to ``stock filters`` on the same input.
Then:

* **scaling**: the recipe on 1x, 2x, 4x the trove books (copies with new ids, read as book
  JSONL): CPU time should grow linearly (``CPU / (k x CPU at 1x)`` near 1) and peak RSS stay flat;
* **MinHash**: the recipe's dedup stage (its signature part and its bucket executors) against
  datatrove's stock ``MinhashDedupSignature`` + ``MinhashDedupBuckets`` (same n-gram and band
  settings where the recipe's stage has them), on the same books.

Run:  python benchmarks/bench_suite.py [--data ../shared/data] [--quick] [--json out.json]

``--quick`` takes a few books of each input, 1x/2x scaling, and measures in the suite's own
process (for iterating and the smoke test; fixed costs such as model loading then dominate). Absolute MB/s depends on the machine and on what else runs on it; compare the
ratios, which come from the same run. Needs spaCy (installed with FineBooks) for the stock
filters; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
DEFAULT_RECIPE = REPO / "recipes" / "default.yaml"

STOCK_FILTERS = ("GopherRepetitionFilter", "GopherQualityFilter", "C4QualityFilter", "FineWebQualityFilter")
QUICK_BOOKS = {"trove": 8, "gold": 3, "sample": 30}


# ---------------------------------------------------------------- results
@dataclass
class Row:
    input: str
    what: str
    books_in: int = 0
    books_out: int = 0
    mb: float = 0.0
    cpu_s: float = 0.0
    wall_s: float = 0.0
    peak_rss_mb: float | None = None
    note: str = ""
    error: str = ""
    stages: list = field(default_factory=list)  # the recipe's stages as measured (recipe rows)
    steps: list = field(default_factory=list)   # recipe rows: [executor, step, seconds] from datatrove's timers

    @property
    def mb_per_core(self) -> float:
        return self.mb / self.cpu_s if self.cpu_s > 0 else 0.0

    @property
    def mb_per_s_wall(self) -> float:
        return self.mb / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def books_per_core_s(self) -> float:
        return self.books_in / self.cpu_s if self.cpu_s > 0 else 0.0


@dataclass
class Suite:
    rows: list[Row] = field(default_factory=list)
    scaling: list[Row] = field(default_factory=list)
    minhash: list[Row] = field(default_factory=list)
    machine: dict = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- inputs
@dataclass
class InputSpec:
    """A benchmark input: FineBooks reader entries (as a recipe's ``input``) + the same books as JSONL."""

    name: str
    readers: list[dict]          # [{"reader": ..., "path": ..., "options": {...}}]
    jsonl: str = ""              # the books as datatrove-readable JSONL (written by prepare)
    annotated: str = ""          # the books after the recipe's scorers (input of "stage alone")
    books: int = 0
    mb: float = 0.0


def input_specs(data: Path, sample: Path, names: list[str]) -> list[InputSpec]:
    specs = []
    for name in names:
        if name == "trove":
            path = data / "raw_ocr" / "trove_nla_books"
            readers = [{"reader": "trove", "path": str(path), "options": {"source": "trove"}}]
        elif name == "gold":
            path = data / "gold"
            # every clean transcription under gold/ (flat .txt files and one folder per Gutenberg book)
            readers = [{"reader": "formfeed", "path": str(path),
                        "options": {"source": "gold", "glob_pattern": "**/*.txt"}}]
        elif name == "sample":
            path = sample
            readers = None  # the recipe's own inputs, rooted at the sample folder
        else:
            raise SystemExit(f"unknown input {name!r} (choose from trove, gold, sample)")
        if not path.exists():
            print(f"  skipping input {name}: {path} not found", file=sys.stderr)
            continue
        specs.append(InputSpec(name, readers if readers is not None else [{"sample_root": str(path)}]))
    return specs


def load_recipe_for(recipe_file: Path, spec: InputSpec | None, run_dir: Path, *, jsonl: str | None = None):
    """The recipe as it is today, with its inputs swapped for the benchmark input; 1 task, 1 worker."""
    from finebooks.recipe import InputConfig, load_recipe

    recipe = load_recipe(recipe_file)
    if jsonl is not None:
        recipe.inputs = [InputConfig("book_jsonl", jsonl, {"source": "bench"})]
        recipe.input_root = None
    elif spec is not None and "sample_root" in spec.readers[0]:
        recipe.input_root = spec.readers[0]["sample_root"]
    elif spec is not None:
        recipe.inputs = [InputConfig(r["reader"], r["path"], dict(r["options"])) for r in spec.readers]
        recipe.input_root = None
    recipe.output_path = str(run_dir)
    recipe.executor, recipe.tasks, recipe.workers = "local", 1, 1
    return recipe


def read_books(spec: InputSpec, recipe_file: Path, tmp: Path, limit: int | None = None) -> list:
    """The books of an input, as its FineBooks readers give them (bad inputs are excluded)."""
    from finebooks.engine import build_readers

    recipe = load_recipe_for(recipe_file, spec, tmp / f"read_{spec.name}")
    books = []
    for reader in build_readers(recipe, tmp / f"read_{spec.name}"):
        for doc in reader.run():
            books.append(doc)
            if limit and len(books) >= limit:
                break
        for w in [getattr(reader, "exclusion_writer", None)]:
            if w is not None:
                with contextlib.suppress(Exception):
                    w.close()
        if limit and len(books) >= limit:
            break
    return books


def write_jsonl(books, path: Path, copies: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for k in range(copies):
            for d in books:
                doc_id = d.id if k == 0 else f"{d.id}#copy{k}"
                f.write(json.dumps({"id": doc_id, "text": d.text, "metadata": d.metadata},
                                   ensure_ascii=False, default=str) + "\n")


def recipe_scorers(recipe) -> list:
    """(name, params) of the recipe's scorers, in order; score_language first if the recipe lacks it."""
    out = [(s.name, dict(s.params)) for s in recipe.stages
           if s.spec.kind == "stage" and s.name.startswith("score_")]
    if not any(name == "score_language" for name, _ in out):
        out.insert(0, ("score_language", {}))
    return out


def annotate(books, recipe_file: Path) -> list:
    """The books after one pass of the recipe's scorers (the per-stage input)."""
    from datatrove.data import Document

    from finebooks.recipe import load_recipe
    from finebooks.registry import REGISTRY

    recipe = load_recipe(recipe_file)
    data = [Document(text=d.text, id=d.id, metadata=dict(d.metadata)) for d in books]
    for name, params in recipe_scorers(recipe):
        try:
            step = REGISTRY[name].load()(**params)
            data = list(step.run(iter(data), 0, 1))
        except Exception as e:  # noqa: BLE001 - that stage's own row will show the error
            print(f"  annotation pass: {name} failed ({e.__class__.__name__}: {e}); its annotations are missing",
                  file=sys.stderr)
    return data


def prepare(spec: InputSpec, recipe_file: Path, tmp: Path, limit: int | None) -> None:
    books = read_books(spec, recipe_file, tmp, limit)
    spec.books = len(books)
    spec.mb = sum(len(d.text.encode("utf-8")) for d in books) / 1e6
    spec.jsonl = str(tmp / "jsonl" / spec.name / "books.jsonl")
    write_jsonl(books, Path(spec.jsonl))
    if limit:  # the recipe and the bare FineBooks reader read the same limited books
        spec.readers = [{"reader": "book_jsonl", "path": str(Path(spec.jsonl).parent), "options": {"source": spec.name}}]
    spec.annotated = str(tmp / "annotated" / spec.name / "books.jsonl")
    write_jsonl(annotate(books, recipe_file), Path(spec.annotated))


# ---------------------------------------------------------------- measurements (run in a worker process)
def _usage() -> tuple[float, float]:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime, time.perf_counter()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@contextlib.contextmanager
def _timed(result: dict):
    cpu0, wall0 = _usage()
    yield
    cpu1, wall1 = _usage()
    result["cpu_s"] = cpu1 - cpu0
    result["wall_s"] = wall1 - wall0


def _quiet():
    from datatrove.utils.logging import logger

    logger.remove()


def _load_docs(path: str) -> list:
    from datatrove.data import Document

    docs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            docs.append(Document(text=row["text"], id=row["id"], metadata=row.get("metadata") or {}))
    return docs


def _count_jsonl(folder: Path) -> int:
    import gzip

    if not folder.exists():
        return 0
    return sum(1 for p in folder.rglob("*.jsonl*")
               for _ in (gzip.open(p, "rt", encoding="utf-8") if p.suffix == ".gz" else open(p, encoding="utf-8")))


def job_bare_datatrove(job: dict, res: dict) -> None:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    out = Path(job["tmp"]) / "out"
    # datatrove's defaults (gzip output) unless the job says otherwise
    kw = {"compression": job["compression"]} if "compression" in job else {}
    ex = LocalPipelineExecutor([JsonlReader(str(Path(job["jsonl"]).parent)), JsonlWriter(str(out), **kw)],
                               tasks=1, workers=1, logging_dir=str(Path(job["tmp"]) / "logs"))
    with _timed(res):
        ex.run()
    res["books_out"] = _count_jsonl(out)


def job_stock_filters(job: dict, res: dict) -> None:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline import filters
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    out = Path(job["tmp"]) / "out"
    steps = [getattr(filters, name)() for name in STOCK_FILTERS]
    ex = LocalPipelineExecutor([JsonlReader(str(Path(job["jsonl"]).parent)), *steps, JsonlWriter(str(out))],
                               tasks=1, workers=1, logging_dir=str(Path(job["tmp"]) / "logs"))
    with _timed(res):
        ex.run()
    res["books_out"] = _count_jsonl(out)


def job_recipe(job: dict, res: dict) -> None:
    """The recipe through the engine (every executor), minus the run summary (counted untimed)."""
    from finebooks.engine import make_executors, summarise, write_resolved_recipe

    spec = InputSpec(**job["spec"]) if job.get("spec") else None
    run_dir = Path(job["tmp"]) / "run"
    recipe = load_recipe_for(Path(job["recipe"]), spec, run_dir, jsonl=job.get("recipe_jsonl"))
    if job.get("no_stages"):
        recipe.stages = []
    write_resolved_recipe(recipe, run_dir)
    executors = make_executors(recipe, run_dir)
    with _timed(res):
        executors[-1].run()
    summary = summarise(run_dir)
    res["books_in"], res["books_out"] = summary.books_in, summary.kept
    res["note"] = f"{len(executors)} executor(s); excluded {summary.excluded}"
    res["stages"] = [s.name for s in recipe.stages]
    res["steps"] = step_times(run_dir)
    if summary.unaccounted:
        res["error"] = f"{summary.unaccounted} books unaccounted"


def step_times(run_dir: Path) -> list[list]:
    """``[executor, step, seconds]`` of every step of a finished run, from datatrove's own step
    timers (``logs/<executor>/stats.json``; wall time inside each step, summed over tasks)."""
    out = []
    for stats in sorted((run_dir / "logs").glob("*/stats.json")):
        with contextlib.suppress(OSError, ValueError):
            for step in json.loads(stats.read_text()):
                seconds = (step.get("time_stats") or {}).get("total", 0.0)
                name = step.get("name", "?").split(": ", 1)[-1]
                out.append([stats.parent.name, name, round(float(seconds), 3)])
    return out


def make_stage(name: str, params: dict, run_dir: Path):
    """A registry stage built as the engine builds it (exclusion writer where it takes one)."""
    from finebooks.engine import _instantiate
    from finebooks.recipe import StageConfig
    from finebooks.registry import REGISTRY

    stage = StageConfig(name=name, spec=REGISTRY[name], params=dict(params), index=1)
    return _instantiate(stage, run_dir, False)


def job_stage(job: dict, res: dict) -> None:
    docs = _load_docs(job["annotated"])
    step = make_stage(job["stage"], job.get("params") or {}, Path(job["tmp"]) / "run")
    n = 0
    with _timed(res):
        for _ in step.run(iter(docs), 0, 1):
            n += 1
    res["books_out"] = n
    with contextlib.suppress(Exception):
        if getattr(step, "exclusion_writer", None) is not None:
            step.exclusion_writer.close()


def _multi_stage(recipe):
    """The recipe's first multi-stage step (its dedup), or MinHash with datatrove's settings."""
    from finebooks.recipe import StageConfig
    from finebooks.registry import REGISTRY

    multi = [s for s in recipe.stages if s.spec.kind == "multi"]
    for s in multi:  # the near-duplicate step (exact dedup and page dedup hash, they don't MinHash)
        if "near" in s.name or "minhash" in s.name:
            return s
    if multi:
        return multi[0]
    return StageConfig("minhash_dedup", REGISTRY["minhash_dedup"], {}, index=1)


def job_minhash_finebooks(job: dict, res: dict) -> None:
    """The recipe's dedup stage: its first part's steps (signatures) + its bucket executors."""
    from finebooks.engine import MultiStageContext
    from finebooks.recipe import load_recipe

    recipe = load_recipe(job["recipe"])
    stage = _multi_stage(recipe)
    run_dir = Path(job["tmp"]) / "run"
    ctx = MultiStageContext(run_dir=run_dir, label=stage.label, tasks=1, part=1)
    split = stage.spec.load()(**stage.params).plan(ctx)
    docs = _load_docs(job["annotated"])
    buckets = [p for p in split.middle if "bucket" in p.name]
    with _timed(res):
        cpu0 = _usage()[0]
        data = iter(docs)
        for step in split.finish:
            data = step.run(data, 0, 1)
        if data is not None:
            for _ in data:
                pass
        sig = _usage()[0] - cpu0
        for planned in buckets:
            for rank in range(planned.tasks):
                data = None
                for step in planned.pipeline:
                    data = step.run(data, rank, planned.tasks)
                if data is not None:
                    for _ in data:
                        pass
    res["books_out"] = len(docs)
    res["note"] = (f"{stage.name} {json.dumps(stage.params, sort_keys=True)}; signatures {sig:.2f} s, "
                   f"buckets {res['cpu_s'] - sig:.2f} s")


def job_minhash_stock(job: dict, res: dict) -> None:
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets, MinhashDedupSignature

    from finebooks.recipe import load_recipe

    recipe = load_recipe(job["recipe"])
    params = _multi_stage(recipe).params
    # the same shingle size and LSH bands x rows as the recipe's step (near_dedup names them
    # num_bands / rows_per_band)
    names = {"n_grams": "n_grams", "num_buckets": "num_buckets", "num_bands": "num_buckets",
             "hashes_per_bucket": "hashes_per_bucket", "rows_per_band": "hashes_per_bucket", "seed": "seed"}
    cfg_kwargs = {names[k]: v for k, v in params.items() if k in names}
    cfg = MinhashConfig(**cfg_kwargs)
    tmp = Path(job["tmp"])
    docs = _load_docs(job["annotated"])
    with _timed(res):
        cpu0 = _usage()[0]
        MinhashDedupSignature(output_folder=str(tmp / "sigs"), config=cfg, language="en").run(iter(docs), 0, 1)
        sig = _usage()[0] - cpu0
        for b in range(cfg.num_buckets):
            MinhashDedupBuckets(input_folder=str(tmp / "sigs"), output_folder=str(tmp / "buckets"),
                                config=cfg).run(None, b, cfg.num_buckets)
    res["books_out"] = len(docs)
    res["note"] = (f"MinhashDedupSignature+Buckets {json.dumps(cfg_kwargs, sort_keys=True)}; "
                   f"signatures {sig:.2f} s, buckets {res['cpu_s'] - sig:.2f} s")


JOBS = {
    "bare_datatrove": job_bare_datatrove,
    "stock_filters": job_stock_filters,
    "recipe": job_recipe,
    "stage": job_stage,
    "minhash_finebooks": job_minhash_finebooks,
    "minhash_stock": job_minhash_stock,
}


def run_job(job: dict) -> dict:
    """Run one measurement here; returns the result fields."""
    _quiet()
    res: dict = {}
    try:
        JOBS[job["kind"]](job, res)
    except Exception as e:  # noqa: BLE001 - a broken stage is a row with its error, not a crashed suite
        res["error"] = f"{e.__class__.__name__}: {e}"[:300]
    res["peak_rss_mb"] = _peak_rss_mb()
    return res


def measure_repeated(job: dict, isolate: bool, repeat: int = 1) -> dict:
    """``measure`` ``repeat`` times (each in a fresh folder and process); the run with the median CPU
    time is the result, the spread goes to its note. A shared machine's load moves single runs by
    ~10 %; the median of 3 steadies the ratios."""
    if repeat <= 1:
        return measure(job, isolate)
    runs = []
    for i in range(repeat):
        runs.append(measure({**job, "tmp": str(Path(job["tmp"]) / f"rep{i}")}, isolate))
    ok = [r for r in runs if not r.get("error")]
    if not ok:
        return runs[0]
    ok.sort(key=lambda r: r.get("cpu_s", 0.0))
    res = dict(ok[len(ok) // 2])
    cpus = [r.get("cpu_s", 0.0) for r in ok]
    spread = f"median of {len(ok)} runs (CPU {min(cpus):.2f}-{max(cpus):.2f} s)"
    res["note"] = f"{res.get('note', '')}; {spread}".strip("; ")
    return res


def measure(job: dict, isolate: bool) -> dict:
    """Run a job in a fresh worker process (clean CPU time and peak RSS) or in this one."""
    Path(job["tmp"]).mkdir(parents=True, exist_ok=True)
    if not isolate:
        import io

        with contextlib.redirect_stderr(io.StringIO()):  # datatrove's per-task log sink writes there
            res = run_job(job)
        res["peak_rss_mb"] = None  # the peak of this whole process: not the job's
        return res
    job_file = Path(job["tmp"]) / "job.json"
    job_file.write_text(json.dumps(job))
    proc = subprocess.run([sys.executable, str(HERE), "--_job", str(job_file)], capture_output=True, text=True, check=False,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        return {"error": f"worker failed (rc {proc.returncode}): {proc.stderr.strip()[-300:]}"}
    return json.loads(lines[-1][len("RESULT "):])


# ---------------------------------------------------------------- the suite
def stage_names() -> list[str]:
    from finebooks.registry import REGISTRY

    return [name for name, spec in REGISTRY.items() if spec.kind == "stage"]


def missing_params(name: str, params: dict) -> list[str]:
    from finebooks.registry import REGISTRY, stage_params

    return [p.name for p in stage_params(REGISTRY[name].load()).values() if p.required and p.name not in params]


def recipe_params(recipe, name: str) -> dict | None:
    for s in recipe.stages:
        if s.name == name:
            return dict(s.params)
    return None


def run_suite(data: Path, *, quick: bool = False, inputs: list[str] | None = None, sample: Path | None = None,
              recipe_file: Path = DEFAULT_RECIPE, isolate: bool = True, scaling: bool = True, minhash: bool = True,
              stages: list[str] | None = None, scale_books: int | None = None, tmp: Path | None = None,
              max_books: int | None = None, table: bool = True, repeat: int = 1, progress=print) -> Suite:
    """Measure everything (see the module doc); ``max_books`` caps every input (else ``--quick`` caps)."""
    from finebooks.recipe import load_recipe

    _quiet()
    suite = Suite(machine=machine_info())
    tmp_ctx = tempfile.TemporaryDirectory(prefix="fb-bench-") if tmp is None else contextlib.nullcontext(str(tmp))
    with tmp_ctx as tmp_name:
        tmp = Path(tmp_name)
        if sample is None:
            from finebooks.sample import make_sample

            sample = tmp / "sample"
            make_sample(sample, seed=0)
        inputs = inputs or ["trove", "gold", "sample"]
        specs = input_specs(data, sample, inputs)
        recipe = load_recipe(recipe_file)
        names = stages if stages is not None else stage_names()
        counter = iter(range(1_000_000))

        def job(kind: str, **kw) -> dict:
            return {"kind": kind, "tmp": str(tmp / "jobs" / f"{next(counter):03d}_{kind}"),
                    "recipe": str(recipe_file), **kw}

        def add(rows: list, spec_name: str, what: str, books: int, mb: float, res: dict) -> Row:
            row = Row(spec_name, what, books_in=res.get("books_in", books), books_out=res.get("books_out", 0),
                      mb=mb, cpu_s=res.get("cpu_s", 0.0), wall_s=res.get("wall_s", 0.0),
                      peak_rss_mb=res.get("peak_rss_mb"), note=res.get("note", ""), error=res.get("error", ""),
                      stages=res.get("stages") or [], steps=res.get("steps") or [])
            rows.append(row)
            progress(f"  {spec_name:<7} {what:<34} {row.cpu_s:8.2f} s CPU  {row.mb_per_core:7.2f} MB/s/core"
                     + (f"  ERROR {row.error}" if row.error else ""))
            return row

        for spec in specs:
            limit = max_books or (QUICK_BOOKS.get(spec.name) if quick else None)
            progress(f"{spec.name}: preparing (reading the books, one untimed pass of the recipe's scorers)")
            prepare(spec, recipe_file, tmp, limit)
            progress(f"{spec.name}: {spec.books} books, {spec.mb:.2f} MB")
            if not table:
                continue
            sd = asdict(spec)
            add(suite.rows, spec.name, "bare datatrove Jsonl->Jsonl", spec.books, spec.mb,
                measure_repeated(job("bare_datatrove", jsonl=spec.jsonl), isolate, repeat))
            add(suite.rows, spec.name, "  (same, uncompressed output)", spec.books, spec.mb,
                measure_repeated(job("bare_datatrove", jsonl=spec.jsonl, compression=None), isolate, repeat))
            add(suite.rows, spec.name, "bare FineBooks reader->Parquet", spec.books, spec.mb,
                measure_repeated(job("recipe", spec=sd, no_stages=True), isolate, repeat))
            add(suite.rows, spec.name, "stock datatrove web filters", spec.books, spec.mb,
                measure_repeated(job("stock_filters", jsonl=spec.jsonl), isolate, repeat))
            add(suite.rows, spec.name, f"recipe {recipe.name} (whole)", spec.books, spec.mb,
                measure_repeated(job("recipe", spec=sd), isolate, repeat))
            for name in names:
                params = recipe_params(recipe, name)
                what = f"stage {name}" + ("" if params is not None else " (not in recipe)")
                missing = missing_params(name, params or {})
                if missing:  # e.g. a classifier that needs a trained model: nothing to measure
                    suite.skipped.append(f"stage {name}: needs {', '.join(missing)} (not in the recipe)")
                    continue
                add(suite.rows, spec.name, what, spec.books, spec.mb,
                    measure_repeated(job("stage", stage=name, params=params or {}, annotated=spec.annotated), isolate, repeat))

        trove = next((s for s in specs if s.name == "trove"), specs[0] if specs else None)
        if scaling and trove is not None:
            progress(f"scaling: recipe {recipe.name} on 1x, 2x{'' if quick else ', 4x'} the {trove.name} books")
            books = _load_docs(trove.jsonl)
            if scale_books:
                books = books[:scale_books]
            mb1 = sum(len(d.text.encode("utf-8")) for d in books) / 1e6
            for k in (1, 2) if quick else (1, 2, 4):
                path = tmp / "scaling" / f"x{k}" / "books.jsonl"
                write_jsonl(books, path, copies=k)
                add(suite.scaling, trove.name, f"{k}x", len(books) * k, mb1 * k,
                    measure_repeated(job("recipe", recipe_jsonl=str(path.parent)), isolate, repeat))

        if minhash and trove is not None:
            progress(f"MinHash: the recipe's dedup stage vs datatrove stock, on the {trove.name} books")
            for kind, what in (("minhash_stock", "datatrove stock signatures+buckets"),
                               ("minhash_finebooks", "FineBooks recipe dedup signatures+buckets")):
                add(suite.minhash, trove.name, what, trove.books, trove.mb,
                    measure_repeated(job(kind, annotated=trove.annotated), isolate, repeat))
    return suite


# ---------------------------------------------------------------- report
def machine_info() -> dict:
    cpu = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0, 0, 0)
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "nproc": os.cpu_count(), "cpu": cpu,
            "python": platform.python_version(), "load_avg_1m": round(load[0], 2)}


def _ratio(x: float, base: float) -> str:
    return f"{x / base:.2f}" if base > 0 and x > 0 else "-"


def render(suite: Suite) -> str:
    m = suite.machine
    out = [(f"FineBooks benchmark suite - {m.get('date')} - {m.get('nproc')} cores {m.get('cpu')} - "
            f"Python {m.get('python')} - load {m.get('load_avg_1m')} at start"),
           ("MB/s/core = input MB / CPU seconds of the worker process (1 task, 1 worker); "
            "ratios are per-core speed against the same input's rows"),
           ""]
    head = (f"{'input':<7} {'measurement':<44} {'books':>9} {'MB':>7} {'CPU s':>8} {'wall s':>8} "
            f"{'MB/s/core':>9} {'MB/s wall':>9} {'books/s':>8} {'RSS MB':>7} {'x bare':>7} {'x stock':>7}")
    out += [head, "-" * len(head)]
    base = {r.input: r.mb_per_core for r in suite.rows if r.what.startswith("bare datatrove")}
    stock = {r.input: r.mb_per_core for r in suite.rows if r.what.startswith("stock")}
    for r in suite.rows:
        out.append(_line(r, base.get(r.input, 0), stock.get(r.input, 0)))
    spreads = [r for r in suite.rows if "median of" in r.note and not r.what.startswith("stage ")]
    if spreads:
        out += ["", "repeats (each row above is the run with the median CPU time; stage rows too):"]
        out += [f"  {r.input:<7} {r.what.strip():<40} {r.note[r.note.index('median of'):]}" for r in spreads]
    errors = [r for r in suite.rows + suite.scaling + suite.minhash if r.error]
    if suite.scaling:
        out += ["", "scaling (recipe on k copies of the books, new ids; read as book JSONL):",
                (f"{'factor':<7} {'books':>7} {'MB':>8} {'CPU s':>8} {'wall s':>8} {'MB/s/core':>9} "
                 f"{'CPU / (k x 1x)':>14} {'RSS MB':>7}")]
        one = suite.scaling[0]
        for i, r in enumerate(suite.scaling):
            k = r.mb / one.mb if one.mb else 0
            lin = r.cpu_s / (k * one.cpu_s) if one.cpu_s and k else 0
            rss = f"{r.peak_rss_mb:7.0f}" if r.peak_rss_mb else f"{'-':>7}"
            out.append(f"{r.what:<7} {r.books_in:>7} {r.mb:8.2f} {r.cpu_s:8.2f} {r.wall_s:8.2f} "
                       f"{r.mb_per_core:9.2f} {lin:14.2f} {rss}")
    if suite.minhash:
        out += ["", "MinHash (same books; signatures + LSH buckets):",
                f"{'implementation':<44} {'CPU s':>8} {'MB/s/core':>9} {'RSS MB':>7}  settings"]
        for r in suite.minhash:
            rss = f"{r.peak_rss_mb:7.0f}" if r.peak_rss_mb else f"{'-':>7}"
            out.append(f"{r.what:<44} {r.cpu_s:8.2f} {r.mb_per_core:9.2f} {rss}  {r.note}")
        if len(suite.minhash) == 2 and all(r.cpu_s for r in suite.minhash):
            out.append(f"FineBooks speed / stock speed: {suite.minhash[0].cpu_s / suite.minhash[1].cpu_s:.2f}x")
    for r in suite.rows:
        if r.steps and r.cpu_s and r.what.startswith("recipe"):
            out += ["", (f"where the time of '{r.input} {r.what}' goes (datatrove's step timers; "
                        f"steps under 1 % of the CPU time are summed as 'other steps'):"),
                    f"{'executor':<40} {'step':<40} {'s':>7} {'share':>6}"]
            small = 0.0
            for executor, step, sec in sorted(r.steps, key=lambda x: -x[2]):
                if sec < 0.01 * r.cpu_s:
                    small += sec
                    continue
                out.append(f"{executor[:40]:<40} {step[:40]:<40} {sec:7.2f} {sec / r.cpu_s:6.1%}")
            rest = r.cpu_s - sum(x[2] for x in r.steps)
            out.append(f"{'':<40} {'other steps':<40} {small:7.2f} {small / r.cpu_s:6.1%}")
            out.append(f"{'':<40} {'outside the steps (executors, logging)':<40} {rest:7.2f} {rest / r.cpu_s:6.1%}")
    measured = next((r.stages for r in suite.rows + suite.scaling if r.stages), None)
    if measured:
        out += ["", "recipe stages as measured: " + ", ".join(measured)]
    for line in dict.fromkeys(suite.skipped):
        out.append(f"skipped {line}")
    if errors:
        out += ["", "errors:"] + [f"  {r.input} {r.what}: {r.error}" for r in errors]
    return "\n".join(out)


def _line(r: Row, base: float, stock: float) -> str:
    rss = f"{r.peak_rss_mb:7.0f}" if r.peak_rss_mb else f"{'-':>7}"
    books = f"{r.books_in}>{r.books_out}"
    return (f"{r.input:<7} {r.what[:44]:<44} {books:>9} {r.mb:7.2f} {r.cpu_s:8.2f} {r.wall_s:8.2f} "
            f"{r.mb_per_core:9.2f} {r.mb_per_s_wall:9.2f} {r.books_per_core_s:8.1f} {rss} "
            f"{_ratio(r.mb_per_core, base):>7} {_ratio(r.mb_per_core, stock):>7}")


def to_json(suite: Suite) -> dict:
    def rows(rs):
        return [{**asdict(r), "mb_per_core": r.mb_per_core, "mb_per_s_wall": r.mb_per_s_wall,
                 "books_per_core_s": r.books_per_core_s} for r in rs]

    return {"machine": suite.machine, "rows": rows(suite.rows), "scaling": rows(suite.scaling),
            "minhash": rows(suite.minhash), "skipped": suite.skipped}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder (default ../shared/data)")
    ap.add_argument("--quick", action="store_true", help="a few books per input, 1x/2x scaling (seconds)")
    ap.add_argument("--inputs", default="trove,gold,sample", help="comma-separated: trove, gold, sample")
    ap.add_argument("--sample", type=Path, help="an existing sample collection (default: a fresh `finebooks sample`)")
    ap.add_argument("--recipe", type=Path, default=DEFAULT_RECIPE, help="the recipe to measure (default recipes/default.yaml)")
    ap.add_argument("--stages", help="comma-separated stage names, or none (default: every registry stage of kind 'stage')")
    ap.add_argument("--scale-books", type=int, help="scale on the first N trove books only")
    ap.add_argument("--sections", default="table,scaling,minhash",
                    help="comma-separated parts to run: table (the main table), scaling, minhash")
    ap.add_argument("--in-process", action="store_true",
                    help="measure in this process (no worker start-up; no per-measurement peak RSS; models "
                         "loaded once); the default with --quick")
    ap.add_argument("--isolate", action="store_true", help="with --quick: a fresh worker process per measurement")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run every measurement N times and keep the median (default 1; 3 for recorded figures)")
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    ap.add_argument("--_job", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._job:
        res = run_job(json.loads(args._job.read_text()))
        print("RESULT " + json.dumps(res))
        return 0
    if ("trove" in args.inputs or "gold" in args.inputs) and not args.data.is_dir():
        print(f"data folder not found: {args.data} (pass --data, or --inputs sample)", file=sys.stderr)
        return 2
    start = time.perf_counter()
    suite = run_suite(args.data, quick=args.quick, inputs=[s for s in args.inputs.split(",") if s],
                      sample=args.sample, recipe_file=args.recipe, isolate=not (args.in_process or (args.quick and not args.isolate)),
                      table="table" in args.sections, scaling="scaling" in args.sections,
                      minhash="minhash" in args.sections, repeat=max(1, args.repeat),
                      stages=([] if args.stages == "none" else args.stages.split(",")) if args.stages else None, scale_books=args.scale_books,
                      progress=lambda s: print(s, file=sys.stderr, flush=True))
    print(render(suite))
    print(f"\n(suite time {time.perf_counter() - start:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(to_json(suite), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
