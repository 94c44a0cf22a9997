"""Claiming a results folder: create it, lock it, and only then check that it is empty.

The lock is ``flock`` on the folder itself, held for the whole run, so two runs can never
both write into one folder; the emptiness check happens under the lock. Only the exact
temporaries :mod:`sim.runner.storage` writes are ignored as content.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from sim.errors import ResultsError
from sim.runner.storage import LOCK, TMP_MARK, is_our_temp

# Test hook: after claiming a folder, create "<path>.claimed-<pid>" and wait (<= 60 s) until <path> exists.
HOLD_AFTER_CLAIM_ENV = "ASYLUMSIM_TEST_HOLD_AFTER_CLAIM"


def ensure_writable(folder: Path) -> None:
    """Create ``folder`` if needed and prove a file can be written in it.

    Raises:
        ResultsError: one line naming the folder and the reason.
    """
    folder = Path(folder)
    probe = folder / f".write-probe{TMP_MARK}{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink(missing_ok=True)  # a concurrent claimer may have tidied it already
    except OSError as exc:
        raise ResultsError(f"cannot write results folder {folder}: {exc.strerror or exc}") from None


def _contents(folder: Path) -> list[Path]:
    """Entries that count as content: anything but our lock file and our own temporaries."""
    return [p for p in folder.iterdir() if p.name != LOCK and not is_our_temp(p.name)]


def is_fresh(folder: Path) -> bool:
    """True if ``folder`` does not exist or is an empty directory."""
    folder = Path(folder)
    return not folder.exists() or (folder.is_dir() and not _contents(folder))


@contextlib.contextmanager
def claim_folder(folder: Path, *, fresh: bool) -> Iterator[None]:
    """Create (if needed) and lock a results folder; with ``fresh``, refuse a non-empty one.

    The emptiness check runs *under* the lock, so of two runs started on one folder at
    the same moment exactly one proceeds and the other gets a one-line error; a folder
    can never receive two runs' data. The lock is held until the block exits.

    Args:
        folder: The results folder.
        fresh: True for a new run (the folder must be absent or empty), False to
            continue the run already in it.

    Raises:
        ResultsError: the folder is a file, not writable, locked by another process, or
            (``fresh``) not empty.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ResultsError(f"results folder {folder} is a file, not a folder")
    ensure_writable(folder)
    with folder_lock(folder):
        if fresh and _contents(folder):
            raise ResultsError(
                f"results folder {folder} already exists and is not empty; "
                "choose another --out, or add --resume to continue an interrupted run"
            )
        _test_hold(folder)
        yield


def _test_hold(folder: Path) -> None:
    gate = os.environ.get(HOLD_AFTER_CLAIM_ENV)
    if not gate:
        return
    Path(f"{gate}.claimed-{os.getpid()}").write_text(str(folder))
    deadline = time.monotonic() + 60
    while not Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(0.02)


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on a results folder while a run writes to it.

    The lock is taken on the folder itself (``flock`` on a directory descriptor), so no
    file is added to a folder that is then refused. The operating system drops the
    lock when the process dies, so a killed run never leaves a stale lock behind.

    Raises:
        ResultsError: another process holds the lock, or the folder cannot be opened.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks; proceed
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        raise ResultsError(f"cannot open results folder {folder}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ResultsError(f"results folder {folder} is in use by another asylumsim process") from None
        yield
    finally:
        os.close(fd)
