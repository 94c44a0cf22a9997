"""The state ledger: every tracked person is in exactly one state; every move is counted.

People are pool men (draft-eligible, indexed in :class:`sim.population.Pool`) and soldiers
who entered from outside the pool (initial force, contract, prisoners, occupied
territories). Counts are in simulated individuals; outputs multiply by the scale.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class State(IntEnum):
    """Ledger states. Values are stored in int8 arrays."""

    HOME = 0
    SUMMONED = 1
    HIDING = 2  # evading at home: summoned men who hide, blocked leavers, AWOL pool men (P3)
    TRANSIT = 3  # travelling to or queued at an exit
    ABROAD = 4  # admitted by a host (sub-counted by host)
    TRAINING = 5  # reported or recruited, not yet at the front
    FRONT = 6
    RECOVERING = 7  # wounded who will return, and caught men sent back on suspended sentences
    WOUNDED_OUT = 8  # wounded and discharged
    KIA = 9
    DEFECTED = 10  # crossed over under an offer (sub-counted by offer)
    IMPRISONED = 11  # caught deserters, repatriated defectors
    EXECUTED = 12
    AWOL = 13  # soldiers from outside the pool who walked away
    CAPTURED = 14  # taken prisoner by the enemy in combat (involuntary; prisoners of war)


N_STATES = len(State)


class LedgerError(AssertionError):
    """The ledger does not balance."""


class Ledger:
    """Stock per state and a flow matrix, plus exogenous inflows by source.

    Args:
        sources: Names of exogenous inflow sources (replacement sources, the initial force).
    """

    def __init__(self, sources: list[str]):
        self.stock = np.zeros(N_STATES, dtype=np.int64)
        self.flows = np.zeros((N_STATES, N_STATES), dtype=np.int64)
        self.inflow = {s: 0 for s in sources}
        self.initial_total = 0

    def seed(self, state: State, n: int, source: str | None = None) -> None:
        """Put ``n`` people into ``state`` at initialisation (or as an exogenous inflow)."""
        self.stock[state] += n
        if source is None:
            self.initial_total += n
        else:
            self.inflow[source] += n

    def move(self, src: State, dst: State, n: int) -> None:
        """Record ``n`` people moving from ``src`` to ``dst``."""
        if n == 0 or src == dst:
            return
        self.stock[src] -= n
        self.stock[dst] += n
        self.flows[src, dst] += n

    def move_many(self, src: np.ndarray, dst: State) -> None:
        """Record a vector of individual moves (``src`` holds each person's old state)."""
        if src.size == 0:
            return
        counts = np.bincount(src, minlength=N_STATES)
        for s in np.flatnonzero(counts):
            self.move(State(s), dst, int(counts[s]))

    @property
    def total(self) -> int:
        return int(self.stock.sum())

    def check(self, recount: np.ndarray | None = None) -> None:
        """Raise LedgerError unless stocks are non-negative, total = initial + inflows,
        and (if given) the stocks equal an independent recount from the arrays."""
        if (self.stock < 0).any():
            raise LedgerError(f"negative stock: {dict(zip(State.__members__, self.stock.tolist(), strict=False))}")
        expected = self.initial_total + sum(self.inflow.values())
        if self.total != expected:
            raise LedgerError(f"total {self.total} != initial {self.initial_total} + inflows {expected - self.initial_total}")
        if recount is not None and not np.array_equal(recount, self.stock):
            diff = {State(i).name: (int(self.stock[i]), int(recount[i])) for i in np.flatnonzero(recount != self.stock)}
            raise LedgerError(f"ledger != recount (ledger, recount): {diff}")
