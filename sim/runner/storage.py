"""Results folders: layout, the manifest, atomic writes, and refusing the wrong folder.

One folder per ``asylumsim run``/``compare`` invocation::

    manifest.json                      what ran: tool, versions, seeds, timings, status
    config.yaml                        the fully resolved scenario(s)
    replications/<scenario>/rep-000003.parquet   one file per finished replication
    timeseries.parquet                 all replications, one row per scenario x rep x day
    summary.csv                        median and 5-95% band per scenario x metric x day
    comparison.csv                     (compare) paired differences from the baseline
    compare.png | overview.png, plots/ figures (PNG and SVG)

Every file is written to a temporary name in the same directory, fsynced, then
``os.replace``-d into place, so a killed run leaves each file complete or absent. The
replication files are the ground truth for ``--resume``; the manifest is a record.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.errors import ResultsError

if TYPE_CHECKING:
    import pandas as pd

TOOL_NAME = "asylumsim"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CONFIG = "config.yaml"
TIMESERIES = "timeseries.parquet"
SUMMARY = "summary.csv"
COMPARISON = "comparison.csv"
REPLICATIONS_DIR = "replications"
PLOTS_DIR = "plots"
LOCK = ".lock"
_TMP_MARK = ".tmp-"
_REQUIRED_KEYS = ("tool", "format_version", "kind", "root_seed", "replications", "scenarios", "runs")


def now_iso() -> str:
    """Current UTC time, ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------------------
# atomic writes


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself durable; not possible on every platform.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file, the new one, or none.

    Raises:
        ResultsError: the file cannot be written.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}{_TMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ResultsError(f"cannot write {path}: {exc.strerror or exc}") from None
    _fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def parquet_bytes(df: pd.DataFrame) -> bytes:
    """Serialize a table to parquet bytes (no index; deterministic for equal tables)."""
    buf = io.BytesIO()
    df.to_parquet(buf, index=False, engine="pyarrow")
    return buf.getvalue()


def atomic_write_parquet(path: Path, df: pd.DataFrame) -> None:
    """Write a table to a parquet file atomically."""
    atomic_write_bytes(path, parquet_bytes(df))


def read_parquet(path: Path) -> pd.DataFrame:
    """Read a parquet file written by this module.

    Raises:
        ResultsError: missing or unreadable file.
    """
    import pandas as pd

    try:
        return pd.read_parquet(path, engine="pyarrow")
    except (OSError, ValueError) as exc:
        raise ResultsError(f"cannot read {path}: {exc}") from None


def remove_temp_files(folder: Path) -> int:
    """Delete leftovers of writes interrupted by a kill; return how many."""
    n = 0
    for p in Path(folder).rglob(f".*{_TMP_MARK}*"):
        if p.is_file():
            p.unlink(missing_ok=True)
            n += 1
    return n


# --------------------------------------------------------------------------------------
# folders


def slugify(name: str) -> str:
    """A file-system-safe version of a scenario name."""
    slug = re.sub(r"[^A-Za-z0-9_\-]+", "_", name).strip("_")
    return slug[:64] or "scenario"


def default_results_dir(label: str, base: Path | str = "results") -> Path:
    """``results/<UTC timestamp>-<label>``, made unique with a counter if needed."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    root = Path(base) / f"{stamp}-{slugify(label)}"
    path, k = root, 2
    while path.exists():
        path = root.with_name(f"{root.name}-{k}")
        k += 1
    return path


def ensure_writable(folder: Path) -> None:
    """Create ``folder`` if needed and prove a file can be written in it.

    Raises:
        ResultsError: one line naming the folder and the reason.
    """
    folder = Path(folder)
    probe = folder / f".write-probe{_TMP_MARK}{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ResultsError(f"cannot write results folder {folder}: {exc.strerror or exc}") from None


def _contents(folder: Path) -> list[Path]:
    """Entries that count as content: not our lock file, not interrupted temporaries."""
    return [p for p in folder.iterdir() if p.name != LOCK and _TMP_MARK not in p.name]


def prepare_new_folder(folder: Path) -> None:
    """Make ``folder`` ready for a fresh run, refusing to reuse a non-empty one.

    Raises:
        ResultsError: the folder exists and is not empty, is a file, or is not writable.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ResultsError(f"results folder {folder} is a file, not a folder")
    if folder.is_dir() and _contents(folder):
        raise ResultsError(
            f"results folder {folder} already exists and is not empty; "
            "choose another --out, or add --resume to continue an interrupted run"
        )
    ensure_writable(folder)


def is_fresh(folder: Path) -> bool:
    """True if ``folder`` does not exist or is an empty directory."""
    folder = Path(folder)
    return not folder.exists() or (folder.is_dir() and not _contents(folder))


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on a results folder while a run writes to it.

    The operating system drops the lock when the process dies, so a killed run never
    leaves a stale lock behind.

    Raises:
        ResultsError: another process holds the lock.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks; proceed
        yield
        return
    path = Path(folder) / LOCK
    try:
        fh = open(path, "a+")
    except OSError as exc:
        raise ResultsError(f"cannot write results folder {folder}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ResultsError(f"results folder {folder} is in use by another asylumsim process") from None
        yield
    finally:
        fh.close()


# --------------------------------------------------------------------------------------
# manifest


def package_versions() -> dict[str, str]:
    """Versions of Python, asylumsim and the packages that shape the results (see sim.provenance)."""
    from sim.provenance import versions

    return versions()


def command_line() -> list[str]:
    """The command line as typed, with the program name shortened to ``asylumsim``."""
    argv = list(sys.argv)
    if argv and Path(argv[0]).name in ("asylumsim", "__main__.py", "cli.py"):
        argv[0] = TOOL_NAME
    return argv


def read_manifest(folder: Path) -> dict[str, Any]:
    """Load and check ``folder/manifest.json``.

    Raises:
        ResultsError: not a folder, no manifest, unparsable, foreign or from a newer
            format -- always naming the folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ResultsError(f"{folder} is not a folder")
    path = folder / MANIFEST
    if not path.is_file():
        raise ResultsError(f"{folder} is not an asylumsim results folder (no {MANIFEST})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(f"{path} is corrupt ({exc}); this folder cannot be used") from None
    if not isinstance(data, dict) or data.get("tool") != TOOL_NAME:
        raise ResultsError(f"{folder} is not an asylumsim results folder ({MANIFEST} was written by another tool)")
    version = data.get("format_version")
    if not isinstance(version, int):
        raise ResultsError(f"{path} is corrupt (no format_version)")
    if version > FORMAT_VERSION:
        raise ResultsError(f"{folder} was written by a newer asylumsim (results format {version}; this one reads {FORMAT_VERSION})")
    missing = [k for k in _REQUIRED_KEYS if k not in data]
    if missing or not isinstance(data.get("runs"), list) or not isinstance(data.get("scenarios"), list):
        raise ResultsError(f"{path} is corrupt (missing {', '.join(missing) or 'runs/scenarios'})")
    return data


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest atomically, stamping ``updated``."""
    manifest["updated"] = now_iso()
    atomic_write_text(Path(folder) / MANIFEST, json.dumps(manifest, indent=2, sort_keys=False) + "\n")


def replication_file(slug: str, replication: int) -> str:
    """Relative path of one replication's table inside a results folder."""
    return f"{REPLICATIONS_DIR}/{slug}/rep-{replication:06d}.parquet"
