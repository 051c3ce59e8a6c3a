"""Tests of the Figure 2 sweeps (ntkcheck/figure2.py) on a tiny plan: shapes, seeds and reproducibility,
each panel's quantity recomputed independently (autograd Jacobian for Kbar, eq. (2)-(3)), the slope fit
with a negative control, the raw data files, the plot files, and the progress bar."""
import csv
import io
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from matplotlib.image import imread

import ntkcheck as nc
from ntkcheck import figure2
from ntkcheck._validate import InvalidArgument

TINY = figure2.Plan(left_d=(8, 16, 32), left_curves=((6, 12, 10),), right_n=(4, 8, 16), right_curves=((5, 7),),
                    trials=2)
SEED = 3
RTOL_ORACLE = 1e-9  # structured vs autograd Kbar: same float64 products in another order, ~1e-14 relative
SLOPE_GRID = np.geomspace(10.0, 1000.0, 5)
SLOPE_TRIALS = 6


@pytest.fixture(scope="module")
def tiny():
    return figure2.sweep(TINY, seed=SEED, profile=None)


def test_shapes_seeds_and_fits(tiny):
    assert [c.panel for c in tiny.curves] == ["left", "right"]
    for curve in tiny.curves:
        assert curve.values.shape == (3, 2) and curve.seeds.shape == (3, 2, 2)
        assert np.all(curve.values > 0)
        assert np.isfinite(curve.fit.slopes[0]) and curve.fit.lower[0] < curve.fit.upper[0]
    left, right = tiny.curves
    assert left.params == {"N": 6, "n1": 12, "n2": 10} and right.params == {"d": 5, "n2": 7}
    assert left.limiting.shape == (3, 2) and right.limiting is None
    seeds = np.concatenate([c.seeds.ravel() for c in tiny.curves])
    assert len(set(seeds.tolist())) == seeds.size  # no two draws share a stream
    assert figure2.trial_count(TINY) == 12


def test_reproducible_from_the_seed(tiny):
    again = figure2.sweep(TINY, seed=SEED)
    other = figure2.sweep(TINY, seed=SEED + 1)
    for a, b, c in zip(tiny.curves, again.curves, other.curves):
        np.testing.assert_array_equal(a.values, b.values)
        assert not np.allclose(a.values, c.values)


@pytest.mark.parametrize("panel", ["left", "right"])
def test_point_matches_an_independent_computation(tiny, panel):
    """Recompute one trial from its recorded seeds with the autograd Jacobian (eq. (2)): Kbar = J J^T."""
    curve = next(c for c in tiny.curves if c.panel == panel)
    g, t = 2, 1
    data_seed, net_seed = (int(s) for s in curve.seeds[g, t])
    if panel == "left":
        n, n1, n2 = curve.params.values()
        x = nc.sample_data("gaussian", n=n, d=int(curve.x[g]), seed=data_seed)
        net = nc.ReLUNet((x.shape[1], n1, n2, 1), init="standard", seed=net_seed)
        scale = 4.0 / (n1 * n2)  # eq. (4), L = 3
        np.testing.assert_allclose(curve.limiting[g, t], nc.lambda_min(nc.limiting_ntk(x, depth=3)), rtol=1e-12)
    else:
        d, n2 = curve.params.values()
        n = int(curve.x[g])
        x = nc.sample_data("gaussian", n=n, d=d, seed=data_seed)
        net = nc.ReLUNet((d, 8 * n, n2, 1), init="he", seed=net_seed)
        scale = 1.0
    jacobian = nc.jacobian(net, x)
    expected = np.linalg.eigvalsh(scale * jacobian @ jacobian.T)[0]
    np.testing.assert_allclose(curve.values[g, t], expected, rtol=RTOL_ORACLE)


def test_fit_curve_recovers_a_power_law_and_rejects_a_wrong_one():
    rng = np.random.default_rng(SEED)
    noise = np.exp(0.1 * rng.standard_normal((SLOPE_GRID.size, SLOPE_TRIALS)))
    fit = figure2.fit_curve(SLOPE_GRID, 3.0 * SLOPE_GRID[:, None] * noise)
    assert fit.lower[0] < 1.0 < fit.upper[0]
    wrong = figure2.fit_curve(SLOPE_GRID, 3.0 * np.sqrt(SLOPE_GRID)[:, None] * noise)  # negative control
    assert not wrong.lower[0] < 1.0 < wrong.upper[0]
    with pytest.raises(InvalidArgument, match="lambda_min > 0"):
        figure2.fit_curve(SLOPE_GRID, -np.ones((SLOPE_GRID.size, 2)))


def test_raw_data_files(tiny, tmp_path):
    csv_path, json_path = figure2.write_data(tiny, tmp_path)
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == figure2.trial_count(TINY)
    right_rows = [r for r in rows if r["panel"] == "right"]
    assert all(int(r["n1"]) == 8 * int(r["N"]) and r["limiting_lambda_min"] == "" for r in right_rows)
    values = np.array([float(r["lambda_min"]) for r in rows])
    np.testing.assert_array_equal(values, np.concatenate([c.values.ravel() for c in tiny.curves]))
    document = json.loads(json_path.read_text())
    assert document["seed"] == SEED and document["plan"]["trials"] == 2
    assert [c["slope"] for c in document["curves"]] == [float(c.fit.slopes[0]) for c in tiny.curves]


def test_plot_files_are_valid_images(tiny, tmp_path):
    png, svg = figure2.plot(tiny, tmp_path)
    assert png.read_bytes().startswith(b"\x89PNG") and imread(png).ndim == 3
    assert ET.parse(svg).getroot().tag.endswith("svg")


def test_summary_names_every_curve(tiny):
    lines = figure2.summary_lines(tiny)
    assert len(lines) == 3 and "N=6, n1=12, n2=10" in lines[0] and "slope" in lines[1]


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_only_on_a_terminal():
    terminal, log = _Terminal(), io.StringIO()
    for stream in (terminal, log):
        bar = figure2.ProgressBar(2, stream=stream)
        bar.step("left: N=6")
        bar.step("right")
        bar.close()
    assert terminal.getvalue().startswith("\r[") and "2/2" in terminal.getvalue()
    assert terminal.getvalue().endswith("\n")
    assert log.getvalue() == ""


@pytest.mark.parametrize("changes, message", [
    ({"trials": 1}, "trials must be >= 2"),
    ({"left_d": (8, 16)}, "left_d must have at least 3"),
    ({"right_curves": ((5, 7, 9),)}, "right_curves"),
    ({"left_curves": ()}, "left_curves"),
])
def test_plan_rejects_bad_sizes(changes, message):
    fields = {**TINY.__dict__, **changes}
    with pytest.raises(InvalidArgument, match=message):
        figure2.Plan(**fields)


def test_profiles_follow_the_paper():
    assert set(figure2.PLANS) == {"smoke", "full", "paper"}
    assert figure2.PLANS["paper"].trials == 50  # "We perform 50 Montecarlo trials"
    assert all(len(p.left_curves) == len(p.right_curves) == 3 for p in figure2.PLANS.values())


def test_the_command_runs_the_paper_profile_with_the_papers_50_trials(monkeypatch, tmp_path, capsys):
    """`ntkcheck figure2 --profile paper` sweeps PLANS["paper"] (50 trials per point, as the paper's Section 4
    states), not another profile's budget; the sweep itself is replaced by the tiny one."""
    seen, tiny_sweep = {}, figure2.sweep

    def sweep(plan, **kwargs):
        seen.update(plan=plan, **kwargs)
        return tiny_sweep(TINY, seed=kwargs["seed"], profile=kwargs["profile"])

    monkeypatch.setattr(figure2, "sweep", sweep)
    from ntkcheck import cli

    assert cli.main(["figure2", "--profile", "paper", "--seed", str(SEED), "--out", str(tmp_path)]) == 0
    assert seen["plan"] is figure2.PLANS["paper"] and seen["plan"].trials == 50 and seen["profile"] == "paper"
    assert "profile paper" in capsys.readouterr().out
