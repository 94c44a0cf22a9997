"""The asylumsim model: wiring, the daily step order, and data collection.

One step is one day. Daily order (docs/ODD.md, "Process overview"; tests pin it):

1. Institutions decide: the Kremlin (call-ups, replacement orders, exit restriction,
   counter-defection levels, concessions), hosts (dated policy changes, reversals),
   offer makers (open/closed, credibility).
2. Mobilization: summonses to men at home (and to arrested protesters); summoned men
   report, hide or flee; some hiding men are found.
3. Flight: men at home leave by hazard; leavers pick an exit (route choice).
4. Borders: arrivals join exit queues; exits process their capacity; hosts admit or turn
   back; exit restriction stops some; men abroad return or move on.
5. Training pipeline: replacements ordered today enter it; those due reach the front.
6. Front: casualties, offer awareness, defection and AWOL, counter-measure fates,
   morale, commanders' distrust.
7. Protest: Epstein rule per region; arrests; legitimacy.
8. Hosts: infiltrators, screening, incidents, costs, pretext risk, tolerance checks.
9. Collect outcomes (Mesa DataCollector, one row per day).
"""

from __future__ import annotations

from collections import deque

import mesa
import numpy as np

from sim.actors import Host, Kremlin, OfferMaker
from sim.config.schema import Scenario
from sim.ledger import N_STATES, Ledger, LedgerError, State
from sim.mechanisms import defection as dfn
from sim.mechanisms import flight as fl
from sim.mechanisms.front import casualty_rates, distrust_factor, step_value, update_morale
from sim.mechanisms.mobilization import allocate, summoned_choices
from sim.mechanisms.protest import ProtestPanel, exit_voice_shift
from sim.mechanisms.replacement import Arrival, Pipeline, stochastic_round
from sim.mechanisms.routes import ExitQueue
from sim.mechanisms.sampling import candidates, candidates_cells, draw_from_cells
from sim.mechanisms.security import screen_infiltrators
from sim.outcomes import output_names
from sim.population import Pool
from sim.soldiers import Front

TAG_WAVE, TAG_DOMESTIC, TAG_NONE = 0, 1, 2  # whose call-up a man was summoned under; TAG_NONE: never summoned


class AsylumModel(mesa.Model):
    """Russia's front-line manpower under mobilization, flight, defection offers and protest.

    Args:
        scenario: A validated scenario (validation happens at the config boundary).
        rng: Seed or generator; every random draw in the model comes from ``self.rng``.
    """

    def __init__(self, scenario: Scenario, rng: np.random.Generator | np.random.SeedSequence | int | None = None):
        if isinstance(rng, np.random.SeedSequence):
            rng = np.random.default_rng(rng)
        super().__init__(rng=rng)
        sc = self.sc = scenario
        self.scale = sc.population.scale
        self.start_day = sc.run.start_day
        self.enemy_strength = sc.front.enemy_strength
        self.host_names = [h.name for h in sc.hosts]
        self.exit_names = [e.name for e in sc.exits]
        self.offer_names = [o.name for o in sc.offers]
        self.source_names = [s.name for s in sc.kremlin.replacement.sources]
        self.origin_names = ["initial", "mobilized"] + self.source_names
        n_regions, n_exits, n_hosts = len(sc.regions), len(sc.exits), len(sc.hosts)

        # --- people
        self.pool = Pool.build(sc, self.rng)
        pop, flt = sc.population, sc.flight
        self.propensity = fl.propensity(self.pool.opposition, self.pool.risk_tolerance, self.pool.family,
                                        flt.opposition_exponent, pop.family_flight_penalty)
        self.cell_max_propensity = np.array([
            self.propensity[a:b].max() if b > a else 0.0 for a, b in zip(self.pool.cell_start, self.pool.cell_stop, strict=False)])
        self.pool_tag = np.full(self.pool.n, TAG_NONE, dtype=np.int8)
        self.ledger = Ledger(self.source_names)
        self.ledger.seed(State.HOME, self.pool.n)

        fr = sc.front
        self.unit_slots = max(1, round(fr.unit_size / self.scale))
        biggest = max([fr.initial_strength] + [v for _, v in sc.kremlin.replacement.target_strength])
        n_units = int(np.ceil(1.1 * biggest / self.scale / self.unit_slots)) + 1
        self.front = Front(n_units, self.unit_slots, len(sc.offers), self.origin_names, fr.morale_initial)
        n_init = round(fr.initial_strength / self.scale)
        n_occ = round(n_init * fr.initial_occupied_share)
        occ_origin = self.origin_names.index("occupied") if "occupied" in self.origin_names else 0
        origins = np.where(np.arange(n_init) < n_init - n_occ, 0, occ_origin).astype(np.int8)
        self.front.add(self.rng, sc, origins, np.full(n_init, fr.initial_quality, dtype=np.float32),
                       np.full(n_init, -1, dtype=np.int64), pop.family_ties_share)
        self.ledger.seed(State.FRONT, n_init)
        self.outside_terminal = np.zeros(N_STATES, dtype=np.int64)
        self.pipeline = Pipeline()
        self.source_quality = {s.name: s.quality for s in sc.kremlin.replacement.sources}
        self.pool_served = np.zeros(self.pool.n, dtype=bool)  # reported at least once
        dom = [x for x in sc.kremlin.replacement.sources if x.name == "domestic_callup"]
        self._domestic_origin = self.origin_names.index("domestic_callup") if dom else 1
        self._domestic_delay = dom[0].delay_days if dom else sc.mobilization.training_days
        self._domestic_quality = dom[0].quality if dom else sc.mobilization.mobilized_quality

        # --- institutions
        self.kremlin = Kremlin(self, sc.kremlin, sc.mobilization, self.source_names)
        self.hosts = [Host(self, h, sc.host_policy, i) for i, h in enumerate(sc.hosts)]
        self.offers = [OfferMaker(self, o, i) for i, o in enumerate(sc.offers)]

        # --- geography
        self.exit_host = np.array([self.host_names.index(e.host) for e in sc.exits], dtype=np.int64)
        self.travel = np.full((n_regions, n_exits), np.inf)
        for r, reg in enumerate(sc.regions):
            for name, d in reg.travel_days.items():
                self.travel[r, self.exit_names.index(name)] = d
        self.reachable = np.isfinite(self.travel)
        self.travel_finite = np.where(self.reachable, self.travel, 0.0)
        self.queues = [ExitQueue() for _ in sc.exits]
        self.places_per_man = self.scale * (1.0 + pop.non_eligible_per_leaver)
        self.exit_demand = np.zeros(n_exits)
        onward = np.zeros((n_hosts, n_hosts))
        for i, h in enumerate(sc.hosts):
            for name, rate in h.onward.items():
                onward[i, self.host_names.index(name)] = rate
        self.onward = onward
        self.return_rate = np.array([h.return_rate_per_day for h in sc.hosts])
        cats = sc.population.categories
        prio = np.array([c.priority for c in cats])
        bias = np.array([r.callup_bias for r in sc.regions])
        self.cell_callup_weight = (bias[:, None] * prio[None, :]).ravel()
        # rumour reaches regions by their relative call-up bias and categories by priority;
        # with all biases (or priorities) zero, rumour reaches everyone equally
        mean_bias = np.average(bias, weights=[r.pool_share for r in sc.regions]) if sum(r.pool_share for r in sc.regions) > 0 else 0.0
        rel_bias = bias / mean_bias if mean_bias > 0 else np.ones_like(bias)
        rel_prio = prio / prio.max() if prio.max() > 0 else np.ones_like(prio)
        self.cell_rumour_weight = (rel_bias[:, None] * (0.25 + 0.75 * rel_prio)[None, :]).ravel()
        self.cell_intensity = np.zeros(self.pool.cell_stop.size)
        self.region_of_cell = np.repeat(np.arange(n_regions), len(cats))
        self.region_size = self.pool.counts.sum(axis=1)
        self.minority_region = np.array([r.minority for r in sc.regions])

        # --- protest
        self.panel = ProtestPanel(self.rng, n_regions, sc.protest.panel_per_region,
                                  np.array([r.police_ratio for r in sc.regions]))
        self.legitimacy = sc.protest.legitimacy_initial
        self._protest_memory = 0.0
        self.protest_share = 0.0
        self._summons_window: deque[np.ndarray] = deque(maxlen=30)
        self.region_casualties = np.zeros(n_regions)
        self.arrested_to_summon = np.zeros(n_regions, dtype=np.int64)

        # --- running totals (simulated individuals unless named *_real / *_usd)
        z = lambda n: np.zeros(n)  # noqa: E731
        self.c = {
            "summoned": 0, "mobilized": 0, "mobilized_minority": 0, "fled": 0, "turned_back": 0, "returned": 0,
            "kia": 0, "wia": 0, "defected": 0, "caught": 0, "awol": 0, "executed": 0, "imprisoned": 0,
            "repatriated": 0,
        }
        self.entries_real = z(n_hosts)
        self.admitted_sim = z(n_hosts)  # men admitted at the border from Russia (first admissions), simulated
        self.resettlement_usd = 0.0  # hosts' resettlement costs only (host_cost also holds shared offer payments)
        self.abroad_count = np.zeros(n_hosts, dtype=np.int64)
        self.repl_real = z(len(self.source_names))
        self.kia_by_origin = z(len(self.origin_names))
        self.defected_by_offer = z(len(sc.offers))
        self.host_cost = z(n_hosts)
        self.host_defectors_real = z(n_hosts)
        self.infiltrators = z(n_hosts)
        self.infiltrators_matter = z(n_hosts)
        self.war_criminals = 0.0
        self.incidents = 0.0
        self.intelligence = 0.0
        self.protest_active = 0.0
        self.arrests_real = 0.0
        self.owed_domestic_real = 0.0
        self._expected_yield = 1.0 / sc.mobilization.summons_overshoot
        self._report_hist: deque[tuple[int, int]] = deque(maxlen=14)
        self._admitted_today_real = z(n_hosts)
        self._defector_flow_real = z(n_hosts)  # defectors resettled today, per host (screened)
        self._wave_reported = 0  # simulated men reported under the call-up waves

        self.datacollector = mesa.DataCollector(model_reporters={n: n for n in output_names(sc)})
        self._update_aggregates()

    # ------------------------------------------------------------------ derived aggregates
    @property
    def day(self) -> int:
        """Calendar day of the step being run (day 0 = the mobilization order)."""
        return self.start_day + int(self.time) - 1

    def _update_aggregates(self) -> None:
        st = self.ledger.stock
        s = self.scale
        self.front_real = float(st[State.FRONT] * s)
        self.pipeline_real = float((st[State.TRAINING] + st[State.RECOVERING]) * s)
        self.summoned_real = float(st[State.SUMMONED] * s)
        self.fled_real = float(self.c["fled"] * s)
        self.mobilized_wave_real = float(self._wave_reported * s)
        present = self.front.occupied
        units = self.front.unit_of_slot
        factor = distrust_factor(self.front.attempt_rate, self.sc.front.distrust_reference_rate, self.sc.front.distrust_weight)
        self.front_effective_real = float((self.front.quality * factor[units] * present).sum() * s)

    # ------------------------------------------------------------------ the day
    def step(self) -> None:
        day = self.day
        self.kremlin.step()
        self.agents_by_type[Host].shuffle_do("step")
        if self.offers:
            self.agents_by_type[OfferMaker].do("step")
        self.pool.compact()
        self._probs_today = self._route_probs()  # exits as men see them this morning
        self._mobilize(day)
        self._flee(day)
        self._borders(day)
        self._pipeline(day)
        self._front(day)
        self._protest(day)
        self._security(day)
        self._update_aggregates()
        if self.sc.run.check_ledger:
            self.check_ledger()
        self._set_outputs(day)
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ 2. mobilization
    def _summon(self, cells_n: np.ndarray, tag: int) -> int:
        pool = self.pool
        cells = np.flatnonzero(cells_n)
        if cells.size == 0:
            return 0
        men = draw_from_cells(self.rng, pool.cell_start[cells], pool.cell_stop[cells], pool.state, State.HOME, cells_n[cells])
        pool.state[men] = State.SUMMONED
        pool.left_home(men)
        self.pool_tag[men] = tag
        pool.touch(men)
        self.ledger.move(State.HOME, State.SUMMONED, men.size)
        self.c["summoned"] += men.size
        cells = pool.region[men].astype(np.int64) * pool.n_categories + pool.category[men]
        self._summoned_cells_today += np.bincount(cells, minlength=pool.cell_stop.size)
        return men.size

    def _mobilize(self, day: int) -> None:
        mob, sc = self.sc.mobilization, self.sc
        pool, s = self.pool, self.scale
        self._summoned_cells_today = np.zeros(pool.cell_stop.size)
        home = pool.home_cells.copy()
        # how many summonses: what is owed, less what pending summonses should yield (R1, R3)
        if "domestic_callup" in self.source_names:
            self.owed_domestic_real += self.kremlin.orders_today[self.source_names.index("domestic_callup")]
        need_real = self.kremlin.owed_wave + self.owed_domestic_real
        y = self._expected_yield
        if mob.adapt_overshoot and self._report_hist:
            rep = sum(a for a, _ in self._report_hist)
            res = sum(b for _, b in self._report_hist)
            if res > 0:
                y = min(1.0, max(0.05, rep / res))
        issue_real = max(0.0, need_real - y * self.summoned_real) / y
        issue = int(stochastic_round(self.rng, min(issue_real / s, 0.01 * home.sum())))
        tag = TAG_DOMESTIC if (self.owed_domestic_real > 0 and self.kremlin.owed_wave <= 0) else TAG_WAVE
        # arrested protesters of draft age are served summonses first (P2); they fill the
        # call-up, they do not add to it
        if issue > 0 and self.arrested_to_summon.any():
            arrested = self.arrested_to_summon.astype(np.int64)
            take = allocate(self.rng, min(issue, int(arrested.sum())), arrested, np.ones(arrested.size))
            per_cell = np.zeros(pool.cell_stop.size, dtype=np.int64)
            for r in np.flatnonzero(take):
                cells = np.flatnonzero(self.region_of_cell == r)
                per_cell[cells] = allocate(self.rng, int(take[r]), home[cells], np.ones(cells.size))
            issue -= self._summon(per_cell, tag)
            home = pool.home_cells.copy()
        self.arrested_to_summon[:] = 0
        if issue > 0:
            self._summon(allocate(self.rng, issue, home, self.cell_callup_weight), tag)
        self._summons_window.append(np.bincount(self.region_of_cell, weights=self._summoned_cells_today, minlength=len(sc.regions)))
        self.cell_intensity = 0.8 * self.cell_intensity + 0.2 * self._summoned_cells_today / np.maximum(pool.cell_stop - pool.cell_start, 1)

        # summoned men choose: report, hide, flee, or wait
        men = pool.in_state(State.SUMMONED)
        if men.size:
            reach = self._region_reach()[pool.region[men]]
            lam = sc.flight.summons_hazard * self.propensity[men] * self._afford(men) * self._pull()
            flee_p = fl.hazard_to_probability(lam) * np.where(reach, 1.0, 0.0)
            blocked_p = fl.hazard_to_probability(lam) * np.where(reach, 0.0, min(1.0, 0.25 * sc.protest.evasion_weight))
            ch = summoned_choices(self.rng, pool.opposition[men], mob.report_rate, mob.hide_rate, mob.opposition_report_penalty, flee_p)
            blocked = (ch == 0) & (self.rng.random(men.size) < blocked_p)
            ch[blocked] = 2
            self._report(men[ch == 1], day, State.SUMMONED)
            hide = men[ch == 2]
            pool.state[hide] = State.HIDING
            self.ledger.move(State.SUMMONED, State.HIDING, hide.size)
            self._start_journey(men[ch == 3], day, State.SUMMONED)
            self._report_hist.append((int((ch == 1).sum()), int((ch != 0).sum())))
        # hiding men are found now and then
        hiding = pool.in_state(State.HIDING)
        if hiding.size:
            found = hiding[self.rng.random(hiding.size) < mob.hiding_catch_rate]
            self._report(self._found_callable(found), day, State.HIDING)

    def _found_callable(self, found: np.ndarray) -> np.ndarray:
        """The found hiding men who are sent to training today.

        Men who were summoned (or served before, e.g. AWOL men found again) always go.
        Men never summoned (blocked leavers, men turned back at the border) are served on
        the spot only while the call-up still owes men today: first the waves, then the
        domestic replacement call-up; they count against that quota (``summoned_cum``
        and ``mobilized_cum``). The others stay hidden.

        Args:
            found: Pool indices of hiding men found today.

        Returns:
            Pool indices of the men to send to training.
        """
        fresh = found[self.pool_tag[found] == TAG_NONE]
        if fresh.size == 0:
            return found
        s = self.scale
        # the waves' debt as of this morning, less the wave men who reported since
        owed_wave = max(0.0, self.kremlin.owed_wave - (self._wave_reported * s - self.mobilized_wave_real))
        fresh = fresh[self.rng.permutation(fresh.size)]
        n_wave = min(fresh.size, int(stochastic_round(self.rng, owed_wave / s)))
        n_dom = min(fresh.size - n_wave, int(stochastic_round(self.rng, self.owed_domestic_real / s)))
        taken_wave, taken_dom = fresh[:n_wave], fresh[n_wave:n_wave + n_dom]
        self.pool_tag[taken_wave] = TAG_WAVE
        self.pool_tag[taken_dom] = TAG_DOMESTIC
        self.c["summoned"] += n_wave + n_dom
        return found[self.pool_tag[found] != TAG_NONE]

    def _report(self, men: np.ndarray, day: int, src: State) -> None:
        """Men who report (or are found) go to training; count them by purpose."""
        if men.size == 0:
            return
        pool, s = self.pool, self.scale
        pool.state[men] = State.TRAINING
        self.ledger.move(src, State.TRAINING, men.size)
        # AWOL men who are found again go back, but were already counted as mobilized
        first = men[~self.pool_served[men]]
        self.pool_served[first] = True
        domestic = men[self.pool_tag[men] == TAG_DOMESTIC]
        wave = men[self.pool_tag[men] == TAG_WAVE]
        new_domestic = first[self.pool_tag[first] == TAG_DOMESTIC]
        self.c["mobilized"] += first.size
        self.c["mobilized_minority"] += int(self.minority_region[pool.region[first]].sum())
        self._wave_reported = self._wave_reported + int((self.pool_tag[first] == TAG_WAVE).sum())
        if new_domestic.size:
            i = self.source_names.index("domestic_callup")
            self.repl_real[i] += new_domestic.size * s
            self.owed_domestic_real = max(0.0, self.owed_domestic_real - new_domestic.size * s)
        for group, origin, delay, quality in (
            (wave, 1, self.sc.mobilization.training_days, self.sc.mobilization.mobilized_quality),
            (domestic, self._domestic_origin, self._domestic_delay, self._domestic_quality),
        ):
            if group.size:
                self.pipeline.add(day + delay, Arrival(origin, quality, group, group.size, State.TRAINING))

    # ------------------------------------------------------------------ 3. flight
    def _pull(self) -> float:
        """Extra relative flight hazard from offers open to draftees (aware share x credibility)."""
        pull = 1.0
        for o in self.offers:
            if o.active and "draftees" in o.cfg.eligible and o.cfg.draftee_pull > 0:
                aware = -np.expm1(-o.cfg.publicity * max(self.day - o.cfg.start_day + 1, 0))
                pull += o.cfg.draftee_pull * aware * o.credibility
        return pull

    def _exit_crossable(self) -> np.ndarray:
        """Exits not physically closed today (background traffic still flows through them)."""
        day = self.day
        return np.array([not (e.closed_from_day is not None and day >= e.closed_from_day
                              and (e.reopen_day is None or day < e.reopen_day)) for e in self.sc.exits])

    def _exit_open(self) -> np.ndarray:
        """Exits open to draft-eligible leavers: crossable, the host admits draftees, and
        the capacity leaves room for leavers once background traffic has crossed."""
        admits = np.array([self.hosts[h].admit_share > 0.0 for h in self.exit_host])
        return self._exit_crossable() & admits & (self._net_capacity_men() > 0)

    def _net_capacity_men(self) -> np.ndarray:
        """Daily places left for leavers at each exit, in simulated men (background first)."""
        return np.array([max(e.capacity_per_day - e.background_per_day, 0.0) for e in self.sc.exits]) / self.places_per_man

    def _route_probs(self) -> np.ndarray:
        f = self.sc.flight
        cap = self._net_capacity_men()
        wait = np.array([q.wait_days(c) for q, c in zip(self.queues, cap, strict=False)])
        price = self._exit_prices()
        # a man does not head for a queue longer than he would wait (F2)
        usable = self._exit_open() & (wait <= f.max_queue_days)
        return fl.route_probabilities(self.travel_finite, self.reachable, usable, wait, price,
                                      f.travel_cost_per_day, f.queue_cost_per_day, f.price_cost_weight)

    def _exit_prices(self) -> np.ndarray:
        ex = self.sc.exits
        return fl.exit_prices(np.array([e.base_cost_usd for e in ex]), np.array([e.price_surge for e in ex]),
                              self.exit_demand * self.places_per_man, np.array([e.capacity_per_day for e in ex]))

    def _region_reach(self) -> np.ndarray:
        return self._probs_today.sum(axis=1) > 0

    def _afford(self, men: np.ndarray) -> np.ndarray:
        """Affordability of each man's expected route (F2)."""
        cost_r = (self._probs_today * self._exit_prices()[None, :]).sum(axis=1)
        cost = np.where(cost_r > 0, cost_r, np.inf)[self.pool.region[men]]
        return fl.affordability(self.pool.means[men], np.where(np.isfinite(cost), cost, 1.0), self.sc.flight.cost_sensitivity)

    def _flee(self, day: int) -> None:
        pool, f = self.pool, self.sc.flight
        reach_r = self._region_reach()
        wave_days = [w.day for w in self.sc.mobilization.waves]
        rum = fl.rumour(day, wave_days, f.rumour_weight, f.rumour_decay_days)
        pressure = (f.base_hazard + f.callup_risk_weight * self.cell_intensity + rum * self.cell_rumour_weight) * self._pull()
        bound = fl.hazard_to_probability(pressure * self.cell_max_propensity)
        cells = np.flatnonzero(bound > 0)  # all cells in one set of array calls
        cand, ci = candidates_cells(self.rng, pool.cell_start[cells], pool.cell_stop[cells], bound[cells])
        c = cells[ci]
        home = pool.state[cand] == State.HOME
        cand, c = cand[home], c[home]
        p = fl.hazard_to_probability(pressure[c] * self.propensity[cand])
        men = cand[self.rng.random(cand.size) * bound[c] < p]
        if men.size:
            can_pay = self.rng.random(men.size) < self._afford(men)
            men = men[can_pay]
            reach = reach_r[pool.region[men]]
            blocked = men[~reach]
            # without an exit, some would-be leavers evade at home instead (P3)
            evade = blocked[self.rng.random(blocked.size) < min(1.0, 0.25 * self.sc.protest.evasion_weight)]
            pool.state[evade] = State.HIDING
            pool.left_home(evade)
            pool.touch(evade)
            self.ledger.move(State.HOME, State.HIDING, evade.size)
            self._start_journey(men[reach], day, State.HOME)

    def _start_journey(self, men: np.ndarray, day: int, src: State) -> None:
        """Leavers pick an exit by region (route choice) and travel to it."""
        if men.size == 0:
            return
        pool = self.pool
        regions = pool.region[men].astype(np.int64)
        ok = self._probs_today.sum(axis=1)[regions] > 0
        if src == State.HOME:
            pool.left_home(men)
        stuck = men[~ok]  # a man with no way out hides
        pool.state[stuck] = State.HIDING
        self.ledger.move(src, State.HIDING, stuck.size)
        men, regions = men[ok], regions[ok]
        exits = fl.choose_rows(self.rng, self._probs_today, regions)
        pool.state[men] = State.TRANSIT
        pool.exit_idx[men] = exits
        pool.due_day[men] = day + np.floor(self.travel_finite[regions, exits]).astype(np.int32)
        pool.touch(men)
        self.ledger.move(src, State.TRANSIT, men.size)

    # ------------------------------------------------------------------ 4. borders
    def _turn_back(self, men: np.ndarray) -> None:
        if men.size == 0:
            return
        pool = self.pool
        hide = self.rng.random(men.size) < self.sc.flight.turned_back_retry
        pool.state[men[hide]] = State.HIDING
        pool.state[men[~hide]] = State.HOME
        pool.came_home(men[~hide])
        pool.exit_idx[men] = -1
        self.ledger.move(State.TRANSIT, State.HIDING, int(hide.sum()))
        self.ledger.move(State.TRANSIT, State.HOME, int((~hide).sum()))
        self.c["turned_back"] += men.size

    def _borders(self, day: int) -> None:
        pool, sc, s = self.pool, self.sc, self.scale
        transit = pool.in_state(State.TRANSIT)
        arriving = transit[pool.due_day[transit] == day]
        arriving = arriving[np.argsort(self.rng.random(arriving.size))]  # arrival order within a day
        is_open = self._exit_open()
        crossable = self._exit_crossable()
        restricted = self.kremlin.restriction_active
        er = sc.kremlin.exit_restriction
        self._admitted_today_real = np.zeros(len(self.hosts))
        self.exit_demand = np.zeros(len(sc.exits))
        for e, ex in enumerate(sc.exits):
            q = self.queues[e]
            q.push(arriving[pool.exit_idx[arriving] == e])
            h = int(self.exit_host[e])
            if crossable[e]:
                # border statistics count everyone; background traffic crosses first, up to
                # the capacity, and leavers get the places that remain
                self.entries_real[h] += min(ex.background_per_day, ex.capacity_per_day)
            if not is_open[e]:
                self._turn_back(q.clear())  # a closed exit admits no leaver
                continue
            self.exit_demand[e] = q.length
            n = q.slots_today(self.rng, ex.capacity_per_day, ex.background_per_day, self.places_per_man)
            men = q.pop(n)
            if men.size == 0:
                continue
            if restricted:
                stop_p = er.effectiveness * (1.0 - er.leakage) * ex.restriction_exposure
                stopped = self.rng.random(men.size) < stop_p
                self._turn_back(men[stopped])
                men = men[~stopped]
            admit = self.rng.random(men.size) < self.hosts[h].admit_share
            self._turn_back(men[~admit])
            men = men[admit]
            pool.state[men] = State.ABROAD
            pool.abroad.add(men)
            self.abroad_count[h] += men.size
            pool.host_idx[men] = h
            pool.exit_idx[men] = -1
            self.ledger.move(State.TRANSIT, State.ABROAD, men.size)
            self.c["fled"] += men.size
            self.admitted_sim[h] += men.size
            self.entries_real[h] += men.size * self.places_per_man
            self._admitted_today_real[h] += men.size * self.places_per_man
            resettle = men.size * s * self.hosts[h].resettlement_usd(deserter=False)
            self.host_cost[h] += resettle
            self.resettlement_usd += resettle
            self._pay_draftee_offers(h, men.size)
        # men abroad return home (F5) or move on (Flee-style onward moves), drawn by thinning
        leave_rate = self.return_rate + self.onward.sum(axis=1)
        abroad = pool.abroad.sample(self.rng, float(leave_rate.max(initial=0.0)))
        abroad = abroad[pool.state[abroad] == State.ABROAD]
        if abroad.size:
            h = pool.host_idx[abroad].astype(np.int64)
            u = self.rng.random(abroad.size) * leave_rate.max()
            back = u < self.return_rate[h]
            ret = abroad[back]
            pool.state[ret] = State.HOME
            pool.came_home(ret)
            self.abroad_count -= np.bincount(h[back], minlength=len(self.hosts))
            pool.host_idx[ret] = -1
            self.ledger.move(State.ABROAD, State.HOME, ret.size)
            self.c["returned"] += ret.size
            stay = ~back
            cum = np.cumsum(self.onward, axis=1)[h[stay]]
            u2 = u[stay] - self.return_rate[h[stay]]
            dest = (u2[:, None] >= cum).sum(axis=1)
            moving = dest < self.onward.shape[1]
            movers = abroad[stay][moving]
            dest = dest[moving]
            # an onward move needs the destination to admit draftees
            ok = self.rng.random(movers.size) < np.array([hh.admit_share for hh in self.hosts])[dest]
            moved = np.bincount(dest[ok], minlength=len(self.hosts))
            self.abroad_count -= np.bincount(pool.host_idx[movers[ok]], minlength=len(self.hosts))
            self.abroad_count += moved
            pool.host_idx[movers[ok]] = dest[ok]
            # the destination counts, screens and pays for them like any arrival
            self.entries_real += moved * self.places_per_man
            self._admitted_today_real += moved * self.places_per_man
            for j in np.flatnonzero(moved):
                resettle = moved[j] * s * self.hosts[j].resettlement_usd(deserter=False)
                self.host_cost[j] += resettle
                self.resettlement_usd += float(resettle)
            # a draftee offer pays a man once: on moving into its destination from outside it
            origin = h[stay][moving][ok]
            for o in self.offers:
                if o.active and "draftees" in o.cfg.eligible:
                    inside = np.array([name in o.cfg.destination for name in self.host_names])
                    n_new = int((inside[dest[ok]] & ~inside[origin]).sum())
                    if n_new:
                        self._book_payment(o, o.pay(n_new, s))

    def _pay_draftee_offers(self, host: int, n_sim: int) -> None:
        for o in self.offers:
            if o.active and "draftees" in o.cfg.eligible and self.host_names[host] in o.cfg.destination:
                paid = o.pay(n_sim, self.scale)
                self._book_payment(o, paid)

    def _book_payment(self, offer: OfferMaker, paid: float) -> None:
        """Offer payments by Western makers are shared by hosts' burden shares (D7)."""
        if offer.cfg.maker == "ukraine" or paid <= 0:
            return
        w = np.array([h.burden_share for h in self.sc.hosts])
        if w.sum() > 0:
            self.host_cost += paid * w / w.sum()

    # ------------------------------------------------------------------ 5. pipeline
    def _pipeline(self, day: int) -> None:
        s, sc = self.scale, self.sc
        for i, name in enumerate(self.source_names):
            if name == "domestic_callup":
                continue
            n = int(stochastic_round(self.rng, self.kremlin.orders_today[i] / s))
            if n > 0:
                src = sc.kremlin.replacement.sources[i]
                self.ledger.seed(State.TRAINING, n, source=name)
                self.repl_real[i] += n * s
                self.pipeline.add(day + src.delay_days, Arrival(self.origin_names.index(name), src.quality, None, n, State.TRAINING))
        due = self.pipeline.due(day)
        if not due:
            return
        for a in due:
            if a.men is not None:
                self.pool.state[a.men] = State.FRONT
            self.ledger.move(State(a.ledger_state), State.FRONT, a.count)
        origin = np.concatenate([np.full(a.count, a.origin, dtype=np.int8) for a in due])
        quality = np.concatenate([np.full(a.count, a.quality, dtype=np.float32) for a in due])
        men = np.concatenate([a.men if a.men is not None else np.full(a.count, -1, dtype=np.int64) for a in due])
        self.front.add(self.rng, sc, origin, quality, men, sc.population.family_ties_share)

    # ------------------------------------------------------------------ 6. front
    def _leave_front(self, slots: np.ndarray, dst: State) -> np.ndarray:
        """Soldiers leave the front for ``dst`` (ledger and pool updated, slots freed).

        Returns:
            The pool indices of the men among them (soldiers from outside have none).
        """
        if slots.size == 0:
            return np.empty(0, dtype=np.int64)
        men = self.front.man_id[slots]
        pool_men = men[men >= 0]
        self.pool.state[pool_men] = dst
        self.ledger.move(State.FRONT, dst, slots.size)
        if dst not in (State.TRAINING, State.RECOVERING, State.HIDING):
            self.outside_terminal[dst] += int((men < 0).sum())
        self.front.remove(slots)
        return pool_men

    def _to_pipeline(self, slots: np.ndarray, arrive: int) -> None:
        """Soldiers who will come back (wounded who recover, men sent back) keep origin."""
        fr = self.front
        for origin in np.unique(fr.origin[slots]):
            grp = slots[fr.origin[slots] == origin]
            men = fr.man_id[grp]
            inside = grp[men >= 0]
            outside = grp[men < 0]
            if inside.size:
                self.pipeline.add(arrive, Arrival(int(origin), float(fr.quality[inside].mean()), fr.man_id[inside].copy(), inside.size, State.RECOVERING))
            if outside.size:
                self.pipeline.add(arrive, Arrival(int(origin), float(fr.quality[outside].mean()), None, outside.size, State.RECOVERING))
        self._leave_front(slots, State.RECOVERING)

    def _front(self, day: int) -> None:
        fr_cfg, d_cfg = self.sc.front, self.sc.defection
        fr, s, rng = self.front, self.scale, self.rng
        present = fr.active()
        n_units = fr.n_units
        losses_u = np.zeros(n_units)
        defect_u = np.zeros(n_units)
        attempts_u = np.zeros(n_units)
        if present.size == 0:
            self.kremlin.observe_attempts(0.0, 0.0)
            return
        # casualties (fixed rates or Lanchester)
        intensity = step_value(fr_cfg.intensity, day)
        p_kia, p_wia = casualty_rates(fr_cfg.attrition, fr_cfg.kia_rate, fr_cfg.wia_rate, intensity,
                                      present.size * s, self.enemy_strength, fr_cfg.lanchester_coefficient)
        # thinning: the few soldiers hit today, then killed or wounded in the ratio of the rates
        p_hit = p_kia + p_wia
        hit = present[candidates(rng, 0, present.size, p_hit)]
        v = rng.random(hit.size) * p_hit
        kia = hit[v < p_kia]
        wia = hit[v >= p_kia]
        self._count_casualties(kia, wia)
        losses_u += fr.unit_sum(kia) + fr.unit_sum(wia)
        np.add.at(self.kia_by_origin, fr.origin[kia], 1)
        self.c["kia"] += kia.size
        self.c["wia"] += wia.size
        self._leave_front(kia, State.KIA)
        ret = rng.random(wia.size) < fr_cfg.wia_return_share
        back, out = wia[ret], wia[~ret]
        self._leave_front(out, State.WOUNDED_OUT)
        self._to_pipeline(back, day + fr_cfg.wia_recovery_days)

        present = fr.active()
        units = present // fr.unit_slots
        unit_morale = fr.morale[units]
        gone_total = np.minimum(fr.gone.sum(axis=1) / fr.unit_slots, 1.0)
        km = self.kremlin
        # offer awareness (D5), scores, and the best offer per soldier
        best_margin = np.full(present.size, -np.inf, dtype=np.float32)
        best_offer = np.full(present.size, -1, dtype=np.int64)
        for o in self.offers:
            if not (o.active and "soldiers" in o.cfg.eligible):
                continue
            bit = np.uint8(1 << o.index)
            gone_share = np.minimum(fr.gone[:, o.index] / fr.unit_slots, 1.0)
            unaware = (fr.aware[present] & bit) == 0
            p_aware = -np.expm1(-(o.cfg.publicity + d_cfg.word_of_mouth * gone_share[units]))
            learn = present[unaware & (rng.random(present.size) < p_aware)]
            fr.aware[learn] |= bit
            aware = (fr.aware[present] & bit) != 0
            value = dfn.offer_value(o.next_payment(), d_cfg.status_value[o.cfg.status], d_cfg.payment_weight,
                                    d_cfg.payment_reference_usd, o.cfg.equipment_bounty_usd, o.cfg.equipment_share)
            success = dfn.success_probability(o.cfg.route, km.detection, o.cfg.surrender_survival,
                                              o.cfg.repatriation_probability, o.credibility)
            urg = dfn.urgency(day, o.cfg.deadline_day, d_cfg.urgency_window_days, d_cfg.urgency_weight)
            sc_o = dfn.scores(fr.unwillingness[present], unit_morale, fr.family[present], gone_share[units], success, value,
                              km.detection, km.punishment, km.reprisal, fr_cfg.home_attachment, urg,
                              d_cfg.unwillingness_weight, fr_cfg.morale_weight, d_cfg.social_weight)
            margin = np.where(aware, sc_o - fr.threshold[present], -np.inf)
            better = margin > best_margin
            best_margin[better] = margin[better]
            best_offer[better] = o.index
        attempt = best_margin >= 0  # those who want to; a draw only for them
        want = np.flatnonzero(attempt)
        attempt[want] = rng.random(want.size) < d_cfg.opportunity_rate
        # commander payments move whole units (D17): a commander who has heard of the offer
        # (the unit's aware share) may take it and bring his unit
        real_units_per_unit = fr.unit_slots * s / max(fr_cfg.unit_size, 1)
        for o in self.offers:
            if o.active and "soldiers" in o.cfg.eligible and o.cfg.commander_payment_usd > 0:
                bit = np.uint8(1 << o.index)
                n_u = np.maximum(fr.unit_sum(present), 1)
                unwill_u = fr.unit_sum(present, fr.unwillingness[present]) / n_u
                aware_u = fr.unit_sum(present, ((fr.aware[present] & bit) != 0).astype(float)) / n_u
                p_u = (o.cfg.commander_rate * np.clip(unwill_u / max(fr_cfg.unwillingness.mean, 1e-9), 0, 3) * aware_u
                       * o.credibility * min(1.0, o.cfg.commander_payment_usd / 1e6))
                flip = rng.random(n_units) < p_u
                if flip.any():
                    moved = flip[units] & ~attempt
                    attempt |= moved
                    best_offer[moved] = o.index
                    paid = float(flip.sum()) * o.cfg.commander_payment_usd * real_units_per_unit
                    o.cost_usd += paid
                    self._book_payment(o, paid)
        tried = present[attempt]
        tried_offer = best_offer[attempt]
        attempts_u += fr.unit_sum(tried)
        self._resolve_attempts(tried, tried_offer, day, defect_u)
        # AWOL without any offer: private unwillingness and low morale past one's threshold
        rest = present[~attempt]
        rest = rest[candidates(rng, 0, rest.size, fr_cfg.awol_rate)]  # thinning: a chance to walk today
        ru = rest // fr.unit_slots
        walk_score = d_cfg.unwillingness_weight * fr.unwillingness[rest] + fr_cfg.morale_weight * (1 - fr.morale[ru]) \
            + d_cfg.social_weight * gone_total[ru] - fr_cfg.home_attachment
        awol = rest[walk_score >= fr.threshold[rest]]
        self.c["awol"] += awol.size
        inside = awol[fr.man_id[awol] >= 0]
        outside = awol[fr.man_id[awol] < 0]
        self.pool.touch(self._leave_front(inside, State.HIDING))
        self._leave_front(outside, State.AWOL)
        # morale (D2, P4) and commanders' distrust (D4)
        slots_u = np.maximum(fr.unit_slots, 1)
        target = fr_cfg.morale_initial - fr_cfg.exodus_morale_weight * (self.c["fled"] / max(self.pool.n, 1))
        fr.morale = update_morale(fr.morale, losses_u / slots_u, defect_u / slots_u, target, fr_cfg.morale_recovery,
                                  fr_cfg.morale_loss_sensitivity, fr_cfg.morale_defection_sensitivity)
        fr.attempt_rate = (0.9 * fr.attempt_rate + 0.1 * attempts_u / slots_u).astype(np.float32)
        km.observe_attempts(tried.size * s, present.size * s)

    def _count_casualties(self, kia: np.ndarray, wia: np.ndarray) -> None:
        both = np.concatenate([kia, wia])
        men = self.front.man_id[both]
        men = men[men >= 0]
        if men.size:
            self.region_casualties += np.bincount(self.pool.region[men], minlength=self.region_casualties.size)

    def _resolve_attempts(self, tried: np.ndarray, offer_idx: np.ndarray, day: int, defect_u: np.ndarray) -> None:
        """Attempts end caught (D16), killed in the surrender, or across (booked to the offer)."""
        if tried.size == 0:
            return
        rng, km, cd = self.rng, self.kremlin, self.sc.kremlin.counter_defection
        fr = self.front
        # "either": the soldier takes whichever route promises more today
        direct_route = {}
        for o in self.offers:
            c = o.cfg
            if c.route == "either":
                via = dfn.success_probability("via_ukraine", km.detection, c.surrender_survival, 0.0, 1.0)
                direct_route[o.index] = dfn.success_probability("direct_eu", km.detection, c.surrender_survival, 0.0, 1.0) > via
            else:
                direct_route[o.index] = c.route == "direct_eu"
        direct = np.array([direct_route[i] for i in offer_idx], dtype=bool)
        p_caught = np.where(direct, 1 - (1 - km.detection) ** 2, km.detection)
        u = rng.random(tried.size)
        caught = u < p_caught
        surv = np.where(direct, 1.0, np.array([self.offers[i].cfg.surrender_survival for i in offer_idx]))
        killed = ~caught & (rng.random(tried.size) >= surv)
        across = ~caught & ~killed
        # caught: shot, imprisoned, or sent back on a suspended sentence
        c_slots = tried[caught]
        v = rng.random(c_slots.size)
        shot = c_slots[v < cd.executed_share]
        jail = c_slots[(v >= cd.executed_share) & (v < cd.executed_share + cd.imprisoned_share)]
        sent = c_slots[v >= cd.executed_share + cd.imprisoned_share]
        self.c["caught"] += c_slots.size
        self.c["executed"] += shot.size
        self.c["imprisoned"] += jail.size
        self._leave_front(shot, State.EXECUTED)
        self._leave_front(jail, State.IMPRISONED)
        self._to_pipeline(sent, day + cd.sent_back_delay_days)
        k_slots = tried[killed]
        np.add.at(self.kia_by_origin, fr.origin[k_slots], 1)
        self.c["kia"] += k_slots.size
        self._count_casualties(k_slots, np.empty(0, dtype=np.int64))
        self._leave_front(k_slots, State.KIA)
        for o in self.offers:
            mine = tried[across & (offer_idx == o.index)]
            if mine.size == 0:
                continue
            np.add.at(fr.gone[:, o.index], mine // fr.unit_slots, 1)
            defect_u += fr.unit_sum(mine)
            self.defected_by_offer[o.index] += mine.size
            self.c["defected"] += mine.size
            self._book_payment(o, o.pay(mine.size, self.scale))
            # some are later sent back to Russia in an exchange and punished (D11, D18)
            rep = rng.random(mine.size) < o.cfg.repatriation_probability
            self.c["repatriated"] += int(rep.sum())
            self._leave_front(mine[rep], State.IMPRISONED)
            self._leave_front(mine[~rep], State.DEFECTED)
            self._resettle_defectors(o, int((~rep).sum()))

    def _resettle_defectors(self, o: OfferMaker, n_sim: int) -> None:
        if n_sim == 0:
            return
        s = self.scale
        w = np.array([o.cfg.destination.get(h.cfg.name, 0.0) * h.deserter_admit_share for h in self.hosts])
        real = n_sim * s
        if w.sum() > 0:
            share = w / w.sum()
            self.host_defectors_real += real * share
            resettle = real * share * np.array([h.resettlement_usd(deserter=True) for h in self.hosts])
            self.host_cost += resettle
            self.resettlement_usd += float(resettle.sum())
            self._defector_flow_real += real * share
        # war criminals among them (D14): screened by the receiving host, or tried in Ukraine
        wc = self.rng.binomial(int(real), self.sc.defection.war_criminal_share) if real >= 1 else 0
        if w.sum() > 0 and wc:
            catch = float((w / w.sum() * np.array([h.cfg.screening_catch_rate for h in self.hosts])).sum())
            self.war_criminals += wc - self.rng.binomial(wc, catch)
        self.intelligence += real * self.sc.security.intelligence_per_defector

    # ------------------------------------------------------------------ 7. protest
    def _protest(self, day: int) -> None:
        p, s = self.sc.protest, self.scale
        pool = self.pool
        home_cells = pool.home_cells
        home_r = np.bincount(self.region_of_cell, weights=home_cells, minlength=len(self.sc.regions))
        hiding = pool.in_state(State.HIDING)
        home_r += np.bincount(pool.region[hiding], minlength=home_r.size)
        potential = home_r * s * (1.0 + p.family_multiplier)
        summoned_month = np.sum(self._summons_window, axis=0) / np.maximum(self.region_size, 1)
        casualty_share = self.region_casualties / np.maximum(self.region_size, 1)
        f = self.sc.flight
        announcement = fl.rumour(day, [w.day for w in self.sc.mobilization.waves], 1.0, f.rumour_decay_days)
        hardship = (p.hardship_base + p.hardship_announcement_weight * announcement
                    + p.hardship_callup_weight * summoned_month + p.hardship_casualty_weight * casualty_share)
        exodus = self.c["fled"] / max(pool.n, 1)
        ev = p.exit_voice
        shift = exit_voice_shift(ev.link, exodus, ev.strength, ev.reference_share, ev.peak_share)
        nat_casualties = (self.c["kia"] + self.c["wia"]) / max(pool.n, 1)
        self.legitimacy = float(np.clip(p.legitimacy_initial - p.legitimacy_casualty_weight * nat_casualties
                                        - ev.legitimacy_weight * max(shift, 0.0) - self._protest_memory, 0.0, 1.0))
        active, arrested = self.panel.step(self.rng, day, hardship, self.legitimacy, shift, p.k, p.threshold,
                                           p.arrest_variant, p.arrest_capacity, p.max_jail_days)
        self.protest_active = float((active * potential).sum())
        arrests_real = arrested * potential
        self.arrests_real += float(arrests_real.sum())
        self.protest_share = self.protest_active / max(potential.sum(), 1.0)
        self._protest_memory += p.legitimacy_recovery * (p.legitimacy_protest_weight * self.protest_share - self._protest_memory)
        men = arrests_real / (1.0 + p.family_multiplier) * self.sc.mobilization.arrested_protesters_summoned / s
        self.arrested_to_summon = stochastic_round(self.rng, men)

    # ------------------------------------------------------------------ 8. hosts
    def _security(self, day: int) -> None:
        sec = self.sc.security
        flow = self._admitted_today_real + self._defector_flow_real
        self._defector_flow_real = np.zeros(len(self.hosts))
        catch = np.array([h.cfg.screening_catch_rate for h in self.hosts])
        _, admitted, matter = screen_infiltrators(self.rng, flow, self.sc.kremlin.infiltrators_per_1000_leavers, catch,
                                                  sec.infiltrator_matter_share)
        self.infiltrators += admitted
        self.infiltrators_matter += matter
        incidents = self.rng.poisson(sec.incident_rate * self.infiltrators_matter)
        self.incidents += float(incidents.sum())
        for h in self.hosts:
            h.check_tolerance(day, float(flow[h.index]), float(incidents[h.index]))

    # ------------------------------------------------------------------ ledger, outputs
    def recount(self) -> np.ndarray:
        """Independent count of every state from the arrays (pool, front slots, pipeline)."""
        counts = self.pool.recount(N_STATES)
        fr = self.front
        counts[State.FRONT] += int((fr.occupied & (fr.man_id < 0)).sum())
        for lst in self.pipeline._by_day.values():
            for a in lst:
                if a.men is None:
                    counts[a.ledger_state] += a.count
        counts += self.outside_terminal
        return counts

    def check_ledger(self) -> None:
        """Raise LedgerError if the ledger does not balance against a recount."""
        self.ledger.check(self.recount())
        if self.front.occupied.sum() != self.ledger.stock[State.FRONT]:
            raise LedgerError("front slots != FRONT stock")

    def _set_outputs(self, day: int) -> None:
        from sim.outcomes import compute_outputs

        for k, v in compute_outputs(self).items():
            setattr(self, k, v)
