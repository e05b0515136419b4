"""dualgraph's shared kernel layer: dtypes, shapes, devices, the op registry and its kernels."""
