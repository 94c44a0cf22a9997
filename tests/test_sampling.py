"""Thinning samplers: each index is included with the stated probability, independently,
and draws from cells are uniform among eligible men."""

from __future__ import annotations

import numpy as np

from sim.mechanisms.sampling import candidates, candidates_cells, draw_from_cell, draw_from_cells


def test_candidates_include_each_index_with_probability_p():
    rng = np.random.default_rng(1)
    counts = np.zeros(1000)
    for _ in range(400):
        counts[candidates(rng, 0, 1000, 0.05) ] += 1
    freq = counts / 400
    assert abs(freq.mean() - 0.05) < 0.003
    assert np.abs(freq - 0.05).max() < 0.06  # no index favoured (binomial sd ~0.011)
    assert candidates(rng, 10, 10, 0.5).size == 0 and candidates(rng, 0, 5, 1.0).tolist() == [0, 1, 2, 3, 4]


def test_candidates_cells_respects_each_cells_probability_and_range():
    rng = np.random.default_rng(2)
    starts, stops, p = np.array([0, 500, 2000]), np.array([500, 2000, 2100]), np.array([0.01, 0.2, 0.9])
    hits = np.zeros(3)
    for _ in range(300):
        idx, cell = candidates_cells(rng, starts, stops, p)
        assert ((idx >= starts[cell]) & (idx < stops[cell])).all()
        assert np.unique(idx).size == idx.size
        hits += np.bincount(cell, minlength=3)
    rate = hits / 300 / (stops - starts)
    np.testing.assert_allclose(rate, p, rtol=0.1)


def test_draw_from_cell_is_uniform_among_eligible_and_exact_in_count():
    rng = np.random.default_rng(3)
    state = np.zeros(200, dtype=np.int8)
    state[::2] = 1  # only odd indices eligible (value 0)
    counts = np.zeros(200)
    for _ in range(500):
        got = draw_from_cell(rng, 0, 200, state, 0, 10)
        assert got.size == 10 and np.unique(got).size == 10 and (state[got] == 0).all()
        counts[got] += 1
    odd = counts[1::2] / 500
    assert abs(odd.mean() - 0.1) < 0.005 and np.abs(odd - 0.1).max() < 0.06
    assert counts[::2].sum() == 0


def test_draw_from_cells_gives_each_cell_its_count_when_possible():
    rng = np.random.default_rng(4)
    state = np.zeros(300, dtype=np.int8)
    state[100:195] = 1  # cell 1 has only 5 eligible men
    men = draw_from_cells(rng, np.array([0, 100, 200]), np.array([100, 200, 300]), state, 0, np.array([30, 20, 100]))
    cell = np.searchsorted([100, 200, 300], men, side="right")
    assert np.bincount(cell, minlength=3).tolist() == [30, 5, 100]
    assert (state[men] == 0).all() and np.unique(men).size == men.size


def test_distinct_uniform_gives_distinct_uniform_indices_in_each_range():
    from sim.mechanisms.sampling import distinct_uniform

    rng = np.random.default_rng(3)
    starts, n, k = np.array([0, 10, 40]), np.array([10, 30, 5]), np.array([6, 3, 5])  # k close to n: many repeats
    hits = np.zeros(45)
    for _ in range(4000):
        idx, which = distinct_uniform(rng, starts, n, k)
        assert np.unique(idx).size == idx.size == k.sum()
        assert np.array_equal(np.bincount(which, minlength=3), k)
        assert np.all((idx >= starts[which]) & (idx < starts[which] + n[which]))
        hits[idx] += 1
    for c in range(3):  # each index of range c is in with probability k / n
        freq = hits[starts[c]:starts[c] + n[c]] / 4000
        assert np.allclose(freq, k[c] / n[c], atol=0.035), (c, freq)


def test_candidates_cells_mixes_dense_geometric_and_binomial_ranges():
    rng = np.random.default_rng(5)
    starts = np.array([0, 100, 5_100, 105_100])
    stops = np.array([100, 5_100, 105_100, 105_200])
    p = np.array([0.5, 0.001, 0.01, 0.0])  # dense; few inclusions (binomial); many (geometric); none
    counts = np.zeros(4)
    for _ in range(300):
        idx, cell = candidates_cells(rng, starts, stops, p)
        assert np.unique(idx).size == idx.size
        assert np.all((idx >= starts[cell]) & (idx < stops[cell]))
        counts += np.bincount(cell, minlength=4)
    expected = 300 * (stops - starts) * p
    assert counts[3] == 0
    assert np.all(np.abs(counts[:3] - expected[:3]) < 5 * np.sqrt(expected[:3]))
