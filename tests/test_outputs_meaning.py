"""Outputs that mean their labels (issue 12, item 4): border admissions versus border
traffic, the protest index, the cost per soldier removed, and the run's headline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers_runner import FAKE, invoke

from sim.analysis.compare import COST_PER_SOLDIER, comparison_table
from sim.analysis.headline import NO_REDUCTION, SAVES_MONEY, cost_label, format_cost, run_summary
from sim.config import load_scenario
from sim.plots.data import FLOW_PREFIXES, LABELS, title_for
from sim.simulate import run_replication


def run(name: str, *overrides: str, seed: int = 1, days: int = 120) -> tuple[pd.DataFrame, object]:
    sc = load_scenario(name, ["population.scale=200", "run.check_ledger=true", *overrides])
    return run_replication(sc, seed, days=days).set_index("day"), sc


@pytest.mark.parametrize("name", ["baseline", "draftee_asylum", "closed_doors", "grand_bargain"])
def test_admitted_men_by_host_never_exceed_fled(name):
    df, sc = run(name)
    admitted = df[[f"admitted_cum__{h.name}" for h in sc.hosts]]
    fled = df["fled_cum"]
    # every day, every host, and all hosts together: men admitted at the border from Russia
    assert (admitted.le(fled, axis=0)).all().all()
    assert np.allclose(admitted.sum(axis=1), fled)
    # border statistics count more: every admitted man crosses with his companions
    for h in sc.hosts:
        assert (df[f"entries_cum__{h.name}"] >= df[f"admitted_cum__{h.name}"]).all()
    if name == "closed_doors":
        assert fled.max() == 0 and admitted.to_numpy().max() == 0
    else:
        assert fled.iloc[-1] > 0


def test_baltics_poland_admits_no_draftees_while_closed():
    df, _ = run("baseline", days=60)  # closed to draftees in the baseline
    assert (df["admitted_cum__baltics_poland"] == 0).all()
    assert df["entries_cum__baltics_poland"].iloc[-1] > 0  # its background traffic still counts
    # open (draftee_asylum) until it closes on day 40: admissions grow, then stop
    df, _ = run("draftee_asylum", "hosts.baltics_poland.policy_changes=[{day: 40, draftee_policy: closed}]", days=70)
    adm = df["admitted_cum__baltics_poland"]
    assert adm.loc[39] > 0
    assert (adm.loc[40:] == adm.loc[39]).all()


def test_flow_plot_by_host_uses_admissions_and_protest_is_an_index():
    assert "admitted_cum__" in FLOW_PREFIXES and "entries_cum__" not in FLOW_PREFIXES
    for metric in ("protest_active", "arrests_cum"):
        title, unit = title_for(metric)
        assert "index" in unit and "people" not in unit and "index" in title.lower()
        assert "ODD.md" in LABELS[metric][0]  # where the definition is


def _pair(days: int = 60) -> pd.DataFrame:
    frames = []
    for name in ("baseline", "caplan"):
        # many chances to act, so Caplan's offer removes soldiers within 60 days
        sc = load_scenario(name, ["population.scale=200", "defection.opportunity_rate=0.01"])
        for rep, seed in enumerate((11, 12)):
            frames.append(run_replication(sc, seed, days=days).assign(scenario=name, replication=rep))
    return pd.concat(frames, ignore_index=True)


def test_cost_per_soldier_removed_equals_the_hand_computation():
    ts = _pair()
    day = 60
    comp = comparison_table(ts, "baseline", days=[day])
    got = comp[(comp["metric"] == COST_PER_SOLDIER) & (comp["day"] == day)].iloc[0]
    at = ts[ts["day"] == day].set_index(["scenario", "replication"])
    ratios = []
    for rep in (0, 1):
        b, o = at.loc[("baseline", rep)], at.loc[("caplan", rep)]
        spent = (o["offer_cost_usd_cum"] + o["resettlement_usd_cum"]) - (b["offer_cost_usd_cum"] + b["resettlement_usd_cum"])
        removed = b["front_effective"] - o["front_effective"]  # the headline table's unit
        assert removed > 0 and spent > 0
        ratios.append(spent / removed)
    assert got["n"] == 2
    assert got["median"] == pytest.approx(np.quantile(ratios, 0.5, method="inverted_cdf"))
    assert got["p05"] == pytest.approx(min(ratios)) and got["p95"] == pytest.approx(max(ratios))
    # resettlement is counted: the offer payments alone give a smaller number
    offer_only = [at.loc[("caplan", r), "offer_cost_usd_cum"] / (at.loc[("baseline", r), "front_effective"]
                                                                 - at.loc[("caplan", r), "front_effective"]) for r in (0, 1)]
    assert got["median"] > np.quantile(offer_only, 0.5, method="inverted_cdf")


def test_no_reduction_prints_not_applicable_and_the_label_names_day_and_unit():
    assert format_cost(np.inf, np.inf, np.inf) == NO_REDUCTION
    assert format_cost(2e4, 1e4, np.inf) == f"20k [10k, {NO_REDUCTION}]"
    assert format_cost(np.nan, np.nan, np.nan) == "-"
    # spending less than the baseline is not a negative price per soldier
    assert format_cost(-4470.0, -9e3, 2e3) == SAVES_MONEY
    assert format_cost(1e3, -2e3, 5e3) == "1k [saves money, 5k]"
    assert cost_label(["front_effective", "kia_cum"], 180) == "USD per soldier-equivalent removed (day 180)"
    assert cost_label(["front_strength"], 30) == "USD per soldier removed (day 30)"
    # a scenario identical to the baseline removes no one: inf in the table, never a number
    rows = [{"scenario": s, "replication": r, "day": 30, "front_effective": 100.0 + r, "offer_cost_usd_cum": 5.0}
            for s in ("baseline", "twin") for r in range(3)]
    comp = comparison_table(pd.DataFrame(rows), "baseline")
    cost = comp[comp["metric"] == COST_PER_SOLDIER].iloc[0]
    assert np.isinf(cost["median"]) and format_cost(cost["median"], cost["p05"], cost["p95"]) == NO_REDUCTION


def _compare_with_twin(tmp_path, days: int, n: int):
    """compare baseline against a copy of itself under another name (stand-in model); the result and folder."""
    twin = tmp_path / "twin.yaml"
    twin.write_text("name: twin\ndescription: baseline under another name\nextends: baseline\n")
    out = tmp_path / "cmp"
    r = invoke(["compare", "baseline", twin, "--days", str(days), "-n", str(n), "--model", FAKE, "--executor", "inline",
                "--no-plots", "--out", out])
    assert r.exit_code == 0, r.stderr
    return r, out


def test_compare_headline_names_the_day_and_never_prints_inf(tmp_path):
    r, _ = _compare_with_twin(tmp_path, 40, 3)
    assert "USD per soldier-equivalent removed (day 40)" in r.stdout  # the last day, which the table always reports
    assert NO_REDUCTION in r.stdout and " inf" not in r.stdout


def test_run_prints_a_headline_summary(tmp_path):
    out = tmp_path / "run"
    r = invoke(["run", "baseline", "--days", "40", "-n", "3", "--model", FAKE, "--executor", "inline", "--no-plots",
                "--out", out])
    assert r.exit_code == 0, r.stderr
    assert "day 40: median [5-95% of 3 replications]" in r.stdout
    ts = pd.read_parquet(out / "timeseries.parquet")
    med = float(np.median(ts.loc[ts["day"] == 40, "fled_cum"]))
    from sim.plots import compact

    line = next(x for x in r.stdout.splitlines() if "men who fled abroad" in x)
    assert line.split()[4] == compact(med)
    assert run_summary(ts.iloc[0:0]) == []


def test_compare_headline_prints_a_saves_money_bound_not_as_markup(tmp_path, capsys):
    # "[saves money, 136k]" starts like a rich style tag: printed unescaped, rich dropped it
    from sim.cli.headline import print_headline

    _, out = _compare_with_twin(tmp_path, 20, 2)
    comp = pd.read_csv(out / "comparison.csv")
    cost = (comp["metric"] == COST_PER_SOLDIER) & (comp["scenario"] == "twin") & (comp["day"] == comp["day"].max())
    comp.loc[cost, ["median", "p05", "p95"]] = [10_200.0, -3_000.0, 136_000.0]
    comp.to_csv(out / "comparison.csv", index=False)
    capsys.readouterr()
    print_headline(out)
    assert "10.2k [saves money, 136k]" in capsys.readouterr().out
