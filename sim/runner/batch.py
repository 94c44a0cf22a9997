"""Many short simulations in one worker process: the batch entry point for calibration and
exploration (issue 16).

A calibration or a sensitivity analysis runs thousands of replications at a coarse scale,
each a fraction of a second, so per-run costs that an ensemble never notices dominate:
starting a worker (importing numpy, pandas and Mesa), loading and validating a scenario
from YAML, building a DataFrame. :func:`run_many` pays start-up once per worker, loads
the scenario once, applies each parameter set to the validated scenario (merged and
validated like ``--set``), and returns only the outputs asked for, as one array::

    from sim.runner.batch import run_many

    b = run_many("history_2022", [{"defection.sigma": 1.5}, {"defection.sigma": 2.5}], seeds=[1, 2],
                 days=180, outputs=["defected_cum", "front_strength"], overrides=["population.scale=500"])
    b.values.shape  # (2 runs, 181 days, 2 outputs); b.column("defected_cum") is (2, 181)

With ``executor`` (any ``concurrent.futures.Executor``, e.g. from
:func:`sim.runner.executors.make_executor`), the runs are split into one chunk per worker
and each chunk runs in one call, so a worker process starts once and runs its share of the
batch. Results are in the order of ``param_sets`` whatever the executor; a run's values
depend only on its scenario, parameter set and seed (the same on any number of workers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from sim.config import Scenario

Seed = int | np.random.SeedSequence


@dataclass
class Batch:
    """Outputs of a batch of runs.

    Attributes:
        columns: Output names, in the order of the last axis of ``values``.
        days: Simulated days, shape (n_days,).
        values: Shape (n_runs, n_days, n_outputs), float64, runs in the order asked for.
    """

    columns: list[str]
    days: np.ndarray
    values: np.ndarray

    def column(self, name: str) -> np.ndarray:
        """One output for every run and day, shape (n_runs, n_days)."""
        return self.values[:, :, self.columns.index(name)]

    def frame(self, run: int) -> pd.DataFrame:
        """One run's outputs as a table (column ``day`` first), like ``run_replication``'s."""
        import pandas as pd

        df = pd.DataFrame(self.values[run], columns=self.columns)
        df.insert(0, "day", self.days)
        return df


def with_values(scenario: Scenario, values: Mapping[str, Any], _data: dict | None = None) -> Scenario:
    """``scenario`` with ``values`` (``"key.path" -> value``) set, merged and validated like ``--set``.

    Raises:
        ConfigError: a path the scenario does not have or a value out of bounds (as ``--set``).
    """
    if not values:
        return scenario
    from sim.config.loader import validate
    from sim.config.merge import apply_override

    data = scenario.model_dump(mode="json") if _data is None else _copy(_data)
    prov: dict[Any, str] = {}
    for path, value in values.items():
        data = apply_override(data, f"{path}={value!r}", prov)
    return validate(data, prov, "--set")


def _copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_copy(v) for v in data]
    return data


def simulate(scenario: Scenario, seed: Seed, days: int | None = None,
             outputs: Sequence[str] | None = None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """One run, without a DataFrame: (columns, days, values of shape (n_days, n_columns))."""
    from sim.model import AsylumModel

    last = scenario.run.days if days is None else days
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    model = AsylumModel(scenario, rng=np.random.default_rng(ss))
    for _ in range(last - scenario.run.start_day + 1):
        model.step()
    t = model.table
    cols = list(t.columns) if outputs is None else list(outputs)
    where = {c: i for i, c in enumerate(t.columns)}
    missing = [c for c in cols if c not in where]
    if missing:
        raise KeyError(f"the model has no output {missing}")
    values = t.values[: t.n][:, [where[c] for c in cols]]
    return cols, np.arange(scenario.run.start_day, last + 1, dtype=np.int64), values


def _run_chunk(scenario: Scenario, param_sets: list[dict], seeds: list[Seed], days: int | None,
               outputs: list[str] | None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Run a chunk in this process (a worker's share of a batch)."""
    data = scenario.model_dump(mode="json") if any(param_sets) else None
    out, cols, day_axis = [], None, None
    for values, seed in zip(param_sets, seeds, strict=True):
        cols, day_axis, v = simulate(with_values(scenario, values, data), seed, days, outputs)
        out.append(v)
    return cols, day_axis, np.stack(out) if out else np.empty((0, 0, 0))


def run_many(scenario: Scenario | str | Path, param_sets: Sequence[Mapping[str, Any]], seeds: Sequence[Seed],
             days: int | None = None, outputs: Sequence[str] | None = None, overrides: Sequence[str] = (),
             executor: Executor | None = None, chunks: int | None = None) -> Batch:
    """Run one simulation per (parameter set, seed) and return the chosen outputs.

    Args:
        scenario: A validated scenario, or a scenario name or YAML path (loaded once, with
            ``overrides``).
        param_sets: Per run, ``{"key.path": value}`` overrides applied to the scenario (an
            empty mapping runs the scenario as it is).
        seeds: Per run, an int or a ``SeedSequence`` (same length as ``param_sets``).
        days: Last simulated day (default: the scenario's ``run.days``).
        outputs: Output columns to keep (default: all, :func:`sim.outcomes.output_names`).
        overrides: ``--set`` strings applied when ``scenario`` is a name or path.
        executor: Run the chunks on this executor (default: in this process).
        chunks: Number of chunks (default: one per run inline; with an executor, twice its
            worker count if it has one, else 2).

    Returns:
        A :class:`Batch`, runs in the order of ``param_sets``.

    Raises:
        ValueError: ``param_sets`` and ``seeds`` differ in length.
    """
    if len(param_sets) != len(seeds):
        raise ValueError(f"{len(param_sets)} parameter sets but {len(seeds)} seeds")
    if not isinstance(scenario, str | Path):
        sc = scenario
    else:
        from sim.config.loader import load_scenario

        sc = load_scenario(scenario, list(overrides))
    sets = [dict(p) for p in param_sets]
    seeds = list(seeds)
    outs = None if outputs is None else list(outputs)
    if executor is None or len(sets) <= 1:
        cols, day_axis, values = _run_chunk(sc, sets, seeds, days, outs)
        return Batch(cols or list(outs or []), day_axis if day_axis is not None else np.empty(0, np.int64), values)
    n_chunks = chunks or 2 * max(1, getattr(executor, "_max_workers", 1))
    bounds = np.linspace(0, len(sets), min(n_chunks, len(sets)) + 1).astype(int)
    futures = [executor.submit(_run_chunk, sc, sets[a:b], seeds[a:b], days, outs)
               for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    parts = [f.result() for f in futures]
    return Batch(parts[0][0], parts[0][1], np.concatenate([p[2] for p in parts]))
