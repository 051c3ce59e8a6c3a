"""sample_data: shapes, seeds, the moments of Assumption 2.1, its normalizing constants, and bad input."""
import numpy as np
import pytest
from scipy import integrate

from ntkcheck import InvalidArgument, data
from ntkcheck.data import DISTRIBUTIONS, sample_data

N_MOMENT, D_MOMENT = 4000, 25
# Standard error of the mean of ||x||^2 is at most sqrt(Var ||x||^2 / N) <= sqrt(2 d * 1.5 / N) ~ 0.14 for these laws;
# 0.05 d = 1.25 is ~9 standard errors, so a correct sampler never fails and a wrong scale (e.g. variance 2) always does.
SECOND_MOMENT_RTOL = 0.05


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_shape_dtype_and_seed(distribution):
    x = sample_data(distribution, n=7, d=3, seed=5)
    assert x.shape == (7, 3) and x.dtype == np.float64
    np.testing.assert_array_equal(x, sample_data(distribution, n=7, d=3, seed=5))
    assert not np.array_equal(x, sample_data(distribution, n=7, d=3, seed=6))


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_assumption_2_1_scaling(distribution):
    x = sample_data(distribution, n=N_MOMENT, d=D_MOMENT, seed=11)
    second = np.mean(np.sum(x ** 2, axis=1))
    assert abs(second / D_MOMENT - 1) < SECOND_MOMENT_RTOL, f"E||x||^2 / d = {second / D_MOMENT:.4f}"
    centred = np.mean(np.sum((x - x.mean(axis=0)) ** 2, axis=1))
    assert centred > 0.9 * D_MOMENT, "zero-mean laws: the centred moment equals the raw one"


def test_normalizing_constants_against_quadrature():
    """The constants that make E||x||^2 = d: E[tanh(g)^2] of the "gan" law and the cube's half-width, to 1e-13."""
    def gaussian_mean(f):  # adaptive quadrature on [0, 40] of an even integrand (the tail beyond is < 1e-300)
        return 2 * integrate.quad(lambda g: f(g) * np.exp(-g * g / 2) / np.sqrt(2 * np.pi), 0, 40,
                                  epsabs=1e-16, epsrel=1e-13, limit=200)[0]

    assert data._TANH_SECOND_MOMENT == pytest.approx(gaussian_mean(lambda g: np.tanh(g) ** 2), rel=1e-13)
    a = data._CUBE_HALF_WIDTH
    assert integrate.quad(lambda x: x * x / (2 * a), -a, a)[0] == pytest.approx(1.0, rel=1e-13)
    assert gaussian_mean(lambda g: g * g) == pytest.approx(1.0, rel=1e-13)  # the quadrature itself, on E g^2


def test_sphere_and_hypercube_are_exact():
    np.testing.assert_allclose(np.linalg.norm(sample_data("sphere", 50, 9, seed=1), axis=1), 3.0, rtol=1e-14)
    assert set(np.unique(sample_data("hypercube", 50, 9, seed=1))) == {-1.0, 1.0}


def test_mean_shift():
    base = sample_data("gaussian", 20, 4, seed=3)
    np.testing.assert_allclose(sample_data("gaussian", 20, 4, seed=3, mean=2.0), base + 2.0)
    np.testing.assert_allclose(sample_data("gaussian", 20, 4, seed=3, mean=[1, 2, 3, 4]), base + [1, 2, 3, 4])


@pytest.mark.parametrize("kwargs, argument", [
    (dict(distribution="laplace", n=3, d=2), "distribution"),
    (dict(distribution="gaussian", n=0, d=2), "n"),
    (dict(distribution="gaussian", n=3, d=-1), "d"),
    (dict(distribution="gaussian", n=3, d=2.5), "d"),
    (dict(distribution="gaussian", n=3, d=2, seed=-1), "seed"),
    (dict(distribution="gaussian", n=3, d=2, mean=[1, 2, 3]), "mean"),
    (dict(distribution="gaussian", n=3, d=2, mean=np.nan), "mean"),
])
def test_bad_input_names_the_argument(kwargs, argument):
    with pytest.raises(InvalidArgument, match=argument):
        sample_data(**kwargs)
