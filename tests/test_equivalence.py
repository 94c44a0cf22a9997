"""Statistical equivalence: results unchanged in distribution when the order of draws changes.

The golden tables (``tests/test_golden.py``) pin results bit for bit, which a change of
the order of random draws (a faster sampler, thinning instead of a draw per soldier)
necessarily breaks. This test is the check for such a change (issue 16): every headline
output of compare's table (:func:`sim.outcomes.headline_metrics`) at days 30, 90, 180 and
365, for ``baseline``, ``caplan`` and the paired difference caplan - baseline, must agree
with a reference ensemble recorded before the change, within replication noise.

The reference (``tests/golden/equivalence.json``) holds the per-replication values of
``REPLICATIONS`` replications of each scenario at ``population.scale=500``, recorded with
the code named in it. The test runs the same replications (same seeds: common random
numbers: each submodel's draws of each day start at the same place, sim/streams.py) with
the current code and
computes, per output, day and series, Welch's z = (mean now - mean then) / standard
error; it fails if any |z| exceeds ``Z_MAX`` (with about 130 comparisons, 4.5 standard
errors keep the chance of a false alarm under 0.1%, while a shift of a sixth of a
standard deviation of one replication would show with 24 replications in the same
direction across the days). Constant outputs must be equal.

Re-record only for a change meant to alter results (and say so in the commit)::

    .venv/bin/python tests/test_equivalence.py --record
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from sim.config import load_scenario
from sim.outcomes import headline_metrics
from sim.runner.seeds import replication_seed
from sim.simulate import run_replication

REFERENCE = Path(__file__).parent / "golden" / "equivalence.json"
SCENARIOS = ("baseline", "caplan")
OVERRIDES = ["population.scale=500", "run.days=365"]
DAYS = (30, 90, 180, 365)
REPLICATIONS = 24
ROOT_SEED = 20_221_116
Z_MAX = 4.5


def headline_values(name: str) -> np.ndarray:
    """Values of every headline output at :data:`DAYS`, shape (replications, metrics, days)."""
    sc = load_scenario(name, OVERRIDES)
    metrics = headline_metrics()
    out = np.empty((REPLICATIONS, len(metrics), len(DAYS)))
    for r in range(REPLICATIONS):
        df = run_replication(sc, replication_seed(ROOT_SEED, r).sequence()).set_index("day")
        out[r] = df.loc[list(DAYS), list(metrics)].to_numpy().T
    return out


def z_scores(now: np.ndarray, then: np.ndarray) -> np.ndarray:
    """Welch's z per (metric, day); 0 where both are constant and equal, inf where constant and unequal."""
    n1, n2 = now.shape[0], then.shape[0]
    diff = now.mean(axis=0) - then.mean(axis=0)
    se = np.sqrt(now.var(axis=0, ddof=1) / n1 + then.var(axis=0, ddof=1) / n2)
    scale = np.maximum(np.abs(now).max(axis=0), np.abs(then).max(axis=0))
    const = se <= 1e-12 * np.maximum(scale, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(const, np.where(np.abs(diff) <= 1e-9 * np.maximum(scale, 1.0), 0.0, np.inf), diff / se)
    return z


def series(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The compared series: each scenario's level and the paired difference from baseline."""
    out = dict(values)
    for name in SCENARIOS[1:]:
        out[f"{name} - {SCENARIOS[0]}"] = values[name] - values[SCENARIOS[0]]
    return out


def test_headline_outputs_match_the_reference_in_distribution():
    ref = json.loads(REFERENCE.read_text())
    assert ref["overrides"] == OVERRIDES and ref["days"] == list(DAYS) and ref["root_seed"] == ROOT_SEED
    metrics = headline_metrics()
    assert ref["metrics"] == list(metrics), "headline outputs changed: re-record the reference"
    then = series({k: np.array(v) for k, v in ref["values"].items()})
    now = series({name: headline_values(name) for name in SCENARIOS})
    bad = []
    worst = 0.0
    for key in then:
        z = z_scores(now[key], then[key])
        worst = max(worst, float(np.max(np.abs(z))))
        for i, j in zip(*np.nonzero(np.abs(z) > Z_MAX), strict=True):
            bad.append(f"{key}: {metrics[i]} day {DAYS[j]}: mean {now[key][:, i, j].mean():.6g} now vs "
                       f"{then[key][:, i, j].mean():.6g} in the reference (z = {z[i, j]:+.2f})")
    assert not bad, f"outside replication noise (|z| > {Z_MAX}):\n" + "\n".join(bad)
    assert worst <= Z_MAX


def test_z_scores_flag_a_shift_and_accept_noise():
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 1.0, (24, 1, 1))
    assert abs(z_scores(a, rng.normal(0.0, 1.0, (24, 1, 1)))[0, 0]) < Z_MAX
    assert abs(z_scores(a + 3.0, a)[0, 0]) > Z_MAX
    c = np.zeros((24, 1, 1))
    assert z_scores(c, c)[0, 0] == 0.0 and np.isinf(z_scores(c + 1.0, c)[0, 0])


def record() -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "sim"], capture_output=True, text=True,
                           cwd=Path(__file__).parents[1]).stdout.strip()  # the repository: "sim" is relative
    values = {name: headline_values(name).tolist() for name in SCENARIOS}
    REFERENCE.write_text(json.dumps({
        "recorded_with": commit + (" (with uncommitted changes in sim/)" if dirty else ""),
        "overrides": OVERRIDES, "days": list(DAYS), "root_seed": ROOT_SEED, "metrics": list(headline_metrics()),
        "values": values}, indent=None, separators=(",", ":")) + "\n")
    print("recorded", REFERENCE)


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: python tests/test_equivalence.py --record")
    record()
