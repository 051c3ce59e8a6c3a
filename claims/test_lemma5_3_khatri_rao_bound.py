"""Lemma 5.3: for any integer r > 0,
lambda_min(E_{w ~ N(0, beta_{k+1}^2 I)}[sigma(F_k w) sigma(F_k w)^T])
    >= beta_{k+1}^2 mu_r(sigma)^2 lambda_min((F_k^{*r})(F_k^{*r})^T) / max_i ||(F_k)_{i:}||^{2(r-1)}.

What is checked, for r = 1..4 (mu_3 = 0 makes r = 3 trivial; it is kept as printed), on F_0 = X and on the features
F_1, F_2 of He nets:
  * the left side two ways: the closed form (beta^2 / 2) arccos_step(F F^T), and the Hermite series
    beta^2 sum_{r' <= R} mu_{r'}^2 (F F^T)^{o r'} / (||f_i|| ||f_j||)^{r'-1} with mu from eq. (8); the truncation error
    is at most beta^2 ||f_i|| ||f_j|| (1/2 - sum_{r' <= R} mu_{r'}^2) entrywise (Parseval: sum mu^2 = E sigma^2 = 1/2);
  * the inequality itself, for every r and matrix, with (F^{*r})(F^{*r})^T = (F F^T)^{o r} (khatri_rao_gram);
  * negative control: without the normalisation max_i ||f_i||^{2(r-1)} the bound fails for r = 2.
Regime: Gaussian data, N = 48, d in {16, 96} (below and above N: for d < N, F_0^{*1} has rank d < N and the r = 1 bound
is 0; (XX^T)^{o 2} has rank d(d+1)/2 > N), hidden widths 64 and 128. The bound is deterministic given F_k: every
matrix must satisfy it.
"""
import math

import numpy as np
import pytest
from ._sec5_features import expected_gram

import ntkcheck as nc
from ntkcheck import checks
from ntkcheck.records import Verdict

pytestmark = pytest.mark.claim("Lemma 5.3")

N = 48
CASES = (  # (d, widths of the hidden layers before F_k) -> F_k = X, F_1 or F_2
    (16, ()), (96, ()), (16, (64,)), (96, (128,)), (16, (64, 128)),
)
TRIALS = {"smoke": 2, "full": 8}  # data and weight draws per case
RS = (1, 2, 3, 4)
SERIES_TERMS = 400  # Hermite series truncation R: the tail 1/2 - sum mu^2 ~ R^{-3/2} ~ 1e-4
RTOL = 1e-9  # the bound compares eigenvalues of well-scaled N x N matrices: rounding ~1e-13 relative


def _feature_matrices(claim):
    for case, (d, hidden) in enumerate(CASES):
        for trial in range(claim.pick(TRIALS)):
            X = nc.sample_data("gaussian", N, d, seed=claim.seed_for("data", case, trial))
            net = nc.ReLUNet((d, *hidden, 1), init="he", seed=claim.seed_for("net", case, trial))
            F = net.features(X)[len(hidden)]
            yield F, math.sqrt(2.0 / F.shape[1])  # He: beta_{k+1}^2 = 2 / n_k


def _right_side(F, beta, r, normalise=True):
    norms = np.sum(F * F, axis=1)
    denominator = np.max(norms) ** (r - 1) if normalise else 1.0
    return beta ** 2 * nc.relu_hermite_coefficient(r) ** 2 * nc.lambda_min(nc.khatri_rao_gram(F, r)) / denominator


def test_expected_gram_closed_form_matches_the_hermite_series(claim):
    """The left side of Lemma 5.3 two ways: arc-cosine closed form and the Hermite series with mu_r of (8)."""
    mu2 = np.array([nc.relu_hermite_coefficient(r) ** 2 for r in range(SERIES_TERMS + 1)])
    tail = 0.5 - mu2.sum()
    errors, bounds = [], []
    for F, beta in _feature_matrices(claim):
        norms = np.sqrt(np.sum(F * F, axis=1))
        outer = np.multiply.outer(norms, norms)
        cosine = np.clip(F @ F.T / outer, -1.0, 1.0)
        series = beta ** 2 * outer * np.polynomial.polynomial.polyval(cosine, mu2)
        errors.append(np.abs(series - expected_gram(F, beta)).ravel())
        bounds.append((beta ** 2 * outer * tail * (1 + RTOL) + RTOL * np.abs(series)).ravel())
    claim.record(checks.inequality(np.concatenate(bounds), np.concatenate(errors),
                                   name=f"arccos closed form = Hermite series (R = {SERIES_TERMS}, tail {tail:.2g})",
                                   reason="the truncation bound plus rounding"))


@pytest.mark.parametrize("r", RS)
def test_khatri_rao_lower_bound(claim, r):
    """Lemma 5.3 for one r, on every feature matrix; r = 2 also with the normalisation dropped (negative control)."""
    lhs, rhs, unnormalised = [], [], []
    for F, beta in _feature_matrices(claim):
        lhs.append(nc.lambda_min(expected_gram(F, beta)))
        rhs.append(_right_side(F, beta, r))
        unnormalised.append(_right_side(F, beta, r, normalise=False))
    lhs, rhs = np.array(lhs), np.array(rhs)
    positive = rhs > 0  # rhs = 0 where mu_r = 0 (odd r >= 3) or F^{*r} has rank < N
    tightness = f"min lhs/rhs {np.min(lhs[positive] / rhs[positive]):.3g}" if positive.any() else "rhs = 0"
    claim.record(checks.inequality(lhs, rhs, rtol=RTOL,
                                   name=f"r={r}: lambda_min(E) >= beta^2 mu_r^2 lambda_min((F F^T)^(o r)) / "
                                        f"max||f_i||^(2(r-1)) ({tightness})",
                                   reason="rounding of two eigenvalue computations"))
    if r == 2:
        control = checks.inequality(lhs, np.array(unnormalised), rtol=RTOL, name="control: no normalisation",
                                    reason="negative control")
        assert control.verdict is Verdict.FAIL, control.message
