"""Mobilization: how many summonses, to whom, and what a summoned man does."""

from __future__ import annotations

import math

import numpy as np


def wave_share(x: float, front_loading: float) -> float:
    """Share of a wave due by the fraction ``x`` of its duration (clipped to [0, 1]).

    ``(1 - exp(-k x)) / (1 - exp(-k))`` with ``k = front_loading`` (``mobilization.front_loading``):
    an even pace (``x``) at ``k = 0``, front-loaded for ``k > 0``. Assumption (a
    one-parameter concave schedule), calibrated on csv:mobilized_cumulative (docs/calibration.md).
    """
    x = min(max(x, 0.0), 1.0)
    if front_loading <= 1e-9:
        return x
    return math.expm1(-front_loading * x) / math.expm1(-front_loading)


def wave_target(day: int, waves: list[tuple[int, int, int]], front_loading: float = 0.0) -> float:
    """Men the call-up waves aim to have mobilized by ``day`` (:func:`wave_share` within a wave).

    Args:
        day: Calendar day.
        waves: ``(start day, men, duration in days)`` per wave.
        front_loading: Shape ``k`` of :func:`wave_share` (0: an even pace).

    Returns:
        Real men due by the end of ``day``.
    """
    total = 0.0
    for start, size, duration in waves:
        if day >= start:
            total += size * wave_share((day - start + 1) / duration, front_loading)
    return total


def allocate(rng: np.random.Generator, n: int, home: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Split ``n`` summonses over cells in proportion to home men x call-up weight (R2),
    never more than a cell's men at home."""
    w = home * weight
    out = np.zeros(home.shape, dtype=np.int64)
    left = int(min(n, home.sum()))
    for _ in range(8):
        if left <= 0 or w.sum() <= 0:
            break
        draw = rng.multinomial(left, w / w.sum())
        take = np.minimum(draw, home - out)
        out += take
        left -= int(take.sum())
        w = np.where(home - out > 0, w, 0.0)
    return out


def summoned_choices(rng: np.random.Generator, opposition: np.ndarray, report_rate: float, hide_rate: float,
                     opposition_penalty: float, flee_prob: np.ndarray) -> np.ndarray:
    """Competing daily choices of summoned men: 0 wait, 1 report, 2 hide, 3 flee.

    Flight is decided first (its probability comes from the flight hazard), then
    reporting (less likely the more he opposes the war), then hiding (P3).
    """
    u = rng.random(opposition.size)
    p_report = report_rate * (1.0 - opposition_penalty * opposition)
    choice = np.zeros(opposition.size, dtype=np.int8)
    flee = u < flee_prob
    rest = (u - flee_prob) / np.maximum(1.0 - flee_prob, 1e-12)
    report = ~flee & (rest < p_report)
    hide = ~flee & ~report & (rest < p_report + hide_rate)
    choice[report] = 1
    choice[hide] = 2
    choice[flee] = 3
    return choice
