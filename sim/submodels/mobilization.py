"""Mobilization (ODD 7.1): summonses, the summoned men's choice, hiding men found.

How many summonses: what the call-up waves and the domestic call-up still owe, less what
the pending summonses should yield (R1, R3). Arrested protesters of draft age are served
first (P2). Summoned men report, hide, flee or wait; men in hiding are found now and then:
those summoned before always go, those never summoned only while the call-up still owes
men today (served on the spot). Men who report (or are found) enter the training pipeline.
"""

from __future__ import annotations

import numpy as np

from sim.actors import Actors, flight_pull
from sim.config.schema import Scenario
from sim.ledger import State
from sim.mechanisms import flight as fl
from sim.mechanisms.mobilization import allocate, summoned_choices
from sim.mechanisms.replacement import Arrival, stochastic_round
from sim.mechanisms.sampling import draw_from_cells
from sim.submodels.routes import Routes
from sim.world import Window, World

TAG_WAVE, TAG_DOMESTIC, TAG_NONE = 0, 1, 2  # whose call-up a man was summoned under; TAG_NONE: never summoned


class Mobilization:
    """Call-ups at home.

    Reads: ``sc.mobilization``, ``sc.flight.summons_hazard``, ``sc.protest.evasion_weight``,
    the Kremlin's ``owed_wave`` and ``orders_today``, offers' pull, ``routes``,
    ``signals.arrested_to_summon``. Writes: pool and ledger (HOME -> SUMMONED -> TRAINING,
    HIDING, TRANSIT), the pipeline, ``accounts`` (summoned, mobilized, domestic
    replacements), ``signals.cell_intensity``, ``summons_window``, ``wave_reported_sim``,
    ``owed_domestic_real``; its own ``tag``, ``served``, ``expected_yield``, ``report_hist``.
    """

    def __init__(self, world: World, routes: Routes, actors: Actors, sc: Scenario):
        self.world, self.pool, self.ledger, self.rng = world, world.pool, world.ledger, world.stream("mobilization")
        self.accounts, self.signals, self.geo, self.pipeline = world.accounts, world.signals, world.geo, world.pipeline
        self.routes, self.kremlin, self.offers = routes, actors.kremlin, actors.offers
        self.mob, self.summons_hazard, self.evasion_weight = sc.mobilization, sc.flight.summons_hazard, sc.protest.evasion_weight
        self.n_regions = len(sc.regions)
        self.tag = np.full(self.pool.n, TAG_NONE, dtype=np.int8)  # TAG_* of each man's last summons
        self.served = np.zeros(self.pool.n, dtype=bool)  # reported at least once
        self.expected_yield = 1.0 / sc.mobilization.summons_overshoot
        self.report_hist = Window(14, (2,))  # (reported, answered) per day, the last 14 days
        names = self.geo.source_names
        self.domestic = names.index("domestic_callup") if "domestic_callup" in names else None
        dom = [x for x in sc.kremlin.replacement.sources if x.name == "domestic_callup"]
        self.domestic_origin = self.geo.origin_names.index("domestic_callup") if dom else 1
        self.domestic_delay = dom[0].delay_days if dom else sc.mobilization.training_days
        self.domestic_quality = dom[0].quality if dom else sc.mobilization.mobilized_quality
        self._cells_today: np.ndarray | None = None  # men summoned today per cell (None: no one yet)
        self._cell_size = np.maximum(self.pool.cell_stop - self.pool.cell_start, 1)  # men per cell (at least 1)
        self._wave_reported_morning = 0  # signals.wave_reported_sim as the day began
        self._no_summons = np.zeros(self.n_regions)  # summons_window's row on a day without summonses

    def summon(self, cells_n: np.ndarray, tag: int) -> int:
        """Serve ``cells_n[c]`` summonses to men at home in each cell; return how many were served."""
        pool = self.pool
        cells = cells_n.nonzero()[0]
        if cells.size == 0:
            return 0
        men = draw_from_cells(self.rng, pool.cell_start[cells], pool.cell_stop[cells], pool.state, State.HOME, cells_n[cells])
        if men.size == 0:
            return 0
        pool.set_state(men, State.SUMMONED, src=State.HOME)
        left = pool.left_home(men)
        self._cells_today = left.astype(np.float64) if self._cells_today is None else self._cells_today + left
        self.tag[men] = tag
        pool.touch(men)
        self.ledger.move(State.HOME, State.SUMMONED, men.size)
        self.accounts.summoned_sim += men.size
        return men.size

    def step(self, day: int) -> None:
        """Issue today's summonses, then let summoned men choose and find some hiding men."""
        mob, sig, pool, s = self.mob, self.signals, self.pool, self.world.scale
        self._cells_today = None
        self._wave_reported_morning = sig.wave_reported_sim
        home = pool.home_cells  # read before each summons changes it
        if self.domestic is not None:
            sig.owed_domestic_real += self.kremlin.orders_today[self.domestic]
        need_real = self.kremlin.owed_wave + sig.owed_domestic_real
        y = self.expected_yield
        if mob.adapt_overshoot and self.report_hist:
            rep, res = self.report_hist.sum()
            if res > 0:
                y = min(1.0, max(0.05, rep / res))
        summoned_real = float(self.ledger.stock[State.SUMMONED] * s)
        issue_real = max(0.0, need_real - y * summoned_real) / y
        issue = int(stochastic_round(self.rng, min(issue_real / s, 0.01 * home.sum())))
        tag = TAG_DOMESTIC if (sig.owed_domestic_real > 0 and self.kremlin.owed_wave <= 0) else TAG_WAVE
        # arrested protesters fill the call-up, they do not add to it (P2)
        if issue > 0 and sig.arrested_to_summon.any():
            arrested = sig.arrested_to_summon.astype(np.int64)
            take = allocate(self.rng, min(issue, int(arrested.sum())), arrested, np.ones(arrested.size))
            per_cell = np.zeros(pool.cell_stop.size, dtype=np.int64)
            for r in take.nonzero()[0]:
                cells = (self.geo.region_of_cell == r).nonzero()[0]
                per_cell[cells] = allocate(self.rng, int(take[r]), home[cells], np.ones(cells.size))
            issue -= self.summon(per_cell, tag)
        if issue > 0:
            self.summon(allocate(self.rng, issue, home, self.geo.cell_callup_weight), tag)
        if self._cells_today is not None:
            sig.summons_window.append(np.bincount(self.geo.region_of_cell, weights=self._cells_today, minlength=self.n_regions))
            sig.cell_intensity = 0.8 * sig.cell_intensity + 0.2 * self._cells_today / self._cell_size
        else:  # no summons: a row of zeros, and the intensity decays (x + 0.0 is x exactly)
            sig.summons_window.append(self._no_summons)
            sig.cell_intensity = 0.8 * sig.cell_intensity
        self._choose(day)

    def _choose(self, day: int) -> None:
        """Summoned men report, hide, flee or wait; men in hiding are found now and then."""
        pool, mob, rng = self.pool, self.mob, self.rng
        men = pool.in_state(State.SUMMONED)
        if men.size:
            reach = self.routes.reach()[pool.region[men]]
            lam = self.summons_hazard * pool.propensity[men] * self.routes.afford(men) * flight_pull(self.offers, day)
            leave_p = fl.hazard_to_probability(lam)
            flee_p = leave_p * np.where(reach, 1.0, 0.0)
            blocked_p = leave_p * np.where(reach, 0.0, min(1.0, 0.25 * self.evasion_weight))
            ch = summoned_choices(rng, pool.opposition[men], mob.report_rate, mob.hide_rate, mob.opposition_report_penalty, flee_p)
            blocked = (ch == 0) & (rng.random(men.size) < blocked_p)
            ch[blocked] = 2
            self.report(men[ch == 1], day, State.SUMMONED)
            hide = men[ch == 2]
            pool.set_state(hide, State.HIDING)
            self.ledger.move(State.SUMMONED, State.HIDING, hide.size)
            self.routes.start_journey(men[ch == 3], day, State.SUMMONED, rng)
            self.report_hist.append((np.count_nonzero(ch == 1), np.count_nonzero(ch)))
        hiding = pool.in_state(State.HIDING)
        if hiding.size:
            found = hiding[rng.random(hiding.size) < mob.hiding_catch_rate]
            self.report(self._found_callable(found), day, State.HIDING)

    def _found_callable(self, found: np.ndarray) -> np.ndarray:
        """The found hiding men who are sent to training today.

        Men who were summoned (or served before, e.g. AWOL men found again) always go.
        Men never summoned (blocked leavers, men turned back at the border) are served on
        the spot only while the call-up still owes men today: first the waves, then the
        domestic replacement call-up; they count against that quota (``summoned_cum``
        and ``mobilized_cum``). The others stay hidden.

        Args:
            found: Pool indices of hiding men found today.

        Returns:
            Pool indices of the men to send to training.
        """
        if found.size == 0:
            return found
        fresh = found[self.tag[found] == TAG_NONE]
        if fresh.size == 0:
            return found
        s, sig = self.world.scale, self.signals
        # the waves' debt as of this morning, less the wave men who reported since
        owed_wave = max(0.0, self.kremlin.owed_wave - (sig.wave_reported_sim * s - float(self._wave_reported_morning * s)))
        fresh = fresh[self.rng.permutation(fresh.size)]
        n_wave = min(fresh.size, int(stochastic_round(self.rng, owed_wave / s)))
        n_dom = min(fresh.size - n_wave, int(stochastic_round(self.rng, sig.owed_domestic_real / s)))
        taken_wave, taken_dom = fresh[:n_wave], fresh[n_wave:n_wave + n_dom]
        self.tag[taken_wave] = TAG_WAVE
        self.tag[taken_dom] = TAG_DOMESTIC
        self.accounts.summoned_sim += n_wave + n_dom
        return found[self.tag[found] != TAG_NONE]

    def report(self, men: np.ndarray, day: int, src: State) -> None:
        """Men who report (or are found) go to training; count them by call-up."""
        if men.size == 0:
            return
        pool, s, acc, sig = self.pool, self.world.scale, self.accounts, self.signals
        pool.set_state(men, State.TRAINING)
        self.ledger.move(src, State.TRAINING, men.size)
        # AWOL men who are found again go back, but were already counted as mobilized
        is_first = ~self.served[men]
        first = men[is_first]
        self.served[first] = True
        tag = self.tag[men]
        domestic = men[tag == TAG_DOMESTIC]
        wave = men[tag == TAG_WAVE]
        tag_first = tag[is_first]
        new_domestic = first[tag_first == TAG_DOMESTIC]
        acc.mobilized_sim += first.size
        acc.mobilized_minority_sim += int(self.geo.minority_region[pool.region[first]].sum())
        sig.wave_reported_sim = sig.wave_reported_sim + int(np.count_nonzero(tag_first == TAG_WAVE))
        if new_domestic.size:
            i = self.geo.source_names.index("domestic_callup")
            acc.replacements_real[i] += new_domestic.size * s
            sig.owed_domestic_real = max(0.0, sig.owed_domestic_real - new_domestic.size * s)
        for group, origin, delay, quality in (
            (wave, 1, self.mob.training_days, self.mob.mobilized_quality),
            (domestic, self.domestic_origin, self.domestic_delay, self.domestic_quality),
        ):
            if group.size:
                self.pipeline.add(day + delay, Arrival(origin, quality, group, group.size, State.TRAINING))
