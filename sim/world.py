"""The world of one run: the people, the front, the ledger and the day's shared signals.

:class:`World` holds every state container the submodels move people through, and the
transitions several submodels share (a soldier leaving the front, a soldier bound to come
back, casualties counted by home region). :class:`Signals` lists every quantity one
submodel passes to another, each with exactly one writer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.accounts import Accounts
from sim.config.schema import Scenario
from sim.geography import Geography
from sim.ledger import N_STATES, Ledger, LedgerError, State
from sim.mechanisms.protest import ProtestPanel
from sim.mechanisms.replacement import Arrival, Pipeline
from sim.mechanisms.routes import ExitQueue
from sim.population import Pool
from sim.soldiers import Front, units_for
from sim.streams import DayStreams


class Window:
    """The last ``maxlen`` rows appended (each a float array of ``shape``, or a float), kept
    oldest first in one contiguous block, so that their sum or mean needs no copy.

    :meth:`sum` and :meth:`mean` equal ``np.sum(rows, axis=0)`` and ``np.mean(rows)`` of
    the same rows in a list (numpy reduces the same contiguous array). A drop-in for the
    ``deque(maxlen=...)`` it replaces: ``append``, ``len``, iteration, indexing.

    Args:
        maxlen: Rows kept.
        shape: Shape of one row (``()`` for floats).
    """

    def __init__(self, maxlen: int, shape: tuple[int, ...] = ()):
        self.maxlen = maxlen
        self._buf = np.zeros((2 * max(maxlen, 1),) + tuple(shape))  # every row written twice: a window is a slice
        self._next = 0  # where the next row goes (0 .. maxlen-1)
        self._n = 0

    def append(self, row) -> None:
        """Add a row; the oldest drops out once ``maxlen`` rows are kept."""
        if self.maxlen <= 0:
            return
        i = self._next
        self._buf[i] = row
        self._buf[i + self.maxlen] = row
        self._next = (i + 1) % self.maxlen
        self._n = min(self._n + 1, self.maxlen)

    def rows(self) -> np.ndarray:
        """The rows, oldest first, shape (len, *shape) (a view: do not keep across appends)."""
        start = self._next if self._n == self.maxlen else 0
        return self._buf[start:start + self._n]

    def sum(self):
        """Sum of the rows (0.0 when empty), as ``np.sum(rows, axis=0)``."""
        return np.add.reduce(self.rows(), axis=0) if self._n else 0.0

    def mean(self) -> float:
        """Mean of scalar rows (``np.mean``: the same sum over the same count, without its
        overhead); 0.0 when empty."""
        return float(np.add.reduce(self.rows()) / self._n) if self._n else 0.0

    def __len__(self) -> int:
        return self._n

    def __iter__(self):
        return iter(self.rows().copy())

    def __getitem__(self, i):
        return self.rows()[i]


@dataclass(eq=False)
class Signals:
    """The day's cross-submodel quantities; each field has one writer (named below).

    Attributes:
        cell_intensity: Smoothed summonses per man per cell, (n_cells,). Writer:
            Mobilization; reader: Flight.
        summons_window: Summonses per region over the last 30 days (a :class:`Window`).
            Writer: Mobilization; reader: Protest.
        wave_reported_sim: Men reported under the call-up waves (simulated). Writer:
            Mobilization; reader: Observed.
        owed_domestic_real: Domestic call-up still owed (real men). Writer: Mobilization;
            reader: Observed.
        exit_demand: Men queued at each exit when it processed its day, (n_exits,).
            Writer: Borders; reader: Routes (next morning's prices).
        admitted_today_real: Real people admitted today per host, (n_hosts,). Writer:
            Borders; reader: Security.
        region_casualties: Pool men killed or wounded per home region (cumulative,
            simulated), (n_regions,). Writer: :meth:`World.count_casualties`; reader: Protest.
        defector_flow_real: Defectors resettled today per host, (n_hosts,). Writer:
            Defection; reader: Security.
        legitimacy, protest_share, protest_active_real: The regime's legitimacy, the active
            share of potential protesters, and active protesters (real). Writer: Protest;
            readers: outputs, Observed.
        arrested_to_summon: Arrested protesters to be served summonses tomorrow, per
            region (simulated). Writer: Protest; reader: Mobilization.
        attempt_share: Today's defection attempts (caught or not) per soldier present at
            the front; ``None`` before the first day. Writer: Front; reader: Observed.
    """

    cell_intensity: np.ndarray
    summons_window: Window
    exit_demand: np.ndarray
    admitted_today_real: np.ndarray
    region_casualties: np.ndarray
    defector_flow_real: np.ndarray
    arrested_to_summon: np.ndarray
    legitimacy: float
    wave_reported_sim: int = 0
    owed_domestic_real: float = 0.0
    protest_share: float = 0.0
    protest_active_real: float = 0.0
    attempt_share: float | None = None


@dataclass(eq=False)
class World:
    """Every state container of a run. Build with :meth:`build`.

    Attributes:
        sc: The scenario; rng: the model's generator (the build's draws come from it).
        streams: The days' random streams, one per submodel (:class:`sim.streams.DayStreams`).
        scale: Real people per simulated individual.
        geo: Static geography; pool: the men; front: the soldiers; ledger: stocks per state.
        pipeline: Arrivals due at the front; queues: one queue per exit.
        panel: Protest panels; accounts: running totals; signals: cross-submodel quantities.
        outside_terminal: Soldiers from outside the pool in terminal states, per state.
    """

    sc: Scenario
    rng: np.random.Generator
    scale: int
    geo: Geography
    pool: Pool
    front: Front
    ledger: Ledger
    panel: ProtestPanel
    accounts: Accounts
    signals: Signals
    pipeline: Pipeline = field(default_factory=Pipeline)
    queues: list[ExitQueue] = field(default_factory=list)
    outside_terminal: np.ndarray = field(default_factory=lambda: np.zeros(N_STATES, dtype=np.int64))
    streams: DayStreams | None = None

    def stream(self, name: str) -> np.random.Generator:
        """The random stream submodel ``name`` draws from (:data:`sim.streams.STREAMS`).

        Raises:
            KeyError: ``name`` is not a stream's name.
        """
        return self.streams[name]

    @classmethod
    def build(cls, sc: Scenario, rng: np.random.Generator) -> World:
        """Draw the pool, place the initial force, seed the ledger and draw the protest panels.

        The draws come in this order: the pool, the initial soldiers, the panels, the seed
        of the days' streams (:meth:`sim.streams.DayStreams.spawn`).
        """
        pool = Pool.build(sc, rng)
        geo = Geography.from_scenario(sc, pool.counts)
        ledger = Ledger(geo.source_names)
        ledger.seed(State.HOME, pool.n)
        fr, pop, s = sc.front, sc.population, sc.population.scale
        front = Front(*units_for(sc), len(sc.offers), geo.origin_names, fr.morale_initial)
        n_init = round(fr.initial_strength / s)
        n_occ = round(n_init * fr.initial_occupied_share)
        occ_origin = geo.origin_names.index("occupied") if "occupied" in geo.origin_names else 0
        origins = np.where(np.arange(n_init) < n_init - n_occ, 0, occ_origin).astype(np.int8)
        front.add(rng, sc, origins, np.full(n_init, fr.initial_quality, dtype=np.float32),
                  np.full(n_init, -1, dtype=np.int64), pop.family_ties_share, day=-fr.initial_service_days)
        ledger.seed(State.FRONT, n_init)
        n_regions, n_hosts = len(sc.regions), len(sc.hosts)
        panel = ProtestPanel(rng, n_regions, sc.protest.panel_per_region, np.array([r.police_ratio for r in sc.regions]))
        accounts = Accounts.empty(n_hosts, len(geo.source_names), len(geo.origin_names), len(sc.offers), geo.burden_share)
        signals = Signals(
            cell_intensity=np.zeros(pool.cell_stop.size), summons_window=Window(30, (n_regions,)),
            exit_demand=np.zeros(len(sc.exits)), admitted_today_real=np.zeros(n_hosts),
            region_casualties=np.zeros(n_regions), defector_flow_real=np.zeros(n_hosts),
            arrested_to_summon=np.zeros(n_regions, dtype=np.int64), legitimacy=sc.protest.legitimacy_initial)
        return cls(sc=sc, rng=rng, scale=s, geo=geo, pool=pool, front=front, ledger=ledger, panel=panel,
                   accounts=accounts, signals=signals, queues=[ExitQueue() for _ in sc.exits],
                   streams=DayStreams.spawn(rng))

    # ------------------------------------------------------------------ shared transitions
    def leave_front(self, slots: np.ndarray, dst: State) -> np.ndarray:
        """Soldiers leave the front for ``dst`` (ledger and pool updated, slots freed).

        Args:
            slots: Front slot indices, shape (n,).
            dst: The state they move to.

        Returns:
            The pool indices of the men among them (soldiers from outside have none).
        """
        if slots.size == 0:
            return np.empty(0, dtype=np.int64)
        return self._leave(slots, self.front.man_id[slots], dst)

    def _leave(self, slots: np.ndarray, men: np.ndarray, dst: State) -> np.ndarray:
        """:meth:`leave_front` with the slots' ``man_id`` already gathered (``men``)."""
        inside = men >= 0
        pool_men = men[inside]
        self.pool.set_state(pool_men, dst, src=State.FRONT)
        self.ledger.move(State.FRONT, dst, slots.size)
        if dst not in (State.TRAINING, State.RECOVERING, State.HIDING):
            self.outside_terminal[dst] += slots.size - pool_men.size
        self.front.remove(slots)
        return pool_men

    def to_pipeline(self, slots: np.ndarray, arrive: int) -> None:
        """Soldiers who will come back (wounded who recover, men sent back) keep their
        origin and mean quality per origin, and reach the front again on day ``arrive``."""
        fr = self.front
        if slots.size == 0:
            return
        # gathered once for every origin group (and for leaving the front)
        origins, men, quality = fr.origin[slots], fr.man_id[slots], fr.quality[slots]
        inside = men >= 0
        if origins[0] == origins[-1] and (origins == origins[0]).all():  # one origin (usual): no grouping
            groups = [(int(origins[0]), inside, ~inside)]
        else:
            groups = []
            for origin in np.bincount(origins.view(np.uint8)).nonzero()[0].tolist():
                grp = origins == origin
                groups.append((origin, grp & inside, grp & ~inside))
        for origin, ins, out in groups:
            n_in = int(np.count_nonzero(ins))
            n_out = int(np.count_nonzero(out))
            # mean quality as np.mean computes it for float32 (a float32 sum over n, rounded
            # to float32) without np.mean's overhead
            if n_in:
                self.pipeline.add(arrive, Arrival(origin, float(quality[ins].sum() / n_in), men[ins], n_in, State.RECOVERING))
            if n_out:
                self.pipeline.add(arrive, Arrival(origin, float(quality[out].sum() / n_out), None, n_out, State.RECOVERING))
        self._leave(slots, men, State.RECOVERING)

    def count_casualties(self, kia: np.ndarray, wia: np.ndarray) -> None:
        """Add pool men among the killed and wounded slots to their home region's casualties."""
        both = np.concatenate([kia, wia])
        men = self.front.man_id[both]
        men = men[men >= 0]
        if men.size:
            self.signals.region_casualties += np.bincount(self.pool.region[men], minlength=self.signals.region_casualties.size)

    # ------------------------------------------------------------------ ledger
    def recount(self) -> np.ndarray:
        """Independent count of every state from the arrays (pool, front slots, pipeline)."""
        counts = self.pool.recount(N_STATES)
        fr = self.front
        counts[State.FRONT] += int((fr.occupied & (fr.man_id < 0)).sum())
        for lst in self.pipeline._by_day.values():
            for a in lst:
                if a.men is None:
                    counts[a.ledger_state] += a.count
        counts += self.outside_terminal
        return counts

    def check_ledger(self) -> None:
        """Raise LedgerError if the ledger does not balance against a recount, or the front's
        per-unit sums or the scanned list's states disagree with their arrays."""
        self.ledger.check(self.recount())
        fr = self.front
        if fr.occupied.sum() != self.ledger.stock[State.FRONT]:
            raise LedgerError("front slots != FRONT stock")
        if not np.array_equal(fr.head_count, fr.occupied.reshape(fr.n_units, fr.unit_slots).sum(axis=1)):
            raise LedgerError("front head counts per unit != occupied slots")
        q = np.where(fr.occupied, fr.quality.astype(np.float64), 0.0).reshape(fr.n_units, fr.unit_slots).sum(axis=1)
        if not np.array_equal(fr.quality_sum, q):  # exact: float32 values summed in float64
            raise LedgerError("front quality sums per unit != qualities of occupied slots")
        if not self.pool.check_scanned():
            raise LedgerError("the scanned list's states or positions != the pool's")
