"""Figures of a run or comparison drawn on the ensemble's own workers (issue 16).

:func:`figure_tasks` gives the runner one share of the figures per worker, drawn while the
parent writes the summary tables; :func:`record_figures` puts what they drew in the
manifest, or says they must be drawn in the parent (a share failed).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from sim.runner.ensemble import EnsembleOutcome


def figure_tasks(folder: Path, manifest: dict[str, Any], workers: int) -> list[tuple[Any, tuple]]:
    """The figures as one share per worker, drawn on the ensemble's workers while this
    process writes the summary tables."""
    return [(draw_share, (folder, manifest, i, workers)) for i in range(workers)]


def draw_share(folder: Path, manifest: dict[str, Any], i: int, n: int) -> tuple[list[Path], list[str]]:
    """Share ``i`` of ``n`` of a results folder's standard figures, read from its
    ``timeseries.parquet`` (runs on a worker while the parent writes the summary tables).

    Returns:
        (paths written, notes for the user).
    """
    from sim.plots import draw_results
    from sim.runner import storage

    ts = storage.read_parquet(Path(folder) / storage.TIMESERIES)
    notes: list[str] = []
    return draw_results(folder, manifest, ts, notes=notes, part=(i, n)), notes


def figures_drawn(outcome: EnsembleOutcome) -> bool:
    res = outcome.side_results
    return bool(res) and not any(isinstance(r, BaseException) for r in res)


def record_figures(outcome: EnsembleOutcome) -> bool:
    """Put the figures the workers drew in the manifest and print their notes; False if
    they did not all succeed (then they are drawn here)."""
    if not figures_drawn(outcome):
        return False
    paths = [p for got, _ in outcome.side_results for p in got]
    for note in dict.fromkeys(n for _, notes in outcome.side_results for n in notes):
        typer.echo(f"note: {note}", err=True)
    list_plots(outcome.folder, outcome.manifest, [Path(p) for p in paths])
    return True


def list_plots(folder: Path, manifest: dict[str, Any], paths: list[Path]) -> None:
    """Put the figures just drawn in the manifest's ``outputs.plots``, with those it listed
    before that are still in the folder (a redraw of one metric keeps the others), and
    write the manifest. The one writer of ``outputs.plots``."""
    from sim.errors import ResultsError
    from sim.runner import storage

    outputs = manifest.get("outputs")
    if not isinstance(outputs, dict):
        outputs = manifest["outputs"] = {}
    kept = set()
    for rel in outputs.get("plots") or []:
        try:
            if isinstance(rel, str) and storage.inside(folder, rel).is_file():
                kept.add(rel)
        except ResultsError:  # a hand-edited entry outside the folder: not ours to list
            pass
    outputs["plots"] = sorted(kept | {str(p.relative_to(folder)) for p in paths})
    storage.write_manifest(folder, manifest)
