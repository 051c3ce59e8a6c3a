"""ntkcheck.gradient_descent (issue 16): full-batch GD on the squared loss of eq. (5), against torch autograd and
against the linearized (kernel regression with Kbar_0) dynamics at large width."""
import io

import numpy as np
import pytest
import torch

import ntkcheck as nc
from ntkcheck import InvalidArgument
from ntkcheck.training import gradient_descent, loss_and_gradient

N = 8
D = 16
# The hand-written gradient F_{l-1}^T diag(r) B_l and autograd sum the same products in different orders.
GRADIENT_RTOL = 1e-12
# Linearized GD: f_t = y + (I - lr Kbar_0)^t (f_0 - y). Measured relative gap after 20 steps at lr = 0.5/lambda_max
# (seed 3, N = 8, d = 16): widths (16, 4096, 1) 1.7e-6, (16, 1024, 1024, 1) 2.2e-3, (16, 16, 16, 1) 0.195.
LINEAR_STEPS = 20
WIDE_GAP = {(D, 4096, 1): 1e-4, (D, 1024, 1024, 1): 1e-2}
NARROW_GAP = 1e-2


def problem(widths=(D, 20, 12, 1), seed=3, **kwargs):
    X = nc.sample_data("gaussian", n=N, d=widths[0], seed=1)
    y = np.random.default_rng(2).standard_normal(N)
    return nc.ReLUNet(widths, init="he", seed=seed, **kwargs), X, y


def autograd_step(net, X, y, lr):
    """theta - lr grad Phi with grad Phi from torch autograd on Phi = 1/2 ||F_L - y||^2 (eq. (5))."""
    params = [p.detach().clone().requires_grad_(True)
              for p in net.weights + (net.bias_params or [])]
    depth = net.depth
    biases = None if net.bias_params is None else [c * v for c, v in zip(net.bias_scales, params[depth:])]
    out = nc.network.forward(params[:depth], torch.from_numpy(X), biases)[0][-1][:, 0]
    loss = 0.5 * ((out - torch.from_numpy(y)) ** 2).sum()
    grads = torch.autograd.grad(loss, params)
    return [(p - lr * g).detach() for p, g in zip(params, grads)], float(loss.detach())


@pytest.mark.parametrize("bias_std", [0.0, 0.7])
def test_one_step_matches_autograd(bias_std):
    net, X, y = problem(bias_std=bias_std)
    lr = 1e-3
    expected, loss = autograd_step(net, X, y, lr)
    trained = gradient_descent(net, X, y, steps=1, lr=lr).net
    got = trained.weights + (trained.bias_params or [])
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert float((a - b).abs().max()) <= GRADIENT_RTOL * float(b.abs().max())
    assert loss_and_gradient(net, torch.from_numpy(X), torch.from_numpy(y))[0] == pytest.approx(loss, rel=1e-13)


def test_trajectory_records_and_leaves_the_input_net_alone():
    net, X, y = problem()
    before = [w.clone() for w in net.weights]
    traj = gradient_descent(net, X, y, steps=10, lr=1e-3, record_every=3)
    assert list(traj.step) == [0, 3, 6, 9, 10]
    K0 = nc.empirical_ntk(net, X)
    np.testing.assert_array_equal(traj.ntk0, K0)
    assert traj.loss[0] == pytest.approx(0.5 * np.sum((net.outputs(X) - y) ** 2), rel=1e-13)
    assert traj.lambda_min[0] == nc.lambda_min(K0) and traj.ntk_change[0] == 0 and traj.param_change[0] == 0
    assert np.all(np.diff(traj.loss) < 0)  # a small step decreases the loss
    K10 = nc.empirical_ntk(traj.net, X)
    assert traj.ntk_change[-1] == pytest.approx(np.linalg.norm(K10 - K0, 2) / nc.lambda_min(K0), rel=1e-10)
    assert traj.lambda_min[-1] == pytest.approx(nc.lambda_min(K10), rel=1e-10)
    moved = np.sqrt(sum(float(((a - b) ** 2).sum()) for a, b in zip(traj.net.weights, before)))
    assert traj.param_change[-1] == pytest.approx(moved / np.sqrt(sum(float((b ** 2).sum()) for b in before)))
    assert all(torch.equal(a, b) for a, b in zip(net.weights, before))


def test_stop_ratio_stops_after_the_loss_falls_by_it():
    net, X, y = problem()
    lr = 0.5 / np.linalg.eigvalsh(nc.empirical_ntk(net, X))[-1]
    traj = gradient_descent(net, X, y, steps=100000, lr=lr, record_every=1000, stop_ratio=1e-6)
    assert traj.loss[-1] <= 1e-6 * traj.loss[0] < traj.loss[-2]
    assert traj.step[-1] < 100000


@pytest.mark.parametrize("widths", sorted(WIDE_GAP))
def test_wide_net_follows_kernel_regression_with_kbar0(widths):
    net, X, y = problem(widths)
    K0 = nc.empirical_ntk(net, X)
    lr = 0.5 / np.linalg.eigvalsh(K0)[-1]
    traj = gradient_descent(net, X, y, steps=LINEAR_STEPS, lr=lr, record_every=LINEAR_STEPS)
    linear = y + np.linalg.matrix_power(np.eye(N) - lr * K0, LINEAR_STEPS) @ (traj.outputs0 - y)
    gap = np.linalg.norm(traj.net.outputs(X) - linear) / np.linalg.norm(traj.outputs0 - y)
    assert gap <= WIDE_GAP[widths], f"linearized GD off by {gap:.3g} at widths {widths}"


def test_narrow_net_leaves_kernel_regression():
    # Contrast to the test above (the comparison can fail): a narrow net moves its NTK and leaves the linear path.
    net, X, y = problem((D, 16, 16, 1))
    K0 = nc.empirical_ntk(net, X)
    lr = 0.5 / np.linalg.eigvalsh(K0)[-1]
    traj = gradient_descent(net, X, y, steps=LINEAR_STEPS, lr=lr, record_every=LINEAR_STEPS)
    linear = y + np.linalg.matrix_power(np.eye(N) - lr * K0, LINEAR_STEPS) @ (traj.outputs0 - y)
    assert np.linalg.norm(traj.net.outputs(X) - linear) / np.linalg.norm(traj.outputs0 - y) > NARROW_GAP


def test_progress_only_when_asked_or_on_a_terminal(capsys, monkeypatch):
    net, X, y = problem()
    gradient_descent(net, X, y, steps=300, lr=1e-4, record_every=300)
    assert capsys.readouterr().err == ""  # pytest's stderr is not a TTY
    gradient_descent(net, X, y, steps=3, lr=1e-4, progress=True)
    assert "gradient_descent" in capsys.readouterr().err
    fake = io.StringIO()
    fake.isatty = lambda: True
    monkeypatch.setattr("sys.stderr", fake)
    gradient_descent(net, X, y, steps=300, lr=1e-4, record_every=300)
    assert "300 steps" in fake.getvalue()


@pytest.mark.parametrize("kwargs, argument", [
    ({"steps": 0}, "steps"),
    ({"steps": -3}, "steps"),
    ({"steps": 2.5}, "steps"),
    ({"lr": 0.0}, "lr"),
    ({"lr": -1e-3}, "lr"),
    ({"lr": float("nan")}, "lr"),
    ({"lr": float("inf")}, "lr"),
    ({"record_every": 0}, "record_every"),
    ({"stop_ratio": 1.0}, "stop_ratio"),
    ({"stop_ratio": 0.0}, "stop_ratio"),
    ({"progress": "yes"}, "progress"),
    ({"y": np.zeros(N - 1)}, "y"),
    ({"y": np.zeros((N, 2))}, "y"),
    ({"y": np.full(N, np.nan)}, "y"),
    ({"net": "a net"}, "net"),
])
def test_bad_input_names_the_argument(kwargs, argument):
    net, X, y = problem()
    arguments = {"net": net, "X": X, "y": y, "steps": 5, "lr": 1e-3, **kwargs}
    with pytest.raises(InvalidArgument, match=argument):
        gradient_descent(arguments.pop("net"), arguments.pop("X"), arguments.pop("y"), **arguments)
