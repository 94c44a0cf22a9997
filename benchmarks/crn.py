"""How well common random numbers pair a comparison's runs: the spread of paired differences.

    .venv/bin/python benchmarks/crn.py [--replications 24] [--scale 50] [--against REF]

Every scenario of the README comparison is run against ``baseline`` with the same
replication seeds (common random numbers), without parameter uncertainty (every
replication has the configured parameters, so the spread is the model's own noise). For
``front_effective`` (soldier-equivalents) on days 90 and 365 it reports, per scenario:

- the standard deviation of the baseline's and of the scenario's values over replications;
- the standard deviation of the paired difference (scenario - baseline, replication by
  replication) and the correlation of the pairs;
- the variance-reduction factor of pairing, ``(var_b + var_s) / var_d``: how many times
  more replications unpaired runs would need for the same standard error of the mean
  difference (1: pairing does nothing; Law 2015, section 11.2).

``--against REF`` measures a git reference too, in the same run (a temporary worktree whose
``sim`` the child processes import, as ``benchmarks/run.py --against`` does). The table is
printed and written to ``benchmarks/out/crn.md``. docs/ODD.md (section 4.9) quotes it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from perday import ROOT, Reference, run_child  # noqa: E402

from sim.inference.fit_check import _at_least  # noqa: E402  (argparse: a whole number >= n)

SCENARIOS = ("no_offers", "kuran", "caplan", "caplan_tiered", "draftee_asylum")
DAYS = (90, 365)
METRIC = "front_effective"


def child(replications: int, scale: int, root_seed: int) -> None:
    """Print JSON: per scenario, per day, the values of every replication."""
    from sim.config import load_scenario
    from sim.runner.seeds import replication_seed
    from sim.simulate import run_replication

    out = {}
    for name in ("baseline", *SCENARIOS):
        sc = load_scenario(name, [f"population.scale={scale}", f"run.days={max(DAYS)}"])
        vals = []
        for r in range(replications):
            df = run_replication(sc, replication_seed(root_seed, r).sequence()).set_index("day")
            vals.append([float(df.loc[d, METRIC]) for d in DAYS])
        out[name] = vals
    print(json.dumps(out))


def statistics(values: dict[str, list[list[float]]]) -> list[dict]:
    """Per scenario and day: SDs, paired SD, correlation, variance-reduction factor."""
    import numpy as np

    base = np.array(values["baseline"])
    rows = []
    for name in SCENARIOS:
        s = np.array(values[name])
        for j, day in enumerate(DAYS):
            b, x = base[:, j], s[:, j]
            d = x - b
            var_d = d.var(ddof=1)
            rows.append({"scenario": name, "day": day, "sd_baseline": b.std(ddof=1), "sd_scenario": x.std(ddof=1),
                         "mean_difference": d.mean(), "sd_difference": d.std(ddof=1),
                         "correlation": float(np.corrcoef(b, x)[0, 1]),
                         "reduction": (b.var(ddof=1) + x.var(ddof=1)) / var_d if var_d > 0 else float("inf")})
    return rows


def table(results: dict[str, list[dict]], replications: int, scale: int) -> str:
    lines = [f"`{METRIC}` (soldier-equivalents), {replications} replications a scenario, scale {scale}, "
             "no parameter uncertainty; paired = the same replication seed as baseline.", "",
             "| tree | scenario | day | SD baseline | SD scenario | mean paired difference | SD paired difference "
             "| correlation | variance reduction |", "|---|---|---|---|---|---|---|---|---|"]
    for tree, rows in results.items():
        for r in rows:
            lines.append(f"| {tree} | {r['scenario']} | {r['day']} | {r['sd_baseline']:,.0f} | {r['sd_scenario']:,.0f} | "
                         f"{r['mean_difference']:+,.0f} | {r['sd_difference']:,.0f} | {r['correlation']:.2f} | "
                         f"{r['reduction']:.1f}x |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replications", type=_at_least(3), default=24, help="per scenario (at least 3)")
    ap.add_argument("--scale", type=_at_least(1), default=50, help="population.scale")
    ap.add_argument("--seed", type=_at_least(0), default=20221021, help="root seed of the replications")
    ap.add_argument("--against", metavar="REF", help="also measure this git reference")
    ap.add_argument("--child", nargs=3, type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(*a.child)
        return 0
    args = [sys.executable, str(Path(__file__).resolve()), "--child", str(a.replications), str(a.scale), str(a.seed)]
    if a.against is not None and subprocess.run(["git", "rev-parse", "--verify", "-q", f"{a.against}^{{commit}}"], cwd=ROOT,
                                    capture_output=True).returncode != 0:
        print(f"error: --against {a.against}: not a commit of this repository", file=sys.stderr)
        return 1
    results = {}
    try:
        out, _, _ = run_child(ROOT, args)
        results["this tree"] = statistics(json.loads(out.strip().splitlines()[-1]))
        if a.against is not None:
            with Reference(a.against) as tree:
                out, _, _ = run_child(tree, args)
            results[a.against] = statistics(json.loads(out.strip().splitlines()[-1]))
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"error: {' '.join(str(exc).split())[:500]}", file=sys.stderr)
        return 1
    text = table(results, a.replications, a.scale)
    print(text)
    (ROOT / "benchmarks" / "out").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "out" / "crn.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
