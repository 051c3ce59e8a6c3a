"""The plots of the claims report: one PNG per scaling or band record, drawn from its ``numbers``.

Axes are named after the check's parameter and quantity (``numbers["x_name"]`` / ``numbers["y_name"]``,
written by :func:`ntkcheck.checks.scaling` and :func:`ntkcheck.checks.band`; for older records the same
defaults are read from the check's name). A band without a varied parameter (one grid point, or points that
differ in no parameter) is drawn as dots against the band, one column per point, without a numeric x axis.
Tick labels are plain numbers, and those that would overlap are thinned out after a first draw
(:func:`tick_label_overlaps` checks it). matplotlib is imported only when a figure is drawn. Cost: one
figure (two draws) per record.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from ntkcheck.records import Record

PLOTTED_KINDS = ("scaling", "band")
_TICK_PAD_PX = 4  # tick labels closer than this count as overlapping (screen pixels at the saved dpi)
_PLOT_DPI = 100


def _floats(values) -> np.ndarray:
    return np.asarray([float(v) for v in values])  # float() also reads the "nan"/"inf" strings of the JSON


def _axis_names(record: Record) -> tuple[str, str]:
    """(x label, y label) of a record's plot: its numbers' x_name / y_name (written by the checks since
    they take them), else what the checks would have chosen from the name (older records)."""
    from ntkcheck.checks import axis_names  # the checks' own default, for records written before x_name

    n = record.numbers
    parsed_x, parsed_y = axis_names(record.name)
    default_x = parsed_x or ((n.get("varied") or ["grid point"])[0] if record.kind == "band" else "x")
    return str(n.get("x_name") or default_x), str(n.get("y_name") or parsed_y)


def _label(text: str, width: int = 48) -> str:
    return textwrap.fill(text, width)


def _tick_text(value, _position=None) -> str:
    """A tick label: plain numbers (16, 0.25, 3e+04) rather than matplotlib's 10^k mathtext for minor ticks."""
    if value == 0:
        return "0"
    if abs(value) < 1e6 and float(value).is_integer():
        return str(int(value))  # grid sizes: 1024, not 1.02e+03
    return f"{value:.3g}" if 1e-3 <= abs(value) < 1e5 else f"{value:.0e}".replace("e+0", "e").replace("e-0", "e-")


def _format_axes(axes, *, x_grid=None) -> None:
    """Plain-number tick labels on log axes, minor labels only where an axis spans less than two decades,
    and the grid values themselves as x ticks when there are few of them."""
    from matplotlib import ticker

    for axis, (low, high) in ((axes.xaxis, axes.get_xlim()), (axes.yaxis, axes.get_ylim())):
        if axis.get_scale() != "log" or not (low > 0 and high > 0):
            continue
        axis.set_major_formatter(ticker.FuncFormatter(_tick_text))
        few_decades = abs(np.log10(high / low)) < 2.0  # else the decades alone label it well
        axis.set_minor_formatter(ticker.FuncFormatter(_tick_text) if few_decades else ticker.NullFormatter())
    if x_grid is not None and axes.xaxis.get_scale() == "log":
        values = np.unique(x_grid[np.isfinite(x_grid) & (x_grid > 0)])
        if 1 < values.size <= 10:
            axes.xaxis.set_major_locator(ticker.FixedLocator(values))
            axes.xaxis.set_major_formatter(ticker.FuncFormatter(_tick_text))
            axes.xaxis.set_minor_locator(ticker.NullLocator())


def _finish(axes, record: Record, *, x_label: str, y_label: str) -> None:
    axes.set_xlabel(_label(x_label, 60), fontsize=9)
    axes.set_ylabel(_label(y_label, 40), fontsize=9)
    axes.tick_params(labelsize=8)
    axes.set_title(_label(f"{record.name}", 70) + f"\n{record.verdict.value}: " + _label(record.measured, 70),
                   fontsize=8)
    axes.grid(True, which="both", alpha=0.3)


def _plot_scaling(axes, record: Record) -> None:
    """Geometric mean +- 1 sd of log y per grid point, the fitted line with its interval, and the claimed
    exponent with its tolerance as a shaded fan, all through the centroid of the points."""
    n = record.numbers
    x, mean_log = _floats(n["x"]), _floats(n["mean_log_y"])
    y = np.exp(mean_log)
    spread = None if n["sd_log_y"] is None else _floats(n["sd_log_y"])
    yerr = None if spread is None else [y - np.exp(mean_log - spread), np.exp(mean_log + spread) - y]
    axes.errorbar(x, y, yerr=yerr, fmt="o", color="tab:blue", capsize=3, ms=4,
                  label=f"geometric mean (+- 1 sd of log) over {n['trials']} trial(s)")
    log_x = np.log(x)
    offset = log_x - log_x.mean()
    centre = mean_log.mean()  # the least-squares line passes through the centroid of the point means

    def line(slope):
        return np.exp(centre + float(slope) * offset)

    expected, tol = float(n["expected"]), float(n["tol"])
    axes.plot(x, line(n["slope"]), "-", color="tab:blue",
              label=f"fit: slope {float(n['slope']):.3g} [{float(n['lower']):.3g}, {float(n['upper']):.3g}]")
    axes.plot(x, line(expected), "--", color="0.3", label=f"claimed exponent {expected:g} +- {tol:g}")
    axes.fill_between(x, line(expected - tol), line(expected + tol), color="0.5", alpha=0.15, lw=0)
    axes.set(xscale="log", yscale="log")
    x_label, y_label = _axis_names(record)
    _finish(axes, record, x_label=x_label, y_label=y_label)
    _format_axes(axes, x_grid=x)


def _fixed_params(n: dict) -> str:
    fixed = {k: _floats(v) for k, v in n["params"].items() if k not in n["varied"]}
    return ", ".join(f"{k} = {v[0]:g}" for k, v in fixed.items() if v.size)


def _plot_band_points(axes, record: Record, lo: float, hi: float) -> None:
    """A band without a varied parameter (one grid point, or points that differ in no parameter, e.g.
    architectures): the geometric mean (+- 1 sd of log) of each point as a dot against the band, one
    column per point, and the observed range as two lines; no numeric x axis."""
    n = record.numbers
    count = len(next(iter(n["params"].values())))
    low, high = float(n["min_ratio"]), float(n["max_ratio"])
    positions = np.arange(count, dtype=float)
    axes.axhspan(lo, hi, color="tab:green", alpha=0.12, label=f"claimed band [{lo:.3g}, {hi:.3g}]")
    for value, style in ((low, ":"), (high, ":")):
        axes.axhline(value, ls=style, color="tab:blue", lw=1,
                     label=(f"observed ratios [{low:.3g}, {high:.3g}] ({n['trials']} trial(s) per point)"
                            if value == low else None))
    if n.get("mean_log_ratio") is not None and len(n["mean_log_ratio"]) == count:
        centres = np.exp(_floats(n["mean_log_ratio"]))
        spread = _floats(n["sd_log_ratio"]) if n.get("sd_log_ratio") is not None else np.zeros_like(centres)
        axes.errorbar(positions, centres, yerr=[centres - centres * np.exp(-spread),
                                                centres * np.exp(spread) - centres],
                      fmt="o", color="tab:blue", capsize=3, label="geometric mean per point (+- 1 sd of log)")
    axes.set_xlim(-0.6, count - 0.4)
    axes.set_xticks(positions, [str(i + 1) for i in range(count)] if count > 1 else [""])
    if low > 0:
        axes.set_yscale("log")
        axes.set_ylim(min(lo, low) / 1.5, max(hi, high) * 1.5)
    x_label, y_label = _axis_names(record)
    fixed = _fixed_params(n)
    x_label = (x_label if count > 1 else "one grid point") + (f" ({fixed})" if fixed else "")
    _finish(axes, record, x_label=x_label, y_label=y_label)
    _format_axes(axes)


def _plot_band(axes, record: Record) -> None:
    """The claimed band of the ratio quantity / predicted scale, the observed range of the ratios, and
    the fitted drift of log ratio in the first varied parameter (slope and interval as a fan)."""
    n = record.numbers
    lo, hi = _floats(n["band"])
    varied = n["varied"]
    if not varied:
        _plot_band_points(axes, record, lo, hi)
        return
    name = varied[0]
    x = _floats(n["params"][name])
    span = np.geomspace(x.min(), x.max(), 50)
    axes.axhspan(lo, hi, color="tab:green", alpha=0.12, label=f"claimed band [{lo:.3g}, {hi:.3g}]")
    low, high = float(n["min_ratio"]), float(n["max_ratio"])
    axes.fill_between(span, low, high, color="tab:blue", alpha=0.25, lw=0,
                      label=f"observed ratios [{low:.3g}, {high:.3g}] ({n['trials']} trial(s) per point)")
    if n.get("mean_log_ratio") is not None and len(x) == len(n["mean_log_ratio"]):
        centres = np.exp(_floats(n["mean_log_ratio"]))
        spread = _floats(n["sd_log_ratio"]) if n.get("sd_log_ratio") is not None else np.zeros_like(centres)
        axes.errorbar(x, centres, yerr=[centres - centres * np.exp(-spread), centres * np.exp(spread) - centres],
                      fmt="o", color="tab:blue", ms=4, label="geometric mean per point (+- 1 sd of log ratio)")
    if name in n["drift"]:
        drift = n["drift"][name]
        centre, anchor = np.sqrt(low * high), np.exp(np.log(x).mean())
        for key, style in (("slope", "-"), ("lower", ":"), ("upper", ":")):
            axes.plot(span, centre * (span / anchor) ** float(drift[key]), style, color="tab:blue",
                      label=(f"drift in {name}: {float(drift['slope']):.3g} [{float(drift['lower']):.3g}, "
                             f"{float(drift['upper']):.3g}], tol +- {float(n['drift_tol']):g}")
                      if key == "slope" else None)
    axes.set_xscale("log")
    if low > 0:
        axes.set_yscale("log")
    x_label, y_label = _axis_names(record)
    others = [k for k in varied[1:]]
    if others:
        x_label += f" (also varied: {', '.join(others)})"
    _finish(axes, record, x_label=x_label, y_label=y_label)
    _format_axes(axes, x_grid=x)


def _visible_tick_labels(axis, renderer) -> list:
    """(location, text, window extent, major?) of the non-empty tick labels drawn inside the view."""
    low, high = sorted(axis.get_view_interval())
    scale = (high - low) * 1e-9
    out = []
    for major, locations, labels in ((True, axis.get_majorticklocs(), axis.get_majorticklabels()),
                                     (False, axis.get_minorticklocs(), axis.get_minorticklabels())):
        for location, label in zip(locations, labels):
            if label.get_visible() and label.get_text() and low - scale <= location <= high + scale:
                out.append((float(location), label.get_text(), label.get_window_extent(renderer), major))
    return out


def _overlapping(a, b, pad: float) -> bool:
    return a.x0 < b.x1 + pad and b.x0 < a.x1 + pad and a.y0 < b.y1 + pad and b.y0 < a.y1 + pad


def tick_label_overlaps(figure, pad: float = 0.0) -> list[tuple[str, str]]:
    """The pairs of tick labels (texts) of one axis of ``figure`` whose boxes overlap (after a draw)."""
    renderer = figure.canvas.get_renderer()
    pairs = []
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            labels = _visible_tick_labels(axis, renderer)
            pairs += [(a[1], b[1]) for i, a in enumerate(labels) for b in labels[i + 1:]
                      if _overlapping(a[2], b[2], pad)]
    return pairs


def _thin_tick_labels(figure) -> None:
    """Drop tick labels that would overlap a kept one (major labels first, then minor, in axis order):
    the kept ones become the major ticks, the others unlabelled minor ticks."""
    from matplotlib import ticker

    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            labels = sorted(_visible_tick_labels(axis, renderer), key=lambda item: (not item[3], item[0]))
            kept = []
            for item in labels:
                if not any(_overlapping(item[2], other[2], _TICK_PAD_PX) for other in kept):
                    kept.append(item)
            if len(kept) == len(labels):
                continue
            kept.sort(key=lambda item: item[0])
            dropped = [item[0] for item in labels if item not in kept]
            axis.set_major_locator(ticker.FixedLocator([item[0] for item in kept]))
            axis.set_major_formatter(ticker.FixedFormatter([item[1] for item in kept]))
            axis.set_minor_locator(ticker.FixedLocator(dropped))
            axis.set_minor_formatter(ticker.NullFormatter())


def figure_for(record: Record):
    """The matplotlib Figure of a scaling or band record (drawn, tick labels thinned out)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # imported here: loading a document needs no matplotlib

    figure = Figure(figsize=(6, 4.6), dpi=_PLOT_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    {"scaling": _plot_scaling, "band": _plot_band}[record.kind](axes, record)
    figure.legend(*axes.get_legend_handles_labels(), loc="outside lower center", fontsize=7, ncols=1,
                  frameon=False)
    _thin_tick_labels(figure)
    return figure


def plot_record(record: Record, path) -> Path:
    """One PNG for a scaling or band record (what its ``numbers`` hold), written to ``path``."""
    path = Path(path)
    figure_for(record).savefig(path, dpi=_PLOT_DPI)
    return path
