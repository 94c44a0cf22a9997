"""The scenario runner: seeds, executors, results folders, failure, kill-and-resume."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_runner import (
    FAILING,
    FAKE,
    REAL_SMALL,
    REVERSE,
    SLOW,
    TESTS_DIR,
    cli_env,
    invoke,
)
from helpers_runner import ok as _ok
from helpers_runner import one_line_error as _one_line_error

from sim.config import Scenario, load_scenario
from sim.errors import ResourceError, ResultsError
from sim.runner import storage
from sim.runner.executors import InlineExecutor
from sim.runner.jobs import run_jobs
from sim.runner.seeds import replication_seeds
from sim.runner.spec import EnsembleSpec, check_memory

ASYLUMSIM = str(Path(sys.executable).with_name("asylumsim"))


def _table(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "timeseries.parquet")


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


# --------------------------------------------------------------------------------------
# seeds and ordering


def test_replication_seeds_are_spawned_from_one_root():
    ours = [s.sequence() for s in replication_seeds(7, 5)]
    numpy_children = np.random.SeedSequence(7).spawn(5)
    for a, b in zip(ours, numpy_children, strict=True):
        assert a.spawn_key == b.spawn_key
        assert (a.generate_state(8) == b.generate_state(8)).all()
    # Replication i's seed does not depend on the ensemble size (growing/resuming keeps it).
    assert replication_seeds(7, 3)[2] == replication_seeds(7, 9)[2]


def test_results_come_back_in_job_order_whatever_the_completion_order():
    s = load_scenario("baseline", ["run.days=5"])
    spec = EnsembleSpec(kind="run", scenarios=[s], replications=5, root_seed=1, days=5, model=REVERSE)
    finished: list[int] = []
    with ThreadPoolExecutor(max_workers=5) as ex:
        results = run_jobs(spec.jobs(), ex, lambda r: finished.append(r.replication))
    assert [r.replication for r in results] == [0, 1, 2, 3, 4]
    assert sorted(finished) == [0, 1, 2, 3, 4]
    assert all(r.status == "ok" and r.table is not None for r in results)


def test_inline_executor_delivers_exceptions_through_the_future():
    fut = InlineExecutor().submit(lambda: 1 / 0)
    assert isinstance(fut.exception(), ZeroDivisionError)


# --------------------------------------------------------------------------------------
# determinism across executors (real model)


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory):
    """The same small real-model ensemble run inline, on 1 worker and on 2 workers."""
    base = tmp_path_factory.mktemp("real")
    out = {}
    for label, opts in {"inline": ["--executor", "inline"],
                        "w1": ["--executor", "process", "--workers", "1"],
                        "w2": ["--executor", "process", "--workers", "2"]}.items():
        r = invoke(["run", "baseline", *REAL_SMALL, "-n", "3", "--seed", "11", "--no-plots", *opts, "--out", base / label])
        _ok(r)
        out[label] = base / label
    return out


def test_same_seed_same_table_inline_and_any_number_of_workers(real_runs):
    ref = (real_runs["inline"] / "timeseries.parquet").read_bytes()
    for label in ("w1", "w2"):
        assert (real_runs[label] / "timeseries.parquet").read_bytes() == ref, label
    t = _table(real_runs["inline"])
    assert list(t.columns[:3]) == ["scenario", "replication", "day"]
    assert t["replication"].tolist() == sorted(t["replication"].tolist())
    assert set(t["replication"]) == {0, 1, 2}
    assert t.groupby("replication")["day"].agg(["min", "max"]).values.tolist() == [[0, 30]] * 3
    # Different replications really are different draws.
    f = t.pivot(index="day", columns="replication", values="fled_cum")
    assert not f[0].equals(f[1])


def test_different_root_seed_changes_the_table(real_runs, tmp_path):
    r = invoke(["run", "baseline", *REAL_SMALL, "-n", "3", "--seed", "12", "--no-plots", "--executor", "inline", "--out", tmp_path / "o"])
    _ok(r)
    assert not _table(tmp_path / "o").equals(_table(real_runs["inline"]))


def test_dask_cluster_gives_the_same_table_as_the_process_pool(real_runs, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        r = invoke(["run", "baseline", *REAL_SMALL, "-n", "3", "--seed", "11", "--no-plots",
                    "--executor", "dask", "--scheduler", cluster.scheduler_address, "--out", tmp_path / "dask"])
    _ok(r)
    assert (tmp_path / "dask" / "timeseries.parquet").read_bytes() == (real_runs["w2"] / "timeseries.parquet").read_bytes()
    session = _manifest(tmp_path / "dask")["sessions"][0]
    assert session["executor"] == "dask" and session["scheduler"] == cluster.scheduler_address


def test_manifest_records_tool_versions_seeds_timings_and_status(real_runs):
    m = _manifest(real_runs["w2"])
    assert m["tool"] == "asylumsim" and m["format_version"] == storage.FORMAT_VERSION
    assert m["kind"] == "run" and m["status"] == "complete"
    assert {"python", "numpy", "pandas", "mesa", "asylumsim"} <= set(m["versions"])
    assert isinstance(m["command_line"], list) and m["command_line"]
    assert m["root_seed"] == 11 and m["replications"] == 3 and m["days"] == 30
    assert [r["seed"] for r in m["runs"]] == [{"entropy": 11, "spawn_key": [i]} for i in range(3)]
    assert all(r["status"] == "ok" and r["error"] is None and r["seconds"] >= 0 for r in m["runs"])
    assert m["sessions"][0]["workers"] == 2 and "wall_seconds_total" in m["timings"]
    cfg = m["scenarios"][0]["config"]
    assert cfg["population"]["scale"] == 1000 and cfg["run"]["days"] == 30 and cfg["run"]["seed"] == 11
    # config.yaml is the fully resolved scenario and loads back to the same thing.
    again = load_scenario(real_runs["w2"] / "config.yaml")
    assert again.model_dump(mode="json") == Scenario.model_validate(cfg).model_dump(mode="json")
    summary = pd.read_csv(real_runs["w2"] / "summary.csv")
    assert list(summary.columns) == ["scenario", "metric", "day", "n", "mean", "median", "p05", "p95"]
    assert set(summary["day"]) == {30} and (summary["n"] == 3).all()


def test_resume_of_a_real_run_with_lost_replications_gives_the_same_table(real_runs, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(real_runs["w1"], folder)
    (folder / "replications" / "baseline" / "rep-000001.parquet").unlink()
    (folder / "timeseries.parquet").unlink()
    r = invoke(["run", "baseline", *REAL_SMALL, "-n", "3", "--seed", "11", "--no-plots", "--executor", "inline",
                "--out", folder, "--resume"])
    _ok(r)
    assert (folder / "timeseries.parquet").read_bytes() == (real_runs["w1"] / "timeseries.parquet").read_bytes()
    assert _manifest(folder)["sessions"][-1]["to_run"] == 1


# --------------------------------------------------------------------------------------
# failures


def test_a_failing_replication_is_recorded_and_the_others_finish(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(TESTS_DIR))
    out = tmp_path / "f"
    r = invoke(["run", "baseline", "--days", "20", "-n", "5", "--model", FAILING, "--workers", "2", "--no-plots", "--out", out])
    assert r.exit_code == 1
    assert "1 of 5 replications failed" in r.stderr and "boom in replication 2" in r.stderr
    m = _manifest(out)
    assert m["status"] == "failed"
    bad = [e for e in m["runs"] if e["status"] == "failed"]
    assert len(bad) == 1 and bad[0]["replication"] == 2
    assert "RuntimeError: boom in replication 2" in bad[0]["error"]
    assert bad[0]["seed"] == {"entropy": m["root_seed"], "spawn_key": [2]}
    assert "Traceback" in bad[0]["traceback"]
    assert sorted(_table(out)["replication"].unique()) == [0, 1, 3, 4]
    assert not (out / bad[0]["file"]).exists()


def test_model_table_without_day_column_is_a_failed_replication(tmp_path):
    s = load_scenario("baseline", ["run.days=3"])
    spec = EnsembleSpec(kind="run", scenarios=[s], replications=1, root_seed=1, model="pandas:DataFrame")
    [res] = run_jobs(spec.jobs(), InlineExecutor())
    assert res.status == "failed" and res.error


def test_memory_guard_refuses_up_front(monkeypatch):
    import psutil

    s = load_scenario("baseline", ["population.scale=1"])
    spec = EnsembleSpec(kind="run", scenarios=[s], replications=4, root_seed=1)

    class Tiny:
        available = 64 * 2**20

    monkeypatch.setattr(psutil, "virtual_memory", lambda: Tiny())
    with pytest.raises(ResourceError, match="GiB"):
        check_memory(spec, concurrent=4)


# --------------------------------------------------------------------------------------
# kill and resume


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"run ended early: {proc.stderr.read().decode() if proc.stderr else ''}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.05)


def test_resume_after_a_killed_run_runs_only_the_missing_replications(tmp_path):
    gate = tmp_path / "gate"
    env = cli_env(SLOW_REPLICATION_GATE=str(gate), SLOW_REPLICATION_S="0.2")
    cmd = [ASYLUMSIM, "run", "baseline", "--days", "25", "-n", "6", "--model", SLOW, "--workers", "1", "--no-plots"]
    killed = tmp_path / "killed"
    proc = subprocess.Popen([*cmd, "--out", str(killed)], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # Replications 0 and 1 run freely; 2.. wait for the gate, so the kill lands mid-run.
        _wait_for(killed / "replications" / "baseline" / "rep-000001.parquet", proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its worker processes
        proc.wait()
    files = sorted(p.name for p in (killed / "replications" / "baseline").iterdir())
    assert files == ["rep-000000.parquet", "rep-000001.parquet"]  # complete files, no temporaries
    assert not (killed / "timeseries.parquet").exists()
    for f in files:
        pd.read_parquet(killed / "replications" / "baseline" / f)

    gate.touch()
    again = subprocess.run([*cmd, "--out", str(killed), "--resume"], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    m = _manifest(killed)
    assert m["status"] == "complete"
    assert m["sessions"][-1]["to_run"] == 4 and m["sessions"][-1]["already_done"] == 2
    assert len(m["sessions"]) == 2

    # The uninterrupted reference runs the same function in this process (same seeds).
    whole = tmp_path / "whole"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SLOW_REPLICATION_S", "0")
        _ok(invoke([*cmd[1:], "--executor", "inline", "--out", whole]))
    assert (killed / "timeseries.parquet").read_bytes() == (whole / "timeseries.parquet").read_bytes()


def test_resume_can_grow_an_ensemble_without_touching_existing_replications(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    common = ["run", "baseline", "--days", "10", "--model", FAKE, "--executor", "inline", "--no-plots"]
    _ok(invoke([*common, "-n", "2", "--out", a]))
    first = (a / "replications" / "baseline" / "rep-000000.parquet").stat().st_mtime_ns
    _ok(invoke([*common, "-n", "4", "--out", a, "--resume"]))
    assert (a / "replications" / "baseline" / "rep-000000.parquet").stat().st_mtime_ns == first
    _ok(invoke([*common, "-n", "4", "--out", b]))
    pd.testing.assert_frame_equal(_table(a), _table(b))
    assert _manifest(a)["replications"] == 4


def test_resume_without_scenario_continues_the_stored_configuration(tmp_path):
    a = tmp_path / "a"
    _ok(invoke(["run", "baseline", "--days", "10", "-n", "2", "--model", FAKE, "--executor", "inline", "--no-plots", "--out", a]))
    (a / "replications" / "baseline" / "rep-000001.parquet").unlink()
    r = invoke(["run", "--resume", "--out", a, "--executor", "inline", "--no-plots", "--model", FAKE])
    _ok(r)
    assert _manifest(a)["sessions"][-1]["to_run"] == 1
    assert "1 already done" in r.stdout


def test_resume_refuses_a_changed_configuration(tmp_path):
    a = tmp_path / "a"
    common = ["run", "baseline", "-n", "2", "--model", FAKE, "--executor", "inline", "--no-plots", "--out", a]
    _ok(invoke([*common, "--days", "10"]))
    _one_line_error(invoke([*common, "--days", "11", "--resume"]), "--resume", "11")
    _one_line_error(invoke([*common, "--days", "10", "--set", "front.kia_rate=0.001", "--resume"]), "front.kia_rate")
    _one_line_error(invoke([*common, "--days", "10", "-n", "1", "--resume"]), "cannot shrink")
    _one_line_error(invoke(["compare", "--resume", "--out", a]), "asylumsim run --resume")


# --------------------------------------------------------------------------------------
# refusing the wrong folder


def test_existing_folder_is_never_overwritten_without_resume(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    r = invoke(["run", "baseline", "--days", "5", "-n", "1", "--model", FAKE, "--executor", "inline", "--out", out])
    _one_line_error(r, str(out), "already exists", "--resume")
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_finished_results_folder_is_not_rerun_into_without_resume(tmp_path):
    out = tmp_path / "done"
    args = ["run", "baseline", "--days", "5", "-n", "1", "--model", FAKE, "--executor", "inline", "--no-plots", "--out", out]
    _ok(invoke(args))
    before = (out / "timeseries.parquet").read_bytes()
    _one_line_error(invoke(args), "already exists")
    assert (out / "timeseries.parquet").read_bytes() == before


@pytest.mark.parametrize("content, message", [
    (None, "not an asylumsim results folder (no manifest.json)"),
    ('{"tool": "other-tool", "format_version": 1}', "written by another tool"),
    ('{"tool": "asylumsim", "format_vers', "corrupt"),
    ('{"tool": "asylumsim", "format_version": 1}', "corrupt"),
])
def test_foreign_or_corrupt_folder_is_refused_by_plot_and_resume(tmp_path, content, message):
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "data.csv").write_text("a,b\n1,2\n")
    if content is not None:
        (folder / "manifest.json").write_text(content)
    snapshot = {p.name: p.read_bytes() for p in folder.iterdir()}
    _one_line_error(invoke(["plot", folder]), message)
    _one_line_error(invoke(["run", "baseline", "--model", FAKE, "--executor", "inline", "--out", folder, "--resume"]), message)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == snapshot


def test_unwritable_out_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    r = invoke(["run", "baseline", "--days", "5", "-n", "1", "--model", FAKE, "--executor", "inline", "--out", blocker / "sub"])
    _one_line_error(r, "cannot write results folder", str(blocker / "sub"))


def test_read_manifest_rejects_newer_format(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"tool": "asylumsim", "format_version": 99}))
    with pytest.raises(ResultsError, match="newer asylumsim"):
        storage.read_manifest(tmp_path)


def test_atomic_write_leaves_old_file_when_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "t.bin"
    storage.atomic_write_bytes(target, b"old")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(ResultsError, match="No space left"):
        storage.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.bin"]


def test_shorthands_scale_and_days_are_overrides(tmp_path):
    out = tmp_path / "s"
    _ok(invoke(["run", "baseline", "--scale", "300", "--days", "7", "-n", "1", "--model", FAKE,
                "--executor", "inline", "--no-plots", "--out", out]))
    cfg = _manifest(out)["scenarios"][0]["config"]
    assert cfg["population"]["scale"] == 300 and cfg["run"]["days"] == 7
    assert _table(out)["day"].max() == 7


def test_hints_name_the_command_as_the_user_can_run_it(tmp_path, monkeypatch):
    # the README installs into .venv without putting it on PATH: a hint says .venv/bin/asylumsim
    from sim.errors import command

    out = tmp_path / "c"
    _ok(invoke(["compare", "baseline", "no_offers", "--days", "5", "-n", "1", "--model", FAKE,
                "--executor", "inline", "--no-plots", "--out", out]))
    (out / "timeseries.parquet").unlink()
    bin_dir = str(Path(ASYLUMSIM).parent)
    without = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p).resolve() != Path(bin_dir).resolve())
    for path, expected in ((without, f"finish it with: {ASYLUMSIM} compare --resume"),
                           (os.pathsep.join([bin_dir, without]), "finish it with: asylumsim compare --resume")):
        r = subprocess.run([ASYLUMSIM, "plot", str(out)], capture_output=True, text=True, env=cli_env(PATH=path))
        assert r.returncode == 1 and expected in r.stderr, r.stderr
    monkeypatch.setattr(sys, "argv", ["/usr/bin/python3", "-m", "sim.cli"])
    assert command() == "asylumsim"  # not started as the command: its name
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "my venv" / "asylumsim")])
    assert command() == f"'{tmp_path / 'my venv' / 'asylumsim'}'"  # quoted for the shell


# --------------------------------------------------------------------------------------
# replication folder names (slugs): distinct, and each a valid slug however long the names

def _assert_usable_slugs(names: list[str]) -> list[str]:
    slugs = storage.unique_slugs(names)
    # distinct ignoring case: a case-insensitive file system (macOS, Windows) takes Caplan and caplan for one folder
    assert len(slugs) == len(names) and len({s.casefold() for s in slugs}) == len(slugs), slugs
    for s in slugs:
        assert storage.slugify(s) == s and len(s) <= 64, s
        assert storage.replication_file(s, 0).startswith(f"{storage.REPLICATIONS_DIR}/{s}/")
    return slugs


@pytest.mark.parametrize("names", [
    ["x" * 70 + "_alpha", "x" * 70 + "_omega"],  # the same first 64 characters
    ["x" * 63, "x" * 63 + "?", "x" * 63 + " "],  # a 63-character slug plus "-2" is 65
    ["x" * 80] * 12,  # "-10" and beyond
    ["a b", "a_b", "a-b", "a/b", "a?b"],
    ["x" * 62 + "-2", "x" * 64, "x" * 64, "x" * 62 + "-2"],  # a name that is already a suffixed slug
    ["", "???", "scenario", "scenario-2"],
    ["x" * 63 + " y"],  # cut to 64 characters, the slug ended in "_" (which slugify strips)
])
def test_unique_slugs_are_distinct_valid_slugs(names):
    _assert_usable_slugs(names)


def test_unique_slugs_of_different_names_are_unchanged_when_they_fit():
    # folders written before keep their slugs (resume rebuilds them from the names)
    assert storage.unique_slugs(["baseline", "caplan", "caplan"]) == ["baseline", "caplan", "caplan-2"]
    assert storage.unique_slugs(["x" * 62, "x" * 62]) == ["x" * 62, "x" * 62 + "-2"]


def test_unique_slugs_property():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    chars = st.sampled_from("xXyY_-/ ?é2")
    # long names alike but for their ends and case, as well as any short ones (names take 80 characters)
    alike = st.builds(lambda n, tail: ("x" * n + tail)[:80], st.integers(55, 80), st.text(alphabet=chars, max_size=6))
    name = st.one_of(st.text(alphabet=chars, max_size=80), alike)

    @settings(max_examples=300, deadline=None)
    @given(st.lists(name, min_size=1, max_size=15))
    def check(names):
        slugs = _assert_usable_slugs(names)
        # a name whose slug collides with no other (ignoring case) keeps it unchanged
        plain = [storage.slugify(n) for n in names]
        for s, p in zip(slugs, plain, strict=True):
            if sum(q.casefold() == p.casefold() for q in plain) == 1 and not any(
                    t.casefold() == p.casefold() for t in slugs if t != s):
                assert s == p, (s, p)

    check()


def test_compare_of_names_alike_in_their_first_64_characters_succeeds(tmp_path):
    files = []
    for tail in ("alpha", "omega"):
        f = tmp_path / f"{tail}.yaml"
        f.write_text(f"name: {'x' * 70}_{tail}\ndescription: x\nextends: caplan\n")
        files.append(f)
    out = tmp_path / "c"
    _ok(invoke(["compare", "baseline", *files, "--days", "5", "-n", "2", "--model", FAKE, "--executor", "inline",
                "--no-plots", "--out", out]))
    slugs = [e["slug"] for e in _manifest(out)["scenarios"]]
    assert slugs == ["baseline", "x" * 64, "x" * 62 + "-2"]
    assert set(_table(out)["scenario"]) == {"baseline", "x" * 70 + "_alpha", "x" * 70 + "_omega"}
    for s in slugs:
        assert sorted(p.name for p in (out / storage.REPLICATIONS_DIR / s).iterdir()) == [
            "rep-000000.parquet", "rep-000001.parquet"]
