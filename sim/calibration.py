"""Calibration of ``history_2022`` against the figures of autumn 2022.

Targets come from ``sim/data/calibration_2022.csv`` (rows of kind ``target``). Each target
row is matched to a model quantity (a daily value, a difference of cumulative columns
over a window, or a level on a day). The error metric is Flee's averaged relative
difference per series: ARD = mean over the series' points of |model - data| / data,
with the model value averaged over replications. The naive baseline carries the
pre-mobilization state forward: background border traffic at the pre-mobilization daily
rate, and no mobilization, detentions or recruitment beyond it.

``python -m sim.calibration`` runs the fit check and writes ``docs/calibration.md``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parent / "data" / "calibration_2022.csv"
DOC = Path(__file__).resolve().parents[1] / "docs" / "calibration.md"


@dataclass(frozen=True)
class Target:
    """How one CSV quantity is read off the model's daily table."""

    column: str
    kind: str  # "daily": diff of a cumulative column on the day; "window": diff over (start, day]; "level"
    window_start: int = 0
    naive_per_day: float = 0.0  # pre-mobilization daily rate (naive baseline)


TARGETS: dict[str, Target] = {
    "mobilized_cumulative": Target("mobilized_cum", "level"),
    "finland_entries_daily": Target("entries_cum__finland", "daily", naive_per_day=3_000),
    "finland_entries_cumulative": Target("entries_cum__finland", "window", -1, 3_000),
    "georgia_entries_daily": Target("entries_cum__georgia", "daily", naive_per_day=5_500),
    "georgia_entries_cumulative_from_day_-4": Target("entries_cum__georgia", "window", -5, 5_500),
    "kazakhstan_entries_cumulative": Target("entries_cum__kazakhstan", "window", -1, 4_000),
    "mongolia_entries_cumulative": Target("entries_cum__mongolia", "window", -1, 150),
    "protest_detentions_daily": Target("arrests_cum", "daily"),
    "prisoner_recruits_total": Target("replacements_cum__prisoners", "level"),
    "contract_recruits_2023": Target("replacements_cum__contract", "window", 101),
}


#: Series the hand fit no longer beats its naive baseline on, with the reason (a finding,
#: documented in docs/calibration.md; tests/test_calibration.py checks that no other series fails).
KNOWN_MISFITS: dict[str, str] = {
    "mongolia_entries_cumulative": "the ABC-SMC calibration front-loaded the call-up (mobilization.front_loading 1.5, "
                                   "fitted to 222,000 men by day 23): more men summoned in the first week flee, and "
                                   "Mongolia's small exit overshoots (ARD about 0.74 against the naive 0.750: on the edge)",
}


def load_targets(path: Path = DATA) -> pd.DataFrame:
    """Target rows of the calibration CSV that the model can be held against."""
    df = pd.read_csv(path)
    df = df[(df["kind"] == "target") & df["quantity"].isin(list(TARGETS))]
    return df[["day", "quantity", "value", "note"]].reset_index(drop=True)


def model_value(table: pd.DataFrame, quantity: str, day: int) -> float:
    """The model's counterpart of a target on ``day`` from one daily table (indexed by day)."""
    t = TARGETS[quantity]
    col = table[t.column]
    if t.kind == "level":
        return float(col.loc[day])
    if t.kind == "daily":
        prev = col.loc[day - 1] if day - 1 in col.index else 0.0
        return float(col.loc[day] - prev)
    start = col.loc[t.window_start] if t.window_start in col.index else 0.0
    return float(col.loc[day] - start)


def naive_value(quantity: str, day: int) -> float:
    """The naive baseline: the pre-mobilization rate carried forward."""
    t = TARGETS[quantity]
    if t.kind == "daily":
        return t.naive_per_day
    if t.kind == "window":
        return t.naive_per_day * (day - t.window_start)
    return 0.0


def evaluate(tables: list[pd.DataFrame], targets: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-target model mean (over replications), naive value, and relative errors."""
    targets = load_targets() if targets is None else targets
    rows = []
    for r in targets.itertuples():
        vals = [model_value(tb.set_index("day"), r.quantity, int(r.day)) for tb in tables]
        m = float(np.mean(vals))
        n = naive_value(r.quantity, int(r.day))
        rows.append({"quantity": r.quantity, "day": int(r.day), "data": float(r.value), "model": m,
                     "model_sd": float(np.std(vals)), "naive": n,
                     "rel_err_model": abs(m - r.value) / r.value, "rel_err_naive": abs(n - r.value) / r.value})
    return pd.DataFrame(rows)


def series_ard(points: pd.DataFrame) -> pd.DataFrame:
    """Flee's averaged relative difference per series, model against naive baseline."""
    g = points.groupby("quantity", sort=False)
    out = pd.DataFrame({"points": g.size(), "ARD_model": g["rel_err_model"].mean(), "ARD_naive": g["rel_err_naive"].mean()})
    out["beats_naive"] = out["ARD_model"] < out["ARD_naive"]
    return out


def run_history(replications: int = 5, scale: int = 20, seed: int = 2022, days: int = 470) -> list[pd.DataFrame]:
    """Run ``history_2022`` replications (spawned from one root seed)."""
    from sim.config import load_scenario
    from sim.simulate import run_replication

    sc = load_scenario("history_2022", [f"population.scale={scale}", f"run.days={days}"])
    seeds = np.random.SeedSequence(seed).spawn(replications)
    return [run_replication(sc, s) for s in seeds]


def to_markdown(df: pd.DataFrame, index: bool = True) -> str:
    """A plain markdown table (no extra dependency)."""
    d = df.reset_index() if index else df
    rows = [[f"{v:,.3f}" if isinstance(v, float) else str(v) for v in r] for r in d.itertuples(index=False)]
    head = "| " + " | ".join(map(str, d.columns)) + " |\n|" + "---|" * len(d.columns)
    return head + "\n" + "\n".join("| " + " | ".join(r) + " |" for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=5)
    ap.add_argument("--scale", type=int, default=20)
    ap.add_argument("--write", action="store_true", help="rewrite the results section of docs/calibration.md")
    a = ap.parse_args()
    points = evaluate(run_history(a.replications, a.scale))
    ard = series_ard(points)
    pd.set_option("display.width", 200)
    print(points.round(3).to_string(index=False))
    print(ard.round(3).to_string())
    if a.write:
        text = DOC.read_text()
        head = text.split("<!-- results -->")[0]
        body = (f"<!-- results -->\nMeasured with `python -m sim.calibration --replications {a.replications} --scale {a.scale} --write`.\n\n"
                "### Per series\n\n" + to_markdown(ard.round(3)) + "\n\n### Per point\n\n"
                + to_markdown(points.round(3), index=False) + "\n")
        DOC.write_text(head + body)


if __name__ == "__main__":
    main()
