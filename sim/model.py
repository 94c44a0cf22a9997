"""The asylumsim model: wiring and the daily order. The rules live in :mod:`sim.submodels`.

One step is one day. Daily order (docs/ODD.md, "Process overview"; tests pin it):

0. Every submodel's random stream is put at the day's start (:mod:`sim.streams`).
1. Institutions decide from yesterday's :class:`~sim.observed.Observed`: the Kremlin
   (call-ups, replacement orders, exit restriction, counter-defection levels,
   concessions), hosts (dated policy changes, reversals), offer makers (open/closed,
   credibility). The pool's scan lists are compacted; :class:`~sim.submodels.routes.Routes`
   plans the exits as men see them this morning.
2.-8. :data:`sim.submodels.PHASES`: Mobilization, Flight, Borders, Pipeline, Front (with
   Defection), Protest, Security.
9. Observe (:meth:`Observed.of`), check the ledger (optional), record one row of
   :func:`sim.outcomes.daily_row` in the preallocated table :attr:`AsylumModel.table`.
"""

from __future__ import annotations

import numpy as np

from sim.actors import Actors, Host, Kremlin, OfferMaker
from sim.allocator import tune_allocator
from sim.config.schema import Scenario
from sim.lazy_mesa import mesa
from sim.observed import Observed
from sim.outcomes import DailyTable, output_names
from sim.submodels import PHASES, Routes
from sim.world import World

TABLE = "daily"  # name of the table of daily outcomes


class AsylumModel(mesa.Model):
    """Russia's front-line manpower under mobilization, flight, defection offers and protest.

    Args:
        scenario: A validated scenario (validation happens at the config boundary).
        rng: Seed or generator (``self.rng``): the build draws from it, and the days from the
            submodels' streams seeded from it (:mod:`sim.streams`).

    Attributes:
        sc: The scenario (not ``self.scenario``: Mesa owns that name).
        world: Every state container (:class:`sim.world.World`).
        kremlin, hosts, offers: The institutions (mesa agents).
        routes: The morning's exit plan and journeys.
        phases: One instance of each class of :data:`sim.submodels.PHASES`, in order.
        observed: What institutions see: the snapshot taken at the end of the last day.
        table: One row of outputs per day (:class:`sim.outcomes.DailyTable`, preallocated;
            ``table.frame()`` is the DataFrame).
    """

    def __init__(self, scenario: Scenario, rng: np.random.Generator | np.random.SeedSequence | int | None = None):
        if isinstance(rng, np.random.SeedSequence):
            rng = np.random.default_rng(rng)
        tune_allocator()  # once per process: no daily page-fault churn (sim/allocator.py)
        super().__init__(rng=rng)
        sc = self.sc = scenario
        self.world = World.build(sc, self.rng)
        self.kremlin = Kremlin(self, sc.kremlin, sc.mobilization, self.world.geo.source_names)
        self.hosts = [Host(self, h, sc.host_policy, i) for i, h in enumerate(sc.hosts)]
        self.offers = [OfferMaker(self, o, i) for i, o in enumerate(sc.offers)]
        actors = Actors(self.kremlin, self.hosts, self.offers)
        self.routes = Routes(self.world, actors, sc)
        self.phases = tuple(P(self.world, self.routes, actors, sc) for P in PHASES)
        self.observed = Observed.of(self.world)
        self.table = DailyTable(output_names(sc), sc.run.days - sc.run.start_day + 1)

    @property
    def day(self) -> int:
        """Calendar day of the step being run (day 0 = the mobilization order)."""
        return self.sc.run.start_day + int(self.time) - 1

    def step(self) -> None:
        """Run one day: institutions, the morning's routes, every phase, then record a row."""
        day = self.day
        self.world.streams.align(int(self.time))  # every submodel's stream at this step's start (sim/streams.py)
        self.kremlin.step()
        self.agents_by_type[Host].shuffle_do("step")
        if self.offers:
            self.agents_by_type[OfferMaker].do("step")
        self.world.pool.compact()
        self.routes.plan(day)
        for phase in self.phases:
            phase.step(day)
        self.observed = Observed.of(self.world)
        if self.sc.run.check_ledger:
            self.world.check_ledger()
        self.table.record(self.world, self.kremlin, self.offers, self.observed)
