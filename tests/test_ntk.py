"""empirical_ntk and jacobian: the Section 4.1 decomposition against the autograd oracle of eq. (2)-(3)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ntkcheck import InvalidArgument
from ntkcheck.data import sample_data
from ntkcheck.linalg import lambda_min
from ntkcheck.network import ReLUNet
from ntkcheck.ntk import empirical_ntk, jacobian

N_SAMPLES = 12
ARCHITECTURES = [
    (6, 1),                   # L = 1: K = X X^T
    (6, 20, 1),               # L = 2
    (6, 20, 15, 1),           # L = 3
    (10, 40, 3, 40, 1),       # a bottleneck between two wide layers
    (6, 60, 8, 8, 1),         # the wide layer first ...
    (6, 8, 60, 8, 1),         # ... in the middle ...
    (6, 8, 8, 60, 1),         # ... last
    (6, 7, 9, 5, 11, 1),      # L = 5
]
BLOCK_SIZES = [1, 5, N_SAMPLES, 3 * N_SAMPLES]  # single rows, a ragged last block, one block, more than N
# Structured and autograd sum the same products in different orders: both are backward stable, so they
# agree to ~1e-15 relative; 1e-10 is the project's agreement target with room for depth and width.
ORACLE_RTOL = 1e-10
# Same Gram products cut into different row blocks: BLAS may reorder sums, nothing else changes.
ROUNDING_RTOL = 1e-13
# Central differences of a piecewise-linear function are exact away from kinks, up to cancellation
# ~ eps * |f| / step with step 1e-6.
FINITE_DIFFERENCE_RTOL = 1e-6
# A PSD Gram matrix computed in float64 has eigenvalues >= -(a few eps) * ||K||.
PSD_RTOL = 1e-12
HYPOTHESIS_EXAMPLES = 30


def assert_close(actual, expected, rtol, what):
    """The one matrix comparison of this suite: relative Frobenius error, with the numbers in the message."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = np.linalg.norm(expected)
    error = np.linalg.norm(actual - expected) / scale if scale > 0 else np.linalg.norm(actual)
    assert error <= rtol, f"{what}: relative Frobenius error {error:.3e} > {rtol:.1e} (||expected|| = {scale:.3e})"


def data(d, n=N_SAMPLES, seed=0):
    return sample_data("gaussian", n=n, d=d, seed=seed)


def layer_columns(widths):
    """The column slices of J belonging to W_1, ..., W_L (eq. (2))."""
    offsets = np.cumsum([0] + [a * b for a, b in zip(widths[:-1], widths[1:])])
    return [slice(start, stop) for start, stop in zip(offsets[:-1], offsets[1:])]


@pytest.mark.parametrize("widths", ARCHITECTURES, ids=str)
def test_structured_matches_autograd(widths):
    net = ReLUNet(widths, init="he", seed=1)
    X = data(widths[0])
    assert_close(empirical_ntk(net, X), empirical_ntk(net, X, method="autograd"), ORACLE_RTOL, f"K {widths}")


@pytest.mark.parametrize("init, betas", [("standard", None), ("he", None), ("lecun", None),
                                         ("he", (0.3, 1.7, 0.05, 2.0))])
def test_structured_matches_autograd_for_each_init(init, betas):
    widths = (10, 40, 3, 40, 1)
    net = ReLUNet(widths, init=init, betas=betas, seed=2)
    X = data(widths[0], seed=3)
    assert_close(empirical_ntk(net, X), empirical_ntk(net, X, method="autograd"), ORACLE_RTOL, f"K {init} {betas}")


def test_comparison_can_fail():
    # Negative control: dropping the W_L term of eq. (3), or the printed B_L = 1_N / sqrt(N) of Section 4.1
    # (which scales every term by 1/N), is caught by the comparison used above.
    widths = (6, 20, 15, 1)
    net, X = ReLUNet(widths, seed=1), data(widths[0])
    terms, K = empirical_ntk(net, X, per_layer=True), empirical_ntk(net, X, method="autograd")
    with pytest.raises(AssertionError, match="relative Frobenius error"):
        assert_close(terms[:-1].sum(axis=0), K, ORACLE_RTOL, "K without the W_L term")
    with pytest.raises(AssertionError, match="relative Frobenius error"):
        assert_close(terms.sum(axis=0) / N_SAMPLES, K, ORACLE_RTOL, "K with B_L = 1/sqrt(N)")


@pytest.mark.parametrize("widths", ARCHITECTURES[1:5], ids=str)
def test_per_layer_terms_are_the_blocks_of_J(widths):
    net, X = ReLUNet(widths, seed=4), data(widths[0])
    J = jacobian(net, X)
    terms = empirical_ntk(net, X, per_layer=True)
    oracle_terms = empirical_ntk(net, X, method="autograd", per_layer=True)
    assert terms.shape == (net.depth, N_SAMPLES, N_SAMPLES)
    assert_close(terms.sum(axis=0), empirical_ntk(net, X), ROUNDING_RTOL, "sum of per-layer terms")
    for k, columns in enumerate(layer_columns(widths)):
        block = J[:, columns]
        assert_close(terms[k], block @ block.T, ORACLE_RTOL, f"term of W_{k + 1}")
        assert_close(oracle_terms[k], block @ block.T, ROUNDING_RTOL, f"autograd term of W_{k + 1}")


@pytest.mark.parametrize("method", ["structured", "autograd"])
@pytest.mark.parametrize("per_layer", [False, True])
@pytest.mark.parametrize("block_size", BLOCK_SIZES)
def test_block_size_gives_the_same_matrix(method, per_layer, block_size):
    widths = (10, 40, 3, 40, 1)
    net, X = ReLUNet(widths, seed=5), data(widths[0])
    full = empirical_ntk(net, X, method, per_layer=per_layer)
    blocked = empirical_ntk(net, X, method, per_layer=per_layer, block_size=block_size)
    assert_close(blocked, full, ROUNDING_RTOL, f"{method} per_layer={per_layer} block_size={block_size}")


# What the output and the factors take for widths (10, 40, 3, 40, 1), N = 12, in bytes: 8 * N * (N + columns),
# with columns = F_0..F_3 and B_1..B_4 (93 + 84) for structured, P = 680 (J) for autograd.
# Plus the widest boolean mask of the backward pass, 12 * 40 bytes.
RESIDENT_BYTES = {"structured": 8 * 12 * (12 + 93 + 84) + 480, "autograd": 8 * 12 * (12 + 680) + 480}
# Spare bytes for the two Gram tiles: tiles of side 1 (16 bytes), 4 (256 bytes), and all N.
SPARE_BYTES = [16, 256, 10**9]


@pytest.mark.parametrize("method", ["structured", "autograd"])
@pytest.mark.parametrize("spare", SPARE_BYTES)
def test_max_memory_gives_the_same_symmetric_matrix(method, spare):
    widths, max_memory = (10, 40, 3, 40, 1), RESIDENT_BYTES[method] + spare
    net, X = ReLUNet(widths, seed=5), data(widths[0])
    full = empirical_ntk(net, X, method)
    budgeted = empirical_ntk(net, X, method, max_memory=max_memory)
    assert_close(budgeted, full, ROUNDING_RTOL, f"{method} max_memory={max_memory}")
    assert np.array_equal(budgeted, budgeted.T), "tiles below the diagonal are the transposes of those above"


def test_max_memory_too_small_says_how_much_is_needed():
    needed = RESIDENT_BYTES["structured"] + 16
    with pytest.raises(InvalidArgument, match=rf"^max_memory must be at least \d+ KiB \({needed} bytes\)"):
        empirical_ntk(ReLUNet((10, 40, 3, 40, 1)), data(10), max_memory=needed - 1)


@pytest.mark.parametrize("widths", ARCHITECTURES[1:], ids=str)
def test_jacobian_blocks_are_khatri_rao_of_features_and_backprop_vectors(widths):
    # Section 4.1: dF_L/dvec(W_{k+1}) has rows F_k[i] (x) B_{k+1}[i]; with row-major vec, F comes first.
    net, X = ReLUNet(widths, seed=6), data(widths[0])
    J = jacobian(net, X)
    assert J.shape == (N_SAMPLES, sum(a * b for a, b in zip(widths[:-1], widths[1:])))
    pairs = zip(net.features(X), net.backprop_vectors(X), layer_columns(widths))
    for k, (F, B, columns) in enumerate(pairs):
        khatri_rao = np.einsum("ia,ib->iab", F, B).reshape(N_SAMPLES, -1)
        assert_close(J[:, columns], khatri_rao, ORACLE_RTOL, f"dF_L/dvec(W_{k + 1})")


@pytest.mark.parametrize("layer, row, column", [(0, 2, 3), (1, 4, 0), (2, 0, 0)])
def test_jacobian_column_is_a_finite_difference(layer, row, column):
    # Independent of autograd: perturb one weight entry and difference the outputs of eq. (1).
    widths, step = (5, 6, 4, 1), 1e-6
    net, X = ReLUNet(widths, seed=7), data(widths[0])

    def outputs(shift):
        weights = [w.numpy().copy() for w in net.weights]
        weights[layer][row, column] += shift
        return ReLUNet.from_weights(weights).outputs(X)

    derivative = (outputs(step) - outputs(-step)) / (2 * step)
    index = layer_columns(widths)[layer].start + row * widths[layer + 1] + column
    assert_close(jacobian(net, X)[:, index], derivative, FINITE_DIFFERENCE_RTOL, f"column of W_{layer + 1}")


def test_relu_derivative_at_zero_is_zero_in_both_methods():
    # Integer weights and data make many pre-activations exactly 0, where sigma'(0) = 0 (Section 1) matters.
    rng = np.random.default_rng(8)
    weights = [rng.integers(-1, 2, size=shape).astype(float) for shape in [(4, 6), (6, 5), (5, 1)]]
    X = rng.integers(-1, 2, size=(N_SAMPLES, 4)).astype(float)
    net = ReLUNet.from_weights(weights)
    assert sum(np.count_nonzero(g == 0) for g in net.preactivations(X)[:-1]) > 0
    assert_close(empirical_ntk(net, X), empirical_ntk(net, X, method="autograd"), ORACLE_RTOL, "K at kinks")


@st.composite
def nets_and_data(draw):
    depth = draw(st.integers(1, 4))
    widths = tuple(draw(st.lists(st.integers(1, 8), min_size=depth, max_size=depth))) + (1,)
    init = draw(st.sampled_from(["standard", "he", "lecun"]))
    net = ReLUNet(widths, init=init, seed=draw(st.integers(0, 2**16)))
    return net, data(widths[0], n=draw(st.integers(1, 8)), seed=draw(st.integers(0, 2**16)))


@settings(max_examples=HYPOTHESIS_EXAMPLES, deadline=None)  # deadline off: the first vmap call warms torch up
@given(nets_and_data())
def test_ntk_is_a_gram_matrix(net_and_data):
    net, X = net_and_data
    K = empirical_ntk(net, X)
    scale = max(np.linalg.norm(K), np.finfo(float).tiny)
    assert_close(K, K.T, ROUNDING_RTOL, "K vs K^T")
    assert lambda_min(K) >= -PSD_RTOL * scale
    assert_close(np.diag(K), np.sum(jacobian(net, X) ** 2, axis=1), ORACLE_RTOL, "diag(K) vs row norms of J")


def test_same_seed_same_matrix_different_seed_different():
    widths = (6, 20, 15, 1)
    X = data(widths[0])
    first, again = (empirical_ntk(ReLUNet(widths, seed=9), X) for _ in range(2))
    assert np.array_equal(first, again)
    assert not np.allclose(first, empirical_ntk(ReLUNet(widths, seed=10), X))


@pytest.mark.parametrize("kwargs, argument", [
    ({"method": "jacobian"}, "method"),
    ({"block_size": 0}, "block_size"),
    ({"block_size": 2.5}, "block_size"),
    ({"per_layer": "yes"}, "per_layer"),
    ({"max_memory": 0}, "max_memory"),
    ({"max_memory": "1GiB"}, "max_memory"),
    ({"max_memory": 10**9, "block_size": 4}, "block_size"),
    ({"X": np.ones((4, 5))}, "X"),
    ({"X": np.ones(6)}, "X"),
    ({"X": np.full((4, 6), np.nan)}, "X"),
    ({"X": np.full((4, 6), np.inf)}, "X"),
    ({"net": "a net"}, "net"),
])
def test_bad_input_names_the_argument(kwargs, argument):
    arguments = {"net": ReLUNet((6, 5, 1)), "X": data(6)} | kwargs
    with pytest.raises(InvalidArgument, match=f"^{argument} "):
        empirical_ntk(**arguments)


def test_jacobian_validates_its_arguments():
    with pytest.raises(InvalidArgument, match="X must have 6 columns"):
        jacobian(ReLUNet((6, 5, 1)), np.ones((3, 2)))
    with pytest.raises(InvalidArgument, match="net"):
        jacobian(None, np.ones((3, 6)))


# ---- the engineer's API (issue 18, item 7): cross-kernels, devices, memory estimates, read-only inputs ----
import re  # noqa: E402
import warnings  # noqa: E402

import torch  # noqa: E402

from ntkcheck import _validate  # noqa: E402
from ntkcheck.limiting import limiting_ntk  # noqa: E402

CROSS_ROWS = (7, 5)


@pytest.mark.parametrize("method", ["structured", "autograd"])
@pytest.mark.parametrize("per_layer", [False, True])
@pytest.mark.parametrize("block_size", [None, 2, 3 * N_SAMPLES])
def test_cross_kernel_is_the_block_of_the_stacked_square_case(method, per_layer, block_size):
    net = ReLUNet((6, 20, 15, 1), seed=3)
    X1, X2 = data(6, n=CROSS_ROWS[0], seed=11), data(6, n=CROSS_ROWS[1], seed=12)
    square = empirical_ntk(net, np.vstack([X1, X2]), method=method, per_layer=per_layer)
    cross = empirical_ntk(net, X1, X2, method=method, per_layer=per_layer, block_size=block_size)
    assert_close(cross, square[..., :CROSS_ROWS[0], CROSS_ROWS[0]:], ROUNDING_RTOL, "cross block")
    assert_close(empirical_ntk(net, X2, X1, method=method, per_layer=per_layer),
                 np.swapaxes(cross, -1, -2), ROUNDING_RTOL, "K(X2, X1) = K(X1, X2)^T")


def test_cross_kernel_with_itself_is_the_square_case_and_old_positional_method_still_works():
    net, X = ReLUNet((6, 20, 1), seed=4), data(6)
    np.testing.assert_array_equal(empirical_ntk(net, X, X.copy()), empirical_ntk(net, X))
    np.testing.assert_array_equal(empirical_ntk(net, X, "autograd"), empirical_ntk(net, X, method="autograd"))


def test_cross_kernel_bad_input_names_x2():
    with pytest.raises(InvalidArgument, match=r"^X2 must have 6 columns"):
        empirical_ntk(ReLUNet((6, 20, 1)), data(6, n=4), np.ones((3, 5)))


@pytest.mark.parametrize("device", ["cpu", torch.device("cpu"), "CPU".lower()])
def test_device_accepts_strings_and_torch_devices(device):
    net = ReLUNet((6, 20, 1), device=device)
    assert net.device == "cpu" and net.weights[0].device.type == "cpu"


@pytest.mark.parametrize("device, pattern", [
    ("tpu", r"^device must be 'cpu', 'cuda', 'cuda:N' or a torch.device, got 'tpu'"),
    (3, r"^device must be 'cpu', 'cuda', 'cuda:N' or a torch.device, got 3"),
    ("meta", r"^device must be a CPU or CUDA device"),
    ("cuda:x", r"^device must be"),
])
def test_bad_device_names_the_argument(device, pattern):
    with pytest.raises(InvalidArgument, match=pattern):
        ReLUNet((6, 20, 1), device=device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:0", torch.device("cuda", 1)])
def test_cuda_without_cuda_is_a_clear_error(device):
    with pytest.raises(InvalidArgument, match=r"^device .* torch.cuda.is_available\(\) is False"):
        ReLUNet((6, 20, 1), device=device)


def test_cuda_index_beyond_the_device_count_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert _validate.as_device("cuda:1") == "cuda:1" and _validate.as_device(torch.device("cuda")) == "cuda"
    with pytest.raises(InvalidArgument, match=r"^device 'cuda:2' does not exist: torch.cuda.device_count\(\) is 2"):
        _validate.as_device("cuda:2")


def test_an_output_that_cannot_fit_is_refused_before_any_allocation():
    """N = 2 * 10^6: the (N, N) output alone would take 29 TiB; the error comes at once (no forward pass),
    in GiB, naming the fix."""
    X = np.zeros((2_000_000, 2))
    with pytest.raises(InvalidArgument, match=r"need \d+\.\d GiB, but only .* available on cpu; use fewer samples"):
        empirical_ntk(ReLUNet((2, 4, 1)), X)
    with pytest.raises(InvalidArgument, match=r"limiting_ntk\(X\[rows\], depth, X2=X\)"):
        limiting_ntk(X, 2)


@pytest.mark.parametrize("kwargs, fix", [
    ({}, r"pass max_memory= \(bytes, e.g. \d+\) or a smaller block_size="),
    ({"per_layer": True}, r"use per_layer=False"),
    ({"method": "autograd"}, r"use method='structured'"),
])
def test_memory_errors_name_the_option_that_fixes_them(monkeypatch, kwargs, fix):
    net, X = ReLUNet((6, 64, 64, 1)), data(6, n=200)
    # the output, F_0..F_2 and B_1..B_3, and backward()'s boolean mask (one byte per entry of the widest layer)
    output, factors = 8 * 200 * 200, 8 * 200 * (6 + 64 + 64 + 64 + 64 + 1) + 200 * 64
    budget = output + factors + 1000 if not kwargs else output + 100  # the tiles (or the rest) do not fit
    reference = empirical_ntk(net, X)
    monkeypatch.setattr(_validate, "available_bytes", lambda device="cpu": budget)
    with pytest.raises(InvalidArgument, match=fix) as error:
        empirical_ntk(net, X, **kwargs)
    if not kwargs:  # the suggested fix works within the same budget's reach
        suggested = int(re.search(r"e\.g\. (\d+)", str(error.value)).group(1))
        monkeypatch.setattr(_validate, "available_bytes", lambda device="cpu": suggested)
        assert_close(empirical_ntk(net, X, max_memory=suggested), reference,
                     ROUNDING_RTOL, "tiled by the suggested max_memory")


def test_read_only_inputs_are_copied_without_a_warning():
    X = data(6)
    X.flags.writeable = False
    net = ReLUNet((6, 20, 15, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        K = empirical_ntk(net, X, X[:3])
        outputs = net.outputs(X)
        limiting = limiting_ntk(X, 3, X2=X[:3])
    assert K.shape == (N_SAMPLES, 3) and outputs.shape == (N_SAMPLES,) and limiting.shape == (N_SAMPLES, 3)
    assert not X.flags.writeable
