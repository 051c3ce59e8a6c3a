"""The limiting NTK K^(L) of a deep ReLU net: recursion (9)-(10), Lemma 3.1 (11)-(12), unrolled form (13).

Three computations of the same matrices, so that each can be the oracle of another:
``closed_form`` evaluates the Gaussian expectations of (9)-(10) with the arc-cosine kernels of
degree 1 and 0 (``arccos_step``); ``monte_carlo`` estimates the expectations of Lemma 3.1 by
sampling w, exactly as printed in (11)-(12); ``unrolled`` sums the products of (13) instead of
running the recursion (12).

Biases (``bias_std``, beyond the paper; issue 16): for ``ReLUNet(..., bias_std=...)`` the limit (4) of the
normalized empirical NTK is the same recursion with G^(l) replaced at every level by
Gamma^(l) = G^(l) + bias_std_l^2 1 1^T, G^(l) now computed from Gamma^(l-1): Gamma^(1) = X X^T + b_1^2 1 1^T,
Gamma^(l) = 2 E[sigma(u) sigma(v)] + b_l^2, Gdot^(l) = 2 E[sigma'(u) sigma'(v)], (u, v) ~ N(0, Gamma^(l-1)_{ij}),
K^(l) = K^(l-1) o Gdot^(l) + Gamma^(l) (the bias of layer l is the weight of a constant feature, see
``ntkcheck.network.ReLUNet``). bias_std = 0 gives exactly the paper's numbers.
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator, NamedTuple

import numpy as np
import torch

from ntkcheck._validate import InvalidArgument, as_choice, as_int, as_matrix, as_seed, as_symmetric_matrix
from ntkcheck.linalg import psd_sqrt

KERNEL_METHODS = ("closed_form", "monte_carlo")
NTK_METHODS = KERNEL_METHODS + ("unrolled",)

# Side of the square tiles of the arc-cosine step: its ~5 temporaries of 256^2 float64 (2.5 MiB)
# stay near the 2 MiB per-core L2 cache of the reference machine (benchmarks/test_bench_limiting.py).
_TILE = 256

# A Monte Carlo batch holds at most this many float64 entries (32 MiB) of the (batch, N)
# sample matrix, so memory stays bounded whatever ``samples`` is.
_BATCH_ENTRIES = 1 << 22


class LimitingKernels(NamedTuple):
    """The matrices of (9)-(12), each (N, N), listed by level: G[l-1] = G^(l), Gdot[l-1] = Gdot^(l),
    K[l-1] = K^(l) for l = 1..L; Gdot[0] is None, as Gdot^(1) is not defined in the paper."""

    G: list[np.ndarray]
    Gdot: list[np.ndarray | None]
    K: list[np.ndarray]


def arccos_step(G) -> tuple[np.ndarray, np.ndarray]:
    """One level of (9)-(10): (G_next, Gdot_next) from a p.s.d. matrix G of shape (N, N).

    G_next_ij = 2 E[sigma(u) sigma(v)] and Gdot_next_ij = 2 E[sigma'(u) sigma'(v)] with
    (u, v) ~ N(0, [[G_ii, G_ij], [G_ij, G_jj]]), in closed form (arc-cosine kernels of degree 1
    and 0): with c = G_ij / sqrt(G_ii G_jj) and theta = arccos(c),
    G_next_ij = sqrt(G_ii G_jj) (sin theta + (pi - theta) cos theta) / pi and
    Gdot_next_ij = (pi - theta) / pi.

    The diagonal is set exactly (G_next_ii = G_ii, Gdot_next_ii = 1), as the proof of Theorem 3.2
    uses Gdot_ii = 1. A zero row (G_ii = 0, so u = 0 a.s.) gives zero rows in both outputs, since
    sigma(0) = sigma'(0) = 0. c is clipped to [-1, 1] (rounding can push it out) and theta is
    taken as atan2(sqrt((1 - c)(1 + c)), c): this gives theta and sin theta to full relative
    precision for the given c, also near c = +-1 where 1 - c^2 would cancel. The remaining
    sensitivity of Gdot near c = 1 (d theta / dc ~ 1 / sqrt(1 - c)) is that of the kernel
    itself, not of the evaluation; G_next stays well conditioned there.

    Returns two (N, N) float64 arrays, symmetric to the last bit. Cost O(N^2) elementwise
    operations, about six (N, N) temporaries.
    """
    G = as_symmetric_matrix(G, "G")
    diagonal = np.diag(G)
    if np.any(diagonal < 0):
        raise InvalidArgument(f"G must be positive semidefinite, got a negative diagonal entry "
                              f"{float(diagonal.min()):.3g}")
    return _arccos_step(G)


def _arccos_step(G: np.ndarray, kernel: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``arccos_step`` without validation. With ``kernel`` = K^(l-1), also applies (12) in place,
    K^(l) = K^(l-1) o Gdot^(l) + G^(l), in the same pass over the tiles.

    The elementwise stages are fused per square tile of side ``_TILE`` (the temporaries stay in
    cache), only the tiles on and above the diagonal are computed (the others are their
    transposes), and the tiles are shared among torch.get_num_threads() threads (numpy releases
    the GIL inside its loops)."""
    diagonal = np.diag(G).copy()
    norms = np.sqrt(diagonal)
    zero = diagonal == 0
    # Dividing zero rows by 1 instead of 0 gives c = 0 there, and the true scale 0 then zeroes G_next.
    divisors = np.where(zero, 1.0, norms)
    g_next, g_dot = np.empty_like(G), np.empty_like(G)

    def fill(tile: tuple[slice, slice]) -> None:
        rows, cols = tile
        scale = np.multiply.outer(norms[rows], norms[cols])  # sqrt(G_ii G_jj), symmetric to the last bit
        cosine = G[rows, cols] / np.multiply.outer(divisors[rows], divisors[cols])
        np.clip(cosine, -1.0, 1.0, out=cosine)
        sine = 1.0 + cosine
        angle_gap = 1.0 - cosine
        sine *= angle_gap
        np.sqrt(sine, out=sine)
        np.arctan2(sine, cosine, out=angle_gap)
        np.subtract(math.pi, angle_gap, out=angle_gap)  # now pi - theta
        cosine *= angle_gap  # (sin theta + (pi - theta) cos theta) / pi, then times sqrt(G_ii G_jj)
        cosine += sine
        cosine /= math.pi  # before scaling, so that c = 1 gives exactly pi / pi = 1 and G_next_ij = G_ij
        cosine *= scale
        angle_gap /= math.pi
        if rows == cols:
            np.fill_diagonal(cosine, diagonal[rows])
            np.fill_diagonal(angle_gap, 1.0)
        angle_gap[zero[rows], :] = 0.0
        angle_gap[:, zero[cols]] = 0.0
        outputs = (cosine, angle_gap)
        if kernel is not None:
            update = kernel[rows, cols] * angle_gap
            update += cosine
            outputs += (update,)
        for target, block in zip((g_next, g_dot, kernel), outputs):
            target[rows, cols] = block
            target[cols, rows] = block.T

    n = G.shape[0]
    starts = range(0, n, _TILE)
    tiles = [(slice(i, i + _TILE), slice(j, j + _TILE)) for i in starts for j in starts if j >= i]
    with ThreadPoolExecutor(max_workers=max(1, min(torch.get_num_threads(), len(tiles)))) as pool:
        list(pool.map(fill, tiles))
    return g_next, g_dot


def limiting_kernels(X, depth, method: str = "closed_form", samples=None, seed=None, *,
                     chained: bool = False, bias_std=0.0) -> LimitingKernels:
    """All matrices G^(l), Gdot^(l), K^(l), l = 1..L, of (9)-(12) for data X of shape (N, d).

    ``method="closed_form"``: the recursion (9)-(10) through ``arccos_step``. Cost L - 1 steps of
    O(N^2) plus the Gram matrix X X^T, O(N^2 d); memory 3L (N, N) arrays.

    ``method="monte_carlo"``: Lemma 3.1 as printed. G^(1) = X X^T; G^(2) = 2 E[sigma(Xw) sigma(Xw)^T]
    with w ~ N(0, I_d); G^(l) for l >= 3 and Gdot^(l) for l >= 2 average sigma and sigma' (with
    sigma'(0) = 0) of sqrt(G^(l-1)) w, w ~ N(0, I_N), over ``samples`` draws of w (eq. (11), (12)),
    and K follows from the recursion (12). The draws of sqrt(G^(l-1)) w are made as D sqrt(C) w, of the
    same law N(0, G^(l-1)) (D the standard deviations, C the correlations; see ``_sampling_factor``), so
    that a coordinate of zero variance is exactly 0, as in the closed form. By default level l samples
    through the *exact* (closed-form) G^(l-1): the lemma is an identity between exact matrices, so each
    estimate then carries the Monte Carlo error of one expectation only, of order 1/sqrt(samples).
    ``chained=True`` samples through the Monte Carlo G^(l-1) instead, which is what a simulation
    that never knew the closed form would do; errors then accumulate across levels. The draws
    come from ``numpy.random.default_rng(seed)``, one batch of w after the other as rows of a
    (batch, N) matrix, so the result does not depend on the batch size. Cost per level: an
    eigendecomposition O(N^3) for sqrt(G^(l-1)) and O(samples N^2) in matrix products, in batches
    of at most 2^22 entries.

    ``bias_std`` (a float >= 0 or one per layer, see the module docstring): G[l-1] is then Gamma^(l); the Monte
    Carlo of level 2 samples [X, b_1 1] w, w ~ N(0, I_{d+1}), the form of (11) for the net's first layer.

    Returns a ``LimitingKernels(G, Gdot, K)`` of lists of (N, N) float64 arrays (Gdot[0] is None).
    """
    X, depth, method, samples, seed = _check_arguments(X, depth, method, KERNEL_METHODS, samples, seed)
    bias = _as_bias_std(bias_std, depth)
    exact = list(_closed_form_levels(X, depth, bias))
    if method == "closed_form":
        G = [g for g, _ in exact]
        Gdot = [g_dot for _, g_dot in exact]
    else:
        G, Gdot = _monte_carlo_levels(X, [g for g, _ in exact], samples, np.random.default_rng(seed), chained,
                                      bias)
    return LimitingKernels(G, Gdot, _recursion_12(G, Gdot))


def limiting_ntk(X, depth, method: str = "closed_form", samples=None, seed=None, *, bias_std=0.0) -> np.ndarray:
    """The limiting NTK K^(L) of (9), shape (N, N), for data X of shape (N, d) and depth L >= 1.

    ``method="closed_form"``: recursion (9)-(10), keeping only the current level in memory;
    cost O(N^2 d) for X X^T plus L - 1 arc-cosine steps of O(N^2).
    ``method="monte_carlo"``: Lemma 3.1 (11)-(12) by sampling, see ``limiting_kernels`` (needs
    ``samples`` and ``seed``; each level samples through the exact G^(l-1)).
    ``method="unrolled"``: the closed-form G^(l), Gdot^(l) combined by (13),
    K^(L) = G^(L) + sum_{l=1}^{L-1} G^(l) o Gdot^(l+1) o ... o Gdot^(L), an independent check of
    the recursion (12); cost O(L^2 N^2).
    ``bias_std``: the limit with biases (module docstring), for every method.
    """
    X, depth, method, samples, seed = _check_arguments(X, depth, method, NTK_METHODS, samples, seed)
    bias = _as_bias_std(bias_std, depth)
    if method == "monte_carlo":
        return limiting_kernels(X, depth, method, samples, seed, bias_std=bias).K[-1]
    if method == "unrolled":
        levels = list(_closed_form_levels(X, depth, bias))
        return _unrolled_13([g for g, _ in levels], [g_dot for _, g_dot in levels])
    g = _add_bias(X @ X.T, bias[0])  # G^(1) = K^(1)
    kernel = g.copy()
    for level in range(1, depth):
        g = _arccos_step(g, kernel)[0]  # (10), and (12) applied to kernel in the same pass; Gdot is dropped
        if bias[level]:
            g += bias[level] ** 2
            kernel += bias[level] ** 2
    return kernel


def _as_bias_std(bias_std, depth: int) -> tuple[float, ...]:
    from ntkcheck.network import _as_bias_std as validate  # one rule for the net and its limit
    return validate(bias_std, depth)


def _add_bias(g: np.ndarray, std: float) -> np.ndarray:
    """Gamma = G + std^2 1 1^T (in place; G unchanged when std = 0)."""
    if std:
        g += std ** 2
    return g


def _check_arguments(X, depth, method, methods, samples, seed):
    X = as_matrix(X, "X")
    depth = as_int(depth, "depth", minimum=1)
    method = as_choice(method, "method", methods)
    if method == "monte_carlo":
        if samples is None or seed is None:
            raise InvalidArgument("method='monte_carlo' needs samples (an int >= 1) and seed (an int >= 0), "
                                  f"got samples={samples!r}, seed={seed!r}")
        samples = as_int(samples, "samples", minimum=1)
        seed = as_seed(seed, "seed")
    elif samples is not None or seed is not None:
        raise InvalidArgument(f"samples and seed are only used by method='monte_carlo', got method={method!r} "
                              f"with samples={samples!r}, seed={seed!r}")
    return X, depth, method, samples, seed


def _closed_form_levels(X: np.ndarray, depth: int, bias=None) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Yield (G^(l), Gdot^(l)) for l = 1..L by (9)-(10) (Gamma^(l) with ``bias``); Gdot^(1) is None."""
    bias = bias or (0.0,) * depth
    g = _add_bias(X @ X.T, bias[0])
    yield g, None
    for level in range(1, depth):
        g, g_dot = _arccos_step(g)
        yield _add_bias(g, bias[level]), g_dot


def _sampling_factor(G: np.ndarray) -> np.ndarray:
    """A factor F (N, N) with F F^T = G, for drawing s = F w ~ N(0, G), the law of sqrt(G) w in (11)-(12).

    F = D sqrt(C), with D = diag(sqrt(G_ii)) and C = D^+ G D^+ the correlation matrix (unit diagonal). The
    expectations of Lemma 3.1 depend on the law of s only, and this factor keeps each coordinate exact to
    its own scale: a coordinate of zero variance (a zero data row) is exactly 0, so sigma(0) = sigma'(0) = 0
    as in the closed form, and a tiny one keeps its correlations to full relative precision. The symmetric
    root sqrt(G) from an eigendecomposition carries an absolute error ~sqrt(eps ||G||) in every row (from
    the eigenvalues of a singular G that come out as rounding): a zero row of X X^T came out ~6e-9, the sign
    of its step was random, and Gdot was ~0.5 there instead of 0; a row of X scaled by 1e-8 had its norm
    off by 10-60%. Cost O(N^3) (one eigendecomposition)."""
    scale = np.sqrt(np.diag(G))
    inverse = np.divide(1.0, scale, out=np.zeros_like(scale), where=scale > 0)
    correlation = G * np.multiply.outer(inverse, inverse)  # exactly symmetric, as G is
    np.fill_diagonal(correlation, (scale > 0).astype(np.float64))
    return scale[:, None] * psd_sqrt(correlation)


def _monte_carlo_levels(X, exact_G, samples, rng, chained, bias=None):
    """G^(l), Gdot^(l) of Lemma 3.1 by sampling; level l samples through exact_G[l-2] unless chained.
    With ``bias``, level 2 samples through [X, b_1 1] and each sampled G gets b_l^2 added (Gamma^(l))."""
    bias = bias or (0.0,) * len(exact_G)
    first = X if not bias[0] else np.column_stack([X, np.full(X.shape[0], bias[0])])
    G, Gdot = [exact_G[0]], [None]
    for level in range(2, len(exact_G) + 1):
        previous = G[-1] if chained else exact_G[level - 2]
        root = _sampling_factor(previous)
        if level == 2:  # (11) prints G^(2) through X w, w ~ N(0, I_d), and (12) Gdot^(2) through sqrt(G^(1)) w
            g, _ = _sampled_moments(first, samples, rng)
            _, g_dot = _sampled_moments(root, samples, rng)
        else:
            g, g_dot = _sampled_moments(root, samples, rng)
        G.append(_add_bias(g, bias[level - 1]))
        Gdot.append(g_dot)
    return G, Gdot


def _sampled_moments(factor: np.ndarray, samples: int, rng: np.random.Generator, *,
                     with_stderr: bool = False):
    """Sample means of 2 sigma(s) sigma(s)^T and 2 sigma'(s) sigma'(s)^T over s = factor @ w,
    w ~ N(0, I_m) for factor of shape (N, m), drawn as rows of (batch, m) matrices.

    With ``with_stderr`` also returns the entrywise standard errors of both means, estimated from
    the same samples (one more (N, batch) x (batch, N) product per batch for sigma; for sigma' the
    summands are 0 or 2, so their variance follows from the mean).
    """
    n, m = factor.shape
    batch = max(1, min(samples, _BATCH_ENTRIES // max(n, m)))
    relu_sum = np.zeros((n, n))
    step_sum = np.zeros((n, n))
    relu_square_sum = np.zeros((n, n)) if with_stderr else None
    for start in range(0, samples, batch):
        s = rng.standard_normal((min(batch, samples - start), m)) @ factor.T
        step = (s > 0).astype(np.float64)  # sigma'(0) = 0
        relu = np.maximum(s, 0.0, out=s)
        relu_sum += relu.T @ relu
        step_sum += step.T @ step
        if with_stderr:
            relu *= relu
            relu_square_sum += relu.T @ relu
    g = (2.0 / samples) * relu_sum
    g_dot = (2.0 / samples) * step_sum
    if not with_stderr:
        return g, g_dot
    dof = max(samples - 1, 1)
    g_se = np.sqrt(np.maximum((4.0 / samples) * relu_square_sum - g * g, 0.0) / dof)
    g_dot_se = np.sqrt(np.maximum(2.0 * g_dot - g_dot * g_dot, 0.0) / dof)
    return g, g_dot, g_se, g_dot_se


def _ntk_step(kernel: np.ndarray, g_dot: np.ndarray, g: np.ndarray) -> np.ndarray:
    """K^(l) = K^(l-1) o Gdot^(l) + G^(l), eq. (12)."""
    return kernel * g_dot + g


def _recursion_12(G, Gdot) -> list[np.ndarray]:
    K = [G[0].copy()]
    for g, g_dot in zip(G[1:], Gdot[1:]):
        K.append(_ntk_step(K[-1], g_dot, g))
    return K


def _unrolled_13(G, Gdot) -> np.ndarray:
    total = G[-1].copy()
    for l in range(len(G) - 1):  # G[l] = G^(l+1), multiplied by Gdot^(l+2) ... Gdot^(L)
        term = G[l].copy()
        for g_dot in Gdot[l + 1:]:
            term *= g_dot
        total += term
    return total
