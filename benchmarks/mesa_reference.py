"""The core rules of asylumsim written the idiomatic Mesa 3.5 way: one agent per person.

Same rules, parameters and initial population as :mod:`benchmarks.vectorized_core`
(read its docstring for the rules): every man and every soldier is a ``mesa.Agent`` whose
``step`` applies the rule to himself with scalar Python arithmetic and the model's
stdlib ``random``; the model activates them with ``agents_by_type[...].shuffle_do("step")``
each day. A man who leaves and a soldier who dies, is wounded out, is caught or defects
is removed from the model (``agent.remove()``).

Units carry the social influence: a defection is booked to the unit as pending and
the unit's ``gone`` count is advanced after all soldiers have acted, so every soldier
sees his unit as it was at the start of the day (the synchronous update the vectorized
version makes).

Run ``python benchmarks/mesa_reference.py`` for one timed run.
"""

from __future__ import annotations

import math
import time

import mesa

try:  # run as a script (python benchmarks/mesa_reference.py) or imported as a package module
    from benchmarks.vectorized_core import CURVES, CoreParams, draw_population
except ModuleNotFoundError:  # pragma: no cover
    from vectorized_core import CURVES, CoreParams, draw_population


class Unit(mesa.Agent):
    """A unit: morale, and how many of its men have defected (seen from the next day)."""

    def __init__(self, model: CoreModel, morale: float, size: int):
        super().__init__(model)
        self.morale = morale
        self.size = size
        self.gone = 0
        self.pending = 0

    @property
    def gone_share(self) -> float:
        return min(self.gone / self.size, 1.0)

    def advance(self) -> None:
        self.gone += self.pending
        self.pending = 0


class Man(mesa.Agent):
    """A draft-eligible man at home who may flee (flight hazard rule)."""

    def __init__(self, model: CoreModel, opposition: float, risk: float, means: float, family: bool):
        super().__init__(model)
        p = model.p
        propensity = opposition ** p.opposition_exponent * (1.0 - p.family_flight_penalty * family) * (0.5 + risk)
        x = p.cost_sensitivity * (math.log(max(means, 1e-6)) - math.log(max(p.exit_cost_usd, 1e-6)))
        affordability = 1.0 / (1.0 + math.exp(-x))
        self.static_hazard = propensity * affordability

    def step(self) -> None:
        lam = self.model.pressure * self.static_hazard
        if self.random.random() < 1.0 - math.exp(-lam):
            self.model.count["fled"] += 1
            self.remove()


class Soldier(mesa.Agent):
    """A soldier at the front: casualty risk, then the defection threshold rule."""

    def __init__(self, model: CoreModel, unit: Unit, unwillingness: float, threshold: float, family: bool):
        super().__init__(model)
        self.unit = unit
        self.unwillingness = unwillingness
        self.threshold = threshold
        self.family = family

    def step(self) -> None:
        m, p = self.model, self.model.p
        u = self.random.random()
        if u < p.kia_rate:
            m.count["killed"] += 1
            self.remove()
            return
        if u < p.kia_rate + p.wia_rate:
            m.count["wounded"] += 1
            self.remove()
            return
        score = (p.w_unwilling * self.unwillingness + p.w_morale * (1.0 - self.unit.morale) + m.offer_term
                 - p.detection * p.punishment - self.family * p.reprisal - p.home_attachment
                 + p.w_social * self.unit.gone_share)
        if score >= self.threshold and self.random.random() < p.opportunity_rate:
            if self.random.random() < p.detection:
                m.count["caught"] += 1
            else:
                m.count["defected"] += 1
                self.unit.pending += 1
            self.remove()


class CoreModel(mesa.Model):
    """Men, soldiers and units; one step is one day."""

    def __init__(self, p: CoreParams, seed: int):
        super().__init__(rng=seed)
        self.p = p
        pop = draw_population(self.rng, p)  # the same people as run_vectorized(p, seed)
        Man.create_agents(self, p.n_men, pop["opposition"].tolist(), pop["risk"].tolist(), pop["means"].tolist(),
                          pop["man_family"].tolist())
        units = list(Unit.create_agents(self, p.n_units, pop["morale"].tolist(), p.unit_size))
        Soldier.create_agents(self, p.n_soldiers, [units[i // p.unit_size] for i in range(p.n_soldiers)],
                              pop["unwillingness"].tolist(), pop["threshold"].tolist(), pop["soldier_family"].tolist())
        reach = (1.0 - p.detection) * p.surrender_survival  # the offer's chance of success, via Ukraine
        value = p.payment_weight * math.log1p(p.payment_usd / p.payment_reference_usd) + p.status_value
        self.offer_term = reach * (1.0 - p.repatriation) * p.credibility * value
        self.count = dict.fromkeys(CURVES, 0)
        self.curves = {k: [] for k in CURVES}
        self.agent_steps = 0
        self.pressure = 0.0

    def rumour(self, day: int) -> float:
        p = self.p
        return p.rumour_weight * sum(0.5 ** ((day - d) / p.rumour_half_life) for d in p.wave_days if day >= d)

    def step(self) -> None:
        day = int(self.time) - 1  # Mesa advances time before calling step: the first step is day 0
        self.pressure = self.p.base_hazard + self.rumour(day)
        men, soldiers = self.agents_by_type.get(Man), self.agents_by_type.get(Soldier)
        self.agent_steps += (len(men) if men else 0) + (len(soldiers) if soldiers else 0)
        if men:
            men.shuffle_do("step")
        if soldiers:
            soldiers.shuffle_do("step")
        self.agents_by_type[Unit].do("advance")
        for k in CURVES:
            self.curves[k].append(self.count[k])


def run_mesa(p: CoreParams, seed: int) -> dict:
    """Simulate ``p.days`` days; same outputs as :func:`benchmarks.vectorized_core.run_vectorized`."""
    import numpy as np

    model = CoreModel(p, seed)
    for _ in range(p.days):
        model.step()
    out = {k: np.array(v, dtype=np.int64) for k, v in model.curves.items()}
    out["agent_steps"] = np.array(model.agent_steps)
    return out


if __name__ == "__main__":
    params = CoreParams()
    t = time.perf_counter()
    res = run_mesa(params, 1)
    dt = time.perf_counter() - t
    print(f"mesa reference: {int(res['agent_steps']):,} agent-steps in {dt:.3f} s "
          f"({res['agent_steps'] / dt:,.0f} agent-steps/s); final "
          + ", ".join(f"{k} {int(res[k][-1])}" for k in CURVES))
