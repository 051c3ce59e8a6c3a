"""Eq. (5): for the square loss Phi(theta) = 1/2 ||F_L - Y||_2^2, "a simple calculation shows that"
||grad Phi(theta)||_2^2 >= lambda_min(Kbar^(L)) 2 Phi(theta).

The calculation: grad Phi = J^T r with r = F_L - Y, so ||grad Phi||^2 = r^T J J^T r >= lambda_min(J J^T) ||r||^2
(Rayleigh quotient), and ||r||^2 = 2 Phi. The bound is exact for every theta, X and Y, so it is checked as an
inequality on random nets (depth 1-4, every init, widths below and above N so that Kbar is sometimes singular),
random inputs of every distribution and random labels. The two sides are computed independently: the gradient by
torch autograd of Phi through an eq. (1) forward pass written here (it never sees the NTK), lambda_min from the
structured Kbar of Section 4.1 (ntkcheck.empirical_ntk). The bound is attained when r is a bottom eigenvector of
Kbar: those near-tight instances are included, and the equality there is checked, so that a violation of relative
size CONTROL_EXCESS would show (negative control).

Tolerances: ROUNDING is derived from float64 rounding (no seed chose it). An inequality at coverage 1 has no
interval to tighten: its power is the violation rate detected, 1 - (alpha/2)^(1/n); the paper profile's 1600 + 1600
instances detect a rate of 0.0017 (full: 0.0066, smoke: 0.064), 4x below full.
"""
import numpy as np
import pytest
import torch

import ntkcheck as nc
from ntkcheck import checks
from ntkcheck.network import INITS
from ntkcheck.records import Verdict

pytestmark = pytest.mark.claim("Eq. (5)")

# random (net, X, Y) triples; as many again with r along the bottom eigenvector
INSTANCES = {"smoke": 40, "full": 400, "paper": 1600}
DEPTHS = (1, 2, 3, 4)
MAX_WIDTH = 24  # widths 1..24 and N 1..24: P below and above N, so singular and regular Kbar both occur
MAX_DIM = 12
# Both sides are divided by ||Kbar||_2 ||r||^2; in those units float64 rounding of the N-term Gram products and of
# the eigensolver is ~N eps < 1e-13, so ROUNDING allows rounding only, 100x over.
ROUNDING = 1e-11
CONTROL_EXCESS = 1e-6  # the negative control inflates the right side of (5) by this relative amount


def _autograd_gradient_sq_norm(net, X, Y):
    """||grad_theta Phi||^2 by torch autograd of Phi = 1/2 ||F_L - Y||^2, F_L from eq. (1) (sigma'(0) = 0, as
    torch.relu's derivative at 0)."""
    weights = [w.detach().clone().requires_grad_(True) for w in net.weights]
    h = torch.from_numpy(X)
    for layer, w in enumerate(weights, start=1):
        h = h @ w if layer == len(weights) else torch.relu(h @ w)
    phi = 0.5 * torch.sum((h[:, 0] - torch.from_numpy(Y)) ** 2)
    return float(sum(torch.sum(g ** 2) for g in torch.autograd.grad(phi, weights))), h[:, 0].detach().numpy()


def _instance(seed):
    """A random net, inputs X and labels Y; returns (net, X, Y)."""
    rng = np.random.default_rng(seed)
    depth = int(rng.choice(DEPTHS))
    n, d = int(rng.integers(1, MAX_WIDTH + 1)), int(rng.integers(1, MAX_DIM + 1))
    widths = (d,) + tuple(int(w) for w in rng.integers(1, MAX_WIDTH + 1, size=depth - 1)) + (1,)
    net = nc.ReLUNet(widths, init=str(rng.choice(INITS)), seed=int(rng.integers(2 ** 62)))
    X = nc.sample_data(str(rng.choice(nc.DISTRIBUTIONS)), n=n, d=d, seed=int(rng.integers(2 ** 62)))
    return net, X, rng.standard_normal(n) * rng.uniform(0.1, 10.0)


def _both_sides(net, X, Y):
    """Both sides of (5) and the output F_L, in units of ||Kbar||_2 ||r||^2 (r = F_L - Y)."""
    kbar = nc.empirical_ntk(net, X)
    grad_sq, outputs = _autograd_gradient_sq_norm(net, X, Y)
    two_phi = float(np.sum((outputs - Y) ** 2))
    scale = max(float(np.linalg.norm(kbar, 2)), np.finfo(float).tiny) * two_phi
    return grad_sq / scale, nc.lambda_min(kbar) * two_phi / scale, kbar, outputs


def test_gradient_norm_bounded_below_by_lambda_min_times_loss(claim):
    """(5) on random and on near-tight instances (r along the bottom eigenvector of Kbar, where (5) is equality)."""
    lhs, rhs, tight_lhs, tight_rhs, autograd_outputs, engine_outputs = [], [], [], [], [], []
    for i in range(claim.pick(INSTANCES)):
        net, X, Y = _instance(claim.seed_for("instance", i))
        left, right, kbar, outputs = _both_sides(net, X, Y)
        lhs.append(left), rhs.append(right)
        autograd_outputs.append(outputs), engine_outputs.append(net.outputs(X))
        bottom = np.linalg.eigh(kbar)[1][:, 0]
        left, right, _, _ = _both_sides(net, X, outputs - bottom * np.abs(Y).mean())
        tight_lhs.append(left), tight_rhs.append(right)
    claim.record(checks.identity(np.concatenate(autograd_outputs), np.concatenate(engine_outputs), rtol=1e-12,
                                 name="the autograd forward pass equals ReLUNet.outputs (eq. (1))",
                                 reason="the same products in the same order; 1e-12 allows BLAS reordering"))
    claim.record(checks.inequality(np.array(lhs + tight_lhs), np.array(rhs + tight_rhs), atol=ROUNDING,
                                   name="(5): ||grad Phi||^2 >= lambda_min(Kbar) 2 Phi (random and near-tight r)",
                                   reason="units of ||Kbar||_2 ||r||^2: float64 rounding only, see ROUNDING"))
    claim.record(checks.identity(np.array(tight_lhs), np.array(tight_rhs), rtol=0.0, atol=ROUNDING,
                                 name="(5) is attained when r is a bottom eigenvector of Kbar",
                                 reason="units of ||Kbar||_2 ||r||^2: float64 rounding only, see ROUNDING"))
    control = checks.inequality(np.array(tight_lhs), np.array(tight_rhs) * (1 + CONTROL_EXCESS), atol=ROUNDING,
                                name="negative control: (5) with its right side inflated", reason="control")
    assert control.verdict is Verdict.FAIL, (
        f"negative control: the check did not detect a violation of relative size {CONTROL_EXCESS}: "
        f"{control.message}")
