"""What an experiment means: SALib's Morris and Sobol indices, PRIM boxes, tornado swings.

Every function takes the unit sample ``X`` (shape ``(points, k)``, as drawn by
:mod:`sim.explore.sample`) and the outcome ``Y`` (shape ``(points,)``, in the outcome's
units, e.g. soldier-equivalents), and returns a tidy table. Indices are per parameter,
or per claim when the design grouped by claim (SALib's groups: each claim's parameters
move together, and the index is the claim's); with per-parameter indices the claim
table adds them up (the sum of total-order indices ``ST`` or of Morris ``mu*``, which
counts interactions inside a claim more than once: an upper bound on the claim's own index).

- Morris (Morris 1991; Campolongo et al. 2007): ``mu*`` is the mean absolute elementary
  effect, ``sigma`` their spread (non-linearity or interactions); ``mu_star_conf`` a
  bootstrap interval half-width. In the outcome's units.
- Sobol (Saltelli 2002, 2010): ``S1`` the first-order and ``ST`` the total-order share of
  the outcome's variance, each with a bootstrap interval half-width (``*_conf``) at the
  design's confidence level. The noise of a single replication counts as unexplained
  variance, so ``ST`` of every factor also carries some noise.
- PRIM (Friedman & Fisher 1999; EMA Workbench's implementation, Kwakkel 2017): the
  peeling trajectory of boxes in parameter space containing the cases of interest
  (outcome above or below a threshold), each with its *coverage* (share of all cases of
  interest inside the box) and *density* (share of the box's points that are cases).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def morris_indices(problem: dict[str, Any], X: np.ndarray, Y: np.ndarray, *, levels: int, confidence: float = 0.95,
                   resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Morris elementary effects: one row per factor (or group), sorted by ``mu_star`` (largest first)."""
    from SALib.analyze import morris

    res = morris.analyze(problem, X, np.asarray(Y, dtype=float), num_resamples=resamples, conf_level=confidence,
                         num_levels=levels, seed=seed % 2**32)
    out = pd.DataFrame({"name": list(res["names"]), "mu": res["mu"], "mu_star": res["mu_star"],
                        "sigma": res["sigma"], "mu_star_conf": res["mu_star_conf"]})
    return out.sort_values("mu_star", ascending=False, kind="stable").reset_index(drop=True)


def sobol_indices(problem: dict[str, Any], Y: np.ndarray, *, second_order: bool = False, confidence: float = 0.95,
                  resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Sobol' first- and total-order indices with bootstrap interval half-widths, sorted by ``ST``."""
    from SALib.analyze import sobol

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a constant outcome divides by zero: NaN indices
        res = sobol.analyze(problem, np.asarray(Y, dtype=float), calc_second_order=second_order,
                            num_resamples=resamples, conf_level=confidence, seed=seed % 2**32)
    names = list(dict.fromkeys(problem["groups"])) if problem.get("groups") else list(problem["names"])
    out = pd.DataFrame({"name": names, "S1": res["S1"], "S1_conf": res["S1_conf"], "ST": res["ST"],
                        "ST_conf": res["ST_conf"]})
    return out.sort_values("ST", ascending=False, kind="stable").reset_index(drop=True)


def oat_swings(names: list[str], X: np.ndarray, Y: np.ndarray) -> pd.DataFrame:
    """One at a time: each factor's outcome at the ends of its range (``NaN`` in ``X`` =
    the scenario's value; row 0 is the scenario itself). Sorted by ``swing`` = max - min."""
    Y = np.asarray(Y, dtype=float)
    rows = []
    for j, name in enumerate(names):
        moved = ~np.isnan(X[:, j])
        ys, us = Y[moved], X[moved, j]
        rows.append({"name": name, "base": Y[0], "low": ys[np.argmin(us)], "high": ys[np.argmax(us)],
                     "min": ys.min(), "max": ys.max(), "swing": ys.max() - ys.min()})
    out = pd.DataFrame(rows)
    return out.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


INDEX = {"morris": ("mu_star", "mu_star_conf"), "sobol": ("ST", "ST_conf"), "oat": ("swing", None)}
"""The column that ranks factors under each method, and its interval half-width."""


def by_claim(indices: pd.DataFrame, groups: dict[str, str], method: str, grouped: bool) -> pd.DataFrame:
    """Indices per claim: SALib's grouped index as is, or the sum over the claim's parameters.

    Args:
        indices: Per factor (``name``) or, if ``grouped``, per claim.
        groups: Factor name -> claim id.
        method: ``morris``, ``sobol`` or ``oat``.
        grouped: The design grouped by claim (SALib ``groups``).

    Returns:
        ``claim, index, conf, parameters, aggregate`` sorted by ``index``; ``aggregate`` says
        ``grouped`` or ``sum of <column>``.
    """
    col, conf = INDEX[method]
    counts = pd.Series(groups).value_counts()
    if grouped:
        out = pd.DataFrame({"claim": indices["name"], "index": indices[col],
                            "conf": indices[conf] if conf else np.nan})
        out["parameters"] = out["claim"].map(counts).fillna(0).astype(int)
        out["aggregate"] = f"grouped {col}"
    else:
        t = indices.assign(claim=indices["name"].map(groups))
        agg = t.groupby("claim", sort=False).agg(index=(col, "sum"), parameters=("name", "size"))
        # half-widths of a sum of independent estimates add in quadrature
        agg["conf"] = (t.groupby("claim", sort=False)[conf].apply(lambda s: float(np.sqrt((s ** 2).sum())))
                       if conf else np.nan)
        out = agg.reset_index()[["claim", "index", "conf", "parameters"]]
        out["aggregate"] = f"sum of {col}"
    return out.sort_values("index", ascending=False, kind="stable").reset_index(drop=True)


@dataclass
class PrimResult:
    """A PRIM analysis: the peeling trajectory, the box chosen, and its limits.

    Attributes:
        trajectory: One row per box: ``coverage``, ``density``, ``mass``, ``res_dim`` (restricted dimensions).
        chosen: Row of ``trajectory`` reported: of the boxes restricting at most
            ``max_dims`` parameters, the highest coverage among those with density >=
            min_density, the densest of those (else the densest box).
        limits: The chosen box's restricted dimensions: ``name, low, high`` (or ``values`` for choices).
        cases: Number of cases of interest; ``points``: sample size.
    """

    trajectory: pd.DataFrame
    chosen: int
    limits: pd.DataFrame
    cases: int
    points: int

    @property
    def box(self) -> pd.Series:
        return self.trajectory.iloc[self.chosen]


def prim_box(values: pd.DataFrame, y: np.ndarray, *, threshold: float, direction: str = "above",
             peel_alpha: float = 0.05, min_density: float = 0.8, min_mass: float = 0.05,
             max_dims: int | None = None) -> PrimResult:
    """PRIM (EMA Workbench) on the sample's values: where is ``y`` above (below) ``threshold``?

    Args:
        values: One column per factor (numeric or categorical), one row per point.
        y: The outcome per point.

    Raises:
        ValueError: no point (or every point) is a case of interest.
    """
    import logging

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ema_workbench warns about optional packages it lacks
        from ema_workbench.analysis import prim
    logging.getLogger("EMA").setLevel(logging.ERROR)
    logging.getLogger("ema_workbench").setLevel(logging.ERROR)
    y = np.asarray(y, dtype=float)
    cases = (y > threshold) if direction == "above" else (y < threshold)
    if not 0 < cases.sum() < len(cases):
        raise ValueError(f"PRIM needs some points but not all with the outcome {direction} {threshold:g} "
                         f"({int(cases.sum())} of {len(cases)})")
    x = values.reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = prim.Prim(x, cases, peel_alpha=peel_alpha, mass_min=min_mass)
        box = p.find_box()
    traj = box.peeling_trajectory[["coverage", "density", "mass", "res_dim"]].reset_index(drop=True)
    simple = traj[traj["res_dim"] <= max_dims] if max_dims is not None else traj
    ok = simple.index[simple["density"] >= min_density]
    # highest coverage among the dense enough boxes; of equal coverage, the densest; else the densest
    chosen = (int(simple.loc[ok].sort_values(["coverage", "density"], kind="stable").index[-1]) if len(ok)
              else int(simple["density"].idxmax()))
    lims = box.box_lims[chosen]
    first = box.box_lims[0]
    rows = []
    for name in lims.columns:
        if isinstance(x[name].dtype, pd.CategoricalDtype):
            keep, was = lims[name][0], first[name][0]
            if set(keep) != set(was):
                rows.append({"name": name, "low": np.nan, "high": np.nan, "values": ", ".join(sorted(map(str, keep)))})
        elif lims[name][0] != first[name][0] or lims[name][1] != first[name][1]:
            rows.append({"name": name, "low": float(lims[name][0]) if lims[name][0] != first[name][0] else np.nan,
                         "high": float(lims[name][1]) if lims[name][1] != first[name][1] else np.nan, "values": ""})
    limits = pd.DataFrame(rows, columns=["name", "low", "high", "values"])
    return PrimResult(traj, chosen, limits, int(cases.sum()), len(cases))


PRIM_MIN_POINTS = 50
"""Below this many points a PRIM box is read as a hint at most (boxes of small samples overfit)."""


def resolution_notes(claims: pd.DataFrame, method: str, points: int, prim: bool) -> list[str]:
    """Warnings that the sample is too small to read the indices it gave, one line each.

    Per outcome: how many per-claim indices have an interval (the bootstrap half-width
    ``conf``) that reaches zero, so that they are not distinguishable from no effect; for
    Sobol', the indices outside ``[0, 1]`` by more than their interval (a share of variance
    cannot be, so the estimate is noise: Saltelli et al. 2010 need ``n`` in the hundreds to
    thousands). For PRIM, a sample under :data:`PRIM_MIN_POINTS` points. One-at-a-time
    swings have no interval and get no note.

    Args:
        claims: The per-claim table of :func:`analyse_folder` (``outcome, claim, index, conf``).
        method: ``morris``, ``sobol`` or ``oat``.
        points: Points in the sample.
        prim: Whether the design asks for PRIM.
    """
    out = []
    if method != "oat":
        size = "method.n" if method == "sobol" else "method.trajectories"
        for name, t in claims.groupby("outcome", sort=False):
            idx, conf = t["index"].to_numpy(dtype=float), t["conf"].to_numpy(dtype=float)
            unresolved = int(np.count_nonzero(~(np.abs(idx) > conf)))
            outside = int(np.count_nonzero((idx - conf > 1) | (idx + conf < 0))) if method == "sobol" else 0
            if unresolved or outside:
                what = [f"{unresolved} of {len(t)} per-claim indices have an interval that reaches zero"] if unresolved else []
                what += [f"{outside} lie outside [0, 1] beyond their interval (noise)"] if outside else []
                out.append(f"{name}: {' and '.join(what)}; a larger sample ({size}, replications) would resolve them")
    if prim and points < PRIM_MIN_POINTS:
        out.append(f"PRIM on {points} points (fewer than {PRIM_MIN_POINTS}): a box of so few points overfits; read it "
                   "as a hint at most")
    return out


def analyse_folder(folder: Path | str) -> dict[str, pd.DataFrame]:
    """Every table of a finished experiment folder: ``indices``, ``claims`` (each with an
    ``outcome`` column), ``resolution`` (:func:`resolution_notes`, column ``note``), and for
    PRIM ``prim_trajectory`` and ``prim_box`` (or ``prim_note`` saying why there is no box)."""
    from sim.runner import storage

    folder = Path(folder)
    m = storage.read_manifest(folder)
    samples = storage.read_parquet(folder / "samples.parquet")
    y = storage.read_parquet(folder / "y.parquet")
    names = [f["name"] for f in m["factors"]]
    groups = {f["name"]: f["group"] for f in m["factors"]}
    X = samples[[f"u:{n}" for n in names]].to_numpy(dtype=float)
    method = m["method"]
    grouped = method["group_by"] == "claim"
    prob = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    if grouped:
        prob["groups"] = [groups[n] for n in names]
    tables: dict[str, list[pd.DataFrame]] = {"indices": [], "claims": []}
    for o in m["outcomes"]:
        Y = y[o["name"]].to_numpy(dtype=float)
        if method["name"] == "morris":
            ind = morris_indices(prob, X, Y, levels=method["levels"], confidence=method["confidence"],
                                 resamples=method["bootstrap"], seed=m["root_seed"])
        elif method["name"] == "sobol":
            ind = sobol_indices(prob, Y, second_order=method["second_order"], confidence=method["confidence"],
                                resamples=method["bootstrap"], seed=m["root_seed"])
        else:
            ind = oat_swings(names, X, Y)
        if not grouped:
            ind.insert(1, "claim", ind["name"].map(groups))
        tables["indices"].append(ind.assign(outcome=o["name"]))
        tables["claims"].append(by_claim(ind, groups, method["name"], grouped).assign(outcome=o["name"]))
    out = {k: pd.concat(v, ignore_index=True) for k, v in tables.items()}
    spec = m.get("prim")
    out["resolution"] = pd.DataFrame({"note": resolution_notes(out["claims"], method["name"], len(samples), bool(spec))},
                                     dtype=object)
    if spec:
        # the particle as its parameter values: an index's order means nothing to a box
        from sim.explore.posterior import PARTICLE, VALUE_PREFIX

        values = samples[[n for n in names if n != PARTICLE]
                         + ([c for c in samples.columns if c.startswith(VALUE_PREFIX)] if PARTICLE in names else [])]
        try:
            res = prim_box(values, y[spec["outcome"]].to_numpy(dtype=float), threshold=spec["threshold"],
                           direction=spec["direction"], peel_alpha=spec["peel_alpha"],
                           min_density=spec["min_density"], min_mass=spec["min_mass"],
                           max_dims=spec.get("max_dims"))
        except ValueError as exc:  # no case of interest, or only such cases: nothing to discover
            out["prim_note"] = pd.DataFrame({"note": [str(exc)]})
            return out
        out["prim_trajectory"] = res.trajectory.assign(chosen=lambda t: t.index == res.chosen, cases=res.cases,
                                                       points=res.points)
        out["prim_box"] = res.limits
    return out


def write_analysis(folder: Path | str) -> dict[str, pd.DataFrame]:
    """:func:`analyse_folder`, written as CSV files next to the data (``indices.csv``, ...)."""
    from sim.runner import storage

    folder = Path(folder)
    tables = analyse_folder(folder)
    for name, t in tables.items():
        storage.atomic_write_text(folder / f"{name}.csv", t.to_csv(index=False))
    return tables
