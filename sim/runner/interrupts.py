"""Stop signals: SIGINT, SIGTERM and SIGHUP take one path, :class:`RunInterrupted`.

Queued work is cancelled, workers are killed, every replication already written is kept
(:meth:`StopSignals.deferred` holds the signal until a file and its manifest entry are both
written), and the caller ends with exit code 128 + signal. An operating-system error while
writing (a full disk) stops a run the same way, as one :class:`~sim.errors.ResultsError` line.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sim.errors import ResultsError, WriteError

STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))



class RunInterrupted(KeyboardInterrupt):
    """The run was stopped by SIGINT, SIGTERM or SIGHUP.

    Attributes:
        signum: The signal number.
        hint: The command that continues the run ("" if nothing was written yet, or the run
            is complete).
        complete: The signal came after this run had written every replication and table.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)
        self.hint = ""
        self.complete = False

    @property
    def exit_code(self) -> int:
        """Shell convention: 128 + signal number (SIGINT 130, SIGTERM 143, SIGHUP 129)."""
        return 128 + self.signum


class StopSignals:
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
        self._pid = os.getpid()

    def _handler(self, signum: int, frame: Any) -> None:
        if os.getpid() != self._pid:
            # a process forked from the owner (a pool's worker) before it set up its own
            # signals: end it as the signal's default would, silently; the owner reports the stop
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        if self.received is not None:
            return
        self.received = signum
        if self._deferring == 0:
            self._raised = True
            raise RunInterrupted(signum)

    def __enter__(self) -> StopSignals:
        self._pid = os.getpid()
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


def note_os_error(manifest: dict, exc: BaseException) -> None:
    """Record in a run's manifest (key ``error``) the operating-system error that stopped it, if one did."""
    if isinstance(exc, OSError | WriteError):
        manifest["error"] = f"{type(exc).__name__}: {exc}"
    else:
        manifest.pop("error", None)


def raise_os_error(exc: BaseException, folder: Path, hint: str, saved: str) -> None:
    """Turn an operating-system error while a run writes into one :class:`ResultsError` line.

    A full disk or a folder made read-only stops a run like a signal (the manifest says
    ``interrupted`` and ``--resume`` continues it); the user gets the cause and the
    resume command instead of a traceback.

    Args:
        exc: The exception that stopped the run (anything but an :class:`OSError` or a
            :class:`~sim.errors.WriteError` is left alone).
        folder: The results folder.
        hint: The resume command.
        saved: What is safe on disk, in words.

    Raises:
        ResultsError: ``exc`` is an :class:`OSError` or a :class:`~sim.errors.WriteError`.
    """
    if isinstance(exc, OSError | WriteError):
        why = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
        raise ResultsError(f"{folder}: stopped by an operating-system error ({why}); {saved}: "
                           f"fix the cause and continue with: {hint}") from exc
