"""ntkcheck: executable checks of the NTK smallest-eigenvalue bounds of deep ReLU nets (Nguyen, Mondelli & Montufar,
ICML 2021), and fast exact NTK Gram matrices.

This module only re-exports the public API of the engine (see the README for an example). The re-exports are lazy
(PEP 562): the pytest plugin imports this package in every test process and xdist worker, and importing torch
eagerly would cost each of them ~2 s even when no engine function runs.
"""
import importlib

from ntkcheck._validate import InvalidArgument

_EXPORTS = {
    "DISTRIBUTIONS": "ntkcheck.data",
    "sample_data": "ntkcheck.data",
    "relu_hermite_coefficient": "ntkcheck.hermite",
    "LimitingKernels": "ntkcheck.limiting",
    "arccos_step": "ntkcheck.limiting",
    "limiting_kernels": "ntkcheck.limiting",
    "limiting_ntk": "ntkcheck.limiting",
    "NotPositiveSemidefinite": "ntkcheck.linalg",
    "khatri_rao_gram": "ntkcheck.linalg",
    "khatri_rao_power": "ntkcheck.linalg",
    "lambda_min": "ntkcheck.linalg",
    "psd_sqrt": "ntkcheck.linalg",
    "sigma_min": "ntkcheck.linalg",
    "LipschitzEstimate": "ntkcheck.lipschitz",
    "LipschitzPieces": "ntkcheck.lipschitz",
    "difference_quotient_lipschitz": "ntkcheck.lipschitz",
    "exact_lipschitz_constant_2d": "ntkcheck.lipschitz",
    "feature_map_jacobian": "ntkcheck.lipschitz",
    "jacobian_operator_norms": "ntkcheck.lipschitz",
    "lipschitz_lower_estimate": "ntkcheck.lipschitz",
    "naive_lipschitz_bound": "ntkcheck.lipschitz",
    "squared_lipschitz_bound_scale": "ntkcheck.lipschitz",
    "ReLUNet": "ntkcheck.network",
    "feature_scale": "ntkcheck.scales",
    "empirical_ntk": "ntkcheck.ntk",
    "jacobian": "ntkcheck.ntk",
    "Trajectory": "ntkcheck.training",
    "gradient_descent": "ntkcheck.training",
}

__all__ = sorted(["InvalidArgument", *_EXPORTS])
__version__ = "0.1.0"


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ntkcheck' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later look-ups skip this hook
    return value


def __dir__():
    return __all__
