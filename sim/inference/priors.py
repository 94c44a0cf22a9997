"""Priors of the ABC-SMC calibration (issue 15, point 5): :class:`Prior` and :data:`DEFAULT_PRIORS`.

A prior names a scenario parameter path (as for ``--set``), a distribution (``uniform`` on
[low, high], or ``loguniform``: uniform in log10, for rates spanning orders of magnitude),
and a source (or "assumption"). :mod:`sim.inference.abc` re-exports both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class Prior:
    """Prior of one scenario parameter.

    Attributes:
        path: Dotted scenario path, as for ``--set`` (``front.awol_rate``).
        distribution: ``uniform`` on [low, high], or ``loguniform`` (uniform in log10).
        low: Lower bound (in the parameter's own units, > 0 for loguniform).
        high: Upper bound (> low).
        source: Where the range comes from, or "assumption".
        integer: The parameter is a whole number (days): the sampled value is rounded.
    """

    path: str
    distribution: Literal["uniform", "loguniform"]
    low: float
    high: float
    source: str = "assumption"
    integer: bool = False

    def __post_init__(self) -> None:
        if self.distribution not in ("uniform", "loguniform"):
            raise ValueError(f"{self.path}: distribution must be uniform or loguniform")
        if not self.high > self.low:
            raise ValueError(f"{self.path}: need high > low")
        if self.distribution == "loguniform" and self.low <= 0:
            raise ValueError(f"{self.path}: loguniform needs low > 0")
        problem = run_setting_problem(self.path)
        if problem is not None:
            raise ValueError(f"{self.path}: {problem}")

    @property
    def key(self) -> str:
        """The pyabc parameter name (no dots; ``log10__`` prefix on a log scale)."""
        safe = self.path.replace(".", "__")
        return f"log10__{safe}" if self.distribution == "loguniform" else safe

    def rv(self):
        """The pyabc random variable of :attr:`key`."""
        import pyabc

        if self.distribution == "uniform":
            return pyabc.RV("uniform", self.low, self.high - self.low)
        lo, hi = math.log10(self.low), math.log10(self.high)
        return pyabc.RV("uniform", lo, hi - lo)

    def value(self, sampled: float) -> float:
        """The parameter's value from the sampled pyabc value (rounded if :attr:`integer`)."""
        v = float(10.0**sampled) if self.distribution == "loguniform" else float(sampled)
        return float(round(v)) if self.integer else v

    def quantile(self, q: float) -> float:
        """Prior quantile in the parameter's units."""
        if self.distribution == "uniform":
            return self.low + q * (self.high - self.low)
        lo, hi = math.log10(self.low), math.log10(self.high)
        return float(10.0 ** (lo + q * (hi - lo)))


#: The options by which a calibration sets run settings a prior might name.
OPTION_OF: dict[str, str] = {
    "run.days": "set the simulated days with --days",
    "run.seed": "the calibration seeds each replication from --seed",
    "population.scale": "set the scale of the calibration runs with --scale",
}


def run_setting_problem(path: str) -> str | None:
    """Why a prior cannot be put on ``path``, or None: it is a setting of the run, not of the
    model (:func:`sim.config.posterior.run_setting`: the ``run``, ``uncertainty`` and label
    sections, ``population.scale``). A prior on one would draw a run setting per particle (a
    ``run.days`` prior ends the targets' days; a ``population.scale`` one runs at another
    scale than the one reported)."""
    from sim.config.posterior import run_setting

    if run_setting(path) is None:
        return None
    hint = OPTION_OF.get(path)
    return f"{path} is a run setting, not a model parameter, so it cannot have a prior" + (f" ({hint})" if hint else "")


def priors_from_spec(spec: Sequence[dict]) -> list[Prior]:
    """Priors from a list of dicts (e.g. read from YAML): ``path, distribution, low, high, source``.

    Raises:
        ValueError: a repeated path or a bad prior; TypeError: unknown keys.
    """
    priors = [Prior(**s) for s in spec]
    paths = [p.path for p in priors]
    if len(set(paths)) != len(paths):
        raise ValueError("a parameter path repeats in the priors")
    return priors


def read_priors(path: Path) -> list[Prior]:
    """Priors from a YAML file (``asylumsim calibrate --priors FILE``).

    The file is a mapping with one key, ``priors``: a list of entries with the fields of
    :class:`Prior` (``path``, ``distribution``, ``low``, ``high``, optional ``source`` and
    ``integer``). Example: ``docs/examples/priors_round11.yaml`` (the default priors). Parameters left out keep
    their values in the scenario.

    Args:
        path: The YAML file.

    Returns:
        The priors, in the file's order.

    Raises:
        ValueError: one line naming the file, the entry (``priors[i]``) or key, and the problem
            (unreadable file, not YAML, wrong shape, unknown field, bad range, repeated path,
            a path that is a run setting, :func:`run_setting_problem`).
    """
    from sim.config.yaml_safe import read_yaml_file
    from sim.errors import ConfigError

    try:  # the scenario files' strict reader: duplicate keys, tags, nesting and size refused in one line
        data = read_yaml_file(Path(path))
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(data, dict) or set(data) != {"priors"}:
        raise ValueError(f"{path}: must be a mapping with the single key 'priors' (a list of priors)")
    entries = data["priors"]
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: priors must be a non-empty list")
    known = {f.name for f in fields(Prior)}
    out: list[Prior] = []
    for i, e in enumerate(entries):
        where = f"{path}: priors[{i}]"
        if not isinstance(e, dict):
            raise ValueError(f"{where}: must be a mapping with path, distribution, low, high")
        unknown = sorted(set(e) - known)
        missing = [k for k in ("path", "distribution", "low", "high") if k not in e]
        if unknown or missing:
            problem = f"unknown key {unknown[0]!r}" if unknown else f"missing key {missing[0]!r}"
            raise ValueError(f"{where}: {problem} (keys: {', '.join(sorted(known))})")
        bounds = {k: _number(e[k]) for k in ("low", "high")}
        if not isinstance(e["path"], str) or None in bounds.values():
            raise ValueError(f"{where}: path must be a text and low, high numbers")
        if not isinstance(e.get("source", ""), str) or not isinstance(e.get("integer", False), bool):
            raise ValueError(f"{where}: source must be a text and integer true or false")
        problem = run_setting_problem(e["path"])
        if problem is not None:
            raise ValueError(f"{where}.path: {problem}")
        try:
            out.append(Prior(**{**e, **bounds}))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None
    paths = [p.path for p in out]
    repeated = next((q for q in paths if paths.count(q) > 1), None)
    if repeated is not None:
        raise ValueError(f"{path}: priors: the path {repeated} repeats")
    return out


def _number(v) -> float | None:
    """``v`` as a finite float, or None. YAML 1.1 (PyYAML) reads ``1e-5`` without a dot as
    text, so a text that is a number is taken as one."""
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        return None
    try:
        f = float(v)
    except ValueError:
        return None
    return f if math.isfinite(f) else None


#: Priors of the ten parameters calibrated to the defection/desertion data (issue 15):
#: Ukraine's publicity and talk among the aware (awareness), the private preference mean
#: (who considers), the request multiplier (hotline requests per considering soldier), the
#: opportunity rate (who acts), detection (who is caught), the court delay (when caught
#: men's cases reach a court), the AWOL rate, the capture rate, and the rate of AWOL court
#: cases before the run (the months of 2022 the run does not simulate). Ranges span the scenario
#: default by about an order of magnitude each way (rates: log-uniform), cut where the data
#: rule a range out; the reasons are in each ``source``. Four parameters of the earlier
#: twelve-parameter calibration are fixed at that posterior's medians in the scenario
#: (:data:`FIXED_FROM_EARLIER_POSTERIOR`; docs/calibration.md, "Round 9").
DEFAULT_PRIORS: tuple[Prior, ...] = (
    Prior("offers.ukraine_amnesty.publicity", "loguniform", 1e-4, 0.2,
          "assumption around the default 0.02 a day (004: leaflets, social media); 0.2 = aware within a week; "
          "1e-4: with talk among the aware a small seed of aware soldiers suffices"),
    Prior("defection.awareness_contagion", "uniform", 0.0, 0.1,
          "assumption (Bass 1969 imitation term; default 0: off); 0.1 a day = a fully aware front tells an "
          "unaware soldier within about ten days"),
    Prior("defection.private_mean", "uniform", -6.0, 3.0,
          "assumption around the default -1.5 HLY (004, Kuran); beyond +3 nearly everyone would consider leaving"),
    Prior("kremlin.counter_defection.court_delay_days", "uniform", 0.0, 150.0,
          "assumption: CPC art. 162, a preliminary investigation lasts up to 2 months, extendable; 150 = five months"),
    Prior("defection.request_multiplier", "uniform", 0.0, 3.0,
          "assumption (default 1); csv note: callers include relatives and men not yet mobilized"),
    Prior("defection.opportunity_rate", "loguniform", 1e-5, 0.01,
          "assumption (default 0.0001); 216 surrenders for about 22,000 requests (csv) suggests a rare chance"),
    Prior("kremlin.counter_defection.detection_base", "uniform", 0.05, 0.9,
          "assumption (default 0.25, 004 comments); 0.9 = almost every attempt caught"),
    Prior("front.awol_rate", "loguniform", 3e-5, 3e-3,
          "assumption (default 0.0003, 002): one order of magnitude each way"),
    Prior("front.capture_rate", "loguniform", 1e-7, 1e-4,
          "assumption (default 0.000006); at 0.00004 the voluntary POW share was 3% against the csv's ~20%"),
    Prior("front.awol_court_cases_before_run", "uniform", 1.68, 3.9,
          "csv:awol_court_cases_year: at least 2021's rate, 1001 / 1.63 / 365 = 1.68 AWOL cases a day (assumption: "
          "the war, from day -209, did not lower it; 2022's count was 63% above 2021's); at most 1001 / 259 = 3.9 "
          "(every one of 2022's cases in its 259 days before the run)"),
)

#: Parameters of the earlier twelve-parameter calibration (commit 76ce1e5, 2,812 simulations)
#: that this one keeps fixed at that posterior's rounded marginal medians (the values in
#: ``sim/scenarios/baseline.yaml``). Three of them the data left about as uncertain as the
#: prior (``width_vs_prior`` 0.78-1), and the call-up's pace and training time are fitted by
#: the call-up series alone (its 90% interval 19-37 days). The terms of a soldier's choice
#: that decide the response to a payment (private preference, opportunity, detection) stay
#: free. With all of them free, the ABC-SMC populations spread over a ridge and did not
#: concentrate within an hour (docs/calibration.md, rounds 5-8).
FIXED_FROM_EARLIER_POSTERIOR: dict[str, float] = {
    "defection.callup_request_share": 0.011,
    "mobilization.front_loading": 1.5,
    "mobilization.training_days": 27.0,
    "defection.weariness_per_year": 1.7,
}
