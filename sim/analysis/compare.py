"""Summaries over replications and paired comparisons against a baseline.

Input is the tidy ensemble table (``timeseries.parquet``): columns ``scenario``,
``replication``, ``day`` and one column per metric. Scenarios in a comparison share
replication seeds, so replication ``i`` of a scenario and of the baseline saw the same
random numbers. A difference is therefore computed *per replication first* and then
summarized; the median of differences is not the difference of medians, and its interval
is much narrower than the two bands suggest when runs are positively correlated.

Quantiles are sample quantiles over replications: ``median``, ``p05``, ``p95`` (a 90%
interval). Missing values (a metric a scenario does not have) are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from sim.outcomes import headline_metrics

ID_COLUMNS = ("scenario", "replication", "day")
CHECKPOINT_DAYS = (30, 90, 180, 365)
METRICS_OF_INTEREST = headline_metrics()  # the registry's headline columns, in rank order
COMPARISON_COLUMNS = ["scenario", "metric", "day", "median", "p05", "p95", "diff_median", "diff_p05", "diff_p95", "n"]
DEATHS_AVOIDED = "deaths_avoided"
COST_PER_SOLDIER = "cost_per_soldier_removed_usd"
# The money a scenario spends: offer payments and hosts' resettlement costs (host_cost_usd_cum
# is not used: it also holds the Western offer payments shared by burden, counted twice).
COST_COLUMNS = ("offer_cost_usd_cum", "resettlement_usd_cum")
# What "soldiers removed" is measured in: the headline table's metric, the first one present.
REMOVED_METRICS = ("front_effective", "front_strength")


def removed_metric(columns: Iterable[str]) -> str | None:
    """The front metric soldiers removed are counted in: ``front_effective`` (trained-soldier
    equivalents) if the table has it, else ``front_strength`` (soldiers), else None."""
    have = set(columns)
    return next((m for m in REMOVED_METRICS if m in have), None)


def metric_columns(ts: pd.DataFrame) -> list[str]:
    """Numeric metric columns, metrics of interest first, then the model's order."""
    numeric = [c for c in ts.columns if c not in ID_COLUMNS and pd.api.types.is_numeric_dtype(ts[c])]
    first = [m for m in METRICS_OF_INTEREST if m in numeric]
    return first + [c for c in numeric if c not in first]


def checkpoint_days(ts: pd.DataFrame, wanted: Iterable[int] = CHECKPOINT_DAYS) -> list[int]:
    """The checkpoint days the table reaches; the last day if it reaches none."""
    have = set(ts["day"].unique().tolist())
    days = [d for d in wanted if d in have]
    return days or [int(ts["day"].max())]


def scenario_order(ts: pd.DataFrame) -> list[str]:
    """Scenarios in order of first appearance (the order they were given)."""
    return list(dict.fromkeys(ts["scenario"].tolist()))


def _summarize(long: pd.DataFrame, keys: list[str], col: str, method: str = "linear", mean: bool = False) -> pd.DataFrame:
    """Per group of ``keys``: n, (mean), median, p05, p95 of ``col`` (NaN values left out).

    The quantiles are :func:`numpy.quantile`'s with ``method`` on each group's values; the
    groups are cut from one sorted array (no pandas object per group).
    """
    stats = ["n"] + (["mean"] if mean else []) + ["median", "p05", "p95"]
    codes = long.groupby(keys, sort=False).ngroup().to_numpy()
    order = np.argsort(codes, kind="stable")
    order = order[codes[order] >= 0]  # rows with a missing key belong to no group (as in groupby)
    if order.size == 0:
        return pd.DataFrame(columns=keys + stats)
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    out = long[keys].iloc[order[starts]].reset_index(drop=True)
    rows = np.full((starts.size, len(stats)), np.nan)
    for i, v in enumerate(np.split(long[col].to_numpy(dtype=float)[order], starts[1:])):
        v = v[~np.isnan(v)]
        rows[i, 0] = v.size
        if v.size:
            if mean:
                rows[i, 1] = float(np.mean(v))
            rows[i, -3:] = np.quantile(v, [0.5, 0.05, 0.95], method=method)
    for j, name in enumerate(stats):
        out[name] = rows[:, j]
    out["n"] = out["n"].astype("int64")
    return out


def _long(ts: pd.DataFrame, metrics: Sequence[str], days: Sequence[int]) -> pd.DataFrame:
    sub = ts.loc[ts["day"].isin(list(days)), list(ID_COLUMNS) + list(metrics)]
    long = sub.melt(id_vars=list(ID_COLUMNS), var_name="metric", value_name="value")
    long["value"] = pd.to_numeric(long["value"], errors="coerce").astype(float)
    return long


def _order(df: pd.DataFrame, scenarios: list[str], metrics: list[str]) -> pd.DataFrame:
    rank_s = {s: i for i, s in enumerate(scenarios)}
    rank_m = {m: i for i, m in enumerate(metrics)}
    key = df.assign(_s=df["scenario"].map(rank_s), _m=df["metric"].map(lambda m: rank_m.get(m, len(rank_m))))
    return key.sort_values(["_s", "_m", "day"], kind="stable").drop(columns=["_s", "_m"]).reset_index(drop=True)


def summary_table(ts: pd.DataFrame, metrics: Sequence[str] | None = None, days: Sequence[int] | None = None) -> pd.DataFrame:
    """Median, mean and 5-95% band across replications per scenario x metric x day.

    Args:
        ts: Tidy ensemble table.
        metrics: Metrics to summarize (default: every numeric metric).
        days: Days to report (default: the checkpoints reached plus the last day).

    Returns:
        Columns ``scenario, metric, day, n, mean, median, p05, p95``.
    """
    metrics = list(metrics) if metrics is not None else metric_columns(ts)
    if days is None:
        days = sorted(set(checkpoint_days(ts)) | {int(ts["day"].max())})
    out = _summarize(_long(ts, metrics, days), ["scenario", "metric", "day"], "value", mean=True)
    return _order(out, scenario_order(ts), metrics)[["scenario", "metric", "day", "n", "mean", "median", "p05", "p95"]]


def paired_differences(ts: pd.DataFrame, baseline: str, metrics: Sequence[str], days: Sequence[int] | None = None) -> pd.DataFrame:
    """Per-replication differences from the baseline (scenario minus baseline).

    Rows are matched on (replication, day), so only replications present in both
    scenarios are paired.

    Returns:
        Long table ``scenario, replication, day, metric, value, base, diff``.
    """
    if baseline not in set(ts["scenario"]):
        raise ValueError(f"baseline {baseline!r} is not in the table (scenarios: {scenario_order(ts)})")
    days = days if days is not None else sorted(ts["day"].unique().tolist())
    long = _long(ts, metrics, days)
    base = long.loc[long["scenario"] == baseline, ["replication", "day", "metric", "value"]].rename(columns={"value": "base"})
    paired = long.merge(base, on=["replication", "day", "metric"], how="inner")
    paired["diff"] = paired["value"] - paired["base"]
    return paired


def _derived(ts: pd.DataFrame, baseline: str, days: Sequence[int]) -> pd.DataFrame:
    """Deaths avoided and cost per soldier removed, paired per replication.

    Per replication ``i``, scenario ``s`` and day ``d`` (all paired with the baseline's
    replication ``i`` on the same day):

    - ``deaths_avoided`` = baseline ``kia_cum`` - scenario ``kia_cum`` (people).
    - ``cost_per_soldier_removed_usd`` = extra money / soldiers removed, where the extra
      money is the paired difference of ``offer_cost_usd_cum + resettlement_usd_cum``
      (USD; the columns of :data:`COST_COLUMNS` the table has) and soldiers removed is
      baseline minus scenario of :func:`removed_metric` (``front_effective``, in
      trained-soldier equivalents, the unit of the headline table; ``front_strength`` if
      the table lacks it). When nothing is removed (<= 0) the value is ``inf``, printed
      as "n/a (no reduction)"; quantiles use ``inverted_cdf`` so ``inf`` stays a value.

    Returns:
        Rows with columns :data:`COMPARISON_COLUMNS` (levels in ``median/p05/p95``), or an
        empty table when the needed columns are missing.
    """
    rows = []
    scen = [s for s in scenario_order(ts) if s != baseline]
    if "kia_cum" in ts.columns:
        p = paired_differences(ts, baseline, ["kia_cum"], days)
        p = p[p["scenario"].isin(scen)].assign(avoided=lambda d: d["base"] - d["value"])
        rows.append(_summarize(p, ["scenario", "day"], "avoided").assign(metric=DEATHS_AVOIDED))
    front = removed_metric(ts.columns)
    cost_cols = [c for c in COST_COLUMNS if c in ts.columns]
    if front is not None and "offer_cost_usd_cum" in cost_cols:
        money = ts[["scenario", "replication", "day"]].assign(
            _cost=ts[cost_cols].apply(pd.to_numeric, errors="coerce").sum(axis=1, min_count=len(cost_cols)))
        spent = paired_differences(money, baseline, ["_cost"], days)[["scenario", "replication", "day", "diff"]]
        p = paired_differences(ts, baseline, [front], days)
        p = p[p["scenario"].isin(scen)].merge(spent.rename(columns={"diff": "spent"}), on=["scenario", "replication", "day"])
        removed = (p["base"] - p["value"]).to_numpy(dtype=float)
        spent_usd = p["spent"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(removed > 0, spent_usd / removed, np.where(np.isnan(removed) | np.isnan(spent_usd), np.nan, np.inf))
        # inverted_cdf: a sample quantile, so "no reduction" (inf) is kept, not interpolated
        rows.append(_summarize(p.assign(ratio=ratio), ["scenario", "day"], "ratio", method="inverted_cdf")
                    .assign(metric=COST_PER_SOLDIER))
    if not rows:
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    out = pd.concat(rows, ignore_index=True)
    for c in ("diff_median", "diff_p05", "diff_p95"):
        out[c] = np.nan
    return out[COMPARISON_COLUMNS]


def comparison_table(
    ts: pd.DataFrame,
    baseline: str,
    metrics: Sequence[str] | None = None,
    days: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Levels and paired differences from the baseline at checkpoint days and the last day.

    For each scenario x metric x day: the median and 5-95% band of the metric across
    replications, and the median and 90% interval of the per-replication difference
    from the baseline. Derived rows follow for each non-baseline scenario:
    ``deaths_avoided`` (baseline ``kia_cum`` minus the scenario's, paired) and
    ``cost_per_soldier_removed_usd`` (the paired extra offer payments and resettlement
    costs divided by the paired reduction in ``front_effective`` on the same day; ``inf``
    when nothing is removed; see :func:`_derived`), in the ``median/p05/p95`` columns,
    when the table has those metrics.

    Returns:
        Tidy table with columns ``scenario, metric, day, median, p05, p95, diff_median,
        diff_p05, diff_p95, n`` (``n`` = replications, or pairs for differences).
    """
    metrics = list(metrics) if metrics is not None else metric_columns(ts)
    # The checkpoints reached plus, always, the last day (as in summary_table).
    days = list(days) if days is not None else sorted(set(checkpoint_days(ts)) | {int(ts["day"].max())})
    keys = ["scenario", "metric", "day"]
    levels = _summarize(_long(ts, metrics, days), keys, "value")
    diffs = _summarize(paired_differences(ts, baseline, metrics, days), keys, "diff")
    diffs = diffs.rename(columns={"median": "diff_median", "p05": "diff_p05", "p95": "diff_p95", "n": "n_pairs"})
    out = levels.merge(diffs, on=keys, how="left").drop(columns="n_pairs")
    out = _order(out, scenario_order(ts), metrics)[COMPARISON_COLUMNS]
    derived = _derived(ts, baseline, days)
    if not derived.empty:
        derived = _order(derived, scenario_order(ts), [DEATHS_AVOIDED, COST_PER_SOLDIER])
        out = pd.concat([out, derived], ignore_index=True)
    return out
