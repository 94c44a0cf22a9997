"""Flight: each man's daily hazard of leaving, and the choice of exit (Flee-style routes).

A man i at home in cell c (region r, category k) decides in two steps on day t
(``AsylumModel._flee``):

    p_i     = 1 - exp(-pressure_c(t) * propensity_i)            wants to leave today
    pressure_c(t) = (base + w_callup * intensity_c(t) + rumour(t) * w_rumour_c) * pull(t)
    w_rumour_c    = (bias_r / mean bias) * (0.25 + 0.75 * priority_k / max priority)
    propensity_i  = opposition_i ** gamma * (1 - family_penalty * family_i) * (0.5 + risk_i)

then he can pay with probability ``affordability = sigmoid(sensitivity * (log means_i -
log cost_r(t)))``, cost_r being the price of his region's exits weighted by route choice;
a man with no usable exit may evade at home instead (P3). ``pull`` is the extra hazard
from offers open to draftees.

``propensity`` is static, so its maximum per cell bounds ``p_i`` and the day's candidates
are drawn by thinning (:mod:`sim.mechanisms.sampling`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def propensity(opposition: np.ndarray, risk: np.ndarray, family: np.ndarray, exponent: float, family_penalty: float) -> np.ndarray:
    """Static part of the flight hazard (F1, D1: private opposition drives exit).

    Computed in blocks of 2**20 men (the same arithmetic per man): the float64
    temporaries stay in cache instead of costing 200 MB each at full scale.
    """
    out = np.empty(np.shape(opposition), dtype=np.float32)
    e = np.float32(exponent)
    for a in range(0, out.size, _BLOCK):
        b = a + _BLOCK
        out[a:b] = opposition[a:b] ** e * (1.0 - family_penalty * family[a:b]) * (0.5 + risk[a:b])
    return out


_BLOCK = 2**20


def affordability(means: np.ndarray, cost: np.ndarray | float, sensitivity: float) -> np.ndarray:
    """Probability a man can pay the cost of leaving (F2: prices surge with demand)."""
    x = sensitivity * (np.log(np.maximum(means, 1e-6)) - np.log(np.maximum(cost, 1e-6)))
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


def hazard_to_probability(rate: np.ndarray | float) -> np.ndarray:
    return -np.expm1(-np.asarray(rate, dtype=np.float64))


def rumour(day: int, wave_days: list[int], weight: float, half_life: float) -> float:
    """National rumour of call-ups: jumps at each wave's announcement and decays."""
    total = _rumour_sum(day, tuple(wave_days), half_life)
    return float(weight * total) if total is not None else 0.0


@lru_cache(maxsize=64)
def _rumour_sum(day: int, wave_days: tuple[int, ...], half_life: float) -> np.float64 | None:
    """The decayed sum of :func:`rumour` for weight 1 (None before the first wave); cached,
    as flight and protest ask for the same day."""
    ages = np.array([day - d for d in wave_days if day >= d], dtype=float)
    return np.exp(-np.log(2.0) * ages / half_life).sum() if ages.size else None


def exit_prices(base_cost: np.ndarray, surge: np.ndarray, demand: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Price of each exit: base * (1 + surge * demand / capacity) (F2)."""
    return base_cost * (1.0 + surge * demand / np.maximum(capacity, 1.0))


def route_probabilities(travel_days: np.ndarray, reachable: np.ndarray, is_open: np.ndarray, wait_days: np.ndarray,
                        price: np.ndarray, travel_cost: float, queue_cost: float, price_weight: float) -> np.ndarray:
    """Multinomial-logit choice of exit per region (rows) over exits (columns).

    Rows with no open, reachable exit are all zeros (the man cannot leave: P3).
    """
    util = -travel_cost * travel_days - queue_cost * wait_days[None, :] - price_weight * np.log(np.maximum(price, 1.0))[None, :]
    ok = reachable & is_open[None, :]
    util = np.where(ok, util, -np.inf)
    top = util.max(axis=1, keepdims=True)
    expu = np.where(ok, np.exp(util - np.where(np.isfinite(top), top, 0.0)), 0.0)
    tot = expu.sum(axis=1, keepdims=True)
    return np.divide(expu, tot, out=np.zeros_like(expu), where=tot > 0)


def choose_rows(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Draw one column per entry of ``rows`` from the row's probabilities (inverse CDF)."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(rows.size)
    pick = (u[:, None] >= cdf[rows]).sum(axis=1)
    return np.minimum(pick, probs.shape[1] - 1)
