"""Where a simulated day's fixed cost goes: calls per day, random draws, the largest parts.

```bash
.venv/bin/python benchmarks/anatomy.py 50            # baseline at population.scale=50
.venv/bin/python benchmarks/anatomy.py 1000 --top 15
```

A warm-up year, then years (366 steps each) of the scenario three ways, in this process
(CPU time, ``time.process_time``):

1. plain: the step time per day, the minimum of 3 years (the reference for the shares
   below);
2. under ``cProfile``: function calls per day (Python functions and numpy's C functions
   alike) and the functions with the most own time ("tottime"), as shares of all own
   time (``(C)``: a function of numpy or Python written in C, which has no file); the profiler's own overhead inflates the small calls, so read the shares, not the
   microseconds;
3. with a :class:`numpy.random.Generator` subclass that times every draw method: calls,
   values and CPU per day of the model's random draws, and their share of the day.

Issue 16's question: is the fixed cost per day in a few places (then worth rewriting) or
spread over many calls (then it is the price of Python orchestration of numpy)?
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import pstats
import time
from pathlib import Path

import numpy as np

from sim.config import load_scenario
from sim.model import AsylumModel

ROOT = Path(__file__).resolve().parents[1]
DRAWS = ("random", "binomial", "poisson", "geometric", "integers", "beta", "permutation", "choice",
         "lognormal", "normal", "multinomial", "shuffle", "exponential", "uniform", "standard_normal")


def _year(sc, rng) -> float:
    m = AsylumModel(sc, rng=rng)
    t = time.process_time()
    for _ in range(366):
        m.step()
    return time.process_time() - t


def _timed_generator() -> tuple[type, collections.Counter, collections.Counter, collections.Counter]:
    """A Generator subclass recording, per draw method, calls, values drawn and CPU seconds."""
    calls, values, cpu = collections.Counter(), collections.Counter(), collections.Counter()

    class Timed(np.random.Generator):
        pass

    for name in DRAWS:
        def draw(self, *a, _f=getattr(np.random.Generator, name), _n=name, **k):
            t = time.process_time()
            out = _f(self, *a, **k)
            cpu[_n] += time.process_time() - t
            calls[_n] += 1
            values[_n] += np.size(out)
            return out
        setattr(Timed, name, draw)
    return Timed, calls, values, cpu


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text}")
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scale", type=_positive, nargs="?", default=50, help="population.scale (real men per simulated man)")
    ap.add_argument("scenario", nargs="?", default="baseline")
    ap.add_argument("--top", type=int, default=10, help="functions to list by own time")
    a = ap.parse_args()
    sc = load_scenario(a.scenario, [f"population.scale={a.scale}", "run.days=365"])
    _year(sc, np.random.default_rng(0))  # warm-up: caches, lazy imports, the allocator
    plain = min(_year(sc, np.random.default_rng(s)) for s in (1, 2, 3)) / 366
    print(f"{a.scenario} at scale {a.scale}: steps {plain * 1e3:.3f} ms per simulated day (min of 3 years)")

    prof = cProfile.Profile()
    m = AsylumModel(sc, rng=np.random.default_rng(1))
    prof.enable()
    for _ in range(366):
        m.step()
    prof.disable()
    stats = pstats.Stats(prof).stats
    n_calls = sum(nc for (_, _, _), (_, nc, _, _, _) in stats.items())
    own = sum(tt for (_, _, _), (_, _, tt, _, _) in stats.items())
    print(f"calls per day (cProfile: Python and C functions): {n_calls / 366:,.0f}")
    print(f"functions with the most own time, share of all own time (of {len(stats)} functions):")
    top = sorted(stats.items(), key=lambda kv: -kv[1][2])[: a.top]
    for (file, line, name), (_, nc, tt, _, _) in top:
        where = f"{file.rsplit('site-packages/', 1)[-1].replace(str(ROOT) + '/', '')}:{line}" if line else "C"
        print(f"  {100 * tt / own:5.1f}%  {nc / 366:7.1f} calls/day  {name}  ({where})")

    timed, calls, values, cpu = _timed_generator()
    from sim.streams import DayStreams

    spawn = DayStreams.spawn
    DayStreams.spawn = classmethod(lambda cls, rng: cls({n: timed(g.bit_generator)  # the days' draws: the streams'
                                                         for n, g in spawn(rng).generators.items()}))
    try:
        m = AsylumModel(sc, rng=timed(np.random.PCG64(1)))
    finally:
        DayStreams.spawn = spawn
    for c in (calls, values, cpu):  # the steps' draws only, not the build's
        c.clear()
    for _ in range(366):
        m.step()
    total = sum(cpu.values()) / 366
    print(f"random draws: {sum(calls.values()) / 366:.1f} calls/day, {total * 1e6:.0f} us/day "
          f"({100 * total / plain:.0f}% of the step time, timers included)")
    for name in sorted(cpu, key=lambda k: -cpu[k]):
        print(f"  {name:12s} {calls[name] / 366:6.1f} calls/day {values[name] / 366:10.1f} values/day "
              f"{cpu[name] / 366 * 1e6:7.1f} us/day")


if __name__ == "__main__":
    main()
