"""Work skipped or simplified in issue 16's second front round, against what it replaced:
replacement orders on a day without shortfall, and the mean quality of soldiers going to
the pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from sim.config.loader import load_scenario
from sim.mechanisms.replacement import orders
from sim.model import AsylumModel
from sim.world import Window


def test_no_orders_without_a_shortfall():
    """The Kremlin skips ``orders`` on a day without shortfall: it would order nothing."""
    rng = np.random.default_rng(5)
    for _ in range(200):
        n = int(rng.integers(1, 5))
        got = orders(-float(rng.random() * 1000.0) * int(rng.integers(0, 2)), int(rng.integers(0, 40)), rng.random(n),
                     rng.random(n) * 900.0, rng.normal(500.0, 800.0, n), rng.integers(0, 40, n))
        np.testing.assert_array_equal(got, np.zeros(n))


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


def test_window_mean_is_np_mean_of_its_rows():
    rng = np.random.default_rng(3)
    for _ in range(300):
        w = Window(int(rng.integers(1, 200)))
        for _ in range(int(rng.integers(1, 400))):
            w.append(float(rng.random() * rng.random() ** 3))
        assert w.mean() == float(np.mean(list(w)))
    assert Window(5).mean() == 0.0
