"""``asylumsim calibrate`` against a hostile tester (round 12): an edited scenario file on
``--resume``, priors on run settings, an unexpected failure inside a calibration, and a
folder that stops being writable part-way."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from helpers_runner import invoke

from sim.inference import abc as A
from sim.inference.posterior import scenario_digest
from sim.inference.priors import Prior, read_priors

TINY = ["--scale", "2000", "--days", "40", "--particles", "3", "--seed", "1"]


def _last(res) -> str:
    return res.output.strip().splitlines()[-1]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished one-population run of history_2022 (copied per test)."""
    out = tmp_path_factory.mktemp("cal") / "run"
    res = invoke(["calibrate", "history_2022", *TINY, "--out", out, "--populations", "1"])
    assert res.exit_code == 0, res.output
    return out


# -- 1. a resume runs the scenario its populations ran ---------------------------------------


def test_a_resume_of_an_edited_scenario_file_is_refused_and_the_same_file_resumes(tmp_path):
    res = invoke(["show", "history_2022"])
    assert res.exit_code == 0
    scenario = tmp_path / "hist_copy.yaml"
    text = res.output.replace('name: "history_2022"', 'name: "hist_copy"', 1)
    assert "report_rate: 0.5" in text
    scenario.write_text(text)
    out = tmp_path / "K2"
    res = invoke(["calibrate", scenario, *TINY, "--out", out, "--populations", "1"])
    assert res.exit_code == 0, res.output
    assert len(json.loads((out / "manifest.json").read_text())["scenario_sha256"]) == 64

    scenario.write_text(text.replace("report_rate: 0.5", "report_rate: 0.2", 1))
    before = _files(out)
    res = invoke(["calibrate", scenario, "--resume", "--out", out, "--populations", "2"])
    assert res.exit_code == 1, res.output
    line = _last(res)
    assert line.startswith(f"error: {out / 'manifest.json'}: scenario_sha256: scenario {scenario} changed"), line
    assert "calibrate into a new --out" in line and "Traceback" not in res.output
    assert "calibrating" not in res.output and _files(out) == before  # nothing ran, nothing written

    scenario.write_text(text)  # the scenario as the run had it: the resume goes on
    res = invoke(["calibrate", scenario, "--resume", "--out", out, "--populations", "2"])
    assert res.exit_code == 0 and "population 2/2:" in res.output, res.output


def test_the_scenario_digest_ignores_what_the_calibration_replaces_and_sees_the_rest():
    from sim.config.loader import load_scenario

    def digest(*sets: str) -> str:
        return scenario_digest(load_scenario("history_2022", list(sets)), A.DEFAULT_PRIORS)

    base = digest()
    assert digest("run.replications=3") == base  # not used by a calibration
    assert digest("description=another text") == base  # a label
    assert digest("front.awol_rate=0.002") == base  # a calibrated parameter: every particle sets it
    assert digest("offers.ukraine_amnesty.publicity=0.1") == base  # ... also in a named list
    assert digest("mobilization.report_rate=0.2") != base
    assert digest("population.scale=50") != base


def test_a_run_whose_manifest_predates_the_digest_is_not_continued(finished, tmp_path):
    # nothing shows which scenario its populations ran: refused, not trusted blindly
    out = _copy(finished, tmp_path / "run")
    man = json.loads((out / "manifest.json").read_text())
    del man["scenario_sha256"]
    (out / "manifest.json").write_text(json.dumps(man))
    before = _files(out)
    res = invoke(["calibrate", "history_2022", "--out", out, "--populations", "2", "--resume"])
    assert res.exit_code == 1, res.output
    assert _last(res).startswith(f"error: {out / 'manifest.json'}: scenario_sha256: not recorded"), res.output
    assert "new --out" in _last(res) and _files(out) == before


# -- 2. priors on run settings ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["run.days", "run.seed", "run.start_day", "run.replications", "population.scale",
                                  "uncertainty.posterior"])
def test_a_prior_on_a_run_setting_is_refused_in_one_line_before_any_folder_is_made(tmp_path, path):
    priors = tmp_path / "p.yaml"
    priors.write_text(f"priors: [{{path: {path}, distribution: uniform, low: 10, high: 20, integer: true}}]\n")
    out = tmp_path / "K"
    res = invoke(["calibrate", "history_2022", *TINY, "--priors", priors, "--out", out, "--populations", "1"])
    assert res.exit_code == 1, res.output
    assert res.output.strip().count("\n") == 0, res.output  # one line, no header
    assert _last(res).startswith(f"error: {priors}: priors[0].path: {path} is a run setting, not a model "
                                 "parameter"), res.output
    assert not out.exists()
    with pytest.raises(ValueError, match="is a run setting"):
        read_priors(priors)
    with pytest.raises(ValueError, match="is a run setting"):
        Prior(path, "uniform", 10, 20)  # the API refuses it too (and so a manifest holding one)


def test_a_prior_on_a_parameter_that_starts_like_a_run_setting_is_accepted():
    assert Prior("population.scale_factor", "uniform", 0, 1).path == "population.scale_factor"
    assert Prior("front.run", "uniform", 0, 1).path == "front.run"


@pytest.mark.parametrize(("key", "option"), [("population.scale", "--scale"), ("run.seed", "--seed")])
def test_a_set_of_what_an_option_sets_is_refused(tmp_path, key, option):
    # population.scale replaced the scale reported; run.seed was silently ignored
    out = tmp_path / "K"
    res = invoke(["calibrate", "history_2022", *TINY, "--set", f"{key}=50", "--out", out])
    assert res.exit_code == 1 and _last(res) == f"error: --set {key}: the calibration sets it with {option}", res.output
    assert not out.exists()


def test_an_unexpected_failure_in_the_first_population_leaves_no_folder_that_blocks_a_rerun(tmp_path, monkeypatch):
    from sim.inference.targets import TargetSet

    def broken(self, table, scenario):
        raise KeyError(29)  # what a prior on run.days raised in targets.py

    monkeypatch.setattr(TargetSet, "model_values", broken)
    out = tmp_path / "K"
    command = ["calibrate", "history_2022", *TINY, "--out", out, "--populations", "1"]
    res = invoke(command)
    assert res.exit_code == 1, res.output
    line = _last(res)
    assert line.startswith("error: the calibration failed (KeyError: 29) before its first population"), line
    assert "the same command starts it again" in line and "Traceback" not in res.output
    assert not (out / "abc.db").exists()
    monkeypatch.undo()
    res = invoke(command)
    assert res.exit_code == 0 and "population 1/1:" in res.output, res.output


def test_an_unexpected_failure_after_a_population_says_how_to_resume_or_start_again(finished, tmp_path, monkeypatch):
    from sim.inference.targets import TargetSet

    out = _copy(finished, tmp_path / "run")

    def broken(self, table, scenario):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(TargetSet, "model_values", broken)
    res = invoke(["calibrate", "history_2022", "--out", out, "--populations", "3", "--resume"])
    assert res.exit_code == 1, res.output
    line = _last(res)
    assert line.startswith("error: the calibration failed (RuntimeError: boom); "
                           f"{out} keeps the 1 finished population(s)"), line
    assert f"calibrate history_2022 --out {out} --resume, or remove {out} to start again" in line
    assert "Traceback" not in res.output
    man = json.loads((out / "manifest.json").read_text())
    assert (man["status"], man["error"], man["populations_requested"]) == ("failed", "RuntimeError: boom", 3)
    monkeypatch.undo()
    res = invoke(["calibrate", "history_2022", "--out", out, "--populations", "2", "--resume"])
    assert res.exit_code == 0 and "population 2/2:" in res.output, res.output
    man = json.loads((out / "manifest.json").read_text())
    assert man["status"] == "complete" and "error" not in man


# -- 3. a folder that cannot be written part-way ---------------------------------------------


def test_a_database_that_cannot_be_written_stops_in_one_line_with_the_resume_command(finished, tmp_path, monkeypatch):
    import pyabc
    import sqlalchemy.exc

    out = _copy(finished, tmp_path / "run")

    def unwritable(self, *a, **k):
        raise sqlalchemy.exc.OperationalError("INSERT INTO populations", {},
                                              sqlite3.OperationalError("unable to open database file"))

    monkeypatch.setattr(pyabc.storage.History, "append_population", unwritable)
    res = invoke(["calibrate", "history_2022", "--out", out, "--populations", "3", "--resume"])
    assert res.exit_code == 1, res.output
    line = _last(res)
    assert line.startswith(f"error: {out}: stopped by an operating-system or database error (unable to open "
                           f"database file); {out} keeps the 1 finished population(s)"), line
    assert line.endswith(f"fix the cause and continue with: asylumsim calibrate history_2022 --out {out} --resume")
    assert "Traceback" not in res.output
    man = json.loads((out / "manifest.json").read_text())
    assert (man["status"], man["error"], man["populations_requested"]) == \
        ("interrupted", "unable to open database file", 3)
    monkeypatch.undo()
    res = invoke(["calibrate", "history_2022", "--out", out, "--resume"])  # to the 3 it was asked for
    assert res.exit_code == 0 and "population 3/3:" in res.output, res.output


def test_a_damaged_database_is_refused_in_one_line_on_resume(finished, tmp_path):
    out = _copy(finished, tmp_path / "run")
    (out / "abc.db").write_bytes(b"not a database at all" * 100)
    res = invoke(["calibrate", "history_2022", "--out", out, "--populations", "2", "--resume"])
    assert res.exit_code == 1, res.output
    assert _last(res) == (f"error: {out / 'abc.db'}: cannot be opened or written as a calibration database "
                          "(file is not a database)"), res.output


@contextlib.contextmanager
def _read_only_after_first_population(monkeypatch):
    """Make the run's folder read-only once population 1 is written (``chattr +i`` as root,
    whom file modes do not stop; ``chmod`` otherwise); undone at the end."""
    done: list[Path] = []
    write = A.write_outputs

    def lock(folder: Path) -> None:
        if os.geteuid() == 0:
            r = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
            if r.returncode != 0:
                pytest.skip("chattr +i is not available here")
        else:
            folder.chmod(0o555)
        done.append(folder)

    def write_then_lock(out_dir, history, meta, wall):
        path = write(out_dir, history, meta, wall)
        if not done:
            lock(Path(out_dir))
        return path

    monkeypatch.setattr(A, "write_outputs", write_then_lock)
    try:
        yield
    finally:
        for folder in done:
            if os.geteuid() == 0:
                subprocess.run(["chattr", "-i", str(folder)], check=False)
            else:
                folder.chmod(0o755)


@pytest.mark.skipif(shutil.which("chattr") is None and os.geteuid() == 0, reason="needs chattr as root")
def test_a_folder_made_read_only_mid_run_stops_in_one_line_and_resumes_once_writable(tmp_path, monkeypatch):
    out = tmp_path / "K3"
    with _read_only_after_first_population(monkeypatch):
        res = invoke(["calibrate", "history_2022", *TINY, "--out", out, "--populations", "3"])
        assert res.exit_code == 1, res.output
        assert "population 1/3:" in res.output and "Traceback" not in res.output, res.output
        line = _last(res)
        assert line.startswith(f"error: {out}: stopped by an operating-system or database error ("), line
        assert line.endswith(f"fix the cause and continue with: asylumsim calibrate history_2022 --out {out} --resume")
    res = invoke(["calibrate", "history_2022", "--out", out, "--resume"])
    assert res.exit_code == 0 and "population 3/3:" in res.output, res.output


def test_the_scenario_file_is_read_once_so_an_edit_during_a_calibration_changes_nothing(tmp_path):
    # every particle re-read the file: an edit during a session mixed two models in one population
    from sim.inference.abc import DEFAULT_PRIORS, ScenarioSimulator
    from sim.inference.targets import TargetSet

    f = tmp_path / "hist.yaml"
    f.write_text("name: hist\ndescription: x\nextends: history_2022\nmobilization:\n  report_rate: 0.5\n")
    sim = ScenarioSimulator(str(f), list(DEFAULT_PRIORS), TargetSet.named("defection")[0], scale=2000, days=30)
    first = sim.scenario()
    f.write_text("name: hist\ndescription: x\nextends: history_2022\nmobilization:\n  report_rate: 0.2\n")
    p = DEFAULT_PRIORS[0]
    again = sim.scenario({p.path: p.low})
    assert first.mobilization.report_rate == again.mobilization.report_rate == 0.5
    import pickle

    assert pickle.loads(pickle.dumps(sim)).scenario().mobilization.report_rate == 0.5  # a pickled worker's copy


def test_a_prior_on_a_whole_number_parameter_without_integer_is_refused_before_any_folder(tmp_path):
    # it failed on the first particle and left the folder behind
    priors = tmp_path / "p.yaml"
    priors.write_text("priors:\n  - {path: population.draft_pool, distribution: uniform, low: 20000000, high: 30000000,"
                      " source: assumption}\n")
    out = tmp_path / "K"
    res = invoke(["calibrate", "history_2022", *TINY, "--priors", priors, "--out", out])
    assert res.exit_code == 1 and _last(res).endswith("a whole-number parameter needs integer: true"), res.output
    assert not out.exists()


def test_a_scenario_that_cannot_be_read_is_not_blamed_on_the_priors(tmp_path):
    res = invoke(["calibrate", str(tmp_path / "missing.yaml"), *TINY, "--out", tmp_path / "K"])
    lines = res.stderr.strip().splitlines()
    assert res.exit_code == 1 and len(lines) == 1 and "prior" not in lines[0] and "not found" in lines[0], res.stderr
