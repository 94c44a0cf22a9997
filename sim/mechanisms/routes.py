"""Border queues: first come, first served, with a daily capacity per exit (F2).

Each exit keeps a FIFO of the simulated men waiting at it. Capacity is in real
crossings per day and is shared with background traffic and with the non-eligible
people travelling with each man (F6), so a simulated man uses
``scale * (1 + companions)`` places. Background traffic crosses first, up to the
capacity (assumption: regular travellers hold tickets and bookings; docs/ODD.md 7.3);
leavers get the places that remain, and an exit with none left is closed to them.
"""

from __future__ import annotations

from collections import deque

import numpy as np


class ExitQueue:
    """A FIFO of waiting men at one exit, with fractional capacity carried over."""

    def __init__(self) -> None:
        self._chunks: deque[np.ndarray] = deque()
        self.length = 0
        self._carry = 0.0

    def push(self, men: np.ndarray) -> None:
        if men.size:
            self._chunks.append(men)
            self.length += men.size

    def pop(self, n: int) -> np.ndarray:
        """Remove and return up to ``n`` men from the front of the queue."""
        out: list[np.ndarray] = []
        need = min(n, self.length)
        while need > 0:
            head = self._chunks[0]
            if head.size <= need:
                out.append(self._chunks.popleft())
                need -= head.size
            else:
                out.append(head[:need])
                self._chunks[0] = head[need:]
                need = 0
        if len(out) == 1:
            got = out[0]  # one chunk: no copy (nobody writes into the men returned)
        else:
            got = np.concatenate(out) if out else np.empty(0, dtype=np.int64)
        self.length -= got.size
        return got

    def clear(self) -> np.ndarray:
        return self.pop(self.length)

    def slots_today(self, free_men: float) -> int:
        """How many simulated men can cross today, given the men the exit can let through a
        day (``free_men``); fractions carry to the next day while men are left waiting."""
        free = free_men + self._carry
        n = int(free)
        self._carry = free - n if self.length > n else 0.0
        return n

    def wait_days(self, per_day: float) -> float:
        """Expected wait for a newcomer, in days."""
        return self.length / per_day if per_day > 0 else (0.0 if self.length == 0 else 365.0)
