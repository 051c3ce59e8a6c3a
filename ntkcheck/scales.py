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
