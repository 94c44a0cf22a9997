"""``asylumsim explore``: global sensitivity analysis and scenario discovery from an experiment file.

Design (:mod:`sim.explore.design`, :mod:`sim.explore.sample`), execution
(:mod:`sim.explore.run`, through the runner's executor seam) and analysis
(:mod:`sim.explore.analyse`: SALib, EMA Workbench's PRIM) stay apart; this module only
wires them and prints the result. SALib and EMA Workbench are the ``explore`` extra.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Annotated

import typer

from sim.cli.common import SetOpt, fail, signal_name
from sim.cli.ensemble import (
    ExecutorChoice,
    ExecutorOpt,
    Model,
    Out,
    Plots,
    Resume,
    Scheduler,
    Workers,
)
from sim.cli.progress import RunProgress
from sim.errors import AsylumsimError, ResourceError, ResultsError, command


def explore_cmd(
    design: Annotated[Path, typer.Argument(metavar="DESIGN", help="An experiment file (YAML): scenarios, parameters or claims, method, outcomes.")],
    set_: SetOpt = None,
    workers: Workers = None,
    executor: ExecutorOpt = ExecutorChoice.process,
    scheduler: Scheduler = None,
    out: Out = None,
    resume: Resume = False,
    plots: Plots = True,
    model: Model = None,
) -> None:
    """Which claims decide the answer: Morris, Sobol or one-at-a-time sensitivity, and PRIM boxes."""
    from sim.runner.interrupts import RunInterrupted, StopSignals

    where: dict[str, Path] = {}  # "folder": the results folder, once the design is read
    try:
        # one path for a stop signal from the first line on: planning a large design takes a while
        with StopSignals():
            _explore(design, set_ or [], workers, executor, scheduler, out, resume, plots, model, where)
    except RunInterrupted as exc:
        folder = where.get("folder", out)
        if exc.complete:
            said = f" after every run was written to {folder}; write the analysis and figures with: {exc.hint}"
        elif exc.hint:
            said = f"; finished runs are saved in {folder}; continue with: {exc.hint}"
        elif resume and out is not None and (out / "manifest.json").is_file():  # stopped before it was reopened
            said = (f"; {out} is as it was; continue with: {command()} explore {design} --resume --out {out}"
                    + (f" --model {model}" if model else ""))
        else:
            said = " while planning the experiment, before any run: nothing was written, so there is nothing to resume"
            if out is None and "folder" in where:  # the new folder under results/ this run made, still empty
                with contextlib.suppress(OSError):
                    where["folder"].rmdir()
        typer.echo(f"interrupted ({signal_name(exc.signum)}){said}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except AsylumsimError as exc:
        fail(exc)


def _explore(design: Path, set_: list[str], workers: int | None, executor: ExecutorChoice, scheduler: str | None,
             out: Path | None, resume: bool, plots: bool, model: str | None, where: dict[str, Path]) -> None:
    _require_libraries()
    from sim.explore.analyse import write_analysis
    from sim.explore.report import draw_figures
    from sim.explore.run import build, resume_hint, run_experiment
    from sim.runner import claim, storage
    from sim.runner.interrupts import RunInterrupted

    if scheduler and executor is not ExecutorChoice.dask:
        raise ResultsError("--scheduler needs --executor dask")
    if resume and out is None:
        raise ResultsError("--resume needs --out DIR, the experiment folder to continue")
    exp = build(design, set_, model)
    folder = out if out is not None else storage.default_results_dir(f"explore-{exp.design.name}")
    where["folder"] = folder
    if resume and claim.is_fresh(folder):
        resume = False
    for note in exp.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"{exp.design.name}: {len(exp.factors)} parameters, {exp.points} points x {len(exp.scenarios)} "
               f"scenarios x {exp.design.replications} replication(s) = "
               f"{exp.points * len(exp.scenarios) * exp.design.replications} model runs", err=True)
    t0 = time.perf_counter()
    with RunProgress(f"explore {exp.design.name}: runs") as bar:
        manifest = run_experiment(exp, folder, executor=executor.value, workers=workers, scheduler=scheduler,
                                  resume=resume, on_start=bar.start, on_result=bar.advance)
    if manifest["status"] != "complete":
        first = manifest.get("failed", [{}])[0]
        raise ResultsError(f"{manifest['jobs']['failed']} of {manifest['jobs']['total']} runs failed (first: "
                           f"{first.get('scenario')} point {first.get('point')}: {first.get('error')}); "
                           f"details in {folder / 'manifest.json'}; rerun them with: {manifest['resume_hint']}")
    try:
        tables = write_analysis(folder)
        if "prim_note" in tables:
            typer.echo(f"note: PRIM: {tables['prim_note']['note'].iloc[0]}", err=True)
        for line in tables["resolution"]["note"]:
            typer.echo(f"warning: {line}", err=True)
        if plots:
            draw_figures(folder, tables, manifest)
        _print(tables, manifest)
    except RunInterrupted as exc:  # every run is on disk: --resume only redoes the analysis
        exc.complete, exc.hint = True, resume_hint(exp, folder)
        raise
    typer.echo(f"results: {folder}  ({manifest['jobs']['total']} runs; {time.perf_counter() - t0:.1f} s)")


def _require_libraries() -> None:
    import importlib.util

    missing = [p for p, m in (("SALib", "SALib"), ("ema_workbench", "ema_workbench")) if importlib.util.find_spec(m) is None]
    if missing:
        raise ResourceError(f"asylumsim explore needs {' and '.join(missing)}: pip install 'asylumsim[explore]' "
                            "(or -r requirements/explore.lock)")


INDEX_HEADS = {"mu_star": "mu* (outcome's unit)", "ST": "ST (share of variance)", "swing": "swing (outcome's unit)"}
"""The terminal table's header for each method's index (Morris mu*: mean absolute elementary
effect, in the outcome's unit; Sobol' ST: a share of the outcome's variance; OAT: the swing)."""


def _print(tables: dict, manifest: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from sim.analysis.headline import terminal_width
    from sim.explore.report import _fmt, outcome_text

    # as compare's tables: the terminal's width (80 when piped); names are data (no markup, emoji codes, highlighting)
    console = Console(width=terminal_width(), markup=False, emoji=False, highlight=False)
    for o in manifest["outcomes"]:
        cl = tables["claims"][tables["claims"]["outcome"] == o["name"]]
        t = Table(title=f"{o['name']}: {outcome_text(o).replace('`', '')}; by claim ({cl['aggregate'].iloc[0]})")
        index = INDEX_HEADS.get(str(cl["aggregate"].iloc[0]).split()[-1], "index")  # what the number is, and its unit
        for c in ("claim", index, "±", "parameters"):
            t.add_column(c, justify="left" if c == "claim" else "right", overflow="fold")  # never cut
        for _, r in cl.head(12).iterrows():
            t.add_row(str(r["claim"]), _fmt(r["index"]), _fmt(r["conf"]), str(r["parameters"]))
        console.print(t)
    if "prim_box" in tables:
        p, tr = manifest["prim"], tables["prim_trajectory"]
        box = tr[tr["chosen"]].iloc[0]
        t = Table(title=f"PRIM: {p['outcome']} {p['direction']} {p['threshold']:g}; coverage {box['coverage']:.2f}, "
                        f"density {box['density']:.2f}, mass {box['mass']:.2f}")
        for c in ("parameter", "low", "high", "values"):
            t.add_column(c, overflow="fold")
        for _, r in tables["prim_box"].iterrows():
            t.add_row(str(r["name"]), _fmt(r["low"]), _fmt(r["high"]), str(r["values"] or ""))
        console.print(t)
