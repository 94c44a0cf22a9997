"""What the institutions observe: one frozen snapshot per day, in real people.

This is the boundary from simulated individuals to the aggregates a state (or an offer
maker) can see. The model computes it once at the end of each day; the Kremlin and the
offer makers read the snapshot the next morning. Nothing else crosses from the world to
the institutions.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.ledger import State
from sim.mechanisms.front import distrust_factor
from sim.world import World


@dataclass(frozen=True)
class Observed:
    """Yesterday's aggregates as institutions see them (real people unless noted).

    Attributes:
        front_real: Soldiers present at the front.
        front_effective_real: Front strength weighted by quality and commanders' distrust
            (trained-soldier equivalents).
        pipeline_real: Men in training or recovering.
        summoned_real: Men summoned who have not yet answered.
        fled_real: Men admitted abroad so far (cumulative).
        mobilized_wave_real: Men reported under the call-up waves so far.
        owed_domestic_real: Domestic call-up still owed.
        protest_share: Active share of potential protesters (0-1).
        attempt_share: Defection attempts per soldier present (``None`` before day one).
    """

    front_real: float
    front_effective_real: float
    pipeline_real: float
    summoned_real: float
    fled_real: float
    mobilized_wave_real: float
    owed_domestic_real: float
    protest_share: float
    attempt_share: float | None

    @classmethod
    def of(cls, world: World) -> Observed:
        """Take today's snapshot of ``world`` (called once per day, after the last phase)."""
        st, s = world.ledger.stock, world.scale
        return cls(
            front_real=float(st[State.FRONT] * s),
            front_effective_real=float(_effective_quality(world) * s),
            pipeline_real=float((st[State.TRAINING] + st[State.RECOVERING]) * s),
            summoned_real=float(st[State.SUMMONED] * s),
            fled_real=float(world.accounts.fled_sim * s),
            mobilized_wave_real=float(world.signals.wave_reported_sim * s),
            owed_domestic_real=world.signals.owed_domestic_real,
            protest_share=world.signals.protest_share,
            attempt_share=world.signals.attempt_share,
        )


def _effective_quality(world: World) -> float:
    """The front's summed quality, each unit's weighted by its commanders' distrust
    (:func:`~sim.mechanisms.front.distrust_factor`), summed over units.

    Only units whose commanders saw attempts (a non-zero attempt rate: a few percent of
    units at most) have a factor other than 1, which is exact (``q * 1.0 == q``); so the
    factor is computed for those units alone, and the sum is over the same per-unit values
    in the same order as ``(quality_sum * factor).sum()`` (no BLAS: its threads spin).
    """
    fr, cfg = world.front, world.sc.front
    seen = (fr.attempt_rate != 0).nonzero()[0]  # a boolean pass: nonzero() over floats is slower
    if seen.size == 0:
        return fr.quality_sum.sum()
    weighted = fr.quality_sum.copy()
    weighted[seen] *= distrust_factor(fr.attempt_rate[seen], cfg.distrust_reference_rate, cfg.distrust_weight)
    return weighted.sum()
