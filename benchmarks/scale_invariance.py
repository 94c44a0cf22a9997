"""Scale invariance benchmark: do headline outputs agree in expectation across ``population.scale``?

    .venv/bin/python benchmarks/scale_invariance.py                       # scales 5, 10, 50; 8 replications
    .venv/bin/python benchmarks/scale_invariance.py --scales 10 50 --replications 4 --days 180
    .venv/bin/python benchmarks/scale_invariance.py --write-docs          # also rewrite docs/calibration.md's block

The larger version of ``tests/test_funnel.py::test_per_real_person_rates_do_not_depend_on_scale``
(issue 15: "headline outputs at scales 5, 10 and 50 agree in expectation within replication
noise"). For each scale it runs ``asylumsim compare baseline caplan --replications R --scale S``
(the shipped scenarios as they are, so with the baseline's parameter uncertainty when it is
on: replication ``i`` takes the same posterior particle at every scale), and reads, at days
90, 180 and 365, the headline quantities (real people):

* ``front_effective`` and ``defected_cum`` in the baseline (levels);
* ``defected_cum__ukraine_amnesty`` and ``offer_requests_cum__ukraine_amnesty`` in the baseline;
* Caplan minus baseline, paired per replication: ``front_effective`` and ``defected_cum``.

Each coarser scale is compared with the finest: the difference of means against
``k`` (default 3) standard errors of that difference (Welch; the replications of the two
scales are independent draws). A scale "agrees" when every quantity does. Writes
``benchmarks/out/scale_invariance/result.json`` and prints a markdown table; with
``--write-docs`` it rewrites the block between the markers in docs/calibration.md. Exit
status 1 if a scale disagrees (a finding, not a crash).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out" / "scale_invariance"
DOC = ROOT / "docs" / "calibration.md"
BEGIN = "<!-- BEGIN generated:scale-invariance (python benchmarks/scale_invariance.py --write-docs; do not edit by hand) -->"
END = "<!-- END generated:scale-invariance -->"
DAYS = (90, 180, 365)
LEVELS = ("front_effective", "defected_cum", "defected_cum__ukraine_amnesty", "offer_requests_cum__ukraine_amnesty")
PAIRED = ("front_effective", "defected_cum")


def run_scale(scale: int, replications: int, days: int, seed: int, workers: int) -> tuple[pd.DataFrame, float]:
    """Run the comparison at one scale; return its tidy table and the wall time (s)."""
    folder = OUT / f"scale-{scale}"
    if folder.exists():
        shutil.rmtree(folder)
    exe = Path(sys.executable).with_name("asylumsim")
    cmd = [str(exe), "compare", "baseline", "caplan", "--replications", str(replications), "--scale", str(scale),
           "--days", str(days), "--seed", str(seed), "--workers", str(workers), "--no-plots", "--out", str(folder)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=OUT, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONHASHSEED": "0"})
    return pd.read_parquet(folder / "timeseries.parquet"), time.perf_counter() - t0


def quantities(ts: pd.DataFrame, days: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Per quantity ``name@day``: the values of every replication, shape (replications,)."""
    out: dict[str, np.ndarray] = {}
    for day in days:
        at = ts[ts["day"] == day]
        base = at[at["scenario"] == "baseline"].set_index("replication").sort_index()
        cap = at[at["scenario"] == "caplan"].set_index("replication").sort_index()
        for col in LEVELS:
            out[f"baseline {col} @{day}"] = base[col].to_numpy(float)
        for col in PAIRED:
            out[f"caplan - baseline {col} @{day}"] = (cap[col] - base[col]).to_numpy(float)
    return out


def compare_scales(res: dict[int, dict[str, np.ndarray]], k: float) -> pd.DataFrame:
    """One row per quantity and coarser scale: means, difference, its standard error, agreement."""
    finest = min(res)
    rows = []
    for scale in sorted(res):
        if scale == finest:
            continue
        for q, ref in res[finest].items():
            x = res[scale][q]
            se = float(np.sqrt(ref.var(ddof=1) / ref.size + x.var(ddof=1) / x.size))
            diff = float(x.mean() - ref.mean())
            rows.append({"quantity": q, "scale": scale, f"mean at {finest}": float(ref.mean()), "mean": float(x.mean()),
                         "difference": diff, "se": se, "z": diff / se if se > 0 else (0.0 if diff == 0 else np.inf),
                         "agrees": bool(abs(diff) <= k * se or diff == 0)})
    return pd.DataFrame(rows)


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def markdown(table: pd.DataFrame, walls: dict[int, float], args: argparse.Namespace, verdict: dict[int, bool]) -> str:
    """The generated docs block: settings, the per-scale verdict and the per-quantity table."""
    finest = min(walls)
    lines = [BEGIN,
             f"Command: `python benchmarks/scale_invariance.py --scales {' '.join(map(str, args.scales))} "
             f"--replications {args.replications} --days {args.days} --seed {args.seed}` (the shipped `baseline` and "
             f"`caplan`; each coarser scale against scale {finest}; agreement: |difference of means| <= {args.k:g} "
             "standard errors).", "",
             "| scale | wall time (s) | all quantities agree with the finest scale |", "|---|---|---|"]
    for s in sorted(walls):
        lines.append(f"| {s} | {walls[s]:.0f} | {'(reference)' if s == finest else ('yes' if verdict[s] else 'no')} |")
    lines += ["", f"| quantity | scale | mean at {finest} | mean | difference | z |", "|---|---|---|---|---|---|"]
    for r in table.itertuples(index=False):
        lines.append(f"| {r.quantity} | {r.scale} | {_fmt(r[2])} | {_fmt(r.mean)} | {_fmt(r.difference)} | {r.z:.2f} |")
    lines.append(END)
    return "\n".join(lines)


def write_docs(block: str) -> None:
    """Replace the block between the markers in docs/calibration.md (which must hold them)."""
    text = DOC.read_text()
    i, j = text.index(BEGIN), text.index(END) + len(END)
    DOC.write_text(text[:i] + block + text[j:])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[5, 10, 50])
    ap.add_argument("--replications", type=int, default=8)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=2022)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--k", type=float, default=3.0, help="agreement within k standard errors")
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    days = tuple(d for d in DAYS if d <= args.days)
    res, walls = {}, {}
    for s in sorted(args.scales):
        ts, walls[s] = run_scale(s, args.replications, args.days, args.seed, args.workers)
        res[s] = quantities(ts, days)
        print(f"scale {s}: {args.replications} replications x 2 scenarios in {walls[s]:.0f} s", flush=True)
    table = compare_scales(res, args.k)
    verdict = {s: bool(table[table["scale"] == s]["agrees"].all()) for s in walls if s != min(walls)}
    block = markdown(table, walls, args, verdict)
    print(block)
    (OUT / "result.json").write_text(json.dumps({"args": vars(args), "walls": walls, "verdict": verdict,
                                                 "table": table.to_dict(orient="records")}, indent=1))
    if args.write_docs:
        write_docs(block)
    return 0 if all(verdict.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
