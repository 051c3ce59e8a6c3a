"""A timing worker for neural-tangents' kernel_fn, run in its own virtual environment (see neural_tangents_oracle.py)
by benchmarks/interleaved.py, which alternates its calls with ntkcheck's in the same time window.

Protocol (one line each way): the parent writes "N L"; the worker answers the seconds of one call of the jitted
``kernel_fn(X, None, "ntk")`` (after a compile-and-warm-up call the first time a shape is seen) for X of shape
(N, 100) on the unit sphere, with Dense(W_std=sqrt 2, b_std=None) hidden layers and Dense(1, W_std=1) last. An
empty line ends it. The first line it prints is the versions.
"""
import json
import sys
import time


def main() -> None:
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    import neural_tangents as nt
    from neural_tangents import stax

    print(json.dumps({"neural_tangents": nt.__version__, "jax": jax.__version__,
                      "jaxlib": __import__("jaxlib").__version__}), flush=True)
    compiled = {}
    for line in sys.stdin:
        if not line.strip():
            break
        n, depth = map(int, line.split())
        if (n, depth) not in compiled:
            layers = []
            for _ in range(depth - 1):
                layers += [stax.Dense(512, W_std=np.sqrt(2.0), b_std=None), stax.Relu()]
            kernel_fn = jax.jit(stax.serial(*layers, stax.Dense(1, W_std=1.0, b_std=None))[2], static_argnames="get")
            X = np.random.default_rng(0).standard_normal((n, 100))
            X /= np.linalg.norm(X, axis=1, keepdims=True)
            X = jax.device_put(X)
            kernel_fn(X, None, "ntk").block_until_ready()
            compiled[(n, depth)] = (kernel_fn, X)
        kernel_fn, X = compiled[(n, depth)]
        start = time.perf_counter()
        kernel_fn(X, None, "ntk").block_until_ready()
        print(time.perf_counter() - start, flush=True)


if __name__ == "__main__":
    main()
