"""``asylumsim calibrate`` and the shipped posterior of history_2022 (issue 15, point 5)."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers_runner import cli_env, hint_command, invoke

from sim.inference import abc as A
from sim.inference import report
from sim.inference.posterior import _sha256 as sha256
from sim.inference.targets import CALIBRATION_CSV, DEFECTION_CSV


def test_calibrate_command_runs_resumes_and_refuses_to_overwrite(tmp_path):
    """A tiny run (2 particles, 40 days at scale 2000): one line per population, the outputs,
    the one-line error on a second start, and a resume to the second population."""
    out = tmp_path / "cal"
    tiny = ["calibrate", "history_2022", "--particles", "2", "--scale", "2000", "--days", "40", "--out", out, "--seed", "1"]
    res = invoke([*tiny, "--populations", "1"])
    assert res.exit_code == 0, res.output
    assert re.search(r"^population 1/1: epsilon \S+, \d+ simulations, acceptance", res.output, re.M), res.output
    assert {p.name for p in out.iterdir()} >= {"abc.db", "posterior.parquet", "manifest.json"}
    res = invoke([*tiny, "--populations", "2"])
    assert res.exit_code == 1
    assert res.output.strip().splitlines()[-1].startswith("error: ") and "--resume" in res.output
    res = invoke([*tiny, "--populations", "2", "--resume", "--distance", "scaled"])
    assert res.exit_code == 1 and "--distance" in res.output.strip().splitlines()[-1], res.output
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    res = invoke([*tiny, "--populations", "2", "--resume"])
    assert res.exit_code == 0, res.output
    assert "population 2/2:" in res.output
    man = json.loads((out / "manifest.json").read_text())
    assert man["status"] == "complete" and man["populations_requested"] == 2
    assert man["populations"] == 2 and [p["path"] for p in man["priors"]] == [p.path for p in A.DEFAULT_PRIORS]
    assert man["kernel"] == "beaumont" and man["target_set"] == "defection" and man["distance_kind"] == "ard"
    assert set(man["series_weights"].values()) == {1.0}
    eps = man["epsilon"]["values"]
    assert eps[1] < eps[0], eps  # each population's tolerance is a quantile of the previous one's distances


def test_calibrate_command_rejects_an_unknown_kernel_or_distance_before_writing(tmp_path):
    res = invoke(["calibrate", "history_2022", "--distance", "euclid", "--out", tmp_path / "d"])
    assert res.exit_code == 1 and not (tmp_path / "d").exists()
    assert res.output.strip().splitlines()[-1].startswith("error: ") and "distance" in res.output
    res = invoke(["calibrate", "history_2022", "--set", "front.awol_rate=0.001", "--out", tmp_path / "s"])
    assert res.exit_code == 1 and not (tmp_path / "s").exists()
    assert res.output.strip().splitlines()[-1].startswith("error: --set front.awol_rate: a calibrated parameter")
    res = invoke(["calibrate", "history_2022", "--kernel", "gaussian", "--out", tmp_path / "k"])
    assert res.exit_code == 1
    assert res.output.strip().splitlines()[-1].startswith("error: ") and "kernel" in res.output
    assert not (tmp_path / "k" / "abc.db").exists()


def test_the_beaumont_kernel_has_twice_the_weighted_covariance():
    import pandas as pd

    rng = np.random.default_rng(3)
    X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(0, 3, size=400)})
    w = np.full(400, 1 / 400)
    wide, narrow = A.transition("beaumont"), A.transition("silverman")
    wide.fit(X, w)
    narrow.fit(X, w)
    assert np.allclose(wide.cov, 2 * np.cov(X.to_numpy().T, bias=True), rtol=0.02)
    assert (np.diag(wide.cov) > np.diag(narrow.cov)).all()


def test_calibrate_command_reports_a_missing_database_in_one_line(tmp_path):
    res = invoke(["calibrate", "history_2022", "--resume", "--out", tmp_path / "none"])
    assert res.exit_code == 1
    assert res.output.strip().splitlines()[-1].startswith("error: nothing to resume")


def test_shipped_posterior_matches_its_manifest_and_the_data():
    """The shipped history_2022 posterior: weights sum to 1, one column per prior, values
    inside the priors, and the manifest's data hashes are those of the shipped CSVs."""
    parquet, js = report.shipped_paths("history_2022")
    post, man = A.load_posterior(parquet), json.loads(js.read_text())
    priors = [A.Prior(**p) for p in man["priors"]]
    assert list(post.columns) == [p.path for p in priors] + ["weight"]
    assert len(post) == man["particles"]
    for p in priors:
        assert np.all((post[p.path] >= p.low) & (post[p.path] <= p.high)), p.path
    hashes = {f["file"]: f["sha256"] for f in man["data_files"]}
    shipped = {f.name: sha256(f) for f in (DEFECTION_CSV, CALIBRATION_CSV)}
    assert hashes and all(hashes[name] == shipped[name] for name in hashes), "data changed: recalibrate"
    assert man["simulations"] >= sum(man["simulations_per_population"])  # + the prior sample of the first tolerance


def test_parameters_fixed_from_the_earlier_posterior_are_fixed_in_the_scenario():
    """The four parameters the nine-parameter calibration keeps fixed are not drawn from its
    prior or its posterior, and the scenario holds the values the docs give for them."""
    from sim.config.loader import load_scenario
    from sim.inference.priors import FIXED_FROM_EARLIER_POSTERIOR

    calibrated = {p.path for p in A.DEFAULT_PRIORS}
    assert not calibrated & set(FIXED_FROM_EARLIER_POSTERIOR)
    post = A.load_posterior(report.shipped_paths("history_2022")[0])
    assert not set(post.columns) & set(FIXED_FROM_EARLIER_POSTERIOR)
    sc = load_scenario("history_2022")
    for path, value in FIXED_FROM_EARLIER_POSTERIOR.items():
        obj = sc
        for part in path.split("."):
            obj = getattr(obj, part)
        assert float(obj) == pytest.approx(value), path


def test_calibration_doc_holds_the_generated_block():
    text = (report.REPO / report.DOC).read_text(encoding="utf-8")
    assert text.count(f"<!-- BEGIN generated:{report.BLOCK}") == 1 and text.count(f"<!-- END generated:{report.BLOCK} -->") == 1
    man = json.loads(report.shipped_paths("history_2022")[1].read_text())
    assert f"--particles {man['particles']}" in text and f"{man['simulations']:,} simulations" in text


def test_calibrate_refuses_a_folder_that_holds_other_files(tmp_path):
    # a run's results folder (or any user folder): its manifest.json must not be replaced
    out = tmp_path / "run"
    out.mkdir()
    (out / "manifest.json").write_text('{"mine": 1}')
    res = invoke(["calibrate", "history_2022", "--particles", "2", "--populations", "1", "--scale", "2000",
                  "--days", "40", "--out", out])
    assert res.exit_code == 1
    assert res.output.strip().splitlines()[-1].startswith("error: ") and "not empty" in res.output
    assert (out / "manifest.json").read_text() == '{"mine": 1}'
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]


def test_calibrate_resume_without_database_creates_nothing(tmp_path):
    res = invoke(["calibrate", "history_2022", "--resume", "--out", tmp_path / "none"])
    assert res.exit_code == 1
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_ends_a_calibration_in_one_line_and_resume_continues(tmp_path, sig):
    # Ctrl-C (SIGINT to the whole process group, workers included) or SIGTERM after the
    # first population: one line naming what is kept and the command that continues, exit
    # 128 + signal, no worker tracebacks, no process left; the resume finishes the run
    out = tmp_path / "cal"
    args = [str(Path(sys.executable).with_name("asylumsim")), "calibrate", "history_2022", "--particles", "6",
            "--populations", "4", "--scale", "2000", "--days", "40", "--workers", "2", "--seed", "3", "--out", str(out)]
    proc = subprocess.Popen(args, env=cli_env(), start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not (out / "manifest.json").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    time.sleep(0.3)
    os.killpg(proc.pid, sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, stdout + stderr
    assert "Traceback" not in stdout + stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"interrupted ({signal.Signals(sig).name}): {out} keeps the"), stderr
    # the run's settings are in its manifest: the command needs only the folder (and the workers)
    assert lines[0].endswith(f"continue with: {hint_command(args[0])} calibrate history_2022 --out {out} --workers 2 --resume")
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # no worker left in the group
    man = json.loads((out / "manifest.json").read_text())
    assert 1 <= man["populations"] < 4 and man["status"] == "interrupted" and man["populations_requested"] == 4
    command = shlex.split(lines[0].split("continue with: ", 1)[1])
    assert command[0] == hint_command(args[0])  # as it can be run from the user's shell
    # (a safety net, not a timing test: on a loaded 2-core machine the resume took over 300 s)
    resumed = subprocess.run([args[0], *command[1:]], env=cli_env(), capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr
    man = json.loads((out / "manifest.json").read_text())
    assert man["populations"] == 4 and man["status"] == "complete"


def test_collapsed_weights_stop_the_calibration_with_the_reason(tmp_path, monkeypatch):
    # pyabc cannot fit the next population's kernel to a population whose importance
    # weights collapsed (its covariance is NaN): the error says so, with the effective
    # sample size and the fix, and the last population's outputs are kept
    import pyabc

    from sim.inference.posterior import effective_sample_size

    assert effective_sample_size(np.ones(4)) == 4.0
    assert effective_sample_size(np.array([1.0, 0.0, 0.0])) == 1.0
    run, calls = pyabc.ABCSMC.run, []

    def failing_second(self, *a, **k):
        calls.append(1)
        if len(calls) > 1:
            raise ValueError("array must not contain infs or NaNs")
        return run(self, *a, **k)

    monkeypatch.setattr(pyabc.ABCSMC, "run", failing_second)
    out = tmp_path / "cal"
    res = invoke(["calibrate", "history_2022", "--particles", "3", "--populations", "3", "--scale", "2000",
                  "--days", "40", "--out", out, "--seed", "1"])
    assert res.exit_code == 1
    last = res.output.strip().splitlines()[-1]
    assert last.startswith("error: population 2 could not start") and "effective sample size" in last
    assert "--particles" in last, last
    man = json.loads((out / "manifest.json").read_text())
    assert man["populations"] == 1 and 1.0 <= man["effective_sample_size"] <= 3.0 and man["status"] == "failed"


def test_a_resume_must_keep_the_runs_settings(tmp_path):
    # a resume with another scale, number of days, particles, seed, target set, kernel or
    # --set would stack populations of different designs under one manifest: refused, the
    # folder untouched; asking for no more populations than it holds changes nothing
    out = tmp_path / "cal"
    tiny = ["calibrate", "history_2022", "--scale", "2000", "--days", "40", "--particles", "3", "--seed", "1",
            "--out", out]
    assert invoke([*tiny, "--populations", "1"]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for option, value in [("--scale", "3000"), ("--days", "30"), ("--particles", "4"), ("--seed", "2"),
                          ("--targets", "all"), ("--kernel", "silverman"), ("--set", "front.kia_rate=0.001"),
                          ("--epsilon-quantile", "0.7")]:
        changed = list(tiny)
        if option in changed:
            changed[changed.index(option) + 1] = value
        else:
            changed += [option, value]
        res = invoke([*changed, "--populations", "2", "--resume"])
        last = res.output.strip().splitlines()[-1]
        assert res.exit_code == 1 and last.startswith(f"error: {option}: the run in"), (option, res.output)
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before, option
    res = invoke([*tiny, "--populations", "1", "--resume"])
    assert res.exit_code == 0 and "nothing to do" in res.output, res.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_resume_takes_the_runs_own_settings_when_not_repeated(tmp_path):
    # `--resume` with only the folder and the number of populations continues with the
    # settings in the run's manifest (scale, days, particles, seed, distance, --set), not the
    # options' defaults, which the resume would refuse as different
    out = tmp_path / "cal"
    first = ["calibrate", "history_2022", "--scale", "2000", "--days", "40", "--particles", "3", "--seed", "1",
             "--distance", "scaled", "--set", "front.kia_rate=0.001", "--epsilon-quantile", "0.7", "--out", out,
             "--populations", "1"]
    assert invoke(first).exit_code == 0
    res = invoke(["calibrate", "history_2022", "--out", out, "--populations", "2", "--resume"])
    assert res.exit_code == 0 and "population 2/2:" in res.output, res.output
    man = json.loads((out / "manifest.json").read_text())
    assert (man["populations"], man["scale"], man["days"], man["particles"], man["seed"]) == (2, 2000, 40, 3, 1)
    assert man["distance_kind"] == "scaled" and man["base_overrides"] == ["front.kia_rate=0.001"]
    assert man["epsilon"]["alpha"] == 0.7
    # an option given explicitly must still match
    res = invoke(["calibrate", "history_2022", "--out", out, "--populations", "3", "--resume", "--scale", "20"])
    assert res.exit_code == 1 and res.output.strip().splitlines()[-1].startswith("error: --scale: the run in")


def test_scaled_max_distance_is_the_worst_series_in_units_of_its_baseline(tmp_path):
    # --distance scaled-max: each accepted particle's distance is its worst series' ARD over
    # that series' naive ARD; recorded in the manifest and checked against the stored distances
    import pyabc

    from sim.inference.targets import TargetSet

    out = tmp_path / "cal"
    res = invoke(["calibrate", "history_2022", "--particles", "3", "--populations", "1", "--scale", "2000",
                  "--days", "40", "--seed", "1", "--distance", "scaled-max", "--out", out])
    assert res.exit_code == 0, res.output
    man = json.loads((out / "manifest.json").read_text())
    assert man["distance_kind"] == "scaled-max" and "Chebyshev" in man["distance"]
    history = pyabc.History(f"sqlite:///{out / 'abc.db'}")
    sims = history.get_weighted_sum_stats_for_model(m=0, t=0)[1]
    dists = history.get_weighted_distances(t=0)["distance"].to_numpy(float)
    ts, _ = TargetSet.named("defection")
    scaled = ts.mapped().within(0, 40).scaled_by_naive()
    expected = sorted(scaled.distance(np.asarray(s["x"], float), "max") for s in sims)
    assert sorted(dists) == pytest.approx(expected)
