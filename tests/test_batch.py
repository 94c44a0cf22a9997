"""The batch entry point (sim.runner.batch.run_many): the same values as single runs, any executor."""

from __future__ import annotations

import numpy as np
import pytest

from sim.config import load_scenario
from sim.runner.batch import run_many, with_values
from sim.runner.executors import make_executor
from sim.simulate import run_replication

BASE = ["population.scale=2000"]
OUT = ["front_strength", "defected_cum", "fled_cum"]
SETS = [{}, {"defection.sigma": 3.0}, {"flight.base_hazard": 0.0}]
SEEDS = [1, 2, 3]


def test_run_many_equals_single_runs_with_the_parameters_set():
    b = run_many("baseline", SETS, SEEDS, days=20, outputs=OUT, overrides=BASE)
    assert b.values.shape == (3, 21, 3) and b.columns == OUT and b.days.tolist() == list(range(21))
    sc = load_scenario("baseline", BASE)
    for i, (values, seed) in enumerate(zip(SETS, SEEDS, strict=True)):
        ov = BASE + [f"{k}={v!r}" for k, v in values.items()]
        df = run_replication(load_scenario("baseline", ov), seed, days=20)
        np.testing.assert_array_equal(b.values[i], df[OUT].to_numpy())
        assert with_values(sc, values) == load_scenario("baseline", ov)
    np.testing.assert_array_equal(b.frame(0)[OUT].to_numpy(), b.values[0])
    np.testing.assert_array_equal(b.column("fled_cum"), b.values[:, :, 2])


@pytest.mark.parametrize("kind", ["inline", "process"])
def test_run_many_is_the_same_on_any_executor(kind):
    alone = run_many("baseline", SETS, SEEDS, days=10, outputs=OUT, overrides=BASE)
    with make_executor(kind, 2) as ex:
        spread = run_many("baseline", SETS, SEEDS, days=10, outputs=OUT, overrides=BASE, executor=ex)
    np.testing.assert_array_equal(spread.values, alone.values)


def test_run_many_refuses_mismatched_inputs_and_unknown_outputs():
    with pytest.raises(ValueError, match="2 parameter sets but 1 seeds"):
        run_many("baseline", [{}, {}], [1], overrides=BASE)
    with pytest.raises(KeyError, match="no_such_output"):
        run_many("baseline", [{}], [1], days=2, outputs=["no_such_output"], overrides=BASE)
