"""Stand-in model functions for explore tests (importable by worker processes via PYTHONPATH).

``smooth`` is deterministic in the parameters and the seed: front_effective falls with
``front.kia_rate`` and with each offer, plus seeded noise. ``gated`` is ``smooth`` that,
after ``$EXPLORE_FREE`` calls (counted as files in ``$EXPLORE_CALLS``), waits for the file
``$EXPLORE_GATE``, so a test can kill an experiment at a known point.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

SMOOTH = "helpers_explore:smooth"
GATED = "helpers_explore:gated"


def smooth(scenario, seed: np.random.SeedSequence, days: int | None = None) -> pd.DataFrame:
    days = scenario.run.days if days is None else days
    rng = np.random.default_rng(seed)
    d = np.arange(days + 1)
    offers = len(scenario.offers)
    level = 400_000.0 - 1e8 * scenario.front.kia_rate - 3_000.0 * offers * (1.0 + scenario.defection.private_mean / 10)
    front = level + 10.0 * d + rng.normal(0, 100.0, d.size)
    return pd.DataFrame({"day": d, "front_effective": front, "defected_cum": 30.0 * offers * d})


def gated(scenario, seed: np.random.SeedSequence, days: int | None = None) -> pd.DataFrame:
    calls, gate = os.environ.get("EXPLORE_CALLS"), os.environ.get("EXPLORE_GATE")
    if calls and gate:
        done = len(list(Path(calls).iterdir()))
        (Path(calls) / uuid.uuid4().hex).touch()
        if done >= int(os.environ.get("EXPLORE_FREE", "3")):
            deadline = time.monotonic() + 60
            while not Path(gate).exists() and time.monotonic() < deadline:
                time.sleep(0.05)
    return smooth(scenario, seed, days)
