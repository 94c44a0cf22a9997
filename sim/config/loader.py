"""Scenario loading: find a scenario, follow ``extends``, apply ``--set``, validate once.

Merge rules (documented in docs/guide.md, section 5; see :func:`merge`):
- mappings merge key by key; scalars and plain lists replace;
- lists of named items (regions, exits, hosts, offers, categories, sources) are patched
  item by item by ``name``, whether written as a mapping or as a list; only the list form
  can add an item, and only in full (:data:`ADD_REQUIRED`);
- the schema defaults are the parent of a scenario without ``extends``;
- ``--set`` patches by the same rules.

Every failure raises :class:`sim.errors.ConfigError` naming the file, the key path and
the problem.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.config.schema import Scenario, _is_list, _model_in
from sim.config.yaml_safe import one_line_error, parse_override_value, read_yaml_file
from sim.errors import ConfigError

SCENARIO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")
MAX_EXTENDS_DEPTH = 20

Path_t = tuple[str | int, ...]


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


def list_scenarios() -> list[ScenarioEntry]:
    """Named scenarios with their one-line descriptions (first directory wins)."""
    seen: dict[str, ScenarioEntry] = {}
    for d in scenario_dirs():
        if not d.is_dir():
            continue
        for path in sorted(d.glob("*.yaml")):
            if path.stem in seen:
                continue
            try:
                raw = read_yaml_file(path)
                desc = raw.get("description", "") if isinstance(raw, dict) else ""
            except ConfigError as exc:
                desc = f"(invalid: {exc.problem})"
            seen[path.stem] = ScenarioEntry(path.stem, path, str(desc))
    return sorted(seen.values(), key=lambda e: e.name)


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
            raise ConfigError(source, "extends" if relative_to else "", f"scenario file {ref!r} not found")
        return p
    if not SCENARIO_NAME.match(ref):
        raise ConfigError(
            source, "extends" if relative_to else "",
            f"{ref!r} is not a scenario name (letters, digits, '_' and '-' only; give a .yaml path for a file)",
        )
    for d in scenario_dirs():
        p = d / f"{ref}.yaml"
        if p.is_file():
            return p
    names = [e.name for e in list_scenarios()]
    close = difflib.get_close_matches(ref, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(names)}"
    raise ConfigError(source, "extends" if relative_to else "", f"unknown scenario {ref!r}{hint}")


# --------------------------------------------------------------------------------------
# merging with provenance

# Fields a *new* item of a named list must state (the way to add an item is a list item
# stating at least these; docs/guide.md section 5). Everything else may be left to the
# schema defaults. Keyed by the item model's class name.
ADD_REQUIRED: dict[str, tuple[str, ...]] = {
    "ReserveCategory": ("name", "share", "priority"),
    "RegionConfig": ("name", "pool_share", "travel_days"),
    "ExitConfig": ("name", "host", "capacity_per_day", "background_per_day", "base_cost_usd"),
    "HostConfig": ("name", "size_class", "population", "draftee_policy", "deserter_policy"),
    "ReplacementSource": ("name", "elasticity", "delay_days", "cap_per_day", "cap_total", "quality"),
    "OfferConfig": ("name", "maker", "eligible", "payment_usd", "status", "route", "destination", "credibility"),
}


def named_item_model(path: Path_t) -> type[BaseModel] | None:
    """The item model of the named list at ``path`` (e.g. ``("hosts",)``), else None.

    A named list is a schema list of models with a ``name`` field: regions, exits, hosts,
    offers, population.categories, kremlin.replacement.sources.
    """
    model: type[BaseModel] | None = Scenario
    for i, k in enumerate(path):
        if model is None or isinstance(k, int):
            return None
        info = model.model_fields.get(str(k))
        if info is None:
            return None
        sub = _model_in(info.annotation)
        if _is_list(info.annotation):
            last = i == len(path) - 1
            return sub if last and sub is not None and "name" in sub.model_fields else None
        model = sub
    return None


def merge(base: Any, patch: Any, source: str, prov: dict[Path_t, str], path: Path_t = ()) -> Any:
    """Merge ``patch`` into ``base`` (both plain data); record who set what in ``prov``.

    Rules (docs/guide.md, "The merge rules"): mappings merge key by key; a named list
    (:func:`named_item_model`) is patched item by item by ``name``: a mapping patches the
    items it names and must not name a new one; a list states the whole set of items in
    order, each one patching the parent's item of the same name field by field, and a
    name the parent lacks is a new item that must state every field in
    :data:`ADD_REQUIRED`. Other lists and scalars replace.

    Args:
        base: The parent's value at ``path`` (None when the parent does not state it).
        patch: The child's value at ``path``.
        source: Who states ``patch`` (a file path or ``--set``), for ``prov`` and errors.
        prov: Provenance, updated in place: key path -> source that last set it.
        path: Key path of ``base``/``patch`` from the scenario root.

    Returns:
        The merged value (new objects; ``base`` and ``patch`` are not modified).

    Raises:
        ConfigError: a mapping names an item the parent lacks (with a did-you-mean), a
            patch by name is not a mapping, or a new list item misses a required field.
    """
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = merge(base[k], v, source, prov, path + (k,)) if k in base else _mark(v, source, prov, path + (k,))
        return out
    item_model = named_item_model(path) if isinstance(base, list) else None
    if item_model is not None and isinstance(patch, dict):
        return _patch_items_by_mapping(base, patch, source, prov, path)
    if item_model is not None and isinstance(patch, list) and all(isinstance(x, dict) for x in patch):
        return _patch_items_by_list(base, patch, item_model, source, prov, path)
    return _mark(patch, source, prov, path)


def _item_names(items: list[Any]) -> dict[str, int]:
    return {x["name"]: i for i, x in enumerate(items) if isinstance(x, dict) and isinstance(x.get("name"), str)}


def _did_you_mean(name: Any, known: list[str]) -> str:
    close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.5)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; known: {', '.join(known)}" if known else "; there are none"


def _patch_items_by_mapping(base: list[Any], patch: dict[str, Any], source: str,
                            prov: dict[Path_t, str], path: Path_t) -> list[Any]:
    out = [copy.deepcopy(x) for x in base]
    index = _item_names(out)
    for name, item_patch in patch.items():
        key = ".".join(map(str, path + (name,)))
        if name not in index:
            raise ConfigError(
                source, key,
                f"no item named {name!r} to patch{_did_you_mean(name, list(index))} "
                "(to add an item, write the list form with all its required fields; see docs/guide.md)",
            )
        if not isinstance(item_patch, dict):
            raise ConfigError(source, key, "a patch by name must be a mapping")
        if "name" in item_patch and item_patch["name"] != name:
            raise ConfigError(source, key + ".name", f"renames the item to {item_patch['name']!r}; "
                              "to rename, restate the whole list")
        i = index[name]
        out[i] = merge(out[i], item_patch, source, prov, path + (i,))
    return out


def _patch_items_by_list(base: list[Any], patch: list[dict[str, Any]], item_model: type[BaseModel],
                         source: str, prov: dict[Path_t, str], path: Path_t) -> list[Any]:
    index = _item_names(base)
    required = ADD_REQUIRED.get(item_model.__name__, ("name",))
    out: list[Any] = []
    _record(prov, path, source)  # the list itself (which items, in which order) is this source's
    for j, item in enumerate(patch):
        name = item.get("name")
        where = ".".join(map(str, path + (name if isinstance(name, str) else j,)))
        if name in index:
            out.append(merge(base[index[name]], item, source, prov, path + (j,)))
            continue
        missing = [f for f in required if f not in item]
        if missing:
            hint = _did_you_mean(name, list(index)) if index else ""
            raise ConfigError(
                source, where,
                f"new item {name!r} must state {', '.join(missing)} (a list item the parent does not "
                f"have is added in full){hint}",
            )
        out.append(_mark(item, source, prov, path + (j,)))
    return out


def _mark(value: Any, source: str, prov: dict[Path_t, str], path: Path_t) -> Any:
    _record(prov, path, source)
    return copy.deepcopy(value)


def _record(prov: dict[Path_t, str], path: Path_t, source: str) -> None:
    """Note who set ``path``; ``prov`` keeps paths in the order they were last set."""
    prov.pop(path, None)
    prov[path] = source


def load_chain(path: Path, prov: dict[Path_t, str], stack: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a scenario file and its ``extends`` ancestors, merged root-first."""
    real = path.resolve()
    if real in stack:
        cycle = " -> ".join(p.stem for p in stack + (real,))
        raise ConfigError(str(path), "extends", f"cycle in extends: {cycle}")
    if len(stack) >= MAX_EXTENDS_DEPTH:
        raise ConfigError(str(path), "extends", f"extends chain is deeper than {MAX_EXTENDS_DEPTH}")
    raw = read_yaml_file(path)
    if raw is None:
        raise ConfigError(str(path), "", "file is empty; a scenario needs at least a name and a description")
    if not isinstance(raw, dict):
        raise ConfigError(str(path), "", f"a scenario must be a mapping of keys, not a {type(raw).__name__}")
    for k in raw:
        if not isinstance(k, str):
            raise ConfigError(str(path), str(k), "keys must be strings")
    parent = raw.get("extends")
    # The schema defaults are the parent of a scenario without extends, so the same merge
    # rules hold at the root (a patch by name there patches a default item).
    base: dict[str, Any] = _defaults_as_data()
    if parent is not None:
        if not isinstance(parent, str):
            raise ConfigError(str(path), "extends", "must be a scenario name or a .yaml path")
        try:
            parent_path = resolve_ref(parent, path.parent, str(path))
        except OSError as exc:  # e.g. a name longer than the file system allows
            raise ConfigError(str(path), "extends", f"cannot read {parent!r} ({exc.strerror or exc})") from None
        base = load_chain(parent_path, prov, stack + (real,))
    return merge(base, raw, str(path), prov)


# --------------------------------------------------------------------------------------
# --set overrides


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``a.b.c=value`` into a key path and a strictly parsed value."""
    if "=" not in text:
        raise ConfigError("--set", text, "expected KEY=VALUE, e.g. --set population.scale=100")
    key, _, value = text.partition("=")
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError("--set", key or text, "empty key")
    return key.split("."), parse_override_value(value, f"--set {key}")


def apply_override(data: dict[str, Any], text: str, prov: dict[Path_t, str]) -> dict[str, Any]:
    """Patch one ``--set KEY=VALUE`` into the merged data, by the same rules as a file.

    Named list items are addressed by name (or index); a mapping or list value is merged
    onto the value it replaces with :func:`merge` (so ``offers.x={publicity: 0.05}``
    patches offer ``x`` field by field).

    Raises:
        ConfigError: source ``--set``: bad syntax, an unknown item (with a did-you-mean),
            or a key under a plain value.
    """
    keys, value = parse_override(text)
    data = copy.deepcopy(data)
    node: Any = data
    path: Path_t = ()
    for i, k in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(node, list):
            idx = _list_index(node, k)
            if idx is None:
                names = [str(x.get("name")) for x in node if isinstance(x, dict)]
                raise ConfigError("--set", ".".join(keys[: i + 1]), f"no item named {k!r}{_did_you_mean(k, names)}")
            path += (idx,)
            if last:
                node[idx] = merge(node[idx], value, "--set", prov, path)
            else:
                node = node[idx]
            continue
        if not isinstance(node, dict):
            raise ConfigError("--set", ".".join(keys[:i]), "is a value, not a section")
        path += (k,)
        if last:
            node[k] = merge(node[k], value, "--set", prov, path) if k in node else _mark(value, "--set", prov, path)
        else:
            node = node.setdefault(k, {})
    _record(prov, path, "--set")
    return data


def _list_index(items: list[Any], key: str) -> int | None:
    if key.isdigit() and int(key) < len(items):
        return int(key)
    for j, x in enumerate(items):
        if isinstance(x, dict) and x.get("name") == key:
            return j
    return None


# --------------------------------------------------------------------------------------
# validation


def _defaults_as_data() -> dict[str, Any]:
    return Scenario().model_dump(mode="json")


def validate(data: dict[str, Any], prov: dict[Path_t, str], fallback_source: str) -> Scenario:
    """Validate merged data against the schema; map the first error to file and key."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc: Path_t = tuple(err["loc"])
        message = _message(err, loc)
        related: tuple[Path_t, ...] = ()
        if not loc:
            # Scenario-wide checks say which section they are about: "regions: ..."
            section, sep, rest = message.partition(": ")
            if sep and section in Scenario.model_fields:
                loc, message = (section,), rest
                related = tuple((s,) for s in CROSS_REFERENCES.get(section, ()))
        source = _blame(loc, prov, fallback_source, related)
        key = _pretty_loc(loc, data)
        raise ConfigError(source, key or "<root>", message) from None


# A scenario-wide check on one section also reads these sections (schema._cross_references):
# "exits: x leads to unknown host" can be caused by renaming a host.
CROSS_REFERENCES: dict[str, tuple[str, ...]] = {
    "exits": ("hosts",),
    "regions": ("exits",),
    "offers": ("hosts",),
}


def _blame(loc: Path_t, prov: dict[Path_t, str], fallback: str, related: tuple[Path_t, ...] = ()) -> str:
    """The source that last set ``loc`` or anything inside it, else its nearest ancestor's.

    A check on a whole item (``reopen_day`` needs ``closed_from_day``) fails at the item;
    the culprit is whoever last changed a value inside it, e.g. a ``--set``. ``related``
    sections count too (a cross-reference check fails where the reference is, but the
    culprit may have renamed its target).
    """
    scopes = (loc, *related)
    inside = [src for path, src in prov.items() if any(path[: len(sc)] == sc for sc in scopes)]
    if inside:
        return inside[-1]
    for n in range(len(loc) - 1, -1, -1):
        if loc[:n] in prov:
            return prov[loc[:n]]
    return fallback


def _pretty_loc(loc: Path_t, data: Any) -> str:
    parts: list[str] = []
    node = data
    for k in loc:
        if isinstance(k, int) and isinstance(node, list):
            item = node[k] if k < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            parts.append(str(name) if isinstance(name, str) else str(k))
            node = item
        else:
            # pydantic appends validator-internal tags (e.g. a Literal's choices); skip them
            if isinstance(node, dict) and k not in node and parts and not isinstance(k, int):
                if str(k).startswith(("function-", "literal", "tuple", "list", "dict")):
                    continue
            parts.append(str(k))
            node = node.get(k) if isinstance(node, dict) else None
    return ".".join(parts)


def _message(err: dict[str, Any], loc: Path_t) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        return "unknown key" + (f"; did you mean {hint[0]!r}?" if hint else f"; allowed: {', '.join(allowed)}")
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    inp = err.get("input")
    if kind not in ("missing",) and not isinstance(inp, (dict, list)):
        msg += f" (got {inp!r})"
    return msg.replace("\n", " ")


def _allowed_keys(loc: Path_t) -> list[str]:
    model: type[BaseModel] | None = Scenario
    for k in loc:
        if model is None:
            return []
        if isinstance(k, int):
            continue
        info = model.model_fields.get(str(k))
        if info is None:
            return []
        model = _model_in(info.annotation)
        if model is not None and _is_list(info.annotation):
            continue
    return sorted(model.model_fields) if model else []


def load_scenario(ref: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Load a named scenario or file, with ``--set`` overrides, into a validated Scenario.

    Args:
        ref: A scenario name (looked up in :func:`scenario_dirs`) or a path to a YAML file.
        overrides: ``key.path=value`` strings applied after merging, before validation.

    Raises:
        ConfigError: naming the file, key path and problem.
    """
    try:
        return _load(ref, overrides)
    except ConfigError as exc:
        raise one_line_error(exc) from None


def _load(ref: str | Path, overrides: list[str] | tuple[str, ...]) -> Scenario:
    try:
        path = ref if isinstance(ref, Path) else resolve_ref(str(ref))
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise ConfigError(str(ref), "", f"cannot read file ({exc.strerror or exc})") from None
    prov: dict[Path_t, str] = {}
    data = load_chain(path, prov)
    data.pop("extends", None)
    for text in overrides:
        data = apply_override(data, text, prov)
    return validate(data, prov, str(path))
