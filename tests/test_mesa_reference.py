"""The Mesa reference (one agent per person) and the vectorized core agree in distribution.

Both implement the same core rules (flight hazard, defection threshold with unit
influence, fixed casualty rates; see benchmarks/vectorized_core.py) from the same
parameters and the same initial population per seed; their daily draws differ, so the
check is statistical: mean final counts over seeds within 4 standard errors. No timing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.mesa_reference import run_mesa  # noqa: E402
from benchmarks.vectorized_core import CoreParams, run_vectorized, small  # noqa: E402

SEEDS = range(10)
PARAMS = small(CoreParams(), n_people=2_000, days=30)


@pytest.fixture(scope="module")
def runs() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    mesa_runs = [run_mesa(PARAMS, s) for s in SEEDS]
    vec_runs = [run_vectorized(PARAMS, s) for s in SEEDS]
    stack = lambda rs: {k: np.stack([r[k] for r in rs]) for k in ("fled", "defected", "killed", "agent_steps")}  # noqa: E731
    return stack(mesa_runs), stack(vec_runs)


@pytest.mark.parametrize("curve", ["fled", "defected", "killed"])
def test_final_counts_match_within_4_standard_errors(runs, curve):
    m, v = runs
    a, b = m[curve][:, -1].astype(float), v[curve][:, -1].astype(float)
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    assert a.mean() > 5 and b.mean() > 5, f"{curve}: curves are trivially small ({a.mean()}, {b.mean()})"
    assert abs(a.mean() - b.mean()) <= 4 * max(se, 1.0), f"{curve}: mesa {a.mean():.1f} vs vectorized {b.mean():.1f} (se {se:.2f})"


@pytest.mark.parametrize("curve", ["fled", "defected", "killed"])
def test_curves_are_cumulative_and_grow(runs, curve):
    for side in runs:
        c = side[curve]
        assert c.shape == (len(SEEDS), PARAMS.days)
        assert (np.diff(c, axis=1) >= 0).all()
        assert (c[:, -1] > c[:, 0]).all() or curve == "fled"  # flight is front-loaded by the rumour
        assert c[:, -1].min() > 0


def test_same_people_same_agent_steps_scale(runs):
    """Agent-steps (people acting per day, summed) agree closely: same start, similar exits."""
    m, v = runs
    start = PARAMS.n_men + PARAMS.n_soldiers
    for side in (m, v):
        assert (side["agent_steps"] <= start * PARAMS.days).all()
        assert (side["agent_steps"] > 0.9 * start * PARAMS.days).all()
