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


DEMOS = {
    "ops": (_ops, "the op layer: the registry table and every kernel timed against NumPy"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m compare",
        description="dualgraph side by side. With no demo named, runs them all.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="demos:\n" + "\n".join(f"  {name:12} {text}" for name, (_, text) in DEMOS.items()),
    )
    parser.add_argument("demo", nargs="?", choices=[*DEMOS, "bench"], help="which demo to run")
    parser.add_argument("target", nargs="?", help="with `bench`: which benchmark (ops)")
    parser.add_argument("--names", nargs="*", help="only these benchmark cases")
    parser.add_argument("--repeats", type=int, default=15, help="repeats per timing (median)")
    parser.add_argument("--quick", action="store_true", help="few repeats: a smoke run")
    args = parser.parse_args(argv)
    if args.demo == "bench":
        target = args.target or "ops"
        if target not in DEMOS:
            parser.error(f"unknown benchmark {target!r}; choose from {', '.join(DEMOS)}")
        DEMOS[target][0](args)
        return 0
    for name in [args.demo] if args.demo else list(DEMOS):
        DEMOS[name][0](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
