"""ntkcheck: executable checks of the NTK smallest-eigenvalue bounds of deep ReLU nets (Nguyen, Mondelli & Montufar,
ICML 2021), and fast exact NTK Gram matrices.

This module only re-exports the public API of the engine; see the README for an example.
"""
from ntkcheck._validate import InvalidArgument
from ntkcheck.data import DISTRIBUTIONS, sample_data
from ntkcheck.hermite import relu_hermite_coefficient
from ntkcheck.limiting import LimitingKernels, arccos_step, limiting_kernels, limiting_ntk
from ntkcheck.linalg import (NotPositiveSemidefinite, khatri_rao_gram, khatri_rao_power, lambda_min, psd_sqrt,
                             sigma_min)
from ntkcheck.network import ReLUNet
from ntkcheck.ntk import empirical_ntk, jacobian

__all__ = [
    "DISTRIBUTIONS", "InvalidArgument", "LimitingKernels", "NotPositiveSemidefinite", "ReLUNet", "arccos_step",
    "empirical_ntk", "jacobian", "khatri_rao_gram", "khatri_rao_power", "lambda_min", "limiting_kernels",
    "limiting_ntk", "psd_sqrt", "relu_hermite_coefficient", "sample_data", "sigma_min",
]
__version__ = "0.1.0"
