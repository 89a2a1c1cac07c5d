"""The ``finebooks`` command line.

Commands:
  finebooks run RECIPE [--input P] [--output D] [--executor local|ray|slurm] [--tasks N] [--workers N]
                                    run a recipe (resumable: run it again to finish a killed run)
  finebooks validate RECIPE         check a recipe without running anything
  finebooks stages                  list registered stages, readers and their parameters
  finebooks explain RUN_DIR BOOK_ID where one book ended, and why
  finebooks sample DIR              write the synthetic sample collection with labelled defects
  finebooks read INPUT -f FORMAT -o OUT
                                    read books into Parquet (+ exclusions and a summary)
  finebooks quickstart              the default recipe on the sample collection (made if missing)
  finebooks formats                 list the reader formats
  plus the command groups in finebooks/commands/ (`finebooks -h` lists them)
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path

from finebooks import __version__


def parse_json_object(value: str) -> dict:
    """argparse type: a JSON object given on the command line."""
    try:
        data = json.loads(value)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise argparse.ArgumentTypeError("must be a JSON object, e.g. '{\"group_by\": \"folder\"}'")
    return data


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="finebooks", description="Curate digitised books into training corpora.")
    p.add_argument("--version", action="version", version=f"finebooks {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a recipe")
    run.add_argument("recipe", help="recipe YAML file")
    run.add_argument("--input", help="override input.path (or input_root when the recipe has several inputs)")
    run.add_argument("--output", help="run directory (overrides output.path); books go to OUTPUT/books")
    run.add_argument("--executor", choices=["local", "ray", "slurm"], help="override executor.type")
    run.add_argument("--tasks", type=int, help="override executor.tasks")
    run.add_argument("--workers", type=int, help="override executor.workers")
    run.add_argument("--allow-python", action="store_true",
                     help="allow 'python: module:Class' stages (runs code named by the recipe)")

    v = sub.add_parser("validate", help="validate a recipe (no work is done)")
    v.add_argument("recipe")
    v.add_argument("--allow-python", action="store_true")

    st = sub.add_parser("stages", help="list registered stages and readers with their parameters")
    st.add_argument("name", nargs="?", help="show one stage or reader in full")
    st.add_argument("--markdown", action="store_true", help="print the stage reference as Markdown (docs/stages.md)")

    ex = sub.add_parser("explain", help="tell the story of one book in a run")
    ex.add_argument("run_dir")
    ex.add_argument("book_id", help="book id (source/identifier) or just its identifier")

    s = sub.add_parser("sample", help="write the synthetic sample collection (planted, labelled defects)")
    s.add_argument("dir", help="output folder")
    s.add_argument("--seed", type=int, default=0, help="random seed (same seed, same bytes)")

    r = sub.add_parser("read", help="read books into Parquet, with exclusions and a summary")
    r.add_argument("input", help="input folder (or dataset name for --format hf)")
    r.add_argument("-f", "--format", required=True, help="reader format (see `finebooks formats`)")
    r.add_argument("-o", "--output", required=True, help="run folder: books/, excluded/, logs/, summary.json")
    r.add_argument("--source", help="collection name used in book ids (default: input folder name)")
    r.add_argument("--glob", dest="glob_pattern", help="only read files matching this pattern")
    r.add_argument("--options", type=parse_json_object, default={},
                   help="more reader options as JSON, e.g. '{\"group_by\": \"folder\"}'")
    r.add_argument("--tasks", type=int, default=1, help="datatrove tasks (shards)")
    r.add_argument("--workers", type=int, default=1, help="parallel worker processes")

    q = sub.add_parser("quickstart", help="run the default recipe on the sample collection (made if missing)")
    q.add_argument("--sample", default="sample", help="sample folder (created if missing)")
    q.add_argument("--output", default="runs/quickstart", help="run directory")
    q.add_argument("--recipe", help="recipe to run (default: recipes/default.yaml)")
    q.add_argument("--workers", type=int, help="override the recipe's workers")

    sub.add_parser("formats", help="list reader formats")

    from finebooks.commands import command_modules

    for mod in command_modules():  # classifier, ablate, report, ... (finebooks/commands/)
        cp = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(cp)
        cp.set_defaults(_plugin=mod)
    return p


def _print_stages(name: str | None) -> int:
    from finebooks.recipe import describe_params
    from finebooks.registry import READER_REGISTRY, REGISTRY

    if name:
        spec = REGISTRY.get(name) or READER_REGISTRY.get(name)
        if spec is None:
            print(f"error: no stage or reader named {name!r}", file=sys.stderr)
            return 2
        cls = spec.load()
        print(f"{spec.name}  ({spec.kind}: {spec.target})")
        if spec.note:
            print(f"note: {spec.note}")
        print()
        print(inspect.getdoc(cls) or spec.summary())
        print("\nparameters:")
        for line in describe_params(cls):
            print(f"  {line}")
        return 0
    for title, reg in (("stages", REGISTRY), ("readers (input.reader)", READER_REGISTRY)):
        print(f"{title}:")
        for spec in reg.values():
            note = f"  [{spec.note}]" if spec.note else ""
            print(f"  {spec.name:<18} {spec.kind:<7} {spec.summary()}{note}")
            params = describe_params(spec.load())
            if params:
                print(f"  {'':<18} {'':<7} params: {'; '.join(params)}")
        print()
    print("`finebooks stages NAME` shows one in full.")
    return 0


def stages_markdown() -> str:
    """The stage and reader reference (docs/stages.md is this output; a test keeps them in sync)."""
    from finebooks.recipe import describe_params
    from finebooks.registry import READER_REGISTRY, REGISTRY

    out = ["# Stage and reader reference", "",
           "Generated by `finebooks stages --markdown`; do not edit by hand.", ""]
    for title, reg in (("Stages (`stages:` in a recipe)", REGISTRY), ("Readers (`input.reader`)", READER_REGISTRY)):
        out += [f"## {title}", ""]
        for spec in reg.values():
            out += [f"### `{spec.name}`", "", f"*{spec.kind}* - `{spec.target}`", "", spec.summary(), ""]
            if spec.note:
                out += [f"> {spec.note}", ""]
            params = describe_params(spec.load())
            if params:
                out += ["Parameters:", ""] + [f"- `{p}`" for p in params] + [""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "_plugin", None) is not None:
        return args._plugin.run(args)

    if args.command in ("run", "validate"):
        from finebooks.recipe import RecipeError, load_recipe

        overrides = {}
        if args.command == "run":
            overrides = {"executor.type": args.executor, "executor.tasks": args.tasks,
                         "executor.workers": args.workers}
            if args.input:
                # one input: its path; several inputs: the root their relative paths start from
                overrides["__input__"] = args.input
            if args.output:
                overrides["output.path"] = args.output
        try:
            recipe = load_recipe(args.recipe, allow_python=args.allow_python, overrides=overrides)
        except RecipeError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        if args.command == "validate":
            print(f"{args.recipe}: OK - reader {recipe.reader!r}, {len(recipe.stages)} stage(s): "
                  f"{', '.join(s.label for s in recipe.stages) or '(none)'}; executor {recipe.executor}")
            return 0
        from finebooks.engine import run_recipe
        from finebooks.runlock import RunDirectoryBusy

        try:
            summary = run_recipe(recipe)
        except (RecipeError, RunDirectoryBusy) as e:  # a wrong input path, another run in the directory
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(summary.render())
        return 0 if summary.unaccounted == 0 else 1

    if args.command == "stages":
        if args.markdown:
            print(stages_markdown(), end="")
            return 0
        return _print_stages(args.name)

    if args.command == "explain":
        from finebooks.explain import explain

        if not Path(args.run_dir).is_dir():
            print(f"error: run directory {args.run_dir!r} does not exist", file=sys.stderr)
            return 2
        print(explain(args.run_dir, args.book_id))
        return 0

    if args.command == "formats":
        from finebooks.readers import READERS, get_reader_class

        for name in READERS:
            doc = (get_reader_class(name).__doc__ or "").strip().splitlines()[0]
            print(f"{name:<14} {doc}")
        return 0

    if args.command == "sample":
        from finebooks.sample import make_sample

        manifest = make_sample(args.dir, seed=args.seed)
        print(f"wrote the sample collection to {args.dir}: {manifest.n_books} books")
        print(f"labels: {manifest.labels_path}")
        return 0

    if args.command == "read":
        from finebooks.engine import run_read

        if args.format != "hf" and not Path(args.input).exists() and "://" not in args.input:
            print(f"error: input {args.input!r} does not exist", file=sys.stderr)
            return 2
        options = dict(args.options)
        for key in ("source", "glob_pattern"):
            if getattr(args, key):
                options[key] = getattr(args, key)
        try:
            summary = run_read(args.format, args.input, args.output, tasks=args.tasks, workers=args.workers,
                               reader_options=options)
        except (ValueError, TypeError) as e:  # unknown format or reader option (RecipeError is a ValueError)
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(summary.render())
        return 0

    if args.command == "quickstart":
        from finebooks.quickstart import run_quickstart

        summary = run_quickstart(args.sample, args.output, workers=args.workers, recipe=args.recipe)
        print(summary.render())
        print(f"why was a book kept or dropped?  finebooks explain {args.output} BOOK_ID")
        return 0 if summary.unaccounted == 0 else 1
    return 1  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
