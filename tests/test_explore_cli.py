"""``asylumsim explore`` end to end on a stand-in model, its experiment-file errors, and
``--set NAME:KEY=VALUE`` in comparisons (issue 17)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers_explore import GATED, SMOOTH
from helpers_runner import cli_env, invoke
from helpers_runner import ok as _ok

ASYLUMSIM = str(Path(sys.executable).with_name("asylumsim"))
DESIGN = """\
name: tiny
scenarios: [baseline, caplan]
days: 20
parameters:
  - {path: front.kia_rate}
  - {path: defection.private_mean, range: [-4.0, 0.0]}
  - {path: offers.caplan_v2.credibility.base}
method: {name: morris, trajectories: 3, levels: 4}
outcomes:
  - {name: caplan_effect, metric: front_effective, day: 20, scenario: caplan, minus: baseline}
  - {name: removed, metric: front_effective, day: 20, scenario: caplan, minus: baseline, sign: -1}
  - {name: defected_per_removed, metric: defected_cum, day: 20, scenario: caplan, per: removed}
prim: {outcome: caplan_effect, threshold: -2400, direction: above}
"""


def _design(tmp_path: Path, text: str = DESIGN, name: str = "design.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _y(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "y.parquet")


def test_an_experiment_is_identical_on_1_and_2_workers(tmp_path):
    design = _design(tmp_path)
    one, two = tmp_path / "one", tmp_path / "two"
    first = invoke(["explore", design, "--model", SMOOTH, "--executor", "inline", "--out", one])
    _ok(first)
    assert "mu* (outcome's unit)" in first.stdout  # the index's header says what it is (a new-user check)
    _ok(invoke(["explore", design, "--model", SMOOTH, "--workers", "2", "--out", two, "--no-plots"]))
    assert json.loads((two / "manifest.json").read_text())["sessions"][0]["workers"] == 2
    pd.testing.assert_frame_equal(_y(one), _y(two))
    pd.testing.assert_frame_equal(pd.read_parquet(one / "outcomes.parquet"), pd.read_parquet(two / "outcomes.parquet"))
    m = json.loads((one / "manifest.json").read_text())
    assert m["kind"] == "explore" and m["status"] == "complete" and m["jobs"] == {"total": 24, "failed": 0}
    assert [f["name"] for f in m["factors"]] == ["front.kia_rate", "defection.private_mean",
                                                 "offers.caplan_v2.credibility.base"]
    # the paired difference: caplan minus baseline at the same point and seed, kia_rate cancels out
    y = _y(one)
    assert y["caplan_effect"].round(6).nunique() <= 4
    pd.testing.assert_series_equal(y["removed"], -y["caplan_effect"], check_names=False)
    pd.testing.assert_series_equal(y["defected_per_removed"], 1200.0 / y["removed"], check_names=False)  # 2 offers x 30 x 20 days
    for name in ("indices.csv", "claims.csv", "prim_trajectory.csv", "prim_box.csv", "samples.parquet"):
        assert (one / name).is_file(), name
    claims = pd.read_csv(one / "claims.csv")
    assert claims["claim"].iloc[0] == "D1" and claims["aggregate"].iloc[0] == "sum of mu_star"
    assert (one / "claims-caplan_effect.png").is_file() and (one / "prim.png").is_file()
    assert (one / "morris-caplan_effect.png").is_file()  # every parameter has a sigma (ungrouped)
    # the docs block: python -m sim.explore.report FOLDER --doc DOC
    from sim.explore.report import BEGIN, END, main

    doc = tmp_path / "docs" / "sensitivity.md"
    doc.parent.mkdir()
    doc.write_text(f"# S\n\nkept\n\n{BEGIN}\nSTALE-BLOCK\n{END}\n")
    assert main([str(one), "--doc", str(doc)]) == 0
    text = doc.read_text()
    assert "kept" in text and "STALE-BLOCK" not in text and "24 model runs" in text and "**PRIM**" in text
    assert "| D1: Preference falsification" in text and (doc.parent / "img" / "explore_tiny_prim.png").is_file()
    assert "![morris caplan_effect](img/explore_tiny_morris-caplan_effect.png)" in text


def _wait_for_files(folder: Path, n: int, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while len(list(folder.glob("runs/*/*.parquet"))) < n:
        if proc.poll() is not None:
            raise AssertionError(f"run ended early: {proc.stderr.read().decode() if proc.stderr else ''}")
        if time.monotonic() > deadline:
            raise AssertionError("the runs never appeared")
        time.sleep(0.05)


def test_an_experiment_resumes_after_a_kill(tmp_path):
    design, gate, calls = _design(tmp_path, DESIGN.split("prim:")[0]), tmp_path / "gate", tmp_path / "calls"
    calls.mkdir()
    env = cli_env(EXPLORE_GATE=str(gate), EXPLORE_CALLS=str(calls), EXPLORE_FREE="3")
    cmd = [ASYLUMSIM, "explore", str(design), "--model", GATED, "--workers", "1", "--no-plots"]
    killed = tmp_path / "killed"
    proc = subprocess.Popen([*cmd, "--out", str(killed)], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for_files(killed, 3, proc)  # three runs done; the fourth waits for the gate
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert len(list(killed.glob("runs/*/*.parquet"))) == 3 and not (killed / "y.parquet").exists()
    gate.touch()
    again = subprocess.run([*cmd, "--out", str(killed), "--resume"], env=env, capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stderr
    m = json.loads((killed / "manifest.json").read_text())
    assert m["status"] == "complete" and m["sessions"][-1]["already_done"] == 3 and m["sessions"][-1]["to_run"] == 21
    whole = tmp_path / "whole"
    _ok(invoke(["explore", design, "--model", SMOOTH, "--executor", "inline", "--out", whole, "--no-plots"]))
    pd.testing.assert_frame_equal(_y(killed), _y(whole))
    # a changed design is another experiment: resume refuses it
    _design(tmp_path, DESIGN.split("prim:")[0].replace("trajectories: 3", "trajectories: 4"))
    res = invoke(["explore", design, "--model", SMOOTH, "--executor", "inline", "--out", killed, "--resume"])
    assert res.exit_code == 1 and "holds another experiment" in res.stderr


def test_workers_are_never_more_than_the_runs(tmp_path, monkeypatch):
    # the hostile review: -w 100000 on a 24-run design was refused as needing 30,015 GiB; run caps workers at its jobs
    import contextlib

    import sim.runner.executors as exe

    seen, original = [], exe.make_executor

    @contextlib.contextmanager
    def recording(kind, workers, scheduler=None):
        seen.append(workers)
        with original("inline", 1) as ex:
            yield ex

    monkeypatch.setattr(exe, "make_executor", recording)
    _ok(invoke(["explore", _design(tmp_path), "--model", SMOOTH, "--workers", "100000", "--no-plots",
                "--out", tmp_path / "out"]))
    assert seen == [24]


@pytest.mark.parametrize(("old", "new", "fragments"), [
    ("method: {name: morris", "methd: {name: morris", ["methd", "unknown key; did you mean 'method'?"]),
    ("trajectories: 3", "trajectorys: 3", ["method.trajectorys: unknown key; did you mean 'trajectories'?"]),
    ("trajectories: 3, levels: 4}", "n: 48}", ["method.n", "power of 2"]),
    ("parameters:\n", "claims: [D99]\nparameters:\n", ["claims", "unknown claim 'D99'"]),
    ("{path: front.kia_rate}", "{path: front.kia_rat}", ["parameters[0].path", "no parameter 'front.kia_rat'",
                                                          "did you mean 'front.kia_rate'?"]),
    ("offers.caplan_v2.credibility.base", "offers.caplan_v2.credibilty.base",
     ["did you mean 'offers.caplan_v2.credibility.base'?"]),
    ("scenario: caplan, minus: baseline", "scenario: caplan, minus: kuran", ["outcomes", "'kuran'"]),
    ("range: [-4.0, 0.0]", "range: [0.0, -4.0]", ["parameters[1]", "lo must be below hi"]),
    ("prim: {outcome: caplan_effect", "prim: {outcome: nothing", ["prim", "'nothing'"]),
    ("per: removed}", "per: later}", ["outcomes", "divides by 'later'"]),
    ("offers.caplan_v2.credibility.base", "offers.caplan_v3.credibility.base", ["parameters", "no scenario"]),
    ("days: 20", "days: twenty", ["days", "twenty"]),
    # a set: entry of the experiment file is named as such, not as the command line's --set (the hostile review)
    ("days: 20", 'days: 20\nset: ["caplan:offers.caplan_v2.paymnt_usd=5"]',
     ["set (scenario 'caplan'): offers.caplan_v2.paymnt_usd: unknown key"]),
])
def test_experiment_file_errors_are_one_line_naming_file_key_and_problem(tmp_path, old, new, fragments):
    assert old in DESIGN
    design = _design(tmp_path, DESIGN.replace(old, new))
    res = invoke(["explore", design, "--model", SMOOTH, "--executor", "inline", "--out", tmp_path / "out"])
    assert res.exit_code == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {design}: "), res.stderr
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    assert not (tmp_path / "out").exists()


def test_a_metric_the_scenario_lacks_is_named(tmp_path):
    design = _design(tmp_path, DESIGN.replace("metric: front_effective", "metric: front_efective"))
    res = invoke(["explore", design, "--out", tmp_path / "out"])
    assert res.exit_code == 1 and "outcomes[0].metric" in res.stderr and "did you mean 'front_effective'" in res.stderr


def test_scoped_set_in_explore_applies_to_one_scenario(tmp_path):
    design = _design(tmp_path, DESIGN.split("prim:")[0])
    res = invoke(["explore", design, "--model", SMOOTH, "--executor", "inline", "--out", tmp_path / "o", "--no-plots",
                  "--set", "caplan:offers.caplan_v2.payment_usd=50000"])
    _ok(res)
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    pay = {s["name"]: [o["payment_usd"] for o in s["config"]["offers"]] for s in m["scenarios"]}
    assert pay == {"baseline": [48000.0], "caplan": [48000.0, 50000.0]}
    bad = invoke(["explore", design, "--model", SMOOTH, "--out", tmp_path / "p",
                  "--set", "offers.caplan_v2.payment_usd=50000"])
    assert bad.exit_code == 1 and "--set (scenario 'baseline'): offers.caplan_v2" in bad.stderr


# --------------------------------------------------------------------------------------
# --set NAME:KEY=VALUE in compare


def test_compare_set_scoped_to_one_scenario(tmp_path):
    from helpers_runner import FAKE

    out = tmp_path / "c"
    _ok(invoke(["compare", "baseline", "caplan", "--days", "5", "-n", "1", "--model", FAKE, "--executor", "inline",
                "--no-plots", "--out", out, "--set", "caplan:offers.caplan_v2.payment_usd=50000",
                "--set", "front.kia_rate=0.001"]))
    m = json.loads((out / "manifest.json").read_text())
    cfg = {s["name"]: s["config"] for s in m["scenarios"]}
    assert [o["payment_usd"] for o in cfg["caplan"]["offers"]] == [48000.0, 50000.0]
    assert cfg["baseline"]["front"]["kia_rate"] == cfg["caplan"]["front"]["kia_rate"] == 0.001


@pytest.mark.parametrize(("sets", "fragments"), [
    (["offers.caplan_v2.payment_usd=50000"],
     ["--set (scenario 'baseline'): offers.caplan_v2: no item named 'caplan_v2'",
      "--set caplan:offers.caplan_v2.payment_usd=50000"]),
    (["kuran:offers.kuran_asylum.payment_usd=1"], ["no scenario 'kuran' here", "baseline, caplan"]),
    (["caplan:offers.caplan_v2.payment_usd=-1"], ["offers.caplan_v2.payment_usd", "greater than or equal to 0"]),
    (["caplan:run.days=3"], ["--set: caplan:run.days=3: in a comparison every scenario takes the baseline's run settings",
                             "--set run.days=3", "baseline:run.days=..."]),
    (["caplan:run={days: 3}"], ["every scenario takes the baseline's run settings", "baseline:run=..."]),
])
def test_compare_set_errors_name_the_scenario(tmp_path, sets, fragments):
    from helpers_runner import FAKE

    args = ["compare", "baseline", "caplan", "--days", "5", "-n", "1", "--model", FAKE, "--out", tmp_path / "c"]
    res = invoke([*args, *(a for s in sets for a in ("--set", s))])
    assert res.exit_code == 1 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    for f in fragments:
        assert f in res.stderr, (f, res.stderr)


def test_resume_with_new_analysis_settings_reanalyses_without_rerunning(tmp_path):
    design, out = _design(tmp_path), tmp_path / "o"
    args = ["explore", design, "--model", SMOOTH, "--executor", "inline", "--out", out, "--no-plots"]
    _ok(invoke(args))
    before = pd.read_csv(out / "prim_trajectory.csv")
    _design(tmp_path, DESIGN.replace("threshold: -2400, direction: above}", "threshold: -2200, direction: above, "
                                     "max_dims: 1}"))
    _ok(invoke([*args, "--resume"]))
    m = json.loads((out / "manifest.json").read_text())
    assert m["sessions"][-1]["to_run"] == 0 and m["prim"]["threshold"] == -2200 and m["prim"]["max_dims"] == 1
    after = pd.read_csv(out / "prim_trajectory.csv")
    assert after["res_dim"][after["chosen"]].iloc[0] <= 1 and not after.equals(before)
