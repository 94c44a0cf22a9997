"""Short headline summaries for the terminal: a run's key numbers, and the cost cell of a
comparison.

``asylumsim run`` prints :func:`run_summary` after the tables are written;
``asylumsim compare`` prints its cost-per-soldier column with :func:`format_cost` and
:func:`cost_label`. Only text is produced here (no rich markup), so scenario names
print as given.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.analysis.compare import removed_metric

if TYPE_CHECKING:
    from sim.runner.ensemble import EnsembleOutcome

# (column, label, unit) in the order printed; columns a table lacks are skipped.
RUN_HEADLINE = (
    ("front_effective", "effective front strength", "trained-soldier equivalents"),
    ("front_strength", "soldiers at the front", "soldiers"),
    ("mobilized_cum", "men mobilized", "men"),
    ("fled_cum", "men who fled abroad", "men"),
    ("defected_cum", "soldiers who defected", "soldiers"),
    ("kia_cum", "killed in action", "soldiers"),
    ("protest_active", "protest activity", "index, not a head count"),
    ("offer_cost_usd_cum", "offer payments", "USD"),
    ("resettlement_usd_cum", "hosts' resettlement costs", "USD"),
)
NO_REDUCTION = "n/a (no reduction)"
SAVES_MONEY = "n/a (saves money)"
REMOVED_UNITS = {"front_effective": "soldier-equivalent", "front_strength": "soldier"}


def _compact(x: float) -> str:
    # sim.plots.compact, imported late: it loads matplotlib
    from sim.plots import compact

    return compact(x)


def run_summary(ts: pd.DataFrame) -> list[str]:
    """The key numbers of a run on its last day, one line per metric and scenario.

    Each line gives the median and the 5-95% interval across replications.

    Args:
        ts: Tidy ensemble table (columns ``scenario``, ``replication``, ``day`` and metrics).

    Returns:
        Lines of text (empty if the table is empty).
    """
    if ts.empty:
        return []
    last = int(ts["day"].max())
    day = ts[ts["day"] == last]
    n = int(day.groupby("scenario")["replication"].nunique().max())
    lines = [f"day {last}: median [5-95% of {n} replications]"]
    width = max(len(label) for _, label, _ in RUN_HEADLINE)
    for scenario in dict.fromkeys(day["scenario"].tolist()):
        rows = day[day["scenario"] == scenario]
        lines.append(f"  {scenario}")
        for col, label, unit in RUN_HEADLINE:
            if col not in rows.columns:
                continue
            v = pd.to_numeric(rows[col], errors="coerce").to_numpy(dtype=float)
            v = v[~np.isnan(v)]
            if v.size == 0:
                continue
            med, lo, hi = np.quantile(v, [0.5, 0.05, 0.95])
            lines.append(f"    {label:<{width}}  {_compact(med)} [{_compact(lo)}, {_compact(hi)}] {unit}")
    return lines


#: The coarsest ``population.scale`` at which defection questions can be answered
#: (docs/calibration.md, "Scale invariance"; real surrenders are counted in hundreds).
COARSEST_DEFECTION_SCALE = 10


def caution_line(manifest: dict[str, Any]) -> str | None:
    """A ``note:`` line when a run's numbers are too coarse to read as findings, else None.

    Args:
        manifest: A results folder's manifest (its scenarios' resolved configs and replications).

    Returns:
        The note: the scale is coarser than :data:`COARSEST_DEFECTION_SCALE`, and/or fewer
        than 5 replications make the "90% interval" a linear interpolation between the
        replications' values (inside their range), not an estimate of the spread.
    """
    scales = [s.get("config", {}).get("population", {}).get("scale") for s in manifest.get("scenarios", [])]
    scale = max((int(x) for x in scales if isinstance(x, int | float)), default=None)
    reps = manifest.get("replications")
    parts = []
    if scale is not None and scale > COARSEST_DEFECTION_SCALE:
        parts.append(f"at scale {scale} (coarser than {COARSEST_DEFECTION_SCALE}) a few simulated soldiers stand for "
                     "hundreds of real ones: read defection results as a smoke test, not a finding (docs/calibration.md)")
    if isinstance(reps, int) and reps < 5:
        parts.append(f"with {reps} replication(s) the 90% interval is interpolated between their values "
                     "(inside their range), not an estimate of the spread")
    return "note: " + "; ".join(parts) if parts else None


def scale_line(manifest: dict[str, Any]) -> str:
    """The line saying that counts are of real people, and how many one simulated person
    stands for (the scenarios' ``population.scale``)."""
    scales = sorted({int(x) for s in manifest.get("scenarios", [])
                     if isinstance(x := s.get("config", {}).get("population", {}).get("scale"), int | float)})
    if len(scales) == 1:
        return f"counts are of real people (one simulated person stands for {scales[0]})"
    if scales:
        return f"counts are of real people (one simulated person stands for {' or '.join(map(str, scales))})"
    return "counts are of real people (simulated individuals times population.scale)"


def terminal_width() -> int:
    """Columns of the terminal on stdout: ``$COLUMNS`` if set, else the terminal's, else 80
    (output piped to a file or a log is laid out for 80 columns)."""
    import shutil

    return max(20, shutil.get_terminal_size((80, 24)).columns)


def print_run_summary(outcome: EnsembleOutcome) -> EnsembleOutcome:
    """Print :func:`run_summary` of a finished run to stdout, with the notes wrapped to the
    terminal's width; returns ``outcome`` unchanged."""
    import textwrap

    import typer

    from sim.config.posterior import bands_line
    from sim.config.yaml_safe import one_line

    if outcome.timeseries is not None:
        width = terminal_width()
        for line in run_summary(outcome.timeseries):
            typer.echo(line)
        for text in (scale_line(outcome.manifest), bands_line(outcome.manifest.get("uncertainty")),
                     caution_line(outcome.manifest)):
            if text:
                typer.echo(textwrap.fill(one_line(text), width, subsequent_indent="  ", break_long_words=False,
                                         break_on_hyphens=False))
    return outcome


def cost_label(columns: pd.Index | list[str], day: int) -> str:
    """Column label of the cost per soldier removed, naming its unit and day."""
    unit = REMOVED_UNITS.get(removed_metric(columns) or "front_strength", "soldier")
    return f"USD per {unit} removed (day {day})"


def format_cost(median: float, p05: float, p95: float) -> str:
    """A cost-per-soldier cell: ``median [p05, p95]``; ``inf`` (nothing removed) reads as
    "n/a (no reduction)", a negative value (soldiers removed while the scenario spends
    less than the baseline: no cost to divide) as "n/a (saves money)" (a bound: "saves
    money"), and NaN (no data) as "-"."""
    if median is None or (isinstance(median, float) and math.isnan(median)):
        return "-"

    def one(x: float) -> str:
        if math.isinf(x) and x > 0:
            return NO_REDUCTION
        return "saves money" if x < 0 else _compact(x)

    if math.isinf(median) and median > 0:
        return NO_REDUCTION
    if median < 0:
        return SAVES_MONEY
    return f"{one(median)} [{one(p05)}, {one(p95)}]"


def format_cell(row: Any, kind: str) -> str:
    """One cell of compare's headline tables, as the CLI prints it and the dashboard shows it.

    Args:
        row: A row of ``comparison.csv`` (mapping with ``metric``, ``median``, ``p05``,
            ``p95``, ``diff_median``, ``diff_p05``, ``diff_p95``), or None.
        kind: ``"level"``, ``"diff"``, or ``"derived"`` (paired values kept in the level
            columns).

    Returns:
        ``median [p05, p95]`` in :func:`sim.plots.compact` form (signed for differences
        and deaths avoided), a cost via :func:`format_cost`, or ``"-"`` for no data.
    """
    from sim.analysis.compare import COST_PER_SOLDIER, DEATHS_AVOIDED
    from sim.plots import compact

    if row is None:
        return "-"
    cols = ("diff_median", "diff_p05", "diff_p95") if kind == "diff" else ("median", "p05", "p95")
    m, lo, hi = (float(row[c]) for c in cols)
    if math.isnan(m):
        return "-"
    if row["metric"] == COST_PER_SOLDIER:
        return format_cost(m, lo, hi)
    signed = kind == "diff" or row["metric"] == DEATHS_AVOIDED
    return f"{compact(m, signed)} [{compact(lo, signed)}, {compact(hi, signed)}]"
