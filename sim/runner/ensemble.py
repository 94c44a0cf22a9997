"""Ensembles: plan replication jobs, run them on an executor, record and combine them.

The flow of one invocation::

    spec = EnsembleSpec(...)                 # scenarios, replications, root seed, model
    outcome = run_ensemble(spec, folder, executor="process", workers=4)
    # -> replications/<scenario>/rep-*.parquet, manifest.json, timeseries.parquet, summary.csv

Workers only compute (:mod:`sim.runner.jobs`); the spec and its resume rules are
:mod:`sim.runner.spec`, stop signals :mod:`sim.runner.interrupts`, the combined tables
:mod:`sim.runner.tables`; this module claims the folder and records. This process writes every file, so a Dask cluster need not share
a file system, and results are put in (scenario, replication) order whatever order
they finish in. With ``resume=True`` only replications without a trusted file are run;
the combined table is always rebuilt from the files, so a resumed run equals an
uninterrupted one.

A results folder is data, never instructions: file paths are rebuilt from the scenario
slug and replication index, the model comes only from the caller, and each replication
file's stored description (scenario, replication, seed, config digest, day range) and
its checksum and row count recorded in the manifest are checked before it is trusted.

SIGINT, SIGTERM and SIGHUP take one path (:class:`RunInterrupted`): queued work is
cancelled, workers are killed, every replication already written is kept, and the
manifest says ``interrupted`` with the command that resumes the run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
import socket
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim import provenance
from sim.errors import ResultsError, WriteError, command
from sim.runner import claim, storage
from sim.runner.interrupts import RunInterrupted, StopSignals, note_os_error, raise_os_error
from sim.runner.jobs import DEFAULT_MODEL, ReplicationJob, ReplicationResult, run_jobs
from sim.runner.resume import reconcile_resume, with_replications
from sim.runner.seeds import replication_seed
from sim.runner.spec import EnsembleSpec, check_memory
from sim.runner.tables import combine_replications, write_tables

if TYPE_CHECKING:
    import pandas as pd

    from sim.config import Scenario



@dataclass
class EnsembleOutcome:
    """What :func:`run_ensemble` did."""

    folder: Path
    spec: EnsembleSpec
    manifest: dict[str, Any]
    ran: int
    skipped: int
    failed: list[dict[str, Any]]
    timeseries: pd.DataFrame | None
    side_results: list[Any] | None = None  # results of ``side_tasks`` (an exception where one failed)

    @property
    def ok(self) -> bool:
        return not self.failed


ProgressHook = Callable[[ReplicationResult], None]
# (folder, manifest, workers) -> (function, args) pairs to run on the ensemble's executor
SideTasks = Callable[[Path, dict[str, Any], int], list[tuple[Callable[..., Any], tuple]]]


def _new_manifest(spec: EnsembleSpec) -> dict[str, Any]:
    prov = provenance.provenance()
    m: dict[str, Any] = {
        "tool": storage.TOOL_NAME,
        "format_version": storage.FORMAT_VERSION,
        "created": storage.now_iso(),
        "updated": storage.now_iso(),
        "status": "running",
        "command_line": storage.command_line(),
        "versions": storage.package_versions(prov),
        "provenance": prov,
        "platform": {"system": platform.platform(), "host": socket.gethostname()},
        **spec.to_manifest(),
        "runs": [],
        "sessions": [],
        "outputs": {},
    }
    return m


def _config_digest(s: Scenario) -> str:
    """SHA-256 of a scenario's resolved config (replications excluded: they may grow)."""
    text = json.dumps(with_replications(s, 1).model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def resume_hint(spec: EnsembleSpec, folder: Path) -> str:
    """The command that continues ``spec`` in ``folder``."""
    model = f" --model {spec.model}" if spec.model != DEFAULT_MODEL else ""
    return f"{command()} {spec.kind} --resume --out {folder}{model}"


def _sync_runs(manifest: dict[str, Any], spec: EnsembleSpec) -> dict[tuple[str, int], dict[str, Any]]:
    """One manifest entry per job, returned by (scenario, rep).

    Paths and seeds are rebuilt from the spec (never read from the manifest); only the
    record of what happened (status, checksum, timing) is carried over.
    """
    old = manifest.get("runs")
    by_key: dict[tuple[Any, Any], dict[str, Any]] = {}
    for r in old if isinstance(old, list) else []:
        if isinstance(r, dict):
            by_key[(r.get("scenario"), r.get("replication"))] = r
    runs = []
    particles = [spec.particle(r) for r in range(spec.replications)]
    for slug, s in zip(spec.slugs, spec.scenarios, strict=True):
        for r in range(spec.replications):
            entry = dict(by_key.get((s.name, r)) or {"status": "pending", "error": None})
            entry.update(scenario=s.name, replication=r, seed=replication_seed(spec.root_seed, r).to_json(),
                         file=storage.replication_file(slug, r))
            if particles[r] is None:
                entry.pop("particle", None)
            else:
                entry["particle"] = particles[r]  # the posterior draw; the same for every scenario
            runs.append(entry)
    manifest["runs"] = runs
    return {(e["scenario"], int(e["replication"])): e for e in runs}


def _file_meta(job: ReplicationJob, table: pd.DataFrame) -> dict[str, Any]:
    days = table["day"]
    return {"scenario": job.scenario.name, "replication": job.replication, "seed": job.seed.to_json(),
            "particle": job.particle, "config_sha256": _config_digest(job.scenario),
            "days": [int(days.min()), int(days.max())], "rows": len(table)}


def verify_replication_file(folder: Path, entry: dict[str, Any], job: ReplicationJob) -> str | None:
    """Why the replication file of ``entry`` cannot be trusted, or ``None`` if it can.

    Checks, without reading the data: the file is readable parquet; its stored
    description names this scenario, replication, seed and config; its day range and
    row count agree; and, when the manifest recorded them, its SHA-256 and row count
    match. A missing file returns ``"missing"``.
    """
    import pyarrow.parquet as pq

    path = storage.inside(folder, entry["file"])
    if not path.is_file() or path.is_symlink():
        return "missing"
    try:
        rows = pq.read_metadata(path).num_rows
        meta = storage.read_file_meta(path)
    except (OSError, ValueError, ResultsError):
        return "unreadable (truncated or not parquet)"
    if meta is None:
        return "it has no asylumsim description (not written by this run)"
    want = {"scenario": job.scenario.name, "replication": job.replication, "seed": job.seed.to_json(),
            "particle": job.particle, "config_sha256": _config_digest(job.scenario)}
    for key, value in want.items():
        if meta.get(key) != value:
            return f"its {key} is {meta.get(key)!r}, the manifest expects {value!r}"
    days = meta.get("days")
    if not (isinstance(days, list) and len(days) == 2 and all(isinstance(d, int) for d in days)):
        return "its day range is missing"
    if job.model == DEFAULT_MODEL:
        last = job.scenario.run.days if job.days is None else job.days
        if days != [job.scenario.run.start_day, last]:
            return f"it covers days {days[0]}..{days[1]}, the run covers {job.scenario.run.start_day}..{last}"
    if "days" in entry and entry["days"] != days:
        return f"it covers days {days[0]}..{days[1]}, the manifest recorded {entry['days']}"
    if rows != meta.get("rows") or ("rows" in entry and entry["rows"] != rows):
        return f"it has {rows} rows, {entry.get('rows', meta.get('rows'))} were written"
    if "sha256" in entry:
        try:
            if storage.sha256_file(path) != entry["sha256"]:
                return "its checksum differs from the one recorded when it was written"
        except OSError:
            return "unreadable"
    return None


def run_ensemble(
    spec: EnsembleSpec,
    folder: Path,
    *,
    executor: str = "process",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    on_start: Callable[[int, int], None] | None = None,
    on_result: ProgressHook | None = None,
    on_note: Callable[[str], None] | None = None,
    config_text: str | None = None,
    side_tasks: SideTasks | None = None,
) -> EnsembleOutcome:
    """Run (or resume) an ensemble into ``folder`` and write its combined tables.

    The folder is claimed first (created, locked, and -- for a new run -- checked to be
    empty under the lock); with ``resume`` the stored configuration is re-read and
    reconciled with ``spec`` under the lock too, so two runs can never mix in a folder.

    Args:
        spec: What to run. When resuming, the spec from :func:`reconcile_resume` (it is
            checked again against the folder under the lock).
        folder: The results folder. Must be new or empty unless ``resume``.
        executor: ``"inline"``, ``"process"`` or ``"dask"``.
        workers: Worker processes (default: one per CPU, at most one per job).
        scheduler: Dask scheduler address (``dask`` only).
        resume: Continue an existing folder: run only replications without a trusted file.
        on_start: Called once with (jobs to run, jobs already done).
        on_result: Called as each replication finishes (in this thread).
        on_note: Called with one-line notes (a replication file redone, tables being written).
        config_text: Text for ``config.yaml`` (default: rendered from the scenarios).
        side_tasks: Called with (folder, manifest, workers) once ``timeseries.parquet``
            is written; returns ``(function, args)`` pairs that run on the same executor
            (its workers are warm) while this process writes the summary tables, e.g. the
            figures, a share each. Their results (or exceptions) are in
            ``EnsembleOutcome.side_results``.

    Returns:
        An :class:`EnsembleOutcome`; ``timeseries`` is ``None`` if nothing succeeded.

    Raises:
        ResultsError: unusable, busy or incompatible folder; ResourceError: not enough
            memory; RunInterrupted: SIGINT, SIGTERM or SIGHUP (the manifest then says
            ``interrupted``; the exception's ``hint`` is the resume command).
    """
    from sim.runner.executors import default_workers, make_executor

    folder = Path(folder)
    with StopSignals() as stop, claim.claim_folder(folder, fresh=not resume):
        if resume and not claim.is_fresh(folder):
            manifest = storage.read_manifest(folder)
            stored = EnsembleSpec.from_manifest(manifest, model=spec.model, folder=folder)
            spec = reconcile_resume(stored, spec, spec.replications)
            manifest.update(spec.to_manifest())  # may have grown replications
        else:
            manifest = _new_manifest(spec)
        n_jobs = len(spec.scenarios) * spec.replications
        n_workers = workers or default_workers(n_jobs)
        # Refuse before anything is written or any worker started.
        check_memory(spec, 1 if executor == "inline" or scheduler else min(n_workers, n_jobs))
        # Executor first: if a cluster cannot be reached, the folder stays empty and reusable.
        finished: EnsembleOutcome | None = None
        try:
            with make_executor(executor, n_workers, scheduler) as ex:
                finished = _run_locked(spec, folder, manifest, ex, executor, n_workers, scheduler, stop,
                                       on_start, on_result, on_note, config_text, side_tasks)
            return finished
        except RunInterrupted as exc:
            # a signal while the pool shut down, after this run wrote its tables and final manifest
            exc.complete = exc.complete or finished is not None
            if (folder / storage.MANIFEST).is_file() and not exc.complete:
                exc.hint = resume_hint(spec, folder)
            raise


def _run_locked(spec: EnsembleSpec, folder: Path, manifest: dict[str, Any], ex: Executor, executor: str,
                n_workers: int, scheduler: str | None, stop: StopSignals,
                on_start: Callable[[int, int], None] | None, on_result: ProgressHook | None,
                on_note: Callable[[str], None] | None, config_text: str | None,
                side_tasks: SideTasks | None = None) -> EnsembleOutcome:
    note = on_note or (lambda _msg: None)
    storage.remove_temp_files(folder)
    entries = _sync_runs(manifest, spec)
    jobs_all = spec.jobs()
    done_keys: set[tuple[str, int]] = set()
    for j in jobs_all:
        e = entries[j.key]
        why = verify_replication_file(folder, e, j)
        if why is None:
            done_keys.add(j.key)
            if e.get("status") != "ok" or "sha256" not in e:
                # Finished just before a kill, before the manifest caught up.
                path = storage.inside(folder, e["file"])
                e.update(status="ok", error=None, sha256=storage.sha256_file(path),
                         rows=storage.read_file_meta(path)["rows"],  # type: ignore[index]
                         note="completed before an interruption; timing not recorded")
        else:
            if why != "missing":
                note(f"redoing {e['file']}: {why}")
                e["redone_because"] = why
            for k in ("sha256", "rows", "days", "seconds", "started", "worker", "traceback"):
                e.pop(k, None)
            e.update(status="pending", error=None)
    done = [j for j in jobs_all if j.key in done_keys]
    # Replication-major submission: an interrupted comparison still has complete pairs.
    todo = sorted((j for j in jobs_all if j.key not in done_keys),
                  key=lambda j: (j.replication, spec.names.index(j.scenario.name)))

    session = {"started": storage.now_iso(), "command_line": storage.command_line(), "executor": executor,
               "workers": n_workers if executor != "inline" else 1, "scheduler": scheduler,
               "to_run": len(todo), "already_done": len(done)}
    manifest["sessions"].append(session)
    manifest["status"] = "running"
    manifest.pop("resume_hint", None)
    storage.write_manifest(folder, manifest)  # first, so the folder is recognisably ours
    storage.atomic_write_text(folder / storage.CONFIG, config_text or storage.render_configs(spec.scenarios, spec.root_seed))
    t0 = time.perf_counter()
    jobs_by_key = {j.key: j for j in jobs_all}

    def record(res: ReplicationResult) -> None:
        e = entries[(res.scenario, res.replication)]
        with stop.deferred():  # file, manifest entry and manifest are written together
            if res.status == "ok" and res.table is not None:
                meta = _file_meta(jobs_by_key[(res.scenario, res.replication)], res.table)
                data = storage.parquet_bytes(res.table, meta)
                storage.atomic_write_bytes(storage.inside(folder, e["file"]), data)
                e.update(sha256=storage.sha256_bytes(data), rows=meta["rows"], days=meta["days"])
                res.table = None  # the file is the record; free the memory
            e.update(status=res.status, error=res.error, traceback=res.traceback, started=res.started,
                     seconds=None if res.seconds is None else round(res.seconds, 3), worker=res.worker)
            if not res.traceback:
                e.pop("traceback", None)
            storage.write_manifest(folder, manifest)  # small: rewritten after every replication
        if on_result is not None:
            on_result(res)

    if on_start is not None:
        on_start(len(todo), len(done))
    try:
        run_jobs(todo, ex, record)
    except BaseException as exc:
        with contextlib.suppress(BaseException):
            session.update(finished=storage.now_iso(), wall_seconds=round(time.perf_counter() - t0, 3))
            manifest["status"] = "interrupted"
            manifest["resume_hint"] = resume_hint(spec, folder)
            note_os_error(manifest, exc)
            storage.write_manifest(folder, manifest)
        raise_os_error(exc, folder, resume_hint(spec, folder), "the replications finished so far are saved")
        raise

    session.update(finished=storage.now_iso(), wall_seconds=round(time.perf_counter() - t0, 3))
    failed = [e for e in manifest["runs"] if e["status"] != "ok"]
    manifest["status"] = "complete" if not failed else "failed"
    manifest.pop("error", None)  # an earlier session's stop by a disk error
    if failed:
        manifest["resume_hint"] = resume_hint(spec, folder)
    manifest["timings"] = {
        "wall_seconds_total": round(sum(s.get("wall_seconds", 0.0) for s in manifest["sessions"]), 3),
        "replication_seconds_total": round(sum(e.get("seconds") or 0.0 for e in manifest["runs"]), 3),
    }
    ts = None
    side: list[Future] = []

    def start_side() -> None:
        if side_tasks is not None:
            for fn, args in side_tasks(folder, dict(manifest), 1 if executor == "inline" else n_workers):
                side.append(ex.submit(fn, *args))

    tables_written = False
    try:
        if len(failed) < len(manifest["runs"]):
            note("writing tables")
            ts = combine_replications(folder, manifest)
            with stop.deferred():  # a signal here waits until every table is written
                write_tables(folder, manifest, ts, after_timeseries=start_side)
                tables_written = True
        else:
            tables_written = True  # every replication failed: no table to write
        side_results: list[Any] = []
        for f in side:
            try:
                side_results.append(f.result())
            except Exception as exc:  # noqa: BLE001 - a side task's failure is reported, not fatal
                side_results.append(exc)
        with stop.deferred():  # the final manifest is written whole before a signal is obeyed
            storage.write_manifest(folder, manifest)
    except BaseException as exc:
        # a stop signal after the last replication: every replication is on disk; the tables
        # are either all written (the folder is complete) or not trusted (--resume rebuilds them)
        # (an operating-system error after the tables, e.g. a full disk as the final manifest is
        # written, leaves the run unfinished too: the manifest's last word must not be "complete")
        unfinished = not tables_written or isinstance(exc, OSError | WriteError)
        with contextlib.suppress(BaseException):
            if unfinished:
                manifest["status"] = "interrupted"
                manifest["resume_hint"] = resume_hint(spec, folder)
                note_os_error(manifest, exc)
            storage.write_manifest(folder, manifest)
        if isinstance(exc, RunInterrupted):
            exc.complete = tables_written
        if unfinished:
            raise_os_error(exc, folder, resume_hint(spec, folder), "every replication is saved and --resume rebuilds the tables")
        raise
    return EnsembleOutcome(folder=folder, spec=spec, manifest=manifest, ran=len(todo), skipped=len(done),
                           failed=failed, timeseries=ts, side_results=side_results if side_tasks else None)
