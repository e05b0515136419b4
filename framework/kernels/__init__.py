"""The kernels layer: what every op's kernels are made from, below the op families.

An op in `framework.ops` declares what it computes: for an elementwise op a scalar body (a
plain function of numbers), for a reduction a `Fold` of scalar bodies, for the softmax family
a row body. This package turns those into kernels. It imports nothing from `framework.ops`.

- `maths`: scalar maths for kernels, one float32 and one float64 version of each
  transcendental function (exp, log, tanh), vectorizable where written here, and the
  dispatchers `maths.exp`, `maths.log`, `maths.tanh` that bodies call;
- `intrinsics`: the LLVM-level helpers numba cannot express so that they vectorize (exponent-bit
  moves, NaN-propagating maximum/minimum, vector scans for max and argmax);
- `folds`: `Fold`, the declaration of a reduction by its scalar bodies;
- `cpu`: the CPU backend, a few loop templates over those bodies, each generated as source and
  cached on disk: map (elementwise, any number of operands: zip is map of two), along an axis
  (row and block bodies), and reduce (folds and arg scans), each with its parallel threshold.

A backend is a small set of higher-order loop templates over the same scalar bodies (the design
of minitorch's `fast_ops.py` and `cuda_ops.py`). A CUDA backend slots in as `cuda.py` beside
`cpu.py`: the same entry points (`map_kernels`, `run_along_axis`, `run_fold`, `run_arg`) with
`numba.cuda.jit` templates (a thread per element for map, a block per row for reductions) over
the same bodies and the same `Fold` declarations. The bodies and `maths` are plain arithmetic
and bit moves, written to compile under numba.cuda as well; the vector scans are CPU code, which
a CUDA reduce template replaces by its own tree reduction. Each op then gains a `cuda` kernel
that calls `cuda.py` as its `cpu` kernel calls `cpu.py`.
"""
