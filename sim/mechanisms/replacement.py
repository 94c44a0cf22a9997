"""Replacement of the front's shortfall from sources with elasticity, delay and caps (R1),
and the arrival pipeline that delays men between order and front (R4)."""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np


def orders(shortfall: float, day: int, elasticity: np.ndarray, cap_per_day: np.ndarray,
           cap_left: np.ndarray, start_day: np.ndarray) -> np.ndarray:
    """Men ordered from each source today, asked in order.

    Each source is asked for ``elasticity`` times the shortfall still unfilled by the
    sources before it, within its daily and total caps. Elasticity 0 never replaces;
    elasticity 1 with room in the caps fills the whole shortfall.
    """
    out = np.zeros(elasticity.size)
    left = max(shortfall, 0.0)
    for s in range(elasticity.size):
        if day < start_day[s] or left <= 0:
            continue
        out[s] = min(elasticity[s] * left, cap_per_day[s], max(cap_left[s], 0.0))
        left -= out[s]
    return out


@dataclass
class Arrival:
    origin: int
    quality: float
    men: np.ndarray | None  # pool indices, or None for soldiers from outside the pool
    count: int
    ledger_state: int  # state they wait in: TRAINING (recruits) or RECOVERING (wounded, sent back)


class Pipeline:
    """Soldiers on their way to the front, keyed by arrival day."""

    def __init__(self) -> None:
        self._by_day: dict[int, list[Arrival]] = defaultdict(list)
        self._days: list[int] = []  # the keys of _by_day as a min-heap: the days due come first
        self.outside_count = 0  # non-pool men in the pipeline (ledger state TRAINING/RECOVERING)

    def add(self, day: int, arrival: Arrival) -> None:
        if arrival.count > 0:
            if day not in self._by_day:
                heapq.heappush(self._days, day)
            self._by_day[day].append(arrival)
            if arrival.men is None:
                self.outside_count += arrival.count

    def due(self, day: int) -> list[Arrival]:
        """Remove and return everything arriving on or before ``day``, earliest day first
        (the days in waiting are not looked at, only those due)."""
        out: list[Arrival] = []
        while self._days and self._days[0] <= day:
            out += self._by_day.pop(heapq.heappop(self._days))
        if out:
            self.outside_count -= sum(a.count for a in out if a.men is None)
        return out

    def total(self) -> int:
        return sum(a.count for lst in self._by_day.values() for a in lst)


def stochastic_round(rng: np.random.Generator, x: np.ndarray | float) -> np.ndarray:
    """Round to an integer up or down with probabilities that keep the expectation."""
    if isinstance(x, float | int) and math.isfinite(x):  # a scalar: the same draw, no arrays
        base = math.floor(x)
        return np.int64(base + (rng.random() < x - base))
    x = np.asarray(x, dtype=float)
    base = np.floor(x)
    return (base + (rng.random(x.shape) < (x - base))).astype(np.int64)
