"""Exit 0 when this CPU can run OpenBLAS's kernels for a core type, else say why and exit 1.

`make test` reruns the bit-equality tests under several OPENBLAS_CORETYPE values; forcing a
core type whose instructions the CPU lacks would crash NumPy with an illegal instruction, so
such a run is skipped, and the line printed here says so.

    python tests/cpu_runs_openblas_core.py SkylakeX
"""

from __future__ import annotations

import platform
import sys

# The instruction-set flags (as /proc/cpuinfo names them) each core type's kernels use.
REQUIRED_FLAGS = {
    "Haswell": {"avx2", "fma"},
    "Zen": {"avx2", "fma"},
    "SkylakeX": {"avx512f", "avx512bw", "avx512vl", "avx512dq"},
}


def cpu_flags() -> set[str] | None:
    """The CPU's flags from /proc/cpuinfo, or None where there is no such file."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        return None
    return set()


def main(core: str) -> int:
    if core not in REQUIRED_FLAGS:
        print(f"unknown OpenBLAS core type {core!r}; known: {', '.join(REQUIRED_FLAGS)}",
              file=sys.stderr)
        return 2
    if platform.machine() not in ("x86_64", "AMD64"):
        print(f"skipping OPENBLAS_CORETYPE={core}: an x86-64 core type on a "
              f"{platform.machine()} CPU")
        return 1
    flags = cpu_flags()
    if flags is None:
        print(f"skipping OPENBLAS_CORETYPE={core}: no /proc/cpuinfo to read the CPU's flags")
        return 1
    missing = REQUIRED_FLAGS[core] - flags
    if missing:
        print(f"skipping OPENBLAS_CORETYPE={core}: this CPU lacks {', '.join(sorted(missing))}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
