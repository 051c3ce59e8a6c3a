"""ntkcheck: executable checks of the NTK smallest-eigenvalue bounds of deep ReLU nets (Nguyen, Mondelli & Montufar,
ICML 2021), and fast exact NTK Gram matrices.

This module only re-exports the public API of the engine (see the README for an example). The re-exports are lazy
(PEP 562): the pytest plugin imports this package in every test process and xdist worker, and importing torch
eagerly would cost each of them ~2 s even when no engine function runs. A type checker does not run
``__getattr__``: it reads the ``TYPE_CHECKING`` imports below, which list the same names (tests/test_typing.py
keeps the two in step) and cost nothing at run time.
"""
import importlib
from typing import TYPE_CHECKING

from ntkcheck._validate import InvalidArgument

if TYPE_CHECKING:  # never executed: the static view of the lazy exports in _EXPORTS
    from ntkcheck.data import DISTRIBUTIONS, sample_data
    from ntkcheck.hermite import relu_hermite_coefficient
    from ntkcheck.limiting import LimitingKernels, arccos_step, limiting_kernels, limiting_ntk
    from ntkcheck.linalg import (NotPositiveSemidefinite, khatri_rao_gram, khatri_rao_power, lambda_min, psd_sqrt,
                                 sigma_min)
    from ntkcheck.lipschitz import (LipschitzEstimate, LipschitzPieces, difference_quotient_lipschitz,
                                    exact_lipschitz_constant_2d, feature_map_jacobian, jacobian_operator_norms,
                                    lipschitz_lower_estimate, naive_lipschitz_bound, squared_lipschitz_bound_scale)
    from ntkcheck.network import ReLUNet
    from ntkcheck.ntk import empirical_ntk, jacobian
    from ntkcheck.scales import feature_scale
    from ntkcheck.training import Trajectory, gradient_descent

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


if not TYPE_CHECKING:  # hidden from a type checker, to which a module __getattr__ makes every name valid (Any)
    def __getattr__(name):
        if name not in _EXPORTS:
            raise AttributeError(f"module 'ntkcheck' has no attribute {name!r}")
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later look-ups skip this hook
        return value


def __dir__():
    return __all__
