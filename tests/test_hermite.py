"""Tests of ntkcheck.hermite: eq. (8) against quadrature, Parseval, and the arc-cosine kernel of (10)."""
import math

import numpy as np
import pytest

from ntkcheck import InvalidArgument
from ntkcheck.hermite import relu_hermite_coefficient
from ntkcheck.limiting import arccos_step

EVEN_ORDERS = tuple(range(2, 31, 2))
ODD_ORDERS = tuple(range(3, 31, 2))
# Quadrature agrees with (8) to <= 3.2e-13 relative for r <= 40 (measured); 1e-10 leaves room for
# the cancellation of the oscillating integrand growing with r, while any error in (8) is O(1).
RTOL_QUADRATURE = 1e-10
# An odd coefficient is an integral of size 0 of an integrand of size O(1): rounding only.
ATOL_ODD = 1e-14
# By (8) and Wallis, mu_r^2 ~ SQUARE_CONSTANT r^(-5/2) for even r, so the Parseval tail
# 1/2 - sum_{r <= R} mu_r^2 (sum_r mu_r^2 = E[sigma(g)^2] = 1/2) is ~ (SQUARE_CONSTANT / 3) R^(-3/2).
PARSEVAL_ORDERS = (10, 40, 160, 640)
SQUARE_CONSTANT = math.sqrt(2.0 / math.pi) / (2.0 * math.pi)
TAIL_CONSTANT = SQUARE_CONSTANT / 3.0
LARGE_ORDER = 400
RTOL_TAIL = 0.05  # both laws are asymptotic with relative error O(1/R): 0.6% at R = 160
# Correlations for the series 2 sum_r mu_r^2 rho^r = arc-cosine kernel of degree 1 (unit variances).
CORRELATIONS = (-0.6, -0.2, 0.0, 0.3, 0.6)
SERIES_ORDER = 120  # 0.6^120 < 1e-26: the truncation is far below rounding
ATOL_SERIES = 1e-14  # rounding of ~60 positive terms of size <= 1/2


def test_low_orders_are_the_standard_values():
    assert relu_hermite_coefficient(0) == 1.0 / math.sqrt(2.0 * math.pi)
    assert relu_hermite_coefficient(1) == 0.5
    assert relu_hermite_coefficient(2) == pytest.approx(1.0 / (math.sqrt(2.0 * math.pi) * math.sqrt(2.0)),
                                                        rel=1e-15)  # (-1)!! = 1, one rounding
    assert relu_hermite_coefficient(4) == pytest.approx(-1.0 / (math.sqrt(2.0 * math.pi) * math.sqrt(24.0)),
                                                        rel=1e-15)  # E[relu(g) He_4(g)] = (8 - 12 + 3) phi(0)


@pytest.mark.parametrize("r", (0, 1) + EVEN_ORDERS)
def test_formula_8_matches_quadrature(r):
    formula = relu_hermite_coefficient(r)
    quadrature = relu_hermite_coefficient(r, method="quadrature")
    assert abs(formula - quadrature) <= RTOL_QUADRATURE * abs(formula), (
        f"r={r}: eq. (8) gives {formula!r}, quadrature {quadrature!r}")


@pytest.mark.parametrize("r", ODD_ORDERS)
def test_odd_orders_vanish(r):
    assert relu_hermite_coefficient(r) == 0.0
    assert abs(relu_hermite_coefficient(r, method="quadrature")) <= ATOL_ODD


def test_signs_alternate_as_in_formula_8():
    signs = [math.copysign(1.0, relu_hermite_coefficient(r, method="quadrature")) for r in EVEN_ORDERS]
    assert signs == [(-1.0) ** ((r - 2) // 2) for r in EVEN_ORDERS]


def test_large_orders_do_not_overflow():
    value = relu_hermite_coefficient(LARGE_ORDER)
    assert math.isfinite(value) and value != 0.0
    assert value ** 2 == pytest.approx(SQUARE_CONSTANT * LARGE_ORDER ** -2.5, rel=RTOL_TAIL)


def test_parseval_partial_sums_approach_one_half():
    gaps = []
    for order in PARSEVAL_ORDERS:
        partial = math.fsum(relu_hermite_coefficient(r) ** 2 for r in range(order + 1))
        gaps.append(0.5 - partial)
    assert all(gap > 0 for gap in gaps), f"partial sums exceed E[sigma(g)^2] = 1/2: gaps {gaps}"
    assert gaps == sorted(gaps, reverse=True)
    for order, gap in zip(PARSEVAL_ORDERS[1:], gaps[1:]):
        assert gap * order ** 1.5 == pytest.approx(TAIL_CONSTANT, rel=RTOL_TAIL), f"R={order}: gap {gap:.4g}"


def test_parseval_check_rejects_a_wrong_normalization():
    """Negative control: the unnormalized basis He_r (mu_r sqrt(r!)) breaks Parseval by far."""
    wrong = math.fsum((relu_hermite_coefficient(r) * math.sqrt(math.factorial(r))) ** 2 for r in range(11))
    assert abs(wrong - 0.5) > 0.1


@pytest.mark.parametrize("rho", CORRELATIONS)
def test_hermite_series_reproduces_the_arccos_kernel_of_eq_10(rho):
    """Mehler: 2 E[sigma(u) sigma(v)] = 2 sum_r mu_r^2 rho^r for unit variances, correlation rho."""
    series = 2.0 * math.fsum(relu_hermite_coefficient(r) ** 2 * rho ** r for r in range(SERIES_ORDER + 1))
    g_next, _ = arccos_step(np.array([[1.0, rho], [rho, 1.0]]))
    assert abs(series - g_next[0, 1]) <= ATOL_SERIES, f"series {series!r}, closed form {g_next[0, 1]!r}"


@pytest.mark.parametrize("r, method, name", [
    (-1, "formula", "r"),
    (2.0, "formula", "r"),
    (2.5, "formula", "r"),
    ("2", "formula", "r"),
    (True, "formula", "r"),
    (2, "series", "method"),
])
def test_bad_input_names_the_argument(r, method, name):
    with pytest.raises(InvalidArgument, match=rf"^{name} "):
        relu_hermite_coefficient(r, method=method)
