"""Security (ODD 7.10): infiltrators among today's arrivals, incidents, host tolerance.

Today's admitted draftees and resettled defectors are screened per host
(:func:`sim.mechanisms.security.screen_infiltrators`); infiltrators who matter cause
incidents at a daily rate; each host checks its inflow and incidents against its
tolerance (H4).
"""

from __future__ import annotations

import numpy as np

from sim.actors import Actors
from sim.config.schema import Scenario
from sim.mechanisms.security import screen_infiltrators
from sim.submodels.routes import Routes
from sim.world import World


class Security:
    """Hosts' security.

    Reads: ``sc.security``, ``sc.kremlin.infiltrators_per_1000_leavers``, hosts'
    screening, ``signals.admitted_today_real`` and ``defector_flow_real``. Writes:
    ``accounts`` (infiltrators, incidents), hosts' incident counts and closing decisions.
    """

    def __init__(self, world: World, routes: Routes, actors: Actors, sc: Scenario):
        self.rng, self.accounts, self.signals = world.stream("security"), world.accounts, world.signals
        self.catch = world.geo.screening_catch_rate
        self.hosts = actors.hosts
        self.sec, self.per_1000 = sc.security, sc.kremlin.infiltrators_per_1000_leavers
        self._no_incidents = np.zeros(len(sc.hosts), dtype=np.int64)

    def step(self, day: int) -> None:
        """Screen today's flow, draw incidents, let hosts check their tolerance."""
        acc, sig = self.accounts, self.signals
        flow = sig.admitted_today_real + sig.defector_flow_real
        if flow.any():  # no flow: no one seeded (Poisson and binomial draws of 0 consume nothing)
            _, admitted, matter = screen_infiltrators(self.rng, flow, self.per_1000, self.catch,
                                                      self.sec.infiltrator_matter_share)
            acc.infiltrators_real += admitted
            acc.infiltrators_matter_real += matter
        if acc.infiltrators_matter_real.any():
            incidents = self.rng.poisson(self.sec.incident_rate * acc.infiltrators_matter_real)
        else:
            incidents = self._no_incidents
        acc.incidents_real += float(incidents.sum())
        flows, counts = flow.tolist(), incidents.tolist()  # plain floats, not a numpy scalar per host
        for h in self.hosts:
            h.check_tolerance(day, float(flows[h.index]), float(counts[h.index]))
