"""How the figures draw a band, and the legend's key to it.

A band is a faint fill edged by thin dotted lines in its scenario's colour. Where several
bands overlap their fills mix into a colour that no scenario has; the edges keep their
scenario's colour, so a reader can still tell whose band is whose, and the legend's key
says so. The median is drawn on top by the caller, thicker, solid or (past the ninth
scenario, :func:`sim.plots.data.line_styles`) dash-dotted, never only dotted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

BAND_ALPHA = 0.10
"""Opacity of a band's fill (low, so that an overlap of three still shows the grid)."""
BAND_EDGE = {"linewidth": 0.9, "linestyle": (0, (1, 1.5)), "alpha": 0.9}
"""Style of a band's two edges: thin, dotted, in the scenario's colour."""
OVERLAP_NOTE = "where bands overlap, their colours mix"


def draw_band(ax: Any, day: Any, lo: Any, hi: Any, color: str, name: str) -> None:
    """Fill between ``lo`` and ``hi`` and draw both edges; the edges' labels start with
    ``_`` (``_p05 of NAME``, ``_p95 of NAME``), so the legend leaves them out."""
    ax.fill_between(day, lo, hi, color=color, alpha=BAND_ALPHA, linewidth=0)
    for q, edge in (("p05", lo), ("p95", hi)):
        ax.plot(day, edge, color=color, label=f"_{q} of {name}", **BAND_EDGE)


def band_legend(ax: Any, title: str, band: str, handles: Sequence[Any] | None = None,
                labels: Sequence[str] | None = None, handlelength: float | None = None) -> None:
    """The panel's legend beside it (so it never hides a band): the entries (the medians),
    then a key to the shading, ``band``; with more than one entry the key adds that
    overlapping bands mix their colours.

    Args:
        handles, labels: The entries; by default those drawn with a label not starting
            with ``_`` (matplotlib's rule, which also leaves out the band edges). Given
            explicitly, every one is shown, whatever its label.
        handlelength: Length of the line samples, in font sizes (matplotlib's default 2
            is too short to show a dash-dot pattern).
    """
    from matplotlib.patches import Patch

    if handles is None or labels is None:
        handles, labels = ax.get_legend_handles_labels()
    key = Patch(facecolor=(0.5, 0.5, 0.5, 2 * BAND_ALPHA), edgecolor=(0.3, 0.3, 0.3, BAND_EDGE["alpha"]),
                linestyle=":", linewidth=BAND_EDGE["linewidth"])
    if len(handles) > 1:
        band += f"\n({OVERLAP_NOTE})"
    ax.legend([*handles, key], [*labels, band], loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9,
              title=title, title_fontsize=8, alignment="left", handlelength=handlelength)
