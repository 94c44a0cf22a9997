"""An offer and its maker: state of one offer (open or not, credibility) and its payments.

Every payment an offer makes goes through this class: to a defecting soldier
(:meth:`OfferMaker.pay`), to commanders who bring their units (:meth:`OfferMaker.pay_commanders`),
and to draftees who reach a destination host (:meth:`OfferMaker.pay`). What a Western
maker pays is then shared by the hosts (:meth:`sim.accounts.Accounts.book_offer_payment`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim.config.schema import OfferConfig
from sim.lazy_mesa import mesa
from sim.mechanisms.defection import credibility, payments_for_arrivals, ukraine_win_probability


class OfferMaker(mesa.Agent):
    """Holds one offer's state; the defection and flight submodels read it.

    Attributes:
        active: Whether the offer is open today.
        credibility: Today's credibility (fixed, or tied to the war's course, D8).
        defected_real: Real defectors paid so far (positions for tiered payments, D10).
        cost_usd: Payments made so far, real USD.
    """

    def __init__(self, model: mesa.Model, cfg: OfferConfig, index: int):
        super().__init__(model)
        self.cfg = cfg
        self.index = index
        self.active = False
        self.credibility = cfg.credibility.base
        self.defected_real = 0.0
        self.cost_usd = 0.0
        self._next_payment = (None, 0.0)  # (defected_real, next_payment()) cached

    def open_to(self, group: str) -> bool:
        """Whether the offer is open today to ``group`` (``"soldiers"`` or ``"draftees"``)."""
        return self.active and group in self.cfg.eligible

    def next_payment(self) -> float:
        """What the next real defector would be paid, USD (a soldier weighs this)."""
        if self._next_payment[0] != self.defected_real:  # changes only with the defectors paid
            tiers = [(t.first, t.amount_usd) for t in self.cfg.tiers]
            self._next_payment = (self.defected_real,
                                  float(payments_for_arrivals(self.defected_real, 1, 1, tiers, self.cfg.payment_usd)[0]))
        return self._next_payment[1]

    def pay(self, n_sim: int, scale: int) -> float:
        """Pay ``n_sim`` simulated arrivals (``n_sim * scale`` real people) at their tiered
        positions; return the USD paid (real)."""
        tiers = [(t.first, t.amount_usd) for t in self.cfg.tiers]
        paid = float(payments_for_arrivals(self.defected_real, n_sim, scale, tiers, self.cfg.payment_usd).sum()) * scale
        self.defected_real += n_sim * scale
        self.cost_usd += paid
        return paid

    def pay_commanders(self, n_units: int, real_units_per_unit: float) -> float:
        """Pay the commanders of ``n_units`` simulated units (D17); return the USD paid.

        Args:
            n_units: Simulated units whose commander took the payment today.
            real_units_per_unit: Real units (of ``front.unit_size``) one simulated unit stands for.
        """
        paid = float(n_units) * self.cfg.commander_payment_usd * real_units_per_unit
        self.cost_usd += paid
        return paid

    def draftee_pull(self, day: int) -> float:
        """Added relative flight hazard from this offer today: pull x aware share x credibility
        (0 unless the offer is open to draftees and has a pull)."""
        if not (self.open_to("draftees") and self.cfg.draftee_pull > 0):
            return 0.0
        aware = -np.expm1(-self.cfg.publicity * max(day - self.cfg.start_day + 1, 0))
        return self.cfg.draftee_pull * aware * self.credibility

    def step(self) -> None:
        """Open or close by date; update credibility from yesterday's observed front."""
        m = self.model
        c = self.cfg
        self.active = m.day >= c.start_day and (c.deadline_day is None or m.day < c.deadline_day)
        p_win = ukraine_win_probability(m.observed.front_effective_real, m.sc.front.enemy_strength)
        self.credibility = credibility(c.credibility.model, c.credibility.base, c.credibility.war_weight, p_win)


def flight_pull(offers: Sequence[OfferMaker], day: int) -> float:
    """Relative flight hazard from the offers open to draftees: 1 + the sum of their pulls."""
    pull = 1.0
    for o in offers:
        if o.open_to("draftees") and o.cfg.draftee_pull > 0:
            pull += o.draftee_pull(day)
    return pull
