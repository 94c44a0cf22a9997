"""Front (ODD 7.5, 7.8): casualties, then defection, then AWOL, morale and distrust.

The day at the front, in this order (the order of random draws):

1. casualties, fixed rates or Lanchester, drawn by thinning; some wounded return later;
2. defection attempts (:class:`sim.submodels.defection.Defection`);
3. AWOL without an offer: unwillingness and low morale past one's threshold;
4. unit morale (D2, P4) and commanders' distrust (D4); the day's attempt share, which
   the Kremlin observes the next morning.
"""

from __future__ import annotations

import numpy as np

from sim.actors import Actors
from sim.config.schema import Scenario
from sim.ledger import State
from sim.mechanisms.front import casualty_rates, step_value, update_morale
from sim.mechanisms.sampling import candidates
from sim.submodels.defection import Defection
from sim.submodels.routes import Routes
from sim.world import World


class Front:
    """Soldiers at the front.

    Reads: ``sc.front``, ``sc.defection`` weights, the pool size and ``accounts.fled_sim``
    (the exodus lowers target morale). Writes: front slots, pool and ledger (FRONT -> KIA,
    WOUNDED_OUT, RECOVERING, HIDING, AWOL), ``accounts`` (kia, wia, awol, kia by origin),
    unit morale and attempt rates, ``signals.region_casualties`` (via the world) and
    ``signals.attempt_share``. Owns the defection submodel and runs it between casualties
    and AWOL.
    """

    def __init__(self, world: World, routes: Routes, actors: Actors, sc: Scenario):
        self.world, self.front, self.pool, self.rng = world, world.front, world.pool, world.rng
        self.accounts, self.signals = world.accounts, world.signals
        self.cfg, self.d_cfg, self.enemy_strength = sc.front, sc.defection, sc.front.enemy_strength
        self.defection = Defection(world, routes, actors, sc)

    def step(self, day: int) -> None:
        """Run the day at the front."""
        fr_cfg, d_cfg, w = self.cfg, self.d_cfg, self.world
        fr, s, rng, acc = self.front, w.scale, self.rng, self.accounts
        self.defection.new_day()
        present = fr.active()
        n_units = fr.n_units
        losses_u = np.zeros(n_units)
        if present.size == 0:
            self.signals.attempt_share = 0.0
            return
        # casualties (fixed rates or Lanchester); thinning: the few soldiers hit today,
        # then killed or wounded in the ratio of the rates
        intensity = step_value(fr_cfg.intensity, day)
        p_kia, p_wia = casualty_rates(fr_cfg.attrition, fr_cfg.kia_rate, fr_cfg.wia_rate, intensity,
                                      present.size * s, self.enemy_strength, fr_cfg.lanchester_coefficient)
        p_hit = p_kia + p_wia
        hit = present[candidates(rng, 0, present.size, p_hit)]
        v = rng.random(hit.size) * p_hit
        kia = hit[v < p_kia]
        wia = hit[v >= p_kia]
        w.count_casualties(kia, wia)
        losses_u += fr.unit_sum(kia) + fr.unit_sum(wia)
        np.add.at(acc.kia_by_origin_sim, fr.origin[kia], 1)
        acc.kia_sim += kia.size
        acc.wia_sim += wia.size
        w.leave_front(kia, State.KIA)
        ret = rng.random(wia.size) < fr_cfg.wia_return_share
        back, out = wia[ret], wia[~ret]
        w.leave_front(out, State.WOUNDED_OUT)
        w.to_pipeline(back, day + fr_cfg.wia_recovery_days)

        present = fr.active()
        gone_total = np.minimum(fr.gone.sum(axis=1) / fr.unit_slots, 1.0)  # before today's defections
        attempt, defect_u, attempts_u, n_tried = self.defection.step(day, present)
        # AWOL without any offer: private unwillingness and low morale past one's threshold
        rest = present[~attempt]
        rest = rest[candidates(rng, 0, rest.size, fr_cfg.awol_rate)]  # thinning: a chance to walk today
        ru = rest // fr.unit_slots
        walk_score = d_cfg.unwillingness_weight * fr.unwillingness[rest] + fr_cfg.morale_weight * (1 - fr.morale[ru]) \
            + d_cfg.social_weight * gone_total[ru] - fr_cfg.home_attachment
        awol = rest[walk_score >= fr.threshold[rest]]
        acc.awol_sim += awol.size
        inside = awol[fr.man_id[awol] >= 0]
        outside = awol[fr.man_id[awol] < 0]
        self.pool.touch(w.leave_front(inside, State.HIDING))
        w.leave_front(outside, State.AWOL)
        # morale (D2, P4) and commanders' distrust (D4)
        slots_u = np.maximum(fr.unit_slots, 1)
        target = fr_cfg.morale_initial - fr_cfg.exodus_morale_weight * (acc.fled_sim / max(self.pool.n, 1))
        fr.morale = update_morale(fr.morale, losses_u / slots_u, defect_u / slots_u, target, fr_cfg.morale_recovery,
                                  fr_cfg.morale_loss_sensitivity, fr_cfg.morale_defection_sensitivity)
        fr.attempt_rate = (0.9 * fr.attempt_rate + 0.1 * attempts_u / slots_u).astype(np.float32)
        self.signals.attempt_share = n_tried * s / max(present.size * s, 1.0)
