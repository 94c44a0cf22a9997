"""Figures from ensemble tables: median lines with 5-95% bands, paired differences, flows.

Everything is drawn with matplotlib's object API on the Agg canvas (no pyplot, no global
backend switch), and saved as PNG and SVG through atomic writes. Figures read on their
own: titles say what is shown, axes carry units, and a note says how many replications
the bands summarize.

Main entry point: :func:`draw_results`, used after a run and by ``asylumsim plot``. This
module holds the figure kinds of medians and bands; what they show (bands, labels,
colours, line styles, number format) is :mod:`sim.plots.data`, how a band is drawn (a
faint fill edged by dotted lines in its scenario's colour) :mod:`sim.plots.shading`, the
flow figures :mod:`sim.plots.flows`, what every figure shares (notes, saving)
:mod:`sim.plots.canvas`.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.errors import ResultsError
from sim.plots.canvas import AXIS_FMT as _AXIS_FMT
from sim.plots.canvas import DAY_LABEL, GLYPH_NOTE, NOTES, PNG_DPI, grow_to_fit_legends
from sim.plots.canvas import hide_unused as _hide_unused
from sim.plots.canvas import n_reps as _n_reps
from sim.plots.canvas import note as _note
from sim.plots.canvas import order_and_colors as _order_and_colors
from sim.plots.canvas import plain_text as _plain_text
from sim.plots.canvas import save as _save
from sim.plots.data import (
    BASELINE_COLOR,
    BASELINE_DASHES,
    DEFAULT_METRICS,
    FIGURE_COST,
    FLOW_PREFIXES,
    LABEL_WIDTH,
    MAIN_METRIC,
    PALETTE,
    PALETTE_2,
    band,
    colors,
    compact,
    diff_band,
    flow_columns,
    legend_label,
    line_styles,
    run_colors,
    share_of,
    title_for,
    wrap_label,
)
from sim.plots.flows import flows_figure, plot_flows
from sim.plots.shading import band_legend, draw_band
from sim.runner import storage

__all__ = [
    "BASELINE_COLOR", "GLYPH_NOTE", "MAIN_FALLBACK", "NOTES", "PALETTE", "PALETTE_2", "band", "colors", "compact",
    "diff_band", "draw_results", "flows_figure", "main_metric", "metric_figure", "plot_compare", "plot_flows",
    "plot_metric", "plot_overview", "png_bytes", "results_metric_png", "run_colors",
]
BAND_NOTE = "line: median; shading: 5-95% of {n} replications, edged by dotted lines of the scenario's colour"


# --------------------------------------------------------------------------------------
# drawing helpers


def _skip_note(skipped: Sequence[str]) -> str:
    return f"no data for: {', '.join(skipped)}" if skipped else ""


class _Drawn(NamedTuple):
    """What :func:`_draw_bands` drew on a panel: the scenarios left out (no data), the median
    lines (given to the legend explicitly, so a name starting with '_', which matplotlib's
    own collection of legend entries leaves out, is listed like any other), and whether a
    median has a dash pattern longer than the legend's default line sample."""

    skipped: list[str]
    medians: list[Any]
    long_dashes: bool


def _draw_bands(ax: Any, data: pd.DataFrame, order: Sequence[str], cmap: dict[str, str], suffix: dict[str, str] | None = None,
                baseline: str | None = None) -> _Drawn:
    """Median line and 5-95% band per scenario (the baseline's median dashed, on top, so a
    curve that coincides with it cannot hide it).

    Each median is drawn in its scenario's colour and line style (:func:`line_styles`: no
    two scenarios alike, however many) and labelled for the legend (:func:`legend_label`:
    long names wrapped)."""
    skipped, medians, long_dashes = [], [], False
    styles = line_styles(cmap)
    for s in order:
        d = data[data["scenario"] == s].sort_values("day")
        if d.empty:
            skipped.append(s)
            continue
        draw_band(ax, d["day"], d["p05"], d["p95"], cmap[s], s)
        top = {"linestyle": BASELINE_DASHES, "zorder": 3} if s == baseline else {"linestyle": styles.get(s, "-")}
        long_dashes |= top["linestyle"] not in ("-", BASELINE_DASHES)
        (line,) = ax.plot(d["day"], d["median"], color=cmap[s], linewidth=2,
                          label=legend_label(s, (suffix or {}).get(s, "")), **top)
        medians.append(line)
    ax.yaxis.set_major_formatter(_AXIS_FMT)
    ax.grid(True, alpha=0.3)
    ax.margins(x=0)
    return _Drawn(skipped, medians, long_dashes)


def _legend(ax: Any, drawn: _Drawn, title: str, band: str) -> None:
    """The panel's legend (:func:`band_legend`) over the medians :func:`_draw_bands` drew."""
    band_legend(ax, title, band, drawn.medians, [ln.get_label() for ln in drawn.medians],
                handlelength=4.0 if drawn.long_dashes else None)


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
    top = _draw_bands(ax, band(ts, metric), order, cmap, baseline=baseline)
    skipped = top.skipped
    ax.set_title(f"{title}, by scenario" if len(order) > 1 else title, loc="left", fontsize=13, fontweight="bold")
    ax.set_ylabel(unit)
    if top.medians:
        _legend(ax, top, "line: median", f"shading: 5-95% of {_n_reps(ts)} replications,\n"
                                    "edged by dotted lines of the\nscenario's colour")
    if with_diff:
        ax2 = axes[1]
        d = diff_band(ts, metric, baseline)
        others = [s for s in order if s != baseline]
        ax2.axhline(0, color=BASELINE_COLOR, linewidth=1, linestyle="--")
        bottom = _draw_bands(ax2, d, others, cmap, suffix=_last_value_labels(d, others))
        no_diff = [s for s in bottom.skipped if s not in skipped]
        how = "(each replication minus its paired baseline run)"
        # a long baseline name is wrapped, the explanation on a line of its own (the title stays above the panel)
        title2 = (f"Difference from {baseline} {how}" if len(baseline) <= LABEL_WIDTH
                  else f"Difference from {wrap_label(baseline)}\n{how}")
        ax2.set_title(title2, loc="left", fontsize=10)
        ax2.set_ylabel(f"difference ({unit})" if unit else "difference")
        if no_diff:
            ax2.text(0.01, 0.02, ("no paired differences: the baseline has no data" if baseline in skipped
                                  else f"no paired differences for: {', '.join(no_diff)}"),
                     transform=ax2.transAxes, fontsize=8, color="#555555")
        if bottom.medians:
            _legend(ax2, bottom, "line: median of the paired differences;\nlabel: median [90% interval] on the last day",
                    "shading: 90% interval, edged by dotted\nlines of the scenario's colour")
    axes[-1].set_xlabel(DAY_LABEL)
    if skipped:
        ax.text(0.01, 0.02, _skip_note(skipped), transform=ax.transAxes, fontsize=8, color="#555555")
        _note(f"{metric}: {_skip_note(skipped)} (left out of the figure)")
    grow_to_fit_legends(fig, list(axes), [3, 2] if with_diff else [1])  # every scenario stays in the legend
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


MAIN_FALLBACK = "front_strength"
"""The main figure's metric when the table has no :data:`MAIN_METRIC` (a stand-in model)."""


def main_metric(ts: pd.DataFrame, metric: str = MAIN_METRIC) -> str | None:
    """The column the main figure draws: ``metric``, else :data:`MAIN_FALLBACK`, else None."""
    return next((m for m in (metric, MAIN_FALLBACK) if m in ts.columns), None)


def plot_compare(ts: pd.DataFrame, baseline: str, stem: Path, metric: str = MAIN_METRIC,
                 cmap: dict[str, str] | None = None) -> list[Path]:
    """The one-picture answer: ``metric`` per scenario on top, paired difference below.

    Raises:
        ResultsError: the table has neither ``metric`` nor :data:`MAIN_FALLBACK`.
    """
    found = main_metric(ts, metric)
    if found is None:
        raise ResultsError(f"the table has no {metric!r} or {MAIN_FALLBACK!r} column to draw")
    return plot_metric(ts, found, stem, baseline=baseline, cmap=cmap)


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
        skipped = _draw_bands(ax, band(ts, m), order, cmap).skipped
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
        # The main figure needs its metric: a stand-in model may have none of them, and then
        # the other figures are drawn and a note says which one was not.
        main = main_metric(ts)
        if baseline and main is None:
            _note(f"compare.png not drawn: the table has no {MAIN_METRIC!r} or {MAIN_FALLBACK!r} column")
        elif baseline:
            figures.append(partial(plot_compare, ts, baseline, folder / "compare", cmap=cmap))
        elif not any(m in ts.columns for m in DEFAULT_METRICS):
            _note(f"overview.png not drawn: the table has none of its columns ({', '.join(DEFAULT_METRICS)})")
        else:
            figures.append(partial(plot_overview, ts, DEFAULT_METRICS, folder / "overview", cmap=cmap))
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
