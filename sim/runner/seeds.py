"""Replication seeds: every replication's stream comes from one root ``SeedSequence``.

Replication ``i`` gets ``SeedSequence(root_seed).spawn(...)[i]``, i.e. entropy
``root_seed`` and spawn key ``(i,)``. Building it directly from the key (rather than
spawning all N children) gives the same sequence, so a job can be described by plain
integers, sent to any worker, and the seed for replication 7 does not depend on how
many replications the ensemble has: growing an ensemble or resuming it keeps every
existing replication's seed. Scenarios in a comparison share root seed and index, which
is what makes their differences paired (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ReplicationSeed:
    """Plain-data description of one replication's seed.

    Attributes:
        root_seed: Entropy of the root ``SeedSequence``.
        spawn_key: Spawn key of the child; ``(i,)`` for replication ``i``.
    """

    root_seed: int
    spawn_key: tuple[int, ...]

    def sequence(self) -> np.random.SeedSequence:
        """The ``numpy.random.SeedSequence`` this describes."""
        return np.random.SeedSequence(self.root_seed, spawn_key=self.spawn_key)

    def to_json(self) -> dict[str, object]:
        """Manifest form: ``{"entropy": root, "spawn_key": [...]}``."""
        return {"entropy": self.root_seed, "spawn_key": list(self.spawn_key)}


def replication_seed(root_seed: int, replication: int) -> ReplicationSeed:
    """Seed of replication ``replication`` (0-based) under ``root_seed``."""
    if replication < 0:
        raise ValueError("replication index must be >= 0")
    return ReplicationSeed(int(root_seed), (int(replication),))


def replication_seeds(root_seed: int, n: int) -> list[ReplicationSeed]:
    """Seeds of replications ``0..n-1``; equal to ``SeedSequence(root_seed).spawn(n)``."""
    return [replication_seed(root_seed, i) for i in range(n)]
