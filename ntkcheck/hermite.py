"""Hermite coefficients of the ReLU, eq. (8), by the printed formula and by quadrature.

The basis is the normalized probabilists' one, h_r = He_r / sqrt(r!), orthonormal in
L^2(N(0, 1)), so that mu_r(sigma) = E_{g ~ N(0,1)}[sigma(g) h_r(g)] and, by Parseval,
sum_r mu_r^2 = E[sigma(g)^2] = 1/2.
"""
from __future__ import annotations

import math

import numpy as np

from ntkcheck._validate import as_choice, as_int

METHODS = ("formula", "quadrature")

# Composite Gauss-Legendre on [0, x_max]: the integrand sigma(x) h_r(x) phi(x) is analytic on
# [0, inf) (the kink of sigma sits at the endpoint), so a fixed rule converges exponentially.
# One unit-width panel spans at most ~sqrt(r)/(2 pi) + 1 oscillations of h_r for the r used
# here (r <= a few hundred), which 48 nodes resolve to rounding.
_NODES_PER_PANEL = 48
# Beyond the turning point sqrt(4r + 2) of h_r, h_r(x) phi(x) decays like x^r phi(x) / sqrt(r!):
# 12 more units bring it below e^-60 relative to its bulk for every r.
_TAIL_WIDTH = 12.0


def relu_hermite_coefficient(r, method: str = "formula") -> float:
    """mu_r(sigma), the r-th normalized Hermite coefficient of the ReLU sigma(x) = max(x, 0).

    ``method="formula"`` evaluates eq. (8) exactly as printed for even r >= 2,
    mu_r = (1/sqrt(2 pi)) (-1)^((r-2)/2) (r-3)!! / sqrt(r!), with (-1)!! = 1, and the standard
    values mu_0 = 1/sqrt(2 pi), mu_1 = 1/2, mu_r = 0 for odd r >= 3 (not printed in the paper).
    The ratio (r-3)!!^2 / r! is formed from exact Python integers and rounded once, so any r
    works without overflow. Cost O(r) big-integer multiplications.

    ``method="quadrature"`` is an independent computation: int_0^inf x h_r(x) phi(x) dx by
    composite Gauss-Legendre, with h_r(x) phi(x) evaluated by the three-term recurrence
    h_{k+1} = (x h_k - sqrt(k) h_{k-1}) / sqrt(k+1) started from phi(x) and x phi(x); carrying
    the Gaussian weight through the recurrence keeps every term bounded (no overflow of He_r
    at large x, no cancellation between huge terms). Cost O(r * sqrt(r)) floating-point
    operations.

    Parameters: r, an int >= 0; method, "formula" or "quadrature". Returns a float.
    """
    r = as_int(r, "r", minimum=0)
    method = as_choice(method, "method", METHODS)
    if method == "formula":
        return _formula(r)
    return _quadrature(r)


def _formula(r: int) -> float:
    if r == 0:
        return 1.0 / math.sqrt(2.0 * math.pi)
    if r == 1:
        return 0.5
    if r % 2 == 1:
        return 0.0
    double_factorial = math.prod(range(r - 3, 0, -2))  # (r-3)!!, the empty product 1 for r = 2
    sign = -1.0 if (r - 2) // 2 % 2 else 1.0
    # int / int true division is correctly rounded in Python, whatever the size of the integers.
    return sign * math.sqrt(double_factorial * double_factorial / math.factorial(r)) / math.sqrt(2.0 * math.pi)


def _quadrature(r: int) -> float:
    x_max = math.sqrt(4.0 * r + 2.0) + _TAIL_WIDTH
    panels = math.ceil(x_max)
    unit_nodes, unit_weights = np.polynomial.legendre.leggauss(_NODES_PER_PANEL)
    width = x_max / panels
    left = width * np.arange(panels)[:, None]
    x = (left + width * (unit_nodes + 1.0) / 2.0).ravel()
    weights = np.tile(unit_weights * width / 2.0, panels)
    previous = np.zeros_like(x)
    current = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)  # h_0(x) phi(x)
    for k in range(r):
        previous, current = current, (x * current - math.sqrt(k) * previous) / math.sqrt(k + 1.0)
    return float(np.dot(weights, x * current))
