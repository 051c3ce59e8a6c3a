"""Lemma 6.1, eq. (34): ||g_k||_Lip = max ||J(g_k)(z)||_op over z with A_{1->k-1}(z) in {-1, +1} (no zero
pre-activation), J(g_k) the back-propagated Jacobian (35).

Regime: random He nets with input dimension d = 2, where the claim is computable exactly. Without biases g_k
is positively homogeneous, so its linear pieces are cones; ntkcheck.lipschitz enumerates them exactly by angle.
Four computations of ||g_k||_Lip are compared, for every layer k in [L]:
  * exact: on each enumerated cone, the Jacobian from forward evaluations only (secants through points inside
    the cone, which must agree with each other, proving the cone is one linear piece); the Lipschitz constant of
    a continuous piecewise-linear map is the largest norm of its pieces;
  * the right side of (34): the max of (35) (back-propagation, sigma'(0) = 0) at the middle of every cone;
  * dense angular sampling of (35) at N equally spaced angles: at every sample it equals the norm of the
    enumerated cone containing it (so no piece is missing from the enumeration); it never exceeds the exact
    value; and it reaches it on every map whose best cone is wider than the step 2 pi / N (such a cone must
    contain a sample). A best cone thinner than the step can be missed (sampling is a lower estimate: seeds
    14 and 17 of the smoke calibration missed cones of ~1e-4 rad by up to 14 %), so those maps are counted
    and their thinnest best cone reported, not checked. Negative controls: the per-sample identity rejects an
    enumeration missing every other boundary, and the reach check rejects a sampler blind to the best cone;
  * difference quotients ||g_k(z) - g_k(z')|| / ||z - z'|| (never above the exact value; random pairs may
    miss a thin best cone, so how close they come is reported, not checked).
And the sigma'(0) = 0 convention (footnote 2): on the hand-built net g_2(z) = max(-z_1, z_2) (||g_2||_Lip = 1),
at z = (0, 1) two pre-activations are exactly 0; g_2 = z_2 near that point, yet (35) returns (1, 1), of norm
sqrt(2) > ||g_2||_Lip. This is why (34) restricts the max to patterns in {-1, +1}.
"""
import math

import numpy as np
import pytest

from ntkcheck import checks
from ntkcheck.lipschitz import (difference_quotient_lipschitz, exact_lipschitz_constant_2d, feature_map,
                                feature_map_jacobian, jacobian_operator_norms)
from ntkcheck.network import ReLUNet
from ntkcheck.records import Verdict

pytestmark = pytest.mark.claim("Lemma 6.1")

# Random d = 2 He nets: depth and widths grow with the budget (a few hundred pieces per net at smoke).
ARCHITECTURES = {
    "smoke": [(2, 8, 6, 1), (2, 16, 12, 8, 1), (2, 5, 30, 4, 3, 1)],
    "full": [(2, 8, 6, 1), (2, 16, 12, 8, 1), (2, 5, 30, 4, 3, 1), (2, 32, 32, 32, 1), (2, 48, 8, 48, 8, 1)],
}
TRIALS = {"smoke": 2, "full": 6}  # independent weight draws per architecture
DENSE_ANGLES = {"smoke": 50_000, "full": 100_000}  # steps of 1.3e-4 / 6e-5 rad; most best cones are ~1e-2 wide
DQ_PAIRS = {"smoke": 16_384, "full": 65_536}
SECANT_FRACTIONS = (0.02, 0.25, 0.5, 0.75, 0.98)  # points across each cone: all must fit one linear map
RTOL_EXACT = 1e-9  # float64 evaluations of the same linear map: rounding ~1e-15, a missed piece is >= 1e-3


def _secant_jacobians(net, k, pieces):
    """J of each cone from forward values g_k(u) at SECANT_FRACTIONS of its angle range, by least squares,
    and the largest misfit relative to |g_k| (zero up to rounding iff the cone is one linear piece)."""
    lo = pieces.angles
    hi = np.append(lo[1:], lo[0] + 2 * np.pi)
    t = lo[:, None] + np.array(SECANT_FRACTIONS) * (hi - lo)[:, None]  # (M, F)
    points = np.stack([np.cos(t), np.sin(t)], axis=2)  # (M, F, 2)
    values = feature_map(net, k, points.reshape(-1, 2)).reshape(points.shape[0], points.shape[1], -1)
    q, r = np.linalg.qr(points)  # least squares by QR: normal equations would square the 1/width conditioning
    jac = np.linalg.solve(r, q.transpose(0, 2, 1) @ values).transpose(0, 2, 1)  # (M, n_k, 2)
    misfit = np.abs(points @ jac.transpose(0, 2, 1) - values).max() / max(np.abs(values).max(), 1e-300)
    return jac, misfit


def _dense_sampling(net, k, pieces, angles):
    """(35) norms at the unit vectors of ``angles`` (N,), the index of the enumerated cone holding each sample,
    and the width of every cone (M,). Angles below pieces.angles[0] lie in the last cone, which wraps around."""
    samples = jacobian_operator_norms(net, k, np.stack([np.cos(angles), np.sin(angles)], axis=1))
    cone = np.searchsorted(pieces.angles, angles, side="right") - 1
    widths = np.diff(np.append(pieces.angles, pieces.angles[0] + 2 * np.pi))
    return samples, cone % len(pieces.angles), widths


def _nets(claim):
    for widths in claim.pick(ARCHITECTURES):
        for trial in range(claim.pick(TRIALS)):
            yield ReLUNet(widths, init="he", seed=claim.seed_for(widths, trial))


def test_lipschitz_constant_is_the_max_backprop_jacobian_norm(claim):
    """(34) on exactly enumerated pieces, against forward-only secants, dense sampling and difference quotients."""
    angles = np.linspace(0, 2 * np.pi, claim.pick(DENSE_ANGLES), endpoint=False)
    step = 2 * np.pi / angles.size
    exact, backprop, dense, blind, quotients, misfits, pieces_count = [], [], [], [], [], [], []
    sampled, of_cone, of_coarse_cone, best_width = [], [], [], []
    for net in _nets(claim):
        for k in range(1, net.depth + 1):
            pieces = exact_lipschitz_constant_2d(net, k)
            secants, misfit = _secant_jacobians(net, k, pieces)
            exact.append(np.linalg.norm(secants, ord=2, axis=(1, 2)).max())
            backprop.append(pieces.constant)
            samples, cone, widths = _dense_sampling(net, k, pieces, angles)
            best = int(np.argmax(pieces.norms))
            dense.append(samples.max())
            blind.append(samples[cone != best].max(initial=0.0))
            best_width.append(widths[best])
            sampled.append(samples)
            of_cone.append(pieces.norms[cone])
            of_coarse_cone.append(pieces.norms[::2][cone // 2])  # every other boundary dropped
            quotients.append(difference_quotient_lipschitz(net, k, pairs=claim.pick(DQ_PAIRS),
                                                           seed=claim.seed_for("pairs", len(exact))))
            misfits.append(misfit)
            pieces_count.append(len(pieces.angles))
    exact, dense, blind, quotients, best_width = map(np.array, (exact, dense, blind, quotients, best_width))
    sampled, of_cone, of_coarse_cone = map(np.concatenate, (sampled, of_cone, of_coarse_cone))
    claim.record(checks.inequality(np.full(len(misfits), RTOL_EXACT), np.array(misfits),
                                   name=f"each enumerated cone is one linear piece ({sum(pieces_count)} cones)",
                                   reason="5 forward values per cone fit one linear map up to float64 rounding"))
    claim.record(checks.identity(np.array(backprop), exact, rtol=RTOL_EXACT,
                                 name="(34): max of (35) over pieces = exact ||g_k||_Lip (forward secants)",
                                 reason="the same linear maps computed two ways; rounding ~1e-15"))
    name = f"(35) at each of {angles.size} angles = the norm of its enumerated cone"
    reason = "(35) depends on z only through its pattern: the same matrix, rounding only"
    claim.record(checks.identity(sampled, of_cone, rtol=RTOL_EXACT, name=name, reason=reason))
    control = checks.identity(sampled, of_coarse_cone, rtol=RTOL_EXACT, name="negative control", reason=reason)
    assert control.verdict is Verdict.FAIL, control.message  # a missing boundary is detected
    claim.record(checks.inequality(exact, dense, rtol=RTOL_EXACT,
                                   name="dense angular sampling of (35) never exceeds ||g_k||_Lip",
                                   reason="rounding only"))
    resolved = best_width > step  # a cone wider than the step holds a sample
    name = f"dense sampling of (35) reaches ||g_k||_Lip where the best cone is wider than the step {step:.2g} rad"
    reason = "a sample lands in the best cone: equality up to rounding"
    rec = checks.inequality(dense[resolved], exact[resolved], rtol=RTOL_EXACT, name=name, reason=reason)
    claim.record(rec.replace(numbers={**rec.numbers, "step": step, "unresolved_maps": int((~resolved).sum()),
                                      "thinnest_best_cone": float(best_width.min())}))
    control = checks.inequality(blind[resolved], exact[resolved], rtol=RTOL_EXACT, name="negative control",
                                reason=reason)
    assert control.verdict is Verdict.FAIL, control.message  # a sampler that misses the best cone is detected
    claim.record(checks.inequality(exact, quotients, rtol=RTOL_EXACT,
                                   name="difference quotients never exceed ||g_k||_Lip", reason="rounding only"))


# g_2(z) = -relu(z_1) + relu(-z_1) + relu(z_1 + z_2) = max(-z_1, z_2): ||g_2||_Lip = 1
MAX_NET = [np.array([[1.0, -1.0, 1.0], [0.0, 0.0, 1.0]]), np.array([[-1.0], [1.0], [1.0]])]
KINK = np.array([[0.0, 1.0]])  # the first two pre-activations are exactly 0 here; g_2 = z_2 nearby
SIDE_STEP = 1e-3  # g_2 is linear within distance 1 of KINK on each side of z_1 = 0


def test_sigma_prime_zero_convention_needs_the_restriction_in_34(claim):
    """Footnote 2: at a zero pre-activation (35) is not the derivative and may exceed ||g_k||_Lip."""
    steps = np.array([[SIDE_STEP, 0.0], [-SIDE_STEP, 0.0]])
    one_sided = feature_map_jacobian(MAX_NET, 2, KINK + steps)[:, 0]
    claim.record(checks.identity(one_sided, np.array([[0.0, 1.0], [0.0, 1.0]]), rtol=0.0, atol=1e-15,
                                 name="the derivative of max(-z_1, z_2) near (0, 1) is (0, 1) on both sides",
                                 reason="integer weights: exact arithmetic"))
    claim.record(checks.identity(
        np.array([feature_map_jacobian(MAX_NET, 2, KINK)[0, 0, 0], feature_map_jacobian(MAX_NET, 2, KINK)[0, 0, 1],
                  jacobian_operator_norms(MAX_NET, 2, KINK)[0], exact_lipschitz_constant_2d(MAX_NET, 2).constant]),
        np.array([1.0, 1.0, math.sqrt(2), 1.0]), rtol=1e-15,
        name="at (0, 1), (35) with sigma'(0) = 0 is (1, 1), norm sqrt 2 > ||g_2||_Lip = 1",
        reason="integer weights: exact up to the rounding of sqrt 2"))
