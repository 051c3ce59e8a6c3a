"""Notation rows of docs/inventory.md checked on one instance (inventory row 1.3, gap A13).

Section 1 prints "g_l ... the pre-activation feature map so that f_l(x) = sigma(g_l(x))" with no range of l, while
(1) puts no ReLU on the output: f_L = W_L^T f_{L-1} = g_L. So f_l = sigma(g_l) holds for l in [L-1] only, and at
l = L it fails on any net whose output takes a negative value (half of the inputs of a random net, by the symmetry
W_L -> -W_L). The engine follows (1); tests/test_network.py checks the same forward pass against an independent one.
"""
import numpy as np

from ntkcheck import ReLUNet, sample_data

WIDTHS = (8, 32, 16, 1)  # L = 3
N = 64


def test_printed_f_equals_sigma_of_g_holds_below_the_output_layer_only():
    net = ReLUNet(WIDTHS, init="he", seed=3)
    X = sample_data("gaussian", N, WIDTHS[0], seed=3)
    g, f = net.preactivations(X), net.features(X)
    for l in range(1, net.depth):  # l in [L-1]: f_l = sigma(g_l) exactly
        assert np.array_equal(f[l], np.maximum(g[l - 1], 0.0)), f"f_{l} != sigma(g_{l})"
    output = net.outputs(X)
    assert np.array_equal(output, g[-1][:, 0]), "f_L != g_L: (1) puts no ReLU on the output"
    negative = int((output < 0).sum())
    # The printed f_L = sigma(g_L) would make every output >= 0; here some are negative (about half of N).
    assert negative > 0, "no negative output: the instance does not show f_L != sigma(g_L)"
    assert not np.array_equal(output, np.maximum(g[-1][:, 0], 0.0))
