"""CPU time per simulated day of each part of the day, at any scale (issue 16's phase tables).

```bash
.venv/bin/python benchmarks/phases.py 50                 # baseline at population.scale=50
.venv/bin/python benchmarks/phases.py 1000 caplan --repeats 5
```

One year (366 steps) of the scenario, ``--repeats`` times after a warm-up year, each with
its own seed; a timer (``time.process_time``) around each phase of
:data:`sim.submodels.PHASES` (the front includes the defection funnel), the route plan, the
scan lists' compaction, the Kremlin and the daily row. Prints, per part, the minimum over
the repeats in CPU ms per simulated day; ``(rest)`` is the step's total minus the parts
(hosts, offers, the snapshot, Mesa's step). CPU time, not wall: other processes on the
machine inflate it less, but a loaded machine still slows every figure.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sim.config import load_scenario
from sim.model import AsylumModel


def phase_times(scale: int, scenario: str = "baseline", repeats: int = 3) -> dict[str, float]:
    """Minimum CPU seconds per part of the day over ``repeats`` years, and ``TOTAL`` (the steps)."""
    sc = load_scenario(scenario, [f"population.scale={scale}", "run.days=365"])
    best: dict[str, float] = {}
    for r in range(repeats + 1):
        m = AsylumModel(sc, rng=np.random.default_rng(r))
        acc: dict[str, float] = {}

        def timed(name, f, acc=acc):
            def g(*a, **kw):
                t = time.process_time()
                out = f(*a, **kw)
                acc[name] = acc.get(name, 0.0) + time.process_time() - t
                return out
            return g

        for ph in m.phases:
            ph.step = timed(type(ph).__name__, ph.step)
        m.routes.plan = timed("route plan", m.routes.plan)
        m.table.record = timed("daily row", m.table.record)
        m.world.pool.compact = timed("compaction", m.world.pool.compact)
        m.kremlin.step = timed("Kremlin", m.kremlin.step)
        t0 = time.process_time()
        for _ in range(366):
            m.step()
        acc["TOTAL"] = time.process_time() - t0
        if r:  # the first year warms caches, lazy imports and the allocator
            for k, v in acc.items():
                best[k] = min(best.get(k, float("inf")), v)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scale", type=int, help="population.scale (real people per simulated one)")
    ap.add_argument("scenario", nargs="?", default="baseline")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    best = phase_times(a.scale, a.scenario, a.repeats)
    rest = best["TOTAL"] - sum(v for k, v in best.items() if k != "TOTAL")
    print(f"{a.scenario} at scale {a.scale}, CPU ms per simulated day (min of {a.repeats} years)")
    for k, v in sorted(best.items(), key=lambda kv: -kv[1]):
        print(f"{k:14s} {1000 * v / 366:7.3f}")
    print(f"{'(rest)':14s} {1000 * rest / 366:7.3f}")


if __name__ == "__main__":
    main()
