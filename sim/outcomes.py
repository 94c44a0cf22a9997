"""Daily outcomes: the ONE registry of output columns, and the day's row.

:data:`OUTPUTS` names every column (stable: users' scripts rely on the names), its unit
and title, whether it is a family with one column per host, exit, source, origin, offer
or small host (``<name>__<member>``), and its place in summary tables and default figures.
The daily row's columns (:func:`output_names`), the plots' labels, compare's metrics of
interest and the claims' outcome columns are all derived from it.

All counts are in real people (simulated individuals x scale); money in USD.
``protest_active`` is an index of voice (potential protesters times the active share of
the protest panel), not a head count (docs/ODD.md, "Protest"). Border columns come in two
kinds: ``entries_cum__<host>`` is what border statistics count (every traveller:
background traffic, the men's companions, onward moves), while ``admitted_cum__<host>``
counts only draft-eligible men the host admitted at the border from Russia; summed over
hosts it equals ``fled_cum``. This module
reads the world and the institutions; it does not import the model. The registry imports
only the schema, so the CLI (claims, plots) can read it without numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sim.config.schema import Scenario

if TYPE_CHECKING:  # types only: outcomes sits below the actors and the world in no import
    from sim.actors import Kremlin, OfferMaker
    from sim.observed import Observed
    from sim.world import World

Per = Literal["host", "exit", "source", "origin", "offer", "small_host"]


@dataclass(frozen=True)
class Output:
    """One daily output column, or a family of columns.

    Attributes:
        name: The column name; for a family (``per`` set), the prefix before ``__``.
        unit: Unit of the values, as figure axes show it (e.g. ``"soldiers"``, ``"US dollars"``).
        title: Figure title; for a family, the text before the first comma titles each
            member's panel.
        per: For a family, what it is per; ``None`` for a single column.
        headline: Rank in summary tables (1 = first); 0 = not a headline metric.
        figure: Drawn by default (a single column: in the overview; a family: one panel
            per member).
    """

    name: str
    unit: str
    title: str
    per: Per | None = None
    headline: int = 0
    figure: bool = False


OUTPUTS: tuple[Output, ...] = (
    Output("front_strength", "soldiers", "Soldiers at the front", headline=2, figure=True),
    Output("front_effective", "trained-soldier equivalents", "Effective front-line strength", headline=1, figure=True),
    Output("in_training", "men", "Men in training"),
    Output("summoned", "men", "Men summoned, not yet answered"),
    Output("summoned_cum", "men", "Men summoned (cumulative)"),
    Output("mobilized_cum", "men", "Men mobilized (cumulative)", headline=8),
    Output("mobilized_minority_cum", "men", "Men mobilized in minority regions (cumulative)"),
    Output("fled_cum", "men", "Men who fled abroad (cumulative)", headline=4, figure=True),
    Output("abroad", "men", "Men abroad"),
    Output("turned_back_cum", "men", "Men turned back at the border (cumulative)"),
    Output("returned_cum", "men", "Men who returned home (cumulative)"),
    Output("evading_at_home", "men", "Men evading at home"),
    Output("casualties_cum", "soldiers", "Casualties, killed and wounded (cumulative)", headline=5, figure=True),
    Output("kia_cum", "soldiers", "Killed in action (cumulative)", headline=6),
    Output("wia_cum", "soldiers", "Wounded in action (cumulative)"),
    Output("defected_cum", "soldiers", "Soldiers who defected (cumulative)", headline=3, figure=True),
    Output("caught_cum", "soldiers", "Soldiers caught defecting (cumulative)"),
    Output("awol_cum", "soldiers", "Soldiers who went AWOL, caught or not (cumulative)"),
    Output("awol_caught_cum", "soldiers", "AWOL soldiers caught by their own side, to be tried (cumulative)"),
    Output("awol_court_cases_cum", "court cases",
           "AWOL court cases: caught AWOL soldiers whose case has reached a court, court_delay_days after capture (cumulative)"),
    Output("awol_court_cases_before_run_cum", "court cases",
           "AWOL court cases of men caught before the run's first day, reaching a court in its first court_delay_days days "
           "at front.awol_court_cases_before_run a day (expected count; not in awol_court_cases_cum or refusal_court_cases_cum)"),
    Output("refusal_court_cases_cum", "court cases",
           "Court cases for refusing to fight: AWOL cases plus caught defectors not shot, once they reach a court (cumulative)"),
    Output("captured_by_enemy_cum", "soldiers", "Soldiers captured by the enemy in combat, involuntary (cumulative)"),
    Output("pow_voluntary_share", "share", "Share of prisoners held by the enemy who surrendered voluntarily (defected / (defected + captured))"),
    Output("executed_cum", "soldiers", "Soldiers executed (cumulative)"),
    Output("imprisoned_cum", "soldiers", "Soldiers imprisoned (cumulative)"),
    Output("repatriated_cum", "soldiers", "Defectors repatriated (cumulative)"),
    Output("offer_cost_usd_cum", "US dollars", "Offer payments (cumulative)", headline=10),
    # an index of voice, not a head count: definition in docs/ODD.md, section 7.9
    Output("protest_active", "index (unitless)", "Protest activity index (not a head count; docs/ODD.md 7.9)",
           headline=7, figure=True),
    Output("arrests_cum", "index (unitless)", "Arrests index (cumulative; not a head count; docs/ODD.md 7.9)"),
    Output("legitimacy", "share", "Regime legitimacy"),
    Output("concessions_cum", "concessions", "Concessions made (cumulative)"),
    Output("exit_restriction_active", "0/1", "Exit restriction in force"),
    Output("detection", "probability", "Detection of defection attempts"),
    Output("infiltrators_admitted_cum", "people", "Infiltrators admitted (cumulative)"),
    Output("war_criminals_admitted_cum", "people", "War criminals admitted (cumulative)"),
    Output("incidents_cum", "incidents", "Security incidents (cumulative)"),
    Output("intelligence_cum", "index", "Intelligence from defectors (cumulative)"),
    Output("host_cost_usd_cum", "US dollars", "Hosts' costs (cumulative)"),
    Output("resettlement_usd_cum", "US dollars", "Hosts' resettlement costs (cumulative)", headline=11),
    Output("non_eligible_emigrants_cum", "people", "Non-eligible emigrants with leavers (cumulative)"),
    Output("skilled_emigrants_cum", "people", "Skilled emigrants (cumulative)"),
    Output("emigrants_since_jan_cum", "people", "Emigrants since January 2022 (cumulative)"),
    Output("replacements_cum", "soldiers", "Replacements sent to the front (cumulative)", headline=9),
    # entries are border statistics (background traffic, companions, onward moves); the flow
    # figure uses admissions, which sum to fled_cum
    Output("entries_cum", "people", "Border entries, by host country (cumulative)", per="host"),
    Output("admitted_cum", "men", "Draft-eligible men admitted abroad, by host country (cumulative)", per="host",
           figure=True),
    Output("abroad", "men", "Men abroad, by host country", per="host"),
    Output("queue", "men", "Men queued, by exit", per="exit"),
    Output("replacements_cum", "soldiers", "Replacements, by source (cumulative)", per="source", figure=True),
    Output("kia_cum", "soldiers", "Killed in action, by origin (cumulative)", per="origin"),
    Output("defected_cum", "soldiers", "Defections, by offer (cumulative)", per="offer", figure=True),
    Output("offer_aware_cum", "soldiers", "Soldiers who learned of the offer, by offer (cumulative)", per="offer"),
    Output("offer_considering_cum", "soldiers", "Soldiers who considered the offer, by offer (first time, cumulative)", per="offer"),
    Output("offer_requests_cum", "requests",
           "Requests to the offer maker, by offer (soldiers considering it and their relatives, plus men called up and their relatives; cumulative)",
           per="offer"),
    Output("defection_attempts_cum", "soldiers", "Defection attempts, by offer (cumulative)", per="offer"),
    Output("defection_caught_cum", "soldiers", "Defection attempts caught by their own side, by offer (cumulative)", per="offer"),
    Output("defection_killed_cum", "soldiers", "Soldiers killed in a defection attempt, by offer (cumulative)", per="offer"),
    Output("offer_cost_usd_cum", "US dollars", "Offer payments, by offer (cumulative)", per="offer"),
    Output("host_cost_usd_cum", "US dollars", "Hosts' costs, by host country (cumulative)", per="host"),
    Output("pretext_risk", "index", "Pretext risk, by small front-line host", per="small_host"),
)
"""Every output, singles first, then families; this is the columns' order."""

PLACEHOLDER: dict[str, str] = {"host": "<host>", "exit": "<exit>", "source": "<source>", "origin": "<origin>",
                               "offer": "<offer>", "small_host": "<host>"}
"""How a family's member is written in the claims' outcome columns."""


def members(sc: Scenario, per: Per) -> list[str]:
    """The names a family's columns are per, for scenario ``sc``.

    Raises:
        KeyError: For an unknown ``per``.
    """
    sources = [s.name for s in sc.kremlin.replacement.sources]
    return {
        "host": lambda: [h.name for h in sc.hosts],
        "exit": lambda: [e.name for e in sc.exits],
        "source": lambda: sources,
        "origin": lambda: ["initial", "mobilized"] + sources,
        "offer": lambda: [o.name for o in sc.offers],
        "small_host": lambda: [h.name for h in sc.hosts if h.size_class == "small_frontline"],
    }[per]()


def output_names(sc: Scenario) -> list[str]:
    """Every daily output column for a scenario, in the registry's order."""
    names = [o.name for o in OUTPUTS if o.per is None]
    for o in OUTPUTS:
        if o.per is not None:
            names += [f"{o.name}__{m}" for m in members(sc, o.per)]
    return names


def headline_metrics() -> tuple[str, ...]:
    """Single columns with a headline rank, in rank order (compare's metrics of interest)."""
    return tuple(o.name for o in sorted((o for o in OUTPUTS if o.per is None and o.headline), key=lambda o: o.headline))


def figure_metrics() -> tuple[str, ...]:
    """Single columns drawn by default, headlines first in rank order."""
    return tuple(o.name for o in sorted((o for o in OUTPUTS if o.per is None and o.figure),
                                        key=lambda o: (o.headline or len(OUTPUTS), o.name)))


def claim_columns() -> tuple[str, ...]:
    """Outcome columns as claims cite them: families as ``name__<member kind>``."""
    return tuple(o.name if o.per is None else f"{o.name}__{PLACEHOLDER[o.per]}" for o in OUTPUTS)


class DailyTable:
    """The daily outputs of one run, one preallocated float64 row per day (no DataFrame
    until :meth:`frame`; no per-value appends).

    The first :meth:`add` maps the keys of :func:`daily_row` to the registry's column
    order (:func:`output_names`) once; every day then stores the row's values with one
    array assignment.

    Args:
        columns: The column names (:func:`output_names`).
        n_rows: Rows to preallocate (the table grows if more days are added).
    """

    def __init__(self, columns: list[str], n_rows: int):
        import numpy as np

        self.columns = list(columns)
        self.values = np.empty((max(n_rows, 1), len(self.columns)))
        self.n = 0
        self._order = None
        self._keys: tuple[str, ...] = ()
        self._row: DailyRow | None = None

    def record(self, world: World, kremlin: Kremlin, offers: Sequence[OfferMaker], observed: Observed) -> None:
        """Store today's outputs (:func:`daily_values`) in the next row, without a dict."""
        import numpy as np

        if self.n == self.values.shape[0]:
            self.values = np.concatenate([self.values, np.empty_like(self.values)])
        if self._row is None or self._row.world is not world:
            self._row = DailyRow(world)
        self._row.write(world, kremlin, offers, observed, self.values[self.n])
        self.n += 1

    def add(self, row: dict[str, float]) -> None:
        """Store one day's row (keys: the columns, in any order)."""
        import numpy as np

        keys = tuple(row)
        if keys != self._keys:  # first day (or a new key order): where each key goes
            if set(keys) != set(self.columns) or len(keys) != len(self.columns):
                raise KeyError(f"daily row keys differ from the columns: {sorted(set(keys) ^ set(self.columns))}")
            where = {c: i for i, c in enumerate(self.columns)}
            self._order = np.array([where[k] for k in keys])
            self._keys = keys
        if self.n == self.values.shape[0]:
            self.values = np.concatenate([self.values, np.empty_like(self.values)])
        self.values[self.n, self._order] = list(row.values())
        self.n += 1

    def frame(self, days=None):
        """The rows so far as a DataFrame (one float64 column per output), with column ``day`` first if given."""
        import pandas as pd

        df = pd.DataFrame(self.values[: self.n], columns=self.columns)
        if days is not None:
            df.insert(0, "day", days)
        return df


def daily_row(world: World, kremlin: Kremlin, offers: Sequence[OfferMaker], observed: Observed) -> dict[str, float]:
    """Today's value of every output column (keys: :func:`output_names`, in that order).

    Args:
        world: The world after the day's phases.
        kremlin: The Kremlin (concessions, exit restriction, detection).
        offers: The offer makers (payments).
        observed: Today's snapshot (the effective front strength).

    Returns:
        Column name -> value, in real people, USD, shares or indices.
    """
    import numpy as np  # here, not at the top: the registry above is read by the CLI

    names = output_names(world.sc)
    out = np.empty(len(names))
    daily_values(world, kremlin, offers, observed, out)
    return dict(zip(names, out.tolist(), strict=True))


def daily_values(world: World, kremlin: Kremlin, offers: Sequence[OfferMaker], observed: Observed, out) -> None:
    """Write today's value of every output column into ``out`` (float64, shape
    (len(output_names),), the registry's order). :func:`daily_row` is the same as a dict;
    :class:`DailyRow` the same for a world seen every day."""
    DailyRow(world).write(world, kremlin, offers, observed, out)


class DailyRow:
    """Writes the daily outputs of one world: the single columns, then each family's
    members as one array assignment.

    What stays fixed for the run (the small front-line hosts' indices, initial diaspora
    and population; the scenario's constants) is looked up once here, not every day.

    Args:
        world: The world whose outputs are written (its scenario fixes the columns).
    """

    def __init__(self, world: World):
        import numpy as np  # here, not at the top: the registry above is read by the CLI

        sc = world.sc
        self.world = world
        small = [h for h in sc.hosts if h.size_class == "small_frontline"]
        self._small_idx = np.array([world.geo.host_names.index(h.name) for h in small], dtype=np.intp)
        self._small_diaspora = np.array([h.initial_diaspora for h in small])
        self._small_population = np.array([h.population for h in small])

    def write(self, world: World, kremlin: Kremlin, offers: Sequence[OfferMaker], observed: Observed, out) -> None:
        """Write today's value of every output column into ``out`` (see :func:`daily_values`)."""
        from sim.ledger import State
        from sim.mechanisms.security import pretext_risk

        s, acc, sc = world.scale, world.accounts, world.sc
        st = world.ledger.stock.tolist()  # plain ints: the products below are exact, as in int64
        pop = sc.population
        fled_real = acc.fled_sim * s
        defected_captured = acc.defected_sim + acc.captured_sim
        singles = [  # in the order of OUTPUTS (checked in tests/test_outcomes.py)
            float(st[State.FRONT] * s),  # front_strength
            observed.front_effective_real,  # front_effective
            float(st[State.TRAINING] * s),  # in_training
            float(st[State.SUMMONED] * s),  # summoned
            float(acc.summoned_sim * s),  # summoned_cum
            float(acc.mobilized_sim * s),  # mobilized_cum
            float(acc.mobilized_minority_sim * s),  # mobilized_minority_cum
            float(fled_real),  # fled_cum
            float(st[State.ABROAD] * s),  # abroad
            float(acc.turned_back_sim * s),  # turned_back_cum
            float(acc.returned_sim * s),  # returned_cum
            float(st[State.HIDING] * s),  # evading_at_home
            float((acc.kia_sim + acc.wia_sim) * s),  # casualties_cum
            float(acc.kia_sim * s),  # kia_cum
            float(acc.wia_sim * s),  # wia_cum
            float(acc.defected_sim * s),  # defected_cum
            float(acc.caught_sim * s),  # caught_cum
            float(acc.awol_sim * s),  # awol_cum
            float(acc.awol_caught_sim * s),  # awol_caught_cum
            float(acc.awol_court_sim * s),  # awol_court_cases_cum
            acc.awol_court_before_run_real,  # awol_court_cases_before_run_cum
            float(acc.refusal_court_sim * s),  # refusal_court_cases_cum
            float(acc.captured_sim * s),  # captured_by_enemy_cum
            float(acc.defected_sim / defected_captured) if defected_captured > 0 else 0.0,  # pow_voluntary_share
            float(acc.executed_sim * s),  # executed_cum
            float(acc.imprisoned_sim * s),  # imprisoned_cum
            float(acc.repatriated_sim * s),  # repatriated_cum
            float(sum(o.cost_usd for o in offers)),  # offer_cost_usd_cum
            world.signals.protest_active_real,  # protest_active
            acc.arrests_real,  # arrests_cum
            world.signals.legitimacy,  # legitimacy
            float(kremlin.concessions),  # concessions_cum
            float(kremlin.restriction_active),  # exit_restriction_active
            kremlin.detection,  # detection
            float(acc.infiltrators_real.sum()),  # infiltrators_admitted_cum
            float(acc.war_criminals_real),  # war_criminals_admitted_cum
            acc.incidents_real,  # incidents_cum
            acc.intelligence_real,  # intelligence_cum
            float(acc.host_cost_usd.sum()),  # host_cost_usd_cum
            float(acc.resettlement_usd),  # resettlement_usd_cum
            float(fled_real * pop.non_eligible_per_leaver),  # non_eligible_emigrants_cum
            float(fled_real * pop.skilled_share_of_leavers),  # skilled_emigrants_cum
            # F7: everyone who left in 2022, the months before the order included
            float(pop.emigrated_before_day0 + fled_real * (1 + pop.non_eligible_per_leaver)),  # emigrants_since_jan_cum
            float(acc.replacements_real.sum()),  # replacements_cum
        ]
        n = len(singles)
        out[:n] = singles
        abroad = acc.abroad_sim * s
        n_off = len(offers)
        families = [  # in the order of OUTPUTS' families; offers are in index order
            acc.entries_real, acc.admitted_sim * s, abroad,  # entries_cum, admitted_cum, abroad (per host)
            [q.length * s for q in world.queues],  # queue (per exit)
            acc.replacements_real,  # replacements_cum (per source)
            acc.kia_by_origin_sim * s,  # kia_cum (per origin)
            acc.defected_by_offer_sim[:n_off] * s, acc.aware_by_offer_sim[:n_off] * s,
            acc.considered_by_offer_sim[:n_off] * s,
            acc.considered_by_offer_sim[:n_off] * s * (1.0 + sc.defection.request_multiplier)
            + acc.callup_requests_by_offer_real[:n_off],
            acc.attempts_by_offer_sim[:n_off] * s, acc.caught_by_offer_sim[:n_off] * s,
            acc.killed_by_offer_sim[:n_off] * s, [o.cost_usd for o in offers],
            acc.host_cost_usd,  # host_cost_usd_cum (per host)
        ]
        for v in families:
            k = len(v)
            out[n:n + k] = v
            n += k
        idx = self._small_idx
        if idx.size:
            diaspora = self._small_diaspora + abroad[idx] * (1 + pop.non_eligible_per_leaver) + acc.host_defectors_real[idx]
            out[n:n + idx.size] = pretext_risk(diaspora, self._small_population, sc.security.pretext_reference_share)
