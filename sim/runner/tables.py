"""The combined tables of a results folder: stacking replications, the summary and the
comparison, and reading them back for ``plot``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.errors import ResultsError, command
from sim.runner import storage

if TYPE_CHECKING:
    import pandas as pd



def combine_replications(folder: Path, manifest: dict[str, Any]) -> pd.DataFrame:
    """Concatenate the successful replication files in (scenario, replication) order."""
    import pandas as pd

    folder = Path(folder)
    frames = [storage.read_parquet(storage.inside(folder, e["file"])) for e in manifest["runs"] if e["status"] == "ok"]
    if not frames:
        raise ResultsError(f"{folder} has no finished replications")
    return pd.concat(frames, ignore_index=True)


def write_tables(folder: Path, manifest: dict[str, Any], ts: pd.DataFrame,
                 after_timeseries: Callable[[], Any] | None = None) -> None:
    """Write ``timeseries.parquet``, ``summary.csv`` and (compare) ``comparison.csv``.

    ``after_timeseries`` is called once ``timeseries.parquet`` is on disk, before the
    summaries are computed (so work that reads it, such as the figures, can start on other
    processes meanwhile).
    """
    from sim.analysis.compare import comparison_table, summary_table

    folder = Path(folder)
    storage.atomic_write_parquet(folder / storage.TIMESERIES, ts)
    if after_timeseries is not None:
        after_timeseries()
    outputs = {"timeseries": storage.TIMESERIES}
    summary = summary_table(ts)
    storage.atomic_write_text(folder / storage.SUMMARY, summary.to_csv(index=False))
    outputs["summary"] = storage.SUMMARY
    base = manifest.get("baseline")
    if manifest.get("kind") == "compare" and base and base in set(ts["scenario"]):
        # (A baseline whose replications all failed has no comparison; the run reports them.)
        comp = comparison_table(ts, base)
        storage.atomic_write_text(folder / storage.COMPARISON, comp.to_csv(index=False))
        outputs["comparison"] = storage.COMPARISON
    manifest.setdefault("outputs", {}).update(outputs)


def load_results(folder: Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """Manifest and combined table of a finished results folder (for ``plot``).

    Raises:
        ResultsError: not an asylumsim folder, no combined table yet, or a run whose last
            session did not finish (``running`` or ``interrupted``: a table left by an
            earlier session would not match the replications on disk).
    """
    folder = Path(folder)
    manifest = storage.read_manifest(folder)
    path = folder / storage.TIMESERIES
    finish = f"finish it with: {command()} {manifest.get('kind', 'run')} --resume --out {folder}"
    if not path.is_file():
        raise ResultsError(f"{folder} has no {storage.TIMESERIES} (interrupted run?); {finish}")
    status = manifest.get("status")
    if status not in ("complete", "failed"):  # failed: the tables of the replications that ran
        raise ResultsError(f"{folder}: its last run is {status!r}, not complete, so its tables may be an earlier "
                           f"session's; {finish}")
    return manifest, storage.read_parquet(path)


_KEY_COLUMNS = ("scenario", "replication", "day")


def check_plot_table(folder: Path, manifest: dict[str, Any], ts: pd.DataFrame, metrics: list[str]) -> None:
    """Refuse, in one line, a table ``plot`` cannot draw (hand-edited or truncated).

    Args:
        folder: The results folder (for the messages).
        manifest: Its manifest (the comparison's baseline).
        ts: Its combined table, one row per scenario, replication and day.
        metrics: The ``--metric`` names asked for (empty: every numeric column).

    Raises:
        ResultsError: key columns missing, no rows, the comparison's baseline missing from
            the table, or an unknown ``--metric`` (with the closest column names).
    """
    import difflib

    import pandas as pd

    missing = [c for c in _KEY_COLUMNS if c not in ts.columns]
    if missing:
        raise ResultsError(f"{folder}: the table has no {', '.join(repr(c) for c in missing)} column "
                           "(hand-edited?); rerun the scenarios to rebuild it")
    if ts.empty:
        raise ResultsError(f"{folder}: the table has no rows; nothing to plot")
    day = ts["day"]
    if not pd.api.types.is_integer_dtype(day) or pd.api.types.is_bool_dtype(day):
        raise ResultsError(f"{folder}: the table's 'day' column is not whole numbers (hand-edited?); "
                           "rerun the scenarios to rebuild it")
    baseline = manifest.get("baseline") if manifest.get("kind") == "compare" else None
    if baseline is not None and baseline not in set(ts["scenario"].astype(str)):
        have = ", ".join(repr(s) for s in dict.fromkeys(ts["scenario"].astype(str)))
        raise ResultsError(f"{folder}: the baseline {baseline!r} named in the manifest is not in the table "
                           f"(scenarios: {have}); was the folder edited?")
    have = [str(c) for c in ts.columns if c not in _KEY_COLUMNS]
    for m in metrics:
        if m in have:
            continue
        close = difflib.get_close_matches(m, have, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else f"available: {', '.join(have)}"
        raise ResultsError(f"unknown metric {m!r} in {folder}; {hint}")
    numeric = ts[have].select_dtypes("number").columns
    wanted = metrics or [c for c in have if c in set(numeric)]
    if not any(ts[c].notna().any() for c in wanted if c in set(numeric)):
        raise ResultsError(f"{folder}: the table has no numbers to plot for {', '.join(wanted) or 'any metric'}")
