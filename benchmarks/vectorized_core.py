"""The core rules of asylumsim, vectorized with numpy: the side of the Mesa comparison.

Three rules, on one small population (see :mod:`benchmarks.mesa_reference` for the same
rules written one ``mesa.Agent`` per person):

(a) Flight of men at home (the rule of :mod:`sim.mechanisms.flight`): on day t man i
    leaves with probability ``p = 1 - exp(-lambda)``, where
    ``lambda = pressure(t) * propensity_i * affordability_i``,
    ``pressure(t) = base_hazard + rumour(t)`` and the rumour jumps at each call-up wave
    and decays with a half-life.
(b) Defection of soldiers in units (the threshold rule of
    :func:`sim.mechanisms.defection.scores`): a soldier wants to defect when
    ``a_u * unwillingness + a_m * (1 - morale_unit) + success * value
    - detection * punishment - family * reprisal - home_attachment
    + a_s * gone_share_unit >= threshold``; one who wants to finds a chance with
    probability ``opportunity_rate`` a day; an attempt is caught with probability
    ``detection``, otherwise he is across. ``gone_share_unit`` is the share of his unit
    that has defected before today (unit influence, updated at the end of the day).
(c) Casualties at fixed daily rates: killed with ``kia_rate``, wounded out with
    ``wia_rate`` (decided before defection; casualties leave the front).

The vectorized side draws rare daily events by thinning, as the model does
(:func:`sim.mechanisms.sampling.candidates`: each person independently with the day's
largest probability, then accepted with his own probability over it; exact, and O(events)
instead of O(people)): leavers among the men, and casualties and chances to defect among
the soldiers (an attempt needs a chance, so only soldiers with a chance are scored).

Both implementations draw the initial population with :func:`draw_population` from
``np.random.default_rng(seed)`` (a Mesa model built with ``rng=seed`` holds the same
generator), so for a seed they start from the same people; the daily draws differ (per
agent vs per array), so the two agree in distribution, not draw for draw.

Run ``python benchmarks/vectorized_core.py`` for one timed run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from sim.mechanisms import defection as dfn
from sim.mechanisms import flight as fl
from sim.mechanisms.sampling import candidates

CURVES = ("fled", "defected", "caught", "killed", "wounded")


@dataclass(frozen=True)
class CoreParams:
    """Parameters of the core rules. Shapes and weights follow the baseline scenario;
    the daily rates are raised so that every event happens often in a few weeks on a
    population of a few thousand (the comparison needs counts, not realism)."""

    n_men: int = 16_000
    n_soldiers: int = 4_000
    unit_size: int = 10
    days: int = 60
    # men (population.* and flight.* in the scenario)
    opposition_ab: tuple[float, float] = (2.0, 3.0)
    risk_ab: tuple[float, float] = (2.0, 2.0)
    means_median_usd: float = 1500.0
    means_sigma: float = 1.0
    family_share: float = 0.6
    opposition_exponent: float = 1.5
    family_flight_penalty: float = 0.5
    exit_cost_usd: float = 600.0
    cost_sensitivity: float = 1.5
    base_hazard: float = 0.0005
    rumour_weight: float = 0.05
    rumour_half_life: float = 4.0
    wave_days: tuple[int, ...] = (0, 20)
    # soldiers (front.* and defection.*)
    unwillingness_ab: tuple[float, float] = (2.0, 4.0)
    threshold_mean: float = 1.2
    threshold_sd: float = 0.3
    morale_mean: float = 0.6
    morale_sd: float = 0.1
    w_unwilling: float = 1.0
    w_morale: float = 1.0
    w_social: float = 2.0
    home_attachment: float = 0.3
    # the offer, at fixed counter-defection levels
    surrender_survival: float = 0.9
    repatriation: float = 0.05
    credibility: float = 0.8
    payment_usd: float = 5_000.0
    payment_weight: float = 0.5
    payment_reference_usd: float = 2_000.0
    status_value: float = 0.5
    detection: float = 0.2
    punishment: float = 1.0
    reprisal: float = 0.3
    opportunity_rate: float = 0.05
    # casualties (front.kia_rate, front.wia_rate at intensity 1)
    kia_rate: float = 0.002
    wia_rate: float = 0.004
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def n_units(self) -> int:
        return -(-self.n_soldiers // self.unit_size)

    def offer_success(self) -> float:
        """Chance the offer ends as promised (via Ukraine)."""
        return dfn.success_probability("via_ukraine", self.detection, self.surrender_survival, self.repatriation, self.credibility)

    def offer_value(self) -> float:
        return dfn.offer_value(self.payment_usd, self.status_value, self.payment_weight, self.payment_reference_usd)


def small(p: CoreParams, n_people: int, days: int) -> CoreParams:
    """The same rules on ``n_people`` (80 % men, 20 % soldiers) for ``days`` days."""
    from dataclasses import replace

    n_sold = n_people // 5
    return replace(p, n_men=n_people - n_sold, n_soldiers=n_sold, days=days)


def draw_population(rng: np.random.Generator, p: CoreParams) -> dict[str, np.ndarray]:
    """Initial attributes of every man, soldier and unit (float64; drawn in this order)."""
    return {
        "opposition": rng.beta(*p.opposition_ab, p.n_men),
        "risk": rng.beta(*p.risk_ab, p.n_men),
        "means": rng.lognormal(np.log(p.means_median_usd), p.means_sigma, p.n_men),
        "man_family": rng.random(p.n_men) < p.family_share,
        "unwillingness": rng.beta(*p.unwillingness_ab, p.n_soldiers),
        "threshold": rng.normal(p.threshold_mean, p.threshold_sd, p.n_soldiers),
        "soldier_family": rng.random(p.n_soldiers) < p.family_share,
        "morale": np.clip(rng.normal(p.morale_mean, p.morale_sd, p.n_units), 0.0, 1.0),
    }


def run_vectorized(p: CoreParams, seed: int) -> dict[str, np.ndarray]:
    """Simulate ``p.days`` days; return cumulative curves (one value per day) and
    ``agent_steps`` (people acting summed over days: men at home + soldiers present)."""
    rng = np.random.default_rng(seed)
    pop = draw_population(rng, p)
    propensity = fl.propensity(pop["opposition"], pop["risk"], pop["man_family"], p.opposition_exponent,
                               p.family_flight_penalty)
    afford = fl.affordability(pop["means"], p.exit_cost_usd, p.cost_sensitivity)
    static_m = (propensity * afford).astype(np.float64)  # the man's part of lambda
    max_static = float(static_m.max(initial=0.0))
    at_home = np.ones(p.n_men, dtype=bool)
    n_home = p.n_men
    present = np.arange(p.n_soldiers)
    unw, thr, fam = pop["unwillingness"], pop["threshold"], pop["soldier_family"]
    morale = pop["morale"]
    gone = np.zeros(p.n_units)
    success, value = p.offer_success(), p.offer_value()
    p_kia, p_wia = p.kia_rate, p.wia_rate
    out = {k: np.zeros(p.days, dtype=np.int64) for k in CURVES}
    tot = dict.fromkeys(CURVES, 0)
    steps = 0
    for day in range(p.days):
        steps += n_home + present.size
        # (a) flight, drawn by thinning as the model does (sim.mechanisms.sampling): candidates
        # with the day's largest probability, each accepted with p_i / bound; men away have p_i = 0
        pressure = p.base_hazard + fl.rumour(day, list(p.wave_days), p.rumour_weight, p.rumour_half_life)
        bound = float(fl.hazard_to_probability(pressure * max_static))
        cand = candidates(rng, 0, p.n_men, bound)
        cand = cand[at_home[cand]]
        leave = cand[rng.random(cand.size) * bound < fl.hazard_to_probability(pressure * static_m[cand])]
        at_home[leave] = False
        n_home -= leave.size
        tot["fled"] += leave.size
        # (c) casualties and (b) chances to defect, both drawn by thinning over the soldiers
        # present (positions in ``present``): hit with p_kia + p_wia, then killed or wounded in
        # the ratio of the rates; a chance with opportunity_rate, independently. Only a
        # soldier with a chance who is not hit needs his score: he attempts if it passes.
        p_hit = p_kia + p_wia
        hit = candidates(rng, 0, present.size, p_hit)
        killed = rng.random(hit.size) * p_hit < p_kia
        tot["killed"] += int(np.count_nonzero(killed))
        tot["wounded"] += int(hit.size - np.count_nonzero(killed))
        leaves = np.zeros(present.size, dtype=bool)
        leaves[hit] = True
        chance = candidates(rng, 0, present.size, p.opportunity_rate)
        chance = chance[~leaves[chance]]
        s = present[chance]
        units = s // p.unit_size
        gone_share = np.minimum(gone[units] / p.unit_size, 1.0)
        score = dfn.scores(unw[s], morale[units], fam[s], gone_share, success, value, p.detection, p.punishment,
                           p.reprisal, p.home_attachment, 0.0, p.w_unwilling, p.w_morale, p.w_social)
        attempt = chance[score >= thr[s]]
        caught = rng.random(attempt.size) < p.detection
        tot["caught"] += int(np.count_nonzero(caught))
        tot["defected"] += int(attempt.size - np.count_nonzero(caught))
        gone += np.bincount(present[attempt[~caught]] // p.unit_size, minlength=p.n_units)  # seen from tomorrow
        leaves[attempt] = True
        present = present[~leaves]
        for k in CURVES:
            out[k][day] = tot[k]
    out["agent_steps"] = np.array(steps)
    return out


if __name__ == "__main__":
    params = CoreParams()
    t = time.perf_counter()
    res = run_vectorized(params, 1)
    dt = time.perf_counter() - t
    print(f"vectorized core: {int(res['agent_steps']):,} agent-steps in {dt:.3f} s "
          f"({res['agent_steps'] / dt:,.0f} agent-steps/s); final "
          + ", ".join(f"{k} {int(res[k][-1])}" for k in CURVES))
