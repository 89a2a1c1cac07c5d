"""kill -9 at random points, then the same command again: the output equals an uninterrupted run.

Each test first runs the recipe uninterrupted (and times it), then runs it into a second
directory, killing the whole process group with SIGKILL at several random moments (seeded:
``FINEBOOKS_RESUME_SEED``, printed on failure), re-running the same command after each kill and
finally letting it finish. Kept ids and texts, and exclusion ids, stages and reasons, must be the
same, and the accounting invariant must hold.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from finebooks.engine import summarise
from tests.reliability.conftest import REPO, outputs, recipe_yaml, run_command, subprocess_env

SEED = int(os.environ.get("FINEBOOKS_RESUME_SEED", "20261127"))
SLOW = "  - python: tests.helpers.steps:SlowStep\n    params: {seconds: 0.02}\n"


def _run_to_end(recipe_file: Path) -> float:
    start = time.perf_counter()
    subprocess.run(run_command(recipe_file), cwd=REPO, env=subprocess_env(), check=True, capture_output=True)
    return time.perf_counter() - start


def _kill_after(recipe_file: Path, seconds: float) -> bool:
    """Start the run and SIGKILL its process group after ``seconds``; True if it was still running."""
    proc = subprocess.Popen(run_command(recipe_file), cwd=REPO, env=subprocess_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        proc.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def _check_resume(collection: Path, tmp_path: Path, stages: str, n_kills: int, tasks: int = 4):
    rng = random.Random(SEED)
    files = {}
    for name in ("whole", "killed"):
        files[name] = tmp_path / f"{name}.yaml"
        files[name].write_text(recipe_yaml(collection, tmp_path / name, stages, tasks=tasks))
    duration = _run_to_end(files["whole"])
    # kill points spread over the run (import, read, each executor, the output), one per interval
    points = [duration * rng.uniform(k / n_kills, (k + 1) / n_kills) * 0.9 + 0.3 for k in range(n_kills)]
    killed = [_kill_after(files["killed"], t) for t in points]
    assert any(killed), f"no kill landed (seed {SEED}, points {points})"
    partial = list((tmp_path / "killed").rglob("*.partial"))
    done = list((tmp_path / "killed" / "logs").rglob("completions/*"))
    assert done, f"every kill came before the first task finished: nothing to resume (seed {SEED}, points {points})"
    _run_to_end(files["killed"])
    whole_out, killed_out = outputs(tmp_path / "whole"), outputs(tmp_path / "killed")
    assert killed_out[0] == whole_out[0], f"kept books differ (seed {SEED}, kill points {points})"
    assert killed_out[1] == whole_out[1], f"exclusions differ (seed {SEED}, kill points {points})"
    s = summarise(tmp_path / "killed")
    assert s.unaccounted == 0 and s.books_in == 42 and (s.kept, s.excluded) == (len(whole_out[0]), len(whole_out[1]))
    assert not list((tmp_path / "killed").rglob("*.partial")), "the rerun completed every partial file"
    return points, killed, partial, done


@pytest.mark.slow
def test_single_stage_recipe_resumes_after_kills(collection, tmp_path):
    _check_resume(collection, tmp_path, SLOW + "  - metadata_filter: {key: n_pages, min: 3}\n", n_kills=3)


@pytest.mark.slow
def test_minhash_recipe_resumes_after_kills(collection, tmp_path):
    stages = (SLOW + "  - minhash_dedup: {num_buckets: 4, hashes_per_bucket: 4, n_grams: 3}\n"
              "  - metadata_filter: {key: n_pages, min: 3}\n")
    _check_resume(collection, tmp_path, stages, n_kills=3)
    whole, _ = outputs(tmp_path / "whole")
    assert len(whole) < 40  # the near-duplicates were found: the dedup stage really ran
