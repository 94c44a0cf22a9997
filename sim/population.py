"""Draft-eligible men as a struct of arrays, sorted into contiguous (region, category) cells.

Each simulated man stands for ``population.scale`` real men. Sorting by cell makes
regional and category totals cheap (slices, not masks) and lets rules that touch few men
per day (flight, call-ups) sample candidates from a cell's index range instead of scanning
everyone (see :mod:`sim.mechanisms.sampling`).

Men who ever leave HOME are appended to ``touched``; the daily rules for the non-home
states scan only that list, which stays small (the mobilized, the fled, the hiding)
even at full scale.
"""

from __future__ import annotations

import numpy as np

from sim.config.schema import Scenario
from sim.ledger import State

BYTES_PER_MAN = 28  # arrays below; used by the memory estimate


def largest_remainder(total: int, shares: np.ndarray) -> np.ndarray:
    """Integer counts proportional to ``shares`` summing exactly to ``total``."""
    shares = np.asarray(shares, dtype=float)
    if total == 0 or shares.sum() == 0:
        return np.zeros(shares.shape, dtype=np.int64)
    raw = shares / shares.sum() * total
    base = np.floor(raw).astype(np.int64)
    rest = total - int(base.sum())
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:rest]] += 1
    return base


class Pool:
    """The men: attributes (static) and state (changes daily).

    Attributes:
        n: Number of simulated men.
        region, category: Cell membership (int8).
        cell_start, cell_stop: Index range of each cell (cell = region * n_categories + category).
        opposition, risk_tolerance, means, family: Static attributes.
        state: Ledger state (int8, values of :class:`State`).
        exit_idx, host_idx: Exit a man is travelling to / host he is in (-1 if none).
        due_day: Day his current transition completes (arrival at an exit, end of training).
    """

    def __init__(self, n_cells_per_region: int, counts: np.ndarray, rng: np.random.Generator, sc: Scenario):
        pop = sc.population
        n_regions = len(sc.regions)
        self.n_categories = n_cells_per_region
        self.counts = counts.reshape(n_regions, n_cells_per_region)
        flat = counts.ravel()
        self.n = int(flat.sum())
        self.cell_stop = np.cumsum(flat)
        self.cell_start = self.cell_stop - flat
        cell_of = np.repeat(np.arange(flat.size), flat)
        self.region = (cell_of // n_cells_per_region).astype(np.int8)
        self.category = (cell_of % n_cells_per_region).astype(np.int8)
        del cell_of

        shift = np.array([r.opposition_shift for r in sc.regions], dtype=np.float32)
        mult = np.array([r.means_multiplier for r in sc.regions], dtype=np.float32)
        self.opposition = rng.beta(pop.opposition.a, pop.opposition.b, self.n).astype(np.float32)
        self.opposition += shift[self.region]
        np.clip(self.opposition, 0.0, 1.0, out=self.opposition)
        self.risk_tolerance = rng.beta(pop.risk_tolerance.a, pop.risk_tolerance.b, self.n).astype(np.float32)
        self.means = rng.lognormal(np.log(max(pop.means_median_usd, 1e-9)), pop.means_sigma, self.n).astype(np.float32)
        self.means *= mult[self.region]
        self.family = rng.random(self.n, dtype=np.float32) < pop.family_ties_share

        self.state = np.zeros(self.n, dtype=np.int8)
        self.exit_idx = np.full(self.n, -1, dtype=np.int8)
        self.host_idx = np.full(self.n, -1, dtype=np.int8)
        self.due_day = np.zeros(self.n, dtype=np.int32)
        self._touched_flag = np.zeros(self.n, dtype=bool)
        self._touched = np.empty(1024, dtype=np.int64)
        self.n_touched = 0

    @classmethod
    def build(cls, sc: Scenario, rng: np.random.Generator) -> Pool:
        """Draw the pool for a scenario: cell sizes by largest remainder, then attributes."""
        n_total = round(sc.population.draft_pool / sc.population.scale)
        region_counts = largest_remainder(n_total, np.array([r.pool_share for r in sc.regions]))
        cat_shares = np.array([c.share for c in sc.population.categories])
        counts = np.stack([largest_remainder(int(rc), cat_shares) for rc in region_counts])
        return cls(len(cat_shares), counts, rng, sc)

    # ------------------------------------------------------------------ touched set
    @property
    def touched(self) -> np.ndarray:
        """Indices of every man who ever left HOME (a view; do not keep across days)."""
        return self._touched[: self.n_touched]

    def touch(self, idx: np.ndarray) -> None:
        """Add men leaving HOME to the touched list (idempotent)."""
        new = idx[~self._touched_flag[idx]]
        if new.size == 0:
            return
        self._touched_flag[new] = True
        need = self.n_touched + new.size
        if need > self._touched.size:
            grown = np.empty(max(need, 2 * self._touched.size), dtype=np.int64)
            grown[: self.n_touched] = self._touched[: self.n_touched]
            self._touched = grown
        self._touched[self.n_touched : need] = new
        self.n_touched = need

    def in_state(self, state: State) -> np.ndarray:
        """Indices of touched men currently in ``state`` (never HOME: use cells for that)."""
        t = self.touched
        return t[self.state[t] == state]

    def recount(self, n_states: int) -> np.ndarray:
        """Count men per state from the array (full scan; for ledger checks)."""
        return np.bincount(self.state, minlength=n_states).astype(np.int64)

    def home_per_cell(self) -> np.ndarray:
        """Men at HOME per cell, from the touched list (cheap): cell size minus those away."""
        t = self.touched
        away = t[self.state[t] != State.HOME]
        cells = self.region[away].astype(np.int64) * self.n_categories + self.category[away]
        return (self.cell_stop - self.cell_start) - np.bincount(cells, minlength=self.cell_stop.size)
