"""What the start-up and daily-row shortcuts of issue 16 keep: the same values as the
slower ways they replace (they would fail if a kept value went stale)."""

from __future__ import annotations

import numpy as np

from sim import provenance
from sim.config import load_scenario
from sim.model import AsylumModel
from sim.outcomes import daily_row, output_names


def test_table_rows_equal_a_fresh_daily_row_every_day():
    """The table's DailyRow looks the run's constants up once; every day's row equals
    :func:`daily_row`, which looks them up afresh (small front-line hosts included)."""
    sc = load_scenario("baseline", ["population.scale=2000", "run.days=60"])
    assert any(h.size_class == "small_frontline" for h in sc.hosts)
    m = AsylumModel(sc, rng=3)
    for day in range(40):
        m.step()
        fresh = np.array(list(daily_row(m.world, m.kremlin, m.offers, m.observed).values()))
        np.testing.assert_array_equal(m.table.values[day], fresh)
    assert m.table.n == 40 and len(m.table.columns) == len(output_names(sc))


def test_versions_from_a_provenance_equal_versions_read_afresh():
    assert provenance.versions(provenance.provenance()) == provenance.versions()
    assert list(provenance.versions(provenance.provenance())) == list(provenance.versions())


def test_effective_front_equals_the_factor_over_every_unit():
    """Observed.of weighs only the units whose commanders saw attempts; the sum equals,
    bit for bit, the distrust factor applied to every unit (days with and without attempts)."""
    from sim.mechanisms.front import distrust_factor
    from sim.observed import _effective_quality

    sc = load_scenario("caplan", ["population.scale=200", "run.days=120"])
    m = AsylumModel(sc, rng=2)
    cfg, kinds = sc.front, set()
    for _ in range(120):
        m.step()
        fr = m.world.front
        full = (fr.quality_sum * distrust_factor(fr.attempt_rate, cfg.distrust_reference_rate, cfg.distrust_weight)).sum()
        assert _effective_quality(m.world) == full
        kinds.add(bool(fr.attempt_rate.any()))
    assert kinds == {True, False}  # both branches were checked
