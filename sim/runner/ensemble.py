"""Ensembles: plan replication jobs, run them on an executor, record and combine them.

The flow of one invocation::

    spec = EnsembleSpec(...)                 # scenarios, replications, root seed, model
    outcome = run_ensemble(spec, folder, executor="process", workers=4)
    # -> replications/<scenario>/rep-*.parquet, manifest.json, timeseries.parquet, summary.csv

Workers only compute: :func:`execute_job` calls the model function and returns the
table (or the error). This process writes every file, so a Dask cluster need not share
a file system, and results are put in (scenario, replication) order whatever order
they finish in. With ``resume=True`` only replications without a file are run; the
combined table is always rebuilt from the files, so a resumed run equals an
uninterrupted one.
"""

from __future__ import annotations

import importlib
import os
import platform
import socket
import time
import traceback
from collections.abc import Callable
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
_MANIFEST_EVERY_S = 1.0  # rewrite the manifest at most this often while running


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
            res = ReplicationResult(scenario=job.scenario.name, replication=job.replication, seed=job.seed,
                                    status="failed", error=f"{type(exc).__name__}: {exc}")
        results[i] = res
        if on_result is not None:
            on_result(res)

    pending: dict[Future, int] = {}
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
    def from_manifest(cls, manifest: dict[str, Any]) -> EnsembleSpec:
        """Rebuild the spec stored in a manifest (for ``--resume`` and ``plot``)."""
        from pydantic import ValidationError

        from sim.config import Scenario

        try:
            scenarios = [Scenario.model_validate(e["config"]) for e in manifest["scenarios"]]
            slugs = [str(e["slug"]) for e in manifest["scenarios"]]
            return cls(kind=manifest["kind"], scenarios=scenarios, replications=int(manifest["replications"]),
                       root_seed=int(manifest["root_seed"]), days=manifest.get("days"),
                       model=str(manifest.get("model", DEFAULT_MODEL)), baseline=manifest.get("baseline"),
                       slugs=slugs)
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            msg = str(exc).splitlines()[0]
            raise ResultsError(f"manifest.json does not describe a runnable ensemble ({msg})") from None

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.scenarios]


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
        if requested.names != stored.names:
            raise ResultsError(f"--resume: the folder holds scenarios {stored.names}, not {requested.names}")
        for label, a, b in (("kind", stored.kind, requested.kind), ("root seed", stored.root_seed, requested.root_seed),
                            ("days", stored.days, requested.days), ("model", stored.model, requested.model),
                            ("baseline", stored.baseline, requested.baseline)):
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


def _sync_runs(manifest: dict[str, Any], spec: EnsembleSpec) -> dict[tuple[str, int], dict[str, Any]]:
    """Make sure the manifest has one entry per job; return them by (scenario, rep)."""
    by_key = {(r["scenario"], int(r["replication"])): r for r in manifest["runs"]}
    runs = []
    for slug, s in zip(spec.slugs, spec.scenarios, strict=True):
        for r in range(spec.replications):
            entry = by_key.get((s.name, r)) or {
                "scenario": s.name, "replication": r,
                "seed": replication_seed(spec.root_seed, r).to_json(),
                "status": "pending", "file": storage.replication_file(slug, r), "error": None,
            }
            runs.append(entry)
    manifest["runs"] = runs
    return {(e["scenario"], int(e["replication"])): e for e in runs}


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
    config_text: str | None = None,
) -> EnsembleOutcome:
    """Run (or resume) an ensemble into ``folder`` and write its combined tables.

    Args:
        spec: What to run. When resuming, pass the spec from :func:`reconcile_resume`.
        folder: The results folder. Must be new or empty unless ``resume``.
        executor: ``"inline"``, ``"process"`` or ``"dask"``.
        workers: Worker processes (default: one per CPU, at most one per job).
        scheduler: Dask scheduler address (``dask`` only).
        resume: Continue an existing folder: run only replications without a file.
        on_start: Called once with (jobs to run, jobs already done).
        on_result: Called as each replication finishes (in this thread).
        config_text: Text for ``config.yaml`` (default: rendered from the scenarios).

    Returns:
        An :class:`EnsembleOutcome`; ``timeseries`` is ``None`` if nothing succeeded.

    Raises:
        ResultsError: unusable folder; ResourceError: not enough memory.
    """
    from sim.runner.executors import default_workers, make_executor

    folder = Path(folder)
    if resume and not storage.is_fresh(folder):
        manifest = storage.read_manifest(folder)
        manifest.update(spec.to_manifest())  # may have grown replications
    else:
        storage.prepare_new_folder(folder)  # leaves at most an empty folder if we stop below
        manifest = _new_manifest(spec)
    storage.ensure_writable(folder)
    n_jobs = len(spec.scenarios) * spec.replications
    n_workers = workers or default_workers(n_jobs)
    # Refuse before anything is written or any worker started.
    check_memory(spec, 1 if executor == "inline" or scheduler else min(n_workers, n_jobs))
    # Executor first: if a cluster cannot be reached, the folder stays empty and reusable.
    with make_executor(executor, n_workers, scheduler) as ex, storage.folder_lock(folder):
        return _run_locked(spec, folder, manifest, ex, executor, n_workers, scheduler, on_start, on_result, config_text)


def _run_locked(spec: EnsembleSpec, folder: Path, manifest: dict[str, Any], ex: Executor, executor: str,
                n_workers: int, scheduler: str | None, on_start: Callable[[int, int], None] | None,
                on_result: ProgressHook | None, config_text: str | None) -> EnsembleOutcome:
    storage.remove_temp_files(folder)
    entries = _sync_runs(manifest, spec)
    jobs_all = spec.jobs()
    done = [j for j in jobs_all if (folder / entries[j.key]["file"]).is_file()]
    done_keys = {j.key for j in done}
    for j in jobs_all:
        e = entries[j.key]
        if j.key in done_keys and e["status"] != "ok":
            # Finished just before a kill, before the manifest caught up.
            e.update(status="ok", error=None, note="completed before an interruption; timing not recorded")
        elif j.key not in done_keys:
            e.update(status="pending", error=None)
    # Replication-major submission: an interrupted comparison still has complete pairs.
    todo = sorted((j for j in jobs_all if j.key not in done_keys),
                  key=lambda j: (j.replication, spec.names.index(j.scenario.name)))

    session = {"started": storage.now_iso(), "command_line": storage.command_line(), "executor": executor,
               "workers": n_workers if executor != "inline" else 1, "scheduler": scheduler,
               "to_run": len(todo), "already_done": len(done)}
    manifest["sessions"].append(session)
    manifest["status"] = "running"
    storage.write_manifest(folder, manifest)  # first, so the folder is recognisably ours
    storage.atomic_write_text(folder / storage.CONFIG, config_text or render_configs(spec))
    t0 = time.perf_counter()
    last_write = [time.monotonic()]

    def record(res: ReplicationResult) -> None:
        e = entries[(res.scenario, res.replication)]
        if res.status == "ok" and res.table is not None:
            storage.atomic_write_parquet(folder / e["file"], res.table)
            res.table = None  # the file is the record; free the memory
        e.update(status=res.status, error=res.error, traceback=res.traceback, started=res.started,
                 seconds=None if res.seconds is None else round(res.seconds, 3), worker=res.worker)
        if not res.traceback:
            e.pop("traceback", None)
        if on_result is not None:
            on_result(res)
        if time.monotonic() - last_write[0] > _MANIFEST_EVERY_S:
            storage.write_manifest(folder, manifest)
            last_write[0] = time.monotonic()

    if on_start is not None:
        on_start(len(todo), len(done))
    try:
        run_jobs(todo, ex, record)
    except BaseException:
        session.update(finished=storage.now_iso(), wall_seconds=round(time.perf_counter() - t0, 3))
        manifest["status"] = "interrupted"
        storage.write_manifest(folder, manifest)
        raise

    session.update(finished=storage.now_iso(), wall_seconds=round(time.perf_counter() - t0, 3))
    failed = [e for e in manifest["runs"] if e["status"] != "ok"]
    manifest["status"] = "complete" if not failed else "failed"
    manifest["timings"] = {
        "wall_seconds_total": round(sum(s.get("wall_seconds", 0.0) for s in manifest["sessions"]), 3),
        "replication_seconds_total": round(sum(e.get("seconds") or 0.0 for e in manifest["runs"]), 3),
    }
    ts = None
    if len(failed) < len(manifest["runs"]):
        ts = combine_replications(folder, manifest)
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
    frames = [storage.read_parquet(folder / e["file"]) for e in manifest["runs"] if e["status"] == "ok"]
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
    if manifest.get("kind") == "compare" and manifest.get("baseline"):
        comp = comparison_table(ts, manifest["baseline"])
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
