"""Generated reference docs: complete, fresh, and the scenarios they describe are described."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import docs_gen
from sim.claims import CLAIMS, claims_by_id, resolve_parameter
from sim.config.schema import Scenario, iter_fields
from sim.config.yaml_safe import read_yaml_file

REPO = Path(__file__).resolve().parents[1]
SCENARIO_FILES = sorted((REPO / "sim" / "scenarios").glob("*.yaml"))
FIX = f"run `{docs_gen.REGENERATE}` and commit the result"


@pytest.mark.parametrize("rel", [docs_gen.CLAIMS_DOC, docs_gen.PARAMETERS_DOC])
def test_committed_doc_equals_a_fresh_generation(rel):
    path = REPO / rel
    assert path.is_file(), f"{rel} is missing: {FIX}"
    assert path.read_text(encoding="utf-8") == docs_gen.generate()[rel], f"{rel} is stale: {FIX}"


def test_parameters_doc_mentions_every_schema_parameter():
    text = (REPO / docs_gen.PARAMETERS_DOC).read_text(encoding="utf-8")
    missing = [path for path, _, _ in iter_fields(Scenario) if f"| `{path}` |" not in text]
    assert not missing, f"docs/parameters.md lacks {missing}: {FIX}"


def test_claims_doc_has_a_section_per_claim_listing_its_parameters():
    text = docs_gen.generate()[docs_gen.CLAIMS_DOC]
    sections = text.split("\n### ")[1:]
    assert [s.split("\n", 1)[0] for s in sections] == [c.id for c in CLAIMS]
    for section, claim in zip(sections, CLAIMS, strict=True):
        for param in claim.parameters:
            assert f"| `{param}` |" in section, f"{claim.id}: {param}"


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_every_scenario_has_a_description(path):
    data = read_yaml_file(path)
    assert isinstance(data, dict), f"{path.name} is not a mapping"
    description = data.get("description")
    assert isinstance(description, str) and description.strip(), f"{path.name} has no description"


def test_bounds_text_reports_ranges_choices_and_optional():
    assert docs_gen.bounds_text(resolve_parameter("run.days"), int) == "[1, 3650]"
    info = resolve_parameter("defection.sigma")
    assert docs_gen.bounds_text(info, info.annotation) == "(0.0, 100.0]"
    info = resolve_parameter("hosts[].admit_share")
    assert docs_gen.bounds_text(info, info.annotation) == "[0.0, 1.0]; or null"
    info = resolve_parameter("offers[].route")
    assert docs_gen.bounds_text(info, info.annotation) == "one of: direct_eu, via_ukraine, either"


def _write_scenarios(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "baseline.yaml").write_text("name: baseline\ndescription: everything\n", encoding="utf-8")
    (folder / "caplan_like.yaml").write_text(
        "name: caplan_like\ndescription: d\nextends: baseline\n"
        "offers:\n  - name: eu\n    payment_usd: 100000\n    credibility: {model: fixed}\n",
        encoding="utf-8",
    )
    (folder / "closed_border.yaml").write_text(
        "name: closed_border\ndescription: d\nextends: baseline\n"
        "kremlin:\n  exit_restriction:\n    trigger_fled: 0\n"
        "hosts:\n  georgia:\n    draftee_policy: closed\n",
        encoding="utf-8",
    )
    return folder


def test_scenarios_are_listed_under_the_claims_whose_parameters_they_set(tmp_path):
    found = docs_gen.scenario_parameters(_write_scenarios(tmp_path / "scenarios"))
    assert set(found) == {"caplan_like", "closed_border"}, "baseline must not be listed"
    by_id = claims_by_id()
    assert docs_gen.scenarios_for(by_id["D9"], found) == ["caplan_like"]
    assert docs_gen.scenarios_for(by_id["F3"], found) == ["closed_border"]
    # hosts given as a patch-by-name mapping still count as hosts[] items
    assert docs_gen.scenarios_for(by_id["F4"], found) == ["closed_border"]
    assert docs_gen.scenarios_for(by_id["H6"], found) == []


def test_check_names_the_stale_doc_and_exits_1(tmp_path, capsys):
    _write_scenarios(tmp_path / "sim" / "scenarios")
    assert docs_gen.main([], root=tmp_path) == 0
    assert docs_gen.main(["--check"], root=tmp_path) == 0
    claims_md = tmp_path / docs_gen.CLAIMS_DOC
    claims_md.write_text(claims_md.read_text(encoding="utf-8") + "hand edit\n", encoding="utf-8")
    capsys.readouterr()
    assert docs_gen.main(["--check"], root=tmp_path) == 1
    err = capsys.readouterr().err
    assert docs_gen.CLAIMS_DOC in err and docs_gen.PARAMETERS_DOC not in err


def test_baseline_yaml_states_the_schema_defaults():
    # sim/scenarios/baseline.yaml is generated from the schema (python -m
    # sim.config.write_baseline): a changed default is a changed baseline in the same commit
    from sim.config.render import render_yaml
    from sim.config.schema import Scenario
    from sim.config.write_baseline import DESCRIPTION, HEADER

    path = Path(__file__).resolve().parents[1] / "sim" / "scenarios" / "baseline.yaml"
    expected = render_yaml(Scenario(name="baseline", description=DESCRIPTION), header=HEADER)
    assert path.read_text(encoding="utf-8") == expected, "baseline.yaml is stale: run `python -m sim.config.write_baseline`"
