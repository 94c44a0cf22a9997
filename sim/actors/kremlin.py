"""The Kremlin: call-ups, replacement orders, exit restriction, counter-measures, concessions."""

from __future__ import annotations

import numpy as np

from sim.config.schema import KremlinConfig, MobilizationConfig
from sim.lazy_mesa import mesa
from sim.mechanisms.front import step_value
from sim.mechanisms.mobilization import wave_target
from sim.mechanisms.replacement import orders
from sim.world import Window


class Kremlin(mesa.Agent):
    """Decides once a day from what the state can observe: ``model.observed``
    (:class:`sim.observed.Observed`, aggregates in real people, not private views).

    Attributes (read by the model and the data collector):
        callup_factor: Multiplier on call-up rates after concessions (P1).
        concessions: Concessions made so far.
        restriction_active: Whether exits are closed to military-age men (F3).
        detection, punishment, reprisal: Counter-defection levels (D16, D19, D15).
        owed_wave: Men the call-up waves still owe today.
        orders_today: Replacement orders per source (real men).
    """

    def __init__(self, model: mesa.Model, cfg: KremlinConfig, mob: MobilizationConfig, source_names: list[str]):
        super().__init__(model)
        self.cfg = cfg
        self.waves = [(w.day, w.total, w.duration_days) for w in mob.waves]
        self.front_loading = mob.front_loading
        self.source_names = source_names
        src = cfg.replacement.sources
        self._elasticity = np.array([s.elasticity for s in src])
        self._cap_day = np.array([s.cap_per_day for s in src])
        self.cap_left = np.array([s.cap_total for s in src])
        self._start = np.array([s.start_day for s in src])
        self.callup_factor = 1.0
        self.concessions = 0
        self._protest_days = 0
        self.restriction_triggered_day: int | None = None
        self.restriction_active = False
        cd = cfg.counter_defection
        self.detection, self.punishment, self.reprisal = cd.detection_base, cd.punishment_base, cd.reprisal_base
        self._attempts = Window(cd.window_days)  # attempt shares seen, the last window_days days
        self.owed_wave = 0.0
        self._wave_due = 0.0  # men the waves have asked for so far, at the (conceded) daily rate
        self._domestic = np.array([s.name == "domestic_callup" for s in src])
        self.orders_today = np.zeros(len(src))
        self.defection_rate = 0.0

    def step(self) -> None:
        """Decide today's levels and orders from ``model.observed`` (yesterday's aggregates)."""
        m = self.model
        seen = m.observed
        day = m.day
        cfg = self.cfg
        if seen.attempt_share is not None:
            self._attempts.append(seen.attempt_share)  # yesterday's attempts seen at the front
        # exit restriction (F3)
        er = cfg.exit_restriction
        if er.enabled and self.restriction_triggered_day is None and seen.fled_real >= er.trigger_fled:
            self.restriction_triggered_day = day
        self.restriction_active = self.restriction_triggered_day is not None and day >= self.restriction_triggered_day + er.delay_days
        # counter-defection rises with the observed rate (D16, D19, D15)
        cd = cfg.counter_defection
        self.defection_rate = self._attempts.mean()
        self.detection = min(cd.detection_max, cd.detection_base + cd.detection_slope * self.defection_rate)
        self.punishment = cd.punishment_base + cd.punishment_slope * self.defection_rate
        self.reprisal = cd.reprisal_base + cd.reprisal_slope * self.defection_rate
        # concessions under sustained protest (P1)
        con = cfg.concessions
        self._protest_days = self._protest_days + 1 if seen.protest_share > con.protest_threshold else 0
        if self._protest_days > con.lag_days and self.concessions < con.max_concessions:
            self.concessions += 1
            self.callup_factor *= 1.0 - con.callup_slowdown
            self._protest_days = 0
        # call-up waves still owed (R3); a concession slows the daily rate from then on
        self._wave_due += (wave_target(day, self.waves, self.front_loading) - wave_target(day - 1, self.waves, self.front_loading)) * self.callup_factor
        self.owed_wave = max(0.0, self._wave_due - seen.mobilized_wave_real)
        # replacement orders for the front's shortfall (R1)
        target = step_value(cfg.replacement.target_strength, day)
        # summoned men are part of what is still owed, so they are not subtracted again
        shortfall = target - seen.front_real - seen.pipeline_real - self.owed_wave - seen.owed_domestic_real
        if shortfall > 0.0:
            cap_day = np.where(self._domestic, self._cap_day * self.callup_factor, self._cap_day)
            self.orders_today = orders(shortfall, day, self._elasticity, cap_day, self.cap_left, self._start)
            self.cap_left = self.cap_left - self.orders_today
        else:  # no shortfall (most days): nothing ordered from any source, the caps unchanged
            self.orders_today = np.zeros(self._elasticity.size)
