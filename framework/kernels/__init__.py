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

- `cuda`: the CUDA backend, `numba.cuda.jit` templates over the same bodies and the same `Fold`
  declarations: map (a thread per element, any broadcast and strides: `run_map`) and reduce (a
  block per output element, or per chunk of a long one, and a tree in shared memory:
  `run_fold`, `run_arg`); it also states how CUDA kernels allocate and launch. It is imported
  only when a device array first meets a kernel, since numba.cuda chooses the simulator
  (NUMBA_ENABLE_CUDASIM) when it is imported.

A backend is a small set of higher-order loop templates over the same scalar bodies (the design
of minitorch's `fast_ops.py` and `cuda_ops.py`). The bodies are plain arithmetic, so numba
compiles them for the GPU too; `cuda` gives the maths dispatchers GPU versions (libdevice's
functions) and replaces the CPU-only intrinsics (vector scans, llvm.maximum) by its own tree
reduction and comparisons. Each elementwise op and reduction has a `cuda` kernel that calls
`cuda.py` as its `cpu` kernel calls `cpu.py`.
"""
