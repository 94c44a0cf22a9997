"""Running an experiment through the runner's executor seam (inline, process pool, Dask).

Each job is one scenario at one sample point and one replication: a
:class:`sim.runner.jobs.ReplicationJob` whose ``replication`` field numbers
``point * replications + r``, run by :func:`sim.runner.jobs.run_jobs` like any ensemble.
Every job of replication ``r`` gets the seed of replication ``r`` under the root seed,
whatever its point or scenario: common random numbers across scenarios (a paired outcome
compares like with like) and across points (an elementary effect or a Sobol' difference
reflects the parameters, not a new draw of the noise).

The folder (``storage.claim_folder``, atomic writes, ``--resume``, stop signals) works as
for ``run``/``compare``::

    manifest.json        what ran: design, factors, scenarios, seeds, versions, timings
    design.yaml          the experiment file as read
    samples.parquet      one row per point: the unit sample (u_*) and the values
    runs/<scenario>/pt-000012-r0.parquet   one file per job: the outcome days and metrics
    outcomes.parquet     tidy: point, replication, scenario, day, metric, value
    y.parquet            one row per point: each outcome (mean over replications)

A job file is trusted on resume when its stored description (scenario, point,
replication, seed, config digest) matches; the rest are rerun.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim import provenance
from sim.errors import ConfigError, ResultsError, command
from sim.explore.checks import check_outcomes, check_size, refuse_run_settings
from sim.explore.design import Design, anchor_posterior_sets, load_design
from sim.explore.posterior import shared_posterior, with_particle, with_picks
from sim.explore.sample import Factor, apply_point, expand, locate, unit_sample, value_table
from sim.runner import claim, storage
from sim.runner.interrupts import RunInterrupted, StopSignals, note_os_error, raise_os_error
from sim.runner.jobs import DEFAULT_MODEL, ReplicationJob, ReplicationResult, run_jobs
from sim.runner.seeds import replication_seed

if TYPE_CHECKING:
    import pandas as pd

    from sim.config import Scenario

KIND = "explore"


@dataclass
class Experiment:
    """A design made runnable: scenarios loaded, factors expanded, the unit sample drawn."""

    design: Design
    source: str
    text: str
    scenarios: list[Scenario]
    factors: list[Factor]
    units: np.ndarray
    notes: list[str] = field(default_factory=list)
    model: str = DEFAULT_MODEL
    _built: dict[tuple[int, int], Scenario] = field(default_factory=dict, repr=False)

    @property
    def names(self) -> list[str]:
        return self.design.scenario_names

    @property
    def points(self) -> int:
        return int(self.units.shape[0])

    def scenario_at(self, k: int, point: int) -> Scenario:
        """Scenario ``k`` with the values of sample point ``point`` (validated; cached)."""
        from pydantic import ValidationError

        from sim.config.schema import Scenario

        if (k, point) not in self._built:
            data = apply_point(self.scenarios[k].model_dump(mode="json"), self.factors, self.units[point])
            try:
                self._built[(k, point)] = with_particle(Scenario.model_validate(data), self.factors, point)
            except ValidationError as exc:
                msg = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
                raise ConfigError(self.source, f"point {point} of scenario {self.names[k]!r}",
                                  f"the sampled values are invalid together: {msg}") from None
        return self._built[(k, point)]

    def jobs(self) -> list[ReplicationJob]:
        """Every job, point-major (so an interrupted experiment has whole points)."""
        reps = self.design.replications
        return [ReplicationJob(self.scenario_at(k, i), i * reps + r, replication_seed(self.design.seed, r),
                               self.design.days, self.model)
                for i in range(self.points) for r in range(reps) for k in range(len(self.scenarios))]

    def wanted(self) -> dict[str, tuple[set[str], set[int]]]:
        """Per scenario: the metrics and days the outcomes read from it."""
        out: dict[str, tuple[set[str], set[int]]] = {n: (set(), set()) for n in self.names}
        for o in self.design.outcomes:
            for ref in (o.scenario, o.minus):
                if ref is not None:
                    out[ref][0].add(o.metric)
                    out[ref][1].add(o.day)
        return out

    def digest(self) -> str:
        """SHA-256 of what decides the runs and the outcomes: scenarios (with every ``--set``),
        sample, model, days, replications, seed, outcomes. The analysis settings (PRIM, the
        bootstrap) are not in it: changing them and resuming re-analyses without rerunning."""
        d = self.design
        what = {"model": self.model, "days": d.days, "replications": d.replications, "seed": d.seed,
                "outcomes": [o.model_dump() for o in d.outcomes], "factors": [f.name for f in self.factors],
                "scenarios": [s.model_dump(mode="json") for s in self.scenarios],
                "units": np.nan_to_num(self.units, nan=-1.0).round(12).tolist()}
        posts = [f.posterior.sha256 for f in self.factors if f.posterior is not None]
        if posts:  # the particles' file (only then: a design without one keeps its digest)
            what["posterior"] = posts
        blob = json.dumps(what, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def build(design_path: Path | str, extra_sets: list[str] | tuple[str, ...] = (), model: str | None = None) -> Experiment:
    """Read an experiment file and prepare it: scenarios, factors, sample.

    Scenario files named by a ``.yaml`` path are relative to the experiment file. The
    design's ``set`` and then ``extra_sets`` (the command line's ``--set``) apply to every
    scenario, or to one with ``NAME:KEY=VALUE``.

    Raises:
        ConfigError: naming the file, the key (or scenario) and the problem.
    """
    from sim.config.loader import load_scenario
    from sim.config.scoped import name_scenario, overrides_for

    path = Path(design_path)
    design = load_design(path)
    source = str(path)
    refs = [str((path.parent / s).resolve()) if s.endswith((".yaml", ".yml")) else s for s in design.scenarios]
    sets = [*anchor_posterior_sets(design.set, path.parent), *extra_sets]
    own = overrides_for(sets, design.scenario_names)
    refuse_run_settings(design, source, extra_sets)
    scenarios = []
    for i, (ref, name, ov) in enumerate(zip(refs, design.scenario_names, own, strict=True)):
        try:
            sc = load_scenario(ref, [*ov, f"run.days={design.days}"])
        except ConfigError as exc:
            if exc.source == "<command line>":  # the reference itself: the design's entry names it
                raise ConfigError(source, f"scenarios[{i}]", exc.problem) from None
            raise name_scenario(exc, name, file=source, file_sets=design.set) from None
        # known by the name the design gives it (a file's stem), whatever its ``name:``: the
        # outcomes, scoped --set, run files and tables all use that one name
        scenarios.append(sc if sc.name == name else sc.model_copy(update={"name": name}))
    for s in scenarios[1:]:
        for label, a, b in (("population.scale", scenarios[0].population.scale, s.population.scale),
                            ("run.start_day", scenarios[0].run.start_day, s.run.start_day)):
            if a != b:
                raise ConfigError(source, "scenarios", f"{label} differs ({design.scenario_names[0]} {a}, {s.name} {b}); "
                                  f"paired outcomes need one value: set: [\"{label}={a}\"]")
    factors, notes = expand(design, source, shared_posterior(scenarios, design.scenario_names, source)
                            if design.posterior else None)
    datas = [s.model_dump(mode="json") for s in scenarios]
    for f in factors:
        if not any(locate(d, f.name) for d in datas):
            raise ConfigError(source, "parameters", f"{f.name}: no scenario of {design.scenario_names} has it")
    check_outcomes(design, scenarios, source, model)
    check_size(design, source, scenarios, factors)  # before sampling: a huge design is refused, not drawn
    units = unit_sample(design, factors)
    exp = Experiment(design, source, path.read_text(encoding="utf-8"), scenarios, with_picks(design, factors, units),
                     units, notes, model or DEFAULT_MODEL)
    return exp


# ---------------------------------------------------------------------------------------
# the folder


def job_file(slug: str, point: int, rep: int) -> str:
    return f"runs/{slug}/pt-{point:06d}-r{rep}.parquet"


def scenario_slugs(exp: Experiment) -> dict[str, str]:
    """Each scenario's folder under ``runs/``, by scenario name (:func:`storage.unique_slugs`:
    names equal but for case, such as ``caplan`` and ``Caplan.yaml``, get separate folders,
    which a case-insensitive file system would otherwise take for one)."""
    names = list(dict.fromkeys(s.name for s in exp.scenarios))
    return dict(zip(names, storage.unique_slugs(names), strict=True))


def _meta(exp: Experiment, job: ReplicationJob) -> dict[str, Any]:
    reps = exp.design.replications
    cfg = hashlib.sha256(json.dumps(job.scenario.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
    return {"kind": KIND, "scenario": job.scenario.name, "point": job.replication // reps,
            "replication": job.replication % reps, "seed": job.seed.to_json(), "config_sha256": cfg}


def _trusted(folder: Path, rel: str, want: dict[str, Any]) -> bool:
    path = storage.inside(folder, rel)
    if not path.is_file():
        return False
    try:
        return storage.read_file_meta(path) == want
    except ResultsError:
        return False


def new_manifest(exp: Experiment) -> dict[str, Any]:
    d = exp.design
    return {
        "tool": storage.TOOL_NAME, "format_version": storage.FORMAT_VERSION, "kind": KIND,
        "created": storage.now_iso(), "updated": storage.now_iso(), "status": "running",
        "command_line": storage.command_line(), "versions": storage.package_versions(),
        "provenance": provenance.provenance(), "design": {"name": d.name, "file": exp.source, "digest": exp.digest()},
        "model": exp.model, "root_seed": d.seed, "replications": d.replications, "days": d.days,
        "method": d.method.model_dump(), "outcomes": [o.model_dump() for o in d.outcomes],
        "prim": d.prim.model_dump() if d.prim else None,
        "factors": [{"name": f.name, "group": f.group, "range": f.describe(), "source": f.source} for f in exp.factors],
        "notes": exp.notes, "points": exp.points,
        "scenarios": [{"name": n, "slug": scenario_slugs(exp)[s.name], "config": s.model_dump(mode="json")}
                      for n, s in zip(exp.names, exp.scenarios, strict=True)],
        "runs": [], "sessions": [], "outputs": {},
    }


def resume_hint(exp: Experiment, folder: Path) -> str:
    model = f" --model {exp.model}" if exp.model != DEFAULT_MODEL else ""
    return f"{command()} explore {exp.source} --resume --out {folder}{model}"


def run_experiment(exp: Experiment, folder: Path, *, executor: str = "process", workers: int | None = None,
                   scheduler: str | None = None, resume: bool = False,
                   on_start: Callable[[int, int], None] | None = None,
                   on_result: Callable[[ReplicationResult], None] | None = None) -> dict[str, Any]:
    """Run (or resume) an experiment into ``folder``; write the sample and the outcome tables.

    Returns:
        The manifest (``status`` ``complete`` or ``failed``).

    Raises:
        ResultsError: an unusable or busy folder, (resume) a folder of another experiment,
            or an operating-system error while writing (a full disk, a read-only folder:
            the manifest says ``interrupted`` with the ``error``; the message has the resume
            command);
        RunInterrupted: a stop signal (the manifest says ``interrupted``; ``hint`` is the
            resume command, or ``""`` if the signal came before anything was written, in
            which case the folders this call created are removed again).
    """
    from sim.runner.executors import default_workers, make_executor

    folder = Path(folder)
    created = [p for p in (folder, *folder.parents) if not p.exists()]  # deepest first
    with StopSignals() as stop, claim.claim_folder(folder, fresh=not resume):
        try:
            if resume and not claim.is_fresh(folder):
                manifest = storage.read_manifest(folder)
                if manifest.get("kind") != KIND or manifest.get("design", {}).get("digest") != exp.digest():
                    raise ResultsError(f"--resume: {folder} holds another experiment (or this design, its scenarios "
                                       "or --set changed since); start a new --out")
                # the analysis settings may change: they are read from the design as it is now
                manifest.update(method=exp.design.method.model_dump(),
                                prim=exp.design.prim.model_dump() if exp.design.prim else None)
            else:
                manifest = new_manifest(exp)
            jobs = exp.jobs()
            n_workers = min(workers or default_workers(len(jobs)), max(1, len(jobs)))  # never more than jobs, as run
            if exp.model == DEFAULT_MODEL:
                from sim.simulate import check_memory

                for s in exp.scenarios:
                    check_memory(s, 1 if executor == "inline" or scheduler else n_workers)
            with make_executor(executor, n_workers, scheduler) as ex:
                return _run_locked(exp, folder, manifest, jobs, ex, executor, n_workers, stop, on_start, on_result)
        except RunInterrupted as exc:
            if (folder / storage.MANIFEST).is_file():
                exc.hint = resume_hint(exp, folder)
            else:  # stopped while planning, before anything was written: leave no empty folder
                exc.hint = ""
                for p in created:
                    with contextlib.suppress(OSError):
                        p.rmdir()
            raise


def _run_locked(exp: Experiment, folder: Path, manifest: dict[str, Any], jobs: list[ReplicationJob], ex: Any,
                executor: str, n_workers: int, stop: StopSignals, on_start: Any, on_result: Any) -> dict[str, Any]:
    storage.remove_temp_files(folder)
    reps = exp.design.replications
    slugs = scenario_slugs(exp)
    files = {j.key: job_file(slugs[j.scenario.name], j.replication // reps, j.replication % reps) for j in jobs}
    metas = {j.key: _meta(exp, j) for j in jobs}
    todo = [j for j in jobs if not _trusted(folder, files[j.key], metas[j.key])]
    session = {"started": storage.now_iso(), "executor": executor, "workers": n_workers if executor != "inline" else 1,
               "to_run": len(todo), "already_done": len(jobs) - len(todo)}
    manifest["sessions"].append(session)
    manifest["status"] = "running"
    storage.write_manifest(folder, manifest)  # first, so the folder is recognisably ours (if it fails: nothing to resume)
    wanted = exp.wanted()
    failed: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    saved = "the runs finished so far are saved"
    finished = False

    def record(res: ReplicationResult) -> None:
        key = (res.scenario, res.replication)
        with stop.deferred():
            if res.status == "ok" and res.table is not None:
                metrics, days = wanted[res.scenario]
                t = res.table[res.table["day"].isin(sorted(days))][["day", *sorted(metrics)]].reset_index(drop=True)
                storage.atomic_write_bytes(storage.inside(folder, files[key]), storage.parquet_bytes(t, metas[key]))
                res.table = None
            else:
                failed.append({"scenario": res.scenario, "point": res.replication // reps,
                               "replication": res.replication % reps, "error": res.error})
        if on_result is not None:
            on_result(res)

    try:
        storage.atomic_write_text(folder / "design.yaml", exp.text)
        import pandas as pd

        units = pd.DataFrame(exp.units, columns=[f"u:{f.name}" for f in exp.factors])
        samples = pd.concat([value_table(exp.factors, exp.units), units], axis=1)
        storage.atomic_write_parquet(folder / "samples.parquet", samples)
        if on_start is not None:
            on_start(len(todo), len(jobs) - len(todo))
        run_jobs(todo, ex, record)
        saved = "every run is saved and --resume rebuilds the tables"
        session.update(finished=storage.now_iso(), wall_seconds=round(time.perf_counter() - t0, 3))
        manifest.pop("resume_hint", None)
        manifest.pop("error", None)  # an earlier session's stop by a write error
        manifest["failed"] = failed[:20]
        manifest["jobs"] = {"total": len(jobs), "failed": len(failed)}
        manifest["timings"] = {"wall_seconds_total": round(sum(s.get("wall_seconds", 0.0) for s in manifest["sessions"]), 3)}
        with stop.deferred():  # the tables and the final manifest are written whole before a signal is obeyed
            if failed:
                manifest.update(status="failed", resume_hint=resume_hint(exp, folder))
            else:
                long = combine(exp, folder, files)
                storage.atomic_write_parquet(folder / "outcomes.parquet", long)
                storage.atomic_write_parquet(folder / "y.parquet", outcome_table(exp, long))
                manifest["status"] = "complete"
                manifest["outputs"].update(samples="samples.parquet", outcomes="outcomes.parquet", y="y.parquet")
            storage.write_manifest(folder, manifest)
            finished = True
    except BaseException as exc:
        if not finished:
            with contextlib.suppress(BaseException):
                session.setdefault("finished", storage.now_iso())
                session.setdefault("wall_seconds", round(time.perf_counter() - t0, 3))
                manifest.update(status="interrupted", resume_hint=resume_hint(exp, folder))
                note_os_error(manifest, exc)
                storage.write_manifest(folder, manifest)
            raise_os_error(exc, folder, resume_hint(exp, folder), saved)
        raise
    return manifest


def combine(exp: Experiment, folder: Path, files: dict[tuple[str, int], str]) -> pd.DataFrame:
    """All job files as one tidy table: point, replication, scenario, day, metric, value."""
    import pandas as pd

    reps = exp.design.replications
    frames = []
    for (scenario, rep), rel in files.items():
        t = storage.read_parquet(storage.inside(folder, rel))
        t = t.melt(id_vars="day", var_name="metric", value_name="value")
        t.insert(0, "scenario", scenario)
        t.insert(0, "replication", rep % reps)
        t.insert(0, "point", rep // reps)
        frames.append(t)
    out = pd.concat(frames, ignore_index=True)
    out["value"] = out["value"].astype("float64")
    return out.sort_values(["point", "replication", "scenario", "day", "metric"], kind="stable").reset_index(drop=True)


def outcome_table(exp: Experiment, long: pd.DataFrame) -> pd.DataFrame:
    """One row per point, one column per outcome: the level, or the paired difference
    (same point, same replication, hence same seed), averaged over replications."""
    import pandas as pd

    idx = long.set_index(["scenario", "metric", "day", "point", "replication"])["value"].sort_index()
    out = pd.DataFrame({"point": np.arange(exp.points, dtype=np.int64)})
    per_run: dict[str, pd.Series] = {}
    for o in exp.design.outcomes:
        y = idx.loc[(o.scenario, o.metric, o.day)]
        if o.minus is not None:
            y = y - idx.loc[(o.minus, o.metric, o.day)]
        y = o.sign * y
        if o.per is not None:
            den = per_run[o.per]
            y = (y / den.where(den > 0)).astype("float64")
        per_run[o.name] = y
        out[o.name] = y.groupby(level="point").mean().reindex(out["point"]).to_numpy()
    return out
