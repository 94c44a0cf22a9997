"""Routes (ODD 7.3, first half): exits as men see them each morning, and journeys to them.

:meth:`Routes.plan` runs once a morning, after the institutions and before the phases:
which exits are crossable and open, their prices (from yesterday's queues) and the route
choice probabilities per region. Mobilization and Flight then ask whether a region has a
way out (:meth:`Routes.reach`), whether a man can pay (:meth:`Routes.afford`), and start
leavers' journeys (:meth:`Routes.start_journey`); Borders reads which exits are open and
who reaches his exit today (:meth:`Routes.arriving`).
"""

from __future__ import annotations

import bisect

import numpy as np

from sim.actors import Actors
from sim.config.schema import Scenario
from sim.ledger import State
from sim.mechanisms import flight as fl
from sim.world import World


class Routes:
    """Exit choice and travel.

    Reads: ``sc.exits``, ``sc.flight``, hosts' admission, the geography, exit queues,
    ``signals.exit_demand``. Writes: its own morning plan (``crossable``, ``open``,
    ``prices``, ``probs``); men who start a journey (pool state, exit, due day; ledger), and
    its own list of the men on their way to an exit.
    """

    def __init__(self, world: World, actors: Actors, sc: Scenario):
        self.world, self.pool, self.ledger = world, world.pool, world.ledger
        self.geo, self.queues, self.signals = world.geo, world.queues, world.signals
        self.hosts = actors.hosts
        self.exits, self.f = sc.exits, sc.flight
        n_exits = len(sc.exits)
        self.crossable = np.ones(n_exits, dtype=bool)
        self.open = np.ones(n_exits, dtype=bool)
        self.prices = np.zeros(n_exits)
        self.probs = np.zeros((len(sc.regions), n_exits))
        self._reach = np.zeros(len(sc.regions), dtype=bool)  # from probs, with the plan
        self._cost_r = np.full(len(sc.regions), np.inf)  # expected route cost per region (inf: no route)
        self._afford_cost = np.ones(len(sc.regions))  # the same, 1.0 where there is no route
        self._travel_whole = np.floor(self.geo.travel_finite).astype(np.int32)  # whole days of travel
        self._key: tuple | None = None  # the plan's inputs when probs was computed
        self._exit_host = [int(h) for h in self.geo.exit_host]
        self._base_cost = np.array([e.base_cost_usd for e in sc.exits])
        self._surge = np.array([e.price_surge for e in sc.exits])
        self._capacity = np.array([e.capacity_per_day for e in sc.exits])
        self._free_men = self.geo.free_men.tolist()  # per exit, as Python floats (scalar use)
        # an exit closes or reopens only on these days, so crossable changes only there
        self._closure_days = sorted({d for e in sc.exits for d in (e.closed_from_day, e.reopen_day) if d is not None})
        self._gates: tuple | None = None  # (closure period, hosts' admission) when open was set
        # men travelling to their exit: every man in TRANSIT got there by start_journey and
        # leaves it only at his exit, so the men arriving on a day are found among these
        # instead of among all the pool's scanned men (kept by start_journey and arriving)
        self._en_route = np.empty(0, dtype=np.int64)
        self._started: list[np.ndarray] = []

    def plan(self, day: int) -> None:
        """Set this morning's crossable and open exits, prices and route probabilities.

        An exit is crossable unless physically closed today; open (to leavers) if crossable,
        its host admits draftees and its capacity leaves room once background traffic has
        crossed (background first, docs/ODD.md 7.3); usable if open and its queue is no
        longer than a man would wait (F2). Each part is recomputed only when its inputs
        moved (else yesterday's stands, unchanged).
        """
        admits = tuple(self.hosts[h].admit_share > 0.0 for h in self._exit_host)
        gates = (bisect.bisect_right(self._closure_days, day), admits)
        if gates != self._gates:
            self._gates = gates
            self.crossable = np.array([not (e.closed_from_day is not None and day >= e.closed_from_day
                                            and (e.reopen_day is None or day < e.reopen_day)) for e in self.exits])
            self.open = self.crossable & np.array(admits) & (self.geo.free_men > 0)  # places left after background
        wait = [q.wait_days(c) for q, c in zip(self.queues, self._free_men, strict=True)]
        demand = self.signals.exit_demand
        key = (gates, wait, demand.tobytes())
        if key == self._key:
            return
        self._key = key
        f = self.f
        wait_a = np.array(wait)
        self.prices = fl.exit_prices(self._base_cost, self._surge, demand * self.geo.places_per_man, self._capacity)
        usable = self.open & (wait_a <= f.max_queue_days)
        self.probs = fl.route_probabilities(self.geo.travel_finite, self.geo.reachable, usable, wait_a, self.prices,
                                            f.travel_cost_per_day, f.queue_cost_per_day, f.price_cost_weight)
        self._reach = self.probs.sum(axis=1) > 0
        cost_r = (self.probs * self.prices[None, :]).sum(axis=1)
        self._cost_r = np.where(cost_r > 0, cost_r, np.inf)
        self._afford_cost = np.where(np.isfinite(self._cost_r), self._cost_r, 1.0)  # the cost afford weighs

    def reach(self) -> np.ndarray:
        """Whether each region has a usable exit this morning, shape (n_regions,)."""
        return self._reach

    def afford(self, men: np.ndarray) -> np.ndarray:
        """Probability each man can pay his region's expected route (F2), shape (len(men),)."""
        return fl.affordability(self.pool.means[men], self._afford_cost[self.pool.region[men]], self.f.cost_sensitivity)

    def start_journey(self, men: np.ndarray, day: int, src: State, rng: np.random.Generator) -> None:
        """Leavers (in state ``src``) pick an exit by region and travel to it; a man whose
        region has no way out hides instead. The exits are drawn from ``rng``, the calling
        submodel's stream (:mod:`sim.streams`), so that how many men one submodel sends on
        their way does not move another's draws."""
        if men.size == 0:
            return
        pool = self.pool
        regions = pool.region[men]
        ok = self._reach[regions]
        if src == State.HOME:
            pool.left_home(men)
        if not ok.all():  # usually every region has a way out
            stuck = men[~ok]
            pool.set_state(stuck, State.HIDING)
            self.ledger.move(src, State.HIDING, stuck.size)
            men, regions = men[ok], regions[ok]
        exits = fl.choose_rows(rng, self.probs, regions)
        pool.set_state(men, State.TRANSIT)
        pool.exit_idx[men] = exits
        pool.due_day[men] = day + self._travel_whole[regions, exits]
        pool.touch(men)
        self.ledger.move(src, State.TRANSIT, men.size)
        if men.size:
            self._started.append(men)

    def arriving(self, day: int) -> np.ndarray:
        """Men in transit whose journey ends today (``due_day == day``), in the order of
        the pool's scanned list (as ``pool.in_state(State.TRANSIT)`` lists them); forgets
        the men whose journey has ended. Call once a day, with the days in order."""
        pool = self.pool
        if self._started:
            self._en_route = np.concatenate([self._en_route, *self._started])
            self._started.clear()
        men = self._en_route
        if men.size == 0:
            return men
        due = pool.due_day[men]
        here = men[due == day]
        self._en_route = men[due > day]
        if here.size > 1:
            here = here[np.argsort(pool.scanned.pos[here])]
        return here
