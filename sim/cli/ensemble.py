"""``asylumsim run``, ``compare`` and ``plot``.

Registered on the app in :mod:`sim.cli`; the progress display is
:mod:`sim.cli.progress`, compare's closing tables :mod:`sim.cli.headline`. Only light
modules are imported at the top: pandas, matplotlib, Mesa and Dask load inside the commands, so
``asylumsim list`` stays fast.
"""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sim.cli.common import SetOpt, fail, signal_name
from sim.cli.figures import figure_tasks, figures_drawn, list_plots, record_figures
from sim.cli.headline import print_headline
from sim.cli.progress import RunProgress
from sim.errors import AsylumsimError, ConfigError, ResultsError, command

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

    from sim.config import Scenario
    from sim.runner.ensemble import EnsembleOutcome
    from sim.runner.spec import EnsembleSpec

_MODEL_DEFAULT = "sim.simulate:run_replication"


class ExecutorChoice(StrEnum):
    inline = "inline"
    process = "process"
    dask = "dask"


Replications = Annotated[int | None, typer.Option("--replications", "-n", min=1, max=10_000, help="Replications per scenario (default: the scenario's run.replications).")]
Days = Annotated[int | None, typer.Option("--days", min=1, help="Days to simulate; shorthand for --set run.days=D.")]
Seed = Annotated[int | None, typer.Option("--seed", min=0, help="Root seed; replication seeds are spawned from it (default: run.seed).")]
Workers = Annotated[int | None, typer.Option("--workers", "-w", min=1, help="Worker processes (default: one per CPU).")]
ExecutorOpt = Annotated[ExecutorChoice, typer.Option("--executor", help="Where replications run: in this process, a local process pool, or Dask.")]
Scheduler = Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786 (default: a local Dask cluster).")]
Scale = Annotated[int | None, typer.Option("--scale", min=1, help="Real people per simulated individual; shorthand for --set population.scale=K.")]
Out = Annotated[Path | None, typer.Option("--out", "-o", help="Results folder (default: results/<time>-<name>/).")]
Resume = Annotated[bool, typer.Option("--resume", help="Continue an interrupted run in --out: run only the missing replications.")]
Plots = Annotated[bool, typer.Option("--plots/--no-plots", help="Draw the figures after the run.")]
NoParamUnc = Annotated[bool, typer.Option("--no-parameter-uncertainty", help="Ignore the scenarios' uncertainty.posterior: every replication uses the configured parameters, so the bands show replication noise only: to hold a calibrated parameter at a value you set (recorded in the manifest).")]
# Hidden: the model function as "module:function"; tests point it at stand-ins.
Model = Annotated[str | None, typer.Option("--model", hidden=True)]


# --------------------------------------------------------------------------------------
# shared plumbing


def _overrides(set_: list[str] | None, scale: int | None, days: int | None, seed: int | None, replications: int | None) -> list[str]:
    # Shorthands come after --set so an explicit --days wins over --set run.days.
    out = list(set_ or [])
    out += [f"population.scale={scale}"] if scale is not None else []
    out += [f"run.days={days}"] if days is not None else []
    out += [f"run.seed={seed}"] if seed is not None else []
    out += [f"run.replications={replications}"] if replications is not None else []
    return out


def _execute(spec: EnsembleSpec, out: Path | None, resume: bool, executor: ExecutorChoice, workers: int | None,
             scheduler: str | None, plots: bool, label: str,
             show: Callable[[EnsembleOutcome], None] | None = None) -> EnsembleOutcome:
    """Resolve the folder (resuming if asked), run, plot, report and ``show`` the results; exits 1 on failure.

    A stop signal (SIGINT, SIGTERM, SIGHUP) ends with one line naming the folder and the
    resume command (or, once the run has finished, saying the folder is complete), and exit
    code 128 + signal (130, 143, 129).
    """
    from sim.runner import storage
    from sim.runner.ensemble import run_ensemble
    from sim.runner.interrupts import RunInterrupted, StopSignals

    if scheduler and executor is not ExecutorChoice.dask:
        raise ResultsError("--scheduler needs --executor dask")
    folder = out if out is not None else storage.default_results_dir(label)
    t0 = time.perf_counter()
    try:
        with RunProgress(f"{label}: replications") as bar:
            outcome = run_ensemble(spec, folder, executor=executor.value, workers=workers, scheduler=scheduler,
                                   resume=resume, on_start=bar.start, on_result=bar.advance, on_note=bar.stage,
                                   side_tasks=figure_tasks if plots else None)
            if plots and outcome.timeseries is not None and not figures_drawn(outcome):
                bar.stage("drawing figures")
        try:
            with StopSignals():  # a signal while the figures and summary are printed: say the folder is complete
                if plots and outcome.timeseries is not None and not record_figures(outcome):
                    _draw(outcome.folder, outcome.manifest, outcome.timeseries)  # the workers could not: here
                _report(outcome, time.perf_counter() - t0)
                if show is not None:
                    show(outcome)
        except RunInterrupted as exc:
            exc.complete, exc.hint = True, ""
            raise
    except RunInterrupted as exc:
        where = (f"; finished replications are saved in {folder}; continue with: {exc.hint}" if exc.hint
                 else f" after every replication and table was written: {folder} is complete "
                      f"(redraw any missing figure with: {command()} plot {folder})" if exc.complete
                 else f"; nothing was written to {folder}")
        typer.echo(f"interrupted ({signal_name(exc.signum)}){where}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo(f"interrupted; continue with: {command()} {spec.kind} --resume --out {folder}", err=True)
        raise typer.Exit(130) from None
    except OSError as exc:  # before the run started (its own errors carry the resume command)
        fail(ResultsError(f"{folder}: cannot write ({exc.strerror or exc})"))
    return outcome


def _draw(folder: Path, manifest: dict[str, Any], ts: pd.DataFrame) -> None:
    from sim.plots import draw_results

    try:
        paths = draw_results(folder, manifest, ts)
    except AsylumsimError:
        raise
    except Exception as exc:  # noqa: BLE001 - the data are safe on disk; say so and go on
        typer.echo(f"warning: drawing the figures failed ({type(exc).__name__}: {exc}); "
                   f"the tables are written; retry with: {command()} plot {folder}", err=True)
        return
    list_plots(folder, manifest, paths)


def _report(outcome: EnsembleOutcome, seconds: float) -> None:
    runs = outcome.manifest["runs"]
    ok = sum(r["status"] == "ok" for r in runs)
    resumed = f", {outcome.skipped} already done" if outcome.skipped else ""
    typer.echo(f"results: {outcome.folder}  ({ok}/{len(runs)} replications ok{resumed}; {seconds:.1f} s)")
    if outcome.failed:
        for r in outcome.failed[:5]:
            seed = r.get("seed", {})
            typer.echo(f"  failed: {r['scenario']} replication {r['replication']} (seed {seed.get('entropy')}, "
                       f"spawn key {seed.get('spawn_key')}): {r.get('error')}", err=True)
        from sim.runner.ensemble import resume_hint

        more = f" (and {len(outcome.failed) - 5} more)" if len(outcome.failed) > 5 else ""
        typer.echo(f"error: {len(outcome.failed)} of {len(runs)} replications failed{more}; details in "
                   f"{outcome.folder / 'manifest.json'}; rerun them with: {resume_hint(outcome.spec, outcome.folder)}",
                   err=True)
        raise typer.Exit(1)


def _resume_spec(kind: str, out: Path | None, resume: bool, requested: EnsembleSpec | None,
                 replications: int | None, model: str | None) -> EnsembleSpec | None:
    """The spec to resume with, or None for a fresh run (checked again under the folder lock)."""
    from sim.runner import claim, storage
    from sim.runner.resume import reconcile_resume
    from sim.runner.spec import EnsembleSpec

    if not resume:
        return None
    if out is None:
        raise ResultsError("--resume needs --out DIR, the results folder to continue")
    if claim.is_fresh(out):
        if requested is None:
            raise ResultsError(f"nothing to resume in {out}; give a scenario to start a new run there")
        return None
    manifest = storage.read_manifest(out)
    if manifest.get("kind") != kind and manifest.get("kind") in ("run", "compare"):
        raise ResultsError(f"{out} holds an 'asylumsim {manifest['kind']}' result; continue it with "
                           f"{command()} {manifest['kind']} --resume --out {out}")
    stored = EnsembleSpec.from_manifest(manifest, model=model or _MODEL_DEFAULT, folder=out)
    return reconcile_resume(stored, requested, replications)


# --------------------------------------------------------------------------------------
# run


def run_cmd(
    scenario: Annotated[str | None, typer.Argument(metavar="SCENARIO", help="Scenario name or YAML file (may be omitted with --resume).")] = None,
    replications: Replications = None,
    days: Days = None,
    seed: Seed = None,
    workers: Workers = None,
    executor: ExecutorOpt = ExecutorChoice.process,
    scheduler: Scheduler = None,
    scale: Scale = None,
    set_: SetOpt = None,
    out: Out = None,
    resume: Resume = False,
    plots: Plots = True,
    no_parameter_uncertainty: NoParamUnc = False,
    model: Model = None,
) -> None:
    """Run an ensemble of one scenario into a results folder (tables, manifest, figures)."""
    try:
        from sim.runner.spec import EnsembleSpec

        requested = None
        if scenario is not None:
            from sim.config.scoped import overrides_for

            s = _load(scenario, _overrides(overrides_for(set_ or [], [scenario])[0], scale, days, seed, replications))
            requested = EnsembleSpec(kind="run", scenarios=[s], replications=s.run.replications,
                                     root_seed=s.run.seed, days=s.run.days, model=model or _MODEL_DEFAULT,
                                     parameter_uncertainty=not no_parameter_uncertainty, sets=list(set_ or []))
        elif not resume:
            raise ResultsError("give a scenario name or YAML file (see: asylumsim list)")
        else:
            _refuse_settings_without_scenario("run", scale, days, seed, set_, no_parameter_uncertainty)
        stored = _resume_spec("run", out, resume, requested, replications, model)
        spec = stored or requested
        assert spec is not None
        from sim.analysis.headline import print_run_summary
        _execute(spec, out, resume, executor, workers, scheduler, plots, spec.scenarios[0].name, print_run_summary)
    except AsylumsimError as exc:
        fail(exc)


def _refuse_settings_without_scenario(kind: str, scale: int | None, days: int | None, seed: int | None,
                                      set_: list[str] | None, no_parameter_uncertainty: bool = False) -> None:
    """``--resume`` without a scenario continues the stored configuration; settings cannot change it.

    Raises:
        ResultsError: naming the options that would otherwise be silently ignored.
    """
    given = [name for name, v in (("--scale", scale), ("--days", days), ("--seed", seed), ("--set", set_),
                                  ("--no-parameter-uncertainty", no_parameter_uncertainty)) if v]
    if given:
        raise ResultsError(f"--resume without a scenario continues the stored configuration, so {', '.join(given)} "
                           f"cannot apply; give the scenario(s) too (asylumsim {kind} SCENARIO ... --resume) to check "
                           "them against the folder, or start a new --out")


def _load(ref: str, overrides: list[str]) -> Scenario:
    from sim.config import load_scenario

    return load_scenario(ref, overrides)


# --------------------------------------------------------------------------------------
# compare


def compare_cmd(
    scenarios: Annotated[list[str] | None, typer.Argument(metavar="SCENARIO", help="Scenario names or YAML files; the first is the baseline unless --baseline.")] = None,
    baseline: Annotated[str | None, typer.Option("--baseline", "-b", help="Baseline scenario (added first if not listed).")] = None,
    replications: Replications = None,
    days: Days = None,
    seed: Seed = None,
    workers: Workers = None,
    executor: ExecutorOpt = ExecutorChoice.process,
    scheduler: Scheduler = None,
    scale: Scale = None,
    set_: SetOpt = None,
    out: Out = None,
    resume: Resume = False,
    plots: Plots = True,
    no_parameter_uncertainty: NoParamUnc = False,
    model: Model = None,
) -> None:
    """Run scenarios with common random numbers and compare each with the baseline."""
    try:
        requested = (_compare_spec(scenarios or [], baseline, replications, days, seed, scale, set_, model,
                                   not no_parameter_uncertainty) if (scenarios or baseline) else None)
        if requested is None and not resume:
            raise ResultsError("give at least two scenarios, e.g. asylumsim compare baseline caplan")
        if requested is None:
            _refuse_settings_without_scenario("compare", scale, days, seed, set_, no_parameter_uncertainty)
        stored = _resume_spec("compare", out, resume, requested, replications, model)
        spec = stored or requested
        assert spec is not None
        label = "compare-" + "-".join(spec.names)[:60]

        def show(outcome: EnsembleOutcome) -> None:
            if outcome.timeseries is not None:
                print_headline(outcome.folder)

        _execute(spec, out, resume, executor, workers, scheduler, plots, label, show)
    except AsylumsimError as exc:
        fail(exc)


def _compare_spec(refs: list[str], baseline: str | None, replications: int | None, days: int | None,
                  seed: int | None, scale: int | None, set_: list[str] | None, model: str | None,
                  parameter_uncertainty: bool = True) -> EnsembleSpec:
    """Load the scenarios so that they share days, replications, root seed and posterior draws.

    ``--set KEY=V`` applies to every scenario, ``--set NAME:KEY=V`` to scenario NAME only;
    an error names the scenario that could not take the value.
    """
    from sim.config.scoped import overrides_for, refuse_scoped_run_settings
    from sim.runner.spec import EnsembleSpec

    refs = list(dict.fromkeys(refs))
    if baseline is not None and baseline not in refs:
        refs.insert(0, baseline)
    if len(refs) < 2:
        raise ResultsError("compare needs at least two scenarios (a baseline and one more)")
    base_ref = baseline if baseline is not None else refs[0]
    own = dict(zip(refs, overrides_for(set_ or [], refs), strict=True))  # --set NAME:KEY=V applies to NAME only
    refuse_scoped_run_settings(set_ or [], base_ref)  # after overrides_for, which refuses unknown scopes
    base = _load_named(base_ref, _overrides(own[base_ref], scale, days, seed, replications), refs, set_)
    # The baseline's run settings become everyone's, so replication i is paired across scenarios.
    loaded = [base if r == base_ref else
              _load_named(r, _overrides(own[r], scale, base.run.days, base.run.seed, base.run.replications), refs, set_)
              for r in refs]
    from sim.config.files import ref_stem

    for i, s in enumerate(loaded):  # results are labelled by name: two scenarios cannot share one
        same = [refs[j] for j in range(i + 1, len(loaded)) if loaded[j].name == s.name]
        if same:  # suggest renaming a file whose name: is not its own (a copy made with show)
            fix = next((r for r in (refs[i], same[0]) if ref_stem(r) != s.name), same[0])
            hint = f"e.g. name: {ref_stem(fix)} in {fix}" if ref_stem(fix) != s.name else "the name: key"
            raise ResultsError(f"{refs[i]!r} and {same[0]!r} are both named {s.name!r}, and results are labelled by "
                               f"name; give each its own name ({hint})")
    spec = EnsembleSpec(kind="compare", scenarios=loaded, replications=base.run.replications, root_seed=base.run.seed,
                        days=base.run.days, model=model or _MODEL_DEFAULT, baseline=base.name,
                        parameter_uncertainty=parameter_uncertainty, sets=list(set_ or []))
    return spec


def _load_named(ref: str, overrides: list[str], refs: list[str], sets: list[str] | None) -> Scenario:
    """:func:`_load` in a comparison: a ``--set`` error names the scenario and suggests scoping it."""
    from sim.config.scoped import name_scenario, split_scope

    try:
        return _load(ref, overrides)
    except ConfigError as exc:
        others = [r for r in refs if r != ref]
        culprit = next((t for t in sets or [] if split_scope(t)[0] is None
                        and split_scope(t)[1].partition("=")[0].startswith(exc.key.split(".")[0])), None)
        example = f"{others[0] if len(others) == 1 else 'SCENARIO'}:{culprit}" if culprit else None
        raise name_scenario(exc, ref, example) from None


# --------------------------------------------------------------------------------------
# plot


def plot_cmd(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A results folder written by asylumsim run or compare.")],
    metric: Annotated[list[str] | None, typer.Option("--metric", "-m", help="Draw only this metric (repeatable).")] = None,
) -> None:
    """Redraw the figures of a results folder from its saved tables (no rerun), and list
    them in its manifest (outputs.plots)."""
    try:
        import contextlib

        from sim.config.yaml_safe import one_line
        from sim.plots import draw_results
        from sim.runner.claim import folder_lock
        from sim.runner.tables import check_plot_table, check_table_belongs, load_results

        try:  # the lock: a run resuming into the folder cannot change it under the figures
            with folder_lock(run_dir) if run_dir.is_dir() else contextlib.nullcontext():
                manifest, ts = load_results(run_dir)  # (not a folder: its one-line error)
                check_plot_table(run_dir, manifest, ts, metric or [])
                check_table_belongs(run_dir, manifest, ts)  # not another run's table, nor an edited one
                notes: list[str] = []
                paths = draw_results(run_dir, manifest, ts, metric or None, notes=notes)
                list_plots(run_dir, manifest, paths)
        except OSError as exc:  # a name too long, a read-only file system, ...
            raise ResultsError(f"cannot plot {run_dir}: {exc.strerror or exc}") from None
        for n in notes:
            typer.echo(f"note: {one_line(n)}", err=True)
        for p in paths:
            if p.suffix == ".png":
                typer.echo(f"wrote {one_line(str(p))} (and .svg)")
    except AsylumsimError as exc:
        fail(exc)
