"""ntkcheck against neural-tangents, recorded: tests/data/neural_tangents.npz holds NT 0.6.5's empirical NTK (both
implementations, standard and NTK parameterization) and its infinite-width kernel_fn on small cases, with their
inputs (written by benchmarks/neural_tangents_oracle.py in a virtual environment of its own; neural-tangents is
not needed here). The convention mapping is the README's ("neural-tangents").
"""
import json
import math
from pathlib import Path

import numpy as np
import pytest

import ntkcheck as nc

FIXTURE = Path(__file__).parent / "data" / "neural_tangents.npz"
IMPLEMENTATIONS = ("jacobian_contraction", "structured_derivatives")
# The same J J^T summed in other orders (NT through jax/XLA): backward-stable sums agree to ~1e-16; measured
# <= 2.7e-16 (relative Frobenius) on every case.
RTOL_EMPIRICAL = 1e-12
# Off the diagonal both evaluate the same arc-cosine formulas (9)-(10) of well-separated pairs (no c near +-1):
# rounding only, measured <= 4.5e-16 of max |K|.
RTOL_LIMITING = 1e-12
# On the diagonal NT evaluates c_ii = Sigma_ii / sqrt(Sigma_ii Sigma_ii) in rounding, which can land a few ulps
# below 1; theta = arccos(c) ~ sqrt(2 (1 - c)) then makes Gdot_ii = 1 - theta / pi low by sqrt(2 k 2^-53) / pi
# (4.7e-9 for one ulp, k = 1), once per level. We allow k <= 4 ulps at each of the L - 1 levels. ntkcheck's
# diagonal is exact (Gdot_ii = 1): the comparison is one-sided, NT is never above it beyond rounding.
NT_DIAGONAL_RTOL_PER_LEVEL = math.sqrt(2 * 4 * 2.0 ** -53) / math.pi
ROUNDING = 1e-14


@pytest.fixture(scope="module")
def fixture():
    with np.load(FIXTURE, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    return arrays, json.loads(str(arrays.pop("meta")))


def cases(bias: bool):
    with np.load(FIXTURE, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
    return [c["name"] for c in meta["cases"] if (c["b_std"] is not None) == bias]


def case(fixture, name):
    arrays, meta = fixture
    info = next(c for c in meta["cases"] if c["name"] == name)
    depth = len(info["widths"]) - 1
    layer = lambda key: [arrays[f"{name}_{key}{l}"] for l in range(1, depth + 1)]  # noqa: E731
    return arrays, info, depth, layer


def relative(actual, expected):
    return float(np.linalg.norm(actual - expected) / np.linalg.norm(expected))


def test_fixture_records_its_versions(fixture):
    _, meta = fixture
    assert meta["versions"]["neural_tangents"] == "0.6.5" and meta["versions"]["jax"] == "0.4.23"
    assert len(cases(bias=False)) >= 3 and cases(bias=True)


@pytest.mark.parametrize("name", cases(bias=False))
def test_empirical_ntk_standard_parameterization(fixture, name):
    """Standard parameterization, the same W_l: NT's empirical NTK is J J^T of eq. (3)."""
    arrays, _, _, layer = case(fixture, name)
    net = nc.ReLUNet.from_weights(layer("W"))
    X = arrays[f"{name}_X"]
    assert relative(net.outputs(X), arrays[f"{name}_outputs"]) <= RTOL_EMPIRICAL
    K = nc.empirical_ntk(net, X)
    for implementation in IMPLEMENTATIONS:
        error = relative(K, arrays[f"{name}_empirical_standard_{implementation}"])
        assert error <= RTOL_EMPIRICAL, f"{name} vs NT {implementation}: {error:.3g}"


@pytest.mark.parametrize("name", cases(bias=False))
def test_empirical_ntk_ntk_parameterization(fixture, name):
    """NTK parameterization (unit-normal V_l, W_std_l): the kernel is sum_l beta_l^2 T_l with beta_l =
    W_std_l / sqrt(n_{l-1}) and T_l the per-layer terms of eq. (3) at W_l = beta_l V_l."""
    arrays, info, depth, layer = case(fixture, name)
    w_std = [info["W_std_hidden"]] * (depth - 1) + [info["W_std_last"]]
    betas = [s / math.sqrt(fan_in) for s, fan_in in zip(w_std, info["widths"][:-1])]
    net = nc.ReLUNet.from_weights([beta * v for beta, v in zip(betas, layer("V"))])
    terms = nc.empirical_ntk(net, arrays[f"{name}_X"], per_layer=True)
    K = sum(beta ** 2 * term for beta, term in zip(betas, terms))
    for implementation in IMPLEMENTATIONS:
        error = relative(K, arrays[f"{name}_empirical_ntk_param_{implementation}"])
        assert error <= RTOL_EMPIRICAL, f"{name} vs NT {implementation}: {error:.3g}"


@pytest.mark.parametrize("name", cases(bias=False))
def test_limiting_ntk_is_d_times_kernel_fn(fixture, name):
    """K^(L) = d * kernel_fn(X, X, "ntk") (Dense(W_std=sqrt 2) hidden, W_std = 1 last, no biases)."""
    arrays, _, depth, _ = case(fixture, name)
    X = arrays[f"{name}_X"]
    K = nc.limiting_ntk(X, depth)
    recorded = X.shape[1] * arrays[f"{name}_kernel_fn_ntk"]
    off = ~np.eye(len(X), dtype=bool)
    assert np.max(np.abs(K - recorded)[off]) <= RTOL_LIMITING * np.abs(K).max()
    low = (np.diag(K) - np.diag(recorded)) / np.diag(K)  # > 0 where NT's diagonal is low
    assert low.max() <= (depth - 1) * NT_DIAGONAL_RTOL_PER_LEVEL
    assert low.min() >= -ROUNDING
    np.testing.assert_allclose(np.diag(K), depth * np.sum(X * X, axis=1), rtol=ROUNDING)


def test_negative_control_a_wrong_normalization_is_caught(fixture):
    """The comparison has resolution: K^(L) against kernel_fn without the factor d, or at the wrong depth, fails."""
    arrays, _, depth, _ = case(fixture, "L3")
    X = arrays["L3_X"]
    K, recorded = nc.limiting_ntk(X, depth), X.shape[1] * arrays["L3_kernel_fn_ntk"]
    assert np.abs(K - recorded / X.shape[1]).max() > 1e3 * RTOL_LIMITING * np.abs(K).max()
    assert np.abs(nc.limiting_ntk(X, depth + 1) - recorded).max() > 1e3 * RTOL_LIMITING * np.abs(K).max()


@pytest.mark.parametrize("name", cases(bias=True))
def test_bias_case_is_recorded_with_its_inputs(fixture, name):
    """A case with biases (b_l ~ N(0, b_std^2) in the standard parameterization): W_l, b_l, the outputs and both
    kernels are stored for the engine's biases (compared there once ReLUNet has them)."""
    arrays, info, depth, layer = case(fixture, name)
    assert info["b_std"] > 0
    X = arrays[f"{name}_X"]
    weights, biases = layer("W"), layer("b")
    features = X
    for w, b in zip(weights[:-1], biases[:-1]):
        features = np.maximum(features @ w + b, 0.0)
    outputs = (features @ weights[-1] + biases[-1])[:, 0]
    assert relative(outputs, arrays[f"{name}_outputs"]) <= RTOL_EMPIRICAL
    for key in ("empirical_standard_jacobian_contraction", "empirical_ntk_param_structured_derivatives",
                "kernel_fn_ntk", "kernel_fn_nngp"):
        assert arrays[f"{name}_{key}"].shape == (len(X), len(X))
