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
Also: the naive bound prod ||W_l||_op against the exact constant (row 6.1); "for all choices of W_k" with adversarial
W_k and the "w.p. 1" qualifier's null set (rows 6.8, 6.9); (35) evaluated literally in the printed order and the
equality of the matrices (not only norms) within a cone (rows 6.10, 6.11); the pattern count (row 6.12).
And the sigma'(0) = 0 convention (footnote 2): on the hand-built net g_2(z) = max(-z_1, z_2) (||g_2||_Lip = 1),
at z = (0, 1) two pre-activations are exactly 0; g_2 = z_2 near that point, yet (35) returns (1, 1), of norm
sqrt(2) > ||g_2||_Lip. This is why (34) restricts the max to patterns in {-1, +1}.
"""
import math

import numpy as np
import pytest

from ntkcheck import checks
from ntkcheck.lipschitz import (difference_quotient_lipschitz, exact_lipschitz_constant_2d, feature_map,
                                feature_map_jacobian, jacobian_operator_norms, naive_lipschitz_bound)
from ntkcheck.network import ReLUNet
from ntkcheck.records import Verdict

pytestmark = pytest.mark.claim("Lemma 6.1")

# Random d = 2 He nets: depth and widths grow with the budget (a few hundred pieces per net at smoke).
ARCHITECTURES = {
    "smoke": [(2, 8, 6, 1), (2, 16, 12, 8, 1), (2, 5, 30, 4, 3, 1)],
    "full": [(2, 8, 6, 1), (2, 16, 12, 8, 1), (2, 5, 30, 4, 3, 1), (2, 32, 32, 32, 1), (2, 48, 8, 48, 8, 1)],
}
TRIALS = {"smoke": 2, "full": 6, "paper": 24}  # independent weight draws per architecture (paper: exact checks, so
# the budget buys instances: the detectable rate of a failing map 4x smaller than at full)
DENSE_ANGLES = {"smoke": 50_000, "full": 100_000, "paper": 400_000}  # steps of 1.3e-4 / 6e-5 rad; most best cones are ~1e-2 wide
DQ_PAIRS = {"smoke": 16_384, "full": 65_536, "paper": 262_144}
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
    exact, backprop, dense, blind, quotients, misfits, pieces_count, naive = [], [], [], [], [], [], [], []
    sampled, of_cone, of_coarse_cone, best_width = [], [], [], []
    for net in _nets(claim):
        for k in range(1, net.depth + 1):
            pieces = exact_lipschitz_constant_2d(net, k)
            secants, misfit = _secant_jacobians(net, k, pieces)
            exact.append(np.linalg.norm(secants, ord=2, axis=(1, 2)).max())
            naive.append(naive_lipschitz_bound(net, k))
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
    naive = np.array(naive)
    claim.record(checks.inequality(naive, exact, rtol=RTOL_EXACT,
                                   name=f"Section 6: prod_l ||W_l||_op >= exact ||g_k||_Lip (naive / exact in "
                                        f"[{np.min(naive / exact):.3g}, {np.max(naive / exact):.3g}])",
                                   reason="submultiplicativity; against the exact constant (d = 2), rounding only"))


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


# Lemma 6.1 "for all choices of W_k" (row 6.8): on one d = 2 He net, W_k replaced by adversarial matrices; the max of
# (35) over the enumerated cones must equal the exact constant from forward secants for each.
ADVERSARIAL_NET, ADVERSARIAL_K = (2, 16, 12, 8, 1), 3


def _adversarial_last_layers(rng, shape):
    u, v = rng.standard_normal(shape[0]), rng.standard_normal(shape[1])
    one_hot = np.zeros(shape)
    one_hot[np.arange(shape[1]) % shape[0], np.arange(shape[1])] = 1.0
    return {"zero": np.zeros(shape), "rank one": np.outer(u, v), "1e6 x random": 1e6 * rng.standard_normal(shape),
            "one-hot columns": one_hot}


def test_for_all_choices_of_W_k_and_the_null_set(claim):
    """(34) for adversarial W_k (the lemma's "for all choices of W_k"), and an instance of the null set excluded by
    "w.p. 1 over (W_l)_{l<k}": a zero column of W_1 makes g_{1,1} = 0 everywhere, so no z has A_{1->k-1}(z) in
    {-1, +1}: the index set of (34) is empty, while ||g_k||_Lip > 0."""
    net = ReLUNet(ADVERSARIAL_NET, init="he", seed=claim.seed_for("net"))
    base = [w.cpu().numpy() for w in net.weights]
    rng = np.random.default_rng(claim.seed_for("W_k"))
    names, backprop, exact = [], [], []
    for name, last in _adversarial_last_layers(rng, base[ADVERSARIAL_K - 1].shape).items():
        weights = [*base[:ADVERSARIAL_K - 1], last]
        pieces = exact_lipschitz_constant_2d(weights, ADVERSARIAL_K)
        secants, _ = _secant_jacobians(weights, ADVERSARIAL_K, pieces)
        names.append(name)
        backprop.append(pieces.constant)
        exact.append(np.linalg.norm(secants, ord=2, axis=(1, 2)).max())
    scale = max(max(exact), 1e-300)
    claim.record(checks.identity(np.array(backprop), np.array(exact), rtol=RTOL_EXACT, atol=RTOL_EXACT * 1e-6 * scale,
                                 name="(34) for W_k = " + ", ".join(f"{n} ({b:.3g})" for n, b in zip(names, backprop)),
                                 reason="the same linear maps two ways; rounding (W_k = 0: both 0)"))
    null = [w.copy() for w in base[:ADVERSARIAL_K]]
    null[0][:, 0] = 0.0
    z = rng.standard_normal((NULL_SAMPLES, 2))
    first = feature_map(null, 1, z)
    in_index_set = int(np.count_nonzero(np.all(first != 0.0, axis=1)))
    lipschitz = exact_lipschitz_constant_2d(null, ADVERSARIAL_K).constant
    claim.record(checks.identity(np.array([in_index_set, float(lipschitz > 0)]), np.array([0.0, 1.0]), rtol=0.0,
                                 name=f"null set: W_1 with a zero column: {in_index_set} of {NULL_SAMPLES} z have "
                                      f"A_(1->1)(z) in {{-1, +1}}^n_1, while ||g_k||_Lip = {lipschitz:.3g} > 0",
                                 reason="an exact instance (g_(1,1) = 0 identically)"))


NULL_SAMPLES = 10_000
PRINTED_NET = (6, 6, 6, 6, 1)  # equal widths, d included: the reversed product (negative control) is conformable
PRINTED_POINTS = 64


def _printed_35(weights, k, z):
    """(35) literally, left to right: W_k^T Sigma_{k-1}(z) W_{k-1}^T Sigma_{k-2}(z) ... Sigma_1(z) W_1^T (l = 1, 2, ...
    of prod_{l=1}^{k-1} Sigma_{k-l} W_{k-l}^T), for one z."""
    sigmas = [np.diag((feature_map(weights, l, z[None, :])[0] > 0).astype(float)) for l in range(1, k)]
    product = weights[k - 1].T
    for l in range(1, k):
        product = product @ sigmas[k - l - 1] @ weights[k - l - 1].T
    return product, sigmas


def test_35_as_printed_and_the_pattern_count(claim):
    """(35) in the printed order against the engine's right-to-left evaluation (row 6.10); the reversed order is
    rejected (negative control); J(g_k)(z) = J(g_k)(z') as matrices for z, z' in one cone (row 6.11); the number of
    distinct Jacobians is at most the number of activation patterns (row 6.12)."""
    net = ReLUNet(PRINTED_NET, init="he", seed=claim.seed_for("printed net"))
    weights = [w.cpu().numpy() for w in net.weights]
    k = len(PRINTED_NET) - 2
    z = np.random.default_rng(claim.seed_for("z")).standard_normal((PRINTED_POINTS, PRINTED_NET[0]))
    printed, reversed_, engine = [], [], feature_map_jacobian(weights, k, z)
    for point in z:
        product, sigmas = _printed_35(weights, k, point)
        printed.append(product)
        wrong = weights[k - 1].T
        for l in range(k - 1, 0, -1):  # Sigma_1 W_1^T first: the order reversed
            wrong = wrong @ sigmas[k - l - 1] @ weights[k - l - 1].T
        reversed_.append(wrong)
    claim.record(checks.identity(np.array(printed), engine, rtol=1e-12, atol=1e-12 * np.abs(engine).max(),
                                 name=f"(35) evaluated left to right as printed = back-propagation, {PRINTED_POINTS} z",
                                 reason="the same products in another order of evaluation; rounding"))
    control = checks.identity(np.array(reversed_), engine, rtol=1e-12, atol=1e-12 * np.abs(engine).max(),
                              name="negative control", reason="the product in reversed order")
    assert control.verdict is Verdict.FAIL, control.message
    same, other, patterns, jacobians = [], [], 0, 0
    for net2 in _nets(claim):
        for kk in range(2, net2.depth + 1):
            pieces = exact_lipschitz_constant_2d(net2, kk)
            lo = pieces.angles
            hi = np.append(lo[1:], lo[0] + 2 * np.pi)
            a, b = (lo + f * (hi - lo) for f in (0.25, 0.75))
            za, zb = (np.stack([np.cos(t), np.sin(t)], axis=1) for t in (a, b))
            ja, jb = feature_map_jacobian(net2, kk, za), feature_map_jacobian(net2, kk, zb)
            same.append(ja)
            other.append(jb)
            signs = np.concatenate([feature_map(net2, l, za) > 0 for l in range(1, kk)], axis=1)
            patterns += len({row.tobytes() for row in signs})
            scale = np.abs(ja).max()
            jacobians += len({np.round(j / scale, 9).tobytes() for j in ja})
    same, other = np.concatenate([x.reshape(-1) for x in same]), np.concatenate([x.reshape(-1) for x in other])
    claim.record(checks.identity(other, same, rtol=1e-12, atol=1e-12 * np.abs(same).max(),
                                 name="J(g_k)(z) = J(g_k)(z') as matrices for z, z' in one enumerated cone",
                                 reason="(35) depends on z only through A_(1->k-1)(z); rounding"))
    claim.record(checks.inequality(np.array([patterns]), np.array([jacobians]),
                                   name=f"distinct (35) matrices ({jacobians}) <= distinct activation patterns "
                                        f"({patterns}) over the enumerated cones",
                                   reason="one matrix per pattern (row 6.12)"))
