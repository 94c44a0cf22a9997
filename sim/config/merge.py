"""The merge rules: a scenario file, or a ``--set``, patched onto its parent's data.

Mappings merge key by key; scalars and plain lists replace; lists of named items are
patched item by item by ``name`` (only the list form can add an item, and only in full:
:data:`ADD_REQUIRED`). Every value set is recorded with its source in ``prov``, so a
validation error can name the file that set the bad value. Documented in docs/guide.md,
section 5.
"""

from __future__ import annotations

import copy
import difflib
from typing import Any

from pydantic import BaseModel

from sim.config.schema import Scenario, _is_list, _model_in
from sim.config.yaml_safe import parse_override_value
from sim.errors import ConfigError

Path_t = tuple[str | int, ...]
"""A key path into scenario data: mapping keys and list indices."""


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
    if isinstance(base, (dict, list)):
        # ``patch`` replaces the whole value: who set its old parts no longer counts
        n = len(path)
        for p in [p for p in prov if len(p) > n and p[:n] == path]:
            del prov[p]
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
    # Items move to the list's positions: so must who set their values, or a new item at a
    # kept index would be blamed on whoever set the old item there (a parent file).
    moves = {index[x["name"]]: j for j, x in enumerate(patch)
             if isinstance(x, dict) and isinstance(x.get("name"), str) and x["name"] in index}
    _reindex(prov, path, moves)
    _record(prov, path, source)  # the list itself (which items, in which order) is this source's
    for j, item in enumerate(patch):
        name = item.get("name")
        where = ".".join(map(str, path + (name if isinstance(name, str) else j,)))
        if isinstance(name, str) and name in index:
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


def _reindex(prov: dict[Path_t, str], path: Path_t, moves: dict[int, int]) -> None:
    """Move the provenance of the items of the list at ``path`` from old to new indices.

    Entries of items not kept are dropped; the order of ``prov`` (last set last) is kept.
    """
    n = len(path)
    entries = list(prov.items())
    prov.clear()
    for p, src in entries:
        if len(p) > n and p[:n] == path and isinstance(p[n], int):
            if p[n] not in moves:
                continue
            p = path + (moves[p[n]],) + p[n + 1:]
        prov[p] = src


def _mark(value: Any, source: str, prov: dict[Path_t, str], path: Path_t) -> Any:
    _record(prov, path, source)
    return copy.deepcopy(value)


def _record(prov: dict[Path_t, str], path: Path_t, source: str) -> None:
    """Note who set ``path``; ``prov`` keeps paths in the order they were last set."""
    prov.pop(path, None)
    prov[path] = source


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
                names = [x["name"] for x in node if isinstance(x, dict) and isinstance(x.get("name"), str)]
                if not names:  # a list without names (mobilization.waves): items by index only
                    raise ConfigError("--set", ".".join(keys[: i + 1]), f"no item {k!r}: the list has {len(node)} "
                                      f"item(s), by index 0 to {len(node) - 1}" if node else f"no item {k!r}: the list is empty")
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
