"""Training pipeline (ODD 7.4): replacements ordered today enter it; those due reach the front.

Replacement orders from sources other than the domestic call-up become recruits at once
(the domestic call-up goes through summonses, :mod:`sim.submodels.mobilization`). Every
arrival due today joins the front in the emptiest units.
"""

from __future__ import annotations

import numpy as np

from sim.actors import Actors
from sim.config.schema import Scenario
from sim.ledger import State
from sim.mechanisms.replacement import Arrival, stochastic_round
from sim.submodels.routes import Routes
from sim.world import World


class Pipeline:
    """Replacements and arrivals at the front.

    Reads: ``sc.kremlin.replacement.sources``, the Kremlin's ``orders_today``,
    ``sc.population.family_ties_share``. Writes: the pipeline, the front, pool and ledger
    (TRAINING, RECOVERING -> FRONT), ``accounts.replacements_real``.
    """

    def __init__(self, world: World, routes: Routes, actors: Actors, sc: Scenario):
        self.world, self.pool, self.ledger, self.rng = world, world.pool, world.ledger, world.stream("pipeline")
        self.pipeline, self.front, self.accounts, self.geo = world.pipeline, world.front, world.accounts, world.geo
        self.kremlin, self.sc = actors.kremlin, sc
        self.sources = sc.kremlin.replacement.sources
        names = self.geo.source_names
        self._recruited = np.array([i for i, name in enumerate(names) if name != "domestic_callup"], dtype=np.int64)
        self._origin = {i: self.geo.origin_names.index(names[i]) for i in self._recruited.tolist()}

    def step(self, day: int) -> None:
        """Turn today's orders into recruits, then move arrivals due today to the front."""
        s = self.world.scale
        # one uniform per source, in the sources' order, as one draw of the same uniforms
        # (a source with no orders still draws: it keeps the stream)
        ordered = stochastic_round(self.rng, self.kremlin.orders_today[self._recruited] / s).tolist()
        for i, n in zip(self._recruited.tolist(), ordered, strict=True):
            if n > 0:
                src, name = self.sources[i], self.geo.source_names[i]
                self.ledger.seed(State.TRAINING, n, source=name)
                self.accounts.replacements_real[i] += n * s
                self.pipeline.add(day + src.delay_days, Arrival(self._origin[i], src.quality, None, n, State.TRAINING))
        due = self.pipeline.due(day)
        if not due:
            return
        # the ledger's moves summed per waiting state; each arrival's men, origin and quality
        # laid end to end in one pass
        waited: dict[int, int] = {}
        counts = [a.count for a in due]
        men = np.full(sum(counts), -1, dtype=np.int64)  # -1: a soldier from outside the pool
        at = 0
        for a in due:
            waited[a.ledger_state] = waited.get(a.ledger_state, 0) + a.count
            if a.men is not None:
                self.pool.set_state(a.men, State.FRONT, src=State(a.ledger_state))
                men[at:at + a.count] = a.men
            at += a.count
        for state, n in waited.items():
            self.ledger.move(State(state), State.FRONT, n)
        origin = np.array([a.origin for a in due], dtype=np.int8).repeat(counts)
        quality = np.array([a.quality for a in due], dtype=np.float32).repeat(counts)
        self.front.add(self.rng, self.sc, origin, quality, men, self.sc.population.family_ties_share,
                       self.pool.opposition, self.pool.family, day=day)
