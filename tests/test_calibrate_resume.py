"""``asylumsim calibrate --resume`` against hostile or partial folders, and stop signals that
reach the CLI as another library's error (round 7's adversarial check)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from helpers_runner import invoke

TINY = ["--scale", "2000", "--days", "40", "--particles", "3", "--seed", "1"]


def _run(out: Path, *extra: str):
    return invoke(["calibrate", "history_2022", *TINY, "--out", out, *extra])


def _last(res) -> str:
    return res.output.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished one-population run (copied per test)."""
    out = tmp_path_factory.mktemp("cal") / "run"
    res = _run(out, "--populations", "1")
    assert res.exit_code == 0, res.output
    return out


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


@pytest.mark.parametrize(("content", "message"), [
    ("[1, 2, 3]", "not a calibration manifest (a JSON object expected)"),
    ("null", "not a calibration manifest (a JSON object expected)"),
    ("{not json", "cannot be read as a calibration manifest"),
    ('{"particles": "3"}', "particles must be a whole number from 2 to 100,000"),
    ('{"particles": 1000000000}', "particles must be a whole number from 2 to 100,000"),  # was accepted (hostile review)
    ('{"kernel": "gauss"}', "kernel must be one of beaumont, silverman"),
    ('{"distance_kind": "euclid"}', "distance_kind must be one of"),
    ('{"days": 0}', "days must be a whole number >= 1"),
    ('{"seed": -1}', "seed must be a whole number from 0"),
    ('{"workers": 0}', "workers must be a whole number >= 1"),
    ('{"epsilon": {"alpha": 0.5}, "status": "interrupted", "populations_requested": 0}',
     "populations_requested must be a whole number from 1 to 1,000"),
])
def test_a_bad_manifest_is_refused_in_one_line_naming_it_before_anything_runs(finished, tmp_path, content, message):
    out = _copy(finished, tmp_path / "run")
    (out / "manifest.json").write_text(content)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    res = invoke(["calibrate", "history_2022", "--out", out, "--populations", "2", "--resume"])
    assert res.exit_code == 1, res.output
    assert _last(res).startswith(f"error: {out / 'manifest.json'}: ") and message in _last(res), res.output
    assert "Traceback" not in res.output and "calibrating" not in res.output  # no header with the defaults
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_workers_are_at_most_four_per_cpu_and_a_stored_number_is_not_forked_as_written(monkeypatch):
    # a manifest edited to workers: 10**6 forked 2,730 processes and filled the memory (hostile review)
    from sim.inference.guards import worker_count

    monkeypatch.setattr("sim.runner.executors.available_cpus", lambda: 2)
    assert worker_count(None, 3) == (3, None) and worker_count(8, 1) == (8, None)
    n, note = worker_count(None, 10**6)
    assert n == 8 and note.startswith("note: the run's manifest says 1,000,000 workers; continuing with 8")
    with pytest.raises(ValueError, match="--workers 9: more than 8"):
        worker_count(9, 1)
    res = invoke(["calibrate", "history_2022", "--workers", "100000", "--out", "unused"])
    assert res.exit_code == 1 and "--workers 100000: more than" in res.output and not Path("unused").exists()


def test_a_bad_wall_time_in_the_manifest_is_refused_naming_it(finished, tmp_path):
    out = _copy(finished, tmp_path / "run")
    man = json.loads((out / "manifest.json").read_text())
    man["wall_time_s"] = None
    (out / "manifest.json").write_text(json.dumps(man))
    res = invoke(["calibrate", "history_2022", "--out", out, "--populations", "2", "--resume"])
    assert res.exit_code == 1 and "wall_time_s must be a number of seconds" in _last(res), res.output


def test_a_database_with_populations_but_no_manifest_is_not_continued(finished, tmp_path):
    # its settings cannot be checked, so any options would be stacked onto it unseen
    out = _copy(finished, tmp_path / "run")
    (out / "manifest.json").unlink()
    res = invoke(["calibrate", "history_2022", "--scale", "2000", "--days", "40", "--particles", "4", "--seed", "7",
                  "--out", out, "--populations", "2", "--resume"])
    assert res.exit_code == 1, res.output
    assert "manifest.json is missing: the settings of the 1 population(s)" in _last(res)
    assert not (out / "manifest.json").exists()


def test_an_interrupt_while_the_database_is_created_leaves_a_folder_that_can_be_started_again(tmp_path, monkeypatch):
    import pyabc

    new = pyabc.ABCSMC.new

    def interrupted_new(self, db, *a, **k):
        new(self, db, *a, **k)  # the file exists, then Ctrl-C arrives
        raise KeyboardInterrupt

    monkeypatch.setattr(pyabc.ABCSMC, "new", interrupted_new)
    out = tmp_path / "cal"
    res = _run(out, "--populations", "1")
    assert res.exit_code != 0
    assert not (out / "abc.db").exists()
    monkeypatch.setattr(pyabc.ABCSMC, "new", new)
    res = _run(out, "--populations", "1")
    assert res.exit_code == 0, res.output


def test_a_plain_resume_continues_to_the_populations_a_stopped_run_was_asked_for(finished, tmp_path):
    out = _copy(finished, tmp_path / "run")
    man = json.loads((out / "manifest.json").read_text())
    man["status"], man["populations_requested"] = "interrupted", 2
    (out / "manifest.json").write_text(json.dumps(man))
    res = invoke(["calibrate", "history_2022", "--out", out, "--resume"])
    assert res.exit_code == 0 and "population 2/2:" in res.output, res.output
    assert res.output.splitlines()[0].startswith("calibrating history_2022: 2 populations of 3 particles, scale 2000")
    man = json.loads((out / "manifest.json").read_text())
    assert (man["populations"], man["status"]) == (2, "complete")
    # a complete run: a plain resume has nothing to do
    res = invoke(["calibrate", "history_2022", "--out", out, "--resume"])
    assert res.exit_code == 0 and "nothing to do" in res.output, res.output


def test_a_resume_that_asks_for_no_more_populations_closes_a_stopped_run(finished, tmp_path):
    # a run stopped while asking for more populations than it holds: a resume asking for what it
    # holds has nothing to run, and the manifest then says complete (round 10's "found, not fixed")
    out = _copy(finished, tmp_path / "run")
    man = json.loads((out / "manifest.json").read_text())
    man["status"], man["populations_requested"] = "interrupted", 2
    (out / "manifest.json").write_text(json.dumps(man))
    post = (out / "posterior.parquet").read_bytes()
    res = invoke(["calibrate", "history_2022", "--out", out, "--populations", "1", "--resume"])
    assert res.exit_code == 0 and "nothing to do" in res.output and "now says complete" in res.output, res.output
    after = json.loads((out / "manifest.json").read_text())
    assert (after["status"], after["populations_requested"]) == ("complete", 1)
    assert {k: v for k, v in after.items() if k not in ("status", "populations_requested")} == \
        {k: v for k, v in man.items() if k not in ("status", "populations_requested")}  # commit, timings kept
    assert (out / "posterior.parquet").read_bytes() == post
    # a complete run is left as it is
    res = invoke(["calibrate", "history_2022", "--out", out, "--populations", "1", "--resume"])
    assert res.exit_code == 0 and "now says complete" not in res.output, res.output


@pytest.mark.parametrize(("status", "populations"), [("running", 1), ("interrupted", 0)])
def test_a_resume_with_nothing_to_do_leaves_a_run_that_may_be_going_or_is_behind_its_database(finished, tmp_path,
                                                                                              status, populations):
    # "running" may be a run still going (no lock tells); a manifest recording fewer populations than
    # the database holds has an out-of-date posterior: neither is closed
    out = _copy(finished, tmp_path / "run")
    man = json.loads((out / "manifest.json").read_text())
    man["status"], man["populations_requested"], man["populations"] = status, 2, populations
    (out / "manifest.json").write_text(json.dumps(man))
    res = invoke(["calibrate", "history_2022", "--out", out, "--populations", "1", "--resume"])
    assert res.exit_code == 0 and "nothing to do" in res.output and "now says complete" not in res.output, res.output
    assert json.loads((out / "manifest.json").read_text()) == man


def test_a_resume_without_workers_uses_the_runs_and_an_explicit_number_wins(finished, tmp_path):
    # workers are not a setting of the run (a resume may change them), but one left out
    # takes the run's number, not 1: a long run resumed by `--out DIR --resume` is not halved
    out = _copy(finished, tmp_path / "run")
    man = json.loads((out / "manifest.json").read_text())
    man["workers"] = 2
    (out / "manifest.json").write_text(json.dumps(man))
    res = invoke(["calibrate", "history_2022", "--out", out, "--populations", "2", "--resume"])
    assert res.exit_code == 0 and res.output.splitlines()[0].endswith(f"2 worker(s), into {out}"), res.output
    res = invoke(["calibrate", "history_2022", "--out", out, "--populations", "3", "--workers", "1", "--resume"])
    assert res.exit_code == 0 and res.output.splitlines()[0].endswith(f"1 worker(s), into {out}"), res.output


def test_a_manifest_without_kernel_or_distance_resumes_with_the_old_defaults(finished, tmp_path):
    # manifests written before the kernel and distance were recorded used pyabc's kernel and the ARD
    out = _copy(finished, tmp_path / "run")
    man = json.loads((out / "manifest.json").read_text())
    del man["kernel"], man["distance_kind"]
    (out / "manifest.json").write_text(json.dumps(man))
    res = invoke(["calibrate", "history_2022", "--out", out, "--populations", "2", "--resume"])
    assert res.exit_code == 0 and "population 2/2:" in res.output, res.output
    assert json.loads((out / "manifest.json").read_text())["kernel"] == "silverman"


def test_a_stop_signal_that_surfaces_as_another_error_is_still_an_interruption(finished, tmp_path, monkeypatch):
    # pyabc's database session can raise its own exception over the RunInterrupted of the
    # stop handler: the CLI still says "interrupted" in one line, exits 128 + signal, and
    # marks the manifest; an interrupted resume of a complete run is marked too
    import sim.inference.abc as A

    out = _copy(finished, tmp_path / "run")

    def fake(*a, **k):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        except KeyboardInterrupt as exc:
            raise RuntimeError("PendingRollbackError: the session's transaction was rolled back") from exc
        raise AssertionError("the stop handler did not raise")

    monkeypatch.setattr(A, "calibrate", fake)
    res = invoke(["calibrate", "history_2022", "--out", out, "--populations", "3", "--resume"])
    assert res.exit_code == 128 + signal.SIGTERM, res.output
    assert _last(res).startswith(f"interrupted (SIGTERM): {out} keeps the 1 finished population(s)"), res.output
    assert "Traceback" not in res.output
    man = json.loads((out / "manifest.json").read_text())
    assert (man["status"], man["populations_requested"]) == ("interrupted", 3)


def test_a_resume_accepts_the_same_set_written_differently_and_options_in_any_case(tmp_path):
    # --set values compare as parsed values (1.50 is 1.5), not as text; --distance and
    # --kernel are case-insensitive
    out = tmp_path / "run"
    res = _run(out, "--populations", "1", "--set", "front.wia_return_share=0.50", "--distance", "Scaled",
               "--kernel", "BEAUMONT")
    assert res.exit_code == 0, res.output
    man = json.loads((out / "manifest.json").read_text())
    assert (man["distance_kind"], man["kernel"]) == ("scaled", "beaumont")
    res = invoke(["calibrate", "history_2022", "--out", out, "--populations", "2", "--resume", "--distance", "SCALED",
                  "--set", "front.wia_return_share=0.5"])
    assert res.exit_code == 0 and "population 2/2:" in res.output, res.output
    res = invoke(["calibrate", "history_2022", "--out", out, "--populations", "3", "--resume",
                  "--set", "front.wia_return_share=0.6"])
    assert res.exit_code == 1 and _last(res).startswith("error: --set: the run in"), res.output


def test_same_overrides_compares_parsed_values_and_the_last_patch_of_a_key_wins():
    from sim.inference.guards import _same_overrides

    assert _same_overrides(["a.b=1.50", "c=x"], ["c=x", "a.b=1.5"])
    assert _same_overrides(["a=1", "a=2"], ["a=2"])
    assert not _same_overrides(["a=1"], ["a=2"])
    assert not _same_overrides(["a=1"], ["a=1", "b=1"])
    assert not _same_overrides(["no equals sign"], ["no equals sign"])  # unparseable: compared as different
    assert not _same_overrides(None, ["a=1"])


@pytest.mark.parametrize("resume", [False, True])
def test_a_second_calibration_on_a_folder_in_use_is_refused_in_one_line(finished, tmp_path, resume):
    # the folder's lock (as a results folder's): two calibrations never write one database
    from sim.runner.claim import folder_lock

    out = _copy(finished, tmp_path / "run") if resume else tmp_path / "new"
    out.mkdir(exist_ok=True)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with folder_lock(out):
        res = (invoke(["calibrate", "history_2022", "--out", out, "--populations", "2", "--resume"]) if resume
               else _run(out, "--populations", "1"))
    assert res.exit_code == 1, res.output
    assert _last(res) == f"error: results folder {out} is in use by another asylumsim process", res.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
