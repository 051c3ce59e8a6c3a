"""ReLUNet: the network of eq. (1), its initialisations, features and back-propagated vectors (Section 4.1)."""
import math

import numpy as np
import pytest
import torch

from ntkcheck import InvalidArgument
from ntkcheck.data import sample_data
from ntkcheck.network import ReLUNet

WIDTHS = (5, 7, 3, 4, 1)
N_SAMPLES = 6
# numpy and torch evaluate the same products of eq. (1) with different summation orders.
FORWARD_RTOL = 1e-12
# Wide layers so that the sample variance of a layer's weights pins beta_l^2 down to a few percent.
INIT_WIDTHS = (100, 200, 150, 1)
# The sample variance of m i.i.d. N(0, beta^2) draws has relative standard deviation sqrt(2/m); 6 of them
# makes a false failure a ~1e-9 event.
INIT_SIGMAS = 6
EXPECTED_BETA_SQUARED = {
    "standard": lambda fan_in: 1.0,
    "he": lambda fan_in: 2.0 / fan_in,
    "lecun": lambda fan_in: 1.0 / fan_in,
}
cuda_only = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def data(n=N_SAMPLES, d=WIDTHS[0], seed=0):
    return sample_data("gaussian", n=n, d=d, seed=seed)


def numpy_forward(weights, X):
    """Eq. (1) written again in numpy, row-wise: an independent evaluation of f_L."""
    h = X
    for w in weights[:-1]:
        h = np.maximum(h @ w, 0.0)
    return (h @ weights[-1])[:, 0]


def test_shapes_and_dtypes():
    net, X = ReLUNet(WIDTHS), data()
    hidden = [(N_SAMPLES, n) for n in WIDTHS[1:-1]]
    assert net.depth == len(WIDTHS) - 1 and net.widths == WIDTHS
    assert [w.shape for w in net.weights] == [(a, b) for a, b in zip(WIDTHS[:-1], WIDTHS[1:])]
    assert all(w.dtype == torch.float64 for w in net.weights)
    assert net.outputs(X).shape == (N_SAMPLES,)
    assert [F.shape for F in net.features(X)] == [(N_SAMPLES, WIDTHS[0])] + hidden
    assert [g.shape for g in net.preactivations(X)] == hidden + [(N_SAMPLES, 1)]
    assert [A.shape for A in net.activation_patterns(X)] == hidden
    assert [B.shape for B in net.backprop_vectors(X)] == hidden + [(N_SAMPLES, 1)]
    assert all(A.dtype == np.int8 for A in net.activation_patterns(X))


def test_features_patterns_and_outputs_are_consistent():
    net, X = ReLUNet(WIDTHS, seed=1), data()
    F, g, A = net.features(X), net.preactivations(X), net.activation_patterns(X)
    assert np.array_equal(F[0], X)
    for k in range(1, net.depth):
        assert np.array_equal(F[k], np.maximum(g[k - 1], 0.0)), f"F_{k} != relu(g_{k})"
        assert np.array_equal(A[k - 1], np.sign(g[k - 1])), f"A_{k} != sign(g_{k})"
    assert np.array_equal(net.outputs(X), g[-1][:, 0])
    weights = [w.numpy() for w in net.weights]
    np.testing.assert_allclose(net.outputs(X), numpy_forward(weights, X), rtol=FORWARD_RTOL)


def test_backprop_vectors_are_output_derivatives():
    # Section 4.1: row i of B_k is d f_L(x_i) / d g_k(x_i); autograd computes it independently.
    net, X = ReLUNet(WIDTHS, seed=2), data()
    h = torch.from_numpy(X).requires_grad_(True)
    preactivations = []
    for layer, w in enumerate(net.weights, start=1):
        preactivations.append(h @ w)
        preactivations[-1].retain_grad()
        h = torch.relu(preactivations[-1]) if layer < net.depth else preactivations[-1]
    h.sum().backward()  # samples do not interact, so the gradient of the sum holds every row's derivative
    vectors = net.backprop_vectors(X)
    assert np.array_equal(vectors[-1], np.ones((N_SAMPLES, 1)))
    for k, (B, g) in enumerate(zip(vectors, preactivations), start=1):
        np.testing.assert_allclose(B, g.grad.numpy(), rtol=FORWARD_RTOL, err_msg=f"B_{k}")


@pytest.mark.parametrize("init", sorted(EXPECTED_BETA_SQUARED))
def test_init_sets_the_weight_variance(init):
    net = ReLUNet(INIT_WIDTHS, init=init, seed=3)
    for layer, (w, beta) in enumerate(zip(net.weights, net.betas), start=1):
        expected = EXPECTED_BETA_SQUARED[init](w.shape[0])
        assert math.isclose(beta ** 2, expected, rel_tol=1e-12), f"beta_{layer}^2 = {beta ** 2} != {expected}"
        assert weight_variance_matches(w, expected), f"W_{layer} sample variance does not match {expected}"


def test_init_variance_check_can_fail():
    # Negative control: He weights have twice the LeCun variance, which the band above detects in every layer.
    net = ReLUNet(INIT_WIDTHS, init="he", seed=3)
    for w in net.weights:
        assert not weight_variance_matches(w, EXPECTED_BETA_SQUARED["lecun"](w.shape[0]))


def weight_variance_matches(weight, beta_squared):
    sample_variance = float(torch.mean(weight ** 2))
    return abs(sample_variance / beta_squared - 1.0) <= INIT_SIGMAS * math.sqrt(2.0 / weight.numel())


def test_explicit_betas_override_init_and_scale_the_same_draws():
    betas = (0.5, 3.0, 0.25, 2.0)
    scaled = ReLUNet(WIDTHS, init="lecun", betas=betas, seed=4)
    standard = ReLUNet(WIDTHS, init="standard", seed=4)
    assert scaled.betas == betas
    for beta, w, w_standard in zip(betas, scaled.weights, standard.weights):
        assert torch.equal(w, beta * w_standard)


def test_same_seed_same_weights_different_seed_different():
    first, again, other = ReLUNet(WIDTHS, seed=5), ReLUNet(WIDTHS, seed=5), ReLUNet(WIDTHS, seed=6)
    assert all(torch.equal(a, b) for a, b in zip(first.weights, again.weights))
    assert np.array_equal(first.outputs(data()), again.outputs(data()))
    assert not any(torch.equal(a, b) for a, b in zip(first.weights, other.weights))


@cuda_only
def test_same_seed_same_weights_on_cuda():
    cpu, cuda = ReLUNet(WIDTHS, seed=7), ReLUNet(WIDTHS, seed=7, device="cuda")
    assert all(w.is_cuda for w in cuda.weights)
    assert all(torch.equal(a, b.cpu()) for a, b in zip(cpu.weights, cuda.weights))
    np.testing.assert_allclose(cuda.outputs(data()), cpu.outputs(data()), rtol=FORWARD_RTOL)


def test_from_weights_round_trip_copies():
    net = ReLUNet(WIDTHS, seed=8)
    arrays = [w.numpy().copy() for w in net.weights]
    rebuilt = ReLUNet.from_weights(arrays)
    assert rebuilt.widths == WIDTHS and rebuilt.depth == net.depth and rebuilt.betas is None
    assert np.array_equal(rebuilt.outputs(data()), net.outputs(data()))
    arrays[0][:] = 0.0  # the net keeps its own copy
    assert np.array_equal(rebuilt.outputs(data()), net.outputs(data()))


@pytest.mark.parametrize("kwargs, argument", [
    ({"widths": (5,)}, "widths"),
    ({"widths": "5,3,1"}, "widths"),
    ({"widths": (5, 0, 1)}, r"widths\[1\]"),
    ({"widths": (5, 2.5, 1)}, r"widths\[1\]"),
    ({"widths": (5, 3, 2)}, "widths"),
    ({"init": "xavier"}, "init"),
    ({"betas": (1.0, 1.0, 1.0)}, "betas"),
    ({"betas": 1.0}, "betas"),
    ({"betas": (1.0, -1.0)}, r"betas\[1\]"),
    ({"betas": (1.0, 0.0)}, r"betas\[1\]"),
    ({"betas": (1.0, float("nan"))}, r"betas\[1\]"),
    ({"seed": -1}, "seed"),
    ({"device": "tpu"}, "device"),
])
def test_bad_constructor_input_names_the_argument(kwargs, argument):
    with pytest.raises(InvalidArgument, match=f"^{argument} "):
        ReLUNet(**({"widths": (5, 3, 1)} | kwargs))


@pytest.mark.skipif(torch.cuda.is_available(), reason="cuda is available here")
def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(InvalidArgument, match="^device 'cuda'.*is_available"):
        ReLUNet((5, 3, 1), device="cuda")


@pytest.mark.parametrize("X, message", [
    (np.ones(5), "X must be 2-D"),
    (np.ones((2, 3, 5)), "X must be 2-D"),
    (np.ones((4, 4)), "X must have 5 columns"),
    (np.full((4, 5), np.nan), "X must be finite"),
    (np.full((4, 5), -np.inf), "X must be finite"),
    (np.array([["a"] * 5]), "X must have a real numeric dtype"),
])
@pytest.mark.parametrize("method", ["outputs", "features", "preactivations", "activation_patterns",
                                    "backprop_vectors"])
def test_bad_data_names_the_argument(X, message, method):
    with pytest.raises(InvalidArgument, match=f"^{message}"):
        getattr(ReLUNet(WIDTHS), method)(X)


@pytest.mark.parametrize("weights, argument", [
    ([], "weights"),
    (np.ones((3, 1)), "weights"),
    ([np.ones((3, 2)), np.ones((4, 1))], r"weights\[1\] must have 2 rows"),
    ([np.ones((3, 2)), np.ones((2, 2))], r"weights\[1\] \(W_L\) must have one column"),
    ([np.ones(3)], r"weights\[0\]"),
])
def test_bad_weights_name_the_argument(weights, argument):
    with pytest.raises(InvalidArgument, match=f"^{argument}"):
        ReLUNet.from_weights(weights)
