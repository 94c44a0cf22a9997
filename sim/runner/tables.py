"""The combined tables of a results folder: stacking replications, the summary and the
comparison, and reading them back for ``plot``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.errors import ResultsError
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
    finish = f"finish it with: asylumsim {manifest.get('kind', 'run')} --resume --out {folder}"
    if not path.is_file():
        raise ResultsError(f"{folder} has no {storage.TIMESERIES} (interrupted run?); {finish}")
    if manifest.get("status") in ("running", "interrupted"):
        raise ResultsError(f"{folder}: its last run is {manifest['status']}, so its tables may be an earlier "
                           f"session's; {finish}")
    return manifest, storage.read_parquet(path)
