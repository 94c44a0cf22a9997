"""Paired comparisons: per-replication differences, derived rows, the compare command."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers_runner import FAKE, REAL_SMALL, invoke
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.analysis.compare import (
    COMPARISON_COLUMNS,
    COST_PER_SOLDIER,
    DEATHS_AVOIDED,
    checkpoint_days,
    comparison_table,
    paired_differences,
    summary_table,
)


def _ts(rows: dict[str, list[float]], metric: str = "front_effective", day: int = 30) -> pd.DataFrame:
    """Tidy table with one value per scenario x replication at one day."""
    out = []
    for scen, values in rows.items():
        for rep, v in enumerate(values):
            out.append({"scenario": scen, "replication": rep, "day": day, metric: float(v)})
    return pd.DataFrame(out)


def test_differences_are_paired_per_replication_before_summarizing():
    base = [0.0, 10.0, 20.0]
    offer = [30.0, 11.0, 19.0]
    ts = _ts({"baseline": base, "offer": offer})
    row = comparison_table(ts, "baseline").query("scenario == 'offer'").iloc[0]
    diffs = np.subtract(offer, base)  # 30, 1, -1
    assert row["diff_median"] == pytest.approx(1.0)
    assert np.median(offer) - np.median(base) == pytest.approx(9.0)  # the unpaired answer differs
    assert row["diff_p05"] == pytest.approx(np.quantile(diffs, 0.05))
    assert row["diff_p95"] == pytest.approx(np.quantile(diffs, 0.95))
    assert row["median"] == pytest.approx(19.0)
    assert (row["p05"], row["p95"]) == pytest.approx((np.quantile(offer, 0.05), np.quantile(offer, 0.95)))


def test_pairing_follows_replication_ids_not_row_order():
    ts = _ts({"baseline": [0.0, 10.0, 20.0, 5.0], "offer": [30.0, 11.0, 19.0, 2.0]})
    shuffled = ts.sample(frac=1.0, random_state=3)
    key = ["scenario", "metric", "day"]
    a = comparison_table(ts, "baseline").sort_values(key, ignore_index=True)
    b = comparison_table(shuffled, "baseline").sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(a, b)


def test_only_replications_present_in_both_are_paired():
    ts = _ts({"baseline": [0.0, 10.0, 20.0], "offer": [5.0, 15.0, 25.0]})
    ts = ts[~((ts["scenario"] == "baseline") & (ts["replication"] == 2))]
    p = paired_differences(ts, "baseline", ["front_effective"])
    assert sorted(p.loc[p["scenario"] == "offer", "replication"]) == [0, 1]
    assert (p.loc[p["scenario"] == "offer", "diff"] == 5.0).all()


def test_baseline_rows_have_zero_difference_and_table_is_tidy():
    ts = _ts({"baseline": [1.0, 2.0, 3.0], "offer": [2.0, 2.0, 2.0]})
    comp = comparison_table(ts, "baseline")
    assert list(comp.columns) == COMPARISON_COLUMNS
    b = comp[comp["scenario"] == "baseline"].iloc[0]
    assert (b["diff_median"], b["diff_p05"], b["diff_p95"]) == (0.0, 0.0, 0.0)
    assert comp["scenario"].tolist() == ["baseline", "offer"]


def test_checkpoint_days_are_those_the_run_reaches():
    days = pd.DataFrame({"day": range(0, 101)})
    assert checkpoint_days(days) == [30, 90]
    assert checkpoint_days(pd.DataFrame({"day": range(-3, 21)})) == [20]


def test_deaths_avoided_and_cost_per_soldier_removed_are_paired():
    rows = []
    # replication: (baseline kia, offer kia, baseline front, offer front, offer cost)
    data = [(100, 90, 1000, 900, 1e6), (200, 150, 1000, 1000, 5e5), (300, 310, 1000, 950, 1e6)]
    for rep, (bk, ok, bf, of, cost) in enumerate(data):
        rows.append({"scenario": "baseline", "replication": rep, "day": 30, "kia_cum": bk, "front_strength": bf, "offer_cost_usd_cum": 0.0})
        rows.append({"scenario": "offer", "replication": rep, "day": 30, "kia_cum": ok, "front_strength": of, "offer_cost_usd_cum": cost})
    comp = comparison_table(pd.DataFrame(rows), "baseline")
    avoided = comp[comp["metric"] == DEATHS_AVOIDED]
    assert avoided["scenario"].tolist() == ["offer"]
    assert avoided.iloc[0]["median"] == pytest.approx(np.median([10, 50, -10]))
    cost = comp[comp["metric"] == COST_PER_SOLDIER].iloc[0]
    # per replication: 1e6/100, inf (money spent, nobody removed), 1e6/50
    assert cost["median"] == pytest.approx(2e4)
    assert cost["p05"] == pytest.approx(1e4) and np.isinf(cost["p95"])
    assert cost["n"] == 3


def test_summary_table_reports_band_per_metric_and_day():
    ts = pd.concat([_ts({"s": [1, 2, 3, 4]}, day=d) for d in (30, 31)], ignore_index=True)
    s = summary_table(ts)
    assert s["day"].tolist() == [30, 31]
    assert s.iloc[0]["median"] == 2.5 and s.iloc[0]["mean"] == 2.5 and s.iloc[0]["n"] == 4


# --------------------------------------------------------------------------------------
# the command


def test_compare_uses_common_random_numbers(tmp_path):
    twin = tmp_path / "twin.yaml"
    twin.write_text("name: twin\ndescription: baseline under another name\nextends: baseline\n")
    out = tmp_path / "crn"
    r = invoke(["compare", "baseline", twin, "--days", "40", "-n", "4", "--model", FAKE, "--executor", "inline", "--no-plots", "--out", out])
    assert r.exit_code == 0, r.stderr
    comp = pd.read_csv(out / "comparison.csv")
    twin_rows = comp[(comp["scenario"] == "twin") & ~comp["metric"].isin([DEATHS_AVOIDED, COST_PER_SOLDIER])]
    # Identical scenarios with shared seeds differ by exactly nothing, replication by replication.
    assert (twin_rows[["diff_median", "diff_p05", "diff_p95"]] == 0).all().all()
    assert (twin_rows["p95"] > twin_rows["p05"]).any()  # while each has real spread
    m = json.loads((out / "manifest.json").read_text())
    seeds = {(e["scenario"], e["replication"]): e["seed"]["spawn_key"] for e in m["runs"]}
    assert all(seeds[("baseline", i)] == seeds[("twin", i)] == [i] for i in range(4))


def test_compare_real_model_writes_comparison_and_headline(tmp_path):
    variant = tmp_path / "fewer_deaths.yaml"
    variant.write_text("name: fewer_deaths\ndescription: lower kill rate\nextends: baseline\nfront:\n  kia_rate: 0.0002\n")
    out = tmp_path / "cmp"
    r = invoke(["compare", "baseline", variant, *REAL_SMALL, "-n", "3", "--executor", "inline", "--no-plots", "--out", out])
    assert r.exit_code == 0, r.stderr
    assert "paired difference" in r.stdout and "fewer_deaths" in r.stdout
    comp = pd.read_csv(out / "comparison.csv")
    assert list(comp.columns) == COMPARISON_COLUMNS
    needed = {"front_strength", "front_effective", "defected_cum", "fled_cum", "casualties_cum", "protest_active"}
    assert needed <= set(comp["metric"])
    assert set(comp["day"]) == {30}
    assert DEATHS_AVOIDED in set(comp["metric"])
    avoided = comp[(comp["metric"] == DEATHS_AVOIDED)].iloc[0]
    assert avoided["median"] > 0  # a lower kill rate avoids deaths in every paired replication here
    m = json.loads((out / "manifest.json").read_text())
    assert m["kind"] == "compare" and m["baseline"] == "baseline"
    assert [s["config"]["run"]["days"] for s in m["scenarios"]] == [30, 30]
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert ts["scenario"].unique().tolist() == ["baseline", "fewer_deaths"]


def test_compare_adds_an_unlisted_baseline_and_refuses_a_single_scenario(tmp_path):
    r = invoke(["compare", "baseline", "--model", FAKE, "--executor", "inline", "--out", tmp_path / "x"])
    assert r.exit_code == 1 and "at least two scenarios" in r.stderr
    twin = tmp_path / "twin.yaml"
    twin.write_text("name: twin\ndescription: twin\nextends: baseline\n")
    out = tmp_path / "y"
    r = invoke(["compare", twin, "--baseline", "baseline", "--days", "5", "-n", "2", "--model", FAKE,
                "--executor", "inline", "--no-plots", "--out", out])
    assert r.exit_code == 0, r.stderr
    m = json.loads((out / "manifest.json").read_text())
    assert [s["name"] for s in m["scenarios"]] == ["baseline", "twin"] and m["baseline"] == "baseline"


def test_compare_refuses_two_scenarios_with_the_same_name(tmp_path):
    clash = tmp_path / "clash.yaml"
    clash.write_text("name: baseline\ndescription: same name\nextends: baseline\n")
    r = invoke(["compare", "baseline", clash, "--model", FAKE, "--executor", "inline", "--out", tmp_path / "z"])
    assert r.exit_code == 1 and "named 'baseline'" in r.stderr
    # the file whose name: is not its own is the one to rename (a copy made with show)
    assert f"give each its own name (e.g. name: clash in {clash})" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "z").exists()


def test_compare_resume_restores_the_same_comparison(tmp_path):
    twin = tmp_path / "cheaper.yaml"
    twin.write_text("name: cheaper\ndescription: variant\nextends: baseline\nfront:\n  kia_rate: 0.0003\n")
    out = tmp_path / "cmp"
    r = invoke(["compare", "baseline", twin, "--days", "30", "-n", "3", "--model", FAKE, "--executor", "inline",
                "--no-plots", "--out", out])
    assert r.exit_code == 0, r.stderr
    before = (out / "comparison.csv").read_bytes()
    (out / "replications" / "cheaper" / "rep-000001.parquet").unlink()
    for name in ("timeseries.parquet", "comparison.csv", "summary.csv"):
        (out / name).unlink()
    r = invoke(["compare", "--resume", "--out", out, "--executor", "inline", "--no-plots", "--model", FAKE])
    assert r.exit_code == 0, r.stderr
    assert (out / "comparison.csv").read_bytes() == before
    assert json.loads((out / "manifest.json").read_text())["sessions"][-1]["to_run"] == 1


def test_an_edited_comparison_table_is_refused_and_resume_rebuilds_it(tmp_path):
    # the hostile review: comparison.csv had no checksum, and the dashboard showed edited cells
    from sim.dashboard.results import headline
    from sim.errors import ResultsError

    out = tmp_path / "cmp"
    args = ["--days", "12", "-n", "2", "--model", FAKE, "--executor", "inline", "--no-plots"]
    assert invoke(["compare", "baseline", "caplan", *args, "--out", out]).exit_code == 0
    m = json.loads((out / "manifest.json").read_text())
    assert set(m["checksums"]) == {"timeseries.parquet", "summary.csv", "comparison.csv"}
    good = headline(out)
    lines = (out / "comparison.csv").read_text().splitlines()
    lines[1] = lines[1].replace(",", ",-777777,", 1)
    (out / "comparison.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ResultsError, match="comparison.csv is not the table this run wrote"):
        headline(out)
    assert invoke(["compare", "--resume", "--out", out, *args[4:]]).exit_code == 0
    assert headline(out) == good


def test_compare_prints_and_keeps_the_set_values_it_ran_with(tmp_path):
    # the printed tables did not say that --set closed Finland; only the manifest's command line did
    out = tmp_path / "cmp"
    args = ["--days", "12", "-n", "2", "--model", FAKE, "--executor", "inline", "--no-plots"]
    r = invoke(["compare", "closed_doors", "baseline", "--set", "hosts.finland.draftee_policy=closed", *args,
                "--out", out])
    assert r.exit_code == 0, r.stderr
    assert "with --set hosts.finland.draftee_policy=closed" in r.stdout
    assert "minus the baseline's ('closed_doors')" in " ".join(r.stdout.split())  # which baseline, when one is named so
    assert json.loads((out / "manifest.json").read_text())["sets"] == ["hosts.finland.draftee_policy=closed"]
    (out / "comparison.csv").unlink()
    r = invoke(["compare", "--resume", "--out", out, *args[4:]])
    assert r.exit_code == 0, r.stderr
    assert json.loads((out / "manifest.json").read_text())["sets"] == ["hosts.finland.draftee_policy=closed"]
    assert "with --set hosts.finland.draftee_policy=closed" in r.stdout


def test_coarse_or_thin_runs_carry_a_caution_line():
    # a run coarser than scale 10 or with fewer than 5 replications says so under its tables;
    # the README's run (scale 10, 10 replications) does not
    from sim.analysis.headline import caution_line

    def manifest(scale: int, reps: int) -> dict:
        return {"replications": reps, "scenarios": [{"config": {"population": {"scale": s}}} for s in (10, scale)]}

    assert caution_line(manifest(10, 10)) is None
    coarse = caution_line(manifest(200, 10))
    assert coarse is not None and coarse.startswith("note: at scale 200") and "replication" not in coarse
    thin = caution_line(manifest(10, 2))
    assert thin == ("note: with 2 replication(s) the 90% interval is interpolated between their values "
                    "(inside their range), not an estimate of the spread")
    # what the note says of the printed interval (np.quantile, linear): inside the two values' range
    lo, hi = np.quantile([0.0, 100.0], [0.05, 0.95])
    assert (lo, hi) == (5.0, 95.0)
    assert caution_line({"scenarios": []}) is None


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1.0, -2.5, 3.25, 1e9]) | st.floats(-1e6, 1e6),
                         min_size=0, max_size=7), min_size=1, max_size=6),
       st.sampled_from(["linear", "inverted_cdf"]), st.booleans())
def test_summarize_equals_numpy_quantiles_of_each_group(groups, method, mean):
    # the grouped summary (one sorted array cut into groups) gives, per group, numpy's quantiles
    # of its non-NaN values, whatever the order of the rows
    from sim.analysis.compare import _summarize

    rows = [(f"g{g}", v) for g, vals in enumerate(groups) for v in vals]
    if not rows:
        return
    long = pd.DataFrame(rows, columns=["key", "value"]).sample(frac=1.0, random_state=len(rows))
    got = _summarize(long, ["key"], "value", method=method, mean=mean).set_index("key")
    for g, vals in enumerate(groups):
        if not vals:
            continue
        v = long.loc[long["key"] == f"g{g}", "value"].to_numpy(float)  # in row order, as the mean sums them
        v = v[~np.isnan(v)]
        row = got.loc[f"g{g}"]
        assert row["n"] == v.size
        if v.size:
            want = np.quantile(v, [0.5, 0.05, 0.95], method=method)
            np.testing.assert_array_equal(row[["median", "p05", "p95"]].to_numpy(float), want)
            if mean:
                with np.errstate(invalid="ignore"):
                    np.testing.assert_array_equal(row["mean"], np.mean(v))
        else:
            assert row[["median", "p05", "p95"]].isna().all()


def test_summarize_leaves_out_rows_without_a_key():
    # as pandas' groupby does: a row whose key is missing belongs to no group
    from sim.analysis.compare import _summarize

    long = pd.DataFrame({"key": ["a", "a", None, "b"], "value": [1.0, 2.0, 30.0, 4.0]})
    got = _summarize(long, ["key"], "value")
    assert got["key"].tolist() == ["a", "b"] and got["n"].tolist() == [2, 1]
    assert _summarize(long.iloc[2:3], ["key"], "value").empty
