"""Ensembles: plan replication jobs, run them on an executor, record and combine them.

The flow of one invocation::

    spec = EnsembleSpec(...)                 # scenarios, replications, root seed, model
    outcome = run_ensemble(spec, folder, executor="process", workers=4)
    # -> replications/<scenario>/rep-*.parquet, manifest.json, timeseries.parquet, summary.csv

Workers only compute: :func:`execute_job` calls the model function and returns the
table (or the error). This process writes every file, so a Dask cluster need not share
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
import importlib
import json
import os
import platform
import signal
import socket
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sim import provenance
from sim.errors import ResultsError
from sim.runner import storage
from sim.runner.seeds import ReplicationSeed, replication_seed

if TYPE_CHECKING:
    import pandas as pd

    from sim.config import Scenario

DEFAULT_MODEL = "sim.simulate:run_replication"
ID_COLUMNS = ("scenario", "replication", "day")
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


# --------------------------------------------------------------------------------------
# interrupts


class RunInterrupted(KeyboardInterrupt):
    """The run was stopped by SIGINT, SIGTERM or SIGHUP.

    Attributes:
        signum: The signal number.
        hint: The command that continues the run ("" if nothing was written yet).
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)
        self.hint = ""

    @property
    def exit_code(self) -> int:
        """Shell convention: 128 + signal number (SIGINT 130, SIGTERM 143, SIGHUP 129)."""
        return 128 + self.signum


class _StopSignals:
    """Turn the first stop signal into :class:`RunInterrupted` in the main thread.

    Later signals are ignored (the run is already stopping: no second traceback, no
    hang). Inside :meth:`deferred`, the exception waits until the block ends, so a
    replication file and its manifest entry are written together.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._raised = False
        self._deferring = 0
        self._old: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        if self.received is not None:
            return
        self.received = signum
        if self._deferring == 0:
            self._raised = True
            raise RunInterrupted(signum)

    def __enter__(self) -> _StopSignals:
        with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
            for sig in STOP_SIGNALS:
                self._old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            # After a stop signal the process is on its way out: keep ignoring repeats.
            signal.signal(sig, old if self.received is None else signal.SIG_IGN)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
        if self._deferring == 0 and self.received is not None and not self._raised:
            self._raised = True
            raise RunInterrupted(self.received)


# --------------------------------------------------------------------------------------
# jobs and what workers return


@dataclass(frozen=True)
class ReplicationJob:
    """Everything a worker needs to run one replication (picklable plain data).

    Attributes:
        scenario: The resolved scenario.
        replication: 0-based replication index.
        seed: Root seed and spawn key of this replication.
        days: Days to simulate (``None`` = the scenario's ``run.days``).
        model: ``"module:function"`` of the model, called as ``f(scenario, seed, days)``.
    """

    scenario: Scenario
    replication: int
    seed: ReplicationSeed
    days: int | None
    model: str = DEFAULT_MODEL

    @property
    def key(self) -> tuple[str, int]:
        return (self.scenario.name, self.replication)


@dataclass
class ReplicationResult:
    """Outcome of one job: the tidy table, or the error that stopped it."""

    scenario: str
    replication: int
    seed: ReplicationSeed
    status: Literal["ok", "failed"]
    table: pd.DataFrame | None = None
    error: str | None = None
    traceback: str | None = None
    started: str | None = None
    seconds: float | None = None
    worker: str | None = None


def resolve_function(path: str) -> Callable[..., Any]:
    """Import ``"package.module:function"`` (or ``package.module.function``)."""
    module, sep, attr = path.partition(":")
    if not sep:
        module, _, attr = path.rpartition(".")
    if not module or not attr:
        raise ValueError(f"model function must look like 'package.module:function', got {path!r}")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def tidy_table(table: Any, scenario: str, replication: int) -> pd.DataFrame:
    """Put the id columns ``scenario, replication, day`` in front of the model's metrics.

    Raises:
        TypeError: the model did not return a DataFrame.
        ValueError: it has no ``day`` column or reuses an id column.
    """
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"model returned {type(table).__name__}, not a pandas DataFrame")
    if "day" not in table.columns:
        raise ValueError("model table has no 'day' column")
    clash = [c for c in ("scenario", "replication") if c in table.columns]
    if clash:
        raise ValueError(f"model table must not contain the id column(s) {clash}")
    out = table.reset_index(drop=True)
    out["day"] = out["day"].astype("int64")
    out.insert(0, "replication", pd.Series(replication, index=out.index, dtype="int64"))
    out.insert(0, "scenario", pd.Series(scenario, index=out.index, dtype="object"))
    metrics = [c for c in out.columns if c not in ID_COLUMNS]
    return out[list(ID_COLUMNS) + metrics]


def execute_job(job: ReplicationJob) -> ReplicationResult:
    """Run one replication; never raises for model errors (they are returned).

    Runs in a worker process (or inline), so it must stay importable at top level.
    """
    started = storage.now_iso()
    t0 = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    base = dict(scenario=job.scenario.name, replication=job.replication, seed=job.seed,
                started=started, worker=worker)
    try:
        fn = resolve_function(job.model)
        raw = fn(job.scenario, job.seed.sequence(), job.days)
        table = tidy_table(raw, job.scenario.name, job.replication)
    except Exception as exc:  # noqa: BLE001 - a failed replication is data, not a crash
        return ReplicationResult(**base, status="failed", error=f"{type(exc).__name__}: {exc}",
                                 traceback="".join(traceback.format_exc(limit=-15)),
                                 seconds=time.perf_counter() - t0)
    return ReplicationResult(**base, status="ok", table=table, seconds=time.perf_counter() - t0)


def run_jobs(
    jobs: list[ReplicationJob],
    executor: Executor,
    on_result: Callable[[ReplicationResult], None] | None = None,
) -> list[ReplicationResult]:
    """Run ``jobs`` on ``executor``; return results in the order of ``jobs``.

    ``on_result`` is called in this thread as each job finishes (any order). A job whose
    worker died (e.g. a broken process pool) comes back as ``failed``.
    """
    results: list[ReplicationResult | None] = [None] * len(jobs)

    def collect(fut: Future, i: int) -> None:
        job = jobs[i]
        try:
            res = fut.result()
        except Exception as exc:  # noqa: BLE001 - the executor failed, not the model
            why = f"{type(exc).__name__}: {exc}"
            if type(exc).__name__ in ("BrokenProcessPool", "KilledWorker", "CancelledError"):
                why = f"the worker process died or was stopped ({why})"
            res = ReplicationResult(scenario=job.scenario.name, replication=job.replication, seed=job.seed,
                                    status="failed", error=why)
        results[i] = res
        if on_result is not None:
            on_result(res)

    from sim.runner.executors import InlineExecutor, children_shielded

    pending: dict[Future, int] = {}
    # A pool starts its workers while jobs are submitted: shield them from group signals.
    shield = contextlib.nullcontext() if isinstance(executor, InlineExecutor) else children_shielded()
    with shield:
        for i, job in enumerate(jobs):
            fut = executor.submit(execute_job, job)
            if fut.done():  # an inline executor has already run it: report progress now
                collect(fut, i)
            else:
                pending[fut] = i
    for fut in as_completed(pending):
        collect(fut, pending[fut])
    return [r for r in results if r is not None]


# --------------------------------------------------------------------------------------
# the ensemble specification


@dataclass
class EnsembleSpec:
    """What to run: scenarios x replications from one root seed.

    Attributes:
        kind: ``"run"`` (one scenario) or ``"compare"`` (several, paired).
        scenarios: Resolved scenarios, names distinct, in display order.
        replications: Replications per scenario.
        root_seed: Root of every replication seed; replication ``i`` of every scenario
            gets the same seed (common random numbers).
        days: Days simulated (``None`` = each scenario's ``run.days``).
        model: Model function ``"module:function"``.
        baseline: Name of the baseline scenario (compare only).
    """

    kind: Literal["run", "compare"]
    scenarios: list[Scenario]
    replications: int
    root_seed: int
    days: int | None = None
    model: str = DEFAULT_MODEL
    baseline: str | None = None
    slugs: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        names = [s.name for s in self.scenarios]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ResultsError(f"two scenarios are named {dup[0]!r}; give each a distinct name: key")
        if self.replications < 1:
            raise ResultsError("--replications must be at least 1")
        if self.baseline is not None and self.baseline not in names:
            raise ResultsError(f"baseline {self.baseline!r} is not among the scenarios {names}")
        if not self.slugs:
            self.slugs = _unique_slugs(names)
        if self.kind == "compare":
            _refuse_unlike(self.scenarios)

    def jobs(self) -> list[ReplicationJob]:
        """All jobs, scenario-major (the order of the combined table)."""
        return [ReplicationJob(s, r, replication_seed(self.root_seed, r), self.days, self.model)
                for s in self.scenarios for r in range(self.replications)]

    def to_manifest(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "model": self.model,
            "root_seed": self.root_seed,
            "replications": self.replications,
            "days": self.days,
            "baseline": self.baseline,
            "scenarios": [{"name": s.name, "slug": slug, "config": s.model_dump(mode="json")}
                          for s, slug in zip(self.scenarios, self.slugs, strict=True)],
        }

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any], model: str = DEFAULT_MODEL) -> EnsembleSpec:
        """Rebuild the spec stored in a manifest (for ``--resume``).

        The manifest is data: the model entry point is ``model`` (from the command
        line), never the manifest's; slugs are rebuilt from the scenario names and must
        match the stored ones.

        Raises:
            ResultsError: the manifest does not describe a runnable ensemble, or its
                slugs were edited.
        """
        from pydantic import ValidationError

        from sim.config import Scenario

        try:
            scenarios = [Scenario.model_validate(e["config"]) for e in manifest["scenarios"]]
            stored_slugs = [e["slug"] for e in manifest["scenarios"]]
            kind = manifest["kind"]
            if kind not in ("run", "compare"):
                raise ValueError(f"kind {kind!r}")
            days = manifest.get("days")
            spec = cls(kind=kind, scenarios=scenarios, replications=int(manifest["replications"]),
                       root_seed=int(manifest["root_seed"]), days=None if days is None else int(days),
                       model=model, baseline=manifest.get("baseline"))
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            msg = str(exc).splitlines()[0]
            raise ResultsError(f"manifest.json does not describe a runnable ensemble ({msg})") from None
        stored_model = manifest.get("model", DEFAULT_MODEL)
        if stored_model != model:
            raise ResultsError(f"--resume: the folder was run with --model {stored_model!r}, not {model!r}; the model "
                               "is never taken from a folder: pass --model explicitly if you trust it")
        if stored_slugs != spec.slugs:
            raise ResultsError(f"manifest.json: scenarios[].slug {stored_slugs!r} do not match the scenario names "
                               f"(expected {spec.slugs!r}); the manifest was edited, this folder cannot be resumed")
        return spec

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.scenarios]


def _refuse_unlike(scenarios: list[Scenario]) -> None:
    """Compared scenarios pair day d of replication i: they must share scale and start day.

    Raises:
        ResultsError: naming both scenarios and the two values.
    """
    base = scenarios[0]
    for s in scenarios[1:]:
        for label, a, b in (("population.scale", base.population.scale, s.population.scale),
                            ("run.start_day", base.run.start_day, s.run.start_day)):
            if a != b:
                raise ResultsError(f"compare: {label} differs ({base.name!r} has {a}, {s.name!r} has {b}); "
                                   "paired differences would mix unlike runs; give both the same value "
                                   f"(e.g. --set {label}={a})")


def _unique_slugs(names: list[str]) -> list[str]:
    out: list[str] = []
    for n in names:
        slug, k = storage.slugify(n), 2
        while slug in out:
            slug = f"{storage.slugify(n)}-{k}"
            k += 1
        out.append(slug)
    return out


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(d, list) and d and all(isinstance(x, dict) for x in d):
        out = {}
        for i, v in enumerate(d):
            out.update(_flat(v, f"{prefix}.{v.get('name', i)}"))
        return out
    return {prefix: d}


def first_difference(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """The first dotted key whose value differs between two configs, as ``key: a vs b``."""
    fa, fb = _flat(a), _flat(b)
    for k in list(fa) + [k for k in fb if k not in fa]:
        if fa.get(k, "<absent>") != fb.get(k, "<absent>"):
            return f"{k}: {fa.get(k, '<absent>')!r} was stored, {fb.get(k, '<absent>')!r} requested"
    return None


def with_replications(s: Scenario, n: int) -> Scenario:
    """A copy of ``s`` whose ``run.replications`` is ``n`` (config.yaml records it)."""
    return s.model_copy(update={"run": s.run.model_copy(update={"replications": n})})


def reconcile_resume(stored: EnsembleSpec, requested: EnsembleSpec | None, replications: int | None) -> EnsembleSpec:
    """The spec to continue an interrupted ensemble with.

    The stored configuration rules. A re-typed command (``requested``) must resolve to
    the same scenarios, seed, days and model; only the number of replications may grow.

    Raises:
        ResultsError: naming the first setting that differs.
    """
    n = stored.replications if replications is None else replications
    if n < stored.replications:
        raise ResultsError(f"--resume cannot shrink the ensemble: the folder has {stored.replications} "
                           f"replications per scenario, --replications asked for {n}")
    if requested is not None:
        if requested.model != stored.model:
            raise ResultsError(f"--resume: the folder was run with --model {stored.model}, not {requested.model}; "
                               f"pass --model {stored.model}")
        if requested.names != stored.names:
            raise ResultsError(f"--resume: the folder holds scenarios {stored.names}, not {requested.names}")
        for label, a, b in (("kind", stored.kind, requested.kind), ("root seed", stored.root_seed, requested.root_seed),
                            ("days", stored.days, requested.days), ("baseline", stored.baseline, requested.baseline)):
            if a != b:
                raise ResultsError(f"--resume: {label} differs from the stored run ({a!r} stored, {b!r} requested)")
        for s_old, s_new in zip(stored.scenarios, requested.scenarios, strict=True):
            old = with_replications(s_old, 1).model_dump(mode="json")
            new = with_replications(s_new, 1).model_dump(mode="json")
            diff = first_difference(old, new)
            if diff:
                raise ResultsError(f"--resume: scenario {s_old.name!r} differs from the stored run ({diff}); "
                                   "start a new folder instead")
    return EnsembleSpec(kind=stored.kind, scenarios=[with_replications(s, n) for s in stored.scenarios],
                        replications=n, root_seed=stored.root_seed, days=stored.days, model=stored.model,
                        baseline=stored.baseline, slugs=stored.slugs)


# --------------------------------------------------------------------------------------
# memory guard


def check_memory(spec: EnsembleSpec, concurrent: int) -> int | None:
    """Refuse up front if ``concurrent`` replications would not fit in available RAM.

    Uses ``estimate_memory_bytes(scenario)`` from the model's module when it has one.

    Returns:
        The estimated bytes per replication, or ``None`` when the model gives no estimate.

    Raises:
        ResourceError: the estimate times ``concurrent`` exceeds
            ``run.max_memory_fraction`` of available memory.
    """
    from sim.simulate import refuse_if_over_memory

    module = spec.model.partition(":")[0] if ":" in spec.model else spec.model.rpartition(".")[0]
    try:
        estimate = getattr(importlib.import_module(module), "estimate_memory_bytes", None)
    except ImportError as exc:
        raise ResultsError(f"cannot import the model module {module!r}: {exc}") from None
    if estimate is None:
        return None
    per_rep = max(int(estimate(s)) for s in spec.scenarios)
    refuse_if_over_memory(per_rep, concurrent, min(s.run.max_memory_fraction for s in spec.scenarios))
    return per_rep


# --------------------------------------------------------------------------------------
# running an ensemble into a folder


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

    @property
    def ok(self) -> bool:
        return not self.failed


ProgressHook = Callable[[ReplicationResult], None]


def _new_manifest(spec: EnsembleSpec) -> dict[str, Any]:
    m: dict[str, Any] = {
        "tool": storage.TOOL_NAME,
        "format_version": storage.FORMAT_VERSION,
        "created": storage.now_iso(),
        "updated": storage.now_iso(),
        "status": "running",
        "command_line": storage.command_line(),
        "versions": storage.package_versions(),
        "provenance": provenance.provenance(),
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
    return f"asylumsim {spec.kind} --resume --out {folder}{model}"


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
    for slug, s in zip(spec.slugs, spec.scenarios, strict=True):
        for r in range(spec.replications):
            entry = dict(by_key.get((s.name, r)) or {"status": "pending", "error": None})
            entry.update(scenario=s.name, replication=r, seed=replication_seed(spec.root_seed, r).to_json(),
                         file=storage.replication_file(slug, r))
            runs.append(entry)
    manifest["runs"] = runs
    return {(e["scenario"], int(e["replication"])): e for e in runs}


def _file_meta(job: ReplicationJob, table: pd.DataFrame) -> dict[str, Any]:
    days = table["day"]
    return {"scenario": job.scenario.name, "replication": job.replication, "seed": job.seed.to_json(),
            "config_sha256": _config_digest(job.scenario), "days": [int(days.min()), int(days.max())],
            "rows": len(table)}


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
            "config_sha256": _config_digest(job.scenario)}
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

    Returns:
        An :class:`EnsembleOutcome`; ``timeseries`` is ``None`` if nothing succeeded.

    Raises:
        ResultsError: unusable, busy or incompatible folder; ResourceError: not enough
            memory; RunInterrupted: SIGINT, SIGTERM or SIGHUP (the manifest then says
            ``interrupted``; the exception's ``hint`` is the resume command).
    """
    from sim.runner.executors import default_workers, make_executor

    folder = Path(folder)
    with _StopSignals() as stop, storage.claim_folder(folder, fresh=not resume):
        if resume and not storage.is_fresh(folder):
            manifest = storage.read_manifest(folder)
            stored = EnsembleSpec.from_manifest(manifest, model=spec.model)
            spec = reconcile_resume(stored, spec, spec.replications)
            manifest.update(spec.to_manifest())  # may have grown replications
        else:
            manifest = _new_manifest(spec)
        n_jobs = len(spec.scenarios) * spec.replications
        n_workers = workers or default_workers(n_jobs)
        # Refuse before anything is written or any worker started.
        check_memory(spec, 1 if executor == "inline" or scheduler else min(n_workers, n_jobs))
        # Executor first: if a cluster cannot be reached, the folder stays empty and reusable.
        try:
            with make_executor(executor, n_workers, scheduler) as ex:
                return _run_locked(spec, folder, manifest, ex, executor, n_workers, scheduler, stop,
                                   on_start, on_result, on_note, config_text)
        except RunInterrupted as exc:
            if (folder / storage.MANIFEST).is_file():
                exc.hint = resume_hint(spec, folder)
            raise


def _run_locked(spec: EnsembleSpec, folder: Path, manifest: dict[str, Any], ex: Executor, executor: str,
                n_workers: int, scheduler: str | None, stop: _StopSignals,
                on_start: Callable[[int, int], None] | None, on_result: ProgressHook | None,
                on_note: Callable[[str], None] | None, config_text: str | None) -> EnsembleOutcome:
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
    storage.atomic_write_text(folder / storage.CONFIG, config_text or render_configs(spec))
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
    except BaseException:
        with contextlib.suppress(BaseException):
            session.update(finished=storage.now_iso(), wall_seconds=round(time.perf_counter() - t0, 3))
            manifest["status"] = "interrupted"
            manifest["resume_hint"] = resume_hint(spec, folder)
            storage.write_manifest(folder, manifest)
        raise

    session.update(finished=storage.now_iso(), wall_seconds=round(time.perf_counter() - t0, 3))
    failed = [e for e in manifest["runs"] if e["status"] != "ok"]
    manifest["status"] = "complete" if not failed else "failed"
    if failed:
        manifest["resume_hint"] = resume_hint(spec, folder)
    manifest["timings"] = {
        "wall_seconds_total": round(sum(s.get("wall_seconds", 0.0) for s in manifest["sessions"]), 3),
        "replication_seconds_total": round(sum(e.get("seconds") or 0.0 for e in manifest["runs"]), 3),
    }
    ts = None
    if len(failed) < len(manifest["runs"]):
        note("writing tables")
        ts = combine_replications(folder, manifest)
        with stop.deferred():
            write_tables(folder, manifest, ts)
    storage.write_manifest(folder, manifest)
    return EnsembleOutcome(folder=folder, spec=spec, manifest=manifest, ran=len(todo), skipped=len(done),
                           failed=failed, timeseries=ts)


def render_configs(spec: EnsembleSpec) -> str:
    """``config.yaml``: each resolved scenario as commented YAML (one document each)."""
    from sim.config.render import render_yaml

    docs = []
    for s in spec.scenarios:
        head = f"Resolved scenario {s.name!r} as run by asylumsim (root seed {spec.root_seed})"
        docs.append(render_yaml(s, header=head))
    return "---\n".join(docs)


# --------------------------------------------------------------------------------------
# combining


def combine_replications(folder: Path, manifest: dict[str, Any]) -> pd.DataFrame:
    """Concatenate the successful replication files in (scenario, replication) order."""
    import pandas as pd

    folder = Path(folder)
    frames = [storage.read_parquet(storage.inside(folder, e["file"])) for e in manifest["runs"] if e["status"] == "ok"]
    if not frames:
        raise ResultsError(f"{folder} has no finished replications")
    return pd.concat(frames, ignore_index=True)


def write_tables(folder: Path, manifest: dict[str, Any], ts: pd.DataFrame) -> None:
    """Write ``timeseries.parquet``, ``summary.csv`` and (compare) ``comparison.csv``."""
    from sim.analysis.compare import comparison_table, summary_table

    folder = Path(folder)
    storage.atomic_write_parquet(folder / storage.TIMESERIES, ts)
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
        ResultsError: not an asylumsim folder, or no combined table yet.
    """
    folder = Path(folder)
    manifest = storage.read_manifest(folder)
    path = folder / storage.TIMESERIES
    if not path.is_file():
        raise ResultsError(f"{folder} has no {storage.TIMESERIES} (interrupted run?); "
                           f"finish it with: asylumsim {manifest.get('kind', 'run')} --resume --out {folder}")
    return manifest, storage.read_parquet(path)
