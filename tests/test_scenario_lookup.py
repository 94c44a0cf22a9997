"""Scenario lookup by name skips YAML files of another kind in the search folders (an
experiment design or a priors file in the working directory): they are not listed, and a
design named like a built-in does not shadow it."""

from __future__ import annotations

import shutil
from pathlib import Path

from helpers_runner import invoke, one_line_error

from sim.config.files import list_scenarios, resolve_ref

DESIGNS = Path(__file__).resolve().parents[1] / "sim" / "explore" / "designs"
PRIORS = Path(__file__).resolve().parents[1] / "docs" / "examples" / "priors_round9.yaml"


def test_designs_and_priors_in_the_working_directory_are_not_scenarios(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASYLUMSIM_SCENARIOS", raising=False)
    shutil.copy(DESIGNS / "caplan_sobol.yaml", tmp_path / "caplan.yaml")  # named like a built-in
    shutil.copy(DESIGNS / "caplan_oat.yaml", tmp_path / "my_design.yaml")
    shutil.copy(PRIORS, tmp_path / "my_priors.yaml")
    (tmp_path / "mine.yaml").write_text("extends: baseline\nname: mine\n")
    (tmp_path / "typo.yaml").write_text("name: typo\noffers: {}\nextnds: baseline\n")  # a scenario with a typo
    names = {e.name: e.path for e in list_scenarios()}
    assert "my_design" not in names and "my_priors" not in names
    assert names["mine"] == tmp_path / "mine.yaml" and "typo" in names
    assert names["caplan"].parent.name == "scenarios" and resolve_ref("caplan") == names["caplan"]
    line = one_line_error(invoke(["validate", "my_design"]), "my_design.yaml is not a scenario file", "known scenarios")
    assert "my_priors" not in line and "mine" in line
    res = invoke(["validate", "caplan"])
    assert res.exit_code == 0, res.stderr
