"""The cheaper paths of issue 16 (fourth round) give what the plain computations give:
distinct indices by a sort, the range numbers of distinct draws, and the men in a scanned
state gathered by position, the protest panel's quiet days, and the pipeline's days due."""

from __future__ import annotations

import numpy as np

from sim.config import load_scenario
from sim.mechanisms.protest import ProtestPanel
from sim.mechanisms.protest_rule import grievance
from sim.mechanisms.replacement import Arrival, Pipeline
from sim.mechanisms.sampling import distinct_uniform, sorted_unique
from sim.model import AsylumModel
from sim.population import Pool
from sim.scanlists import StateList


def test_sorted_unique_is_np_unique():
    rng = np.random.default_rng(0)
    for n in (0, 1, 2, 5, 100, 3000):
        for high in (3, 50, 10**7):
            x = rng.integers(0, high, n)
            got = sorted_unique(x)
            assert got.dtype == x.dtype
            np.testing.assert_array_equal(got, np.unique(x))


def test_distinct_uniform_range_numbers_match_a_search():
    rng = np.random.default_rng(1)
    for _ in range(200):
        n = rng.integers(1, 40, 6)
        starts = np.cumsum(n) - n + 7
        k = np.minimum(rng.integers(0, 12, 6), n)  # small ranges: repeats, and the redraw loop
        idx, which = distinct_uniform(rng, starts, n, k)
        np.testing.assert_array_equal(which, np.searchsorted(starts, idx, side="right") - 1)
        np.testing.assert_array_equal(np.bincount(which, minlength=6), k)
        assert np.all(np.diff(idx) > 0)


def test_in_state_is_the_listed_men_in_that_state_in_list_order():
    sc = load_scenario("baseline", ["population.scale=1000", "run.check_ledger=true"])
    m = AsylumModel(sc, rng=3)
    pool = m.world.pool
    for _ in range(60):
        m.step()
        listed = pool.scanned.items[pool.scanned.states != StateList.DROPPED]
        for state in Pool.SCANNED:
            np.testing.assert_array_equal(pool.in_state(state), listed[pool.state[listed] == state])


def test_a_quiet_protest_day_is_one_on_which_no_member_could_be_active():
    rng = np.random.default_rng(4)
    panel = ProtestPanel(rng, 3, 200, np.array([0.01, 0.02, 0.05]))
    for day in range(200):
        hardship_r = rng.random(3) * 3.0
        legitimacy, shift = float(rng.random()), float(rng.normal(0.0, 0.05))
        could = grievance(np.minimum(panel.hardship * hardship_r[:, None], 1.0), legitimacy) + shift > 0.1
        quiet = panel.quiet(hardship_r, legitimacy, shift, 0.1)
        assert quiet == (not could.any())
        state = rng.bit_generator.state
        active, arrested = panel.step(rng, day, hardship_r, legitimacy, shift, 2.3, 0.1, "floor", 0.5, 30)
        if quiet:  # no one active, nothing drawn, the panel reset
            assert not active.any() and not arrested.any() and not panel.active.any()
            assert rng.bit_generator.state == state


def test_pipeline_due_returns_every_past_day_in_order():
    rng = np.random.default_rng(5)
    pipe = Pipeline()
    kept: dict[int, list[Arrival]] = {}
    for day in range(120):
        for _ in range(int(rng.integers(0, 4))):
            when = day + int(rng.integers(-2, 20))  # some already past due: returned the next day
            a = Arrival(0, 1.0, None if rng.random() < 0.5 else np.arange(3), int(rng.integers(0, 3)), 5)
            pipe.add(when, a)
            if a.count:
                kept.setdefault(when, []).append(a)
        expected = [a for d in sorted(d for d in kept if d <= day) for a in kept.pop(d)]
        got = pipe.due(day)
        assert [id(a) for a in got] == [id(a) for a in expected]
        assert pipe.outside_count == sum(a.count for lst in kept.values() for a in lst if a.men is None)
        assert pipe.total() == sum(a.count for lst in kept.values() for a in lst)
