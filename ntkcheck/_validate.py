"""Argument validation at the public boundary (one helper, one exception type).

Deep code trusts its inputs; every public function of the engine passes its
arguments through these helpers first, so that bad input fails with one clear
line naming the argument and what was expected.
"""
from __future__ import annotations

import numbers
from typing import Iterable, Sequence

import numpy as np


class InvalidArgument(ValueError, TypeError):
    """An argument of a public ntkcheck function is invalid.

    Subclasses both ``ValueError`` and ``TypeError`` so that callers may catch
    either, as the numpy/torch conventions for wrong values and wrong types differ.
    """


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def as_matrix(value, name: str, *, columns: int | None = None, square: bool = False,
              min_rows: int = 1) -> np.ndarray:
    """Return ``value`` as a finite float64 2-D numpy array, or raise InvalidArgument."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except Exception as exc:  # ragged lists and other non-arrays
        raise InvalidArgument(f"{name} must be a 2-D array of real numbers, got {_describe(value)}") from exc
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.floating)
                                   or np.issubdtype(array.dtype, np.integer)):
        raise InvalidArgument(
            f"{name} must have a real numeric dtype (float or int), got dtype {array.dtype}")
    if array.ndim != 2:
        raise InvalidArgument(f"{name} must be 2-D, got shape {array.shape}")
    if array.shape[0] < min_rows or array.shape[1] < 1:
        raise InvalidArgument(f"{name} must have at least {min_rows} row(s) and one column, "
                              f"got shape {array.shape}")
    if columns is not None and array.shape[1] != columns:
        raise InvalidArgument(f"{name} must have {columns} columns, got shape {array.shape}")
    if square and array.shape[0] != array.shape[1]:
        raise InvalidArgument(f"{name} must be square, got shape {array.shape}")
    array = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise InvalidArgument(f"{name} must be finite, got {bad} NaN or inf entries")
    return array


def as_symmetric_matrix(value, name: str) -> np.ndarray:
    """A finite float64 square matrix that is symmetric up to rounding."""
    array = as_matrix(value, name, square=True)
    scale = max(float(np.max(np.abs(array))), np.finfo(float).tiny)
    asym = float(np.max(np.abs(array - array.T))) / scale
    if asym > 1e-8:  # rounding in a Gram product leaves ~1e-16 relative, so 1e-8 is a real asymmetry
        raise InvalidArgument(f"{name} must be symmetric, got relative asymmetry {asym:.3g}")
    return array


def as_int(value, name: str, *, minimum: int | None = None) -> int:
    """An integer (Python or numpy, not bool) at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidArgument(f"{name} must be an integer, got {_describe(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise InvalidArgument(f"{name} must be >= {minimum}, got {value}")
    return value


def as_positive_float(value, name: str) -> float:
    """A finite float > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidArgument(f"{name} must be a real number, got {_describe(value)}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise InvalidArgument(f"{name} must be finite and > 0, got {value}")
    return value


def as_choice(value, name: str, choices: Iterable[str]) -> str:
    """One of a fixed set of strings."""
    choices = tuple(choices)
    if value not in choices:
        raise InvalidArgument(f"{name} must be one of {', '.join(map(repr, choices))}, got {_describe(value)}")
    return value


def as_seed(value, name: str = "seed") -> int:
    """A non-negative integer seed."""
    return as_int(value, name, minimum=0)


def as_int_sequence(values, name: str, *, minimum: int, min_length: int) -> tuple[int, ...]:
    """A sequence of integers, each at least ``minimum``."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence | np.ndarray):
        raise InvalidArgument(f"{name} must be a sequence of integers, got {_describe(values)}")
    if len(values) < min_length:
        raise InvalidArgument(f"{name} must have at least {min_length} entries, got {len(values)}")
    return tuple(as_int(v, f"{name}[{i}]", minimum=minimum) for i, v in enumerate(values))


def as_nonnegative_float(value, name: str) -> float:
    """A finite float >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidArgument(f"{name} must be a real number, got {_describe(value)}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise InvalidArgument(f"{name} must be finite and >= 0, got {value}")
    return value
