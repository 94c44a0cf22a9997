"""Exit and voice, host security, costs and reversals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.config import load_scenario
from sim.mechanisms.protest import exit_voice_shift
from sim.simulate import run_replication

ALL_HOSTS = ["georgia", "kazakhstan", "finland", "mongolia", "visa_free", "baltics_poland", "eu_west"]
CLOSED = [f"hosts.{h}.draftee_policy=closed" for h in ALL_HOSTS]


def run(name: str, *overrides: str, seed: int = 2, days: int = 40) -> pd.DataFrame:
    sc = load_scenario(name, ["population.scale=200", "run.check_ledger=true", *overrides])
    return run_replication(sc, seed, days=days).set_index("day")


def protest_total(*overrides: str) -> float:
    return float(np.mean([run("baseline", *overrides, seed=s)["protest_active"].sum() for s in (1, 2, 3)]))


def test_link_shapes():
    assert exit_voice_shift("substitute", 0.02, 1, 0.02, 0.02) == pytest.approx(-0.1)
    assert exit_voice_shift("complement", 0.02, 1, 0.02, 0.02) == pytest.approx(0.1)
    assert exit_voice_shift("inverted_u", 0.02, 1, 0.02, 0.02) == pytest.approx(0.1)
    assert exit_voice_shift("inverted_u", 0.06, 1, 0.02, 0.02) < 0
    assert exit_voice_shift("none", 0.5, 3, 0.02, 0.02) == 0


def test_substitute_more_exit_less_protest():
    link = ["protest.exit_voice.link=substitute", "protest.exit_voice.strength=2"]
    assert protest_total(*link) < protest_total(*link, *CLOSED)


def test_complement_more_exit_more_protest():
    link = ["protest.exit_voice.link=complement", "protest.exit_voice.strength=2"]
    assert protest_total(*link) > protest_total(*link, *CLOSED)


def test_perfect_screening_admits_no_infiltrator():
    sets = [f"hosts.{h}.screening_catch_rate=1" for h in ALL_HOSTS]
    df = run("security_hawk", *sets)
    assert df["fled_cum"].iloc[-1] > 0 and df["infiltrators_admitted_cum"].max() == 0


def test_no_seeding_no_infiltrators():
    df = run("security_hawk", "kremlin.infiltrators_per_1000_leavers=0")
    assert df["infiltrators_admitted_cum"].max() == 0
    assert run("security_hawk")["infiltrators_admitted_cum"].iloc[-1] > 0


def test_host_costs_equal_payments_plus_resettlement():
    sc = load_scenario("grand_bargain", ["population.scale=200", "mobilization.waves=[]"])
    df = run_replication(sc, 1, days=120).set_index("day")
    last = df.iloc[-1]
    # entries are border statistics: background traffic (capped by capacity), then admitted men
    # with their companions and men moving on from another host (each resettled where he arrives)
    bg = {h.name: sum(min(e.background_per_day, e.capacity_per_day) for e in sc.exits if e.host == h.name) * len(df)
          for h in sc.hosts}
    arrivals = {h.name: (last[f"entries_cum__{h.name}"] - bg[h.name]) / (1 + sc.population.non_eligible_per_leaver)
                for h in sc.hosts}
    assert sum(last[f"admitted_cum__{h.name}"] for h in sc.hosts) == pytest.approx(last["fled_cum"])
    resettle_draftees = sum(arrivals[h.name] * sc.host_policy.policy_resettlement_usd[h.draftee_policy] for h in sc.hosts)
    resettle_defectors = last["defected_cum"] * sc.host_policy.policy_resettlement_usd["asylum"]
    assert last["resettlement_usd_cum"] == pytest.approx(resettle_draftees + resettle_defectors, rel=1e-6)
    expected = last["offer_cost_usd_cum"] + resettle_draftees + resettle_defectors
    assert last["host_cost_usd_cum"] == pytest.approx(expected, rel=1e-6)


def test_reversed_host_admits_no_one_afterwards():
    df = run("draftee_asylum", "hosts.georgia.inflow_tolerance_per_day=2000", "hosts.georgia.reversal_lag_days=2", days=30)
    daily = df["entries_cum__georgia"].diff()
    bg = 5_500
    reversed_after = daily[daily > bg + 1].index.max()
    assert reversed_after is not None and reversed_after < 29
    assert (daily.loc[reversed_after + 1:] == 0).all() or (daily.loc[reversed_after + 1:] <= bg).all()


def test_pretext_risk_rises_with_diaspora():
    df = run("draftee_asylum", days=60)
    assert df["pretext_risk__finland"].iloc[-1] > df["pretext_risk__finland"].iloc[0]
    assert ((df.filter(like="pretext_risk__") >= 0) & (df.filter(like="pretext_risk__") <= 1)).all().all()
