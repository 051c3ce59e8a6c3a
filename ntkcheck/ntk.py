"""The empirical NTK Gram matrix Kbar^(L) = J J^T of eq. (3), computed two independent ways.

* "structured": the decomposition of Section 4.1,
      J J^T = sum_{k=0}^{L-1} (F_k F_k^T) o (B_{k+1} B_{k+1}^T),
  from one forward pass (features F_k) and one backward recursion (vectors B_k); J is never
  formed and all work is matrix products (BLAS-3).
* "autograd": the oracle. J of eq. (2) from torch autograd (``torch.func.jacrev`` vmapped over the
  samples) applied to the same forward function of eq. (1), then J J^T. It stores the N x P
  Jacobian, so it is meant for small nets.

With biases (``ReLUNet(..., bias_std=...)``, beyond the paper), J also has the columns of the bias
parameters v_1..v_L (b_l = c_{l-1} v_l, d f_L / d v_l = c_{l-1} B_l), and the term of layer k+1 becomes
(F_k F_k^T + c_k^2 1 1^T) o (B_{k+1} B_{k+1}^T): the bias is the weight row of a constant feature c_k.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from ntkcheck._validate import InvalidArgument, as_choice, as_int, as_matrix, check_fits, format_bytes
from ntkcheck.network import ReLUNet, backward, feature_matrices, forward, matmul

METHODS = ("structured", "autograd")
_FLOAT_BYTES = 8
# term(k, rows, cols) -> the (rows, cols) block of the term of W_{k+1} in eq. (3)
Term = Callable[[int, slice, slice], torch.Tensor]


def empirical_ntk(net: ReLUNet, X, X2=None, method: str = "structured", *, per_layer: bool = False,
                  block_size: int | None = None, max_memory: int | None = None) -> np.ndarray:
    """Kbar^(L) = J J^T of eq. (3) for the rows of X, shape (N, N); with ``X2`` (M, d), the cross-kernel
    J(X) J(X2)^T, shape (N, M) (``X2`` equal to ``X`` gives the square case).

    Normalization (eq. (4)): this is the unnormalized J J^T of the net as given. With all weights N(0, 1)
    (``ReLUNet(widths, init="standard")``), (prod_{l=1}^{L-1} 2 / n_l) Kbar^(L) converges in probability to
    the limiting NTK ``ntkcheck.limiting_ntk(X, L)`` as min(n_1, ..., n_{L-1}) -> infinity (rate ~ width^-1/2).

    ``method="structured"`` (default) uses the Section 4.1 decomposition; with P = sum_l n_{l-1} n_l
    it costs 2 N P flops for the forward and backward passes plus N^2 (n_0 + 2 n_1 + ... +
    2 n_{L-1} + 1) for the Gram products (BLAS syrk on the diagonal tiles, GEMM on the others,
    each tile computed once for the pair of symmetric tiles), and needs
    8 N (N + sum_{l<L} n_l + sum_{l>=1} n_l) bytes besides two Gram tiles. ``method="autograd"`` builds J
    (eq. (2)), O(N * P) memory, and is the independent oracle.
    ``per_layer=True`` returns the (L, N, N) stack whose k-th slice (k = 0..L-1) is the term of
    W_{k+1} in eq. (3), (dF_L/dvec W_{k+1})(dF_L/dvec W_{k+1})^T = (F_k F_k^T) o (B_{k+1} B_{k+1}^T)
    (for a net with biases, plus the term of v_{k+1}: (F_k F_k^T + c_k^2 1 1^T) o (B_{k+1} B_{k+1}^T));
    its sum over the first axis is Kbar^(L).
    The output is filled in square tiles of ``block_size`` samples (default: one tile, fastest),
    the upper ones computed and mirrored, so K is symmetric to the last bit and the two transient
    Gram tiles take 2 * block_size^2 floats instead of 2 N^2. ``max_memory`` (bytes; exclusive with
    ``block_size``) picks the largest tile for which the output, the factors (F_k, B_k, or J for
    autograd) and the tiles fit in that budget. The result is the same up to rounding.
    Before any allocation, the output, the factors and the tiles are compared with the memory available on
    the net's device: an InvalidArgument says what does not fit (in MiB/GiB) and which option fixes it.
    """
    net = _as_net(net)
    if isinstance(X2, str) and method == "structured":  # the pre-X2 positional call empirical_ntk(net, X, method)
        X2, method = None, X2
    method = as_choice(method, "method", METHODS)
    if not isinstance(per_layer, bool):
        raise InvalidArgument(f"per_layer must be True or False, got {per_layer!r}")
    if block_size is not None and max_memory is not None:
        raise InvalidArgument(f"block_size and max_memory are exclusive, give one of them; got block_size="
                              f"{block_size!r} and max_memory={max_memory!r}")
    x = net.input_tensor(X)
    split = None
    if X2 is not None:
        x2 = torch.from_numpy(as_matrix(X2, "X2", columns=net.widths[0])).to(x.device)
        if x2.shape != x.shape or not torch.equal(x2, x):
            split = x.shape[0]  # rows: the samples of X, columns: those of X2, both in one stacked pass
            x = torch.cat([x, x2])
    rows_n = x.shape[0] if split is None else split
    cols_n = x.shape[0] - rows_n if split is not None else rows_n
    columns = _structured_width(net.widths) if method == "structured" else _parameter_count(net.widths)
    # the output, the factors, and the widest boolean mask of backward() (1 byte per entry)
    resident = (rows_n * cols_n * (net.depth if per_layer else 1) + x.shape[0] * columns
                + x.shape[0] * max(net.widths) // _FLOAT_BYTES)
    if block_size is not None:
        block_size = as_int(block_size, "block_size", minimum=1)
    elif max_memory is not None:
        block_size = _tile_for_budget(as_int(max_memory, "max_memory", minimum=1), resident, max(rows_n, cols_n))
    _check_memory(net, method, per_layer, resident, block_size or max(rows_n, cols_n), rows_n, cols_n)
    term = _structured_term(net, x) if method == "structured" else _autograd_term(net, x)
    return _assemble(term, net.depth, x, per_layer, block_size or max(rows_n, cols_n), split).cpu().numpy()


def _check_memory(net: ReLUNet, method: str, per_layer: bool, resident_floats: int, block: int, rows_n: int,
                  cols_n: int) -> None:
    """InvalidArgument before any allocation when the output, the factors and two Gram tiles cannot fit."""
    output = _FLOAT_BYTES * rows_n * cols_n * (net.depth if per_layer else 1)
    resident = _FLOAT_BYTES * resident_floats
    tiles = 2 * _FLOAT_BYTES * block * block
    what = (f"the output ({format_bytes(output)}{', L layers' if per_layer else ''}) and the "
            f"{'Jacobian J' if method == 'autograd' else 'factors F_k, B_k'} ({format_bytes(resident - output)})")
    if method == "autograd":
        fix = "use method='structured', which never forms J, or fewer samples"
    elif per_layer:
        fix = "use per_layer=False (one (N, N) sum instead of L terms), or fewer samples"
    else:
        fix = "use fewer samples (the (N, N) output itself must fit)"
    check_fits(resident, net.device, what, fix)
    check_fits(resident + tiles, net.device, f"{what} with two Gram tiles of {block} x {block} "
               f"({format_bytes(tiles)})", f"pass max_memory= (bytes, e.g. {_suggest(resident)}) or a smaller "
               f"block_size= to fill the output in smaller tiles")


def _suggest(resident_bytes: int) -> int:
    """A max_memory that leaves room for tiles: the resident bytes plus 25%, rounded up to a MiB."""
    return -(-int(resident_bytes * 1.25) // 2 ** 20) * 2 ** 20


def jacobian(net: ReLUNet, X) -> np.ndarray:
    """J of eq. (2) by torch autograd, shape (N, P), P = sum_l n_{l-1} n_l (+ sum_l n_l with biases).

    Columns are ordered [vec(W_1), ..., vec(W_L)], each vec row-major (entry (a, b) of W_l at
    offset a * n_l + b of its block), then, for a net with biases, [v_1, ..., v_L] (see ``ReLUNet``).
    Cost O(N * P) time and memory.
    """
    net = _as_net(net)
    blocks = _jacobian_blocks(net, net.input_tensor(X))
    return torch.cat(blocks[:net.depth] + blocks[net.depth:], dim=1).cpu().numpy()


def _as_net(net) -> ReLUNet:
    if not isinstance(net, ReLUNet):
        raise InvalidArgument(f"net must be an ntkcheck.ReLUNet, got {type(net).__name__}")
    return net


def _jacobian_blocks(net: ReLUNet, x: torch.Tensor) -> list[torch.Tensor]:
    """[dF_L/dvec(W_1), ..., dF_L/dvec(W_L)], each (N, n_{l-1} n_l), by reverse-mode autograd per sample;
    for a net with biases followed by [dF_L/dv_1, ..., dF_L/dv_L], each (N, n_l)."""
    scales = net.bias_scales

    def output(params, sample):
        weights, biases = params[:net.depth], None
        if scales is not None:
            biases = [c * v for c, v in zip(scales, params[net.depth:])]
        return forward(weights, sample[None], biases)[0][-1][0, 0]

    params = list(net.weights) + ([] if net.bias_params is None else list(net.bias_params))
    grads = torch.func.vmap(torch.func.jacrev(output), in_dims=(None, 0))(params, x)
    return [g.reshape(x.shape[0], -1) for g in grads]


def _structured_width(widths: tuple[int, ...]) -> int:
    """Columns of the factors kept by the structured path: F_0..F_{L-1} and B_1..B_L."""
    return sum(widths[:-1]) + sum(widths[1:])


def _parameter_count(widths: tuple[int, ...]) -> int:
    """P = sum_l n_{l-1} n_l, the columns of J (eq. (2))."""
    return sum(a * b for a, b in zip(widths[:-1], widths[1:]))


def _tile_for_budget(max_memory: int, resident_floats: int, n: int) -> int:
    """The largest tile side b <= N whose two transient Gram tiles (2 b^2 floats) fit in max_memory
    bytes beside the resident output and factors."""
    spare = max_memory // _FLOAT_BYTES - resident_floats
    if spare < 2:
        needed = _FLOAT_BYTES * (resident_floats + 2)
        raise InvalidArgument(f"max_memory must be at least {format_bytes(needed)} ({needed} bytes) here: the output and the factors alone take "
                              f"{format_bytes(_FLOAT_BYTES * resident_floats)}, got {format_bytes(max_memory)} "
                              f"({max_memory} bytes)")
    return min(n, math.isqrt(spare // 2))


def _gram(a: torch.Tensor, rows: slice, cols: slice) -> torch.Tensor:
    """a[rows] a[cols]^T; a diagonal tile (rows == cols) is a Gram product, syrk on the CPU."""
    left = a[rows]
    return matmul(left, (left if rows == cols else a[cols]).T)


def _structured_term(net: ReLUNet, x: torch.Tensor) -> Term:
    """blocks of (F_k F_k^T) o (B_{k+1} B_{k+1}^T), Section 4.1; with biases
    (F_k F_k^T + c_k^2 1 1^T) o (B_{k+1} B_{k+1}^T) (the bias of layer k+1 as a constant feature c_k)."""
    features = feature_matrices(net.weights, x, net.biases)
    vectors = backward(net.weights, features)
    if net.bias_scales is None:
        return lambda k, rows, cols: _gram(features[k], rows, cols).mul_(_gram(vectors[k], rows, cols))
    squares = [c * c for c in net.bias_scales]
    return lambda k, rows, cols: _gram(features[k], rows, cols).add_(squares[k]).mul_(_gram(vectors[k], rows, cols))


def _autograd_term(net: ReLUNet, x: torch.Tensor) -> Term:
    """blocks of J_k J_k^T, J_k = the columns of J belonging to W_{k+1} (eq. (3)) and, with biases, v_{k+1}."""
    blocks = _jacobian_blocks(net, x)
    if net.bias_params is None:
        return lambda k, rows, cols: _gram(blocks[k], rows, cols)
    depth = net.depth
    return lambda k, rows, cols: _gram(blocks[k], rows, cols).add_(_gram(blocks[depth + k], rows, cols))


def _assemble(term: Term, depth: int, x: torch.Tensor, per_layer: bool, block_size: int,
              split: int | None = None) -> torch.Tensor:
    """Sum (or stack, for per_layer) the L terms of eq. (3), one square tile of the output at a time:
    the tiles on and above the diagonal are computed, those below are their transposes. With ``split``
    (a cross-kernel), the output's rows are samples [0, split) and its columns samples [split, N) of x,
    every tile computed."""
    n = x.shape[0]
    row_end, col_start = (n, 0) if split is None else (split, split)
    shape = (row_end, n - col_start)
    out = torch.zeros((depth, *shape) if per_layer else shape, dtype=torch.float64, device=x.device)
    layers = list(out) if per_layer else [out]
    targets = layers if per_layer else layers * depth
    for i, row_start in enumerate(range(0, row_end, block_size)):
        rows = slice(row_start, row_start + block_size if split is None else min(row_start + block_size, split))
        col_starts = range(0, n, block_size)[i:] if split is None else range(col_start, n, block_size)
        for start in col_starts:
            cols = slice(start, start + block_size)
            out_cols = slice(start - col_start, start - col_start + block_size)
            for k in range(depth):
                targets[k][rows, out_cols] += term(k, rows, cols)
            if split is None and cols != rows:
                for layer in layers:
                    layer[cols, rows] = layer[rows, cols].T
    return out
