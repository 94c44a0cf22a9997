"""What every figure shares: plain-text names and the notes gathered while drawing, the
axis number format, scenario order, grid cells, the day axis's label, and saving a figure
as PNG and SVG (atomic writes)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.plots.data import colors, compact
from sim.runner import storage

DAY_LABEL = "days after the mobilization order"

AXIS_FMT = FuncFormatter(lambda v, _pos: compact(v))


def order_and_colors(ts: pd.DataFrame, cmap: dict[str, str] | None, baseline: str | None) -> tuple[list[str], dict[str, str]]:
    """The scenarios of ``ts`` in the order of ``cmap`` (then any others), and a colour for each."""
    order = list(dict.fromkeys(ts["scenario"]))
    if cmap is None or any(s not in cmap for s in order):
        cmap = {**colors(order, baseline), **(cmap or {})}
    # scenarios in the order of the colour mapping (the manifest's), then any others
    order = [s for s in cmap if s in set(order)] + [s for s in order if s not in cmap]
    return order, cmap


def plain_text(func: Any) -> Any:
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
                note(GLYPH_NOTE)
            else:  # not ours to hide
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return result

    return wrapper


GLYPH_NOTE = "some characters in names (e.g. emoji) have no glyph in the plot font; they are drawn as boxes"
# Notes gathered while drawing (missing glyphs, scenarios without data), read by draw_results.
NOTES: list[str] = []


def note(text: str) -> None:
    """Add ``text`` to :data:`NOTES` (once)."""
    if text and text not in NOTES:
        NOTES.append(text)


def hide_unused(axes: np.ndarray, used: int, ncols: int) -> None:
    """Hide empty grid cells; label the x axis of each panel that ends its column."""
    for ax in axes[used:]:
        ax.set_visible(False)
    for i in range(used):
        if i + ncols >= used:
            axes[i].tick_params(labelbottom=True)
            axes[i].set_xlabel(DAY_LABEL)


PNG_DPI = 150


def save(fig: Figure, stem: Path) -> list[Path]:
    """Write ``fig`` at ``stem`` as PNG (:data:`PNG_DPI`) and SVG; returns the paths written."""
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


def n_reps(ts: pd.DataFrame) -> int:
    """The most replications any scenario of ``ts`` has."""
    return int(ts.groupby("scenario")["replication"].nunique().max()) if len(ts) else 0


FEW_LEGEND_ROWS = 14
"""Legends with at most this many text rows fit a panel of the default figures unmeasured."""


def grow_to_fit_legends(fig: Figure, axes: Sequence[Any], heights: Sequence[float]) -> None:
    """Make each panel at least as tall as its legend (beside it), growing the figure.

    A legend taller than its panel ran past the figure's edge or under the next panel's
    legend, so scenarios went missing from it (seen with 16 or more scenarios). Panels
    whose legends have few rows (:data:`FEW_LEGEND_ROWS`) are left as they are without a
    layout pass, so the common figures are unchanged and cost nothing more.

    Args:
        fig: A figure with constrained layout, one column of panels.
        axes: Its panels, top to bottom, each with its legend drawn.
        heights: The panels' height ratios as created (inches when they sum to the
            figure's height).
    """
    legends = [ax.get_legend() for ax in axes]
    rows = [0 if lg is None else sum(1 + t.get_text().count("\n") for t in [lg.get_title(), *lg.get_texts()])
            for lg in legends]
    if max(rows, default=0) <= FEW_LEGEND_ROWS:
        return
    import warnings

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    with warnings.catch_warnings():  # the layout may give up at this size: only the legends are measured
        warnings.simplefilter("ignore", UserWarning)
        fig.draw_without_rendering()
    renderer = canvas.get_renderer()
    width, height = fig.get_size_inches()
    # each panel: its share of the figure, or its legend's height and room for its title
    need = [max(h * height / sum(heights), 0.0 if lg is None else lg.get_window_extent(renderer).height / fig.dpi + 0.5)
            for lg, h in zip(legends, heights, strict=True)]
    if sum(need) > height + 1e-6:
        axes[0].get_subplotspec().get_gridspec().set_height_ratios(need)
        fig.set_size_inches(width, sum(need))
