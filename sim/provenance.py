"""Where a result comes from: package version, git commit, dependencies and lock.

Every results manifest carries :func:`provenance` under ``"provenance"``, and
``asylumsim --version`` prints :func:`version_line`, so a published number can be traced to
the code and the library versions that made it.

How the version and the commit are found:

- The version comes from git through setuptools-scm when the package is built or installed
  (a tag ``vX.Y.Z`` gives ``X.Y.Z``; later commits give ``X.Y.(Z+1).devN+g<commit>``, with
  ``.dYYYYMMDD`` appended when the tree had uncommitted changes). The build writes it, with
  the commit, to ``sim/_version.py``.
- In a git checkout (an editable install, or running from the repository) the commit and
  the dirty flag are read live from git, because the version written at install time goes
  stale as soon as you commit; so is the version string, through setuptools-scm when it is
  installed (the test and development installs have it; otherwise the install's string is
  kept, next to the live commit).
- Outside git (a wheel installed anywhere) the commit and dirty flag are the ones the
  wheel was built from.

Only the standard library is imported, so ``--version`` stays fast.
"""

from __future__ import annotations

import hashlib
import platform
import re
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

DISTRIBUTION = "asylumsim"
UNKNOWN_VERSION = "0.0.0+unknown"
MAIN_DEPENDENCIES: tuple[str, ...] = (
    "mesa", "numpy", "pandas", "pyarrow", "pydantic", "pyyaml", "matplotlib", "typer", "rich",
    "dask", "distributed",
)
"""Distributions whose versions shape results or output; absent optional ones are left out."""

REPO = Path(__file__).resolve().parents[1]
"""The folder holding the ``sim`` package: the repository in a checkout, site-packages otherwise."""

LOCK_FILES: tuple[str, ...] = ("requirements/test.lock", "requirements/run.lock")
"""The committed lock files, most complete first (relative to the repository)."""

_LOCK_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def package_version() -> str:
    """The asylumsim version, as computed from git when the package was built or installed.

    Returns:
        A PEP 440 version such as ``0.2.0`` or ``0.1.dev18+g3b771b4.d20261130``;
        ``0.0.0+unknown`` when neither the build's version file nor package metadata exist
        (e.g. the sources copied without git and never installed).
    """
    try:
        from sim._version import __version__

        return str(__version__)
    except ImportError:
        pass
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return UNKNOWN_VERSION


@cache
def live_version(root: Path = REPO) -> str | None:
    """The version setuptools-scm computes from the git checkout at ``root`` (once per process).

    Returns:
        The PEP 440 version string, or None when setuptools-scm is not installed or cannot
        compute one (not a checkout, git unavailable).
    """
    try:
        from setuptools_scm import get_version
    except ImportError:
        return None
    try:
        import tomllib

        cfg = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8")).get("tool", {}).get("setuptools_scm", {})
        # the install's settings, so the live string equals the one an install writes (never the version file)
        opts = {k: v for k, v in cfg.items() if k in ("fallback_version", "version_scheme", "local_scheme", "tag_regex")}
        return str(get_version(root=str(root), **opts))
    except Exception:  # noqa: BLE001 - any failure means "no live version": the install's string is used
        return None


def current_version(root: Path = REPO) -> str:
    """The version of the code that runs: :func:`live_version` in a git checkout (when
    setuptools-scm can compute it), else :func:`package_version`."""
    return (live_version(root) if git_state(root) is not None else None) or package_version()


def build_commit() -> tuple[str | None, bool | None]:
    """The commit the installed package was built from, and whether that tree was dirty.

    Returns:
        ``(commit, dirty)``: the abbreviated commit id (no ``g`` prefix) and the dirty flag,
        or ``(None, None)`` when the build recorded no commit (built outside git).
    """
    try:
        from sim._version import __commit__
    except ImportError:
        return None, None
    if not __commit__:
        return None, None
    commit = str(__commit__)
    commit = commit[1:] if commit.startswith("g") and len(commit) > 7 else commit
    local = package_version().partition("+")[2]
    dirty = any(part.startswith("d") and part[1:].isdigit() for part in local.split("."))
    return commit, dirty


def _git(args: list[str], root: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_state(root: Path = REPO) -> tuple[str, bool] | None:
    """The checked-out commit and dirty flag of the git working tree at ``root``.

    Args:
        root: The repository folder (where ``.git`` and ``pyproject.toml`` are).

    Returns:
        ``(full commit id, dirty)``, where dirty means tracked files differ from the commit
        (untracked files do not count, as in setuptools-scm); ``None`` when ``root`` is not
        a git checkout of this project or git is unavailable.
    """
    if not ((root / ".git").exists() and (root / "pyproject.toml").is_file()):
        return None
    head = _git(["rev-parse", "HEAD"], root)
    status = _git(["status", "--porcelain", "--untracked-files=no"], root)
    if head is None or status is None:
        return None
    return head.strip(), bool(status.strip())


def dependency_versions() -> dict[str, str]:
    """Installed versions of :data:`MAIN_DEPENDENCIES` (absent ones omitted), by name."""
    out = {}
    for name in MAIN_DEPENDENCIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def read_lock(path: Path) -> dict[str, str]:
    """The pinned ``name==version`` lines of a lock file, by normalized name.

    Args:
        path: A requirements lock written by ``uv pip compile`` (hash lines are skipped).

    Raises:
        OSError: If the file cannot be read.
    """
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _LOCK_LINE.match(line.strip())
        if m:
            pins[_normalize(m.group(1))] = m.group(2)
    return pins


@cache
def _installed() -> dict[str, str]:
    return {_normalize(d.metadata["Name"]): d.version for d in metadata.distributions() if d.metadata["Name"]}


def lock_status(root: Path = REPO) -> dict[str, Any] | None:
    """Whether the running environment is exactly one of the committed lock files.

    Args:
        root: The repository folder.

    Returns:
        ``{"file", "sha256", "matches", "differs"}`` for the first lock file (of
        :data:`LOCK_FILES`) that the environment matches, else for the run lock with the
        names of the packages whose installed version differs (or that are missing);
        ``None`` outside a checkout (no lock file next to the package).
    """
    found = [root / rel for rel in LOCK_FILES if (root / rel).is_file()]
    if not found:
        return None
    installed = _installed()
    report = None
    for path in found:
        pins = read_lock(path)
        differs = sorted(n for n, v in pins.items() if installed.get(n) != v)
        report = {"file": path.relative_to(root).as_posix(),
                  "sha256": hashlib.sha256(path.read_bytes()).hexdigest()[:16],
                  "matches": not differs, "differs": differs}
        if not differs:
            return report
    return report


def provenance(root: Path = REPO) -> dict[str, Any]:
    """Everything a manifest records about the code and environment that made a result.

    Args:
        root: The repository folder (for the live git state and the lock files).

    Returns:
        A JSON-ready dict: ``version`` (str: live from git in a checkout, else the
        install's), ``commit`` (str or None), ``dirty`` (bool or
        None), ``commit_from`` (``"git"``: read live from the checkout; ``"build"``: recorded
        when the package was built; ``None``: unknown), ``python`` (version string),
        ``dependencies`` ({name: version}) and ``lock`` (see :func:`lock_status`).
    """
    live = git_state(root)
    version = None
    if live is not None:
        commit, dirty, source = live[0], live[1], "git"
        version = live_version(root)
    else:
        commit, dirty = build_commit()
        source = "build" if commit else None
    return {
        "version": version or package_version(),
        "commit": commit,
        "dirty": dirty,
        "commit_from": source,
        "python": platform.python_version(),
        "dependencies": dependency_versions(),
        "lock": lock_status(root),
    }


def versions(info: dict[str, Any] | None = None) -> dict[str, str]:
    """A flat {name: version} of Python, asylumsim and the main dependencies.

    Args:
        info: A :func:`provenance` dict taken just before, to read the same versions from
            (a manifest records both: git and the installed packages are then read once).
    """
    if info is not None:
        return {"python": info["python"], DISTRIBUTION: info["version"], **info["dependencies"]}
    return {"python": platform.python_version(), DISTRIBUTION: current_version(), **dependency_versions()}


def short_line(info: dict[str, Any]) -> str:
    """One line naming the version, commit and lock of a :func:`provenance` dict.

    Example: ``asylumsim 0.1.dev18+g3b771b4, commit 3b771b4 (dirty), Python 3.12.1,
    locked dependencies (requirements/test.lock)``.
    """
    commit = info.get("commit")
    text = f"asylumsim {info.get('version', UNKNOWN_VERSION)}, commit "
    text += (str(commit)[:12] + (" (dirty)" if info.get("dirty") else "")) if commit else "unknown"
    text += f", Python {info.get('python', '?')}"
    lock = info.get("lock")
    if lock and lock.get("matches"):
        text += f", locked dependencies ({lock['file']})"
    elif lock:
        text += f", dependencies differ from {lock['file']} ({', '.join(lock['differs'][:5])})"
    return text


def version_line() -> str:
    """What ``asylumsim --version`` prints: version, commit and dirty flag, Python."""
    info = provenance()
    info["lock"] = None
    return short_line(info)
