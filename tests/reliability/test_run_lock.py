"""Two runs into one run directory at once are refused; a killed run's lock file does not block."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from finebooks.engine import run_recipe, summarise
from finebooks.recipe import RecipeError, load_recipe
from finebooks.runlock import LOCK_NAME, RunDirectoryBusy, RunLock, read_holder
from tests.reliability.conftest import REPO, recipe_yaml, run_command, subprocess_env


def test_lock_is_exclusive_and_released(tmp_path):
    with RunLock(tmp_path / "run") as lock:
        assert lock.held and read_holder(tmp_path / "run" / LOCK_NAME)["pid"] == os.getpid()
        with pytest.raises(RunDirectoryBusy) as err:
            RunLock(tmp_path / "run").acquire()
        msg = str(err.value)
        assert "in use by another FineBooks run" in msg and f"pid {os.getpid()}" in msg and "--output" in msg
    with RunLock(tmp_path / "run") as again:  # released on exit
        assert again.held


def test_a_second_run_into_the_same_directory_is_refused(collection, tmp_path):
    out = tmp_path / "run"
    recipe_file = tmp_path / "r.yaml"
    go = tmp_path / "go"  # the first run waits for this file: it is certainly running meanwhile
    wait = f"  - python: tests.reliability.steps:WaitForFile\n    params: {{path: '{go}'}}\n"
    recipe_file.write_text(recipe_yaml(collection, out, wait, tasks=2))
    env = subprocess_env()
    first = subprocess.Popen(run_command(recipe_file), cwd=REPO, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and (read_holder(out / LOCK_NAME) or {}).get("pid") != first.pid:
            time.sleep(0.05)
        assert first.poll() is None, "the first run ended before the second started"
        # a second process, and a second run in this process, are both refused while the first runs
        second = subprocess.run(run_command(recipe_file), cwd=REPO, env=env, capture_output=True, text=True,
                                check=False)
        assert second.returncode != 0
        assert f"run directory {out} is in use by another FineBooks run (pid {first.pid}" in second.stderr
        with pytest.raises(RunDirectoryBusy):
            run_recipe(load_recipe(recipe_file, allow_python=True))
        assert first.poll() is None
        go.write_text("")
        assert first.wait(timeout=120) == 0
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    s = summarise(out)
    assert s.unaccounted == 0 and s.books_in == 42  # the refused runs wrote nothing into the first one's files


def test_a_killed_run_leaves_no_stale_lock(collection, tmp_path):
    out = tmp_path / "run"
    recipe_file = tmp_path / "r.yaml"
    go = tmp_path / "go"  # created only after the kill: the first run is certainly still running then
    wait = f"  - python: tests.reliability.steps:WaitForFile\n    params: {{path: '{go}'}}\n"
    recipe_file.write_text(recipe_yaml(collection, out, wait, tasks=2))
    proc = subprocess.Popen(run_command(recipe_file), cwd=REPO, env=subprocess_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and (read_holder(out / LOCK_NAME) or {}).get("pid") != proc.pid:
        time.sleep(0.05)
    assert proc.poll() is None
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    go.write_text("")
    assert json.loads((out / LOCK_NAME).read_text())["pid"] == proc.pid  # the file stays, the lock does not
    summary = run_recipe(load_recipe(recipe_file, allow_python=True))  # the resume is not blocked
    assert summary.unaccounted == 0 and summary.books_in == 42


def test_a_missing_input_path_is_an_error_before_any_work(tmp_path):
    recipe = load_recipe(recipe_yaml(tmp_path / "nowhere", tmp_path / "run", "  - metadata_filter: {key: n_pages, min: 2}"))
    with pytest.raises(RecipeError, match="input path .*nowhere.* does not exist"):
        run_recipe(recipe)
    assert not (tmp_path / "run").exists()
