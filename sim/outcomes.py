"""Daily outcomes: names (stable; users' scripts rely on them) and their computation.

All counts are in real people (simulated individuals x scale); money in USD.
Columns with ``__<name>`` suffixes exist once per host, exit, source, origin or offer.
``protest_active`` is an index of voice (potential protesters times the active share of
the protest panel), not a head count (docs/ODD.md, "Protest").

Border columns come in two kinds: ``entries_cum__<host>`` is what border statistics count
(every traveller: background traffic, the men's companions, onward moves), while
``admitted_cum__<host>`` counts only draft-eligible men the host admitted at the border
from Russia; summed over hosts it equals ``fled_cum``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.config.schema import Scenario
from sim.ledger import State
from sim.mechanisms.security import pretext_risk

if TYPE_CHECKING:
    from sim.model import AsylumModel

SCALAR_OUTPUTS = [
    "front_strength", "front_effective", "in_training", "summoned", "summoned_cum", "mobilized_cum",
    "mobilized_minority_cum", "fled_cum", "abroad", "turned_back_cum", "returned_cum", "evading_at_home",
    "casualties_cum", "kia_cum", "wia_cum", "defected_cum", "caught_cum", "awol_cum", "executed_cum",
    "imprisoned_cum", "repatriated_cum", "offer_cost_usd_cum", "protest_active", "arrests_cum", "legitimacy",
    "concessions_cum", "exit_restriction_active", "detection", "infiltrators_admitted_cum",
    "war_criminals_admitted_cum", "incidents_cum", "intelligence_cum", "host_cost_usd_cum",
    "resettlement_usd_cum",
    "non_eligible_emigrants_cum", "skilled_emigrants_cum", "emigrants_since_jan_cum", "replacements_cum",
]


def output_names(sc: Scenario) -> list[str]:
    """Every daily output column for a scenario, in a stable order."""
    names = list(SCALAR_OUTPUTS)
    names += [f"entries_cum__{h.name}" for h in sc.hosts]
    names += [f"admitted_cum__{h.name}" for h in sc.hosts]
    names += [f"abroad__{h.name}" for h in sc.hosts]
    names += [f"queue__{e.name}" for e in sc.exits]
    names += [f"replacements_cum__{s.name}" for s in sc.kremlin.replacement.sources]
    names += [f"kia_cum__{o}" for o in ["initial", "mobilized"] + [s.name for s in sc.kremlin.replacement.sources]]
    names += [f"defected_cum__{o.name}" for o in sc.offers]
    names += [f"offer_cost_usd_cum__{o.name}" for o in sc.offers]
    names += [f"host_cost_usd_cum__{h.name}" for h in sc.hosts]
    names += [f"pretext_risk__{h.name}" for h in sc.hosts if h.size_class == "small_frontline"]
    return names


def compute_outputs(m: AsylumModel) -> dict[str, float]:
    """Today's values of every output column."""
    s = m.scale
    c = m.c
    st = m.ledger.stock
    pop = m.sc.population
    fled_real = c["fled"] * s
    out: dict[str, float] = {
        "front_strength": float(st[State.FRONT] * s),
        "front_effective": m.front_effective_real,
        "in_training": float(st[State.TRAINING] * s),
        "summoned": float(st[State.SUMMONED] * s),
        "summoned_cum": float(c["summoned"] * s),
        "mobilized_cum": float(c["mobilized"] * s),
        "mobilized_minority_cum": float(c["mobilized_minority"] * s),
        "fled_cum": float(fled_real),
        "abroad": float(st[State.ABROAD] * s),
        "turned_back_cum": float(c["turned_back"] * s),
        "returned_cum": float(c["returned"] * s),
        "evading_at_home": float(st[State.HIDING] * s),
        "casualties_cum": float((c["kia"] + c["wia"]) * s),
        "kia_cum": float(c["kia"] * s),
        "wia_cum": float(c["wia"] * s),
        "defected_cum": float(c["defected"] * s),
        "caught_cum": float(c["caught"] * s),
        "awol_cum": float(c["awol"] * s),
        "executed_cum": float(c["executed"] * s),
        "imprisoned_cum": float(c["imprisoned"] * s),
        "repatriated_cum": float(c["repatriated"] * s),
        "offer_cost_usd_cum": float(sum(o.cost_usd for o in m.offers)),
        "protest_active": m.protest_active,
        "arrests_cum": m.arrests_real,
        "legitimacy": m.legitimacy,
        "concessions_cum": float(m.kremlin.concessions),
        "exit_restriction_active": float(m.kremlin.restriction_active),
        "detection": m.kremlin.detection,
        "infiltrators_admitted_cum": float(m.infiltrators.sum()),
        "war_criminals_admitted_cum": float(m.war_criminals),
        "incidents_cum": m.incidents,
        "intelligence_cum": m.intelligence,
        "host_cost_usd_cum": float(m.host_cost.sum()),
        "resettlement_usd_cum": float(m.resettlement_usd),
        "non_eligible_emigrants_cum": float(fled_real * pop.non_eligible_per_leaver),
        "skilled_emigrants_cum": float(fled_real * pop.skilled_share_of_leavers),
        # F7: everyone who left in 2022, the months before the order included
        "emigrants_since_jan_cum": float(pop.emigrated_before_day0 + fled_real * (1 + pop.non_eligible_per_leaver)),
        "replacements_cum": float(m.repl_real.sum()),
    }
    abroad = m.abroad_count * s
    for i, h in enumerate(m.sc.hosts):
        out[f"entries_cum__{h.name}"] = float(m.entries_real[i])
        out[f"admitted_cum__{h.name}"] = float(m.admitted_sim[i] * s)
        out[f"abroad__{h.name}"] = float(abroad[i])
        out[f"host_cost_usd_cum__{h.name}"] = float(m.host_cost[i])
    for i, e in enumerate(m.sc.exits):
        out[f"queue__{e.name}"] = float(m.queues[i].length * s)
    for i, name in enumerate(m.source_names):
        out[f"replacements_cum__{name}"] = float(m.repl_real[i])
    for i, name in enumerate(m.origin_names):
        out[f"kia_cum__{name}"] = float(m.kia_by_origin[i] * s)
    for o in m.offers:
        out[f"defected_cum__{o.cfg.name}"] = float(m.defected_by_offer[o.index] * s)
        out[f"offer_cost_usd_cum__{o.cfg.name}"] = float(o.cost_usd)
    small = [h for h in m.sc.hosts if h.size_class == "small_frontline"]
    if small:
        idx = [m.host_names.index(h.name) for h in small]
        diaspora = np.array([h.initial_diaspora for h in small]) + abroad[idx] * (1 + pop.non_eligible_per_leaver) \
            + m.host_defectors_real[idx]
        risk = pretext_risk(diaspora, np.array([h.population for h in small]), m.sc.security.pretext_reference_share)
        for h, r in zip(small, risk, strict=False):
            out[f"pretext_risk__{h.name}"] = float(r)
    return out
