"""The claims registry: every claim of CLAIMS.md -> source -> parameters -> mechanism -> outcomes.

Each :class:`Claim` names the schema parameters (dotted paths as yielded by
:func:`sim.config.schema.iter_fields`; list items as ``path[].field``) that let a user turn
the claim up, down or off in YAML, the module that uses them, and the daily outcome
columns where its effect shows. ``asylumsim claims`` prints this table and
``docs/claims.md`` is generated from it; tests check it against ``CLAIMS.md`` (the copy in
``sim/data/``) and the schema.

The registry itself is data: ``sim/data/claims.yaml`` (shipped in the package), read once at
import by :func:`load_claims`. This module imports only the schema (pydantic) and the YAML
reader, so the CLI stays fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo

from sim.config.schema import Scenario, iter_fields
from sim.errors import ConfigError
from sim.outcomes import claim_columns

DATA = Path(__file__).resolve().parent / "data"
"""The package's data folder (``sim/data``), shipped in the wheel."""

CLAIMS_MD = DATA / "CLAIMS.md"
"""The claims table the registry implements: a verbatim copy of the project brief's
``CLAIMS.md`` (``/work/shared/CLAIMS.md``), shipped in the package so that tests and
``asylumsim claims`` need nothing outside the repository."""

MECHANISMS: tuple[str, ...] = (
    *(f"sim.submodels.{n}" for n in ("mobilization", "flight", "routes", "borders", "pipeline", "front",
                                      "defection", "protest", "security")),
    "sim.actors.kremlin",
    "sim.actors.hosts",
    "sim.actors.offer_maker",
    "sim.world",
    "sim.geography",
    "sim.population",
    "sim.soldiers",
    "sim.accounts",
    "sim.observed",
    "sim.outcomes",
    "sim.simulate",
)
"""Modules that read a claim's parameters: the submodels, the institutions, the world."""

OUTCOME_COLUMNS: tuple[str, ...] = claim_columns()
"""Daily outcome columns, from :data:`sim.outcomes.OUTPUTS`; ``<host>``, ``<exit>``, ``<source>``, ``<offer>`` stand for names and
``<origin>`` for ``initial``, ``mobilized`` or a replacement source."""


@dataclass(frozen=True)
class Claim:
    """One row of CLAIMS.md as the code implements it.

    Attributes:
        id: Claim id (``F1``, ``D9``, ...).
        text: The claim, verbatim from CLAIMS.md.
        sources: Source ids as in CLAIMS.md (``"004 (Caplan)"``, ``"000 comments"``), in order.
        parameters: Schema paths that encode the claim.
        mechanisms: The modules that read the parameters (each one of :data:`MECHANISMS`),
            the main one first; ``mechanism`` is them joined for display.
        outcomes: Daily outcome columns that show the effect (from :data:`OUTCOME_COLUMNS`).
        becomes: What the claim becomes in the model, verbatim from CLAIMS.md.
    """

    id: str
    text: str
    sources: tuple[str, ...]
    parameters: tuple[str, ...]
    mechanisms: tuple[str, ...]
    outcomes: tuple[str, ...]
    becomes: str = ""

    @property
    def mechanism(self) -> str:
        """The mechanism modules joined for display."""
        return ", ".join(self.mechanisms)

    @property
    def source(self) -> str:
        """The sources joined for display."""
        return ", ".join(self.sources)

    @property
    def short_text(self) -> str:
        """The first sentence of the claim, cut at a word boundary to about 100 characters."""
        first = re.split(r"(?<=\.)\s", self.text, maxsplit=1)[0]
        if len(first) <= 100:
            return first
        return first[:100].rsplit(" ", 1)[0].rstrip(",;:(") + " …"


CLAIM_KEYS: tuple[str, ...] = ("id", "text", "sources", "parameters", "mechanism", "outcomes", "becomes")
"""The keys of one claim in ``claims.yaml`` (all required)."""


def _str_list(value: Any, source: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(source, key, "must be a list of non-empty strings")
    return tuple(value)


def load_claims(path: Path | str | None = None) -> tuple[Claim, ...]:
    """Read the claims registry from its YAML file.

    Args:
        path: A claims file; default: ``claims.yaml`` shipped in the package (``sim/data/``).

    Returns:
        Every claim, in file order (which is CLAIMS.md's order).

    Raises:
        ConfigError: The file cannot be read or parsed, a claim lacks a key, has an unknown
            one or a value of the wrong type, or an id repeats; the message names the file,
            the key (``claims[3].sources``) and the problem.
    """
    from sim.config.yaml_safe import read_yaml_file

    if path is None:
        with resources.as_file(resources.files("sim") / "data" / "claims.yaml") as shipped:
            return load_claims(shipped)
    source = str(path)
    data = read_yaml_file(Path(path))
    if not isinstance(data, dict) or set(data) != {"claims"} or not isinstance(data["claims"], list):
        raise ConfigError(source, "", "expected one top-level key 'claims' holding a list of claims")
    claims: list[Claim] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["claims"]):
        where = f"claims[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(source, where, "a claim must be a mapping")
        missing = [k for k in CLAIM_KEYS if k not in raw]
        unknown = sorted(set(raw) - set(CLAIM_KEYS))
        if missing or unknown:
            problem = f"missing key {missing[0]!r}" if missing else f"unknown key {unknown[0]!r}"
            raise ConfigError(source, where, f"{problem} (a claim has {', '.join(CLAIM_KEYS)})")
        for k in ("id", "text", "becomes"):
            if not isinstance(raw[k], str) or not raw[k].strip():
                raise ConfigError(source, f"{where}.{k}", "must be a non-empty string")
        if not re.fullmatch(r"[A-Z]\d+", raw["id"]):
            raise ConfigError(source, f"{where}.id", f"{raw['id']!r} is not a claim id like F1 or D19")
        if raw["id"] in seen:
            raise ConfigError(source, f"{where}.id", f"claim {raw['id']} is listed twice")
        seen.add(raw["id"])
        claims.append(Claim(
            id=raw["id"], text=raw["text"], sources=_str_list(raw["sources"], source, f"{where}.sources"),
            parameters=_str_list(raw["parameters"], source, f"{where}.parameters"),
            mechanisms=_mechanisms(raw["mechanism"], source, f"{where}.mechanism"),
            outcomes=_str_list(raw["outcomes"], source, f"{where}.outcomes"), becomes=raw["becomes"],
        ))
    return tuple(claims)


def _mechanisms(value: object, source: str, where: str) -> tuple[str, ...]:
    """A claim's ``mechanism``: one module name, or a non-empty list of them."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(m, str) and m.strip() for m in items):
        raise ConfigError(source, where, "must be a module name or a non-empty list of module names")
    return tuple(items)


CLAIMS: tuple[Claim, ...] = load_claims()
"""Every claim of CLAIMS.md, in its order (from ``sim/data/claims.yaml``)."""


def claims_by_id() -> dict[str, Claim]:
    """The registry keyed by claim id, in CLAIMS.md order."""
    return {c.id: c for c in CLAIMS}


def split_sources(cell: str) -> tuple[str, ...]:
    """Split a CLAIMS.md source cell (``"002; 000 comments"``) into source ids."""
    return tuple(s.strip() for s in re.split(r"[,;]", cell) if s.strip())


_ROW = re.compile(r"^\|\s*([A-Z]\d+)\s*\|(.*)\|\s*$")


def parse_claims_table(path: Path | str = CLAIMS_MD) -> list[dict[str, str]]:
    """Read every claim row of CLAIMS.md's markdown tables.

    Args:
        path: The CLAIMS.md file.

    Returns:
        One dict per row with keys ``id``, ``claim``, ``source`` and ``becomes``, in file order.
    """
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        m = _ROW.match(line.strip())
        if not m:
            continue
        cells = [c.strip() for c in m.group(2).split("|")]
        if len(cells) != 3:
            raise ValueError(f"{path}: claim row {m.group(1)} has {len(cells) + 1} cells, expected 4")
        rows.append({"id": m.group(1), "claim": cells[0], "source": cells[1], "becomes": cells[2]})
    return rows


def parse_claims_md(path: Path | str = CLAIMS_MD) -> list[tuple[str, str]]:
    """Read (claim id, source cell) pairs from CLAIMS.md, in file order."""
    return [(r["id"], r["source"]) for r in parse_claims_table(path)]


@cache
def _schema_fields() -> dict[str, tuple[FieldInfo, Any]]:
    return {path: (info, ann) for path, info, ann in iter_fields(Scenario)}


def schema_paths() -> tuple[str, ...]:
    """Every parameter path of the scenario schema, in schema order."""
    return tuple(_schema_fields())


def resolve_parameter(path: str) -> FieldInfo:
    """The schema field behind a parameter path.

    Args:
        path: A dotted path as yielded by ``iter_fields`` (``offers[].payment_usd``).

    Raises:
        KeyError: If the schema has no such parameter.
    """
    try:
        return _schema_fields()[path][0]
    except KeyError:
        raise KeyError(f"no parameter {path!r} in the scenario schema") from None


def parameter_annotation(path: str) -> Any:
    """The type annotation of a parameter path (raises KeyError like :func:`resolve_parameter`)."""
    resolve_parameter(path)
    return _schema_fields()[path][1]


def format_value(value: Any, limit: int = 60) -> str:
    """A short, readable rendering of a parameter value."""
    if isinstance(value, list) and value and hasattr(value[0], "model_dump"):
        names = [getattr(v, "name", None) for v in value]
        text = f"{len(value)} items" + (f": {', '.join(names)}" if all(names) else "")
    elif hasattr(value, "model_dump"):
        text = repr(value.model_dump())
    elif isinstance(value, float) and abs(value) >= 1e6 and float(f"{value:g}") == value:
        text = f"{value:g}".replace("e+0", "e").replace("e+", "e")
    else:
        text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
