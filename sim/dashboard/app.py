"""The Solara page: "Results" and "What if" on one page.

Started by :func:`sim.dashboard.cli.dashboard_cmd`, which passes its settings through the
environment (:class:`Settings`). State is per browser session (Solara's reactive
variables are scoped to the session's kernel).
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import solara
import solara.lab

from sim.config.yaml_safe import one_line
from sim.dashboard import levers, results
from sim.errors import AsylumsimError

ENV = "ASYLUMSIM_DASHBOARD"
# The "What if" mode's default size: small enough for an update in a few seconds (docs/performance.md).
DEFAULT_SCALE = 400
DEFAULT_DAYS = 180
DEFAULT_REPLICATIONS = 2
TABLE_CSS = ("table.headline{border-collapse:collapse;margin:0.3em 0 1em;display:block;overflow-x:auto}"
             "table.headline th,table.headline td{font-size:13px !important;padding:0.2em 0.8em;text-align:right;"
             "border-bottom:1px solid #ddd}table.headline td{white-space:nowrap}"
             "table.headline th:first-child,table.headline td:first-child{text-align:left;font-weight:bold}")
EXECUTOR = "inline"  # no worker start-up: at this size a process pool costs more than it saves


@dataclass(frozen=True)
class Settings:
    """What the command line gave the page.

    Attributes:
        results_dirs: Folders named on the command line (results folders, or folders of them).
        results_root: Where what-if runs are written (``results/`` of the working directory).
        scenario_dir: Where "Save as scenario" writes (the working directory).
    """

    results_dirs: tuple[Path, ...]
    results_root: Path
    scenario_dir: Path

    def to_env(self) -> str:
        return json.dumps({"results_dirs": [str(p) for p in self.results_dirs],
                           "results_root": str(self.results_root), "scenario_dir": str(self.scenario_dir)})

    @classmethod
    def from_env(cls) -> Settings:
        raw = json.loads(os.environ.get(ENV, "{}") or "{}")
        return cls(tuple(Path(p) for p in raw.get("results_dirs", [])), Path(raw.get("results_root", "results")),
                   Path(raw.get("scenario_dir", ".")))


def error_line(exc: BaseException) -> str:
    """The CLI's one-line message for ``exc``."""
    if isinstance(exc, AsylumsimError):
        return f"error: {one_line(str(exc))}"
    return f"error: {type(exc).__name__}: {one_line(str(exc))}"


# --------------------------------------------------------------------------------------
# state (per session)

mode = solara.reactive("Results")
folder = solara.reactive("")
metrics = solara.reactive(["front_effective"])
open_path = solara.reactive("")
open_error = solara.reactive("")

scenario = solara.reactive("caplan")
lever_values: solara.Reactive[dict[str, Any]] = solara.reactive({})
size_scale = solara.reactive(DEFAULT_SCALE)
size_days = solara.reactive(DEFAULT_DAYS)
size_reps = solara.reactive(DEFAULT_REPLICATIONS)
whatif_folder = solara.reactive("")
save_name = solara.reactive("")
save_message = solara.reactive("")


@solara.lab.task
def run_whatif(ref: str, values: dict[str, Any], scale: int, days: int, reps: int, root: str) -> str:
    """Run the paired what-if ensemble through :func:`run_ensemble`; returns its folder."""
    from sim.runner import storage
    from sim.runner.ensemble import run_ensemble

    spec = levers.whatif_spec(ref, values, scale=scale, days=days, replications=reps)
    out = storage.default_results_dir("whatif-" + "-".join(spec.names), base=root)
    total = [len(spec.scenarios) * spec.replications]
    done = [0]
    run_whatif.progress = 0.0

    def on_start(todo: int, already: int) -> None:
        total[0], done[0] = todo + already, already

    def on_result(_res: Any) -> None:
        done[0] += 1
        run_whatif.progress = 100.0 * done[0] / max(1, total[0])

    outcome = run_ensemble(spec, out, executor=EXECUTOR, on_start=on_start, on_result=on_result)
    if outcome.failed:
        raise AsylumsimError(f"{len(outcome.failed)} replications failed; details in {out / 'manifest.json'}")
    return str(outcome.folder)


# --------------------------------------------------------------------------------------
# pieces


@solara.component
def HeadlineTable(path: str) -> None:
    """The two tables ``asylumsim compare`` prints, from ``comparison.csv``."""
    try:
        h = results.headline(Path(path))
    except AsylumsimError as exc:
        solara.Error(error_line(exc), classes=["error-line"])
        return
    if h is None:
        solara.Text("no comparison.csv (a single run): no paired differences")
        return

    def table(cls: str, head: list[str], rows: list[tuple[str, ...]]) -> str:
        th = "".join(f"<th>{html.escape(c)}</th>" for c in head)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
        return (f"<style>{TABLE_CSS}</style>"
                f'<table class="headline {cls}" data-folder="{html.escape(path)}">'
                f"<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>")

    if h.metric:
        solara.Markdown(f"**{h.metric}**: baseline level, and each scenario's paired difference from the baseline "
                        "(median [90% interval])")
        solara.HTML(tag="div", unsafe_innerHTML=table("levels", ["scenario"] + [f"day {d}" for d in h.days], h.rows))
    if h.last_columns:
        solara.Markdown(f"**day {h.last_day}**: paired differences from the baseline, median [90% interval]")
        solara.HTML(tag="div", unsafe_innerHTML=table("derived", ["scenario"] + h.last_columns, h.last_rows))


@solara.component
def Figures(path: str, chosen: list[str]) -> None:
    """The CLI's figure of each chosen metric."""
    for m in chosen:
        try:
            png = results.figure_png(Path(path), m)
        except AsylumsimError as exc:
            solara.Error(error_line(exc), classes=["error-line"])
            continue
        solara.Image(png, width="100%", classes=[f"figure-{m}"])


@solara.component
def ResultsMode(settings: Settings) -> None:
    """Open a results folder; pick metrics; figures, headline table, manifest."""
    roots = list(settings.results_dirs) + [settings.results_root]
    known = [str(p) for p in results.find_results(roots)]
    if open_path.value and open_path.value not in known:
        known.insert(0, open_path.value)
    if not folder.value and known:
        folder.set(known[0])

    def do_open(text: str) -> None:
        text = text.strip()
        try:
            results.load(Path(text))
        except AsylumsimError as exc:
            open_error.set(error_line(exc))
            return
        open_error.set("")
        open_path.set(text)
        folder.set(text)

    with solara.Row():
        solara.Select("Results folder", values=known, value=folder.value or None, on_value=folder.set)
        solara.InputText("Open another folder (path)", value="", on_value=do_open, continuous_update=False)
    if open_error.value:
        solara.Error(open_error.value, classes=["error-line"])
    if not folder.value:
        solara.Info("No results folder yet: give one on the command line, run `asylumsim compare ...`, "
                    "or use What if.")
        return
    try:
        manifest, ts = results.load(Path(folder.value))
    except AsylumsimError as exc:
        solara.Error(error_line(exc), classes=["error-line"])
        return
    choices = results.metric_choices(ts)
    chosen = [m for m in metrics.value if m in choices] or choices[:1]
    solara.SelectMultiple("Metrics", all_values=choices, values=chosen, on_value=metrics.set)
    solara.Text(f"Folder: {folder.value}", classes=["folder-path"])
    Figures(folder.value, chosen)
    HeadlineTable(folder.value)
    with solara.Details("Manifest (versions, commit, seeds)", expand=True):
        rows = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
                       f"<td>{html.escape(v)}</td></tr>" for k, v in results.manifest_summary(manifest))
        solara.HTML(tag="div", unsafe_innerHTML=f'<table class="manifest">{rows}</table>')


@solara.component
def LeverControl(lv: levers.Lever, current: Any, hosts: list[str]) -> None:
    """One lever: a slider and a number field, a host picker, or a choice."""
    value = lever_values.value.get(lv.key, current)

    def set_value(v: Any) -> None:
        lever_values.set({**lever_values.value, lv.key: v})

    if lv.kind == "number":
        with solara.Row():
            # The slider shows the value as it can (clamped, on its step); it never writes back
            # a value the user typed into the field (levers.slider_position).
            solara.FloatSlider(lv.label, value=levers.slider_position(lv, value), min=lv.low, max=lv.high,
                               step=lv.step, on_value=set_value)
            solara.InputFloat(lv.label, value=float(value), on_value=set_value, continuous_update=False)
    elif lv.kind == "optional_day":
        with solara.Row():
            solara.Checkbox(label="Deadline", value=value is not None,
                            on_value=lambda on: set_value(int(lv.high // 4) if on else None))
            if value is not None:
                solara.InputInt(lv.label, value=int(value), on_value=set_value, continuous_update=False)
    elif lv.kind == "hosts":
        solara.SelectMultiple(lv.label, all_values=hosts, values=list(value), on_value=set_value)
    else:
        solara.Select(lv.label, values=list(lv.choices), value=value, on_value=set_value)


@solara.component
def WhatIfMode(settings: Settings) -> None:
    """Choose a scenario, move levers, run a paired ensemble against baseline, save."""
    from sim.config import load_scenario
    from sim.config.files import list_scenarios

    names = [e.name for e in list_scenarios()]

    def choose(name: str) -> None:
        scenario.set(name)
        lever_values.set({})
        save_message.set("")

    solara.Select("Scenario", values=names, value=scenario.value if scenario.value in names else None, on_value=choose)
    try:
        chosen = load_scenario(scenario.value)
    except AsylumsimError as exc:
        solara.Error(error_line(exc), classes=["error-line"])
        return
    current = levers.current_values(chosen)
    hosts = levers.host_names(chosen)
    offer = levers.lever_offer(chosen)
    solara.Markdown(f"Offer levers move **{offer}**." if offer else
                    f"`{scenario.value}` makes no offer: the offer levers are off.")
    for lv in levers.LEVERS:
        if lv.key in current:
            LeverControl(lv, current[lv.key], hosts)
    with solara.Row():
        solara.InputInt("Scale (people per agent)", value=size_scale.value, on_value=size_scale.set)
        solara.InputInt("Days", value=size_days.value, on_value=size_days.set)
        solara.InputInt("Replications", value=size_reps.value, on_value=size_reps.set)
    try:
        changed = levers.overrides(chosen, lever_values.value)
        levers.load_whatif(scenario.value, lever_values.value)  # the loader's checks, before any run
        problem = ""
    except AsylumsimError as exc:
        changed, problem = [], error_line(exc)
    solara.Text("Changes: " + (", ".join(changed) if changed else "none"), classes=["changes"])
    if problem:
        solara.Error(problem, classes=["error-line"])

    def start() -> None:
        run_whatif(scenario.value, dict(lever_values.value), int(size_scale.value), int(size_days.value),
                   int(size_reps.value), str(settings.results_root))

    solara.Button("Run against baseline", on_click=start, disabled=run_whatif.pending or bool(problem),
                  color="primary", classes=["run-whatif"])
    if run_whatif.pending:
        solara.ProgressLinear(run_whatif.progress if run_whatif.progress is not None else True)
        solara.Text("running...", classes=["running"])
    elif run_whatif.error:
        solara.Error(error_line(run_whatif.exception), classes=["error-line"])
    elif run_whatif.finished and run_whatif.value:
        if whatif_folder.value != run_whatif.value:
            whatif_folder.set(run_whatif.value)
    if whatif_folder.value and not run_whatif.pending:
        solara.Text(f"Results: {whatif_folder.value}", classes=["whatif-folder"])
        Figures(whatif_folder.value, ["front_effective"])
        HeadlineTable(whatif_folder.value)

    def save() -> None:
        try:
            path = levers.save_scenario(settings.scenario_dir, scenario.value, save_name.value.strip(),
                                        dict(lever_values.value))
            save_message.set(f"saved {path}")
        except AsylumsimError as exc:
            save_message.set(error_line(exc))

    with solara.Row():
        solara.InputText("New scenario name", value=save_name.value, on_value=save_name.set)
        solara.Button("Save as scenario", on_click=save, classes=["save-scenario"])
    if save_message.value:
        solara.Text(save_message.value, classes=["save-message"])


@solara.component
def Page() -> None:
    """The dashboard: a mode switch, then the mode."""
    settings = Settings.from_env()
    solara.Title("asylumsim explorer")
    with solara.Column(style={"max-width": "1300px", "padding": "1em"}):
        solara.Markdown("# asylumsim explorer")
        solara.ToggleButtonsSingle(value=mode.value, values=["Results", "What if"], on_value=mode.set)
        if mode.value == "Results":
            ResultsMode(settings)
        else:
            WhatIfMode(settings)
