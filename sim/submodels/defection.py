"""Defection (ODD 7.6, 7.7): awareness, scores, commanders' flips, and the attempts' fates.

Run by the front between casualties and AWOL. Soldiers learn of offers (D5), score each
offer they know (:mod:`sim.mechanisms.defection`) and those past their threshold try when
an opportunity comes; commanders paid by an offer bring whole units (D17). An attempt
ends caught (shot, imprisoned or sent back, D16), killed in the surrender, or across:
the offer pays, some are repatriated and punished (D11, D18), the rest are resettled by
the offer's destination hosts, war criminals among them screened or not (D14).
"""

from __future__ import annotations

import numpy as np

from sim.actors import Actors, OfferMaker
from sim.config.schema import Scenario
from sim.ledger import State
from sim.mechanisms import defection as dfn
from sim.submodels.routes import Routes
from sim.world import World


class Defection:
    """Offers at the front.

    Reads: ``sc.defection``, ``sc.front`` (unit size, weights, unwillingness mean),
    ``sc.kremlin.counter_defection``, ``sc.security.intelligence_per_defector``, the
    Kremlin's detection, punishment and reprisal levels, offers (state and payments),
    hosts' deserter admission, resettlement costs and screening. Writes: front slots
    (awareness, gone per unit), pool and ledger (FRONT -> EXECUTED, IMPRISONED,
    RECOVERING, KIA, DEFECTED), ``accounts`` (caught, executed, imprisoned, kia,
    defected, repatriated, host costs, resettlement costs and defectors, war
    criminals, intelligence),
    offers' payments, ``signals.defector_flow_real``.
    """

    def __init__(self, world: World, routes: Routes, actors: Actors, sc: Scenario):
        self.world, self.front, self.rng = world, world.front, world.rng
        self.accounts, self.signals = world.accounts, world.signals
        self.kremlin, self.hosts, self.offers = actors.kremlin, actors.hosts, actors.offers
        self.cfg, self.fr_cfg, self.cd = sc.defection, sc.front, sc.kremlin.counter_defection
        self.intelligence_per_defector = sc.security.intelligence_per_defector
        self.n_hosts = len(sc.hosts)

    def new_day(self) -> None:
        """Start the day: no defectors resettled yet."""
        self.signals.defector_flow_real = np.zeros(self.n_hosts)

    def step(self, day: int, present: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Today's attempts among the soldiers present, and their fates.

        Args:
            day: Calendar day.
            present: Slot indices of the soldiers at the front after today's casualties.

        Returns:
            ``(attempt, defect_u, attempts_u, n_tried)``: which of ``present`` attempted
            (bool, same shape), defections and attempts per unit (float, (n_units,)), and
            the number of attempts.
        """
        fr, d_cfg, fr_cfg, rng, km = self.front, self.cfg, self.fr_cfg, self.rng, self.kremlin
        n_units = fr.n_units
        units = present // fr.unit_slots
        unit_morale = fr.morale[units]
        # offer awareness (D5), scores, and the best offer per soldier
        best_margin = np.full(present.size, -np.inf, dtype=np.float32)
        best_offer = np.full(present.size, -1, dtype=np.int64)
        for o in self.offers:
            if not o.open_to("soldiers"):
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
        real_units_per_unit = fr.unit_slots * self.world.scale / max(fr_cfg.unit_size, 1)
        for o in self.offers:
            if o.open_to("soldiers") and o.cfg.commander_payment_usd > 0:
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
                    self.accounts.book_offer_payment(o.cfg, o.pay_commanders(flip.sum(), real_units_per_unit))
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
        acc.caught_sim += c_slots.size
        acc.executed_sim += shot.size
        acc.imprisoned_sim += jail.size
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
