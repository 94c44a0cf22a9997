"""What the "Results" mode shows of a results folder: figures, headline table, manifest.

The figures are drawn by :mod:`sim.plots` (the CLI's figure function,
:func:`sim.plots.metric_figure`) and rendered to PNG in memory; the headline numbers are
read from the folder's ``comparison.csv`` and formatted as ``asylumsim compare`` prints
them. Nothing is written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sim.errors import ResultsError

HEADLINE_METRICS = ("front_effective", "front_strength")
DERIVED_COLUMNS = (("defected_cum", "defected"), ("fled_cum", "fled"))


@dataclass(frozen=True)
class Headline:
    """The two tables ``asylumsim compare`` prints, as text cells.

    Attributes:
        metric: The level table's metric (``front_effective`` when present).
        days: The level table's days.
        rows: ``(scenario, cells...)`` per scenario; the baseline's cells are levels,
            the others' paired differences.
        last_day: The day of the second table.
        last_columns: Its column labels.
        last_rows: ``(scenario, cells...)`` per non-baseline scenario.
    """

    metric: str | None
    days: list[int]
    rows: list[tuple[str, ...]]
    last_day: int
    last_columns: list[str]
    last_rows: list[tuple[str, ...]]


def _explore_folder(folder: Path) -> bool:
    """Whether ``folder``'s manifest says it is an ``explore`` folder (it has no daily table to
    show); an unreadable manifest is not (opening it says what is wrong)."""
    from sim.runner import storage

    try:
        return storage.read_manifest(folder).get("kind") == "explore"
    except ResultsError:
        return False


def find_results(roots: list[Path]) -> list[Path]:
    """Results folders among ``roots``: each root that is one, and each child of a root
    that is one (``results/*``), newest first within a root. ``explore`` folders (sensitivity
    analyses: tables of indices, not daily outcomes) are left out of the children."""
    from sim.runner import storage

    out: list[Path] = []
    for root in roots:
        root = Path(root)
        if (root / storage.MANIFEST).is_file():
            out.append(root)
            continue
        if root.is_dir():
            kids = [p for p in root.iterdir() if (p / storage.MANIFEST).is_file() and not _explore_folder(p)]
            out += sorted(kids, key=lambda p: p.name, reverse=True)
    return list(dict.fromkeys(out))


def load(folder: Path) -> tuple[dict[str, Any], Any]:
    """Manifest and combined table of ``folder``; raises ResultsError in one line."""
    from sim.runner.tables import load_results

    try:
        return load_results(Path(folder))
    except OSError as exc:
        raise ResultsError(f"cannot read {folder}: {exc.strerror or exc}") from None


def metric_choices(ts: Any) -> list[str]:
    """Metrics to offer, the headline ones first (:func:`sim.analysis.compare.metric_columns`)."""
    from sim.analysis.compare import metric_columns

    return [m for m in metric_columns(ts) if ts[m].notna().any()]


@lru_cache(maxsize=64)
def _figure_png(folder: str, mtime: float, metric: str) -> bytes:
    from sim.plots import results_metric_png

    manifest, ts = load(Path(folder))
    if metric not in ts.columns:
        raise ResultsError(f"unknown metric {metric!r} in {folder}")
    # The figure draw_results writes for ``asylumsim plot FOLDER --metric METRIC``, as PNG
    # bytes in memory: the page writes no file (issue 18).
    return results_metric_png(manifest, ts, metric, notes=[])


def figure_png(folder: Path, metric: str) -> bytes:
    """PNG of ``metric`` as ``asylumsim plot FOLDER --metric METRIC`` draws it.

    Median lines with 5-95% bands per scenario and, for a comparison, the paired
    differences from the baseline below. Cached per folder state and metric.
    """
    from sim.runner import storage

    folder = Path(folder)
    try:
        mtime = (folder / storage.TIMESERIES).stat().st_mtime
    except OSError:
        mtime = 0.0
    return _figure_png(str(folder), mtime, metric)


def headline(folder: Path) -> Headline | None:
    """The headline tables of a comparison folder, read from ``comparison.csv``.

    Cells are formatted as ``asylumsim compare`` prints them: ``median [p05, p95]`` with
    :func:`sim.plots.compact` (signed for differences and deaths avoided), costs with
    :func:`sim.analysis.headline.format_cost`.

    Returns:
        None for a folder without ``comparison.csv`` (a single run).
    """

    from sim.analysis.compare import COST_PER_SOLDIER, DEATHS_AVOIDED
    from sim.analysis.headline import cost_label, format_cell
    from sim.runner import storage
    from sim.runner.tables import read_table_csv

    folder = Path(folder)
    path = folder / storage.COMPARISON
    if not path.is_file():
        return None
    manifest = storage.read_manifest(folder)
    comp = read_table_csv(folder, manifest, storage.COMPARISON)  # the table this run wrote (its SHA-256)
    base = manifest.get("baseline")
    names = [str(e.get("name")) for e in manifest.get("scenarios", []) if isinstance(e, dict)]

    cell = format_cell

    def lookup(s: str, metric: str, day: int) -> Any:
        r = comp[(comp["scenario"] == s) & (comp["metric"] == metric) & (comp["day"] == day)]
        return None if r.empty else r.iloc[0]

    metrics = set(comp["metric"])
    key = next((m for m in HEADLINE_METRICS if m in metrics), None)
    days = sorted(int(d) for d in comp.loc[comp["metric"] == key, "day"].unique()) if key else []
    rows = [(s + (" (level)" if s == base else ""),
             *[cell(lookup(s, key, d), "level" if s == base else "diff") for d in days]) for s in names] if key else []
    last = int(comp["day"].max())
    cols = [(m, lbl) for m, lbl in (*DERIVED_COLUMNS, (DEATHS_AVOIDED, "deaths avoided"),
                                     (COST_PER_SOLDIER, cost_label(comp["metric"].unique(), last))) if m in metrics]
    last_rows = [(s, *[cell(lookup(s, m, last), "derived" if m in (DEATHS_AVOIDED, COST_PER_SOLDIER) else "diff")
                       for m, _ in cols]) for s in names if s != base]
    return Headline(key, days, rows, last, [lbl for _, lbl in cols], last_rows)


def manifest_summary(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) lines: kind, status, scenarios, seeds, versions, commit, lock, and
    any uncertainty the folder records (e.g. a calibration's posterior)."""
    prov = manifest.get("provenance") if isinstance(manifest.get("provenance"), dict) else {}
    versions = manifest.get("versions") if isinstance(manifest.get("versions"), dict) else {}
    runs = [r for r in manifest.get("runs", []) if isinstance(r, dict)]
    lock = prov.get("lock") if isinstance(prov.get("lock"), dict) else None
    out = [
        ("kind", str(manifest.get("kind"))),
        ("status", str(manifest.get("status"))),
        ("scenarios", ", ".join(str(e.get("name")) for e in manifest.get("scenarios", []) if isinstance(e, dict))),
        ("baseline", str(manifest.get("baseline"))),
        ("replications", str(manifest.get("replications"))),
        ("days", str(manifest.get("days"))),
        ("root seed", str(manifest.get("root_seed"))),
        ("replication seeds", "; ".join(sorted({f"entropy {r.get('seed', {}).get('entropy')}, spawn key "
                                                 f"{r.get('seed', {}).get('spawn_key')}" for r in runs}))),
        ("version", str(prov.get("version", versions.get("asylumsim")))),
        ("commit", f"{prov.get('commit')}" + (" (dirty)" if prov.get("dirty") else "")),
        ("python", str(versions.get("python", prov.get("python")))),
        ("libraries", ", ".join(f"{k} {v}" for k, v in versions.items() if k not in ("python", "asylumsim"))),
        ("lock", (f"{lock.get('file')} ({'matches' if lock.get('matches') else 'differs: ' + ', '.join(map(str, lock.get('differs', [])))})"
                  if lock else "none")),
        ("command", " ".join(str(a) for a in manifest.get("command_line", []))),
    ]
    for k in ("uncertainty", "posterior", "calibration"):
        if k in manifest:
            import json

            out.append((k, json.dumps(manifest[k], sort_keys=True)[:2000]))
    return out
