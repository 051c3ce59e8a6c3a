"""Sanity identities of Section 4 that cannot fail by construction (kept out of the claim checks, issue 14).

* (25)'s inequality lambda_min(J J^T) <= (J J^T)_ii: a Rayleigh quotient on e_i, true of every symmetric matrix.
  Checked here on the NTK of small nets so that a broken eigenvalue solver or a non-symmetric Kbar shows.
* ``checks.mean_value`` (added with the Lemma 4.3 / (26) derived-mean checks) against a hand computation, at the
  edges of its verdict rule.
"""
import numpy as np
import pytest
import scipy.stats as sps

import ntkcheck as nc
from ntkcheck import checks
from ntkcheck.records import Verdict


@pytest.mark.parametrize("widths", [(8, 96, 1), (6, 64, 10, 1), (10, 12, 80, 8, 1)])
def test_rayleigh_quotient_bound_of_eq25(widths):
    X = nc.sample_data("gaussian", n=24, d=widths[0], seed=3)
    kbar = nc.empirical_ntk(nc.ReLUNet(widths, seed=4), X)
    assert nc.lambda_min(kbar) <= np.diag(kbar).min() * (1 + 1e-12)


def test_mean_value_interval_against_scipy():
    samples = np.array([0.9, 1.1, 1.0, 1.3, 0.7, 1.05])
    rec = checks.mean_value(samples, expected=1.0, rtol=0.5, name="m", reason="r", alpha=0.01)
    mean, se = samples.mean(), samples.std(ddof=1) / np.sqrt(6)
    half = sps.t.ppf(0.995, 5) * se
    assert rec.numbers["lower"] == pytest.approx(mean - half, rel=1e-14)
    assert rec.numbers["upper"] == pytest.approx(mean + half, rel=1e-14)
    assert rec.numbers["power"]["relative_error"] == pytest.approx(0.5 + 2 * half, rel=1e-14)
    assert rec.verdict is Verdict.PASS


def test_mean_value_verdict_edges():
    samples = np.array([0.0, 2.0])  # mean 1, half-width t_{0.995,1} * 1 = 63.66
    half = sps.t.ppf(0.995, 1)
    inside = checks.mean_value(samples, expected=1.0, rtol=half * (1 + 1e-9), name="m", reason="r")
    edge = checks.mean_value(samples, expected=1.0, rtol=half * (1 - 1e-9), name="m", reason="r")
    far = checks.mean_value(samples + 200.0, expected=1.0, rtol=0.1, name="m", reason="r")
    assert (inside.verdict, edge.verdict, far.verdict) == (Verdict.PASS, Verdict.INCONCLUSIVE, Verdict.FAIL)
    with pytest.raises(nc.InvalidArgument, match="samples"):
        checks.mean_value([1.0], expected=1.0, rtol=0.1, name="m", reason="r")
    with pytest.raises(nc.InvalidArgument, match="expected"):
        checks.mean_value([1.0, 2.0], expected=0.0, rtol=0.1, name="m", reason="r")
