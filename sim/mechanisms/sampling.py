"""Exact sampling of rare daily events without scanning every man (thinning).

For a cell of N men whose individual daily probabilities p_i are all bounded by p_max,
selecting each man independently with probability p_max and then accepting him with
probability p_i / p_max gives each man exactly probability p_i, independently. Selecting
"each independently with p_max" is a Bernoulli process along the cell: the gaps between
selected men are geometric with parameter p_max, so the selection costs O(K) for K
selected men instead of O(N). Men not eligible (not at HOME) simply have p_i = 0 and are
rejected.
"""

from __future__ import annotations

import numpy as np


def candidates(rng: np.random.Generator, start: int, stop: int, p_max: float) -> np.ndarray:
    """Indices in ``[start, stop)``, each included independently with probability ``p_max``.

    Returned sorted. A Bernoulli process: the gaps between included indices are
    geometric with parameter ``p_max``, so the cost is O(included), not O(stop - start);
    for large ``p_max`` one uniform per index is cheaper than a geometric per inclusion.
    """
    n = stop - start
    if n <= 0 or p_max <= 0.0:
        return np.empty(0, dtype=np.int64)
    if p_max >= 1.0:
        return np.arange(start, stop, dtype=np.int64)
    if p_max > _DENSE_P:
        return start + np.flatnonzero(rng.random(n) < p_max)
    mean = n * p_max
    m = int(mean + 5.0 * np.sqrt(mean) + 16.0)  # enough gaps to pass the end almost always
    pos = np.cumsum(rng.geometric(p_max, size=m))  # 1-based positions of included indices
    while pos[-1] <= n:  # rare: extend the process past the end of the range
        pos = np.concatenate([pos, pos[-1] + np.cumsum(rng.geometric(p_max, size=m))])
    return (start - 1) + pos[: np.searchsorted(pos, n, side="right")]


# above this inclusion probability a uniform per index beats a geometric per inclusion
_DENSE_P = 0.15


def draw_from_cell(rng: np.random.Generator, start: int, stop: int, state: np.ndarray, value: int, k: int) -> np.ndarray:
    """Draw ``k`` distinct indices uniformly among eligible men of a cell.

    Uses rejection from the cell's range while eligible men are common, and an explicit
    scan of the range when they are rare, so the cost stays near O(k).

    Args:
        state: State array over the whole pool; eligible men have ``state == value``.
        value: The eligible state.
        k: Wanted count; fewer are returned if the cell has fewer eligible men.
    """
    n = stop - start
    if k <= 0 or n <= 0:
        return np.empty(0, dtype=np.int64)
    if 2 * k >= n:  # most of the cell is wanted: scan it
        return _scan(rng, start, stop, state, value, k)
    # Rejection with replacement: the distinct eligible men hit by uniform draws form a set
    # whose law is invariant under relabelling the eligible men, so given its size it is a
    # uniform subset; a uniform k-subset of it is a uniform k-subset of the eligible men.
    chosen = np.empty(0, dtype=np.int64)
    for _ in range(6):
        need = k - chosen.size
        idx = start + rng.integers(0, n, size=int(need * 1.5) + 16)
        idx = idx[state[idx] == value]
        chosen = np.unique(np.concatenate([chosen, idx]))
        if chosen.size >= k:
            if chosen.size == k:
                return chosen
            return np.sort(rng.choice(chosen, size=k, replace=False))
    return _scan(rng, start, stop, state, value, k)


def _scan(rng: np.random.Generator, start: int, stop: int, state: np.ndarray, value: int, k: int) -> np.ndarray:
    """``k`` distinct eligible indices of ``[start, stop)`` by an explicit scan (all if fewer)."""
    pool = start + np.flatnonzero(state[start:stop] == value)
    if pool.size <= k:
        return pool
    return np.sort(rng.choice(pool, size=k, replace=False))


def candidates_cells(rng: np.random.Generator, starts: np.ndarray, stops: np.ndarray,
                     p_max: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`candidates` for many disjoint ranges at once (one set of numpy calls, not one per range).

    Index ``j`` of range ``c`` (``starts[c] <= j < stops[c]``) is included independently
    with probability ``p_max[c]``.

    Returns:
        (indices, range number of each index), grouped by range, ascending within a range.
    """
    starts = np.asarray(starts, dtype=np.int64)
    n = np.asarray(stops, dtype=np.int64) - starts
    p = np.broadcast_to(np.asarray(p_max, dtype=np.float64), n.shape)
    idx_parts: list[np.ndarray] = []
    cell_parts: list[np.ndarray] = []
    sparse = np.flatnonzero((n > 0) & (p > 0.0) & (p <= _DENSE_P))
    if sparse.size:
        ns, ps = n[sparse], p[sparse]
        mean = ns * ps
        m = (mean + 5.0 * np.sqrt(mean) + 16.0).astype(np.int64)  # gaps per range, as in candidates
        seg = np.repeat(np.arange(sparse.size), m)
        pos = np.cumsum(rng.geometric(np.repeat(ps, m)))  # 1-based positions, a running total over ranges
        ends = np.cumsum(m)
        pos -= np.repeat(np.concatenate([[0], pos[ends[:-1] - 1]]), m)  # restart the count at each range
        keep = pos <= np.repeat(ns, m)
        idx_parts.append(np.repeat(starts[sparse], m)[keep] - 1 + pos[keep])
        cell_parts.append(sparse[seg[keep]])
        # rare: a range whose gaps did not reach its end continues (the process has no memory)
        for j in np.flatnonzero(pos[ends - 1] <= ns):
            c = sparse[j]
            more = candidates(rng, int(starts[c] + pos[ends[j] - 1]), int(starts[c] + n[c]), float(p[c]))
            idx_parts.append(more)
            cell_parts.append(np.full(more.size, c, dtype=np.int64))
    for c in np.flatnonzero((n > 0) & (p > _DENSE_P)):
        got = candidates(rng, int(starts[c]), int(starts[c] + n[c]), float(p[c]))
        idx_parts.append(got)
        cell_parts.append(np.full(got.size, c, dtype=np.int64))
    if not idx_parts:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    idx, cell = np.concatenate(idx_parts), np.concatenate(cell_parts)
    if len(idx_parts) > 1:  # group by range (the extensions were appended after)
        order = np.argsort(cell, kind="stable")
        idx, cell = idx[order], cell[order]
    return idx, cell
