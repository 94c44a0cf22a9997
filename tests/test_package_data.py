"""A wheel that works: scenarios, data and the claims table ship inside the package.

Installing a built wheel into a fresh environment takes minutes, so this checks the two
halves of it: every shipped file is reachable through ``importlib.resources`` from the
installed package (what the code uses), and a wheel built from this tree lists every one of
them (built once, without dependencies or build isolation, from the locked setuptools).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import pytest

from sim.config.files import SHIPPED_SCENARIOS, list_scenarios

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(
    p.relative_to(ROOT / "sim").as_posix()
    for folder, pattern in (("scenarios", "*.yaml"), ("explore/designs", "*.yaml"), ("data", "*.csv"),
                            ("data", "*.yaml"), ("data", "*.md"),
                            ("data/posterior", "*.parquet"), ("data/posterior", "*.json"))
    for p in (ROOT / "sim" / folder).glob(pattern)
)


def test_the_package_holds_the_scenarios_data_and_claims():
    assert {"scenarios/baseline.yaml", "scenarios/caplan.yaml", "data/calibration_2022.csv",
            "data/defection_2022_2023.csv",
            "data/claims.yaml", "data/CLAIMS.md",
            "data/posterior/history_2022.parquet", "data/posterior/history_2022.json"} <= set(SHIPPED)
    assert not (ROOT / "scenarios").exists() and not (ROOT / "data").exists(), "old top-level copies are back"
    assert not (ROOT / "sim" / "inference" / "data").exists(), "a second copy of the calibration data is back"


@pytest.mark.parametrize("rel", SHIPPED)
def test_every_shipped_file_is_reachable_from_the_installed_package(rel):
    res = resources.files("sim").joinpath(*rel.split("/"))
    assert res.is_file(), f"sim/{rel} is not reachable through importlib.resources"
    assert res.read_bytes() == (ROOT / "sim" / rel).read_bytes()


def test_named_scenarios_are_listed_from_the_package_wherever_you_stand(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASYLUMSIM_SCENARIOS", raising=False)
    listed = {e.name: e.path for e in list_scenarios()}
    expected = {Path(rel).stem for rel in SHIPPED if rel.startswith("scenarios/")}
    assert set(listed) == expected
    assert all(path.parent == SHIPPED_SCENARIOS for path in listed.values())


def test_a_built_wheel_contains_every_shipped_file_and_its_commit(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("asylumsim-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        version_py = zf.read("sim/_version.py").decode()
    missing = [rel for rel in SHIPPED if f"sim/{rel}" not in names]
    assert not missing, f"the wheel lacks {missing}: check [tool.setuptools.package-data] in pyproject.toml"
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=7", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert "__commit__ = 'g" in version_py and head in version_py, version_py


def _scenario_value(data: dict, column: str) -> float:
    """The value at a posterior column's path (``offers.<name>.key`` picks a named item)."""
    node = data
    for k in column.split("."):
        node = next(i for i in node if i.get("name") == k) if isinstance(node, list) else node[k]
    return float(node)


def test_point_defaults_are_the_shipped_posterior_medians():
    # the calibrated parameters' point defaults (what --no-parameter-uncertainty runs) are the
    # shipped posterior's weighted medians to two significant figures (court delay: whole days)
    from sim.config.loader import load_scenario
    from sim.inference.posterior import load_posterior, weighted_quantile

    post = load_posterior(ROOT / "sim" / "data" / "posterior" / "history_2022.parquet")
    data = load_scenario("baseline").model_dump(mode="json")
    cols = [c for c in post.columns if c != "weight"]
    assert len(cols) >= 9
    for col in cols:
        median = float(weighted_quantile(post[col].to_numpy(), post["weight"].to_numpy(), 0.5))
        got = _scenario_value(data, col)
        tol = 0.5 if col.endswith("_days") else 0.051 * abs(median)
        assert abs(got - median) <= tol, f"{col}: default {got}, posterior median {median:.3g}"
