"""The experiment file of ``asylumsim explore``: what to run, validated at one boundary.

An experiment (EMA Workbench's word) names the policies (scenarios), the uncertain
parameters (by path or by claim id), the method, the outcomes, the sample size and the
seed. Example (``sim/explore/designs/caplan_morris.yaml``)::

    name: caplan_morris
    scenarios: [baseline, caplan]          # the policies; outcomes refer to them by name
    set: ["population.scale=50"]           # --set for all; "caplan:KEY=V" for one scenario
    days: 365
    claims: [D1, D8, D16, R1]              # their parameters with a plausible range
    posterior: true                        # calibrated parameters: one joint factor (particles)
    items: {offers: caplan_v2}             # which list item a claim's "offers[]" means
    parameters:                            # more, by path (--set syntax; "*" = every item)
      - {path: offers.caplan_v2.payment_usd, range: [50000, 200000]}
    method: {name: morris, trajectories: 10, levels: 4}
    outcomes:
      - {name: caplan_effect, metric: front_effective, day: 365, scenario: caplan, minus: baseline}
    prim: {outcome: caplan_effect, threshold: -10000, direction: above}
    seed: 20220921

Every problem is one :class:`~sim.errors.ConfigError` naming the file, the key and the
problem (:func:`load_design`); the CLI prints it as one line and exits 1.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim.errors import ConfigError

NAME = r"^[a-z][a-z0-9_]{0,39}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParameterSpec(_Strict):
    """One uncertain parameter given by path (``--set`` syntax: item names or ``*`` in lists).

    Attributes:
        path: E.g. ``defection.private_mean``, ``offers.caplan_v2.credibility.base``,
            ``kremlin.replacement.sources.*.elasticity``.
        range: ``plausible`` (the schema's plausible range) or ``[lo, hi]``.
        dist: With an explicit range: ``uniform`` (default), ``loguniform`` or ``factor``.
        values: Discrete choices instead of a range (structural alternatives).
        claim: The claim it is reported under (default: the first claim of the design
            that lists it, else the first claim of the registry, else the path itself).
    """

    path: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z0-9_]+|\*))*$")
    range: Literal["plausible"] | tuple[float, float] = "plausible"
    dist: Literal["uniform", "loguniform", "factor"] | None = None
    values: list[Any] | None = None
    claim: str | None = None

    @model_validator(mode="after")
    def _range(self) -> ParameterSpec:
        if self.values is not None:
            if len(self.values) < 2:
                raise ValueError("values: give at least two choices")
            if self.range != "plausible" or self.dist is not None:
                raise ValueError("give either values or a range, not both")
        if isinstance(self.range, tuple):
            lo, hi = self.range
            if not lo < hi:
                raise ValueError(f"range: lo must be below hi, got [{lo}, {hi}]")
            if self.dist in ("loguniform", "factor") and lo <= 0:
                raise ValueError(f"range: a {self.dist} range needs lo > 0")
        elif self.dist is not None:
            raise ValueError("dist needs an explicit range [lo, hi]")
        return self


class MethodSpec(_Strict):
    """The method and its sample size.

    Attributes:
        name: ``morris`` (elementary effects: ``trajectories`` x (k + 1) points),
            ``sobol`` (Saltelli's scheme: ``n`` x (k + 2) points, ``n`` x (2k + 2) with
            ``second_order``), ``oat`` (one at a time: each factor at the ends of its
            range, the others at the scenario's values; 2k + 1 points, for a tornado).
        group_by: ``parameter`` or ``claim`` (SALib groups: k is then the number of claims,
            each parameter moving with its claim; Morris and Sobol only).
    """

    name: Literal["morris", "sobol", "oat"]
    trajectories: int = Field(10, ge=2, le=1000)
    levels: int = Field(4, ge=2, le=20)
    n: int = Field(64, ge=2, le=65_536)
    second_order: bool = False
    group_by: Literal["parameter", "claim"] = "parameter"
    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    bootstrap: int = Field(1000, ge=10, le=100_000)

    @field_validator("n")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        if v & (v - 1):
            raise ValueError(f"must be a power of 2 (Sobol' sequence), got {v}")
        return v


class OutcomeSpec(_Strict):
    """A scalar outcome per sample point: a metric on a day, a level or a paired difference.

    ``minus``: the baseline scenario; the difference pairs each point and replication of
    the two scenarios, which share their seed (common random numbers). ``sign``: -1 turns
    a fall into a positive number (soldier-equivalents *removed*). ``per``: divide by an
    outcome listed before this one, run by run (e.g. USD paid per soldier-equivalent
    removed); a denominator of 0 or less gives no value (NaN).
    """

    name: Annotated[str, Field(pattern=NAME)]
    metric: str
    day: int = Field(ge=-60, le=3650)
    scenario: str
    minus: str | None = None
    sign: Literal[1, -1] = 1
    per: str | None = None


class PrimSpec(_Strict):
    """Scenario discovery: under which values is ``outcome`` above (or below) ``threshold``?

    Attributes:
        min_density: The box reported is the one of the peeling trajectory with the
            highest coverage among those whose density reaches this.
        max_dims: Consider only boxes restricting at most this many parameters (a box
            of a small sample that restricts many overfits; none = any).
    """

    outcome: str
    threshold: float
    direction: Literal["above", "below"] = "above"
    peel_alpha: float = Field(0.05, gt=0.0, lt=0.5)
    min_density: float = Field(0.8, gt=0.0, le=1.0)
    min_mass: float = Field(0.05, gt=0.0, lt=1.0)
    max_dims: int | None = Field(None, ge=1, le=1000)


class Design(_Strict):
    """A whole experiment file (see the module docstring).

    Attributes:
        posterior: Vary the calibrated parameters together, as one factor that picks a
            particle of the scenarios' ``uncertainty.posterior`` by weight, instead of each
            over its plausible range independently (:mod:`sim.explore.posterior`; Morris
            and Sobol only).
    """

    name: Annotated[str, Field(pattern=NAME)]
    description: str = ""
    scenarios: list[str] = Field(min_length=1)
    set: list[str] = Field(default_factory=list)
    days: int = Field(365, ge=1, le=3650)
    replications: int = Field(1, ge=1, le=100)
    seed: int = Field(20220921, ge=0, le=2**63 - 1)
    claims: list[Annotated[str, Field(pattern=r"^[A-Z]\d+$")]] = Field(default_factory=list)
    items: dict[str, str | list[str]] = Field(default_factory=dict)
    exclude: list[str] = Field(default_factory=list)
    posterior: bool = False
    parameters: list[ParameterSpec] = Field(default_factory=list)
    method: MethodSpec
    outcomes: list[OutcomeSpec] = Field(min_length=1)
    prim: PrimSpec | None = None

    @model_validator(mode="after")
    def _references(self) -> Design:
        from sim.config.files import ref_stem

        names = [ref_stem(s) for s in self.scenarios]
        if len(set(names)) != len(names):
            raise ValueError(f"scenarios: names repeat: {names}")
        if not self.claims and not self.parameters and not self.posterior:
            raise ValueError("claims/parameters: name at least one claim or parameter to vary (or posterior: true)")
        if self.posterior and self.method.name == "oat":
            raise ValueError("posterior: a posterior's particles have no ends to vary one at a time; "
                             "use method morris or sobol, or posterior: false")
        paths = [p.path for p in self.parameters]
        for i, p in enumerate(paths):
            if p in paths[:i]:  # the later one would silently replace the earlier one's range
                raise ValueError(f"parameters[{i}].path: the path {p} repeats parameters[{paths.index(p)}]; "
                                 "give each parameter once")
        outs = [o.name for o in self.outcomes]
        if len(set(outs)) != len(outs):
            raise ValueError(f"outcomes: names repeat: {outs}")
        for i, o in enumerate(self.outcomes):
            if o.per is not None and o.per not in outs[:i]:
                raise ValueError(f"outcomes: {o.name} divides by {o.per!r}, which is not an outcome listed before it")
            for ref in (o.scenario, o.minus):
                if ref is not None and ref not in names:
                    raise ValueError(f"outcomes: {o.name} names scenario {ref!r}, not among {names}")
        if self.prim is not None and self.prim.outcome not in outs:
            raise ValueError(f"prim: outcome {self.prim.outcome!r} is not among the outcomes {outs}")
        if self.method.group_by == "claim" and self.method.name == "oat":
            raise ValueError("method: group_by claim needs morris or sobol")
        return self

    @property
    def scenario_names(self) -> list[str]:
        """Each scenario's name as outcomes and scoped ``--set`` refer to it (a file's stem)."""
        from sim.config.files import ref_stem

        return [ref_stem(s) for s in self.scenarios]


def anchor_posterior_sets(sets: list[str], folder: Path) -> list[str]:
    """A design's ``set:`` texts with a relative ``uncertainty.posterior`` file (scoped or not)
    made absolute against the design's ``folder``, as its scenario files are (a ``--set`` on
    the command line stays relative to the working directory)."""
    from sim.config.merge import parse_override
    from sim.config.posterior import resolve_ref
    from sim.config.scoped import split_scope

    out = []
    for text in sets:
        try:
            scope, plain = split_scope(text)
            keys, value = parse_override(plain)
        except ConfigError:  # left as it is: loading the scenarios names the problem and the scenario
            out.append(text)
            continue
        if keys == ["uncertainty", "posterior"] and isinstance(value, str) and value:
            plain = f"uncertainty.posterior={resolve_ref(value, folder)}"
            text = plain if scope is None else f"{scope}:{plain}"
        out.append(text)
    return out


def _nearest(word: str, known: list[str]) -> str | None:
    """The closest of ``known`` to a mistyped ``word`` (difflib, ratio at least 0.6), or None."""
    import difflib

    near = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return near[0] if near else None


def near_parameter(path: str) -> str:
    """A hint for a parameter path the scenario schema lacks (``offers.caplan_v2.paymnt_usd``):
    the path with its first unknown part replaced by the closest field there, as
    ``; did you mean '...'?``, or ``""``. Item names (``caplan_v2``) are kept as written."""
    from sim.config.schema import Scenario, _is_list, _model_in

    model: Any = Scenario
    parts = path.split(".")
    i = 0
    while i < len(parts) and model is not None:
        info = model.model_fields.get(parts[i])
        if info is None:
            near = _nearest(parts[i], list(model.model_fields))
            return f"; did you mean {'.'.join([*parts[:i], near, *parts[i + 1:]])!r}?" if near else ""
        sub = _model_in(info.annotation)
        i += 2 if _is_list(info.annotation) and sub is not None else 1
        model = sub
    return ""


def _key(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not re.match(r"^(function-|literal|tuple|list|dict|str|int|float|bool|union)", str(part)):
            out += ("." if out else "") + str(part)
    return out


def parse_design(data: Any, source: str) -> Design:
    """Validate experiment data.

    Raises:
        ConfigError: ``source: key: problem`` for the first problem found.
    """
    if not isinstance(data, dict):
        raise ConfigError(source, "", "an experiment file must be a mapping of keys")
    try:
        return Design.model_validate(data)
    except ValidationError as exc:
        errs = exc.errors()
        # an unknown key (a typo) explains a "missing" one better than the other way round
        err = next((e for e in errs if e["type"] == "extra_forbidden"), errs[0])
        msg = str(err["msg"]).removeprefix("Value error, ")
        key = _key(tuple(err["loc"]))
        if err["type"] == "extra_forbidden":  # the keys allowed where the typo is
            from sim.config.schema import _model_in

            node: Any = Design
            for part in err["loc"][:-1]:  # (list indices keep the item's model; an unknown step, none)
                if isinstance(part, str) and node is not None:
                    info = node.model_fields.get(part)
                    node = _model_in(info.annotation) if info is not None else None
            near = _nearest(str(err["loc"][-1]), list(node.model_fields)) if node else None
            msg = "unknown key" + (f"; did you mean {near!r}?" if near else "")
        elif "input" in err and not isinstance(err["input"], dict | list) and err["type"] != "missing":
            msg += f" (got {err['input']!r})"
        if not key and ": " in msg:  # a whole-file check says which key it is about
            key, msg = msg.split(": ", 1)
        raise ConfigError(source, key or "<root>", msg.replace("\n", " ")) from None


def load_design(path: Path | str) -> Design:
    """Read and validate an experiment file (strict YAML, like scenario files).

    Raises:
        ConfigError: naming the file, the key and the problem.
    """
    from sim.config.yaml_safe import one_line_error, read_yaml_file

    path = Path(path)
    if not path.is_file():
        near = [q for q in (path.with_name(path.name + ".yaml"), path.with_name(path.name + ".yml")) if q.is_file()]
        raise ConfigError(str(path), "", "no such experiment file" + (f"; did you mean {near[0]}?" if near else ""))
    try:
        return parse_design(read_yaml_file(path), str(path))
    except ConfigError as exc:
        raise one_line_error(exc) from None
