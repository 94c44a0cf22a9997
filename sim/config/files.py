"""Where scenarios are found: ``--scenarios DIR`` folders, ``$ASYLUMSIM_SCENARIOS``, the
working directory and the shipped scenarios, in that order; names and ``.yaml`` paths."""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sim.config.yaml_safe import read_yaml_file
from sim.errors import ConfigError

SCENARIO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")

SHIPPED_SCENARIOS = Path(str(resources.files("sim") / "scenarios"))
"""The named scenarios that ship inside the package (``sim/scenarios/*.yaml``)."""

_extra_dirs: list[Path] = []


def use_scenario_dirs(dirs: list[Path] | tuple[Path, ...]) -> None:
    """Set the folders given with ``--scenarios DIR`` (searched first; replaces earlier ones).

    Args:
        dirs: Existing folders of scenario YAML files, in search order.

    Raises:
        ConfigError: If one of them is not a folder (naming it).
    """
    for d in dirs:
        if not Path(d).is_dir():
            raise ConfigError("--scenarios", "", f"{str(d)!r} is not a folder")
    _extra_dirs[:] = [Path(d) for d in dirs]


def scenario_dirs() -> list[Path]:
    """Where named scenarios are looked up, in order (the first folder that has a name wins).

    1. the folders given with ``--scenarios DIR`` (see :func:`use_scenario_dirs`);
    2. ``$ASYLUMSIM_SCENARIOS`` (os.pathsep-separated folders);
    3. the current working directory;
    4. the scenarios shipped in the package (``sim/scenarios``).
    """
    dirs: list[Path] = list(_extra_dirs)
    env = os.environ.get("ASYLUMSIM_SCENARIOS")
    if env:
        dirs += [Path(p) for p in env.split(os.pathsep) if p]
    try:
        dirs.append(Path.cwd())
    except OSError:  # the working directory was deleted
        pass
    dirs.append(SHIPPED_SCENARIOS)
    return list(dict.fromkeys(dirs))


@dataclass(frozen=True)
class ScenarioEntry:
    name: str
    path: Path
    description: str


OTHER_KINDS = {"scenarios": "an experiment design", "method": "an experiment design",
               "outcomes": "an experiment design", "priors": "a priors file"}
"""Top-level keys that mark a YAML file of another kind (``asylumsim explore``'s design,
``asylumsim calibrate``'s priors), and which kind."""


def other_kind(raw: object) -> str | None:
    """What kind of file read YAML is, if it is not a scenario: a mapping with a key of
    :data:`OTHER_KINDS` and none of a scenario's sections or ``extends`` (an experiment
    design or priors file kept among scenarios); else ``None``. A scenario with mistyped
    keys, or with only ``name`` and ``description``, is still a scenario (its own error is
    worth seeing), as is anything that is not a mapping."""
    if not isinstance(raw, dict):
        return None
    from sim.config.schema import Scenario

    keys = set(map(str, raw))
    if keys & (set(Scenario.model_fields) - {"name", "description"}):
        return None
    return next((OTHER_KINDS[k] for k in OTHER_KINDS if k in keys), None)


def _read_kind(path: Path) -> tuple[str | None, str]:
    """``(its other kind, or None for a scenario; its description)``, from one read; a file
    that cannot be read, or is not a mapping, counts as a scenario, described by what is
    wrong with it."""
    try:
        raw = read_yaml_file(path)
    except ConfigError as exc:
        return None, f"(invalid: {exc.problem})"
    kind = other_kind(raw)
    if kind:
        return kind, ""
    if not isinstance(raw, dict):
        return None, "(invalid: empty)" if raw is None else "(invalid: not a mapping of keys)"
    return None, str(raw.get("description", ""))


def list_scenarios() -> list[ScenarioEntry]:
    """Named scenarios with their one-line descriptions (first directory wins). YAML files of
    another kind (:func:`other_kind`: experiment designs, priors files) are not scenarios
    and neither listed nor shadow a scenario of the same name further down the search path."""
    seen: dict[str, ScenarioEntry] = {}
    for d in scenario_dirs():
        if not d.is_dir():
            continue
        for path in sorted(d.glob("*.yaml")):
            if path.stem in seen:
                continue
            kind, desc = _read_kind(path)
            if kind is None:
                seen[path.stem] = ScenarioEntry(path.stem, path, desc)
    return sorted(seen.values(), key=lambda e: e.name)


def _why_not_a_file(p: Path) -> str:
    """Why ``p`` is not a readable regular file, as the end of a message."""
    import stat

    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        return "not found" if not p.is_symlink() else "is a broken symbolic link"
    except OSError as exc:  # a symbolic link loop, a name too long, no permission on a folder
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    return "is not a regular file (a pipe, socket or device)"


def ref_stem(ref: str) -> str:
    """A scenario reference's name: a YAML file's stem (``my_caplan.yaml`` -> ``my_caplan``), a
    name as it is. What an experiment calls a scenario, and what a copied file would be named."""
    return Path(ref).stem if ref.endswith((".yaml", ".yml")) else ref


def resolve_ref(ref: str, relative_to: Path | None = None, source: str = "<command line>") -> Path:
    """Turn a scenario name or ``.yaml`` path into an existing file path.

    Args:
        ref: A scenario name (letters, digits, ``_``, ``-``) or a path ending in .yaml/.yml.
        relative_to: Directory for relative paths (the referring file's directory).
        source: Where the reference came from, for the error message.
    """
    if ref.endswith((".yaml", ".yml")):
        p = Path(ref)
        if not p.is_absolute() and relative_to is not None:
            p = relative_to / p
        if not p.is_file():
            raise ConfigError(source, "extends" if relative_to else "", f"scenario file {ref!r} {_why_not_a_file(p)}")
        return p
    if not SCENARIO_NAME.match(ref):
        raise ConfigError(
            source, "extends" if relative_to else "",
            f"{ref!r} is not a scenario name (letters, digits, '_' and '-' only; give a .yaml path for a file)",
        )
    other: tuple[Path, str] | None = None  # the first YAML file of this name of another kind (a design here)
    for d in scenario_dirs():
        p = d / f"{ref}.yaml"
        if p.is_file():
            kind = None if d == SHIPPED_SCENARIOS else _read_kind(p)[0]  # the shipped folder holds only scenarios
            if kind is None:
                return p
            other = other or (p, kind)
    names = [e.name for e in list_scenarios()]
    if other is not None:
        other, kind = other
        run = {"an experiment design": f" (run it with: asylumsim explore {other})",
               "a priors file": f" (use it with: asylumsim calibrate SCENARIO --priors {other})"}.get(kind, "")
        raise ConfigError(source, "extends" if relative_to else "",
                          f"{other} is {kind}, not a scenario{run}; known scenarios: {', '.join(names)}")
    close = difflib.get_close_matches(ref, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(names)}"
    raise ConfigError(source, "extends" if relative_to else "", f"unknown scenario {ref!r}{hint}")
