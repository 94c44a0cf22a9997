"""Protest (voice) at home: Epstein's civil-violence rule on a regional panel.

Each region has a fixed panel of representative potential protesters (men at home and
their families), each with Epstein's hardship H and risk aversion R drawn once. The
region is the "vision": cops and (other) actives are counted per region. The day is
synchronous (all decide on yesterday's counts, then police arrest), which damps cascades
relative to Epstein's one-at-a-time order (docs/protest_epstein.md). A panel member is
active when

    H * hardship_r(t) * (1 - L(t)) - R * P_r(t) + voice_shift(x) > T,

with P_r the arrest probability from :func:`sim.mechanisms.protest_rule.arrest_probability`
(cops = police ratio x panel, actives = yesterday's actives) and ``voice_shift`` the
exit-voice link on the exodus share x (P1, P4). Arrested members are jailed for a uniform
term; counts are scaled to the region's potential protesters.
"""

from __future__ import annotations

import numpy as np

from sim.mechanisms.protest_rule import arrest_probability, grievance, is_active


def exit_voice_shift(link: str, exodus_share: float, strength: float, reference_share: float, peak_share: float) -> float:
    """Shift of the activation margin caused by the exodus (Hirschman's exit and voice).

    ``substitute``: -0.1 * strength * x / x_ref (each leaver is voice lost, P1).
    ``complement``: +0.1 * strength * x / x_ref (the exodus is a focal point, P4).
    ``inverted_u``: +0.1 * strength * (x / x_peak) * (2 - x / x_peak): focal while small,
    draining once the exodus exceeds twice the peak.
    ``none``: 0.
    The 0.1 puts strength 1 on the scale of Epstein's threshold T = 0.1.
    """
    if link == "none":
        g = 0.0
    elif link == "substitute":
        g = -exodus_share / reference_share
    elif link == "complement":
        g = exodus_share / reference_share
    else:
        z = exodus_share / peak_share
        g = z * (2.0 - z)
    return 0.1 * strength * float(min(max(g, -5.0), 5.0))  # np.clip without its wrapper


class ProtestPanel:
    """Per-region panels of potential protesters (Epstein agents)."""

    def __init__(self, rng: np.random.Generator, n_regions: int, panel: int, police_ratio: np.ndarray):
        self.n_regions = n_regions
        self.panel = panel
        self.hardship = rng.random((n_regions, panel))
        self.risk_aversion = rng.random((n_regions, panel))
        self.jail_until = np.full((n_regions, panel), -(10**9), dtype=np.int64)
        self.active = np.zeros((n_regions, panel), dtype=bool)
        self._any_active = False  # False only while ``active`` is known to be all False
        self.cops = police_ratio * panel
        self.hardship_max = self.hardship.max(axis=1, initial=0.0)  # per region: bounds the day's grievance

    def step(self, rng: np.random.Generator, day: int, hardship_r: np.ndarray, legitimacy: float, shift: float,
             k: float, threshold: float, variant: str, arrest_capacity: float, max_jail: int,
             order: str = "decide_then_arrest") -> tuple[np.ndarray, np.ndarray]:
        """One day. Returns (active share, arrested share) per region, arrays of shape (n_regions,).

        With ``decide_then_arrest``, a day on which no member's grievance (plus the shift)
        can exceed the threshold, even without any risk of arrest, is decided from each
        region's largest hardship alone (:meth:`quiet`): no one is active, no one arrested,
        nothing drawn (the same outcome as the full rule).

        Args:
            order: ``"decide_then_arrest"`` (default): every free member decides on
                yesterday's actives, then police arrest among today's actives.
                ``"arrest_then_decide"``: police first arrest among yesterday's actives
                still free, then the free members decide on the actives left (the panel
                has no space, so of the grid's move/decide order only the order of
                deciding and arresting remains; docs/protest_epstein.md).
        """
        if self.quiet(hardship_r, legitimacy, shift, threshold, order):
            return np.zeros(self.n_regions), np.zeros(self.n_regions)
        free = self.jail_until <= day
        was_active = self.active & free
        if order == "arrest_then_decide":
            arrested, n_arrest = self._arrest(rng, day, was_active, arrest_capacity, max_jail)
            free &= ~arrested
            was_active &= ~arrested
        # each citizen counts the *other* actives he saw yesterday (the rule adds himself):
        # two values per region, so the arrest probability is computed per region
        n_was = was_active.sum(axis=1)
        p_act = arrest_probability(self.cops, np.maximum(n_was - 1, 0), k, variant)  # used where n_was > 0
        p_not = arrest_probability(self.cops, n_was, k, variant)
        p = np.where(was_active, p_act[:, None], p_not[:, None])
        g = grievance(np.minimum(self.hardship * hardship_r[:, None], 1.0), legitimacy)
        act = is_active(g + shift, self.risk_aversion, p, threshold) & free
        n_act = act.sum(axis=1)
        self._any_active = True
        if order == "arrest_then_decide":
            self.active = act
            return n_act / self.panel, n_arrest / self.panel
        arrested, n_arrest = self._arrest(rng, day, act, arrest_capacity, max_jail)
        self.active = act & ~arrested
        return n_act / self.panel, n_arrest / self.panel

    def quiet(self, hardship_r: np.ndarray, legitimacy: float, shift: float, threshold: float,
              order: str = "decide_then_arrest") -> bool:
        """Whether today is quiet: with ``decide_then_arrest``, no member's grievance (plus
        the shift) can exceed the threshold even without any risk of arrest, as decided
        from each region's largest hardship alone. A quiet day leaves no one active and
        draws nothing; :meth:`step` returns zeros for it (the same outcome as the full rule).
        """
        if order != "decide_then_arrest":
            return False
        g_max = grievance(np.minimum(self.hardship_max * hardship_r, 1.0), legitimacy)
        if (g_max + shift > threshold).any():
            return False
        if self._any_active:
            self.active = np.zeros_like(self.active)
            self._any_active = False
        return True

    def _arrest(self, rng: np.random.Generator, day: int, act: np.ndarray, arrest_capacity: float,
                max_jail: int) -> tuple[np.ndarray, np.ndarray]:
        """Police arrest random members of ``act`` (at most the cops, and ``arrest_capacity``
        of the actives, per region) and jail them; returns (arrested mask, count per region)."""
        n_act = act.sum(axis=1)
        n_arrest = np.minimum(np.minimum(n_act, np.floor(self.cops).astype(np.int64)),
                              np.ceil(arrest_capacity * n_act).astype(np.int64))
        # police arrest random actives: rank actives by a random key, take the first n per region
        arrested = np.zeros_like(act)
        if n_arrest.any():
            order = np.argsort(np.where(act, rng.random(act.shape), 2.0), axis=1)
            first = np.arange(self.panel)[None, :] < n_arrest[:, None]  # the first n_arrest of each row
            arrested[np.repeat(np.arange(self.n_regions), n_arrest), order[first]] = True
            terms = rng.integers(1, max_jail + 1, size=act.shape)
            self.jail_until = np.where(arrested, day + terms, self.jail_until)
        return arrested, n_arrest
