"""Sanity identities of centering (Section 2's F~_k = F_k - E_X[F_k]), used by the Lemma 5.4 claims.

Not claim checks: they hold by algebra, so they cannot fail on correct code (Issue 14 moved them here from
claims/test_lemma5_4_centering.py). They guard the computation the claims rely on: for r = 1 the difference of
(30) is D = F F^T - F~ F~^T = a 1^T + 1 a^T + ||m||^2 1 1^T with m = E_X[f_k(x)], a = F~ m, so D vanishes on the
complement of 1 (P D P = 0 for the projector P onto 1-perp) and has rank <= 2.
"""
import math

import numpy as np
import pytest

import ntkcheck as nc

ROUNDING = 1e-12  # relative to ||D||: products of well-scaled N x n matrices


def _features(n, d, width, seed):
    X = nc.sample_data("gaussian", n, d, seed=seed)
    net = nc.ReLUNet((d, width, 1), init="he", seed=seed + 1)
    first = net.weights[0].cpu().numpy()
    mean = np.linalg.norm(first, axis=0) / math.sqrt(2 * math.pi)  # exact E_X[f_1] for Gaussian data
    return net.features(X)[1], mean


@pytest.mark.parametrize("n, d, width", [(8, 4, 16), (32, 32, 256), (20, 50, 7)])
def test_r1_difference_is_rank_two_and_vanishes_on_the_complement_of_one(n, d, width):
    F, mean = _features(n, d, width, seed=n + d + width)
    centred = F - mean
    difference = nc.khatri_rao_gram(F, 1) - nc.khatri_rao_gram(centred, 1)
    a, ones = centred @ mean, np.ones(n)
    closed = np.outer(a, ones) + np.outer(ones, a) + mean @ mean * np.outer(ones, ones)
    scale = np.linalg.norm(difference)
    assert np.linalg.norm(difference - closed) <= ROUNDING * scale
    basis = np.linalg.qr(np.column_stack([ones, np.eye(n)[:, :n - 1]]))[0][:, 1:]  # orthonormal basis of 1-perp
    assert np.linalg.norm(basis.T @ difference @ basis) <= ROUNDING * scale
    assert np.linalg.matrix_rank(difference, tol=1e-9 * scale) <= 2


def test_a_wrong_centering_breaks_the_identity():
    """Negative control: centring each row over its units (the axis mixed up) instead of each unit over the data gives
    D = (F 1)(F 1)^T / n, which does not vanish on 1-perp. (A shift along 1 m^T, e.g. 1.1 m, keeps D's form.)"""
    F, _ = _features(16, 8, 32, seed=3)
    difference = nc.khatri_rao_gram(F, 1) - nc.khatri_rao_gram(F - F.mean(axis=1, keepdims=True), 1)
    basis = np.linalg.qr(np.column_stack([np.ones(16), np.eye(16)[:, :15]]))[0][:, 1:]
    assert np.linalg.norm(basis.T @ difference @ basis) > 1e-3 * np.linalg.norm(difference)
