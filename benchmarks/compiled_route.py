"""The price of compiling the day (issue 16's open design question), measured on one phase.

```bash
.venv/bin/pip install -q --target /tmp/numba numba==0.68.1   # not a project dependency
PYTHONPATH=/tmp/numba .venv/bin/python benchmarks/compiled_route.py [--scale 1000]
```

Issue 16 asks to halve the fixed cost per simulated day. ``docs/performance.md`` (round 12)
shows that cost is about a thousand small numpy calls a day spread over every mechanism, so
halving it needs fewer calls: fusing mechanisms, or compiling them. This script prices the
second route on the flight phase's thinning (:class:`sim.submodels.flight.Flight`: each
propensity band of each cell drawn at the band's bound, candidates at home accepted at
their own hazard), written once as a numba kernel that takes the model's
:class:`numpy.random.Generator` and once as the model does it (``candidates_cells`` and the
acceptance, the same numpy calls as ``Flight.step``), on the arrays of a real model after
60 days. It reports, in fresh interpreters (CPU time, ``time.process_time``):

1. ``import numba`` with numpy already imported;
2. the kernel's first call with an empty on-disk cache (the compile a fresh install pays)
   and in a later process (the load from the cache every worker pays);
3. one call of the kernel and of the model's numpy path on the same arrays (the median of
   ``--calls`` calls, in this process).

The kernel draws differently from the model (a geometric gap per candidate instead of a
binomial count and uniform positions per band), so it is a cost probe, not a replacement;
adopting it would change the draws and need the statistical equivalence test
(``tests/test_equivalence.py``). numba is not in the lock on purpose: this is the measured
input to the maintainers' choice, not a dependency.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

KERNEL = '''
import numpy as np
from numba import njit


@njit(cache=True)
def flight_thinning(rng, starts, stops, bound, pressure, band_cell, propensity, state, home):
    """Per band: candidates at the band's bound by geometric gaps, those at home accepted
    with their own probability 1 - exp(-pressure * propensity); their pool indices."""
    out = np.empty(256, np.int64)
    k = 0
    for b in range(starts.size):
        p = bound[b]
        if p <= 0.0:
            continue
        j = starts[b] - 1
        log_q = np.log1p(-p) if p < 1.0 else -np.inf
        while True:
            j += 1 if p >= 1.0 else int(np.floor(np.log(1.0 - rng.random()) / log_q)) + 1
            if j >= stops[b]:
                break
            if state[j] != home:
                continue
            if rng.random() * p < -np.expm1(-pressure[band_cell[b]] * propensity[j]):
                if k == out.size:
                    grown = np.empty(2 * k, np.int64)
                    grown[:k] = out
                    out = grown
                out[k] = j
                k += 1
    return out[:k]
'''

PROBE = '''
import sys, time
import numpy as np
t = time.process_time()
import numba  # noqa: F401
t_import = time.process_time() - t
sys.path.insert(0, {kernel_dir!r})
from flight_kernel import flight_thinning
a = np.load({arrays!r})
rng = np.random.default_rng(0)
t = time.process_time()
flight_thinning(rng, a["starts"], a["stops"], a["bound"], a["pressure"], a["band_cell"], a["propensity"], a["state"], int(a["home"]))
print(t_import, time.process_time() - t)
'''


def model_arrays(scale: int, days: int = 60) -> dict[str, np.ndarray]:
    """The flight phase's inputs on the morning after ``days`` simulated days of ``baseline``."""
    from sim.config import load_scenario
    from sim.ledger import State
    from sim.mechanisms import flight as fl
    from sim.model import AsylumModel

    sc = load_scenario("baseline", [f"population.scale={scale}", "run.days=365"])
    m = AsylumModel(sc, rng=np.random.default_rng(1))
    for _ in range(days):
        m.step()
    flight = next(ph for ph in m.phases if type(ph).__name__ == "Flight")
    pool, f = m.world.pool, sc.flight
    rum = fl.rumour(m.day, flight.wave_days, f.rumour_weight, f.rumour_decay_days)
    pressure = (f.base_hazard + f.callup_risk_weight * m.world.signals.cell_intensity + rum * flight.rumour_weight)
    bound = fl.hazard_to_probability(pressure[pool.band_cell] * pool.band_max_propensity)
    return {"starts": pool.band_start, "stops": pool.band_stop, "bound": bound, "pressure": pressure,
            "band_cell": pool.band_cell, "propensity": pool.propensity, "state": pool.state,
            "home": np.array(int(State.HOME))}


def numpy_path(rng: np.random.Generator, a: dict[str, np.ndarray]) -> np.ndarray:
    """The model's way (``Flight.step``'s thinning: the same numpy calls)."""
    from sim.mechanisms import flight as fl
    from sim.mechanisms.sampling import candidates_cells

    cand, b = candidates_cells(rng, a["starts"], a["stops"], a["bound"])
    home = a["state"][cand] == a["home"]
    cand, b = cand[home], b[home]
    p = fl.hazard_to_probability(a["pressure"][a["band_cell"][b]] * a["propensity"][cand])
    return cand[rng.random(cand.size) * a["bound"][b] < p]


def fresh_process(kernel_dir: str, arrays: str, cache_dir: str) -> tuple[float, float]:
    """(import numba, first call of the kernel) CPU seconds in a new interpreter."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", PROBE.format(kernel_dir=kernel_dir, arrays=arrays)],
                         env=env, capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=int, default=1000, help="population.scale (real people per simulated one)")
    ap.add_argument("--calls", type=int, default=2000, help="calls timed per path")
    ap.add_argument("--processes", type=int, default=3, help="fresh interpreters per cache state")
    args = ap.parse_args()
    try:
        import numba
    except ImportError:
        sys.exit("compiled_route: needs numba (not a project dependency); see this script's docstring")
    a = model_arrays(args.scale)
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "flight_kernel.py").write_text(textwrap.dedent(KERNEL))
        arrays = str(Path(tmp, "arrays.npz"))
        np.savez(arrays, **a)
        cold, warm, imports = [], [], []
        for i in range(args.processes):
            cache = str(Path(tmp, f"cache{i}"))
            t_import, t_cold = fresh_process(tmp, arrays, cache)
            _, t_warm = fresh_process(tmp, arrays, cache)
            cold.append(t_cold)
            warm.append(t_warm)
            imports.append(t_import)
        sys.path.insert(0, tmp)
        from flight_kernel import flight_thinning

        rng = np.random.default_rng(0)
        args_k = (a["starts"], a["stops"], a["bound"], a["pressure"], a["band_cell"], a["propensity"], a["state"],
                  int(a["home"]))
        flight_thinning(rng, *args_k)

        def per_call(f) -> float:
            times = []
            for _ in range(args.calls):
                t = time.perf_counter()
                f()
                times.append(time.perf_counter() - t)
            return statistics.median(times)

        t_kernel = per_call(lambda: flight_thinning(rng, *args_k))
        t_numpy = per_call(lambda: numpy_path(rng, a))
    print(f"numba {numba.__version__}, numpy {np.__version__}; baseline at scale {args.scale}, "
          f"{a['starts'].size} propensity bands, {int(a['state'].size)} simulated men")
    print("| measurement | median | runs |\n|---|---|---|")
    print(f"| `import numba` (numpy imported), CPU s | {statistics.median(imports):.3f} | {', '.join(f'{x:.3f}' for x in imports)} |")
    print(f"| kernel's first call, empty cache (compile), CPU s | {statistics.median(cold):.3f} | {', '.join(f'{x:.3f}' for x in cold)} |")
    print(f"| kernel's first call, cached (every new process), CPU s | {statistics.median(warm):.3f} | {', '.join(f'{x:.3f}' for x in warm)} |")
    print(f"| flight thinning, numba kernel, µs per call | {1e6 * t_kernel:.1f} | median of {args.calls} |")
    print(f"| flight thinning, the model's numpy path, µs per call | {1e6 * t_numpy:.1f} | median of {args.calls} |")


if __name__ == "__main__":
    main()
