"""Defection at the front: the threshold rule, offer value, chance of success, payments.

The decision (docs/ODD.md, "Defection") for soldier i, offer o, day t:

    score = a_u * unwillingness_i                       (D1, hidden preference)
          + a_m * (1 - morale_unit)                     (D2)
          + success_o(t) * value_o(t)                   (D3, D8, D9, D10)
          - detection(t) * punishment(t)                (D16, D19)
          - family_i * reprisal(t)                      (D15)
          - home_attachment                             (D15)
          + a_s * gone_share_unit,o                     (D6, Granovetter/Kuran cascade)
          + urgency_o(t)                                (D6, deadlines)

and he wants to defect when score >= threshold_i. The cascade term is what Granovetter's
threshold model studies; :func:`threshold_cascade` is that rule in isolation.
"""

from __future__ import annotations

import numpy as np


def threshold_cascade(thresholds: np.ndarray, groups: np.ndarray | None = None, max_rounds: int = 10_000) -> np.ndarray:
    """Granovetter's threshold model: who has acted once no one else will.

    Person i acts when the number of people in his group who have already acted is at
    least ``thresholds[i]``. Rounds repeat until nothing changes.

    Args:
        thresholds: Thresholds in counts of others acting.
        groups: Group id per person (people influence only their group); one group if None.

    Returns:
        Boolean mask of people who acted.
    """
    thresholds = np.asarray(thresholds, dtype=float)
    groups = np.zeros(thresholds.size, dtype=np.int64) if groups is None else np.asarray(groups)
    acted = np.zeros(thresholds.size, dtype=bool)
    for _ in range(max_rounds):
        counts = np.bincount(groups, weights=acted.astype(float), minlength=int(groups.max(initial=0)) + 1)
        now = acted | (counts[groups] >= thresholds)
        if np.array_equal(now, acted):
            break
        acted = now
    return acted


def payments_for_arrivals(cum_real_before: float, n_new: int, scale: int, tiers: list[tuple[int, float]], flat: float) -> np.ndarray:
    """Payment (USD, per real man) to each of ``n_new`` simulated defectors, by order of arrival.

    Tier k pays its amount to real arrivals up to its cumulative bound (D10: the first
    10,000 get $1,000,000); after the last tier everyone gets ``flat``. A simulated man
    stands for ``scale`` real men; his position is that of his first real man.
    """
    if n_new <= 0:
        return np.zeros(0)
    positions = cum_real_before + scale * np.arange(n_new)
    bounds = np.cumsum([t[0] for t in tiers]) if tiers else np.zeros(0)
    amounts = np.array([t[1] for t in tiers] + [flat])
    return amounts[np.searchsorted(bounds, positions, side="right")]


def ukraine_win_probability(own_effective: float, enemy_strength: float) -> float:
    """A strength-ratio proxy for the war's outcome, 0.5 at parity."""
    total = own_effective + enemy_strength
    return 0.5 if total <= 0 else float(min(max(0.5 + 0.5 * (enemy_strength - own_effective) / total, 0.0), 1.0))


def credibility(model: str, base: float, war_weight: float, p_ukraine_wins: float) -> float:
    """Credibility of an offer: fixed, or tied to the war's course (D8)."""
    if model == "fixed":
        return base
    return float(min(max(base * ((1.0 - war_weight) + war_weight * 2.0 * p_ukraine_wins), 0.0), 1.0))


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


def success_probability(route: str, detection: float, surrender_survival: float, repatriation: float, cred: float) -> float:
    """Chance that taking the offer ends as promised (D8, D9, D11).

    ``via_ukraine``: elude one's own side, survive the surrender, not be repatriated.
    ``direct_eu``: elude one's own side twice (at the front and on the way out).
    ``either``: the better of the two.
    """
    via = (1.0 - detection) * surrender_survival
    direct = (1.0 - detection) ** 2
    reach = {"via_ukraine": via, "direct_eu": direct, "either": max(via, direct)}[route]
    return reach * (1.0 - repatriation) * cred


def offer_value(payment_usd: float, status_value: float, payment_weight: float, payment_reference: float,
                bounty_usd: float = 0.0, equipment_share: float = 0.0) -> float:
    """Value of an offer to a soldier: log money plus the status granted (D3, D9, D17)."""
    money = payment_usd + equipment_share * bounty_usd
    return payment_weight * float(np.log1p(money / payment_reference)) + status_value


def urgency(day: int, deadline: int | None, window: float, weight: float) -> float:
    """Score added as a deadline nears: weight * exp(-(days left) / window) (D6)."""
    if deadline is None or day >= deadline:
        return 0.0
    return weight * float(np.exp(-(deadline - day) / window))


def scores(unwillingness: np.ndarray, unit_morale: np.ndarray, family: np.ndarray, gone_share: np.ndarray,
           success: float, value: float, detection: float, punishment: float, reprisal: float,
           home_attachment: float, urgency_term: float, w_unwilling: float, w_morale: float, w_social: float) -> np.ndarray:
    """The defection score of each soldier for one offer (see module docstring)."""
    return (
        w_unwilling * unwillingness
        + w_morale * (1.0 - unit_morale)
        + success * value
        - detection * punishment
        - family * reprisal
        - home_attachment
        + w_social * gone_share
        + urgency_term
    ).astype(np.float32)
