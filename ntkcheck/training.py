"""Full-batch gradient descent on the squared loss of eq. (5), tracking the NTK along the way (beyond the paper).

Section 8 leaves open "to track the movement of the NTK-related quantities during the course of training": this
module measures them. With Phi(theta) = 1/2 ||F_L(theta) - Y||_2^2 (eq. (5)) and r = F_L - Y (N,), one step is
theta <- theta - lr grad Phi, where, by the back-propagated vectors of Section 4.1 (row i of B_l is
d f_L(x_i) / d g_l(x_i)),

    grad_{W_l} Phi = F_{l-1}^T diag(r) B_l,      grad_{v_l} Phi = c_{l-1} B_l^T r   (biases, see ReLUNet),

two matrix products per layer (BLAS-3) after one forward and one backward pass: O(N P) per step, J never formed.
At every recorded step the NTK Kbar_t = J_t J_t^T of (3) is computed by the structured path of Section 4.1
(``empirical_ntk``), O(N^2 sum_l n_l), and its smallest eigenvalue by ``lambda_min``, O(N^3).
"""
from __future__ import annotations

import math
import sys
import time
from typing import NamedTuple

import numpy as np
import torch

from ntkcheck._validate import InvalidArgument, as_int, as_positive_float
from ntkcheck.linalg import lambda_min
from ntkcheck.network import ReLUNet, backward, forward
from ntkcheck.ntk import _as_net, empirical_ntk

# Below this many steps a run takes well under a second on a laptop: no progress bar even on a terminal.
_PROGRESS_MIN_STEPS = 200


class Trajectory(NamedTuple):
    """What ``gradient_descent`` recorded, one entry per recorded step (arrays of equal length R):

    step: the step index t (0 = initialization); loss: Phi(theta_t) of eq. (5); lambda_min: lambda_min(Kbar_t);
    ntk_change: ||Kbar_t - Kbar_0||_op / lambda_min(Kbar_0); param_change: ||theta_t - theta_0|| / ||theta_0||
    (theta = all weights, and the bias parameters v_l for a net with biases). ntk0: Kbar_0 (N, N);
    net: the trained net (a new ReLUNet; the input net is unchanged); outputs0: F_L(theta_0) (N,)."""

    step: np.ndarray
    loss: np.ndarray
    lambda_min: np.ndarray
    ntk_change: np.ndarray
    param_change: np.ndarray
    ntk0: np.ndarray
    net: ReLUNet
    outputs0: np.ndarray


def _as_targets(y, n: int) -> np.ndarray:
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    try:
        array = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"y must be a vector of N = {n} real targets, got {type(y).__name__}") from exc
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or array.shape[0] != n:
        raise InvalidArgument(f"y must have one target per row of X (shape ({n},)), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise InvalidArgument("y must be finite, got NaN or inf entries")
    return array


def loss_and_gradient(net: ReLUNet, x: torch.Tensor, y: torch.Tensor):
    """(Phi, outputs, [grad W_1..W_L], [grad v_1..v_L] or None) at the net's parameters, eq. (5), by the formulas
    of the module docstring. x (N, d) and y (N,) are float64 tensors on the net's device. Cost O(N P)."""
    preactivations, features = forward(net.weights, x, net.biases)
    outputs = preactivations[-1][:, 0]
    residual = outputs - y
    vectors = backward(net.weights, features)
    weight_grads = [f.T @ (b * residual[:, None]) for f, b in zip(features, vectors)]
    bias_grads = None
    if net.bias_params is not None:
        bias_grads = [c * (b.T @ residual) for c, b in zip(net.bias_scales, vectors)]
    return 0.5 * float(residual @ residual), outputs, weight_grads, bias_grads


def _parameters(net: ReLUNet) -> list[torch.Tensor]:
    return list(net.weights) + ([] if net.bias_params is None else list(net.bias_params))


def _norm(tensors) -> float:
    return math.sqrt(sum(float((t * t).sum()) for t in tensors))


def gradient_descent(net, X, y, *, steps, lr, record_every=1, stop_ratio=None, progress=None) -> Trajectory:
    """Full-batch gradient descent on Phi = 1/2 ||F_L - y||^2 (eq. (5)), float64, from the net's parameters.

    net: a ReLUNet (not modified: training works on a copy, returned as ``Trajectory.net``); X (N, d); y (N,) the
    targets; steps (>= 1): the number of steps; lr (> 0, finite): the step size; record_every (>= 1): record
    steps 0, record_every, 2 record_every, ..., and always the last one; stop_ratio (optional, in (0, 1)): stop
    after the first step t with Phi_t <= stop_ratio * Phi_0 (e.g. 1e-6, "the loss falls by 1e-6"); progress: a
    progress line on stderr (True / False; default: only when stderr is a terminal and steps >= 200).
    Returns a ``Trajectory``. Cost per step O(N P); per record O(N^2 sum_l n_l + N^3).
    """
    net = _as_net(net)
    x = net.input_tensor(X)
    targets = torch.from_numpy(_as_targets(y, x.shape[0])).to(net.device)
    steps = as_int(steps, "steps", minimum=1)
    lr = as_positive_float(lr, "lr")  # rejects 0, negative, NaN and inf
    record_every = as_int(record_every, "record_every", minimum=1)
    if stop_ratio is not None:
        stop_ratio = as_positive_float(stop_ratio, "stop_ratio")
        if stop_ratio >= 1:
            raise InvalidArgument(f"stop_ratio must be in (0, 1) (a fraction of the initial loss), got {stop_ratio}")
    if progress is None:
        progress = sys.stderr.isatty() and steps >= _PROGRESS_MIN_STEPS
    elif not isinstance(progress, bool):
        raise InvalidArgument(f"progress must be True, False or None, got {progress!r}")

    params = [p.clone() for p in _parameters(net)]
    start = [p.clone() for p in params]
    start_norm = _norm(start)
    depth = net.depth
    current = net.with_parameters(params[:depth], params[depth:] or None)
    ntk0 = empirical_ntk(current, X)
    lam0 = lambda_min(ntk0)
    rows = []

    def record(t: int, loss: float) -> None:
        kbar = empirical_ntk(current, X)
        change = float(np.linalg.norm(kbar - ntk0, 2)) / lam0 if t else 0.0
        moved = _norm([p - q for p, q in zip(params, start)]) / start_norm if start_norm else 0.0
        rows.append((t, loss, lambda_min(kbar) if t else lam0, change, moved))

    began = time.monotonic()
    loss0, outputs0, *_ = loss_and_gradient(current, x, targets)
    loss, t = loss0, 0
    with torch.no_grad():
        for t in range(steps + 1):
            loss, _, weight_grads, bias_grads = loss_and_gradient(current, x, targets)
            if t % record_every == 0 or t == steps:
                record(t, loss)
            stopped = stop_ratio is not None and t > 0 and loss <= stop_ratio * loss0
            if t == steps or stopped:
                break
            for p, g in zip(params, weight_grads + (bias_grads or [])):
                p.sub_(g, alpha=lr)
            if progress and (t % max(1, steps // 100) == 0):
                sys.stderr.write(f"\rgradient_descent: step {t}/{steps}, loss {loss:.4g}, "
                                 f"{time.monotonic() - began:.0f} s")
        if rows[-1][0] != t:
            record(t, loss)
    if progress:
        sys.stderr.write(f"\rgradient_descent: {t} steps, loss {loss:.4g}, {time.monotonic() - began:.1f} s\n")
    columns = [np.array(column) for column in zip(*rows)]
    return Trajectory(columns[0].astype(np.int64), *columns[1:], ntk0=ntk0, net=current,
                      outputs0=outputs0.cpu().numpy())
