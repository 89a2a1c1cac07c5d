"""Executors: one recipe, the same books on local, Ray (optional extra) and Slurm (no cluster here).

Ray tests share one small local Ray instance per module and skip when ``ray`` is not installed.
Slurm tests put fake ``sbatch`` / ``srun`` / ``scontrol`` first on PATH: ``sbatch`` records its
arguments and the submitted script and answers like Slurm ("Submitted batch job N"). One test
then plays the cluster: it runs the submitted scripts themselves, array task by array task, in
submission order, and checks that the books come out as in a local run.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from finebooks.engine import run_recipe, summarise
from finebooks.recipe import validate
from finebooks.sample import make_sample

REPO = Path(__file__).resolve().parents[1]
RAY_MISSING = "ray is an optional extra (pip install -e '.[ray]'): Ray executor tests skipped"
# a light footprint on a small machine: datatrove reserves 2 GB of Ray memory per task by default
RAY_OPTIONS = {"mem_per_cpu_gb": 0.25}
SLURM_OPTIONS = {"partition": "cpu", "time": "01:00:00"}
# datatrove's Ray executor still passes placement_group= to .options(); Ray 2.x deprecates it
pytestmark = pytest.mark.filterwarnings("ignore:placement_group.* parameter is deprecated:DeprecationWarning")


# ---------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("executors") / "sample"
    make_sample(root)
    return root


def default_recipe(sample: Path, executor: dict) -> dict:
    """recipes/default.yaml (every sample format, MinHash dedup) on the sample collection."""
    data = yaml.safe_load((REPO / "recipes" / "default.yaml").read_text())
    data["input_root"] = str(sample)
    data["executor"] = executor
    return data


def planned_executors(data: dict, run_dir: Path) -> list[tuple[str, int]]:
    """(name, tasks) of every executor the engine plans for the recipe (dedup splits it in parts)."""
    from finebooks.engine import plan

    return [(p.name, p.tasks) for p in plan(validate(copy.deepcopy(data)), run_dir)]


def small_recipe(sample: Path, executor: dict, stages: list | None = None) -> dict:
    """Trove books of the sample, bad ones included (exclusions at read time)."""
    return {
        "name": "small",
        "input_root": str(sample),
        "input": [{"reader": "trove", "path": "trove", "options": {"source": "sample-trove"}},
                  {"reader": "trove", "path": "bad/trove", "options": {"source": "sample-bad-trove"}}],
        "stages": stages or [],
        "output": {"path": "unused"},
        "executor": executor,
    }


def run(data: dict, run_dir: Path, **changes):
    data = copy.deepcopy(data)
    for key, value in changes.items():
        data["executor"][key] = value
    return run_recipe(validate(data, source="<test recipe>"), run_dir)


def outputs(run_dir: Path) -> tuple[list, list]:
    """Sorted (id, text) of kept books and (id, stage, reason) of exclusions."""
    def rows(folder: Path, columns: list[str]) -> list[tuple]:
        files = sorted(str(p) for p in folder.rglob("*.parquet")) if folder.exists() else []
        if not files:
            return []
        table = pq.read_table(files, columns=columns).to_pydict()
        return sorted(zip(*(table[c] for c in columns)))

    return (rows(run_dir / "books", ["id", "text"]),
            rows(run_dir / "excluded", ["id", "exclusion_stage", "exclusion_reason"]))


def assert_same_run(a: Path, b: Path) -> tuple[int, int]:
    """Two run directories hold the same books and exclusions, and both account for every book."""
    (books_a, excl_a), (books_b, excl_b) = outputs(a), outputs(b)
    assert books_a and len({i for i, _ in books_a}) == len(books_a)  # non-empty, no id twice
    assert books_a == books_b
    assert excl_a == excl_b
    sa, sb = summarise(a), summarise(b)
    for s in (sa, sb):
        assert s.unaccounted == 0 and s.books_in == s.kept + s.excluded
    assert (sa.books_in, sa.kept, sa.excluded, sa.excluded_by_reason) == \
        (sb.books_in, sb.kept, sb.excluded, sb.excluded_by_reason)
    return len(books_a), len(excl_a)


# ---------------------------------------------------------------- local
def test_ray_is_not_imported_outside_the_ray_path(sample, tmp_path):
    code = textwrap.dedent(f"""
        import sys
        from finebooks.cli import main
        from finebooks.recipe import validate
        validate({{"input": {{"reader": "trove", "path": "x"}}, "output": {{"path": "o"}},
                   "executor": {{"type": "ray"}}}})
        assert main(["read", {str(sample / "trove")!r}, "-f", "trove", "-o", {str(tmp_path / "run")!r}]) == 0
        assert "ray" not in sys.modules, "ray was imported"
    """)
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]


# ---------------------------------------------------------------- ray
@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason=RAY_MISSING)
    started = not ray.is_initialized()
    if started:
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
                 object_store_memory=128 * 1024**2)
    yield ray
    if started:
        ray.shutdown()


@pytest.mark.timeout(180)
def test_cli_ray_run_starts_and_stops_its_own_ray(sample, tmp_path, monkeypatch):
    ray = pytest.importorskip("ray", reason=RAY_MISSING)
    if ray.is_initialized():
        pytest.skip("a Ray instance is already running in this process")
    from finebooks.cli import main

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(small_recipe(sample, {"type": "ray", "tasks": 2, "workers": 2,
                                                           "options": RAY_OPTIONS})))
    assert main(["run", str(recipe), "--output", str(tmp_path / "ray")]) == 0
    assert not ray.is_initialized()  # the instance it started is gone
    run(small_recipe(sample, {"type": "local", "tasks": 2, "workers": 2}), tmp_path / "local")
    assert_same_run(tmp_path / "local", tmp_path / "ray")
    assert (tmp_path / "ray" / "logs" / "main" / "stats.json").is_file()


def test_ray_task_bigger_than_the_local_instance_is_refused(sample, tmp_path, monkeypatch):
    ray = pytest.importorskip("ray", reason=RAY_MISSING)
    if ray.is_initialized():
        pytest.skip("a Ray instance is already running in this process")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    data = small_recipe(sample, {"type": "ray", "options": {"mem_per_cpu_gb": 100_000}})
    with pytest.raises(RuntimeError, match="cannot be scheduled.*memory"):
        run(data, tmp_path / "ray")
    assert not ray.is_initialized()


@pytest.mark.timeout(300)
def test_ray_default_recipe_on_sample_matches_local(ray_cluster, sample, tmp_path):
    data = default_recipe(sample, {"type": "local", "tasks": 2, "workers": 2})
    run(data, tmp_path / "local")
    summary = run(data, tmp_path / "ray", type="ray", options=RAY_OPTIONS)
    assert not summary.submitted and summary.kept > 0
    _, n_excluded = assert_same_run(tmp_path / "local", tmp_path / "ray")
    assert n_excluded >= 4  # bad inputs and MinHash duplicates are in both
    # every executor of the dedup chain ran on Ray with all its tasks
    executors = planned_executors(data, tmp_path / "ray")
    assert len(executors) >= 3 and executors[-1][0].endswith("_output") and executors[-1][1] == 2
    for name, tasks in executors:
        logs = tmp_path / "ray" / "logs" / name
        assert len(list((logs / "completions").iterdir())) == tasks
        assert json.loads((logs / "executor.json").read_text())["cpus_per_task"] == 1


@pytest.mark.realdata
@pytest.mark.timeout(300)
def test_ray_on_trove_books_matches_local(ray_cluster, shared_data, tmp_path):
    data = {
        "name": "trove-executors",
        "input": {"reader": "trove", "path": str(shared_data / "raw_ocr" / "trove_nla_books"),
                  "options": {"source": "trove"}},
        "stages": [{"metadata_filter": {"key": "n_pages", "min": 20}},
                   {"metadata_filter": {"key": "year", "min": 1800}}],
        "output": {"path": "unused"},
        "executor": {"type": "local", "tasks": 3, "workers": 2},
    }
    run(data, tmp_path / "local")
    run(data, tmp_path / "ray", type="ray", options=RAY_OPTIONS)
    n_books, n_excluded = assert_same_run(tmp_path / "local", tmp_path / "ray")
    assert n_books > 100 and n_excluded > 0


@pytest.mark.timeout(240)
def test_ray_failed_tasks_raise_and_a_rerun_resumes(ray_cluster, sample, tmp_path):
    data = small_recipe(sample, {"type": "ray", "tasks": 2, "workers": 2, "options": RAY_OPTIONS},
                        stages=[{"minhash_dedup": {"num_buckets": 2, "hashes_per_bucket": 4}}])
    run_dir = tmp_path / "ray"
    blocker = run_dir / "work" / "01_minhash_dedup" / "books"  # a file where part 1 writes a folder
    blocker.parent.mkdir(parents=True)
    blocker.write_text("in the way")
    # datatrove only warns; the engine raises instead of letting the next executor wait for ever
    with pytest.raises(RuntimeError, match=r"2/2 tasks failed .*part1_01_minhash_dedup_signatures"):
        run(data, run_dir)
    assert "FileExistsError" in (run_dir / "logs" / "part1_01_minhash_dedup_signatures" / "logs"
                                 / "task_00000.log").read_text()
    blocker.unlink()
    run(data, run_dir)  # resumes
    run(data, tmp_path / "local", type="local", options={})
    assert_same_run(tmp_path / "local", run_dir)


# ---------------------------------------------------------------- slurm
FAKE_SBATCH = """\
#!{python}
# fake sbatch: record the call and a copy of the script (datatrove deletes its temporary file)
import json, os, shutil, sys
log = os.environ["FAKE_SLURM_DIR"]
n = len(os.listdir(os.path.join(log, "jobs")))
job_id = str(12345 + n)
script = sys.argv[-1]
copy = os.path.join(log, "jobs", job_id + ".sh")
shutil.copy(script, copy)
with open(os.path.join(log, "sbatch_calls.jsonl"), "a") as f:
    f.write(json.dumps({{"args": sys.argv[1:-1], "script_path": script, "script": open(script).read(),
                        "copy": copy, "job_id": job_id}}) + "\\n")
print("Submitted batch job " + job_id)
"""
FAKE_SRUN = """\
#!/bin/sh
# fake srun: drop srun's own options, run the command once
while [ $# -gt 0 ]; do case "$1" in -n|-N) shift 2;; -*) shift;; *) break;; esac; done
exec "$@"
"""
FAKE_SCONTROL = "#!/bin/sh\necho localhost\n"  # `scontrol show hostnames NODELIST`


class FakeSlurm:
    def __init__(self, root: Path):
        self.root = root

    def calls(self) -> list[dict]:
        log = self.root / "sbatch_calls.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def run_jobs(self, calls: list[dict]) -> None:
        """Play the cluster: every array task of every job, jobs in submission order (dependency order)."""
        env = dict(os.environ, SLURM_NODELIST="localhost")
        for call in calls:
            array = re.search(r"^#SBATCH --array=0-(\d+)", call["script"], re.MULTILINE)
            offset = re.search(r"RUN_OFFSET=(\d+)", " ".join(call["args"]))
            procs = [subprocess.Popen(["bash", call["copy"]], text=True, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT,
                                      env=dict(env, SLURM_JOB_ID=call["job_id"], SLURM_ARRAY_TASK_ID=str(i),
                                               RUN_OFFSET=offset.group(1) if offset else "0"))
                     for i in range(int(array.group(1)) + 1)]
            for p in procs:
                out, _ = p.communicate(timeout=300)
                assert p.returncode == 0, f"job {call['job_id']} failed:\n{out[-3000:]}"


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch) -> FakeSlurm:
    root = tmp_path / "fake_slurm"
    (root / "bin").mkdir(parents=True)
    (root / "jobs").mkdir()
    for name, text in (("sbatch", FAKE_SBATCH.format(python=sys.executable)), ("srun", FAKE_SRUN),
                       ("scontrol", FAKE_SCONTROL)):
        (root / "bin" / name).write_text(text)
        (root / "bin" / name).chmod(0o755)
    # the fakes first; then this interpreter's scripts (launch_pickled_pipeline, merge_stats)
    monkeypatch.setenv("PATH", os.pathsep.join([str(root / "bin"), str(Path(sys.executable).parent),
                                                os.environ.get("PATH", "")]))
    monkeypatch.setenv("FAKE_SLURM_DIR", str(root))
    for var in ("SLURM_ARRAY_TASK_ID", "SLURM_JOB_ID", "SLURM_NODELIST"):
        monkeypatch.delenv(var, raising=False)
    return FakeSlurm(root)


def sbatch_lines(script: str) -> dict[str, str]:
    return dict(re.findall(r"^#SBATCH --([\w-]+)=?(.*)$", script, re.MULTILINE))


def test_slurm_writes_the_sbatch_script_and_submits_it(fake_slurm, sample, tmp_path):
    options = {**SLURM_OPTIONS, "cpus_per_task": 2, "mem_per_cpu_gb": 3, "qos": ""}
    data = small_recipe(sample, {"type": "slurm", "tasks": 3, "workers": 2, "options": options})
    run_dir = tmp_path / "run"
    summary = run(data, run_dir)
    assert summary.submitted and summary.kept == summary.books_in == 0
    assert json.loads((run_dir / "summary.json").read_text())["submitted"] is True
    assert not (run_dir / "books").exists()  # nothing ran here: it was submitted
    logs = run_dir / "logs" / "main"
    script = (logs / "launch_script.slurm").read_text()
    sbatch = sbatch_lines(script)
    assert sbatch["partition"] == "cpu" and sbatch["time"] == "01:00:00"
    assert sbatch["array"] == "0-2%2"  # 3 tasks, 2 at a time (executor.workers)
    assert sbatch["cpus-per-task"] == "2" and sbatch["mem-per-cpu"] == "3G"
    assert sbatch["job-name"] == "finebooks_small_main" and "qos" not in sbatch
    assert sbatch["output"] == str(logs / "slurm_logs" / "%A_%a.out")
    assert f"launch_pickled_pipeline {logs / 'executor.pik'}" in script
    if sys.prefix != sys.base_prefix:  # the job activates the environment we submit from
        assert f"source {Path(sys.prefix) / 'bin' / 'activate'}" in script
    assert json.loads((logs / "ranks_to_run.json").read_text()) == [0, 1, 2]

    import dill

    with open(logs / "executor.pik", "rb") as f:
        executor = dill.load(f)
    assert type(executor).__name__ == "SlurmPipelineExecutor" and executor.world_size == 3
    assert [type(s).__name__ for s in executor.pipeline][-1] == "BookParquetWriter"

    calls = fake_slurm.calls()
    assert len(calls) == 2  # the array job, then datatrove's stats merge
    job, merge = calls
    assert job["args"] == ["--export=ALL,RUN_OFFSET=0"] and job["script"] == script
    assert merge["args"] == []
    assert sbatch_lines(merge["script"])["dependency"] == f"afterok:{job['job_id']}"
    assert f"merge_stats {logs / 'stats'} -o {logs / 'stats.json'}" in merge["script"]
    assert json.loads((run_dir / "logs" / "slurm_jobs.json").read_text()) == {"main": "12345"}


def test_slurm_multi_stage_steps_are_dependent_jobs(fake_slurm, sample, tmp_path):
    data = default_recipe(sample, {"type": "slurm", "tasks": 3, "workers": 2, "options": SLURM_OPTIONS})
    run_dir = tmp_path / "run"
    assert run(data, run_dir).submitted
    calls = fake_slurm.calls()
    executors = planned_executors(data, run_dir)
    assert len(executors) >= 3 and executors[-1][0].endswith("_output") and executors[-1][1] == 3
    assert len(calls) == 2 * len(executors)  # each: its array job + its stats merge
    previous = None
    for (name, tasks), job, merge in zip(executors, calls[0::2], calls[1::2], strict=True):
        script = (run_dir / "logs" / name / "launch_script.slurm").read_text()
        assert job["script"] == script
        lines = sbatch_lines(script)
        assert lines["partition"] == "cpu" and lines["time"] == "01:00:00"
        assert lines["array"] == f"0-{tasks - 1}%2" and lines["job-name"] == f"finebooks_default_{name}"
        assert f"launch_pickled_pipeline {run_dir / 'logs' / name / 'executor.pik'}" in script
        expected = ["--export=ALL,RUN_OFFSET=0"] + ([f"--dependency=afterok:{previous}"] if previous else [])
        assert job["args"] == expected
        assert sbatch_lines(merge["script"])["dependency"] == f"afterok:{job['job_id']}"
        previous = job["job_id"]
    jobs = json.loads((run_dir / "logs" / "slurm_jobs.json").read_text())
    assert jobs == {name: c["job_id"] for (name, _), c in zip(executors, calls[0::2], strict=True)}


@pytest.mark.timeout(300)
def test_slurm_submitted_jobs_give_the_local_books_and_resubmission_skips_them(fake_slurm, sample, tmp_path):
    data = small_recipe(sample, {"type": "slurm", "tasks": 2, "workers": 2, "options": SLURM_OPTIONS},
                        stages=[{"minhash_dedup": {"num_buckets": 2, "hashes_per_bucket": 4}}])
    run_dir = tmp_path / "slurm"
    run(data, run_dir)
    calls = fake_slurm.calls()
    assert len(calls) == 8
    fake_slurm.run_jobs(calls)
    run(data, tmp_path / "local", type="local", options={})
    assert_same_run(tmp_path / "local", run_dir)
    # running the recipe again once the jobs are done submits nothing and counts the books
    summary = run(data, run_dir)
    assert len(fake_slurm.calls()) == 8
    assert not summary.submitted and summary.kept == summarise(tmp_path / "local").kept > 0
    assert summary.unaccounted == 0
    assert set(json.loads((run_dir / "logs" / "slurm_jobs.json").read_text()).values()) == {-1}


def test_slurm_refuses_to_submit_from_inside_an_array_job(fake_slurm, sample, tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "0")
    with pytest.raises(RuntimeError, match="inside a Slurm array job"):
        run(small_recipe(sample, {"type": "slurm", "options": SLURM_OPTIONS}), tmp_path / "run")
    assert fake_slurm.calls() == []
