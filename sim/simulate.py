"""One replication of a scenario, and the memory estimate that guards it.

This is the function the runner executes on each worker; it imports Mesa, so the CLI
imports it lazily.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.config.schema import Scenario
from sim.errors import ResourceError
from sim.population import BYTES_PER_MAN
from sim.soldiers import BYTES_PER_SLOT, slots_for

FIXED_OVERHEAD_BYTES = 300 * 2**20  # interpreter, numpy, pandas, Mesa
# Protest panel, per (region x panel member): hardship and risk aversion (float64),
# jail term (int64) and the active flag (bool) are kept, 25 bytes; one day's step adds
# temporaries of about the same shape (neighbours' count, arrest probability,
# grievance, random ranking keys, argsort order, jail terms: ~60 bytes). Measured peak:
# 81-85 bytes per cell (tests/test_runner_faults.py compares estimate and peak).
PANEL_BYTES_PER_CELL = 96


def estimate_array_bytes(sc: Scenario) -> int:
    """Peak bytes of one replication's large arrays (without the interpreter overhead).

    Counts the pool's arrays and the temporaries drawn at initialisation (float64
    draws), the front's slots (:func:`sim.soldiers.slots_for`, the model's own sizing),
    and the protest panel with its daily temporaries. Every array whose size grows with a
    setting (``population.scale``, front strength,
    ``protest.panel_per_region``, the number of regions) is covered.

    Returns:
        Bytes (an upper estimate; tests check it against a measured peak).
    """
    n_pool = sc.population.draft_pool / sc.population.scale
    n_panel = len(sc.regions) * sc.protest.panel_per_region
    return int(n_pool * (BYTES_PER_MAN + 16) + slots_for(sc) * BYTES_PER_SLOT + n_panel * PANEL_BYTES_PER_CELL)


def estimate_memory_bytes(sc: Scenario) -> int:
    """Peak memory of one replication in bytes: :func:`estimate_array_bytes` plus the
    fixed interpreter overhead (``FIXED_OVERHEAD_BYTES``)."""
    return estimate_array_bytes(sc) + FIXED_OVERHEAD_BYTES


def refuse_if_over_memory(per_replication: int, concurrent: int, fraction: float) -> None:
    """Raise ResourceError (with the estimate) if ``concurrent`` replications of
    ``per_replication`` bytes exceed ``fraction`` of the memory available now."""
    import psutil

    concurrent = max(concurrent, 1)
    need = per_replication * concurrent
    have = psutil.virtual_memory().available
    if need > fraction * have:
        raise ResourceError(
            f"this run needs about {need / 2**30:.1f} GiB ({concurrent} replication(s) at once, "
            f"{per_replication / 2**30:.2f} GiB each) but only {fraction:.0%} of the {have / 2**30:.1f} GiB "
            "available may be used (run.max_memory_fraction); raise population.scale or use fewer workers"
        )


def check_memory(sc: Scenario, workers: int = 1) -> None:
    """Refuse up front a run of ``sc`` on ``workers`` processes that would not fit in memory."""
    refuse_if_over_memory(estimate_memory_bytes(sc), workers, sc.run.max_memory_fraction)


def run_replication(scenario: Scenario, seed: np.random.SeedSequence | int, days: int | None = None) -> pd.DataFrame:
    """Run one replication and return its daily outcome table.

    Args:
        scenario: A validated scenario.
        seed: The replication's seed (a spawned SeedSequence, or an int).
        days: Last day to simulate (default ``scenario.run.days``); day 0 is the mobilization order.

    Returns:
        One row per day from ``run.start_day`` to ``days`` inclusive: column ``day`` then
        one column per output metric (see :func:`sim.outcomes.output_names`).
    """
    from sim.model import AsylumModel

    last = scenario.run.days if days is None else days
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    model = AsylumModel(scenario, rng=np.random.default_rng(ss))
    n_steps = last - scenario.run.start_day + 1
    for _ in range(n_steps):
        model.step()
    return model.table.frame(np.arange(scenario.run.start_day, last + 1, dtype=np.int64))
