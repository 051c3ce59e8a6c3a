"""A two-sample comparison for the beyond-the-paper claims: is a Theta constant the same under two settings?

The question (e.g. "is Theorem 4.1's constant universal across weight distributions?") is about the difference of
two constants, so it is decided on an interval for that difference, not by two separate PASSes. The band check
of ntkcheck.checks does this when its parameter takes two values 1 and e (one per sample): the drift slope of
log ratio against log parameter is then exactly mean(log ratio_B) - mean(log ratio_A), and its (1 - alpha) interval
is the Welch interval of that difference (ntkcheck.stats.fit_log_slopes, replicates method). PASS iff the interval
lies within +- tol (the constants agree within a factor e^tol) and every ratio is in the band; FAIL iff the
interval lies wholly outside +- tol or a ratio leaves the band. With ``paired=True`` (trial t of both samples
shares its draw, e.g. the same weights with and without biases) the interval is the paired t-interval of the mean
log difference (checks.band(..., paired=True)), which the shared noise does not widen.
"""
import numpy as np

from ntkcheck import checks


def two_sample(first, second, *, labels, band, tol, name, reason, paired=False):
    """band check of the log difference between two samples of positive ratios (1-D arrays of equal length)."""
    ratios = np.vstack([np.asarray(first, dtype=float), np.asarray(second, dtype=float)])
    parameter = f"sample ({labels[0]} = 1, {labels[1]} = e)"
    return checks.band({parameter: [1.0, np.e]}, ratios, band=band, drift_tol=tol,
                       name=f"{name}: log({labels[1]} / {labels[0]}) constant within +-{tol:g}"
                            f"{' (paired)' if paired else ''}", reason=reason, paired=paired)
