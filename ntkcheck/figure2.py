"""Figure 2 of the paper, reproduced: the sweeps, the slope fits, the plot and the raw data.

Section 4 (text after Theorem 4.1): "We perform 50 Montecarlo trials, and report average and confidence
interval at 1 standard deviation", for L = 3.

* Left panel (Theorem 3.2): W_l ~ N(0, 1) ("standard" init), lambda_min(4/(n1 n2) Kbar^(3)) against d for
  three fixed (N, n1, n2). 4/(n1 n2) = prod_{l=1}^{L-1} 2/n_l is the normalization of eq. (4), under which
  Kbar tends to the limiting NTK K^(3) of eq. (9)-(10): lambda_min(K^(3)) on the same data is drawn as
  the limiting-NTK prediction. Theorem 3.2, eq. (14): lambda_min(K^(L)) = Theta(d), so the slope is 1.
* Right panel (Theorem 4.1): He init (W_l ~ N(0, 2/n_{l-1})), n1 = 8N, lambda_min(Kbar^(3)) against N for
  three fixed (d, n2). One wide layer: the paper reads eq. (20)-(23) as lambda_min = Theta(n1) = Theta(N)
  (slope 1, drawn as a reference line). The limiting NTK does not apply (n2 is fixed, not wide).

Every trial draws fresh data (Gaussian, Assumptions 2.1-2.2) and fresh weights, each from a seed derived
from (base seed, panel, curve, grid point, trial) by :func:`ntkcheck.seeding.derive_seed`; the CSV lists
them, so any single point can be replayed. Slopes come from :func:`ntkcheck.stats.fit_log_slopes`
(least-squares exponent over the grid, (1 - ALPHA) Welch interval). The paper does not state its sizes;
the profiles below are ours (the paper profile keeps its 50 trials).
"""
from __future__ import annotations

import csv
import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

import ntkcheck as nc
from ntkcheck import profiles, seeding, stats
from ntkcheck._validate import InvalidArgument, as_choice, as_device, as_int, as_int_sequence, as_seed
from ntkcheck.records import environment, jsonable

if TYPE_CHECKING:
    import torch

DEPTH = 3  # L = 3 in both panels of Figure 2
WIDE_FACTOR = 8  # right panel: n1 = 8N
FORMATS = ("png", "svg")
DATA_NAME = "figure2"  # figure2.png, figure2.svg, figure2.csv, figure2.json


@dataclasses.dataclass(frozen=True)
class Plan:
    """The sizes of one run: the d grid and (N, n1, n2) curves of the left panel, the N grid and
    (d, n2) curves of the right panel, and the trials per point."""

    left_d: tuple[int, ...]
    left_curves: tuple[tuple[int, int, int], ...]
    right_n: tuple[int, ...]
    right_curves: tuple[tuple[int, int], ...]
    trials: int

    def __post_init__(self):
        # a slope with an interval needs 3 grid points, and a standard deviation 2 trials
        for name in ("left_d", "right_n"):
            object.__setattr__(self, name, as_int_sequence(getattr(self, name), name, minimum=1, min_length=3))
        for name, size in (("left_curves", 3), ("right_curves", 2)):
            curves = getattr(self, name)
            if not isinstance(curves, (tuple, list)) or not curves:
                raise InvalidArgument(f"{name} must be a non-empty sequence of {size}-tuples, got {curves!r}")
            checked = tuple(as_int_sequence(c, f"{name}[{i}]", minimum=1, min_length=size)
                            for i, c in enumerate(curves))
            if any(len(c) != size for c in checked):
                raise InvalidArgument(f"every entry of {name} must have {size} sizes, got {curves!r}")
            object.__setattr__(self, name, checked)
        object.__setattr__(self, "trials", as_int(self.trials, "trials", minimum=2))


PLANS = {
    # a few seconds: the shape of the figure, not its numbers
    "smoke": Plan(left_d=(32, 64, 128, 256), left_curves=((16, 64, 64), (16, 128, 32), (32, 128, 128)),
                  right_n=(16, 32, 64, 128), right_curves=((16, 32), (32, 32), (16, 128)), trials=3),
    # a few minutes on a laptop CPU; d >= 2N on the left keeps most of the grid off the d ~ N bend
    "full": Plan(left_d=(100, 200, 400, 800, 1600), left_curves=((50, 500, 500), (50, 1000, 250),
                                                                 (100, 1000, 1000)),
                 right_n=(64, 128, 256, 512, 1024), right_curves=((100, 100), (100, 400), (400, 100)),
                 trials=20),
    # the paper's 50 trials, larger sizes (meant for a GPU: the largest right point has n1 = 16384)
    "paper": Plan(left_d=(100, 200, 400, 800, 1600, 3200), left_curves=((100, 1000, 1000), (100, 2000, 500),
                                                                        (200, 2000, 2000)),
                  right_n=(128, 256, 512, 1024, 2048), right_curves=((100, 100), (100, 400), (400, 100)),
                  trials=50),
}


@dataclasses.dataclass
class Curve:
    """One curve of a panel: fixed sizes ``params``, the grid ``x`` (G,), lambda_min per trial
    ``values`` (G, T), the limiting-NTK prediction per trial ``limiting`` (G, T, left panel only), the
    data/net seeds ``seeds`` (G, T, 2), and the slope fit of log values on log x."""

    panel: str
    params: dict
    x: np.ndarray
    values: np.ndarray
    limiting: np.ndarray | None
    seeds: np.ndarray
    fit: stats.SlopeFit | None = None

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.params.items())


@dataclasses.dataclass
class Result:
    """A full run: the plan, its settings, the curves, and the wall and CPU time in seconds (CPU time
    of this process, all threads: on a shared machine the wall time alone says little)."""

    profile: str | None
    seed: int
    device: str
    plan: Plan
    curves: list[Curve]
    elapsed_s: float
    cpu_s: float


def _left_trial(params, d, data_seed, net_seed, device):
    """lambda_min(4/(n1 n2) Kbar^(3)) with W ~ N(0, 1), and lambda_min(K^(3)) (eq. (9)-(10)) on the same X."""
    n, n1, n2 = params
    x = nc.sample_data("gaussian", n=n, d=d, seed=data_seed)
    net = nc.ReLUNet((d, n1, n2, 1), init="standard", seed=net_seed, device=device)
    scale = 4.0 / (n1 * n2)  # prod_{l=1}^{L-1} 2/n_l of eq. (4) for L = 3
    return (nc.lambda_min(scale * nc.empirical_ntk(net, x)),
            nc.lambda_min(nc.limiting_ntk(x, depth=DEPTH)))


def _right_trial(params, n, data_seed, net_seed, device):
    """lambda_min(Kbar^(3)) with He init and n1 = 8N (Theorem 4.1's single wide layer)."""
    d, n2 = params
    x = nc.sample_data("gaussian", n=n, d=d, seed=data_seed)
    net = nc.ReLUNet((d, WIDE_FACTOR * n, n2, 1), init="he", seed=net_seed, device=device)
    return nc.lambda_min(nc.empirical_ntk(net, x)), None


# panel -> (x name, curve parameter names, trial function)
PANELS = {"left": ("d", ("N", "n1", "n2"), _left_trial), "right": ("N", ("d", "n2"), _right_trial)}


def _grids(plan: Plan):
    return {"left": (plan.left_d, plan.left_curves), "right": (plan.right_n, plan.right_curves)}


def fit_curve(x, values, alpha: float = stats.ALPHA) -> stats.SlopeFit:
    """Slope of log ``values`` (G, T) on log ``x`` (G,) with its (1 - alpha) interval
    (:func:`ntkcheck.stats.fit_log_slopes`). Non-positive values have no logarithm: InvalidArgument."""
    values = np.asarray(values, dtype=np.float64)
    if not np.all(values > 0):
        raise InvalidArgument(f"a log-log slope needs lambda_min > 0, got min {values.min():.3g}")
    return stats.fit_log_slopes(np.log(np.asarray(x, dtype=np.float64))[:, None], np.log(values), alpha)


def sweep(plan: Plan, *, seed: int = 0, device: str | torch.device = "cpu", profile: str | None = None,
          progress: Callable[[str], None] | None = None) -> Result:
    """Run both panels of Figure 2 for ``plan``: 2 x curves x G x T networks, each one structured NTK
    (Section 4.1) and one lambda_min (O(N^3)); the left panel adds one closed-form K^(3) (O(N^2 d)).
    ``progress(label)`` is called after every trial. Returns the curves with their slope fits."""
    if not isinstance(plan, Plan):
        raise InvalidArgument(f"plan must be an ntkcheck.figure2.Plan, got {type(plan).__name__}")
    seed, device = as_seed(seed), as_device(device, "device")  # "cpu", "cuda", "cuda:N" or a torch.device
    started, started_cpu = time.perf_counter(), time.process_time()
    curves = []
    for panel, (grid, curve_params) in _grids(plan).items():
        x_name, names, trial = PANELS[panel]
        for params in curve_params:
            shape = (len(grid), plan.trials)
            values, limiting, seeds = np.empty(shape), np.empty(shape), np.empty(shape + (2,), dtype=np.int64)
            for g, x in enumerate(grid):
                for t in range(plan.trials):
                    key = ("figure2", panel, params, x, t)
                    seeds[g, t] = seeding.derive_seed(seed, *key, "data"), seeding.derive_seed(seed, *key, "net")
                    values[g, t], limit = trial(params, x, int(seeds[g, t, 0]), int(seeds[g, t, 1]), device)
                    limiting[g, t] = np.nan if limit is None else limit
                    if progress is not None:
                        progress(f"{panel}: {', '.join(f'{k}={v}' for k, v in zip(names, params))}, {x_name}={x}")
            curve = Curve(panel, dict(zip(names, params)), np.asarray(grid), values,
                          None if panel == "right" else limiting, seeds)
            curve.fit = fit_curve(curve.x, values)
            curves.append(curve)
    return Result(profile, seed, device, plan, curves, time.perf_counter() - started,
                  time.process_time() - started_cpu)


def trial_count(plan: Plan) -> int:
    """The number of trials (networks) a sweep of ``plan`` runs: the progress bar's total."""
    return plan.trials * sum(len(grid) * len(curves) for grid, curves in _grids(plan).values())


def _slope_text(fit: stats.SlopeFit) -> str:
    return f"slope {fit.slopes[0]:.2f} [{fit.lower[0]:.2f}, {fit.upper[0]:.2f}]"


def summary_lines(result: Result) -> list[str]:
    """One line per curve: panel, sizes and fitted slope with its interval (printed by the CLI)."""
    level = f"{100 * (1 - stats.ALPHA):.0f}%"
    return [f"{c.panel:5s} {c.label:22s} {_slope_text(c.fit)} ({level})" for c in result.curves] + [
        f"{trial_count(result.plan)} networks in {result.elapsed_s:.1f} s ({result.cpu_s:.1f} s CPU; profile "
        f"{result.profile or 'custom'}, seed {result.seed}, device {result.device})"]


def _curve_document(curve: Curve) -> dict:
    fit = curve.fit
    return {"panel": curve.panel, "params": curve.params, "x": curve.x, "values": curve.values,
            "limiting": curve.limiting, "seeds": curve.seeds, "mean": curve.values.mean(axis=1),
            "sd": curve.values.std(axis=1, ddof=1), "slope": fit.slopes[0], "lower": fit.lower[0],
            "upper": fit.upper[0], "stderr": fit.stderr[0], "lack_of_fit_p": fit.lack_of_fit_p}


def write_data(result: Result, out_dir) -> list[Path]:
    """figure2.csv (one row per trial: panel, sizes, trial, seeds, lambda_min, limiting prediction) and
    figure2.json (settings, environment, per-curve arrays and slope fits). Returns the two paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out / f"{DATA_NAME}.csv", out / f"{DATA_NAME}.json"
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["panel", "N", "n1", "n2", "d", "trial", "data_seed", "net_seed", "lambda_min",
                         "limiting_lambda_min"])
        for curve in result.curves:
            for g, x in enumerate(curve.x):
                sizes = {**curve.params, PANELS[curve.panel][0]: int(x)}
                sizes.setdefault("n1", WIDE_FACTOR * sizes["N"])
                for t in range(result.plan.trials):
                    limit = "" if curve.limiting is None else repr(float(curve.limiting[g, t]))
                    writer.writerow([curve.panel, sizes["N"], sizes["n1"], sizes["n2"], sizes["d"], t,
                                     *curve.seeds[g, t].tolist(), repr(float(curve.values[g, t])), limit])
    document = {"figure": "Figure 2 of Nguyen, Mondelli & Montufar (ICML 2021)", "depth": DEPTH,
                "profile": result.profile, "seed": result.seed, "device": result.device,
                "plan": dataclasses.asdict(result.plan), "alpha": stats.ALPHA, "elapsed_s": result.elapsed_s,
                "cpu_s": result.cpu_s,
                **environment(), "curves": [_curve_document(c) for c in result.curves]}
    json_path.write_text(json.dumps(jsonable(document), indent=1, allow_nan=False) + "\n")
    return [csv_path, json_path]


def _plot_panel(axes, curves, colors, *, x_label, y_label, title, reference_slope):
    """Mean +- 1 sd per grid point (as the paper reports), the fitted power law, the limiting-NTK
    prediction where the curve has one, and a reference line of the claimed exponent."""
    for curve, color in zip(curves, colors):
        mean, sd = curve.values.mean(axis=1), curve.values.std(axis=1, ddof=1)
        axes.errorbar(curve.x, mean, yerr=sd, fmt="o", color=color, capsize=3, ms=4,
                      label=f"{curve.label}: {_slope_text(curve.fit)}")
        log_x = np.log(curve.x)
        centre = np.log(curve.values).mean()  # the least-squares line passes through the centroid
        axes.plot(curve.x, np.exp(centre + curve.fit.slopes[0] * (log_x - log_x.mean())), "-", color=color,
                  lw=1)
        if curve.limiting is not None:
            axes.plot(curve.x, curve.limiting.mean(axis=1), ":", color=color, lw=1.5,
                      label=r"limiting NTK $\lambda_{\min}(K^{(3)})$, eq. (9)-(10)" if curve is curves[0] else None)
    x_all = np.concatenate([c.x for c in curves])
    log_centre = np.mean([np.log(c.values).mean() for c in curves])
    log_x_centre = np.log(x_all).mean()
    span = np.geomspace(x_all.min(), x_all.max(), 2)
    axes.plot(span, np.exp(log_centre + reference_slope * (np.log(span) - log_x_centre)), "--", color="0.5",
              lw=1, label=f"claimed slope {reference_slope:g}")
    axes.set(xscale="log", yscale="log", xlabel=x_label, ylabel=y_label, title=title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, loc="best")


def plot(result: Result, out_dir) -> list[Path]:
    """figure2.png and figure2.svg in ``out_dir``: both panels, log-log, mean +- 1 sd over the trials,
    fitted slopes with their (1 - ALPHA) intervals in the legends. Returns the two paths."""
    from matplotlib.figure import Figure  # imported here: plotting is optional for the sweeps' users

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figure = Figure(figsize=(12, 4.8), layout="constrained")
    left_axes, right_axes = figure.subplots(1, 2)
    colors = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")
    by_panel = {p: [c for c in result.curves if c.panel == p] for p in PANELS}
    _plot_panel(left_axes, by_panel["left"], colors, x_label="d",
                y_label=r"$\lambda_{\min}(\frac{4}{n_1 n_2}\bar K^{(3)})$",
                title=r"Theorem 3.2: $L=3$, $W_l \sim \mathcal{N}(0,1)$", reference_slope=1.0)
    _plot_panel(right_axes, by_panel["right"], colors, x_label="N", y_label=r"$\lambda_{\min}(\bar K^{(3)})$",
                title=r"Theorem 4.1: $L=3$, He init, $n_1 = 8N$", reference_slope=1.0)
    figure.suptitle(f"Figure 2 reproduced: profile {result.profile or 'custom'}, {result.plan.trials} trials "
                    f"per point (mean $\\pm$ 1 sd), seed {result.seed}; slopes with "
                    f"{100 * (1 - stats.ALPHA):.0f}% intervals", fontsize=10)
    paths = [out / f"{DATA_NAME}.{fmt}" for fmt in FORMATS]
    for path in paths:
        # no creation date in the SVG: the same run gives the same file
        figure.savefig(path, dpi=120, metadata={"Date": None} if path.suffix == ".svg" else None)
    return paths


class ProgressBar:
    """A one-line progress bar on stderr (done/total, elapsed, time left), drawn only when the stream is
    a terminal, so that logs and CI output get no carriage returns. No dependency."""

    WIDTH = 24

    def __init__(self, total: int, stream=None):
        self.stream = sys.stderr if stream is None else stream
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total, self.done, self.started = max(int(total), 1), 0, time.perf_counter()

    def step(self, label: str = "") -> None:
        self.done += 1
        if not self.enabled:
            return
        fraction = min(self.done / self.total, 1.0)
        elapsed = time.perf_counter() - self.started
        filled = math.floor(fraction * self.WIDTH)
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total} "
                          f"{elapsed:.0f}s elapsed, ~{elapsed / fraction - elapsed:.0f}s left  {label[:48]:48s}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def add_arguments(parser) -> None:
    """The options of ``ntkcheck figure2``."""
    parser.add_argument("--profile", choices=profiles.PROFILES, default="smoke",
                        help="sizes and trials: smoke (seconds), full (minutes on a CPU), paper (50 trials, "
                             "larger sizes; meant for a GPU). Default: smoke")
    parser.add_argument("--seed", type=int, default=0, help="base seed of every draw (default 0)")
    parser.add_argument("--out", type=Path, default=Path("figure2-out"), metavar="DIR",
                        help="output folder for figure2.{png,svg,csv,json} (default ./figure2-out)")
    parser.add_argument("--device", default="cpu", metavar="cpu|cuda|cuda:N",
                        help="torch device, as ntkcheck's device= takes it (default cpu)")


def run(args) -> int:
    """``ntkcheck figure2``: sweep, write the data and the figure, print the slopes. Returns 0."""
    plan = PLANS[args.profile]
    seed = as_seed(args.seed, "--seed")
    device = as_device(args.device, "--device")  # before any work: a bad or absent device is one line
    bar = ProgressBar(trial_count(plan))
    try:
        result = sweep(plan, seed=seed, device=device, profile=args.profile, progress=bar.step)
    finally:
        bar.close()
    paths = write_data(result, args.out) + plot(result, args.out)
    print("\n".join(summary_lines(result)))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
