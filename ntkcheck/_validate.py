"""Argument validation at the public boundary (one helper, one exception type).

Deep code trusts its inputs; every public function of the engine passes its
arguments through these helpers first, so that bad input fails with one clear
line naming the argument and what was expected.
"""
from __future__ import annotations

import math
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
              min_rows: int = 1, finite: bool = True, writeable: bool = True) -> np.ndarray:
    """Return ``value`` as a finite float64 2-D numpy array, or raise InvalidArgument.

    A read-only array (``writeable=False``, e.g. from pandas or a memory map) is copied, so that torch.from_numpy
    can take the result without its non-writable-array warning; ``writeable=False`` keeps it (for callers that
    only read it). ``finite=False`` skips the finiteness pass, for callers that check it in a pass of their own
    (``symmetry_error``)."""
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
    if writeable and not array.flags.writeable:
        array = array.copy()
    if finite and not np.all(np.isfinite(array)):
        _raise_not_finite(array, name)
    return array


def _raise_not_finite(array: np.ndarray, name: str):
    bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
    raise InvalidArgument(f"{name} must be finite, got {bad} NaN or inf entries")


# Relative asymmetry max|A - A^T| / max|A| beyond which a matrix is not symmetric: rounding in a Gram product
# leaves ~1e-16 relative, so 1e-8 is a real asymmetry.
ASYMMETRY_TOLERANCE = 1e-8
# Side of the square tiles of the symmetry pass (128 KiB each: a tile, its mirror and the difference stay in L2).
_SYMMETRY_TILE = 128


def symmetry_error(array: np.ndarray, name: str, copy_lower_to: np.ndarray | None = None) -> float:
    """max|A - A^T| / max|A| of a square float64 array, in one blocked pass without an (N, N) temporary.

    Raises InvalidArgument (naming ``name``) if an entry is NaN or inf (the tiles' max and min propagate them, so
    finiteness costs nothing more). With ``copy_lower_to`` (an (N, N) C-ordered array), the tiles on and below
    the diagonal are copied into it in the same pass: row-major lower = column-major upper, the triangle a LAPACK
    solver told "upper, column-major" reads (``linalg.lambda_min``; MKL's dsytrd on "U": 1.846 s against 1.912 s
    on "L" at N = 4000, one thread, 7 interleaved rounds). Cost: one read of A and one tile temporary."""
    n = array.shape[0]
    largest, asymmetry = 0.0, 0.0
    scratch = np.empty((min(n, _SYMMETRY_TILE),) * 2)
    for i in range(0, n, _SYMMETRY_TILE):
        rows = slice(i, i + _SYMMETRY_TILE)
        for j in range(i, n, _SYMMETRY_TILE):
            cols = slice(j, j + _SYMMETRY_TILE)
            block = array[cols, rows]  # a tile on or below the diagonal
            if copy_lower_to is not None:  # copied first, so the reductions below read it from cache
                block = copy_lower_to[cols, rows]
                np.copyto(block, array[cols, rows])
            difference = scratch[:block.shape[1], :block.shape[0]]
            with np.errstate(invalid="ignore"):  # inf - inf: NaN, reported below as not finite
                # the mirror tile (above the diagonal) minus this one read transposed, in one pass
                np.subtract(array[rows, cols], block.T, out=difference)
            # max|A| over the lower tiles only: a larger entry above shows up in the difference instead.
            # NaN or inf anywhere propagates into these (inf - inf = NaN), so finiteness costs nothing more.
            high, low = float(block.max()), float(block.min())
            above, below = float(difference.max()), float(difference.min())
            if not all(map(math.isfinite, (high, low, above, below))):
                _raise_not_finite(array, name)
            largest = max(largest, high, -low)
            asymmetry = max(asymmetry, above, -below)
    return asymmetry / max(largest, np.finfo(float).tiny)


def as_symmetric_matrix(value, name: str) -> np.ndarray:
    """A finite float64 square matrix that is symmetric up to rounding (``symmetry_error``; no copy of a
    float64 input, also a read-only one: callers only read it)."""
    array = as_matrix(value, name, square=True, finite=False, writeable=False)
    asym = symmetry_error(array, name)
    if asym > ASYMMETRY_TOLERANCE:
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


def as_device(value, name: str = "device") -> str:
    """A torch device given as "cpu", "cuda", "cuda:N" or a ``torch.device``, returned as its string ("cuda:1").

    CUDA must be available and N below torch.cuda.device_count(); anything else is an InvalidArgument naming
    ``name``. (torch is imported here, not at module level: the plugin imports this module in every process.)"""
    import torch

    if not isinstance(value, (str, torch.device)):
        raise InvalidArgument(f"{name} must be 'cpu', 'cuda', 'cuda:N' or a torch.device, got {_describe(value)}")
    try:
        device = torch.device(value)
    except (RuntimeError, ValueError) as exc:
        raise InvalidArgument(f"{name} must be 'cpu', 'cuda', 'cuda:N' or a torch.device, got {value!r}") from exc
    if device.type == "cpu":
        return "cpu"
    if device.type != "cuda":
        raise InvalidArgument(f"{name} must be a CPU or CUDA device, got {value!r} (type {device.type!r})")
    if not torch.cuda.is_available():
        raise InvalidArgument(f"{name} {value!r} was asked for but torch.cuda.is_available() is False; "
                              f"use device='cpu'")
    count = torch.cuda.device_count()
    if device.index is not None and device.index >= count:
        raise InvalidArgument(f"{name} {value!r} does not exist: torch.cuda.device_count() is {count}")
    return str(device)


def format_bytes(size: float) -> str:
    """A byte count for a message: '512 MiB', '74.5 GiB'."""
    if size >= 2 ** 30:
        return f"{size / 2 ** 30:.1f} GiB"
    return f"{size / 2 ** 20:.0f} MiB" if size >= 2 ** 20 else f"{size / 2 ** 10:.0f} KiB"


def available_bytes(device: str = "cpu") -> int | None:
    """Memory a new allocation can take now: MemAvailable of /proc/meminfo on the CPU (None where unknown),
    torch.cuda.mem_get_info's free bytes on a CUDA device."""
    if device.startswith("cuda"):
        import torch

        return int(torch.cuda.mem_get_info(torch.device(device))[0])
    try:
        with open("/proc/meminfo") as meminfo:
            return next(int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        return None


def check_fits(required: int, device: str, what: str, fix: str) -> None:
    """Raise InvalidArgument before allocating when ``required`` bytes exceed the available memory."""
    available = available_bytes(device)
    if available is not None and required > available:
        raise InvalidArgument(f"{what} need {format_bytes(required)}, but only {format_bytes(available)} is "
                              f"available on {device}; {fix}")
