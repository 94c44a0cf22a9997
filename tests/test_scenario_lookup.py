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
    line = one_line_error(invoke(["validate", "my_design"]), "my_design.yaml is an experiment design, not a scenario",
                          "asylumsim explore", "known scenarios")
    one_line_error(invoke(["explore", "my_design"]), "no such experiment file", "did you mean my_design.yaml")
    assert "my_priors" not in line and "mine" in line
    one_line_error(invoke(["validate", "my_priors"]), "my_priors.yaml is a priors file, not a scenario")
    one_line_error(invoke(["validate", "my_design.yaml"]), "my_design.yaml: an experiment design, not a scenario",
                   "asylumsim explore")
    res = invoke(["validate", "caplan"])
    assert res.exit_code == 0, res.stderr


def test_a_mistyped_or_bare_scenario_is_still_a_scenario(tmp_path, monkeypatch):
    """Only a file marked as another kind is skipped: a scenario whose keys are all mistyped
    must show its own error, not be replaced by the shipped scenario of its name."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASYLUMSIM_SCENARIOS", raising=False)
    (tmp_path / "kuran.yaml").write_text("name: kuran\ndescription: mine\nExtends: kuran\nOffers: {}\n")
    (tmp_path / "bare.yaml").write_text("name: bare\ndescription: only a name\n")
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    entries = {e.name: e for e in list_scenarios()}
    assert entries["kuran"].path == tmp_path / "kuran.yaml" and entries["kuran"].description == "mine"
    assert entries["bare"].path == tmp_path / "bare.yaml" and entries["empty"].description == "(invalid: empty)"
    one_line_error(invoke(["validate", "kuran"]), "Extends", "did you mean 'extends'")
    assert invoke(["validate", "bare"]).exit_code == 0
