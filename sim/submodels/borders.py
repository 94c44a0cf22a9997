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

    The random draws are made exit by exit, in exit order (each exit's restriction,
    then its turned-back men's, then its admission); the pool and the accounts are then
    updated once for the day, for all exits together.
    """

    def __init__(self, world: World, routes: Routes, actors: Actors, sc: Scenario):
        self.world, self.pool, self.ledger, self.rng = world, world.pool, world.ledger, world.stream("borders")
        self.accounts, self.signals, self.geo, self.queues = world.accounts, world.signals, world.geo, world.queues
        self.routes, self.kremlin, self.hosts, self.offers = routes, actors.kremlin, actors.hosts, actors.offers
        self.exits, self.retry = sc.exits, sc.flight.turned_back_retry
        n_exits, er = len(sc.exits), sc.kremlin.exit_restriction
        # static per scenario: each exit's host, the men it can let through a day once
        # background traffic has crossed, the background it counts, and its stop probability
        self._exit_host = self.geo.exit_host
        self._exit_host_list = self._exit_host.tolist()
        self._entry_hosts = np.repeat(self._exit_host, 2)  # see _count_entries
        self._entries = np.zeros((n_exits, 2))  # today's entries per exit: background, leavers (real people)
        self._free_men = self.geo.free_men.tolist()
        self._background = np.array([min(ex.background_per_day, ex.capacity_per_day) for ex in sc.exits])
        self._stop_p = [er.effectiveness * (1.0 - er.leakage) * ex.restriction_exposure for ex in sc.exits]
        self._no_arrivals = [0] * n_exits
        # static per scenario: the daily leaving rate abroad per host, its bound, the onward CDF
        self._leave_rate = self.geo.return_rate + self.geo.onward.sum(axis=1)
        self._leave_max = float(self._leave_rate.max(initial=0.0))
        self._onward_cdf = np.cumsum(self.geo.onward, axis=1)
        self._onward_top = self._onward_cdf[:, -1] if self._onward_cdf.size else np.zeros(0)  # the CDF's last value
        # static per scenario: which hosts are each offer's destination
        self._inside = [np.array([name in o.cfg.destination for name in self.geo.host_names]) for o in self.offers]
        # the day's turned-back men (chunks, in exit order) and their draws to hide
        self._back: list[np.ndarray] = []
        self._back_hide: list[np.ndarray] = []

    def _turn_back(self, men: np.ndarray) -> None:
        """Draw whether men turned back at the border go home or into hiding
        (``turned_back_retry``); :meth:`_settle_turned_back` moves them at the end of the day's exits."""
        if men.size:
            self._back.append(men)
            self._back_hide.append(self.rng.random(men.size) < self.retry)

    def _settle_turned_back(self) -> None:
        """Move the day's turned-back men home or into hiding, all exits together."""
        if not self._back:
            return
        pool = self.pool
        men, hide = np.concatenate(self._back), np.concatenate(self._back_hide)
        self._back.clear()
        self._back_hide.clear()
        home = men[~hide]
        pool.set_state(men[hide], State.HIDING)
        pool.set_state(home, State.HOME)
        pool.came_home(home)
        pool.exit_idx[men] = -1
        n_hide = int(np.count_nonzero(hide))
        self.ledger.move(State.TRANSIT, State.HIDING, n_hide)
        self.ledger.move(State.TRANSIT, State.HOME, men.size - n_hide)
        self.accounts.turned_back_sim += men.size

    def _arrivals(self, day: int) -> np.ndarray:
        """Men reaching their exit today, in a random order (one draw per man)."""
        arriving = self.routes.arriving(day)
        if arriving.size > 1:
            arriving = arriving[np.argsort(self.rng.random(arriving.size))]  # arrival order within a day
        elif arriving.size:
            self.rng.random(1)  # one man: the order is his, the draw is kept (the same stream)
        return arriving

    def step(self, day: int) -> None:
        """Process today's arrivals at every exit, then returns and onward moves abroad."""
        arriving = self._arrivals(day)
        is_open = self.routes.open.tolist()
        restricted = self.kremlin.restriction_active
        exit_demand = np.zeros(len(self.exits))
        admitted_n = [0] * len(self.exits)  # men admitted per exit
        admitted: list[np.ndarray] = []  # and the men, in exit order
        exit_of = self.pool.exit_idx[arriving]
        arrivals = np.bincount(exit_of, minlength=len(self.exits)).tolist() if arriving.size else self._no_arrivals
        for e, q in enumerate(self.queues):
            if arrivals[e]:
                q.push(arriving if arrivals[e] == arriving.size else arriving[exit_of == e])
            if q.length == 0:  # nobody waiting: nothing crosses (an open exit carries no capacity over)
                if is_open[e]:
                    q.slots_today(self._free_men[e])
                continue
            if not is_open[e]:
                self._turn_back(q.clear())  # a closed exit admits no leaver
                continue
            exit_demand[e] = q.length
            men = q.pop(q.slots_today(self._free_men[e]))
            if men.size == 0:
                continue
            if restricted:
                stopped = self.rng.random(men.size) < self._stop_p[e]
                self._turn_back(men[stopped])
                men = men[~stopped]
            admit = self.rng.random(men.size) < self.hosts[self._exit_host_list[e]].admit_share
            self._turn_back(men[~admit])
            men = men[admit]
            if men.size:
                admitted.append(men)
                admitted_n[e] = men.size
        self.signals.exit_demand = exit_demand
        self._settle_turned_back()
        self._admit(admitted, admitted_n)
        self._abroad(self.world.scale)

    def _admit(self, admitted: list[np.ndarray], admitted_n: list[int]) -> None:
        """Move the men admitted today (chunks in exit order; counts per exit) abroad, and
        count them: border statistics, the hosts' costs, draftee offers' payments."""
        pool, acc, s, ppm = self.pool, self.accounts, self.world.scale, self.geo.places_per_man
        n_e = np.array(admitted_n, dtype=np.int64)
        admitted_real = np.multiply(n_e, ppm, out=self._entries[:, 1])
        self._count_entries()
        self.signals.admitted_today_real = np.bincount(self._exit_host, weights=admitted_real, minlength=len(self.hosts))
        if not admitted:
            return
        men = np.concatenate(admitted)
        busy = n_e.nonzero()[0]
        hosts = self._exit_host[busy]
        pool.set_state(men, State.ABROAD)
        pool.abroad.add(men)
        pool.host_idx[men] = np.repeat(hosts, n_e[busy])
        pool.exit_idx[men] = -1
        self.ledger.move(State.TRANSIT, State.ABROAD, men.size)
        acc.fled_sim += men.size
        per_host = np.bincount(self._exit_host, weights=n_e, minlength=len(self.hosts))
        acc.abroad_sim += per_host.astype(np.int64)
        acc.admitted_sim += per_host
        payers = [(o, inside) for o, inside in zip(self.offers, self._inside, strict=True) if o.open_to("draftees")]
        for e, h in zip(busy.tolist(), hosts.tolist(), strict=True):  # in exit order: costs add up as before
            n = admitted_n[e]
            resettle = n * s * self.hosts[h].resettlement_usd(deserter=False)
            acc.host_cost_usd[h] += resettle
            acc.resettlement_usd += resettle
            for o, inside in payers:
                if inside[h]:
                    acc.book_offer_payment(o.cfg, o.pay(n, s))

    def _count_entries(self) -> None:
        """Add today's entries to the border statistics: per exit, the background traffic
        (if the exit is crossable), then the men admitted there (real people, already in
        the second column of ``_entries``)."""
        np.multiply(self._background, self.routes.crossable, out=self._entries[:, 0])
        # np.add.at adds in index order, exit by exit as the rule reads, so two exits into
        # one host add up in the same order (floats); adding 0.0 leaves a total unchanged
        np.add.at(self.accounts.entries_real, self._entry_hosts, self._entries.ravel())

    def _abroad(self, s: int) -> None:
        """Men abroad return home (F5) or move on (onward moves), drawn by thinning."""
        pool, acc, sig, geo = self.pool, self.accounts, self.signals, self.geo
        abroad = pool.abroad.sample(self.rng, self._leave_max)
        abroad = abroad[pool.state[abroad] == State.ABROAD]
        if not abroad.size:
            return
        n_hosts = len(self.hosts)
        h = pool.host_idx[abroad]
        u = self.rng.random(abroad.size) * self._leave_max
        rate = geo.return_rate[h]
        back = u < rate
        u2 = u - rate  # past the return rate: where the draw falls in the host's onward CDF
        # a man who stays moves on if u2 falls below his host's CDF's last value (the CDF
        # never decreases); only the movers need the search for their destination
        moving = ~back & (u2 < self._onward_top[h])
        ret = abroad[back]
        if ret.size:
            pool.set_state(ret, State.HOME, src=State.ABROAD)
            pool.came_home(ret)
            acc.abroad_sim -= np.bincount(h[back], minlength=n_hosts)
            pool.host_idx[ret] = -1
            self.ledger.move(State.ABROAD, State.HOME, ret.size)
            acc.returned_sim += ret.size
        if not moving.any():  # no draw below: it would be of no man
            return
        movers, origin, u2 = abroad[moving], h[moving], u2[moving]
        dest = (u2[:, None] >= self._onward_cdf[origin]).sum(axis=1)
        # an onward move needs the destination to admit draftees
        ok = self.rng.random(movers.size) < np.array([hh.admit_share for hh in self.hosts])[dest]
        movers, origin, dest = movers[ok], origin[ok], dest[ok]
        if not movers.size:
            return
        moved = np.bincount(dest, minlength=n_hosts)
        acc.abroad_sim -= np.bincount(origin, minlength=n_hosts)
        acc.abroad_sim += moved
        pool.host_idx[movers] = dest
        # the destination counts, screens and pays for them like any arrival
        acc.entries_real += moved * geo.places_per_man
        sig.admitted_today_real += moved * geo.places_per_man
        for j in moved.nonzero()[0]:
            resettle = moved[j] * s * self.hosts[j].resettlement_usd(deserter=False)
            acc.host_cost_usd[j] += resettle
            acc.resettlement_usd += float(resettle)
        # a draftee offer pays a man once: on moving into its destination from outside it
        for o, inside in zip(self.offers, self._inside, strict=True):
            if o.open_to("draftees"):
                n_new = int((inside[dest] & ~inside[origin]).sum())
                if n_new:
                    acc.book_offer_payment(o.cfg, o.pay(n_new, s))
