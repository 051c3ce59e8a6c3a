"""The deep ReLU network of eq. (1), its feature matrices and back-propagated vectors.

    f_0(x) = x,   f_l(x) = sigma(W_l^T f_{l-1}(x)) for l in [L-1],   f_L(x) = W_L^T f_{L-1}(x),

with W_l of shape (n_{l-1}, n_l), n_0 = d, n_L = 1, sigma = ReLU, and
(W_l)_{ij} ~ N(0, beta_l^2) i.i.d. (Section 2, "Weight and data distribution").

Beyond the paper (Section 8 names both as open extensions; issue 16): optional biases,
g_l = W_l^T f_{l-1} + b_l (see ``ReLUNet``), and non-Gaussian weights of the same variance beta_l^2.

Torch (float64) inside, numpy at the boundary. Rows are samples: g_l and F_l are (N, n_l)
matrices, so one layer is one BLAS-3 product ``F_{l-1} @ W_l`` for the whole data set.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from ntkcheck._validate import (InvalidArgument, as_choice, as_device, as_int_sequence, as_matrix,
                                as_nonnegative_float, as_positive_float, as_seed)

INITS = ("standard", "he", "lecun")
WEIGHT_DISTRIBUTIONS = ("gaussian", "rademacher", "uniform")


def forward(weights: Sequence[torch.Tensor], x: torch.Tensor,
            biases: Sequence[torch.Tensor] | None = None) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Eq. (1) on a batch: return ([g_1, ..., g_L], [F_0 = x, F_1, ..., F_{L-1}]).

    ``x`` is (N, n_0); g_l is (N, n_l) and F_l = sigma(g_l). With ``biases`` = [b_1, ..., b_L]
    (each (n_l,)), g_l = F_{l-1} W_l + 1 b_l^T; None is the bias-free net of the paper. A plain
    function of the parameters, so the structured NTK and the autograd oracle differentiate the
    same definition. Cost O(N * P), P = sum_l n_{l-1} n_l.
    """
    preactivations, features = [], [x]
    for layer, weight in enumerate(weights, start=1):
        g = features[-1] @ weight
        preactivations.append(g if biases is None else g + biases[layer - 1])
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


def feature_matrices(weights: Sequence[torch.Tensor], x: torch.Tensor,
                     biases: Sequence[torch.Tensor] | None = None) -> list[torch.Tensor]:
    """[F_0 = x, F_1, ..., F_{L-1}] of eq. (1), without keeping g_l or f_L (``biases`` as in ``forward``).

    Each ReLU is applied in place on its product, so the pass holds N * sum_{l<L} n_l floats,
    half of ``forward``; meant for the structured NTK. Cost O(N * (P - n_{L-1})).
    """
    features = [x]
    for layer, weight in enumerate(weights[:-1]):
        g = matmul(features[-1], weight)
        if biases is not None:
            g += biases[layer]
        features.append(torch.relu_(g))
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


def _as_bias_std(bias_std, depth: int) -> tuple[float, ...]:
    """bias_std as one float >= 0 per layer (a single float is used for every layer)."""
    if isinstance(bias_std, (str, bytes)):
        raise InvalidArgument(f"bias_std must be a float >= 0 or a sequence of {depth} of them, got {bias_std!r}")
    if isinstance(bias_std, Sequence | np.ndarray):
        if len(bias_std) != depth:
            raise InvalidArgument(f"bias_std must have one entry per layer (L = {depth}), got {len(bias_std)}")
        return tuple(as_nonnegative_float(b, f"bias_std[{i}]") for i, b in enumerate(bias_std))
    return (as_nonnegative_float(bias_std, "bias_std"),) * depth


def bias_scales(widths: Sequence[int], betas: Sequence[float], bias_std: Sequence[float]) -> tuple[float, ...]:
    """The multipliers c_0, ..., c_{L-1} of the bias parameters, b_l = c_{l-1} v_l (see ``ReLUNet``):
    c_{l-1} = bias_std_l * sqrt(prod_{m=1}^{l-1} n_m beta_m^2 / 2), the typical size of a coordinate of
    f_{l-1} = sigma(g_{l-1}) relative to the normalization of eq. (4)."""
    scales, level = [], 1.0
    for layer, std in enumerate(bias_std):
        scales.append(std * math.sqrt(level))
        level *= widths[layer + 1] * betas[layer] ** 2 / 2.0
    return tuple(scales)


def _draw(generator: torch.Generator, shape: tuple[int, ...], beta: float, distribution: str) -> torch.Tensor:
    """i.i.d. entries of mean 0 and variance beta^2: N(0, beta^2), beta * (+-1), or U(-sqrt(3) beta, sqrt(3) beta)."""
    if distribution == "gaussian":
        return beta * torch.randn(*shape, generator=generator, dtype=torch.float64)
    if distribution == "rademacher":
        signs = torch.randint(0, 2, shape, generator=generator, dtype=torch.int64).to(torch.float64)
        return beta * (2.0 * signs - 1.0)
    return (beta * math.sqrt(3.0)) * (2.0 * torch.rand(*shape, generator=generator, dtype=torch.float64) - 1.0)


def _as_device(device) -> str:
    return as_device(device, "device")  # "cpu", "cuda", "cuda:N" or a torch.device


class ReLUNet:
    """An L-layer ReLU network of eq. (1) with weights W_l of i.i.d. entries of variance beta_l^2.

    ``widths = (n_0 = d, n_1, ..., n_{L-1}, n_L = 1)``; ``init`` picks beta_l ("standard": 1,
    "he": sqrt(2/n_{l-1}), "lecun": sqrt(1/n_{l-1})) unless ``betas`` (L positive floats) is given.
    ``weight_distribution``: "gaussian" (N(0, beta_l^2), the paper's), "rademacher" (+-beta_l) or
    "uniform" (U(-sqrt 3 beta_l, sqrt 3 beta_l)); all have variance beta_l^2, so every scale of the
    paper ((4), (23)) is unchanged. The weights are drawn on the CPU in float64 from a torch.Generator
    seeded with ``seed``, layer by layer, then moved to ``device``: the same seed gives the same
    weights on every device.

    Biases (``bias_std``: a float >= 0, or one per layer l = 1..L). The bias of layer l is the weight
    row of a constant extra input c_{l-1} of layer l: g_l = W_l^T f_{l-1} + b_l with b_l = c_{l-1} v_l,
    the parameter v_l in R^{n_l} drawn like a row of W_l (variance beta_l^2), and
        c_{l-1} = bias_std_l * sqrt(prod_{m=1}^{l-1} n_m beta_m^2 / 2)
    (``bias_scales``). This is the normalization under which (4) still holds: with beta_l = 1,
    (prod_{l<L} 2/n_l) Kbar^(L) converges to the limiting NTK of (9)-(12) with G^(l) replaced by
    G^(l) + bias_std_l^2 1 1^T at every level (``limiting_ntk(..., bias_std=...)``), because c_{l-1}^2
    grows with the widths exactly as f_{l-1}^T f_{l-1} does. At layer 1 under "standard",
    b_1 ~ N(0, bias_std_1^2). The trainable parameters are theta = [vec W_1, ..., vec W_L, v_1, ..., v_L],
    so d f_L / d v_l = c_{l-1} B_l and the term of layer k+1 in (3) becomes
    (F_k F_k^T + c_k^2 1 1^T) o (B_{k+1} B_{k+1}^T). The v_l are drawn after all the weights from the
    same generator, and only when some bias_std_l > 0: bias_std = 0 (the default) is today's net, draw
    for draw.

    Attributes: widths, depth (L), betas (None for ``from_weights``), weights (W_1..W_L), device,
    bias_std (L floats; None for ``from_weights``), weight_distribution, and, for a net with biases,
    bias_params (v_1..v_L), bias_scales (c_0..c_{L-1}) and biases (b_1..b_L); all three are None without.
    """

    def __init__(self, widths, init: str = "he", betas=None, seed: int = 0, device: str | torch.device = "cpu", *,
                 bias_std=0.0, weight_distribution: str = "gaussian"):
        widths = as_int_sequence(widths, "widths", minimum=1, min_length=2)
        if widths[-1] != 1:
            raise InvalidArgument(f"widths must end with n_L = 1 (one output, eq. (1)), got widths={widths}")
        init = as_choice(init, "init", INITS)
        betas = _init_betas(widths, init) if betas is None else _as_betas(betas, len(widths) - 1)
        bias_std = _as_bias_std(bias_std, len(widths) - 1)
        weight_distribution = as_choice(weight_distribution, "weight_distribution", WEIGHT_DISTRIBUTIONS)
        device = _as_device(device)
        generator = torch.Generator().manual_seed(as_seed(seed))
        weights = [_draw(generator, (n_in, n_out), beta, weight_distribution)
                   for beta, n_in, n_out in zip(betas, widths[:-1], widths[1:])]
        params = scales = None
        if any(std > 0 for std in bias_std):
            params = [_draw(generator, (n_out,), beta, weight_distribution) for beta, n_out in zip(betas, widths[1:])]
            scales = bias_scales(widths, betas, bias_std)
        self._adopt(weights, betas, device, params, scales)
        self.bias_std: tuple[float, ...] | None = bias_std  # None: a net from_weights (its biases are given)
        self.weight_distribution: str | None = weight_distribution

    @classmethod
    def from_weights(cls, weights, device: str | torch.device = "cpu", biases=None) -> "ReLUNet":
        """A net with the given W_1..W_L (arrays or tensors, W_l of shape (n_{l-1}, n_l), n_L = 1) and,
        optionally, biases b_1..b_L (vectors of n_l entries); the bias parameters are then the b_l
        themselves (v_l = b_l, c_{l-1} = 1)."""
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
        params = None if biases is None else _as_biases(biases, [m.shape[1] for m in matrices])
        net = cls.__new__(cls)
        # torch.tensor copies, so the net never aliases the caller's arrays
        net._adopt([torch.tensor(m) for m in matrices], None, _as_device(device),
                   None if params is None else [torch.tensor(b) for b in params],
                   None if params is None else (1.0,) * len(matrices))
        net.bias_std, net.weight_distribution = None, None
        return net

    def _adopt(self, weights: list[torch.Tensor], betas, device: str, bias_params=None, scales=None) -> None:
        self.weights = [w.to(device) for w in weights]
        self.widths = (weights[0].shape[0],) + tuple(w.shape[1] for w in weights)
        self.depth = len(weights)
        self.betas = betas
        self.device = device
        self.bias_params = None if bias_params is None else [v.to(device) for v in bias_params]
        self.bias_scales = scales

    @property
    def biases(self) -> list[torch.Tensor] | None:
        """[b_1, ..., b_L], b_l = c_{l-1} v_l (each (n_l,)), or None for a net without biases."""
        if self.bias_params is None:
            return None
        return [scale * v for scale, v in zip(self.bias_scales, self.bias_params)]

    def with_parameters(self, weights, bias_params=None) -> "ReLUNet":
        """A copy of this net with new W_1..W_L (and v_1..v_L) as float64 tensors, same shapes and bias
        scales (used by ``ntkcheck.training``; the tensors are adopted, not copied)."""
        net = self.__class__.__new__(self.__class__)
        net._adopt(list(weights), self.betas, self.device,
                   None if bias_params is None else list(bias_params), self.bias_scales)
        net.bias_std, net.weight_distribution = self.bias_std, self.weight_distribution
        return net

    def __repr__(self) -> str:
        extra = ""
        if self.bias_std is not None and any(self.bias_std):
            extra += f", bias_std={self.bias_std}"
        if self.weight_distribution not in (None, "gaussian"):
            extra += f", weight_distribution={self.weight_distribution!r}"
        return f"ReLUNet(widths={self.widths}, betas={self.betas}{extra}, device={self.device!r})"

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
        return forward(self.weights, self.input_tensor(X), self.biases)


def _as_biases(biases, widths: list[int]) -> list[np.ndarray]:
    """b_1..b_L for ``from_weights``: finite vectors of n_l entries."""
    if isinstance(biases, (str, bytes)) or not isinstance(biases, Sequence) or len(biases) != len(widths):
        raise InvalidArgument(f"biases must be a list of {len(widths)} vectors (one per layer), got {biases!r}")
    out = []
    for i, (b, n) in enumerate(zip(biases, widths)):
        vector = as_matrix(np.reshape(np.asarray(b.detach().cpu() if hasattr(b, "detach") else b), (1, -1)),
                           f"biases[{i}]", columns=n)[0]
        out.append(vector)
    return out


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()
