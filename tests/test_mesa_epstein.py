"""The Epstein grid against Mesa's own civil-violence example (issue 17).

Mesa 3.5 ships Epstein's Model I (``mesa.examples.advanced.epstein_civil_violence``): each
citizen decides (with Mesa's ``round`` of cops/actives) and then moves, each cop arrests
and then moves, one agent at a time in random order. The project's grid
(:mod:`sim.mechanisms.civil_violence_grid`) moves first by default (as NetLogo Rebellion
does); with ``step_order="decide_then_move"`` and ``variant="round"`` it runs Mesa's rules,
so the two must agree in distribution. At the project's own cop density (0.074) and
legitimacy 0.7 the order decides the level of activity (docs/protest_epstein.md): moving
first raises it, which the last assertion keeps visible.

Small and fast: a 24x24 torus, vision 5, 120 steps, 4 seeds each.
"""

from __future__ import annotations

import numpy as np

from sim.mechanisms.civil_violence_grid import run_civil_violence

SIDE, VISION, STEPS, BURN, SEEDS = 24, 5, 120, 20, range(4)
SETTING = {"cop_density": 0.074, "legitimacy": 0.7, "max_jail_term": 30}


def _mesa(seed: int) -> float:
    from mesa.examples.advanced.epstein_civil_violence.model import (
        EpsteinCivilViolence,
        EpsteinScenario,
    )

    sc = EpsteinScenario(cop_density=SETTING["cop_density"], legitimacy=SETTING["legitimacy"],
                         max_jail_term=SETTING["max_jail_term"], citizen_vision=VISION, cop_vision=VISION, rng=seed)
    model = EpsteinCivilViolence(width=SIDE, height=SIDE, scenario=sc)
    active = []
    for _ in range(STEPS):
        model.step()
        active.append(model.ACTIVE)
    return float(np.mean(active[BURN:]))


def _grid(seed: int, order: str) -> float:
    res = run_civil_violence(np.random.default_rng(1000 + seed), STEPS, SETTING["legitimacy"], height=SIDE,
                             width=SIDE, cop_density=SETTING["cop_density"], vision=VISION,
                             max_jail_term=SETTING["max_jail_term"], variant="round", step_order=order, n_batches=50)
    return float(res.active[BURN:].mean())


def test_grid_with_mesas_order_agrees_with_mesas_example_and_moving_first_raises_activity():
    mesa = np.array([_mesa(s) for s in SEEDS])
    same = np.array([_grid(s, "decide_then_move") for s in SEEDS])
    se = np.sqrt(mesa.var(ddof=1) / mesa.size + same.var(ddof=1) / same.size)
    assert mesa.mean() > 1.0, "trivially quiet: the comparison would say nothing"
    assert abs(mesa.mean() - same.mean()) <= 3 * se, f"mesa {mesa} vs grid, decide then move {same} (se {se:.2f})"
    moved_first = np.array([_grid(s, "move_then_decide") for s in SEEDS])
    assert moved_first.mean() > same.mean(), f"move then decide {moved_first} vs decide then move {same}"
