"""`python -m compare`: the demos and benchmarks, each runnable alone or all together.

With no demo named it runs every demo of the report (`compare.report.REPORT_DEMOS`), prints
each one's summary, and writes them all to one page, out/report.html (or `--out PATH`).
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

DEFAULT_REPORT = Path("out") / "report.html"


def _report_demo(name: str, args) -> None:
    """One demo of the report. Alone: print its text, and with --out write a page of it.
    In the full run (`args.sections` is a list): print its summary and keep its Section."""
    from compare import report

    if args.sections is not None:
        print(f"[{len(args.sections) + 1}/{len(report.REPORT_DEMOS)}] running {name}"
              f"{' (small)' if args.small else ''} ...", file=sys.stderr, flush=True)
        section, seconds = report.run_demo(name, small=args.small)
        args.sections.append(section)
        print(f"== {section.title} ({seconds:.1f} s) ==\n{section.summary}\n", flush=True)
        return
    section, _ = report.run_demo(name, small=args.small, keep_going=False)
    print(section.text(), end="\n\n")
    if args.out:
        print(f"report: {report.write_report([section], args.out)}")


def _ops(args) -> None:
    from compare import bench_ops
    from framework.ops import REGISTRY
    from framework.ops.registry import registry_table

    if args.out or args.sections is not None:  # the report's version
        _report_demo("ops", args)
        return
    if not args.names:
        print(registry_table(REGISTRY), end="\n\n")
    print(bench_ops.main(repeats=args.repeats, names=args.names, quick=args.small))


def _train(args) -> None:
    from compare import train_eager

    print(train_eager.main(args.model, epochs=args.epochs, quick=args.small,
                           progress=not args.no_progress), end="\n\n")


def _both_ways(args) -> None:
    from compare import both_ways

    print(both_ways.main(args.model, epochs=args.epochs, quick=args.small,
                         progress=not args.no_progress), end="\n\n")


def _api_coverage(args) -> None:
    from compare import api_coverage

    print(api_coverage.main(args.out or api_coverage.DEFAULT_PATH))


def _bench_eager(args) -> None:
    from compare import bench_eager

    print(bench_eager.main(repeats=args.repeats, quick=args.small, names=args.names))


def _bench_graph(args) -> None:
    from compare import bench_graph

    print(bench_graph.main(repeats=args.repeats, quick=args.small, names=args.names))


def _gpu_check(args) -> int:
    from compare import gpu_check

    return gpu_check.main(small=args.small, out=args.out, repeats=min(args.repeats, 7))


# Every demo runnable alone, in the order of --help. Those of the report (the first six; see
# `compare.report.REPORT_DEMOS`) also run, in that order, when no demo is named.
DEMOS = {
    "if-statement": (functools.partial(_report_demo, "if-statement"),
                     "a Python `if` in eager vs tf.cond in the graph: what each one records"),
    "dynamic-loops": (functools.partial(_report_demo, "dynamic-loops"),
                      "a recurrent net over sequences of any length: Python `for` vs "
                      "tf.while_loop"),
    "debugging": (functools.partial(_report_demo, "debugging"),
                  "a planted shape bug and a NaN: where and when each front-end reports them"),
    "same-model": (functools.partial(_report_demo, "same-model"),
                   "the digits MLP and CNN trained both ways from one seed, side by side"),
    "cost": (functools.partial(_report_demo, "cost"),
             "graph build time vs run time, eager's per-op overhead, and memory, in one run"),
    "compiler": (functools.partial(_report_demo, "compiler"),
                 "the graph compiler on the MLP's training step: passes, source, speed"),
    "ops": (_ops, "the op layer: the registry table and every kernel timed against NumPy"),
    "train": (_train, "train the eager MLP (or --model cnn) on the 8x8 digits"),
    "both-ways": (_both_ways, "the MLP (or --model cnn) trained both ways, as a text table"),
    "api-coverage": (_api_coverage, "which of PyTorch's common names eager has, of TF1's graph "
                                    "and of Theano's graph.theano: out/api_coverage_*.md "
                                    "(--out x.html: pages)"),
    "gpu-check": (_gpu_check, "on a lent GPU, in one run: the CUDA tests for real, bandwidth, "
                              "matmul, the MLP step, launches; --out x.json (exit 2: no GPU)"),
}
BENCHMARKS = {
    "ops": (_ops, "the registry table and every kernel timed against NumPy"),
    "eager": (_bench_eager, "eager per-op overhead and MLP training steps against PyTorch"),
    "graph": (_bench_graph, "the compiled graph against the interpreter, eager, NumPy and the "
                            "peers (each in its own process); --names picks groups"),
}


def _full_run(args) -> int:
    """Every report demo in order, each one's summary as it finishes, then the page."""
    from compare import report

    start, args.sections = time.perf_counter(), []
    for name in report.REPORT_DEMOS:
        DEMOS[name][0](args)
    sections = args.sections
    if not sections:
        print("no demo produced a section: no report written")
        return 0
    note = (f"Written by `python -m compare{' --small' if args.small else ''}` on "
            f"{time.strftime('%Y-%m-%d %H:%M')}"
            + (": a smoke run (few steps, few repeats), so the numbers are rough." if args.small
               else "."))
    path = report.write_report(sections, args.out or DEFAULT_REPORT, note=note)
    failed = [section.key for section in sections if section.failed]
    print(f"{len(sections)} demos in {time.perf_counter() - start:.0f} s"
          + (f"; FAILED: {', '.join(failed)} (the report shows the errors)" if failed else ""))
    print(f"report: {path}")
    return 1 if failed else 0


def _epilog() -> str:
    from compare.report import REPORT_DEMOS

    lines = ["demos (python -m compare NAME). Those marked * make the report, which",
             f"`python -m compare` (no NAME) writes to {DEFAULT_REPORT}:"]
    lines += [f"  {name:14} {'*' if name in REPORT_DEMOS else ' '} {text}"
              for name, (_, text) in DEMOS.items()]
    lines += ["", "benchmarks (python -m compare bench NAME; all of them without a name):"]
    lines += [f"  {name:14}   {text}" for name, (_, text) in BENCHMARKS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m compare",
        description="dualgraph side by side: eager (define-by-run) and graph "
                    "(define-and-run). With no demo named, runs every demo of the report, "
                    "prints their summaries and writes the report.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_epilog(),
    )
    parser.add_argument("demo", nargs="?", choices=[*DEMOS, "bench"], metavar="demo",
                        help=f"which demo to run ({', '.join(DEMOS)}), or `bench`")
    parser.add_argument("target", nargs="?",
                        help=f"with `bench`: which benchmark ({', '.join(BENCHMARKS)})")
    parser.add_argument("--out", type=Path, metavar="PATH",
                        help=f"where to write the report (default {DEFAULT_REPORT}); with one "
                             "demo named, write a report of that demo")
    parser.add_argument("--small", "--quick", dest="small", action="store_true",
                        help="a fast smoke run: few steps, few repeats, rough numbers")
    parser.add_argument("--names", nargs="*",
                        help="only these benchmark cases (with `bench graph`: these groups, "
                             "of mlp, chains, cnn, compile, memory)")
    parser.add_argument("--repeats", type=int, default=15, help="repeats per timing (median)")
    parser.add_argument("--model", choices=["mlp", "cnn"], default="mlp",
                        help="with `train`, `both-ways`: which model (default mlp)")
    parser.add_argument("--epochs", type=int,
                        help="with `train`, `both-ways`: override the recipe's epochs")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(sections=None)  # the full run collects the report's Sections here
    args = parser.parse_args(argv)
    if args.demo == "bench":
        if args.target is not None and args.target not in BENCHMARKS:
            parser.error(f"unknown benchmark {args.target!r}; choose from "
                         f"{', '.join(BENCHMARKS)}")
        if args.names and args.target is None:
            parser.error("--names picks cases of one benchmark: name it, e.g. "
                         "`python -m compare bench eager --names 'x * y'`")
        if args.out:
            parser.error("--out writes a report of the demos; the benchmarks print text only")
        for name in [args.target] if args.target else list(BENCHMARKS):
            BENCHMARKS[name][0](args)
        return 0
    if args.demo is None:
        return _full_run(args)
    if args.out and args.demo in ("train", "both-ways"):
        parser.error(f"--out: `{args.demo}` prints text only; the report's version of it is "
                     "`same-model`")
    return DEMOS[args.demo][0](args) or 0


if __name__ == "__main__":
    sys.exit(main())
