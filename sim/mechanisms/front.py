"""Front dynamics: attrition, unit morale, commanders' distrust."""

from __future__ import annotations

import numpy as np


def step_value(schedule: list[tuple[int, float]], day: int) -> float:
    """Value of a (day, value) step schedule on ``day`` (the first step holds before it)."""
    value = schedule[0][1]
    for d, v in schedule:
        if day >= d:
            value = v
    return value


def casualty_rates(attrition: str, kia_rate: float, wia_rate: float, intensity: float,
                   own_strength: float, enemy_strength: float, lanchester_coefficient: float) -> tuple[float, float]:
    """Daily per-soldier probabilities of being killed and wounded.

    ``fixed``: the configured rates times intensity. ``lanchester``: Lanchester's square
    law, total losses a * B * intensity per day shared over the R soldiers present, split
    between killed and wounded in the ratio kia_rate : wia_rate.
    """
    if attrition == "fixed":
        total = (kia_rate + wia_rate) * intensity
    else:
        total = lanchester_coefficient * enemy_strength * intensity / max(own_strength, 1.0)
    total = min(total, 0.5)
    share_kia = kia_rate / (kia_rate + wia_rate) if kia_rate + wia_rate > 0 else 0.25
    return total * share_kia, total * (1.0 - share_kia)


def update_morale(morale: np.ndarray, loss_share: np.ndarray, defect_share: np.ndarray, target: float,
                  recovery: float, loss_sensitivity: float, defection_sensitivity: float) -> np.ndarray:
    """Unit morale: pulled toward ``target`` (rest, rotation), pushed down by the day's
    losses and defections as shares of the unit (D2)."""
    m = morale + recovery * (target - morale) - loss_sensitivity * loss_share - defection_sensitivity * defect_share
    return np.minimum(np.maximum(m, 0.0), 1.0).astype(np.float32)  # np.clip, without its Python wrapper


def distrust_factor(attempt_rate: np.ndarray, reference_rate: float, weight: float) -> np.ndarray:
    """Unit effectiveness multiplier: commanders who see defection attempts distrust their
    men (D4). Perceived risk saturates at ``reference_rate`` attempts per man per day."""
    # float64: a tiny reference rate would underflow to 0 in float32 (0/0)
    risk = np.minimum(np.asarray(attempt_rate, dtype=np.float64) / reference_rate, 1.0)
    return (1.0 - weight * risk).astype(np.float32)
