"""Draft-eligible men as a struct of arrays, sorted into contiguous (region, category) cells.

Each simulated man stands for ``population.scale`` real men. Sorting by cell makes
regional and category totals cheap (slices, not masks) and lets rules that touch few men
per day (flight, call-ups) sample candidates from a cell's index range instead of scanning
everyone (see :mod:`sim.mechanisms.sampling`).

Men in the states that daily rules scan (summoned, hiding, in transit) are kept in the
``scanned`` list (:class:`StateList`) with their states beside them, compacted daily; it
stays small even at full scale. Every change of a man's state goes through
:meth:`Pool.set_state`, which keeps those states exact wherever a scanned state is
involved. Men abroad are in their own list.
Men at HOME are counted per cell incrementally (``home_cells``) and sampled by cell.
"""

from __future__ import annotations

import os

import numpy as np

from sim.allocator import release_free_memory
from sim.config.schema import Scenario
from sim.ledger import State
from sim.mechanisms.flight import propensity
from sim.scanlists import IndexList, StateList

BYTES_PER_MAN = 31  # arrays below; used by the memory estimate


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


def _draw_f32(n: int, draw, block: int = 2**21) -> np.ndarray:
    """``draw(n).astype(float32)`` in blocks: the same values (float64 draws consume the
    generator one variate after another, so blocks concatenate to the same sequence)
    without a float64 temporary of n values (200 MB at full scale)."""
    out = np.empty(n, dtype=np.float32)
    for a in range(0, n, block):
        out[a:a + block] = draw(min(block, n - a))
    return out


N_BANDS = 16  # propensity bands per cell (see Pool._order_by_band)
BAND_RATIO = 2.0 ** -0.5  # each band's upper edge over the one before


def propensity_band(prop: np.ndarray, top: float) -> np.ndarray:
    """Band of each propensity below the cell's largest ``top``: band ``b`` holds
    ``top * BAND_RATIO ** (b + 1) <= prop < top * BAND_RATIO ** b`` (band 0 also ``top``;
    up to float32 rounding), the last band everything below, zeros included; uint8, shape
    of ``prop``. Any assignment is correct for sampling (each band's bound is its largest
    member's propensity); this one keeps each band within a factor ``BAND_RATIO``.

    With ``BAND_RATIO = 2 ** -0.5`` the band is the binary exponent of ``(prop / top) ** 2``,
    read from its float32 bits (no logarithm).
    """
    if top <= 0:
        return np.full(prop.shape, N_BANDS - 1, dtype=np.uint8)
    r = np.asarray(prop, dtype=np.float32) / np.float32(top)
    r *= r  # in [0, 1]: 2**e <= r < 2**(e + 1) with e = (biased exponent) - 127, band = -e - 1
    e = (r.view(np.int32) >> 23).astype(np.int16)
    return np.clip(126 - e, 0, N_BANDS - 1).astype(np.uint8)


PARALLEL_MIN_MEN = 2**22  # pools of at least this many men are built on several threads
DRAW_BLOCK = 2**18  # men per block of attribute draws (each block its own random stream)


def build_threads(n: int) -> int:
    """Threads for building a pool of ``n`` men: 1 below :data:`PARALLEL_MIN_MEN` (ensembles
    of small pools run one process per core), else the CPUs this process may use, at most
    4. Nothing built depends on it."""
    if n < PARALLEL_MIN_MEN:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


def each(fn, items: list, threads: int) -> list:
    """``[fn(x) for x in items]``, on ``threads`` threads when more than 1 (numpy releases
    the GIL in its random draws, sorts and gathers, so work on disjoint slices overlaps)."""
    if threads <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as ex:
        return list(ex.map(fn, items))


class Pool:
    """The men: attributes (static) and state (changes daily).

    Attributes:
        n: Number of simulated men.
        region, category: Cell membership (int8).
        cell_start, cell_stop: Index range of each cell (cell = region * n_categories + category).
        opposition, risk_tolerance, means, family: Static attributes.
        propensity: Static part of each man's flight hazard (F1, D1; float32).
        cell_max_propensity: Largest propensity in each cell (0 for an empty cell).
        band_start, band_stop, band_cell, band_max_propensity: The propensity bands: within
            each cell the men are ordered by band (:data:`N_BANDS` bands of propensity,
            each a factor :data:`BAND_RATIO` below the one before, from the cell's
            largest), so each band is an index range of one cell; ``band_max_propensity``
            is the largest propensity in it, the bound for sampling flight candidates by
            thinning (non-empty bands only).
        state: Ledger state (int8, values of :class:`State`).
        exit_idx, host_idx: Exit a man is travelling to / host he is in (-1 if none).
        due_day: Day his current transition completes (arrival at an exit, end of training).
    """

    def __init__(self, n_cells_per_region: int, counts: np.ndarray, rng: np.random.Generator, sc: Scenario):
        n_regions = len(sc.regions)
        self.n_categories = n_cells_per_region
        self.counts = counts.reshape(n_regions, n_cells_per_region)
        flat = counts.ravel()
        self.n = int(flat.sum())
        self.cell_stop = np.cumsum(flat)
        self.cell_start = self.cell_stop - flat
        cells = np.arange(flat.size)  # repeat small per-cell int8 codes (no int64 array per man)
        self.region = np.repeat((cells // n_cells_per_region).astype(np.int8), flat)
        self.category = np.repeat((cells % n_cells_per_region).astype(np.int8), flat)

        # a large pool: blocks with their own streams, on threads; else one stream
        (self._draw_blocks if self.n >= PARALLEL_MIN_MEN else self._draw_serial)(rng, sc)
        self.cell_max_propensity = np.array([
            self.propensity[a:b].max() if b > a else 0.0 for a, b in zip(self.cell_start, self.cell_stop, strict=False)])
        self._order_by_band()
        if build_threads(self.n) > 1:
            release_free_memory()  # the draw threads' arenas would keep their temporaries' pages

        self.state = np.zeros(self.n, dtype=np.int8)
        self.exit_idx = np.full(self.n, -1, dtype=np.int8)
        self.host_idx = np.full(self.n, -1, dtype=np.int8)
        self.due_day = np.zeros(self.n, dtype=np.int32)
        self.home_cells = flat.astype(np.int64).copy()
        self.scanned = StateList(self.n)
        self.abroad = IndexList(self.n)

    def _draw_serial(self, rng: np.random.Generator, sc: Scenario) -> None:
        """Draw each man's opposition, risk tolerance, means and family ties from ``rng``,
        attribute after attribute, and his propensity (a pool below :data:`PARALLEL_MIN_MEN`)."""
        pop = sc.population
        shift = np.array([r.opposition_shift for r in sc.regions], dtype=np.float32)
        mult = np.array([r.means_multiplier for r in sc.regions], dtype=np.float32)
        # each region is one index range (cells are region-major): shifts and multipliers by
        # slice, none where they change nothing (x + 0 and x * 1 are exact), no gather
        region_stop = self.cell_stop[self.n_categories - 1::self.n_categories].tolist()
        region_range = list(zip([0, *region_stop[:-1]], region_stop, strict=True))
        self.opposition = _draw_f32(self.n, lambda k: rng.beta(pop.opposition.a, pop.opposition.b, k))
        for (a, b), d in zip(region_range, shift, strict=True):
            if d != 0.0:  # a beta draw is in [0, 1] already
                part = self.opposition[a:b]
                part += d
                np.clip(part, 0.0, 1.0, out=part)
        self.risk_tolerance = _draw_f32(self.n, lambda k: rng.beta(pop.risk_tolerance.a, pop.risk_tolerance.b, k))
        mu = np.log(max(pop.means_median_usd, 1e-9))
        self.means = _draw_f32(self.n, lambda k: rng.lognormal(mu, pop.means_sigma, k))
        for (a, b), m in zip(region_range, mult, strict=True):
            if m != 1.0:
                self.means[a:b] *= m
        self.family = rng.random(self.n, dtype=np.float32) < pop.family_ties_share
        self.propensity = propensity(self.opposition, self.risk_tolerance, self.family,
                                     sc.flight.opposition_exponent, pop.family_flight_penalty)

    def _draw_blocks(self, rng: np.random.Generator, sc: Scenario) -> None:
        """Draw each man's opposition, risk tolerance, means and family ties, and his
        propensity, in blocks of :data:`DRAW_BLOCK` men, each block from its own random
        stream (children of one seed drawn from ``rng``): a pool of at least
        :data:`PARALLEL_MIN_MEN` men (smaller pools are drawn as before, one stream).

        The blocks are independent, so a large pool draws them on several threads
        (:func:`build_threads`) with the same values as on one; the float64 temporaries of
        a block stay small (2 MB). A region's opposition shift is added (then clipped to
        [0, 1]) and its means multiplier applied where they change something.
        """
        pop = sc.population
        shift = np.array([r.opposition_shift for r in sc.regions], dtype=np.float32)
        mult = np.array([r.means_multiplier for r in sc.regions], dtype=np.float32)
        shifted, scaled = bool(np.any(shift != 0.0)), bool(np.any(mult != 1.0))
        mu = np.log(max(pop.means_median_usd, 1e-9))
        n = self.n
        self.opposition = np.empty(n, dtype=np.float32)
        self.risk_tolerance = np.empty(n, dtype=np.float32)
        self.means = np.empty(n, dtype=np.float32)
        self.family = np.empty(n, dtype=bool)
        self.propensity = np.empty(n, dtype=np.float32)
        n_blocks = -(-n // DRAW_BLOCK)
        streams = np.random.SeedSequence(int(rng.integers(2**63))).spawn(n_blocks)

        def draw_block(i: int) -> None:
            g = np.random.default_rng(streams[i])
            a, b = i * DRAW_BLOCK, min(n, (i + 1) * DRAW_BLOCK)
            opp, risk, means, fam = self.opposition[a:b], self.risk_tolerance[a:b], self.means[a:b], self.family[a:b]
            opp[:] = g.beta(pop.opposition.a, pop.opposition.b, b - a)
            if shifted:
                opp += shift[self.region[a:b]]
                np.clip(opp, 0.0, 1.0, out=opp)
            risk[:] = g.beta(pop.risk_tolerance.a, pop.risk_tolerance.b, b - a)
            means[:] = g.lognormal(mu, pop.means_sigma, b - a)
            if scaled:
                means *= mult[self.region[a:b]]
            fam[:] = g.random(b - a, dtype=np.float32) < pop.family_ties_share
            self.propensity[a:b] = propensity(opp, risk, fam, sc.flight.opposition_exponent, pop.family_flight_penalty)

        each(draw_block, list(range(n_blocks)), build_threads(n))

    def _order_by_band(self) -> None:
        """Order each cell's men by propensity band (a stable counting sort of the band
        numbers, one cell at a time: no temporaries of the pool's size) and record the bands.

        The men of a cell are exchangeable (every attribute is drawn independently for each
        man), so the order changes no distribution; it lets flight sample candidates per
        band at the band's largest propensity instead of the cell's (far fewer rejections).
        """
        starts, stops, cells, tops = [], [], [], []
        for c, (a, b) in enumerate(zip(self.cell_start.tolist(), self.cell_stop.tolist(), strict=True)):
            if b <= a:
                continue
            band = propensity_band(self.propensity[a:b], float(self.cell_max_propensity[c]))
            order = np.argsort(band, kind="stable")  # 8-bit keys: a radix sort
            for arr in (self.opposition, self.risk_tolerance, self.means, self.family, self.propensity):
                arr[a:b] = arr[a:b][order]
            edges = a + np.searchsorted(band[order], np.arange(N_BANDS + 1, dtype=np.uint8))
            live = (edges[1:] > edges[:-1]).nonzero()[0]
            starts.append(edges[live])
            stops.append(edges[live + 1])
            cells.append(np.full(live.size, c, dtype=np.int64))
            tops.append(np.maximum.reduceat(self.propensity[a:b], edges[live] - a))
        self.band_start = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)
        self.band_stop = np.concatenate(stops) if stops else np.zeros(0, dtype=np.int64)
        self.band_cell = np.concatenate(cells) if cells else np.zeros(0, dtype=np.int64)
        self.band_max_propensity = np.concatenate(tops).astype(np.float64) if tops else np.zeros(0)

    @classmethod
    def build(cls, sc: Scenario, rng: np.random.Generator) -> Pool:
        """Draw the pool for a scenario: cell sizes by largest remainder, then attributes."""
        n_total = round(sc.population.draft_pool / sc.population.scale)
        region_counts = largest_remainder(n_total, np.array([r.pool_share for r in sc.regions]))
        cat_shares = np.array([c.share for c in sc.population.categories])
        counts = np.stack([largest_remainder(int(rc), cat_shares) for rc in region_counts])
        return cls(len(cat_shares), counts, rng, sc)

    # ------------------------------------------------------------------ home counts
    def cells_of(self, men: np.ndarray) -> np.ndarray:
        return self.region[men].astype(np.int64) * self.n_categories + self.category[men]

    def left_home(self, men: np.ndarray) -> np.ndarray | None:
        """Book men leaving HOME in the per-cell home counts; return how many left each
        cell (None if no one did)."""
        if men.size:
            per_cell = np.bincount(self.cells_of(men), minlength=self.home_cells.size)
            self.home_cells -= per_cell
            return per_cell
        return None

    def came_home(self, men: np.ndarray) -> None:
        """Book men returning HOME in the per-cell home counts (and, for men back from
        abroad, in the abroad list's bound on stale entries)."""
        if men.size:
            self.home_cells += np.bincount(self.cells_of(men), minlength=self.home_cells.size)
            self.abroad.note_left(men)

    # ------------------------------------------------------------------ scanned set
    # States whose men the daily rules scan; everyone else is either at HOME (sampled by
    # cell), at the front (in front slots), in the pipeline, or in a terminal state.
    SCANNED = (State.SUMMONED, State.HIDING, State.TRANSIT)
    _SCANNED_SET = frozenset(int(x) for x in SCANNED)
    _SCANNED_LUT = np.isin(np.arange(256, dtype=np.uint8), np.array(SCANNED, dtype=np.uint8))  # state byte -> scanned?

    @property
    def touched(self) -> np.ndarray:
        """Indices of men who may be in a scanned state, in list order (a copy)."""
        return self.scanned.items[self.scanned.states != StateList.DROPPED]

    def set_state(self, men: np.ndarray, value: State, src: State | None = None) -> None:
        """Move ``men`` to state ``value``: every write of a man's state goes through here,
        which keeps the scanned list's copy of the states exact for the scanned states.

        ``src``, when given, is the state all of them leave: a move between two states that
        are not scanned leaves the list alone (a listed man among them keeps an unscanned
        state there until the next compaction drops him; no rule asks for it).
        """
        if men.size:
            self.state[men] = value
            if src is None or src in self._SCANNED_SET or value in self._SCANNED_SET:
                self.scanned.set(men, value)

    def touch(self, idx: np.ndarray) -> None:
        """Add men entering a scanned state to the list (idempotent)."""
        self.scanned.add(idx, self.state)

    def compact(self) -> None:
        """Drop men no longer in a scanned state (they are re-added when they enter one);
        the abroad list is compacted when a fifth of it is stale."""
        self.abroad.compact_if_stale(self.state, State.ABROAD)
        self.scanned.keep(self._SCANNED_LUT[self.scanned.states.view(np.uint8)])  # a table look-up; np.isin sorts

    def in_state(self, state: State) -> np.ndarray:
        """Indices of men currently in a scanned ``state``, in list order.

        The positions first, then a gather: a boolean mask that is true for about half the
        entries (the hiding men, typically) indexes three times slower than its positions.
        """
        return self.scanned.items[(self.scanned.states == state).nonzero()[0]]

    def check_scanned(self) -> bool:
        """Whether the scanned list agrees with the pool (a full check): each live entry's
        state is its man's wherever either is a scanned state, and the positions are right."""
        sl = self.scanned
        live = (sl.states != StateList.DROPPED).nonzero()[0]
        men = sl.items[live]
        listed, actual = sl.states[live], self.state[men]
        lut = self._SCANNED_LUT
        agree = np.where(lut[listed.view(np.uint8)] | lut[actual.view(np.uint8)], listed == actual, True)
        return bool(agree.all()) and np.array_equal(sl.pos[men], live) and np.count_nonzero(sl.pos >= 0) == live.size

    def recount(self, n_states: int) -> np.ndarray:
        """Count men per state from the array (full scan; for ledger checks)."""
        return np.bincount(self.state, minlength=n_states).astype(np.int64)
