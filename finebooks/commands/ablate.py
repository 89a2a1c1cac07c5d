"""``finebooks ablate CONFIG``: train proxy models on the arms of an ablation and keep the stages that help.

See ``docs/ablation.md``. ``--dry-run`` prints the arms, the engine runs (cached or to run), the
models to train and an estimated time from a quick measured tokens/s of the proxy backend.
"""

from __future__ import annotations

import sys

NAME = "ablate"
HELP = "run an ablation (proxy models per arm and seed; report and pruned recipe)"


def add_arguments(parser) -> None:
    parser.add_argument("config", help="ablation config YAML (see ablations/ and docs/ablation.md)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and a cost estimate; train nothing")
    parser.add_argument("--output", help="output folder (default: the config's output, else runs/ablations/NAME)")
    parser.add_argument("--cache-dir", help="cache of engine runs and tokenizers (default: the config's cache_dir)")
    parser.add_argument("--seeds", type=int, help="override: use seeds 0..N-1")
    parser.add_argument("--tokens", type=int, help="override the token budget")
    parser.add_argument("--backend", choices=["ngram", "transformer"], help="override the proxy backend")


def run(args) -> int:
    import os

    from finebooks.ablation.arms import ArmError
    from finebooks.ablation.config import AblationConfigError, load_config
    from finebooks.ablation.leakage import LeakageError
    from finebooks.recipe import RecipeError

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        cfg = load_config(args.config)
    except AblationConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.cache_dir:
        cfg.cache_dir = args.cache_dir
    if args.seeds:
        cfg.seeds = list(range(args.seeds))
    if args.tokens:
        cfg.tokens = args.tokens
    if args.backend:
        cfg.proxy.backend = args.backend
    if cfg.proxy.backend == "transformer":
        try:
            import torch  # noqa: F401
        except ImportError:
            print("error: the transformer backend needs torch: pip install 'finebooks[torch]' (torch==2.13.0)",
                  file=sys.stderr)
            return 2
    from finebooks.ablation.runner import plan_ablation, run_ablation

    def log(msg: str) -> None:
        print(msg, flush=True)

    try:
        if args.dry_run:
            plan_ablation(cfg, log=log)
            return 0
        argv = ["finebooks", "ablate", args.config]
        for flag in ("output", "cache_dir", "seeds", "tokens", "backend"):
            if getattr(args, flag):
                argv += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
        results = run_ablation(cfg, args.output, log=log, argv=argv)
    except (ArmError, RecipeError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except LeakageError as e:
        print(f"error: eval leakage: {e}", file=sys.stderr)
        return 3
    d = results["decisions"]
    log(f"done in {results['timings']['total']:.1f} s: {results['models']} models; margin {d['margin']:.5f} bpb "
        f"(pooled seed sigma {d['sigma']:.5f})")
    return 0
