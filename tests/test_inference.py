"""Calibration targets (sim.inference.targets) and ABC-SMC calibration (sim.inference.abc)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.inference import targets as tg


def _table(days, **cols):
    return pd.DataFrame({"day": np.asarray(days), **{k: np.asarray(v, dtype=float) for k, v in cols.items()}})


# ------------------------------------------------------------------ loading
def test_shipped_csvs_are_the_shared_data():
    from pathlib import Path

    shared = Path("/work/shared/data")
    if not shared.exists():
        pytest.skip("shared data folder not present")
    for f in (tg.DEFECTION_CSV, tg.CALIBRATION_CSV):
        assert f.read_bytes() == (shared / f.name).read_bytes()


def test_only_target_rows_are_kept_with_their_bounds():
    ts = tg.TargetSet.from_csvs()
    p = ts.points
    assert len(p) == 42
    assert not p["quantity"].str.startswith(("policy_", "prior_", "salience_", "offer_ukraine")).any()
    assert set(p["bound"]) == {"exact", "approx", "lower"}
    # calibration_2022.csv has no bound column: its targets are approx
    assert set(p.loc[p["source_file"] == "calibration_2022.csv", "bound"]) == {"approx"}
    s = ts.series()["hotline_requests_cumulative"]
    np.testing.assert_array_equal(s.days, [13, 29, 56, 163, 225, 295, 331])
    assert list(s.bounds) == ["lower", "lower", "lower", "exact", "lower", "approx", "exact"]


def test_every_target_is_mapped_and_new_columns_are_listed():
    qs = tg.default_quantities("ukraine_amnesty")
    ts = tg.TargetSet.from_csvs()
    assert set(ts.points["quantity"]) <= set(qs)
    new = tg.new_output_columns(qs)
    for col in ("offer_requests_cum__ukraine_amnesty", "awol_court_cases_cum", "captured_by_enemy_cum",
                "refusal_court_cases_cum"):
        assert col in new
    assert "defected_cum__ukraine_amnesty" not in new  # the model has it already
    unmapped = {q for q, v in qs.items() if v.column is None}
    assert unmapped == {"desertion_requests_monthly_idite_lesom", "front_strength",
                        "emigration_before_mobilization", "deaths_per_10000_men_tuva"}
    assert set(ts.mapped().points["quantity"]).isdisjoint(unmapped)


def test_within_drops_points_outside_the_run():
    ts = tg.TargetSet.from_csvs().mapped()
    short = ts.within(-4, 60)
    assert short.points["day"].max() <= 60
    # a window is kept only if its end is inside the run: Oct-Dec monthly mean ends on day 101
    assert "hotline_requests_monthly" not in set(short.points["quantity"])
    assert "hotline_requests_monthly" in set(ts.within(-4, 101).points["quantity"])


def test_bad_files_and_frames_raise(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("day,quantity,value,bound,kind,note\n1,a,2,upper,target,\n")
    with pytest.raises(ValueError, match="bound"):
        tg.read_targets(f)
    with pytest.raises(ValueError, match="mapping"):
        tg.TargetSet.from_frame(pd.DataFrame({"quantity": ["zz"], "day": [1], "value": [1.0]}), {})


# ------------------------------------------------------------------ model values
def test_model_values_level_daily_window_ratio():
    days = np.arange(-4, 301)
    cum = (days + 4) * 10.0  # 0 on day -4, then 10 a day
    table = _table(days, req=cum, a=np.full(days.size, 30.0), b=np.full(days.size, 120.0))
    qs = {
        "lvl": tg.Quantity("req", "level"),
        "dly": tg.Quantity("req", "daily"),
        "mon": tg.Quantity("req", "window", windows={70: tg.Window(9, 101, 3.0), 191: tg.Window(160, 191)}),
        "pre": tg.Quantity("req", "window", windows={101: tg.Window(-264, 101, 1.0, pre_rate=2.0)}),
        "rat": tg.Quantity("a", "ratio", denominator=("a", "b")),
        "cmp": tg.Quantity("a", "ratio", denominator=("b",), complement=True),
    }
    pts = pd.DataFrame({"quantity": ["lvl", "dly", "mon", "mon", "pre", "rat", "cmp"],
                        "day": [100, 50, 70, 191, 101, 10, 10], "value": [1.0] * 7})
    ts = tg.TargetSet.from_frame(pts, qs)
    got = dict(zip(ts.keys, ts.model_values(table), strict=True))
    assert got["lvl@100"] == 1040.0
    assert got["dly@50"] == 10.0
    assert got["mon@70"] == pytest.approx(920.0 / 3)  # days 10..101
    assert got["mon@191"] == 310.0  # days 161..191
    # 2022 before the run (days -263..-5, 259 days) at 2 a day, plus the run's days -4..101
    assert got["pre@101"] == pytest.approx(259 * 2.0 + 1050.0)
    assert got["rat@10"] == pytest.approx(0.2)
    assert got["cmp@10"] == pytest.approx(0.75)


def test_missing_columns_are_reported():
    ts = tg.TargetSet.from_csvs().mapped().within(-4, 60)
    table = _table(np.arange(-4, 61), mobilized_cum=np.zeros(65))
    miss = ts.missing_columns(table)
    assert "offer_requests_cum__ukraine_amnesty" in miss and "mobilized_cum" not in miss
    with pytest.raises(KeyError):
        ts.model_values(table)


# ------------------------------------------------------------------ distance, ARD, baseline
def _synthetic():
    pts = pd.DataFrame({
        "quantity": ["cum"] * 4 + ["floor"] * 2 + ["rate"] * 3,
        "day": [10, 20, 30, 40, 15, 35, 5, 6, 7],
        "value": [100.0, 220.0, 290.0, 400.0, 50.0, 80.0, 7.0, 9.0, 8.0],
        "bound": ["approx", "exact", "approx", "approx", "lower", "lower", "approx", "approx", "approx"],
    })
    qs = {"cum": tg.Quantity("c", "level", naive="linear", t0=0),
          "floor": tg.Quantity("f", "level", naive="value", naive_value=10.0),
          "rate": tg.Quantity("r", "daily", naive="mean")}
    return tg.TargetSet.from_frame(pts, qs)


def test_lower_bound_is_one_sided_and_exact_is_relative():
    ts = _synthetic()
    m = ts.values.copy()
    assert ts.distance(m) == 0.0
    fl = (ts.points["quantity"] == "floor").to_numpy()
    above = m.copy()
    above[fl] *= 10  # above a lower bound: no cost
    assert ts.distance(above) == 0.0
    below = m.copy()
    below[fl] *= 0.5  # half the bound: 0.5 per point
    assert ts.series_ard(below)["floor"] == pytest.approx(0.5)
    over = m.copy()
    over[~fl] *= 1.2  # 20% off on two-sided points, either direction
    under = m.copy()
    under[~fl] *= 0.8
    assert ts.series_ard(over)["cum"] == pytest.approx(0.2)
    assert ts.series_ard(under)["cum"] == pytest.approx(0.2)
    # each series counts once, whatever its number of points
    assert ts.distance(over) == pytest.approx((0.2 + 0.0 + 0.2) / 3)


def test_weights_and_zero_data():
    ts = _synthetic()
    w = tg.TargetSet(ts.points, tg.with_quantity(ts.quantities, "cum", weight=3.0))
    m = ts.values.copy()
    m[(ts.points["quantity"] == "cum").to_numpy()] *= 1.5
    assert w.distance(m) == pytest.approx(3 * 0.5 / 5)
    with pytest.raises(ValueError):
        tg.point_penalty(np.ones(1), np.zeros(1), np.array(["approx"]))
    # a NaN model value is maximal cost, not silently ignored
    assert tg.point_penalty(np.array([np.nan]), np.ones(1), np.array(["approx"]))[0] >= 1e6


def test_naive_baselines_and_report():
    ts = _synthetic()
    nv = ts.naive_values()
    got = dict(zip(ts.keys, nv, strict=True))
    # linear from 0 on day 0 through the last point (400 on day 40)
    assert got["cum@10"] == 100.0 and got["cum@20"] == 200.0 and got["cum@40"] == 400.0
    assert got["floor@15"] == 10.0
    assert got["rate@5"] == pytest.approx(8.0)  # the series mean
    rep = ts.report(ts.values)
    assert rep.loc["cum", "ARD_naive"] == pytest.approx((0 + 20 / 220 + 10 / 290 + 0) / 4)
    assert rep.loc["floor", "ARD_naive"] == pytest.approx((40 / 50 + 70 / 80) / 2)
    assert rep["beats_naive"].all()
    assert not ts.report(nv)["beats_naive"].any()


def test_scaled_distance_measures_each_series_in_units_of_its_naive_baseline():
    ts = _synthetic()
    pts = pd.concat([ts.points, pd.DataFrame({"quantity": ["one"], "day": [3], "value": [5.0], "bound": ["approx"]})],
                    ignore_index=True)
    ts = tg.TargetSet.from_frame(pts, {**ts.quantities, "one": tg.Quantity("x", "level", naive="mean")})
    scaled = ts.scaled_by_naive()
    naive = ts.report(ts.values)["ARD_naive"]
    factors = {q: scaled.quantities[q].weight / ts.quantities[q].weight for q in ("cum", "floor", "rate", "one")}
    for q in ("cum", "floor", "rate"):
        assert factors[q] == pytest.approx(1 / naive[q])
    # no baseline: weighted as a typical series (the median factor of the others)
    assert factors["one"] == pytest.approx(np.median([1 / naive[q] for q in ("cum", "floor", "rate")]))
    # the naive baseline itself scores 1 on every series it defines (the 'one' point made exact)
    m = ts.naive_values()
    m[-1] = 5.0
    ard = scaled.series_ard(m)
    w = np.array([scaled.quantities[q].weight for q in ard.index])
    assert (w * ard.to_numpy())[:3] == pytest.approx(np.ones(3))
    # the unscaled distance is untouched
    assert ts.distance(m) == pytest.approx(ard[["cum", "floor", "rate"]].sum() / 4)
    # scaled-max: the worst series in units of its baseline; the baseline itself scores 1
    assert scaled.distance(m, "max") == pytest.approx(1.0)
    # below 1 exactly when every series with a baseline beats it: halve one series' errors
    # and the maximum stays 1; halve them all and it falls to 0.5
    data, half = ts.values, ts.values + (m - ts.values) / 2
    one_better = np.where(ts.points["quantity"].to_numpy() == "cum", half, m)
    assert scaled.distance(one_better, "max") == pytest.approx(1.0)
    assert scaled.distance(half, "max") == pytest.approx(0.5)
    assert scaled.distance(data, "max") == 0.0
    with pytest.raises(ValueError, match="norm"):
        scaled.distance(m, "median")


def test_single_point_series_without_reference_has_no_baseline():
    pts = pd.DataFrame({"quantity": ["one"], "day": [3], "value": [5.0]})
    ts = tg.TargetSet.from_frame(pts, {"one": tg.Quantity("x", "level", naive="mean")})
    assert np.isnan(ts.naive_values()[0])
    assert pd.isna(ts.report(np.array([5.0]))["beats_naive"].iloc[0])


def test_real_targets_against_the_current_model_table():
    """The mapping reads every existing column of a real (short, coarse) history_2022 run."""
    from sim.config.loader import load_scenario
    from sim.simulate import run_replication

    sc = load_scenario("history_2022", ["population.scale=1000", "run.days=40"])
    table = run_replication(sc, 3)
    ts = tg.TargetSet.from_csvs().mapped().within(-4, 40)
    have = ts.subset([all(c in table.columns for c in ts.quantities[q].columns()) for q in ts.points["quantity"]])
    assert {"mobilized_cumulative", "georgia_entries_daily", "finland_entries_cumulative",
            "mobilized_deployed_share"} <= set(have.points["quantity"])
    m = have.model_values(table)
    assert np.all(np.isfinite(m)) and np.all(m >= 0)
    d = have.distance(m)
    assert 0.0 <= d < 1e6


# ------------------------------------------------------------------ ABC-SMC (pyabc)
def test_priors_spec_and_keys():
    from sim.inference import abc as A

    ps = A.priors_from_spec([{"path": "front.awol_rate", "distribution": "loguniform", "low": 1e-4, "high": 1e-2},
                             {"path": "defection.opportunity_rate", "distribution": "uniform", "low": 0.0, "high": 0.5,
                              "source": "assumption"}])
    assert ps[0].key == "log10__front__awol_rate" and ps[1].key == "defection__opportunity_rate"
    assert ps[0].value(-3.0) == pytest.approx(1e-3)
    assert ps[0].quantile(0.5) == pytest.approx(1e-3)
    with pytest.raises(ValueError):
        A.Prior("x.y", "loguniform", 0.0, 1.0)
    with pytest.raises(ValueError):
        A.Prior("x.y", "uniform", 1.0, 1.0)
    with pytest.raises(ValueError):
        A.priors_from_spec([{"path": "a.b", "distribution": "uniform", "low": 0, "high": 1}] * 2)
    with pytest.raises(TypeError):
        A.priors_from_spec([{"path": "a.b", "distribution": "uniform", "low": 0, "high": 1, "mean": 3}])


def test_weighted_quantile():
    from sim.inference.abc import weighted_quantile

    v = np.array([3.0, 1.0, 2.0, 10.0])
    assert weighted_quantile(v, np.ones(4), 0.5) == pytest.approx(2.5)
    # all the weight on one value
    assert weighted_quantile(v, np.array([0, 0, 0, 1.0]), [0.05, 0.95]) == pytest.approx([10.0, 10.0])
    with pytest.raises(ValueError):
        weighted_quantile(v, np.zeros(4), 0.5)


def test_targets_the_model_cannot_produce_are_refused(tmp_path):
    from sim.inference import abc as A

    ts = tg.TargetSet.from_csvs().mapped()
    q = tg.with_quantity(ts.quantities, "hotline_requests_cumulative", column="offer_requests_cum__nobody")
    ts = tg.TargetSet(ts.points, q)
    with pytest.raises(ValueError, match="offer_requests_cum__nobody"):
        A.calibrate("history_2022", [A.Prior("front.awol_rate", "loguniform", 1e-4, 1e-2)], ts, tmp_path,
                    populations=1, particles=2, scale=2000, days=40)


TRUTH = {"defection.opportunity_rate": 0.1, "front.awol_rate": 0.01}
# more soldiers who hear of the offer and consider it (and fewer caught) than the calibrated
# defaults, so that the two rates show in 40 days at this coarse scale
BASE = ("defection.private_mean=4.0", "offers.ukraine_amnesty.publicity=0.02",
        "kremlin.counter_defection.detection_base=0.25")


def _synthetic_targets(scale: int, days: int, obs_days: list[int]) -> tg.TargetSet:
    """Observations simulated by the current model at TRUTH (mean of two replications)."""
    from sim.inference.abc import ScenarioSimulator

    qs = {c: tg.Quantity(c, "level") for c in ("defected_cum", "caught_cum", "awol_cum")}
    pts = pd.DataFrame({"quantity": [q for q in qs for _ in obs_days], "day": obs_days * len(qs), "value": 1.0})
    sim = ScenarioSimulator("history_2022", [], tg.TargetSet.from_frame(pts, qs), scale, days, BASE)
    obs = np.mean([sim.simulate(TRUTH, s) for s in (101, 102)], axis=0)
    assert np.all(obs > 0)
    return tg.TargetSet.from_frame(pts.assign(value=obs), qs)


@pytest.mark.slow
def test_abc_recovers_known_parameters_and_resumes(tmp_path):
    """Recovery: data simulated at known values of two rates; both lie in the posterior's
    90% interval, and the AWOL rate's interval is narrower than the prior's. The run is
    made in two calls: one population, then a resume from the database to the second."""
    import json

    from sim.inference import abc as A

    scale, days = 2000, 40
    ts = _synthetic_targets(scale, days, [20, 40])
    priors = [A.Prior("defection.opportunity_rate", "loguniform", 0.01, 0.5),
              A.Prior("front.awol_rate", "loguniform", 0.0005, 0.05)]
    kw = {"particles": 24, "seed": 3, "scale": scale, "days": days, "base_overrides": BASE,
          "initial_epsilon": float("inf")}
    lines: list[str] = []
    A.calibrate("history_2022", priors, ts, tmp_path, populations=1, echo=lines.append, **kw)
    with pytest.raises(FileExistsError):
        A.calibrate("history_2022", priors, ts, tmp_path, populations=2, **kw)
    path = A.calibrate("history_2022", priors, ts, tmp_path, populations=2, resume=True, echo=lines.append, **kw)
    assert [ln.split(":")[0] for ln in lines] == ["population 1/1", "population 2/2"]
    post = A.load_posterior(path)
    assert list(post.columns) == ["defection.opportunity_rate", "front.awol_rate", "weight"]
    assert len(post) == 24
    man = json.loads((tmp_path / "manifest.json").read_text())
    assert man["populations"] == 2 and man["particles"] == 24
    assert man["simulations"] == sum(man["simulations_per_population"]) >= 48
    assert man["epsilon"]["values"][0] is None and man["epsilon"]["values"][1] > 0  # inf, then a quantile
    assert {f["file"] for f in man["data_files"]} == {"defection_2022_2023.csv", "calibration_2022.csv"}
    for p in priors:
        lo, hi = A.weighted_quantile(post[p.path].to_numpy(), post["weight"].to_numpy(), [0.05, 0.95])
        assert lo <= TRUTH[p.path] <= hi, (p.path, lo, hi)
    lo, hi = A.weighted_quantile(post["front.awol_rate"].to_numpy(), post["weight"].to_numpy(), [0.05, 0.95])
    prior_width = np.log10(priors[1].quantile(0.95) / priors[1].quantile(0.05))
    assert np.log10(hi / lo) < prior_width
    # posterior predictive bands bracket the data they were fitted to
    bands = A.posterior_predictive(post, "history_2022", ts, k=6, scale=scale, days=days, base_overrides=BASE)
    assert list(bands.columns) == ["quantity", "day", "value", "bound", "q5", "q50", "q95"]
    assert np.all(bands["q5"] <= bands["q95"])
    assert ((bands["value"] >= bands["q5"]) & (bands["value"] <= bands["q95"])).mean() >= 0.5


def test_single_core_calibration_is_reproducible(tmp_path):
    """Same seed, one worker: the same particles, weights and simulation count."""
    import json

    from sim.inference import abc as A

    qs = {"awol_cum": tg.Quantity("awol_cum", "level")}
    ts = tg.TargetSet.from_frame(pd.DataFrame({"quantity": ["awol_cum"], "day": [10], "value": [20_000.0]}), qs)
    pri = [A.Prior("front.awol_rate", "loguniform", 1e-3, 5e-2)]
    kw = {"populations": 2, "particles": 4, "seed": 5, "scale": 5000, "days": 10, "base_overrides": BASE,
          "initial_epsilon": float("inf"), "echo": lambda _: None}
    runs = [A.calibrate("history_2022", pri, ts, tmp_path / name, **kw) for name in ("a", "b")]
    a, b = (A.load_posterior(p) for p in runs)
    pd.testing.assert_frame_equal(a, b)
    sims = [json.loads((tmp_path / n / "manifest.json").read_text())["simulations"] for n in ("a", "b")]
    assert sims[0] == sims[1]
    c = A.load_posterior(A.calibrate("history_2022", pri, ts, tmp_path / "c", **{**kw, "seed": 6}))
    assert not np.allclose(a["front.awol_rate"].to_numpy(), c["front.awol_rate"].to_numpy())


def test_named_target_sets_and_the_report_reads_them_back():
    from sim.inference.posterior import target_set_name

    d, files = tg.TargetSet.named("defection")
    q = set(d.points["quantity"])
    assert set(tg.read_targets(tg.DEFECTION_CSV)["quantity"]) <= q
    assert "mobilized_cumulative" in q and "finland_entries_daily" not in q
    a, _ = tg.TargetSet.named("all")
    assert q < set(a.points["quantity"]) and files == (tg.DEFECTION_CSV, tg.CALIBRATION_CSV)
    with pytest.raises(ValueError, match="not one of defection, all"):
        tg.TargetSet.named("borders")
    assert target_set_name({"target_set": "all"}) == "all"
    keys = lambda ts: ts.mapped().keys  # noqa: E731
    assert target_set_name({"target_points": keys(d)}) == "defection"
    assert target_set_name({"target_points": keys(a)}) == "all"


def test_width_vs_prior_is_one_for_the_prior_and_smaller_when_the_data_narrow_it():
    # a posterior equal to its prior has width_vs_prior about 1 (on the prior's own scale,
    # log10 for a log-uniform prior); one squeezed into a tenth of the range, about 0.1
    from sim.inference.report import posterior_table

    rng = np.random.default_rng(0)
    n = 20_000
    manifest = {"priors": [
        {"path": "a.lin", "distribution": "uniform", "low": 0.0, "high": 10.0, "source": "test"},
        {"path": "a.log", "distribution": "loguniform", "low": 1e-5, "high": 1e-1, "source": "test"},
        {"path": "a.narrow", "distribution": "uniform", "low": 0.0, "high": 10.0, "source": "test"}]}
    post = pd.DataFrame({"a.lin": rng.uniform(0, 10, n), "a.log": 10 ** rng.uniform(-5, -1, n),
                         "a.narrow": rng.uniform(4.5, 5.5, n), "weight": np.full(n, 1 / n)})
    width = posterior_table(post, manifest).set_index("parameter")["width_vs_prior"]
    assert width["a.lin"] == pytest.approx(1.0, abs=0.02)
    assert width["a.log"] == pytest.approx(1.0, abs=0.02)
    assert width["a.narrow"] == pytest.approx(0.1, abs=0.01)
