"""docs/guide.md cannot rot: every command it tells a user to type is run here.

The guide puts each command a user types on a line starting ``$ `` inside a fenced
block marked ``console``. ``TABLE`` below maps each such command, exactly as written,
to the short version that this test runs (fewer replications, a coarser scale, fewer
days, no figures), or to an explicit reason for not running it. A documented command
missing from the table fails the test, and so does a table entry the guide no longer
has, so the two change together.

The short versions run in the order of the guide, in a temporary folder that holds a
copy of ``docs/examples`` (so relative paths work as written), through the real CLI
(``sim.cli.app``) in this process: later commands use the folders earlier ones wrote.
"""

from __future__ import annotations

import logging
import re
import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "guide.md"
EXAMPLES = ROOT / "docs" / "examples"

# The short run settings used in place of the guide's.
SMALL = "--replications 2 --scale 500 --days 12"


@dataclass(frozen=True)
class Run:
    """Run ``short`` instead of the documented command.

    Attributes:
        short: The command line actually run (``{scheduler}`` is replaced by the address
            of a Dask scheduler the test starts on 127.0.0.1).
        exit_code: Expected exit code (1 for commands the guide shows failing).
        before: Called with the working folder before the command (e.g. to simulate an
            interruption).
        creates: Files (relative to the working folder) that must exist afterwards.
        needs: A module that must be importable, else the command is skipped.
        shows_output: The guide prints the command's whole output under it (the lines up to
            the next ``$ `` line or the end of the block); the short version, which must
            then be the documented command itself, must print exactly those lines.
    """

    short: str
    exit_code: int = 0
    before: Callable[[Path], None] | None = None
    creates: tuple[str, ...] = ()
    needs: str | None = None
    shows_output: bool = False


@dataclass(frozen=True)
class Skip:
    """Do not run the documented command, for this reason."""

    reason: str


def lose_replication(folder: str, scenario: str, replication: int) -> Callable[[Path], None]:
    """Delete one finished replication's file: what an interrupted run leaves behind."""

    def prepare(cwd: Path) -> None:
        path = cwd / folder / "replications" / scenario / f"rep-{replication:06d}.parquet"
        assert path.is_file(), f"expected {path} from the previous command"
        path.unlink()

    return prepare


# documented command (exactly as in docs/guide.md) -> what this test does with it
TABLE: dict[str, Run | Skip] = {
    # 1 Install
    "python3 -m venv .venv && .venv/bin/pip install -q -r requirements/run.lock && .venv/bin/pip install -q --no-deps -e .":
        Skip("installation: this test already runs inside that installation (.ci/run does the same with requirements/test.lock)"),
    "source .venv/bin/activate":
        Skip("a shell built-in that puts .venv/bin on PATH; the test calls the installed CLI directly"),
    "asylumsim --version":
        Run("asylumsim --version"),
    "asylumsim --help":
        Run("asylumsim --help"),
    # 2 A first look
    "asylumsim list":
        Run("asylumsim list"),
    "asylumsim show caplan":
        Run("asylumsim show caplan"),
    "asylumsim claims --id D9 --scenario caplan":
        Run("asylumsim claims --id D9 --scenario caplan"),
    # 3 The default comparison
    "asylumsim compare baseline no_offers kuran caplan caplan_tiered draftee_asylum --replications 10 --scale 10 --out results/first":
        Run(f"asylumsim compare baseline no_offers kuran caplan caplan_tiered draftee_asylum {SMALL} --executor inline --no-plots --out results/first",
            creates=("results/first/comparison.csv", "results/first/summary.csv", "results/first/timeseries.parquet")),
    # 4 Reading the results
    "asylumsim plot results/first --metric front_effective --metric defected_cum":
        Run("asylumsim plot results/first --metric front_effective --metric defected_cum",
            creates=("results/first/plots/front_effective.png", "results/first/plots/defected_cum.svg")),
    # 5 Writing a scenario
    "asylumsim validate docs/examples/finland_only.yaml docs/examples/caplan_deadline.yaml":
        Run("asylumsim validate docs/examples/finland_only.yaml docs/examples/caplan_deadline.yaml", shows_output=True),
    "asylumsim show docs/examples/caplan_deadline.yaml":
        Run("asylumsim show docs/examples/caplan_deadline.yaml"),
    "asylumsim compare closed_doors docs/examples/finland_only.yaml baseline --replications 10 --scale 50 --out results/finland":
        Run(f"asylumsim compare closed_doors docs/examples/finland_only.yaml baseline {SMALL} --executor inline --no-plots --out results/finland",
            creates=("results/finland/comparison.csv",)),
    "asylumsim validate docs/examples/typo.yaml":
        Run("asylumsim validate docs/examples/typo.yaml", exit_code=1, shows_output=True),
    # 6 Changing one assumption with --set
    "asylumsim show draftee_asylum --set hosts.finland.draftee_policy=closed":
        Run("asylumsim show draftee_asylum --set hosts.finland.draftee_policy=closed"),
    "asylumsim compare baseline draftee_asylum --set hosts.finland.draftee_policy=closed --replications 10 --scale 50 --out results/draftee-no-finland":
        Run(f"asylumsim compare baseline draftee_asylum --set hosts.finland.draftee_policy=closed {SMALL} --executor inline --no-plots --out results/draftee-no-finland",
            creates=("results/draftee-no-finland/comparison.csv",)),
    "asylumsim show caplan --set offers.caplan_v2.payment_usd=50000 --set 'front.intensity=[[0, 1.0], [90, 1.5]]'":
        Run("asylumsim show caplan --set offers.caplan_v2.payment_usd=50000 --set 'front.intensity=[[0, 1.0], [90, 1.5]]'"),
    "asylumsim show caplan --set offers.caplan_v2.paymnt_usd=50000":
        Run("asylumsim show caplan --set offers.caplan_v2.paymnt_usd=50000", exit_code=1),
    # 7 Resuming an interrupted run (the first run uses the default process pool)
    "asylumsim run caplan --replications 50 --scale 50 --workers 2 --out results/caplan50":
        Run(f"asylumsim run caplan {SMALL} --workers 1 --no-plots --out results/caplan50",
            creates=("results/caplan50/replications/caplan/rep-000001.parquet",)),
    "asylumsim run --resume --out results/caplan50":
        Run("asylumsim run --resume --executor inline --no-plots --out results/caplan50",
            before=lose_replication("results/caplan50", "caplan", 1),
            creates=("results/caplan50/replications/caplan/rep-000001.parquet",)),
    "asylumsim run caplan --replications 100 --scale 50 --resume --out results/caplan50":
        Run("asylumsim run caplan --replications 3 --scale 500 --days 12 --resume --executor inline --no-plots --out results/caplan50",
            creates=("results/caplan50/replications/caplan/rep-000002.parquet",)),
    # 8 Ensembles on a Dask cluster
    ".venv/bin/pip install -q -r requirements/dask.lock":
        Skip("installs the optional extra; requirements/test.lock includes dask and distributed"),
    "asylumsim run caplan --replications 50 --scale 50 --executor dask --workers 2 --out results/caplan-dask":
        Run(f"asylumsim run caplan {SMALL} --executor dask --workers 1 --no-plots --out results/caplan-dask",
            creates=("results/caplan-dask/timeseries.parquet",), needs="distributed"),
    "dask scheduler":
        Skip("a long-running server; the test starts a scheduler on 127.0.0.1 for the next command instead"),
    "dask worker tcp://scheduler.example.org:8786 --nthreads 1":
        Skip("a long-running server; the test's scheduler comes with its own worker"),
    "asylumsim run caplan --replications 200 --scale 10 --executor dask --scheduler tcp://scheduler.example.org:8786 --out results/caplan-cluster":
        Run(f"asylumsim run caplan {SMALL} --executor dask --scheduler {{scheduler}} --no-plots --out results/caplan-cluster",
            creates=("results/caplan-cluster/timeseries.parquet",), needs="distributed"),
    # 9 What the bands mean
    "asylumsim compare baseline caplan --set defection.private_mean=0.0 --no-parameter-uncertainty --replications 20 --scale 10 --out results/caplan-private-0":
        Run(f"asylumsim compare baseline caplan --set defection.private_mean=0.0 --no-parameter-uncertainty {SMALL} --executor inline --no-plots --out results/caplan-private-0"),
    "asylumsim compare baseline caplan --set defection.private_mean=-6.0 --no-parameter-uncertainty --replications 20 --scale 10 --out results/caplan-private-minus6":
        Run(f"asylumsim compare baseline caplan --set defection.private_mean=-6.0 --no-parameter-uncertainty {SMALL} --executor inline --no-plots --out results/caplan-private-minus6"),
    "asylumsim compare baseline caplan --replications 20 --scale 10 --seed 7 --out results/caplan-seed-7":
        Run(f"asylumsim compare baseline caplan {SMALL} --seed 7 --executor inline --no-plots --out results/caplan-seed-7"),
    "asylumsim calibrate history_2022 --populations 2 --particles 20 --scale 200 --days 120 --workers 2 --out results/calibrate-try":
        Run("asylumsim calibrate history_2022 --populations 1 --particles 10 --scale 2000 --days 40 --workers 1 "
            "--out results/calibrate-try", creates=("results/calibrate-try/posterior.parquet",
                                                    "results/calibrate-try/manifest.json")),
}


# --------------------------------------------------------------------------------------
# reading the guide


def documented_commands(text: str) -> list[str]:
    """The ``$ `` lines of every ```console block, in order, without the prompt."""
    commands: list[str] = []
    in_console = False
    for line in text.splitlines():
        fence = re.match(r"^\s*```(\w*)", line)
        if fence:
            in_console = not in_console and fence.group(1) == "console"
            continue
        if in_console and line.startswith("$ "):
            commands.append(line[2:].strip())
    return commands


def documented_outputs(text: str) -> dict[str, list[str]]:
    """Each ``$ `` line of a ```console block -> the lines the guide shows under it (up to the
    next ``$ `` line or the end of the block)."""
    shown: dict[str, list[str]] = {}
    current: list[str] | None = None
    in_console = False
    for line in text.splitlines():
        fence = re.match(r"^\s*```(\w*)", line)
        if fence:
            in_console = not in_console and fence.group(1) == "console"
            current = None
            continue
        if not in_console:
            continue
        if line.startswith("$ "):
            current = shown.setdefault(line[2:].strip(), [])
        elif current is not None:
            current.append(line)
    return shown


def guide_yaml_blocks(text: str) -> list[str]:
    """The bodies of the guide's ```yaml blocks."""
    return re.findall(r"^```yaml\n(.*?)^```", text, flags=re.M | re.S)


@pytest.fixture(scope="module")
def guide_text() -> str:
    return GUIDE.read_text(encoding="utf-8")


def test_every_documented_command_is_in_the_table(guide_text):
    commands = documented_commands(guide_text)
    assert commands, "docs/guide.md has no $ commands in ```console blocks"
    missing = [c for c in commands if c not in TABLE]
    assert not missing, "commands in docs/guide.md without a short version in tests/test_guide.py TABLE:\n" + "\n".join(missing)
    dup = sorted({c for c in commands if commands.count(c) > 1})
    assert not dup, f"commands documented twice (each must be runnable in order): {dup}"


def test_every_table_entry_is_still_documented(guide_text):
    stale = [c for c in TABLE if c not in documented_commands(guide_text)]
    assert not stale, "TABLE entries the guide no longer has (remove or update them):\n" + "\n".join(stale)


def test_yaml_shown_in_the_guide_is_the_example_file(guide_text):
    """Each example YAML in the guide is the file in docs/examples (less its header comments)."""
    blocks = guide_yaml_blocks(guide_text)
    shown = {}
    for body in blocks:
        m = re.match(r"name: (\w+)", body)
        if m and (EXAMPLES / f"{m.group(1)}.yaml").is_file():
            shown[m.group(1)] = body
    assert {"finland_only", "caplan_deadline"} <= set(shown)
    for name, body in shown.items():
        lines = (EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
        while lines and lines[0].startswith("#"):
            lines.pop(0)
        assert "".join(lines) == body, f"docs/guide.md shows a different docs/examples/{name}.yaml"


# --------------------------------------------------------------------------------------
# running the short versions


def _invoke(command: str):
    from typer.testing import CliRunner

    from sim.cli import app

    args = shlex.split(command)
    assert args[0] == "asylumsim", f"short version must call asylumsim: {command}"
    return CliRunner().invoke(app, args[1:])


class _Scheduler:
    """A Dask scheduler with one in-process worker on 127.0.0.1, started on first use."""

    def __init__(self) -> None:
        self.cluster = None

    def address(self) -> str:
        if self.cluster is None:
            import distributed

            self.cluster = distributed.LocalCluster(
                n_workers=1, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.ERROR,
            )
        return self.cluster.scheduler_address

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.close()


def test_guide_commands_run_in_order(guide_text, tmp_path, monkeypatch):
    shutil.copytree(EXAMPLES, tmp_path / "docs" / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASYLUMSIM_SCENARIOS", raising=False)
    scheduler = _Scheduler()
    outputs = documented_outputs(guide_text)
    ran, skipped = [], []
    try:
        for documented in documented_commands(guide_text):
            entry = TABLE[documented]
            if isinstance(entry, Skip):
                skipped.append(documented)
                continue
            if entry.needs:
                try:
                    __import__(entry.needs)
                except ImportError:
                    skipped.append(documented)
                    continue
            command = entry.short
            if "{scheduler}" in command:
                command = command.replace("{scheduler}", scheduler.address())
            if entry.before is not None:
                entry.before(tmp_path)
            result = _invoke(command)
            detail = f"\n$ {command}\n(documented: $ {documented})\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                raise AssertionError(f"command raised {result.exception!r}{detail}") from result.exception
            assert result.exit_code == entry.exit_code, f"exit code {result.exit_code}, expected {entry.exit_code}{detail}"
            if entry.exit_code == 1:
                assert result.stderr.startswith("error: "), f"a failing command must explain itself in one line{detail}"
            for rel in entry.creates:
                assert (tmp_path / rel).is_file(), f"{rel} was not written{detail}"
            if entry.shows_output:
                assert command == documented, f"a command whose output the guide shows must run as written{detail}"
                printed = (result.stdout + result.stderr).splitlines()
                assert printed == outputs[documented], f"the guide shows other output{detail}"
            ran.append(documented)
    finally:
        scheduler.close()
    assert ran, "no documented command was run"
