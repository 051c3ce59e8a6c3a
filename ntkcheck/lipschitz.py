"""Lipschitz constants of the pre-activation feature maps g_k (Section 6).

g_k(z) = W_k^T sigma(W_{k-1}^T ... sigma(W_1^T z)) maps R^d -> R^{n_k}. Without biases it is positively
homogeneous and piecewise linear on cones; on the cone of an activation pattern A_{1->k-1} in {-1,+1}
its Jacobian is (35), J(g_k)(z) = W_k^T Sigma_{k-1} W_{k-1}^T ... Sigma_1 W_1^T, and Lemma 6.1 (34) says
||g_k||_Lip is the largest ||J(g_k)(z)||_op over such z. This module computes:

* the Jacobian (35) and its operator norm at a batch of inputs (back-propagation, sigma'(0) = 0);
* the exact ||g_k||_Lip for d = 2, by enumerating the cones exactly by angle;
* two lower estimates for any d (a search over pieces along great circles, and difference quotients);
* the naive bound prod_l ||W_l||_op and the scale of bound (36) of Theorem 6.2.

Every function takes ``weights``: a ReLUNet (its ``weights``) or a list of matrices W_l of shape
(n_{l-1}, n_l) (numpy arrays or torch tensors); only W_1..W_k are used, so W_k may have any width.
Torch (float64) inside, numpy at the boundary.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np
import torch

from ntkcheck._validate import InvalidArgument, as_int, as_int_sequence, as_matrix, as_positive_float, as_seed
from ntkcheck.network import forward

# Crossing angles closer than this are one boundary: coincident crossings (hand-built nets, or a neuron
# whose pre-activation vanishes on a whole cone) come out a few ulps apart, and the midpoint of such a
# sliver would read a pattern from rounding; a real cone of random weights is never this thin.
ANGLE_MERGE_TOL = 1e-12


class LipschitzPieces(NamedTuple):
    """The exact linear pieces of g_k on R^2 and ||g_k||_Lip (Lemma 6.1).

    constant : max of ``norms`` = ||g_k||_Lip.
    angles : (M,) sorted in [0, 2 pi); piece i is the cone of angles [angles[i], angles[i+1]) (the last one
        wraps around to angles[0] + 2 pi). A single piece (k = 1: g_1 is linear) is the whole plane, angles = [0].
    directions : (M, 2) the unit direction at the middle angle of each piece.
    norms : (M,) ||J(g_k)||_op on each piece, eq. (35).
    """

    constant: float
    angles: np.ndarray
    directions: np.ndarray
    norms: np.ndarray


class LipschitzEstimate(NamedTuple):
    """A lower estimate of ||g_k||_Lip: ``value`` = ||J(g_k)(direction)||_op, attained inside a piece."""

    value: float
    direction: np.ndarray


def _as_weights(weights, k) -> tuple[list[torch.Tensor], int]:
    """(W_1..W_k as float64 tensors, k) from a ReLUNet or a list of matrices, with 1 <= k <= len(weights)."""
    weights = getattr(weights, "weights", weights)
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence) or not weights:
        raise InvalidArgument(f"weights must be a ReLUNet or a non-empty list of 2-D matrices, got {weights!r}")
    k = as_int(k, "k", minimum=1)
    if k > len(weights):
        raise InvalidArgument(f"k must be <= the number of layers ({len(weights)}), got {k}")
    tensors: list[torch.Tensor] = []
    for i, w in enumerate(weights[:k]):
        matrix = torch.from_numpy(as_matrix(w, f"weights[{i}]"))
        if i and matrix.shape[0] != tensors[-1].shape[1]:
            raise InvalidArgument(f"weights[{i}] must have {tensors[-1].shape[1]} rows to follow weights[{i - 1}] "
                                  f"of shape {tuple(tensors[-1].shape)}, got shape {tuple(matrix.shape)}")
        tensors.append(matrix)
    return tensors, k


def _inputs(z, weights: list[torch.Tensor]) -> torch.Tensor:
    return torch.from_numpy(as_matrix(z, "z", columns=weights[0].shape[0]))


def _jacobians(weights: list[torch.Tensor], z: torch.Tensor) -> torch.Tensor:
    """(35) for the last layer of ``weights`` at the rows of z: (M, n_k, d), by forward-mode chain rule.

    Sigma_l = 1[g_l > 0] (sigma'(0) = 0). Cost O(M * sum_l n_{l-1} n_l d)."""
    preactivations, _ = forward(weights, z)
    jac = weights[0].T.expand(z.shape[0], -1, -1)
    for weight, g in zip(weights[1:], preactivations[:-1]):
        jac = weight.T @ ((g > 0).to(jac.dtype)[:, :, None] * jac)
    return jac


def _op_norms(jac: torch.Tensor) -> torch.Tensor:
    return torch.linalg.matrix_norm(jac, ord=2)


def feature_map(weights, k, z) -> np.ndarray:
    """g_k(z) of eq. (1) (the pre-activation of layer k) at the rows of z (M, d): shape (M, n_k). Cost O(M P_k)."""
    weights, k = _as_weights(weights, k)
    return forward(weights, _inputs(z, weights))[0][-1].numpy()


def feature_map_jacobian(weights, k, z) -> np.ndarray:
    """The back-propagated Jacobian (35), J(g_k)(z) = W_k^T prod_{l=1}^{k-1} Sigma_{k-l}(z) W_{k-l}^T.

    z : (M, d), one input per row. Returns (M, n_k, d). Sigma_l(z) = diag(1[g_l(z) > 0]): the convention
    sigma'(0) = 0 of back-propagation (footnote 2), so at a z with a zero pre-activation this is the
    back-propagation formula, not necessarily the derivative of g_k. Cost O(M d P_k), P_k = sum_{l<=k} n_{l-1} n_l.
    """
    weights, k = _as_weights(weights, k)
    return _jacobians(weights, _inputs(z, weights)).numpy()


def jacobian_operator_norms(weights, k, z) -> np.ndarray:
    """||J(g_k)(z)||_op of (35) for each row of z (M, d): shape (M,). Batched SVD, O(M (d P_k + n_k d min(n_k, d)))."""
    weights, k = _as_weights(weights, k)
    return _op_norms(_jacobians(weights, _inputs(z, weights))).numpy()


def _circle_points(angles: torch.Tensor, plane: torch.Tensor) -> torch.Tensor:
    """cos(t) q_1 + sin(t) q_2 for the columns q_1, q_2 of ``plane`` (d, 2): (M, d)."""
    return torch.stack([torch.cos(angles), torch.sin(angles)], dim=1) @ plane.T


def _cones(bounds: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(lo, hi) of the cones between sorted boundary angles in [0, 2 pi); the last one wraps around."""
    if bounds.numel() == 0:
        return torch.zeros(1, dtype=torch.float64), torch.full((1,), 2 * math.pi, dtype=torch.float64)
    return bounds, torch.cat([bounds[1:], bounds[:1] + 2 * math.pi])


def _zero_crossings(jac: torch.Tensor, plane: torch.Tensor) -> torch.Tensor:
    """Angles t in [0, 4 pi) where a t-linear pre-activation a cos t + b sin t (per cone, per neuron) vanishes.

    jac (M, n, d) is the linear map of the pre-activation on each cone; returns (M, n, 4): the zeros
    t0 = atan2(-a, b) mod pi and t0 + pi, repeated one turn later so that a wrapping cone finds them."""
    coeffs = jac @ plane
    first = torch.remainder(torch.atan2(-coeffs[..., 0], coeffs[..., 1]), math.pi)
    return first[..., None] + math.pi * torch.arange(4, dtype=torch.float64)


def _merge(angles: torch.Tensor) -> torch.Tensor:
    angles = torch.sort(torch.remainder(angles, 2 * math.pi)).values
    keep = torch.ones_like(angles, dtype=torch.bool)
    keep[1:] = torch.diff(angles) > ANGLE_MERGE_TOL
    angles = angles[keep]
    if angles.numel() > 1 and angles[0] + 2 * math.pi - angles[-1] <= ANGLE_MERGE_TOL:
        angles = angles[:-1]
    return angles


def _circle_pieces(weights: list[torch.Tensor], plane: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The linear pieces of g_k on the great circle of ``plane`` (d, 2 orthonormal): (boundary angles, mid angles).

    Layer by layer: on a cone where layers 1..l-1 keep their pattern, g_l is linear in z, so its
    zero crossings on the circle are exact angles; they split the cone. g_1 is linear everywhere."""
    bounds = _merge(_zero_crossings(weights[0].T[None], plane)[..., :2].reshape(-1)) if len(weights) > 1 \
        else torch.empty(0, dtype=torch.float64)
    for layer in range(2, len(weights)):
        lo, hi = _cones(bounds)
        jac = _jacobians(weights[:layer], _circle_points((lo + hi) / 2, plane))
        crossings = _zero_crossings(jac, plane)
        inside = (crossings > lo[:, None, None]) & (crossings < hi[:, None, None])
        bounds = _merge(torch.cat([bounds, crossings[inside]]))
    lo, hi = _cones(bounds)
    return lo, torch.remainder((lo + hi) / 2, 2 * math.pi)


def _pieces_on_plane(weights: list[torch.Tensor], plane: torch.Tensor):
    bounds, mids = _circle_pieces(weights, plane)
    directions = _circle_points(mids, plane)
    return bounds, directions, _op_norms(_jacobians(weights, directions))


def exact_lipschitz_constant_2d(weights, k) -> LipschitzPieces:
    """The exact ||g_k||_Lip for d = 2, by Lemma 6.1 (34) over an exact enumeration of the linear pieces.

    The pieces of g_k are cones (positive homogeneity, no biases), enumerated by angle: every angle where
    a pre-activation of layers 1..k-1 changes sign, found layer by layer in closed form; the norm (35) at the
    middle of each cone; the max over cones. Weights with W_1 of shape (2, n_1). Cost O(M k P_k) for M pieces
    (M = O(sum_l n_l * pieces so far); about 2 (n_1 + ... + n_{k-1}) for random weights).
    Returns LipschitzPieces(constant, angles, directions, norms).
    """
    weights, k = _as_weights(weights, k)
    if weights[0].shape[0] != 2:
        raise InvalidArgument(f"weights[0] must have 2 rows (input dimension d = 2) for the exact enumeration, "
                              f"got shape {tuple(weights[0].shape)}")
    bounds, directions, norms = _pieces_on_plane(weights, torch.eye(2, dtype=torch.float64))
    return LipschitzPieces(float(norms.max()), bounds.numpy(), directions.numpy(), norms.numpy())


def _top_right_singular_vector(weights: list[torch.Tensor], z: torch.Tensor) -> torch.Tensor:
    return torch.linalg.svd(_jacobians(weights, z[None]), full_matrices=False).Vh[0, 0]


def lipschitz_lower_estimate(weights, k, *, starts: int = 16, steps: int = 8, seed: int = 0,
                             candidates: int = 64) -> LipschitzEstimate:
    """A lower estimate of ||g_k||_Lip (Lemma 6.1, (34)) for any d: the best ||J(g_k)(z)||_op found by a search.

    ||J(g_k)(z)||_op is constant on each piece, so there is no gradient to follow; instead: draw
    ``candidates * starts`` random directions, keep the best ``starts``, and from each take ``steps``
    exact line searches over pieces: on the great circle through z and a second direction (alternately the
    top right singular vector of J(g_k)(z) and a random one), enumerate every piece exactly (as in
    ``exact_lipschitz_constant_2d``) and move to the best. Each step can only go up. The value is the norm
    of a real piece, so it never exceeds ||g_k||_Lip: it is a lower estimate, not a bound.
    Cost O(starts * steps * M k P_k), M pieces per great circle.
    """
    weights, k = _as_weights(weights, k)
    starts, steps = as_int(starts, "starts", minimum=1), as_int(steps, "steps", minimum=0)
    candidates = as_int(candidates, "candidates", minimum=1)
    generator = torch.Generator().manual_seed(as_seed(seed))
    d = weights[0].shape[0]
    draws = torch.randn(candidates * starts, d, generator=generator, dtype=torch.float64)
    norms = _op_norms(_jacobians(weights, draws))
    best_value, best_z = -1.0, draws[0]  # replaced at the first start: a norm is >= 0
    for z in draws[torch.argsort(norms, descending=True)[:starts]]:
        z = z / torch.linalg.vector_norm(z)
        for step in range(steps if d > 1 else 0):
            other = _top_right_singular_vector(weights, z) if step % 2 == 0 else \
                torch.randn(d, generator=generator, dtype=torch.float64)
            other = other - (other @ z) * z
            if torch.linalg.vector_norm(other) < 1e-8:  # the singular vector is z itself: turn at random
                other = torch.randn(d, generator=generator, dtype=torch.float64)
                other = other - (other @ z) * z
            plane = torch.stack([z, other / torch.linalg.vector_norm(other)], dim=1)
            _, directions, piece_norms = _pieces_on_plane(weights, plane)
            z = directions[torch.argmax(piece_norms)]
        value = float(_op_norms(_jacobians(weights, z[None]))[0])
        if value > best_value:
            best_value, best_z = value, z
    return LipschitzEstimate(best_value, best_z.numpy())


def difference_quotient_lipschitz(weights, k, *, pairs: int = 4096, seed: int = 0) -> float:
    """max ||g_k(z) - g_k(z')||_2 / ||z - z'||_2 over random pairs: a lower estimate of ||g_k||_Lip.

    Independent of (35) and of the sigma'(0) convention: it only evaluates g_k (eq. (1)). z ~ N(0, I_d) and
    z' = z + r u with u a uniform direction and r = ||z|| 10^U, U ~ Unif(-3, 0) (close pairs stay in one or
    two pieces and sample the local slope; far ones straddle many). Cost O(pairs * P_k).
    """
    weights, k = _as_weights(weights, k)
    pairs = as_int(pairs, "pairs", minimum=1)
    generator = torch.Generator().manual_seed(as_seed(seed))
    d = weights[0].shape[0]
    z = torch.randn(pairs, d, generator=generator, dtype=torch.float64)
    u = torch.randn(pairs, d, generator=generator, dtype=torch.float64)
    radius = torch.linalg.vector_norm(z, dim=1) * 10.0 ** (-3 * torch.rand(pairs, generator=generator,
                                                                             dtype=torch.float64))
    z_near = z + (radius / torch.linalg.vector_norm(u, dim=1))[:, None] * u
    g, g_near = forward(weights, torch.cat([z, z_near]))[0][-1].split(pairs)
    quotients = torch.linalg.vector_norm(g - g_near, dim=1) / torch.linalg.vector_norm(z - z_near, dim=1)
    return float(quotients.max())


def naive_lipschitz_bound(weights, k) -> float:
    """prod_{l=1}^k ||W_l||_op, the simple bound ||g_k||_Lip <= prod ||W_l||_op of Section 6. Cost: k SVDs."""
    weights, k = _as_weights(weights, k)
    return math.prod(float(torch.linalg.matrix_norm(w, ord=2)) for w in weights)


def squared_lipschitz_bound_scale(widths, betas, k) -> float:
    """The scale of bound (36) of Theorem 6.2, for the SQUARED constant: (36) reads ||g_k||_Lip^2 = O(S) with

        S = prod_{l=0}^k n_l / min_{l in [0,k]} n_l * prod_{l=1}^{k-1} log(n_l) * prod_{l=1}^k beta_l^2.

    widths : (n_0 = d, n_1, ...) with at least k+1 entries; betas : at least k entries (beta_l > 0).
    log is natural; n_1..n_{k-1} must be >= 2 (log(1) = 0 would make the scale vanish: (36) is a statement
    for large widths). Compare with ``lipschitz_lower_estimate(...).value ** 2``. Cost O(k).
    """
    k = as_int(k, "k", minimum=1)
    widths = as_int_sequence(widths, "widths", minimum=1, min_length=k + 1)[:k + 1]
    if isinstance(betas, (str, bytes)) or not isinstance(betas, Sequence | np.ndarray) or len(betas) < k:
        raise InvalidArgument(f"betas must be a sequence of at least k = {k} positive floats, got {betas!r}")
    betas = [as_positive_float(beta, f"betas[{i}]") for i, beta in enumerate(betas[:k])]
    small = [n for n in widths[1:k] if n < 2]
    if small:
        raise InvalidArgument(f"widths n_1..n_{k - 1} must be >= 2 for the log factors of (36), got {widths}")
    return (math.prod(widths) / min(widths) * math.prod(math.log(n) for n in widths[1:k])
            * math.prod(beta ** 2 for beta in betas))
