"""The break-even payment of the defection choice (:func:`break_even_payment`).

The payment at which a soldier is indifferent between staying and defecting, per status,
at a range of attempt death risks. The calibrated model's median soldier, the table and
the figure (``python -m sim.inference.break_even``) are in :mod:`sim.inference.break_even`
(they read the posterior); see ``docs/defection_choice.md``.
"""

from __future__ import annotations

import numpy as np

from sim.mechanisms.choice import (
    ChoiceParams,
    annuity,
    check_probabilities,
    value_caught,
    value_stay,
)

# McClements & Hausenloy ("Paying for peace", 2023), as quoted in issue 15: $100,000
# suffices for an average soldier if the risk of death while defecting is below about 17%.
MCCLEMENTS_PAYMENT_USD = 100_000.0
MCCLEMENTS_RISK = 0.17


def break_even_payment(death_risk_attempt: float | np.ndarray, p_caught: float = 0.25, credibility: float = 0.9,
                       status: str = "citizenship", private: float = 0.0, family: float = 0.0,
                       stay_death: float | None = None, params: ChoiceParams | None = None) -> np.ndarray:
    """Payment (USD per real man) at which the median soldier is indifferent (dU = 0).

    dU is linear in the utility of crossing, which is increasing in the payment, so the
    payment is solved in closed form: with ``k = p_cross * cred`` and ``B`` the rest of dU,
    ``A u(c_s + P / A) = (-B) / k + home_attachment + reprisal`` gives
    ``P = A (c_sub (c_home / c_sub) ** (need / A) - c_s)``.

    The median soldier has the median private preference (``private``; 0 if preferences
    are centred) and no unit cascade. Defaults: detection 0.25
    (``kremlin.counter_defection.detection_base``), credibility 0.9 (``offers[].credibility.base``),
    Caplan's citizenship.

    Args:
        death_risk_attempt: Probability of dying in the attempt; scalar or array (any shape).

    Returns:
        Break-even payment in USD, same shape; 0 where he would defect without payment,
        ``inf`` where no payment suffices (no chance of a kept promise).
    """
    p = params or ChoiceParams()
    pk = np.asarray(death_risk_attempt, dtype=float)
    pc = np.full_like(pk, p_caught)
    cr = np.full_like(pk, credibility)
    check_probabilities(pc, pk, cr)
    k = (1.0 - pc - pk) * cr
    vc = value_caught(p)
    rest = pc * vc + (1.0 - pc - pk) * (1.0 - cr) * vc - value_stay(p, stay_death) + private
    a = annuity(p.remaining_years, p.discount_rate)
    need = -rest / np.where(k > 0, k, 1.0) + p.home_attachment + family * p.p_reprisal * p.reprisal_cost  # A*u(c) needed
    log_ratio = np.log(p.c_home_usd / p.c_sub_usd)
    with np.errstate(over="ignore"):
        c_needed = p.c_sub_usd * np.exp(need / a * log_ratio)
    pay = np.maximum(a * (c_needed - p.status_usd(status)), 0.0)
    return np.where(k > 0, pay, np.inf)


def break_even_table(risks: np.ndarray, params: ChoiceParams | None = None) -> dict[str, np.ndarray]:
    """Break-even payments (USD) for each status at the given attempt death risks, shape of ``risks``."""
    return {s: break_even_payment(risks, status=s, params=params) for s in ("citizenship", "asylum", "amnesty")}
