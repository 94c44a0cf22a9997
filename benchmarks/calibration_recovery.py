"""ABC-SMC recovery benchmark: calibrate on data the model simulated at known parameters.

    .venv/bin/python benchmarks/calibration_recovery.py                      # default: about 5-10 minutes on 1 core
    .venv/bin/python benchmarks/calibration_recovery.py --scale 500 --days 120 --populations 6 --particles 100 --workers 2

The larger version of ``tests/test_inference.py::test_abc_recovers_known_parameters_and_resumes``.
Observations: ``history_2022`` (with ``defection.private_mean=4.0``, publicity 0.02 and detection 0.25 so that the defection and
AWOL rates show within the horizon) simulated at the TRUTH values, averaged over
``--obs-replications`` replications; summary statistics: ``defected_cum``, ``caught_cum``
and ``awol_cum`` every ``--every`` days (bound ``approx``). Priors: log-uniform, a factor 5-10
around the truth (assumption). Reports, per parameter, the truth, the posterior median and
90% interval, whether the truth lies inside, the interval's width against the prior's; and
the number of simulations and wall time. Writes ``benchmarks/out/calibration_recovery/``
(the posterior, manifest and database; git-ignored) and ``result.json`` there. Exit
status 1 if a truth falls outside its 90% interval.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim.inference import abc as A  # noqa: E402
from sim.inference import targets as tg  # noqa: E402

TRUTH = {"defection.opportunity_rate": 0.1, "front.awol_rate": 0.01}
PRIORS = [A.Prior("defection.opportunity_rate", "loguniform", 0.01, 0.5, "assumption"),
          A.Prior("front.awol_rate", "loguniform", 0.0005, 0.05, "assumption")]
BASE = ("defection.private_mean=4.0", "offers.ukraine_amnesty.publicity=0.02", "kremlin.counter_defection.detection_base=0.25")


def synthetic_targets(scale: int, days: int, every: int, reps: int, seed: int) -> tg.TargetSet:
    """Observations at TRUTH: mean of ``reps`` replications, every ``every`` days."""
    qs = {c: tg.Quantity(c, "level") for c in ("defected_cum", "caught_cum", "awol_cum")}
    obs_days = list(range(every, days + 1, every))
    pts = pd.DataFrame({"quantity": [q for q in qs for _ in obs_days], "day": obs_days * len(qs), "value": 1.0})
    sim = A.ScenarioSimulator("history_2022", [], tg.TargetSet.from_frame(pts, qs), scale, days, BASE)
    seeds = np.random.SeedSequence(seed).spawn(reps)
    obs = np.mean([sim.simulate(TRUTH, s) for s in seeds], axis=0)
    pts = pts.assign(value=obs)
    return tg.TargetSet.from_frame(pts[pts["value"] > 0], qs)  # a zero observation has no relative difference


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=1000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--every", type=int, default=15, help="days between observations")
    ap.add_argument("--obs-replications", type=int, default=3)
    ap.add_argument("--populations", type=int, default=5)
    ap.add_argument("--particles", type=int, default=60)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "calibration_recovery")
    a = ap.parse_args(argv)
    shutil.rmtree(a.out, ignore_errors=True)
    ts = synthetic_targets(a.scale, a.days, a.every, a.obs_replications, a.seed + 1000)
    t0 = time.perf_counter()
    path = A.calibrate("history_2022", PRIORS, ts, a.out, populations=a.populations, particles=a.particles,
                       workers=a.workers, seed=a.seed, scale=a.scale, days=a.days, base_overrides=BASE,
                       initial_epsilon=float("inf"))
    wall = time.perf_counter() - t0
    post = A.load_posterior(path)
    man = json.loads((a.out / A.MANIFEST_NAME).read_text())
    rows, ok = [], True
    for p in PRIORS:
        lo, med, hi = A.weighted_quantile(post[p.path].to_numpy(), post["weight"].to_numpy(), [0.05, 0.5, 0.95])
        inside = bool(lo <= TRUTH[p.path] <= hi)
        ok &= inside
        width = np.log10(hi / lo) / np.log10(p.quantile(0.95) / p.quantile(0.05))
        rows.append({"parameter": p.path, "truth": TRUTH[p.path], "median": med, "q5": lo, "q95": hi,
                     "inside_90": inside, "width_vs_prior": round(float(width), 3)})
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    print(f"{man['simulations']} simulations, {man['populations']} populations x {a.particles} particles, "
          f"wall {wall:.1f} s on {a.workers} worker(s); epsilon {man['epsilon']['values']}")
    result = {"args": {k: str(v) for k, v in vars(a).items()}, "recovery": rows, "simulations": man["simulations"],
              "wall_time_s": round(wall, 1), "epsilon": man["epsilon"]["values"]}
    (a.out / "result.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
