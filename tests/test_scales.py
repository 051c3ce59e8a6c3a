"""The paper's scales against their closed forms under the standard initialisations."""
import pytest

import ntkcheck as nc
from ntkcheck.scales import feature_scale

WIDTHS = (10, 40, 7, 90, 1)


@pytest.mark.parametrize("k", range(len(WIDTHS) - 1))
def test_feature_scale_under_he_lecun_standard(k):
    # He: beta_l^2 = 2/n_{l-1} telescopes to 2^k n_k; LeCun to n_k; standard (beta = 1) to d prod n_l.
    he, lecun, standard = (nc.ReLUNet(WIDTHS, init=init).betas for init in ("he", "lecun", "standard"))
    assert feature_scale(WIDTHS, he, k) == pytest.approx(2 ** k * WIDTHS[k], rel=1e-14)
    assert feature_scale(WIDTHS, lecun, k) == pytest.approx(WIDTHS[k], rel=1e-14)
    expected = WIDTHS[0]
    for width in WIDTHS[1:k + 1]:
        expected *= width
    assert feature_scale(WIDTHS, standard, k) == expected
