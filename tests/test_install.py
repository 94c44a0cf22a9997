"""Locked installs and provenance: the README's commands, .ci/run, the lock files and
``sim.provenance`` (version, commit, dirty flag, dependency versions, lock status)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from typer.testing import CliRunner

from sim import provenance
from sim.cli import app

ROOT = Path(__file__).resolve().parents[1]
LOCKS = {"run": ROOT / "requirements" / "run.lock", "dask": ROOT / "requirements" / "dask.lock",
         "explore": ROOT / "requirements" / "explore.lock", "test": ROOT / "requirements" / "test.lock"}


def readme_commands() -> list[str]:
    """The README's ```bash blocks that create .venv, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```bash\n(.*?)^```", text, flags=re.M | re.S)
    return [b.strip() for b in blocks if b.startswith("python3 -m venv .venv")]


def test_ci_runs_exactly_the_readmes_test_command():
    run_cmd, test_cmd = readme_commands()[:2]
    assert test_cmd.endswith("&& .venv/bin/python -m pytest")
    ci = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
          if line.strip() and not line.startswith("#")]
    assert ci[-1] == test_cmd, ".ci/run must run the README's test command exactly as written"


def test_readme_commands_install_from_the_lock_then_the_project_without_dependencies():
    run_cmd, test_cmd = readme_commands()[:2]
    assert "-r requirements/run.lock && .venv/bin/pip install -q --no-deps -e . &&" in run_cmd
    assert "-r requirements/test.lock && .venv/bin/pip install -q --no-deps -e . &&" in test_cmd
    assert "-e '.[" not in run_cmd + test_cmd, "an unlocked extra would pull the newest versions"


def _pins(path: Path) -> dict[str, str]:
    return provenance.read_lock(path)


@pytest.mark.parametrize(("lock", "extras"), [("run", ()), ("dask", ("dask",)), ("explore", ("explore",)),
                                               ("test", ("test",))])
def test_each_lock_pins_every_dependency_within_pyprojects_ranges(lock, extras):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        wanted += [Requirement(r) for r in project["optional-dependencies"][extra]]
    pins = _pins(LOCKS[lock])
    for req in wanted:
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name in pins, f"requirements/{lock}.lock lacks {req.name}: run scripts/update-locks"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements/{lock}.lock pins {name}=={pins[name]}, outside pyproject's {req}: run scripts/update-locks")


def test_locks_agree_with_each_other_and_carry_hashes():
    run, dask, explore, test = (_pins(LOCKS[k]) for k in ("run", "dask", "explore", "test"))
    assert run.items() <= dask.items() and run.items() <= test.items(), "the locks pin different versions"
    assert run.items() <= explore.items() <= test.items(), "the locks pin different versions"
    for path in LOCKS.values():
        text = path.read_text(encoding="utf-8")
        blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
        unhashed = [b.split(" ", 1)[0] for b in blocks if "==" in b and "--hash=sha256:" not in b]
        assert not unhashed, f"{path.name}: pins without hashes: {unhashed}"


# --------------------------------------------------------------------------------------
# provenance


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout.strip()


def test_git_state_reads_the_commit_and_a_dirty_tree(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", "pyproject.toml")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "one")
    head = _git(repo, "rev-parse", "HEAD")
    assert provenance.git_state(repo) == (head, False)
    (repo / "untracked.txt").write_text("x", encoding="utf-8")
    assert provenance.git_state(repo) == (head, False), "untracked files do not make the tree dirty"
    (repo / "pyproject.toml").write_text("[project]\nname = 'y'\n", encoding="utf-8")
    assert provenance.git_state(repo) == (head, True)
    assert provenance.git_state(tmp_path) is None, "not a checkout"
    # the version string is the checkout's too, not the one written when the package was installed
    pytest.importorskip("setuptools_scm")
    assert f"+g{head[:7]}" in provenance.provenance(root=repo)["version"]


def test_outside_git_the_commit_comes_from_the_build(tmp_path, monkeypatch):
    fake = type(sys)("sim._version")
    fake.__version__, fake.__commit__ = "0.2.1.dev3+g1234abcd.d20260101", "g1234abcd"
    monkeypatch.setitem(sys.modules, "sim._version", fake)
    info = provenance.provenance(root=tmp_path)
    assert (info["version"], info["commit"], info["dirty"], info["commit_from"]) == (
        "0.2.1.dev3+g1234abcd.d20260101", "1234abcd", True, "build")
    assert info["lock"] is None
    fake.__version__ = "0.2.0"
    assert provenance.build_commit() == ("1234abcd", False)


def test_lock_status_names_the_packages_that_differ(tmp_path):
    (tmp_path / "requirements").mkdir()
    numpy_version = provenance.dependency_versions()["numpy"]
    (tmp_path / "requirements" / "run.lock").write_text(
        f"numpy=={numpy_version} \\\n    --hash=sha256:00\npandas==0.0.1\n", encoding="utf-8")
    status = provenance.lock_status(tmp_path)
    assert status["file"] == "requirements/run.lock" and not status["matches"] and status["differs"] == ["pandas"]
    (tmp_path / "requirements" / "test.lock").write_text(f"numpy=={numpy_version}\n", encoding="utf-8")
    assert provenance.lock_status(tmp_path)["file"] == "requirements/test.lock"
    assert provenance.lock_status(tmp_path)["matches"]


def test_this_checkout_reports_its_commit_and_main_dependencies():
    info = provenance.provenance()
    assert info["commit"] == _git(ROOT, "rev-parse", "HEAD") and info["commit_from"] == "git"
    assert {"mesa", "numpy", "pandas", "pyarrow", "pydantic", "pyyaml", "matplotlib", "typer", "rich"} <= set(info["dependencies"])
    assert info["version"] != provenance.UNKNOWN_VERSION
    json.dumps(info)  # the manifest stores it as JSON


def test_the_live_version_is_the_one_an_install_writes():
    # the project's setuptools-scm settings (fallback_version) apply to the live string too
    scm = pytest.importorskip("setuptools_scm")
    cfg = {"fallback_version": "0.1.0"}
    assert provenance.live_version.__wrapped__(ROOT) == scm.get_version(root=str(ROOT), **cfg)


def test_version_option_prints_version_and_commit():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert provenance.current_version() in result.stdout
    assert _git(ROOT, "rev-parse", "HEAD")[:12] in result.stdout


def test_every_manifest_carries_the_provenance(tmp_path):
    result = CliRunner().invoke(app, ["run", "baseline", "--days", "4", "-n", "1", "--model", "helpers_runner:fake_replication",
                                      "--executor", "inline", "--no-plots", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.stdout + result.stderr
    m = json.loads((tmp_path / "r" / "manifest.json").read_text(encoding="utf-8"))
    p = m["provenance"]
    assert p["commit"] == _git(ROOT, "rev-parse", "HEAD") and isinstance(p["dirty"], bool)
    assert p["version"] == m["versions"]["asylumsim"] and p["dependencies"]["numpy"] == m["versions"]["numpy"]
    assert p["lock"]["file"].startswith("requirements/")


def test_scenarios_option_refuses_a_missing_folder_in_one_line(tmp_path):
    result = CliRunner().invoke(app, ["--scenarios", str(tmp_path / "nope"), "list"])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: --scenarios: {str(tmp_path / 'nope')!r} is not a folder"


def test_user_scenarios_are_found_in_the_scenarios_folder_and_the_working_directory(tmp_path, monkeypatch):
    mine, cwd = tmp_path / "mine", tmp_path / "work"
    mine.mkdir()
    cwd.mkdir()
    (mine / "from_dir.yaml").write_text("name: from_dir\ndescription: in --scenarios\nextends: caplan\n", encoding="utf-8")
    (cwd / "from_cwd.yaml").write_text("name: from_cwd\ndescription: in the working directory\nextends: from_dir\n",
                                       encoding="utf-8")
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("ASYLUMSIM_SCENARIOS", raising=False)
    listed = CliRunner().invoke(app, ["--scenarios", str(mine), "list"])
    assert listed.exit_code == 0
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert {"from_dir", "from_cwd", "baseline", "caplan"} <= set(names)
    ok = CliRunner().invoke(app, ["--scenarios", str(mine), "validate", "from_cwd"])
    assert ok.exit_code == 0 and "from_cwd: 2 offers" in ok.stdout
    # without --scenarios, from_cwd's parent cannot be found: named in one line
    bad = CliRunner().invoke(app, ["validate", "from_cwd"])
    assert bad.exit_code == 1 and "unknown scenario 'from_dir'" in bad.stderr
