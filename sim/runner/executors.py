"""The execution seam: every replication runs through a ``concurrent.futures.Executor``.

Three kinds, chosen with ``--executor``:

- ``inline``: :class:`InlineExecutor`, runs each job when it is submitted, in this
  process (debugging, profiling, tiny runs).
- ``process`` (default): a ``ProcessPoolExecutor`` with ``W`` long-lived workers, each
  running many replications. Workers are started with ``spawn`` so they never inherit
  the parent's threads or locks (``fork`` after threads can deadlock).
- ``dask``: ``distributed.Client(...).get_executor()`` on a scheduler given by
  ``--scheduler tcp://host:port``, or on a ``LocalCluster`` of ``W`` single-threaded
  worker processes when no address is given. Remote workers need ``asylumsim``
  installed; results travel back to this process, which alone writes files.

The runner only relies on ``submit`` and ``Future``; results are put back in job order
by the caller, so completion order never matters.

Stopping: when the block using the executor is left by an exception (an interrupt, a
broken pool), queued work is cancelled and every process the executor started is
killed at once (:func:`kill_started_processes`), rather than waiting for running
replications whose results would be thrown away. Local workers also die with their
parent: :func:`worker_init` asks Linux for ``SIGKILL`` when the parent exits
(``prctl(PR_SET_PDEATHSIG)``) and starts a parent-pid watchdog as a fallback. Workers
are started with SIGINT and SIGHUP blocked (:func:`children_shielded`), so a Ctrl-C to
the terminal's process group is handled once, by the parent.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any, Literal

from sim.errors import ResourceError

ExecutorKind = Literal["inline", "process", "dask"]
EXECUTOR_KINDS: tuple[str, ...] = ("inline", "process", "dask")


class InlineExecutor(Executor):
    """Run each submitted call immediately in the calling thread.

    Exceptions are stored on the returned future, as with any executor.
    """

    def __init__(self) -> None:
        self._shutdown = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        future: Future = Future()
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - delivered through the future
                if isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise
                future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shutdown = True


_PR_SET_PDEATHSIG = 1


def worker_init(parent_pid: int | None = None) -> None:
    """Initializer of local worker processes: die with the parent, leave Ctrl-C to it.

    Args:
        parent_pid: PID of the process that started the worker (default: the current
            parent, as for Dask workers set up after they started).
    """
    parent_pid = os.getppid() if parent_pid is None else parent_pid
    with contextlib.suppress(ValueError):  # not the main thread (a Dask worker): keep going
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

    def watchdog() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watchdog, name="asylumsim-parent-watchdog", daemon=True).start()


_SHIELDED = tuple(getattr(signal, n) for n in ("SIGINT", "SIGHUP") if hasattr(signal, n))


@contextlib.contextmanager
def children_shielded() -> Iterator[None]:
    """Block SIGINT and SIGHUP in this thread while worker processes may be started.

    Children (and threads) started meanwhile inherit the blocked mask, so a Ctrl-C or
    hang-up sent to the whole process group reaches only this process, which stops the
    workers itself; a worker never dies half-way through start-up with a traceback. A
    signal that arrives meanwhile is delivered when the block ends. No-op outside the
    main thread or where ``pthread_sigmask`` does not exist.
    """
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _SHIELDED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _descendants() -> set[int]:
    import psutil

    try:
        return {p.pid for p in psutil.Process().children(recursive=True)}
    except psutil.Error:  # pragma: no cover
        return set()


def kill_started_processes(before: set[int]) -> int:
    """SIGKILL every descendant of this process that did not exist in ``before``
    (except multiprocessing's resource tracker).

    Args:
        before: PIDs of this process's descendants before the executor was opened.

    Returns:
        How many processes were killed.
    """
    # multiprocessing's resource tracker is left alone: it ignores signals by design,
    # cleans up after the workers, and exits by itself when this process ends.
    from multiprocessing import resource_tracker

    import psutil

    keep = set(before) | {getattr(resource_tracker._resource_tracker, "_pid", None)}
    try:
        procs = [p for p in psutil.Process().children(recursive=True) if p.pid not in keep]
    except psutil.Error:  # pragma: no cover
        return 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(procs, timeout=5)
    return len(procs)


def available_cpus() -> int:
    """CPUs this process may use (respects affinity masks and containers)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return max(1, os.cpu_count() or 1)


def default_workers(n_jobs: int) -> int:
    """One worker per available CPU, but never more workers than jobs."""
    return max(1, min(available_cpus(), n_jobs))


@contextlib.contextmanager
def make_executor(kind: str, workers: int, scheduler: str | None = None) -> Iterator[Executor]:
    """Open an executor of ``kind`` and close it (and any cluster it started) on exit.

    Args:
        kind: ``"inline"``, ``"process"`` or ``"dask"``.
        workers: Worker processes for ``process`` and for a local Dask cluster.
        scheduler: Address of an existing Dask scheduler (``dask`` only).

    Raises:
        ResourceError: Dask is not installed or the scheduler cannot be reached.
        ValueError: Unknown kind or a scheduler given for a non-Dask executor.
    """
    if kind not in EXECUTOR_KINDS:
        raise ValueError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTOR_KINDS)}")
    if scheduler and kind != "dask":
        raise ValueError("--scheduler only applies to --executor dask")
    if kind == "inline":
        ex = InlineExecutor()
        try:
            yield ex
        finally:
            ex.shutdown()
    elif kind == "process":
        before = _descendants()
        with children_shielded():
            ex = ProcessPoolExecutor(max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn"),
                                     initializer=worker_init, initargs=(os.getpid(),))
        try:
            yield ex
        except BaseException:
            # Interrupted or failed: drop queued replications and stop running ones now.
            ex.shutdown(wait=False, cancel_futures=True)
            kill_started_processes(before)
            raise
        else:
            ex.shutdown(wait=True)
    else:
        with _dask_executor(workers, scheduler) as ex:
            yield ex


@contextlib.contextmanager
def _dask_executor(workers: int, scheduler: str | None) -> Iterator[Executor]:
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - dask is an optional extra
        raise ResourceError("--executor dask needs Dask: pip install 'asylumsim[dask]'") from exc
    cluster = None
    _pids_before = _descendants()
    try:
        if scheduler:
            client = distributed.Client(scheduler, timeout="10s")
        else:
            with children_shielded():  # the cluster's loop thread, and workers it (re)starts, inherit it
                cluster = distributed.LocalCluster(
                    n_workers=max(1, workers), threads_per_worker=1, processes=True,
                    dashboard_address=":0", silence_logs=logging.ERROR,  # any free port: no clash warning
                )
            client = distributed.Client(cluster)
    except Exception as exc:  # noqa: BLE001 - any start-up failure is one clear line
        if cluster is not None:
            cluster.close()
        if scheduler:
            raise ResourceError(f"cannot connect to Dask scheduler at {scheduler}: {exc}") from None
        raise ResourceError(f"cannot start a local Dask cluster: {exc}") from None
    if cluster is not None:
        # Local workers die with this process too (remote ones are the cluster's business).
        with contextlib.suppress(Exception):
            client.run(worker_init)
    try:
        # pure=False: each replication is a distinct task even if arguments hash alike.
        yield client.get_executor(pure=False)
    except BaseException as exc:
        # Interrupted or failed: stop local workers at once, then close quietly.
        if cluster is not None:
            for name in ("distributed", "tornado", "asyncio"):
                logging.getLogger(name).setLevel(logging.CRITICAL)
            from distributed.core import Status

            for nanny in list(getattr(cluster, "workers", {}).values()):
                nanny.status = Status.closing  # a nanny does not replace a worker killed while closing
            kill_started_processes(_pids_before)
        if isinstance(exc, KeyboardInterrupt):
            # The process is stopping and the local workers are dead: a graceful close
            # (here or in Dask's exit hook) would wait many seconds for them.
            if cluster is not None:
                with contextlib.suppress(Exception):
                    from distributed.deploy.spec import SpecCluster

                    SpecCluster._instances.discard(cluster)
            raise
        with contextlib.suppress(Exception):
            client.close(timeout=2)
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close(timeout=2)
        raise
    else:
        client.close()
        if cluster is not None:
            cluster.close()
