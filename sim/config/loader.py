"""Scenario loading: find a scenario, follow ``extends``, apply ``--set``, validate once.

Finding a scenario is :mod:`sim.config.files`; the merge rules are :mod:`sim.config.merge`
(documented in docs/guide.md, section 5; see :func:`sim.config.merge.merge`):
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

import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from sim.config.files import other_kind, resolve_ref
from sim.config.merge import Path_t, _item_names, apply_override, merge, named_item_model
from sim.config.schema import Scenario, _is_list, _model_in
from sim.config.yaml_safe import one_line_error, read_yaml_file
from sim.errors import ConfigError

if TYPE_CHECKING:
    from sim.config.posterior import Posterior

MAX_EXTENDS_DEPTH = 20


# --------------------------------------------------------------------------------------
# reading a file and its extends chain


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
    kind = other_kind(raw)
    if kind:  # its own keys would each be "unknown"
        raise ConfigError(str(path), "", f"{kind}, not a scenario (asylumsim explore runs a design; "
                          "asylumsim calibrate --priors reads priors)")
    for k in raw:
        if not isinstance(k, str):
            raise ConfigError(str(path), str(k), "keys must be strings")
        if k not in Scenario.model_fields:  # before merging: a mistyped 'extends' would show as a failed patch
            raise ConfigError(str(path), k, _message({"type": "extra_forbidden"}, (k,)))
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
        if "extends" in data:  # it would be recorded, never applied (the chain is merged above)
            raise ConfigError("--set", "extends", "a scenario's parent is named in its file (extends:), not with --set")
    return _resolve_posterior(validate(data, prov, str(path)), prov, str(path))


def _resolve_posterior(s: Scenario, prov: dict[Path_t, str], fallback: str) -> Scenario:
    """Make ``uncertainty.posterior`` absolute (relative to the file that set it) and check the file.

    ``package:NAME`` stays as written; a path given with ``--set`` is relative to the
    working directory.

    Raises:
        ConfigError: naming the posterior file and the problem (see
            :func:`sim.config.posterior.load_posterior`).
    """
    from sim.config import posterior

    ref = s.uncertainty.posterior
    if ref is None:
        return s
    source = _blame(("uncertainty", "posterior"), prov, fallback)
    base = Path.cwd() if source == "--set" else Path(source).parent
    resolved = posterior.resolve_ref(ref, base)
    posterior.load_posterior(resolved)
    return s.model_copy(update={"uncertainty": s.uncertainty.model_copy(update={"posterior": resolved})})


def absent_item_columns(scenario: Scenario | dict[str, Any], columns: list[str] | tuple[str, ...]) -> list[str]:
    """Posterior columns that address an item of a named list the scenario does not have.

    ``offers.ukraine_amnesty.publicity`` in a scenario without the offer ``ukraine_amnesty``
    (``no_offers``): the parameter does not exist there and has no effect, so the particle
    skips it (:func:`apply_particle`). Named lists are those of
    :func:`sim.config.merge.named_item_model`, at any depth (``kremlin.replacement.sources``).

    Args:
        scenario: The scenario, or its ``model_dump(mode="json")``.
        columns: Dotted parameter paths.
    """
    data = scenario if isinstance(scenario, dict) else scenario.model_dump(mode="json")
    out = []
    for col in columns:
        keys, node = col.split("."), data
        for i, k in enumerate(keys[:-1]):
            if not isinstance(node, dict):
                break
            if named_item_model(tuple(keys[: i + 1])) is not None and isinstance(node.get(k), list):
                if keys[i + 1] not in _item_names(node[k]):
                    out.append(col)
                break
            node = node.get(k)
    return out


def with_values(scenario: Scenario, values: dict[str, Any], source: str = "--set") -> Scenario:
    """``scenario`` with each ``path -> value`` set, merged and validated as ``--set`` would
    set them on the file it came from (the same values as loading it with those overrides).

    Raises:
        ConfigError: a path the scenario does not have, or a value it cannot take.
    """
    data = scenario.model_dump(mode="json")
    prov: dict[Any, str] = {}
    for path, value in values.items():
        data = apply_override(data, f"{path}={value!r}", prov)
    return validate(data, prov, source)


def apply_particle(scenario: Scenario, posterior: Posterior, particle: int) -> Scenario:
    """``scenario`` with the particle's values set, merged and validated like ``--set``.

    A column that addresses an item of a named list the scenario does not have (an offer it
    removed) is skipped (:func:`absent_item_columns`); the ensemble checks that every column
    is taken by at least one of its scenarios.

    Raises:
        ConfigError: source = the posterior file, key = the column a scenario cannot
            take (a value out of bounds, a path that does not exist), naming the particle and the scenario.
    """
    from sim.config.posterior import ref_path

    source = str(ref_path(posterior.ref))
    data = scenario.model_dump(mode="json")
    prov: dict[Any, str] = {}
    row = posterior.row(particle)
    skip = set(absent_item_columns(data, list(row)))
    for col, value in row.items():
        if col in skip:
            continue
        try:
            data = apply_override(data, f"{col}={value!r}", prov)
        except ConfigError as exc:
            raise ConfigError(source, f"column {col}", f"particle {particle}: scenario {scenario.name!r} cannot take it: "
                              f"{exc.key}: {exc.problem}") from None
    try:
        return validate(data, prov, source)
    except ConfigError as exc:
        raise ConfigError(source, f"column {exc.key}", f"particle {particle} in scenario {scenario.name!r}: "
                          f"{exc.problem}") from None


def dumped_value(data: Any, path: str) -> Any:
    """The value at a dotted path of dumped scenario data, items of named lists by name
    (``offers.ukraine_amnesty.publicity``).

    Raises:
        KeyError: the path does not exist in ``data``.
    """
    node = data
    for part in path.split("."):
        if isinstance(node, list):
            node = next((x for x in node if isinstance(x, dict) and x.get("name") == part), None)
            if node is None:
                raise KeyError(part)
        else:
            node = node[part]
    return node


def values_at(obj: Any, path: str) -> list[tuple[str, Any]]:
    """The values a parameter path takes in a validated scenario.

    Args:
        obj: A :class:`~sim.config.schema.Scenario` (or any sub-model).
        path: A parameter path; ``[]`` fans out over list items.

    Returns:
        ``(label, value)`` pairs: one with an empty label for a plain path, one per list item
        (labelled by item name, or index) for a ``[]`` path; empty when a list has no items.
    """
    items: list[tuple[str, Any]] = [("", obj)]
    for part in path.split("."):
        fan = part.endswith("[]")
        key = part[:-2] if fan else part
        nxt: list[tuple[str, Any]] = []
        for label, o in items:
            v = getattr(o, key)
            if fan:
                for i, item in enumerate(v):
                    name = getattr(item, "name", None) or str(i)
                    nxt.append((f"{label}/{name}" if label else name, item))
            else:
                nxt.append((label, v))
        items = nxt
    return items
