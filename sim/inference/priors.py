"""Priors of the ABC-SMC calibration (issue 15, point 5): :class:`Prior` and :data:`DEFAULT_PRIORS`.

A prior names a scenario parameter path (as for ``--set``), a distribution (``uniform`` on
[low, high], or ``loguniform``: uniform in log10, for rates spanning orders of magnitude),
and a source (or "assumption"). :mod:`sim.inference.abc` re-exports both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
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


#: Priors of the twelve parameters the defection/desertion data can inform (issue 15):
#: Ukraine's publicity (awareness), the private preference mean (who considers), requests
#: from men called up (per man mobilized), the call-up's pace and training time (when they
#: are mobilized and reach the front),
#: the court delay (when caught men's cases reach a court), the request
#: multiplier (hotline requests per considering soldier), war weariness (who comes to
#: consider it, and to walk away, the longer he serves), the opportunity rate (who acts),
#: detection (who is caught), AWOL rate and capture rate. Ranges span the scenario default
#: by about an order of magnitude each way (rates: log-uniform), cut where the data rule a
#: range out; the reasons are in each ``source``.
DEFAULT_PRIORS: tuple[Prior, ...] = (
    Prior("offers.ukraine_amnesty.publicity", "loguniform", 0.001, 0.2,
          "assumption around the default 0.02 a day (004: leaflets, social media); 0.2 = aware within a week"),
    Prior("defection.private_mean", "uniform", -6.0, 3.0,
          "assumption around the default -1.5 HLY (004, Kuran); beyond +3 nearly everyone would consider leaving"),
    Prior("defection.callup_request_share", "loguniform", 0.001, 0.1,
          "assumption (default 0.015): csv 2,000 requests by day 13 for about 200,000 men mobilized; 0.1 = one call in ten"),
    Prior("mobilization.front_loading", "uniform", 0.0, 4.0,
          "assumption: 0 = an even pace (the earlier schedule); 4 = 80% of a wave due in its first 40%"),
    Prior("mobilization.training_days", "uniform", 7.0, 45.0,
          "002 (weeks of training or less; default 21); csv: 218,000 of 300,000 still in training on day 37",
          integer=True),
    Prior("kremlin.counter_defection.court_delay_days", "uniform", 0.0, 150.0,
          "assumption: CPC art. 162, a preliminary investigation lasts up to 2 months, extendable; 150 = five months"),
    Prior("defection.request_multiplier", "uniform", 0.0, 3.0,
          "assumption (default 1); csv note: callers include relatives and men not yet mobilized"),
    Prior("defection.weariness_per_year", "uniform", 0.0, 6.0,
          "assumption (default 0: none); 6 HLY a year is the spread of the private preference (private_weight) in a year"),
    Prior("defection.opportunity_rate", "loguniform", 1e-5, 0.01,
          "assumption (default 0.0001); 216 surrenders for about 22,000 requests (csv) suggests a rare chance"),
    Prior("kremlin.counter_defection.detection_base", "uniform", 0.05, 0.9,
          "assumption (default 0.25, 004 comments); 0.9 = almost every attempt caught"),
    Prior("front.awol_rate", "loguniform", 3e-5, 3e-3,
          "assumption (default 0.0003, 002): one order of magnitude each way"),
    Prior("front.capture_rate", "loguniform", 1e-7, 1e-4,
          "assumption (default 0.000006); at 0.00004 the voluntary POW share was 3% against the csv's ~20%"),
)
