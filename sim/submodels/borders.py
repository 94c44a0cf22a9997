"""Borders (ODD 7.3, second half): queues, admission, exit restriction, returns, onward moves.

Background traffic crosses first, up to the capacity (border statistics count it at
every exit not physically closed). Arrivals join their exit's queue in a random order;
each exit processes the capacity left; the exit restriction (F3) stops some; the host admits a
share and turns back the rest. Men abroad return home (F5) or move on to another host
(Flee-style onward moves), drawn by thinning. Draftee offers pay a man once, when he
first enters one of their destination hosts.
"""

from __future__ import annotations

import numpy as np

from sim.actors import Actors
from sim.config.schema import Scenario
from sim.ledger import State
from sim.submodels.routes import Routes
from sim.world import World


class Borders:
    """Exits and hosts.

    Reads: ``sc.exits``, ``sc.kremlin.exit_restriction``, ``sc.flight.turned_back_retry``,
    the Kremlin's ``restriction_active``, hosts' admission and resettlement costs, offers
    open to draftees, ``routes.open``/``crossable``, the geography (exit hosts, return and
    onward rates). Writes: pool and ledger (TRANSIT -> ABROAD, HOME, HIDING; ABROAD ->
    HOME), exit queues, ``accounts`` (entries, admitted, abroad, fled, returned, turned
    back, host costs, resettlement costs), offers' payments, ``signals.exit_demand``, ``admitted_today_real``.
    """

    def __init__(self, world: World, routes: Routes, actors: Actors, sc: Scenario):
        self.world, self.pool, self.ledger, self.rng = world, world.pool, world.ledger, world.rng
        self.accounts, self.signals, self.geo, self.queues = world.accounts, world.signals, world.geo, world.queues
        self.routes, self.kremlin, self.hosts, self.offers = routes, actors.kremlin, actors.hosts, actors.offers
        self.exits, self.restriction, self.retry = sc.exits, sc.kremlin.exit_restriction, sc.flight.turned_back_retry
        self._exit_host = [int(h) for h in self.geo.exit_host]
        self._no_arrivals = np.zeros(len(sc.exits), dtype=np.int64)
        # static per scenario: the daily leaving rate abroad per host, its bound, the onward CDF
        self._leave_rate = self.geo.return_rate + self.geo.onward.sum(axis=1)
        self._leave_max = float(self._leave_rate.max(initial=0.0))
        self._onward_cdf = np.cumsum(self.geo.onward, axis=1)

    def turn_back(self, men: np.ndarray) -> None:
        """Men turned back at the border go home, or into hiding (``turned_back_retry``)."""
        if men.size == 0:
            return
        pool = self.pool
        hide = self.rng.random(men.size) < self.retry
        pool.set_state(men[hide], State.HIDING)
        pool.set_state(men[~hide], State.HOME)
        pool.came_home(men[~hide])
        pool.exit_idx[men] = -1
        self.ledger.move(State.TRANSIT, State.HIDING, int(hide.sum()))
        self.ledger.move(State.TRANSIT, State.HOME, int((~hide).sum()))
        self.accounts.turned_back_sim += men.size

    def step(self, day: int) -> None:
        """Process today's arrivals at every exit, then returns and onward moves abroad."""
        pool, s, acc, sig, geo = self.pool, self.world.scale, self.accounts, self.signals, self.geo
        transit = pool.in_state(State.TRANSIT)
        arriving = transit[pool.due_day[transit] == day]
        if arriving.size > 1:
            arriving = arriving[np.argsort(self.rng.random(arriving.size))]  # arrival order within a day
        elif arriving.size:
            self.rng.random(1)  # one man: the order is his, the draw is kept (the same stream)
        is_open, crossable = self.routes.open, self.routes.crossable
        restricted = self.kremlin.restriction_active
        er = self.restriction
        sig.admitted_today_real = np.zeros(len(self.hosts))
        sig.exit_demand = np.zeros(len(self.exits))
        exit_of = pool.exit_idx[arriving]
        arrivals = np.bincount(exit_of, minlength=len(self.exits)) if arriving.size else self._no_arrivals
        for e, ex in enumerate(self.exits):
            q = self.queues[e]
            if arrivals[e]:
                q.push(arriving if arrivals[e] == arriving.size else arriving[exit_of == e])
            h = self._exit_host[e]
            if crossable[e]:
                # border statistics count everyone; background traffic crosses first, up to
                # the capacity, and leavers get the places that remain
                acc.entries_real[h] += min(ex.background_per_day, ex.capacity_per_day)
            if q.length == 0:  # nobody waiting: nothing crosses (an open exit carries no capacity over)
                if is_open[e]:
                    q.slots_today(self.rng, ex.capacity_per_day, ex.background_per_day, geo.places_per_man)
                continue
            if not is_open[e]:
                self.turn_back(q.clear())  # a closed exit admits no leaver
                continue
            sig.exit_demand[e] = q.length
            n = q.slots_today(self.rng, ex.capacity_per_day, ex.background_per_day, geo.places_per_man)
            men = q.pop(n)
            if men.size == 0:
                continue
            if restricted:
                stop_p = er.effectiveness * (1.0 - er.leakage) * ex.restriction_exposure
                stopped = self.rng.random(men.size) < stop_p
                self.turn_back(men[stopped])
                men = men[~stopped]
            admit = self.rng.random(men.size) < self.hosts[h].admit_share
            self.turn_back(men[~admit])
            men = men[admit]
            pool.set_state(men, State.ABROAD)
            pool.abroad.add(men)
            acc.abroad_sim[h] += men.size
            pool.host_idx[men] = h
            pool.exit_idx[men] = -1
            self.ledger.move(State.TRANSIT, State.ABROAD, men.size)
            acc.fled_sim += men.size
            acc.admitted_sim[h] += men.size
            acc.entries_real[h] += men.size * geo.places_per_man
            sig.admitted_today_real[h] += men.size * geo.places_per_man
            resettle = men.size * s * self.hosts[h].resettlement_usd(deserter=False)
            acc.host_cost_usd[h] += resettle
            acc.resettlement_usd += resettle
            for o in self.offers:
                if o.open_to("draftees") and geo.host_names[h] in o.cfg.destination:
                    acc.book_offer_payment(o.cfg, o.pay(men.size, s))
        self._abroad(s)

    def _abroad(self, s: int) -> None:
        """Men abroad return home (F5) or move on (onward moves), drawn by thinning."""
        pool, acc, sig, geo = self.pool, self.accounts, self.signals, self.geo
        abroad = pool.abroad.sample(self.rng, self._leave_max)
        abroad = abroad[pool.state[abroad] == State.ABROAD]
        if not abroad.size:
            return
        n_hosts = len(self.hosts)
        h = pool.host_idx[abroad].astype(np.int64)
        u = self.rng.random(abroad.size) * self._leave_max
        back = u < geo.return_rate[h]
        ret = abroad[back]
        pool.set_state(ret, State.HOME, src=State.ABROAD)
        pool.came_home(ret)
        acc.abroad_sim -= np.bincount(h[back], minlength=n_hosts)
        pool.host_idx[ret] = -1
        self.ledger.move(State.ABROAD, State.HOME, ret.size)
        acc.returned_sim += ret.size
        stay = ~back
        cum = self._onward_cdf[h[stay]]
        u2 = u[stay] - geo.return_rate[h[stay]]
        dest = (u2[:, None] >= cum).sum(axis=1)
        moving = dest < geo.onward.shape[1]
        movers = abroad[stay][moving]
        dest = dest[moving]
        # an onward move needs the destination to admit draftees
        ok = self.rng.random(movers.size) < np.array([hh.admit_share for hh in self.hosts])[dest]
        moved = np.bincount(dest[ok], minlength=n_hosts)
        acc.abroad_sim -= np.bincount(pool.host_idx[movers[ok]], minlength=n_hosts)
        acc.abroad_sim += moved
        pool.host_idx[movers[ok]] = dest[ok]
        # the destination counts, screens and pays for them like any arrival
        acc.entries_real += moved * geo.places_per_man
        sig.admitted_today_real += moved * geo.places_per_man
        for j in moved.nonzero()[0]:
            resettle = moved[j] * s * self.hosts[j].resettlement_usd(deserter=False)
            acc.host_cost_usd[j] += resettle
            acc.resettlement_usd += float(resettle)
        # a draftee offer pays a man once: on moving into its destination from outside it
        origin = h[stay][moving][ok]
        for o in self.offers:
            if o.open_to("draftees"):
                inside = np.array([name in o.cfg.destination for name in geo.host_names])
                n_new = int((inside[dest[ok]] & ~inside[origin]).sum())
                if n_new:
                    acc.book_offer_payment(o.cfg, o.pay(n_new, s))
