"""Figures from ensemble tables: median lines with 5-95% bands, paired differences, flows.

Everything is drawn with matplotlib's object API on the Agg canvas (no pyplot, no global
backend switch), and saved as PNG and SVG through atomic writes. Figures read on their
own: titles say what is shown, axes carry units, and a note says how many replications
the bands summarize.

Main entry point: :func:`draw_results`, used after a run and by ``asylumsim plot``. This
module holds the figure kinds and their drawing helpers; what they show (bands, labels,
colours, number format) is :mod:`sim.plots.data`, and how a band is drawn (a faint fill
edged by dotted lines in its scenario's colour) :mod:`sim.plots.shading`.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.plots.data import (
    BASELINE_COLOR,
    DEFAULT_METRICS,
    FAMILY_LABELS,
    FIGURE_COST,
    FLOW_PREFIXES,
    MAIN_METRIC,
    PALETTE,
    band,
    colors,
    compact,
    diff_band,
    flow_columns,
    run_colors,
    share_of,
    title_for,
)
from sim.plots.shading import band_legend, draw_band
from sim.runner import storage

DAY_LABEL = "days after the mobilization order"
BAND_NOTE = "line: median; shading: 5-95% of {n} replications, edged by dotted lines of the scenario's colour"


# --------------------------------------------------------------------------------------
# drawing helpers


_AXIS_FMT = FuncFormatter(lambda v, _pos: compact(v))


def _order_and_colors(ts: pd.DataFrame, cmap: dict[str, str] | None, baseline: str | None) -> tuple[list[str], dict[str, str]]:
    order = list(dict.fromkeys(ts["scenario"]))
    if cmap is None or any(s not in cmap for s in order):
        cmap = {**colors(order, baseline), **(cmap or {})}
    # scenarios in the order of the colour mapping (the manifest's), then any others
    order = [s for s in cmap if s in set(order)] + [s for s in order if s not in cmap]
    return order, cmap


def _skip_note(skipped: Sequence[str]) -> str:
    return f"no data for: {', '.join(skipped)}" if skipped else ""


def _plain_text(func: Any) -> Any:
    """Draw names as written: '$' is not mathtext, missing glyphs are one note, not many.

    Missing-glyph warnings (emoji in a scenario name) are collected in :data:`NOTES`.
    """
    import functools
    import warnings

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with matplotlib.rc_context({"text.parse_math": False}), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = func(*args, **kwargs)
        for w in caught:
            text = str(w.message)
            if "Glyph" in text and "missing from" in text:
                _note(GLYPH_NOTE)
            else:  # not ours to hide
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return result

    return wrapper


GLYPH_NOTE = "some characters in names (e.g. emoji) have no glyph in the plot font; they are drawn as boxes"
# Notes gathered while drawing (missing glyphs, scenarios without data), read by draw_results.
NOTES: list[str] = []


def _note(text: str) -> None:
    if text and text not in NOTES:
        NOTES.append(text)


def _draw_bands(ax: Any, data: pd.DataFrame, order: Sequence[str], cmap: dict[str, str], suffix: dict[str, str] | None = None,
                baseline: str | None = None) -> list[str]:
    """Median line and 5-95% band per scenario (the baseline's median dashed, on top, so a
    curve that coincides with it cannot hide it); returns the scenarios without data."""
    skipped = []
    for s in order:
        d = data[data["scenario"] == s].sort_values("day")
        if d.empty:
            skipped.append(s)
            continue
        draw_band(ax, d["day"], d["p05"], d["p95"], cmap[s], s)
        top = {"linestyle": (0, (5, 2)), "zorder": 3} if s == baseline else {}
        ax.plot(d["day"], d["median"], color=cmap[s], linewidth=2, label=s + (suffix or {}).get(s, ""), **top)
    ax.yaxis.set_major_formatter(_AXIS_FMT)
    ax.grid(True, alpha=0.3)
    ax.margins(x=0)
    return skipped


def _hide_unused(axes: np.ndarray, used: int, ncols: int) -> None:
    """Hide empty grid cells; label the x axis of each panel that ends its column."""
    for ax in axes[used:]:
        ax.set_visible(False)
    for i in range(used):
        if i + ncols >= used:
            axes[i].tick_params(labelbottom=True)
            axes[i].set_xlabel(DAY_LABEL)


PNG_DPI = 150


def _save(fig: Figure, stem: Path) -> list[Path]:
    FigureCanvasAgg(fig)
    paths = []
    for ext, kw in ((".png", {"dpi": PNG_DPI}), (".svg", {"metadata": {"Date": None}})):
        buf = io.BytesIO()
        # SVG text stays text: smaller, editable, and much faster than glyph paths.
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            fig.savefig(buf, format=ext[1:], **kw)
        path = stem.with_suffix(ext)
        storage.atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    return paths


def _n_reps(ts: pd.DataFrame) -> int:
    return int(ts.groupby("scenario")["replication"].nunique().max()) if len(ts) else 0


# --------------------------------------------------------------------------------------
# figures


@_plain_text
def plot_metric(ts: pd.DataFrame, metric: str, stem: Path, baseline: str | None = None,
                cmap: dict[str, str] | None = None) -> list[Path]:
    """Write :func:`metric_figure` as PNG and SVG at ``stem``; returns the paths written."""
    return _save(metric_figure(ts, metric, baseline, cmap), stem)


@_plain_text
def metric_figure(ts: pd.DataFrame, metric: str, baseline: str | None = None,
                  cmap: dict[str, str] | None = None) -> Figure:
    """One metric over days: median and band per scenario; below, the paired difference.

    The difference panel is drawn when a baseline is given and there is another scenario.
    A scenario with no values of ``metric`` (all NaN, e.g. an offer it does not make) is
    left out with a note on the figure.

    Args:
        ts: Table with ``scenario``, ``replication``, ``day`` and ``metric`` columns.
        metric: Column to draw.
        baseline: Scenario the differences are taken from, or None.
        cmap: Scenario -> colour (:func:`run_colors`), so colours match across figures.

    Returns:
        The figure (nothing is written; :func:`plot_metric` saves it, :func:`png_bytes`
        renders it in memory).
    """
    order, cmap = _order_and_colors(ts, cmap, baseline)
    title, unit = title_for(metric)
    with_diff = baseline is not None and len(order) > 1
    fig = Figure(figsize=(12, 7.5 if with_diff else 4.8), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2]) if with_diff else [fig.subplots()]
    ax = axes[0]
    skipped = _draw_bands(ax, band(ts, metric), order, cmap, baseline=baseline)
    ax.set_title(f"{title}, by scenario" if len(order) > 1 else title, loc="left", fontsize=13, fontweight="bold")
    ax.set_ylabel(unit)
    if ax.get_legend_handles_labels()[0]:
        band_legend(ax, "line: median", f"shading: 5-95% of {_n_reps(ts)} replications,\n"
                                        "edged by dotted lines of the\nscenario's colour")
    if with_diff:
        ax2 = axes[1]
        d = diff_band(ts, metric, baseline)
        others = [s for s in order if s != baseline]
        ax2.axhline(0, color=BASELINE_COLOR, linewidth=1, linestyle="--")
        no_diff = [s for s in _draw_bands(ax2, d, others, cmap, suffix=_last_value_labels(d, others)) if s not in skipped]
        ax2.set_title(f"Difference from {baseline} (each replication minus its paired baseline run)", loc="left", fontsize=10)
        ax2.set_ylabel(f"difference ({unit})" if unit else "difference")
        if no_diff:
            ax2.text(0.01, 0.02, ("no paired differences: the baseline has no data" if baseline in skipped
                                  else f"no paired differences for: {', '.join(no_diff)}"),
                     transform=ax2.transAxes, fontsize=8, color="#555555")
        if ax2.get_legend_handles_labels()[0]:
            band_legend(ax2, "line: median of the paired differences;\nlabel: median [90% interval] on the last day",
                        "shading: 90% interval, edged by dotted\nlines of the scenario's colour")
    axes[-1].set_xlabel(DAY_LABEL)
    if skipped:
        ax.text(0.01, 0.02, _skip_note(skipped), transform=ax.transAxes, fontsize=8, color="#555555")
        _note(f"{metric}: {_skip_note(skipped)} (left out of the figure)")
    return fig


@_plain_text
def png_bytes(fig: Figure) -> bytes:
    """``fig`` as the PNG :func:`plot_metric` writes (same resolution), in memory only."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI)
    return buf.getvalue()


def results_metric_png(manifest: dict[str, Any], ts: pd.DataFrame, metric: str,
                       notes: list[str] | None = None) -> bytes:
    """PNG bytes of the figure ``draw_results(folder, manifest, ts, [metric])`` writes to
    ``plots/METRIC.png`` (same baseline, colours and resolution); writes no file.

    Args:
        notes: If given, the drawing's notes are appended here (see :func:`draw_results`).
    """
    baseline, cmap = _baseline_and_colors(manifest, ts)
    NOTES.clear()
    try:
        return png_bytes(metric_figure(ts, metric, baseline, cmap=cmap))
    finally:
        found, NOTES[:] = list(NOTES), []
        if notes is not None:
            notes.extend(found)


def _last_value_labels(d: pd.DataFrame, scenarios: Sequence[str]) -> dict[str, str]:
    out = {}
    for s in scenarios:
        row = d[d["scenario"] == s].sort_values("day").tail(1)
        if not row.empty:
            r = row.iloc[0]
            out[s] = f": {compact(r['median'], True)} [{compact(r['p05'], True)}, {compact(r['p95'], True)}] on day {int(r['day'])}"
    return out


def plot_compare(ts: pd.DataFrame, baseline: str, stem: Path, metric: str = MAIN_METRIC,
                 cmap: dict[str, str] | None = None) -> list[Path]:
    """The one-picture answer: ``metric`` per scenario on top, paired difference below."""
    if metric not in ts.columns:
        metric = "front_strength" if "front_strength" in ts.columns else metric
    return plot_metric(ts, metric, stem, baseline=baseline, cmap=cmap)


@_plain_text
def plot_flows(ts: pd.DataFrame, prefix: str, stem: Path, cmap: dict[str, str] | None = None) -> list[Path]:
    """Stacked areas of one flow family, one panel per scenario.

    Components are stacked *means* across replications (means add up; medians do not).
    Panels follow the scenario order of ``cmap`` (:func:`run_colors`); the panel titles
    carry the scenario's colour.
    """
    cols = flow_columns(ts, prefix)
    order, cmap = _order_and_colors(ts, cmap, None)
    title, unit = FAMILY_LABELS.get(prefix, (prefix.rstrip("_"), ""))
    n = len(order)
    ncols = 2 if n == 4 else min(n, 3)
    nrows = -(-n // ncols)
    fig = Figure(figsize=(max(8.0, 4.2 * ncols + 2.0), 3.4 * nrows + 1.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)).ravel()
    mean = ts.groupby(["scenario", "day"], sort=False)[cols].mean().reset_index()
    names = [c[len(prefix):] for c in cols]
    palette = [PALETTE[i % len(PALETTE)] for i in range(len(cols))]
    for ax, s in zip(axes, order, strict=False):
        d = mean[mean["scenario"] == s].sort_values("day")
        ax.stackplot(d["day"], [d[c].fillna(0).to_numpy() for c in cols], labels=names, colors=palette, alpha=0.85)
        ax.set_title(s, loc="left", fontsize=10, color=cmap[s], fontweight="bold")
        ax.yaxis.set_major_formatter(_AXIS_FMT)
        ax.grid(True, alpha=0.3)
        ax.margins(x=0)
    _hide_unused(axes, len(order), ncols)
    for ax in axes[::ncols]:
        ax.set_ylabel(unit)
    fig.suptitle(f"{title}\nstacked means of {_n_reps(ts)} replications", x=0.01, ha="left", fontsize=12, fontweight="bold")
    handles, labels = axes[0].get_legend_handles_labels()
    # Reversed so the legend reads top-down in the same order as the stack.
    fig.legend(handles[::-1], labels[::-1], loc="outside right center", fontsize=9)
    return _save(fig, stem)


@_plain_text
def plot_overview(ts: pd.DataFrame, metrics: Sequence[str], stem: Path, cmap: dict[str, str] | None = None) -> list[Path]:
    """A grid of key metrics (median and band per scenario) for a single run."""
    metrics = [m for m in metrics if m in ts.columns][:6]
    order, cmap = _order_and_colors(ts, cmap, None)
    ncols = 2 if len(metrics) > 1 else 1
    nrows = max(1, -(-len(metrics) // ncols))
    fig = Figure(figsize=(6 * ncols, 3.4 * nrows + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, squeeze=False)).ravel()
    for ax, m in zip(axes, metrics, strict=False):
        skipped = _draw_bands(ax, band(ts, m), order, cmap)
        title, unit = title_for(m)
        ax.set_title(title + (f"\n({_skip_note(skipped)})" if skipped else ""), loc="left", fontsize=10)
        ax.set_ylabel(unit)
    _hide_unused(axes, len(metrics), ncols)
    fig.suptitle(f"Scenario {', '.join(order)}\n{BAND_NOTE.format(n=_n_reps(ts))}", x=0.01, ha="left", fontsize=12, fontweight="bold")
    return _save(fig, stem)


def draw_results(folder: Path, manifest: dict[str, Any], ts: pd.DataFrame, metrics: Sequence[str] | None = None,
                 notes: list[str] | None = None, part: tuple[int, int] | None = None) -> list[Path]:
    """Draw the standard figures of a results folder (or only ``metrics``).

    Without ``metrics``: the main figure (``compare.png`` for comparisons,
    ``overview.png`` for single runs), one figure per key metric and one per flow family
    under ``plots/``. With ``metrics``: just those metrics under ``plots/``. Every figure
    gives a scenario the same colour (:func:`run_colors`).

    Args:
        folder: The results folder.
        manifest: Its manifest.
        ts: Its combined table.
        metrics: Only these columns, or None for the standard set.
        notes: If given, notes for the user (scenarios without data, missing glyphs) are
            appended here, one line each; if None they are printed to stderr as
            ``note: ...`` lines, each at most once.
        part: ``(i, n)``: draw only share ``i`` of ``n`` of the figures, so that ``n``
            processes can draw them at once (:func:`share_of`: the shares are balanced by
            each figure's expected drawing time).

    Returns:
        Paths written.

    Raises:
        ResultsError: a figure cannot be written.
    """
    NOTES.clear()
    try:
        return _draw_results(Path(folder), manifest, ts, metrics, part)
    finally:
        found, NOTES[:] = list(NOTES), []
        if notes is not None:
            notes.extend(found)
        else:
            for n in found:
                print(f"note: {n}", file=sys.stderr)


def _baseline_and_colors(manifest: dict[str, Any], ts: pd.DataFrame) -> tuple[str | None, dict[str, str]]:
    """The baseline differences are taken from (comparisons only) and the run's colours."""
    baseline = manifest.get("baseline") if manifest.get("kind") == "compare" else None
    return baseline, run_colors(manifest, ts)


def _draw_results(folder: Path, manifest: dict[str, Any], ts: pd.DataFrame, metrics: Sequence[str] | None,
                  part: tuple[int, int] | None = None) -> list[Path]:
    plots = folder / storage.PLOTS_DIR
    baseline, cmap = _baseline_and_colors(manifest, ts)
    figures: list[Callable[[], list[Path]]] = []  # each draws one figure (png and svg)
    if metrics:
        figures += [partial(plot_metric, ts, m, plots / m, baseline, cmap=cmap) for m in metrics]
    else:
        if baseline:
            figures.append(partial(plot_compare, ts, baseline, folder / "compare", cmap=cmap))
        else:
            figures.append(partial(plot_overview, ts, DEFAULT_METRICS, folder / "overview", cmap=cmap))
        main = MAIN_METRIC if MAIN_METRIC in ts.columns else "front_strength"
        for m in DEFAULT_METRICS:
            if baseline and m == main:
                continue  # compare.png is this figure
            if m in ts.columns and ts[m].notna().any():
                figures.append(partial(plot_metric, ts, m, plots / m, baseline, cmap=cmap))
        for prefix in FLOW_PREFIXES:
            if flow_columns(ts, prefix):
                figures.append(partial(plot_flows, ts, prefix, plots / f"flows_{prefix.rstrip('_')}", cmap=cmap))
    if part is not None:
        figures = [figures[k] for k in share_of([FIGURE_COST.get(f.func.__name__, 1.0) for f in figures], *part)]
    written: list[Path] = []
    for draw in figures:
        written += draw()
    return written
