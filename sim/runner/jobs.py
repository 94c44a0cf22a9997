"""Replication jobs, what workers return, and running jobs on an executor.

Workers only compute: :func:`execute_job` calls the model function and returns the table
(or the error); the caller writes every file. Jobs are plain picklable data, so they run
inline, in a process pool or on a Dask cluster alike.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import socket
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Executor, Future, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sim.runner import storage
from sim.runner.seeds import ReplicationSeed

if TYPE_CHECKING:
    import pandas as pd

    from sim.config import Scenario

DEFAULT_MODEL = "sim.simulate:run_replication"
ID_COLUMNS = ("scenario", "replication", "day")



@dataclass(frozen=True)
class ReplicationJob:
    """Everything a worker needs to run one replication (picklable plain data).

    Attributes:
        scenario: The resolved scenario.
        replication: 0-based replication index.
        seed: Root seed and spawn key of this replication.
        days: Days to simulate (``None`` = the scenario's ``run.days``).
        model: ``"module:function"`` of the model, called as ``f(scenario, seed, days)``.
        particle: Posterior particle whose values ``scenario`` already carries (``None``:
            no parameter uncertainty).
    """

    scenario: Scenario
    replication: int
    seed: ReplicationSeed
    days: int | None
    model: str = DEFAULT_MODEL
    particle: int | None = None

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
