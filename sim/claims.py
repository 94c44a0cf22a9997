"""The claims registry: every claim of CLAIMS.md -> source -> parameters -> mechanism -> outcomes.

Each :class:`Claim` names the schema parameters (dotted paths as yielded by
:func:`sim.config.schema.iter_fields`; list items as ``path[].field``) that let a user turn
the claim up, down or off in YAML, the module that uses them, and the daily outcome
columns where its effect shows. ``asylumsim claims`` prints this table and
``docs/claims.md`` is generated from it; tests check it against ``CLAIMS.md`` and the schema.

This module imports only the schema (pydantic) and the outputs registry, so the CLI stays fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo

from sim.config.schema import Scenario, iter_fields
from sim.outcomes import claim_columns

CLAIMS_MD = Path(__file__).resolve().parents[2] / "shared" / "CLAIMS.md"
"""Where CLAIMS.md lives in the workspace (beside the repository, not inside it)."""

MECHANISMS: tuple[str, ...] = (
    "sim.mechanisms.mobilization",
    "sim.mechanisms.flight",
    "sim.mechanisms.routes",
    "sim.mechanisms.replacement",
    "sim.mechanisms.front",
    "sim.mechanisms.defection",
    "sim.mechanisms.protest",
    "sim.mechanisms.security",
    "sim.actors.kremlin",
    "sim.actors.hosts",
    "sim.outcomes",
)
"""Modules a claim can be implemented in."""

OUTCOME_COLUMNS: tuple[str, ...] = claim_columns()
"""Daily outcome columns, from :data:`sim.outcomes.OUTPUTS`; ``<host>``, ``<exit>``, ``<source>``, ``<offer>`` stand for names and
``<origin>`` for ``initial``, ``mobilized`` or a replacement source."""


@dataclass(frozen=True)
class Claim:
    """One row of CLAIMS.md as the code implements it.

    Attributes:
        id: Claim id (``F1``, ``D9``, ...).
        text: The claim, verbatim from CLAIMS.md.
        sources: Source ids as in CLAIMS.md (``"004 (Caplan)"``, ``"000 comments"``), in order.
        parameters: Schema paths that encode the claim.
        mechanism: Module that uses the parameters (one of :data:`MECHANISMS`).
        outcomes: Daily outcome columns that show the effect (from :data:`OUTCOME_COLUMNS`).
        becomes: What the claim becomes in the model, verbatim from CLAIMS.md.
    """

    id: str
    text: str
    sources: tuple[str, ...]
    parameters: tuple[str, ...]
    mechanism: str
    outcomes: tuple[str, ...]
    becomes: str = ""

    @property
    def source(self) -> str:
        """The sources joined for display."""
        return ", ".join(self.sources)

    @property
    def short_text(self) -> str:
        """The first sentence of the claim, cut at a word boundary to about 100 characters."""
        first = re.split(r"(?<=\.)\s", self.text, maxsplit=1)[0]
        if len(first) <= 100:
            return first
        return first[:100].rsplit(" ", 1)[0].rstrip(",;:(") + " …"


_EXIT_RESTRICTION = tuple(
    f"kremlin.exit_restriction.{f}" for f in ("enabled", "trigger_fled", "delay_days", "effectiveness", "leakage")
)
_DETECTION = tuple(f"kremlin.counter_defection.{f}" for f in ("detection_base", "detection_slope", "detection_max"))
_SOURCES = "kremlin.replacement.sources"

CLAIMS: tuple[Claim, ...] = (
    # ---- flight of draftees
    Claim(
        "F1",
        "Every man who escapes is one less pair of boots for Putin; turning him away adds a soldier.",
        ("000", "001"),
        ("flight.base_hazard", "flight.summons_hazard", "flight.callup_risk_weight", "flight.rumour_weight",
         "hosts[].draftee_policy", "hosts[].admit_share", f"{_SOURCES}[].elasticity"),
        "sim.mechanisms.flight",
        ("fled_cum", "abroad", "mobilized_cum", "turned_back_cum", "front_strength"),
        "flight removes men from the draft pool; strength of the effect depends on R1",
    ),
    Claim(
        "F2",
        "The exodus is huge and fast (an estimate of 250,000 in days; Kazakhstan nearly 100,000 in a week), "
        "constrained by border queues for miles and flight prices (private jets up to $25,000; charter "
        "inquiries 50 -> 5,000 a day).",
        ("002",),
        ("exits", "exits[].capacity_per_day", "exits[].background_per_day", "exits[].base_cost_usd",
         "exits[].price_surge", "population.means_median_usd", "population.means_sigma",
         "flight.summons_hazard", "flight.cost_sensitivity", "flight.queue_cost_per_day",
         "flight.price_cost_weight", "flight.max_queue_days"),
        "sim.mechanisms.routes",
        ("fled_cum", "entries_cum__<host>", "queue__<exit>"),
        "route capacities, queues, price surge against means",
    ),
    Claim(
        "F3",
        "Moscow may bar military-age men from leaving; the FSB went to the Georgian border.",
        ("002",),
        _EXIT_RESTRICTION + ("exits[].restriction_exposure",),
        "sim.actors.kremlin",
        ("exit_restriction_active", "fled_cum", "queue__<exit>", "evading_at_home"),
        "exit-restriction rule: trigger, effectiveness, leakage",
    ),
    Claim(
        "F4",
        "Poland and the Baltic states refuse draftees for security reasons; Germany protects deserters "
        "facing repression.",
        ("001", "002"),
        ("hosts", "hosts[].draftee_policy", "hosts[].deserter_policy", "hosts[].admit_share",
         "hosts[].policy_changes", "hosts[].policy_changes[].day", "hosts[].policy_changes[].draftee_policy",
         "hosts[].policy_changes[].deserter_policy", "host_policy.policy_admit_share"),
        "sim.actors.hosts",
        ("entries_cum__<host>", "turned_back_cum", "defected_cum__<offer>"),
        "per-host admission policy for draftees and for deserters",
    ),
    Claim(
        "F5",
        "Russians admitted may stay for good (unlike Ukrainians who plan to return).",
        ("002",),
        ("hosts[].return_rate_per_day", "hosts[].onward"),
        "sim.actors.hosts",
        ("returned_cum", "abroad", "abroad__<host>"),
        "return rate by host; diaspora stock",
    ),
    Claim(
        "F6",
        "Many leaving are not eligible (students) but flee the economy: a brain drain.",
        ("002", "000"),
        ("population.non_eligible_per_leaver", "population.skilled_share_of_leavers"),
        "sim.outcomes",
        ("non_eligible_emigrants_cum", "skilled_emigrants_cum"),
        "non-eligible emigrants and skill share as outcomes",
    ),
    Claim(
        "F7",
        "Hundreds of thousands had already left since February.",
        ("000",),
        ("population.emigrated_before_day0", "hosts[].initial_diaspora", "population.draft_pool"),
        "sim.actors.hosts",
        ("abroad", "abroad__<host>", "pretext_risk__<host>"),
        "initial diaspora and initial pool",
    ),
    # ---- defection at the front
    Claim(
        "D1",
        "Preference falsification: some soldiers privately oppose the war and would break ranks if they "
        "had options; how many is invisible.",
        ("004 (Kuran)",),
        ("front.unwillingness.a", "front.unwillingness.b", "front.threshold_mean", "front.threshold_sd",
         "defection.unwillingness_weight", "population.opposition.a", "population.opposition.b"),
        "sim.mechanisms.defection",
        ("defected_cum", "defected_cum__<offer>", "awol_cum"),
        "hidden private unwillingness; personal thresholds",
    ),
    Claim(
        "D2",
        "Morale is low (abandoned vehicles, confusion, looting).",
        ("004 (Lyall)",),
        ("front.morale_initial", "front.morale_recovery", "front.morale_loss_sensitivity",
         "front.morale_defection_sensitivity", "front.morale_weight"),
        "sim.mechanisms.front",
        ("defected_cum", "awol_cum"),
        "initial morale distribution",
    ),
    Claim(
        "D3",
        "An offer replaces repatriation and punishment with a better life in the West.",
        ("004",),
        ("offers[].payment_usd", "offers[].status", "defection.payment_weight", "defection.payment_reference_usd",
         "defection.status_value", "offers[].repatriation_probability",
         "kremlin.counter_defection.punishment_base"),
        "sim.mechanisms.defection",
        ("defected_cum", "defected_cum__<offer>"),
        "offer value against punishment and repatriation risk",
    ),
    Claim(
        "D4",
        "Commanders who fear defection distrust their men, which lowers effectiveness.",
        ("004",),
        ("front.distrust_weight", "front.distrust_reference_rate"),
        "sim.mechanisms.front",
        ("front_effective",),
        "effectiveness penalty from perceived defection risk",
    ),
    Claim(
        "D5",
        "Publicize the offer everywhere (leaflets, social media).",
        ("004", "003"),
        ("offers[].publicity", "defection.word_of_mouth"),
        "sim.mechanisms.defection",
        ("defected_cum__<offer>",),
        "awareness diffusion; publicity parameter",
    ),
    Claim(
        "D6",
        "A few early defections cascade, especially if the offer may be time-limited.",
        ("003 (Schuck)",),
        ("defection.social_weight", "defection.urgency_weight", "defection.urgency_window_days",
         "offers[].deadline_day", "front.unit_size"),
        "sim.mechanisms.defection",
        ("defected_cum", "defected_cum__<offer>"),
        "unit-level social influence; deadline urgency",
    ),
    Claim(
        "D7",
        "It costs NATO almost nothing if defectors are spread among countries.",
        ("003 (Schuck)",),
        ("hosts[].burden_share", "offers[].destination", "host_policy.policy_resettlement_usd"),
        "sim.actors.hosts",
        ("host_cost_usd_cum", "host_cost_usd_cum__<host>", "offer_cost_usd_cum__<offer>"),
        "burden sharing; cost outcome by host",
    ),
    Claim(
        "D8",
        "Ukraine's offer (amnesty + 5M roubles, ~$48,000) is worse than it looks: elude your own army, "
        "survive surrender, a POW camp, a fate hinging on the war's outcome.",
        ("004 (Caplan)",),
        ("offers[].credibility.model", "offers[].credibility.base", "offers[].credibility.war_weight",
         "offers[].surrender_survival", "offers[].route", "kremlin.counter_defection.detection_base",
         "front.enemy_strength"),
        "sim.mechanisms.defection",
        ("defected_cum__<offer>", "caught_cum"),
        "chain of success probabilities; credibility tied to the war",
    ),
    Claim(
        "D9",
        "Caplan's Version 2.0: $100,000 plus EU citizenship, directly to the EU or via speedy transport "
        "after surrender; no gamble on Ukraine winning.",
        ("004 (Caplan)",),
        ("offers[].payment_usd", "offers[].status", "offers[].route", "offers[].credibility.model",
         "offers[].maker", "defection.payment_weight"),
        "sim.mechanisms.defection",
        ("defected_cum__<offer>", "offer_cost_usd_cum__<offer>", "front_strength"),
        "offer parameters; credibility independent of the war",
    ),
    Claim(
        "D10",
        "Cost is small: all ~200,000 troops x $100,000 = $20B; payments could go to $1M; a multi-tier "
        "offer pays the first 10,000 deserters most, later ones less.",
        ("004 (Caplan)",),
        ("offers[].tiers", "offers[].tiers[].first", "offers[].tiers[].amount_usd", "offers[].payment_usd"),
        "sim.mechanisms.defection",
        ("offer_cost_usd_cum__<offer>", "defected_cum__<offer>"),
        "tiered payment schedule; cost outcome",
    ),
    Claim(
        "D11",
        "Ukraine's offer includes amnesty, but repatriation in an exchange or recapture remains possible.",
        ("004 (Somin)",),
        ("offers[].repatriation_probability", "offers[].status"),
        "sim.mechanisms.defection",
        ("repatriated_cum", "defected_cum__<offer>"),
        "repatriation probability for the Ukrainian channel",
    ),
    Claim(
        "D12",
        "Hessian precedent: clemency handbills in 1776; roughly a tenth of the force deserted.",
        ("003 (Matzko)",),
        ("front.threshold_mean", "front.threshold_sd", "defection.opportunity_rate", "front.awol_rate"),
        "sim.mechanisms.defection",
        ("defected_cum", "awol_cum", "front_strength"),
        "a plausibility check on long-run desertion rates",
    ),
    Claim(
        "D13",
        "Surrendering soldiers are entitled to asylum under refugee law; the US could use humanitarian parole.",
        ("003",),
        ("hosts[].deserter_policy", "host_policy.policy_admit_share", "host_policy.policy_resettlement_usd"),
        "sim.actors.hosts",
        ("defected_cum__<offer>", "host_cost_usd_cum__<host>"),
        "host policy options for deserters",
    ),
    Claim(
        "D14",
        "Exclude soldiers guilty of war crimes; try them.",
        ("000",),
        ("hosts[].screening_catch_rate", "defection.war_criminal_share"),
        "sim.mechanisms.security",
        ("war_criminals_admitted_cum",),
        "screening share and exclusion",
    ),
    Claim(
        "D15",
        "Few will take it: deserting endangers the family left behind; many just want to go home.",
        ("004 comments",),
        ("kremlin.counter_defection.reprisal_base", "kremlin.counter_defection.reprisal_slope",
         "population.family_ties_share", "front.home_attachment"),
        "sim.mechanisms.defection",
        ("defected_cum", "defected_cum__<offer>"),
        "family reprisal cost; home attachment",
    ),
    Claim(
        "D16",
        "Defectors get shot by their own side (blocking orders, Stalingrad).",
        ("004 comments",),
        _DETECTION + ("kremlin.counter_defection.executed_share", "kremlin.counter_defection.window_days"),
        "sim.actors.kremlin",
        ("detection", "caught_cum", "executed_cum", "defected_cum"),
        "detection and lethal punishment rising with defection",
    ),
    Claim(
        "D17",
        "Pay bounties for equipment and intelligence, and pay the unit commander too.",
        ("004 comments",),
        ("offers[].equipment_bounty_usd", "offers[].equipment_share", "offers[].commander_payment_usd",
         "offers[].commander_rate"),
        "sim.mechanisms.defection",
        ("defected_cum__<offer>", "offer_cost_usd_cum__<offer>"),
        "optional offer extras; commander payment triggers unit-wide moves",
    ),
    Claim(
        "D18",
        "Zelensky promised civilized treatment, secrecy, and no forced return to Russia.",
        ("002",),
        ("offers[].repatriation_probability", "offers[].credibility.base"),
        "sim.mechanisms.defection",
        ("repatriated_cum", "defected_cum__<offer>"),
        "lower repatriation risk in the Ukrainian channel",
    ),
    Claim(
        "D19",
        "Desertion, surrender and refusal now carry up to 10 years in prison.",
        ("001",),
        ("kremlin.counter_defection.punishment_base", "kremlin.counter_defection.punishment_slope",
         "kremlin.counter_defection.imprisoned_share", "kremlin.counter_defection.sent_back_delay_days"),
        "sim.actors.kremlin",
        ("caught_cum", "imprisoned_cum", "defected_cum"),
        "punishment severity",
    ),
    # ---- replacement
    Claim(
        "R1",
        "A shortfall makes Putin conscript others instead: men in occupied Donbas, Belarus, Syria.",
        ("002",),
        (_SOURCES, f"{_SOURCES}[].name", f"{_SOURCES}[].elasticity", f"{_SOURCES}[].delay_days",
         f"{_SOURCES}[].cap_per_day", f"{_SOURCES}[].cap_total", f"{_SOURCES}[].start_day",
         "kremlin.replacement.target_strength", "mobilization.adapt_overshoot"),
        "sim.mechanisms.replacement",
        ("replacements_cum__<source>", "front_strength"),
        "replacement sources with elasticity, delay, and limits; burden shifted to others as an outcome",
    ),
    Claim(
        "R2",
        "Ethnic minorities are drafted disproportionately.",
        ("002",),
        ("regions", "regions[].callup_bias", "regions[].minority", "regions[].pool_share"),
        "sim.mechanisms.mobilization",
        ("mobilized_minority_cum", "summoned_cum", "mobilized_cum"),
        "regional and ethnic allocation bias",
    ),
    Claim(
        "R3",
        "The order calls up to 300,000.",
        ("000", "001"),
        ("mobilization.waves", "mobilization.waves[].day", "mobilization.waves[].total",
         "mobilization.waves[].duration_days", "mobilization.summons_overshoot"),
        "sim.mechanisms.mobilization",
        ("summoned_cum", "mobilized_cum", "in_training"),
        "quota schedule",
    ),
    Claim(
        "R4",
        "Conscripts reach the front with weeks of training or less; the unfit and old are taken.",
        ("002",),
        ("mobilization.training_days", "mobilization.mobilized_quality", f"{_SOURCES}[].delay_days", f"{_SOURCES}[].quality", "front.initial_quality"),
        "sim.mechanisms.replacement",
        ("in_training", "front_effective"),
        "training delay; quality of new soldiers",
    ),
    # ---- protest and voice
    Claim(
        "P1",
        "Trapping unwilling men and their families inside Russia brings the war home; mothers and wives in "
        "the streets pressure the Kremlin; exit drains that voice.",
        ("002", "000 comments"),
        ("protest.exit_voice.link", "protest.exit_voice.strength", "protest.exit_voice.reference_share",
         "protest.exit_voice.peak_share", "protest.legitimacy_protest_weight",
         "kremlin.concessions.protest_threshold", "kremlin.concessions.callup_slowdown"),
        "sim.mechanisms.protest",
        ("protest_active", "legitimacy", "concessions_cum"),
        "exit -> voice link (sign and shape are parameters)",
    ),
    Claim(
        "P2",
        "Thousands protested; detained protesters face up to 15 years, and are beaten and drafted.",
        ("001",),
        ("protest.arrest_capacity", "protest.k", "protest.max_jail_days", "regions[].police_ratio",
         "mobilization.arrested_protesters_summoned", "protest.hardship_announcement_weight"),
        "sim.mechanisms.protest",
        ("arrests_cum", "summoned_cum"),
        "arrest rate; arrested protesters enter the draft",
    ),
    Claim(
        "P3",
        "Without an exit men turn to desperate acts (shooting an officer, breaking their own arms).",
        ("001",),
        ("protest.evasion_weight", "mobilization.hide_rate", "flight.turned_back_retry"),
        "sim.mechanisms.protest",
        ("evading_at_home",),
        "evasion at home when exit is closed",
    ),
    Claim(
        "P4",
        "A sustained exodus is a dagger to Russian morale and to the regime's narrative.",
        ("002",),
        ("front.exodus_morale_weight", "protest.exit_voice.link", "protest.exit_voice.legitimacy_weight"),
        "sim.mechanisms.protest",
        ("legitimacy", "front_effective", "defected_cum"),
        "legitimacy and front morale fall with the exodus",
    ),
    Claim(
        "P5",
        "Protests, some led by soldiers' wives, spread; recruitment centres were attacked.",
        ("002",),
        ("protest.hardship_base", "protest.hardship_callup_weight", "protest.hardship_casualty_weight",
         "protest.legitimacy_casualty_weight", "protest.family_multiplier", "protest.threshold"),
        "sim.mechanisms.protest",
        ("protest_active", "arrests_cum", "legitimacy"),
        "hardship from call-ups drives protest",
    ),
    # ---- host-country security
    Claim(
        "H1",
        "Russia could seed spies and saboteurs into the stream (a Korean War POW precedent).",
        ("000 comments", "002"),
        ("kremlin.infiltrators_per_1000_leavers", "hosts[].screening_catch_rate"),
        "sim.mechanisms.security",
        ("infiltrators_admitted_cum",),
        "infiltration rate; screening catch rate",
    ),
    Claim(
        "H2",
        "A large \"Russian\" minority in a state in Moscow's sphere is a pretext for a future war.",
        ("002", "001 comments"),
        ("security.pretext_reference_share", "hosts[].size_class", "hosts[].initial_diaspora",
         "hosts[].population"),
        "sim.mechanisms.security",
        ("pretext_risk__<host>",),
        "pretext-risk index for small frontline hosts",
    ),
    Claim(
        "H3",
        "Spies need clearances to do real harm, and Putin has other channels anyway.",
        ("004",),
        ("security.infiltrator_matter_share", "security.incident_rate"),
        "sim.mechanisms.security",
        ("infiltrators_admitted_cum", "incidents_cum"),
        "share of infiltrators who matter; counterfactual channel",
    ),
    Claim(
        "H4",
        "Latvia cites \"security reasons\"; Estonia says a draft is no ground for asylum.",
        ("001",),
        ("hosts[].draftee_policy", "hosts[].incident_tolerance", "hosts[].inflow_tolerance_per_day",
         "hosts[].reversal_lag_days", "hosts[].policy_changes"),
        "sim.actors.hosts",
        ("turned_back_cum", "entries_cum__<host>", "incidents_cum"),
        "closed policies of frontline hosts",
    ),
    Claim(
        "H5",
        "Large NATO states can accept; small states near Russia reasonably refuse.",
        ("001 comments",),
        ("hosts[].size_class", "hosts[].population", "hosts[].burden_share"),
        "sim.actors.hosts",
        ("pretext_risk__<host>", "host_cost_usd_cum__<host>"),
        "host size classes",
    ),
    Claim(
        "H6",
        "Questioning refugees yields intelligence that offsets the spy risk.",
        ("000 comments",),
        ("security.intelligence_per_defector",),
        "sim.mechanisms.security",
        ("intelligence_cum",),
        "optional intelligence-gain outcome",
    ),
    # ---- what the debate is judged by
    Claim(
        "M1",
        "Each man admitted is one less widow and orphan.",
        ("002",),
        ("front.kia_rate", "front.wia_rate", "front.attrition", "front.lanchester_coefficient", "front.intensity"),
        "sim.outcomes",
        ("kia_cum", "kia_cum__<origin>", "casualties_cum", "fled_cum", "defected_cum"),
        "deaths avoided among Russian men",
    ),
    Claim(
        "M2",
        "Why should a Moscow man watch from Warsaw while kids from Minsk are pushed in?",
        ("002",),
        (f"{_SOURCES}[].elasticity", f"{_SOURCES}[].cap_total", "regions[].minority", "regions[].callup_bias"),
        "sim.outcomes",
        ("replacements_cum__<source>", "kia_cum__<origin>", "mobilized_minority_cum", "mobilized_cum"),
        "burden shifted to replacement sources",
    ),
    Claim(
        "M3",
        "The better policy ends the war fastest with the fewest casualties.",
        ("002",),
        ("front.enemy_strength", "front.attrition", "front.lanchester_coefficient",
         "kremlin.replacement.target_strength", "run.days"),
        "sim.outcomes",
        ("front_effective", "front_strength", "casualties_cum"),
        "effective strength, casualties, time to a strength threshold",
    ),
)
"""Every claim of CLAIMS.md, in its order."""


def claims_by_id() -> dict[str, Claim]:
    """The registry keyed by claim id, in CLAIMS.md order."""
    return {c.id: c for c in CLAIMS}


def split_sources(cell: str) -> tuple[str, ...]:
    """Split a CLAIMS.md source cell (``"002; 000 comments"``) into source ids."""
    return tuple(s.strip() for s in re.split(r"[,;]", cell) if s.strip())


_ROW = re.compile(r"^\|\s*([A-Z]\d+)\s*\|(.*)\|\s*$")


def parse_claims_table(path: Path | str = CLAIMS_MD) -> list[dict[str, str]]:
    """Read every claim row of CLAIMS.md's markdown tables.

    Args:
        path: The CLAIMS.md file.

    Returns:
        One dict per row with keys ``id``, ``claim``, ``source`` and ``becomes``, in file order.
    """
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        m = _ROW.match(line.strip())
        if not m:
            continue
        cells = [c.strip() for c in m.group(2).split("|")]
        if len(cells) != 3:
            raise ValueError(f"{path}: claim row {m.group(1)} has {len(cells) + 1} cells, expected 4")
        rows.append({"id": m.group(1), "claim": cells[0], "source": cells[1], "becomes": cells[2]})
    return rows


def parse_claims_md(path: Path | str = CLAIMS_MD) -> list[tuple[str, str]]:
    """Read (claim id, source cell) pairs from CLAIMS.md, in file order."""
    return [(r["id"], r["source"]) for r in parse_claims_table(path)]


@cache
def _schema_fields() -> dict[str, tuple[FieldInfo, Any]]:
    return {path: (info, ann) for path, info, ann in iter_fields(Scenario)}


def schema_paths() -> tuple[str, ...]:
    """Every parameter path of the scenario schema, in schema order."""
    return tuple(_schema_fields())


def resolve_parameter(path: str) -> FieldInfo:
    """The schema field behind a parameter path.

    Args:
        path: A dotted path as yielded by ``iter_fields`` (``offers[].payment_usd``).

    Raises:
        KeyError: If the schema has no such parameter.
    """
    try:
        return _schema_fields()[path][0]
    except KeyError:
        raise KeyError(f"no parameter {path!r} in the scenario schema") from None


def parameter_annotation(path: str) -> Any:
    """The type annotation of a parameter path (raises KeyError like :func:`resolve_parameter`)."""
    resolve_parameter(path)
    return _schema_fields()[path][1]


def values_at(obj: Any, path: str) -> list[tuple[str, Any]]:
    """The values a parameter path takes in a validated scenario.

    Args:
        obj: A :class:`~sim.config.schema.Scenario` (or any sub-model).
        path: A parameter path; ``[]`` fans out over list items.

    Returns:
        ``(label, value)`` pairs: one with an empty label for a plain path, one per list item
        (labelled by item name, or index) for a ``[]`` path; empty when a list has no items.
    """
    items: list[tuple[str, Any]] = [("", obj)]
    for part in path.split("."):
        fan = part.endswith("[]")
        key = part[:-2] if fan else part
        nxt: list[tuple[str, Any]] = []
        for label, o in items:
            v = getattr(o, key)
            if fan:
                for i, item in enumerate(v):
                    name = getattr(item, "name", None) or str(i)
                    nxt.append((f"{label}/{name}" if label else name, item))
            else:
                nxt.append((label, v))
        items = nxt
    return items


def format_value(value: Any, limit: int = 60) -> str:
    """A short, readable rendering of a parameter value."""
    if isinstance(value, list) and value and hasattr(value[0], "model_dump"):
        names = [getattr(v, "name", None) for v in value]
        text = f"{len(value)} items" + (f": {', '.join(names)}" if all(names) else "")
    elif hasattr(value, "model_dump"):
        text = repr(value.model_dump())
    elif isinstance(value, float) and abs(value) >= 1e6 and float(f"{value:g}") == value:
        text = f"{value:g}".replace("e+0", "e").replace("e+", "e")
    else:
        text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
