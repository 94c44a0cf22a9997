"""The combined tables of a results folder: stacking replications, the summary and the
comparison, and reading them back for ``plot``, which first checks that a folder's
``timeseries.parquet`` is drawable (:func:`check_plot_table`) and is the folder's own
(:func:`check_table_belongs`: the scenarios, finished replications, row counts, day ranges
and columns the manifest recorded; a table copied from another folder is refused).
"""

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
    """Write ``timeseries.parquet``, ``summary.csv`` and (compare) ``comparison.csv``, and
    record each one's SHA-256 in the manifest (``checksums``; the caller writes it).

    ``after_timeseries`` is called once ``timeseries.parquet`` is on disk, before the
    summaries are computed (so work that reads it, such as the figures, can start on other
    processes meanwhile).
    """
    from sim.analysis.compare import comparison_table, summary_table

    folder = Path(folder)
    data = storage.parquet_bytes(ts)
    storage.atomic_write_bytes(folder / storage.TIMESERIES, data)
    # the table's checksum, so that ``plot`` can tell it is still the one this run wrote
    manifest.setdefault("checksums", {})[storage.TIMESERIES] = storage.sha256_bytes(data)
    if after_timeseries is not None:
        after_timeseries()
    outputs = {"timeseries": storage.TIMESERIES}
    tables = {storage.SUMMARY: summary_table(ts)}
    base = manifest.get("baseline")
    if manifest.get("kind") == "compare" and base and base in set(ts["scenario"]):
        # (A baseline whose replications all failed has no comparison; the run reports them.)
        tables[storage.COMPARISON] = comparison_table(ts, base)
    for name, table in tables.items():  # each with its SHA-256, which readers check (read_table_csv)
        text = table.to_csv(index=False).encode("utf-8")
        storage.atomic_write_bytes(folder / name, text)
        manifest["checksums"][name] = storage.sha256_bytes(text)
        outputs[name.removesuffix(".csv")] = name
    manifest.setdefault("outputs", {}).update(outputs)


def load_results(folder: Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """Manifest and combined table of a finished results folder (for ``plot``).

    Raises:
        ResultsError: not an asylumsim folder, an ``explore`` folder, no combined table yet, or a run whose last
            session did not finish (``running`` or ``interrupted``: a table left by an
            earlier session would not match the replications on disk).
    """
    folder = Path(folder)
    manifest = storage.read_manifest(folder)
    if manifest.get("kind") == "explore":  # its resume command is not run's, and it has no daily table
        raise ResultsError(f"{folder} is an explore folder (a sensitivity analysis), not a run or comparison: its "
                           "results are indices.csv, claims.csv, the PRIM tables and its figures (docs/sensitivity.md)")
    path = folder / storage.TIMESERIES
    finish = f"finish it with: {resume_command(folder, manifest)}"
    if not path.is_file():
        if manifest.get("status") == "failed" and manifest.get("runs") and not _finished(manifest):
            raise ResultsError(f"{folder}: every replication failed (their errors are in {storage.MANIFEST}), so it "
                               "has no table to plot")
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
                           f"(hand-edited?); {rebuild_hint(folder, manifest)}")
    if ts.empty:
        raise ResultsError(f"{folder}: the table has no rows; {rebuild_hint(folder, manifest)}")
    day = ts["day"]
    if not pd.api.types.is_integer_dtype(day) or pd.api.types.is_bool_dtype(day):
        raise ResultsError(f"{folder}: the table's 'day' column is not whole numbers (hand-edited?); "
                           f"{rebuild_hint(folder, manifest)}")
    baseline = manifest.get("baseline") if manifest.get("kind") == "compare" else None
    if baseline is not None and not isinstance(baseline, str):
        raise ResultsError(f"{folder / storage.MANIFEST}: its 'baseline' is not a scenario name (corrupt?)")
    baseline_ran = any(s == baseline for s, _ in _finished(manifest))  # all failed: no comparison, still drawn
    if baseline is not None and baseline_ran and baseline not in set(ts["scenario"].astype(str)):
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


# --------------------------------------------------------------------------------------
# is the table the folder's own?

_SHOWN = 4
"""How many names a message lists before '...'."""


def _names(items: Any, show: Callable[[Any], str] = repr) -> str:
    """The first :data:`_SHOWN` items, then how many more."""
    items = list(items)
    shown = ", ".join(show(x) for x in items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def _reps(items: Any) -> str:
    return ("replication " if len(items) == 1 else "replications ") + _names(sorted(items), str)


def resume_command(folder: Path, manifest: dict[str, Any]) -> str:
    """The command that finishes a folder's run or rebuilds its tables from its replication
    files (``--model`` when the run used another model, as ``--resume`` requires)."""
    from sim.runner.jobs import DEFAULT_MODEL

    kind = manifest.get("kind") if manifest.get("kind") in ("run", "compare") else "run"
    model = manifest.get("model")
    with_model = f" --model {model}" if isinstance(model, str) and model != DEFAULT_MODEL else ""
    return f"{command()} {kind} --resume --out {folder}{with_model}"


def rebuild_hint(folder: Path, manifest: dict[str, Any]) -> str:
    """How to rebuild a folder's tables from its replication files (a message's last part)."""
    return f"rebuild it from the replications with: {resume_command(folder, manifest)}"


def read_table_csv(folder: Path, manifest: dict[str, Any], name: str) -> Any:
    """``folder/name`` (``summary.csv`` or ``comparison.csv``) as a pandas table, after checking
    it is the file this run wrote: its SHA-256 against the manifest's ``checksums`` (folders
    written before these were recorded have none, and are read as they are).

    Raises:
        ResultsError: unreadable, or not the table this run wrote (edited or copied in).
    """
    import io

    import pandas as pd

    path = Path(folder) / name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ResultsError(f"cannot read {path}: {exc.strerror or exc}") from None
    _refuse_other_table(path, manifest, name, lambda: storage.sha256_bytes(data), rebuild_hint(folder, manifest))
    try:
        return pd.read_csv(io.BytesIO(data))
    except ValueError as exc:
        raise ResultsError(f"{path} cannot be read ({str(exc).splitlines()[0]})") from None


def _finished(manifest: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    """The manifest's successful runs by (scenario, replication) (malformed entries skipped)."""
    out = {}
    for e in manifest.get("runs") or []:
        if (isinstance(e, dict) and e.get("status") == "ok" and isinstance(e.get("scenario"), str)
                and isinstance(e.get("replication"), int) and not isinstance(e.get("replication"), bool)):
            out[(e["scenario"], e["replication"])] = e
    return out


def check_table_belongs(folder: Path, manifest: dict[str, Any], ts: pd.DataFrame) -> None:
    """Refuse, in one line naming the file, a table that is not the folder's own.

    Call after :func:`sim.runner.tables.check_plot_table` (the key columns are there, the
    day is a whole number).

    Args:
        folder: The results folder.
        manifest: Its manifest.
        ts: Its ``timeseries.parquet``.

    Raises:
        ResultsError: the table's scenarios are not the manifest's; it lacks a replication
            the manifest records as finished, or has one it does not; a replication's row
            count or day range differs from the one recorded; it lacks a column that
            the replication files have; or its SHA-256 is not the one the manifest recorded
            when the run wrote it (``checksums``; folders written before it are checked
            without it).
    """
    import pandas as pd

    folder = Path(folder)
    path = folder / storage.TIMESERIES
    rebuild = rebuild_hint(folder, manifest)
    listed = [str(e.get("name")) for e in manifest.get("scenarios") or [] if isinstance(e, dict)]
    finished = _finished(manifest)
    scenario = ts["scenario"].astype(str)
    have = list(dict.fromkeys(scenario))
    foreign = [s for s in have if s not in set(listed)]
    if foreign:
        raise ResultsError(f"{path} does not belong to this folder: its scenarios {_names(foreign)} are not in "
                           f"{storage.MANIFEST} (which names {_names(listed)}); copied from another run? {rebuild}")
    rep = ts["replication"]
    if not pd.api.types.is_integer_dtype(rep) or pd.api.types.is_bool_dtype(rep):
        raise ResultsError(f"{path}: its 'replication' column is not whole numbers (hand-edited?); {rebuild}")
    groups = ts.assign(scenario=scenario).groupby(["scenario", "replication"], sort=False)["day"].agg(["size", "min", "max"])
    in_table = {(str(s), int(r)): row for (s, r), row in zip(groups.index, groups.itertuples(index=False), strict=True)}
    for s in listed:
        want = {r for (name, r) in finished if name == s}
        got = {r for (name, r) in in_table if name == s}
        if want and not got:
            raise ResultsError(f"{path} has no rows of scenario {s!r}, whose replications finished "
                               f"({storage.MANIFEST}); was it edited or copied from another run? {rebuild}")
        if got - want:
            raise ResultsError(f"{path} has {_reps(got - want)} of {s!r}, which {storage.MANIFEST} does not record as "
                               f"finished; was it edited or copied from another run? {rebuild}")
        if want - got:
            raise ResultsError(f"{path} lacks {_reps(want - got)} of {s!r}, which {storage.MANIFEST} records as finished; "
                               f"was it edited or copied from another run? {rebuild}")
    for key, row in in_table.items():
        entry = finished[key]
        rows, days = entry.get("rows"), entry.get("days")
        if (isinstance(rows, int) and row.size != rows) or (
                isinstance(days, list) and len(days) == 2 and [int(row.min), int(row.max)] != days):
            recorded = f"{rows} rows" if isinstance(rows, int) else "other rows"
            if isinstance(days, list) and len(days) == 2:
                recorded += f" (days {days[0]}..{days[1]})"
            raise ResultsError(f"{path}: replication {key[1]} of {key[0]!r} has {row.size} rows (days {row.min}..{row.max}), "
                               f"{storage.MANIFEST} recorded {recorded} when it was written; was it edited? {rebuild}")
    _check_columns(folder, path, ts, finished, rebuild)
    # the rows and columns are right: are the values the ones written?
    _refuse_other_table(path, manifest, storage.TIMESERIES, lambda: storage.sha256_file(path), rebuild)


def _refuse_other_table(path: Path, manifest: dict[str, Any], name: str, digest: Callable[[], str],
                        rebuild: str) -> None:
    """Refuse a table whose SHA-256 (``digest()``, computed only if one is recorded: older
    folders have none) is not the one the manifest's ``checksums`` recorded for ``name``.

    Raises:
        ResultsError: the table was edited or copied in (with ``rebuild``, how to rebuild
            it), or it cannot be read.
    """
    checksums = manifest.get("checksums")
    recorded = checksums.get(name) if isinstance(checksums, dict) else None
    if not isinstance(recorded, str):
        return
    try:
        actual = digest()
    except OSError as exc:
        raise ResultsError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if actual != recorded:
        raise ResultsError(f"{path} is not the table this run wrote (its SHA-256 differs from the one in "
                           f"{storage.MANIFEST}): edited, or copied from a run of the same shape? {rebuild}")


def _check_columns(folder: Path, path: Path, ts: pd.DataFrame, finished: dict[tuple[str, int], dict[str, Any]],
                   rebuild: str) -> None:
    """The table has every column of the replication files (one file's schema per scenario)."""
    import pyarrow.parquet as pq

    first: dict[str, dict[str, Any]] = {}
    for (s, _r), e in sorted(finished.items(), key=lambda kv: kv[0][1]):
        first.setdefault(s, e)
    columns = set(map(str, ts.columns))
    for s, e in first.items():
        try:
            rel = e.get("file")
            names = pq.read_schema(storage.inside(folder, rel)).names if isinstance(rel, str) else []
        except (OSError, ValueError, ResultsError):  # gone or damaged: the table is all plot needs
            continue
        missing = [c for c in names if c not in columns and not c.startswith("__index_level_")]
        if missing:
            raise ResultsError(f"{path} lacks the column{'s' if len(missing) > 1 else ''} {_names(missing)} that the "
                               f"replication files of {s!r} have (hand-edited?); {rebuild}")
