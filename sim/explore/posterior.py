"""The posterior as one factor of an experiment (``posterior: true`` in the design).

Without it, an experiment varies each calibrated parameter (a column of the scenarios'
``uncertainty.posterior``) over its plausible range, the posterior's 5-95% interval,
independently of the others: the posterior's correlations are lost, and some sampled
combinations fit the data worse than any particle. With it, the calibrated parameters move
together as one factor, the *particle*, and every column of a point's particle is set on
every scenario of the point, as ``asylumsim compare`` sets one particle per replication
(:func:`sim.config.loader.apply_particle`). Its index (Morris ``mu*``, Sobol ``S1``/``ST``)
is then how much of the outcome the calibration uncertainty decides, next to the debate's
claims.

**Which particle.** A value ``v`` in ``[0, 1)`` picks particle ``i = min{i : W_i > v}``
(``W``: the cumulative weights), so a uniform ``v`` picks particle ``i`` with probability
its weight (:func:`particles_of`). A Sobol' sample's unit value is that ``v``. A Morris
sample's unit values lie on a grid of ``levels`` values ({0, 1/3, 2/3, 1} for 4), which
would pick the same few particles at fixed places in the file; so each trajectory ``t``
puts level ``j`` at the middle of the ``j``-th of ``L`` equal cells and adds its own
uniform shift ``r_t`` (seeded by the design's seed), ``v = ((j + 1/2) / L + r_t) mod 1``.
Within a trajectory a change of ``u`` still changes the particle (its elementary effect);
across trajectories each particle is a weighted draw from the posterior (:func:`with_picks`).
A Morris design therefore visits at most 2 particles per trajectory, a Sobol' design at
most ``2 n``.

The calibrated parameters leave the claims' factors (a note says so); naming one under
``parameters:`` is refused, and so is a scenario that gives one a value of its own. PRIM
reads the particle as its parameter values (columns ``posterior:<path>`` of
``samples.parquet``), not as an index, whose order means nothing. The factor is discrete
with no ends, so a one-at-a-time design (``oat``) cannot have it. Every scenario must use
the same posterior file (by SHA-256), and every column must be a parameter of at least one
of them.
"""

from __future__ import annotations

import fnmatch
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from sim.errors import ConfigError

if TYPE_CHECKING:
    from sim.config import Scenario
    from sim.config.posterior import Posterior
    from sim.explore.design import Design
    from sim.explore.sample import Factor

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
    post = _taken(posts[0], scenarios, names, source)
    for name, s in zip(names, scenarios, strict=True):
        hit = changed_calibrated(s, post)
        if hit:
            col, value, expected = hit[0]
            raise ConfigError(source, "posterior", f"scenario {name!r} sets {col} to {value!r}, not {expected}, and "
                              "every particle would replace it; set posterior: false to vary or keep your value")
    return post


def _taken(post: Posterior, scenarios: list[Scenario], names: list[str], source: str) -> Posterior:
    """``post`` without the columns no scenario of the design takes (an item they all lack,
    such as ``ukraine_amnesty``'s publicity in ``no_offers``), so that PRIM never boxes a
    value that changed nothing; a column naming an item not even the shipped ``baseline`` has
    is refused, as ``compare`` refuses it.

    Raises:
        ConfigError: such a column, or no column any scenario takes.
    """
    from sim.config.calibrated import shipped_baseline
    from sim.config.loader import absent_item_columns

    cols = list(post.columns)
    absent = [set(absent_item_columns(s, cols)) for s in scenarios]
    nowhere = [c for c in cols if all(c in a for a in absent)]
    unknown = set(absent_item_columns(shipped_baseline(), cols))
    bad = [c for c in nowhere if c in unknown]
    if bad:
        raise ConfigError(source, "posterior", f"column {bad[0]} of {post.ref} names an item no scenario of "
                          f"{names} has, so it would change nothing; remove the column or add the item")
    keep = [j for j, c in enumerate(cols) if c not in nowhere]
    if not keep:
        raise ConfigError(source, "posterior", f"no scenario of {names} has a parameter of {post.ref}; "
                          "posterior: true would change nothing")
    if len(keep) == len(cols):
        return post
    return replace(post, columns=tuple(cols[j] for j in keep), values=post.values[:, keep])


def calibrated(path: str, columns: tuple[str, ...]) -> list[str]:
    """The posterior columns a factor path (``--set`` syntax, ``*`` for every item) sets."""
    return [c for c in columns if fnmatch.fnmatchcase(c, path) and c.count(".") == path.count(".")]


def refuse_explicit(path: str, claim: str | None, columns: tuple[str, ...], source: str, key: str) -> None:
    """Refuse, in a ``posterior: true`` design, an explicit parameter (``key``, e.g.
    ``parameters[0]``) that sets a column of the posterior, or is reported under the
    posterior's own group.

    Raises:
        ConfigError: naming ``key.path`` (with the columns it sets) or ``key.claim``.
    """
    hit = calibrated(path, columns)
    if hit:
        raise ConfigError(source, f"{key}.path", f"{path} sets {', '.join(hit)}, a column of the posterior, which "
                          f"posterior: true varies through its particles ({PARTICLE}); name the other items "
                          "instead, or set posterior: false")
    if claim == GROUP:
        raise ConfigError(source, f"{key}.claim", f"{GROUP!r} is the group of posterior: true's particle; report "
                          "the parameter under a claim or its own path")


def particles_of(posterior: Posterior, v: np.ndarray) -> np.ndarray:
    """The particles values ``v`` in ``[0, 1)`` pick, shape of ``v`` (int64):
    ``min{i : W_i > v}`` (``W``: the cumulative weights), so a uniform ``v`` picks particle
    ``i`` with probability ``weights[i]``; a particle of weight 0 is never picked (``v`` of 1
    or more is taken as just below 1)."""
    cum = np.cumsum(posterior.weights)
    x = np.minimum(np.asarray(v, dtype=float), np.nextafter(1.0, 0.0)) * cum[-1]
    return np.minimum(np.searchsorted(cum, x, side="right"), posterior.particles - 1).astype(np.int64)


MORRIS_SHIFT_STREAM = 0x6D6F7273  # spawn key of the Morris trajectories' shifts ("mors")


def picks(design: Design, u: np.ndarray, posterior: Posterior) -> np.ndarray:
    """The particle of each point, from the particle factor's column ``u`` of the unit
    sample, shape ``(points,)``: ``v = u`` (Sobol'); for Morris, whose ``u`` is a level
    ``j / (L - 1)`` of ``L`` levels, ``v = ((j + 1/2) / L + r_t) mod 1`` with one uniform
    shift ``r_t`` per trajectory ``t`` (the points are trajectory-major), drawn from the
    design's seed, so that distinct levels give distinct ``v``; then :func:`particles_of`."""
    v = np.asarray(u, dtype=float).copy()
    if design.method.name == "morris":
        t, levels = design.method.trajectories, design.method.levels
        # level j of j / (levels - 1) to the middle of the j-th of `levels` equal cells, so that
        # no two levels coincide modulo 1 (with 2 levels, 0 and 1 would, and the particle never moved)
        v = (np.rint(v * (levels - 1)) + 0.5) / levels
        shift = np.random.default_rng(np.random.SeedSequence(design.seed, spawn_key=(MORRIS_SHIFT_STREAM,))).random(t)
        v = (v + np.repeat(shift, v.size // t)) % 1.0
    return particles_of(posterior, v)


def with_picks(design: Design, factors: list[Factor], units: np.ndarray) -> list[Factor]:
    """``factors`` with the particle factor's :attr:`~sim.explore.sample.Factor.picks` set
    (:func:`picks`) from the unit sample ``units``, shape ``(points, factors)``."""
    out = []
    for j, f in enumerate(factors):
        if f.dist == "particle":
            assert f.posterior is not None
            f = replace(f, picks=tuple(int(i) for i in picks(design, units[:, j], f.posterior)))
        out.append(f)
    return out


def particle_values(posterior: Posterior, picked: np.ndarray) -> dict[str, np.ndarray]:
    """Per point, the picked particle's value of each column, keyed ``posterior:<column>``;
    ``picked``: particle indices, shape ``(points,)``; each value array has that shape."""
    rows = posterior.values[np.asarray(picked, dtype=np.int64)]
    return {f"{VALUE_PREFIX}{c}": rows[:, j].copy() for j, c in enumerate(posterior.columns)}


def with_particle(scenario: Scenario, factors: list[Factor], point: int) -> Scenario:
    """``scenario`` (a point's, validated) with the particle the ``particle`` factor picked
    for ``point`` set (:func:`sim.config.loader.apply_particle`); unchanged without one.

    Raises:
        ConfigError: the particle's values do not fit the scenario (from ``apply_particle``).
    """
    from sim.config.loader import apply_particle

    for f in factors:
        if f.dist == "particle":
            assert f.posterior is not None and f.picks is not None
            return apply_particle(scenario, f.posterior, f.picks[point])
    return scenario
