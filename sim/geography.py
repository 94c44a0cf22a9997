"""The static geography of a scenario: names, exits and hosts, travel, and cell weights.

Everything here is fixed for a run and derived from the scenario (and the pool's cell
sizes) once, at build time. Submodels read it; nothing writes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config.schema import Scenario


@dataclass(frozen=True, eq=False)
class Geography:
    """Names, lookups and per-cell weights of one scenario (see :meth:`from_scenario`).

    Attributes:
        host_names, exit_names, offer_names, source_names: Names in the scenario's order.
        origin_names: Soldier origins: ``initial``, ``mobilized``, then replacement sources.
        exit_host: Host index of each exit, shape (n_exits,).
        travel: Days from each region to each exit, ``inf`` if unreachable, (n_regions, n_exits).
        reachable: ``isfinite(travel)``.
        travel_finite: ``travel`` with unreachable pairs set to 0 (for arithmetic).
        places_per_man: Real border places one simulated leaver takes (scale x
            (1 + non-eligible companions)).
        free_men: Simulated leavers each exit can let through a day once background
            traffic has crossed (capacity - background, at least 0, over
            ``places_per_man``), shape (n_exits,).
        onward: Daily rate of onward moves from host i to host j, (n_hosts, n_hosts).
        return_rate: Daily rate of return home per host, (n_hosts,).
        cell_callup_weight: Call-up weight of each (region, category) cell: region bias x
            category priority, (n_cells,).
        cell_rumour_weight: Reach of call-up rumours per cell, (n_cells,).
        region_of_cell: Region index of each cell, (n_cells,).
        region_size: Simulated men per region at day 0, (n_regions,).
        minority_region: Whether each region is an ethnic-minority region, (n_regions,).
        burden_share: Hosts' shares of Western offer payments (D7), (n_hosts,).
        screening_catch_rate: Share of infiltrators each host's screening catches, (n_hosts,).
    """

    host_names: list[str]
    exit_names: list[str]
    offer_names: list[str]
    source_names: list[str]
    origin_names: list[str]
    exit_host: np.ndarray
    travel: np.ndarray
    reachable: np.ndarray
    travel_finite: np.ndarray
    places_per_man: float
    free_men: np.ndarray
    onward: np.ndarray
    return_rate: np.ndarray
    cell_callup_weight: np.ndarray
    cell_rumour_weight: np.ndarray
    region_of_cell: np.ndarray
    region_size: np.ndarray
    minority_region: np.ndarray
    burden_share: np.ndarray
    screening_catch_rate: np.ndarray

    @classmethod
    def from_scenario(cls, sc: Scenario, region_cell_counts: np.ndarray) -> Geography:
        """Derive the geography of ``sc``.

        Args:
            sc: A validated scenario.
            region_cell_counts: Simulated men per (region, category) cell at day 0,
                shape (n_regions, n_categories) (``Pool.counts``).
        """
        host_names = [h.name for h in sc.hosts]
        exit_names = [e.name for e in sc.exits]
        source_names = [s.name for s in sc.kremlin.replacement.sources]
        n_regions, n_exits, n_hosts = len(sc.regions), len(sc.exits), len(sc.hosts)
        travel = np.full((n_regions, n_exits), np.inf)
        for r, reg in enumerate(sc.regions):
            for name, d in reg.travel_days.items():
                travel[r, exit_names.index(name)] = d
        reachable = np.isfinite(travel)
        onward = np.zeros((n_hosts, n_hosts))
        for i, h in enumerate(sc.hosts):
            for name, rate in h.onward.items():
                onward[i, host_names.index(name)] = rate
        cats = sc.population.categories
        prio = np.array([c.priority for c in cats])
        bias = np.array([r.callup_bias for r in sc.regions])
        # rumour reaches regions by their relative call-up bias and categories by priority;
        # with all biases (or priorities) zero, rumour reaches everyone equally
        mean_bias = np.average(bias, weights=[r.pool_share for r in sc.regions]) if sum(r.pool_share for r in sc.regions) > 0 else 0.0
        rel_bias = bias / mean_bias if mean_bias > 0 else np.ones_like(bias)
        rel_prio = prio / prio.max() if prio.max() > 0 else np.ones_like(prio)
        ppm = sc.population.scale * (1.0 + sc.population.non_eligible_per_leaver)
        return cls(
            host_names=host_names,
            exit_names=exit_names,
            offer_names=[o.name for o in sc.offers],
            source_names=source_names,
            origin_names=["initial", "mobilized"] + source_names,
            exit_host=np.array([host_names.index(e.host) for e in sc.exits], dtype=np.int64),
            travel=travel,
            reachable=reachable,
            travel_finite=np.where(reachable, travel, 0.0),
            places_per_man=ppm,
            free_men=np.array([max(e.capacity_per_day - e.background_per_day, 0.0) for e in sc.exits]) / ppm,
            onward=onward,
            return_rate=np.array([h.return_rate_per_day for h in sc.hosts]),
            cell_callup_weight=(bias[:, None] * prio[None, :]).ravel(),
            cell_rumour_weight=(rel_bias[:, None] * (0.25 + 0.75 * rel_prio)[None, :]).ravel(),
            region_of_cell=np.repeat(np.arange(n_regions), len(cats)),
            region_size=region_cell_counts.sum(axis=1),
            minority_region=np.array([r.minority for r in sc.regions]),
            burden_share=np.array([h.burden_share for h in sc.hosts]),
            screening_catch_rate=np.array([h.screening_catch_rate for h in sc.hosts]),
        )
