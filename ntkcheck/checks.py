"""The kinds of check a claim module runs; each returns a :class:`~ntkcheck.records.Record` with a verdict.

=========== ================================== =========================================================
kind        claim shape                        verdict rule
=========== ================================== =========================================================
identity    an exact formula (e.g. eq. (13)    PASS iff |computed - reference| <= atol + rtol |reference|
            = eq. (9)-(10), Lemma 3.1)         entrywise; FAIL otherwise
inequality  a bound lhs >= rhs per instance    PASS iff no instance has lhs < rhs - (atol + rtol |rhs|);
            (e.g. Schur's bound in Thm 3.2)    with coverage c < 1 ("w.h.p."): FAIL iff the Clopper-
                                               Pearson interval of P(holds) lies wholly below c
scaling     a power law y ~ x^expected         equivalence rule on the (1 - alpha) slope interval
            (e.g. lambda_min = Theta(d))       [lo, hi]: PASS iff inside expected +- tol, FAIL iff wholly
                                               outside, INCONCLUSIVE otherwise (with trials needed)
band        Theta(.) with explicit constants   PASS iff every ratio in [lo, hi] (with coverage c < 1:
                                               unless P(in band) >= c is rejected, as for inequality)
                                               and every drift slope of log ratio passes the scaling
                                               rule at 0 +- drift_tol
probability "w.p. at least p"                  Clopper-Pearson [lo, hi]: FAIL iff hi < p, PASS iff
                                               lo >= p - tol, INCONCLUSIVE otherwise
=========== ================================== =========================================================

Every record states its power: what the check would have detected at the budget and alpha used, in
``numbers["power"]`` (kind-specific numbers and a short ``summary`` for the claims table) and in the one-line
``resolution``:

=========== =========================================================================================
kind        power (detected with probability about 1 - alpha/2, or for sure where no noise enters)
=========== =========================================================================================
identity    the relative error caught at the largest entry, rtol + atol / max|reference|
inequality  the violation rate, 1 - (alpha/2)^(1/n) for n instances and coverage 1, else 1 - c plus the
            smallest detectable shortfall of P(holds) (:func:`ntkcheck.stats.detectable_violation_rate`)
scaling     the exponent error, tol + 2 half-width
band        the drift exponent per varied parameter, drift_tol + 2 half-width, and the range of constant
            factors on the ratios that would still pass (band edges against the measured ratios)
probability the shortfall p - q of the true probability (:func:`ntkcheck.stats.min_detectable_shortfall`)
=========== =========================================================================================

An INCONCLUSIVE record also says, in ``numbers["to_decide"]``, what budget would decide. The checks know
nothing about NTKs; the interval methods are described in :mod:`ntkcheck.stats`.
"""
from __future__ import annotations

import numbers
import re

import numpy as np

from ntkcheck import stats
from ntkcheck._validate import InvalidArgument, as_int, as_nonnegative_float, as_positive_float
from ntkcheck.records import Record, Verdict

ALPHA = stats.ALPHA


def _text(value, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(f"{name} must be a non-empty string, got {value!r}")
    return value


def _alpha(value) -> float:
    value = as_positive_float(value, "alpha")
    if value >= 0.5:
        raise InvalidArgument(f"alpha must be in (0, 0.5) (two-sided level), got {value}")
    return value


def _array(value, name: str, *, ndim: int | None = None) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"{name} must be an array of real numbers, got {type(value).__name__}") from exc
    if array.size == 0:
        raise InvalidArgument(f"{name} must not be empty")
    if ndim is not None and array.ndim != ndim:
        raise InvalidArgument(f"{name} must be {ndim}-D, got shape {array.shape}")
    return array


def _positive(array: np.ndarray, name: str) -> np.ndarray:
    bad = ~(np.isfinite(array) & (array > 0))
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidArgument(f"{name} must be finite and > 0 (its logarithm is fitted), got "
                              f"{int(bad.sum())} bad value(s), first {array[first]!r} at index {first}")
    return array


def _trials_matrix(y, name: str, grid_points: int) -> np.ndarray:
    """``y`` as (G, T): one row per grid point, one column per trial; a 1-D y is one trial per point."""
    y = _array(y, name)
    y = y[:, None] if y.ndim == 1 else y
    if y.ndim != 2 or y.shape[0] != grid_points:
        raise InvalidArgument(f"{name} must have shape (G, T) = ({grid_points}, trials) or ({grid_points},)"
                              f", got {y.shape}")
    return y


def _record(kind, name, reason, *, tolerance, verdict, measured, expected, resolution, numbers, power,
            to_decide=None, detail="") -> Record:
    """The Record; ``power`` (a dict with a short "summary") goes to numbers["power"], and what would decide
    an INCONCLUSIVE verdict to numbers["to_decide"]."""
    numbers = dict(numbers, power=power)
    if verdict is Verdict.INCONCLUSIVE:
        numbers["to_decide"] = to_decide
    message = (f"{kind} check {name!r}: {verdict.value}. Measured {measured}; expected {expected} "
               f"(tolerance: {reason}). {detail}Resolution: {resolution}.")
    return Record(name=name, kind=kind, measured=measured, expected=expected, tolerance=tolerance,
                  reason=reason, verdict=verdict, resolution=resolution, numbers=numbers, message=message)


def _coverage(value) -> float:
    value = as_positive_float(value, "coverage")
    if value > 1:
        raise InvalidArgument(f"coverage must be in (0, 1] (the probability the claim holds with), got {value}")
    return value


def _rejects_coverage(violations: int, instances: int, coverage: float, alpha: float) -> tuple[bool, dict, str]:
    """Is "the claim holds with probability >= coverage" rejected by ``violations`` in ``instances``?

    The form of a "with high probability" claim (Lemma 4.3, Theorem 6.2: w.p. 1 - sum_l exp(-Omega(n_l))):
    at finite width a fixed constant is exceeded with a small, unstated probability, so a single violation
    refutes nothing. Rejected when the exact (1 - alpha) Clopper-Pearson interval [lo, hi] of P(holds) has
    hi < coverage. Returns (rejected, numbers, text); coverage = 1 is the per-instance rule (any violation).
    """
    detectable = stats.detectable_violation_rate(instances, coverage, alpha)
    if coverage >= 1:
        return violations > 0, {"coverage": 1.0, "detectable_violation_rate": detectable}, ""
    lower, upper = stats.clopper_pearson(instances - violations, instances, alpha)
    numbers_ = {"coverage": coverage, "holds_rate": (instances - violations) / instances,
                "holds_lower": lower, "holds_upper": upper, "detectable_violation_rate": detectable}
    text = (f"P(holds) in [{lower:.4g}, {upper:.4g}] against coverage {coverage:.4g}: "
            f"{'rejected' if upper < coverage else 'not rejected'}. ")
    return upper < coverage, numbers_, text


def identity(computed, reference, *, rtol, atol=0.0, name, reason) -> Record:
    """Arrays agree entrywise: |computed - reference| <= atol + rtol |reference| (numpy's allclose rule).

    Reports the max relative error (max |c - r| / |r|) and the relative Frobenius error ||c - r|| / ||r||.
    Power: a relative error e (computed = reference (1 + e)) is caught iff e > rtol + atol / max|reference|
    (at the largest entry), stated against the size max|reference| of the quantity. A NaN or inf in either
    array is a FAIL. Shapes must match exactly (no broadcasting). Cost O(size).
    """
    name, reason = _text(name, "name"), _text(reason, "reason")
    rtol, atol = as_nonnegative_float(rtol, "rtol"), as_nonnegative_float(atol, "atol")
    computed, reference = _array(computed, "computed"), _array(reference, "reference")
    if computed.shape != reference.shape:
        raise InvalidArgument(f"computed and reference must have the same shape, got {computed.shape} "
                              f"and {reference.shape}")
    error = np.abs(computed - reference)
    allowed = atol + rtol * np.abs(reference)
    nonfinite = int(np.count_nonzero(~np.isfinite(error)))
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(error == 0, 0.0, error / np.abs(reference))
        excess = np.where(error == 0, 0.0, error / allowed)
    violations = int(np.count_nonzero(~(error <= allowed)))
    worst = np.unravel_index(int(np.nanargmax(np.where(np.isfinite(excess), excess, np.inf))), error.shape)
    ref_norm = float(np.linalg.norm(reference))
    frobenius = float(np.linalg.norm(computed - reference)) / ref_norm if ref_norm else float(np.nan)
    verdict = Verdict.PASS if violations == 0 else Verdict.FAIL
    measured = f"max rel err {np.nanmax(relative):.3g}, rel Frobenius {frobenius:.3g}"
    largest = float(np.nanmax(np.abs(reference)))
    caught = rtol + atol / largest if largest > 0 else np.inf  # a relative error c = r (1 + e) fails iff e > this
    power = {"relative_error": caught, "max_abs_reference": largest, "absolute_error": atol + rtol * largest,
             "summary": f"rel err > {caught:.2g}"}
    detail = "" if verdict is Verdict.PASS else (
        f"{violations} of {error.size} entries out of tolerance ({nonfinite} non-finite); worst at "
        f"{tuple(int(i) for i in worst)}: computed {float(computed[worst])!r}, "
        f"reference {float(reference[worst])!r}. ")
    return _record("identity", name, reason, tolerance={"rtol": rtol, "atol": atol}, verdict=verdict,
                   measured=measured, expected=f"rtol {rtol:.3g}, atol {atol:.3g}",
                   resolution=f"an entrywise error above {atol:.3g} + {rtol:.3g}*|reference|: a relative error "
                              f"above {caught:.3g} at the largest entry (|reference| <= {largest:.3g})",
                   power=power,
                   numbers={"shape": list(error.shape), "max_abs_error": np.nanmax(error),
                            "max_rel_error": np.nanmax(relative), "rel_frobenius_error": frobenius,
                            "violations": violations, "nonfinite": nonfinite,
                            "worst_index": list(worst), "rtol": rtol, "atol": atol},
                   detail=detail)


def _margins(lhs, rhs):
    lhs, rhs = np.broadcast_arrays(_array(lhs, "lhs"), _array(rhs, "rhs"))
    margin = (lhs - rhs).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(margin == 0, 0.0, margin / np.abs(rhs.ravel()))
    return lhs.ravel(), rhs.ravel(), margin, relative


def inequality(lhs, rhs, *, rtol=0.0, atol=0.0, coverage=1.0, alpha=ALPHA, name, reason) -> Record:
    """The claim lhs >= rhs for every instance (arrays of instances, broadcast together).

    An instance violates the claim when lhs < rhs - (atol + rtol |rhs|) (the slack absorbs rounding)
    or when either side is NaN/inf. With ``coverage`` = 1 (the default) PASS iff there are no violations.
    With coverage c < 1, for a bound that holds only with high probability at finite size (independent
    instances): FAIL iff the (1 - alpha) Clopper-Pearson interval of P(holds) lies wholly below c, PASS
    otherwise. Power: the violation rate detected with probability >= 1 - alpha/2, for every coverage
    (:func:`ntkcheck.stats.detectable_violation_rate`; at coverage 1 and n instances 1 - (alpha/2)^(1/n):
    a bound checked on 100 instances can miss a violation rate of 5%). Reports the number of violations
    and the smallest margin lhs - rhs, absolute and relative to |rhs|. Cost O(instances).
    To let hypothesis search for violations, call :func:`target_margin` inside the property test.
    """
    name, reason = _text(name, "name"), _text(reason, "reason")
    rtol, atol = as_nonnegative_float(rtol, "rtol"), as_nonnegative_float(atol, "atol")
    coverage, alpha = _coverage(coverage), _alpha(alpha)
    lhs, rhs, margin, relative = _margins(lhs, rhs)
    violated = ~(margin >= -(atol + rtol * np.abs(rhs)))
    violations = int(np.count_nonzero(violated))
    worst = int(np.nanargmin(np.where(np.isnan(relative), -np.inf, relative)))
    rejected, coverage_numbers, coverage_text = _rejects_coverage(violations, margin.size, coverage, alpha)
    verdict = Verdict.FAIL if rejected else Verdict.PASS
    measured = (f"{violations} violations in {margin.size}; min margin {np.nanmin(margin):.3g} "
                f"(rel {relative[worst]:.3g})")
    detail = coverage_text + ("" if not violations else (
        f"Worst instance #{worst}: lhs {float(lhs[worst])!r} < rhs {float(rhs[worst])!r}. "))
    slack = f"slack {atol:.3g} + {rtol:.3g}|rhs|"
    rate = coverage_numbers["detectable_violation_rate"]
    resolution = (f"a violation rate above {rate:.3g} in {margin.size} instances (a violation: deeper than "
                  f"{atol:.3g} + {rtol:.3g}*|rhs|)")
    if coverage < 1:
        expected = f"lhs >= rhs with probability >= {coverage:.4g} ({slack})"
    else:
        expected = f"lhs >= rhs ({slack})"
        resolution += "; any one such violation FAILs"
    power = {"violation_rate": rate, "instances": margin.size, "summary": f"viol. rate > {rate:.3g}"}
    return _record("inequality", name, reason, tolerance={"rtol": rtol, "atol": atol, "coverage": coverage},
                   verdict=verdict, measured=measured, expected=expected, resolution=resolution, power=power,
                   numbers={"instances": margin.size, "violations": violations,
                            "min_margin": np.nanmin(margin), "min_rel_margin": relative[worst],
                            "worst_instance": worst, "worst_lhs": lhs[worst], "worst_rhs": rhs[worst],
                            "rtol": rtol, "atol": atol, **coverage_numbers},
                   detail=detail)


def target_margin(lhs, rhs, *, label: str = "relative margin lhs/rhs - 1") -> float:
    """Steer a hypothesis search towards violations of lhs >= rhs; return the smallest relative margin.

    Calls ``hypothesis.target`` on minus the smallest relative margin (hypothesis maximizes a target), so
    the search prefers inputs that bring the bound close to failing. Use it inside an ``@given`` test::

        @given(d=st.integers(2, 50), seed=st.integers(0, 2**32 - 1))
        def test_schur_bound(d, seed):
            lhs, rhs = ...
            checks.target_margin(lhs, rhs)
            rec = checks.inequality(lhs, rhs, rtol=1e-12, name="...", reason="...")
            assert rec.passed, rec.message
    """
    import hypothesis  # a test-time dependency: imported only when a property test calls this

    relative = _margins(lhs, rhs)[3]
    smallest = float(np.nanmin(np.where(np.isnan(relative), -np.inf, relative)))
    hypothesis.target(float(np.clip(-smallest, -1e300, 1e300)), label=label)  # target needs finite
    return smallest


def _equivalence(lower: float, upper: float, expected: float, tol: float) -> Verdict:
    if expected - tol <= lower and upper <= expected + tol:
        return Verdict.PASS
    if upper < expected - tol or lower > expected + tol:
        return Verdict.FAIL
    return Verdict.INCONCLUSIVE


def _needed(fit: stats.SlopeFit, k: int, expected: float, tol: float, trials: int) -> int | None:
    """Trials per point that would decide an inconclusive slope at its current estimate: the interval
    must shrink to the distance between the estimate and the nearer edge of expected +- tol."""
    target = abs(tol - abs(float(fit.slopes[k]) - expected))
    return stats.trials_needed(float(fit.half_width[k]), trials, target)


def _to_decide(fit: stats.SlopeFit, needed, trials: int) -> str:
    """What budget would decide an INCONCLUSIVE slope (numbers["to_decide"])."""
    if fit.method == "residuals":
        return "more grid points, or trials per point (one value per point now)"
    if needed is None:
        return "no trial count at the current estimate (it sits on the tolerance edge): a longer grid"
    return f"about {needed} trials per point (now {trials})"


def _fit_notes(fit: stats.SlopeFit, needed, trials: int, alpha: float) -> str:
    notes = ""
    if fit.method == "residuals":
        notes += ("One value per grid point: the interval comes from the scatter around the line, "
                  "so add trials or grid points. ")
    elif needed is not None:
        notes += f"About {needed} trials per point (now {trials}) would decide at the current estimate. "
    if fit.lack_of_fit_p is not None and fit.lack_of_fit_p < alpha:
        notes += (f"The log-log curve bends (lack-of-fit p = {fit.lack_of_fit_p:.2g}): the slope is the "
                  "least-squares exponent over this grid. ")
    return notes


def _interval(fit: stats.SlopeFit, k: int) -> str:
    return f"{fit.slopes[k]:.3g} [{fit.lower[k]:.3g}, {fit.upper[k]:.3g}]"


def scaling(x, y, *, expected, tol, name, reason, alpha=ALPHA, x_name=None, y_name=None) -> Record:
    """A power law: the slope of log y against log x equals ``expected`` up to ``tol``.

    x: (G,) positive grid; y: (G, T) positive values, T trials per grid point (or (G,) for T = 1).
    The slope and its (1 - alpha) interval come from :func:`ntkcheck.stats.fit_log_slopes` (Welch error
    from the trials; see there for why not the pooled regression error). Equivalence rule: PASS when the
    interval lies inside expected +- tol, FAIL when it lies wholly outside, INCONCLUSIVE otherwise (the
    message gives the trials per point that would decide). Resolution: tol + 2 * half-width (the
    smallest exponent error declared FAIL with probability ~1 - alpha/2). Cost O(G T).
    ``x_name``, ``y_name``: the names of the parameter x and the quantity y, for the report's plot axes
    (numbers["x_name"], numbers["y_name"]); by default read from a name "Q vs P" or "Q ~ P^e" (see
    :func:`axis_names`).
    """
    name, reason = _text(name, "name"), _text(reason, "reason")
    x_name, y_name = _axis_names(name, x_name, y_name, default_x="x")
    tol, alpha = as_nonnegative_float(tol, "tol"), _alpha(alpha)
    if isinstance(expected, bool) or not isinstance(expected, numbers.Real):
        raise InvalidArgument(f"expected must be a real number (the claimed exponent), got {expected!r}")
    expected = float(expected)
    x = _positive(_array(x, "x", ndim=1), "x")
    y = _positive(_trials_matrix(y, "y", x.size), "y")
    fit = stats.fit_log_slopes(np.log(x)[:, None], np.log(y), alpha)
    verdict = _equivalence(float(fit.lower[0]), float(fit.upper[0]), expected, tol)
    trials = y.shape[1]
    needed = _needed(fit, 0, expected, tol, trials) if verdict is Verdict.INCONCLUSIVE else None
    resolution = tol + 2.0 * float(fit.half_width[0])
    return _record(
        "scaling", name, reason, tolerance=tol, verdict=verdict,
        measured=f"slope {_interval(fit, 0)}", expected=f"{expected:.3g} +- {tol:.3g}",
        resolution=f"|slope - {expected:.3g}| > {resolution:.3g} ({trials} trials x {x.size} points, "
                   f"{100 * (1 - alpha):.3g}% interval)",
        power={"exponent_error": resolution, "summary": f"slope err > {resolution:.2g}"},
        to_decide=_to_decide(fit, needed, trials),
        numbers={"x": x, "mean_log_y": np.log(y).mean(axis=1),
                 "sd_log_y": np.log(y).std(axis=1, ddof=1) if trials > 1 else None,
                 "slope": fit.slopes[0], "stderr": fit.stderr[0], "df": fit.df[0], "lower": fit.lower[0],
                 "upper": fit.upper[0], "half_width": fit.half_width[0], "alpha": alpha,
                 "expected": expected, "tol": tol, "trials": trials, "grid_points": x.size,
                 "lack_of_fit_p": fit.lack_of_fit_p, "method": fit.method,
                 "min_detectable_error": resolution, "trials_needed": needed, "x_name": x_name,
                 "y_name": y_name},
        detail=_fit_notes(fit, needed, trials, alpha))


def band(params, ratios, *, band, drift_tol, coverage=1.0, name, reason, alpha=ALPHA, x_name=None,
         y_name=None, paired=False) -> Record:
    """A Theta(.) claim with explicit constants: quantity / predicted scale stays within ``band``.

    params: dict name -> (G,) positive values of each parameter at the G grid points (a parameter with
    one value is held fixed and not fitted); ratios: (G, T) quantity / predicted scale (or (G,)).
    PASS when every ratio lies in band = (lo, hi) AND, for each varied parameter, the slope of log ratio
    against log parameter (one multiple regression over all varied parameters, intervals as in
    :func:`ntkcheck.stats.fit_log_slopes`) passes the equivalence rule at 0 +- drift_tol: the ratio must
    neither leave the band nor drift (a ratio growing like log N is a missed factor). FAIL when a ratio
    leaves the band or a drift interval lies wholly outside +- drift_tol. With ``coverage`` c < 1 (a Theta
    claim that holds with high probability, each ratio an independent draw) "leaves the band" means that
    the data reject P(ratio in band) >= c, as in :func:`inequality`. Power: the drift exponent detected
    per varied parameter, drift_tol + 2 half-width, and the factors by which every ratio could be
    multiplied and still lie in the band (see ``_passing_factors``). Cost O(G T + G K^2).
    ``x_name``, ``y_name``: the names of the plotted parameter and of the ratio, for the report's plot axes
    (numbers["x_name"], numbers["y_name"]); by default the first varied parameter (or "grid point") and
    the quantity read from ``name`` (see :func:`axis_names`).
    ``paired``: the two grid points' trials are pairs (column t of both rows shares its draw, e.g. the same
    weights with and without biases). Needs G = 2 and one varied parameter x; the drift interval is then the
    paired t-interval of mean_t(log ratio_2t - log ratio_1t) / (log x_2 - log x_1), on T - 1 degrees of freedom
    (the rows' shared noise cancels), while the band and its factors still read the raw ratios.
    """
    name, reason = _text(name, "name"), _text(reason, "reason")
    drift_tol, alpha = as_nonnegative_float(drift_tol, "drift_tol"), _alpha(alpha)
    if not isinstance(paired, (bool, np.bool_)):
        raise InvalidArgument(f"paired must be True or False, got {paired!r}")
    coverage = _coverage(coverage)
    lo, hi = _array(band, "band", ndim=1) if np.size(band) == 2 else (np.nan, np.nan)
    if not 0 < lo < hi < np.inf:
        raise InvalidArgument(f"band must be a pair (lo, hi) with 0 < lo < hi, got {band!r}")
    if not isinstance(params, dict) or not params:
        raise InvalidArgument(f"params must be a non-empty dict name -> (G,) values, got {params!r}")
    grid = {_text(k, "params key"): _positive(_array(v, f"params[{k!r}]", ndim=1), f"params[{k!r}]")
            for k, v in params.items()}
    sizes = {v.size for v in grid.values()}
    if len(sizes) != 1:
        raise InvalidArgument(f"every params array must have the same length G, got lengths {sorted(sizes)}")
    ratios = _trials_matrix(ratios, "ratios", sizes.pop())
    varied = [k for k, v in grid.items() if np.ptp(v) > 0]
    if paired and (ratios.shape[0] != 2 or ratios.shape[1] < 2 or len(varied) != 1):
        raise InvalidArgument("paired=True needs two grid points, one varied parameter and at least 2 trials, got "
                              f"ratios of shape {ratios.shape} and params {sorted(grid)}")
    outside = int(np.count_nonzero(~((ratios >= lo) & (ratios <= hi))))
    band_rejected, coverage_numbers, coverage_text = _rejects_coverage(outside, ratios.size, coverage, alpha)
    x_name, y_name = _axis_names(name, x_name, y_name, default_x=varied[0] if varied else "grid point")
    numbers_ = {"band": [lo, hi], "drift_tol": drift_tol, "alpha": alpha, "params": grid,
                "x_name": x_name, "y_name": y_name,
                "varied": varied, "min_ratio": np.nanmin(ratios), "max_ratio": np.nanmax(ratios),
                "outside_band": outside, "trials": ratios.shape[1], "drift": {}, **coverage_numbers}
    if np.all(ratios > 0):  # per grid point, for plots: the geometric mean and the spread of log ratio
        numbers_["mean_log_ratio"] = np.log(ratios).mean(axis=1)
        numbers_["sd_log_ratio"] = np.log(ratios).std(axis=1, ddof=1) if ratios.shape[1] > 1 else None
    drift_verdicts, notes, measured_drift, undecided = [], "", [], []
    drift_power = {}
    if varied and np.all(ratios > 0):
        log_ratios = np.log(ratios)
        if paired:  # row 1 at its mean (no scatter), row 2 = that mean + the paired differences: Welch -> paired t
            base = log_ratios[0].mean()
            log_ratios = np.vstack([np.full(ratios.shape[1], base), base + log_ratios[1] - log_ratios[0]])
        fit = stats.fit_log_slopes(np.column_stack([np.log(grid[k]) for k in varied]), log_ratios, alpha)
        for k, param in enumerate(varied):
            verdict_k = _equivalence(float(fit.lower[k]), float(fit.upper[k]), 0.0, drift_tol)
            needed = (_needed(fit, k, 0.0, drift_tol, ratios.shape[1])
                      if verdict_k is Verdict.INCONCLUSIVE else None)
            drift_verdicts.append(verdict_k)
            measured_drift.append(f"drift {param} {_interval(fit, k)}")
            notes += f"Drift in {param}: {verdict_k.value}. " + _fit_notes(fit, needed, ratios.shape[1], alpha)
            drift_power[param] = drift_tol + 2.0 * float(fit.half_width[k])
            if verdict_k is Verdict.INCONCLUSIVE:
                undecided.append(f"{_to_decide(fit, needed, ratios.shape[1])} for the drift in {param}")
            numbers_["drift"][param] = {"slope": fit.slopes[k], "lower": fit.lower[k], "upper": fit.upper[k],
                                        "half_width": fit.half_width[k], "df": fit.df[k],
                                        "verdict": verdict_k, "trials_needed": needed}
        numbers_["lack_of_fit_p"], numbers_["method"] = fit.lack_of_fit_p, "paired" if paired else fit.method
    factors = _passing_factors(ratios, lo, hi, coverage, alpha)
    outside_resolution = (f"any ratio outside [{lo:.3g}, {hi:.3g}]" if coverage >= 1 else
                          f"a rate of ratios outside [{lo:.3g}, {hi:.3g}] above "
                          f"{coverage_numbers['detectable_violation_rate']:.3g}")
    if factors[0] <= factors[1]:
        outside_resolution += (f"; a constant factor on every ratio passes the band within [{factors[0]:.3g}, "
                               f"{factors[1]:.3g}]")
        factor_summary = f"x[{factors[0]:.2g}, {factors[1]:.2g}]"
    else:  # c_lo > c_hi: the ratios spread wider than the band (or NaN: too few finite), no factor passes
        outside_resolution += "; no constant factor on every ratio passes the band (the ratios spread wider)"
        factor_summary = "no factor passes"
    if drift_power:
        resolution = "a drift exponent beyond " + ", ".join(
            f"{v:.3g} in {k}" for k, v in drift_power.items()) + "; " + outside_resolution
    else:
        resolution = outside_resolution + " (no drift fitted)"
    drift_summary = f"drift > {max(drift_power.values()):.2g}, " if drift_power else ""
    power = {"drift": drift_power, "passing_factor": list(factors),
             "violation_rate": coverage_numbers["detectable_violation_rate"],
             "summary": f"{drift_summary}{factor_summary}"}
    if band_rejected or Verdict.FAIL in drift_verdicts:
        verdict = Verdict.FAIL
    elif all(v is Verdict.PASS for v in drift_verdicts):
        verdict = Verdict.PASS
    else:
        verdict = Verdict.INCONCLUSIVE
    if outside:
        notes = f"{outside} of {ratios.size} ratios outside the band. " + coverage_text + notes
    within = "" if coverage >= 1 else f" with probability >= {coverage:.4g}"
    return _record("band", name, reason, tolerance={"band": [lo, hi], "drift_tol": drift_tol, "coverage": coverage},
                   verdict=verdict,
                   measured="; ".join([f"ratio in [{np.nanmin(ratios):.3g}, {np.nanmax(ratios):.3g}]"]
                                      + measured_drift),
                   expected=f"ratio in [{lo:.3g}, {hi:.3g}]{within}, |drift| <= {drift_tol:.3g}",
                   resolution=resolution, numbers=numbers_, power=power, to_decide="; ".join(undecided),
                   detail=notes)


def _passing_factors(ratios: np.ndarray, lo: float, hi: float, coverage: float, alpha: float) -> tuple:
    """The range [c_lo, c_hi] of constant factors c for which c * ratios would still pass the band part of
    the check: fewer than the rejecting count k of the ratios below lo (c >= lo / k-th smallest ratio) and
    fewer above hi (c <= hi / k-th largest); k = 1 at coverage 1. A band far wider than the data shows as
    a wide range: the predicted scale could be off by that factor unnoticed (the drift test aside)."""
    count = stats.rejecting_count(ratios.size, coverage, alpha)
    finite = np.sort(ratios[np.isfinite(ratios)])
    if count is None:
        return 0.0, np.inf
    if finite.size < count:
        return np.nan, np.nan
    smallest, largest = finite[count - 1], finite[-count]
    return (lo / smallest if smallest > 0 else np.inf), (hi / largest if largest > 0 else np.inf)


_AXIS_PATTERNS = (" vs ", " ~ ", " does not grow with ", " grows with ")
_QUANTITY_ENDS = (", ", " in [")


def axis_names(name: str) -> tuple[str | None, str]:
    """(parameter, quantity) read from a check's ``name``: the part after the last ": " (a label like
    "(26), k = 1: ...") split at " vs ", " ~ " or " (does not) grow(s) with "; the parameter is the first
    identifier after it ("n" of "n^-1/2"), the quantity the part before it. Without such a word the
    parameter is None and the quantity is that part up to its first ", " or " in [" ("lambda_min(Kbar) /
    (23), 8 architectures" -> "lambda_min(Kbar) / (23)")."""
    text = name.rsplit(": ", 1)[-1].strip() or name
    for word in _AXIS_PATTERNS:
        if word in text:
            quantity, _, rest = text.partition(word)
            match = re.search(r"[A-Za-z_][A-Za-z0-9_]*", rest)
            if match and quantity.strip():
                return match.group(0), quantity.strip()
    for end in _QUANTITY_ENDS:
        text = text.split(end, 1)[0]
    return None, text.strip() or name


def _axis_names(name: str, x_name, y_name, *, default_x: str) -> tuple[str, str]:
    """The x_name / y_name of a scaling or band record: the given ones (non-empty strings), else read
    from the name (:func:`axis_names`), the parameter falling back to ``default_x``."""
    parsed_x, parsed_y = axis_names(name)
    x_name = (parsed_x or default_x) if x_name is None else _text(x_name, "x_name")
    y_name = parsed_y if y_name is None else _text(y_name, "y_name")
    return x_name, y_name


def probability(successes, trials, *, p, tol=0.0, name, reason, alpha=ALPHA) -> Record:
    """"With probability at least p": ``successes`` out of ``trials`` independent trials.

    With the exact (1 - alpha) Clopper-Pearson interval [lo, hi]: FAIL when hi < p (the data reject the
    claim); PASS when lo >= p - tol; INCONCLUSIVE otherwise. ``tol`` is the declared shortfall the check
    tolerates. It is what makes a PASS affordable: with no failure in n trials lo = (alpha/2)^(1/n), so
    PASS needs n >= log(alpha/2) / log(p - tol) trials (p = 0.9, alpha = 0.01: 51 trials at tol = 0,
    24 at tol = 0.1). Resolution: the smallest shortfall p - q of the true probability q declared FAIL
    with probability >= 1 - alpha/2 (:func:`ntkcheck.stats.min_detectable_shortfall`). Cost O(1).
    """
    name, reason = _text(name, "name"), _text(reason, "reason")
    trials = as_int(trials, "trials", minimum=1)
    successes = as_int(successes, "successes", minimum=0)
    if successes > trials:
        raise InvalidArgument(f"successes must be <= trials = {trials}, got {successes}")
    p, alpha = as_positive_float(p, "p"), _alpha(alpha)
    tol = as_nonnegative_float(tol, "tol")
    if p > 1 or tol >= p:
        raise InvalidArgument(f"p must be in (0, 1] and tol in [0, p), got p = {p}, tol = {tol}")
    lower, upper = stats.clopper_pearson(successes, trials, alpha)
    rate = successes / trials
    if upper < p:
        verdict = Verdict.FAIL
    elif lower >= p - tol:
        verdict = Verdict.PASS
    else:
        verdict = Verdict.INCONCLUSIVE
    needed = {goal: stats.probability_trials_needed(p, tol, rate, goal, alpha) for goal in ("pass", "fail")}
    reachable = {goal: n for goal, n in needed.items() if n is not None}
    to_decide = ("no trial count at the observed rate" if not reachable else
                 " or ".join(f"about {n} trials would give {goal.upper()}" for goal, n in reachable.items())
                 + f" at the observed rate (now {trials})")
    detail = f"{to_decide[0].upper()}{to_decide[1:]}. " if verdict is Verdict.INCONCLUSIVE else ""
    shortfall = stats.min_detectable_shortfall(trials, p, alpha)
    return _record("probability", name, reason, tolerance=tol, verdict=verdict,
                   measured=f"{successes}/{trials} = {rate:.3g} [{lower:.3g}, {upper:.3g}]",
                   expected=f">= {p:.3g} (tol {tol:.3g})",
                   resolution=f"P(success) <= {p - shortfall:.3g} (shortfall {shortfall:.3g}) at "
                              f"{trials} trials",
                   numbers={"successes": successes, "trials": trials, "rate": rate, "lower": lower,
                            "upper": upper, "p": p, "tol": tol, "alpha": alpha,
                            "min_detectable_shortfall": shortfall, "trials_needed": needed},
                   power={"shortfall": shortfall, "summary": f"P short by > {shortfall:.2g}"},
                   to_decide=to_decide, detail=detail)


def mean_value(samples, *, expected, rtol, name, reason, alpha=ALPHA) -> Record:
    """A mean known in closed form (e.g. E||f_k(x)||^2 = 2^-k d prod n_l under standard init, Lemma 4.3 / (26)):
    the (1 - alpha) Student-t interval [lo, hi] of the mean of the i.i.d. ``samples`` (1-D, n >= 2) against
    ``expected`` (1 +- rtol). PASS iff [lo, hi] lies inside expected (1 +- rtol), FAIL iff wholly outside,
    INCONCLUSIVE otherwise (the message says how many samples would decide). Power: the relative error of the true
    mean detected, rtol + 2 h / |expected| (h the half-width), as for :func:`scaling`. Cost O(n)."""
    name, reason = _text(name, "name"), _text(reason, "reason")
    samples = _array(samples, "samples", ndim=1)
    if samples.size < 2:
        raise InvalidArgument(f"samples must hold at least 2 values, got {samples.size}")
    expected = float(expected)
    if not np.isfinite(expected) or expected == 0:
        raise InvalidArgument(f"expected must be finite and non-zero, got {expected!r}")
    rtol, alpha = as_nonnegative_float(rtol, "rtol"), _alpha(alpha)
    n = samples.size
    mean = float(np.mean(samples))
    stderr = float(np.std(samples, ddof=1) / np.sqrt(n))
    half = float(stats.t_quantile(alpha, n - 1)) * stderr
    lower, upper = mean - half, mean + half
    tol = rtol * abs(expected)
    verdict = _equivalence(lower, upper, expected, tol) if np.isfinite(mean) else Verdict.FAIL
    target = tol - abs(mean - expected)
    needed = stats.trials_needed(half, n, target) if verdict is Verdict.INCONCLUSIVE else None
    to_decide = (f"about {needed} samples (now {n})" if needed is not None
                 else "no sample count at the current estimate (it sits on the tolerance edge)")
    detail = f"{to_decide[0].upper()}{to_decide[1:]} would decide. " if verdict is Verdict.INCONCLUSIVE else ""
    relative_error = rtol + 2.0 * half / abs(expected)
    return _record("mean", name, reason, tolerance=rtol, verdict=verdict,
                   measured=f"mean {mean:.4g} [{lower:.4g}, {upper:.4g}] ({mean / expected:.4g} x expected)",
                   expected=f"{expected:.4g} (1 +- {rtol:.3g})",
                   resolution=f"a mean off by more than {relative_error:.3g} (relative) at {n} samples",
                   numbers={"samples": n, "mean": mean, "stderr": stderr, "df": n - 1, "lower": lower,
                            "upper": upper, "half_width": half, "expected": expected, "rtol": rtol, "alpha": alpha,
                            "trials_needed": needed},
                   power={"relative_error": relative_error, "summary": f"mean off by > {relative_error:.2g}"},
                   to_decide=to_decide, detail=detail)
