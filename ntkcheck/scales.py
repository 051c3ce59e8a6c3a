"""The paper's scales, computed from the widths and the weight scales beta_l alone.

One definition per scale, so that every claim divides by the same quantity.
"""
from __future__ import annotations

import math
from typing import Sequence


def feature_scale(widths: Sequence[int], betas: Sequence[float], k: int) -> float:
    """d prod_{l=1}^{k} n_l beta_l^2: the scale of ||f_k(x)||^2 in eq. (26), of sigma_min(F_k)^2 in Theorem 5.1 and,
    to the power r, of Lemma 5.5's (32). He init gives 2^k n_k, LeCun n_k, and k = 0 gives d. Cost O(k)."""
    return widths[0] * math.prod(widths[l] * betas[l - 1] ** 2 for l in range(1, k + 1))


def backprop_scale(widths: Sequence[int], betas: Sequence[float], k: int) -> float:
    """beta_L^2 n_{k+1} prod_{l=k+2}^{L-1} n_l beta_l^2: the scale of ||(B_{k+1})_{i:}||^2 in Lemma 4.3 (printed for k in
    [L-2]; at k = 0 it is the factor of lambda_min(X X^T) in (20), and the product is empty at k = L-2). He init
    gives 2^(L-1-k) (each of the ReLU layers k+1..L-1 then keeps half its units: the mean is 1). Cost O(L)."""
    depth = len(widths) - 1
    return betas[depth - 1] ** 2 * widths[k + 1] * math.prod(widths[l] * betas[l - 1] ** 2 for l in range(k + 2, depth))
