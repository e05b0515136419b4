"""`python -m compare`: the demos and benchmarks, each runnable alone or all together."""

from __future__ import annotations

import argparse
import sys


def _ops(args) -> None:
    from compare import bench_ops
    from framework.ops import REGISTRY
    from framework.ops.registry import registry_table

    if not args.names:
        print(registry_table(REGISTRY), end="\n\n")
    print(bench_ops.main(repeats=args.repeats, names=args.names, quick=args.quick))


def _train(args) -> None:
    from compare import train_eager

    print(train_eager.main(args.model, epochs=args.epochs, quick=args.quick,
                           progress=not args.no_progress), end="\n\n")


def _both_ways(args) -> None:
    from compare import both_ways

    print(both_ways.main(args.model, epochs=args.epochs, quick=args.quick,
                         progress=not args.no_progress), end="\n\n")


def _bench_eager(args) -> None:
    from compare import bench_eager

    print(bench_eager.main(repeats=args.repeats, quick=args.quick, names=args.names))


DEMOS = {
    "ops": (_ops, "the op layer: the registry table and every kernel timed against NumPy"),
    "train": (_train, "train the eager MLP (or --model cnn) on the 8x8 digits"),
    "both-ways": (_both_ways, "the MLP (or --model cnn) trained eagerly and as a graph from "
                  "one seed, side by side"),
}
BENCHMARKS = {
    "ops": (_ops, "the registry table and every kernel timed against NumPy"),
    "eager": (_bench_eager, "eager per-op overhead and MLP training steps against PyTorch"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m compare",
        description="dualgraph side by side. With no demo named, runs them all.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="demos:\n" + "\n".join(f"  {name:12} {text}" for name, (_, text) in DEMOS.items())
        + "\n\nbenchmarks (python -m compare bench NAME; all of them without a name):\n"
        + "\n".join(f"  {name:12} {text}" for name, (_, text) in BENCHMARKS.items()),
    )
    parser.add_argument("demo", nargs="?", choices=[*DEMOS, "bench"], help="which demo to run")
    parser.add_argument("target", nargs="?",
                        help=f"with `bench`: which benchmark ({', '.join(BENCHMARKS)})")
    parser.add_argument("--names", nargs="*", help="only these benchmark cases")
    parser.add_argument("--repeats", type=int, default=15, help="repeats per timing (median)")
    parser.add_argument("--quick", action="store_true",
                        help="few repeats, few epochs: a smoke run")
    parser.add_argument("--model", choices=["mlp", "cnn"], default="mlp",
                        help="with `train`, `both-ways`: which model (default mlp)")
    parser.add_argument("--epochs", type=int,
                        help="with `train`, `both-ways`: override the recipe's epochs")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.demo == "bench":
        if args.target is not None and args.target not in BENCHMARKS:
            parser.error(f"unknown benchmark {args.target!r}; choose from "
                         f"{', '.join(BENCHMARKS)}")
        if args.names and args.target is None:
            parser.error("--names picks cases of one benchmark: name it, e.g. "
                         "`python -m compare bench eager --names 'x * y'`")
        for name in [args.target] if args.target else list(BENCHMARKS):
            BENCHMARKS[name][0](args)
        return 0
    for name in [args.demo] if args.demo else list(DEMOS):
        DEMOS[name][0](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
