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

from ntkcheck._validate import (InvalidArgument, as_choice, as_int, as_matrix, as_seed, as_symmetric_matrix,
                               check_fits)
from ntkcheck.linalg import psd_sqrt

KERNEL_METHODS = ("closed_form", "monte_carlo")
NTK_METHODS = KERNEL_METHODS + ("unrolled",)

# Side of the square tiles of the arc-cosine step: its ~5 temporaries of 256^2 float64 (2.5 MiB)
# stay near the 2 MiB per-core L2 cache of the reference machine (benchmarks/test_bench_limiting.py).
_TILE = 192

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


def _arccos_step(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``arccos_step`` without validation (``limiting_kernels``, which keeps every level; ``limiting_ntk`` runs
    the lean ``_level_step`` instead).

    The elementwise stages are fused per square tile of side ``_TILE`` (the temporaries stay in
    cache), only the tiles on and above the diagonal are computed (the others are their
    transposes), and the tiles are shared among torch.get_num_threads() threads (numpy releases
    the GIL inside its loops)."""
    diagonal = np.diag(G).copy()
    zero = diagonal == 0
    g_next, g_dot = np.empty_like(G), np.empty_like(G)

    def fill(tile: tuple[slice, slice]) -> None:
        rows, cols = tile
        # sqrt(G_ii G_jj), symmetric to the last bit; as sqrt(a^2) = a in IEEE arithmetic, duplicated rows
        # (G_ij = G_ii = G_jj) get c = 1 exactly (sqrt(G_ii) sqrt(G_jj) can be 1 ulp off and gave Gdot 1e-8 low).
        scale = np.sqrt(np.multiply.outer(diagonal[rows], diagonal[cols]))
        # Dividing zero rows by 1 instead of 0 gives c = 0 there, and the true scale 0 then zeroes G_next.
        cosine = G[rows, cols] / np.where(scale == 0, 1.0, scale)
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
        for target, block in zip((g_next, g_dot), (cosine, angle_gap)):
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


def limiting_ntk(X, depth, method: str = "closed_form", samples=None, seed=None, *, X2=None,
                 bias_std=0.0) -> np.ndarray:
    """The limiting NTK K^(L) of (9), shape (N, N), for data X of shape (N, d) and depth L >= 1.

    Normalization (eq. (4)): with all weights N(0, 1) (``ReLUNet(widths, init="standard")``), the empirical NTK
    of ``ntkcheck.empirical_ntk`` converges to this matrix as min(n_1, ..., n_{L-1}) -> infinity,
    (prod_{l=1}^{L-1} 2 / n_l) Kbar^(L) -> K^(L) in probability; the same X, no other factor (depth 1: both are
    X X^T). Each level adds one G^(l), so K^(L)_ii = L ||x_i||^2.

    ``X2`` (M, d), optional: the cross-kernel K^(L)(X, X2), shape (N, M), entry (i, j) the kernel of x_i and
    x2_j (closed form only). ``limiting_ntk(X, X2=X2)`` is the (N, M) block of ``limiting_ntk(vstack(X, X2))``
    up to rounding (same formulas; X X2^T and the norms are other summations). Exception: an X2 row equal to an
    X row has cosine 1 only up to rounding, and Gdot = 1 - theta / pi has slope ~1 / sqrt(1 - c) there, so that
    entry carries a relative error ~sqrt(eps) ~ 1e-8 (the square case sets its diagonal exactly instead). An
    ``X2`` equal to ``X`` (same shape and entries) is computed as the square case.

    ``method="closed_form"``: recursion (9)-(10) with (12), in place in the output: the Gram matrix X X^T (or
    X X2^T) is computed into the output array, and then each square tile (of side ``_TILE``) runs all L - 1
    levels while it stays in cache (``_level_step``); the entries of a tile depend only on that tile and on the
    squared norms ||x_i||^2, which every level keeps (G^(l)_ii = G^(l-1)_ii). Memory: the output plus a few
    tiles per thread (no other (N, N) array); cost O(N^2 d) for the Gram matrix plus (L - 1) N^2 / 2
    elementwise steps (half: the tiles below the diagonal are mirrored), on torch.get_num_threads() threads.
    The diagonal is exact: K^(L)_ii is G^(1)_ii added L times (Gdot_ii = 1 exactly), and the result is
    symmetric to the last bit.
    ``method="monte_carlo"``: Lemma 3.1 (11)-(12) by sampling, see ``limiting_kernels`` (needs
    ``samples`` and ``seed``; each level samples through the exact G^(l-1)).
    ``method="unrolled"``: the closed-form G^(l), Gdot^(l) combined by (13),
    K^(L) = G^(L) + sum_{l=1}^{L-1} G^(l) o Gdot^(l+1) o ... o Gdot^(L), an independent check of
    the recursion (12); cost O(L^2 N^2), memory 2L (N, N) arrays.
    ``bias_std`` (a float >= 0 or one per layer l = 1..L): the limit with biases (module docstring), for every
    method; the lean path then also tracks the diagonal Gamma^(l)_ii = Gamma^(l-1)_ii + b_l^2 level by level.
    """
    X, depth, method, samples, seed = _check_arguments(X, depth, method, NTK_METHODS, samples, seed)
    bias = _as_bias_std(bias_std, depth)
    if X2 is not None:
        X2 = as_matrix(X2, "X2", columns=X.shape[1])
        if method != "closed_form":
            raise InvalidArgument(f"X2 (a cross-kernel) is only computed by method='closed_form', got "
                                  f"method={method!r}")
        if X2.shape == X.shape and np.array_equal(X2, X):
            X2 = None
    rows, cols = len(X), len(X) if X2 is None else len(X2)
    arrays = {"closed_form": 1, "unrolled": 2 * depth, "monte_carlo": 3 * depth}[method]  # (N, N) arrays held
    check_fits(8 * rows * cols * arrays, "cpu", f"limiting_ntk(method={method!r}) on {rows} x {cols} samples would "
               f"hold {arrays} float64 (N, M) array(s), which", "compute it in blocks of rows, "
               "limiting_ntk(X[rows], depth, X2=X), or use fewer samples" + ("" if method == "closed_form" else
                                                                           ", or method='closed_form'"))
    if method == "monte_carlo":
        return limiting_kernels(X, depth, method, samples, seed, bias_std=bias).K[-1]
    if method == "unrolled":
        levels = list(_closed_form_levels(X, depth, bias))
        return _unrolled_13([g for g, _ in levels], [g_dot for _, g_dot in levels])
    if any(bias):
        return _lean_limiting_ntk_with_biases(X, X2, depth, bias)
    return _lean_limiting_ntk(X, X2, depth)


def _as_bias_std(bias_std, depth: int) -> tuple[float, ...]:
    from ntkcheck.network import _as_bias_std as validate  # one rule for the net and its limit
    return validate(bias_std, depth)


def _add_bias(g: np.ndarray, std: float) -> np.ndarray:
    """Gamma = G + std^2 1 1^T (in place; G unchanged when std = 0)."""
    if std:
        g += std ** 2
    return g


def _lean_limiting_ntk_with_biases(X, X2, depth: int, bias: tuple[float, ...]) -> np.ndarray:
    """``_lean_limiting_ntk`` with the bias term: per tile and level, Gamma^(l+1) = scale_l c' + b_{l+1}^2 and
    c^(l+1) = Gamma^(l+1) / scale_(l+1), where scale_l = sqrt(Gamma^(l)_ii Gamma^(l)_jj) grows level by level."""
    square = X2 is None
    kernel = _add_bias(X @ X.T if square else X @ X2.T, bias[0])  # Gamma^(1) = K^(1)
    if depth == 1:
        return kernel
    rows = [(np.diag(kernel).copy() if square else np.einsum("ij,ij->i", X, X) + bias[0] ** 2)]
    cols = [rows[0] if square else np.einsum("ij,ij->i", X2, X2) + bias[0] ** 2]
    for b in bias[1:]:  # the diagonal of Gamma^(l): the arc-cosine step keeps it, the bias adds b_l^2
        rows.append(rows[-1] + b ** 2)
        cols.append(rows[-1] if square else cols[-1] + b ** 2)
    n, m = kernel.shape
    tiles = [(slice(i, i + _TILE), slice(j, j + _TILE)) for i in range(0, n, _TILE) for j in range(0, m, _TILE)
             if not square or j >= i]

    def fill(tile: tuple[slice, slice]) -> None:
        r, c = tile
        block = kernel[r, c]
        diagonal = square and r == c
        scales = [np.sqrt(np.multiply.outer(a[r], b[c])) for a, b in zip(rows, cols)]
        cosine = np.divide(block, scales[0], out=np.zeros_like(scales[0]), where=scales[0] > 0)
        work = (np.empty_like(scales[0]), np.empty_like(scales[0]))
        for level in range(1, depth):
            _level_step(cosine, block, scales[level - 1], work)  # cosine = G^(l+1) / scale_l, block += G^(l+1)
            block += bias[level] ** 2
            cosine *= scales[level - 1]
            cosine += bias[level] ** 2  # Gamma^(l+1)
            np.divide(cosine, scales[level], out=cosine, where=scales[level] > 0)
            if diagonal:
                np.fill_diagonal(cosine, 1.0)
        if diagonal:  # K^(L)_ii = sum_l Gamma^(l)_ii (Gdot_ii = 1)
            np.fill_diagonal(block, np.sum([a[r] for a in rows], axis=0))
        elif square:
            kernel[c, r] = block.T

    with ThreadPoolExecutor(max_workers=max(1, min(torch.get_num_threads(), len(tiles)))) as pool:
        list(pool.map(fill, tiles))
    return kernel


def _lean_limiting_ntk(X: np.ndarray, X2: np.ndarray | None, depth: int) -> np.ndarray:
    """K^(L) (or the cross-kernel with X2) in place in the Gram matrix, one tile at a time (see limiting_ntk)."""
    square = X2 is None
    kernel = X @ X.T if square else X @ X2.T  # G^(1) = K^(1); numpy's X @ X.T is a syrk, symmetric to the bit
    if depth == 1:
        return kernel
    rows_norm2 = np.diag(kernel).copy() if square else np.einsum("ij,ij->i", X, X)
    cols_norm2 = rows_norm2 if square else np.einsum("ij,ij->i", X2, X2)
    n, m = kernel.shape
    tiles = [(slice(i, i + _TILE), slice(j, j + _TILE)) for i in range(0, n, _TILE) for j in range(0, m, _TILE)
             if not square or j >= i]

    def fill(tile: tuple[slice, slice]) -> None:
        rows, cols = tile
        block = kernel[rows, cols]  # a view: the tile is updated in place
        diagonal = square and rows == cols
        scale = np.sqrt(np.multiply.outer(rows_norm2[rows], cols_norm2[cols]))  # sqrt(G_ii G_jj)
        # c = G_ij / sqrt(G_ii G_jj): sqrt(a^2) = a in IEEE arithmetic, so duplicated rows get c = 1 exactly;
        # a zero row (scale 0) gets c = 0, and its zero scale then keeps its K entries 0 at every level.
        cosine = np.divide(block, scale, out=np.zeros_like(scale), where=scale > 0)
        work = (np.empty_like(scale), np.empty_like(scale))
        for _ in range(depth - 1):
            _level_step(cosine, block, scale, work)
            if diagonal:
                np.fill_diagonal(cosine, 1.0)  # c_ii = 1 exactly (the step gives 1 up to rounding)
        if diagonal:  # K^(L)_ii = G_ii added L times: Gdot_ii = 1 and G^(l)_ii = G^(1)_ii exactly
            exact = rows_norm2[rows].copy()
            for _ in range(depth - 1):
                exact += rows_norm2[rows]
            np.fill_diagonal(block, exact)
        elif square:
            kernel[cols, rows] = block.T

    with ThreadPoolExecutor(max_workers=max(1, min(torch.get_num_threads(), len(tiles)))) as pool:
        list(pool.map(fill, tiles))
    return kernel


def _level_step(cosine: np.ndarray, kernel: np.ndarray, scale: np.ndarray,
                work: tuple[np.ndarray, np.ndarray]) -> None:
    """One level l -> l + 1 of (10) and (12) on a tile, in place.

    In: cosine = c^(l) = G^(l)_ij / sqrt(G_ii G_jj), kernel = K^(l); scale = sqrt(G_ii G_jj) (the same at every
    level, as G^(l)_ii = G^(l-1)_ii); work = two scratch tiles. Out: cosine = c^(l+1), kernel = K^(l+1) with
    theta = arccos(c^(l)):
        Gdot^(l+1) = (pi - theta) / pi,                         (10), arc-cosine kernel of degree 0
        G^(l+1) = scale * (sin theta + (pi - theta) c) / pi,    (10), degree 1; c^(l+1) = G^(l+1) / scale
        K^(l+1) = K^(l) o Gdot^(l+1) + G^(l+1).                 (12)
    sin theta = sqrt((1 - c)(1 + c)) keeps full relative precision near c = +-1, as does arccos itself;
    c is clipped to [-1, 1] first (rounding can push it out). Cost ~12 elementwise passes over the tile."""
    sine, gap = work
    np.clip(cosine, -1.0, 1.0, out=cosine)
    np.subtract(1.0, cosine, out=sine)
    np.add(1.0, cosine, out=gap)
    sine *= gap
    np.sqrt(sine, out=sine)  # sin theta
    np.arccos(cosine, out=gap)
    np.subtract(math.pi, gap, out=gap)  # pi - theta
    cosine *= gap
    cosine += sine
    cosine /= math.pi  # c^(l+1); division, so that c = 1 gives pi / pi = 1 exactly
    gap /= math.pi  # Gdot^(l+1)
    kernel *= gap
    np.multiply(scale, cosine, out=sine)  # G^(l+1)
    kernel += sine


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
