"""neural-tangents as a recorded oracle: its empirical NTK and its kernel_fn on a handful of small cases, saved with
their inputs as tests/data/neural_tangents.npz, which tests/test_neural_tangents.py compares ntkcheck against
(without neural-tangents installed).

neural-tangents 0.6.5 needs jax/jaxlib 0.4.23 and numpy < 2, which conflict with this package's environment, so
this script runs in a virtual environment of its own and imports nothing from ntkcheck:

    python3.11 -m venv /work/venvs/nt
    /work/venvs/nt/bin/pip install "neural-tangents==0.6.5" "jax==0.4.23" "jaxlib==0.4.23" "numpy<2" "scipy<1.13"
    /work/venvs/nt/bin/python benchmarks/neural_tangents_oracle.py      # writes tests/data/neural_tangents.npz

Conventions (README, "neural-tangents"): eq. (1) is ``stax.serial(Dense(n_1), Relu(), ..., Dense(1))`` without
biases. In the *standard* parameterization the layer is x @ W (+ b), so with the same matrices W_l NT's empirical
NTK is J J^T of eq. (3), ``empirical_ntk(ReLUNet.from_weights(W))``. In the *NTK* parameterization the layer is
(W_std / sqrt(n_{l-1})) x @ V_l with V_l ~ N(0, 1): the weights are W_l = (W_std_l / sqrt(n_{l-1})) V_l and the
kernel is sum_l beta_l^2 T_l with beta_l = W_std_l / sqrt(n_{l-1}) and T_l the per-layer terms of eq. (3) at W
(``empirical_ntk(..., per_layer=True)``). The infinite-width kernel_fn with Dense(W_std=sqrt(2), b_std=None)
hidden layers and Dense(1, W_std=1, b_std=None) last gives K^(L) = d * kernel_fn(X, X, "ntk") (NT divides the
first layer by d = n_0; (9) does not).

Each case stores: X (N, d); W1..WL (standard-parameterization weights); for the bias case b1..bL too; the NT
empirical NTK by both implementations (JACOBIAN_CONTRACTION, STRUCTURED_DERIVATIVES); V1..VL with the NTK
parameterization's kernel; kernel_fn's "ntk" and "nngp" outputs (times nothing: raw NT values). ``meta`` is a JSON
string with the versions, the cases' widths, W_std and b_std.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np

OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "neural_tangents.npz")
SEED = 1000  # a tuning seed (the project's 1000-1099 range), not the default 0 of the claims
# (name, widths, data kind, N, b_std or None): small, so the fixture stays a few kB and every entry is well
# away from c = +-1 (no duplicated rows: there NT's kernel is as inexact as on its diagonal).
CASES = [
    ("L2", (3, 16, 1), "gaussian", 6, None),
    ("L3", (5, 32, 16, 1), "sphere", 8, None),
    ("L4", (4, 8, 12, 8, 1), "gaussian", 7, None),
    ("L3_bias", (4, 16, 16, 1), "gaussian", 6, 0.5),
]


def data(rng, kind: str, n: int, d: int) -> np.ndarray:
    X = rng.standard_normal((n, d))
    if kind == "sphere":
        X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X


def architecture(stax, widths, W_std_hidden, b_std, parameterization):
    layers = []
    for width in widths[1:-1]:
        layers += [stax.Dense(width, W_std=W_std_hidden, b_std=b_std, parameterization=parameterization),
                   stax.Relu()]
    layers.append(stax.Dense(1, W_std=1.0, b_std=b_std, parameterization=parameterization))
    return stax.serial(*layers)


def with_weights(params, weights, biases):
    """NT's params (one (W, b) per Dense, () per Relu) with the given matrices."""
    out, k = [], 0
    for p in params:
        if p == ():
            out.append(())
            continue
        out.append((weights[k], None if biases is None else biases[k].reshape(p[1].shape)))
        k += 1
    return out


def main() -> None:
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import neural_tangents as nt
    from neural_tangents import stax

    rng = np.random.default_rng(SEED)
    arrays, meta = {}, {"versions": {"neural_tangents": nt.__version__, "jax": jax.__version__,
                                     "jaxlib": __import__("jaxlib").__version__, "numpy": np.__version__},
                        "seed": SEED, "cases": []}
    implementations = {"jacobian_contraction": nt.NtkImplementation.JACOBIAN_CONTRACTION,
                       "structured_derivatives": nt.NtkImplementation.STRUCTURED_DERIVATIVES}
    for name, widths, kind, n, b_std in CASES:
        X = data(rng, kind, n, widths[0])
        arrays[f"{name}_X"] = X
        # standard parameterization, W_l ~ N(0, 1) as in eq. (4) (W_std = sqrt(n_{l-1}) in NT's terms)
        weights = [rng.standard_normal((a, b)) for a, b in zip(widths[:-1], widths[1:])]
        biases = None if b_std is None else [b_std * rng.standard_normal(b) for b in widths[1:]]
        init_fn, apply_fn, _ = architecture(stax, widths, np.sqrt(2.0), b_std, "standard")
        _, params = init_fn(jax.random.PRNGKey(0), X.shape)
        params = with_weights(params, [jnp.asarray(w) for w in weights],
                              None if biases is None else [jnp.asarray(b) for b in biases])
        for l, w in enumerate(weights, start=1):
            arrays[f"{name}_W{l}"] = w
        if biases is not None:
            for l, b in enumerate(biases, start=1):
                arrays[f"{name}_b{l}"] = b
        arrays[f"{name}_outputs"] = np.asarray(apply_fn(params, X))[:, 0]
        for label, implementation in implementations.items():
            ntk_fn = nt.empirical_ntk_fn(apply_fn, vmap_axes=0, implementation=implementation)
            arrays[f"{name}_empirical_standard_{label}"] = np.asarray(ntk_fn(X, None, params))
        # NTK parameterization: unit-normal V_l, W_std = sqrt(2) hidden and 1 last
        init_fn, apply_fn, kernel_fn = architecture(stax, widths, np.sqrt(2.0), b_std, "ntk")
        V = [rng.standard_normal((a, b)) for a, b in zip(widths[:-1], widths[1:])]
        Vb = None if b_std is None else [rng.standard_normal(b) for b in widths[1:]]
        _, params = init_fn(jax.random.PRNGKey(0), X.shape)
        params = with_weights(params, [jnp.asarray(v) for v in V], None if Vb is None else [jnp.asarray(b) for b in Vb])
        for l, v in enumerate(V, start=1):
            arrays[f"{name}_V{l}"] = v
        if Vb is not None:
            for l, b in enumerate(Vb, start=1):
                arrays[f"{name}_Vb{l}"] = b
        for label, implementation in implementations.items():
            ntk_fn = nt.empirical_ntk_fn(apply_fn, vmap_axes=0, implementation=implementation)
            arrays[f"{name}_empirical_ntk_param_{label}"] = np.asarray(ntk_fn(X, None, params))
        kernels = kernel_fn(X, X, ("ntk", "nngp"))
        arrays[f"{name}_kernel_fn_ntk"] = np.asarray(kernels[0])
        arrays[f"{name}_kernel_fn_nngp"] = np.asarray(kernels[1])
        meta["cases"].append({"name": name, "widths": list(widths), "data": kind, "N": n,
                              "W_std_hidden": float(np.sqrt(2.0)), "W_std_last": 1.0, "b_std": b_std})
    arrays["meta"] = np.array(json.dumps(meta))
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    np.savez_compressed(OUTPUT, **arrays)
    print(f"wrote {os.path.normpath(OUTPUT)}: {len(CASES)} cases, {os.path.getsize(OUTPUT)} bytes; {meta['versions']}")


if __name__ == "__main__":
    sys.exit(main())
