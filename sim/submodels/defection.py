"""Defection (ODD 7.6, 7.7): the funnel aware -> considering -> acting -> outcome, per offer.

Run by the front between casualties and AWOL. Per offer and day (issue 15, point 1):

1. **aware**: unaware soldiers learn of the offer from its publicity, from word of mouth
   in units where others already left under it (D5), and from salience shocks
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
from sim.mechanisms.sampling import candidates, candidates_cells
from sim.submodels.routes import Routes
from sim.world import World

_FAMILY_BOTH = np.array([0.0, 1.0])  # a bound on the choice over both values of family ties
_BOUND_ABOVE = 2048  # aware soldiers above which the bound on the consider probability pays


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


def attempt_risks(route: str, detection: float, surrender_survival: float) -> tuple[float, float, bool]:
    """Probabilities an attempt is caught and killed, and whether it goes direct to the EU.

    ``via_ukraine``: caught with the detection ``d``, killed in the surrender with
    ``(1 - d)(1 - surrender_survival)``. ``direct_eu``: elude one's own side twice, caught
    with ``1 - (1 - d)^2``, never killed. ``either``: the route more likely to succeed.
    """
    via_ok = (1.0 - detection) * surrender_survival
    direct_ok = (1.0 - detection) ** 2
    direct = route == "direct_eu" or (route == "either" and direct_ok > via_ok)
    if direct:
        return 1.0 - direct_ok, 0.0, True
    return detection, (1.0 - detection) * (1.0 - surrender_survival), False


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
        self.world, self.front, self.rng = world, world.front, world.rng
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
        """Private utility of leaving (HLY) of the soldiers in ``slots`` on ``day``, shape (n,).

        Kuran's hidden preference (D1), low morale (D2), and war weariness: ``weariness_per_year``
        HLY per year served since he (last) reached the front (``Front.arrived``).
        """
        fr, d = self.front, self.cfg
        out = (d.private_mean + d.private_weight * (fr.unwillingness[slots] - self.unwillingness_mean)
               + self.fr_cfg.morale_weight * (self.fr_cfg.morale_initial - unit_morale))
        if d.weariness_per_year:
            out += d.weariness_per_year / 365.0 * (day - fr.arrived[slots])
        return out

    def _learn(self, o: OfferMaker, day: int, present: np.ndarray, units: np.ndarray, gone_share: np.ndarray) -> None:
        """Awareness (D5): publicity, word of mouth and today's salience shocks."""
        fr, rng = self.front, self.rng
        bit = np.uint8(1 << o.index)
        boost = 0.0
        for ev in self.cfg.salience_events:
            if ev.day == day and (not ev.offers or o.cfg.name in ev.offers):
                boost = 1.0 - (1.0 - boost) * (1.0 - ev.awareness_boost)
        # two independent chances give his unit's probability 1 - (1 - p0)(1 - q_u): publicity
        # (with today's salience boost), p0, the same for all, drawn by thinning over the
        # soldiers present; word of mouth, q_u, only in units where some have gone (by unit)
        p0 = 1.0 - np.exp(-o.cfg.publicity) * (1.0 - boost)
        cand = present[candidates(rng, 0, present.size, p0)]
        gone_u = np.flatnonzero(gone_share > 0.0) if p0 < 1.0 else np.empty(0, dtype=np.int64)
        if gone_u.size:
            q_u = -np.expm1(-self.cfg.word_of_mouth * gone_share[gone_u])
            us = fr.unit_slots
            more, _ = candidates_cells(rng, gone_u * us, (gone_u + 1) * us, q_u)
            cand = np.concatenate([cand, more[fr.occupied[more]]])
        learn = np.unique(cand[(fr.aware[cand] & bit) == 0])
        fr.aware[learn] |= bit
        self.accounts.aware_by_offer_sim[o.index] += learn.size

    def step(self, day: int, present: np.ndarray, p_kia_daily: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Today's funnel among the soldiers present, and the attempts' fates.

        Args:
            day: Calendar day.
            present: Slot indices of the soldiers at the front after today's casualties, (n,).
            p_kia_daily: Today's probability a soldier is killed (1/day): the risk of dying
                if he stays.

        Returns:
            ``(attempt, defect_u, attempts_u, n_tried)``: which of ``present`` attempted
            (bool, (n,)), defections and attempts per unit (float, (n_units,)), and the
            number of attempts (simulated soldiers).
        """
        fr, d_cfg, rng, km, acc = self.front, self.cfg, self.rng, self.kremlin, self.accounts
        p = self.today_params(p_kia_daily)
        n_units = fr.n_units
        units = present // fr.unit_slots
        private = self.private(present, fr.morale[units], day)
        taste = fr.taste[present]
        private_hi = private.max(initial=-np.inf)
        best_du = np.full(present.size, -np.inf)
        best_offer = np.full(present.size, -1, dtype=np.int64)
        for o in self.offers:
            if not o.open_to("soldiers"):
                continue
            bit = np.uint8(1 << o.index)
            gone_share = np.minimum(fr.gone[:, o.index] / fr.unit_slots, 1.0)
            self._learn(o, day, present, units, gone_share)
            aware = (fr.aware[present] & bit) != 0
            c = o.cfg
            p_caught, p_killed, _ = attempt_risks(c.route, km.detection, c.surrender_survival)
            payment = o.next_payment() + c.equipment_share * c.equipment_bounty_usd
            cred = o.credibility * (1.0 - c.repatriation_probability)
            # only an aware soldier whose taste is below the day's largest consider probability
            # can consider: evaluate the choice for those alone (same result, fewer passes)
            if np.count_nonzero(aware) > _BOUND_ABOVE:
                du_hi = ch.utility_difference(payment, p_killed, p_caught, cred, c.status, private_hi,
                                              gone_share.max(initial=0.0), _FAMILY_BOTH, params=p).max()
                sub = np.flatnonzero((taste < ch.consider_probability(du_hi, p.sigma) + 1e-9) & aware)
            else:
                sub = np.flatnonzero(aware)
            du = ch.utility_difference(payment, p_killed, p_caught, cred, c.status, private[sub],
                                       gone_share[units[sub]], fr.family[present[sub]], params=p)
            considering = taste[sub] < ch.consider_probability(du, p.sigma)  # his persistent taste: the same man keeps considering
            idx, du = sub[considering], du[considering]
            first = present[idx[(fr.considered[present[idx]] & bit) == 0]]
            fr.considered[first] |= bit
            acc.considered_by_offer_sim[o.index] += first.size
            better = du > best_du[idx]
            best_du[idx[better]] = du[better]
            best_offer[idx[better]] = o.index
        attempt = best_offer >= 0  # considering some offer; a draw only for them
        want = np.flatnonzero(attempt)
        attempt[want] = rng.random(want.size) < d_cfg.opportunity_rate
        # commander payments move whole units (D17): a commander who has heard of the offer
        # (the unit's aware share) may take it and bring his unit; his men count as
        # considering it (they are told) and as attempting
        real_units_per_unit = fr.unit_slots * self.world.scale / max(self.fr_cfg.unit_size, 1)
        for o in self.offers:
            if o.open_to("soldiers") and o.cfg.commander_payment_usd > 0:
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
                    fr.aware[told] |= bit
                    acc.aware_by_offer_sim[o.index] += told.size
                    new = present[moved & ((fr.considered[present] & bit) == 0)]
                    fr.considered[new] |= bit
                    acc.considered_by_offer_sim[o.index] += new.size
                    attempt |= moved
                    best_offer[moved] = o.index
                    acc.book_offer_payment(o.cfg, o.pay_commanders(flip.sum(), real_units_per_unit))
        tried = present[attempt]
        defect_u = np.zeros(n_units)
        attempts_u = fr.unit_sum(tried)
        self._resolve(tried, best_offer[attempt], day, defect_u)
        return attempt, defect_u, attempts_u, tried.size

    def _resolve(self, tried: np.ndarray, offer_idx: np.ndarray, day: int, defect_u: np.ndarray) -> None:
        """Attempts end caught (D16), killed in the surrender, or across (booked to the offer)."""
        if tried.size == 0:
            return
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
            np.add.at(fr.gone[:, o.index], mine // fr.unit_slots, 1)
            defect_u += fr.unit_sum(mine)
            acc.defected_by_offer_sim[o.index] += mine.size
            acc.defected_sim += mine.size
            acc.book_offer_payment(o.cfg, o.pay(mine.size, w.scale))
            # some are later sent back to Russia in an exchange and punished (D11, D18)
            rep = rng.random(mine.size) < o.cfg.repatriation_probability
            acc.repatriated_sim += int(rep.sum())
            w.leave_front(mine[rep], State.IMPRISONED)
            w.leave_front(mine[~rep], State.DEFECTED)
            self._resettle(o, int((~rep).sum()))

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
