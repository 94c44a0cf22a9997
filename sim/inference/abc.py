"""ABC-SMC calibration of a scenario with pyabc (issue 15, point 5).

Approximate Bayesian computation by sequential Monte Carlo (Toni et al. 2009; Klinger,
Rickert & Hasenauer 2018, the pyabc paper): particles (parameter vectors) are drawn from
the priors, each is simulated once, and kept if its distance to the data is below the
population's tolerance; later populations perturb the accepted particles (pyabc's default
multivariate normal transition) and lower the tolerance.

* **Priors** (:class:`Prior`): a scenario parameter path (``defection.opportunity_rate``,
  ``offers.ukraine_amnesty.publicity``, ...), a distribution (``uniform`` on [low, high], or
  ``loguniform``: uniform in log10, for rates spanning orders of magnitude), and a source
  (or "assumption").
* **Model** (:class:`ScenarioSimulator`): applies the particle as ``path=value`` overrides
  to the scenario, read once (:func:`sim.config.loader.with_values`), runs one replication
  (:func:`sim.simulate.run_replication`) at a coarse ``population.scale``, and returns the
  model's value at every target point (:meth:`sim.inference.targets.TargetSet.model_values`).
  The replication seed is drawn from numpy's global generator, which pyabc's sampler owns.
* **Distance**: the bound-aware, per-series-averaged relative difference of
  :meth:`~sim.inference.targets.TargetSet.distance` (a lower bound is an inequality).
* **Perturbation kernel** (:func:`transition`): a multivariate normal with twice the previous
  population's weighted covariance (Beaumont et al. 2009), or pyabc's default.
* **Tolerance schedule**: pyabc's :class:`~pyabc.epsilon.QuantileEpsilon`: each
  population's tolerance is the weighted ``alpha``-quantile (default the median) of the
  previous population's distances; the first from a prior sample (``from_sample``) or given.
* **Resume**: the SQLite database ``<out_dir>/abc.db`` is the state. ``resume=True``
  continues it with ``ABCSMC.load`` up to ``populations`` populations in total.
* **Reproducibility**: with one worker (``SingleCoreSampler``) numpy's global generator is
  seeded with ``(seed, t)`` before population ``t``, so a run (and a resumed run) is
  reproducible. pyabc's multicore sampler reseeds its worker processes from the OS, so runs
  on several workers are not reproducible draw for draw.

Outputs (``out_dir``): ``posterior.parquet`` (one row per particle of the last population;
columns = parameter paths, plus ``weight`` summing to 1), ``manifest.json`` (data files
with SHA-256, priors, distance, epsilon schedule, populations, particles, simulations, wall
time, seed, versions, commit) and ``abc.db``; the first two are rewritten after every
population (:func:`sim.inference.posterior.write_outputs`), so a run stopped between
populations leaves the posterior of the last completed one.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.inference.guards import (
    WeightsCollapsed,
    close_stopped_run,
    quiet_worker_signals,
    removed_if_unfinished,
    resume_check,
)
from sim.inference.posterior import (  # re-exported (__all__): the calibration's outputs
    DB_NAME,
    DISTANCES,
    MANIFEST_NAME,
    POSTERIOR_NAME,
    _sha256,
    effective_sample_size,
    load_posterior,
    posterior_frame,
    scenario_digest,
    weighted_quantile,
    write_outputs,
)
from sim.inference.priors import DEFAULT_PRIORS, Prior, priors_from_spec  # re-exported (__all__)
from sim.inference.targets import CALIBRATION_CSV, DEFECTION_CSV, TargetSet


def _overrides(priors: Sequence[Prior], par: dict) -> list[str]:
    return [f"{p.path}={p.value(par[p.key])!r}" for p in priors]


@dataclass
class ScenarioSimulator:
    """pyabc model: particle -> the model's values at the target points.

    Attributes:
        scenario_ref: Scenario name or YAML path.
        priors: The calibrated parameters.
        targets: Target points (only those :meth:`TargetSet.within` the run are used).
        scale: ``population.scale`` of the calibration runs (real people per simulated one).
        days: Last simulated day (default: the scenario's ``run.days``).
        base_overrides: Extra ``path=value`` overrides applied before the particle's.
    """

    scenario_ref: str | Path
    priors: Sequence[Prior]
    targets: TargetSet
    scale: int = 500
    days: int | None = None
    base_overrides: Sequence[str] = field(default_factory=tuple)
    _base: Any = field(default=None, init=False, repr=False, compare=False)

    def scenario(self, values: dict[str, float] | None = None):
        """The scenario with the base overrides and parameter ``values`` (path -> value); the
        file is read once, at the first call, which :func:`calibrate` makes before any particle
        runs (workers, forked or pickled, have it): an edit during a calibration changes nothing."""
        from sim.config.loader import load_scenario, with_values

        if self._base is None:
            days = [f"run.days={self.days}"] if self.days is not None else []
            self._base = load_scenario(self.scenario_ref, [f"population.scale={self.scale}", *self.base_overrides, *days])
        return with_values(self._base, values) if values else self._base

    def simulate(self, values: dict[str, float], seed: int | np.random.SeedSequence) -> np.ndarray:
        """One replication at parameter ``values`` (path -> value); model values, shape (n_points,)."""
        from sim.simulate import run_replication

        sc = self.scenario(values)
        return self.targets.model_values(run_replication(sc, seed), sc)

    def __call__(self, par: dict) -> dict:
        quiet_worker_signals()
        seed = int(np.random.randint(0, 2**31 - 1))  # noqa: NPY002 (pyabc samplers own and reseed the global generator)
        return {"x": self.simulate({p.path: p.value(par[p.key]) for p in self.priors}, seed)}


@dataclass
class TargetDistance:
    """pyabc distance: the bound-aware target distance of a simulation (observed data are in the targets)."""

    targets: TargetSet
    norm: str = "mean"

    def __call__(self, x: dict, x_0: dict) -> float:
        return self.targets.distance(np.asarray(x["x"], dtype=float), self.norm)


def prepare_targets(sim: ScenarioSimulator, targets: TargetSet) -> TargetSet:
    """The mapped targets the run can produce, checked against the model's output columns.

    Raises:
        ValueError: no target left, or columns the model does not output (named).
    """
    from sim.outcomes import output_names

    sc = sim.scenario()
    ts = targets.mapped().within(sc.run.start_day, sc.run.days)
    if len(ts.points) == 0:
        raise ValueError("no target point falls inside the simulated days")
    have = set(output_names(sc))
    missing = [c for c in ts.required_columns() if c not in have]
    if missing:
        raise ValueError(f"the model does not output {missing}: add them, or drop their series from the targets")
    return ts


def _next_epsilon(history, alpha: float) -> float:
    """The ``alpha`` weighted quantile of the last stored population's distances."""
    from pyabc.weighted_statistics import weighted_quantile as wq

    wd = history.get_weighted_distances(t=history.max_t)
    w = wd["w"].to_numpy(float)
    return float(wq(points=wd["distance"].to_numpy(float), weights=w / w.sum(), alpha=alpha))


KERNELS = ("beaumont", "silverman")


def _twice_the_covariance(n_samples: float, dimension: int) -> float:
    """Bandwidth factor sqrt(2): pyabc's kernel covariance is then twice the previous
    population's weighted covariance (Beaumont et al. 2009; Filippi et al. 2013)."""
    return math.sqrt(2.0)


def transition(kernel: str):
    """The perturbation kernel of populations after the first.

    Args:
        kernel: ``beaumont``: a multivariate normal whose covariance is twice the previous
            population's weighted covariance (Beaumont, Cornuet, Marin & Robert 2009,
            "Adaptive approximate Bayesian computation"; Filippi et al. 2013 show it is the
            locally optimal choice for ABC-SMC); ``silverman``: pyabc's default, the
            covariance times Silverman's rule of thumb squared (about 0.48 for 12
            parameters and 100 particles). The narrower kernel concentrated the weights of
            the 12-parameter calibration on a few particles (effective sample size 2 of 100
            after 5 populations): particles perturbed into the tails have a small proposal
            density and so a large importance weight.

    Returns:
        A :class:`pyabc.MultivariateNormalTransition`.

    Raises:
        ValueError: an unknown kernel.
    """
    import pyabc

    if kernel == "beaumont":
        return pyabc.MultivariateNormalTransition(bandwidth_selector=_twice_the_covariance)
    if kernel == "silverman":
        return pyabc.MultivariateNormalTransition()
    raise ValueError(f"kernel must be one of {', '.join(KERNELS)}, got {kernel!r}")


def _quiet_pyabc() -> None:
    for name in ("ABC", "ABC.Sampler", "ABC.History", "ABC.Epsilon", "ABC.Distance", "ABC.Transition",
                 "ABC.Adaptation", "ABC.Acceptor", "ABC.Population"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _sampler(workers: int):
    import pyabc

    if workers < 1:
        raise ValueError("workers must be >= 1")
    if workers == 1:
        return pyabc.sampler.SingleCoreSampler()
    return pyabc.sampler.MulticoreEvalParallelSampler(n_procs=workers)


def calibrate(scenario_ref: str | Path, priors: Sequence[Prior], targets: TargetSet, out_dir: Path,
              populations: int = 6, particles: int = 100, workers: int = 1, seed: int = 2022, resume: bool = False,
              *, scale: int = 500, days: int | None = None, base_overrides: Sequence[str] = (), alpha: float = 0.5,
              initial_epsilon: str | float = "from_sample", min_epsilon: float = 0.0,
              data_files: Sequence[Path] = (DEFECTION_CSV, CALIBRATION_CSV), target_set: str | None = None,
              kernel: str = "beaumont", distance: str = "ard", echo=print,
              guard: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
              on_start: Callable[[], None] = lambda: None) -> Path:
    """Calibrate ``scenario_ref`` to ``targets`` by ABC-SMC; write the posterior and manifest.

    Args:
        scenario_ref: Scenario name or YAML path (e.g. ``history_2022``).
        priors: Parameters to calibrate.
        targets: Target points (unmapped ones and those outside the run are dropped).
        out_dir: Output folder (created): ``abc.db``, ``posterior.parquet``, ``manifest.json``.
        populations: Populations in total (a resumed run continues up to this number).
        particles: Particles per population.
        workers: 1 = ``SingleCoreSampler`` (reproducible), more = pyabc's
            ``MulticoreEvalParallelSampler`` with that many processes.
        seed: Seed of numpy's global generator (prior draws, perturbations, replication seeds).
        resume: Continue ``out_dir/abc.db`` instead of starting a new run; the tolerance of
            the next population is the ``alpha``-quantile of the last stored one's distances.
        scale: ``population.scale`` of the calibration runs.
        days: Last simulated day (default: the scenario's ``run.days``).
        base_overrides: Fixed ``path=value`` overrides for every run.
        alpha: Quantile of the previous population's distances used as the next tolerance.
        initial_epsilon: First tolerance: ``from_sample`` (a prior sample of ``particles``
            simulations) or a number (``inf``: the first population is the prior).
        min_epsilon: Stop when the tolerance falls to this value.
        data_files: Data files recorded (with SHA-256) in the manifest.
        target_set: Name of the target set (``--targets``), recorded in the manifest.
        kernel: Perturbation kernel (:func:`transition`), recorded in the manifest.
        distance: ``ard`` (each series' ARD counts once) or ``scaled`` (each series' ARD in
            units of its naive baseline's, :meth:`TargetSet.scaled_by_naive`), recorded in the manifest.
        echo: Where the one-line progress per population goes.
        guard: Context manager around each write of the outputs (the CLI's stop signals wait
            for it: a stop never leaves a half-written posterior or manifest).
        on_start: Called once every check has passed, before the first simulation.

    Returns:
        Path of ``posterior.parquet``.

    Raises:
        FileExistsError: ``abc.db`` exists and ``resume`` is False.
        FileNotFoundError: ``resume`` without a database.
        ValueError: bad arguments, targets the model cannot produce, or a resume of another design (resume_check).
        WeightsCollapsed: a population could not start (the run is kept, ``failed``).
    """
    import pyabc

    if populations < 1 or particles < 2:
        raise ValueError("need populations >= 1 and particles >= 2")
    transition(kernel)  # an unknown kernel fails before anything is written
    if distance not in DISTANCES:
        raise ValueError(f"distance must be one of {', '.join(DISTANCES)}, got {distance!r}")
    out_dir = Path(out_dir)
    db_path = out_dir / DB_NAME
    db = f"sqlite:///{db_path}"
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} is a file, not a folder")
    if db_path.exists() and not resume:
        raise FileExistsError(f"{db_path} exists: pass resume=True to continue it, or choose another out_dir")
    if resume and not db_path.exists():
        raise FileNotFoundError(f"nothing to resume: {db_path} does not exist")
    if not resume and out_dir.is_dir() and any(out_dir.iterdir()):
        # its manifest.json and posterior.parquet would replace files of the same name
        raise ValueError(f"{out_dir} already exists and is not empty (it holds no calibration); choose another --out")
    out_dir.mkdir(parents=True, exist_ok=True)
    _quiet_pyabc()
    sim = ScenarioSimulator(scenario_ref, list(priors), targets, scale, days, tuple(base_overrides))
    ts = prepare_targets(sim, targets)
    if distance in ("scaled", "scaled-max"):
        ts = ts.scaled_by_naive()
    sim.targets = ts
    prior = pyabc.Distribution(**{p.key: p.rv() for p in priors})
    # on resume the tolerance continues from the last stored population's distances: pyabc
    # would otherwise restart a numeric initial_epsilon at the resumed population
    eps = pyabc.epsilon.QuantileEpsilon(initial_epsilon="from_sample" if resume else initial_epsilon, alpha=alpha)
    norm = "max" if distance == "scaled-max" else "mean"
    abc = pyabc.ABCSMC(sim, prior, TargetDistance(ts, norm), population_size=particles, eps=eps,
                       sampler=_sampler(workers), transitions=transition(kernel))
    previous_wall = 0.0
    digest = scenario_digest(sim.scenario(), priors)  # the model the particles run: a resume must run it too
    if resume:
        history = abc.load(db, 1)
        previous_wall = resume_check(out_dir, history.max_t + 1, {
            "scenario": str(scenario_ref), "scale": scale, "days": sim.scenario().run.days,
            "particles": particles, "seed": seed, "target_set": target_set, "kernel": kernel,
            "distance_kind": distance, "base_overrides": list(base_overrides), "alpha": alpha,
            "priors": [asdict(p) for p in priors]}, digest)
        if history.max_t + 1 >= populations:
            with guard():
                closed = close_stopped_run(out_dir, populations, history.max_t + 1)
            echo(f"nothing to do: {out_dir} already holds {history.max_t + 1} population(s) "
                 f"(asked for {populations}); pass a larger --populations to continue"
                 + ("; its manifest now says complete" if closed else ""))
            return out_dir / POSTERIOR_NAME
    else:
        with removed_if_unfinished(db_path):
            history = abc.new(db, {"x": ts.values})
    on_start()
    start = time.perf_counter()
    meta = {"scenario": str(scenario_ref), "scenario_sha256": digest, "scale": scale, "days": sim.scenario().run.days,
            "base_overrides": list(base_overrides), "data_files": list(data_files), "targets": ts, "priors": list(priors),
            "alpha": alpha, "initial_epsilon": initial_epsilon, "min_epsilon": min_epsilon, "particles": particles,
            "workers": workers, "seed": seed, "target_set": target_set, "kernel": kernel, "distance": distance,
            "status": "running", "populations_requested": populations}
    while history.max_t + 1 < populations:
        t = history.max_t + 1
        np.random.seed([seed, t])  # noqa: NPY002 (pyabc draws priors and perturbations from the global generator)
        if t > 0:
            # pyabc re-initializes the epsilon at every run() call and kept the first tolerance
            # for every later population: set each one explicitly from the previous population
            abc.eps = pyabc.epsilon.QuantileEpsilon(initial_epsilon=_next_epsilon(history, alpha), alpha=alpha)
        t0 = time.perf_counter()
        try:
            history = abc.run(minimum_epsilon=min_epsilon, max_nr_populations=1)
        except ValueError as exc:  # the kernel cannot be fitted to a population whose weights collapsed
            if t == 0:
                raise
            ess = effective_sample_size(history.get_distribution(m=0, t=history.max_t)[1])
            with guard():
                write_outputs(out_dir, history, {**meta, "status": "failed"}, previous_wall + time.perf_counter() - start)
            raise WeightsCollapsed(
                f"population {t + 1} could not start ({exc}): the importance weights of population {t} collapsed to an "
                f"effective sample size of {ess:.1f} of {particles} particles; population {t}'s posterior is kept in "
                f"{out_dir}, but it is a few particles, not a posterior: run again with more --particles") from exc
        pops = history.get_all_populations()
        row = pops[pops["t"] == history.max_t].iloc[0]
        # outputs after every population: a run stopped between populations leaves a consistent posterior
        with guard():
            write_outputs(out_dir, history, meta, previous_wall + time.perf_counter() - start)
        echo(f"population {int(row['t']) + 1}/{populations}: epsilon {row['epsilon']:.4g}, "
             f"{int(row['samples'])} simulations, acceptance {int(row['particles']) / max(int(row['samples']), 1):.1%}, "
             f"effective sample size {effective_sample_size(history.get_distribution(m=0, t=history.max_t)[1]):.0f}, "
             f"{time.perf_counter() - t0:.1f} s")
        if history.max_t < t or row["epsilon"] <= min_epsilon:
            break
    meta["status"] = "complete"  # its populations, its minimum tolerance, or pyabc's own stop
    with guard():
        return write_outputs(out_dir, history, meta, previous_wall + time.perf_counter() - start)


def posterior_predictive(posterior: pd.DataFrame, scenario_ref: str | Path, targets: TargetSet, k: int = 20,
                         seed: int = 7, *, scale: int = 500, days: int | None = None, base_overrides: Sequence[str] = (),
                         quantiles: Sequence[float] = (0.05, 0.5, 0.95), workers: int = 1) -> pd.DataFrame:
    """Simulate ``k`` posterior draws and return quantile bands at every target point.

    Draw i takes a particle with probability its weight and replication seed i of
    ``SeedSequence(seed)``; the draws are the same whatever ``workers`` (processes).

    Returns:
        One row per target point: ``quantity, day, value, bound`` and one column
        ``q<percent>`` per quantile (e.g. ``q5, q50, q95``); group by ``quantity`` for series.
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    paths = [c for c in posterior.columns if c != "weight"]
    sim = ScenarioSimulator(scenario_ref, [], targets, scale, days, tuple(base_overrides))
    ts = prepare_targets(sim, targets)
    sim.targets = ts
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(posterior), size=k, p=posterior["weight"].to_numpy(float))
    seeds = np.random.SeedSequence(seed).spawn(k)
    values = [{p: float(posterior[p].iloc[r]) for p in paths} for r in rows]
    if workers > 1:
        from sim.runner.executors import make_executor

        with make_executor("process", workers) as pool:  # workers die with us; a stop kills them
            sims = np.array(list(pool.map(sim.simulate, values, seeds)))
    else:
        sims = np.array([sim.simulate(v, s) for v, s in zip(values, seeds, strict=True)])
    out = ts.points[["quantity", "day", "value", "bound"]].copy()
    for q in quantiles:
        out[f"q{round(100 * q):d}"] = np.quantile(sims, q, axis=0)
    return out


__all__ = ["DB_NAME", "DEFAULT_PRIORS", "MANIFEST_NAME", "POSTERIOR_NAME", "Prior", "ScenarioSimulator", "TargetDistance",
           "WeightsCollapsed", "_sha256", "calibrate", "load_posterior", "posterior_frame", "posterior_predictive",
           "prepare_targets", "priors_from_spec", "transition", "weighted_quantile", "write_outputs"]
