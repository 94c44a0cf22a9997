"""Progress of an ensemble on stderr: a rich bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.runner.jobs import ReplicationResult


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def _clock(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class RunProgress:
    """Progress over replications, then the table and figure stages, on stderr.

    On a terminal (stderr is a tty): a rich bar. Otherwise (``| tee``, a scheduler's log):
    a plain line every 10% of the replications or every 10 s, whichever comes first.
    The ETA counts from when the first finished replication started computing, so worker
    start-up and imports do not distort it; it shows ``?`` until one has finished.
    """

    PLAIN_EVERY_S = 10.0

    def __init__(self, label: str, terminal: bool | None = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.terminal = _stderr_is_terminal() if terminal is None else terminal
        # names are data: no markup, emoji codes or highlighting in the label or the messages
        self.console = Console(stderr=True, markup=False, emoji=False, highlight=False)
        self.progress = Progress(
            TextColumn("{task.description}", style="bold", markup=False, highlighter=None), BarColumn(), MofNCompleteColumn(),
            TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("eta {task.fields[eta]}"),
            console=self.console, disable=not self.terminal, transient=False,
        )
        self.label = label
        self.task: Any = None
        self.total = self.done = self.start_done = 0
        self.t0 = time.monotonic()
        self.t_first: float | None = None
        self._last_plain = self.t0
        self._last_decile = 0

    def __enter__(self) -> RunProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def _line(self, text: str) -> None:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def eta(self) -> float | None:
        """Seconds left, or ``None`` before the first replication finishes.

        The clock starts when the first finished replication started computing (its
        finish time minus its own duration), so worker start-up and imports do not
        count; the rate is replications finished in this session per second since.
        """
        now = time.monotonic()
        if self.t_first is None or now <= self.t_first:
            return None
        rate = (self.done - self.start_done) / (now - self.t_first)
        return (self.total - self.done) / rate if rate > 0 else None

    def start(self, todo: int, done: int) -> None:
        label = self.label + (f" (resuming, {done} done)" if done else "")
        self.total, self.done, self.start_done = todo + done, done, done
        self.t0 = self._last_plain = time.monotonic()
        self.task = self.progress.add_task(label, total=todo + done, completed=done, eta="?")
        if not self.terminal:
            self._line(f"{label}: {todo} replication(s) to run, {done} already done")

    def advance(self, res: ReplicationResult) -> None:
        self.done += 1
        if self.t_first is None:
            self.t_first = time.monotonic() - (res.seconds or 0.0)
        eta = _clock(self.eta())
        self.progress.update(self.task, advance=1, eta=eta)
        if res.status != "ok":
            msg = f"replication {res.replication} of {res.scenario} failed: {res.error}"
            if self.terminal:
                from rich.text import Text

                self.progress.console.print(Text(msg, style="red"))
            else:
                self._line(msg)
        if not self.terminal:
            now = time.monotonic()
            decile = (10 * (self.done - self.start_done)) // max(1, self.total - self.start_done)
            if decile > self._last_decile or now - self._last_plain >= self.PLAIN_EVERY_S or self.done == self.total:
                self._last_decile, self._last_plain = decile, now
                self._line(f"{self.label}: {self.done}/{self.total} replications, "
                           f"elapsed {_clock(now - self.t0)}, eta {eta}")

    def stage(self, text: str) -> None:
        """Announce a stage after the replications (tables, figures) or a note."""
        if self.terminal:
            from rich.text import Text

            self.progress.console.print(Text(text))
        else:
            self._line(text)
