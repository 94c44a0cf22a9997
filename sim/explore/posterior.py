"""The posterior as one factor of an experiment (``posterior: true`` in the design).

Without it, an experiment varies each calibrated parameter (a column of the scenarios'
``uncertainty.posterior``) over its plausible range, the posterior's 5-95% interval,
independently of the others: the posterior's correlations are lost, and some sampled
combinations fit the data worse than any particle. With it, the calibrated parameters move
together as one factor, the *particle*: a unit value ``u`` picks particle ``i`` with
probability its weight (the inverse of the weights' cumulative distribution,
``i = min{i : W_i > u}``, ``W`` the cumulative weights), and every column of that particle
is set on every scenario of the point, as ``asylumsim compare`` sets one particle per
replication (:func:`sim.config.loader.apply_particle`). Its index (Morris ``mu*``, Sobol
``S1``/``ST``) is then how much of the outcome the calibration uncertainty decides, next to
the debate's claims. The calibrated parameters leave the claims' factors (a note says so);
naming one under ``parameters:`` is refused. PRIM reads the particle as its parameter values
(columns ``posterior:<path>`` of ``samples.parquet``), not as an index, whose order means
nothing.

The factor is discrete with no ends, so a one-at-a-time design (``oat``) cannot have it.
Every scenario of the design must use the same posterior file (by SHA-256).
"""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING

import numpy as np

from sim.errors import ConfigError

if TYPE_CHECKING:
    from sim.config import Scenario
    from sim.config.posterior import Posterior

PARTICLE = "uncertainty.posterior"  # the factor's name (its column in the tables: the particle index)
GROUP = "posterior"  # the group it is reported under, next to the claims
VALUE_PREFIX = "posterior:"  # samples.parquet: the particle's value of each column


def shared_posterior(scenarios: list[Scenario], names: list[str], source: str) -> Posterior:
    """The one posterior every scenario of a ``posterior: true`` design uses.

    Args:
        scenarios: The design's scenarios, loaded (their references resolved).
        names: Their names in the design.
        source: The experiment file, for errors.

    Raises:
        ConfigError: key ``posterior``: a scenario without ``uncertainty.posterior``, or two
            scenarios with different posterior files (the particle would mean different
            parameter values in each, and the paired outcome would compare unlike models);
            or a scenario (its file, ``set:`` or ``--set``) giving a calibrated parameter a
            value other than the calibrated one, which every particle would replace
            (:func:`sim.config.calibrated.changed_calibrated`, as ``compare`` refuses it).
    """
    from sim.config.calibrated import changed_calibrated
    from sim.config.posterior import load_posterior

    posts: list[Posterior] = []
    for name, s in zip(names, scenarios, strict=True):
        ref = s.uncertainty.posterior
        if ref is None:
            raise ConfigError(source, "posterior", f"scenario {name!r} has no uncertainty.posterior to draw particles "
                              "from; set one, or vary the calibrated parameters by their ranges (posterior: false)")
        posts.append(load_posterior(ref))
    for name, p in zip(names[1:], posts[1:], strict=True):
        if p.sha256 != posts[0].sha256:
            raise ConfigError(source, "posterior", f"scenarios {names[0]!r} and {name!r} use different posteriors "
                              f"({posts[0].ref}, {p.ref}); a particle must mean the same values in every scenario")
    for name, s in zip(names, scenarios, strict=True):
        hit = changed_calibrated(s, posts[0])
        if hit:
            col, value, expected = hit[0]
            raise ConfigError(source, "posterior", f"scenario {name!r} sets {col} to {value!r}, not {expected}, and "
                              "every particle would replace it; set posterior: false to vary or keep your value")
    return posts[0]


def calibrated(path: str, columns: tuple[str, ...]) -> list[str]:
    """The posterior columns a factor path (``--set`` syntax, ``*`` for every item) sets."""
    return [c for c in columns if fnmatch.fnmatchcase(c, path) and c.count(".") == path.count(".")]


def particle_of(posterior: Posterior, u: float) -> int:
    """The particle a unit value picks: ``min{i : W_i > u}`` (``W``: the cumulative weights),
    so a uniform ``u`` picks particle ``i`` with probability ``weights[i]``."""
    cum = np.cumsum(posterior.weights)
    return int(min(np.searchsorted(cum, u * cum[-1], side="right"), posterior.particles - 1))


def particle_values(posterior: Posterior, u: np.ndarray) -> dict[str, np.ndarray]:
    """Per point, the picked particle's value of each column (``NaN`` where ``u`` is ``NaN``),
    keyed ``posterior:<column>``; shape ``(points,)`` each."""
    out = {f"{VALUE_PREFIX}{c}": np.full(u.shape, np.nan) for c in posterior.columns}
    for k, x in enumerate(u):
        if not np.isnan(x):
            row = posterior.values[particle_of(posterior, float(x))]
            for j, c in enumerate(posterior.columns):
                out[f"{VALUE_PREFIX}{c}"][k] = row[j]
    return out


def with_particle(scenario: Scenario, factors: list, units: np.ndarray) -> Scenario:
    """``scenario`` (a point's, validated) with the particle of the point's ``particle``
    factor set (:func:`sim.config.loader.apply_particle`); unchanged without one.

    Raises:
        ConfigError: the particle's values do not fit the scenario (from ``apply_particle``).
    """
    from sim.config.loader import apply_particle

    for f, u in zip(factors, units, strict=True):
        if f.dist == "particle" and not np.isnan(u):
            return apply_particle(scenario, f.posterior, particle_of(f.posterior, float(u)))
    return scenario
