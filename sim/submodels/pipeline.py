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
        self.world, self.pool, self.ledger, self.rng = world, world.pool, world.ledger, world.rng
        self.pipeline, self.front, self.accounts, self.geo = world.pipeline, world.front, world.accounts, world.geo
        self.kremlin, self.sc = actors.kremlin, sc
        self.sources = sc.kremlin.replacement.sources

    def step(self, day: int) -> None:
        """Turn today's orders into recruits, then move arrivals due today to the front."""
        s = self.world.scale
        for i, name in enumerate(self.geo.source_names):
            if name == "domestic_callup":
                continue
            n = int(stochastic_round(self.rng, self.kremlin.orders_today[i] / s))
            if n > 0:
                src = self.sources[i]
                self.ledger.seed(State.TRAINING, n, source=name)
                self.accounts.replacements_real[i] += n * s
                self.pipeline.add(day + src.delay_days, Arrival(self.geo.origin_names.index(name), src.quality, None, n, State.TRAINING))
        due = self.pipeline.due(day)
        if not due:
            return
        for a in due:
            if a.men is not None:
                self.pool.set_state(a.men, State.FRONT, src=State(a.ledger_state))
            self.ledger.move(State(a.ledger_state), State.FRONT, a.count)
        origin = np.concatenate([np.full(a.count, a.origin, dtype=np.int8) for a in due])
        quality = np.concatenate([np.full(a.count, a.quality, dtype=np.float32) for a in due])
        men = np.concatenate([a.men if a.men is not None else np.full(a.count, -1, dtype=np.int64) for a in due])
        self.front.add(self.rng, self.sc, origin, quality, men, self.sc.population.family_ties_share,
                       self.pool.opposition, self.pool.family, day=day)
