"""Soldiers at the front as a struct of arrays, stored contiguously by unit.

Slot ``s`` belongs to unit ``s // unit_slots``, so unit totals are ``np.add.reduceat`` or
``bincount`` over slot blocks. A soldier who leaves frees his slot; arrivals fill the
emptiest units first (rotation into depleted units). Pool men keep their pool index in
``man_id``; soldiers from outside the pool have ``man_id == -1``.
"""

from __future__ import annotations

import numpy as np

from sim.config.schema import Scenario

BYTES_PER_SLOT = 32
HEADROOM = 1.1  # initial slots per simulated soldier of the largest planned force


def units_for(sc: Scenario) -> tuple[int, int]:
    """The front's initial size: the ONE sizing formula (model and memory estimate).

    Units hold ``unit_size / scale`` simulated soldiers (at least one); there are enough
    units for ``HEADROOM`` times the largest force the scenario plans (initial strength or
    any replacement target), plus one. The front grows past this on demand.

    Returns:
        ``(n_units, unit_slots)``.
    """
    scale = sc.population.scale
    unit_slots = max(1, round(sc.front.unit_size / scale))
    biggest = max([sc.front.initial_strength] + [v for _, v in sc.kremlin.replacement.target_strength])
    n_units = int(np.ceil(HEADROOM * biggest / scale / unit_slots)) + 1
    return n_units, unit_slots


def slots_for(sc: Scenario) -> int:
    """Initial number of front slots (simulated soldiers) for ``sc``; see :func:`units_for`."""
    n_units, unit_slots = units_for(sc)
    return n_units * unit_slots


class Front:
    """All front slots and per-unit state.

    Totals are kept up to date as soldiers come and go, so that a day costs per event, not
    per slot: head counts and summed quality per unit (:meth:`add`, :meth:`remove`), the
    soldiers aware of each offer (:meth:`make_aware`, :meth:`remove`), the units' gone
    counts over all offers (:meth:`count_gone`); write ``aware`` and ``gone`` only through
    these methods.

    Args:
        n_units: Initial number of units (grows on demand).
        unit_slots: Simulated soldiers per unit.
        n_offers: Number of offers (awareness is a bitmask, so at most 8).
        origins: Names of soldier origins (index = origin code).
    """

    def __init__(self, n_units: int, unit_slots: int, n_offers: int, origins: list[str], morale0: float):
        if n_offers > 8:
            raise ValueError("at most 8 offers can run at once")
        self.unit_slots = unit_slots
        self.n_offers = n_offers
        self.origins = origins
        self.morale0 = morale0
        self.n_units = 0
        self.occupied = np.zeros(0, dtype=bool)
        self.head_count = np.zeros(0, dtype=np.int64)  # soldiers present per unit, kept up to date
        self.quality_sum = np.zeros(0)  # summed quality of the soldiers present per unit, kept up to date
        self.man_id = np.zeros(0, dtype=np.int64)
        self.origin = np.zeros(0, dtype=np.int8)
        self.quality = np.zeros(0, dtype=np.float32)
        self.unwillingness = np.zeros(0, dtype=np.float32)
        self.taste = np.zeros(0, dtype=np.float32)
        self.family = np.zeros(0, dtype=bool)
        self.aware = np.zeros(0, dtype=np.uint8)  # bit o: knows of offer o; set only by :meth:`make_aware`
        self.aware_count = [0] * max(n_offers, 1)  # soldiers aware of each offer (free slots never are), kept up to date
        self.considered = np.zeros(0, dtype=np.uint8)  # bit o: has considered offer o (a request is made once)
        self.arrived = np.zeros(0, dtype=np.int32)  # day he (last) reached the front
        self.arrived_min = np.iinfo(np.int32).max  # the earliest ``arrived`` ever given (a bound for every soldier present)
        self.morale = np.zeros(0, dtype=np.float32)  # per unit; written by the front phase (sim.submodels.front)
        self.morale_uniform = True  # every unit has the same morale (the same start, the same daily update)
        self.gone = np.zeros((0, max(n_offers, 1)), dtype=np.float32)  # defected per unit and offer: see :meth:`count_gone`
        self.gone_total = np.zeros(0, dtype=np.float32)  # ``gone.sum(axis=1)``, kept up to date
        self._gone_shares: dict = {}  # :meth:`gone_share`'s results until ``gone`` changes
        self.attempt_rate = np.zeros(0, dtype=np.float32)
        self._grow(n_units)

    def _grow(self, extra_units: int) -> None:
        add = extra_units * self.unit_slots

        def ext(a: np.ndarray, fill, n: int = add) -> np.ndarray:
            shape = (n,) + a.shape[1:]
            return np.concatenate([a, np.full(shape, fill, dtype=a.dtype)])

        self.occupied = ext(self.occupied, False)
        self.head_count = ext(self.head_count, 0, extra_units)
        self.quality_sum = ext(self.quality_sum, 0.0, extra_units)
        self.man_id = ext(self.man_id, -1)
        self.origin = ext(self.origin, 0)
        self.quality = ext(self.quality, 0.0)
        self.unwillingness = ext(self.unwillingness, 0.0)
        self.taste = ext(self.taste, 0.5)
        self.family = ext(self.family, False)
        self.aware = ext(self.aware, 0)
        self.considered = ext(self.considered, 0)
        self.arrived = ext(self.arrived, 0)
        self.morale_uniform = self.morale_uniform and (self.n_units == 0 or bool(self.morale[0] == np.float32(self.morale0)))
        self.morale = ext(self.morale, self.morale0, extra_units)
        self.gone = ext(self.gone, 0.0, extra_units)
        self.gone_total = ext(self.gone_total, 0.0, extra_units)
        self._gone_shares.clear()
        self.attempt_rate = ext(self.attempt_rate, 0.0, extra_units)
        self.n_units += extra_units
        self._unit_of_slot = np.arange(self.occupied.size) // self.unit_slots

    @property
    def unit_of_slot(self) -> np.ndarray:
        """Unit of each slot (cached; rebuilt when units are added). Do not modify."""
        return self._unit_of_slot

    def active(self) -> np.ndarray:
        """Slot indices of soldiers present at the front."""
        return self.occupied.nonzero()[0]

    def morale_range(self, initial: float) -> tuple[float, float]:
        """The lowest and highest unit morale, and ``initial`` (one unit's when all are the same)."""
        morale = self.morale[:1] if self.morale_uniform else self.morale
        return float(morale.min(initial=initial)), float(morale.max(initial=initial))

    def morale_of(self, units: np.ndarray) -> np.ndarray:
        """Morale of ``units``; one value (it broadcasts) when all units have the same."""
        return self.morale[:1] if self.morale_uniform else self.morale[units]

    def unit_present(self) -> np.ndarray:
        """Soldiers present per unit (kept up to date by :meth:`add` and :meth:`remove`; a copy)."""
        return self.head_count.copy()

    def _free_slots(self, n: int) -> np.ndarray:
        """The first ``n`` free slots, emptiest units first and, within a unit, lowest slot
        first (the order of a stable sort of all free slots by their unit's head count),
        from the head counts: only the units needed are looked at."""
        us = self.unit_slots
        # emptiest first, then by unit: the units with 0 soldiers, then those with 1, ... (a
        # stable sort by head count), only as many head counts as needed (usually the first)
        found, free_slots = [], 0
        for count in range(us):
            units = (self.head_count == count).nonzero()[0]
            k = min(units.size, -(-(n - free_slots) // (us - count)))  # units of this count needed
            found.append(units[:k])
            free_slots += k * (us - count)
            if free_slots >= n:
                break
        units = np.concatenate(found) if len(found) > 1 else found[0]
        free = ~self.occupied.reshape(self.n_units, us)[units]
        return (units[:, None] * us + np.arange(us))[free][:n]

    def add(self, rng: np.random.Generator, sc: Scenario, origin: np.ndarray, quality: np.ndarray,
            man_ids: np.ndarray, family_share: float, opposition: np.ndarray | None = None,
            family: np.ndarray | None = None, day: int = 0) -> np.ndarray:
        """Place new soldiers (one per entry of the arrays) in the emptiest units and give
        them their hidden traits. ``man_ids`` is -1 for soldiers from outside the pool.

        A man from the pool keeps his private opposition (as his unwillingness, D1) and his
        family ties (D15): pass the pool's ``opposition`` and ``family`` arrays (indexed by
        pool man). Soldiers from outside the pool draw unwillingness from
        ``front.unwillingness`` and family ties with probability ``family_share``. Every
        soldier draws his persistent taste, a uniform in [0, 1): the quantile of his
        idiosyncratic (logistic) utility of leaving the war, used by every choice he makes
        (:mod:`sim.submodels.defection`). ``day`` is the day they reach the front (their
        time served, for war weariness, counts from it; a wounded man who returns starts
        again).

        Returns:
            The slot indices filled, in the order of the arrays.
        """
        n = origin.size
        if n <= 0:
            return np.empty(0, dtype=np.int64)
        n_free = self.occupied.size - int(self.head_count.sum())
        if n_free < n:
            self._grow(int(np.ceil((n - n_free) / self.unit_slots)) + 1)
        # emptiest units first; within a unit, lowest slot first
        slots = self._free_slots(n)
        fr = sc.front
        self.occupied[slots] = True
        units = slots // self.unit_slots
        np.add.at(self.head_count, units, 1)
        self.man_id[slots] = man_ids
        self.origin[slots] = origin
        self.quality[slots] = quality
        np.add.at(self.quality_sum, units, self.quality[slots])
        unw = rng.beta(fr.unwillingness.a, fr.unwillingness.b, n).astype(np.float32)
        fam = rng.random(n) < family_share
        inside = man_ids >= 0
        if opposition is not None and inside.any():
            unw[inside] = opposition[man_ids[inside]]
        if family is not None and inside.any():
            fam[inside] = family[man_ids[inside]]
        self.unwillingness[slots] = unw
        self.family[slots] = fam
        self.taste[slots] = rng.random(n, dtype=np.float32)
        self.considered[slots] = 0  # (free slots are never aware)
        self.arrived[slots] = day
        self.arrived_min = min(self.arrived_min, int(day))
        return slots

    def remove(self, slots: np.ndarray) -> None:
        """Free slots of soldiers who left the front."""
        self.occupied[slots] = False
        units = slots // self.unit_slots
        np.subtract.at(self.head_count, units, 1)
        # float32 qualities summed in float64 are exact (values of similar size, a unit's
        # total far below 2**29 times the smallest): no drift from adding and removing
        np.subtract.at(self.quality_sum, units, self.quality[slots])
        self.man_id[slots] = -1
        aware = self.aware[slots]
        if aware.any():
            for o in range(self.n_offers):
                self.aware_count[o] -= int(np.count_nonzero(aware & np.uint8(1 << o)))
            self.aware[slots] = 0
        self.considered[slots] = 0

    def make_aware(self, slots: np.ndarray, offer: int) -> None:
        """The soldiers in ``slots`` (distinct, present, not yet aware of ``offer``) learn of it."""
        self.aware[slots] |= np.uint8(1 << offer)
        self.aware_count[offer] += slots.size

    def count_gone(self, slots: np.ndarray, offer: int) -> None:
        """Count the soldiers of ``slots`` who left under ``offer`` in their units' ``gone``."""
        units = slots // self.unit_slots
        np.add.at(self.gone[:, offer], units, 1)
        np.add.at(self.gone_total, units, 1)
        self._gone_shares.clear()

    def gone_share(self, offer: int | None = None) -> tuple[np.ndarray, float, np.ndarray]:
        """Share of each unit gone under ``offer`` (under any offer if None), capped at 1, its
        largest value, and the units where it is positive; computed again only when
        ``gone`` has changed (the arrays are shared: do not modify)."""
        if offer not in self._gone_shares:
            share = np.minimum((self.gone_total if offer is None else self.gone[:, offer]) / self.unit_slots, 1.0)
            self._gone_shares[offer] = (share, float(share.max(initial=0.0)), np.flatnonzero(share > 0.0))
        return self._gone_shares[offer]

    def unit_sum(self, slots: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Per-unit totals of an event over the given slots."""
        return np.bincount(slots // self.unit_slots, weights=weights, minlength=self.n_units)
