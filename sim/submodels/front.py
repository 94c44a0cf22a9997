"""Front (ODD 7.5, 7.8): casualties, then defection, then AWOL, morale and distrust.

The day at the front, in this order (the order of random draws):

1. casualties, fixed rates or Lanchester, drawn by thinning; some wounded return later;
   then involuntary captures by the enemy (``front.capture_rate``);
2. the defection funnel (:class:`sim.submodels.defection.Defection`);
3. AWOL without an offer: the same random-utility choice as an offer (status ``awol``:
   hiding at home or abroad; caught with today's detection, tried and imprisoned or sent
   back on a suspended sentence), taken when a chance to walk comes (``front.awol_rate``);
4. morale (D2, P4), the same for every unit, from the front's casualty probability and
   defection share (rates, so it does not depend on ``population.scale``), and
   commanders' distrust (D4); the day's attempt share, which the Kremlin observes the
   next morning.
"""

from __future__ import annotations

import numpy as np

from sim.actors import Actors
from sim.config.schema import Scenario
from sim.ledger import State
from sim.mechanisms import choice as ch
from sim.mechanisms.front import casualty_rates, step_value, update_morale
from sim.mechanisms.sampling import candidates
from sim.submodels.defection import FAMILY_BOTH, Defection, awol_params
from sim.submodels.routes import Routes
from sim.world import World


class Front:
    """Soldiers at the front.

    Reads: ``sc.front``, ``sc.defection`` weights, the pool size and ``accounts.fled_sim``
    (the exodus lowers target morale), the Kremlin's detection. Writes: front slots, pool
    and ledger (FRONT -> KIA, WOUNDED_OUT, RECOVERING, CAPTURED, HIDING, AWOL, IMPRISONED),
    ``accounts`` (kia, wia, captured, awol, AWOL and refusal court cases, kia by origin),
    unit morale and attempt rates, ``signals.region_casualties`` (via the world) and
    ``signals.attempt_share``. Owns the defection submodel and runs it between casualties
    and AWOL.
    """

    def __init__(self, world: World, routes: Routes, actors: Actors, sc: Scenario):
        self.world, self.front, self.pool, self.rng = world, world.front, world.pool, world.stream("front")
        self.accounts, self.signals = world.accounts, world.signals
        self.cfg, self.d_cfg, self.enemy_strength = sc.front, sc.defection, sc.front.enemy_strength
        self.kremlin, self.cd = actors.kremlin, sc.kremlin.counter_defection
        self.defection = Defection(world, routes, actors, sc)
        self._awol_from = self._awol_p = None  # AWOL choice parameters, and the defection parameters they came from
        self._awol_base = self._awol_key = None  # the AWOL choice without private utility and cascade, family 0 and 1; its inputs
        self._rate_units = np.flatnonzero(self.front.attempt_rate)  # units whose attempt rate is not 0
        self.start_day = sc.run.start_day  # first day of the run (the court pipeline before it: _cases_before_run)

    def step(self, day: int) -> None:
        """Run the day at the front; then count the court cases due today (caught
        ``kremlin.counter_defection.court_delay_days`` ago, today's own with no delay), and
        those of men caught before the run (:meth:`_cases_before_run`)."""
        self._day(day)
        self.accounts.release_court(day)
        self._cases_before_run(day)

    def _cases_before_run(self, day: int) -> None:
        """The court pipeline the run starts with: men caught AWOL in the ``D`` days before
        the first day (``D`` = ``kremlin.counter_defection.court_delay_days``, rounded as
        the run's own cases are) reach a court on its first ``D`` days, at
        ``front.awol_court_cases_before_run`` real cases a day (an expected count, no men
        attached: they were sentenced before the run could see them). Without it the
        courts would receive nothing for the first ``D`` days (their cases were caught
        before day 0). Counted in ``awol_court_cases_before_run_cum`` only: the run's
        own cases stay in ``awol_court_cases_cum``, and ``refusal_court_cases_cum`` (the
        articles toughened in September 2022, for acts after it) excludes them."""
        if day - self.start_day < round(self.cd.court_delay_days):
            self.accounts.awol_court_before_run_real += self.cfg.awol_court_cases_before_run

    def _day(self, day: int) -> None:
        fr_cfg, w = self.cfg, self.world
        fr, s, rng, acc = self.front, w.scale, self.rng, self.accounts
        self.defection.new_day()
        present = fr.active()
        if present.size == 0:
            self.signals.attempt_share = 0.0
            return
        # casualties (fixed rates or Lanchester); thinning: the few soldiers hit today,
        # then killed or wounded in the ratio of the rates
        intensity = step_value(fr_cfg.intensity, day)
        p_kia, p_wia = casualty_rates(fr_cfg.attrition, fr_cfg.kia_rate, fr_cfg.wia_rate, intensity,
                                      present.size * s, self.enemy_strength, fr_cfg.lanchester_coefficient)
        p_hit = p_kia + p_wia
        hit_pos = candidates(rng, 0, present.size, p_hit)
        if hit_pos.size:  # (a day without casualties has nothing to do and no draws)
            self._casualties(day, present[hit_pos], p_kia, p_hit)
        # involuntary captures in combat (prisoners of war), at the day's intensity, among the
        # soldiers not hit (the k-th of them is present[k + hits at or before him])
        pos = candidates(rng, 0, present.size - hit_pos.size, min(1.0, fr_cfg.capture_rate * intensity))
        if hit_pos.size:
            pos = pos + np.searchsorted(hit_pos - np.arange(hit_pos.size), pos, side="right")
        if pos.size:
            acc.captured_sim += pos.size
            w.leave_front(present[pos], State.CAPTURED)
        if hit_pos.size or pos.size:  # the soldiers still present: ``present`` without them (no pass over the slots)
            keep = np.ones(present.size, dtype=bool)  # np.delete's result, without its overhead
            keep[hit_pos] = False
            keep[pos] = False
            present = present[keep]
        attempt_pos, tried, n_defected = self.defection.step(day, present, p_kia)
        self._awol(day, present, attempt_pos)
        # morale (D2, P4) and commanders' distrust (D4): rates, not per-unit counts, so that
        # mean morale does not depend on how many simulated soldiers a unit holds
        target = fr_cfg.morale_initial - fr_cfg.exodus_morale_weight * (acc.fled_sim / max(self.pool.n, 1))
        defect_share = n_defected / max(present.size, 1)
        # the same update for every unit: while all units have the same morale, one unit's is computed
        morale = update_morale(fr.morale[:1] if fr.morale_uniform else fr.morale, np.float64(p_hit),
                               np.float64(defect_share), target, fr_cfg.morale_recovery,
                               fr_cfg.morale_loss_sensitivity, fr_cfg.morale_defection_sensitivity)
        fr.morale = np.full(fr.n_units, morale[0], dtype=np.float32) if fr.morale_uniform else morale
        self._update_attempt_rate(tried)
        self.signals.attempt_share = tried.size * s / max(present.size * s, 1.0)

    def _update_attempt_rate(self, tried: np.ndarray) -> None:
        """Each unit's attempt rate, a moving average of its attempts per slot a day
        (``0.9 * rate + 0.1 * attempts / slots``): computed only for the units with a rate
        or attempts today (the rest stay 0), the units that ever had an attempt."""
        fr = self.front
        if tried.size:
            units, n_u = np.unique(tried // fr.unit_slots, return_counts=True)
            self._rate_units = np.union1d(self._rate_units, units)
        u = self._rate_units
        if u.size == 0:
            return
        attempts_u = np.zeros(u.size, dtype=np.int64)
        if tried.size:
            attempts_u[np.searchsorted(u, units)] = n_u
        fr.attempt_rate[u] = (0.9 * fr.attempt_rate[u] + 0.1 * attempts_u / np.maximum(fr.unit_slots, 1)).astype(np.float32)

    def _casualties(self, day: int, hit: np.ndarray, p_kia: float, p_hit: float) -> None:
        """The soldiers in ``hit`` are killed or wounded in the ratio of the rates; some
        wounded return to the front later."""
        fr, w, acc, rng, fr_cfg = self.front, self.world, self.accounts, self.rng, self.cfg
        v = rng.random(hit.size) * p_hit
        kia = hit[v < p_kia]
        wia = hit[v >= p_kia]
        w.count_casualties(kia, wia)
        if kia.size:
            np.add.at(acc.kia_by_origin_sim, fr.origin[kia], 1)
        acc.kia_sim += kia.size
        acc.wia_sim += wia.size
        w.leave_front(kia, State.KIA)
        ret = rng.random(wia.size) < fr_cfg.wia_return_share
        back, out = wia[ret], wia[~ret]
        w.leave_front(out, State.WOUNDED_OUT)
        w.to_pipeline(back, day + fr_cfg.wia_recovery_days)

    def _awol(self, day: int, present: np.ndarray, tried: np.ndarray) -> None:
        """Walking away without an offer, among the soldiers of ``present`` who did not attempt
        today (``tried``: the positions in ``present`` of those who did, ascending).

        A chance to walk comes with ``front.awol_rate`` a day (thinning); he takes it when
        his persistent taste is below the probability of the AWOL choice (status ``awol``,
        no payment, caught with today's detection: the same deterrent as an offer). Caught
        men go to court (AWOL cases): ``front.awol_suspended_share`` are sent back to the
        front on a suspended sentence, the rest imprisoned. The others leave: pool men hide
        at home (HIDING), soldiers from outside the pool are AWOL.
        """
        fr, rng, acc, w, km = self.front, self.rng, self.accounts, self.world, self.kremlin
        # thinning among the soldiers who did not attempt without building that list: the
        # k-th of them is present[k + attempts at or before him]
        pos = candidates(rng, 0, present.size - tried.size, self.cfg.awol_rate)
        if tried.size:
            pos = pos + np.searchsorted(tried - np.arange(tried.size), pos, side="right")
        rest = present[pos]
        if rest.size == 0:
            return
        if self._awol_from is not self.defection.params:  # the day's parameters are frozen: derive once
            self._awol_from = self.defection.params
            self._awol_p = awol_params(self._awol_from)
        p = self._awol_p
        if self._awol_key != (km.detection, p):  # unchanged inputs: yesterday's values
            self._awol_key = (km.detection, p)
            self._awol_base = ch.utility_difference(0.0, 0.0, km.detection, 1.0, "awol", 0.0, 0.0, FAMILY_BOTH, params=p)
        ru = rest // fr.unit_slots
        # dU = base[family] + private + social_weight * gone share: the same arithmetic as
        # utility_difference on every soldier (as in the defection funnel)
        du = (self._awol_base[fr.family[rest].view(np.uint8)] + self.defection.private(rest, fr.morale_of(ru), day)
              + p.social_weight * fr.gone_share()[0][ru].astype(np.float64))
        walk = rest[fr.taste[rest] < ch.consider_probability(du, p.sigma)]
        if walk.size == 0:  # no one walks away today: nothing to book, no draws
            return
        acc.awol_sim += walk.size
        caught = rng.random(walk.size) < km.detection
        tried = walk[caught]
        acc.awol_caught_sim += tried.size
        acc.schedule_court(day + round(self.cd.court_delay_days), tried.size, tried.size)  # cases reach a court later
        back = rng.random(tried.size) < self.cfg.awol_suspended_share
        w.to_pipeline(tried[back], day + self.cd.sent_back_delay_days)
        w.leave_front(tried[~back], State.IMPRISONED)
        acc.imprisoned_sim += int((~back).sum())
        gone = walk[~caught]
        inside = gone[fr.man_id[gone] >= 0]
        outside = gone[fr.man_id[gone] < 0]
        self.pool.touch(w.leave_front(inside, State.HIDING))
        w.leave_front(outside, State.AWOL)
