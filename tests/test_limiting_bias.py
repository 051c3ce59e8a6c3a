"""The bias term of the limiting recursion (issue 16): Gamma^(l) = G^(l) + b_l^2 1 1^T at every level of (9)-(12),
against an independent entrywise evaluation, the unrolled form (13), and the empirical NTK at growing width."""
import numpy as np
import pytest

import ntkcheck as nc
from ntkcheck import InvalidArgument

X = nc.sample_data("gaussian", n=7, d=5, seed=4)


def entrywise_limit(X, bias):
    """(9)-(10) with biases, one entry at a time with the arc-cosine formulas (no shared code with the engine)."""
    n = X.shape[0]
    gamma = X @ X.T + bias[0] ** 2
    kernel = gamma.copy()
    for b in bias[1:]:
        nxt, dot = np.empty((n, n)), np.empty((n, n))
        for i in range(n):
            for j in range(n):
                norm = np.sqrt(gamma[i, i] * gamma[j, j])
                theta = np.arccos(np.clip(gamma[i, j] / norm, -1, 1))
                nxt[i, j] = norm * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi
                dot[i, j] = (np.pi - theta) / np.pi
        gamma = nxt + b ** 2
        kernel = kernel * dot + gamma
    return kernel


@pytest.mark.parametrize("bias", [(0.0,), (0.7,), (0.0, 1.5), (0.5, 1.0, 2.0), (1.0, 0.0, 0.3, 0.8)])
def test_bias_recursion_matches_an_entrywise_evaluation(bias):
    K = nc.limiting_ntk(X, len(bias), bias_std=bias)
    np.testing.assert_allclose(K, entrywise_limit(X, bias), rtol=1e-12, atol=1e-12 * np.abs(K).max())
    np.testing.assert_allclose(nc.limiting_ntk(X, len(bias), method="unrolled", bias_std=bias), K, rtol=1e-12)
    np.testing.assert_allclose(nc.limiting_kernels(X, len(bias), bias_std=bias).K[-1], K, rtol=1e-14)


def test_zero_bias_is_the_paper_recursion_bit_for_bit():
    for depth in (1, 2, 4):
        assert np.array_equal(nc.limiting_ntk(X, depth, bias_std=0.0), nc.limiting_ntk(X, depth))
        assert np.array_equal(nc.limiting_ntk(X, depth, method="monte_carlo", samples=500, seed=1, bias_std=0.0),
                              nc.limiting_ntk(X, depth, method="monte_carlo", samples=500, seed=1))


def test_a_scalar_bias_std_applies_to_every_layer():
    assert np.array_equal(nc.limiting_ntk(X, 3, bias_std=0.6), nc.limiting_ntk(X, 3, bias_std=(0.6, 0.6, 0.6)))


def test_monte_carlo_with_biases_is_close_to_the_closed_form():
    # 200,000 samples: sd of an entry <= 2 sqrt(1.5) S / sqrt(samples) ~ 0.0055 S; 6 sd covers every entry.
    bias = (0.5, 1.0, 2.0)
    exact = nc.limiting_kernels(X, 3, bias_std=bias)
    mc = nc.limiting_kernels(X, 3, "monte_carlo", samples=200_000, seed=3, bias_std=bias)
    for level in (1, 2):
        scale = np.sqrt(np.outer(np.diag(exact.G[level - 1]), np.diag(exact.G[level - 1])))
        assert np.abs(mc.G[level] - exact.G[level]).max() <= 6 * 2 * np.sqrt(1.5) / np.sqrt(200_000) * scale.max()
        assert np.abs(mc.Gdot[level] - exact.Gdot[level]).max() <= 6 / np.sqrt(200_000)


def test_biases_make_the_limit_of_points_on_a_ray_positive_definite():
    Y = np.vstack([X[:1], 3.0 * X[:1], X[1:4]])
    K0, Kb = nc.limiting_ntk(Y, 3), nc.limiting_ntk(Y, 3, bias_std=1.0)
    assert nc.lambda_min(K0) <= 1e-13 * np.abs(K0).max()
    assert nc.lambda_min(Kb) >= 1e-3 * np.abs(Kb).max()


def test_empirical_ntk_with_biases_approaches_the_bias_limit():
    # (4) with biases: the normalized Kbar is within a few n^-1/2 of the limit (the scaling check of the error is
    # claims/beyond/test_biases.py); the bias-free limit stays far.
    bias, n = (0.5, 1.0, 2.0), 4096
    K = nc.limiting_ntk(X, 3, bias_std=bias)
    net = nc.ReLUNet((5, n, n, 1), init="standard", bias_std=bias, seed=2)
    normalized = nc.empirical_ntk(net, X) * (2 / n) ** 2
    assert np.linalg.norm(normalized - K) / np.linalg.norm(K) <= 5 / np.sqrt(n)
    K_plain = nc.limiting_ntk(X, 3)
    assert np.linalg.norm(normalized - K_plain) / np.linalg.norm(K_plain) > 0.2


@pytest.mark.parametrize("bias, argument", [(-1.0, "bias_std"), (float("nan"), "bias_std"), ((1.0, 1.0), "bias_std"),
                                            ((1.0, -2.0, 1.0), r"bias_std\[1\]"), ("1", "bias_std")])
def test_bad_bias_std_names_the_argument(bias, argument):
    with pytest.raises(InvalidArgument, match=argument):
        nc.limiting_ntk(X, 3, bias_std=bias)
    with pytest.raises(InvalidArgument, match=argument):
        nc.limiting_kernels(X, 3, bias_std=bias)


@pytest.mark.parametrize("n", [5, 300, 450])  # one tile, and several tiles (side 192) with a ragged edge
def test_lean_bias_path_matches_the_levels_and_cross_kernels(n):
    Y = nc.sample_data("gaussian", n=n, d=6, seed=5)
    Y[1] = 0.0
    Y[2] = Y[3]
    bias = (0.5, 1.0, 0.0, 2.0)
    K = nc.limiting_ntk(Y, 4, bias_std=bias)
    np.testing.assert_allclose(K, nc.limiting_kernels(Y, 4, bias_std=bias).K[-1], rtol=1e-12,
                               atol=1e-12 * np.abs(K).max())
    assert np.array_equal(K, K.T)
    cross = nc.limiting_ntk(Y[:4], 4, X2=Y[4:9], bias_std=bias)
    np.testing.assert_allclose(cross, K[:4, 4:9], rtol=1e-10, atol=1e-12 * np.abs(K).max())
