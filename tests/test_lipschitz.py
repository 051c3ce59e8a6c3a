"""Tests of ntkcheck.lipschitz (Section 6): Jacobian (35), exact d = 2 enumeration (Lemma 6.1), estimates, (36).

Oracles: forward-pass secants on each enumerated cone (no back-propagation, no sigma'(0) convention), torch
autograd, dense angular sampling, difference quotients, and hand-built nets with closed-form constants.
"""
import math

import numpy as np
import pytest
import torch

from ntkcheck._validate import InvalidArgument
from ntkcheck.lipschitz import (LipschitzPieces, difference_quotient_lipschitz, exact_lipschitz_constant_2d,
                                feature_map, feature_map_jacobian, jacobian_operator_norms, lipschitz_lower_estimate,
                                naive_lipschitz_bound, squared_lipschitz_bound_scale)
from ntkcheck.network import ReLUNet, forward

# (widths, seed): small d = 2 nets of depth 1..4, including a narrow layer after a wide one
SMALL_NETS = [((2, 6, 1), 0), ((2, 8, 6, 1), 1), ((2, 12, 10, 8, 1), 2), ((2, 5, 30, 4, 3, 1), 3)]
DENSE_ANGLES = 200_000  # a sampling step of 3e-5 rad, far below the width of the widest cones (~1e-2 rad)
RTOL_EXACT = 1e-10  # two float64 computations of the same linear map: rounding is ~1e-15 relative
# The best cones of SMALL_NETS are >= 0.02 rad wide, so 65536 random pairs put hundreds of close pairs in each;
# their quotients reach >= 99.6 % of the constant (measured), while 4096 pairs reach only 91.5 % on the deepest net.
DQ_PAIRS = 65536
RTOL_DIFFERENCE_QUOTIENT = 0.01


def _nets():
    return [pytest.param(ReLUNet(widths, seed=seed), id=f"{widths}") for widths, seed in SMALL_NETS]


def _secant_jacobians(net, k, pieces: LipschitzPieces) -> np.ndarray:
    """J on each cone from two forward evaluations inside it: J [a b] = [g(a) g(b)] (g_k is linear there)."""
    lo = pieces.angles
    hi = np.append(lo[1:], lo[0] + 2 * np.pi)
    jacobians = []
    for t in (lo + (hi - lo) / 3, lo + 2 * (hi - lo) / 3):
        points = np.stack([np.cos(t), np.sin(t)], axis=1)
        jacobians.append((feature_map(net, k, points), points))
    (ga, a), (gb, b) = jacobians
    values = np.stack([ga, gb], axis=2)  # (M, n_k, 2)
    inputs = np.stack([a, b], axis=2)  # (M, 2, 2)
    return values @ np.linalg.inv(inputs)


def _layers(net):
    return range(1, net.depth + 1)


@pytest.mark.parametrize("net", _nets())
def test_enumerated_pieces_are_linear_and_their_jacobians_are_35(net):
    """On every enumerated cone, the back-propagated Jacobian (35) equals the forward-pass secant Jacobian."""
    for k in _layers(net):
        pieces = exact_lipschitz_constant_2d(net, k)
        secants = _secant_jacobians(net, k, pieces)
        backprop = feature_map_jacobian(net, k, pieces.directions)
        scale = np.abs(backprop).max()
        assert np.abs(secants - backprop).max() <= RTOL_EXACT * scale, k
        assert np.all(np.diff(pieces.angles) > 0) and 0 <= pieces.angles[0] and pieces.angles[-1] < 2 * np.pi
        assert pieces.constant == pieces.norms.max()
        np.testing.assert_allclose(np.linalg.norm(secants, ord=2, axis=(1, 2)), pieces.norms, rtol=RTOL_EXACT)


def test_negative_control_a_missed_layer_breaks_the_secant_check():
    """The secant check can fail: cones cut only at layer-1 crossings are not linear pieces of g_3."""
    net = ReLUNet((2, 12, 10, 8, 1), seed=2)
    coarse = exact_lipschitz_constant_2d(net, 2)  # the pieces of g_2 miss the crossings of layer 2
    secants = _secant_jacobians(net, 3, coarse)
    backprop = feature_map_jacobian(net, 3, coarse.directions)
    assert np.abs(secants - backprop).max() > 1e3 * RTOL_EXACT * np.abs(backprop).max()


@pytest.mark.parametrize("net", _nets())
def test_exact_constant_bounds_dense_sampling_and_difference_quotients(net):
    """Lemma 6.1: sampled Jacobian norms and difference quotients never exceed the exact constant, and approach it."""
    angles = np.linspace(0, 2 * np.pi, DENSE_ANGLES, endpoint=False)
    circle = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    for k in _layers(net):
        exact = exact_lipschitz_constant_2d(net, k)
        best = int(np.argmax(exact.norms))
        width = np.diff(np.append(exact.angles, exact.angles[0] + 2 * np.pi))[best]
        assert width > 2 * np.pi / DENSE_ANGLES  # so the dense grid has a point in the best cone
        dense = jacobian_operator_norms(net, k, circle).max()
        np.testing.assert_allclose(dense, exact.constant, rtol=RTOL_EXACT)
        quotient = difference_quotient_lipschitz(net, k, pairs=DQ_PAIRS, seed=k)
        assert (1 - RTOL_DIFFERENCE_QUOTIENT) * exact.constant <= quotient <= (1 + RTOL_EXACT) * exact.constant
        assert exact.constant <= naive_lipschitz_bound(net, k) * (1 + RTOL_EXACT)


@pytest.mark.parametrize("net", _nets())
def test_lower_estimate_is_exact_in_the_plane(net):
    """For d = 2 one great-circle search step enumerates every piece, so the estimate is the exact constant."""
    for k in _layers(net):
        estimate = lipschitz_lower_estimate(net, k, starts=1, steps=1, seed=0)
        np.testing.assert_allclose(estimate.value, exact_lipschitz_constant_2d(net, k).constant, rtol=RTOL_EXACT)


def test_lower_estimate_is_attained_inside_a_piece_and_beats_random_directions():
    net = ReLUNet((6, 40, 12, 10, 1), seed=4)
    k = 3
    estimate = lipschitz_lower_estimate(net, k, starts=4, steps=8, seed=0)
    np.testing.assert_allclose(jacobian_operator_norms(net, k, estimate.direction[None])[0], estimate.value,
                               rtol=RTOL_EXACT)
    assert min(np.abs(g).min() for g in net.preactivations(estimate.direction[None])[:k - 1]) > 0
    random_directions = np.random.default_rng(0).standard_normal((256, 6))
    assert estimate.value >= jacobian_operator_norms(net, k, random_directions).max()
    assert estimate.value <= naive_lipschitz_bound(net, k)


@pytest.mark.parametrize("net", _nets())
def test_jacobian_matches_autograd(net):
    """(35) with sigma'(0) = 0 equals torch autograd of g_k at generic points (where both are the derivative)."""
    z = np.random.default_rng(5).standard_normal((7, 2))
    for k in _layers(net):
        def g(x):
            return forward(net.weights[:k], x[None])[0][-1][0]
        expected = np.stack([torch.autograd.functional.jacobian(g, torch.from_numpy(row)).numpy() for row in z])
        np.testing.assert_allclose(feature_map_jacobian(net, k, z), expected, rtol=RTOL_EXACT, atol=1e-14)


def test_single_layer_constant_is_the_operator_norm():
    """k = 1: g_1 = W_1^T z is linear, one piece, ||g_1||_Lip = ||W_1||_op (closed form)."""
    w1 = np.random.default_rng(6).standard_normal((2, 5))
    pieces = exact_lipschitz_constant_2d([w1], 1)
    assert len(pieces.angles) == 1
    np.testing.assert_allclose(pieces.constant, np.linalg.norm(w1, 2), rtol=RTOL_EXACT)


def test_identity_through_relu_pairs():
    """g_2(z) = R^T relu(z) - R^T relu(-z) = R^T z: every piece has Jacobian R^T, ||g_2||_Lip = ||R||_op."""
    r = np.random.default_rng(7).standard_normal((2, 3))
    weights = [np.hstack([np.eye(2), -np.eye(2)]), np.vstack([r, -r])]
    pieces = exact_lipschitz_constant_2d(weights, 2)
    assert len(pieces.angles) == 4  # the two axes cut the plane into quadrants
    np.testing.assert_allclose(pieces.norms, np.linalg.norm(r, 2), rtol=RTOL_EXACT)


# g_2(z) = -relu(z_1) + relu(-z_1) + relu(z_1 + z_2) = max(-z_1, z_2): ||g_2||_Lip = 1
MAX_NET = [np.array([[1.0, -1.0, 1.0], [0.0, 0.0, 1.0]]), np.array([[-1.0], [1.0], [1.0]])]
# g_2(z) = relu(z_1) + relu(-z_1) = |z_1|: ||g_2||_Lip = 1
ABS_NET = [np.array([[1.0, -1.0], [0.0, 0.0]]), np.array([[1.0], [1.0]])]
ON_THE_KINK = np.array([[0.0, 1.0]])  # z_1 = 0: both first neurons have a pre-activation exactly 0


def test_closed_form_nets():
    for weights in (MAX_NET, ABS_NET):
        np.testing.assert_allclose(exact_lipschitz_constant_2d(weights, 2).constant, 1.0, rtol=RTOL_EXACT)
    np.testing.assert_allclose(feature_map(MAX_NET, 2, np.array([[0.3, -2.0], [-4.0, 1.0]]))[:, 0], [-0.3, 4.0])


def test_sigma_prime_zero_convention_at_a_zero_preactivation():
    """Footnote 2 / Lemma 6.1: where a pre-activation is exactly 0, (35) with sigma'(0) = 0 is not the derivative.

    max(-z_1, z_2) equals z_2 near (0, 1) (differentiable, gradient (0, 1)), yet back-propagation drops the two
    neurons with zero input and returns (1, 1), of norm sqrt(2) > ||g_2||_Lip = 1. For |z_1| it returns 0,
    while the one-sided Jacobians are (+-1, 0). Hence the max in (34) runs over patterns in {-1, +1} only."""
    eps = 1e-3  # exact: both functions are linear on each side within distance 1 of the kink
    for weights, one_sided in ((MAX_NET, ([0.0, 1.0], [0.0, 1.0])), (ABS_NET, ([1.0, 0.0], [-1.0, 0.0]))):
        for side, expected in zip((+1, -1), one_sided):
            shifted = ON_THE_KINK + side * eps * np.array([[1.0, 0.0]])
            np.testing.assert_allclose(feature_map_jacobian(weights, 2, shifted)[0, 0], expected)
    np.testing.assert_allclose(feature_map_jacobian(MAX_NET, 2, ON_THE_KINK)[0, 0], [1.0, 1.0])
    np.testing.assert_allclose(jacobian_operator_norms(MAX_NET, 2, ON_THE_KINK), [math.sqrt(2)])
    np.testing.assert_allclose(feature_map_jacobian(ABS_NET, 2, ON_THE_KINK)[0, 0], [0.0, 0.0])


def test_naive_bound_is_the_product_of_operator_norms():
    net = ReLUNet((3, 7, 5, 1), seed=8)
    expected = math.prod(np.linalg.norm(w.numpy(), 2) for w in net.weights[:2])
    np.testing.assert_allclose(naive_lipschitz_bound(net, 2), expected, rtol=RTOL_EXACT)


def test_bound_scale_36():
    widths, betas = (4, 100, 10, 50), (0.5, 0.2, 0.3)
    expected = 4 * 100 * 10 * 50 / 4 * math.log(100) * math.log(10) * (0.5 * 0.2 * 0.3) ** 2
    np.testing.assert_allclose(squared_lipschitz_bound_scale(widths, betas, 3), expected, rtol=RTOL_EXACT)
    # He init (beta_l^2 = 2 / n_{l-1}): the scale reduces to 2^k n_k / min_l n_l * prod log(n_l)
    he = tuple(math.sqrt(2 / n) for n in widths[:-1])
    np.testing.assert_allclose(squared_lipschitz_bound_scale(widths, he, 2), 4 * 10 / 4 * math.log(100),
                               rtol=RTOL_EXACT)
    np.testing.assert_allclose(squared_lipschitz_bound_scale((3, 5), (2.0,), 1), 5 * 4.0, rtol=RTOL_EXACT)


@pytest.mark.parametrize("call, match", [
    (lambda: feature_map_jacobian(MAX_NET, 0, ON_THE_KINK), "k must be >= 1"),
    (lambda: feature_map_jacobian(MAX_NET, 3, ON_THE_KINK), "k must be <= the number of layers"),
    (lambda: feature_map_jacobian(MAX_NET, 2, np.zeros((1, 3))), "z must have 2 columns"),
    (lambda: feature_map_jacobian([np.ones((2, 3)), np.ones((4, 1))], 2, ON_THE_KINK), r"weights\[1\] must have 3"),
    (lambda: jacobian_operator_norms("net", 1, ON_THE_KINK), "weights must be a ReLUNet"),
    (lambda: exact_lipschitz_constant_2d([np.ones((3, 2))], 1), "d = 2"),
    (lambda: lipschitz_lower_estimate(MAX_NET, 2, starts=0), "starts must be >= 1"),
    (lambda: difference_quotient_lipschitz(MAX_NET, 2, pairs=10, seed=-1), "seed must be >= 0"),
    (lambda: squared_lipschitz_bound_scale((3, 1, 4), (1.0, 1.0), 2), "must be >= 2 for the log"),
    (lambda: squared_lipschitz_bound_scale((3, 4, 4), (1.0,), 2), "betas must be a sequence of at least"),
    (lambda: squared_lipschitz_bound_scale((3, 4), (1.0,), 2), "widths must have at least 3"),
])
def test_bad_input(call, match):
    with pytest.raises(InvalidArgument, match=match):
        call()
