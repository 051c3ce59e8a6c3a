"""ntkcheck: executable checks of the NTK smallest-eigenvalue bounds of deep ReLU nets.

Filled in as the engine modules land; re-exports only.
"""
from ntkcheck._validate import InvalidArgument

__all__ = ["InvalidArgument"]
__version__ = "0.1.0"
