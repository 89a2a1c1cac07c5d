"""Recipes are data: no code execution, no reading or writing outside the named paths, no YAML bombs."""

from __future__ import annotations

import time

import pytest

from finebooks.recipe import RecipeError, load_recipe

BASE = """name: t
input: {{reader: {reader}, path: {path}, options: {options}}}
stages: [{stages}]
output: {{path: runs/x, options: {out_options}}}
executor: {{type: {executor}, tasks: 1, options: {ex_options}}}
"""


def recipe(reader="formfeed", path="books", options="{}", stages="", out_options="{}", executor="local",
           ex_options="{}", extra="") -> str:
    return extra + BASE.format(reader=reader, path=path, options=options, stages=stages, out_options=out_options,
                               executor=executor, ex_options=ex_options)


@pytest.mark.parametrize(("text", "message"), [
    (recipe(stages="{python: os:system, params: {}}"), "runs arbitrary code"),
    (recipe(options="{glob_pattern: '../../etc/*'}"), "climbs out of the input folder"),
    (recipe(reader="trove", options="{metadata_file: /etc/passwd}"), "absolute or climbs out"),
    (recipe(out_options="{output_filename: '../../../home/x.parquet'}"), "climbs out of the run directory"),
    (recipe(stages="{parquet: {output_filename: '/tmp/x_${rank}.parquet'}}"), "climbs out of the run directory"),
    (recipe(reader="hf", path="parquet", options="{dataset_options: {trust_remote_code: true}}"),
     "trust_remote_code runs"),
    (recipe(reader="hf", path="evil.py"), "loading script is code"),
    (recipe(executor="slurm", ex_options="{time: '1:00:00', partition: p, env_command: 'curl x | sh'}"),
     "runs shell commands"),
    (recipe(executor="slurm", ex_options="{time: '1:00:00', partition: p, condaenv: 'x; rm -rf ~'}"),
     "runs shell commands"),
    (recipe(executor="slurm", ex_options="{time: '1:00:00', partition: p, job_name: \"a\\nrm -rf ~\"}"),
     "inject a line"),
    (recipe(executor="slurm", ex_options="{time: '1:00:00', partition: p, sbatch_args: {comment: \"x\\ncurl y\"}}"),
     "inject a line"),
    ("!!python/object/apply:os.system ['echo pwned']\n", "disallowed tag"),
    (recipe() + "extra: !!python/name:os.system\n", "disallowed tag"),
])
def test_unsafe_recipes_are_refused(text, message):
    with pytest.raises(RecipeError) as err:
        load_recipe(text)
    assert message in str(err.value)


def test_custom_code_needs_the_documented_opt_in():
    text = recipe(executor="slurm", ex_options="{time: '1:00:00', partition: p, env_command: 'module load x'}")
    with pytest.raises(RecipeError):
        load_recipe(text)
    assert load_recipe(text, allow_python=True).executor_options["env_command"] == "module load x"
    assert load_recipe("allow_python: true\n" + text).executor_options["env_command"] == "module load x"
    # paths outside the named folders stay refused even then: that is not custom code
    with pytest.raises(RecipeError, match="climbs out"):
        load_recipe(recipe(options="{glob_pattern: '../*'}"), allow_python=True)


def test_safe_relative_options_are_accepted():
    r = load_recipe(recipe(options="{glob_pattern: 'sub/**/*.txt'}", out_options="{output_filename: 'b_${rank}.parquet'}"))
    assert r.inputs[0].options["glob_pattern"] == "sub/**/*.txt"


def test_yaml_alias_bomb_is_refused_fast():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
              f"*a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 10)]
    text = "\n".join(lines) + "\n" + recipe(stages="{metadata_filter: {key: x, min: *a9}}")
    start = time.perf_counter()
    with pytest.raises(RecipeError, match="expands to more than"):
        load_recipe(text)
    assert time.perf_counter() - start < 5
    # a few ordinary anchors are fine
    ok = "x: &opts {source: lib}\n" + recipe(options="*opts").replace("x: &opts", "x: &opts")
    with pytest.raises(RecipeError, match="unknown key 'x'"):  # refused for the unknown key, not for size
        load_recipe(ok)
