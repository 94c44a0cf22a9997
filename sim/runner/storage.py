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

A run claims its folder with :func:`claim_folder`: the folder is created if needed and
locked (``flock`` on the folder itself), and only then checked to be empty, so two runs
can never both write into one folder. Only the exact temporaries this module writes
(``.<name>.tmp-<pid>-<8 hex>``) are ignored as content or ever deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import secrets
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.errors import ResultsError, WriteError

if TYPE_CHECKING:
    import pandas as pd

TOOL_NAME = "asylumsim"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CONFIG = "config.yaml"
TIMESERIES = "timeseries.parquet"
SUMMARY = "summary.csv"
COMPARISON = "comparison.csv"
POSTERIOR_HINT = "posterior.parquet, used with --set uncertainty.posterior=FOLDER/posterior.parquet"
REPLICATIONS_DIR = "replications"
PLOTS_DIR = "plots"
LOCK = ".lock"  # lock file of older versions; the lock is now on the folder itself
TMP_MARK = ".tmp-"
# Exactly the temporaries this module writes (".<name>.tmp-<pid>-<8 hex>", ".write-probe.tmp-<pid>"):
# only these are ours to ignore and delete; a user's "notes.tmp-1" is content.
_OUR_TMP = re.compile(r"^\..+\.tmp-\d+-[0-9a-f]{8}$|^\.write-probe\.tmp-\d+$")
FILE_META_KEY = b"asylumsim"  # parquet schema metadata of a replication file
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
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from exc
    _fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def parquet_bytes(df: pd.DataFrame, meta: dict[str, Any] | None = None) -> bytes:
    """Serialize a table to parquet bytes (no index; deterministic for equal tables).

    Args:
        df: The table.
        meta: JSON-able description stored in the schema metadata under ``asylumsim``
            (read back with :func:`read_file_meta`).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    if meta is not None:
        schema_meta = dict(table.schema.metadata or {})
        schema_meta[FILE_META_KEY] = json.dumps(meta, sort_keys=True).encode("utf-8")
        table = table.replace_schema_metadata(schema_meta)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def read_file_meta(path: Path) -> dict[str, Any] | None:
    """The ``asylumsim`` description stored in a parquet file's schema, or ``None``.

    Raises:
        ResultsError: the file is not readable parquet.
    """
    import pyarrow.parquet as pq

    try:
        raw = (pq.read_schema(path).metadata or {}).get(FILE_META_KEY)
    except (OSError, ValueError) as exc:
        raise ResultsError(f"cannot read {path}: {exc}") from None
    if raw is None:
        return None
    try:
        meta = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    return meta if isinstance(meta, dict) else None


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's contents, read in 1 MiB blocks.

    Raises:
        OSError: the file cannot be read.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(2**20), b""):
            h.update(block)
    return h.hexdigest()


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


def is_our_temp(name: str) -> bool:
    """True for the exact temporary names this module writes (never a user's file)."""
    return bool(_OUR_TMP.match(name))


def remove_temp_files(folder: Path) -> int:
    """Delete leftovers of this module's writes interrupted by a kill; return how many.

    Only names of the exact form written by :func:`atomic_write_bytes` are removed, and
    only in the folder itself and ``replications/<slug>/``; nothing else is touched.
    """
    folder = Path(folder)
    places = [folder, *sorted(p for p in (folder / REPLICATIONS_DIR).glob("*") if p.is_dir() and not p.is_symlink())]
    n = 0
    for d in places:
        with contextlib.suppress(OSError):
            for p in d.iterdir():
                if is_our_temp(p.name) and p.is_file() and not p.is_symlink():
                    p.unlink(missing_ok=True)
                    n += 1
    return n


# --------------------------------------------------------------------------------------
# folders


#: The longest slug (:func:`slugify` cuts longer ones).
SLUG_MAX = 64


def slugify(name: str) -> str:
    """A file-system-safe version of a scenario name: letters, digits, ``-`` and ``_`` (not
    at either end), at most :data:`SLUG_MAX` characters; ``slugify(slugify(x)) == slugify(x)``."""
    slug = re.sub(r"[^A-Za-z0-9_\-]+", "_", name).strip("_")
    return slug[:SLUG_MAX].rstrip("_") or "scenario"  # cut, then no "_" at the end ("x" * 63 + " y")


def unique_slugs(names: list[str]) -> list[str]:
    """Folder names for ``names``: :func:`slugify` of each, a repeat getting ``-2``,
    ``-3``... with its slug cut short enough that the suffix fits (names alike in their
    first :data:`SLUG_MAX` characters slug to the same one).

    A suffix never takes another name's own slug (``caplan`` beside ``caplan-2`` gets
    ``caplan-3``). Slugs equal but for case count as repeats (``Caplan`` then ``caplan``
    gives ``Caplan``, ``caplan-2``): on a case-insensitive file system (macOS, Windows)
    they would name one folder and their files would overwrite each other. Distinct under ``str.casefold``,
    and each its own slug (so :func:`replication_file` accepts it); names that do not
    collide keep exactly :func:`slugify` of themselves (case included).
    """
    plain = [slugify(n) for n in names]
    taken = {p.casefold() for p in plain}  # every name's own slug is kept for it (the first of equals)
    kept: set[str] = set()
    out: list[str] = []
    for base in plain:
        if base.casefold() not in kept:
            kept.add(base.casefold())
            out.append(base)
            continue
        k = 2
        while True:
            suffix = f"-{k}"
            slug = base[:SLUG_MAX - len(suffix)] + suffix
            if slug.casefold() not in taken:
                break
            k += 1
        out.append(slug)
        taken.add(slug.casefold())
    return out


def case_clash(slugs: list[str]) -> tuple[int, int] | None:
    """Indices ``(i, j)``, ``i < j``, of the first two slugs equal but for case (one folder
    on a case-insensitive file system), or ``None``."""
    seen: dict[str, int] = {}
    for j, s in enumerate(slugs):
        key = str(s).casefold()
        if key in seen:
            return seen[key], j
        seen[key] = j
    return None


def default_results_dir(label: str, base: Path | str = "results") -> Path:
    """Create and return a new folder ``results/<UTC time>-<label>-<6 hex>``.

    The folder is created exclusively (``mkdir`` fails if it exists), with a random
    suffix, so runs started in the same second never pick the same name.

    Raises:
        ResultsError: ``base`` cannot be written.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    for _ in range(100):
        path = Path(base) / f"{stamp}-{slugify(label)[:48]}-{secrets.token_hex(3)}"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise ResultsError(f"cannot write results folder {path}: {exc.strerror or exc}") from None
        return path
    raise ResultsError(f"cannot find a free results folder name under {base}")  # pragma: no cover


# --------------------------------------------------------------------------------------
# manifest


def package_versions(info: dict[str, Any] | None = None) -> dict[str, str]:
    """Versions of Python, asylumsim and the packages that shape the results (see
    :func:`sim.provenance.versions`; ``info``: a provenance dict to read them from)."""
    from sim.provenance import versions

    return versions(info)


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
    except RecursionError:  # arrays nested too deeply for Python's parser (a hostile or broken file)
        raise ResultsError(f"{path} is corrupt (nested too deeply); this folder cannot be used") from None
    if isinstance(data, dict) and "pyabc_version" in data and "tool" not in data:
        raise ResultsError(f"{folder} is an 'asylumsim calibrate' folder (its posterior: {POSTERIOR_HINT}), "
                           "not a run or compare results folder")
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
    """Relative path of one replication's table inside a results folder.

    Raises:
        ResultsError: ``slug`` is not a slug (e.g. ``../x`` from an edited manifest) or
            ``replication`` is negative.
    """
    if not isinstance(slug, str) or slugify(slug) != slug or not isinstance(replication, int) or replication < 0:
        raise ResultsError(f"unsafe replication file name ({slug!r}, {replication!r}) in {MANIFEST}")
    return f"{REPLICATIONS_DIR}/{slug}/rep-{replication:06d}.parquet"


def inside(folder: Path, rel: str) -> Path:
    """``folder / rel``, refusing any path that leaves ``folder`` (``..``, absolute, symlinks).

    Raises:
        ResultsError: the path resolves outside the folder.
    """
    root = Path(folder).resolve()
    path = (root / rel).resolve()
    if path != root and root not in path.parents:
        raise ResultsError(f"{MANIFEST} in {folder} names a path outside the folder: {rel!r}")
    return path


def render_configs(scenarios: list[Any], root_seed: int) -> str:
    """``config.yaml``: each resolved scenario as commented YAML (one document each)."""
    from sim.config.render import render_yaml

    docs = []
    for s in scenarios:
        head = f"Resolved scenario {s.name!r} as run by asylumsim (root seed {root_seed})"
        docs.append(render_yaml(s, header=head))
    return "---\n".join(docs)
