"""What the figures show, without drawing: labels from the outputs registry, the median
and 5-95% bands, paired differences, flow families, number format, scenario colours, and
how the figures are shared among processes (:func:`share_of`).

No matplotlib here: :func:`compact` and the tables are shared with the command line's
tables (``sim.analysis.headline``, ``sim.cli.headline``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.outcomes import OUTPUTS, figure_metrics

# metric -> (title, y-axis unit), from the outputs registry; unknown metrics (a stand-in
# --model's) get a title made from their name.
LABELS: dict[str, tuple[str, str]] = {o.name: (o.title, o.unit) for o in OUTPUTS if o.per is None}
# family prefix -> (title, unit): every family, for titles; FLOW_PREFIXES: those drawn by default
FAMILY_LABELS: dict[str, tuple[str, str]] = {f"{o.name}__": (o.title, o.unit) for o in OUTPUTS if o.per is not None}
FLOW_PREFIXES: dict[str, tuple[str, str]] = {f"{o.name}__": (o.title, o.unit) for o in OUTPUTS if o.per is not None and o.figure}
DEFAULT_METRICS = figure_metrics()
MAIN_METRIC = "front_effective"
BASELINE_COLOR = "#222222"
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
"""The first nine scenarios' colours (after the baseline), drawn as solid lines."""
PALETTE_2 = ("#393b79", "#843c39", "#637939", "#8c6d31", "#7b4173", "#008856", "#848482", "#b3446c", "#8db600")
"""The next nine's: other hues or darker shades, drawn dash-dotted (:func:`line_styles`)."""
BASELINE_DASHES = (0, (5, 2))
"""The baseline's median: dashed (no other scenario's line is)."""
LABEL_WIDTH = 40
"""Legend labels are wrapped to this many characters (:func:`wrap_label`)."""


# --------------------------------------------------------------------------------------
# data for the figures


_QUANTILES = {0.05: "p05", 0.5: "median", 0.95: "p95"}


def _q(frame: pd.DataFrame, keys: list[str], col: str) -> pd.DataFrame:
    """Per group of ``keys``: the 5%, 50% and 95% quantiles of ``col`` (NaN rows dropped).

    Returns:
        Columns ``keys + [p05, median, p95]``; no rows when no group has data.
    """
    frame = frame.dropna(subset=[col])
    if frame.empty:
        return pd.DataFrame({**{k: frame[k] for k in keys}, **{v: pd.Series(dtype=float) for v in _QUANTILES.values()}})
    out = frame.groupby(keys, sort=False)[col].quantile(list(_QUANTILES)).unstack()
    return out.rename(columns=_QUANTILES).reset_index()


def band(ts: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per scenario and day: median and 5-95% band of ``metric`` across replications."""
    d = ts[["scenario", "day"]].assign(_v=pd.to_numeric(ts[metric], errors="coerce").astype(float))
    return _q(d, ["scenario", "day"], "_v")


def diff_band(ts: pd.DataFrame, metric: str, baseline: str) -> pd.DataFrame:
    """Per scenario and day: median and 90% interval of the paired difference from baseline."""
    d = ts[["scenario", "replication", "day"]].assign(_v=pd.to_numeric(ts[metric], errors="coerce").astype(float))
    base = d.loc[d["scenario"] == baseline, ["replication", "day", "_v"]].rename(columns={"_v": "_base"})
    paired = d.merge(base, on=["replication", "day"])
    paired["_diff"] = paired["_v"] - paired["_base"]
    return _q(paired, ["scenario", "day"], "_diff")


def flow_columns(ts: pd.DataFrame, prefix: str) -> list[str]:
    """Columns of one flow family (e.g. ``admitted_cum__<host>``) that are not all empty."""
    return [c for c in ts.columns if c.startswith(prefix) and ts[c].notna().any()]


# --------------------------------------------------------------------------------------
# number format, titles and colours


def compact(x: float, signed: bool = False) -> str:
    """``1234567 -> 1.23M``; ``signed`` adds a plus sign to positive numbers."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "-"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    sign = "+" if signed and x > 0 else ("-" if x < 0 else "")
    a = abs(x)
    for div, suf in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            v = a / div
            return f"{sign}{v:.3g}{suf}" if v < 1000 else f"{sign}{v:,.0f}{suf}"
    if a == 0:
        return "0"
    return f"{sign}{a:.3g}" if a < 100 else f"{sign}{a:.0f}"


def title_for(metric: str) -> tuple[str, str]:
    """(title, unit) of a metric, falling back to a readable version of its name."""
    if metric in LABELS:
        return LABELS[metric]
    for prefix, (title, unit) in FAMILY_LABELS.items():
        if metric.startswith(prefix):
            return f"{title.split(',')[0]}: {metric[len(prefix):]}", unit
    return metric.replace("_cum", " (cumulative)").replace("_", " ").capitalize(), ""


def colors(scenarios: Sequence[str], baseline: str | None) -> dict[str, str]:
    """Baseline in near-black, the others in order from :data:`PALETTE`, then
    :data:`PALETTE_2`, then again (a colour's later turns get other dash patterns:
    :func:`line_styles`)."""
    cycle = PALETTE + PALETTE_2
    out, k = {}, 0
    for s in scenarios:
        if s == baseline:
            out[s] = BASELINE_COLOR
        else:
            out[s] = cycle[k % len(cycle)]
            k += 1
    return out


def _dash_dots(n: int) -> str | tuple[int, tuple[float, ...]]:
    """Line style ``n``: solid for 0, else a dash followed by ``n`` dots (never plain
    dashes, which are the baseline's, nor only dots, which edge the bands)."""
    return "-" if n == 0 else (0, (3.5, 1.2) + (1.0, 1.2) * n)


def line_styles(cmap: dict[str, str]) -> dict[str, str | tuple[int, tuple[float, ...]]]:
    """The line style of each scenario's median, so that no two scenarios of ``cmap``
    (in its order) are drawn alike: a colour's ``n``-th scenario gets the ``n``-th style,
    and :data:`PALETTE_2`'s colours start one style later (dash-dot), so the 10th to 18th
    scenarios differ from the first nine by their dashes as well as their colours.

    Args:
        cmap: Scenario -> colour (:func:`colors`, :func:`run_colors`).

    Returns:
        Scenario -> a matplotlib line style (``"-"`` or ``(offset, dashes)``). The caller
        draws the baseline dashed (:data:`BASELINE_DASHES`) instead.
    """
    seen: dict[str, int] = {}
    out: dict[str, str | tuple[int, tuple[float, ...]]] = {}
    for s, c in cmap.items():
        n = seen.get(c, 0)
        seen[c] = n + 1
        out[s] = _dash_dots(2 * n + (1 if c in PALETTE_2 else 0))
    return out


def wrap_label(text: str, width: int = LABEL_WIDTH) -> str:
    """``text`` in lines of at most ``width`` characters, so that a long name does not take
    the figure's width; broken at spaces, else after a ``_``, ``-``, ``.`` or ``/``, else
    anywhere. Joining the lines (with the spaces broken at) gives ``text`` back."""
    import textwrap

    if len(text) <= width:
        return text
    lines = []
    for line in textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [text]:
        while len(line) > width:
            cut = max(line.rfind(sep, 0, width) for sep in "_-./")
            cut = cut + 1 if cut >= width // 2 else width
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    return "\n".join(lines)


def legend_label(name: str, suffix: str = "") -> str:
    """A scenario's legend entry: its name wrapped (:func:`wrap_label`), then ``suffix``
    (``": value on day N"``), on a line of its own when the name was wrapped or the entry
    would be longer than :data:`LABEL_WIDTH` + 12 characters."""
    wrapped = wrap_label(name)
    if not suffix or ("\n" not in wrapped and len(name + suffix) <= LABEL_WIDTH + 12):
        return wrapped + suffix
    if suffix.startswith(":"):
        return f"{wrapped}:\n{suffix[1:].strip()}"
    return f"{wrapped}\n{suffix.strip()}"


def run_colors(manifest: dict[str, Any], ts: pd.DataFrame | None = None) -> dict[str, str]:
    """The colour of each scenario of a results folder, the same in every figure.

    Colours follow the order of the scenarios in the manifest (the baseline of a
    comparison is near-black); scenarios found only in ``ts`` (a hand-edited table) come
    after them.

    Args:
        manifest: The folder's manifest (``scenarios``: list of ``{"name": ...}``).
        ts: The folder's table, or None.
    """
    names = [str(e.get("name")) for e in manifest.get("scenarios", []) if isinstance(e, dict)]
    if ts is not None and "scenario" in ts.columns:
        names += [str(x) for x in dict.fromkeys(ts["scenario"])]
    baseline = manifest.get("baseline") if manifest.get("kind") == "compare" else None
    return colors(list(dict.fromkeys(names)), baseline)


# Expected drawing time of a figure relative to a single-metric one (png + svg), by the
# function that draws it: a flow family has one panel per host, exit or offer. Measured on
# the README comparison (docs/performance.md, "Round 12": 0.35 s against 0.50-0.60 s).
FIGURE_COST = {"plot_flows": 1.5}


def share_of(weights: Sequence[float], i: int, n: int) -> list[int]:
    """Indices of the items in share ``i`` of ``n``, balanced by ``weights`` (longest
    processing time first: each item, heaviest first, goes to the share with the least
    weight so far; ties to the lower share, so every process computes the same split).

    Args:
        weights: Expected cost of each item, shape (k,), any positive unit.
        i: The share wanted, ``0 <= i < n``.
        n: Number of shares.

    Returns:
        The indices of share ``i``, ascending (the items keep their order).

    Raises:
        ValueError: ``i`` is not in ``[0, n)``.
    """
    if not 0 <= i < n:
        raise ValueError(f"share {i} of {n} does not exist")
    load = [0.0] * n
    mine = []
    for k in sorted(range(len(weights)), key=lambda k: (-weights[k], k)):
        j = min(range(n), key=lambda j: (load[j], j))
        load[j] += weights[k]
        if j == i:
            mine.append(k)
    return sorted(mine)
