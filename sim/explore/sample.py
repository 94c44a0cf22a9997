"""The sample of an experiment: which factors vary, the unit sample (SALib), and its values.

A *factor* is one uncertain input: a parameter path in ``--set`` syntax (item names or
``*`` in lists: ``offers.caplan_v2.credibility.base``,
``kremlin.replacement.sources.*.elasticity``), its distribution, and the claim it is
reported under. Claims expand to the parameters of the registry (``sim/data/claims.yaml``)
that declare a plausible range in the schema; a ``[]`` list item is bound by the design's
``items`` (``{offers: caplan_v2}``) or, for a ``factor`` range, to every item (``*``).

Sampling is SALib's on the unit hypercube ``[0, 1)^k`` (Morris trajectories, Saltelli's
scheme on a scrambled Sobol' sequence); :func:`to_value` maps each unit value to the
factor's distribution: uniform, log-uniform, a log-uniform *factor* on the scenario's own
value (clipped to the validation bounds), a discrete choice ``values[floor(u * n)]``, or a
particle of the scenarios' posterior (``posterior: true``, :mod:`sim.explore.posterior`).
``NaN`` means "the scenario's own value" (one-at-a-time designs).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.config.posterior import run_setting
from sim.config.schema import Scenario, _is_list, _model_in, field_bounds, plausible_of
from sim.errors import ConfigError
from sim.explore.design import near_parameter

if TYPE_CHECKING:
    import pandas as pd

    from sim.config.posterior import Posterior
    from sim.explore.design import Design


@dataclass(frozen=True)
class Factor:
    """One uncertain input of an experiment.

    Attributes:
        name: The parameter path in ``--set`` syntax (the column name in the tables).
        schema_path: The same path in schema notation (``offers[].credibility.base``).
        group: The claim id it is reported under (or the path, if no claim lists it).
        dist: ``uniform``, ``loguniform``, ``factor``, ``choice`` or ``particle`` (the
            posterior's calibrated parameters, jointly: :mod:`sim.explore.posterior`).
        lo, hi: The range (for ``factor``: of the multiplier).
        values: The choices of a ``choice`` factor.
        integer: Round sampled values (integer parameters).
        bounds: The validation bounds ``(low, high)`` a ``factor`` result is clipped to.
        source: Where the range comes from (the schema's plausible source, ``design``, or
            the posterior file).
        posterior: The posterior a ``particle`` factor draws from.
        picks: A ``particle`` factor's particle at each point of the sample, once drawn
            (:func:`sim.explore.posterior.with_picks`).
    """

    name: str
    schema_path: str
    group: str
    dist: str
    lo: float | None = None
    hi: float | None = None
    values: tuple[Any, ...] | None = None
    integer: bool = False
    bounds: tuple[float, float] = (-math.inf, math.inf)
    source: str = "design"
    posterior: Posterior | None = field(default=None, compare=False, repr=False)
    picks: tuple[int, ...] | None = field(default=None, compare=False, repr=False)

    def describe(self) -> str:
        """The range as the tables print it."""
        if self.dist == "particle":
            assert self.posterior is not None
            return (f"one of {self.posterior.particles} particles (by weight) setting "
                    f"{len(self.posterior.columns)} calibrated parameters together")
        if self.dist == "choice":
            return "one of " + ", ".join(map(str, self.values or ()))
        prefix = {"uniform": "", "loguniform": "log-uniform ", "factor": "x"}[self.dist]
        return f"{prefix}[{self.lo:g}, {self.hi:g}]"


def schema_path(path: str) -> str:
    """``offers.caplan_v2.credibility.base`` -> ``offers[].credibility.base`` (item names and ``*`` become ``[]``).

    Raises:
        KeyError: no such parameter in the schema.
    """
    model: Any = Scenario
    out: list[str] = []
    parts = path.split(".")
    i = 0
    while i < len(parts):
        info = model.model_fields.get(parts[i]) if model is not None else None
        if info is None:
            raise KeyError(path)
        sub = _model_in(info.annotation)
        if _is_list(info.annotation) and sub is not None:
            out.append(parts[i] + "[]")
            i += 2  # skip the item name
        else:
            out.append(parts[i])
            i += 1
        model = sub
    return ".".join(out)


def _factor(name: str, group: str, spec: dict[str, Any] | None, source: str) -> Factor:
    from sim.claims import parameter_annotation, resolve_parameter

    sp = schema_path(name)
    info = resolve_parameter(sp)
    default = info.get_default(call_default_factory=True)
    b = field_bounds(info, parameter_annotation(sp))
    bounds = (b.get("ge", b.get("gt", -math.inf)), b.get("le", b.get("lt", math.inf)))
    if spec is None:
        raise KeyError(name)
    integer = isinstance(default, int) and not isinstance(default, bool)
    if spec["dist"] == "choice":
        return Factor(name, sp, group, "choice", values=tuple(spec["values"]), source=source)
    return Factor(name, sp, group, spec["dist"], float(spec["lo"]), float(spec["hi"]), integer=integer,
                  bounds=bounds, source=source)


def expand(design: Design, source: str, posterior: Posterior | None = None) -> tuple[list[Factor], list[str]]:
    """The factors of a design: its claims' parameters, then its explicit parameters, then
    (``posterior``) the particle of the posterior.

    Args:
        design: The experiment.
        source: The experiment file, for errors.
        posterior: With ``posterior: true``, the scenarios' posterior: its columns leave the
            claims' factors (a note each) and one ``particle`` factor sets them together.

    Returns:
        The factors (distinct names, in order) and notes on claim parameters left out
        (no plausible range: a fact, a policy lever or a structure; an unbound list; or
        drawn from the posterior).

    Raises:
        ConfigError: an unknown claim or path, a path without a plausible range, a
            parameter of the posterior named under ``parameters:`` with ``posterior: true``.
    """
    from sim.claims import claims_by_id, resolve_parameter
    from sim.explore import posterior as ep

    columns = posterior.columns if posterior is not None else ()

    registry = claims_by_id()
    factors: dict[str, Factor] = {}
    notes: list[str] = []
    first_claim: dict[str, str] = {}
    for cid in design.claims:
        if cid not in registry:
            raise ConfigError(source, "claims", f"unknown claim {cid!r} (see: asylumsim claims)")
        for p in registry[cid].parameters:
            first_claim.setdefault(p, cid)
    for cid in design.claims:
        for p in registry[cid].parameters:
            if first_claim[p] != cid or p in design.exclude:
                continue
            spec = plausible_of(resolve_parameter(p))
            if spec is None:
                notes.append(f"{cid}: {p} has no plausible range (a fact, lever or structure): not varied")
                continue
            star = {k: "*" for k in _lists(p)} if spec["dist"] == "factor" else {}
            items = {**star, **design.items}
            names = _bind(p, items)
            if names is None:
                notes.append(f"{cid}: {p} names a list item; bind it with items: (e.g. items: {{offers: NAME}})")
                continue
            for n in names:
                if ep.calibrated(n, columns):
                    notes.append(f"{cid}: {n} is calibrated: drawn with the posterior's particle (posterior: true), "
                                 "not from its range")
                    continue
                factors.setdefault(n, _factor(n, cid, spec, spec["source"]))
    for i, ps in enumerate(design.parameters):
        key = f"parameters[{i}]"
        setting = run_setting(ps.path)
        if setting:  # run.days in [5, 20] was ignored (every point ran the design's days); a scale's noise read as an effect
            raise ConfigError(source, f"{key}.path", f"{ps.path}: a setting of the run ({setting}), not a model "
                              "parameter, so an experiment does not vary it (the design's days, replications and seed; "
                              "set: for the rest)")
        try:
            sp = schema_path(ps.path)
            info = resolve_parameter(sp)
        except KeyError:
            raise ConfigError(source, f"{key}.path", f"no parameter {ps.path!r} in the scenario schema"
                              f"{near_parameter(ps.path)}") from None
        if posterior is not None:
            ep.refuse_explicit(ps.path, ps.claim, columns, source, key)
        group = ps.claim or _claim_of(sp, design.claims, registry) or ps.path
        if ps.values is not None:
            spec, src = {"dist": "choice", "values": ps.values}, "design"
        elif ps.range == "plausible":
            spec = plausible_of(info)
            if spec is None:
                raise ConfigError(source, f"{key}.range", f"{sp} has no plausible range in the schema; give range: [lo, hi]")
            src = spec["source"]
        else:
            spec, src = {"dist": ps.dist or "uniform", "lo": ps.range[0], "hi": ps.range[1]}, "design"
        factors[ps.path] = _factor(ps.path, group, spec, src)
    if posterior is not None:
        factors[ep.PARTICLE] = Factor(ep.PARTICLE, ep.PARTICLE, ep.GROUP, "particle", integer=True,
                                      source=f"{posterior.ref} (sha256 {posterior.sha256[:12]})", posterior=posterior)
    if not factors:
        raise ConfigError(source, "claims", "no parameter to vary: " + "; ".join(notes[:3]))
    return list(factors.values()), notes


def _lists(path: str) -> list[str]:
    """The list prefixes of a schema path: ``kremlin.replacement.sources[].x`` -> ``["kremlin.replacement.sources"]``."""
    out, prefix = [], []
    for part in path.split("."):
        if part.endswith("[]"):
            out.append(".".join(prefix + [part[:-2]]))
        prefix.append(part.removesuffix("[]"))
    return out


def _bind(path: str, items: dict[str, str | list[str]]) -> list[str] | None:
    """Concrete ``--set`` paths of a schema path, with each list bound by ``items`` (or ``None``)."""
    outs, prefix = [""], []
    for part in path.split("."):
        key = part.removesuffix("[]")
        prefix.append(key)
        outs = [f"{o}.{key}" if o else key for o in outs]
        if part.endswith("[]"):
            bound = items.get(".".join(prefix))
            if bound is None:
                return None
            names = [bound] if isinstance(bound, str) else list(bound)
            outs = [f"{o}.{n}" for o in outs for n in names]
    return outs


def _claim_of(sp: str, preferred: list[str], registry: dict[str, Any]) -> str | None:
    for cid in [*preferred, *registry]:
        if cid in registry and sp in registry[cid].parameters:
            return cid
    return None


# ---------------------------------------------------------------------------------------
# the unit sample (SALib) and its values


def problem(factors: list[Factor], group_by: str = "parameter") -> dict[str, Any]:
    """SALib's problem dict on the unit hypercube (with ``groups`` when grouped by claim)."""
    p: dict[str, Any] = {"num_vars": len(factors), "names": [f.name for f in factors],
                         "bounds": [[0.0, 1.0]] * len(factors)}
    if group_by == "claim":
        p["groups"] = [f.group for f in factors]
    return p


def sample_size(design: Design, factors: list[Factor]) -> int:
    """The number of points :func:`unit_sample` draws, from the method's formula (without sampling).

    ``g`` is the number of factors, or of claims with ``group_by: claim``: Morris
    ``trajectories x (g + 1)``; Sobol ``n x (g + 2)``, ``n x (2g + 2)`` with second order;
    one at a time ``1 + 2`` per factor (``1 +`` one per choice of a discrete one).
    """
    m = design.method
    g = len({f.group for f in factors}) if m.group_by == "claim" else len(factors)
    if m.name == "morris":
        return m.trajectories * (g + 1)
    if m.name == "sobol":
        return m.n * (2 * g + 2 if m.second_order else g + 2)
    return 1 + sum(len(f.values) if f.values else 2 for f in factors)


def unit_sample(design: Design, factors: list[Factor]) -> np.ndarray:
    """The sample on ``[0, 1]^k``, shape ``(points, k)``; ``NaN`` = the scenario's value.

    Morris: ``trajectories x (g + 1)`` points (g factors or groups); Sobol: ``n x (g + 2)``
    (``n x (2g + 2)`` with second order); one at a time: the scenario itself, then each
    factor at the ends of its range (each choice of a discrete one).
    """
    m = design.method
    prob = problem(factors, m.group_by)
    if m.name == "morris":
        from SALib.sample import morris

        return np.asarray(morris.sample(prob, N=m.trajectories, num_levels=m.levels, seed=design.seed % 2**32))
    if m.name == "sobol":
        from SALib.sample import sobol

        return np.asarray(sobol.sample(prob, m.n, calc_second_order=m.second_order, scramble=True,
                                       seed=design.seed % 2**32))
    rows = [np.full(len(factors), np.nan)]
    for i, f in enumerate(factors):
        n = len(f.values) if f.values else 2
        for u in ([(j + 0.5) / n for j in range(n)] if f.values else [0.0, 1.0]):
            r = np.full(len(factors), np.nan)
            r[i] = u
            rows.append(r)
    return np.vstack(rows)


def to_value(f: Factor, u: float, current: Any = None) -> Any:
    """The value of factor ``f`` at unit value ``u`` (``current``: the scenario's value, for
    ``factor``). A ``particle`` factor's value depends on the point, not on ``u`` alone
    (its ``picks``).

    Raises:
        ValueError: ``f`` is a ``particle`` factor.
    """
    if f.dist == "particle":
        raise ValueError(f"{f.name}: a particle factor's value is its picks, per point")
    if f.dist == "choice":
        vals = f.values or ()
        return vals[min(int(u * len(vals)), len(vals) - 1)]
    assert f.lo is not None and f.hi is not None
    if f.dist == "uniform":
        v = f.lo + u * (f.hi - f.lo)
    else:
        v = math.exp(math.log(f.lo) + u * (math.log(f.hi) - math.log(f.lo)))
        if f.dist == "factor":
            v = min(max(float(current) * v, f.bounds[0]), f.bounds[1])
    return int(round(v)) if f.integer else float(v)


def value_table(factors: list[Factor], units: np.ndarray) -> pd.DataFrame:
    """The sample in the factors' own units (``factor`` columns: the multiplier), one row per point.

    Discrete factors are categorical columns (PRIM reads them as such); a ``particle``
    factor is the particle's index, then its value of each posterior column
    (``posterior:<path>``, :func:`sim.explore.posterior.particle_values`).
    """
    import pandas as pd

    from sim.explore.posterior import particle_values

    cols: dict[str, Any] = {}
    for j, f in enumerate(factors):
        if f.dist == "particle":
            assert f.posterior is not None and f.picks is not None
            cols[f.name] = pd.Series(f.picks, dtype="int64")
            cols.update(particle_values(f.posterior, np.asarray(f.picks)))
            continue
        if f.dist == "factor":
            mult = Factor(f.name, f.schema_path, f.group, "loguniform", f.lo, f.hi)
            col = [math.nan if np.isnan(u) else to_value(mult, u) for u in units[:, j]]
        else:
            col = [None if np.isnan(u) else to_value(f, u) for u in units[:, j]]
        cols[f.name] = (pd.Categorical([None if v is None else str(v) for v in col], categories=[str(v) for v in f.values])
                        if f.dist == "choice" else pd.to_numeric(pd.Series(col, dtype="float64")))
    out = pd.DataFrame(cols)
    out.insert(0, "point", np.arange(len(out), dtype=np.int64))
    return out


# ---------------------------------------------------------------------------------------
# applying a point to a scenario


def _items(node: list[Any], key: str) -> list[int]:
    if key == "*":
        return list(range(len(node)))
    return [i for i, x in enumerate(node) if isinstance(x, dict) and x.get("name") == key]


def locate(data: dict[str, Any], path: str) -> list[tuple[Any, str | int]]:
    """The (container, key) pairs a ``--set`` path reaches in scenario data (``[]``: absent here)."""
    found: list[tuple[Any, str | int]] = [(None, "")]
    nodes: list[Any] = [data]
    parts = path.split(".")
    for part in parts:
        nxt_nodes, nxt_found = [], []
        for node in nodes:
            if isinstance(node, list):
                for i in _items(node, part):
                    nxt_nodes.append(node[i])
                    nxt_found.append((node, i))
            elif isinstance(node, dict) and part in node:
                nxt_nodes.append(node[part])
                nxt_found.append((node, part))
        nodes, found = nxt_nodes, nxt_found
        if not nodes:
            return []
    return found


def apply_point(data: dict[str, Any], factors: list[Factor], units: np.ndarray) -> dict[str, Any]:
    """Set one point's values in a copy of scenario data (factors whose path it lacks are
    skipped; a ``particle`` factor is set on the validated scenario, by
    :func:`sim.config.loader.apply_particle`)."""
    out = json.loads(json.dumps(data))
    for f, u in zip(factors, units, strict=True):
        if np.isnan(u) or f.dist == "particle":
            continue
        for node, key in locate(out, f.name):
            node[key] = to_value(f, float(u), node[key])
    return out
