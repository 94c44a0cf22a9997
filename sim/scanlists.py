"""The pool's lists of men in the states daily rules scan (see :mod:`sim.population`).

:class:`IndexList` (men abroad) is a growable set of pool indices sampled by thinning and
compacted when stale; :class:`StateList` (men summoned, hiding or in transit) also keeps
each listed man's state, kept by :meth:`sim.population.Pool.set_state`.
"""

from __future__ import annotations

import numpy as np


class IndexList:
    """A growable set of pool indices (no duplicates), sampled by thinning, compacted when stale.

    An entry stays while its man may be in the tracked state; ``compact_if_stale`` drops
    the others. A flag per man keeps a man who leaves and comes back from being listed twice.
    """

    # a full staleness scan at least this often, even when the bound below says none is needed
    FULL_CHECK_EVERY = 30

    def __init__(self, n_pool: int) -> None:
        self._a = np.empty(1024, dtype=np.int64)
        self.n = 0
        self._listed = np.zeros(n_pool, dtype=bool)
        # upper bound on stale entries: stale at the last scan + listed men reported gone since
        self._stale_bound = 0
        self._since_scan = 0

    @property
    def items(self) -> np.ndarray:
        return self._a[: self.n]

    def add(self, idx: np.ndarray) -> None:
        idx = idx[~self._listed[idx]]
        if idx.size == 0:
            return
        self._listed[idx] = True
        need = self.n + idx.size
        if need > self._a.size:
            grown = np.empty(max(need, 2 * self._a.size), dtype=np.int64)
            grown[: self.n] = self._a[: self.n]
            self._a = grown
        self._a[self.n : need] = idx
        self.n = need

    def sample(self, rng: np.random.Generator, p: float) -> np.ndarray:
        """Each listed index independently with probability ``p`` (see sampling.candidates)."""
        from sim.mechanisms.sampling import candidates

        return self._a[candidates(rng, 0, self.n, p)]

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the entries where ``mask`` (aligned with :attr:`items`) is true."""
        items = self.items
        self._listed[items[~mask]] = False
        kept = items[mask]
        self._a[: kept.size] = kept
        self.n = kept.size

    def note_left(self, idx: np.ndarray) -> None:
        """Men in ``idx`` left the tracked state: raises the bound on stale entries, so
        :meth:`compact_if_stale` can skip its scan while a fifth cannot be stale."""
        if idx.size and self.n:
            self._stale_bound += int(np.count_nonzero(self._listed[idx]))

    def compact_if_stale(self, state: np.ndarray, value: int) -> None:
        """Keep only entries whose man is in state ``value``, once a fifth may be stale.

        The scan is skipped while the bound on stale entries (from :meth:`note_left`) is
        below a fifth, which gives the same decision as scanning when every man leaving the
        tracked state is reported; a scan still runs every ``FULL_CHECK_EVERY`` calls.
        """
        if self.n == 0:
            return
        self._since_scan += 1
        if self._stale_bound < 0.2 * self.n and self._since_scan < self.FULL_CHECK_EVERY:
            return
        self._since_scan = 0
        items = self.items
        keep = state[items] == value
        n_keep = int(np.count_nonzero(keep))
        if n_keep / self.n < 0.8:  # same test as keep.mean() < 0.8, without a float copy
            self.keep(keep)
            self._stale_bound = 0
        else:
            self._stale_bound = self.n - n_keep


class StateList:
    """The men who may be in a scanned state, in the order they were listed, each entry
    with its man's state beside it.

    The states are kept by :meth:`sim.population.Pool.set_state` (through :meth:`set`),
    exact wherever the entry's or the man's state is a scanned one (a move between two
    unscanned states may leave the entry's old state until compaction drops it), so the
    men in one scanned state are found by reading a small int8 array in list order rather
    than by gathering the pool's state at every listed index. ``pos[i]`` is man ``i``'s entry
    (-1 if he is not listed), which also keeps a man from being listed twice.

    Dropping an entry (:meth:`keep`) marks it :data:`DROPPED` and leaves the others where
    they are (no rewrite of ``pos``); the dropped entries are squeezed out once they are
    half the list. The live entries are in the same order either way: a man dropped and
    listed again is appended at the end.
    """

    DROPPED = -1  # the state of a dropped entry (no man is in it)

    def __init__(self, n_pool: int) -> None:
        self._a = np.empty(1024, dtype=np.int64)
        self._s = np.empty(1024, dtype=np.int8)
        self.n = 0  # entries, dropped ones included
        self.n_dropped = 0
        self.pos = np.full(n_pool, -1, dtype=np.int32)

    @property
    def items(self) -> np.ndarray:
        """Pool indices of the entries, dropped ones included (a view)."""
        return self._a[: self.n]

    @property
    def states(self) -> np.ndarray:
        """The state of each entry's man, aligned with :attr:`items`; :data:`DROPPED` for a
        dropped entry (a view)."""
        return self._s[: self.n]

    def add(self, idx: np.ndarray, state: np.ndarray) -> None:
        """List the men of ``idx`` not listed yet (distinct indices), with their ``state``."""
        idx = idx[self.pos[idx] < 0]
        if idx.size == 0:
            return
        need = self.n + idx.size
        if need > self._a.size:
            size = max(need, 2 * self._a.size)
            a, s = np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int8)
            a[: self.n], s[: self.n] = self.items, self.states
            self._a, self._s = a, s
        self._a[self.n : need] = idx
        self._s[self.n : need] = state[idx]
        self.pos[idx] = np.arange(self.n, need, dtype=np.int32)
        self.n = need

    def set(self, men: np.ndarray, value: int) -> None:
        """Record that ``men`` are now in state ``value`` (the listed ones among them)."""
        p = self.pos[men]
        self._s[p[p >= 0]] = value

    def keep(self, mask: np.ndarray) -> None:
        """Drop the live entries where ``mask`` (aligned with :attr:`items`) is false."""
        drop = (~mask & (self.states != self.DROPPED)).nonzero()[0]
        if drop.size == 0:
            return
        self.pos[self._a[drop]] = -1
        self._s[drop] = self.DROPPED
        self.n_dropped += drop.size
        if 2 * self.n_dropped > self.n:
            live = (self.states != self.DROPPED).nonzero()[0]  # positions: a dense mask gathers slowly
            kept = self._a[live]
            self._s[: kept.size] = self._s[live]
            self._a[: kept.size] = kept
            self.pos[kept] = np.arange(kept.size, dtype=np.int32)
            self.n, self.n_dropped = kept.size, 0
