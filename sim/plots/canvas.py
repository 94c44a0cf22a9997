"""What every figure shares: plain-text names and the notes gathered while drawing, the
axis number format, scenario order, grid cells, the day axis's label, and saving a figure
as PNG and SVG (atomic writes)."""

from __future__ import annotations

import io
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
