"""Protest (ODD 7.9): the Epstein rule per region, arrests, legitimacy.

Hardship rises with the call-up's announcement, the month's summonses and casualties per
region; legitimacy falls with national casualties, the exodus (exit and voice) and the
memory of protest. Each region's panel of potential protesters applies the rule
(:class:`sim.mechanisms.protest.ProtestPanel`); arrested men of draft age are summoned
the next day (P2).
"""

from __future__ import annotations

import numpy as np

from sim.actors import Actors
from sim.config.schema import Scenario
from sim.ledger import State
from sim.mechanisms import flight as fl
from sim.mechanisms.protest import exit_voice_shift
from sim.mechanisms.replacement import stochastic_round
from sim.submodels.routes import Routes
from sim.world import World


class Protest:
    """Voice at home.

    Reads: ``sc.protest``, wave days and ``sc.flight.rumour_decay_days``,
    ``sc.mobilization.arrested_protesters_summoned``, men at home and hiding per region,
    ``signals.summons_window`` and ``region_casualties``, ``accounts`` (fled, kia, wia).
    Writes: the protest panels, ``accounts.arrests_real``, ``signals.legitimacy``,
    ``protest_share``, ``protest_active_real``, ``arrested_to_summon``; its own memory.
    """

    def __init__(self, world: World, routes: Routes, actors: Actors, sc: Scenario):
        self.world, self.pool, self.panel, self.rng = world, world.pool, world.panel, world.stream("protest")
        self.accounts, self.signals, self.geo = world.accounts, world.signals, world.geo
        self.p, self.rumour_decay_days = sc.protest, sc.flight.rumour_decay_days
        self.wave_days = [w.day for w in sc.mobilization.waves]
        self.summoned_share = sc.mobilization.arrested_protesters_summoned
        self.n_regions = len(sc.regions)
        self.memory = 0.0  # protest's drag on legitimacy
        self._region_size = np.maximum(self.geo.region_size, 1)
        self._no_arrests = np.zeros(self.n_regions, dtype=np.int64)  # arrested_to_summon without arrests (read only)

    def step(self, day: int) -> None:
        """Update legitimacy, run the panels, book arrests and tomorrow's summonses.

        On a quiet day (:meth:`ProtestPanel.quiet`: no one can be active) no one is active
        or arrested, so the potential protesters are not counted (they only scale those).
        """
        p, s, pool, acc, sig = self.p, self.world.scale, self.pool, self.accounts, self.signals
        region_size = self._region_size
        summoned_month = sig.summons_window.sum() / region_size
        casualty_share = sig.region_casualties / region_size
        announcement = fl.rumour(day, self.wave_days, 1.0, self.rumour_decay_days)
        hardship = (p.hardship_base + p.hardship_announcement_weight * announcement
                    + p.hardship_callup_weight * summoned_month + p.hardship_casualty_weight * casualty_share)
        exodus = acc.fled_sim / max(pool.n, 1)
        ev = p.exit_voice
        shift = exit_voice_shift(ev.link, exodus, ev.strength, ev.reference_share, ev.peak_share)
        nat_casualties = (acc.kia_sim + acc.wia_sim) / max(pool.n, 1)
        sig.legitimacy = float(min(max(p.legitimacy_initial - p.legitimacy_casualty_weight * nat_casualties
                                       - ev.legitimacy_weight * max(shift, 0.0) - self.memory, 0.0), 1.0))
        arrested = None
        if self.panel.quiet(hardship, sig.legitimacy, shift, p.threshold, p.step_order):
            sig.protest_active_real = sig.protest_share = 0.0
        else:
            home_r = np.bincount(self.geo.region_of_cell, weights=pool.home_cells, minlength=self.n_regions)
            hiding = pool.in_state(State.HIDING)
            home_r += np.bincount(pool.region[hiding], minlength=home_r.size)
            potential = home_r * s * (1.0 + p.family_multiplier)
            active, arrested = self.panel.step(self.rng, day, hardship, sig.legitimacy, shift, p.k, p.threshold,
                                               p.arrest_variant, p.arrest_capacity, p.max_jail_days,
                                               p.step_order)
            sig.protest_active_real = float((active * potential).sum())
            sig.protest_share = sig.protest_active_real / max(potential.sum(), 1.0)
        self.memory += p.legitimacy_recovery * (p.legitimacy_protest_weight * sig.protest_share - self.memory)
        if arrested is not None and arrested.any():
            arrests_real = arrested * potential
            acc.arrests_real += float(arrests_real.sum())
            men = arrests_real / (1.0 + p.family_multiplier) * self.summoned_share / s
            sig.arrested_to_summon = stochastic_round(self.rng, men)
        else:  # no arrests, no one to summon; the rounding's uniforms are drawn all the same (one stream)
            self.rng.random(self.n_regions)
            sig.arrested_to_summon = self._no_arrests
