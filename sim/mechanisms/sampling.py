"""Exact sampling of rare daily events without scanning every man (thinning).

For a cell of N men whose individual daily probabilities p_i are all bounded by p_max,
selecting each man independently with probability p_max and then accepting him with
probability p_i / p_max gives each man exactly probability p_i, independently. Selecting
"each independently with p_max" is the same as drawing K ~ Binomial(N, p_max) and taking
K distinct men uniformly, which costs O(K) instead of O(N). Men not eligible (not at
HOME) simply have p_i = 0 and are rejected.
"""

from __future__ import annotations

import numpy as np


def candidates(rng: np.random.Generator, start: int, stop: int, p_max: float) -> np.ndarray:
    """Indices in ``[start, stop)``, each included independently with probability ``p_max``."""
    n = stop - start
    if n <= 0 or p_max <= 0.0:
        return np.empty(0, dtype=np.int64)
    if p_max >= 1.0:
        return np.arange(start, stop, dtype=np.int64)
    k = int(rng.binomial(n, p_max))
    if k == 0:
        return np.empty(0, dtype=np.int64)
    return start + np.sort(rng.choice(n, size=k, replace=False))


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
    chosen = np.empty(0, dtype=np.int64)
    for _ in range(6):
        need = k - chosen.size
        draw = min(n, int(need * 1.5) + 16)
        idx = start + rng.choice(n, size=draw, replace=False)
        idx = idx[state[idx] == value]
        chosen = np.unique(np.concatenate([chosen, idx]))
        if chosen.size >= k:
            # np.unique sorts; permute before truncating so the choice stays uniform
            return np.sort(rng.permutation(chosen)[:k])
        if draw == n:
            return chosen
    pool = start + np.flatnonzero(state[start:stop] == value)
    if pool.size <= k:
        return pool
    return np.sort(rng.choice(pool, size=k, replace=False))
