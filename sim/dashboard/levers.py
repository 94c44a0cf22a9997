"""The "What if" levers: one table from lever to scenario path, and what follows from it.

Each lever of the page is a row of :data:`LEVERS`: a label, the scenario path it sets (in
the ``--set`` syntax, with ``{offer}`` and ``{host}`` standing for an offer's or a host's
name) and the values it allows. Everything else is derived from the table:

- :func:`overrides` turns the page's lever values into ``--set`` strings, only for the
  values that differ from the chosen scenario's;
- :func:`load_whatif` loads the chosen scenario with those overrides through
  :func:`sim.config.load_scenario` (so the page refuses what the CLI refuses, with the
  same one-line message);
- :func:`scenario_yaml` writes the file that reproduces the view (``extends:`` the chosen
  scenario, only the changed keys) and :func:`save_scenario` saves it, checked with the
  loader, into the scenario folder;
- :func:`whatif_spec` builds the paired ensemble (baseline vs. the what-if) that the page
  runs through :func:`sim.runner.ensemble.run_ensemble`.

Nothing here imports Solara, so it is usable (and tested) without the page.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sim.errors import ConfigError, ResultsError

if TYPE_CHECKING:
    from sim.config import Scenario
    from sim.runner.spec import EnsembleSpec

Kind = Literal["number", "optional_day", "choice", "hosts"]


@dataclass(frozen=True)
class Lever:
    """One control of the "What if" mode.

    Attributes:
        key: Identifier of the lever (the page's state key).
        label: What the page shows.
        path: Scenario path in the ``--set`` syntax; ``{offer}`` is the chosen
            scenario's last offer (:func:`lever_offer`), ``{host}`` each host in turn.
        kind: ``number`` (a slider), ``optional_day`` (a day or none), ``choice`` (one of
            ``choices``) or ``hosts`` (the set of hosts whose policy is not ``closed``).
        low: Smallest value of a number (``number``, ``optional_day``).
        high: Largest value of a number.
        step: Slider step.
        choices: The allowed values of a ``choice``.
        admit: For ``hosts``: the policy given to a host switched on that was closed.
    """

    key: str
    label: str
    path: str
    kind: Kind
    low: float = 0.0
    high: float = 1.0
    step: float = 0.01
    choices: tuple[str, ...] = ()
    admit: str = ""

    @property
    def needs_offer(self) -> bool:
        """Whether the lever acts on an offer (disabled for a scenario without one)."""
        return "{offer}" in self.path


# The one table. Paths are checked against sim/config/schema.py by tests/test_dashboard.py.
LEVERS: tuple[Lever, ...] = (
    Lever("payment", "Offer: payment (USD)", "offers.{offer}.payment_usd", "number", 0.0, 1_000_000.0, 10_000.0),
    Lever("credibility", "Offer: credibility", "offers.{offer}.credibility.base", "number", 0.0, 1.0, 0.05),
    Lever("publicity", "Offer: publicity (daily awareness hazard)", "offers.{offer}.publicity", "number", 0.0, 0.2, 0.005),
    Lever("deadline", "Offer: deadline (day; none = open-ended)", "offers.{offer}.deadline_day", "optional_day", 1, 730, 1),
    Lever("draftee_hosts", "Hosts that admit draftees", "hosts.{host}.draftee_policy", "hosts", admit="open"),
    Lever("deserter_hosts", "Hosts that admit deserters", "hosts.{host}.deserter_policy", "hosts", admit="asylum"),
    Lever("detection", "Kremlin: detection of defection attempts", "kremlin.counter_defection.detection_base", "number", 0.0, 1.0, 0.05),
    Lever("exit_voice", "Exit-voice link", "protest.exit_voice.link", "choice",
          choices=("none", "substitute", "complement", "inverted_u")),
)
LEVER_BY_KEY = {lv.key: lv for lv in LEVERS}
CLOSED = "closed"
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,79}")


def lever_offer(scenario: Scenario) -> str | None:
    """The name of the offer the offer levers move, or None without an offer.

    The scenario's last offer: named scenarios extend the baseline, which holds Ukraine's
    real offer, and add their own offer after it (Caplan's in ``caplan``), so the last offer
    is the one the scenario is about; in ``baseline`` it is Ukraine's.
    """
    return scenario.offers[-1].name if scenario.offers else None


def host_names(scenario: Scenario) -> list[str]:
    """The scenario's hosts, in order."""
    return [h.name for h in scenario.hosts]


def current_values(scenario: Scenario) -> dict[str, Any]:
    """The value of every lever in ``scenario`` (offer levers absent without an offer).

    ``hosts`` levers give the sorted list of hosts whose policy is not ``closed``.
    """
    from sim.config.loader import dumped_value

    data = scenario.model_dump(mode="json")
    offer = lever_offer(scenario)
    out: dict[str, Any] = {}
    for lv in LEVERS:
        if lv.needs_offer and offer is None:
            continue
        if lv.kind == "hosts":
            out[lv.key] = sorted(h for h in host_names(scenario)
                                 if dumped_value(data, lv.path.format(host=h)) != CLOSED)
        else:
            out[lv.key] = dumped_value(data, lv.path.format(offer=offer))
    return out


def slider_position(lever: Lever, value: float) -> float:
    """Where the slider of a ``number`` lever shows ``value``: clamped to the lever's range
    and rounded to its step exactly as Vuetify's ``v-slider`` rounds (``roundValue``).

    The slider must be given a value it keeps as it is: given one outside its range or
    off its step, ``v-slider`` clamps and rounds it and sends the result back as the user's
    input, which would overwrite what was typed into the number field beside it (a typed
    credibility of 1.5 came back as 1.0 a moment later, and its error line vanished).
    """
    v = min(max(float(value), lever.low), lever.high)
    step = float(lever.step)
    if step <= 0:
        return v
    # JavaScript's step.toString(): 10000 (no decimals) for 10000.0, 0.05 (two) for 0.05
    decimals = 0 if step.is_integer() else len(repr(step).split(".")[1])
    offset = math.fmod(lever.low, step)
    snapped = math.floor((v - offset) / step + 0.5) * step + offset  # Math.round
    return float(f"{min(snapped, lever.high):.{decimals}f}")


def _yaml_value(value: Any) -> str:
    """A value in the ``--set`` syntax (YAML): ``null`` for None, JSON-quoted strings."""
    import json

    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))


def changes(scenario: Scenario, values: dict[str, Any]) -> list[tuple[str, Any]]:
    """The (path, value) pairs where ``values`` differ from ``scenario``, in table order.

    Args:
        scenario: The chosen scenario, resolved.
        values: Lever key -> value as the page holds it (missing keys: unchanged).

    Raises:
        ConfigError: an unknown lever, an offer lever on a scenario without an offer, or
            an unknown host (source ``what if``).
    """
    unknown = sorted(set(values) - set(LEVER_BY_KEY))
    if unknown:
        raise ConfigError("what if", unknown[0], f"unknown lever; levers: {', '.join(LEVER_BY_KEY)}")
    now = current_values(scenario)
    from sim.config.loader import dumped_value

    data = scenario.model_dump(mode="json")
    offer = lever_offer(scenario)
    hosts = host_names(scenario)
    out: list[tuple[str, Any]] = []
    for lv in LEVERS:
        if lv.key not in values:
            continue
        if lv.needs_offer and offer is None:
            raise ConfigError("what if", lv.path, f"{scenario.name!r} makes no offer; choose a scenario with one")
        want = values[lv.key]
        if lv.kind == "hosts":
            chosen = set(want)
            bad = sorted(chosen - set(hosts))
            if bad:
                raise ConfigError("what if", lv.path.format(host=bad[0]), f"no host named {bad[0]!r}")
            for h in hosts:
                path = lv.path.format(host=h)
                policy = dumped_value(data, path)
                if h in chosen and policy == CLOSED:
                    out.append((path, lv.admit))
                elif h not in chosen and policy != CLOSED:
                    out.append((path, CLOSED))
            continue
        if lv.kind == "number" and want is not None:
            want = float(want)
        if lv.kind == "optional_day" and want is not None:
            want = int(want)
        if want != now[lv.key]:
            out.append((lv.path.format(offer=offer), want))
    return out


def overrides(scenario: Scenario, values: dict[str, Any]) -> list[str]:
    """``--set`` strings that move ``scenario``'s levers to ``values`` (changes only)."""
    return [f"{path}={_yaml_value(v)}" for path, v in changes(scenario, values)]


def load_whatif(ref: str, values: dict[str, Any], common: list[str] | None = None) -> Scenario:
    """The chosen scenario with the levers applied, validated by the loader.

    Args:
        ref: Scenario name or file.
        values: Lever values from the page.
        common: Overrides applied to every scenario of the run (scale, days, seed).

    Raises:
        ConfigError: the same one-line errors as ``--set`` on the command line.
    """
    from sim.config import load_scenario

    common = list(common or [])
    chosen = load_scenario(ref, common)
    return load_scenario(ref, common + overrides(chosen, values))


def whatif_spec(ref: str, values: dict[str, Any], *, baseline: str = "baseline", scale: int = 400,
                days: int = 180, replications: int = 2, seed: int | None = None) -> EnsembleSpec:
    """The paired ensemble the page runs: ``baseline`` vs. ``ref`` with the levers moved.

    The what-if scenario is named ``<ref's name>_whatif`` (distinct from the baseline even
    when ``ref`` is the baseline). Both share scale, days, replications and root seed,
    so replication ``i`` is paired, as in ``asylumsim compare``.
    """
    from sim.config import load_scenario
    from sim.runner.spec import EnsembleSpec

    if replications < 1:
        raise ResultsError("--replications must be at least 1")
    common = [f"population.scale={scale}", f"run.days={days}", f"run.replications={replications}"]
    common += [f"run.seed={seed}"] if seed is not None else []
    base = load_scenario(baseline, common)
    what = load_whatif(ref, values, common + [f"run.seed={base.run.seed}"])
    what = what.model_copy(update={"name": f"{what.name}_whatif"[:80]})
    return EnsembleSpec(kind="compare", scenarios=[base, what], replications=replications, root_seed=base.run.seed,
                        days=days, baseline=base.name, parameter_uncertainty=not moves_calibrated(what))


def moves_calibrated(scenario: Scenario) -> bool:
    """Whether the scenario sets a parameter of its posterior to a value other than the
    calibrated one (:func:`sim.config.calibrated.changed_calibrated`): a lever such as the
    Kremlin's detection. The page then runs both scenarios with that value fixed
    (``--no-parameter-uncertainty``; the manifest's ``uncertainty`` says so): the posterior
    draws would otherwise replace the lever's value, and the lever would change nothing."""
    from sim.config.calibrated import changed_calibrated
    from sim.config.posterior import load_posterior

    ref = scenario.uncertainty.posterior
    return ref is not None and bool(changed_calibrated(scenario, load_posterior(ref)))


def scenario_yaml(ref: str, name: str, values: dict[str, Any], description: str = "") -> str:
    """YAML that reproduces the view: ``extends: ref`` plus only the changed keys.

    Offers and hosts are patched by name (the loader's ``offers: {NAME: {...}}`` form),
    so the file keeps every other field of the parent.

    Raises:
        ConfigError: as :func:`changes`.
    """
    from sim.config import load_scenario
    from sim.config.render import quote

    chosen = load_scenario(ref)
    tree: dict[str, Any] = {}
    for path, value in changes(chosen, values):
        node = tree
        *parents, leaf = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    desc = description or f"What if: {chosen.name} with " + (
        ", ".join(f"{p}={_yaml_value(v)}" for p, v in changes(chosen, values)) or "no change")
    lines = [f"name: {quote(name)}", f"description: {quote(desc[:300])}", f"extends: {quote(ref)}"]

    def key(k: str) -> str:
        return k if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k) else quote(k)

    def emit(node: dict[str, Any], indent: int) -> None:
        for k, v in node.items():
            if isinstance(v, dict):
                lines.append(" " * indent + f"{key(k)}:")
                emit(v, indent + 2)
            else:
                lines.append(" " * indent + f"{key(k)}: {_yaml_value(v)}")

    emit(tree, 0)
    return "\n".join(lines) + "\n"


def save_scenario(folder: Path, ref: str, name: str, values: dict[str, Any], description: str = "") -> Path:
    """Write :func:`scenario_yaml` to ``folder/<name>.yaml`` after checking it.

    The file is checked before it is kept: it must load with the loader and resolve to
    the same configuration as the view (the chosen scenario with the levers moved). It is
    written exclusively, so an existing file is never overwritten.

    Args:
        folder: The scenario folder (the working directory by default on the page).
        ref: The chosen scenario (name or file); the file ``extends:`` it.
        name: The new scenario's name, also the file name: letters, digits, ``_``, ``-``.
        values: Lever values from the page.
        description: One line for ``asylumsim list`` (default: the changes).

    Returns:
        The path written.

    Raises:
        ConfigError: a bad name, an existing file, or a file the loader refuses.
    """
    import os

    from sim.config import load_scenario
    from sim.runner.resume import first_difference

    if not NAME_RE.fullmatch(name):
        raise ConfigError("save as scenario", "name", f"{name!r} is not a valid name: use letters, digits, _ and -, "
                          "starting with a letter or digit")
    from sim.config.files import list_scenarios

    folder = Path(folder)
    path = folder / f"{name}.yaml"
    if path.exists() or path.is_symlink():
        raise ConfigError(str(path), "", "exists; choose another name (an existing file is never overwritten)")
    if name in {e.name for e in list_scenarios()} or name == Path(str(ref)).stem:
        raise ConfigError("save as scenario", "name", f"{name!r} is already a scenario; choose another name")
    text = scenario_yaml(ref, name, values, description)
    tmp = folder / f".{name}.yaml.tmp-{os.getpid()}"
    try:
        tmp.write_text(text, encoding="utf-8")
        saved = load_scenario(tmp)
        want = load_whatif(ref, values)
        diff = first_difference(saved.model_dump(mode="json") | {"name": "", "description": ""},
                                want.model_dump(mode="json") | {"name": "", "description": ""})
        if diff is not None:
            raise ConfigError(str(path), diff, "the saved file would not reproduce the view")
        try:
            os.link(tmp, path)  # fails if the file appeared meanwhile: never overwrite
        except FileExistsError:
            raise ConfigError(str(path), "", "exists; choose another name (an existing file is never overwritten)") from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot write ({exc.strerror or exc})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path
