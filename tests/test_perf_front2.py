"""The plain-Python paths of issue 16's second front round against the numpy code they
replaced: replacement orders, and the mean quality of soldiers going to the pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from sim.config.loader import load_scenario
from sim.mechanisms.replacement import orders
from sim.model import AsylumModel


def _orders_numpy(shortfall, day, elasticity, cap_per_day, cap_left, start_day):
    """``orders`` as it was written before: numpy scalars indexed per source."""
    out = np.zeros(elasticity.size)
    left = max(shortfall, 0.0)
    for s in range(elasticity.size):
        if day < start_day[s] or left <= 0:
            continue
        out[s] = min(elasticity[s] * left, cap_per_day[s], max(cap_left[s], 0.0))
        left -= out[s]
    return out


def test_orders_equal_the_numpy_loop_bit_for_bit():
    rng = np.random.default_rng(5)
    for _ in range(500):
        n = int(rng.integers(1, 5))
        args = (float(rng.normal(1000.0, 2000.0)), int(rng.integers(0, 40)), rng.random(n) * rng.integers(0, 2, n),
                np.where(rng.random(n) < 0.2, np.inf, rng.random(n) * 900.0), rng.normal(500.0, 800.0, n),
                rng.integers(0, 40, n))
        got, want = orders(*args), _orders_numpy(*args)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("two_origins", [False, True])
def test_pipeline_arrivals_keep_np_mean_quality_per_origin(two_origins):
    sc = load_scenario("baseline", overrides=["population.scale=1000", "run.check_ledger=true"])
    m = AsylumModel(sc, 2)
    for _ in range(60):
        m.step()
    w, fr = m.world, m.world.front
    present = np.flatnonzero(fr.occupied)
    inside, outside = present[fr.man_id[present] >= 0], present[fr.man_id[present] < 0]
    assert inside.size >= 10 and outside.size >= 10
    slots = np.sort(np.concatenate([inside[:10], outside[:10]]))  # pool men and outsiders mixed
    fr.origin[slots] = 1
    if two_origins:
        fr.origin[slots[::3]] = 0
    origins, men, quality = fr.origin[slots].copy(), fr.man_id[slots].copy(), fr.quality[slots].copy()
    w.pipeline.due(9998)  # (arrivals due before ours)
    w.to_pipeline(slots, 9999)
    got = [(a.origin, a.quality, a.count, a.men is None) for a in w.pipeline.due(9999)]
    want = []
    for o in np.unique(origins).tolist():
        for outside in (False, True):
            grp = (origins == o) & ((men < 0) if outside else (men >= 0))
            if grp.any():
                want.append((o, float(quality[grp].mean()), int(grp.sum()), outside))
    assert got == want
    assert not fr.occupied[slots].any()
    assert len(got) == (4 if two_origins else 2)


def test_float32_sum_over_n_is_np_mean():
    rng = np.random.default_rng(8)
    for _ in range(2000):
        q = (rng.random(int(rng.integers(1, 400))) * rng.random() * 3.0).astype(np.float32)
        assert float(q.sum() / q.size) == float(q.mean())
