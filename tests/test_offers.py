"""Defection: the cascade rule, counter-measures, and comparative behaviour of offers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.config import load_scenario
from sim.mechanisms.defection import payments_for_arrivals, threshold_cascade
from sim.simulate import run_replication

FAST = ["population.scale=200", "run.check_ledger=true", "mobilization.waves=[]", "flight.rumour_weight=0"]


def run(name: str, *overrides: str, seed: int = 3, days: int = 180) -> pd.DataFrame:
    sc = load_scenario(name, [*FAST, *overrides])
    return run_replication(sc, seed, days=days).set_index("day")


def mean_final(name: str, *overrides: str, col: str = "defected_cum", day: int = 180, seeds=(1, 2, 3)) -> float:
    return float(np.mean([run(name, *overrides, seed=s, days=day)[col].loc[day] for s in seeds]))


def test_granovetter_riot_all_act_with_thresholds_0_to_99():
    assert threshold_cascade(np.arange(100)).sum() == 100


def test_granovetter_riot_stops_at_one_when_threshold_1_becomes_2():
    t = np.arange(100)
    t[1] = 2
    assert threshold_cascade(t).sum() == 1


def test_cascade_stays_inside_groups():
    t = np.concatenate([np.arange(10), np.arange(1, 11)])  # second group has no instigator
    acted = threshold_cascade(t, groups=np.repeat([0, 1], 10))
    assert acted[:10].all() and not acted[10:].any()


def test_private_opposers_without_any_offer_never_defect():
    df = run("no_offers", "front.unwillingness={a: 50, b: 1}", "front.awol_rate=0")
    assert df["defected_cum"].max() == 0 and df["awol_cum"].max() == 0


def test_certain_detection_and_death_penalty_drive_defection_to_zero():
    df = run("caplan", "kremlin.counter_defection.detection_base=1", "kremlin.counter_defection.detection_max=1",
             "kremlin.counter_defection.executed_share=1", "kremlin.counter_defection.imprisoned_share=0",
             "kremlin.counter_defection.punishment_base=1000")
    assert df["defected_cum"].max() == 0


def test_credible_offer_defects_at_least_as_many():
    hi = mean_final("caplan", "offers.caplan_v2.credibility.base=0.9")
    lo = mean_final("caplan", "offers.caplan_v2.credibility.base=0.3")
    assert hi >= lo and hi > 0


def test_larger_payment_defects_at_least_as_many():
    big = mean_final("caplan", "offers.caplan_v2.payment_usd=1000000")
    small = mean_final("caplan", "offers.caplan_v2.payment_usd=10000")
    assert big >= small and big > 0


def test_a_deadline_ends_the_offer():
    # since issue 15 a deadline only ends the offer (the urgency term went with the score)
    after = run("caplan", "offers.caplan_v2.deadline_day=60", "defection.opportunity_rate=0.01", days=120)
    assert after["defected_cum__caplan_v2"].loc[60] > 0
    assert after["defected_cum__caplan_v2"].loc[61:].nunique() == 1  # nothing after the deadline


def test_tiered_offer_front_loads_defections():
    # the first tier pays ten times the flat offer: more defections in the first month. At
    # scale 200 a month holds about one simulated defection per run, too few for a ratio of
    # three runs to tell (it passed or failed with the random streams): pooled counts at
    # scale 50, four replications
    fine = ("population.scale=50", "run.check_ledger=false")
    early = lambda name: sum(run(name, *fine, seed=s, days=30)["defected_cum"].loc[30] for s in (1, 2, 3, 4))  # noqa: E731
    assert early("caplan_tiered") > early("caplan")


def test_defections_by_offer_sum_to_total():
    # opportunity_rate 0.01: 16-31 simulated defectors in 150 days (at the default, 0 or 1 with the streams)
    sc = load_scenario("caplan", [*FAST, "defection.opportunity_rate=0.01", "offers=[{name: a, maker: eu, eligible: [soldiers], payment_usd: 50000, status: asylum, route: via_ukraine, "
                                         "destination: {eu_west: 1.0}, credibility: {model: fixed, base: 0.9}}, "
                                         "{name: b, maker: ukraine, eligible: [soldiers], payment_usd: 0, status: amnesty, route: via_ukraine, "
                                         "destination: {}, credibility: {model: fixed, base: 0.9}}]"])
    df = run_replication(sc, 4, days=150)
    assert df["defected_cum"].iloc[-1] > 0
    np.testing.assert_allclose(df["defected_cum__a"] + df["defected_cum__b"], df["defected_cum"])


def test_offer_cost_equals_sum_of_payments():
    df = run("caplan")
    assert df["offer_cost_usd_cum__caplan_v2"].iloc[-1] == pytest.approx(df["defected_cum__caplan_v2"].iloc[-1] * 100_000)
    tiers = payments_for_arrivals(0, 5, 3_000, [(10_000, 1e6)], 1e5)
    assert tiers.tolist() == [1e6, 1e6, 1e6, 1e6, 1e5]  # positions 0..12,000 by 3,000


def test_caplan_draws_more_defections_than_kuran():
    # With the calibrated-scale funnel (issue 15) the offers move hundreds to a few
    # thousand soldiers, so at this test's coarse size their effect on front_effective is
    # within replication noise; the defections themselves are not (common random numbers).
    # (opportunities 20 times the calibrated rate, so that this coarse run shows them)
    more = "defection.opportunity_rate=0.003"
    c = mean_final("caplan", more, seeds=(1, 2))
    k = mean_final("kuran", more, seeds=(1, 2))
    b = mean_final("baseline", more, seeds=(1, 2))
    assert c > k >= b
