"""Quantities of Section 5 shared by its claim modules (Theorem 5.1, Lemmas 5.2-5.5): the scale of Theorem 5.1,
the expected Gram matrix (29) in closed form, and the data mean E_X[f_k(x)] that centres the features (Lemma 5.4).
"""
import math

import numpy as np

import ntkcheck as nc
from ntkcheck import scales

# The corrected Lemma 5.4 (claims/test_lemma5_4_centering.py, README erratum 3): lambda_min((F^{*r})(F^{*r})^T) >=
# C_OMEGA lambda_min((F~^{*r})(F~^{*r})^T) w.p. >= COVERAGE over the nets. Here because Theorem 5.1's module uses them
# too (the chain of its proof); the justification of both numbers is in the Lemma 5.4 module.
C_OMEGA = 0.125
COVERAGE = 0.995


def feature_scale(net, k: int) -> float:
    """d prod_{l=1}^k n_l beta_l^2 of ``net`` (``ntkcheck.scales.feature_scale``): Theorem 5.1, eq. (26), Lemma 5.5."""
    return scales.feature_scale(net.widths, net.betas, k)


def expected_gram(F, beta: float) -> np.ndarray:
    """E_{w ~ N(0, beta^2 I)}[sigma(F w) sigma(F w)^T] of (29) / Lemma 5.3, (N, N), in closed form.

    (F w)_i, (F w)_j are jointly Gaussian with covariance beta^2 F F^T, and ``arccos_step`` returns
    2 E[sigma(u) sigma(v)] for covariance F F^T; ReLU is positively homogeneous, hence the factor beta^2 / 2.
    F : (N, n). Cost O(N^2 n)."""
    return beta ** 2 / 2 * nc.arccos_step(F @ F.T)[0]


def feature_mean(net, k: int, *, distribution: str, samples: int, seed: int) -> np.ndarray:
    """E_X[f_k(x)] (Section 2: the mean that centres F~_k), shape (n_k,), for zero-mean data of ``distribution``.

    Exact where it is known: k = 0 (the data have zero mean) and k = 1 with Gaussian data, where
    f_1(x)_j = sigma(<x, w_j>) with <x, w_j> ~ N(0, ||w_j||^2), so E = ||w_j|| / sqrt(2 pi). Otherwise the sample
    mean of f_k over ``samples`` fresh points drawn from ``seed`` (independent of the N points being centred);
    its error is O(sqrt(trace Cov f_k / samples)) in norm. Cost O(samples * P) for the sampled case."""
    d = net.widths[0]
    if k == 0:
        return np.zeros(d)
    first_layer = net.weights[0].cpu().numpy()
    if k == 1 and distribution == "gaussian":
        return np.linalg.norm(first_layer, axis=0) / math.sqrt(2 * math.pi)
    return net.features(nc.sample_data(distribution, samples, d, seed=seed))[k].mean(axis=0)
