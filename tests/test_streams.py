"""The days' random streams (sim/streams.py): one per submodel, realigned every step."""

from __future__ import annotations

import numpy as np
import pytest

from sim.streams import STREAMS, DayStreams


def test_the_same_seed_gives_the_same_streams_and_each_has_its_own():
    a = DayStreams.spawn(np.random.default_rng(7))
    b = DayStreams.spawn(np.random.default_rng(7))
    c = DayStreams.spawn(np.random.default_rng(8))
    draws = {n: a[n].random(4) for n in STREAMS}
    assert all(np.array_equal(draws[n], b[n].random(4)) for n in STREAMS)
    assert not np.array_equal(draws["front"], c["front"].random(4))
    assert len({tuple(v) for v in draws.values()}) == len(STREAMS)  # distinct streams


def test_one_stream_s_draws_do_not_move_another_s():
    a = DayStreams.spawn(np.random.default_rng(1))
    b = DayStreams.spawn(np.random.default_rng(1))
    a["defection"].random(1000)  # an offer's extra draws in one scenario
    assert np.array_equal(a["protest"].random(5), b["protest"].random(5))


def test_align_starts_each_step_at_the_same_place_whatever_earlier_steps_drew():
    a = DayStreams.spawn(np.random.default_rng(3))
    b = DayStreams.spawn(np.random.default_rng(3))
    a.align(1)
    b.align(1)
    a["front"].random(5)
    b["front"].random(5000)  # step 1 drew a different number of values
    a.align(2)
    b.align(2)
    assert np.array_equal(a["front"].random(6), b["front"].random(6))
    a.align(1)  # and step 1 again is step 1's block
    first = a["front"].random(5)
    b.align(1)
    assert np.array_equal(first, b["front"].random(5))


def test_step_k_is_numpy_s_k_th_jump_from_the_start():
    s = DayStreams.spawn(np.random.default_rng(11))
    start = np.random.PCG64DXSM()
    start.state = s._start[STREAMS.index("flight")][1]
    s["flight"].random(100)
    s.align(3)
    assert np.array_equal(s["flight"].random(8), np.random.Generator(start.jumped(3)).random(8))
    assert not np.array_equal(np.random.Generator(start.jumped(3)).random(8), np.random.Generator(start.jumped(4)).random(8))


def test_an_unknown_stream_is_a_clear_error():
    with pytest.raises(KeyError, match="no random stream 'fron'; the streams are mobilization"):
        DayStreams.spawn(np.random.default_rng(0))["fron"]


def test_paired_runs_stay_in_step_where_the_offer_changes_nothing():
    # Kuran's offer acts on soldiers; by day 60 it has not reached flight. With one stream for
    # the whole run (before sim/streams.py) the offer's draws moved every later draw and the
    # pairs were uncorrelated (fled_cum: r = 0.01, front_effective: r = -0.01, 12 pairs);
    # with a stream per submodel, realigned every day, they move together.
    from sim.config import load_scenario
    from sim.runner.seeds import replication_seed
    from sim.simulate import run_replication

    out = {}
    for name in ("baseline", "kuran"):
        sc = load_scenario(name, ["population.scale=500", "run.days=60"])
        out[name] = np.array([run_replication(sc, replication_seed(5, r).sequence()).set_index("day")
                              .loc[60, ["fled_cum", "front_effective"]].to_numpy(dtype=float) for r in range(8)])
    b, k = out["baseline"], out["kuran"]
    assert b[:, 0].std() > 0 and b[:, 1].std() > 0  # the replications do differ
    assert np.corrcoef(b[:, 0], k[:, 0])[0, 1] > 0.95
    assert np.corrcoef(b[:, 1], k[:, 1])[0, 1] > 0.9
