"""An offer and its maker: state of one offer (active, credibility, payments made)."""

from __future__ import annotations

import mesa

from sim.config.schema import OfferConfig
from sim.mechanisms.defection import credibility, payments_for_arrivals, ukraine_win_probability


class OfferMaker(mesa.Agent):
    """Holds one offer's state; the front's defection rule reads it.

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

    def next_payment(self) -> float:
        """What the next real defector would be paid (a soldier weighs this)."""
        tiers = [(t.first, t.amount_usd) for t in self.cfg.tiers]
        return float(payments_for_arrivals(self.defected_real, 1, 1, tiers, self.cfg.payment_usd)[0])

    def pay(self, n_sim: int, scale: int) -> float:
        """Book ``n_sim`` simulated defectors; return the USD paid (real)."""
        tiers = [(t.first, t.amount_usd) for t in self.cfg.tiers]
        paid = float(payments_for_arrivals(self.defected_real, n_sim, scale, tiers, self.cfg.payment_usd).sum()) * scale
        self.defected_real += n_sim * scale
        self.cost_usd += paid
        return paid

    def step(self) -> None:
        m = self.model
        c = self.cfg
        self.active = m.day >= c.start_day and (c.deadline_day is None or m.day < c.deadline_day)
        p_win = ukraine_win_probability(m.front_effective_real, m.enemy_strength)
        self.credibility = credibility(c.credibility.model, c.credibility.base, c.credibility.war_weight, p_win)
