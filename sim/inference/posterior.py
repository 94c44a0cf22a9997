"""A calibration's outputs: the posterior sample and the run's manifest (issue 15, point 5).

:func:`write_outputs` writes ``posterior.parquet`` (one row per particle of the last
population: columns = parameter paths, plus ``weight`` summing to 1) and ``manifest.json``
(data files with SHA-256, priors, distance, tolerance schedule, populations, particles,
simulations, wall time, seed, versions and commit) after every population of
:func:`sim.inference.abc.calibrate`; :func:`load_posterior` and :func:`weighted_quantile`
read them back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sim.inference.abc import Prior

DB_NAME = "abc.db"
POSTERIOR_NAME = "posterior.parquet"
MANIFEST_NAME = "manifest.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


#: The calibration distances (``asylumsim calibrate --distance``), as the manifest describes them.
DISTANCES = {
    "ard": "weighted mean over series of the averaged relative difference (weights 1: each series once); "
           "lower bounds one-sided (sim.inference.targets.TargetSet.distance)",
    "scaled": "weighted mean over series of the averaged relative difference, each series weighted by 1 / its naive "
              "baseline's ARD (MASE-like scaling, Hyndman & Koehler 2006; TargetSet.scaled_by_naive); lower bounds "
              "one-sided (sim.inference.targets.TargetSet.distance)",
    "scaled-max": "largest over series of the averaged relative difference divided by the naive baseline's ARD "
                  "(the Chebyshev norm of the MASE-like scaled errors; below 1 = every series beats its naive "
                  "baseline); lower bounds one-sided (sim.inference.targets.TargetSet.distance, norm='max')",
}


def scenario_digest(scenario, priors: Sequence[Prior] = ()) -> str:
    """SHA-256 of a resolved scenario (its ``model_dump(mode="json")``, keys sorted), as
    ``asylumsim run`` and ``explore`` digest theirs: ``run.replications`` (unused by a
    calibration) and ``description`` are left out, and so is the value of each prior's path,
    since every particle replaces it (a file updated to a posterior's medians runs the same model).

    Args:
        scenario: The scenario the calibration runs, ``--set``, ``--scale`` and ``--days`` applied.
        priors: The calibrated parameters.
    """
    data = scenario.model_dump(mode="json")
    data["run"].pop("replications", None)
    data.pop("description", None)  # a label: editing it changes no simulation
    for p in priors:
        _drop_path(data, p.path.split("."))
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()


def _drop_path(data, parts: list[str]) -> None:
    """Remove the value at a dotted scenario path from a dumped scenario (a named list's item
    is found by its ``name``, as ``--set`` finds it); a path not found is left alone."""
    node = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            node = next((x for x in node if isinstance(x, dict) and x.get("name") == part), None)
            if node is None or last:
                return
        elif isinstance(node, dict) and part in node:
            if last:
                node.pop(part)
                return
            node = node[part]
        else:
            return


def posterior_frame(history, priors: Sequence[Prior]) -> pd.DataFrame:
    """The last population as a frame: one row per particle, columns = paths + ``weight``."""
    df, w = history.get_distribution(m=0, t=history.max_t)
    out = pd.DataFrame({p.path: [p.value(v) for v in df[p.key].to_numpy(float)] for p in priors})
    out["weight"] = np.asarray(w, dtype=float) / float(np.sum(w))
    return out


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size of importance weights, (sum w)^2 / sum w^2 (1 to len(w))."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / (w**2).sum()) if len(w) and (w**2).sum() > 0 else 0.0


def write_outputs(out_dir: Path, history, meta: dict, wall: float) -> Path:
    """Write ``posterior.parquet`` (the last population) and ``manifest.json`` of a run.

    Each file is replaced atomically (never half-written); a kill between the two replacements
    leaves the new posterior beside the previous manifest (the database, the resume state, is
    unaffected).
    The manifest's ``scenario_sha256`` is the digest of the scenario the particles run
    (:func:`scenario_digest`): a resume of another one is refused.
    The manifest's ``status`` is ``meta["status"]``: ``running`` while populations are added,
    ``complete`` when the run reached its populations (or its minimum tolerance),
    ``interrupted`` after a stop signal, ``failed`` when pyabc could not go on.

    Args:
        out_dir: The run's folder.
        history: The pyabc history (the database).
        meta: The run's settings, as :func:`calibrate` collects them.
        wall: Wall time of the run so far, seconds (summed over resumed sessions).

    Returns:
        Path of ``posterior.parquet``.
    """
    import pyabc

    from sim.provenance import provenance
    from sim.runner.storage import atomic_write_parquet

    priors, ts = meta["priors"], meta["targets"]
    post = posterior_frame(history, priors)
    post_path = out_dir / POSTERIOR_NAME
    atomic_write_parquet(post_path, post)
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    workers = meta["workers"]
    prov = provenance()
    manifest = {
        "scenario": meta["scenario"],
        "scenario_sha256": meta.get("scenario_sha256"),
        "scale": meta["scale"],
        "days": meta["days"],
        "base_overrides": meta["base_overrides"],
        "data_files": [{"file": Path(f).name, "sha256": _sha256(Path(f))} for f in meta["data_files"]],
        "target_set": meta.get("target_set"),
        "target_points": ts.keys,
        "priors": [asdict(p) for p in priors],
        "distance": DISTANCES[meta.get("distance", "ard")],
        "distance_kind": meta.get("distance", "ard"),
        "series_weights": {q: ts.quantities[q].weight for q in dict.fromkeys(ts.points["quantity"])},
        "epsilon": {"schedule": "pyabc QuantileEpsilon", "alpha": meta["alpha"], "initial": str(meta["initial_epsilon"]),
                    "minimum": meta["min_epsilon"],
                    "values": [float(e) if np.isfinite(e) else None for e in pops["epsilon"]]},
        "status": meta.get("status", "running"),
        "populations": int(history.max_t + 1),
        "populations_requested": meta.get("populations_requested"),
        "particles": meta["particles"],
        "simulations": int(history.total_nr_simulations),
        "simulations_per_population": [int(s) for s in pops["samples"]],
        "wall_time_s": round(wall, 2),
        "workers": workers,
        "sampler": "SingleCoreSampler" if workers == 1 else f"MulticoreEvalParallelSampler(n_procs={workers})",
        "kernel": meta.get("kernel", "silverman"),
        "seed": meta["seed"],
        "pyabc_version": pyabc.__version__,
        "version": prov.get("version"),
        "commit": prov.get("commit"),
        "dirty": prov.get("dirty"),
        "python": prov.get("python"),
        "dependencies": prov.get("dependencies"),
        "database": DB_NAME,
        "posterior": POSTERIOR_NAME,
        "effective_sample_size": round(effective_sample_size(post["weight"].to_numpy(float)), 1),
    }
    write_manifest(out_dir, manifest)
    return post_path


def write_manifest(out_dir: Path, manifest: dict) -> None:
    """Replace the run's ``manifest.json`` atomically (indented JSON, no NaN).

    Raises:
        ValueError: the manifest holds a value JSON cannot write (naming the file).
    """
    from sim.runner.storage import atomic_write_text

    try:
        text = json.dumps(manifest, indent=2, allow_nan=False, default=str) + "\n"
    except ValueError as exc:
        raise ValueError(f"{out_dir / MANIFEST_NAME}: cannot be written ({exc})") from None
    atomic_write_text(out_dir / MANIFEST_NAME, text)


def load_posterior(path: Path) -> pd.DataFrame:
    """A posterior parquet written by :func:`calibrate` (columns = paths + ``weight``).

    Raises:
        ValueError: no ``weight`` column or weights that do not sum to 1.
    """
    df = pd.read_parquet(path)
    if "weight" not in df.columns or not np.isclose(df["weight"].sum(), 1.0):
        raise ValueError(f"{path}: not a posterior sample (needs weights summing to 1)")
    return df


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float | np.ndarray) -> np.ndarray:
    """Quantile(s) ``q`` of a weighted sample (inverse of the weighted empirical CDF, midpoint rule).

    Raises:
        ValueError: mismatched shapes, an empty sample, negative or all-zero weights.
    """
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    if v.shape != w.shape or v.size == 0 or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("values and weights need the same non-empty shape, weights >= 0 with a positive sum")
    v, w = v[w > 0], w[w > 0]
    order = np.argsort(v)
    v, w = v[order], w[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(q, cdf, v)


def target_set_name(manifest: dict) -> str:
    """The ``--targets`` name of a calibration run: its manifest's ``target_set``, or, for a
    run that did not record it, ``defection`` when every fitted series is one of
    defection_2022_2023.csv's or :data:`~sim.inference.targets.CALLUP_SERIES`, else ``all``."""
    if manifest.get("target_set"):
        return str(manifest["target_set"])
    from sim.inference.targets import defection_series

    fitted = {k.rsplit("@", 1)[0] for k in manifest.get("target_points", [])}
    return "defection" if fitted <= defection_series() else "all"


def calibrate_command(manifest: dict) -> tuple[str, bool]:
    """The ``asylumsim calibrate`` command line that made a run, from its manifest.

    Returns:
        The command, and whether its priors are not :data:`~sim.inference.priors.DEFAULT_PRIORS`
        (the command then names a ``--priors PRIORS.yaml`` file holding the manifest's priors).
    """
    from sim.inference.priors import DEFAULT_PRIORS

    m = manifest
    cmd = (f"asylumsim calibrate {m['scenario']} --populations {m['populations']} --particles {m['particles']} "
           f"--scale {m['scale']} --days {m['days']} --workers {m['workers']} --seed {m['seed']}")
    cmd += " --targets " + target_set_name(m) + f" --kernel {m.get('kernel', 'silverman')}"
    if m.get("distance_kind", "ard") != "ard":
        cmd += f" --distance {m['distance_kind']}"
    if m["epsilon"].get("alpha", 0.5) != 0.5:
        cmd += f" --epsilon-quantile {m['epsilon']['alpha']:g}"
    cmd += "".join(f" --set {o}" for o in m["base_overrides"])
    own_priors = m.get("priors") != [asdict(p) for p in DEFAULT_PRIORS]
    return cmd + (" --priors PRIORS.yaml" if own_priors else ""), own_priors
