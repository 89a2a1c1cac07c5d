"""Recipe loading and validation: every kind of mistake is one clear error, before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from finebooks.recipe import RecipeError, load_recipe

REPO = Path(__file__).resolve().parents[1]

GOOD = """\
name: t
input:
  reader: formfeed
  path: books
  options: {source: lib}
stages:
  - metadata_filter: {key: n_pages, min: 2}
  - gopher_repetition
output:
  path: runs/t
executor:
  type: local
  tasks: 2
  workers: 1
"""


def problems(text: str, **kw) -> list[tuple[int | None, str]]:
    with pytest.raises(RecipeError) as e:
        load_recipe(text, **kw)
    return e.value.problems


def test_good_recipe_resolves_with_defaults():
    r = load_recipe(GOOD)
    assert [s.label for s in r.stages] == ["01_metadata_filter", "02_gopher_repetition"]
    assert r.inputs[0].reader == "formfeed" and r.inputs[0].options == {"source": "lib"}
    assert r.output_format == "parquet" and r.executor == "local" and r.tasks == 2
    resolved = r.resolved()
    assert resolved["stages"][1] == {"gopher_repetition": {}}
    assert resolved["output"]["format"] == "parquet"


@pytest.mark.parametrize("shipped", sorted((REPO / "recipes").glob("*.yaml")))
def test_shipped_recipes_validate(shipped):
    load_recipe(shipped)


@pytest.mark.parametrize(
    "old, new, line, expected",
    [
        # 1. unknown stage, with a suggestion and the valid choices
        ("  - gopher_repetition\n", "  - gopher_repetiton\n", 8, ["unknown stage 'gopher_repetiton'",
                                                                  "did you mean 'gopher_repetition'", "valid stages:"]),
        # 2. misspelt parameter
        ("{key: n_pages, min: 2}", "{key: n_pages, mni: 2}", 7, ["unknown parameter 'mni'", "did you mean 'min'",
                                                                "valid parameters:"]),
        # 3. wrong type
        ("{key: n_pages, min: 2}", "{key: n_pages, min: two}", 7, ["expects float | null", "'two'"]),
        # 4. missing required parameter
        ("{key: n_pages, min: 2}", "{min: 2}", 7, ["needs parameter 'key'"]),
        # 5. unknown reader
        ("reader: formfeed", "reader: formfed", 3, ["unknown reader 'formfed'", "did you mean 'formfeed'"]),
        # 6. unknown top-level key
        ("stages:", "stagse:", 6, ["unknown key 'stagse'", "did you mean 'stages'"]),
        # 7. bad output format
        ("  path: runs/t\n", "  path: runs/t\n  format: csv\n", 11, ["output.format must be one of parquet, jsonl"]),
        # 8. bad executor type and task count
        ("type: local", "type: dask", 12, ["unknown executor 'dask'", "valid executors: local, ray, slurm"]),
        ("tasks: 2", "tasks: -3", 13, ["executor.tasks must be a positive integer"]),
        # 9. misspelt reader option
        ("options: {source: lib}", "options: {sorce: lib}", 5, ["unknown parameter 'sorce'", "did you mean 'source'"]),
        # 10. executor option that the executor does not take
        ("  workers: 1\n", "  workers: 1\n  options: {partition: x}\n", 15, ["unknown local executor option 'partition'"]),
    ],
)
def test_broken_recipes_name_the_line_and_the_choices(old, new, line, expected):
    assert old in GOOD
    (got,) = problems(GOOD.replace(old, new))
    got_line, msg = got
    assert got_line == line, msg
    for fragment in expected:
        assert fragment in msg


def test_all_problems_are_reported_together():
    text = GOOD.replace("gopher_repetition\n", "nope\n").replace("reader: formfeed", "reader: x")
    assert len(problems(text)) == 2


def test_error_message_names_file_and_line(tmp_path):
    f = tmp_path / "r.yaml"
    f.write_text(GOOD.replace("gopher_repetition\n", "nope\n"))
    with pytest.raises(RecipeError) as e:
        load_recipe(f)
    assert f"{f}:8: stages[1]: unknown stage 'nope'" in str(e.value)


def test_yaml_is_loaded_safely():
    # a Python object tag must not be constructed (yaml.safe_load refuses it)
    text = GOOD.replace("name: t", "name: !!python/object/apply:os.system ['echo pwned']")
    ((line, msg),) = problems(text)
    assert line == 1 and "disallowed tag" in msg


def test_python_stages_need_an_explicit_opt_in():
    text = GOOD.replace("  - gopher_repetition\n", "  - python: tests.helpers.steps:SlowStep\n    params: {seconds: 0}\n")
    ((line, msg),) = problems(text)
    assert line == 8 and "allow_python: true" in msg
    r = load_recipe(text, allow_python=True)
    assert r.stages[1].spec.kind == "python" and r.stages[1].params == {"seconds": 0}
    r = load_recipe("allow_python: true\n" + text)
    assert r.stages[1].label == "02_SlowStep"


def test_python_stage_parameters_are_checked_too():
    text = "allow_python: true\n" + GOOD.replace(
        "  - gopher_repetition\n", "  - python: tests.helpers.steps:SlowStep\n    params: {secs: 0}\n")
    ((_, msg),) = problems(text)
    assert "unknown parameter 'secs'" in msg and "did you mean 'seconds'" in msg


def test_missing_sections_and_wrong_shapes():
    msgs = [m for _, m in problems("name: x\nstages: notalist\n")]
    assert any("missing required section 'input'" in m for m in msgs)
    assert any("stages must be a list" in m for m in msgs)
    assert any("missing required section 'output'" in m for m in msgs)


def test_slurm_needs_partition_and_time():
    text = GOOD.replace("type: local", "type: slurm")
    msgs = [m for _, m in problems(text)]
    assert any("executor.options.time" in m for m in msgs) and any("executor.options.partition" in m for m in msgs)


def test_several_inputs_and_input_root(tmp_path):
    text = GOOD.replace("""input:
  reader: formfeed
  path: books
  options: {source: lib}""", """input_root: /data/coll
input:
  - {reader: formfeed, path: books}
  - {reader: trove, path: /abs/trove}""")
    r = load_recipe(text)
    assert r.input_paths() == ["/data/coll/books", "/abs/trove"]
    r = load_recipe(text, overrides={"__input__": "/elsewhere"})
    assert r.input_paths()[0] == "/elsewhere/books"


def test_missing_file_is_a_recipe_error(tmp_path):
    with pytest.raises(RecipeError, match="file not found"):
        load_recipe(tmp_path / "nope.yaml")
