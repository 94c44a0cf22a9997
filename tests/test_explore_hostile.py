"""``asylumsim explore`` against a hostile tester: a design too large to plan, a stop signal
while planning, a write error mid-experiment, a repeated parameter path, and a ``--set`` of a
run setting the experiment file owns. Each ends in one line (or a resume command), never a
traceback, an empty folder or a silently ignored value. Runs use the stand-in model
(``helpers_explore.SMOOTH``) inline: seconds."""

from __future__ import annotations

import errno
import json
import os
import signal
from collections import namedtuple
from pathlib import Path

import pandas as pd
import pytest
from helpers_explore import SMOOTH
from helpers_runner import invoke

DESIGN = """\
name: hostile
scenarios: [baseline, caplan]
days: 20
parameters:
  - {path: front.kia_rate}
  - {path: defection.private_mean, range: [-4.0, 0.0]}
method: {name: morris, trajectories: 2, levels: 4}
outcomes:
  - {name: caplan_effect, metric: front_effective, day: 20, scenario: caplan, minus: baseline}
"""
RUN = ["--model", SMOOTH, "--executor", "inline", "--no-plots"]


def _design(tmp_path: Path, text: str = DESIGN) -> Path:
    path = tmp_path / "design.yaml"
    path.write_text(text)
    return path


def _one_error_line(res, design: Path) -> str:
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {design}: "), res.stderr
    return lines[0]


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def _no_planning(monkeypatch) -> None:
    """Make drawing the sample or the job list fail the test: a refused design gets neither."""
    import sim.explore.run as run

    def planned(*a, **k):
        raise AssertionError("the design was sampled or its jobs planned before it was refused")

    monkeypatch.setattr(run, "unit_sample", planned)
    monkeypatch.setattr(run.Experiment, "jobs", planned)


# --------------------------------------------------------------------------------------
# 1. the size of a design, before it is sampled


@pytest.mark.parametrize("method", [
    {"name": "morris", "trajectories": 3},
    {"name": "morris", "trajectories": 3, "group_by": "claim"},
    {"name": "sobol", "n": 8},
    {"name": "sobol", "n": 8, "second_order": True},
    {"name": "sobol", "n": 8, "group_by": "claim"},
    {"name": "sobol", "n": 8, "group_by": "claim", "second_order": True},
    {"name": "oat"},
])
def test_the_sample_size_formula_is_the_sample_drawn(method):
    from sim.explore.design import parse_design
    from sim.explore.sample import expand, sample_size, unit_sample

    design = parse_design({
        "name": "x", "scenarios": ["baseline", "caplan"], "claims": ["D1", "D8", "R1"],
        "items": {"offers": "caplan_v2"}, "method": method,
        "parameters": [{"path": "protest.arrest_variant", "values": ["raw", "floor", "round"]}],
        "outcomes": [{"name": "f", "metric": "front_effective", "day": 10, "scenario": "baseline"}]}, "x")
    factors, _ = expand(design, "x")
    assert sample_size(design, factors) == unit_sample(design, factors).shape[0]


def test_a_design_over_the_maximum_is_refused_in_one_line_before_sampling(tmp_path, monkeypatch):
    # the tester's design: 9 claims, Sobol n 65536 with second order, 100 replications
    # (over a billion runs) took the machine's memory while it was being sampled
    _no_planning(monkeypatch)
    design = _design(tmp_path, DESIGN.replace(
        "parameters:", "claims: [D1, D2, D3, D4, D5, D8, D16, R1, R4]\nitems: {offers: caplan_v2}\nparameters:").replace(
        "method: {name: morris, trajectories: 2, levels: 4}",
        "method: {name: sobol, n: 65536, second_order: true}\nreplications: 100"))
    out = tmp_path / "out"
    line = _one_error_line(invoke(["explore", design, *RUN, "--out", out]), design)
    assert line.startswith(f"error: {design}: method.n: "), line
    assert "x 2 scenario(s) x 100 replication(s) = " in line and "model runs" in line
    assert "more than the 1,000,000" in line and "lower method.n (or set second_order: false)" in line
    assert not out.exists()


def test_a_design_whose_plan_does_not_fit_in_memory_is_refused(tmp_path, monkeypatch):
    import psutil

    from sim.explore.checks import MAX_RUNS

    _no_planning(monkeypatch)
    mem = namedtuple("mem", "available total")
    monkeypatch.setattr(psutil, "virtual_memory", lambda: mem(200 * 2**20, 400 * 2**20))
    design = _design(tmp_path, DESIGN.replace("trajectories: 2", "trajectories: 1000"))
    out = tmp_path / "out"
    line = _one_error_line(invoke(["explore", design, *RUN, "--out", out]), design)
    assert 6000 < MAX_RUNS
    assert line.startswith(f"error: {design}: method.trajectories: 3,000 points x 2 scenario(s) x 1 replication(s) "
                           "= 6,000 model runs need about "), line
    assert "GiB available may be used (run.max_memory_fraction); lower method.trajectories" in line
    assert not out.exists()


# --------------------------------------------------------------------------------------
# 1. a stop signal while planning


def _signal_in(monkeypatch, target: object, name: str, signum: int) -> None:
    def stop(*a, **k):
        signal.raise_signal(signum)
        raise AssertionError("the signal did not stop the experiment")

    monkeypatch.setattr(target, name, stop)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_while_the_jobs_are_planned_leaves_no_folder_and_says_so(tmp_path, monkeypatch, signum, code):
    import sim.explore.run as run

    _signal_in(monkeypatch, run.Experiment, "jobs", signum)
    out = tmp_path / "new" / "out"
    res = invoke(["explore", _design(tmp_path), *RUN, "--out", out])
    assert res.exit_code == code, res.output
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith(f"interrupted ({signal.Signals(signum).name}) while planning"), last
    assert "nothing was written" in last and "continue with" not in last
    assert not (tmp_path / "new").exists()  # the folders it had created are gone again


def test_a_stop_while_the_jobs_are_planned_leaves_no_default_folder_under_results(tmp_path, monkeypatch):
    # without --out the folder results/<time>-explore-<name>-<hex> was made, and left empty
    import sim.explore.run as run

    _signal_in(monkeypatch, run.Experiment, "jobs", signal.SIGINT)
    monkeypatch.chdir(tmp_path)
    res = invoke(["explore", _design(tmp_path), *RUN])
    assert res.exit_code == 130 and "nothing was written" in res.stderr.strip().splitlines()[-1], res.output
    assert list((tmp_path / "results").iterdir()) == []


def test_a_stop_while_the_design_is_sampled_says_nothing_was_written(tmp_path, monkeypatch):
    import sim.explore.run as run

    _signal_in(monkeypatch, run, "unit_sample", signal.SIGINT)
    out = tmp_path / "out"
    res = invoke(["explore", _design(tmp_path), *RUN, "--out", out])
    assert res.exit_code == 130, res.output
    assert "nothing was written" in res.stderr.strip().splitlines()[-1] and not out.exists()


def test_a_stop_while_a_resume_is_planned_gives_the_resume_command(tmp_path, monkeypatch):
    import sim.explore.run as run

    design, out = _design(tmp_path), tmp_path / "out"
    res = invoke(["explore", design, *RUN, "--out", out])
    assert res.exit_code == 0, res.output
    _signal_in(monkeypatch, run.Experiment, "jobs", signal.SIGINT)
    res = invoke(["explore", design, *RUN, "--out", out, "--resume"])
    assert res.exit_code == 130, res.output
    last = res.stderr.strip().splitlines()[-1]
    assert last.endswith(f"continue with: asylumsim explore {design} --resume --out {out} --model {SMOOTH}"), last
    assert _manifest(out)["status"] == "complete"
    monkeypatch.undo()
    assert invoke(["explore", design, *RUN, "--out", out, "--resume"]).exit_code == 0


# --------------------------------------------------------------------------------------
# 2. a write error mid-experiment: the cause, the resume command, the manifest's error


@pytest.mark.parametrize("stage", ["run", "tables"])
def test_a_write_error_stops_with_the_cause_and_the_resume_command(tmp_path, monkeypatch, stage):
    from sim.runner import storage

    replace = os.replace
    hit = {"run": "pt-000001-r0.parquet", "tables": "outcomes.parquet"}[stage]

    def refused(src, dst, *a, **k):
        if hit in str(dst):
            raise OSError(errno.EPERM, "Operation not permitted")
        return replace(src, dst, *a, **k)

    monkeypatch.setattr(storage.os, "replace", refused)
    design, out = _design(tmp_path), tmp_path / "out"
    res = invoke(["explore", design, *RUN, "--out", out])
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {out}: stopped by an operating-system error (") and "Operation not permitted" in last
    assert last.endswith(f"continue with: asylumsim explore {design} --resume --out {out} --model {SMOOTH}"), last
    m = _manifest(out)
    assert m["status"] == "interrupted" and "Operation not permitted" in m["error"] and "--resume" in m["resume_hint"]
    assert (len(list(out.glob("runs/*/*.parquet"))) == 12) is (stage == "tables")
    monkeypatch.undo()
    assert invoke(["explore", design, *RUN, "--out", out, "--resume"]).exit_code == 0
    m = _manifest(out)
    assert m["status"] == "complete" and "error" not in m and "resume_hint" not in m
    whole = tmp_path / "whole"
    assert invoke(["explore", design, *RUN, "--out", whole]).exit_code == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out / "y.parquet"), pd.read_parquet(whole / "y.parquet"))


# --------------------------------------------------------------------------------------
# 3. a repeated parameter path


def test_a_repeated_parameter_path_is_refused(tmp_path):
    design = _design(tmp_path, DESIGN.replace(
        "  - {path: defection.private_mean, range: [-4.0, 0.0]}\n",
        "  - {path: defection.private_mean, range: [-5, -1]}\n  - {path: defection.private_mean, range: [-4, -2]}\n"))
    out = tmp_path / "out"
    line = _one_error_line(invoke(["explore", design, *RUN, "--out", out]), design)
    assert line == (f"error: {design}: parameters[2].path: the path defection.private_mean repeats parameters[1]; "
                    "give each parameter once")
    assert not out.exists()


# --------------------------------------------------------------------------------------
# 4. --set of a run setting the experiment file owns


@pytest.mark.parametrize(("text", "key", "value"), [
    ("run.days=5", "days", 20),
    ("run.seed=7", "seed", 20220921),
    ("run.replications=3", "replications", 1),
    ("caplan:run.days=5", "days", 20),
    ("run={days: 5, start_day: -3}", "days", 20),
])
def test_a_set_of_a_run_setting_the_design_owns_is_refused(tmp_path, text, key, value):
    design, out = _design(tmp_path), tmp_path / "out"
    res = invoke(["explore", design, *RUN, "--out", out, "--set", text])
    assert res.exit_code == 1, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --set: {text}: "), res.stderr
    assert f"({key}: {value} in {design})" in lines[0] and f"change {key} in {design} instead" in lines[0]
    assert not out.exists()


def test_a_design_set_of_a_run_setting_is_refused_and_other_run_settings_apply(tmp_path):
    design = _design(tmp_path, DESIGN.replace("days: 20\n", 'days: 20\nset: ["population.scale=50", "run.days=5"]\n'))
    line = _one_error_line(invoke(["explore", design, *RUN, "--out", tmp_path / "a"]), design)
    assert line.startswith(f"error: {design}: set[1]: run.days=5: ") and "change days in" in line
    design = _design(tmp_path)
    res = invoke(["explore", design, *RUN, "--out", tmp_path / "b", "--set", "run.max_memory_fraction=0.5"])
    assert res.exit_code == 0, res.output
    m = _manifest(tmp_path / "b")
    assert m["days"] == 20 and {s["config"]["run"]["max_memory_fraction"] for s in m["scenarios"]} == {0.5}


@pytest.mark.parametrize("path", ["run.days", "population.scale", "run.seed"])
def test_a_run_setting_under_parameters_is_refused(tmp_path, path):
    # run.days in [5, 20] was ignored (every point ran the design's days); population.scale's noise read as an effect
    design = tmp_path / "d.yaml"
    design.write_text(f"name: d\nscenarios: [baseline]\ndays: 10\nparameters:\n  - {{path: {path}, range: [1000, 3000]}}\n"
                      "method: {name: oat}\noutcomes:\n  - {name: e, metric: front_effective, day: 10, scenario: baseline}\n")
    r = invoke(["explore", design, "--model", SMOOTH, "--executor", "inline", "--no-plots", "--out", tmp_path / "e"])
    lines = r.stderr.strip().splitlines()
    assert r.exit_code == 1 and len(lines) == 1, r.stderr
    assert "parameters[0].path" in lines[0] and "not a model parameter" in lines[0] and not (tmp_path / "e").exists()


def test_a_scenario_reference_that_fails_names_the_design_entry(tmp_path):
    # it said "<command line>: scenario file ... not found", as if the user had typed it
    design = tmp_path / "d.yaml"
    design.write_text("name: d\nscenarios: [baseline, missing.yaml]\ndays: 10\nparameters:\n  - {path: front.kia_rate}\n"
                      "method: {name: oat}\noutcomes:\n  - {name: e, metric: front_effective, day: 10, scenario: baseline}\n")
    r = invoke(["explore", design, "--model", SMOOTH, "--executor", "inline", "--no-plots", "--out", tmp_path / "e"])
    assert r.exit_code == 1 and r.stderr.strip() == f"error: {design}: scenarios[1]: scenario file " \
        f"'{(tmp_path / 'missing.yaml').resolve()}' not found", r.stderr
