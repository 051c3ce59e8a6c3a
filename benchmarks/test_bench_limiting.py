"""Limiting NTK K^(L) of (9)-(10): the engine's closed form against (a) a straightforward numpy transcription of
(9)-(10) and (b) the Monte Carlo estimate of Lemma 3.1 (11)-(12) with enough samples for a stated accuracy."""
import math

import numpy as np
import pytest

import ntkcheck as nc
from ratios import grid, measure

NAIVE_CASES = grid([(2048, 3)], [(4096, 3), (4096, 10)])  # (N, depth)
MC_POINTS = 256  # Monte Carlo pays an O(N^3) square root and O(samples N^2) products per level
DEPTHS = grid([2, 5, 10], [3, 4, 6, 7, 8, 9])
# The accuracy at which the two are compared: relative Frobenius error of K^(L). The closed form is exact to
# rounding (~1e-15), so this is the accuracy Monte Carlo must reach to stand in for it.
MC_TARGET = 3e-2
PILOT_SAMPLES = 1000
# The engine and the transcription evaluate the same formulas; the transcription's arccos loses ~sqrt(eps) near
# c = 1 (the diagonal), which bounds the agreement.
NAIVE_RTOL = 1e-6


def naive_limiting_ntk(X, depth):
    """(9)-(10) and (12) transcribed as printed, one numpy expression per formula."""
    g = X @ X.T
    kernel = g
    for _ in range(depth - 1):
        norms = np.sqrt(np.diag(g))
        theta = np.arccos(np.clip(g / np.outer(norms, norms), -1.0, 1.0))
        g_dot = (np.pi - theta) / np.pi
        g = np.outer(norms, norms) * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi
        kernel = kernel * g_dot + g
    return kernel


def relative_error(estimate, exact):
    return float(np.linalg.norm(estimate - exact) / np.linalg.norm(exact))


@pytest.mark.parametrize("implementation", ["closed_form", "naive_numpy"])
@pytest.mark.parametrize("n, depth", NAIVE_CASES)
def test_closed_form_against_a_plain_transcription(benchmark, n, depth, implementation):
    X = nc.sample_data("sphere", n=n, d=100, seed=0)
    function = {"closed_form": lambda: nc.limiting_ntk(X, depth), "naive_numpy": lambda: naive_limiting_ntk(X, depth)}
    K = measure(benchmark, function[implementation], group="limiting", case=f"N{n}-L{depth}",
                implementation=implementation)
    assert relative_error(K, nc.limiting_ntk(X, depth)) <= NAIVE_RTOL
    # The diagonal is exact: Gdot_ii = 1 and G_ii = ||x_i||^2 at every level, so K_ii is ||x_i||^2 added L times.
    squared_norms = np.diag(X @ X.T)
    exact_diagonal = squared_norms.copy()
    for _ in range(depth - 1):
        exact_diagonal += squared_norms
    benchmark.extra_info["diagonal_error"] = float(np.max(np.abs(np.diag(K) - exact_diagonal)))
    if implementation == "closed_form":
        assert np.array_equal(np.diag(K), exact_diagonal)


@pytest.mark.parametrize("implementation", ["closed_form", "monte_carlo"])
@pytest.mark.parametrize("depth", DEPTHS)
def test_closed_form_against_monte_carlo_at_equal_accuracy(benchmark, depth, implementation):
    X = nc.sample_data("sphere", n=MC_POINTS, d=100, seed=0)
    exact = nc.limiting_ntk(X, depth)
    notes = {}
    if implementation == "monte_carlo":  # error ~ 1/sqrt(samples): scale a pilot run's error to the target
        pilot = relative_error(nc.limiting_ntk(X, depth, "monte_carlo", samples=PILOT_SAMPLES, seed=1), exact)
        samples = math.ceil(PILOT_SAMPLES * (pilot / MC_TARGET) ** 2)
        function = lambda: nc.limiting_ntk(X, depth, "monte_carlo", samples=samples, seed=0)  # noqa: E731
        notes["samples"] = samples
    else:
        function = lambda: nc.limiting_ntk(X, depth)  # noqa: E731
    K = measure(benchmark, function, group="limiting", case=f"N{MC_POINTS}-L{depth}-rtol{MC_TARGET:g}",
                implementation=implementation, rounds=2 if implementation == "monte_carlo" else 5, **notes)
    notes["error"] = relative_error(K, exact)
    benchmark.extra_info["error"] = notes["error"]
    assert notes["error"] <= 2 * MC_TARGET  # the pilot's estimate of the error is itself random
