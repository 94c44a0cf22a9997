"""Epstein's (2002) civil-violence Model I on a torus, vectorized with numpy.

This is a test fixture for :mod:`sim.mechanisms.protest_rule` (it is not the
model's hot path): a faithful, readable re-implementation of Model I of

    Epstein, J. M. (2002). Modeling civil violence: An agent-based computational
    approach. *PNAS* 99 (suppl. 3), 7243-7250.

Agents and rules
----------------
* **Citizens** (Epstein's "agents") have hardship ``H ~ U(0,1)`` and risk
  aversion ``R ~ U(0,1)``, fixed for life.  Each step a free citizen applies
  Rule A (:func:`~sim.mechanisms.protest_rule.is_active`) with grievance
  ``G = H (1 - L_t)`` and the arrest probability estimated from the cops ``C``
  and actives ``A`` (himself included) within his vision.
* **Cops** inspect their vision and arrest one random active citizen
  (Rule C).  The arrested citizen is jailed for ``J ~ U{0, ..., J_max}`` steps
  (integer, uniform, as in the Mesa and NetLogo versions).
* **Movement** (Rule M): every agent on the lattice moves to a random empty
  site within its vision (stays put if there is none).

Vision is **von Neumann** by default: the sites within Manhattan distance
``v`` (a diamond of ``2 v (v + 1)`` sites besides one's own, 112 for ``v = 7``).
Epstein defines vision as the number of lattice positions north, south, east
and west of the agent's own position that the agent can inspect; the Mesa
example reads this as a von Neumann radius, as done here (a literal
Sugarscape-style reading would be a cross of ``4 v`` sites).  ``"moore"`` (a
square of side ``2 v + 1``) is available for comparison.

Scheduling (the vectorized approximation)
-----------------------------------------
Epstein activates agents one at a time in random order, each moving and then
applying its rule, so a citizen sees the actives who turned out earlier in the
same step.  Here each step is:

1. *Release*: citizens whose jail term has run out return to uniformly random
   empty sites (the paper does not say where they reappear; this is an
   assumption); the remaining terms count down.
2. The agents on the lattice are shuffled and split into ``n_batches`` batches
   (default 20, about 60 agents each) that act in turn.  Within a batch, all at
   once:

   a. *Move*: each agent draws a random site among those empty within its
      vision; when several pick the same site the one earliest in a fresh
      random permutation gets it and the others stay put. (With
      ``step_order="decide_then_move"``, as in Mesa's example, this comes last:
      b, c, then a.)
   b. *Decide*: each citizen applies Rule A to the cops and actives now within
      its vision, including those who turned active in earlier batches of this
      step.  The counts for all sites come at once from a convolution on the
      torus (:func:`vision_sum`).
   c. *Arrest*: each cop picks a random active within its vision; conflicts go
      to the cop earliest in a random permutation, and the losers pick again
      among the remaining actives, round after round.  So each cop arrests at
      most one citizen per step.

``n_batches=1`` is a fully synchronous update; ``n_batches`` equal to the
number of agents is Epstein's sequential random activation.  This matters: a
synchronous update suppresses cascades, because the cops arrest a whole
"generation" of new actives before any other citizen has seen them.  In the
one-jump legitimacy-drop regression test (``L`` 0.9 -> 0.6, floor variant,
``J_max = 1000``, seeds 0-2) the peak number of actives was 13-81 with one
batch, 20-162 with 2, 214-328 with 5, 192-459 with 10, 326-439 with 20 and
314-395 with 50: the dynamics settle from about 10-20 batches on.

Jailed citizens are off the lattice: they occupy no site and are neither
active nor quiet.  All randomness comes from the ``numpy.random.Generator``
passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sim.mechanisms.lattice_vision import Neighbourhood, vision_offsets, vision_sum
from sim.mechanisms.protest_rule import (
    EPSTEIN_K,
    EPSTEIN_THRESHOLD,
    Variant,
    arrest_probability,
    grievance,
    is_active,
)

LegitimacySchedule = float | ArrayLike | Callable[[int], float]
StepOrder = Literal["move_then_decide", "decide_then_move"]
STEP_ORDERS: tuple[str, ...] = ("move_then_decide", "decide_then_move")

EMPTY = -1


@dataclass(frozen=True)
class CivilViolenceResult:
    """Per-step counts of a run (index ``t`` = state after step ``t + 1``).

    Attributes:
        active: Number of active citizens.
        jailed: Number of jailed citizens.
        quiet: Number of free, quiet citizens.
        legitimacy: Legitimacy in force during each step.
    """

    active: NDArray[np.int64]
    jailed: NDArray[np.int64]
    quiet: NDArray[np.int64]
    legitimacy: NDArray[np.float64]


class CivilViolenceGrid:
    """Epstein's Model I on a ``height x width`` torus (see module docstring).

    Args:
        rng: Source of all randomness.
        height: Lattice rows (Epstein: 40).
        width: Lattice columns (Epstein: 40).
        citizen_density: Fraction of sites holding a citizen (Epstein: 0.7).
        cop_density: Fraction of sites holding a cop (default 0.074, as in the Mesa
            example).
        vision: Vision radius of citizens and cops (Epstein: 7).
        max_jail_term: ``J_max``; terms are uniform on ``0..J_max`` (default 30;
            a term ``j`` keeps the citizen off the lattice for ``j + 1`` step ends).
        k: Arrest-probability constant (Epstein: 2.3).
        threshold: Activation threshold ``T`` (Epstein: 0.1).
        variant: Arrest-probability variant (see :mod:`~sim.mechanisms.protest_rule`).
        neighbourhood: ``"von_neumann"`` (default, as Epstein) or ``"moore"``.
        movement: Whether agents move (Rule M).
        n_batches: Number of random batches the agents act in each step (1 is a
            synchronous update; see module docstring).
        step_order: Order within a batch: ``"move_then_decide"`` (default, as NetLogo
            Rebellion: move, then decide and arrest at the new site) or
            ``"decide_then_move"`` (as Mesa's example: citizens decide and cops arrest
            where they stand, then everyone moves). See docs/protest_epstein.md.

    Attributes:
        occupant: ``(height, width)`` array: agent index at each site, ``EMPTY`` (-1)
            if none.  Citizens are agents ``0..n_citizens-1``, cops the rest.
        row, col: Position of each agent (meaningless while a citizen is jailed).
        hardship, risk_aversion: Citizens' fixed traits.
        active: Citizens' current activity.
        jail_left: Citizens' remaining jail term, -1 when free.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        *,
        height: int = 40,
        width: int = 40,
        citizen_density: float = 0.7,
        cop_density: float = 0.074,
        vision: int = 7,
        max_jail_term: int = 30,
        k: float = EPSTEIN_K,
        threshold: float = EPSTEIN_THRESHOLD,
        variant: Variant = "floor",
        neighbourhood: Neighbourhood = "von_neumann",
        movement: bool = True,
        n_batches: int = 20,
        step_order: StepOrder = "move_then_decide",
    ) -> None:
        n_sites = height * width
        self.n_citizens = round(citizen_density * n_sites)
        self.n_cops = round(cop_density * n_sites)
        if self.n_citizens + self.n_cops > n_sites:
            raise ValueError("citizen_density + cop_density must not exceed 1")
        self.rng = rng
        self.shape = (height, width)
        self.vision = vision
        self.max_jail_term = max_jail_term
        self.k = k
        self.threshold = threshold
        self.variant = variant
        self.neighbourhood = neighbourhood
        self.movement = movement
        self.n_batches = n_batches
        if step_order not in STEP_ORDERS:
            raise ValueError(f"unknown step_order {step_order!r}; expected one of {STEP_ORDERS}")
        self.step_order = step_order
        self.offsets = vision_offsets(vision, neighbourhood)
        # seen[s] = flat indices of the sites seen from flat site s (torus), computed once
        site_r, site_c = np.divmod(np.arange(n_sites), width)
        self.seen = ((site_r[:, None] + self.offsets[None, :, 0]) % height) * width + (
            site_c[:, None] + self.offsets[None, :, 1]
        ) % width

        n_agents = self.n_citizens + self.n_cops
        sites = rng.permutation(n_sites)[:n_agents]
        self.row, self.col = np.divmod(sites, width)
        self.occupant = np.full(self.shape, EMPTY, dtype=np.int64)
        self.occupant[self.row, self.col] = np.arange(n_agents)

        self.hardship = rng.random(self.n_citizens)
        self.risk_aversion = rng.random(self.n_citizens)
        self.active = np.zeros(self.n_citizens, dtype=bool)
        self.jail_left = np.full(self.n_citizens, -1, dtype=np.int64)

    # ------------------------------------------------------------------ helpers
    @property
    def jailed(self) -> NDArray[np.bool_]:
        """Citizens currently in jail."""
        return self.jail_left >= 0

    @property
    def cops(self) -> NDArray[np.int64]:
        """Agent indices of the cops."""
        return np.arange(self.n_citizens, self.n_citizens + self.n_cops)

    def _sites_in_vision(self, agents: NDArray[np.int64]) -> NDArray[np.int64]:
        """Flat indices (``(len(agents), n_offsets)``) of the sites each agent sees."""
        return self.seen[self.row[agents] * self.shape[1] + self.col[agents]]

    def _pick_random(self, candidates: NDArray[np.bool_]) -> tuple[NDArray, NDArray]:
        """For each row of a boolean matrix, a uniformly random True column.

        Returns:
            ``(has_any, column)``; ``column`` is meaningless where ``has_any`` is False.
        """
        keys = np.where(candidates, self.rng.random(candidates.shape, dtype=np.float32), -1.0)
        return candidates.any(axis=1), keys.argmax(axis=1)

    def _first_claims(self, claimants: NDArray, targets: NDArray) -> NDArray[np.bool_]:
        """Which claims win when several claimants want the same target.

        Ties go to the claimant earliest in a fresh random permutation.

        Returns:
            Boolean mask over ``claimants`` of the winners.
        """
        order = self.rng.permutation(len(claimants))
        _, first = np.unique(targets[order], return_index=True)
        won = np.zeros(len(claimants), dtype=bool)
        won[order[first]] = True
        return won

    # ------------------------------------------------------------------- phases
    def release(self) -> None:
        """Return citizens whose term has run out to random empty sites; count down the rest."""
        done = np.flatnonzero(self.jail_left == 0)
        self.jail_left[self.jail_left > 0] -= 1
        if done.size == 0:
            return
        empty = np.flatnonzero(self.occupant.ravel() == EMPTY)
        sites = self.rng.choice(empty, size=done.size, replace=False)
        self.row[done], self.col[done] = np.divmod(sites, self.shape[1])
        self.occupant[self.row[done], self.col[done]] = done
        self.jail_left[done] = -1

    def move(self, agents: NDArray[np.int64]) -> None:
        """Rule M: each of ``agents`` moves to a random empty site within its vision.

        Args:
            agents: Indices of agents on the lattice.
        """
        sites = self._sites_in_vision(agents)
        has_room, pick = self._pick_random(self.occupant.ravel()[sites] == EMPTY)
        movers = agents[has_room]
        targets = sites[np.flatnonzero(has_room), pick[has_room]]
        won = self._first_claims(movers, targets)
        movers, targets = movers[won], targets[won]
        self.occupant[self.row[movers], self.col[movers]] = EMPTY
        self.row[movers], self.col[movers] = np.divmod(targets, self.shape[1])
        self.occupant.ravel()[targets] = movers

    def _indicator(self, agents: NDArray[np.int64]) -> NDArray[np.int64]:
        """Lattice field that is 1 on the sites of ``agents``."""
        field = np.zeros(self.shape, dtype=np.int64)
        field[self.row[agents], self.col[agents]] = 1
        return field

    def decide(self, citizens: NDArray[np.int64], legitimacy: float) -> None:
        """Rule A for ``citizens`` at once, given everyone's current activity.

        Args:
            citizens: Indices of free citizens.
            legitimacy: Legitimacy ``L`` in force.
        """
        fields = np.stack(
            [self._indicator(self.cops), self._indicator(np.flatnonzero(self.active))]
        )
        cops_seen, actives_seen = vision_sum(fields, self.vision, self.neighbourhood)
        r, c = self.row[citizens], self.col[citizens]
        # actives_seen excludes the citizen's own site; arrest_probability adds him (A = 1 + others)
        p = arrest_probability(cops_seen[r, c], actives_seen[r, c], self.k, self.variant)
        g = grievance(self.hardship[citizens], legitimacy)
        self.active[citizens] = is_active(g, self.risk_aversion[citizens], p, self.threshold)

    def arrest(self, cops: NDArray[np.int64]) -> None:
        """Rule C: each of ``cops`` arrests one random active within its vision (if any).

        Args:
            cops: Indices of cops.
        """
        while cops.size:
            who = self.occupant.ravel()[self._sites_in_vision(cops)]
            is_target = (who >= 0) & (who < self.n_citizens)
            is_target[is_target] = self.active[who[is_target]]
            sees_one, pick = self._pick_random(is_target)
            cops, pick = cops[sees_one], pick[sees_one]
            if cops.size == 0:
                break
            targets = who[np.flatnonzero(sees_one), pick]
            won = self._first_claims(cops, targets)
            self._jail(targets[won])
            cops = cops[~won]  # losers of a conflict try again among the remaining actives

    def _jail(self, citizens: NDArray[np.int64]) -> None:
        self.active[citizens] = False
        self.jail_left[citizens] = self.rng.integers(0, self.max_jail_term + 1, size=citizens.size)
        self.occupant[self.row[citizens], self.col[citizens]] = EMPTY

    def step(self, legitimacy: float) -> None:
        """One step: release, then every agent on the lattice acts once, in random batches.

        Args:
            legitimacy: Legitimacy ``L`` in force during the step.
        """
        self.release()
        on_lattice = np.concatenate([np.flatnonzero(~self.jailed), self.cops])
        for batch in np.array_split(self.rng.permutation(on_lattice), self.n_batches):
            citizens = batch[batch < self.n_citizens]
            citizens = citizens[~self.jailed[citizens]]  # arrested by an earlier batch
            cops = batch[batch >= self.n_citizens]
            move_first = self.step_order == "move_then_decide"
            if self.movement and move_first:
                self.move(np.concatenate([citizens, cops]))
            self.decide(citizens, legitimacy)
            self.arrest(cops)
            if self.movement and not move_first:
                citizens = citizens[~self.jailed[citizens]]  # just arrested: off the lattice
                self.move(np.concatenate([citizens, cops]))

    def counts(self) -> tuple[int, int, int]:
        """``(active, jailed, quiet)`` citizens now."""
        n_active = int(self.active.sum())
        n_jailed = int(self.jailed.sum())
        return n_active, n_jailed, self.n_citizens - n_active - n_jailed


def legitimacy_path(legitimacy: LegitimacySchedule, n_steps: int) -> NDArray[np.float64]:
    """Legitimacy in force at each step ``0..n_steps-1``.

    Args:
        legitimacy: A constant, an array of length ``>= n_steps``, or a callable
            ``step -> L``.
        n_steps: Number of steps.

    Returns:
        Float array of length ``n_steps``.
    """
    if callable(legitimacy):
        return np.array([legitimacy(t) for t in range(n_steps)], dtype=float)
    arr = np.asarray(legitimacy, dtype=float)
    if arr.ndim == 0:
        return np.full(n_steps, float(arr))
    if arr.shape[0] < n_steps:
        raise ValueError(f"legitimacy schedule has {arr.shape[0]} entries, need {n_steps}")
    return arr[:n_steps].copy()


def run_civil_violence(
    rng: np.random.Generator,
    n_steps: int,
    legitimacy: LegitimacySchedule = 0.82,
    **params,
) -> CivilViolenceResult:
    """Run Model I for ``n_steps`` steps and return the per-step counts.

    Args:
        rng: Source of all randomness.
        n_steps: Number of steps.
        legitimacy: Constant, per-step array, or callable ``step -> L``.
        **params: Keyword arguments of :class:`CivilViolenceGrid`.

    Returns:
        The counts of active, jailed and quiet citizens after each step.
    """
    path = legitimacy_path(legitimacy, n_steps)
    grid = CivilViolenceGrid(rng, **params)
    counts = np.empty((n_steps, 3), dtype=np.int64)
    for t in range(n_steps):
        grid.step(float(path[t]))
        counts[t] = grid.counts()
    return CivilViolenceResult(counts[:, 0], counts[:, 1], counts[:, 2], path)
