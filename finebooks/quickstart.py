"""The quickstart job: the default recipe on the sample collection (made if missing).

``finebooks quickstart`` is the offline "does it work here" command of the README. It writes
the synthetic sample collection (``finebooks sample``) if the folder does not hold one yet,
then runs ``recipes/default.yaml`` with the sample as its ``input_root`` and prints the run
summary: every book of the collection is either in ``RUN/books`` or in an exclusion table
with its reason (``finebooks explain RUN BOOK_ID``).
"""

from __future__ import annotations

from pathlib import Path

from finebooks.engine import RunSummary, run_recipe
from finebooks.recipe import load_recipe

PACKAGE_ROOT = Path(__file__).resolve().parent


def default_recipe_path() -> Path:
    """``recipes/default.yaml`` in the working directory, else the one beside the package source."""
    for candidate in (Path("recipes") / "default.yaml", PACKAGE_ROOT.parent / "recipes" / "default.yaml"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("recipes/default.yaml not found: run from the FineBooks repository root")


def run_quickstart(sample_dir: str | Path, output: str | Path, seed: int = 0, workers: int | None = None,
                   recipe: str | Path | None = None, echo=print) -> RunSummary:
    from finebooks.sample import make_sample

    sample_dir, output = Path(sample_dir), Path(output)
    if not (sample_dir / "labels.jsonl").exists():
        echo(f"writing the sample collection to {sample_dir} ...")
        make_sample(sample_dir, seed=seed)
    recipe_path = Path(recipe) if recipe else default_recipe_path()
    overrides = {"__input__": str(sample_dir), "output.path": str(output)}
    if workers is not None:
        overrides["executor.workers"] = workers
    echo(f"running {recipe_path} on {sample_dir} -> {output}")
    return run_recipe(load_recipe(recipe_path, overrides=overrides))
