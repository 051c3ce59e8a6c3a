"""Data distributions satisfying Assumptions 2.1-2.2 of the paper.

Every distribution here has E||x||_2^2 = d (so E||x||_2 = Theta(sqrt d) and the centred second moment is Omega(d):
Assumption 2.1) and satisfies Lipschitz concentration with a dimension-free constant (Assumption 2.2): the standard
Gaussian, the uniform laws on the sphere of radius sqrt(d), on the binary hypercube {-1,+1}^d and on the continuous
cube [-sqrt 3, sqrt 3]^d, and a fixed Lipschitz map of a Gaussian (the "GAN-like" data of Section 2, cf. Seddik et al.
2020). Without ``mean`` all have zero mean, as Theorem 3.2 requires; ``mean`` shifts them (Theorem 4.1 allows it).
"""
from __future__ import annotations

import numpy as np

from ntkcheck._validate import InvalidArgument, as_choice, as_int, as_seed

DISTRIBUTIONS = ("gaussian", "sphere", "hypercube", "cube", "gan")

# The generator of the "gan" distribution is part of the distribution, not of the sample: it is drawn once per d
# from this fixed seed, so that every call with the same d samples the same law.
_GAN_GENERATOR_SEED = 20210718
# E[tanh(g)^2] for g ~ N(0, 1), by quadrature (to double precision; tests/test_data.py pins it); dividing by its
# root makes E||x||^2 = d exactly.
_TANH_SECOND_MOMENT = 0.3942944903978412
# Half-width a of the "cube" law U[-a, a]^d: E x_k^2 = a^2 / 3 = 1.
_CUBE_HALF_WIDTH = np.sqrt(3.0)


def _random_orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))  # sign fix: Haar-distributed, not biased by the QR convention


def _gan_like(z: np.ndarray) -> np.ndarray:
    """x = Q2 tanh(Q1 z) / sqrt(E tanh(g)^2): Lipschitz constant 1/sqrt(0.394) ~ 1.59, zero mean (tanh is odd)."""
    d = z.shape[1]
    gen = np.random.default_rng([_GAN_GENERATOR_SEED, d])
    q1, q2 = _random_orthogonal(d, gen), _random_orthogonal(d, gen)
    return np.tanh(z @ q1.T) @ q2.T / np.sqrt(_TANH_SECOND_MOMENT)


def sample_data(distribution: str, n: int, d: int, seed: int = 0, mean=None) -> np.ndarray:
    """Draw ``n`` i.i.d. points of dimension ``d`` from a distribution satisfying Assumptions 2.1-2.2.

    Parameters
    ----------
    distribution : one of ``DISTRIBUTIONS``.
    n, d : sample count N >= 1 and dimension d >= 1.
    seed : seed of the numpy Generator that draws the sample.
    mean : optional scalar or (d,) vector added to every point (a non-zero mean).

    Returns the data matrix X = [x_1, ..., x_N]^T of shape (N, d), float64. Cost O(N d) (plus O(d^3) once for "gan").
    """
    as_choice(distribution, "distribution", DISTRIBUTIONS)
    n = as_int(n, "n", minimum=1)
    d = as_int(d, "d", minimum=1)
    rng = np.random.default_rng(as_seed(seed))
    if distribution == "gaussian":
        x = rng.standard_normal((n, d))
    elif distribution == "sphere":
        g = rng.standard_normal((n, d))
        x = np.sqrt(d) * g / np.linalg.norm(g, axis=1, keepdims=True)
    elif distribution == "hypercube":
        x = rng.choice(np.array([-1.0, 1.0]), size=(n, d))
    elif distribution == "cube":
        x = rng.uniform(-_CUBE_HALF_WIDTH, _CUBE_HALF_WIDTH, size=(n, d))
    else:
        x = _gan_like(rng.standard_normal((n, d)))
    if mean is not None:
        shift = np.asarray(mean, dtype=np.float64)
        if shift.ndim > 1 or (shift.ndim == 1 and shift.shape[0] != d) or not np.all(np.isfinite(shift)):
            raise InvalidArgument(f"mean must be a finite scalar or a vector of length d={d}, got shape {shift.shape}")
        x = x + shift
    return x
