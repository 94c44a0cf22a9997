"""The random streams of a run's days: one per submodel, realigned at every step.

Scenarios are compared with common random numbers (CRN): every scenario of a comparison
runs replication ``i`` with the same seed, so that the paired difference is not swamped by
noise both runs share. CRN reduce the variance of a difference only as far as the two runs
use the same random numbers for the same purposes ("synchronization": Law 2015,
*Simulation Modeling and Analysis*, 5th ed., section 11.2). With one stream for a whole run,
one extra draw (an offer's awareness draws on day 0) moves every later draw of every
submodel; the model had that layout until this module, and by day 365 its paired runs were
uncorrelated (docs/ODD.md, section 4.9, has the measurement).

:class:`DayStreams` synchronizes in two ways:

- each submodel that draws has its own stream (:data:`STREAMS`), so the number of draws
  one submodel makes does not move another's;
- at the start of step ``k`` every stream is put ``k`` jumps from its start
  (``PCG64DXSM.jumped(k)``: numpy's jump of about 0.618 x 2**128 draws), so a day's draws
  start at the same place in every paired run, whatever earlier days drew: what one
  day's different events desynchronize, the next day realigns.

The streams are PCG64DXSM generators, the variant numpy recommends where many streams are
made by jumping (numpy's "Upgrading PCG64 with PCG64DXSM"), seeded from children of one
``SeedSequence`` whose entropy is drawn from the model's generator after the build's
draws: same seed, same streams, on any worker.
"""

from __future__ import annotations

import numpy as np

#: Submodels that draw, each from its own stream (the order fixes each stream's seed). The
#: routes (:class:`sim.submodels.routes.Routes`) draw a leaver's exit from the stream of the
#: submodel that sends him (mobilization or flight).
STREAMS = ("mobilization", "flight", "borders", "pipeline", "front", "defection", "protest", "security")

#: ``PCG64DXSM.jumped``'s step: the golden ratio's fractional part times 2**128, odd (numpy).
JUMP = 0x9E3779B97F4A7C15F39CC0605CEDC835


class DayStreams:
    """One generator per name of :data:`STREAMS`, realigned by :meth:`align` every step.

    Args:
        generators: The streams by name (from :meth:`spawn`); their current states are the
            start each :meth:`align` counts from.
    """

    def __init__(self, generators: dict[str, np.random.Generator]):
        self.generators = generators
        self._start = [(g.bit_generator, g.bit_generator.state) for g in generators.values()]

    @classmethod
    def spawn(cls, rng: np.random.Generator) -> DayStreams:
        """The streams of a run: two 63-bit draws from ``rng`` seed a ``SeedSequence``, whose
        children (in the order of :data:`STREAMS`) seed one PCG64DXSM generator each."""
        seeds = np.random.SeedSequence(rng.integers(2**63, size=2).tolist()).spawn(len(STREAMS))
        return cls({name: np.random.Generator(np.random.PCG64DXSM(s)) for name, s in zip(STREAMS, seeds, strict=True)})

    def __getitem__(self, name: str) -> np.random.Generator:
        """The stream of submodel ``name``.

        Raises:
            KeyError: ``name`` is not one of :data:`STREAMS`.
        """
        if name not in self.generators:
            raise KeyError(f"no random stream {name!r}; the streams are {', '.join(STREAMS)}")
        return self.generators[name]

    def align(self, step: int) -> None:
        """Put every stream at the start of step ``step``'s block: ``step`` jumps from its
        start (the state ``PCG64DXSM.jumped(step)`` has, set in place: about 4 µs a stream).

        Args:
            step: The model's step count (``model.time``, 1 on the first day), >= 0.
        """
        delta = (step * JUMP) % (1 << 128)
        for bg, state in self._start:
            bg.state = state
            bg.advance(delta)
