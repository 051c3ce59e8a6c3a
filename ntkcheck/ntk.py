"""The empirical NTK Gram matrix Kbar^(L) = J J^T of eq. (3), computed two independent ways.

* "structured": the decomposition of Section 4.1,
      J J^T = sum_{k=0}^{L-1} (F_k F_k^T) o (B_{k+1} B_{k+1}^T),
  from one forward pass (features F_k) and one backward recursion (vectors B_k); J is never
  formed and all work is matrix products (BLAS-3).
* "autograd": the oracle. J of eq. (2) from torch autograd (``torch.func.jacrev`` vmapped over the
  samples) applied to the same forward function of eq. (1), then J J^T. It stores the N x P
  Jacobian, so it is meant for small nets.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ntkcheck._validate import InvalidArgument, as_choice, as_int
from ntkcheck.network import ReLUNet, backward, forward

METHODS = ("structured", "autograd")
# term(k, rows) -> rows `rows` of the term of W_{k+1} in eq. (3), shape (len(rows), N)
Term = Callable[[int, slice], torch.Tensor]


def empirical_ntk(net: ReLUNet, X, method: str = "structured", *, per_layer: bool = False,
                  block_size: int | None = None) -> np.ndarray:
    """Kbar^(L) = J J^T of eq. (3) for the rows of X, shape (N, N).

    ``method="structured"`` (default) uses the Section 4.1 decomposition; with P = sum_l n_{l-1} n_l
    it costs O(N * P) for the passes plus O(N^2 * sum_{k=0}^{L-1} (n_k + n_{k+1})) for the Gram
    products, and needs O(N^2 + N * sum_l n_l) memory. ``method="autograd"`` builds J (eq. (2)),
    O(N * P) memory, and is the independent oracle.
    ``per_layer=True`` returns the (L, N, N) stack whose k-th slice (k = 0..L-1) is the term of
    W_{k+1} in eq. (3), (dF_L/dvec W_{k+1})(dF_L/dvec W_{k+1})^T = (F_k F_k^T) o (B_{k+1} B_{k+1}^T);
    its sum over the first axis is Kbar^(L).
    ``block_size`` fills the output in row blocks of that many samples, so the transient Gram
    blocks take O(block_size * N) memory instead of O(N^2) per term; the result is the same up to
    rounding.
    """
    net = _as_net(net)
    method = as_choice(method, "method", METHODS)
    if not isinstance(per_layer, bool):
        raise InvalidArgument(f"per_layer must be True or False, got {per_layer!r}")
    x = net.input_tensor(X)
    block_size = x.shape[0] if block_size is None else as_int(block_size, "block_size", minimum=1)
    term = _structured_term(net, x) if method == "structured" else _autograd_term(net, x)
    return _assemble(term, net.depth, x, per_layer, block_size).cpu().numpy()


def jacobian(net: ReLUNet, X) -> np.ndarray:
    """J of eq. (2) by torch autograd, shape (N, P), P = sum_l n_{l-1} n_l.

    Columns are ordered [vec(W_1), ..., vec(W_L)], each vec row-major (entry (a, b) of W_l at
    offset a * n_l + b of its block). Cost O(N * P) time and memory.
    """
    net = _as_net(net)
    return torch.cat(_jacobian_blocks(net.weights, net.input_tensor(X)), dim=1).cpu().numpy()


def _as_net(net) -> ReLUNet:
    if not isinstance(net, ReLUNet):
        raise InvalidArgument(f"net must be an ntkcheck.ReLUNet, got {type(net).__name__}")
    return net


def _jacobian_blocks(weights: list[torch.Tensor], x: torch.Tensor) -> list[torch.Tensor]:
    """[dF_L/dvec(W_1), ..., dF_L/dvec(W_L)], each (N, n_{l-1} n_l), by reverse-mode autograd per sample."""
    def output(ws, sample):
        return forward(ws, sample[None])[0][-1][0, 0]

    grads = torch.func.vmap(torch.func.jacrev(output), in_dims=(None, 0))(list(weights), x)
    return [g.reshape(x.shape[0], -1) for g in grads]


def _structured_term(net: ReLUNet, x: torch.Tensor) -> Term:
    """rows of (F_k F_k^T) o (B_{k+1} B_{k+1}^T), Section 4.1."""
    preactivations, features = forward(net.weights, x)
    vectors = backward(net.weights, preactivations)
    return lambda k, rows: (features[k][rows] @ features[k].T).mul_(vectors[k][rows] @ vectors[k].T)


def _autograd_term(net: ReLUNet, x: torch.Tensor) -> Term:
    """rows of J_k J_k^T, J_k = the columns of J belonging to W_{k+1} (eq. (3))."""
    blocks = _jacobian_blocks(net.weights, x)
    return lambda k, rows: blocks[k][rows] @ blocks[k].T


def _assemble(term: Term, depth: int, x: torch.Tensor, per_layer: bool, block_size: int) -> torch.Tensor:
    """Sum (or stack, for per_layer) the L terms of eq. (3), one row block of the output at a time."""
    n = x.shape[0]
    out = torch.zeros((depth, n, n) if per_layer else (n, n), dtype=torch.float64, device=x.device)
    for start in range(0, n, block_size):
        rows = slice(start, start + block_size)
        for k in range(depth):
            (out[k] if per_layer else out)[rows] += term(k, rows)
    return out
