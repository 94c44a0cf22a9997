"""``asylumsim explore``: global sensitivity analysis and scenario discovery from an experiment file.

Design (:mod:`sim.explore.design`, :mod:`sim.explore.sample`), execution
(:mod:`sim.explore.run`, through the runner's executor seam) and analysis
(:mod:`sim.explore.analyse`: SALib, EMA Workbench's PRIM) stay apart; this module only
wires them and prints the result. SALib and EMA Workbench are the ``explore`` extra.
"""

from __future__ import annotations

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
from sim.errors import AsylumsimError, ResourceError, ResultsError


def explore_cmd(
    design: Annotated[Path, typer.Argument(help="An experiment file (YAML): scenarios, parameters or claims, method, outcomes.")],
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
    try:
        _require_libraries()
        from sim.explore.analyse import write_analysis
        from sim.explore.report import draw_figures
        from sim.explore.run import build, run_experiment
        from sim.runner import claim, storage
        from sim.runner.interrupts import RunInterrupted

        if scheduler and executor is not ExecutorChoice.dask:
            raise ResultsError("--scheduler needs --executor dask")
        if resume and out is None:
            raise ResultsError("--resume needs --out DIR, the experiment folder to continue")
        exp = build(design, set_ or [], model)
        folder = out if out is not None else storage.default_results_dir(f"explore-{exp.design.name}")
        if resume and claim.is_fresh(folder):
            resume = False
        for note in exp.notes:
            typer.echo(f"note: {note}", err=True)
        typer.echo(f"{exp.design.name}: {len(exp.factors)} parameters, {exp.points} points x {len(exp.scenarios)} "
                   f"scenarios x {exp.design.replications} replication(s) = "
                   f"{exp.points * len(exp.scenarios) * exp.design.replications} model runs", err=True)
        t0 = time.perf_counter()
        try:
            with RunProgress(f"explore {exp.design.name}: runs") as bar:
                manifest = run_experiment(exp, folder, executor=executor.value, workers=workers, scheduler=scheduler,
                                          resume=resume, on_start=bar.start, on_result=bar.advance)
        except RunInterrupted as exc:
            typer.echo(f"interrupted ({signal_name(exc.signum)}); finished runs are saved in {folder}; "
                       f"continue with: {exc.hint}", err=True)
            raise typer.Exit(exc.exit_code) from None
        if manifest["status"] != "complete":
            first = manifest.get("failed", [{}])[0]
            raise ResultsError(f"{manifest['jobs']['failed']} of {manifest['jobs']['total']} runs failed (first: "
                               f"{first.get('scenario')} point {first.get('point')}: {first.get('error')}); "
                               f"details in {folder / 'manifest.json'}; rerun them with: {manifest['resume_hint']}")
        tables = write_analysis(folder)
        if "prim_note" in tables:
            typer.echo(f"note: PRIM: {tables['prim_note']['note'].iloc[0]}", err=True)
        if plots:
            draw_figures(folder, tables, manifest)
        _print(tables, manifest)
        typer.echo(f"results: {folder}  ({manifest['jobs']['total']} runs; {time.perf_counter() - t0:.1f} s)")
    except AsylumsimError as exc:
        fail(exc)


def _require_libraries() -> None:
    import importlib.util

    missing = [p for p, m in (("SALib", "SALib"), ("ema_workbench", "ema_workbench")) if importlib.util.find_spec(m) is None]
    if missing:
        raise ResourceError(f"asylumsim explore needs {' and '.join(missing)}: pip install 'asylumsim[explore]' "
                            "(or -r requirements/explore.lock)")


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
        for c in ("claim", "index", "±", "parameters"):
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
