"""Mobilization: how many summonses, to whom, and what a summoned man does."""

from __future__ import annotations

import numpy as np


def wave_target(day: int, waves: list[tuple[int, int, int]]) -> float:
    """Men the call-up waves aim to have mobilized by ``day`` (linear within a wave)."""
    total = 0.0
    for start, size, duration in waves:
        if day >= start:
            total += size * min(1.0, (day - start + 1) / duration)
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
