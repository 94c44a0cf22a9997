"""Allocator settings that stop the daily page-fault churn of large numpy temporaries.

A day of the model allocates and frees temporaries of a few MB each (front slots, scanned
men, candidates) at large populations. With glibc's defaults, blocks above a dynamic
threshold are ``mmap``-ed and unmapped on ``free``, and free memory at the top of the heap
is handed back to the kernel (``trim``) as soon as it exceeds twice that threshold; each
day then faults the same pages in again (at full scale about 3 M minor page faults a
year and a quarter of the process's CPU time in the kernel).

:func:`tune_allocator` raises the mmap threshold to glibc's maximum on 64-bit (32 MiB),
so temporaries below it come from the heap, and the trim threshold to 1 GiB, so the heap
keeps its pages between days. It only changes *where* memory comes from (no result
changes), runs once per process, and does nothing when:

- the platform is not Linux with glibc (macOS, Windows, musl: no ``mallopt``);
- the user already set ``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_`` (glibc
  reads those at start-up; they win);
- ``ASYLUMSIM_MALLOC_TUNING=0`` is set.

The model calls it when it is built (:class:`sim.model.AsylumModel`), so every worker of
every executor (inline, process pool, Dask) applies it; :func:`worker_environment` gives
the equivalent environment variables for processes started by other means.
"""

from __future__ import annotations

import os
import sys

M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2**20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit
TRIM_THRESHOLD = 2**30

_done: bool | None = None


def _glibc():
    """The C library if it is glibc (has ``mallopt`` and ``gnu_get_libc_version``), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - raises AttributeError on musl
        return libc if hasattr(libc, "mallopt") else None
    except (OSError, AttributeError):
        return None


def tune_allocator() -> bool:
    """Apply the settings once per process (see the module docstring); True if applied."""
    global _done
    if _done is not None:
        return _done
    _done = False
    if os.environ.get("ASYLUMSIM_MALLOC_TUNING", "1") == "0":
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    libc = _glibc()
    if libc is None:
        return False
    ok_mmap = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    ok_trim = libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    _done = ok_mmap and ok_trim
    return _done


def release_free_memory() -> bool:
    """Hand the C heap's free pages back to the kernel (glibc's ``malloc_trim(0)``, every
    arena); True if done. For after work on several threads: each thread's arena keeps the
    pages its temporaries freed (the trim threshold above applies to them too), and the
    main thread's later allocations do not reuse them."""
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def worker_environment() -> dict[str, str]:
    """The same settings as glibc environment variables, for a process started from outside
    (read by glibc at start-up; ignored by other C libraries)."""
    return {"MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD), "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD)}
