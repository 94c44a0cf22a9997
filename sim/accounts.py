"""Running totals of a run, each named with its unit.

The unit suffix says what a number counts:

- ``_sim``: simulated individuals (multiply by ``population.scale`` for real people);
- ``_real``: real people or real events (already scaled);
- ``_usd``: US dollars.

Submodels add to these totals; :func:`sim.outcomes.daily_row` turns them into the daily
row (in real people). The conversion from simulated to real people happens there, and in
:class:`sim.observed.Observed` for what institutions see.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.config.schema import OfferConfig


@dataclass(eq=False)
class Accounts:
    """Cumulative counts since day 0 (scalars are ints or floats, arrays are per name).

    Build with :meth:`empty`. Per-host arrays have shape (n_hosts,), per-source
    (n_sources,), per-origin (n_origins,), per-offer (n_offers,).
    """

    burden_share: np.ndarray  # hosts' shares of Western offer payments (D7), read-only
    summoned_sim: int = 0
    mobilized_sim: int = 0
    mobilized_minority_sim: int = 0
    fled_sim: int = 0
    turned_back_sim: int = 0
    returned_sim: int = 0
    kia_sim: int = 0
    wia_sim: int = 0
    defected_sim: int = 0
    caught_sim: int = 0
    awol_sim: int = 0
    executed_sim: int = 0
    imprisoned_sim: int = 0
    repatriated_sim: int = 0
    captured_sim: int = 0  # taken prisoner by the enemy in combat (involuntary)
    awol_caught_sim: int = 0  # AWOL soldiers caught (their cases reach a court court_delay_days later)
    awol_court_sim: int = 0  # AWOL cases that have reached a court (caught AWOL soldiers, after the court delay)
    awol_court_before_run_real: float = 0.0  # AWOL cases of men caught before the run that have reached a court (real, expected count)
    refusal_court_sim: int = 0  # court cases for refusing to fight that have reached a court: AWOL cases and caught defectors not shot
    war_criminals_real: float = 0.0
    incidents_real: float = 0.0
    intelligence_real: float = 0.0
    arrests_real: float = 0.0
    resettlement_usd: float = 0.0  # hosts' resettlement costs alone (host_cost_usd also holds shared offer payments)
    entries_real: np.ndarray = field(default_factory=lambda: np.zeros(0))
    admitted_sim: np.ndarray = field(default_factory=lambda: np.zeros(0))  # admitted at the border from Russia
    abroad_sim: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    replacements_real: np.ndarray = field(default_factory=lambda: np.zeros(0))
    kia_by_origin_sim: np.ndarray = field(default_factory=lambda: np.zeros(0))
    defected_by_offer_sim: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # the defection funnel per offer (simulated soldiers, cumulative): learned of it,
    # first considered it, attempted under it, caught, killed in the attempt
    aware_by_offer_sim: np.ndarray = field(default_factory=lambda: np.zeros(0))
    considered_by_offer_sim: np.ndarray = field(default_factory=lambda: np.zeros(0))
    attempts_by_offer_sim: np.ndarray = field(default_factory=lambda: np.zeros(0))
    caught_by_offer_sim: np.ndarray = field(default_factory=lambda: np.zeros(0))
    killed_by_offer_sim: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # hotline requests from men called up and their relatives (expected values, real requests)
    callup_requests_by_offer_real: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # court cases caught but not yet before a court: due day -> [AWOL cases, refusal cases] (simulated)
    court_pending: dict[int, list[int]] = field(default_factory=dict)
    host_cost_usd: np.ndarray = field(default_factory=lambda: np.zeros(0))
    host_defectors_real: np.ndarray = field(default_factory=lambda: np.zeros(0))
    infiltrators_real: np.ndarray = field(default_factory=lambda: np.zeros(0))
    infiltrators_matter_real: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def empty(cls, n_hosts: int, n_sources: int, n_origins: int, n_offers: int, burden_share: np.ndarray) -> Accounts:
        """All totals at zero, arrays sized for the scenario."""
        z = np.zeros
        return cls(burden_share=burden_share, entries_real=z(n_hosts), admitted_sim=z(n_hosts),
                   abroad_sim=z(n_hosts, dtype=np.int64), replacements_real=z(n_sources),
                   kia_by_origin_sim=z(n_origins), defected_by_offer_sim=z(n_offers),
                   aware_by_offer_sim=z(n_offers), considered_by_offer_sim=z(n_offers), attempts_by_offer_sim=z(n_offers),
                   caught_by_offer_sim=z(n_offers), killed_by_offer_sim=z(n_offers),
                   callup_requests_by_offer_real=z(n_offers), host_cost_usd=z(n_hosts),
                   host_defectors_real=z(n_hosts), infiltrators_real=z(n_hosts), infiltrators_matter_real=z(n_hosts))

    def schedule_court(self, due_day: int, awol: int, refusal: int) -> None:
        """Book cases of men caught today that reach a court on ``due_day``.

        Args:
            due_day: Day the cases reach a court (today + ``kremlin.counter_defection.court_delay_days``).
            awol: AWOL cases among them (simulated soldiers).
            refusal: All refusal-to-fight cases among them, AWOL included (simulated soldiers).
        """
        if awol == 0 and refusal == 0:
            return
        due = self.court_pending.setdefault(due_day, [0, 0])
        due[0] += awol
        due[1] += refusal

    def release_court(self, day: int) -> None:
        """Count the cases due on or before ``day`` as having reached a court."""
        for d in [d for d in self.court_pending if d <= day]:
            awol, refusal = self.court_pending.pop(d)
            self.awol_court_sim += awol
            self.refusal_court_sim += refusal

    def book_offer_payment(self, offer: OfferConfig, paid_usd: float) -> None:
        """Share a Western maker's offer payment among hosts by burden share (D7).

        Ukraine's own payments, and payments of zero, cost the hosts nothing.

        Args:
            offer: The offer that paid.
            paid_usd: What it paid, real USD.
        """
        if offer.maker == "ukraine" or paid_usd <= 0:
            return
        w = self.burden_share
        if w.sum() > 0:
            self.host_cost_usd += paid_usd * w / w.sum()
