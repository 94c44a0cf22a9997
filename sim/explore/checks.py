"""Checks of an experiment before it is planned: its size, the run settings it owns, its outcomes.

Each is one line naming the file, the key and the problem (:class:`~sim.errors.ConfigError`,
or :class:`~sim.errors.ResourceError` for a plan that would not fit in memory), raised
before anything is sampled or any folder is made.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sim.errors import ConfigError, ResourceError
from sim.explore.sample import Factor, sample_size
from sim.runner.jobs import DEFAULT_MODEL

if TYPE_CHECKING:
    from sim.config import Scenario
    from sim.explore.design import Design

# The most model runs (points x scenarios x replications) one experiment may plan; a
# larger design is refused before it is sampled (docs/sensitivity.md).
MAX_RUNS = 1_000_000
# Memory to plan an experiment, in this process, before any run: per value of the unit
# sample (SALib's temporaries, the sample, its table and the digest's copy), per
# character of a scenario's JSON for each (scenario, point) built (a validated scenario
# is about 6 bytes a character, measured), and per run (its job, file name, description
# and future).
BYTES_PER_UNIT_VALUE = 128
BYTES_PER_SCENARIO_CHAR = 8
BYTES_PER_RUN = 4096
# --set keys the experiment file owns (its days, replications, seed), by the design's key
DESIGN_RUN_KEYS = {"run.days": "days", "run.replications": "replications", "run.seed": "seed"}


def refuse_run_settings(design: Design, source: str, extra_sets: list[str] | tuple[str, ...]) -> None:
    """Refuse a ``set``/``--set`` of ``run.days``, ``run.replications`` or ``run.seed`` (also
    scoped, or inside ``run={...}``): the experiment file's ``days``, ``replications`` and
    ``seed`` decide them for every run, so the value would be ignored.

    Raises:
        ConfigError: the design file and ``set[i]``, or ``--set`` and the text given.
    """
    from sim.config.merge import parse_override
    from sim.config.scoped import split_scope

    for where, texts in ((source, design.set), ("--set", list(extra_sets))):
        for i, text in enumerate(texts):
            _, rest = split_scope(text)
            key = rest.partition("=")[0].strip()
            owned = DESIGN_RUN_KEYS.get(key)
            if key == "run":  # the section at once: run={days: 5}
                try:
                    value = parse_override(rest)[1]
                except ConfigError:
                    continue  # a syntax error: the scenario loader names it
                owned = next((k for k in ("days", "replications", "seed") if isinstance(value, dict) and k in value),
                             None)
            if owned is None:
                continue
            problem = (f"an experiment's runs take its {owned} key ({owned}: {getattr(design, owned)} in {source}), "
                       f"not run.{owned}; change {owned} in {source} instead")
            if where == "--set":
                raise ConfigError("--set", text, problem)
            raise ConfigError(source, f"set[{i}]", f"{text}: {problem}")


def _size_key(design: Design) -> tuple[str, str]:
    """The design key that sets the sample's size, and what to lower, in words."""
    m = design.method
    if m.name == "sobol":
        return "method.n", ("method.n" + (" (or set second_order: false)" if m.second_order else "")
                            + ", replications or the number of parameters")
    if m.name == "morris":
        return "method.trajectories", "method.trajectories, replications or the number of parameters"
    return "parameters", "the number of parameters or replications"


def check_size(design: Design, source: str, scenarios: list[Scenario], factors: list[Factor]) -> int:
    """Refuse, before sampling, a design whose sample and job list cannot be planned.

    The number of points comes from the method's formula (:func:`sample_size`); the
    memory to plan them (the unit sample, a validated scenario per scenario and point,
    and the job list) is checked against ``run.max_memory_fraction`` of the memory
    available now, as ``run`` checks a replication's memory.

    Returns:
        The number of model runs (points x scenarios x replications).

    Raises:
        ConfigError: ``group_by: claim`` with a single group (SALib samples a lone group as
            ungrouped but analyses it as a group: a wrong index or a failure after every
            run; and one group's index is 1 by definition), Sobol' with a single factor (its
            share of the variance is 1 by definition), or more than :data:`MAX_RUNS` model runs;
        ResourceError: the plan would not fit in memory. Both name the file, the key and
            what to lower.
    """
    from sim.simulate import refuse_if_over_memory

    groups = list(dict.fromkeys(f.group for f in factors))
    if design.method.group_by == "claim" and len(groups) < 2:
        raise ConfigError(source, "method.group_by", f"claim needs at least two groups to compare, and all "
                          f"{len(factors)} parameter(s) are in {groups[0]!r} (one group's index is 1 by definition); "
                          "add a claim or use group_by: parameter")
    if design.method.name == "sobol" and len(factors) < 2:  # one factor's share of the variance is 1 by definition
        raise ConfigError(source, "parameters", f"Sobol' indices need at least two parameters to share the variance, "
                          f"and the design varies only {factors[0].name}; add a claim or parameter, or use morris")

    points = sample_size(design, factors)
    runs = points * len(scenarios) * design.replications
    key, lower = _size_key(design)
    what = (f"{points:,} points x {len(scenarios)} scenario(s) x {design.replications} replication(s) "
            f"= {runs:,} model runs")
    if runs > MAX_RUNS:
        raise ConfigError(source, key, f"{what}, more than the {MAX_RUNS:,} an experiment may plan; lower {lower}")
    chars = sum(len(json.dumps(s.model_dump(mode="json"))) for s in scenarios)
    need = (points * len(factors) * BYTES_PER_UNIT_VALUE + points * chars * BYTES_PER_SCENARIO_CHAR
            + runs * BYTES_PER_RUN)
    fraction = min(s.run.max_memory_fraction for s in scenarios)
    try:
        refuse_if_over_memory(need, 1, fraction)
    except ResourceError:
        import psutil

        have = psutil.virtual_memory().available
        raise ResourceError(f"{source}: {key}: {what} need about {need / 2**30:.1f} GiB to plan, but only "
                            f"{fraction * 100:g}% of the {have / 2**30:.1f} GiB available may be used "
                            f"(run.max_memory_fraction); lower {lower}") from None
    return runs


def check_outcomes(design: Design, scenarios: list[Scenario], source: str, model: str | None) -> None:
    if model not in (None, DEFAULT_MODEL):
        return
    from sim.outcomes import output_names

    by_name = dict(zip(design.scenario_names, scenarios, strict=True))
    for i, o in enumerate(design.outcomes):
        for ref in (o.scenario, o.minus):
            if ref is None:
                continue
            have = output_names(by_name[ref])
            if o.metric not in have:
                import difflib

                close = difflib.get_close_matches(o.metric, have, n=2)
                hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
                raise ConfigError(source, f"outcomes[{i}].metric", f"scenario {ref!r} has no output {o.metric!r}{hint}")
            if not (by_name[ref].run.start_day <= o.day <= design.days):
                raise ConfigError(source, f"outcomes[{i}].day", f"day {o.day} is outside the run (days {design.days})")
