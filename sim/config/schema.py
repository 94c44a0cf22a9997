"""The scenario schema: every parameter of the model, typed, bounded and sourced.

Each field carries a description and a ``source``: a CLAIMS.md article id (``000``..``004``,
``004 comments``), a row of ``sim/data/calibration_2022.csv`` (``csv:<quantity>``), or
``assumption``. ``docs/parameters.md`` is generated from this module.

Validation happens here and only here (scikit-learn's rule): the model's constructors trust
a validated :class:`Scenario`.
"""

from __future__ import annotations

import math
import types
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

# ---------------------------------------------------------------------------------------
# helpers


def P(default: Any, source: str, description: str, unit: str | None = None, *,
      plausible: dict[str, Any] | None = None, plausible_source: str | None = None, **bounds: Any) -> Any:
    """A documented parameter: default, source, description, optional unit and bounds.

    Args:
        plausible: Where the value plausibly lies (:func:`Uniform`, :func:`LogUniform`,
            :func:`Factor` or :func:`Choice`), separate from the validation bounds: what
            ``asylumsim explore`` samples with ``range: plausible``. ``None``: not an
            uncertainty (a fact of the sources, a policy lever or a run setting).
        plausible_source: Why that range (a source id, the posterior, or ``assumption``
            with its reason); required with ``plausible``.
    """
    extra: dict[str, Any] = {"source": source}
    if unit:
        extra["unit"] = unit
    if plausible is not None:
        if not plausible_source:
            raise ValueError("a plausible range needs its plausible_source")
        extra["plausible"] = {**plausible, "source": plausible_source}
    return Field(default, description=description, json_schema_extra=extra, **bounds)


def Uniform(lo: float, hi: float) -> dict[str, Any]:
    """Plausible range: uniform on ``[lo, hi]`` (rounded for integer parameters)."""
    return {"dist": "uniform", "lo": lo, "hi": hi}


def LogUniform(lo: float, hi: float) -> dict[str, Any]:
    """Plausible range: uniform in ``log`` on ``[lo, hi]`` (``0 < lo < hi``)."""
    return {"dist": "loguniform", "lo": lo, "hi": hi}


def Factor(lo: float, hi: float) -> dict[str, Any]:
    """Plausible range relative to the scenario's own value: the value times a factor
    log-uniform on ``[lo, hi]``, clipped to the validation bounds. For list items whose
    values differ (each replacement source's elasticity), one factor moves them all."""
    return {"dist": "factor", "lo": lo, "hi": hi}


def Choice(*values: Any) -> dict[str, Any]:
    """Plausible range of a discrete (structural) choice: equally likely ``values``.
    A sampler maps a uniform ``u`` in ``[0, 1)`` to ``values[floor(u * len(values))]``."""
    return {"dist": "choice", "values": list(values)}


def plausible_of(info: Any) -> dict[str, Any] | None:
    """The plausible range a field declares (with its ``source``), or ``None``."""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    spec = extra.get("plausible")
    return dict(spec) if isinstance(spec, dict) else None


def PF(factory: Any, source: str, description: str, unit: str | None = None) -> Any:
    """Like :func:`P` for mutable defaults (lists, dicts, sub-models)."""
    extra: dict[str, Any] = {"source": source}
    if unit:
        extra["unit"] = unit
    return Field(default_factory=factory, description=description, json_schema_extra=extra)


def _scalar_kinds(ann: Any) -> set[type]:
    """The plain types a (possibly Optional or Annotated) scalar annotation admits."""
    origin = typing.get_origin(ann)
    if origin is Annotated:
        return _scalar_kinds(typing.get_args(ann)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_scalar_kinds(a) for a in typing.get_args(ann)))
    return {ann} if ann in (bool, int, float, str) else set()


class Strict(BaseModel):
    """Base model: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_coercion(cls, value: Any, info: ValidationInfo) -> Any:
        # Pydantic's lax mode reads "off"/"yes"/"no"/"on" as booleans and true/false as 1/0;
        # the strict YAML reader keeps YAML 1.1 words as strings, so refuse them here.
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        kinds = _scalar_kinds(field.annotation)
        if isinstance(value, str) and kinds == {bool}:
            raise ValueError("must be true or false")
        if isinstance(value, bool) and bool not in kinds and kinds & {int, float}:
            raise ValueError("must be a number, not true/false")
        return value


Share = Annotated[float, Field(ge=0.0, le=1.0)]
Day = Annotated[int, Field(ge=-400, le=3650)]
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]

MAX_DAYS = 3650
MAX_OFFERS = 8  # the front stores offer awareness as one bit per offer in a uint8
MAX_INTENSITY = 1000.0


class BetaDist(Strict):
    """A Beta(a, b) distribution on [0, 1]."""

    a: float = P(2.0, "assumption", "Beta shape a", gt=0.0, le=1000.0, plausible=Factor(0.5, 2.0), plausible_source="assumption: half to double the default (each distribution's own shape)")
    b: float = P(2.0, "assumption", "Beta shape b", gt=0.0, le=1000.0, plausible=Factor(0.5, 2.0), plausible_source="assumption: half to double the default (each distribution's own shape)")

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)


# ---------------------------------------------------------------------------------------
# run settings


class RunConfig(Strict):
    days: int = P(365, "assumption", "Days simulated after day 0 (21 Sep 2022 in history_2022)", "days", ge=1, le=MAX_DAYS)
    start_day: int = P(0, "assumption", "Day number of the first step; negative days replay the run-up (history_2022 starts at -4)", "day", ge=-60, le=0)
    replications: int = P(20, "assumption", "Default ensemble size for `asylumsim run`", ge=1, le=10_000)
    seed: int = P(20220921, "assumption", "Root seed; replication seeds are spawned from it", ge=0, le=2**63 - 1)
    check_ledger: bool = P(False, "assumption", "Recount every state from the arrays each day and fail on any imbalance (slow; tests turn it on)")
    max_memory_fraction: float = P(0.8, "assumption", "Refuse a run whose estimated memory exceeds this share of available RAM", gt=0.0, le=1.0)


# ---------------------------------------------------------------------------------------
# population and regions


class ReserveCategory(Strict):
    name: Name = P("cat1", "assumption", "Reserve category name")
    share: Share = P(0.2, "assumption", "Share of the draft pool in this category")
    priority: float = P(1.0, "000", "Relative call-up priority (the order targets men with recent service first)", ge=0.0, le=100.0)


def _default_categories() -> list[ReserveCategory]:
    return [
        ReserveCategory(name="cat1", share=0.2, priority=1.0),
        ReserveCategory(name="cat2", share=0.3, priority=0.25),
        ReserveCategory(name="cat3", share=0.5, priority=0.04),
    ]


class PopulationConfig(Strict):
    scale: int = P(10, "assumption", "Real people one simulated individual stands for (1 = full scale)", "people/individual", ge=1, le=100_000)
    draft_pool: int = P(25_000_000, "assumption", "Draft-eligible men at home at day 0 (the reserve figure announced with the order; not in the sources)", "men", ge=0, le=80_000_000, plausible=Uniform(20_000_000, 30_000_000), plausible_source='assumption: the announced reserve figure +-20%')
    categories: list[ReserveCategory] = PF(_default_categories, "000", "Reserve categories with call-up priority; shares must sum to 1")
    opposition: BetaDist = PF(lambda: BetaDist(a=2.0, b=3.0), "004 (Kuran)", "Private opposition to the war among men at home, in [0, 1]; hidden from the state (D1)")
    risk_tolerance: BetaDist = PF(lambda: BetaDist(a=2.0, b=2.0), "assumption", "Risk tolerance in [0, 1]; scales the weight a man gives to the cost and danger of leaving")
    means_median_usd: float = P(1500.0, "002", "Median liquid means a man can spend on leaving (F2: flights and queues price out the poor)", "USD", ge=0.0, le=1e7, plausible=Uniform(750.0, 3000.0), plausible_source='assumption: half to double the default')
    means_sigma: float = P(1.0, "assumption", "Log-normal spread of means", ge=0.0, le=5.0, plausible=Uniform(0.6, 1.4), plausible_source='assumption')
    family_ties_share: Share = P(0.6, "004 comments", "Share of men with dependants at home (family ties slow flight; D15 reprisals)", plausible=Uniform(0.4, 0.8), plausible_source='assumption')
    family_flight_penalty: Share = P(0.5, "assumption", "Proportional reduction of the flight hazard for a man with family ties", plausible=Uniform(0.25, 0.75), plausible_source='assumption')
    emigrated_before_day0: int = P(419_000, "csv:emigration_before_mobilization", "Russians who left between 1 Jan and early Sep 2022 (F7): initial diaspora stock", "people", ge=0, le=10_000_000, plausible=Uniform(300_000, 550_000), plausible_source='assumption: the csv figure +-30%')
    non_eligible_per_leaver: float = P(0.6, "002", "Non-eligible emigrants (women, children, students, older men) leaving per draft-eligible man (F6)", "people/man", ge=0.0, le=10.0, plausible=Uniform(0.3, 1.0), plausible_source='assumption')
    skilled_share_of_leavers: Share = P(0.45, "002", "Share of leavers with tertiary skills (brain-drain outcome, F6)", plausible=Uniform(0.3, 0.6), plausible_source='assumption')

    @field_validator("categories")
    @classmethod
    def _categories_sum(cls, cats: list[ReserveCategory]) -> list[ReserveCategory]:
        if not cats:
            raise ValueError("at least one reserve category is needed")
        total = sum(c.share for c in cats)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"category shares sum to {total:.6g}, not 1")
        if len({c.name for c in cats}) != len(cats):
            raise ValueError("category names repeat")
        return cats


class RegionConfig(Strict):
    name: Name = P("region", "assumption", "Region name")
    pool_share: Share = P(0.1, "assumption", "Share of the draft pool living here; shares sum to 1")
    means_multiplier: float = P(1.0, "assumption", "Means relative to the national median", ge=0.0, le=20.0)
    opposition_shift: float = P(0.0, "assumption", "Added to each man's opposition (clipped to [0, 1])", ge=-1.0, le=1.0)
    callup_bias: float = P(1.0, "002", "Relative call-up intensity per man (R2: poor regions and minorities drafted more)", ge=0.0, le=100.0, plausible=Factor(0.75, 1.33), plausible_source="assumption: each region's bias within a third")
    minority: bool = P(False, "002", "Ethnic republic (reported for the burden-shift outcome, R2/M2)")
    police_ratio: float = P(0.02, "assumption", "Police per potential protester (Epstein's cop density relative to citizens)", ge=0.0, le=1.0, plausible=Factor(0.5, 2.0), plausible_source='assumption: half to double the default')
    travel_days: dict[str, float] = PF(dict, "assumption", "Travel time to each exit in days; exits not listed are out of reach")


def _default_regions() -> list[RegionConfig]:
    def r(name, share, means, opp, bias, minority, police, travel):
        return RegionConfig(name=name, pool_share=share, means_multiplier=means, opposition_shift=opp,
                            callup_bias=bias, minority=minority, police_ratio=police, travel_days=travel)

    return [
        r("moscow_spb", 0.16, 2.2, 0.10, 0.35, False, 0.030,
          {"upper_lars": 2, "kazakhstan": 2, "finland": 1, "mongolia": 5, "flights": 0.5, "schengen_land": 1}),
        r("northwest", 0.05, 1.2, 0.05, 0.9, False, 0.020,
          {"upper_lars": 3, "kazakhstan": 3, "finland": 0.5, "mongolia": 6, "flights": 1, "schengen_land": 0.5}),
        r("central_volga", 0.401, 0.9, 0.0, 1.0, False, 0.020,
          {"upper_lars": 2, "kazakhstan": 1, "finland": 2, "mongolia": 5, "flights": 1, "schengen_land": 2}),
        r("south_border", 0.12, 0.8, -0.03, 1.1, False, 0.020,
          {"upper_lars": 1, "kazakhstan": 1.5, "finland": 3, "mongolia": 6, "flights": 1, "schengen_land": 3}),
        r("dagestan", 0.02, 0.5, 0.02, 1.6, True, 0.025,
          {"upper_lars": 0.5, "kazakhstan": 2, "finland": 4, "mongolia": 7, "flights": 1.5, "schengen_land": 4}),
        r("urals_siberia", 0.20, 0.9, 0.0, 1.2, False, 0.020,
          {"upper_lars": 4, "kazakhstan": 1, "finland": 4, "mongolia": 2, "flights": 1.5, "schengen_land": 4}),
        r("buryatia", 0.007, 0.6, 0.03, 2.6, True, 0.020,
          {"upper_lars": 6, "kazakhstan": 3, "finland": 7, "mongolia": 0.5, "flights": 2, "schengen_land": 7}),
        r("tuva", 0.002, 0.45, 0.0, 3.2, True, 0.020,
          {"upper_lars": 6, "kazakhstan": 3, "finland": 7, "mongolia": 1, "flights": 2.5, "schengen_land": 7}),
        r("far_east", 0.04, 1.0, 0.0, 1.3, False, 0.020,
          {"upper_lars": 7, "kazakhstan": 5, "finland": 8, "mongolia": 3, "flights": 2, "schengen_land": 8}),
    ]


# ---------------------------------------------------------------------------------------
# exits, hosts


Policy = Literal["closed", "open", "humanitarian_visa", "parole", "asylum"]


class ExitConfig(Strict):
    name: Name = P("exit", "assumption", "Exit (border crossing or air route) name")
    host: Name = P("host", "002", "Host country (or group) this exit leads to")
    capacity_per_day: float = P(10_000.0, "002", "Crossings the exit can process per day, background traffic included (F2 queues)", "people/day", ge=0.0, le=1e7, plausible=Factor(0.7, 1.4), plausible_source='assumption')
    background_per_day: float = P(3_000.0, "csv:pre-mobilization rates", "Russians entering on a normal day (counted in border statistics, not draft-eligible leavers)", "people/day", ge=0.0, le=1e7, plausible=Factor(0.7, 1.4), plausible_source='assumption')
    base_cost_usd: float = P(300.0, "002", "Cost of leaving through this exit when demand is normal", "USD", ge=0.0, le=1e7, plausible=Factor(0.5, 2.0), plausible_source='assumption: half to double the default')
    price_surge: float = P(1.0, "002", "Cost multiplier per unit of demand over capacity (F2: tickets and private jets surge)", ge=0.0, le=1000.0, plausible=Factor(0.5, 2.0), plausible_source='assumption: half to double the default')
    closed_from_day: int | None = P(None, "csv:policy events", "Day the exit closes to leavers (none = stays open)", "day", ge=-400, le=MAX_DAYS)
    reopen_day: int | None = P(None, "assumption", "Day it reopens (none = stays closed)", "day", ge=-400, le=MAX_DAYS)
    restriction_exposure: Share = P(1.0, "002", "How much the Kremlin's exit restriction applies at this exit (F3: FSB at the Georgian border)", plausible=Factor(0.5, 1.0), plausible_source='assumption: up to half as exposed')

    @model_validator(mode="after")
    def _reopen_after_close(self) -> ExitConfig:
        if self.reopen_day is not None and (self.closed_from_day is None or self.reopen_day <= self.closed_from_day):
            raise ValueError("reopen_day needs a closed_from_day before it")
        return self


def _default_exits() -> list[ExitConfig]:
    def e(name, host, cap, bg, cost, surge, exposure=1.0, closed=None):
        return ExitConfig(name=name, host=host, capacity_per_day=cap, background_per_day=bg, base_cost_usd=cost,
                          price_surge=surge, restriction_exposure=exposure, closed_from_day=closed)

    return [
        e("upper_lars", "georgia", 11_500, 5_500, 250, 2.0),
        e("kazakhstan", "kazakhstan", 24_000, 4_000, 200, 1.5),
        e("finland", "finland", 9_000, 3_000, 300, 1.0),
        e("mongolia", "mongolia", 1_200, 150, 200, 1.0, 0.8),
        e("flights", "visa_free", 14_000, 6_000, 800, 6.0, 0.7),
        e("schengen_land", "baltics_poland", 6_000, 2_500, 300, 1.0),
    ]


class PolicyChange(Strict):
    day: Day = P(0, "csv:policy events", "Day the change takes effect", "day")
    draftee_policy: Policy | None = P(None, "001", "New policy for draft-eligible men (none = unchanged)")
    deserter_policy: Policy | None = P(None, "001", "New policy for deserters (none = unchanged)")
    admit_share: Share | None = P(None, "assumption", "Share of draftees still admitted under the new policy (none = the policy's default)")


class HostConfig(Strict):
    name: Name = P("host", "assumption", "Host country or group")
    size_class: Literal["small_frontline", "medium", "large"] = P("large", "004 comments", "Size class (H5: small states near Russia reasonably refuse)")
    population: float = P(10_000_000.0, "assumption", "Resident population (for the diaspora share)", "people", gt=0.0, le=2e9)
    initial_diaspora: float = P(0.0, "000", "Russian diaspora living there at day 0 (F7)", "people", ge=0.0, le=1e9, plausible=Factor(0.5, 2.0), plausible_source='assumption: half to double the default')
    draftee_policy: Policy = P("open", "001", "Admission policy for draft-eligible men (F4)")
    deserter_policy: Policy = P("closed", "003", "Admission policy for defecting soldiers (D13, F4)")
    admit_share: Share | None = P(None, "assumption", "Share of draftees admitted (none = the policy's default share)", plausible=Uniform(0.3, 1.0), plausible_source='assumption')
    policy_changes: list[PolicyChange] = PF(list, "csv:policy events", "Dated policy changes")
    return_rate_per_day: Share = P(0.002, "002", "Daily probability that an admitted man returns to Russia (F5: Russians may stay for good)", "probability/day", plausible=Factor(0.5, 2.0), plausible_source='assumption: half to double the default')
    onward: dict[str, float] = PF(dict, "000", "Daily probability of moving on to each other host (Flee-style onward moves)", "probability/day")
    screening_catch_rate: Share = P(0.5, "000", "Share of infiltrators and war criminals the screening catches (D14, H1)", plausible=Factor(0.5, 1.5), plausible_source='assumption')
    inflow_tolerance_per_day: float | None = P(None, "001", "Admissions per day above which the host reverses to closed (none = never)", "people/day", ge=0.0, le=1e8)
    incident_tolerance: float | None = P(None, "001", "Security incidents above which the host reverses to closed (H4; none = never)", "incidents", ge=0.0, le=1e8)
    reversal_lag_days: int = P(7, "assumption", "Days between passing a tolerance and closing", "days", ge=0, le=365, plausible=Uniform(3, 21), plausible_source='assumption')
    burden_share: float = P(0.0, "003 (Schuck)", "Weight of this host in sharing offer payments and deserter resettlement (D7)", ge=0.0, le=1000.0)

    @field_validator("onward")
    @classmethod
    def _onward_rates(cls, v: dict[str, float]) -> dict[str, float]:
        for k, rate in v.items():
            if not (0.0 <= rate <= 1.0):
                raise ValueError(f"onward rate to {k!r} must be in [0, 1], got {rate}")
        return v


def _default_hosts() -> list[HostConfig]:
    return [
        HostConfig(name="georgia", size_class="small_frontline", population=3_700_000, initial_diaspora=40_000,
                   draftee_policy="open", deserter_policy="closed", return_rate_per_day=0.004,
                   onward={"eu_west": 0.002}, screening_catch_rate=0.2),
        HostConfig(name="kazakhstan", size_class="medium", population=19_000_000, initial_diaspora=3_000_000,
                   draftee_policy="open", deserter_policy="closed", return_rate_per_day=0.006,
                   onward={"eu_west": 0.001}, screening_catch_rate=0.2),
        HostConfig(name="finland", size_class="small_frontline", population=5_500_000, initial_diaspora=80_000,
                   draftee_policy="open", deserter_policy="closed", return_rate_per_day=0.01,
                   onward={"eu_west": 0.01}, screening_catch_rate=0.6, burden_share=1.0),
        HostConfig(name="mongolia", size_class="small_frontline", population=3_400_000, initial_diaspora=3_000,
                   draftee_policy="open", deserter_policy="closed", return_rate_per_day=0.01,
                   onward={}, screening_catch_rate=0.2),
        HostConfig(name="visa_free", size_class="large", population=150_000_000, initial_diaspora=200_000,
                   draftee_policy="open", deserter_policy="closed", return_rate_per_day=0.003,
                   onward={"eu_west": 0.001}, screening_catch_rate=0.3),
        HostConfig(name="baltics_poland", size_class="small_frontline", population=44_000_000, initial_diaspora=900_000,
                   draftee_policy="closed", deserter_policy="closed", return_rate_per_day=0.005,
                   onward={"eu_west": 0.005}, screening_catch_rate=0.7, burden_share=1.0),
        HostConfig(name="eu_west", size_class="large", population=300_000_000, initial_diaspora=1_500_000,
                   draftee_policy="closed", deserter_policy="asylum", return_rate_per_day=0.0005,
                   onward={}, screening_catch_rate=0.7, burden_share=8.0),
    ]


class HostPolicyConfig(Strict):
    policy_admit_share: dict[Policy, Share] = PF(
        lambda: {"closed": 0.0, "open": 1.0, "humanitarian_visa": 0.9, "parole": 0.8, "asylum": 0.95},
        "001", "Share of arrivals admitted under each policy; the rest are turned back")
    policy_resettlement_usd: dict[Policy, float] = PF(
        lambda: {"closed": 0.0, "open": 0.0, "humanitarian_visa": 15_000.0, "parole": 20_000.0, "asylum": 30_000.0},
        "003 (Schuck)", "Host's resettlement cost per admitted person under each policy (D7)", "USD")

    @field_validator("policy_resettlement_usd")
    @classmethod
    def _costs(cls, v: dict[str, float]) -> dict[str, float]:
        for k, usd in v.items():
            if not (0.0 <= usd <= 1e9):
                raise ValueError(f"cost for {k!r} must be in [0, 1e9], got {usd}")
        return v


# ---------------------------------------------------------------------------------------
# mobilization, flight, the Kremlin


class QuotaWave(Strict):
    day: Day = P(0, "csv:mobilization_quota", "Day the wave starts", "day")
    total: int = P(300_000, "000", "Men to mobilize in this wave (R3)", "men", ge=0, le=50_000_000)
    duration_days: int = P(37, "csv:mobilized_cumulative", "Days over which summonses are issued", "days", ge=1, le=3650)


class MobilizationConfig(Strict):
    waves: list[QuotaWave] = PF(lambda: [QuotaWave()], "000, 001", "Call-up waves (R3: up to 300,000)")
    summons_overshoot: float = P(1.35, "assumption", "Summonses issued per man still owed (the state expects some not to report)", ge=1.0, le=10.0, plausible=Uniform(1.1, 1.8), plausible_source='assumption')
    adapt_overshoot: bool = P(True, "002", "Raise summonses when the observed report rate falls (R1: the shortfall is drafted from others)", plausible=Choice(True, False), plausible_source='assumption: whether the Kremlin adapts is itself uncertain')
    report_rate: Share = P(0.5, "calibrated (docs/calibration.md)", "Daily probability a summoned man reports (before his opposition is weighed)")
    hide_rate: Share = P(0.04, "001", "Daily probability a summoned man goes into hiding at home (P3)", plausible=Uniform(0.02, 0.08), plausible_source='assumption: half to double the default')
    opposition_report_penalty: Share = P(0.6, "004 (Kuran)", "Reduction of the report rate at full opposition")
    hiding_catch_rate: Share = P(0.01, "assumption", "Daily probability a hiding man is found and sent to training")
    front_loading: float = P(1.5, "calibrated: posterior median of the twelve-parameter ABC-SMC run (commit 76ce1e5, on csv:defection_2022_2023 and csv:mobilized_cumulative), kept fixed in the nine- and ten-parameter runs, docs/calibration.md; calibrated by ABC-SMC (docs/calibration.md) on csv:mobilized_cumulative (222,000 of 300,000 by day 23)", "Shape of each wave's call-up over its duration: the share due by a fraction x of it is (1 - exp(-k x)) / (1 - exp(-k)); 0 is an even pace, larger k front-loads the summonses", ge=0.0, le=20.0, plausible=Uniform(0.16, 3.8), plausible_source='posterior q5-q95 (docs/calibration.md)')
    training_days: int = P(27, "calibrated: posterior median of the twelve-parameter ABC-SMC run (commit 76ce1e5, on csv:defection_2022_2023 and csv:mobilized_cumulative), kept fixed in the nine- and ten-parameter runs, docs/calibration.md; 002", "Days from reporting to the front for men of the call-up waves (R4: weeks of training or less)", "days", ge=0, le=365, plausible=Uniform(18, 37), plausible_source='posterior q5-q95 (docs/calibration.md)')
    mobilized_quality: Share = P(0.7, "002", "Combat effectiveness of mobilized men relative to a trained regular (R4: the unfit and old are taken)", plausible=Uniform(0.5, 0.9), plausible_source='assumption')
    arrested_protesters_summoned: Share = P(0.5, "001", "Share of arrested draft-age protesters who are served summonses (P2)", plausible=Uniform(0.2, 0.8), plausible_source='assumption')


class FlightConfig(Strict):
    base_hazard: float = P(0.00002, "assumption", "Daily flight hazard of a man with no call-up pressure (background emigration)", "1/day", ge=0.0, le=1.0, plausible=LogUniform(0.000005, 0.0001), plausible_source='assumption')
    summons_hazard: float = P(0.12, "002", "Daily flight hazard of a summoned man at full opposition, before costs (F2)", "1/day", ge=0.0, le=1.0, plausible=Uniform(0.06, 0.24), plausible_source='assumption: half to double the default')
    callup_risk_weight: float = P(50.0, "002", "Hazard per unit of regional call-up intensity (summonses per man per day, x100)", ge=0.0, le=1e6, plausible=Uniform(25.0, 100.0), plausible_source='assumption: half to double the default')
    rumour_weight: float = P(0.0026, "002", "Hazard from national rumour (recent national call-up share, decays)", "1/day", ge=0.0, le=1.0, plausible=Uniform(0.0013, 0.0052), plausible_source='assumption: half to double the default')
    rumour_decay_days: float = P(4.0, "csv:georgia_entries_daily", "Half-life of rumour after the announcement (calibrated: Upper Lars back to normal by day 9)", "days", gt=0.0, le=3650.0)
    opposition_exponent: float = P(1.5, "004 (Kuran)", "Hazard rises as opposition**exponent", ge=0.0, le=10.0)
    cost_sensitivity: float = P(1.0, "002", "Affordability = sigmoid((log means - log cost) * sensitivity)", ge=0.0, le=100.0, plausible=Uniform(0.5, 2.0), plausible_source='assumption: half to double the default')
    travel_cost_per_day: float = P(0.25, "assumption", "Route-choice disutility per travel day", ge=0.0, le=100.0)
    queue_cost_per_day: float = P(0.3, "csv:georgia_entries_daily", "Route-choice disutility per day of expected queue (queues of 4-5 days)", ge=0.0, le=100.0, plausible=Uniform(0.15, 0.6), plausible_source='assumption: half to double the default')
    price_cost_weight: float = P(1.0, "002", "Route-choice disutility per log of price", ge=0.0, le=100.0, plausible=Uniform(0.5, 2.0), plausible_source='assumption: half to double the default')
    turned_back_retry: Share = P(0.3, "assumption", "Share of men turned back at a border who go into hiding rather than home", plausible=Uniform(0.1, 0.5), plausible_source='assumption')
    max_queue_days: float = P(6.0, "csv:georgia_entries_daily", "Men do not head for an exit whose expected queue is longer than this", "days", ge=0.0, le=365.0, plausible=Uniform(3.0, 10.0), plausible_source='assumption (queues of 4-5 days, csv)')


class ExitRestriction(Strict):
    enabled: bool = P(True, "002", "The Kremlin may bar military-age men from leaving (F3)")
    trigger_fled: float = P(600_000.0, "002", "Departures since day 0 (real men) that trigger the restriction", "men", ge=0.0, le=1e9, plausible=Uniform(300_000.0, 1_200_000.0), plausible_source='assumption: half to double the default')
    delay_days: int = P(7, "assumption", "Days from trigger to enforcement", "days", ge=0, le=365, plausible=Uniform(3, 21), plausible_source='assumption')
    effectiveness: Share = P(0.7, "002", "Share of would-be leavers stopped at an exposed exit", plausible=Uniform(0.4, 0.9), plausible_source='assumption')
    leakage: Share = P(0.2, "assumption", "Share of stopped men who get through anyway (bribes, side roads)", plausible=Uniform(0.05, 0.5), plausible_source='assumption')


class ReplacementSource(Strict):
    name: Literal["domestic_callup", "occupied", "prisoners", "contract", "belarus", "foreign"] = P("contract", "002", "Source of replacements (R1)")
    elasticity: Share = P(0.0, "002", "Share of the remaining front shortfall this source is ordered to fill each day (0 = never replaces)", plausible=Factor(0.5, 2.0), plausible_source="assumption: every source's elasticity halved to doubled (issue 17's hand test)")
    delay_days: int = P(30, "002", "Days from order to the front (R4); for domestic_callup, days from reporting to the front", "days", ge=0, le=365, plausible=Factor(0.5, 2.0), plausible_source='assumption: half to double the default')
    cap_per_day: float = P(1e9, "assumption", "Most men this source delivers per day", "men/day", ge=0.0, le=1e9, plausible=Factor(0.5, 2.0), plausible_source='assumption: half to double the default')
    cap_total: float = P(1e9, "assumption", "Most men this source ever delivers", "men", ge=0.0, le=1e10, plausible=Factor(0.5, 2.0), plausible_source='assumption: half to double the default')
    start_day: Day = P(0, "assumption", "First day the source is used", "day")
    quality: Share = P(0.7, "002", "Combat effectiveness of these soldiers relative to a trained regular (R4)", plausible=Factor(0.8, 1.2), plausible_source='assumption')


def _default_sources() -> list[ReplacementSource]:
    return [
        ReplacementSource(name="contract", elasticity=0.35, delay_days=30, cap_per_day=1_300, cap_total=1e9, start_day=0, quality=0.8),
        ReplacementSource(name="prisoners", elasticity=0.6, delay_days=21, cap_per_day=900, cap_total=50_000, start_day=0, quality=0.55),
        ReplacementSource(name="occupied", elasticity=0.2, delay_days=14, cap_per_day=500, cap_total=100_000, start_day=0, quality=0.6),
        ReplacementSource(name="domestic_callup", elasticity=0.3, delay_days=21, cap_per_day=1_500, cap_total=2_000_000, start_day=40, quality=0.7),
        # Catoggio (002): the Kremlin leans on client states (Belarus, Syria) and occupied
        # territories; elasticity, cap and delay are assumptions (no source gives numbers)
        ReplacementSource(name="foreign", elasticity=0.05, delay_days=60, cap_per_day=100, cap_total=30_000, start_day=60, quality=0.5),
    ]


class ReplacementConfig(Strict):
    target_strength: list[tuple[Day, float]] = PF(lambda: [(0, 520_000.0), (180, 600_000.0), (365, 650_000.0)], "assumption; csv:prisoner_recruits_total, csv:contract_recruits_2023", "Step schedule of the front strength the Kremlin aims for: (day, men); set so that prisoner and contract recruitment match 2022-23")
    sources: list[ReplacementSource] = PF(_default_sources, "002", "Replacement sources, asked in this order (R1)")

    @field_validator("target_strength")
    @classmethod
    def _schedule(cls, v: list[tuple[int, float]]) -> list[tuple[int, float]]:
        if not v:
            raise ValueError("needs at least one (day, men) step")
        days = [d for d, _ in v]
        if any(b <= a for a, b in zip(days, days[1:], strict=False)):  # a repeated day: which step holds?
            raise ValueError(f"days must increase (got {days})")
        if any(not (0 <= m <= 1e8) for _, m in v):
            raise ValueError("strengths must be in [0, 1e8]")
        return v

    @field_validator("sources")
    @classmethod
    def _unique_sources(cls, v: list[ReplacementSource]) -> list[ReplacementSource]:
        names = [src.name for src in v]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"names repeat: {sorted(dup)}")
        return v


class CounterDefection(Strict):
    detection_base: Share = P(0.43, "calibrated: posterior median, docs/calibration.md (ABC-SMC on csv:defection_2022_2023 and csv:mobilized_cumulative); prior 0.05-0.9 around 004 comments' 0.25", "Probability an attempt to defect is caught by one's own side (D16)", plausible=Uniform(0.14, 0.87), plausible_source='posterior q5-q95 (docs/calibration.md)')
    detection_slope: float = P(40.0, "004 comments", "Added detection per unit of observed daily defection rate (blocking detachments rise)", ge=0.0, le=1e6, plausible=Uniform(20.0, 80.0), plausible_source='assumption: half to double the default')
    detection_max: Share = P(0.9, "assumption", "Ceiling on detection", plausible=Uniform(0.7, 0.95), plausible_source='assumption')
    punishment_base: float = P(1.0, "001", "Disutility of being caught (D19: up to 10 years)", ge=0.0, le=1000.0, plausible=Uniform(0.5, 2.0), plausible_source='assumption: half to double the default')
    punishment_slope: float = P(20.0, "001", "Added punishment per unit of observed daily defection rate", ge=0.0, le=1e6, plausible=Uniform(10.0, 40.0), plausible_source='assumption: half to double the default')
    reprisal_base: float = P(0.2, "004 comments", "Disutility of reprisals against family, per man with family ties (D15)", ge=0.0, le=1000.0, plausible=Uniform(0.1, 0.4), plausible_source='assumption: half to double the default')
    reprisal_slope: float = P(20.0, "004 comments", "Added reprisal per unit of observed daily defection rate", ge=0.0, le=1e6, plausible=Uniform(10.0, 40.0), plausible_source='assumption: half to double the default')
    window_days: int = P(14, "assumption", "Days over which the Kremlin observes the defection rate", "days", ge=1, le=365, plausible=Uniform(7, 28), plausible_source='assumption: half to double the default')
    executed_share: Share = P(0.1, "004 comments", "Share of caught men shot (D16)", plausible=Uniform(0.02, 0.2), plausible_source='assumption')
    imprisoned_share: Share = P(0.4, "001", "Share of caught men imprisoned (D19)", plausible=Uniform(0.2, 0.6), plausible_source='assumption')
    sent_back_delay_days: int = P(14, "001", "Days before a caught man with a suspended sentence is back at the front", "days", ge=0, le=365, plausible=Uniform(7, 30), plausible_source='assumption')
    court_delay_days: float = P(67.0, "calibrated: posterior median, docs/calibration.md (ABC-SMC on csv:defection_2022_2023 and csv:mobilized_cumulative); Russian Code of Criminal Procedure art. 162 (a preliminary investigation lasts up to 2 months, extendable)", "Days from a caught AWOL soldier or defector to his case reaching a court (the court cases the csv counts; rounded to whole days)", "days", ge=0.0, le=3650.0, plausible=Uniform(21.0, 130.0), plausible_source='posterior q5-q95 (docs/calibration.md)')

    @model_validator(mode="after")
    def _shares(self) -> CounterDefection:
        if self.executed_share + self.imprisoned_share > 1.0 + 1e-9:
            raise ValueError("executed_share + imprisoned_share must not exceed 1 (the rest are sent back)")
        return self


class Concessions(Strict):
    protest_threshold: Share = P(0.01, "002", "Share of potential protesters active that makes the Kremlin concede (P1)", plausible=LogUniform(0.005, 0.02), plausible_source='assumption: half to double the default')
    lag_days: int = P(7, "assumption", "Days of sustained protest before a concession", "days", ge=0, le=365)
    callup_slowdown: Share = P(0.3, "002", "Proportional cut of the daily call-up rate (waves and domestic replacement call-ups) per concession", plausible=Uniform(0.1, 0.5), plausible_source='assumption')
    max_concessions: int = P(3, "assumption", "Most concessions the Kremlin makes", ge=0, le=100)


class KremlinConfig(Strict):
    exit_restriction: ExitRestriction = PF(ExitRestriction, "002", "F3")
    replacement: ReplacementConfig = PF(ReplacementConfig, "002", "R1")
    counter_defection: CounterDefection = PF(CounterDefection, "004 comments", "D16, D19, D15")
    concessions: Concessions = PF(Concessions, "002", "P1")
    infiltrators_per_1000_leavers: float = P(0.5, "000 comments", "Agents the Kremlin seeds per 1,000 real leavers and defectors (H1)", ge=0.0, le=1000.0, plausible=LogUniform(0.1, 2.0), plausible_source='assumption')


# ---------------------------------------------------------------------------------------
# the front, defection, offers


class FrontConfig(Strict):
    initial_strength: float = P(200_000.0, "csv:front_strength", "Soldiers at the front at day 0 (169,000-190,000 at the invasion; Caplan: about 200,000)", "men", ge=0.0, le=1e8)
    initial_occupied_share: Share = P(0.15, "002", "Share of the initial force from occupied territories")
    unit_size: int = P(100, "assumption", "Real soldiers per unit (a company); the scale of social influence", "men", ge=1, le=100_000, plausible=Uniform(50, 200), plausible_source='assumption: a company, half to double')
    attrition: Literal["fixed", "lanchester"] = P("fixed", "assumption", "Casualty model: fixed daily rates, or Lanchester's square law against the enemy", plausible=Choice('fixed', 'lanchester'), plausible_source='assumption: which casualty model holds is itself uncertain')
    kia_rate: float = P(0.0006, "assumption", "Daily probability a soldier is killed at intensity 1", "1/day", ge=0.0, le=1.0, plausible=Uniform(0.0003, 0.0012), plausible_source='assumption: half to double the default')
    wia_rate: float = P(0.0018, "assumption", "Daily probability a soldier is wounded and evacuated at intensity 1", "1/day", ge=0.0, le=1.0, plausible=Uniform(0.0009, 0.0036), plausible_source='assumption: half to double the default')
    wia_return_share: Share = P(0.4, "assumption", "Share of wounded who return to the front")
    wia_recovery_days: int = P(45, "assumption", "Days before a wounded man returns", "days", ge=0, le=3650)
    intensity: list[tuple[Day, float]] = PF(lambda: [(0, 1.0)], "assumption", "Step schedule of combat intensity: (day, multiplier)")
    enemy_strength: float = P(300_000.0, "assumption", "Opposing (Ukrainian) effective strength, for Lanchester attrition and the war's course", "men", gt=0.0, le=1e8, plausible=Uniform(200_000.0, 450_000.0), plausible_source='assumption')
    lanchester_coefficient: float = P(0.0004, "assumption", "Lanchester kill rate per enemy soldier (square law)", "1/day", ge=0.0, le=1.0, plausible=LogUniform(0.0002, 0.0008), plausible_source='assumption: half to double the default')
    unwillingness: BetaDist = PF(lambda: BetaDist(a=2.0, b=4.0), "004 (Kuran)", "Hidden private unwillingness to fight (D1)")
    home_attachment: float = P(1.0, "004 comments; assumption", "Disutility of leaving home for good, in home life-years (D15: many just want to go home; docs/defection_choice.md)", "HLY", ge=0.0, le=100.0, plausible=Uniform(0.5, 2.0), plausible_source='assumption: half to double the default')
    morale_initial: Share = P(0.45, "004 (Lyall)", "Initial unit morale (D2: low)", plausible=Uniform(0.3, 0.6), plausible_source='assumption')
    morale_recovery: Share = P(0.02, "assumption", "Daily pull of morale back to its target level (rotation, rest)", plausible=LogUniform(0.01, 0.04), plausible_source='assumption: half to double the default')
    morale_loss_sensitivity: float = P(2.0, "004 (Lyall); assumption", "Morale lost per unit daily casualty probability at the front (killed or wounded). Equilibrium morale is target - sensitivity x rate / recovery: 0.45 - 2 x 0.0024 / 0.02 = 0.21 at the default rates (the old 8 could not balance: 0.96 > 0.45)", ge=0.0, le=1000.0, plausible=Uniform(1.0, 4.0), plausible_source='assumption: half to double the default')
    morale_defection_sensitivity: float = P(4.0, "004", "Morale lost per unit share of the front defecting that day", ge=0.0, le=1000.0, plausible=Uniform(2.0, 8.0), plausible_source='assumption: half to double the default')
    morale_weight: float = P(2.0, "004 (Lyall); assumption", "Utility of defecting or walking away per unit of morale below its initial level, in home life-years", "HLY", ge=0.0, le=100.0, plausible=Uniform(1.0, 4.0), plausible_source='assumption: half to double the default')
    awol_rate: float = P(0.00056, "calibrated: posterior median, docs/calibration.md (ABC-SMC on csv:defection_2022_2023 and csv:mobilized_cumulative); csv:awol_court_cases_year, csv:refusal_court_cases_cumulative", "Daily probability a soldier who would rather walk away than stay (the same random-utility choice as an offer, status 'awol') gets the chance to", "1/day", ge=0.0, le=1.0, plausible=LogUniform(0.00012, 0.0025), plausible_source='posterior q5-q95 (docs/calibration.md)')
    awol_consumption_usd: float = P(10_000.0, "assumption", "Consumption of a soldier hiding at home or abroad after walking away (informal work, below the 13,000 home average); must exceed what prison then home is worth for detection to deter", "USD/year", gt=0.0, le=1e6)
    awol_court_cases_before_run: float = P(2.7, "calibrated: posterior median, docs/calibration.md (ABC-SMC on csv:defection_2022_2023 and csv:mobilized_cumulative); prior from csv:awol_court_cases_year (Mediazona: 1,001 AWOL cases in 2022, +63% on 2021): between 2021's rate, 1001 / 1.63 / 365 = 1.68 a day, and every 2022 case before the run, 1001 / 259 = 3.9 a day", "AWOL court cases a day before the run: the days of 2022 before the run's first day (read by the calibration's 2022 point), and the cases of men caught before the run that reach a court in its first kremlin.counter_defection.court_delay_days days (the cases already under investigation when the run starts; not simulated men, an expected count)", "real cases/day", ge=0.0, le=1e5, plausible=Uniform(1.9, 3.8), plausible_source='posterior q5-q95 (docs/calibration.md)')
    awol_suspended_share: Share = P(0.35, "csv:refusal_court_cases_cumulative (Mediazona: more than a third of AWOL sentences suspended)", "Share of AWOL court cases ending in a suspended sentence that sends the man back to the front")
    capture_rate: float = P(6.9e-06, "calibrated: posterior median, docs/calibration.md (ABC-SMC on csv:defection_2022_2023 and csv:mobilized_cumulative); csv:pow_voluntary_surrender_share (about 20% of POWs surrendered voluntarily)", "Daily probability a soldier is captured by the enemy in combat (involuntary), at intensity 1", "1/day", ge=0.0, le=1.0, plausible=LogUniform(6.2e-07, 5.8e-05), plausible_source='posterior q5-q95 (docs/calibration.md)')
    distrust_weight: Share = P(0.5, "004", "Effectiveness lost per unit of commanders' perceived defection risk (D4)", plausible=Uniform(0.2, 0.8), plausible_source='assumption')
    distrust_reference_rate: float = P(0.002, "004", "Daily unit defection rate at which perceived risk saturates", "1/day", gt=0.0, le=1.0, plausible=LogUniform(0.001, 0.004), plausible_source='assumption: half to double the default')
    initial_quality: Share = P(1.0, "assumption", "Effectiveness of the initial force", plausible=Uniform(0.8, 1.0), plausible_source='assumption')
    initial_service_days: int = P(209, "csv:front_strength (the force of the invasion, 24 Feb 2022 = day -209); assumption: not rotated", "Days the initial force has served at day 0 (its war weariness counts from the invasion)", "days", ge=0, le=3650)
    exodus_morale_weight: float = P(0.5, "002", "Morale lost per unit of the exodus share of the draft pool (P4)", ge=0.0, le=1000.0, plausible=Uniform(0.25, 1.0), plausible_source='assumption: half to double the default')

    @field_validator("intensity")
    @classmethod
    def _intensity(cls, v: list[tuple[int, float]]) -> list[tuple[int, float]]:
        if not v:
            raise ValueError("needs at least one (day, multiplier) step")
        days = [d for d, _ in v]
        if any(b <= a for a, b in zip(days, days[1:], strict=False)):  # a repeated day: which step holds?
            raise ValueError(f"days must increase (got {days})")
        if any(not (0.0 <= m <= MAX_INTENSITY) for _, m in v):
            raise ValueError(f"multipliers must be in [0, {MAX_INTENSITY:g}]")
        return v


class SalienceEvent(Strict):
    day: Day = P(322, "csv:salience_event_pilot_defection", "Day of the salience shock", "day")
    awareness_boost: Share = P(0.3, "assumption (csv: hotline calls rose about 70% a day after the Mi-8 pilot's defection)", "Probability that a soldier unaware of an offer learns of it on that day", plausible=Uniform(0.1, 0.5), plausible_source='assumption')
    offers: list[Name] = PF(list, "assumption", "Offers the event publicises (empty = every offer)")


class DefectionConfig(Strict):
    """The defection choice (docs/defection_choice.md; :mod:`sim.mechanisms.choice`), in home life-years (HLY)."""

    opportunity_rate: Share = P(0.00077, "calibrated: posterior median, docs/calibration.md (ABC-SMC on csv:defection_2022_2023 and csv:mobilized_cumulative); csv:hotline_surrenders_cumulative (216 surrenders for about 22,000 requests)", "Daily probability a soldier considering an offer gets the chance to act (contact with the enemy line, rotation, a wound)", "1/day", plausible=LogUniform(4e-05, 0.0061), plausible_source='posterior q5-q95 (docs/calibration.md)')
    callup_request_share: float = P(0.011, "calibrated: posterior median of the twelve-parameter ABC-SMC run (commit 76ce1e5, on csv:defection_2022_2023 and csv:mobilized_cumulative), kept fixed in the nine- and ten-parameter runs, docs/calibration.md; csv:hotline_requests_cumulative (2,000 requests by day 13, when about 200,000 men had been mobilized; callers include relatives and men not yet at the front)", "Hotline requests per man mobilized (by him or his relatives, on his call-up) to each offer open to soldiers: men not yet at the front; a count (expected value), it changes no one's state", "requests/man", ge=0.0, le=10.0, plausible=LogUniform(0.0015, 0.052), plausible_source='posterior q5-q95 (docs/calibration.md)')
    request_multiplier: float = P(0.95, "calibrated: posterior median, docs/calibration.md (ABC-SMC on csv:defection_2022_2023 and csv:mobilized_cumulative); csv:hotline_requests_cumulative note (callers include relatives and men not yet mobilized)", "Hotline requests from his relatives per soldier who first considers an offer (men called up: callup_request_share)", "requests/soldier", ge=0.0, le=100.0, plausible=Uniform(0.13, 2.5), plausible_source='posterior q5-q95 (docs/calibration.md)')
    private_mean: float = P(-4.4, "calibrated: posterior median, docs/calibration.md (ABC-SMC on csv:defection_2022_2023 and csv:mobilized_cumulative); 004 (Kuran)", "Mean hidden private preference for leaving the war, in HLY (D1); negative: loyalty to one's unit beyond the material terms", "HLY", ge=-100.0, le=100.0, plausible=Uniform(-5.9, -1.9), plausible_source='posterior q5-q95 (docs/calibration.md)')
    private_weight: float = P(6.0, "004 (Kuran); assumption", "HLY per unit of hidden unwillingness above the mean of front.unwillingness (D1)", "HLY", ge=0.0, le=100.0, plausible=Uniform(3.0, 12.0), plausible_source='assumption: half to double the default')
    weariness_per_year: float = P(1.7, "calibrated: posterior median of the twelve-parameter ABC-SMC run (commit 76ce1e5, on csv:defection_2022_2023 and csv:mobilized_cumulative), kept fixed in the nine- and ten-parameter runs, docs/calibration.md; csv:awol_court_cases_year (AWOL cases doubled in 2023, mostly mobilized men)", "War weariness: utility of leaving added per year a soldier has served at the front without relief, in HLY (D2)", "HLY/year", ge=0.0, le=100.0, plausible=Uniform(0.15, 4.3), plausible_source='posterior q5-q95 (docs/calibration.md)')
    sigma: float = P(2.0, "assumption (docs/defection_choice.md)", "Scale of the logit noise of the choice, HLY", "HLY", gt=0.0, le=100.0, plausible=Uniform(1.0, 4.0), plausible_source='assumption: half to double the default')
    c_home_usd: float = P(13_000.0, "Rosstat 2022 average wage, about 65,000 RUB/month at 60 RUB/USD", "Consumption at home (its bounds keep it above subsistence's)", "USD/year", ge=6_000.0, le=1e6, plausible=Uniform(9_000.0, 18_000.0), plausible_source='assumption: regional wages around the Rosstat average')
    c_sub_usd: float = P(2_900.0, "Russian subsistence minimum 2022, about 14,400 RUB/month", "Subsistence consumption (utility 0; a status or AWOL consumption below it has negative utility)", "USD/year", ge=100.0, le=5_000.0)
    soldier_pay_usd: float = P(39_000.0, "Kremlin, autumn 2022: at least 195,000 RUB/month", "Pay of a soldier at the front", "USD/year", ge=0.0, le=1e7, plausible=Uniform(29_000.0, 39_000.0), plausible_source='195,000 RUB/month at 60-80 RUB/USD')
    service_years: float = P(1.0, "assumption", "Years he expects to keep serving if he stays", "years", ge=0.0, le=50.0, plausible=Uniform(0.5, 3.0), plausible_source='assumption')
    remaining_years: float = P(31.0, "assumption-grade: a man of about 35, male life expectancy about 66 (Rosstat 2021)", "Remaining life expectancy", "years", gt=0.0, le=80.0, plausible=Uniform(25.0, 35.0), plausible_source='assumption')
    discount_rate: float = P(0.05, "assumption", "Continuous annual discount rate", "1/year", gt=0.0, le=1.0, plausible=LogUniform(0.02, 0.15), plausible_source='assumption')
    prison_years: float = P(6.5, "law of 24 Sep 2022: voluntary surrender 3-10 years (midpoint)", "Expected prison term if caught, at the base punishment (scaled by the Kremlin's punishment level)", "years", ge=0.0, le=50.0, plausible=Uniform(3.0, 10.0), plausible_source='law of 24 Sep 2022: voluntary surrender 3-10 years')
    reprisal_probability: Share = P(0.1, "assumption (D15)", "Probability his family suffers reprisals if he defects, at the base reprisal level (scaled by the Kremlin's)", plausible=Uniform(0.05, 0.3), plausible_source='assumption')
    reprisal_cost: float = P(3.0, "assumption (D15)", "Disutility of reprisals against his family", "HLY", ge=0.0, le=100.0, plausible=Uniform(1.0, 6.0), plausible_source='assumption: half to double the default')
    social_weight: float = P(5.0, "003 (Schuck); assumption", "Utility per unit share of one's unit already gone under the offer (D6 cascades)", "HLY", ge=0.0, le=100.0, plausible=Uniform(1.0, 10.0), plausible_source='assumption')
    status_consumption_usd: dict[Literal["citizenship", "asylum", "amnesty", "none"], float] = PF(
        lambda: {"citizenship": 19_000.0, "asylum": 10_000.0, "amnesty": 5_000.0, "none": 2_900.0},
        "docs/defection_choice.md (Eurostat, AsylbLG, Ukrainian wages: assumption-grade)", "Consumption under the status offered (D3: a better life in the West)", "USD/year")
    salience_events: list[SalienceEvent] = PF(lambda: [SalienceEvent()], "csv:salience_event_pilot_defection", "Salience shocks that make soldiers aware of offers (a famous defection, a publicised reward)")
    awareness_contagion: float = P(0.022, "calibrated: posterior median, docs/calibration.md (ABC-SMC on csv:defection_2022_2023 and csv:mobilized_cumulative); Bass (1969), Management Science 15(5): 215-227, the imitation coefficient q; 0 = off", "Daily awareness hazard per unit share of the soldiers present who already know of the offer (talk about the offer itself, front-wide; D5)", "1/day", ge=0.0, le=10.0, plausible=Uniform(0.003, 0.055), plausible_source='posterior q5-q95 (docs/calibration.md)')
    word_of_mouth: float = P(2.0, "004", "Daily awareness hazard per unit share of one's unit gone under an offer (D5)", ge=0.0, le=1000.0, plausible=Uniform(0.5, 4.0), plausible_source='assumption')
    war_criminal_share: Share = P(0.02, "000", "Share of defectors guilty of war crimes (D14)", plausible=Uniform(0.005, 0.05), plausible_source='assumption')

    @field_validator("status_consumption_usd")
    @classmethod
    def _status_values(cls, v: dict[str, float]) -> dict[str, float]:
        for k, value in v.items():
            if not (0.0 < value <= 1e6):
                raise ValueError(f"consumption of {k!r} must be in (0, 1e6] USD/year, got {value}")
        return v



class Tier(Strict):
    first: int = P(10_000, "004 (Caplan)", "This payment goes to the first N real defectors under the offer", "men", ge=0, le=100_000_000)
    amount_usd: float = P(1_000_000.0, "004 (Caplan)", "Payment for men in this tier", "USD", ge=0.0, le=1e9)


class Credibility(Strict):
    model: Literal["fixed", "war_tied"] = P("fixed", "004 (Caplan)", "Fixed, or tied to the war's course (D8)")
    base: Share = P(0.9, "004", "Credibility when the war is a coin toss / always, if fixed", plausible=Uniform(0.5, 1.0), plausible_source='assumption (004: doubts about promises to defectors)')
    war_weight: Share = P(0.6, "004 (Caplan)", "How much credibility hinges on Ukraine winning (D8)", plausible=Uniform(0.3, 0.9), plausible_source='assumption')


class OfferConfig(Strict):
    name: Name = P("offer", "004", "Offer name (used in outcome columns)")
    maker: Literal["eu", "nato", "us", "ukraine", "other"] = P("eu", "004", "Who makes the offer")
    eligible: list[Literal["soldiers", "draftees"]] = PF(lambda: ["soldiers"], "004", "Who can take it")
    payment_usd: float = P(0.0, "004", "Flat payment (after any tiers are used up)", "USD", ge=0.0, le=1e9)
    tiers: list[Tier] = PF(list, "004 (Caplan)", "Earlier tiers paid by order of arrival (D10)")
    status: Literal["citizenship", "asylum", "amnesty", "none"] = P("asylum", "004", "Status granted")
    route: Literal["direct_eu", "via_ukraine", "either"] = P("via_ukraine", "004 (Caplan)", "Direct to the EU, or surrender to Ukraine (then transfer)")
    destination: dict[str, float] = PF(lambda: {"eu_west": 1.0}, "003 (Schuck)", "Hosts that resettle defectors, with weights (D7 burden sharing); empty = they stay in Ukraine")
    credibility: Credibility = PF(Credibility, "004", "D8, D11")
    surrender_survival: Share = P(0.85, "004 (Caplan)", "Probability of surviving the surrender itself (D8)", plausible=Uniform(0.6, 0.95), plausible_source='assumption (004, Caplan: survive the surrender itself)')
    repatriation_probability: Share = P(0.0, "004 (Somin)", "Probability of being sent back to Russia afterwards (D11, D18)", plausible=Uniform(0.0, 0.3), plausible_source='assumption (004, Somin: exchanges happen)')
    start_day: Day = P(0, "004", "Day the offer starts", "day")
    deadline_day: int | None = P(None, "003 (Schuck)", "Day the offer ends (none = open-ended; D6)", "day", ge=-400, le=MAX_DAYS)
    publicity: Share = P(0.02, "004", "Daily awareness hazard of an unaware soldier from publicity (leaflets, social media; D5)", "1/day", plausible=LogUniform(0.0001, 0.02), plausible_source="from the posterior q5 of Ukraine's offer's publicity (docs/calibration.md; its q95 is 0.0035) up to the default 0.02 (004) that the other offers keep")
    equipment_bounty_usd: float = P(0.0, "004 comments", "Extra payment for equipment or intelligence brought along (D17)", "USD", ge=0.0, le=1e9)
    equipment_share: Share = P(0.3, "004 comments", "Share of defectors who bring equipment", plausible=Uniform(0.1, 0.5), plausible_source='assumption')
    commander_payment_usd: float = P(0.0, "004 comments", "Payment to a unit commander who brings his unit (D17)", "USD", ge=0.0, le=1e10)
    commander_rate: Share = P(0.002, "004 comments", "Daily probability that a unit's commander takes the payment and brings his unit, at average unwillingness (scaled by the unit's relative unwillingness, capped at 3x), a $1M payment (scaled down below), full credibility and a fully aware unit", plausible=LogUniform(0.0005, 0.005), plausible_source='assumption')
    draftee_pull: float = P(0.0, "000", "Added relative flight hazard for aware draftees when draftees are eligible", ge=0.0, le=100.0)

    @model_validator(mode="after")
    def _deadline(self) -> OfferConfig:
        if self.deadline_day is not None and self.deadline_day <= self.start_day:
            raise ValueError("deadline_day must be after start_day")
        if any(not (0.0 <= w <= 1000.0) for w in self.destination.values()):
            raise ValueError("destination weights must be in [0, 1000]")
        return self


# ---------------------------------------------------------------------------------------
# protest and voice, security


def _default_offers() -> list[OfferConfig]:
    """Ukraine's real offer, in force since before the mobilization (the status quo): the
    'I Want to Live' hotline (from 18 Sep 2022, day -3: csv:policy_ukraine_surrender_hotline_opens),
    amnesty and 5 million roubles, about $48,000 (002, 004). Its value hinges on the war
    (D8), and repatriation in an exchange remains possible (D11). Its publicity is the
    calibrated posterior median (docs/calibration.md)."""
    return [OfferConfig(name="ukraine_amnesty", maker="ukraine", eligible=["soldiers"], payment_usd=48_000.0,
                        status="amnesty", route="via_ukraine", destination={},
                        credibility=Credibility(model="war_tied", base=0.7, war_weight=0.6), surrender_survival=0.8,
                        repatriation_probability=0.15, start_day=-3, publicity=0.00054)]


class ExitVoice(Strict):
    link: Literal["none", "substitute", "complement", "inverted_u"] = P("substitute", "002", "How the exodus changes voice at home (P1 vs P4; Hirschman)", plausible=Choice('none', 'substitute', 'complement', 'inverted_u'), plausible_source='002: the sign and shape of exit and voice are disputed (P1 vs P4)')
    strength: float = P(1.0, "002", "Size of the link's effect on the activation margin", ge=0.0, le=100.0, plausible=Uniform(0.5, 2.0), plausible_source='assumption: half to double the default')
    reference_share: float = P(0.02, "002", "Exodus share of the draft pool at which the effect reaches its full strength", gt=0.0, le=1.0, plausible=Uniform(0.01, 0.04), plausible_source='assumption: half to double the default')
    peak_share: float = P(0.02, "assumption", "For inverted_u: exodus share where the complement effect peaks", gt=0.0, le=1.0, plausible=Uniform(0.01, 0.04), plausible_source='assumption: half to double the default')
    legitimacy_weight: float = P(0.5, "002", "Legitimacy lost per unit of the link's complement effect (P4)", ge=0.0, le=100.0, plausible=Uniform(0.25, 1.0), plausible_source='assumption: half to double the default')


class ProtestConfig(Strict):
    panel_per_region: int = P(2_000, "assumption", "Representative protesters simulated per region (super-individuals of the men at home and their families)", ge=10, le=1_000_000)
    family_multiplier: float = P(2.0, "002", "Family members per man at home who may protest (P5: soldiers' wives and mothers)", ge=0.0, le=20.0, plausible=Uniform(1.0, 3.0), plausible_source='assumption')
    k: float = P(2.3, "Epstein 2002", "Arrest-probability constant", gt=0.0, le=100.0, plausible=Uniform(1.5, 3.5), plausible_source='assumption')
    threshold: float = P(0.1, "Epstein 2002", "Activation threshold T", ge=0.0, le=10.0, plausible=Uniform(0.05, 0.2), plausible_source='assumption: half to double the default')
    arrest_variant: Literal["raw", "floor", "round"] = P("floor", "Epstein 2002", "How cops/actives is rounded inside 1 - exp(-k x ratio) (published implementations differ)", plausible=Choice('raw', 'floor', 'round'), plausible_source='docs/protest_epstein.md: published implementations differ')
    step_order: Literal["decide_then_arrest", "arrest_then_decide"] = P("decide_then_arrest", "assumption (docs/protest_epstein.md)", "Order within a day's protest step: everyone decides on yesterday's actives and police then arrest today's, or police first arrest yesterday's actives and the rest decide on those left (the regional panel has no space: of the grid's move/decide order only this remains)", plausible=Choice("decide_then_arrest", "arrest_then_decide"), plausible_source="assumption: implementations differ in the order within a step (docs/protest_epstein.md)")
    legitimacy_initial: Share = P(0.85, "assumption", "Perceived legitimacy of the regime at day 0", plausible=Uniform(0.75, 0.9), plausible_source='assumption')
    legitimacy_recovery: Share = P(0.01, "assumption", "Daily rate at which the memory of protest (which lowers legitimacy) follows current protest", plausible=LogUniform(0.005, 0.02), plausible_source='assumption: half to double the default')
    legitimacy_casualty_weight: float = P(4.0, "002", "Legitimacy lost per unit casualty share of the pool (P5)", ge=0.0, le=1e6, plausible=Uniform(2.0, 8.0), plausible_source='assumption: half to double the default')
    legitimacy_protest_weight: float = P(0.5, "002", "Legitimacy lost per unit active share (P1)", ge=0.0, le=1000.0, plausible=Uniform(0.25, 1.0), plausible_source='assumption: half to double the default')
    hardship_base: Share = P(0.3, "Epstein 2002", "Baseline hardship multiplier", plausible=Uniform(0.2, 0.4), plausible_source='assumption')
    hardship_callup_weight: float = P(75.0, "hand fit to csv:protest_detentions_daily (745 on day 3) under the calibrated front-loaded call-up (docs/calibration.md); 002", "Hardship per unit share of the region summoned over the last month (P5)", ge=0.0, le=1e6, plausible=Uniform(37.5, 150.0), plausible_source='assumption: half to double the default')
    hardship_announcement_weight: float = P(0.1, "001", "Hardship added by the call-up rumour right after an announcement (P2: thousands protested on the day)", ge=0.0, le=1000.0, plausible=Uniform(0.05, 0.2), plausible_source='assumption: half to double the default')
    hardship_casualty_weight: float = P(300.0, "002", "Hardship per unit share of the region's men killed or wounded (P5)", ge=0.0, le=1e6, plausible=Uniform(150.0, 600.0), plausible_source='assumption: half to double the default')
    max_jail_days: int = P(30, "Epstein 2002", "Jail terms are uniform on 1..max", "days", ge=1, le=3650, plausible=Uniform(10, 60), plausible_source='assumption')
    arrest_capacity: float = P(0.3, "001", "Share of active protesters police can arrest per day at most", ge=0.0, le=1.0, plausible=Uniform(0.1, 0.5), plausible_source='assumption')
    exit_voice: ExitVoice = PF(ExitVoice, "002", "P1, P4")
    evasion_weight: float = P(1.0, "001", "Relative hazard that a blocked would-be leaver evades at home (P3)", ge=0.0, le=100.0, plausible=Uniform(0.5, 2.0), plausible_source='assumption: half to double the default')


class SecurityConfig(Strict):
    infiltrator_matter_share: Share = P(0.05, "004", "Share of admitted infiltrators who can do real harm (H3: spies need clearances)", plausible=Uniform(0.01, 0.1), plausible_source='assumption')
    incident_rate: float = P(0.01, "000 comments", "Daily probability an infiltrator who matters causes an incident", "1/day", ge=0.0, le=1.0, plausible=LogUniform(0.003, 0.03), plausible_source='assumption')
    pretext_reference_share: float = P(0.05, "002", "Diaspora share of a small frontline host at which the pretext index is 1 - 1/e (H2)", gt=0.0, le=1.0, plausible=Uniform(0.02, 0.1), plausible_source='assumption')
    intelligence_per_defector: float = P(1.0, "000 comments", "Intelligence units gained per screened defector (H6); 0 turns it off", ge=0.0, le=1e6, plausible=Uniform(0.5, 2.0), plausible_source='assumption: half to double the default')


class UncertaintyConfig(Strict):
    posterior: str | None = P("package:history_2022", "docs/calibration.md (the shipped ABC-SMC posterior of history_2022)", "Posterior sample whose draws set the uncertain parameters (parquet: one row per particle, columns = parameter paths such as defection.private_mean, plus weight summing to 1); package:NAME is sim/data/posterior/NAME.parquet, any other path is relative to the file that sets it; null (YAML; ~ too) = fixed parameters, bands show replication noise only")


# ---------------------------------------------------------------------------------------
# the scenario


class Scenario(Strict):
    """One fully resolved scenario."""

    name: str = P("baseline", "assumption", "Scenario name", max_length=80)
    description: str = P("", "assumption", "One-line description shown by `asylumsim list`", max_length=300)
    extends: str | None = P(None, "assumption", "Parent scenario (a name, or a .yaml path relative to this file)")
    run: RunConfig = PF(RunConfig, "assumption", "Run settings")
    population: PopulationConfig = PF(PopulationConfig, "assumption", "Draft-eligible men")
    regions: list[RegionConfig] = PF(_default_regions, "002", "Regions (R2)")
    exits: list[ExitConfig] = PF(_default_exits, "002", "Exits (F2)")
    hosts: list[HostConfig] = PF(_default_hosts, "001, 002", "Host countries (F4)")
    host_policy: HostPolicyConfig = PF(HostPolicyConfig, "001, 003", "What each admission policy means")
    mobilization: MobilizationConfig = PF(MobilizationConfig, "000", "R3, R4")
    flight: FlightConfig = PF(FlightConfig, "002", "F1, F2")
    kremlin: KremlinConfig = PF(KremlinConfig, "002", "F3, R1, D16, P1")
    front: FrontConfig = PF(FrontConfig, "004", "D1, D2, D4")
    defection: DefectionConfig = PF(DefectionConfig, "004", "D3, D5, D6")
    offers: list[OfferConfig] = PF(_default_offers, "002, 004; csv:policy_ukraine_surrender_hotline_opens", "Offers to defectors and draftees; the status quo has Ukraine's (amnesty and 5M roubles, hotline from day -3): other scenarios add theirs to it, `no_offers` removes it")
    protest: ProtestConfig = PF(ProtestConfig, "002", "P1-P5")
    security: SecurityConfig = PF(SecurityConfig, "000, 004", "H1-H6")
    uncertainty: UncertaintyConfig = PF(UncertaintyConfig, "docs/calibration.md", "Parameter uncertainty: replication i of every scenario in a run or comparison takes the same posterior draw (docs/guide.md)")

    @field_validator("name")
    @classmethod
    def _visible_name(cls, v: str) -> str:
        """A scenario name labels results, tables and figures: it must show something."""
        if not v.strip():
            raise ValueError("must not be empty or only spaces")
        if not v.isprintable():
            raise ValueError("must not contain line breaks or control characters")
        return v

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        host_names = [h.name for h in self.hosts]
        exit_names = [e.name for e in self.exits]
        for label, names in (("hosts", host_names), ("exits", exit_names),
                             ("regions", [r.name for r in self.regions]), ("offers", [o.name for o in self.offers])):
            dup = {n for n in names if names.count(n) > 1}
            if dup:
                raise ValueError(f"{label}: names repeat: {sorted(dup)}")
        if not self.regions:
            raise ValueError("regions: at least one region is needed")
        if not self.exits:
            raise ValueError("exits: at least one exit is needed (close it with closed_from_day for a sealed border)")
        offer_names = {o.name for o in self.offers}
        for ev in self.defection.salience_events:
            unknown = sorted(set(ev.offers) - offer_names)
            if unknown:
                raise ValueError(f"defection.salience_events: day {ev.day} names unknown offer(s) {unknown}")
        if len(self.offers) > MAX_OFFERS:
            raise ValueError(f"offers: at most {MAX_OFFERS} offers can run at once, got {len(self.offers)}")

        total = sum(r.pool_share for r in self.regions)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"regions: pool_share values sum to {total:.6g}, not 1")
        for e in self.exits:
            if e.host not in host_names:
                raise ValueError(f"exits: {e.name} leads to unknown host {e.host!r}")
        for r in self.regions:
            for x in r.travel_days:
                if x not in exit_names:
                    raise ValueError(f"regions: {r.name}.travel_days names unknown exit {x!r}")
            if any(not (0.0 <= d <= 365.0) for d in r.travel_days.values()):
                raise ValueError(f"regions: {r.name}.travel_days must be in [0, 365]")
        for h in self.hosts:
            for x in h.onward:
                if x not in host_names or x == h.name:
                    raise ValueError(f"hosts: {h.name}.onward names unknown host {x!r}")
        for o in self.offers:
            for x in o.destination:
                if x not in host_names:
                    raise ValueError(f"offers: {o.name}.destination names unknown host {x!r}")
        return self


def iter_fields(model: type[BaseModel], prefix: str = ""):
    """Yield (dotted path, FieldInfo, annotation) for every leaf parameter of a schema class.

    List-of-model fields are reported both as a whole and as ``path[].field``.
    """
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        ann = info.annotation
        sub = _model_in(ann)
        if sub is not None and not _is_list(ann):
            yield from iter_fields(sub, path)
        else:
            yield path, info, ann
            if sub is not None:
                yield from iter_fields(sub, path + "[]")


def constraint_metadata(info: Any, ann: Any) -> list[Any]:
    """Constraint objects on a field, including those inside ``Optional[Annotated[...]]``."""
    import types
    import typing

    from pydantic.fields import FieldInfo

    found = list(info.metadata)
    stack = [ann]
    while stack:
        a = stack.pop()
        if typing.get_origin(a) is typing.Annotated:
            for m in a.__metadata__:
                found.extend(m.metadata if isinstance(m, FieldInfo) else [m])
            stack.append(a.__origin__)
        elif typing.get_origin(a) in (typing.Union, types.UnionType):
            stack.extend(typing.get_args(a))
    return found


def field_bounds(info: Any, ann: Any) -> dict[str, float]:
    """The numeric bounds (``ge``, ``gt``, ``le``, ``lt``) declared on a field."""
    out: dict[str, float] = {}
    for m in constraint_metadata(info, ann):
        for k in ("ge", "gt", "le", "lt"):
            if getattr(m, k, None) is not None:
                out[k] = getattr(m, k)
    return out


def _is_list(ann: Any) -> bool:
    return getattr(ann, "__origin__", None) is list


def _model_in(ann: Any) -> type[BaseModel] | None:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in getattr(ann, "__args__", ()) or ():
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None
