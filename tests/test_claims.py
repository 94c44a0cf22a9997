"""The claims registry against CLAIMS.md and the schema, and the ``asylumsim claims`` command."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.claims import (
    CLAIMS,
    MECHANISMS,
    OUTCOME_COLUMNS,
    claims_by_id,
    load_claims,
    parse_claims_md,
    parse_claims_table,
    resolve_parameter,
    schema_paths,
    split_sources,
)
from sim.cli import app
from sim.config import load_scenario
from sim.config.loader import values_at
from sim.config.schema import OfferConfig, Scenario, iter_fields
from sim.errors import ConfigError

REPO_CLAIMS_MD = Path(__file__).resolve().parents[1] / "sim" / "data" / "CLAIMS.md"
CLAIM_ID = re.compile(r"\b[FDRPHM]\d+\b")


# ---------------------------------------------------------------------------------------
# registry vs CLAIMS.md


def test_registry_holds_exactly_the_claims_md_ids_in_order():
    md_ids = [cid for cid, _ in parse_claims_md(REPO_CLAIMS_MD)]
    assert len(md_ids) == len(set(md_ids)), "CLAIMS.md repeats an id"
    assert set(md_ids) - set(claims_by_id()) == set(), "claims in CLAIMS.md missing from sim/claims.py"
    assert set(claims_by_id()) - set(md_ids) == set(), "claims in sim/claims.py not in CLAIMS.md"
    assert [c.id for c in CLAIMS] == md_ids


def test_registry_text_sources_and_model_form_match_claims_md():
    by_id = claims_by_id()
    for row in parse_claims_table(REPO_CLAIMS_MD):
        claim = by_id[row["id"]]
        assert claim.sources == split_sources(row["source"]), row["id"]
        assert claim.text == row["claim"], row["id"]
        assert claim.becomes == row["becomes"], row["id"]


def test_parse_claims_md_reads_only_claim_rows(tmp_path):
    md = tmp_path / "CLAIMS.md"
    md.write_text(
        "# Claims\n\nSources: `000` = x.txt\n\n"
        "| id | claim | source | what it becomes |\n|---|---|---|---|\n"
        "| F1 | One less soldier. | 000, 001 | flight |\n"
        "| D8 | Worse than it looks. | 004 (Caplan) | chain |\n\n"
        "| id | claim | source | what it becomes |\n|---|---|---|---|\n"
        "| P1 | Exit drains voice. | 002; 000 comments | link |\n",
        encoding="utf-8",
    )
    assert parse_claims_md(md) == [("F1", "000, 001"), ("D8", "004 (Caplan)"), ("P1", "002; 000 comments")]
    assert split_sources("002; 000 comments") == ("002", "000 comments")


def test_parse_claims_md_rejects_a_row_with_missing_cells(tmp_path):
    md = tmp_path / "CLAIMS.md"
    md.write_text("| F1 | One less soldier. | 000 |\n", encoding="utf-8")
    with pytest.raises(ValueError, match="F1"):
        parse_claims_md(md)


# ---------------------------------------------------------------------------------------
# registry vs schema and model layout


def test_claim_ids_are_unique():
    assert len(claims_by_id()) == len(CLAIMS)


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_every_listed_parameter_resolves_in_the_schema(claim):
    assert len(set(claim.parameters)) == len(claim.parameters), f"{claim.id} lists a parameter twice"
    for path in claim.parameters:
        assert resolve_parameter(path).description, f"{claim.id}: {path} has no description"


@pytest.mark.parametrize("bad", ["offers[].nonexistent", "offers.payment_usd", "kremlin.exit_restriction", "", "front"])
def test_resolve_parameter_raises_keyerror_for_paths_not_in_the_schema(bad):
    with pytest.raises(KeyError):
        resolve_parameter(bad)


def test_only_outcome_claims_may_lack_parameters():
    for claim in CLAIMS:
        assert claim.outcomes, f"{claim.id} shows up in no outcome column"
        if not claim.parameters:
            assert claim.id.startswith("M"), f"{claim.id} maps to no parameter"


def test_mechanisms_and_outcome_columns_come_from_the_model_layout():
    for claim in CLAIMS:
        assert set(claim.mechanisms) <= set(MECHANISMS), f"{claim.id}: unknown mechanism {claim.mechanism}"
        unknown = set(claim.outcomes) - set(OUTCOME_COLUMNS)
        assert not unknown, f"{claim.id}: unknown outcome columns {sorted(unknown)}"


def test_schema_fields_citing_a_claim_are_listed_under_that_claim():
    by_id = claims_by_id()
    missing = [
        f"{cid}: {path}"
        for path, info, _ in iter_fields(Scenario)
        for cid in CLAIM_ID.findall(info.description or "")
        if path not in by_id[cid].parameters
    ]
    assert not missing, "schema descriptions cite claims whose registry entry omits the field: " + ", ".join(missing)


def _model_or_skip():
    try:
        return importlib.import_module("sim.model")
    except ImportError as exc:
        pytest.skip(f"the model does not import yet ({exc})")


def test_every_claim_mechanism_module_exists_once_the_model_does():
    _model_or_skip()
    absent = sorted({m for c in CLAIMS for m in c.mechanisms if importlib.util.find_spec(m) is None})
    assert not absent, f"claims name mechanism modules that do not exist: {absent}"


def test_every_claim_outcome_column_is_a_model_output():
    _model_or_skip()
    outcomes = importlib.import_module("sim.outcomes")
    if not hasattr(outcomes, "output_names"):
        pytest.skip("sim.outcomes has no output_names() yet")
    scenario = Scenario(offers=[OfferConfig(name="test_offer")])
    names = set(outcomes.output_names(scenario))
    missing = []
    for column in OUTCOME_COLUMNS:
        pattern = re.compile(re.sub(r"<[a-z]+>", "[a-z0-9_]+", column) + "$")
        if not any(pattern.match(n) for n in names):
            missing.append(column)
    used = {o for c in CLAIMS for o in c.outcomes}
    assert not used.intersection(missing), f"claims cite outcome columns the model does not output: {sorted(used & set(missing))}"


def test_values_at_fans_out_over_list_items_by_name():
    scenario = Scenario()
    hosts = values_at(scenario, "hosts[].draftee_policy")
    assert [label for label, _ in hosts] == [h.name for h in scenario.hosts]
    assert dict(hosts)["eu_west"] == "closed"
    assert values_at(scenario, "offers[].tiers[].first") == []
    assert values_at(scenario, "run.days") == [("", 365)]
    assert "offers[].tiers[].amount_usd" in schema_paths()


# ---------------------------------------------------------------------------------------
# asylumsim claims


runner = CliRunner()


def test_claims_command_lists_every_claim_id():
    result = runner.invoke(app, ["claims", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    listed = re.findall(r"^\| ([A-Z]\d+) \|", result.stdout, flags=re.M)
    assert listed == [c.id for c in CLAIMS]


def test_claims_table_format_shows_every_id_and_exits_0():
    result = runner.invoke(app, ["claims"])
    assert result.exit_code == 0, result.output
    for claim in CLAIMS:
        assert re.search(rf"\b{claim.id}\b", result.stdout), claim.id


def test_claims_command_shows_one_claim_with_baseline_values():
    baseline = load_scenario("baseline")
    result = runner.invoke(app, ["claims", "--id", "f3", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert re.findall(r"^\| ([A-Z]\d+) \|", result.stdout, flags=re.M) == ["F3"]
    assert f"`kremlin.exit_restriction.trigger_fled` = {baseline.kremlin.exit_restriction.trigger_fled}" in result.stdout
    assert "sim.actors.kremlin" in result.stdout


def test_claims_command_shows_values_in_another_scenario_item_by_item():
    # D9 is Caplan's offer; the baseline's only offer is Ukraine's, shown before as "(all 1)"
    base = runner.invoke(app, ["claims", "--id", "D9", "--format", "markdown"])
    assert "`offers[].payment_usd` = ukraine_amnesty=48000.0" in base.stdout and "(all 1" not in base.stdout
    result = runner.invoke(app, ["claims", "--id", "D9", "--scenario", "caplan", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert "| parameters = caplan |" in result.stdout
    assert "`offers[].payment_usd` = ukraine_amnesty=48000.0, caplan_v2=100000.0" in result.stdout
    bad = runner.invoke(app, ["claims", "--scenario", "nosuch"])
    assert bad.exit_code == 1 and bad.stderr.startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1


def test_claims_command_rejects_an_unknown_id_with_one_line():
    result = runner.invoke(app, ["claims", "--id", "X9"])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "X9" in lines[0] and lines[0].startswith("error:")


# ---------------------------------------------------------------------------------------
# the registry is data: sim/data/claims.yaml


def test_the_registry_is_read_from_the_shipped_yaml_file():
    from importlib import resources

    from sim.claims import load_claims

    shipped = resources.files("sim") / "data" / "claims.yaml"
    assert shipped.is_file()
    assert load_claims() == CLAIMS
    assert resources.files("sim").joinpath("data", "CLAIMS.md").is_file()
    assert REPO_CLAIMS_MD.is_file(), "the repository copy of CLAIMS.md is missing"


GOOD_CLAIM = ("- id: F1\n  text: t\n  sources: ['000']\n  parameters: [flight.base_hazard]\n"
              "  mechanism: sim.mechanisms.flight\n  outcomes: [fled_cum]\n  becomes: b\n")


@pytest.mark.parametrize(("body", "key", "problem"), [
    ("claims:\n" + GOOD_CLAIM + GOOD_CLAIM, "claims[1].id", "listed twice"),
    ("claims:\n" + GOOD_CLAIM.replace("  becomes: b\n", ""), "claims[0]", "missing key 'becomes'"),
    ("claims:\n" + GOOD_CLAIM + "  colour: red\n", "claims[0]", "unknown key 'colour'"),
    ("claims:\n" + GOOD_CLAIM.replace("sources: ['000']", "sources: '000'"), "claims[0].sources", "list of non-empty strings"),
    ("claims:\n" + GOOD_CLAIM.replace("id: F1", "id: flight1"), "claims[0].id", "not a claim id"),
    ("claim:\n" + GOOD_CLAIM, "", "one top-level key 'claims'"),
])
def test_a_broken_claims_file_names_the_file_the_key_and_the_problem(tmp_path, body, key, problem):
    from sim.claims import load_claims
    from sim.errors import ConfigError

    path = tmp_path / "claims.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_claims(path)
    assert info.value.source == str(path) and info.value.key == key and problem in info.value.problem
    assert "\n" not in str(info.value)


def test_a_good_claims_file_round_trips(tmp_path):
    from sim.claims import load_claims

    path = tmp_path / "claims.yaml"
    path.write_text("claims:\n" + GOOD_CLAIM, encoding="utf-8")
    (claim,) = load_claims(path)
    assert (claim.id, claim.sources, claim.parameters, claim.outcomes) == ("F1", ("000",), ("flight.base_hazard",), ("fled_cum",))


def _reads(module: str, parameter: str) -> bool:
    """Whether ``module``'s source reads ``parameter``: its last path component as an attribute.

    ``offers[].payment_usd`` is read as ``<something>.payment_usd``; a whole list
    (``exits``) as ``<something>.exits``. A name only in a string or a comment does not count.
    """
    last = parameter.split(".")[-1].removesuffix("[]")
    source = Path(importlib.util.find_spec(module).origin).read_text()
    return re.search(rf"\.{re.escape(last)}\b", source) is not None


def test_every_claim_parameter_is_read_in_a_module_its_claim_names():
    _model_or_skip()
    unread = [f"{c.id}: {p} (mechanism {c.mechanism})" for c in CLAIMS for p in c.parameters
              if not any(_reads(m, p) for m in c.mechanisms)]
    assert not unread, "parameters not read where their claim says:\n" + "\n".join(unread)
    # each named module reads at least one of the claim's parameters: no decorative names
    idle = [f"{c.id}: {m}" for c in CLAIMS for m in c.mechanisms if c.parameters and not any(_reads(m, p) for p in c.parameters)]
    assert not idle, f"mechanisms that read none of their claim's parameters: {idle}"


def test_the_read_check_can_fail():
    _model_or_skip()
    assert _reads("sim.actors.kremlin", "kremlin.exit_restriction.trigger_fled")
    assert not _reads("sim.actors.hosts", "kremlin.exit_restriction.trigger_fled")
    assert not _reads("sim.submodels.protest", "offers[].payment_usd")


def test_claim_mechanism_may_be_a_list(tmp_path):
    f = tmp_path / "claims.yaml"
    f.write_text("claims:\n- id: F1\n  text: t\n  sources: ['000']\n  parameters: [flight.base_hazard]\n"
                 "  mechanism: [sim.submodels.flight, sim.actors.kremlin]\n  outcomes: [fled_cum]\n  becomes: b\n")
    (claim,) = load_claims(f)
    assert claim.mechanisms == ("sim.submodels.flight", "sim.actors.kremlin")
    assert claim.mechanism == "sim.submodels.flight, sim.actors.kremlin"
    f.write_text(f.read_text().replace("[sim.submodels.flight, sim.actors.kremlin]", "[]"))
    with pytest.raises(ConfigError, match="mechanism"):
        load_claims(f)
