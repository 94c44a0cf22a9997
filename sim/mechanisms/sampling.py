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

import math

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
        return start + (rng.random(n) < p_max).nonzero()[0]
    mean = n * p_max
    m = int(mean + 5.0 * math.sqrt(mean) + 16.0)  # enough gaps to pass the end almost always
    # 1-based positions of included indices; a gap past the end is capped at n + 1 (same
    # outcome: nothing more in range) so tiny probabilities cannot overflow the sum
    gaps = rng.geometric(p_max, size=m)
    pos = np.minimum(gaps, n + 1, out=gaps).cumsum()
    while pos[-1] <= n:  # rare: extend the process past the end of the range
        pos = np.concatenate([pos, pos[-1] + np.cumsum(np.minimum(rng.geometric(p_max, size=m), n + 1))])
    pos = pos[: pos.searchsorted(n, side="right")]
    pos += start - 1
    return pos


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """The distinct values of ``x``, ascending: ``np.unique(x)`` for a 1-d integer array.

    A sort and one comparison of neighbours: for the few thousand indices drawn here this
    is several times faster than ``np.unique``, which hashes the values before sorting them.
    """
    x = np.sort(x)
    if x.size < 2:
        return x
    keep = np.empty(x.size, dtype=bool)
    keep[0] = True
    np.not_equal(x[1:], x[:-1], out=keep[1:])
    return x if keep.all() else x[keep]


# above this inclusion probability a uniform per index beats a geometric per inclusion
_DENSE_P = 0.15
# candidates_cells draws a range on its own (geometric gaps) above this many expected inclusions
_BIG_MEAN = 256.0


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
        chosen = sorted_unique(np.concatenate([chosen, idx]))
        if chosen.size >= k:
            if chosen.size == k:
                return chosen
            return np.sort(rng.choice(chosen, size=k, replace=False))
    return _scan(rng, start, stop, state, value, k)


def _scan(rng: np.random.Generator, start: int, stop: int, state: np.ndarray, value: int, k: int) -> np.ndarray:
    """``k`` distinct eligible indices of ``[start, stop)`` by an explicit scan (all if fewer)."""
    pool = start + (state[start:stop] == value).nonzero()[0]
    if pool.size <= k:
        return pool
    return np.sort(rng.choice(pool, size=k, replace=False))


def candidates_cells(rng: np.random.Generator, starts: np.ndarray, stops: np.ndarray,
                     p_max: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`candidates` for many disjoint ranges at once (one set of numpy calls, not one per range).

    Index ``j`` of range ``c`` (``starts[c] <= j < stops[c]``) is included independently
    with probability ``p_max[c]``. Ranges with ``p_max`` above 0.15 get one uniform per
    index (all of them in one call); ranges with many expected inclusions geometric gaps
    (:func:`candidates`, one by one); the others a binomial count per range and distinct
    uniform positions (:func:`distinct_uniform`, all in one set of calls); empty ranges and
    ranges with ``p_max`` 0 draw nothing. The ranges must be disjoint and sorted.

    Returns:
        (indices, range number of each index). The entries of one range are not
        necessarily adjacent; sort by the range numbers if an order is needed.
    """
    starts = np.asarray(starts, dtype=np.int64)
    n = np.asarray(stops, dtype=np.int64) - starts
    p = np.asarray(p_max, dtype=np.float64)
    if p.shape != n.shape:
        p = np.broadcast_to(p, n.shape)
    idx_parts: list[np.ndarray] = []
    cell_parts: list[np.ndarray] = []
    live = (n > 0) & (p > 0.0)
    is_dense, is_big = p > _DENSE_P, n * p >= _BIG_MEAN
    if not (is_dense.any() or is_big.any()):  # the usual case: every live range is sparse
        dense = big = np.empty(0, dtype=np.int64)
        sparse = live.nonzero()[0]
    else:
        dense = (live & is_dense).nonzero()[0]
        big = (live & ~is_dense & is_big).nonzero()[0]
        sparse = (live & ~is_dense & ~is_big).nonzero()[0]
    if dense.size:  # one uniform per index, all dense ranges in one call
        nd = n[dense]
        which = np.repeat(np.arange(dense.size), nd)
        idx = np.arange(int(nd.sum())) + np.repeat(starts[dense] - (np.cumsum(nd) - nd), nd)
        keep = rng.random(idx.size) < p[dense][which]
        idx_parts.append(idx[keep])
        cell_parts.append(dense[which[keep]])
    for c in big:  # many expected inclusions: geometric gaps, O(included) without a sort
        got = candidates(rng, int(starts[c]), int(starts[c] + n[c]), float(p[c]))
        idx_parts.append(got)
        cell_parts.append(np.full(got.size, c, dtype=np.int64))
    if sparse.size:
        # a Bernoulli process on a range is a binomial count of included indices placed as a
        # uniform random subset: one binomial per range, then distinct uniform positions
        k = rng.binomial(n[sparse], p[sparse])
        has = k.nonzero()[0]
        if has.size:
            rng_idx = sparse[has]
            idx, which = distinct_uniform(rng, starts[rng_idx], n[rng_idx], k[has])
            idx_parts.append(idx)
            cell_parts.append(rng_idx[which])
    if not idx_parts:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    if len(idx_parts) == 1:
        return idx_parts[0], cell_parts[0]
    return np.concatenate(idx_parts), np.concatenate(cell_parts)


def distinct_uniform(rng: np.random.Generator, starts: np.ndarray, n: np.ndarray,
                     k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``k[c]`` distinct indices drawn uniformly from ``[starts[c], starts[c] + n[c])`` for every
    range ``c`` at once (``k <= n``; cheap when ``k`` is much smaller than ``n``). The ranges
    must be disjoint and sorted by ``starts``.

    Draws with replacement, keeps one of any repeated index, and draws again for the ranges
    left short: the kept set's law is invariant under relabelling a range's indices, so
    given its size it is a uniform subset (as in :func:`draw_from_cell`).

    Returns:
        (indices, range number of each index), the indices ascending.
    """
    which = np.repeat(np.arange(k.size), k)
    idx = sorted_unique(starts[which] + rng.integers(0, n[which]))  # a sort, not an argsort
    total = which.size
    if idx.size == total:  # no index drawn twice: the sorted indices are grouped by range
        return idx, which
    while idx.size < total:
        have = np.bincount(np.searchsorted(starts, idx, side="right") - 1, minlength=k.size)
        more = np.repeat(np.arange(k.size), k - have)
        new = sorted_unique(starts[more] + rng.integers(0, n[more]))
        at = np.searchsorted(idx, new)
        fresh = idx[np.minimum(at, idx.size - 1)] != new
        idx = np.insert(idx, at[fresh], new[fresh])  # a merge, not a new sort
    return idx, np.searchsorted(starts, idx, side="right") - 1


def draw_from_cells(rng: np.random.Generator, starts: np.ndarray, stops: np.ndarray, state: np.ndarray, value: int,
                    k: np.ndarray) -> np.ndarray:
    """:func:`draw_from_cell` for many disjoint ranges at once: ``k[c]`` distinct indices
    drawn uniformly among the eligible men (``state == value``) of range ``c`` (fewer if it
    has fewer). The ranges must be sorted and disjoint.

    Returns:
        The indices, ascending.
    """
    starts = np.asarray(starts, dtype=np.int64)
    stops = np.asarray(stops, dtype=np.int64)
    k = np.asarray(k, dtype=np.int64)
    n = stops - starts
    want = (k > 0) & (n > 0)
    dense = (want & (2 * k >= n)).nonzero()[0]  # most of the range is wanted: scan it
    out = [_scan(rng, int(starts[c]), int(stops[c]), state, value, int(k[c])) for c in dense]
    cells = (want & (2 * k < n)).nonzero()[0]
    if cells.size:
        out.append(_draw_sparse(rng, starts[cells], stops[cells], state, value, k[cells]))
    if not out:
        return np.empty(0, dtype=np.int64)
    return np.sort(np.concatenate(out))


def _draw_sparse(rng: np.random.Generator, starts: np.ndarray, stops: np.ndarray, state: np.ndarray, value: int,
                 k: np.ndarray) -> np.ndarray:
    """Rejection with replacement for all ranges at once (the argument of draw_from_cell)."""
    n = stops - starts
    chosen = cell = np.empty(0, dtype=np.int64)  # distinct eligible hits, ascending; the range of each
    active = (k > 0).nonzero()[0]  # ranges still short of their count
    need = k[active]
    for _ in range(6):
        if active.size == 0:
            break
        m = (need * 1.5).astype(np.int64) + 16
        rep = np.repeat(active, m)
        idx = starts[rep] + rng.integers(0, n[rep])
        chosen = sorted_unique(np.concatenate([chosen, idx[state[idx] == value]]))
        cell = np.searchsorted(stops, chosen, side="right")
        have = np.bincount(cell, minlength=k.size)
        short = have < k
        active = short.nonzero()[0]
        need = (k - have)[active]
    parts = []
    if active.size:  # eligible men are rare in these ranges: scan them
        parts += [_scan(rng, int(starts[c]), int(stops[c]), state, value, int(k[c])) for c in active]
        keep = ~short[cell]
        chosen, cell = chosen[keep], cell[keep]
    # a uniform k-subset of each range's distinct hits: the k smallest random keys
    order = np.lexsort((rng.random(chosen.size), cell))
    chosen, cell = chosen[order], cell[order]
    first = np.searchsorted(cell, np.arange(k.size))  # where each range starts in the sorted hits
    rank = np.arange(chosen.size) - first[cell]
    chosen = chosen[rank < k[cell]]
    return np.concatenate([*parts, chosen]) if parts else chosen
