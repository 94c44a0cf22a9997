"""Flow figures: stacked areas of one family of flows (admitted by host, replacements by
source, ...), one panel per scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.plots.canvas import AXIS_FMT, hide_unused, n_reps, order_and_colors, plain_text, save
from sim.plots.data import FAMILY_LABELS, PALETTE, PALETTE_2, flow_columns, wrap_label

HATCHES = ("//", "\\\\", "..", "xx")
"""Hatching of flow components past the 18 colours (one pattern per further round)."""


@plain_text
def plot_flows(ts: pd.DataFrame, prefix: str, stem: Path, cmap: dict[str, str] | None = None) -> list[Path]:
    """Write :func:`flows_figure` as PNG and SVG at ``stem``; returns the paths written."""
    return save(flows_figure(ts, prefix, cmap), stem)


@plain_text
def flows_figure(ts: pd.DataFrame, prefix: str, cmap: dict[str, str] | None = None) -> Figure:
    """Stacked areas of one flow family, one panel per scenario.

    Components are stacked *means* across replications (means add up; medians do not).
    Panels follow the scenario order of ``cmap`` (:func:`run_colors`); the panel titles
    carry the scenario's colour. Components are coloured from :data:`PALETTE`, then
    :data:`PALETTE_2`, then hatched, so that no two look alike.
    """
    cols = flow_columns(ts, prefix)
    order, cmap = order_and_colors(ts, cmap, None)
    title, unit = FAMILY_LABELS.get(prefix, (prefix.rstrip("_"), ""))
    n = len(order)
    ncols = 2 if n == 4 else min(n, 3)
    nrows = -(-n // ncols)
    fig = Figure(figsize=(max(8.0, 4.2 * ncols + 2.0), 3.4 * nrows + 1.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)).ravel()
    mean = ts.groupby(["scenario", "day"], sort=False)[cols].mean().reset_index()
    names = [c[len(prefix):] for c in cols]
    cycle = PALETTE + PALETTE_2
    palette = [cycle[i % len(cycle)] for i in range(len(cols))]
    hatches = [None if i < len(cycle) else HATCHES[(i // len(cycle) - 1) % len(HATCHES)] for i in range(len(cols))]
    handles: list[Any] = []
    for ax, s in zip(axes, order, strict=False):
        d = mean[mean["scenario"] == s].sort_values("day")
        areas = ax.stackplot(d["day"], [d[c].fillna(0).to_numpy() for c in cols], colors=palette, alpha=0.85)
        for area, hatch in zip(areas, hatches, strict=True):
            if hatch:
                area.set_hatch(hatch)
        handles = handles or list(areas)
        ax.set_title(wrap_label(s), loc="left", fontsize=10, color=cmap[s], fontweight="bold")
        ax.yaxis.set_major_formatter(AXIS_FMT)
        ax.grid(True, alpha=0.3)
        ax.margins(x=0)
    hide_unused(axes, len(order), ncols)
    for ax in axes[::ncols]:
        ax.set_ylabel(unit)
    fig.suptitle(f"{title}\nstacked means of {n_reps(ts)} replications", x=0.01, ha="left", fontsize=12, fontweight="bold")
    # Given explicitly, so that a name starting with '_' is listed; reversed so the legend
    # reads top-down in the same order as the stack.
    labels = [wrap_label(n) for n in names]
    fig.legend(handles[::-1], labels[::-1], loc="outside right center", fontsize=9)
    return fig
