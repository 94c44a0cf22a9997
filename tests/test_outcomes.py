"""The outputs registry: one list from which columns, labels and metric lists derive."""

from __future__ import annotations

import pytest

from sim.analysis.compare import METRICS_OF_INTEREST
from sim.claims import CLAIMS, OUTCOME_COLUMNS
from sim.config.schema import OfferConfig, Scenario
from sim.outcomes import (
    OUTPUTS,
    claim_columns,
    figure_metrics,
    headline_metrics,
    members,
    output_names,
)
from sim.plots.data import DEFAULT_METRICS, FLOW_PREFIXES, LABELS, title_for


def test_registry_entries_are_unique_and_described():
    keys = [(o.name, o.per is None) for o in OUTPUTS]
    assert len(keys) == len(set(keys))
    assert all(o.title and o.unit for o in OUTPUTS)
    ranks = [o.headline for o in OUTPUTS if o.headline]
    assert sorted(ranks) == list(range(1, len(ranks) + 1)), "headline ranks are 1..n without gaps"


def test_singles_come_before_families_in_the_columns():
    sc = Scenario(offers=[OfferConfig(name="o1")])
    names = output_names(sc)
    singles = [o.name for o in OUTPUTS if o.per is None]
    assert names[: len(singles)] == singles
    assert "defected_cum__o1" in names and "offer_cost_usd_cum__o1" in names
    assert [n for n in names if n.startswith("entries_cum__")] == [f"entries_cum__{h.name}" for h in sc.hosts]


def test_derived_lists_follow_the_registry():
    assert METRICS_OF_INTEREST == headline_metrics()
    assert METRICS_OF_INTEREST[0] == "front_effective"
    assert DEFAULT_METRICS == figure_metrics() and set(DEFAULT_METRICS) <= set(METRICS_OF_INTEREST)
    assert LABELS["offer_cost_usd_cum"] == ("Offer payments (cumulative)", "US dollars")
    assert set(FLOW_PREFIXES) == {f"{o.name}__" for o in OUTPUTS if o.per and o.figure}
    assert OUTCOME_COLUMNS == claim_columns()
    assert "pretext_risk__<host>" in OUTCOME_COLUMNS and "kia_cum__<origin>" in OUTCOME_COLUMNS
    assert {o for c in CLAIMS for o in c.outcomes} <= set(OUTCOME_COLUMNS)


def test_titles_of_family_members_and_unknown_metrics():
    assert title_for("kia_cum__mobilized") == ("Killed in action: mobilized", "soldiers")
    assert title_for("abroad__finland")[1] == "men"
    assert title_for("made_up_cum") == ("Made up (cumulative)", "")


def test_members_rejects_an_unknown_grouping():
    with pytest.raises(KeyError):
        members(Scenario(), "planet")


def test_daily_values_land_in_their_named_columns():
    """outcomes.daily_values writes the singles as a list and each family as one slice:
    spot-check every kind of column against the world it reads."""
    import numpy as np

    from sim.config import load_scenario
    from sim.ledger import State
    from sim.model import AsylumModel
    from sim.outcomes import daily_row

    sc = load_scenario("caplan", ["population.scale=2000"])
    m = AsylumModel(sc, rng=5)
    for _ in range(40):
        m.step()
    w, acc, s = m.world, m.world.accounts, m.world.scale
    row = daily_row(w, m.kremlin, m.offers, m.observed)
    assert list(row) == output_names(sc)
    assert row["front_strength"] == w.ledger.stock[State.FRONT] * s
    assert row["front_effective"] == m.observed.front_effective_real
    assert row["fled_cum"] == acc.fled_sim * s and row["kia_cum"] == acc.kia_sim * s
    assert row["detection"] == m.kremlin.detection
    assert row["replacements_cum"] == acc.replacements_real.sum()
    for i, h in enumerate(w.geo.host_names):
        assert row[f"entries_cum__{h}"] == acc.entries_real[i]
        assert row[f"abroad__{h}"] == acc.abroad_sim[i] * s
        assert row[f"host_cost_usd_cum__{h}"] == acc.host_cost_usd[i]
    for i, e in enumerate(w.geo.exit_names):
        assert row[f"queue__{e}"] == w.queues[i].length * s
    for i, name in enumerate(w.geo.origin_names):
        assert row[f"kia_cum__{name}"] == acc.kia_by_origin_sim[i] * s
    for o in m.offers:
        assert row[f"offer_aware_cum__{o.cfg.name}"] == acc.aware_by_offer_sim[o.index] * s
        assert row[f"offer_cost_usd_cum__{o.cfg.name}"] == o.cost_usd
    table_row = m.table.values[m.table.n - 1]
    np.testing.assert_array_equal(table_row, np.array(list(row.values())))
