"""Defection (ODD 7.6, 7.7): the funnel aware -> considering -> acting -> outcome, per offer.

Run by the front between casualties and AWOL. Per offer and day (issue 15, point 1):

1. **aware**: unaware soldiers learn of the offer from its publicity, from talk among the
   soldiers who know of it (``defection.awareness_contagion``, Bass's imitation term), from
   word of mouth in units where others already left under it (D5), and from salience shocks
   (``defection.salience_events``: a famous defection, a publicised reward);
2. **considering**: an aware soldier considers the offer (would contact the offer maker)
   when his random-utility choice (:mod:`sim.mechanisms.choice`, in home life-years)
   favours defecting: ``taste_i < P(consider)``, where ``taste_i`` is his persistent
   uniform (so the same man keeps considering as long as his utility does not fall). A
   soldier's first day of considering an offer is one hotline request, plus
   ``defection.request_multiplier`` requests from his relatives; men called up (not yet
   at the front) and their relatives add ``defection.callup_request_share`` requests per
   man mobilized (:meth:`Defection.new_day`);
3. **acting**: a considering soldier acts, under the offer he values most, when an
   opportunity arises (``defection.opportunity_rate`` a day); commanders paid by an offer
   bring whole units (D17);
4. **outcome**: caught by his own side (shot, imprisoned or sent back, D16), killed in the
   attempt, or across: the offer pays, some are repatriated and punished (D11, D18), the
   rest are resettled by the offer's destination hosts, war criminals among them screened
   or not (D14).

Every stage only thins the previous one, so ``aware >= considering >= acting >= crossed``
holds per offer and day (cumulative counts in :class:`sim.accounts.Accounts`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sim.actors import Actors, OfferMaker
from sim.config.schema import Scenario
from sim.ledger import State
from sim.mechanisms import choice as ch
from sim.mechanisms.defection import attempt_risks
from sim.mechanisms.sampling import candidates, candidates_cells, sorted_unique
from sim.submodels.routes import Routes
from sim.world import World

FAMILY_BOTH = np.array([0.0, 1.0])  # a bound on the choice over both values of family ties


def choice_params(sc: Scenario, stay_death_hazard: float, punishment_ratio: float = 1.0,
                  reprisal_ratio: float = 1.0) -> ch.ChoiceParams:
    """The choice's parameters for today (docs/defection_choice.md).

    Args:
        sc: The scenario (``sc.defection``, ``sc.front.home_attachment``,
            ``sc.kremlin.counter_defection.executed_share``).
        stay_death_hazard: Annual death hazard at the front if he stays, 1/year (today's
            daily kill probability x 365).
        punishment_ratio: The Kremlin's punishment level over its base: scales the expected
            prison term (D19).
        reprisal_ratio: The Kremlin's reprisal level over its base: scales the reprisal
            probability (D15), capped at 1.

    Returns:
        A :class:`sim.mechanisms.choice.ChoiceParams`; its statuses are the offers' plus
        ``awol`` (a soldier hiding after walking away, ``front.awol_consumption_usd``).
    """
    d, fr = sc.defection, sc.front
    statuses = tuple(d.status_consumption_usd.items()) + (("awol", fr.awol_consumption_usd),)
    return ch.ChoiceParams(
        c_home_usd=d.c_home_usd, c_sub_usd=d.c_sub_usd, soldier_pay_usd=d.soldier_pay_usd,
        service_years=d.service_years, stay_death_hazard=stay_death_hazard, remaining_years=d.remaining_years,
        discount_rate=d.discount_rate, prison_years=d.prison_years * punishment_ratio,
        p_executed_if_caught=sc.kremlin.counter_defection.executed_share,
        p_reprisal=min(1.0, d.reprisal_probability * reprisal_ratio), reprisal_cost=d.reprisal_cost,
        home_attachment=fr.home_attachment, social_weight=d.social_weight, sigma=d.sigma,
        status_consumption_usd=statuses)


def awol_params(p: ch.ChoiceParams) -> ch.ChoiceParams:
    """The same choice for walking away without an offer: he stays in Russia or nearby
    (no loss of home), and a caught AWOL soldier is tried, not shot (assumption)."""
    return replace(p, home_attachment=0.0, p_executed_if_caught=0.0)


class Defection:
    """Offers at the front.

    Reads: ``sc.defection``, ``sc.front`` (unit size, home attachment, morale weight,
    unwillingness mean), ``sc.kremlin.counter_defection``,
    ``sc.security.intelligence_per_defector``, the Kremlin's detection, punishment and
    reprisal levels, offers (state, credibility and payments), hosts' deserter admission,
    resettlement costs and screening. Writes: front slots (awareness, considered, gone per
    unit), pool and ledger (FRONT -> EXECUTED, IMPRISONED, RECOVERING, KIA, DEFECTED),
    ``accounts`` (the funnel per offer, caught, executed, imprisoned, kia, defected,
    repatriated, refusal court cases, host costs, resettlement costs and defectors, war
    criminals, intelligence), offers' payments, ``signals.defector_flow_real``.
    """

    def __init__(self, world: World, routes: Routes, actors: Actors, sc: Scenario):
        self.world, self.front, self.rng = world, world.front, world.stream("defection")
        self.accounts, self.signals = world.accounts, world.signals
        self.kremlin, self.hosts, self.offers = actors.kremlin, actors.hosts, actors.offers
        self.sc, self.cfg, self.fr_cfg, self.cd = sc, sc.defection, sc.front, sc.kremlin.counter_defection
        self.intelligence_per_defector = sc.security.intelligence_per_defector
        self.n_hosts = len(sc.hosts)
        u = sc.front.unwillingness
        self.unwillingness_mean = u.a / (u.a + u.b)
        self.params: ch.ChoiceParams | None = None
        self._params_key: tuple | None = None
        self._mobilized_seen = 0  # accounts.mobilized_sim at the start of the day
        self._base: dict[int, np.ndarray] = {}  # per offer: dU without private utility and cascade, family 0 and 1
        self._base_key: dict[int, tuple] = {}  # the inputs it came from

    def new_day(self) -> None:
        """Start the day: no defectors resettled yet; requests from men called up.

        Men mobilized since yesterday's start (not yet at the front), or their relatives,
        contact each offer open to soldiers: ``defection.callup_request_share`` requests
        per man (csv:hotline_requests_cumulative: the first weeks' calls came largely from
        them). Booked at the expected value (real requests): a count that changes no
        one's state and takes no random draw. A man who called on his call-up may call
        again once at the front (counted again if he considers an offer there).
        """
        self.signals.defector_flow_real = np.zeros(self.n_hosts)
        new_sim = self.accounts.mobilized_sim - self._mobilized_seen
        self._mobilized_seen = self.accounts.mobilized_sim
        share = self.cfg.callup_request_share
        if share > 0.0 and new_sim > 0:
            for o in self.offers:
                if o.open_to("soldiers"):
                    self.accounts.callup_requests_by_offer_real[o.index] += new_sim * self.world.scale * share

    def today_params(self, p_kia_daily: float) -> ch.ChoiceParams:
        """Today's choice parameters from the kill rate (1/day) and the Kremlin's levels."""
        cd, km = self.cd, self.kremlin
        pun = km.punishment / cd.punishment_base if cd.punishment_base > 0 else 1.0
        rep = km.reprisal / cd.reprisal_base if cd.reprisal_base > 0 else 1.0
        key = (p_kia_daily, pun, rep)
        if key != self._params_key:  # unchanged inputs keep yesterday's (frozen) parameters
            self._params_key = key
            self.params = choice_params(self.sc, p_kia_daily * 365.0, pun, rep)
        return self.params

    def private(self, slots: np.ndarray, unit_morale: np.ndarray, day: int) -> np.ndarray:
        """Private utility of leaving (HLY) of the soldiers in ``slots`` on ``day``, shape (n,);
        ``unit_morale`` is their units' morale, (n,), or one value for all.

        Kuran's hidden preference (D1), low morale (D2), and war weariness: ``weariness_per_year``
        HLY per year served since he (last) reached the front (``Front.arrived``).
        """
        fr, d = self.front, self.cfg
        out = (d.private_mean + d.private_weight * (fr.unwillingness[slots] - self.unwillingness_mean)
               + self.fr_cfg.morale_weight * (self.fr_cfg.morale_initial - unit_morale))
        if d.weariness_per_year:
            out += d.weariness_per_year / 365.0 * (day - fr.arrived[slots])
        return out

    def private_bound(self, day: int) -> float:
        """An upper bound on :meth:`private` over every soldier at the front on ``day``, from
        the ranges of its terms (unwillingness in [0, 1], unit morale between the lowest
        and highest unit's, time served between 0 and the earliest arrival's), without a
        pass over the soldiers; padded for the float32 rounding of :meth:`private`."""
        fr, d, f = self.front, self.cfg, self.fr_cfg
        m_lo, m_hi = fr.morale_range(f.morale_initial)
        served = max(day - fr.arrived_min, 0)
        hi = (d.private_mean + max(d.private_weight * (0.0 - self.unwillingness_mean), d.private_weight * (1.0 - self.unwillingness_mean))
              + max(f.morale_weight * (f.morale_initial - m_lo), f.morale_weight * (f.morale_initial - m_hi))
              + max(0.0, d.weariness_per_year / 365.0 * served))
        return hi + 1e-4 * (1.0 + abs(hi))

    def _learn(self, o: OfferMaker, day: int, present: np.ndarray, gone_share: np.ndarray, gone_u: np.ndarray) -> None:
        """Awareness (D5): publicity, talk among the aware (front-wide), word of mouth in units, and today's salience shocks."""
        fr, rng = self.front, self.rng
        bit = np.uint8(1 << o.index)
        boost = 0.0
        for ev in self.cfg.salience_events:
            if ev.day == day and (not ev.offers or o.cfg.name in ev.offers):
                boost = 1.0 - (1.0 - boost) * (1.0 - ev.awareness_boost)
        # two independent chances give his unit's probability 1 - (1 - p0)(1 - q_u): publicity
        # and talk (with today's salience boost), p0, the same for all, drawn by thinning over the
        # soldiers present; word of mouth, q_u, only in units where some have gone (by unit)
        hazard = o.cfg.publicity
        if self.cfg.awareness_contagion > 0.0 and present.size:  # Bass (1969): q x the aware share
            hazard += self.cfg.awareness_contagion * fr.aware_count[o.index] / present.size
        p0 = 1.0 - np.exp(-hazard) * (1.0 - boost)
        cand = present[candidates(rng, 0, present.size, p0)]
        if gone_u.size and p0 < 1.0:
            q_u = -np.expm1(-self.cfg.word_of_mouth * gone_share[gone_u])
            us = fr.unit_slots
            more, _ = candidates_cells(rng, gone_u * us, (gone_u + 1) * us, q_u)
            cand = np.concatenate([cand, more[fr.occupied[more]]])
            learn = sorted_unique(cand[(fr.aware[cand] & bit) == 0])
        else:
            learn = cand[(fr.aware[cand] & bit) == 0]  # ascending and distinct already
        fr.make_aware(learn, o.index)
        self.accounts.aware_by_offer_sim[o.index] += learn.size

    def step(self, day: int, present: np.ndarray, p_kia_daily: float) -> tuple[np.ndarray, np.ndarray, int]:
        """Today's funnel among the soldiers present, and the attempts' fates.

        Only an aware soldier whose persistent taste is below the day's largest consider
        probability can consider an offer (the bound: :meth:`private_bound`, the unit with
        the largest gone share, both values of family ties), so the choice is evaluated
        for those soldiers alone, found among all slots (unoccupied slots are never aware)
        without a pass over the soldiers present; the result is the same as evaluating it
        for every soldier.

        Args:
            day: Calendar day.
            present: Slot indices of the soldiers at the front after today's casualties, (n,),
                ascending.
            p_kia_daily: Today's probability a soldier is killed (1/day): the risk of dying
                if he stays.

        Returns:
            ``(attempt_pos, tried, n_defected)``: the positions in ``present`` of those who
            attempted (ascending), their slots, and the number who crossed (simulated soldiers).
        """
        fr, d_cfg, rng, km, acc = self.front, self.cfg, self.rng, self.kremlin, self.accounts
        p = self.today_params(p_kia_daily)
        n_units, us = fr.n_units, fr.unit_slots
        private_hi = None
        slots_o: list[np.ndarray] = []  # per open offer: the slots considering it, and their utility
        du_o: list[np.ndarray] = []
        offer_o: list[int] = []
        for o in self.offers:
            if not o.open_to("soldiers"):
                continue
            bit = np.uint8(1 << o.index)
            gone_share, gone_max, gone_u = fr.gone_share(o.index)
            self._learn(o, day, present, gone_share, gone_u)
            c = o.cfg
            p_caught, p_killed, _ = attempt_risks(c.route, km.detection, c.surrender_survival)
            payment = o.next_payment() + c.equipment_share * c.equipment_bounty_usd
            cred = o.credibility * (1.0 - c.repatriation_probability)
            # the choice without private utility and cascade, for both values of family ties:
            # dU = base[family] + private + social_weight * gone_share (the same arithmetic as
            # utility_difference on every soldier)
            key = (payment, p_killed, p_caught, cred, p)
            if self._base_key.get(o.index) != key:  # unchanged inputs: yesterday's values
                self._base_key[o.index] = key
                self._base[o.index] = ch.utility_difference(payment, p_killed, p_caught, cred, c.status, 0.0, 0.0,
                                                            FAMILY_BOTH, params=p)
            base = self._base[o.index]
            if private_hi is None:
                private_hi = self.private_bound(day)
            du_hi = float(base.max()) + private_hi + p.social_weight * gone_max
            # compared in float32, rounded up (a superset of the soldiers below the bound)
            top = np.nextafter(np.float32(float(ch.consider_probability(du_hi, p.sigma)) + 1e-9), np.float32(np.inf))
            sub = (fr.taste < top).nonzero()[0]
            sub = sub[(fr.aware[sub] & bit) != 0]
            if sub.size == 0:  # no one can consider it today (as if every choice below were evaluated)
                continue
            sub_u = sub // us  # their units
            du = (base[fr.family[sub].view(np.uint8)] + self.private(sub, fr.morale_of(sub_u), day)
                  + p.social_weight * gone_share[sub_u].astype(np.float64))
            considering = fr.taste[sub] < ch.consider_probability(du, p.sigma)  # his persistent taste: the same man keeps considering
            idx, du = sub[considering], du[considering]
            first = idx[(fr.considered[idx] & bit) == 0]
            fr.considered[first] |= bit
            acc.considered_by_offer_sim[o.index] += first.size
            slots_o.append(idx)
            du_o.append(du)
            offer_o.append(o.index)
        # each considering soldier under the offer he values most (the first of equals)
        if len(slots_o) == 1:
            want, want_offer = slots_o[0], np.full(slots_o[0].size, offer_o[0], dtype=np.int64)
        elif slots_o:
            sl = np.concatenate(slots_o)
            of = np.concatenate([np.full(a.size, i, dtype=np.int64) for a, i in zip(slots_o, offer_o, strict=True)])
            order = np.lexsort((-np.concatenate(du_o), sl))  # by slot, then utility descending; stable
            sl, of = sl[order], of[order]
            head = np.ones(sl.size, dtype=bool)
            head[1:] = sl[1:] != sl[:-1]
            want, want_offer = sl[head], of[head]
        else:
            want, want_offer = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        # considering some offer; a draw only for them, in the order of ``present``
        act = rng.random(want.size) < d_cfg.opportunity_rate
        tried, tried_offer = want[act], want_offer[act]
        attempt_pos = np.searchsorted(present, tried)
        # commander payments move whole units (D17): a commander who has heard of the offer
        # (the unit's aware share) may take it and bring his unit; his men count as
        # considering it (they are told) and as attempting
        real_units_per_unit = us * self.world.scale / max(self.fr_cfg.unit_size, 1)
        best_offer = None
        for o in self.offers:
            if o.open_to("soldiers") and o.cfg.commander_payment_usd > 0:
                if best_offer is None:
                    attempt = np.zeros(present.size, dtype=bool)
                    attempt[attempt_pos] = True
                    units = present // us
                    best_offer = np.full(present.size, -1, dtype=np.int64)
                    best_offer[np.searchsorted(present, tried)] = tried_offer
                bit = np.uint8(1 << o.index)
                n_u = np.maximum(fr.unit_sum(present), 1)
                unwill_u = fr.unit_sum(present, fr.unwillingness[present]) / n_u
                aware_u = fr.unit_sum(present, ((fr.aware[present] & bit) != 0).astype(float)) / n_u
                p_u = (o.cfg.commander_rate * np.clip(unwill_u / max(self.unwillingness_mean, 1e-9), 0, 3) * aware_u
                       * o.credibility * min(1.0, o.cfg.commander_payment_usd / 1e6))
                flip = rng.random(n_units) < p_u
                if flip.any():
                    moved = flip[units] & ~attempt
                    told = present[moved & ((fr.aware[present] & bit) == 0)]
                    fr.make_aware(told, o.index)
                    acc.aware_by_offer_sim[o.index] += told.size
                    new = present[moved & ((fr.considered[present] & bit) == 0)]
                    fr.considered[new] |= bit
                    acc.considered_by_offer_sim[o.index] += new.size
                    attempt |= moved
                    best_offer[moved] = o.index
                    acc.book_offer_payment(o.cfg, o.pay_commanders(flip.sum(), real_units_per_unit))
        if best_offer is not None:
            attempt_pos = attempt.nonzero()[0]
            tried, tried_offer = present[attempt_pos], best_offer[attempt_pos]
        return attempt_pos, tried, self._resolve(tried, tried_offer, day)

    def _resolve(self, tried: np.ndarray, offer_idx: np.ndarray, day: int) -> int:
        """Attempts end caught (D16), killed in the surrender, or across (booked to the offer).

        Returns:
            The number who crossed (simulated soldiers).
        """
        if tried.size == 0:
            return 0
        n_across = 0
        rng, km, cd, fr, w, acc = self.rng, self.kremlin, self.cd, self.front, self.world, self.accounts
        risks = {o.index: attempt_risks(o.cfg.route, km.detection, o.cfg.surrender_survival) for o in self.offers}
        p_caught = np.array([risks[i][0] for i in offer_idx])
        p_killed = np.array([risks[i][1] for i in offer_idx])
        u = rng.random(tried.size)
        caught = u < p_caught
        killed = ~caught & (u < p_caught + p_killed)
        across = ~caught & ~killed
        np.add.at(acc.attempts_by_offer_sim, offer_idx, 1)
        np.add.at(acc.caught_by_offer_sim, offer_idx[caught], 1)
        np.add.at(acc.killed_by_offer_sim, offer_idx[killed], 1)
        # caught: shot, imprisoned, or sent back on a suspended sentence; all but the shot are tried
        c_slots = tried[caught]
        v = rng.random(c_slots.size)
        shot = c_slots[v < cd.executed_share]
        jail = c_slots[(v >= cd.executed_share) & (v < cd.executed_share + cd.imprisoned_share)]
        sent = c_slots[v >= cd.executed_share + cd.imprisoned_share]
        acc.caught_sim += c_slots.size
        acc.executed_sim += shot.size
        acc.imprisoned_sim += jail.size
        acc.schedule_court(day + round(cd.court_delay_days), 0, jail.size + sent.size)  # cases reach a court later
        w.leave_front(shot, State.EXECUTED)
        w.leave_front(jail, State.IMPRISONED)
        w.to_pipeline(sent, day + cd.sent_back_delay_days)
        k_slots = tried[killed]
        np.add.at(acc.kia_by_origin_sim, fr.origin[k_slots], 1)
        acc.kia_sim += k_slots.size
        w.count_casualties(k_slots, np.empty(0, dtype=np.int64))
        w.leave_front(k_slots, State.KIA)
        for o in self.offers:
            mine = tried[across & (offer_idx == o.index)]
            if mine.size == 0:
                continue
            fr.count_gone(mine, o.index)
            n_across += mine.size
            acc.defected_by_offer_sim[o.index] += mine.size
            acc.defected_sim += mine.size
            acc.book_offer_payment(o.cfg, o.pay(mine.size, w.scale))
            # some are later sent back to Russia in an exchange and punished (D11, D18)
            rep = rng.random(mine.size) < o.cfg.repatriation_probability
            acc.repatriated_sim += int(rep.sum())
            w.leave_front(mine[rep], State.IMPRISONED)
            w.leave_front(mine[~rep], State.DEFECTED)
            self._resettle(o, int((~rep).sum()))
        return n_across

    def _resettle(self, o: OfferMaker, n_sim: int) -> None:
        """Defectors who stay abroad go to the offer's destination hosts; war criminals among
        them are caught by the hosts' screening or not (D14); they bring intelligence."""
        if n_sim == 0:
            return
        acc, rng = self.accounts, self.rng
        w = np.array([o.cfg.destination.get(h.cfg.name, 0.0) * h.deserter_admit_share for h in self.hosts])
        real = n_sim * self.world.scale
        if w.sum() > 0:
            share = w / w.sum()
            acc.host_defectors_real += real * share
            resettle = real * share * np.array([h.resettlement_usd(deserter=True) for h in self.hosts])
            acc.host_cost_usd += resettle
            acc.resettlement_usd += float(resettle.sum())
            self.signals.defector_flow_real += real * share
        wc = rng.binomial(int(real), self.cfg.war_criminal_share) if real >= 1 else 0
        if w.sum() > 0 and wc:
            catch = float((w / w.sum() * self.world.geo.screening_catch_rate).sum())
            acc.war_criminals_real += wc - rng.binomial(wc, catch)
        acc.intelligence_real += real * self.intelligence_per_defector
