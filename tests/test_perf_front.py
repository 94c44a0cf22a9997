"""Values the front keeps up to date (or caches) instead of recomputing them, checked against
a recomputation; the plain-float path of the choice against its array path (issue 16)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.config.loader import load_scenario
from sim.mechanisms import choice as ch
from sim.model import AsylumModel
from sim.soldiers import Front


def _kept_values_match(fr: Front) -> None:
    for o in range(fr.n_offers):
        assert fr.aware_count[o] == np.count_nonzero(fr.aware[fr.occupied] & np.uint8(1 << o))
        share, top, units = fr.gone_share(o)
        expect = np.minimum(fr.gone[:, o] / fr.unit_slots, 1.0)
        np.testing.assert_array_equal(share, expect)
        assert top == float(expect.max(initial=0.0))
        np.testing.assert_array_equal(units, np.flatnonzero(expect > 0.0))
    np.testing.assert_array_equal(fr.gone_total, fr.gone.sum(axis=1))
    np.testing.assert_array_equal(fr.gone_share()[0], np.minimum(fr.gone.sum(axis=1) / fr.unit_slots, 1.0))
    assert not (fr.aware[~fr.occupied]).any()  # free slots are never aware
    if fr.morale_uniform:
        assert (fr.morale == fr.morale[0]).all()


@pytest.mark.parametrize("scenario", ["caplan", "kuran"])
def test_kept_counts_and_shares_match_a_recomputation_every_day(scenario):
    sc = load_scenario(scenario, overrides=["population.scale=200", "run.check_ledger=true",
                                            "defection.opportunity_rate=0.05"])
    m = AsylumModel(sc, 3)
    fr = m.world.front
    gone_days = 0
    for _ in range(200):
        before = float(fr.gone.sum())
        m.step()
        gone_days += float(fr.gone.sum()) > before
        _kept_values_match(fr)
    assert gone_days > 0  # the test saw the kept values change


def test_attempt_rates_updated_for_some_units_equal_the_update_of_all():
    sc = load_scenario("caplan", overrides=["population.scale=200", "defection.opportunity_rate=0.05"])
    m = AsylumModel(sc, 5)
    phase = next(p for p in m.phases if type(p).__name__ == "Front")
    fr = m.world.front
    seen: list[tuple[np.ndarray, np.ndarray]] = []  # (the day's attempts, the rates before them)
    kept_update = phase._update_attempt_rate

    def spy(tried):
        seen.append((tried.copy(), fr.attempt_rate.copy()))
        kept_update(tried)

    phase._update_attempt_rate = spy
    n_tried = 0
    for _ in range(120):
        seen.clear()
        m.step()
        for tried, rate in seen:
            n_tried += tried.size
            attempts_u = fr.unit_sum(tried)
            expect = (0.9 * rate + 0.1 * attempts_u / np.maximum(fr.unit_slots, 1)).astype(np.float32)
            np.testing.assert_array_equal(fr.attempt_rate, expect)
    assert n_tried > 0


def test_units_added_with_another_morale_end_uniform_morale():
    fr = Front(3, 2, 1, ["x"], 0.5)
    fr._grow(1)
    assert fr.morale_uniform and fr.morale_range(0.5) == (0.5, 0.5)
    fr.morale = np.full(fr.n_units, 0.25, dtype=np.float32)  # as the front phase writes it
    fr._grow(2)
    assert not fr.morale_uniform
    assert fr.morale_range(0.4) == (0.25, 0.5)
    np.testing.assert_array_equal(fr.morale_of(np.array([0, 5])), np.float32([0.25, 0.5]))


def test_free_slots_are_those_of_a_stable_sort_by_head_count():
    rng = np.random.default_rng(0)
    for us in (1, 2, 5, 10):
        fr = Front(40, us, 1, ["x"], 0.5)
        fr.occupied[:] = rng.random(fr.occupied.size) < 0.6
        fr.head_count[:] = fr.occupied.reshape(fr.n_units, us).sum(axis=1)
        n_free = fr.occupied.size - int(fr.head_count.sum())
        order = np.argsort(fr.head_count, kind="stable")
        free = ~fr.occupied.reshape(fr.n_units, us)[order]
        expect_all = (order[:, None] * us + np.arange(us))[free]
        for n in (1, 2, us, us + 1, n_free // 2, n_free):
            np.testing.assert_array_equal(fr._free_slots(n), expect_all[:n])


@pytest.mark.parametrize("status", ["citizenship", "asylum", "amnesty", "none"])
def test_the_plain_float_choice_equals_the_array_choice_bit_for_bit(status):
    rng = np.random.default_rng(1)
    p = ch.ChoiceParams(prison_years=5.3, p_reprisal=0.17)
    family = np.array([0.0, 1.0, 0.3])
    private = rng.normal(size=3).astype(np.float32)
    gone = np.array([0.0, 0.5, 1.0], dtype=np.float32)
    for pay, pk, pc, cr in ((0.0, 0.0, 0.25, 1.0), (48_000.0, 0.1, 0.3, 0.7), (1e6, 0.37, 0.61, 0.01)):
        scalar = ch.utility_difference(pay, pk, pc, cr, status, private, gone, family, params=p)
        arrays = ch.utility_difference(np.array([pay]), np.array([pk]), np.array([pc]), np.array([cr]), status,
                                       private, gone, family, params=p)
        np.testing.assert_array_equal(scalar, arrays)
    with pytest.raises(ValueError):
        ch.utility_difference(-1.0, 0.1, 0.2, 0.5, status, params=p)
    with pytest.raises(ValueError):
        ch.utility_difference(0.0, 0.6, 0.6, 0.5, status, params=p)
