"""The deep ReLU network of eq. (1), its feature matrices and back-propagated vectors.

    f_0(x) = x,   f_l(x) = sigma(W_l^T f_{l-1}(x)) for l in [L-1],   f_L(x) = W_L^T f_{L-1}(x),

with W_l of shape (n_{l-1}, n_l), n_0 = d, n_L = 1, no biases, sigma = ReLU, and
(W_l)_{ij} ~ N(0, beta_l^2) i.i.d. (Section 2, "Weight and data distribution").

Torch (float64) inside, numpy at the boundary. Rows are samples: g_l and F_l are (N, n_l)
matrices, so one layer is one BLAS-3 product ``F_{l-1} @ W_l`` for the whole data set.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from ntkcheck._validate import InvalidArgument, as_choice, as_int_sequence, as_matrix, as_positive_float, as_seed

INITS = ("standard", "he", "lecun")
DEVICES = ("cpu", "cuda")


def forward(weights: Sequence[torch.Tensor], x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Eq. (1) on a batch: return ([g_1, ..., g_L], [F_0 = x, F_1, ..., F_{L-1}]).

    ``x`` is (N, n_0); g_l is (N, n_l) and F_l = sigma(g_l). A plain function of the weights,
    so the structured NTK and the autograd oracle differentiate the same definition.
    Cost O(N * P), P = sum_l n_{l-1} n_l.
    """
    preactivations, features = [], [x]
    for layer, weight in enumerate(weights, start=1):
        preactivations.append(features[-1] @ weight)
        if layer < len(weights):
            features.append(torch.relu(preactivations[-1]))
    return preactivations, features


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a @ b for tensors that need no gradient.

    When torch runs on one CPU thread, the product goes through numpy's BLAS binding (zero-copy
    views), which calls syrk for a Gram product ``a @ a.T`` (half the flops of the GEMM torch.mm
    runs) and takes a transposed operand at full speed (benchmarks/test_bench_ntk.py). When torch
    has several threads, torch's own BLAS is used: numpy's BLAS threads and torch's OpenMP threads
    spin-wait against each other, which made the structured NTK of (100, 512, 512, 1), N = 256,
    4-5x slower at the default 2 threads of a 2-core machine (0.039 s against 0.0093 s, one run).
    A claims run sets one thread per process (``--claims-threads``, ntkcheck/threads.py), so it takes
    the numpy path. Other devices use torch."""
    if a.device.type != "cpu" or torch.get_num_threads() > 1:
        return a @ b
    return torch.from_numpy(a.numpy() @ b.numpy())


def feature_matrices(weights: Sequence[torch.Tensor], x: torch.Tensor) -> list[torch.Tensor]:
    """[F_0 = x, F_1, ..., F_{L-1}] of eq. (1), without keeping g_l or f_L.

    Each ReLU is applied in place on its product, so the pass holds N * sum_{l<L} n_l floats,
    half of ``forward``; meant for the structured NTK. Cost O(N * (P - n_{L-1})).
    """
    features = [x]
    for weight in weights[:-1]:
        features.append(torch.relu_(matmul(features[-1], weight)))
    return features


def backward(weights: Sequence[torch.Tensor], features: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The back-propagated vectors [B_1, ..., B_L] of Section 4.1, each (N, n_k), from the
    feature matrices [F_0, ..., F_{L-1}] of eq. (1) (``feature_matrices`` or ``forward``).

    B_L is the all-ones (N, 1) column and B_k = (B_{k+1} W_{k+1}^T) o Sigma_k, with
    Sigma_k = 1[g_k > 0] = 1[F_k > 0] (the convention sigma'(0) = 0 of Section 1; F_k = sigma(g_k)
    is positive exactly where g_k is): row i of B_k is Sigma_k(x_i) W_{k+1} Sigma_{k+1}(x_i) ... W_L.
    The paper prints B_L = (1/sqrt N) 1_N; the all-ones column is the value for which
    J J^T = sum_k (F_k F_k^T) o (B_{k+1} B_{k+1}^T) holds. Cost O(N * P).
    """
    vectors = [features[0].new_ones((features[0].shape[0], 1))]
    for k in range(len(weights) - 1, 0, -1):
        vectors.append(matmul(vectors[-1], weights[k].T).mul_(features[k] > 0))
    return vectors[::-1]


def _init_betas(widths: tuple[int, ...], init: str) -> tuple[float, ...]:
    """beta_l per init: standard beta_l = 1, He beta_l^2 = 2/n_{l-1}, LeCun beta_l^2 = 1/n_{l-1}."""
    gain = {"standard": None, "he": 2.0, "lecun": 1.0}[init]
    return tuple(1.0 if gain is None else math.sqrt(gain / fan_in) for fan_in in widths[:-1])


def _as_betas(betas, depth: int) -> tuple[float, ...]:
    if isinstance(betas, (str, bytes)) or not isinstance(betas, Sequence | np.ndarray):
        raise InvalidArgument(f"betas must be a sequence of {depth} positive floats, got {betas!r}")
    if len(betas) != depth:
        raise InvalidArgument(f"betas must have one entry per layer (L = {depth}), got {len(betas)}")
    return tuple(as_positive_float(beta, f"betas[{i}]") for i, beta in enumerate(betas))


def _as_device(device) -> str:
    device = as_choice(device, "device", DEVICES)
    if device == "cuda" and not torch.cuda.is_available():
        raise InvalidArgument("device 'cuda' was asked for but torch.cuda.is_available() is False; use device='cpu'")
    return device


class ReLUNet:
    """An L-layer ReLU network of eq. (1) with weights W_l ~ N(0, beta_l^2) i.i.d.

    ``widths = (n_0 = d, n_1, ..., n_{L-1}, n_L = 1)``; ``init`` picks beta_l ("standard": 1,
    "he": sqrt(2/n_{l-1}), "lecun": sqrt(1/n_{l-1})) unless ``betas`` (L positive floats) is given.
    The weights are drawn on the CPU in float64 from a torch.Generator seeded with ``seed``, layer
    by layer, then moved to ``device``: the same seed gives the same weights on every device.
    Attributes: widths, depth (L), betas (None for ``from_weights``), weights (W_1..W_L), device.
    """

    def __init__(self, widths, init: str = "he", betas=None, seed: int = 0, device: str = "cpu"):
        widths = as_int_sequence(widths, "widths", minimum=1, min_length=2)
        if widths[-1] != 1:
            raise InvalidArgument(f"widths must end with n_L = 1 (one output, eq. (1)), got widths={widths}")
        init = as_choice(init, "init", INITS)
        betas = _init_betas(widths, init) if betas is None else _as_betas(betas, len(widths) - 1)
        generator = torch.Generator().manual_seed(as_seed(seed))
        weights = [beta * torch.randn(n_in, n_out, generator=generator, dtype=torch.float64)
                   for beta, n_in, n_out in zip(betas, widths[:-1], widths[1:])]
        self._adopt(weights, betas, _as_device(device))

    @classmethod
    def from_weights(cls, weights, device: str = "cpu") -> "ReLUNet":
        """A net with the given W_1..W_L (arrays or tensors, W_l of shape (n_{l-1}, n_l), n_L = 1)."""
        if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence) or not weights:
            raise InvalidArgument(f"weights must be a non-empty list of 2-D matrices, got {weights!r}")
        matrices = [as_matrix(w, f"weights[{i}]") for i, w in enumerate(weights)]
        for i in range(1, len(matrices)):
            if matrices[i].shape[0] != matrices[i - 1].shape[1]:
                raise InvalidArgument(f"weights[{i}] must have {matrices[i - 1].shape[1]} rows to follow "
                                      f"weights[{i - 1}] of shape {matrices[i - 1].shape}, got {matrices[i].shape}")
        if matrices[-1].shape[1] != 1:
            raise InvalidArgument(f"weights[{len(matrices) - 1}] (W_L) must have one column (n_L = 1), "
                                  f"got shape {matrices[-1].shape}")
        net = cls.__new__(cls)
        # torch.tensor copies, so the net never aliases the caller's arrays
        net._adopt([torch.tensor(m) for m in matrices], None, _as_device(device))
        return net

    def _adopt(self, weights: list[torch.Tensor], betas, device: str) -> None:
        self.weights = [w.to(device) for w in weights]
        self.widths = (weights[0].shape[0],) + tuple(w.shape[1] for w in weights)
        self.depth = len(weights)
        self.betas = betas
        self.device = device

    def __repr__(self) -> str:
        return f"ReLUNet(widths={self.widths}, betas={self.betas}, device={self.device!r})"

    def input_tensor(self, X) -> torch.Tensor:
        """X validated as a finite (N, d) matrix with d = widths[0], as a float64 tensor on the net's device."""
        return torch.from_numpy(as_matrix(X, "X", columns=self.widths[0])).to(self.device)

    def outputs(self, X) -> np.ndarray:
        """f_L(x_i) of eq. (1) for the rows of X (N, d): shape (N,). Cost O(N * P)."""
        return _numpy(self._forward(X)[0][-1][:, 0])

    def preactivations(self, X) -> list[np.ndarray]:
        """[g_1, ..., g_L] (Section 1: f_l = sigma(g_l)), each (N, n_l). Cost O(N * P)."""
        return [_numpy(g) for g in self._forward(X)[0]]

    def features(self, X) -> list[np.ndarray]:
        """The feature matrices [F_0 = X, F_1, ..., F_{L-1}] of Section 2, each (N, n_l). Cost O(N * P)."""
        return [_numpy(f) for f in self._forward(X)[1]]

    def activation_patterns(self, X) -> list[np.ndarray]:
        """[A_1, ..., A_{L-1}], A_l = sign(g_l) as int8 in {-1, 0, +1}, each (N, n_l). Cost O(N * P)."""
        return [_numpy(torch.sign(g)).astype(np.int8) for g in self._forward(X)[0][:-1]]

    def backprop_vectors(self, X) -> list[np.ndarray]:
        """[B_1, ..., B_L] of Section 4.1 (see ``backward``), each (N, n_k). Cost O(N * P)."""
        return [_numpy(b) for b in backward(self.weights, self._forward(X)[1])]

    def _forward(self, X):
        return forward(self.weights, self.input_tensor(X))


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()
