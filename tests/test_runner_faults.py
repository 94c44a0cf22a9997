"""The runner stays honest through races, interrupts, crashes and hostile folders (issue 13).

Signals go to real subprocesses; races are made deterministic with the claim hook
(``ASYLUMSIM_TEST_HOLD_AFTER_CLAIM``) and the stand-in models' gate files, not with sleeps.
Every run here is tiny (stand-in models, or the real model at scale 400 for 10 days).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pandas as pd
import psutil
import pytest
from helpers_runner import FAKE, KILL_ONCE, SLOW, cli_env, invoke
from helpers_runner import ok as _ok
from helpers_runner import one_line_error as _one_line_error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.analysis.compare import comparison_table
from sim.config import load_scenario
from sim.errors import ResultsError
from sim.runner import storage
from sim.runner.ensemble import run_ensemble
from sim.runner.spec import EnsembleSpec

ASYLUMSIM = str(Path(sys.executable).with_name("asylumsim"))
REP = Path("replications") / "baseline"


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def _table(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "timeseries.parquet")


def _wait(cond, proc: subprocess.Popen | None = None, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"run ended early ({proc.returncode}) while waiting for {what}: "
                                 f"{proc.stderr.read() if proc.stderr else ''}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _popen(args: list[str], **env: str) -> subprocess.Popen:
    return subprocess.Popen([ASYLUMSIM, *args], env=cli_env(**env), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _tree(proc: subprocess.Popen) -> list[psutil.Process]:
    try:
        return psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _assert_all_gone(procs: list[psutil.Process], timeout: float = 10.0) -> None:
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    assert not alive, f"processes left behind: {[(p.pid, p.name()) for p in alive]}"


# --------------------------------------------------------------------------------------
# case 1: two runs, one folder; default folder names


def test_two_runs_on_one_folder_never_mix(tmp_path):
    out, gate = tmp_path / "shared", tmp_path / "gate"
    common = ["run", "baseline", "--days", "8", "-n", "2", "--model", FAKE, "--no-plots", "--out", str(out)]
    a = _popen([*common, "--seed", "1", "--executor", "inline"], ASYLUMSIM_TEST_HOLD_AFTER_CLAIM=str(gate))
    try:
        # A has claimed the folder (created, locked, checked empty) and is held there.
        _wait(lambda: list(tmp_path.glob("gate.claimed-*")), a, what="the claim")
        b = subprocess.run([ASYLUMSIM, *common, "--seed", "2", "--executor", "dask"], env=cli_env(),
                           capture_output=True, text=True, timeout=60)
        assert b.returncode == 1 and "in use by another asylumsim process" in b.stderr, b.stderr
        assert len(b.stderr.strip().splitlines()) == 1
    finally:
        gate.touch()
        a.wait(timeout=60)
    assert a.returncode == 0, a.stderr
    # Once A is done, B is refused because the folder is no longer empty.
    late = subprocess.run([ASYLUMSIM, *common, "--seed", "2", "--executor", "inline"], env=cli_env(),
                          capture_output=True, text=True, timeout=60)
    assert late.returncode == 1 and "already exists and is not empty" in late.stderr
    m = _manifest(out)
    assert m["root_seed"] == 1
    for e in m["runs"]:
        assert storage.read_file_meta(out / e["file"])["seed"]["entropy"] == 1


def test_default_folder_names_are_unique_and_claimed(tmp_path, monkeypatch):
    names: list[Path] = []
    threads = [threading.Thread(target=lambda: names.append(storage.default_results_dir("caplan", tmp_path)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(names)) == 8 and all(p.is_dir() for p in names)
    # Three runs without --out in the same second each get their own folder.
    monkeypatch.chdir(tmp_path)
    for k in range(3):
        _ok(invoke(["run", "caplan", "--days", "3", "-n", "1", "--model", FAKE, "--executor", "inline",
                    "--no-plots", "--set", f"front.kia_rate=0.000{k + 1}"]))
    assert len([p for p in (tmp_path / "results").iterdir() if (p / "manifest.json").is_file()]) == 3


def _fresh_equivalent(folder: Path, tmp: Path) -> pd.DataFrame:
    """A new run from the folder's stored config and seed (inline, in this process)."""
    m = _manifest(folder)
    ref = tmp / f"ref-{m['root_seed']}-{time.monotonic_ns()}"
    _ok(invoke(["run", folder / "config.yaml", "--seed", m["root_seed"], "-n", m["replications"], "--days", m["days"],
                "--executor", "inline", "--no-plots", "--out", ref]))
    return _table(ref)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seeds=st.lists(st.integers(0, 2**31), min_size=2, max_size=2, unique=True),
       days=st.lists(st.integers(6, 12), min_size=2, max_size=2),
       executors=st.lists(st.sampled_from(["inline", "process"]), min_size=2, max_size=2))
def test_concurrent_runs_on_one_folder_leave_data_matching_the_manifest(tmp_path, seeds, days, executors):
    out = tmp_path / f"race-{time.monotonic_ns()}"
    procs = [_popen(["run", "baseline", "--scale", "400", "--days", str(d), "-n", "2", "--seed", str(s),
                     "--executor", ex, "--workers", "1", "--no-plots", "--out", str(out)])
             for s, d, ex in zip(seeds, days, executors, strict=True)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    codes = sorted(c for c, _ in results)
    assert codes == [0, 1], results  # exactly one run owns the folder
    loser = next(err for c, err in results if c == 1)
    assert "in use" in loser or "not empty" in loser
    m = _manifest(out)
    assert m["status"] == "complete" and m["root_seed"] in seeds
    pd.testing.assert_frame_equal(_table(out), _fresh_equivalent(out, tmp_path))


# --------------------------------------------------------------------------------------
# cases 2 and 3: Ctrl-C, SIGTERM, SIGHUP; workers never outlive the run


def _gated_run(tmp_path: Path, out: Path, executor: str = "process") -> tuple[subprocess.Popen, list[str]]:
    gate = tmp_path / "gate"
    cmd = ["run", "baseline", "--days", "12", "-n", "6", "--model", SLOW, "--executor", executor, "--workers", "2",
           "--no-plots", "--out", str(out)]
    proc = _popen(cmd, SLOW_REPLICATION_GATE=str(gate), SLOW_REPLICATION_S="0.05")
    # Replications 0 and 1 finish; 2 and 3 then block on the gate inside the workers.
    _wait(lambda: all((out / REP / f"rep-00000{i}.parquet").exists() for i in (0, 1)), proc, what="two replications")
    return proc, cmd


@pytest.mark.parametrize("how, code", [("group-SIGINT-twice", 130), ("SIGTERM", 143), ("SIGHUP", 129)])
def test_stop_signal_keeps_results_stops_workers_and_resume_completes(tmp_path, how, code):
    out = tmp_path / "run"
    proc, cmd = _gated_run(tmp_path, out)
    tree = _tree(proc)
    assert len(tree) >= 2  # the pool's workers (and its helpers)
    t0 = time.monotonic()
    if how == "group-SIGINT-twice":  # what a terminal's Ctrl-C does, pressed twice
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
    else:  # what schedulers, timeout and a closed terminal send: the main process only
        proc.send_signal(getattr(signal, how))
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code, stderr
    assert time.monotonic() - t0 < 10, "stopping waited for running replications"
    assert "Traceback" not in stdout + stderr
    assert stderr.strip().splitlines()[-1].startswith("interrupted (")
    assert f"--resume --out {out}" in stderr
    _assert_all_gone(tree)
    m = _manifest(out)
    assert m["status"] == "interrupted" and "--resume" in m["resume_hint"]
    ok = [e for e in m["runs"] if e["status"] == "ok"]
    assert len(ok) >= 2 and all(e["sha256"] for e in ok)
    assert sorted(p.name for p in (out / REP).iterdir()) == [Path(e["file"]).name for e in ok]

    (tmp_path / "gate").touch()
    with pytest.MonkeyPatch.context() as mp:  # resume in this process: no pool start-up to wait for
        mp.setenv("SLOW_REPLICATION_S", "0")
        again = invoke([*cmd, "--resume", "--executor", "inline"])
        _ok(again)
        assert "4 already done" in again.stdout or "already done" in again.stdout
        whole = tmp_path / "whole"
        _ok(invoke([*cmd[:-1], str(whole), "--executor", "inline"]))
    assert (out / "timeseries.parquet").read_bytes() == (whole / "timeseries.parquet").read_bytes()


def test_dask_run_stops_on_sigint_without_tracebacks_or_leftovers(tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "dask"
    proc, _ = _gated_run(tmp_path, out, executor="dask")
    tree = _tree(proc)
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)  # pressed twice: no traceback, no hang
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert time.monotonic() - t0 < 10, "stopping waited for the Dask workers"
    assert "Traceback" not in stdout + stderr
    _assert_all_gone(tree)
    assert _manifest(out)["status"] == "interrupted"


def test_workers_die_with_a_killed_parent(tmp_path):
    proc, _ = _gated_run(tmp_path, tmp_path / "k")
    tree = _tree(proc)
    proc.send_signal(signal.SIGKILL)  # no cleanup possible in the parent
    proc.communicate(timeout=30)
    _assert_all_gone(tree)


# --------------------------------------------------------------------------------------
# case 4: a worker killed by the OS


def test_a_killed_worker_is_a_recorded_failure_and_resume_finishes(tmp_path):
    out, flag = tmp_path / "c", tmp_path / "killed-once"
    cmd = ["compare", "baseline", "caplan", "--days", "10", "-n", "3", "--model", KILL_ONCE, "--workers", "2",
           "--no-plots", "--out", str(out)]
    r = subprocess.run([ASYLUMSIM, *cmd], env=cli_env(KILL_WORKER_ONCE=str(flag)), capture_output=True, text=True,
                       timeout=120)
    assert flag.exists()
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "replications failed" in last and f"--resume --out {out}" in last
    assert f"--model {KILL_ONCE}" in last
    m = _manifest(out)
    assert m["status"] == "failed"
    bad = [e for e in m["runs"] if e["status"] == "failed"]
    assert bad and all("worker process died" in e["error"] for e in bad)
    assert ("baseline", 1) in {(e["scenario"], e["replication"]) for e in bad}
    again = subprocess.run([ASYLUMSIM, *cmd, "--resume"], env=cli_env(KILL_WORKER_ONCE=str(flag)),
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert _manifest(out)["status"] == "complete"
    assert len(pd.read_csv(out / "comparison.csv"))


# --------------------------------------------------------------------------------------
# case 5 (and 12): replication files are verified before they are trusted


def _small_run(out: Path, *extra: str, seed: int = 3) -> list[str]:
    args = ["run", "baseline", "--days", "9", "-n", "3", "--seed", str(seed), "--model", FAKE, "--executor", "inline",
            "--no-plots", "--out", out, *extra]
    _ok(invoke(args))
    return [str(a) for a in args]


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[:200])


def _rewrite_with_pandas(p: Path) -> None:
    df = pd.read_parquet(p)
    df.loc[0, "fled_cum"] += 1
    df.to_parquet(p, index=False)


def _copy_rep0(p: Path) -> None:
    shutil.copyfile(p.with_name("rep-000000.parquet"), p)


@pytest.mark.parametrize("spoil, why", [
    (_truncate, "unreadable"),
    (_rewrite_with_pandas, "no asylumsim description"),
    (_copy_rep0, "replication is 0"),
    ("foreign", "seed is"),
    ("flipbyte", "checksum"),
])
def test_a_spoiled_replication_file_is_redone_on_resume(tmp_path, spoil, why):
    out, other = tmp_path / "a", tmp_path / "b"
    args = _small_run(out)
    ref = _table(out)
    target = out / REP / "rep-000001.parquet"
    if spoil == "foreign":  # the same replication from a folder with another seed
        _small_run(other, seed=4)
        shutil.copyfile(other / REP / "rep-000001.parquet", target)
    elif spoil == "flipbyte":  # same length, one byte of the data changed
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0x01
        target.write_bytes(bytes(data))
    else:
        spoil(target)
    (out / "timeseries.parquet").unlink()
    r = invoke([*args, "--resume"])
    _ok(r)
    assert "redoing replications/baseline/rep-000001.parquet" in r.stderr and why in r.stderr
    m = _manifest(out)
    assert m["sessions"][-1]["to_run"] == 1 and why in m["runs"][1]["redone_because"]
    pd.testing.assert_frame_equal(_table(out), ref)


# --------------------------------------------------------------------------------------
# case 6: the manifest is rewritten after every replication


def test_manifest_on_disk_records_each_replication_as_it_finishes(tmp_path):
    s = load_scenario("baseline", ["run.days=5"])
    spec = EnsembleSpec(kind="run", scenarios=[s], replications=4, root_seed=9, days=5, model=FAKE)
    seen: list[int] = []

    def check(res) -> None:
        on_disk = _manifest(tmp_path / "m")["runs"][res.replication]
        assert on_disk["status"] == "ok" and on_disk["rows"] == 6
        assert on_disk["sha256"] == storage.sha256_file(tmp_path / "m" / on_disk["file"])
        seen.append(res.replication)

    run_ensemble(spec, tmp_path / "m", executor="inline", on_result=check)
    assert seen == [0, 1, 2, 3]


# --------------------------------------------------------------------------------------
# case 7: comparison.csv reports the last day


def test_comparison_reports_the_checkpoints_and_the_last_day(tmp_path):
    out = tmp_path / "c"
    _ok(invoke(["compare", "baseline", "caplan", "--days", "120", "-n", "2", "--model", FAKE, "--executor", "inline",
                "--no-plots", "--out", out]))
    assert sorted(pd.read_csv(out / "comparison.csv")["day"].unique()) == [30, 90, 120]
    ts = _table(out)
    for last in (45, 90):
        assert sorted(comparison_table(ts[ts["day"] <= last], "baseline")["day"].unique())[-1] == last


# --------------------------------------------------------------------------------------
# cases 10 and 13: compare refuses unlike runs


def test_compare_refuses_different_start_days_or_scales(tmp_path):
    r = invoke(["compare", "baseline", "history_2022", "--days", "10", "--model", FAKE, "--out", tmp_path / "x"])
    _one_line_error(r, "run.start_day", "'baseline' has 0", "-4")
    (tmp_path / "coarse.yaml").write_text("name: coarse\nextends: baseline\npopulation:\n  scale: 5000\n")
    r = invoke(["compare", "baseline", tmp_path / "coarse.yaml", "--days", "10", "--model", FAKE, "--out", tmp_path / "y"])
    _one_line_error(r, "population.scale", "'coarse' has 5000")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


# --------------------------------------------------------------------------------------
# case 12: a results folder is data, never instructions


def _edit_manifest(folder: Path, edit) -> None:
    m = _manifest(folder)
    edit(m)
    (folder / "manifest.json").write_text(json.dumps(m))


def test_manifest_paths_and_model_are_never_obeyed(tmp_path, capsys):
    out = tmp_path / "nest" / "a"
    args = _small_run(out)
    ref = _table(out)
    (out / REP / "rep-000002.parquet").unlink()
    (out / "timeseries.parquet").unlink()

    def evil_files(m):
        for i, e in enumerate(m["runs"]):
            e["file"] = f"../../escaped-{i}.parquet" if i % 2 else str(tmp_path / f"abs-{i}.parquet")

    _edit_manifest(out, evil_files)
    _ok(invoke([*args, "--resume"]))
    assert not list(tmp_path.glob("*.parquet")) and not list((tmp_path / "nest").glob("*.parquet"))
    pd.testing.assert_frame_equal(_table(out), ref)
    assert [e["file"] for e in _manifest(out)["runs"]] == [f"replications/baseline/rep-00000{i}.parquet" for i in range(3)]

    _edit_manifest(out, lambda m: m["scenarios"][0].update(slug="../../evil"))
    _one_line_error(invoke(["run", "--resume", "--out", out, "--model", FAKE, "--executor", "inline"]), "slug")
    assert not (tmp_path / "evil").exists()

    _edit_manifest(out, lambda m: (m["scenarios"][0].update(slug="baseline"), m.update(model="builtins:print")))
    capsys.readouterr()
    r = invoke(["run", "--resume", "--out", out, "--executor", "inline"])
    _one_line_error(r, "builtins:print", "never taken from a folder")
    assert r.stdout == ""


@pytest.mark.parametrize(("key", "value", "fragment"), [
    ("days", 0, "days 0 is not the scenarios' run.days"),  # redid, and overwrote, every finished replication
    ("days", 2, "days 2 is not the scenarios' run.days"),
    ("days", -3, "days -3 is not"),  # a traceback (NaN to integer)
    ("replications", 10**9, "replications 1000000000 is not a whole number from 1 to 10,000"),  # spun for minutes
    ("replications", "3", "replications '3' is not a whole number"),
])
def test_a_manifests_days_and_replications_are_checked_against_its_scenarios(tmp_path, key, value, fragment):
    # found by the hostile review: the manifest is data, and these two fields were obeyed as written
    out = tmp_path / "a"
    _small_run(out)
    before = {p.relative_to(out): p.read_bytes() for p in (out / REP).iterdir()}
    _edit_manifest(out, lambda m: m.update({key: value}))
    _one_line_error(invoke(["run", "--resume", "--out", out, "--model", FAKE, "--executor", "inline"]), fragment)
    assert {p.relative_to(out): p.read_bytes() for p in (out / REP).iterdir()} == before


def test_a_manifest_nested_too_deeply_is_a_one_line_error_everywhere(tmp_path):
    # a RecursionError traceback in plot and --resume, and it broke the dashboard's whole Results list
    from sim.dashboard.results import find_results
    from sim.inference.guards import read_manifest as read_calibration_manifest

    bad = tmp_path / "results" / "deep"
    bad.mkdir(parents=True)
    (bad / "manifest.json").write_text("[" * 200_000 + "]" * 200_000)
    _one_line_error(invoke(["plot", bad]), "nested too deeply")
    _one_line_error(invoke(["compare", "--resume", "--out", bad, "--model", FAKE]), "nested too deeply")
    assert find_results([tmp_path / "results"]) == [bad]  # listed, not raised: opening it says what is wrong
    with pytest.raises(ValueError, match="nested too deeply"):
        read_calibration_manifest(bad)


def test_plot_of_a_calibration_folder_says_what_it_is(tmp_path):
    # it said the manifest "was written by another tool" (the hostile review)
    (tmp_path / "cal").mkdir()
    (tmp_path / "cal" / "manifest.json").write_text('{"scenario": "history_2022", "pyabc_version": "0.13.0"}')
    _one_line_error(invoke(["plot", tmp_path / "cal"]), "is an 'asylumsim calibrate' folder", "posterior.parquet")


def test_user_temporary_files_count_as_content_and_are_kept(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "draft.tmp-1").write_text("keep me")
    (out / ".notes.tmp-2").write_text("and me")
    r = invoke(["run", "baseline", "--days", "3", "-n", "1", "--model", FAKE, "--executor", "inline", "--out", out])
    _one_line_error(r, "not empty")
    assert sorted(p.name for p in out.iterdir()) == [".notes.tmp-2", "draft.tmp-1"]
    # Leftovers of our own interrupted writes are recognised exactly, and only those.
    assert storage.is_our_temp(".rep-000001.parquet.tmp-123-0a1b2c3d")
    assert not storage.is_our_temp("draft.tmp-1") and not storage.is_our_temp(".notes.tmp-2")


@pytest.mark.parametrize("option", [["--scale", "300"], ["--days", "4"], ["--seed", "5"], ["--set", "front.kia_rate=0.001"]])
def test_resume_without_scenario_refuses_settings_it_would_ignore(tmp_path, option):
    out = tmp_path / "a"
    _small_run(out)
    before = (out / "manifest.json").read_bytes()
    _one_line_error(invoke(["run", "--resume", "--out", out, "--model", FAKE, *option]), option[0], "stored configuration")
    assert (out / "manifest.json").read_bytes() == before


def test_resume_checks_compatibility_under_the_lock(tmp_path):
    """A spec that passed the early check is checked again against the folder it locks."""
    out = tmp_path / "a"
    _small_run(out)
    s = load_scenario("baseline", ["run.days=9", "run.seed=99"])
    spec = EnsembleSpec(kind="run", scenarios=[s], replications=3, root_seed=99, days=9, model=FAKE)
    with pytest.raises(ResultsError, match="root seed"):
        run_ensemble(spec, out, executor="inline", resume=True)


# --------------------------------------------------------------------------------------
# case 14: the memory estimate covers every large array


def test_memory_estimate_covers_the_measured_peak():
    import sim.model  # noqa: F401 - imports are not the replication's arrays
    from sim.simulate import estimate_array_bytes, run_replication

    run_replication(load_scenario("baseline", ["population.scale=5000", "run.days=1"]), 1, 1)

    @settings(max_examples=4, deadline=None, derandomize=True)
    @given(scale=st.integers(300, 3000), panel=st.integers(10, 30_000))
    def check(scale: int, panel: int) -> None:
        sc = load_scenario("baseline", [f"population.scale={scale}", f"protest.panel_per_region={panel}", "run.days=3"])
        tracemalloc.start()
        try:
            run_replication(sc, 1, 3)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        est = estimate_array_bytes(sc)
        slack = 4 * 2**20  # bookkeeping that does not grow with any setting
        assert peak <= est + slack, (scale, panel, peak, est)
        assert est <= 2 * peak + slack, (scale, panel, peak, est)  # an estimate, not a blanket refusal

    check()


def test_memory_guard_counts_the_protest_panel():
    from sim.simulate import FIXED_OVERHEAD_BYTES, estimate_memory_bytes

    sc = load_scenario("baseline", ["protest.panel_per_region=1000000"])
    assert estimate_memory_bytes(sc) - FIXED_OVERHEAD_BYTES > len(sc.regions) * 1_000_000 * 80


# --------------------------------------------------------------------------------------
# case 11 (progress): plain lines off a terminal, an honest ETA, the stages after the bar


def test_progress_off_a_terminal_prints_plain_lines_and_stages(tmp_path):
    r = subprocess.run([ASYLUMSIM, "run", "baseline", "--days", "5", "-n", "10", "--model", FAKE, "--executor",
                        "inline", "--no-plots", "--out", str(tmp_path / "p")], env=cli_env(),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("baseline: replications: 10 replication(s) to run")
    counts = [ln for ln in lines if "/10 replications" in ln]
    assert len(counts) == 10 and counts[-1].startswith("baseline: replications: 10/10")
    assert "eta ?" not in counts[0] and all(" eta " in ln for ln in counts)
    assert lines[-1] == "writing tables"


def test_progress_eta_ignores_the_first_replications_start_up(monkeypatch):
    from sim.cli import progress
    from sim.runner.jobs import ReplicationResult

    clock = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    bar = progress.RunProgress("x", terminal=False)
    res = ReplicationResult(scenario="s", replication=0, seed=None, status="ok", seconds=2.0)  # type: ignore[arg-type]
    with bar:
        bar.start(20, 0)
        assert bar.eta() is None
        clock[0] += 30.0  # 28 s of worker start-up, then the first replication's 2 s
        bar.advance(res)
        for _ in range(4):  # then one every 2 s
            clock[0] += 2.0
            bar.advance(res)
        assert bar.eta() == pytest.approx(15 * 2.0)  # 15 left at 2 s each; start-up ignored


@pytest.mark.parametrize("stage", ["before_tables", "during_tables"])
def test_a_stop_after_the_last_replication_leaves_an_honest_manifest(tmp_path, monkeypatch, stage):
    # SIGTERM after the last replication: before the tables are combined, the folder says
    # interrupted and --resume rebuilds the tables without rerunning; while they are written,
    # the signal waits until all are written, and the folder says complete
    import sim.runner.ensemble as ens
    from sim.runner.interrupts import RunInterrupted

    target = "combine_replications" if stage == "before_tables" else "write_tables"
    original = getattr(ens, target)

    def signalled(*a, **k):
        signal.raise_signal(signal.SIGTERM)
        return original(*a, **k)

    monkeypatch.setattr(ens, target, signalled)
    s = load_scenario("baseline", ["run.days=5"])
    spec = EnsembleSpec(kind="run", scenarios=[s], replications=2, root_seed=9, days=5, model=FAKE)
    with pytest.raises(RunInterrupted) as stopped:
        run_ensemble(spec, tmp_path / "m", executor="inline")
    m = _manifest(tmp_path / "m")
    assert [e["status"] for e in m["runs"]] == ["ok", "ok"]
    # the CLI's message follows this run's outcome, not a manifest an earlier session left
    assert stopped.value.complete == (stage == "during_tables")
    assert bool(stopped.value.hint) == (stage == "before_tables")
    if stage == "before_tables":
        assert m["status"] == "interrupted" and "--resume" in m["resume_hint"]
        assert not (tmp_path / "m" / "timeseries.parquet").exists()
        monkeypatch.undo()
        out = run_ensemble(spec, tmp_path / "m", executor="inline", resume=True)
        assert out.ran == 0 and out.manifest["status"] == "complete"
    else:
        assert m["status"] == "complete"
    assert (tmp_path / "m" / "timeseries.parquet").is_file()


def test_a_stop_while_the_pool_shuts_down_after_the_run_says_the_folder_is_complete(tmp_path, monkeypatch):
    # the hostile review: a signal as the worker pool closed printed "continue with: ... --resume"
    # for a folder whose manifest said complete (its tables byte-identical to an uninterrupted run)
    import contextlib

    import sim.runner.executors as exe
    from sim.runner.interrupts import RunInterrupted

    original = exe.make_executor

    @contextlib.contextmanager
    def closing_on_a_signal(*a, **k):
        with original(*a, **k) as ex:
            yield ex
        signal.raise_signal(signal.SIGINT)  # as the pool's shutdown returns

    monkeypatch.setattr(exe, "make_executor", closing_on_a_signal)  # imported by run_ensemble when it runs
    s = load_scenario("baseline", ["run.days=5"])
    spec = EnsembleSpec(kind="run", scenarios=[s], replications=2, root_seed=9, days=5, model=FAKE)
    with pytest.raises(RunInterrupted) as stopped:
        run_ensemble(spec, tmp_path / "m", executor="inline")
    assert stopped.value.complete and not stopped.value.hint
    assert _manifest(tmp_path / "m")["status"] == "complete"


@pytest.mark.parametrize("stage", ["start", "replication", "tables"])
def test_a_full_disk_stops_the_run_with_one_line_and_resume_finishes(tmp_path, monkeypatch, stage):
    # ENOSPC from the file system (os.replace of the atomic write) before the run, while a
    # replication's file is written, or while the tables are: one error line with the cause
    # and the resume command (no traceback), the manifest says interrupted with the error,
    # --resume finishes (rebuilding the tables) and clears the error
    import errno

    replace = os.replace
    hit = {"start": "", "replication": "rep-000000", "tables": "timeseries.parquet"}[stage]

    def full(src, dst, *a, **k):
        if hit in str(dst):
            raise OSError(errno.ENOSPC, "No space left on device")
        return replace(src, dst, *a, **k)

    monkeypatch.setattr(storage.os, "replace", full)
    out = tmp_path / "m"
    args = ["run", "baseline", "--days", "3", "--scale", "2000", "-n", "1", "--executor", "inline", "--no-plots",
            "--no-parameter-uncertainty", "--out", out]
    res = invoke(args)
    assert res.exit_code == 1 and "Traceback" not in res.stdout + res.stderr, res.stderr
    last = res.stderr.strip().splitlines()[-1]  # after the progress lines
    assert last.startswith("error: ") and str(out) in last and "No space left on device" in last
    if stage == "start":  # nothing to resume
        return
    assert "--resume" in last
    m = _manifest(out)
    assert m["status"] == "interrupted" and "ENOSPC" not in m["error"] and "No space left" in m["error"]
    assert [e["status"] for e in m["runs"]] == (["ok"] if stage == "tables" else ["pending"])
    monkeypatch.undo()
    _ok(invoke(["run", "--resume", "--out", out, "--no-plots"]))
    m = _manifest(out)
    assert m["status"] == "complete" and "error" not in m and (out / "timeseries.parquet").is_file()


def test_a_full_disk_as_the_final_manifest_is_written_is_not_a_finished_run(tmp_path, monkeypatch):
    # the hostile review: the error had no resume command and the folder stayed 'running'
    import errno

    replace, failed = os.replace, []

    def full_once(src, dst, *a, **k):
        if str(dst).endswith("manifest.json") and (out / "timeseries.parquet").is_file() and not failed:
            failed.append(dst)
            raise OSError(errno.ENOSPC, "No space left on device")
        return replace(src, dst, *a, **k)

    monkeypatch.setattr(storage.os, "replace", full_once)
    out = tmp_path / "m"
    res = invoke(["run", "baseline", "--days", "3", "--scale", "2000", "-n", "1", "--executor", "inline",
                  "--no-plots", "--no-parameter-uncertainty", "--out", out])
    last = res.stderr.strip().splitlines()[-1]
    assert res.exit_code == 1 and failed and "No space left on device" in last and "--resume" in last, res.stderr
    assert _manifest(out)["status"] == "interrupted"
    monkeypatch.undo()
    _ok(invoke(["run", "--resume", "--out", out, "--no-plots"]))
    assert _manifest(out)["status"] == "complete"


def test_a_stop_while_the_results_are_printed_says_the_folder_is_complete(tmp_path, monkeypatch):
    # the run has finished; a SIGTERM while the CLI prints its summary ends with a message
    # (not silently) and exit 143, and the folder stays complete
    import sim.analysis.headline as headline

    def signalled(*a, **k):
        signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(headline, "print_run_summary", signalled)
    out = tmp_path / "m"
    res = invoke(["run", "baseline", "--days", "3", "--scale", "2000", "-n", "1", "--executor", "inline",
                  "--no-plots", "--no-parameter-uncertainty", "--out", out])
    assert res.exit_code == 143, res.output
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("interrupted (SIGTERM)") and f"{out} is complete" in last, res.stderr
    assert _manifest(out)["status"] == "complete"


def test_progress_on_a_terminal_prints_names_as_data(monkeypatch):
    # a scenario name in the bar's label, a failure message and a stage line: printed as
    # written, never read as rich markup, emoji codes or a hyperlink
    import io

    from rich.console import Console

    from sim.cli import progress
    from sim.runner.jobs import ReplicationResult

    name = r"[bold red]x[/] :smile: [link=http://e.vil]y[/link] \[z] ok\ "
    out = io.StringIO()

    class Recorded(Console):  # the console RunProgress configures, writing to ``out`` as a terminal would
        def __init__(self, *args, **kwargs):
            kwargs.pop("stderr", None)
            super().__init__(*args, file=out, force_terminal=True, width=300, color_system=None, **kwargs)

    monkeypatch.setattr("rich.console.Console", Recorded)
    bar = progress.RunProgress(name, terminal=True)
    res = ReplicationResult(scenario=name, replication=0, seed=None, status="failed", seconds=1.0, error="boom")  # type: ignore[arg-type]
    with bar:
        bar.start(1, 0)
        bar.advance(res)
        bar.stage(f"writing tables for {name}")
    text = out.getvalue()
    assert "😄" not in text and "\x1b]8;" not in text  # no emoji, no terminal hyperlink
    assert f"{name.strip()}" in text  # the label, as written
    assert f"replication 0 of {name} failed: boom" in text
    assert f"writing tables for {name}" in text


def test_a_process_forked_under_the_stop_handler_dies_of_a_stop_signal_silently():
    # a pool's worker forked before it set up its own signals inherited the owner's handler,
    # which raised RunInterrupted in the worker: a traceback there (calibrate's SIGTERM test, 1 in 10)
    import os
    import signal
    import time

    from sim.runner.interrupts import StopSignals

    r, w = os.pipe()
    with StopSignals():
        pid = os.fork()
        if pid == 0:  # the child: as a fresh pool worker, straight into waiting
            try:
                os.close(r)
                os.dup2(w, 2)  # its stderr: anything it prints reaches the parent
                while True:
                    time.sleep(0.01)
            finally:  # never back into pytest in the child (the old handler raised here)
                os._exit(1)
        os.close(w)
        time.sleep(0.2)
        os.kill(pid, signal.SIGTERM)
        _, status = os.waitpid(pid, 0)
    printed = os.read(r, 65536)
    os.close(r)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM, status
    assert printed == b""
