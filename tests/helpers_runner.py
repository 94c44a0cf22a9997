"""Stand-in model functions for runner tests (importable by worker processes).

Each has the model's signature ``f(scenario, seed, days) -> DataFrame``. They are cheap,
deterministic in the seed, and shaped like the real outcome table, so the runner can be
tested for ordering, failure, kill-and-resume and pairing without running the model.
Worker processes find this module through ``PYTHONPATH`` (the tests set it).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

FAKE = "helpers_runner:fake_replication"
FAILING = "helpers_runner:failing_replication"
SLOW = "helpers_runner:slow_replication"
REVERSE = "helpers_runner:reverse_sleep_replication"
FEW = "helpers_runner:few_metrics_replication"
KILL_ONCE = "helpers_runner:kill_worker_once_replication"


def fake_replication(scenario, seed: np.random.SeedSequence, days: int | None = None) -> pd.DataFrame:
    """A noisy front that shrinks faster when the scenario has offers or lower kia_rate."""
    days = scenario.run.days if days is None else days
    rng = np.random.default_rng(seed)
    d = np.arange(days + 1)
    pull = 1.0 + 0.5 * len(scenario.offers) + 1000.0 * (0.0006 - scenario.front.kia_rate)
    defect = np.cumsum(rng.poisson(20 * pull, d.size))
    fled = np.cumsum(rng.poisson(3000, d.size)).astype(float)
    kia = np.cumsum(rng.poisson(120 * scenario.front.kia_rate / 0.0006, d.size))
    front = 200_000.0 + 800.0 * np.minimum(d, 60) - defect - kia + rng.normal(0, 500, d.size).cumsum()
    hosts = {h.name: rng.uniform(0, 1) for h in scenario.hosts[:3]}
    out = {
        "day": d,
        "front_strength": front,
        "front_effective": 0.8 * front,
        "fled_cum": fled,
        "defected_cum": defect.astype(float),
        "casualties_cum": 3.0 * kia,
        "kia_cum": kia.astype(float),
        "protest_active": rng.poisson(50, d.size).astype(float),
        "offer_cost_usd_cum": defect * 10_000.0 * len(scenario.offers),
    }
    for name, share in hosts.items():
        out[f"entries_cum__{name}"] = fled * share / sum(hosts.values()) + 3000.0 * d  # all travellers
        out[f"admitted_cum__{name}"] = fled * share / sum(hosts.values())  # draft-eligible men only
    out["replacements_cum__contract"] = 300.0 * d
    out["replacements_cum__prisoners"] = 100.0 * d
    return pd.DataFrame(out)


def few_metrics_replication(scenario, seed: np.random.SeedSequence, days: int | None = None) -> pd.DataFrame:
    """Like :func:`fake_replication` with only two metrics (few figures to draw)."""
    return fake_replication(scenario, seed, days)[["day", "front_effective", "fled_cum"]]


def failing_replication(scenario, seed: np.random.SeedSequence, days: int | None = None) -> pd.DataFrame:
    """Like :func:`fake_replication`, but replication 2 raises."""
    if seed.spawn_key[-1] == 2:
        raise RuntimeError("boom in replication 2")
    return fake_replication(scenario, seed, days)


def slow_replication(scenario, seed: np.random.SeedSequence, days: int | None = None) -> pd.DataFrame:
    """Like :func:`fake_replication`, but slow enough to kill a run part-way.

    Sleeps ``$SLOW_REPLICATION_S`` seconds (default 0.4). With ``$SLOW_REPLICATION_GATE``
    set to a file path, replications after the first two wait until that file exists,
    so a test can kill the run at a known point without timing races.
    """
    gate = os.environ.get("SLOW_REPLICATION_GATE")
    if gate and seed.spawn_key[-1] >= 2:
        deadline = time.monotonic() + 60
        while not Path(gate).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    time.sleep(float(os.environ.get("SLOW_REPLICATION_S", "0.4")))
    return fake_replication(scenario, seed, days)


def kill_worker_once_replication(scenario, seed: np.random.SeedSequence, days: int | None = None) -> pd.DataFrame:
    """Like :func:`fake_replication`, but the worker running replication 1 of the baseline
    SIGKILLs itself (as the OOM killer would) the first time: when ``$KILL_WORKER_ONCE``
    names a file that does not exist yet, it creates it and dies."""
    flag = os.environ.get("KILL_WORKER_ONCE")
    if flag and scenario.name == "baseline" and seed.spawn_key[-1] == 1 and not Path(flag).exists():
        Path(flag).write_text(str(os.getpid()))
        os.kill(os.getpid(), 9)
    return fake_replication(scenario, seed, days)


def reverse_sleep_replication(scenario, seed: np.random.SeedSequence, days: int | None = None) -> pd.DataFrame:
    """Later replications finish first (replication i sleeps (5 - i) * 50 ms)."""
    time.sleep(max(0, 5 - seed.spawn_key[-1]) * 0.05)
    return fake_replication(scenario, seed, days)


# --------------------------------------------------------------------------------------
# running the CLI from tests

TESTS_DIR = Path(__file__).resolve().parent
# Small real-model settings: a month at 1,000 people per simulated man runs in well under a second.
REAL_SMALL = ["--scale", "1000", "--days", "30"]


def rewrite_table(folder: Path, ts: pd.DataFrame, reseal: bool) -> None:
    """Replace a results folder's ``timeseries.parquet`` with ``ts``.

    With ``reseal`` its SHA-256 is recorded in the manifest as the run records it (the
    table then passes as the run's own: a test of drawing, not of integrity); without, the
    manifest's checksum is dropped, as in a folder written before checksums were recorded.
    """
    import json

    from sim.runner import storage

    folder = Path(folder)
    data = storage.parquet_bytes(ts)
    (folder / storage.TIMESERIES).write_bytes(data)
    manifest = json.loads((folder / storage.MANIFEST).read_text())
    if reseal:
        manifest.setdefault("checksums", {})[storage.TIMESERIES] = storage.sha256_bytes(data)
    else:
        manifest.pop("checksums", None)
    (folder / storage.MANIFEST).write_text(json.dumps(manifest))


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for CLI subprocesses: this directory on PYTHONPATH (stand-in models)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS_DIR), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


def invoke(args: list[str]):
    """Run ``asylumsim ARGS`` in this process; returns click's Result (stdout, stderr, exit_code)."""
    from typer.testing import CliRunner

    from sim.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def ok(result) -> None:
    """Assert an :func:`invoke` result exited 0 (its output in the message if not)."""
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def one_line_error(result, *fragments: str) -> str:
    """Assert an :func:`invoke` result failed with exit 1 and one ``error:`` line on stderr that
    holds every fragment, without a traceback; return the line."""
    assert result.exit_code == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    for f in fragments:
        assert f in lines[0], lines[0]
    return lines[0]


def hint_command(program: str) -> str:
    """What the hints of ``program`` (the asylumsim executable a test starts) call it:
    ``asylumsim`` if that name on PATH is ``program``, else its path (``sim.errors.command``)."""
    import shlex
    import shutil

    found = shutil.which("asylumsim", path=cli_env().get("PATH"))
    if found and os.path.realpath(found) == os.path.realpath(program):
        return "asylumsim"
    return shlex.quote(program)
