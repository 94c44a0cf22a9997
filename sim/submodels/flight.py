"""Flight (ODD 7.2): men at home leave by hazard, drawn by thinning per cell.

A man's daily hazard is (base + call-up intensity in his cell + rumour of a call-up) x
offers' pull x his static propensity (F1, D1). Candidates are drawn per propensity band
of each cell (:meth:`sim.population.Pool._order_by_band`) at the band's largest hazard
and accepted at their own (thinning). Leavers who cannot pay stay;
those whose region has no way out evade at home instead (P3); the rest set out
(:meth:`sim.submodels.routes.Routes.start_journey`).
"""

from __future__ import annotations

from sim.actors import Actors, flight_pull
from sim.config.schema import Scenario
from sim.ledger import State
from sim.mechanisms import flight as fl
from sim.mechanisms.sampling import candidates_cells
from sim.submodels.routes import Routes
from sim.world import World


class Flight:
    """Men leaving from home.

    Reads: ``sc.flight``, wave days, ``sc.protest.evasion_weight``, the pool's propensity,
    ``signals.cell_intensity``, the geography's rumour weights, offers' pull, ``routes``.
    Writes: pool and ledger (HOME -> HIDING, TRANSIT).
    """

    def __init__(self, world: World, routes: Routes, actors: Actors, sc: Scenario):
        self.pool, self.ledger, self.rng, self.signals = world.pool, world.ledger, world.stream("flight"), world.signals
        self.rumour_weight = world.geo.cell_rumour_weight
        self.routes, self.offers = routes, actors.offers
        self.f, self.evasion_weight = sc.flight, sc.protest.evasion_weight
        self.wave_days = [w.day for w in sc.mobilization.waves]

    def step(self, day: int) -> None:
        """Draw today's leavers among men at home and start their journeys."""
        pool, f, rng = self.pool, self.f, self.rng
        reach_r = self.routes.reach()
        rum = fl.rumour(day, self.wave_days, f.rumour_weight, f.rumour_decay_days)
        pressure = (f.base_hazard + f.callup_risk_weight * self.signals.cell_intensity + rum * self.rumour_weight) \
            * flight_pull(self.offers, day)
        # thinning per propensity band of each cell (Pool._order_by_band), at the band's bound
        bound = fl.hazard_to_probability(pressure[pool.band_cell] * pool.band_max_propensity)
        # all bands in one set of array calls (bands bounded by 0 draw nothing there)
        cand, b = candidates_cells(rng, pool.band_start, pool.band_stop, bound)
        home = pool.state[cand] == State.HOME
        cand, b = cand[home], b[home]
        p = fl.hazard_to_probability(pressure[pool.band_cell[b]] * pool.propensity[cand])
        men = cand[rng.random(cand.size) * bound[b] < p]
        if men.size:
            can_pay = rng.random(men.size) < self.routes.afford(men)
            men = men[can_pay]
            reach = reach_r[pool.region[men]]
            blocked = men[~reach]
            if blocked.size:  # without an exit, some would-be leavers evade at home instead (P3)
                evade = blocked[rng.random(blocked.size) < min(1.0, 0.25 * self.evasion_weight)]
                if evade.size:
                    pool.set_state(evade, State.HIDING, src=State.HOME)
                    pool.left_home(evade)
                    pool.touch(evade)
                    self.ledger.move(State.HOME, State.HIDING, evade.size)
                men = men[reach]
            self.routes.start_journey(men, day, State.HOME, self.rng)
