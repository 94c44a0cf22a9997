"""``asylumsim run``, ``compare`` and ``plot``.

Registered on :data:`sim.cli.app` when ``sim.cli`` is imported. Only light modules are
imported at the top: pandas, matplotlib, Mesa and Dask load inside the commands, so
``asylumsim list`` stays fast.
"""

from __future__ import annotations

import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sim.cli import SetOpt, _fail, app
from sim.errors import AsylumsimError, ResultsError

if TYPE_CHECKING:
    import pandas as pd

    from sim.config import Scenario
    from sim.runner.ensemble import EnsembleOutcome, EnsembleSpec, ReplicationResult

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


def _interactive() -> bool:
    return sys.stdout.isatty()


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def _clock(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class _Progress:
    """Progress over replications, then the table and figure stages, on stderr.

    On a terminal (stderr is a tty): a rich bar. Otherwise (``| tee``, a scheduler's log):
    a plain line every 10% of the replications or every 10 s, whichever comes first.
    The ETA counts from when the first finished replication started computing, so worker
    start-up and imports do not distort it; it shows ``?`` until one has finished.
    """

    PLAIN_EVERY_S = 10.0

    def __init__(self, label: str, terminal: bool | None = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.terminal = _stderr_is_terminal() if terminal is None else terminal
        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("eta {task.fields[eta]}"),
            console=self.console, disable=not self.terminal, transient=False,
        )
        self.label = label
        self.task: Any = None
        self.total = self.done = self.start_done = 0
        self.t0 = time.monotonic()
        self.t_first: float | None = None
        self._last_plain = self.t0
        self._last_decile = 0

    def __enter__(self) -> _Progress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def _line(self, text: str) -> None:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def eta(self) -> float | None:
        """Seconds left, or ``None`` before the first replication finishes.

        The clock starts when the first finished replication started computing (its
        finish time minus its own duration), so worker start-up and imports do not
        count; the rate is replications finished in this session per second since.
        """
        now = time.monotonic()
        if self.t_first is None or now <= self.t_first:
            return None
        rate = (self.done - self.start_done) / (now - self.t_first)
        return (self.total - self.done) / rate if rate > 0 else None

    def start(self, todo: int, done: int) -> None:
        label = self.label + (f" (resuming, {done} done)" if done else "")
        self.total, self.done, self.start_done = todo + done, done, done
        self.t0 = self._last_plain = time.monotonic()
        self.task = self.progress.add_task(label, total=todo + done, completed=done, eta="?")
        if not self.terminal:
            self._line(f"{label}: {todo} replication(s) to run, {done} already done")

    def advance(self, res: ReplicationResult) -> None:
        self.done += 1
        if self.t_first is None:
            self.t_first = time.monotonic() - (res.seconds or 0.0)
        eta = _clock(self.eta())
        self.progress.update(self.task, advance=1, eta=eta)
        if res.status != "ok":
            msg = f"replication {res.replication} of {res.scenario} failed: {res.error}"
            if self.terminal:
                from rich.markup import escape

                self.progress.console.print(f"[red]{escape(msg)}[/]")
            else:
                self._line(msg)
        if not self.terminal:
            now = time.monotonic()
            decile = (10 * (self.done - self.start_done)) // max(1, self.total - self.start_done)
            if decile > self._last_decile or now - self._last_plain >= self.PLAIN_EVERY_S or self.done == self.total:
                self._last_decile, self._last_plain = decile, now
                self._line(f"{self.label}: {self.done}/{self.total} replications, "
                           f"elapsed {_clock(now - self.t0)}, eta {eta}")

    def stage(self, text: str) -> None:
        """Announce a stage after the replications (tables, figures) or a note."""
        if self.terminal:
            from rich.markup import escape

            self.progress.console.print(escape(text))
        else:
            self._line(text)


def _execute(spec: EnsembleSpec, out: Path | None, resume: bool, executor: ExecutorChoice, workers: int | None,
             scheduler: str | None, plots: bool, label: str) -> EnsembleOutcome:
    """Resolve the folder (resuming if asked), run, plot, and report; exits 1 on failure.

    A stop signal (SIGINT, SIGTERM, SIGHUP) ends with one line naming the folder and the
    resume command, and exit code 128 + signal (130, 143, 129).
    """
    from sim.runner import storage
    from sim.runner.ensemble import RunInterrupted, run_ensemble

    if scheduler and executor is not ExecutorChoice.dask:
        raise ResultsError("--scheduler needs --executor dask")
    folder = out if out is not None else storage.default_results_dir(label)
    t0 = time.perf_counter()
    try:
        with _Progress(f"{label}: replications") as bar:
            outcome = run_ensemble(spec, folder, executor=executor.value, workers=workers, scheduler=scheduler,
                                   resume=resume, on_start=bar.start, on_result=bar.advance, on_note=bar.stage)
            if plots and outcome.timeseries is not None:
                bar.stage("drawing figures")
    except RunInterrupted as exc:
        where = (f"; finished replications are saved in {folder}; continue with: {exc.hint}" if exc.hint
                 else f"; nothing was written to {folder}")
        typer.echo(f"interrupted ({signal_name(exc.signum)}){where}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo(f"interrupted; continue with: asylumsim {spec.kind} --resume --out {folder}", err=True)
        raise typer.Exit(130) from None
    if plots and outcome.timeseries is not None:
        _draw(outcome.folder, outcome.manifest, outcome.timeseries)
    _report(outcome, time.perf_counter() - t0)
    return outcome


def signal_name(signum: int) -> str:
    """``SIGTERM`` for 15, etc."""
    import signal

    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _draw(folder: Path, manifest: dict[str, Any], ts: pd.DataFrame) -> None:
    from sim.plots import draw_results
    from sim.runner import storage

    try:
        paths = draw_results(folder, manifest, ts)
    except AsylumsimError:
        raise
    except Exception as exc:  # noqa: BLE001 - the data are safe on disk; say so and go on
        typer.echo(f"warning: drawing the figures failed ({type(exc).__name__}: {exc}); "
                   f"the tables are written; retry with: asylumsim plot {folder}", err=True)
        return
    manifest.setdefault("outputs", {})["plots"] = sorted(str(p.relative_to(folder)) for p in paths)
    storage.write_manifest(folder, manifest)


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
    from sim.runner import storage
    from sim.runner.ensemble import EnsembleSpec, reconcile_resume

    if not resume:
        return None
    if out is None:
        raise ResultsError("--resume needs --out DIR, the results folder to continue")
    if storage.is_fresh(out):
        if requested is None:
            raise ResultsError(f"nothing to resume in {out}; give a scenario to start a new run there")
        return None
    manifest = storage.read_manifest(out)
    if manifest.get("kind") != kind and manifest.get("kind") in ("run", "compare"):
        raise ResultsError(f"{out} holds an 'asylumsim {manifest['kind']}' result; continue it with "
                           f"asylumsim {manifest['kind']} --resume --out {out}")
    stored = EnsembleSpec.from_manifest(manifest, model=model or _MODEL_DEFAULT)
    return reconcile_resume(stored, requested, replications)


# --------------------------------------------------------------------------------------
# run


@app.command("run")
def run_cmd(
    scenario: Annotated[str | None, typer.Argument(help="Scenario name or YAML file (may be omitted with --resume).")] = None,
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
    model: Model = None,
) -> None:
    """Run an ensemble of one scenario into a results folder (tables, manifest, figures)."""
    try:
        from sim.runner.ensemble import EnsembleSpec

        requested = None
        if scenario is not None:
            s = _load(scenario, _overrides(set_, scale, days, seed, replications))
            requested = EnsembleSpec(kind="run", scenarios=[s], replications=s.run.replications,
                                     root_seed=s.run.seed, days=s.run.days, model=model or _MODEL_DEFAULT)
        elif not resume:
            raise ResultsError("give a scenario name or YAML file (see: asylumsim list)")
        else:
            _refuse_settings_without_scenario("run", scale, days, seed, set_)
        stored = _resume_spec("run", out, resume, requested, replications, model)
        spec = stored or requested
        assert spec is not None
        from sim.analysis.headline import print_run_summary
        print_run_summary(_execute(spec, out, resume, executor, workers, scheduler, plots, spec.scenarios[0].name))
    except AsylumsimError as exc:
        _fail(exc)


def _refuse_settings_without_scenario(kind: str, scale: int | None, days: int | None, seed: int | None,
                                      set_: list[str] | None) -> None:
    """``--resume`` without a scenario continues the stored configuration; settings cannot change it.

    Raises:
        ResultsError: naming the options that would otherwise be silently ignored.
    """
    given = [name for name, v in (("--scale", scale), ("--days", days), ("--seed", seed), ("--set", set_)) if v]
    if given:
        raise ResultsError(f"--resume without a scenario continues the stored configuration, so {', '.join(given)} "
                           f"cannot apply; give the scenario(s) too (asylumsim {kind} SCENARIO ... --resume) to check "
                           "them against the folder, or start a new --out")


def _load(ref: str, overrides: list[str]) -> Scenario:
    from sim.config import load_scenario

    return load_scenario(ref, overrides)


# --------------------------------------------------------------------------------------
# compare


@app.command("compare")
def compare_cmd(
    scenarios: Annotated[list[str] | None, typer.Argument(help="Scenario names or YAML files; the first is the baseline unless --baseline.")] = None,
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
    model: Model = None,
) -> None:
    """Run scenarios with common random numbers and compare each with the baseline."""
    try:
        requested = _compare_spec(scenarios or [], baseline, replications, days, seed, scale, set_, model) if (scenarios or baseline) else None
        if requested is None and not resume:
            raise ResultsError("give at least two scenarios, e.g. asylumsim compare baseline caplan")
        if requested is None:
            _refuse_settings_without_scenario("compare", scale, days, seed, set_)
        stored = _resume_spec("compare", out, resume, requested, replications, model)
        spec = stored or requested
        assert spec is not None
        label = "compare-" + "-".join(spec.names)[:60]
        outcome = _execute(spec, out, resume, executor, workers, scheduler, plots, label)
        if outcome.timeseries is not None:
            _print_headline(outcome.folder)
    except AsylumsimError as exc:
        _fail(exc)


def _compare_spec(refs: list[str], baseline: str | None, replications: int | None, days: int | None,
                  seed: int | None, scale: int | None, set_: list[str] | None, model: str | None) -> EnsembleSpec:
    """Load the scenarios so that they share days, replications and root seed."""
    from sim.runner.ensemble import EnsembleSpec

    refs = list(dict.fromkeys(refs))
    if baseline is not None and baseline not in refs:
        refs.insert(0, baseline)
    if len(refs) < 2:
        raise ResultsError("compare needs at least two scenarios (a baseline and one more)")
    base_ref = baseline if baseline is not None else refs[0]
    base = _load(base_ref, _overrides(set_, scale, days, seed, replications))
    # The baseline's run settings become everyone's, so replication i is paired across scenarios.
    common = _overrides(set_, scale, base.run.days, base.run.seed, base.run.replications)
    loaded = [base if r == base_ref else _load(r, common) for r in refs]
    return EnsembleSpec(kind="compare", scenarios=loaded, replications=base.run.replications, root_seed=base.run.seed,
                        days=base.run.days, model=model or _MODEL_DEFAULT, baseline=base.name)


def _print_headline(folder: Path) -> None:
    """The comparison at a glance: paired differences from the baseline, with intervals."""
    import pandas as pd
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from sim.analysis.compare import COST_PER_SOLDIER, DEATHS_AVOIDED
    from sim.config.yaml_safe import one_line
    from sim.analysis.headline import cost_label, format_cost
    from sim.plots import compact
    from sim.runner import storage

    manifest = storage.read_manifest(folder)
    comp = pd.read_csv(folder / storage.COMPARISON)
    base = manifest["baseline"]
    names = [e["name"] for e in manifest["scenarios"]]
    console = Console(width=None if _interactive() else 150)

    def shown(text: object) -> str:
        """Names and paths are data, never rich markup or terminal control."""
        return escape(one_line(str(text)))

    def cell(row: pd.Series | None, kind: str) -> str:
        """kind: "level", "diff", or "derived" (paired values kept in the level columns)."""
        if row is None:
            return "-"
        cols = ("diff_median", "diff_p05", "diff_p95") if kind == "diff" else ("median", "p05", "p95")
        m, lo, hi = (row[c] for c in cols)
        if pd.isna(m):
            return "-"
        if row["metric"] == COST_PER_SOLDIER:
            return format_cost(m, lo, hi)
        signed = kind == "diff" or row["metric"] == DEATHS_AVOIDED
        return f"{compact(m, signed)} [{compact(lo, signed)}, {compact(hi, signed)}]"

    def lookup(s: str, metric: str, day: int) -> pd.Series | None:
        r = comp[(comp["scenario"] == s) & (comp["metric"] == metric) & (comp["day"] == day)]
        return None if r.empty else r.iloc[0]

    key = next((m for m in ("front_effective", "front_strength") if m in set(comp["metric"])), None)
    n = int(comp["n"].max()) if len(comp) else 0
    if key is not None:
        days = sorted(comp.loc[comp["metric"] == key, "day"].unique().tolist())
        t = Table(title=f"{key}: baseline level, and each scenario's paired difference from {shown(repr(base))}\n"
                        f"median [90% interval] over {n} replications", title_justify="left")
        t.add_column("scenario", style="bold")
        for d in days:
            t.add_column(f"day {d}", justify="right")
        for s in names:
            t.add_row(shown(s) + (" (level)" if s == base else ""), *[cell(lookup(s, key, d), "level" if s == base else "diff") for d in days])
        console.print(t)

    last = int(comp["day"].max())
    cols = [(m, lbl) for m, lbl in (("defected_cum", "defected"), ("fled_cum", "fled"), (DEATHS_AVOIDED, "deaths avoided"), (COST_PER_SOLDIER, cost_label(comp["metric"].unique(), last)))
            if m in set(comp["metric"])]
    if cols:
        t = Table(title=f"day {last}: paired differences from {shown(repr(base))} (derived rows: per-replication values), "
                        "median [90% interval]", title_justify="left")
        t.add_column("scenario", style="bold")
        for _, lbl in cols:
            t.add_column(lbl, justify="right")
        for s in names:
            if s == base:
                continue
            t.add_row(shown(s), *[cell(lookup(s, m, last), "derived" if m in (DEATHS_AVOIDED, COST_PER_SOLDIER) else "diff") for m, _ in cols])
        console.print(t)
    figure = folder / "compare.png"
    outputs = manifest.get("outputs")
    drawn = isinstance(outputs, dict) and "compare.png" in (outputs.get("plots") or [])
    where = (f"; figure: {shown(figure)}" if drawn and figure.exists()
             else f" (no figure; draw it with: asylumsim plot {shown(folder)})")
    console.print(f"full table: {shown(folder / storage.COMPARISON)}{where}")


# --------------------------------------------------------------------------------------
# plot


@app.command("plot")
def plot_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A results folder written by asylumsim run or compare.")],
    metric: Annotated[list[str] | None, typer.Option("--metric", "-m", help="Draw only this metric (repeatable).")] = None,
) -> None:
    """Redraw the figures of a results folder from its saved tables (no rerun)."""
    try:
        from sim.config.yaml_safe import one_line
        from sim.plots import draw_results
        from sim.runner.ensemble import load_results

        try:
            manifest, ts = load_results(run_dir)
            _check_plot_table(run_dir, manifest, ts, metric or [])
            notes: list[str] = []
            paths = draw_results(run_dir, manifest, ts, metric or None, notes=notes)
        except OSError as exc:  # a name too long, a read-only file system, ...
            raise ResultsError(f"cannot plot {run_dir}: {exc.strerror or exc}") from None
        for n in notes:
            typer.echo(f"note: {one_line(n)}", err=True)
        for p in paths:
            if p.suffix == ".png":
                typer.echo(f"wrote {one_line(str(p))} (and .svg)")
    except AsylumsimError as exc:
        _fail(exc)


_KEY_COLUMNS = ("scenario", "replication", "day")


def _check_plot_table(folder: Path, manifest: dict[str, Any], ts: pd.DataFrame, metrics: list[str]) -> None:
    """Refuse, in one line, a table ``plot`` cannot draw (hand-edited or truncated).

    Raises:
        ResultsError: key columns missing, no rows, the comparison's baseline missing from
            the table, or an unknown ``--metric`` (with the closest column names).
    """
    import difflib

    missing = [c for c in _KEY_COLUMNS if c not in ts.columns]
    if missing:
        raise ResultsError(f"{folder}: the table has no {', '.join(repr(c) for c in missing)} column "
                           "(hand-edited?); rerun the scenarios to rebuild it")
    if ts.empty:
        raise ResultsError(f"{folder}: the table has no rows; nothing to plot")
    baseline = manifest.get("baseline") if manifest.get("kind") == "compare" else None
    if baseline is not None and baseline not in set(ts["scenario"].astype(str)):
        have = ", ".join(repr(s) for s in dict.fromkeys(ts["scenario"].astype(str)))
        raise ResultsError(f"{folder}: the baseline {baseline!r} named in the manifest is not in the table "
                           f"(scenarios: {have}); was the folder edited?")
    have = [str(c) for c in ts.columns if c not in _KEY_COLUMNS]
    for m in metrics:
        if m in have:
            continue
        close = difflib.get_close_matches(m, have, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else f"available: {', '.join(have)}"
        raise ResultsError(f"unknown metric {m!r} in {folder}; {hint}")
    numeric = ts[have].select_dtypes("number").columns
    wanted = metrics or [c for c in have if c in set(numeric)]
    if not any(ts[c].notna().any() for c in wanted if c in set(numeric)):
        raise ResultsError(f"{folder}: the table has no numbers to plot for {', '.join(wanted) or 'any metric'}")
